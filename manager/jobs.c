#include "manager/jobs.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "manager/hubs.h"
#include "manager/mgr.h"

struct jobs {
    mgr_t *m;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    bool admin_done;
    int64_t last_hubs, last_assets;
    metrics_counter_t *m_offline;
};

bool jobs_lock(mgr_t *m, const char *name, long long ttl_ms)
{
    const char *err;
    redisReply *r = redis_pool_command(m->redis, &err, "SET %slock:%s %s NX PX %lld",
                                       m->cfg.redis_prefix, name, m->instance, ttl_ms);
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    return ok;
}

static void mark_offline(jobs_t *j, int64_t now)
{
    mgr_t *m = j->m;
    bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, r, set;
    BSON_APPEND_BOOL(&f, "online", true);
    BSON_APPEND_DOCUMENT_BEGIN(&f, "last_seen", &r);
    BSON_APPEND_INT64(&r, "$lt", now - m->cfg.hosts_offline_after_ms);
    bson_append_document_end(&f, &r);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    BSON_APPEND_BOOL(&set, "online", false);
    BSON_APPEND_INT64(&set, "offline_since", now);
    bson_append_document_end(&u, &set);
    int64_t n = 0;
    if (store_update(m->store, "hosts", &f, &u, false, true, &n) == 0 && n > 0) {
        metrics_counter_add(j->m_offline, (uint64_t)n);
        LOG_INFO("hosts_offline", "count=%lld silent_ms=%lld", (long long)n,
                 (long long)m->cfg.hosts_offline_after_ms);
    }
    bson_destroy(&f);
    bson_destroy(&u);
}

static void drop_stale_assets(jobs_t *j, int64_t now)
{
    mgr_t *m = j->m;
    bson_t f = BSON_INITIALIZER, r;
    BSON_APPEND_DOCUMENT_BEGIN(&f, "last_seen", &r);
    BSON_APPEND_INT64(&r, "$lt", now - m->cfg.assets_stale_after_ms);
    bson_append_document_end(&f, &r);
    int64_t n = 0;
    if (store_delete(m->store, "assets", &f, true, &n) == 0 && n > 0)
        LOG_INFO("assets_dropped", "count=%lld", (long long)n);
    bson_destroy(&f);
}

static void tick(jobs_t *j)
{
    mgr_t *m = j->m;
    if (store_check(m->store) < 0)
        return;
    if (!j->admin_done && auth_bootstrap_admin(m->auth, m->cfg.auth_admin_user) == 0)
        j->admin_done = true;
    int64_t now = store_now_ms();
    long long period = (long long)m->cfg.jobs_interval_ms;
    if (jobs_lock(m, "offline", period * 9 / 10 > 0 ? period * 9 / 10 : 1))
        mark_offline(j, now);
    if (now - j->last_assets >= 60000 && jobs_lock(m, "assets", 55000)) {
        j->last_assets = now;
        drop_stale_assets(j, now);
    }
    if (now - j->last_hubs >= m->cfg.hubs_sync_interval_ms) {
        j->last_hubs = now;
        if (jobs_lock(m, "hubs", (long long)m->cfg.hubs_sync_interval_ms * 9 / 10)) {
            int total = 0;
            hubs_push(m, &total);
        }
    }
}

static void *jobs_main(void *arg)
{
    jobs_t *j = arg;
    pthread_mutex_lock(&j->mu);
    while (!j->stopping) {
        pthread_mutex_unlock(&j->mu);
        tick(j);
        pthread_mutex_lock(&j->mu);
        if (j->stopping)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ms = j->m->cfg.jobs_interval_ms;
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

jobs_t *jobs_new(mgr_t *m)
{
    jobs_t *j = xcalloc(1, sizeof(*j));
    j->m = m;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->m_offline =
        metrics_counter(m->metrics, "rampart_manager_hosts_marked_offline_total",
                        "Hosts marked offline after hosts.offline_after of silence", NULL);
    if (pthread_create(&j->th, NULL, jobs_main, j) != 0)
        PANIC("cannot start the jobs thread");
    return j;
}

void jobs_free(jobs_t *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    j->stopping = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->th, NULL);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}
