/* Packed eight-row groups of Q4_K super-blocks (layout in packed_blocks.h): the packer, shared
 * by every ISA, and the scalar reference kernel over Q8_K activations, which the SIMD variant
 * matches bit for bit. Cannot fail; thread-safe. */
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

#endif
