/* `inferneo tokenize` / `inferneo detokenize`: text <-> token ids with a model's tokenizer.
 * Input comes byte for byte from --file or stdin; ids are printed on one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "engine/llm.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/status.h"

typedef struct tok_options {
    ifn_llm_params load;
    const char *file;
    int add_special;
    int parse_special;
} tok_options;

static void print_tok_usage(FILE *out, const char *cmd) {
    fprintf(out,
            "usage: inferneo %s -m MODEL [-z TOKENIZER] [--file F]%s\n"
            "\n"
            "%s\n"
            "  -m, --model PATH       model file (.gguf, or llama2.c .bin)\n"
            "  -z, --tokenizer PATH   llama2.c tokenizer.bin (default: beside the model)\n"
            "  -f, --file F           read input from F (default: stdin)\n",
            cmd, strcmp(cmd, "tokenize") == 0 ? " [--no-bos] [--parse-special]" : "",
            strcmp(cmd, "tokenize") == 0
                ? "Prints the token ids of the input text (taken byte for byte) on one line."
                : "Reads whitespace-separated token ids and prints their text.");
    if (strcmp(cmd, "tokenize") == 0)
        fprintf(out, "      --no-bos           add no BOS/EOS tokens\n"
                     "      --parse-special    map text of control tokens to their ids\n");
}

static int parse_tok_options(int argc, char **argv, tok_options *o) {
    o->load = ifn_llm_params_default();
    o->load.n_ctx = 1; /* no generation: keep the KV cache tiny */
    o->add_special = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        ifn_status st = IFN_OK;
        if (ifn_args_is(a, "-m", "--model")) st = ifn_args_value(argc, argv, &i, &o->load.model_path);
        else if (ifn_args_is(a, "-z", "--tokenizer"))
            st = ifn_args_value(argc, argv, &i, &o->load.tokenizer_path);
        else if (ifn_args_is(a, "-f", "--file")) st = ifn_args_value(argc, argv, &i, &o->file);
        else if (ifn_args_is(a, NULL, "--no-bos") && strcmp(argv[0], "tokenize") == 0)
            o->add_special = 0;
        else if (ifn_args_is(a, NULL, "--parse-special") && strcmp(argv[0], "tokenize") == 0)
            o->parse_special = 1;
        else st = ifn_fail(IFN_E_INVALID, "unknown option '%s'", a);
        if (st != IFN_OK) return 0;
    }
    if (!o->load.model_path) {
        ifn_fail(IFN_E_INVALID, "-m MODEL is required");
        return 0;
    }
    return 1;
}

/* Reads all of a stream into an ifn_malloc'd buffer. */
static char *read_all(FILE *fp, size_t *out_len) {
    size_t cap = 4096, len = 0;
    char *buf = ifn_malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, fp);
        if (len < cap) break;
        char *grown = ifn_realloc(buf, cap * 2);
        if (!grown) {
            ifn_free(buf);
            return NULL;
        }
        buf = grown;
        cap *= 2;
    }
    if (buf && ferror(fp)) {
        ifn_free(buf);
        return NULL;
    }
    *out_len = len;
    return buf;
}

static char *read_input(const char *file, size_t *out_len) {
    FILE *fp = file ? fopen(file, "rb") : stdin;
    if (!fp) {
        fprintf(stderr, "inferneo: cannot open %s\n", file);
        return NULL;
    }
    char *data = read_all(fp, out_len);
    if (file) fclose(fp);
    if (!data) fprintf(stderr, "inferneo: cannot read %s\n", file ? file : "stdin");
    return data;
}

static int tokenize_input(const ifn_llm *llm, const tok_options *o, const char *text, size_t len) {
    int32_t *ids = NULL;
    size_t n = 0;
    if (ifn_llm_tokenize(llm, text, len, o->add_special, o->parse_special, &ids, &n) != IFN_OK) {
        fprintf(stderr, "inferneo: %s\n", ifn_last_error());
        return 1;
    }
    for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
    printf("\n");
    ifn_llm_free(ids);
    return 0;
}

static int detokenize_input(const ifn_llm *llm, const char *text) {
    ifn_token_vec ids = {0};
    const char *p = text;
    int rc = 0;
    while (*p && rc == 0) {
        char *end;
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
        if (!*p) break;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > INT32_MAX) {
            fprintf(stderr, "inferneo: '%.20s' is not a token id\n", p);
            rc = 2;
        } else if (ifn_token_vec_push(&ids, (int32_t)v) != IFN_OK) {
            rc = 1;
        }
        p = end;
    }
    char *out = NULL;
    size_t out_len = 0;
    const ifn_vocab *vocab = ifn_llm_vocab(llm);
    int flags = ifn_vocab_adds_space_prefix(vocab) ? IFN_DETOKENIZE_STRIP_LEADING : 0;
    if (rc == 0 && ifn_vocab_detokenize(vocab, ids.ids, ids.count, flags, &out, &out_len) != IFN_OK) {
        fprintf(stderr, "inferneo: %s\n", ifn_last_error());
        rc = 1;
    }
    if (rc == 0) fwrite(out, 1, out_len, stdout);
    ifn_free(out);
    ifn_token_vec_free(&ids);
    return rc;
}

static int run_tok_command(int argc, char **argv, int is_tokenize) {
    if (ifn_args_wants_help(argc, argv)) {
        print_tok_usage(stdout, argv[0]);
        return 0;
    }
    ifn_log_set_level(IFN_LOG_LEVEL_WARN);
    tok_options o = {0};
    if (!parse_tok_options(argc, argv, &o)) {
        fprintf(stderr, "inferneo %s: %s\n", argv[0], ifn_last_error());
        print_tok_usage(stderr, argv[0]);
        return 2;
    }
    ifn_llm *llm = NULL;
    if (ifn_llm_load(&o.load, &llm) != IFN_OK) {
        fprintf(stderr, "inferneo: %s\n", ifn_last_error());
        return 1;
    }
    size_t len = 0;
    char *text = read_input(o.file, &len);
    int rc = 1;
    if (text && is_tokenize) rc = tokenize_input(llm, &o, text, len);
    if (text && !is_tokenize) {
        char *terminated = ifn_strndup(text, len);
        rc = terminated ? detokenize_input(llm, terminated) : 1;
        ifn_free(terminated);
    }
    ifn_free(text);
    ifn_llm_destroy(llm);
    return rc;
}

int ifn_cmd_tokenize_main(int argc, char **argv) {
    return run_tok_command(argc, argv, 1);
}

int ifn_cmd_tokenize_detokenize_main(int argc, char **argv) {
    return run_tok_command(argc, argv, 0);
}
