/* Methods and attributes of built-in values. Each str method is a small function in a table;
 * list and dict methods that would mutate are answered with an undefined value carrying
 * the sandbox's message, so calling one fails the way Hugging Face's renderer does. */
#include "tokenizer/jinja_methods.h"

#include <string.h>

#include "tokenizer/jinja_access.h"
#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_strfmt.h"
#include "tokenizer/jinja_strings.h"
#include "util/status.h"

typedef ifn_status (*str_method_fn)(ifn_jinja_ctx *ctx, ifn_str self, const ifn_jinja_args *args,
                                    ifn_jinja_value *out);

/* ---- argument helpers -------------------------------------------------------------------- */

/* Optional string argument: 0 if absent or none; IFN_E_INVALID if another type. */
static ifn_status opt_str(ifn_jinja_ctx *ctx, const ifn_jinja_args *args, int32_t index,
                          const char *name, int *has, ifn_str *out) {
    ifn_jinja_value v = {0};
    *has = ifn_jinja_interp_arg(args, index, name, &v) && v.kind != IFN_JINJA_NONE;
    if (!*has) return IFN_OK;
    if (v.kind != IFN_JINJA_STRING)
        return ifn_jinja_interp_error(ctx, "TypeError: must be str or None, not %s",
                                      ifn_jinja_value_type_name(v));
    *out = v.as.s;
    return IFN_OK;
}

static ifn_status req_str(ifn_jinja_ctx *ctx, const ifn_jinja_args *args, int32_t index,
                          const char *name, ifn_str *out) {
    int has = 0;
    ifn_status st = opt_str(ctx, args, index, name, &has, out);
    if (st == IFN_OK && !has)
        return ifn_jinja_interp_error(ctx, "TypeError: missing required argument '%s'", name);
    return st;
}

static ifn_status opt_int(ifn_jinja_ctx *ctx, const ifn_jinja_args *args, int32_t index,
                          const char *name, int64_t dflt, int64_t *out) {
    ifn_jinja_value v = {0};
    *out = dflt;
    if (!ifn_jinja_interp_arg(args, index, name, &v) || v.kind == IFN_JINJA_NONE) return IFN_OK;
    if (v.kind != IFN_JINJA_INT && v.kind != IFN_JINJA_BOOL)
        return ifn_jinja_interp_error(ctx,
                                      "TypeError: '%s' object cannot be interpreted as an integer",
                                      ifn_jinja_value_type_name(v));
    *out = ifn_jinja_as_int(v);
    return IFN_OK;
}

static ifn_jinja_value str_view(ifn_str s) {
    return ifn_jinja_string(s);
}

/* ---- str methods ------------------------------------------------------------------------- */

static ifn_status m_upper(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                          ifn_jinja_value *o) {
    (void)a;
    return ifn_jinja_strings_case(c, s, IFN_JINJA_CASE_UPPER, o);
}
static ifn_status m_lower(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                          ifn_jinja_value *o) {
    (void)a;
    return ifn_jinja_strings_case(c, s, IFN_JINJA_CASE_LOWER, o);
}
static ifn_status m_title(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                          ifn_jinja_value *o) {
    (void)a;
    return ifn_jinja_strings_case(c, s, IFN_JINJA_CASE_TITLE, o);
}
static ifn_status m_capitalize(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                               ifn_jinja_value *o) {
    (void)a;
    return ifn_jinja_strings_case(c, s, IFN_JINJA_CASE_CAPITALIZE, o);
}

static ifn_status strip_sides(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a, int sides,
                              ifn_jinja_value *o) {
    int has = 0;
    ifn_str chars = {"", 0};
    ifn_status st = opt_str(c, a, 0, "chars", &has, &chars);
    if (st == IFN_OK) *o = str_view(ifn_jinja_strings_strip(s, sides, has ? &chars : NULL));
    return st;
}
static ifn_status m_strip(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                          ifn_jinja_value *o) {
    return strip_sides(c, s, a, IFN_JINJA_STRIP_BOTH, o);
}
static ifn_status m_lstrip(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                           ifn_jinja_value *o) {
    return strip_sides(c, s, a, IFN_JINJA_STRIP_LEFT, o);
}
static ifn_status m_rstrip(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                           ifn_jinja_value *o) {
    return strip_sides(c, s, a, IFN_JINJA_STRIP_RIGHT, o);
}

