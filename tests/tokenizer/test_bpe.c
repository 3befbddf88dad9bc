/* Byte-level BPE tests: the GPT-2 byte mapping and its inverse, merge order on small hand-made
 * vocabularies, byte/UNK fallback, ignore_merges, the raw-UTF-8 (Gemma 4 style) family, the
 * llama.cpp vectors for gpt-2, starcoder and deepseek-coder both ways, and robustness (random
 * bytes and invalid UTF-8 round-trip exactly, 1 MB inputs finish quickly). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/gguf.h"
#include "support/shared.h"
#include "tokenizer/bpe.h"
#include "tokenizer/vocab.h"
#include "util/alloc.h"
#include "util/rng.h"

/* ---- vocabularies ------------------------------------------------------------------------ */

/* A BPE vocab (and our own ifn_bpe over it) from C strings; ids are array positions. */
typedef struct small_bpe {
    ifn_vocab *vocab;
    ifn_bpe *bpe;
} small_bpe;

static small_bpe make_small(const char *pre, const char *const *tokens, int32_t n_tokens,
                            const char *const *merges, int32_t n_merges, int32_t unk_id) {
    ifn_str tok[64], mer[64];
    assert_true(n_tokens <= 64 && n_merges <= 64);
    for (int32_t i = 0; i < n_tokens; i++)
        tok[i] = ifn_str_from_cstr(tokens[i]);
    for (int32_t i = 0; i < n_merges; i++)
        mer[i] = ifn_str_from_cstr(merges[i]);
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.kind = IFN_VOCAB_BPE;
    p.pre = pre;
    p.n_tokens = n_tokens;
    p.tokens = tok;
    p.n_merges = n_merges;
    p.merges = mer;
    p.unk_id = unk_id;
    small_bpe s = {0};
    assert_int_equal(ifn_vocab_create(&p, &s.vocab), IFN_OK);
    assert_int_equal(ifn_bpe_create(s.vocab, pre, mer, n_merges, &s.bpe), IFN_OK);
    return s;
}

static void free_small(small_bpe *s) {
    ifn_bpe_destroy(s->bpe);
    ifn_vocab_destroy(s->vocab);
}

/* Encodes a C string and compares with want[0..n). */
static void expect_ids(const ifn_bpe *bpe, const char *text, const int32_t *want, size_t n) {
    ifn_token_vec out = {0};
    assert_int_equal(ifn_bpe_encode(bpe, text, strlen(text), &out), IFN_OK);
    if (out.count != n) fprintf(stderr, "\"%s\": %zu ids, want %zu\n", text, out.count, n);
    assert_int_equal(out.count, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out.ids[i], want[i]);
    ifn_token_vec_free(&out);
}

#define EXPECT_IDS(bpe, text, ...)                                                                 \
    do {                                                                                           \
        static const int32_t want_[] = {__VA_ARGS__};                                              \
        expect_ids(bpe, text, want_, sizeof want_ / sizeof want_[0]);                              \
    } while (0)

/* A vocab loaded from a GGUF file of the shared vectors. */
typedef struct gguf_bpe {
    ifn_gguf *gguf;
    ifn_vocab *vocab;
    ifn_bpe *bpe;
    int32_t *types;
} gguf_bpe;

static int32_t gguf_id(const ifn_gguf *g, const char *key) {
    int64_t v = -1;
    assert_int_equal(ifn_gguf_get_int(g, key, -1, &v), IFN_OK);
    return (int32_t)v;
}

static ifn_gguf_array gguf_array(const ifn_gguf *g, const char *key) {
    ifn_gguf_array arr = {0};
    const ifn_gguf_kv *kv = ifn_gguf_find(g, key);
    if (kv) assert_int_equal(ifn_gguf_value_array(&kv->value, &arr), IFN_OK);
    return arr;
}

