/* Footprint estimates are upper bounds of what serving a model allocates: for a llama2.c
 * checkpoint, GGUF F32/F16/Q8_0 models, a 32000-token vocabulary and small and large batch
 * settings, the allocator's live bytes after loading and at the peak of max_num_seqs concurrent
 * requests stay under the estimate's heap part (KV + scratch, plus the weights when they are
 * converted rather than mapped); the KV part equals what the engine gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manager/footprint.h"
#include "manager/repo_fixture.h"
#include "util/alloc.h"

typedef struct peak_probe {
    fx_output out;
    size_t *peak;
} peak_probe;

static int probe_token(void *user, int32_t index, int32_t token, const char *text, size_t len,
                       const ifn_sampler_logprobs *lp) {
    peak_probe *p = user;
    size_t live = ifn_alloc_live_bytes();
    if (live > *p->peak) *p->peak = live; /* engine thread only: no race on the peak */
    return fx_on_token(&p->out, index, token, text, len, lp);
}

static void probe_done(void *user, ifn_status status, const char *message) {
    fx_on_done(&((peak_probe *)user)->out, status, message);
}

/* Runs max_num_seqs requests at once (penalties and logprobs on: the biggest sampler state). */
static void run_full_batch(ifn_served_model *model, int32_t n_seqs, size_t *peak) {
    static peak_probe probes[64];
    int32_t prompt[40];
    for (int32_t i = 0; i < 40; i++)
        prompt[i] = 1 + (i * 37) % 500;
    for (int32_t i = 0; i < n_seqs; i++) {
        fx_output_init(&probes[i].out);
        probes[i].peak = peak;
        ifn_request r;
        ifn_request_init(&r);
        r.prompt = prompt;
        r.n_prompt = 8 + i % 32;
        r.sampling.temperature = 0.8f;
        r.sampling.repetition_penalty = 1.1f;
        r.sampling.presence_penalty = 0.5f;
        r.sampling.max_tokens = 24;
        r.sampling.ignore_eos = 1;
        r.top_logprobs = 5;
        r.callbacks = (ifn_request_callbacks){probe_token, NULL, probe_done, &probes[i], NULL};
        assert_int_equal(ifn_engine_submit(model->engine, &r, NULL), IFN_OK);
    }
    for (int32_t i = 0; i < n_seqs; i++) {
        fx_wait_done(&probes[i].out);
        fx_output_deinit(&probes[i].out);
    }
}

static void check_model(const char *model_path, const char *tok_path, int weights_on_heap,
                        int32_t n_seqs, int32_t batch, ifn_dtype kv_type) {
    ifn_served_model_params p = ifn_served_model_params_default();
    p.model_path = model_path;
    p.tokenizer_path = tok_path;
    p.engine.n_threads = 2;
    p.engine.max_num_seqs = n_seqs;
    p.engine.max_batched_tokens = batch;
    p.engine.kv_type = kv_type;
    ifn_footprint fp;
    assert_int_equal(ifn_footprint_estimate(model_path, tok_path, &p.engine, 64u << 20, &fp),
                     IFN_OK);
    assert_int_equal(fp.total_bytes, fp.weights_bytes + fp.kv_bytes + fp.scratch_bytes);
    p.engine.kv_cache_bytes = fp.kv_bytes;
    p.engine.n_ctx = fp.n_ctx;
    size_t before = ifn_alloc_live_bytes();
    ifn_served_model *model = NULL;
    assert_int_equal(ifn_served_model_load(&p, &model), IFN_OK);
    assert_int_equal(model->n_ctx, fp.n_ctx);
    size_t heap_estimate =
        fp.kv_bytes + fp.scratch_bytes + (weights_on_heap ? fp.weights_bytes : 0);
    size_t loaded = ifn_alloc_live_bytes() - before, peak = 0;
    run_full_batch(model, n_seqs, &peak);
    size_t peak_growth = peak > before ? peak - before : 0;
    print_message("%-28s seqs %2d batch %3d: heap after load %8zu, peak %8zu, estimate %8zu "
                  "(kv %zu, scratch %zu, weights %zu)\n",
                  strrchr(model_path, '/') + 1, n_seqs, batch, loaded, peak_growth, heap_estimate,
                  fp.kv_bytes, fp.scratch_bytes, fp.weights_bytes);
    assert_true(loaded <= heap_estimate);
    assert_true(peak_growth <= heap_estimate);
    /* not wildly pessimistic either: within 4x of the peak plus the fixed allowance */
    assert_true(heap_estimate <= 4 * peak_growth + (1u << 20));
    ifn_served_model_destroy(model);
    assert_int_equal(ifn_alloc_live_bytes(), before);
}

