/* Tests of the matmul kernels in the ifn_kernels tables (kernels/kernels.h): activation
 * quantizers and fast- and exact-path dot products, for every weight type, in the reference
 * table and (when the CPU has it) the AVX2 table. Weights come from ifn_quant_row on random
 * floats and from random raw blocks (every bit pattern, extreme scales); rows have odd byte
 * offsets and lengths of one block up to 11008 elements. What each check tolerates:
 *   exact path  vs a float64 dot of ifn_dequant_row's weights: 1e-5 of sum|w * x| (float32
 *               summation order only), and bit-exact weights (one-hot activations);
 *   fast path   vs a float64 dot of the same weights with the dequantized 8-bit activations
 *               (plus, for Q4_1 / Q5_1, the block mins times the stored sums): 1e-5 again,
 *               since the integer parts are exact;
 *   fast path   vs exact path: sum |w_i| * E_i, E_i the activation rounding bound
 *               (0.57 * amax / 127 per Q8_0 / Q8_1 block, whose F16 scale adds 127 * 2^-11 of a
 *               step to the half step; 0.501 * amax / 127 per Q8_K block; |x| * 2^-11 for F16),
 *               checked element-wise on the activations too;
 *   AVX2 vs ref fast path: 1e-5 (same integers, other float order); quantizer bytes equal. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/dequant.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "kernels/ref/act_blocks.h"
#include "kernels/ref/quant_act_ref.h"
#include "kernels/ref/vec_dot_ref.h"
#include "kernels/x86/quant_act_avx2.h"
#include "kernels/x86/vec_dot_avx2.h"
#include "util/half.h"
#include "util/rng.h"

#define SUM_TOL 1e-5 /* relative to sum |w * x|: float32 summation-order error */

static const ifn_dtype g_types[] = {
    IFN_DTYPE_F32,  IFN_DTYPE_F16,  IFN_DTYPE_BF16, IFN_DTYPE_Q4_0,   IFN_DTYPE_Q4_1,
    IFN_DTYPE_Q5_0, IFN_DTYPE_Q5_1, IFN_DTYPE_Q8_0, IFN_DTYPE_IQ4_NL, IFN_DTYPE_Q2_K,
    IFN_DTYPE_Q3_K, IFN_DTYPE_Q4_K, IFN_DTYPE_Q5_K, IFN_DTYPE_Q6_K,   IFN_DTYPE_IQ4_XS,
};
#define N_TYPES (sizeof g_types / sizeof g_types[0])

static const int64_t g_small_block_sizes[] = {32, 96, 256, 4096, 11008};
static const int64_t g_super_block_sizes[] = {256, 768, 4096, 11008};
static const int64_t g_float_sizes[] = {1, 7, 8, 33, 4096, 11011};

/* ---- data ---- */

static float normal(ifn_rng *rng) {
    float s = 0.0f;
    for (int i = 0; i < 4; i++)
        s += ifn_rng_next_f32(rng);
    return (s - 2.0f) * 1.7320508f; /* mean 0, variance 1 */
}

/* Activations like hidden states: unit noise, rare outliers, an all-zero block at 64..95. */
static void make_activations(ifn_rng *rng, float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        x[i] = normal(rng);
        if (ifn_rng_next_f32(rng) < 0.01f) x[i] *= 20.0f;
    }
    for (int64_t i = 64; i < 96 && i < n && n >= 256; i++)
        x[i] = 0.0f;
}

/* Byte offsets of the F16 fields (d, dmin or m) of a block, -1 terminated. */
static const int *half_fields(ifn_dtype type) {
    static const int d0[] = {0, -1}, d0_m2[] = {0, 2, -1}, q2_k[] = {80, 82, -1},
                     q3_k[] = {108, -1}, q6_k[] = {208, -1};
    switch (type) {
    case IFN_DTYPE_Q4_1:
    case IFN_DTYPE_Q5_1:
    case IFN_DTYPE_Q4_K:
    case IFN_DTYPE_Q5_K:
        return d0_m2;
    case IFN_DTYPE_Q2_K:
        return q2_k;
    case IFN_DTYPE_Q3_K:
        return q3_k;
    case IFN_DTYPE_Q6_K:
        return q6_k;
    default:
        return d0;
    }
}

static int is_float_type(ifn_dtype type) {
    return type == IFN_DTYPE_F32 || type == IFN_DTYPE_F16 || type == IFN_DTYPE_BF16;
}

