/*
 * tflite.h (private to yamnet/): a small, bounds-checked reader of the TFLite
 * flatbuffer format, enough to find a convolutional network's weights: the
 * operator codes, the first subgraph's tensors (shape, type, buffer bytes,
 * quantization) and operators (inputs, outputs, convolution options).
 *
 * Every offset, length and count read from the file is checked against the
 * file size before use, so a truncated or hostile file yields ES_ERR_MODEL
 * with a message, never an out-of-bounds read. The parsed model points into
 * the caller's bytes (which must outlive it) and owns only its index arrays.
 */
#ifndef ES_YAMNET_TFLITE_H
#define ES_YAMNET_TFLITE_H

#include "ecosight/core.h"

/* The builtin operators we look at (values from TFLite's schema). */
enum {
    TFL_OP_CONV_2D = 3,
    TFL_OP_DEPTHWISE_CONV_2D = 4,
    TFL_OP_DEQUANTIZE = 6,
    TFL_OP_FULLY_CONNECTED = 9,
    TFL_OP_LOGISTIC = 14,
    TFL_OP_MEAN = 40
};
/* Tensor element types. */
enum { TFL_FLOAT32 = 0, TFL_INT32 = 2, TFL_INT8 = 9 };
/* Options. */
enum { TFL_PAD_SAME = 0, TFL_PAD_VALID = 1 };
enum { TFL_ACT_NONE = 0, TFL_ACT_RELU = 1, TFL_ACT_RELU6 = 3 };

#define TFL_MAX_RANK 8

typedef struct tfl_tensor {
    int type;
    int rank;
    int32_t shape[TFL_MAX_RANK];
    const uint8_t *data;   /* constant bytes, NULL when the buffer is empty */
    size_t data_len;
    const uint8_t *scale;  /* little-endian float32 [nscale], NULL when none */
    size_t nscale;
    const uint8_t *zero_point; /* little-endian int64 [nzero], NULL when none */
    size_t nzero;
    int quantized_dim;
    char name[96];         /* truncated copy, for messages only */
} tfl_tensor;

typedef struct tfl_op {
    int code;              /* builtin operator (max of the old and new code fields) */
    int ninputs, noutputs;
    const uint8_t *inputs; /* little-endian int32 [ninputs] (-1 = absent) */
    const uint8_t *outputs;
    int has_options;
    int padding, stride_w, stride_h, dilation_w, dilation_h, depth_multiplier, activation;
} tfl_op;

typedef struct tfl_model {
    uint32_t version;
    size_t ntensors;
    tfl_tensor *tensors;
    size_t nops;
    tfl_op *ops;
} tfl_model;

/* Parse `len` bytes; on failure *m is left empty and err says what and where. */
es_status tfl_parse(const uint8_t *data, size_t len, tfl_model *m, es_error *err);
void tfl_model_clear(tfl_model *m);

int32_t tfl_op_input(const tfl_op *op, int i);
int32_t tfl_op_output(const tfl_op *op, int i);
float tfl_scale(const tfl_tensor *t, size_t i);
int64_t tfl_zero_point(const tfl_tensor *t, size_t i);
/* Number of elements (product of the shape), or -1 on overflow / negative dims. */
int64_t tfl_numel(const tfl_tensor *t);

#endif
