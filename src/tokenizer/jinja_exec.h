/* Statement execution of the chat-template interpreter (jinja_exec.c): bodies, captured
 * output, macro calls and the per-render step budget. */
#ifndef IFN_TOKENIZER_JINJA_EXEC_H
#define IFN_TOKENIZER_JINJA_EXEC_H

#include "tokenizer/jinja_interp.h"

ifn_status ifn_jinja_exec_body(ifn_jinja_ctx *ctx, ifn_jinja_node *const *body, int32_t n);
/* Runs a body with its output captured into a string. */
ifn_status ifn_jinja_exec_capture(ifn_jinja_ctx *ctx, ifn_jinja_node *const *body, int32_t n,
                                  ifn_str *out);
ifn_status ifn_jinja_exec_macro(ifn_jinja_ctx *ctx, const ifn_jinja_func *macro,
                                const ifn_jinja_args *args, const ifn_jinja_value *caller,
                                ifn_jinja_value *out);
/* Counts one loop iteration or call against the render's budget. */
ifn_status ifn_jinja_exec_step(ifn_jinja_ctx *ctx);

#endif
