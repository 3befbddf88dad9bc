/* Internal interface of the chat-template interpreter: the per-render context and the
 * evaluation entry points shared by the evaluator, the statement runner, filters, tests,
 * methods and globals. A context belongs to one render on one thread; the syntax tree it
 * walks is shared read-only. Errors are ifn_fail() messages phrased like Jinja2's ("'x' is
 * undefined", "TypeError: ..."); the render appends the template line. */
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
ifn_status ifn_jinja_error(ifn_jinja_ctx *ctx, const char *fmt, ...) IFN_PRINTF(2, 3);
/* The error an operation on an undefined value raises ("'x' is undefined"). */
ifn_status ifn_jinja_error_undefined(ifn_jinja_ctx *ctx, ifn_jinja_value undefined);
/* An undefined value whose use fails with the formatted message. */
ifn_status ifn_jinja_make_undefined(ifn_jinja_ctx *ctx, ifn_jinja_value *out, const char *fmt, ...)
    IFN_PRINTF(3, 4);

/* ---- scopes ------------------------------------------------------------------------------ */

ifn_status ifn_jinja_push_frame(ifn_jinja_ctx *ctx, ifn_jinja_frame *parent, ifn_jinja_frame **out);
ifn_status ifn_jinja_frame_set(ifn_jinja_ctx *ctx, ifn_jinja_frame *frame, ifn_str name,
                               ifn_jinja_value value);
/* Name lookup through the scopes, then the globals; undefined if absent. */
ifn_status ifn_jinja_lookup(ifn_jinja_ctx *ctx, ifn_str name, ifn_jinja_value *out);

/* ---- evaluation (jinja_eval.c) ----------------------------------------------------------- */

ifn_status ifn_jinja_eval(ifn_jinja_ctx *ctx, const ifn_jinja_node *node, ifn_jinja_value *out);
/* Evaluates call arguments (positional kids, then N_KWARG kids) into arena arrays. */
ifn_status ifn_jinja_eval_args(ifn_jinja_ctx *ctx, ifn_jinja_node *const *kids, int32_t n_kids,
                               ifn_jinja_args *out);
/* Calls a function value; `caller` is the {% call %} body for macros, or NULL. */
ifn_status ifn_jinja_call(ifn_jinja_ctx *ctx, ifn_jinja_value callee, const ifn_jinja_args *args,
                          const ifn_jinja_value *caller, ifn_jinja_value *out);
/* obj.name with Jinja2's rules (methods first, then items), and obj[key]. */
ifn_status ifn_jinja_getattr(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_str name,
                             ifn_jinja_value *out);
ifn_status ifn_jinja_getitem(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_jinja_value key,
                             ifn_jinja_value *out);
/* obj[start:stop:step]; absent bounds are none. */
ifn_status ifn_jinja_slice(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_jinja_value start,
                           ifn_jinja_value stop, ifn_jinja_value step, ifn_jinja_value *out);
/* The items a for loop or a filter walks: list items, dict keys, string characters; an
 * undefined value gives none. TypeError for other values. */
ifn_status ifn_jinja_iterate(ifn_jinja_ctx *ctx, ifn_jinja_value v, ifn_jinja_list **out);
/* Applies a filter chain (N_FILTER nodes) whose innermost operand is NULL to `input`. */
ifn_status ifn_jinja_apply_filters(ifn_jinja_ctx *ctx, const ifn_jinja_node *chain,
                                   ifn_jinja_value input, ifn_jinja_value *out);
/* A string value with the bytes copied into the arena. */
ifn_status ifn_jinja_new_string(ifn_jinja_ctx *ctx, const char *s, size_t len,
                                ifn_jinja_value *out);

/* ---- operators (jinja_ops.c) ------------------------------------------------------------- */

ifn_status ifn_jinja_ops_binary(ifn_jinja_ctx *ctx, int op, ifn_jinja_value a, ifn_jinja_value b,
                                ifn_jinja_value *out);
ifn_status ifn_jinja_ops_unary(ifn_jinja_ctx *ctx, int op, ifn_jinja_value a, ifn_jinja_value *out);
/* `needle in haystack`. */
ifn_status ifn_jinja_ops_contains(ifn_jinja_ctx *ctx, ifn_jinja_value haystack,
                                  ifn_jinja_value needle, int *out);

/* ---- statements (jinja_exec.c) ----------------------------------------------------------- */

ifn_status ifn_jinja_exec_body(ifn_jinja_ctx *ctx, ifn_jinja_node *const *body, int32_t n);
/* Runs a body with its output captured into a string. */
ifn_status ifn_jinja_exec_capture(ifn_jinja_ctx *ctx, ifn_jinja_node *const *body, int32_t n,
                                  ifn_str *out);
ifn_status ifn_jinja_exec_macro(ifn_jinja_ctx *ctx, const ifn_jinja_func *macro,
                                const ifn_jinja_args *args, const ifn_jinja_value *caller,
                                ifn_jinja_value *out);
/* Counts one loop iteration or call against the render's budget. */
ifn_status ifn_jinja_exec_step(ifn_jinja_ctx *ctx);

/* ---- arguments of builtins --------------------------------------------------------------- */

/* The argument at `index` or named `name` (either may be -1/NULL); 0 if not given. */
int ifn_jinja_arg(const ifn_jinja_args *args, int32_t index, const char *name,
                  ifn_jinja_value *out);

#endif
