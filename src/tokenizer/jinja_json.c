/* jansson -> values, and values -> JSON text in Python json.dumps layout. */
#include "tokenizer/jinja_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/jinja_text.h"
#include "util/status.h"
#include "util/utf8.h"

#define MAX_JSON_DEPTH 512

/* ---- jansson -> values ------------------------------------------------------------------- */

static ifn_status from_jansson(ifn_jinja_arena *arena, const json_t *json, int depth,
                               ifn_jinja_value *out);

static ifn_status array_from_jansson(ifn_jinja_arena *arena, const json_t *json, int depth,
                                     ifn_jinja_value *out) {
    size_t n = json_array_size(json);
    ifn_jinja_list *list = ifn_jinja_value_new_list(arena, (int64_t)n, IFN_JINJA_SEQ_LIST);
    if (!list) return IFN_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        ifn_jinja_value item = {0};
        ifn_status st = from_jansson(arena, json_array_get(json, i), depth + 1, &item);
        if (st != IFN_OK) return st;
        list->items[list->len++] = item;
    }
    *out = ifn_jinja_list_value(list);
    return IFN_OK;
}

static ifn_status object_from_jansson(ifn_jinja_arena *arena, const json_t *json, int depth,
                                      ifn_jinja_value *out) {
    ifn_jinja_dict *dict = ifn_jinja_value_new_dict(arena, (int64_t)json_object_size(json));
    if (!dict) return IFN_E_NOMEM;
    const char *key;
    size_t key_len;
    json_t *item_json;
    /* jansson iterates in insertion order, which is the order of the JSON text. */
    json_object_keylen_foreach((json_t *)json, key, key_len, item_json) {
        ifn_jinja_value item = {0};
        ifn_status st = from_jansson(arena, item_json, depth + 1, &item);
        if (st != IFN_OK) return st;
        ifn_str k = {key, key_len};
        st = ifn_jinja_value_dict_append(arena, dict, ifn_jinja_string(k), item);
        if (st != IFN_OK) return st;
    }
    *out = ifn_jinja_dict_value(dict);
    return IFN_OK;
}

static ifn_status from_jansson(ifn_jinja_arena *arena, const json_t *json, int depth,
                               ifn_jinja_value *out) {
    if (depth > MAX_JSON_DEPTH)
        return ifn_fail(IFN_E_INVALID, "template variables nest deeper than %d", MAX_JSON_DEPTH);
    switch (json_typeof(json)) {
    case JSON_OBJECT:
        return object_from_jansson(arena, json, depth, out);
    case JSON_ARRAY:
        return array_from_jansson(arena, json, depth, out);
    case JSON_STRING: {
        ifn_str s = {json_string_value(json), json_string_length(json)};
        *out = ifn_jinja_string(s);
        return IFN_OK;
    }
    case JSON_INTEGER:
        *out = ifn_jinja_int((int64_t)json_integer_value(json));
        return IFN_OK;
    case JSON_REAL:
        *out = ifn_jinja_float(json_real_value(json));
        return IFN_OK;
    case JSON_TRUE:
        *out = ifn_jinja_bool(1);
        return IFN_OK;
    case JSON_FALSE:
        *out = ifn_jinja_bool(0);
        return IFN_OK;
    case JSON_NULL:
        *out = ifn_jinja_none();
        return IFN_OK;
    }
    return ifn_fail(IFN_E_INVALID, "unknown JSON value type");
}

ifn_status ifn_jinja_json_from_jansson(ifn_jinja_arena *arena, const json_t *json,
                                       ifn_jinja_value *out) {
    if (!json) return ifn_fail(IFN_E_INVALID, "template variables are NULL");
    return from_jansson(arena, json, 0, out);
}

/* ---- values -> JSON text ----------------------------------------------------------------- */

ifn_jinja_json_options ifn_jinja_json_options_default(void) {
    ifn_jinja_json_options o = {0};
    o.item_sep = ifn_str_from_cstr(", ");
    o.key_sep = ifn_str_from_cstr(": ");
    return o;
}

typedef struct dump_state {
    ifn_jinja_buf *buf;
    const ifn_jinja_json_options *options;
} dump_state;

static ifn_status dump_value(dump_state *d, ifn_jinja_value v, int depth);

static ifn_status append_view(ifn_jinja_buf *buf, ifn_str s) {
    return ifn_jinja_text_append(buf, s.ptr, s.len);
}

