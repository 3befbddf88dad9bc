/* Explicit control and the life of models in the manager:
 * 1. unloading a model under load waits for its leases, cancels the running requests after the
 *    grace period, lets acquirers that arrive meanwhile reload it, and returns every byte;
 * 2. leases that end within the grace period are not cancelled;
 * 3. a load that fails is reported with the loader's message, listed as failed, and retried;
 * 4. timeouts, unknown names, bad entries, version policy and aliases through acquire;
 * 5. rescans (on request and by polling) add versions and models and remove deleted ones once
 *    their leases end;
 * 6. models added directly, and shutdown with a request still running. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manager/manager.h"
#include "manager/repo_fixture.h"
#include "util/alloc.h"
#include "util/status.h"
#include "util/time.h"

typedef struct fixture {
    char root[256];
    const char *bin, *tok, *gguf;
} fixture;

static void put_stories(const fixture *f, const char *dir) {
    char rel[256];
    fx_mkdirs(f->root, dir);
    snprintf(rel, sizeof rel, "%s/stories260K.bin", dir);
    fx_copy(f->bin, f->root, rel, 0);
    snprintf(rel, sizeof rel, "%s/tok512.bin", dir);
    fx_copy(f->tok, f->root, rel, 0);
}

static void put_gguf(const fixture *f, const char *dir) {
    char rel[256];
    fx_mkdirs(f->root, dir);
    snprintf(rel, sizeof rel, "%s/model.gguf", dir);
    fx_copy(f->gguf, f->root, rel, 0);
}

static int setup(void **state) {
    static fixture f;
    f.bin = shared_path("models/stories260K/stories260K.bin");
    f.tok = shared_path("models/stories260K/tok512.bin");
    f.gguf = shared_path("models/stories260K/stories260Ktok512.gguf");
    *state = NULL;
    if (!f.bin || !f.tok || !f.gguf) return 0;
    fx_mkdtemp(f.root);
    put_stories(&f, "stories/1");
    put_stories(&f, "dreams/1");
    fx_mkdirs(f.root, "broken/1"); /* a valid header, then the file ends: the load fails */
    fx_copy(f.bin, f.root, "broken/1/broken.bin", 4096);
    fx_copy(f.tok, f.root, "broken/1/tok512.bin", 0);
    fx_mkdirs(f.root, "bad/1");
    put_gguf(&f, "multi/1");
    put_gguf(&f, "multi/2");
    fx_write(f.root, "multi/config.json", "{\"version_policy\": \"all\", \"aliases\": [\"m\"]}");
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (f) fx_rm_rf(f->root);
    return 0;
}

static ifn_manager *make_manager(const fixture *f, int64_t rescan_ms) {
    ifn_manager_params p = ifn_manager_params_default();
    p.repository_dir = f ? f->root : NULL;
    p.n_threads = 2;
    p.rescan_interval_ms = rescan_ms;
    p.engine.max_num_seqs = 4;
    p.engine.max_batched_tokens = 64;
    p.engine.kv_cache_bytes = 1u << 20;
    ifn_manager *m = NULL;
    assert_int_equal(ifn_manager_create(&p, &m), IFN_OK);
    return m;
}

/* The state of name@version in the listing, -1 if absent. */
static int state_of(ifn_manager *m, const char *name, int64_t version) {
    ifn_manager_model_info *infos = NULL;
    int32_t n = 0;
    assert_int_equal(ifn_manager_list(m, &infos, &n), IFN_OK);
    int state = -1;
    for (int32_t i = 0; i < n; i++)
        if (strcmp(infos[i].name, name) == 0 && infos[i].version == version)
            state = (int)infos[i].state;
    ifn_manager_list_free(infos, n);
    return state;
}

static int wait_for_state(ifn_manager *m, const char *name, int64_t version, int want, int64_t ms) {
    for (int64_t t = 0; t <= ms; t += 5) {
        if (state_of(m, name, version) == want) return 1;
        usleep(5000);
    }
    return 0;
}

static const int32_t g_prompt[] = {1, 403, 407, 261, 378};

/* A lease holder running one request, releasing its lease when the request ends. */
typedef struct holder {
    ifn_manager *manager;
    ifn_manager_lease *lease;
    fx_output out;
    int32_t max_tokens;
} holder;

static void *hold_and_generate(void *arg) {
    holder *h = arg;
    assert_int_equal(
        fx_submit(ifn_manager_lease_model(h->lease), g_prompt, 5, h->max_tokens, &h->out), IFN_OK);
    fx_wait_done(&h->out);
    ifn_manager_release(h->lease);
    return NULL;
}

