/* The Llama graph as GGUF describes it (architectures llama, mistral, qwen2): hyper-parameters
 * from "<arch>.*" metadata, weight views by tensor name, every shape checked against the
 * hyper-parameters so the forward pass can trust them. Matrices stay in the map as stored;
 * only small 1-D tensors that are not F32 are widened into model-owned buffers. */
#include <stdio.h>
#include <string.h>

#include "kernels/dequant.h"
#include "model/gguf.h"
#include "model/model_impl.h"
#include "util/status.h"

#define MAX_HPARAM 1000000000 /* rejects absurd sizes before any arithmetic on them */

typedef struct arch_desc {
    const char *name;
    ifn_rope_kind rope_kind;
} arch_desc;

static const arch_desc g_archs[] = {
    {"llama", IFN_ROPE_NORM},
    {"mistral", IFN_ROPE_NORM},
    {"qwen2", IFN_ROPE_NEOX},
};

static ifn_status get_hparam(const ifn_gguf *g, const char *arch, const char *suffix,
                             int64_t fallback, int64_t min_value, int32_t *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t value;
    ifn_status st = ifn_gguf_get_int(g, key, fallback, &value);
    if (st != IFN_OK) return st;
    if (value < min_value || value > MAX_HPARAM)
        return ifn_fail(IFN_E_FORMAT, "model: %s = %lld is out of range%s", key, (long long)value,
                        value == -1 && fallback == -1 ? " (missing)" : "");
    *out = (int32_t)value;
    return IFN_OK;
}

static ifn_status get_hparam_f(const ifn_gguf *g, const char *arch, const char *suffix,
                               double fallback, float *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    double value;
    ifn_status st = ifn_gguf_get_float(g, key, fallback, &value);
    if (st != IFN_OK) return st;
    if (!(value > 0.0) || value > 1e30)
        return ifn_fail(IFN_E_FORMAT, "model: %s = %g is out of range", key, value);
    *out = (float)value;
    return IFN_OK;
}

static ifn_status read_rope_scaling(const ifn_gguf *g, const char *arch, ifn_hparams *hp) {
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    ifn_str type;
    ifn_status st = ifn_gguf_get_string(g, key, &type);
    if (st != IFN_OK) return st;
    hp->rope_freq_scale = 1.0f;
    if (!type.ptr || ifn_str_eq_cstr(type, "none")) return IFN_OK;
    if (!ifn_str_eq_cstr(type, "linear"))
        return ifn_fail(IFN_E_UNSUPPORTED, "model: rope scaling '%.*s' is not supported",
                        (int)type.len, type.ptr);
    float factor = 1.0f;
    st = get_hparam_f(g, arch, "rope.scaling.factor", 1.0, &factor);
    if (st == IFN_OK) hp->rope_freq_scale = 1.0f / factor;
    return st;
}

