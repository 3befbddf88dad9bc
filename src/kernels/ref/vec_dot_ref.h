/* Scalar reference fast-path dot products (kernels/ref) for float and 32-element block weights:
 * dot(weight row of n elements, activation row of n elements in the type named after the
 * underscore-separated pair). Rows need no alignment except activation blocks (see
 * quant_act_ref.h); n is a whole number of blocks. Cannot fail; thread-safe. */
#ifndef IFN_KERNELS_REF_VEC_DOT_REF_H
#define IFN_KERNELS_REF_VEC_DOT_REF_H

#include <stdint.h>

float ifn_vec_dot_f32_ref(const void *w_row, const void *act_row, int64_t n);     /* F32 act */
float ifn_vec_dot_f16_ref(const void *w_row, const void *act_row, int64_t n);     /* F32 act */
float ifn_vec_dot_f16_f16_ref(const void *w_row, const void *act_row, int64_t n); /* F16 act */
float ifn_vec_dot_bf16_ref(const void *w_row, const void *act_row, int64_t n);    /* F32 act */
float ifn_vec_dot_q4_0_ref(const void *w_row, const void *act_row, int64_t n);    /* Q8_0 act */
float ifn_vec_dot_q4_1_ref(const void *w_row, const void *act_row, int64_t n);    /* Q8_1 act */
float ifn_vec_dot_q5_0_ref(const void *w_row, const void *act_row, int64_t n);    /* Q8_0 act */
float ifn_vec_dot_q5_1_ref(const void *w_row, const void *act_row, int64_t n);    /* Q8_1 act */
float ifn_vec_dot_q8_0_ref(const void *w_row, const void *act_row, int64_t n);    /* Q8_0 act */
float ifn_vec_dot_iq4_nl_ref(const void *w_row, const void *act_row, int64_t n);  /* Q8_0 act */

#endif
