/* rampart-agent-sim against a small Transfer server written here on the gRPC core C API
 * (mutual TLS with certificates from the harness), so that the simulator's own promises are
 * checked without the AgentCenter: every record it counts as sent reached the server, with
 * contiguous sequence numbers and the exact payload bytes sim_payload builds; commands are
 * answered with their tokens; a stream cut by a server restart is re-established; a
 * certificate from another CA gets nowhere; abuse messages reach the server as announced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "common/log.h"
#include "common/log_bridge.h"
#include "common/pki.h"
#include "common/strbuf.h"
#include "harness.h"
#include "proto/transfer_paths.h"
#include "rampart.pb-c.h"
#include "sim_payload.h"

#define MAX_AGENTS 64
#define MAX_SEQ    200000
#define REC_SIZE   200

/* ---- the test server -------------------------------------------------------------------- */

typedef struct {
    uint8_t *seen; /* MAX_SEQ flags */
    long distinct, dups, bad_bytes, heartbeats, plugin_heartbeats, results, streams;
    char result_tokens[4][64];
} agent_stats_t;

typedef struct srv srv_t;

typedef struct {
    srv_t *s;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_byte_buffer *rbb, *sbb;
    int cancelled, pending, sent_cmds;
    bool closed, status_sent, send_busy;
    char cn[80];
} scall_t;

enum { S_NEW = 1, S_SMD, S_RECV, S_SEND, S_STATUS, S_CLOSE, S_MASK = 7 };

struct srv {
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t tid;
    uint16_t port;
    bool plaintext;
};

/* What the servers saw; kept across a server restart, reset by each test. */
static struct {
    pthread_mutex_t mu;
    agent_stats_t agents[MAX_AGENTS];
    long malformed, unknown_type, empty_id, oversized, messages, no_cn, mismatched_id;
} ST = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void stats_reset(void)
{
    for (int i = 0; i < MAX_AGENTS; i++) {
        uint8_t *seen = ST.agents[i].seen ? ST.agents[i].seen : malloc(MAX_SEQ);
        memset(seen, 0, MAX_SEQ);
        memset(&ST.agents[i], 0, sizeof(ST.agents[i]));
        ST.agents[i].seen = seen;
    }
    ST.malformed = ST.unknown_type = ST.empty_id = ST.oversized = ST.messages = ST.no_cn =
        ST.mismatched_id = 0;
}

static struct {
    char pki[512], ca_key[600], ca[600], cert_prefix[600], foreign_prefix[600];
    srv_t *srv;
    uint16_t port;
} W;

static void start_batch(scall_t *c, const grpc_op *ops, size_t n, int op)
{
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, (void *)((uintptr_t)c | op), NULL);
    assert_int_equal(e, GRPC_CALL_OK);
    c->pending++;
}

static void request_new(srv_t *s)
{
    scall_t *c = calloc(1, sizeof(*c));
    c->s = s;
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->md);
    grpc_server_request_call(s->server, &c->call, &c->details, &c->md, s->cq, s->cq,
                             (void *)((uintptr_t)c | S_NEW));
}

static void send_status(scall_t *c, grpc_status_code code, const char *msg)
{
    if (c->status_sent)
        return;
    c->status_sent = true;
    grpc_slice d = grpc_slice_from_copied_string(msg);
    grpc_op op = {.op = GRPC_OP_SEND_STATUS_FROM_SERVER};
    op.data.send_status_from_server.status = code;
    op.data.send_status_from_server.status_details = &d;
    start_batch(c, &op, 1, S_STATUS);
    grpc_slice_unref(d);
}

