/* llama2.c checkpoints: the legacy header (7 int32, negative vocab = unshared classifier) and
 * the versioned v1 (fp32) and v2 (int8 groups + fp32 scales) exports. fp32 data is used in place
 * from the map; v2 matrices are widened to F32 at load (exact: q * scale), since their group
 * size need not match a GGUF block. The expected file size is computed with overflow checks
 * before any weight is touched. */
#include <string.h>

#include "model/model_impl.h"
#include "util/status.h"

#define LLAMA2C_MAGIC 0x616b3432u
#define LLAMA2C_HEADER_V1 256
#define LLAMA2C_MAX_DIM (1 << 20)

typedef struct llama2c_config {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
    int version;      /* 0 = legacy */
    int shared_classifier;
    int32_t group_size; /* v2 */
} llama2c_config;

typedef struct cursor {
    const unsigned char *data;
    size_t size;
    size_t pos;
} cursor;

static ifn_status read_config(const ifn_mmap *map, llama2c_config *c, size_t *out_data_start) {
    int32_t head[9];
    if (map->size < 7 * sizeof(int32_t))
        return ifn_fail(IFN_E_FORMAT, "llama2c: file of %zu bytes is too short for a header",
                        map->size);
    memcpy(head, map->data, map->size >= sizeof head ? sizeof head : 7 * sizeof(int32_t));
    memset(c, 0, sizeof *c);
    const int32_t *fields = head;
    if ((uint32_t)head[0] == LLAMA2C_MAGIC) {
        if (map->size < LLAMA2C_HEADER_V1)
            return ifn_fail(IFN_E_FORMAT, "llama2c: versioned header is truncated");
        c->version = head[1];
        if (c->version != 1 && c->version != 2)
            return ifn_fail(IFN_E_UNSUPPORTED, "llama2c: export version %d is not supported",
                            c->version);
        fields = head + 2;
    }
    c->dim = fields[0];
    c->hidden_dim = fields[1];
    c->n_layers = fields[2];
    c->n_heads = fields[3];
    c->n_kv_heads = fields[4];
    c->vocab_size = fields[5];
    c->seq_len = fields[6];
    if (c->version == 0) {
        c->shared_classifier = c->vocab_size > 0;
        if (c->vocab_size < 0) c->vocab_size = -c->vocab_size;
        *out_data_start = 7 * sizeof(int32_t);
    } else {
        c->shared_classifier = map->data[36];
        if (c->version == 2) memcpy(&c->group_size, map->data + 37, sizeof c->group_size);
        *out_data_start = LLAMA2C_HEADER_V1;
    }
    return IFN_OK;
}

static ifn_status check_config(const llama2c_config *c) {
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 ||
        c->n_kv_heads <= 0 || c->vocab_size <= 0 || c->seq_len <= 0 || c->dim > LLAMA2C_MAX_DIM ||
        c->hidden_dim > LLAMA2C_MAX_DIM || c->n_layers > 4096 || c->vocab_size > (1 << 24) ||
        c->seq_len > LLAMA2C_MAX_DIM)
        return ifn_fail(IFN_E_FORMAT,
                        "llama2c: implausible header (dim %d, hidden %d, layers %d, heads %d/%d, "
                        "vocab %d, seq_len %d); is this a llama2.c checkpoint?",
                        c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                        c->vocab_size, c->seq_len);
    if (c->dim % c->n_heads != 0 || c->n_heads % c->n_kv_heads != 0 ||
        (c->dim / c->n_heads) % 2 != 0)
        return ifn_fail(IFN_E_FORMAT, "llama2c: %d heads / %d KV heads do not fit dim %d",
                        c->n_heads, c->n_kv_heads, c->dim);
    if (c->version == 2 && (c->group_size <= 0 || c->dim % c->group_size != 0 ||
                            c->hidden_dim % c->group_size != 0))
        return ifn_fail(IFN_E_FORMAT, "llama2c: group size %d does not divide the matrices",
                        c->group_size);
    return IFN_OK;
}

/* Takes n floats (fp32) from the cursor as an in-place view. Sizes are bounded by
 * LLAMA2C_MAX_DIM checks, so n * 4 cannot overflow a size_t here. */
static ifn_status take_f32(cursor *cur, int64_t n_rows, int64_t n_cols, ifn_weight *out) {
    size_t bytes = (size_t)n_rows * (size_t)n_cols * sizeof(float);
    if (bytes > cur->size - cur->pos)
        return ifn_fail(IFN_E_FORMAT, "llama2c: file ends at %zu, weights need %zu more bytes",
                        cur->size, bytes - (cur->size - cur->pos));
    out->type = IFN_DTYPE_F32;
    out->n_rows = n_rows;
    out->n_cols = n_cols;
    out->row_bytes = (size_t)n_cols * sizeof(float);
    out->data = cur->data + cur->pos;
    cur->pos += bytes;
    return IFN_OK;
}

