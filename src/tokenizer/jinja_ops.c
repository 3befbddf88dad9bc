/* Operators with Python semantics: int64 and double arithmetic (// and % floor, / is true
 * division, bool counts as int), string and list concatenation and repetition, `%` string
 * formatting, comparisons and `in`. Integer overflow is an error rather than a wrong
 * answer; Python would switch to big integers. A Markup (safe) string concatenated with `+`
 * escapes the other side, as markupsafe does. */
#include "tokenizer/jinja_ops.h"

#include <math.h>
#include <string.h>

#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_strfmt.h"
#include "tokenizer/jinja_text.h"
#include "util/status.h"

#define MAX_REPEAT_ITEMS 1000000

static const char *op_text(int op) {
    switch (op) {
    case IFN_JINJA_OP_FLOORDIV:
        return "//";
    case IFN_JINJA_OP_POW:
        return "**";
    case IFN_JINJA_OP_LE:
        return "<=";
    case IFN_JINJA_OP_GE:
        return ">=";
    case IFN_JINJA_OP_ADD:
        return "+";
    case IFN_JINJA_OP_SUB:
        return "-";
    case IFN_JINJA_OP_MUL:
        return "*";
    case IFN_JINJA_OP_DIV:
        return "/";
    case IFN_JINJA_OP_MOD:
        return "%";
    case IFN_JINJA_OP_LT:
        return "<";
    case IFN_JINJA_OP_GT:
        return ">";
    default:
        return "?";
    }
}

static ifn_status unsupported(ifn_jinja_ctx *ctx, int op, ifn_jinja_value a, ifn_jinja_value b) {
    return ifn_jinja_interp_error(
        ctx, "TypeError: unsupported operand type(s) for %s: '%s' and '%s'", op_text(op),
        ifn_jinja_value_type_name(a), ifn_jinja_value_type_name(b));
}

static ifn_status overflow(ifn_jinja_ctx *ctx) {
    return ifn_jinja_interp_error(ctx, "OverflowError: integer result does not fit in 64 bits");
}

/* ---- numbers ----------------------------------------------------------------------------- */

static int mul_overflows(int64_t a, int64_t b) {
    if (a == 0 || b == 0) return 0;
    if (a == -1) return b == INT64_MIN;
    if (b == -1) return a == INT64_MIN;
    if (a > 0) return b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a;
    return b > 0 ? a < INT64_MIN / b : a < INT64_MAX / b;
}

static ifn_status int_pow(ifn_jinja_ctx *ctx, int64_t base, int64_t exp, ifn_jinja_value *out) {
    int64_t result = 1;
    while (exp > 0) {
        if (exp & 1) {
            if (mul_overflows(result, base)) return overflow(ctx);
            result *= base;
        }
        exp >>= 1;
        if (exp > 0) {
            if (mul_overflows(base, base)) return overflow(ctx);
            base *= base;
        }
    }
    *out = ifn_jinja_int(result);
    return IFN_OK;
}

static ifn_status int_arith(ifn_jinja_ctx *ctx, int op, int64_t a, int64_t b,
                            ifn_jinja_value *out) {
    switch (op) {
    case IFN_JINJA_OP_ADD:
        if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return overflow(ctx);
        *out = ifn_jinja_int(a + b);
        return IFN_OK;
    case IFN_JINJA_OP_SUB:
        if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b)) return overflow(ctx);
        *out = ifn_jinja_int(a - b);
        return IFN_OK;
    case IFN_JINJA_OP_MUL:
        if (mul_overflows(a, b)) return overflow(ctx);
        *out = ifn_jinja_int(a * b);
        return IFN_OK;
    case IFN_JINJA_OP_FLOORDIV:
    case IFN_JINJA_OP_MOD: {
        if (b == 0)
            return ifn_jinja_interp_error(
                ctx, op == IFN_JINJA_OP_MOD ? "ZeroDivisionError: integer modulo by zero"
                                            : "ZeroDivisionError: integer division or modulo "
                                              "by zero");
        if (a == INT64_MIN && b == -1) {
            if (op == IFN_JINJA_OP_FLOORDIV) return overflow(ctx);
            *out = ifn_jinja_int(0);
            return IFN_OK;
        }
        int64_t q = a / b, r = a % b;
        if (r != 0 && ((r < 0) != (b < 0))) q--, r += b;
        *out = ifn_jinja_int(op == IFN_JINJA_OP_MOD ? r : q);
        return IFN_OK;
    }
    case IFN_JINJA_OP_POW:
        if (b >= 0) return int_pow(ctx, a, b, out);
        if (a == 0)
            return ifn_jinja_interp_error(ctx,
                                          "ZeroDivisionError: 0.0 cannot be raised to a negative "
                                          "power");
        *out = ifn_jinja_float(pow((double)a, (double)b));
        return IFN_OK;
    default:
        break;
    }
    return ifn_jinja_interp_error(ctx, "unknown operator");
}

