#include "endpoint/agent/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
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
#include "common/log_bridge.h"
#include "common/sd_client.h"
#include "common/xalloc.h"
#include "proto/transfer_paths.h"

#define MAX_CANDIDATES 64
#define MAX_COMMAND    (4 << 20)
#define UP_RESETS_MS   10000
#define AGENT_PRODUCT  "rampart-agent"
#define CLOSE_WAIT_MS  3000

enum { T_START = 1, T_STATUS, T_RECV, T_SEND, T_CLOSE };

struct transport {
    transport_opts_t o;
    pthread_t thread;
    bool started;
    atomic_bool stop;
    int64_t drain_ms;
    sd_client_t *sd;
    grpc_channel_credentials *creds;
    grpc_completion_queue *cq;
    uint64_t rng;

    /* the stream (transport thread only) */
    grpc_channel *ch;
    grpc_call *call;
    int pending;
    bool up, status_done, send_busy, close_sent;
    int64_t connect_deadline, up_since, next_tick, reconnect_at;
    grpc_metadata_array md_initial, md_trailing;
    grpc_status_code status;
    grpc_slice details;
    grpc_byte_buffer *recv_bb, *send_bb;
    uint64_t inflight_end;
    size_t inflight_n, inflight_bytes;
    char addr[96];

    /* where to connect */
    char cand[MAX_CANDIDATES][96];
    size_t ncand, next_cand;
    uint32_t rounds_failed;

    /* batch building */
    spool_buf_t peek;
    Grpc__EncodedRecord *recs;
    Grpc__EncodedRecord **precs;
    size_t caprecs;

    pthread_mutex_t mu; /* meta and stats */
    transport_meta_t meta;
    transport_stats_t st;

    metrics_counter_t *m_records, *m_bytes, *m_messages, *m_commands, *m_streams, *m_failures;
    metrics_gauge_t *m_connected;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rnd(transport_t *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return t->rng;
}

void transport_meta_dispose(transport_meta_t *m)
{
    for (size_t i = 0; i < m->n_in4; i++)
        free(m->intranet_ipv4[i]);
    for (size_t i = 0; i < m->n_ex4; i++)
        free(m->extranet_ipv4[i]);
    for (size_t i = 0; i < m->n_in6; i++)
        free(m->intranet_ipv6[i]);
    for (size_t i = 0; i < m->n_ex6; i++)
        free(m->extranet_ipv6[i]);
    memset(m, 0, sizeof(*m));
}

static void copy_list(char **dst, size_t *nd, char *const *src, size_t n)
{
    *nd = n;
    for (size_t i = 0; i < n; i++)
        dst[i] = xstrdup(src[i]);
}

void transport_set_meta(transport_t *t, const transport_meta_t *m)
{
    pthread_mutex_lock(&t->mu);
    transport_meta_dispose(&t->meta);
    snprintf(t->meta.hostname, sizeof(t->meta.hostname), "%s", m->hostname);
    copy_list(t->meta.intranet_ipv4, &t->meta.n_in4, m->intranet_ipv4, m->n_in4);
    copy_list(t->meta.extranet_ipv4, &t->meta.n_ex4, m->extranet_ipv4, m->n_ex4);
    copy_list(t->meta.intranet_ipv6, &t->meta.n_in6, m->intranet_ipv6, m->n_in6);
    copy_list(t->meta.extranet_ipv6, &t->meta.n_ex6, m->extranet_ipv6, m->n_ex6);
    pthread_mutex_unlock(&t->mu);
}

void transport_stats(transport_t *t, transport_stats_t *st)
{
    pthread_mutex_lock(&t->mu);
    *st = t->st;
    pthread_mutex_unlock(&t->mu);
}

/* ---- choosing an AgentCenter ------------------------------------------------------------ */

static void add_cand(transport_t *t, const char *addr)
{
    if (t->ncand == MAX_CANDIDATES)
        return;
    for (size_t i = 0; i < t->ncand; i++)
        if (strcmp(t->cand[i], addr) == 0)
            return;
    snprintf(t->cand[t->ncand++], sizeof(t->cand[0]), "%s", addr);
}

/* Rebuilds the candidate list: SD instances by weight (ties shuffled), then static ones. */
static void refresh_candidates(transport_t *t)
{
    t->ncand = 0;
    t->next_cand = 0;
    if (t->sd) {
        sd_instance_t inst[MAX_CANDIDATES];
        size_t n = 0;
        int rc = sd_client_lookup(t->sd, t->o.sd_name, 0, SD_PICK_LEAST, inst, MAX_CANDIDATES, &n);
        if (rc < 0 && rc != -ENOENT)
            LOG_WARN("sd_lookup_failed", "name=%s rc=%d", t->o.sd_name, rc);
        /* Shuffle, then a stable sort by weight: equal weights stay in random order. */
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(rnd(t) % i);
            sd_instance_t x = inst[i - 1];
            inst[i - 1] = inst[j];
            inst[j] = x;
        }
        for (size_t i = 1; i < n; i++) {
            sd_instance_t x = inst[i];
            size_t j = i;
            for (; j > 0 && inst[j - 1].weight > x.weight; j--)
                inst[j] = inst[j - 1];
            inst[j] = x;
        }
        for (size_t i = 0; i < n; i++) {
            char a[96];
            snprintf(a, sizeof(a), strchr(inst[i].ip, ':') ? "[%s]:%u" : "%s:%u", inst[i].ip,
                     (unsigned)inst[i].port);
            add_cand(t, a);
        }
    }
    for (size_t i = 0; t->o.ac_addrs && t->o.ac_addrs[i]; i++)
        add_cand(t, t->o.ac_addrs[i]);
}

