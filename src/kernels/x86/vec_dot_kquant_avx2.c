/* AVX2+FMA fast-path dot products of 256-element super-blocks with Q8_K activations. Per
 * super-block the weight levels are rebuilt 32 at a time as unsigned bytes, multiplied with the
 * activation quants by _mm256_maddubs_epi16, and the int16 pair sums multiplied by their
 * sub-block scale and summed by _mm256_madd_epi16, so the whole super-block stays integer
 * until one FMA. Constant offsets of the levels (Q3_K's -4, Q6_K's -32) and the sub-block mins
 * (Q2_K, Q4_K, Q5_K) are applied through the activation's per-16 sums (bsums):
 * sum(scale * (u - c) * a) = sum(scale * u * a) - c * sum(scale * bsum). */
#include "kernels/x86/vec_dot_kquant_avx2.h"

#include "kernels/ref/act_blocks.h"
#include "kernels/x86/kquant_avx2.h"
#include "kernels/x86/util_avx2.h"

/* scale-weighted dot of 32 unsigned levels with 32 activation quants: 8 int32. */
static __m256i dot_scaled(__m256i u, const unsigned char *qs_a, __m256i scales) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, ifn_avx2_load(qs_a)), scales);
}

/* ---- Q2_K: scales[16] at 0, qs[64] at 16, d at 80, dmin at 82 ---- */

static __m256 q2_k_block(const unsigned char *w, const unsigned char *a, __m256 acc,
                         __m256 *acc_min) {
    const float d_a = act_scale(a);
    const __m128i packed = ifn_avx2_load128(w);
    const __m128i scales8 = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
    const __m128i mins8 = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F));
    const __m256i pairs = pair_scale_table(scales8);
    const __m256i min_dot = _mm256_madd_epi16(act_bsums(a), _mm256_cvtepu8_epi16(mins8));
    *acc_min = _mm256_fmadd_ps(_mm256_set1_ps(d_a * ifn_avx2_load_f16(w + 82)),
                               _mm256_cvtepi32_ps(min_dot), *acc_min);
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; h++) {
        const __m256i q = ifn_avx2_load(w + 16 + 32 * h);
        for (int j = 0; j < 4; j++) {
            const __m256i u = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), bytes(3));
            const unsigned char *y = a + ACT_QS + 128 * h + 32 * j;
            sumi = _mm256_add_epi32(sumi, dot_scaled(u, y, one_scale(pairs, 4 * h + j)));
        }
    }
    const float d = d_a * ifn_avx2_load_f16(w + 80);
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
}

/* ---- Q3_K: hmask[32] at 0, qs[64] at 32, scales[12] at 96, d at 108 ---- */

static __m256 q3_k_block(const unsigned char *w, const unsigned char *a, __m256 acc) {
    const __m128i scales8 = ifn_avx2_q3_k_scales(w + 96);
    const __m256i pairs = pair_scale_table(scales8);
    /* levels are u - 4 with u = 2 low bits | high bit << 2 */
    const __m256i offset = _mm256_madd_epi16(act_bsums(a), _mm256_cvtepi8_epi16(scales8));
    __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 2));
    const __m256i hmask = ifn_avx2_load(w);
    for (int h = 0; h < 2; h++) {
        const __m256i q = ifn_avx2_load(w + 32 + 32 * h);
        for (int j = 0; j < 4; j++) {
            const __m256i low = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), bytes(3));
            const __m256i u = _mm256_or_si256(low, q3_k_high_bit(hmask, 4 * h + j));
            const unsigned char *y = a + ACT_QS + 128 * h + 32 * j;
            sumi = _mm256_add_epi32(sumi, dot_scaled(u, y, one_scale(pairs, 4 * h + j)));
        }
    }
    const float d = act_scale(a) * ifn_avx2_load_f16(w + 108);
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
}

/* ---- Q4_K / Q5_K: d at 0, dmin at 2, scales[12] at 4; Q4_K qs[128] at 16; Q5_K qh[32] at
 * 16, qs[128] at 48 ---- */

/* d * sum(scale * dot) into acc and dmin * sum(min * bsum pairs) into *acc_min for one
 * super-block; qh is NULL for Q4_K. */
static __m256 q4_5_k_block(const unsigned char *w, const unsigned char *qs, const unsigned char *qh,
                           const unsigned char *a, __m256 acc, __m256 *acc_min) {
    const float d_a = act_scale(a);
    const __m128i sm = ifn_avx2_q4_k_scales_mins(w + 4);
    const __m128i mins8 = _mm_unpackhi_epi64(sm, sm);
    /* each min twice: one per 16-element bsum of its 32-element sub-block */
    const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins8, mins8));
    const __m256i min_dot = _mm256_madd_epi16(act_bsums(a), mins16);
    *acc_min = _mm256_fmadd_ps(_mm256_set1_ps(d_a * ifn_avx2_load_f16(w + 2)),
                               _mm256_cvtepi32_ps(min_dot), *acc_min);
    const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
    __m256i high = qh ? ifn_avx2_load(qh) : _mm256_setzero_si256();
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        const __m256i q = ifn_avx2_load(qs + 32 * c);
        __m256i u0 = _mm256_and_si256(q, bytes(0x0F));
        __m256i u1 = _mm256_and_si256(_mm256_srli_epi16(q, 4), bytes(0x0F));
        if (qh) { /* bit 2c, 2c + 1 of qh[l] is the 5th bit of chunk element l, 32 + l */
            u0 = _mm256_or_si256(u0, _mm256_slli_epi16(_mm256_and_si256(high, bytes(1)), 4));
            u1 = _mm256_or_si256(u1, _mm256_slli_epi16(_mm256_and_si256(high, bytes(2)), 3));
            high = _mm256_srli_epi16(high, 2);
        }
        const unsigned char *y = a + ACT_QS + 64 * c;
        sumi = _mm256_add_epi32(sumi, dot_scaled(u0, y, one_scale(scales16, 2 * c)));
        sumi = _mm256_add_epi32(sumi, dot_scaled(u1, y + 32, one_scale(scales16, 2 * c + 1)));
    }
    const float d = d_a * ifn_avx2_load_f16(w);
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
}

