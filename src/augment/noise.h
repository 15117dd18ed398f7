/*
 * noise.h (private to augment): CPU-independent Gaussian noise.
 */
#ifndef ES_AUGMENT_NOISE_H
#define ES_AUGMENT_NOISE_H

#include "ecosight/core.h"

/* ln(x) for finite x > 0 from + - * / only (within a few ulp of libm's log). */
double es_aug_exact_log(double x);
/* y[i] = (float)((double)y[i] + sigma * z_i), z_i ~ N(0, 1) from the stream
 * (seed, key, name) by Marsaglia's polar method: bit-identical everywhere. */
void es_aug_add_noise(float *y, size_t n, double sigma, uint64_t seed, const uint8_t key[32],
                      const char *name);

#endif
