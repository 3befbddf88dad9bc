/* AVX2 matrix kernels over packed eight-row groups: lane r of every vector is row r, so a block
 * of eight rows times one token is eight byte-products per instruction with no horizontal sums,
 * and up to four tokens share each weight load. Per row and token the arithmetic is the
 * reference's (gemm_x8_ref.c): an exact int32 block sum, one float conversion, one FMA with
 * d_w * d_a into a single accumulator, blocks in order. How many tokens run together never
 * changes a token's result, so outputs are batch invariant and equal the reference bit for
 * bit (tests/kernels/test_gemm_x8.c). */
#include "kernels/x86/gemm_x8_avx2.h"

#include "kernels/ref/packed_blocks.h"
#include "kernels/x86/quant_act_avx2.h"
#include "kernels/x86/util_avx2.h"
#include "util/half.h"

#define MAX_TOKENS 4

void ifn_quant_act_q8s_avx2(const float *x, void *out, int64_t n) {
    unsigned char *dst = out;
    const __m256i ones = _mm256_set1_epi8(1);
    for (int64_t b = 0; b < n / IFN_QK_SMALL; b++) {
        ifn_block_q8_0 q;
        ifn_quant_act_q8_0_avx2(x + b * IFN_QK_SMALL, &q, IFN_QK_SMALL);
        /* |q| <= 127, so the byte-pair sums fit int16 and the total is exact. */
        const __m256i quads = ifn_avx2_dot_u8_i8(ones, ifn_avx2_load(q.qs));
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(quads), _mm256_extracti128_si256(quads, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
        ifn_block_q8s blk;
        blk.d = ifn_f16_to_f32(q.d);
        blk.sum = _mm_cvtsi128_si32(s);
        memcpy(blk.qs, q.qs, sizeof blk.qs);
        memcpy(dst + (size_t)b * sizeof blk, &blk, sizeof blk);
    }
}

/* Four activation bytes (elements e..e+3 of a block) in every 32-bit lane. */
static inline __m256i act_quad(const unsigned char *block, int e) {
    return ifn_avx2_broadcast4(block + offsetof(ifn_block_q8s, qs) + e);
}

static inline float act_scale(const unsigned char *block) {
    float d;
    memcpy(&d, block + offsetof(ifn_block_q8s, d), sizeof d);
    return d;
}

static inline int32_t act_sum(const unsigned char *block) {
    int32_t s;
    memcpy(&s, block + offsetof(ifn_block_q8s, sum), sizeof s);
    return s;
}

/* acc[t] += (d_w * d_a[t]) * float(isum[t]), lane by lane: the reference's FMA. */
static inline __m256 scaled_fma(__m256 acc, __m256 dw, const unsigned char *ablock, __m256i isum) {
    const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(act_scale(ablock)));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, acc);
}

/* Q8_0 groups, n_tok (1..4, a constant after inlining) tokens. Signed by signed bytes: |w| as
 * the unsigned operand, the activation given w's sign (Q8_0's -128 becomes 128, still exact:
 * pair sums stay under 2 * 128 * 127). Each pair sum is widened to int32 at once. */
static inline __attribute__((always_inline)) void q8_0_tokens(const unsigned char *group,
                                                             const unsigned char *const a[],
                                                             int n_tok, int64_t n_blocks,
                                                             float *y, int64_t y_stride) {
    __m256 acc[MAX_TOKENS];
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n_blocks; b++) {
        const unsigned char *g = group + (size_t)b * sizeof(ifn_block_q8_0x8);
        const size_t a_off = (size_t)b * sizeof(ifn_block_q8s);
        __m256i isum[MAX_TOKENS];
        for (int t = 0; t < n_tok; t++) isum[t] = _mm256_setzero_si256();
        /* Unrolled by 2 only: fully unrolled, the compiler sums the 32 products as a tree and
         * keeps them all live, spilling half of them (measured 15-20 % slower). */
#pragma GCC unroll 2
        for (int k = 0; k < 8; k++) {
            const __m256i w = ifn_avx2_load(g + offsetof(ifn_block_q8_0x8, qs) + 32 * k);
            const __m256i w_abs = _mm256_abs_epi8(w);
            for (int t = 0; t < n_tok; t++) {
                const __m256i av = _mm256_sign_epi8(act_quad(a[t] + a_off, 4 * k), w);
                isum[t] = _mm256_add_epi32(isum[t], ifn_avx2_dot_u8_i8(w_abs, av));
            }
        }
        const __m256 dw = _mm256_cvtph_ps(ifn_avx2_load128(g + offsetof(ifn_block_q8_0x8, d)));
        for (int t = 0; t < n_tok; t++) acc[t] = scaled_fma(acc[t], dw, a[t] + a_off, isum[t]);
    }
    for (int t = 0; t < n_tok; t++) _mm256_storeu_ps(y + t * y_stride, acc[t]);
}

