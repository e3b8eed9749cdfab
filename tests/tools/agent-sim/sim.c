/* sim: simulated agents on the gRPC core C API (see sim.h and main.c).
 *
 * Each agent owns one channel (own subchannel pool, so its own TCP connection) and at most
 * one Transfer call. On the call it keeps: one RECV_STATUS_ON_CLIENT batch, one
 * RECV_MESSAGE batch re-armed after every Command, the initial-metadata batch, and at most
 * one SEND_MESSAGE (or the final SEND_CLOSE_FROM_CLIENT) at a time. When the status has
 * arrived and every batch has completed, the call and channel are dropped and, unless the
 * sim is stopping, a new one is made after a backoff.
 *
 * Counting: records get per-agent sequence numbers when a batch is built; when its
 * SEND_MESSAGE completes successfully they count as sent, otherwise the sequence counter
 * goes back to the batch's first number, so the numbers sent are exactly 0..sent-1 (a
 * batch that failed may still have reached the server: at-least-once). */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "common/log.h"
#include "common/pki.h"
#include "common/sd_client.h"
#include "common/xalloc.h"
#include "proto/transfer_paths.h"
#include "rampart.pb-c.h"
#include "sim_payload.h"

#define CMD_KEEP             16 /* last command tokens kept per agent for the summary */
#define STREAMS_KEEP         8  /* last streams with records kept per agent for the summary */
#define RESULTS_MAX          256
#define BATCH_RECORDS_MAX    10000
#define BATCH_BYTES_MAX      (3u << 20)
#define SD_INSTANCES_MAX     64
#define STATUS_SLOTS         18 /* gRPC codes 0..16, then "other" */
#define ABUSE_DATA_TYPE      777777
#define SIM_VERSION          "1.0.0-sim"
#define UP_RESETS_BACKOFF_MS 5000

/* Completion tags: agent pointer | op (agents are at least 8-byte aligned). */
enum { T_START = 1, T_STATUS, T_RECV, T_SEND, T_CLOSE, T_MASK = 7 };
enum { SEND_NONE = 0, SEND_NORMAL, SEND_ABUSE };

typedef struct sim sim_t;
typedef struct sim_thread sim_thread_t;

typedef struct {
    char *token, *msg;
} result_t;

typedef struct agent {
    sim_thread_t *th;
    uint32_t idx;
    char id[64];
    char *cert_pem, *key_pem; /* minted for this agent (--ca-key) */
    grpc_channel *ch;
    grpc_call *call;
    int pending; /* batches started on call and not completed */
    bool status_done, up, send_busy, close_sent, close_wanted, finished;
    bool tick_pending, hb_due, first_batch_done, abuse_done, abuse_next, started_once;
    bool connecting; /* call started, neither up nor over yet */
    uint8_t send_kind;
    uint32_t backoff_attempt;
    uint64_t next_seq, inflight_seq0;
    uint64_t stream_seq0; /* next_seq when the current stream started */
    struct {
        uint64_t from, to; /* sequence numbers [from, to) counted as sent on that stream */
        int code;
    } streams[STREAMS_KEEP]; /* the last streams that carried records */
    uint32_t nstreams;
    uint32_t inflight_hb, inflight_results;
    int64_t rate_t0, up_since;
    uint64_t rate_gen;
    int64_t next_tick, next_hb, reconnect_at, timer_at;
    grpc_byte_buffer *send_bb, *recv_bb;
    grpc_metadata_array md_initial, md_trailing;
    grpc_status_code status;
    grpc_slice details;
    result_t *results; /* queued task results (RESULTS_MAX), allocated at the first */
    uint16_t nresults;
    /* stats */
    uint64_t sent, hb_sent, phb_sent, results_sent, commands, config_syncs, reconnects, abuse_sent;
    char **tokens; /* ring of CMD_KEEP, allocated at the first command */
    uint32_t ntokens;
    int last_status;
    char addr[96], failed_addr[96];
} agent_t;

typedef struct {
    int64_t at;
    uint32_t ai; /* index into sim_thread.agents */
} tentry_t;

struct sim_thread {
    sim_t *sim;
    const sim_opts_t *o;
    pthread_t tid;
    grpc_completion_queue *cq;
    agent_t **agents;
    size_t n, nfinished;
    long connecting, max_connecting; /* streams being set up by this thread, and the cap */
    tentry_t *heap;
    size_t nheap, capheap;
    uint64_t rng;
    bool stopping, cancelled;
    int64_t drain_deadline;
    /* batch building scratch */
    Grpc__EncodedRecord *recs;
    Grpc__EncodedRecord **precs;
    size_t *offs;
    size_t caprecs;
    strbuf_t data;
    /* stats */
    uint64_t status_counts[STATUS_SLOTS];
    char *status_details[STATUS_SLOTS];
    uint64_t connected_at_stop, rate_clipped, results_dropped, bad_commands;
    int rc;
    int64_t mint_ms;
};

struct sim {
    const sim_opts_t *o;
    atomic_bool *stop;
    atomic_long up;
    atomic_bool all_once;
    long n;
    int64_t t0;
    sd_client_t *sd;
    grpc_channel_credentials *shared_creds; /* plaintext or --cert/--key */
    char *ca_pem, *ca_key_pem;
    size_t batch_records_max;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rnd(sim_thread_t *th)
{
    uint64_t x = th->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return th->rng = x;
}

/* ---- timers: a binary min-heap per thread, one live entry per agent ------------------- */

static bool tless(const tentry_t *a, const tentry_t *b)
{
    return a->at < b->at;
}

static void heap_push(sim_thread_t *th, tentry_t e)
{
    if (th->nheap == th->capheap) {
        th->capheap = th->capheap ? th->capheap * 2 : 1024;
        th->heap = xrealloc(th->heap, th->capheap * sizeof(*th->heap));
    }
    size_t i = th->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!tless(&e, &th->heap[p]))
            break;
        th->heap[i] = th->heap[p];
        i = p;
    }
    th->heap[i] = e;
}

