/*
 * train_run.c: `ecosight train`: a folder of labelled recordings -> a new
 * model version. Stages: scan, grouped stratified split of the ORIGINALS,
 * features (decode at 16 kHz, in-memory augmentation of train/val originals,
 * mean YAMNet embedding of the first max_seconds, through the optional feature
 * cache), standardisation with the training split's statistics, the head,
 * test metrics and validation thresholds, artifacts in a temporary directory
 * renamed into place, then `latest` and retraining_log.json. Nothing touches
 * `latest` unless every step before succeeded.
 */
#include "pipeline_internal.h"

#include "ecosight/audio.h"
#include "ecosight/augment.h"
#include "ecosight/classifier.h"
#include "ecosight/yamnet.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

es_train_config es_train_default_config(void)
{
    es_train_config c;
    memset(&c, 0, sizeof c);
    c.seed = 42;
    c.per_file = 5;
    c.split[0] = 0.70;
    c.split[1] = 0.15;
    c.split[2] = 0.15;
    c.max_seconds = 4.0;
    c.epochs = 100;
    c.batch_size = 64;
    c.learning_rate = 1e-3;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.adam_eps = 1e-7;
    c.bn_momentum = 0.99;
    c.bn_eps = 1e-3;
    c.num_hidden = 4;
    int h[4] = {512, 256, 128, 64};
    double d[4] = {0.5, 0.4, 0.3, 0.2};
    for (int i = 0; i < 4; i++) {
        c.hidden[i] = h[i];
        c.dropout[i] = d[i];
    }
    c.patience = 15;
    c.lr_patience = 7;
    c.lr_factor = 0.5;
    c.min_lr = 1e-7;
    c.gun_shot_min_recall = 0.95;
    c.set_latest = 1;
    return c;
}

void es_train_result_clear(es_train_result *res)
{
    if (!res)
        return;
    free(res->version);
    free(res->version_dir);
    es_strlist_free(&res->bad_files);
    memset(res, 0, sizeof *res);
}

/* One original recording and what became of it. */
typedef struct file_item {
    char *path;     /* DATA_DIR/class/name */
    char *rel;      /* class/name */
    int label;
    uint8_t split;
    int nvar;       /* rows produced: 1 + augmentations (0 when bad) */
    int aug[ES_AUG_COUNT];
    float *rows;    /* nvar x 1024 */
    char *error;    /* why it was skipped */
    uint8_t key[32];
} file_item;

typedef struct run {
    const es_train_config *cfg;
    const es_yamnet *y;
    char **classes;
    size_t K;
    file_item *files;
    size_t n;
    int *per_file_class; /* augmentations per original, by class */
    char params[512];
    const char *ysha;
    es_progress *bar;
    int64_t done;
    int64_t hits, misses;
} run;

static void progress(const run *r, const char *stage, int64_t done, int64_t total)
{
    if (r->cfg->progress)
        r->cfg->progress(r->cfg->progress_ud, stage, done, total);
}

static int cancelled(const run *r)
{
    return r->cfg->cancel && *r->cfg->cancel;
}

static es_status scan(run *r, es_error *err)
{
    const es_train_config *c = r->cfg;
    es_strlist dirs = {0};
    es_status rc = es_list_dir(c->data_dir, 2, &dirs, err);
    if (rc != ES_OK)
        return rc;
    if (dirs.count < 2) {
        es_strlist_free(&dirs);
        return es_error_set(err, ES_ERR_INVALID,
                            "%s: needs at least two class folders, found %zu", c->data_dir,
                            dirs.count);
    }
    r->K = dirs.count;
    r->classes = dirs.items; /* sorted: the seed's class_names.json order */
    size_t cap = 0;
    for (size_t k = 0; k < r->K; k++) {
        char *cdir = es_path_join(c->data_dir, r->classes[k]);
        es_strlist fl = {0};
        if (!cdir)
            return es_error_set(err, ES_ERR_NOMEM, "out of memory");
        rc = es_list_dir(cdir, 1, &fl, err);
        if (rc != ES_OK) {
            free(cdir);
            return rc;
        }
        size_t taken = 0;
        for (size_t i = 0; i < fl.count; i++) {
            if (!es_audio_is_supported_name(fl.items[i]))
                continue;
            if (c->max_files_per_class > 0 && taken >= (size_t)c->max_files_per_class)
                break;
            if (r->n == cap) {
                cap = cap ? cap * 2 : 256;
                file_item *nf = realloc(r->files, cap * sizeof *nf);
                if (!nf) {
                    es_strlist_free(&fl);
                    free(cdir);
                    return es_error_set(err, ES_ERR_NOMEM, "out of memory");
                }
                r->files = nf;
            }
            file_item *f = &r->files[r->n];
            memset(f, 0, sizeof *f);
            f->path = es_path_join(cdir, fl.items[i]);
            f->rel = es_path_join(r->classes[k], fl.items[i]);
            f->label = (int)k;
            r->n++;
            if (!f->path || !f->rel) {
                es_strlist_free(&fl);
                free(cdir);
                return es_error_set(err, ES_ERR_NOMEM, "out of memory");
            }
            taken++;
        }
        es_strlist_free(&fl);
        free(cdir);
        if (taken == 0)
            return es_error_set(err, ES_ERR_EMPTY, "%s/%s: no audio files", c->data_dir,
                                r->classes[k]);
    }
    return ES_OK;
}

static es_status do_split(run *r, char ***keys_out, es_error *err)
{
    const char **names = malloc(r->n * sizeof *names);
    int *labels = malloc(r->n * sizeof *labels);
    uint8_t *as = malloc(r->n);
    char **keys = NULL;
    es_status rc;
    if (!names || !labels || !as) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < r->n; i++) {
        /* The pattern sees file names; without one, each file is its own group. */
        names[i] = r->cfg->group_pattern ? es_path_base(r->files[i].rel) : r->files[i].rel;
        labels[i] = r->files[i].label;
    }
    rc = es_split_group_keys(names, r->n, r->cfg->group_pattern, &keys, err);
    if (rc == ES_OK)
        rc = es_split_grouped((const char *const *)keys, labels, r->n, (int)r->K, r->cfg->split,
                              r->cfg->seed, as, err);
    if (rc == ES_OK)
        for (size_t i = 0; i < r->n; i++)
            r->files[i].split = as[i];