/* Sends the call's next command: a task first, then a config sync. */
static void send_next_command(scall_t *c)
{
    if (c->send_busy || c->status_sent || c->sent_cmds >= 2)
        return;
    Grpc__Command cmd = GRPC__COMMAND__INIT;
    Grpc__Task task = GRPC__TASK__INIT;
    Grpc__Config cfg = GRPC__CONFIG__INIT, *cfgs[1] = {&cfg};
    char token[96];
    if (c->sent_cmds == 0) {
        snprintf(token, sizeof(token), "tok-%s", c->cn);
        task.data_type = 1050;
        task.object_name = "collector";
        task.data = "{}";
        task.token = token;
        cmd.task = &task;
    } else {
        cfg.name = "collector";
        cfg.version = "1.0.0";
        cmd.n_configs = 1;
        cmd.configs = cfgs;
    }
    size_t n = grpc__command__get_packed_size(&cmd);
    grpc_slice sl = grpc_slice_malloc(n);
    grpc__command__pack(&cmd, GRPC_SLICE_START_PTR(sl));
    c->sbb = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    grpc_op op = {.op = GRPC_OP_SEND_MESSAGE};
    op.data.send_message.send_message = c->sbb;
    c->send_busy = true;
    c->sent_cmds++;
    start_batch(c, &op, 1, S_SEND);
}

static agent_stats_t *stats_for(const char *id)
{
    const char *dash = strrchr(id, '-');
    long idx = dash ? strtol(dash + 1, NULL, 10) : -1;
    return idx >= 0 && idx < MAX_AGENTS ? &ST.agents[idx] : NULL;
}

static void check_record(scall_t *c, const Grpc__EncodedRecord *r)
{
    agent_stats_t *st = stats_for(c->cn);
    if (r->data_type == 777777) {
        ST.unknown_type++;
        return;
    }
    if (!st)
        return;
    if (r->data_type == 1000) {
        st->heartbeats++;
        return;
    }
    if (r->data_type == 1001) {
        st->plugin_heartbeats++;
        return;
    }
    if (r->data_type == 5100) {
        Grpc__Payload *p = grpc__payload__unpack(NULL, r->data.len, r->data.data);
        for (size_t i = 0; p && i < p->n_fields; i++) {
            if (strcmp(p->fields[i]->key, "token") == 0 && st->results < 4)
                snprintf(st->result_tokens[st->results], 64, "%s", p->fields[i]->value);
        }
        st->results++;
        grpc__payload__free_unpacked(p, NULL);
        return;
    }
    char id[64];
    uint64_t seq;
    if (sim_payload_parse(r->data.data, r->data.len, id, sizeof(id), &seq) < 0) {
        if (r->data.len > 100000)
            ST.oversized++;
        return;
    }
    strbuf_t want = STRBUF_INIT;
    sim_payload_build(id, seq, r->data_type, REC_SIZE, &want);
    if (strcmp(id, c->cn) != 0 || want.len != r->data.len ||
        memcmp(want.data, r->data.data, want.len) != 0)
        st->bad_bytes++;
    strbuf_dispose(&want);
    if (seq >= MAX_SEQ)
        return;
    if (st->seen[seq])
        st->dups++;
    else
        st->distinct++;
    st->seen[seq] = 1;
}

static void on_message(srv_t *s, scall_t *c)
{
    grpc_byte_buffer_reader r;
    grpc_byte_buffer_reader_init(&r, c->rbb);
    grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    Grpc__PackagedData *pd =
        grpc__packaged_data__unpack(NULL, GRPC_SLICE_LENGTH(sl), GRPC_SLICE_START_PTR(sl));
    grpc_slice_unref(sl);
    pthread_mutex_lock(&ST.mu);
    ST.messages++;
    if (!pd) {
        ST.malformed++;
        pthread_mutex_unlock(&ST.mu);
        send_status(c, GRPC_STATUS_INVALID_ARGUMENT, "malformed PackagedData");
        return;
    }
    if (s->plaintext && !c->cn[0])
        snprintf(c->cn, sizeof(c->cn), "%s", pd->agent_id);
    if (!pd->agent_id[0])
        ST.empty_id++;
    else if (strcmp(pd->agent_id, c->cn) != 0)
        ST.mismatched_id++;
    for (size_t i = 0; i < pd->n_records; i++)
        check_record(c, pd->records[i]);
    pthread_mutex_unlock(&ST.mu);
    grpc__packaged_data__free_unpacked(pd, NULL);
    send_next_command(c);
}

