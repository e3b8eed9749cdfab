#include "manager/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"

struct store {
    mongoc_client_pool_t *pool;
    char *database;
    store_opts_t o;
    atomic_bool healthy;
    atomic_bool indexed; /* indexes created since the last outage */
    pthread_mutex_t mu;  /* guards last_error */
    char last_error[512];
};

struct store_bulk {
    store_t *s;
    mongoc_client_t *client;
    mongoc_collection_t *coll;
    mongoc_bulk_operation_t *op;
};

int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

store_t *store_new(const store_opts_t *o, char *err, size_t errlen)
{
    bson_error_t e;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(o->uri, &e);
    if (!uri) {
        snprintf(err, errlen, "mongo.uri: %s", e.message);
        return NULL;
    }
    /* Fail fast while MongoDB is away: requests get 503 within the timeout, not after 30 s. */
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, o->timeout_ms);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, o->timeout_ms);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_HEARTBEATFREQUENCYMS,
                                   o->timeout_ms < 500 ? 500 : o->timeout_ms);
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, 30000);
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, o->pool_size);
    mongoc_client_pool_t *pool = mongoc_client_pool_new(uri);
    mongoc_uri_destroy(uri);
    if (!pool) {
        snprintf(err, errlen, "mongo.uri: the driver refused it");
        return NULL;
    }
    mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_set_appname(pool, "rampart-manager");
    store_t *s = xcalloc(1, sizeof(*s));
    s->pool = pool;
    s->o = *o;
    s->database = xstrdup(o->database);
    s->o.database = s->database;
    s->o.uri = NULL;
    pthread_mutex_init(&s->mu, NULL);
    snprintf(s->last_error, sizeof(s->last_error), "not checked yet");
    return s;
}

void store_free(store_t *s)
{
    if (!s)
        return;
    mongoc_client_pool_destroy(s->pool);
    pthread_mutex_destroy(&s->mu);
    free(s->database);
    free(s);
}

bool store_healthy(const store_t *s)
{
    return atomic_load(&s->healthy);
}

const char *store_last_error(store_t *s, char *buf, size_t size)
{
    pthread_mutex_lock(&s->mu);
    snprintf(buf, size, "%s", atomic_load(&s->healthy) ? "" : s->last_error);
    pthread_mutex_unlock(&s->mu);
    return buf;
}

static void mark(store_t *s, bool up, const char *why)
{
    bool was = atomic_exchange(&s->healthy, up);
    if (!up) {
        atomic_store(&s->indexed, false);
        pthread_mutex_lock(&s->mu);
        snprintf(s->last_error, sizeof(s->last_error), "%.500s", why);
        pthread_mutex_unlock(&s->mu);
    }
    if (was != up) {
        char q[300];
        if (up)
            LOG_INFO("mongo_up", "database=%s", s->database);
        else
            LOG_WARN("mongo_down", "error=%s", log_quote(q, sizeof(q), why));
    }
}

int store_error(store_t *s, const bson_error_t *e, const char *what)
{
    char q[300];
    if (e->code == 11000 || e->code == 11001)
        return -EEXIST;
    bool down = e->domain == MONGOC_ERROR_SERVER_SELECTION || e->domain == MONGOC_ERROR_STREAM ||
                (e->domain == MONGOC_ERROR_CLIENT && (e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE ||
                                                      e->code == MONGOC_ERROR_CLIENT_TOO_BIG));
    if (down) {
        mark(s, false, e->message);
        return -EIO;
    }
    LOG_WARN("mongo_error", "op=%s domain=%u code=%u error=%s", what, e->domain, e->code,
             log_quote(q, sizeof(q), e->message));
    return -EPROTO;
}

/* ---- indexes ------------------------------------------------------------------------------ */

typedef struct {
    const char *coll, *name;
    const char *keys; /* "field:1,field:-1" */
    int ttl;          /* 1: TTL index on a date field with expireAfterSeconds 0 */
    int unique;
} index_def_t;