static tentry_t heap_pop(sim_thread_t *th)
{
    tentry_t top = th->heap[0], last = th->heap[--th->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= th->nheap)
            break;
        if (c + 1 < th->nheap && tless(&th->heap[c + 1], &th->heap[c]))
            c++;
        if (!tless(&th->heap[c], &last))
            break;
        th->heap[i] = th->heap[c];
        i = c;
    }
    if (th->nheap)
        th->heap[i] = last;
    return top;
}

/* Makes sure the agent wakes at or before at (an earlier pending wake-up stays). */
static void schedule(agent_t *a, int64_t at)
{
    if (a->timer_at && a->timer_at <= at)
        return;
    a->timer_at = at;
    heap_push(a->th, (tentry_t){.at = at, .ai = a->idx / (uint32_t)a->th->o->threads});
}

/* ---- helpers ---------------------------------------------------------------------------- */

static void status_note(sim_thread_t *th, int code, const char *details)
{
    int slot = code >= 0 && code < STATUS_SLOTS - 1 ? code : STATUS_SLOTS - 1;
    th->status_counts[slot]++;
    free(th->status_details[slot]);
    th->status_details[slot] = xstrdup(details);
}

static void connect_done(agent_t *a)
{
    if (a->connecting) {
        a->connecting = false;
        a->th->connecting--;
    }
}

static void mark_up(agent_t *a, int64_t now)
{
    connect_done(a);
    if (a->up)
        return;
    sim_t *s = a->th->sim;
    a->up = true;
    a->up_since = now;
    a->rate_t0 = now;
    a->rate_gen = 0;
    a->next_tick =
        now + (a->th->o->batch_ms > 0 ? (int64_t)(rnd(a->th) % (uint64_t)a->th->o->batch_ms) : 0);
    LOG_DEBUG("connected", "agent_id=%s addr=%s", a->id, a->addr);
    long v = atomic_fetch_add(&s->up, 1) + 1;
    if (v == s->n) {
        if (!atomic_exchange(&s->all_once, true))
            LOG_INFO("all_connected", "n=%ld elapsed_ms=%" PRId64, s->n, now - s->t0);
        else
            LOG_INFO("all_reconnected", "n=%ld", s->n);
    }
}

static void mark_down(agent_t *a)
{
    if (!a->up)
        return;
    a->up = false;
    atomic_fetch_sub(&a->th->sim->up, 1);
}

static void start_batch(agent_t *a, const grpc_op *ops, size_t n, int op)
{
    grpc_call_error e =
        grpc_call_start_batch(a->call, ops, n, (void *)((uintptr_t)a | (uintptr_t)op), NULL);
    if (e != GRPC_CALL_OK)
        PANIC("grpc_call_start_batch op=%d: error %d", op, (int)e);
    a->pending++;
}

/* Host:port to a gRPC target: IP literals skip the DNS resolver. */
static void grpc_target(const char *addr, char *out, size_t len)
{
    char host[80];
    const char *colon = strrchr(addr, ':');
    size_t hl = colon ? (size_t)(colon - addr) : strlen(addr);
    snprintf(host, sizeof(host), "%.*s", (int)(hl < sizeof(host) ? hl : sizeof(host) - 1), addr);
    unsigned char tmp[16];
    if (inet_pton(AF_INET, host, tmp) == 1)
        snprintf(out, len, "ipv4:%s", addr);
    else if (host[0] == '[')
        snprintf(out, len, "ipv6:%s", addr);
    else
        snprintf(out, len, "dns:///%s", addr);
}

static const char *declared_id(const agent_t *a)
{
    return a->th->o->declare_id ? a->th->o->declare_id : a->id;
}

/* The address to connect to: SD instances by lowest weight (the lowest-weight ones
 * rotated by agent index, so equal instances share the agents), skipping the one that
 * failed last when there is another; --target when SD has none. */
static int pick_addr(agent_t *a, char *out, size_t len)
{
    sim_t *s = a->th->sim;
    if (s->sd) {
        sd_instance_t inst[SD_INSTANCES_MAX];
        size_t n = 0;
        if (sd_client_lookup(s->sd, "agent-center", 0, SD_PICK_LEAST, inst, SD_INSTANCES_MAX, &n) ==
                0 &&
            n > 0) {
            for (size_t i = 1; i < n; i++) { /* stable insertion sort by weight */
                sd_instance_t x = inst[i];
                size_t j = i;
                for (; j > 0 && inst[j - 1].weight > x.weight; j--)
                    inst[j] = inst[j - 1];
                inst[j] = x;
            }
            size_t g = 1;
            while (g < n && inst[g].weight == inst[0].weight)
                g++;
            char cand[96];
            bool found = false;
            for (size_t k = 0; k < n && !found; k++) {
                size_t i = k < g ? (k + a->idx) % g : k;
                const char *fmt = strchr(inst[i].ip, ':') ? "[%s]:%u" : "%s:%u";
                snprintf(cand, sizeof(cand), fmt, inst[i].ip, (unsigned)inst[i].port);
                if (k == 0)
                    snprintf(out, len, "%s", cand);
                if (strcmp(cand, a->failed_addr) != 0) {
                    snprintf(out, len, "%s", cand);
                    found = true;
                }
            }
            return 0;
        }
    }
    if (!a->th->o->target)
        return -EAGAIN;
    snprintf(out, len, "%s", a->th->o->target);
    return 0;
}

static grpc_channel_credentials *agent_creds(agent_t *a)
{
    sim_t *s = a->th->sim;
    if (s->shared_creds)
        return s->shared_creds;
    grpc_ssl_pem_key_cert_pair pair = {.private_key = a->key_pem, .cert_chain = a->cert_pem};
    return grpc_ssl_credentials_create(s->ca_pem, &pair, NULL, NULL);
}