/* A weight row: random floats through ifn_quant_row, or (raw) random bytes with finite F16
 * scales, which reach levels and scales no encoder writes (Q8_0's -128, Q6_K's scale -128). */
static void make_weights(ifn_rng *rng, ifn_dtype type, int64_t n, int raw, void *row) {
    const ifn_dtype_info *info = ifn_dtype_get_info((uint32_t)type);
    if (raw && !is_float_type(type)) {
        unsigned char *p = row;
        const size_t bytes = ifn_dtype_row_bytes(type, n);
        for (size_t i = 0; i < bytes; i++)
            p[i] = (unsigned char)ifn_rng_next_u64(rng);
        for (int64_t b = 0; b < n / info->block_elems; b++) {
            for (const int *f = half_fields(type); *f >= 0; f++) {
                const float v = (ifn_rng_next_f32(rng) - 0.5f) * 0.02f;
                const uint16_t h = ifn_f32_to_f16(v);
                memcpy(p + b * info->block_bytes + *f, &h, sizeof h);
            }
        }
        return;
    }
    float *w = malloc((size_t)n * sizeof *w);
    assert_non_null(w);
    const float row_scale = 0.05f * (1.0f + 10.0f * ifn_rng_next_f32(rng));
    for (int64_t i = 0; i < n; i++) {
        w[i] = row_scale * normal(rng);
        if (ifn_rng_next_f32(rng) < 0.002f) w[i] *= 8.0f;
    }
    assert_int_equal(ifn_quant_row(type, w, row, n), IFN_OK);
    free(w);
}

/* Decodes an activation row of `act` type to float (what the fast path multiplies with). */
static void dequant_act(ifn_dtype act, const void *row, const float *x, float *out, int64_t n) {
    if (act == IFN_DTYPE_F32) {
        memcpy(out, x, (size_t)n * sizeof *out);
    } else if (act == IFN_DTYPE_Q8_1) {
        const ifn_block_q8_1 *b = row;
        for (int64_t i = 0; i < n; i++)
            out[i] = ifn_f16_to_f32(b[i / 32].d) * (float)b[i / 32].qs[i % 32];
    } else if (act == IFN_DTYPE_Q8_K) {
        const ifn_block_q8_k *b = row;
        for (int64_t i = 0; i < n; i++)
            out[i] = b[i / 256].d * (float)b[i / 256].qs[i % 256];
    } else {
        assert_int_equal(ifn_dequant_row(act, row, out, n), IFN_OK);
    }
}

/* Bound on |dequantized activation - x| for element i (see the file comment). */
static double act_error_bound(ifn_dtype act, const float *x, int64_t i) {
    if (act == IFN_DTYPE_F32) return 0.0;
    if (act == IFN_DTYPE_F16) return fabs(x[i]) * 0x1p-11 + 0x1p-25;
    const int64_t block = act == IFN_DTYPE_Q8_K ? 256 : 32;
    double amax = 0.0;
    for (int64_t j = i / block * block; j < (i / block + 1) * block; j++)
        amax = fmax(amax, fabs(x[j]));
    return (act == IFN_DTYPE_Q8_K ? 0.501 : 0.57) * amax / 127.0;
}

/* ---- checks ---- */

typedef struct row_case {
    ifn_dtype type;
    int64_t n;
    const void *w;   /* weight row, at an odd address for block types */
    const float *wd; /* [n] its decoded weights */
    const float *x;  /* [n] activations */
} row_case;

/* sum over Q4_1 / Q5_1 blocks of m * (s - sum of the dequantized activations): what the fast
 * path adds through the stored sums s instead of the quants. 0 for other types. */
static double min_term(const row_case *c, const void *act, const float *xh, double *out_abs) {
    *out_abs = 0.0;
    if (c->type != IFN_DTYPE_Q4_1 && c->type != IFN_DTYPE_Q5_1) return 0.0;
    const size_t block_bytes = ifn_dtype_row_bytes(c->type, 32);
    const ifn_block_q8_1 *a = act;
    double total = 0.0;
    for (int64_t b = 0; b < c->n / 32; b++) {
        uint16_t mh;
        memcpy(&mh, (const unsigned char *)c->w + b * (int64_t)block_bytes + 2, sizeof mh);
        const double m = ifn_f16_to_f32(mh), s = ifn_f16_to_f32(a[b].s);
        double sum_xh = 0.0;
        for (int64_t j = 32 * b; j < 32 * b + 32; j++)
            sum_xh += xh[j];
        total += m * (s - sum_xh);
        *out_abs += fabs(m * s);
    }
    return total;
}

