/* Python string formatting: the `%` operator ("%s=%d" % (k, v), "%(name)s" % dict) and
 * str.format ("{} {0} {name:>8}"). Both share one formatter for a value and a spec (fill,
 * align, sign, zero padding, width, precision, conversion type). Nested fields and
 * attribute lookups inside {} are not supported and report an error. */
#include "tokenizer/jinja_strfmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_text.h"
#include "util/utf8.h"
#include "util/status.h"

typedef struct fmt_spec {
    char fill;
    char align; /* '<', '>', '^', '=' or 0 for the type's default */
    char sign;  /* '+', ' ' or 0 */
    int alt;    /* '#' */
    int zero;   /* '0' */
    int64_t width;
    int64_t precision; /* -1 when absent */
    char type;         /* conversion letter or 0 */
} fmt_spec;

static ifn_status pad(ifn_jinja_buf *buf, ifn_str text, const fmt_spec *spec, char dflt_align) {
    int64_t n = ifn_jinja_value_cp_count(text), fill = spec->width > n ? spec->width - n : 0;
    char align = spec->align ? spec->align : dflt_align;
    int64_t left = align == '>' ? fill : align == '^' ? fill / 2 : 0, right = fill - left;
    char c = spec->fill ? spec->fill : ' ';
    ifn_status st = IFN_OK;
    if (align == '=') { /* padding goes between the sign and the digits */
        if (text.len && (text.ptr[0] == '-' || text.ptr[0] == '+' || text.ptr[0] == ' ')) {
            st = ifn_jinja_text_append(buf, text.ptr, 1);
            text.ptr++, text.len--;
        }
        left = fill, right = 0;
    }
    for (int64_t i = 0; i < left && st == IFN_OK; i++)
        st = ifn_jinja_text_append(buf, &c, 1);
    if (st == IFN_OK) st = ifn_jinja_text_append(buf, text.ptr, text.len);
    for (int64_t i = 0; i < right && st == IFN_OK; i++)
        st = ifn_jinja_text_append(buf, &c, 1);
    return st;
}

static ifn_status format_number(ifn_jinja_ctx *ctx, ifn_jinja_buf *buf, ifn_jinja_value v,
                                const fmt_spec *spec) {
    if (!ifn_jinja_is_number(v))
        return ifn_jinja_interp_error(ctx,
                                      "TypeError: %%%c format: a real number is required, not %s",
                                      spec->type, ifn_jinja_value_type_name(v));
    char tmp[400], fmt[16];
    char t = spec->type;
    int prec = spec->precision < 0 ? 6 : (int)(spec->precision > 100 ? 100 : spec->precision);
    const char *sign = spec->sign == '+' ? "+" : spec->sign == ' ' ? " " : "";
    if (t == 'd' || t == 'i' || t == 'u') {
        int64_t i = v.kind == IFN_JINJA_FLOAT ? (int64_t)v.as.f : ifn_jinja_as_int(v);
        snprintf(tmp, sizeof tmp, "%s%" PRId64, i < 0 ? "" : sign, i);
    } else if (t == 'x' || t == 'X' || t == 'o') {
        int64_t i = ifn_jinja_as_int(v);
        uint64_t mag = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
        snprintf(fmt, sizeof fmt, "%%s%%s%%%s", t == 'o' ? PRIo64 : t == 'x' ? PRIx64 : PRIX64);
        const char *prefix = !spec->alt ? "" : t == 'o' ? "0o" : t == 'x' ? "0x" : "0X";
        snprintf(tmp, sizeof tmp, fmt, i < 0 ? "-" : sign, prefix, mag);
    } else {
        double f = ifn_jinja_as_float(v) * (t == '%' ? 100.0 : 1.0);
        snprintf(fmt, sizeof fmt, "%%s%%.%d%c", prec, t == '%' ? 'f' : t);
        snprintf(tmp, sizeof tmp, fmt, f < 0 ? "" : sign, f);
        if (t == '%') strncat(tmp, "%", sizeof tmp - strlen(tmp) - 1);
    }
    fmt_spec s = *spec;
    if (s.zero && !s.align) s.fill = '0', s.align = '=';
    return pad(buf, ifn_str_from_cstr(tmp), &s, '>');
}

