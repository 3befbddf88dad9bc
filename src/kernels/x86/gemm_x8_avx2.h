/* AVX2 kernels for packed eight-row weight groups (kernels/ref/packed_blocks.h): bit-identical
 * to the references in kernels/ref/gemm_x8_ref.c. Only call when the CPU has AVX2+FMA+F16C. */
#ifndef IFN_KERNELS_X86_GEMM_X8_AVX2_H
#define IFN_KERNELS_X86_GEMM_X8_AVX2_H

#include <stddef.h>
#include <stdint.h>

void ifn_quant_act_q8s_avx2(const float *x, void *out, int64_t n);
void ifn_gemm_x8_q8_0_avx2(const void *group, const void *act, size_t act_stride,
                           int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);
void ifn_gemm_x8_q4_0_avx2(const void *group, const void *act, size_t act_stride,
                           int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);

#endif
