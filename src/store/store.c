/*
 * store.c: opening the catalog database, its schema migrations, transactions
 * and the helpers the other store files use.
 *
 * Why these settings: WAL lets the server read (status, /models) while a
 * retrain writes, and a killed writer leaves only an uncommitted tail that
 * SQLite discards on the next open. synchronous=NORMAL in WAL mode is still
 * safe against a process crash (only a power cut can lose the last commits,
 * never consistency), and saves an fsync per cached embedding.
 */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each entry moves the schema up one version. Never edit a released entry:
 * add a new one and bump ES_STORE_SCHEMA_VERSION. */
const char *const es_store_migrations[ES_STORE_SCHEMA_VERSION] = {
    /* 1: the catalog of recordings and the runs. */
    "CREATE TABLE recordings("
    "  id INTEGER PRIMARY KEY,"
    "  path TEXT NOT NULL UNIQUE,"
    "  class TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  mtime_ns INTEGER NOT NULL DEFAULT 0,"
    "  sha256 TEXT NOT NULL,"
    "  duration REAL,"
    "  first_seen REAL NOT NULL,"
    "  last_seen REAL NOT NULL,"
    "  source TEXT NOT NULL CHECK(source IN ('local','s3','api')),"
    "  present INTEGER NOT NULL DEFAULT 1,"
    "  bad INTEGER NOT NULL DEFAULT 0,"
    "  bad_reason TEXT,"
    "  trained_sha256 TEXT);"
    "CREATE INDEX recordings_class ON recordings(class);"
    "CREATE TABLE runs("
    "  id INTEGER PRIMARY KEY,"
    "  started REAL NOT NULL,"
    "  finished REAL,"
    "  status TEXT NOT NULL,"
    "  version TEXT,"
    "  trigger TEXT,"
    "  stage TEXT,"
    "  error TEXT,"
    "  added INTEGER NOT NULL DEFAULT 0,"
    "  changed INTEGER NOT NULL DEFAULT 0,"
    "  pid INTEGER,"
    "  stages_json TEXT,"
    "  cache_hits INTEGER NOT NULL DEFAULT 0,"
    "  cache_misses INTEGER NOT NULL DEFAULT 0,"
    "  test_accuracy REAL);"
    "CREATE INDEX runs_status ON runs(status, id);",
    /* 2: the embedding cache. */
    "CREATE TABLE embeddings("
    "  audio_key BLOB NOT NULL,"
    "  aug TEXT NOT NULL,"
    "  seed INTEGER NOT NULL,"
    "  model_sha256 TEXT NOT NULL,"
    "  params TEXT NOT NULL,"
    "  dim INTEGER NOT NULL,"
    "  vec BLOB NOT NULL,"
    "  created REAL NOT NULL,"
    "  PRIMARY KEY(audio_key, aug, seed, model_sha256, params)) WITHOUT ROWID;",
};

void es_store_lock(es_store *s) { pthread_mutex_lock(&s->mu); }
void es_store_unlock(es_store *s) { pthread_mutex_unlock(&s->mu); }

es_status es_store_db_error(es_store *s, int rc, es_error *err, const char *what)
{
    es_status code = ES_ERR_DB;
    int prim = rc & 0xff;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        code = ES_ERR_BUSY;
    else if (prim == SQLITE_NOMEM)
        code = ES_ERR_NOMEM;
    else if (prim == SQLITE_IOERR || prim == SQLITE_FULL || prim == SQLITE_CANTOPEN ||
             prim == SQLITE_READONLY)
        code = ES_ERR_IO;
    else if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB)
        code = ES_ERR_FORMAT;
    const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    return es_error_set(err, code, "%s (%s): %s [%s]", what, s && s->path ? s->path : "?",
                        msg, sqlite3_errstr(rc));
}

es_status es_store_exec(es_store *s, const char *sql, es_error *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return es_store_db_error(s, rc, err, "database statement failed");
    return ES_OK;
}

es_status es_store_prepare(es_store *s, const char *sql, sqlite3_stmt **st, es_error *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return es_store_db_error(s, rc, err, "cannot prepare a database statement");
    }
    return ES_OK;
}

void es_store_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t) {
        dst[0] = 0;
        return;
    }
    snprintf(dst, cap, "%s", (const char *)t);
}

