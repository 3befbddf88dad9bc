/* obj.attr, obj[key], obj[a:b:c] and iteration with Jinja2's rules: attribute access tries
 * methods before dict items, item access tries items before methods, a missing attribute or
 * item is undefined (not an error), and any access on an undefined value is an error.
 * Strings index and slice by code point. */
#include "tokenizer/jinja_access.h"

#include <string.h>

#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_methods.h"
#include "tokenizer/jinja_text.h"
#include "util/status.h"

/* "'dict object'" style prefix of Jinja2's undefined messages. */
static const char *object_name(ifn_jinja_value obj) {
    switch (obj.kind) {
    case IFN_JINJA_NONE:
        return "None";
    case IFN_JINJA_DICT:
        return obj.as.dict->is_namespace ? "Namespace object" : "dict object";
    case IFN_JINJA_LIST:
        if (obj.as.list->seq_kind == IFN_JINJA_SEQ_TUPLE) return "tuple object";
        return obj.as.list->seq_kind == IFN_JINJA_SEQ_GENERATOR ? "generator object"
                                                                : "list object";
    case IFN_JINJA_STRING:
        return "str object";
    case IFN_JINJA_INT:
        return "int object";
    case IFN_JINJA_FLOAT:
        return "float object";
    case IFN_JINJA_BOOL:
        return "bool object";
    default:
        return "object";
    }
}

static ifn_status no_attribute(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_str name,
                               ifn_jinja_value *out) {
    if (obj.kind == IFN_JINJA_NONE)
        return ifn_jinja_interp_make_undefined(ctx, out, "'None' has no attribute '%.*s'",
                                               (int)name.len, name.ptr);
    return ifn_jinja_interp_make_undefined(ctx, out, "'%s' has no attribute '%.*s'",
                                           object_name(obj), (int)name.len, name.ptr);
}

ifn_status ifn_jinja_access_getattr(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_str name,
                                    ifn_jinja_value *out) {
    if (obj.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, obj);
    if (obj.kind == IFN_JINJA_DICT && obj.as.dict->is_namespace) {
        if (ifn_jinja_value_dict_get_str(obj.as.dict, name, out)) return IFN_OK;
        return no_attribute(ctx, obj, name, out);
    }
    int found = 0;
    ifn_status st = ifn_jinja_methods_getattr(ctx, obj, name, &found, out);
    if (st != IFN_OK || found) return st;
    if (obj.kind == IFN_JINJA_DICT && ifn_jinja_value_dict_get_str(obj.as.dict, name, out))
        return IFN_OK;
    return no_attribute(ctx, obj, name, out);
}

/* Python index semantics: negative counts from the end; -1 when out of range. */
static int64_t normalize_index(ifn_jinja_value key, int64_t len) {
    int64_t i = ifn_jinja_as_int(key);
    if (i < 0) i += len;
    return i >= 0 && i < len ? i : -1;
}

static ifn_status string_char(ifn_jinja_ctx *ctx, ifn_str s, ifn_jinja_value key,
                              ifn_jinja_value *out) {
    int64_t i = normalize_index(key, ifn_jinja_value_cp_count(s));
    if (i < 0)
        return ifn_jinja_interp_make_undefined(ctx, out, "'str object' has no element %lld",
                                               (long long)ifn_jinja_as_int(key));
    size_t start = ifn_jinja_value_cp_offset(s, i);
    size_t end = ifn_jinja_value_cp_offset(s, i + 1);
    ifn_str c = {s.ptr + start, end - start};
    *out = ifn_jinja_string(c);
    return IFN_OK;
}

