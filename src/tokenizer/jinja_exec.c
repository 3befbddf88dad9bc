/* Statement execution: output, if, for (with loop filters, else, break/continue and the loop
 * object), set (names, tuples, namespace attributes, captured blocks), macros and call
 * blocks, filter blocks and with. Each for-loop iteration, macro call and with-block runs in
 * a fresh scope, so a plain {% set %} inside them does not leak out (namespace() is how
 * templates carry state across iterations, as in Jinja2). */
#include "tokenizer/jinja_exec.h"

#include <stdio.h>
#include <string.h>

#include "tokenizer/jinja_access.h"
#include "tokenizer/jinja_eval.h"
#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_text.h"
#include "util/status.h"

ifn_status ifn_jinja_exec_step(ifn_jinja_ctx *ctx) {
    if (++ctx->n_steps <= ctx->max_steps) return IFN_OK;
    return ifn_fail(IFN_E_FULL, "template exceeded the limit of %lld loop iterations and calls",
                    (long long)ctx->max_steps);
}

ifn_status ifn_jinja_exec_capture(ifn_jinja_ctx *ctx, ifn_jinja_node *const *body, int32_t n,
                                  ifn_str *out) {
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    ifn_jinja_buf *saved = ctx->out;
    ctx->out = &buf;
    ifn_status st = ifn_jinja_exec_body(ctx, body, n);
    ctx->out = saved;
    if (st == IFN_OK) *out = ifn_jinja_text_view(&buf);
    return st;
}

/* ---- assignment -------------------------------------------------------------------------- */

static ifn_status assign_tuple(ifn_jinja_ctx *ctx, const ifn_jinja_node *target,
                               ifn_jinja_value value) {
    ifn_jinja_list *items = NULL;
    ifn_status st = ifn_jinja_access_iterate(ctx, value, &items);
    if (st != IFN_OK) return st;
    if (items->len < target->n_kids)
        return ifn_jinja_interp_error(ctx,
                                      "ValueError: not enough values to unpack (expected %d, got "
                                      "%lld)",
                                      (int)target->n_kids, (long long)items->len);
    if (items->len > target->n_kids)
        return ifn_jinja_interp_error(ctx, "ValueError: too many values to unpack (expected %d)",
                                      (int)target->n_kids);
    for (int32_t i = 0; i < target->n_kids && st == IFN_OK; i++)
        st = ifn_jinja_interp_set_var(ctx, ctx->frame, target->kids[i]->name, items->items[i]);
    return st;
}

static ifn_status assign(ifn_jinja_ctx *ctx, const ifn_jinja_node *target, ifn_jinja_value value) {
    if (target->type == IFN_JINJA_N_NAME)
        return ifn_jinja_interp_set_var(ctx, ctx->frame, target->name, value);
    if (target->type == IFN_JINJA_N_TUPLE) return assign_tuple(ctx, target, value);
    ifn_jinja_value ns = {0};
    ifn_status st = ifn_jinja_interp_lookup(ctx, target->a->name, &ns);
    if (st != IFN_OK) return st;
    if (ns.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, ns);
    if (ns.kind != IFN_JINJA_DICT || !ns.as.dict->is_namespace)
        return ifn_jinja_interp_error(ctx,
                                      "TypeError: cannot assign attribute on non-namespace object");
    return ifn_jinja_value_dict_set(ctx->arena, ns.as.dict, ifn_jinja_string(target->name), value);
}

static ifn_status exec_set_block(ifn_jinja_ctx *ctx, const ifn_jinja_node *node) {
    ifn_str text = {"", 0};
    ifn_status st = ifn_jinja_exec_capture(ctx, node->kids, node->n_kids, &text);
    if (st != IFN_OK) return st;
    ifn_jinja_value value = ifn_jinja_string(text);
    if (node->c) st = ifn_jinja_eval_filters(ctx, node->c, value, &value);
    return st == IFN_OK ? assign(ctx, node->a, value) : st;
}

/* ---- loops ------------------------------------------------------------------------------- */

