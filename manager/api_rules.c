/* Whitelist (create from an alert or explicit, list, delete) and rules (list, enable,
 * disable); both reach the hubs through hubs.c. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manager/api.h"
#include "manager/hubs.h"
#include "manager/mgr.h"

#define MATCH_MAX 16
#define GLOBS_MAX 32

/* Event field names as the hub's rules use them: [A-Za-z0-9_.]{1,64}. */
static bool field_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* Rule id globs: [A-Za-z0-9_.*?-]{1,64}. */
static bool glob_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-*?", s[i]))
            return false;
    return true;
}

static void push_and_report(ctx_t *c, json_t *answer)
{
    int total = 0;
    int ok = hubs_push(c->m, &total);
    json_object_set_new(answer, "hubs",
                        json_pack("{s:i, s:i}", "found", total, "accepted", ok < 0 ? 0 : ok));
}

void api_whitelist_list(ctx_t *c)
{
    int64_t limit, offset;
    if (q_page(c, &limit, &offset) < 0)
        return;
    bson_t f = BSON_INITIALIZER, s = BSON_INITIALIZER;
    BSON_APPEND_INT32(&s, "created_at", -1);
    reply_list(c, "whitelist", &f, &s, NULL, limit, offset, "id");
    bson_destroy(&f);
    bson_destroy(&s);
}

/* The alert's event value of field (from its raw JSON), or NULL. */
static json_t *alert_event(ctx_t *c, const char *alert_id, int *rc)
{
    bson_t f = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "_id", alert_id);
    json_t *doc = NULL;
    *rc = store_find_one(c->m->store, "alerts", &f, NULL, &doc);
    bson_destroy(&f);
    if (*rc < 0)
        return NULL;
    const char *raw = json_string_value(json_object_get(doc, "raw"));
    json_t *alert = raw ? json_loads(raw, 0, NULL) : NULL;
    json_t *out = json_object();
    json_t *ev = json_object_get(alert, "event");
    const char *k;
    json_t *v;
    json_object_foreach(ev, k, v) json_object_set(out, k, v);
    /* Fields every event has. */
    json_object_set(out, "agent_id", json_object_get(doc, "agent_id"));
    json_object_set(out, "hostname", json_object_get(doc, "hostname"));
    json_object_set_new(out, "__rule", json_incref(json_object_get(doc, "rule_id")));
    json_decref(alert);
    json_decref(doc);
    return out;
}

void api_whitelist_create(ctx_t *c)
{
    static const char *const known[] = {"alert_id", "fields", "match", "rules", "comment", NULL};
    json_t *b = body_json(c);
    if (!b)
        return;
    const char *alert_id = NULL, *comment = NULL;
    json_t *fields = json_object_get(b, "fields"), *match = json_object_get(b, "match");
    json_t *rules = json_object_get(b, "rules"), *ev = NULL;
    json_t *conds = json_array(), *globs = json_array();
    if (b_known(c, b, known) < 0 || b_str(c, b, "alert_id", false, 64, &alert_id) < 0 ||
        b_str(c, b, "comment", false, 1024, &comment) < 0)
        goto out;
    if (alert_id) {
        int rc = 0;
        if (!id_ok(alert_id, 64) || match || !json_is_array(fields) ||
            json_array_size(fields) == 0 || json_array_size(fields) > MATCH_MAX) {
            reply_error(c, 400, "invalid_field",
                        "from an alert: alert_id and fields (1-%d event field names), no match",
                        MATCH_MAX);
            goto out;
        }
        if (!(ev = alert_event(c, alert_id, &rc))) {
            reply_store(c, rc);
            goto out;
        }
        size_t i;
        json_t *fv;
        json_array_foreach(fields, i, fv)
        {
            const char *fn = json_string_value(fv);
            json_t *val = fn ? json_object_get(ev, fn) : NULL;
            if (!fn || !field_ok(fn) || !json_is_string(val)) {
                reply_error(c, 400, "invalid_field", "the alert's event has no field %s",
                            fn && field_ok(fn) ? fn : "(invalid name)");
                goto out;
            }
            json_array_append_new(conds, json_pack("{s:s, s:O}", "field", fn, "value", val));
        }
        if (!rules)
            json_array_append(globs, json_object_get(ev, "__rule"));
    } else {
        if (!json_is_object(match) || json_object_size(match) == 0 ||
            json_object_size(match) > MATCH_MAX) {
            reply_error(c, 400, "invalid_field",
                        "give alert_id and fields, or match: {field: value} (1-%d)", MATCH_MAX);
            goto out;
        }
        const char *k;
        json_t *v;
        json_object_foreach(match, k, v)
        {
            if (!field_ok(k) || !json_is_string(v) || json_string_length(v) > 4096) {
                reply_error(c, 400, "invalid_field",
                            "match: field names are [A-Za-z0-9_.] and values strings");
                goto out;
            }
            json_array_append_new(conds, json_pack("{s:s, s:O}", "field", k, "value", v));
        }
    }
    if (rules) {
        size_t i;
        json_t *g;
        if (!json_is_array(rules) || json_array_size(rules) > GLOBS_MAX) {
            reply_error(c, 400, "invalid_field", "rules must be up to %d rule id globs", GLOBS_MAX);
            goto out;
        }
        json_array_foreach(rules, i, g)
        {
            if (!json_is_string(g) || !glob_ok(json_string_value(g))) {
                reply_error(c, 400, "invalid_field", "a rule glob is 1-64 of [A-Za-z0-9_.*?-]");
                goto out;
            }
            json_array_append(globs, g);
        }
    }
    char id[40] = "wl_";
    auth_random_hex(id + 3, 12);
    bson_t doc = BSON_INITIALIZER, arr, cd;
    BSON_APPEND_UTF8(&doc, "_id", id);
    BSON_APPEND_ARRAY_BEGIN(&doc, "rules", &arr);
    size_t i;
    json_t *v;
    json_array_foreach(globs, i, v)
    {
        char k[24];
        snprintf(k, sizeof(k), "%zu", i);
        BSON_APPEND_UTF8(&arr, k, json_string_value(v));
    }
    bson_append_array_end(&doc, &arr);
    BSON_APPEND_ARRAY_BEGIN(&doc, "match", &arr);
    json_array_foreach(conds, i, v)
    {
        char k[24];
        snprintf(k, sizeof(k), "%zu", i);
        BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &cd);
        BSON_APPEND_UTF8(&cd, "field", json_string_value(json_object_get(v, "field")));
        BSON_APPEND_UTF8(&cd, "value", json_string_value(json_object_get(v, "value")));
        bson_append_document_end(&arr, &cd);
    }
    bson_append_array_end(&doc, &arr);
    BSON_APPEND_UTF8(&doc, "comment", comment ? comment : "");
    BSON_APPEND_UTF8(&doc, "from_alert", alert_id ? alert_id : "");
    BSON_APPEND_UTF8(&doc, "created_by", c->id.user);
    BSON_APPEND_INT64(&doc, "created_at", store_now_ms());
    int rc = store_insert(c->m->store, "whitelist", &doc);
    bson_destroy(&doc);
    snprintf(c->target, sizeof(c->target), "whitelist:%s", id);
    c->detail = json_pack("{s:O, s:O}", "rules", globs, "match", conds);
    if (rc < 0) {
        reply_store(c, rc);
        goto out;
    }
    json_t *ans = json_pack("{s:s, s:O, s:O}", "id", id, "rules", globs, "match", conds);
    push_and_report(c, ans);
    reply(c, 201, ans);
