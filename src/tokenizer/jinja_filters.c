/* String, number and JSON filters, and the filter table (sequence filters are in
 * jinja_filters_seq.c). Each follows Jinja2's (or, for tojson, Hugging Face's) definition;
 * most accept an undefined input and treat it as "". */
#include "tokenizer/jinja_filters.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/jinja_access.h"
#include "tokenizer/jinja_filters_seq.h"
#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_json.h"
#include "tokenizer/jinja_methods.h"
#include "tokenizer/jinja_strfmt.h"
#include "tokenizer/jinja_strings.h"
#include "tokenizer/jinja_text.h"
#include "util/status.h"

/* str(input) as a view (undefined gives ""). */
static ifn_status input_str(ifn_jinja_ctx *ctx, ifn_jinja_value v, ifn_str *out) {
    return ifn_jinja_text_to_str(ctx->arena, v, out);
}

static ifn_status f_trim(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                         ifn_jinja_value *out) {
    ifn_str s = {"", 0}, chars = {"", 0};
    ifn_jinja_value c = {0};
    int has = ifn_jinja_interp_arg(args, 0, "chars", &c) && c.kind == IFN_JINJA_STRING;
    if (has) chars = c.as.s;
    ifn_status st = input_str(ctx, in, &s);
    if (st == IFN_OK)
        *out =
            ifn_jinja_string(ifn_jinja_strings_strip(s, IFN_JINJA_STRIP_BOTH, has ? &chars : NULL));
    return st;
}

static ifn_status apply_case(ifn_jinja_ctx *ctx, ifn_jinja_value in, ifn_jinja_case mode,
                             ifn_jinja_value *out) {
    ifn_str s = {"", 0};
    ifn_status st = input_str(ctx, in, &s);
    return st == IFN_OK ? ifn_jinja_strings_case(ctx, s, mode, out) : st;
}
static ifn_status f_upper(ifn_jinja_ctx *c, ifn_jinja_value in, const ifn_jinja_args *a,
                          ifn_jinja_value *o) {
    (void)a;
    return apply_case(c, in, IFN_JINJA_CASE_UPPER, o);
}
static ifn_status f_lower(ifn_jinja_ctx *c, ifn_jinja_value in, const ifn_jinja_args *a,
                          ifn_jinja_value *o) {
    (void)a;
    return apply_case(c, in, IFN_JINJA_CASE_LOWER, o);
}
static ifn_status f_title(ifn_jinja_ctx *c, ifn_jinja_value in, const ifn_jinja_args *a,
                          ifn_jinja_value *o) {
    (void)a;
    return apply_case(c, in, IFN_JINJA_CASE_TITLE_FILTER, o);
}
static ifn_status f_capitalize(ifn_jinja_ctx *c, ifn_jinja_value in, const ifn_jinja_args *a,
                               ifn_jinja_value *o) {
    (void)a;
    return apply_case(c, in, IFN_JINJA_CASE_CAPITALIZE, o);
}

static ifn_status f_length(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                           ifn_jinja_value *out) {
    (void)args;
    int64_t n = ifn_jinja_value_length(in);
    if (n < 0)
        return ifn_jinja_interp_error(ctx, "TypeError: object of type '%s' has no len()",
                                      ifn_jinja_value_type_name(in));
    *out = ifn_jinja_int(n);
    return IFN_OK;
}

static ifn_status f_replace(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                            ifn_jinja_value *out) {
    ifn_jinja_value old, repl, count = ifn_jinja_none();
    ifn_str s = {"", 0}, old_s = {"", 0}, repl_s = {"", 0};
    if (!ifn_jinja_interp_arg(args, 0, "old", &old) || !ifn_jinja_interp_arg(args, 1, "new", &repl))
        return ifn_jinja_interp_error(ctx, "TypeError: replace needs old and new");
    ifn_jinja_interp_arg(args, 2, "count", &count);
    ifn_status st = input_str(ctx, in, &s);
    if (st == IFN_OK) st = input_str(ctx, old, &old_s);
    if (st == IFN_OK) st = input_str(ctx, repl, &repl_s);
    int64_t n = count.kind == IFN_JINJA_INT ? count.as.i : -1;
    return st == IFN_OK ? ifn_jinja_strings_replace(ctx, s, old_s, repl_s, n, out) : st;
}

