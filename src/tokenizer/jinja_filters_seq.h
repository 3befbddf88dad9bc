/* Sequence filters (jinja_filters_seq.c): first, last, join, list, items, dictsort, map,
 * select/reject(attr), reverse, sort, unique, min, max, sum, batch. The filter table in
 * jinja_filters.c lists them; each has the ifn_jinja_filter_fn signature. */
#ifndef IFN_TOKENIZER_JINJA_FILTERS_SEQ_H
#define IFN_TOKENIZER_JINJA_FILTERS_SEQ_H

#include "tokenizer/jinja_interp.h"

ifn_status ifn_jinja_filters_seq_first(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                       const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_last(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                      const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_join(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                      const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_list(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                      const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_items(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                       const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_dictsort(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                          const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_map(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                     const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_select(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                        const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_reject(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                        const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_selectattr(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                            const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_rejectattr(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                            const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_reverse(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                         const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_sort(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                      const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_unique(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                        const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_min(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                     const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_max(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                     const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_sum(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                     const ifn_jinja_args *args, ifn_jinja_value *out);
ifn_status ifn_jinja_filters_seq_batch(ifn_jinja_ctx *ctx, ifn_jinja_value input,
                                       const ifn_jinja_args *args, ifn_jinja_value *out);

#endif
