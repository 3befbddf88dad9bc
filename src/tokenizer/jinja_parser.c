/* Statement half of the parser: text, {{ output }}, and the block tags HF chat templates use
 * (if/elif/else, for/else with loop filters, set and block set, macro, call, filter, with,
 * raw via the lexer, break/continue, generation, block). Unknown tags such as {% do %} or
 * {% include %} are syntax errors, as in Hugging Face's sandboxed Jinja2. */
#include "tokenizer/jinja_parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer/jinja_parser_internal.h"
#include "util/status.h"

/* ---- helpers shared with jinja_parser_expr.c --------------------------------------------- */

ifn_status ifn_jinja_parser_error(const ifn_jinja_parser *p, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ifn_fail(IFN_E_FORMAT, "template syntax error at line %d: %s",
                    (int)ifn_jinja_parser_peek(p)->line, msg);
}

ifn_jinja_node *ifn_jinja_parser_new_node(ifn_jinja_parser *p, ifn_jinja_node_type type) {
    ifn_jinja_node *n = ifn_jinja_arena_alloc(p->arena, sizeof *n);
    if (!n) return NULL;
    n->type = type;
    n->line = ifn_jinja_parser_peek(p)->line;
    return n;
}

ifn_status ifn_jinja_parser_push(ifn_jinja_parser *p, ifn_jinja_node_vec *vec,
                                 ifn_jinja_node *node) {
    if (vec->n == vec->cap) {
        int32_t cap = vec->cap ? vec->cap * 2 : 4;
        ifn_jinja_node **items = ifn_jinja_arena_array(p->arena, (size_t)cap, sizeof *items);
        if (!items) return IFN_E_NOMEM;
        if (vec->n) memcpy(items, vec->items, (size_t)vec->n * sizeof *items);
        vec->items = items;
        vec->cap = cap;
    }
    vec->items[vec->n++] = node;
    return IFN_OK;
}

const ifn_jinja_token *ifn_jinja_parser_next(ifn_jinja_parser *p) {
    const ifn_jinja_token *t = &p->tokens[p->pos];
    if (t->type != IFN_JINJA_TOK_EOF) p->pos++;
    return t;
}

int ifn_jinja_parser_is_op(const ifn_jinja_parser *p, const char *s) {
    const ifn_jinja_token *t = ifn_jinja_parser_peek(p);
    return t->type == IFN_JINJA_TOK_OP && ifn_str_eq_cstr(t->text, s);
}

int ifn_jinja_parser_is_name(const ifn_jinja_parser *p, const char *s) {
    const ifn_jinja_token *t = ifn_jinja_parser_peek(p);
    return t->type == IFN_JINJA_TOK_NAME && ifn_str_eq_cstr(t->text, s);
}

int ifn_jinja_parser_accept_op(ifn_jinja_parser *p, const char *s) {
    if (!ifn_jinja_parser_is_op(p, s)) return 0;
    p->pos++;
    return 1;
}

int ifn_jinja_parser_accept_name(ifn_jinja_parser *p, const char *s) {
    if (!ifn_jinja_parser_is_name(p, s)) return 0;
    p->pos++;
    return 1;
}

ifn_status ifn_jinja_parser_expect_op(ifn_jinja_parser *p, const char *s) {
    if (ifn_jinja_parser_accept_op(p, s)) return IFN_OK;
    const ifn_jinja_token *t = ifn_jinja_parser_peek(p);
    if (t->type == IFN_JINJA_TOK_OP || t->type == IFN_JINJA_TOK_NAME)
        return ifn_jinja_parser_error(p, "expected '%s', found '%.*s'", s, (int)t->text.len,
                                      t->text.ptr);
    return ifn_jinja_parser_error(p, "expected '%s'", s);
}

/* ---- bodies ------------------------------------------------------------------------------ */

static ifn_status expect_block_end(ifn_jinja_parser *p) {
    if (ifn_jinja_parser_next(p)->type == IFN_JINJA_TOK_BLOCK_END) return IFN_OK;
    p->pos--;
    const ifn_jinja_token *t = ifn_jinja_parser_peek(p);
    return ifn_jinja_parser_error(p, "expected end of block tag, found '%.*s'", (int)t->text.len,
                                  t->text.ptr);
}

static ifn_status parse_statement(ifn_jinja_parser *p, ifn_jinja_node **out);

