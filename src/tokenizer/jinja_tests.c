/* Tests (`x is name`) with Jinja2's definitions. Type tests follow Python's classes: bool
 * counts as a number but not as an integer, dicts are sequences (they have len and []),
 * and undefined is iterable and a sequence, but not a mapping. */
#include "tokenizer/jinja_tests.h"

#include "tokenizer/jinja_filters.h"
#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_ops.h"
#include "tokenizer/jinja_text.h"
#include "util/status.h"

#define KIND_TEST(fn, expr)                                                                        \
    static ifn_status fn(ifn_jinja_ctx *ctx, ifn_jinja_value v, const ifn_jinja_args *args,        \
                         int *out) {                                                               \
        (void)ctx, (void)args;                                                                     \
        *out = (expr);                                                                             \
        return IFN_OK;                                                                             \
    }

KIND_TEST(t_defined, v.kind != IFN_JINJA_UNDEFINED)
KIND_TEST(t_undefined, v.kind == IFN_JINJA_UNDEFINED)
KIND_TEST(t_none, v.kind == IFN_JINJA_NONE)
KIND_TEST(t_boolean, v.kind == IFN_JINJA_BOOL)
KIND_TEST(t_true, v.kind == IFN_JINJA_BOOL && v.as.b)
KIND_TEST(t_false, v.kind == IFN_JINJA_BOOL && !v.as.b)
KIND_TEST(t_integer, v.kind == IFN_JINJA_INT)
KIND_TEST(t_float, v.kind == IFN_JINJA_FLOAT)
KIND_TEST(t_number, ifn_jinja_is_number(v))
KIND_TEST(t_string, v.kind == IFN_JINJA_STRING)
KIND_TEST(t_mapping, v.kind == IFN_JINJA_DICT && !v.as.dict->is_namespace)
KIND_TEST(t_iterable, v.kind == IFN_JINJA_STRING || v.kind == IFN_JINJA_LIST ||
                          v.kind == IFN_JINJA_UNDEFINED || v.kind == IFN_JINJA_LOOP ||
                          (v.kind == IFN_JINJA_DICT && !v.as.dict->is_namespace))
KIND_TEST(t_sequence,
          v.kind == IFN_JINJA_STRING || v.kind == IFN_JINJA_UNDEFINED ||
              (v.kind == IFN_JINJA_LIST && v.as.list->seq_kind != IFN_JINJA_SEQ_GENERATOR) ||
              (v.kind == IFN_JINJA_DICT && !v.as.dict->is_namespace))
KIND_TEST(t_callable, v.kind == IFN_JINJA_FUNC)
KIND_TEST(t_escaped, v.kind == IFN_JINJA_STRING && (v.flags & IFN_JINJA_FLAG_SAFE))

/* The first argument of a test that needs one. */
static ifn_status test_arg(ifn_jinja_ctx *ctx, const ifn_jinja_args *args, ifn_jinja_value *out) {
    if (ifn_jinja_interp_arg(args, 0, NULL, out)) return IFN_OK;
    return ifn_jinja_interp_error(ctx, "TypeError: test takes exactly one argument");
}

/* value % divisor == expected, as Jinja2's odd/even tests compute it. */
static ifn_status remainder_is(ifn_jinja_ctx *ctx, ifn_jinja_value v, ifn_jinja_value divisor,
                               int64_t expected, int *out) {
    ifn_jinja_value r = {0};
    ifn_status st = ifn_jinja_ops_binary(ctx, IFN_JINJA_OP_MOD, v, divisor, &r);
    if (st == IFN_OK) *out = ifn_jinja_value_equal(r, ifn_jinja_int(expected));
    return st;
}
static ifn_status t_odd(ifn_jinja_ctx *ctx, ifn_jinja_value v, const ifn_jinja_args *args,
                        int *out) {
    (void)args;
    return remainder_is(ctx, v, ifn_jinja_int(2), 1, out);
}
static ifn_status t_even(ifn_jinja_ctx *ctx, ifn_jinja_value v, const ifn_jinja_args *args,
                         int *out) {
    (void)args;
    return remainder_is(ctx, v, ifn_jinja_int(2), 0, out);
}
static ifn_status t_divisibleby(ifn_jinja_ctx *ctx, ifn_jinja_value v, const ifn_jinja_args *args,
                                int *out) {
    ifn_jinja_value d = {0};
    ifn_status st = test_arg(ctx, args, &d);
    return st == IFN_OK ? remainder_is(ctx, v, d, 0, out) : st;
}

/* Comparison tests: eq/equalto/==, ne/!=, lt/lessthan/<, le/<=, gt/greaterthan/>, ge/>=. */
static ifn_status compare_test(ifn_jinja_ctx *ctx, ifn_jinja_value v, const ifn_jinja_args *args,
                               int op, int *out) {
    ifn_jinja_value other = {0}, r = {0};
    ifn_status st = test_arg(ctx, args, &other);
    if (st == IFN_OK) st = ifn_jinja_ops_binary(ctx, op, v, other, &r);
    if (st == IFN_OK) *out = r.as.b;
    return st;
}
#define COMPARE_TEST(fn, op)                                                                       \
    static ifn_status fn(ifn_jinja_ctx *ctx, ifn_jinja_value v, const ifn_jinja_args *args,        \
                         int *out) {                                                               \
        return compare_test(ctx, v, args, op, out);                                                \
    }
