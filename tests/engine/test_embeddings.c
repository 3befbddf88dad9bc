/* Embedding requests through the serving engine, on the real stories260K model:
 * 1. the vector is L2-normalised, differs between prompts, and is bit-identical alone, batched
 *    with concurrent generation requests, chunked by a small max_batched_tokens, and recomputed
 *    after preemption;
 * 2. it matches llama.cpp's llama-embedding (mean pooling, L2 norm) on the GGUF file within 1e-4
 *    per component (fixture tests/data/embeddings, exact mode with an F32 KV cache);
 * 3. aborts, timeouts and shutdown end an embedding request with one on_done and no vector;
 *    invalid embedding requests are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <time.h>

#include "engine/engine.h"
#include "engine/llm.h"
#include "support/llm_fixture.h"
#include "support/shared.h"

#define MAX_EMBD 256
#define MAX_IDS 64
#define REF_TOLERANCE 1e-4f

typedef struct embd_out {
    float values[MAX_EMBD];
    int32_t n_values;
    int n_embedding_calls;
    int n_done_calls;
    int n_other_calls; /* on_token / on_finish: must stay 0 */
    ifn_status status;
    ifn_request_usage usage;
} embd_out;

typedef struct gen_out {
    int32_t n_tokens;
    int done;
} gen_out;

static int embd_on_token(void *user, int32_t index, int32_t token, const char *text, size_t len,
                         const ifn_sampler_logprobs *lp) {
    (void)index, (void)token, (void)text, (void)len, (void)lp;
    ((embd_out *)user)->n_other_calls++;
    return 0;
}

static void embd_on_finish(void *user, int32_t index, ifn_finish_reason reason, const char *text,
                           size_t len, const ifn_request_usage *usage) {
    (void)index, (void)reason, (void)text, (void)len, (void)usage;
    ((embd_out *)user)->n_other_calls++;
}

static void embd_on_embedding(void *user, const float *values, int32_t n_values,
                              const ifn_request_usage *usage) {
    embd_out *o = user;
    o->n_embedding_calls++;
    o->n_values = n_values;
    if (n_values > 0 && n_values <= MAX_EMBD)
        memcpy(o->values, values, sizeof(float) * (size_t)n_values);
    o->usage = *usage;
}

static void embd_on_done(void *user, ifn_status status, const char *message) {
    (void)message;
    embd_out *o = user;
    o->n_done_calls++;
    o->status = status;
}

static int gen_on_token(void *user, int32_t index, int32_t token, const char *text, size_t len,
                        const ifn_sampler_logprobs *lp) {
    (void)index, (void)token, (void)text, (void)len, (void)lp;
    ((gen_out *)user)->n_tokens++;
    return 0;
}

static void gen_on_done(void *user, ifn_status status, const char *message) {
    (void)status, (void)message;
    ((gen_out *)user)->done = 1;
}


