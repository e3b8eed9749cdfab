/* Tasks: create for hosts or tags, list, status per host, results. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manager/api.h"
#include "manager/dispatch.h"
#include "manager/mgr.h"

/* What each task type becomes on the agent: Task{data_type, object_name (the plugin), data}.
 * The numbers are Rampart's (outside Elkeid's ranges), documented in docs/api.md. */
typedef struct {
    const char *type, *plugin;
    int data_type;
    const char *param; /* required parameter, or NULL */
    bool param_is_int;
} task_type_t;

static const task_type_t TYPES[] = {
    {"collect_now", "collector", 8100, NULL, false},
    {"kill_process", "responder", 8101, "pid", true},
    {"quarantine_file", "responder", 8102, "path", false},
    {"scan", "scanner", 8103, "path", false},
    {"baseline", "baseline", 8104, NULL, false},
};

static const task_type_t *task_type(const char *name)
{
    for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++)
        if (strcmp(TYPES[i].type, name) == 0)
            return &TYPES[i];
    return NULL;
}

/* The task's data (JSON text) from params; NULL after answering 400. */
static char *task_data(ctx_t *c, const task_type_t *t, json_t *params)
{
    if (params && !json_is_object(params)) {
        reply_error(c, 400, "invalid_field", "params must be an object");
        return NULL;
    }
    json_t *data = json_object();
    if (t->param) {
        json_t *v = json_object_get(params, t->param);
        bool ok = t->param_is_int
                      ? json_is_integer(v) && json_integer_value(v) > 0 &&
                            json_integer_value(v) <= 4194304
                      : json_is_string(v) && json_string_length(v) > 0 &&
                            json_string_length(v) <= 4096 && json_string_value(v)[0] == '/' &&
                            text_ok(json_string_value(v), 4096);
        if (!ok) {
            reply_error(c, 400, "invalid_field",
                        t->param_is_int ? "params.%s must be a process id (1-4194304)"
                                        : "params.%s must be an absolute path",
                        t->param);
            json_decref(data);
            return NULL;
        }
        json_object_set(data, t->param, v);
    }
    if (strcmp(t->type, "collect_now") == 0 && json_object_get(params, "types")) {
        json_t *types = json_object_get(params, "types");
        size_t i;
        json_t *v;
        bool ok = json_is_array(types) && json_array_size(types) <= 16;
        json_array_foreach(types, i, v) ok =
            ok && json_is_string(v) && id_ok(json_string_value(v), 32);
        if (!ok) {
            reply_error(c, 400, "invalid_field", "params.types must be up to 16 asset types");
            json_decref(data);
            return NULL;
        }
        json_object_set(data, "types", types);
    }
    char *s = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    return s;
}

/* Appends a BSON array of the strings of j (validated as ids) to doc as key. -EINVAL if one
 * is not an id. */
static int append_ids(bson_t *doc, const char *key, json_t *j, size_t max)
{
    if (!json_is_array(j) || json_array_size(j) == 0 || json_array_size(j) > max)
        return -EINVAL;
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(doc, key, &arr);
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(j, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || !id_ok(s, 128)) {
            rc = -EINVAL;
            break;
        }
        char k[24];
        snprintf(k, sizeof(k), "%zu", i);
        BSON_APPEND_UTF8(&arr, k, s);
    }
    bson_append_array_end(doc, &arr);
    return rc;
}

