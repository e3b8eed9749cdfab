#include "agent-center/producer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "common/log.h"
#include "common/log_bridge.h"
#include "common/xalloc.h"

struct producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t *topics[ROUTE_MAX_TOPICS];
    size_t ntopics;
    int64_t max_messages;
    int64_t max_bytes;
    atomic_llong queued_bytes; /* payload bytes handed to librdkafka, not yet reported */
    atomic_bool want_drain;    /* a sender saw a full queue */
    atomic_bool broker_up;
    atomic_bool stop;
    pthread_t poller;
    void (*on_drain)(void *ud);
    void *ud;

    metrics_counter_t *m_sent[ROUTE_MAX_TOPICS];
    metrics_counter_t *m_bytes[ROUTE_MAX_TOPICS];
    metrics_counter_t *m_delivered;
    metrics_counter_t *m_dropped;
    metrics_counter_t *m_produce_errors;
    metrics_counter_t *m_queue_full;
    atomic_llong last_error_log;
};

static double gauge_queued(void *ud)
{
    return (double)producer_queued(ud);
}

/* Delivery report: runs on the poll thread inside rd_kafka_poll(). */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    producer_t *p = opaque;
    atomic_fetch_sub(&p->queued_bytes, (long long)msg->len);
    if (!msg->err) {
        metrics_counter_inc(p->m_delivered);
        return;
    }
    metrics_counter_inc(p->m_dropped);
    long long now = (long long)time(NULL);
    long long last = atomic_load(&p->last_error_log);
    /* One line per second at most: an outage fails many records at once. */
    if (now != last && atomic_compare_exchange_strong(&p->last_error_log, &last, now))
        LOG_ERROR("record_dropped", "reason=kafka_delivery topic=%s error=\"%s\"",
                  rd_kafka_topic_name(msg->rkt), rd_kafka_err2str(msg->err));
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    producer_t *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (atomic_exchange(&p->broker_up, false))
            LOG_WARN("kafka_down", "reason=\"%s\"", reason);
        return;
    }
    char q[256];
    LOG_WARN("kafka_error", "error=%s reason=%s", rd_kafka_err2name(err),
             log_quote(q, sizeof(q), reason));
    if (rd_kafka_fatal_error(rk, NULL, 0))
        LOG_ERROR("kafka_fatal", "reason=%s (the producer cannot continue)", q);
}

static bool below_half(producer_t *p)
{
    return (int64_t)rd_kafka_outq_len(p->rk) < p->max_messages / 2 &&
           atomic_load(&p->queued_bytes) < p->max_bytes / 2;
}

static void *poll_main(void *arg)
{
    producer_t *p = arg;
    int tick = 0;
    while (!atomic_load(&p->stop)) {
        rd_kafka_poll(p->rk, 50);
        /* A sender that found the queue full registers its stream as paused just after
         * producer_send() returned; the periodic call covers a drain that happened between. */
        if ((atomic_load(&p->want_drain) || tick % 4 == 0) && below_half(p)) {
            atomic_store(&p->want_drain, false);
            p->on_drain(p->ud);
        }
        /* Broker health: a cheap metadata probe every ~2 s brings broker_up back. */
        if (++tick % 40 == 0 && !atomic_load(&p->broker_up)) {
            const struct rd_kafka_metadata *md = NULL;
            if (rd_kafka_metadata(p->rk, 0, NULL, &md, 500) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                rd_kafka_metadata_destroy(md);
                atomic_store(&p->broker_up, true);
                LOG_INFO("kafka_up", NULL);
            }
        }
    }
    return NULL;
}

static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen)
{
    char e[256];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka property %s=%s: %s", k, v, e);
        return -EINVAL;
    }
    return 0;
}

