/* Containers and Python semantics of interpreter values: truthiness, ==, ordering, lengths
 * and code-point positions in UTF-8 strings. */
#include "tokenizer/jinja_value.h"

#include <string.h>

#include "util/status.h"

/* ---- containers -------------------------------------------------------------------------- */

ifn_jinja_list *ifn_jinja_value_new_list(ifn_jinja_arena *arena, int64_t cap,
                                         ifn_jinja_seq_kind seq_kind) {
    ifn_jinja_list *list = ifn_jinja_arena_alloc(arena, sizeof *list);
    if (!list) return NULL;
    if (cap < 4) cap = 4;
    list->items = ifn_jinja_arena_array(arena, (size_t)cap, sizeof *list->items);
    if (!list->items) return NULL;
    list->cap = cap;
    list->seq_kind = seq_kind;
    return list;
}

ifn_status ifn_jinja_value_list_push(ifn_jinja_arena *arena, ifn_jinja_list *list,
                                     ifn_jinja_value item) {
    if (list->len == list->cap) {
        int64_t cap = list->cap * 2;
        ifn_jinja_value *items = ifn_jinja_arena_array(arena, (size_t)cap, sizeof *items);
        if (!items) return IFN_E_NOMEM;
        memcpy(items, list->items, (size_t)list->len * sizeof *items);
        list->items = items;
        list->cap = cap;
    }
    list->items[list->len++] = item;
    return IFN_OK;
}

ifn_jinja_dict *ifn_jinja_value_new_dict(ifn_jinja_arena *arena, int64_t cap) {
    ifn_jinja_dict *dict = ifn_jinja_arena_alloc(arena, sizeof *dict);
    if (!dict) return NULL;
    if (cap < 4) cap = 4;
    dict->keys = ifn_jinja_arena_array(arena, (size_t)cap, sizeof *dict->keys);
    dict->values = ifn_jinja_arena_array(arena, (size_t)cap, sizeof *dict->values);
    if (!dict->keys || !dict->values) return NULL;
    dict->cap = cap;
    return dict;
}

static int64_t dict_find(const ifn_jinja_dict *dict, ifn_jinja_value key) {
    for (int64_t i = 0; i < dict->len; i++)
        if (ifn_jinja_value_equal(dict->keys[i], key)) return i;
    return -1;
}

ifn_status ifn_jinja_value_dict_append(ifn_jinja_arena *arena, ifn_jinja_dict *dict,
                                       ifn_jinja_value key, ifn_jinja_value value) {
    if (dict->len == dict->cap) {
        int64_t cap = dict->cap * 2;
        ifn_jinja_value *keys = ifn_jinja_arena_array(arena, (size_t)cap, sizeof *keys);
        ifn_jinja_value *values = ifn_jinja_arena_array(arena, (size_t)cap, sizeof *values);
        if (!keys || !values) return IFN_E_NOMEM;
        memcpy(keys, dict->keys, (size_t)dict->len * sizeof *keys);
        memcpy(values, dict->values, (size_t)dict->len * sizeof *values);
        dict->keys = keys;
        dict->values = values;
        dict->cap = cap;
    }
    dict->keys[dict->len] = key;
    dict->values[dict->len] = value;
    dict->len++;
    return IFN_OK;
}

ifn_status ifn_jinja_value_dict_set(ifn_jinja_arena *arena, ifn_jinja_dict *dict,
                                    ifn_jinja_value key, ifn_jinja_value value) {
    int64_t i = dict_find(dict, key);
    if (i >= 0) {
        dict->values[i] = value;
        return IFN_OK;
    }
    return ifn_jinja_value_dict_append(arena, dict, key, value);
}

int ifn_jinja_value_dict_get(const ifn_jinja_dict *dict, ifn_jinja_value key,
                             ifn_jinja_value *out) {
    int64_t i = dict_find(dict, key);
    if (i < 0) return 0;
    *out = dict->values[i];
    return 1;
}

