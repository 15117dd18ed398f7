/*
 * ecosight/yamnet.h: YAMNet (MobileNet v1 on log-mel patches; 521 AudioSet
 * classes, 1024-d embeddings) computed natively from the official
 * yamnet.tflite file, with no TensorFlow.
 *
 * The model is read-only once opened: share one es_yamnet between threads.
 * Every call keeps its scratch state to itself. Results do not depend on the
 * thread count (bit for bit). docs/YAMNET.md describes the file reader, the
 * front end, the kernels and how they were measured.
 *
 *   char *path; es_yamnet *m; float emb[ES_YAMNET_EMBED_DIM];
 *   es_yamnet_find(NULL, &path, &err);
 *   es_yamnet_open(path, &m, &err);
 *   es_yamnet_embed_mean(m, wave_16k_mono, n, 1, emb, &err);
 *   es_yamnet_free(m); free(path);
 */
#ifndef ECOSIGHT_YAMNET_H
#define ECOSIGHT_YAMNET_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ES_YAMNET_SAMPLE_RATE 16000
#define ES_YAMNET_EMBED_DIM 1024
#define ES_YAMNET_NUM_CLASSES 521
#define ES_YAMNET_MEL_BANDS 64
#define ES_YAMNET_PATCH_FRAMES 96   /* frames per patch (0.96 s) */
#define ES_YAMNET_PATCH_HOP 48      /* frames between patch starts (0.48 s) */
#define ES_YAMNET_PATCH_FLOATS (ES_YAMNET_PATCH_FRAMES * ES_YAMNET_MEL_BANDS)
/* The front end's parameters, as one string (feature-cache key part). */
#define ES_YAMNET_FRONTEND_PARAMS \
    "sr=16000;win=400;hop=160;fft=512;hann=periodic;mel=64htk125-7500;log_off=0.001;patch=96/48;pad=yamnet"

typedef struct es_yamnet es_yamnet;   /* read-only after open: share it between threads */

/* Search order: explicit path (--yamnet), $ECOSIGHT_YAMNET, the project's models/yamnet/,
 * $ECOSIGHT_SHARED/models. *path_out is malloc'd. */
es_status es_yamnet_find(const char *explicit_path, char **path_out, es_error *err);
es_status es_yamnet_open(const char *path, es_yamnet **out, es_error *err);
/* Parse a model from memory (the bytes are copied as needed; data may be freed after). */
es_status es_yamnet_open_memory(const void *data, size_t len, es_yamnet **out, es_error *err);
void es_yamnet_free(es_yamnet *m);
const char *es_yamnet_sha256(const es_yamnet *m);          /* hex SHA-256 of the model file */

/* Mean embedding over all patches of a 16 kHz mono waveform (padded as YAMNet does).
 * Thread-safe on a shared model. threads: internal parallelism, 0 = all cores, 1 = only
 * the caller's thread (use 1 when you parallelise over files yourself). */
es_status es_yamnet_embed_mean(const es_yamnet *m, const float *wave, size_t n, int threads,
                               float out[ES_YAMNET_EMBED_DIM], es_error *err);
/* Batched (the fast path for training): count waveforms -> count mean embeddings, row-major. */
es_status es_yamnet_embed_mean_batch(const es_yamnet *m, const float *const *waves,
                                     const size_t *lens, size_t count, int threads,
                                     float *out, es_error *err);

/* A caller-held workspace (optional): the per-thread buffers a call needs (~1-4 MB),
 * kept between calls so a thread that embeds request after request (a server's request
 * thread, a training worker) does not allocate them every time. One per calling thread:
 * a call on a workspace another call is using fails with ES_ERR_INVALID. It grows to the
 * largest call seen. Results are bit-identical with and without one. */
typedef struct es_yamnet_ws es_yamnet_ws;
es_status es_yamnet_ws_new(es_yamnet_ws **out, es_error *err);
void es_yamnet_ws_free(es_yamnet_ws *ws);
/* As the functions without _ws; ws may be NULL (then a temporary one is used). */
es_status es_yamnet_embed_mean_ws(const es_yamnet *m, es_yamnet_ws *ws, const float *wave,
                                  size_t n, int threads, float out[ES_YAMNET_EMBED_DIM],
                                  es_error *err);
es_status es_yamnet_embed_mean_batch_ws(const es_yamnet *m, es_yamnet_ws *ws,
                                        const float *const *waves, const size_t *lens,
                                        size_t count, int threads, float *out, es_error *err);

/* ---- lower-level pieces (CLI, tests, benchmarks) ---- */

/* Samples after YAMNet's pad_waveform (15600 + k*7680, k >= 0 smallest that fits). */
size_t es_yamnet_padded_len(size_t n);
/* STFT frames and 96/48 patches of a waveform of n samples (after padding). */
size_t es_yamnet_num_frames(size_t n);
size_t es_yamnet_num_patches(size_t n);

/* Log-mel spectrogram of a waveform (padded inside): *logmel is malloc'd,
 * [*frames, 64] row-major. */
es_status es_yamnet_logmel(const float *wave, size_t n, float **logmel, size_t *frames,
                           es_error *err);
/* Cut patches [num, 96, 64] out of a log-mel [frames, 64] (num = patches that fit). */
size_t es_yamnet_patches_from_logmel(const float *logmel, size_t frames, float *patches,
                                     size_t max_patches);

/* The network on `count` patches [count, 96, 64]: embeddings [count, 1024] and/or
 * scores [count, 521] (sigmoid); either output may be NULL. */
es_status es_yamnet_run_patches(const es_yamnet *m, const float *patches, size_t count,
                                int threads, float *embeddings, float *scores, es_error *err);

es_status es_yamnet_run_patches_ws(const es_yamnet *m, es_yamnet_ws *ws, const float *patches,
                                   size_t count, int threads, float *embeddings, float *scores,
                                   es_error *err);

/* Everything for one waveform: *logmel [frames,64], *embeddings [patches,1024],
 * *scores [patches,521], all malloc'd; pass NULL for what you do not need. */
typedef struct es_yamnet_result {
    size_t frames;
    size_t patches;
    float *logmel;
    float *embeddings;
    float *scores;
} es_yamnet_result;
es_status es_yamnet_analyze(const es_yamnet *m, const float *wave, size_t n, int threads,
                            int want_logmel, int want_embeddings, int want_scores,
                            es_yamnet_result *res, es_error *err);
void es_yamnet_result_clear(es_yamnet_result *res);

/* The class map (yamnet_class_map.csv: index,mid,display_name). */
typedef struct es_yamnet_classes {
    size_t count;
    char **names;   /* display names, index order */
} es_yamnet_classes;
/* Load and check a class map (521 rows, indices 0..520 in order). */
es_status es_yamnet_classes_load(const char *csv_path, es_yamnet_classes *out, es_error *err);
/* yamnet_class_map.csv in the model file's directory (where scripts/fetch-models.sh puts
 * it); ES_ERR_NOT_FOUND when absent. *path_out malloc'd. */
es_status es_yamnet_classes_find(const char *model_path, char **path_out, es_error *err);
void es_yamnet_classes_clear(es_yamnet_classes *c);

#ifdef __cplusplus
}
#endif
#endif
