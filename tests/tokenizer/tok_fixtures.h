/* Helpers shared by the tokenizer tests: paths under IFN_SHARED_DIR, whole-file reads, vocab
 * loading from GGUF, and the .inp/.out vector format of llama.cpp's ggml-vocab-*.gguf files.
 * Header-only (static inline) so each test executable stays one source file. */
#ifndef IFN_TESTS_TOKENIZER_TOK_FIXTURES_H
#define IFN_TESTS_TOKENIZER_TOK_FIXTURES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/vocab_gguf.h"
#include "support/shared.h"
#include "model/gguf.h"
#include "tokenizer/vocab.h"

/* $IFN_SHARED_DIR/rel into out; 0 when the variable is unset or the path does not fit. */
static inline int tok_shared_path(const char *rel, char *out, size_t cap) {
    const char *dir = getenv("IFN_SHARED_DIR");
    if (!dir || !*dir) return 0;
    int n = snprintf(out, cap, "%s/%s", dir, rel);
    return n > 0 && (size_t)n < cap;
}

static inline ifn_status tok_load_gguf_vocab(const char *path, ifn_vocab **out) {
    ifn_gguf *g = NULL;
    ifn_status st = ifn_gguf_open(path, &g);
    if (st != IFN_OK) return st;
    st = ifn_vocab_gguf_load(g, out);
    ifn_gguf_close(g);
    return st;
}

/* One vector: an input (a view into the .inp buffer) and its expected ids (malloc'd). */
typedef struct tok_case {
    const char *text;
    size_t len;
    int32_t *ids;
    size_t n_ids;
} tok_case;

static inline void tok_cases_free(tok_case *cases, size_t n) {
    for (size_t i = 0; cases && i < n; i++)
        free(cases[i].ids);
    free(cases);
}

static inline int32_t *tok_parse_ids(const char *line, size_t len, size_t *out_n) {
    int32_t *ids = malloc((len / 2 + 1) * sizeof *ids);
    size_t n = 0;
    for (size_t i = 0; ids && i < len;) {
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            i++;
        if (i == len) break;
        long v = 0;
        while (i < len && line[i] >= '0' && line[i] <= '9')
            v = v * 10 + (line[i++] - '0');
        ids[n++] = (int32_t)v;
        if (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') break;
    }
    *out_n = n;
    return ids;
}

/* Pairs the inputs of `inp` (separated by "\n__ggml_vocab_test__\n") with the lines of `out`.
 * Returns the case count, or 0 when the two files disagree. */
static inline size_t tok_parse_cases(const char *inp, size_t inp_len, const char *out,
                                     size_t out_len, tok_case **out_cases) {
    static const char sep[] = "\n__ggml_vocab_test__\n";
    size_t sep_len = sizeof sep - 1, n = 0, cap = 16;
    tok_case *cases = calloc(cap, sizeof *cases);
    const char *p = inp, *end = inp + inp_len, *line = out, *out_end = out + out_len;
    while (cases && p < end) {
        const char *hit = NULL;
        for (const char *q = p; q + sep_len <= end && !hit; q++)
            if (memcmp(q, sep, sep_len) == 0) hit = q;
        if (n == cap) cases = realloc(cases, (cap *= 2) * sizeof *cases);
        if (!cases || line >= out_end) break;
        const char *nl = memchr(line, '\n', (size_t)(out_end - line));
        if (!nl) nl = out_end;
        cases[n].text = p;
        cases[n].len = (size_t)((hit ? hit : end) - p);
        cases[n].ids = tok_parse_ids(line, (size_t)(nl - line), &cases[n].n_ids);
        n++;
        line = nl + 1;
        p = hit ? hit + sep_len : end;
    }
    if (!cases || line < out_end) {
        tok_cases_free(cases, n);
        return 0;
    }
    *out_cases = cases;
    return n;
}

static inline int tok_ids_equal(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static inline void tok_print_ids(const char *label, const int32_t *ids, size_t n) {
    fprintf(stderr, "    %s:", label);
    for (size_t i = 0; i < n && i < 64; i++)
        fprintf(stderr, " %d", (int)ids[i]);
    fprintf(stderr, n > 64 ? " ...\n" : "\n");
}

#endif
