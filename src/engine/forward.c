/* Llama forward pass: RMSNorm -> Q/K/V -> RoPE -> causal grouped-query attention over the paged
 * KV cache -> output projection -> RMSNorm -> SwiGLU FFN, residuals around both, then the
 * classifier for the rows that want logits, and/or the final-normed hidden states summed into
 * the sequences that collect embeddings.
 * The whole pass runs inside the compute pool: every thread walks the same layer loop, takes its
 * share of each op (rows of a matrix, tokens, or (token, KV head) pairs) and meets the others at
 * a barrier before the next dependent op. All batch tokens go through each matrix together, so
 * every weight matrix is read once per step. Each token's K/V is written to the cache before
 * attention reads it back, so a token sees identical (possibly F16-rounded) values whether its
 * neighbours were computed in the same step or an earlier one. */
#include "engine/forward.h"

#include <math.h>
#include <string.h>

#include "kernels/kernels.h"
#include "tensor/ops.h"
#include "util/alloc.h"
#include "util/status.h"

#define EVAL_BLOCK_SIZE 16

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
    ifn_kv_cache *own_cache;    /* private cache of ifn_forward_eval, made on its first call
                                   (engines never use it: a full F32 context each otherwise) */
    ifn_dtype own_kv_type;
    ifn_block_table own_table;
    int32_t *tok_seq;    /* [max_batch] batch sequence of each token */
    int32_t *tok_pos;    /* [max_batch] position of each token */
    int32_t *run_first;  /* [max_batch + 1] attention runs: consecutive tokens of one sequence
                            sharing a pass over its KV rows; run u = [run_first[u], [u + 1]) */
    int32_t n_runs;
    int64_t *attn_cuts;  /* [n_threads + 1] each thread's share of the (run, KV head) items */
    const void **block_ptrs; /* [n_threads][2][max_blocks] K and V block starts for one layer */
    int32_t max_blocks;  /* blocks one sequence can span */
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
    float *scores;       /* [n_threads][n_rot] RoPE cos/sin of the current token */
    float *row_scratch;  /* [n_threads][widest] decoded weight rows (fallback path) */
    float *inv_freq;     /* [n_rot / 2] */
};

/* What one forward_task invocation works on. */
typedef struct step {
    ifn_forward *f;
    ifn_kv_cache *cache;
    const ifn_batch *batch;
    const int32_t *tokens;
    int32_t n;
    int32_t n_rows;       /* logits rows */
    const int32_t *rows;  /* [n_rows] token index of each logits row */
    int32_t n_embd_tokens;        /* tokens of sequences with embd_sum */
    const int32_t *embd_tokens;   /* [n_embd_tokens] their token indices, sequence by sequence */
} step;

ifn_forward_params ifn_forward_params_default(void) {
    ifn_forward_params p = {0, 64, NULL, 0, IFN_DTYPE_F32};
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
    size_t wide = (size_t)(f->q_dim > hp->n_embd ? f->q_dim : hp->n_embd);
    size_t b = (size_t)f->max_batch, nt = (size_t)f->n_threads;
    f->widest = (int64_t)(wide > (size_t)hp->n_ff ? wide : (size_t)hp->n_ff);
    f->act_stride = ((size_t)f->widest * sizeof(float) + 63) / 64 * 64;
    f->max_blocks = f->n_ctx + 1; /* block_size 1 is the worst case */
    f->tok_seq = ifn_calloc(b, sizeof *f->tok_seq);
    f->tok_pos = ifn_calloc(b, sizeof *f->tok_pos);
    f->run_first = ifn_calloc(b + 1, sizeof *f->run_first);
    f->attn_cuts = ifn_calloc(nt + 1, sizeof *f->attn_cuts);
    f->block_ptrs = ifn_calloc(nt * 2 * (size_t)f->max_blocks, sizeof *f->block_ptrs);
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
    f->scores = alloc_floats(nt * (size_t)hp->n_rot);
    f->row_scratch = alloc_floats(nt * (size_t)f->widest);
    f->inv_freq = alloc_floats((size_t)hp->n_rot / 2 + 1);
    if (!f->tok_seq || !f->tok_pos || !f->run_first || !f->attn_cuts || !f->block_ptrs || !f->x ||
        !f->xb || !f->q || !f->k || !f->v || !f->proj ||
        !f->gate || !f->up || !f->act_a || !f->act_b || !f->scores || !f->row_scratch ||
        !f->inv_freq)
        return ifn_fail(IFN_E_NOMEM, "forward: no memory for a %d-token context", f->n_ctx);
    return IFN_OK;
}

