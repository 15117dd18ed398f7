/*
 * retrain_scan.c: bring the catalog up to date with the data directory, and
 * decide whether a retrain is due.
 *
 * Only files whose size or modification time changed are hashed again (as
 * rsync and git do), so a rescan of an unchanged 10,000-file folder costs
 * stat calls, not reads. The decision itself compares content hashes with the
 * ones the last successful run trained on. Memory: one small record per file
 * (path, size, hash), never audio.
 */
#include "ecosight/audio.h"
#include "ecosight/pipeline_retrain.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct scan_item {
    char *rel;                 /* class/file */
    char *abs;
    const char *cls;           /* points into the class list */
    int64_t size, mtime_ns;
    char sha[ES_SHA256_HEX_LEN];
    double duration;
    es_rec_source source;
    int need_hash;
    char *bad;                 /* reason, malloc'd, when the header is unreadable */
} scan_item;

typedef struct scan_ctx {
    scan_item *items;
    es_progress *prog;
} scan_ctx;

static es_status hash_one(void *vctx, int64_t i, int thread_index, es_error *err)
{
    (void)thread_index;
    scan_ctx *c = vctx;
    scan_item *it = &c->items[i];
    uint8_t h[ES_SHA256_LEN];
    es_error e;
    es_status rc = es_sha256_file(it->abs, h, &e);
    if (rc != ES_OK) /* unreadable file: the scan cannot know what it is */
        return es_error_set(err, rc, "%s", es_error_text(&e));
    es_hex(h, ES_SHA256_LEN, it->sha);
    es_audio_info info;
    if (es_audio_probe_file(it->abs, &info, &e) == ES_OK) {
        it->duration = info.duration_s;
        if (info.frames == 0)
            it->bad = strdup("no audio frames");
    } else {
        it->duration = -1;
        it->bad = strdup(es_error_text(&e));
    }
    es_progress_add(c->prog, 1);
    return ES_OK;
}

static void free_items(scan_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].rel);
        free(items[i].abs);
        free(items[i].bad);
    }
    free(items);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static es_status scan(es_store *st, const char *data_dir, es_rec_source source,
                      const es_strlist *in_s3, int threads, const es_log *log,
                      es_scan_summary *out, es_error *err);

es_status es_retrain_scan(es_store *st, const char *data_dir, es_rec_source source, int threads,
                          const es_log *log, es_scan_summary *out, es_error *err)
{
    return scan(st, data_dir, source, NULL, threads, log, out, err);
}

es_status es_retrain_scan_synced(es_store *st, const char *data_dir, const es_strlist *in_s3,
                                 int threads, const es_log *log, es_scan_summary *out,
                                 es_error *err)
{
    return scan(st, data_dir, ES_SOURCE_LOCAL, in_s3, threads, log, out, err);
}

