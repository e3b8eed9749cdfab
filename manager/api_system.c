/* Overview counts, system status, audit log, the OpenAPI document. */
#include <errno.h>
#include <string.h>

#include "manager/api.h"
#include "manager/ingest.h"
#include "manager/mgr.h"
#include "manager/services.h"

#define SVC_MAX 64

static int count(ctx_t *c, const char *coll, bson_t *f, json_t *out, const char *key)
{
    int64_t n = 0;
    int rc = store_count(c->m->store, coll, f, &n);
    bson_destroy(f);
    if (rc == 0)
        json_object_set_new(out, key, json_integer(n));
    return rc;
}

void api_overview(ctx_t *c)
{
    json_t *hosts = json_object(), *alerts = json_object(), *tasks = json_object();
    bson_t f;
    int rc = 0;
    bson_init(&f);
    rc = rc ? rc : count(c, "hosts", &f, hosts, "total");
    bson_init(&f);
    BSON_APPEND_BOOL(&f, "online", true);
    rc = rc ? rc : count(c, "hosts", &f, hosts, "online");
    bson_init(&f);
    BSON_APPEND_BOOL(&f, "online", false);
    rc = rc ? rc : count(c, "hosts", &f, hosts, "offline");
    static const char *const st[] = {"new", "in_progress", "resolved", "false_positive"};
    for (size_t i = 0; i < 4; i++) {
        bson_init(&f);
        BSON_APPEND_UTF8(&f, "status", st[i]);
        rc = rc ? rc : count(c, "alerts", &f, alerts, st[i]);
    }
    static const char *const sev[] = {"critical", "high"};
    for (size_t i = 0; i < 2; i++) {
        char key[32];
        snprintf(key, sizeof(key), "open_%s", sev[i]);
        bson_init(&f);
        BSON_APPEND_UTF8(&f, "status", "new");
        BSON_APPEND_UTF8(&f, "severity", sev[i]);
        rc = rc ? rc : count(c, "alerts", &f, alerts, key);
    }
    bson_init(&f);
    bson_t r;
    BSON_APPEND_DOCUMENT_BEGIN(&f, "detected_at", &r);
    BSON_APPEND_INT64(&r, "$gte", store_now_ms() - 86400000LL);
    bson_append_document_end(&f, &r);
    rc = rc ? rc : count(c, "alerts", &f, alerts, "last_24h");
    bson_init(&f);
    BSON_APPEND_UTF8(&f, "status", "sent");
    rc = rc ? rc : count(c, "subtasks", &f, tasks, "awaiting_result");
    bson_init(&f);
    BSON_APPEND_UTF8(&f, "status", "pending");
    rc = rc ? rc : count(c, "subtasks", &f, tasks, "pending");
    if (rc < 0) {
        json_decref(hosts);
        json_decref(alerts);
        json_decref(tasks);
        reply_store(c, rc);
        return;
    }
    reply(c, 200, json_pack("{s:o, s:o, s:o}", "hosts", hosts, "alerts", alerts, "tasks", tasks));
}

void api_system_status(ctx_t *c)
{
    mgr_t *m = c->m;
    char err[300];
    json_t *self =
        json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "instance", m->instance, "version",
                  RAMPART_VERSION, "mongo", "status", store_healthy(m->store) ? "ok" : "down",
                  "error", store_last_error(m->store, err, sizeof(err)), "redis", "status",
                  redis_pool_healthy(m->redis) ? "ok" : "down");
    json_object_set_new(self, "ingest", ingest_status(m->ingest));
    json_t *services = json_array();
    json_t *list = services_list(m->svc);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(list, "services"), i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        if (!name)
            continue;
        svc_instance_t inst[SVC_MAX];
        size_t n = 0;
        json_t *arr = json_array();
        if (services_lookup(m->svc, name, inst, SVC_MAX, &n) == 0) {
            for (size_t k = 0; k < n; k++) {
                char hp[128];
                snprintf(hp, sizeof(hp), "%.63s:%u", inst[k].ip, (unsigned)inst[k].admin_port);
                long st = services_health(m->svc, hp, NULL);
                json_array_append_new(arr,
                                      json_pack("{s:s, s:i, s:s, s:i, s:s, s:i}", "ip", inst[k].ip,
                                                "port", inst[k].port, "health_addr", hp, "weight",
                                                inst[k].weight, "health",
                                                st == 200 ? "ok"
                                                : st == 0 ? "unreachable"
                                                          : "failing",
                                                "health_status", (int)st));
            }
        }
        json_array_append_new(services, json_pack("{s:s, s:o}", "name", name, "instances", arr));
    }
    json_t *ans = json_pack("{s:o, s:o, s:b}", "manager", self, "services", services,
                            "discovery_reachable", list != NULL);
    json_decref(list);
    reply(c, 200, ans);
}

void api_audit_list(ctx_t *c)
{
    const char *actor;
    int64_t since, limit, offset;
    if (q_str(c, "actor", 64, &actor) < 0 || q_int(c, "since", 0, INT64_MAX / 2, -1, &since) < 0 ||
        q_page(c, &limit, &offset) < 0)
        return;
    bson_t f = BSON_INITIALIZER, s = BSON_INITIALIZER, p = BSON_INITIALIZER, r;
    if (actor)
        BSON_APPEND_UTF8(&f, "actor", actor);
    if (since >= 0) {
        BSON_APPEND_DOCUMENT_BEGIN(&f, "at", &r);
        BSON_APPEND_INT64(&r, "$gte", since);
        bson_append_document_end(&f, &r);
    }
    BSON_APPEND_INT32(&s, "at", -1);
    BSON_APPEND_INT32(&p, "expire_at", 0);
    reply_list(c, "audit", &f, &s, &p, limit, offset, "id");
    bson_destroy(&f);
    bson_destroy(&s);
    bson_destroy(&p);
}

void api_openapi(ctx_t *c)
{
    reply(c, 200, router_openapi());
}
