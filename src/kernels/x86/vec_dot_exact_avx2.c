/* AVX2+FMA exact-path dot products. Each block's integer levels are rebuilt 32 at a time in a
 * register as the fast path does, widened to float, and turned into weights with the
 * decoder's own operations (level * scale, then + min as a separate rounding, never fused), so
 * every weight equals ifn_dequant_row's float; only the FMA accumulation into four 8-lane sums
 * differs from a sequential float dot product. */
#include "kernels/x86/vec_dot_exact_avx2.h"

#include "kernels/ref/quant_blocks.h"
#include "kernels/x86/util_avx2.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

typedef struct accum {
    __m256 v[4]; /* element k of each 32 goes to v[k / 8] */
} accum;

static inline accum accum_zero(void) {
    accum a = {
        {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}};
    return a;
}

static inline float accum_sum(const accum *a) {
    const __m256 s =
        _mm256_add_ps(_mm256_add_ps(a->v[0], a->v[1]), _mm256_add_ps(a->v[2], a->v[3]));
    return ifn_avx2_hsum_ps(s);
}

/* 32 int8 levels as 4 x 8 floats in element order. */
static inline void levels_to_ps(__m256i levels, __m256 f[4]) {
    const __m128i lo = _mm256_castsi256_si128(levels);
    const __m128i hi = _mm256_extracti128_si256(levels, 1);
    f[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
    f[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
    f[2] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
    f[3] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
}

/* acc += (level * d) * x over 32 elements: d0 scales elements 0..15, d1 elements 16..31. */
static inline void add_scaled(accum *acc, __m256i levels, float d0, float d1, const float *x) {
    __m256 f[4];
    levels_to_ps(levels, f);
    const __m256 s[2] = {_mm256_set1_ps(d0), _mm256_set1_ps(d1)};
    for (int k = 0; k < 4; k++) {
        const __m256 w = _mm256_mul_ps(f[k], s[k / 2]);
        acc->v[k] = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + 8 * k), acc->v[k]);
    }
}

/* As add_scaled with weights level * d + m (m0 / m1 per half), rounded twice as decoded. */
static inline void add_scaled_min(accum *acc, __m256i levels, float d0, float m0, float d1,
                                  float m1, const float *x) {
    __m256 f[4];
    levels_to_ps(levels, f);
    const __m256 s[2] = {_mm256_set1_ps(d0), _mm256_set1_ps(d1)};
    const __m256 m[2] = {_mm256_set1_ps(m0), _mm256_set1_ps(m1)};
    for (int k = 0; k < 4; k++) {
        const __m256 w = _mm256_add_ps(_mm256_mul_ps(f[k], s[k / 2]), m[k / 2]);
        acc->v[k] = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + 8 * k), acc->v[k]);
    }
}

static __m256i bytes(int v) {
    return _mm256_set1_epi8((char)v);
}

/* ---- 32-element blocks ---- */

float ifn_vec_dot_exact_q4_0_avx2(const void *w_row, const void *x, int64_t n) {
    const unsigned char *w = w_row;
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_SMALL; b++, w += sizeof(ifn_block_q4_0)) {
        const __m256i levels = _mm256_sub_epi8(ifn_avx2_unpack_nibbles(w + 2), bytes(8));
        const float d = ifn_avx2_load_f16(w);
        add_scaled(&acc, levels, d, d, (const float *)x + b * IFN_QK_SMALL);
    }
    return accum_sum(&acc);
}

float ifn_vec_dot_exact_q4_1_avx2(const void *w_row, const void *x, int64_t n) {
    const unsigned char *w = w_row;
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_SMALL; b++, w += sizeof(ifn_block_q4_1)) {
        const float d = ifn_avx2_load_f16(w), m = ifn_avx2_load_f16(w + 2);
        add_scaled_min(&acc, ifn_avx2_unpack_nibbles(w + 4), d, m, d, m,
                       (const float *)x + b * IFN_QK_SMALL);
    }
    return accum_sum(&acc);
}

float ifn_vec_dot_exact_q5_0_avx2(const void *w_row, const void *x, int64_t n) {
    const unsigned char *w = w_row;
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_SMALL; b++, w += sizeof(ifn_block_q5_0)) {
        const __m256i u =
            _mm256_or_si256(ifn_avx2_unpack_nibbles(w + 6), ifn_avx2_q5_high_bits(w + 2));
        const float d = ifn_avx2_load_f16(w);
        add_scaled(&acc, _mm256_sub_epi8(u, bytes(16)), d, d, (const float *)x + b * IFN_QK_SMALL);
    }
    return accum_sum(&acc);
}

float ifn_vec_dot_exact_q5_1_avx2(const void *w_row, const void *x, int64_t n) {
    const unsigned char *w = w_row;
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_SMALL; b++, w += sizeof(ifn_block_q5_1)) {
        const __m256i u =
            _mm256_or_si256(ifn_avx2_unpack_nibbles(w + 8), ifn_avx2_q5_high_bits(w + 4));
        const float d = ifn_avx2_load_f16(w), m = ifn_avx2_load_f16(w + 2);
        add_scaled_min(&acc, u, d, m, d, m, (const float *)x + b * IFN_QK_SMALL);
    }
    return accum_sum(&acc);
}

