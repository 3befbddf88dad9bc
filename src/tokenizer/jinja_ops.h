/* Operators of the chat-template language with Python semantics (jinja_ops.c). */
#ifndef IFN_TOKENIZER_JINJA_OPS_H
#define IFN_TOKENIZER_JINJA_OPS_H

#include "tokenizer/jinja_interp.h"

ifn_status ifn_jinja_ops_binary(ifn_jinja_ctx *ctx, int op, ifn_jinja_value a, ifn_jinja_value b,
                                ifn_jinja_value *out);
ifn_status ifn_jinja_ops_unary(ifn_jinja_ctx *ctx, int op, ifn_jinja_value a, ifn_jinja_value *out);
/* `needle in haystack`. */
ifn_status ifn_jinja_ops_contains(ifn_jinja_ctx *ctx, ifn_jinja_value haystack,
                                  ifn_jinja_value needle, int *out);

#endif
