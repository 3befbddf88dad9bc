/* Expression evaluation: literals, names, containers, calls, filters, tests and operators.
 * `and`/`or` short-circuit and return an operand, like Python; `x if c` without else gives
 * undefined. Attribute, item and slice access live in jinja_access.c. */
#include "tokenizer/jinja_eval.h"

#include "tokenizer/jinja_access.h"
#include "tokenizer/jinja_exec.h"
#include "tokenizer/jinja_filters.h"
#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_methods.h"
#include "tokenizer/jinja_ops.h"
#include "util/status.h"

ifn_status ifn_jinja_eval_args(ifn_jinja_ctx *ctx, ifn_jinja_node *const *kids, int32_t n_kids,
                               ifn_jinja_args *out) {
    int32_t n_kw = 0;
    for (int32_t i = 0; i < n_kids; i++)
        n_kw += kids[i]->type == IFN_JINJA_N_KWARG;
    ifn_jinja_value *pos = NULL, *kw_values = NULL;
    ifn_str *kw_names = NULL;
    if (n_kids - n_kw > 0 &&
        !(pos = ifn_jinja_arena_array(ctx->arena, (size_t)(n_kids - n_kw), sizeof *pos)))
        return IFN_E_NOMEM;
    if (n_kw > 0 &&
        (!(kw_values = ifn_jinja_arena_array(ctx->arena, (size_t)n_kw, sizeof *kw_values)) ||
         !(kw_names = ifn_jinja_arena_array(ctx->arena, (size_t)n_kw, sizeof *kw_names))))
        return IFN_E_NOMEM;
    int32_t np = 0, nk = 0;
    for (int32_t i = 0; i < n_kids; i++) {
        const ifn_jinja_node *kid = kids[i];
        ifn_status st;
        if (kid->type == IFN_JINJA_N_KWARG) {
            kw_names[nk] = kid->name;
            st = ifn_jinja_eval_expr(ctx, kid->a, &kw_values[nk++]);
        } else {
            st = ifn_jinja_eval_expr(ctx, kid, &pos[np++]);
        }
        if (st != IFN_OK) return st;
    }
    out->pos = pos;
    out->n_pos = np;
    out->kw_names = kw_names;
    out->kw_values = kw_values;
    out->n_kw = nk;
    return IFN_OK;
}

ifn_status ifn_jinja_eval_call(ifn_jinja_ctx *ctx, ifn_jinja_value callee,
                               const ifn_jinja_args *args, const ifn_jinja_value *caller,
                               ifn_jinja_value *out) {
    if (callee.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, callee);
    if (callee.kind != IFN_JINJA_FUNC)
        return ifn_jinja_interp_error(ctx, "TypeError: '%s' object is not callable",
                                      ifn_jinja_value_type_name(callee));
    const ifn_jinja_func *f = callee.as.func;
    switch (f->kind) {
    case IFN_JINJA_FUNC_BUILTIN:
        return f->builtin(ctx, args, out);
    case IFN_JINJA_FUNC_MACRO:
        return ifn_jinja_exec_macro(ctx, f, args, caller, out);
    case IFN_JINJA_FUNC_METHOD:
        return ifn_jinja_methods_call(ctx, f, args, out);
    }
    return ifn_jinja_interp_error(ctx, "TypeError: object is not callable");
}

/* Runs the filter of an N_FILTER node on an already evaluated operand. */
static ifn_status run_filter(ifn_jinja_ctx *ctx, const ifn_jinja_node *node,
                             ifn_jinja_value operand, ifn_jinja_value *out) {
    ifn_jinja_args args;
    ifn_status st = ifn_jinja_eval_args(ctx, node->kids, node->n_kids, &args);
    if (st != IFN_OK) return st;
    ctx->line = node->line;
    st = node->filter(ctx, operand, &args, out);
    if (st == IFN_OK && (operand.flags & IFN_JINJA_FLAG_SAFE) && out->kind == IFN_JINJA_STRING &&
        ifn_jinja_filters_keep_markup(node->filter))
        out->flags |= IFN_JINJA_FLAG_SAFE;
    return st;
}