static ifn_engine *make_engine(const ifn_llm *llm, int32_t n_ctx, size_t kv_bytes,
                               int32_t max_tokens, int exact) {
    ifn_engine_params p = ifn_engine_params_default();
    p.n_threads = 2;
    p.n_ctx = n_ctx;
    p.kv_cache_bytes = kv_bytes;
    p.max_batched_tokens = max_tokens;
    p.exact = exact;
    if (exact) p.kv_type = IFN_DTYPE_F32;
    ifn_engine *e = NULL;
    assert_int_equal(ifn_engine_create((ifn_model *)ifn_llm_model(llm), ifn_llm_vocab(llm), &p, &e),
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

static ifn_request embedding_request(const int32_t *prompt, int32_t n_prompt, embd_out *out) {
    ifn_request r;
    ifn_request_init(&r);
    r.prompt = prompt;
    r.n_prompt = n_prompt;
    r.embedding = 1;
    r.callbacks = (ifn_request_callbacks){embd_on_token, embd_on_finish, embd_on_done, out,
                                          embd_on_embedding};
    return r;
}

static void submit_embedding(ifn_engine *e, const int32_t *prompt, int32_t n_prompt,
                             embd_out *out, int32_t priority, uint64_t *out_id) {
    ifn_request r = embedding_request(prompt, n_prompt, out);
    r.priority = priority;
    assert_int_equal(ifn_engine_submit(e, &r, out_id), IFN_OK);
}

static void submit_generation(ifn_engine *e, const int32_t *prompt, int32_t n_prompt,
                              int32_t max_tokens, gen_out *out) {
    ifn_request r;
    ifn_request_init(&r);
    r.prompt = prompt;
    r.n_prompt = n_prompt;
    r.sampling.temperature = 0.0f;
    r.sampling.max_tokens = max_tokens;
    r.sampling.ignore_eos = 1;
    r.callbacks = (ifn_request_callbacks){gen_on_token, NULL, gen_on_done, out, NULL};
    assert_int_equal(ifn_engine_submit(e, &r, NULL), IFN_OK);
}

/* A finished embedding: one vector and one on_done(IFN_OK), no generation callbacks. */
static void assert_embedded(const embd_out *o, int32_t n_prompt) {
    assert_int_equal(o->n_done_calls, 1);
    assert_int_equal(o->status, IFN_OK);
    assert_int_equal(o->n_embedding_calls, 1);
    assert_int_equal(o->n_other_calls, 0);
    assert_int_equal(o->n_values, 64);
    assert_int_equal(o->usage.prompt_tokens, n_prompt);
    assert_int_equal(o->usage.completion_tokens, 0);
}

static void assert_kv_released(ifn_engine *e) {
    ifn_engine_stats st;
    ifn_engine_get_stats(e, &st);
    assert_int_equal(st.kv_blocks_used, 0);
    assert_int_equal(st.n_running + st.n_waiting, 0);
}

static void test_embeddings_unit_norm_and_distinct(void **state) {
    fixture *f = *state;
    if (!f) skip();
    int32_t a[40], b[40];
    make_prompt(a, 40, 3);
    make_prompt(b, 40, 4);
    ifn_engine *e = make_engine(f->llm, 512, 0, 512, 0);
    static embd_out out_a, out_b;
    memset(&out_a, 0, sizeof out_a);
    memset(&out_b, 0, sizeof out_b);
    submit_embedding(e, a, 40, &out_a, 0, NULL);
    submit_embedding(e, b, 40, &out_b, 0, NULL);
    assert_true(ifn_engine_wait_idle(e, 60000));
    assert_embedded(&out_a, 40);
    assert_embedded(&out_b, 40);
    double norm_a = 0, norm_b = 0, dot = 0;
    for (int i = 0; i < 64; i++) {
        norm_a += (double)out_a.values[i] * out_a.values[i];
        norm_b += (double)out_b.values[i] * out_b.values[i];
        dot += (double)out_a.values[i] * out_b.values[i];
    }
    print_message("|a|^2 %.9f |b|^2 %.9f cos(a, b) %.6f\n", norm_a, norm_b, dot);
    assert_true(fabs(norm_a - 1.0) < 1e-5 && fabs(norm_b - 1.0) < 1e-5);
    assert_true(dot < 0.999); /* different prompts, clearly different directions */
    assert_kv_released(e);
    ifn_engine_destroy(e);
}

/* The same 150-token prompt embedded alone, amid generation requests, in 7-token chunks, and
 * preempted (lowest priority on a small cache) gives the same bits every time. */
static void test_embeddings_batch_invariant(void **state) {
    fixture *f = *state;
    if (!f) skip();
    static int32_t prompt[150], gen_prompts[4][60];
    make_prompt(prompt, 150, 77);
    for (int i = 0; i < 4; i++) make_prompt(gen_prompts[i], 60, 100 + (uint32_t)i);
    static embd_out alone, batched, chunked, preempted;
    static gen_out gens[8];
    memset(&alone, 0, sizeof alone);
    memset(&batched, 0, sizeof batched);
    memset(&chunked, 0, sizeof chunked);
    memset(&preempted, 0, sizeof preempted);
    memset(gens, 0, sizeof gens);

    ifn_engine *e = make_engine(f->llm, 512, 0, 512, 0);
    submit_embedding(e, prompt, 150, &alone, 0, NULL);
    assert_true(ifn_engine_wait_idle(e, 60000));
    for (int i = 0; i < 4; i++) submit_generation(e, gen_prompts[i], 20 + 10 * i, 40, &gens[i]);
    nanosleep(&(struct timespec){0, 1000000}, NULL); /* let them start decoding */
    /* The first run left the prompt's full blocks in the prefix cache: reusing them would skip
     * positions of the mean, so this also checks embeddings bypass the cache. */
    submit_embedding(e, prompt, 150, &batched, 0, NULL);
    assert_true(ifn_engine_wait_idle(e, 60000));
    assert_kv_released(e);
    ifn_engine_destroy(e);

    e = make_engine(f->llm, 512, 0, 7, 0);
    submit_embedding(e, prompt, 150, &chunked, 0, NULL);
    assert_true(ifn_engine_wait_idle(e, 60000));
    ifn_engine_destroy(e);

    /* 32 blocks of 16 positions cannot hold four growing 260-position generations and the
     * embedding, which has the lowest priority and so is preempted first. */
    e = make_engine(f->llm, 512, (size_t)32 * 16 * 2 * 5 * 32 * 2, 8, 0);
    for (int i = 0; i < 4; i++) submit_generation(e, gen_prompts[i], 60, 200, &gens[4 + i]);
    submit_embedding(e, prompt, 150, &preempted, 5, NULL);
    assert_true(ifn_engine_wait_idle(e, 120000));
    ifn_engine_stats st;
    ifn_engine_get_stats(e, &st);
    print_message("preemptions %lld\n", (long long)st.preemptions);
    assert_true(st.preemptions > 0);
    assert_kv_released(e);
    ifn_engine_destroy(e);

    for (int i = 0; i < 8; i++) assert_true(gens[i].done);
    assert_embedded(&alone, 150);
    assert_embedded(&batched, 150);
    assert_embedded(&chunked, 150);
    assert_embedded(&preempted, 150);
    assert_memory_equal(alone.values, batched.values, sizeof(float) * 64);
    assert_memory_equal(alone.values, chunked.values, sizeof(float) * 64);
    assert_memory_equal(alone.values, preempted.values, sizeof(float) * 64);
}

/* One prompt block of the llama.cpp fixture. */
typedef struct ref_prompt {
    char text[256];
    int32_t ids[MAX_IDS];
    int32_t n_ids;
    float values[MAX_EMBD];
    int32_t n_values;
} ref_prompt;

/* Parses the "text:", "ids:", "embedding:" lines of the fixture; returns the prompt count. */
static int read_reference(const char *path, ref_prompt *refs, int max_refs) {
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    static char line[16384];
    int n = -1;
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "text: ", 6) == 0 && n + 1 < max_refs) {
            memset(&refs[++n], 0, sizeof refs[0]);
            size_t len = strcspn(line + 6, "\n");
            len = len < sizeof refs[n].text - 1 ? len : sizeof refs[n].text - 1;
            memcpy(refs[n].text, line + 6, len); /* NUL: the block was zeroed */
            continue;
        }
        int is_ids = strncmp(line, "ids: ", 5) == 0;
        if (n < 0 || (!is_ids && strncmp(line, "embedding: ", 11) != 0)) continue;
        char *p = line + (is_ids ? 5 : 11), *end;
        for (;;) {
            double v = strtod(p, &end);
            if (end == p) break;
            if (is_ids && refs[n].n_ids < MAX_IDS) refs[n].ids[refs[n].n_ids++] = (int32_t)v;
            if (!is_ids && refs[n].n_values < MAX_EMBD)
                refs[n].values[refs[n].n_values++] = (float)v;
            p = end;
        }
    }
    fclose(fp);
    return n + 1;
}