static void on_new(srv_t *s, scall_t *c)
{
    request_new(s);
    if (!s->plaintext) {
        grpc_auth_context *ctx = grpc_call_auth_context(c->call);
        grpc_auth_property_iterator it =
            grpc_auth_context_find_properties_by_name(ctx, GRPC_X509_CN_PROPERTY_NAME);
        const grpc_auth_property *p = grpc_auth_property_iterator_next(&it);
        if (p)
            snprintf(c->cn, sizeof(c->cn), "%.*s", (int)p->value_length, p->value);
        grpc_auth_context_release(ctx);
    }
    grpc_op close_op = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};
    close_op.data.recv_close_on_server.cancelled = &c->cancelled;
    start_batch(c, &close_op, 1, S_CLOSE);
    pthread_mutex_lock(&ST.mu);
    agent_stats_t *st = stats_for(c->cn);
    if (st)
        st->streams++;
    if (!s->plaintext && !c->cn[0])
        ST.no_cn++;
    pthread_mutex_unlock(&ST.mu);
    grpc_op md = {.op = GRPC_OP_SEND_INITIAL_METADATA};
    start_batch(c, &md, 1, S_SMD);
    grpc_op rop = {.op = GRPC_OP_RECV_MESSAGE};
    rop.data.recv_message.recv_message = &c->rbb;
    start_batch(c, &rop, 1, S_RECV);
}

static void *srv_main(void *arg)
{
    srv_t *s = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.tag == NULL) { /* grpc_server_shutdown_and_notify is done */
            grpc_completion_queue_shutdown(s->cq);
            continue;
        }
        scall_t *c = (scall_t *)((uintptr_t)ev.tag & ~(uintptr_t)S_MASK);
        int op = (int)((uintptr_t)ev.tag & S_MASK);
        if (op == S_NEW) {
            if (!ev.success) { /* server shutting down */
                grpc_call_details_destroy(&c->details);
                grpc_metadata_array_destroy(&c->md);
                free(c);
                continue;
            }
            on_new(s, c);
            continue;
        }
        c->pending--;
        if (op == S_RECV) {
            if (ev.success && c->rbb) {
                on_message(s, c);
                grpc_byte_buffer_destroy(c->rbb);
                c->rbb = NULL;
                if (!c->status_sent) {
                    grpc_op rop = {.op = GRPC_OP_RECV_MESSAGE};
                    rop.data.recv_message.recv_message = &c->rbb;
                    start_batch(c, &rop, 1, S_RECV);
                }
            } else if (ev.success) { /* half-close: the agent is done */
                send_status(c, GRPC_STATUS_OK, "bye");
            }
        } else if (op == S_SEND) {
            grpc_byte_buffer_destroy(c->sbb);
            c->sbb = NULL;
            c->send_busy = false;
            if (ev.success)
                send_next_command(c);
        } else if (op == S_CLOSE) {
            c->closed = true;
        }
        if (c->closed && c->pending == 0) {
            grpc_call_unref(c->call);
            grpc_call_details_destroy(&c->details);
            grpc_metadata_array_destroy(&c->md);
            free(c);
        }
    }
    return NULL;
}

