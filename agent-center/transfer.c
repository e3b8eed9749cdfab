#include "agent-center/transfer.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "agent-center/tls_gate.h"
#include "common/log.h"
#include "common/log_bridge.h"
#include "common/xalloc.h"
#include "proto/transfer_paths.h"

#define ACCEPT_DEPTH 32 /* calls requested ahead per worker, for connection bursts */

/* Why a stream ended: the label of rampart_ac_streams_closed_total. */
typedef enum {
    END_COMPLETED,   /* agent half-closed, status OK */
    END_LOST,        /* the connection went away */
    END_REPLACED,    /* a newer stream of the same agent */
    END_RESET,       /* admin reset */
    END_TOO_MANY,    /* max_connections */
    END_NO_IDENTITY, /* TLS peer without a CN */
    END_OVERSIZED,   /* message above max_message */
    END_SHUTDOWN,    /* SIGTERM */
    END_INGEST,      /* + ingest_result_t */
    END_NREASONS = END_INGEST + INGEST_NRESULTS,
} end_reason_t;

typedef struct worker {
    transfer_t *t;
    grpc_completion_queue *cq;
    pthread_t thread;
    int index;
} worker_t;

/* A call to a method we do not serve, answered UNIMPLEMENTED. */
typedef struct {
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
} generic_call_t;

struct transfer {
    transfer_opts_t o;
    char *instance_id;
    grpc_server *server;
    tls_gate_t *gate;                  /* mutual TLS in front of gRPC; NULL in plaintext mode */
    grpc_server_credentials *fd_creds; /* insecure: what the gate hands over is plaintext */
    void *method;
    worker_t *workers;
    int nworkers;
    uint16_t port;
    atomic_bool shutting_down;
    bool shut;
    atomic_ullong serial;
    atomic_long live;
    atomic_ullong records_in;
    atomic_long cmd_depth;

    pthread_mutex_t pmu; /* paused list */
    conn_t *paused;
    size_t npaused;

    pthread_mutex_t gmu; /* generic call */
    generic_call_t *generic;

    int shutdown_tag;
    atomic_bool shutdown_done; /* the server's shutdown notification arrived */

    metrics_counter_t *m_opened;
    metrics_counter_t *m_closed[END_NREASONS];
    metrics_counter_t *m_messages;
    metrics_counter_t *m_msg_bytes;
    metrics_counter_t *m_rejected_unknown;
    metrics_counter_t *m_bad_heartbeat;
    metrics_counter_t *m_dropped_produce;
    metrics_counter_t *m_dropped_shutdown;
    metrics_counter_t *m_cmd_sent;
    metrics_counter_t *m_cmd_dropped;
    metrics_counter_t *m_unimplemented;
};

static const char *end_name(int r)
{
    static const char *const names[] = {"completed", "lost",        "replaced",  "reset",
                                        "too_many",  "no_identity", "oversized", "shutdown"};
    if (r < END_INGEST)
        return names[r];
    return ingest_result_name((ingest_result_t)(r - END_INGEST));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void start_batch(conn_t *c, const grpc_op *ops, size_t n, conn_op_t *tag)
{
    conn_ref(c);
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, tag, NULL);
    if (e != GRPC_CALL_OK)
        PANIC("grpc_call_start_batch: error %d (op %d)", (int)e, (int)tag->kind);
}

/* --- stream end --------------------------------------------------------------------------- */

/* Ends the stream with an error status. Caller holds c->mu. */
static void end_stream(transfer_t *t, conn_t *c, int reason, grpc_status_code code,
                       const char *details)
{
    if (c->status_sent || c->finished)
        return;
    c->status_sent = true;
    c->read_done = true;
    metrics_counter_inc(t->m_closed[reason]);
    if (reason == END_REPLACED || reason == END_RESET || reason == END_SHUTDOWN)
        LOG_INFO("stream_ended", "agent_id=%s peer=%s stream=%llu reason=%s", c->identity, c->peer,
                 (unsigned long long)c->serial, end_name(reason));
    else
        LOG_WARN("stream_refused", "agent_id=%s peer=%s stream=%llu reason=%s details=\"%s\"",
                 c->identity[0] ? c->identity : "-", c->peer, (unsigned long long)c->serial,
                 end_name(reason), details);
    grpc_call_cancel_with_status(c->call, code, details, NULL);
    pthread_cond_broadcast(&c->room);
}