/* Loads ggml-vocab-<name>.gguf; returns 0 (test skipped) when the file is absent. */
static int load_gguf_bpe(const char *name, gguf_bpe *out) {
    char rel[256];
    snprintf(rel, sizeof rel, "vectors/tokenizer/ggml-vocab-%s.gguf", name);
    const char *path = shared_path(rel);
    if (!path) return 0;
    memset(out, 0, sizeof *out);
    assert_int_equal(ifn_gguf_open(path, &out->gguf), IFN_OK);
    ifn_gguf_array toks = gguf_array(out->gguf, "tokenizer.ggml.tokens");
    ifn_gguf_array types = gguf_array(out->gguf, "tokenizer.ggml.token_type");
    ifn_gguf_array merges = gguf_array(out->gguf, "tokenizer.ggml.merges");
    ifn_str pre = {0};
    assert_int_equal(ifn_gguf_get_string(out->gguf, "tokenizer.ggml.pre", &pre), IFN_OK);
    char pre_name[64] = "";
    snprintf(pre_name, sizeof pre_name, "%.*s", (int)pre.len, pre.ptr ? pre.ptr : "");
    out->types = calloc(toks.count, sizeof *out->types);
    for (uint64_t i = 0; i < types.count; i++) {
        int64_t t;
        assert_int_equal(ifn_gguf_array_int(&types, i, &t), IFN_OK);
        out->types[i] = (int32_t)t;
    }
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.kind = IFN_VOCAB_BPE;
    p.pre = pre_name;
    p.n_tokens = (int32_t)toks.count;
    p.tokens = toks.strs;
    p.token_types = types.count ? out->types : NULL;
    p.n_merges = (int32_t)merges.count;
    p.merges = merges.strs;
    p.bos_id = gguf_id(out->gguf, "tokenizer.ggml.bos_token_id");
    p.eos_id = gguf_id(out->gguf, "tokenizer.ggml.eos_token_id");
    p.unk_id = gguf_id(out->gguf, "tokenizer.ggml.unknown_token_id");
    assert_int_equal(ifn_vocab_create(&p, &out->vocab), IFN_OK);
    assert_int_equal(ifn_bpe_create(out->vocab, pre_name, merges.strs, p.n_merges, &out->bpe),
                     IFN_OK);
    return 1;
}

static void free_gguf_bpe(gguf_bpe *g) {
    ifn_bpe_destroy(g->bpe);
    ifn_vocab_destroy(g->vocab);
    ifn_gguf_close(g->gguf);
    free(g->types);
}

/* Bytes of ids: with `raw_specials`, user-defined/control tokens are their text (llama.cpp's
 * rule); every other token undoes the byte mapping. */
static char *decode_ids(const gguf_bpe *g, const int32_t *ids, size_t n, int raw_specials,
                        size_t *out_len) {
    size_t cap = 64, len = 0;
    char *text = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        ifn_str t = ifn_vocab_token_text(g->vocab, ids[i]);
        ifn_token_type type = ifn_vocab_token_type(g->vocab, ids[i]);
        size_t piece_len = t.len * 4;
        if (len + piece_len > cap) {
            cap = (len + piece_len) * 2;
            text = realloc(text, cap);
        }
        if (raw_specials &&
            (type == IFN_TOKEN_TYPE_USER_DEFINED || type == IFN_TOKEN_TYPE_CONTROL)) {
            memcpy(text + len, t.ptr, t.len);
            piece_len = t.len;
        } else {
            ifn_bpe_token_to_bytes(t.ptr, t.len, text + len, cap - len, &piece_len);
        }
        len += piece_len;
    }
    *out_len = len;
    return text;
}

/* ---- byte mapping ------------------------------------------------------------------------ */

static void expect_bytes(const char *token, const char *want, size_t want_len) {
    char buf[64];
    size_t n = 0;
    ifn_bpe_token_to_bytes(token, strlen(token), buf, sizeof buf, &n);
    assert_int_equal(n, want_len);
    assert_memory_equal(buf, want, want_len);
}

static void test_bpe_token_to_bytes_inverts_gpt2_mapping(void **state) {
    (void)state;
    expect_bytes("\xc4\xa0", " ", 1);    /* Ġ */
    expect_bytes("\xc4\x8a", "\n", 1);   /* Ċ */
    expect_bytes("\xc4\x80", "\0", 1);   /* Ā = byte 0 */
    expect_bytes("\xc4\xa1", "\x7f", 1); /* ġ = 0x7F */
    expect_bytes("\xc5\x82", "\xa0", 1); /* ł = 0xA0 */
    expect_bytes("\xc5\x83", "\xad", 1); /* Ń = 0xAD */
    expect_bytes("Hello", "Hello", 5);
    expect_bytes("\xc3\xa9", "\xe9", 1);             /* é stands for byte 0xE9 */
    expect_bytes("\xc3\x83\xc2\xa9", "\xc3\xa9", 2); /* Ã© = UTF-8 of é */
}

