/*
 * head.c: the classifier head's parameters, Keras-style initialisation,
 * input standardisation and the inference forward pass.
 */
#include "head_internal.h"

#include "ecosight/nn_dense.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

es_head_config es_head_default_config(int input_dim, int num_classes)
{
    es_head_config c = {0};
    c.input_dim = input_dim;
    c.num_classes = num_classes;
    c.num_hidden = 4;
    int h[4] = {512, 256, 128, 64};
    float d[4] = {0.5f, 0.4f, 0.3f, 0.2f};
    for (int i = 0; i < 4; i++) {
        c.hidden[i] = h[i];
        c.dropout[i] = d[i];
    }
    c.bn_momentum = 0.99f;
    c.bn_eps = 1e-3f;
    return c;
}

es_status es_head_config_check(const es_head_config *c, es_error *err)
{
    if (c->input_dim < 1 || c->input_dim > ES_HEAD_MAX_DIM)
        return es_error_set(err, ES_ERR_INVALID, "head: input_dim %d out of range", c->input_dim);
    if (c->num_classes < 2 || c->num_classes > ES_HEAD_MAX_CLASSES)
        return es_error_set(err, ES_ERR_INVALID, "head: num_classes %d out of range (2..%d)",
                            c->num_classes, ES_HEAD_MAX_CLASSES);
    if (c->num_hidden < 0 || c->num_hidden > ES_HEAD_MAX_HIDDEN)
        return es_error_set(err, ES_ERR_INVALID, "head: %d hidden layers (0..%d)", c->num_hidden,
                            ES_HEAD_MAX_HIDDEN);
    for (int i = 0; i < c->num_hidden; i++) {
        if (c->hidden[i] < 1 || c->hidden[i] > ES_HEAD_MAX_DIM)
            return es_error_set(err, ES_ERR_INVALID, "head: hidden layer %d has %d units", i,
                                c->hidden[i]);
        if (!(c->dropout[i] >= 0.0f && c->dropout[i] < 1.0f))
            return es_error_set(err, ES_ERR_INVALID, "head: dropout %g must be in [0, 1)",
                                (double)c->dropout[i]);
    }
    if (!(c->bn_momentum >= 0.0f && c->bn_momentum <= 1.0f) || !(c->bn_eps > 0.0f))
        return es_error_set(err, ES_ERR_INVALID, "head: bad BatchNorm momentum/epsilon");
    return ES_OK;
}

void es_head_config_sizes(const es_head_config *c, size_t *nparams, size_t *nbn)
{
    size_t np = 0, bn = 0, in = (size_t)c->input_dim;
    for (int l = 0; l <= c->num_hidden; l++) {
        size_t o = (size_t)(l < c->num_hidden ? c->hidden[l] : c->num_classes);
        np += in * o + o + (l < c->num_hidden ? 2 * o : 0);
        bn += l < c->num_hidden ? 2 * o : 0;
        in = o;
    }
    *nparams = np;
    *nbn = bn;
}

es_status es_head_alloc(const es_head_config *cfg, es_head **out, es_error *err)
{
    es_status rc = es_head_config_check(cfg, err);
    if (rc != ES_OK)
        return rc;
    es_head *h = calloc(1, sizeof *h);
    if (!h)
        return es_error_set(err, ES_ERR_NOMEM, "head: out of memory");
    h->cfg = *cfg;
    h->nlayers = cfg->num_hidden + 1;
    size_t off = 0, bn = 0;
    int in = cfg->input_dim;
    for (int l = 0; l < h->nlayers; l++) {
        int o = l < cfg->num_hidden ? cfg->hidden[l] : cfg->num_classes;
        h->in_dim[l] = in;
        h->out_dim[l] = o;
        h->off_w[l] = off;
        off += (size_t)in * o;
        h->off_b[l] = off;
        off += o;
        if (l < cfg->num_hidden) {
            h->off_gamma[l] = off;
            off += o;
            h->off_beta[l] = off;
            off += o;
            h->off_mm[l] = bn;
            bn += o;
            h->off_mv[l] = bn;
            bn += o;
        }
        in = o;
    }
    h->nparams = off;
    h->nbn = bn;
    h->params = calloc(off, sizeof(float));
    h->bn = calloc(bn ? bn : 1, sizeof(float));
    h->norm_mean = calloc((size_t)cfg->input_dim, sizeof(float));
    h->norm_std = calloc((size_t)cfg->input_dim, sizeof(float));
    if (!h->params || !h->bn || !h->norm_mean || !h->norm_std) {
        es_head_free(h);
        return es_error_set(err, ES_ERR_NOMEM, "head: out of memory for %zu parameters", off);
    }
    *out = h;
    return ES_OK;
}

