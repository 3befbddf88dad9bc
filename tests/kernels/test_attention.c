/* Tests of the attention kernel (ifn_kernels.attn, kernels/kernels.h) in the reference table
 * and (when the CPU has it) the AVX2 table, against a float64 oracle over the same cache
 * values (F16 values decode exactly, so both KV types get the same tolerance):
 *   |out - oracle| <= 1e-5 * sum_p w_p |v_p| per output element (w = the float64 weights).
 * The cache is paged like the engine's: each block is its own allocation (ASan catches reads
 * past a block), the block table is exact, rows carry padding so F16 rows are only 2-byte
 * aligned, and two KV heads share each row so a wrong head offset shows.
 * Shapes: head_dim 3..128 and 576 (the AVX2 fallback), n_q 1/4/8/12, block_size 1/16/n_ctx,
 * n_kv from 1 to past several tiles. Broken variants (wrong scale, n_kv off by one, wrong GQA
 * mapping) must fail the same check, and results must be bit-identical across block layouts
 * and group sizes (batch invariance), and between one call for a run of consecutive tokens
 * (n_tok > 1, the prefill path) and one call per token. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/kernels.h"
#include "util/half.h"
#include "util/rng.h"

#define ATTN_TOL 1e-5
#define N_KV_HEADS 2

/* A paged K/V cache for one layer: [position][N_KV_HEADS][head_dim] of `type` per row. */
typedef struct cache {
    ifn_dtype type;
    int32_t head_dim, block_size, n_ctx, n_blocks;
    size_t elem_bytes, row_stride;
    void **k_blocks, **v_blocks; /* [n_blocks], each block_size * row_stride bytes */
} cache;

static float normal(ifn_rng *rng) {
    float s = 0.0f;
    for (int i = 0; i < 4; i++)
        s += ifn_rng_next_f32(rng);
    return (s - 2.0f) * 1.7320508f;
}

static unsigned char *cache_at(const cache *c, void *const *blocks, int32_t pos, int32_t kv_head,
                               int32_t i) {
    unsigned char *block = blocks[pos / c->block_size];
    return block + (size_t)(pos % c->block_size) * c->row_stride +
           ((size_t)kv_head * (size_t)c->head_dim + (size_t)i) * c->elem_bytes;
}

static double cache_get(const cache *c, void *const *blocks, int32_t pos, int32_t kv_head,
                        int32_t i) {
    const unsigned char *p = cache_at(c, blocks, pos, kv_head, i);
    if (c->type == IFN_DTYPE_F16) {
        uint16_t h;
        memcpy(&h, p, sizeof h);
        return ifn_f16_to_f32(h);
    }
    float f;
    memcpy(&f, p, sizeof f);
    return f;
}

static void cache_put(const cache *c, void *const *blocks, int32_t pos, int32_t kv_head, int32_t i,
                      float value) {
    unsigned char *p = cache_at(c, blocks, pos, kv_head, i);
    if (c->type == IFN_DTYPE_F16) {
        const uint16_t h = ifn_f32_to_f16(value);
        memcpy(p, &h, sizeof h);
    } else {
        memcpy(p, &value, sizeof value);
    }
}

/* A cache of n_ctx positions whose values depend only on `seed` (not on the layout). K values
 * of position p get a drift of `trend` * p so scores can rise or fall along the sequence. */