static ifn_status split_impl(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a, int from_right,
                             ifn_jinja_value *o) {
    int has = 0;
    ifn_str sep = {"", 0};
    int64_t maxsplit;
    ifn_status st = opt_str(c, a, 0, "sep", &has, &sep);
    if (st == IFN_OK) st = opt_int(c, a, 1, "maxsplit", -1, &maxsplit);
    if (st != IFN_OK) return st;
    return ifn_jinja_strings_split(c, s, has ? &sep : NULL, maxsplit, from_right, o);
}
static ifn_status m_split(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                          ifn_jinja_value *o) {
    return split_impl(c, s, a, 0, o);
}
static ifn_status m_rsplit(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                           ifn_jinja_value *o) {
    return split_impl(c, s, a, 1, o);
}
static ifn_status m_splitlines(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                               ifn_jinja_value *o) {
    (void)a;
    return ifn_jinja_strings_splitlines(c, s, o);
}

/* startswith/endswith take a string or a tuple of strings. */
static ifn_status affix_test(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a, int at_end,
                             ifn_jinja_value *o) {
    ifn_jinja_value arg = {0};
    if (!ifn_jinja_interp_arg(a, 0, NULL, &arg))
        return ifn_jinja_interp_error(c, "TypeError: %s() takes at least 1 argument",
                                      at_end ? "endswith" : "startswith");
    const ifn_jinja_value *cands = &arg;
    int64_t n = 1;
    if (arg.kind == IFN_JINJA_LIST && arg.as.list->seq_kind == IFN_JINJA_SEQ_TUPLE)
        cands = arg.as.list->items, n = arg.as.list->len;
    int hit = 0;
    for (int64_t i = 0; i < n && !hit; i++) {
        if (cands[i].kind != IFN_JINJA_STRING)
            return ifn_jinja_interp_error(c,
                                          "TypeError: %s first arg must be str or a tuple of str",
                                          at_end ? "endswith" : "startswith");
        ifn_str p = cands[i].as.s;
        hit = p.len <= s.len &&
              (p.len == 0 || memcmp(s.ptr + (at_end ? s.len - p.len : 0), p.ptr, p.len) == 0);
    }
    *o = ifn_jinja_bool(hit);
    return IFN_OK;
}
static ifn_status m_startswith(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                               ifn_jinja_value *o) {
    return affix_test(c, s, a, 0, o);
}
static ifn_status m_endswith(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                             ifn_jinja_value *o) {
    return affix_test(c, s, a, 1, o);
}

static ifn_status find_impl(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a, int from_right,
                            int must_find, ifn_jinja_value *o) {
    ifn_str sub = {"", 0};
    ifn_status st = req_str(c, a, 0, "sub", &sub);
    if (st != IFN_OK) return st;
    int64_t i = ifn_jinja_strings_find(s, sub, from_right);
    if (i < 0 && must_find) return ifn_jinja_interp_error(c, "ValueError: substring not found");
    *o = ifn_jinja_int(i);
    return IFN_OK;
}
static ifn_status m_find(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a, ifn_jinja_value *o) {
    return find_impl(c, s, a, 0, 0, o);
}
static ifn_status m_rfind(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                          ifn_jinja_value *o) {
    return find_impl(c, s, a, 1, 0, o);
}
static ifn_status m_index(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                          ifn_jinja_value *o) {
    return find_impl(c, s, a, 0, 1, o);
}
static ifn_status m_count(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                          ifn_jinja_value *o) {
    ifn_str sub = {"", 0};
    ifn_status st = req_str(c, a, 0, "sub", &sub);
    if (st == IFN_OK) *o = ifn_jinja_int(ifn_jinja_strings_count(s, sub));
    return st;
}

static ifn_status m_replace(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                            ifn_jinja_value *o) {
    ifn_str old = {"", 0}, repl = {"", 0};
    int64_t count;
    ifn_status st = req_str(c, a, 0, "old", &old);
    if (st == IFN_OK) st = req_str(c, a, 1, "new", &repl);
    if (st == IFN_OK) st = opt_int(c, a, 2, "count", -1, &count);
    return st == IFN_OK ? ifn_jinja_strings_replace(c, s, old, repl, count, o) : st;
}

static ifn_status m_join(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a, ifn_jinja_value *o) {
    ifn_jinja_value items = {0};
    ifn_jinja_list *list = NULL;
    if (!ifn_jinja_interp_arg(a, 0, NULL, &items))
        return ifn_jinja_interp_error(c, "TypeError: join() takes exactly one argument");
    ifn_status st = ifn_jinja_access_iterate(c, items, &list);
    return st == IFN_OK ? ifn_jinja_strings_join(c, s, list, 1, o) : st;
}

static ifn_status m_format(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                           ifn_jinja_value *o) {
    return ifn_jinja_strfmt_format(c, s, a, o);
}

