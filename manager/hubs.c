#include "manager/hubs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "manager/mgr.h"
#include "manager/services.h"

#define HUBS_MAX 64

/* One entry as a single-line JSON flow mapping (JSON is valid YAML flow syntax). */
static void append_entry(strbuf_t *sb, json_t *entry)
{
    char *s = json_dumps(entry, JSON_ENSURE_ASCII);
    strbuf_appendf(sb, "  - %s\n", s);
    free(s);
}

char *hubs_whitelist_yaml(mgr_t *m, size_t *entries)
{
    json_t *wl = NULL, *off = NULL;
    bson_t f = BSON_INITIALIZER, o = BSON_INITIALIZER, s, df = BSON_INITIALIZER;
    BSON_APPEND_DOCUMENT_BEGIN(&o, "sort", &s);
    BSON_APPEND_INT32(&s, "_id", 1);
    bson_append_document_end(&o, &s);
    BSON_APPEND_INT64(&o, "limit", 100000);
    BSON_APPEND_BOOL(&df, "enabled", false);
    int rc = store_find(m->store, "whitelist", &f, &o, &wl);
    if (rc == 0)
        rc = store_find(m->store, "rule_state", &df, &o, &off);
    bson_destroy(&f);
    bson_destroy(&o);
    bson_destroy(&df);
    if (rc < 0) {
        json_decref(wl);
        return NULL;
    }
    strbuf_t sb = STRBUF_INIT;
    strbuf_appends(&sb,
                   "# pushed by rampart-manager; edit through the manager's API\nwhitelist:\n");
    *entries = 0;
    size_t i;
    json_t *e;
    json_array_foreach(wl, i, e)
    {
        json_t *match = json_object();
        size_t j;
        json_t *cond;
        json_array_foreach(json_object_get(e, "match"), j, cond)
        {
            const char *field = json_string_value(json_object_get(cond, "field"));
            json_t *value = json_object_get(cond, "value");
            if (field && json_is_string(value))
                json_object_set_new(match, field, json_pack("{s:O}", "equals", value));
        }
        json_t *entry = json_pack("{s:O, s:o}", "id", json_object_get(e, "_id"), "match", match);
        if (json_array_size(json_object_get(e, "rules")))
            json_object_set(entry, "rules", json_object_get(e, "rules"));
        if (json_is_string(json_object_get(e, "comment")))
            json_object_set(entry, "comment", json_object_get(e, "comment"));
        append_entry(&sb, entry);
        json_decref(entry);
        (*entries)++;
    }
    json_array_foreach(off, i, e)
    {
        const char *rule = json_string_value(json_object_get(e, "_id"));
        if (!rule)
            continue;
        char h[65];
        auth_token_id(rule, h);
        h[16] = '\0';
        char id[24] = "off_";
        memcpy(id + 4, h, 17);
        json_t *entry =
            json_pack("{s:s, s:[s], s:{s:{s:b}}, s:s}", "id", id, "rules", rule, "match",
                      "data_type", "exists", 1, "comment", "rule disabled in the manager");
        append_entry(&sb, entry);
        json_decref(entry);
        (*entries)++;
    }
    json_decref(wl);
    json_decref(off);
    if (*entries == 0)
        strbuf_appends(&sb, "  []\n");
    return strbuf_steal(&sb, NULL);
}

int hubs_push(mgr_t *m, int *total)
{
    *total = 0;
    size_t entries = 0;
    char *yaml = hubs_whitelist_yaml(m, &entries);
    if (!yaml)
        return -EIO;
    svc_instance_t hubs[HUBS_MAX];
    size_t n = 0;
    if (services_lookup(m->svc, m->cfg.sd_hub_name, hubs, HUBS_MAX, &n) < 0) {
        free(yaml);
        return -EIO;
    }
    int ok = 0;
    for (size_t i = 0; i < n; i++) {
        char hp[128];
        snprintf(hp, sizeof(hp), "%.63s:%u", hubs[i].ip, (unsigned)hubs[i].port);
        long st = 0;
        json_t *resp = NULL;
        int rc = entries ? services_call(m->svc, "PUT", hp, "/api/v1/whitelist", "application/yaml",
                                         yaml, strlen(yaml), &st, &resp)
                         : services_call(m->svc, "DELETE", hp, "/api/v1/whitelist", NULL, NULL, 0,
                                         &st, &resp);
        if (rc == 0 && st == 200) {
            ok++;
        } else {
            char *why = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
            char q[300];
            LOG_WARN("hub_push_failed", "hub=%s status=%ld answer=%s", hp, st,
                     log_quote(q, sizeof(q), why ? why : "-"));
            free(why);
        }
        json_decref(resp);
    }
    *total = (int)n;
    LOG_DEBUG("hub_push", "hubs=%zu accepted=%d entries=%zu", n, ok, entries);
    free(yaml);
    return ok;
}

json_t *hubs_rules(mgr_t *m)
{
    svc_instance_t hubs[HUBS_MAX];
    size_t n = 0;
    if (services_lookup(m->svc, m->cfg.sd_hub_name, hubs, HUBS_MAX, &n) < 0)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char hp[128];
        snprintf(hp, sizeof(hp), "%.63s:%u", hubs[i].ip, (unsigned)hubs[i].port);
        long st = 0;
        json_t *resp = NULL;
        if (services_call(m->svc, "GET", hp, "/api/v1/rules", NULL, NULL, 0, &st, &resp) == 0 &&
            st == 200 && json_is_object(resp))
            return resp;
        json_decref(resp);
    }
    return NULL;
}
