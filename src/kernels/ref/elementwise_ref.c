/* Scalar element-wise ops of the forward pass (RMSNorm, RoPE, softmax, SwiGLU, add, F16 row
 * conversion, argmax): the readable definitions the AVX2 variants are tested against. Plain
 * float32 arithmetic in index order, libm's expf; the RoPE angles are shared by all ISAs. */
#include "kernels/kernels.h"

#include <math.h>

#include "util/half.h"

void ifn_elementwise_rmsnorm_ref(float *out, const float *x, const float *weight, int64_t n,
                                 float eps) {
    float sum_sq = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum_sq += x[i] * x[i];
    const float scale = 1.0f / sqrtf(sum_sq / (float)n + eps);
    for (int64_t i = 0; i < n; i++)
        out[i] = weight[i] * (scale * x[i]);
}

void ifn_elementwise_rope_cos_sin(const float *inv_freq, int32_t n_half, int32_t pos,
                                  float *cos_out, float *sin_out) {
    for (int32_t i = 0; i < n_half; i++) {
        const double angle = (double)pos * (double)inv_freq[i];
        cos_out[i] = (float)cos(angle);
        sin_out[i] = (float)sin(angle);
    }
}

void ifn_elementwise_rope_ref(float *x, int32_t n_heads, int32_t head_dim, int32_t n_rot,
                              ifn_rope_mode mode, const float *cos, const float *sin) {
    const int32_t half = n_rot / 2;
    for (int32_t h = 0; h < n_heads; h++) {
        float *head = x + (size_t)h * (size_t)head_dim;
        for (int32_t i = 0; i < half; i++) {
            const int32_t i0 = mode == IFN_ROPE_MODE_NORM ? 2 * i : i;
            const int32_t i1 = mode == IFN_ROPE_MODE_NORM ? 2 * i + 1 : i + half;
            const float x0 = head[i0], x1 = head[i1];
            head[i0] = x0 * cos[i] - x1 * sin[i];
            head[i1] = x0 * sin[i] + x1 * cos[i];
        }
    }
}

void ifn_elementwise_softmax_ref(float *x, int64_t n) {
    float max = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0.0; /* vocabulary-sized rows: a float running sum drifts by ~1e-5 */
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    const float total = (float)sum;
    for (int64_t i = 0; i < n; i++)
        x[i] /= total;
}

void ifn_elementwise_swiglu_ref(float *out, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void ifn_elementwise_add_ref(float *out, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void ifn_elementwise_f32_to_f16_ref(uint16_t *out, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        out[i] = ifn_f32_to_f16(x[i]);
}

void ifn_elementwise_f16_to_f32_ref(float *out, const uint16_t *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        out[i] = ifn_f16_to_f32(x[i]);
}

int64_t ifn_elementwise_argmax_ref(const float *x, int64_t n) {
    int64_t best = -1;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(x[i]) && (best < 0 || x[i] > x[best])) best = i;
    return best < 0 ? 0 : best;
}
