/* `inferneo synth`: writes a Llama GGUF with random weights (vLLM's "dummy weights") that both
 * Inferneo and llama.cpp load, for benchmarks at real model shapes without downloading models.
 * Every row of every matrix is generated from (--seed, tensor name, row), so the file is the
 * same for any thread count and the same seed gives the same weights in every type. Rows are
 * generated, quantized and streamed to the file a chunk at a time; nothing goes to stdout. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "kernels/quant.h"
#include "model/ftype.h"
#include "model/gguf.h"
#include "model/gguf_writer.h"
#include "tensor/pool.h"
#include "util/alloc.h"
#include "util/rng.h"
#include "util/status.h"
#include "util/time.h"

#define WEIGHT_STD 0.02f            /* like the usual Llama initialisation */
#define CHUNK_BYTES (4u << 20)      /* encoded bytes produced per pool run */
#define MIN_SPM_VOCAB (3 + 256 + 1) /* <unk> <s> </s>, 256 byte tokens, "▁" */
#define MAX_NAME 64

typedef struct synth_shape {
    int32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
} synth_shape;

typedef struct synth_preset {
    const char *name;
    const char *source;
    synth_shape shape;
} synth_preset;

static const synth_preset g_presets[] = {
    {"tiny15m", "llama2.c stories15M", {288, 6, 6, 6, 768, 32000, 256}},
    {"small42m", "llama2.c stories42M", {512, 8, 8, 8, 1376, 32000, 1024}},
    {"small110m", "llama2.c stories110M", {768, 12, 12, 12, 2048, 32000, 1024}},
    {"tinyllama1b", "TinyLlama-1.1B", {2048, 22, 32, 4, 5632, 32000, 2048}},
};

typedef struct synth_options {
    const char *arch;
    const char *preset;
    synth_shape shape; /* explicit values; 0 = from the preset or the default */
    const char *type_name;
    const char *vocab_path;
    const char *out_path;
    int64_t seed;
    int64_t n_threads;
    int is_pure;
} synth_options;

/* One tensor of the file, in write order. */
typedef struct synth_tensor {
    char name[MAX_NAME];
    int32_t n_dims;
    int64_t ne0, ne1; /* ne0 = row length (input dim); ne1 = rows (1 for vectors) */
    ifn_dtype type;
    int is_norm; /* all ones */
    uint64_t seed;
} synth_tensor;

/* Prints `list` (items separated by ", ") wrapped to 100 columns after a 22-column indent. */
static void print_wrapped(FILE *out, const char *list) {
    int column = 22;
    for (int is_first = 1; *list; is_first = 0) {
        size_t len = strcspn(list, ",");
        if (!is_first && column + 2 + (int)len > 99) {
            fprintf(out, ",\n%22s", "");
            column = 22;
        } else if (!is_first) {
            fputs(", ", out);
            column += 2;
        }
        fprintf(out, "%.*s", (int)len, list);
        column += (int)len;
        list += len;
        while (*list == ',' || *list == ' ')
            list++;
    }
    fputc('\n', out);
}

