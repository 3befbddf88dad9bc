/* Sequence filters: first, last, join, list, items, dictsort, map, select/reject(attr),
 * reverse, sort, unique, min, max, sum, batch. Like Jinja2, map/select/reject/items/reverse
 * give generators: iterable and printable as such, but tojson refuses them. Sorting is a
 * stable merge sort; string keys compare case-insensitively unless case_sensitive=True. */
#include "tokenizer/jinja_filters_seq.h"

#include <string.h>

#include "tokenizer/jinja_access.h"
#include "tokenizer/jinja_filters.h"
#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_ops.h"
#include "tokenizer/jinja_strings.h"
#include "tokenizer/jinja_tests.h"
#include "tokenizer/jinja_text.h"
#include "util/status.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static ifn_status items_of(ifn_jinja_ctx *ctx, ifn_jinja_value v, ifn_jinja_list **out) {
    return ifn_jinja_access_iterate(ctx, v, out);
}

static ifn_jinja_list *new_list(ifn_jinja_ctx *ctx, int64_t cap, ifn_jinja_seq_kind kind) {
    return ifn_jinja_value_new_list(ctx->arena, cap, kind);
}

/* item.a.b with Jinja's getitem rules for each dotted part (digits index lists). */
static ifn_status attr_path(ifn_jinja_ctx *ctx, ifn_jinja_value item, ifn_str path,
                            ifn_jinja_value *out) {
    ifn_status st = IFN_OK;
    *out = item;
    size_t start = 0;
    while (start <= path.len && st == IFN_OK) {
        const char *dot = memchr(path.ptr + start, '.', path.len - start);
        size_t end = dot ? (size_t)(dot - path.ptr) : path.len;
        ifn_str part = {path.ptr + start, end - start};
        int is_index = part.len > 0 && part.len < 18;
        int64_t index = 0;
        for (size_t i = 0; i < part.len && is_index; i++) {
            is_index = part.ptr[i] >= '0' && part.ptr[i] <= '9';
            index = index * 10 + (part.ptr[i] - '0');
        }
        ifn_jinja_value key = is_index ? ifn_jinja_int(index) : ifn_jinja_string(part);
        st = ifn_jinja_access_getitem(ctx, *out, key, out);
        start = end + 1;
    }
    return st;
}

/* The value a filter sorts or compares by: the attribute if given, lower-cased if a string
 * and not case-sensitive. */
static ifn_status sort_key(ifn_jinja_ctx *ctx, ifn_jinja_value item, const ifn_jinja_value *attr,
                           int case_sensitive, ifn_jinja_value *out) {
    ifn_status st = IFN_OK;
    *out = item;
    if (attr && attr->kind == IFN_JINJA_STRING) st = attr_path(ctx, item, attr->as.s, out);
    if (st == IFN_OK && !case_sensitive && out->kind == IFN_JINJA_STRING)
        st = ifn_jinja_strings_case(ctx, out->as.s, IFN_JINJA_CASE_LOWER, out);
    return st;
}

static int opt_flag(const ifn_jinja_args *args, int32_t index, const char *name) {
    ifn_jinja_value v = {0};
    return ifn_jinja_interp_arg(args, index, name, &v) && ifn_jinja_value_truthy(v);
}

static const ifn_jinja_value *opt_attr(const ifn_jinja_args *args, int32_t index, const char *name,
                                       ifn_jinja_value *slot) {
    return ifn_jinja_interp_arg(args, index, name, slot) && slot->kind == IFN_JINJA_STRING ? slot
                                                                                           : NULL;
}

/* ---- first, last, join, list, items ------------------------------------------------------ */

static ifn_status first_or_last(ifn_jinja_ctx *ctx, ifn_jinja_value in, int last,
                                ifn_jinja_value *out) {
    ifn_jinja_list *items = NULL;
    ifn_status st = items_of(ctx, in, &items);
    if (st != IFN_OK) return st;
    if (items->len == 0)
        return ifn_jinja_interp_make_undefined(ctx, out, "No %s item, sequence was empty.",
                                               last ? "last" : "first");
    *out = items->items[last ? items->len - 1 : 0];
    return IFN_OK;
}