/* Items of a loop after its `if` filter (evaluated with the target bound, without `loop`). */
static ifn_status filter_items(ifn_jinja_ctx *ctx, const ifn_jinja_node *node,
                               ifn_jinja_list *items, ifn_jinja_list **out) {
    ifn_jinja_list *kept = ifn_jinja_value_new_list(ctx->arena, items->len, IFN_JINJA_SEQ_LIST);
    ifn_jinja_frame *outer = ctx->frame, *scratch = NULL;
    if (!kept) return IFN_E_NOMEM;
    ifn_status st = ifn_jinja_interp_push_frame(ctx, outer, &scratch);
    for (int64_t i = 0; i < items->len && st == IFN_OK; i++) {
        ifn_jinja_value cond = {0};
        ctx->frame = scratch;
        st = assign(ctx, node->a, items->items[i]);
        if (st == IFN_OK) st = ifn_jinja_eval_expr(ctx, node->c, &cond);
        ctx->frame = outer;
        if (st == IFN_OK && ifn_jinja_value_truthy(cond))
            kept->items[kept->len++] = items->items[i];
    }
    *out = kept;
    return st;
}

static ifn_status run_iteration(ifn_jinja_ctx *ctx, const ifn_jinja_node *node,
                                ifn_jinja_frame *frame, ifn_jinja_loop *loop) {
    static const ifn_str loop_name = {"loop", 4};
    ifn_jinja_value loop_value = {.kind = IFN_JINJA_LOOP};
    loop_value.as.loop = loop;
    if (frame->vars) frame->vars->len = 0; /* every iteration starts from the outer scope */
    ifn_status st = ifn_jinja_exec_step(ctx);
    if (st == IFN_OK) st = assign(ctx, node->a, loop->items->items[loop->index0]);
    if (st == IFN_OK) st = ifn_jinja_interp_set_var(ctx, frame, loop_name, loop_value);
    if (st == IFN_OK) st = ifn_jinja_exec_body(ctx, node->kids, node->n_kids);
    return st;
}

static ifn_status exec_for(ifn_jinja_ctx *ctx, const ifn_jinja_node *node) {
    ifn_jinja_value iterable = {0};
    ifn_jinja_list *items = NULL;
    ifn_status st = ifn_jinja_eval_expr(ctx, node->b, &iterable);
    if (st == IFN_OK) st = ifn_jinja_access_iterate(ctx, iterable, &items);
    if (st == IFN_OK && node->c) st = filter_items(ctx, node, items, &items);
    if (st != IFN_OK) return st;
    if (items->len == 0) return ifn_jinja_exec_body(ctx, node->alt, node->n_alt);
    ifn_jinja_frame *outer = ctx->frame, *frame = NULL;
    ifn_jinja_loop *loop = ifn_jinja_arena_alloc(ctx->arena, sizeof *loop);
    if (!loop) return IFN_E_NOMEM;
    loop->items = items;
    st = ifn_jinja_interp_push_frame(ctx, outer, &frame);
    for (int64_t i = 0; i < items->len && st == IFN_OK; i++) {
        loop->index0 = i;
        ctx->frame = frame;
        st = run_iteration(ctx, node, frame, loop);
        ctx->frame = outer;
        ifn_jinja_signal signal = ctx->signal;
        ctx->signal = IFN_JINJA_SIGNAL_NONE;
        if (signal == IFN_JINJA_SIGNAL_BREAK) break;
    }
    return st;
}

/* ---- macros ------------------------------------------------------------------------------ */

/* Binds a macro's parameters (node->alt) in `frame`: positional, then keyword, then the
 * default; extra arguments go to varargs and kwargs. */
