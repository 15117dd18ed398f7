/*
 * yamnet_internal.h (private to yamnet/): the loaded network. Weights are
 * dequantized to float32 once at open and never written again, so one
 * es_yamnet serves every thread; all per-call state lives in the caller's
 * workspace (net.c).
 */
#ifndef ES_YAMNET_INTERNAL_H
#define ES_YAMNET_INTERNAL_H

#include "ecosight/yamnet.h"

#define YAM_LAYERS 13 /* depthwise-separable layers after the first conv */
#define YAM_CONV1_OUT 32

typedef struct yam_layer {
    int cin, cout, stride;
    int h_in, w_in, h_out, w_out; /* per-patch spatial size */
    float *dw_w;      /* [3, 3, cin] (TFLite's [1, 3, 3, cin]) */
    float *dw_b;      /* [cin] */
    float *pw_packed; /* es_conv_pw_pack of [cout, cin] */
    float *pw_b;      /* [cout] */
} yam_layer;

struct yam_frontend;

struct es_yamnet {
    struct yam_frontend *fe; /* FFT plan and mel filterbank */
    char sha256[ES_SHA256_HEX_LEN];
    float *conv1_w;   /* [3, 3, 1, 32] */
    float *conv1_b;   /* [32] */
    yam_layer layers[YAM_LAYERS];
    float *fc_packed; /* es_conv_pw_pack of [521, 1024], when not int8 */
    int8_t *fc_q;     /* [521, 1024] int8 weights (symmetric), when the file has them */
    float *fc_scale;  /* [521] */
    float *fc_b;      /* [521] */
};

extern const int es_yam_strides[YAM_LAYERS];
extern const int es_yam_couts[YAM_LAYERS];

void *es_yam_aligned_alloc(size_t bytes);
void es_yam_aligned_free(void *p);

#endif