static ifn_status float_arith(ifn_jinja_ctx *ctx, int op, double a, double b,
                              ifn_jinja_value *out) {
    double r;
    switch (op) {
    case IFN_JINJA_OP_ADD:
        r = a + b;
        break;
    case IFN_JINJA_OP_SUB:
        r = a - b;
        break;
    case IFN_JINJA_OP_MUL:
        r = a * b;
        break;
    case IFN_JINJA_OP_DIV:
        if (b == 0.0) return ifn_jinja_interp_error(ctx, "ZeroDivisionError: division by zero");
        r = a / b;
        break;
    case IFN_JINJA_OP_FLOORDIV:
    case IFN_JINJA_OP_MOD: {
        if (b == 0.0) return ifn_jinja_interp_error(ctx, "ZeroDivisionError: float modulo");
        double m = fmod(a, b);
        if (m != 0.0 && ((m < 0) != (b < 0))) m += b;
        if (m == 0.0) m = copysign(0.0, b);
        r = op == IFN_JINJA_OP_MOD ? m : floor((a - m) / b + 0.5);
        break;
    }
    case IFN_JINJA_OP_POW:
        if (a == 0.0 && b < 0)
            return ifn_jinja_interp_error(ctx,
                                          "ZeroDivisionError: 0.0 cannot be raised to a negative "
                                          "power");
        if (a < 0 && b != floor(b))
            return ifn_jinja_interp_error(ctx, "ValueError: negative number cannot be raised to a "
                                               "fractional power");
        r = pow(a, b);
        break;
    default:
        return ifn_jinja_interp_error(ctx, "unknown operator");
    }
    *out = ifn_jinja_float(r);
    return IFN_OK;
}

static ifn_status number_arith(ifn_jinja_ctx *ctx, int op, ifn_jinja_value a, ifn_jinja_value b,
                               ifn_jinja_value *out) {
    if (a.kind == IFN_JINJA_FLOAT || b.kind == IFN_JINJA_FLOAT || op == IFN_JINJA_OP_DIV)
        return float_arith(ctx, op, ifn_jinja_as_float(a), ifn_jinja_as_float(b), out);
    return int_arith(ctx, op, ifn_jinja_as_int(a), ifn_jinja_as_int(b), out);
}

/* ---- strings and lists ------------------------------------------------------------------- */

/* a + b for strings; if either is Markup the other is escaped and the result is Markup. */
static ifn_status add_strings(ifn_jinja_ctx *ctx, ifn_jinja_value a, ifn_jinja_value b,
                              ifn_jinja_value *out) {
    int safe = (a.flags | b.flags) & IFN_JINJA_FLAG_SAFE;
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    ifn_status st = IFN_OK;
    const ifn_jinja_value *parts[2] = {&a, &b};
    for (int i = 0; i < 2 && st == IFN_OK; i++) {
        if (safe && !(parts[i]->flags & IFN_JINJA_FLAG_SAFE))
            st = ifn_jinja_text_append_escaped(&buf, parts[i]->as.s);
        else
            st = ifn_jinja_text_append(&buf, parts[i]->as.s.ptr, parts[i]->as.s.len);
    }
    if (st != IFN_OK) return st;
    *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    out->flags = safe ? IFN_JINJA_FLAG_SAFE : 0;
    return IFN_OK;
}

static ifn_status add_lists(ifn_jinja_ctx *ctx, const ifn_jinja_list *a, const ifn_jinja_list *b,
                            ifn_jinja_value *out) {
    ifn_jinja_list *list = ifn_jinja_value_new_list(ctx->arena, a->len + b->len, a->seq_kind);
    if (!list) return IFN_E_NOMEM;
    memcpy(list->items, a->items, (size_t)a->len * sizeof *list->items);
    memcpy(list->items + a->len, b->items, (size_t)b->len * sizeof *list->items);
    list->len = a->len + b->len;
    *out = ifn_jinja_list_value(list);
    return IFN_OK;
}