ifn_status ifn_jinja_filters_seq_first(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                       const ifn_jinja_args *args, ifn_jinja_value *out) {
    (void)args;
    return first_or_last(ctx, input, 0, out);
}

ifn_status ifn_jinja_filters_seq_last(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                      const ifn_jinja_args *args, ifn_jinja_value *out) {
    (void)args;
    return first_or_last(ctx, input, 1, out);
}

ifn_status ifn_jinja_filters_seq_join(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                      const ifn_jinja_args *args, ifn_jinja_value *out) {
    ifn_jinja_value sep = ifn_jinja_string(ifn_str_from_cstr("")), slot;
    ifn_jinja_interp_arg(args, 0, "d", &sep);
    const ifn_jinja_value *attr = opt_attr(args, 1, "attribute", &slot);
    ifn_jinja_list *items = NULL;
    ifn_str sep_s = {"", 0};
    ifn_status st = items_of(ctx, input, &items);
    if (st == IFN_OK) st = ifn_jinja_text_to_str(ctx->arena, sep, &sep_s);
    if (st == IFN_OK && attr) {
        ifn_jinja_list *mapped = new_list(ctx, items->len, IFN_JINJA_SEQ_LIST);
        if (!mapped) return IFN_E_NOMEM;
        for (int64_t i = 0; i < items->len && st == IFN_OK; i++)
            st = attr_path(ctx, items->items[i], attr->as.s, &mapped->items[mapped->len++]);
        items = mapped;
    }
    return st == IFN_OK ? ifn_jinja_strings_join(ctx, sep_s, items, 0, out) : st;
}

ifn_status ifn_jinja_filters_seq_list(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                      const ifn_jinja_args *args, ifn_jinja_value *out) {
    ifn_jinja_list *items = NULL;
    (void)args;
    ifn_status st = items_of(ctx, input, &items);
    if (st != IFN_OK) return st;
    ifn_jinja_list *copy = new_list(ctx, items->len, IFN_JINJA_SEQ_LIST);
    if (!copy) return IFN_E_NOMEM;
    memcpy(copy->items, items->items, (size_t)items->len * sizeof *copy->items);
    copy->len = items->len;
    *out = ifn_jinja_list_value(copy);
    return IFN_OK;
}

/* Pairs (key, value) of a dict, as tuples in a list of the given kind. */
static ifn_status dict_pairs(ifn_jinja_ctx *ctx, const ifn_jinja_dict *d, ifn_jinja_seq_kind kind,
                             ifn_jinja_list **out) {
    ifn_jinja_list *list = new_list(ctx, d->len, kind);
    if (!list) return IFN_E_NOMEM;
    for (int64_t i = 0; i < d->len; i++) {
        ifn_jinja_list *pair = new_list(ctx, 2, IFN_JINJA_SEQ_TUPLE);
        if (!pair) return IFN_E_NOMEM;
        pair->items[0] = d->keys[i];
        pair->items[1] = d->values[i];
        pair->len = 2;
        list->items[list->len++] = ifn_jinja_list_value(pair);
    }
    *out = list;
    return IFN_OK;
}

ifn_status ifn_jinja_filters_seq_items(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                       const ifn_jinja_args *args, ifn_jinja_value *out) {
    (void)args;
    ifn_jinja_list *list = NULL;
    if (input.kind == IFN_JINJA_UNDEFINED) {
        list = new_list(ctx, 0, IFN_JINJA_SEQ_GENERATOR);
        if (!list) return IFN_E_NOMEM;
    } else if (input.kind == IFN_JINJA_DICT && !input.as.dict->is_namespace) {
        ifn_status st = dict_pairs(ctx, input.as.dict, IFN_JINJA_SEQ_GENERATOR, &list);
        if (st != IFN_OK) return st;
    } else {
        return ifn_jinja_interp_error(ctx, "TypeError: Can only get item pairs from a mapping.");
    }
    *out = ifn_jinja_list_value(list);
    return IFN_OK;
}

/* ---- sorting ----------------------------------------------------------------------------- */

typedef struct keyed {
    ifn_jinja_value key;
    ifn_jinja_value item;
} keyed;

