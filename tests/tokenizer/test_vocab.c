/* Vocabulary tests on hand-made SPM/WPM vocabs: parameter checks, defaults, lookups,
 * llama.cpp's end-of-generation rules, special-token splitting (parse_special, user-defined
 * tokens, longest-first order), BOS/EOS and the SentencePiece space prefix, pieces and
 * detokenization flags, the streaming detokenizer, allocation failures, and creation time for a
 * 150k-token vocabulary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenizer/vocab.h"
#include "util/alloc.h"
#include "util/utf8.h"

#define MARK "\xe2\x96\x81"

typedef struct tok {
    const char *text;
    int32_t type;
} tok;

/* ids 0..n-1 = toks; 256 byte tokens follow when with_bytes. Scores favour longer tokens. */
static ifn_status build(ifn_vocab_kind kind, const tok *toks, size_t n, int with_bytes,
                        ifn_vocab_params *p, ifn_vocab **out) {
    size_t total = n + (with_bytes ? 256 : 0);
    ifn_str *texts = calloc(total, sizeof *texts);
    float *scores = calloc(total, sizeof *scores);
    int32_t *types = calloc(total, sizeof *types);
    static char names[256][8];
    for (size_t i = 0; i < n; i++) {
        texts[i] = ifn_str_from_cstr(toks[i].text);
        types[i] = toks[i].type;
        scores[i] = (float)strlen(toks[i].text);
    }
    for (size_t b = 0; with_bytes && b < 256; b++) {
        snprintf(names[b], sizeof names[b], "<0x%02X>", (unsigned)b);
        texts[n + b] = ifn_str_from_cstr(names[b]);
        types[n + b] = IFN_TOKEN_TYPE_BYTE;
    }
    p->kind = kind;
    p->n_tokens = (int32_t)total;
    p->tokens = texts;
    p->scores = scores;
    p->token_types = types;
    ifn_status st = ifn_vocab_create(p, out);
    free(texts);
    free(scores);
    free(types);
    return st;
}

enum { N = IFN_TOKEN_TYPE_NORMAL, C = IFN_TOKEN_TYPE_CONTROL, U = IFN_TOKEN_TYPE_USER_DEFINED };

/* A small Llama-like vocab: ids 0..2 unk/bos/eos, then pieces, then byte tokens (from 20). */
static const tok g_spm[] = {{"<unk>", IFN_TOKEN_TYPE_UNKNOWN},
                            {"<s>", C},
                            {"</s>", C},
                            {MARK, N},
                            {"h", N},
                            {"i", N},
                            {MARK "h", N},
                            {MARK "hi", N},
                            {"hi", N},
                            {"<|im_end|>", N},
                            {"<tool>", U},
                            {"aab", U},
                            {"ba", U},
                            {"a", N},
                            {"b", N},
                            {MARK "b", N},
                            {"<|im_start|>", C},
                            {"<unused7>", IFN_TOKEN_TYPE_UNUSED},
                            {MARK MARK, N},
                            {"<|eot_id|>", C}};
#define SPM_N (sizeof g_spm / sizeof g_spm[0])
#define BYTE0 ((int32_t)SPM_N)

static ifn_vocab *spm_vocab(int add_space_prefix) {
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.unk_id = 0;
    p.bos_id = 1;
    p.eos_id = 2;
    p.add_space_prefix = add_space_prefix;
    ifn_vocab *v = NULL;
    assert_int_equal(build(IFN_VOCAB_SPM, g_spm, SPM_N, 1, &p, &v), IFN_OK);
    return v;
}

static void expect_ids(const ifn_vocab *v, const char *text, int flags, const int32_t *want,
                       size_t n) {
    ifn_token_vec got = {0};
    assert_int_equal(ifn_vocab_tokenize(v, text, strlen(text), flags, &got), IFN_OK);
    int same = got.count == n && (n == 0 || memcmp(got.ids, want, n * sizeof *want) == 0);
    if (!same) {
        fprintf(stderr, "tokenize \"%s\" flags %d gave", text, flags);
        for (size_t i = 0; i < got.count; i++)
            fprintf(stderr, " %d", (int)got.ids[i]);
        fprintf(stderr, "\n");
    }
    assert_true(same);
    ifn_token_vec_free(&got);
}

#define EXPECT_IDS(v, text, flags, ...)                                                            \
    do {                                                                                           \
        static const int32_t want_[] = {__VA_ARGS__};                                              \
        expect_ids(v, text, flags, want_, sizeof want_ / sizeof want_[0]);                         \
    } while (0)

