/* Thread pool with a generation counter: ifn_pool_run publishes (task, arg) and bumps the
 * generation; workers spin on it for a while, then sleep on a condition variable. Barriers are
 * sense-reversing spin barriers, cheap enough to place between every op of a forward pass.
 * Callers take a ticket and run in ticket order, so engines sharing the pool alternate steps
 * (a plain mutex lets one engine re-acquire it again and again while another starves). */
#include "tensor/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/status.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define SPIN_BEFORE_SLEEP 200000
#define SPIN_BEFORE_YIELD 2000

/* Spins briefly, then yields the core: when threads outnumber free cores (other processes,
 * several pools), the thread being waited for needs this core to make progress. */
static void relax(int *spins) {
    if (++*spins < SPIN_BEFORE_YIELD) {
        CPU_RELAX();
        return;
    }
    sched_yield();
}

struct ifn_pool {
    int n_threads;
    pthread_t *threads;               /* [n_threads - 1] workers */
    pthread_mutex_t run_lock;         /* guards: next_ticket, now_serving, last_caller,
                                         is_shared */
    pthread_cond_t turn;              /* a ticket was served: the next caller may run */
    uint64_t next_ticket;             /* given to the next ifn_pool_run caller */
    uint64_t now_serving;             /* the ticket whose task runs (or may start) now */
    pthread_t last_caller;            /* whose turn came last (valid once next_ticket > 0) */
    int is_shared;                    /* more than one thread has called ifn_pool_run */
    pthread_mutex_t sleep_lock;       /* guards sleeping workers: n_sleeping */
    pthread_cond_t wake;
    int n_sleeping;
    atomic_uint generation;           /* bumped once per task */
    atomic_int n_done;                /* workers finished with the current task */
    atomic_int is_stopping;
    ifn_pool_task task;               /* written before generation is bumped */
    void *arg;
    atomic_int barrier_count;
    atomic_uint barrier_sense;
};

typedef struct worker_start {
    ifn_pool *pool;
    int index;
} worker_start;

static unsigned wait_for_generation(ifn_pool *p, unsigned seen) {
    for (int spin = 0; spin < SPIN_BEFORE_SLEEP; spin++) {
        unsigned g = atomic_load(&p->generation);
        if (g != seen || atomic_load(&p->is_stopping)) return g;
        if (spin % SPIN_BEFORE_YIELD == SPIN_BEFORE_YIELD - 1)
            sched_yield(); /* a caller without a core may need this one (see relax) */
        else
            CPU_RELAX();
    }
    pthread_mutex_lock(&p->sleep_lock);
    p->n_sleeping++;
    while (atomic_load(&p->generation) == seen && !atomic_load(&p->is_stopping))
        pthread_cond_wait(&p->wake, &p->sleep_lock);
    p->n_sleeping--;
    pthread_mutex_unlock(&p->sleep_lock);
    return atomic_load(&p->generation);
}

static void *worker_main(void *opaque) {
    ifn_pool *p = ((worker_start *)opaque)->pool;
    int index = ((worker_start *)opaque)->index;
    ifn_free(opaque);
    /* Generation 0 is the pool's state at creation: a worker that starts late must still run
     * the first task, so it may not sample the counter itself. */
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_generation(p, seen);
        if (atomic_load(&p->is_stopping)) break;
        p->task(p->arg, index, p->n_threads);
        atomic_fetch_add(&p->n_done, 1);
    }
    return NULL;
}

int ifn_pool_physical_cores(void) {
    /* Count distinct (package, core) pairs; fall back to online CPUs. */
    int n_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    char seen[1024] = {0};
    int n_cores = 0;
    for (int cpu = 0; cpu < n_cpus && cpu < 1024; cpu++) {
        char path[128];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu);
        FILE *fp = fopen(path, "r");
        if (!fp) return n_cpus > 0 ? n_cpus : 1;
        int first = -1;
        if (fscanf(fp, "%d", &first) != 1) first = cpu;
        fclose(fp);
        if (first >= 0 && first < 1024 && !seen[first]) {
            seen[first] = 1;
            n_cores++;
        }
    }
    return n_cores > 0 ? n_cores : 1;
}