static void *quantize_for(const ifn_matmul_traits *tr, const float *x, int64_t n) {
    if (tr->act_type == IFN_DTYPE_F32) return NULL;
    void *act = malloc(ifn_dtype_row_bytes(tr->act_type, n) + 64);
    assert_non_null(act);
    tr->quantize_act(x, act, n);
    return act;
}

static void check_exact(const ifn_kernels *k, const row_case *c) {
    const ifn_vec_dot_fn dot = k->matmul_exact[c->type].vec_dot;
    assert_non_null(dot);
    assert_int_equal(k->matmul_exact[c->type].act_type, IFN_DTYPE_F32);
    double want = 0.0, abs_sum = 0.0;
    for (int64_t i = 0; i < c->n; i++) {
        want += (double)c->wd[i] * c->x[i];
        abs_sum += fabs((double)c->wd[i] * c->x[i]);
    }
    const double got = dot(c->w, c->x, c->n);
    if (fabs(got - want) > SUM_TOL * abs_sum + 1e-30)
        fail_msg("%s exact %s n=%lld: %.9g, want %.9g", k->isa, ifn_dtype_get_info(c->type)->name,
                 (long long)c->n, got, want);

    /* one-hot activations read single weights back: they must be the decoder's floats */
    float *e = calloc((size_t)c->n, sizeof *e);
    assert_non_null(e);
    const int64_t step = c->n <= 256 ? 1 : c->n / 61 + 1;
    for (int64_t i = 0; i < c->n; i += step) {
        e[i] = 1.0f;
        const float wi = dot(c->w, e, c->n);
        if (wi != c->wd[i])
            fail_msg("%s exact %s: weight %lld is %.9g, decoder says %.9g", k->isa,
                     ifn_dtype_get_info(c->type)->name, (long long)i, wi, c->wd[i]);
        e[i] = 0.0f;
    }
    free(e);
}

/* Returns the fast-path result so the caller can compare tables. */
static float check_fast(const ifn_kernels *k, const row_case *c, double *out_abs_sum) {
    const ifn_matmul_traits *tr = &k->matmul[c->type];
    assert_non_null(tr->vec_dot);
    const char *name = ifn_dtype_get_info(c->type)->name;
    void *act = quantize_for(tr, c->x, c->n);
    float *xh = malloc((size_t)c->n * sizeof *xh);
    assert_non_null(xh);
    dequant_act(tr->act_type, act, c->x, xh, c->n);

    double model = 0.0, abs_sum = 0.0, exact = 0.0, rounding = 0.0;
    for (int64_t i = 0; i < c->n; i++) {
        const double bound = act_error_bound(tr->act_type, c->x, i);
        if (fabs((double)xh[i] - c->x[i]) > bound * (1 + 1e-6))
            fail_msg("%s %s act %lld: %.9g rounds to %.9g", k->isa, name, (long long)i, c->x[i],
                     xh[i]);
        model += (double)c->wd[i] * xh[i];
        abs_sum += fabs((double)c->wd[i] * xh[i]);
        exact += (double)c->wd[i] * c->x[i];
        rounding += fabs((double)c->wd[i]) * bound;
    }
    double min_abs;
    const double mins = min_term(c, act, xh, &min_abs);
    model += mins;
    const float got = tr->vec_dot(c->w, act ? act : (const void *)c->x, c->n);
    const double tol = SUM_TOL * (abs_sum + min_abs) + 1e-30;
    if (fabs(got - model) > tol)
        fail_msg("%s fast %s n=%lld: %.9g, want %.9g (tol %.3g)", k->isa, name, (long long)c->n,
                 got, model, tol);
    if (fabs(got - exact) > rounding + fabs(mins) + 2 * tol)
        fail_msg("%s fast %s n=%lld: %.9g, exact %.9g beyond rounding bound %.3g", k->isa, name,
                 (long long)c->n, got, exact, rounding);
    free(xh);
    free(act);
    *out_abs_sum = abs_sum + min_abs;
    return got;
}