static void backoff(agent_t *a, int64_t now)
{
    const sim_opts_t *o = a->th->o;
    int64_t base = o->backoff_min_ms;
    for (uint32_t i = 0; i < a->backoff_attempt && base < o->backoff_max_ms; i++)
        base *= 2;
    if (base > o->backoff_max_ms)
        base = o->backoff_max_ms;
    if (a->backoff_attempt < 64)
        a->backoff_attempt++;
    /* Jitter: a delay in [base/2, base]. */
    int64_t d = base / 2 + (int64_t)(rnd(a->th) % (uint64_t)(base / 2 + 1));
    a->reconnect_at = now + d;
}

static void try_send(agent_t *a, int64_t now);

/* Schedules the agent's next wake-up: reconnect time, or the next batch tick / heartbeat. */
static void plan(agent_t *a)
{
    sim_thread_t *th = a->th;
    const sim_opts_t *o = th->o;
    if (a->finished || th->stopping)
        return;
    if (!a->call) {
        if (a->reconnect_at)
            schedule(a, a->reconnect_at);
        return;
    }
    int64_t t = INT64_MAX;
    if (a->up && o->rate > 0)
        t = a->next_tick;
    if (o->heartbeat_ms > 0 && a->next_hb < t)
        t = a->next_hb;
    if (t != INT64_MAX)
        schedule(a, t);
}