static ifn_status affix_remove(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a, int at_end,
                               ifn_jinja_value *o) {
    ifn_str p = {"", 0};
    ifn_status st = req_str(c, a, 0, at_end ? "suffix" : "prefix", &p);
    if (st != IFN_OK) return st;
    if (p.len <= s.len && p.len > 0 &&
        memcmp(s.ptr + (at_end ? s.len - p.len : 0), p.ptr, p.len) == 0) {
        if (!at_end) s.ptr += p.len;
        s.len -= p.len;
    }
    *o = str_view(s);
    return IFN_OK;
}
static ifn_status m_removeprefix(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                                 ifn_jinja_value *o) {
    return affix_remove(c, s, a, 0, o);
}
static ifn_status m_removesuffix(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                                 ifn_jinja_value *o) {
    return affix_remove(c, s, a, 1, o);
}

/* isdigit/isalpha/...: every code point passes `kind` and the string is not empty. */
static ifn_status char_class(ifn_str s, char kind, ifn_jinja_value *o) {
    int ok = s.len > 0, has_cased = 0;
    for (size_t i = 0; i < s.len && ok;) {
        uint32_t cp;
        i += ifn_jinja_strings_next_cp(s, i, &cp);
        int digit = cp >= '0' && cp <= '9';
        int upper = cp >= 'A' && cp <= 'Z', lower = cp >= 'a' && cp <= 'z';
        int alpha = upper || lower || cp >= 0x80;
        has_cased |= upper || lower;
        switch (kind) {
        case 'd':
            ok = digit;
            break;
        case 'a':
            ok = alpha;
            break;
        case 'n':
            ok = alpha || digit;
            break;
        case 's':
            ok = ifn_jinja_strings_is_space(cp);
            break;
        case 'l':
            ok = !upper;
            break;
        default:
            ok = !lower;
            break;
        }
    }
    if (kind == 'l' || kind == 'u') ok = ok && has_cased;
    *o = ifn_jinja_bool(ok);
    return IFN_OK;
}
static ifn_status m_isdigit(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                            ifn_jinja_value *o) {
    (void)c, (void)a;
    return char_class(s, 'd', o);
}
static ifn_status m_isalpha(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                            ifn_jinja_value *o) {
    (void)c, (void)a;
    return char_class(s, 'a', o);
}
static ifn_status m_isalnum(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                            ifn_jinja_value *o) {
    (void)c, (void)a;
    return char_class(s, 'n', o);
}
static ifn_status m_isspace(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                            ifn_jinja_value *o) {
    (void)c, (void)a;
    return char_class(s, 's', o);
}
static ifn_status m_islower(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                            ifn_jinja_value *o) {
    (void)c, (void)a;
    return char_class(s, 'l', o);
}
static ifn_status m_isupper(ifn_jinja_ctx *c, ifn_str s, const ifn_jinja_args *a,
                            ifn_jinja_value *o) {
    (void)c, (void)a;
    return char_class(s, 'u', o);
}

static const struct {
    const char *name;
    str_method_fn fn;
} g_str_methods[] = {
    {"upper", m_upper},
    {"lower", m_lower},
    {"title", m_title},
    {"capitalize", m_capitalize},
    {"strip", m_strip},
    {"lstrip", m_lstrip},
    {"rstrip", m_rstrip},
    {"split", m_split},
    {"rsplit", m_rsplit},
    {"splitlines", m_splitlines},
    {"startswith", m_startswith},
    {"endswith", m_endswith},
    {"find", m_find},
    {"rfind", m_rfind},
    {"index", m_index},
    {"count", m_count},
    {"replace", m_replace},
    {"join", m_join},
    {"format", m_format},
    {"removeprefix", m_removeprefix},
    {"removesuffix", m_removesuffix},
    {"isdigit", m_isdigit},
    {"isalpha", m_isalpha},
    {"isalnum", m_isalnum},
    {"isspace", m_isspace},
    {"islower", m_islower},
    {"isupper", m_isupper},
};

static str_method_fn find_str_method(ifn_str name) {
    for (size_t i = 0; i < sizeof g_str_methods / sizeof g_str_methods[0]; i++)
        if (ifn_str_eq_cstr(name, g_str_methods[i].name)) return g_str_methods[i].fn;
    return NULL;
}

/* ---- list, dict and loop ----------------------------------------------------------------- */

static int name_in(ifn_str name, const char *const *names) {
    for (size_t i = 0; names[i]; i++)
        if (ifn_str_eq_cstr(name, names[i])) return 1;
    return 0;
}

static const char *const g_list_methods[] = {"index", "count", NULL};
static const char *const g_list_mutators[] = {"append",  "extend", "insert", "pop", "remove",
                                              "reverse", "sort",   "clear",  NULL};
