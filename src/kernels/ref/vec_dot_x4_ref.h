/* Scalar reference four-token dot products (kernels/ref): one weight row with four activation
 * rows, each result exactly the single-token reference of vec_dot_ref.h / vec_dot_kquant_ref.h
 * (the contract of ifn_vec_dot_x4_fn in kernels/kernels.h). Cannot fail; thread-safe. */
#ifndef IFN_KERNELS_REF_VEC_DOT_X4_REF_H
#define IFN_KERNELS_REF_VEC_DOT_X4_REF_H

#include <stddef.h>
#include <stdint.h>

/* Float weights, F32 activations. */
void ifn_vec_dot_x4_f32_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                            float *out);
void ifn_vec_dot_x4_f16_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                            float *out);
void ifn_vec_dot_x4_bf16_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
/* 32-element blocks, Q8_0 activations (Q4_1 / Q5_1: Q8_1). */
void ifn_vec_dot_x4_q4_0_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_q4_1_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_q5_0_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_q5_1_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_q8_0_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_iq4_nl_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                               float *out);
/* 256-element super-blocks, Q8_K activations. */
void ifn_vec_dot_x4_q2_k_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_q3_k_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_q4_k_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_q5_k_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_q6_k_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_iq4_xs_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                               float *out);

#endif
