/* Python string formatting (jinja_strfmt.c): str.format ("{} {0} {name:>8}") and the %
 * operator ("%s=%d" % (k, v), "%(name)s" % dict), sharing one formatter for fill, align,
 * sign, zero padding, width, precision and conversion type. */
#ifndef IFN_TOKENIZER_JINJA_STRFMT_H
#define IFN_TOKENIZER_JINJA_STRFMT_H

#include "tokenizer/jinja_interp.h"

/* fmt.format(*args, **kwargs). */
ifn_status ifn_jinja_strfmt_format(ifn_jinja_ctx *ctx, ifn_str fmt, const ifn_jinja_args *args,
                                   ifn_jinja_value *out);
/* fmt % operand: a tuple gives the arguments, a dict serves %(name)s. */
ifn_status ifn_jinja_strfmt_percent(ifn_jinja_ctx *ctx, ifn_str fmt, ifn_jinja_value operand,
                                    ifn_jinja_value *out);

#endif
