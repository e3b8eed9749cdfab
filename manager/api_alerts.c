/* Alerts: list, detail, status/assignee/notes, bulk update, statistics. */
#include <errno.h>
#include <string.h>

#include "manager/api.h"
#include "manager/mgr.h"

#define BULK_MAX 1000
#define NOTE_MAX 4096

static const char *const STATUSES[] = {"new", "in_progress", "resolved", "false_positive", NULL};
static const char *const SEVERITIES[] = {"info", "low", "medium", "high", "critical", NULL};

void api_alerts_list(ctx_t *c)
{
    static const char *const sorts[] = {"detected_at", "severity", "count", "last_seen", NULL};
    static const char *const orders[] = {"asc", "desc", NULL};
    const char *status, *sev, *rule, *agent, *host, *assignee, *sort, *order;
    int64_t since, until, limit, offset;
    if (q_enum(c, "status", STATUSES, NULL, &status) < 0 ||
        q_enum(c, "severity", SEVERITIES, NULL, &sev) < 0 || q_str(c, "rule_id", 64, &rule) < 0 ||
        q_str(c, "agent_id", 128, &agent) < 0 || q_str(c, "hostname", 255, &host) < 0 ||
        q_str(c, "assignee", 64, &assignee) < 0 ||
        q_int(c, "since", 0, INT64_MAX / 2, -1, &since) < 0 ||
        q_int(c, "until", 0, INT64_MAX / 2, -1, &until) < 0 ||
        q_enum(c, "sort", sorts, "detected_at", &sort) < 0 ||
        q_enum(c, "order", orders, "desc", &order) < 0 || q_page(c, &limit, &offset) < 0)
        return;
    bson_t f = BSON_INITIALIZER, s = BSON_INITIALIZER, p = BSON_INITIALIZER, range;
    if (status)
        BSON_APPEND_UTF8(&f, "status", status);
    if (sev)
        BSON_APPEND_UTF8(&f, "severity", sev);
    if (rule)
        BSON_APPEND_UTF8(&f, "rule_id", rule);
    if (agent)
        BSON_APPEND_UTF8(&f, "agent_id", agent);
    if (host)
        BSON_APPEND_UTF8(&f, "hostname", host);
    if (assignee)
        BSON_APPEND_UTF8(&f, "assignee", assignee);
    if (since >= 0 || until >= 0) {
        BSON_APPEND_DOCUMENT_BEGIN(&f, "detected_at", &range);
        if (since >= 0)
            BSON_APPEND_INT64(&range, "$gte", since);
        if (until >= 0)
            BSON_APPEND_INT64(&range, "$lt", until);
        bson_append_document_end(&f, &range);
    }
    int dir = strcmp(order, "asc") == 0 ? 1 : -1;
    BSON_APPEND_INT32(&s, strcmp(sort, "severity") == 0 ? "sev_rank" : sort, dir);
    if (strcmp(sort, "detected_at") != 0)
        BSON_APPEND_INT32(&s, "detected_at", dir);
    BSON_APPEND_INT32(&s, "_id", dir);
    BSON_APPEND_INT32(&p, "raw", 0);
    BSON_APPEND_INT32(&p, "expire_at", 0);
    reply_list(c, "alerts", &f, &s, &p, limit, offset, "id");
    bson_destroy(&f);
    bson_destroy(&s);
    bson_destroy(&p);
}

static const char *alert_id(ctx_t *c)
{
    const char *id = http_request_param(c->req, "id");
    if (!id_ok(id, 64)) {
        reply_error(c, 404, "not_found", "no such alert");
        return NULL;
    }
    return id;
}

void api_alert_get(ctx_t *c)
{
    const char *id = alert_id(c);
    if (!id)
        return;
    bson_t f = BSON_INITIALIZER, p = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "_id", id);
    BSON_APPEND_INT32(&p, "expire_at", 0);
    json_t *doc = NULL;
    bson_t o = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT(&o, "projection", &p);
    int rc = store_find_one(c->m->store, "alerts", &f, &o, &doc);
    bson_destroy(&f);
    bson_destroy(&p);
    bson_destroy(&o);
    if (rc < 0) {
        reply_store(c, rc);
        return;
    }
    json_rename_id(doc, "id");
    const char *raw = json_string_value(json_object_get(doc, "raw"));
    json_t *alert = raw ? json_loads(raw, 0, NULL) : NULL;
    json_object_del(doc, "raw");
    if (alert) {
        json_object_set(doc, "event", json_object_get(alert, "event"));
        json_object_set(doc, "process_chain", json_object_get(alert, "process_chain"));
        json_object_set(doc, "rule", json_object_get(alert, "rule"));
        json_object_set_new(doc, "raw", alert);
    }
    bson_t nf = BSON_INITIALIZER, no = BSON_INITIALIZER, ns;
    BSON_APPEND_UTF8(&nf, "alert_id", id);
    BSON_APPEND_DOCUMENT_BEGIN(&no, "sort", &ns);
    BSON_APPEND_INT32(&ns, "at", 1);
    bson_append_document_end(&no, &ns);
    BSON_APPEND_INT64(&no, "limit", 1000);
    json_t *notes = NULL;
    rc = store_find(c->m->store, "alert_notes", &nf, &no, &notes);
    bson_destroy(&nf);
    bson_destroy(&no);
    if (rc < 0) {
        json_decref(doc);
        reply_store(c, rc);
        return;
    }
    size_t i;
    json_t *n;
    json_array_foreach(notes, i, n)
    {
        json_object_del(n, "_id");
        json_object_del(n, "alert_id");
    }
    json_object_set_new(doc, "notes", notes);
    reply(c, 200, doc);
}