/* HF's tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False). */
static ifn_status f_tojson(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                           ifn_jinja_value *out) {
    ifn_jinja_json_options o = ifn_jinja_json_options_default();
    ifn_jinja_value indent = {0}, seps = {0}, sort = {0};
    if (ifn_jinja_interp_arg(args, 1, "indent", &indent) && indent.kind != IFN_JINJA_NONE) {
        o.has_indent = 1;
        o.item_sep = ifn_str_from_cstr(",");
        if (indent.kind == IFN_JINJA_STRING) {
            o.indent = indent.as.s;
        } else if (indent.kind == IFN_JINJA_INT) {
            int64_t n = indent.as.i < 0 ? 0 : indent.as.i > 64 ? 64 : indent.as.i;
            o.indent.ptr = "                                                                ";
            o.indent.len = (size_t)n;
        } else {
            return ifn_jinja_interp_error(ctx,
                                          "TypeError: tojson indent must be an int or a string");
        }
    }
    if (ifn_jinja_interp_arg(args, 2, "separators", &seps) && seps.kind == IFN_JINJA_LIST &&
        seps.as.list->len == 2 && seps.as.list->items[0].kind == IFN_JINJA_STRING &&
        seps.as.list->items[1].kind == IFN_JINJA_STRING) {
        o.item_sep = seps.as.list->items[0].as.s;
        o.key_sep = seps.as.list->items[1].as.s;
    }
    if (ifn_jinja_interp_arg(args, 3, "sort_keys", &sort))
        o.sort_keys = ifn_jinja_value_truthy(sort);
    ifn_jinja_value ascii = ifn_jinja_bool(0);
    if (ifn_jinja_interp_arg(args, 0, "ensure_ascii", &ascii))
        o.ensure_ascii = ifn_jinja_value_truthy(ascii);
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    ifn_status st = ifn_jinja_json_dump(&buf, in, &o);
    if (st == IFN_OK) *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    return st;
}

static ifn_status f_default(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                            ifn_jinja_value *out) {
    ifn_jinja_value dflt = ifn_jinja_string(ifn_str_from_cstr("")), boolean = ifn_jinja_bool(0);
    (void)ctx;
    ifn_jinja_interp_arg(args, 0, "default_value", &dflt);
    ifn_jinja_interp_arg(args, 1, "boolean", &boolean);
    int use_default = in.kind == IFN_JINJA_UNDEFINED ||
                      (ifn_jinja_value_truthy(boolean) && !ifn_jinja_value_truthy(in));
    *out = use_default ? dflt : in;
    return IFN_OK;
}

static ifn_status f_string(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                           ifn_jinja_value *out) {
    (void)args;
    if (in.kind == IFN_JINJA_STRING) {
        *out = in;
        return IFN_OK;
    }
    ifn_str s = {"", 0};
    ifn_status st = input_str(ctx, in, &s);
    if (st == IFN_OK) *out = ifn_jinja_string(s);
    return st;
}

/* ---- numbers ----------------------------------------------------------------------------- */

/* Python int(text, base): surrounding whitespace, a sign, an optional 0x/0o/0b prefix when it
 * matches the base, underscores between digits. */
static int parse_int(ifn_str text, int64_t base, int64_t *out) {
    ifn_str s = ifn_jinja_strings_strip(text, IFN_JINJA_STRIP_BOTH, NULL);
    size_t i = 0;
    int neg = 0;
    if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-')) neg = s.ptr[i++] == '-';
    if (s.len - i > 2 && s.ptr[i] == '0') {
        char p = (char)(s.ptr[i + 1] | 0x20);
        if ((p == 'x' && base == 16) || (p == 'o' && base == 8) || (p == 'b' && base == 2)) i += 2;
    }
    if (i >= s.len || base < 2 || base > 36) return 0;
    uint64_t v = 0;
    for (int prev_digit = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '_' && prev_digit && i + 1 < s.len && s.ptr[i + 1] != '_') continue;
        int d = c >= '0' && c <= '9'                     ? c - '0'
                : (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (c | 0x20) - 'a' + 10
                                                         : 99;
        if (d >= base || v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return 0;
        v = v * (uint64_t)base + (uint64_t)d;
        prev_digit = 1;
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg) return 0;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

/* Python float(text). */
static int parse_float(ifn_str text, double *out) {
    ifn_str s = ifn_jinja_strings_strip(text, IFN_JINJA_STRIP_BOTH, NULL);
    char tmp[128];
    size_t n = 0;
    if (s.len == 0 || s.len >= sizeof tmp) return 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == 'x' || s.ptr[i] == 'X') return 0;
        if (s.ptr[i] != '_') tmp[n++] = s.ptr[i];
    }
    tmp[n] = '\0';
    char *end = NULL;
    *out = strtod(tmp, &end);
    return end == tmp + n;
}

