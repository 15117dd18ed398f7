/*
 * train.c: training the head: one forward/backward pass over a mini-batch
 * (activations and gradients kept in a trainer the caller owns), Adam, and
 * the Keras-like fit loop (shuffling, early stopping on validation loss with
 * the best weights restored, learning-rate reduction on plateaus).
 * Every random draw (shuffles, dropout masks) comes from Philox streams keyed
 * by the seed, the epoch or step, and the layer, so a run repeats exactly.
 */
#include "head_internal.h"

#include "ecosight/nn_dense.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct es_head_trainer {
    es_head *h;
    int max_batch;
    int64_t step;                  /* Adam steps taken */
    float *grads;                  /* like params */
    float *m, *v;                  /* Adam moments */
    float *x0;                     /* (B, in) standardised input */
    float *r[ES_HEAD_MAX_HIDDEN];  /* (B, h) ReLU(dense) */
    float *bnout[ES_HEAD_MAX_HIDDEN]; /* (B, h) BatchNorm output */
    float *d[ES_HEAD_MAX_HIDDEN];  /* (B, h) dropout output = next layer's input */
    float *mask[ES_HEAD_MAX_HIDDEN];
    float *mean[ES_HEAD_MAX_HIDDEN], *rstd[ES_HEAD_MAX_HIDDEN];
    float *logits, *probs, *dlogits;
    float *gd[ES_HEAD_MAX_HIDDEN]; /* grad wrt d[l] */
    float *g1, *g2;                /* (B, maxw) scratch */
};

void es_head_trainer_free(es_head_trainer *t)
{
    if (!t)
        return;
    free(t->grads);
    free(t->m);
    free(t->v);
    free(t->x0);
    for (int l = 0; l < ES_HEAD_MAX_HIDDEN; l++) {
        free(t->r[l]);
        free(t->bnout[l]);
        free(t->d[l]);
        free(t->mask[l]);
        free(t->mean[l]);
        free(t->rstd[l]);
        free(t->gd[l]);
    }
    free(t->logits);
    free(t->probs);
    free(t->dlogits);
    free(t->g1);
    free(t->g2);
    free(t);
}

es_status es_head_trainer_new(es_head *h, int max_batch, es_head_trainer **out, es_error *err)
{
    if (max_batch < 1 || max_batch > 65536)
        return es_error_set(err, ES_ERR_INVALID, "head: batch size %d out of range", max_batch);
    es_head_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return es_error_set(err, ES_ERR_NOMEM, "head: out of memory");
    t->h = h;
    t->max_batch = max_batch;
    size_t B = (size_t)max_batch;
    int ok = 1, maxw = h->cfg.input_dim;
    t->grads = calloc(h->nparams, sizeof(float));
    t->m = calloc(h->nparams, sizeof(float));
    t->v = calloc(h->nparams, sizeof(float));
    t->x0 = calloc(B * (size_t)h->cfg.input_dim, sizeof(float));
    ok = t->grads && t->m && t->v && t->x0;
    for (int l = 0; l < h->cfg.num_hidden && ok; l++) {
        size_t n = B * (size_t)h->out_dim[l];
        if (h->out_dim[l] > maxw)
            maxw = h->out_dim[l];
        t->r[l] = calloc(n, sizeof(float));
        t->bnout[l] = calloc(n, sizeof(float));
        t->d[l] = calloc(n, sizeof(float));
        t->mask[l] = calloc(n, sizeof(float));
        t->gd[l] = calloc(n, sizeof(float));
        t->mean[l] = calloc((size_t)h->out_dim[l], sizeof(float));
        t->rstd[l] = calloc((size_t)h->out_dim[l], sizeof(float));
        ok = t->r[l] && t->bnout[l] && t->d[l] && t->mask[l] && t->gd[l] && t->mean[l] &&
             t->rstd[l];
    }
    size_t K = (size_t)h->cfg.num_classes;
    if (ok) {
        t->logits = calloc(B * K, sizeof(float));
        t->probs = calloc(B * K, sizeof(float));
        t->dlogits = calloc(B * K, sizeof(float));
        t->g1 = calloc(B * (size_t)maxw, sizeof(float));
        t->g2 = calloc(B * (size_t)maxw, sizeof(float));
        ok = t->logits && t->probs && t->dlogits && t->g1 && t->g2;
    }
    if (!ok) {
        es_head_trainer_free(t);
        return es_error_set(err, ES_ERR_NOMEM, "head: out of memory for the trainer");
    }
    *out = t;
    return ES_OK;
}

