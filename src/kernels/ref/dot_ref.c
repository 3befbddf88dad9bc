/* Scalar dot product: the readable definition. Sequential float accumulation. */
#include "kernels/kernels.h"

float ifn_dot_f32_ref(const float *a, const float *b, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}
