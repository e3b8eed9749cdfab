#include "hub/pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "common/log.h"
#include "common/log_bridge.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "hub/alert.h"
#include "hub/engine.h"
#include "hub/event.h"
#include "hub/offtrack.h"

#define BATCH_MAX     512
#define FLUSH_STOP_MS 10000

struct pipeline {
    pipeline_opts_t o;
    char *instance;
    rd_kafka_t *consumer, *producer;
    engine_t *engine;
    event_decoder_t *dec;
    offtrack_t *ot;
    strbuf_t sb;
    uint64_t cur_handle;

    pthread_t thread;
    bool started;
    atomic_bool stop, running, fatal, has_rules;
    atomic_int assigned;
    pthread_mutex_t mu;
    ruleset_t *posted;
    atomic_bool posted_flag;

    metrics_counter_t *m_events, *m_undecodable, *m_alerts, *m_updates, *m_delivered,
        *m_delivery_failed, *m_merged, *m_commits, *m_consume_errors;
    metrics_gauge_t *m_inflight, *m_procs, *m_rules, *m_assigned;
    uint64_t merged_seen;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- alerts out ---------------------------------------------------------------------------- */

static void produce(pipeline_t *p, const char *key, const void *buf, size_t len, uint64_t handle)
{
    if (handle)
        offtrack_hold(p->ot, handle);
    for (;;) {
        rd_kafka_resp_err_t err =
            rd_kafka_producev(p->producer, RD_KAFKA_V_TOPIC(p->o.alerts_topic),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_VALUE((void *)buf, len), RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)handle), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) { /* wait for deliveries, never drop */
            rd_kafka_poll(p->producer, 50);
            continue;
        }
        LOG_ERROR("alert_produce_failed", "error=%s", rd_kafka_err2str(err));
        metrics_counter_inc(p->m_delivery_failed);
        if (handle)
            offtrack_release(p->ot, handle);
        return;
    }
}

static void on_alert(void *ud, const hub_alert_t *a)
{
    pipeline_t *p = ud;
    p->sb.len = 0;
    if (p->sb.data)
        p->sb.data[0] = '\0';
    alert_render(a, p->instance, now_ms(), &p->sb);
    metrics_counter_inc(a->kind == ALERT_NEW ? p->m_alerts : p->m_updates);
    /* updates belong to no single message: they are not tracked for offsets */
    produce(p, a->agent_id, p->sb.data, p->sb.len, a->kind == ALERT_NEW ? p->cur_handle : 0);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    pipeline_t *p = opaque;
    uint64_t handle = (uint64_t)(uintptr_t)m->_private;
    if (m->err) {
        /* with message.timeout.ms=0 only permanent errors end here (too large, no access) */
        LOG_ERROR("alert_delivery_failed", "error=%s", rd_kafka_err2str(m->err));
        metrics_counter_inc(p->m_delivery_failed);
    } else {
        metrics_counter_inc(p->m_delivered);
    }
    if (handle)
        offtrack_release(p->ot, handle);
}

/* ---- offsets --------------------------------------------------------------------------------- */

typedef struct {
    pipeline_t *p;
    rd_kafka_topic_partition_list_t *list;
    bool all; /* also partitions with nothing new (final commits) */
} commit_ctx_t;

static void add_commit(int32_t partition, void *ud)
{
    commit_ctx_t *c = ud;
    int64_t off = offtrack_committable(c->p->ot, partition);
    if (off < 0 && c->all)
        off = offtrack_position(c->p->ot, partition);
    if (off >= 0)
        rd_kafka_topic_partition_list_add(c->list, c->p->o.events_topic, partition)->offset = off;
}

