/* AVX2+FMA fast-path dot products for float and 32-element block weights. Decode streams the
 * weight row once, so each kernel keeps per-block work small: nibbles are spread to bytes with
 * one shift and mask, _mm256_maddubs_epi16 multiplies unsigned weight levels with signed 8-bit
 * activations (an offset such as Q4_0's -8 is applied as a second maddubs with the constant),
 * and each block's integer total is scaled by one FMA. Two blocks per iteration feed two
 * accumulators so FMA latency overlaps the next block's loads. */
#include "kernels/x86/vec_dot_avx2.h"

#include "kernels/kernels.h"
#include "kernels/ref/act_blocks.h"
#include "kernels/x86/util_avx2.h"
#include "util/half.h"

float ifn_vec_dot_f32_avx2(const void *w_row, const void *act_row, int64_t n) {
    return ifn_dot_f32_avx2(w_row, act_row, n);
}

/* 8 F16 values at p as floats. */
static __m256 load_f16x8(const unsigned char *p) {
    return _mm256_cvtph_ps(ifn_avx2_load128(p));
}

/* 8 BF16 values at p as floats. */
static __m256 load_bf16x8(const unsigned char *p) {
    const __m256i wide = _mm256_cvtepu16_epi32(ifn_avx2_load128(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

float ifn_vec_dot_f16_avx2(const void *w_row, const void *act_row, int64_t n) {
    const unsigned char *w = w_row;
    const float *x = act_row;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int k = 0; k < 4; k++) {
            const __m256 wv = load_f16x8(w + 2 * (i + 8 * k));
            acc[k] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + i + 8 * k), acc[k]);
        }
    }
    for (; i + 8 <= n; i += 8)
        acc[0] = _mm256_fmadd_ps(load_f16x8(w + 2 * i), _mm256_loadu_ps(x + i), acc[0]);
    float sum = ifn_avx2_hsum_ps(
        _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++)
        sum += ifn_avx2_load_f16(w + 2 * i) * x[i];
    return sum;
}

float ifn_vec_dot_f16_f16_avx2(const void *w_row, const void *act_row, int64_t n) {
    const unsigned char *w = w_row, *a = act_row;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int k = 0; k < 4; k++) {
            const int64_t off = 2 * (i + 8 * k);
            acc[k] = _mm256_fmadd_ps(load_f16x8(w + off), load_f16x8(a + off), acc[k]);
        }
    }
    for (; i + 8 <= n; i += 8)
        acc[0] = _mm256_fmadd_ps(load_f16x8(w + 2 * i), load_f16x8(a + 2 * i), acc[0]);
    float sum = ifn_avx2_hsum_ps(
        _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++)
        sum += ifn_avx2_load_f16(w + 2 * i) * ifn_avx2_load_f16(a + 2 * i);
    return sum;
}

float ifn_vec_dot_bf16_avx2(const void *w_row, const void *act_row, int64_t n) {
    const unsigned char *w = w_row;
    const float *x = act_row;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int k = 0; k < 4; k++) {
            const __m256 wv = load_bf16x8(w + 2 * (i + 8 * k));
            acc[k] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + i + 8 * k), acc[k]);
        }
    }
    for (; i + 8 <= n; i += 8)
        acc[0] = _mm256_fmadd_ps(load_bf16x8(w + 2 * i), _mm256_loadu_ps(x + i), acc[0]);
    float sum = ifn_avx2_hsum_ps(
        _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (; i < n; i++) {
        uint16_t b;
        memcpy(&b, w + 2 * i, sizeof b);
        sum += ifn_bf16_to_f32(b) * x[i];
    }
    return sum;
}

/* Block kernels: acc + d_w * d_a * dot(levels, q_a) for one weight block `w` and activation
 * block `a`; the min types also add m_w * s_a to *msum. */
typedef __m256 (*block_fn)(const unsigned char *w, const unsigned char *a, __m256 acc, float *msum);

/* 32 signed levels times 32 activation quants, as 8 float partial sums. */
static inline __m256 dot_signed(__m256i levels, const unsigned char *qs_a) {
    return _mm256_cvtepi32_ps(ifn_avx2_dot_i8_i8(levels, ifn_avx2_load(qs_a)));
}

/* (u - offset) . y for unsigned levels u: u . y - offset . y, both pairwise sums in int16. */
static inline __m256 dot_offset(__m256i u, int offset, const unsigned char *qs_a) {
    const __m256i y = ifn_avx2_load(qs_a);
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(u, y),
                                       _mm256_maddubs_epi16(_mm256_set1_epi8((char)offset), y));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/* acc + d_w * d_a * dot, both F16 scales at the start of their blocks: one conversion for the
 * pair, which is most of the per-block overhead. */
static inline __m256 scale_add(const unsigned char *w, const unsigned char *a, __m256 dot,
                               __m256 acc) {
    uint32_t w_bits, a_bits; /* the scale and the next two bytes of each block */
    memcpy(&w_bits, w, sizeof w_bits);
    memcpy(&a_bits, a, sizeof a_bits);
    const __m128 both = _mm_cvtph_ps(
        _mm_unpacklo_epi16(_mm_cvtsi32_si128((int)w_bits), _mm_cvtsi32_si128((int)a_bits)));
    const __m128 d = _mm_mul_ss(both, _mm_movehdup_ps(both));
    return _mm256_fmadd_ps(_mm256_broadcastss_ps(d), dot, acc);
}

