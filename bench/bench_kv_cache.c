/* Paged KV cache bookkeeping costs (no attention math): block alloc/release, prefix lookups,
 * chain hashing, match_prefix over a long cached prompt, and reserve+commit per decoded token.
 * Each case prints its median over repetitions, per operation, with a throughput.
 * usage: bench_kv_cache [reps] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/block_table.h"
#include "engine/kv_cache.h"
#include "util/time.h"

#define N_BLOCKS 4096
#define BLOCK_SIZE 16
#define PROMPT_LEN 4000
#define MAX_REPS 101

typedef double (*bench_fn)(ifn_kv_cache *cache, const int32_t *tokens);

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median nanoseconds per operation; each call of fn returns its own ns per op. */
static double median_ns(bench_fn fn, ifn_kv_cache *cache, const int32_t *tokens, int reps) {
    double samples[MAX_REPS];
    for (int r = 0; r < reps; r++)
        samples[r] = fn(cache, tokens);
    qsort(samples, (size_t)reps, sizeof samples[0], cmp_double);
    return samples[reps / 2];
}

static double bench_alloc_release(ifn_kv_cache *cache, const int32_t *tokens) {
    (void)tokens;
    static int32_t blocks[N_BLOCKS];
    int64_t t0 = ifn_time_now_ns();
    for (int32_t i = 0; i < N_BLOCKS; i++)
        ifn_kv_cache_alloc(cache, &blocks[i]);
    for (int32_t i = 0; i < N_BLOCKS; i++)
        ifn_kv_cache_release(cache, blocks[i]);
    return (double)(ifn_time_now_ns() - t0) / (2.0 * N_BLOCKS);
}

static double bench_block_hash(ifn_kv_cache *cache, const int32_t *tokens) {
    int64_t t0 = ifn_time_now_ns();
    uint64_t h = 0;
    int32_t n = PROMPT_LEN / BLOCK_SIZE;
    for (int32_t i = 0; i < n; i++)
        h = ifn_kv_cache_block_hash(cache, h, tokens + i * BLOCK_SIZE);
    volatile uint64_t sink = h;
    (void)sink;
    return (double)(ifn_time_now_ns() - t0) / n;
}

/* match_prefix of the whole cached prompt (lookups of cached blocks), then clear. */
static double bench_match_prefix(ifn_kv_cache *cache, const int32_t *tokens) {
    ifn_block_table t;
    ifn_block_table_init(&t);
    int64_t t0 = ifn_time_now_ns();
    int32_t covered = ifn_block_table_match_prefix(&t, cache, tokens, PROMPT_LEN);
    int64_t ns = ifn_time_now_ns() - t0;
    if (covered != (PROMPT_LEN - 1) / BLOCK_SIZE * BLOCK_SIZE) {
        fprintf(stderr, "bench_kv_cache: match covered %d\n", covered);
        exit(1);
    }
    ifn_block_table_clear(&t, cache);
    ifn_block_table_deinit(&t);
    return (double)ns / PROMPT_LEN; /* per prompt token */
}

/* Decoding PROMPT_LEN tokens one at a time: reserve 1, commit 1 (publishing every 16th). */
static double bench_decode_steps(ifn_kv_cache *cache, const int32_t *tokens) {
    ifn_block_table t;
    ifn_block_table_init(&t);
    int64_t t0 = ifn_time_now_ns();
    for (int32_t i = 0; i < PROMPT_LEN; i++) {
        if (ifn_block_table_reserve(&t, cache, 1) != IFN_OK) exit(1);
        ifn_block_table_commit(&t, cache, tokens, 1);
    }
    int64_t ns = ifn_time_now_ns() - t0;
    ifn_block_table_clear(&t, cache);
    ifn_block_table_deinit(&t);
    return (double)ns / PROMPT_LEN;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 21;
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    ifn_kv_cache_params p = {.n_layer = 1,
                             .kv_dim = 8,
                             .block_size = BLOCK_SIZE,
                             .n_blocks = N_BLOCKS,
                             .kv_type = IFN_DTYPE_F16,
                             .model_id = 1};
    ifn_kv_cache *cache = NULL;
    static int32_t tokens[PROMPT_LEN];
    for (int32_t i = 0; i < PROMPT_LEN; i++)
        tokens[i] = (i * 7919) % 32000;
    if (ifn_kv_cache_create(&p, &cache) != IFN_OK) {
        fprintf(stderr, "bench_kv_cache: create failed\n");
        return 1;
    }
    double alloc_ns = median_ns(bench_alloc_release, cache, tokens, reps);
    double hash_ns = median_ns(bench_block_hash, cache, tokens, reps);
    double decode_ns = median_ns(bench_decode_steps, cache, tokens, reps); /* also caches it */
    double match_ns = median_ns(bench_match_prefix, cache, tokens, reps);
    printf("kv_cache alloc+release  blocks=%d median=%.1f ns/op (%.1f Mops/s)\n", N_BLOCKS,
           alloc_ns, 1e3 / alloc_ns);
    printf("kv_cache block_hash     block_size=%d median=%.1f ns/block (%.2f GB/s of token ids)\n",
           BLOCK_SIZE, hash_ns, BLOCK_SIZE * 4.0 / hash_ns);
    printf("block_table decode      tokens=%d median=%.1f ns/token (reserve+commit)\n", PROMPT_LEN,
           decode_ns);
    printf("block_table match       tokens=%d median=%.1f ns/token (%.1f us per prompt)\n",
           PROMPT_LEN, match_ns, match_ns * PROMPT_LEN / 1e3);
    ifn_kv_cache_destroy(cache);
    return 0;
}
