/* Expression half of the parser: Jinja2's precedence, loosest first:
 *   x if c else y  <  or  <  and  <  not  <  comparisons, in, not in  <  + -  <  ~
 *   <  * / // %  <  **  <  unary - +  <  primary with .attr [item] (call) |filter "is" test
 * so `a + b | f` filters b alone and `not x is defined` negates the test, as in Jinja2. */
#include "tokenizer/jinja_parser_internal.h"

#include <string.h>

#include "tokenizer/jinja_filters.h"
#include "tokenizer/jinja_tests.h"

static ifn_status parse_or(ifn_jinja_parser *p, ifn_jinja_node **out);
static ifn_status parse_unary(ifn_jinja_parser *p, int with_filter, ifn_jinja_node **out);

static ifn_jinja_node *new_binary(ifn_jinja_parser *p, int op, ifn_jinja_node *a,
                                  ifn_jinja_node *b) {
    ifn_jinja_node *n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_BINARY);
    if (!n) return NULL;
    n->op = op;
    n->a = a;
    n->b = b;
    return n;
}

/* ---- primaries --------------------------------------------------------------------------- */

static ifn_status parse_literal_name(ifn_jinja_parser *p, const ifn_jinja_token *t,
                                     ifn_jinja_node **out) {
    static const struct {
        const char *name;
        int kind; /* 0 none, 1 true, 2 false */
    } words[] = {{"none", 0}, {"None", 0}, {"true", 1}, {"True", 1}, {"false", 2}, {"False", 2}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (!ifn_str_eq_cstr(t->text, words[i].name)) continue;
        ifn_jinja_node *n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_LITERAL);
        if (!n) return IFN_E_NOMEM;
        n->value = words[i].kind == 0 ? ifn_jinja_none() : ifn_jinja_bool(words[i].kind == 1);
        *out = n;
        return IFN_OK;
    }
    ifn_jinja_node *n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_NAME);
    if (!n) return IFN_E_NOMEM;
    n->name = t->text;
    *out = n;
    return IFN_OK;
}

/* Adjacent string literals concatenate: 'a' "b" is "ab". */
static ifn_status parse_string(ifn_jinja_parser *p, ifn_jinja_node **out) {
    ifn_str s = ifn_jinja_parser_next(p)->text;
    if (ifn_jinja_parser_peek(p)->type == IFN_JINJA_TOK_STRING) {
        size_t total = s.len;
        for (size_t i = p->pos; p->tokens[i].type == IFN_JINJA_TOK_STRING; i++)
            total += p->tokens[i].text.len;
        char *joined = ifn_jinja_arena_alloc(p->arena, total + 1);
        if (!joined) return IFN_E_NOMEM;
        memcpy(joined, s.ptr, s.len);
        size_t n = s.len;
        while (ifn_jinja_parser_peek(p)->type == IFN_JINJA_TOK_STRING) {
            ifn_str more = ifn_jinja_parser_next(p)->text;
            memcpy(joined + n, more.ptr, more.len);
            n += more.len;
        }
        s.ptr = joined;
        s.len = n;
    }
    ifn_jinja_node *node = ifn_jinja_parser_new_node(p, IFN_JINJA_N_LITERAL);
    if (!node) return IFN_E_NOMEM;
    node->value = ifn_jinja_string(s);
    *out = node;
    return IFN_OK;
}

/* Items up to the closing bracket, allowing a trailing comma. For dicts, key: value pairs. */
static ifn_status parse_items(ifn_jinja_parser *p, ifn_jinja_node *node, const char *close,
                              int pairs) {
    ifn_jinja_node_vec items = {0};
    while (!ifn_jinja_parser_accept_op(p, close)) {
        if (items.n > 0) {
            ifn_status st = ifn_jinja_parser_expect_op(p, ",");
            if (st != IFN_OK) return st;
            if (ifn_jinja_parser_accept_op(p, close)) break;
        }
        ifn_jinja_node *item = NULL;
        ifn_status st = ifn_jinja_parser_expr_parse(p, 1, &item);
        if (st == IFN_OK) st = ifn_jinja_parser_push(p, &items, item);
        if (st == IFN_OK && pairs) st = ifn_jinja_parser_expect_op(p, ":");
        if (st == IFN_OK && pairs) st = ifn_jinja_parser_expr_parse(p, 1, &item);
        if (st == IFN_OK && pairs) st = ifn_jinja_parser_push(p, &items, item);
        if (st != IFN_OK) return st;
    }
    node->kids = items.items;
    node->n_kids = items.n;
    return IFN_OK;
}