const float *es_head_trainer_grads(const es_head_trainer *t) { return t->grads; }

/* Training-mode forward and backward; gradients overwrite t->grads. */
static double forward_backward(es_head_trainer *t, const float *x, const int *y,
                               const float *weights, int B, uint64_t seed, uint64_t step)
{
    es_head *h = t->h;
    int H = h->cfg.num_hidden, K = h->cfg.num_classes;
    float *P = h->params;
    es_head_standardise(h, x, t->x0, (size_t)B);
    const float *in = t->x0;
    for (int l = 0; l < H; l++) {
        int o = h->out_dim[l];
        size_t n = (size_t)B * o;
        es_dense_forward(t->r[l], in, P + h->off_w[l], P + h->off_b[l], B, h->in_dim[l], o);
        es_relu_forward(t->r[l], t->r[l], n);
        es_batchnorm_forward_train(t->bnout[l], t->mean[l], t->rstd[l], h->bn + h->off_mm[l],
                                   h->bn + h->off_mv[l], t->r[l], P + h->off_gamma[l],
                                   P + h->off_beta[l], h->cfg.bn_momentum, h->cfg.bn_eps, B, o);
        char name[32];
        snprintf(name, sizeof name, "dropout/%d", l);
        es_rng rng;
        es_rng_init(&rng, seed, &step, sizeof step, name);
        es_dropout_forward(t->d[l], t->mask[l], t->bnout[l], h->cfg.dropout[l], n, &rng);
        in = t->d[l];
    }
    es_dense_forward(t->logits, in, P + h->off_w[H], P + h->off_b[H], B, h->in_dim[H], K);
    es_softmax_forward(t->probs, t->logits, B, K);
    double loss = es_softmax_xent(t->dlogits, t->probs, y, weights, B, K);

    memset(t->grads, 0, h->nparams * sizeof(float));
    float *G = t->grads;
    if (H > 0)
        memset(t->gd[H - 1], 0, (size_t)B * h->out_dim[H - 1] * sizeof(float));
    es_dense_backward(H > 0 ? t->gd[H - 1] : NULL, G + h->off_w[H], G + h->off_b[H], t->dlogits,
                      in, P + h->off_w[H], B, h->in_dim[H], K);
    for (int l = H - 1; l >= 0; l--) {
        int o = h->out_dim[l];
        size_t n = (size_t)B * o;
        memset(t->g1, 0, n * sizeof(float));
        es_dropout_backward(t->g1, t->gd[l], t->mask[l], n);
        memset(t->g2, 0, n * sizeof(float));
        es_batchnorm_backward(t->g2, G + h->off_gamma[l], G + h->off_beta[l], t->g1, t->r[l],
                              P + h->off_gamma[l], t->mean[l], t->rstd[l], B, o);
        memset(t->g1, 0, n * sizeof(float));
        es_relu_backward(t->g1, t->g2, t->r[l], n);
        float *dprev = NULL;
        if (l > 0) {
            dprev = t->gd[l - 1];
            memset(dprev, 0, (size_t)B * h->out_dim[l - 1] * sizeof(float));
        }
        es_dense_backward(dprev, G + h->off_w[l], G + h->off_b[l], t->g1,
                          l > 0 ? t->d[l - 1] : t->x0, P + h->off_w[l], B, h->in_dim[l], o);
    }
    return loss;
}

static es_status check_batch(const es_head_trainer *t, const int *y, int B, es_error *err)
{
    if (B < 1 || B > t->max_batch)
        return es_error_set(err, ES_ERR_INVALID, "head: batch of %d (max %d)", B, t->max_batch);
    for (int i = 0; i < B; i++)
        if (y[i] < 0 || y[i] >= t->h->cfg.num_classes)
            return es_error_set(err, ES_ERR_INVALID, "head: label %d out of range", y[i]);
    return ES_OK;
}

