/* AgentCenter against real servers: Redis + service discovery, the Kafka-protocol broker, two
 * AgentCenters over mutual TLS and simulated agents (tests/tools/agent-sim).
 *
 *   1. 200 agents over mTLS: every record reaches Kafka with key = agent id, a correct envelope
 *      and the payload byte for byte; a command through the admin API reaches the right agent
 *      and its answer comes back; the agent's address is its real one; certificates from
 *      another CA (counted at the TLS handshake) and ids that differ from the certificate are
 *      refused; the admin API refuses unsigned requests.
 *   2. The broker stopped (SIGSTOP) for 10 s while agents send: streams pause (back-pressure)
 *      and afterwards every record sent is in Kafka exactly once.
 *   3. Malformed, oversized, unknown-type and empty-id input: refused with a counted reason
 *      and the server keeps serving.
 *   4. Two AgentCenters: one killed, its agents reconnect to the other through service
 *      discovery within 15 s; SIGTERM of the survivor exits 0 after draining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "envelope.pb-c.h"
#include "harness.h"
#include "harness_kafka.h"
#include "rampart.pb-c.h"
#include "tests/tools/agent-sim/sim_payload.h"

#define NAGENTS     200
#define PER_AGENT   60
#define RECORD_SIZE 300
#define MAX_MESSAGE (64 * 1024)

typedef struct {
    harness_proc_t *proc;
    uint16_t grpc_port, http_port;
    char id[32];
} ac_t;

typedef struct {
    harness_proc_t *redis, *sd, *kafka;
    uint16_t redis_port, sd_port;
    char bootstrap[256];
    char keys_path[512], ak[32], sk[65];
    char pki[512];
    ac_t ac[2];
} world_t;

static world_t W;

/* --- services ----------------------------------------------------------------------------- */

static void start_sd(void)
{
    char cfg[1024], path[512], bin[512];
    W.sd_port = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "http:\n  listen: 127.0.0.1:%u\nredis:\n  addr: 127.0.0.1:%u\n"
             "registry:\n  ttl: 30s\n  cache: 0\nauth:\n  keys_file: %s\n",
             (unsigned)W.sd_port, (unsigned)W.redis_port, W.keys_path);
    assert_int_equal(harness_write_file("sd.yaml", cfg, path, sizeof(path)), 0);
    harness_bin("service-discovery/rampart-sd", bin, sizeof(bin));
    char *argv[] = {bin, "-c", path, NULL};
    assert_non_null(W.sd = harness_spawn("sd", argv, NULL));
    assert_int_equal(harness_wait_port(W.sd_port, 15000), 0);
}

/* max_message: grpc.max_message_size; extra: more keys of the kafka: section, each line
 * indented by two spaces. */
static void start_ac(int i, int max_message, const char *extra)
{
    ac_t *a = &W.ac[i];
    char cfg[4096], path[512], bin[512], name[16];
    a->grpc_port = harness_free_port();
    a->http_port = harness_free_port();
    snprintf(a->id, sizeof(a->id), "ac-test-%d", i);
    snprintf(cfg, sizeof(cfg),
             "log:\n  level: info\ninstance:\n  id: %s\n"
             "grpc:\n  listen: 127.0.0.1:%u\n  max_message_size: %d\n  drain_timeout: 2s\n"
             "tls:\n  ca_file: %s/ca.pem\n  cert_file: %s/server.pem\n  key_file: %s/server.key\n"
             "http:\n  listen: 127.0.0.1:%u\nauth:\n  keys_file: %s\n"
             "kafka:\n  brokers: %s\n  flush_timeout: 4s\n%s"
             "sd:\n  addrs: [127.0.0.1:%u]\n  access_key: %s\n  renew_interval: 1s\n",
             a->id, (unsigned)a->grpc_port, max_message, W.pki, W.pki, W.pki,
             (unsigned)a->http_port, W.keys_path, W.bootstrap, extra ? extra : "",
             (unsigned)W.sd_port, W.ak);
    snprintf(name, sizeof(name), "ac%d.yaml", i);
    assert_int_equal(harness_write_file(name, cfg, path, sizeof(path)), 0);
    harness_bin("agent-center/rampart-agent-center", bin, sizeof(bin));
    char *argv[] = {bin, "-c", path, NULL};
    snprintf(name, sizeof(name), "ac%d", i);
    assert_non_null(a->proc = harness_spawn(name, argv, NULL));
    assert_int_equal(harness_wait_log(a->proc, "event=started", NULL, 0, 15000), 0);
}

