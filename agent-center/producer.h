/* producer: the AgentCenter's Kafka producer (librdkafka, asynchronous, idempotent).
 *
 * producer_send() queues one envelope; delivery reports arrive on the producer's poll thread
 * and are counted (delivered, or dropped with the broker's error). When the local queue is
 * full -- the broker is slow or unreachable -- producer_send() returns -ENOBUFS and keeps
 * nothing: the caller stops reading its stream (back-pressure) and waits for the drain
 * callback, which the poll thread calls once the queue is below half of its limits. Nothing
 * is dropped on the AgentCenter's side; a record is lost only when Kafka does not take it
 * within kafka.message_timeout, and that is counted in rampart_ac_records_dropped_total. */
#ifndef RAMPART_AC_PRODUCER_H
#define RAMPART_AC_PRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include "agent-center/route.h"
#include "common/metrics.h"

typedef struct producer producer_t;

typedef struct {
    const char *brokers;
    char *const *properties; /* NULL-terminated "name=value" or NULL */
    int64_t queue_max_messages;
    int64_t queue_max_bytes;
    int64_t message_timeout_ms;
    const route_t *route;
    metrics_registry_t *metrics;
    /* Called on the poll thread when a full queue has drained below half. */
    void (*on_drain)(void *ud);
    void *ud;
} producer_opts_t;

/* NULL on a bad option, with the reason in err. Starts the poll thread. */
producer_t *producer_new(const producer_opts_t *opts, char *err, size_t errlen);
/* Stops the poll thread and destroys the handle (flush first). Accepts NULL. */
void producer_free(producer_t *p);

/* Queues buf (len bytes, malloc'd) to topic index topic with key. On 0 the producer owns buf.
 * -ENOBUFS: queue full, buf still the caller's, and the drain callback is armed.
 * -EIO: another librdkafka error (counted as a produce error; buf still the caller's). */
int producer_send(producer_t *p, unsigned topic, const char *key, size_t keylen, void *buf,
                  size_t len);

/* Records queued or in flight. */
size_t producer_queued(producer_t *p);
/* Waits up to timeout_ms for everything queued to be delivered; returns what is left. */
size_t producer_flush(producer_t *p, int timeout_ms);
/* True while the broker metadata answers (for /health). */
int producer_broker_up(producer_t *p);

#endif