static ifn_status bind_params(ifn_jinja_ctx *ctx, const ifn_jinja_node *macro,
                              const ifn_jinja_args *args, ifn_jinja_frame *frame) {
    ifn_status st = IFN_OK;
    for (int32_t i = 0; i < macro->n_alt && st == IFN_OK; i++) {
        const ifn_jinja_node *param = macro->alt[i];
        ifn_jinja_value v = {0};
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)param->name.len, param->name.ptr);
        if (ifn_jinja_interp_arg(args, i, name, &v))
            st = IFN_OK;
        else if (param->a)
            st = ifn_jinja_eval_expr(ctx, param->a, &v);
        else
            st = ifn_jinja_interp_make_undefined(ctx, &v, "parameter '%s' was not provided", name);
        if (st == IFN_OK) st = ifn_jinja_interp_set_var(ctx, frame, param->name, v);
    }
    int32_t n_extra = args->n_pos > macro->n_alt ? args->n_pos - macro->n_alt : 0;
    ifn_jinja_list *varargs = ifn_jinja_value_new_list(ctx->arena, n_extra, IFN_JINJA_SEQ_TUPLE);
    ifn_jinja_dict *kwargs = ifn_jinja_value_new_dict(ctx->arena, 0);
    if (!varargs || !kwargs) return IFN_E_NOMEM;
    for (int32_t i = 0; i < n_extra; i++)
        varargs->items[varargs->len++] = args->pos[macro->n_alt + i];
    for (int32_t k = 0; k < args->n_kw && st == IFN_OK; k++) {
        int32_t i = 0;
        while (i < macro->n_alt && !ifn_str_eq(macro->alt[i]->name, args->kw_names[k]))
            i++;
        if (i == macro->n_alt)
            st = ifn_jinja_value_dict_append(
                ctx->arena, kwargs, ifn_jinja_string(args->kw_names[k]), args->kw_values[k]);
    }
    if (st == IFN_OK)
        st = ifn_jinja_interp_set_var(ctx, frame, ifn_str_from_cstr("varargs"),
                                      ifn_jinja_list_value(varargs));
    if (st == IFN_OK)
        st = ifn_jinja_interp_set_var(ctx, frame, ifn_str_from_cstr("kwargs"),
                                      ifn_jinja_dict_value(kwargs));
    return st;
}

ifn_status ifn_jinja_exec_macro(ifn_jinja_ctx *ctx, const ifn_jinja_func *macro,
                                const ifn_jinja_args *args, const ifn_jinja_value *caller,
                                ifn_jinja_value *out) {
    if (ctx->call_depth >= ctx->max_call_depth)
        return ifn_fail(IFN_E_FULL, "template macro calls nested deeper than %d",
                        (int)ctx->max_call_depth);
    ifn_status st = ifn_jinja_exec_step(ctx);
    ifn_jinja_frame *saved = ctx->frame, *frame = NULL;
    if (st == IFN_OK) st = ifn_jinja_interp_push_frame(ctx, macro->closure, &frame);
    if (st != IFN_OK) return st;
    ctx->frame = frame; /* defaults may refer to earlier parameters */
    st = bind_params(ctx, macro->macro, args, frame);
    if (st == IFN_OK && caller)
        st = ifn_jinja_interp_set_var(ctx, frame, ifn_str_from_cstr("caller"), *caller);
    ifn_str text = {"", 0};
    ctx->call_depth++;
    if (st == IFN_OK)
        st = ifn_jinja_exec_capture(ctx, macro->macro->kids, macro->macro->n_kids, &text);
    ctx->call_depth--;
    ctx->frame = saved;
    if (st != IFN_OK) return st;
    *out = ifn_jinja_string(text); /* plain str: Markup only with autoescape */
    return IFN_OK;
}

static ifn_status define_macro(ifn_jinja_ctx *ctx, const ifn_jinja_node *node,
                               ifn_jinja_value *out) {
    ifn_jinja_func *f = ifn_jinja_arena_alloc(ctx->arena, sizeof *f);
    if (!f) return IFN_E_NOMEM;
    f->kind = IFN_JINJA_FUNC_MACRO;
    f->name = node->type == IFN_JINJA_N_MACRO ? node->name : ifn_str_from_cstr("caller");
    f->macro = node;
    f->closure = ctx->frame;
    *out = ifn_jinja_func_value(f);
    return IFN_OK;
}

/* {% call(params) m(args) %}body{% endcall %}: m runs with caller() rendering the body. */
static ifn_status exec_call_block(ifn_jinja_ctx *ctx, const ifn_jinja_node *node) {
    ifn_jinja_value callee = {0}, caller = {0}, result = {0};
    ifn_jinja_args args;
    ifn_status st = define_macro(ctx, node, &caller);
    if (st == IFN_OK) st = ifn_jinja_eval_expr(ctx, node->a->a, &callee);
    if (st == IFN_OK) st = ifn_jinja_eval_args(ctx, node->a->kids, node->a->n_kids, &args);
    if (st == IFN_OK) st = ifn_jinja_eval_call(ctx, callee, &args, &caller, &result);
    if (st == IFN_OK) st = ifn_jinja_text_append_value(ctx->out, result);
    return st;
}

