/* ingest: the manager's Kafka consumers, shared by every instance: rampart.state in group
 * kafka.group and rampart.alerts in group kafka.group + ".alerts", each on its own thread, so
 * a backlog of asset snapshots (slow to write) never holds alerts back.
 *
 * rampart.state carries protobuf envelopes (proto/envelope.proto, read as EnvelopeView):
 *   1000 agent heartbeat  -> hosts: upsert, last_seen, online, facts, version, IPs
 *   1001 plugin heartbeat -> hosts.plugins.<name>
 *   5050-5062 assets      -> assets: one item per record, upserted by (host, type, item hash)
 *   5100 task result      -> subtasks: status succeed/failed and the result, matched by token
 *                            AND agent id (an agent cannot answer another agent's task)
 * rampart.alerts carries the hub's JSON alerts (docs/alerts.md): "alert" is inserted once per
 * id (redelivery is a no-op), "update" sets the merged count.
 *
 * Messages are written in bulk per poll batch and offsets committed only after the writes
 * succeeded (at least once; every write is idempotent). While MongoDB is down the partitions
 * are paused and the batch retried. Undecodable messages are counted and skipped. */
#ifndef RAMPART_MGR_INGEST_H
#define RAMPART_MGR_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct mgr mgr_t;
typedef struct ingest ingest_t;

/* NULL with the reason in err (bad Kafka configuration). Starts the consumer thread. */
ingest_t *ingest_new(mgr_t *m, char *err, size_t errlen);
void ingest_free(ingest_t *in);
/* {"messages","alerts","heartbeats","assets","results","invalid","assigned","paused"}. */
json_t *ingest_status(ingest_t *in);

/* --- decoding, exposed for unit tests --- */
typedef struct {
    const char *id, *kind, *rule_id, *rule_name, *severity, *agent_id, *hostname;
    int64_t count, first_seen, last_seen, detected_at, data_type;
} alert_view_t;
/* Validates a parsed alert (schema rampart.alert/1, 32-hex id, kind, rule, agent) and fills v
 * (pointers into j). 0 or -EINVAL with the reason in *why. */
int ingest_alert_view(json_t *j, alert_view_t *v, const char **why);
/* Rank of a severity name: info 0 .. critical 4; -1 unknown. */
int ingest_severity_rank(const char *s);
/* Copies payload keys usable as MongoDB field names ([A-Za-z0-9_], 1-64) into out; others
 * are renamed with '_' for every other byte. Exposed for tests. */
void ingest_field_name(const char *key, char *out, size_t size);

#endif
