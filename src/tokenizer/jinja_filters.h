/* Filters of the chat-template language (x | name(args)): string, number, sequence and JSON
 * filters as Jinja2 and Hugging Face define them. Table lookup is thread-safe. */
#ifndef IFN_TOKENIZER_JINJA_FILTERS_H
#define IFN_TOKENIZER_JINJA_FILTERS_H

#include "tokenizer/jinja_ast.h"

/* The filter called `name`, or NULL. Cannot fail. */
ifn_jinja_filter_fn ifn_jinja_filters_find(ifn_str name);

/* 1 if the filter gives a Markup (safe) result for a Markup input, as Jinja2's string filters
 * do. Cannot fail. */
int ifn_jinja_filters_keep_markup(ifn_jinja_filter_fn fn);

#endif
