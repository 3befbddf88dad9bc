/* `inferneo template`: renders a chat template with the variables of a JSON file and writes
 * the text to stdout byte for byte; a syntax error or a template that raises exits 1 with
 * the message on stderr. For checking templates against reference renderings. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "tokenizer/chat_template.h"
#include "util/alloc.h"
#include "util/status.h"

typedef struct template_options {
    const char *file;
    const char *builtin;
    const char *vars;
    int list;
} template_options;

static void print_template_usage(FILE *out) {
    fprintf(out, "usage: inferneo template (--file TEMPLATE | --builtin NAME) [--vars VARS.json]\n"
                 "       inferneo template --list\n"
                 "\n"
                 "Renders a chat template (Jinja2, as Hugging Face applies it) to stdout.\n"
                 "  -f, --file PATH        template source\n"
                 "  -b, --builtin NAME     a built-in template instead (see --list)\n"
                 "  -v, --vars PATH        JSON object of variables: messages,\n"
                 "                         add_generation_prompt, bos_token, eos_token, tools...\n"
                 "      --list             print the names of the built-in templates\n");
}

static int parse_template_options(int argc, char **argv, template_options *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        ifn_status st = IFN_OK;
        if (ifn_args_is(a, "-f", "--file"))
            st = ifn_args_value(argc, argv, &i, &o->file);
        else if (ifn_args_is(a, "-b", "--builtin"))
            st = ifn_args_value(argc, argv, &i, &o->builtin);
        else if (ifn_args_is(a, "-v", "--vars"))
            st = ifn_args_value(argc, argv, &i, &o->vars);
        else if (ifn_args_is(a, NULL, "--list"))
            o->list = 1;
        else
            st = ifn_fail(IFN_E_INVALID, "unknown option '%s'", a);
        if (st != IFN_OK) return 0;
    }
    if (!o->list && !o->file == !o->builtin) {
        ifn_fail(IFN_E_INVALID, "give exactly one of --file and --builtin");
        return 0;
    }
    return 1;
}

/* The whole file in an ifn_malloc'd buffer; NULL (with a message printed) on failure. */
static char *read_file(const char *path, size_t *out_len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "inferneo template: cannot open %s\n", path);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = ifn_malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, fp);
        if (len < cap) break;
        char *grown = ifn_realloc(buf, cap * 2);
        if (!grown) {
            ifn_free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    if (buf && ferror(fp)) {
        ifn_free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (!buf) fprintf(stderr, "inferneo template: cannot read %s\n", path);
    *out_len = len;
    return buf;
}

static int render(const char *source, size_t len, const json_t *vars) {
    ifn_chat_template *tmpl = NULL;
    char *text = NULL;
    size_t text_len = 0;
    int rc = 1;
    if (ifn_chat_template_create(source, len, &tmpl) == IFN_OK &&
        ifn_chat_template_render(tmpl, vars, &text, &text_len) == IFN_OK) {
        rc = fwrite(text, 1, text_len, stdout) == text_len && fflush(stdout) == 0 ? 0 : 1;
        if (rc) fprintf(stderr, "inferneo template: cannot write the output\n");
    } else {
        fprintf(stderr, "inferneo template: %s\n", ifn_last_error());
    }
    ifn_free(text);
    ifn_chat_template_destroy(tmpl);
    return rc;
}

int ifn_cmd_template_main(int argc, char **argv) {
    template_options o = {0};
    if (ifn_args_wants_help(argc, argv)) {
        print_template_usage(stdout);
        return 0;
    }
    if (!parse_template_options(argc, argv, &o)) {
        fprintf(stderr, "inferneo template: %s\n", ifn_last_error());
        print_template_usage(stderr);
        return 2;
    }
    if (o.list) {
        for (size_t i = 0; ifn_chat_template_builtin_name(i); i++)
            printf("%s\n", ifn_chat_template_builtin_name(i));
        return 0;
    }
    json_t *vars = NULL;
    if (o.vars) {
        json_error_t err;
        vars = json_load_file(o.vars, JSON_DECODE_ANY, &err);
        if (!vars || !json_is_object(vars)) {
            fprintf(stderr, "inferneo template: %s: %s\n", o.vars,
                    vars ? "not a JSON object" : err.text);
            json_decref(vars);
            return 1;
        }
    }
    int rc = 1;
    if (o.builtin) {
        const char *source = ifn_chat_template_builtin(o.builtin);
        if (source)
            rc = render(source, strlen(source), vars);
        else
            fprintf(stderr, "inferneo template: no built-in template '%s'\n", o.builtin);
    } else {
        size_t len = 0;
        char *source = read_file(o.file, &len);
        if (source) rc = render(source, len, vars);
        ifn_free(source);
    }
    json_decref(vars);
    return rc;
}