done:
    if (rc == ES_OK)
        *keys_out = keys;
    else
        es_split_keys_free(keys, r->n);
    free(names);
    free(labels);
    free(as);
    return rc;
}

/* Mark a recording as skipped: "path: reason" goes to the bad-files list,
 * the summary and split.json; the run goes on without it. Returns 0, or -1
 * when even the message could not be allocated. */
static int skip_file(file_item *f, const char *fmt, ...) ES_PRINTF(2, 3);
static int skip_file(file_item *f, const char *fmt, ...)
{
    char reason[2 * ES_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    free(f->rows);
    f->rows = NULL;
    f->nvar = 0;
    free(f->error);
    size_t n = strlen(f->path) + strlen(reason) + 3;
    f->error = malloc(n);
    if (!f->error)
        return -1;
    snprintf(f->error, n, "%s: %s", f->path, reason);
    return 0;
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* Only running out of memory or a cancel stops the whole run; anything else
 * that goes wrong with one recording (decode, augmentation, embedding) is that
 * recording's problem: one bad upload must not stop a nightly retrain. */
static int fatal_status(es_status rc)
{
    return rc == ES_ERR_NOMEM || rc == ES_ERR_CANCELLED;
}

/* Worker: one original -> its rows (original + augmentations). */
static es_status feature_one(void *ctx, int64_t i, int thread_index, es_error *err)
{
    (void)thread_index;
    run *r = ctx;
    file_item *f = &r->files[i];
    const es_train_config *c = r->cfg;
    if (cancelled(r))
        return es_error_set(err, ES_ERR_CANCELLED, "training cancelled");
    es_audio a = {0};
    es_audio_load_opts o = es_audio_load_default_opts();
    o.sample_rate = ES_YAMNET_SAMPLE_RATE;
    o.max_seconds = c->max_seconds;
    es_error e2;
    es_error_clear(&e2);
    const float *waves[1 + ES_AUG_COUNT];
    size_t lens[1 + ES_AUG_COUNT];
    float *owned[1 + ES_AUG_COUNT] = {0};
    int miss_idx[1 + ES_AUG_COUNT];
    int nmiss = 0;
    float *emb = NULL;
    es_status rc = es_audio_load_file(f->path, &o, &a, &e2);
    if (rc == ES_OK && a.frames == 0) {
        rc = ES_ERR_EMPTY;
        es_error_set(&e2, rc, "%s: no audio", f->path);
    }
    if (rc != ES_OK) {
        if (fatal_status(rc))
            goto fatal;
        /* the decoder's message names the file already */
        free(f->error);
        f->error = strdup(es_error_text(&e2));
        f->nvar = 0;
        if (!f->error)
            goto oom;
        goto counted;
    }
    es_audio_key(a.samples, (size_t)a.frames, f->key);
    int k = 0;
    if (f->split != ES_SPLIT_TEST) {
        int want = r->per_file_class[f->label];
        if (want > 0)
            k = es_augment_plan(f->key, c->seed, want, 0, f->aug);
    }
    f->nvar = 1 + k;
    f->rows = malloc((size_t)f->nvar * ES_EMBED_DIM * sizeof(float));
    if (!f->rows) {
        rc = es_error_set(&e2, ES_ERR_NOMEM, "out of memory");
        goto fatal;
    }
    size_t cap = (size_t)(c->max_seconds * ES_YAMNET_SAMPLE_RATE);
    for (int v = 0; v < f->nvar; v++) {
        const char *aug = v == 0 ? "original" : es_augment_name(f->aug[v - 1]);
        if (c->cache && c->cache->get &&
            c->cache->get(c->cache->ud, f->key, aug, v == 0 ? 0 : c->seed, r->ysha, r->params,
                          f->rows + (size_t)v * ES_EMBED_DIM, ES_EMBED_DIM) == 1 &&
            all_finite(f->rows + (size_t)v * ES_EMBED_DIM, ES_EMBED_DIM)) {
            __atomic_fetch_add(&r->hits, 1, __ATOMIC_RELAXED);
            continue;
        }
        __atomic_fetch_add(&r->misses, 1, __ATOMIC_RELAXED);
        if (v == 0) {
            waves[nmiss] = a.samples;
            lens[nmiss] = (size_t)a.frames;
        } else {
            float *out = NULL;
            size_t out_n = 0;
            rc = es_augment_apply(a.samples, (size_t)a.frames, ES_YAMNET_SAMPLE_RATE,
                                  f->aug[v - 1], c->seed, f->key, &out, &out_n, &e2);
            if (rc != ES_OK) {
                if (fatal_status(rc))
                    goto fatal;
                if (skip_file(f, "augmentation %s failed: %s", aug, es_error_text(&e2)))
                    goto oom;
                goto counted;
            }
            owned[nmiss] = out;
            waves[nmiss] = out;
            lens[nmiss] = out_n < cap ? out_n : cap;
            if (!all_finite(out, lens[nmiss])) {
                nmiss++; /* freed below */
                if (skip_file(f, "augmentation %s produced non-finite samples (input too loud?)",
                              aug))
                    goto oom;
                goto counted;
            }
        }
        miss_idx[nmiss++] = v;
    }
    /* The original's embedding does not depend on the seed: it is cached
     * under seed 0 so runs with other seeds reuse it. */
    if (nmiss > 0) {
        emb = malloc((size_t)nmiss * ES_EMBED_DIM * sizeof(float));
        if (!emb) {
            rc = es_error_set(&e2, ES_ERR_NOMEM, "out of memory");
            goto fatal;
        }
        rc = es_yamnet_embed_mean_batch(r->y, waves, lens, (size_t)nmiss, 1, emb, &e2);
        if (rc != ES_OK) {
            if (fatal_status(rc))
                goto fatal;
            if (skip_file(f, "YAMNet embedding failed: %s", es_error_text(&e2)))
                goto oom;
            goto counted;
        }
        if (!all_finite(emb, (size_t)nmiss * ES_EMBED_DIM)) {
            if (skip_file(f, "YAMNet embedding is not finite (samples too large?)"))
                goto oom;
            goto counted;
        }
        for (int q = 0; q < nmiss; q++) {
            int v = miss_idx[q];
            memcpy(f->rows + (size_t)v * ES_EMBED_DIM, emb + (size_t)q * ES_EMBED_DIM,
                   ES_EMBED_DIM * sizeof(float));
            if (c->cache && c->cache->put)
                c->cache->put(c->cache->ud, f->key,
                              v == 0 ? "original" : es_augment_name(f->aug[v - 1]),
                              v == 0 ? 0 : c->seed,
                              r->ysha, r->params, emb + (size_t)q * ES_EMBED_DIM, ES_EMBED_DIM);
        }
    }
counted:;
    free(emb);
    for (int q = 0; q < nmiss; q++)
        free(owned[q]);
    es_audio_clear(&a);
    int64_t d = __atomic_add_fetch(&r->done, 1, __ATOMIC_RELAXED);
    es_progress_add(r->bar, 1);
    progress(r, "features", d, (int64_t)r->n);
    return ES_OK;
fatal:
    free(emb);
    for (int q = 0; q < nmiss; q++)
        free(owned[q]);
    es_audio_clear(&a);
    *err = e2;
    es_error_prefix(err, "%s", f->path);
    return rc;
oom:
    rc = es_error_set(&e2, ES_ERR_NOMEM, "out of memory");
    goto fatal;
}

typedef struct mat {
    float *x;
    int *y;
    size_t n;
} mat;

static es_status gather(const run *r, int split, int originals_only, mat *m, es_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->files[i].split == split)
            n += originals_only ? (r->files[i].nvar > 0) : (size_t)r->files[i].nvar;
    m->n = n;
    m->x = malloc((n ? n : 1) * ES_EMBED_DIM * sizeof(float));
    m->y = malloc((n ? n : 1) * sizeof(int));
    if (!m->x || !m->y)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for %zu feature rows", n);
    size_t q = 0;
    for (size_t i = 0; i < r->n; i++) {
        const file_item *f = &r->files[i];
        if (f->split != split || f->nvar == 0)
            continue;
        int nv = originals_only ? 1 : f->nvar;
        memcpy(m->x + q * ES_EMBED_DIM, f->rows, (size_t)nv * ES_EMBED_DIM * sizeof(float));
        for (int v = 0; v < nv; v++)
            m->y[q + (size_t)v] = f->label;
        q += (size_t)nv;
    }
    return ES_OK;
}

static void mat_free(mat *m)
{
    free(m->x);
    free(m->y);
}

typedef struct epoch_ctx {
    const run *r;
} epoch_ctx;

static void on_epoch(void *ud, int epoch, int epochs, double loss, double val_loss, double acc,
                     double val_acc, double lr)
{
    const run *r = ud;
    es_log_info(r->cfg->log,
                "epoch %3d/%d  loss %.4f  acc %.4f  val_loss %.4f  val_acc %.4f  lr %.2g", epoch,
                epochs, loss, acc, val_loss, val_acc, lr);
    progress(r, "train", epoch, epochs);
}

static cJSON *str_array(char **items, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(items[i]));
    return a;
}

