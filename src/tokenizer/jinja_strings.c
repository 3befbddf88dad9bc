/* Python string semantics over UTF-8 views. Case mapping is per code point (utf8proc's
 * simple mappings), so the rare one-to-many mappings such as German sharp s stay unchanged
 * where Python would expand them. */
#include "tokenizer/jinja_strings.h"

#include <string.h>
#include <utf8proc.h>

#include "tokenizer/jinja_interp.h"
#include "tokenizer/jinja_text.h"
#include "util/utf8.h"

size_t ifn_jinja_strings_next_cp(ifn_str s, size_t i, uint32_t *out_cp) {
    unsigned char c = (unsigned char)s.ptr[i];
    if (c < 0x80) {
        *out_cp = c;
        return 1;
    }
    int n = ifn_utf8_decode(s.ptr + i, s.len - i, out_cp);
    if (n > 0) return (size_t)n;
    *out_cp = c;
    return 1;
}

int ifn_jinja_strings_is_space(uint32_t cp) {
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x1f)) return 1;
    if (cp < 0x80) return 0;
    return cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

static int is_cased(uint32_t cp) {
    if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
           cat == UTF8PROC_CATEGORY_LT;
}

/* Case of one code point: 'u' upper, 't' title (first letter of a word), 'l' lower. */
static uint32_t map_cp(uint32_t cp, char to) {
    if (cp < 0x80) {
        if (to != 'l' && cp >= 'a' && cp <= 'z') return cp - 32;
        if (to == 'l' && cp >= 'A' && cp <= 'Z') return cp + 32;
        return cp;
    }
    if (cp > 0x10ffff) return cp;
    utf8proc_int32_t c = (utf8proc_int32_t)cp;
    return (uint32_t)(to == 'u'   ? utf8proc_toupper(c)
                      : to == 't' ? utf8proc_totitle(c)
                                  : utf8proc_tolower(c));
}

/* Upper-case mappings to several letters (Unicode SpecialCasing) that Python applies. */
static const char *special_upper(uint32_t cp, int title) {
    static const struct {
        uint32_t cp;
        const char *upper;
        const char *title;
    } table[] = {
        {0xdf, "SS", "Ss"},     {0xfb00, "FF", "Ff"},   {0xfb01, "FI", "Fi"}, {0xfb02, "FL", "Fl"},
        {0xfb03, "FFI", "Ffi"}, {0xfb04, "FFL", "Ffl"}, {0xfb05, "ST", "St"}, {0xfb06, "ST", "St"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].cp == cp) return title ? table[i].title : table[i].upper;
    return NULL;
}

static int starts_filter_word(uint32_t prev) {
    return prev == '-' || prev == '(' || prev == '{' || prev == '[' || prev == '<' ||
           ifn_jinja_strings_is_space(prev);
}

/* Whether the code point at this position becomes upper case under `mode`. */
static int wants_upper(ifn_jinja_case mode, int is_first, uint32_t prev) {
    switch (mode) {
    case IFN_JINJA_CASE_UPPER:
        return 1;
    case IFN_JINJA_CASE_LOWER:
        return 0;
    case IFN_JINJA_CASE_TITLE:
        return is_first || !is_cased(prev);
    case IFN_JINJA_CASE_CAPITALIZE:
        return is_first;
    case IFN_JINJA_CASE_TITLE_FILTER:
        return is_first || starts_filter_word(prev);
    }
    return 0;
}

ifn_status ifn_jinja_strings_case(ifn_jinja_ctx *ctx, ifn_str s, ifn_jinja_case mode,
                                  ifn_jinja_value *out) {
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, 0);
    uint32_t prev = 0;
    for (size_t i = 0; i < s.len;) {
        uint32_t cp;
        size_t n = ifn_jinja_strings_next_cp(s, i, &cp);
        ifn_status st;
        if (n == 1 && cp >= 0x80) { /* invalid byte: keep it */
            st = ifn_jinja_text_append(&buf, s.ptr + i, 1);
        } else {
            char to = 'l';
            if (wants_upper(mode, i == 0, prev))
                to =
                    mode == IFN_JINJA_CASE_UPPER || mode == IFN_JINJA_CASE_TITLE_FILTER ? 'u' : 't';
            const char *special = to == 'l' ? NULL : special_upper(cp, to == 't');
            char enc[4];
            int len = special ? 0 : ifn_utf8_encode(map_cp(cp, to), enc);
            st = special ? ifn_jinja_text_append_cstr(&buf, special)
                         : ifn_jinja_text_append(&buf, enc, (size_t)len);
        }
        if (st != IFN_OK) return st;
        prev = cp;
        i += n;
    }
    *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    return IFN_OK;
}