static void wait_tokens(fx_output *o, int32_t n) {
    pthread_mutex_lock(&o->lock);
    while (o->n_tokens < n && !o->is_done)
        pthread_cond_wait(&o->done_cond, &o->lock);
    pthread_mutex_unlock(&o->lock);
}

typedef struct late_acquirer {
    ifn_manager *manager;
    ifn_status status;
} late_acquirer;

/* Arrives once the unload has begun (the model drains its leases). */
static void *acquire_late(void *arg) {
    late_acquirer *a = arg;
    ifn_manager_lease *lease = NULL;
    if (!wait_for_state(a->manager, "stories", 1, IFN_MANAGER_STATE_UNLOADING, 5000)) return NULL;
    a->status = ifn_manager_acquire(a->manager, "stories", IFN_KEEP_ALIVE_DEFAULT, 10000, &lease);
    ifn_manager_release(lease);
    return NULL;
}

static void test_manager_unload_under_load_aborts_after_grace(void **state) {
    fixture *f = *state;
    if (!f) skip();
    ifn_manager *m = make_manager(f, 0);
    assert_int_equal(ifn_manager_load(m, "stories", IFN_KEEP_ALIVE_DEFAULT, 10000), IFN_OK);
    assert_int_equal(ifn_manager_unload(m, "stories", 0), IFN_OK); /* one-time setup is done */
    size_t before = ifn_alloc_live_bytes();

    holder h = {.manager = m, .max_tokens = 400};
    fx_output_init(&h.out);
    h.out.token_delay_us = 5000; /* 400 tokens would take 2 s */
    assert_int_equal(ifn_manager_acquire(m, "stories", IFN_KEEP_ALIVE_DEFAULT, 10000, &h.lease),
                     IFN_OK);
    pthread_t t, late;
    pthread_create(&t, NULL, hold_and_generate, &h);
    wait_tokens(&h.out, 3);
    late_acquirer a = {m, IFN_E_INTERNAL};
    int64_t t0 = ifn_time_now_ns();
    pthread_create(&late, NULL, acquire_late, &a);
    assert_int_equal(ifn_manager_unload(m, "stories", 150), IFN_OK);
    double waited_ms = (double)(ifn_time_now_ns() - t0) / 1e6;
    pthread_join(t, NULL);
    assert_true(waited_ms >= 150 && waited_ms < 1500);
    assert_int_equal(h.out.status, IFN_E_CANCELLED); /* a clean error, not a crash */
    assert_true(h.out.n_tokens < 400);
    pthread_join(late, NULL);
    assert_int_equal(a.status, IFN_OK); /* waited for the unload, then loaded it again */
    ifn_manager_stats st;
    ifn_manager_get_stats(m, &st);
    assert_int_equal(st.loads, 3);
    assert_int_equal(ifn_manager_unload(m, "stories", IFN_MANAGER_WAIT_FOREVER), IFN_OK);
    assert_int_equal(state_of(m, "stories", 1), IFN_MANAGER_STATE_UNLOADED);
    assert_int_equal(ifn_alloc_live_bytes(), before); /* every byte of the model returned */
    fx_output_deinit(&h.out);
    ifn_manager_destroy(m);
}

static void test_manager_unload_lets_leases_finish_within_grace(void **state) {
    fixture *f = *state;
    if (!f) skip();
    ifn_manager *m = make_manager(f, 0);
    holder h = {.manager = m, .max_tokens = 20};
    fx_output_init(&h.out);
    h.out.token_delay_us = 5000; /* about 100 ms */
    assert_int_equal(ifn_manager_acquire(m, "dreams", IFN_KEEP_ALIVE_DEFAULT, 10000, &h.lease),
                     IFN_OK);
    pthread_t t;
    pthread_create(&t, NULL, hold_and_generate, &h);
    wait_tokens(&h.out, 1);
    int64_t t0 = ifn_time_now_ns();
    assert_int_equal(ifn_manager_unload(m, "dreams", 5000), IFN_OK);
    assert_true(ifn_time_now_ns() - t0 < 3000000000LL);
    pthread_join(t, NULL);
    assert_int_equal(h.out.status, IFN_OK);
    assert_int_equal(h.out.n_tokens, 20);
    assert_int_equal(state_of(m, "dreams", 1), IFN_MANAGER_STATE_UNLOADED);
    assert_int_equal(ifn_manager_unload(m, "dreams", 0), IFN_OK); /* not loaded: nothing to do */
    assert_int_equal(ifn_manager_unload(m, "nosuch", 0), IFN_E_INVALID);
    fx_output_deinit(&h.out);
    ifn_manager_destroy(m);
}

