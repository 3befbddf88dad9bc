/* AVX2 products of packed eight-row F16 / BF16 groups with float activations. Element e of the
 * eight rows is one 16-byte load, widened to eight floats (lane r = row r) and used by up to
 * four tokens, each broadcasting its own a[e]: an outer product with no horizontal sums. Per
 * row and token the arithmetic is the reference's (gemm_x8_ref.c): even elements into one
 * accumulator, odd ones into another (two FMA chains per token keep decode off the FMA
 * latency), even + odd at the end, whatever the number of tokens, so outputs are batch
 * invariant and equal the reference bit for bit. */
#include "kernels/x86/gemm_x8_half_avx2.h"

#include "kernels/x86/util_avx2.h"

#define MAX_TOKENS 4
#define ROWS 8

/* Element e of the eight rows as floats. */
static inline __m256 load_rows(int is_bf16, const unsigned char *g, int64_t e) {
    const __m128i h = ifn_avx2_load128(g + 2 * ROWS * e);
    if (!is_bf16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static inline __attribute__((always_inline)) void half_tokens(int is_bf16, const unsigned char *g,
                                                             const float *const a[], int n_tok,
                                                             int64_t n, float *y,
                                                             int64_t y_stride) {
    __m256 even[MAX_TOKENS], odd[MAX_TOKENS];
    for (int t = 0; t < n_tok; t++) even[t] = odd[t] = _mm256_setzero_ps();
    int64_t e = 0;
    for (; e + 2 <= n; e += 2) {
        const __m256 w0 = load_rows(is_bf16, g, e), w1 = load_rows(is_bf16, g, e + 1);
        for (int t = 0; t < n_tok; t++) {
            even[t] = _mm256_fmadd_ps(w0, _mm256_broadcast_ss(a[t] + e), even[t]);
            odd[t] = _mm256_fmadd_ps(w1, _mm256_broadcast_ss(a[t] + e + 1), odd[t]);
        }
    }
    if (e < n) {
        const __m256 w0 = load_rows(is_bf16, g, e);
        for (int t = 0; t < n_tok; t++)
            even[t] = _mm256_fmadd_ps(w0, _mm256_broadcast_ss(a[t] + e), even[t]);
    }
    for (int t = 0; t < n_tok; t++) _mm256_storeu_ps(y + t * y_stride, _mm256_add_ps(even[t], odd[t]));
}

static inline __attribute__((always_inline)) void gemm(int is_bf16, const void *group,
                                                      const void *act, size_t act_stride,
                                                      int64_t n_tokens, int64_t n_cols, float *y,
                                                      int64_t y_stride) {
    const float *a[MAX_TOKENS];
    for (int64_t t = 0; t < n_tokens; t += MAX_TOKENS) {
        const int64_t left = n_tokens - t;
        const int n_tok = left < MAX_TOKENS ? (int)left : MAX_TOKENS;
        for (int j = 0; j < n_tok; j++)
            a[j] = (const float *)(const void *)((const unsigned char *)act +
                                                 (size_t)(t + j) * act_stride);
        float *yt = y + t * y_stride;
        switch (n_tok) { /* constant token counts, so each case is its own unrolled kernel */
        case 4:
            half_tokens(is_bf16, group, a, 4, n_cols, yt, y_stride);
            break;
        case 3:
            half_tokens(is_bf16, group, a, 3, n_cols, yt, y_stride);
            break;
        case 2:
            half_tokens(is_bf16, group, a, 2, n_cols, yt, y_stride);
            break;
        default:
            half_tokens(is_bf16, group, a, 1, n_cols, yt, y_stride);
            break;
        }
    }
}

void ifn_gemm_x8_f16_avx2(const void *group, const void *act, size_t act_stride,
                          int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    gemm(0, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}

void ifn_gemm_x8_bf16_avx2(const void *group, const void *act, size_t act_stride,
                           int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride) {
    gemm(1, group, act, act_stride, n_tokens, n_cols, y, y_stride);
}
