/* AVX2+FMA four-token dot products (kernels/x86) of float and 32-element block weights: the
 * contract of ifn_vec_dot_x4_fn (kernels/kernels.h), each result bit-identical to the matching
 * single-token kernel of vec_dot_avx2.h. Call only when the CPU has AVX2+FMA+F16C. Cannot fail;
 * thread-safe. */
#ifndef IFN_KERNELS_X86_VEC_DOT_X4_AVX2_H
#define IFN_KERNELS_X86_VEC_DOT_X4_AVX2_H

#include <stddef.h>
#include <stdint.h>

/* Float weights, F32 activations. */
void ifn_vec_dot_x4_f32_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_f16_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out);
void ifn_vec_dot_x4_bf16_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out);
/* Q8_0 activations. */
void ifn_vec_dot_x4_q4_0_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out);
void ifn_vec_dot_x4_q5_0_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out);
void ifn_vec_dot_x4_q8_0_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out);
void ifn_vec_dot_x4_iq4_nl_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                                float *out);
/* Q8_0 activations with float block scales (ifn_vec_dot_x4_scaled_fn). */
void ifn_vec_dot_x4s_q4_0_avx2(const void *w_row, const void *act, size_t act_stride,
                               const float *act_scales, int64_t n, float *out);
void ifn_vec_dot_x4s_q5_0_avx2(const void *w_row, const void *act, size_t act_stride,
                               const float *act_scales, int64_t n, float *out);
void ifn_vec_dot_x4s_q8_0_avx2(const void *w_row, const void *act, size_t act_stride,
                               const float *act_scales, int64_t n, float *out);
void ifn_vec_dot_x4s_iq4_nl_avx2(const void *w_row, const void *act, size_t act_stride,
                                 const float *act_scales, int64_t n, float *out);
/* Q8_1 activations. */
void ifn_vec_dot_x4_q4_1_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out);
void ifn_vec_dot_x4_q5_1_avx2(const void *w_row, const void *act, size_t act_stride, int64_t n,
                              float *out);

#endif