static void agent_connect(agent_t *a, int64_t now)
{
    const sim_opts_t *o = a->th->o;
    char addr[96], target[128];
    if (pick_addr(a, addr, sizeof(addr)) < 0) {
        LOG_DEBUG("no_address", "agent_id=%s", a->id);
        backoff(a, now);
        return;
    }
    snprintf(a->addr, sizeof(a->addr), "%s", addr);
    grpc_target(addr, target, sizeof(target));
    grpc_arg args[8];
    size_t nargs = 0;
    /* Small read buffers: an agent reads only commands (mostly idle connections). */
    args[nargs++] = (grpc_arg){
        .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_TCP_READ_CHUNK_SIZE, .value.integer = 4096};

    args[nargs++] = (grpc_arg){
        .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, .value.integer = 1};
    args[nargs++] =
        (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_RETRIES, .value.integer = 0};
    args[nargs++] =
        (grpc_arg){.type = GRPC_ARG_INTEGER, .key = GRPC_ARG_ENABLE_CHANNELZ, .value.integer = 0};
    if (o->server_name)
        args[nargs++] = (grpc_arg){.type = GRPC_ARG_STRING,
                                   .key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
                                   .value.string = (char *)o->server_name};
    grpc_channel_args ca = {.num_args = nargs, .args = args};
    grpc_channel_credentials *creds = agent_creds(a);
    a->ch = grpc_channel_create(target, creds, &ca);
    if (creds != a->th->sim->shared_creds)
        grpc_channel_credentials_release(creds);
    a->call = grpc_channel_create_call(a->ch, NULL, GRPC_PROPAGATE_DEFAULTS, a->th->cq,
                                       grpc_slice_from_static_string(RAMPART_GRPC_TRANSFER_METHOD),
                                       NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (!a->call)
        PANIC("grpc_channel_create_call failed for %s", target);
    if (a->started_once)
        a->reconnects++;
    a->started_once = true;
    a->connecting = true;
    a->th->connecting++;
    a->stream_seq0 = a->next_seq;
    a->status_done = a->up = a->send_busy = a->close_sent = a->close_wanted = false;
    a->tick_pending = false;
    a->hb_due = true; /* the first heartbeat goes at stream start */
    a->send_kind = SEND_NONE;
    a->details = grpc_empty_slice();
    grpc_metadata_array_init(&a->md_initial);
    grpc_metadata_array_init(&a->md_trailing);

    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[1].data.recv_initial_metadata.recv_initial_metadata = &a->md_initial;
    start_batch(a, ops, 2, T_START);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &a->md_trailing;
    ops[0].data.recv_status_on_client.status = &a->status;
    ops[0].data.recv_status_on_client.status_details = &a->details;
    start_batch(a, ops, 1, T_STATUS);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_MESSAGE;
    ops[0].data.recv_message.recv_message = &a->recv_bb;
    start_batch(a, ops, 1, T_RECV);
    a->next_hb = now + o->heartbeat_ms;
    try_send(a, now);
}

/* ---- building PackagedData ---------------------------------------------------------------- */

static void scratch_reserve(sim_thread_t *th, size_t n)
{
    if (n <= th->caprecs)
        return;
    th->caprecs = n;
    th->recs = xrealloc(th->recs, n * sizeof(*th->recs));
    th->precs = xrealloc(th->precs, n * sizeof(*th->precs));
    th->offs = xrealloc(th->offs, (n + 1) * sizeof(*th->offs));
}

/* Starts record i of the batch being built: its payload bytes follow in th->data. */
static void rec_begin(sim_thread_t *th, size_t i, int data_type, int64_t ts)
{
    grpc__encoded_record__init(&th->recs[i]);
    th->recs[i].data_type = data_type;
    th->recs[i].timestamp = ts;
    th->offs[i] = th->data.len;
}

static void add_heartbeat(agent_t *a, size_t i, int64_t ts, int64_t now)
{
    sim_thread_t *th = a->th;
    char v[64];
    rec_begin(th, i, RAMPART_DT_AGENT_HEARTBEAT, ts);
    sim_payload_kv(&th->data, "agent_id", declared_id(a));
    sim_payload_kv(&th->data, "cpu", "0.0125");
    sim_payload_kv(&th->data, "rss", "24117248");
    sim_payload_kv(&th->data, "version", SIM_VERSION);
    sim_payload_kv(&th->data, "plugins", th->o->plugin_heartbeat ? "1" : "0");
    snprintf(v, sizeof(v), "%" PRIu64, a->sent);
    sim_payload_kv(&th->data, "records_sent", v);
    snprintf(v, sizeof(v), "%" PRId64, (now - th->sim->t0) / 1000);
    sim_payload_kv(&th->data, "uptime", v);
}

static void add_plugin_heartbeat(agent_t *a, size_t i, int64_t ts)
{
    sim_thread_t *th = a->th;
    char v[32];
    rec_begin(th, i, RAMPART_DT_PLUGIN_HEARTBEAT, ts);
    sim_payload_kv(&th->data, "name", "sim-plugin");
    sim_payload_kv(&th->data, "version", "1.0.0");
    sim_payload_kv(&th->data, "cpu", "0.001");
    sim_payload_kv(&th->data, "rss", "8388608");
    snprintf(v, sizeof(v), "%u", 10000 + a->idx);
    sim_payload_kv(&th->data, "pid", v);
}

/* Packs PackagedData{records[0..n), agent_id} into a byte buffer. */
static grpc_byte_buffer *pack(agent_t *a, size_t n, const char *agent_id)
{
    sim_thread_t *th = a->th;
    th->offs[n] = th->data.len;
    for (size_t i = 0; i < n; i++) { /* th->data may have moved while growing */
        th->recs[i].data.data = (uint8_t *)th->data.data + th->offs[i];
        th->recs[i].data.len = th->offs[i + 1] - th->offs[i];
        th->precs[i] = &th->recs[i];
    }
    char ip[32], *ips[1] = {ip};
    uint32_t g = (uint32_t)(th->o->first_index + a->idx);
    snprintf(ip, sizeof(ip), "10.%u.%u.%u", 200 + (g >> 16) % 50, (g >> 8) & 255, g & 255);
    Grpc__PackagedData pd = GRPC__PACKAGED_DATA__INIT;
    pd.n_records = n;
    pd.records = th->precs;
    pd.agent_id = (char *)agent_id;
    pd.n_intranet_ipv4 = 1;
    pd.intranet_ipv4 = ips;
    pd.hostname = a->id;
    pd.version = SIM_VERSION;
    pd.product = "rampart-agent-sim";
    size_t len = grpc__packaged_data__get_packed_size(&pd);
    grpc_slice sl = grpc_slice_malloc(len);
    grpc__packaged_data__pack(&pd, GRPC_SLICE_START_PTR(sl));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    return bb;
}

static grpc_byte_buffer *build_abuse(agent_t *a, int64_t ts)
{
    sim_thread_t *th = a->th;
    const sim_opts_t *o = th->o;
    th->data.len = 0;
    switch (o->abuse) {
    case SIM_ABUSE_MALFORMED: {
        /* agent_id, then a records field that announces 100 bytes and carries 5. */
        strbuf_t m = STRBUF_INIT;
        uint8_t hdr[2] = {2 << 3 | 2, (uint8_t)strlen(declared_id(a))};
        strbuf_append(&m, hdr, 2);
        strbuf_appends(&m, declared_id(a));
        const uint8_t bad[] = {1 << 3 | 2, 100, 0x08, 0x3b, 0x10, 0x01, 0x1a};
        strbuf_append(&m, bad, sizeof(bad));
        grpc_slice sl = grpc_slice_from_copied_buffer(m.data, m.len);
        grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
        grpc_slice_unref(sl);
        strbuf_dispose(&m);
        return bb;
    }
    case SIM_ABUSE_OVERSIZED: {
        rec_begin(th, 0, (int)o->data_type, ts);
        sim_payload_kv(&th->data, "abuse", "oversized");
        char *pad = xmalloc((size_t)o->abuse_size + 1);
        memset(pad, 'x', (size_t)o->abuse_size);
        pad[o->abuse_size] = '\0';
        sim_payload_kv(&th->data, "pad", pad);
        free(pad);
        return pack(a, 1, declared_id(a));
    }
    case SIM_ABUSE_UNKNOWN_TYPE:
        rec_begin(th, 0, ABUSE_DATA_TYPE, ts);
        sim_payload_kv(&th->data, "abuse", "unknown-type");
        return pack(a, 1, declared_id(a));
    case SIM_ABUSE_EMPTY_ID:
    default:
        rec_begin(th, 0, (int)o->data_type, ts);
        sim_payload_kv(&th->data, "abuse", "empty-id");
        return pack(a, 1, "");
    }
}

/* Records due by the rate since the stream came up, bounded per batch and by --max-records. */
static size_t records_due(agent_t *a, int64_t now)
{
    const sim_opts_t *o = a->th->o;
    if (!a->up || a->th->stopping || o->rate <= 0)
        return 0;
    uint64_t total = (uint64_t)((double)(now - a->rate_t0) * o->rate / 1000.0);
    uint64_t due = total > a->rate_gen ? total - a->rate_gen : 0;
    uint64_t cap = a->th->sim->batch_records_max;
    if (due > cap) { /* cannot keep up: skip the excess instead of buffering it */
        a->th->rate_clipped += due - cap;
        a->rate_gen += due - cap;
        due = cap;
    }
    if (o->max_records > 0) {
        uint64_t left =
            a->next_seq < (uint64_t)o->max_records ? (uint64_t)o->max_records - a->next_seq : 0;
        if (due > left)
            due = left;
    }
    a->rate_gen += due;
    return (size_t)due;
}

static void send_close(agent_t *a)
{
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    a->close_sent = true;
    start_batch(a, &op, 1, T_CLOSE);
}

/* Sends what is due (abuse message, heartbeats, task results, records) if no send is in
 * flight; half-closes when stopping and nothing is left. */
static void try_send(agent_t *a, int64_t now)
{
    sim_thread_t *th = a->th;
    const sim_opts_t *o = th->o;
    if (!a->call || a->status_done || a->send_busy || a->close_sent)
        return;
    int64_t ts = (int64_t)time(NULL);
    grpc_byte_buffer *bb = NULL;
    if (a->abuse_next && !th->stopping) {
        bb = build_abuse(a, ts);
        a->send_kind = SEND_ABUSE;
    } else {
        bool hb = a->hb_due && !th->stopping;
        size_t ndata = 0;
        if (a->tick_pending) {
            a->tick_pending = false;
            ndata = records_due(a, now);
        }
        size_t n = (hb ? 1 + (o->plugin_heartbeat ? 1 : 0) : 0) + a->nresults + ndata;
        if (n == 0) {
            if (a->close_wanted)
                send_close(a);
            return;
        }
        scratch_reserve(th, n);
        th->data.len = 0;
        size_t i = 0;
        if (hb) {
            add_heartbeat(a, i++, ts, now);
            if (o->plugin_heartbeat)
                add_plugin_heartbeat(a, i++, ts);
        }
        for (uint16_t r = 0; r < a->nresults; r++) {
            rec_begin(th, i++, RAMPART_DT_TASK_RESULT, ts);
            sim_payload_kv(&th->data, "token", a->results[r].token);
            sim_payload_kv(&th->data, "status", "succeed");
            sim_payload_kv(&th->data, "msg", a->results[r].msg);
            free(a->results[r].token);
            free(a->results[r].msg);
        }
        a->inflight_results = a->nresults;
        a->nresults = 0;
        a->inflight_seq0 = a->next_seq;
        for (size_t k = 0; k < ndata; k++) {
            rec_begin(th, i++, (int)o->data_type, ts);
            sim_payload_build(a->id, a->next_seq++, (int)o->data_type, (size_t)o->record_size,
                              &th->data);
        }
        a->inflight_hb = hb;
        a->hb_due = false;
        bb = pack(a, n, declared_id(a));
        a->send_kind = SEND_NORMAL;
    }
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = bb;
    a->send_bb = bb;
    a->send_busy = true;
    start_batch(a, &op, 1, T_SEND);
}

/* ---- completions -------------------------------------------------------------------------- */

static void on_send(agent_t *a, bool ok, int64_t now)
{
    const sim_opts_t *o = a->th->o;
    grpc_byte_buffer_destroy(a->send_bb);
    a->send_bb = NULL;
    a->send_busy = false;
    if (a->send_kind == SEND_NORMAL) {
        if (ok) {
            a->sent += a->next_seq - a->inflight_seq0;
            a->hb_sent += a->inflight_hb;
            a->phb_sent += a->inflight_hb && o->plugin_heartbeat;
            a->results_sent += a->inflight_results;
            if (!a->first_batch_done) {
                a->first_batch_done = true;
                a->abuse_next = o->abuse != SIM_ABUSE_NONE && !a->abuse_done;
            }
        } else {
            a->next_seq = a->inflight_seq0; /* not sent: these numbers go again */
        }
    } else if (a->send_kind == SEND_ABUSE) {
        a->abuse_done = true;
        a->abuse_next = false;
        a->abuse_sent += ok;
    }
    a->send_kind = SEND_NONE;
    if (ok)
        try_send(a, now);
}

static void on_command(agent_t *a, int64_t now)
{
    sim_thread_t *th = a->th;
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, a->recv_bb)) {
        th->bad_commands++;
        return;
    }
    grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    Grpc__Command *c = grpc__command__unpack(NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
    grpc_slice_unref(sl);
    if (!c) {
        th->bad_commands++;
        LOG_WARN("bad_command", "agent_id=%s", a->id);
        return;
    }
    if (c->task) {
        const Grpc__Task *t = c->task;
        char qo[160], qt[160];
        a->commands++;
        LOG_INFO("command", "agent_id=%s data_type=%d object_name=%s token=%s", a->id,
                 (int)t->data_type, log_quote(qo, sizeof(qo), t->object_name),
                 log_quote(qt, sizeof(qt), t->token));
        if (!a->tokens)
            a->tokens = xcalloc(CMD_KEEP, sizeof(*a->tokens));
        char **slot = &a->tokens[a->ntokens++ % CMD_KEEP];
        free(*slot);
        *slot = xstrndup(t->token, 128);
        if (a->nresults < RESULTS_MAX) {
            if (!a->results)
                a->results = xcalloc(RESULTS_MAX, sizeof(*a->results));
            a->results[a->nresults].token = xstrdup(t->token);
            a->results[a->nresults].msg =
                xasprintf("sim %.128s %d", t->object_name, (int)t->data_type);
            a->nresults++;
            try_send(a, now);
        } else {
            th->results_dropped++;
        }
    } else {
        a->config_syncs++;
        LOG_INFO("config_sync", "agent_id=%s count=%zu", a->id, c->n_configs);
    }
    grpc__command__free_unpacked(c, NULL);
}