float ifn_vec_dot_exact_q8_0_avx2(const void *w_row, const void *x, int64_t n) {
    const unsigned char *w = w_row;
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_SMALL; b++, w += sizeof(ifn_block_q8_0)) {
        const float d = ifn_avx2_load_f16(w);
        add_scaled(&acc, ifn_avx2_load(w + 2), d, d, (const float *)x + b * IFN_QK_SMALL);
    }
    return accum_sum(&acc);
}

float ifn_vec_dot_exact_iq4_nl_avx2(const void *w_row, const void *x, int64_t n) {
    const unsigned char *w = w_row;
    const __m256i table = ifn_avx2_iq4nl_table();
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_SMALL; b++, w += sizeof(ifn_block_iq4_nl)) {
        const __m256i levels = _mm256_shuffle_epi8(table, ifn_avx2_unpack_nibbles(w + 2));
        const float d = ifn_avx2_load_f16(w);
        add_scaled(&acc, levels, d, d, (const float *)x + b * IFN_QK_SMALL);
    }
    return accum_sum(&acc);
}

/* ---- super-blocks (layouts in vec_dot_kquant_avx2.c and kernels/ref/quant_blocks.h) ---- */

/* out[k] = d * (float)bytes[k] for 8 unsigned bytes: the decoders' per-sub-block factors. */
static inline void scale_bytes(__m128i bytes8, float d, float out[8]) {
    const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes8));
    _mm256_storeu_ps(out, _mm256_mul_ps(f, _mm256_set1_ps(d)));
}

static void q2_k_block(const unsigned char *w, const float *x, accum *acc) {
    const float d = ifn_avx2_load_f16(w + 80), min = ifn_avx2_load_f16(w + 82);
    const __m128i packed = ifn_avx2_load128(w);
    const __m128i low = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
    const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F));
    float dl[16], ml[16]; /* d * (scale & 15), min * (scale >> 4) per sub-block */
    scale_bytes(low, d, dl);
    scale_bytes(_mm_srli_si128(low, 8), d, dl + 8);
    scale_bytes(high, -min, ml); /* negated: dl * q - ml is dl * q + (-ml) exactly */
    scale_bytes(_mm_srli_si128(high, 8), -min, ml + 8);
    for (int h = 0; h < 2; h++) {
        const __m256i q = ifn_avx2_load(w + 16 + 32 * h);
        for (int j = 0; j < 4; j++) {
            const __m256i levels = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), bytes(3));
            const int s = 8 * h + 2 * j;
            add_scaled_min(acc, levels, dl[s], ml[s], dl[s + 1], ml[s + 1], x + 128 * h + 32 * j);
        }
    }
}

static void q3_k_block(const unsigned char *w, const float *x, accum *acc) {
    const float d = ifn_avx2_load_f16(w + 108);
    int8_t scales[16];
    _mm_storeu_si128((__m128i *)scales, ifn_avx2_q3_k_scales(w + 96));
    const __m256i hmask = ifn_avx2_load(w);
    __m256i bit = bytes(1);
    for (int h = 0; h < 2; h++) {
        const __m256i q = ifn_avx2_load(w + 32 + 32 * h);
        for (int j = 0; j < 4; j++) {
            /* a clear high bit means 4 lower */
            const __m256i clear =
                _mm256_cmpeq_epi8(_mm256_and_si256(hmask, bit), _mm256_setzero_si256());
            const __m256i levels =
                _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(q, 2 * j), bytes(3)),
                                _mm256_and_si256(clear, bytes(4)));
            bit = _mm256_add_epi8(bit, bit);
            const int s = 8 * h + 2 * j;
            add_scaled(acc, levels, d * (float)scales[s], d * (float)scales[s + 1],
                       x + 128 * h + 32 * j);
        }
    }
}

/* Q4_K and Q5_K (qh NULL for Q4_K): chunk c of 64 holds sub-blocks 2c (low nibbles) and 2c + 1
 * (high nibbles); weights d * scale * q - dmin * min, as the decoder rounds them. */