static ifn_status create_own_cache(ifn_forward *f) {
    if (f->own_cache) return IFN_OK;
    ifn_kv_cache_params kp = ifn_forward_kv_params(f, EVAL_BLOCK_SIZE);
    kp.kv_type = f->own_kv_type;
    kp.n_blocks = (f->n_ctx + EVAL_BLOCK_SIZE - 1) / EVAL_BLOCK_SIZE;
    return ifn_kv_cache_create(&kp, &f->own_cache);
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
    f->own_kv_type = p.kv_type;
    ifn_block_table_init(&f->own_table);
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
    void *buffers[] = {f->x,        f->xb,     f->q,      f->k,          f->v,
                       f->proj,     f->gate,   f->up,     f->act_a,      f->act_b,
                       f->scores,   f->row_scratch, f->inv_freq};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) ifn_free_aligned(buffers[i]);
    if (f->own_cache) ifn_block_table_clear(&f->own_table, f->own_cache);
    ifn_block_table_deinit(&f->own_table);
    ifn_kv_cache_destroy(f->own_cache);
    ifn_free(f->tok_seq);
    ifn_free(f->tok_pos);
    ifn_free(f->run_first);
    ifn_free(f->attn_cuts);
    ifn_free((void *)f->block_ptrs);
    ifn_model_release(f->model);
    ifn_free(f);
}

int32_t ifn_forward_n_ctx(const ifn_forward *f) {
    return f->n_ctx;
}

int32_t ifn_forward_max_batch(const ifn_forward *f) {
    return f->max_batch;
}

int32_t ifn_forward_n_vocab(const ifn_forward *f) {
    return f->hp.n_vocab;
}

int32_t ifn_forward_n_embd(const ifn_forward *f) {
    return f->hp.n_embd;
}

ifn_kv_cache_params ifn_forward_kv_params(const ifn_forward *f, int32_t block_size) {
    ifn_kv_cache_params kp;
    memset(&kp, 0, sizeof kp);
    kp.n_layer = f->hp.n_layer;
    kp.kv_dim = (int32_t)f->kv_dim;
    kp.block_size = block_size;
    kp.kv_type = IFN_DTYPE_F16;
    return kp;
}

static void sync_threads(const ifn_forward *f) {
    if (f->pool) ifn_pool_barrier(f->pool);
}

/* Rotates q and k of one token in place (RoPE at position pos), with per-thread cos/sin. */
static void rope_token(const ifn_forward *f, float *q, float *k, int32_t pos, float *cos_sin) {
    const ifn_kernels *kt = ifn_kernels_get();
    const int32_t half = f->hp.n_rot / 2;
    float *cosv = cos_sin, *sinv = cos_sin + half;
    ifn_elementwise_rope_cos_sin(f->inv_freq, half, pos, cosv, sinv);
    ifn_rope_mode mode = f->hp.rope_kind == IFN_ROPE_NORM ? IFN_ROPE_MODE_NORM : IFN_ROPE_MODE_NEOX;
    kt->rope(q, f->hp.n_head, f->hp.head_dim, f->hp.n_rot, mode, cosv, sinv);
    kt->rope(k, f->hp.n_head_kv, f->hp.head_dim, f->hp.n_rot, mode, cosv, sinv);
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
    ifn_rmsnorm_fn rmsnorm = ifn_kernels_get()->rmsnorm;
    for (int64_t t = t0; t < t1; t++) rmsnorm(out + t * d, x + t * d, w->data, d, f->hp.rms_eps);
}