/* v2: int8 q[n] then fp32 scale[n / group], widened into a model-owned F32 buffer. */
static ifn_status take_q8(ifn_model *m, cursor *cur, int32_t group, int64_t n_rows, int64_t n_cols,
                          ifn_weight *out) {
    size_t n = (size_t)n_rows * (size_t)n_cols;
    size_t bytes = n + n / (size_t)group * sizeof(float);
    if (bytes > cur->size - cur->pos)
        return ifn_fail(IFN_E_FORMAT, "llama2c: file ends inside quantized weights");
    float *dst = ifn_model_alloc_buffer(m, n, sizeof(float));
    if (!dst) return ifn_fail(IFN_E_NOMEM, "llama2c: no memory for %zu weights", n);
    const int8_t *q = (const int8_t *)(cur->data + cur->pos);
    const unsigned char *scales = cur->data + cur->pos + n;
    for (size_t g = 0; g < n / (size_t)group; g++) {
        float scale;
        memcpy(&scale, scales + g * sizeof(float), sizeof scale);
        for (int32_t i = 0; i < group; i++) dst[g * group + i] = q[g * group + i] * scale;
    }
    cur->pos += bytes;
    out->type = IFN_DTYPE_F32;
    out->n_rows = n_rows;
    out->n_cols = n_cols;
    out->row_bytes = (size_t)n_cols * sizeof(float);
    out->data = dst;
    return IFN_OK;
}

/* Splits a stacked [n_layers][rows][cols] view into per-layer views. */
static void split_layers(ifn_model *m, const ifn_weight *stacked, size_t field_offset) {
    int64_t rows = stacked->n_rows / m->hp.n_layer;
    for (int32_t il = 0; il < m->hp.n_layer; il++) {
        ifn_weight *w = (ifn_weight *)((unsigned char *)&m->layers[il] + field_offset);
        *w = *stacked;
        w->n_rows = rows;
        w->data = (const unsigned char *)stacked->data + (size_t)il * (size_t)rows * w->row_bytes;
    }
}

typedef struct matrix_spec {
    size_t field;
    int64_t rows, cols; /* per layer */
} matrix_spec;

static ifn_status take_matrices(ifn_model *m, const llama2c_config *c, cursor *cur) {
    const ifn_hparams *hp = &m->hp;
    int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    const matrix_spec specs[] = {
        {offsetof(ifn_layer_weights, wq), hp->n_embd, hp->n_embd},
        {offsetof(ifn_layer_weights, wk), kv_dim, hp->n_embd},
        {offsetof(ifn_layer_weights, wv), kv_dim, hp->n_embd},
        {offsetof(ifn_layer_weights, wo), hp->n_embd, hp->n_embd},
        {offsetof(ifn_layer_weights, w_gate), hp->n_ff, hp->n_embd},
        {offsetof(ifn_layer_weights, w_down), hp->n_embd, hp->n_ff},
        {offsetof(ifn_layer_weights, w_up), hp->n_ff, hp->n_embd},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        ifn_weight stacked;
        ifn_status st;
        if (c->version == 2) {
            /* v2 stores each layer's tensor separately, each with its own scales. */
            for (int32_t il = 0; il < hp->n_layer; il++) {
                ifn_weight *w = (ifn_weight *)((unsigned char *)&m->layers[il] + specs[i].field);
                st = take_q8(m, cur, c->group_size, specs[i].rows, specs[i].cols, w);
                if (st != IFN_OK) return st;
            }
            continue;
        }
        st = take_f32(cur, specs[i].rows * hp->n_layer, specs[i].cols, &stacked);
        if (st != IFN_OK) return st;
        split_layers(m, &stacked, specs[i].field);
    }
    return IFN_OK;
}

static ifn_status take_norms(ifn_model *m, cursor *cur, int with_final) {
    ifn_weight att, ffn;
    ifn_status st = take_f32(cur, m->hp.n_layer, m->hp.n_embd, &att);
    if (st == IFN_OK) st = take_f32(cur, m->hp.n_layer, m->hp.n_embd, &ffn);
    if (st == IFN_OK && with_final) st = take_f32(cur, 1, m->hp.n_embd, &m->output_norm);
    if (st != IFN_OK) return st;
    split_layers(m, &att, offsetof(ifn_layer_weights, attn_norm));
    split_layers(m, &ffn, offsetof(ifn_layer_weights, ffn_norm));
    return IFN_OK;
}

