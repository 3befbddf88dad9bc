/* Template lexer. Whitespace control follows Jinja2 with trim_blocks and lstrip_blocks on:
 *  - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`, `-#}` all after;
 *  - a block or comment tag alone on its line (only spaces/tabs before it) loses that
 *    indentation unless written `{%+`;
 *  - the first newline after a block or comment tag is dropped unless written `+%}`.
 * Inside a tag, `}}` and `%}` end it only outside brackets, so {{ {'a': {}} }} works. */
#include "tokenizer/jinja_lexer.h"

#include <stdlib.h>
#include <string.h>

#include "util/status.h"
#include "util/utf8.h"

typedef struct lexer {
    ifn_jinja_arena *arena;
    const char *src;
    size_t len;
    size_t pos;
    int32_t line;
    int line_starting; /* the previous tag ended a line, so text starts at a line start */
    ifn_jinja_token *tokens;
    size_t n_tokens;
    size_t cap_tokens;
} lexer;

static ifn_status syntax_error(const lexer *lx, const char *what) {
    return ifn_fail(IFN_E_FORMAT, "template syntax error at line %d: %s", (int)lx->line, what);
}

static int is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

static ifn_status push_token(lexer *lx, ifn_jinja_tok_type type, ifn_str text, int32_t line,
                             ifn_jinja_token **out) {
    if (lx->n_tokens == lx->cap_tokens) {
        size_t cap = lx->cap_tokens ? lx->cap_tokens * 2 : 256;
        ifn_jinja_token *tokens = ifn_jinja_arena_array(lx->arena, cap, sizeof *tokens);
        if (!tokens) return IFN_E_NOMEM;
        if (lx->n_tokens) memcpy(tokens, lx->tokens, lx->n_tokens * sizeof *tokens);
        lx->tokens = tokens;
        lx->cap_tokens = cap;
    }
    ifn_jinja_token *t = &lx->tokens[lx->n_tokens++];
    memset(t, 0, sizeof *t);
    t->type = type;
    t->text = text;
    t->line = line;
    if (out) *out = t;
    return IFN_OK;
}

static void advance_to(lexer *lx, size_t pos) {
    for (size_t i = lx->pos; i < pos; i++)
        lx->line += lx->src[i] == '\n';
    lx->pos = pos;
}

/* ---- text between tags ------------------------------------------------------------------- */

/* End of the text [start, tag) after the whitespace rules of the tag that follows it. */
static size_t text_end_before_tag(const lexer *lx, size_t start, size_t tag, char kind,
                                  char modifier) {
    size_t end = tag;
    if (modifier == '-') {
        while (end > start && is_space(lx->src[end - 1]))
            end--;
        return end;
    }
    if (kind == '{' || modifier == '+') return end;
    /* lstrip_blocks: drop the indentation of a block or comment tag that starts its line. */
    size_t line_start = end;
    while (line_start > start && lx->src[line_start - 1] != '\n')
        line_start--;
    if (line_start == start && !lx->line_starting) return end;
    for (size_t i = line_start; i < end; i++)
        if (!is_space(lx->src[i])) return end;
    return line_start;
}

/* Position of the next "{{", "{%" or "{#" at or after `from`, or len. */
static size_t find_tag(const lexer *lx, size_t from) {
    for (size_t i = from; i + 1 < lx->len; i++) {
        if (lx->src[i] != '{') continue;
        char c = lx->src[i + 1];
        if (c == '{' || c == '%' || c == '#') return i;
    }
    return lx->len;
}

static ifn_status emit_text(lexer *lx, size_t start, size_t end) {
    if (end <= start) return IFN_OK;
    ifn_str text = {lx->src + start, end - start};
    return push_token(lx, IFN_JINJA_TOK_TEXT, text, lx->line, NULL);
}

/* Whitespace rules after a tag that ended just before lx->pos: `-` strips all whitespace,
 * a block or comment drops one newline (trim_blocks) unless written with `+`. */
static void skip_after_tag(lexer *lx, char modifier, int is_block) {
    size_t p = lx->pos;
    if (modifier == '-') {
        while (p < lx->len && is_space(lx->src[p]))
            p++;
    } else if (is_block && modifier != '+' && p < lx->len && lx->src[p] == '\n') {
        p++;
    }
    lx->line_starting = p > lx->pos && lx->src[p - 1] == '\n';
    advance_to(lx, p);
}

/* ---- comments and raw blocks ------------------------------------------------------------- */

