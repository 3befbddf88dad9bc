/* Tensor operations of the forward pass, on float32 activations, calling the kernel table.
 * Each function is pure apart from its outputs: thread-safe on disjoint outputs. */
#ifndef IFN_TENSOR_OPS_H
#define IFN_TENSOR_OPS_H

#include <stdint.h>

#include "inferneo/status.h"
#include "tensor/tensor.h"

/* y[t][r] = sum_c W[r][c] * x[t][c] for rows [row_begin, row_end) and t < n_tokens.
 * x: [n_tokens][w->n_cols]; y: [n_tokens][y_stride]. Each weight row is decoded once for the
 * whole batch into `row_scratch` ([w->n_cols] floats) unless it is stored as F32.
 * Fails only for a weight type without a decoder (IFN_E_UNSUPPORTED). */
ifn_status ifn_ops_matmul(const ifn_tensor *w, const float *x, int64_t n_tokens, float *y,
                          int64_t y_stride, int64_t row_begin, int64_t row_end,
                          float *row_scratch);

/* out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]; out may alias x. */
void ifn_ops_rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps);

/* Copies row `token` of the embedding table to out[n_cols] (decoding quantized rows). */
ifn_status ifn_ops_get_row(const ifn_tensor *table, int64_t token, float *out);

/* out[i] = silu(gate[i]) * up[i]; out may alias gate. */
void ifn_ops_swiglu(float *out, const float *gate, const float *up, int64_t n);

/* In-place softmax over x[0..n). */
void ifn_ops_softmax(float *x, int64_t n);

/* x[i] += y[i] */
void ifn_ops_add(float *x, const float *y, int64_t n);

#endif
