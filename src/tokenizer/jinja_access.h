/* Attribute, item and slice access and iteration with Jinja2's rules (jinja_access.c):
 * obj.attr tries methods before dict items, obj[key] items before methods, a missing one is
 * undefined, and any access on an undefined value is an error. */
#ifndef IFN_TOKENIZER_JINJA_ACCESS_H
#define IFN_TOKENIZER_JINJA_ACCESS_H

#include "tokenizer/jinja_interp.h"

ifn_status ifn_jinja_access_getattr(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_str name,
                                    ifn_jinja_value *out);
ifn_status ifn_jinja_access_getitem(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_jinja_value key,
                                    ifn_jinja_value *out);
/* obj[start:stop:step]; absent bounds are none. Strings slice by code point. */
ifn_status ifn_jinja_access_slice(ifn_jinja_ctx *ctx, ifn_jinja_value obj, ifn_jinja_value start,
                                  ifn_jinja_value stop, ifn_jinja_value step, ifn_jinja_value *out);
/* The items a for loop or a filter walks: list items, dict keys, string characters; an
 * undefined value gives none. TypeError for other values. The result may be the value's own
 * list: callers must not modify it. */
ifn_status ifn_jinja_access_iterate(ifn_jinja_ctx *ctx, ifn_jinja_value v, ifn_jinja_list **out);

#endif