static int in_chars(uint32_t cp, const ifn_str *chars) {
    if (!chars) return ifn_jinja_strings_is_space(cp);
    for (size_t i = 0; i < chars->len;) {
        uint32_t c;
        i += ifn_jinja_strings_next_cp(*chars, i, &c);
        if (c == cp) return 1;
    }
    return 0;
}

/* Start of the code point that ends just before byte `end`. */
static size_t prev_cp_start(ifn_str s, size_t end) {
    size_t i = end - 1;
    while (i > 0 && end - i < 4 && ((unsigned char)s.ptr[i] & 0xc0) == 0x80)
        i--;
    return i;
}

ifn_str ifn_jinja_strings_strip(ifn_str s, int sides, const ifn_str *chars) {
    size_t a = 0, b = s.len;
    while ((sides & IFN_JINJA_STRIP_LEFT) && a < b) {
        uint32_t cp;
        size_t n = ifn_jinja_strings_next_cp(s, a, &cp);
        if (!in_chars(cp, chars)) break;
        a += n;
    }
    while ((sides & IFN_JINJA_STRIP_RIGHT) && b > a) {
        size_t start = prev_cp_start(s, b);
        uint32_t cp;
        ifn_jinja_strings_next_cp(s, start, &cp);
        if (!in_chars(cp, chars)) break;
        b = start;
    }
    ifn_str r = {s.ptr + a, b - a};
    return r;
}

/* ---- split ------------------------------------------------------------------------------- */

typedef struct piece {
    size_t start;
    size_t end;
} piece;

/* Pieces of a full split: at every `sep`, or around runs of whitespace (sep NULL). */
static ifn_status find_pieces(ifn_jinja_ctx *ctx, ifn_str s, const ifn_str *sep, piece **out,
                              int64_t *out_n) {
    piece *pieces = ifn_jinja_arena_array(ctx->arena, s.len + 1, sizeof *pieces);
    if (!pieces) return IFN_E_NOMEM;
    int64_t n = 0;
    if (sep) {
        size_t start = 0;
        for (size_t i = 0; i + sep->len <= s.len;) {
            if (memcmp(s.ptr + i, sep->ptr, sep->len) == 0) {
                pieces[n++] = (piece){start, i};
                i += sep->len;
                start = i;
            } else {
                i++;
            }
        }
        pieces[n++] = (piece){start, s.len};
    } else {
        size_t i = 0;
        while (i < s.len) {
            uint32_t cp;
            size_t len = ifn_jinja_strings_next_cp(s, i, &cp);
            if (ifn_jinja_strings_is_space(cp)) {
                i += len;
                continue;
            }
            size_t start = i;
            while (i < s.len && !ifn_jinja_strings_is_space(cp)) {
                i += len;
                if (i < s.len) len = ifn_jinja_strings_next_cp(s, i, &cp);
            }
            pieces[n++] = (piece){start, i};
        }
    }
    *out = pieces;
    *out_n = n;
    return IFN_OK;
}

ifn_status ifn_jinja_strings_split(ifn_jinja_ctx *ctx, ifn_str s, const ifn_str *sep,
                                   int64_t maxsplit, int from_right, ifn_jinja_value *out) {
    piece *pieces = NULL;
    int64_t n = 0;
    if (sep && sep->len == 0) return ifn_jinja_interp_error(ctx, "ValueError: empty separator");
    ifn_status st = find_pieces(ctx, s, sep, &pieces, &n);
    if (st != IFN_OK) return st;
    if (maxsplit >= 0 && n > maxsplit + 1) {
        /* Merge the pieces beyond maxsplit back into one (keeping the text between them). */
        if (from_right) {
            int64_t merged = n - maxsplit;
            pieces[merged - 1].start = 0;
            memmove(pieces, pieces + merged - 1, (size_t)(maxsplit + 1) * sizeof *pieces);
        } else {
            pieces[maxsplit].end = s.len;
        }
        n = maxsplit + 1;
    }
    ifn_jinja_list *list = ifn_jinja_value_new_list(ctx->arena, n, IFN_JINJA_SEQ_LIST);
    if (!list) return IFN_E_NOMEM;
    for (int64_t i = 0; i < n; i++) {
        ifn_str p = {s.ptr + pieces[i].start, pieces[i].end - pieces[i].start};
        list->items[list->len++] = ifn_jinja_string(p);
    }
    *out = ifn_jinja_list_value(list);
    return IFN_OK;
}

static size_t line_break_len(ifn_str s, size_t i) {
    unsigned char c = (unsigned char)s.ptr[i];
    if (c == '\r') return i + 1 < s.len && s.ptr[i + 1] == '\n' ? 2 : 1;
    if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e)) return 1;
    uint32_t cp;
    size_t n = ifn_jinja_strings_next_cp(s, i, &cp);
    return cp == 0x85 || cp == 0x2028 || cp == 0x2029 ? n : 0;
}