/* ---- Q6_K: ql[128] at 0, qh[64] at 128, scales[16] at 192, d at 208 ---- */

static __m256 q6_k_block(const unsigned char *w, const unsigned char *a, __m256 acc) {
    const __m128i scales8 = ifn_avx2_load128(w + 192);
    const __m256i pairs = pair_scale_table(scales8);
    /* levels are u - 32 with u = 4 low bits | 2 high bits << 4 */
    const __m256i offset = _mm256_madd_epi16(act_bsums(a), _mm256_cvtepi8_epi16(scales8));
    __m256i sumi = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 5));
    for (int h = 0; h < 2; h++) {
        const __m256i ql0 = ifn_avx2_load(w + 64 * h);
        const __m256i ql1 = ifn_avx2_load(w + 64 * h + 32);
        const __m256i qh = ifn_avx2_load(w + 128 + 32 * h);
        __m256i u[4];
        ifn_avx2_q6_k_unpack(ql0, ql1, qh, u);
        for (int j = 0; j < 4; j++) {
            const unsigned char *y = a + ACT_QS + 128 * h + 32 * j;
            sumi = _mm256_add_epi32(sumi, dot_scaled(u[j], y, one_scale(pairs, 4 * h + j)));
        }
    }
    const float d = act_scale(a) * ifn_avx2_load_f16(w + 208);
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
}

/* ---- IQ4_XS: d at 0, scales_h at 2, scales_l[4] at 4, qs[128] at 8 ---- */

static __m256 iq4_xs_block(const unsigned char *w, const unsigned char *a, __m256 acc) {
    const __m256i table = ifn_avx2_iq4nl_table();
    const __m256i scales16 = iq4_xs_scales(w);
    __m256i sumi = _mm256_setzero_si256();
    for (int s = 0; s < 8; s++) {
        const __m256i v = _mm256_shuffle_epi8(table, ifn_avx2_unpack_nibbles(w + 8 + 16 * s));
        const __m256i y = ifn_avx2_load(a + ACT_QS + 32 * s);
        const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(y, v));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, one_scale(scales16, s)));
    }
    const float d = act_scale(a) * ifn_avx2_load_f16(w);
    return _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
}

/* ---- row loops ---- */

/* Weight block b of a row (prefetching the one IFN_AVX2_PREFETCH_AHEAD bytes later). */
static const unsigned char *weight_block(const void *w_row, int64_t b, int64_t block_bytes) {
    const unsigned char *wb = (const unsigned char *)w_row + b * block_bytes;
    ifn_avx2_prefetch(wb + IFN_AVX2_PREFETCH_AHEAD, block_bytes);
    return wb;
}

/* Activation block b of a Q8_K row. */
static const unsigned char *act_block(const void *act_row, int64_t b) {
    return (const unsigned char *)act_row + b * (int64_t)sizeof(ifn_block_q8_k);
}

float ifn_vec_dot_kquant_q2_k_avx2(const void *w_row, const void *act_row, int64_t n) {
    __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / IFN_QK_K; b++)
        acc = q2_k_block(weight_block(w_row, b, sizeof(ifn_block_q2_k)), act_block(act_row, b), acc,
                         &acc_min);
    return ifn_avx2_hsum_ps(acc) - ifn_avx2_hsum_ps(acc_min);
}

float ifn_vec_dot_kquant_q3_k_avx2(const void *w_row, const void *act_row, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / IFN_QK_K; b++)
        acc =
            q3_k_block(weight_block(w_row, b, sizeof(ifn_block_q3_k)), act_block(act_row, b), acc);
    return ifn_avx2_hsum_ps(acc);
}

float ifn_vec_dot_kquant_q4_k_avx2(const void *w_row, const void *act_row, int64_t n) {
    __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / IFN_QK_K; b++) {
        const unsigned char *wb = weight_block(w_row, b, sizeof(ifn_block_q4_k));
        acc = q4_5_k_block(wb, wb + 16, NULL, act_block(act_row, b), acc, &acc_min);
    }
    return ifn_avx2_hsum_ps(acc) - ifn_avx2_hsum_ps(acc_min);
}

float ifn_vec_dot_kquant_q5_k_avx2(const void *w_row, const void *act_row, int64_t n) {
    __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / IFN_QK_K; b++) {
        const unsigned char *wb = weight_block(w_row, b, sizeof(ifn_block_q5_k));
        acc = q4_5_k_block(wb, wb + 48, wb + 16, act_block(act_row, b), acc, &acc_min);
    }
    return ifn_avx2_hsum_ps(acc) - ifn_avx2_hsum_ps(acc_min);
}

float ifn_vec_dot_kquant_q6_k_avx2(const void *w_row, const void *act_row, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / IFN_QK_K; b++)
        acc =
            q6_k_block(weight_block(w_row, b, sizeof(ifn_block_q6_k)), act_block(act_row, b), acc);
    return ifn_avx2_hsum_ps(acc);
}

float ifn_vec_dot_kquant_iq4_xs_avx2(const void *w_row, const void *act_row, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / IFN_QK_K; b++)
        acc = iq4_xs_block(weight_block(w_row, b, sizeof(ifn_block_iq4_xs)), act_block(act_row, b),
                           acc);
    return ifn_avx2_hsum_ps(acc);
}