static void commit(pipeline_t *p, bool sync, bool all)
{
    commit_ctx_t c = {.p = p, .list = rd_kafka_topic_partition_list_new(8), .all = all};
    offtrack_foreach(p->ot, add_commit, &c);
    if (c.list->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_commit(p->consumer, c.list, sync ? 0 : 1);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            LOG_WARN("commit_failed", "error=%s", rd_kafka_err2str(err));
        else
            metrics_counter_inc(p->m_commits);
    }
    rd_kafka_topic_partition_list_destroy(c.list);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    pipeline_t *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++)
            offtrack_assign(p->ot, parts->elems[i].partition);
        rd_kafka_assign(rk, parts);
        atomic_fetch_add(&p->assigned, parts->cnt);
        LOG_INFO("partitions_assigned", "count=%d", parts->cnt);
    } else {
        /* deliver what the revoked partitions raised, then commit them for the next owner */
        rd_kafka_flush(p->producer, FLUSH_STOP_MS);
        commit(p, true, true);
        for (int i = 0; i < parts->cnt; i++)
            offtrack_revoke(p->ot, parts->elems[i].partition);
        rd_kafka_assign(rk, NULL);
        atomic_store(&p->assigned, 0);
        LOG_INFO("partitions_revoked", "count=%d", parts->cnt);
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    pipeline_t *p = opaque;
    char q[256];
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[256];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        atomic_store(&p->fatal, true);
        LOG_ERROR("kafka_fatal", "reason=%s", log_quote(q, sizeof(q), buf));
        return;
    }
    LOG_WARN("kafka_error", "error=%s reason=%s", rd_kafka_err2name((rd_kafka_resp_err_t)err),
             log_quote(q, sizeof(q), reason));
}

/* ---- the loop ------------------------------------------------------------------------------ */

static void handle_message(pipeline_t *p, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            metrics_counter_inc(p->m_consume_errors);
            LOG_WARN("consume_error", "error=%s", rd_kafka_message_errstr(m));
        }
        return;
    }
    uint64_t h = offtrack_add(p->ot, m->partition, m->offset);
    hub_event_t ev;
    if (event_decode(p->dec, m->payload, m->len, &ev) < 0) {
        metrics_counter_inc(p->m_undecodable);
        LOG_DEBUG("undecodable", "partition=%d offset=%lld len=%zu", (int)m->partition,
                  (long long)m->offset, m->len);
        return;
    }
    ev.partition = m->partition;
    ev.offset = m->offset;
    p->cur_handle = h;
    engine_process(p->engine, &ev);
    p->cur_handle = 0;
    metrics_counter_inc(p->m_events);
}

static void swap_ruleset(pipeline_t *p)
{
    pthread_mutex_lock(&p->mu);
    ruleset_t *rs = p->posted;
    p->posted = NULL;
    atomic_store(&p->posted_flag, false);
    pthread_mutex_unlock(&p->mu);
    if (!rs)
        return;
    ruleset_free(engine_set_ruleset(p->engine, rs));
    metrics_gauge_set(p->m_rules, (double)rs->nrules);
    atomic_store(&p->has_rules, true);
    LOG_INFO("ruleset_in_force", "rules=%zu generation=%llu", rs->nrules,
             (unsigned long long)rs->generation);
}