static ifn_status parse_paren(ifn_jinja_parser *p, ifn_jinja_node **out) {
    if (ifn_jinja_parser_accept_op(p, ")")) {
        *out = ifn_jinja_parser_new_node(p, IFN_JINJA_N_TUPLE);
        return *out ? IFN_OK : IFN_E_NOMEM;
    }
    ifn_status st = ifn_jinja_parser_expr_tuple(p, 1, out);
    if (st == IFN_OK) st = ifn_jinja_parser_expect_op(p, ")");
    return st;
}

static ifn_status parse_primary(ifn_jinja_parser *p, ifn_jinja_node **out) {
    const ifn_jinja_token *t = ifn_jinja_parser_peek(p);
    ifn_jinja_node *n;
    switch (t->type) {
    case IFN_JINJA_TOK_NAME:
        ifn_jinja_parser_next(p);
        return parse_literal_name(p, t, out);
    case IFN_JINJA_TOK_STRING:
        return parse_string(p, out);
    case IFN_JINJA_TOK_INT:
    case IFN_JINJA_TOK_FLOAT:
        ifn_jinja_parser_next(p);
        if (!(n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_LITERAL))) return IFN_E_NOMEM;
        n->value = t->type == IFN_JINJA_TOK_INT ? ifn_jinja_int(t->int_value)
                                                : ifn_jinja_float(t->float_value);
        *out = n;
        return IFN_OK;
    default:
        break;
    }
    if (ifn_jinja_parser_accept_op(p, "(")) return parse_paren(p, out);
    int is_list = ifn_jinja_parser_accept_op(p, "[");
    if (is_list || ifn_jinja_parser_accept_op(p, "{")) {
        n = ifn_jinja_parser_new_node(p, is_list ? IFN_JINJA_N_LIST : IFN_JINJA_N_DICT);
        if (!n) return IFN_E_NOMEM;
        *out = n;
        return parse_items(p, n, is_list ? "]" : "}", !is_list);
    }
    if (t->type == IFN_JINJA_TOK_EOF || t->type == IFN_JINJA_TOK_TEXT)
        return ifn_jinja_parser_error(p, "unexpected end of tag");
    return ifn_jinja_parser_error(p, "unexpected '%.*s'", (int)t->text.len, t->text.ptr);
}

/* ---- postfix: .attr [item] [a:b:c] (args) ------------------------------------------------ */

ifn_status ifn_jinja_parser_expr_call_args(ifn_jinja_parser *p, ifn_jinja_node *node) {
    ifn_jinja_node_vec args = {0};
    while (!ifn_jinja_parser_accept_op(p, ")")) {
        if (args.n > 0) {
            ifn_status st = ifn_jinja_parser_expect_op(p, ",");
            if (st != IFN_OK) return st;
            if (ifn_jinja_parser_accept_op(p, ")")) break;
        }
        if (ifn_jinja_parser_is_op(p, "*"))
            return ifn_jinja_parser_error(p, "*args and **kwargs are not supported");
        ifn_jinja_node *arg = NULL;
        const ifn_jinja_token *t = ifn_jinja_parser_peek(p);
        if (t->type == IFN_JINJA_TOK_NAME && t[1].type == IFN_JINJA_TOK_OP &&
            ifn_str_eq_cstr(t[1].text, "=")) {
            p->pos += 2;
            if (!(arg = ifn_jinja_parser_new_node(p, IFN_JINJA_N_KWARG))) return IFN_E_NOMEM;
            arg->name = t->text;
            ifn_status st = ifn_jinja_parser_expr_parse(p, 1, &arg->a);
            if (st != IFN_OK) return st;
        } else {
            for (int32_t i = 0; i < args.n; i++)
                if (args.items[i]->type == IFN_JINJA_N_KWARG)
                    return ifn_jinja_parser_error(p, "positional argument follows keyword "
                                                     "argument");
            ifn_status st = ifn_jinja_parser_expr_parse(p, 1, &arg);
            if (st != IFN_OK) return st;
        }
        ifn_status st = ifn_jinja_parser_push(p, &args, arg);
        if (st != IFN_OK) return st;
    }
    node->kids = args.items;
    node->n_kids = args.n;
    return IFN_OK;
}

