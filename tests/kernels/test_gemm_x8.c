/* Tests of the packed eight-row kernels (matmul_packed in kernels/kernels.h) for Q8_0 and Q4_0
 * (and, in test_kquant_* and test_half_*, Q4_K and Q6_K over Q8_K and F16 / BF16 over float
 * activations):
 * - packing keeps every weight: the packed group decodes (via the reference kernel with unit
 *   activations) to the original rows' levels;
 * - exactness: each output equals an int64 / double reference of the reference's arithmetic
 *   (exact block sums, float scale product, one fused multiply-add per block) bit for bit, also
 *   for raw random blocks with extreme levels (Q8_0's -128) and scales;
 * - the AVX2 variant equals the reference bit for bit (memcmp), quantize_act included;
 * - batch invariance: a token's outputs are identical whether it runs alone, in any position of
 *   a batch of 1..13 tokens, or with a padded activation stride;
 * - the packed product agrees with the unpacked fast path (same quantized activations, another
 *   summation order) within float rounding;
 * - ifn_ops_pack_rows / ifn_ops_matmul drive them over row ranges as the forward pass does. */
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
#include "kernels/quant.h"
#include "kernels/ref/act_blocks.h"
#include "kernels/ref/packed_blocks.h"
#include "tensor/ops.h"
#include "util/alloc.h"
#include "util/half.h"
#include "util/rng.h"

static const ifn_dtype g_types[] = {IFN_DTYPE_Q8_0, IFN_DTYPE_Q4_0}; /* the 8-bit kernels */
static const int64_t g_cols[] = {32, 64, 96, 2048, 5632};
#define MAX_TOKENS 13
#define ROWS 16 /* two groups */

static float normal(ifn_rng *rng) {
    float s = 0.0f;
    for (int i = 0; i < 4; i++) s += ifn_rng_next_f32(rng);
    return (s - 2.0f) * 1.7320508f;
}

static const ifn_kernels *avx2_or_null(void) {
    return ifn_kernels_avx2();
}

/* Weight rows: quantized random floats, or (raw) random bytes with sane F16 scales. */
static void make_weights(ifn_rng *rng, ifn_dtype type, int raw, int64_t n, unsigned char *w,
                         size_t row_bytes) {
    float *row = malloc((size_t)n * sizeof *row);
    assert_non_null(row);
    for (int r = 0; r < ROWS; r++) {
        unsigned char *dst = w + (size_t)r * row_bytes;
        if (!raw) {
            for (int64_t i = 0; i < n; i++) row[i] = normal(rng) * (1.0f + (float)r);
            assert_int_equal(ifn_quant_row(type, row, dst, n), IFN_OK);
            continue;
        }
        for (size_t i = 0; i < row_bytes; i++) dst[i] = (unsigned char)ifn_rng_next_u64(rng);
        const size_t block = type == IFN_DTYPE_Q8_0 ? sizeof(ifn_block_q8_0) : sizeof(ifn_block_q4_0);
        for (int64_t b = 0; b < n / 32; b++) { /* a scale in [2^-12, 2^4), either sign */
            float d = ldexpf(1.0f + ifn_rng_next_f32(rng), -12 + (int)(ifn_rng_next_u64(rng) % 16));
            if (ifn_rng_next_u64(rng) & 1) d = -d;
            uint16_t h = ifn_f32_to_f16(d);
            memcpy(dst + (size_t)b * block, &h, sizeof h);
            if (type == IFN_DTYPE_Q8_0 && b == 0) dst[2] = 0x80; /* a -128 level */
        }
    }
    free(row);
}

/* Level of element e of original row `row` (Q8_0 quant, or Q4_0 nibble - 8) and its scale. */
static int level_of(ifn_dtype type, const unsigned char *row, int64_t e, float *d) {
    const int64_t b = e / 32, i = e % 32;
    uint16_t h;
    if (type == IFN_DTYPE_Q8_0) {
        const unsigned char *blk = row + (size_t)b * sizeof(ifn_block_q8_0);
        memcpy(&h, blk, sizeof h);
        *d = ifn_f16_to_f32(h);
        return (int8_t)blk[2 + i];
    }
    const unsigned char *blk = row + (size_t)b * sizeof(ifn_block_q4_0);
    memcpy(&h, blk, sizeof h);
    *d = ifn_f16_to_f32(h);
    const uint8_t byte = blk[2 + i % 16];
    return (i < 16 ? byte & 15 : byte >> 4) - 8;
}