/* Sends status OK once the agent half-closed and nothing is in flight. Caller holds c->mu. */
static void maybe_complete(transfer_t *t, conn_t *c)
{
    if (!c->read_done || c->status_sent || c->finished || c->send_pending || c->paused ||
        c->recv_pending)
        return;
    c->status_sent = true;
    metrics_counter_inc(t->m_closed[END_COMPLETED]);
    grpc_op op = {.op = GRPC_OP_SEND_STATUS_FROM_SERVER};
    op.data.send_status_from_server.status = GRPC_STATUS_OK;
    op.data.send_status_from_server.trailing_metadata_count = 0;
    start_batch(c, &op, 1, &c->op_status);
    pthread_cond_broadcast(&c->room);
}

/* --- receiving ---------------------------------------------------------------------------- */

static void post_recv(conn_t *c)
{
    grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
    op.data.recv_message.recv_message = &c->recv_bb;
    c->recv_pending = true;
    start_batch(c, &op, 1, &c->op_recv);
}

static void pause_conn(transfer_t *t, conn_t *c)
{
    c->paused = true;
    conn_ref(c);
    pthread_mutex_lock(&t->pmu);
    c->paused_next = t->paused;
    t->paused = c;
    t->npaused++;
    pthread_mutex_unlock(&t->pmu);
}

/* Hands the records of c->msg from c->msg.next on to Kafka. False when the producer's queue
 * is full: c is then paused and resumes from the same record. Caller holds c->mu. */
static bool produce_pending(transfer_t *t, conn_t *c)
{
    Grpc__PackagedData *pd = c->msg.pd;
    int64_t server_time = now_ms() / 1000;
    size_t keylen = strlen(c->identity);
    for (size_t i = c->msg.next; i < pd->n_records; i++) {
        const Grpc__EncodedRecord *r = pd->records[i];
        unsigned topic = route_topic_of(t->o.route, r->data_type);
        if (topic == ROUTE_NONE) {
            atomic_fetch_add(&c->records_rejected, 1);
            metrics_counter_inc(t->m_rejected_unknown);
            LOG_DEBUG("record_rejected", "agent_id=%s reason=unknown_data_type data_type=%d",
                      c->identity, (int)r->data_type);
            continue;
        }
        size_t len;
        uint8_t *buf = ingest_envelope(&c->msg, i, server_time, &len);
        int rc = producer_send(t->o.producer, topic, c->identity, keylen, buf, len);
        if (rc == -ENOBUFS) {
            free(buf);
            c->msg.next = i;
            pause_conn(t, c);
            return false;
        }
        if (rc < 0) {
            free(buf);
            metrics_counter_inc(t->m_dropped_produce);
        }
        if ((r->data_type == RAMPART_DT_AGENT_HEARTBEAT ||
             r->data_type == RAMPART_DT_PLUGIN_HEARTBEAT) &&
            conn_note_heartbeat(c, r->data_type, r->data.data, r->data.len, now_ms()) < 0)
            metrics_counter_inc(t->m_bad_heartbeat);
        atomic_fetch_add(&c->records_in, 1);
        atomic_fetch_add(&c->bytes_in, r->data.len);
        atomic_fetch_add(&t->records_in, 1);
    }
    c->msg.next = pd->n_records;
    ingest_msg_clear(&c->msg);
    return true;
}

/* First valid message of a stream: register it under its agent id. Caller holds c->mu. */
static void bind_agent(transfer_t *t, conn_t *c)
{
    conn_set_metadata(c, c->msg.pd);
    conn_t *old = conn_table_bind(t->o.table, c);
    c->in_table = true;
    LOG_INFO("agent_connected", "agent_id=%s peer=%s stream=%llu hostname=%s version=%s live=%ld",
             c->identity, c->peer, (unsigned long long)c->serial, c->hostname, c->version,
             atomic_load(&t->live));
    if (old) {
        pthread_mutex_lock(&old->mu);
        old->in_table = false;
        end_stream(t, old, END_REPLACED, GRPC_STATUS_ABORTED,
                   "replaced by a newer stream of the same agent");
        pthread_mutex_unlock(&old->mu);
        conn_unref(old);
    }
}