static void expect_text(const ifn_vocab *v, const int32_t *ids, size_t n, int flags,
                        const char *want) {
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ifn_vocab_detokenize(v, ids, n, flags, &text, &len), IFN_OK);
    if (len != strlen(want) || memcmp(text, want, len) != 0)
        fprintf(stderr, "detokenize gave \"%s\", want \"%s\"\n", text, want);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(text, want, len);
    assert_int_equal(text[len], '\0');
    ifn_free(text);
}

#define EXPECT_TEXT(v, flags, want, ...)                                                           \
    do {                                                                                           \
        static const int32_t ids_[] = {__VA_ARGS__};                                               \
        expect_text(v, ids_, sizeof ids_ / sizeof ids_[0], flags, want);                           \
    } while (0)

/* ---- creation ---------------------------------------------------------------------------- */

static void test_vocab_rejects_inconsistent_params(void **state) {
    (void)state;
    ifn_vocab_params p;
    ifn_vocab *v = NULL;
    ifn_vocab_params_init(&p);
    assert_int_equal(ifn_vocab_create(&p, &v), IFN_E_INVALID); /* no tokens */
    ifn_vocab_params_init(&p);
    p.bos_id = 99;
    assert_int_equal(build(IFN_VOCAB_SPM, g_spm, 3, 0, &p, &v), IFN_E_INVALID);
    ifn_vocab_params_init(&p);
    p.unk_id = -7;
    assert_int_equal(build(IFN_VOCAB_SPM, g_spm, 3, 0, &p, &v), IFN_E_INVALID);
    ifn_vocab_params_init(&p);
    p.add_bos = 1; /* asks for BOS without a BOS id */
    assert_int_equal(build(IFN_VOCAB_SPM, g_spm, 3, 0, &p, &v), IFN_E_INVALID);
    ifn_vocab_params_init(&p);
    assert_int_equal(build((ifn_vocab_kind)7, g_spm, 3, 0, &p, &v), IFN_E_INVALID);
    assert_null(v);
    ifn_vocab_destroy(NULL);
}

static void test_vocab_applies_kind_defaults(void **state) {
    (void)state;
    ifn_vocab *v = spm_vocab(-1);
    assert_true(ifn_vocab_adds_bos(v));
    assert_true(ifn_vocab_adds_space_prefix(v));
    assert_int_equal(ifn_vocab_get_kind(v), IFN_VOCAB_SPM);
    assert_int_equal(ifn_vocab_size(v), (int32_t)SPM_N + 256);
    ifn_vocab_destroy(v);
    ifn_vocab_params p;
    ifn_vocab_params_init(&p); /* SPM without a BOS id: add_bos defaults off */
    assert_int_equal(build(IFN_VOCAB_SPM, g_spm, 3, 0, &p, &v), IFN_OK);
    assert_false(ifn_vocab_adds_bos(v));
    ifn_vocab_destroy(v);
    ifn_vocab_params_init(&p);
    p.bos_id = 1; /* WPM: CLS = BOS, no space prefix */
    assert_int_equal(build(IFN_VOCAB_WPM, g_spm, 3, 0, &p, &v), IFN_OK);
    assert_true(ifn_vocab_adds_bos(v));
    assert_false(ifn_vocab_adds_space_prefix(v));
    ifn_vocab_destroy(v);
}

static void test_vocab_looks_up_tokens(void **state) {
    (void)state;
    ifn_vocab *v = spm_vocab(-1);
    assert_int_equal(ifn_vocab_find(v, MARK "hi", 5), 7);
    assert_int_equal(ifn_vocab_find(v, "nope", 4), -1);
    assert_int_equal(ifn_vocab_find(v, "<0x41>", 6), BYTE0 + 0x41);
    assert_true(ifn_str_eq_cstr(ifn_vocab_token_text(v, 4), "h"));
    assert_true(ifn_vocab_token_score(v, 7) == 5.0f);
    assert_int_equal(ifn_vocab_token_type(v, BYTE0), IFN_TOKEN_TYPE_BYTE);
    assert_int_equal(ifn_vocab_bos(v), 1);
    assert_int_equal(ifn_vocab_eos(v), 2);
    assert_int_equal(ifn_vocab_unk(v), 0);
    ifn_vocab_destroy(v);
}