static es_status read_user_version(es_store *s, int *v, es_error *err)
{
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(s, "PRAGMA user_version", &st, err);
    if (rc != ES_OK)
        return rc;
    int r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        rc = es_store_db_error(s, r, err, "cannot read the schema version");
    } else {
        *v = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Bring the schema to ES_STORE_SCHEMA_VERSION inside one IMMEDIATE
 * transaction, so two processes opening a new database at once do not both
 * migrate (the second sees the new version after waiting). */
static es_status migrate(es_store *s, es_error *err)
{
    es_status rc = es_store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc != ES_OK)
        return es_error_prefix(err, "while migrating the schema: ");
    int v = 0;
    rc = read_user_version(s, &v, err);
    if (rc != ES_OK)
        goto fail;
    if (v > ES_STORE_SCHEMA_VERSION) {
        rc = es_error_set(err, ES_ERR_UNSUPPORTED,
                          "%s has schema version %d, newer than this ecosight's %d: "
                          "upgrade ecosight or use another models directory",
                          s->path, v, ES_STORE_SCHEMA_VERSION);
        goto fail;
    }
    for (int i = v; i < ES_STORE_SCHEMA_VERSION; i++) {
        rc = es_store_exec(s, es_store_migrations[i], err);
        if (rc != ES_OK) {
            es_error_prefix(err, "migration to schema version %d failed: ", i + 1);
            goto fail;
        }
    }
    if (v != ES_STORE_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", ES_STORE_SCHEMA_VERSION);
        if ((rc = es_store_exec(s, sql, err)) != ES_OK)
            goto fail;
    }
    if ((rc = es_store_exec(s, "COMMIT", err)) != ES_OK)
        goto fail;
    s->schema_version = ES_STORE_SCHEMA_VERSION;
    return ES_OK;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* journal_mode=WAL needs an exclusive moment; the busy handler does not
 * cover every path there, so retry briefly ourselves. */
static es_status set_wal(es_store *s, es_error *err)
{
    for (int attempt = 0;; attempt++) {
        sqlite3_stmt *st;
        es_status rc = es_store_prepare(s, "PRAGMA journal_mode=WAL", &st, err);
        if (rc != ES_OK)
            return rc;
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            const char *mode = (const char *)sqlite3_column_text(st, 0);
            int ok = mode && strcmp(mode, "wal") == 0;
            sqlite3_finalize(st);
            if (!ok)
                return es_error_set(err, ES_ERR_DB,
                                    "%s: the database refused WAL mode (journal mode %s)",
                                    s->path, mode ? mode : "?");
            return ES_OK;
        }
        sqlite3_finalize(st);
        if ((r & 0xff) != SQLITE_BUSY || attempt > 100)
            return es_store_db_error(s, r, err, "cannot switch the database to WAL mode");
        usleep(50000);
    }
}

es_status es_store_open(const char *path, es_store **out, es_error *err)
{
    if (!path || !*path || !out)
        return es_error_set(err, ES_ERR_INVALID, "es_store_open: no path");
    es_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory opening %s", path);
    }
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->mu, &a);
    pthread_mutexattr_destroy(&a);

    es_status rc;
    int r = sqlite3_open_v2(path, &s->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                            NULL);
    if (r != SQLITE_OK) {
        rc = es_store_db_error(s, r, err, "cannot open the catalog database");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, ES_STORE_BUSY_TIMEOUT_MS);
    if ((rc = set_wal(s, err)) != ES_OK)
        goto fail;
    if ((rc = es_store_exec(s, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", err)) !=
        ES_OK)
        goto fail;
    if ((rc = migrate(s, err)) != ES_OK)
        goto fail;
    *out = s;
    return ES_OK;
fail:
    es_store_close(s);
    return rc;
}

es_status es_store_open_dir(const char *models_dir, es_store **out, es_error *err)
{
    es_status rc = es_mkdirs(models_dir, err);
    if (rc != ES_OK)
        return rc;
    char *p = es_path_join(models_dir, ES_STORE_FILENAME);
    if (!p)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    rc = es_store_open(p, out, err);
    free(p);
    return rc;
}

void es_store_close(es_store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->cache_get);
    sqlite3_finalize(s->cache_put);
    sqlite3_finalize(s->cache_del);
    if (s->db) {
        if (s->in_tx)
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(s->db);
    }
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

const char *es_store_path(const es_store *s) { return s ? s->path : NULL; }
int es_store_schema_version(const es_store *s) { return s ? s->schema_version : 0; }

es_status es_store_check(es_store *s, es_error *err)
{
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(s, "PRAGMA quick_check", &st, err);
    if (rc == ES_OK) {
        int r = sqlite3_step(st);
        if (r != SQLITE_ROW) {
            rc = es_store_db_error(s, r, err, "integrity check failed to run");
        } else {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            if (!t || strcmp(t, "ok") != 0)
                rc = es_error_set(err, ES_ERR_FORMAT, "%s is damaged: %s", s->path,
                                  t ? t : "?");
        }
        sqlite3_finalize(st);
    }
    es_store_unlock(s);
    return rc;
}

es_status es_store_begin(es_store *s, es_error *err)
{
    es_store_lock(s);
    if (s->in_tx) {
        es_store_unlock(s);
        return es_error_set(err, ES_ERR_INVALID, "%s: a transaction is already open", s->path);
    }
    /* IMMEDIATE: take the write lock now, so the busy timeout applies here
     * and not at a later statement where it cannot be retried cleanly. */
    es_status rc = es_store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc != ES_OK) {
        es_store_unlock(s);
        return rc;
    }
    s->in_tx = 1;
    return ES_OK; /* the mutex stays held until commit or rollback */
}

es_status es_store_commit(es_store *s, es_error *err)
{
    if (!s->in_tx)
        return es_error_set(err, ES_ERR_INVALID, "%s: commit without a transaction", s->path);
    es_status rc = es_store_exec(s, "COMMIT", err);
    if (rc != ES_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = 0;
    es_store_unlock(s);
    return rc;
}

void es_store_rollback(es_store *s)
{
    if (!s || !s->in_tx)
        return;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = 0;
    es_store_unlock(s);
}
