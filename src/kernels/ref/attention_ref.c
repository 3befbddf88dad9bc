/* Scalar attention of one KV group over a paged KV cache: the readable definition. Each query
 * head takes two passes over positions 0..n_kv-1: the largest score, then exp-weighted sums of
 * the V rows, divided by the sum of weights at the end. Dot products and the sum of weights
 * are float64 (one rounding each, so the reference stays well inside the AVX2 kernel's 1e-5 over
 * thousands of positions); the weighted V sums are float32 in position order. Scores are
 * recomputed in the second pass rather than stored, so no buffer is needed. */
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

#include "util/half.h"
#include "util/status.h"

/* Start of this KV head's K or V values at position pos. */
static const unsigned char *kv_head_row(const ifn_attn_args *a, const void *const *blocks,
                                        int32_t pos) {
    const unsigned char *block = blocks[pos / a->block_size];
    return block + (size_t)(pos % a->block_size) * a->row_stride + a->head_offset;
}

static float kv_value(const unsigned char *row, ifn_dtype type, int32_t i) {
    if (type == IFN_DTYPE_F16) {
        uint16_t h;
        memcpy(&h, row + (size_t)i * sizeof h, sizeof h);
        return ifn_f16_to_f32(h);
    }
    float f;
    memcpy(&f, row + (size_t)i * sizeof f, sizeof f);
    return f;
}

static float score(const ifn_attn_args *a, const float *q, int32_t pos) {
    const unsigned char *k = kv_head_row(a, a->k_blocks, pos);
    float dot = 0.0f;
    for (int32_t i = 0; i < a->head_dim; i++)
        dot += q[i] * kv_value(k, a->kv_type, i);
    return dot * a->scale;
}

/* out = softmax(scores) . V for one query head. */
static void attend_one(const ifn_attn_args *a, const float *q, float *out) {
    float max = -INFINITY;
    for (int32_t pos = 0; pos < a->n_kv; pos++)
        max = fmaxf(max, score(a, q, pos));
    double sum = 0.0;
    memset(out, 0, (size_t)a->head_dim * sizeof *out);
    for (int32_t pos = 0; pos < a->n_kv; pos++) {
        const float w = expf(score(a, q, pos) - max);
        const unsigned char *v = kv_head_row(a, a->v_blocks, pos);
        sum += w;
        for (int32_t i = 0; i < a->head_dim; i++)
            out[i] += w * kv_value(v, a->kv_type, i);
    }
    for (int32_t i = 0; i < a->head_dim; i++)
        out[i] = (float)(out[i] / sum);
}

void ifn_attention_ref(const ifn_attn_args *a) {
    IFN_ASSERT(a->kv_type == IFN_DTYPE_F32 || a->kv_type == IFN_DTYPE_F16);
    IFN_ASSERT(a->n_q >= 1 && a->head_dim >= 1 && a->block_size >= 1 && a->n_kv >= 1);
    const int32_t n_tok = a->n_tok > 1 ? a->n_tok : 1;
    for (int32_t i = 0; i < n_tok; i++) {
        ifn_attn_args one = *a;
        one.n_kv = a->n_kv + i;
        for (int32_t h = 0; h < a->n_q; h++) {
            const size_t off = (size_t)h * (size_t)a->head_dim;
            attend_one(&one, a->q + (size_t)i * a->q_stride + off,
                       a->out + (size_t)i * a->out_stride + off);
        }
    }
}