/* Stores a K or V row into the cache slot of (sequence table, position). */
static void store_row(ifn_kv_cache *cache, int32_t il, const ifn_block_table *table, int32_t pos,
                      const float *row, int is_v) {
    const ifn_kv_cache_params *kp = ifn_kv_cache_get_params(cache);
    int32_t block = table->blocks[pos / kp->block_size];
    unsigned char *base = is_v ? ifn_kv_cache_v(cache, il, block) : ifn_kv_cache_k(cache, il, block);
    unsigned char *dst = base + (size_t)(pos % kp->block_size) * ifn_kv_cache_row_bytes(cache);
    if (kp->kv_type == IFN_DTYPE_F32) {
        memcpy(dst, row, (size_t)kp->kv_dim * sizeof(float));
        return;
    }
    ifn_kernels_get()->f32_to_f16((uint16_t *)dst, row, kp->kv_dim);
}

static void add_bias_rope_store(ifn_forward *f, const ifn_layer_weights *l, int32_t il,
                                const step *s, int ith, int nth) {
    int64_t t0, t1;
    ifn_pool_split(s->n, 1, ith, nth, &t0, &t1);
    for (int64_t t = t0; t < t1; t++) {
        float *q = f->q + t * f->q_dim, *k = f->k + t * f->kv_dim, *v = f->v + t * f->kv_dim;
        int32_t pos = f->tok_pos[t];
        const ifn_block_table *table = s->batch->seqs[f->tok_seq[t]].table;
        ifn_add_fn add = ifn_kernels_get()->add;
        if (l->bq.data) add(q, q, l->bq.data, f->q_dim);
        if (l->bk.data) add(k, k, l->bk.data, f->kv_dim);
        if (l->bv.data) add(v, v, l->bv.data, f->kv_dim);
        rope_token(f, q, k, pos, f->scores + (size_t)ith * (size_t)f->hp.n_rot);
        store_row(s->cache, il, table, pos, k, 0);
        store_row(s->cache, il, table, pos, v, 1);
    }
}

/* Fixed cost of one attention item, in positions read: call, tile setup, output. */
#define ATTN_ITEM_OVERHEAD 16

/* Cuts the (run, KV head) items, item = run * n_head_kv + head, into the threads' shares:
 * thread i takes [attn_cuts[i], attn_cuts[i + 1]), cut where the work (positions read, plus a
 * fixed cost per token) divides evenly. Causal attention over a prompt costs each token its
 * position, so equal item counts would leave the thread holding the later tokens with most of
 * the work while the others wait at the barrier. Once per step: the cuts hold for every layer. */
static void split_attention(ifn_forward *f) {
    const int64_t heads = f->hp.n_head_kv, items = (int64_t)f->n_runs * heads;
    const int nth = f->n_threads;
    int64_t total = 0;
    for (int32_t t = 0; t < f->run_first[f->n_runs]; t++)
        total += (f->tok_pos[t] + 1 + ATTN_ITEM_OVERHEAD) * heads;
    /* Share i starts at the first item whose cumulative cost (before it) reaches
     * total * i / nth. */
    int64_t cum = 0;
    int k = 0;
    for (int32_t u = 0; u < f->n_runs; u++) {
        int64_t c = 0; /* the run's cost for one head */
        for (int32_t t = f->run_first[u]; t < f->run_first[u + 1]; t++)
            c += f->tok_pos[t] + 1 + ATTN_ITEM_OVERHEAD;
        for (int64_t h = 0; h < heads; h++, cum += c)
            while (k < nth && cum >= total * k / nth) f->attn_cuts[k++] = u * heads + h;
    }
    while (k <= nth) f->attn_cuts[k++] = items;
}

/* Attention for this thread's (token, KV head) items: the query heads of one group read each
 * K/V row once (flash-style kernel, online softmax over the sequence's blocks). */