static void test_bpe_token_to_bytes_copies_unmapped_and_reports_full_length(void **state) {
    (void)state;
    expect_bytes("\xe2\x96\x81x", "\xe2\x96\x81x", 4); /* ▁ is outside the mapping */
    expect_bytes("\xc5\x84", "\xc5\x84", 2);           /* U+0144, one past the mapping */
    expect_bytes("a\xff"
                 "b",
                 "a\xff"
                 "b",
                 3); /* invalid UTF-8 copied byte by byte */
    char buf[2] = {0, 0};
    size_t n = 0;
    ifn_bpe_token_to_bytes("\xc4\xa0\xc4\xa0\xc4\xa0", 6, buf, sizeof buf, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "  ", 2);
    ifn_bpe_token_to_bytes("abc", 3, NULL, 0, &n);
    assert_int_equal(n, 3);
}

/* ---- merges on hand-made vocabularies ------------------------------------------------------ */

static void test_bpe_merges_apply_lowest_rank_first(void **state) {
    (void)state;
    const char *tokens[] = {"a", "b", "c", "ab", "bc", "abc"};
    const char *ab_first[] = {"a b", "ab c", "b c"};
    small_bpe s = make_small("gpt-2", tokens, 6, ab_first, 3, -1);
    EXPECT_IDS(s.bpe, "abc", 5);
    EXPECT_IDS(s.bpe, "cab", 2, 3);
    free_small(&s);
    const char *bc_first[] = {"b c", "a b", "ab c"};
    s = make_small("gpt-2", tokens, 6, bc_first, 3, -1);
    EXPECT_IDS(s.bpe, "abc", 0, 4); /* "a bc" is not a merge */
    free_small(&s);
}

static void test_bpe_equal_ranks_merge_leftmost_first(void **state) {
    (void)state;
    const char *tokens[] = {"a", "aa", "aaaa"};
    const char *merges[] = {"a a", "aa aa"};
    small_bpe s = make_small("gpt-2", tokens, 3, merges, 2, -1);
    EXPECT_IDS(s.bpe, "aaa", 1, 0);
    EXPECT_IDS(s.bpe, "aaaaa", 2, 0);
    EXPECT_IDS(s.bpe, "aaaaaaa", 2, 1, 0);
    free_small(&s);
}

static void test_bpe_spaces_and_newlines_use_mapped_characters(void **state) {
    (void)state;
    const char *tokens[] = {"a", "\xc4\xa0",
                            "\xc4\xa0"
                            "a",
                            "\xc4\x8a"};
    const char *merges[] = {"\xc4\xa0 a"};
    small_bpe s = make_small("gpt-2", tokens, 4, merges, 1, -1);
    EXPECT_IDS(s.bpe, "a a\n", 0, 2, 3);
    free_small(&s);
}

static void test_bpe_missing_symbol_falls_back_to_byte_tokens(void **state) {
    (void)state;
    /* the merge builds "ab", which the vocab lacks: emit "a", "b" instead */
    const char *tokens[] = {"a", "b", "x"};
    const char *merges[] = {"a b"};
    small_bpe s = make_small("gpt-2", tokens, 3, merges, 1, -1);
    EXPECT_IDS(s.bpe, "ab", 0, 1);
    free_small(&s);
}

static void test_bpe_bytes_without_token_are_dropped_not_unk(void **state) {
    (void)state;
    /* llama.cpp drops them: byte-level vocabs often name EOS as UNK */
    const char *tokens[] = {"a", "<unk>"};
    small_bpe s = make_small("gpt-2", tokens, 2, NULL, 0, 1);
    EXPECT_IDS(s.bpe, "a\xffz", 0);
    free_small(&s);
}

