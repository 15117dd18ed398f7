/*
 * ecosight/classifier.h: the dense classifier head on YAMNet embeddings, as
 * the seed built it in Keras:
 *
 *   x -> standardise (mean/std of the training split, stored in the head)
 *     -> [Dense(h_i) -> ReLU -> BatchNorm -> Dropout(d_i)] for each hidden layer
 *     -> Dense(num_classes) -> softmax
 *
 * Glorot-uniform kernels from the seeded Philox RNG, zero biases, gamma 1 and
 * beta 0, moving mean 0 and variance 1 (Keras' initialisers). Training is
 * es_head_fit: Adam, mini-batches, early stopping on validation loss with the
 * best weights restored, learning-rate halving on plateaus, optional class
 * weights. Inference (es_head_predict) only reads the head, so one head
 * serves many threads.
 *
 * File format (little-endian), version 1, written atomically:
 *   offset 0   char[8]  magic "ESHEAD\0\1"
 *          8   u32      format version (1)
 *         12   u32      input_dim
 *         16   u32      num_classes
 *         20   u32      num_hidden (1..8)
 *         24   u32[num_hidden]  hidden sizes
 *              f32[num_hidden]  dropout rates
 *              f32      bn_momentum, f32 bn_eps
 *              u32      has_norm (0/1)
 *              u64      num_params
 *              f32[num_params]  trainable parameters (layout below)
 *              f32[num_bn]      BN moving means then moving variances per layer
 *              f32[input_dim] mean, f32[input_dim] std   (only when has_norm)
 *              u8[32]   SHA-256 of every byte before it
 * Trainable layout, per hidden layer l (in -> out): W (in, out) row-major,
 * b (out), gamma (out), beta (out); then the output layer W (in, K), b (K).
 */
#ifndef ECOSIGHT_CLASSIFIER_H
#define ECOSIGHT_CLASSIFIER_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ES_HEAD_MAX_HIDDEN 8
#define ES_HEAD_MAX_CLASSES 1024
#define ES_HEAD_MAX_DIM 65536
#define ES_HEAD_FILE_VERSION 1

typedef struct es_head_config {
    int input_dim;
    int num_classes;
    int num_hidden;
    int hidden[ES_HEAD_MAX_HIDDEN];
    float dropout[ES_HEAD_MAX_HIDDEN];
    float bn_momentum; /* 0.99 */
    float bn_eps;      /* 1e-3 */
} es_head_config;

/* The seed's head: 512-256-128-64, dropout 0.5/0.4/0.3/0.2, Keras BN defaults. */
es_head_config es_head_default_config(int input_dim, int num_classes);

typedef struct es_head es_head;

/* A fresh head with Glorot-uniform kernels drawn from Philox(seed, "glorot/<layer>"). */
es_status es_head_new(const es_head_config *cfg, uint64_t seed, es_head **out, es_error *err);
es_status es_head_clone(const es_head *h, es_head **out, es_error *err);
/* Copy parameters and BN statistics of src into dst (same configuration). */
void es_head_copy_weights(es_head *dst, const es_head *src);
void es_head_free(es_head *h);
const es_head_config *es_head_get_config(const es_head *h);
size_t es_head_num_params(const es_head *h);   /* trainable */
float *es_head_params(es_head *h);
const float *es_head_params_const(const es_head *h);

/* Input standardisation applied inside forward passes: x' = (x - mean) / std.
 * std values <= 1e-6 are stored as 1 (a constant feature carries nothing). */
es_status es_head_set_norm(es_head *h, const float *mean, const float *std, es_error *err);
int es_head_has_norm(const es_head *h);

/* Inference: x (B, input_dim) raw features -> probs (B, num_classes).
 * Thread-safe on a shared head (scratch is allocated per call). */
es_status es_head_predict(const es_head *h, const float *x, size_t B, float *probs,
                          es_error *err);

/* Save/load the format above. Load checks magic, version, sizes, the hash. */
es_status es_head_save(const es_head *h, const char *path, es_error *err);
es_status es_head_load(const char *path, es_head **out, es_error *err);
es_status es_head_load_memory(const void *data, size_t len, const char *name, es_head **out,
                              es_error *err);

/* ---------------------------------------------------------------------- */
/* Training.                                                                */

/* Per-batch training state (activations, gradients, Adam moments). */
typedef struct es_head_trainer es_head_trainer;
es_status es_head_trainer_new(es_head *h, int max_batch, es_head_trainer **out, es_error *err);
void es_head_trainer_free(es_head_trainer *t);
/* One forward + backward + Adam step on a batch (raw features: standardised
 * inside). weights: per-sample loss weights or NULL. Dropout masks come from
 * Philox(seed, step, layer). Returns the batch loss and correct count. */
es_status es_head_train_step(es_head_trainer *t, const float *x, const int *y,
                             const float *weights, int B, float lr, float beta1, float beta2,
                             float eps, uint64_t seed, double *loss, int *correct,
                             es_error *err);
/* Gradients of the last step (same layout as the parameters), for tests. */
const float *es_head_trainer_grads(const es_head_trainer *t);
/* Forward + backward only (gradients filled, no update): for gradient checks.
 * Training mode: batch statistics (the moving ones are updated) and dropout
 * masks from Philox(seed, step, layer), so equal (seed, step) repeat exactly. */
es_status es_head_loss_grad(es_head_trainer *t, const float *x, const int *y,
                            const float *weights, int B, uint64_t seed, uint64_t step,
                            double *loss, es_error *err);

typedef struct es_fit_config {
    int epochs;            /* 100 */
    int batch_size;        /* 64 */
    double lr;             /* 1e-3 */
    float beta1, beta2, eps; /* 0.9, 0.999, 1e-7 */
    int patience;          /* 15, 0 = never stop early */
    int lr_patience;       /* 7, 0 = never reduce */
    double lr_factor;      /* 0.5 */
    double min_lr;         /* 1e-7 */
    const float *class_weights; /* num_classes weights or NULL */
    uint64_t seed;
    const volatile int *cancel;
    /* Called after each epoch (1-based); may be NULL. */
    void (*on_epoch)(void *ud, int epoch, int epochs, double loss, double val_loss,
                     double acc, double val_acc, double lr);
    void *ud;
} es_fit_config;
es_fit_config es_fit_default_config(void);

typedef struct es_fit_epoch {
    double loss, accuracy, val_loss, val_accuracy, lr;
} es_fit_epoch;

typedef struct es_fit_history {
    es_fit_epoch *epochs;
    int count;
    int best_epoch;        /* 1-based epoch whose weights were kept */
    int stopped_early;
} es_fit_history;
void es_fit_history_clear(es_fit_history *h);

/* Train on (x, y) with validation (xv, yv); nv may be 0 (then training loss
 * drives early stopping). The best weights by validation loss are restored. */
es_status es_head_fit(es_head *h, const es_fit_config *cfg, const float *x, const int *y,
                      size_t n, const float *xv, const int *yv, size_t nv,
                      es_fit_history *hist, es_error *err);

/* Mean loss and accuracy of the head in inference mode. */
es_status es_head_evaluate(const es_head *h, const float *x, const int *y, size_t n,
                           const float *weights, double *loss, double *accuracy, es_error *err);

#ifdef __cplusplus
}
#endif
#endif
