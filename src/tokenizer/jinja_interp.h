/* Core of the chat-template interpreter (jinja_interp.c): the per-render context, scopes,
 * runtime errors and builtin arguments. Evaluation, access, operators and statements have
 * their own headers (jinja_eval.h, jinja_access.h, jinja_ops.h, jinja_exec.h). A context
 * belongs to one render on one thread; the syntax tree it walks is shared read-only. Errors
 * are ifn_fail() messages phrased like Jinja2's ("'x' is undefined", "TypeError: ...");
 * the render appends the template line. */
#ifndef IFN_TOKENIZER_JINJA_INTERP_H
#define IFN_TOKENIZER_JINJA_INTERP_H

#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_text.h"
#include "util/compiler.h"

/* A scope: {% for %} iterations, macro calls and {% with %} open one; {% if %} does not. */
struct ifn_jinja_frame {
    ifn_jinja_frame *parent;
    ifn_jinja_dict *vars; /* NULL until the first assignment */
};

typedef enum ifn_jinja_signal {
    IFN_JINJA_SIGNAL_NONE,
    IFN_JINJA_SIGNAL_BREAK,
    IFN_JINJA_SIGNAL_CONTINUE,
} ifn_jinja_signal;

struct ifn_jinja_ctx {
    ifn_jinja_arena *arena;
    ifn_jinja_frame *frame; /* innermost scope */
    ifn_jinja_buf *out;     /* where output goes now (captures swap it) */
    size_t max_output_bytes;
    int64_t max_steps; /* loop iterations plus macro calls per render */
    int64_t n_steps;
    int32_t max_call_depth;
    int32_t call_depth;
    ifn_jinja_signal signal; /* pending break/continue */
    int32_t line;            /* template line being evaluated, for messages */
    int error_raised;        /* the failure came from raise_exception(): keep it verbatim */
};

/* ---- errors ------------------------------------------------------------------------------ */

/* ifn_fail(IFN_E_INVALID, ...) for a runtime error. */
ifn_status ifn_jinja_interp_error(ifn_jinja_ctx *ctx, const char *fmt, ...) IFN_PRINTF(2, 3);
/* The error an operation on an undefined value raises ("'x' is undefined"). */
ifn_status ifn_jinja_interp_undefined_error(ifn_jinja_ctx *ctx, ifn_jinja_value undefined);
/* An undefined value whose use fails with the formatted message. */
ifn_status ifn_jinja_interp_make_undefined(ifn_jinja_ctx *ctx, ifn_jinja_value *out,
                                           const char *fmt, ...) IFN_PRINTF(3, 4);

/* ---- scopes ------------------------------------------------------------------------------ */

ifn_status ifn_jinja_interp_push_frame(ifn_jinja_ctx *ctx, ifn_jinja_frame *parent,
                                       ifn_jinja_frame **out);
ifn_status ifn_jinja_interp_set_var(ifn_jinja_ctx *ctx, ifn_jinja_frame *frame, ifn_str name,
                                    ifn_jinja_value value);
/* Name lookup through the scopes, then the globals; undefined if absent. */
ifn_status ifn_jinja_interp_lookup(ifn_jinja_ctx *ctx, ifn_str name, ifn_jinja_value *out);

/* A string value with the bytes copied into the arena. */
ifn_status ifn_jinja_interp_new_string(ifn_jinja_ctx *ctx, const char *s, size_t len,
                                       ifn_jinja_value *out);

/* ---- arguments of builtins --------------------------------------------------------------- */

/* The argument at `index` or named `name` (either may be -1/NULL); 0 if not given. */
int ifn_jinja_interp_arg(const ifn_jinja_args *args, int32_t index, const char *name,
                         ifn_jinja_value *out);

#endif