static void test_bpe_ignore_merges_emits_whole_pre_tokens(void **state) {
    (void)state;
    /* "hello" is a token but the merges cannot reach it */
    const char *tokens[] = {"h", "e", "l", "o", "he", "hello"};
    const char *merges[] = {"h e"};
    small_bpe s = make_small("llama3", tokens, 6, merges, 1, -1);
    EXPECT_IDS(s.bpe, "hello", 5);
    EXPECT_IDS(s.bpe, "hell", 4, 2, 2);
    free_small(&s);
    s = make_small("gpt-2", tokens, 6, merges, 1, -1);
    EXPECT_IDS(s.bpe, "hello", 4, 2, 2, 3);
    free_small(&s);
}

static void test_bpe_raw_utf8_family_escapes_spaces_and_uses_hex_bytes(void **state) {
    (void)state;
    const char *tokens[] = {"a",
                            "\xe2\x96\x81",
                            "\xe2\x96\x81"
                            "b",
                            "b",
                            "<0x7A>",
                            "\n\n",
                            "\n",
                            "\xc3\xa9"};
    const char *merges[] = {"\xe2\x96\x81 b"};
    small_bpe s = make_small("gemma4", tokens, 8, merges, 1, -1);
    EXPECT_IDS(s.bpe, "a b z", 0, 2, 1, 4);
    EXPECT_IDS(s.bpe, "\xc3\xa9\n\n", 7, 5); /* newline runs go whole when they are tokens */
    free_small(&s);
}

static void test_bpe_create_rejects_bad_merges_and_unknown_pre(void **state) {
    (void)state;
    const char *tokens[] = {"a", "b"};
    ifn_str tok[2] = {ifn_str_from_cstr(tokens[0]), ifn_str_from_cstr(tokens[1])};
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.kind = IFN_VOCAB_BPE;
    p.n_tokens = 2;
    p.tokens = tok;
    ifn_vocab *vocab = NULL;
    assert_int_equal(ifn_vocab_create(&p, &vocab), IFN_OK);
    ifn_bpe *bpe = NULL;
    ifn_str bad[1] = {ifn_str_from_cstr("ab")};
    assert_int_equal(ifn_bpe_create(vocab, "gpt-2", bad, 1, &bpe), IFN_E_FORMAT);
    assert_null(bpe);
    assert_int_equal(ifn_bpe_create(vocab, "nonesuch", NULL, 0, &bpe), IFN_E_UNSUPPORTED);
    assert_non_null(strstr(ifn_last_error(), "nonesuch"));
    assert_int_equal(ifn_bpe_create(vocab, NULL, NULL, 0, &bpe), IFN_OK); /* default */
    ifn_token_vec out = {0};
    assert_int_equal(ifn_bpe_encode(bpe, "", 0, &out), IFN_OK);
    assert_int_equal(out.count, 0);
    ifn_bpe_destroy(bpe);
    ifn_vocab_destroy(vocab);
}

static void test_bpe_allocation_failures_are_reported_and_leak_nothing(void **state) {
    (void)state;
    const char *tokens[] = {"a", "b", "ab", "\xc4\xa0",
                            "\xc4\xa0"
                            "ab"};
    const char *merges[] = {"a b", "\xc4\xa0 ab"};
    ifn_str tok[5], mer[2];
    for (int i = 0; i < 5; i++)
        tok[i] = ifn_str_from_cstr(tokens[i]);
    for (int i = 0; i < 2; i++)
        mer[i] = ifn_str_from_cstr(merges[i]);
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.kind = IFN_VOCAB_BPE;
    p.n_tokens = 5;
    p.tokens = tok;
    ifn_vocab *vocab = NULL;
    assert_int_equal(ifn_vocab_create(&p, &vocab), IFN_OK);
    size_t baseline = ifn_alloc_live_bytes();
    int saw_ok = 0;
    for (int64_t nth = 1; nth < 400 && !saw_ok; nth++) {
        ifn_bpe *bpe = NULL;
        ifn_token_vec out = {0};
        ifn_alloc_fail_after(nth);
        ifn_status st = ifn_bpe_create(vocab, "llama3", mer, 2, &bpe);
        if (st == IFN_OK) st = ifn_bpe_encode(bpe, "ab ab abab", 10, &out);
        ifn_alloc_fail_after(0);
        assert_true(st == IFN_OK || st == IFN_E_NOMEM);
        saw_ok = st == IFN_OK;
        if (saw_ok) assert_int_equal(out.count, 4); /* ab, Ġab, Ġab, ab */
        ifn_token_vec_free(&out);
        ifn_bpe_destroy(bpe);
        assert_int_equal(ifn_alloc_live_bytes(), baseline);
    }
    assert_true(saw_ok);
    ifn_vocab_destroy(vocab);
}