static srv_t *srv_start(uint16_t port, bool plaintext)
{
    srv_t *s = calloc(1, sizeof(*s));
    s->plaintext = plaintext;
    s->cq = grpc_completion_queue_create_for_next(NULL);
    s->server = grpc_server_create(NULL, NULL);
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    grpc_server_credentials *creds;
    if (plaintext) {
        creds = grpc_insecure_server_credentials_create();
    } else {
        char *ca = NULL, *cert = NULL, *key = NULL, p[600];
        assert_int_equal(pki_load_file(W.ca, &ca), 0);
        snprintf(p, sizeof(p), "%s/server.pem", W.pki);
        assert_int_equal(pki_load_file(p, &cert), 0);
        snprintf(p, sizeof(p), "%s/server.key", W.pki);
        assert_int_equal(pki_load_file(p, &key), 0);
        grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
        creds = grpc_ssl_server_credentials_create_ex(
            ca, &pair, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
        free(ca);
        free(cert);
        free(key);
    }
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)port);
    s->port = (uint16_t)grpc_server_add_http2_port(s->server, addr, creds);
    grpc_server_credentials_release(creds);
    assert_int_equal(s->port, port);
    grpc_server_start(s->server);
    request_new(s);
    pthread_create(&s->tid, NULL, srv_main, s);
    return s;
}

/* Stops the server, cutting every stream, and frees it (the stats stay in ST). */
static void srv_stop(srv_t *s)
{
    grpc_server_shutdown_and_notify(s->server, s->cq, NULL);
    grpc_server_cancel_all_calls(s->server);
    pthread_join(s->tid, NULL);
    grpc_server_destroy(s->server);
    grpc_completion_queue_destroy(s->cq);
    free(s);
}

/* ---- running the simulator ------------------------------------------------------------- */

/* Runs rampart-agent-sim with the common arguments plus extra (NULL-terminated) until it
 * exits by itself (--duration), and returns its summary file parsed, or NULL. *status gets
 * the exit status. */
static json_t *run_sim(const char *name, const char *const *extra, int *status)
{
    char bin[512], target[64], summary[600], sname[64];
    harness_bin("tests/tools/agent-sim/rampart-agent-sim", bin, sizeof(bin));
    snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)W.port);
    snprintf(sname, sizeof(sname), "%s.json", name);
    assert_int_equal(harness_write_file(sname, "", summary, sizeof(summary)), 0);
    unlink(summary);
    const char *argv[64] = {bin,     "--target",     target,   "--summary-file",
                            summary, "--backoff-ms", "50,300", "--log-level",
                            "debug"};
    size_t n = 9;
    for (const char *const *e = extra; *e && n < 62; e++)
        argv[n++] = *e;
    argv[n] = NULL;
    harness_proc_t *p = harness_spawn(name, (char *const *)argv, NULL);
    assert_non_null(p);
    for (int i = 0; i < 600 && harness_alive(p); i++)
        usleep(50 * 1000);
    *status = harness_stop(p);
    json_error_t err;
    return json_load_file(summary, 0, &err);
}

static long jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_non_null(v);
    return (long)json_integer_value(v);
}

static long status_count(json_t *sum, const char *code)
{
    json_t *v = json_object_get(json_object_get(sum, "status_counts"), code);
    return v ? (long)json_integer_value(v) : 0;
}

/* What the server saw of the agent's records, given its summary entry: every record of a
 * stream that ended cleanly (status 0 after the half-close) arrived; a stream cut by the
 * server lost at most its tail (the server saw a prefix of it); with exact, no duplicates and
 * nothing else. Payload bytes are always those sim_payload builds. */