static ifn_status key_cmp(const keyed *a, const keyed *b, int *out) {
    if (ifn_jinja_value_equal(a->key, b->key)) {
        *out = 0;
        return IFN_OK;
    }
    return ifn_jinja_value_compare(a->key, b->key, "<", out);
}

/* Stable merge sort of v[0..n) by key; `reverse` flips the order but keeps equal keys in
 * their original order, as Python's sorted(reverse=True) does. */
static ifn_status merge_sort(keyed *v, keyed *tmp, int64_t n, int reverse) {
    if (n < 2) return IFN_OK;
    int64_t mid = n / 2;
    ifn_status st = merge_sort(v, tmp, mid, reverse);
    if (st == IFN_OK) st = merge_sort(v + mid, tmp, n - mid, reverse);
    if (st != IFN_OK) return st;
    int64_t i = 0, j = mid, k = 0;
    while (i < mid && j < n) {
        int cmp;
        st = key_cmp(&v[j], &v[i], &cmp);
        if (st != IFN_OK) return st;
        int take_right = reverse ? cmp > 0 : cmp < 0;
        tmp[k++] = take_right ? v[j++] : v[i++];
    }
    while (i < mid)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, (size_t)n * sizeof *v);
    return IFN_OK;
}

/* Sorts items by sort_key and returns them as a list. */
static ifn_status sorted_list(ifn_jinja_ctx *ctx, const ifn_jinja_list *items,
                              const ifn_jinja_value *attr, int case_sensitive, int reverse,
                              ifn_jinja_value *out) {
    int64_t n = items->len;
    keyed *v = ifn_jinja_arena_array(ctx->arena, (size_t)n + 1, sizeof *v);
    keyed *tmp = ifn_jinja_arena_array(ctx->arena, (size_t)n + 1, sizeof *tmp);
    ifn_jinja_list *list = new_list(ctx, n, IFN_JINJA_SEQ_LIST);
    if (!v || !tmp || !list) return IFN_E_NOMEM;
    ifn_status st = IFN_OK;
    for (int64_t i = 0; i < n && st == IFN_OK; i++) {
        v[i].item = items->items[i];
        st = sort_key(ctx, items->items[i], attr, case_sensitive, &v[i].key);
    }
    if (st == IFN_OK) st = merge_sort(v, tmp, n, reverse);
    for (int64_t i = 0; i < n && st == IFN_OK; i++)
        list->items[list->len++] = v[i].item;
    if (st == IFN_OK) *out = ifn_jinja_list_value(list);
    return st;
}

ifn_status ifn_jinja_filters_seq_sort(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                      const ifn_jinja_args *args, ifn_jinja_value *out) {
    ifn_jinja_value slot = {0};
    ifn_jinja_list *items = NULL;
    ifn_status st = items_of(ctx, input, &items);
    if (st != IFN_OK) return st;
    return sorted_list(ctx, items, opt_attr(args, 2, "attribute", &slot),
                       opt_flag(args, 1, "case_sensitive"), opt_flag(args, 0, "reverse"), out);
}

/* dictsort(case_sensitive=False, by='key', reverse=False): sorted (key, value) pairs. */
ifn_status ifn_jinja_filters_seq_dictsort(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                          const ifn_jinja_args *args, ifn_jinja_value *out) {
    if (input.kind != IFN_JINJA_DICT || input.as.dict->is_namespace)
        return ifn_jinja_interp_error(ctx, "TypeError: dictsort needs a mapping");
    ifn_jinja_value by = ifn_jinja_string(ifn_str_from_cstr("key"));
    ifn_jinja_interp_arg(args, 1, "by", &by);
    int by_value = by.kind == IFN_JINJA_STRING && ifn_str_eq_cstr(by.as.s, "value");
    ifn_jinja_value attr = ifn_jinja_string(ifn_str_from_cstr(by_value ? "1" : "0"));
    ifn_jinja_list *pairs = NULL;
    ifn_status st = dict_pairs(ctx, input.as.dict, IFN_JINJA_SEQ_LIST, &pairs);
    if (st != IFN_OK) return st;
    return sorted_list(ctx, pairs, &attr, opt_flag(args, 0, "case_sensitive"),
                       opt_flag(args, 2, "reverse"), out);
}