ifn_status ifn_jinja_access_getitem(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_jinja_value key,
                                    ifn_jinja_value *out) {
    if (obj.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, obj);
    int int_key = key.kind == IFN_JINJA_INT || key.kind == IFN_JINJA_BOOL;
    if (obj.kind == IFN_JINJA_DICT && !obj.as.dict->is_namespace &&
        ifn_jinja_value_dict_get(obj.as.dict, key, out))
        return IFN_OK;
    if (obj.kind == IFN_JINJA_LIST && obj.as.list->seq_kind != IFN_JINJA_SEQ_GENERATOR && int_key) {
        int64_t i = normalize_index(key, obj.as.list->len);
        if (i >= 0) {
            *out = obj.as.list->items[i];
            return IFN_OK;
        }
    }
    if (obj.kind == IFN_JINJA_STRING && int_key) {
        ifn_status st = string_char(ctx, obj.as.s, key, out);
        out->flags |= obj.flags & IFN_JINJA_FLAG_SAFE;
        return st;
    }
    if (key.kind == IFN_JINJA_STRING) return ifn_jinja_access_getattr(ctx, obj, key.as.s, out);
    ifn_jinja_buf text;
    ifn_jinja_text_init(&text, ctx->arena, 0);
    ifn_status st = ifn_jinja_text_append_repr(&text, key);
    if (st != IFN_OK) return st;
    ifn_str k = ifn_jinja_text_view(&text);
    return ifn_jinja_interp_make_undefined(ctx, out, "'%s' has no element %.*s", object_name(obj),
                                           (int)k.len, k.ptr);
}

/* ---- slices ------------------------------------------------------------------------------ */

typedef struct slice_range {
    int64_t start;
    int64_t step;
    int64_t count;
} slice_range;

static ifn_status slice_bound(ifn_jinja_ctx *ctx, ifn_jinja_value v, int64_t len, int64_t dflt,
                              int64_t lower, int64_t upper, int64_t *out) {
    if (v.kind == IFN_JINJA_NONE) {
        *out = dflt;
        return IFN_OK;
    }
    if (v.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, v);
    if (v.kind != IFN_JINJA_INT && v.kind != IFN_JINJA_BOOL)
        return ifn_jinja_interp_error(ctx, "TypeError: slice indices must be integers or None");
    int64_t i = ifn_jinja_as_int(v);
    if (i < 0) i = i < -len ? lower : i + len;
    if (i < lower) i = lower;
    if (i > upper) i = upper;
    *out = i;
    return IFN_OK;
}

/* Python's slice.indices(len) followed by the item count. */
static ifn_status slice_indices(ifn_jinja_ctx *ctx, ifn_jinja_value start, ifn_jinja_value stop,
                                ifn_jinja_value step, int64_t len, slice_range *out) {
    int64_t st_step = 1, first = 0, last = 0;
    if (step.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, step);
    if (step.kind != IFN_JINJA_NONE) {
        if (step.kind != IFN_JINJA_INT && step.kind != IFN_JINJA_BOOL)
            return ifn_jinja_interp_error(ctx, "TypeError: slice indices must be integers or None");
        st_step = ifn_jinja_as_int(step);
        if (st_step == 0)
            return ifn_jinja_interp_error(ctx, "ValueError: slice step cannot be zero");
        if (st_step == INT64_MIN) st_step = -INT64_MAX;
    }
    int64_t lower = st_step > 0 ? 0 : -1, upper = st_step > 0 ? len : len - 1;
    ifn_status st = slice_bound(ctx, start, len, st_step > 0 ? lower : upper, lower, upper, &first);
    if (st == IFN_OK)
        st = slice_bound(ctx, stop, len, st_step > 0 ? upper : lower, lower, upper, &last);
    if (st != IFN_OK) return st;
    out->start = first;
    out->step = st_step;
    if (st_step > 0)
        out->count = last > first ? (last - first - 1) / st_step + 1 : 0;
    else
        out->count = first > last ? (first - last - 1) / (-st_step) + 1 : 0;
    return IFN_OK;
}

