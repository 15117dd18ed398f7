/*
 * ecosight/augment.h: the seed's 11 training augmentations with librosa's
 * semantics (time stretch = STFT -> phase vocoder -> ISTFT; pitch shift = time
 * stretch then soxr HQ resampling; Gaussian noise; circular time shift; gain),
 * deterministic in (seed, SHA-256 of the original's decoded audio, name), and
 * the per-file plan of which augmentations an original gets.
 *
 * Everything works in memory so the training pipeline never needs augmented
 * WAVs on disk; `ecosight augment` writes them for those who want files.
 *
 * Usage:
 *     uint8_t key[32];
 *     es_audio_key(a.samples, (size_t)a.frames, key);
 *     int idx[ES_AUG_COUNT];
 *     int k = es_augment_plan(key, seed, 5, 0, idx);
 *     for (int i = 0; i < k; i++) {
 *         float *y; size_t ny;
 *         if (es_augment_apply(a.samples, (size_t)a.frames, a.sample_rate, idx[i], seed, key,
 *                              &y, &ny, &err) == ES_OK) { ...; free(y); }
 *     }
 */
#ifndef ECOSIGHT_AUGMENT_H
#define ECOSIGHT_AUGMENT_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ES_AUG_COUNT 11
/* Bumped whenever any augmentation's output changes for the same (input,
 * seed): put it in feature-cache keys so cached embeddings never outlive the
 * samples they were computed from. */
#define ES_AUG_VERSION 2
const char *es_augment_name(int idx);                 /* seed order, idx 0..10 */
int es_augment_find(const char *name);                /* -1 if unknown */
/* The key of an original: SHA-256 of its decoded samples (little-endian float32, mono). */
void es_audio_key(const float *samples, size_t n, uint8_t key[32]);
/* Apply one augmentation; *out is malloc'd (free()). Deterministic in (seed, key, name). */
es_status es_augment_apply(const float *in, size_t n, int sample_rate, int aug_idx, uint64_t seed,
                           const uint8_t key[32], float **out, size_t *out_n, es_error *err);
/* The per-file plan: k distinct augmentation indices drawn from pool_mask (bit i = idx i;
 * 0 = all 11), uniformly without replacement; returns how many were written (min(k, pool)). */
int es_augment_plan(const uint8_t key[32], uint64_t seed, int k, uint32_t pool_mask,
                    int idx_out[ES_AUG_COUNT]);
int es_augment_per_file_auto(size_t class_file_count);  /* <50→10, <200→7, <500→5, else 3 */

#ifdef __cplusplus
}
#endif
#endif