/* The reference arithmetic, spelled out independently: exact block sums in int64. */
static float expected_dot(ifn_dtype type, const unsigned char *row, const unsigned char *act,
                          int64_t n) {
    float acc = 0.0f;
    for (int64_t b = 0; b < n / 32; b++) {
        ifn_block_q8s a;
        memcpy(&a, act + (size_t)b * sizeof a, sizeof a);
        int64_t isum = 0, qsum = 0;
        float dw = 0.0f;
        for (int i = 0; i < 32; i++) {
            isum += (int64_t)level_of(type, row, b * 32 + i, &dw) * a.qs[i];
            qsum += a.qs[i];
        }
        assert_int_equal(qsum, a.sum);
        acc = fmaf((float)isum, dw * a.d, acc);
    }
    return acc;
}

typedef struct fixture {
    ifn_dtype type;
    int64_t n;
    size_t row_bytes, act_stride;
    unsigned char *w, *packed, *act;
    float *x;
} fixture;

static void fixture_make(fixture *f, ifn_rng *rng, ifn_dtype type, int64_t n, int raw) {
    f->type = type;
    f->n = n;
    f->row_bytes = ifn_dtype_row_bytes(type, n);
    f->act_stride = (size_t)n / 32 * sizeof(ifn_block_q8s) + 24; /* padded, 8-aligned */
    f->w = ifn_alloc_aligned(64, ROWS * f->row_bytes + 64);
    f->packed = ifn_alloc_aligned(64, ROWS * f->row_bytes + 64);
    f->act = ifn_alloc_aligned(64, MAX_TOKENS * f->act_stride + 64);
    f->x = malloc((size_t)MAX_TOKENS * (size_t)n * sizeof *f->x);
    assert_true(f->w && f->packed && f->act && f->x);
    make_weights(rng, type, raw, n, f->w, f->row_bytes);
    for (int64_t i = 0; i < MAX_TOKENS * n; i++) f->x[i] = normal(rng) * (i % 7 == 0 ? 8.0f : 1.0f);
}

static void fixture_free(fixture *f) {
    ifn_free_aligned(f->w);
    ifn_free_aligned(f->packed);
    ifn_free_aligned(f->act);
    free(f->x);
}

static void quantize(const ifn_matmul_traits *tr, fixture *f) {
    for (int t = 0; t < MAX_TOKENS; t++)
        tr->quantize_act(f->x + (int64_t)t * f->n, f->act + (size_t)t * f->act_stride, f->n);
}

static void pack(const ifn_matmul_traits *tr, fixture *f) {
    for (int g = 0; g < ROWS / 8; g++)
        tr->pack_x8(f->w + (size_t)g * 8 * f->row_bytes, f->row_bytes, f->n,
                    f->packed + (size_t)g * 8 * f->row_bytes);
}

/* y[t][r] for all rows, n_tok tokens starting at token t0. */
static void run(const ifn_matmul_traits *tr, const fixture *f, int t0, int n_tok, float *y) {
    for (int g = 0; g < ROWS / 8; g++)
        tr->gemm_x8(f->packed + (size_t)g * 8 * f->row_bytes, f->act + (size_t)t0 * f->act_stride,
                    f->act_stride, n_tok, f->n, y + 8 * g, ROWS);
}

static void check_table(const ifn_kernels *k, const fixture *f_in) {
    fixture f = *f_in;
    const ifn_matmul_traits *tr = &k->matmul_packed[f.type];
    assert_non_null(tr->gemm_x8);
    pack(tr, &f);
    quantize(tr, &f);
    float all[MAX_TOKENS * ROWS], one[ROWS];
    run(tr, &f, 0, MAX_TOKENS, all);
    for (int t = 0; t < MAX_TOKENS; t++)
        for (int r = 0; r < ROWS; r++) {
            const float want =
                expected_dot(f.type, f.w + (size_t)r * f.row_bytes, f.act + (size_t)t * f.act_stride, f.n);
            if (memcmp(&want, &all[t * ROWS + r], sizeof want) != 0)
                fail_msg("%s %s n=%lld token %d row %d: %.9g, want %.9g", k->isa,
                         ifn_dtype_get_info(f.type)->name, (long long)f.n, t, r,
                         (double)all[t * ROWS + r], (double)want);
        }
    /* Batch invariance: every token alone, and every batch size from every start. */
    for (int t = 0; t < MAX_TOKENS; t++) {
        run(tr, &f, t, 1, one);
        assert_memory_equal(one, &all[t * ROWS], sizeof one);
    }
    for (int n_tok = 2; n_tok <= 6; n_tok++)
        for (int t0 = 0; t0 + n_tok <= MAX_TOKENS; t0 += 3) {
            float part[MAX_TOKENS * ROWS];
            run(tr, &f, t0, n_tok, part);
            assert_memory_equal(part, &all[t0 * ROWS], (size_t)n_tok * ROWS * sizeof(float));
        }
}