static ifn_status read_hparams(const ifn_gguf *g, const char *arch, ifn_hparams *hp) {
    ifn_status st = get_hparam(g, arch, "embedding_length", -1, 1, &hp->n_embd);
    if (st == IFN_OK) st = get_hparam(g, arch, "block_count", -1, 1, &hp->n_layer);
    if (st == IFN_OK) st = get_hparam(g, arch, "feed_forward_length", -1, 1, &hp->n_ff);
    if (st == IFN_OK) st = get_hparam(g, arch, "attention.head_count", -1, 1, &hp->n_head);
    if (st != IFN_OK) return st;
    st = get_hparam(g, arch, "attention.head_count_kv", hp->n_head, 1, &hp->n_head_kv);
    if (st == IFN_OK) st = get_hparam(g, arch, "context_length", 2048, 1, &hp->n_ctx_train);
    if (st != IFN_OK) return st;
    if (hp->n_embd % hp->n_head != 0 || hp->n_head % hp->n_head_kv != 0)
        return ifn_fail(IFN_E_FORMAT, "model: %d heads / %d KV heads do not divide %d", hp->n_head,
                        hp->n_head_kv, hp->n_embd);
    st = get_hparam(g, arch, "attention.key_length", hp->n_embd / hp->n_head, 2, &hp->head_dim);
    if (st == IFN_OK) st = get_hparam(g, arch, "rope.dimension_count", hp->head_dim, 2, &hp->n_rot);
    if (st == IFN_OK) st = get_hparam_f(g, arch, "rope.freq_base", 10000.0, &hp->rope_freq_base);
    if (st == IFN_OK)
        st = get_hparam_f(g, arch, "attention.layer_norm_rms_epsilon", 1e-5, &hp->rms_eps);
    if (st == IFN_OK) st = read_rope_scaling(g, arch, hp);
    if (st != IFN_OK) return st;
    if (hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
        return ifn_fail(IFN_E_FORMAT, "model: rope dimension %d does not fit head size %d",
                        hp->n_rot, hp->head_dim);
    return IFN_OK;
}

/* Binds a tensor by name, checking its shape is exactly [n_cols] or [n_rows][n_cols]. */
static ifn_status bind_tensor(ifn_model *m, const char *name, int64_t n_cols, int64_t n_rows,
                              int required, ifn_weight *out) {
    const ifn_gguf_tensor *t = ifn_gguf_find_tensor(m->gguf, name);
    memset(out, 0, sizeof *out);
    if (!t) {
        if (!required) return IFN_OK;
        return ifn_fail(IFN_E_FORMAT, "model: tensor '%s' is missing", name);
    }
    if (t->ne[0] != n_cols || t->ne[1] != n_rows || t->ne[2] != 1 || t->ne[3] != 1)
        return ifn_fail(IFN_E_FORMAT,
                        "model: tensor '%s' has shape [%lld, %lld, %lld, %lld], expected "
                        "[%lld, %lld]",
                        name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                        (long long)t->ne[3], (long long)n_cols, (long long)n_rows);
    const ifn_dtype_info *info = ifn_dtype_get_info((uint32_t)t->type);
    if (!info->can_dequantize)
        return ifn_fail(IFN_E_UNSUPPORTED, "model: tensor '%s' has type %s, which Inferneo cannot "
                        "run yet", name, info->name);
    out->type = t->type;
    out->n_cols = n_cols;
    out->n_rows = n_rows;
    out->row_bytes = ifn_dtype_row_bytes(t->type, n_cols);
    out->data = t->data;
    m->weight_bytes += t->size_bytes;
    return IFN_OK;
}

/* 1-D tensors (norms, biases) are read element by element in the forward pass: keep them F32. */
static ifn_status bind_vector(ifn_model *m, const char *name, int64_t n, int required,
                              ifn_weight *out) {
    ifn_status st = bind_tensor(m, name, n, 1, required, out);
    if (st != IFN_OK || !out->data || out->type == IFN_DTYPE_F32) return st;
    float *widened = ifn_model_alloc_buffer(m, (size_t)n, sizeof(float));
    if (!widened) return ifn_fail(IFN_E_NOMEM, "model: no memory to widen '%s'", name);
    st = ifn_dequant_row(out->type, out->data, widened, n);
    if (st != IFN_OK) return st;
    out->type = IFN_DTYPE_F32;
    out->row_bytes = (size_t)n * sizeof(float);
    out->data = widened;
    return IFN_OK;
}

static ifn_status bind_layer(ifn_model *m, int32_t il) {
    const ifn_hparams *hp = &m->hp;
    ifn_layer_weights *l = &m->layers[il];
    int64_t q_dim = (int64_t)hp->n_head * hp->head_dim;
    int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    char name[96];
    ifn_status st = IFN_OK;
#define BIND_MAT(field, suffix, cols, rows, req)                                                  \
    if (st == IFN_OK) {                                                                           \
        snprintf(name, sizeof name, "blk.%d.%s", il, suffix);                                     \
        st = bind_tensor(m, name, cols, rows, req, &l->field);                                    \
    }
#define BIND_VEC(field, suffix, n, req)                                                           \
    if (st == IFN_OK) {                                                                           \
        snprintf(name, sizeof name, "blk.%d.%s", il, suffix);                                     \
        st = bind_vector(m, name, n, req, &l->field);                                             \
    }
    BIND_VEC(attn_norm, "attn_norm.weight", hp->n_embd, 1)
    BIND_MAT(wq, "attn_q.weight", hp->n_embd, q_dim, 1)
    BIND_MAT(wk, "attn_k.weight", hp->n_embd, kv_dim, 1)
    BIND_MAT(wv, "attn_v.weight", hp->n_embd, kv_dim, 1)
    BIND_MAT(wo, "attn_output.weight", q_dim, hp->n_embd, 1)
    BIND_VEC(bq, "attn_q.bias", q_dim, 0)
    BIND_VEC(bk, "attn_k.bias", kv_dim, 0)
    BIND_VEC(bv, "attn_v.bias", kv_dim, 0)
    BIND_VEC(ffn_norm, "ffn_norm.weight", hp->n_embd, 1)
    BIND_MAT(w_gate, "ffn_gate.weight", hp->n_embd, hp->n_ff, 1)
    BIND_MAT(w_up, "ffn_up.weight", hp->n_embd, hp->n_ff, 1)
    BIND_MAT(w_down, "ffn_down.weight", hp->n_ff, hp->n_embd, 1)
#undef BIND_MAT
#undef BIND_VEC
    return st;
}

static ifn_status bind_globals(ifn_model *m) {
    ifn_hparams *hp = &m->hp;
    const ifn_gguf_tensor *embd = ifn_gguf_find_tensor(m->gguf, "token_embd.weight");
    if (!embd) return ifn_fail(IFN_E_FORMAT, "model: tensor 'token_embd.weight' is missing");
    if (embd->ne[1] < 1 || embd->ne[1] > MAX_HPARAM)
        return ifn_fail(IFN_E_FORMAT, "model: token_embd.weight has %lld rows",
                        (long long)embd->ne[1]);
    hp->n_vocab = (int32_t)embd->ne[1];
    ifn_status st = bind_tensor(m, "token_embd.weight", hp->n_embd, hp->n_vocab, 1, &m->tok_embd);
    if (st == IFN_OK) st = bind_vector(m, "output_norm.weight", hp->n_embd, 1, &m->output_norm);
    if (st == IFN_OK) st = bind_tensor(m, "output.weight", hp->n_embd, hp->n_vocab, 0, &m->output);
    if (st != IFN_OK) return st;
    if (!m->output.data) {
        m->output = m->tok_embd;
        m->is_output_tied = 1;
    }
    ifn_weight factors;
    st = bind_vector(m, "rope_freqs.weight", hp->n_rot / 2, 0, &factors);
    if (st == IFN_OK && factors.data) m->rope_factors = factors.data;
    return st;
}

ifn_status ifn_arch_llama_load(ifn_model *m) {
    ifn_str arch;
    ifn_status st = ifn_gguf_get_string(m->gguf, "general.architecture", &arch);
    if (st != IFN_OK) return st;
    if (!arch.ptr) return ifn_fail(IFN_E_FORMAT, "model: general.architecture is missing");
    const arch_desc *desc = NULL;
    for (size_t i = 0; i < sizeof g_archs / sizeof g_archs[0]; i++)
        if (ifn_str_eq_cstr(arch, g_archs[i].name)) desc = &g_archs[i];
    if (!desc)
        return ifn_fail(IFN_E_UNSUPPORTED, "model: architecture '%.*s' is not supported (supported: "
                        "llama, mistral, qwen2)", (int)(arch.len > 64 ? 64 : arch.len), arch.ptr);
    snprintf(m->hp.arch, sizeof m->hp.arch, "%s", desc->name);
    m->hp.rope_kind = desc->rope_kind;
    st = read_hparams(m->gguf, desc->name, &m->hp);
    if (st == IFN_OK) st = bind_globals(m);
    if (st != IFN_OK) return st;
    m->layers = ifn_model_alloc_buffer(m, (size_t)m->hp.n_layer, sizeof *m->layers);
    if (!m->layers) return ifn_fail(IFN_E_NOMEM, "model: no memory for %d layers", m->hp.n_layer);
    for (int32_t il = 0; il < m->hp.n_layer && st == IFN_OK; il++) st = bind_layer(m, il);
    return st;
}
