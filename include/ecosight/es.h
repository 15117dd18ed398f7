/*
 * ecosight/es.h: the whole public API of libecosight in one include.
 * Each capability also has its own header under include/ecosight/.
 */
#ifndef ECOSIGHT_ES_H
#define ECOSIGHT_ES_H

#include "ecosight/core.h"
#include "ecosight/audio.h"
#include "ecosight/dsp.h"
#include "ecosight/nn.h"
#include "ecosight/yamnet.h"
#include "ecosight/augment.h"
#include "ecosight/classifier.h"
#include "ecosight/pipeline_train.h"
#include "ecosight/pipeline_metrics.h"
#include "ecosight/s3.h"
#include "ecosight/store.h"
#include "ecosight/server.h"
#include "ecosight/server_report.h"
#include "ecosight/pipeline_retrain.h"

#endif
