/*
 * store_catalog.c: the recordings the pipeline has seen and the runs it made.
 *
 * "New or changed since the last successful run" is answered from content
 * hashes: each recording keeps the SHA-256 of its file (sha256) and the hash
 * the last successful training used (trained_sha256), so renaming a folder's
 * mtime or re-downloading identical bytes changes nothing, while new bytes
 * under an old name count as changed.
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const source_names[] = {"local", "s3", "api"};

const char *es_rec_source_name(es_rec_source s)
{
    return (unsigned)s < 3 ? source_names[s] : "local";
}

static es_rec_source source_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, source_names[i]) == 0)
            return (es_rec_source)i;
    return ES_SOURCE_LOCAL;
}

/* Run a prepared statement that returns no rows, then finalize it. */
static es_status step_done(es_store *s, sqlite3_stmt *st, es_error *err, const char *what)
{
    int r = sqlite3_step(st);
    es_status rc = ES_OK;
    if (r != SQLITE_DONE)
        rc = es_store_db_error(s, r, err, what);
    sqlite3_finalize(st);
    return rc;
}

es_status es_store_upsert_recording(es_store *s, const es_recording *r, double now,
                                    es_error *err)
{
    if (!r || !r->path[0] || !r->class_name[0] || strlen(r->sha256) != 64)
        return es_error_set(err, ES_ERR_INVALID,
                            "es_store_upsert_recording: path, class and a 64-digit sha256 "
                            "are required (path '%s')",
                            r ? r->path : "");
    static const char sql[] =
        "INSERT INTO recordings(path, class, size, mtime_ns, sha256, duration, first_seen,"
        "  last_seen, source, present, bad, bad_reason)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, 1, 0, NULL)"
        " ON CONFLICT(path) DO UPDATE SET"
        "  class = excluded.class, size = excluded.size, mtime_ns = excluded.mtime_ns,"
        "  bad = CASE WHEN sha256 = excluded.sha256 THEN bad ELSE 0 END,"
        "  bad_reason = CASE WHEN sha256 = excluded.sha256 THEN bad_reason ELSE NULL END,"
        "  sha256 = excluded.sha256,"
        "  duration = COALESCE(excluded.duration, duration),"
        "  last_seen = excluded.last_seen, present = 1,"
        "  source = CASE WHEN source = 'local' THEN excluded.source ELSE source END";
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(s, sql, &st, err);
    if (rc == ES_OK) {
        sqlite3_bind_text(st, 1, r->path, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->class_name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, r->size);
        sqlite3_bind_int64(st, 4, r->mtime_ns);
        sqlite3_bind_text(st, 5, r->sha256, -1, SQLITE_STATIC);
        if (r->duration_s >= 0)
            sqlite3_bind_double(st, 6, r->duration_s);
        else
            sqlite3_bind_null(st, 6);
        sqlite3_bind_double(st, 7, now);
        sqlite3_bind_text(st, 8, es_rec_source_name(r->source), -1, SQLITE_STATIC);
        rc = step_done(s, st, err, "cannot record a recording");
        if (rc != ES_OK)
            es_error_prefix(err, "%s: ", r->path);
    }
    es_store_unlock(s);
    return rc;
}

es_status es_store_record_recording(es_store *s, const char *path, const char *class_name,
                                    int64_t size, const char *sha256_hex, double duration_s,
                                    es_rec_source source, es_error *err)
{
    es_recording r;
    memset(&r, 0, sizeof r);
    if (!path || !class_name || !sha256_hex || strlen(path) >= sizeof r.path ||
        strlen(class_name) >= sizeof r.class_name)
        return es_error_set(err, ES_ERR_INVALID, "es_store_record_recording: bad arguments");
    snprintf(r.path, sizeof r.path, "%s", path);
    snprintf(r.class_name, sizeof r.class_name, "%s", class_name);
    snprintf(r.sha256, sizeof r.sha256, "%s", sha256_hex);
    r.size = size;
    r.duration_s = duration_s;
    r.source = source;
    return es_store_upsert_recording(s, &r, es_unix_time(), err);
}

#define REC_COLS                                                                              \
    "path, class, size, mtime_ns, sha256, duration, source, first_seen, last_seen, present,"  \
    " bad, bad_reason, trained_sha256"

