/* tokenizer.ggml.* metadata -> ifn_vocab_params -> ifn_vocab. Follows llama.cpp's
 * llama_vocab::load for defaults and leniency (bad special ids fall back to the default with a
 * warning) and is strict about types: a key of the wrong type is an error naming the key.
 * Token texts and merges are passed as views into the GGUF map; ifn_vocab_create copies them. */
#include "engine/vocab_gguf.h"

#include <string.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/status.h"

#define KEY_PREFIX "tokenizer.ggml."

typedef struct loaded {
    ifn_vocab_params params;
    char *pre;      /* NUL-terminated copy of tokenizer.ggml.pre, or NULL */
    float *scores;  /* [n_tokens] or NULL */
    int32_t *types; /* [n_tokens] or NULL */
} loaded;

static int str_is(ifn_str s, const char *text) {
    return s.ptr && ifn_str_eq_cstr(s, text);
}

static ifn_status read_kind(const ifn_gguf *g, ifn_vocab_kind *out) {
    ifn_str model;
    ifn_status st = ifn_gguf_get_string(g, KEY_PREFIX "model", &model);
    if (st != IFN_OK) return st;
    if (!model.ptr || str_is(model, "no_vocab") || str_is(model, "none"))
        return ifn_fail(IFN_E_UNSUPPORTED,
                        "gguf vocab: the file has no tokenizer (" KEY_PREFIX "model is %s)",
                        model.ptr ? "\"none\"" : "missing");
    if (str_is(model, "llama"))
        *out = IFN_VOCAB_SPM;
    else if (str_is(model, "gpt2"))
        *out = IFN_VOCAB_BPE;
    else if (str_is(model, "bert"))
        *out = IFN_VOCAB_WPM;
    else
        return ifn_fail(IFN_E_UNSUPPORTED,
                        "gguf vocab: tokenizer model \"%.*s\" (" KEY_PREFIX "model) is not "
                        "supported; supported: llama, gpt2, bert",
                        (int)(model.len > 64 ? 64 : model.len), model.ptr);
    return IFN_OK;
}

/* The array at `key`, checking its element type against `allowed` (a mask of 1 << type).
 * *out_found = 0 when the key is absent. */
static ifn_status find_array(const ifn_gguf *g, const char *key, unsigned allowed,
                             ifn_gguf_array *out, int *out_found) {
    const ifn_gguf_kv *kv = ifn_gguf_find(g, key);
    *out_found = kv != NULL;
    if (!kv) return IFN_OK;
    if (kv->value.type != IFN_GGUF_TYPE_ARRAY)
        return ifn_fail(IFN_E_FORMAT, "gguf vocab: %s must be an array, found %s", key,
                        ifn_gguf_type_name(kv->value.type));
    *out = kv->value.as.arr;
    if ((unsigned)out->elem_type >= 32 || !(allowed & (1u << out->elem_type)))
        return ifn_fail(IFN_E_FORMAT, "gguf vocab: %s has elements of type %s", key,
                        ifn_gguf_type_name(out->elem_type));
    return IFN_OK;
}

static ifn_status read_tokens(const ifn_gguf *g, ifn_vocab_params *p) {
    const char *key = KEY_PREFIX "tokens";
    ifn_gguf_array arr;
    int found;
    ifn_status st = find_array(g, key, 1u << IFN_GGUF_TYPE_STRING, &arr, &found);
    if (st != IFN_OK) return st;
    if (!found) return ifn_fail(IFN_E_FORMAT, "gguf vocab: %s is missing", key);
    if (arr.count == 0 || arr.count > INT32_MAX)
        return ifn_fail(IFN_E_FORMAT, "gguf vocab: %s has %llu entries", key,
                        (unsigned long long)arr.count);
    p->tokens = arr.strs;
    p->n_tokens = (int32_t)arr.count;
    return IFN_OK;
}

/* Optional numeric array of at least n_tokens elements; *out stays NULL when absent. */
static ifn_status read_numbers(const ifn_gguf *g, const char *key, unsigned allowed, int32_t n,
                               ifn_gguf_array *arr, int *found) {
    ifn_status st = find_array(g, key, allowed, arr, found);
    if (st != IFN_OK || !*found) return st;
    if (arr->count < (uint64_t)n)
        return ifn_fail(IFN_E_FORMAT, "gguf vocab: %s has %llu entries for %d tokens", key,
                        (unsigned long long)arr->count, (int)n);
    return IFN_OK;
}

