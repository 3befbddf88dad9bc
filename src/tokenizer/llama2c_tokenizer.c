/* llama2.c tokenizer.bin reader. Two passes over the mapped file: the first checks every entry
 * against the bytes left (so counts never exceed size / 8), the second converts texts into one
 * pool that ifn_vocab_create copies. Nothing from the file is trusted before it is checked. */
#include "tokenizer/llama2c_tokenizer.h"

#include <math.h>
#include <string.h>

#include "util/alloc.h"
#include "util/mmap.h"
#include "util/status.h"

#define ENTRY_HEADER_BYTES 8 /* f32 score + int32 length */
#define SPACE_MARK "\xe2\x96\x81"
#define SPACE_MARK_LEN 3

typedef struct entries {
    ifn_str *raw;  /* [n] views into the file */
    float *scores; /* [n] */
    int32_t n;
} entries;

static int32_t read_i32(const unsigned char *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static float read_f32(const unsigned char *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Walks one entry at *pos; fills text/score when non-NULL. */
static ifn_status read_entry(const unsigned char *data, size_t size, size_t *pos, int32_t id,
                             ifn_str *text, float *score) {
    if (size - *pos < ENTRY_HEADER_BYTES)
        return ifn_fail(IFN_E_FORMAT, "llama2c tokenizer: file ends inside the header of token %d",
                        (int)id);
    float s = read_f32(data + *pos);
    int32_t len = read_i32(data + *pos + 4);
    *pos += ENTRY_HEADER_BYTES;
    if (len < 0 || (size_t)len > size - *pos)
        return ifn_fail(IFN_E_FORMAT,
                        "llama2c tokenizer: token %d has length %d but %zu bytes remain", (int)id,
                        (int)len, size - *pos);
    if (!isfinite(s))
        return ifn_fail(IFN_E_FORMAT, "llama2c tokenizer: token %d has a non-finite score",
                        (int)id);
    if (text) *text = (ifn_str){(const char *)data + *pos, (size_t)len};
    if (score) *score = s;
    *pos += (size_t)len;
    return IFN_OK;
}

/* Number of tokens: `expected`, or as many as the file holds when expected <= 0. */
static ifn_status count_entries(const unsigned char *data, size_t size, int32_t expected,
                                int32_t *out_n) {
    size_t room = (size - 4) / ENTRY_HEADER_BYTES;
    if (expected > 0) {
        if ((size_t)expected > room)
            return ifn_fail(IFN_E_FORMAT,
                            "llama2c tokenizer: a %zu-byte file cannot hold %d tokens", size,
                            (int)expected);
        *out_n = expected;
        return IFN_OK;
    }
    size_t pos = 4;
    int32_t n = 0;
    while (pos < size) {
        ifn_status st = read_entry(data, size, &pos, n, NULL, NULL);
        if (st != IFN_OK) return st;
        n++;
    }
    *out_n = n;
    return IFN_OK;
}

static ifn_status parse_entries(const unsigned char *data, size_t size, int32_t expected,
                                entries *out) {
    if (size < 4) return ifn_fail(IFN_E_FORMAT, "llama2c tokenizer: file shorter than its header");
    if (read_i32(data) <= 0)
        return ifn_fail(IFN_E_FORMAT, "llama2c tokenizer: max_token_length %d is not positive",
                        (int)read_i32(data));
    ifn_status st = count_entries(data, size, expected, &out->n);
    if (st != IFN_OK) return st;
    if (out->n < 3)
        return ifn_fail(IFN_E_FORMAT, "llama2c tokenizer: %d tokens, need at least <unk> <s> </s>",
                        (int)out->n);
    out->raw = ifn_calloc((size_t)out->n, sizeof *out->raw);
    out->scores = ifn_calloc((size_t)out->n, sizeof *out->scores);
    if (!out->raw || !out->scores)
        return ifn_fail(IFN_E_NOMEM, "llama2c tokenizer: no memory for %d tokens", (int)out->n);
    size_t pos = 4;
    for (int32_t i = 0; i < out->n; i++) {
        st = read_entry(data, size, &pos, i, &out->raw[i], &out->scores[i]);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}

static int is_byte_token(ifn_str t) {
    static const char hex[] = "0123456789ABCDEFabcdef";
    return t.len == 6 && memcmp(t.ptr, "<0x", 3) == 0 && t.ptr[5] == '>' &&
           memchr(hex, t.ptr[3], sizeof hex - 1) && memchr(hex, t.ptr[4], sizeof hex - 1);
}

static const char *const g_fixed_names[3] = {"<unk>", "<s>", "</s>"};

static size_t converted_len(ifn_str raw) {
    size_t n = raw.len;
    for (size_t i = 0; i < raw.len; i++)
        n += raw.ptr[i] == ' ' ? SPACE_MARK_LEN - 1 : 0;
    return n;
}

/* Texts with spaces as U+2581 and fixed names for ids 0..2, in one pool owned by the caller. */
static ifn_status convert_texts(const entries *e, ifn_str *texts, int32_t *types, char **out_pool) {
    size_t total = 0;
    for (int32_t i = 3; i < e->n; i++)
        total += converted_len(e->raw[i]); /* <= 3x file size */
    char *pool = ifn_malloc(total + 1);
    if (!pool) return ifn_fail(IFN_E_NOMEM, "llama2c tokenizer: no memory for %zu bytes", total);
    char *dst = pool;
    for (int32_t i = 0; i < e->n; i++) {
        if (i < 3) {
            texts[i] = ifn_str_from_cstr(g_fixed_names[i]);
            types[i] = i == 0 ? IFN_TOKEN_TYPE_UNKNOWN : IFN_TOKEN_TYPE_CONTROL;
            continue;
        }
        ifn_str raw = e->raw[i];
        texts[i].ptr = dst;
        for (size_t k = 0; k < raw.len; k++) {
            if (raw.ptr[k] == ' ') {
                memcpy(dst, SPACE_MARK, SPACE_MARK_LEN);
                dst += SPACE_MARK_LEN;
            } else {
                *dst++ = raw.ptr[k];
            }
        }
        texts[i].len = (size_t)(dst - texts[i].ptr);
        types[i] = is_byte_token(raw) ? IFN_TOKEN_TYPE_BYTE : IFN_TOKEN_TYPE_NORMAL;
    }
    *out_pool = pool;
    return IFN_OK;
}

ifn_status ifn_llama2c_tokenizer_load_memory(const void *data, size_t size,
                                             int32_t expected_vocab_size, ifn_vocab **out_vocab) {
    entries e = {NULL, NULL, 0};
    ifn_str *texts = NULL;
    int32_t *types = NULL;
    char *pool = NULL;
    ifn_status st = parse_entries(data, size, expected_vocab_size, &e);
    if (st != IFN_OK) goto out;
    texts = ifn_calloc((size_t)e.n, sizeof *texts);
    types = ifn_calloc((size_t)e.n, sizeof *types);
    if (!texts || !types) {
        st = ifn_fail(IFN_E_NOMEM, "llama2c tokenizer: no memory for %d tokens", (int)e.n);
        goto out;
    }
    if ((st = convert_texts(&e, texts, types, &pool)) != IFN_OK) goto out;
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.kind = IFN_VOCAB_SPM;
    p.n_tokens = e.n;
    p.tokens = texts;
    p.scores = e.scores;
    p.token_types = types;
    p.unk_id = 0;
    p.bos_id = 1;
    p.eos_id = 2;
    p.add_bos = 1;          /* run.c's encode(..., bos=1, eos=0) */
    p.add_space_prefix = 1; /* run.c's dummy prefix, added only to non-empty text */
    st = ifn_vocab_create(&p, out_vocab);
out:
    ifn_free(pool);
    ifn_free(types);
    ifn_free(texts);
    ifn_free(e.scores);
    ifn_free(e.raw);
    return st;
}

ifn_status ifn_llama2c_tokenizer_load(const char *path, int32_t expected_vocab_size,
                                      ifn_vocab **out_vocab) {
    ifn_mmap map = {0};
    ifn_status st = ifn_mmap_open(path, &map);
    if (st != IFN_OK) return st;
    st = ifn_llama2c_tokenizer_load_memory(map.data, map.size, expected_vocab_size, out_vocab);
    ifn_mmap_close(&map);
    return st;
}
