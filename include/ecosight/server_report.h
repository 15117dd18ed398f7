/*
 * ecosight/server_report.h: `ecosight report`: one self-contained HTML file
 * (the dashboard's CSS and JS inlined, the model's JSON embedded, tables that
 * read without JavaScript) from a model version directory.
 */
#ifndef ECOSIGHT_SERVER_REPORT_H
#define ECOSIGHT_SERVER_REPORT_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* model_dir: a version directory (holding model_metadata.json,
 * performance_metrics.json, training_history.json), or MODELS_DIR/latest, or
 * MODELS_DIR itself (its latest). Missing optional files leave their section
 * out; a missing or malformed performance_metrics.json is an error. The output
 * is written atomically. */
es_status es_report_write(const char *model_dir, const char *out_path, es_error *err);

#ifdef __cplusplus
}
#endif
#endif