static const index_def_t INDEXES[] = {
    {"hosts", "last_seen", "last_seen:-1", 0, 0},
    {"hosts", "online_last_seen", "online:1,last_seen:-1", 0, 0},
    {"hosts", "hostname", "hostname:1", 0, 0},
    {"hosts", "tags", "tags:1", 0, 0},
    {"hosts", "first_seen", "first_seen:-1", 0, 0},
    {"assets", "host_type", "agent_id:1,data_type:1,name:1", 0, 0},
    {"assets", "type_name", "data_type:1,name:1", 0, 0},
    {"assets", "last_seen", "last_seen:1", 0, 0},
    {"alerts", "detected_at", "detected_at:-1", 0, 0},
    {"alerts", "status_detected", "status:1,detected_at:-1", 0, 0},
    {"alerts", "severity_detected", "severity:1,detected_at:-1", 0, 0},
    {"alerts", "sev_rank_detected", "sev_rank:-1,detected_at:-1", 0, 0},
    {"alerts", "agent_detected", "agent_id:1,detected_at:-1", 0, 0},
    {"alerts", "rule_detected", "rule_id:1,detected_at:-1", 0, 0},
    {"alerts", "hostname_detected", "hostname:1,detected_at:-1", 0, 0},
    {"alerts", "assignee_detected", "assignee:1,detected_at:-1", 0, 0},
    {"alerts", "hour", "hour:1", 0, 0},
    {"alerts", "expire_at", "expire_at:1", 1, 0},
    {"alert_notes", "alert_at", "alert_id:1,at:1", 0, 0},
    {"tasks", "created_at", "created_at:-1", 0, 0},
    {"tasks", "expire_at", "expire_at:1", 1, 0},
    {"subtasks", "task_status", "task_id:1,status:1", 0, 0},
    {"subtasks", "status_updated", "status:1,updated_at:1", 0, 0},
    {"subtasks", "agent", "agent_id:1,created_at:-1", 0, 0},
    {"subtasks", "expire_at", "expire_at:1", 1, 0},
    {"api_tokens", "owner", "owner:1", 0, 0},
    {"whitelist", "created_at", "created_at:-1", 0, 0},
    {"audit", "at", "at:-1", 0, 0},
    {"audit", "actor_at", "actor:1,at:-1", 0, 0},
    {"audit", "expire_at", "expire_at:1", 1, 0},
};

static void append_keys(bson_t *doc, const char *spec)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(tok, ':');
        *colon = '\0';
        BSON_APPEND_INT32(doc, tok, atoi(colon + 1));
    }
}

static int ensure_indexes(store_t *s)
{
    mongoc_client_t *c = mongoc_client_pool_pop(s->pool);
    mongoc_database_t *db = mongoc_client_get_database(c, s->database);
    int rc = 0;
    size_t n = sizeof(INDEXES) / sizeof(INDEXES[0]);
    for (size_t i = 0; i < n && rc == 0;) {
        /* One createIndexes command per collection. */
        const char *coll = INDEXES[i].coll;
        bson_t cmd = BSON_INITIALIZER, arr, idx, keys;
        BSON_APPEND_UTF8(&cmd, "createIndexes", coll);
        BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
        unsigned k = 0;
        for (; i < n && strcmp(INDEXES[i].coll, coll) == 0; i++, k++) {
            char key[16];
            snprintf(key, sizeof(key), "%u", k);
            BSON_APPEND_DOCUMENT_BEGIN(&arr, key, &idx);
            BSON_APPEND_DOCUMENT_BEGIN(&idx, "key", &keys);
            append_keys(&keys, INDEXES[i].keys);
            bson_append_document_end(&idx, &keys);
            BSON_APPEND_UTF8(&idx, "name", INDEXES[i].name);
            if (INDEXES[i].ttl)
                BSON_APPEND_INT32(&idx, "expireAfterSeconds", 0);
            if (INDEXES[i].unique)
                BSON_APPEND_BOOL(&idx, "unique", true);
            bson_append_document_end(&arr, &idx);
        }
        bson_append_array_end(&cmd, &arr);
        bson_error_t e;
        bson_t reply;
        if (!mongoc_database_write_command_with_opts(db, &cmd, NULL, &reply, &e))
            rc = store_error(s, &e, "create_indexes");
        bson_destroy(&reply);
        bson_destroy(&cmd);
    }
    mongoc_database_destroy(db);
    mongoc_client_pool_push(s->pool, c);
    return rc;
}