/* ---- llama.cpp vectors ------------------------------------------------------------------- */

/* Splits text on user-defined tokens the way llama.cpp does before BPE (longest token first,
 * each splitting every remaining raw fragment), then encodes the raw fragments. */
typedef struct fragment {
    size_t off, len;
    int32_t id; /* -1: raw text */
} fragment;

static const char *find_bytes(const char *hay, size_t hay_len, const char *needle, size_t n) {
    for (size_t i = 0; n && i + n <= hay_len; i++) {
        if (memcmp(hay + i, needle, n) == 0) return hay + i;
    }
    return NULL;
}

static void encode_with_user_tokens(const gguf_bpe *g, const char *text, size_t len,
                                    ifn_token_vec *out) {
    size_t cap = len * 2 + 2, n = 0;
    fragment *frags = calloc(cap, sizeof *frags);
    if (len) frags[n++] = (fragment){0, len, -1};
    int32_t n_tokens = ifn_vocab_size(g->vocab);
    /* user-defined ids sorted by text length, longest first, lower id first on ties */
    int32_t *ids = calloc((size_t)n_tokens, sizeof *ids);
    int32_t n_user = 0;
    for (int32_t id = 0; id < n_tokens; id++) {
        if (g->types[id] == IFN_TOKEN_TYPE_USER_DEFINED) ids[n_user++] = id;
    }
    for (int32_t i = 1; i < n_user; i++) {
        int32_t v = ids[i], j = i;
        size_t lv = ifn_vocab_token_text(g->vocab, v).len;
        while (j > 0 && ifn_vocab_token_text(g->vocab, ids[j - 1]).len < lv) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = v;
    }
    for (int32_t k = 0; k < n_user; k++) {
        ifn_str t = ifn_vocab_token_text(g->vocab, ids[k]);
        for (size_t f = 0; f < n; f++) {
            if (frags[f].id >= 0) continue;
            const char *start = text + frags[f].off;
            const char *hit = find_bytes(start, frags[f].len, t.ptr, t.len);
            if (!hit) continue;
            size_t before = (size_t)(hit - start), after = frags[f].len - before - t.len;
            assert_true(n + 2 <= cap);
            memmove(&frags[f + 3], &frags[f + 1], (n - f - 1) * sizeof *frags);
            n += 2;
            frags[f + 2] = (fragment){frags[f].off + before + t.len, after, -1};
            frags[f + 1] = (fragment){frags[f].off + before, t.len, ids[k]};
            frags[f].len = before;
        }
    }
    for (size_t f = 0; f < n; f++) {
        if (frags[f].id >= 0) {
            assert_int_equal(ifn_token_vec_push(out, frags[f].id), IFN_OK);
        } else if (frags[f].len > 0) {
            assert_int_equal(ifn_bpe_encode(g->bpe, text + frags[f].off, frags[f].len, out),
                             IFN_OK);
        }
    }
    free(ids);
    free(frags);
}