static void on_recv(agent_t *a, bool ok, int64_t now)
{
    if (!ok || !a->recv_bb)
        return; /* the server's side is over */
    on_command(a, now);
    grpc_byte_buffer_destroy(a->recv_bb);
    a->recv_bb = NULL;
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &a->recv_bb;
    start_batch(a, &op, 1, T_RECV);
}

static void on_status(agent_t *a)
{
    char *d = grpc_slice_to_c_string(a->details);
    char q[256];
    a->status_done = true;
    a->last_status = (int)a->status;
    status_note(a->th, (int)a->status, d);
    LOG_DEBUG("stream_end", "agent_id=%s addr=%s code=%d details=%s", a->id, a->addr,
              (int)a->status, log_quote(q, sizeof(q), d));
    gpr_free(d);
    mark_down(a);
    grpc_metadata_array_destroy(&a->md_trailing);
}

/* Every batch of the call has completed: drop it and plan the next one. */
static void finish_stream(agent_t *a, int64_t now)
{
    sim_thread_t *th = a->th;
    connect_done(a);
    grpc_call_unref(a->call);
    a->call = NULL;
    grpc_channel_destroy(a->ch);
    a->ch = NULL;
    grpc_slice_unref(a->details);
    /* Every send has completed: next_seq is final for this stream. */
    if (a->next_seq > a->stream_seq0) {
        uint32_t k = a->nstreams++ % STREAMS_KEEP;
        a->streams[k].from = a->stream_seq0;
        a->streams[k].to = a->next_seq;
        a->streams[k].code = (int)a->status;
    }
    for (uint16_t r = 0; r < a->nresults; r++) {
        free(a->results[r].token);
        free(a->results[r].msg);
    }
    th->results_dropped += a->nresults;
    a->nresults = 0;
    a->abuse_next = false;
    if (th->stopping) {
        a->finished = true;
        th->nfinished++;
        return;
    }
    snprintf(a->failed_addr, sizeof(a->failed_addr), "%s", a->addr);
    if (a->up_since && now - a->up_since >= UP_RESETS_BACKOFF_MS)
        a->backoff_attempt = 0;
    a->up_since = 0;
    backoff(a, now);
}