int store_check(store_t *s)
{
    mongoc_client_t *c = mongoc_client_pool_pop(s->pool);
    bson_t cmd = BSON_INITIALIZER, reply;
    BSON_APPEND_INT32(&cmd, "ping", 1);
    bson_error_t e;
    bool ok = mongoc_client_command_simple(c, "admin", &cmd, NULL, &reply, &e);
    bson_destroy(&cmd);
    bson_destroy(&reply);
    mongoc_client_pool_push(s->pool, c);
    if (!ok) {
        mark(s, false, e.message);
        return -EIO;
    }
    if (!atomic_load(&s->indexed)) {
        int rc = ensure_indexes(s);
        if (rc < 0)
            return rc;
        atomic_store(&s->indexed, true);
        LOG_INFO("mongo_indexes", "database=%s indexes=%zu", s->database,
                 sizeof(INDEXES) / sizeof(INDEXES[0]));
    }
    mark(s, true, "");
    return 0;
}

/* ---- operations ------------------------------------------------------------------------- */

json_t *store_bson_to_json(const bson_t *doc)
{
    size_t len = 0;
    char *text = bson_as_relaxed_extended_json(doc, &len);
    if (!text)
        return NULL;
    json_t *j = json_loadb(text, len, 0, NULL);
    bson_free(text);
    return j;
}

#define WITH_COLL(s, name, body)                                                                   \
    do {                                                                                           \
        mongoc_client_t *cl_ = mongoc_client_pool_pop((s)->pool);                                  \
        mongoc_collection_t *coll_ = mongoc_client_get_collection(cl_, (s)->database, (name));     \
        body;                                                                                      \
        mongoc_collection_destroy(coll_);                                                          \
        mongoc_client_pool_push((s)->pool, cl_);                                                   \
    } while (0)

int store_insert(store_t *s, const char *coll, const bson_t *doc)
{
    int rc = 0;
    bson_error_t e;
    WITH_COLL(s, coll, {
        if (!mongoc_collection_insert_one(coll_, doc, NULL, NULL, &e))
            rc = store_error(s, &e, "insert");
    });
    return rc;
}

static int64_t reply_int(const bson_t *reply, const char *key)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, reply, key) && BSON_ITER_HOLDS_NUMBER(&it))
        return bson_iter_as_int64(&it);
    return 0;
}

int store_update(store_t *s, const char *coll, const bson_t *filter, const bson_t *update,
                 bool upsert, bool many, int64_t *matched)
{
    int rc = 0;
    bson_error_t e;
    bson_t opts = BSON_INITIALIZER, reply;
    if (upsert)
        BSON_APPEND_BOOL(&opts, "upsert", true);
    WITH_COLL(s, coll, {
        bool ok = many ? mongoc_collection_update_many(coll_, filter, update, &opts, &reply, &e)
                       : mongoc_collection_update_one(coll_, filter, update, &opts, &reply, &e);
        if (!ok)
            rc = store_error(s, &e, "update");
        else if (matched)
            *matched = reply_int(&reply, "matchedCount") + reply_int(&reply, "upsertedCount");
        bson_destroy(&reply);
    });
    bson_destroy(&opts);
    return rc;
}