static inline __m256 block_q4_0(const unsigned char *w, const unsigned char *a, __m256 acc,
                                float *msum) {
    (void)msum;
    const __m256 dot = dot_offset(ifn_avx2_unpack_nibbles(w + 2), 8, a + 2);
    return scale_add(w, a, dot, acc);
}

static inline __m256 block_q5_0(const unsigned char *w, const unsigned char *a, __m256 acc,
                                float *msum) {
    (void)msum;
    const __m256i u = _mm256_or_si256(ifn_avx2_unpack_nibbles(w + 6), ifn_avx2_q5_high_bits(w + 2));
    return scale_add(w, a, dot_offset(u, 16, a + 2), acc);
}

static inline __m256 block_q8_0(const unsigned char *w, const unsigned char *a, __m256 acc,
                                float *msum) {
    (void)msum;
    return scale_add(w, a, dot_signed(ifn_avx2_load(w + 2), a + 2), acc);
}

static inline __m256 block_iq4_nl(const unsigned char *w, const unsigned char *a, __m256 acc,
                                  float *msum) {
    (void)msum;
    const __m256i levels =
        _mm256_shuffle_epi8(ifn_avx2_iq4nl_table(), ifn_avx2_unpack_nibbles(w + 2));
    return scale_add(w, a, dot_signed(levels, a + 2), acc);
}

/* Q4_1 / Q5_1 with Q8_1: d at +0, m at +2 of the weight block; d at +0, s at +2 of the
 * activation block. */
static inline __m256 with_min(const unsigned char *w, const unsigned char *a, __m256i u, __m256 acc,
                              float *msum) {
    const __m256 dot = _mm256_cvtepi32_ps(ifn_avx2_dot_u8_i8(u, ifn_avx2_load(a + 4)));
    *msum += ifn_avx2_load_f16(w + 2) * ifn_avx2_load_f16(a + 2);
    return scale_add(w, a, dot, acc);
}

static inline __m256 block_q4_1(const unsigned char *w, const unsigned char *a, __m256 acc,
                                float *msum) {
    return with_min(w, a, ifn_avx2_unpack_nibbles(w + 4), acc, msum);
}

static inline __m256 block_q5_1(const unsigned char *w, const unsigned char *a, __m256 acc,
                                float *msum) {
    const __m256i u = _mm256_or_si256(ifn_avx2_unpack_nibbles(w + 8), ifn_avx2_q5_high_bits(w + 4));
    return with_min(w, a, u, acc, msum);
}

/* Runs `block` over n / 32 block pairs, two accumulators deep. Inlined into each caller so
 * `block` is a direct call the compiler inlines too. */
static inline float run_blocks(block_fn block, const void *w_row, int64_t w_bytes,
                               const void *act_row, int64_t a_bytes, int64_t n) {
    const unsigned char *w = w_row, *a = act_row;
    const int64_t nb = n / IFN_QK_SMALL;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    float msum0 = 0.0f, msum1 = 0.0f;
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        ifn_avx2_prefetch(w + b * w_bytes + IFN_AVX2_PREFETCH_AHEAD, 2 * w_bytes);
        acc0 = block(w + b * w_bytes, a + b * a_bytes, acc0, &msum0);
        acc1 = block(w + (b + 1) * w_bytes, a + (b + 1) * a_bytes, acc1, &msum1);
    }
    if (b < nb) acc0 = block(w + b * w_bytes, a + b * a_bytes, acc0, &msum0);
    return ifn_avx2_hsum_ps(_mm256_add_ps(acc0, acc1)) + (msum0 + msum1);
}

float ifn_vec_dot_q4_0_avx2(const void *w_row, const void *act_row, int64_t n) {
    return run_blocks(block_q4_0, w_row, sizeof(ifn_block_q4_0), act_row, sizeof(ifn_block_q8_0),
                      n);
}

float ifn_vec_dot_q5_0_avx2(const void *w_row, const void *act_row, int64_t n) {
    return run_blocks(block_q5_0, w_row, sizeof(ifn_block_q5_0), act_row, sizeof(ifn_block_q8_0),
                      n);
}

float ifn_vec_dot_q8_0_avx2(const void *w_row, const void *act_row, int64_t n) {
    return run_blocks(block_q8_0, w_row, sizeof(ifn_block_q8_0), act_row, sizeof(ifn_block_q8_0),
                      n);
}

float ifn_vec_dot_iq4_nl_avx2(const void *w_row, const void *act_row, int64_t n) {
    return run_blocks(block_iq4_nl, w_row, sizeof(ifn_block_iq4_nl), act_row,
                      sizeof(ifn_block_q8_0), n);
}

float ifn_vec_dot_q4_1_avx2(const void *w_row, const void *act_row, int64_t n) {
    return run_blocks(block_q4_1, w_row, sizeof(ifn_block_q4_1), act_row, sizeof(ifn_block_q8_1),
                      n);
}

float ifn_vec_dot_q5_1_avx2(const void *w_row, const void *act_row, int64_t n) {
    return run_blocks(block_q5_1, w_row, sizeof(ifn_block_q5_1), act_row, sizeof(ifn_block_q8_1),
                      n);
}
