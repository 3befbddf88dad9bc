/* Thread pool: every thread runs every task, barriers order phases, a pool used right after
 * creation runs its first task on all threads, split ranges tile [0, total) exactly, and callers
 * sharing one pool run in arrival order, alternating rather than one starving the other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <unistd.h>

#include "tensor/pool.h"
#include "util/time.h"

#define N_SLOTS 64

typedef struct phase_state {
    ifn_pool *pool;
    atomic_int arrivals;
    int slots[N_SLOTS];
    int bad_reads;
} phase_state;

/* Phase 1 each thread writes its slots; after the barrier each checks the others' writes. */
static void phased_task(void *arg, int ith, int nth) {
    phase_state *s = arg;
    atomic_fetch_add(&s->arrivals, 1);
    int64_t b, e;
    ifn_pool_split(N_SLOTS, 1, ith, nth, &b, &e);
    for (int64_t i = b; i < e; i++) s->slots[i] += 1;
    ifn_pool_barrier(s->pool);
    if (ith == 0)
        for (int i = 0; i < N_SLOTS; i++)
            if (s->slots[i] != s->slots[0]) s->bad_reads++;
    ifn_pool_barrier(s->pool);
}

static void test_pool_runs_every_thread_from_the_first_task(void **state) {
    (void)state;
    for (int round = 0; round < 20; round++) {
        ifn_pool *pool = NULL;
        assert_int_equal(ifn_pool_create(3, &pool), IFN_OK);
        phase_state s = {.pool = pool};
        ifn_pool_run(pool, phased_task, &s); /* workers may not have started yet */
        assert_int_equal(atomic_load(&s.arrivals), 3);
        ifn_pool_destroy(pool);
    }
}

static void test_pool_barriers_order_phases(void **state) {
    (void)state;
    ifn_pool *pool = NULL;
    assert_int_equal(ifn_pool_create(4, &pool), IFN_OK);
    assert_int_equal(ifn_pool_size(pool), 4);
    phase_state s = {.pool = pool};
    for (int i = 0; i < 300; i++) ifn_pool_run(pool, phased_task, &s);
    assert_int_equal(atomic_load(&s.arrivals), 4 * 300);
    assert_int_equal(s.bad_reads, 0);
    for (int i = 0; i < N_SLOTS; i++) assert_int_equal(s.slots[i], 300);
    ifn_pool_destroy(pool);
}

static void test_pool_split_tiles_the_range(void **state) {
    (void)state;
    const int64_t totals[] = {0, 1, 7, 16, 17, 1000, 4097};
    for (size_t k = 0; k < sizeof totals / sizeof totals[0]; k++) {
        for (int nth = 1; nth <= 9; nth++) {
            for (int64_t granule = 1; granule <= 32; granule *= 4) {
                int64_t next = 0;
                for (int i = 0; i < nth; i++) {
                    int64_t b, e;
                    ifn_pool_split(totals[k], granule, i, nth, &b, &e);
                    assert_int_equal(b, next);
                    assert_true(e >= b);
                    if (e < totals[k]) assert_int_equal(e % granule, 0);
                    next = e;
                }
                assert_int_equal(next, totals[k]);
            }
        }
    }
    assert_true(ifn_pool_physical_cores() >= 1);
}

typedef struct fifo_state {
    ifn_pool *pool;
    atomic_int is_blocking; /* the first task holds the pool until released */
    atomic_int is_released;
    atomic_int order[8];
    atomic_int n_order;
} fifo_state;

typedef struct fifo_caller {
    fifo_state *state;
    int id;
} fifo_caller;

static void recording_task(void *arg, int ith, int nth) {
    (void)nth;
    fifo_caller *c = arg;
    if (ith != 0) return;
    if (c->id == 0) {
        atomic_store(&c->state->is_blocking, 1);
        while (!atomic_load(&c->state->is_released)) usleep(100);
        return;
    }
    c->state->order[atomic_fetch_add(&c->state->n_order, 1)] = c->id;
}

static void *run_once(void *arg) {
    fifo_caller *c = arg;
    ifn_pool_run(c->state->pool, recording_task, c);
    return NULL;
}

static void test_pool_callers_run_in_arrival_order(void **state) {
    (void)state;
    fifo_state s = {0};
    assert_int_equal(ifn_pool_create(2, &s.pool), IFN_OK);
    fifo_caller callers[5];
    pthread_t threads[5];
    for (int i = 0; i < 5; i++) {
        callers[i] = (fifo_caller){&s, i};
        pthread_create(&threads[i], NULL, run_once, &callers[i]);
        if (i == 0)
            while (!atomic_load(&s.is_blocking)) usleep(100);
        else
            usleep(20000); /* caller i queues before caller i + 1 */
    }
    atomic_store(&s.is_released, 1);
    for (int i = 0; i < 5; i++) pthread_join(threads[i], NULL);
    assert_int_equal(atomic_load(&s.n_order), 4);
    for (int i = 0; i < 4; i++) assert_int_equal(s.order[i], i + 1);
    ifn_pool_destroy(s.pool);
}

typedef struct turn_state {
    ifn_pool *pool;
    pthread_barrier_t start;
    int last_id;    /* guarded by the pool: one task at a time */
    int n_switches; /* tasks whose caller differs from the previous task's */
} turn_state;

typedef struct turn_caller {
    turn_state *state;
    int id;
} turn_caller;

static void turn_task(void *arg, int ith, int nth) {
    (void)nth;
    turn_caller *c = arg;
    if (ith != 0) return;
    turn_state *s = c->state;
    s->n_switches += s->last_id != 0 && s->last_id != c->id;
    s->last_id = c->id;
    int64_t until = ifn_time_now_ns() + 200000; /* a short step: 0.2 ms of work */
    while (ifn_time_now_ns() < until) continue;
}

static void *run_many(void *arg) {
    turn_caller *c = arg;
    pthread_barrier_wait(&c->state->start);
    for (int i = 0; i < 150; i++) ifn_pool_run(c->state->pool, turn_task, c);
    return NULL;
}

/* Two engines stepping back to back on a shared pool: with a plain mutex (or tickets alone) the
 * one that just ran takes the pool again while the other, runnable, still waits for a core; the
 * pool lets the other queue first, so their steps alternate (299 switches in 300 steps). */
static void test_pool_back_to_back_callers_alternate(void **state) {
    (void)state;
    turn_state s = {0};
    assert_int_equal(ifn_pool_create(2, &s.pool), IFN_OK);
    pthread_barrier_init(&s.start, NULL, 2);
    turn_caller callers[2] = {{&s, 1}, {&s, 2}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, run_many, &callers[i]);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&s.start);
    print_message("caller switches: %d in 300 steps\n", s.n_switches);
    assert_true(s.n_switches >= 150); /* a plain mutex: 15-60 on two busy cores */
    ifn_pool_destroy(s.pool);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_every_thread_from_the_first_task),
        cmocka_unit_test(test_pool_barriers_order_phases),
        cmocka_unit_test(test_pool_split_tiles_the_range),
        cmocka_unit_test(test_pool_callers_run_in_arrival_order),
        cmocka_unit_test(test_pool_back_to_back_callers_alternate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
