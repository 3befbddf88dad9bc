/* Small seeded PRNG (xoshiro256** seeded by splitmix64): same seed, same sequence, on every
 * platform. Not thread-safe: one generator per owner (each sequence has its own). */
#ifndef IFN_UTIL_RNG_H
#define IFN_UTIL_RNG_H

#include <stdint.h>

typedef struct ifn_rng {
    uint64_t state[4];
} ifn_rng;

void ifn_rng_seed(ifn_rng *rng, uint64_t seed);
uint64_t ifn_rng_next_u64(ifn_rng *rng);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float ifn_rng_next_f32(ifn_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double ifn_rng_next_f64(ifn_rng *rng);

#endif
