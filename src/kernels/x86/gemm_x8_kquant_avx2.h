/* AVX2 kernels for packed eight-row Q4_K and Q6_K groups over Q8_K activations (kernels/ref/
 * packed_blocks.h): bit-identical to ifn_gemm_x8_q4_k_ref and ifn_gemm_x8_q6_k_ref. Only call
 * when the CPU has AVX2+FMA+F16C. */
#ifndef IFN_KERNELS_X86_GEMM_X8_KQUANT_AVX2_H
#define IFN_KERNELS_X86_GEMM_X8_KQUANT_AVX2_H

#include <stddef.h>
#include <stdint.h>

void ifn_gemm_x8_q4_k_avx2(const void *group, const void *act, size_t act_stride,
                           int64_t n_tokens, int64_t n_cols, float *y, int64_t y_stride);

void ifn_gemm_x8_q6_k_avx2(const void *group, const void *act, size_t act_stride, int64_t n_tokens,
                           int64_t n_cols, float *y, int64_t y_stride);

#endif
