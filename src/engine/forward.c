/* Llama forward pass: RMSNorm -> Q/K/V -> RoPE -> causal grouped-query attention -> output
 * projection -> RMSNorm -> SwiGLU FFN, residuals around both, then the classifier.
 * The whole pass runs inside the compute pool: every thread walks the same layer loop, takes its
 * share of each op (rows of a matrix, tokens, or (token, head) pairs) and meets the others at a
 * barrier before the next dependent op. Batch rows are processed together, so every weight
 * matrix is read once per chunk. */
#include "engine/forward.h"

#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "tensor/ops.h"
#include "util/alloc.h"
#include "util/status.h"

#define MAX_THREADS 512

struct ifn_forward {
    ifn_model *model;
    ifn_hparams hp;
    ifn_pool *pool;
    int n_threads;
    int exact;
    int32_t n_ctx;
    int32_t max_batch;
    int64_t q_dim, kv_dim, widest;
    size_t act_stride;   /* bytes per converted activation row */
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
    void *act_a;         /* [max_batch][act_stride] converted activations */
    void *act_b;         /* [max_batch][act_stride] second type when a layer mixes types */
    float *scores;       /* [n_threads][n_ctx] */
    float *row_scratch;  /* [n_threads][widest] decoded weight rows (fallback path) */
    float *inv_freq;     /* [n_rot / 2] */
    float *hidden;       /* [n_embd] last token's normed hidden state */
};

/* What one forward_task invocation works on. */
typedef struct step {
    ifn_forward *f;
    const int32_t *tokens;
    int32_t n;
    int32_t pos0;
    float *logits;   /* NULL: no classifier */
    int all_logits;
} step;

ifn_forward_params ifn_forward_params_default(void) {
    ifn_forward_params p = {0, 64, NULL, 0};
    return p;
}