static void read_recording(sqlite3_stmt *st, es_recording *r)
{
    memset(r, 0, sizeof *r);
    es_store_col_text(st, 0, r->path, sizeof r->path);
    es_store_col_text(st, 1, r->class_name, sizeof r->class_name);
    r->size = sqlite3_column_int64(st, 2);
    r->mtime_ns = sqlite3_column_int64(st, 3);
    es_store_col_text(st, 4, r->sha256, sizeof r->sha256);
    r->duration_s = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1.0 : sqlite3_column_double(st, 5);
    r->source = source_parse((const char *)sqlite3_column_text(st, 6));
    r->first_seen = sqlite3_column_double(st, 7);
    r->last_seen = sqlite3_column_double(st, 8);
    r->present = sqlite3_column_int(st, 9);
    r->bad = sqlite3_column_int(st, 10);
    es_store_col_text(st, 11, r->bad_reason, sizeof r->bad_reason);
    es_store_col_text(st, 12, r->trained_sha256, sizeof r->trained_sha256);
}

es_status es_store_get_recording(es_store *s, const char *path, es_recording *out,
                                 es_error *err)
{
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(s, "SELECT " REC_COLS " FROM recordings WHERE path = ?1",
                                    &st, err);
    if (rc == ES_OK) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            read_recording(st, out);
        else if (r == SQLITE_DONE)
            rc = es_error_set(err, ES_ERR_NOT_FOUND, "%s is not in the catalog", path);
        else
            rc = es_store_db_error(s, r, err, "cannot read a recording");
        sqlite3_finalize(st);
    }
    es_store_unlock(s);
    return rc;
}

es_status es_store_mark_bad(es_store *s, const char *path, const char *reason, es_error *err)
{
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(
        s, "UPDATE recordings SET bad = 1, bad_reason = ?2 WHERE path = ?1", &st, err);
    if (rc == ES_OK) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, reason ? reason : "unusable", -1, SQLITE_STATIC);
        rc = step_done(s, st, err, "cannot flag a recording as bad");
        if (rc == ES_OK && sqlite3_changes(s->db) == 0)
            rc = es_error_set(err, ES_ERR_NOT_FOUND, "%s is not in the catalog", path);
    }
    es_store_unlock(s);
    return rc;
}

/* One integer from a single-row query with up to one double parameter. */
static es_status query_int64(es_store *s, const char *sql, int has_param, double param,
                             int64_t *out, es_error *err)
{
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(s, sql, &st, err);
    if (rc != ES_OK)
        return rc;
    if (has_param)
        sqlite3_bind_double(st, 1, param);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = es_store_db_error(s, r, err, "catalog query failed");
    sqlite3_finalize(st);
    return rc;
}

es_status es_store_mark_unseen_absent(es_store *s, double scan_start, int64_t *absent,
                                      es_error *err)
{
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(
        s, "UPDATE recordings SET present = 0 WHERE last_seen < ?1 AND present = 1", &st, err);
    if (rc == ES_OK) {
        sqlite3_bind_double(st, 1, scan_start);
        rc = step_done(s, st, err, "cannot mark unseen recordings");
    }
    int64_t n = 0;
    if (rc == ES_OK && absent)
        rc = query_int64(s, "SELECT count(*) FROM recordings WHERE present = 0", 0, 0, &n, err);
    if (rc == ES_OK && absent)
        *absent = n;
    es_store_unlock(s);
    return rc;
}

es_status es_store_mark_trained(es_store *s, es_error *err)
{
    static const char body[] =
        "UPDATE recordings SET trained_sha256 = sha256 WHERE present = 1 AND bad = 0;"
        "UPDATE recordings SET trained_sha256 = NULL WHERE present = 0;";
    es_store_lock(s);
    int own_tx = !s->in_tx; /* both updates or neither */
    es_status rc = own_tx ? es_store_begin(s, err) : ES_OK;
    if (rc == ES_OK)
        rc = es_store_exec(s, body, err);
    if (own_tx && rc == ES_OK)
        rc = es_store_commit(s, err);
    else if (own_tx && s->in_tx)
        es_store_rollback(s);
    es_store_unlock(s);
    return rc;
}