static void print_synth_usage(FILE *out) {
    fprintf(out,
            "usage: inferneo synth [--arch llama] (--preset NAME | --dim D --layers L --heads H\n"
            "                      [--kv-heads K] --ffn F --vocab V) [--ctx N] --type TYPE\n"
            "                      [--vocab-from FILE.gguf] [--seed S] [--pure] [-t N] -o FILE\n"
            "\n"
            "Writes a Llama GGUF with random weights (normal, std %.2f; norms 1) that Inferneo\n"
            "and llama.cpp load. TYPE is a llama-quantize type and picks each tensor's type as\n"
            "llama-quantize does (Q4_0 keeps output.weight in Q6_K, Q4_K_M gives some attn_v and\n"
            "ffn_down layers Q6_K, ...): the file is the one llama-quantize makes from the same\n"
            "command's F32 file. Progress goes to stderr; nothing to stdout.\n"
            "\n"
            "  --preset NAME       (explicit sizes below override the preset's)\n",
            (double)WEIGHT_STD);
    for (size_t k = 0; k < sizeof g_presets / sizeof g_presets[0]; k++) {
        const synth_shape *s = &g_presets[k].shape;
        fprintf(out, "    %-16s  %s: dim %d, %d layers, %d heads (%d KV), ffn %d, ctx %d\n",
                g_presets[k].name, g_presets[k].source, s->n_embd, s->n_layer, s->n_head,
                s->n_head_kv, s->n_ff, s->n_ctx);
    }
    fprintf(out, "  --dim, --layers, --heads, --kv-heads (default = heads), --ffn, --vocab\n"
                 "  --ctx N             training context length (default: preset's, else 2048)\n"
                 "  --type TYPE         ");
    print_wrapped(out, ifn_ftype_names());
    fprintf(out,
            "  --pure              every matrix in TYPE's base type (llama-quantize --pure)\n"
            "  --vocab-from FILE   copy the tokenizer (tokenizer.* keys) from a GGUF; the vocab\n"
            "                      size is then its token count (default: a generated\n"
            "                      SentencePiece vocabulary of V tokens)\n"
            "  --seed S            weights seed (default 42)\n"
            "  -t, --threads N     threads (default: physical cores)\n"
            "  -o, --output FILE   output path\n");
}

/* ---- options ---- */

/* The size options; *matched = 0 when argv[*i] is none of them. */
static ifn_status parse_int_option(int argc, char **argv, int *i, synth_options *o, int *matched) {
    const struct {
        const char *name;
        int32_t *dst;
        int64_t max;
    } ints[] = {
        {"--dim", &o->shape.n_embd, 1 << 20},   {"--layers", &o->shape.n_layer, 4096},
        {"--heads", &o->shape.n_head, 1 << 16}, {"--kv-heads", &o->shape.n_head_kv, 1 << 16},
        {"--ffn", &o->shape.n_ff, 1 << 22},     {"--vocab", &o->shape.n_vocab, 1 << 22},
        {"--ctx", &o->shape.n_ctx, 1 << 24},
    };
    *matched = 0;
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
        if (!ifn_args_is(argv[*i], NULL, ints[k].name)) continue;
        const char *text;
        int64_t v;
        *matched = 1;
        ifn_status st = ifn_args_value(argc, argv, i, &text);
        if (st == IFN_OK) st = ifn_args_int(ints[k].name, text, 1, ints[k].max, &v);
        if (st == IFN_OK) *ints[k].dst = (int32_t)v;
        return st;
    }
    return IFN_OK;
}

static ifn_status parse_options(int argc, char **argv, synth_options *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int matched;
        ifn_status st = parse_int_option(argc, argv, &i, o, &matched);
        if (matched) {
            if (st != IFN_OK) return st;
            continue;
        }
        if (ifn_args_is(a, NULL, "--arch"))
            st = ifn_args_value(argc, argv, &i, &o->arch);
        else if (ifn_args_is(a, NULL, "--preset"))
            st = ifn_args_value(argc, argv, &i, &o->preset);
        else if (ifn_args_is(a, NULL, "--type"))
            st = ifn_args_value(argc, argv, &i, &o->type_name);
        else if (ifn_args_is(a, NULL, "--vocab-from"))
            st = ifn_args_value(argc, argv, &i, &o->vocab_path);
        else if (ifn_args_is(a, "-o", "--output"))
            st = ifn_args_value(argc, argv, &i, &o->out_path);
        else if (ifn_args_is(a, NULL, "--pure"))
            o->is_pure = 1;
        else if (ifn_args_is(a, NULL, "--seed")) {
            if ((st = ifn_args_value(argc, argv, &i, &v)) == IFN_OK)
                st = ifn_args_int(a, v, 0, INT64_MAX, &o->seed);
        } else if (ifn_args_is(a, "-t", "--threads")) {
            if ((st = ifn_args_value(argc, argv, &i, &v)) == IFN_OK)
                st = ifn_args_int(a, v, 1, 1024, &o->n_threads);
        } else
            st = ifn_fail(IFN_E_INVALID, "unknown option '%s'", a);
        if (st != IFN_OK) return st;
    }
    if (o->arch && strcmp(o->arch, "llama") != 0)
        return ifn_fail(IFN_E_INVALID, "--arch %s is not supported (only llama)", o->arch);
    if (!o->type_name) return ifn_fail(IFN_E_INVALID, "--type TYPE is required");
    if (!o->out_path) return ifn_fail(IFN_E_INVALID, "-o FILE is required");
    return IFN_OK;
}

