/* AVX2 activation quantizers. They reproduce the reference bytes exactly: the same scale
 * arithmetic in the same order, roundf's halves-away-from-zero built from truncation (Q8_0,
 * Q8_1) and ties-to-even rounding (Q8_K, as ggml's nearest_int), saturating packs that clamp
 * like the reference. NaN and infinity are not supported (the reference gives other bytes). */
#include "kernels/x86/quant_act_avx2.h"

#include <math.h>

#include "kernels/ref/act_blocks.h"
#include "kernels/x86/util_avx2.h"
#include "util/half.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static __m256 abs_ps(__m256 v) {
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

static float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* roundf() on 8 lanes: truncate, then step one away from zero when the (exact) remainder is
 * at least one half. */
static __m256 round_half_away(__m256 y) {
    const __m256 t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = abs_ps(_mm256_sub_ps(y, t));
    const __m256 step = _mm256_or_ps(_mm256_and_ps(y, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
    const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    return _mm256_add_ps(t, _mm256_and_ps(up, step));
}

/* Four vectors of 8 int32 (each -128..127 after saturation) to 32 bytes in element order. */
static __m256i pack_i32_to_i8(__m256i i0, __m256i i1, __m256i i2, __m256i i3) {
    const __m256i p01 = _mm256_packs_epi32(i0, i1);
    const __m256i p23 = _mm256_packs_epi32(i2, i3);
    const __m256i bytes = _mm256_packs_epi16(p01, p23);
    /* the packs interleave 128-bit lanes: dword k of the result holds source quarter order
     * 0,4,1,5,2,6,3,7 of the wanted one */
    return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* One 32-element block as Q8_0; returns the unrounded d and, in *out_sum, the sum of q. */
static float quantize_block_32(const float *x, int8_t *qs, int *out_sum) {
    __m256 v[4];
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        m = _mm256_max_ps(m, abs_ps(v[k]));
    }
    const float amax = hmax_ps(m);
    const float d = amax / 127.0f;
    const __m256 id = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    __m256i q[4];
    for (int k = 0; k < 4; k++)
        q[k] = _mm256_cvtps_epi32(round_half_away(_mm256_mul_ps(v[k], id)));
    _mm256_storeu_si256((__m256i *)qs, pack_i32_to_i8(q[0], q[1], q[2], q[3]));
    /* sum of q: 32 values of at most 127 in magnitude, no overflow */
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(1, 0, 3, 2)));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
    *out_sum = _mm_cvtsi128_si32(s4);
    return d;
}

void ifn_quant_act_q8_0_avx2(const float *x, void *out, int64_t n) {
    ifn_block_q8_0 *y = out;
    for (int64_t i = 0; i < n / IFN_QK_SMALL; i++) {
        int sum;
        const float d = quantize_block_32(x + i * IFN_QK_SMALL, y[i].qs, &sum);
        y[i].d = ifn_f32_to_f16(d);
    }
}

void ifn_quant_act_q8_1_avx2(const float *x, void *out, int64_t n) {
    ifn_block_q8_1 *y = out;
    for (int64_t i = 0; i < n / IFN_QK_SMALL; i++) {
        int sum;
        const float d = quantize_block_32(x + i * IFN_QK_SMALL, y[i].qs, &sum);
        y[i].d = ifn_f32_to_f16(d);
        y[i].s = ifn_f32_to_f16((float)sum * d);
    }
}

/* Sums of each 16 quants of 4 consecutive 32-byte chunks, in group order (8 int32). */
static __m256i group_sums_16(const int8_t *qs) {
    __m256i c[4];
    for (int k = 0; k < 4; k++)
        c[k] = ifn_avx2_dot_u8_i8(_mm256_set1_epi8(1), ifn_avx2_load(qs + 32 * k));
    /* c[k] lanes 0..3 hold partial sums of group 2k, lanes 4..7 of group 2k + 1; two rounds of
     * hadd leave groups 0, 2, 4, 6 in the low 128 bits and 1, 3, 5, 7 in the high ones */
    const __m256i h =
        _mm256_hadd_epi32(_mm256_hadd_epi32(c[0], c[1]), _mm256_hadd_epi32(c[2], c[3]));
    return _mm256_permutevar8x32_epi32(h, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static void quantize_block_k(const float *x, ifn_block_q8_k *y) {
    __m256 m = _mm256_setzero_ps();
    for (int j = 0; j < IFN_QK_K; j += 8)
        m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + j)));
    const float amax = hmax_ps(m);
    if (amax == 0.0f) {
        memset(y, 0, sizeof *y);
        return;
    }
    float max = 0.0f;
    for (int j = 0; j < IFN_QK_K; j++) {
        if (fabsf(x[j]) == amax) { /* the first element of largest magnitude, as the ref */
            max = x[j];
            break;
        }
    }
    const float iscale = -127.0f / max;
    const __m256 s = _mm256_set1_ps(iscale);
    for (int j = 0; j < IFN_QK_K; j += 32) {
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * k), s);
            q[k] = _mm256_cvtps_epi32(
                _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        }
        _mm256_storeu_si256((__m256i *)(y->qs + j), pack_i32_to_i8(q[0], q[1], q[2], q[3]));
    }
    const __m256i sums = _mm256_packs_epi32(group_sums_16(y->qs), group_sums_16(y->qs + 128));
    _mm256_storeu_si256((__m256i *)y->bsums,
                        _mm256_permute4x64_epi64(sums, _MM_SHUFFLE(3, 1, 2, 0)));
    y->d = 1.0f / iscale;
}

void ifn_quant_act_q8_k_avx2(const float *x, void *out, int64_t n) {
    ifn_block_q8_k *y = out;
    for (int64_t i = 0; i < n / IFN_QK_K; i++)
        quantize_block_k(x + i * IFN_QK_K, &y[i]);
}

void ifn_quant_act_f16_avx2(const float *x, void *out, int64_t n) {
    unsigned char *y = out;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(y + 2 * i), h);
    }
    for (; i < n; i++) {
        const uint16_t h = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
        memcpy(y + 2 * i, &h, sizeof h);
    }
}