static void cache_init(cache *c, ifn_dtype type, int32_t head_dim, int32_t block_size,
                       int32_t n_ctx, uint64_t seed, float trend) {
    c->type = type;
    c->head_dim = head_dim;
    c->block_size = block_size;
    c->n_ctx = n_ctx;
    c->n_blocks = (n_ctx + block_size - 1) / block_size;
    c->elem_bytes = type == IFN_DTYPE_F16 ? 2 : 4;
    c->row_stride = ((size_t)N_KV_HEADS * (size_t)head_dim + 1) * c->elem_bytes;
    c->k_blocks = calloc((size_t)c->n_blocks, sizeof *c->k_blocks);
    c->v_blocks = calloc((size_t)c->n_blocks, sizeof *c->v_blocks);
    assert_true(c->k_blocks && c->v_blocks);
    for (int32_t b = 0; b < c->n_blocks; b++) {
        c->k_blocks[b] = malloc((size_t)block_size * c->row_stride);
        c->v_blocks[b] = malloc((size_t)block_size * c->row_stride);
        assert_true(c->k_blocks[b] && c->v_blocks[b]);
    }
    ifn_rng rng;
    ifn_rng_seed(&rng, seed);
    for (int32_t pos = 0; pos < n_ctx; pos++)
        for (int32_t h = 0; h < N_KV_HEADS; h++)
            for (int32_t i = 0; i < head_dim; i++) {
                cache_put(c, c->k_blocks, pos, h, i, normal(&rng) + trend * (float)pos);
                cache_put(c, c->v_blocks, pos, h, i, normal(&rng));
            }
}

static void cache_free(cache *c) {
    for (int32_t b = 0; b < c->n_blocks; b++) {
        free(c->k_blocks[b]);
        free(c->v_blocks[b]);
    }
    free(c->k_blocks);
    free(c->v_blocks);
}

/* How a query head picks its KV head: the correct grouping (consecutive heads share one) or a
 * broken interleaved one. */
typedef enum mapping { MAP_GROUPED, MAP_INTERLEAVED } mapping;

/* Runs `attn` for n_head query heads (q, out: [n_head][head_dim]) over positions [0, n_kv),
 * one call per KV head as the engine does. */
static void run_attention(ifn_attn_fn attn, const cache *c, const float *q, int32_t n_head,
                          int32_t n_kv, float scale, mapping map, float *out) {
    const int32_t group = n_head / N_KV_HEADS;
    for (int32_t kv = 0; kv < N_KV_HEADS; kv++) {
        ifn_attn_args a = {
            .q = q + (size_t)kv * group * c->head_dim,
            .n_q = group,
            .head_dim = c->head_dim,
            .k_blocks = (const void *const *)c->k_blocks,
            .v_blocks = (const void *const *)c->v_blocks,
            .block_size = c->block_size,
            .row_stride = c->row_stride,
            .head_offset = (size_t)kv * (size_t)c->head_dim * c->elem_bytes,
            .kv_type = c->type,
            .n_kv = n_kv,
            .scale = scale,
            .out = out + (size_t)kv * group * c->head_dim,
        };
        if (map == MAP_INTERLEAVED) { /* one call per query head, head h -> KV head h % 2 */
            for (int32_t h = 0; h < group; h++) {
                const int32_t qh = kv * group + h;
                a.q = q + (size_t)qh * c->head_dim;
                a.out = out + (size_t)qh * c->head_dim;
                a.n_q = 1;
                a.head_offset = (size_t)(qh % N_KV_HEADS) * (size_t)c->head_dim * c->elem_bytes;
                attn(&a);
            }
            continue;
        }
        attn(&a);
    }
}

/* The largest |out - oracle| / (ATTN_TOL * sum_p w_p |v_p|) over all heads and dims: <= 1
 * passes. The oracle attends query head h to KV head h / group over [0, n_kv) in float64. */
