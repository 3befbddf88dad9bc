/* Attributes and methods of built-in values: str methods (strip, split, startswith, format,
 * ...), dict methods (items, keys, values, get), list methods (index, count) and the loop
 * object (loop.index, loop.cycle, ...). Methods that would mutate a list or dict are refused
 * like Hugging Face's immutable sandbox does. */
#ifndef IFN_TOKENIZER_JINJA_METHODS_H
#define IFN_TOKENIZER_JINJA_METHODS_H

#include "tokenizer/jinja_interp.h"

/* obj.name for strings, lists, dicts and loops: a bound method, a loop attribute, or (for a
 * mutating method) an undefined value whose use raises the sandbox error. *out_found is 0
 * when the name means nothing special for obj. */
ifn_status ifn_jinja_methods_getattr(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_str name,
                                     int *out_found, ifn_jinja_value *out);

/* Calls the bound method `method` (an IFN_JINJA_FUNC_METHOD). */
ifn_status ifn_jinja_methods_call(ifn_jinja_ctx *ctx, const ifn_jinja_func *method,
                                  const ifn_jinja_args *args, ifn_jinja_value *out);

#endif