static ifn_status f_int(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                        ifn_jinja_value *out) {
    ifn_jinja_value dflt = ifn_jinja_int(0), base = ifn_jinja_int(10);
    if (in.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, in);
    ifn_jinja_interp_arg(args, 0, "default", &dflt);
    ifn_jinja_interp_arg(args, 1, "base", &base);
    int64_t i;
    double f;
    if (in.kind == IFN_JINJA_INT || in.kind == IFN_JINJA_BOOL)
        *out = ifn_jinja_int(ifn_jinja_as_int(in));
    else if (in.kind == IFN_JINJA_FLOAT && isfinite(in.as.f) && fabs(in.as.f) < 9.2e18)
        *out = ifn_jinja_int((int64_t)in.as.f);
    else if (in.kind == IFN_JINJA_STRING && parse_int(in.as.s, ifn_jinja_as_int(base), &i))
        *out = ifn_jinja_int(i);
    else if (in.kind == IFN_JINJA_STRING && parse_float(in.as.s, &f) && isfinite(f) &&
             fabs(f) < 9.2e18)
        *out = ifn_jinja_int((int64_t)f);
    else
        *out = dflt;
    return IFN_OK;
}

static ifn_status f_float(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                          ifn_jinja_value *out) {
    ifn_jinja_value dflt = ifn_jinja_float(0.0);
    double f;
    if (in.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, in);
    ifn_jinja_interp_arg(args, 0, "default", &dflt);
    if (ifn_jinja_is_number(in))
        *out = ifn_jinja_float(ifn_jinja_as_float(in));
    else if (in.kind == IFN_JINJA_STRING && parse_float(in.as.s, &f))
        *out = ifn_jinja_float(f);
    else
        *out = dflt;
    return IFN_OK;
}

static ifn_status f_abs(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                        ifn_jinja_value *out) {
    (void)args;
    if (in.kind == IFN_JINJA_FLOAT)
        *out = ifn_jinja_float(fabs(in.as.f));
    else if (ifn_jinja_is_number(in) && ifn_jinja_as_int(in) != INT64_MIN)
        *out = ifn_jinja_int(llabs(ifn_jinja_as_int(in)));
    else
        return ifn_jinja_interp_error(ctx, "TypeError: bad operand type for abs(): '%s'",
                                      ifn_jinja_value_type_name(in));
    return IFN_OK;
}

/* round(value, precision=0, method='common'|'ceil'|'floor'); 'common' rounds half to even on
 * the exact binary value, like Python's round(). Integers stay integers under 'common'. */
static ifn_status f_round(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                          ifn_jinja_value *out) {
    ifn_jinja_value prec = ifn_jinja_int(0), method = ifn_jinja_string(ifn_str_from_cstr("common"));
    ifn_jinja_interp_arg(args, 0, "precision", &prec);
    ifn_jinja_interp_arg(args, 1, "method", &method);
    if (!ifn_jinja_is_number(in))
        return ifn_jinja_interp_error(ctx, "TypeError: type %s doesn't define __round__ method",
                                      ifn_jinja_value_type_name(in));
    int is_common = method.kind == IFN_JINJA_STRING && ifn_str_eq_cstr(method.as.s, "common");
    if (in.kind != IFN_JINJA_FLOAT && is_common) {
        *out = ifn_jinja_int(ifn_jinja_as_int(in));
        return IFN_OK;
    }
    int64_t p = ifn_jinja_as_int(prec);
    double scale = pow(10.0, (double)(p < -300 ? -300 : p > 300 ? 300 : p));
    double f = ifn_jinja_as_float(in), r;
    if (is_common) {
        char tmp[400];
        snprintf(tmp, sizeof tmp, "%.*f", (int)(p < 0 ? 0 : p > 300 ? 300 : p), f);
        r = p < 0 ? nearbyint(f * scale) / scale : strtod(tmp, NULL);
    } else if (method.kind == IFN_JINJA_STRING && ifn_str_eq_cstr(method.as.s, "ceil")) {
        r = ceil(f * scale) / scale;
    } else if (method.kind == IFN_JINJA_STRING && ifn_str_eq_cstr(method.as.s, "floor")) {
        r = floor(f * scale) / scale;
    } else {
        return ifn_jinja_interp_error(ctx, "TypeError: method must be common, ceil or floor");
    }
    *out = ifn_jinja_float(r);
    return IFN_OK;
}

