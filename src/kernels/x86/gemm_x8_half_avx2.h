/* AVX2 kernels for packed eight-row F16 / BF16 groups over float32 activations (layout in
 * kernels/ref/packed_blocks.h): bit-identical to ifn_gemm_x8_f16_ref / _bf16_ref. Only call when
 * the CPU has AVX2+FMA+F16C. */
#ifndef IFN_KERNELS_X86_GEMM_X8_HALF_AVX2_H
#define IFN_KERNELS_X86_GEMM_X8_HALF_AVX2_H

#include <stddef.h>
#include <stdint.h>

void ifn_gemm_x8_f16_avx2(const void *group, const void *act, size_t act_stride,
                          int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
void ifn_gemm_x8_bf16_avx2(const void *group, const void *act, size_t act_stride,
                           int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
/* Two consecutive groups (16 rows): the same bits as two calls of the eight-row kernels. */
void ifn_gemm_x16_f16_avx2(const void *groups, const void *act, size_t act_stride,
                           int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
void ifn_gemm_x16_bf16_avx2(const void *groups, const void *act, size_t act_stride,
                            int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);

#endif