static void grpc_target(const char *addr, char *out, size_t len)
{
    char host[80];
    const char *colon = strrchr(addr, ':');
    size_t hl = colon ? (size_t)(colon - addr) : strlen(addr);
    if (hl >= sizeof(host))
        hl = sizeof(host) - 1;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    unsigned char tmp[16];
    if (inet_pton(AF_INET, host, tmp) == 1)
        snprintf(out, len, "ipv4:%s", addr);
    else if (host[0] == '[')
        snprintf(out, len, "ipv6:%s", addr);
    else
        snprintf(out, len, "dns:///%s", addr);
}

/* ---- the stream ------------------------------------------------------------------------- */

static void start_batch(transport_t *t, const grpc_op *ops, size_t n, int tag)
{
    grpc_call_error e = grpc_call_start_batch(t->call, ops, n, (void *)(intptr_t)tag, NULL);
    if (e != GRPC_CALL_OK)
        PANIC("grpc_call_start_batch tag=%d: error %d", tag, (int)e);
    t->pending++;
}

static void schedule_reconnect(transport_t *t, int64_t now, bool failed)
{
    if (!failed) {
        t->reconnect_at = now + t->o.backoff_min_ms / 2;
        return;
    }
    t->next_cand++;
    if (t->next_cand < t->ncand) {
        t->reconnect_at = now + 50; /* the next AgentCenter at once */
        return;
    }
    int64_t d = t->o.backoff_min_ms;
    for (uint32_t i = 0; i < t->rounds_failed && d < t->o.backoff_max_ms; i++)
        d *= 2;
    if (d > t->o.backoff_max_ms)
        d = t->o.backoff_max_ms;
    if (t->rounds_failed < 32)
        t->rounds_failed++;
    t->reconnect_at = now + d / 2 + (int64_t)(rnd(t) % (uint64_t)(d / 2 + 1));
    t->ncand = 0; /* look up again next time */
}

