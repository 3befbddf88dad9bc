/* Shared state of the two halves of the parser (statements in jinja_parser.c, expressions
 * in jinja_parser_expr.c). Internal to the parser. */
#ifndef IFN_TOKENIZER_JINJA_PARSER_INTERNAL_H
#define IFN_TOKENIZER_JINJA_PARSER_INTERNAL_H

#include "tokenizer/jinja_parser.h"
#include "util/compiler.h"

typedef struct ifn_jinja_parser {
    ifn_jinja_arena *arena;
    const ifn_jinja_token *tokens;
    size_t n_tokens;
    size_t pos;
    int depth;      /* current nesting of expressions and blocks */
    int loop_depth; /* enclosing {% for %} bodies (break/continue need one) */
} ifn_jinja_parser;

/* A growable list of nodes in the arena. */
typedef struct ifn_jinja_node_vec {
    ifn_jinja_node **items;
    int32_t n;
    int32_t cap;
} ifn_jinja_node_vec;

ifn_status ifn_jinja_parser_error(const ifn_jinja_parser *p, const char *fmt, ...) IFN_PRINTF(2, 3);
ifn_jinja_node *ifn_jinja_parser_new_node(ifn_jinja_parser *p, ifn_jinja_node_type type);
ifn_status ifn_jinja_parser_push(ifn_jinja_parser *p, ifn_jinja_node_vec *vec,
                                 ifn_jinja_node *node);

static inline const ifn_jinja_token *ifn_jinja_parser_peek(const ifn_jinja_parser *p) {
    return &p->tokens[p->pos];
}
/* The current token, then moves past it (never past EOF). */
const ifn_jinja_token *ifn_jinja_parser_next(ifn_jinja_parser *p);
/* 1 if the current token is the operator / name `s`. */
int ifn_jinja_parser_is_op(const ifn_jinja_parser *p, const char *s);
int ifn_jinja_parser_is_name(const ifn_jinja_parser *p, const char *s);
/* Consumes the operator / name `s` if it is current; returns whether it did. */
int ifn_jinja_parser_accept_op(ifn_jinja_parser *p, const char *s);
int ifn_jinja_parser_accept_name(ifn_jinja_parser *p, const char *s);
/* Consumes the operator `s` or fails with a syntax error. */
ifn_status ifn_jinja_parser_expect_op(ifn_jinja_parser *p, const char *s);

/* Expression entry points (jinja_parser_expr.c). `with_cond` allows `x if c else y`. */
ifn_status ifn_jinja_parser_expr_parse(ifn_jinja_parser *p, int with_cond, ifn_jinja_node **out);
/* A comma-separated list becomes a tuple; one expression stays itself. */
ifn_status ifn_jinja_parser_expr_tuple(ifn_jinja_parser *p, int with_cond, ifn_jinja_node **out);
/* Filters after `operand` (NULL for {% filter %} and {% set x | f %}): |f(args) |g ... */
ifn_status ifn_jinja_parser_expr_filter_chain(ifn_jinja_parser *p, ifn_jinja_node *operand,
                                              ifn_jinja_node **out);
/* Call arguments after '(' up to and including ')', appended to node->kids. */
ifn_status ifn_jinja_parser_expr_call_args(ifn_jinja_parser *p, ifn_jinja_node *node);

#endif