static void check_agent_records(json_t *pa, bool exact)
{
    const char *id = json_string_value(json_object_get(pa, "id"));
    long sent = jint(pa, "sent");
    agent_stats_t *st = stats_for(id);
    assert_non_null(st);
    json_t *streams = json_object_get(pa, "streams");
    assert_non_null(streams);
    pthread_mutex_lock(&ST.mu);
    long covered = 0;
    json_t *sv;
    size_t k;
    json_array_foreach(streams, k, sv)
    {
        long from = (long)json_integer_value(json_array_get(sv, 0));
        long to = (long)json_integer_value(json_array_get(sv, 1));
        long code = (long)json_integer_value(json_array_get(sv, 2));
        assert_true(from < to && to <= sent);
        covered += to - from;
        long q = from;
        while (q < to && st->seen[q])
            q++;
        if (code == 0 && q < to)
            fail_msg("%s: record %ld of clean stream [%ld,%ld) never arrived", id, q, from, to);
        for (long r = q; r < to; r++) {
            if (st->seen[r])
                fail_msg("%s: stream [%ld,%ld) lost %ld but not %ld", id, from, to, q, r);
        }
    }
    if (exact) {
        assert_int_equal(covered, sent);
        assert_int_equal(st->distinct, sent);
        assert_int_equal(st->dups, 0);
    }
    assert_int_equal(st->bad_bytes, 0);
    pthread_mutex_unlock(&ST.mu);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_tls_minted_counts(void **state)
{
    (void)state;
    stats_reset();
    W.srv = srv_start(W.port, false);
    const char *extra[] = {"--agents",
                           "6",
                           "--ca",
                           W.ca,
                           "--ca-key",
                           W.ca_key,
                           "--rate",
                           "150",
                           "--batch-ms",
                           "20",
                           "--record-size",
                           "200",
                           "--heartbeat-ms",
                           "400",
                           "--plugin-heartbeat",
                           "--duration",
                           "3",
                           "--per-agent",
                           NULL};
    int st;
    json_t *sum = run_sim("sim-tls", extra, &st);
    srv_stop(W.srv);
    assert_int_equal(st, 0);
    assert_non_null(sum);
    assert_int_equal(jint(sum, "agents"), 6);
    assert_int_equal(jint(sum, "connected"), 6);
    assert_int_equal(jint(sum, "reconnects"), 0);
    assert_int_equal(status_count(sum, "0"), 6); /* the half-close was answered */
    assert_int_equal(jint(sum, "commands"), 6);
    assert_int_equal(jint(sum, "config_syncs"), 6);
    assert_int_equal(jint(sum, "results_sent"), 6);
    /* 6 agents x 150/s over most of 3 s. */
    assert_true(jint(sum, "records_sent") > 6 * 150);
    long total = 0, hb = 0;
    json_t *pa;
    size_t i;
    json_array_foreach(json_object_get(sum, "per_agent"), i, pa)
    {
        const char *id = json_string_value(json_object_get(pa, "id"));
        char want[64];
        snprintf(want, sizeof(want), "sim-%05zu", i);
        assert_string_equal(id, want);
        check_agent_records(pa, true);
        agent_stats_t *as = stats_for(id);
        total += jint(pa, "sent");
        hb += jint(pa, "heartbeats");
        assert_int_equal(as->heartbeats, jint(pa, "heartbeats"));
        assert_int_equal(as->plugin_heartbeats, jint(pa, "heartbeats"));
        assert_true(jint(pa, "heartbeats") >= 3); /* at start, then every 400 ms */
        snprintf(want, sizeof(want), "tok-%s", id);
        assert_int_equal(as->results, 1);
        assert_string_equal(as->result_tokens[0], want);
        json_t *cmds = json_object_get(pa, "commands");
        assert_int_equal(json_array_size(cmds), 1);
        assert_string_equal(json_string_value(json_array_get(cmds, 0)), want);
        assert_int_equal(as->streams, 1);
    }
    assert_int_equal(i, 6);
    assert_int_equal(total, jint(sum, "records_sent"));
    assert_int_equal(hb, jint(sum, "heartbeats_sent"));
    assert_int_equal(ST.no_cn, 0);
    assert_int_equal(ST.mismatched_id, 0);
    json_decref(sum);
}

/* The server goes away mid-run and comes back on the same port: every agent reconnects and
 * nothing counted as sent is missing. */
static void test_restart(void **state)
{
    (void)state;
    stats_reset();
    W.srv = srv_start(W.port, false);
    char bin[512], target[64], summary[600];
    harness_bin("tests/tools/agent-sim/rampart-agent-sim", bin, sizeof(bin));
    snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)W.port);
    assert_int_equal(harness_write_file("sim-restart.json", "", summary, sizeof(summary)), 0);
    char *const argv[] = {bin,
                          "--target",
                          target,
                          "--agents",
                          "4",
                          "--ca",
                          W.ca,
                          "--ca-key",
                          W.ca_key,
                          "--rate",
                          "200",
                          "--batch-ms",
                          "10",
                          "--record-size",
                          "200",
                          "--backoff-ms",
                          "50,300",
                          "--per-agent",
                          "--summary-file",
                          summary,
                          NULL};
    harness_proc_t *p = harness_spawn("sim-restart", argv, NULL);
    assert_non_null(p);
    assert_int_equal(harness_wait_log(p, "event=all_connected", NULL, 0, 10000), 0);
    usleep(800 * 1000);
    srv_stop(W.srv);
    usleep(500 * 1000);
    W.srv = srv_start(W.port, false);
    assert_int_equal(harness_wait_log(p, "event=all_reconnected", NULL, 0, 10000), 0);
    usleep(800 * 1000);
    int st = harness_stop(p); /* SIGTERM */
    srv_stop(W.srv);
    assert_int_equal(st, 0);
    json_error_t err;
    json_t *sum = json_load_file(summary, 0, &err);
    assert_non_null(sum);
    assert_true(jint(sum, "reconnects") >= 4);
    assert_int_equal(status_count(sum, "0"), 4);
    assert_true(status_count(sum, "0") < jint(sum, "agents") + jint(sum, "reconnects"));
    json_t *pa;
    size_t i;
    json_array_foreach(json_object_get(sum, "per_agent"), i, pa)
    {
        check_agent_records(pa, false);
        assert_true(stats_for(json_string_value(json_object_get(pa, "id")))->streams >= 2);
    }
    json_decref(sum);
}

