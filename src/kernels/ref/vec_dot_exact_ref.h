/* Scalar reference exact-path dot products (kernels/ref): dot(weight row of n elements decoded
 * exactly as ifn_dequant_row decodes it, float32 activations), accumulated in float32. One per
 * decodable weight type; n is a whole number of blocks, rows need no alignment. Cannot fail;
 * thread-safe. */
#ifndef IFN_KERNELS_REF_VEC_DOT_EXACT_REF_H
#define IFN_KERNELS_REF_VEC_DOT_EXACT_REF_H

#include <stdint.h>

float ifn_vec_dot_exact_f16_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_bf16_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q4_0_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q4_1_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q5_0_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q5_1_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q8_0_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_iq4_nl_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q2_k_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q3_k_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q4_k_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q5_k_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_q6_k_ref(const void *w_row, const void *x, int64_t n);
float ifn_vec_dot_exact_iq4_xs_ref(const void *w_row, const void *x, int64_t n);

#endif