static void test_packed_kernels_exact_and_batch_invariant(void **state) {
    (void)state;
    ifn_rng rng;
    ifn_rng_seed(&rng, 81);
    const ifn_kernels *tables[2] = {ifn_kernels_ref(), avx2_or_null()};
    for (size_t ti = 0; ti < sizeof g_types / sizeof g_types[0]; ti++)
        for (size_t ci = 0; ci < sizeof g_cols / sizeof g_cols[0]; ci++)
            for (int raw = 0; raw < 2; raw++) {
                fixture f;
                fixture_make(&f, &rng, g_types[ti], g_cols[ci], raw);
                for (int k = 0; k < 2; k++)
                    if (tables[k]) check_table(tables[k], &f);
                fixture_free(&f);
            }
}

/* The AVX2 table writes the same activation bytes and outputs as the reference. */
static void test_avx2_matches_reference_bit_for_bit(void **state) {
    (void)state;
    const ifn_kernels *avx2 = avx2_or_null();
    if (!avx2) skip();
    const ifn_kernels *ref = ifn_kernels_ref();
    ifn_rng rng;
    ifn_rng_seed(&rng, 82);
    for (size_t ti = 0; ti < sizeof g_types / sizeof g_types[0]; ti++) {
        fixture f;
        fixture_make(&f, &rng, g_types[ti], 2048, 0);
        const size_t act_bytes = MAX_TOKENS * f.act_stride;
        unsigned char *act_ref = malloc(act_bytes);
        assert_non_null(act_ref);
        memset(f.act, 0, act_bytes);
        quantize(&ref->matmul_packed[f.type], &f);
        memcpy(act_ref, f.act, act_bytes);
        memset(f.act, 0, act_bytes);
        quantize(&avx2->matmul_packed[f.type], &f);
        assert_memory_equal(act_ref, f.act, act_bytes);
        float y_ref[MAX_TOKENS * ROWS], y_avx2[MAX_TOKENS * ROWS];
        pack(&ref->matmul_packed[f.type], &f);
        run(&ref->matmul_packed[f.type], &f, 0, MAX_TOKENS, y_ref);
        run(&avx2->matmul_packed[f.type], &f, 0, MAX_TOKENS, y_avx2);
        assert_memory_equal(y_ref, y_avx2, sizeof y_ref);
        free(act_ref);
        fixture_free(&f);
    }
}

/* Packed and unpacked fast paths see the same quantized activations and differ only in the
 * order of float additions. */