static int32_t pick(int32_t explicit_value, int32_t preset_value) {
    return explicit_value ? explicit_value : preset_value;
}

/* Preset, then explicit sizes, then defaults; checks what the Llama graph needs. */
static ifn_status resolve_shape(const synth_options *o, synth_shape *out) {
    synth_shape base = {0, 0, 0, 0, 0, 0, 2048};
    if (o->preset) {
        size_t k = 0;
        while (k < sizeof g_presets / sizeof g_presets[0] && strcmp(g_presets[k].name, o->preset))
            k++;
        if (k == sizeof g_presets / sizeof g_presets[0])
            return ifn_fail(IFN_E_INVALID, "unknown preset '%s' (see --help)", o->preset);
        base = g_presets[k].shape;
    }
    const synth_shape *x = &o->shape;
    synth_shape s = {pick(x->n_embd, base.n_embd), pick(x->n_layer, base.n_layer),
                     pick(x->n_head, base.n_head), pick(x->n_head_kv, base.n_head_kv),
                     pick(x->n_ff, base.n_ff),     pick(x->n_vocab, base.n_vocab),
                     pick(x->n_ctx, base.n_ctx)};
    if (!s.n_head_kv) s.n_head_kv = s.n_head;
    if (!s.n_embd || !s.n_layer || !s.n_head || !s.n_ff || (!s.n_vocab && !o->vocab_path))
        return ifn_fail(IFN_E_INVALID, "give --preset or all of --dim --layers --heads --ffn "
                                       "--vocab");
    if (s.n_embd % s.n_head != 0 || s.n_head % s.n_head_kv != 0 || (s.n_embd / s.n_head) % 2)
        return ifn_fail(IFN_E_INVALID,
                        "%d heads (%d KV heads) do not split dim %d into even "
                        "head sizes",
                        s.n_head, s.n_head_kv, s.n_embd);
    *out = s;
    return IFN_OK;
}

/* ---- metadata ---- */

static ifn_status add_hparams(ifn_gguf_writer *w, const synth_shape *s, const char *name) {
    const struct {
        const char *key;
        int32_t value;
    } u32s[] = {
        {"llama.context_length", s->n_ctx},
        {"llama.embedding_length", s->n_embd},
        {"llama.block_count", s->n_layer},
        {"llama.feed_forward_length", s->n_ff},
        {"llama.rope.dimension_count", s->n_embd / s->n_head},
        {"llama.attention.head_count", s->n_head},
        {"llama.attention.head_count_kv", s->n_head_kv},
        {"llama.vocab_size", s->n_vocab},
    };
    ifn_status st =
        ifn_gguf_writer_set_string(w, "general.architecture", ifn_str_from_cstr("llama"));
    if (st == IFN_OK) st = ifn_gguf_writer_set_string(w, "general.name", ifn_str_from_cstr(name));
    for (size_t k = 0; k < sizeof u32s / sizeof u32s[0] && st == IFN_OK; k++)
        st = ifn_gguf_writer_set_u32(w, u32s[k].key, (uint32_t)u32s[k].value);
    if (st == IFN_OK) st = ifn_gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f);
    if (st == IFN_OK)
        st = ifn_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    return st;
}