/* ---- markup and layout ------------------------------------------------------------------- */

static ifn_status f_safe(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                         ifn_jinja_value *out) {
    ifn_str s = {"", 0};
    (void)args;
    ifn_status st = input_str(ctx, in, &s);
    if (st != IFN_OK) return st;
    *out = ifn_jinja_string(s);
    out->flags = IFN_JINJA_FLAG_SAFE;
    return IFN_OK;
}

static ifn_status escape_impl(ifn_jinja_ctx *ctx, ifn_jinja_value in, int force,
                              ifn_jinja_value *out) {
    if (!force && in.kind == IFN_JINJA_STRING && (in.flags & IFN_JINJA_FLAG_SAFE)) {
        *out = in;
        return IFN_OK;
    }
    ifn_str s = {"", 0};
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    ifn_status st = input_str(ctx, in, &s);
    if (st == IFN_OK) st = ifn_jinja_text_append_escaped(&buf, s);
    if (st != IFN_OK) return st;
    *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    out->flags = IFN_JINJA_FLAG_SAFE;
    return IFN_OK;
}
static ifn_status f_escape(ifn_jinja_ctx *c, ifn_jinja_value in, const ifn_jinja_args *a,
                           ifn_jinja_value *o) {
    (void)a;
    return escape_impl(c, in, 0, o);
}
static ifn_status f_forceescape(ifn_jinja_ctx *c, ifn_jinja_value in, const ifn_jinja_args *a,
                                ifn_jinja_value *o) {
    (void)a;
    return escape_impl(c, in, 1, o);
}

/* indent(width=4, first=False, blank=False), with Jinja 3's handling of line ends. */
static ifn_status f_indent(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                           ifn_jinja_value *out) {
    ifn_jinja_value width = ifn_jinja_int(4), first = ifn_jinja_bool(0), blank = ifn_jinja_bool(0);
    ifn_jinja_interp_arg(args, 0, "width", &width);
    ifn_jinja_interp_arg(args, 1, "first", &first);
    ifn_jinja_interp_arg(args, 2, "blank", &blank);
    ifn_str pad = {"", 0}, s;
    static const char spaces[] = "                                                                ";
    if (width.kind == IFN_JINJA_STRING)
        pad = width.as.s;
    else if (width.kind == IFN_JINJA_INT)
        pad.ptr = spaces, pad.len = (size_t)(width.as.i < 0    ? 0
                                             : width.as.i > 64 ? 64
                                                               : width.as.i);
    ifn_jinja_value lines_v = {0};
    if (in.kind != IFN_JINJA_STRING) /* Jinja2 appends "\n" to the value itself */
        return ifn_jinja_interp_error(ctx, "TypeError: indent needs a string, not %s",
                                      ifn_jinja_value_type_name(in));
    ifn_status st = input_str(ctx, in, &s);
    if (st == IFN_OK) st = ifn_jinja_strings_splitlines(ctx, s, &lines_v);
    if (st != IFN_OK) return st;
    /* s + "\n" splits into the same lines as s, plus a trailing "" when s ends a line. */
    const ifn_jinja_list *lines = lines_v.as.list;
    int extra_empty = s.len > 0 && s.ptr[s.len - 1] == '\n';
    int64_t n = lines->len + extra_empty;
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    if (ifn_jinja_value_truthy(first)) st = ifn_jinja_text_append(&buf, pad.ptr, pad.len);
    for (int64_t i = 0; i < n && st == IFN_OK; i++) {
        ifn_str line = i < lines->len ? lines->items[i].as.s : ifn_str_from_cstr("");
        if (i > 0) st = ifn_jinja_text_append(&buf, "\n", 1);
        if (st == IFN_OK && i > 0 && (line.len > 0 || ifn_jinja_value_truthy(blank)))
            st = ifn_jinja_text_append(&buf, pad.ptr, pad.len);
        if (st == IFN_OK) st = ifn_jinja_text_append(&buf, line.ptr, line.len);
    }
    if (st == IFN_OK) *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    return st;
}

