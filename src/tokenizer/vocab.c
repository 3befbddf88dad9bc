/* Vocabulary construction, lookups and detokenization. ifn_vocab_create copies every token text
 * into one pool, indexes it by text, resolves per-kind defaults and applies llama.cpp's rules
 * for end-of-generation and control tokens (llama-vocab.cpp, "auto-detect special tokens").
 * Tokenization lives in vocab_tokenize.c, streaming detokenization in detok_stream.c. */
#include "tokenizer/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/vocab_internal.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/status.h"

#define SPACE_MARK "\xe2\x96\x81" /* U+2581, SentencePiece's word marker */
#define SPACE_MARK_LEN 3
#define EMPTY_NAME_MAX 32 /* "[EMPTY_2147483647]" plus NUL fits */

ifn_status ifn_token_vec_push(ifn_token_vec *vec, int32_t id) {
    if (vec->count == vec->capacity) {
        size_t capacity = vec->capacity ? vec->capacity * 2 : 16;
        size_t bytes;
        if (capacity < vec->capacity || !ifn_mul_size(capacity, sizeof *vec->ids, &bytes))
            return ifn_fail(IFN_E_NOMEM, "token_vec: %zu ids is too many", capacity);
        int32_t *ids = ifn_realloc(vec->ids, bytes);
        if (!ids) return ifn_fail(IFN_E_NOMEM, "token_vec: no memory for %zu ids", capacity);
        vec->ids = ids;
        vec->capacity = capacity;
    }
    vec->ids[vec->count++] = id;
    return IFN_OK;
}

void ifn_token_vec_free(ifn_token_vec *vec) {
    if (!vec) return;
    ifn_free(vec->ids);
    vec->ids = NULL;
    vec->count = 0;
    vec->capacity = 0;
}

void ifn_vocab_params_init(ifn_vocab_params *params) {
    memset(params, 0, sizeof *params);
    params->kind = IFN_VOCAB_SPM;
    params->bos_id = params->eos_id = params->eot_id = params->unk_id = -1;
    params->pad_id = params->sep_id = params->cls_id = params->mask_id = -1;
    params->add_bos = params->add_eos = params->add_space_prefix = -1;
}

/* ---- construction ------------------------------------------------------------------------ */

/* llama.cpp gives empty tokens a visible placeholder so every id keeps a distinct text. */
static size_t empty_name(int32_t id, char *out) {
    return (size_t)snprintf(out, EMPTY_NAME_MAX, "[EMPTY_%d]", (int)id);
}

static ifn_status copy_tokens(ifn_vocab *v, const ifn_vocab_params *p) {
    size_t n = (size_t)p->n_tokens, total = 0;
    char name[EMPTY_NAME_MAX];
    for (size_t i = 0; i < n; i++) {
        size_t len = p->tokens[i].len ? p->tokens[i].len : empty_name((int32_t)i, name);
        if (p->tokens[i].len && !p->tokens[i].ptr)
            return ifn_fail(IFN_E_INVALID, "vocab: token %zu has a length but no text", i);
        if (len > SIZE_MAX - 1 - total) return ifn_fail(IFN_E_NOMEM, "vocab: texts too large");
        total += len + 1;
    }
    v->text_pool = ifn_malloc(total);
    v->texts = ifn_calloc(n, sizeof *v->texts);
    v->scores = ifn_calloc(n, sizeof *v->scores);
    v->types = ifn_calloc(n, 1);
    v->eog = ifn_calloc(n, 1);
    if (!v->text_pool || !v->texts || !v->scores || !v->types || !v->eog)
        return ifn_fail(IFN_E_NOMEM, "vocab: no memory for %zu tokens", n);
    char *dst = v->text_pool;
    for (size_t i = 0; i < n; i++) {
        ifn_str src = p->tokens[i];
        if (src.len == 0) src = (ifn_str){name, empty_name((int32_t)i, name)};
        memcpy(dst, src.ptr, src.len);
        dst[src.len] = '\0';
        v->texts[i] = (ifn_str){dst, src.len};
        dst += src.len + 1;
        if (src.len > v->max_token_len) v->max_token_len = src.len;
        v->scores[i] = p->scores ? p->scores[i] : 0.0f;
        int32_t type = p->token_types ? p->token_types[i] : IFN_TOKEN_TYPE_NORMAL;
        /* llama.cpp maps unknown type values to UNDEFINED */
        if (type < IFN_TOKEN_TYPE_UNDEFINED || type > IFN_TOKEN_TYPE_BYTE)
            type = IFN_TOKEN_TYPE_UNDEFINED;
        v->types[i] = (unsigned char)type;
    }
    return IFN_OK;
}

