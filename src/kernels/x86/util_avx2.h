/* Small AVX2 helpers shared by the x86 kernel files (static inline; include only from files
 * compiled with -mavx2 -mfma -mf16c). Loads are unaligned: rows come straight from a mapped
 * model file and blocks have odd sizes. */
#ifndef IFN_KERNELS_X86_UTIL_AVX2_H
#define IFN_KERNELS_X86_UTIL_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

static inline float ifn_avx2_hsum_ps(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

static inline __m256i ifn_avx2_load(const void *p) {
    return _mm256_loadu_si256((const __m256i *)p);
}

static inline __m128i ifn_avx2_load128(const void *p) {
    return _mm_loadu_si128((const __m128i *)p);
}

/* How far ahead of use the quantized kernels prefetch weights: about DRAM latency times one
 * core's bandwidth, doubled. At a row's end this reaches into the next row, which a matrix-vector
 * product reads next; prefetches past the end of a mapping are harmless (they never fault). */
#define IFN_AVX2_PREFETCH_AHEAD 2048

/* Prefetches the cache lines of [p, p + bytes) into L1. The hardware prefetcher alone leaves
 * decode of 4- and 8-bit rows about 25% short of memory bandwidth, because compute and loads
 * then take turns instead of overlapping. */
static inline void ifn_avx2_prefetch(const void *p, int64_t bytes) {
    for (int64_t off = 0; off < bytes; off += 64)
        _mm_prefetch((const char *)p + off, _MM_HINT_T0);
}

/* The F16 value at p (any alignment) as float. */
static inline float ifn_avx2_load_f16(const void *p) {
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h);
}

/* 16 bytes of packed nibbles to 32 bytes 0..15: byte j is the low nibble of p[j] and byte
 * j + 16 its high nibble, the element order of the 32-element block types. */
static inline __m256i ifn_avx2_unpack_nibbles(const void *p) {
    const __m128i q = ifn_avx2_load128(p);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/* Byte j = 0xFF if bit j of `bits` is set, else 0. */
static inline __m256i ifn_avx2_bits_to_bytes(uint32_t bits) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                            2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

/* The four bytes at p (any alignment) in every 32-bit lane. */
static inline __m256i ifn_avx2_broadcast4(const void *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}

/* Sums of u * s (u unsigned, s signed bytes) over each 4 neighbouring bytes: 8 int32. The
 * pairwise int16 stage saturates above 32767, unreachable while u <= 128 and |s| <= 127. */
static inline __m256i ifn_avx2_dot_u8_i8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* As ifn_avx2_dot_u8_i8 for two signed byte vectors: moves w's sign onto a. */
static inline __m256i ifn_avx2_dot_i8_i8(__m256i w, __m256i a) {
    return ifn_avx2_dot_u8_i8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
}

/* The 16 levels of IQ4_NL / IQ4_XS (ifn_iq4nl_value) in both 128-bit halves, for
 * _mm256_shuffle_epi8 lookups. */
static inline __m256i ifn_avx2_iq4nl_table(void) {
    return _mm256_setr_epi8(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89,
                            113, -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69,
                            89, 113);
}

/* The 5th bits of a Q5_0 / Q5_1 block (qh, 4 bytes) as 0x10 in byte j for element j. */
static inline __m256i ifn_avx2_q5_high_bits(const void *qh) {
    uint32_t bits;
    memcpy(&bits, qh, sizeof bits);
    return _mm256_and_si256(ifn_avx2_bits_to_bytes(bits), _mm256_set1_epi8(0x10));
}

/* Q3_K: the 16 6-bit scales minus 32 as int8: low nibbles in bytes 0..7 (sub-blocks 8..15 in the
 * high nibbles), top two bits of sub-block s at bit pair s / 4 of byte 8 + s % 4. */
static inline __m128i ifn_avx2_q3_k_scales(const unsigned char *packed) {
    uint32_t p[3];
    memcpy(p, packed, sizeof p);
    const uint32_t lo = 0x0F0F0F0F, top = 0x03030303;
    const __m128i s = _mm_setr_epi32((int)((p[0] & lo) | ((p[2] & top) << 4)),
                                     (int)((p[1] & lo) | (((p[2] >> 2) & top) << 4)),
                                     (int)(((p[0] >> 4) & lo) | (((p[2] >> 4) & top) << 4)),
                                     (int)(((p[1] >> 4) & lo) | (((p[2] >> 6) & top) << 4)));
    return _mm_sub_epi8(s, _mm_set1_epi8(32));
}

/* Q4_K / Q5_K: the 8 6-bit scales (bytes 0..7) and mins (bytes 8..15); see
 * ifn_kquant_get_scale_min for the packing. */
static inline __m128i ifn_avx2_q4_k_scales_mins(const unsigned char *packed) {
    uint32_t p[3];
    memcpy(p, packed, sizeof p);
    const uint32_t low6 = 0x3F3F3F3F, lo = 0x0F0F0F0F, top = 0x30303030;
    return _mm_setr_epi32((int)(p[0] & low6), (int)((p[2] & lo) | ((p[0] >> 2) & top)),
                          (int)(p[1] & low6), (int)(((p[2] >> 4) & lo) | ((p[1] >> 2) & top)));
}

/* Q6_K: the four 32-level quarters of one half-block as unsigned 6-bit levels u (the stored
 * value is u - 32): low nibbles from ql0 / ql1 (high nibbles for quarters 2 and 3), top two
 * bits from bit pair j of qh, moved to bits 4..5. */
static inline void ifn_avx2_q6_k_unpack(__m256i ql0, __m256i ql1, __m256i qh, __m256i u[4]) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), top2 = _mm256_set1_epi8(0x30);
    u[0] = _mm256_or_si256(_mm256_and_si256(ql0, low4),
                           _mm256_and_si256(_mm256_slli_epi16(qh, 4), top2));
    u[1] = _mm256_or_si256(_mm256_and_si256(ql1, low4),
                           _mm256_and_si256(_mm256_slli_epi16(qh, 2), top2));
    u[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                           _mm256_and_si256(qh, top2));
    u[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                           _mm256_and_si256(_mm256_srli_epi16(qh, 2), top2));
}

#endif
