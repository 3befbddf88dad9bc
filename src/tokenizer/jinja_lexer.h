/* Lexer of the chat-template language: splits a template into text and tag tokens, applying
 * the whitespace rules Hugging Face configures (trim_blocks, lstrip_blocks, `-`/`+` tag
 * modifiers, one trailing newline dropped, newlines normalised to "\n"), and tokenises the
 * expressions inside {{ }} and {% %}. {# #} comments and {% raw %} bodies are resolved here. */
#ifndef IFN_TOKENIZER_JINJA_LEXER_H
#define IFN_TOKENIZER_JINJA_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer/jinja_arena.h"
#include "util/str.h"

typedef enum ifn_jinja_tok_type {
    IFN_JINJA_TOK_TEXT,        /* literal output */
    IFN_JINJA_TOK_VAR_BEGIN,   /* {{ */
    IFN_JINJA_TOK_VAR_END,     /* }} */
    IFN_JINJA_TOK_BLOCK_BEGIN, /* {% */
    IFN_JINJA_TOK_BLOCK_END,   /* %} */
    IFN_JINJA_TOK_NAME,
    IFN_JINJA_TOK_STRING, /* text holds the unescaped value */
    IFN_JINJA_TOK_INT,
    IFN_JINJA_TOK_FLOAT,
    IFN_JINJA_TOK_OP, /* text holds the operator: "+", "//", "==", "(", ... */
    IFN_JINJA_TOK_EOF,
} ifn_jinja_tok_type;

typedef struct ifn_jinja_token {
    ifn_jinja_tok_type type;
    int32_t line; /* 1-based line of the token's first byte */
    ifn_str text;
    int64_t int_value;
    double float_value;
} ifn_jinja_token;

/* Tokenises src[0..len). Tokens and their texts live in `arena`; the last token is EOF.
 * IFN_E_FORMAT with "syntax error at line N: ..." for unterminated tags, strings or comments
 * and characters that start no token; IFN_E_NOMEM when the arena is exhausted. */
ifn_status ifn_jinja_lexer_run(ifn_jinja_arena *arena, const char *src, size_t len,
                               ifn_jinja_token **out_tokens, size_t *out_count);

#endif