/* Duplicate texts keep their first id: inserting from the last id down lets the lowest id
 * overwrite, with one probe per token. */
static ifn_status index_tokens(ifn_vocab *v) {
    ifn_status st = ifn_hashmap_create((size_t)v->n_tokens, &v->by_text);
    for (int32_t i = v->n_tokens - 1; i >= 0 && st == IFN_OK; i--)
        st = ifn_hashmap_put(v->by_text, v->texts[i].ptr, v->texts[i].len, i);
    if (st != IFN_OK) return st;
    size_t n_dup = (size_t)v->n_tokens - ifn_hashmap_count(v->by_text);
    if (n_dup) IFN_LOG_WARN("vocab", "duplicate token texts, first id kept count=%zu", n_dup);
    return IFN_OK;
}

static ifn_status check_special(const ifn_vocab *v, const char *name, int32_t id) {
    if (id < -1 || id >= v->n_tokens)
        return ifn_fail(IFN_E_INVALID, "vocab: %s id %d is outside [0, %d)", name, (int)id,
                        (int)v->n_tokens);
    return IFN_OK;
}

static ifn_status resolve_specials(ifn_vocab *v, const ifn_vocab_params *p) {
    const struct {
        const char *name;
        int32_t value;
        int32_t *dst;
    } ids[] = {
        {"bos", p->bos_id, &v->bos_id}, {"eos", p->eos_id, &v->eos_id},
        {"eot", p->eot_id, &v->eot_id}, {"unk", p->unk_id, &v->unk_id},
        {"pad", p->pad_id, &v->pad_id}, {"sep", p->sep_id, &v->sep_id},
        {"cls", p->cls_id, &v->cls_id}, {"mask", p->mask_id, &v->mask_id},
    };
    for (size_t i = 0; i < IFN_ARRAY_LEN(ids); i++) {
        ifn_status st = check_special(v, ids[i].name, ids[i].value);
        if (st != IFN_OK) return st;
        *ids[i].dst = ids[i].value;
    }
    if (v->kind == IFN_VOCAB_WPM) { /* BERT's CLS is what llama.cpp calls BOS */
        if (v->cls_id < 0) v->cls_id = v->bos_id;
        if (v->bos_id < 0) v->bos_id = v->cls_id;
    }
    /* -1 takes the kind's default, but never asks for a token the vocab lacks */
    int def_bos = v->kind != IFN_VOCAB_BPE, def_prefix = v->kind == IFN_VOCAB_SPM;
    v->add_bos = p->add_bos >= 0 ? p->add_bos != 0 : def_bos && v->bos_id >= 0;
    v->add_eos = p->add_eos >= 0 ? p->add_eos != 0 : 0;
    v->add_space_prefix = p->add_space_prefix >= 0 ? p->add_space_prefix != 0 : def_prefix;
    if (v->add_bos && v->bos_id < 0 && v->kind != IFN_VOCAB_WPM)
        return ifn_fail(IFN_E_INVALID, "vocab: add_bos is set but there is no bos id");
    if (v->add_eos && v->eos_id < 0)
        return ifn_fail(IFN_E_INVALID, "vocab: add_eos is set but there is no eos id");
    return IFN_OK;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Parses "<0xNN>"; -1 if the text has another shape. */
static int parse_byte_token(ifn_str text) {
    if (text.len != 6 || memcmp(text.ptr, "<0x", 3) != 0 || text.ptr[5] != '>') return -1;
    int hi = hex_value(text.ptr[3]), lo = hex_value(text.ptr[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* llama.cpp's byte_to_token for SPM: "<0xNN>" (upper-case hex), else the one-byte token. */
static void find_byte_tokens(ifn_vocab *v) {
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char name[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        char raw = (char)b;
        v->byte_ids[b] = ifn_vocab_find(v, name, sizeof name);
        if (v->byte_ids[b] < 0) v->byte_ids[b] = ifn_vocab_find(v, &raw, 1);
    }
}

/* Token texts llama.cpp recognises by name (llama-vocab.cpp, "auto-detect special tokens").
 * FW_BAR is the full-width vertical bar of DeepSeek's names. */
#define FW_BAR "\xef\xbd\x9c"
/* clang-format off */
static const char *const g_eot_names[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<" FW_BAR "end" SPACE_MARK "of" SPACE_MARK "sentence" FW_BAR ">",
    "<end_of_utterance>", NULL};
static const char *const g_fim_pre_names[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<" FW_BAR "fim" SPACE_MARK "begin" FW_BAR ">",
    "<PRE>", SPACE_MARK "<PRE>", "<|code_prefix|>", "<|prefix|>", NULL};
static const char *const g_fim_suf_names[] = {
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<" FW_BAR "fim" SPACE_MARK "hole" FW_BAR ">",
    "<SUF>", SPACE_MARK "<SUF>", "<|code_suffix|>", "<|suffix|>", NULL};
static const char *const g_fim_mid_names[] = {
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<" FW_BAR "fim" SPACE_MARK "end" FW_BAR ">",
    "<MID>", SPACE_MARK "<MID>", "<|code_middle|>", "<|middle|>", NULL};
static const char *const g_fim_pad_names[] = {
    "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
static const char *const g_fim_rep_names[] = {
    "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL};
static const char *const g_fim_sep_names[] = {"<|file_sep|>", NULL};
static const char *const g_eog_names[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<" FW_BAR "end" SPACE_MARK "of" SPACE_MARK "sentence" FW_BAR ">", "[e~[", NULL};
static const char *const g_always_user_names[] = {
    "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", NULL};
/* clang-format on */

static int32_t find_cstr(const ifn_vocab *v, const char *text) {
    return ifn_vocab_find(v, text, strlen(text));
}

/* llama.cpp ORs the CONTROL attribute into tokens it recognises by text. */
static void mark_control(ifn_vocab *v, int32_t id) {
    if (v->types[id] != IFN_TOKEN_TYPE_CONTROL && v->types[id] != IFN_TOKEN_TYPE_UNKNOWN)
        v->types[id] = IFN_TOKEN_TYPE_CONTROL;
}

/* Lowest id whose text is in `names` (llama.cpp takes whichever its hash map yields first). */
static int32_t first_named(const ifn_vocab *v, const char *const *names) {
    int32_t best = -1;
    for (size_t i = 0; names[i]; i++) {
        int32_t id = find_cstr(v, names[i]);
        if (id >= 0 && (best < 0 || id < best)) best = id;
    }
    return best;
}

/* Only tokens found by name get the CONTROL fix-up; ids given in the metadata keep their type. */
static void detect_named_tokens(ifn_vocab *v) {
    if (v->eot_id < 0) {
        v->eot_id = first_named(v, g_eot_names);
        if (v->eot_id >= 0) mark_control(v, v->eot_id);
    }
    const char *const *fim[] = {g_fim_pre_names, g_fim_suf_names, g_fim_mid_names,
                                g_fim_pad_names, g_fim_rep_names, g_fim_sep_names};
    for (size_t i = 0; i < IFN_ARRAY_LEN(fim); i++) {
        int32_t id = first_named(v, fim[i]);
        if (id < 0) continue;
        mark_control(v, id);
        if (i >= 3) v->eog[id] = 1; /* FIM pad, repo and file-separator tokens end generation */
    }
    for (size_t i = 0; g_eog_names[i]; i++) { /* includes <|eom_id|> */
        int32_t id = find_cstr(v, g_eog_names[i]);
        if (id < 0) continue;
        v->eog[id] = 1;
        mark_control(v, id);
    }
    for (size_t i = 0; g_always_user_names[i]; i++) {
        int32_t id = find_cstr(v, g_always_user_names[i]);
        if (id >= 0) v->types[id] = IFN_TOKEN_TYPE_USER_DEFINED;
    }
    if (v->eos_id >= 0) v->eog[v->eos_id] = 1;
    if (v->eot_id >= 0) v->eog[v->eot_id] = 1;
}

static int eog_named(const ifn_vocab *v, const char *text) {
    int32_t id = find_cstr(v, text);
    return id >= 0 && v->eog[id];
}

/* Two llama.cpp workarounds: harmony-style vocabs (<|return|>/<|call|>) use <|end|> between
 * messages, and Gemma 4 style vocabs (<|tool_response>) use </s> as ordinary text. */
static void apply_eog_workarounds(ifn_vocab *v) {
    int has_call = eog_named(v, "<|call|>") || eog_named(v, "<|calls|>");
    int32_t end = find_cstr(v, "<|end|>");
    if (end >= 0 && v->eog[end] && has_call &&
        (eog_named(v, "<|return|>") || eog_named(v, "<|flush|>"))) {
        v->eog[end] = 0;
        v->types[end] = IFN_TOKEN_TYPE_USER_DEFINED;
    }
    int32_t s_end = find_cstr(v, "</s>");
    if (s_end >= 0 && v->eog[s_end] && eog_named(v, "<|tool_response>")) {
        v->eog[s_end] = 0;
        v->types[s_end] = IFN_TOKEN_TYPE_NORMAL;
    }
}

/* BPE pre-tokenizers for which llama.cpp turns clean_spaces off. */
/* clang-format off */
static const char *const g_no_clean_pre[] = {
    "deepseek-llm", "deepseek-coder", "deepseek-v3", "spark2_5", "youtu", "command-r", "qwen2",
    "deepseek-r1-qwen", "kormo", "f2llmv2", "qwen35", "poro-chat", "viking", "tekken", "smollm",
    "chameleon", "gpt-4o", "llama4", "kanana2", "talkie", "granite-embed-multi-97m", "tiny_aya",
    "cohere2moe", "superbpe", "trillion", "granite-docling", "bailingmoe", "bailingmoe2",
    "llada-moe", "seed-coder", "hunyuan", "hunyuan-dense", "hy_v4", "joyai-llm", "kimi-k2",
    "ufakzeka", "grok-2", "afmoe", "laguna", "minimax-m2", "solar-open", "sarvam-moe", NULL};
/* clang-format on */

static int wants_clean_spaces(ifn_vocab_kind kind, const char *pre) {
    if (kind == IFN_VOCAB_WPM) return 1;
    if (kind != IFN_VOCAB_BPE) return 0;
    for (size_t i = 0; g_no_clean_pre[i]; i++)
        if (strcmp(pre, g_no_clean_pre[i]) == 0) return 0;
    return 1;
}

static ifn_status check_params(const ifn_vocab_params *p) {
    if (p->kind != IFN_VOCAB_SPM && p->kind != IFN_VOCAB_BPE && p->kind != IFN_VOCAB_WPM)
        return ifn_fail(IFN_E_INVALID, "vocab: unknown kind %d", (int)p->kind);
    if (p->n_tokens <= 0 || !p->tokens)
        return ifn_fail(IFN_E_INVALID, "vocab: a vocabulary needs at least one token");
    if (p->n_merges < 0 || (p->n_merges > 0 && !p->merges))
        return ifn_fail(IFN_E_INVALID, "vocab: bad merge list (%d merges)", (int)p->n_merges);
    return IFN_OK;
}

ifn_status ifn_vocab_create(const ifn_vocab_params *params, ifn_vocab **out_vocab) {
    ifn_vocab *v = NULL;
    ifn_status st = check_params(params);
    if (st != IFN_OK) goto out;
    v = ifn_calloc(1, sizeof *v);
    if (!v) {
        st = ifn_fail(IFN_E_NOMEM, "vocab: no memory");
        goto out;
    }
    v->kind = params->kind;
    v->n_tokens = params->n_tokens;
    v->pre = ifn_strndup(params->pre ? params->pre : "", params->pre ? strlen(params->pre) : 0);
    if (!v->pre) {
        st = ifn_fail(IFN_E_NOMEM, "vocab: no memory");
        goto out;
    }
    if ((st = copy_tokens(v, params)) != IFN_OK) goto out;
    if ((st = index_tokens(v)) != IFN_OK) goto out;
    if ((st = resolve_specials(v, params)) != IFN_OK) goto out;
    find_byte_tokens(v);
    detect_named_tokens(v);
    apply_eog_workarounds(v);
    v->clean_spaces = wants_clean_spaces(v->kind, v->pre);
    if ((st = ifn_vocab_tokenize_build_matcher(v)) != IFN_OK) goto out;
    if (v->kind == IFN_VOCAB_SPM && (st = ifn_spm_index_pairs(v)) != IFN_OK) goto out;
    if (v->kind == IFN_VOCAB_BPE) {
        st = ifn_bpe_create(v, v->pre, params->merges, params->n_merges, &v->bpe);
        if (st != IFN_OK) goto out;
    }
    *out_vocab = v;
    v = NULL;
out:
    ifn_vocab_destroy(v);
    return st;
}

void ifn_vocab_destroy(ifn_vocab *vocab) {
    if (!vocab) return;
    ifn_bpe_destroy(vocab->bpe);
    ifn_free(vocab->spm_pair_bits);
    ifn_hashmap_destroy(vocab->by_text);
    ifn_free(vocab->trie);
    ifn_free(vocab->special_ids);
    ifn_free(vocab->pre);
    ifn_free(vocab->eog);
    ifn_free(vocab->types);
    ifn_free(vocab->scores);
    ifn_free(vocab->texts);
    ifn_free(vocab->text_pool);
    ifn_free(vocab);
}

/* ---- accessors --------------------------------------------------------------------------- */

ifn_vocab_kind ifn_vocab_get_kind(const ifn_vocab *vocab) {
    return vocab->kind;
}
int32_t ifn_vocab_size(const ifn_vocab *vocab) {
    return vocab->n_tokens;
}
int32_t ifn_vocab_bos(const ifn_vocab *vocab) {
    return vocab->bos_id;
}
int32_t ifn_vocab_eos(const ifn_vocab *vocab) {
    return vocab->eos_id;
}
int32_t ifn_vocab_eot(const ifn_vocab *vocab) {
    return vocab->eot_id;
}
int32_t ifn_vocab_unk(const ifn_vocab *vocab) {
    return vocab->unk_id;
}
int ifn_vocab_adds_bos(const ifn_vocab *vocab) {
    return vocab->add_bos;
}
int ifn_vocab_adds_space_prefix(const ifn_vocab *vocab) {
    return vocab->add_space_prefix;
}

int ifn_vocab_is_eog(const ifn_vocab *vocab, int32_t id) {
    return id >= 0 && id < vocab->n_tokens && vocab->eog[id];
}

ifn_str ifn_vocab_token_text(const ifn_vocab *vocab, int32_t id) {
    IFN_ASSERT(id >= 0 && id < vocab->n_tokens);
    return vocab->texts[id];
}

float ifn_vocab_token_score(const ifn_vocab *vocab, int32_t id) {
    IFN_ASSERT(id >= 0 && id < vocab->n_tokens);
    return vocab->scores[id];
}

ifn_token_type ifn_vocab_token_type(const ifn_vocab *vocab, int32_t id) {
    IFN_ASSERT(id >= 0 && id < vocab->n_tokens);
    return (ifn_token_type)vocab->types[id];
}

int32_t ifn_vocab_find(const ifn_vocab *vocab, const char *text, size_t len) {
    int32_t id;
    if (len > vocab->max_token_len) return -1;
    return ifn_hashmap_get(vocab->by_text, text, len, &id) ? id : -1;
}

/* ---- pieces and detokenization ----------------------------------------------------------- */

/* Copies src with every U+2581 turned into a space, dropping one leading space if `strip`.
 * Writes min(cap, full) bytes; returns the full length. */
static size_t copy_unescaped(ifn_str src, int strip, char *buf, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < src.len;) {
        char c = src.ptr[i];
        size_t step = 1;
        if (i + SPACE_MARK_LEN <= src.len && memcmp(src.ptr + i, SPACE_MARK, SPACE_MARK_LEN) == 0) {
            c = ' ';
            step = SPACE_MARK_LEN;
        }
        i += step;
        if (strip && n == 0 && c == ' ') {
            strip = 0;
            continue;
        }
        strip = 0;
        if (n < cap) buf[n] = c;
        n++;
    }
    return n;
}

/* BPE: undo the byte-to-unicode mapping through bpe.c, then strip. */
static ifn_status copy_bpe_bytes(ifn_str src, int strip, char *buf, size_t cap, size_t *out_len) {
    char local[256];
    char *tmp = local;
    size_t full = 0;
    ifn_bpe_token_to_bytes(src.ptr, src.len, local, sizeof local, &full);
    if (full > sizeof local) {
        tmp = ifn_malloc(full);
        if (!tmp) return ifn_fail(IFN_E_NOMEM, "vocab: no memory for a %zu-byte piece", full);
        ifn_bpe_token_to_bytes(src.ptr, src.len, tmp, full, &full);
    }
    size_t skip = strip && full > 0 && tmp[0] == ' ';
    size_t n = full - skip;
    if (cap > 0) memcpy(buf, tmp + skip, n < cap ? n : cap);
    if (tmp != local) ifn_free(tmp);
    *out_len = n;
    return IFN_OK;
}

static size_t copy_raw(ifn_str src, int strip, char *buf, size_t cap) {
    size_t skip = strip && src.len > 0 && src.ptr[0] == ' ';
    size_t n = src.len - skip;
    if (cap > 0 && n > 0) memcpy(buf, src.ptr + skip, n < cap ? n : cap);
    return n;
}

/* Follows llama.cpp's token_to_piece: control and unknown tokens render only with
 * RENDER_SPECIAL, user-defined tokens as stored, unused/undefined ones as nothing.
 * Writes min(cap, full length) bytes. */
ifn_status ifn_vocab_token_to_piece(const ifn_vocab *vocab, int32_t id, int flags, char *buf,
                                    size_t cap, size_t *out_len) {
    if (id < 0 || id >= vocab->n_tokens)
        return ifn_fail(IFN_E_INVALID, "vocab: token id %d is outside [0, %d)", (int)id,
                        (int)vocab->n_tokens);
    ifn_str text = vocab->texts[id];
    int strip = (flags & IFN_DETOKENIZE_STRIP_LEADING) != 0;
    int byte;
    switch ((ifn_token_type)vocab->types[id]) {
    case IFN_TOKEN_TYPE_CONTROL:
    case IFN_TOKEN_TYPE_UNKNOWN:
        *out_len = flags & IFN_DETOKENIZE_RENDER_SPECIAL ? copy_raw(text, strip, buf, cap) : 0;
        return IFN_OK;
    case IFN_TOKEN_TYPE_USER_DEFINED:
        *out_len = copy_raw(text, strip, buf, cap);
        return IFN_OK;
    case IFN_TOKEN_TYPE_NORMAL:
        if (vocab->kind == IFN_VOCAB_BPE) return copy_bpe_bytes(text, strip, buf, cap, out_len);
        *out_len = copy_unescaped(text, strip, buf, cap);
        return IFN_OK;
    case IFN_TOKEN_TYPE_BYTE:
        byte = parse_byte_token(text);
        if (byte < 0) {
            *out_len = copy_raw(text, strip, buf, cap);
        } else if (strip && byte == ' ') {
            *out_len = 0;
        } else {
            if (cap > 0) buf[0] = (char)byte;
            *out_len = 1;
        }
        return IFN_OK;
    default:
        *out_len = 0;
        return IFN_OK;
    }
}

/* llama.cpp's clean_spaces passes: " ?" " !" " ." " ," lose the space, a lone apostrophe
 * between spaces loses both, and " 's" " 'm" " 're" " 've" lose the space. */
static size_t clean_spaces(char *t, size_t total) {
    size_t n = total ? 1 : 0;
    for (size_t i = 1; i < total; i++) {
        char x = t[i];
        if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) n--;
        t[n++] = x;
    }
    total = n;
    n = total ? 1 : 0;
    for (size_t i = 1; i < total; i++) {
        char x = t[i];
        if (x == '\'' && i + 1 < total && t[i - 1] == ' ' && t[i + 1] == ' ') {
            n--;
            t[++i] = '\0';
        }
        t[n++] = x;
    }
    total = n;
    n = total ? 1 : 0;
    for (size_t i = 1; i < total; i++) {
        char x = t[i];
        if (t[i - 1] == ' ' && x == '\'' && i + 1 < total) {
            char x1 = t[i + 1], x2 = i + 2 < total ? t[i + 2] : '\0';
            if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) n--;
        }
        t[n++] = x;
    }
    return n;
}

static ifn_status grow_text(char **text, size_t *cap, size_t need) {
    size_t new_cap = *cap * 2 > need ? *cap * 2 : need;
    char *grown = ifn_realloc(*text, new_cap);
    if (!grown) return ifn_fail(IFN_E_NOMEM, "vocab: no memory for %zu bytes of text", new_cap);
    *text = grown;
    *cap = new_cap;
    return IFN_OK;
}

/* The leading-space strip goes to the first token, or to the second when the first is BOS. */
ifn_status ifn_vocab_detokenize(const ifn_vocab *vocab, const int32_t *ids, size_t n_ids, int flags,
                                char **out_text, size_t *out_len) {
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= vocab->n_tokens)
            return ifn_fail(IFN_E_INVALID, "vocab: token %zu has id %d outside [0, %d)", i,
                            (int)ids[i], (int)vocab->n_tokens);
    size_t cap = n_ids < 1024 ? 64 + n_ids * 8 : n_ids * 4, len = 0;
    char *text = ifn_malloc(cap);
    if (!text) return ifn_fail(IFN_E_NOMEM, "vocab: no memory for %zu bytes of text", cap);
    int strip_pending = (flags & IFN_DETOKENIZE_STRIP_LEADING) && vocab->add_space_prefix;
    int piece_flags = flags & IFN_DETOKENIZE_RENDER_SPECIAL;
    ifn_status st = IFN_OK;
    for (size_t i = 0; i < n_ids && st == IFN_OK; i++) {
        int f = piece_flags;
        if (strip_pending && !(i == 0 && ids[0] == vocab->bos_id)) {
            f |= IFN_DETOKENIZE_STRIP_LEADING;
            strip_pending = 0;
        }
        size_t piece_len;
        st = ifn_vocab_token_to_piece(vocab, ids[i], f, text + len, cap - 1 - len, &piece_len);
        if (st == IFN_OK && piece_len > cap - 1 - len) {
            st = grow_text(&text, &cap, len + piece_len + 1);
            if (st == IFN_OK)
                st = ifn_vocab_token_to_piece(vocab, ids[i], f, text + len, cap - 1 - len,
                                              &piece_len);
        }
        len += piece_len;
    }
    if (st != IFN_OK) {
        ifn_free(text);
        return st;
    }
    if ((flags & IFN_DETOKENIZE_CLEAN_SPACES) && vocab->clean_spaces) len = clean_spaces(text, len);
    text[len] = '\0';
    *out_text = text;
    *out_len = len;
    return IFN_OK;
}