static ifn_status lex_comment(lexer *lx) {
    const char *end = NULL;
    for (size_t i = lx->pos + 2; i + 1 < lx->len; i++)
        if (lx->src[i] == '#' && lx->src[i + 1] == '}') {
            end = lx->src + i;
            break;
        }
    if (!end) return syntax_error(lx, "missing end of comment tag '#}'");
    size_t close = (size_t)(end - lx->src);
    char modifier = close > lx->pos + 2 && lx->src[close - 1] == '-' ? '-' : 0;
    advance_to(lx, close + 2);
    skip_after_tag(lx, modifier, 1);
    return IFN_OK;
}

/* If a block tag at `tag` reads {% raw %} or {% endraw %} (with modifiers), the position
 * after its word and the closing modifier; 0 otherwise. */
static size_t match_raw_tag(const lexer *lx, size_t tag, const char *word, char *out_close_mod) {
    size_t p = tag + 2, n = strlen(word);
    if (p < lx->len && (lx->src[p] == '-' || lx->src[p] == '+')) p++;
    while (p < lx->len && is_space(lx->src[p]))
        p++;
    if (lx->len - p < n || memcmp(lx->src + p, word, n) != 0) return 0;
    p += n;
    while (p < lx->len && is_space(lx->src[p]))
        p++;
    *out_close_mod = 0;
    if (p < lx->len && (lx->src[p] == '-' || lx->src[p] == '+')) *out_close_mod = lx->src[p++];
    if (lx->len - p < 2 || lx->src[p] != '%' || lx->src[p + 1] != '}') return 0;
    return p + 2;
}

static ifn_status lex_raw(lexer *lx, size_t after_open, char open_mod) {
    advance_to(lx, after_open);
    skip_after_tag(lx, open_mod, 0); /* Jinja2 applies no trim_blocks after {% raw %} */
    size_t body = lx->pos;
    for (size_t t = find_tag(lx, body); t < lx->len; t = find_tag(lx, t + 1)) {
        char close_mod;
        size_t after = lx->src[t + 1] == '%' ? match_raw_tag(lx, t, "endraw", &close_mod) : 0;
        if (!after) continue;
        char mod = lx->src[t + 2] == '-' || lx->src[t + 2] == '+' ? lx->src[t + 2] : 0;
        ifn_status st = emit_text(lx, body, text_end_before_tag(lx, body, t, '%', mod));
        if (st != IFN_OK) return st;
        advance_to(lx, after);
        skip_after_tag(lx, close_mod, 1);
        return IFN_OK;
    }
    return syntax_error(lx, "missing {% endraw %}");
}

/* ---- tokens inside tags ------------------------------------------------------------------ */

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes the escape after a backslash at s[0] (Python's unicode-escape rules) into out;
 * returns the bytes consumed after the backslash, or 0 for a malformed escape. */
static size_t unescape_one(const char *s, size_t len, char *out, size_t *out_n) {
    static const char simple_from[] = "\\'\"abfnrtv";
    static const char simple_to[] = "\\'\"\a\b\f\n\r\t\v";
    const char *hit = len ? strchr(simple_from, s[0]) : NULL;
    if (hit && s[0]) {
        out[0] = simple_to[hit - simple_from];
        *out_n = 1;
        return 1;
    }
    if (len && s[0] == '\n') {
        *out_n = 0; /* line continuation */
        return 1;
    }
    size_t digits = 0, used = 1;
    int base = 16;
    if (len && s[0] == 'x')
        digits = 2;
    else if (len && s[0] == 'u')
        digits = 4;
    else if (len && s[0] == 'U')
        digits = 8;
    else if (len && s[0] >= '0' && s[0] <= '7')
        base = 8, digits = 3, used = 0;
    else {
        out[0] = '\\'; /* unknown escapes stay as written */
        *out_n = 1;
        return 0;
    }
    uint32_t cp = 0;
    size_t i = 0;
    for (; i < digits && used + i < len; i++) {
        int d = hex_value(s[used + i]);
        if (d < 0 || d >= base) break;
        cp = cp * (uint32_t)base + (uint32_t)d;
    }
    if ((base == 16 && i != digits) || (base == 8 && i == 0) || cp > 0x10ffff) return 0;
    int n = ifn_utf8_encode(cp, out);
    if (n <= 0) return 0;
    *out_n = (size_t)n;
    return used + i;
}

static ifn_status lex_string(lexer *lx) {
    char quote = lx->src[lx->pos];
    size_t p = lx->pos + 1;
    while (p < lx->len && lx->src[p] != quote)
        p += lx->src[p] == '\\' ? 2 : 1;
    if (p >= lx->len) return syntax_error(lx, "unterminated string literal");
    const char *s = lx->src + lx->pos + 1;
    size_t n = (size_t)(lx->src + p - s);
    char *value = ifn_jinja_arena_alloc(lx->arena, n + 1);
    if (!value) return IFN_E_NOMEM;
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') {
            value[out++] = s[i++];
            continue;
        }
        size_t produced = 0;
        size_t used = unescape_one(s + i + 1, n - i - 1, value + out, &produced);
        if (used == 0 && !(produced == 1 && value[out] == '\\'))
            return syntax_error(lx, "malformed escape in string literal");
        out += produced;
        i += 1 + used;
    }
    ifn_str text = {value, out};
    ifn_status st = push_token(lx, IFN_JINJA_TOK_STRING, text, lx->line, NULL);
    if (st == IFN_OK) advance_to(lx, p + 1);
    return st;
}

