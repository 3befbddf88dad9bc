/* `inferneo bench`: prompt processing (pp) and generation (tg) speed, like llama-bench: random
 * tokens, one warm-up run, then REPS timed runs reported as mean +- stddev tokens/s, plus the
 * effective memory bandwidth of generation (weight bytes read per token x tokens/s).
 * `--json` prints one object per test with llama-bench's key names. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/bench_serving.h"
#include "cli/commands.h"
#include "engine/forward.h"
#include "engine/llm.h"
#include "model/model.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/status.h"
#include "util/time.h"

#define MAX_LEVELS 16

typedef struct bench_options {
    const char *model_path;
    const char *tokenizer_path;
    int32_t n_prompt, n_gen, n_threads, reps;
    int json, exact;
    int32_t levels[MAX_LEVELS]; /* --concurrency list; 0 entries = single-sequence tests */
    int32_t n_levels;
} bench_options;

typedef struct bench_result {
    double avg_ts, stddev_ts;
} bench_result;

static void print_bench_usage(FILE *out) {
    fprintf(out,
            "usage: inferneo bench -m MODEL [-p 512] [-n 128] [-t N] [-r REPS] [--json] [--exact]\n"
            "       inferneo bench -m MODEL [-z TOKENIZER] --concurrency 1,4,16,64 [-p P] [-n N]\n"
            "\n"
            "Measures prompt processing (ppP: P random tokens in one batch) and generation\n"
            "(tgN: N tokens one at a time) in tokens/s, mean +- stddev over REPS runs after one\n"
            "warm-up. Generation also reports GB/s of weights read. -p 0 or -n 0 skips a test.\n"
            "  -t N      compute threads (default: physical cores)\n"
            "  -r REPS   repetitions (default 5)\n"
            "  --json    one JSON object per test (llama-bench key names)\n"
            "  --exact   float32 activations with exactly decoded weights (default: 8-bit blocks)\n"
            "  --concurrency LIST  run that many sequences at once through the scheduler, per\n"
            "            level: aggregate generated tokens/s, mean time to first token and the\n"
            "            share of allocated KV slots holding tokens (kv_used_frac)\n"
            "  -z PATH   llama2.c tokenizer.bin (for --concurrency with llama2.c checkpoints)\n");
}

/* "1,4,16,64" -> levels. */
static ifn_status parse_levels(const char *text, bench_options *o) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    o->n_levels = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int64_t c;
        if (o->n_levels == MAX_LEVELS) return ifn_fail(IFN_E_INVALID, "--concurrency: too many levels");
        ifn_status st = ifn_args_int("--concurrency", tok, 1, 1024, &c);
        if (st != IFN_OK) return st;
        o->levels[o->n_levels++] = (int32_t)c;
    }
    return o->n_levels ? IFN_OK : ifn_fail(IFN_E_INVALID, "--concurrency needs a list like 1,4,16");
}

static ifn_status parse_bench_options(int argc, char **argv, bench_options *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int64_t n = 0;
        ifn_status st = IFN_OK;
        if (ifn_args_is(a, "-m", "--model")) st = ifn_args_value(argc, argv, &i, &o->model_path);
        else if (ifn_args_is(a, NULL, "--json")) o->json = 1;
        else if (ifn_args_is(a, NULL, "--exact")) o->exact = 1;
        else if (ifn_args_is(a, "-z", "--tokenizer")) st = ifn_args_value(argc, argv, &i, &o->tokenizer_path);
        else if (ifn_args_is(a, NULL, "--concurrency")) {
            if ((st = ifn_args_value(argc, argv, &i, &v)) == IFN_OK) st = parse_levels(v, o);
        }
        else if (ifn_args_is(a, "-p", "-n") || ifn_args_is(a, "-t", "-r")) {
            int64_t max = a[1] == 't' ? 512 : 1 << 20;
            if ((st = ifn_args_value(argc, argv, &i, &v)) == IFN_OK &&
                (st = ifn_args_int(a, v, a[1] == 'r' ? 1 : 0, max, &n)) == IFN_OK) {
                if (a[1] == 'p') o->n_prompt = (int32_t)n;
                if (a[1] == 'n') o->n_gen = (int32_t)n;
                if (a[1] == 't') o->n_threads = (int32_t)n;
                if (a[1] == 'r') o->reps = (int32_t)n;
            }
        } else st = ifn_fail(IFN_E_INVALID, "unknown option '%s'", a);
        if (st != IFN_OK) return st;
    }
    if (!o->model_path) return ifn_fail(IFN_E_INVALID, "-m MODEL is required");
    return IFN_OK;
}

