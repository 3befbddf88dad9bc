/* Tests of the four-token dot products (vec_dot_x4 in kernels/kernels.h): batch invariance,
 * i.e. out[j] bit-identical (memcmp) to the same table's single-token vec_dot on activation row
 * j, for every weight type, every table (the AVX2 one when the CPU has it) and both the fast
 * and the exact path where they have a four-token kernel. Weight rows come from ifn_quant_row on
 * random floats and from random raw blocks (extreme levels and scales), at odd addresses;
 * activation rows from the table's own quantize_act and from random raw blocks (quants of -128
 * too, except for Q4_0 / Q5_0: see kernels.h), packed or with padded strides (stride 0: four
 * times the same row). Lengths: one block, odd block counts
 * (the single-token kernels alternate two accumulators over blocks), up to 11040 elements, and
 * float rows with every kind of tail. There is no tolerance: any difference fails. */
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
#include "util/alloc.h"
#include "util/half.h"
#include "util/rng.h"

static const ifn_dtype g_types[] = {
    IFN_DTYPE_Q8_0, IFN_DTYPE_Q4_0, IFN_DTYPE_Q4_K,   IFN_DTYPE_Q6_K,   IFN_DTYPE_Q5_K,
    IFN_DTYPE_F16,  IFN_DTYPE_F32,  IFN_DTYPE_Q4_1,   IFN_DTYPE_Q5_0,   IFN_DTYPE_Q5_1,
    IFN_DTYPE_Q2_K, IFN_DTYPE_Q3_K, IFN_DTYPE_IQ4_NL, IFN_DTYPE_IQ4_XS, IFN_DTYPE_BF16,
};
#define N_TYPES (sizeof g_types / sizeof g_types[0])

/* Lengths, in elements: 1, 2, 3, 5 blocks (odd counts end on the first accumulator), a 2048
 * model row, and long rows with an even and an odd block count. */
static const int64_t g_small_block_sizes[] = {32, 64, 96, 160, 2048, 11008, 11040};
static const int64_t g_super_block_sizes[] = {256, 512, 768, 1280, 2816, 11008};
/* Float rows: 8-element groups and scalar tails around the 32-element chunks. */
static const int64_t g_float_sizes[] = {1, 7, 8, 9, 31, 32, 33, 40, 63, 100, 2048, 4096, 11011};

/* ---- data ---- */

static float normal(ifn_rng *rng) {
    float s = 0.0f;
    for (int i = 0; i < 4; i++)
        s += ifn_rng_next_f32(rng);
    return (s - 2.0f) * 1.7320508f; /* mean 0, variance 1 */
}

static int is_float_type(ifn_dtype type) {
    return type == IFN_DTYPE_F32 || type == IFN_DTYPE_F16 || type == IFN_DTYPE_BF16;
}

/* Byte offsets of the F16 fields (d, dmin or m) of a weight block, -1 terminated. */
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

/* A weight row: random floats through ifn_quant_row, or (raw) random bytes with finite F16
 * scales, reaching levels and scales no encoder writes (Q8_0's -128, Q6_K's scale -128). */
static void make_weights(ifn_rng *rng, ifn_dtype type, int64_t n, int raw, void *row) {
    const ifn_dtype_info *info = ifn_dtype_get_info((uint32_t)type);
    if (raw && !is_float_type(type)) {
        unsigned char *p = row;
        for (size_t i = 0; i < ifn_dtype_row_bytes(type, n); i++)
            p[i] = (unsigned char)ifn_rng_next_u64(rng);
        for (int64_t b = 0; b < n / info->block_elems; b++) {
            for (const int *f = half_fields(type); *f >= 0; f++) {
                const uint16_t h = ifn_f32_to_f16((ifn_rng_next_f32(rng) - 0.5f) * 0.02f);
                memcpy(p + b * info->block_bytes + *f, &h, sizeof h);
            }
        }
        return;
    }
    float *w = malloc((size_t)n * sizeof *w);
    assert_non_null(w);
    const float row_scale = raw ? 1e3f : 0.05f * (1.0f + 10.0f * ifn_rng_next_f32(rng));
    for (int64_t i = 0; i < n; i++) {
        w[i] = row_scale * normal(rng);
        if (ifn_rng_next_f32(rng) < 0.002f) w[i] *= 8.0f;
    }
    assert_int_equal(ifn_quant_row(type, w, row, n), IFN_OK);
    free(w);
}

/* Float activations like hidden states: unit noise, rare outliers, a zero stretch. */
static void make_floats(ifn_rng *rng, float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        x[i] = normal(rng);
        if (ifn_rng_next_f32(rng) < 0.01f) x[i] *= 20.0f;
    }
    for (int64_t i = 64; i < 96 && i < n && n >= 256; i++)
        x[i] = 0.0f;
}

/* A random activation quant: -128..127, or -127..127 (what the quantizers write) for the weight
 * types whose four-token kernel needs it (Q4_0, Q5_0; see kernels.h). */
static int8_t raw_quant(ifn_rng *rng, int allow_minus_128) {
    if (allow_minus_128) return (int8_t)(ifn_rng_next_u64(rng) & 0xFF);
    return (int8_t)((int)(ifn_rng_next_u64(rng) % 255) - 127);
}