static void test_manager_failed_load_is_reported_and_retried(void **state) {
    fixture *f = *state;
    if (!f) skip();
    ifn_manager *m = make_manager(f, 0);
    ifn_manager_lease *lease = NULL;
    assert_int_equal(ifn_manager_acquire(m, "broken", IFN_KEEP_ALIVE_DEFAULT, 10000, &lease),
                     IFN_E_FORMAT);
    assert_non_null(strstr(ifn_last_error(), "broken.bin"));
    assert_int_equal(state_of(m, "broken", 1), IFN_MANAGER_STATE_FAILED);
    ifn_manager_model_info *infos = NULL;
    int32_t n = 0;
    assert_int_equal(ifn_manager_list(m, &infos, &n), IFN_OK);
    for (int32_t i = 0; i < n; i++)
        if (strcmp(infos[i].name, "broken") == 0)
            assert_non_null(strstr(infos[i].error, "llama2c"));
    ifn_manager_list_free(infos, n);
    assert_int_equal(ifn_manager_acquire(m, "broken", IFN_KEEP_ALIVE_DEFAULT, 10000, &lease),
                     IFN_E_FORMAT);
    ifn_manager_stats st;
    ifn_manager_get_stats(m, &st);
    assert_int_equal(st.load_failures, 2);
    assert_int_equal(st.reserved_bytes, 0);
    assert_int_equal(ifn_manager_unload(m, "broken", 0), IFN_OK); /* clears the failure */
    assert_int_equal(state_of(m, "broken", 1), IFN_MANAGER_STATE_UNLOADED);
    ifn_manager_destroy(m);
}

static void test_manager_resolves_versions_and_reports_bad_names(void **state) {
    fixture *f = *state;
    if (!f) skip();
    ifn_manager *m = make_manager(f, 0);
    ifn_manager_lease *lease = NULL;
    assert_int_equal(ifn_manager_acquire(m, "dreams", IFN_KEEP_ALIVE_DEFAULT, 0, &lease),
                     IFN_E_TIMEOUT); /* cold, and no time to wait: the load goes on */
    assert_true(wait_for_state(m, "dreams", 1, IFN_MANAGER_STATE_READY, 5000));
    assert_int_equal(ifn_manager_acquire(m, "dreams", IFN_KEEP_ALIVE_DEFAULT, 0, &lease), IFN_OK);
    ifn_manager_release(lease);
    assert_int_equal(ifn_manager_acquire(m, "nosuch", IFN_KEEP_ALIVE_DEFAULT, 1000, &lease),
                     IFN_E_INVALID);
    assert_int_equal(ifn_manager_acquire(m, "bad", IFN_KEEP_ALIVE_DEFAULT, 1000, &lease),
                     IFN_E_FORMAT);
    assert_non_null(strstr(ifn_last_error(), "no model file"));
    assert_int_equal(state_of(m, "bad", 1), IFN_MANAGER_STATE_FAILED);
    assert_int_equal(ifn_manager_acquire(m, "m", IFN_KEEP_ALIVE_DEFAULT, 10000, &lease), IFN_OK);
    assert_string_equal(ifn_manager_lease_name(lease), "multi");
    assert_int_equal(ifn_manager_lease_version(lease), 2);
    assert_int_equal(ifn_manager_lease_model(lease)->n_ctx, 128);
    ifn_manager_release(lease);
    assert_int_equal(ifn_manager_acquire(m, "multi@1", IFN_KEEP_ALIVE_DEFAULT, 10000, &lease),
                     IFN_OK);
    assert_int_equal(ifn_manager_lease_version(lease), 1);
    assert_int_equal(ifn_manager_lease_config(lease)->n_aliases, 1);
    ifn_manager_release(lease);
    assert_int_equal(ifn_manager_acquire(m, "multi@3", IFN_KEEP_ALIVE_DEFAULT, 1000, &lease),
                     IFN_E_INVALID);
    assert_int_equal(state_of(m, "multi", 1), IFN_MANAGER_STATE_READY);
    assert_int_equal(state_of(m, "multi", 2), IFN_MANAGER_STATE_READY);
    ifn_manager_destroy(m);
}

