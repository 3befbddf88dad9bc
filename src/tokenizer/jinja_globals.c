/* Global functions. range() is capped at 100000 items like Jinja2's sandbox; raise_exception
 * marks its error so the renderer reports the template's message verbatim. */
#include "tokenizer/jinja_globals.h"

#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_text.h"
#include "util/status.h"

#define MAX_RANGE 100000

static ifn_status g_range(ifn_jinja_ctx *ctx, const ifn_jinja_args *args, ifn_jinja_value *out) {
    int64_t v[3] = {0, 0, 1};
    if (args->n_pos < 1 || args->n_pos > 3)
        return ifn_jinja_interp_error(ctx, "TypeError: range expected 1 to 3 arguments, got %d",
                                      (int)args->n_pos);
    for (int32_t i = 0; i < args->n_pos; i++) {
        ifn_jinja_value a = args->pos[i];
        if (a.kind != IFN_JINJA_INT && a.kind != IFN_JINJA_BOOL)
            return ifn_jinja_interp_error(ctx,
                                          "TypeError: '%s' object cannot be interpreted as an "
                                          "integer",
                                          ifn_jinja_value_type_name(a));
        v[args->n_pos == 1 ? 1 : i] = ifn_jinja_as_int(a);
    }
    int64_t start = v[0], stop = v[1], step = v[2];
    if (step == 0) return ifn_jinja_interp_error(ctx, "ValueError: range() arg 3 must not be zero");
    /* Item count in unsigned arithmetic: the distance between two int64 fits in uint64. */
    uint64_t dist = 0, ustep = step > 0 ? (uint64_t)step : 0 - (uint64_t)step;
    if (step > 0 && stop > start) dist = (uint64_t)stop - (uint64_t)start;
    if (step < 0 && start > stop) dist = (uint64_t)start - (uint64_t)stop;
    uint64_t count = dist / ustep + (dist % ustep != 0);
    if (count > MAX_RANGE)
        return ifn_jinja_interp_error(ctx,
                                      "OverflowError: Range too big. The sandbox blocks ranges "
                                      "larger than MAX_RANGE (%d).",
                                      MAX_RANGE);
    int64_t n = (int64_t)count;
    ifn_jinja_list *list = ifn_jinja_value_new_list(ctx->arena, n, IFN_JINJA_SEQ_LIST);
    if (!list) return IFN_E_NOMEM;
    for (int64_t i = 0; i < n; i++) /* wraps like the true value, which lies in range */
        list->items[list->len++] =
            ifn_jinja_int((int64_t)((uint64_t)start + (uint64_t)i * (uint64_t)step));
    *out = ifn_jinja_list_value(list);
    return IFN_OK;
}

/* dict(mapping?, **kwargs), and namespace() which is the same with attribute assignment. */
static ifn_status build_mapping(ifn_jinja_ctx *ctx, const ifn_jinja_args *args, int is_namespace,
                                ifn_jinja_value *out) {
    ifn_jinja_dict *d = ifn_jinja_value_new_dict(ctx->arena, args->n_kw);
    if (!d) return IFN_E_NOMEM;
    d->is_namespace = is_namespace;
    ifn_status st = IFN_OK;
    if (args->n_pos > 1)
        return ifn_jinja_interp_error(ctx, "TypeError: expected at most 1 positional argument");
    if (args->n_pos == 1) {
        ifn_jinja_value src = args->pos[0];
        if (src.kind != IFN_JINJA_DICT)
            return ifn_jinja_interp_error(ctx, "TypeError: cannot convert '%s' to a dictionary",
                                          ifn_jinja_value_type_name(src));
        for (int64_t i = 0; i < src.as.dict->len && st == IFN_OK; i++)
            st = ifn_jinja_value_dict_set(ctx->arena, d, src.as.dict->keys[i],
                                          src.as.dict->values[i]);
    }
    for (int32_t i = 0; i < args->n_kw && st == IFN_OK; i++)
        st = ifn_jinja_value_dict_set(ctx->arena, d, ifn_jinja_string(args->kw_names[i]),
                                      args->kw_values[i]);
    if (st == IFN_OK) *out = ifn_jinja_dict_value(d);
    return st;
}

static ifn_status g_dict(ifn_jinja_ctx *ctx, const ifn_jinja_args *args, ifn_jinja_value *out) {
    return build_mapping(ctx, args, 0, out);
}

static ifn_status g_namespace(ifn_jinja_ctx *ctx, const ifn_jinja_args *args,
                              ifn_jinja_value *out) {
    return build_mapping(ctx, args, 1, out);
}

static ifn_status g_raise_exception(ifn_jinja_ctx *ctx, const ifn_jinja_args *args,
                                    ifn_jinja_value *out) {
    ifn_jinja_value msg = ifn_jinja_string(ifn_str_from_cstr("template raised an exception"));
    ifn_str text = {"", 0};
    (void)out;
    ifn_jinja_interp_arg(args, 0, "message", &msg);
    ifn_status st = ifn_jinja_text_to_str(ctx->arena, msg, &text);
    if (st != IFN_OK) return st;
    ctx->error_raised = 1;
    return ifn_fail(IFN_E_INVALID, "%.*s", (int)text.len, text.ptr);
}

static const struct {
    const char *name;
    ifn_jinja_builtin_fn fn;
} g_globals[] = {
    {"range", g_range},
    {"dict", g_dict},
    {"namespace", g_namespace},
    {"raise_exception", g_raise_exception},
};

int ifn_jinja_globals_find(ifn_str name, ifn_jinja_builtin_fn *out_fn) {
    for (size_t i = 0; i < sizeof g_globals / sizeof g_globals[0]; i++)
        if (ifn_str_eq_cstr(name, g_globals[i].name)) {
            *out_fn = g_globals[i].fn;
            return 1;
        }
    return 0;
}
