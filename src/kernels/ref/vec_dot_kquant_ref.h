/* Scalar reference fast-path dot products (kernels/ref) of 256-element super-block weights
 * (Q2_K..Q6_K, IQ4_XS) with Q8_K activations: n elements, a whole number of super-blocks;
 * weight rows need no alignment, activation rows 4-byte alignment. Cannot fail; thread-safe. */
#ifndef IFN_KERNELS_REF_VEC_DOT_KQUANT_REF_H
#define IFN_KERNELS_REF_VEC_DOT_KQUANT_REF_H

#include <stdint.h>

float ifn_vec_dot_kquant_q2_k_ref(const void *w_row, const void *act_row, int64_t n);
float ifn_vec_dot_kquant_q3_k_ref(const void *w_row, const void *act_row, int64_t n);
float ifn_vec_dot_kquant_q4_k_ref(const void *w_row, const void *act_row, int64_t n);
float ifn_vec_dot_kquant_q5_k_ref(const void *w_row, const void *act_row, int64_t n);
float ifn_vec_dot_kquant_q6_k_ref(const void *w_row, const void *act_row, int64_t n);
float ifn_vec_dot_kquant_iq4_xs_ref(const void *w_row, const void *act_row, int64_t n);

#endif