producer_t *producer_new(const producer_opts_t *o, char *err, size_t errlen)
{
    producer_t *p = xcalloc(1, sizeof(*p));
    p->max_messages = o->queue_max_messages;
    p->max_bytes = o->queue_max_bytes;
    p->on_drain = o->on_drain;
    p->ud = o->ud;
    atomic_store(&p->broker_up, true);

    char num[32], kbytes[32];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    log_bridge_rdkafka(conf);
    snprintf(num, sizeof(num), "%lld", (long long)o->queue_max_messages);
    snprintf(kbytes, sizeof(kbytes), "%lld", (long long)(o->queue_max_bytes / 1024));
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%lld", (long long)o->message_timeout_ms);
    /* Idempotence: retries after a timeout or a broker restart never duplicate a record, and
     * order per partition (per agent) is kept. */
    if (conf_set(conf, "bootstrap.servers", o->brokers, err, errlen) < 0 ||
        conf_set(conf, "enable.idempotence", "true", err, errlen) < 0 ||
        conf_set(conf, "queue.buffering.max.messages", num, err, errlen) < 0 ||
        conf_set(conf, "queue.buffering.max.kbytes", kbytes, err, errlen) < 0 ||
        conf_set(conf, "message.timeout.ms", timeout, err, errlen) < 0 ||
        conf_set(conf, "linger.ms", "5", err, errlen) < 0 ||
        conf_set(conf, "compression.codec", "lz4", err, errlen) < 0)
        goto fail_conf;
    for (size_t i = 0; o->properties && o->properties[i]; i++) {
        char *kv = xstrdup(o->properties[i]);
        char *eq = strchr(kv, '=');
        int rc = -EINVAL;
        if (!eq)
            snprintf(err, errlen, "kafka.properties: \"%s\" is not name=value", kv);
        else {
            *eq = '\0';
            rc = conf_set(conf, kv, eq + 1, err, errlen);
        }
        free(kv);
        if (rc < 0)
            goto fail_conf;
    }
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    char e[512];
    if (!(p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e)))) {
        snprintf(err, errlen, "kafka: %s", e);
        goto fail_conf;
    }
    conf = NULL; /* owned by rk now */

    p->ntopics = route_ntopics(o->route);
    for (size_t i = 0; i < p->ntopics; i++) {
        const char *name = route_topic_name(o->route, (unsigned)i);
        p->topics[i] = rd_kafka_topic_new(p->rk, name, NULL);
        char lbl[300], q[260];
        snprintf(lbl, sizeof(lbl), "topic=\"%s\"", metrics_label_escape(q, sizeof(q), name));
        p->m_sent[i] = metrics_counter(o->metrics, "rampart_ac_records_total",
                                       "Records handed to Kafka, by topic", lbl);
        p->m_bytes[i] = metrics_counter(o->metrics, "rampart_ac_record_bytes_total",
                                        "Envelope bytes handed to Kafka, by topic", lbl);
    }
    p->m_delivered = metrics_counter(o->metrics, "rampart_ac_kafka_delivered_total",
                                     "Records Kafka acknowledged", NULL);
    p->m_dropped = metrics_counter(o->metrics, "rampart_ac_records_dropped_total",
                                   "Records lost, by reason", "reason=\"kafka_delivery\"");
    p->m_produce_errors =
        metrics_counter(o->metrics, "rampart_ac_kafka_produce_errors_total",
                        "Produce calls librdkafka refused (not queue-full)", NULL);
    p->m_queue_full =
        metrics_counter(o->metrics, "rampart_ac_kafka_queue_full_total",
                        "Times a full Kafka queue paused a stream (back-pressure)", NULL);
    metrics_gauge_fn(o->metrics, "rampart_ac_kafka_queue", "Records queued for Kafka", NULL,
                     gauge_queued, p);
    if (pthread_create(&p->poller, NULL, poll_main, p) != 0) {
        snprintf(err, errlen, "kafka: cannot start the poll thread");
        p->poller = 0;
        producer_free(p);
        return NULL;
    }
    return p;

fail_conf:
    if (conf)
        rd_kafka_conf_destroy(conf);
    free(p);
    return NULL;
}

void producer_free(producer_t *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, true);
    if (p->poller)
        pthread_join(p->poller, NULL);
    for (size_t i = 0; i < p->ntopics; i++)
        rd_kafka_topic_destroy(p->topics[i]);
    if (p->rk)
        rd_kafka_destroy(p->rk);
    free(p);
}

int producer_send(producer_t *p, unsigned topic, const char *key, size_t keylen, void *buf,
                  size_t len)
{
    if (topic >= p->ntopics)
        return -EINVAL;
    if (atomic_load(&p->queued_bytes) + (long long)len > p->max_bytes) {
        atomic_store(&p->want_drain, true);
        metrics_counter_inc(p->m_queue_full);
        return -ENOBUFS;
    }
    atomic_fetch_add(&p->queued_bytes, (long long)len);
    if (rd_kafka_produce(p->topics[topic], RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_FREE, buf, len,
                         key, keylen, NULL) == 0) {
        metrics_counter_inc(p->m_sent[topic]);
        metrics_counter_add(p->m_bytes[topic], len);
        return 0;
    }
    atomic_fetch_sub(&p->queued_bytes, (long long)len);
    rd_kafka_resp_err_t e = rd_kafka_last_error();
    if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        atomic_store(&p->want_drain, true);
        metrics_counter_inc(p->m_queue_full);
        return -ENOBUFS;
    }
    metrics_counter_inc(p->m_produce_errors);
    LOG_ERROR("produce_failed", "error=\"%s\"", rd_kafka_err2str(e));
    return -EIO;
}

size_t producer_queued(producer_t *p)
{
    return (size_t)rd_kafka_outq_len(p->rk);
}

size_t producer_flush(producer_t *p, int timeout_ms)
{
    rd_kafka_flush(p->rk, timeout_ms);
    return producer_queued(p);
}

int producer_broker_up(producer_t *p)
{
    return atomic_load(&p->broker_up);
}
