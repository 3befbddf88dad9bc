/* Engine stress: thousands of random submits (random prompt and output lengths, shared
 * prefixes, n up to 3, priorities), random aborts from another thread and cancellations from
 * callbacks, on a KV cache small enough to preempt constantly. Every request must end exactly
 * once, and at the end every KV block must be back on the free or cached lists.
 * Runs under ASan and TSan in the suite (IFN_STRESS_REQUESTS scales it for soak runs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/engine.h"
#include "engine/llm.h"
#include "support/shared.h"

typedef struct tracker {
    atomic_int done;
    atomic_int tokens;
    int cancel_at;
} tracker;

static int on_token(void *user, int32_t index, int32_t token, const char *text, size_t len,
                    const ifn_sampler_logprobs *lp) {
    (void)index, (void)token, (void)text, (void)len, (void)lp;
    tracker *t = user;
    int n = atomic_fetch_add(&t->tokens, 1) + 1;
    return t->cancel_at > 0 && n >= t->cancel_at;
}

static void on_done(void *user, ifn_status status, const char *message) {
    (void)status, (void)message;
    atomic_fetch_add(&((tracker *)user)->done, 1);
}

static uint32_t next_rand(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void test_engine_stress_random_submits_and_aborts(void **state) {
    (void)state;
    const char *path = shared_path("models/stories260K/stories260K.bin");
    if (!path) skip();
    const char *env = getenv("IFN_STRESS_REQUESTS");
    int n_requests = env ? atoi(env) : 2000;
    ifn_llm_params lp = ifn_llm_params_default();
    lp.model_path = path;
    lp.n_ctx = 1;
    ifn_llm *llm = NULL;
    assert_int_equal(ifn_llm_load(&lp, &llm), IFN_OK);
    ifn_engine_params p = ifn_engine_params_default();
    p.n_threads = 2;
    p.n_ctx = 256;
    p.max_num_seqs = 16;
    p.max_batched_tokens = 48;
    p.block_size = 8;
    p.kv_cache_bytes = (size_t)60 * 8 * 2 * 5 * 32 * 2; /* 60 blocks of 8 positions */
    ifn_engine *e = NULL;
    assert_int_equal(ifn_engine_create((ifn_model *)ifn_llm_model(llm), ifn_llm_vocab(llm), &p, &e),
                     IFN_OK);
    tracker *trackers = calloc((size_t)n_requests, sizeof *trackers);
    uint64_t *ids = calloc((size_t)n_requests, sizeof *ids);
    int32_t prefix[64], prompt[128];
    uint32_t seed = 12345;
    for (int i = 0; i < 64; i++)
        prefix[i] = 259 + (int32_t)(next_rand(&seed) % 253);
    int accepted = 0;
    for (int i = 0; i < n_requests; i++) {
        int32_t n_prompt = 1 + (int32_t)(next_rand(&seed) % 100);
        int32_t shared = (int32_t)(next_rand(&seed) % 2) ? (int32_t)(next_rand(&seed) % 64) : 0;
        prompt[0] = 1;
        for (int32_t k = 1; k < n_prompt; k++)
            prompt[k] = k < shared ? prefix[k] : 259 + (int32_t)(next_rand(&seed) % 253);
        ifn_request r;
        ifn_request_init(&r);
        r.prompt = prompt;
        r.n_prompt = n_prompt;
        r.sampling.temperature = (next_rand(&seed) % 2) ? 0.0f : 0.8f;
        r.sampling.max_tokens = (int32_t)(next_rand(&seed) % 24);
        r.n = 1 + (int32_t)(next_rand(&seed) % 3 == 0 ? next_rand(&seed) % 3 : 0);
        r.priority = (int32_t)(next_rand(&seed) % 3);
        r.min_tokens = (int32_t)(next_rand(&seed) % 4);
        trackers[i].cancel_at = next_rand(&seed) % 10 == 0 ? 3 : 0;
        r.callbacks = (ifn_request_callbacks){on_token, NULL, on_done, &trackers[i], NULL};
        if (ifn_engine_submit(e, &r, &ids[i]) == IFN_OK)
            accepted++;
        else
            atomic_store(&trackers[i].done, 1); /* refused up front: no callback comes */
        if (i > 0 && next_rand(&seed) % 4 == 0)
            ifn_engine_abort(e, ids[next_rand(&seed) % (uint32_t)i]);
    }
    assert_true(ifn_engine_wait_idle(e, 600000));
    ifn_engine_stats st;
    ifn_engine_get_stats(e, &st);
    print_message("accepted %d, preemptions %lld, steps %lld, prefix hits %lld/%lld\n", accepted,
                  (long long)st.preemptions, (long long)st.steps, (long long)st.prefix_hits,
                  (long long)st.prefix_queries);
    for (int i = 0; i < n_requests; i++)
        assert_int_equal(atomic_load(&trackers[i].done), 1);
    assert_int_equal(st.n_running, 0);
    assert_int_equal(st.n_waiting, 0);
    assert_int_equal(st.kv_blocks_used, 0);
    assert_int_equal(st.kv_blocks_free + st.kv_blocks_cached, st.kv_blocks_total);
    assert_true(st.preemptions > 0);
    ifn_engine_destroy(e);
    ifn_llm_destroy(llm);
    free(trackers);
    free(ids);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_stress_random_submits_and_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
