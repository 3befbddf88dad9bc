/* Forward-pass ops over float32 activations. Matrix products read each weight row once per
 * batch, so prefill costs one pass over the weights, not one per token. */
#include "tensor/ops.h"

#include <math.h>
#include <string.h>

#include "kernels/dequant.h"
#include "kernels/kernels.h"

ifn_status ifn_ops_matmul(const ifn_tensor *w, const float *x, int64_t n_tokens, float *y,
                          int64_t y_stride, int64_t row_begin, int64_t row_end,
                          float *row_scratch) {
    const ifn_kernels *k = ifn_kernels_get();
    const int64_t n_cols = w->n_cols;
    for (int64_t r = row_begin; r < row_end; r++) {
        const float *row = ifn_tensor_row(w, r);
        if (w->type != IFN_DTYPE_F32) {
            ifn_status st = ifn_dequant_row(w->type, row, row_scratch, n_cols);
            if (st != IFN_OK) return st;
            row = row_scratch;
        }
        for (int64_t t = 0; t < n_tokens; t++)
            y[t * y_stride + r] = k->dot_f32(row, x + t * n_cols, n_cols);
    }
    return IFN_OK;
}

void ifn_ops_rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps) {
    float sum_sq = 0.0f;
    for (int64_t i = 0; i < n; i++) sum_sq += x[i] * x[i];
    float scale = 1.0f / sqrtf(sum_sq / (float)n + eps);
    for (int64_t i = 0; i < n; i++) out[i] = weight[i] * (scale * x[i]);
}

ifn_status ifn_ops_get_row(const ifn_tensor *table, int64_t token, float *out) {
    const void *row = ifn_tensor_row(table, token);
    if (table->type == IFN_DTYPE_F32) {
        memcpy(out, row, (size_t)table->n_cols * sizeof(float));
        return IFN_OK;
    }
    return ifn_dequant_row(table->type, row, out, table->n_cols);
}

void ifn_ops_swiglu(float *out, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        g *= 1.0f / (1.0f + expf(-g));
        out[i] = g * up[i];
    }
}

void ifn_ops_softmax(float *x, int64_t n) {
    float max = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    for (int64_t i = 0; i < n; i++) x[i] /= sum;
}

void ifn_ops_add(float *x, const float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
}