ifn_status ifn_jinja_filters_seq_unique(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                        const ifn_jinja_args *args, ifn_jinja_value *out) {
    ifn_jinja_value slot = {0};
    const ifn_jinja_value *attr = opt_attr(args, 1, "attribute", &slot);
    int case_sensitive = opt_flag(args, 0, "case_sensitive");
    ifn_jinja_list *items = NULL;
    ifn_status st = items_of(ctx, input, &items);
    if (st != IFN_OK) return st;
    ifn_jinja_list *kept = new_list(ctx, items->len, IFN_JINJA_SEQ_GENERATOR);
    ifn_jinja_list *keys = new_list(ctx, items->len, IFN_JINJA_SEQ_LIST);
    if (!kept || !keys) return IFN_E_NOMEM;
    for (int64_t i = 0; i < items->len; i++) {
        ifn_jinja_value key = {0};
        int seen = 0;
        st = sort_key(ctx, items->items[i], attr, case_sensitive, &key);
        if (st != IFN_OK) return st;
        for (int64_t j = 0; j < keys->len && !seen; j++)
            seen = ifn_jinja_value_equal(keys->items[j], key);
        if (seen) continue;
        keys->items[keys->len++] = key;
        kept->items[kept->len++] = items->items[i];
    }
    *out = ifn_jinja_list_value(kept);
    return IFN_OK;
}

static ifn_status min_max(ifn_jinja_ctx *ctx, ifn_jinja_value input, const ifn_jinja_args *args,
                          int want_max, ifn_jinja_value *out) {
    ifn_jinja_value slot = {0};
    const ifn_jinja_value *attr = opt_attr(args, 1, "attribute", &slot);
    int case_sensitive = opt_flag(args, 0, "case_sensitive");
    ifn_jinja_list *items = NULL;
    ifn_status st = items_of(ctx, input, &items);
    if (st != IFN_OK) return st;
    if (items->len == 0)
        return ifn_jinja_interp_make_undefined(ctx, out, "No aggregated item, sequence was empty.");
    keyed best = {.item = items->items[0]};
    st = sort_key(ctx, best.item, attr, case_sensitive, &best.key);
    for (int64_t i = 1; i < items->len && st == IFN_OK; i++) {
        keyed cand = {.item = items->items[i]};
        int cmp = 0;
        st = sort_key(ctx, cand.item, attr, case_sensitive, &cand.key);
        /* Compared directly, as Python's min/max do: undefined keys raise. */
        if (st == IFN_OK) st = ifn_jinja_value_compare(cand.key, best.key, "<", &cmp);
        if (st == IFN_OK && (want_max ? cmp > 0 : cmp < 0)) best = cand;
    }
    if (st == IFN_OK) *out = best.item;
    return st;
}

ifn_status ifn_jinja_filters_seq_min(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                     const ifn_jinja_args *args, ifn_jinja_value *out) {
    return min_max(ctx, input, args, 0, out);
}

ifn_status ifn_jinja_filters_seq_max(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                     const ifn_jinja_args *args, ifn_jinja_value *out) {
    return min_max(ctx, input, args, 1, out);
}

/* ---- sum, reverse, batch ----------------------------------------------------------------- */

ifn_status ifn_jinja_filters_seq_sum(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                     const ifn_jinja_args *args, ifn_jinja_value *out) {
    ifn_jinja_value slot, total = ifn_jinja_int(0);
    const ifn_jinja_value *attr = opt_attr(args, 0, "attribute", &slot);
    ifn_jinja_interp_arg(args, 1, "start", &total);
    ifn_jinja_list *items = NULL;
    ifn_status st = items_of(ctx, input, &items);
    for (int64_t i = 0; i < (items ? items->len : 0) && st == IFN_OK; i++) {
        ifn_jinja_value v = items->items[i];
        if (attr) st = attr_path(ctx, v, attr->as.s, &v);
        if (st == IFN_OK) st = ifn_jinja_ops_binary(ctx, IFN_JINJA_OP_ADD, total, v, &total);
    }
    if (st == IFN_OK) *out = total;
    return st;
}

