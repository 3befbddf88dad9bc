/* AVX2 products of packed eight-row F16 / BF16 groups with float activations. Element e of the
 * eight rows of a group is one 16-byte load, widened to eight floats (lane r = row r) and used
 * by up to four tokens, each broadcasting its own a[e]: an outer product with no horizontal
 * sums. The 16-row entry takes two groups at once, so each broadcast feeds two FMAs (the
 * kernel is bound by loads, not FMAs: 1.25 loads per FMA with one group, 0.75 with two). Per
 * row and token the arithmetic is the reference's (gemm_x8_ref.c): one accumulator, one FMA
 * per element, in order, whatever the number of tokens or groups, so outputs are batch
 * invariant and equal the reference bit for bit. */
#include "kernels/x86/gemm_x8_half_avx2.h"

#include "kernels/x86/util_avx2.h"

#define MAX_TOKENS 4
#define ROWS 8

/* Element e of the eight rows of group g as floats. */
static inline __m256 load_rows(int is_bf16, const unsigned char *g, int64_t e) {
    const __m128i h = ifn_avx2_load128(g + 2 * ROWS * e);
    if (!is_bf16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* n_groups (1 or 2, group g at groups + g * group_bytes) times n_tok tokens; both constant
 * after inlining. */
static inline __attribute__((always_inline)) void half_tokens(int is_bf16,
                                                             const unsigned char *groups,
                                                             size_t group_bytes, int n_groups,
                                                             const float *const a[], int n_tok,
                                                             int64_t n, float *y,
                                                             int64_t y_stride) {
    __m256 acc[2][MAX_TOKENS];
    for (int g = 0; g < n_groups; g++)
        for (int t = 0; t < n_tok; t++) acc[g][t] = _mm256_setzero_ps();
    for (int64_t e = 0; e < n; e++) {
        __m256 w[2];
        for (int g = 0; g < n_groups; g++) w[g] = load_rows(is_bf16, groups + g * group_bytes, e);
        for (int t = 0; t < n_tok; t++) {
            const __m256 x = _mm256_broadcast_ss(a[t] + e);
            for (int g = 0; g < n_groups; g++) acc[g][t] = _mm256_fmadd_ps(w[g], x, acc[g][t]);
        }
    }
    for (int g = 0; g < n_groups; g++)
        for (int t = 0; t < n_tok; t++) _mm256_storeu_ps(y + t * y_stride + ROWS * g, acc[g][t]);
}

/* Tokens four at a time, then the 1..3 left, each count a constant so that every case is its
 * own unrolled kernel. */
static inline __attribute__((always_inline)) void gemm(int is_bf16, int n_groups, const void *group,
                                                      const void *act, size_t act_stride,
                                                      int64_t n_tokens, int64_t n_cols, float *y,
                                                      int64_t y_stride) {
    const size_t group_bytes = (size_t)n_cols * 2 * ROWS;
    const float *a[MAX_TOKENS];
    for (int64_t t = 0; t < n_tokens; t += MAX_TOKENS) {
        const int64_t left = n_tokens - t;
        const int n_tok = left < MAX_TOKENS ? (int)left : MAX_TOKENS;
        for (int j = 0; j < n_tok; j++)
            a[j] = (const float *)(const void *)((const unsigned char *)act +
                                                 (size_t)(t + j) * act_stride);
        float *yt = y + t * y_stride;
        switch (n_tok) {
        case 4:
            half_tokens(is_bf16, group, group_bytes, n_groups, a, 4, n_cols, yt, y_stride);
            break;
        case 3:
            half_tokens(is_bf16, group, group_bytes, n_groups, a, 3, n_cols, yt, y_stride);
            break;
        case 2:
            half_tokens(is_bf16, group, group_bytes, n_groups, a, 2, n_cols, yt, y_stride);
            break;
        default:
            half_tokens(is_bf16, group, group_bytes, n_groups, a, 1, n_cols, yt, y_stride);
            break;
        }
    }
}

void ifn_gemm_x8_f16_avx2(const void *group, const void *act, size_t act_stride,
                          int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    gemm(0, 1, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}

void ifn_gemm_x8_bf16_avx2(const void *group, const void *act, size_t act_stride,
                           int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    gemm(1, 1, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}

void ifn_gemm_x16_f16_avx2(const void *groups, const void *act, size_t act_stride,
                           int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    gemm(0, 2, groups, act, act_stride, n_tokens, n_cols, y, y_stride);
}

void ifn_gemm_x16_bf16_avx2(const void *groups, const void *act, size_t act_stride,
                            int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    gemm(1, 2, groups, act, act_stride, n_tokens, n_cols, y, y_stride);
}