static void test_footprint_bounds_what_serving_allocates(void **state) {
    (void)state;
    const char *bin = shared_path("models/stories260K/stories260K.bin");
    const char *q8 = shared_path("models/fixtures/stories260K_q8_0.gguf");
    const char *tok = shared_path("models/stories260K/tok512.bin");
    const char *gguf = shared_path("models/stories260K/stories260Ktok512.gguf");
    const char *big_vocab = shared_path("models/llama-2-tiny-random/llama-2-tiny-random.gguf");
    if (!bin || !q8 || !tok || !gguf || !big_vocab) skip();
    check_model(bin, tok, 0, 4, 64, IFN_DTYPE_F32);
    check_model(bin, tok, 0, 64, 512, IFN_DTYPE_F16);
    check_model(q8, NULL, 0, 8, 128, IFN_DTYPE_F16);
    check_model(gguf, NULL, 0, 16, 512, IFN_DTYPE_F32);
    check_model(big_vocab, NULL, 0, 8, 256, IFN_DTYPE_F16);
    char dir[256];
    fx_mkdtemp(dir);
    if (fx_synth(dir, "rnd.gguf", 7)) {
        char path[512];
        snprintf(path, sizeof path, "%s/rnd.gguf", dir);
        check_model(path, NULL, 0, 32, 512, IFN_DTYPE_F16);
    }
    fx_rm_rf(dir);
}

static void test_footprint_kv_follows_engine_rules(void **state) {
    (void)state;
    const char *bin = shared_path("models/stories260K/stories260K.bin");
    const char *tok = shared_path("models/stories260K/tok512.bin");
    if (!bin || !tok) skip();
    ifn_engine_params ep = ifn_engine_params_default();
    ep.n_threads = 1;
    ifn_footprint fp;
    /* stories260K: 5 layers, kv_dim 32, context 512: F16 K+V = 640 bytes per position */
    assert_int_equal(ifn_footprint_estimate(bin, tok, &ep, SIZE_MAX, &fp), IFN_OK);
    assert_int_equal(fp.n_ctx, 512);
    assert_int_equal(fp.kv_bytes, (size_t)640 * 512 * 64);
    assert_int_equal(fp.weights_bytes, 1056540);
    assert_int_equal(ifn_footprint_estimate(bin, tok, &ep, 1000000, &fp), IFN_OK);
    assert_int_equal(fp.kv_bytes, 1000000); /* capped like the engine's quarter of RAM */
    ep.kv_cache_bytes = 12345;
    ep.n_ctx = 100;
    assert_int_equal(ifn_footprint_estimate(bin, tok, &ep, 1000000, &fp), IFN_OK);
    assert_int_equal(fp.kv_bytes, 12345);
    assert_int_equal(fp.n_ctx, 100);
    assert_int_equal(ifn_footprint_estimate(tok, NULL, &ep, 1000000, &fp), IFN_E_FORMAT);
    assert_int_equal(ifn_footprint_estimate("/nonexistent/model.gguf", NULL, &ep, 0, &fp),
                     IFN_E_IO);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_footprint_bounds_what_serving_allocates),
        cmocka_unit_test(test_footprint_kv_follows_engine_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