static void test_packed_agrees_with_unpacked_path(void **state) {
    (void)state;
    const ifn_kernels *k = ifn_kernels_get();
    ifn_rng rng;
    ifn_rng_seed(&rng, 83);
    for (size_t ti = 0; ti < sizeof g_types / sizeof g_types[0]; ti++) {
        const int64_t n = 2048;
        fixture f;
        fixture_make(&f, &rng, g_types[ti], n, 0);
        ifn_tensor w = {.type = f.type, .n_cols = n, .n_rows = ROWS, .row_bytes = f.row_bytes,
                        .data = f.w};
        const ifn_matmul_traits *plain = ifn_ops_traits(&w, 0);
        assert_null(plain->gemm_x8);
        assert_true(ifn_ops_can_pack(&w));
        assert_int_equal(ifn_ops_pack_rows(&w, f.packed, 0, ROWS), IFN_OK);
        w.packed = f.packed;
        const ifn_matmul_traits *packed = ifn_ops_traits(&w, 0);
        assert_ptr_equal(packed, &k->matmul_packed[f.type]);
        assert_false(ifn_ops_same_act(plain, packed));
        assert_null(ifn_ops_traits(&w, 1)->gemm_x8); /* the exact path keeps plain rows */

        const size_t stride = (size_t)n * sizeof(float);
        unsigned char *act_plain = ifn_alloc_aligned(64, MAX_TOKENS * stride);
        unsigned char *act_packed = ifn_alloc_aligned(64, MAX_TOKENS * stride);
        float y_plain[MAX_TOKENS * ROWS], y_packed[MAX_TOKENS * ROWS];
        float *scratch = ifn_alloc_aligned(64, (size_t)n * sizeof(float));
        assert_true(act_plain && act_packed && scratch);
        ifn_ops_convert_act(plain, f.x, n, act_plain, stride, 0, MAX_TOKENS);
        ifn_ops_convert_act(packed, f.x, n, act_packed, stride, 0, MAX_TOKENS);
        ifn_ops_matmul(&w, plain, act_plain, stride, MAX_TOKENS, y_plain, ROWS, 0, ROWS, scratch);
        /* Two calls over the two groups, as two threads would split them. */
        ifn_ops_matmul(&w, packed, act_packed, stride, MAX_TOKENS, y_packed, ROWS, 0, 8, scratch);
        ifn_ops_matmul(&w, packed, act_packed, stride, MAX_TOKENS, y_packed, ROWS, 8, ROWS, scratch);
        for (int i = 0; i < MAX_TOKENS * ROWS; i++) {
            const double tol = 1e-5 * (fabs((double)y_plain[i]) + 1.0) * sqrt((double)n);
            if (fabs((double)y_plain[i] - (double)y_packed[i]) > tol)
                fail_msg("%s output %d: packed %.9g, plain %.9g", ifn_dtype_get_info(f.type)->name,
                         i, (double)y_packed[i], (double)y_plain[i]);
        }
        ifn_free_aligned(act_plain);
        ifn_free_aligned(act_packed);
        ifn_free_aligned(scratch);
        fixture_free(&f);
    }
}

/* ---- K-quant groups (Q4_K, Q6_K) over Q8_K activations ---- */

#define KQUANT_COLS 512 /* two super-blocks */

/* Row r's dot with one Q8_K activation row, from the original Q4_K bytes (ggml's layout);
 * *out_size gets the sum over blocks of |d| * sum(scale * level * |a|) + |dmin| * sum(min *
 * |bsum|), a bound on any partial sum a kernel may round, so the scale of its float error. */
static float expected_q4_k(const unsigned char *row, const unsigned char *act, int64_t n,
                           double *out_size) {
    float acc = 0.0f;
    *out_size = 0.0;
    for (int64_t b = 0; b < n / 256; b++) {
        ifn_block_q4_k w;
        ifn_block_q8_k a;
        memcpy(&w, row + (size_t)b * sizeof w, sizeof w);
        memcpy(&a, act + (size_t)b * sizeof a, sizeof a);
        int64_t scaled = 0, mins = 0, scaled_abs = 0, mins_abs = 0;
        for (int s = 0; s < 8; s++) {
            uint8_t sc, m;
            ifn_kquant_get_scale_min(s, w.scales, &sc, &m);
            int64_t dot = 0, sum = 0, dot_abs = 0;
            for (int l = 0; l < 32; l++) {
                const uint8_t byte = w.qs[32 * (s / 2) + l];
                const int level = s % 2 ? byte >> 4 : byte & 15;
                dot += (int64_t)level * a.qs[32 * s + l];
                dot_abs += (int64_t)level * abs(a.qs[32 * s + l]);
                sum += a.qs[32 * s + l];
            }
            scaled += sc * dot;
            mins += m * sum;
            scaled_abs += sc * dot_abs;
            mins_abs += m * (sum < 0 ? -sum : sum);
        }
        const float d = ifn_f16_to_f32(w.d) * a.d, dmin = ifn_f16_to_f32(w.dmin) * a.d;
        acc = fmaf((float)scaled, d, acc);
        acc = fmaf(-(float)mins, dmin, acc);
        *out_size += fabs((double)d) * (double)scaled_abs + fabs((double)dmin) * (double)mins_abs;
    }
    return acc;
}

/* As expected_q4_k for Q6_K, decoding the levels as ggml's dequantize_row_q6_K walks them:
 * per 128-element half, l = 0..31 takes ql[l], ql[l + 32] and the four bit pairs of qh[l]. */
