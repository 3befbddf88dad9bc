/* Llama forward pass: RMSNorm -> Q/K/V -> RoPE -> causal grouped-query attention -> output
 * projection -> RMSNorm -> SwiGLU FFN, residuals around both, then the classifier.
 * Batch rows are processed together so every weight matrix is read once per chunk. */
#include "engine/forward.h"

#include <math.h>
#include <string.h>

#include "tensor/ops.h"
#include "kernels/kernels.h"
#include "util/alloc.h"
#include "util/status.h"

struct ifn_forward {
    ifn_model *model;
    ifn_hparams hp;
    int32_t n_ctx;
    int32_t max_batch;
    int64_t q_dim, kv_dim;
    float *k_cache;      /* [n_layer][n_ctx][kv_dim] */
    float *v_cache;      /* [n_layer][n_ctx][kv_dim] */
    float *x;            /* [max_batch][n_embd] residual stream */
    float *xb;           /* [max_batch][max(n_embd, q_dim)] normed input / attention output */
    float *q;            /* [max_batch][q_dim] */
    float *k;            /* [max_batch][kv_dim] */
    float *v;            /* [max_batch][kv_dim] */
    float *proj;         /* [max_batch][n_embd] */
    float *gate;         /* [max_batch][n_ff] */
    float *up;           /* [max_batch][n_ff] */
    float *scores;       /* [n_ctx] */
    float *row_scratch;  /* [max(n_embd, n_ff, q_dim)] decoded weight row */
    float *inv_freq;     /* [n_rot / 2] */
    float *hidden;       /* [n_embd] last token's normed hidden state */
};

static float *alloc_floats(size_t count) {
    return ifn_alloc_aligned(64, count * sizeof(float) + 64);
}

static void init_rope(ifn_forward *f, const float *factors) {
    const ifn_hparams *hp = &f->hp;
    for (int32_t i = 0; i < hp->n_rot / 2; i++) {
        double freq = pow((double)hp->rope_freq_base, -2.0 * i / hp->n_rot);
        freq *= hp->rope_freq_scale;
        if (factors) freq /= factors[i];
        f->inv_freq[i] = (float)freq;
    }
}

ifn_status ifn_forward_create(ifn_model *model, int32_t n_ctx, int32_t max_batch,
                              ifn_forward **out_forward) {
    const ifn_hparams *hp = ifn_model_hparams(model);
    if (n_ctx <= 0) n_ctx = hp->n_ctx_train;
    if (max_batch <= 0) max_batch = 64;
    if (n_ctx > (1 << 24)) return ifn_fail(IFN_E_INVALID, "forward: context %d too large", n_ctx);
    ifn_forward *f = ifn_calloc(1, sizeof *f);
    if (!f) return ifn_fail(IFN_E_NOMEM, "forward: no memory");
    f->model = model;
    ifn_model_retain(model);
    f->hp = *hp;
    f->n_ctx = n_ctx;
    f->max_batch = max_batch;
    f->q_dim = (int64_t)hp->n_head * hp->head_dim;
    f->kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    size_t cache = (size_t)hp->n_layer * (size_t)n_ctx * (size_t)f->kv_dim;
    size_t wide = (size_t)(f->q_dim > hp->n_embd ? f->q_dim : hp->n_embd);
    size_t widest = wide > (size_t)hp->n_ff ? wide : (size_t)hp->n_ff;
    size_t b = (size_t)max_batch;
    f->k_cache = alloc_floats(cache);
    f->v_cache = alloc_floats(cache);
    f->x = alloc_floats(b * (size_t)hp->n_embd);
    f->xb = alloc_floats(b * wide);
    f->q = alloc_floats(b * (size_t)f->q_dim);
    f->k = alloc_floats(b * (size_t)f->kv_dim);
    f->v = alloc_floats(b * (size_t)f->kv_dim);
    f->proj = alloc_floats(b * (size_t)hp->n_embd);
    f->gate = alloc_floats(b * (size_t)hp->n_ff);
    f->up = alloc_floats(b * (size_t)hp->n_ff);
    f->scores = alloc_floats((size_t)n_ctx);
    f->row_scratch = alloc_floats(widest);
    f->inv_freq = alloc_floats((size_t)hp->n_rot / 2 + 1);
    f->hidden = alloc_floats((size_t)hp->n_embd);
    if (!f->k_cache || !f->v_cache || !f->x || !f->xb || !f->q || !f->k || !f->v || !f->proj ||
        !f->gate || !f->up || !f->scores || !f->row_scratch || !f->inv_freq || !f->hidden) {
        ifn_forward_destroy(f);
        return ifn_fail(IFN_E_NOMEM, "forward: no memory for a %d-token context", n_ctx);
    }
    init_rope(f, ifn_model_rope_factors(model));
    *out_forward = f;
    return IFN_OK;
}

