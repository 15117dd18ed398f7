/*
 * models.c: model versions on disk and in the bucket: list, pull, publish,
 * rollback.
 *
 * Publishing order is what makes a half-published model invisible: the
 * version's files go up first, the pointer (models/latest, then the local
 * latest symlink) last. Pulls land in a temporary directory renamed into
 * place, so MODELS_DIR/<version>/ is always whole.
 */
#include "ecosight/pipeline_retrain.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void es_model_list_clear(es_model_list *l)
{
    if (!l)
        return;
    free(l->items);
    memset(l, 0, sizeof *l);
}

static es_version_info *list_find_or_add(es_model_list *l, const char *name, es_error *err)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i].name, name) == 0)
            return &l->items[i];
    es_version_info *nv = realloc(l->items, (l->count + 1) * sizeof *nv);
    if (!nv) {
        es_error_set(err, ES_ERR_NOMEM, "out of memory");
        return NULL;
    }
    l->items = nv;
    es_version_info *v = &l->items[l->count++];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->test_accuracy = -1;
    return v;
}

/* test_accuracy from model_metadata.json; -1 when unreadable. */
static double read_accuracy(const char *vdir)
{
    char *p = es_path_join(vdir, "model_metadata.json");
    char *txt = NULL;
    size_t len;
    double acc = -1;
    if (p && es_read_file(p, 4 << 20, &txt, &len, NULL) == ES_OK) {
        cJSON *j = cJSON_Parse(txt);
        cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "test_accuracy");
        if (cJSON_IsNumber(a))
            acc = a->valuedouble;
        cJSON_Delete(j);
    }
    free(txt);
    free(p);
    return acc;
}

static int64_t dir_bytes(const char *dir)
{
    es_strlist files = {0};
    int64_t total = 0;
    if (es_list_dir(dir, 1, &files, NULL) == ES_OK) {
        for (size_t i = 0; i < files.count; i++) {
            char *p = es_path_join(dir, files.items[i]);
            int64_t sz;
            if (p && es_file_size(p, &sz, NULL) == ES_OK)
                total += sz;
            free(p);
        }
    }
    es_strlist_free(&files);
    return total;
}

static int is_version_dir(const char *models_dir, const char *name)
{
    if (!es_models_valid_name(name))
        return 0;
    char *d = es_path_join(models_dir, name);
    char *m = d ? es_path_join(d, "model_metadata.json") : NULL;
    int ok = m && es_is_file(m);
    free(m);
    free(d);
    return ok;
}

static int cmp_version(const void *a, const void *b)
{
    return strcmp(((const es_version_info *)a)->name, ((const es_version_info *)b)->name);
}

/* The object models/latest: the version name, trimmed. NOT_FOUND if absent. */
static es_status remote_latest(const es_models_remote *r, char name[ES_VERSION_NAME_MAX],
                               es_error *err)
{
    char key[512];
    snprintf(key, sizeof key, "%slatest", r->prefix ? r->prefix : ES_RETRAIN_MODELS_PREFIX);
    char *data = NULL;
    size_t len = 0;
    es_status rc = es_s3_get_buffer(r->s3, r->bucket, key, 4096, &data, &len, err);
    if (rc != ES_OK)
        return rc;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        data[--len] = 0;
    if (!es_models_valid_name(data))
        rc = es_error_set(err, ES_ERR_FORMAT, "s3://%s/%s holds '%.60s', not a version name",
                          r->bucket, key, data);
    else
        snprintf(name, ES_VERSION_NAME_MAX, "%s", data);
    free(data);
    return rc;
}