/* Statements up to a block tag whose first word is in `ends` (NULL-terminated). The
 * tokens "{%" and the word are consumed; *out_end says which word it was. With ends == NULL
 * the body runs to the end of the template. */
static ifn_status parse_body(ifn_jinja_parser *p, const char *const *ends, ifn_jinja_node ***out,
                             int32_t *out_n, const char **out_end) {
    ifn_jinja_node_vec body = {0};
    if (++p->depth > IFN_JINJA_MAX_NESTING)
        return ifn_jinja_parser_error(p, "blocks nested too deeply");
    for (;;) {
        const ifn_jinja_token *t = ifn_jinja_parser_peek(p);
        ifn_jinja_node *node = NULL;
        ifn_status st;
        if (t->type == IFN_JINJA_TOK_EOF) {
            if (!ends) break;
            return ifn_jinja_parser_error(p, "unexpected end of template, expected '{%% %s %%}'",
                                          ends[0]);
        }
        if (t->type == IFN_JINJA_TOK_BLOCK_BEGIN && ends && t[1].type == IFN_JINJA_TOK_NAME) {
            const char *hit = NULL;
            for (size_t i = 0; ends[i] && !hit; i++)
                if (ifn_str_eq_cstr(t[1].text, ends[i])) hit = ends[i];
            if (hit) {
                p->pos += 2;
                *out_end = hit;
                break;
            }
        }
        if (t->type == IFN_JINJA_TOK_TEXT) {
            ifn_jinja_parser_next(p);
            if (!(node = ifn_jinja_parser_new_node(p, IFN_JINJA_N_TEXT))) return IFN_E_NOMEM;
            node->name = t->text;
            st = IFN_OK;
        } else if (t->type == IFN_JINJA_TOK_VAR_BEGIN) {
            ifn_jinja_parser_next(p);
            if (!(node = ifn_jinja_parser_new_node(p, IFN_JINJA_N_OUTPUT))) return IFN_E_NOMEM;
            st = ifn_jinja_parser_expr_tuple(p, 1, &node->a);
            if (st == IFN_OK && ifn_jinja_parser_next(p)->type != IFN_JINJA_TOK_VAR_END) {
                p->pos--;
                st = ifn_jinja_parser_error(p, "expected '}}'");
            }
        } else if (t->type == IFN_JINJA_TOK_BLOCK_BEGIN) {
            ifn_jinja_parser_next(p);
            st = parse_statement(p, &node);
        } else {
            return ifn_jinja_parser_error(p, "unexpected '%.*s'", (int)t->text.len, t->text.ptr);
        }
        if (st == IFN_OK && node) st = ifn_jinja_parser_push(p, &body, node);
        if (st != IFN_OK) return st;
    }
    p->depth--;
    *out = body.items;
    *out_n = body.n;
    return IFN_OK;
}

/* Parses a body that must end with exactly `end`, then the tag's closing "%}". */
static ifn_status parse_body_until(ifn_jinja_parser *p, const char *end, ifn_jinja_node *node) {
    const char *ends[] = {end, NULL};
    const char *hit = NULL;
    ifn_status st = parse_body(p, ends, &node->kids, &node->n_kids, &hit);
    return st == IFN_OK ? expect_block_end(p) : st;
}

/* ---- statements -------------------------------------------------------------------------- */

/* After "if" or "elif": condition, body, and the elif/else chain through `endif`. */
static ifn_status parse_if(ifn_jinja_parser *p, ifn_jinja_node *node) {
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    const char *hit = NULL;
    ifn_status st = ifn_jinja_parser_expr_tuple(p, 0, &node->a);
    if (st == IFN_OK) st = expect_block_end(p);
    if (st == IFN_OK) st = parse_body(p, ends, &node->kids, &node->n_kids, &hit);
    if (st != IFN_OK) return st;
    if (strcmp(hit, "endif") == 0) return expect_block_end(p);
    if (strcmp(hit, "else") == 0) {
        static const char *const endif[] = {"endif", NULL};
        st = expect_block_end(p);
        if (st == IFN_OK) st = parse_body(p, endif, &node->alt, &node->n_alt, &hit);
        return st == IFN_OK ? expect_block_end(p) : st;
    }
    ifn_jinja_node *elif = ifn_jinja_parser_new_node(p, IFN_JINJA_N_IF);
    node->alt = ifn_jinja_arena_alloc(p->arena, sizeof *node->alt);
    if (!elif || !node->alt) return IFN_E_NOMEM;
    node->alt[0] = elif;
    node->n_alt = 1;
    return parse_if(p, elif);
}