es_status es_store_foreach_recording(es_store *s, es_recording_fn fn, void *ud, es_error *err)
{
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc =
        es_store_prepare(s, "SELECT " REC_COLS " FROM recordings ORDER BY path", &st, err);
    if (rc == ES_OK) {
        es_recording *r = malloc(sizeof *r);
        if (!r)
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        for (;;) {
            if (rc != ES_OK)
                break;
            int x = sqlite3_step(st);
            if (x == SQLITE_DONE)
                break;
            if (x != SQLITE_ROW) {
                rc = es_store_db_error(s, x, err, "cannot list recordings");
                break;
            }
            read_recording(st, r);
            if (fn(ud, r))
                break;
        }
        free(r);
        sqlite3_finalize(st);
    }
    es_store_unlock(s);
    return rc;
}

es_status es_store_pending_counts(es_store *s, es_store_pending *out, es_error *err)
{
    memset(out, 0, sizeof *out);
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(
        s,
        "SELECT"
        " coalesce(sum(present = 1 AND bad = 0 AND trained_sha256 IS NULL), 0),"
        " coalesce(sum(present = 1 AND bad = 0 AND trained_sha256 IS NOT NULL"
        "              AND trained_sha256 <> sha256), 0),"
        " coalesce(sum(present = 0 AND trained_sha256 IS NOT NULL), 0),"
        " coalesce(sum(present = 1 AND bad = 1), 0),"
        " coalesce(sum(present = 1), 0)"
        " FROM recordings",
        &st, err);
    if (rc == ES_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            out->added = sqlite3_column_int64(st, 0);
            out->changed = sqlite3_column_int64(st, 1);
            out->removed = sqlite3_column_int64(st, 2);
            out->bad = sqlite3_column_int64(st, 3);
            out->present = sqlite3_column_int64(st, 4);
        } else {
            rc = es_store_db_error(s, r, err, "cannot count pending recordings");
        }
        sqlite3_finalize(st);
    }
    es_store_unlock(s);
    return rc;
}

es_status es_store_class_counts(es_store *s, es_class_count **out, size_t *n, es_error *err)
{
    *out = NULL;
    *n = 0;
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(s,
                                    "SELECT class, sum(bad = 0), sum(bad = 1) FROM recordings"
                                    " WHERE present = 1 GROUP BY class ORDER BY class",
                                    &st, err);
    es_class_count *v = NULL;
    size_t cnt = 0, cap = 0;
    while (rc == ES_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_DONE)
            break;
        if (r != SQLITE_ROW) {
            rc = es_store_db_error(s, r, err, "cannot count classes");
            break;
        }
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 8;
            es_class_count *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
                break;
            }
            v = nv;
            cap = nc;
        }
        es_store_col_text(st, 0, v[cnt].name, sizeof v[cnt].name);
        v[cnt].count = sqlite3_column_int64(st, 1);
        v[cnt].bad = sqlite3_column_int64(st, 2);
        cnt++;
    }
    if (st)
        sqlite3_finalize(st);
    es_store_unlock(s);
    if (rc != ES_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *n = cnt;
    return ES_OK;
}

/* ------------------------------------------------------------------------ */
/* Runs                                                                     */

void es_run_info_clear(es_run_info *r)
{
    if (!r)
        return;
    free(r->stages_json);
    memset(r, 0, sizeof *r);
}

es_status es_store_run_begin(es_store *s, const char *trigger, int64_t added, int64_t changed,
                             int64_t *run_id, es_error *err)
{
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(
        s,
        "INSERT INTO runs(started, status, trigger, stage, added, changed, pid)"
        " VALUES(?1, 'running', ?2, 'start', ?3, ?4, ?5)",
        &st, err);
    if (rc == ES_OK) {
        sqlite3_bind_double(st, 1, es_unix_time());
        sqlite3_bind_text(st, 2, trigger ? trigger : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, added);
        sqlite3_bind_int64(st, 4, changed);
        sqlite3_bind_int64(st, 5, (int64_t)getpid());
        rc = step_done(s, st, err, "cannot record the start of a run");
        if (rc == ES_OK)
            *run_id = sqlite3_last_insert_rowid(s->db);
    }
    es_store_unlock(s);
    return rc;
}

es_status es_store_run_stage(es_store *s, int64_t run_id, const char *stage, es_error *err)
{
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(s, "UPDATE runs SET stage = ?2 WHERE id = ?1", &st, err);
    if (rc == ES_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_text(st, 2, stage, -1, SQLITE_STATIC);
        rc = step_done(s, st, err, "cannot record a run's stage");
    }
    es_store_unlock(s);
    return rc;
}

