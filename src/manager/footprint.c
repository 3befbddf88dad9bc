/* Footprint estimates. The shapes come from the file header (GGUF metadata, or the llama2.c
 * header ints); the buffers counted mirror what ifn_forward_create, the engine and the tokenizer
 * allocate, each rounded up, so a change there that grows memory should grow this formula too
 * (tests/manager checks the estimate against the allocator's live bytes). */
#include "manager/footprint.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "model/gguf.h"
#include "util/status.h"

#define LLAMA2C_MAGIC 0x616b3432u
#define BLOCK_META_BYTES 128      /* KV cache bookkeeping per block: lists, hashes, ref counts */
#define PER_SEQ_FIXED_BYTES 16384 /* request, sequence, detokenizer, stop matcher */
#define FIXED_BYTES (512u << 10)  /* engine, scheduler, template interpreter, small tables */

typedef struct shapes {
    int64_t n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim, n_rot, n_vocab, n_ctx_train;
    size_t weights_bytes;
    size_t meta_bytes; /* what the tokenizer and metadata are built from */
} shapes;

static ifn_status gguf_int(const ifn_gguf *g, const char *arch, const char *suffix,
                           int64_t fallback, int64_t *out) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    ifn_status st = ifn_gguf_get_int(g, key, fallback, out);
    if (st != IFN_OK || *out < 1 || *out > (1 << 24))
        return ifn_fail(IFN_E_FORMAT, "%s is missing or out of range", key);
    return IFN_OK;
}

static ifn_status gguf_shapes(const ifn_gguf *g, shapes *s) {
    ifn_str arch_view;
    char arch[64];
    if (ifn_gguf_get_string(g, "general.architecture", &arch_view) != IFN_OK || !arch_view.ptr ||
        arch_view.len >= sizeof arch)
        return ifn_fail(IFN_E_FORMAT, "general.architecture is missing");
    memcpy(arch, arch_view.ptr, arch_view.len);
    arch[arch_view.len] = '\0';
    ifn_status st = gguf_int(g, arch, "block_count", -1, &s->n_layer);
    if (st == IFN_OK) st = gguf_int(g, arch, "embedding_length", -1, &s->n_embd);
    if (st == IFN_OK) st = gguf_int(g, arch, "feed_forward_length", -1, &s->n_ff);
    if (st == IFN_OK) st = gguf_int(g, arch, "attention.head_count", -1, &s->n_head);
    if (st == IFN_OK) st = gguf_int(g, arch, "attention.head_count_kv", s->n_head, &s->n_head_kv);
    if (st == IFN_OK) st = gguf_int(g, arch, "context_length", 2048, &s->n_ctx_train);
    if (st == IFN_OK)
        st = gguf_int(g, arch, "attention.key_length", s->n_embd / s->n_head, &s->head_dim);
    if (st == IFN_OK) st = gguf_int(g, arch, "rope.dimension_count", s->head_dim, &s->n_rot);
    if (st != IFN_OK) return st;
    const ifn_gguf_tensor *embd = ifn_gguf_find_tensor(g, "token_embd.weight");
    if (!embd) return ifn_fail(IFN_E_FORMAT, "tensor token_embd.weight is missing");
    s->n_vocab = embd->ne[1];
    for (int64_t i = 0; i < ifn_gguf_tensor_count(g); i++)
        s->weights_bytes += ifn_gguf_tensor_at(g, i)->size_bytes;
    size_t file = ifn_gguf_file_size(g);
    s->meta_bytes = file > s->weights_bytes ? file - s->weights_bytes : 0;
    return IFN_OK;
}

static ifn_status llama2c_shapes(const char *path, size_t file_size, shapes *s) {
    int32_t head[10] = {0};
    FILE *fp = fopen(path, "rb");
    if (!fp) return ifn_fail(IFN_E_IO, "cannot open %s", path);
    size_t got = fread(head, sizeof(int32_t), 10, fp);
    fclose(fp);
    if (got < 7) return ifn_fail(IFN_E_FORMAT, "%s is too short for a llama2.c header", path);
    const int32_t *f = head;
    int version = 0;
    if ((uint32_t)head[0] == LLAMA2C_MAGIC) {
        version = head[1];
        f = head + 2;
    }
    for (int i = 0; i < 7; i++)
        if (f[i] == 0 || (i != 5 && f[i] < 0) || f[i] > (1 << 24) || f[i] < -(1 << 24))
            return ifn_fail(IFN_E_FORMAT, "%s: implausible llama2.c header", path);
    if (version != 0 && version != 1 && version != 2)
        return ifn_fail(IFN_E_FORMAT, "%s: llama2.c export version %d is not supported", path,
                        version);
    s->n_embd = f[0];
    s->n_ff = f[1];
    s->n_layer = f[2];
    s->n_head = f[3];
    s->n_head_kv = f[4];
    s->n_vocab = f[5] < 0 ? -(int64_t)f[5] : f[5];
    s->n_ctx_train = f[6];
    s->head_dim = s->n_embd / s->n_head;
    s->n_rot = s->head_dim;
    /* fp32 data is used in place; v2 int8 matrices are widened to F32 (at most 4x the file) */
    s->weights_bytes = version == 2 ? file_size * 4 : file_size;
    return IFN_OK;
}