ifn_status ifn_jinja_strings_splitlines(ifn_jinja_ctx *ctx, ifn_str s, ifn_jinja_value *out) {
    ifn_jinja_list *list = ifn_jinja_value_new_list(ctx->arena, 4, IFN_JINJA_SEQ_LIST);
    if (!list) return IFN_E_NOMEM;
    size_t start = 0;
    for (size_t i = 0; i < s.len;) {
        size_t n = line_break_len(s, i);
        if (n == 0) {
            i++;
            continue;
        }
        ifn_str line = {s.ptr + start, i - start};
        ifn_status st = ifn_jinja_value_list_push(ctx->arena, list, ifn_jinja_string(line));
        if (st != IFN_OK) return st;
        i += n;
        start = i;
    }
    if (start < s.len) {
        ifn_str line = {s.ptr + start, s.len - start};
        ifn_status st = ifn_jinja_value_list_push(ctx->arena, list, ifn_jinja_string(line));
        if (st != IFN_OK) return st;
    }
    *out = ifn_jinja_list_value(list);
    return IFN_OK;
}

/* ---- replace, find, count, join ---------------------------------------------------------- */

ifn_status ifn_jinja_strings_replace(ifn_jinja_ctx *ctx, ifn_str s, ifn_str old, ifn_str repl,
                                     int64_t count, ifn_jinja_value *out) {
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    ifn_status st = IFN_OK;
    size_t i = 0;
    while (i <= s.len && st == IFN_OK && count != 0) {
        if (old.len == 0) { /* "" matches before every code point and at the end */
            st = ifn_jinja_text_append(&buf, repl.ptr, repl.len);
            uint32_t cp;
            size_t n = i < s.len ? ifn_jinja_strings_next_cp(s, i, &cp) : 1;
            if (st == IFN_OK && i < s.len) st = ifn_jinja_text_append(&buf, s.ptr + i, n);
            i += n;
            count--;
            continue;
        }
        if (i + old.len <= s.len && memcmp(s.ptr + i, old.ptr, old.len) == 0) {
            st = ifn_jinja_text_append(&buf, repl.ptr, repl.len);
            i += old.len;
            count--;
        } else if (i < s.len) {
            st = ifn_jinja_text_append(&buf, s.ptr + i, 1);
            i++;
        } else {
            break;
        }
    }
    if (st == IFN_OK && i < s.len) st = ifn_jinja_text_append(&buf, s.ptr + i, s.len - i);
    if (st == IFN_OK) *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    return st;
}

int64_t ifn_jinja_strings_find(ifn_str s, ifn_str sub, int from_right) {
    if (sub.len > s.len) return -1;
    size_t last = s.len - sub.len;
    for (size_t k = 0; k <= last; k++) {
        size_t i = from_right ? last - k : k;
        if (sub.len == 0 || memcmp(s.ptr + i, sub.ptr, sub.len) == 0) {
            ifn_str before = {s.ptr, i};
            return ifn_jinja_value_cp_count(before);
        }
    }
    return -1;
}

int64_t ifn_jinja_strings_count(ifn_str s, ifn_str sub) {
    if (sub.len == 0) return ifn_jinja_value_cp_count(s) + 1;
    int64_t n = 0;
    for (size_t i = 0; i + sub.len <= s.len;) {
        if (memcmp(s.ptr + i, sub.ptr, sub.len) == 0) {
            n++;
            i += sub.len;
        } else {
            i++;
        }
    }
    return n;
}

ifn_status ifn_jinja_strings_join(ifn_jinja_ctx *ctx, ifn_str sep, const ifn_jinja_list *items,
                                  int strict, ifn_jinja_value *out) {
    ifn_jinja_buf buf;
    ifn_jinja_text_init(&buf, ctx->arena, ctx->max_output_bytes);
    ifn_status st = IFN_OK;
    for (int64_t i = 0; i < items->len && st == IFN_OK; i++) {
        ifn_jinja_value item = items->items[i];
        if (strict && item.kind != IFN_JINJA_STRING)
            return ifn_jinja_interp_error(ctx,
                                          "TypeError: sequence item %lld: expected str instance, "
                                          "%s found",
                                          (long long)i, ifn_jinja_value_type_name(item));
        if (i > 0) st = ifn_jinja_text_append(&buf, sep.ptr, sep.len);
        if (st == IFN_OK) st = ifn_jinja_text_append_value(&buf, item);
    }
    if (st == IFN_OK) *out = ifn_jinja_string(ifn_jinja_text_view(&buf));
    return st;
}