static ifn_status slice_string(ifn_jinja_ctx *ctx, ifn_str s, const slice_range *r,
                               ifn_jinja_value *out) {
    if (r->step == 1) { /* contiguous: a view, no copy */
        size_t a = ifn_jinja_value_cp_offset(s, r->start);
        size_t b = ifn_jinja_value_cp_offset(s, r->start + r->count);
        ifn_str sub = {s.ptr + a, b - a};
        *out = ifn_jinja_string(sub);
        return IFN_OK;
    }
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, 0);
    for (int64_t k = 0, i = r->start; k < r->count; k++, i += r->step) {
        size_t a = ifn_jinja_value_cp_offset(s, i), b = ifn_jinja_value_cp_offset(s, i + 1);
        ifn_status st = ifn_jinja_text_append(&buf, s.ptr + a, b - a);
        if (st != IFN_OK) return st;
    }
    *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    return IFN_OK;
}

ifn_status ifn_jinja_access_slice(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_jinja_value start,
                                  ifn_jinja_value stop, ifn_jinja_value step,
                                  ifn_jinja_value *out) {
    if (obj.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, obj);
    int is_seq = obj.kind == IFN_JINJA_LIST && obj.as.list->seq_kind != IFN_JINJA_SEQ_GENERATOR;
    if (!is_seq && obj.kind != IFN_JINJA_STRING)
        return ifn_jinja_interp_error(ctx, "TypeError: '%s' object is not subscriptable",
                                      ifn_jinja_value_type_name(obj));
    int64_t len = ifn_jinja_value_length(obj);
    slice_range r = {0, 1, 0};
    ifn_status st = slice_indices(ctx, start, stop, step, len, &r);
    if (st != IFN_OK) return st;
    if (obj.kind == IFN_JINJA_STRING) {
        st = slice_string(ctx, obj.as.s, &r, out);
        out->flags |= obj.flags & IFN_JINJA_FLAG_SAFE;
        return st;
    }
    ifn_jinja_list *list = ifn_jinja_value_new_list(ctx->arena, r.count, obj.as.list->seq_kind);
    if (!list) return IFN_E_NOMEM;
    for (int64_t k = 0, i = r.start; k < r.count; k++, i += r.step)
        list->items[list->len++] = obj.as.list->items[i];
    *out = ifn_jinja_list_value(list);
    return IFN_OK;
}

/* ---- iteration --------------------------------------------------------------------------- */

ifn_status ifn_jinja_access_iterate(ifn_jinja_ctx *ctx, ifn_jinja_value v, ifn_jinja_list **out) {
    ifn_jinja_list *list;
    switch (v.kind) {
    case IFN_JINJA_LIST:
        *out = v.as.list;
        return IFN_OK;
    case IFN_JINJA_UNDEFINED:
        *out = ifn_jinja_value_new_list(ctx->arena, 0, IFN_JINJA_SEQ_LIST);
        return *out ? IFN_OK : IFN_E_NOMEM;
    case IFN_JINJA_DICT:
        if (v.as.dict->is_namespace) break;
        list = ifn_jinja_value_new_list(ctx->arena, v.as.dict->len, IFN_JINJA_SEQ_LIST);
        if (!list) return IFN_E_NOMEM;
        memcpy(list->items, v.as.dict->keys, (size_t)v.as.dict->len * sizeof *list->items);
        list->len = v.as.dict->len;
        *out = list;
        return IFN_OK;
    case IFN_JINJA_STRING: {
        int64_t n = ifn_jinja_value_cp_count(v.as.s);
        list = ifn_jinja_value_new_list(ctx->arena, n, IFN_JINJA_SEQ_LIST);
        if (!list) return IFN_E_NOMEM;
        size_t a = 0;
        for (int64_t i = 0; i < n; i++) {
            size_t b = ifn_jinja_value_cp_offset(v.as.s, i + 1);
            ifn_str c = {v.as.s.ptr + a, b - a};
            list->items[list->len++] = ifn_jinja_string(c);
            a = b;
        }
        *out = list;
        return IFN_OK;
    }
    default:
        break;
    }
    return ifn_jinja_interp_error(ctx, "TypeError: '%s' object is not iterable",
                                  ifn_jinja_value_type_name(v));
}
