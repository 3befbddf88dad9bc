/* Values of the chat-template interpreter (a Jinja2 dialect): undefined, none, bool, int64,
 * double, string, list/tuple, insertion-ordered dict/namespace, callables and loop objects.
 * Values are small structs passed by copy; everything they point to lives in the render's
 * arena (or in the parsed template, or in the caller's JSON, all of which outlive a render),
 * so nothing is freed individually. Strings are immutable UTF-8 views; lists and dicts are
 * shared by reference, as in Python. Not thread-safe: a value belongs to one render. */
#ifndef IFN_TOKENIZER_JINJA_VALUE_H
#define IFN_TOKENIZER_JINJA_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "inferneo/status.h"
#include "tokenizer/jinja_arena.h"
#include "util/str.h"

typedef struct ifn_jinja_ctx ifn_jinja_ctx;
typedef struct ifn_jinja_node ifn_jinja_node;
typedef struct ifn_jinja_frame ifn_jinja_frame;
typedef struct ifn_jinja_list ifn_jinja_list;
typedef struct ifn_jinja_dict ifn_jinja_dict;
typedef struct ifn_jinja_func ifn_jinja_func;
typedef struct ifn_jinja_loop ifn_jinja_loop;

typedef enum ifn_jinja_kind {
    IFN_JINJA_UNDEFINED, /* as.s: the message using it raises ("'x' is undefined") */
    IFN_JINJA_NONE,
    IFN_JINJA_BOOL,
    IFN_JINJA_INT,
    IFN_JINJA_FLOAT,
    IFN_JINJA_STRING,
    IFN_JINJA_LIST, /* also tuples and generators (see ifn_jinja_seq_kind) */
    IFN_JINJA_DICT, /* also namespace() objects */
    IFN_JINJA_FUNC,
    IFN_JINJA_LOOP,
} ifn_jinja_kind;

/* Value flags. SAFE marks Markup strings (|safe, macro output): `+` escapes the other side. */
enum { IFN_JINJA_FLAG_SAFE = 1 };

typedef struct ifn_jinja_value {
    ifn_jinja_kind kind;
    uint32_t flags;
    union {
        int b;
        int64_t i;
        double f;
        ifn_str s;
        ifn_jinja_list *list;
        ifn_jinja_dict *dict;
        ifn_jinja_func *func;
        ifn_jinja_loop *loop;
    } as;
} ifn_jinja_value;

typedef enum ifn_jinja_seq_kind {
    IFN_JINJA_SEQ_LIST,
    IFN_JINJA_SEQ_TUPLE,
    IFN_JINJA_SEQ_GENERATOR, /* result of map/select/...: iterable, but not JSON-serialisable */
} ifn_jinja_seq_kind;

struct ifn_jinja_list {
    ifn_jinja_value *items;
    int64_t len;
    int64_t cap;
    ifn_jinja_seq_kind seq_kind;
};

struct ifn_jinja_dict {
    ifn_jinja_value *keys;   /* [cap] */
    ifn_jinja_value *values; /* [cap] */
    int64_t len;
    int64_t cap;
    int is_namespace;
};

/* Arguments of a call: positional values, then keyword names and values. */
typedef struct ifn_jinja_args {
    const ifn_jinja_value *pos;
    int32_t n_pos;
    const ifn_str *kw_names;
    const ifn_jinja_value *kw_values;
    int32_t n_kw;
} ifn_jinja_args;

typedef ifn_status (*ifn_jinja_builtin_fn)(ifn_jinja_ctx *ctx, const ifn_jinja_args *args,
                                           ifn_jinja_value *out);

typedef enum ifn_jinja_func_kind {
    IFN_JINJA_FUNC_BUILTIN, /* a global such as range() or namespace() */
    IFN_JINJA_FUNC_MACRO,   /* {% macro %}, or the caller() of a {% call %} block */
    IFN_JINJA_FUNC_METHOD,  /* a bound method: "abc".upper, d.items, loop.cycle */
} ifn_jinja_func_kind;

struct ifn_jinja_func {
    ifn_jinja_func_kind kind;
    ifn_str name;
    ifn_jinja_builtin_fn builtin; /* BUILTIN */
    const ifn_jinja_node *macro;  /* MACRO: the N_MACRO or N_CALL_BLOCK node */
    ifn_jinja_frame *closure;     /* MACRO: the scope it was defined in */
    ifn_jinja_value self;         /* METHOD: the receiver */
};

/* The `loop` variable of a {% for %}: attributes are computed from the position. */
struct ifn_jinja_loop {
    const ifn_jinja_list *items;
    int64_t index0;
};

/* ---- constructors (cannot fail) ---------------------------------------------------------- */

