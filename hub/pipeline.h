/* pipeline: the hub's event loop, on one thread: consume rampart.events in a consumer group,
 * decode, evaluate, produce alerts to rampart.alerts, commit offsets once the alerts an
 * event caused are delivered (offtrack.h).
 *
 * - At least once: the consumer never auto-commits; a message's offset is committed only
 *   after every alert it raised was acknowledged by the brokers (acks=all, idempotent
 *   producer, no delivery timeout). After a crash the next owner of the partition starts at
 *   the last committed offset and raises the same alerts again with the same ids.
 * - Undecodable messages are counted and skipped (their offset is committed like any other).
 * - When kafka.max_inflight messages wait for deliveries, consumption pauses.
 * - On a rebalance the revoked partitions' deliveries are flushed and their offsets committed
 *   before they are given up.
 * - A new ruleset posted with pipeline_post_ruleset() is swapped in between two batches. */
#ifndef RAMPART_HUB_PIPELINE_H
#define RAMPART_HUB_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/metrics.h"
#include "hub/ruleset.h"

typedef struct pipeline pipeline_t;

typedef struct {
    const char *brokers, *group, *events_topic, *alerts_topic;
    char *const *properties; /* NULL-terminated "name=value", may be NULL */
    int64_t max_inflight;
    int64_t commit_interval_ms;
    size_t proc_capacity, group_capacity, dedup_capacity;
    const char *instance;
    metrics_registry_t *metrics;
} pipeline_opts_t;

/* Creates the Kafka clients (no connection yet). NULL with err set on a bad configuration. */
pipeline_t *pipeline_new(const pipeline_opts_t *opts, char *err, size_t errlen);
/* Starts the loop thread; the first ruleset must have been posted. 0 or -errno. */
int pipeline_start(pipeline_t *p);
/* Stops the loop: flushes pending deliveries (up to 10 s), commits, leaves the group. */
void pipeline_free(pipeline_t *p);

/* Hands a compiled ruleset to the loop (ownership passes; a ruleset posted but not yet
 * picked up is replaced and freed). Thread-safe. */
void pipeline_post_ruleset(pipeline_t *p, ruleset_t *rs);

/* For /health: the loop runs, has rules and no fatal Kafka error; partitions assigned. */
bool pipeline_healthy(pipeline_t *p, const char **why);
int pipeline_assigned(pipeline_t *p);

#endif
