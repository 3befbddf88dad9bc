/* Tests of the chat-template language (x is name(args)): defined, none, string, mapping,
 * equalto, odd, ... as Jinja2 defines them. Table lookup is thread-safe. */
#ifndef IFN_TOKENIZER_JINJA_TESTS_H
#define IFN_TOKENIZER_JINJA_TESTS_H

#include "tokenizer/jinja_ast.h"

/* The test called `name`, or NULL. Cannot fail. */
ifn_jinja_test_fn ifn_jinja_tests_find(ifn_str name);

#endif