static void dispatch(sim_thread_t *th, void *tag, bool ok, int64_t now)
{
    agent_t *a = (agent_t *)((uintptr_t)tag & ~(uintptr_t)T_MASK);
    int op = (int)((uintptr_t)tag & T_MASK);
    a->pending--;
    switch (op) {
    case T_START:
        if (ok && !a->status_done)
            mark_up(a, now);
        grpc_metadata_array_destroy(&a->md_initial);
        break;
    case T_STATUS:
        on_status(a);
        break;
    case T_RECV:
        on_recv(a, ok, now);
        break;
    case T_SEND:
        on_send(a, ok, now);
        break;
    case T_CLOSE:
        break;
    default:
        PANIC("bad completion tag %p", tag);
    }
    if (a->status_done && a->pending == 0)
        finish_stream(a, now);
    plan(a);
    (void)th;
}

static void agent_wake(agent_t *a, int64_t now)
{
    sim_thread_t *th = a->th;
    const sim_opts_t *o = th->o;
    if (a->finished || th->stopping)
        return;
    if (!a->call) {
        if (now >= a->reconnect_at && th->max_connecting > 0 &&
            th->connecting >= th->max_connecting) {
            /* Too many handshakes under way: try again shortly (no storm). */
            a->reconnect_at = now + 10 + (int64_t)(rnd(th) % 40);
        } else if (now >= a->reconnect_at) {
            a->reconnect_at = 0;
            agent_connect(a, now);
        }
    } else {
        if (a->up && o->rate > 0 && now >= a->next_tick) {
            a->tick_pending = true;
            a->next_tick += o->batch_ms;
            if (a->next_tick <= now)
                a->next_tick = now + o->batch_ms;
        }
        if (o->heartbeat_ms > 0 && now >= a->next_hb) {
            a->hb_due = true;
            a->next_hb = now + o->heartbeat_ms;
        }
        try_send(a, now);
    }
    plan(a);
}

/* ---- the event loop of one thread --------------------------------------------------------- */

static void begin_stop(sim_thread_t *th, int64_t now)
{
    th->stopping = true;
    th->drain_deadline = now + th->o->drain_ms;
    for (size_t i = 0; i < th->n; i++) {
        agent_t *a = th->agents[i];
        th->connected_at_stop += a->up;
        if (!a->call) {
            a->finished = true;
            th->nfinished++;
        } else {
            a->close_wanted = true;
            try_send(a, now);
        }
    }
}

static void cancel_all(sim_thread_t *th)
{
    size_t n = 0;
    for (size_t i = 0; i < th->n; i++) {
        if (th->agents[i]->call && !th->agents[i]->finished) {
            grpc_call_cancel(th->agents[i]->call, NULL);
            n++;
        }
    }
    th->cancelled = true;
    if (n)
        LOG_WARN("drain_timeout", "streams_cancelled=%zu", n);
}

static int mint_certs(sim_thread_t *th)
{
    sim_t *s = th->sim;
    if (!s->ca_key_pem)
        return 0;
    int64_t t = now_ms();
    pki_issuer_t *iss = pki_issuer_new(s->ca_pem, s->ca_key_pem);
    if (!iss) {
        LOG_ERROR("bad_ca", "reason=\"--ca and --ca-key do not parse or do not match\"");
        return -EINVAL;
    }
    int rc = 0;
    for (size_t i = 0; i < th->n && rc == 0; i++) {
        agent_t *a = th->agents[i];
        rc = pki_issuer_issue(iss, a->id, NULL, PKI_CLIENT, 2, &a->cert_pem, &a->key_pem);
    }
    pki_issuer_free(iss);
    th->mint_ms = now_ms() - t;
    if (rc < 0)
        LOG_ERROR("mint_failed", "rc=%d", rc);
    else
        LOG_INFO("certificates_minted", "n=%zu ms=%" PRId64, th->n, th->mint_ms);
    return rc;
}

