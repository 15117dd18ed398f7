/*
 * head_internal.h: the layout of an es_head, shared by the files of the
 * classifier module (forward/backward, training loop, file format).
 */
#ifndef ES_CLASSIFIER_HEAD_INTERNAL_H
#define ES_CLASSIFIER_HEAD_INTERNAL_H

#include "ecosight/classifier.h"

#define ES_HEAD_MAX_LAYERS (ES_HEAD_MAX_HIDDEN + 1)

struct es_head {
    es_head_config cfg;
    int nlayers;                    /* num_hidden + 1 */
    int in_dim[ES_HEAD_MAX_LAYERS]; /* per layer */
    int out_dim[ES_HEAD_MAX_LAYERS];
    size_t nparams;
    float *params;                  /* trainable, one block */
    size_t off_w[ES_HEAD_MAX_LAYERS], off_b[ES_HEAD_MAX_LAYERS];
    size_t off_gamma[ES_HEAD_MAX_HIDDEN], off_beta[ES_HEAD_MAX_HIDDEN];
    size_t nbn;
    float *bn;                      /* per hidden layer: moving mean (out), moving var (out) */
    size_t off_mm[ES_HEAD_MAX_HIDDEN], off_mv[ES_HEAD_MAX_HIDDEN];
    int has_norm;
    float *norm_mean;               /* (input_dim) */
    float *norm_std;                /* (input_dim) */
};

/* Validate a configuration (sizes, rates). */
es_status es_head_config_check(const es_head_config *c, es_error *err);
/* Trainable parameter and BN-statistic counts of a (checked) configuration. */
void es_head_config_sizes(const es_head_config *c, size_t *nparams, size_t *nbn);
/* Allocate a zeroed head for cfg (no initialisation). */
es_status es_head_alloc(const es_head_config *cfg, es_head **out, es_error *err);
/* x (B, in) raw -> out (B, in) standardised (copy when no norm). */
void es_head_standardise(const es_head *h, const float *x, float *out, size_t B);

#endif