void ifn_forward_destroy(ifn_forward *f) {
    if (!f) return;
    float *buffers[] = {f->k_cache, f->v_cache, f->x,      f->xb,          f->q,
                        f->k,       f->v,       f->proj,   f->gate,        f->up,
                        f->scores,  f->row_scratch, f->inv_freq, f->hidden};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) ifn_free_aligned(buffers[i]);
    ifn_model_release(f->model);
    ifn_free(f);
}

int32_t ifn_forward_n_ctx(const ifn_forward *f) {
    return f->n_ctx;
}

int32_t ifn_forward_n_vocab(const ifn_forward *f) {
    return f->hp.n_vocab;
}

const float *ifn_forward_last_hidden(const ifn_forward *f) {
    return f->hidden;
}

/* Rotates the first n_rot dims of each head of vec ([n_heads][head_dim]) for position pos. */
static void apply_rope(const ifn_forward *f, float *vec, int32_t n_heads, int32_t pos) {
    const int32_t head_dim = f->hp.head_dim, half = f->hp.n_rot / 2;
    for (int32_t i = 0; i < half; i++) {
        double angle = (double)pos * (double)f->inv_freq[i];
        float c = (float)cos(angle), s = (float)sin(angle);
        for (int32_t h = 0; h < n_heads; h++) {
            float *head = vec + (size_t)h * head_dim;
            int32_t i0 = f->hp.rope_kind == IFN_ROPE_NORM ? 2 * i : i;
            int32_t i1 = f->hp.rope_kind == IFN_ROPE_NORM ? 2 * i + 1 : i + half;
            float x0 = head[i0], x1 = head[i1];
            head[i0] = x0 * c - x1 * s;
            head[i1] = x0 * s + x1 * c;
        }
    }
}

static void add_bias(float *y, const ifn_weight *bias, int32_t n_tokens, int64_t dim) {
    if (!bias->data) return;
    for (int32_t t = 0; t < n_tokens; t++) ifn_ops_add(y + t * dim, bias->data, dim);
}

/* Causal attention of token t (at position pos) against cache positions 0..pos of layer il. */
static void attend(ifn_forward *f, int32_t il, const float *q, int32_t pos, float *out) {
    const ifn_kernels *k = ifn_kernels_get();
    const int32_t head_dim = f->hp.head_dim;
    const int32_t group = f->hp.n_head / f->hp.n_head_kv;
    const float scale = 1.0f / sqrtf((float)head_dim);
    const float *k_layer = f->k_cache + (size_t)il * (size_t)f->n_ctx * (size_t)f->kv_dim;
    const float *v_layer = f->v_cache + (size_t)il * (size_t)f->n_ctx * (size_t)f->kv_dim;
    for (int32_t h = 0; h < f->hp.n_head; h++) {
        const float *qh = q + (size_t)h * head_dim;
        size_t kv_off = (size_t)(h / group) * head_dim;
        for (int32_t j = 0; j <= pos; j++)
            f->scores[j] = k->dot_f32(qh, k_layer + (size_t)j * f->kv_dim + kv_off, head_dim) * scale;
        ifn_ops_softmax(f->scores, pos + 1);
        float *oh = out + (size_t)h * head_dim;
        memset(oh, 0, (size_t)head_dim * sizeof(float));
        for (int32_t j = 0; j <= pos; j++) {
            const float *vj = v_layer + (size_t)j * f->kv_dim + kv_off;
            float a = f->scores[j];
            for (int32_t i = 0; i < head_dim; i++) oh[i] += a * vj[i];
        }
    }
}

static ifn_status attention_block(ifn_forward *f, int32_t il, int32_t n, int32_t pos0) {
    const ifn_layer_weights *l = ifn_model_layer(f->model, il);
    const int64_t d = f->hp.n_embd;
    for (int32_t t = 0; t < n; t++)
        ifn_ops_rmsnorm(f->xb + t * d, f->x + t * d, l->attn_norm.data, d, f->hp.rms_eps);
    ifn_status st = ifn_ops_matmul(&l->wq, f->xb, n, f->q, f->q_dim, 0, f->q_dim, f->row_scratch);
    if (st == IFN_OK)
        st = ifn_ops_matmul(&l->wk, f->xb, n, f->k, f->kv_dim, 0, f->kv_dim, f->row_scratch);
    if (st == IFN_OK)
        st = ifn_ops_matmul(&l->wv, f->xb, n, f->v, f->kv_dim, 0, f->kv_dim, f->row_scratch);
    if (st != IFN_OK) return st;
    add_bias(f->q, &l->bq, n, f->q_dim);
    add_bias(f->k, &l->bk, n, f->kv_dim);
    add_bias(f->v, &l->bv, n, f->kv_dim);
    size_t layer_off = (size_t)il * (size_t)f->n_ctx * (size_t)f->kv_dim;
    for (int32_t t = 0; t < n; t++) {
        apply_rope(f, f->q + t * f->q_dim, f->hp.n_head, pos0 + t);
        apply_rope(f, f->k + t * f->kv_dim, f->hp.n_head_kv, pos0 + t);
        size_t slot = layer_off + (size_t)(pos0 + t) * (size_t)f->kv_dim;
        memcpy(f->k_cache + slot, f->k + t * f->kv_dim, (size_t)f->kv_dim * sizeof(float));
        memcpy(f->v_cache + slot, f->v + t * f->kv_dim, (size_t)f->kv_dim * sizeof(float));
    }
    for (int32_t t = 0; t < n; t++) attend(f, il, f->q + t * f->q_dim, pos0 + t, f->xb + t * f->q_dim);
    st = ifn_ops_matmul(&l->wo, f->xb, n, f->proj, d, 0, d, f->row_scratch);
    if (st != IFN_OK) return st;
    ifn_ops_add(f->x, f->proj, (int64_t)n * d);
    return IFN_OK;
}

