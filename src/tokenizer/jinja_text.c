/* Python-compatible printing of interpreter values into arena buffers. Containers nested
 * deeper than MAX_REPR_DEPTH print as "..." so self-referencing namespaces cannot recurse
 * forever. */
#include "tokenizer/jinja_text.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/status.h"

#define MAX_REPR_DEPTH 64

void ifn_jinja_text_init(ifn_jinja_buf *buf, ifn_jinja_arena *arena, size_t limit_bytes) {
    memset(buf, 0, sizeof *buf);
    buf->arena = arena;
    buf->limit_bytes = limit_bytes;
}

ifn_str ifn_jinja_text_view(const ifn_jinja_buf *buf) {
    ifn_str s = {buf->data ? buf->data : "", buf->len};
    return s;
}

ifn_status ifn_jinja_text_append(ifn_jinja_buf *buf, const char *s, size_t len) {
    if (len == 0) return IFN_OK;
    if (buf->limit_bytes && len > buf->limit_bytes - buf->len)
        return ifn_fail(IFN_E_FULL, "template output exceeds the limit of %zu bytes",
                        buf->limit_bytes);
    if (len > buf->cap - buf->len) {
        size_t cap = buf->cap ? buf->cap * 2 : 64;
        while (cap - buf->len < len) {
            if (cap > SIZE_MAX / 2) return IFN_E_NOMEM;
            cap *= 2;
        }
        char *data = ifn_jinja_arena_alloc(buf->arena, cap);
        if (!data) return IFN_E_NOMEM;
        if (buf->len) memcpy(data, buf->data, buf->len);
        buf->data = data;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, s, len);
    buf->len += len;
    return IFN_OK;
}

ifn_status ifn_jinja_text_append_cstr(ifn_jinja_buf *buf, const char *s) {
    return ifn_jinja_text_append(buf, s, strlen(s));
}

static ifn_status append_str(ifn_jinja_buf *buf, ifn_str s) {
    return ifn_jinja_text_append(buf, s.ptr, s.len);
}

/* ---- floats ------------------------------------------------------------------------------ */

/* Shortest "%.*e" rendering that reads back as f: digits (no point) and decimal exponent. */
static void shortest_digits(double f, char *digits, int *out_exp) {
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
        if (strtod(tmp, NULL) == f) break;
    }
    char *e = strchr(tmp, 'e');
    *out_exp = atoi(e + 1);
    size_t n = 0;
    for (char *p = tmp; p < e; p++)
        if (*p >= '0' && *p <= '9') digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
}

size_t ifn_jinja_text_format_float(double f, char *out) {
    if (isnan(f)) return (size_t)snprintf(out, 32, "nan");
    if (isinf(f)) return (size_t)snprintf(out, 32, f < 0 ? "-inf" : "inf");
    if (f == 0.0) return (size_t)snprintf(out, 32, signbit(f) ? "-0.0" : "0.0");
    char digits[24];
    int exp10;
    size_t n = 0;
    if (f < 0) out[n++] = '-';
    shortest_digits(fabs(f), digits, &exp10);
    int n_digits = (int)strlen(digits);
    if (exp10 < -4 || exp10 >= 16) {
        out[n++] = digits[0];
        if (n_digits > 1) {
            out[n++] = '.';
            memcpy(out + n, digits + 1, (size_t)n_digits - 1);
            n += (size_t)n_digits - 1;
        }
        n += (size_t)snprintf(out + n, 32 - n, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
        return n;
    }
    if (exp10 < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int i = 0; i < -exp10 - 1; i++)
            out[n++] = '0';
        memcpy(out + n, digits, (size_t)n_digits);
        n += (size_t)n_digits;
    } else {
        for (int i = 0; i <= exp10; i++)
            out[n++] = i < n_digits ? digits[i] : '0';
        out[n++] = '.';
        if (n_digits > exp10 + 1) {
            memcpy(out + n, digits + exp10 + 1, (size_t)(n_digits - exp10 - 1));
            n += (size_t)(n_digits - exp10 - 1);
        } else {
            out[n++] = '0';
        }
    }
    out[n] = '\0';
    return n;
}

/* ---- str / repr -------------------------------------------------------------------------- */

static ifn_status append_repr_depth(ifn_jinja_buf *buf, ifn_jinja_value v, int depth);

static ifn_status append_repr_string(ifn_jinja_buf *buf, ifn_str s) {
    char quote = '\'';
    if (memchr(s.ptr, '\'', s.len) && !memchr(s.ptr, '"', s.len)) quote = '"';
    ifn_status st = ifn_jinja_text_append(buf, &quote, 1);
    size_t run = 0; /* start of the pending unescaped run */
    for (size_t i = 0; i < s.len && st == IFN_OK; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        char esc[8];
        int n = 0;
        if (c == (unsigned char)quote || c == '\\')
            n = snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n')
            n = snprintf(esc, sizeof esc, "\\n");
        else if (c == '\r')
            n = snprintf(esc, sizeof esc, "\\r");
        else if (c == '\t')
            n = snprintf(esc, sizeof esc, "\\t");
        else if (c < 0x20 || c == 0x7f)
            n = snprintf(esc, sizeof esc, "\\x%02x", c);
        if (n == 0) continue;
        st = ifn_jinja_text_append(buf, s.ptr + run, i - run);
        if (st == IFN_OK) st = ifn_jinja_text_append(buf, esc, (size_t)n);
        run = i + 1;
    }
    if (st == IFN_OK) st = ifn_jinja_text_append(buf, s.ptr + run, s.len - run);
    if (st == IFN_OK) st = ifn_jinja_text_append(buf, &quote, 1);
    return st;
}

