/* dpf/rng.h — deterministic random numbers (xoshiro256**), seeded from --seed.
 * Every random choice in dpf (initialisation, shuffling, augmentation, methods) draws from a
 * dpf_rng so runs are reproducible and the state can be checkpointed. */
#ifndef DPF_RNG_H
#define DPF_RNG_H

#include <stdint.h>

typedef struct dpf_rng {
    uint64_t s[4];
} dpf_rng;

void dpf_rng_seed(dpf_rng *r, uint64_t seed);
uint64_t dpf_rng_u64(dpf_rng *r);
uint32_t dpf_rng_below(dpf_rng *r, uint32_t n);   /* uniform in [0, n), unbiased */
double dpf_rng_uniform(dpf_rng *r);               /* uniform in [0, 1) */
double dpf_rng_normal(dpf_rng *r);                /* standard normal */

#endif