/* Bytes of weights a decode step reads: every layer matrix and norm, the output norm and the
 * classifier; of the embedding table only one row. */
static double weight_bytes_per_token(const ifn_model *m) {
    const ifn_hparams *hp = ifn_model_hparams(m);
    double bytes = 0;
    for (int32_t il = 0; il < hp->n_layer; il++) {
        const ifn_layer_weights *l = ifn_model_layer(m, il);
        const ifn_weight *ws[] = {&l->attn_norm, &l->wq, &l->wk, &l->wv, &l->wo, &l->ffn_norm,
                                  &l->w_gate, &l->w_up, &l->w_down};
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
            bytes += (double)ws[i]->row_bytes * (double)ws[i]->n_rows;
    }
    const ifn_weight *out = ifn_model_output(m);
    bytes += (double)out->row_bytes * (double)out->n_rows;
    bytes += (double)ifn_model_tok_embd(m)->row_bytes;
    return bytes + (double)hp->n_embd * sizeof(float);
}

/* One timed run: pp evaluates n tokens as one batch; tg evaluates them one at a time. */
static ifn_status time_run(ifn_forward *fwd, const int32_t *tokens, int32_t n, int is_pp,
                           float *logits, double *out_seconds) {
    int64_t t0 = ifn_time_now_ns();
    ifn_status st = IFN_OK;
    if (is_pp) st = ifn_forward_eval(fwd, tokens, n, 0, logits, 0);
    for (int32_t i = 0; !is_pp && i < n && st == IFN_OK; i++)
        st = ifn_forward_eval(fwd, &tokens[i], 1, i, logits, 0);
    *out_seconds = (double)(ifn_time_now_ns() - t0) / 1e9;
    return st;
}

static ifn_status run_test(ifn_forward *fwd, const bench_options *o, int32_t n, int is_pp,
                           bench_result *res) {
    int32_t n_vocab = ifn_forward_n_vocab(fwd);
    int32_t *tokens = ifn_malloc(sizeof(int32_t) * (size_t)n);
    float *logits = ifn_malloc(sizeof(float) * (size_t)n_vocab);
    double *ts = ifn_malloc(sizeof(double) * (size_t)o->reps);
    ifn_status st = tokens && logits && ts ? IFN_OK : ifn_fail(IFN_E_NOMEM, "bench: no memory");
    ifn_rng rng;
    ifn_rng_seed(&rng, 1234);
    for (int32_t i = 0; st == IFN_OK && i < n; i++)
        tokens[i] = (int32_t)(ifn_rng_next_u64(&rng) % (uint64_t)n_vocab);
    double seconds = 0, sum = 0, sum_sq = 0;
    if (st == IFN_OK) st = time_run(fwd, tokens, n, is_pp, logits, &seconds); /* warm-up */
    for (int32_t r = 0; st == IFN_OK && r < o->reps; r++) {
        st = time_run(fwd, tokens, n, is_pp, logits, &seconds);
        ts[r] = n / seconds;
        sum += ts[r];
    }
    if (st == IFN_OK) {
        res->avg_ts = sum / o->reps;
        for (int32_t r = 0; r < o->reps; r++) sum_sq += (ts[r] - res->avg_ts) * (ts[r] - res->avg_ts);
        res->stddev_ts = o->reps > 1 ? sqrt(sum_sq / (o->reps - 1)) : 0.0;
    }
    ifn_free(tokens);
    ifn_free(logits);
    ifn_free(ts);
    return st;
}