static void attention_heads(ifn_forward *f, int32_t il, const step *s, int ith, int nth) {
    const ifn_kernels *kt = ifn_kernels_get();
    const ifn_kv_cache_params *kp = ifn_kv_cache_get_params(s->cache);
    const void **k_blocks = f->block_ptrs + (size_t)ith * 2 * (size_t)f->max_blocks;
    const void **v_blocks = k_blocks + f->max_blocks;
    const int32_t group = f->hp.n_head / f->hp.n_head_kv, head_dim = f->hp.head_dim;
    const size_t elem = kp->kv_type == IFN_DTYPE_F16 ? 2 : 4;
    IFN_ASSERT(nth == f->n_threads);
    const int64_t i0 = f->attn_cuts[ith], i1 = f->attn_cuts[ith + 1];
    int32_t cached_seq = -1;
    for (int64_t item = i0; item < i1; item++) {
        const int32_t u = (int32_t)(item / f->hp.n_head_kv), kvh = (int32_t)(item % f->hp.n_head_kv);
        const int32_t t = f->run_first[u], n_tok = f->run_first[u + 1] - t;
        int32_t seq = f->tok_seq[t];
        if (seq != cached_seq) { /* block pointers of this sequence for this layer */
            const ifn_block_table *table = s->batch->seqs[seq].table;
            for (int32_t b = 0; b < table->n_blocks; b++) {
                k_blocks[b] = ifn_kv_cache_k(s->cache, il, table->blocks[b]);
                v_blocks[b] = ifn_kv_cache_v(s->cache, il, table->blocks[b]);
            }
            cached_seq = seq;
        }
        size_t off = (size_t)t * f->q_dim + (size_t)kvh * group * head_dim;
        ifn_attn_args a = {
            .q = f->q + off,
            .n_q = group,
            .n_tok = n_tok,
            .q_stride = (size_t)f->q_dim,
            .out_stride = (size_t)f->q_dim,
            .head_dim = head_dim,
            .k_blocks = k_blocks,
            .v_blocks = v_blocks,
            .block_size = kp->block_size,
            .row_stride = ifn_kv_cache_row_bytes(s->cache),
            .head_offset = (size_t)kvh * (size_t)head_dim * elem,
            .kv_type = kp->kv_type,
            .n_kv = f->tok_pos[t] + 1,
            .scale = 1.0f / sqrtf((float)head_dim),
            .out = f->xb + off,
        };
        kt->attn(&a);
    }
}

static void attention_block(ifn_forward *f, int32_t il, const step *s, int ith, int nth) {
    const ifn_layer_weights *l = ifn_model_layer(f->model, il);
    const int64_t d = f->hp.n_embd;
    const ifn_matmul_traits *tq = ifn_ops_traits(&l->wq, f->exact);
    const ifn_matmul_traits *tk = ifn_ops_traits(&l->wk, f->exact);
    const ifn_matmul_traits *tv = ifn_ops_traits(&l->wv, f->exact);
    norm_rows(f, f->xb, f->x, &l->attn_norm, s->n, ith, nth);
    sync_threads(f);
    convert_rows(f, tq, f->xb, d, f->act_a, s->n, ith, nth);
    int kv_own = !ifn_ops_same_act(tk, tq) || !ifn_ops_same_act(tv, tq);
    if (kv_own) convert_rows(f, tk, f->xb, d, f->act_b, s->n, ith, nth);
    sync_threads(f);
    matmul_rows(f, &l->wq, tq, f->act_a, s->n, f->q, f->q_dim, ith, nth);
    matmul_rows(f, &l->wk, tk, kv_own ? f->act_b : f->act_a, s->n, f->k, f->kv_dim, ith, nth);
    if (!ifn_ops_same_act(tv, tk)) {
        sync_threads(f); /* act_b is reused for V's activation type */
        convert_rows(f, tv, f->xb, d, f->act_b, s->n, ith, nth);
        sync_threads(f);
    }
    matmul_rows(f, &l->wv, tv, kv_own ? f->act_b : f->act_a, s->n, f->v, f->kv_dim, ith, nth);
    sync_threads(f);
    add_bias_rope_store(f, l, il, s, ith, nth);
    sync_threads(f);
    attention_heads(f, il, s, ith, nth);
    sync_threads(f);
    const ifn_matmul_traits *to = ifn_ops_traits(&l->wo, f->exact);
    convert_rows(f, to, f->xb, f->q_dim, f->act_a, s->n, ith, nth);
    sync_threads(f);
    matmul_rows(f, &l->wo, to, f->act_a, s->n, f->proj, d, ith, nth);
    sync_threads(f);
}