static ifn_status read_scores(const ifn_gguf *g, loaded *l) {
    const char *key = KEY_PREFIX "scores";
    unsigned allowed =
        1u << IFN_GGUF_TYPE_FLOAT32 | 1u << IFN_GGUF_TYPE_INT32 | 1u << IFN_GGUF_TYPE_FLOAT64;
    int32_t n = l->params.n_tokens;
    ifn_gguf_array arr;
    int found;
    ifn_status st = read_numbers(g, key, allowed, n, &arr, &found);
    if (st != IFN_OK || !found) return st;
    l->scores = ifn_malloc((size_t)n * sizeof *l->scores);
    if (!l->scores) return ifn_fail(IFN_E_NOMEM, "gguf vocab: no memory for %d scores", (int)n);
    for (int32_t i = 0; i < n; i++) {
        double v;
        if ((st = ifn_gguf_array_float(&arr, (uint64_t)i, &v)) != IFN_OK) return st;
        l->scores[i] = (float)v;
    }
    l->params.scores = l->scores;
    return IFN_OK;
}

static ifn_status read_types(const ifn_gguf *g, loaded *l) {
    const char *key = KEY_PREFIX "token_type";
    unsigned allowed = 1u << IFN_GGUF_TYPE_INT32 | 1u << IFN_GGUF_TYPE_UINT32 |
                       1u << IFN_GGUF_TYPE_INT8 | 1u << IFN_GGUF_TYPE_UINT8;
    int32_t n = l->params.n_tokens;
    ifn_gguf_array arr;
    int found;
    ifn_status st = read_numbers(g, key, allowed, n, &arr, &found);
    if (st != IFN_OK || !found) return st;
    l->types = ifn_malloc((size_t)n * sizeof *l->types);
    if (!l->types) return ifn_fail(IFN_E_NOMEM, "gguf vocab: no memory for %d types", (int)n);
    for (int32_t i = 0; i < n; i++) {
        int64_t v;
        if ((st = ifn_gguf_array_int(&arr, (uint64_t)i, &v)) != IFN_OK) return st;
        l->types[i] = v >= 0 && v <= IFN_TOKEN_TYPE_BYTE ? (int32_t)v : IFN_TOKEN_TYPE_UNDEFINED;
    }
    l->params.token_types = l->types;
    return IFN_OK;
}

static ifn_status read_merges(const ifn_gguf *g, loaded *l) {
    const char *key = KEY_PREFIX "merges";
    ifn_gguf_array arr;
    int found;
    ifn_status st = find_array(g, key, 1u << IFN_GGUF_TYPE_STRING, &arr, &found);
    if (st != IFN_OK) return st;
    if (!found) {
        /* Kimi-K2 tokenizes without merges; every other BPE vocab needs them (llama.cpp) */
        if (l->pre && strcmp(l->pre, "kimi-k2") == 0) return IFN_OK;
        return ifn_fail(IFN_E_FORMAT, "gguf vocab: %s is missing for a gpt2 tokenizer", key);
    }
    if (arr.count > INT32_MAX)
        return ifn_fail(IFN_E_FORMAT, "gguf vocab: %s has too many entries", key);
    l->params.merges = arr.strs;
    l->params.n_merges = (int32_t)arr.count;
    return IFN_OK;
}

static int pre_is_any(const char *pre, const char *const *names) {
    for (size_t i = 0; pre && names[i]; i++)
        if (strcmp(pre, names[i]) == 0) return 1;
    return 0;
}

/* llama.cpp's per-model default special ids (BPE's 11 is Falcon's <|endoftext|>). */
static void set_default_ids(loaded *l) {
    static const char *const no_bos_pre[] = {"glm4", "chatglm-bpe", NULL};
    ifn_vocab_params *p = &l->params;
    if (p->kind == IFN_VOCAB_SPM) {
        p->bos_id = 1;
        p->eos_id = 2;
        p->unk_id = 0;
    } else if (p->kind == IFN_VOCAB_BPE) {
        p->bos_id = pre_is_any(l->pre, no_bos_pre) ? -1 : 11;
        p->eos_id = 11;
    } else {
        p->bos_id = 101;
        p->unk_id = 100;
        p->sep_id = 102;
        p->pad_id = 0;
        p->mask_id = 103;
    }
}