/* A certificate from another CA: the handshake fails, nothing is counted. */
static void test_foreign_cert(void **state)
{
    (void)state;
    stats_reset();
    W.srv = srv_start(W.port, false);
    char cert[700], key[700];
    snprintf(cert, sizeof(cert), "%s.pem", W.foreign_prefix);
    snprintf(key, sizeof(key), "%s.key", W.foreign_prefix);
    const char *extra[] = {"--agents", "2", "--ca",       W.ca, "--cert", cert,
                           "--key",    key, "--duration", "2",  NULL};
    int st;
    json_t *sum = run_sim("sim-foreign", extra, &st);
    srv_stop(W.srv);
    assert_int_equal(st, 0);
    assert_non_null(sum);
    assert_int_equal(jint(sum, "connected"), 0);
    assert_int_equal(jint(sum, "records_sent"), 0);
    assert_int_equal(jint(sum, "heartbeats_sent"), 0);
    assert_true(status_count(sum, "14") >= 2);
    assert_int_equal(ST.messages, 0);
    json_decref(sum);
}

/* Abuse modes in plaintext: each agent sends its bad message exactly once. */
static void test_abuse(void **state)
{
    (void)state;
    static const char *modes[] = {"malformed", "unknown-type", "empty-id", "oversized:300000"};
    for (size_t m = 0; m < 4; m++) {
        stats_reset();
        W.srv = srv_start(W.port, true);
        char name[32];
        snprintf(name, sizeof(name), "sim-abuse-%zu", m);
        const char *extra[] = {"--agents", "3",  "--plaintext", "--abuse", modes[m],
                               "--rate",   "20", "--duration",  "2",       NULL};
        int st;
        json_t *sum = run_sim(name, extra, &st);
        srv_stop(W.srv);
        assert_int_equal(st, 0);
        assert_non_null(sum);
        assert_int_equal(jint(sum, "abuse_sent"), 3);
        long *count[] = {&ST.malformed, &ST.unknown_type, &ST.empty_id, &ST.oversized};
        assert_int_equal(*count[m], 3);
        if (m == 0) { /* the server ends those streams; the agents come back */
            assert_int_equal(status_count(sum, "3"), 3);
            assert_int_equal(jint(sum, "reconnects"), 3);
        }
        assert_int_equal(status_count(sum, "0"), 3);
        assert_true(jint(sum, "records_sent") > 0);
        json_decref(sum);
    }
}

