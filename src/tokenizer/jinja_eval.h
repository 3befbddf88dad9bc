/* Expression evaluation of the chat-template interpreter (jinja_eval.c): expressions, call
 * arguments, calls of function values and filter chains. Runs on the render's thread; the
 * nodes are shared read-only. */
#ifndef IFN_TOKENIZER_JINJA_EVAL_H
#define IFN_TOKENIZER_JINJA_EVAL_H

#include "tokenizer/jinja_interp.h"

ifn_status ifn_jinja_eval_expr(ifn_jinja_ctx *ctx, const ifn_jinja_node *node,
                               ifn_jinja_value *out);
/* Evaluates call arguments (positional kids, then N_KWARG kids) into arena arrays. */
ifn_status ifn_jinja_eval_args(ifn_jinja_ctx *ctx, ifn_jinja_node *const *kids, int32_t n_kids,
                               ifn_jinja_args *out);
/* Calls a function value; `caller` is the {% call %} body for macros, or NULL. */
ifn_status ifn_jinja_eval_call(ifn_jinja_ctx *ctx, ifn_jinja_value callee,
                               const ifn_jinja_args *args, const ifn_jinja_value *caller,
                               ifn_jinja_value *out);
/* Applies a filter chain (N_FILTER nodes) whose innermost operand is NULL to `input`. */
ifn_status ifn_jinja_eval_filters(ifn_jinja_ctx *ctx, const ifn_jinja_node *chain,
                                  ifn_jinja_value input, ifn_jinja_value *out);

#endif