static ifn_status add(ifn_jinja_ctx *ctx, ifn_jinja_value a, ifn_jinja_value b,
                      ifn_jinja_value *out) {
    if (a.kind == IFN_JINJA_STRING && b.kind == IFN_JINJA_STRING)
        return add_strings(ctx, a, b, out);
    if (a.kind == IFN_JINJA_LIST && b.kind == IFN_JINJA_LIST &&
        a.as.list->seq_kind == b.as.list->seq_kind &&
        a.as.list->seq_kind != IFN_JINJA_SEQ_GENERATOR)
        return add_lists(ctx, a.as.list, b.as.list, out);
    if (a.kind == IFN_JINJA_STRING ||
        (a.kind == IFN_JINJA_LIST && a.as.list->seq_kind != IFN_JINJA_SEQ_GENERATOR))
        return ifn_jinja_interp_error(ctx, "TypeError: can only concatenate %s (not \"%s\") to %s",
                                      ifn_jinja_value_type_name(a), ifn_jinja_value_type_name(b),
                                      ifn_jinja_value_type_name(a));
    return unsupported(ctx, IFN_JINJA_OP_ADD, a, b);
}

/* "ab" * 3 and [1] * 3. */
static ifn_status repeat(ifn_jinja_ctx *ctx, ifn_jinja_value seq, int64_t n, ifn_jinja_value *out) {
    if (n < 0) n = 0;
    if (seq.kind == IFN_JINJA_STRING) {
        if (seq.as.s.len && (uint64_t)n > ctx->max_output_bytes / seq.as.s.len)
            return ifn_jinja_interp_error(ctx, "OverflowError: repeated string is too long");
        ifn_jinja_buf buf;
        ifn_jinja_text_init(&buf, ctx->arena, 0);
        for (int64_t i = 0; i < n; i++) {
            ifn_status st = ifn_jinja_text_append(&buf, seq.as.s.ptr, seq.as.s.len);
            if (st != IFN_OK) return st;
        }
        *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
        out->flags = seq.flags & IFN_JINJA_FLAG_SAFE;
        return IFN_OK;
    }
    const ifn_jinja_list *src = seq.as.list;
    if (src->len && n > MAX_REPEAT_ITEMS / src->len)
        return ifn_jinja_interp_error(ctx, "OverflowError: repeated list is too long");
    ifn_jinja_list *list = ifn_jinja_value_new_list(ctx->arena, src->len * n, src->seq_kind);
    if (!list) return IFN_E_NOMEM;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < src->len; j++)
            list->items[list->len++] = src->items[j];
    *out = ifn_jinja_list_value(list);
    return IFN_OK;
}

static int is_repeatable(ifn_jinja_value v) {
    return v.kind == IFN_JINJA_STRING ||
           (v.kind == IFN_JINJA_LIST && v.as.list->seq_kind != IFN_JINJA_SEQ_GENERATOR);
}

static int is_int_like(ifn_jinja_value v) {
    return v.kind == IFN_JINJA_INT || v.kind == IFN_JINJA_BOOL;
}

static ifn_status concat(ifn_jinja_ctx *ctx, ifn_jinja_value a, ifn_jinja_value b,
                         ifn_jinja_value *out) {
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    ifn_status st = ifn_jinja_text_append_value(&buf, a);
    if (st == IFN_OK) st = ifn_jinja_text_append_value(&buf, b);
    if (st == IFN_OK) *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    return st;
}

/* ---- comparisons and membership ---------------------------------------------------------- */

static int find_bytes(ifn_str hay, ifn_str needle) {
    if (needle.len == 0) return 1;
    for (size_t i = 0; i + needle.len <= hay.len; i++)
        if (memcmp(hay.ptr + i, needle.ptr, needle.len) == 0) return 1;
    return 0;
}

ifn_status ifn_jinja_ops_contains(ifn_jinja_ctx *ctx, ifn_jinja_value haystack,
                                  ifn_jinja_value needle, int *out) {
    switch (haystack.kind) {
    case IFN_JINJA_UNDEFINED:
        *out = 0;
        return IFN_OK;
    case IFN_JINJA_STRING:
        if (needle.kind != IFN_JINJA_STRING)
            return ifn_jinja_interp_error(ctx,
                                          "TypeError: 'in <string>' requires string as left "
                                          "operand, not %s",
                                          ifn_jinja_value_type_name(needle));
        *out = find_bytes(haystack.as.s, needle.as.s);
        return IFN_OK;
    case IFN_JINJA_LIST:
        *out = 0;
        for (int64_t i = 0; i < haystack.as.list->len && !*out; i++)
            *out = ifn_jinja_value_equal(haystack.as.list->items[i], needle);
        return IFN_OK;
    case IFN_JINJA_DICT:
        if (haystack.as.dict->is_namespace) break;
        if (needle.kind == IFN_JINJA_LIST || needle.kind == IFN_JINJA_DICT)
            return ifn_jinja_interp_error(ctx, "TypeError: unhashable type: '%s'",
                                          ifn_jinja_value_type_name(needle));
        *out = ifn_jinja_value_dict_get(haystack.as.dict, needle, &needle);
        return IFN_OK;
    default:
        break;
    }
    return ifn_jinja_interp_error(ctx, "TypeError: argument of type '%s' is not iterable",
                                  ifn_jinja_value_type_name(haystack));
}

