/*
 * augment.c: the seed's 11 augmentations, their names, the per-file plan and
 * the key that makes every random draw reproducible.
 *
 * Every random number comes from a Philox stream keyed by (seed, SHA-256 of
 * the original's decoded samples, augmentation name): the plan uses the name
 * "plan", noise and time shift use their own augmentation's name. So an
 * output depends on nothing but those three, never on thread, file order or
 * which other augmentations were drawn.
 */
#include "ecosight/augment.h"

#include "noise.h"
#include "stretch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum aug_kind { AUG_STRETCH, AUG_PITCH, AUG_NOISE, AUG_SHIFT, AUG_GAIN } aug_kind;

typedef struct aug_def {
    const char *name;
    aug_kind kind;
    double param;   /* rate, semitones, sigma, max shift fraction, gain */
    double noise;   /* combined: sigma of noise added after the stretch (0: none) */
    double gain;    /* combined: gain applied after the pitch shift (1: none) */
} aug_def;

/* The seed's order and parameters. */
static const aug_def augs[ES_AUG_COUNT] = {
    {"time_stretch_fast", AUG_STRETCH, 1.1, 0.0, 1.0},
    {"time_stretch_slow", AUG_STRETCH, 0.9, 0.0, 1.0},
    {"pitch_up", AUG_PITCH, 2.0, 0.0, 1.0},
    {"pitch_down", AUG_PITCH, -2.0, 0.0, 1.0},
    {"noise_light", AUG_NOISE, 0.002, 0.0, 1.0},
    {"noise_medium", AUG_NOISE, 0.005, 0.0, 1.0},
    {"time_shift", AUG_SHIFT, 0.15, 0.0, 1.0},
    {"volume_up", AUG_GAIN, 1.2, 0.0, 1.0},
    {"volume_down", AUG_GAIN, 0.8, 0.0, 1.0},
    {"combined_1", AUG_STRETCH, 1.05, 0.003, 1.0},
    {"combined_2", AUG_PITCH, 1.0, 0.0, 0.9},
};

const char *es_augment_name(int idx)
{
    if (idx < 0 || idx >= ES_AUG_COUNT)
        return NULL;
    return augs[idx].name;
}

int es_augment_find(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < ES_AUG_COUNT; i++)
        if (strcmp(augs[i].name, name) == 0)
            return i;
    return -1;
}

void es_audio_key(const float *samples, size_t n, uint8_t key[32])
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    es_sha256(samples, n * sizeof(float), key);
#else
    /* big-endian hosts hash the little-endian bytes, so keys match everywhere */
    es_sha256_ctx *c = NULL;
    if (es_sha256_new(&c, NULL) != ES_OK) {
        memset(key, 0, 32);
        return;
    }
    unsigned char buf[4096];
    size_t i = 0;
    while (i < n) {
        size_t m = 0;
        for (; i < n && m + 4 <= sizeof buf; i++) {
            uint32_t u;
            memcpy(&u, &samples[i], 4);
            buf[m++] = (unsigned char)u;
            buf[m++] = (unsigned char)(u >> 8);
            buf[m++] = (unsigned char)(u >> 16);
            buf[m++] = (unsigned char)(u >> 24);
        }
        es_sha256_update(c, buf, m);
    }
    es_sha256_final(c, key);
    es_sha256_free(c);
#endif
}

int es_augment_plan(const uint8_t key[32], uint64_t seed, int k, uint32_t pool_mask,
                    int idx_out[ES_AUG_COUNT])
{
    uint32_t all = (1u << ES_AUG_COUNT) - 1;
    pool_mask &= all;
    if (pool_mask == 0)
        pool_mask = all;
    size_t pool[ES_AUG_COUNT], np = 0;
    for (int i = 0; i < ES_AUG_COUNT; i++)
        if (pool_mask & (1u << i))
            pool[np++] = (size_t)i;
    if (k <= 0)
        return 0;
    size_t kk = (size_t)k < np ? (size_t)k : np;
    es_rng r;
    es_rng_init(&r, seed, key, 32, "plan");
    size_t pick[ES_AUG_COUNT];
    /* draw order is kept: the plan for k is a prefix of the plan for k+1 */
    es_rng_sample(&r, np, kk, pick);
    for (size_t i = 0; i < kk; i++)
        idx_out[i] = (int)pool[pick[i]];
    return (int)kk;
}

