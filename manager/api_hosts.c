/* Hosts (list, detail, tags) and assets (per host, fleet-wide). */
#include <errno.h>
#include <string.h>

#include "manager/api.h"
#include "manager/asset.h"
#include "manager/mgr.h"

#define TAGS_MAX 32

/* Appends {field: {$gte: p, $lt: p + U+10FFFF}}: "starts with p" without a regular expression. */
static void append_prefix(bson_t *f, const char *field, const char *p)
{
    bson_t r;
    char hi[300];
    snprintf(hi, sizeof(hi), "%s\xf4\x8f\xbf\xbf", p);
    BSON_APPEND_DOCUMENT_BEGIN(f, field, &r);
    BSON_APPEND_UTF8(&r, "$gte", p);
    BSON_APPEND_UTF8(&r, "$lt", hi);
    bson_append_document_end(f, &r);
}

void api_hosts_list(ctx_t *c)
{
    static const char *const statuses[] = {"online", "offline", NULL};
    static const char *const sorts[] = {"hostname", "last_seen", "first_seen", NULL};
    static const char *const orders[] = {"asc", "desc", NULL};
    const char *status, *tag, *hostname, *agent, *sort, *order;
    int64_t limit, offset;
    if (q_enum(c, "status", statuses, NULL, &status) < 0 || q_str(c, "tag", 64, &tag) < 0 ||
        q_str(c, "hostname", 255, &hostname) < 0 || q_str(c, "agent_id", 128, &agent) < 0 ||
        q_enum(c, "sort", sorts, "hostname", &sort) < 0 ||
        q_enum(c, "order", orders, strcmp(sort, "hostname") ? "desc" : "asc", &order) < 0 ||
        q_page(c, &limit, &offset) < 0)
        return;
    bson_t f = BSON_INITIALIZER, s = BSON_INITIALIZER;
    if (status)
        BSON_APPEND_BOOL(&f, "online", strcmp(status, "online") == 0);
    if (tag)
        BSON_APPEND_UTF8(&f, "tags", tag);
    if (agent)
        BSON_APPEND_UTF8(&f, "_id", agent);
    if (hostname)
        append_prefix(&f, "hostname", hostname);
    int dir = strcmp(order, "asc") == 0 ? 1 : -1;
    BSON_APPEND_INT32(&s, sort, dir);
    BSON_APPEND_INT32(&s, "_id", dir);
    reply_list(c, "hosts", &f, &s, NULL, limit, offset, "agent_id");
    bson_destroy(&f);
    bson_destroy(&s);
}

static const char *host_id(ctx_t *c)
{
    const char *id = http_request_param(c->req, "id");
    if (!id_ok(id, 128)) {
        reply_error(c, 404, "not_found", "no such host");
        return NULL;
    }
    return id;
}

void api_host_get(ctx_t *c)
{
    const char *id = host_id(c);
    if (!id)
        return;
    bson_t f = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "_id", id);
    json_t *doc = NULL;
    int rc = store_find_one(c->m->store, "hosts", &f, NULL, &doc);
    bson_destroy(&f);
    if (rc < 0) {
        reply_store(c, rc);
        return;
    }
    json_rename_id(doc, "agent_id");
    /* Open alerts of the host by severity. */
    bson_t *pipe = BCON_NEW("pipeline", "[", "{", "$match", "{", "agent_id", BCON_UTF8(id),
                            "status", "{", "$in", "[", BCON_UTF8("new"), BCON_UTF8("in_progress"),
                            "]", "}", "}", "}", "{", "$group", "{", "_id", BCON_UTF8("$severity"),
                            "n", "{", "$sum", BCON_INT32(1), "}", "}", "}", "]");
    json_t *groups = NULL;
    rc = store_aggregate(c->m->store, "alerts", pipe, &groups);
    bson_destroy(pipe);
    if (rc < 0) {
        json_decref(doc);
        reply_store(c, rc);
        return;
    }
    json_t *open = json_object();
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        const char *sev = json_string_value(json_object_get(g, "_id"));
        if (sev)
            json_object_set(open, sev, json_object_get(g, "n"));
    }
    json_decref(groups);
    json_object_set_new(doc, "open_alerts", open);
    reply(c, 200, doc);
}