static ifn_status format_value(ifn_jinja_ctx *ctx, ifn_jinja_buf *buf, ifn_jinja_value v,
                               const fmt_spec *spec) {
    ifn_jinja_buf text;
    ifn_jinja_text_init(&text, ctx->arena, ctx->max_output_bytes);
    ifn_status st;
    char t = spec->type;
    if (t == 'c' && v.kind == IFN_JINJA_STRING) return pad(buf, v.as.s, spec, '<');
    if (t == 'c') {
        char enc[4];
        int n = ifn_utf8_encode((uint32_t)ifn_jinja_as_int(v), enc);
        ifn_str c = {enc, (size_t)(n > 0 ? n : 0)};
        return pad(buf, c, spec, '<');
    }
    if (t && t != 's' && t != 'r' && t != 'a') return format_number(ctx, buf, v, spec);
    if (v.kind == IFN_JINJA_UNDEFINED && t != 'r') return ifn_jinja_interp_undefined_error(ctx, v);
    st = t == 'r' || t == 'a' ? ifn_jinja_text_append_repr(&text, v)
                              : ifn_jinja_text_append_value(&text, v);
    if (st != IFN_OK) return st;
    ifn_str s = ifn_jinja_text_view(&text);
    if (spec->precision >= 0) s.len = ifn_jinja_value_cp_offset(s, spec->precision);
    return pad(buf, s, spec, ifn_jinja_is_number(v) && !t ? '>' : '<');
}

/* ---- the % operator ---------------------------------------------------------------------- */

typedef struct percent_state {
    ifn_jinja_ctx *ctx;
    ifn_str fmt;
    size_t pos;
    const ifn_jinja_value *args;
    int64_t n_args;
    int64_t next_arg;
    const ifn_jinja_dict *mapping; /* for %(name)s, or NULL */
} percent_state;

static ifn_status next_arg(percent_state *ps, ifn_jinja_value *out) {
    if (ps->next_arg >= ps->n_args)
        return ifn_jinja_interp_error(ps->ctx, "TypeError: not enough arguments for format string");
    *out = ps->args[ps->next_arg++];
    return IFN_OK;
}

/* A width or precision: digits, or '*' taking the next argument. */
static ifn_status percent_number(percent_state *ps, int64_t *out) {
    if (ps->pos < ps->fmt.len && ps->fmt.ptr[ps->pos] == '*') {
        ifn_jinja_value v = {0};
        ps->pos++;
        ifn_status st = next_arg(ps, &v);
        if (st == IFN_OK && v.kind != IFN_JINJA_INT)
            return ifn_jinja_interp_error(ps->ctx, "TypeError: * wants int");
        if (st == IFN_OK) *out = v.as.i;
        return st;
    }
    while (ps->pos < ps->fmt.len && ps->fmt.ptr[ps->pos] >= '0' && ps->fmt.ptr[ps->pos] <= '9') {
        if (*out < 1000000) *out = *out * 10 + (ps->fmt.ptr[ps->pos] - '0');
        ps->pos++;
    }
    return IFN_OK;
}

/* One conversion after '%': [(name)] flags width [.precision] [hlL] type. */
static ifn_status percent_one(percent_state *ps, ifn_jinja_buf *buf) {
    fmt_spec spec = {.precision = -1};
    ifn_jinja_value v = ifn_jinja_none();
    int named = 0;
    const char *s = ps->fmt.ptr;
    if (ps->pos < ps->fmt.len && s[ps->pos] == '(') {
        size_t end = ps->pos + 1;
        while (end < ps->fmt.len && s[end] != ')')
            end++;
        if (end >= ps->fmt.len)
            return ifn_jinja_interp_error(ps->ctx, "ValueError: incomplete format key");
        if (!ps->mapping)
            return ifn_jinja_interp_error(ps->ctx, "TypeError: format requires a mapping");
        ifn_str key = {s + ps->pos + 1, end - ps->pos - 1};
        if (!ifn_jinja_value_dict_get_str(ps->mapping, key, &v))
            return ifn_jinja_interp_error(ps->ctx, "KeyError: '%.*s'", (int)key.len, key.ptr);
        named = 1;
        ps->pos = end + 1;
    }
    for (; ps->pos < ps->fmt.len && strchr("-+ #0", s[ps->pos]) && s[ps->pos]; ps->pos++) {
        char f = s[ps->pos];
        if (f == '-')
            spec.align = '<';
        else if (f == '+' || (f == ' ' && spec.sign != '+'))
            spec.sign = f;
        else if (f == '#')
            spec.alt = 1;
        else
            spec.zero = 1;
    }
    ifn_status st = percent_number(ps, &spec.width);
    if (st == IFN_OK && ps->pos < ps->fmt.len && s[ps->pos] == '.') {
        ps->pos++;
        spec.precision = 0;
        st = percent_number(ps, &spec.precision);
    }
    while (st == IFN_OK && ps->pos < ps->fmt.len && strchr("hlL", s[ps->pos]) && s[ps->pos])
        ps->pos++;
    if (st != IFN_OK) return st;
    if (ps->pos >= ps->fmt.len)
        return ifn_jinja_interp_error(ps->ctx, "ValueError: incomplete format");
    spec.type = s[ps->pos++];
    if (spec.type == '%') return ifn_jinja_text_append(buf, "%", 1);
    if (!strchr("sradiufFeEgGxXoc", spec.type))
        return ifn_jinja_interp_error(ps->ctx, "ValueError: unsupported format character '%c'",
                                      spec.type);
    if (spec.align == '<') spec.zero = 0;
    if (!spec.align && !(spec.zero && !strchr("srac", spec.type))) spec.align = '>';
    if (spec.type == 'u' || spec.type == 'i') spec.type = 'd';
    if (!named && (st = next_arg(ps, &v)) != IFN_OK) return st;
    return format_value(ps->ctx, buf, v, &spec);
}

