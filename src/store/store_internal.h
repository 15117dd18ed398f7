/*
 * store_internal.h: what the store's files share: the handle, the lock that
 * serialises a connection between threads, the schema migrations (exposed so
 * the unit tests can build an old database and watch it migrate), and small
 * SQLite helpers that turn result codes into es_error messages.
 */
#ifndef ES_STORE_INTERNAL_H
#define ES_STORE_INTERNAL_H

#include "ecosight/store.h"

#include <pthread.h>
#include <sqlite3.h>

struct es_store {
    sqlite3 *db;
    char *path;
    int schema_version;
    /* Recursive: a transaction begun by one thread holds it until commit,
     * and that thread's own calls inside the transaction re-enter it. */
    pthread_mutex_t mu;
    int in_tx;
    /* Hot-path statements, prepared once. */
    sqlite3_stmt *cache_get, *cache_put, *cache_del;
    int64_t hits, misses, puts;
};

/* Migration i (1-based) takes the schema from version i-1 to i. */
extern const char *const es_store_migrations[ES_STORE_SCHEMA_VERSION];

void es_store_lock(es_store *s);
void es_store_unlock(es_store *s);
/* Fill err from the connection: "<what> (<path>): <sqlite message>". */
es_status es_store_db_error(es_store *s, int rc, es_error *err, const char *what);
/* Run SQL without results. */
es_status es_store_exec(es_store *s, const char *sql, es_error *err);
es_status es_store_prepare(es_store *s, const char *sql, sqlite3_stmt **st, es_error *err);
/* Copy a text column into a fixed buffer ("" for NULL). */
void es_store_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap);

#endif