/* After '[': an index, or a slice with any of start, stop, step left out. */
static ifn_status parse_subscript(ifn_jinja_parser *p, ifn_jinja_node *object,
                                  ifn_jinja_node **out) {
    ifn_jinja_node *first = NULL;
    ifn_status st = IFN_OK;
    if (!ifn_jinja_parser_is_op(p, ":")) st = ifn_jinja_parser_expr_parse(p, 1, &first);
    if (st != IFN_OK) return st;
    ifn_jinja_node *n;
    if (!ifn_jinja_parser_accept_op(p, ":")) {
        if (!(n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_GETITEM))) return IFN_E_NOMEM;
        n->a = object;
        n->b = first;
        *out = n;
        return ifn_jinja_parser_expect_op(p, "]");
    }
    if (!(n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_SLICE))) return IFN_E_NOMEM;
    n->a = object;
    n->b = first;
    if (!ifn_jinja_parser_is_op(p, "]") && !ifn_jinja_parser_is_op(p, ":"))
        st = ifn_jinja_parser_expr_parse(p, 1, &n->c);
    if (st == IFN_OK && ifn_jinja_parser_accept_op(p, ":") && !ifn_jinja_parser_is_op(p, "]"))
        st = ifn_jinja_parser_expr_parse(p, 1, &n->d);
    *out = n;
    return st == IFN_OK ? ifn_jinja_parser_expect_op(p, "]") : st;
}

static ifn_status parse_call(ifn_jinja_parser *p, ifn_jinja_node *callee, ifn_jinja_node **out) {
    ifn_jinja_node *n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_CALL);
    if (!n) return IFN_E_NOMEM;
    n->a = callee;
    *out = n;
    return ifn_jinja_parser_expr_call_args(p, n);
}

static ifn_status parse_postfix(ifn_jinja_parser *p, ifn_jinja_node **node) {
    for (;;) {
        ifn_status st = IFN_OK;
        if (ifn_jinja_parser_accept_op(p, ".")) {
            const ifn_jinja_token *t = ifn_jinja_parser_next(p);
            int is_index = t->type == IFN_JINJA_TOK_INT;
            if (t->type != IFN_JINJA_TOK_NAME && !is_index)
                return ifn_jinja_parser_error(p, "expected an attribute name after '.'");
            ifn_jinja_node *n =
                ifn_jinja_parser_new_node(p, is_index ? IFN_JINJA_N_GETITEM : IFN_JINJA_N_GETATTR);
            if (!n) return IFN_E_NOMEM;
            n->a = *node;
            n->name = t->text;
            if (is_index && !(n->b = ifn_jinja_parser_new_node(p, IFN_JINJA_N_LITERAL)))
                return IFN_E_NOMEM;
            if (is_index) n->b->value = ifn_jinja_int(t->int_value);
            *node = n;
        } else if (ifn_jinja_parser_accept_op(p, "[")) {
            st = parse_subscript(p, *node, node);
        } else if (ifn_jinja_parser_accept_op(p, "(")) {
            st = parse_call(p, *node, node);
        } else {
            return IFN_OK;
        }
        if (st != IFN_OK) return st;
    }
}

/* ---- filters and tests ------------------------------------------------------------------- */

static ifn_status parse_filter(ifn_jinja_parser *p, ifn_jinja_node *operand, ifn_jinja_node **out) {
    const ifn_jinja_token *t = ifn_jinja_parser_next(p);
    if (t->type != IFN_JINJA_TOK_NAME) return ifn_jinja_parser_error(p, "expected a filter name");
    ifn_jinja_node *n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_FILTER);
    if (!n) return IFN_E_NOMEM;
    n->a = operand;
    n->name = t->text;
    n->filter = ifn_jinja_filters_find(t->text);
    if (!n->filter)
        return ifn_jinja_parser_error(p, "no filter named '%.*s'", (int)t->text.len, t->text.ptr);
    *out = n;
    return ifn_jinja_parser_accept_op(p, "(") ? ifn_jinja_parser_expr_call_args(p, n) : IFN_OK;
}