static const char *const g_dict_methods[] = {"items", "keys", "values", "get", "copy", NULL};
static const char *const g_dict_mutators[] = {"pop",        "popitem", "update",
                                              "setdefault", "clear",   NULL};

static ifn_status list_method(ifn_jinja_ctx *ctx, const ifn_jinja_list *list, ifn_str name,
                              const ifn_jinja_args *args, ifn_jinja_value *out) {
    ifn_jinja_value x = {0};
    if (!ifn_jinja_interp_arg(args, 0, NULL, &x))
        return ifn_jinja_interp_error(ctx, "TypeError: %.*s() takes exactly one argument",
                                      (int)name.len, name.ptr);
    int64_t count = 0, first = -1;
    for (int64_t i = 0; i < list->len; i++)
        if (ifn_jinja_value_equal(list->items[i], x)) {
            if (first < 0) first = i;
            count++;
        }
    if (ifn_str_eq_cstr(name, "count")) {
        *out = ifn_jinja_int(count);
        return IFN_OK;
    }
    if (first < 0) return ifn_jinja_interp_error(ctx, "ValueError: value is not in list");
    *out = ifn_jinja_int(first);
    return IFN_OK;
}

/* d.items() as a list of (key, value) tuples, d.keys(), d.values(). */
static ifn_status dict_view(ifn_jinja_ctx *ctx, const ifn_jinja_dict *d, char which,
                            ifn_jinja_value *out) {
    ifn_jinja_list *list = ifn_jinja_value_new_list(ctx->arena, d->len, IFN_JINJA_SEQ_LIST);
    if (!list) return IFN_E_NOMEM;
    for (int64_t i = 0; i < d->len; i++) {
        ifn_jinja_value item = which == 'k' ? d->keys[i] : d->values[i];
        if (which == 'i') {
            ifn_jinja_list *pair = ifn_jinja_value_new_list(ctx->arena, 2, IFN_JINJA_SEQ_TUPLE);
            if (!pair) return IFN_E_NOMEM;
            pair->items[0] = d->keys[i];
            pair->items[1] = d->values[i];
            pair->len = 2;
            item = ifn_jinja_list_value(pair);
        }
        list->items[list->len++] = item;
    }
    *out = ifn_jinja_list_value(list);
    return IFN_OK;
}

static ifn_status dict_method(ifn_jinja_ctx *ctx, const ifn_jinja_dict *d, ifn_str name,
                              const ifn_jinja_args *args, ifn_jinja_value *out) {
    if (ifn_str_eq_cstr(name, "items")) return dict_view(ctx, d, 'i', out);
    if (ifn_str_eq_cstr(name, "keys")) return dict_view(ctx, d, 'k', out);
    if (ifn_str_eq_cstr(name, "values")) return dict_view(ctx, d, 'v', out);
    if (ifn_str_eq_cstr(name, "copy")) {
        ifn_jinja_dict *copy = ifn_jinja_value_new_dict(ctx->arena, d->len);
        if (!copy) return IFN_E_NOMEM;
        for (int64_t i = 0; i < d->len; i++) {
            ifn_status st = ifn_jinja_value_dict_append(ctx->arena, copy, d->keys[i], d->values[i]);
            if (st != IFN_OK) return st;
        }
        *out = ifn_jinja_dict_value(copy);
        return IFN_OK;
    }
    ifn_jinja_value key; /* get(key, default=None) */
    if (!ifn_jinja_interp_arg(args, 0, NULL, &key))
        return ifn_jinja_interp_error(ctx, "TypeError: get expected at least 1 argument, got 0");
    if (ifn_jinja_value_dict_get(d, key, out)) return IFN_OK;
    if (!ifn_jinja_interp_arg(args, 1, NULL, out)) *out = ifn_jinja_none();
    return IFN_OK;
}

