/* conn: one agent stream as the AgentCenter sees it.
 *
 * A conn is created when a Transfer call arrives and freed when the call is over and the last
 * reference is dropped (the completion-queue operations in flight, the connection table, an
 * admin request reading it). Its fields are guarded by mu unless marked atomic. The stream
 * mechanics (gRPC batches) are transfer.c's; this module holds what the conn knows: identity,
 * agent metadata, counters, the last heartbeat and plugin heartbeats, and the bounded queue of
 * commands waiting to be sent. */
#ifndef RAMPART_AC_CONN_H
#define RAMPART_AC_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <jansson.h>

#include "agent-center/ingest.h"

#define CONN_PLUGINS_MAX   32          /* plugin heartbeats kept per agent */
#define CONN_HEARTBEAT_MAX (16 * 1024) /* bytes of a heartbeat payload kept */

typedef struct conn conn_t;

/* A completion-queue tag: which operation of which conn finished. */
typedef enum { OP_NEW, OP_RECV, OP_SEND, OP_CLOSE, OP_STATUS } conn_op_kind_t;
typedef struct {
    conn_t *conn;
    conn_op_kind_t kind;
} conn_op_t;

typedef struct {
    char name[64];
    int64_t at_ms;
    uint8_t *payload;
    size_t len;
} conn_plugin_hb_t;

struct conn {
    atomic_int refs;
    pthread_mutex_t mu;
    pthread_cond_t room; /* signalled when the command queue has room or the conn closes */
    uint64_t serial;     /* unique per process, for logs */

    /* gRPC call state (transfer.c) */
    grpc_call *call;
    gpr_timespec deadline; /* written by gRPC when the call arrives */
    grpc_metadata_array request_md;
    grpc_byte_buffer *recv_bb;
    grpc_byte_buffer *send_bb; /* the command being sent, destroyed when the send completes */
    int close_cancelled;
    conn_op_t op_new, op_recv, op_send, op_close, op_status;
    bool started;      /* initial metadata sent, stream counted as live */
    bool recv_pending; /* a RECV_MESSAGE is in flight */
    bool send_pending; /* a SEND_MESSAGE (or initial metadata) is in flight */
    bool read_done;    /* the agent half-closed or the call failed */
    bool finished;     /* RECV_CLOSE_ON_SERVER completed: the call is over */
    bool status_sent;  /* SEND_STATUS started or the call cancelled */
    bool paused;       /* waiting for Kafka to drain (back-pressure) */
    bool in_table;
    ingest_msg_t msg; /* the message being produced */
    conn_t *paused_next;
    conn_t *hash_next; /* conn_table chain */

    /* identity and metadata */
    char identity[INGEST_ID_MAX + 1]; /* certificate CN, or the first declared id; "" unknown */
    char peer[128];
    int64_t connected_ms;
    char hostname[INGEST_HOSTNAME_MAX + 1];
    char version[INGEST_FIELD_MAX + 1];
    char product[INGEST_FIELD_MAX + 1];
    json_t *ips; /* {"intranet_ipv4":[...], ...} */

    /* counters */
    atomic_ullong records_in, bytes_in, messages_in, records_rejected, commands_sent;

    /* heartbeats */
    int64_t heartbeat_ms;
    uint8_t *heartbeat;
    size_t heartbeat_len;
    conn_plugin_hb_t plugins[CONN_PLUGINS_MAX];
    size_t nplugins;

    /* commands waiting to be sent: a ring of serialized Command messages */
    grpc_byte_buffer **cmdq;
    size_t cmd_head, cmd_len, cmd_cap;
};

conn_t *conn_new(uint64_t serial, size_t command_queue);
void conn_ref(conn_t *c);
/* Drops a reference; the last one frees the conn (and unrefs its call). */
void conn_unref(conn_t *c);

/* Copies the metadata of a validated PackagedData. Caller holds mu. */
void conn_set_metadata(conn_t *c, const Grpc__PackagedData *pd);
/* Keeps a heartbeat record (1000 agent, 1001 plugin; the plugin's name comes from the payload's
 * "name" field). Caller holds mu. Returns 0, or -EINVAL when a 1001 payload has no name. */
int conn_note_heartbeat(conn_t *c, int32_t data_type, const uint8_t *payload, size_t len,
                        int64_t now_ms);

/* Command ring (caller holds mu). push: 0 or -ENOSPC; pop: a buffer or NULL. */
int conn_cmd_push(conn_t *c, grpc_byte_buffer *bb);
grpc_byte_buffer *conn_cmd_pop(conn_t *c);

/* The conn as JSON for the admin API (takes mu). detail adds heartbeat and plugin fields. */
json_t *conn_to_json(conn_t *c, bool detail);

#endif