void api_tasks_create(ctx_t *c)
{
    static const char *const known[] = {"type", "hosts", "tags", "params", NULL};
    json_t *b = body_json(c);
    if (!b)
        return;
    const char *type;
    char *data = NULL;
    json_t *hosts_j = json_object_get(b, "hosts"), *tags_j = json_object_get(b, "tags");
    json_t *hosts = NULL;
    bson_t f = BSON_INITIALIZER, in;
    if (b_known(c, b, known) < 0 || b_str(c, b, "type", true, 32, &type) < 0)
        goto out;
    const task_type_t *t = task_type(type);
    if (!t) {
        reply_error(c, 400, "invalid_field",
                    "type must be collect_now, kill_process, quarantine_file, scan or baseline");
        goto out;
    }
    if (!hosts_j == !tags_j) {
        reply_error(c, 400, "invalid_field", "give exactly one of hosts and tags");
        goto out;
    }
    if (!(data = task_data(c, t, json_object_get(b, "params"))))
        goto out;
    size_t max = (size_t)c->m->cfg.tasks_max_hosts;
    BSON_APPEND_DOCUMENT_BEGIN(&f, hosts_j ? "_id" : "tags", &in);
    int rc = append_ids(&in, "$in", hosts_j ? hosts_j : tags_j, hosts_j ? max : 64);
    bson_append_document_end(&f, &in);
    if (rc < 0) {
        reply_error(c, 400, "invalid_field", "%s must be an array of 1 to %zu ids",
                    hosts_j ? "hosts" : "tags", hosts_j ? max : (size_t)64);
        goto out;
    }
    bson_t o = BSON_INITIALIZER, p;
    BSON_APPEND_DOCUMENT_BEGIN(&o, "projection", &p);
    BSON_APPEND_INT32(&p, "_id", 1);
    bson_append_document_end(&o, &p);
    BSON_APPEND_INT64(&o, "limit", (int64_t)max + 1);
    rc = store_find(c->m->store, "hosts", &f, &o, &hosts);
    bson_destroy(&o);
    if (rc < 0) {
        reply_store(c, rc);
        goto out;
    }
    if (json_array_size(hosts) == 0) {
        reply_error(c, 400, "no_hosts", "no known host matches");
        goto out;
    }
    if (json_array_size(hosts) > max) {
        reply_error(c, 400, "too_many_hosts", "the task would reach more than %zu hosts", max);
        goto out;
    }
    char tid[33];
    auth_random_hex(tid, 16);
    int64_t now = store_now_ms(), expire = now + c->m->cfg.retention_tasks_ms;
    snprintf(c->target, sizeof(c->target), "task:%s", tid);
    c->detail = json_pack("{s:s, s:s, s:I}", "type", type, "data", data, "hosts",
                          (json_int_t)json_array_size(hosts));
    store_bulk_t *bulk = store_bulk_new(c->m->store, "subtasks");
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h)
    {
        const char *agent = json_string_value(json_object_get(h, "_id"));
        char token[33];
        auth_random_hex(token, 16);
        bson_t doc = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&doc, "_id", token);
        BSON_APPEND_UTF8(&doc, "task_id", tid);
        BSON_APPEND_UTF8(&doc, "agent_id", agent ? agent : "");
        /* Ids that cannot travel in a URL path are never sent. */
        BSON_APPEND_UTF8(&doc, "status", agent && id_ok(agent, 128) ? "pending" : "undeliverable");
        BSON_APPEND_INT32(&doc, "data_type", t->data_type);
        BSON_APPEND_UTF8(&doc, "object_name", t->plugin);
        BSON_APPEND_UTF8(&doc, "data", data);
        BSON_APPEND_INT64(&doc, "attempts", 0);
        BSON_APPEND_UTF8(&doc, "msg", "");
        BSON_APPEND_INT64(&doc, "created_at", now);
        BSON_APPEND_INT64(&doc, "updated_at", now);
        BSON_APPEND_DATE_TIME(&doc, "expire_at", expire);
        mongoc_bulk_operation_insert_with_opts(store_bulk_op(bulk), &doc, NULL, NULL);
        bson_destroy(&doc);
    }
    rc = store_bulk_run(bulk, json_array_size(hosts));
    if (rc == 0) {
        bson_t doc = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&doc, "_id", tid);
        BSON_APPEND_UTF8(&doc, "type", type);
        BSON_APPEND_UTF8(&doc, "data", data);
        BSON_APPEND_INT64(&doc, "hosts", (int64_t)json_array_size(hosts));
        BSON_APPEND_UTF8(&doc, "created_by", c->id.user);
        BSON_APPEND_INT64(&doc, "created_at", now);
        BSON_APPEND_DATE_TIME(&doc, "expire_at", expire);
        rc = store_insert(c->m->store, "tasks", &doc);
        bson_destroy(&doc);
    }
    if (rc < 0) {
        reply_store(c, rc);
        goto out;
    }
    dispatch_kick(c->m->dispatch);
    reply(c, 201,
          json_pack("{s:s, s:s, s:I}", "id", tid, "type", type, "hosts",
                    (json_int_t)json_array_size(hosts)));