static void *thread_main(void *arg)
{
    sim_thread_t *th = arg;
    sim_t *s = th->sim;
    if ((th->rc = mint_certs(th)) < 0) {
        atomic_store(s->stop, true);
        return NULL;
    }
    int64_t start = now_ms();
    for (size_t i = 0; i < th->n; i++) {
        agent_t *a = th->agents[i];
        a->reconnect_at = start + (s->n > 1 ? th->o->ramp_ms * (int64_t)a->idx / s->n : 0);
        schedule(a, a->reconnect_at);
    }
    int64_t hard_deadline = INT64_MAX;
    for (;;) {
        int64_t now = now_ms();
        if (!th->stopping && atomic_load(s->stop))
            begin_stop(th, now);
        if (th->stopping && th->nfinished == th->n)
            break;
        if (th->stopping && !th->cancelled && now >= th->drain_deadline) {
            cancel_all(th);
            hard_deadline = now + 5000;
        }
        if (now >= hard_deadline) {
            LOG_ERROR("drain_stuck", "unfinished=%zu", th->n - th->nfinished);
            break;
        }
        while (th->nheap && th->heap[0].at <= now) {
            tentry_t e = heap_pop(th);
            agent_t *a = th->agents[e.ai];
            if (a->timer_at != e.at)
                continue; /* superseded */
            a->timer_at = 0;
            agent_wake(a, now);
        }
        int64_t wait = 50;
        if (th->nheap && th->heap[0].at - now < wait)
            wait = th->heap[0].at - now;
        if (wait < 0)
            wait = 0;
        gpr_timespec dl =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(wait, GPR_TIMESPAN));
        /* Take every completion that is ready before looking at timers again. */
        for (int k = 0; k < 4096; k++) {
            grpc_event ev = grpc_completion_queue_next(th->cq, dl, NULL);
            if (ev.type != GRPC_OP_COMPLETE)
                break;
            dispatch(th, ev.tag, ev.success != 0, now_ms());
            dl = gpr_inf_past(GPR_CLOCK_MONOTONIC);
        }
    }
    return NULL;
}

/* ---- setup, summary ----------------------------------------------------------------------- */

static int load_creds(sim_t *s)
{
    const sim_opts_t *o = s->o;
    if (o->plaintext) {
        s->shared_creds = grpc_insecure_credentials_create();
        return 0;
    }
    int rc = pki_load_file(o->ca, &s->ca_pem);
    if (rc < 0) {
        LOG_ERROR("read_failed", "path=%s errno=%d", o->ca, -rc);
        return rc;
    }
    if (o->ca_key) {
        if ((rc = pki_load_file(o->ca_key, &s->ca_key_pem)) < 0)
            LOG_ERROR("read_failed", "path=%s errno=%d", o->ca_key, -rc);
        return rc;
    }
    char *cert = NULL, *key = NULL;
    if ((rc = pki_load_file(o->cert, &cert)) < 0 || (rc = pki_load_file(o->key, &key)) < 0) {
        LOG_ERROR("read_failed", "path=%s errno=%d", cert ? o->key : o->cert, -rc);
    } else {
        grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
        s->shared_creds = grpc_ssl_credentials_create(s->ca_pem, &pair, NULL, NULL);
    }
    free(cert);
    free(key);
    return rc;
}

static void agent_free(agent_t *a)
{
    if (!a)
        return;
    if (a->tokens) {
        for (int i = 0; i < CMD_KEEP; i++)
            free(a->tokens[i]);
        free(a->tokens);
    }
    for (uint16_t r = 0; r < a->nresults; r++) {
        free(a->results[r].token);
        free(a->results[r].msg);
    }
    free(a->results);
    free(a->cert_pem);
    free(a->key_pem);
    free(a);
}

/* The tokens of the agent's last commands, oldest first. */
static void json_tokens(strbuf_t *out, const agent_t *a)
{
    strbuf_appends(out, "[");
    uint32_t n = a->ntokens < CMD_KEEP ? a->ntokens : CMD_KEEP;
    for (uint32_t k = 0; k < n; k++) {
        if (k)
            strbuf_appends(out, ",");
        strbuf_append_json_string(out, a->tokens[(a->ntokens - n + k) % CMD_KEEP]);
    }
    strbuf_appends(out, "]");
}

/* The agent's last streams that carried records, oldest first: [from, to, code]. */
static void json_streams(strbuf_t *out, const agent_t *a)
{
    strbuf_appends(out, ",\"streams\":[");
    uint32_t n = a->nstreams < STREAMS_KEEP ? a->nstreams : STREAMS_KEEP;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (a->nstreams - n + k) % STREAMS_KEEP;
        strbuf_appendf(out, "%s[%" PRIu64 ",%" PRIu64 ",%d]", k ? "," : "", a->streams[i].from,
                       a->streams[i].to, a->streams[i].code);
    }
    strbuf_appends(out, "]");
}

