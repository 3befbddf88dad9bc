/* AVX2+FMA fast-path dot products (kernels/x86) for float and 32-element block weights: the
 * contracts of kernels/ref/vec_dot_ref.h, integer parts identical, float sums in another order.
 * Call only when the CPU has AVX2+FMA+F16C. Cannot fail; thread-safe. */
#ifndef IFN_KERNELS_X86_VEC_DOT_AVX2_H
#define IFN_KERNELS_X86_VEC_DOT_AVX2_H

#include <stdint.h>

float ifn_vec_dot_f32_avx2(const void *w_row, const void *act_row, int64_t n);     /* F32 act */
float ifn_vec_dot_f16_avx2(const void *w_row, const void *act_row, int64_t n);     /* F32 act */
float ifn_vec_dot_f16_f16_avx2(const void *w_row, const void *act_row, int64_t n); /* F16 act */
float ifn_vec_dot_bf16_avx2(const void *w_row, const void *act_row, int64_t n);    /* F32 act */
float ifn_vec_dot_q4_0_avx2(const void *w_row, const void *act_row, int64_t n);    /* Q8_0 act */
float ifn_vec_dot_q4_1_avx2(const void *w_row, const void *act_row, int64_t n);    /* Q8_1 act */
float ifn_vec_dot_q5_0_avx2(const void *w_row, const void *act_row, int64_t n);    /* Q8_0 act */
float ifn_vec_dot_q5_1_avx2(const void *w_row, const void *act_row, int64_t n);    /* Q8_1 act */
float ifn_vec_dot_q8_0_avx2(const void *w_row, const void *act_row, int64_t n);    /* Q8_0 act */
float ifn_vec_dot_iq4_nl_avx2(const void *w_row, const void *act_row, int64_t n);  /* Q8_0 act */

#endif