static void test_vocab_names_empty_and_keeps_first_duplicate(void **state) {
    (void)state;
    static const tok toks[] = {{"x", N}, {"", N}, {"x", N}, {"y", N}};
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    ifn_vocab *v = NULL;
    assert_int_equal(build(IFN_VOCAB_SPM, toks, 4, 0, &p, &v), IFN_OK);
    assert_true(ifn_str_eq_cstr(ifn_vocab_token_text(v, 1), "[EMPTY_1]"));
    assert_int_equal(ifn_vocab_find(v, "x", 1), 0);
    assert_int_equal(ifn_vocab_find(v, "y", 1), 3);
    ifn_vocab_destroy(v);
}

/* llama.cpp: EOS, EOT and end-of-turn names are EOG; such names become control tokens. */
static void test_vocab_detects_end_of_generation(void **state) {
    (void)state;
    ifn_vocab *v = spm_vocab(-1);
    assert_true(ifn_vocab_is_eog(v, 2));
    assert_true(ifn_vocab_is_eog(v, 9)); /* <|im_end|>, stored as NORMAL */
    assert_int_equal(ifn_vocab_token_type(v, 9), IFN_TOKEN_TYPE_CONTROL);
    assert_true(ifn_vocab_is_eog(v, 19));
    assert_int_equal(ifn_vocab_eot(v), 9); /* lowest id among the end-of-turn names */
    assert_false(ifn_vocab_is_eog(v, 1));
    assert_false(ifn_vocab_is_eog(v, 16));
    assert_false(ifn_vocab_is_eog(v, -1));
    assert_false(ifn_vocab_is_eog(v, 1 << 30));
    ifn_vocab_destroy(v);

    /* harmony-style vocabs keep <|end|> as text between messages */
    static const tok harmony[] = {{"<|return|>", C}, {"<|call|>", C}, {"<|end|>", C}, {"a", N}};
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    assert_int_equal(build(IFN_VOCAB_SPM, harmony, 4, 0, &p, &v), IFN_OK);
    assert_true(ifn_vocab_is_eog(v, 0));
    assert_true(ifn_vocab_is_eog(v, 1));
    assert_false(ifn_vocab_is_eog(v, 2));
    assert_int_equal(ifn_vocab_token_type(v, 2), IFN_TOKEN_TYPE_USER_DEFINED);
    ifn_vocab_destroy(v);
}

/* ---- tokenization ------------------------------------------------------------------------ */

static void test_vocab_adds_bos_eos_and_space_prefix(void **state) {
    (void)state;
    ifn_vocab *v = spm_vocab(-1);
    EXPECT_IDS(v, "hi", 0, 7);
    EXPECT_IDS(v, "hi", IFN_TOKENIZE_ADD_SPECIAL, 1, 7);
    EXPECT_IDS(v, " hi", 0, 18, 8); /* "▁▁hi": ▁▁ scores highest here */
    EXPECT_IDS(v, "", IFN_TOKENIZE_ADD_SPECIAL, 1);
    ifn_token_vec none = {0};
    assert_int_equal(ifn_vocab_tokenize(v, "", 0, 0, &none), IFN_OK);
    assert_int_equal(none.count, 0);
    ifn_vocab_destroy(v);
    v = spm_vocab(0);
    EXPECT_IDS(v, "hi", 0, 8);
    EXPECT_IDS(v, " hi", 0, 7);
    ifn_vocab_destroy(v);

    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.bos_id = 1;
    p.eos_id = 2;
    p.add_bos = 0;
    p.add_eos = 1;
    assert_int_equal(build(IFN_VOCAB_SPM, g_spm, SPM_N, 1, &p, &v), IFN_OK);
    EXPECT_IDS(v, "hi", IFN_TOKENIZE_ADD_SPECIAL, 7, 2);
    ifn_vocab_destroy(v);
}

static void test_vocab_parses_control_tokens_only_when_asked(void **state) {
    (void)state;
    ifn_vocab *v = spm_vocab(-1);
    /* without PARSE_SPECIAL "<s>" is plain text: byte tokens for '<', 's', '>' here */
    EXPECT_IDS(v, "<s>", 0, 3, BYTE0 + '<', BYTE0 + 's', BYTE0 + '>');
    EXPECT_IDS(v, "<s>", IFN_TOKENIZE_PARSE_SPECIAL, 1);
    /* text after a special token gets the space prefix again (llama.cpp) */
    EXPECT_IDS(v, "<s>hi", IFN_TOKENIZE_PARSE_SPECIAL, 1, 7);
    EXPECT_IDS(v, "hi<|im_start|>hi", IFN_TOKENIZE_PARSE_SPECIAL, 7, 16, 7);
    EXPECT_IDS(v, "<s>", IFN_TOKENIZE_PARSE_SPECIAL | IFN_TOKENIZE_ADD_SPECIAL, 1, 1);
    /* <unk> is UNKNOWN: parsed only with PARSE_SPECIAL too */
    EXPECT_IDS(v, "<unk>", IFN_TOKENIZE_PARSE_SPECIAL, 0);
    ifn_vocab_destroy(v);
}