es_status es_head_loss_grad(es_head_trainer *t, const float *x, const int *y,
                            const float *weights, int B, uint64_t seed, uint64_t step,
                            double *loss, es_error *err)
{
    es_status rc = check_batch(t, y, B, err);
    if (rc != ES_OK)
        return rc;
    *loss = forward_backward(t, x, y, weights, B, seed, step);
    return ES_OK;
}

es_status es_head_train_step(es_head_trainer *t, const float *x, const int *y,
                             const float *weights, int B, float lr, float beta1, float beta2,
                             float eps, uint64_t seed, double *loss, int *correct,
                             es_error *err)
{
    es_status rc = check_batch(t, y, B, err);
    if (rc != ES_OK)
        return rc;
    t->step++;
    double l = forward_backward(t, x, y, weights, B, seed, (uint64_t)t->step);
    if (!isfinite(l))
        return es_error_set(err, ES_ERR_INTERNAL, "head: loss became %g at step %lld", l,
                            (long long)t->step);
    es_adam_step(t->h->params, t->m, t->v, t->grads, t->h->nparams, lr, beta1, beta2, eps,
                 t->step);
    int K = t->h->cfg.num_classes, c = 0;
    for (int i = 0; i < B; i++) {
        const float *p = t->probs + (size_t)i * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (p[k] > p[best])
                best = k;
        c += best == y[i];
    }
    if (loss)
        *loss = l;
    if (correct)
        *correct = c;
    return ES_OK;
}

es_status es_head_evaluate(const es_head *h, const float *x, const int *y, size_t n,
                           const float *weights, double *loss, double *accuracy, es_error *err)
{
    size_t K = (size_t)h->cfg.num_classes;
    float *p = malloc((n ? n : 1) * K * sizeof(float));
    if (!p)
        return es_error_set(err, ES_ERR_NOMEM, "head: out of memory");
    es_status rc = es_head_predict(h, x, n, p, err);
    if (rc == ES_OK) {
        double l = 0.0;
        size_t c = 0;
        for (size_t i = 0; i < n; i++) {
            const float *pi = p + i * K;
            double py = pi[y[i]];
            py = py < 1e-7 ? 1e-7 : (py > 1.0 - 1e-7 ? 1.0 - 1e-7 : py);
            l += -(weights ? weights[i] : 1.0f) * log(py);
            size_t best = 0;
            for (size_t k = 1; k < K; k++)
                if (pi[k] > pi[best])
                    best = k;
            c += (int)best == y[i];
        }
        if (loss)
            *loss = n ? l / (double)n : 0.0;
        if (accuracy)
            *accuracy = n ? (double)c / (double)n : 0.0;
    }
    free(p);
    return rc;
}

es_fit_config es_fit_default_config(void)
{
    es_fit_config c = {0};
    c.epochs = 100;
    c.batch_size = 64;
    c.lr = 1e-3;
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.eps = 1e-7f;
    c.patience = 15;
    c.lr_patience = 7;
    c.lr_factor = 0.5;
    c.min_lr = 1e-7;
    c.seed = 42;
    return c;
}

void es_fit_history_clear(es_fit_history *h)
{
    if (!h)
        return;
    free(h->epochs);
    memset(h, 0, sizeof *h);
}

