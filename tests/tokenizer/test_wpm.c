/* WordPiece tests: greedy longest match with the GGUF "▁" word-start convention, all-or-nothing
 * UNK per word, BERT normalisation (lowercase, NFD + Mn stripping, control characters dropped,
 * punctuation and CJK isolated), invalid UTF-8, and the llama.cpp bert-bge vectors (encoding,
 * and decoding the expected ids re-encodes to the same ids). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/gguf.h"
#include "support/shared.h"
#include "tokenizer/vocab.h"
#include "tokenizer/wpm.h"
#include "util/alloc.h"
#include "util/rng.h"

#define W "\xe2\x96\x81" /* ▁ */

static ifn_vocab *make_vocab(const char *const *tokens, int32_t n, int32_t unk_id) {
    ifn_str tok[64];
    assert_true(n <= 64);
    for (int32_t i = 0; i < n; i++)
        tok[i] = ifn_str_from_cstr(tokens[i]);
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.kind = IFN_VOCAB_WPM;
    p.n_tokens = n;
    p.tokens = tok;
    p.unk_id = unk_id;
    ifn_vocab *v = NULL;
    assert_int_equal(ifn_vocab_create(&p, &v), IFN_OK);
    return v;
}

static void expect_ids(const ifn_vocab *v, const char *text, size_t len, const int32_t *want,
                       size_t n) {
    ifn_token_vec out = {0};
    assert_int_equal(ifn_wpm_encode(v, text, len, &out), IFN_OK);
    if (out.count != n) {
        fprintf(stderr, "\"%s\":", text);
        for (size_t i = 0; i < out.count; i++)
            fprintf(stderr, " %d", out.ids[i]);
        fprintf(stderr, " (want %zu ids)\n", n);
    }
    assert_int_equal(out.count, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out.ids[i], want[i]);
    ifn_token_vec_free(&out);
}

#define EXPECT_IDS(v, text, ...)                                                                   \
    do {                                                                                           \
        static const int32_t want_[] = {__VA_ARGS__};                                              \
        expect_ids(v, text, strlen(text), want_, sizeof want_ / sizeof want_[0]);                  \
    } while (0)

#define EXPECT_NO_IDS(v, text) expect_ids(v, text, strlen(text), NULL, 0)

/* 0 [UNK]  1 ▁un  2 ▁una  3 ff  4 able  5 ▁hello  6 ▁world  7 ▁,  8 ▁!  9 ▁cafe  10 ▁fuhrer
 * 11 ▁中  12 ▁文  13 ▁a  14 ▁b  15 ▁ab  16 cd  17 ▁$  18 ▁x  19 ▁ᄒ ᅡ ᆫ (한 decomposed) */
static const char *const k_tokens[] = {"[UNK]",
                                       W "un",
                                       W "una",
                                       "ff",
                                       "able",
                                       W "hello",
                                       W "world",
                                       W ",",
                                       W "!",
                                       W "cafe",
                                       W "fuhrer",
                                       W "\xe4\xb8\xad",
                                       W "\xe6\x96\x87",
                                       W "a",
                                       W "b",
                                       W "ab",
                                       "cd",
                                       W "$",
                                       W "x",
                                       W "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab"};

static void test_wpm_greedy_longest_match_with_word_start_mark(void **state) {
    (void)state;
    ifn_vocab *v = make_vocab(k_tokens, 20, 0);
    EXPECT_IDS(v, "unaffable", 2, 3, 4); /* ▁una + ff + able, not ▁un + ... */
    EXPECT_IDS(v, "hello world", 5, 6);
    EXPECT_IDS(v, "abcd", 15, 16);
    ifn_vocab_destroy(v);
}