int store_delete(store_t *s, const char *coll, const bson_t *filter, bool many, int64_t *deleted)
{
    int rc = 0;
    bson_error_t e;
    bson_t reply;
    WITH_COLL(s, coll, {
        bool ok = many ? mongoc_collection_delete_many(coll_, filter, NULL, &reply, &e)
                       : mongoc_collection_delete_one(coll_, filter, NULL, &reply, &e);
        if (!ok)
            rc = store_error(s, &e, "delete");
        else if (deleted)
            *deleted = reply_int(&reply, "deletedCount");
        bson_destroy(&reply);
    });
    return rc;
}

int store_count(store_t *s, const char *coll, const bson_t *filter, int64_t *n)
{
    int rc = 0;
    bson_error_t e;
    WITH_COLL(s, coll, {
        int64_t c = mongoc_collection_count_documents(coll_, filter, NULL, NULL, NULL, &e);
        if (c < 0)
            rc = store_error(s, &e, "count");
        else
            *n = c;
    });
    return rc;
}

static int drain_cursor(store_t *s, mongoc_cursor_t *cur, json_t *arr, size_t max)
{
    const bson_t *doc;
    while (json_array_size(arr) < max && mongoc_cursor_next(cur, &doc)) {
        json_t *j = store_bson_to_json(doc);
        if (j)
            json_array_append_new(arr, j);
    }
    bson_error_t e;
    if (mongoc_cursor_error(cur, &e))
        return store_error(s, &e, "find");
    return 0;
}

int store_find(store_t *s, const char *coll, const bson_t *filter, const bson_t *opts, json_t **out)
{
    int rc = 0;
    json_t *arr = json_array();
    WITH_COLL(s, coll, {
        mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll_, filter, opts, NULL);
        rc = drain_cursor(s, cur, arr, SIZE_MAX);
        mongoc_cursor_destroy(cur);
    });
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

int store_find_one(store_t *s, const char *coll, const bson_t *filter, const bson_t *opts,
                   json_t **out)
{
    bson_t o = BSON_INITIALIZER;
    if (opts)
        bson_copy_to_excluding_noinit(opts, &o, "limit", NULL);
    BSON_APPEND_INT64(&o, "limit", 1);
    json_t *arr = NULL;
    int rc = store_find(s, coll, filter, &o, &arr);
    bson_destroy(&o);
    if (rc < 0)
        return rc;
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return -ENOENT;
    }
    *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return 0;
}

int store_aggregate(store_t *s, const char *coll, const bson_t *pipeline, json_t **out)
{
    int rc = 0;
    json_t *arr = json_array();
    WITH_COLL(s, coll, {
        mongoc_cursor_t *cur =
            mongoc_collection_aggregate(coll_, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
        rc = drain_cursor(s, cur, arr, SIZE_MAX);
        mongoc_cursor_destroy(cur);
    });
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

store_bulk_t *store_bulk_new(store_t *s, const char *coll)
{
    store_bulk_t *b = xcalloc(1, sizeof(*b));
    b->s = s;
    b->client = mongoc_client_pool_pop(s->pool);
    b->coll = mongoc_client_get_collection(b->client, s->database, coll);
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "ordered", false);
    b->op = mongoc_collection_create_bulk_operation_with_opts(b->coll, &opts);
    bson_destroy(&opts);
    return b;
}

mongoc_bulk_operation_t *store_bulk_op(store_bulk_t *b)
{
    return b->op;
}

int store_bulk_run(store_bulk_t *b, size_t nops)
{
    int rc = 0;
    if (nops > 0) {
        bson_t reply;
        bson_error_t e;
        if (!mongoc_bulk_operation_execute(b->op, &reply, &e)) {
            /* Duplicate keys: the caller decides (some servers stop an unordered bulk there). */
            rc = e.code == 11000 ? -EEXIST : store_error(b->s, &e, "bulk");
        }
        bson_destroy(&reply);
    }
    mongoc_bulk_operation_destroy(b->op);
    mongoc_collection_destroy(b->coll);
    mongoc_client_pool_push(b->s->pool, b->client);
    free(b);
    return rc;
}
