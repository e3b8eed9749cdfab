#include "manager/dispatch.h"

#include <curl/curl.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "manager/mgr.h"
#include "manager/router.h"
#include "manager/services.h"

#define BATCH       200
#define AC_MAX      64
#define CACHE_TTL_S 600

struct dispatch {
    mgr_t *m;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool kicked, stopping;
    metrics_counter_t *m_sent, *m_failed;
};

void dispatch_kick(dispatch_t *d)
{
    pthread_mutex_lock(&d->mu);
    d->kicked = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void cache_set(mgr_t *m, const char *agent, const char *addr)
{
    const char *err;
    redisReply *r =
        addr ? redis_pool_command(m->redis, &err, "SET %sagent_ac:%s %s EX %d", m->cfg.redis_prefix,
                                  agent, addr, CACHE_TTL_S)
             : redis_pool_command(m->redis, &err, "DEL %sagent_ac:%s", m->cfg.redis_prefix, agent);
    if (r)
        freeReplyObject(r);
}

static bool cache_get(mgr_t *m, const char *agent, char *addr, size_t size)
{
    const char *err;
    redisReply *r =
        redis_pool_command(m->redis, &err, "GET %sagent_ac:%s", m->cfg.redis_prefix, agent);
    bool ok = r && r->type == REDIS_REPLY_STRING && r->len < size;
    if (ok)
        snprintf(addr, size, "%s", r->str);
    if (r)
        freeReplyObject(r);
    return ok;
}

/* Asks every AgentCenter whether it holds agent; fills addr. 0, -ENOENT, -EIO (no SD). */
static int locate(mgr_t *m, const char *agent, char *addr, size_t size)
{
    svc_instance_t acs[AC_MAX];
    size_t n = 0;
    if (services_lookup(m->svc, m->cfg.sd_agent_center_name, acs, AC_MAX, &n) < 0)
        return -EIO;
    char path[300];
    snprintf(path, sizeof(path), "/api/v1/agents/%s", agent);
    for (size_t i = 0; i < n; i++) {
        char hp[128];
        snprintf(hp, sizeof(hp), "%.63s:%u", acs[i].ip, (unsigned)acs[i].admin_port);
        long st = 0;
        if (services_call(m->svc, "GET", hp, path, NULL, NULL, 0, &st, NULL) == 0 && st == 200) {
            snprintf(addr, size, "%s", hp);
            cache_set(m, agent, hp);
            return 0;
        }
    }
    return -ENOENT;
}

/* Posts the command; 0 delivered, -ENOENT agent not on that AgentCenter, -EIO otherwise. */
static int post_command(mgr_t *m, const char *addr, const char *agent, json_t *cmd)
{
    char path[300];
    snprintf(path, sizeof(path), "/api/v1/agents/%s/commands", agent);
    char *body = json_dumps(cmd, JSON_COMPACT);
    long st = 0;
    int rc = services_call(m->svc, "POST", addr, path, "application/json", body, strlen(body), &st,
                           NULL);
    free(body);
    if (rc < 0)
        return -EIO;
    if (st == 202 || st == 200)
        return 0;
    return st == 404 ? -ENOENT : -EIO;
}

static int deliver(mgr_t *m, json_t *sub, char *addr, size_t size)
{
    const char *agent = json_string_value(json_object_get(sub, "agent_id"));
    json_t *cmd = json_pack("{s:{s:O, s:O, s:O, s:O}}", "task", "data_type",
                            json_object_get(sub, "data_type"), "object_name",
                            json_object_get(sub, "object_name"), "data",
                            json_object_get(sub, "data"), "token", json_object_get(sub, "_id"));
    if (!cmd || !agent)
        return -EINVAL;
    int rc = -ENOENT;
    if (cache_get(m, agent, addr, size))
        rc = post_command(m, addr, agent, cmd);
    if (rc == -ENOENT || rc == -EIO) {
        if (rc == -ENOENT)
            cache_set(m, agent, NULL);
        rc = locate(m, agent, addr, size);
        if (rc == 0)
            rc = post_command(m, addr, agent, cmd);
    }
    json_decref(cmd);
    return rc;
}

/* Claims sub (status and updated_at unchanged since read). True when this instance owns it. */
static bool claim(mgr_t *m, json_t *sub)
{
    bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
    BSON_APPEND_UTF8(&f, "_id", json_string_value(json_object_get(sub, "_id")));
    BSON_APPEND_UTF8(&f, "status", json_string_value(json_object_get(sub, "status")));
    BSON_APPEND_INT64(&f, "updated_at", json_integer_value(json_object_get(sub, "updated_at")));
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    BSON_APPEND_UTF8(&set, "status", "dispatching");
    BSON_APPEND_INT64(&set, "updated_at", store_now_ms());
    BSON_APPEND_UTF8(&set, "dispatcher", m->instance);
    bson_append_document_end(&u, &set);
    int64_t matched = 0;
    int rc = store_update(m->store, "subtasks", &f, &u, false, false, &matched);
    bson_destroy(&f);
    bson_destroy(&u);
    return rc == 0 && matched == 1;
}

static void finish(dispatch_t *d, json_t *sub, int rc, const char *addr)
{
    mgr_t *m = d->m;
    int64_t attempts = json_integer_value(json_object_get(sub, "attempts")) + 1;
    const char *status = rc == 0                         ? "sent"
                         : attempts >= DISPATCH_ATTEMPTS ? "undeliverable"
                                                         : "dispatching";
    bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
    BSON_APPEND_UTF8(&f, "_id", json_string_value(json_object_get(sub, "_id")));
    BSON_APPEND_UTF8(&f, "status", "dispatching");
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    BSON_APPEND_UTF8(&set, "status", status);
    BSON_APPEND_INT64(&set, "attempts", attempts);
    BSON_APPEND_INT64(&set, "updated_at", store_now_ms());
    if (rc == 0) {
        BSON_APPEND_UTF8(&set, "agent_center", addr);
        BSON_APPEND_INT64(&set, "sent_at", store_now_ms());
        BSON_APPEND_UTF8(&set, "msg", "");
    } else {
        BSON_APPEND_UTF8(&set, "msg",
                         rc == -ENOENT ? "agent not connected to any AgentCenter"
                                       : "AgentCenters unreachable");
    }
    bson_append_document_end(&u, &set);
    store_update(m->store, "subtasks", &f, &u, false, false, NULL);
    bson_destroy(&f);
    bson_destroy(&u);
    metrics_counter_inc(rc == 0 ? d->m_sent : d->m_failed);
    LOG_INFO("task_dispatch", "token=%s agent_id=%s result=%s ac=%s",
             json_string_value(json_object_get(sub, "_id")),
             json_string_value(json_object_get(sub, "agent_id")), status, rc == 0 ? addr : "-");
}

/* Subtasks waiting: pending ones, and ones whose delivery failed retry_after ago (or whose
 * dispatcher died mid-way). */
static json_t *due(dispatch_t *d, bool retries)
{
    mgr_t *m = d->m;
    bson_t f = BSON_INITIALIZER, o = BSON_INITIALIZER, s, r;
    BSON_APPEND_UTF8(&f, "status", retries ? "dispatching" : "pending");
    if (retries) {
        BSON_APPEND_DOCUMENT_BEGIN(&f, "updated_at", &r);
        BSON_APPEND_INT64(&r, "$lt", store_now_ms() - m->cfg.tasks_retry_after_ms);
        bson_append_document_end(&f, &r);
    }
    BSON_APPEND_DOCUMENT_BEGIN(&o, "sort", &s);
    BSON_APPEND_INT32(&s, "updated_at", 1);
    bson_append_document_end(&o, &s);
    BSON_APPEND_INT64(&o, "limit", BATCH);
    json_t *arr = NULL;
    if (store_find(m->store, "subtasks", &f, &o, &arr) < 0)
        arr = NULL;
    bson_destroy(&f);
    bson_destroy(&o);
    return arr;
}

static void *dispatch_main(void *arg)
{
    dispatch_t *d = arg;
    int64_t last_retry = 0;
    for (;;) {
        pthread_mutex_lock(&d->mu);
        if (!d->kicked && !d->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&d->cv, &d->mu, &ts);
        }
        bool stop = d->stopping;
        d->kicked = false;
        pthread_mutex_unlock(&d->mu);
        if (stop)
            break;
        int64_t now = store_now_ms();
        bool retries = now - last_retry >= 1000;
        for (int pass = 0; pass < (retries ? 2 : 1); pass++) {
            json_t *arr = due(d, pass == 1);
            size_t i;
            json_t *sub;
            json_array_foreach(arr, i, sub)
            {
                if (d->stopping)
                    break;
                if (!claim(d->m, sub))
                    continue;
                char addr[128] = "";
                int rc = deliver(d->m, sub, addr, sizeof(addr));
                finish(d, sub, rc, addr);
            }
            if (json_array_size(arr) == BATCH)
                dispatch_kick(d);
            json_decref(arr);
        }
        if (retries)
            last_retry = now;
    }
    return NULL;
}

dispatch_t *dispatch_new(mgr_t *m)
{
    dispatch_t *d = xcalloc(1, sizeof(*d));
    d->m = m;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    d->m_sent =
        metrics_counter(m->metrics, "rampart_manager_task_commands_total",
                        "Task commands handed to AgentCenters, by result", "result=\"sent\"");
    d->m_failed =
        metrics_counter(m->metrics, "rampart_manager_task_commands_total",
                        "Task commands handed to AgentCenters, by result", "result=\"failed\"");
    if (pthread_create(&d->th, NULL, dispatch_main, d) != 0)
        PANIC("cannot start the dispatch thread");
    return d;
}

void dispatch_free(dispatch_t *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->th, NULL);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