static void test_wpm_word_without_full_match_is_one_unk(void **state) {
    (void)state;
    ifn_vocab *v = make_vocab(k_tokens, 20, 0);
    EXPECT_IDS(v, "unaffablez hello", 0, 5);
    EXPECT_IDS(v, "cd", 0); /* "cd" only exists as a continuation piece */
    ifn_vocab_destroy(v);
    v = make_vocab(k_tokens, 20, -1);
    EXPECT_IDS(v, "zzz hello", 5); /* no UNK in the vocab: nothing for the word */
    ifn_vocab_destroy(v);
}

static void test_wpm_words_over_100_characters_are_unk(void **state) {
    (void)state;
    ifn_vocab *v = make_vocab(k_tokens, 20, 0);
    char text[128];
    memset(text, 'x', 101);
    text[101] = '\0';
    const char *tokens[] = {"[UNK]", W "x", "x"};
    ifn_vocab *xs = make_vocab(tokens, 3, 0);
    EXPECT_IDS(xs, text, 0);
    text[100] = '\0';
    ifn_token_vec out = {0};
    assert_int_equal(ifn_wpm_encode(xs, text, 100, &out), IFN_OK);
    assert_int_equal(out.count, 100);
    ifn_token_vec_free(&out);
    ifn_vocab_destroy(xs);
    ifn_vocab_destroy(v);
}

static void test_wpm_lowercases_and_strips_accents(void **state) {
    (void)state;
    ifn_vocab *v = make_vocab(k_tokens, 20, 0);
    EXPECT_IDS(v, "HeLLo  WORLD", 5, 6);
    EXPECT_IDS(v, "Caf\xc3\xa9", 9);    /* é precomposed */
    EXPECT_IDS(v, "cafe\xcc\x81", 9);   /* e + combining acute */
    EXPECT_IDS(v, "F\xc3\xbchrer", 10); /* ü */
    EXPECT_IDS(v, "\xed\x95\x9c", 19);  /* Hangul syllable -> jamo (NFD) */
    ifn_vocab_destroy(v);
}

static void test_wpm_isolates_punctuation_symbols_and_cjk(void **state) {
    (void)state;
    ifn_vocab *v = make_vocab(k_tokens, 20, 0);
    EXPECT_IDS(v, "hello,world!", 5, 7, 6, 8);
    EXPECT_IDS(v, "a$b", 13, 17, 14); /* ASCII symbols split like punctuation */
    EXPECT_IDS(v,
               "a\xe4\xb8\xad\xe6\x96\x87"
               "b",
               13, 11, 12, 14);
    ifn_vocab_destroy(v);
}

static void test_wpm_drops_controls_and_splits_on_unicode_space(void **state) {
    (void)state;
    ifn_vocab *v = make_vocab(k_tokens, 20, 0);
    EXPECT_IDS(v,
               "a\x01"
               "b",
               15); /* control removed, word joined */
    EXPECT_IDS(v,
               "a\xe2\x80\x8d"
               "b",
               15); /* ZWJ (Cf) removed */
    EXPECT_IDS(v,
               "a\xef\xbf\xbd"
               "b",
               15); /* U+FFFD removed */
    EXPECT_IDS(v,
               "a\xe3\x80\x80"
               "b\xc2\x85"
               "a",
               13, 14, 13); /* U+3000, U+0085 */
    EXPECT_IDS(v, "\t\n a \r\n", 13);
    EXPECT_NO_IDS(v, " \t\n ");
    EXPECT_NO_IDS(v, "");
    ifn_vocab_destroy(v);
}

static void test_wpm_invalid_utf8_bytes_become_unk(void **state) {
    (void)state;
    ifn_vocab *v = make_vocab(k_tokens, 20, 0);
    EXPECT_IDS(v,
               "ab\xff"
               "ab",
               15, 0, 15);
    EXPECT_IDS(v, "a\xc3", 13, 0);          /* truncated sequence at the end */
    EXPECT_IDS(v, "\xed\xa0\x80", 0, 0, 0); /* surrogate: three bad bytes */
    ifn_vocab_destroy(v);
}