static float expected_q6_k(const unsigned char *row, const unsigned char *act, int64_t n,
                           double *out_size) {
    float acc = 0.0f;
    *out_size = 0.0;
    for (int64_t b = 0; b < n / 256; b++) {
        ifn_block_q6_k w;
        ifn_block_q8_k a;
        memcpy(&w, row + (size_t)b * sizeof w, sizeof w);
        memcpy(&a, act + (size_t)b * sizeof a, sizeof a);
        int level[256];
        for (int half = 0; half < 2; half++)
            for (int l = 0; l < 32; l++) {
                const uint8_t *ql = w.ql + 64 * half;
                const uint8_t qh = w.qh[32 * half + l];
                level[128 * half + l] = (ql[l] & 15) | (qh & 3) << 4;
                level[128 * half + l + 32] = (ql[l + 32] & 15) | ((qh >> 2) & 3) << 4;
                level[128 * half + l + 64] = (ql[l] >> 4) | ((qh >> 4) & 3) << 4;
                level[128 * half + l + 96] = (ql[l + 32] >> 4) | (qh >> 6) << 4;
            }
        int64_t total = 0, total_abs = 0;
        for (int s = 0; s < 16; s++) {
            int64_t dot = 0, sum = 0, dot_abs = 0;
            for (int l = 0; l < 16; l++) {
                dot += (int64_t)(level[16 * s + l] - 32) * a.qs[16 * s + l];
                dot_abs += (int64_t)level[16 * s + l] * abs(a.qs[16 * s + l]);
                sum += a.qs[16 * s + l];
            }
            assert_int_equal(sum, a.bsums[s]); /* the kernels take the offset from bsums */
            total += w.scales[s] * dot;
            total_abs += abs(w.scales[s]) * (dot_abs + 32 * (sum < 0 ? -sum : sum));
        }
        const float d = ifn_f16_to_f32(w.d) * a.d;
        acc = fmaf((float)total, d, acc);
        *out_size += fabs((double)d) * (double)total_abs;
    }
    return acc;
}

typedef struct kquant_case {
    ifn_dtype type;
    size_t block_bytes;
    size_t d_offset;      /* the block's F16 super-scale; a second (dmin) may follow */
    int n_d;              /* F16 scales at d_offset */
    size_t scales_offset; /* the sub-block scale bytes */
    size_t scales_bytes;
    float (*expected)(const unsigned char *row, const unsigned char *act, int64_t n,
                      double *out_size);
} kquant_case;

static const kquant_case g_kquant_cases[] = {
    {IFN_DTYPE_Q4_K, sizeof(ifn_block_q4_k), offsetof(ifn_block_q4_k, d), 2,
     offsetof(ifn_block_q4_k, scales), 12, expected_q4_k},
    {IFN_DTYPE_Q6_K, sizeof(ifn_block_q6_k), offsetof(ifn_block_q6_k, d), 1,
     offsetof(ifn_block_q6_k, scales), 16, expected_q6_k},
};

enum { KQ_QUANTIZED, KQ_RAW, KQ_EXTREME, KQ_MODES };

/* Weight rows of a K-quant case: ifn_quant_row of random floats; random bytes; or every level
 * at its top (even rows) or bottom (odd rows) with scale bytes 0x80 / 0x7f in turn (Q6_K:
 * -128 and 127). Raw and extreme rows get sane super-scales. Activations: random floats, in
 * the extreme mode tokens 0..2 all +1 (quants all -127: Q8_K maps the first largest magnitude
 * to -127), +1 then all -1 (quants 127 but the first) and alternating (both). */
static void make_kquant(ifn_rng *rng, const kquant_case *kc, int mode, int64_t n, unsigned char *w,
                        size_t row_bytes, float *x) {
    float row[KQUANT_COLS];
    for (int r = 0; r < ROWS; r++) {
        unsigned char *dst = w + (size_t)r * row_bytes;
        if (mode == KQ_QUANTIZED) {
            for (int64_t i = 0; i < n; i++)
                row[i] = normal(rng) * (1.0f + (float)r) + 0.3f;
            assert_int_equal(ifn_quant_row(kc->type, row, dst, n), IFN_OK);
            continue;
        }
        for (size_t i = 0; i < row_bytes; i++)
            dst[i] = mode == KQ_RAW ? (unsigned char)ifn_rng_next_u64(rng) : r % 2 ? 0x00 : 0xff;
        for (int64_t b = 0; b < n / 256; b++) {
            unsigned char *blk = dst + (size_t)b * kc->block_bytes;
            if (mode == KQ_EXTREME)
                for (size_t i = 0; i < kc->scales_bytes; i++)
                    blk[kc->scales_offset + i] = i % 2 ? 0x7f : 0x80;
            for (int i = 0; i < kc->n_d; i++) { /* d in [0.01, 1.01), dmin in [0, 1) */
                const uint16_t h = ifn_f32_to_f16((i == 0 ? 0.01f : 0.0f) + ifn_rng_next_f32(rng));
                memcpy(blk + kc->d_offset + 2 * (size_t)i, &h, sizeof h);
            }
        }
    }
    for (int64_t i = 0; i < MAX_TOKENS * n; i++) {
        const int64_t t = i / n;
        if (mode == KQ_EXTREME && t < 3)
            x[i] = t == 0 || i % n == 0 ? 1.0f : t == 1 || i % 2 ? -1.0f : 1.0f;
        else
            x[i] = normal(rng) * (i % 5 == 0 ? 6.0f : 1.0f);
    }
}