/* Signed admin request to AgentCenter i; returns the status and the parsed body. */
static long ac_call(int i, const char *method, const char *path, const char *body, json_t **out)
{
    char u[256];
    snprintf(u, sizeof(u), "http://127.0.0.1:%u%s", (unsigned)W.ac[i].http_port, path);
    harness_http_response_t r;
    harness_http_signed(method, u, body, body ? strlen(body) : 0, W.ak, W.sk, 0, &r);
    json_error_t je;
    if (out)
        *out = r.body ? json_loads(r.body, 0, &je) : NULL;
    long st = r.status;
    harness_http_response_free(&r);
    return st;
}

static json_int_t ac_connections(int i)
{
    json_t *s = NULL;
    long st = ac_call(i, "GET", "/api/v1/summary", NULL, &s);
    json_int_t n = st == 200 ? json_integer_value(json_object_get(s, "connections")) : -1;
    json_decref(s);
    return n;
}

/* Value of one Prometheus series (name with its labels, exactly as rendered), -1 if absent. */
static double metric(int i, const char *series)
{
    return harness_metric(W.ac[i].http_port, series);
}

/* --- simulated agents --------------------------------------------------------------------- */

typedef struct {
    harness_proc_t *proc;
    char summary[512];
} sim_t;

/* Starts rampart-agent-sim with the common TLS options plus args (NULL-terminated). */
static void sim_start(sim_t *s, const char *name, const char *const *args, bool wait_connected)
{
    char bin[512], ca[600], cakey[600];
    static char *argv[64];
    size_t n = 0;
    harness_bin("tests/tools/agent-sim/rampart-agent-sim", bin, sizeof(bin));
    snprintf(ca, sizeof(ca), "%s/ca.pem", W.pki);
    snprintf(cakey, sizeof(cakey), "%s/ca.key", W.pki);
    char fname[64];
    snprintf(fname, sizeof(fname), "%s.json", name);
    assert_int_equal(harness_write_file(fname, "", s->summary, sizeof(s->summary)), 0);
    argv[n++] = bin;
    argv[n++] = "--ca";
    argv[n++] = ca;
    bool own_cert = false;
    for (size_t i = 0; args[i]; i++)
        own_cert = own_cert || strcmp(args[i], "--cert") == 0;
    if (!own_cert) {
        argv[n++] = "--ca-key";
        argv[n++] = cakey;
    }
    argv[n++] = "--summary-file";
    argv[n++] = s->summary;
    for (size_t i = 0; args[i] && n < 62; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    assert_non_null(s->proc = harness_spawn(name, argv, NULL));
    if (wait_connected)
        assert_int_equal(harness_wait_log(s->proc, "event=all_connected", NULL, 0, 60000), 0);
}

/* Stops the sim (SIGTERM: half-close and drain) and returns its summary. */
static json_t *sim_stop(sim_t *s)
{
    int st = harness_stop(s->proc);
    s->proc = NULL;
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    json_error_t je;
    json_t *j = json_load_file(s->summary, 0, &je);
    if (!j)
        fail_msg("no sim summary in %s: %s", s->summary, je.text);
    return j;
}

/* Waits for a sim that runs with --duration to exit, then returns its summary. */
static json_t *sim_wait(sim_t *s, int timeout_s)
{
    for (int i = 0; i < timeout_s * 10 && harness_alive(s->proc); i++)
        harness_sleep_ms(100);
    return sim_stop(s);
}

static json_int_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* --- reading Kafka back ------------------------------------------------------------------- */

typedef struct {
    size_t events;     /* records of the checked prefix */
    size_t duplicates; /* (agent, seq) seen twice */
    size_t bad;        /* key, envelope or payload wrong */
    size_t heartbeats, plugin_heartbeats;
    bool task_result; /* the 5100 answer to the test's command */
} tally_t;

/* Reads rampart.events from the start until want records of agents with id prefix are in,
 * or timeout_s passes, checking each record completely. seen is agents x per_agent. */
static void read_events(const char *prefix, size_t nagents, size_t per_agent, size_t want,
                        const char *ac_id, int timeout_s, tally_t *t)
{
    harness_kafka_reader_t *r = harness_kafka_reader_new(W.bootstrap, "rampart.events");
    assert_non_null(r);
    unsigned char *seen = calloc(nagents * per_agent, 1);
    double deadline = harness_now_s() + timeout_s;
    strbuf_t expect = STRBUF_INIT;
    harness_kafka_msg_t m;
    size_t plen = strlen(prefix);
    while (t->events < want && harness_now_s() < deadline) {
        if (!harness_kafka_next(r, 500, &m))
            continue;
        if (strncmp(m.key, prefix, plen) != 0) {
            harness_kafka_msg_dispose(&m);
            continue;
        }
        Rampart__Envelope *e = rampart__envelope__unpack(NULL, m.len, m.value);
        char agent[64] = "";
        uint64_t seq = 0;
        long idx = strtol(m.key + plen, NULL, 10);
        bool ok =
            e && strcmp(e->agent_id, m.key) == 0 && e->data_type == 59 &&
            e->server_time > 1700000000 && e->agent_time > 1700000000 && e->hostname[0] &&
            (!ac_id || strcmp(e->agent_center, ac_id) == 0) &&
            sim_payload_parse(e->payload.data, e->payload.len, agent, sizeof(agent), &seq) == 0 &&
            strcmp(agent, m.key) == 0 && idx >= 0 && (size_t)idx < nagents && seq < per_agent;
        if (ok) {
            expect.len = 0;
            sim_payload_build(agent, seq, 59, RECORD_SIZE, &expect);
            ok = expect.len == e->payload.len &&
                 memcmp(expect.data, e->payload.data, expect.len) == 0;
        }
        if (!ok) {
            if (t->bad++ < 3)
                print_message("bad record: key=%s partition=%d offset=%lld\n", m.key, m.partition,
                              (long long)m.offset);
        } else if (seen[(size_t)idx * per_agent + seq]++) {
            t->duplicates++;
        } else {
            t->events++;
        }
        if (e)
            rampart__envelope__free_unpacked(e, NULL);
        harness_kafka_msg_dispose(&m);
    }
    strbuf_dispose(&expect);
    free(seen);
    harness_kafka_reader_free(r);
}

/* Reads rampart.state for the prefix's heartbeats and the 5100 with token for agent key. */
static void read_state(const char *prefix, const char *key, const char *token, int timeout_s,
                       tally_t *t)
{
    harness_kafka_reader_t *r = harness_kafka_reader_new(W.bootstrap, "rampart.state");
    assert_non_null(r);
    double deadline = harness_now_s() + timeout_s;
    harness_kafka_msg_t m;
    while (harness_now_s() < deadline &&
           !(t->task_result && t->heartbeats && t->plugin_heartbeats)) {
        if (!harness_kafka_next(r, 500, &m))
            continue;
        Rampart__EnvelopeView *e = rampart__envelope_view__unpack(NULL, m.len, m.value);
        if (e && strncmp(m.key, prefix, strlen(prefix)) == 0 && e->payload) {
            t->heartbeats += e->data_type == 1000;
            t->plugin_heartbeats += e->data_type == 1001;
            if (e->data_type == 5100 && strcmp(m.key, key) == 0)
                for (size_t i = 0; i < e->payload->n_fields; i++)
                    if (strcmp(e->payload->fields[i]->key, "token") == 0 &&
                        strcmp(e->payload->fields[i]->value, token) == 0)
                        t->task_result = true;
        }
        if (e)
            rampart__envelope_view__free_unpacked(e, NULL);
        harness_kafka_msg_dispose(&m);
    }
    harness_kafka_reader_free(r);
}

/* --- tests -------------------------------------------------------------------------------- */

static void test_mtls_200_agents(void **state)
{
    (void)state;
    char per[16], target[32];
    snprintf(per, sizeof(per), "%d", PER_AGENT);
    snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)W.ac[0].grpc_port);
    sim_t s;
    const char *args[] = {"--target",
                          target,
                          "--agents",
                          "200",
                          "--id-prefix",
                          "m-",
                          "--rate",
                          "20",
                          "--max-records",
                          per,
                          "--heartbeat-ms",
                          "2000",
                          "--plugin-heartbeat",
                          "--record-size",
                          "300",
                          NULL};
    double t0 = harness_now_s();
    sim_start(&s, "sim-mtls", args, true);
    print_message("200 agents connected over mTLS in %.1f s\n", harness_now_s() - t0);
    assert_int_equal(ac_connections(0), NAGENTS);

    /* One agent's status, with its parsed heartbeat. */
    json_t *j = NULL;
    harness_sleep_ms(2500);
    assert_int_equal(ac_call(0, "GET", "/api/v1/agents/m-00042", NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "agent_id")), "m-00042");
    /* The agent's real address, through the TLS gate (not gRPC's name for the socketpair). */
    const char *peer = json_string_value(json_object_get(j, "peer"));
    assert_non_null(peer);
    assert_true(strncmp(peer, "ipv4:127.0.0.1:", 15) == 0);
    assert_true(jint(j, "last_heartbeat_at") > 0);
    assert_non_null(json_object_get(json_object_get(j, "heartbeat"), "version"));
    assert_int_equal(json_array_size(json_object_get(j, "plugins")), 1);
    json_decref(j);
    assert_int_equal(ac_call(0, "GET", "/api/v1/connections?limit=5", NULL, &j), 200);
    assert_int_equal(jint(j, "total"), NAGENTS);
    assert_int_equal(json_array_size(json_object_get(j, "connections")), 5);
    json_decref(j);

    /* A command reaches the right agent; one for an agent that is not here is refused. */
    const char *cmd = "{\"task\":{\"data_type\":1050,\"object_name\":\"sim-plugin\","
                      "\"data\":\"{\\\"path\\\":\\\"/etc/hosts\\\"}\",\"token\":\"tok-m-42\"}}";
    assert_int_equal(ac_call(0, "POST", "/api/v1/agents/m-00042/commands", cmd, &j), 202);
    assert_string_equal(json_string_value(json_object_get(j, "token")), "tok-m-42");
    json_decref(j);
    assert_int_equal(ac_call(0, "POST", "/api/v1/agents/nobody-1/commands", cmd, &j), 404);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        "agent_not_connected");
    json_decref(j);
    assert_int_equal(ac_call(0, "POST", "/api/v1/agents/m-00001/commands", "{\"task\":{}}", &j),
                     400);
    json_decref(j);
    assert_int_equal(harness_wait_log(s.proc, "agent_id=m-00042 data_type=1050", NULL, 0, 10000),
                     0);

    /* Every record, byte for byte. */
    tally_t t = {0};
    read_events("m-", NAGENTS, PER_AGENT, (size_t)NAGENTS * PER_AGENT, "ac-test-0", 90, &t);
    print_message("events: %zu in Kafka, %zu duplicates, %zu bad\n", t.events, t.duplicates, t.bad);
    assert_int_equal(t.events, (size_t)NAGENTS * PER_AGENT);
    assert_int_equal(t.duplicates, 0);
    assert_int_equal(t.bad, 0);
    read_state("m-", "m-00042", "tok-m-42", 30, &t);
    assert_true(t.task_result);
    assert_true(t.heartbeats >= NAGENTS);
    assert_true(t.plugin_heartbeats >= NAGENTS);

    json_t *sum = sim_stop(&s);
    assert_int_equal(jint(sum, "records_sent"), (json_int_t)NAGENTS * PER_AGENT);
    assert_int_equal(jint(sum, "commands"), 1);
    json_decref(sum);
    assert_true(metric(0, "rampart_ac_records_dropped_total{reason=\"kafka_delivery\"}") == 0);

    /* A certificate from another CA never gets a stream. */
    char foreign[600], fpem[700], fkey[700];
    assert_int_equal(
        harness_make_foreign_client_cert(W.pki, "m-intruder", foreign, sizeof(foreign)), 0);
    snprintf(fpem, sizeof(fpem), "%s.pem", foreign);
    snprintf(fkey, sizeof(fkey), "%s.key", foreign);
    const char *bad[] = {"--target", target,   "--agents", "1",          "--cert", fpem, "--key",
                         fkey,       "--rate", "10",       "--duration", "3",      NULL};
    sim_start(&s, "sim-foreign", bad, false);
    sum = sim_wait(&s, 20);
    assert_int_equal(jint(sum, "connected"), 0);
    assert_int_equal(jint(sum, "records_sent"), 0);
    json_decref(sum);
    assert_true(metric(0, "rampart_ac_tls_handshakes_total{result=\"verify_failed\"}") >= 1);

    /* A valid certificate declaring someone else's id is refused (PERMISSION_DENIED = 7). */
    const char *liar[] = {
        "--target", target,   "--agents", "2",          "--id-prefix", "liar-", "--declare-id",
        "m-00007",  "--rate", "10",       "--duration", "3",           NULL};
    sim_start(&s, "sim-liar", liar, false);
    sum = sim_wait(&s, 20);
    assert_true(jint(json_object_get(sum, "status_counts"), "7") >= 2);
    json_decref(sum);
    assert_true(metric(0, "rampart_ac_streams_closed_total{reason=\"agent_id_mismatch\"}") >= 2);

    /* The admin API refuses unsigned requests. */
    char u[128];
    snprintf(u, sizeof(u), "http://127.0.0.1:%u/api/v1/connections", (unsigned)W.ac[0].http_port);
    harness_http_response_t r;
    harness_http("GET", u, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 401);
    harness_http_response_free(&r);
}