static inline ifn_jinja_value ifn_jinja_undefined(ifn_str message) {
    ifn_jinja_value v = {.kind = IFN_JINJA_UNDEFINED};
    v.as.s = message;
    return v;
}
static inline ifn_jinja_value ifn_jinja_none(void) {
    ifn_jinja_value v = {.kind = IFN_JINJA_NONE};
    return v;
}
static inline ifn_jinja_value ifn_jinja_bool(int b) {
    ifn_jinja_value v = {.kind = IFN_JINJA_BOOL};
    v.as.b = b != 0;
    return v;
}
static inline ifn_jinja_value ifn_jinja_int(int64_t i) {
    ifn_jinja_value v = {.kind = IFN_JINJA_INT};
    v.as.i = i;
    return v;
}
static inline ifn_jinja_value ifn_jinja_float(double f) {
    ifn_jinja_value v = {.kind = IFN_JINJA_FLOAT};
    v.as.f = f;
    return v;
}
/* Borrows the bytes: they must outlive the render (arena, template or caller's JSON). */
static inline ifn_jinja_value ifn_jinja_string(ifn_str s) {
    ifn_jinja_value v = {.kind = IFN_JINJA_STRING};
    v.as.s = s;
    return v;
}
static inline ifn_jinja_value ifn_jinja_list_value(ifn_jinja_list *list) {
    ifn_jinja_value v = {.kind = IFN_JINJA_LIST};
    v.as.list = list;
    return v;
}
static inline ifn_jinja_value ifn_jinja_dict_value(ifn_jinja_dict *dict) {
    ifn_jinja_value v = {.kind = IFN_JINJA_DICT};
    v.as.dict = dict;
    return v;
}
static inline ifn_jinja_value ifn_jinja_func_value(ifn_jinja_func *func) {
    ifn_jinja_value v = {.kind = IFN_JINJA_FUNC};
    v.as.func = func;
    return v;
}

/* 1 for int, float and bool (Python's bool is an int). */
static inline int ifn_jinja_is_number(ifn_jinja_value v) {
    return v.kind == IFN_JINJA_INT || v.kind == IFN_JINJA_FLOAT || v.kind == IFN_JINJA_BOOL;
}
/* The value of an int or bool. */
static inline int64_t ifn_jinja_as_int(ifn_jinja_value v) {
    return v.kind == IFN_JINJA_BOOL ? v.as.b : v.as.i;
}
/* The value of any number as a double. */
static inline double ifn_jinja_as_float(ifn_jinja_value v) {
    return v.kind == IFN_JINJA_FLOAT ? v.as.f : (double)ifn_jinja_as_int(v);
}

/* ---- containers (NULL / IFN_E_NOMEM when the arena is exhausted) ------------------------- */

ifn_jinja_list *ifn_jinja_value_new_list(ifn_jinja_arena *arena, int64_t cap,
                                         ifn_jinja_seq_kind seq_kind);
ifn_status ifn_jinja_value_list_push(ifn_jinja_arena *arena, ifn_jinja_list *list,
                                     ifn_jinja_value item);
ifn_jinja_dict *ifn_jinja_value_new_dict(ifn_jinja_arena *arena, int64_t cap);
/* Inserts or replaces (an existing key keeps its position). */
ifn_status ifn_jinja_value_dict_set(ifn_jinja_arena *arena, ifn_jinja_dict *dict,
                                    ifn_jinja_value key, ifn_jinja_value value);
/* Appends without looking for an existing key (the caller knows keys are unique). */
ifn_status ifn_jinja_value_dict_append(ifn_jinja_arena *arena, ifn_jinja_dict *dict,
                                       ifn_jinja_value key, ifn_jinja_value value);
/* 1 and *out if found. Cannot fail. */
int ifn_jinja_value_dict_get(const ifn_jinja_dict *dict, ifn_jinja_value key, ifn_jinja_value *out);
int ifn_jinja_value_dict_get_str(const ifn_jinja_dict *dict, ifn_str key, ifn_jinja_value *out);

/* ---- semantics (cannot fail unless noted) ------------------------------------------------ */

/* Python truthiness. */
int ifn_jinja_value_truthy(ifn_jinja_value v);
/* Python ==: numbers by value, strings by bytes, lists and dicts element-wise. */
int ifn_jinja_value_equal(ifn_jinja_value a, ifn_jinja_value b);
/* Python ordering for <, >, sort: numbers, strings (by code point), lists. *out_cmp is <0, 0
 * or >0. IFN_E_INVALID ("TypeError: '<' not supported ...") for other pairs. */
ifn_status ifn_jinja_value_compare(ifn_jinja_value a, ifn_jinja_value b, const char *op,
                                   int *out_cmp);
/* Python type name for messages: "str", "int", "dict", "NoneType", "Undefined", ... */
const char *ifn_jinja_value_type_name(ifn_jinja_value v);
/* Number of items of a list/dict or code points of a string; -1 for other kinds. */
int64_t ifn_jinja_value_length(ifn_jinja_value v);

/* ---- UTF-8 code points (strings index and slice by code point, as in Python) ------------- */

/* Code points in s (an invalid byte counts as one). */
int64_t ifn_jinja_value_cp_count(ifn_str s);
/* Byte offset of code point `index` (0..count); s.len when index is past the end. */
size_t ifn_jinja_value_cp_offset(ifn_str s, int64_t index);

#endif