/* Runs every vector of one file; returns the number of failures (printed). */
static int run_vectors(const char *name) {
    gguf_bpe g;
    if (!load_gguf_bpe(name, &g)) {
        fprintf(stderr, "skip: no ggml-vocab-%s.gguf\n", name);
        return 0;
    }
    char rel[256];
    snprintf(rel, sizeof rel, "vectors/tokenizer/ggml-vocab-%s.gguf.inp", name);
    char *inp = read_whole_file(shared_path(rel), NULL);
    snprintf(rel, sizeof rel, "vectors/tokenizer/ggml-vocab-%s.gguf.out", name);
    char *outp = read_whole_file(shared_path(rel), NULL);
    assert_non_null(inp);
    assert_non_null(outp);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    int failures = 0, n_cases = 0;
    char *in_cur = inp, *out_cur = outp;
    static int want[65536];
    while (in_cur && out_cur) {
        char *in_end = strstr(in_cur, sep);
        char *out_end = strchr(out_cur, '\n');
        size_t in_len = in_end ? (size_t)(in_end - in_cur) : strlen(in_cur);
        if (out_end) *out_end = '\0';
        size_t n_want = parse_ints(out_cur, want, sizeof want / sizeof want[0]);
        ifn_token_vec got = {0};
        encode_with_user_tokens(&g, in_cur, in_len, &got);
        int same = got.count == n_want;
        for (size_t i = 0; same && i < n_want; i++)
            same = got.ids[i] == want[i];
        int32_t ids[4096];
        assert_true(n_want <= 4096);
        for (size_t i = 0; i < n_want; i++)
            ids[i] = want[i];
        size_t dec_len = 0;
        char *dec = decode_ids(&g, ids, n_want, 1, &dec_len);
        int round_trip = dec_len == in_len && memcmp(dec, in_cur, in_len) == 0;
        if (!same || !round_trip) {
            failures++;
            fprintf(stderr, "%s case %d \"%.*s\": %s%s\n  got ", name, n_cases,
                    (int)(in_len > 60 ? 60 : in_len), in_cur, same ? "" : "encode differs ",
                    round_trip ? "" : "decode differs");
            for (size_t i = 0; i < got.count; i++)
                fprintf(stderr, " %d", got.ids[i]);
            fprintf(stderr, "\n  want");
            for (size_t i = 0; i < n_want; i++)
                fprintf(stderr, " %d", want[i]);
            fprintf(stderr, "\n");
        }
        free(dec);
        ifn_token_vec_free(&got);
        n_cases++;
        in_cur = in_end ? in_end + strlen(sep) : NULL;
        out_cur = out_end ? out_end + 1 : NULL;
    }
    fprintf(stderr, "%s: %d cases, %d failed\n", name, n_cases, failures);
    assert_true(n_cases > 40);
    free(inp);
    free(outp);
    free_gguf_bpe(&g);
    return failures;
}

static void test_bpe_vectors_gpt2(void **state) {
    (void)state;
    assert_int_equal(run_vectors("gpt-2"), 0);
}

static void test_bpe_vectors_starcoder(void **state) {
    (void)state;
    assert_int_equal(run_vectors("starcoder"), 0);
}

static void test_bpe_vectors_deepseek_coder(void **state) {
    (void)state;
    assert_int_equal(run_vectors("deepseek-coder"), 0);
}

static void test_bpe_every_byte_is_one_gpt2_token_and_back(void **state) {
    (void)state;
    gguf_bpe g;
    if (!load_gguf_bpe("gpt-2", &g)) skip();
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        ifn_token_vec out = {0};
        assert_int_equal(ifn_bpe_encode(g.bpe, &c, 1, &out), IFN_OK);
        assert_int_equal(out.count, 1);
        size_t n = 0;
        char *dec = decode_ids(&g, out.ids, 1, 0, &n);
        assert_int_equal(n, 1);
        assert_int_equal((unsigned char)dec[0], b);
        free(dec);
        ifn_token_vec_free(&out);
    }
    free_gguf_bpe(&g);
}

/* ---- robustness -------------------------------------------------------------------------- */

/* 1 for each byte that BPE can represent (a lone byte encodes to at least one token). */
static void representable_bytes(const gguf_bpe *g, unsigned char *ok) {
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        ifn_token_vec out = {0};
        assert_int_equal(ifn_bpe_encode(g->bpe, &c, 1, &out), IFN_OK);
        ok[b] = out.count > 0;
        ifn_token_vec_free(&out);
    }
}

/* Plain BPE output decodes back byte for byte, less the bytes the vocab cannot represent
 * (deepseek-coder's user-defined "õ".."ÿ" are the byte characters for 0xF5..0xFF, so they too
 * go through the mapping here). */