static ifn_status append_list(ifn_jinja_buf *buf, const ifn_jinja_list *list, int depth) {
    int is_tuple = list->seq_kind == IFN_JINJA_SEQ_TUPLE;
    if (list->seq_kind == IFN_JINJA_SEQ_GENERATOR)
        return ifn_jinja_text_append_cstr(buf, "<generator object>");
    ifn_status st = ifn_jinja_text_append_cstr(buf, is_tuple ? "(" : "[");
    for (int64_t i = 0; i < list->len && st == IFN_OK; i++) {
        if (i > 0) st = ifn_jinja_text_append_cstr(buf, ", ");
        if (st == IFN_OK) st = append_repr_depth(buf, list->items[i], depth + 1);
    }
    if (st == IFN_OK && is_tuple && list->len == 1) st = ifn_jinja_text_append_cstr(buf, ",");
    if (st == IFN_OK) st = ifn_jinja_text_append_cstr(buf, is_tuple ? ")" : "]");
    return st;
}

static ifn_status append_dict(ifn_jinja_buf *buf, const ifn_jinja_dict *dict, int depth) {
    ifn_status st = ifn_jinja_text_append_cstr(buf, dict->is_namespace ? "<Namespace {" : "{");
    for (int64_t i = 0; i < dict->len && st == IFN_OK; i++) {
        if (i > 0) st = ifn_jinja_text_append_cstr(buf, ", ");
        if (st == IFN_OK) st = append_repr_depth(buf, dict->keys[i], depth + 1);
        if (st == IFN_OK) st = ifn_jinja_text_append_cstr(buf, ": ");
        if (st == IFN_OK) st = append_repr_depth(buf, dict->values[i], depth + 1);
    }
    if (st == IFN_OK) st = ifn_jinja_text_append_cstr(buf, dict->is_namespace ? "}>" : "}");
    return st;
}

static ifn_status append_scalar(ifn_jinja_buf *buf, ifn_jinja_value v) {
    char tmp[40];
    switch (v.kind) {
    case IFN_JINJA_NONE:
        return ifn_jinja_text_append_cstr(buf, "None");
    case IFN_JINJA_BOOL:
        return ifn_jinja_text_append_cstr(buf, v.as.b ? "True" : "False");
    case IFN_JINJA_INT:
        snprintf(tmp, sizeof tmp, "%" PRId64, v.as.i);
        return ifn_jinja_text_append_cstr(buf, tmp);
    case IFN_JINJA_FLOAT:
        return ifn_jinja_text_append(buf, tmp, ifn_jinja_text_format_float(v.as.f, tmp));
    case IFN_JINJA_FUNC: {
        int is_macro = v.as.func->kind == IFN_JINJA_FUNC_MACRO;
        ifn_status st = ifn_jinja_text_append_cstr(buf, is_macro ? "<Macro '" : "<function ");
        if (st == IFN_OK) st = append_str(buf, v.as.func->name);
        return st == IFN_OK ? ifn_jinja_text_append_cstr(buf, is_macro ? "'>" : ">") : st;
    }
    case IFN_JINJA_LOOP:
        return ifn_jinja_text_append_cstr(buf, "<LoopContext>");
    default:
        return IFN_OK;
    }
}

static ifn_status append_repr_depth(ifn_jinja_buf *buf, ifn_jinja_value v, int depth) {
    if (depth > MAX_REPR_DEPTH) return ifn_jinja_text_append_cstr(buf, "...");
    switch (v.kind) {
    case IFN_JINJA_UNDEFINED:
        return ifn_jinja_text_append_cstr(buf, "Undefined");
    case IFN_JINJA_STRING:
        return append_repr_string(buf, v.as.s);
    case IFN_JINJA_LIST:
        return append_list(buf, v.as.list, depth);
    case IFN_JINJA_DICT:
        return append_dict(buf, v.as.dict, depth);
    default:
        return append_scalar(buf, v);
    }
}

ifn_status ifn_jinja_text_append_repr(ifn_jinja_buf *buf, ifn_jinja_value v) {
    return append_repr_depth(buf, v, 0);
}

ifn_status ifn_jinja_text_append_value(ifn_jinja_buf *buf, ifn_jinja_value v) {
    if (v.kind == IFN_JINJA_UNDEFINED) return IFN_OK;
    if (v.kind == IFN_JINJA_STRING) return append_str(buf, v.as.s);
    return append_repr_depth(buf, v, 0);
}

ifn_status ifn_jinja_text_append_escaped(ifn_jinja_buf *buf, ifn_str s) {
    size_t run = 0;
    ifn_status st = IFN_OK;
    for (size_t i = 0; i < s.len && st == IFN_OK; i++) {
        const char *entity = NULL;
        switch (s.ptr[i]) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&#34;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            continue;
        }
        st = ifn_jinja_text_append(buf, s.ptr + run, i - run);
        if (st == IFN_OK) st = ifn_jinja_text_append_cstr(buf, entity);
        run = i + 1;
    }
    if (st == IFN_OK) st = ifn_jinja_text_append(buf, s.ptr + run, s.len - run);
    return st;
}

ifn_status ifn_jinja_text_to_str(ifn_jinja_arena *arena, ifn_jinja_value v, ifn_str *out) {
    if (v.kind == IFN_JINJA_STRING) {
        *out = v.as.s;
        return IFN_OK;
    }
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, arena, 0);
    ifn_status st = ifn_jinja_text_append_value(&buf, v);
    if (st != IFN_OK) return st;
    *out = ifn_jinja_text_view(&buf);
    return IFN_OK;
}