/* Assignment targets: a name, names separated by commas, or (set only) name.attr. */
static ifn_status parse_target(ifn_jinja_parser *p, int allow_attr, ifn_jinja_node **out) {
    ifn_jinja_node_vec names = {0};
    do {
        const ifn_jinja_token *t = ifn_jinja_parser_next(p);
        if (t->type != IFN_JINJA_TOK_NAME) {
            p->pos--;
            return ifn_jinja_parser_error(p, "expected a variable name");
        }
        ifn_jinja_node *n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_NAME);
        if (!n) return IFN_E_NOMEM;
        n->name = t->text;
        if (allow_attr && names.n == 0 && ifn_jinja_parser_accept_op(p, ".")) {
            const ifn_jinja_token *attr = ifn_jinja_parser_next(p);
            if (attr->type != IFN_JINJA_TOK_NAME)
                return ifn_jinja_parser_error(p, "expected an attribute name after '.'");
            ifn_jinja_node *g = ifn_jinja_parser_new_node(p, IFN_JINJA_N_GETATTR);
            if (!g) return IFN_E_NOMEM;
            g->a = n;
            g->name = attr->text;
            *out = g;
            return IFN_OK;
        }
        ifn_status st = ifn_jinja_parser_push(p, &names, n);
        if (st != IFN_OK) return st;
    } while (ifn_jinja_parser_accept_op(p, ","));
    if (names.n == 1) {
        *out = names.items[0];
        return IFN_OK;
    }
    ifn_jinja_node *tuple = ifn_jinja_parser_new_node(p, IFN_JINJA_N_TUPLE);
    if (!tuple) return IFN_E_NOMEM;
    tuple->kids = names.items;
    tuple->n_kids = names.n;
    *out = tuple;
    return IFN_OK;
}

static ifn_status parse_for(ifn_jinja_parser *p, ifn_jinja_node *node) {
    static const char *const ends[] = {"else", "endfor", NULL};
    const char *hit = NULL;
    ifn_status st = parse_target(p, 0, &node->a);
    if (st != IFN_OK) return st;
    if (!ifn_jinja_parser_accept_name(p, "in")) return ifn_jinja_parser_error(p, "expected 'in'");
    st = ifn_jinja_parser_expr_tuple(p, 0, &node->b);
    if (st == IFN_OK && ifn_jinja_parser_accept_name(p, "if"))
        st = ifn_jinja_parser_expr_parse(p, 1, &node->c);
    if (st == IFN_OK && ifn_jinja_parser_is_name(p, "recursive"))
        return ifn_jinja_parser_error(p, "recursive loops are not supported");
    if (st == IFN_OK) st = expect_block_end(p);
    p->loop_depth++;
    if (st == IFN_OK) st = parse_body(p, ends, &node->kids, &node->n_kids, &hit);
    p->loop_depth--;
    if (st == IFN_OK) st = expect_block_end(p);
    if (st != IFN_OK || strcmp(hit, "endfor") == 0) return st;
    static const char *const endfor[] = {"endfor", NULL};
    st = parse_body(p, endfor, &node->alt, &node->n_alt, &hit); /* else: no loop here */
    return st == IFN_OK ? expect_block_end(p) : st;
}

static ifn_status parse_set(ifn_jinja_parser *p, ifn_jinja_node *node) {
    ifn_status st = parse_target(p, 1, &node->a);
    if (st != IFN_OK) return st;
    if (ifn_jinja_parser_accept_op(p, "=")) {
        st = ifn_jinja_parser_expr_tuple(p, 1, &node->b);
        return st == IFN_OK ? expect_block_end(p) : st;
    }
    node->type = IFN_JINJA_N_SET_BLOCK;
    if (ifn_jinja_parser_accept_op(p, "|"))
        st = ifn_jinja_parser_expr_filter_chain(p, NULL, &node->c);
    if (st == IFN_OK) st = expect_block_end(p);
    return st == IFN_OK ? parse_body_until(p, "endset", node) : st;
}