int ifn_jinja_value_dict_get_str(const ifn_jinja_dict *dict, ifn_str key, ifn_jinja_value *out) {
    for (int64_t i = 0; i < dict->len; i++) {
        const ifn_jinja_value *k = &dict->keys[i];
        if (k->kind == IFN_JINJA_STRING && ifn_str_eq(k->as.s, key)) {
            *out = dict->values[i];
            return 1;
        }
    }
    return 0;
}

/* ---- semantics --------------------------------------------------------------------------- */

int ifn_jinja_value_truthy(ifn_jinja_value v) {
    switch (v.kind) {
    case IFN_JINJA_UNDEFINED:
    case IFN_JINJA_NONE:
        return 0;
    case IFN_JINJA_BOOL:
        return v.as.b;
    case IFN_JINJA_INT:
        return v.as.i != 0;
    case IFN_JINJA_FLOAT:
        return v.as.f != 0.0;
    case IFN_JINJA_STRING:
        return v.as.s.len != 0;
    case IFN_JINJA_LIST:
        return v.as.list->seq_kind == IFN_JINJA_SEQ_GENERATOR || v.as.list->len != 0;
    case IFN_JINJA_DICT:
        return v.as.dict->is_namespace || v.as.dict->len != 0;
    case IFN_JINJA_FUNC:
    case IFN_JINJA_LOOP:
        return 1;
    }
    return 0;
}

static int lists_equal(const ifn_jinja_list *a, const ifn_jinja_list *b) {
    if (a == b) return 1;
    if (a->seq_kind != b->seq_kind || a->seq_kind == IFN_JINJA_SEQ_GENERATOR) return 0;
    if (a->len != b->len) return 0;
    for (int64_t i = 0; i < a->len; i++)
        if (!ifn_jinja_value_equal(a->items[i], b->items[i])) return 0;
    return 1;
}

static int dicts_equal(const ifn_jinja_dict *a, const ifn_jinja_dict *b) {
    if (a == b) return 1;
    if (a->is_namespace || b->is_namespace || a->len != b->len) return 0;
    for (int64_t i = 0; i < a->len; i++) {
        ifn_jinja_value other = {0};
        if (!ifn_jinja_value_dict_get(b, a->keys[i], &other)) return 0;
        if (!ifn_jinja_value_equal(a->values[i], other)) return 0;
    }
    return 1;
}

int ifn_jinja_value_equal(ifn_jinja_value a, ifn_jinja_value b) {
    if (ifn_jinja_is_number(a) && ifn_jinja_is_number(b)) {
        if (a.kind == IFN_JINJA_FLOAT || b.kind == IFN_JINJA_FLOAT)
            return ifn_jinja_as_float(a) == ifn_jinja_as_float(b);
        return ifn_jinja_as_int(a) == ifn_jinja_as_int(b);
    }
    if (a.kind != b.kind) return 0;
    switch (a.kind) {
    case IFN_JINJA_UNDEFINED:
    case IFN_JINJA_NONE:
        return 1;
    case IFN_JINJA_STRING:
        return ifn_str_eq(a.as.s, b.as.s);
    case IFN_JINJA_LIST:
        return lists_equal(a.as.list, b.as.list);
    case IFN_JINJA_DICT:
        return dicts_equal(a.as.dict, b.as.dict);
    case IFN_JINJA_FUNC:
        return a.as.func == b.as.func;
    case IFN_JINJA_LOOP:
        return a.as.loop == b.as.loop;
    default:
        return 0;
    }
}

static int compare_strings(ifn_str a, ifn_str b) {
    /* Byte order of UTF-8 is code point order. */
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c != 0) return c;
    return (a.len > b.len) - (a.len < b.len);
}

static ifn_status compare_lists(const ifn_jinja_list *a, const ifn_jinja_list *b, const char *op,
                                int *out_cmp) {
    int64_t n = a->len < b->len ? a->len : b->len;
    for (int64_t i = 0; i < n; i++) {
        if (ifn_jinja_value_equal(a->items[i], b->items[i])) continue;
        return ifn_jinja_value_compare(a->items[i], b->items[i], op, out_cmp);
    }
    *out_cmp = (a->len > b->len) - (a->len < b->len);
    return IFN_OK;
}

