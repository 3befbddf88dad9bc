/* Generation parameters (public ifn_generate_params) turned into engine objects: the sampler a
 * sequence draws with, and its seed. */
#ifndef IFN_ENGINE_GENERATE_H
#define IFN_ENGINE_GENERATE_H

#include <stdint.h>

#include "engine/sampler.h"
#include "inferneo/inferneo.h"

/* A sampler for these generation parameters (logit bias converted and copied). Errors:
 * IFN_E_INVALID (parameters out of range), IFN_E_NOMEM. */
ifn_status ifn_generate_make_sampler(const ifn_generate_params *params, uint64_t seed,
                                     int32_t n_vocab, ifn_sampler **out_sampler);

/* The request's seed, or a fresh one from the clock when it gives none. Cannot fail. */
uint64_t ifn_generate_pick_seed(const ifn_generate_params *params);

#endif