static uint16_t raw_half(ifn_rng *rng, float scale) {
    return ifn_f32_to_f16((ifn_rng_next_f32(rng) - 0.25f) * scale);
}

/* An activation row of `act` type from random blocks rather than a quantizer: any quants (see
 * raw_quant) with unrelated scales (Q8_1's s and Q8_K's bsums stay consistent with the quants,
 * as the kernels may use either). */
static void make_raw_act(ifn_rng *rng, ifn_dtype act, int allow_minus_128, int64_t n, void *out) {
    if (act == IFN_DTYPE_F32) {
        float *x = out;
        for (int64_t i = 0; i < n; i++)
            x[i] = (ifn_rng_next_f32(rng) - 0.5f) * 1e4f;
        return;
    }
    if (act == IFN_DTYPE_Q8_K) {
        for (int64_t b = 0; b < n / IFN_QK_K; b++) {
            ifn_block_q8_k blk;
            blk.d = (ifn_rng_next_f32(rng) - 0.1f) * 0.05f;
            for (int i = 0; i < IFN_QK_K; i++)
                blk.qs[i] = raw_quant(rng, allow_minus_128);
            for (int g = 0; g < IFN_QK_K / 16; g++) {
                int sum = 0;
                for (int i = 16 * g; i < 16 * g + 16; i++)
                    sum += blk.qs[i];
                blk.bsums[g] = (int16_t)sum;
            }
            memcpy((unsigned char *)out + b * (int64_t)sizeof blk, &blk, sizeof blk);
        }
        return;
    }
    const int has_sum = act == IFN_DTYPE_Q8_1;
    const size_t block_bytes = has_sum ? sizeof(ifn_block_q8_1) : sizeof(ifn_block_q8_0);
    for (int64_t b = 0; b < n / IFN_QK_SMALL; b++) {
        unsigned char *p = (unsigned char *)out + b * (int64_t)block_bytes;
        const uint16_t d = raw_half(rng, 0.1f), s = raw_half(rng, 20.0f);
        memcpy(p, &d, sizeof d);
        if (has_sum) memcpy(p + 2, &s, sizeof s);
        int8_t *qs = (int8_t *)(p + (has_sum ? 4 : 2));
        for (int i = 0; i < IFN_QK_SMALL; i++)
            qs[i] = raw_quant(rng, allow_minus_128);
    }
}

/* ---- checks ---- */

/* Bytes of one activation row of `act` type. */
static size_t act_row_bytes(ifn_dtype act, int64_t n) {
    return act == IFN_DTYPE_F32 ? (size_t)n * sizeof(float) : ifn_dtype_row_bytes(act, n);
}

/* vec_dot_x4 of `tr` on w against four rows at `act` (stride bytes apart) versus four
 * vec_dot calls: every bit of every result. */
static void expect_identical(const ifn_matmul_traits *tr, const char *what, const void *w,
                             const void *act, size_t stride, int64_t n) {
    float got[4] = {0}, want[4];
    tr->vec_dot_x4(w, act, stride, n, got);
    for (int j = 0; j < 4; j++)
        want[j] = tr->vec_dot(w, (const unsigned char *)act + (size_t)j * stride, n);
    for (int j = 0; j < 4; j++) {
        if (memcmp(&got[j], &want[j], sizeof got[j]) != 0)
            fail_msg("%s n=%lld stride=%zu token %d: x4 gives %a, single-token %a", what,
                     (long long)n, stride, j, (double)got[j], (double)want[j]);
    }
    if (!tr->vec_dot_x4_scaled) return;
    /* The variant with the activation scales given in float, as ifn_ops_matmul prepares them. */
    const size_t block_bytes = ifn_dtype_row_bytes(IFN_DTYPE_Q8_0, 32);
    float *scales = malloc((size_t)(n / 32 + 1) * 4 * sizeof *scales);
    assert_non_null(scales);
    for (int64_t b = 0; b < n / 32; b++)
        for (int j = 0; j < 4; j++) {
            uint16_t h;
            memcpy(&h, (const unsigned char *)act + (size_t)j * stride + (size_t)b * block_bytes,
                   sizeof h);
            scales[4 * b + j] = ifn_f16_to_f32(h);
        }
    tr->vec_dot_x4_scaled(w, act, stride, scales, n, got);
    free(scales);
    for (int j = 0; j < 4; j++) {
        if (memcmp(&got[j], &want[j], sizeof got[j]) != 0)
            fail_msg("%s n=%lld stride=%zu token %d: x4 scaled gives %a, single-token %a", what,
                     (long long)n, stride, j, (double)got[j], (double)want[j]);
    }
}