ifn_status ifn_jinja_value_compare(ifn_jinja_value a, ifn_jinja_value b, const char *op,
                                   int *out_cmp) {
    if (ifn_jinja_is_number(a) && ifn_jinja_is_number(b)) {
        if (a.kind == IFN_JINJA_FLOAT || b.kind == IFN_JINJA_FLOAT) {
            double x = ifn_jinja_as_float(a), y = ifn_jinja_as_float(b);
            *out_cmp = (x > y) - (x < y);
        } else {
            int64_t x = ifn_jinja_as_int(a), y = ifn_jinja_as_int(b);
            *out_cmp = (x > y) - (x < y);
        }
        return IFN_OK;
    }
    if (a.kind == IFN_JINJA_STRING && b.kind == IFN_JINJA_STRING) {
        *out_cmp = compare_strings(a.as.s, b.as.s);
        return IFN_OK;
    }
    if (a.kind == IFN_JINJA_LIST && b.kind == IFN_JINJA_LIST &&
        a.as.list->seq_kind == b.as.list->seq_kind &&
        a.as.list->seq_kind != IFN_JINJA_SEQ_GENERATOR)
        return compare_lists(a.as.list, b.as.list, op, out_cmp);
    if (a.kind == IFN_JINJA_UNDEFINED || b.kind == IFN_JINJA_UNDEFINED) {
        ifn_str m = a.kind == IFN_JINJA_UNDEFINED ? a.as.s : b.as.s;
        return ifn_fail(IFN_E_INVALID, "%.*s", (int)m.len, m.ptr);
    }
    return ifn_fail(IFN_E_INVALID,
                    "TypeError: '%s' not supported between instances of '%s' and '%s'", op,
                    ifn_jinja_value_type_name(a), ifn_jinja_value_type_name(b));
}

const char *ifn_jinja_value_type_name(ifn_jinja_value v) {
    switch (v.kind) {
    case IFN_JINJA_UNDEFINED:
        return "Undefined";
    case IFN_JINJA_NONE:
        return "NoneType";
    case IFN_JINJA_BOOL:
        return "bool";
    case IFN_JINJA_INT:
        return "int";
    case IFN_JINJA_FLOAT:
        return "float";
    case IFN_JINJA_STRING:
        return "str";
    case IFN_JINJA_LIST:
        if (v.as.list->seq_kind == IFN_JINJA_SEQ_TUPLE) return "tuple";
        return v.as.list->seq_kind == IFN_JINJA_SEQ_GENERATOR ? "generator" : "list";
    case IFN_JINJA_DICT:
        return v.as.dict->is_namespace ? "Namespace" : "dict";
    case IFN_JINJA_FUNC:
        return "function";
    case IFN_JINJA_LOOP:
        return "LoopContext";
    }
    return "object";
}

int64_t ifn_jinja_value_length(ifn_jinja_value v) {
    switch (v.kind) {
    case IFN_JINJA_STRING:
        return ifn_jinja_value_cp_count(v.as.s);
    case IFN_JINJA_LIST:
        return v.as.list->seq_kind == IFN_JINJA_SEQ_GENERATOR ? -1 : v.as.list->len;
    case IFN_JINJA_DICT:
        return v.as.dict->is_namespace ? -1 : v.as.dict->len;
    case IFN_JINJA_UNDEFINED:
        return 0;
    default:
        return -1;
    }
}

/* ---- UTF-8 positions --------------------------------------------------------------------- */

static int is_continuation(unsigned char c) {
    return (c & 0xc0) == 0x80;
}

int64_t ifn_jinja_value_cp_count(ifn_str s) {
    int64_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += !is_continuation((unsigned char)s.ptr[i]);
    return n;
}

size_t ifn_jinja_value_cp_offset(ifn_str s, int64_t index) {
    if (index <= 0) return 0;
    int64_t seen = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (is_continuation((unsigned char)s.ptr[i])) continue;
        if (seen == index) return i;
        seen++;
    }
    return s.len;
}