static void test_vocab_matches_user_defined_tokens_always(void **state) {
    (void)state;
    ifn_vocab *v = spm_vocab(0);
    EXPECT_IDS(v, "hi<tool>hi", 0, 8, 10, 8);
    EXPECT_IDS(v, "<tool><tool>", 0, 10, 10);
    /* llama.cpp order: longer specials claim first, so "baab" is "b" + "aab", not "ba" + "ab" */
    EXPECT_IDS(v, "baab", 0, 14, 11);
    EXPECT_IDS(v, "bab", 0, 12, 14);
    EXPECT_IDS(v, "aabaab", 0, 11, 11);
    ifn_vocab_destroy(v);
}

/* ---- detokenization ---------------------------------------------------------------------- */

static void test_vocab_renders_pieces(void **state) {
    (void)state;
    ifn_vocab *v = spm_vocab(-1);
    char buf[32];
    size_t n = 0;
    assert_int_equal(ifn_vocab_token_to_piece(v, 7, 0, buf, sizeof buf, &n), IFN_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, " hi", 3);
    assert_int_equal(ifn_vocab_token_to_piece(v, 7, IFN_DETOKENIZE_STRIP_LEADING, buf, 32, &n),
                     IFN_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ifn_vocab_token_to_piece(v, 18, 0, buf, 1, &n), IFN_OK); /* too small */
    assert_int_equal(n, 2);
    assert_int_equal(ifn_vocab_token_to_piece(v, 1, 0, buf, 32, &n), IFN_OK);
    assert_int_equal(n, 0); /* control, not rendered */
    assert_int_equal(ifn_vocab_token_to_piece(v, 1, IFN_DETOKENIZE_RENDER_SPECIAL, buf, 32, &n),
                     IFN_OK);
    assert_int_equal(n, 3);
    assert_int_equal(ifn_vocab_token_to_piece(v, 10, 0, buf, 32, &n), IFN_OK);
    assert_int_equal(n, 6); /* user-defined <tool> always */
    assert_int_equal(ifn_vocab_token_to_piece(v, 17, 0, buf, 32, &n), IFN_OK);
    assert_int_equal(n, 0); /* unused */
    assert_int_equal(ifn_vocab_token_to_piece(v, BYTE0 + 0x0a, 0, buf, 32, &n), IFN_OK);
    assert_int_equal(n, 1);
    assert_int_equal(buf[0], '\n');
    assert_int_equal(ifn_vocab_token_to_piece(v, -1, 0, buf, 32, &n), IFN_E_INVALID);
    assert_int_equal(ifn_vocab_token_to_piece(v, 99999, 0, buf, 32, &n), IFN_E_INVALID);
    ifn_vocab_destroy(v);
}

static void test_vocab_detokenizes_with_flags(void **state) {
    (void)state;
    ifn_vocab *v = spm_vocab(-1);
    EXPECT_TEXT(v, 0, " hi hi", 7, 7);
    EXPECT_TEXT(v, IFN_DETOKENIZE_STRIP_LEADING, "hi hi", 7, 7);
    EXPECT_TEXT(v, IFN_DETOKENIZE_STRIP_LEADING, "hi", 1, 7, 2); /* strip skips BOS */
    EXPECT_TEXT(v, IFN_DETOKENIZE_STRIP_LEADING | IFN_DETOKENIZE_RENDER_SPECIAL, "<s>hi</s>", 1, 7,
                2);
    EXPECT_TEXT(v, IFN_DETOKENIZE_STRIP_LEADING, " hi", 3, 7); /* only the first space goes */
    EXPECT_TEXT(v, 0, "\xf0\x9f\xa6\x99", BYTE0 + 0xf0, BYTE0 + 0x9f, BYTE0 + 0xa6, BYTE0 + 0x99);
    EXPECT_TEXT(v, 0, "", 17);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(ifn_vocab_detokenize(v, NULL, 0, 0, &text, &len), IFN_OK);
    assert_int_equal(len, 0);
    ifn_free(text);
    const int32_t bad[] = {7, 12345};
    assert_int_equal(ifn_vocab_detokenize(v, bad, 2, 0, &text, &len), IFN_E_INVALID);
    ifn_vocab_destroy(v);
}

