/*
 * ecosight/nn.h: stateless neural-network kernels, the llm.c way: outputs
 * first, then inputs and weights, then sizes; backward functions ADD into
 * gradients. Used by YAMNet (convolutions, inference only) and by the
 * classifier head (dense layers, BatchNorm, dropout, with backward passes).
 * No kernel allocates or keeps state; callers own every buffer.
 */
#ifndef ECOSIGHT_NN_H
#define ECOSIGHT_NN_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Convolution kernels (YAMNet inference): ecosight/nn_conv.h.
 * Dense layers, BatchNorm, dropout, activations, losses (classifier head):
 * ecosight/nn_dense.h. Include the one you need; this header includes both
 * once they exist. */

#ifdef __cplusplus
}
#endif
#include "ecosight/nn_dense.h"
#endif