ifn_status ifn_jinja_parser_expr_filter_chain(ifn_jinja_parser *p, ifn_jinja_node *operand,
                                              ifn_jinja_node **out) {
    ifn_status st = parse_filter(p, operand, out);
    while (st == IFN_OK && ifn_jinja_parser_accept_op(p, "|"))
        st = parse_filter(p, *out, out);
    return st;
}

/* A test's single argument may follow without parentheses: `x is divisibleby 3`. */
static int starts_bare_test_arg(const ifn_jinja_parser *p) {
    const ifn_jinja_token *t = ifn_jinja_parser_peek(p);
    if (t->type == IFN_JINJA_TOK_NAME)
        return !ifn_str_eq_cstr(t->text, "else") && !ifn_str_eq_cstr(t->text, "or") &&
               !ifn_str_eq_cstr(t->text, "and") && !ifn_str_eq_cstr(t->text, "is") &&
               !ifn_str_eq_cstr(t->text, "if") && !ifn_str_eq_cstr(t->text, "in") &&
               !ifn_str_eq_cstr(t->text, "not");
    return t->type == IFN_JINJA_TOK_STRING || t->type == IFN_JINJA_TOK_INT ||
           t->type == IFN_JINJA_TOK_FLOAT || ifn_jinja_parser_is_op(p, "[") ||
           ifn_jinja_parser_is_op(p, "{");
}

static ifn_status parse_test(ifn_jinja_parser *p, ifn_jinja_node *operand, ifn_jinja_node **out) {
    ifn_jinja_node *n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_TEST);
    if (!n) return IFN_E_NOMEM;
    n->a = operand;
    n->op = ifn_jinja_parser_accept_name(p, "not");
    const ifn_jinja_token *t = ifn_jinja_parser_next(p);
    if (t->type != IFN_JINJA_TOK_NAME) return ifn_jinja_parser_error(p, "expected a test name");
    n->name = t->text;
    n->test = ifn_jinja_tests_find(t->text);
    if (!n->test)
        return ifn_jinja_parser_error(p, "no test named '%.*s'", (int)t->text.len, t->text.ptr);
    *out = n;
    if (ifn_jinja_parser_accept_op(p, "(")) return ifn_jinja_parser_expr_call_args(p, n);
    if (!starts_bare_test_arg(p)) return IFN_OK;
    ifn_jinja_node *arg = NULL;
    ifn_status st = parse_primary(p, &arg);
    if (st == IFN_OK) st = parse_postfix(p, &arg);
    if (st != IFN_OK) return st;
    if (!(n->kids = ifn_jinja_arena_alloc(p->arena, sizeof *n->kids))) return IFN_E_NOMEM;
    n->kids[0] = arg;
    n->n_kids = 1;
    return IFN_OK;
}

static ifn_status parse_filter_expr(ifn_jinja_parser *p, ifn_jinja_node **node) {
    for (;;) {
        ifn_status st;
        if (ifn_jinja_parser_accept_op(p, "|"))
            st = parse_filter(p, *node, node);
        else if (ifn_jinja_parser_accept_name(p, "is"))
            st = parse_test(p, *node, node);
        else if (ifn_jinja_parser_accept_op(p, "("))
            st = parse_call(p, *node, node);
        else
            return IFN_OK;
        if (st != IFN_OK) return st;
    }
}

/* ---- operators --------------------------------------------------------------------------- */

static ifn_status parse_unary(ifn_jinja_parser *p, int with_filter, ifn_jinja_node **out) {
    if (++p->depth > IFN_JINJA_MAX_NESTING)
        return ifn_jinja_parser_error(p, "expression nested too deeply");
    ifn_status st;
    int sign = 0;
    if (ifn_jinja_parser_accept_op(p, "-"))
        sign = '-';
    else if (ifn_jinja_parser_accept_op(p, "+"))
        sign = '+';
    if (sign) {
        ifn_jinja_node *n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_UNARY);
        if (!n) return IFN_E_NOMEM;
        n->op = sign;
        st = parse_unary(p, 0, &n->a);
        *out = n;
    } else {
        st = parse_primary(p, out);
    }
    if (st == IFN_OK) st = parse_postfix(p, out);
    if (st == IFN_OK && with_filter) st = parse_filter_expr(p, out);
    p->depth--;
    return st;
}

