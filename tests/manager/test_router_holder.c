/* Router holder tests: reloads keep sticky assignments and counters, a failed reload keeps the
 * old router, swapping in nothing turns routing off, and 4 threads resolve while another reloads
 * 100 times (valid and broken files); run under ASan and TSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manager/router_holder.h"
#include "support/router_fixture.h"
#include "util/rng.h"

static void test_router_sticky_key_survives_reload_of_same_file(void **state) {
    (void)state;
    char *path = write_temp(k_sample);
    ifn_router *initial = NULL;
    ifn_router_holder *holder = NULL;
    assert_int_equal(ifn_router_load(path, &initial), IFN_OK);
    assert_int_equal(ifn_router_holder_create(initial, &holder), IFN_OK);
    int32_t before[1000];
    char key[32];
    ifn_router *r = ifn_router_holder_acquire(holder);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        before[i] = sticky_variant(r, key, 0.0);
    }
    ifn_router_release(r);
    assert_int_equal(ifn_router_holder_reload(holder, path), IFN_OK);
    r = ifn_router_holder_acquire(holder);
    assert_ptr_not_equal(r, initial); /* a new router, yet the same assignments */
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        assert_int_equal(sticky_variant(r, key, 0.99), before[i]);
    }
    ifn_router_release(r);
    ifn_router_holder_destroy(holder);
    unlink(path);
    free(path);
}

static void test_router_failed_reload_keeps_old_router(void **state) {
    (void)state;
    char *path = write_temp(k_sample);
    ifn_router *initial = NULL;
    ifn_router_holder *holder = NULL;
    assert_int_equal(ifn_router_load(path, &initial), IFN_OK);
    assert_int_equal(ifn_router_holder_create(initial, &holder), IFN_OK);
    rewrite(path, "{\"routes\": {\"fast\": 12}}");
    assert_int_equal(ifn_router_holder_reload(holder, path), IFN_E_FORMAT);
    assert_non_null(strstr(ifn_last_error(), "routes.fast"));
    ifn_router *r = ifn_router_holder_acquire(holder);
    assert_ptr_equal(r, initial);
    ifn_router_query q = query("fast", IFN_ROUTER_KIND_CHAT);
    assert_string_equal(resolve_ok(r, &q).target, "tinyllama");
    ifn_router_release(r);
    ifn_router_holder_destroy(holder);
    unlink(path);
    free(path);
}

static uint64_t fast_count(const ifn_router *r) {
    ifn_router_count counts[32];
    size_t n = ifn_router_get_counts(r, counts, 32);
    for (size_t i = 0; i < n && i < 32; i++)
        if (counts[i].kind == IFN_ROUTER_COUNT_VARIANT && strcmp(counts[i].from, "fast") == 0)
            return counts[i].n_chosen;
    fail_msg("no counter for route fast");
    return 0;
}

static void test_router_holder_swap_carries_counts_and_null_disables(void **state) {
    (void)state;
    ifn_router *r = parse_ok(k_sample);
    ifn_router_holder *holder = NULL;
    assert_int_equal(ifn_router_holder_create(r, &holder), IFN_OK);
    ifn_router_query q = query("fast", IFN_ROUTER_KIND_CHAT);
    for (int i = 0; i < 5; i++)
        resolve_ok(r, &q);
    ifn_router_holder_swap(holder, parse_ok(k_sample));
    ifn_router *next = ifn_router_holder_acquire(holder);
    assert_int_equal(fast_count(next), 5);
    resolve_ok(next, &q);
    assert_int_equal(fast_count(next), 6);
    ifn_router_release(next);
    ifn_router_holder_swap(holder, NULL);
    assert_null(ifn_router_holder_acquire(holder));
    ifn_router_holder_destroy(holder);
    ifn_router_holder_destroy(NULL);
}

typedef struct race {
    ifn_router_holder *holder;
    atomic_int is_stopping;
} race;

typedef struct resolver {
    race *race;
    uint64_t seed;
    long n_resolved; /* read after the join */
    int n_bad;
} resolver;

