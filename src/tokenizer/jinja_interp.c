/* Support shared by every part of the interpreter: runtime errors, undefined values, scopes,
 * name lookup and builtin-argument access. */
#include "tokenizer/jinja_interp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer/jinja_globals.h"
#include "util/status.h"

ifn_status ifn_jinja_interp_error(ifn_jinja_ctx *ctx, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (void)ctx;
    return ifn_fail(IFN_E_INVALID, "%s", msg);
}

ifn_status ifn_jinja_interp_undefined_error(ifn_jinja_ctx *ctx, ifn_jinja_value undefined) {
    ifn_str m = undefined.as.s;
    if (m.len == 0) return ifn_jinja_interp_error(ctx, "value is undefined");
    return ifn_jinja_interp_error(ctx, "%.*s", (int)m.len, m.ptr);
}

ifn_status ifn_jinja_interp_make_undefined(ifn_jinja_ctx *ctx, ifn_jinja_value *out,
                                           const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof msg) n = (int)sizeof msg - 1;
    char *copy = ifn_jinja_arena_strdup(ctx->arena, msg, (size_t)n);
    if (!copy) return IFN_E_NOMEM;
    ifn_str s = {copy, (size_t)n};
    *out = ifn_jinja_undefined(s);
    return IFN_OK;
}

ifn_status ifn_jinja_interp_new_string(ifn_jinja_ctx *ctx, const char *s, size_t len,
                                       ifn_jinja_value *out) {
    char *copy = ifn_jinja_arena_strdup(ctx->arena, s, len);
    if (!copy) return IFN_E_NOMEM;
    ifn_str view = {copy, len};
    *out = ifn_jinja_string(view);
    return IFN_OK;
}

/* ---- scopes ------------------------------------------------------------------------------ */

ifn_status ifn_jinja_interp_push_frame(ifn_jinja_ctx *ctx, ifn_jinja_frame *parent,
                                       ifn_jinja_frame **out) {
    ifn_jinja_frame *f = ifn_jinja_arena_alloc(ctx->arena, sizeof *f);
    if (!f) return IFN_E_NOMEM;
    f->parent = parent;
    *out = f;
    return IFN_OK;
}

ifn_status ifn_jinja_interp_set_var(ifn_jinja_ctx *ctx, ifn_jinja_frame *frame, ifn_str name,
                                    ifn_jinja_value value) {
    if (!frame->vars && !(frame->vars = ifn_jinja_value_new_dict(ctx->arena, 4)))
        return IFN_E_NOMEM;
    return ifn_jinja_value_dict_set(ctx->arena, frame->vars, ifn_jinja_string(name), value);
}

ifn_status ifn_jinja_interp_lookup(ifn_jinja_ctx *ctx, ifn_str name, ifn_jinja_value *out) {
    for (const ifn_jinja_frame *f = ctx->frame; f; f = f->parent)
        if (f->vars && ifn_jinja_value_dict_get_str(f->vars, name, out)) return IFN_OK;
    ifn_jinja_builtin_fn fn;
    if (ifn_jinja_globals_find(name, &fn)) {
        ifn_jinja_func *func = ifn_jinja_arena_alloc(ctx->arena, sizeof *func);
        if (!func) return IFN_E_NOMEM;
        func->kind = IFN_JINJA_FUNC_BUILTIN;
        func->name = name;
        func->builtin = fn;
        *out = ifn_jinja_func_value(func);
        return IFN_OK;
    }
    return ifn_jinja_interp_make_undefined(ctx, out, "'%.*s' is undefined", (int)name.len,
                                           name.ptr);
}

int ifn_jinja_interp_arg(const ifn_jinja_args *args, int32_t index, const char *name,
                         ifn_jinja_value *out) {
    if (index >= 0 && index < args->n_pos) {
        *out = args->pos[index];
        return 1;
    }
    for (int32_t i = 0; name && i < args->n_kw; i++)
        if (ifn_str_eq_cstr(args->kw_names[i], name)) {
            *out = args->kw_values[i];
            return 1;
        }
    return 0;
}