static void test_wpm_random_bytes_do_not_crash(void **state) {
    (void)state;
    ifn_vocab *v = make_vocab(k_tokens, 20, 0);
    ifn_rng rng;
    ifn_rng_seed(&rng, 7);
    char buf[1024];
    for (int round = 0; round < 200; round++) {
        size_t len = (size_t)(ifn_rng_next_u64(&rng) % sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)(ifn_rng_next_u64(&rng) & 0xff);
        ifn_token_vec out = {0};
        assert_int_equal(ifn_wpm_encode(v, buf, len, &out), IFN_OK);
        for (size_t i = 0; i < out.count; i++)
            assert_true(out.ids[i] >= 0 && out.ids[i] < 20);
        ifn_token_vec_free(&out);
    }
    ifn_vocab_destroy(v);
}

/* ---- bert-bge vectors ----------------------------------------------------------------------- */

static ifn_gguf_array gguf_array(const ifn_gguf *g, const char *key) {
    ifn_gguf_array arr = {0};
    const ifn_gguf_kv *kv = ifn_gguf_find(g, key);
    if (kv) assert_int_equal(ifn_gguf_value_array(&kv->value, &arr), IFN_OK);
    return arr;
}

static ifn_vocab *load_bert(ifn_gguf **out_gguf, int32_t **out_types) {
    const char *path = shared_path("vectors/tokenizer/ggml-vocab-bert-bge.gguf");
    if (!path) return NULL;
    assert_int_equal(ifn_gguf_open(path, out_gguf), IFN_OK);
    ifn_gguf_array toks = gguf_array(*out_gguf, "tokenizer.ggml.tokens");
    ifn_gguf_array types = gguf_array(*out_gguf, "tokenizer.ggml.token_type");
    int32_t *t = calloc(toks.count, sizeof *t);
    for (uint64_t i = 0; i < types.count; i++) {
        int64_t x;
        assert_int_equal(ifn_gguf_array_int(&types, i, &x), IFN_OK);
        t[i] = (int32_t)x;
    }
    int64_t unk = -1;
    assert_int_equal(ifn_gguf_get_int(*out_gguf, "tokenizer.ggml.unknown_token_id", -1, &unk),
                     IFN_OK);
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.kind = IFN_VOCAB_WPM;
    p.n_tokens = (int32_t)toks.count;
    p.tokens = toks.strs;
    p.token_types = t;
    p.unk_id = (int32_t)unk;
    ifn_vocab *v = NULL;
    assert_int_equal(ifn_vocab_create(&p, &v), IFN_OK);
    *out_types = t;
    return v;
}

/* Text of ids as WordPiece pieces join: "▁x" starts a word (a space), others continue it. */
static char *join_pieces(const ifn_vocab *v, const int32_t *ids, size_t n) {
    size_t cap = 16, len = 0;
    for (size_t i = 0; i < n; i++)
        cap += ifn_vocab_token_text(v, ids[i]).len + 1;
    char *text = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        ifn_str t = ifn_vocab_token_text(v, ids[i]);
        if (t.len >= 3 && memcmp(t.ptr, W, 3) == 0) {
            if (len) text[len++] = ' ';
            t.ptr += 3;
            t.len -= 3;
        }
        memcpy(text + len, t.ptr, t.len);
        len += t.len;
    }
    text[len] = '\0';
    return text;
}

/* Checks one vector: encoding matches, and (without UNK) the decoded ids re-encode to the same
 * ids and, for ASCII input, spell the lowercased input minus white space. */
