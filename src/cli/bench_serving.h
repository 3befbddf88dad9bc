/* The concurrency part of `inferneo bench`: C sequences at once through the engine's scheduler,
 * reporting aggregate generation throughput, time to first token and KV utilisation. */
#ifndef IFN_CLI_BENCH_SERVING_H
#define IFN_CLI_BENCH_SERVING_H

#include <stdint.h>

#include "model/model.h"
#include "tokenizer/vocab.h"

typedef struct ifn_bench_serving_options {
    int32_t n_prompt;
    int32_t n_gen;
    int32_t n_threads;
    int exact;
    int json;
    const char *model_path;
} ifn_bench_serving_options;

/* Runs one level per entry of `levels`; prints a table row or a JSON line per level.
 * Returns 0, or 1 after printing an error. */
int ifn_bench_serving_run(ifn_model *model, const ifn_vocab *vocab,
                          const ifn_bench_serving_options *o, const int32_t *levels,
                          int32_t n_levels);

#endif
