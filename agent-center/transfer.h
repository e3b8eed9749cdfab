/* transfer: the gRPC server of agent streams (grpc core C API, completion queues).
 *
 * One `/grpc.Transfer/Transfer` bidirectional stream per agent. Each worker thread owns a
 * completion queue; a call is bound to the queue it arrived on. Per stream, at most one
 * RECV_MESSAGE is in flight, and the next is posted only when every record of the previous
 * message is in the Kafka producer's queue: when that queue is full the stream simply stops
 * reading (back-pressure) until the producer drains (transfer_resume). gRPC's flow control
 * then stops the agent, whose own spool takes over.
 *
 * TLS: agent connections end in the TLS gate (tls_gate.h), which hands gRPC each verified
 * connection as a plaintext descriptor; gRPC itself serves no TCP port then.
 *
 * Identity: with mutual TLS the agent id is the client certificate's CN (looked up in the gate
 * when the call arrives) and every PackagedData must declare that id; in plaintext test mode
 * it is the first declared id.
 * A second stream of the same agent replaces the first (conn_table.h).
 *
 * Stream ends, each counted in rampart_ac_streams_closed_total{reason}: the agent's half-close
 * (status OK once its records are queued), a bad message (ingest.h reasons; oversized),
 * replaced, reset by the admin API, too many connections, shutdown, or the connection lost. */
#ifndef RAMPART_AC_TRANSFER_H
#define RAMPART_AC_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent-center/conn_table.h"
#include "agent-center/producer.h"
#include "agent-center/route.h"
#include "common/metrics.h"

typedef struct transfer transfer_t;

typedef struct {
    const char *listen;
    int threads;
    bool plaintext; /* tests only */
    const char *ca_pem, *cert_pem, *key_pem;
    int64_t handshake_timeout_ms; /* TLS */
    size_t max_connections;
    size_t max_message;
    size_t max_records;
    size_t command_queue;
    int64_t keepalive_time_ms, keepalive_timeout_ms;
    int64_t memory_quota;
    const char *instance_id;
    const route_t *route;
    producer_t *producer;
    conn_table_t *table;
    metrics_registry_t *metrics;
} transfer_opts_t;

/* Binds and starts serving. NULL with the reason in err. */
transfer_t *transfer_new(const transfer_opts_t *opts, char *err, size_t errlen);
/* Shuts down if not yet done, then frees. Accepts NULL. */
void transfer_free(transfer_t *t);

uint16_t transfer_port(const transfer_t *t);
/* Streams open now (bound to an agent or not yet). */
size_t transfer_live(transfer_t *t);
/* Records accepted from agents since start (for the records/s gauge). */
uint64_t transfer_records_in(transfer_t *t);

/* Called when the Kafka queue has room: streams paused by back-pressure go on. */
void transfer_resume(transfer_t *t);

/* Queues a serialized Command for agent_id, waiting up to wait_ms for room in its queue.
 * 0 queued; -ENOENT the agent has no stream here; -ETIMEDOUT its queue stayed full;
 * -ENOTCONN its stream is closing. */
int transfer_command(transfer_t *t, const char *agent_id, const void *cmd, size_t len, int wait_ms);
/* Ends agent_id's stream (status UNAVAILABLE, so it reconnects). 0 or -ENOENT. */
int transfer_reset(transfer_t *t, const char *agent_id, const char *why);

/* Stops accepting, ends every stream with UNAVAILABLE ("shutting down") once what it sent is
 * queued for Kafka, and waits up to drain_ms for that. Returns the records that could not be
 * queued in time (counted as dropped, reason shutdown). Idempotent. */
size_t transfer_shutdown(transfer_t *t, int64_t drain_ms);

#endif