/* x += proj for this thread's tokens. */
static void add_residual(ifn_forward *f, int32_t n, int ith, int nth) {
    int64_t t0, t1, d = f->hp.n_embd;
    ifn_pool_split(n, 1, ith, nth, &t0, &t1);
    ifn_kernels_get()->add(f->x + t0 * d, f->x + t0 * d, f->proj + t0 * d, (t1 - t0) * d);
}

static void ffn_block(ifn_forward *f, int32_t il, const step *s, int ith, int nth) {
    const ifn_layer_weights *l = ifn_model_layer(f->model, il);
    const int64_t d = f->hp.n_embd, ff = f->hp.n_ff;
    const ifn_matmul_traits *tg = ifn_ops_traits(&l->w_gate, f->exact);
    const ifn_matmul_traits *tu = ifn_ops_traits(&l->w_up, f->exact);
    const ifn_matmul_traits *td = ifn_ops_traits(&l->w_down, f->exact);
    norm_rows(f, f->xb, f->x, &l->ffn_norm, s->n, ith, nth);
    sync_threads(f);
    convert_rows(f, tg, f->xb, d, f->act_a, s->n, ith, nth);
    if (!ifn_ops_same_act(tu, tg)) convert_rows(f, tu, f->xb, d, f->act_b, s->n, ith, nth);
    sync_threads(f);
    matmul_rows(f, &l->w_gate, tg, f->act_a, s->n, f->gate, ff, ith, nth);
    matmul_rows(f, &l->w_up, tu, !ifn_ops_same_act(tu, tg) ? f->act_b : f->act_a, s->n, f->up,
                ff, ith, nth);
    sync_threads(f);
    int64_t e0, e1;
    ifn_pool_split((int64_t)s->n * ff, 64, ith, nth, &e0, &e1);
    ifn_kernels_get()->swiglu(f->gate + e0, f->gate + e0, f->up + e0, e1 - e0);
    sync_threads(f);
    convert_rows(f, td, f->gate, ff, f->act_a, s->n, ith, nth);
    sync_threads(f);
    matmul_rows(f, &l->w_down, td, f->act_a, s->n, f->proj, d, ith, nth);
    sync_threads(f);
}

/* Final norm of the tokens of embedding sequences into xb rows 0..n_embd_tokens-1, then each
 * sequence's rows added to its embd_sum in token order. Threads split the n_embd columns, so
 * every element is summed by one thread in a fixed order whatever the batch or thread count. */
static void embedding_block(ifn_forward *f, const step *s, int ith, int nth) {
    const int64_t d = f->hp.n_embd;
    const ifn_kernels *kt = ifn_kernels_get();
    int64_t r0, r1;
    ifn_pool_split(s->n_embd_tokens, 1, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++)
        kt->rmsnorm(f->xb + r * d, f->x + (int64_t)s->embd_tokens[r] * d,
                    ifn_model_output_norm(f->model)->data, d, f->hp.rms_eps);
    sync_threads(f);
    int64_t c0, c1;
    ifn_pool_split(d, 16, ith, nth, &c0, &c1);
    int64_t row = 0;
    for (int32_t i = 0; i < s->batch->n_seqs && c1 > c0; i++) {
        const ifn_batch_seq *sq = &s->batch->seqs[i];
        if (!sq->embd_sum) continue;
        for (int32_t k = 0; k < sq->n_tokens; k++, row++)
            kt->add(sq->embd_sum + c0, sq->embd_sum + c0, f->xb + row * d + c0, c1 - c0);
    }
    sync_threads(f); /* output_block reuses xb */
}

