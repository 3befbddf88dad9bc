/* Packed eight-row groups of Q4_K and Q6_K super-blocks (layouts in packed_blocks.h): the
 * packers, shared by every ISA, and the scalar reference kernels over Q8_K activations, which
 * the SIMD variants match bit for bit. Cannot fail; thread-safe. */
#ifndef IFN_KERNELS_REF_GEMM_X8_KQUANT_REF_H
#define IFN_KERNELS_REF_GEMM_X8_KQUANT_REF_H

#include <stddef.h>
#include <stdint.h>

void ifn_pack_x8_q4_k(const void *rows, size_t row_bytes, int64_t n_cols, void *out);

/* Per row and token and super-block: A = sum over sub-blocks of scale * (exact dot of the
 * levels with the activation quants), B = sum of min * (the sub-block's activation sum), both
 * exact int32; then acc = fma(float(A), d * d_a, acc), acc = fma(-float(B), dmin * d_a, acc),
 * super-blocks in order. See ifn_gemm_x8_fn in kernels.h. */
void ifn_gemm_x8_q4_k_ref(const void *group, const void *act, size_t act_stride,
                          int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);

void ifn_pack_x8_q6_k(const void *rows, size_t row_bytes, int64_t n_cols, void *out);

/* Per row and token and super-block: T = sum over the 16 sub-blocks of scale * (exact dot of
 * (level - 32) with the activation quants), an exact int32 (|T| <= 16 sub-blocks * 128 (scale)
 * * 16 elements * 32 (level - 32) * 127 (quant) = 133,169,152 < 2^31); then
 * acc = fma(float(T), d * d_a, acc), super-blocks in order. See ifn_gemm_x8_fn in kernels.h. */
void ifn_gemm_x8_q6_k_ref(const void *group, const void *act, size_t act_stride, int64_t n_tokens,
                          int64_t n_cols, float *y, int64_t y_stride);

#endif