/* --max-records stops generation at exactly M; --declare-id is what the server sees. */
static void test_max_records_and_declare(void **state)
{
    (void)state;
    stats_reset();
    W.srv = srv_start(W.port, false);
    const char *extra[] = {"--agents",      "2",
                           "--ca",          W.ca,
                           "--ca-key",      W.ca_key,
                           "--rate",        "1000",
                           "--max-records", "57",
                           "--record-size", "200",
                           "--declare-id",  "someone-else",
                           "--duration",    "2",
                           "--per-agent",   NULL};
    int st;
    json_t *sum = run_sim("sim-max", extra, &st);
    srv_stop(W.srv);
    assert_int_equal(st, 0);
    assert_non_null(sum);
    assert_int_equal(jint(sum, "records_sent"), 2 * 57);
    json_t *pa;
    size_t i;
    json_array_foreach(json_object_get(sum, "per_agent"), i, pa) check_agent_records(pa, true);
    assert_true(ST.mismatched_id > 0);
    json_decref(sum);
}

static void test_usage_errors(void **state)
{
    (void)state;
    const char *bad[][4] = {
        {"--agents", "0", NULL, NULL},         {"--agents", "20001", NULL, NULL},
        {"--abuse", "bogus", NULL, NULL},      {"--backoff-ms", "500,100", NULL, NULL},
        {"--ca", "x.pem", NULL, NULL}, /* neither --ca-key nor --cert */
        {"--plaintext", "--ca", "x.pem", NULL}};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        char bin[512];
        harness_bin("tests/tools/agent-sim/rampart-agent-sim", bin, sizeof(bin));
        const char *argv[8] = {bin, "--target", "127.0.0.1:1"};
        size_t n = 3;
        for (size_t j = 0; j < 4 && bad[k][j]; j++)
            argv[n++] = bad[k][j];
        if (k < 4)
            argv[n++] = "--plaintext";
        argv[n] = NULL;
        harness_proc_t *p = harness_spawn("sim-usage", (char *const *)argv, NULL);
        for (int i = 0; i < 100 && harness_alive(p); i++)
            usleep(20 * 1000);
        int st = harness_stop(p);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 2);
    }
}

static int setup(void **state)
{
    (void)state;
    grpc_init();
    assert_int_equal(harness_make_pki(W.pki, sizeof(W.pki)), 0);
    snprintf(W.ca, sizeof(W.ca), "%s/ca.pem", W.pki);
    snprintf(W.ca_key, sizeof(W.ca_key), "%s/ca.key", W.pki);
    assert_int_equal(
        harness_make_client_cert(W.pki, "sim-00000", W.cert_prefix, sizeof(W.cert_prefix)), 0);
    assert_int_equal(harness_make_foreign_client_cert(W.pki, "sim-00000", W.foreign_prefix,
                                                      sizeof(W.foreign_prefix)),
                     0);
    W.port = harness_free_port();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < MAX_AGENTS; i++)
        free(ST.agents[i].seen);
    grpc_shutdown();
    return 0;
}

int main(void)
{
    harness_init("agent_sim");
    log_init("test-agent-sim", LOG_LEVEL_WARN, 2);
    log_bridge_grpc(); /* the test server's handshake failures are expected */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_tls_minted_counts),
        cmocka_unit_test(test_max_records_and_declare),
        cmocka_unit_test(test_foreign_cert),
        cmocka_unit_test(test_abuse),
        cmocka_unit_test(test_restart),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