static void summarize(sim_t *s, sim_thread_t *ths, long nth, agent_t **agents, strbuf_t *out)
{
    uint64_t sent = 0, hb = 0, phb = 0, res = 0, cmds = 0, syncs = 0, rec = 0, abuse = 0;
    uint64_t connected = 0, clipped = 0, dropped = 0, bad = 0;
    uint64_t codes[STATUS_SLOTS] = {0};
    const char *details[STATUS_SLOTS] = {0};
    for (long t = 0; t < nth; t++) {
        connected += ths[t].connected_at_stop;
        clipped += ths[t].rate_clipped;
        dropped += ths[t].results_dropped;
        bad += ths[t].bad_commands;
        for (int c = 0; c < STATUS_SLOTS; c++) {
            codes[c] += ths[t].status_counts[c];
            if (ths[t].status_details[c])
                details[c] = ths[t].status_details[c];
        }
    }
    for (long i = 0; i < s->n; i++) {
        const agent_t *a = agents[i];
        sent += a->sent;
        hb += a->hb_sent;
        phb += a->phb_sent;
        res += a->results_sent;
        cmds += a->commands;
        syncs += a->config_syncs;
        rec += a->reconnects;
        abuse += a->abuse_sent;
    }
    strbuf_appendf(
        out,
        "{\"agents\":%ld,\"connected\":%" PRIu64 ",\"records_sent\":%" PRIu64
        ",\"heartbeats_sent\":%" PRIu64 ",\"plugin_heartbeats_sent\":%" PRIu64
        ",\"commands\":%" PRIu64 ",\"results_sent\":%" PRIu64 ",\"config_syncs\":%" PRIu64
        ",\"reconnects\":%" PRIu64 ",\"abuse_sent\":%" PRIu64 ",\"rate_clipped\":%" PRIu64
        ",\"results_dropped\":%" PRIu64 ",\"bad_commands\":%" PRIu64 ",\"duration_ms\":%" PRId64,
        s->n, connected, sent, hb, phb, cmds, res, syncs, rec, abuse, clipped, dropped, bad,
        now_ms() - s->t0);
    const char *names[] = {"status_counts", "status_details"};
    for (int k = 0; k < 2; k++) {
        strbuf_appendf(out, ",\"%s\":{", names[k]);
        bool first = true;
        for (int c = 0; c < STATUS_SLOTS; c++) {
            if (!codes[c])
                continue;
            char key[16];
            snprintf(key, sizeof(key), c == STATUS_SLOTS - 1 ? "other" : "%d", c);
            strbuf_appendf(out, "%s\"%s\":", first ? "" : ",", key);
            if (k == 0)
                strbuf_appendf(out, "%" PRIu64, codes[c]);
            else
                strbuf_append_json_string(out, details[c] ? details[c] : "");
            first = false;
        }
        strbuf_appends(out, "}");
    }
    if (s->o->per_agent) {
        strbuf_appends(out, ",\"per_agent\":[");
        for (long i = 0; i < s->n; i++) {
            const agent_t *a = agents[i];
            strbuf_appends(out, i ? ",{\"id\":" : "{\"id\":");
            strbuf_append_json_string(out, a->id);
            strbuf_appendf(out,
                           ",\"sent\":%" PRIu64 ",\"heartbeats\":%" PRIu64
                           ",\"reconnects\":%" PRIu64 ",\"commands_total\":%" PRIu64
                           ",\"last_status\":%d,\"commands\":",
                           a->sent, a->hb_sent, a->reconnects, a->commands, a->last_status);
            json_tokens(out, a);
            json_streams(out, a);
            strbuf_appends(out, "}");
        }
        strbuf_appends(out, "]");
    }
    strbuf_appends(out, "}");
}

int sim_run(const sim_opts_t *o, atomic_bool *stop, strbuf_t *summary)
{
    sim_t s = {.o = o, .stop = stop, .n = o->agents, .t0 = now_ms()};
    atomic_init(&s.up, 0);
    atomic_init(&s.all_once, false);
    size_t per = BATCH_BYTES_MAX / ((size_t)o->record_size + 64);
    s.batch_records_max = per < 1 ? 1 : per > BATCH_RECORDS_MAX ? BATCH_RECORDS_MAX : per;
    grpc_init();
    int rc = load_creds(&s);
    if (rc < 0) {
        if (s.shared_creds)
            grpc_channel_credentials_release(s.shared_creds);
        free(s.ca_pem);
        free(s.ca_key_pem);
        grpc_shutdown();
        return rc;
    }
    if (o->nsd) {
        sd_client_opts_t so = {
            .addrs = o->sd, .naddrs = o->nsd, .timeout_ms = 1000, .cache_ttl_ms = 1000};
        s.sd = sd_client_new(&so);
    }
    long nth = o->threads;
    sim_thread_t *ths = xcalloc((size_t)nth, sizeof(*ths));
    agent_t **agents = xcalloc((size_t)s.n, sizeof(*agents));
    for (long t = 0; t < nth; t++) {
        ths[t].sim = &s;
        ths[t].o = o;
        ths[t].cq = grpc_completion_queue_create_for_next(NULL);
        ths[t].agents = xcalloc((size_t)(s.n / nth + 1), sizeof(agent_t *));
        ths[t].max_connecting = o->max_connecting > 0 ? (o->max_connecting + nth - 1) / nth : 0;
        ths[t].rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)t << 32) ^ (uint64_t)time(NULL);
    }
    for (long i = 0; i < s.n; i++) {
        sim_thread_t *th = &ths[i % nth];
        agent_t *a = xcalloc(1, sizeof(*a));
        a->th = th;
        a->idx = (uint32_t)i;
        a->last_status = -1;
        snprintf(a->id, sizeof(a->id), "%s%0*ld", o->id_prefix, o->id_width, o->first_index + i);
        agents[i] = a;
        th->agents[th->n++] = a;
    }
    for (long t = 0; t < nth; t++)
        pthread_create(&ths[t].tid, NULL, thread_main, &ths[t]);
    for (long t = 0; t < nth; t++) {
        pthread_join(ths[t].tid, NULL);
        if (ths[t].rc < 0)
            rc = ths[t].rc;
    }
    if (rc == 0)
        summarize(&s, ths, nth, agents, summary);
    bool clean = true;
    for (long t = 0; t < nth; t++) {
        grpc_completion_queue_shutdown(ths[t].cq);
        gpr_timespec dl =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(5000, GPR_TIMESPAN));
        grpc_event ev;
        do {
            ev = grpc_completion_queue_next(ths[t].cq, dl, NULL);
        } while (ev.type == GRPC_OP_COMPLETE);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            grpc_completion_queue_destroy(ths[t].cq);
        else
            clean = false;
        for (int c = 0; c < STATUS_SLOTS; c++)
            free(ths[t].status_details[c]);
        free(ths[t].agents);
        free(ths[t].heap);
        free(ths[t].recs);
        free(ths[t].precs);
        free(ths[t].offs);
        strbuf_dispose(&ths[t].data);
    }
    for (long i = 0; i < s.n; i++) {
        if (agents[i]->call) /* only after a stuck drain */
            clean = false;
        else
            agent_free(agents[i]);
    }
    free(agents);
    free(ths);
    sd_client_free(s.sd);
    if (s.shared_creds)
        grpc_channel_credentials_release(s.shared_creds);
    free(s.ca_pem);
    free(s.ca_key_pem);
    if (clean)
        grpc_shutdown();
    return rc;
}