static void q4_5_k_block(const unsigned char *w, const unsigned char *qs, const unsigned char *qh,
                         const float *x, accum *acc) {
    const float d = ifn_avx2_load_f16(w), min = ifn_avx2_load_f16(w + 2);
    const __m128i scales_mins = ifn_avx2_q4_k_scales_mins(w + 4);
    float dl[8], ml[8]; /* d * scale, -(min * m) per sub-block (negated as in q2_k_block) */
    scale_bytes(scales_mins, d, dl);
    scale_bytes(_mm_srli_si128(scales_mins, 8), -min, ml);
    __m256i high = qh ? ifn_avx2_load(qh) : _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        const __m256i q = ifn_avx2_load(qs + 32 * c);
        __m256i u0 = _mm256_and_si256(q, bytes(0x0F));
        __m256i u1 = _mm256_and_si256(_mm256_srli_epi16(q, 4), bytes(0x0F));
        if (qh) {
            u0 = _mm256_or_si256(u0, _mm256_slli_epi16(_mm256_and_si256(high, bytes(1)), 4));
            u1 = _mm256_or_si256(u1, _mm256_slli_epi16(_mm256_and_si256(high, bytes(2)), 3));
            high = _mm256_srli_epi16(high, 2);
        }
        const int s = 2 * c;
        add_scaled_min(acc, u0, dl[s], ml[s], dl[s], ml[s], x + 64 * c);
        add_scaled_min(acc, u1, dl[s + 1], ml[s + 1], dl[s + 1], ml[s + 1], x + 64 * c + 32);
    }
}

static void q6_k_block(const unsigned char *w, const float *x, accum *acc) {
    const float d = ifn_avx2_load_f16(w + 208);
    const int8_t *scales = (const int8_t *)(w + 192);
    for (int h = 0; h < 2; h++) {
        const __m256i ql0 = ifn_avx2_load(w + 64 * h);
        const __m256i ql1 = ifn_avx2_load(w + 64 * h + 32);
        const __m256i qh = ifn_avx2_load(w + 128 + 32 * h);
        __m256i u[4];
        ifn_avx2_q6_k_unpack(ql0, ql1, qh, u);
        for (int j = 0; j < 4; j++) {
            const int s = 8 * h + 2 * j;
            add_scaled(acc, _mm256_sub_epi8(u[j], bytes(32)), d * (float)scales[s],
                       d * (float)scales[s + 1], x + 128 * h + 32 * j);
        }
    }
}

static void iq4_xs_block(const unsigned char *w, const float *x, accum *acc) {
    const float d = ifn_avx2_load_f16(w);
    uint16_t scales_h;
    memcpy(&scales_h, w + 2, sizeof scales_h);
    const __m256i table = ifn_avx2_iq4nl_table();
    for (int s = 0; s < 8; s++) {
        const int low = (w[4 + s / 2] >> (4 * (s % 2))) & 0xF;
        const int top = (scales_h >> (2 * s)) & 3;
        const float dl = d * (float)((low | (top << 4)) - 32);
        const __m256i levels = _mm256_shuffle_epi8(table, ifn_avx2_unpack_nibbles(w + 8 + 16 * s));
        add_scaled(acc, levels, dl, dl, x + 32 * s);
    }
}

float ifn_vec_dot_exact_q2_k_avx2(const void *w_row, const void *x, int64_t n) {
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_K; b++)
        q2_k_block((const unsigned char *)w_row + b * (int64_t)sizeof(ifn_block_q2_k),
                   (const float *)x + b * IFN_QK_K, &acc);
    return accum_sum(&acc);
}

float ifn_vec_dot_exact_q3_k_avx2(const void *w_row, const void *x, int64_t n) {
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_K; b++)
        q3_k_block((const unsigned char *)w_row + b * (int64_t)sizeof(ifn_block_q3_k),
                   (const float *)x + b * IFN_QK_K, &acc);
    return accum_sum(&acc);
}

float ifn_vec_dot_exact_q4_k_avx2(const void *w_row, const void *x, int64_t n) {
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_K; b++) {
        const unsigned char *wb =
            (const unsigned char *)w_row + b * (int64_t)sizeof(ifn_block_q4_k);
        q4_5_k_block(wb, wb + 16, NULL, (const float *)x + b * IFN_QK_K, &acc);
    }
    return accum_sum(&acc);
}

float ifn_vec_dot_exact_q5_k_avx2(const void *w_row, const void *x, int64_t n) {
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_K; b++) {
        const unsigned char *wb =
            (const unsigned char *)w_row + b * (int64_t)sizeof(ifn_block_q5_k);
        q4_5_k_block(wb, wb + 48, wb + 16, (const float *)x + b * IFN_QK_K, &acc);
    }
    return accum_sum(&acc);
}

float ifn_vec_dot_exact_q6_k_avx2(const void *w_row, const void *x, int64_t n) {
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_K; b++)
        q6_k_block((const unsigned char *)w_row + b * (int64_t)sizeof(ifn_block_q6_k),
                   (const float *)x + b * IFN_QK_K, &acc);
    return accum_sum(&acc);
}

float ifn_vec_dot_exact_iq4_xs_avx2(const void *w_row, const void *x, int64_t n) {
    accum acc = accum_zero();
    for (int64_t b = 0; b < n / IFN_QK_K; b++)
        iq4_xs_block((const unsigned char *)w_row + b * (int64_t)sizeof(ifn_block_iq4_xs),
                     (const float *)x + b * IFN_QK_K, &acc);
    return accum_sum(&acc);
}