/* y[t][r] for all ROWS rows, n_tok tokens from t0 (groups group_bytes apart). */
static void run_kquant(const ifn_matmul_traits *tr, const unsigned char *packed, size_t group_bytes,
                       const unsigned char *act, size_t act_stride, int t0, int n_tok, int64_t n,
                       float *y) {
    for (int g = 0; g < ROWS / 8; g++)
        tr->gemm_x8(packed + (size_t)g * group_bytes, act + (size_t)t0 * act_stride, act_stride,
                    n_tok, n, y + 8 * g, ROWS);
}

/* One table on one weight set: exact outputs, agreement with the unpacked kernel, batch
 * invariance. Leaves the activations in act and the outputs in all. */
static void check_kquant(const ifn_kernels *k, const kquant_case *kc, int mode,
                         const unsigned char *w, size_t row_bytes, const float *x,
                         unsigned char *act, size_t act_stride, float *all) {
    const int64_t n = KQUANT_COLS;
    const ifn_matmul_traits *tr = &k->matmul_packed[kc->type];
    const char *name = ifn_dtype_get_info(kc->type)->name;
    assert_non_null(tr->gemm_x8);
    assert_int_equal(tr->act_type, IFN_DTYPE_Q8_K);
    /* Same activation buffers as the unpacked path. */
    assert_ptr_equal(tr->quantize_act, k->matmul[kc->type].quantize_act);
    for (int t = 0; t < MAX_TOKENS; t++)
        tr->quantize_act(x + (int64_t)t * n, act + (size_t)t * act_stride, n);
    const size_t group_bytes = (size_t)(n / 256) * (size_t)tr->group_block_bytes;
    unsigned char *packed = malloc(ROWS / 8 * group_bytes);
    assert_non_null(packed);
    for (int g = 0; g < ROWS / 8; g++)
        tr->pack_x8(w + (size_t)g * 8 * row_bytes, row_bytes, n, packed + (size_t)g * group_bytes);
    run_kquant(tr, packed, group_bytes, act, act_stride, 0, MAX_TOKENS, n, all);
    for (int t = 0; t < MAX_TOKENS; t++)
        for (int r = 0; r < ROWS; r++) {
            const unsigned char *w_row = w + (size_t)r * row_bytes;
            const unsigned char *a_row = act + (size_t)t * act_stride;
            double size;
            const float want = kc->expected(w_row, a_row, n, &size);
            const float got = all[t * ROWS + r];
            if (memcmp(&want, &got, sizeof want) != 0)
                fail_msg("%s %s mode %d token %d row %d: %.9g, want %.9g", k->isa, name, mode, t, r,
                         (double)got, (double)want);
            /* The unpacked kernel (same activations, another float order: a few roundings of
             * partial sums no larger than `size`) agrees. */
            const double plain = k->matmul[kc->type].vec_dot(w_row, a_row, n);
            if (fabs(plain - (double)got) > 1e-6 * size)
                fail_msg("%s %s mode %d token %d row %d: packed %.9g, unpacked %.9g", k->isa, name,
                         mode, t, r, (double)got, plain);
        }
    /* Batch invariance: every token alone, and sub-batches of 2..6 from several starts. */
    for (int n_tok = 1; n_tok <= 6; n_tok++)
        for (int t0 = 0; t0 + n_tok <= MAX_TOKENS; t0 += n_tok == 1 ? 1 : 3) {
            float part[MAX_TOKENS * ROWS];
            run_kquant(tr, packed, group_bytes, act, act_stride, t0, n_tok, n, part);
            assert_memory_equal(part, &all[t0 * ROWS], (size_t)n_tok * ROWS * sizeof(float));
        }
    free(packed);
}