static ifn_status ffn_block(ifn_forward *f, int32_t il, int32_t n) {
    const ifn_layer_weights *l = ifn_model_layer(f->model, il);
    const int64_t d = f->hp.n_embd, ff = f->hp.n_ff;
    for (int32_t t = 0; t < n; t++)
        ifn_ops_rmsnorm(f->xb + t * d, f->x + t * d, l->ffn_norm.data, d, f->hp.rms_eps);
    ifn_status st = ifn_ops_matmul(&l->w_gate, f->xb, n, f->gate, ff, 0, ff, f->row_scratch);
    if (st == IFN_OK) st = ifn_ops_matmul(&l->w_up, f->xb, n, f->up, ff, 0, ff, f->row_scratch);
    if (st != IFN_OK) return st;
    ifn_ops_swiglu(f->gate, f->gate, f->up, (int64_t)n * ff);
    st = ifn_ops_matmul(&l->w_down, f->gate, n, f->proj, d, 0, d, f->row_scratch);
    if (st != IFN_OK) return st;
    ifn_ops_add(f->x, f->proj, (int64_t)n * d);
    return IFN_OK;
}

/* Final norm and classifier for tokens [first, n) of the chunk; logits rows are contiguous. */
static ifn_status output_block(ifn_forward *f, int32_t first, int32_t n, float *logits) {
    const int64_t d = f->hp.n_embd;
    const ifn_weight *norm = ifn_model_output_norm(f->model);
    for (int32_t t = first; t < n; t++)
        ifn_ops_rmsnorm(f->xb + t * d, f->x + t * d, norm->data, d, f->hp.rms_eps);
    memcpy(f->hidden, f->xb + (int64_t)(n - 1) * d, (size_t)d * sizeof(float));
    const ifn_weight *out = ifn_model_output(f->model);
    return ifn_ops_matmul(out, f->xb + first * d, n - first, logits, f->hp.n_vocab, 0,
                          f->hp.n_vocab, f->row_scratch);
}

static ifn_status eval_chunk(ifn_forward *f, const int32_t *tokens, int32_t n, int32_t pos0,
                             float *logits, int all_logits) {
    const int64_t d = f->hp.n_embd;
    const ifn_weight *embd = ifn_model_tok_embd(f->model);
    for (int32_t t = 0; t < n; t++) {
        ifn_status st = ifn_ops_get_row(embd, tokens[t], f->x + t * d);
        if (st != IFN_OK) return st;
    }
    for (int32_t il = 0; il < f->hp.n_layer; il++) {
        ifn_status st = attention_block(f, il, n, pos0);
        if (st == IFN_OK) st = ffn_block(f, il, n);
        if (st != IFN_OK) return st;
    }
    if (!logits) return IFN_OK;
    return output_block(f, all_logits ? 0 : n - 1, n, logits);
}

ifn_status ifn_forward_eval(ifn_forward *f, const int32_t *tokens, int32_t n, int32_t pos0,
                            float *logits, int all_logits) {
    if (n < 1 || pos0 < 0) return ifn_fail(IFN_E_INVALID, "forward: %d tokens at %d", n, pos0);
    if (pos0 > f->n_ctx - n)
        return ifn_fail(IFN_E_FULL, "forward: %d tokens at position %d exceed the %d-token context",
                        n, pos0, f->n_ctx);
    for (int32_t t = 0; t < n; t++)
        if (tokens[t] < 0 || tokens[t] >= f->hp.n_vocab)
            return ifn_fail(IFN_E_INVALID, "forward: token id %d is outside the vocabulary (%d)",
                            tokens[t], f->hp.n_vocab);
    for (int32_t done = 0; done < n; done += f->max_batch) {
        int32_t chunk = n - done < f->max_batch ? n - done : f->max_batch;
        int is_last = done + chunk == n;
        float *chunk_logits = NULL;
        if (all_logits) chunk_logits = logits + (size_t)done * (size_t)f->hp.n_vocab;
        else if (is_last) chunk_logits = logits;
        ifn_status st = eval_chunk(f, tokens + done, chunk, pos0 + done, chunk_logits, all_logits);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}