/* The JSON escape for the byte (or, with ensure_ascii, the code point) at s[*i] into esc;
 * returns its length (0: copy the byte as is) and moves *i to the last byte consumed. */
static int escape_at(ifn_str s, size_t *i, int ensure_ascii, char *esc, size_t cap) {
    unsigned char c = (unsigned char)s.ptr[*i];
    static const char simple_from[] = "\"\\\n\r\t\b\f", simple_to[] = "\"\\nrtbf";
    const char *hit = c ? memchr(simple_from, c, sizeof simple_from - 1) : NULL;
    if (hit) return snprintf(esc, cap, "\\%c", simple_to[hit - simple_from]);
    if (c < 0x20 || (c == 0x7f && ensure_ascii)) return snprintf(esc, cap, "\\u%04x", c);
    if (c < 0x80 || !ensure_ascii) return 0;
    uint32_t cp = c;
    int n = ifn_utf8_decode(s.ptr + *i, s.len - *i, &cp);
    if (n > 1) *i += (size_t)n - 1;
    if (cp < 0x10000) return snprintf(esc, cap, "\\u%04x", cp);
    cp -= 0x10000; /* a UTF-16 surrogate pair, as Python writes it */
    return snprintf(esc, cap, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
}

static ifn_status dump_string(ifn_jinja_buf *buf, ifn_str s, int ensure_ascii) {
    ifn_status st = ifn_jinja_text_append(buf, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < s.len && st == IFN_OK; i++) {
        char esc[16];
        size_t at = i;
        int n = escape_at(s, &i, ensure_ascii, esc, sizeof esc);
        if (n == 0) continue;
        st = ifn_jinja_text_append(buf, s.ptr + run, at - run);
        if (st == IFN_OK) st = ifn_jinja_text_append(buf, esc, (size_t)n);
        run = i + 1;
    }
    if (st == IFN_OK) st = ifn_jinja_text_append(buf, s.ptr + run, s.len - run);
    if (st == IFN_OK) st = ifn_jinja_text_append(buf, "\"", 1);
    return st;
}

static ifn_status dump_float(ifn_jinja_buf *buf, double f) {
    if (isnan(f)) return ifn_jinja_text_append_cstr(buf, "NaN");
    if (isinf(f)) return ifn_jinja_text_append_cstr(buf, f < 0 ? "-Infinity" : "Infinity");
    char tmp[40];
    return ifn_jinja_text_append(buf, tmp, ifn_jinja_text_format_float(f, tmp));
}

/* Newline and indentation before an item at `depth` (only with an indent). */
static ifn_status dump_newline(dump_state *d, int depth) {
    if (!d->options->has_indent) return IFN_OK;
    ifn_status st = ifn_jinja_text_append(d->buf, "\n", 1);
    for (int i = 0; i < depth && st == IFN_OK; i++)
        st = ifn_jinja_text_append(d->buf, d->options->indent.ptr, d->options->indent.len);
    return st;
}

static ifn_status dump_list(dump_state *d, const ifn_jinja_list *list, int depth) {
    if (list->len == 0) return ifn_jinja_text_append_cstr(d->buf, "[]");
    ifn_status st = ifn_jinja_text_append_cstr(d->buf, "[");
    for (int64_t i = 0; i < list->len && st == IFN_OK; i++) {
        if (i > 0) st = append_view(d->buf, d->options->item_sep);
        if (st == IFN_OK) st = dump_newline(d, depth + 1);
        if (st == IFN_OK) st = dump_value(d, list->items[i], depth + 1);
    }
    if (st == IFN_OK) st = dump_newline(d, depth);
    if (st == IFN_OK) st = ifn_jinja_text_append_cstr(d->buf, "]");
    return st;
}

/* JSON object keys: Python converts int, float, bool and None keys to strings. */
static ifn_status dump_key(dump_state *d, ifn_jinja_value key) {
    char tmp[40];
    switch (key.kind) {
    case IFN_JINJA_STRING:
        return dump_string(d->buf, key.as.s, d->options->ensure_ascii);
    case IFN_JINJA_INT:
        snprintf(tmp, sizeof tmp, "\"%" PRId64 "\"", key.as.i);
        break;
    case IFN_JINJA_BOOL:
        snprintf(tmp, sizeof tmp, "\"%s\"", key.as.b ? "true" : "false");
        break;
    case IFN_JINJA_NONE:
        snprintf(tmp, sizeof tmp, "\"null\"");
        break;
    case IFN_JINJA_FLOAT: {
        char f[32];
        ifn_jinja_text_format_float(key.as.f, f);
        snprintf(tmp, sizeof tmp, "\"%s\"", f);
        break;
    }
    default:
        return ifn_fail(IFN_E_INVALID,
                        "TypeError: keys must be str, int, float, bool or None, not %s",
                        ifn_jinja_value_type_name(key));
    }
    return ifn_jinja_text_append_cstr(d->buf, tmp);
}

/* Order in which to write the entries: insertion order, or sorted by key (sort_keys=True;
 * dicts are small, so an insertion sort will do). */
static ifn_status key_order(dump_state *d, const ifn_jinja_dict *dict, int64_t **out_order) {
    int64_t *order = ifn_jinja_arena_array(d->buf->arena, (size_t)dict->len, sizeof *order);
    if (!order) return IFN_E_NOMEM;
    for (int64_t i = 0; i < dict->len; i++) {
        order[i] = i;
        for (int64_t j = i; d->options->sort_keys && j > 0; j--) {
            int cmp = 0;
            ifn_status st =
                ifn_jinja_value_compare(dict->keys[order[j - 1]], dict->keys[order[j]], "<", &cmp);
            if (st != IFN_OK) return st;
            if (cmp <= 0) break;
            int64_t t = order[j - 1];
            order[j - 1] = order[j];
            order[j] = t;
        }
    }
    *out_order = order;
    return IFN_OK;
}

static ifn_status dump_dict(dump_state *d, const ifn_jinja_dict *dict, int depth) {
    if (dict->len == 0) return ifn_jinja_text_append_cstr(d->buf, "{}");
    int64_t *order = NULL;
    ifn_status st = key_order(d, dict, &order);
    if (st == IFN_OK) st = ifn_jinja_text_append_cstr(d->buf, "{");
    for (int64_t i = 0; i < dict->len && st == IFN_OK; i++) {
        if (i > 0) st = append_view(d->buf, d->options->item_sep);
        if (st == IFN_OK) st = dump_newline(d, depth + 1);
        if (st == IFN_OK) st = dump_key(d, dict->keys[order[i]]);
        if (st == IFN_OK) st = append_view(d->buf, d->options->key_sep);
        if (st == IFN_OK) st = dump_value(d, dict->values[order[i]], depth + 1);
    }
    if (st == IFN_OK) st = dump_newline(d, depth);
    if (st == IFN_OK) st = ifn_jinja_text_append_cstr(d->buf, "}");
    return st;
}

static ifn_status dump_value(dump_state *d, ifn_jinja_value v, int depth) {
    char tmp[32];
    if (depth > MAX_JSON_DEPTH)
        return ifn_fail(IFN_E_INVALID, "ValueError: Circular reference detected");
    switch (v.kind) {
    case IFN_JINJA_NONE:
        return ifn_jinja_text_append_cstr(d->buf, "null");
    case IFN_JINJA_BOOL:
        return ifn_jinja_text_append_cstr(d->buf, v.as.b ? "true" : "false");
    case IFN_JINJA_INT:
        snprintf(tmp, sizeof tmp, "%" PRId64, v.as.i);
        return ifn_jinja_text_append_cstr(d->buf, tmp);
    case IFN_JINJA_FLOAT:
        return dump_float(d->buf, v.as.f);
    case IFN_JINJA_STRING:
        return dump_string(d->buf, v.as.s, d->options->ensure_ascii);
    case IFN_JINJA_LIST:
        if (v.as.list->seq_kind == IFN_JINJA_SEQ_GENERATOR) break;
        return dump_list(d, v.as.list, depth);
    case IFN_JINJA_DICT:
        if (v.as.dict->is_namespace) break;
        return dump_dict(d, v.as.dict, depth);
    default:
        break;
    }
    return ifn_fail(IFN_E_INVALID, "TypeError: Object of type %s is not JSON serializable",
                    ifn_jinja_value_type_name(v));
}

ifn_status ifn_jinja_json_dump(ifn_jinja_buf *buf, ifn_jinja_value v,
                               const ifn_jinja_json_options *options) {
    dump_state d = {buf, options};
    return dump_value(&d, v, 0);
}