static void on_recv(transfer_t *t, conn_t *c, int ok)
{
    pthread_mutex_lock(&c->mu);
    c->recv_pending = false;
    grpc_byte_buffer *bb = c->recv_bb;
    c->recv_bb = NULL;
    if (!ok || !bb || c->status_sent || c->finished) {
        c->read_done = true; /* half-close by the agent, or the call is over */
        maybe_complete(t, c);
        goto out;
    }
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb)) {
        end_stream(t, c, END_INGEST + INGEST_MALFORMED, GRPC_STATUS_INVALID_ARGUMENT,
                   "unreadable message");
        goto out;
    }
    grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    size_t len = GRPC_SLICE_LENGTH(s);
    metrics_counter_inc(t->m_messages);
    metrics_counter_add(t->m_msg_bytes, len);
    if (len > t->o.max_message) {
        char d[96];
        snprintf(d, sizeof(d), "message of %zu bytes is above the limit of %zu", len,
                 t->o.max_message);
        end_stream(t, c, END_OVERSIZED, GRPC_STATUS_RESOURCE_EXHAUSTED, d);
        grpc_slice_unref(s);
        goto out;
    }
    ingest_result_t r =
        ingest_decode(&c->msg, GRPC_SLICE_START_PTR(s), len, c->identity[0] ? c->identity : NULL,
                      t->o.max_records, t->instance_id);
    grpc_slice_unref(s);
    if (r != INGEST_OK) {
        grpc_status_code code =
            r == INGEST_ID_MISMATCH ? GRPC_STATUS_PERMISSION_DENIED : GRPC_STATUS_INVALID_ARGUMENT;
        char d[256];
        snprintf(d, sizeof(d), "rejected: %s", ingest_result_name(r));
        if (r == INGEST_ID_MISMATCH)
            snprintf(d, sizeof(d), "rejected: agent_id_mismatch (this stream is agent %s)",
                     c->identity);
        end_stream(t, c, END_INGEST + r, code, d);
        goto out;
    }
    atomic_fetch_add(&c->messages_in, 1);
    if (!c->identity[0])
        snprintf(c->identity, sizeof(c->identity), "%s", c->msg.pd->agent_id);
    if (!c->in_table)
        bind_agent(t, c);
    else if (strcmp(c->hostname, c->msg.pd->hostname) != 0 ||
             strcmp(c->version, c->msg.pd->version) != 0)
        conn_set_metadata(c, c->msg.pd);
    if (produce_pending(t, c) && !atomic_load(&t->shutting_down))
        post_recv(c);
    else if (!c->paused) {
        c->read_done = true; /* shutting down: read no more */
        maybe_complete(t, c);
    }
out:
    if (bb)
        grpc_byte_buffer_destroy(bb);
    pthread_mutex_unlock(&c->mu);
}

/* --- sending commands --------------------------------------------------------------------- */

/* Starts sending the next queued command, if any. Caller holds c->mu, no send in flight. */
static void send_next(transfer_t *t, conn_t *c)
{
    if (c->finished || c->status_sent)
        return;
    grpc_byte_buffer *bb = conn_cmd_pop(c);
    if (!bb)
        return;
    atomic_fetch_sub(&t->cmd_depth, 1);
    grpc_op op = {.op = GRPC_OP_SEND_MESSAGE};
    op.data.send_message.send_message = bb;
    c->send_pending = true;
    c->send_bb = bb;
    start_batch(c, &op, 1, &c->op_send);
}

static void on_send(transfer_t *t, conn_t *c, int ok)
{
    pthread_mutex_lock(&c->mu);
    bool was_started = c->started;
    c->send_pending = false;
    if (c->send_bb) {
        grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
    }
    c->started = true;
    if (ok && was_started) {
        atomic_fetch_add(&c->commands_sent, 1);
        metrics_counter_inc(t->m_cmd_sent);
    } else if (!ok && was_started) {
        metrics_counter_inc(t->m_cmd_dropped);
    }
    send_next(t, c);
    maybe_complete(t, c);
    pthread_mutex_unlock(&c->mu);
}