static void *alloc_floats(size_t count) {
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

static ifn_status alloc_buffers(ifn_forward *f) {
    const ifn_hparams *hp = &f->hp;
    size_t cache = (size_t)hp->n_layer * (size_t)f->n_ctx * (size_t)f->kv_dim;
    size_t wide = (size_t)(f->q_dim > hp->n_embd ? f->q_dim : hp->n_embd);
    size_t b = (size_t)f->max_batch, nt = (size_t)f->n_threads;
    f->widest = (int64_t)(wide > (size_t)hp->n_ff ? wide : (size_t)hp->n_ff);
    f->act_stride = ((size_t)f->widest * sizeof(float) + 63) / 64 * 64;
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
    f->act_a = ifn_alloc_aligned(64, b * f->act_stride);
    f->act_b = ifn_alloc_aligned(64, b * f->act_stride);
    f->scores = alloc_floats(nt * (size_t)f->n_ctx);
    f->row_scratch = alloc_floats(nt * (size_t)f->widest);
    f->inv_freq = alloc_floats((size_t)hp->n_rot / 2 + 1);
    f->hidden = alloc_floats((size_t)hp->n_embd);
    if (!f->k_cache || !f->v_cache || !f->x || !f->xb || !f->q || !f->k || !f->v || !f->proj ||
        !f->gate || !f->up || !f->act_a || !f->act_b || !f->scores || !f->row_scratch ||
        !f->inv_freq || !f->hidden)
        return ifn_fail(IFN_E_NOMEM, "forward: no memory for a %d-token context", f->n_ctx);
    return IFN_OK;
}

ifn_status ifn_forward_create(ifn_model *model, const ifn_forward_params *params,
                              ifn_forward **out_forward) {
    const ifn_hparams *hp = ifn_model_hparams(model);
    ifn_forward_params p = params ? *params : ifn_forward_params_default();
    if (p.n_ctx <= 0) p.n_ctx = hp->n_ctx_train;
    if (p.max_batch <= 0) p.max_batch = 64;
    if (p.n_ctx > (1 << 24) || p.max_batch > (1 << 16))
        return ifn_fail(IFN_E_INVALID, "forward: context %d / batch %d too large", p.n_ctx,
                        p.max_batch);
    ifn_forward *f = ifn_calloc(1, sizeof *f);
    if (!f) return ifn_fail(IFN_E_NOMEM, "forward: no memory");
    f->model = model;
    ifn_model_retain(model);
    f->hp = *hp;
    f->pool = p.pool;
    f->n_threads = p.pool ? ifn_pool_size(p.pool) : 1;
    f->exact = p.exact;
    f->n_ctx = p.n_ctx;
    f->max_batch = p.max_batch;
    f->q_dim = (int64_t)hp->n_head * hp->head_dim;
    f->kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    ifn_status st = alloc_buffers(f);
    if (st != IFN_OK) {
        ifn_forward_destroy(f);
        return st;
    }
    init_rope(f, ifn_model_rope_factors(model));
    *out_forward = f;
    return IFN_OK;
}

void ifn_forward_destroy(ifn_forward *f) {
    if (!f) return;
    void *buffers[] = {f->k_cache, f->v_cache, f->x,      f->xb,          f->q,
                       f->k,       f->v,       f->proj,   f->gate,        f->up,
                       f->act_a,   f->act_b,   f->scores, f->row_scratch, f->inv_freq,
                       f->hidden};
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

static void sync_threads(const ifn_forward *f) {
    if (f->pool) ifn_pool_barrier(f->pool);
}

/* Rotates the first n_rot dims of each head of vec ([n_heads][head_dim]) for position pos. */
static void apply_rope(const ifn_forward *f, float *vec, int32_t n_heads, int32_t pos) {
    const int32_t head_dim = f->hp.head_dim, half = f->hp.n_rot / 2;
    const int is_norm = f->hp.rope_kind == IFN_ROPE_NORM;
    for (int32_t i = 0; i < half; i++) {
        double angle = (double)pos * (double)f->inv_freq[i];
        float c = (float)cos(angle), s = (float)sin(angle);
        int32_t i0 = is_norm ? 2 * i : i, i1 = is_norm ? 2 * i + 1 : i + half;
        for (int32_t h = 0; h < n_heads; h++) {
            float *head = vec + (size_t)h * head_dim;
            float x0 = head[i0], x1 = head[i1];
            head[i0] = x0 * c - x1 * s;
            head[i1] = x0 * s + x1 * c;
        }
    }
}

/* Causal attention of one query head (token at position pos) against cache positions 0..pos. */
static void attend_head(const ifn_forward *f, int32_t il, const float *qh, int32_t kv_head,
                        int32_t pos, float *scores, float *oh) {
    const ifn_kernels *k = ifn_kernels_get();
    const int32_t head_dim = f->hp.head_dim;
    const float scale = 1.0f / sqrtf((float)head_dim);
    size_t layer_off = (size_t)il * (size_t)f->n_ctx * (size_t)f->kv_dim;
    const float *k_base = f->k_cache + layer_off + (size_t)kv_head * head_dim;
    const float *v_base = f->v_cache + layer_off + (size_t)kv_head * head_dim;
    for (int32_t j = 0; j <= pos; j++)
        scores[j] = k->dot_f32(qh, k_base + (size_t)j * f->kv_dim, head_dim) * scale;
    ifn_ops_softmax(scores, pos + 1);
    memset(oh, 0, (size_t)head_dim * sizeof(float));
    for (int32_t j = 0; j <= pos; j++) {
        const float *vj = v_base + (size_t)j * f->kv_dim;
        float a = scores[j];
        for (int32_t i = 0; i < head_dim; i++) oh[i] += a * vj[i];
    }
}

/* y = W x for this thread's rows of W (x already converted into act). */
static void matmul_rows(const ifn_forward *f, const ifn_weight *w, const ifn_matmul_traits *tr,
                        const void *act, int32_t n, float *y, int64_t y_stride, int ith, int nth) {
    int64_t r0, r1;
    ifn_pool_split(w->n_rows, 16, ith, nth, &r0, &r1);
    ifn_ops_matmul(w, tr, act, f->act_stride, n, y, y_stride, r0, r1,
                   f->row_scratch + (size_t)ith * (size_t)f->widest);
}

/* Converts this thread's tokens of x for tr into act. */
static void convert_rows(const ifn_forward *f, const ifn_matmul_traits *tr, const float *x,
                         int64_t n_cols, void *act, int32_t n, int ith, int nth) {
    int64_t t0, t1;
    ifn_pool_split(n, 1, ith, nth, &t0, &t1);
    ifn_ops_convert_act(tr, x, n_cols, act, f->act_stride, t0, t1);
}

static void norm_rows(const ifn_forward *f, float *out, const float *x, const ifn_weight *w,
                      int32_t n, int ith, int nth) {
    int64_t t0, t1, d = f->hp.n_embd;
    ifn_pool_split(n, 1, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) ifn_ops_rmsnorm(out + t * d, x + t * d, w->data, d, f->hp.rms_eps);
}

static void add_bias_rope_store(ifn_forward *f, const ifn_layer_weights *l, int32_t il,
                                const step *s, int ith, int nth) {
    int64_t t0, t1;
    ifn_pool_split(s->n, 1, ith, nth, &t0, &t1);
    size_t layer_off = (size_t)il * (size_t)f->n_ctx * (size_t)f->kv_dim;
    for (int64_t t = t0; t < t1; t++) {
        float *q = f->q + t * f->q_dim, *k = f->k + t * f->kv_dim, *v = f->v + t * f->kv_dim;
        if (l->bq.data) ifn_ops_add(q, l->bq.data, f->q_dim);
        if (l->bk.data) ifn_ops_add(k, l->bk.data, f->kv_dim);
        if (l->bv.data) ifn_ops_add(v, l->bv.data, f->kv_dim);
        apply_rope(f, q, f->hp.n_head, s->pos0 + (int32_t)t);
        apply_rope(f, k, f->hp.n_head_kv, s->pos0 + (int32_t)t);
        size_t slot = layer_off + (size_t)(s->pos0 + t) * (size_t)f->kv_dim;
        memcpy(f->k_cache + slot, k, (size_t)f->kv_dim * sizeof(float));
        memcpy(f->v_cache + slot, v, (size_t)f->kv_dim * sizeof(float));
    }
}

static void attention_block(ifn_forward *f, int32_t il, const step *s, int ith, int nth) {
    const ifn_layer_weights *l = ifn_model_layer(f->model, il);
    const int64_t d = f->hp.n_embd;
    const ifn_matmul_traits *tq = ifn_ops_traits(l->wq.type, f->exact);
    const ifn_matmul_traits *tk = ifn_ops_traits(l->wk.type, f->exact);
    const ifn_matmul_traits *tv = ifn_ops_traits(l->wv.type, f->exact);
    norm_rows(f, f->xb, f->x, &l->attn_norm, s->n, ith, nth);
    sync_threads(f);
    convert_rows(f, tq, f->xb, d, f->act_a, s->n, ith, nth);
    int kv_own = tk->act_type != tq->act_type || tv->act_type != tq->act_type;
    if (kv_own) convert_rows(f, tk, f->xb, d, f->act_b, s->n, ith, nth);
    sync_threads(f);
    matmul_rows(f, &l->wq, tq, f->act_a, s->n, f->q, f->q_dim, ith, nth);
    matmul_rows(f, &l->wk, tk, kv_own ? f->act_b : f->act_a, s->n, f->k, f->kv_dim, ith, nth);
    if (tv->act_type != tk->act_type) {
        sync_threads(f); /* act_b is reused for V's activation type */
        convert_rows(f, tv, f->xb, d, f->act_b, s->n, ith, nth);
        sync_threads(f);
    }
    matmul_rows(f, &l->wv, tv, kv_own ? f->act_b : f->act_a, s->n, f->v, f->kv_dim, ith, nth);
    sync_threads(f);
    add_bias_rope_store(f, l, il, s, ith, nth);
    sync_threads(f);
    int64_t items = (int64_t)s->n * f->hp.n_head, i0, i1;
    ifn_pool_split(items, 1, ith, nth, &i0, &i1);
    const int32_t group = f->hp.n_head / f->hp.n_head_kv;
    for (int64_t item = i0; item < i1; item++) {
        int32_t t = (int32_t)(item / f->hp.n_head), h = (int32_t)(item % f->hp.n_head);
        size_t off = (size_t)t * f->q_dim + (size_t)h * f->hp.head_dim;
        attend_head(f, il, f->q + off, h / group, s->pos0 + t,
                    f->scores + (size_t)ith * (size_t)f->n_ctx, f->xb + off);
    }
    sync_threads(f);
    const ifn_matmul_traits *to = ifn_ops_traits(l->wo.type, f->exact);
    convert_rows(f, to, f->xb, f->q_dim, f->act_a, s->n, ith, nth);
    sync_threads(f);
    matmul_rows(f, &l->wo, to, f->act_a, s->n, f->proj, d, ith, nth);
    sync_threads(f);
}

/* x += proj for this thread's tokens. */
static void add_residual(ifn_forward *f, int32_t n, int ith, int nth) {
    int64_t t0, t1, d = f->hp.n_embd;
    ifn_pool_split(n, 1, ith, nth, &t0, &t1);
    ifn_ops_add(f->x + t0 * d, f->proj + t0 * d, (t1 - t0) * d);
}

static void ffn_block(ifn_forward *f, int32_t il, const step *s, int ith, int nth) {
    const ifn_layer_weights *l = ifn_model_layer(f->model, il);
    const int64_t d = f->hp.n_embd, ff = f->hp.n_ff;
    const ifn_matmul_traits *tg = ifn_ops_traits(l->w_gate.type, f->exact);
    const ifn_matmul_traits *tu = ifn_ops_traits(l->w_up.type, f->exact);
    const ifn_matmul_traits *td = ifn_ops_traits(l->w_down.type, f->exact);
    norm_rows(f, f->xb, f->x, &l->ffn_norm, s->n, ith, nth);
    sync_threads(f);
    convert_rows(f, tg, f->xb, d, f->act_a, s->n, ith, nth);
    if (tu->act_type != tg->act_type) convert_rows(f, tu, f->xb, d, f->act_b, s->n, ith, nth);
    sync_threads(f);
    matmul_rows(f, &l->w_gate, tg, f->act_a, s->n, f->gate, ff, ith, nth);
    matmul_rows(f, &l->w_up, tu, tu->act_type != tg->act_type ? f->act_b : f->act_a, s->n, f->up,
                ff, ith, nth);
    sync_threads(f);
    int64_t e0, e1;
    ifn_pool_split((int64_t)s->n * ff, 64, ith, nth, &e0, &e1);
    ifn_ops_swiglu(f->gate + e0, f->gate + e0, f->up + e0, e1 - e0);
    sync_threads(f);
    convert_rows(f, td, f->gate, ff, f->act_a, s->n, ith, nth);
    sync_threads(f);
    matmul_rows(f, &l->w_down, td, f->act_a, s->n, f->proj, d, ith, nth);
    sync_threads(f);
}

/* Final norm and classifier for tokens [first, n); logits rows are contiguous. */
static void output_block(ifn_forward *f, const step *s, int ith, int nth) {
    const int64_t d = f->hp.n_embd;
    const int32_t first = s->all_logits ? 0 : s->n - 1, count = s->n - first;
    const ifn_weight *out = ifn_model_output(f->model);
    const ifn_matmul_traits *tr = ifn_ops_traits(out->type, f->exact);
    norm_rows(f, f->xb + first * d, f->x + first * d, ifn_model_output_norm(f->model), count, ith,
              nth);
    sync_threads(f);
    if (ith == 0) memcpy(f->hidden, f->xb + (int64_t)(s->n - 1) * d, (size_t)d * sizeof(float));
    convert_rows(f, tr, f->xb + first * d, d, f->act_a, count, ith, nth);
    sync_threads(f);
    matmul_rows(f, out, tr, f->act_a, count, s->logits, f->hp.n_vocab, ith, nth);
}

static void forward_task(void *arg, int ith, int nth) {
    const step *s = arg;
    ifn_forward *f = s->f;
    const int64_t d = f->hp.n_embd;
    int64_t t0, t1;
    ifn_pool_split(s->n, 1, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++)
        (void)ifn_ops_get_row(ifn_model_tok_embd(f->model), s->tokens[t], f->x + t * d);
    sync_threads(f);
    for (int32_t il = 0; il < f->hp.n_layer; il++) {
        attention_block(f, il, s, ith, nth);
        add_residual(f, s->n, ith, nth);
        sync_threads(f);
        ffn_block(f, il, s, ith, nth);
        add_residual(f, s->n, ith, nth);
        sync_threads(f);
    }
    if (s->logits) output_block(f, s, ith, nth);
}

static void run_step(ifn_forward *f, step *s) {
    if (f->pool) ifn_pool_run(f->pool, forward_task, s);
    else forward_task(s, 0, 1);
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
        step s = {f, tokens + done, chunk, pos0 + done, NULL, all_logits};
        if (all_logits) s.logits = logits + (size_t)done * (size_t)f->hp.n_vocab;
        else if (done + chunk == n) s.logits = logits;
        run_step(f, &s);
    }
    return IFN_OK;
}
