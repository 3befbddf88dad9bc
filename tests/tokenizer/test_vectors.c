/* Tokenizer test vectors: every ggml-vocab-*.gguf in $IFN_SHARED_DIR/vectors/tokenizer (llama.cpp's
 * .inp/.out pairs) is encoded with no BOS/EOS and no special parsing and compared with the
 * expected ids, and the expected ids are decoded back to the input. One test per tokenizer kind,
 * each printing a line per file. Also llama.cpp's ids for llama-2-tiny-random, and fuzzing of
 * every loadable vocab with random bytes, broken UTF-8 and long inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_fixtures.h"
#include "util/alloc.h"
#include "util/rng.h"
#include "util/utf8.h"

#define VECTOR_DIR "vectors/tokenizer"
#define MAX_REPORTED 3 /* mismatches printed per file */

/* ---- vector files ------------------------------------------------------------------------ */

static int gguf_kind(const char *path) {
    ifn_gguf *g = NULL;
    if (ifn_gguf_open(path, &g) != IFN_OK) return -1;
    ifn_str model = {0};
    int kind = -1;
    if (ifn_gguf_get_string(g, "tokenizer.ggml.model", &model) == IFN_OK && model.ptr) {
        if (ifn_str_eq_cstr(model, "llama")) kind = IFN_VOCAB_SPM;
        if (ifn_str_eq_cstr(model, "gpt2")) kind = IFN_VOCAB_BPE;
        if (ifn_str_eq_cstr(model, "bert")) kind = IFN_VOCAB_WPM;
    }
    ifn_gguf_close(g);
    return kind;
}

/* WPM lower-cases and splits punctuation, so its text cannot come back verbatim: instead the
 * decoded text must encode to the same ids (cases with UNK are skipped). */
static int decode_matches(const ifn_vocab *v, const tok_case *c) {
    char *text = NULL;
    size_t len = 0;
    if (ifn_vocab_detokenize(v, c->ids, c->n_ids, IFN_DETOKENIZE_STRIP_LEADING, &text, &len) !=
        IFN_OK)
        return 0;
    int ok;
    if (ifn_vocab_get_kind(v) != IFN_VOCAB_WPM) {
        ok = len == c->len && memcmp(text, c->text, len) == 0;
        if (!ok) fprintf(stderr, "    decoded \"%s\" for \"%.*s\"\n", text, (int)c->len, c->text);
    } else {
        ifn_token_vec again = {0};
        int has_unk = 0;
        for (size_t i = 0; i < c->n_ids; i++)
            has_unk |= c->ids[i] == ifn_vocab_unk(v);
        ok = ifn_vocab_tokenize(v, text, len, 0, &again) == IFN_OK &&
             (has_unk || tok_ids_equal(again.ids, again.count, c->ids, c->n_ids));
        ifn_token_vec_free(&again);
    }
    ifn_free(text);
    return ok;
}

static int encode_matches(const ifn_vocab *v, const tok_case *c, int report) {
    ifn_token_vec got = {0};
    ifn_status st = ifn_vocab_tokenize(v, c->text, c->len, 0, &got);
    int ok = st == IFN_OK && tok_ids_equal(got.ids, got.count, c->ids, c->n_ids);
    if (!ok && report) {
        fprintf(stderr, "    input \"%.*s\" (%s)\n", (int)(c->len > 80 ? 80 : c->len), c->text,
                ifn_status_str(st));
        tok_print_ids("want", c->ids, c->n_ids);
        tok_print_ids("got ", got.ids, got.count);
    }
    ifn_token_vec_free(&got);
    return ok;
}

