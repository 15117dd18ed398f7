/*
 * evaluate.c: score a saved model on a labelled folder (one sub-folder per
 * class, originals only), exactly as prediction does it: first max_seconds
 * at 16 kHz -> mean YAMNet embedding -> the head. The caller turns the
 * probabilities into metrics (es_metrics_compute).
 */
#include "pipeline_internal.h"

#include "ecosight/audio.h"
#include "ecosight/yamnet.h"

#include <stdlib.h>
#include <string.h>

void es_eval_result_clear(es_eval_result *res)
{
    if (!res)
        return;
    free(res->probs);
    free(res->labels);
    es_strlist_free(&res->files);
    es_strlist_free(&res->bad_files);
    memset(res, 0, sizeof *res);
}

typedef struct ectx {
    const es_model *m;
    const es_yamnet *y;
    char **paths;
    float *probs;
    char **errors;
    es_progress *bar;
} ectx;

static es_status eval_one(void *ctx, int64_t i, int thread_index, es_error *err)
{
    (void)thread_index;
    ectx *c = ctx;
    size_t K = es_model_num_classes(c->m);
    es_error e2;
    es_error_clear(&e2);
    es_status rc = es_model_predict_file(c->m, c->y, c->paths[i], 1, c->probs + (size_t)i * K, &e2);
    if (rc == ES_ERR_NOMEM || rc == ES_ERR_MODEL || rc == ES_ERR_INTERNAL) {
        *err = e2;
        return rc;
    }
    if (rc != ES_OK)
        c->errors[i] = strdup(es_error_text(&e2));
    es_progress_add(c->bar, 1);
    return ES_OK;
}

es_status es_evaluate_dir(const es_model *m, const es_yamnet *y, const char *data_dir,
                          int threads, const es_log *log, es_eval_result *res, es_error *err)
{
    memset(res, 0, sizeof *res);
    size_t K = es_model_num_classes(m);
    res->num_classes = K;
    es_strlist dirs = {0}, paths = {0};
    int *labels = NULL;
    size_t cap = 0;
    ectx c = {0};
    es_status rc = es_list_dir(data_dir, 2, &dirs, err);
    if (rc != ES_OK)
        return rc;
    for (size_t d = 0; d < dirs.count && rc == ES_OK; d++) {
        int k = es_model_class_index(m, dirs.items[d]);
        if (k < 0) {
            rc = es_error_set(err, ES_ERR_INVALID, "%s/%s: the model has no class '%s'", data_dir,
                              dirs.items[d], dirs.items[d]);
            break;
        }
        char *cdir = es_path_join(data_dir, dirs.items[d]);
        es_strlist fl = {0};
        if (!cdir || (rc = es_list_dir(cdir, 1, &fl, err)) != ES_OK) {
            if (!cdir)
                rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            free(cdir);
            break;
        }
        for (size_t i = 0; i < fl.count && rc == ES_OK; i++) {
            if (!es_audio_is_supported_name(fl.items[i]))
                continue;
            char *p = es_path_join(cdir, fl.items[i]);
            char *rel = es_path_join(dirs.items[d], fl.items[i]);
            if (paths.count == cap) {
                cap = cap ? cap * 2 : 256;
                int *nl = realloc(labels, cap * sizeof *nl);
                if (nl)
                    labels = nl;
                else
                    rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            }
            if (rc == ES_OK && p && rel) {
                labels[paths.count] = k;
                if ((rc = es_strlist_push(&paths, p, err)) == ES_OK)
                    rc = es_strlist_push(&res->files, rel, err);
            } else if (rc == ES_OK) {
                rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            }
            free(p);
            free(rel);
        }
        es_strlist_free(&fl);
        free(cdir);
    }
    es_strlist_free(&dirs);
    if (rc == ES_OK && paths.count == 0)
        rc = es_error_set(err, ES_ERR_EMPTY, "%s: no audio files in class folders", data_dir);
    size_t n = paths.count;
    if (rc == ES_OK) {
        c.m = m;
        c.y = y;
        c.paths = paths.items;
        c.probs = malloc(n * K * sizeof(float));
        c.errors = calloc(n, sizeof(char *));
        if (!c.probs || !c.errors)
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    if (rc == ES_OK) {
        c.bar = es_progress_new(log, "evaluate", (int64_t)n, "files");
        rc = es_parallel_for(threads, (int64_t)n, eval_one, &c, err);
        es_progress_done(c.bar);
    }
    if (rc == ES_OK) {
        /* Keep only the scored files, in order. */
        res->probs = malloc(n * K * sizeof(float));
        res->labels = malloc(n * sizeof(int));
        es_strlist kept = {0};
        if (!res->probs || !res->labels)
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n && rc == ES_OK; i++) {
            if (c.errors[i]) {
                rc = es_strlist_push(&res->bad_files, c.errors[i], err);
                continue;
            }
            memcpy(res->probs + res->n * K, c.probs + i * K, K * sizeof(float));
            res->labels[res->n++] = labels[i];
            rc = es_strlist_push(&kept, res->files.items[i], err);
        }
        es_strlist_free(&res->files);
        res->files = kept;
    }
    if (c.errors)
        for (size_t i = 0; i < n; i++)
            free(c.errors[i]);
    free(c.errors);
    free(c.probs);
    free(labels);
    es_strlist_free(&paths);
    if (rc != ES_OK)
        es_eval_result_clear(res);
    return rc;
}
