/* Filters of the chat-template language (x | name(args)): string, number, sequence and JSON
 * filters as Jinja2 and Hugging Face define them. Table lookup is thread-safe. */
#ifndef IFN_TOKENIZER_JINJA_FILTERS_H
#define IFN_TOKENIZER_JINJA_FILTERS_H

#include "tokenizer/jinja_ast.h"

/* The filter called `name`, or NULL. Cannot fail. */
ifn_jinja_filter_fn ifn_jinja_filters_find(ifn_str name);

/* Sequence filters live in jinja_filters_seq.c; the table in jinja_filters.c lists them. */
ifn_status ifn_jinja_filters_first(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                   const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_last(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                  const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_join(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                  const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_list(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                  const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_items(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                   const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_dictsort(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                      const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_map(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                 const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_select(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                    const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_reject(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                    const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_selectattr(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                        const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_rejectattr(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                        const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_reverse(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                     const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_sort(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                  const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_unique(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                    const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_min(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                 const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_max(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                 const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_sum(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                 const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_batch(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                   const ifn_jinja_args *args, ifn_jinja_value *out);

#endif