/* Notes may hold new lines and tabs, nothing else below 0x20. */
static bool note_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NOTE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
            return false;
    }
    return true;
}

/* Validates status and assignee of a body; appends them to set. 0 or -EINVAL (answered). */
static int status_assignee(ctx_t *c, json_t *b, bson_t *set, int *nset)
{
    const char *status = NULL, *assignee = NULL;
    if (b_str(c, b, "status", false, 32, &status) < 0 ||
        b_str(c, b, "assignee", false, 64, &assignee) < 0)
        return -EINVAL;
    if (status) {
        bool ok = false;
        for (size_t i = 0; STATUSES[i] && !ok; i++)
            ok = strcmp(status, STATUSES[i]) == 0;
        if (!ok) {
            reply_error(c, 400, "invalid_field",
                        "status must be new, in_progress, resolved or false_positive");
            return -EINVAL;
        }
        BSON_APPEND_UTF8(set, "status", status);
        (*nset)++;
    }
    if (assignee) {
        if (*assignee && !auth_valid_username(assignee)) {
            reply_error(c, 400, "invalid_field", "assignee must be a user name or empty");
            return -EINVAL;
        }
        BSON_APPEND_UTF8(set, "assignee", assignee);
        (*nset)++;
    }
    BSON_APPEND_INT64(set, "updated_at", store_now_ms());
    BSON_APPEND_UTF8(set, "updated_by", c->id.user);
    return 0;
}

void api_alert_update(ctx_t *c)
{
    static const char *const known[] = {"status", "assignee", "note", NULL};
    const char *id = alert_id(c);
    if (!id)
        return;
    snprintf(c->target, sizeof(c->target), "alert:%s", id);
    json_t *b = body_json(c);
    if (!b)
        return;
    const char *note = NULL;
    bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
    BSON_APPEND_UTF8(&f, "_id", id);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    int nset = 0, rc = -EINVAL;
    if (b_known(c, b, known) == 0 && status_assignee(c, b, &set, &nset) == 0 &&
        http_json_string(c->req, b, "note", 0, NOTE_MAX, &note) == 0) {
        if (note && !note_ok(note)) {
            reply_error(c, 400, "invalid_field", "a note is 1-4096 characters of text");
        } else if (!nset && !note) {
            reply_error(c, 400, "nothing_to_change", "give status, assignee or note");
        } else {
            rc = 0;
        }
    } else if (!c->status) {
        c->status = 400;
    }
    bson_append_document_end(&u, &set);
    int64_t matched = 0;
    if (rc == 0)
        rc = store_update(c->m->store, "alerts", &f, &u, false, false, &matched);
    else
        rc = 1; /* answered */
    if (rc == 0 && matched == 0)
        rc = -ENOENT;
    if (rc == 0 && note) {
        char nid[33];
        auth_random_hex(nid, 16);
        bson_t n = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&n, "_id", nid);
        BSON_APPEND_UTF8(&n, "alert_id", id);
        BSON_APPEND_UTF8(&n, "author", c->id.user);
        BSON_APPEND_UTF8(&n, "text", note);
        BSON_APPEND_INT64(&n, "at", store_now_ms());
        rc = store_insert(c->m->store, "alert_notes", &n);
        bson_destroy(&n);
    }
    if (rc < 0) {
        reply_store(c, rc);
    } else if (rc == 0) {
        c->detail = json_deep_copy(b);
        reply(c, 200, json_pack("{s:s, s:b}", "id", id, "updated", 1));
    }
    bson_destroy(&f);
    bson_destroy(&u);
    json_decref(b);
}