static ifn_status f_wordcount(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                              ifn_jinja_value *out) {
    ifn_str s = {"", 0};
    (void)args;
    ifn_status st = input_str(ctx, in, &s);
    if (st != IFN_OK) return st;
    int64_t words = 0;
    int in_word = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        int word_char = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
                        c == '_' || c >= 0x80;
        words += word_char && !in_word;
        in_word = word_char;
    }
    *out = ifn_jinja_int(words);
    return IFN_OK;
}

static ifn_status f_center(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                           ifn_jinja_value *out) {
    ifn_jinja_value width = ifn_jinja_int(80);
    ifn_jinja_interp_arg(args, 0, "width", &width);
    ifn_str s = {"", 0};
    ifn_status st = input_str(ctx, in, &s);
    if (st != IFN_OK) return st;
    int64_t n = ifn_jinja_value_cp_count(s), w = ifn_jinja_as_int(width);
    int64_t total = w > n ? w - n : 0, left = total / 2 + (total & w & 1);
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    for (int64_t i = 0; i < left && st == IFN_OK; i++)
        st = ifn_jinja_text_append(&buf, " ", 1);
    if (st == IFN_OK) st = ifn_jinja_text_append(&buf, s.ptr, s.len);
    for (int64_t i = left; i < total && st == IFN_OK; i++)
        st = ifn_jinja_text_append(&buf, " ", 1);
    if (st == IFN_OK) *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    return st;
}

/* "%s, %s" | format(a, b): Python % formatting with the arguments as a tuple. */
static ifn_status f_format(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                           ifn_jinja_value *out) {
    ifn_str s = {"", 0};
    ifn_status st = input_str(ctx, in, &s);
    if (st != IFN_OK) return st;
    ifn_jinja_list *tuple = ifn_jinja_value_new_list(ctx->arena, args->n_pos, IFN_JINJA_SEQ_TUPLE);
    if (!tuple) return IFN_E_NOMEM;
    for (int32_t i = 0; i < args->n_pos; i++)
        tuple->items[tuple->len++] = args->pos[i];
    return ifn_jinja_strfmt_percent(ctx, s, ifn_jinja_list_value(tuple), out);
}

static ifn_status f_attr(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                         ifn_jinja_value *out) {
    ifn_jinja_value name = {0};
    if (!ifn_jinja_interp_arg(args, 0, "name", &name) || name.kind != IFN_JINJA_STRING)
        return ifn_jinja_interp_error(ctx, "TypeError: attr needs an attribute name");
    if (in.kind != IFN_JINJA_DICT || in.as.dict->is_namespace)
        return ifn_jinja_access_getattr(ctx, in, name.as.s, out);
    int found = 0; /* attr() never falls back to dict items */
    ifn_status st = ifn_jinja_methods_getattr(ctx, in, name.as.s, &found, out);
    if (st == IFN_OK && !found)
        st = ifn_jinja_interp_make_undefined(ctx, out, "'dict object' has no attribute '%.*s'",
                                             (int)name.as.s.len, name.as.s.ptr);
    return st;
}

