/* Python str operations shared by filters and methods: case mapping (per code point, through
 * utf8proc), strip, split, replace, find/count and join. Results are views into the input
 * when possible, otherwise arena strings. */
#ifndef IFN_TOKENIZER_JINJA_STRINGS_H
#define IFN_TOKENIZER_JINJA_STRINGS_H

#include "tokenizer/jinja_interp.h"

typedef enum ifn_jinja_case {
    IFN_JINJA_CASE_UPPER,
    IFN_JINJA_CASE_LOWER,
    IFN_JINJA_CASE_TITLE,        /* str.title(): a letter after a non-letter is upper */
    IFN_JINJA_CASE_CAPITALIZE,   /* str.capitalize() */
    IFN_JINJA_CASE_TITLE_FILTER, /* Jinja's |title: words split at whitespace - ( { [ < */
} ifn_jinja_case;

ifn_status ifn_jinja_strings_case(ifn_jinja_ctx *ctx, ifn_str s, ifn_jinja_case mode,
                                  ifn_jinja_value *out);

enum { IFN_JINJA_STRIP_LEFT = 1, IFN_JINJA_STRIP_RIGHT = 2, IFN_JINJA_STRIP_BOTH = 3 };
/* str.strip/lstrip/rstrip: `chars` NULL strips Unicode whitespace. Cannot fail. */
ifn_str ifn_jinja_strings_strip(ifn_str s, int sides, const ifn_str *chars);

/* str.split(sep, maxsplit) (sep NULL: runs of whitespace); from_right for rsplit. */
ifn_status ifn_jinja_strings_split(ifn_jinja_ctx *ctx, ifn_str s, const ifn_str *sep,
                                   int64_t maxsplit, int from_right, ifn_jinja_value *out);
/* str.splitlines(). */
ifn_status ifn_jinja_strings_splitlines(ifn_jinja_ctx *ctx, ifn_str s, ifn_jinja_value *out);
/* str.replace(old, new, count); count < 0 replaces all. */
ifn_status ifn_jinja_strings_replace(ifn_jinja_ctx *ctx, ifn_str s, ifn_str old, ifn_str repl,
                                     int64_t count, ifn_jinja_value *out);
/* str.find (code point index or -1) and str.count. Cannot fail. */
int64_t ifn_jinja_strings_find(ifn_str s, ifn_str sub, int from_right);
int64_t ifn_jinja_strings_count(ifn_str s, ifn_str sub);

/* sep.join(items): with `strict` (the str method) items must be strings; otherwise (the
 * |join filter) each is converted with str(). */
ifn_status ifn_jinja_strings_join(ifn_jinja_ctx *ctx, ifn_str sep, const ifn_jinja_list *items,
                                  int strict, ifn_jinja_value *out);

/* Python str.isspace for one code point. */
int ifn_jinja_strings_is_space(uint32_t cp);
/* Decodes the code point at s[i] (an invalid byte decodes as itself); returns its length. */
size_t ifn_jinja_strings_next_cp(ifn_str s, size_t i, uint32_t *out_cp);

#endif