/* Copies every tokenizer.* key of `src`. */
static ifn_status copy_vocab(ifn_gguf_writer *w, const ifn_gguf *src) {
    static const char prefix[] = "tokenizer.";
    for (int64_t i = 0; i < ifn_gguf_kv_count(src); i++) {
        const ifn_gguf_kv *kv = ifn_gguf_kv_at(src, i);
        char key[256];
        if (kv->key.len < sizeof prefix - 1 || memcmp(kv->key.ptr, prefix, sizeof prefix - 1))
            continue;
        if (kv->key.len >= sizeof key)
            return ifn_fail(IFN_E_FORMAT, "vocabulary key '%.64s...' is too long", kv->key.ptr);
        memcpy(key, kv->key.ptr, kv->key.len);
        key[kv->key.len] = '\0';
        ifn_status st = ifn_gguf_writer_set_value(w, key, &kv->value);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

/* Token count of a vocabulary GGUF's tokenizer.ggml.tokens. */
static ifn_status vocab_size_of(const ifn_gguf *src, const char *path, int32_t *out) {
    const ifn_gguf_kv *kv = ifn_gguf_find(src, "tokenizer.ggml.tokens");
    if (!kv || kv->value.type != IFN_GGUF_TYPE_ARRAY ||
        kv->value.as.arr.elem_type != IFN_GGUF_TYPE_STRING || kv->value.as.arr.count == 0 ||
        kv->value.as.arr.count > (1 << 22))
        return ifn_fail(IFN_E_FORMAT, "%s has no usable tokenizer.ggml.tokens", path);
    *out = (int32_t)kv->value.as.arr.count;
    return IFN_OK;
}

/* Filler piece k: "a".."z", "aa".. (bijective base 26), every other one with the word marker. */
static size_t filler_piece(int64_t k, char *out) {
    size_t n = 0;
    char letters[16];
    size_t n_letters = 0;
    for (int64_t v = k / 2 + 1; v > 0; v = (v - 1) / 26)
        letters[n_letters++] = (char)('a' + (v - 1) % 26);
    if (k % 2) {
        memcpy(out, "\xE2\x96\x81", 3); /* U+2581, SentencePiece's word marker */
        n = 3;
    }
    while (n_letters)
        out[n++] = letters[--n_letters];
    return n;
}

typedef struct spm_vocab {
    char *text;      /* [n_tokens * 16] piece bytes */
    ifn_str *tokens; /* [n_tokens] views into text */
    float *scores;   /* [n_tokens] */
    int32_t *types;  /* [n_tokens] GGUF token types */
} spm_vocab;

static void build_spm_vocab(spm_vocab *v, int32_t n_tokens) {
    static const char *specials[] = {"<unk>", "<s>", "</s>"};
    static const int32_t special_types[] = {2, 3, 3}; /* unknown, control, control */
    for (int32_t i = 0; i < n_tokens; i++) {
        char *piece = v->text + (size_t)i * 16;
        size_t len;
        v->scores[i] = 0.0f;
        if (i < 3) {
            len = strlen(specials[i]);
            memcpy(piece, specials[i], len);
            v->types[i] = special_types[i];
        } else if (i < 3 + 256) {
            len = (size_t)snprintf(piece, 16, "<0x%02X>", (unsigned)(i - 3));
            v->types[i] = 6; /* byte */
        } else {
            len = i == 259 ? 3 : filler_piece(i - 260, piece);
            if (i == 259) memcpy(piece, "\xE2\x96\x81", 3);
            v->types[i] = 1; /* normal */
            v->scores[i] = -(float)(i - 259);
        }
        v->tokens[i].ptr = piece;
        v->tokens[i].len = len;
    }
}

/* A small valid SentencePiece vocabulary: specials, byte fallback tokens, filler pieces. */
static ifn_status add_spm_vocab(ifn_gguf_writer *w, int32_t n_tokens) {
    if (n_tokens < MIN_SPM_VOCAB)
        return ifn_fail(IFN_E_INVALID,
                        "--vocab %d is too small for a SentencePiece vocabulary "
                        "(at least %d)",
                        n_tokens, MIN_SPM_VOCAB);
    spm_vocab v = {ifn_malloc((size_t)n_tokens * 16),
                   ifn_malloc((size_t)n_tokens * sizeof(ifn_str)),
                   ifn_malloc((size_t)n_tokens * sizeof(float)),
                   ifn_malloc((size_t)n_tokens * sizeof(int32_t))};
    ifn_status st = IFN_E_NOMEM;
    if (!v.text || !v.tokens || !v.scores || !v.types) {
        st = ifn_fail(IFN_E_NOMEM, "no memory for a %d-token vocabulary", n_tokens);
        goto out;
    }
    build_spm_vocab(&v, n_tokens);
    st = ifn_gguf_writer_set_string(w, "tokenizer.ggml.model", ifn_str_from_cstr("llama"));
    if (st == IFN_OK)
        st = ifn_gguf_writer_set_string_array(w, "tokenizer.ggml.tokens", v.tokens,
                                              (uint64_t)n_tokens);
    if (st == IFN_OK)
        st = ifn_gguf_writer_set_array(w, "tokenizer.ggml.scores", IFN_GGUF_TYPE_FLOAT32, v.scores,
                                       (uint64_t)n_tokens);
    if (st == IFN_OK)
        st = ifn_gguf_writer_set_array(w, "tokenizer.ggml.token_type", IFN_GGUF_TYPE_INT32, v.types,
                                       (uint64_t)n_tokens);
    if (st == IFN_OK) st = ifn_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    if (st == IFN_OK) st = ifn_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    if (st == IFN_OK) st = ifn_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    if (st == IFN_OK) st = ifn_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", 1);
    if (st == IFN_OK) st = ifn_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", 0);
out:
    ifn_free(v.text);
    ifn_free(v.tokens);
    ifn_free(v.scores);
    ifn_free(v.types);
    return st;
}

/* ---- tensors ---- */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t name_seed(const char *name, uint64_t seed) {
    uint64_t h = 0xCBF29CE484222325ull; /* FNV-1a */
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001B3ull;
    return mix64(h ^ mix64(seed));
}

static void set_tensor(synth_tensor *t, const char *name, int64_t ne0, int64_t ne1, uint64_t seed) {
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = ne1 > 0 ? 2 : 1;
    t->ne0 = ne0;
    t->ne1 = ne1 > 0 ? ne1 : 1;
    t->is_norm = ne1 == 0;
    t->seed = name_seed(name, seed);
}

/* llama-quantize's order (it decides the mixture counters): tensors without a layer, then each
 * layer, both sorted by name. Returns the tensor count. */
static int64_t list_tensors(const synth_shape *s, uint64_t seed, synth_tensor *out) {
    int64_t n = 0, d = s->n_embd, d_kv = (int64_t)(s->n_embd / s->n_head) * s->n_head_kv;
    set_tensor(&out[n++], "output.weight", d, s->n_vocab, seed);
    set_tensor(&out[n++], "output_norm.weight", d, 0, seed);
    set_tensor(&out[n++], "token_embd.weight", d, s->n_vocab, seed);
    for (int32_t il = 0; il < s->n_layer; il++) {
        const struct {
            const char *suffix;
            int64_t ne0, ne1;
        } layer[] = {
            {"attn_k", d, d_kv},      {"attn_norm", d, 0}, {"attn_output", d, d},
            {"attn_q", d, d},         {"attn_v", d, d_kv}, {"ffn_down", s->n_ff, d},
            {"ffn_gate", d, s->n_ff}, {"ffn_norm", d, 0},  {"ffn_up", d, s->n_ff},
        };
        for (size_t k = 0; k < sizeof layer / sizeof layer[0]; k++) {
            char name[MAX_NAME];
            snprintf(name, sizeof name, "blk.%d.%s.weight", (int)il, layer[k].suffix);
            set_tensor(&out[n++], name, layer[k].ne0, layer[k].ne1, seed);
        }
    }
    return n;
}

/* Picks each tensor's type and declares it to the writer. */
static ifn_status add_tensors(ifn_gguf_writer *w, const synth_shape *s, ifn_ftype ftype,
                              int is_pure, synth_tensor *tensors, int64_t n_tensors) {
    ifn_ftype_mix mix;
    ifn_ftype_mix_init(&mix, ftype, s->n_layer, s->n_head, s->n_head_kv, is_pure);
    for (int64_t i = 0; i < n_tensors; i++) {
        synth_tensor *t = &tensors[i];
        int64_t ne[2] = {t->ne0, t->ne1};
        ifn_status st = ifn_ftype_mix_choose(&mix, t->name, t->n_dims, t->ne0, &t->type);
        if (st == IFN_OK) st = ifn_gguf_writer_add_tensor(w, t->name, t->n_dims, ne, t->type);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

/* ---- weights ---- */

typedef struct fill_task {
    const synth_tensor *tensor;
    int64_t row_begin;
    int64_t n_rows;
    size_t row_bytes;
    unsigned char *out; /* [n_rows * row_bytes] */
    float *scratch;     /* [n_threads][scratch_stride] */
    int64_t scratch_stride;
    ifn_status *statuses; /* [n_threads] */
} fill_task;

/* Row `row` of a tensor in float32: ones for norms, else approximately normal noise (a sum of
 * four 16-bit uniforms, mean 0, std WEIGHT_STD) from a generator seeded by tensor and row. */
static void generate_row(const synth_tensor *t, int64_t row, float *out) {
    if (t->is_norm) {
        for (int64_t i = 0; i < t->ne0; i++)
            out[i] = 1.0f;
        return;
    }
    ifn_rng rng;
    ifn_rng_seed(&rng, t->seed ^ mix64((uint64_t)row + 1));
    /* each 16-bit uniform has variance 65536^2 / 12; four of them 65536^2 / 3 */
    const float scale = WEIGHT_STD * 1.7320508f / 65536.0f;
    for (int64_t i = 0; i < t->ne0; i++) {
        uint64_t u = ifn_rng_next_u64(&rng);
        uint32_t sum = (uint32_t)(u & 0xFFFF) + (uint32_t)((u >> 16) & 0xFFFF) +
                       (uint32_t)((u >> 32) & 0xFFFF) + (uint32_t)(u >> 48);
        out[i] = ((float)sum - 131070.0f) * scale;
    }
}

static void fill_rows(void *arg, int thread_index, int n_threads) {
    fill_task *task = arg;
    float *row = task->scratch + (size_t)thread_index * (size_t)task->scratch_stride;
    int64_t begin, end;
    ifn_pool_split(task->n_rows, 1, thread_index, n_threads, &begin, &end);
    for (int64_t r = begin; r < end; r++) {
        generate_row(task->tensor, task->row_begin + r, row);
        ifn_status st = ifn_quant_row(task->tensor->type, row,
                                      task->out + (size_t)r * task->row_bytes, task->tensor->ne0);
        if (st != IFN_OK) task->statuses[thread_index] = st;
    }
}

typedef struct progress {
    int is_tty;
    size_t total_bytes;
    size_t done_bytes;
    int last_percent;
} progress;

static void progress_add(progress *p, size_t bytes) {
    p->done_bytes += bytes;
    int percent =
        p->total_bytes ? (int)((double)p->done_bytes * 100.0 / (double)p->total_bytes) : 100;
    if (!p->is_tty || percent == p->last_percent) return;
    p->last_percent = percent;
    fprintf(stderr, "\rsynth: %3d%% (%.0f of %.0f MB)", percent, (double)p->done_bytes / 1e6,
            (double)p->total_bytes / 1e6);
    fflush(stderr);
}

typedef struct synth_run {
    ifn_gguf_writer *writer;
    ifn_pool *pool;
    unsigned char *chunk; /* [CHUNK_BYTES + largest row] */
    fill_task task;
    progress progress;
} synth_run;

static ifn_status write_tensor_data(synth_run *r, const synth_tensor *t) {
    size_t row_bytes = ifn_dtype_row_bytes(t->type, t->ne0);
    int64_t rows_per_chunk = row_bytes >= CHUNK_BYTES ? 1 : (int64_t)(CHUNK_BYTES / row_bytes);
    for (int64_t row = 0; row < t->ne1; row += rows_per_chunk) {
        fill_task *task = &r->task;
        task->tensor = t;
        task->row_begin = row;
        task->n_rows = t->ne1 - row < rows_per_chunk ? t->ne1 - row : rows_per_chunk;
        task->row_bytes = row_bytes;
        task->out = r->chunk;
        ifn_pool_run(r->pool, fill_rows, task);
        for (int i = 0; i < ifn_pool_size(r->pool); i++)
            if (task->statuses[i] != IFN_OK)
                return ifn_fail(task->statuses[i], "synth: encoding %s as %s failed", t->name,
                                ifn_dtype_get_info((uint32_t)t->type)->name);
        size_t bytes = (size_t)task->n_rows * row_bytes;
        ifn_status st = ifn_gguf_writer_write(r->writer, r->chunk, bytes);
        if (st != IFN_OK) return st;
        progress_add(&r->progress, bytes);
    }
    return IFN_OK;
}

static ifn_status write_weights(synth_run *r, const synth_tensor *tensors, int64_t n_tensors,
                                int n_threads) {
    int64_t max_ne0 = 0;
    size_t max_row = 0;
    for (int64_t i = 0; i < n_tensors; i++) {
        size_t row = ifn_dtype_row_bytes(tensors[i].type, tensors[i].ne0);
        max_ne0 = tensors[i].ne0 > max_ne0 ? tensors[i].ne0 : max_ne0;
        max_row = row > max_row ? row : max_row;
        r->progress.total_bytes += row * (size_t)tensors[i].ne1;
    }
    ifn_status st = ifn_pool_create(n_threads, &r->pool);
    if (st != IFN_OK) return st;
    int pool_threads = ifn_pool_size(r->pool);
    r->chunk = ifn_malloc(CHUNK_BYTES + max_row);
    r->task.scratch = ifn_malloc((size_t)pool_threads * (size_t)max_ne0 * sizeof(float));
    r->task.scratch_stride = max_ne0;
    r->task.statuses = ifn_calloc((size_t)pool_threads, sizeof(ifn_status));
    if (!r->chunk || !r->task.scratch || !r->task.statuses)
        return ifn_fail(IFN_E_NOMEM, "synth: no memory for %d threads' buffers", pool_threads);
    for (int64_t i = 0; i < n_tensors && st == IFN_OK; i++)
        st = write_tensor_data(r, &tensors[i]);
    if (r->progress.is_tty) fputs("\r\033[K", stderr);
    return st;
}

/* ---- command ---- */

static ifn_status build_metadata(ifn_gguf_writer *w, const synth_options *o, synth_shape *s,
                                 ifn_ftype ftype) {
    ifn_gguf *vocab = NULL;
    ifn_status st = IFN_OK;
    if (o->vocab_path) {
        int32_t n_vocab = 0;
        st = ifn_gguf_open(o->vocab_path, &vocab);
        if (st == IFN_OK) st = vocab_size_of(vocab, o->vocab_path, &n_vocab);
        if (st == IFN_OK && o->shape.n_vocab && o->shape.n_vocab != n_vocab)
            st = ifn_fail(IFN_E_INVALID, "--vocab %d disagrees with the %d tokens of %s",
                          o->shape.n_vocab, n_vocab, o->vocab_path);
        if (st != IFN_OK) goto out;
        s->n_vocab = n_vocab;
    }
    char name[96];
    if (o->preset)
        snprintf(name, sizeof name, "synth-%s", o->preset);
    else
        snprintf(name, sizeof name, "synth-d%d-l%d", (int)s->n_embd, (int)s->n_layer);
    st = add_hparams(w, s, name);
    if (st == IFN_OK) st = vocab ? copy_vocab(w, vocab) : add_spm_vocab(w, s->n_vocab);
    /* last, where llama-quantize puts them: then `synth --type T` writes exactly the file
     * llama-quantize makes from `synth --type F32` */
    if (st == IFN_OK) st = ifn_gguf_writer_set_u32(w, "general.quantization_version", 2);
    if (st == IFN_OK) st = ifn_gguf_writer_set_u32(w, "general.file_type", (uint32_t)ftype);
out:
    ifn_gguf_close(vocab);
    return st;
}

static ifn_status synth(const synth_options *o, const synth_shape *shape, ifn_ftype ftype) {
    synth_shape s = *shape;
    synth_run r = {0};
    synth_tensor *tensors = NULL;
    int64_t n_tensors = 0, start_ns = ifn_time_now_ns();
    ifn_status st = ifn_gguf_writer_create(&r.writer);
    if (st == IFN_OK) st = build_metadata(r.writer, o, &s, ftype);
    if (st != IFN_OK) goto out;
    tensors = ifn_calloc(3 + 9 * (size_t)s.n_layer, sizeof *tensors);
    if (!tensors) {
        st = ifn_fail(IFN_E_NOMEM, "synth: no memory for the tensor list");
        goto out;
    }
    n_tensors = list_tensors(&s, (uint64_t)o->seed, tensors);
    st = add_tensors(r.writer, &s, ftype, o->is_pure, tensors, n_tensors);
    if (st == IFN_OK) st = ifn_gguf_writer_open(r.writer, o->out_path);
    r.progress.is_tty = isatty(STDERR_FILENO);
    r.progress.last_percent = -1;
    if (st == IFN_OK) st = write_weights(&r, tensors, n_tensors, (int)o->n_threads);
    if (st == IFN_OK) st = ifn_gguf_writer_close(r.writer);
    if (st == IFN_OK)
        fprintf(stderr, "synth: wrote %s (%s, %lld tensors, %.1f MB) in %.1f s\n", o->out_path,
                ifn_ftype_name(ftype), (long long)n_tensors, (double)r.progress.total_bytes / 1e6,
                (double)(ifn_time_now_ns() - start_ns) / 1e9);
out:
    ifn_gguf_writer_destroy(r.writer); /* removes a half-written file */
    ifn_pool_destroy(r.pool);
    ifn_free(r.chunk);
    ifn_free(r.task.scratch);
    ifn_free(r.task.statuses);
    ifn_free(tensors);
    return st;
}

int ifn_cmd_synth_main(int argc, char **argv) {
    if (ifn_args_wants_help(argc, argv)) {
        print_synth_usage(stdout);
        return 0;
    }
    synth_options o = {.seed = 42};
    synth_shape shape = {0};
    ifn_ftype ftype = IFN_FTYPE_F32;
    ifn_status st = parse_options(argc, argv, &o);
    if (st == IFN_OK) st = resolve_shape(&o, &shape);
    if (st == IFN_OK) st = ifn_ftype_parse(o.type_name, &ftype);
    if (st != IFN_OK) {
        fprintf(stderr, "inferneo synth: %s\n", ifn_last_error());
        print_synth_usage(stderr);
        return 2;
    }
    st = synth(&o, &shape, ftype);
    if (st != IFN_OK) {
        fprintf(stderr, "inferneo synth: %s\n", ifn_last_error());
        return st == IFN_E_INVALID || st == IFN_E_UNSUPPORTED ? 2 : 1;
    }
    return 0;
}