/* All activation variants for one weight row and one table path. */
static void check_path(const ifn_matmul_traits *tr, ifn_dtype type, const char *what, const void *w,
                       int64_t n, ifn_rng *rng) {
    const int allow_minus_128 = type != IFN_DTYPE_Q4_0 && type != IFN_DTYPE_Q5_0;
    const size_t row_bytes = act_row_bytes(tr->act_type, n);
    const size_t padded = (row_bytes + 63) / 64 * 64 + 64 + 4; /* keeps 4-byte alignment */
    unsigned char *act = ifn_alloc_aligned(64, 4 * padded);
    float *x = malloc((size_t)n * sizeof *x);
    assert_true(act && x);
    for (int source = 0; source < 2; source++) {
        for (int j = 0; j < 4; j++) {
            unsigned char *row = act + (size_t)j * padded;
            if (source == 1) {
                make_raw_act(rng, tr->act_type, allow_minus_128, n, row);
                continue;
            }
            make_floats(rng, x, n);
            if (tr->act_type == IFN_DTYPE_F32)
                memcpy(row, x, (size_t)n * sizeof *x);
            else
                tr->quantize_act(x, row, n);
        }
        expect_identical(tr, what, w, act, padded, n);
        expect_identical(tr, what, w, act, 0, n); /* one row four times */
        /* packed rows: the same four moved together */
        for (int j = 1; j < 4; j++)
            memmove(act + (size_t)j * row_bytes, act + (size_t)j * padded, row_bytes);
        expect_identical(tr, what, w, act, row_bytes, n);
    }
    ifn_free_aligned(act);
    free(x);
}

static void check_row(ifn_dtype type, int64_t n, int raw, ifn_rng *rng) {
    const ifn_kernels *tables[2] = {ifn_kernels_ref(), ifn_kernels_avx2()};
    const char *name = ifn_dtype_get_info((uint32_t)type)->name;
    const size_t row_bytes = ifn_dtype_row_bytes(type, n);
    /* F32 rows stay float-aligned; others start at an odd (or 2-byte) offset */
    const size_t offset = type == IFN_DTYPE_F32 ? 0 : is_float_type(type) ? 2 : 1;
    unsigned char *buf = malloc(row_bytes + offset);
    assert_non_null(buf);
    make_weights(rng, type, n, raw, buf + offset);
    for (int t = 0; t < 2 && tables[t]; t++) {
        char what[64];
        snprintf(what, sizeof what, "%s fast %s%s", tables[t]->isa, name, raw ? " raw" : "");
        check_path(&tables[t]->matmul[type], type, what, buf + offset, n, rng);
        const ifn_matmul_traits *exact = &tables[t]->matmul_exact[type];
        if (exact->vec_dot_x4) {
            snprintf(what, sizeof what, "%s exact %s%s", tables[t]->isa, name, raw ? " raw" : "");
            check_path(exact, type, what, buf + offset, n, rng);
        }
    }
    free(buf);
}

static void test_vec_dot_x4_matches_single_token(void **state) {
    const ifn_dtype type = *(const ifn_dtype *)*state;
    const int64_t *sizes = g_small_block_sizes;
    size_t n_sizes = sizeof g_small_block_sizes / sizeof *sizes;
    if (is_float_type(type)) {
        sizes = g_float_sizes;
        n_sizes = sizeof g_float_sizes / sizeof *sizes;
    } else if (ifn_dtype_get_info((uint32_t)type)->block_elems == IFN_QK_K) {
        sizes = g_super_block_sizes;
        n_sizes = sizeof g_super_block_sizes / sizeof *sizes;
    }
    ifn_rng rng;
    ifn_rng_seed(&rng, 4321 + (uint64_t)type);
    for (size_t s = 0; s < n_sizes; s++) {
        for (int raw = 0; raw < 2; raw++)
            check_row(type, sizes[s], raw, &rng);
    }
    if (!ifn_kernels_avx2()) print_message("no AVX2 on this CPU: checked the ref table only\n");
}

/* Every weight type with a fast-path kernel has a four-token one, in every table. */
static void test_vec_dot_x4_covers_every_fast_path_type(void **state) {
    (void)state;
    const ifn_kernels *tables[2] = {ifn_kernels_ref(), ifn_kernels_avx2()};
    for (int t = 0; t < 2 && tables[t]; t++) {
        for (int type = 0; type < IFN_DTYPE_COUNT; type++) {
            const ifn_matmul_traits *tr = &tables[t]->matmul[type];
            if (tr->vec_dot && !tr->vec_dot_x4)
                fail_msg("%s: %s has vec_dot but no vec_dot_x4", tables[t]->isa,
                         ifn_dtype_get_info((uint32_t)type)->name);
        }
    }
}

int main(void) {
    static char names[N_TYPES][64];
    struct CMUnitTest tests[N_TYPES + 1];
    size_t n_tests = 0;
    for (size_t i = 0; i < N_TYPES; i++) {
        snprintf(names[i], sizeof names[i], "test_vec_dot_x4_%s_matches_single_token",
                 ifn_dtype_get_info(g_types[i])->name);
        tests[n_tests++] = (struct CMUnitTest){names[i], test_vec_dot_x4_matches_single_token, NULL,
                                               NULL, (void *)&g_types[i]};
    }
    tests[n_tests++] =
        (struct CMUnitTest)cmocka_unit_test(test_vec_dot_x4_covers_every_fast_path_type);
    return _cmocka_run_group_tests("vec_dot_x4", tests, n_tests, NULL, NULL);
}