out:
    if (!c->status)
        c->status = 400;
    bson_destroy(&f);
    json_decref(hosts);
    free(data);
    json_decref(b);
}

void api_tasks_list(ctx_t *c)
{
    int64_t limit, offset;
    if (q_page(c, &limit, &offset) < 0)
        return;
    bson_t f = BSON_INITIALIZER, s = BSON_INITIALIZER, p = BSON_INITIALIZER;
    BSON_APPEND_INT32(&s, "created_at", -1);
    BSON_APPEND_INT32(&p, "expire_at", 0);
    reply_list(c, "tasks", &f, &s, &p, limit, offset, "id");
    bson_destroy(&f);
    bson_destroy(&s);
    bson_destroy(&p);
}

static const char *task_id(ctx_t *c)
{
    const char *id = http_request_param(c->req, "id");
    if (!id_ok(id, 64)) {
        reply_error(c, 404, "not_found", "no such task");
        return NULL;
    }
    return id;
}

void api_task_get(ctx_t *c)
{
    const char *id = task_id(c);
    if (!id)
        return;
    bson_t f = BSON_INITIALIZER, p = BSON_INITIALIZER, o = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "_id", id);
    BSON_APPEND_INT32(&p, "expire_at", 0);
    BSON_APPEND_DOCUMENT(&o, "projection", &p);
    json_t *doc = NULL, *groups = NULL;
    int rc = store_find_one(c->m->store, "tasks", &f, &o, &doc);
    bson_destroy(&f);
    bson_destroy(&p);
    bson_destroy(&o);
    if (rc == 0) {
        bson_t *pipe = BCON_NEW("pipeline", "[", "{", "$match", "{", "task_id", BCON_UTF8(id), "}",
                                "}", "{", "$group", "{", "_id", BCON_UTF8("$status"), "n", "{",
                                "$sum", BCON_INT32(1), "}", "}", "}", "]");
        rc = store_aggregate(c->m->store, "subtasks", pipe, &groups);
        bson_destroy(pipe);
    }
    if (rc < 0) {
        json_decref(doc);
        reply_store(c, rc);
        return;
    }
    json_rename_id(doc, "id");
    json_t *counts = json_pack("{s:i, s:i, s:i, s:i, s:i}", "pending", 0, "sent", 0, "succeed", 0,
                               "failed", 0, "undeliverable", 0);
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        const char *st = json_string_value(json_object_get(g, "_id"));
        if (!st)
            continue;
        if (strcmp(st, "dispatching") == 0)
            st = "pending";
        json_int_t prev = json_integer_value(json_object_get(counts, st));
        json_object_set_new(counts, st,
                            json_integer(prev + json_integer_value(json_object_get(g, "n"))));
    }
    json_decref(groups);
    json_int_t done = json_integer_value(json_object_get(counts, "succeed")) +
                      json_integer_value(json_object_get(counts, "failed")) +
                      json_integer_value(json_object_get(counts, "undeliverable"));
    json_object_set_new(doc, "counts", counts);
    json_object_set_new(doc, "done",
                        json_boolean(done >= json_integer_value(json_object_get(doc, "hosts"))));
    reply(c, 200, doc);
}

void api_task_hosts(ctx_t *c)
{
    static const char *const statuses[] = {"pending", "sent",          "succeed",
                                           "failed",  "undeliverable", NULL};
    const char *id = task_id(c), *status;
    int64_t limit, offset;
    if (!id || q_enum(c, "status", statuses, NULL, &status) < 0 || q_page(c, &limit, &offset) < 0)
        return;
    bson_t f = BSON_INITIALIZER, s = BSON_INITIALIZER, p = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "task_id", id);
    if (status)
        BSON_APPEND_UTF8(&f, "status", status);
    BSON_APPEND_INT32(&s, "agent_id", 1);
    BSON_APPEND_INT32(&p, "expire_at", 0);
    BSON_APPEND_INT32(&p, "data", 0);
    reply_list(c, "subtasks", &f, &s, &p, limit, offset, "token");
    bson_destroy(&f);
    bson_destroy(&s);
    bson_destroy(&p);
}