int transfer_command(transfer_t *t, const char *agent_id, const void *cmd, size_t len, int wait_ms)
{
    conn_t *c = conn_table_get(t->o.table, agent_id);
    if (!c)
        return -ENOENT;
    grpc_slice s = grpc_slice_from_copied_buffer(cmd, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += wait_ms / 1000;
    deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    while (!c->finished && !c->status_sent && c->cmd_len == c->cmd_cap && rc == 0)
        rc = -pthread_cond_timedwait(&c->room, &c->mu, &deadline);
    if (c->finished || c->status_sent)
        rc = -ENOTCONN;
    else if (rc == 0 && conn_cmd_push(c, bb) < 0)
        rc = -ETIMEDOUT;
    if (rc == 0) {
        bb = NULL;
        atomic_fetch_add(&t->cmd_depth, 1);
        if (c->started && !c->send_pending)
            send_next(t, c);
    }
    pthread_mutex_unlock(&c->mu);
    if (bb)
        grpc_byte_buffer_destroy(bb);
    conn_unref(c);
    return rc;
}

int transfer_reset(transfer_t *t, const char *agent_id, const char *why)
{
    conn_t *c = conn_table_get(t->o.table, agent_id);
    if (!c)
        return -ENOENT;
    pthread_mutex_lock(&c->mu);
    end_stream(t, c, END_RESET, GRPC_STATUS_UNAVAILABLE, why);
    pthread_mutex_unlock(&c->mu);
    conn_unref(c);
    return 0;
}

/* --- accepting ---------------------------------------------------------------------------- */

static void request_call(worker_t *w)
{
    transfer_t *t = w->t;
    conn_t *c = conn_new(atomic_fetch_add(&t->serial, 1) + 1, t->o.command_queue);
    grpc_call_error e =
        grpc_server_request_registered_call(t->server, t->method, &c->call, &c->deadline,
                                            &c->request_md, NULL, w->cq, w->cq, &c->op_new);
    if (e != GRPC_CALL_OK) {
        LOG_ERROR("grpc_request_call_failed", "error=%d", (int)e);
        conn_unref(c);
    }
}

static void request_generic(transfer_t *t)
{
    generic_call_t *g = xcalloc(1, sizeof(*g));
    grpc_call_details_init(&g->details);
    grpc_metadata_array_init(&g->md);
    pthread_mutex_lock(&t->gmu);
    t->generic = g;
    pthread_mutex_unlock(&t->gmu);
    grpc_call_error e = grpc_server_request_call(t->server, &g->call, &g->details, &g->md,
                                                 t->workers[0].cq, t->workers[0].cq, g);
    if (e != GRPC_CALL_OK)
        LOG_ERROR("grpc_request_call_failed", "error=%d generic=true", (int)e);
}

static void generic_free(generic_call_t *g)
{
    if (g->call)
        grpc_call_unref(g->call);
    grpc_call_details_destroy(&g->details);
    grpc_metadata_array_destroy(&g->md);
    free(g);
}

static void on_generic(transfer_t *t, generic_call_t *g, int ok)
{
    if (ok) {
        char m[160];
        size_t n = GRPC_SLICE_LENGTH(g->details.method);
        snprintf(m, sizeof(m), "%.*s", (int)(n < 128 ? n : 128),
                 (const char *)GRPC_SLICE_START_PTR(g->details.method));
        metrics_counter_inc(t->m_unimplemented);
        LOG_WARN("unknown_method", "method=\"%s\"", m);
        grpc_call_cancel_with_status(g->call, GRPC_STATUS_UNIMPLEMENTED,
                                     "only /grpc.Transfer/Transfer is served here", NULL);
    }
    generic_free(g);
    if (ok && !atomic_load(&t->shutting_down))
        request_generic(t);
    else {
        pthread_mutex_lock(&t->gmu);
        t->generic = NULL;
        pthread_mutex_unlock(&t->gmu);
    }
}

/* The agent id (CN of its verified client certificate) and real address of a TLS call: gRPC
 * knows the gate's connection as "fd:N" (tls_gate.h). */
static int peer_identity(transfer_t *t, const char *grpc_peer, conn_t *c)
{
    int fd;
    char extra;
    if (!grpc_peer || sscanf(grpc_peer, "fd:%d%c", &fd, &extra) != 1 ||
        tls_gate_lookup(t->gate, fd, c->identity, sizeof(c->identity), c->peer, sizeof(c->peer)) <
            0 ||
        !ingest_id_valid(c->identity)) {
        c->identity[0] = '\0';
        return -EACCES;
    }
    return 0;
}

static void on_new(worker_t *w, conn_t *c, int ok)
{
    transfer_t *t = w->t;
    if (!ok || atomic_load(&t->shutting_down)) {
        if (ok && c->call)
            grpc_call_cancel_with_status(c->call, GRPC_STATUS_UNAVAILABLE, "shutting down", NULL);
        conn_unref(c);
        return;
    }
    request_call(w);
    metrics_counter_inc(t->m_opened);
    char *peer = grpc_call_get_peer(c->call);
    snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : "?");
    int no_identity = t->gate ? peer_identity(t, peer, c) : 0;
    gpr_free(peer);
    c->connected_ms = now_ms();
    long live = atomic_fetch_add(&t->live, 1) + 1;

    pthread_mutex_lock(&c->mu);
    /* The close op tells when the call is over, whatever happens; it holds the live count. */
    grpc_op close_op = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};
    close_op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    start_batch(c, &close_op, 1, &c->op_close);
    if ((size_t)live > t->o.max_connections) {
        end_stream(t, c, END_TOO_MANY, GRPC_STATUS_RESOURCE_EXHAUSTED,
                   "this AgentCenter is at its connection limit; try another");
    } else if (no_identity) {
        end_stream(t, c, END_NO_IDENTITY, GRPC_STATUS_UNAUTHENTICATED,
                   "client certificate has no usable CN (the agent id)");
    } else {
        grpc_op md = {.op = GRPC_OP_SEND_INITIAL_METADATA};
        md.data.send_initial_metadata.count = 0;
        c->send_pending = true;
        start_batch(c, &md, 1, &c->op_send);
        post_recv(c);
    }
    pthread_mutex_unlock(&c->mu);
    conn_unref(c); /* the OP_NEW reference */
}

