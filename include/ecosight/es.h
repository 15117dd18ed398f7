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
#include "ecosight/server_report.h"

#endif