static double attention_violation(const cache *c, const float *q, int32_t n_head, int32_t n_kv,
                                  const float *out) {
    const int32_t group = n_head / N_KV_HEADS, hd = c->head_dim;
    double *w = malloc((size_t)n_kv * sizeof *w), worst = 0.0;
    assert_non_null(w);
    for (int32_t h = 0; h < n_head; h++) {
        const int32_t kv = h / group;
        double max = -INFINITY, sum = 0.0;
        for (int32_t p = 0; p < n_kv; p++) {
            double dot = 0.0;
            for (int32_t i = 0; i < hd; i++)
                dot += (double)q[(size_t)h * hd + i] * cache_get(c, c->k_blocks, p, kv, i);
            w[p] = dot / sqrt((double)hd);
            max = fmax(max, w[p]);
        }
        for (int32_t p = 0; p < n_kv; p++)
            sum += w[p] = exp(w[p] - max);
        for (int32_t i = 0; i < hd; i++) {
            double want = 0.0, mag = 0.0;
            for (int32_t p = 0; p < n_kv; p++) {
                const double v = cache_get(c, c->v_blocks, p, kv, i);
                want += w[p] / sum * v;
                mag += w[p] / sum * fabs(v);
            }
            const double got = out[(size_t)h * hd + i];
            worst =
                fmax(worst, isnan(got) ? INFINITY : fabs(got - want) / (ATTN_TOL * mag + 1e-30));
        }
    }
    free(w);
    return worst;
}

static float *random_queries(ifn_rng *rng, int32_t n_head, int32_t head_dim, float gain) {
    float *q = malloc((size_t)n_head * (size_t)head_dim * sizeof *q);
    assert_non_null(q);
    for (int32_t i = 0; i < n_head * head_dim; i++)
        q[i] = gain * normal(rng);
    return q;
}

static int kernel_tables(const ifn_kernels *out[2]) {
    int n = 0;
    out[n++] = ifn_kernels_ref();
    if (ifn_kernels_avx2()) out[n++] = ifn_kernels_avx2();
    return n;
}

static const int32_t g_head_dims[] = {8, 16, 64, 128, 96, 3, 20};
static const int32_t g_groups[] = {1, 4, 8, 12};
static const int32_t g_n_kv[] = {1, 2, 7, 8, 9, 17, 63, 64, 65, 100, 257};
#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* One cache per (type, head_dim, block_size); every n_kv and group size against the oracle. */
static void check_shapes(const ifn_kernels *k, ifn_dtype type, int32_t head_dim, int32_t block_size,
                         ifn_rng *rng) {
    const int32_t n_ctx = 257 + 3;
    cache c;
    cache_init(&c, type, head_dim, block_size ? block_size : n_ctx, n_ctx, 1000 + head_dim, 0.0f);
    for (size_t g = 0; g < LEN(g_groups); g++) {
        const int32_t n_head = g_groups[g] * N_KV_HEADS;
        float *q = random_queries(rng, n_head, head_dim, g % 2 ? 2.0f : 1.0f);
        float *out = malloc((size_t)n_head * head_dim * sizeof *out);
        assert_non_null(out);
        for (size_t n = 0; n < LEN(g_n_kv); n++) {
            run_attention(k->attn, &c, q, n_head, g_n_kv[n], 1.0f / sqrtf((float)head_dim),
                          MAP_GROUPED, out);
            const double v = attention_violation(&c, q, n_head, g_n_kv[n], out);
            if (v > 1.0)
                fail_msg("attn isa=%s kv=%s head_dim=%d n_q=%d block_size=%d n_kv=%d: %.3g x tol",
                         k->isa, type == IFN_DTYPE_F16 ? "F16" : "F32", head_dim, g_groups[g],
                         c.block_size, g_n_kv[n], v);
        }
        free(q);
        free(out);
    }
    cache_free(&c);
}

static void test_attention_matches_float64_on_awkward_shapes(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    const int32_t block_sizes[] = {1, 16, 0 /* one block of n_ctx */};
    ifn_rng rng;
    ifn_rng_seed(&rng, 42);
    for (int t = 0; t < n_tables; t++)
        for (int f16 = 0; f16 < 2; f16++)
            for (size_t d = 0; d < LEN(g_head_dims); d++)
                for (size_t b = 0; b < LEN(block_sizes); b++)
                    check_shapes(tables[t], f16 ? IFN_DTYPE_F16 : IFN_DTYPE_F32, g_head_dims[d],
                                 block_sizes[b], &rng);
}