static void test_kquant_kernels_exact_and_batch_invariant(void **state) {
    (void)state;
    const ifn_kernels *tables[2] = {ifn_kernels_ref(), avx2_or_null()};
    const int64_t n = KQUANT_COLS;
    const size_t act_stride = (size_t)n / 256 * sizeof(ifn_block_q8_k) + 12;
    ifn_rng rng;
    ifn_rng_seed(&rng, 85);
    for (size_t ci = 0; ci < sizeof g_kquant_cases / sizeof g_kquant_cases[0]; ci++) {
        const kquant_case *kc = &g_kquant_cases[ci];
        const size_t row_bytes = ifn_dtype_row_bytes(kc->type, n);
        unsigned char *w = malloc(ROWS * row_bytes), *act = malloc(MAX_TOKENS * act_stride);
        unsigned char *act_ref = malloc(MAX_TOKENS * act_stride);
        float *x = malloc((size_t)MAX_TOKENS * (size_t)n * sizeof *x);
        float y_ref[MAX_TOKENS * ROWS], y[MAX_TOKENS * ROWS];
        assert_true(w && act && act_ref && x);
        for (int mode = 0; mode < KQ_MODES; mode++) {
            make_kquant(&rng, kc, mode, n, w, row_bytes, x);
            check_kquant(tables[0], kc, mode, w, row_bytes, x, act_ref, act_stride, y_ref);
            if (!tables[1]) continue;
            check_kquant(tables[1], kc, mode, w, row_bytes, x, act, act_stride, y);
            /* The AVX2 table: same activation bytes and outputs as the reference. */
            for (int t = 0; t < MAX_TOKENS; t++)
                assert_memory_equal(act_ref + (size_t)t * act_stride, act + (size_t)t * act_stride,
                                    (size_t)n / 256 * sizeof(ifn_block_q8_k));
            assert_memory_equal(y_ref, y, sizeof y_ref);
        }
        /* ifn_ops packs the same bytes, sized by the table's group_block_bytes. */
        ifn_tensor t = {
            .type = kc->type, .n_cols = n, .n_rows = ROWS, .row_bytes = row_bytes, .data = w};
        const ifn_matmul_traits *tr = &ifn_kernels_get()->matmul_packed[kc->type];
        const size_t group_bytes = (size_t)(n / 256) * (size_t)tr->group_block_bytes;
        assert_true(ifn_ops_can_pack(&t));
        assert_int_equal(ifn_ops_packed_bytes(&t), ROWS / 8 * group_bytes);
        unsigned char *via_ops = malloc(ROWS / 8 * group_bytes),
                      *direct = malloc(ROWS / 8 * group_bytes);
        assert_true(via_ops && direct);
        assert_int_equal(ifn_ops_pack_rows(&t, via_ops, 0, ROWS), IFN_OK);
        for (int g = 0; g < ROWS / 8; g++)
            tr->pack_x8(w + (size_t)g * 8 * row_bytes, row_bytes, n,
                        direct + (size_t)g * group_bytes);
        assert_memory_equal(via_ops, direct, ROWS / 8 * group_bytes);
        free(via_ops);
        free(direct);
        free(w);
        free(act);
        free(act_ref);
        free(x);
    }
}

/* ---- F16 / BF16 groups ---- */

static float half_at(ifn_dtype type, const unsigned char *row, int64_t e) {
    uint16_t h;
    memcpy(&h, row + 2 * e, sizeof h);
    return type == IFN_DTYPE_F16 ? ifn_f16_to_f32(h) : ifn_bf16_to_f32(h);
}