es_status es_head_new(const es_head_config *cfg, uint64_t seed, es_head **out, es_error *err)
{
    es_head *h;
    es_status rc = es_head_alloc(cfg, &h, err);
    if (rc != ES_OK)
        return rc;
    for (int l = 0; l < h->nlayers; l++) {
        /* Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)). */
        char name[32];
        snprintf(name, sizeof name, "glorot/%d", l);
        es_rng r;
        es_rng_init(&r, seed, NULL, 0, name);
        double a = sqrt(6.0 / (double)(h->in_dim[l] + h->out_dim[l]));
        float *w = h->params + h->off_w[l];
        size_t n = (size_t)h->in_dim[l] * h->out_dim[l];
        for (size_t i = 0; i < n; i++)
            w[i] = (float)es_rng_uniform_range(&r, -a, a);
        if (l < cfg->num_hidden) {
            for (int i = 0; i < h->out_dim[l]; i++) {
                h->params[h->off_gamma[l] + i] = 1.0f;
                h->bn[h->off_mv[l] + i] = 1.0f;
            }
        }
    }
    for (int i = 0; i < cfg->input_dim; i++)
        h->norm_std[i] = 1.0f;
    *out = h;
    return ES_OK;
}

es_status es_head_clone(const es_head *src, es_head **out, es_error *err)
{
    es_head *h;
    es_status rc = es_head_alloc(&src->cfg, &h, err);
    if (rc != ES_OK)
        return rc;
    es_head_copy_weights(h, src);
    *out = h;
    return ES_OK;
}

void es_head_copy_weights(es_head *dst, const es_head *src)
{
    memcpy(dst->params, src->params, src->nparams * sizeof(float));
    memcpy(dst->bn, src->bn, src->nbn * sizeof(float));
    memcpy(dst->norm_mean, src->norm_mean, (size_t)src->cfg.input_dim * sizeof(float));
    memcpy(dst->norm_std, src->norm_std, (size_t)src->cfg.input_dim * sizeof(float));
    dst->has_norm = src->has_norm;
}

void es_head_free(es_head *h)
{
    if (!h)
        return;
    free(h->params);
    free(h->bn);
    free(h->norm_mean);
    free(h->norm_std);
    free(h);
}

const es_head_config *es_head_get_config(const es_head *h) { return &h->cfg; }
size_t es_head_num_params(const es_head *h) { return h->nparams; }
float *es_head_params(es_head *h) { return h->params; }
const float *es_head_params_const(const es_head *h) { return h->params; }
int es_head_has_norm(const es_head *h) { return h->has_norm; }

es_status es_head_set_norm(es_head *h, const float *mean, const float *std, es_error *err)
{
    for (int i = 0; i < h->cfg.input_dim; i++) {
        if (!isfinite(mean[i]) || !isfinite(std[i]) || std[i] < 0.0f)
            return es_error_set(err, ES_ERR_INVALID,
                                "head: standardisation value %d is not finite/positive", i);
    }
    for (int i = 0; i < h->cfg.input_dim; i++) {
        h->norm_mean[i] = mean[i];
        h->norm_std[i] = std[i] > 1e-6f ? std[i] : 1.0f;
    }
    h->has_norm = 1;
    return ES_OK;
}

void es_head_standardise(const es_head *h, const float *x, float *out, size_t B)
{
    size_t D = (size_t)h->cfg.input_dim;
    if (!h->has_norm) {
        memcpy(out, x, B * D * sizeof(float));
        return;
    }
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < D; j++)
            out[i * D + j] = (x[i * D + j] - h->norm_mean[j]) / h->norm_std[j];
}

es_status es_head_predict(const es_head *h, const float *x, size_t B, float *probs,
                          es_error *err)
{
    if (B == 0)
        return ES_OK;
    int maxw = h->cfg.input_dim;
    for (int l = 0; l < h->nlayers; l++)
        if (h->out_dim[l] > maxw)
            maxw = h->out_dim[l];
    /* Chunks bound the scratch whatever B is. */
    size_t chunk = B < 256 ? B : 256;
    float *a = malloc(chunk * (size_t)maxw * sizeof(float));
    float *b = malloc(chunk * (size_t)maxw * sizeof(float));
    if (!a || !b) {
        free(a);
        free(b);
        return es_error_set(err, ES_ERR_NOMEM, "head: out of memory for a batch of %zu", B);
    }
    size_t D = (size_t)h->cfg.input_dim, K = (size_t)h->cfg.num_classes;
    for (size_t s = 0; s < B; s += chunk) {
        int n = (int)(B - s < chunk ? B - s : chunk);
        es_head_standardise(h, x + s * D, a, (size_t)n);
        for (int l = 0; l < h->nlayers; l++) {
            const float *w = h->params + h->off_w[l], *bias = h->params + h->off_b[l];
            es_dense_forward(b, a, w, bias, n, h->in_dim[l], h->out_dim[l]);
            if (l < h->cfg.num_hidden) {
                size_t cnt = (size_t)n * h->out_dim[l];
                es_relu_forward(b, b, cnt);
                es_batchnorm_forward_infer(a, b, h->params + h->off_gamma[l],
                                           h->params + h->off_beta[l], h->bn + h->off_mm[l],
                                           h->bn + h->off_mv[l], h->cfg.bn_eps, n, h->out_dim[l]);
            } else {
                es_softmax_forward(probs + s * K, b, n, (int)K);
            }
        }
    }
    free(a);
    free(b);
    return ES_OK;
}
