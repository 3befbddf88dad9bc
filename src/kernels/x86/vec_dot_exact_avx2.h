/* AVX2+FMA exact-path dot products (kernels/x86): the contracts of
 * kernels/ref/vec_dot_exact_ref.h, weights decoded in registers to the very floats
 * ifn_dequant_row gives, float32 FMA accumulation in another order. (F32, F16 and BF16 use the
 * fast-path kernels, which are already exact.) Call only when the CPU has AVX2+FMA+F16C.
 * Cannot fail; thread-safe. */
#ifndef IFN_KERNELS_X86_VEC_DOT_EXACT_AVX2_H
#define IFN_KERNELS_X86_VEC_DOT_EXACT_AVX2_H

#include <stdint.h>

float ifn_vec_dot_exact_q4_0_avx2(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q4_1_avx2(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q5_0_avx2(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q5_1_avx2(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q8_0_avx2(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_iq4_nl_avx2(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q2_k_avx2(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q3_k_avx2(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q4_k_avx2(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q5_k_avx2(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q6_k_avx2(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_iq4_xs_avx2(const void *w_row, const void *x, int64_t n);

#endif
