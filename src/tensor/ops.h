/* Tensor operations of the forward pass, on float32 activations, calling the kernel table.
 * Each function is pure apart from its outputs: thread-safe on disjoint outputs. */
#ifndef IFN_TENSOR_OPS_H
#define IFN_TENSOR_OPS_H

#include <stdint.h>

#include "inferneo/status.h"
#include "kernels/kernels.h"
#include "tensor/tensor.h"

/* How a weight is multiplied: the kernel table's packed traits when w has packed rows (and
 * exact is 0), else its fast or exact traits, or, for a type the table has no dot product for,
 * decode-then-dot on float activations (needs row scratch). Cannot fail; the result is static. */
const ifn_matmul_traits *ifn_ops_traits(const ifn_tensor *w, int exact);

/* 1 if a and b consume the same activation format (one converted buffer serves both). */
int ifn_ops_same_act(const ifn_matmul_traits *a, const ifn_matmul_traits *b);

/* Bytes of w packed for the kernel table's packed traits (the layouts so far are exactly w's
 * own size), or 0 when w cannot be packed. */
size_t ifn_ops_packed_bytes(const ifn_tensor *w);

/* Packs w's rows into `out` (ifn_ops_packed_bytes(w) bytes) for the kernel table's packed
 * traits. IFN_E_UNSUPPORTED when its type has no packed kernels or n_rows is not a multiple of
 * 8. Rows [row_begin, row_end) only (multiples of 8), so threads can share the work. */
ifn_status ifn_ops_pack_rows(const ifn_tensor *w, void *out, int64_t row_begin, int64_t row_end);

/* 1 if w can be packed (ifn_ops_pack_rows would succeed). */
int ifn_ops_can_pack(const ifn_tensor *w);

/* Converts activation rows [tok_begin, tok_end) of x ([n][n_cols] floats) for `traits` into
 * act ([n][act_stride] bytes). With act_type F32 it copies. */
void ifn_ops_convert_act(const ifn_matmul_traits *traits, const float *x, int64_t n_cols,
                         void *act, size_t act_stride, int64_t tok_begin, int64_t tok_end);

/* y[t][r] = sum_c W[r][c] * act[t][c] for rows [row_begin, row_end) and t < n_tokens.
 * act rows come from ifn_ops_convert_act with the same traits. `row_scratch` ([w->n_cols]
 * floats) is used only by the decode-then-dot fallback. With packed traits, row_begin and
 * row_end must be multiples of 8 (or row_end = n_rows). */
void ifn_ops_matmul(const ifn_tensor *w, const ifn_matmul_traits *traits, const void *act,
                    size_t act_stride, int64_t n_tokens, float *y, int64_t y_stride,
                    int64_t row_begin, int64_t row_end, float *row_scratch);

/* Copies row `token` of the embedding table to out[n_cols] (decoding quantized rows). */
ifn_status ifn_ops_get_row(const ifn_tensor *table, int64_t token, float *out);

#endif