/* A present id outside the vocab keeps the default, like llama.cpp ("bad special token"). */
static ifn_status read_special_ids(const ifn_gguf *g, loaded *l) {
    ifn_vocab_params *p = &l->params;
    struct {
        const char *key;
        int32_t *dst;
    } ids[] = {
        {KEY_PREFIX "bos_token_id", &p->bos_id},       {KEY_PREFIX "eos_token_id", &p->eos_id},
        {KEY_PREFIX "eot_token_id", &p->eot_id},       {KEY_PREFIX "unknown_token_id", &p->unk_id},
        {KEY_PREFIX "seperator_token_id", &p->sep_id}, {KEY_PREFIX "padding_token_id", &p->pad_id},
        {KEY_PREFIX "cls_token_id", &p->cls_id},       {KEY_PREFIX "mask_token_id", &p->mask_id},
    };
    set_default_ids(l);
    for (size_t i = 0; i < IFN_ARRAY_LEN(ids); i++) {
        int32_t *dst = ids[i].dst;
        if (*dst >= p->n_tokens) *dst = -1; /* a default the vocab is too small for */
        int64_t v;
        ifn_status st = ifn_gguf_get_int(g, ids[i].key, *dst, &v);
        if (st != IFN_OK) return st;
        if (v >= 0 && v < p->n_tokens) {
            *dst = (int32_t)v;
        } else if (v != *dst && v != -1 && v != (int64_t)UINT32_MAX) { /* -1: "none" */
            IFN_LOG_WARN("vocab",
                         "bad special token id, using the default key=%s id=%lld "
                         "default=%d",
                         ids[i].key, (long long)v, (int)*dst);
        }
    }
    return IFN_OK;
}

static ifn_status read_flag(const ifn_gguf *g, const char *key, int *dst) {
    int v;
    ifn_status st = ifn_gguf_get_bool(g, key, -1, &v);
    if (st != IFN_OK) return st;
    if (v >= 0) *dst = v != 0;
    return IFN_OK;
}

static ifn_status read_flags(const ifn_gguf *g, loaded *l) {
    /* BPE pre-tokenizers for which llama.cpp adds BOS unless the file says otherwise */
    static const char *const bos_pre[] = {"llama3",       "llama-v3", "llama-bpe", "falcon3",
                                          "falcon-h1",    "pixtral",  "midm-2.0",  "lfm2",
                                          "jina-v5-nano", "tekken",   "chameleon", NULL};
    ifn_vocab_params *p = &l->params;
    if (p->kind == IFN_VOCAB_BPE && pre_is_any(l->pre, bos_pre)) p->add_bos = 1;
    ifn_status st = read_flag(g, KEY_PREFIX "add_bos_token", &p->add_bos);
    if (st == IFN_OK) st = read_flag(g, KEY_PREFIX "add_eos_token", &p->add_eos);
    if (st == IFN_OK) st = read_flag(g, KEY_PREFIX "add_space_prefix", &p->add_space_prefix);
    return st;
}

static ifn_status read_pre(const ifn_gguf *g, loaded *l) {
    ifn_str pre;
    ifn_status st = ifn_gguf_get_string(g, KEY_PREFIX "pre", &pre);
    if (st != IFN_OK || !pre.ptr) return st;
    l->pre = ifn_strndup(pre.ptr, pre.len);
    if (!l->pre) return ifn_fail(IFN_E_NOMEM, "gguf vocab: no memory");
    if (strlen(l->pre) != pre.len)
        return ifn_fail(IFN_E_FORMAT, "gguf vocab: " KEY_PREFIX "pre contains a NUL byte");
    l->params.pre = l->pre;
    return IFN_OK;
}

ifn_status ifn_vocab_gguf_load(const ifn_gguf *gguf, ifn_vocab **out_vocab) {
    loaded l = {0};
    ifn_vocab_params_init(&l.params);
    ifn_status st = read_kind(gguf, &l.params.kind);
    if (st == IFN_OK) st = read_pre(gguf, &l);
    if (st == IFN_OK) st = read_tokens(gguf, &l.params);
    if (st == IFN_OK) st = read_scores(gguf, &l);
    if (st == IFN_OK) st = read_types(gguf, &l);
    if (st == IFN_OK && l.params.kind == IFN_VOCAB_BPE) st = read_merges(gguf, &l);
    if (st == IFN_OK) st = read_special_ids(gguf, &l);
    if (st == IFN_OK) st = read_flags(gguf, &l);
    if (st == IFN_OK) st = ifn_vocab_create(&l.params, out_vocab);
    ifn_free(l.types);
    ifn_free(l.scores);
    ifn_free(l.pre);
    return st;
}