static void check_type(ifn_dtype type, int64_t n, int raw, ifn_rng *rng) {
    const ifn_kernels *ref = ifn_kernels_ref(), *avx2 = ifn_kernels_avx2();
    const size_t row_bytes = ifn_dtype_row_bytes(type, n);
    /* F32 rows stay float-aligned; others start at an odd (or 2-byte) offset */
    const size_t offset = type == IFN_DTYPE_F32 ? 0 : is_float_type(type) ? 2 : 1;
    unsigned char *buf = malloc(row_bytes + offset);
    float *wd = malloc((size_t)n * sizeof *wd), *x = malloc((size_t)n * sizeof *x);
    assert_true(buf && wd && x);
    make_weights(rng, type, n, raw, buf + offset);
    assert_int_equal(ifn_dequant_row(type, buf + offset, wd, n), IFN_OK);
    make_activations(rng, x, n);
    const row_case c = {type, n, buf + offset, wd, x};

    check_exact(ref, &c);
    double abs_sum;
    const float ref_fast = check_fast(ref, &c, &abs_sum);
    if (avx2) {
        check_exact(avx2, &c);
        const float fast = check_fast(avx2, &c, &abs_sum);
        if (fabs((double)fast - ref_fast) > SUM_TOL * abs_sum + 1e-30)
            fail_msg("avx2 fast %s n=%lld: %.9g, ref %.9g", ifn_dtype_get_info(type)->name,
                     (long long)n, fast, ref_fast);
    }
    free(buf);
    free(wd);
    free(x);
}

static void test_vec_dot_type(void **state) {
    const ifn_dtype type = *(const ifn_dtype *)*state;
    const int64_t *sizes = g_small_block_sizes;
    size_t n_sizes = sizeof g_small_block_sizes / sizeof *sizes;
    if (is_float_type(type)) {
        sizes = g_float_sizes;
        n_sizes = sizeof g_float_sizes / sizeof *sizes;
    } else if (ifn_dtype_get_info((uint32_t)type)->block_elems == 256) {
        sizes = g_super_block_sizes;
        n_sizes = sizeof g_super_block_sizes / sizeof *sizes;
    }
    ifn_rng rng;
    ifn_rng_seed(&rng, 1234 + (uint64_t)type);
    for (size_t s = 0; s < n_sizes; s++) {
        for (int raw = 0; raw < 2; raw++)
            check_type(type, sizes[s], raw, &rng);
    }
    if (!ifn_kernels_avx2()) print_message("no AVX2 on this CPU: checked the ref table only\n");
}

/* ---- activation quantizers ---- */

typedef void (*quant_act_fn)(const float *x, void *out, int64_t n);

/* Rows that hit the quantizers' corner cases: halves that round differently under ties-to-even
 * and away-from-zero, zero blocks, negative and tied extremes, then random data. */
static void make_quantizer_input(ifn_rng *rng, float *x, int64_t n, int variant) {
    for (int64_t i = 0; i < n; i++)
        x[i] = normal(rng) * (variant == 2 ? 1e-3f : 3.0f);
    if (variant != 0 || n < 1024) return;
    /* halves; every 32-block holds +-127 first, so Q8_0's d is 1 and Q8_K's max is +127 */
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((int)(i % 254) - 127) + 0.5f;
    for (int64_t b = 0; b < n; b += 32)
        x[b] = (b / 32) % 2 ? -127.0f : 127.0f;
    for (int64_t i = 256; i < 512; i++)
        x[i] = 0.0f;
    for (int64_t i = 512; i < 1024; i++)
        x[i] *= 0.01f;
    x[512] = 5.0f; /* ties of magnitude: the first one sets Q8_K's sign */
    x[513] = -5.0f;
    x[768] = -9.0f;
    x[769] = 9.0f;
}