/* ---- other blocks ------------------------------------------------------------------------ */

static ifn_status exec_filter_block(ifn_jinja_ctx *ctx, const ifn_jinja_node *node) {
    ifn_str text = {"", 0};
    ifn_jinja_value result = {0};
    ifn_status st = ifn_jinja_exec_capture(ctx, node->kids, node->n_kids, &text);
    if (st == IFN_OK) st = ifn_jinja_eval_filters(ctx, node->a, ifn_jinja_string(text), &result);
    if (st == IFN_OK) st = ifn_jinja_text_append_value(ctx->out, result);
    return st;
}

/* {% with a = x, b = y %}: values are computed in the outer scope, bound in a new one. */
static ifn_status exec_with(ifn_jinja_ctx *ctx, const ifn_jinja_node *node) {
    ifn_jinja_frame *outer = ctx->frame, *frame = NULL;
    ifn_status st = ifn_jinja_interp_push_frame(ctx, outer, &frame);
    for (int32_t i = 0; i < node->n_alt && st == IFN_OK; i++) {
        ifn_jinja_value v = {0};
        ctx->frame = outer;
        st = ifn_jinja_eval_expr(ctx, node->alt[i]->b, &v);
        ctx->frame = frame;
        if (st == IFN_OK) st = assign(ctx, node->alt[i]->a, v);
    }
    ctx->frame = frame;
    if (st == IFN_OK) st = ifn_jinja_exec_body(ctx, node->kids, node->n_kids);
    ctx->frame = outer;
    return st;
}

static ifn_status exec_node(ifn_jinja_ctx *ctx, const ifn_jinja_node *node) {
    ifn_jinja_value v = {0};
    ifn_status st;
    ctx->line = node->line;
    switch (node->type) {
    case IFN_JINJA_N_TEXT:
        return ifn_jinja_text_append(ctx->out, node->name.ptr, node->name.len);
    case IFN_JINJA_N_OUTPUT:
        st = ifn_jinja_eval_expr(ctx, node->a, &v);
        return st == IFN_OK ? ifn_jinja_text_append_value(ctx->out, v) : st;
    case IFN_JINJA_N_IF:
        st = ifn_jinja_eval_expr(ctx, node->a, &v);
        if (st != IFN_OK) return st;
        if (ifn_jinja_value_truthy(v)) return ifn_jinja_exec_body(ctx, node->kids, node->n_kids);
        return ifn_jinja_exec_body(ctx, node->alt, node->n_alt);
    case IFN_JINJA_N_FOR:
        return exec_for(ctx, node);
    case IFN_JINJA_N_SET:
        st = ifn_jinja_eval_expr(ctx, node->b, &v);
        return st == IFN_OK ? assign(ctx, node->a, v) : st;
    case IFN_JINJA_N_SET_BLOCK:
        return exec_set_block(ctx, node);
    case IFN_JINJA_N_MACRO:
        st = define_macro(ctx, node, &v);
        return st == IFN_OK ? ifn_jinja_interp_set_var(ctx, ctx->frame, node->name, v) : st;
    case IFN_JINJA_N_CALL_BLOCK:
        return exec_call_block(ctx, node);
    case IFN_JINJA_N_FILTER_BLOCK:
        return exec_filter_block(ctx, node);
    case IFN_JINJA_N_WITH:
        return exec_with(ctx, node);
    case IFN_JINJA_N_BLOCK:
        return ifn_jinja_exec_body(ctx, node->kids, node->n_kids);
    case IFN_JINJA_N_BREAK:
        ctx->signal = IFN_JINJA_SIGNAL_BREAK;
        return IFN_OK;
    case IFN_JINJA_N_CONTINUE:
        ctx->signal = IFN_JINJA_SIGNAL_CONTINUE;
        return IFN_OK;
    default:
        return ifn_jinja_interp_error(ctx, "cannot execute this statement");
    }
}

ifn_status ifn_jinja_exec_body(ifn_jinja_ctx *ctx, ifn_jinja_node *const *body, int32_t n) {
    for (int32_t i = 0; i < n && ctx->signal == IFN_JINJA_SIGNAL_NONE; i++) {
        ifn_status st = exec_node(ctx, body[i]);
        if (st != IFN_OK) return st;
    }
    return IFN_OK;
}
