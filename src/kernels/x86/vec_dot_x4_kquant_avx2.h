/* AVX2+FMA four-token dot products (kernels/x86) of K-quant and IQ4_XS weights with Q8_K
 * activations: the contract of ifn_vec_dot_x4_fn (kernels/kernels.h), each result bit-identical
 * to the matching single-token kernel of vec_dot_kquant_avx2.h. Call only when the CPU has
 * AVX2+FMA+F16C. Cannot fail; thread-safe. */
#ifndef IFN_KERNELS_X86_VEC_DOT_X4_KQUANT_AVX2_H
#define IFN_KERNELS_X86_VEC_DOT_X4_KQUANT_AVX2_H

#include <stddef.h>
#include <stdint.h>

void ifn_vec_dot_x4_kquant_q2_k_avx2(const void *w_row, const void *act, size_t act_stride,
                                     int64_t n, float *out);
void ifn_vec_dot_x4_kquant_q3_k_avx2(const void *w_row, const void *act, size_t act_stride,
                                     int64_t n, float *out);
void ifn_vec_dot_x4_kquant_q4_k_avx2(const void *w_row, const void *act, size_t act_stride,
                                     int64_t n, float *out);
void ifn_vec_dot_x4_kquant_q5_k_avx2(const void *w_row, const void *act, size_t act_stride,
                                     int64_t n, float *out);
void ifn_vec_dot_x4_kquant_q6_k_avx2(const void *w_row, const void *act, size_t act_stride,
                                     int64_t n, float *out);
void ifn_vec_dot_x4_kquant_iq4_xs_avx2(const void *w_row, const void *act, size_t act_stride,
                                       int64_t n, float *out);

#endif