/* Final norm and classifier for the rows that want logits: gathers their hidden states into
 * xb rows 0..n_rows-1 first. */
static void output_block(ifn_forward *f, const step *s, int ith, int nth) {
    const int64_t d = f->hp.n_embd;
    const ifn_weight *out = ifn_model_output(f->model);
    const ifn_matmul_traits *tr = ifn_ops_traits(out, f->exact);
    int64_t r0, r1;
    ifn_pool_split(s->n_rows, 1, ith, nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++)
        ifn_kernels_get()->rmsnorm(f->xb + r * d, f->x + (int64_t)s->rows[r] * d,
                                   ifn_model_output_norm(f->model)->data, d, f->hp.rms_eps);
    sync_threads(f);
    convert_rows(f, tr, f->xb, d, f->act_a, s->n_rows, ith, nth);
    sync_threads(f);
    matmul_rows(f, out, tr, f->act_a, s->n_rows, s->batch->logits, f->hp.n_vocab, ith, nth);
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
    if (s->n_embd_tokens > 0) embedding_block(f, s, ith, nth);
    if (s->n_rows > 0) output_block(f, s, ith, nth);
}

/* Checks the batch and fills the per-token sequence/position arrays, the logits row map and the
 * list of tokens whose hidden states go into an embedding sum. */
static ifn_status prepare_batch(ifn_forward *f, const ifn_kv_cache *cache, const ifn_batch *b,
                                step *s, int32_t *rows, int32_t *embd_tokens) {
    const int32_t bs = ifn_kv_cache_get_params(cache)->block_size;
    int32_t n_rows = 0, n_embd_tokens = 0;
    if (b->n_tokens < 1 || b->n_tokens > f->max_batch)
        return ifn_fail(IFN_E_INVALID, "forward: batch of %d tokens (1..%d allowed)", b->n_tokens,
                        f->max_batch);
    for (int32_t i = 0; i < b->n_seqs; i++) {
        const ifn_batch_seq *sq = &b->seqs[i];
        if (sq->n_tokens < 1 || sq->pos0 < 0 || sq->first_token < 0 ||
            sq->first_token + sq->n_tokens > b->n_tokens || sq->pos0 + sq->n_tokens > f->n_ctx ||
            (int64_t)sq->table->n_blocks * bs < sq->pos0 + sq->n_tokens)
            return ifn_fail(IFN_E_INVALID, "forward: sequence %d of the batch is inconsistent", i);
        for (int32_t k = 0; k < sq->n_tokens; k++) {
            int32_t t = sq->first_token + k, tok = b->tokens[t];
            if (tok < 0 || tok >= f->hp.n_vocab)
                return ifn_fail(IFN_E_INVALID, "forward: token id %d is outside the vocabulary (%d)",
                                tok, f->hp.n_vocab);
            f->tok_seq[t] = i;
            f->tok_pos[t] = sq->pos0 + k;
            if (sq->embd_sum) embd_tokens[n_embd_tokens++] = t;
        }
        if (sq->logits_row >= 0) {
            if (sq->logits_row >= b->n_tokens)
                return ifn_fail(IFN_E_INVALID, "forward: logits row %d out of range", sq->logits_row);
            rows[sq->logits_row] = sq->first_token + sq->n_tokens - 1;
            n_rows = sq->logits_row + 1 > n_rows ? sq->logits_row + 1 : n_rows;
        }
    }
    /* Attention runs: consecutive tokens of one sequence at consecutive positions, as many as
     * fill one pass of the kernel with the group's heads. */
    const int32_t group = f->hp.n_head / f->hp.n_head_kv;
    const int32_t run_max = group < IFN_ATTN_MAX_ROWS ? IFN_ATTN_MAX_ROWS / group : 1;
    f->n_runs = 0;
    for (int32_t t = 0; t < b->n_tokens; t++) {
        const int32_t first = f->n_runs ? f->run_first[f->n_runs - 1] : 0;
        if (f->n_runs == 0 || f->tok_seq[t] != f->tok_seq[t - 1] ||
            f->tok_pos[t] != f->tok_pos[t - 1] + 1 || t - first >= run_max)
            f->run_first[f->n_runs++] = t;
    }
    f->run_first[f->n_runs] = b->n_tokens;
    split_attention(f);
    s->n_rows = n_rows;
    s->rows = rows;
    s->n_embd_tokens = n_embd_tokens;
    s->embd_tokens = embd_tokens;
    return IFN_OK;
}

