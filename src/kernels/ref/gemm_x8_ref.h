/* Packed eight-row weight groups (layouts in packed_blocks.h): the packers, shared by every
 * ISA since the layout is the contract, and the scalar reference of their activation quantizer
 * and matrix kernels, which the SIMD variants match bit for bit. Cannot fail; thread-safe. */
#ifndef IFN_KERNELS_REF_GEMM_X8_REF_H
#define IFN_KERNELS_REF_GEMM_X8_REF_H

#include <stddef.h>
#include <stdint.h>

/* Eight rows (row_bytes apart, n_cols elements each, a whole number of blocks) into one group. */
void ifn_pack_x8_q8_0(const void *rows, size_t row_bytes, int64_t n_cols, void *out);
void ifn_pack_x8_q4_0(const void *rows, size_t row_bytes, int64_t n_cols, void *out);
/* F16 and BF16 rows (any length). */
void ifn_pack_x8_16bit(const void *rows, size_t row_bytes, int64_t n_cols, void *out);

/* Float rows to ifn_block_q8s blocks: the quants and (widened) scale of Q8_0 quantization,
 * plus each block's quant sum. */
void ifn_quant_act_q8s_ref(const float *x, void *out, int64_t n);

/* See ifn_gemm_x8_fn in kernels.h. */
void ifn_gemm_x8_q8_0_ref(const void *group, const void *act, size_t act_stride, int64_t n_tokens,
                          int64_t n_cols, float *y, int64_t y_stride);
void ifn_gemm_x8_q4_0_ref(const void *group, const void *act, size_t act_stride, int64_t n_tokens,
                          int64_t n_cols, float *y, int64_t y_stride);

/* F16 / BF16 groups over float32 activations: per row and token, every element fused-added
 * into one float accumulator, in order. */
void ifn_gemm_x8_f16_ref(const void *group, const void *act, size_t act_stride, int64_t n_tokens,
                         int64_t n_cols, float *y, int64_t y_stride);
void ifn_gemm_x8_bf16_ref(const void *group, const void *act, size_t act_stride,
                          int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);

#endif