/* 4096 positions of one cache against every table. */
static void check_long_context(ifn_dtype type, float trend, float gain, uint64_t seed,
                               ifn_rng *rng) {
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    const int32_t head_dim = 64, n_head = 8, n_kv = 4096;
    cache c;
    cache_init(&c, type, head_dim, 16, n_kv, seed, trend);
    float *q = random_queries(rng, n_head, head_dim, gain);
    float *out = malloc((size_t)n_head * head_dim * sizeof *out);
    assert_non_null(out);
    for (int t = 0; t < n_tables; t++) {
        run_attention(tables[t]->attn, &c, q, n_head, n_kv, 0.125f, MAP_GROUPED, out);
        const double v = attention_violation(&c, q, n_head, n_kv, out);
        if (v > 1.0)
            fail_msg("attn isa=%s kv=%s trend=%g gain=%g n_kv=%d: %.3g x tol", tables[t]->isa,
                     type == IFN_DTYPE_F16 ? "F16" : "F32", trend, gain, n_kv, v);
    }
    free(q);
    free(out);
    cache_free(&c);
}

/* Long contexts, a peaked softmax (large queries) and scores that rise or fall along the
 * sequence, so the running max changes at almost every tile or never after the first. */
static void test_attention_long_and_peaked_contexts(void **state) {
    (void)state;
    ifn_rng rng;
    ifn_rng_seed(&rng, 43);
    for (int f16 = 0; f16 < 2; f16++) {
        const ifn_dtype type = f16 ? IFN_DTYPE_F16 : IFN_DTYPE_F32;
        check_long_context(type, 0.0f, 4.0f, 77, &rng);
        check_long_context(type, 0.002f, 1.0f, 78, &rng);
        check_long_context(type, -0.002f, 1.0f, 79, &rng);
    }
}

/* head_dim 576 is past the AVX2 kernel's stack tiles: it must fall back, not overflow. */
static void test_attention_wide_heads(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    ifn_rng rng;
    ifn_rng_seed(&rng, 44);
    cache c;
    cache_init(&c, IFN_DTYPE_F16, 576, 16, 40, 9, 0.0f);
    float *q = random_queries(&rng, 4, 576, 1.0f), *out = malloc(4 * 576 * sizeof *out);
    assert_non_null(out);
    for (int t = 0; t < n_tables; t++) {
        run_attention(tables[t]->attn, &c, q, 4, 37, 1.0f / 24.0f, MAP_GROUPED, out);
        assert_true(attention_violation(&c, q, 4, 37, out) <= 1.0);
    }
    free(q);
    free(out);
    cache_free(&c);
}

/* The correct call passes the oracle check; a wrong scale, a causal range off by one either
 * way and an interleaved GQA mapping must each fail it. */
static void check_broken_variants_fail(ifn_attn_fn attn, ifn_dtype type, int32_t n_kv,
                                       ifn_rng *rng) {
    const int32_t hd = 64, n_head = 8;
    const float scale = 0.125f;
    cache c;
    cache_init(&c, type, hd, 16, n_kv + 1, 5, 0.0f);
    float *q = random_queries(rng, n_head, hd, 1.0f);
    float *out = malloc((size_t)n_head * hd * sizeof *out);
    assert_non_null(out);
    run_attention(attn, &c, q, n_head, n_kv, scale, MAP_GROUPED, out);
    assert_true(attention_violation(&c, q, n_head, n_kv, out) <= 1.0);
    run_attention(attn, &c, q, n_head, n_kv, 1.0f / hd, MAP_GROUPED, out);
    assert_true(attention_violation(&c, q, n_head, n_kv, out) > 1.0);
    run_attention(attn, &c, q, n_head, n_kv - 1, scale, MAP_GROUPED, out);
    assert_true(attention_violation(&c, q, n_head, n_kv, out) > 1.0);
    run_attention(attn, &c, q, n_head, n_kv + 1, scale, MAP_GROUPED, out);
    assert_true(attention_violation(&c, q, n_head, n_kv, out) > 1.0);
    run_attention(attn, &c, q, n_head, n_kv, scale, MAP_INTERLEAVED, out);
    assert_true(attention_violation(&c, q, n_head, n_kv, out) > 1.0);
    free(q);
    free(out);
    cache_free(&c);
}

