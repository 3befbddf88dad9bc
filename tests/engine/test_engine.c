/* Engine (continuous batching over the paged KV cache), on the real stories260K model:
 * 1. greedy outputs of 32 mixed-length requests arriving at different times, with chunked
 *    prefill and a KV budget small enough to force preemption, equal each request run alone;
 * 2. a request sharing a 1000-token prefix with an earlier one reuses >= 62 cached blocks,
 *    computes only the rest, and produces the same output as without the prefix cache;
 * 3. n > 1 samples share the prompt and each equals a single-sample run with its seed;
 * 4. aborts and callback cancellation free everything; errors are reported, not crashed on.
 * Test 1 runs again on the Q8_0 GGUF of the same model, whose matrices the loader repacks
 * into eight-row groups, so the packed kernels' batch invariance is checked end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/llm.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "support/llm_fixture.h"
#include "support/shared.h"

#define MAX_OUT 256
#define N_REQ 32

typedef struct output {
    int32_t tokens[MAX_OUT];
    int32_t n_tokens;
    ifn_finish_reason reason;
    int finished;
    int done;
    ifn_status status;
    int cancel_after; /* cancel from the callback after this many tokens (0 = never) */
    ifn_request_usage usage;
} output;

static int on_token(void *user, int32_t index, int32_t token, const char *text, size_t len,
                    const ifn_sampler_logprobs *lp) {
    (void)text;
    (void)len;
    (void)lp;
    output *o = (output *)user + index;
    if (o->n_tokens < MAX_OUT) o->tokens[o->n_tokens++] = token;
    return o->cancel_after > 0 && o->n_tokens >= o->cancel_after;
}

static void on_finish(void *user, int32_t index, ifn_finish_reason reason, const char *text,
                      size_t len, const ifn_request_usage *usage) {
    (void)text;
    (void)len;
    (void)usage;
    output *o = (output *)user + index;
    o->reason = reason;
    o->finished = 1;
    o->usage = *usage;
}

static void on_done(void *user, ifn_status status, const char *message) {
    (void)message;
    output *o = user;
    o->done = 1;
    o->status = status;
}


static ifn_engine *make_engine(fixture *f, int32_t n_ctx, size_t kv_bytes, int32_t max_tokens,
                               int prefix_cache) {
    ifn_engine_params p = ifn_engine_params_default();
    p.n_threads = 2;
    p.n_ctx = n_ctx;
    p.kv_cache_bytes = kv_bytes;
    p.max_batched_tokens = max_tokens;
    p.enable_prefix_cache = prefix_cache;
    ifn_engine *e = NULL;
    assert_int_equal(ifn_engine_create((ifn_model *)ifn_llm_model(f->llm), ifn_llm_vocab(f->llm), &p, &e),
                     IFN_OK);
    return e;
}

/* Deterministic pseudo-random prompt: BOS then ids from the model's 512-token vocabulary. */
static void make_prompt(int32_t *ids, int32_t n, uint32_t seed) {
    ids[0] = 1;
    for (int32_t i = 1; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        ids[i] = 259 + (int32_t)((seed >> 8) % 253);
    }
}

static void submit(ifn_engine *e, const int32_t *prompt, int32_t n_prompt, int32_t max_tokens,
                   output *out, int32_t n, uint64_t *out_id) {
    ifn_request r;
    ifn_request_init(&r);
    r.prompt = prompt;
    r.n_prompt = n_prompt;
    r.sampling.temperature = 0.0f;
    r.sampling.max_tokens = max_tokens;
    r.sampling.ignore_eos = 1;
    r.n = n;
    r.callbacks = (ifn_request_callbacks){on_token, on_finish, on_done, out, NULL};
    assert_int_equal(ifn_engine_submit(e, &r, out_id), IFN_OK);
}