/* Q4_0 groups: the unsigned nibbles (0..15) times the signed activation, the -8 offset taken
 * off the block total as 8 * sum(a). A block's eight pair sums add up in int16 without
 * overflow (8 * 2 * 15 * 128 < 32768), so it is widened once per block. */
static inline __attribute__((always_inline)) void q4_0_tokens(const unsigned char *group,
                                                             const unsigned char *const a[],
                                                             int n_tok, int64_t n_blocks,
                                                             float *y, int64_t y_stride) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    __m256 acc[MAX_TOKENS];
    for (int t = 0; t < n_tok; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n_blocks; b++) {
        const unsigned char *g = group + (size_t)b * sizeof(ifn_block_q4_0x8);
        const size_t a_off = (size_t)b * sizeof(ifn_block_q8s);
        __m256i sum16[MAX_TOKENS];
        for (int t = 0; t < n_tok; t++) sum16[t] = _mm256_setzero_si256();
#pragma GCC unroll 2
        for (int j = 0; j < 4; j++) {
            const __m256i v = ifn_avx2_load(g + offsetof(ifn_block_q4_0x8, qs) + 32 * j);
            const __m256i lo = _mm256_and_si256(v, low4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
            for (int t = 0; t < n_tok; t++) {
                const __m256i p_lo = _mm256_maddubs_epi16(lo, act_quad(a[t] + a_off, 4 * j));
                const __m256i p_hi = _mm256_maddubs_epi16(hi, act_quad(a[t] + a_off, 16 + 4 * j));
                sum16[t] = _mm256_add_epi16(sum16[t], _mm256_add_epi16(p_lo, p_hi));
            }
        }
        const __m256 dw = _mm256_cvtph_ps(ifn_avx2_load128(g + offsetof(ifn_block_q4_0x8, d)));
        for (int t = 0; t < n_tok; t++) {
            const __m256i offset = _mm256_set1_epi32(8 * act_sum(a[t] + a_off));
            const __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(sum16[t], ones16), offset);
            acc[t] = scaled_fma(acc[t], dw, a[t] + a_off, isum);
        }
    }
    for (int t = 0; t < n_tok; t++) _mm256_storeu_ps(y + t * y_stride, acc[t]);
}

typedef enum packed_kind { PACKED_Q8_0, PACKED_Q4_0 } packed_kind;

static inline __attribute__((always_inline)) void run_tokens(packed_kind kind,
                                                            const unsigned char *group,
                                                            const unsigned char *const a[],
                                                            int n_tok, int64_t n_blocks, float *y,
                                                            int64_t y_stride) {
    if (kind == PACKED_Q8_0)
        q8_0_tokens(group, a, n_tok, n_blocks, y, y_stride);
    else
        q4_0_tokens(group, a, n_tok, n_blocks, y, y_stride);
}

static inline __attribute__((always_inline)) void gemm(packed_kind kind, const void *group,
                                                      const void *act, size_t act_stride,
                                                      int64_t n_tokens, int64_t n_cols, float *y,
                                                      int64_t y_stride) {
    const int64_t n_blocks = n_cols / IFN_QK_SMALL;
    const unsigned char *a[MAX_TOKENS];
    int64_t t = 0;
    for (; t < n_tokens; t += MAX_TOKENS) {
        const int64_t left = n_tokens - t;
        const int n_tok = left < MAX_TOKENS ? (int)left : MAX_TOKENS;
        for (int j = 0; j < n_tok; j++)
            a[j] = (const unsigned char *)act + (size_t)(t + j) * act_stride;
        float *yt = y + t * y_stride;
        switch (n_tok) { /* constant token counts, so each case is its own unrolled kernel */
        case 4:
            run_tokens(kind, group, a, 4, n_blocks, yt, y_stride);
            break;
        case 3:
            run_tokens(kind, group, a, 3, n_blocks, yt, y_stride);
            break;
        case 2:
            run_tokens(kind, group, a, 2, n_blocks, yt, y_stride);
            break;
        default:
            run_tokens(kind, group, a, 1, n_blocks, yt, y_stride);
            break;
        }
    }
}

void ifn_gemm_x8_q8_0_avx2(const void *group, const void *act, size_t act_stride,
                           int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    gemm(PACKED_Q8_0, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}

void ifn_gemm_x8_q4_0_avx2(const void *group, const void *act, size_t act_stride,
                           int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    gemm(PACKED_Q4_0, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}