static void on_close(transfer_t *t, conn_t *c)
{
    pthread_mutex_lock(&c->mu);
    c->finished = true;
    c->read_done = true;
    if (!c->status_sent)
        metrics_counter_inc(t->m_closed[END_LOST]);
    c->status_sent = true;
    long dropped_cmds = (long)c->cmd_len;
    grpc_byte_buffer *bb;
    while ((bb = conn_cmd_pop(c)))
        grpc_byte_buffer_destroy(bb);
    if (dropped_cmds) {
        atomic_fetch_sub(&t->cmd_depth, dropped_cmds);
        metrics_counter_add(t->m_cmd_dropped, (uint64_t)dropped_cmds);
    }
    bool in_table = c->in_table;
    c->in_table = false;
    pthread_cond_broadcast(&c->room);
    pthread_mutex_unlock(&c->mu);
    if (in_table)
        conn_table_remove(t->o.table, c);
    long live = atomic_fetch_sub(&t->live, 1) - 1;
    if (c->identity[0])
        LOG_INFO("agent_disconnected",
                 "agent_id=%s peer=%s stream=%llu cancelled=%d records=%llu messages=%llu "
                 "rejected=%llu commands=%llu live=%ld",
                 c->identity, c->peer, (unsigned long long)c->serial, c->close_cancelled,
                 (unsigned long long)atomic_load(&c->records_in),
                 (unsigned long long)atomic_load(&c->messages_in),
                 (unsigned long long)atomic_load(&c->records_rejected),
                 (unsigned long long)atomic_load(&c->commands_sent), live);
}

/* --- back-pressure ------------------------------------------------------------------------ */

void transfer_resume(transfer_t *t)
{
    pthread_mutex_lock(&t->pmu);
    conn_t *list = t->paused;
    t->paused = NULL;
    t->npaused = 0;
    pthread_mutex_unlock(&t->pmu);
    while (list) {
        conn_t *c = list;
        list = c->paused_next;
        c->paused_next = NULL;
        pthread_mutex_lock(&c->mu);
        c->paused = false;
        /* Records already read are produced even when the stream has ended meanwhile. */
        if (produce_pending(t, c)) {
            if (!c->read_done && !c->status_sent && !atomic_load(&t->shutting_down))
                post_recv(c);
            else {
                c->read_done = true;
                maybe_complete(t, c);
            }
        }
        pthread_mutex_unlock(&c->mu);
        conn_unref(c);
    }
}

static size_t paused_count(transfer_t *t)
{
    pthread_mutex_lock(&t->pmu);
    size_t n = t->npaused;
    pthread_mutex_unlock(&t->pmu);
    return n;
}