static void test_quantize_act_avx2_matches_ref(void **state) {
    (void)state;
    if (!ifn_kernels_avx2()) skip();
    const struct {
        ifn_dtype type;
        quant_act_fn ref, avx2;
    } cases[] = {
        {IFN_DTYPE_Q8_0, ifn_quant_act_q8_0_ref, ifn_quant_act_q8_0_avx2},
        {IFN_DTYPE_Q8_1, ifn_quant_act_q8_1_ref, ifn_quant_act_q8_1_avx2},
        {IFN_DTYPE_Q8_K, ifn_quant_act_q8_k_ref, ifn_quant_act_q8_k_avx2},
        {IFN_DTYPE_F16, ifn_quant_act_f16_ref, ifn_quant_act_f16_avx2},
    };
    const int64_t n = 4096;
    float *x = malloc(n * sizeof *x);
    unsigned char *a = malloc(n * sizeof(float)); /* more than any of the four types needs */
    unsigned char *b = malloc(n * sizeof(float));
    assert_true(x && a && b);
    ifn_rng rng;
    ifn_rng_seed(&rng, 99);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int variant = 0; variant < 3; variant++) {
            make_quantizer_input(&rng, x, n, variant);
            const int64_t len = cases[c].type == IFN_DTYPE_F16 ? n - 3 : n; /* F16 tail */
            const size_t bytes = ifn_dtype_row_bytes(cases[c].type, len);
            memset(a, 0xAA, bytes);
            memset(b, 0x55, bytes);
            cases[c].ref(x, a, len);
            cases[c].avx2(x, b, len);
            for (size_t i = 0; i < bytes; i++) {
                if (a[i] != b[i])
                    fail_msg("%s variant %d: byte %zu is %02x, ref %02x",
                             ifn_dtype_get_info(cases[c].type)->name, variant, i, b[i], a[i]);
            }
        }
    }
    free(x);
    free(a);
    free(b);
}

/* The reference quantizers against independent statements of ggml's formulas. */
static void test_quantize_act_ref_follows_ggml(void **state) {
    (void)state;
    const int64_t n = 1024;
    float x[1024];
    ifn_rng rng;
    ifn_rng_seed(&rng, 7);
    make_quantizer_input(&rng, x, n, 0);

    /* Q8_0 is the weight encoder's Q8_0 (checked against llama-quantize's bytes) */
    ifn_block_q8_0 q80[32], want80[32];
    ifn_quant_act_q8_0_ref(x, q80, n);
    assert_int_equal(ifn_quant_row(IFN_DTYPE_Q8_0, x, want80, n), IFN_OK);
    assert_memory_equal(q80, want80, sizeof q80);
    /* amax 127 gives d = 1: halves round away from zero */
    assert_int_equal(q80[0].d, ifn_f32_to_f16(1.0f));
    assert_int_equal(q80[0].qs[1], -126); /* x = -125.5 */
    assert_int_equal(q80[0].qs[2], -125); /* x = -124.5 */

    /* Q8_1: the same quants, plus s = F16(sum(q) * unrounded d) */
    ifn_block_q8_1 q81[32];
    ifn_quant_act_q8_1_ref(x, q81, n);
    for (int b = 0; b < 32; b++) {
        assert_int_equal(q81[b].d, q80[b].d);
        assert_memory_equal(q81[b].qs, q80[b].qs, 32);
        float amax = 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            amax = fmaxf(amax, fabsf(x[32 * b + j]));
            sum += q80[b].qs[j];
        }
        assert_int_equal(q81[b].s, ifn_f32_to_f16((float)sum * (amax / 127.0f)));
    }

    /* Q8_K: block 0's max is +127 (before any -127), so iscale = -1; ties go to even */
    ifn_block_q8_k qk[4];
    ifn_quant_act_q8_k_ref(x, qk, n);
    assert_true(qk[0].d == -1.0f);
    assert_int_equal(qk[0].qs[0], -127); /* x = 127 */
    assert_int_equal(qk[0].qs[1], 126);  /* x = -125.5 */
    assert_int_equal(qk[0].qs[2], 124);  /* x = -124.5 */
    for (int g = 0; g < 16; g++) {
        int sum = 0;
        for (int j = 0; j < 16; j++)
            sum += qk[0].qs[16 * g + j];
        assert_int_equal(qk[0].bsums[g], sum);
    }
    assert_true(qk[1].d == 0.0f); /* the zero block 256..511 */
    for (int j = 0; j < 256; j++)
        assert_int_equal(qk[1].qs[j], 0);
    for (int g = 0; g < 16; g++)
        assert_int_equal(qk[1].bsums[g], 0);
    /* block 2: +5 before -5, so max = +5 and x = +5 maps to -127; block 3 the other way */
    assert_int_equal(qk[2].qs[0], -127);
    assert_int_equal(qk[2].qs[1], 127);
    assert_true(qk[2].d == 1.0f / (-127.0f / 5.0f));
    assert_int_equal(qk[3].qs[0], -127);
    assert_int_equal(qk[3].qs[1], 127);
    assert_true(qk[3].d == 1.0f / (-127.0f / -9.0f));
}