static void test_engine_batched_preempted_equals_alone(void **state) {
    fixture *f = *state;
    if (!f) skip();
    static int32_t prompts[N_REQ][200];
    int32_t lens[N_REQ], gens[N_REQ];
    static output alone[N_REQ], batched[N_REQ];
    memset(alone, 0, sizeof alone);
    memset(batched, 0, sizeof batched);
    for (int i = 0; i < N_REQ; i++) {
        lens[i] = 2 + (i * 37) % 150;
        gens[i] = 8 + (i * 53) % 90;
        make_prompt(prompts[i], lens[i], (uint32_t)i * 7919u + 1);
    }
    ifn_engine *solo = make_engine(f, 512, 0, 512, 0);
    for (int i = 0; i < N_REQ; i++) {
        submit(solo, prompts[i], lens[i], gens[i], &alone[i], 1, NULL);
        assert_true(ifn_engine_wait_idle(solo, 60000));
    }
    ifn_engine_destroy(solo);
    /* 48 blocks of 16 positions cannot hold all 32 sequences: preemption must happen. */
    size_t kv_bytes = (size_t)48 * 16 * 2 * 5 * 32 * 2;
    ifn_engine *e = make_engine(f, 512, kv_bytes, 24, 1);
    for (int i = 0; i < N_REQ; i++) {
        submit(e, prompts[i], lens[i], gens[i], &batched[i], 1, NULL);
        if (i % 4 == 3) nanosleep(&(struct timespec){0, 2000000}, NULL); /* staggered arrivals */
    }
    assert_true(ifn_engine_wait_idle(e, 120000));
    ifn_engine_stats st;
    ifn_engine_get_stats(e, &st);
    print_message("preemptions %lld, steps %lld\n", (long long)st.preemptions, (long long)st.steps);
    assert_true(st.preemptions > 0);
    assert_int_equal(st.kv_blocks_used, 0);
    for (int i = 0; i < N_REQ; i++) {
        assert_true(batched[i].done && alone[i].done);
    assert_int_equal(batched[i].reason, IFN_FINISH_LENGTH);
        assert_int_equal(batched[i].n_tokens, gens[i]);
        assert_int_equal(alone[i].n_tokens, gens[i]);
        assert_memory_equal(batched[i].tokens, alone[i].tokens, sizeof(int32_t) * (size_t)gens[i]);
    }
    ifn_engine_destroy(e);
}

/* The same on stories260K_q8_0.gguf (its own vocabulary), packed kernels at work. */
static void test_engine_batched_preempted_equals_alone_packed_q8_0(void **state) {
    (void)state;
    const char *path = shared_path("models/fixtures/stories260K_q8_0.gguf");
    if (!path) skip();
    fixture q8 = {0};
    ifn_llm_params lp = ifn_llm_params_default();
    lp.model_path = path;
    lp.n_ctx = 1;
    assert_int_equal(ifn_llm_load(&lp, &q8.llm), IFN_OK);
    const ifn_weight *wq = &ifn_model_layer(ifn_llm_model(q8.llm), 0)->wq;
    assert_int_equal(wq->type, IFN_DTYPE_Q8_0);
    if (ifn_kernels_get()->matmul_packed[IFN_DTYPE_Q8_0].gemm_x8)
        assert_non_null(wq->packed); /* IFN_REPACK is not set in the suite */
    fixture *saved = *state;
    *state = &q8;
    test_engine_batched_preempted_equals_alone(state);
    *state = saved;
    ifn_llm_destroy(q8.llm);
}

static void run_prefix_pair(fixture *f, int prefix_cache, output *first, output *second) {
    static int32_t a[1010], b[1010];
    make_prompt(a, 1005, 42);
    memcpy(b, a, sizeof(int32_t) * 1000);
    make_prompt(b + 1000, 5, 99);
    b[1000] = 300;
    ifn_engine *e = make_engine(f, 1100, 0, 512, prefix_cache);
    submit(e, a, 1005, 16, first, 1, NULL);
    assert_true(ifn_engine_wait_idle(e, 60000));
    ifn_engine_stats before, after;
    ifn_engine_get_stats(e, &before);
    submit(e, b, 1005, 16, second, 1, NULL);
    assert_true(ifn_engine_wait_idle(e, 60000));
    ifn_engine_get_stats(e, &after);
    if (prefix_cache) {
        print_message("prefix hits for the second request: %lld\n",
                      (long long)(after.prefix_hits - before.prefix_hits));
        assert_true(after.prefix_hits - before.prefix_hits >= 62);
    }
    ifn_engine_destroy(e);
}

