/* AVX2 helpers shared by the single-token and four-token K-quant dot products
 * (vec_dot_kquant_avx2.c, vec_dot_x4_kquant_avx2.c): Q8_K activation fields, per-sub-block scale
 * tables and the Q3_K / IQ4_XS unpacking steps. Both kernels must decode identically (the x4
 * kernels are bit-identical to the single-token ones), so these live in one place.
 * Internal to src/kernels/x86; include only from files compiled with AVX2. */
#ifndef IFN_KERNELS_X86_KQUANT_AVX2_H
#define IFN_KERNELS_X86_KQUANT_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/x86/util_avx2.h"

/* Offsets inside a Q8_K activation block. */
#define ACT_QS 4
#define ACT_BSUMS 260

static inline float act_scale(const unsigned char *a) {
    float d;
    memcpy(&d, a, sizeof d);
    return d;
}

static inline __m256i act_bsums(const unsigned char *a) {
    return ifn_avx2_load(a + ACT_BSUMS);
}

static inline __m256i bytes(int v) {
    return _mm256_set1_epi8((char)v);
}

/* 16 int8 scales, one per 16-element sub-block, as int16: the even sub-blocks' in the low 128
 * bits, the odd ones' in the high bits. one_scale(table, k) then holds sub-block 2k's scale
 * in the low half and 2k + 1's in the high half: the layout of maddubs products over the 32
 * elements of that pair. */
static inline __m256i pair_scale_table(__m128i scales8) {
    const __m128i even_odd = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, even_odd));
}

/* Int16 lane j of each 128-bit half of `scales16` in every lane of that half. */
static inline __m256i one_scale(__m256i scales16, int j) {
    return _mm256_shuffle_epi8(scales16, _mm256_set1_epi16((short)(0x0100 + 0x0202 * j)));
}

/* Bit `bit` (0..7) of each byte of hmask moved to bit 2 (value 4), other bits clear. The 16-bit
 * shifts carry bits across bytes, but only into positions the mask drops. */
static inline __m256i q3_k_high_bit(__m256i hmask, int bit) {
    const __m256i moved =
        bit < 2 ? _mm256_slli_epi16(hmask, 2 - bit) : _mm256_srli_epi16(hmask, bit - 2);
    return _mm256_and_si256(moved, bytes(4));
}

/* The 8 6-bit scales minus 32 as int16, repeated in both 128-bit halves. */
static inline __m256i iq4_xs_scales(const unsigned char *w) {
    uint16_t high_bits;
    uint32_t low_bits;
    memcpy(&high_bits, w + 2, sizeof high_bits);
    memcpy(&low_bits, w + 4, sizeof low_bits);
    /* sub-block s: low nibble from nibble s of scales_l, top bits from bit pair s of scales_h */
    const __m128i lo = _mm_cvtsi32_si128((int)(low_bits & 0x0F0F0F0F));
    const __m128i hi = _mm_cvtsi32_si128((int)((low_bits >> 4) & 0x0F0F0F0F));
    const __m128i low16 = _mm_cvtepu8_epi16(_mm_unpacklo_epi8(lo, hi));
    /* shift bit pair s to the top of lane s, then down to bits 4..5 */
    const __m128i spread = _mm_mullo_epi16(
        _mm_set1_epi16((short)high_bits),
        _mm_setr_epi16(1 << 14, 1 << 12, 1 << 10, 1 << 8, 1 << 6, 1 << 4, 1 << 2, 1));
    const __m128i top16 = _mm_slli_epi16(_mm_srli_epi16(spread, 14), 4);
    const __m128i s = _mm_sub_epi16(_mm_or_si128(low16, top16), _mm_set1_epi16(32));
    return _mm256_broadcastsi128_si256(s);
}

#endif