static ifn_status read_shapes(const char *model_path, const char *tokenizer_path, shapes *s) {
    struct stat st_model;
    memset(s, 0, sizeof *s);
    if (stat(model_path, &st_model) != 0) return ifn_fail(IFN_E_IO, "cannot stat %s", model_path);
    FILE *fp = fopen(model_path, "rb");
    char magic[4] = {0};
    if (!fp) return ifn_fail(IFN_E_IO, "cannot open %s", model_path);
    size_t got = fread(magic, 1, 4, fp);
    fclose(fp);
    if (got == 4 && memcmp(magic, "GGUF", 4) == 0) {
        ifn_gguf *g = NULL;
        ifn_status st = ifn_gguf_open(model_path, &g);
        if (st == IFN_OK) st = gguf_shapes(g, s);
        ifn_gguf_close(g);
        return st == IFN_OK ? IFN_OK : ifn_fail(st, "%s: %s", model_path, ifn_last_error());
    }
    ifn_status st = llama2c_shapes(model_path, (size_t)st_model.st_size, s);
    struct stat st_tok;
    if (st == IFN_OK && tokenizer_path && stat(tokenizer_path, &st_tok) == 0)
        s->meta_bytes = (size_t)st_tok.st_size;
    return st;
}

/* ifn_forward_create's buffers (forward.c alloc_buffers); its private cache is made only by
 * ifn_forward_eval, which engines never call. */
static double forward_bytes(const shapes *s, double n_ctx, double batch, double n_threads) {
    double q_dim = (double)(s->n_head * s->head_dim), kv_dim = (double)(s->n_head_kv * s->head_dim);
    double wide = q_dim > (double)s->n_embd ? q_dim : (double)s->n_embd;
    double widest = wide > (double)s->n_ff ? wide : (double)s->n_ff;
    double floats =
        batch * (2.0 * (double)s->n_embd + wide + q_dim + 2 * kv_dim + 2.0 * (double)s->n_ff) +
        n_threads * ((double)s->n_rot + widest) + (double)s->n_rot;
    double act = 2 * batch * (widest * 4 + 64);
    double tables = batch * 8 + n_threads * 2 * (n_ctx + 1) * 8;
    return floats * 4 + 16 * 128 + act + tables;
}

static double kv_full_bytes(const shapes *s, const ifn_engine_params *e, double n_ctx) {
    double elem = e->kv_type == IFN_DTYPE_F32 ? 4 : 2;
    return 2 * (double)s->n_layer * (double)(s->n_head_kv * s->head_dim) * elem * n_ctx *
           (double)e->max_num_seqs;
}

/* In doubles: products of header values cannot overflow, and the result is checked once. */
static int estimate(const shapes *s, const ifn_engine_params *e, size_t kv_cap,
                    ifn_footprint *out) {
    double n_ctx = (double)(e->n_ctx > 0 ? e->n_ctx : s->n_ctx_train);
    double seqs = (double)e->max_num_seqs, batch = (double)e->max_batched_tokens;
    double kv = (double)e->kv_cache_bytes;
    if (kv == 0) {
        kv = kv_full_bytes(s, e, n_ctx);
        if (kv > (double)kv_cap) kv = (double)kv_cap;
    }
    double block_bytes = 2 * (double)s->n_layer * (double)e->block_size *
                         (double)(s->n_head_kv * s->head_dim) *
                         (e->kv_type == IFN_DTYPE_F32 ? 4 : 2);
    double kv_meta = (kv / block_bytes + 1) * BLOCK_META_BYTES;
    double rows = seqs < batch ? seqs : batch;
    double vocab = (double)s->n_vocab;
    double engine = rows * vocab * 4 + vocab * 4 + batch * 64 + kv_meta;
    double per_seq = seqs * (vocab * 32 + n_ctx * 16 + (double)s->n_embd * 4 + PER_SEQ_FIXED_BYTES);
    double tokenizer = (double)s->meta_bytes * 8 + vocab * 64;
    double scratch = forward_bytes(s, n_ctx, batch, (double)(e->n_threads > 0 ? e->n_threads : 1)) +
                     engine + per_seq + tokenizer + FIXED_BYTES;
    if ((double)s->weights_bytes + kv + scratch > 0x1p62) return 0;
    out->weights_bytes = s->weights_bytes;
    out->kv_bytes = (size_t)kv;
    out->scratch_bytes = (size_t)scratch;
    out->total_bytes = out->weights_bytes + out->kv_bytes + out->scratch_bytes;
    out->n_ctx = (int32_t)n_ctx;
    return 1;
}

ifn_status ifn_footprint_estimate(const char *model_path, const char *tokenizer_path,
                                  const ifn_engine_params *engine, size_t kv_cap_bytes,
                                  ifn_footprint *out) {
    if (!model_path || !engine || engine->max_num_seqs <= 0 || engine->max_batched_tokens <= 0 ||
        engine->block_size <= 0)
        return ifn_fail(IFN_E_INVALID, "footprint: bad parameters");
    shapes s;
    ifn_status st = read_shapes(model_path, tokenizer_path, &s);
    if (st != IFN_OK) return st;
    if (s.n_head_kv * s.head_dim <= 0 || s.n_layer <= 0)
        return ifn_fail(IFN_E_FORMAT, "%s: implausible shapes", model_path);
    ifn_footprint fp;
    if (!estimate(&s, engine, kv_cap_bytes, &fp))
        return ifn_fail(IFN_E_FORMAT, "%s: implausibly large shapes", model_path);
    *out = fp;
    return IFN_OK;
}