typedef ifn_status (*level_fn)(ifn_jinja_parser *p, ifn_jinja_node **out);

/* One left-associative level: operand (op operand)*, with ops given as operator texts. */
static ifn_status parse_level(ifn_jinja_parser *p, level_fn operand, const char *const *ops,
                              const int *codes, size_t n_ops, ifn_jinja_node **out) {
    ifn_status st = operand(p, out);
    while (st == IFN_OK) {
        size_t i = 0;
        while (i < n_ops && !ifn_jinja_parser_is_op(p, ops[i]))
            i++;
        if (i == n_ops) break;
        ifn_jinja_parser_next(p);
        ifn_jinja_node *right = NULL;
        st = operand(p, &right);
        if (st == IFN_OK && !(*out = new_binary(p, codes[i], *out, right))) st = IFN_E_NOMEM;
    }
    return st;
}

static ifn_status parse_unary_filtered(ifn_jinja_parser *p, ifn_jinja_node **out) {
    return parse_unary(p, 1, out);
}

static ifn_status parse_pow(ifn_jinja_parser *p, ifn_jinja_node **out) {
    static const char *const ops[] = {"**"};
    static const int codes[] = {IFN_JINJA_OP_POW};
    return parse_level(p, parse_unary_filtered, ops, codes, 1, out);
}

static ifn_status parse_math2(ifn_jinja_parser *p, ifn_jinja_node **out) {
    static const char *const ops[] = {"*", "/", "//", "%"};
    static const int codes[] = {IFN_JINJA_OP_MUL, IFN_JINJA_OP_DIV, IFN_JINJA_OP_FLOORDIV,
                                IFN_JINJA_OP_MOD};
    return parse_level(p, parse_pow, ops, codes, 4, out);
}

static ifn_status parse_concat(ifn_jinja_parser *p, ifn_jinja_node **out) {
    static const char *const ops[] = {"~"};
    static const int codes[] = {IFN_JINJA_OP_CONCAT};
    return parse_level(p, parse_math2, ops, codes, 1, out);
}

static ifn_status parse_math1(ifn_jinja_parser *p, ifn_jinja_node **out) {
    static const char *const ops[] = {"+", "-"};
    static const int codes[] = {IFN_JINJA_OP_ADD, IFN_JINJA_OP_SUB};
    return parse_level(p, parse_concat, ops, codes, 2, out);
}

/* The comparison operator at the current token (consumed), or 0. */
static int accept_compare_op(ifn_jinja_parser *p) {
    static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
    static const int codes[] = {IFN_JINJA_OP_EQ, IFN_JINJA_OP_NE, IFN_JINJA_OP_LT,
                                IFN_JINJA_OP_LE, IFN_JINJA_OP_GT, IFN_JINJA_OP_GE};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ifn_jinja_parser_accept_op(p, ops[i])) return codes[i];
    if (ifn_jinja_parser_accept_name(p, "in")) return IFN_JINJA_OP_IN;
    const ifn_jinja_token *t = ifn_jinja_parser_peek(p);
    if (ifn_jinja_parser_is_name(p, "not") && t[1].type == IFN_JINJA_TOK_NAME &&
        ifn_str_eq_cstr(t[1].text, "in")) {
        p->pos += 2;
        return IFN_JINJA_OP_NOT_IN;
    }
    return 0;
}

/* a < b < c means (a < b) and (b < c); b is evaluated twice, which is harmless because
 * template expressions have no side effects worth repeating. */