static void fill_hparams(ifn_hparams *hp, const llama2c_config *c) {
    strcpy(hp->arch, "llama");
    hp->n_vocab = c->vocab_size;
    hp->n_ctx_train = c->seq_len;
    hp->n_embd = c->dim;
    hp->n_layer = c->n_layers;
    hp->n_ff = c->hidden_dim;
    hp->n_head = c->n_heads;
    hp->n_head_kv = c->n_kv_heads;
    hp->head_dim = c->dim / c->n_heads;
    hp->n_rot = hp->head_dim;
    hp->rope_kind = IFN_ROPE_NORM;
    hp->rope_freq_base = 10000.0f;
    hp->rope_freq_scale = 1.0f;
    hp->rms_eps = 1e-5f;
}

static ifn_status load_embedding(ifn_model *m, const llama2c_config *c, cursor *cur) {
    if (c->version == 2)
        return take_q8(m, cur, c->group_size, m->hp.n_vocab, m->hp.n_embd, &m->tok_embd);
    return take_f32(cur, m->hp.n_vocab, m->hp.n_embd, &m->tok_embd);
}

static ifn_status load_legacy_order(ifn_model *m, cursor *cur) {
    ifn_status st = take_f32(cur, m->hp.n_vocab, m->hp.n_embd, &m->tok_embd);
    ifn_weight att, ffn, skip;
    if (st == IFN_OK) st = take_f32(cur, m->hp.n_layer, m->hp.n_embd, &att);
    if (st != IFN_OK) return st;
    split_layers(m, &att, offsetof(ifn_layer_weights, attn_norm));
    /* Legacy order: wq wk wv wo, rms_ffn, w1 w2 w3, rms_final, freq_cis. */
    const ifn_hparams *hp = &m->hp;
    int64_t kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    const matrix_spec attn[] = {
        {offsetof(ifn_layer_weights, wq), hp->n_embd, hp->n_embd},
        {offsetof(ifn_layer_weights, wk), kv_dim, hp->n_embd},
        {offsetof(ifn_layer_weights, wv), kv_dim, hp->n_embd},
        {offsetof(ifn_layer_weights, wo), hp->n_embd, hp->n_embd},
    };
    const matrix_spec ffn_specs[] = {
        {offsetof(ifn_layer_weights, w_gate), hp->n_ff, hp->n_embd},
        {offsetof(ifn_layer_weights, w_down), hp->n_embd, hp->n_ff},
        {offsetof(ifn_layer_weights, w_up), hp->n_ff, hp->n_embd},
    };
    for (size_t i = 0; i < 4 && st == IFN_OK; i++) {
        ifn_weight stacked;
        st = take_f32(cur, attn[i].rows * hp->n_layer, attn[i].cols, &stacked);
        if (st == IFN_OK) split_layers(m, &stacked, attn[i].field);
    }
    if (st == IFN_OK) st = take_f32(cur, m->hp.n_layer, m->hp.n_embd, &ffn);
    if (st != IFN_OK) return st;
    split_layers(m, &ffn, offsetof(ifn_layer_weights, ffn_norm));
    for (size_t i = 0; i < 3 && st == IFN_OK; i++) {
        ifn_weight stacked;
        st = take_f32(cur, ffn_specs[i].rows * hp->n_layer, ffn_specs[i].cols, &stacked);
        if (st == IFN_OK) split_layers(m, &stacked, ffn_specs[i].field);
    }
    if (st == IFN_OK) st = take_f32(cur, 1, m->hp.n_embd, &m->output_norm);
    if (st == IFN_OK) st = take_f32(cur, 2 * (int64_t)hp->n_ctx_train, hp->head_dim / 2, &skip);
    return st;
}

ifn_status ifn_llama2c_load(ifn_model *m) {
    llama2c_config c;
    size_t data_start = 0;
    ifn_status st = read_config(&m->map, &c, &data_start);
    if (st == IFN_OK) st = check_config(&c);
    if (st != IFN_OK) return st;
    fill_hparams(&m->hp, &c);
    m->layers = ifn_model_alloc_buffer(m, (size_t)c.n_layers, sizeof *m->layers);
    if (!m->layers) return ifn_fail(IFN_E_NOMEM, "llama2c: no memory for layers");
    cursor cur = {m->map.data, m->map.size, data_start};
    if (c.version == 0) {
        st = load_legacy_order(m, &cur);
    } else {
        st = take_norms(m, &cur, 1);
        if (st == IFN_OK) st = load_embedding(m, &c, &cur);
        if (st == IFN_OK) st = take_matrices(m, &c, &cur);
    }
    if (st != IFN_OK) return st;
    if (c.shared_classifier) {
        m->output = m->tok_embd;
        m->is_output_tied = 1;
    } else if (c.version == 2) {
        st = take_q8(m, &cur, c.group_size, m->hp.n_vocab, m->hp.n_embd, &m->output);
    } else {
        st = take_f32(&cur, m->hp.n_vocab, m->hp.n_embd, &m->output);
    }
    m->weight_bytes = cur.pos - data_start; /* bytes of weights as stored in the file */
    return st;
}