/* Q8_K corner cases spelled out: max = -127 gives iscale = 1, so x = k + 0.5 rounds to even. */
static void test_quantize_act_q8_k_rounds_ties_to_even(void **state) {
    (void)state;
    float x[256] = {0};
    x[0] = -127.0f;
    x[1] = 2.5f;
    x[2] = 3.5f;
    x[3] = -2.5f;
    x[4] = 127.0f; /* same magnitude later: does not change the sign */
    ifn_block_q8_k q;
    ifn_quant_act_q8_k_ref(x, &q, 256);
    assert_true(q.d == 1.0f);
    assert_int_equal(q.qs[0], -127);
    assert_int_equal(q.qs[1], 2);
    assert_int_equal(q.qs[2], 4);
    assert_int_equal(q.qs[3], -2);
    assert_int_equal(q.qs[4], 127);
    assert_int_equal(q.bsums[0], -127 + 2 + 4 - 2 + 127);
    if (ifn_kernels_avx2()) {
        ifn_block_q8_k v;
        ifn_quant_act_q8_k_avx2(x, &v, 256);
        assert_memory_equal(&v, &q, sizeof q);
    }
}

/* F16 weights with F16 activations (the alternative bench_kernels compares against the table's
 * F32 activations). */
static void test_vec_dot_f16_f16_matches_float64(void **state) {
    (void)state;
    ifn_rng rng;
    ifn_rng_seed(&rng, 5);
    for (size_t s = 0; s < sizeof g_float_sizes / sizeof *g_float_sizes; s++) {
        const int64_t n = g_float_sizes[s];
        uint16_t *w = malloc((size_t)n * 2), *a = malloc((size_t)n * 2);
        float *x = malloc((size_t)n * sizeof *x);
        assert_true(w && a && x);
        make_activations(&rng, x, n);
        ifn_quant_act_f16_ref(x, a, n);
        make_activations(&rng, x, n);
        ifn_quant_act_f16_ref(x, w, n);
        double want = 0.0, abs_sum = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const double p = (double)ifn_f16_to_f32(w[i]) * ifn_f16_to_f32(a[i]);
            want += p;
            abs_sum += fabs(p);
        }
        assert_true(fabs(ifn_vec_dot_f16_f16_ref(w, a, n) - want) <= SUM_TOL * abs_sum);
        if (ifn_kernels_avx2())
            assert_true(fabs(ifn_vec_dot_f16_f16_avx2(w, a, n) - want) <= SUM_TOL * abs_sum);
        free(w);
        free(a);
        free(x);
    }
}

static void test_vec_dot_tables_cover_decodable_types(void **state) {
    (void)state;
    const ifn_kernels *tables[] = {ifn_kernels_ref(), ifn_kernels_avx2(), ifn_kernels_get()};
    for (size_t t = 0; t < 3; t++) {
        if (!tables[t]) continue;
        for (int type = 0; type < IFN_DTYPE_COUNT; type++) {
            const ifn_dtype_info *info = ifn_dtype_get_info((uint32_t)type);
            const int want = info && info->can_dequantize;
            assert_int_equal(tables[t]->matmul[type].vec_dot != NULL, want);
            assert_int_equal(tables[t]->matmul_exact[type].vec_dot != NULL, want);
            const ifn_dtype act = tables[t]->matmul[type].act_type;
            assert_int_equal(tables[t]->matmul[type].quantize_act == NULL, act == IFN_DTYPE_F32);
        }
    }
}

int main(void) {
    static char names[N_TYPES][64];
    struct CMUnitTest tests[N_TYPES + 5];
    size_t n_tests = 0;
    for (size_t i = 0; i < N_TYPES; i++) {
        snprintf(names[i], sizeof names[i], "test_vec_dot_%s_fast_and_exact_paths",
                 ifn_dtype_get_info(g_types[i])->name);
        tests[n_tests++] =
            (struct CMUnitTest){names[i], test_vec_dot_type, NULL, NULL, (void *)&g_types[i]};
    }
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_quantize_act_avx2_matches_ref),
        cmocka_unit_test(test_quantize_act_ref_follows_ggml),
        cmocka_unit_test(test_quantize_act_q8_k_rounds_ties_to_even),
        cmocka_unit_test(test_vec_dot_f16_f16_matches_float64),
        cmocka_unit_test(test_vec_dot_tables_cover_decodable_types),
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        tests[n_tests++] = fixed[i];
    return _cmocka_run_group_tests("vec_dot", tests, n_tests, NULL, NULL);
}