ifn_status ifn_jinja_eval_filters(ifn_jinja_ctx *ctx, const ifn_jinja_node *chain,
                                  ifn_jinja_value input, ifn_jinja_value *out) {
    ifn_jinja_value operand = input;
    if (chain->a) {
        ifn_status st = ifn_jinja_eval_filters(ctx, chain->a, input, &operand);
        if (st != IFN_OK) return st;
    }
    return run_filter(ctx, chain, operand, out);
}

static ifn_status eval_sequence(ifn_jinja_ctx *ctx, const ifn_jinja_node *node,
                                ifn_jinja_value *out) {
    ifn_jinja_list *list = ifn_jinja_value_new_list(
        ctx->arena, node->n_kids,
        node->type == IFN_JINJA_N_TUPLE ? IFN_JINJA_SEQ_TUPLE : IFN_JINJA_SEQ_LIST);
    if (!list) return IFN_E_NOMEM;
    for (int32_t i = 0; i < node->n_kids; i++) {
        ifn_status st = ifn_jinja_eval_expr(ctx, node->kids[i], &list->items[i]);
        if (st != IFN_OK) return st;
        list->len++;
    }
    *out = ifn_jinja_list_value(list);
    return IFN_OK;
}

static ifn_status eval_dict(ifn_jinja_ctx *ctx, const ifn_jinja_node *node, ifn_jinja_value *out) {
    ifn_jinja_dict *dict = ifn_jinja_value_new_dict(ctx->arena, node->n_kids / 2);
    if (!dict) return IFN_E_NOMEM;
    for (int32_t i = 0; i + 1 < node->n_kids; i += 2) {
        ifn_jinja_value key = {0}, value = {0};
        ifn_status st = ifn_jinja_eval_expr(ctx, node->kids[i], &key);
        if (st == IFN_OK) st = ifn_jinja_eval_expr(ctx, node->kids[i + 1], &value);
        if (st == IFN_OK && (key.kind == IFN_JINJA_LIST || key.kind == IFN_JINJA_DICT ||
                             key.kind == IFN_JINJA_UNDEFINED))
            st = ifn_jinja_interp_error(ctx, "TypeError: unhashable type: '%s'",
                                        ifn_jinja_value_type_name(key));
        if (st == IFN_OK) st = ifn_jinja_value_dict_set(ctx->arena, dict, key, value);
        if (st != IFN_OK) return st;
    }
    *out = ifn_jinja_dict_value(dict);
    return IFN_OK;
}

static ifn_status eval_call(ifn_jinja_ctx *ctx, const ifn_jinja_node *node, ifn_jinja_value *out) {
    ifn_jinja_value callee = {0};
    ifn_jinja_args args;
    ifn_status st = ifn_jinja_eval_expr(ctx, node->a, &callee);
    if (st == IFN_OK) st = ifn_jinja_eval_args(ctx, node->kids, node->n_kids, &args);
    if (st != IFN_OK) return st;
    ctx->line = node->line;
    return ifn_jinja_eval_call(ctx, callee, &args, NULL, out);
}

static ifn_status eval_test(ifn_jinja_ctx *ctx, const ifn_jinja_node *node, ifn_jinja_value *out) {
    ifn_jinja_value value = {0};
    ifn_jinja_args args;
    ifn_status st = ifn_jinja_eval_expr(ctx, node->a, &value);
    if (st == IFN_OK) st = ifn_jinja_eval_args(ctx, node->kids, node->n_kids, &args);
    if (st != IFN_OK) return st;
    int result = 0;
    st = node->test(ctx, value, &args, &result);
    if (st == IFN_OK) *out = ifn_jinja_bool(result != node->op);
    return st;
}

static ifn_status eval_logic(ifn_jinja_ctx *ctx, const ifn_jinja_node *node, ifn_jinja_value *out) {
    ifn_status st = ifn_jinja_eval_expr(ctx, node->a, out);
    if (st != IFN_OK) return st;
    int truthy = ifn_jinja_value_truthy(*out);
    if (node->op == IFN_JINJA_OP_AND ? !truthy : truthy) return IFN_OK;
    return ifn_jinja_eval_expr(ctx, node->b, out);
}

