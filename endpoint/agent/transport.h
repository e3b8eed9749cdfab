/* transport: the agent's one gRPC Transfer stream to an AgentCenter (grpc core C API, mutual
 * TLS), on its own thread and completion queue.
 *
 * Finding an AgentCenter: service discovery (sd.addrs) lists the instances of sd.name; they
 * are tried lowest weight first (weight = live streams, so the least loaded), instances of
 * equal weight in random order, then the static agent_center.addrs. A failed address sends
 * the next attempt to the next one at once; after a whole round failed, the next round waits
 * transport.backoff_min, doubled per round up to backoff_max, each delay drawn in [d/2, d]
 * (jitter, so a fleet does not reconnect in step). A stream that stayed up 10 s resets it.
 *
 * Sending: every batch_interval, or at once after a send when a full batch is waiting, the
 * records at the head of the spool (at most batch_max_records and batch_max_bytes) go out as
 * one PackagedData with the agent's metadata. They leave the spool only when gRPC reports the
 * write completed; a failed write leaves them for the next stream. There is no
 * acknowledgement in the protocol: a write completes once it is in the transport, so records
 * written just before a stream is cut (at most one HTTP/2 flow-control window, 64 KiB with
 * the AgentCenter's settings) may be lost with it: the residual at-most-once window.
 *
 * Receiving: each Command is handed to on_command on the transport thread. */
#ifndef RAMPART_AGENT_TRANSPORT_H
#define RAMPART_AGENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "endpoint/agent/spool.h"
#include "rampart.pb-c.h"

typedef struct transport transport_t;

typedef struct {
    char *const *sd_addrs; /* NULL-terminated, may be empty */
    const char *sd_name;
    char *const *ac_addrs;
    const char *ca_pem, *cert_pem, *key_pem;
    const char *server_name; /* "" or NULL: the address' host */
    int64_t backoff_min_ms, backoff_max_ms;
    int64_t batch_interval_ms;
    size_t batch_max_records, batch_max_bytes;
    int64_t keepalive_ms, connect_timeout_ms;
    const char *agent_id;
    spool_t *spool;
    void (*on_command)(void *ud, const Grpc__Command *cmd);
    void *ud;
    metrics_registry_t *metrics;
} transport_opts_t;

/* The metadata sent with every PackagedData. */
typedef struct {
    char hostname[256];
    char *intranet_ipv4[16], *extranet_ipv4[16], *intranet_ipv6[16], *extranet_ipv6[16];
    size_t n_in4, n_ex4, n_in6, n_ex6;
} transport_meta_t;

typedef struct {
    bool connected;
    char addr[96]; /* current or last AgentCenter */
    uint64_t records_sent, bytes_sent, messages_sent, commands, streams, failures;
} transport_stats_t;

transport_t *transport_new(const transport_opts_t *o);
int transport_start(transport_t *t);
/* Replaces the metadata (copied). Any thread. */
void transport_set_meta(transport_t *t, const transport_meta_t *m);
/* Sends what the spool holds for up to drain_ms, closes the stream and joins the thread. */
void transport_stop(transport_t *t, int64_t drain_ms);
void transport_free(transport_t *t);
void transport_stats(transport_t *t, transport_stats_t *st);

/* Frees the strings of a meta filled by hand. */
void transport_meta_dispose(transport_meta_t *m);

#endif