/* Returns 1 when every case of the file passes; prints one summary line. */
static int check_vector_file(const char *path, const char *name) {
    char inp_path[1500], out_path[1500];
    snprintf(inp_path, sizeof inp_path, "%s.inp", path);
    snprintf(out_path, sizeof out_path, "%s.out", path);
    size_t inp_len = 0, out_len = 0;
    char *inp = read_whole_file(inp_path, &inp_len), *out = read_whole_file(out_path, &out_len);
    tok_case *cases = NULL;
    size_t n = inp && out ? tok_parse_cases(inp, inp_len, out, out_len, &cases) : 0;
    ifn_vocab *v = NULL;
    ifn_status st = n ? tok_load_gguf_vocab(path, &v) : IFN_E_FORMAT;
    int bad_encode = 0, bad_decode = 0;
    if (st != IFN_OK) {
        fprintf(stderr, "FAIL %s: %s %s\n", name, ifn_status_str(st),
                n ? ifn_last_error() : "(unreadable .inp/.out)");
    } else {
        for (size_t i = 0; i < n; i++) {
            bad_encode += !encode_matches(v, &cases[i], bad_encode < MAX_REPORTED);
            bad_decode += !decode_matches(v, &cases[i]);
        }
        fprintf(stderr, "%s %s: %zu cases, %d encode and %d decode mismatches\n",
                bad_encode || bad_decode ? "FAIL" : "PASS", name, n, bad_encode, bad_decode);
    }
    ifn_vocab_destroy(v);
    tok_cases_free(cases, n);
    free(inp);
    free(out);
    return st == IFN_OK && !bad_encode && !bad_decode;
}

/* Runs every vector file whose tokenizer kind is `kind`; skips when there is none. */
static void run_vectors_of_kind(int kind) {
    char dir_path[1024];
    DIR *dir = tok_shared_path(VECTOR_DIR, dir_path, sizeof dir_path) ? opendir(dir_path) : NULL;
    if (!dir) skip();
    int files = 0, failed = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "ggml-vocab-", 11) != 0 || len < 5 ||
            strcmp(e->d_name + len - 5, ".gguf") != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir_path, e->d_name);
        if (gguf_kind(path) != kind) continue;
        files++;
        failed += !check_vector_file(path, e->d_name);
    }
    closedir(dir);
    if (files == 0) skip();
    fprintf(stderr, "%d of %d vocab files passed\n", files - failed, files);
    assert_int_equal(failed, 0);
}

static void test_vectors_spm_files_match_llamacpp(void **state) {
    (void)state;
    run_vectors_of_kind(IFN_VOCAB_SPM);
}

static void test_vectors_bpe_files_match_llamacpp(void **state) {
    (void)state;
    run_vectors_of_kind(IFN_VOCAB_BPE);
}

static void test_vectors_wpm_files_match_llamacpp(void **state) {
    (void)state;
    run_vectors_of_kind(IFN_VOCAB_WPM);
}

/* ---- llama-2-tiny-random: llama.cpp's ids from tokenize_llamacpp.jsonl ------------------- */

static int hex4(const char *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return 0;
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return 1;
}

static void put_utf8(uint32_t cp, char *out, size_t *n) {
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | cp >> 6);
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xe0 | cp >> 12);
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | cp >> 18);
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* Decodes the JSON string starting at the opening quote *p into out; advances *p past it. */
static int json_string(const char **p, char *out, size_t cap, size_t *out_len) {
    const char *s = *p + 1;
    size_t n = 0;
    while (*s && *s != '"' && n + 4 < cap) {
        if (*s != '\\') {
            out[n++] = *s++;
            continue;
        }
        char c = s[1];
        s += 2;
        uint32_t cp = 0, lo = 0;
        switch (c) {
        case 'n':
            out[n++] = '\n';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'u':
            if (!hex4(s, &cp)) return 0;
            s += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && s[0] == '\\' && s[1] == 'u' && hex4(s + 2, &lo)) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                s += 6;
            }
            put_utf8(cp, out, &n);
            break;
        default:
            out[n++] = c;
            break;
        }
    }
    if (*s != '"') return 0;
    *p = s + 1;
    *out_len = n;
    return 1;
}

/* Reads {"text": "...", "ids_no_bos": [..]} from one line. */
static int parse_json_line(const char *line, char *text, size_t cap, size_t *text_len, int32_t *ids,
                           size_t ids_cap, size_t *n_ids) {
    const char *t = strstr(line, "\"text\"");
    const char *a = strstr(line, "\"ids_no_bos\"");
    if (!t || !a) return 0;
    t = strchr(t + 6, '"');
    if (!t || !json_string(&t, text, cap, text_len)) return 0;
    a = strchr(a, '[');
    if (!a) return 0;
    *n_ids = 0;
    for (a++; *a && *a != ']' && *n_ids < ids_cap;) {
        char *end;
        long v = strtol(a, &end, 10);
        if (end == a) {
            a++;
            continue;
        }
        ids[(*n_ids)++] = (int32_t)v;
        a = end;
    }
    return 1;
}

