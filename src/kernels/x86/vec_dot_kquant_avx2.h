/* AVX2+FMA fast-path dot products (kernels/x86) of K-quant and IQ4_XS weights with Q8_K
 * activations: the contracts of kernels/ref/vec_dot_kquant_ref.h, integer parts identical,
 * float sums in another order. Call only when the CPU has AVX2+FMA+F16C. Cannot fail;
 * thread-safe. */
#ifndef IFN_KERNELS_X86_VEC_DOT_KQUANT_AVX2_H
#define IFN_KERNELS_X86_VEC_DOT_KQUANT_AVX2_H

#include <stdint.h>

float ifn_vec_dot_kquant_q2_k_avx2(const void *w_row, const void *act_row, int64_t n);
float ifn_vec_dot_kquant_q3_k_avx2(const void *w_row, const void *act_row, int64_t n);
float ifn_vec_dot_kquant_q4_k_avx2(const void *w_row, const void *act_row, int64_t n);
float ifn_vec_dot_kquant_q5_k_avx2(const void *w_row, const void *act_row, int64_t n);
float ifn_vec_dot_kquant_q6_k_avx2(const void *w_row, const void *act_row, int64_t n);
float ifn_vec_dot_kquant_iq4_xs_avx2(const void *w_row, const void *act_row, int64_t n);

#endif