void api_alerts_bulk(ctx_t *c)
{
    static const char *const known[] = {"ids", "status", "assignee", NULL};
    json_t *b = body_json(c);
    if (!b)
        return;
    json_t *ids = json_object_get(b, "ids");
    bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set, in, arr;
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    int nset = 0;
    bool ok = b_known(c, b, known) == 0 && status_assignee(c, b, &set, &nset) == 0;
    bson_append_document_end(&u, &set);
    if (ok &&
        (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > BULK_MAX)) {
        reply_error(c, 400, "invalid_field", "ids must be an array of 1 to %d alert ids", BULK_MAX);
        ok = false;
    }
    if (ok && !nset) {
        reply_error(c, 400, "nothing_to_change", "give status or assignee");
        ok = false;
    }
    if (ok) {
        BSON_APPEND_DOCUMENT_BEGIN(&f, "_id", &in);
        BSON_APPEND_ARRAY_BEGIN(&in, "$in", &arr);
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v)
        {
            const char *s = json_string_value(v);
            if (!s || !id_ok(s, 64)) {
                ok = false;
                break;
            }
            char k[24];
            snprintf(k, sizeof(k), "%zu", i);
            BSON_APPEND_UTF8(&arr, k, s);
        }
        bson_append_array_end(&in, &arr);
        bson_append_document_end(&f, &in);
        if (!ok)
            reply_error(c, 400, "invalid_field", "every id must be an alert id string");
    }
    if (ok) {
        int64_t matched = 0;
        int rc = store_update(c->m->store, "alerts", &f, &u, false, true, &matched);
        snprintf(c->target, sizeof(c->target), "alerts:%zu", json_array_size(ids));
        if (rc < 0) {
            reply_store(c, rc);
        } else {
            c->detail = json_deep_copy(b);
            reply(c, 200, json_pack("{s:I}", "matched", (json_int_t)matched));
        }
    } else if (!c->status) {
        c->status = 400;
    }
    bson_destroy(&f);
    bson_destroy(&u);
    json_decref(b);
}

/* {"$group": {"_id": "$field", "n": {"$sum": 1}}} appended to pipeline array a as key k. */
static void facet(bson_t *facets, const char *name, const char *field, int64_t top, bool by_key)
{
    bson_t arr, st, g, sum, srt;
    BSON_APPEND_ARRAY_BEGIN(facets, name, &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &st);
    BSON_APPEND_DOCUMENT_BEGIN(&st, "$group", &g);
    BSON_APPEND_UTF8(&g, "_id", field);
    BSON_APPEND_DOCUMENT_BEGIN(&g, "n", &sum);
    BSON_APPEND_INT32(&sum, "$sum", 1);
    bson_append_document_end(&g, &sum);
    bson_append_document_end(&st, &g);
    bson_append_document_end(&arr, &st);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "1", &st);
    BSON_APPEND_DOCUMENT_BEGIN(&st, "$sort", &srt);
    if (by_key) {
        BSON_APPEND_INT32(&srt, "_id", 1);
    } else {
        BSON_APPEND_INT32(&srt, "n", -1);
        BSON_APPEND_INT32(&srt, "_id", 1);
    }
    bson_append_document_end(&st, &srt);
    bson_append_document_end(&arr, &st);
    if (top > 0) {
        BSON_APPEND_DOCUMENT_BEGIN(&arr, "2", &st);
        BSON_APPEND_INT64(&st, "$limit", top);
        bson_append_document_end(&arr, &st);
    }
    bson_append_array_end(facets, &arr);
}

static json_t *pairs(json_t *groups, const char *key)
{
    json_t *out = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        json_t *k = json_object_get(g, "_id");
        json_array_append_new(out, json_pack("{s:O, s:O}", key, k ? k : json_null(), "count",
                                             json_object_get(g, "n")));
    }
    return out;
}

void api_alerts_stats(ctx_t *c)
{
    int64_t now = store_now_ms(), since, top;
    if (q_int(c, "since", 0, INT64_MAX / 2, now - 86400000LL, &since) < 0 ||
        q_int(c, "top", 1, 100, 10, &top) < 0)
        return;
    bson_t pipe = BSON_INITIALIZER, arr, st, m, r, facets;
    BSON_APPEND_ARRAY_BEGIN(&pipe, "pipeline", &arr);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &st);
    BSON_APPEND_DOCUMENT_BEGIN(&st, "$match", &m);
    BSON_APPEND_DOCUMENT_BEGIN(&m, "detected_at", &r);
    BSON_APPEND_INT64(&r, "$gte", since);
    bson_append_document_end(&m, &r);
    bson_append_document_end(&st, &m);
    bson_append_document_end(&arr, &st);
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "1", &st);
    BSON_APPEND_DOCUMENT_BEGIN(&st, "$facet", &facets);
    facet(&facets, "severity", "$severity", 0, true);
    facet(&facets, "status", "$status", 0, true);
    facet(&facets, "rule", "$rule_id", top, false);
    facet(&facets, "host", "$agent_id", top, false);
    facet(&facets, "hour", "$hour", 0, true);
    bson_append_document_end(&st, &facets);
    bson_append_document_end(&arr, &st);
    bson_append_array_end(&pipe, &arr);
    json_t *res = NULL;
    int rc = store_aggregate(c->m->store, "alerts", &pipe, &res);
    bson_destroy(&pipe);
    if (rc < 0) {
        reply_store(c, rc);
        return;
    }
    json_t *f = json_array_get(res, 0);
    json_t *out = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "since", (json_int_t)since,
                            "by_severity", pairs(json_object_get(f, "severity"), "severity"),
                            "by_status", pairs(json_object_get(f, "status"), "status"), "by_rule",
                            pairs(json_object_get(f, "rule"), "rule_id"), "by_host",
                            pairs(json_object_get(f, "host"), "agent_id"), "by_hour",
                            pairs(json_object_get(f, "hour"), "hour"));
    json_decref(res);
    reply(c, 200, out);
}