/* Write every artifact into dir (a fresh temporary directory). */
static es_status write_artifacts(const run *r, const char *dir, const char *version,
                                 const es_head *head, const es_fit_history *hist,
                                 const es_metrics *tm, const float *tprobs,
                                 const int *tlabels, const float *thr, const float *cw,
                                 char **keys, const es_train_result *res, es_error *err)
{
    const es_train_config *c = r->cfg;
    es_status rc;
    char *p = es_path_join(dir, ES_MODEL_HEAD_FILE);
    if (!p)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    rc = es_head_save(head, p, err);
    free(p);
    if (rc != ES_OK)
        return rc;
    cJSON *names = str_array(r->classes, r->K);
    p = es_path_join(dir, "class_names.json");
    rc = es_json_write(p, names, err);
    free(p);
    if (rc != ES_OK) {
        cJSON_Delete(names);
        return rc;
    }

    /* model_metadata.json: the seed's keys first, ours beside them. */
    char date[32];
    es_utc_iso8601(es_unix_time(), date);
    cJSON *md = cJSON_CreateObject();
    cJSON_AddStringToObject(md, "model_name", "ecosight_yamnet_classifier");
    cJSON_AddStringToObject(md, "model_type", "YAMNet embeddings + dense head");
    cJSON_AddStringToObject(md, "training_date", date);
    cJSON_AddNumberToObject(md, "num_classes", (double)r->K);
    cJSON_AddItemToObject(md, "classes", names);
    cJSON *shape = cJSON_AddArrayToObject(md, "input_shape");
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(ES_EMBED_DIM));
    cJSON_AddItemToObject(md, "test_accuracy", es_json_num(tm->accuracy));
    cJSON_AddItemToObject(md, "test_loss", es_json_num(tm->loss));
    cJSON_AddNumberToObject(md, "sample_rate", ES_YAMNET_SAMPLE_RATE);
    cJSON *arch = cJSON_AddObjectToObject(md, "architecture");
    cJSON *layers = cJSON_AddArrayToObject(arch, "layers");
    cJSON *drops = cJSON_CreateArray();
    for (int l = 0; l < c->num_hidden; l++) {
        cJSON_AddItemToArray(layers, cJSON_CreateNumber(c->hidden[l]));
        cJSON_AddItemToArray(drops, cJSON_CreateNumber(c->dropout[l]));
    }
    cJSON_AddItemToArray(layers, cJSON_CreateNumber((double)r->K));
    cJSON_AddStringToObject(arch, "activation", "relu");
    cJSON_AddItemToObject(arch, "dropout_rates", drops);
    cJSON_AddStringToObject(arch, "optimizer", "adam");
    cJSON_AddNumberToObject(arch, "learning_rate", c->learning_rate);
    cJSON_AddStringToObject(arch, "output_activation", "softmax");
    cJSON_AddStringToObject(arch, "batch_normalization", "after each hidden ReLU");
    cJSON_AddNumberToObject(arch, "bn_momentum", c->bn_momentum);
    cJSON_AddNumberToObject(arch, "bn_epsilon", c->bn_eps);
    cJSON_AddStringToObject(arch, "initializer", "glorot_uniform");
    cJSON *tc = cJSON_AddObjectToObject(md, "training_config");
    cJSON_AddNumberToObject(tc, "epochs", c->epochs);
    cJSON_AddNumberToObject(tc, "batch_size", c->batch_size);
    cJSON_AddNumberToObject(tc, "train_samples", (double)res->n_train_samples);
    cJSON_AddNumberToObject(tc, "val_samples", (double)res->n_val_samples);
    cJSON_AddNumberToObject(tc, "test_samples", (double)tm->n);
    cJSON_AddNumberToObject(tc, "epochs_run", hist->count);
    cJSON_AddNumberToObject(tc, "best_epoch", hist->best_epoch);
    cJSON_AddBoolToObject(tc, "stopped_early", hist->stopped_early);
    cJSON_AddNumberToObject(tc, "seed", (double)c->seed);
    cJSON_AddNumberToObject(tc, "per_file", c->per_file);
    cJSON *sp = cJSON_AddArrayToObject(tc, "split");
    for (int s = 0; s < 3; s++)
        cJSON_AddItemToArray(sp, cJSON_CreateNumber(c->split[s]));
    if (c->group_pattern)
        cJSON_AddStringToObject(tc, "group_pattern", c->group_pattern);
    else
        cJSON_AddNullToObject(tc, "group_pattern");
    cJSON_AddNumberToObject(tc, "adam_beta1", c->beta1);
    cJSON_AddNumberToObject(tc, "adam_beta2", c->beta2);
    cJSON_AddNumberToObject(tc, "adam_epsilon", c->adam_eps);
    cJSON_AddNumberToObject(tc, "early_stopping_patience", c->patience);
    cJSON_AddNumberToObject(tc, "lr_patience", c->lr_patience);
    cJSON_AddNumberToObject(tc, "lr_factor", c->lr_factor);
    cJSON_AddNumberToObject(tc, "min_lr", c->min_lr);
    cJSON_AddStringToObject(tc, "class_weights", c->class_weights_balanced ? "balanced" : "none");
    cJSON_AddNumberToObject(tc, "max_files_per_class", c->max_files_per_class);
    cJSON *aug = cJSON_AddObjectToObject(tc, "augmentations_per_file");
    for (size_t k = 0; k < r->K; k++)
        cJSON_AddNumberToObject(aug, r->classes[k], r->per_file_class[k]);
    cJSON_AddStringToObject(md, "version", version);
    cJSON_AddNumberToObject(md, "max_seconds", c->max_seconds);
    cJSON_AddStringToObject(md, "features", "mean YAMNet embedding of the first max_seconds at 16 kHz, standardised with the training split's mean/std (stored in head.esh)");
    cJSON_AddStringToObject(md, "feature_params", r->params);
    cJSON_AddStringToObject(md, "yamnet_sha256", r->ysha);
    cJSON_AddStringToObject(md, "head_file", ES_MODEL_HEAD_FILE);
    cJSON_AddNumberToObject(md, "head_format_version", ES_HEAD_FILE_VERSION);
    cJSON_AddStringToObject(md, "ecosight_version", es_version());
    cJSON *th = cJSON_AddObjectToObject(md, "decision_thresholds");
    cJSON *cwo = cJSON_AddObjectToObject(md, "class_weights");
    for (size_t k = 0; k < r->K; k++) {
        cJSON_AddNumberToObject(th, r->classes[k], thr[k]);
        cJSON_AddNumberToObject(cwo, r->classes[k], cw ? cw[k] : 1.0);
    }
    cJSON_AddNumberToObject(md, "gun_shot_min_recall", c->gun_shot_min_recall);
    cJSON *secs = cJSON_AddObjectToObject(md, "stage_seconds");
    cJSON_AddNumberToObject(secs, "scan_split", res->seconds_scan);
    cJSON_AddNumberToObject(secs, "features", res->seconds_features);
    cJSON_AddNumberToObject(secs, "train", res->seconds_train);
    cJSON_AddNumberToObject(secs, "evaluate", res->seconds_evaluate);
    cJSON_AddNumberToObject(md, "feature_cache_hits", (double)res->cache_hits);
    cJSON_AddNumberToObject(md, "feature_cache_misses", (double)res->cache_misses);
    p = es_path_join(dir, "model_metadata.json");
    rc = es_json_write(p, md, err);
    free(p);
    cJSON_Delete(md);
    if (rc != ES_OK)
        return rc;

    cJSON *pm = es_metrics_to_cjson(tm, (const char *const *)r->classes);
    cJSON_AddStringToObject(pm, "split", "test");
    /* The validation thresholds applied to the test split (gun_shot alerts). */
    cJSON_AddItemToObject(pm, "threshold_metrics",
                          es_threshold_metrics_cjson(tprobs, tlabels, tm->n, r->K, thr,
                                                     (const char *const *)r->classes));
    p = es_path_join(dir, "performance_metrics.json");
    rc = es_json_write(p, pm, err);
    free(p);
    cJSON_Delete(pm);
    if (rc != ES_OK)
        return rc;

    cJSON *h = cJSON_CreateObject();
    const char *keys5[5] = {"loss", "val_loss", "accuracy", "val_accuracy", "lr"};
    for (int k5 = 0; k5 < 5; k5++) {
        cJSON *a = cJSON_AddArrayToObject(h, keys5[k5]);
        for (int e = 0; e < hist->count; e++) {
            const es_fit_epoch *E = &hist->epochs[e];
            double v = k5 == 0 ? E->loss : k5 == 1 ? E->val_loss : k5 == 2 ? E->accuracy
                     : k5 == 3 ? E->val_accuracy : E->lr;
            cJSON_AddItemToArray(a, es_json_num(v));
        }
    }
    cJSON_AddNumberToObject(h, "best_epoch", hist->best_epoch);
    p = es_path_join(dir, "training_history.json");
    rc = es_json_write(p, h, err);
    free(p);
    cJSON_Delete(h);
    if (rc != ES_OK)
        return rc;

    cJSON *sj = cJSON_CreateObject();
    cJSON_AddNumberToObject(sj, "seed", (double)c->seed);
    if (c->group_pattern)
        cJSON_AddStringToObject(sj, "group_pattern", c->group_pattern);
    else
        cJSON_AddNullToObject(sj, "group_pattern");
    cJSON_AddItemToObject(sj, "bad_files", str_array(res->bad_files.items, res->bad_files.count));
    cJSON *fa = cJSON_AddArrayToObject(sj, "files");
    for (size_t i = 0; i < r->n; i++) {
        const file_item *f = &r->files[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", f->rel);
        cJSON_AddStringToObject(o, "class", r->classes[f->label]);
        cJSON_AddStringToObject(o, "split", es_split_name(f->split));
        cJSON_AddStringToObject(o, "group", keys[i] + 2);
        if (f->error)
            cJSON_AddStringToObject(o, "error", f->error);
        else {
            char hex[65];
            es_hex(f->key, 32, hex);
            cJSON_AddStringToObject(o, "audio_sha256", hex);
            cJSON *ag = cJSON_AddArrayToObject(o, "augmentations");
            for (int v = 1; v < f->nvar; v++)
                cJSON_AddItemToArray(ag, cJSON_CreateString(es_augment_name(f->aug[v - 1])));
        }
        cJSON_AddItemToArray(fa, o);
    }
    p = es_path_join(dir, "split.json");
    rc = es_json_write(p, sj, err);
    free(p);
    cJSON_Delete(sj);
    return rc;
}

