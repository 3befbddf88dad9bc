/* AVX2+FMA element-wise ops (RMSNorm, RoPE, softmax, SwiGLU, add, F16 row conversion, argmax)
 * and the vector exponential the attention kernel shares. Results match the references in
 * kernels/ref/elementwise_ref.c up to float32 rounding order (argmax and the F16 conversions
 * exactly). Loads and stores are unaligned; tails shorter than 8 go through 8-float copies or
 * the scalar formula, never past the end of a row. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/x86/util_avx2.h"

/* exp(x): x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two so r is exact to float
 * precision), exp(r) by its degree-6 Taylor polynomial (truncation below 1e-7 relative), times
 * 2^n built in the exponent bits. x is clamped to [-88, 88.73]: below -87.34 n reaches -127,
 * whose exponent field 0 makes the scale (and result) 0; n = 128 gives the infinity pattern. */
static inline __m256 exp_ps(__m256 x) {
    const __m256 clamped =
        _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-88.0f)), _mm256_set1_ps(88.73f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(clamped, _mm256_set1_ps(1.44269504f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), clamped);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i bits =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    const __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    return _mm256_blendv_ps(result, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)); /* NaN stays NaN */
}

void ifn_elementwise_exp_avx2(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, exp_ps(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float tail[8] = {0};
        memcpy(tail, x + i, (size_t)(n - i) * sizeof *x);
        _mm256_storeu_ps(tail, exp_ps(_mm256_loadu_ps(tail)));
        memcpy(x + i, tail, (size_t)(n - i) * sizeof *x);
    }
}

void ifn_elementwise_rmsnorm_avx2(float *out, const float *x, const float *weight, int64_t n,
                                  float eps) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        const __m256 c = _mm256_loadu_ps(x + i + 16), d = _mm256_loadu_ps(x + i + 24);
        acc0 = _mm256_fmadd_ps(a, a, acc0);
        acc1 = _mm256_fmadd_ps(b, b, acc1);
        acc2 = _mm256_fmadd_ps(c, c, acc2);
        acc3 = _mm256_fmadd_ps(d, d, acc3);
    }
    for (; i + 8 <= n; i += 8) {
        const __m256 a = _mm256_loadu_ps(x + i);
        acc0 = _mm256_fmadd_ps(a, a, acc0);
    }
    float sum_sq =
        ifn_avx2_hsum_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; i++)
        sum_sq += x[i] * x[i];
    const float scale = 1.0f / sqrtf(sum_sq / (float)n + eps);
    const __m256 vscale = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 xs = _mm256_mul_ps(vscale, _mm256_loadu_ps(x + i));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(weight + i), xs));
    }
    for (; i < n; i++)
        out[i] = weight[i] * (scale * x[i]);
}

/* The scalar rotation of pair (i0, i1) by angle i of each head, for the tails. */
static void rope_pair(float *x, int32_t n_heads, int32_t head_dim, int32_t i0, int32_t i1, float c,
                      float s) {
    for (int32_t h = 0; h < n_heads; h++) {
        float *head = x + (size_t)h * (size_t)head_dim;
        const float x0 = head[i0], x1 = head[i1];
        head[i0] = x0 * c - x1 * s;
        head[i1] = x0 * s + x1 * c;
    }
}

/* Adjacent pairs, 4 per vector: x = [a0 b0 a1 b1 ...], swapped = [b0 a0 b1 a1 ...];
 * fmaddsub gives a*c - b*s in even lanes and b*c + a*s in odd ones. */
static void rope_norm(float *x, int32_t n_heads, int32_t head_dim, int32_t half, const float *cos,
                      const float *sin) {
    int32_t i = 0;
    for (; i + 4 <= half; i += 4) {
        const __m128 c4 = _mm_loadu_ps(cos + i), s4 = _mm_loadu_ps(sin + i);
        const __m256 c = _mm256_set_m128(_mm_unpackhi_ps(c4, c4), _mm_unpacklo_ps(c4, c4));
        const __m256 s = _mm256_set_m128(_mm_unpackhi_ps(s4, s4), _mm_unpacklo_ps(s4, s4));
        for (int32_t h = 0; h < n_heads; h++) {
            float *p = x + (size_t)h * (size_t)head_dim + 2 * i;
            const __m256 v = _mm256_loadu_ps(p);
            const __m256 swapped = _mm256_permute_ps(v, 0xB1);
            _mm256_storeu_ps(p, _mm256_fmaddsub_ps(v, c, _mm256_mul_ps(swapped, s)));
        }
    }
    for (; i < half; i++)
        rope_pair(x, n_heads, head_dim, 2 * i, 2 * i + 1, cos[i], sin[i]);
}