static void test_engine_prefix_cache_reuses_blocks(void **state) {
    fixture *f = *state;
    if (!f) skip();
    static output cached[2], uncached[2];
    memset(cached, 0, sizeof cached);
    memset(uncached, 0, sizeof uncached);
    run_prefix_pair(f, 1, &cached[0], &cached[1]);
    run_prefix_pair(f, 0, &uncached[0], &uncached[1]);
    assert_int_equal(cached[1].n_tokens, 16);
    assert_memory_equal(cached[1].tokens, uncached[1].tokens, sizeof(int32_t) * 16);
    assert_memory_equal(cached[0].tokens, uncached[0].tokens, sizeof(int32_t) * 16);
    /* 62 full blocks (992 positions) of the shared 1000-token prefix come from the cache. */
    assert_int_equal(cached[1].usage.cached_prompt_tokens, 992);
    assert_int_equal(uncached[1].usage.cached_prompt_tokens, 0);
    print_message("time to first token: uncached %.2f ms, cached %.2f ms\n",
                  uncached[1].usage.ttft_seconds * 1e3, cached[1].usage.ttft_seconds * 1e3);
}

static void test_engine_n_samples_share_prompt(void **state) {
    fixture *f = *state;
    if (!f) skip();
    int32_t prompt[40];
    make_prompt(prompt, 40, 5);
    ifn_engine *e = make_engine(f, 512, 0, 512, 1);
    static output many[3], one[3];
    memset(many, 0, sizeof many);
    memset(one, 0, sizeof one);
    ifn_request r;
    ifn_request_init(&r);
    r.prompt = prompt;
    r.n_prompt = 40;
    r.sampling.temperature = 0.9f;
    r.sampling.max_tokens = 30;
    r.sampling.seed = 1000;
    r.sampling.has_seed = 1;
    r.sampling.ignore_eos = 1;
    r.n = 3;
    r.callbacks = (ifn_request_callbacks){on_token, on_finish, on_done, many, NULL};
    assert_int_equal(ifn_engine_submit(e, &r, NULL), IFN_OK);
    assert_true(ifn_engine_wait_idle(e, 60000));
    for (int i = 0; i < 3; i++) { /* sample i uses seed + i */
        r.n = 1;
        r.sampling.seed = 1000 + (uint64_t)i;
        r.callbacks.user = &one[i];
        assert_int_equal(ifn_engine_submit(e, &r, NULL), IFN_OK);
        assert_true(ifn_engine_wait_idle(e, 60000));
        assert_int_equal(many[i].n_tokens, 30);
        assert_memory_equal(many[i].tokens, one[i].tokens, sizeof(int32_t) * 30);
    }
    assert_true(many[0].done);
    assert_false(memcmp(many[0].tokens, many[1].tokens, sizeof(int32_t) * 30) == 0);
    ifn_engine_destroy(e);
}

static void test_engine_abort_and_cancel_free_blocks(void **state) {
    fixture *f = *state;
    if (!f) skip();
    int32_t prompt[64];
    make_prompt(prompt, 64, 11);
    ifn_engine *e = make_engine(f, 512, 0, 64, 1);
    static output outs[3];
    memset(outs, 0, sizeof outs);
    uint64_t id;
    submit(e, prompt, 64, 400, &outs[0], 1, &id);
    outs[1].cancel_after = 5;
    submit(e, prompt, 64, 400, &outs[1], 1, NULL);
    ifn_engine_abort(e, id);
    ifn_engine_abort(e, 987654); /* unknown ids are ignored */
    assert_true(ifn_engine_wait_idle(e, 60000));
    assert_true(outs[0].done && outs[1].done);
    assert_int_equal(outs[0].status, IFN_E_CANCELLED);
    assert_int_equal(outs[1].status, IFN_E_CANCELLED);
    assert_int_equal(outs[1].n_tokens, 5);
    ifn_engine_stats st;
    ifn_engine_get_stats(e, &st);
    assert_int_equal(st.kv_blocks_used, 0);
    assert_int_equal(st.n_running + st.n_waiting, 0);
    /* Invalid requests are refused up front with a message. */
    ifn_request r;
    ifn_request_init(&r);
    r.prompt = prompt;
    r.n_prompt = 0;
    assert_int_equal(ifn_engine_submit(e, &r, NULL), IFN_E_INVALID);
    int32_t bad = 99999;
    r.prompt = &bad;
    r.n_prompt = 1;
    assert_int_equal(ifn_engine_submit(e, &r, NULL), IFN_E_INVALID);
    assert_true(strlen(ifn_last_error()) > 0);
    ifn_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_batched_preempted_equals_alone),
        cmocka_unit_test(test_engine_batched_preempted_equals_alone_packed_q8_0),
        cmocka_unit_test(test_engine_prefix_cache_reuses_blocks),
        cmocka_unit_test(test_engine_n_samples_share_prompt),
        cmocka_unit_test(test_engine_abort_and_cancel_free_blocks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