static void summary(const run *r, const es_train_result *res, const es_metrics *tm,
                    const size_t cnt[][3])
{
    const es_log *log = r->cfg->log;
    if (!es_log_enabled(log, ES_LOG_INFO))
        return;
    es_log_info(log, "=== training summary (%s) ===", res->version);
    es_log_info(log, "originals: train %zu, val %zu, test %zu (samples after augmentation: "
                     "train %zu, val %zu)", res->n_train, res->n_val, res->n_test,
                res->n_train_samples, res->n_val_samples);
    for (size_t k = 0; k < r->K; k++)
        es_log_info(log, "  %-16s train %3zu  val %3zu  test %3zu  augmentations/file %d",
                    r->classes[k], cnt[k][0], cnt[k][1], cnt[k][2], r->per_file_class[k]);
    es_log_info(log, "epochs run %d (best %d); test accuracy %.4f, loss %.4f, macro F1 %.4f",
                res->epochs_run, res->best_epoch, tm->accuracy, tm->loss, tm->macro_f1);
    es_log_info(log, "  %-16s %9s %9s %9s %8s", "class", "precision", "recall", "f1", "support");
    for (size_t k = 0; k < r->K; k++)
        es_log_info(log, "  %-16s %9.4f %9.4f %9.4f %8lld", r->classes[k], tm->precision[k],
                    tm->recall[k], tm->f1[k], (long long)tm->support[k]);
    es_log_info(log, "time: scan+split %.1f s, features %.1f s, train %.1f s, evaluate %.1f s, "
                     "save %.1f s; model %lld bytes; %zu bad files",
                res->seconds_scan, res->seconds_features, res->seconds_train,
                res->seconds_evaluate, res->seconds_save, (long long)res->model_bytes,
                res->bad_files.count);
    for (size_t i = 0; i < res->bad_files.count; i++)
        es_log_info(log, "  skipped: %s", res->bad_files.items[i]);
}