COMPARE_TEST(t_eq, IFN_JINJA_OP_EQ)
COMPARE_TEST(t_ne, IFN_JINJA_OP_NE)
COMPARE_TEST(t_lt, IFN_JINJA_OP_LT)
COMPARE_TEST(t_le, IFN_JINJA_OP_LE)
COMPARE_TEST(t_gt, IFN_JINJA_OP_GT)
COMPARE_TEST(t_ge, IFN_JINJA_OP_GE)
COMPARE_TEST(t_in, IFN_JINJA_OP_IN)

/* `is sameas`: identity for containers, equal value and type for scalars. */
static ifn_status t_sameas(ifn_jinja_ctx *ctx, ifn_jinja_value v, const ifn_jinja_args *args,
                           int *out) {
    ifn_jinja_value other = {0};
    ifn_status st = test_arg(ctx, args, &other);
    if (st != IFN_OK) return st;
    if (v.kind != other.kind)
        *out = 0;
    else if (v.kind == IFN_JINJA_LIST)
        *out = v.as.list == other.as.list;
    else if (v.kind == IFN_JINJA_DICT)
        *out = v.as.dict == other.as.dict;
    else
        *out = ifn_jinja_value_equal(v, other);
    return IFN_OK;
}

static ifn_status case_test(ifn_jinja_ctx *ctx, ifn_jinja_value v, int want_lower, int *out) {
    ifn_str s = {"", 0};
    ifn_status st = ifn_jinja_text_to_str(ctx->arena, v, &s);
    if (st != IFN_OK) return st;
    int has_cased = 0, ok = 1;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        int upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z';
        has_cased |= upper || lower;
        if (want_lower ? upper : lower) ok = 0;
    }
    *out = ok && has_cased;
    return IFN_OK;
}
static ifn_status t_lower(ifn_jinja_ctx *ctx, ifn_jinja_value v, const ifn_jinja_args *args,
                          int *out) {
    (void)args;
    return case_test(ctx, v, 1, out);
}
static ifn_status t_upper(ifn_jinja_ctx *ctx, ifn_jinja_value v, const ifn_jinja_args *args,
                          int *out) {
    (void)args;
    return case_test(ctx, v, 0, out);
}

/* `is filter` / `is test`: whether a filter or test of that name exists. */
static ifn_status t_filter(ifn_jinja_ctx *ctx, ifn_jinja_value v, const ifn_jinja_args *args,
                           int *out) {
    (void)ctx, (void)args;
    *out = v.kind == IFN_JINJA_STRING && ifn_jinja_filters_find(v.as.s) != NULL;
    return IFN_OK;
}
static ifn_status t_test(ifn_jinja_ctx *ctx, ifn_jinja_value v, const ifn_jinja_args *args,
                         int *out) {
    (void)ctx, (void)args;
    *out = v.kind == IFN_JINJA_STRING && ifn_jinja_tests_find(v.as.s) != NULL;
    return IFN_OK;
}

static const struct {
    const char *name;
    ifn_jinja_test_fn fn;
} g_tests[] = {
    {"defined", t_defined},
    {"undefined", t_undefined},
    {"none", t_none},
    {"boolean", t_boolean},
    {"true", t_true},
    {"false", t_false},
    {"integer", t_integer},
    {"float", t_float},
    {"number", t_number},
    {"string", t_string},
    {"mapping", t_mapping},
    {"iterable", t_iterable},
    {"sequence", t_sequence},
    {"callable", t_callable},
    {"escaped", t_escaped},
    {"odd", t_odd},
    {"even", t_even},
    {"divisibleby", t_divisibleby},
    {"eq", t_eq},
    {"equalto", t_eq},
    {"==", t_eq},
    {"ne", t_ne},
    {"!=", t_ne},
    {"lt", t_lt},
    {"lessthan", t_lt},
    {"<", t_lt},
    {"le", t_le},
    {"<=", t_le},
    {"gt", t_gt},
    {"greaterthan", t_gt},
    {">", t_gt},
    {"ge", t_ge},
    {">=", t_ge},
    {"in", t_in},
    {"sameas", t_sameas},
    {"lower", t_lower},
    {"upper", t_upper},
    {"filter", t_filter},
    {"test", t_test},
};

ifn_jinja_test_fn ifn_jinja_tests_find(ifn_str name) {
    for (size_t i = 0; i < sizeof g_tests / sizeof g_tests[0]; i++)
        if (ifn_str_eq_cstr(name, g_tests[i].name)) return g_tests[i].fn;
    return NULL;
}