static void test_vocab_cleans_spaces_only_when_asked(void **state) {
    (void)state;
    static const tok bert[] = {{"[UNK]", C},  {"[CLS]", C},      {"[SEP]", C},  {MARK "hello", N},
                               {MARK ",", N}, {MARK "world", N}, {MARK "'", N}, {"s", N}};
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.unk_id = 0;
    p.cls_id = 1;
    p.sep_id = 2;
    ifn_vocab *v = NULL;
    assert_int_equal(build(IFN_VOCAB_WPM, bert, 8, 0, &p, &v), IFN_OK);
    assert_int_equal(ifn_vocab_bos(v), 1);
    EXPECT_TEXT(v, 0, " hello , world 's", 1, 3, 4, 5, 6, 7, 2);
    EXPECT_TEXT(v, IFN_DETOKENIZE_CLEAN_SPACES, " hello, world's", 1, 3, 4, 5, 6, 7, 2);
    ifn_vocab_destroy(v);
    v = spm_vocab(-1); /* SPM never cleans */
    EXPECT_TEXT(v, IFN_DETOKENIZE_CLEAN_SPACES, " hi ,", 7, 3, BYTE0 + ',');
    ifn_vocab_destroy(v);
}

/* ---- streaming --------------------------------------------------------------------------- */

static size_t push(ifn_detok_stream *s, int32_t id, char *out) {
    size_t n = 0;
    assert_int_equal(ifn_detok_stream_push(s, id, out, 300, &n), IFN_OK);
    return n;
}

static void test_vocab_stream_holds_incomplete_utf8(void **state) {
    (void)state;
    ifn_vocab *v = spm_vocab(-1);
    ifn_detok_stream s;
    char out[300];
    ifn_detok_stream_init(&s, v, IFN_DETOKENIZE_STRIP_LEADING);
    assert_int_equal(push(&s, 1, out), 0);            /* BOS */
    assert_int_equal(push(&s, 7, out), 2);            /* "hi": first text, space stripped */
    assert_int_equal(push(&s, BYTE0 + 0xf0, out), 0); /* emoji arrives byte by byte */
    assert_int_equal(push(&s, BYTE0 + 0x9f, out), 0);
    assert_int_equal(push(&s, BYTE0 + 0xa6, out), 0);
    assert_int_equal(push(&s, BYTE0 + 0x99, out), 4);
    assert_memory_equal(out, "\xf0\x9f\xa6\x99", 4);
    assert_int_equal(push(&s, 7, out), 3);            /* later pieces keep their space */
    assert_int_equal(push(&s, BYTE0 + 0xff, out), 3); /* never valid: U+FFFD at once */
    assert_memory_equal(out, "\xef\xbf\xbd", 3);
    assert_int_equal(push(&s, BYTE0 + 0xe2, out), 0);
    assert_int_equal(push(&s, 4, out), 4); /* broken by "h": U+FFFD then "h" */
    assert_memory_equal(out,
                        "\xef\xbf\xbd"
                        "h",
                        4);
    assert_int_equal(push(&s, BYTE0 + 0xc3, out), 0);
    assert_int_equal(ifn_detok_stream_flush(&s, out, sizeof out), 3);
    assert_memory_equal(out, "\xef\xbf\xbd", 3);
    assert_int_equal(ifn_detok_stream_flush(&s, out, sizeof out), 0);
    ifn_vocab_destroy(v);
}