static size_t scan_digits(const lexer *lx, size_t p) {
    while (p < lx->len && (is_digit(lx->src[p]) ||
                           (lx->src[p] == '_' && p + 1 < lx->len && is_digit(lx->src[p + 1]))))
        p++;
    return p;
}

static ifn_status lex_number(lexer *lx) {
    size_t start = lx->pos, p = scan_digits(lx, start);
    int is_float = 0;
    if (p + 1 < lx->len && lx->src[p] == '.' && is_digit(lx->src[p + 1])) {
        p = scan_digits(lx, p + 1);
        is_float = 1;
    }
    if (p < lx->len && (lx->src[p] == 'e' || lx->src[p] == 'E')) {
        size_t q = p + 1;
        if (q < lx->len && (lx->src[q] == '+' || lx->src[q] == '-')) q++;
        if (q < lx->len && is_digit(lx->src[q])) p = scan_digits(lx, q), is_float = 1;
    }
    char digits[64];
    size_t n = 0;
    for (size_t i = start; i < p && n < sizeof digits - 1; i++)
        if (lx->src[i] != '_') digits[n++] = lx->src[i];
    digits[n] = '\0';
    ifn_jinja_token *t = NULL;
    ifn_str text = {lx->src + start, p - start};
    ifn_status st =
        push_token(lx, is_float ? IFN_JINJA_TOK_FLOAT : IFN_JINJA_TOK_INT, text, lx->line, &t);
    if (st != IFN_OK) return st;
    if (is_float) {
        t->float_value = strtod(digits, NULL);
    } else {
        char *end = NULL;
        unsigned long long v = strtoull(digits, &end, 10);
        if (n >= sizeof digits - 1 || v > INT64_MAX)
            return syntax_error(lx, "integer literal too large");
        t->int_value = (int64_t)v;
    }
    advance_to(lx, p);
    return IFN_OK;
}

static ifn_status lex_operator(lexer *lx, int *depth) {
    static const char *const two[] = {"**", "//", "==", "!=", "<=", ">="};
    const char *s = lx->src + lx->pos;
    size_t n = 0;
    for (size_t i = 0; i < sizeof two / sizeof two[0] && !n; i++)
        if (lx->len - lx->pos >= 2 && s[0] == two[i][0] && s[1] == two[i][1]) n = 2;
    if (!n && strchr("+-*/%~()[]{},.:|=<>", s[0]) && s[0]) n = 1;
    if (!n) return syntax_error(lx, "unexpected character in tag");
    if (n == 1 && (s[0] == '(' || s[0] == '[' || s[0] == '{')) (*depth)++;
    if (n == 1 && (s[0] == ')' || s[0] == ']' || s[0] == '}') && *depth > 0) (*depth)--;
    ifn_str text = {s, n};
    ifn_status st = push_token(lx, IFN_JINJA_TOK_OP, text, lx->line, NULL);
    if (st == IFN_OK) advance_to(lx, lx->pos + n);
    return st;
}

/* If a tag end ("%}" or "}}", possibly with '-' or '+') starts at lx->pos, its length and
 * modifier; 0 otherwise. */
static size_t match_tag_end(const lexer *lx, char kind, char *out_mod) {
    const char *s = lx->src + lx->pos;
    size_t left = lx->len - lx->pos;
    char closer = kind == '%' ? '%' : '}';
    *out_mod = 0;
    if (left >= 3 && (s[0] == '-' || (s[0] == '+' && kind == '%')) && s[1] == closer &&
        s[2] == '}') {
        *out_mod = s[0];
        return 3;
    }
    return left >= 2 && s[0] == closer && s[1] == '}' ? 2 : 0;
}

/* Tokens of one {{ }} or {% %} tag; lx->pos is just after the opening "{{"/"{%" (and its
 * modifier). */