static void check_half(const ifn_kernels *k, ifn_dtype type, int64_t n, const unsigned char *w,
                       const float *x, size_t x_stride) {
    const ifn_matmul_traits *tr = &k->matmul_packed[type];
    assert_non_null(tr->gemm_x8);
    assert_int_equal(tr->act_type, IFN_DTYPE_F32);
    const size_t row_bytes = (size_t)n * 2;
    unsigned char *packed = malloc(ROWS * row_bytes);
    assert_non_null(packed);
    for (int g = 0; g < ROWS / 8; g++)
        tr->pack_x8(w + (size_t)g * 8 * row_bytes, row_bytes, n, packed + (size_t)g * 8 * row_bytes);
    float all[MAX_TOKENS * ROWS], part[MAX_TOKENS * ROWS];
    for (int g = 0; g < ROWS / 8; g++)
        tr->gemm_x8(packed + (size_t)g * 8 * row_bytes, x, x_stride, MAX_TOKENS, n, all + 8 * g, ROWS);
    for (int t = 0; t < MAX_TOKENS; t++)
        for (int r = 0; r < ROWS; r++) {
            const float *a = (const float *)(const void *)((const unsigned char *)x + (size_t)t * x_stride);
            float want = 0.0f;
            for (int64_t e = 0; e < n; e++)
                want = fmaf(half_at(type, w + (size_t)r * row_bytes, e), a[e], want);
            if (memcmp(&want, &all[t * ROWS + r], sizeof want) != 0)
                fail_msg("%s %s n=%lld token %d row %d: %.9g, want %.9g", k->isa,
                         ifn_dtype_get_info(type)->name, (long long)n, t, r,
                         (double)all[t * ROWS + r], (double)want);
        }
    for (int n_tok = 1; n_tok <= 6; n_tok++)
        for (int t0 = 0; t0 + n_tok <= MAX_TOKENS; t0 += 2) {
            for (int g = 0; g < ROWS / 8; g++)
                tr->gemm_x8(packed + (size_t)g * 8 * row_bytes,
                            (const unsigned char *)x + (size_t)t0 * x_stride, x_stride, n_tok, n,
                            part + 8 * g, ROWS);
            assert_memory_equal(part, &all[t0 * ROWS], (size_t)n_tok * ROWS * sizeof(float));
            if (tr->gemm_x16) { /* both groups in one call: the same bits */
                memset(part, 0, sizeof part);
                tr->gemm_x16(packed, (const unsigned char *)x + (size_t)t0 * x_stride, x_stride,
                             n_tok, n, part, ROWS);
                assert_memory_equal(part, &all[t0 * ROWS], (size_t)n_tok * ROWS * sizeof(float));
            }
        }
    free(packed);
}

static void test_half_kernels_exact_and_batch_invariant(void **state) {
    (void)state;
    static const ifn_dtype types[] = {IFN_DTYPE_F16, IFN_DTYPE_BF16};
    static const int64_t lengths[] = {1, 2, 7, 8, 33, 2048, 2049};
    const ifn_kernels *tables[2] = {ifn_kernels_ref(), avx2_or_null()};
    ifn_rng rng;
    ifn_rng_seed(&rng, 84);
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
            const int64_t n = lengths[li];
            const size_t x_stride = (size_t)n * sizeof(float) + 16;
            float *src = malloc((size_t)n * sizeof *src);
            unsigned char *w = malloc(ROWS * (size_t)n * 2);
            float *x = malloc(MAX_TOKENS * x_stride);
            assert_true(src && w && x);
            for (int r = 0; r < ROWS; r++) {
                for (int64_t e = 0; e < n; e++) src[e] = normal(&rng);
                assert_int_equal(ifn_quant_row(types[ti], src, w + (size_t)r * (size_t)n * 2, n), IFN_OK);
            }
            for (size_t i = 0; i < MAX_TOKENS * x_stride / sizeof(float); i++) x[i] = normal(&rng);
            for (int k = 0; k < 2; k++)
                if (tables[k]) check_half(tables[k], types[ti], n, w, x, x_stride);
            free(src);
            free(w);
            free(x);
        }
}

static void test_pack_refuses_what_it_cannot_pack(void **state) {
    (void)state;
    static unsigned char data[12 * 34];
    ifn_tensor w = {.type = IFN_DTYPE_Q8_0, .n_cols = 32, .n_rows = 12, .row_bytes = 34, .data = data};
    assert_false(ifn_ops_can_pack(&w)); /* 12 rows: not whole groups */
    assert_int_equal(ifn_ops_pack_rows(&w, data, 0, 8), IFN_E_UNSUPPORTED);
    w.n_rows = 8;
    assert_true(ifn_ops_can_pack(&w));
    static unsigned char out[8 * 34];
    assert_int_equal(ifn_ops_pack_rows(&w, out, 0, 4), IFN_E_INVALID);
    ifn_tensor q5k = {.type = IFN_DTYPE_Q5_K, .n_cols = 256, .n_rows = 8, .row_bytes = 176, .data = data};
    assert_false(ifn_ops_can_pack(&q5k));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packed_kernels_exact_and_batch_invariant),
        cmocka_unit_test(test_avx2_matches_reference_bit_for_bit),
        cmocka_unit_test(test_packed_agrees_with_unpacked_path),
        cmocka_unit_test(test_kquant_kernels_exact_and_batch_invariant),
        cmocka_unit_test(test_half_kernels_exact_and_batch_invariant),
        cmocka_unit_test(test_pack_refuses_what_it_cannot_pack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