static void test_embeddings_match_llama_cpp(void **state) {
    (void)state;
    const char *model = shared_path("models/stories260K/stories260Ktok512.gguf");
    const char *src = getenv("IFN_SOURCE_DIR");
    if (!model || !src) skip();
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/embeddings/stories260K_mean_l2.txt", src);
    static ref_prompt refs[4];
    int n_refs = read_reference(path, refs, 4);
    assert_int_equal(n_refs, 2);
    ifn_llm_params lp = ifn_llm_params_default();
    lp.model_path = model;
    lp.n_ctx = 1;
    ifn_llm *llm = NULL;
    assert_int_equal(ifn_llm_load(&lp, &llm), IFN_OK);
    ifn_engine *e = make_engine(llm, 128, 0, 512, 1);
    static embd_out outs[4];
    memset(outs, 0, sizeof outs);
    for (int i = 0; i < n_refs; i++) {
        int32_t *ids = NULL;
        size_t n_ids = 0;
        /* add_special puts BOS first, as llama-embedding's tokenizer call does */
        assert_int_equal(ifn_llm_tokenize(llm, refs[i].text, strlen(refs[i].text), 1, 0, &ids,
                                          &n_ids),
                         IFN_OK);
        assert_int_equal((int32_t)n_ids, refs[i].n_ids);
        assert_memory_equal(ids, refs[i].ids, sizeof(int32_t) * n_ids);
        submit_embedding(e, ids, (int32_t)n_ids, &outs[i], 0, NULL);
        ifn_llm_free(ids);
    }
    assert_true(ifn_engine_wait_idle(e, 60000));
    for (int i = 0; i < n_refs; i++) {
        assert_embedded(&outs[i], refs[i].n_ids);
        assert_int_equal(refs[i].n_values, outs[i].n_values);
        float worst = 0.0f;
        for (int32_t k = 0; k < refs[i].n_values; k++) {
            float diff = fabsf(outs[i].values[k] - refs[i].values[k]);
            worst = diff > worst ? diff : worst;
        }
        print_message("\"%s\": max |engine - llama.cpp| = %.3g\n", refs[i].text, (double)worst);
        assert_true(worst <= REF_TOLERANCE);
    }
    ifn_engine_destroy(e);
    ifn_llm_destroy(llm);
}