static void stream_open(transport_t *t, int64_t now)
{
    if (t->next_cand >= t->ncand)
        refresh_candidates(t);
    if (t->ncand == 0) {
        LOG_WARN("no_agent_center",
                 "sd_name=%s reason=\"service discovery has none and no "
                 "agent_center.addrs\"",
                 t->o.sd_name);
        schedule_reconnect(t, now, true);
        return;
    }
    snprintf(t->addr, sizeof(t->addr), "%s", t->cand[t->next_cand]);
    char target[128];
    grpc_target(t->addr, target, sizeof(target));
    grpc_arg args[12];
    size_t n = 0;
#define ARG_INT(k, v)                                                                              \
    args[n++] = (grpc_arg){.type = GRPC_ARG_INTEGER, .key = (char *)(k), .value.integer = (int)(v)}
    ARG_INT(GRPC_ARG_KEEPALIVE_TIME_MS, t->o.keepalive_ms);
    ARG_INT(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    ARG_INT(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    ARG_INT(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    ARG_INT(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, t->o.batch_max_bytes + (64 << 10));
    ARG_INT(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, MAX_COMMAND);
    ARG_INT(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    ARG_INT(GRPC_ARG_ENABLE_RETRIES, 0);
    ARG_INT(GRPC_ARG_ENABLE_CHANNELZ, 0);
    ARG_INT(GRPC_ARG_TCP_READ_CHUNK_SIZE, 8192);
#undef ARG_INT
    if (t->o.server_name && t->o.server_name[0])
        args[n++] = (grpc_arg){.type = GRPC_ARG_STRING,
                               .key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
                               .value.string = (char *)t->o.server_name};
    grpc_channel_args ca = {.num_args = n, .args = args};
    t->ch = grpc_channel_create(target, t->creds, &ca);
    t->call = grpc_channel_create_call(t->ch, NULL, GRPC_PROPAGATE_DEFAULTS, t->cq,
                                       grpc_slice_from_static_string(RAMPART_GRPC_TRANSFER_METHOD),
                                       NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (!t->call)
        PANIC("grpc_channel_create_call failed for %s", target);
    t->up = t->status_done = t->send_busy = t->close_sent = false;
    t->connect_deadline = now + t->o.connect_timeout_ms;
    t->details = grpc_empty_slice();
    grpc_metadata_array_init(&t->md_initial);
    grpc_metadata_array_init(&t->md_trailing);
    LOG_DEBUG("connecting", "addr=%s", t->addr);

    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[1].data.recv_initial_metadata.recv_initial_metadata = &t->md_initial;
    start_batch(t, ops, 2, T_START);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &t->md_trailing;
    ops[0].data.recv_status_on_client.status = &t->status;
    ops[0].data.recv_status_on_client.status_details = &t->details;
    start_batch(t, ops, 1, T_STATUS);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_MESSAGE;
    ops[0].data.recv_message.recv_message = &t->recv_bb;
    start_batch(t, ops, 1, T_RECV);
}

static void reserve_recs(transport_t *t, size_t n)
{
    if (n <= t->caprecs)
        return;
    t->caprecs = n;
    t->recs = xrealloc(t->recs, n * sizeof(*t->recs));
    t->precs = xrealloc(t->precs, n * sizeof(*t->precs));
}

/* Sends the head of the spool if there is anything and no send is in flight. */
static void try_send(transport_t *t)
{
    if (!t->up || t->send_busy || t->status_done || t->close_sent)
        return;
    uint64_t end = 0;
    size_t n = spool_peek(t->o.spool, t->o.batch_max_records, t->o.batch_max_bytes, &t->peek, &end);
    if (n == 0)
        return;
    reserve_recs(t, n);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        spool_record_t r;
        if (spool_record_parse(t->peek.data + pos, t->peek.len - pos, &r) != 1)
            PANIC("spool handed out a bad record at %zu", pos);
        grpc__encoded_record__init(&t->recs[i]);
        t->recs[i].data_type = r.data_type;
        t->recs[i].timestamp = r.timestamp;
        t->recs[i].data.data = (uint8_t *)r.data; /* the plugin's payload bytes as they are */
        t->recs[i].data.len = r.len;
        t->precs[i] = &t->recs[i];
        pos += r.size;
    }
    Grpc__PackagedData pd = GRPC__PACKAGED_DATA__INIT;
    pd.n_records = n;
    pd.records = t->precs;
    pd.agent_id = (char *)t->o.agent_id;
    pd.version = RAMPART_VERSION;
    pd.product = AGENT_PRODUCT;
    pthread_mutex_lock(&t->mu);
    pd.hostname = t->meta.hostname;
    pd.intranet_ipv4 = t->meta.intranet_ipv4;
    pd.n_intranet_ipv4 = t->meta.n_in4;
    pd.extranet_ipv4 = t->meta.extranet_ipv4;
    pd.n_extranet_ipv4 = t->meta.n_ex4;
    pd.intranet_ipv6 = t->meta.intranet_ipv6;
    pd.n_intranet_ipv6 = t->meta.n_in6;
    pd.extranet_ipv6 = t->meta.extranet_ipv6;
    pd.n_extranet_ipv6 = t->meta.n_ex6;
    size_t len = grpc__packaged_data__get_packed_size(&pd);
    grpc_slice sl = grpc_slice_malloc(len);
    grpc__packaged_data__pack(&pd, GRPC_SLICE_START_PTR(sl));
    pthread_mutex_unlock(&t->mu);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    t->inflight_end = end;
    t->inflight_n = n;
    t->inflight_bytes = len;
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = bb;
    t->send_busy = true;
    t->send_bb = bb; /* kept until the send completes */
    start_batch(t, &op, 1, T_SEND);
}

static void send_close(transport_t *t)
{
    if (!t->call || t->close_sent || t->status_done || t->send_busy)
        return;
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    t->close_sent = true;
    start_batch(t, &op, 1, T_CLOSE);
}

static void set_connected(transport_t *t, bool up)
{
    pthread_mutex_lock(&t->mu);
    t->st.connected = up;
    snprintf(t->st.addr, sizeof(t->st.addr), "%s", t->addr);
    if (up)
        t->st.streams++;
    pthread_mutex_unlock(&t->mu);
    if (t->m_connected)
        metrics_gauge_set(t->m_connected, up ? 1 : 0);
}

static void on_command(transport_t *t)
{
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, t->recv_bb))
        return;
    grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    Grpc__Command *c = grpc__command__unpack(NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
    grpc_slice_unref(sl);
    if (!c) {
        LOG_WARN("bad_command", "addr=%s reason=\"not a Command\"", t->addr);
        return;
    }
    pthread_mutex_lock(&t->mu);
    t->st.commands++;
    pthread_mutex_unlock(&t->mu);
    if (t->m_commands)
        metrics_counter_inc(t->m_commands);
    t->o.on_command(t->o.ud, c);
    grpc__command__free_unpacked(c, NULL);
}

static void finish_stream(transport_t *t, int64_t now)
{
    bool was_up = t->up_since > 0;
    char *d = grpc_slice_to_c_string(t->details);
    char q[256];
    if (was_up)
        LOG_WARN("disconnected", "addr=%s code=%d details=%s up_ms=%" PRId64, t->addr,
                 (int)t->status, log_quote(q, sizeof(q), d), now - t->up_since);
    else
        LOG_WARN("connect_failed", "addr=%s code=%d details=%s", t->addr, (int)t->status,
                 log_quote(q, sizeof(q), d));
    gpr_free(d);
    grpc_slice_unref(t->details);
    grpc_metadata_array_destroy(&t->md_trailing);
    grpc_call_unref(t->call);
    t->call = NULL;
    grpc_channel_destroy(t->ch);
    t->ch = NULL;
    set_connected(t, false);
    bool failed = !was_up || now - t->up_since < UP_RESETS_MS;
    if (!failed)
        t->rounds_failed = 0;
    if (failed) {
        pthread_mutex_lock(&t->mu);
        t->st.failures++;
        pthread_mutex_unlock(&t->mu);
        if (t->m_failures)
            metrics_counter_inc(t->m_failures);
    }
    t->up_since = 0;
    t->up = false;
    schedule_reconnect(t, now, failed);
}

static void dispatch(transport_t *t, int tag, bool ok, int64_t now)
{
    t->pending--;
    switch (tag) {
    case T_START:
        grpc_metadata_array_destroy(&t->md_initial);
        if (ok && !t->status_done) {
            t->up = true;
            t->up_since = now;
            t->next_tick = now;
            set_connected(t, true);
            LOG_INFO("connected", "addr=%s agent_id=%s pending=%" PRIu64, t->addr, t->o.agent_id,
                     spool_pending(t->o.spool));
        }
        break;
    case T_STATUS:
        t->status_done = true;
        t->up = false;
        break;
    case T_RECV:
        if (ok && t->recv_bb) {
            on_command(t);
            grpc_byte_buffer_destroy(t->recv_bb);
            t->recv_bb = NULL;
            if (!t->status_done) {
                grpc_op op;
                memset(&op, 0, sizeof(op));
                op.op = GRPC_OP_RECV_MESSAGE;
                op.data.recv_message.recv_message = &t->recv_bb;
                start_batch(t, &op, 1, T_RECV);
            }
        }
        break;
    case T_SEND:
        t->send_busy = false;
        grpc_byte_buffer_destroy(t->send_bb);
        t->send_bb = NULL;
        if (ok) {
            spool_commit(t->o.spool, t->inflight_end);
            pthread_mutex_lock(&t->mu);
            t->st.records_sent += t->inflight_n;
            t->st.bytes_sent += t->inflight_bytes;
            t->st.messages_sent++;
            pthread_mutex_unlock(&t->mu);
            if (t->m_records) {
                metrics_counter_add(t->m_records, t->inflight_n);
                metrics_counter_add(t->m_bytes, t->inflight_bytes);
                metrics_counter_inc(t->m_messages);
            }
            /* A full batch waiting goes now; a partial one waits for the tick. */
            if (spool_pending(t->o.spool) >= t->o.batch_max_records)
                try_send(t);
        }
        break;
    case T_CLOSE:
        break;
    default:
        PANIC("bad completion tag %d", tag);
    }
    if (t->call && t->status_done && t->pending == 0)
        finish_stream(t, now);
}

static void *transport_main(void *arg)
{
    transport_t *t = arg;
    t->reconnect_at = mono_ms();
    int64_t drain_deadline = 0, close_deadline = 0;
    bool draining = false;
    for (;;) {
        int64_t now = mono_ms();
        if (!draining && atomic_load(&t->stop)) {
            draining = true;
            drain_deadline = now + t->drain_ms;
        }
        if (draining) {
            bool empty = spool_pending(t->o.spool) == 0;
            if (!t->call)
                break;
            if (!t->up && !t->status_done && !close_deadline) {
                grpc_call_cancel(t->call, NULL); /* still connecting: give up */
                close_deadline = now + CLOSE_WAIT_MS;
            }
            if ((empty || now >= drain_deadline) && !t->send_busy && !t->close_sent) {
                send_close(t);
                close_deadline = now + CLOSE_WAIT_MS;
            }
            if (close_deadline && now >= close_deadline) {
                grpc_call_cancel(t->call, NULL);
                close_deadline = now + 60000;
            }
        } else if (!t->call && now >= t->reconnect_at) {
            stream_open(t, now);
        }
        if (t->call && !t->up && !t->status_done && now >= t->connect_deadline &&
            t->connect_deadline) {
            LOG_WARN("connect_timeout", "addr=%s timeout_ms=%" PRId64, t->addr,
                     t->o.connect_timeout_ms);
            grpc_call_cancel(t->call, NULL);
            t->connect_deadline = 0;
        }
        if (t->up && now >= t->next_tick) {
            if (!draining || now < drain_deadline)
                try_send(t);
            t->next_tick = now + t->o.batch_interval_ms;
        }
        int64_t wake = now + 1000;
        if (t->up && t->next_tick < wake)
            wake = t->next_tick;
        if (!t->call && t->reconnect_at < wake)
            wake = t->reconnect_at;
        if (t->call && !t->up && t->connect_deadline && t->connect_deadline < wake)
            wake = t->connect_deadline;
        if (draining)
            wake = now + 20;
        if (wake < now)
            wake = now;
        gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                       gpr_time_from_millis(wake - now, GPR_TIMESPAN));
        for (int k = 0; k < 256; k++) {
            grpc_event ev = grpc_completion_queue_next(t->cq, dl, NULL);
            if (ev.type != GRPC_OP_COMPLETE)
                break;
            dispatch(t, (int)(intptr_t)ev.tag, ev.success != 0, mono_ms());
            dl = gpr_inf_past(GPR_CLOCK_MONOTONIC);
        }
    }
    return NULL;
}

transport_t *transport_new(const transport_opts_t *o)
{
    transport_t *t = xcalloc(1, sizeof(*t));
    t->o = *o;
    pthread_mutex_init(&t->mu, NULL);
    atomic_init(&t->stop, false);
    t->rng = (uint64_t)mono_ms() ^ ((uint64_t)(uintptr_t)t << 16) ^ 0x9e3779b97f4a7c15ULL;
    size_t nsd = 0;
    while (o->sd_addrs && o->sd_addrs[nsd])
        nsd++;
    if (nsd) {
        sd_client_opts_t so = {.addrs = (const char *const *)o->sd_addrs,
                               .naddrs = nsd,
                               .timeout_ms = 2000,
                               .cache_ttl_ms = 2000};
        t->sd = sd_client_new(&so);
    }
    log_bridge_grpc();
    grpc_init();
    grpc_ssl_pem_key_cert_pair pair = {.private_key = o->key_pem, .cert_chain = o->cert_pem};
    t->creds = grpc_ssl_credentials_create(o->ca_pem, &pair, NULL, NULL);
    t->cq = grpc_completion_queue_create_for_next(NULL);
    if (o->metrics) {
        t->m_records = metrics_counter(o->metrics, "rampart_agent_sent_records_total",
                                       "records written to the AgentCenter stream", NULL);
        t->m_bytes = metrics_counter(o->metrics, "rampart_agent_sent_bytes_total",
                                     "PackagedData bytes written", NULL);
        t->m_messages = metrics_counter(o->metrics, "rampart_agent_sent_messages_total",
                                        "PackagedData messages written", NULL);
        t->m_commands = metrics_counter(o->metrics, "rampart_agent_commands_total",
                                        "commands received from the AgentCenter", NULL);
        t->m_failures = metrics_counter(o->metrics, "rampart_agent_connect_failures_total",
                                        "streams that failed to open or ended within 10 s", NULL);
        t->m_connected = metrics_gauge(o->metrics, "rampart_agent_connected",
                                       "1 while a stream to an AgentCenter is up", NULL);
    }
    return t;
}

int transport_start(transport_t *t)
{
    int rc = pthread_create(&t->thread, NULL, transport_main, t);
    if (rc != 0)
        return -rc;
    t->started = true;
    return 0;
}

void transport_stop(transport_t *t, int64_t drain_ms)
{
    if (!t || !t->started)
        return;
    t->drain_ms = drain_ms;
    atomic_store(&t->stop, true);
    pthread_join(t->thread, NULL);
    t->started = false;
}

void transport_free(transport_t *t)
{
    if (!t)
        return;
    transport_stop(t, 0);
    grpc_completion_queue_shutdown(t->cq);
    grpc_event ev;
    do {
        ev = grpc_completion_queue_next(t->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    } while (ev.type == GRPC_OP_COMPLETE);
    grpc_completion_queue_destroy(t->cq);
    grpc_channel_credentials_release(t->creds);
    sd_client_free(t->sd);
    spool_buf_dispose(&t->peek);
    free(t->recs);
    free(t->precs);
    transport_meta_dispose(&t->meta);
    pthread_mutex_destroy(&t->mu);
    free(t);
    grpc_shutdown();
}