ifn_status ifn_pool_create(int n_threads, ifn_pool **out_pool) {
    if (n_threads <= 0) n_threads = ifn_pool_physical_cores();
    if (n_threads > 512) return ifn_fail(IFN_E_INVALID, "pool: %d threads is too many", n_threads);
    ifn_pool *p = ifn_calloc(1, sizeof *p);
    if (!p) return ifn_fail(IFN_E_NOMEM, "pool: no memory");
    p->n_threads = n_threads;
    pthread_mutex_init(&p->run_lock, NULL);
    pthread_cond_init(&p->turn, NULL);
    pthread_mutex_init(&p->sleep_lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = ifn_calloc((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) {
        ifn_pool_destroy(p);
        return ifn_fail(IFN_E_NOMEM, "pool: no memory");
    }
    for (int i = 1; i < n_threads; i++) {
        worker_start *start = ifn_malloc(sizeof *start);
        if (start) *start = (worker_start){p, i};
        if (!start || pthread_create(&p->threads[i - 1], NULL, worker_main, start) != 0) {
            ifn_free(start);
            p->n_threads = i; /* destroy joins only the workers that started */
            ifn_pool_destroy(p);
            return ifn_fail(IFN_E_INTERNAL, "pool: cannot start thread %d", i);
        }
    }
    *out_pool = p;
    return IFN_OK;
}

void ifn_pool_destroy(ifn_pool *p) {
    if (!p) return;
    if (p->threads) {
        atomic_store(&p->is_stopping, 1);
        pthread_mutex_lock(&p->sleep_lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->sleep_lock);
        for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i - 1], NULL);
    }
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->sleep_lock);
    pthread_cond_destroy(&p->turn);
    pthread_mutex_destroy(&p->run_lock);
    ifn_free(p->threads);
    ifn_free(p);
}

int ifn_pool_size(const ifn_pool *p) {
    return p->n_threads;
}

/* FIFO admission: waits until every caller that came earlier has run its task. */
static void take_turn(ifn_pool *p) {
    pthread_t self = pthread_self();
    pthread_mutex_lock(&p->run_lock);
    int had_last_turn = p->next_ticket > 0 && pthread_equal(p->last_caller, self);
    if (p->next_ticket > 0 && !had_last_turn) p->is_shared = 1;
    if (p->is_shared && had_last_turn && p->next_ticket == p->now_serving) {
        /* Nobody queued behind our last turn. With more threads than cores, another caller may
         * be runnable but without a core (ours and the spinning workers'): let it take a ticket
         * first, or tickets alone would let us run step after step. */
        pthread_mutex_unlock(&p->run_lock);
        sched_yield();
        pthread_mutex_lock(&p->run_lock);
    }
    uint64_t ticket = p->next_ticket++;
    while (p->now_serving != ticket) pthread_cond_wait(&p->turn, &p->run_lock);
    p->last_caller = self;
    pthread_mutex_unlock(&p->run_lock);
}

static void end_turn(ifn_pool *p) {
    pthread_mutex_lock(&p->run_lock);
    p->now_serving++;
    if (p->next_ticket != p->now_serving) pthread_cond_broadcast(&p->turn); /* someone waits */
    pthread_mutex_unlock(&p->run_lock);
}

void ifn_pool_run(ifn_pool *p, ifn_pool_task task, void *arg) {
    take_turn(p);
    p->task = task;
    p->arg = arg;
    atomic_store(&p->n_done, 0);
    atomic_fetch_add(&p->generation, 1); /* seq_cst: publishes task/arg to the workers */
    pthread_mutex_lock(&p->sleep_lock);
    if (p->n_sleeping > 0) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->sleep_lock);
    task(arg, 0, p->n_threads);
    int spins = 0;
    while (atomic_load(&p->n_done) < p->n_threads - 1) relax(&spins);
    end_turn(p);
}

void ifn_pool_barrier(ifn_pool *p) {
    if (p->n_threads == 1) return;
    unsigned sense = atomic_load(&p->barrier_sense);
    if (atomic_fetch_add(&p->barrier_count, 1) == p->n_threads - 1) {
        atomic_store(&p->barrier_count, 0);
        atomic_store(&p->barrier_sense, sense + 1);
        return;
    }
    int spins = 0;
    while (atomic_load(&p->barrier_sense) == sense) relax(&spins);
}

void ifn_pool_split(int64_t total, int64_t granule, int thread_index, int n_threads,
                    int64_t *out_begin, int64_t *out_end) {
    if (granule < 1) granule = 1;
    int64_t units = (total + granule - 1) / granule;
    int64_t per = units / n_threads, extra = units % n_threads;
    int64_t begin = thread_index * per + (thread_index < extra ? thread_index : extra);
    int64_t count = per + (thread_index < extra ? 1 : 0);
    int64_t b = begin * granule, e = (begin + count) * granule;
    *out_begin = b < total ? b : total;
    *out_end = e < total ? e : total;
}
