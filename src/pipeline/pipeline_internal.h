/*
 * pipeline_internal.h: helpers shared by the training, evaluation and model
 * files of the pipeline module (JSON documents through cJSON).
 */
#ifndef ES_PIPELINE_INTERNAL_H
#define ES_PIPELINE_INTERNAL_H

#include "ecosight/pipeline_metrics.h"
#include "ecosight/pipeline_train.h"

#include <cjson/cJSON.h>

#define ES_MODEL_HEAD_FILE "head.esh"
#define ES_JSON_MAX (64u * 1024u * 1024u)

/* Write a cJSON document atomically (pretty-printed); does not free it. */
es_status es_json_write(const char *path, const cJSON *doc, es_error *err);
/* Read and parse a JSON file (capped at ES_JSON_MAX). */
es_status es_json_read(const char *path, cJSON **out, es_error *err);
/* The performance_metrics.json object for metrics m. */
cJSON *es_metrics_to_cjson(const es_metrics *m, const char *const *class_names);
/* {class: {threshold, precision, recall}} of thresholds thr[] on (probs, labels). */
cJSON *es_threshold_metrics_cjson(const float *probs, const int *labels, size_t n, size_t K,
                                  const float *thr, const char *const *names);
/* A double as a JSON number, or null when not finite. */
cJSON *es_json_num(double v);
/* The params string of the feature cache key and model_metadata.json:
 * YAMNet's front end (sample rate included), max_seconds, the pooling and
 * augment.h's ES_AUG_VERSION, so a cached embedding never outlives the
 * augmentation code that made its samples. cap >= 256 holds it. */
void es_feature_params(double max_seconds, char *out, size_t cap);
/* The same for an explicit augmentation version (tests). */
void es_feature_params_for(double max_seconds, int aug_version, char *out, size_t cap);

#endif