/* --- workers ------------------------------------------------------------------------------ */

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    transfer_t *t = w->t;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        if (ev.tag == &t->shutdown_tag) {
            atomic_store(&t->shutdown_done, true);
            continue;
        }
        pthread_mutex_lock(&t->gmu);
        bool generic = ev.tag == t->generic;
        pthread_mutex_unlock(&t->gmu);
        if (generic) {
            on_generic(t, ev.tag, ev.success);
            continue;
        }
        conn_op_t *op = ev.tag;
        conn_t *c = op->conn;
        switch (op->kind) {
        case OP_NEW:
            on_new(w, c, ev.success);
            continue; /* on_new drops its reference itself */
        case OP_RECV:
            on_recv(t, c, ev.success);
            break;
        case OP_SEND:
            on_send(t, c, ev.success);
            break;
        case OP_CLOSE:
            on_close(t, c);
            break;
        case OP_STATUS:
            break;
        }
        conn_unref(c);
    }
    return NULL;
}

/* --- metrics ------------------------------------------------------------------------------ */

static double g_live(void *ud)
{
    return (double)atomic_load(&((transfer_t *)ud)->live);
}

static double g_paused(void *ud)
{
    return (double)paused_count(ud);
}

static double g_cmd_depth(void *ud)
{
    return (double)atomic_load(&((transfer_t *)ud)->cmd_depth);
}

static void make_metrics(transfer_t *t, metrics_registry_t *m)
{
    t->m_opened =
        metrics_counter(m, "rampart_ac_streams_opened_total", "Agent streams accepted", NULL);
    for (int r = 0; r < END_NREASONS; r++) {
        if (r == END_INGEST + INGEST_OK)
            continue;
        char lbl[64];
        snprintf(lbl, sizeof(lbl), "reason=\"%s\"", end_name(r));
        t->m_closed[r] = metrics_counter(m, "rampart_ac_streams_closed_total",
                                         "Agent streams ended, by reason", lbl);
    }
    t->m_messages =
        metrics_counter(m, "rampart_ac_messages_total", "PackagedData messages received", NULL);
    t->m_msg_bytes = metrics_counter(m, "rampart_ac_received_bytes_total",
                                     "Bytes of PackagedData received", NULL);
    t->m_rejected_unknown =
        metrics_counter(m, "rampart_ac_records_rejected_total", "Records refused, by reason",
                        "reason=\"unknown_data_type\"");
    t->m_bad_heartbeat = metrics_counter(m, "rampart_ac_heartbeats_unparsed_total",
                                         "Heartbeat records whose payload could not be read "
                                         "(forwarded all the same)",
                                         NULL);
    t->m_dropped_produce = metrics_counter(m, "rampart_ac_records_dropped_total",
                                           "Records lost, by reason", "reason=\"produce_error\"");
    t->m_dropped_shutdown = metrics_counter(m, "rampart_ac_records_dropped_total",
                                            "Records lost, by reason", "reason=\"shutdown\"");
    t->m_cmd_sent = metrics_counter(m, "rampart_ac_commands_total", "Commands to agents, by result",
                                    "result=\"sent\"");
    t->m_cmd_dropped =
        metrics_counter(m, "rampart_ac_commands_total", "Commands to agents, by result",
                        "result=\"dropped_stream_closed\"");
    t->m_unimplemented = metrics_counter(m, "rampart_ac_unknown_method_total",
                                         "Calls to gRPC methods not served here", NULL);
    metrics_gauge_fn(m, "rampart_ac_connections", "Agent streams open now", NULL, g_live, t);
    metrics_gauge_fn(m, "rampart_ac_paused_streams",
                     "Streams not reading because Kafka's queue is full", NULL, g_paused, t);
    metrics_gauge_fn(m, "rampart_ac_command_queue", "Commands queued to agents, all streams", NULL,
                     g_cmd_depth, t);
}

/* --- setup -------------------------------------------------------------------------------- */

/* The gate's thread: a connection whose TLS handshake succeeded, as a plaintext descriptor. */
static void on_gate_conn(void *ud, int fd)
{
    transfer_t *t = ud;
    grpc_server_add_channel_from_fd(t->server, fd, t->fd_creds);
}

static void arg_int(grpc_arg *a, const char *key, int64_t v)
{
    a->type = GRPC_ARG_INTEGER;
    a->key = (char *)key;
    a->value.integer = v > INT_MAX ? INT_MAX : (int)v;
}