es_status es_models_list(const char *models_dir, const es_models_remote *remote,
                         es_model_list *out, es_error *err)
{
    memset(out, 0, sizeof *out);
    es_status rc = ES_OK;
    if (es_is_dir(models_dir)) {
        es_strlist dirs = {0};
        rc = es_list_dir(models_dir, 2, &dirs, err);
        for (size_t i = 0; rc == ES_OK && i < dirs.count; i++) {
            if (!is_version_dir(models_dir, dirs.items[i]))
                continue;
            es_version_info *v = list_find_or_add(out, dirs.items[i], err);
            if (!v) {
                rc = ES_ERR_NOMEM;
                break;
            }
            char *vd = es_path_join(models_dir, dirs.items[i]);
            v->local = 1;
            v->test_accuracy = vd ? read_accuracy(vd) : -1;
            v->bytes = vd ? dir_bytes(vd) : 0;
            free(vd);
        }
        es_strlist_free(&dirs);
        if (rc != ES_OK)
            goto fail;
        es_error e2;
        if (es_models_latest_local(models_dir, out->latest_local, &e2) != ES_OK)
            out->latest_local[0] = 0;
    }
    if (remote && remote->s3) {
        const char *prefix = remote->prefix ? remote->prefix : ES_RETRAIN_MODELS_PREFIX;
        es_s3_object_list objs = {0};
        rc = es_s3_list(remote->s3, remote->bucket, prefix, 0, &objs, err);
        if (rc != ES_OK) {
            es_s3_object_list_free(&objs);
            goto fail;
        }
        size_t pl = strlen(prefix);
        for (size_t i = 0; i < objs.count; i++) {
            const char *k = objs.items[i].key + pl;
            const char *slash = strchr(k, '/');
            if (!slash || (size_t)(slash - k) >= ES_VERSION_NAME_MAX)
                continue;
            char name[ES_VERSION_NAME_MAX];
            memcpy(name, k, (size_t)(slash - k));
            name[slash - k] = 0;
            if (!es_models_valid_name(name) || strcmp(slash + 1, "model_metadata.json") != 0)
                continue;
            es_version_info *v = list_find_or_add(out, name, err);
            if (!v) {
                rc = ES_ERR_NOMEM;
                break;
            }
            v->remote = 1;
        }
        es_s3_object_list_free(&objs);
        if (rc != ES_OK)
            goto fail;
        out->remote_listed = 1;
        es_error e2;
        es_status lr = remote_latest(remote, out->latest_remote, &e2);
        if (lr != ES_OK && lr != ES_ERR_NOT_FOUND) {
            rc = es_error_set(err, lr, "%s", es_error_text(&e2));
            goto fail;
        }
    }
    if (out->count > 1)
        qsort(out->items, out->count, sizeof *out->items, cmp_version);
    for (size_t i = 0; i < out->count; i++) {
        out->items[i].latest_local = strcmp(out->items[i].name, out->latest_local) == 0;
        out->items[i].latest_remote = strcmp(out->items[i].name, out->latest_remote) == 0;
    }
    return ES_OK;
fail:
    es_model_list_clear(out);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Remote operations                                                         */

static es_status need_remote(const es_models_remote *r, const char *what, es_error *err)
{
    if (!r || !r->s3 || !r->bucket || !*r->bucket)
        return es_error_set(err, ES_ERR_CONFIG,
                            "%s needs S3: set S3_BUCKET (or --bucket) and credentials", what);
    return ES_OK;
}

es_status es_models_publish(const char *models_dir, const es_models_remote *remote,
                            const char *version, int set_latest, es_error *err)
{
    es_status rc = need_remote(remote, "publishing a model", err);
    if (rc != ES_OK)
        return rc;
    if (!is_version_dir(models_dir, version))
        return es_error_set(err, ES_ERR_NOT_FOUND, "%s/%s is not a model version", models_dir,
                            version ? version : "(null)");
    const char *prefix = remote->prefix ? remote->prefix : ES_RETRAIN_MODELS_PREFIX;
    char *vdir = es_path_join(models_dir, version);
    char key[512];
    snprintf(key, sizeof key, "%s%s/", prefix, version);
    es_s3_sync_opts o = es_s3_sync_default_opts();
    o.all_files = 1; /* weights and JSON, not only audio */
    es_s3_sync_summary sum;
    memset(&sum, 0, sizeof sum);
    rc = vdir ? es_s3_upload_dir(remote->s3, vdir, remote->bucket, key, &o, &sum, err)
              : es_error_set(err, ES_ERR_NOMEM, "out of memory");
    es_s3_sync_summary_clear(&sum);
    free(vdir);
    if (rc != ES_OK)
        return es_error_prefix(err, "publishing %s to s3://%s/%s: ", version, remote->bucket,
                               key);
    if (!set_latest)
        return ES_OK;
    snprintf(key, sizeof key, "%slatest", prefix);
    rc = es_s3_put_buffer(remote->s3, remote->bucket, key, version, strlen(version),
                          "text/plain", err);
    if (rc != ES_OK)
        return es_error_prefix(err, "pointing s3://%s/%s at %s: ", remote->bucket, key, version);
    return ES_OK;
}

static es_status pull_locked(const char *models_dir, const es_models_remote *remote,
                             const char *version, int set_latest,
                             char out_name[ES_VERSION_NAME_MAX], es_error *err)
{
    char name[ES_VERSION_NAME_MAX];
    es_status rc;
    if (version) {
        if (!es_models_valid_name(version))
            return es_error_set(err, ES_ERR_INVALID, "'%s' is not a version name", version);
        snprintf(name, sizeof name, "%s", version);
    } else if ((rc = remote_latest(remote, name, err)) != ES_OK) {
        return es_error_prefix(err, "finding the latest model in s3://%s: ", remote->bucket);
    }
    if (!is_version_dir(models_dir, name)) {
        const char *prefix = remote->prefix ? remote->prefix : ES_RETRAIN_MODELS_PREFIX;
        char key[512], tmpname[128];
        snprintf(key, sizeof key, "%s%s/", prefix, name);
        snprintf(tmpname, sizeof tmpname, ".pull-%s-%ld", name, (long)getpid());
        char *tmp = es_path_join(models_dir, tmpname);
        char *final = es_path_join(models_dir, name);
        if (!tmp || !final) {
            free(tmp);
            free(final);
            return es_error_set(err, ES_ERR_NOMEM, "out of memory");
        }
        es_remove_tree(tmp, NULL);
        es_s3_sync_opts o = es_s3_sync_default_opts();
        es_s3_sync_summary sum;
        memset(&sum, 0, sizeof sum);
        rc = es_s3_download_prefix(remote->s3, remote->bucket, key, tmp, &o, &sum, err);
        int64_t got = sum.files + sum.skipped;
        es_s3_sync_summary_clear(&sum);
        if (rc == ES_OK && got == 0)
            rc = es_error_set(err, ES_ERR_NOT_FOUND, "no model %s in s3://%s/%s", name,
                              remote->bucket, key);
        char *meta = es_path_join(tmp, "model_metadata.json");
        int has_meta = meta && es_is_file(meta);
        free(meta);
        if (rc == ES_OK && !has_meta)
            rc = es_error_set(err, ES_ERR_FORMAT,
                              "s3://%s/%s has no model_metadata.json: not a model version",
                              remote->bucket, key);
        if (rc == ES_OK) {
            es_remove_tree(final, NULL); /* an incomplete leftover without metadata */
            if (rename(tmp, final) != 0)
                rc = es_error_set(err, ES_ERR_IO, "cannot rename %s to %s: %s", tmp, final,
                                  strerror(errno));
            else
                rc = es_fsync_dir(models_dir, err);
        }
        if (rc != ES_OK)
            es_remove_tree(tmp, NULL);
        free(tmp);
        free(final);
        if (rc != ES_OK)
            return rc;
    }
    if (set_latest && (rc = es_models_set_latest(models_dir, name, err)) != ES_OK)
        return rc;
    if (out_name)
        snprintf(out_name, ES_VERSION_NAME_MAX, "%s", name);
    return ES_OK;
}

es_status es_models_pull(const char *models_dir, const es_models_remote *remote,
                         const char *version, int set_latest,
                         char out_name[ES_VERSION_NAME_MAX], es_error *err)
{
    es_status rc = need_remote(remote, "pulling a model", err);
    if (rc != ES_OK)
        return rc;
    es_models_lock *lock;
    if ((rc = es_models_lock_acquire(models_dir, &lock, err)) != ES_OK)
        return rc;
    rc = pull_locked(models_dir, remote, version, set_latest, out_name, err);
    es_models_lock_release(lock);
    return rc;
}

es_status es_models_rollback(const char *models_dir, const es_models_remote *remote,
                             const char *version, es_error *err)
{
    if (!es_models_valid_name(version))
        return es_error_set(err, ES_ERR_INVALID, "'%s' is not a version name",
                            version ? version : "");
    es_models_lock *lock;
    es_status rc = es_models_lock_acquire(models_dir, &lock, err);
    if (rc != ES_OK)
        return rc;
    int have_remote = remote && remote->s3;
    if (!is_version_dir(models_dir, version)) {
        if (!have_remote)
            rc = es_error_set(err, ES_ERR_NOT_FOUND,
                              "no version %s in %s (and no S3 bucket to pull it from)", version,
                              models_dir);
        else
            rc = pull_locked(models_dir, remote, version, 0, NULL, err);
    }
    /* Remote first: when the bucket cannot be updated, nothing changes. */
    if (rc == ES_OK && have_remote) {
        const char *prefix = remote->prefix ? remote->prefix : ES_RETRAIN_MODELS_PREFIX;
        char key[512];
        snprintf(key, sizeof key, "%s%s/model_metadata.json", prefix, version);
        es_s3_head_info hi;
        rc = es_s3_head(remote->s3, remote->bucket, key, &hi, err);
        if (rc == ES_ERR_NOT_FOUND) /* only local: publish it before pointing at it */
            rc = es_models_publish(models_dir, remote, version, 1, err);
        else if (rc == ES_OK) {
            snprintf(key, sizeof key, "%slatest", prefix);
            rc = es_s3_put_buffer(remote->s3, remote->bucket, key, version, strlen(version),
                                  "text/plain", err);
        }
    }
    if (rc == ES_OK)
        rc = es_models_set_latest(models_dir, version, err);
    es_models_lock_release(lock);
    return rc;
}