static void check_jsonl_line(const ifn_vocab *v, const char *line) {
    char text[1024];
    int32_t want[256];
    size_t len = 0, n_want = 0;
    assert_true(parse_json_line(line, text, sizeof text, &len, want, 256, &n_want));
    ifn_token_vec got = {0};
    assert_int_equal(ifn_vocab_tokenize(v, text, len, 0, &got), IFN_OK);
    if (!tok_ids_equal(got.ids, got.count, want, n_want)) {
        fprintf(stderr, "mismatch for \"%.*s\"\n", (int)len, text);
        tok_print_ids("want", want, n_want);
        tok_print_ids("got ", got.ids, got.count);
    }
    assert_true(tok_ids_equal(got.ids, got.count, want, n_want));
    got.count = 0;
    assert_int_equal(ifn_vocab_tokenize(v, text, len, IFN_TOKENIZE_ADD_SPECIAL, &got), IFN_OK);
    assert_int_equal(got.count, n_want + 1);
    assert_int_equal(got.ids[0], 1);
    char *back = NULL;
    size_t back_len = 0;
    assert_int_equal(
        ifn_vocab_detokenize(v, got.ids, got.count, IFN_DETOKENIZE_STRIP_LEADING, &back, &back_len),
        IFN_OK);
    assert_int_equal(back_len, len);
    assert_memory_equal(back, text, len);
    ifn_free(back);
    ifn_token_vec_free(&got);
}

static void test_vectors_llama2_tiny_random_matches_llamacpp(void **state) {
    (void)state;
    char gguf_path[1024], jsonl_path[1024];
    if (!tok_shared_path("models/llama-2-tiny-random/llama-2-tiny-random.gguf", gguf_path,
                         sizeof gguf_path) ||
        !tok_shared_path("models/llama-2-tiny-random/tokenize_llamacpp.jsonl", jsonl_path,
                         sizeof jsonl_path))
        skip();
    char *jsonl = read_whole_file(jsonl_path, NULL);
    if (!jsonl) skip();
    ifn_vocab *v = NULL;
    ifn_status st = tok_load_gguf_vocab(gguf_path, &v);
    if (st != IFN_OK) fprintf(stderr, "load: %s\n", ifn_last_error());
    assert_int_equal(st, IFN_OK);
    assert_int_equal(ifn_vocab_get_kind(v), IFN_VOCAB_SPM);
    assert_int_equal(ifn_vocab_size(v), 32000);
    int lines = 0;
    for (char *line = strtok(jsonl, "\n"); line; line = strtok(NULL, "\n"), lines++)
        check_jsonl_line(v, line);
    assert_true(lines >= 8);
    ifn_vocab_destroy(v);
    free(jsonl);
}

/* ---- fuzzing ----------------------------------------------------------------------------- */

/* Random bytes, biased toward UTF-8 fragments, spaces and '<' (special-token starts). */
static size_t random_text(ifn_rng *rng, char *buf, size_t max) {
    static const char *const bits[] = {" ",    "  ",   "<",    "\xe2\x96\x81", "\xf0\x9f",
                                       "\xa6", "\x99", "\xc3", "\xa9",         "\n",
                                       "<s>",  "'s",   "the",  "\xff",         "\xed\xa0\x80"};
    size_t n = ifn_rng_next_u64(rng) % max, len = 0;
    while (len < n) {
        uint64_t r = ifn_rng_next_u64(rng);
        if (r % 3 == 0) {
            buf[len++] = (char)(r >> 8);
            continue;
        }
        const char *b = bits[(r >> 8) % (sizeof bits / sizeof bits[0])];
        size_t k = strlen(b);
        if (len + k > n) break;
        memcpy(buf + len, b, k);
        len += k;
    }
    return len;
}