static void report(const bench_options *o, const ifn_model *m, int n_threads, int32_t n, int is_pp,
                   const bench_result *r) {
    char test[32];
    snprintf(test, sizeof test, "%s%d", is_pp ? "pp" : "tg", n);
    double gbps = is_pp ? 0.0 : weight_bytes_per_token(m) * r->avg_ts / 1e9;
    if (o->json) {
        printf("{\"model_filename\": \"%s\", \"test\": \"%s\", \"n_prompt\": %d, \"n_gen\": %d, "
               "\"n_threads\": %d, \"avg_ts\": %.3f, \"stddev_ts\": %.3f",
               o->model_path, test, is_pp ? n : 0, is_pp ? 0 : n, n_threads, r->avg_ts, r->stddev_ts);
        if (!is_pp) printf(", \"gbps\": %.3f", gbps);
        printf("}\n");
        return;
    }
    printf("| %-40s | %8.2f MB | %7d | %-6s | %9.2f ± %-7.2f | ", o->model_path,
           (double)ifn_model_weight_bytes(m) / 1e6, n_threads, test, r->avg_ts, r->stddev_ts);
    if (is_pp) printf("%7s |\n", "");
    else printf("%7.2f |\n", gbps);
}

static int run_benchmarks(const bench_options *o, ifn_model *model, ifn_pool *pool) {
    const int32_t tests[2] = {o->n_prompt, o->n_gen};
    if (!o->json)
        printf("| %-40s | %11s | %7s | %-6s | %19s | %7s |\n| %.40s | %.11s | %.7s | %.6s | %.19s "
               "| %.7s |\n",
               "model", "size", "threads", "test", "t/s", "GB/s", "-----------------------------"
               "-----------", "-----------", "-------", "------", "-------------------", "-------");
    for (int k = 0; k < 2; k++) {
        if (tests[k] <= 0) continue;
        ifn_forward_params fp = ifn_forward_params_default();
        fp.n_ctx = tests[k];
        fp.max_batch = k == 0 ? (tests[k] < 512 ? tests[k] : 512) : 1;
        fp.pool = pool;
        fp.exact = o->exact;
        ifn_forward *fwd = NULL;
        bench_result r;
        ifn_status st = ifn_forward_create(model, &fp, &fwd);
        if (st == IFN_OK) st = run_test(fwd, o, tests[k], k == 0, &r);
        ifn_forward_destroy(fwd);
        if (st != IFN_OK) {
            fprintf(stderr, "inferneo bench: %s\n", ifn_last_error());
            return 1;
        }
        report(o, model, ifn_pool_size(pool), tests[k], k == 0, &r);
        fflush(stdout);
    }
    return 0;
}

static int run_serving(const bench_options *o) {
    ifn_llm_params lp = ifn_llm_params_default();
    lp.model_path = o->model_path;
    lp.tokenizer_path = o->tokenizer_path;
    lp.n_ctx = 1;
    lp.n_threads = 1;
    ifn_llm *llm = NULL;
    if (ifn_llm_load(&lp, &llm) != IFN_OK) {
        fprintf(stderr, "inferneo: %s\n", ifn_last_error());
        return 1;
    }
    ifn_bench_serving_options so = {o->n_prompt > 0 ? o->n_prompt : 1, o->n_gen > 0 ? o->n_gen : 1,
                                    o->n_threads > 0 ? o->n_threads : ifn_pool_physical_cores(),
                                    o->exact, o->json, o->model_path};
    int rc = ifn_bench_serving_run((ifn_model *)ifn_llm_model(llm), ifn_llm_vocab(llm), &so,
                                   o->levels, o->n_levels);
    ifn_llm_destroy(llm);
    return rc;
}

int ifn_cmd_bench_main(int argc, char **argv) {
    if (ifn_args_wants_help(argc, argv)) {
        print_bench_usage(stdout);
        return 0;
    }
    ifn_log_set_level(IFN_LOG_LEVEL_WARN);
    bench_options o = {.n_prompt = 512, .n_gen = 128, .reps = 5};
    if (parse_bench_options(argc, argv, &o) != IFN_OK) {
        fprintf(stderr, "inferneo bench: %s\n", ifn_last_error());
        print_bench_usage(stderr);
        return 2;
    }
    if (o.n_levels > 0) return run_serving(&o);
    ifn_model *model = NULL;
    ifn_pool *pool = NULL;
    int rc = 1;
    if (ifn_model_load(o.model_path, &model) != IFN_OK ||
        ifn_pool_create(o.n_threads, &pool) != IFN_OK)
        fprintf(stderr, "inferneo: %s\n", ifn_last_error());
    else
        rc = run_benchmarks(&o, model, pool);
    ifn_pool_destroy(pool);
    ifn_model_release(model);
    return rc;
}