transfer_t *transfer_new(const transfer_opts_t *o, char *err, size_t errlen)
{
    transfer_t *t = xcalloc(1, sizeof(*t));
    t->o = *o;
    t->instance_id = xstrdup(o->instance_id);
    pthread_mutex_init(&t->pmu, NULL);
    pthread_mutex_init(&t->gmu, NULL);
    log_bridge_grpc();
    grpc_init();
    make_metrics(t, o->metrics);

    grpc_resource_quota *quota = grpc_resource_quota_create("agent-streams");
    grpc_resource_quota_resize(quota, (size_t)o->memory_quota);
    grpc_arg args[12];
    size_t n = 0;
    /* Up to twice the limit reaches us, so an oversized message is answered and counted
     * here; beyond that gRPC itself refuses it (RESOURCE_EXHAUSTED, counted as lost). */
    arg_int(&args[n++], GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int64_t)o->max_message * 2);
    arg_int(&args[n++], GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, 4 << 20);
    arg_int(&args[n++], GRPC_ARG_KEEPALIVE_TIME_MS, o->keepalive_time_ms);
    arg_int(&args[n++], GRPC_ARG_KEEPALIVE_TIMEOUT_MS, o->keepalive_timeout_ms);
    arg_int(&args[n++], GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    arg_int(&args[n++], GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
    arg_int(&args[n++], GRPC_ARG_MAX_CONCURRENT_STREAMS, 4);
    arg_int(&args[n++], GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10000);
    arg_int(&args[n++], GRPC_ARG_MAX_METADATA_SIZE, 16 * 1024);
    arg_int(&args[n++], GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args[n].type = GRPC_ARG_POINTER;
    args[n].key = (char *)GRPC_ARG_RESOURCE_QUOTA;
    args[n].value.pointer.p = quota;
    args[n].value.pointer.vtable = grpc_resource_quota_arg_vtable();
    n++;
    grpc_channel_args cargs = {.num_args = n, .args = args};
    t->server = grpc_server_create(&cargs, NULL);
    grpc_resource_quota_unref(quota);

    t->nworkers = o->threads;
    t->workers = xcalloc((size_t)t->nworkers, sizeof(*t->workers));
    for (int i = 0; i < t->nworkers; i++) {
        t->workers[i].t = t;
        t->workers[i].index = i;
        t->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(t->server, t->workers[i].cq, NULL);
    }
    t->method = grpc_server_register_method(t->server, RAMPART_GRPC_TRANSFER_METHOD, NULL,
                                            GRPC_SRM_PAYLOAD_NONE, 0);
    int port = 0;
    if (o->plaintext) {
        grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
        port = grpc_server_add_http2_port(t->server, o->listen, creds);
        grpc_server_credentials_release(creds);
        if (port <= 0)
            snprintf(err, errlen, "cannot listen on %s", o->listen);
    } else {
        /* TLS ends in the gate; gRPC gets each connection as plaintext from a descriptor. */
        tls_gate_opts_t go = {.listen = o->listen,
                              .ca_pem = o->ca_pem,
                              .cert_pem = o->cert_pem,
                              .key_pem = o->key_pem,
                              .max_connections = o->max_connections,
                              .handshake_timeout_ms = o->handshake_timeout_ms,
                              .handoff = on_gate_conn,
                              .ud = t,
                              .metrics = o->metrics};
        if ((t->gate = tls_gate_new(&go, err, errlen)))
            port = tls_gate_port(t->gate);
        t->fd_creds = grpc_insecure_server_credentials_create();
    }
    if (port <= 0) {
        /* Never started: the server must still be shut down before it is destroyed. */
        grpc_server_shutdown_and_notify(t->server, t->workers[0].cq, &t->shutdown_tag);
        while (
            grpc_completion_queue_next(t->workers[0].cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
                .tag != &t->shutdown_tag)
            ;
        grpc_server_destroy(t->server);
        for (int i = 0; i < t->nworkers; i++) {
            grpc_completion_queue_shutdown(t->workers[i].cq);
            while (grpc_completion_queue_next(t->workers[i].cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                              NULL)
                       .type != GRPC_QUEUE_SHUTDOWN)
                ;
            grpc_completion_queue_destroy(t->workers[i].cq);
        }
        t->server = NULL;
        t->nworkers = 0;
        transfer_free(t);
        return NULL;
    }
    t->port = (uint16_t)port;
    grpc_server_start(t->server);
    for (int i = 0; i < t->nworkers; i++) {
        for (int k = 0; k < ACCEPT_DEPTH; k++)
            request_call(&t->workers[i]);
        pthread_create(&t->workers[i].thread, NULL, worker_main, &t->workers[i]);
    }
    request_generic(t);
    if (t->gate && tls_gate_start(t->gate) < 0) {
        snprintf(err, errlen, "cannot start the TLS gate thread");
        transfer_free(t);
        return NULL;
    }
    return t;
}

uint16_t transfer_port(const transfer_t *t)
{
    return t->port;
}

size_t transfer_live(transfer_t *t)
{
    long v = atomic_load(&t->live);
    return v > 0 ? (size_t)v : 0;
}

uint64_t transfer_records_in(transfer_t *t)
{
    return atomic_load(&t->records_in);
}

static void end_all(transfer_t *t)
{
    size_t n;
    conn_t **v = conn_table_snapshot(t->o.table, &n);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&v[i]->mu);
        /* Stop reading; a stream with records waiting for Kafka ends once they are queued. */
        v[i]->read_done = true;
        if (!v[i]->paused)
            end_stream(t, v[i], END_SHUTDOWN, GRPC_STATUS_UNAVAILABLE,
                       "agent-center shutting down; reconnect to another instance");
        pthread_mutex_unlock(&v[i]->mu);
        conn_unref(v[i]);
    }
    free(v);
}

size_t transfer_shutdown(transfer_t *t, int64_t drain_ms)
{
    if (t->shut || !t->server)
        return 0;
    t->shut = true;
    /* New agents go elsewhere at once; connections already up carry their streams' ends. */
    if (t->gate)
        tls_gate_stop_accepting(t->gate);
    atomic_store(&t->shutting_down, true);
    grpc_server_shutdown_and_notify(t->server, t->workers[0].cq, &t->shutdown_tag);
    int64_t deadline = now_ms() + drain_ms;
    /* Paused streams hold records already read: give Kafka the drain time to take them. */
    while (paused_count(t) > 0 && now_ms() < deadline) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    end_all(t);
    size_t lost = 0;
    pthread_mutex_lock(&t->pmu);
    for (conn_t *c = t->paused; c; c = c->paused_next) {
        if (c->msg.pd)
            lost += c->msg.pd->n_records - c->msg.next;
    }
    pthread_mutex_unlock(&t->pmu);
    if (lost) {
        metrics_counter_add(t->m_dropped_shutdown, lost);
        LOG_ERROR("records_dropped", "reason=shutdown count=%zu (Kafka did not drain in %lld ms)",
                  lost, (long long)drain_ms);
    }
    grpc_server_cancel_all_calls(t->server);
    /* Wait (bounded) for every call to be over before the queues go. */
    for (int i = 0; i < 100 && atomic_load(&t->live) > 0; i++) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return lost;
}

void transfer_free(transfer_t *t)
{
    if (!t)
        return;
    if (t->server) {
        transfer_shutdown(t, 0);
        /* Every call must be over and the shutdown notification in before the server goes. */
        grpc_server_cancel_all_calls(t->server);
        while (!atomic_load(&t->shutdown_done)) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    /* Streams still paused hold a reference each (the producer is gone by now). */
    pthread_mutex_lock(&t->pmu);
    while (t->paused) {
        conn_t *c = t->paused;
        t->paused = c->paused_next;
        conn_unref(c);
    }
    pthread_mutex_unlock(&t->pmu);
    if (t->server)
        grpc_server_destroy(t->server);
    for (int i = 0; i < t->nworkers; i++)
        grpc_completion_queue_shutdown(t->workers[i].cq);
    for (int i = 0; i < t->nworkers; i++) {
        pthread_join(t->workers[i].thread, NULL);
        grpc_completion_queue_destroy(t->workers[i].cq);
    }
    /* gRPC has closed its ends by now; what it wrote last still goes out through the gate. */
    tls_gate_free(t->gate, 2000);
    if (t->fd_creds)
        grpc_server_credentials_release(t->fd_creds);
    pthread_mutex_lock(&t->gmu);
    if (t->generic)
        generic_free(t->generic);
    pthread_mutex_unlock(&t->gmu);
    free(t->workers);
    pthread_mutex_destroy(&t->pmu);
    pthread_mutex_destroy(&t->gmu);
    free(t->instance_id);
    free(t);
    grpc_shutdown();
}