ifn_status ifn_jinja_filters_seq_reverse(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                         const ifn_jinja_args *args, ifn_jinja_value *out) {
    (void)args;
    if (input.kind == IFN_JINJA_STRING) {
        ifn_jinja_value none = ifn_jinja_none();
        return ifn_jinja_access_slice(ctx, input, none, none, ifn_jinja_int(-1), out);
    }
    ifn_jinja_list *items = NULL;
    ifn_status st = items_of(ctx, input, &items);
    if (st != IFN_OK) return st;
    ifn_jinja_list *rev = new_list(ctx, items->len, IFN_JINJA_SEQ_GENERATOR);
    if (!rev) return IFN_E_NOMEM;
    for (int64_t i = items->len - 1; i >= 0; i--)
        rev->items[rev->len++] = items->items[i];
    *out = ifn_jinja_list_value(rev);
    return IFN_OK;
}

ifn_status ifn_jinja_filters_seq_batch(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                       const ifn_jinja_args *args, ifn_jinja_value *out) {
    ifn_jinja_value count = {0}, fill = {0};
    int has_fill = ifn_jinja_interp_arg(args, 1, "fill_with", &fill) && fill.kind != IFN_JINJA_NONE;
    if (!ifn_jinja_interp_arg(args, 0, "linecount", &count) || count.kind != IFN_JINJA_INT ||
        count.as.i <= 0)
        return ifn_jinja_interp_error(ctx, "TypeError: batch needs a positive line count");
    ifn_jinja_list *items = NULL;
    ifn_status st = items_of(ctx, input, &items);
    if (st != IFN_OK) return st;
    int64_t per = count.as.i, n_batches = (items->len + per - 1) / per;
    ifn_jinja_list *batches = new_list(ctx, n_batches, IFN_JINJA_SEQ_GENERATOR);
    if (!batches) return IFN_E_NOMEM;
    for (int64_t b = 0; b < n_batches; b++) {
        ifn_jinja_list *batch = new_list(ctx, per < 64 ? per : 64, IFN_JINJA_SEQ_LIST);
        if (!batch) return IFN_E_NOMEM;
        for (int64_t i = b * per; i < (b + 1) * per && st == IFN_OK; i++) {
            if (i < items->len)
                st = ifn_jinja_value_list_push(ctx->arena, batch, items->items[i]);
            else if (has_fill)
                st = ifn_jinja_value_list_push(ctx->arena, batch, fill);
        }
        if (st != IFN_OK) return st;
        batches->items[batches->len++] = ifn_jinja_list_value(batch);
    }
    *out = ifn_jinja_list_value(batches);
    return IFN_OK;
}

/* ---- map, select, reject ----------------------------------------------------------------- */

/* Jinja2's map and select family yield nothing for a falsy input (None, "", []), without
 * trying to iterate it. */
static ifn_status items_or_none(ifn_jinja_ctx *ctx, ifn_jinja_value v, ifn_jinja_list **out) {
    if (ifn_jinja_value_truthy(v)) return items_of(ctx, v, out);
    *out = new_list(ctx, 0, IFN_JINJA_SEQ_LIST);
    return *out ? IFN_OK : IFN_E_NOMEM;
}

/* Arguments from `first` on, as a new argument list (for the filter or test they name). */
static ifn_jinja_args args_from(const ifn_jinja_args *args, int32_t first) {
    ifn_jinja_args rest = *args;
    rest.pos = args->n_pos > first ? args->pos + first : NULL;
    rest.n_pos = args->n_pos > first ? args->n_pos - first : 0;
    return rest;
}

