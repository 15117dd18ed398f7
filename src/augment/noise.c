/*
 * noise.c: the Gaussian noise of the noise augmentations, computed with
 * IEEE-exact operations only, so a noisy output has the same bits on every
 * x86-64 CPU (core's es_rng_normal uses libm's log/sin/cos, whose glibc
 * versions differ per CPU in the last bit; it is left as is for its users).
 */
#include "noise.h"

#include <math.h>

/* ln(x) for finite x > 0 from + - * / only (frexp just splits the bits):
 * glibc's log has per-CPU variants (FMA or not) that may differ in the last
 * bit, and a noise sample must be the same on every machine. With
 * m in [sqrt(1/2), sqrt(2)) and t = (m-1)/(m+1), |t| <= 0.1716, so
 * ln m = 2 atanh t = 2 (t + t^3/3 + ... + t^23/23) leaves < 1e-19. */
double es_aug_exact_log(double x)
{
    int e;
    double m = frexp(x, &e);
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e -= 1;
    }
    /* 1/(2k+1), rounded once to the nearest double (by the compiler, which
     * rounds constant quotients exactly as the FPU would) */
    static const double c[12] = {1.0,        1.0 / 3.0,  1.0 / 5.0,  1.0 / 7.0,
                                 1.0 / 9.0,  1.0 / 11.0, 1.0 / 13.0, 1.0 / 15.0,
                                 1.0 / 17.0, 1.0 / 19.0, 1.0 / 21.0, 1.0 / 23.0};
    double t = (m - 1.0) / (m + 1.0);
    double t2 = t * t;
    double s = c[11];
    for (int k = 10; k >= 0; k--)
        s = c[k] + t2 * s;
    return (double)e * 0.69314718055994530942 + 2.0 * t * s;
}

/* y += sigma * N(0, 1), one stream per (seed, key, name). The normals come
 * from Marsaglia's polar method on the stream's uniforms: rejection, then
 * sqrt(-2 ln s / s), all IEEE-exact operations (sqrt is correctly rounded,
 * es_aug_exact_log uses only + - * /, and src/augment is built with
 * -ffp-contract=off), so the bits are the same on every x86-64 CPU. */
void es_aug_add_noise(float *y, size_t n, double sigma, uint64_t seed, const uint8_t key[32],
                      const char *name)
{
    es_rng r;
    es_rng_init(&r, seed, key, 32, name);
    for (size_t i = 0; i < n; i += 2) {
        double u, v, s;
        do {
            u = 2.0 * es_rng_uniform(&r) - 1.0;
            v = 2.0 * es_rng_uniform(&r) - 1.0;
            s = u * u + v * v;
        } while (s >= 1.0 || s == 0.0);
        double f = sqrt(-2.0 * es_aug_exact_log(s) / s);
        y[i] = (float)((double)y[i] + sigma * (u * f));
        if (i + 1 < n)
            y[i + 1] = (float)((double)y[i + 1] + sigma * (v * f));
    }
}