out:
    if (!c->status)
        c->status = 400;
    json_decref(ev);
    json_decref(conds);
    json_decref(globs);
    json_decref(b);
}

void api_whitelist_delete(ctx_t *c)
{
    const char *id = http_request_param(c->req, "id");
    snprintf(c->target, sizeof(c->target), "whitelist:%.64s", id);
    if (!id_ok(id, 64)) {
        reply_error(c, 404, "not_found", "no such whitelist entry");
        return;
    }
    bson_t f = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "_id", id);
    int64_t n = 0;
    int rc = store_delete(c->m->store, "whitelist", &f, false, &n);
    bson_destroy(&f);
    if (rc == 0 && n == 0)
        rc = -ENOENT;
    if (rc < 0) {
        reply_store(c, rc);
        return;
    }
    json_t *ans = json_pack("{s:s, s:b}", "id", id, "deleted", 1);
    push_and_report(c, ans);
    reply(c, 200, ans);
}

void api_rules_list(ctx_t *c)
{
    bson_t f = BSON_INITIALIZER, o = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&f, "enabled", false);
    BSON_APPEND_INT64(&o, "limit", 100000);
    json_t *off = NULL;
    int rc = store_find(c->m->store, "rule_state", &f, &o, &off);
    bson_destroy(&f);
    bson_destroy(&o);
    if (rc < 0) {
        reply_store(c, rc);
        return;
    }
    json_t *hub = hubs_rules(c->m);
    json_t *rules = json_array();
    size_t i, j;
    json_t *r, *d;
    json_array_foreach(json_object_get(hub, "rules"), i, r)
    {
        json_t *copy = json_deep_copy(r);
        bool enabled = true;
        json_array_foreach(off, j, d) if (json_equal(json_object_get(d, "_id"),
                                                     json_object_get(r, "id"))) enabled = false;
        json_object_set_new(copy, "enabled", json_boolean(enabled));
        json_array_append_new(rules, copy);
    }
    json_t *disabled = json_array();
    json_array_foreach(off, j, d) json_array_append(disabled, json_object_get(d, "_id"));
    json_t *ans =
        json_pack("{s:o, s:o, s:b, s:O?}", "rules", rules, "disabled", disabled, "hub_reachable",
                  hub != NULL, "version", json_object_get(hub, "version"));
    json_decref(hub);
    json_decref(off);
    reply(c, 200, ans);
}

static void set_rule(ctx_t *c, bool enabled)
{
    const char *id = http_request_param(c->req, "id");
    snprintf(c->target, sizeof(c->target), "rule:%.64s", id);
    if (!id_ok(id, 64) || strchr(id, ':')) {
        reply_error(c, 404, "not_found", "no such rule");
        return;
    }
    bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
    BSON_APPEND_UTF8(&f, "_id", id);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    BSON_APPEND_BOOL(&set, "enabled", enabled);
    BSON_APPEND_UTF8(&set, "updated_by", c->id.user);
    BSON_APPEND_INT64(&set, "updated_at", store_now_ms());
    bson_append_document_end(&u, &set);
    int rc = store_update(c->m->store, "rule_state", &f, &u, true, false, NULL);
    bson_destroy(&f);
    bson_destroy(&u);
    if (rc < 0) {
        reply_store(c, rc);
        return;
    }
    json_t *ans = json_pack("{s:s, s:b}", "id", id, "enabled", enabled);
    push_and_report(c, ans);
    reply(c, 200, ans);
}

void api_rule_enable(ctx_t *c)
{
    set_rule(c, true);
}

void api_rule_disable(ctx_t *c)
{
    set_rule(c, false);
}
