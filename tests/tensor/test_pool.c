/* Thread pool: every thread runs every task, barriers order phases, a pool used right after
 * creation runs its first task on all threads, and split ranges tile [0, total) exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tensor/pool.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_every_thread_from_the_first_task),
        cmocka_unit_test(test_pool_barriers_order_phases),
        cmocka_unit_test(test_pool_split_tiles_the_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
