/* Public chat-template API: parse once (lexer + parser into an arena owned by the template),
 * render many times (a fresh arena and context per render, freed before returning). */
#include "tokenizer/chat_template.h"

#include <stdio.h>
#include <string.h>

#include "tokenizer/jinja_exec.h"
#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_json.h"
#include "tokenizer/jinja_lexer.h"
#include "tokenizer/jinja_parser.h"
#include "util/alloc.h"
#include "util/status.h"

struct ifn_chat_template {
    ifn_jinja_arena *arena; /* tokens and syntax tree */
    ifn_jinja_node *root;
    ifn_chat_template_limits limits;
};

ifn_chat_template_limits ifn_chat_template_limits_default(void) {
    ifn_chat_template_limits l;
    l.max_output_bytes = (size_t)16 << 20;
    l.max_memory_bytes = (size_t)512 << 20;
    l.max_steps = 1000000;
    l.max_call_depth = 100;
    return l;
}

ifn_status ifn_chat_template_create(const char *source, size_t len,
                                    ifn_chat_template **out_template) {
    ifn_chat_template *t = NULL;
    ifn_jinja_token *tokens = NULL;
    size_t n_tokens = 0;
    ifn_status st;
    if (!source && len) return ifn_fail(IFN_E_INVALID, "chat template: no source");
    t = ifn_calloc(1, sizeof *t);
    if (!t) return ifn_fail(IFN_E_NOMEM, "chat template: out of memory");
    t->limits = ifn_chat_template_limits_default();
    st = ifn_jinja_arena_create(0, &t->arena);
    if (st == IFN_OK)
        st = ifn_jinja_lexer_run(t->arena, source ? source : "", len, &tokens, &n_tokens);
    if (st == IFN_OK) st = ifn_jinja_parser_run(t->arena, tokens, n_tokens, &t->root);
    if (st == IFN_E_NOMEM) ifn_fail(st, "chat template: out of memory while parsing");
    if (st != IFN_OK) goto out;
    *out_template = t;
    t = NULL;
out:
    ifn_chat_template_destroy(t);
    return st;
}

void ifn_chat_template_set_limits(ifn_chat_template *tmpl, const ifn_chat_template_limits *limits) {
    tmpl->limits = *limits;
}

void ifn_chat_template_destroy(ifn_chat_template *tmpl) {
    if (!tmpl) return;
    ifn_jinja_arena_destroy(tmpl->arena);
    ifn_free(tmpl);
}

/* Gives a failure its final message: raise_exception's text stays as written, other
 * template errors get the line, memory exhaustion caused by the cap becomes IFN_E_FULL. */
static ifn_status finish_error(const ifn_jinja_ctx *ctx, ifn_status st, size_t memory_cap) {
    if (st == IFN_E_NOMEM && ifn_jinja_arena_over_limit(ctx->arena))
        return ifn_fail(IFN_E_FULL, "template used more than %zu bytes of memory (line %d)",
                        memory_cap, (int)ctx->line);
    if (st == IFN_E_NOMEM) return ifn_fail(st, "chat template: out of memory");
    if (ctx->error_raised) return st;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", ifn_last_error());
    return ifn_fail(st, "%s (template line %d)", msg, (int)ctx->line);
}

/* Turns the JSON object of variables into the render's outermost scope. */
static ifn_status bind_variables(ifn_jinja_ctx *ctx, const json_t *variables,
                                 ifn_jinja_frame *root) {
    if (!variables) return IFN_OK;
    if (!json_is_object(variables))
        return ifn_fail(IFN_E_INVALID, "chat template variables must be a JSON object");
    ifn_jinja_value v = {0};
    ifn_status st = ifn_jinja_json_from_jansson(ctx->arena, variables, &v);
    if (st == IFN_OK) root->vars = v.as.dict;
    return st;
}

static ifn_status copy_out(ifn_str text, char **out_text, size_t *out_len) {
    char *copy = ifn_malloc(text.len + 1);
    if (!copy) return ifn_fail(IFN_E_NOMEM, "chat template: out of memory for the output");
    if (text.len) memcpy(copy, text.ptr, text.len);
    copy[text.len] = '\0';
    *out_text = copy;
    if (out_len) *out_len = text.len;
    return IFN_OK;
}

ifn_status ifn_chat_template_render(const ifn_chat_template *tmpl, const json_t *variables,
                                    char **out_text, size_t *out_len) {
    if (!tmpl || !out_text) return ifn_fail(IFN_E_INVALID, "chat template: no template");
    const ifn_chat_template_limits *lim = &tmpl->limits;
    ifn_jinja_ctx ctx = {0};
    ifn_jinja_frame root = {0};
    ifn_jinja_buf out;
    ifn_status st = ifn_jinja_arena_create(lim->max_memory_bytes, &ctx.arena);
    if (st != IFN_OK) return ifn_fail(st, "chat template: out of memory");
    ctx.frame = &root;
    ctx.out = &out;
    ctx.max_output_bytes = lim->max_output_bytes;
    ctx.max_steps = lim->max_steps;
    ctx.max_call_depth = lim->max_call_depth;
    ifn_jinja_text_init(&out, ctx.arena, lim->max_output_bytes);
    st = bind_variables(&ctx, variables, &root);
    if (st == IFN_OK) st = ifn_jinja_exec_body(&ctx, tmpl->root->kids, tmpl->root->n_kids);
    if (st != IFN_OK && st != IFN_E_FULL) st = finish_error(&ctx, st, lim->max_memory_bytes);
    if (st == IFN_OK) st = copy_out(ifn_jinja_text_view(&out), out_text, out_len);
    ifn_jinja_arena_destroy(ctx.arena);
    return st;
}