static void test_vocab_stream_reports_errors_without_losing_state(void **state) {
    (void)state;
    ifn_vocab *v = spm_vocab(-1);
    ifn_detok_stream s;
    char out[8];
    size_t n = 0;
    ifn_detok_stream_init(&s, v, 0);
    assert_int_equal(ifn_detok_stream_push(&s, BYTE0 + 0xe2, out, sizeof out, &n), IFN_OK);
    assert_int_equal(ifn_detok_stream_push(&s, 99999, out, sizeof out, &n), IFN_E_INVALID);
    assert_int_equal(ifn_detok_stream_push(&s, 10, out, 2, &n), IFN_E_FULL); /* needs 9 */
    assert_int_equal(ifn_detok_stream_push(&s, BYTE0 + 0x96, out, sizeof out, &n), IFN_OK);
    assert_int_equal(ifn_detok_stream_push(&s, BYTE0 + 0x81, out, sizeof out, &n), IFN_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(out, MARK, 3);
    ifn_vocab_destroy(v);
}

/* ---- resources and scale ----------------------------------------------------------------- */

static void test_vocab_cleans_up_on_alloc_failure(void **state) {
    (void)state;
    ifn_vocab_params p;
    for (int64_t nth = 1; nth < 400; nth++) {
        ifn_vocab *v = NULL;
        ifn_vocab_params_init(&p);
        p.bos_id = 1;
        size_t live = ifn_alloc_live_bytes();
        ifn_alloc_fail_after(nth);
        ifn_status st = build(IFN_VOCAB_SPM, g_spm, SPM_N, 1, &p, &v);
        ifn_token_vec ids = {0};
        if (st == IFN_OK)
            st = ifn_vocab_tokenize(v, "<s>hi <tool> \xf0\x9f", 15,
                                    IFN_TOKENIZE_PARSE_SPECIAL | IFN_TOKENIZE_ADD_SPECIAL, &ids);
        char *text = NULL;
        size_t len = 0;
        if (st == IFN_OK) st = ifn_vocab_detokenize(v, ids.ids, ids.count, 0, &text, &len);
        ifn_alloc_fail_after(0);
        assert_true(st == IFN_OK || st == IFN_E_NOMEM);
        ifn_free(text);
        ifn_token_vec_free(&ids);
        ifn_vocab_destroy(v);
        assert_int_equal(ifn_alloc_live_bytes(), live);
        if (st == IFN_OK) return;
    }
    fail_msg("never succeeded");
}

static void test_vocab_creates_150k_tokens_quickly(void **state) {
    (void)state;
    enum { COUNT = 150000 };
    ifn_str *texts = calloc(COUNT, sizeof *texts);
    int32_t *types = calloc(COUNT, sizeof *types);
    char *pool = malloc((size_t)COUNT * 16);
    for (int i = 0; i < COUNT; i++) {
        char *t = pool + (size_t)i * 16;
        int len = snprintf(t, 16, i % 1000 == 0 ? "<|ctl_%d|>" : "tok%d", i);
        texts[i] = (ifn_str){t, (size_t)len};
        types[i] = i % 1000 == 0 ? IFN_TOKEN_TYPE_CONTROL : IFN_TOKEN_TYPE_NORMAL;
    }
    ifn_vocab_params p;
    ifn_vocab_params_init(&p);
    p.n_tokens = COUNT;
    p.tokens = texts;
    p.token_types = types;
    struct timespec t0, t1;
    ifn_vocab *v = NULL;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    assert_int_equal(ifn_vocab_create(&p, &v), IFN_OK);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double ms = 1e3 * (double)(t1.tv_sec - t0.tv_sec) + 1e-6 * (double)(t1.tv_nsec - t0.tv_nsec);
    fprintf(stderr, "vocab: created %d tokens in %.1f ms\n", COUNT, ms);
    assert_true(ms < 1000.0); /* CPU time: ~30 ms optimised; generous for sanitizers */
    assert_int_equal(ifn_vocab_find(v, "tok149999", 9), 149999);
    ifn_vocab_destroy(v);
    free(pool);
    free(types);
    free(texts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_rejects_inconsistent_params),
        cmocka_unit_test(test_vocab_applies_kind_defaults),
        cmocka_unit_test(test_vocab_looks_up_tokens),
        cmocka_unit_test(test_vocab_names_empty_and_keeps_first_duplicate),
        cmocka_unit_test(test_vocab_detects_end_of_generation),
        cmocka_unit_test(test_vocab_adds_bos_eos_and_space_prefix),
        cmocka_unit_test(test_vocab_parses_control_tokens_only_when_asked),
        cmocka_unit_test(test_vocab_matches_user_defined_tokens_always),
        cmocka_unit_test(test_vocab_renders_pieces),
        cmocka_unit_test(test_vocab_detokenizes_with_flags),
        cmocka_unit_test(test_vocab_cleans_spaces_only_when_asked),
        cmocka_unit_test(test_vocab_stream_holds_incomplete_utf8),
        cmocka_unit_test(test_vocab_stream_reports_errors_without_losing_state),
        cmocka_unit_test(test_vocab_cleans_up_on_alloc_failure),
        cmocka_unit_test(test_vocab_creates_150k_tokens_quickly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