/* Aborted, timed-out and shut-down embeddings report on_done once with a cancel status and no
 * vector; invalid ones are refused at submit. Prompts of 500 tokens in 1-token steps leave
 * hundreds of steps for the abort to land in. */
static void test_embeddings_abort_timeout_shutdown(void **state) {
    fixture *f = *state;
    if (!f) skip();
    static int32_t prompt[512];
    make_prompt(prompt, 511, 9);
    static embd_out aborted, timed_out, shut_down, full_context;
    memset(&aborted, 0, sizeof aborted);
    memset(&timed_out, 0, sizeof timed_out);
    memset(&shut_down, 0, sizeof shut_down);
    memset(&full_context, 0, sizeof full_context);
    ifn_engine *e = make_engine(f->llm, 512, 0, 1, 0);
    uint64_t id = 0;
    submit_embedding(e, prompt, 500, &aborted, 0, &id);
    ifn_engine_abort(e, id);
    ifn_request r = embedding_request(prompt, 500, &timed_out);
    r.timeout_ms = 1;
    assert_int_equal(ifn_engine_submit(e, &r, NULL), IFN_OK);
    assert_true(ifn_engine_wait_idle(e, 60000));
    assert_int_equal(aborted.n_done_calls, 1);
    assert_int_equal(aborted.status, IFN_E_CANCELLED);
    assert_int_equal(timed_out.n_done_calls, 1);
    assert_int_equal(timed_out.status, IFN_E_TIMEOUT);
    assert_int_equal(aborted.n_embedding_calls + timed_out.n_embedding_calls, 0);
    assert_int_equal(aborted.n_other_calls + timed_out.n_other_calls, 0);
    assert_kv_released(e);

    /* The longest valid prompt is n_ctx - 1 tokens; n_ctx tokens or n > 1 are refused. */
    r = embedding_request(prompt, 512, &full_context);
    assert_int_equal(ifn_engine_submit(e, &r, NULL), IFN_E_INVALID);
    r = embedding_request(prompt, 10, &full_context);
    r.n = 2;
    assert_int_equal(ifn_engine_submit(e, &r, NULL), IFN_E_INVALID);
    assert_true(strlen(ifn_last_error()) > 0);
    ifn_engine_destroy(e);

    e = make_engine(f->llm, 512, 0, 512, 0);
    submit_embedding(e, prompt, 511, &full_context, 0, NULL);
    assert_true(ifn_engine_wait_idle(e, 60000));
    assert_embedded(&full_context, 511);
    ifn_engine_destroy(e);

    e = make_engine(f->llm, 512, 0, 1, 0);
    submit_embedding(e, prompt, 500, &shut_down, 0, NULL);
    ifn_engine_destroy(e);
    assert_int_equal(shut_down.n_done_calls, 1);
    assert_int_equal(shut_down.status, IFN_E_CANCELLED);
    assert_int_equal(shut_down.n_embedding_calls, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embeddings_unit_norm_and_distinct),
        cmocka_unit_test(test_embeddings_batch_invariant),
        cmocka_unit_test(test_embeddings_match_llama_cpp),
        cmocka_unit_test(test_embeddings_abort_timeout_shutdown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