/* Half-split pairs (x[i], x[i + half]), 8 per vector. */
static void rope_neox(float *x, int32_t n_heads, int32_t head_dim, int32_t half, const float *cos,
                      const float *sin) {
    int32_t i = 0;
    for (; i + 8 <= half; i += 8) {
        const __m256 c = _mm256_loadu_ps(cos + i), s = _mm256_loadu_ps(sin + i);
        for (int32_t h = 0; h < n_heads; h++) {
            float *p0 = x + (size_t)h * (size_t)head_dim + i, *p1 = p0 + half;
            const __m256 a = _mm256_loadu_ps(p0), b = _mm256_loadu_ps(p1);
            _mm256_storeu_ps(p0, _mm256_fmsub_ps(a, c, _mm256_mul_ps(b, s)));
            _mm256_storeu_ps(p1, _mm256_fmadd_ps(a, s, _mm256_mul_ps(b, c)));
        }
    }
    for (; i < half; i++)
        rope_pair(x, n_heads, head_dim, i, i + half, cos[i], sin[i]);
}

void ifn_elementwise_rope_avx2(float *x, int32_t n_heads, int32_t head_dim, int32_t n_rot,
                               ifn_rope_mode mode, const float *cos, const float *sin) {
    if (mode == IFN_ROPE_MODE_NORM)
        rope_norm(x, n_heads, head_dim, n_rot / 2, cos, sin);
    else
        rope_neox(x, n_heads, head_dim, n_rot / 2, cos, sin);
}

/* Index of the lowest set bit of a non-zero 8-bit mask. */
static int lowest_set_bit(int mask) {
    int b = 0;
    while (!(mask & (1 << b)))
        b++;
    return b;
}

static float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

void ifn_elementwise_softmax_avx2(float *x, int64_t n) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        vmax = _mm256_max_ps(_mm256_loadu_ps(x + i), vmax);
    float max = hmax_ps(vmax);
    for (; i < n; i++)
        if (x[i] > max) max = x[i];
    const __m256 vm = _mm256_set1_ps(max);
    __m256 acc = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
        _mm256_storeu_ps(x + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float sum = ifn_avx2_hsum_ps(acc);
    if (i < n) {
        float tail[8];
        for (int j = 0; j < 8; j++)
            tail[j] = i + j < n ? x[i + j] - max : -INFINITY;
        _mm256_storeu_ps(tail, exp_ps(_mm256_loadu_ps(tail)));
        for (int64_t j = 0; i + j < n; j++) {
            x[i + j] = tail[j];
            sum += tail[j];
        }
    }
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; i++)
        x[i] /= sum;
}

static __m256 swiglu_ps(__m256 g, __m256 u) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

void ifn_elementwise_swiglu_avx2(float *out, const float *gate, const float *up, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, swiglu_ps(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < n) {
        float g[8] = {0}, u[8] = {0};
        memcpy(g, gate + i, (size_t)(n - i) * sizeof *g);
        memcpy(u, up + i, (size_t)(n - i) * sizeof *u);
        _mm256_storeu_ps(g, swiglu_ps(_mm256_loadu_ps(g), _mm256_loadu_ps(u)));
        memcpy(out + i, g, (size_t)(n - i) * sizeof *g);
    }
}

void ifn_elementwise_add_avx2(float *out, const float *a, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; i++)
        out[i] = a[i] + b[i];
}

void ifn_elementwise_f32_to_f16_avx2(uint16_t *out, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(out + i), h);
    }
    if (i < n) {
        float f[8] = {0};
        uint16_t h[8];
        memcpy(f, x + i, (size_t)(n - i) * sizeof *f);
        _mm_storeu_si128((__m128i *)h,
                         _mm256_cvtps_ph(_mm256_loadu_ps(f), _MM_FROUND_TO_NEAREST_INT));
        memcpy(out + i, h, (size_t)(n - i) * sizeof *h);
    }
}

void ifn_elementwise_f16_to_f32_avx2(float *out, const uint16_t *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(ifn_avx2_load128(x + i)));
    if (i < n) {
        uint16_t h[8] = {0};
        float f[8];
        memcpy(h, x + i, (size_t)(n - i) * sizeof *h);
        _mm256_storeu_ps(f, _mm256_cvtph_ps(ifn_avx2_load128(h)));
        memcpy(out + i, f, (size_t)(n - i) * sizeof *f);
    }
}

/* Two passes: the largest non-NaN value (max_ps returns its second operand, the running max,
 * when the element is NaN), then the first index holding it. */
int64_t ifn_elementwise_argmax_avx2(const float *x, int64_t n) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        vmax = _mm256_max_ps(_mm256_loadu_ps(x + i), vmax);
    float max = hmax_ps(vmax);
    for (; i < n; i++)
        if (x[i] > max) max = x[i];
    const __m256 vm = _mm256_set1_ps(max);
    for (i = 0; i + 8 <= n; i += 8) {
        const int mask = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), vm, _CMP_EQ_OQ));
        if (mask) return i + lowest_set_bit(mask);
    }
    for (; i < n; i++)
        if (x[i] == max) return i;
    return 0; /* every element is NaN */
}