/* Tokenize + detokenize + stream; SPM with byte fallback must give the bytes back. */
static void fuzz_one(const ifn_vocab *v, const char *text, size_t len) {
    ifn_token_vec ids = {0};
    assert_int_equal(ifn_vocab_tokenize(
                         v, text, len, IFN_TOKENIZE_ADD_SPECIAL | IFN_TOKENIZE_PARSE_SPECIAL, &ids),
                     IFN_OK);
    ids.count = 0;
    assert_int_equal(ifn_vocab_tokenize(v, text, len, 0, &ids), IFN_OK);
    char *back = NULL;
    size_t back_len = 0;
    assert_int_equal(
        ifn_vocab_detokenize(v, ids.ids, ids.count,
                             IFN_DETOKENIZE_STRIP_LEADING | IFN_DETOKENIZE_CLEAN_SPACES, &back,
                             &back_len),
        IFN_OK);
    int has_mark = 0;
    for (size_t i = 0; i + 3 <= len && !has_mark; i++)
        has_mark = !memcmp(text + i, "\xe2\x96\x81", 3);
    if (ifn_vocab_get_kind(v) == IFN_VOCAB_SPM && ifn_vocab_find(v, "<0x00>", 6) >= 0 &&
        !has_mark) {
        ifn_free(back);
        assert_int_equal(ifn_vocab_detokenize(v, ids.ids, ids.count, IFN_DETOKENIZE_STRIP_LEADING,
                                              &back, &back_len),
                         IFN_OK);
        if (back_len != len || memcmp(back, text, len) != 0) {
            fprintf(stderr, "round trip failed for %zu bytes:", len);
            for (size_t i = 0; i < len && i < 200; i++)
                fprintf(stderr, " %02x", (unsigned char)text[i]);
            fprintf(stderr, "\n");
            tok_print_ids("ids", ids.ids, ids.count);
        }
        assert_int_equal(back_len, len);
        assert_memory_equal(back, text, len);
    }
    ifn_detok_stream s;
    ifn_detok_stream_init(&s, v, IFN_DETOKENIZE_RENDER_SPECIAL);
    char buf[1024];
    for (size_t i = 0; i < ids.count; i++) {
        size_t n = 0;
        assert_int_equal(ifn_detok_stream_push(&s, ids.ids[i], buf, sizeof buf, &n), IFN_OK);
        assert_true(ifn_utf8_is_valid(buf, n));
    }
    size_t n = ifn_detok_stream_flush(&s, buf, sizeof buf);
    assert_true(ifn_utf8_is_valid(buf, n));
    ifn_free(back);
    ifn_token_vec_free(&ids);
}

static void fuzz_vocab(const ifn_vocab *v, uint64_t seed) {
    ifn_rng rng;
    ifn_rng_seed(&rng, seed);
    char buf[512];
    for (int i = 0; i < 300; i++)
        fuzz_one(v, buf, random_text(&rng, buf, sizeof buf));
    size_t big_len = 300 * 1000;
    char *big = malloc(big_len);
    assert_non_null(big);
    for (size_t at = 0; at < big_len;)
        at += random_text(&rng, big + at, big_len - at + 1);
    fuzz_one(v, big, big_len);
    memset(big, 'a', big_len); /* one long word: deep merges, no byte fallback */
    fuzz_one(v, big, big_len);
    free(big);
}

static void test_vectors_fuzz_never_crashes(void **state) {
    (void)state;
    char dir_path[1024];
    DIR *dir = tok_shared_path(VECTOR_DIR, dir_path, sizeof dir_path) ? opendir(dir_path) : NULL;
    if (!dir) skip();
    int fuzzed = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".gguf") != 0) continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir_path, e->d_name);
        ifn_vocab *v = NULL;
        if (tok_load_gguf_vocab(path, &v) != IFN_OK) {
            fprintf(stderr, "fuzz: skipping %s (%s)\n", e->d_name, ifn_last_error());
            continue;
        }
        fuzz_vocab(v, (uint64_t)len * 7919u);
        fprintf(stderr, "fuzz: %s ok\n", e->d_name);
        ifn_vocab_destroy(v);
        fuzzed++;
    }
    closedir(dir);
    if (fuzzed == 0) skip();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_spm_files_match_llamacpp),
        cmocka_unit_test(test_vectors_bpe_files_match_llamacpp),
        cmocka_unit_test(test_vectors_wpm_files_match_llamacpp),
        cmocka_unit_test(test_vectors_llama2_tiny_random_matches_llamacpp),
        cmocka_unit_test(test_vectors_fuzz_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
