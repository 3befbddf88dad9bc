/* Parser of the chat-template language: turns lexer tokens into the syntax tree of
 * jinja_ast.h. Filter and test names are resolved here, so an unknown one is a syntax error
 * even in a branch never taken (as in Jinja2). Nesting deeper than IFN_JINJA_MAX_NESTING is
 * refused so rendering never recurses without bound. */
#ifndef IFN_TOKENIZER_JINJA_PARSER_H
#define IFN_TOKENIZER_JINJA_PARSER_H

#include <stddef.h>

#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_lexer.h"

#define IFN_JINJA_MAX_NESTING 200

/* Parses tokens (ending with EOF) into an N_BLOCK holding the template's statements. Nodes
 * live in `arena` and point into the tokens' texts. IFN_E_FORMAT with "template syntax error
 * at line N: ..." on malformed input; IFN_E_NOMEM when the arena is exhausted. */
ifn_status ifn_jinja_parser_run(ifn_jinja_arena *arena, const ifn_jinja_token *tokens,
                                size_t n_tokens, ifn_jinja_node **out_root);

#endif