static es_status scan(es_store *st, const char *data_dir, es_rec_source source,
                      const es_strlist *in_s3, int threads, const es_log *log,
                      es_scan_summary *out, es_error *err)
{
    memset(out, 0, sizeof *out);
    double t0 = es_monotonic_s();
    double scan_start = es_unix_time();
    if (!es_is_dir(data_dir))
        return es_error_set(err, ES_ERR_NOT_FOUND,
                            "the data directory %s does not exist (one folder per class)",
                            data_dir);
    es_strlist classes = {0};
    es_status rc = es_list_dir(data_dir, 2, &classes, err);
    if (rc != ES_OK)
        return rc;
    scan_item *items = NULL;
    size_t n = 0, cap = 0;
    for (size_t c = 0; rc == ES_OK && c < classes.count; c++) {
        char *cdir = es_path_join(data_dir, classes.items[c]);
        es_strlist files = {0};
        if (!cdir) {
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            break;
        }
        rc = es_list_dir(cdir, 1, &files, err);
        for (size_t f = 0; rc == ES_OK && f < files.count; f++) {
            if (!es_audio_is_supported_name(files.items[f]))
                continue;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 256;
                scan_item *ni = realloc(items, nc * sizeof *ni);
                if (!ni) {
                    rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
                    break;
                }
                items = ni;
                cap = nc;
            }
            scan_item *it = &items[n];
            memset(it, 0, sizeof *it);
            it->cls = classes.items[c];
            it->abs = es_path_join(cdir, files.items[f]);
            it->rel = es_path_join(classes.items[c], files.items[f]);
            n++;
            if (!it->abs || !it->rel) {
                rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
                break;
            }
            struct stat sb;
            if (stat(it->abs, &sb) != 0) {
                rc = es_error_set(err, ES_ERR_IO, "cannot stat %s: %s", it->abs,
                                  strerror(errno));
                break;
            }
            it->size = sb.st_size;
            it->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
            it->source = source;
            if (in_s3 && in_s3->count &&
                bsearch(&it->rel, in_s3->items, in_s3->count, sizeof *in_s3->items, cmp_str))
                it->source = ES_SOURCE_S3;
            es_recording old;
            es_error e;
            es_status g = es_store_get_recording(st, it->rel, &old, &e);
            if (g == ES_OK) {
                it->source = old.source; /* keep where it first came from */
                if (old.size == it->size && old.mtime_ns == it->mtime_ns &&
                    strlen(old.sha256) == 64) {
                    memcpy(it->sha, old.sha256, sizeof it->sha);
                    it->duration = old.duration_s;
                    continue;
                }
            } else if (g != ES_ERR_NOT_FOUND) {
                rc = es_error_set(err, g, "%s", es_error_text(&e));
                break;
            }
            it->need_hash = 1;
        }
        es_strlist_free(&files);
        free(cdir);
    }
    /* Hash what is new or touched, in parallel. */
    int64_t *todo = NULL;
    int64_t ntodo = 0;
    if (rc == ES_OK) {
        todo = malloc((n ? n : 1) * sizeof *todo);
        if (!todo)
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        for (size_t i = 0; rc == ES_OK && i < n; i++)
            if (items[i].need_hash)
                todo[ntodo++] = (int64_t)i;
    }
    if (rc == ES_OK && ntodo > 0) {
        /* Compact the work list so parallel_for indexes it directly. */
        scan_item *work = malloc((size_t)ntodo * sizeof *work);
        if (!work) {
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        } else {
            for (int64_t k = 0; k < ntodo; k++)
                work[k] = items[todo[k]];
            scan_ctx ctx = {.items = work,
                            .prog = es_progress_new(log, "hashing recordings", ntodo, "files")};
            rc = es_parallel_for(threads, ntodo, hash_one, &ctx, err);
            es_progress_done(ctx.prog);
            for (int64_t k = 0; k < ntodo; k++)
                items[todo[k]] = work[k]; /* results (and ownership) go back */
            free(work);
        }
    }
    free(todo);
    /* One transaction: the catalog reflects the whole scan or none of it. */
    if (rc == ES_OK)
        rc = es_store_begin(st, err);
    if (rc == ES_OK) {
        for (size_t i = 0; rc == ES_OK && i < n; i++) {
            es_recording r;
            memset(&r, 0, sizeof r);
            if (strlen(items[i].rel) >= sizeof r.path || strlen(items[i].cls) >= sizeof r.class_name) {
                es_log_warn(log, "skipping %s: path too long for the catalog", items[i].abs);
                continue;
            }
            snprintf(r.path, sizeof r.path, "%s", items[i].rel);
            snprintf(r.class_name, sizeof r.class_name, "%s", items[i].cls);
            memcpy(r.sha256, items[i].sha, sizeof r.sha256);
            r.size = items[i].size;
            r.mtime_ns = items[i].mtime_ns;
            r.duration_s = items[i].duration;
            r.source = items[i].source;
            rc = es_store_upsert_recording(st, &r, scan_start, err);
            if (rc == ES_OK && items[i].bad) {
                es_log_warn(log, "bad recording %s: %s (recorded, skipped)", items[i].abs,
                            items[i].bad);
                rc = es_store_mark_bad(st, r.path, items[i].bad, err);
                out->bad++;
            }
        }
        if (rc == ES_OK)
            rc = es_store_mark_unseen_absent(st, scan_start, &out->absent, err);
        if (rc == ES_OK)
            rc = es_store_commit(st, err);
        else
            es_store_rollback(st);
    }
    out->files = (int64_t)n;
    out->hashed = ntodo;
    out->seconds = es_monotonic_s() - t0;
    free_items(items, n);
    es_strlist_free(&classes);
    if (rc != ES_OK)
        es_error_prefix(err, "scanning %s: ", data_dir);
    return rc;
}

es_status es_retrain_decide(es_store *st, int64_t min_new, int force, es_retrain_decision *out,
                            es_error *err)
{
    memset(out, 0, sizeof *out);
    es_status rc = es_store_pending_counts(st, &out->pending, err);
    if (rc != ES_OK)
        return rc;
    es_run_info last;
    es_error e;
    es_status lr = es_store_last_run(st, "succeeded", &last, &e);
    if (lr != ES_OK && lr != ES_ERR_NOT_FOUND)
        return es_error_set(err, lr, "%s", es_error_text(&e));
    out->first_run = lr == ES_ERR_NOT_FOUND;
    int64_t n = out->pending.added + out->pending.changed;
    if (force) {
        out->train = 1;
        snprintf(out->reason, sizeof out->reason,
                 "forced: %lld new and %lld changed recordings since the last successful run",
                 (long long)out->pending.added, (long long)out->pending.changed);
    } else if (out->first_run) {
        out->train = 1;
        snprintf(out->reason, sizeof out->reason,
                 "first run: %lld recordings in the catalog", (long long)out->pending.present);
    } else if (n >= min_new) {
        out->train = 1;
        snprintf(out->reason, sizeof out->reason,
                 "%lld new and %lld changed recordings since the last successful run "
                 "(threshold %lld)",
                 (long long)out->pending.added, (long long)out->pending.changed,
                 (long long)min_new);
    } else {
        snprintf(out->reason, sizeof out->reason,
                 "nothing to do: %lld new and %lld changed recordings since the last successful "
                 "run (%s), fewer than %lld (use --min-new-samples or --force)",
                 (long long)out->pending.added, (long long)out->pending.changed,
                 last.version[0] ? last.version : "no version", (long long)min_new);
    }
    if (lr == ES_OK)
        es_run_info_clear(&last);
    return ES_OK;
}