int es_augment_per_file_auto(size_t class_file_count)
{
    if (class_file_count < 50)
        return 10;
    if (class_file_count < 200)
        return 7;
    if (class_file_count < 500)
        return 5;
    return 3;
}

es_status es_augment_apply(const float *in, size_t n, int sample_rate, int aug_idx, uint64_t seed,
                           const uint8_t key[32], float **out, size_t *out_n, es_error *err)
{
    if (aug_idx < 0 || aug_idx >= ES_AUG_COUNT)
        return es_error_set(err, ES_ERR_INVALID, "unknown augmentation index %d", aug_idx);
    const aug_def *d = &augs[aug_idx];
    if (!in && n > 0)
        return es_error_set(err, ES_ERR_INVALID, "%s: no input samples", d->name);
    if (n == 0)
        return es_error_set(err, ES_ERR_EMPTY, "%s: empty input", d->name);
    if (sample_rate <= 0)
        return es_error_set(err, ES_ERR_INVALID, "%s: bad sample rate %d", d->name, sample_rate);
    /* a float WAV can carry NaN or infinity; one would spread through every
     * STFT frame it touches and poison a training batch */
    for (size_t i = 0; i < n; i++)
        if (!isfinite(in[i]))
            return es_error_set(err, ES_ERR_FORMAT, "%s: sample %zu is not a finite number",
                                d->name, i);

    float *y = NULL;
    size_t ny = 0;
    es_status rc = ES_OK;
    switch (d->kind) {
    case AUG_STRETCH:
        rc = es_aug_time_stretch(in, n, d->param, &y, &ny, err);
        break;
    case AUG_PITCH:
        rc = es_aug_pitch_shift(in, n, sample_rate, d->param, &y, &ny, err);
        break;
    case AUG_NOISE:
    case AUG_GAIN:
    case AUG_SHIFT:
        y = malloc(n * sizeof(float));
        ny = n;
        if (!y)
            rc = es_error_set(err, ES_ERR_NOMEM, "%s: out of memory for %zu samples", d->name, n);
        break;
    }
    if (rc != ES_OK) {
        es_error_prefix(err, "%s", d->name);
        return rc;
    }
    switch (d->kind) {
    case AUG_NOISE:
        memcpy(y, in, n * sizeof(float));
        es_aug_add_noise(y, n, d->param, seed, key, d->name);
        break;
    case AUG_GAIN:
        /* numpy's float32 array * Python float is a float32 product */
        for (size_t i = 0; i < n; i++)
            y[i] = in[i] * (float)d->param;
        break;
    case AUG_SHIFT: {
        /* shift = int(uniform(-0.15, 0.15) * N) (truncation toward zero);
         * np.roll(y, shift): y_out[(i + shift) mod N] = y[i] */
        es_rng r;
        es_rng_init(&r, seed, key, 32, d->name);
        double u = es_rng_uniform_range(&r, -d->param, d->param);
        int64_t shift = (int64_t)(u * (double)n);
        size_t s = (size_t)(((shift % (int64_t)n) + (int64_t)n) % (int64_t)n);
        memcpy(y + s, in, (n - s) * sizeof(float));
        memcpy(y, in + (n - s), s * sizeof(float));
        break;
    }
    default:
        break;
    }
    if (d->noise > 0.0)
        es_aug_add_noise(y, ny, d->noise, seed, key, d->name);
    if (d->gain != 1.0)
        for (size_t i = 0; i < ny; i++)
            y[i] = y[i] * (float)d->gain;
    *out = y;
    *out_n = ny;
    return ES_OK;
}
