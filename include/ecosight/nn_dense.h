/*
 * ecosight/nn_dense.h: the kernels of the classifier head: dense layers,
 * ReLU, BatchNorm (train and inference), inverted dropout, softmax with
 * (weighted) categorical cross-entropy, and one Adam step. The llm.c way:
 * outputs first, then inputs and weights, then sizes; backward functions ADD
 * into gradients (zero them first). Nothing allocates or keeps state.
 * Layouts are row-major: activations (B, C); a dense kernel is (C, OC) as
 * Keras stores it, so out = inp @ w + b.
 */
#ifndef ECOSIGHT_NN_DENSE_H
#define ECOSIGHT_NN_DENSE_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out (B, OC) = inp (B, C) @ w (C, OC) + b (OC); b may be NULL. */
void es_dense_forward(float *out, const float *inp, const float *w, const float *b, int B, int C,
                      int OC);
/* dinp (B, C) += dout @ w^T (dinp may be NULL); dw (C, OC) += inp^T @ dout; db (OC) += sum dout. */
void es_dense_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                       const float *w, int B, int C, int OC);

/* In place is allowed (out == inp). */
void es_relu_forward(float *out, const float *inp, size_t n);
/* dinp += dout where out > 0 (out: the forward output). */
void es_relu_backward(float *dinp, const float *dout, const float *out, size_t n);

/* BatchNorm over the batch axis, Keras semantics: y = gamma * (x - mu) /
 * sqrt(var + eps) + beta. Training: mu/var are the batch's (biased variance),
 * saved in mean_out/rstd_out for backward, and the moving statistics are
 * updated moving = momentum * moving + (1 - momentum) * batch. */
void es_batchnorm_forward_train(float *out, float *mean_out, float *rstd_out, float *moving_mean,
                                float *moving_var, const float *inp, const float *gamma,
                                const float *beta, float momentum, float eps, int B, int C);
/* Inference: the moving statistics. In place allowed. */
void es_batchnorm_forward_infer(float *out, const float *inp, const float *gamma,
                                const float *beta, const float *moving_mean,
                                const float *moving_var, float eps, int B, int C);
/* Backward of the training-mode forward (batch statistics). */
void es_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *gamma, const float *mean,
                           const float *rstd, int B, int C);

/* Inverted dropout: out = inp * mask, mask[i] = 0 with probability rate, else
 * 1 / (1 - rate), drawn from the RNG stream. Inference is the identity (do not
 * call it). In place allowed. */
struct es_rng;
void es_dropout_forward(float *out, float *mask, const float *inp, float rate, size_t n,
                        struct es_rng *rng);
void es_dropout_backward(float *dinp, const float *dout, const float *mask, size_t n);

/* Row-wise softmax, numerically stable. In place allowed. */
void es_softmax_forward(float *probs, const float *logits, int B, int K);
/* Categorical cross-entropy of softmax(logits) against integer labels, with
 * optional per-sample weights (NULL = 1). Returns sum(w_i * loss_i) / B (Keras'
 * "sum over batch size"); probabilities are clipped to [1e-7, 1 - 1e-7] in the
 * loss as Keras does. If dlogits is non-NULL it receives (not adds) the
 * gradient w_i * (p - onehot) / B of the unclipped loss. */
double es_softmax_xent(float *dlogits, const float *probs, const int *labels,
                       const float *weights, int B, int K);

/* One Adam step (Keras form): t is the 1-based step.
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps) */
void es_adam_step(float *params, float *m, float *v, const float *grads, size_t n, float lr,
                  float beta1, float beta2, float eps, int64_t t);

#ifdef __cplusplus
}
#endif
#endif