static void test_broker_outage(void **state)
{
    (void)state;
    char target[32];
    snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)W.ac[1].grpc_port);
    double full_before = metric(1, "rampart_ac_kafka_queue_full_total");
    sim_t s;
    const char *args[] = {
        "--target",      target, "--agents",       "40", "--id-prefix", "o-", "--rate", "100",
        "--record-size", "300",  "--heartbeat-ms", "0",  "--duration",  "22", NULL};
    sim_start(&s, "sim-outage", args, true);
    harness_sleep_ms(4000);
    pid_t kpid = harness_pid(W.kafka);
    assert_int_equal(kill(kpid, SIGSTOP), 0);
    print_message("broker stopped\n");
    harness_sleep_ms(10000);
    double paused = metric(1, "rampart_ac_paused_streams");
    assert_int_equal(kill(kpid, SIGCONT), 0);
    print_message("broker continued; %.0f streams were paused\n", paused);
    json_t *sum = sim_wait(&s, 60);
    json_int_t sent = jint(sum, "records_sent");
    json_decref(sum);
    assert_true(sent > 0);
    assert_true(metric(1, "rampart_ac_kafka_queue_full_total") > full_before);
    assert_true(paused > 0);

    /* Per agent, seq runs 0..n-1: read everything back. */
    tally_t t = {0};
    read_events("o-", 40, 4000, (size_t)sent, "ac-test-1", 90, &t);
    print_message("outage: sent %lld, in Kafka %zu, duplicates %zu, bad %zu\n", (long long)sent,
                  t.events, t.duplicates, t.bad);
    assert_int_equal(t.events, (size_t)sent);
    assert_int_equal(t.duplicates, 0);
    assert_int_equal(t.bad, 0);
    assert_true(metric(1, "rampart_ac_records_dropped_total{reason=\"kafka_delivery\"}") == 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    char target[32], big[32];
    snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)W.ac[0].grpc_port);
    snprintf(big, sizeof(big), "oversized:%d", MAX_MESSAGE + 4096);
    static const struct {
        const char *mode, *series;
        const char *status; /* gRPC status the agents get; NULL: the stream stays up (OK) */
    } cases[] = {
        {"malformed", "rampart_ac_streams_closed_total{reason=\"malformed\"}", "3"},
        {NULL, "rampart_ac_streams_closed_total{reason=\"oversized\"}", "8"},
        {"empty-id", "rampart_ac_streams_closed_total{reason=\"empty_agent_id\"}", "3"},
        {"unknown-type", "rampart_ac_records_rejected_total{reason=\"unknown_data_type\"}", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *mode = cases[i].mode ? cases[i].mode : big;
        char prefix[32], name[32];
        double before = metric(0, cases[i].series);
        snprintf(prefix, sizeof(prefix), "bad%zu-", i);
        snprintf(name, sizeof(name), "sim-abuse-%zu", i);
        /* A long backoff keeps each agent to one abusive stream in the 3 s run. */
        const char *args[] = {"--target",   target,    "--agents",     "3",           "--id-prefix",
                              prefix,       "--abuse", mode,           "--rate",      "20",
                              "--duration", "3",       "--backoff-ms", "10000,10000", NULL};
        sim_t s;
        sim_start(&s, name, args, false);
        json_t *sum = sim_wait(&s, 30);
        json_t *sc = json_object_get(sum, "status_counts");
        double after = metric(0, cases[i].series);
        char *scs = json_dumps(sc, JSON_COMPACT);
        print_message("abuse %s: %s went %.0f -> %.0f, status_counts %s\n", mode, cases[i].series,
                      before, after, scs ? scs : "?");
        free(scs);
        assert_true(after >= before + 3);
        if (cases[i].status)
            assert_true(jint(sc, cases[i].status) >= 3);
        else
            assert_int_equal(jint(sc, "0"), 3); /* streams ended normally, records counted */
        json_decref(sum);
    }
    /* Still serving: a well-behaved agent gets through. */
    const char *good[] = {"--target", target, "--agents",   "2", "--id-prefix", "good-",
                          "--rate",   "20",   "--duration", "2", NULL};
    sim_t s;
    sim_start(&s, "sim-after-abuse", good, true);
    json_t *sum = sim_wait(&s, 30);
    assert_true(jint(sum, "records_sent") > 0);
    assert_int_equal(jint(json_object_get(sum, "status_counts"), "0"), 2);
    json_decref(sum);
}

