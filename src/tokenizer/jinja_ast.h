/* Syntax tree of a parsed chat template. One node struct serves every construct; the comment
 * beside each type says which fields it uses. The tree lives in the template's arena and is
 * read-only after parsing, so concurrent renders may share it. */
#ifndef IFN_TOKENIZER_JINJA_AST_H
#define IFN_TOKENIZER_JINJA_AST_H

#include <stdint.h>

#include "tokenizer/jinja_value.h"

typedef enum ifn_jinja_node_type {
    /* expressions */
    IFN_JINJA_N_LITERAL, /* value */
    IFN_JINJA_N_NAME,    /* name */
    IFN_JINJA_N_LIST,    /* kids: items */
    IFN_JINJA_N_TUPLE,   /* kids: items */
    IFN_JINJA_N_DICT,    /* kids: key0, value0, key1, value1, ... */
    IFN_JINJA_N_GETATTR, /* a.name */
    IFN_JINJA_N_GETITEM, /* a[b] */
    IFN_JINJA_N_SLICE,   /* a[b:c:d]; b, c, d may be NULL */
    IFN_JINJA_N_CALL,    /* a(kids...); keyword arguments are N_KWARG kids */
    IFN_JINJA_N_KWARG,   /* name=a (only inside N_CALL, N_FILTER, N_TEST kids) */
    IFN_JINJA_N_FILTER,  /* a|name(kids...); a is NULL at the bottom of a {% filter %} chain */
    IFN_JINJA_N_TEST,    /* a is [not] name(kids...); op = 1 when negated */
    IFN_JINJA_N_UNARY,   /* op a: op is '-', '+' or 'n' (not) */
    IFN_JINJA_N_BINARY,  /* a op b: op is one of ifn_jinja_binop */
    IFN_JINJA_N_COND,    /* b if a else c; c may be NULL */
    /* statements */
    IFN_JINJA_N_TEXT,         /* name: literal output */
    IFN_JINJA_N_OUTPUT,       /* {{ a }} */
    IFN_JINJA_N_IF,           /* if a: kids, else: alt (an elif is one N_IF in alt) */
    IFN_JINJA_N_FOR,          /* for a (N_NAME or N_TUPLE of names) in b [if c]: kids, else: alt */
    IFN_JINJA_N_SET,          /* a = b; a is N_NAME, N_TUPLE of names or N_GETATTR (ns.attr) */
    IFN_JINJA_N_SET_BLOCK,    /* {% set a [| c] %}kids{% endset %}; c: filter chain or NULL */
    IFN_JINJA_N_MACRO,        /* macro name(alt: N_NAME params, each with default in a): kids */
    IFN_JINJA_N_CALL_BLOCK,   /* {% call(alt params) a %}kids{% endcall %}: a is the N_CALL */
    IFN_JINJA_N_FILTER_BLOCK, /* {% filter a %}kids{% endfilter %}: a is the filter chain */
    IFN_JINJA_N_WITH,         /* {% with alt (N_SET) %}kids{% endwith %} */
    IFN_JINJA_N_BLOCK,        /* kids rendered in place ({% generation %}, {% block %}) */
    IFN_JINJA_N_BREAK,
    IFN_JINJA_N_CONTINUE,
} ifn_jinja_node_type;

typedef enum ifn_jinja_binop {
    IFN_JINJA_OP_ADD = '+',
    IFN_JINJA_OP_SUB = '-',
    IFN_JINJA_OP_MUL = '*',
    IFN_JINJA_OP_DIV = '/',
    IFN_JINJA_OP_MOD = '%',
    IFN_JINJA_OP_CONCAT = '~',
    IFN_JINJA_OP_FLOORDIV = 'f',
    IFN_JINJA_OP_POW = 'p',
    IFN_JINJA_OP_AND = '&',
    IFN_JINJA_OP_OR = '|',
    IFN_JINJA_OP_EQ = '=',
    IFN_JINJA_OP_NE = '!',
    IFN_JINJA_OP_LT = '<',
    IFN_JINJA_OP_LE = 'l',
    IFN_JINJA_OP_GT = '>',
    IFN_JINJA_OP_GE = 'g',
    IFN_JINJA_OP_IN = 'i',
    IFN_JINJA_OP_NOT_IN = 'I',
} ifn_jinja_binop;

/* Implementation of a filter: input | name(args). */
typedef ifn_status (*ifn_jinja_filter_fn)(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                          const ifn_jinja_args *args, ifn_jinja_value *out);
/* Implementation of a test: value is name(args); *out_result is 0 or 1. */
typedef ifn_status (*ifn_jinja_test_fn)(ifn_jinja_ctx *ctx, ifn_jinja_value value,
                                        const ifn_jinja_args *args, int *out_result);

struct ifn_jinja_node {
    ifn_jinja_node_type type;
    int32_t op;
    int32_t line;
    ifn_str name;
    ifn_jinja_value value;
    ifn_jinja_node *a, *b, *c, *d;
    ifn_jinja_node **kids;
    int32_t n_kids;
    ifn_jinja_node **alt;
    int32_t n_alt;
    ifn_jinja_filter_fn filter; /* N_FILTER, resolved at parse time */
    ifn_jinja_test_fn test;     /* N_TEST, resolved at parse time */
};

#endif
