/* store: the manager's MongoDB storage through a mongo-c-driver client pool.
 *
 * Every call borrows a client from the pool for one operation and gives it back, so handlers on
 * several HTTP threads and the ingest thread share the pool. Documents are built by the callers
 * with bson_append_* from validated values only: nothing a client sends is parsed as BSON, so
 * request parameters never become MongoDB operators.
 *
 * Return codes of the operations: 0; -ENOENT (find_one found nothing); -EEXIST (duplicate key);
 * -EIO (MongoDB unreachable: the API answers 503 and the store is marked down until a ping
 * succeeds); -EPROTO (any other error, logged). The operations used stay inside the subset that
 * both MongoDB 6+ and jongodb accept (docs/manager.md lists it). */
#ifndef RAMPART_MGR_STORE_H
#define RAMPART_MGR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <mongoc/mongoc.h>

typedef struct store store_t;

typedef struct {
    const char *uri;
    const char *database;
    int pool_size;
    int timeout_ms;
    int64_t retention_alerts_ms, retention_tasks_ms, retention_audit_ms;
} store_opts_t;

/* NULL with the reason in err when the URI is invalid (nothing is contacted yet). */
store_t *store_new(const store_opts_t *o, char *err, size_t errlen);
void store_free(store_t *s);

/* Pings the server; on success after a failure (or the first time) creates the indexes. 0 or
 * -EIO. Called by the jobs thread; cheap when healthy. */
int store_check(store_t *s);
bool store_healthy(const store_t *s);
/* The last error text ("" when healthy). */
const char *store_last_error(store_t *s, char *buf, size_t size);

/* The operations (see the return codes above). coll is a collection name. */
int store_insert(store_t *s, const char *coll, const bson_t *doc);
int store_update(store_t *s, const char *coll, const bson_t *filter, const bson_t *update,
                 bool upsert, bool many, int64_t *matched);
int store_delete(store_t *s, const char *coll, const bson_t *filter, bool many, int64_t *deleted);
int store_count(store_t *s, const char *coll, const bson_t *filter, int64_t *n);
/* A JSON array of the documents (relaxed extended JSON) into *out. opts: sort, skip, limit,
 * projection (may be NULL). */
int store_find(store_t *s, const char *coll, const bson_t *filter, const bson_t *opts,
               json_t **out);
int store_find_one(store_t *s, const char *coll, const bson_t *filter, const bson_t *opts,
                   json_t **out);
int store_aggregate(store_t *s, const char *coll, const bson_t *pipeline, json_t **out);

/* Bulk writes for the ingest path: a pooled client and an unordered bulk operation. */
typedef struct store_bulk store_bulk_t;
store_bulk_t *store_bulk_new(store_t *s, const char *coll);
/* The bulk operation to append to (mongoc_bulk_operation_*). */
mongoc_bulk_operation_t *store_bulk_op(store_bulk_t *b);
/* Executes if anything was appended and frees b. 0, -EEXIST (a duplicate key: with an unordered
 * bulk MongoDB wrote the rest, jongodb may not have), -EIO or -EPROTO. */
int store_bulk_run(store_bulk_t *b, size_t nops);

/* Maps a driver error to the codes above and records it (marks the store down on -EIO). */
int store_error(store_t *s, const bson_error_t *e, const char *what);

/* A BSON document as a jansson object (relaxed extended JSON); NULL on failure. */
json_t *store_bson_to_json(const bson_t *doc);

/* Milliseconds since the epoch, wall clock. */
int64_t store_now_ms(void);

#endif