static ifn_status parse_compare(ifn_jinja_parser *p, ifn_jinja_node **out) {
    ifn_jinja_node *left = NULL, *result = NULL;
    ifn_status st = parse_math1(p, &left);
    int op;
    while (st == IFN_OK && (op = accept_compare_op(p)) != 0) {
        ifn_jinja_node *right = NULL;
        st = parse_math1(p, &right);
        if (st != IFN_OK) break;
        ifn_jinja_node *cmp = new_binary(p, op, left, right);
        if (!cmp) return IFN_E_NOMEM;
        result = result ? new_binary(p, IFN_JINJA_OP_AND, result, cmp) : cmp;
        if (!result) return IFN_E_NOMEM;
        left = right;
    }
    *out = result ? result : left;
    return st;
}

static ifn_status parse_not(ifn_jinja_parser *p, ifn_jinja_node **out) {
    if (!ifn_jinja_parser_accept_name(p, "not")) return parse_compare(p, out);
    if (++p->depth > IFN_JINJA_MAX_NESTING)
        return ifn_jinja_parser_error(p, "expression nested too deeply");
    ifn_jinja_node *n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_UNARY);
    if (!n) return IFN_E_NOMEM;
    n->op = 'n';
    *out = n;
    ifn_status st = parse_not(p, &n->a);
    p->depth--;
    return st;
}

static ifn_status parse_and(ifn_jinja_parser *p, ifn_jinja_node **out) {
    ifn_status st = parse_not(p, out);
    while (st == IFN_OK && ifn_jinja_parser_accept_name(p, "and")) {
        ifn_jinja_node *right = NULL;
        st = parse_not(p, &right);
        if (st == IFN_OK && !(*out = new_binary(p, IFN_JINJA_OP_AND, *out, right)))
            st = IFN_E_NOMEM;
    }
    return st;
}

static ifn_status parse_or(ifn_jinja_parser *p, ifn_jinja_node **out) {
    ifn_status st = parse_and(p, out);
    while (st == IFN_OK && ifn_jinja_parser_accept_name(p, "or")) {
        ifn_jinja_node *right = NULL;
        st = parse_and(p, &right);
        if (st == IFN_OK && !(*out = new_binary(p, IFN_JINJA_OP_OR, *out, right))) st = IFN_E_NOMEM;
    }
    return st;
}

ifn_status ifn_jinja_parser_expr_parse(ifn_jinja_parser *p, int with_cond, ifn_jinja_node **out) {
    if (++p->depth > IFN_JINJA_MAX_NESTING)
        return ifn_jinja_parser_error(p, "expression nested too deeply");
    ifn_status st = parse_or(p, out);
    while (st == IFN_OK && with_cond && ifn_jinja_parser_accept_name(p, "if")) {
        ifn_jinja_node *n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_COND);
        if (!n) return IFN_E_NOMEM;
        n->b = *out;
        st = parse_or(p, &n->a);
        if (st == IFN_OK && ifn_jinja_parser_accept_name(p, "else"))
            st = ifn_jinja_parser_expr_parse(p, 1, &n->c);
        *out = n;
    }
    p->depth--;
    return st;
}

ifn_status ifn_jinja_parser_expr_tuple(ifn_jinja_parser *p, int with_cond, ifn_jinja_node **out) {
    ifn_jinja_node *first = NULL;
    ifn_status st = ifn_jinja_parser_expr_parse(p, with_cond, &first);
    if (st != IFN_OK || !ifn_jinja_parser_is_op(p, ",")) {
        *out = first;
        return st;
    }
    ifn_jinja_node_vec items = {0};
    st = ifn_jinja_parser_push(p, &items, first);
    while (st == IFN_OK && ifn_jinja_parser_accept_op(p, ",")) {
        const ifn_jinja_token *t = ifn_jinja_parser_peek(p);
        if (t->type == IFN_JINJA_TOK_VAR_END || t->type == IFN_JINJA_TOK_BLOCK_END ||
            ifn_jinja_parser_is_op(p, ")"))
            break; /* trailing comma */
        ifn_jinja_node *item = NULL;
        st = ifn_jinja_parser_expr_parse(p, with_cond, &item);
        if (st == IFN_OK) st = ifn_jinja_parser_push(p, &items, item);
    }
    ifn_jinja_node *n = ifn_jinja_parser_new_node(p, IFN_JINJA_N_TUPLE);
    if (!n) return IFN_E_NOMEM;
    n->kids = items.items;
    n->n_kids = items.n;
    *out = n;
    return st;
}