ifn_status ifn_jinja_strfmt_percent(ifn_jinja_ctx *ctx, ifn_str fmt, ifn_jinja_value operand,
                                    ifn_jinja_value *out) {
    percent_state ps = {.ctx = ctx, .fmt = fmt, .args = &operand, .n_args = 1};
    if (operand.kind == IFN_JINJA_LIST && operand.as.list->seq_kind == IFN_JINJA_SEQ_TUPLE) {
        ps.args = operand.as.list->items;
        ps.n_args = operand.as.list->len;
    } else if (operand.kind == IFN_JINJA_DICT && !operand.as.dict->is_namespace) {
        ps.mapping = operand.as.dict;
    }
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    ifn_status st = IFN_OK;
    while (ps.pos < fmt.len && st == IFN_OK) {
        const char *pct = memchr(fmt.ptr + ps.pos, '%', fmt.len - ps.pos);
        size_t end = pct ? (size_t)(pct - fmt.ptr) : fmt.len;
        st = ifn_jinja_text_append(&buf, fmt.ptr + ps.pos, end - ps.pos);
        ps.pos = end + (pct != NULL);
        if (st == IFN_OK && pct) st = percent_one(&ps, &buf);
    }
    /* Python only complains about unused arguments that are not mappings or sequences. */
    int lenient = operand.kind == IFN_JINJA_LIST &&
                  operand.as.list->seq_kind != IFN_JINJA_SEQ_TUPLE && ps.next_arg == 0;
    if (st == IFN_OK && !ps.mapping && !lenient && ps.next_arg < ps.n_args)
        st = ifn_jinja_interp_error(ctx, "TypeError: not all arguments converted during string "
                                         "formatting");
    if (st == IFN_OK) *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    return st;
}

/* ---- str.format -------------------------------------------------------------------------- */

/* Format spec mini-language: [[fill]align][sign][#][0][width][,][.precision][type]. */
static ifn_status parse_spec(ifn_jinja_ctx *ctx, ifn_str s, fmt_spec *spec) {
    size_t i = 0;
    memset(spec, 0, sizeof *spec);
    spec->precision = -1;
    if (s.len >= 2 && strchr("<>^=", s.ptr[1]) && s.ptr[1]) {
        spec->fill = s.ptr[0];
        spec->align = s.ptr[1];
        i = 2;
    } else if (s.len >= 1 && strchr("<>^=", s.ptr[0]) && s.ptr[0]) {
        spec->align = s.ptr[i++];
    }
    if (i < s.len && (s.ptr[i] == '+' || s.ptr[i] == '-' || s.ptr[i] == ' '))
        spec->sign = s.ptr[i] == '-' ? 0 : s.ptr[i], i++;
    if (i < s.len && s.ptr[i] == '#') spec->alt = 1, i++;
    if (i < s.len && s.ptr[i] == '0') spec->zero = 1, i++;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && spec->width < 1000000)
        spec->width = spec->width * 10 + (s.ptr[i++] - '0');
    if (i < s.len && (s.ptr[i] == ',' || s.ptr[i] == '_')) i++;
    if (i < s.len && s.ptr[i] == '.') {
        spec->precision = 0;
        for (i++; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9'; i++)
            if (spec->precision < 1000000)
                spec->precision = spec->precision * 10 + (s.ptr[i] - '0');
    }
    if (i < s.len) spec->type = s.ptr[i++];
    if (i < s.len || (spec->type && !strchr("sdfFeEgGxXoc%n", spec->type)))
        return ifn_jinja_interp_error(ctx, "ValueError: Invalid format specifier");
    if (spec->type == 'n') spec->type = 'g';
    return IFN_OK;
}

