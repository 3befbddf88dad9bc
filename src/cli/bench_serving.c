/* `inferneo bench --concurrency`: like vLLM's throughput benchmark, but in-process. Each level
 * submits C requests with distinct random prompts of n_prompt tokens and n_gen new tokens
 * (EOS ignored), waits for all of them, and reports:
 *   avg_ts       generated tokens of all requests / wall time from first submit to last token
 *   ttft_ms      mean time from submit to first token
 *   tg_ts        generation-phase throughput: tokens after each request's first one, divided by
 *                the time from the last first token to the end (decode with all C running)
 *   kv_used_frac positions holding K/V / positions of the blocks in use, averaged over the
 *                steps where every sequence was running (internal fragmentation = 1 - this) */
#include "cli/bench_serving.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "engine/engine.h"
#include "util/alloc.h"
#include "util/rng.h"
#include "util/status.h"
#include "util/time.h"

#define BENCH_BLOCK_SIZE 16

typedef struct level_stats {
    atomic_int done;
    double ttft_sum;  /* written from the engine thread only */
    double ttft_max;
    int64_t tokens;
} level_stats;

static void on_finish(void *user, int32_t index, ifn_finish_reason reason, const char *text,
                      size_t len, const ifn_request_usage *usage) {
    (void)index, (void)reason, (void)text, (void)len;
    level_stats *s = user;
    s->ttft_sum += usage->ttft_seconds;
    if (usage->ttft_seconds > s->ttft_max) s->ttft_max = usage->ttft_seconds;
    s->tokens += usage->completion_tokens;
}

static void on_done(void *user, ifn_status status, const char *message) {
    (void)status, (void)message;
    atomic_fetch_add(&((level_stats *)user)->done, 1);
}

static ifn_status make_engine(ifn_model *model, const ifn_vocab *vocab,
                              const ifn_bench_serving_options *o, int32_t c, ifn_engine **out) {
    ifn_engine_params p = ifn_engine_params_default();
    p.n_threads = o->n_threads;
    p.n_ctx = o->n_prompt + o->n_gen + 1;
    p.max_num_seqs = c;
    p.block_size = BENCH_BLOCK_SIZE;
    p.exact = o->exact;
    p.enable_prefix_cache = 0; /* distinct prompts: nothing to share, measure the plain path */
    size_t per_pos = 2 * (size_t)ifn_model_hparams(model)->n_layer *
                     (size_t)ifn_model_hparams(model)->n_head_kv *
                     (size_t)ifn_model_hparams(model)->head_dim * 2;
    p.kv_cache_bytes = per_pos * (size_t)(p.n_ctx + p.block_size) * (size_t)c;
    return ifn_engine_create(model, vocab, &p, out);
}

/* Samples KV utilisation while the level runs; returns the mean over full-occupancy samples. */
static double watch_until_done(ifn_engine *e, level_stats *s, int32_t c) {
    double frac_sum = 0;
    int64_t n_samples = 0;
    while (atomic_load(&s->done) < c) {
        ifn_engine_stats st;
        ifn_engine_get_stats(e, &st);
        if (st.n_running == c && st.kv_blocks_used > 0) {
            frac_sum += (double)st.kv_tokens / ((double)st.kv_blocks_used * BENCH_BLOCK_SIZE);
            n_samples++;
        }
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    return n_samples ? frac_sum / (double)n_samples : 0.0;
}

static int run_level(ifn_model *model, const ifn_vocab *vocab, const ifn_bench_serving_options *o,
                     int32_t c) {
    ifn_engine *e = NULL;
    if (make_engine(model, vocab, o, c, &e) != IFN_OK) {
        fprintf(stderr, "inferneo bench: %s\n", ifn_last_error());
        return 1;
    }
    level_stats s = {0};
    int32_t *prompt = ifn_malloc(sizeof(int32_t) * (size_t)o->n_prompt);
    ifn_rng rng;
    ifn_rng_seed(&rng, 99);
    int64_t t0 = ifn_time_now_ns();
    int rc = prompt ? 0 : 1;
    for (int32_t i = 0; i < c && rc == 0; i++) {
        for (int32_t k = 0; k < o->n_prompt; k++)
            prompt[k] = (int32_t)(ifn_rng_next_u64(&rng) % (uint64_t)ifn_vocab_size(vocab));
        ifn_request r;
        ifn_request_init(&r);
        r.prompt = prompt;
        r.n_prompt = o->n_prompt;
        r.sampling.temperature = 0.0f;
        r.sampling.max_tokens = o->n_gen;
        r.sampling.ignore_eos = 1;
        r.callbacks = (ifn_request_callbacks){.on_finish = on_finish, .on_done = on_done, .user = &s};
        if (ifn_engine_submit(e, &r, NULL) != IFN_OK) {
            fprintf(stderr, "inferneo bench: %s\n", ifn_last_error());
            rc = 1;
            atomic_fetch_add(&s.done, c - i); /* nothing more will finish */
        }
    }
    double frac = watch_until_done(e, &s, c);
    double seconds = (double)(ifn_time_now_ns() - t0) / 1e9;
    ifn_engine_destroy(e);
    ifn_free(prompt);
    if (rc != 0) return rc;
    double avg_ts = (double)s.tokens / seconds, ttft_ms = s.ttft_sum / c * 1e3;
    double decode_s = seconds - s.ttft_max;
    double tg_ts = decode_s > 0 ? (double)(s.tokens - c) / decode_s : 0.0;
    if (o->json)
        printf("{\"model_filename\": \"%s\", \"concurrency\": %d, \"n_prompt\": %d, \"n_gen\": %d, "
               "\"n_threads\": %d, \"avg_ts\": %.3f, \"tg_ts\": %.3f, \"ttft_ms\": %.3f, "
               "\"kv_used_frac\": %.4f}\n",
               o->model_path, c, o->n_prompt, o->n_gen, o->n_threads, avg_ts, tg_ts, ttft_ms, frac);
    else
        printf("| %-11d | %6d | %6d | %12.2f | %12.2f | %10.1f | %12.3f |\n", c, o->n_prompt,
               o->n_gen, avg_ts, tg_ts, ttft_ms, frac);
    fflush(stdout);
    return 0;
}

int ifn_bench_serving_run(ifn_model *model, const ifn_vocab *vocab,
                          const ifn_bench_serving_options *o, const int32_t *levels,
                          int32_t n_levels) {
    if (!o->json)
        printf("| concurrency | prompt | gen    | t/s (total)  | t/s (decode) | ttft ms    | "
               "kv_used_frac |\n| ----------- | ------ | ------ | ------------ | ------------ | "
               "---------- | ------------ |\n");
    for (int32_t i = 0; i < n_levels; i++)
        if (run_level(model, vocab, o, levels[i]) != 0) return 1;
    return 0;
}