static void *loop(void *arg)
{
    pipeline_t *p = arg;
    int64_t last_commit = mono_ms(), last_flush = mono_ms();
    atomic_store(&p->running, true);
    while (!atomic_load(&p->stop)) {
        if (atomic_load(&p->posted_flag))
            swap_ruleset(p);
        if ((int64_t)offtrack_inflight(p->ot) < p->o.max_inflight) {
            for (int i = 0; i < BATCH_MAX; i++) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(p->consumer, i == 0 ? 100 : 0);
                if (!m)
                    break;
                /* a ruleset posted while the poll waited governs this message: the API's
                 * "in force at once" holds for every event produced after its answer */
                if (atomic_load(&p->posted_flag))
                    swap_ruleset(p);
                handle_message(p, m);
                rd_kafka_message_destroy(m);
            }
        } else {
            rd_kafka_poll(p->producer, 50);
        }
        rd_kafka_poll(p->producer, 0);
        int64_t now = mono_ms();
        if (now - last_flush >= 1000) {
            /* merged alerts whose window passed: by the events' clock, or by ours when the
             * events stopped coming */
            int64_t clock = engine_clock(p->engine), wall = now_ms();
            engine_flush(p->engine, clock > wall ? clock : wall);
            last_flush = now;
            const engine_stats_t *st = engine_stats(p->engine);
            metrics_counter_add(p->m_merged, st->merged - p->merged_seen);
            p->merged_seen = st->merged;
            metrics_gauge_set(p->m_procs, (double)engine_proc_count(p->engine));
        }
        if (now - last_commit >= p->o.commit_interval_ms) {
            commit(p, false, false);
            last_commit = now;
        }
        metrics_gauge_set(p->m_inflight, (double)offtrack_inflight(p->ot));
        metrics_gauge_set(p->m_assigned, (double)atomic_load(&p->assigned));
    }
    /* stopping: every alert raised so far goes out, then the offsets follow */
    engine_flush(p->engine, INT64_MAX);
    rd_kafka_flush(p->producer, FLUSH_STOP_MS);
    commit(p, true, true);
    rd_kafka_consumer_close(p->consumer);
    atomic_store(&p->running, false);
    return NULL;
}

/* ---- setup ----------------------------------------------------------------------------------- */

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen)
{
    char e[256];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka: %s=%s: %s", k, v, e);
        return -EINVAL;
    }
    return 0;
}