/* The oracle check must catch the usual attention bugs, or passing it means little. */
static void test_attention_check_rejects_broken_kernels(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    const int32_t n_kvs[] = {2, 9, 70};
    ifn_rng rng;
    ifn_rng_seed(&rng, 45);
    for (int t = 0; t < n_tables; t++)
        for (size_t n = 0; n < LEN(n_kvs); n++)
            for (int f16 = 0; f16 < 2; f16++)
                check_broken_variants_fail(tables[t]->attn, f16 ? IFN_DTYPE_F16 : IFN_DTYPE_F32,
                                           n_kvs[n], &rng);
}

/* Each query head of `q` run alone (as a group of one; the other KV head gets a copy) must
 * give exactly its row of `grouped`. */
static void check_heads_alone(ifn_attn_fn attn, const cache *c, const float *q, int32_t n_head,
                              int32_t n_kv, const float *grouped) {
    const int32_t hd = c->head_dim, group = n_head / N_KV_HEADS;
    float pair_q[2 * 64], pair_out[2 * 64];
    assert_true(hd <= 64);
    for (int32_t h = 0; h < n_head; h++) {
        const int32_t kv = h / group;
        memcpy(pair_q + kv * hd, q + (size_t)h * hd, (size_t)hd * sizeof(float));
        memcpy(pair_q + (1 - kv) * hd, q + (size_t)h * hd, (size_t)hd * sizeof(float));
        run_attention(attn, c, pair_q, N_KV_HEADS, n_kv, 0.125f, MAP_GROUPED, pair_out);
        assert_memory_equal(pair_out + kv * hd, grouped + (size_t)h * hd, hd * sizeof(float));
    }
}

/* The same KV values in caches of block size 1, 16 and 300 give bit-identical results, and so
 * does every head run on its own. */
static void check_invariance(ifn_attn_fn attn, ifn_dtype type, int32_t n_kv, ifn_rng *rng) {
    const int32_t block_sizes[] = {1, 16, 300};
    const int32_t hd = 64, n_head = 16;
    const size_t bytes = (size_t)n_head * hd * sizeof(float);
    float *q = random_queries(rng, n_head, hd, 1.0f);
    float *first = malloc(bytes), *out = malloc(bytes);
    assert_true(first && out);
    for (size_t b = 0; b < LEN(block_sizes); b++) {
        cache c;
        cache_init(&c, type, hd, block_sizes[b], 300, 3, 0.0f);
        run_attention(attn, &c, q, n_head, n_kv, 0.125f, MAP_GROUPED, b ? out : first);
        if (b) assert_memory_equal(out, first, bytes);
        check_heads_alone(attn, &c, q, n_head, n_kv, first);
        cache_free(&c);
    }
    free(q);
    free(first);
    free(out);
}

/* Batch invariance: a query head's result depends on its own q and KV only. */
static void test_attention_is_bit_identical_across_layouts_and_groups(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    ifn_rng rng;
    ifn_rng_seed(&rng, 46);
    for (int t = 0; t < n_tables; t++)
        for (int f16 = 0; f16 < 2; f16++)
            for (int32_t n_kv = 1; n_kv <= 300; n_kv += 37)
                check_invariance(tables[t]->attn, f16 ? IFN_DTYPE_F16 : IFN_DTYPE_F32, n_kv, &rng);
}

/* A run of n_tok consecutive tokens in one call per KV head equals one call per token bit for
 * bit (rows masked inside a shared tile, rows finished before a tile, passes of 16 rows), and
 * meets the oracle. */