static ifn_status compare(ifn_jinja_ctx *ctx, int op, ifn_jinja_value a, ifn_jinja_value b,
                          ifn_jinja_value *out) {
    int cmp = 0;
    ifn_status st = ifn_jinja_value_compare(a, b, op_text(op), &cmp);
    if (st != IFN_OK) return st;
    (void)ctx;
    switch (op) {
    case IFN_JINJA_OP_LT:
        *out = ifn_jinja_bool(cmp < 0);
        break;
    case IFN_JINJA_OP_LE:
        *out = ifn_jinja_bool(cmp <= 0);
        break;
    case IFN_JINJA_OP_GT:
        *out = ifn_jinja_bool(cmp > 0);
        break;
    default:
        *out = ifn_jinja_bool(cmp >= 0);
        break;
    }
    return IFN_OK;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static ifn_status arith(ifn_jinja_ctx *ctx, int op, ifn_jinja_value a, ifn_jinja_value b,
                        ifn_jinja_value *out) {
    if (a.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, a);
    if (b.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, b);
    if (ifn_jinja_is_number(a) && ifn_jinja_is_number(b)) return number_arith(ctx, op, a, b, out);
    if (op == IFN_JINJA_OP_ADD) return add(ctx, a, b, out);
    if (op == IFN_JINJA_OP_MUL && is_repeatable(a) && is_int_like(b))
        return repeat(ctx, a, ifn_jinja_as_int(b), out);
    if (op == IFN_JINJA_OP_MUL && is_int_like(a) && is_repeatable(b))
        return repeat(ctx, b, ifn_jinja_as_int(a), out);
    if (op == IFN_JINJA_OP_MOD && a.kind == IFN_JINJA_STRING)
        return ifn_jinja_strfmt_percent(ctx, a.as.s, b, out);
    return unsupported(ctx, op, a, b);
}

ifn_status ifn_jinja_ops_binary(ifn_jinja_ctx *ctx, int op, ifn_jinja_value a, ifn_jinja_value b,
                                ifn_jinja_value *out) {
    int in = 0;
    ifn_status st;
    switch (op) {
    case IFN_JINJA_OP_CONCAT:
        return concat(ctx, a, b, out);
    case IFN_JINJA_OP_EQ:
        *out = ifn_jinja_bool(ifn_jinja_value_equal(a, b));
        return IFN_OK;
    case IFN_JINJA_OP_NE:
        *out = ifn_jinja_bool(!ifn_jinja_value_equal(a, b));
        return IFN_OK;
    case IFN_JINJA_OP_LT:
    case IFN_JINJA_OP_LE:
    case IFN_JINJA_OP_GT:
    case IFN_JINJA_OP_GE:
        return compare(ctx, op, a, b, out);
    case IFN_JINJA_OP_IN:
    case IFN_JINJA_OP_NOT_IN:
        st = ifn_jinja_ops_contains(ctx, b, a, &in);
        if (st == IFN_OK) *out = ifn_jinja_bool(op == IFN_JINJA_OP_IN ? in : !in);
        return st;
    default:
        return arith(ctx, op, a, b, out);
    }
}

ifn_status ifn_jinja_ops_unary(ifn_jinja_ctx *ctx, int op, ifn_jinja_value a,
                               ifn_jinja_value *out) {
    if (a.kind == IFN_JINJA_UNDEFINED) return ifn_jinja_interp_undefined_error(ctx, a);
    if (!ifn_jinja_is_number(a))
        return ifn_jinja_interp_error(ctx, "TypeError: bad operand type for unary %c: '%s'", op,
                                      ifn_jinja_value_type_name(a));
    if (op == '+') {
        *out = a.kind == IFN_JINJA_BOOL ? ifn_jinja_int(a.as.b) : a;
        return IFN_OK;
    }
    if (a.kind == IFN_JINJA_FLOAT) {
        *out = ifn_jinja_float(-a.as.f);
        return IFN_OK;
    }
    int64_t i = ifn_jinja_as_int(a);
    if (i == INT64_MIN) return overflow(ctx);
    *out = ifn_jinja_int(-i);
    return IFN_OK;
}