/* The value a field name refers to: "" (next positional), "0", or a keyword name. */
static ifn_status field_value(ifn_jinja_ctx *ctx, ifn_str name, const ifn_jinja_args *args,
                              int64_t *auto_index, ifn_jinja_value *out) {
    int64_t index = -1;
    if (name.len == 0) {
        if (*auto_index < 0)
            return ifn_jinja_interp_error(ctx, "ValueError: cannot switch from manual field "
                                               "specification to automatic field numbering");
        index = (*auto_index)++;
    } else if (name.ptr[0] >= '0' && name.ptr[0] <= '9') {
        if (*auto_index > 0)
            return ifn_jinja_interp_error(ctx, "ValueError: cannot switch from automatic field "
                                               "numbering to manual field specification");
        *auto_index = -1;
        index = 0;
        for (size_t i = 0; i < name.len; i++) {
            if (name.ptr[i] < '0' || name.ptr[i] > '9' || index > 1000000)
                return ifn_jinja_interp_error(ctx, "ValueError: unsupported format field '%.*s'",
                                              (int)name.len, name.ptr);
            index = index * 10 + (name.ptr[i] - '0');
        }
    }
    if (index >= 0) {
        if (index >= args->n_pos)
            return ifn_jinja_interp_error(ctx, "IndexError: Replacement index %lld out of range",
                                          (long long)index);
        *out = args->pos[index];
        return IFN_OK;
    }
    for (int32_t i = 0; i < args->n_kw; i++)
        if (ifn_str_eq(args->kw_names[i], name)) {
            *out = args->kw_values[i];
            return IFN_OK;
        }
    return ifn_jinja_interp_error(ctx, "KeyError: '%.*s'", (int)name.len, name.ptr);
}

/* One {field!conv:spec}; `field` excludes the braces. */
static ifn_status format_field(ifn_jinja_ctx *ctx, ifn_jinja_buf *buf, ifn_str field,
                               const ifn_jinja_args *args, int64_t *auto_index) {
    const char *colon = memchr(field.ptr, ':', field.len);
    ifn_str name = {field.ptr, colon ? (size_t)(colon - field.ptr) : field.len};
    ifn_str spec_text = {colon ? colon + 1 : "", colon ? field.len - name.len - 1 : 0};
    char conv = 0;
    if (name.len >= 2 && name.ptr[name.len - 2] == '!') {
        conv = name.ptr[name.len - 1];
        name.len -= 2;
    }
    fmt_spec spec;
    ifn_jinja_value v = {0};
    ifn_status st = parse_spec(ctx, spec_text, &spec);
    if (st == IFN_OK) st = field_value(ctx, name, args, auto_index, &v);
    if (st != IFN_OK) return st;
    if (conv == 'r' || conv == 'a') spec.type = spec.type ? spec.type : 'r';
    return format_value(ctx, buf, v, &spec);
}

ifn_status ifn_jinja_strfmt_format(ifn_jinja_ctx *ctx, ifn_str fmt, const ifn_jinja_args *args,
                                   ifn_jinja_value *out) {
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    ifn_status st = IFN_OK;
    int64_t auto_index = 0;
    for (size_t i = 0; i < fmt.len && st == IFN_OK;) {
        char c = fmt.ptr[i];
        if ((c == '{' || c == '}') && i + 1 < fmt.len && fmt.ptr[i + 1] == c) {
            st = ifn_jinja_text_append(&buf, &c, 1);
            i += 2;
        } else if (c == '}') {
            st = ifn_jinja_interp_error(ctx, "ValueError: Single '}' encountered in format string");
        } else if (c == '{') {
            const char *close = memchr(fmt.ptr + i, '}', fmt.len - i);
            if (!close)
                return ifn_jinja_interp_error(ctx, "ValueError: expected '}' before end of string");
            ifn_str field = {fmt.ptr + i + 1, (size_t)(close - fmt.ptr) - i - 1};
            st = format_field(ctx, &buf, field, args, &auto_index);
            i = (size_t)(close - fmt.ptr) + 1;
        } else {
            st = ifn_jinja_text_append(&buf, &c, 1);
            i++;
        }
    }
    if (st == IFN_OK) *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    return st;
}