static ifn_status eval_operator(ifn_jinja_ctx *ctx, const ifn_jinja_node *node,
                                ifn_jinja_value *out) {
    ifn_jinja_value a = {0}, b = {0};
    if (node->type == IFN_JINJA_N_UNARY) {
        ifn_status st = ifn_jinja_eval_expr(ctx, node->a, &a);
        if (st != IFN_OK) return st;
        if (node->op == 'n') {
            *out = ifn_jinja_bool(!ifn_jinja_value_truthy(a));
            return IFN_OK;
        }
        return ifn_jinja_ops_unary(ctx, node->op, a, out);
    }
    if (node->op == IFN_JINJA_OP_AND || node->op == IFN_JINJA_OP_OR)
        return eval_logic(ctx, node, out);
    ifn_status st = ifn_jinja_eval_expr(ctx, node->a, &a);
    if (st == IFN_OK) st = ifn_jinja_eval_expr(ctx, node->b, &b);
    if (st != IFN_OK) return st;
    ctx->line = node->line;
    return ifn_jinja_ops_binary(ctx, node->op, a, b, out);
}

static ifn_status eval_slice(ifn_jinja_ctx *ctx, const ifn_jinja_node *node, ifn_jinja_value *out) {
    ifn_jinja_value obj = {0}, bounds[3];
    const ifn_jinja_node *kids[3] = {node->b, node->c, node->d};
    ifn_status st = ifn_jinja_eval_expr(ctx, node->a, &obj);
    for (int i = 0; i < 3 && st == IFN_OK; i++) {
        bounds[i] = ifn_jinja_none();
        if (kids[i]) st = ifn_jinja_eval_expr(ctx, kids[i], &bounds[i]);
    }
    if (st != IFN_OK) return st;
    return ifn_jinja_access_slice(ctx, obj, bounds[0], bounds[1], bounds[2], out);
}

ifn_status ifn_jinja_eval_expr(ifn_jinja_ctx *ctx, const ifn_jinja_node *node,
                               ifn_jinja_value *out) {
    ctx->line = node->line;
    ifn_jinja_value v = {0}, key = {0};
    ifn_status st;
    switch (node->type) {
    case IFN_JINJA_N_LITERAL:
        *out = node->value;
        return IFN_OK;
    case IFN_JINJA_N_NAME:
        return ifn_jinja_interp_lookup(ctx, node->name, out);
    case IFN_JINJA_N_LIST:
    case IFN_JINJA_N_TUPLE:
        return eval_sequence(ctx, node, out);
    case IFN_JINJA_N_DICT:
        return eval_dict(ctx, node, out);
    case IFN_JINJA_N_GETATTR:
        st = ifn_jinja_eval_expr(ctx, node->a, &v);
        return st == IFN_OK ? ifn_jinja_access_getattr(ctx, v, node->name, out) : st;
    case IFN_JINJA_N_GETITEM:
        st = ifn_jinja_eval_expr(ctx, node->a, &v);
        if (st == IFN_OK) st = ifn_jinja_eval_expr(ctx, node->b, &key);
        return st == IFN_OK ? ifn_jinja_access_getitem(ctx, v, key, out) : st;
    case IFN_JINJA_N_SLICE:
        return eval_slice(ctx, node, out);
    case IFN_JINJA_N_CALL:
        return eval_call(ctx, node, out);
    case IFN_JINJA_N_FILTER:
        st = ifn_jinja_eval_expr(ctx, node->a, &v);
        return st == IFN_OK ? run_filter(ctx, node, v, out) : st;
    case IFN_JINJA_N_TEST:
        return eval_test(ctx, node, out);
    case IFN_JINJA_N_UNARY:
    case IFN_JINJA_N_BINARY:
        return eval_operator(ctx, node, out);
    case IFN_JINJA_N_COND:
        st = ifn_jinja_eval_expr(ctx, node->a, &v);
        if (st != IFN_OK) return st;
        if (ifn_jinja_value_truthy(v)) return ifn_jinja_eval_expr(ctx, node->b, out);
        if (node->c) return ifn_jinja_eval_expr(ctx, node->c, out);
        *out = ifn_jinja_undefined(ifn_str_from_cstr(""));
        return IFN_OK;
    default:
        break;
    }
    return ifn_jinja_interp_error(ctx, "cannot evaluate this expression");
}