static ifn_status lex_tag(lexer *lx, char kind) {
    int depth = 0;
    for (;;) {
        while (lx->pos < lx->len && is_space(lx->src[lx->pos]))
            advance_to(lx, lx->pos + 1);
        if (lx->pos >= lx->len)
            return syntax_error(lx, kind == '%' ? "missing '%}' at end of template"
                                                : "missing '}}' at end of template");
        char mod;
        size_t end_len = depth == 0 ? match_tag_end(lx, kind, &mod) : 0;
        if (end_len) {
            ifn_str text = {lx->src + lx->pos, end_len};
            ifn_status st =
                push_token(lx, kind == '%' ? IFN_JINJA_TOK_BLOCK_END : IFN_JINJA_TOK_VAR_END, text,
                           lx->line, NULL);
            if (st != IFN_OK) return st;
            advance_to(lx, lx->pos + end_len);
            skip_after_tag(lx, mod, kind == '%');
            return IFN_OK;
        }
        char c = lx->src[lx->pos];
        ifn_status st;
        if (is_name_start(c) || (unsigned char)c >= 0x80) {
            size_t p = lx->pos;
            while (p < lx->len && (is_name_start(lx->src[p]) || is_digit(lx->src[p]) ||
                                   (unsigned char)lx->src[p] >= 0x80))
                p++;
            ifn_str text = {lx->src + lx->pos, p - lx->pos};
            st = push_token(lx, IFN_JINJA_TOK_NAME, text, lx->line, NULL);
            if (st == IFN_OK) advance_to(lx, p);
        } else if (is_digit(c)) {
            st = lex_number(lx);
        } else if (c == '\'' || c == '"') {
            st = lex_string(lx);
        } else {
            st = lex_operator(lx, &depth);
        }
        if (st != IFN_OK) return st;
    }
}

/* ---- driver ------------------------------------------------------------------------------ */

/* Copies src with "\r\n" and "\r" turned into "\n" and one trailing newline dropped, as
 * Jinja2 does (keep_trailing_newline=False). */
static ifn_status normalize_source(lexer *lx, const char *src, size_t len) {
    char *out = ifn_jinja_arena_alloc(lx->arena, len + 1);
    if (!out) return IFN_E_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            out[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else {
            out[n++] = src[i];
        }
    }
    if (n > 0 && out[n - 1] == '\n') n--;
    lx->src = out;
    lx->len = n;
    return IFN_OK;
}

static ifn_status lex_one_tag(lexer *lx, size_t tag) {
    char kind = lx->src[tag + 1];
    char mod = tag + 2 < lx->len && (lx->src[tag + 2] == '-' || lx->src[tag + 2] == '+')
                   ? lx->src[tag + 2]
                   : 0;
    if (kind == '{' && mod == '+') mod = 0; /* {{+ is not a modifier */
    if (kind == '#') return lex_comment(lx);
    char close_mod;
    size_t after_raw = kind == '%' ? match_raw_tag(lx, tag, "raw", &close_mod) : 0;
    if (after_raw) return lex_raw(lx, after_raw, close_mod);
    ifn_str text = {lx->src + tag, mod ? 3u : 2u};
    ifn_status st =
        push_token(lx, kind == '%' ? IFN_JINJA_TOK_BLOCK_BEGIN : IFN_JINJA_TOK_VAR_BEGIN, text,
                   lx->line, NULL);
    if (st != IFN_OK) return st;
    advance_to(lx, tag + text.len);
    return lex_tag(lx, kind);
}

ifn_status ifn_jinja_lexer_run(ifn_jinja_arena *arena, const char *src, size_t len,
                               ifn_jinja_token **out_tokens, size_t *out_count) {
    lexer lx = {.arena = arena, .line = 1, .line_starting = 1};
    ifn_status st = normalize_source(&lx, src, len);
    while (st == IFN_OK && lx.pos < lx.len) {
        size_t tag = find_tag(&lx, lx.pos);
        if (tag == lx.len) {
            st = emit_text(&lx, lx.pos, lx.len);
            advance_to(&lx, lx.len);
            break;
        }
        char kind = lx.src[tag + 1];
        char mod = tag + 2 < lx.len ? lx.src[tag + 2] : 0;
        st = emit_text(&lx, lx.pos, text_end_before_tag(&lx, lx.pos, tag, kind, mod));
        if (st != IFN_OK) break;
        advance_to(&lx, tag);
        st = lex_one_tag(&lx, tag);
    }
    if (st == IFN_OK) st = push_token(&lx, IFN_JINJA_TOK_EOF, ifn_str_from_cstr(""), lx.line, NULL);
    if (st != IFN_OK) return st;
    *out_tokens = lx.tokens;
    *out_count = lx.n_tokens;
    return IFN_OK;
}