static int check_case(const ifn_vocab *v, const char *in, size_t in_len, const int *want,
                      size_t n_want) {
    ifn_token_vec got = {0};
    assert_int_equal(ifn_wpm_encode(v, in, in_len, &got), IFN_OK);
    int ok = got.count == n_want;
    for (size_t i = 0; ok && i < n_want; i++)
        ok = got.ids[i] == want[i];
    int32_t ids[1024];
    int has_unk = 0, ascii = 1;
    for (size_t i = 0; i < n_want; i++)
        has_unk |= (ids[i] = want[i]) == ifn_vocab_unk(v);
    for (size_t i = 0; i < in_len; i++)
        ascii &= (unsigned char)in[i] < 0x80;
    if (!has_unk) {
        char *dec = join_pieces(v, ids, n_want);
        ifn_token_vec again = {0};
        assert_int_equal(ifn_wpm_encode(v, dec, strlen(dec), &again), IFN_OK);
        int same = again.count == n_want;
        for (size_t i = 0; same && i < n_want; i++)
            same = again.ids[i] == want[i];
        size_t a = 0, b = 0;
        while (ascii && same) {
            while (a < in_len && isspace((unsigned char)in[a]))
                a++;
            while (dec[b] == ' ')
                b++;
            if (a == in_len || !dec[b]) {
                same = a == in_len && !dec[b];
                break;
            }
            same = tolower((unsigned char)in[a++]) == dec[b++];
        }
        if (!same) fprintf(stderr, "  decode \"%s\" does not round-trip\n", dec);
        ok &= same;
        free(dec);
        ifn_token_vec_free(&again);
    }
    if (!ok) {
        fprintf(stderr, "bert-bge \"%.*s\":\n  got ", (int)(in_len > 60 ? 60 : in_len), in);
        for (size_t i = 0; i < got.count; i++)
            fprintf(stderr, " %d", got.ids[i]);
        fprintf(stderr, "\n  want");
        for (size_t i = 0; i < n_want; i++)
            fprintf(stderr, " %d", want[i]);
        fprintf(stderr, "\n");
    }
    ifn_token_vec_free(&got);
    return ok;
}

static void test_wpm_vectors_bert_bge(void **state) {
    (void)state;
    ifn_gguf *gguf = NULL;
    int32_t *types = NULL;
    ifn_vocab *v = load_bert(&gguf, &types);
    if (!v) skip();
    char *inp =
        read_whole_file(shared_path("vectors/tokenizer/ggml-vocab-bert-bge.gguf.inp"), NULL);
    char *outp =
        read_whole_file(shared_path("vectors/tokenizer/ggml-vocab-bert-bge.gguf.out"), NULL);
    assert_non_null(inp);
    assert_non_null(outp);
    static const char sep[] = "\n__ggml_vocab_test__\n";
    static int want[1024];
    int n_cases = 0, failures = 0;
    char *in_cur = inp, *out_cur = outp;
    while (in_cur && out_cur) {
        char *in_end = strstr(in_cur, sep);
        char *out_end = strchr(out_cur, '\n');
        size_t in_len = in_end ? (size_t)(in_end - in_cur) : strlen(in_cur);
        if (out_end) *out_end = '\0';
        size_t n_want = parse_ints(out_cur, want, 1024);
        failures += !check_case(v, in_cur, in_len, want, n_want);
        n_cases++;
        in_cur = in_end ? in_end + strlen(sep) : NULL;
        out_cur = out_end ? out_end + 1 : NULL;
    }
    fprintf(stderr, "bert-bge: %d cases, %d failed\n", n_cases, failures);
    assert_true(n_cases > 40);
    assert_int_equal(failures, 0);
    free(inp);
    free(outp);
    free(types);
    ifn_vocab_destroy(v);
    ifn_gguf_close(gguf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wpm_greedy_longest_match_with_word_start_mark),
        cmocka_unit_test(test_wpm_word_without_full_match_is_one_unk),
        cmocka_unit_test(test_wpm_words_over_100_characters_are_unk),
        cmocka_unit_test(test_wpm_lowercases_and_strips_accents),
        cmocka_unit_test(test_wpm_isolates_punctuation_symbols_and_cjk),
        cmocka_unit_test(test_wpm_drops_controls_and_splits_on_unicode_space),
        cmocka_unit_test(test_wpm_invalid_utf8_bytes_become_unk),
        cmocka_unit_test(test_wpm_random_bytes_do_not_crash),
        cmocka_unit_test(test_wpm_vectors_bert_bge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