es_status es_store_run_finish(es_store *s, int64_t run_id, const char *status,
                              const char *version, const char *stages_json, const char *error,
                              int64_t cache_hits, int64_t cache_misses, double test_accuracy,
                              es_error *err)
{
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(
        s,
        "UPDATE runs SET finished = ?2, status = ?3, version = ?4, stages_json = ?5,"
        " error = ?6, cache_hits = ?7, cache_misses = ?8, test_accuracy = ?9 WHERE id = ?1",
        &st, err);
    if (rc == ES_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_double(st, 2, es_unix_time());
        sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, version, -1, SQLITE_STATIC);   /* NULL binds NULL */
        sqlite3_bind_text(st, 5, stages_json, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, cache_hits);
        sqlite3_bind_int64(st, 8, cache_misses);
        if (test_accuracy >= 0)
            sqlite3_bind_double(st, 9, test_accuracy);
        else
            sqlite3_bind_null(st, 9);
        rc = step_done(s, st, err, "cannot record the end of a run");
        if (rc == ES_OK && sqlite3_changes(s->db) == 0)
            rc = es_error_set(err, ES_ERR_NOT_FOUND, "run %lld is not in the catalog",
                              (long long)run_id);
    }
    es_store_unlock(s);
    return rc;
}

es_status es_store_mark_interrupted(es_store *s, int64_t *n, es_error *err)
{
    es_store_lock(s);
    es_status rc = es_store_exec(
        s,
        "UPDATE runs SET status = 'interrupted', error = 'the process stopped during stage '"
        " || coalesce(stage, '?') WHERE status = 'running'",
        err);
    if (rc == ES_OK && n)
        *n = sqlite3_changes(s->db);
    es_store_unlock(s);
    return rc;
}

es_status es_store_last_run(es_store *s, const char *status, es_run_info *out, es_error *err)
{
    memset(out, 0, sizeof *out);
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(
        s,
        "SELECT id, started, coalesce(finished, 0), status, version, trigger, stage, error,"
        " added, changed, cache_hits, cache_misses, test_accuracy, stages_json,"
        " coalesce(pid, 0) FROM runs"
        " WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT 1",
        &st, err);
    if (rc == ES_OK) {
        sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            out->id = sqlite3_column_int64(st, 0);
            out->started = sqlite3_column_double(st, 1);
            out->finished = sqlite3_column_double(st, 2);
            es_store_col_text(st, 3, out->status, sizeof out->status);
            es_store_col_text(st, 4, out->version, sizeof out->version);
            es_store_col_text(st, 5, out->trigger, sizeof out->trigger);
            es_store_col_text(st, 6, out->stage, sizeof out->stage);
            es_store_col_text(st, 7, out->error, sizeof out->error);
            out->added = sqlite3_column_int64(st, 8);
            out->changed = sqlite3_column_int64(st, 9);
            out->cache_hits = sqlite3_column_int64(st, 10);
            out->cache_misses = sqlite3_column_int64(st, 11);
            out->test_accuracy =
                sqlite3_column_type(st, 12) == SQLITE_NULL ? -1.0 : sqlite3_column_double(st, 12);
            out->pid = sqlite3_column_int64(st, 14);
            const unsigned char *j = sqlite3_column_text(st, 13);
            if (j && !(out->stages_json = strdup((const char *)j)))
                rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        } else if (r == SQLITE_DONE) {
            rc = es_error_set(err, ES_ERR_NOT_FOUND, "no %s%srun in %s", status ? status : "",
                              status ? " " : "", s->path);
        } else {
            rc = es_store_db_error(s, r, err, "cannot read the runs");
        }
        sqlite3_finalize(st);
    }
    es_store_unlock(s);
    return rc;
}

es_status es_store_run_cache_totals(es_store *s, int64_t *hits, int64_t *misses, es_error *err)
{
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(
        s, "SELECT coalesce(sum(cache_hits), 0), coalesce(sum(cache_misses), 0) FROM runs", &st,
        err);
    if (rc == ES_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            *hits = sqlite3_column_int64(st, 0);
            *misses = sqlite3_column_int64(st, 1);
        } else {
            rc = es_store_db_error(s, r, err, "cannot sum cache statistics");
        }
        sqlite3_finalize(st);
    }
    es_store_unlock(s);
    return rc;
}
