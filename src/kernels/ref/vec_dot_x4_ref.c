/* Scalar four-token dot products: each is four calls of the single-token reference, which is
 * the definition (results are those calls' results, bit for bit). The reference gains nothing
 * from sharing the weight unpacking, so it stays this plain; the SIMD versions do the sharing. */
#include "kernels/ref/vec_dot_x4_ref.h"

#include "kernels/kernels.h"
#include "kernels/ref/vec_dot_kquant_ref.h"
#include "kernels/ref/vec_dot_ref.h"

static void each_token(ifn_vec_dot_fn dot, const void *w_row, const void *act, size_t act_stride,
                       int64_t n, float *out) {
    for (int j = 0; j < 4; j++)
        out[j] = dot(w_row, (const unsigned char *)act + (size_t)j * act_stride, n);
}

void ifn_vec_dot_x4_f32_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                            float *out) {
    each_token(ifn_vec_dot_f32_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_f16_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                            float *out) {
    each_token(ifn_vec_dot_f16_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_bf16_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    each_token(ifn_vec_dot_bf16_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_q4_0_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    each_token(ifn_vec_dot_q4_0_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_q4_1_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    each_token(ifn_vec_dot_q4_1_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_q5_0_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    each_token(ifn_vec_dot_q5_0_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_q5_1_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    each_token(ifn_vec_dot_q5_1_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_q8_0_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    each_token(ifn_vec_dot_q8_0_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_iq4_nl_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                               float *out) {
    each_token(ifn_vec_dot_iq4_nl_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_q2_k_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    each_token(ifn_vec_dot_kquant_q2_k_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_q3_k_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    each_token(ifn_vec_dot_kquant_q3_k_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_q4_k_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    each_token(ifn_vec_dot_kquant_q4_k_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_q5_k_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    each_token(ifn_vec_dot_kquant_q5_k_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_q6_k_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                             float *out) {
    each_token(ifn_vec_dot_kquant_q6_k_ref, w_row, act, act_stride, n, out);
}

void ifn_vec_dot_x4_iq4_xs_ref(const void *w_row, const void *act, size_t act_stride, int64_t n,
                               float *out) {
    each_token(ifn_vec_dot_kquant_iq4_xs_ref, w_row, act, act_stride, n, out);
}
