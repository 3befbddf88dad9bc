/* Global functions of the chat-template language: range, namespace, dict, raise_exception,
 * joiner and cycler. strftime_now is deliberately absent, as in the reference renderings,
 * so templates testing `strftime_now is defined` take their fallback. */
#ifndef IFN_TOKENIZER_JINJA_GLOBALS_H
#define IFN_TOKENIZER_JINJA_GLOBALS_H

#include "tokenizer/jinja_interp.h"

/* 1 and the function if `name` is a global. Cannot fail. */
int ifn_jinja_globals_find(ifn_str name, ifn_jinja_builtin_fn *out_fn);

#endif