static void test_attention_token_runs_equal_single_tokens(void **state) {
    (void)state;
    const ifn_kernels *tables[2];
    const int n_tables = kernel_tables(tables);
    static const int32_t head_dims[] = {8, 64, 20, 3};
    static const int32_t groups[] = {1, 4, 12};
    static const int32_t n_toks[] = {2, 3, 5, 16, 17, 40};
    static const int32_t first_kv[] = {1, 7, 63, 64, 65, 130};
    ifn_rng rng;
    ifn_rng_seed(&rng, 7);
    for (int k = 0; k < n_tables; k++)
        for (int type = 0; type < 2; type++)
            for (size_t hd = 0; hd < LEN(head_dims); hd++) {
                const int32_t head_dim = head_dims[hd], n_ctx = 130 + 40 + 1;
                cache c;
                cache_init(&c, type ? IFN_DTYPE_F16 : IFN_DTYPE_F32, head_dim, 16, n_ctx,
                           77 + head_dim, 0.01f);
                for (size_t g = 0; g < LEN(groups); g++)
                    for (size_t nt = 0; nt < LEN(n_toks); nt++)
                        for (size_t f = 0; f < LEN(first_kv); f++) {
                            const int32_t n_head = groups[g] * N_KV_HEADS, n_tok = n_toks[nt];
                            const size_t row = (size_t)n_head * (size_t)head_dim;
                            float *q = random_queries(&rng, n_head * n_tok, head_dim, 1.5f);
                            float *run = malloc(row * (size_t)n_tok * sizeof *run);
                            float *one = malloc(row * (size_t)n_tok * sizeof *one);
                            assert_true(run && one);
                            for (int32_t kv = 0; kv < N_KV_HEADS; kv++) {
                                const size_t off = (size_t)kv * (size_t)groups[g] * (size_t)head_dim;
                                ifn_attn_args a = {
                                    .q = q + off,
                                    .n_q = groups[g],
                                    .n_tok = n_tok,
                                    .q_stride = row,
                                    .out_stride = row,
                                    .head_dim = head_dim,
                                    .k_blocks = (const void *const *)c.k_blocks,
                                    .v_blocks = (const void *const *)c.v_blocks,
                                    .block_size = c.block_size,
                                    .row_stride = c.row_stride,
                                    .head_offset = (size_t)kv * (size_t)head_dim * c.elem_bytes,
                                    .kv_type = c.type,
                                    .n_kv = first_kv[f],
                                    .scale = 1.0f / sqrtf((float)head_dim),
                                    .out = run + off,
                                };
                                tables[k]->attn(&a);
                                for (int32_t i = 0; i < n_tok; i++) {
                                    ifn_attn_args b = a;
                                    b.n_tok = 1;
                                    b.q = q + (size_t)i * row + off;
                                    b.out = one + (size_t)i * row + off;
                                    b.n_kv = first_kv[f] + i;
                                    tables[k]->attn(&b);
                                }
                            }
                            if (memcmp(run, one, row * (size_t)n_tok * sizeof *run) != 0)
                                fail_msg("attn isa=%s head_dim=%d group=%d n_tok=%d n_kv=%d: a run "
                                         "differs from single tokens",
                                         tables[k]->isa, head_dim, groups[g], n_tok, first_kv[f]);
                            for (int32_t i = 0; i < n_tok; i += 7) {
                                const double v = attention_violation(&c, q + (size_t)i * row, n_head,
                                                                     first_kv[f] + i, run + (size_t)i * row);
                                if (v > 1.0)
                                    fail_msg("attn isa=%s run token %d: %.3g x tol", tables[k]->isa, i, v);
                            }
                            free(q);
                            free(run);
                            free(one);
                        }
                cache_free(&c);
            }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attention_matches_float64_on_awkward_shapes),
        cmocka_unit_test(test_attention_long_and_peaked_contexts),
        cmocka_unit_test(test_attention_wide_heads),
        cmocka_unit_test(test_attention_check_rejects_broken_kernels),
        cmocka_unit_test(test_attention_is_bit_identical_across_layouts_and_groups),
        cmocka_unit_test(test_attention_token_runs_equal_single_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