static ifn_status loop_attr(ifn_jinja_ctx *ctx, const ifn_jinja_loop *loop, ifn_str name,
                            int *found, ifn_jinja_value *out) {
    int64_t i = loop->index0, n = loop->items->len;
    *found = 1;
    if (ifn_str_eq_cstr(name, "index"))
        *out = ifn_jinja_int(i + 1);
    else if (ifn_str_eq_cstr(name, "index0"))
        *out = ifn_jinja_int(i);
    else if (ifn_str_eq_cstr(name, "revindex"))
        *out = ifn_jinja_int(n - i);
    else if (ifn_str_eq_cstr(name, "revindex0"))
        *out = ifn_jinja_int(n - i - 1);
    else if (ifn_str_eq_cstr(name, "first"))
        *out = ifn_jinja_bool(i == 0);
    else if (ifn_str_eq_cstr(name, "last"))
        *out = ifn_jinja_bool(i == n - 1);
    else if (ifn_str_eq_cstr(name, "length"))
        *out = ifn_jinja_int(n);
    else if (ifn_str_eq_cstr(name, "depth"))
        *out = ifn_jinja_int(1);
    else if (ifn_str_eq_cstr(name, "depth0"))
        *out = ifn_jinja_int(0);
    else if (ifn_str_eq_cstr(name, "previtem") && i > 0)
        *out = loop->items->items[i - 1];
    else if (ifn_str_eq_cstr(name, "nextitem") && i + 1 < n)
        *out = loop->items->items[i + 1];
    else if (ifn_str_eq_cstr(name, "previtem"))
        return ifn_jinja_interp_make_undefined(ctx, out, "there is no previous item");
    else if (ifn_str_eq_cstr(name, "nextitem"))
        return ifn_jinja_interp_make_undefined(ctx, out, "there is no next item");
    else
        *found = ifn_str_eq_cstr(name, "cycle") ? 2 : 0;
    return IFN_OK;
}

/* Markup's methods return Markup: a string result, or each string of a list result. */
static void mark_safe(ifn_jinja_value *v) {
    if (v->kind == IFN_JINJA_STRING) v->flags |= IFN_JINJA_FLAG_SAFE;
    if (v->kind != IFN_JINJA_LIST) return;
    for (int64_t i = 0; i < v->as.list->len; i++)
        if (v->as.list->items[i].kind == IFN_JINJA_STRING)
            v->as.list->items[i].flags |= IFN_JINJA_FLAG_SAFE;
}

/* ---- entry points ------------------------------------------------------------------------ */

static ifn_status bind(ifn_jinja_ctx *ctx, ifn_jinja_value self, ifn_str name,
                       ifn_jinja_value *out) {
    ifn_jinja_func *f = ifn_jinja_arena_alloc(ctx->arena, sizeof *f);
    if (!f) return IFN_E_NOMEM;
    f->kind = IFN_JINJA_FUNC_METHOD;
    f->name = name;
    f->self = self;
    *out = ifn_jinja_func_value(f);
    return IFN_OK;
}

ifn_status ifn_jinja_methods_getattr(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_str name,
                                     int *out_found, ifn_jinja_value *out) {
    int is_list = obj.kind == IFN_JINJA_LIST, is_dict = obj.kind == IFN_JINJA_DICT;
    *out_found = 1;
    if ((obj.kind == IFN_JINJA_STRING && find_str_method(name)) ||
        (is_list && name_in(name, g_list_methods)) || (is_dict && name_in(name, g_dict_methods)))
        return bind(ctx, obj, name, out);
    if ((is_list && name_in(name, g_list_mutators)) || (is_dict && name_in(name, g_dict_mutators)))
        return ifn_jinja_interp_make_undefined(ctx, out,
                                               "SecurityError: access to attribute '%.*s' of '%s' "
                                               "object is unsafe.",
                                               (int)name.len, name.ptr,
                                               ifn_jinja_value_type_name(obj));
    if (obj.kind == IFN_JINJA_LOOP) {
        ifn_status st = loop_attr(ctx, obj.as.loop, name, out_found, out);
        if (st != IFN_OK || *out_found != 2) return st;
        *out_found = 1;
        return bind(ctx, obj, name, out);
    }
    *out_found = 0;
    return IFN_OK;
}

ifn_status ifn_jinja_methods_call(ifn_jinja_ctx *ctx, const ifn_jinja_func *method,
                                  const ifn_jinja_args *args, ifn_jinja_value *out) {
    ifn_jinja_value self = method->self;
    switch (self.kind) {
    case IFN_JINJA_STRING: {
        ifn_status st = find_str_method(method->name)(ctx, self.as.s, args, out);
        if (st == IFN_OK && (self.flags & IFN_JINJA_FLAG_SAFE)) mark_safe(out);
        return st;
    }
    case IFN_JINJA_LIST:
        return list_method(ctx, self.as.list, method->name, args, out);
    case IFN_JINJA_DICT:
        return dict_method(ctx, self.as.dict, method->name, args, out);
    case IFN_JINJA_LOOP: /* loop.cycle(a, b, ...) */
        if (args->n_pos == 0)
            return ifn_jinja_interp_error(ctx, "TypeError: no items for cycling given");
        *out = args->pos[self.as.loop->index0 % args->n_pos];
        return IFN_OK;
    default:
        break;
    }
    return ifn_jinja_interp_error(ctx, "TypeError: object is not callable");
}