void api_host_tags(ctx_t *c)
{
    static const char *const known[] = {"tags", NULL};
    const char *id = host_id(c);
    if (!id)
        return;
    snprintf(c->target, sizeof(c->target), "host:%s", id);
    json_t *b = body_json(c);
    if (!b)
        return;
    json_t *tags = json_object_get(b, "tags");
    if (b_known(c, b, known) < 0) {
        json_decref(b);
        return;
    }
    if (!json_is_array(tags) || json_array_size(tags) > TAGS_MAX) {
        reply_error(c, 400, "invalid_field", "tags must be an array of at most %d strings",
                    TAGS_MAX);
        json_decref(b);
        return;
    }
    bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set, arr;
    BSON_APPEND_UTF8(&f, "_id", id);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    BSON_APPEND_ARRAY_BEGIN(&set, "tags", &arr);
    size_t i;
    json_t *t;
    bool bad = false;
    json_array_foreach(tags, i, t)
    {
        const char *s = json_string_value(t);
        if (!s || !id_ok(s, 64)) {
            bad = true;
            break;
        }
        char k[24];
        snprintf(k, sizeof(k), "%zu", i);
        BSON_APPEND_UTF8(&arr, k, s);
    }
    bson_append_array_end(&set, &arr);
    bson_append_document_end(&u, &set);
    int64_t matched = 0;
    int rc = bad ? -EINVAL : store_update(c->m->store, "hosts", &f, &u, false, false, &matched);
    bson_destroy(&f);
    bson_destroy(&u);
    if (bad) {
        reply_error(c, 400, "invalid_field", "a tag is 1-64 of [A-Za-z0-9_.:-]");
    } else if (rc == 0 && matched == 0) {
        reply_error(c, 404, "not_found", "no such host");
    } else if (rc < 0) {
        reply_store(c, rc);
    } else {
        c->detail = json_pack("{s:O}", "tags", tags);
        reply(c, 200, json_pack("{s:s, s:O}", "agent_id", id, "tags", tags));
    }
    json_decref(b);
}

static int asset_type_param(ctx_t *c, bool required, int *dt)
{
    const char *type = NULL;
    if (q_str(c, "type", 32, &type) < 0)
        return -EINVAL;
    *dt = -1;
    if (!type && !required)
        return 0;
    if (!type || (*dt = asset_type_parse(type)) < 0) {
        reply_error(c, 400, "invalid_parameter", "type must be one of: %s", asset_type_names());
        return -EINVAL;
    }
    return 0;
}

void api_host_assets(ctx_t *c)
{
    const char *id = host_id(c);
    int dt;
    int64_t limit, offset;
    if (!id || asset_type_param(c, false, &dt) < 0 || q_page(c, &limit, &offset) < 0)
        return;
    bson_t f = BSON_INITIALIZER, s = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "agent_id", id);
    if (dt >= 0)
        BSON_APPEND_INT32(&f, "data_type", dt);
    BSON_APPEND_INT32(&s, "data_type", 1);
    BSON_APPEND_INT32(&s, "name", 1);
    reply_list(c, "assets", &f, &s, NULL, limit, offset, "id");
    bson_destroy(&f);
    bson_destroy(&s);
}

void api_assets_search(ctx_t *c)
{
    int dt;
    const char *name;
    int64_t limit, offset;
    if (asset_type_param(c, true, &dt) < 0 || q_str(c, "name", 1024, &name) < 0 ||
        q_page(c, &limit, &offset) < 0)
        return;
    bson_t f = BSON_INITIALIZER, s = BSON_INITIALIZER;
    BSON_APPEND_INT32(&f, "data_type", dt);
    if (name)
        BSON_APPEND_UTF8(&f, "name", name);
    BSON_APPEND_INT32(&s, "name", 1);
    BSON_APPEND_INT32(&s, "agent_id", 1);
    reply_list(c, "assets", &f, &s, NULL, limit, offset, "id");
    bson_destroy(&f);
    bson_destroy(&s);
}