static int random_overload(void *user, const char *model, int32_t queue_threshold) {
    (void)queue_threshold;
    return (int)(((uintptr_t)user + strlen(model)) % 2);
}

static int is_expected_target(const char *t) {
    static const char *const ok[] = {"llama3@2", "llama3@3", "tinyllama",   "phi@1",
                                     "bge@1",    "bge@2",    "llama3-long", "a",
                                     "b",        "mistral",  "coin"};
    for (size_t i = 0; i < IFN_ARRAY_LEN(ok); i++)
        if (strcmp(ok[i], t) == 0) return 1;
    return 0;
}

static void resolve_random(resolver *rs, ifn_rng *rng) {
    static const char *const names[] = {"chat", "fast", NULL, "coin", "mistral", "llama3@2"};
    char key[32];
    uint64_t x = ifn_rng_next_u64(rng);
    ifn_router_query q = query(names[x % IFN_ARRAY_LEN(names)], (ifn_router_kind)(x / 8 % 3));
    snprintf(key, sizeof key, "user%u", (unsigned)(x >> 40) % 1000);
    q.sticky_key = x & 16 ? key : NULL;
    q.draw = ifn_rng_next_f64(rng);
    q.n_ctx_needed = (int32_t)((x >> 20) % 8192);
    q.user = (void *)(uintptr_t)(x >> 32);
    q.is_overloaded = random_overload;
    ifn_router *r = ifn_router_holder_acquire(rs->race->holder);
    ifn_router_choice c;
    if (!r || ifn_router_resolve(r, &q, &c) != IFN_OK || !is_expected_target(c.target)) rs->n_bad++;
    ifn_router_get_counts(r, NULL, 0);
    ifn_router_release(r);
    rs->n_resolved++;
}

static void *resolver_main(void *arg) {
    resolver *rs = arg;
    ifn_rng rng;
    ifn_rng_seed(&rng, rs->seed);
    while (!atomic_load(&rs->race->is_stopping))
        resolve_random(rs, &rng);
    return NULL;
}

static const char k_variant_b[] =
    "{\"routes\": {\"chat\": {\"split\": [{\"model\": \"llama3@3\", \"weight\": 50},\n"
    "  {\"model\": \"llama3@2\", \"weight\": 50}]}, \"fast\": \"phi@1\"},\n"
    " \"rules\": [{\"kind\": \"embedding\", \"model\": \"bge@2\"}, {\"model\": \"chat\"}],\n"
    " \"fallback\": {\"models\": {\"llama3@2\": [\"tinyllama\"]}}}";

static void test_router_resolve_while_reloading(void **state) {
    (void)state;
    char *path = write_temp(k_sample);
    ifn_router *initial = NULL;
    race rc;
    atomic_init(&rc.is_stopping, 0);
    assert_int_equal(ifn_router_load(path, &initial), IFN_OK);
    assert_int_equal(ifn_router_holder_create(initial, &rc.holder), IFN_OK);
    pthread_t threads[4];
    resolver rs[4];
    for (int i = 0; i < 4; i++) {
        rs[i] = (resolver){&rc, 1000 + (uint64_t)i, 0, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, resolver_main, &rs[i]), 0);
    }
    int n_failed_reloads = 0;
    for (int i = 0; i < 100; i++) {
        const char *text = i % 10 == 9 ? "{\"routes\": 1}" : i % 2 ? k_variant_b : k_sample;
        rewrite(path, text);
        n_failed_reloads += ifn_router_holder_reload(rc.holder, path) != IFN_OK;
        usleep(200);
    }
    atomic_store(&rc.is_stopping, 1);
    long n_resolved = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        n_resolved += rs[i].n_resolved;
        assert_int_equal(rs[i].n_bad, 0);
    }
    assert_int_equal(n_failed_reloads, 10);
    assert_true(n_resolved > 1000);
    ifn_router_holder_destroy(rc.holder);
    unlink(path);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_sticky_key_survives_reload_of_same_file),
        cmocka_unit_test(test_router_failed_reload_keeps_old_router),
        cmocka_unit_test(test_router_holder_swap_carries_counts_and_null_disables),
        cmocka_unit_test(test_router_resolve_while_reloading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