/* Parameter list "(a, b=default)" into node->alt as N_NAME nodes with defaults in ->a. */
static ifn_status parse_params(ifn_jinja_parser *p, ifn_jinja_node *node) {
    ifn_jinja_node_vec params = {0};
    ifn_status st = ifn_jinja_parser_expect_op(p, "(");
    while (st == IFN_OK && !ifn_jinja_parser_accept_op(p, ")")) {
        if (params.n > 0 && (st = ifn_jinja_parser_expect_op(p, ",")) != IFN_OK) break;
        if (params.n > 0 && ifn_jinja_parser_accept_op(p, ")")) break;
        const ifn_jinja_token *t = ifn_jinja_parser_next(p);
        if (t->type != IFN_JINJA_TOK_NAME)
            return ifn_jinja_parser_error(p, "expected a parameter name");
        ifn_jinja_node *param = ifn_jinja_parser_new_node(p, IFN_JINJA_N_NAME);
        if (!param) return IFN_E_NOMEM;
        param->name = t->text;
        if (ifn_jinja_parser_accept_op(p, "=")) st = ifn_jinja_parser_expr_parse(p, 1, &param->a);
        if (st == IFN_OK) st = ifn_jinja_parser_push(p, &params, param);
    }
    node->alt = params.items;
    node->n_alt = params.n;
    return st;
}

static ifn_status parse_macro(ifn_jinja_parser *p, ifn_jinja_node *node) {
    const ifn_jinja_token *t = ifn_jinja_parser_next(p);
    if (t->type != IFN_JINJA_TOK_NAME) return ifn_jinja_parser_error(p, "expected a macro name");
    node->name = t->text;
    ifn_status st = parse_params(p, node);
    if (st == IFN_OK) st = expect_block_end(p);
    int loop_depth = p->loop_depth;
    p->loop_depth = 0; /* break inside a macro cannot leave the caller's loop */
    if (st == IFN_OK) st = parse_body_until(p, "endmacro", node);
    p->loop_depth = loop_depth;
    return st;
}

static ifn_status parse_call_block(ifn_jinja_parser *p, ifn_jinja_node *node) {
    ifn_status st = IFN_OK;
    if (ifn_jinja_parser_is_op(p, "(")) st = parse_params(p, node);
    if (st == IFN_OK) st = ifn_jinja_parser_expr_parse(p, 1, &node->a);
    if (st == IFN_OK && node->a->type != IFN_JINJA_N_CALL)
        return ifn_jinja_parser_error(p, "{%% call %%} needs a macro call");
    if (st == IFN_OK) st = expect_block_end(p);
    int loop_depth = p->loop_depth;
    p->loop_depth = 0;
    if (st == IFN_OK) st = parse_body_until(p, "endcall", node);
    p->loop_depth = loop_depth;
    return st;
}

static ifn_status parse_with(ifn_jinja_parser *p, ifn_jinja_node *node) {
    ifn_jinja_node_vec sets = {0};
    ifn_status st = IFN_OK;
    while (st == IFN_OK && ifn_jinja_parser_peek(p)->type != IFN_JINJA_TOK_BLOCK_END) {
        if (sets.n > 0 && (st = ifn_jinja_parser_expect_op(p, ",")) != IFN_OK) break;
        ifn_jinja_node *set = ifn_jinja_parser_new_node(p, IFN_JINJA_N_SET);
        if (!set) return IFN_E_NOMEM;
        st = parse_target(p, 0, &set->a);
        if (st == IFN_OK) st = ifn_jinja_parser_expect_op(p, "=");
        if (st == IFN_OK) st = ifn_jinja_parser_expr_parse(p, 1, &set->b);
        if (st == IFN_OK) st = ifn_jinja_parser_push(p, &sets, set);
    }
    node->alt = sets.items;
    node->n_alt = sets.n;
    if (st == IFN_OK) st = expect_block_end(p);
    return st == IFN_OK ? parse_body_until(p, "endwith", node) : st;
}

static ifn_status parse_loop_control(ifn_jinja_parser *p, ifn_jinja_node *node, const char *word) {
    if (p->loop_depth == 0) return ifn_jinja_parser_error(p, "'%s' outside of a loop", word);
    (void)node;
    return expect_block_end(p);
}