es_status es_head_fit(es_head *h, const es_fit_config *cfg, const float *x, const int *y,
                      size_t n, const float *xv, const int *yv, size_t nv,
                      es_fit_history *hist, es_error *err)
{
    if (n == 0)
        return es_error_set(err, ES_ERR_EMPTY, "head: no training samples");
    if (cfg->epochs < 1 || cfg->batch_size < 1)
        return es_error_set(err, ES_ERR_INVALID, "head: epochs and batch size must be >= 1");
    size_t D = (size_t)h->cfg.input_dim;
    int Bmax = cfg->batch_size;
    es_head_trainer *t = NULL;
    es_head *best = NULL;
    size_t *idx = malloc(n * sizeof *idx);
    float *bx = malloc((size_t)Bmax * D * sizeof(float));
    int *by = malloc((size_t)Bmax * sizeof(int));
    float *bw = malloc((size_t)Bmax * sizeof(float));
    es_fit_epoch *ep = calloc((size_t)cfg->epochs, sizeof *ep);
    es_status rc = ES_OK;
    if (!idx || !bx || !by || !bw || !ep) {
        rc = es_error_set(err, ES_ERR_NOMEM, "head: out of memory");
        goto done;
    }
    if ((rc = es_head_trainer_new(h, Bmax, &t, err)) != ES_OK ||
        (rc = es_head_clone(h, &best, err)) != ES_OK)
        goto done;
    double best_loss = DBL_MAX, plateau_best = DBL_MAX;
    int wait = 0, lr_wait = 0, best_epoch = 0, count = 0, stopped = 0;
    double lr = cfg->lr; /* double so the history reads 0.0005, not 0.000500000023 */
    for (int e = 0; e < cfg->epochs; e++) {
        if (cfg->cancel && *cfg->cancel) {
            rc = es_error_set(err, ES_ERR_CANCELLED, "training cancelled at epoch %d", e + 1);
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        es_rng r;
        uint64_t ekey = (uint64_t)e;
        es_rng_init(&r, cfg->seed, &ekey, sizeof ekey, "shuffle");
        es_rng_shuffle(&r, idx, n);
        double sum_loss = 0.0;
        long correct = 0;
        for (size_t s = 0; s < n; s += (size_t)Bmax) {
            int B = (int)(n - s < (size_t)Bmax ? n - s : (size_t)Bmax);
            for (int i = 0; i < B; i++) {
                size_t k = idx[s + (size_t)i];
                memcpy(bx + (size_t)i * D, x + k * D, D * sizeof(float));
                by[i] = y[k];
                bw[i] = cfg->class_weights ? cfg->class_weights[y[k]] : 1.0f;
            }
            double l;
            int c;
            rc = es_head_train_step(t, bx, by, cfg->class_weights ? bw : NULL, B, (float)lr, cfg->beta1,
                                    cfg->beta2, cfg->eps, cfg->seed, &l, &c, err);
            if (rc != ES_OK)
                goto done;
            sum_loss += l * B;
            correct += c;
        }
        es_fit_epoch *E = &ep[count++];
        E->loss = sum_loss / (double)n;
        E->accuracy = (double)correct / (double)n;
        E->lr = lr;
        E->val_loss = NAN;
        E->val_accuracy = NAN;
        if (nv > 0 &&
            (rc = es_head_evaluate(h, xv, yv, nv, NULL, &E->val_loss, &E->val_accuracy, err)) !=
                ES_OK)
            goto done;
        if (cfg->on_epoch)
            cfg->on_epoch(cfg->ud, e + 1, cfg->epochs, E->loss, E->val_loss, E->accuracy,
                          E->val_accuracy, lr);
        double mon = nv > 0 ? E->val_loss : E->loss;
        /* EarlyStopping(min_delta=0, restore_best_weights=True) */
        if (mon < best_loss) {
            best_loss = mon;
            best_epoch = e + 1;
            wait = 0;
            es_head_copy_weights(best, h);
        } else if (cfg->patience > 0 && ++wait >= cfg->patience) {
            stopped = 1;
            break;
        }
        /* ReduceLROnPlateau(factor, patience, min_lr, min_delta=1e-4) */
        if (mon < plateau_best - 1e-4) {
            plateau_best = mon;
            lr_wait = 0;
        } else if (cfg->lr_patience > 0 && ++lr_wait >= cfg->lr_patience) {
            if (lr > cfg->min_lr) {
                lr = lr * cfg->lr_factor;
                if (lr < cfg->min_lr)
                    lr = cfg->min_lr;
            }
            lr_wait = 0;
        }
    }
    if (best_epoch > 0)
        es_head_copy_weights(h, best);
    if (hist) {
        hist->epochs = ep;
        ep = NULL;
        hist->count = count;
        hist->best_epoch = best_epoch;
        hist->stopped_early = stopped;
    }
done:
    free(ep);
    free(idx);
    free(bx);
    free(by);
    free(bw);
    es_head_trainer_free(t);
    es_head_free(best);
    return rc;
}