static es_status make_version_dir(const char *models_dir, const char *want, char **name_out,
                                  char **tmp_out, es_error *err)
{
    char base[64];
    if (want)
        snprintf(base, sizeof base, "%s", want);
    else
        es_utc_compact(es_unix_time(), base);
    /* Two runs in one second get -2, -3, ... */
    for (int i = 1; i < 1000; i++) {
        char name[80];
        if (i == 1)
            snprintf(name, sizeof name, "%s", base);
        else
            snprintf(name, sizeof name, "%s-%d", base, i);
        char *final = es_path_join(models_dir, name);
        if (!final)
            return es_error_set(err, ES_ERR_NOMEM, "out of memory");
        int exists = access(final, F_OK) == 0;
        free(final);
        if (exists)
            continue;
        char tmpname[128];
        snprintf(tmpname, sizeof tmpname, ".tmp-%s-%ld-%lx", name, (long)getpid(),
                 (unsigned long)pthread_self());
        char *tmp = es_path_join(models_dir, tmpname);
        if (!tmp)
            return es_error_set(err, ES_ERR_NOMEM, "out of memory");
        es_status rc = es_remove_tree(tmp, err);
        if (rc == ES_OK)
            rc = es_mkdirs(tmp, err);
        if (rc != ES_OK) {
            free(tmp);
            return rc;
        }
        *name_out = strdup(name);
        *tmp_out = tmp;
        return *name_out ? ES_OK : es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    return es_error_set(err, ES_ERR_EXISTS, "%s: too many versions named %s", models_dir, base);
}

es_status es_train_run(const es_train_config *cfg, es_train_result *res, es_error *err)
{
    memset(res, 0, sizeof *res);
    if (!cfg->data_dir || !cfg->models_dir)
        return es_error_set(err, ES_ERR_INVALID, "train: data_dir and models_dir are required");
    if (!(cfg->max_seconds > 0 && cfg->max_seconds <= 600) || cfg->epochs < 1 ||
        cfg->batch_size < 1 || cfg->per_file < -1 || cfg->per_file > ES_AUG_COUNT ||
        !(cfg->learning_rate > 0) || cfg->num_hidden < 0 || cfg->num_hidden > ES_HEAD_MAX_HIDDEN)
        return es_error_set(err, ES_ERR_INVALID, "train: a hyperparameter is out of range");
    if (cfg->log_extra_json) {
        /* Checked up front: nothing after `latest` moves may fail on it. */
        cJSON *x = cJSON_Parse(cfg->log_extra_json);
        int ok = cJSON_IsObject(x);
        cJSON_Delete(x);
        if (!ok)
            return es_error_set(err, ES_ERR_INVALID, "train: log_extra_json is not a JSON object");
    }
    double t0 = es_monotonic_s(), t;
    run R;
    memset(&R, 0, sizeof R);
    R.cfg = cfg;
    es_yamnet *owned_y = NULL;
    char **keys = NULL;
    mat tr = {0}, va = {0}, te = {0};
    es_head *head = NULL;
    es_fit_history hist = {0};
    es_metrics tm = {0};
    float *vprobs = NULL, *tprobs = NULL, *thr = NULL, *cw = NULL, *mean = NULL, *sd = NULL;
    char *version = NULL, *tmpdir = NULL, *final = NULL;
    size_t (*cnt)[3] = NULL;
    es_status rc;

    /* 1. scan */
    progress(&R, "scan", 0, 0);
    if ((rc = scan(&R, err)) != ES_OK)
        goto fail;
    /* 2. split the originals before anything else */
    progress(&R, "split", 0, (int64_t)R.n);
    if ((rc = do_split(&R, &keys, err)) != ES_OK)
        goto fail;
    cnt = calloc(R.K, sizeof *cnt);
    R.per_file_class = calloc(R.K, sizeof(int));
    if (!cnt || !R.per_file_class) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < R.n; i++)
        cnt[R.files[i].label][R.files[i].split]++;
    for (size_t k = 0; k < R.K; k++)
        R.per_file_class[k] = cfg->per_file >= 0
                                  ? cfg->per_file
                                  : es_augment_per_file_auto(cnt[k][0] + cnt[k][1] + cnt[k][2]);
    for (size_t k = 0; k < R.K; k++)
        if (cnt[k][0] == 0) {
            rc = es_error_set(err, ES_ERR_EMPTY, "class %s has no training files after the split",
                              R.classes[k]);
            goto fail;
        }
    t = es_monotonic_s();
    res->seconds_scan = t - t0;
    es_log_info(cfg->log, "scan: %zu classes, %zu originals in %s", R.K, R.n, cfg->data_dir);

    /* 3+4. augmentation and features */
    if (cfg->yamnet) {
        R.y = cfg->yamnet;
    } else {
        char *yp = NULL;
        if ((rc = es_yamnet_find(cfg->yamnet_path, &yp, err)) != ES_OK)
            goto fail;
        rc = es_yamnet_open(yp, &owned_y, err);
        free(yp);
        if (rc != ES_OK)
            goto fail;
        R.y = owned_y;
    }
    R.ysha = es_yamnet_sha256(R.y);
    es_feature_params(cfg->max_seconds, R.params, sizeof R.params);
    R.bar = es_progress_new(cfg->log, "features", (int64_t)R.n, "files");
    rc = es_parallel_for(cfg->threads, (int64_t)R.n, feature_one, &R, err);
    es_progress_done(R.bar);
    R.bar = NULL;
    if (rc != ES_OK)
        goto fail;
    for (size_t i = 0; i < R.n; i++)
        if (R.files[i].error) {
            es_log_warn(cfg->log, "skipped: %s", R.files[i].error);
            if ((rc = es_strlist_push(&res->bad_files, R.files[i].error, err)) != ES_OK)
                goto fail;
        }
    res->cache_hits = (size_t)R.hits;
    res->cache_misses = (size_t)R.misses;
    double t1 = es_monotonic_s();
    res->seconds_features = t1 - t;
    if ((rc = gather(&R, ES_SPLIT_TRAIN, 0, &tr, err)) != ES_OK ||
        (rc = gather(&R, ES_SPLIT_VAL, 0, &va, err)) != ES_OK ||
        (rc = gather(&R, ES_SPLIT_TEST, 1, &te, err)) != ES_OK)
        goto fail;
    /* Counts of usable originals (decode failures dropped) for the summary,
     * and every class must still have training data. */
    /* A skipped recording leaves its split one original short. The run fails
     * only when a class is left without a usable training original (nothing
     * to learn it from). A class that loses every validation or test original
     * the split gave it is reported (its threshold or test metrics come from
     * no samples of it) but does not stop the run: on a small class one bad
     * upload can be its only validation file, and a nightly retrain must not
     * fail on that. */
    {
        size_t (*before)[3] = malloc(R.K * sizeof *before);
        if (!before) {
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            goto fail;
        }
        memcpy(before, cnt, R.K * sizeof *cnt);
        memset(cnt, 0, R.K * sizeof *cnt);
        for (size_t i = 0; i < R.n; i++)
            if (R.files[i].nvar > 0)
                cnt[R.files[i].label][R.files[i].split]++;
        rc = ES_OK;
        for (size_t k = 0; k < R.K && rc == ES_OK; k++)
            for (int s = 0; s < 3 && rc == ES_OK; s++) {
                if (cnt[k][s] > 0 || before[k][s] == 0)
                    continue;
                if (s == ES_SPLIT_TRAIN)
                    rc = es_error_set(err, ES_ERR_EMPTY,
                                      "class %s has no usable train originals (all %zu skipped "
                                      "as bad files): too few for the split",
                                      R.classes[k], before[k][s]);
                else
                    es_log_warn(cfg->log,
                                "class %s lost all %zu of its %s originals to bad files: its %s "
                                "come from no samples of it",
                                R.classes[k], before[k][s], es_split_name(s),
                                s == ES_SPLIT_VAL ? "decision threshold does" : "test metrics");
            }
        free(before);
        if (rc != ES_OK)
            goto fail;
    }
    if (tr.n == 0 || te.n == 0) {
        rc = es_error_set(err, ES_ERR_EMPTY, "train: %zu training and %zu test samples: too few",
                          tr.n, te.n);
        goto fail;
    }
    for (size_t i = 0; i < R.n; i++) {
        if (R.files[i].nvar == 0)
            continue;
        if (R.files[i].split == ES_SPLIT_TRAIN)
            res->n_train++;
        else if (R.files[i].split == ES_SPLIT_VAL)
            res->n_val++;
        else
            res->n_test++;
    }
    res->n_train_samples = tr.n;
    res->n_val_samples = va.n;
    res->num_classes = R.K;
    if (cancelled(&R)) {
        rc = es_error_set(err, ES_ERR_CANCELLED, "training cancelled");
        goto fail;
    }

    /* 5. standardisation (training split only) and the head */
    mean = calloc(ES_EMBED_DIM, sizeof(float));
    sd = calloc(ES_EMBED_DIM, sizeof(float));
    if (!mean || !sd) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t j = 0; j < ES_EMBED_DIM; j++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < tr.n; i++)
            s += tr.x[i * ES_EMBED_DIM + j];
        double mu = s / (double)tr.n;
        for (size_t i = 0; i < tr.n; i++) {
            double d = tr.x[i * ES_EMBED_DIM + j] - mu;
            s2 += d * d;
        }
        mean[j] = (float)mu;
        sd[j] = (float)sqrt(s2 / (double)tr.n);
    }
    es_head_config hc = es_head_default_config(ES_EMBED_DIM, (int)R.K);
    hc.num_hidden = cfg->num_hidden;
    for (int l = 0; l < cfg->num_hidden; l++) {
        hc.hidden[l] = cfg->hidden[l];
        hc.dropout[l] = (float)cfg->dropout[l];
    }
    hc.bn_momentum = (float)cfg->bn_momentum;
    hc.bn_eps = (float)cfg->bn_eps;
    if ((rc = es_head_new(&hc, cfg->seed, &head, err)) != ES_OK ||
        (rc = es_head_set_norm(head, mean, sd, err)) != ES_OK)
        goto fail;
    if (cfg->class_weights_balanced) {
        /* sklearn's "balanced": n / (K * n_k) over training samples */
        cw = calloc(R.K, sizeof(float));
        size_t *nk = calloc(R.K, sizeof(size_t));
        if (!cw || !nk) {
            free(nk);
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < tr.n; i++)
            nk[tr.y[i]]++;
        for (size_t k = 0; k < R.K; k++)
            cw[k] = nk[k] ? (float)((double)tr.n / ((double)R.K * (double)nk[k])) : 1.0f;
        free(nk);
    }
    es_fit_config fc = es_fit_default_config();
    fc.epochs = cfg->epochs;
    fc.batch_size = cfg->batch_size;
    fc.lr = cfg->learning_rate;
    fc.beta1 = (float)cfg->beta1;
    fc.beta2 = (float)cfg->beta2;
    fc.eps = (float)cfg->adam_eps;
    fc.patience = cfg->patience;
    fc.lr_patience = cfg->lr_patience;
    fc.lr_factor = cfg->lr_factor;
    fc.min_lr = cfg->min_lr;
    fc.class_weights = cw;
    fc.seed = cfg->seed;
    fc.cancel = cfg->cancel;
    fc.on_epoch = on_epoch;
    fc.ud = &R;
    es_log_info(cfg->log, "train: %zu samples (%zu validation), up to %d epochs", tr.n, va.n,
                cfg->epochs);
    if ((rc = es_head_fit(head, &fc, tr.x, tr.y, tr.n, va.x, va.y, va.n, &hist, err)) != ES_OK)
        goto fail;
    double t2 = es_monotonic_s();
    res->seconds_train = t2 - t1;
    res->epochs_run = hist.count;
    res->best_epoch = hist.best_epoch;

    /* 6. test metrics; thresholds on validation originals + augmentations */
    progress(&R, "evaluate", 0, (int64_t)te.n);
    tprobs = malloc(te.n * R.K * sizeof(float));
    vprobs = malloc((va.n ? va.n : 1) * R.K * sizeof(float));
    thr = malloc(R.K * sizeof(float));
    if (!tprobs || !vprobs || !thr) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = es_head_predict(head, te.x, te.n, tprobs, err)) != ES_OK ||
        (rc = es_metrics_compute(tprobs, te.y, te.n, R.K, &tm, err)) != ES_OK ||
        (rc = es_head_predict(head, va.x, va.n, vprobs, err)) != ES_OK)
        goto fail;
    for (size_t k = 0; k < R.K; k++) {
        int is_gun = strcmp(R.classes[k], "gun_shot") == 0;
        thr[k] = va.n ? (float)es_threshold_choose(vprobs, va.y, va.n, R.K, k,
                                                   is_gun ? cfg->gun_shot_min_recall : 0.0)
                      : 0.5f;
    }
    res->test_accuracy = tm.accuracy;
    res->test_loss = tm.loss;
    res->test_macro_f1 = tm.macro_f1;
    double t3 = es_monotonic_s();
    res->seconds_evaluate = t3 - t2;

    /* 7. artifacts: a temporary directory renamed into place, then latest. */
    progress(&R, "save", 0, 1);
    if ((rc = es_mkdirs(cfg->models_dir, err)) != ES_OK ||
        (rc = make_version_dir(cfg->models_dir, cfg->version_name, &version, &tmpdir, err)) !=
            ES_OK)
        goto fail;
    if ((rc = write_artifacts(&R, tmpdir, version, head, &hist, &tm, tprobs, te.y, thr, cw, keys,
                              res, err)) !=
        ES_OK)
        goto fail;
    final = es_path_join(cfg->models_dir, version);
    if (!final) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (rename(tmpdir, final) != 0) {
        rc = es_error_set(err, ES_ERR_IO, "cannot rename %s to %s", tmpdir, final);
        goto fail;
    }
    free(tmpdir);
    tmpdir = NULL;
    if ((rc = es_fsync_dir(cfg->models_dir, err)) != ES_OK)
        goto fail;
    char *hp = es_path_join(final, ES_MODEL_HEAD_FILE);
    if (hp)
        es_file_size(hp, &res->model_bytes, NULL);
    free(hp);
    if (cfg->set_latest && (rc = es_models_set_latest(cfg->models_dir, version, err)) != ES_OK)
        goto fail;
    res->seconds_save = es_monotonic_s() - t3;
    res->seconds_total = es_monotonic_s() - t0;
    {
        char ts[32];
        es_utc_iso8601(es_unix_time(), ts);
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec, "timestamp", ts);
        cJSON_AddStringToObject(rec, "model_version", version);
        cJSON_AddStringToObject(rec, "model_path", final);
        cJSON_AddStringToObject(rec, "data_dir", cfg->data_dir);
        cJSON_AddItemToObject(rec, "test_accuracy", es_json_num(tm.accuracy));
        cJSON_AddItemToObject(rec, "test_loss", es_json_num(tm.loss));
        cJSON_AddItemToObject(rec, "macro_f1", es_json_num(tm.macro_f1));
        cJSON_AddNumberToObject(rec, "num_classes", (double)R.K);
        cJSON_AddItemToObject(rec, "classes", str_array(R.classes, R.K));
        cJSON_AddNumberToObject(rec, "total_files", (double)R.n);
        cJSON_AddNumberToObject(rec, "train_samples", (double)tr.n);
        cJSON_AddNumberToObject(rec, "val_samples", (double)va.n);
        cJSON_AddNumberToObject(rec, "test_samples", (double)te.n);
        cJSON_AddNumberToObject(rec, "epochs_run", hist.count);
        cJSON_AddNumberToObject(rec, "seed", (double)cfg->seed);
        cJSON_AddNumberToObject(rec, "duration_seconds", res->seconds_total);
        cJSON *st = cJSON_AddObjectToObject(rec, "stage_seconds");
        cJSON_AddNumberToObject(st, "scan_split", res->seconds_scan);
        cJSON_AddNumberToObject(st, "features", res->seconds_features);
        cJSON_AddNumberToObject(st, "train", res->seconds_train);
        cJSON_AddNumberToObject(st, "evaluate", res->seconds_evaluate);
        cJSON_AddNumberToObject(st, "save", res->seconds_save);
        if (cfg->log_extra_json) {
            cJSON *extra = cJSON_Parse(cfg->log_extra_json); /* checked at the start */
            cJSON *it;
            while (extra && (it = extra->child) != NULL) {
                cJSON_DetachItemViaPointer(extra, it);
                cJSON_DeleteItemFromObjectCaseSensitive(rec, it->string);
                cJSON_AddItemToObject(rec, it->string, it);
            }
            cJSON_Delete(extra);
        }
        char *s = cJSON_PrintUnformatted(rec);
        cJSON_Delete(rec);
        /* The version is saved and live by now: a log that cannot be written
         * is reported, not turned into a failed run whose model is serving. */
        es_error lerr;
        es_error_clear(&lerr);
        if (!s || es_models_append_log(cfg->models_dir, s, &lerr) != ES_OK)
            es_log_warn(cfg->log, "%s/retraining_log.json not updated: %s", cfg->models_dir,
                        s ? es_error_text(&lerr) : "out of memory");
        free(s);
    }
    res->version = version;
    res->version_dir = final;
    version = final = NULL;
    progress(&R, "done", 1, 1);
    summary(&R, res, &tm, (const size_t(*)[3])cnt);
    rc = ES_OK;
    goto cleanup;
fail:
    if (tmpdir)
        es_remove_tree(tmpdir, NULL);
    {
        es_strlist keep = res->bad_files;
        memset(&res->bad_files, 0, sizeof keep);
        es_train_result_clear(res);
        res->bad_files = keep;
    }
cleanup:
    free(version);
    free(tmpdir);
    free(final);
    for (size_t i = 0; i < R.n; i++) {
        free(R.files[i].path);
        free(R.files[i].rel);
        free(R.files[i].rows);
        free(R.files[i].error);
    }
    free(R.files);
    if (R.classes) {
        es_strlist cl = {R.classes, R.K, R.K};
        es_strlist_free(&cl);
    }
    free(R.per_file_class);
    free(cnt);
    es_split_keys_free(keys, R.n);
    mat_free(&tr);
    mat_free(&va);
    mat_free(&te);
    es_head_free(head);
    es_fit_history_clear(&hist);
    es_metrics_clear(&tm);
    free(vprobs);
    free(tprobs);
    free(thr);
    free(cw);
    free(mean);
    free(sd);
    es_yamnet_free(owned_y);
    return rc;
}