/* {% block name %} and {% generation %} render their body in place. */
static ifn_status parse_plain_block(ifn_jinja_parser *p, ifn_jinja_node *node, int named) {
    if (named && ifn_jinja_parser_next(p)->type != IFN_JINJA_TOK_NAME)
        return ifn_jinja_parser_error(p, "expected a block name");
    while (named && ifn_jinja_parser_peek(p)->type == IFN_JINJA_TOK_NAME)
        ifn_jinja_parser_next(p);
    ifn_status st = expect_block_end(p);
    if (st != IFN_OK) return st;
    static const char *const ends[2][2] = {{"endgeneration", NULL}, {"endblock", NULL}};
    const char *hit = NULL;
    st = parse_body(p, ends[named], &node->kids, &node->n_kids, &hit);
    while (st == IFN_OK && named && ifn_jinja_parser_peek(p)->type == IFN_JINJA_TOK_NAME)
        ifn_jinja_parser_next(p);
    return st == IFN_OK ? expect_block_end(p) : st;
}

static ifn_status parse_filter_block(ifn_jinja_parser *p, ifn_jinja_node *node) {
    ifn_status st = ifn_jinja_parser_expr_filter_chain(p, NULL, &node->a);
    if (st == IFN_OK) st = expect_block_end(p);
    return st == IFN_OK ? parse_body_until(p, "endfilter", node) : st;
}

typedef struct statement_kind {
    const char *word;
    ifn_jinja_node_type type;
} statement_kind;

/* After "{%": the statement named by the first word. */
static ifn_status parse_statement(ifn_jinja_parser *p, ifn_jinja_node **out) {
    static const statement_kind kinds[] = {
        {"if", IFN_JINJA_N_IF},
        {"for", IFN_JINJA_N_FOR},
        {"set", IFN_JINJA_N_SET},
        {"macro", IFN_JINJA_N_MACRO},
        {"call", IFN_JINJA_N_CALL_BLOCK},
        {"filter", IFN_JINJA_N_FILTER_BLOCK},
        {"with", IFN_JINJA_N_WITH},
        {"break", IFN_JINJA_N_BREAK},
        {"continue", IFN_JINJA_N_CONTINUE},
        {"generation", IFN_JINJA_N_BLOCK},
        {"block", IFN_JINJA_N_BLOCK},
    };
    const ifn_jinja_token *t = ifn_jinja_parser_peek(p);
    if (t->type != IFN_JINJA_TOK_NAME) return ifn_jinja_parser_error(p, "expected a tag name");
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] && !ifn_str_eq_cstr(t->text, kinds[k].word))
        k++;
    if (k == sizeof kinds / sizeof kinds[0])
        return ifn_jinja_parser_error(p, "unknown tag '%.*s'", (int)t->text.len, t->text.ptr);
    ifn_jinja_node *node = ifn_jinja_parser_new_node(p, kinds[k].type);
    if (!node) return IFN_E_NOMEM;
    ifn_jinja_parser_next(p);
    *out = node;
    switch (node->type) {
    case IFN_JINJA_N_IF:
        return parse_if(p, node);
    case IFN_JINJA_N_FOR:
        return parse_for(p, node);
    case IFN_JINJA_N_SET:
        return parse_set(p, node);
    case IFN_JINJA_N_MACRO:
        return parse_macro(p, node);
    case IFN_JINJA_N_CALL_BLOCK:
        return parse_call_block(p, node);
    case IFN_JINJA_N_FILTER_BLOCK:
        return parse_filter_block(p, node);
    case IFN_JINJA_N_WITH:
        return parse_with(p, node);
    case IFN_JINJA_N_BREAK:
        return parse_loop_control(p, node, "break");
    case IFN_JINJA_N_CONTINUE:
        return parse_loop_control(p, node, "continue");
    default:
        return parse_plain_block(p, node, ifn_str_eq_cstr(t->text, "block"));
    }
}

ifn_status ifn_jinja_parser_run(ifn_jinja_arena *arena, const ifn_jinja_token *tokens,
                                size_t n_tokens, ifn_jinja_node **out_root) {
    ifn_jinja_parser p = {.arena = arena, .tokens = tokens, .n_tokens = n_tokens};
    ifn_jinja_node *root = ifn_jinja_parser_new_node(&p, IFN_JINJA_N_BLOCK);
    if (!root) return IFN_E_NOMEM;
    const char *hit = NULL;
    ifn_status st = parse_body(&p, NULL, &root->kids, &root->n_kids, &hit);
    if (st != IFN_OK) return st;
    *out_root = root;
    return IFN_OK;
}
