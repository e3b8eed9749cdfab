#include "harness_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

struct harness_kafka_reader {
    rd_kafka_t *rk;
};

harness_kafka_reader_t *harness_kafka_reader_new(const char *bootstrap, const char *topic)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "group.id", "harness-reader", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err))) {
        fprintf(stderr, "harness_kafka: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "harness_kafka: %s\n", err);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, 10000);
    rd_kafka_topic_destroy(t);
    if (e || md->topic_cnt != 1 || md->topics[0].partition_cnt <= 0) {
        fprintf(stderr, "harness_kafka: no metadata for %s: %s\n", topic, rd_kafka_err2str(e));
        if (md)
            rd_kafka_metadata_destroy(md);
        rd_kafka_destroy(rk);
        return NULL;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(0);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        fprintf(stderr, "harness_kafka: assign: %s\n", rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return NULL;
    }
    harness_kafka_reader_t *r = calloc(1, sizeof(*r));
    r->rk = rk;
    return r;
}

void harness_kafka_reader_free(harness_kafka_reader_t *r)
{
    if (!r)
        return;
    rd_kafka_consumer_close(r->rk);
    rd_kafka_destroy(r->rk);
    free(r);
}

int harness_kafka_next(harness_kafka_reader_t *r, int timeout_ms, harness_kafka_msg_t *m)
{
    memset(m, 0, sizeof(*m));
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(r->rk, timeout_ms);
    while (msg && msg->err) {
        /* End of a partition and transient errors are not messages. */
        rd_kafka_message_destroy(msg);
        msg = rd_kafka_consumer_poll(r->rk, timeout_ms);
    }
    if (!msg)
        return 0;
    m->key_len = msg->key_len;
    m->key = malloc(msg->key_len + 1);
    if (msg->key_len)
        memcpy(m->key, msg->key, msg->key_len);
    m->key[msg->key_len] = '\0';
    m->len = msg->len;
    m->value = malloc(msg->len ? msg->len : 1);
    if (msg->len)
        memcpy(m->value, msg->payload, msg->len);
    m->partition = msg->partition;
    m->offset = msg->offset;
    rd_kafka_message_destroy(msg);
    return 1;
}

void harness_kafka_msg_dispose(harness_kafka_msg_t *m)
{
    free(m->key);
    free(m->value);
    memset(m, 0, sizeof(*m));
}