static void test_failover(void **state)
{
    (void)state;
    char sdaddr[32];
    snprintf(sdaddr, sizeof(sdaddr), "127.0.0.1:%u", (unsigned)W.sd_port);
    sim_t s;
    const char *args[] = {"--sd",   sdaddr, "--agents",       "100",  "--id-prefix",  "f-",
                          "--rate", "5",    "--heartbeat-ms", "5000", "--backoff-ms", "200,2000",
                          NULL};
    sim_start(&s, "sim-failover", args, true);
    json_int_t n0 = 0, n1 = 0;
    for (int i = 0; i < 50 && n0 + n1 < 100; i++) {
        harness_sleep_ms(100);
        n0 = ac_connections(0);
        n1 = ac_connections(1);
    }
    print_message("agents: %lld on ac0, %lld on ac1\n", (long long)n0, (long long)n1);
    assert_int_equal(n0 + n1, 100);
    int victim = n0 >= n1 ? 0 : 1, other = 1 - victim;
    double t0 = harness_now_s();
    harness_kill(W.ac[victim].proc);
    W.ac[victim].proc = NULL;
    json_int_t moved = 0;
    while (harness_now_s() - t0 < 30 && (moved = ac_connections(other)) < 100)
        harness_sleep_ms(100);
    double took = harness_now_s() - t0;
    print_message("all 100 agents on the survivor %.1f s after the kill (%lld there)\n", took,
                  (long long)moved);
    assert_int_equal(moved, 100);
    assert_true(took < 15.0);
    json_decref(sim_stop(&s));

    /* SIGTERM: deregister, drain, flush (nothing left behind), exit 0. */
    char log[1024];
    snprintf(log, sizeof(log), "%s", harness_log_path(W.ac[other].proc));
    int st = harness_stop(W.ac[other].proc);
    W.ac[other].proc = NULL;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[2048];
    bool deregistered = false, drained = false;
    while (fgets(line, sizeof(line), f)) {
        deregistered = deregistered || strstr(line, "event=sd_deregistered");
        drained = drained || strstr(line, "event=drained records_not_delivered=0");
    }
    fclose(f);
    assert_true(deregistered);
    assert_true(drained);
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(W.redis = harness_redis_start(&W.redis_port));
    assert_int_equal(
        harness_make_keys("rampart-test", W.sk, sizeof(W.sk), W.keys_path, sizeof(W.keys_path)), 0);
    snprintf(W.ak, sizeof(W.ak), "rampart-test");
    assert_int_equal(harness_make_pki(W.pki, sizeof(W.pki)), 0);
    assert_non_null(W.kafka = harness_kafka_start(W.bootstrap, sizeof(W.bootstrap)));
    start_sd();
    start_ac(0, MAX_MESSAGE, NULL);
    /* A small Kafka queue so that a 10 s outage fills it and pauses the streams. */
    start_ac(1, 4 << 20, "  queue_max_messages: 2000\n");
    return 0;
}

int main(void)
{
    harness_init("agent_center");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mtls_200_agents),
        cmocka_unit_test(test_broker_outage),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_failover),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