static int conf_extra(rd_kafka_conf_t *conf, char *const *props, char *err, size_t errlen)
{
    for (size_t i = 0; props && props[i]; i++) {
        char *kv = xstrdup(props[i]);
        char *eq = strchr(kv, '=');
        int rc = -EINVAL;
        if (!eq)
            snprintf(err, errlen, "kafka.properties: \"%s\" is not NAME=VALUE", props[i]);
        else {
            *eq = '\0';
            rc = conf_set(conf, kv, eq + 1, err, errlen);
        }
        free(kv);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static rd_kafka_t *make_client(pipeline_t *p, rd_kafka_type_t type, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    log_bridge_rdkafka(conf);
    int rc = conf_set(conf, "bootstrap.servers", p->o.brokers, err, errlen);
    if (type == RD_KAFKA_CONSUMER) {
        if (rc == 0)
            rc = conf_set(conf, "group.id", p->o.group, err, errlen);
        if (rc == 0)
            rc = conf_set(conf, "enable.auto.commit", "false", err, errlen);
        if (rc == 0)
            rc = conf_set(conf, "auto.offset.reset", "earliest", err, errlen);
        if (rc == 0)
            rc = conf_set(conf, "session.timeout.ms", "10000", err, errlen);
        if (rc == 0)
            rc = conf_set(conf, "client.id", p->instance, err, errlen);
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    } else {
        if (rc == 0)
            rc = conf_set(conf, "enable.idempotence", "true", err, errlen);
        if (rc == 0)
            rc = conf_set(conf, "message.timeout.ms", "0", err, errlen);
        if (rc == 0)
            rc = conf_set(conf, "linger.ms", "5", err, errlen);
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    }
    if (rc == 0)
        rc = conf_extra(conf, p->o.properties, err, errlen);
    if (rc < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, p);
    char e[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, e, sizeof(e));
    if (!rk) {
        snprintf(err, errlen, "kafka: %s", e);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

pipeline_t *pipeline_new(const pipeline_opts_t *o, char *err, size_t errlen)
{
    pipeline_t *p = xcalloc(1, sizeof(*p));
    p->o = *o;
    p->instance = xstrdup(o->instance);
    pthread_mutex_init(&p->mu, NULL);
    metrics_registry_t *m = o->metrics;
    p->m_events = metrics_counter(m, "rampart_hub_events_total", "events evaluated", NULL);
    p->m_undecodable = metrics_counter(m, "rampart_hub_undecodable_total",
                                       "messages that were not a valid envelope, skipped", NULL);
    p->m_alerts =
        metrics_counter(m, "rampart_hub_alerts_total", "alerts produced", "kind=\"alert\"");
    p->m_updates =
        metrics_counter(m, "rampart_hub_alerts_total", "alerts produced", "kind=\"update\"");
    p->m_delivered = metrics_counter(m, "rampart_hub_alerts_delivered_total",
                                     "alerts acknowledged by Kafka", NULL);
    p->m_delivery_failed = metrics_counter(m, "rampart_hub_alert_delivery_failures_total",
                                           "alerts Kafka refused for good", NULL);
    p->m_merged = metrics_counter(m, "rampart_hub_alerts_merged_total",
                                  "duplicate alerts merged into an earlier one", NULL);
    p->m_commits = metrics_counter(m, "rampart_hub_offset_commits_total", "offset commits", NULL);
    p->m_consume_errors =
        metrics_counter(m, "rampart_hub_consume_errors_total", "consumer errors", NULL);
    p->m_inflight = metrics_gauge(m, "rampart_hub_inflight_events",
                                  "consumed events whose offsets wait for deliveries", NULL);
    p->m_procs = metrics_gauge(m, "rampart_hub_processes", "processes in the process table", NULL);
    p->m_rules = metrics_gauge(m, "rampart_hub_rules", "rules in force", NULL);
    p->m_assigned = metrics_gauge(m, "rampart_hub_partitions", "partitions assigned", NULL);
    engine_opts_t eo = {.proc_capacity = o->proc_capacity,
                        .group_capacity = o->group_capacity,
                        .dedup_capacity = o->dedup_capacity,
                        .emit = on_alert,
                        .emit_ud = p};
    p->engine = engine_new(&eo);
    p->dec = event_decoder_new();
    p->ot = offtrack_new();
    if (!(p->consumer = make_client(p, RD_KAFKA_CONSUMER, err, errlen)) ||
        !(p->producer = make_client(p, RD_KAFKA_PRODUCER, err, errlen))) {
        pipeline_free(p);
        return NULL;
    }
    rd_kafka_poll_set_consumer(p->consumer);
    return p;
}

int pipeline_start(pipeline_t *p)
{
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, p->o.events_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(p->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        LOG_ERROR("subscribe_failed", "topic=%s error=%s", p->o.events_topic,
                  rd_kafka_err2str(err));
        return -EINVAL;
    }
    if (atomic_load(&p->posted_flag))
        swap_ruleset(p);
    int rc = pthread_create(&p->thread, NULL, loop, p);
    if (rc)
        return -rc;
    p->started = true;
    return 0;
}

void pipeline_free(pipeline_t *p)
{
    if (!p)
        return;
    if (p->started) {
        atomic_store(&p->stop, true);
        pthread_join(p->thread, NULL);
    }
    if (p->consumer)
        rd_kafka_destroy(p->consumer);
    if (p->producer)
        rd_kafka_destroy(p->producer);
    ruleset_t *rs = (ruleset_t *)engine_ruleset(p->engine);
    engine_free(p->engine);
    ruleset_free(rs);
    ruleset_free(p->posted);
    event_decoder_free(p->dec);
    offtrack_free(p->ot);
    strbuf_dispose(&p->sb);
    pthread_mutex_destroy(&p->mu);
    free(p->instance);
    free(p);
}

void pipeline_post_ruleset(pipeline_t *p, ruleset_t *rs)
{
    pthread_mutex_lock(&p->mu);
    ruleset_t *old = p->posted;
    p->posted = rs;
    atomic_store(&p->posted_flag, true);
    pthread_mutex_unlock(&p->mu);
    ruleset_free(old);
}

bool pipeline_healthy(pipeline_t *p, const char **why)
{
    if (atomic_load(&p->fatal)) {
        *why = "fatal Kafka error";
        return false;
    }
    if (!atomic_load(&p->has_rules)) {
        *why = "no rules loaded";
        return false;
    }
    if (!atomic_load(&p->running)) {
        *why = "event loop not running";
        return false;
    }
    *why = NULL;
    return true;
}

int pipeline_assigned(pipeline_t *p)
{
    return atomic_load(&p->assigned);
}