static void test_manager_rescan_adds_and_removes_models(void **state) {
    fixture *f = *state;
    if (!f) skip();
    ifn_manager *m = make_manager(f, 0);
    ifn_manager_lease *lease = NULL, *old = NULL;
    put_stories(f, "fresh/1");
    assert_int_equal(ifn_manager_acquire(m, "fresh", IFN_KEEP_ALIVE_DEFAULT, 1000, &lease),
                     IFN_E_INVALID); /* not until a rescan */
    assert_int_equal(ifn_manager_rescan(m), IFN_OK);
    assert_int_equal(state_of(m, "fresh", 1), IFN_MANAGER_STATE_UNLOADED);
    assert_int_equal(ifn_manager_acquire(m, "fresh", IFN_KEEP_ALIVE_DEFAULT, 10000, &lease),
                     IFN_OK);
    ifn_manager_release(lease);

    /* a deleted model keeps serving its lease holder, then disappears */
    assert_int_equal(ifn_manager_acquire(m, "fresh", IFN_KEEP_ALIVE_DEFAULT, 10000, &old), IFN_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/fresh", f->root);
    fx_rm_rf(path);
    assert_int_equal(ifn_manager_rescan(m), IFN_OK);
    assert_int_equal(ifn_manager_acquire(m, "fresh", IFN_KEEP_ALIVE_DEFAULT, 1000, &lease),
                     IFN_E_INVALID);
    int32_t got[8];
    assert_int_equal(fx_generate(ifn_manager_lease_model(old), g_prompt, 5, 8, got), IFN_OK);
    assert_int_equal(state_of(m, "fresh", 1), IFN_MANAGER_STATE_READY);
    ifn_manager_release(old);
    assert_true(wait_for_state(m, "fresh", 1, -1, 2000));
    ifn_manager_destroy(m);

    /* polling picks up a new version by itself */
    m = make_manager(f, 30);
    put_gguf(f, "multi/3");
    assert_true(wait_for_state(m, "multi", 3, IFN_MANAGER_STATE_UNLOADED, 3000));
    assert_int_equal(ifn_manager_acquire(m, "multi", IFN_KEEP_ALIVE_DEFAULT, 10000, &lease),
                     IFN_OK);
    assert_int_equal(ifn_manager_lease_version(lease), 3);
    ifn_manager_release(lease);
    ifn_manager_stats st;
    ifn_manager_get_stats(m, &st);
    assert_true(st.rescans >= 2);
    ifn_manager_destroy(m);
    snprintf(path, sizeof path, "%s/multi/3", f->root);
    fx_rm_rf(path);
}

static void test_manager_added_models_and_shutdown_under_load(void **state) {
    fixture *f = *state;
    if (!f) skip();
    size_t before = ifn_alloc_live_bytes();
    ifn_manager *m = make_manager(NULL, 0);
    assert_int_equal(ifn_manager_rescan(m), IFN_E_INVALID);
    ifn_model_config c;
    ifn_model_config_init(&c);
    c.is_pinned = 1;
    c.context_length = 256;
    assert_int_equal(ifn_manager_add(m, "direct", f->bin, NULL, &c), IFN_OK);
    assert_int_equal(ifn_manager_add(m, "direct", f->gguf, NULL, NULL), IFN_E_INVALID);
    assert_int_equal(ifn_manager_add(m, "x@1", f->gguf, NULL, NULL), IFN_E_INVALID);
    assert_int_equal(ifn_manager_add(m, "nofile", "/nonexistent.gguf", NULL, NULL), IFN_E_IO);
    holder h = {.manager = m, .max_tokens = 200};
    fx_output_init(&h.out);
    h.out.token_delay_us = 5000;
    assert_int_equal(ifn_manager_acquire(m, "direct", 0, 10000, &h.lease), IFN_OK);
    assert_int_equal(ifn_manager_lease_model(h.lease)->n_ctx, 256);
    pthread_t t;
    pthread_create(&t, NULL, hold_and_generate, &h);
    wait_tokens(&h.out, 2);
    assert_true(ifn_manager_queue_depth(m, "direct") >= 1);
    ifn_manager_destroy(m); /* cancels the request, waits for the lease */
    pthread_join(t, NULL);
    assert_int_equal(h.out.status, IFN_E_CANCELLED);
    fx_output_deinit(&h.out);
    assert_int_equal(ifn_alloc_live_bytes(), before);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manager_unload_under_load_aborts_after_grace),
        cmocka_unit_test(test_manager_unload_lets_leases_finish_within_grace),
        cmocka_unit_test(test_manager_failed_load_is_reported_and_retried),
        cmocka_unit_test(test_manager_resolves_versions_and_reports_bad_names),
        cmocka_unit_test(test_manager_rescan_adds_and_removes_models),
        cmocka_unit_test(test_manager_added_models_and_shutdown_under_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