/* map(attribute='a.b', default=x) or map('filter', args...). */
ifn_status ifn_jinja_filters_seq_map(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                     const ifn_jinja_args *args, ifn_jinja_value *out) {
    ifn_jinja_value slot = {0}, dflt = {0}, name = {0};
    const ifn_jinja_value *attr = opt_attr(args, -1, "attribute", &slot);
    int has_default = ifn_jinja_interp_arg(args, -1, "default", &dflt);
    ifn_jinja_filter_fn filter = NULL;
    if (!attr) {
        if (!ifn_jinja_interp_arg(args, 0, NULL, &name) || name.kind != IFN_JINJA_STRING)
            return ifn_jinja_interp_error(ctx, "TypeError: map needs a filter name or attribute=");
        if (!(filter = ifn_jinja_filters_find(name.as.s)))
            return ifn_jinja_interp_error(ctx, "no filter named '%.*s'", (int)name.as.s.len,
                                          name.as.s.ptr);
    }
    ifn_jinja_args rest = args_from(args, 1);
    rest.n_kw = 0;
    ifn_jinja_list *items = NULL;
    ifn_status st = items_or_none(ctx, input, &items);
    if (st != IFN_OK) return st;
    ifn_jinja_list *mapped = new_list(ctx, items->len, IFN_JINJA_SEQ_GENERATOR);
    if (!mapped) return IFN_E_NOMEM;
    for (int64_t i = 0; i < items->len && st == IFN_OK; i++) {
        ifn_jinja_value *v = &mapped->items[mapped->len++];
        if (filter) {
            st = filter(ctx, items->items[i], &rest, v);
        } else {
            st = attr_path(ctx, items->items[i], attr->as.s, v);
            if (st == IFN_OK && has_default && v->kind == IFN_JINJA_UNDEFINED) *v = dflt;
        }
    }
    if (st == IFN_OK) *out = ifn_jinja_list_value(mapped);
    return st;
}

/* select/reject (by_attr 0) and selectattr/rejectattr (by_attr 1): keep items whose test
 * (or truthiness, without a test name) equals `keep`. */
static ifn_status select_impl(ifn_jinja_ctx *ctx, ifn_jinja_value input, const ifn_jinja_args *args,
                              int by_attr, int keep, ifn_jinja_value *out) {
    ifn_jinja_value attr = {0}, name = {0};
    if (by_attr && (!ifn_jinja_interp_arg(args, 0, NULL, &attr) || attr.kind != IFN_JINJA_STRING))
        return ifn_jinja_interp_error(ctx, "TypeError: selectattr needs an attribute name");
    ifn_jinja_test_fn test = NULL;
    if (ifn_jinja_interp_arg(args, by_attr, NULL, &name)) {
        if (name.kind != IFN_JINJA_STRING || !(test = ifn_jinja_tests_find(name.as.s)))
            return ifn_jinja_interp_error(ctx, "no test named '%.*s'",
                                          name.kind == IFN_JINJA_STRING ? (int)name.as.s.len : 1,
                                          name.kind == IFN_JINJA_STRING ? name.as.s.ptr : "?");
    }
    ifn_jinja_args rest = args_from(args, by_attr + 1);
    ifn_jinja_list *items = NULL;
    ifn_status st = items_or_none(ctx, input, &items);
    if (st != IFN_OK) return st;
    ifn_jinja_list *kept = new_list(ctx, items->len, IFN_JINJA_SEQ_GENERATOR);
    if (!kept) return IFN_E_NOMEM;
    for (int64_t i = 0; i < items->len && st == IFN_OK; i++) {
        ifn_jinja_value v = items->items[i];
        int result = 0;
        if (by_attr) st = attr_path(ctx, v, attr.as.s, &v);
        if (st == IFN_OK && test)
            st = test(ctx, v, &rest, &result);
        else if (st == IFN_OK)
            result = ifn_jinja_value_truthy(v);
        if (st == IFN_OK && (result != 0) == keep) kept->items[kept->len++] = items->items[i];
    }
    if (st == IFN_OK) *out = ifn_jinja_list_value(kept);
    return st;
}

ifn_status ifn_jinja_filters_seq_select(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                        const ifn_jinja_args *args, ifn_jinja_value *out) {
    return select_impl(ctx, input, args, 0, 1, out);
}

ifn_status ifn_jinja_filters_seq_reject(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                        const ifn_jinja_args *args, ifn_jinja_value *out) {
    return select_impl(ctx, input, args, 0, 0, out);
}

ifn_status ifn_jinja_filters_seq_selectattr(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                            const ifn_jinja_args *args, ifn_jinja_value *out) {
    return select_impl(ctx, input, args, 1, 1, out);
}

ifn_status ifn_jinja_filters_seq_rejectattr(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                            const ifn_jinja_args *args, ifn_jinja_value *out) {
    return select_impl(ctx, input, args, 1, 0, out);
}