static void expect_round_trip(const gguf_bpe *g, const char *text, size_t len) {
    unsigned char ok[256];
    representable_bytes(g, ok);
    ifn_token_vec out = {0};
    assert_int_equal(ifn_bpe_encode(g->bpe, text, len, &out), IFN_OK);
    size_t n = 0, kept = 0;
    char *dec = decode_ids(g, out.ids, out.count, 0, &n);
    char *want = malloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        if (ok[(unsigned char)text[i]]) want[kept++] = text[i];
    }
    assert_int_equal(n, kept);
    assert_memory_equal(dec, want, kept);
    free(want);
    free(dec);
    ifn_token_vec_free(&out);
}

static void test_bpe_random_bytes_and_invalid_utf8_round_trip(void **state) {
    (void)state;
    const char *names[] = {"gpt-2", "starcoder", "deepseek-coder"};
    ifn_rng rng;
    ifn_rng_seed(&rng, 99);
    char buf[4096];
    for (size_t k = 0; k < 3; k++) {
        gguf_bpe g;
        if (!load_gguf_bpe(names[k], &g)) continue;
        for (int round = 0; round < 50; round++) {
            size_t len = (size_t)(ifn_rng_next_u64(&rng) % sizeof buf);
            for (size_t i = 0; i < len; i++) {
                uint64_t r = ifn_rng_next_u64(&rng);
                buf[i] = (char)((r & 3) ? 0x20 + (r >> 8) % 0x60 : (r >> 8) & 0xff);
            }
            expect_round_trip(&g, buf, len);
        }
        expect_round_trip(&g, "\xff\xfe\xc3\x28\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82", 13);
        free_gguf_bpe(&g);
    }
}

static void test_bpe_one_megabyte_inputs_finish_quickly(void **state) {
    (void)state;
    gguf_bpe g;
    if (!load_gguf_bpe("gpt-2", &g)) skip();
    size_t len = 1 << 20;
    char *text = ifn_malloc(len);
    assert_non_null(text);
    static const char chunk[] =
        "The quick brown fox, 12345 times\n\t  jumps! \xc3\xa9t\xc3\xa9 \xf0\x9f\xa6\x99 ";
    clock_t t0 = clock();
    for (size_t i = 0; i < len; i++)
        text[i] = chunk[i % (sizeof chunk - 1)];
    expect_round_trip(&g, text, len);
    memset(text, 'a', len); /* one 1 MB pre-token: the merge heap must not go quadratic */
    expect_round_trip(&g, text, len);
    for (size_t i = 0; i < len; i++)
        text[i] = (char)("ab"[i % 2]);
    expect_round_trip(&g, text, len);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    fprintf(stderr, "3 x 1 MB encoded in %.2f s\n", secs);
    assert_true(secs < 30.0);
    ifn_free(text);
    free_gguf_bpe(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bpe_token_to_bytes_inverts_gpt2_mapping),
        cmocka_unit_test(test_bpe_token_to_bytes_copies_unmapped_and_reports_full_length),
        cmocka_unit_test(test_bpe_merges_apply_lowest_rank_first),
        cmocka_unit_test(test_bpe_equal_ranks_merge_leftmost_first),
        cmocka_unit_test(test_bpe_spaces_and_newlines_use_mapped_characters),
        cmocka_unit_test(test_bpe_missing_symbol_falls_back_to_byte_tokens),
        cmocka_unit_test(test_bpe_bytes_without_token_are_dropped_not_unk),
        cmocka_unit_test(test_bpe_ignore_merges_emits_whole_pre_tokens),
        cmocka_unit_test(test_bpe_raw_utf8_family_escapes_spaces_and_uses_hex_bytes),
        cmocka_unit_test(test_bpe_create_rejects_bad_merges_and_unknown_pre),
        cmocka_unit_test(test_bpe_allocation_failures_are_reported_and_leak_nothing),
        cmocka_unit_test(test_bpe_vectors_gpt2),
        cmocka_unit_test(test_bpe_vectors_starcoder),
        cmocka_unit_test(test_bpe_vectors_deepseek_coder),
        cmocka_unit_test(test_bpe_every_byte_is_one_gpt2_token_and_back),
        cmocka_unit_test(test_bpe_random_bytes_and_invalid_utf8_round_trip),
        cmocka_unit_test(test_bpe_one_megabyte_inputs_finish_quickly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