ifn_status ifn_forward_batch(ifn_forward *f, ifn_kv_cache *cache, const ifn_batch *batch) {
    size_t n = (size_t)(batch->n_tokens > 0 ? batch->n_tokens : 1);
    int32_t *rows = ifn_malloc(sizeof(int32_t) * 2 * n); /* logits rows, then embedding tokens */
    if (!rows) return ifn_fail(IFN_E_NOMEM, "forward: no memory");
    step s = {f, cache, batch, batch->tokens, batch->n_tokens, 0, NULL, 0, NULL};
    ifn_status st = prepare_batch(f, cache, batch, &s, rows, rows + n);
    if (st == IFN_OK) {
        if (f->pool) ifn_pool_run(f->pool, forward_task, &s);
        else forward_task(&s, 0, 1);
    }
    ifn_free(rows);
    return st;
}

/* One chunk of ifn_forward_eval: a single sequence, or one single-token "sequence" per token
 * when every token needs logits (they share the table, each attending up to its position). */
static ifn_status eval_chunk(ifn_forward *f, const int32_t *tokens, int32_t n, int32_t pos0,
                             float *logits, int all_logits) {
    ifn_batch_seq one[1];
    ifn_batch_seq *seqs = one;
    int32_t n_seqs = 1;
    if (all_logits) {
        seqs = ifn_malloc(sizeof *seqs * (size_t)n);
        if (!seqs) return ifn_fail(IFN_E_NOMEM, "forward: no memory");
        for (int32_t i = 0; i < n; i++)
            seqs[i] = (ifn_batch_seq){&f->own_table, pos0 + i, 1, i, i, NULL};
        n_seqs = n;
    } else {
        one[0] = (ifn_batch_seq){&f->own_table, pos0, n, 0, logits ? 0 : -1, NULL};
    }
    ifn_batch b = {tokens, n, seqs, n_seqs, logits};
    ifn_status st = ifn_forward_batch(f, f->own_cache, &b);
    if (seqs != one) ifn_free(seqs);
    return st;
}

ifn_status ifn_forward_eval(ifn_forward *f, const int32_t *tokens, int32_t n, int32_t pos0,
                            float *logits, int all_logits) {
    if (n < 1 || pos0 < 0 || pos0 > f->own_table.n_tokens)
        return ifn_fail(IFN_E_INVALID, "forward: %d tokens at %d (evaluated so far: %d)", n, pos0,
                        f->own_table.n_tokens);
    if (pos0 > f->n_ctx - n)
        return ifn_fail(IFN_E_FULL, "forward: %d tokens at position %d exceed the %d-token context",
                        n, pos0, f->n_ctx);
    ifn_status st = create_own_cache(f);
    if (st != IFN_OK) return st;
    f->own_table.n_tokens = pos0; /* rewinding just overwrites: the private cache is unshared */
    st = ifn_block_table_reserve(&f->own_table, f->own_cache, n);
    for (int32_t done = 0; st == IFN_OK && done < n; done += f->max_batch) {
        int32_t chunk = n - done < f->max_batch ? n - done : f->max_batch;
        float *chunk_logits = NULL;
        if (all_logits) chunk_logits = logits + (size_t)done * (size_t)f->hp.n_vocab;
        else if (done + chunk == n) chunk_logits = logits;
        st = eval_chunk(f, tokens + done, chunk, pos0 + done, chunk_logits, all_logits);
    }
    if (st == IFN_OK) f->own_table.n_tokens = pos0 + n;
    return st;
}