/* truncate(length=255, killwords=False, end='...', leeway=5). */
static ifn_status f_truncate(ifn_jinja_ctx *ctx, ifn_jinja_value in, const ifn_jinja_args *args,
                             ifn_jinja_value *out) {
    ifn_jinja_value length = ifn_jinja_int(255), killwords = ifn_jinja_bool(0);
    ifn_jinja_value end = ifn_jinja_string(ifn_str_from_cstr("...")), leeway = ifn_jinja_int(5);
    ifn_jinja_interp_arg(args, 0, "length", &length);
    ifn_jinja_interp_arg(args, 1, "killwords", &killwords);
    ifn_jinja_interp_arg(args, 2, "end", &end);
    ifn_jinja_interp_arg(args, 3, "leeway", &leeway);
    ifn_str s = {"", 0}, e = {"", 0};
    if (in.kind != IFN_JINJA_STRING) { /* Jinja2 measures the value itself */
        int64_t n = ifn_jinja_value_length(in);
        if (n < 0 || in.kind == IFN_JINJA_UNDEFINED)
            return ifn_jinja_interp_error(ctx, "TypeError: object of type '%s' has no len()",
                                          ifn_jinja_value_type_name(in));
        if (n <= ifn_jinja_as_int(length) + ifn_jinja_as_int(leeway)) {
            *out = in;
            return IFN_OK;
        }
    }
    ifn_status st = input_str(ctx, in, &s);
    if (st == IFN_OK) st = input_str(ctx, end, &e);
    if (st != IFN_OK) return st;
    int64_t n = ifn_jinja_value_cp_count(s), n_end = ifn_jinja_value_cp_count(e);
    int64_t len = ifn_jinja_as_int(length);
    if (len < n_end || ifn_jinja_as_int(leeway) < 0)
        return ifn_jinja_interp_error(ctx, "AssertionError: expected length >= %lld, got %lld",
                                      (long long)n_end, (long long)len);
    if (n <= len + ifn_jinja_as_int(leeway)) {
        *out = ifn_jinja_string(s);
        return IFN_OK;
    }
    ifn_str head = {s.ptr, ifn_jinja_value_cp_offset(s, len - n_end)};
    if (!ifn_jinja_value_truthy(killwords)) { /* drop the last, partial word */
        size_t cut = head.len;
        while (cut > 0 && head.ptr[cut - 1] != ' ')
            cut--;
        if (cut > 0) head.len = cut - 1;
    }
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    st = ifn_jinja_text_append(&buf, head.ptr, head.len);
    if (st == IFN_OK) st = ifn_jinja_text_append(&buf, e.ptr, e.len);
    if (st == IFN_OK) *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    return st;
}

/* ---- table ------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    ifn_jinja_filter_fn fn;
} g_filters[] = {
    {"abs", f_abs},
    {"attr", f_attr},
    {"batch", ifn_jinja_filters_seq_batch},
    {"capitalize", f_capitalize},
    {"center", f_center},
    {"count", f_length},
    {"d", f_default},
    {"default", f_default},
    {"dictsort", ifn_jinja_filters_seq_dictsort},
    {"e", f_escape},
    {"escape", f_escape},
    {"first", ifn_jinja_filters_seq_first},
    {"float", f_float},
    {"forceescape", f_forceescape},
    {"format", f_format},
    {"indent", f_indent},
    {"int", f_int},
    {"items", ifn_jinja_filters_seq_items},
    {"join", ifn_jinja_filters_seq_join},
    {"last", ifn_jinja_filters_seq_last},
    {"length", f_length},
    {"list", ifn_jinja_filters_seq_list},
    {"lower", f_lower},
    {"map", ifn_jinja_filters_seq_map},
    {"max", ifn_jinja_filters_seq_max},
    {"min", ifn_jinja_filters_seq_min},
    {"reject", ifn_jinja_filters_seq_reject},
    {"rejectattr", ifn_jinja_filters_seq_rejectattr},
    {"replace", f_replace},
    {"reverse", ifn_jinja_filters_seq_reverse},
    {"round", f_round},
    {"safe", f_safe},
    {"select", ifn_jinja_filters_seq_select},
    {"selectattr", ifn_jinja_filters_seq_selectattr},
    {"sort", ifn_jinja_filters_seq_sort},
    {"string", f_string},
    {"sum", ifn_jinja_filters_seq_sum},
    {"title", f_title},
    {"tojson", f_tojson},
    {"trim", f_trim},
    {"truncate", f_truncate},
    {"unique", ifn_jinja_filters_seq_unique},
    {"upper", f_upper},
    {"wordcount", f_wordcount},
};

int ifn_jinja_filters_keep_markup(ifn_jinja_filter_fn fn) {
    /* These call Markup's own str methods in Jinja2, which return Markup again. */
    static const ifn_jinja_filter_fn keep[] = {f_upper, f_lower,  f_title,  f_capitalize,
                                               f_trim,  f_indent, f_center, f_string};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (keep[i] == fn) return 1;
    return 0;
}

ifn_jinja_filter_fn ifn_jinja_filters_find(ifn_str name) {
    for (size_t i = 0; i < sizeof g_filters / sizeof g_filters[0]; i++)
        if (ifn_str_eq_cstr(name, g_filters[i].name)) return g_filters[i].fn;
    return NULL;
}
