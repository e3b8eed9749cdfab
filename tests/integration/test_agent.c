/* rampart-agent against real servers: Redis + service discovery, the Kafka-protocol broker, an
 * AgentCenter over mutual TLS, and test plugins (tests/tools/plugin-sim) it runs.
 *
 *   1. Identity: an agent whose certificate's CN is not its id refuses to start.
 *   2. The heartbeat (1000) reaches rampart.state with this machine's kernel, arch, CPUs,
 *      memory, boot time and hostname.
 *   3. Plugins: a crashing one is restarted, a flooding one throttled with the drop counted in
 *      the heartbeats, one writing a malformed frame cut off (logged reason) and restarted, one
 *      whose binary does not match its sha256 refused; a task through the AgentCenter's admin
 *      API reaches a plugin and its answer comes back (5100); an agent task (1051) is answered.
 *   4. The AgentCenter stopped for 60 s while a plugin emits 1,000 records/s: afterwards every
 *      record is in Kafka exactly once and in order. The agent never crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "envelope.pb-c.h"
#include "harness.h"
#include "harness_endpoint.h"
#include "harness_kafka.h"
#include "rampart.pb-c.h"

#define AGENT_ID "agent-test-1"

typedef struct {
    harness_endpoint_t e; /* servers, the agent, its folders (tests/harness/harness_endpoint.h) */
    char sha[65];         /* of plugin-sim, installed under each test plugin's name */
} world_t;

static world_t W;

/* --- services ----------------------------------------------------------------------------- */

/* Posts a command for the agent; retries while it is not connected yet. */
static void command(const char *body)
{
    assert_int_equal(harness_endpoint_command(&W.e, body), 202);
}

static double agent_metric(const char *series)
{
    return harness_endpoint_agent_metric(&W.e, series);
}

/* --- plugins ------------------------------------------------------------------------------ */

/* Installs plugin-sim as <plugins>/<name>/<name>. */
static void install_plugin(const char *name)
{
    char sha[65];
    assert_int_equal(harness_endpoint_install_plugin(
                         &W.e, name, "tests/tools/plugin-sim/rampart-plugin-sim", sha),
                     0);
    assert_string_equal(sha, W.sha);
}

/* Appends {"name","version","sha256","detail"} to a configs JSON array text. */
static void add_config(char *buf, size_t len, const char *name, const char *version,
                       const char *sha, const char *detail)
{
    size_t n = strlen(buf);
    snprintf(buf + n, len - n,
             "%s{\"name\":\"%s\",\"type\":\"plugin\",\"version\":\"%s\",\"sha256\":\"%s\","
             "\"detail\":\"%s\"}",
             n > 12 ? "," : "", name, version, sha, detail);
}

/* --- the agent ---------------------------------------------------------------------------- */

/* Counts lines of the agent's log holding every one of the (up to 3) needles. */
static int log_count(harness_proc_t *p, const char *a, const char *b, const char *c)
{
    FILE *f = fopen(harness_log_path(p), "r");
    if (!f)
        return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, a) && (!b || strstr(line, b)) && (!c || strstr(line, c));
    fclose(f);
    return n;
}

static bool wait_count(harness_proc_t *p, int want, int timeout_ms, const char *a, const char *b,
                       const char *c)
{
    for (int i = 0; i < timeout_ms / 100; i++) {
        if (log_count(p, a, b, c) >= want)
            return true;
        harness_sleep_ms(100);
    }
    return log_count(p, a, b, c) >= want;
}

/* --- Kafka -------------------------------------------------------------------------------- */

#define field harness_envelope_field

/* Reads rampart.state from the start until match returns true (or timeout). */
static bool scan_state(harness_envelope_fn match, void *ud, int timeout_s)
{
    return harness_endpoint_scan(&W.e, "rampart.state", match, ud, timeout_s);
}

/* --- tests -------------------------------------------------------------------------------- */

static void test_identity_refused(void **state)
{
    (void)state;
    /* The certificate says AGENT_ID; the configuration another id. */
    harness_proc_t *p = harness_endpoint_spawn_agent(&W.e, "agent-liar", "someone-else", NULL);
    assert_non_null(p);
    for (int i = 0; i < 100 && harness_alive(p); i++)
        harness_sleep_ms(100);
    assert_false(harness_alive(p));
    assert_true(log_count(p, "event=start_failed", "someone-else", AGENT_ID) >= 1);
    int st = harness_stop(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

static bool hb_matches(const Rampart__EnvelopeView *e, void *ud)
{
    (void)ud;
    if (e->data_type != 1000)
        return false;
    struct utsname u;
    assert_int_equal(uname(&u), 0);
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    char nproc[16], mem[32], btime[32] = "";
    snprintf(nproc, sizeof(nproc), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
            break;
    fclose(f);
    snprintf(mem, sizeof(mem), "%llu", kb * 1024ULL);
    f = fopen("/proc/stat", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "btime ", 6) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(btime, sizeof(btime), "%s", line + 6);
        }
    fclose(f);
    const struct {
        const char *key, *want;
    } checks[] = {{"kernel_version", u.release},
                  {"arch", u.machine},
                  {"hostname", host},
                  {"nproc", nproc},
                  {"total_mem", mem},
                  {"boot_time", btime},
                  {"agent_id", AGENT_ID},
                  {"state", NULL},
                  {"cpu", NULL},
                  {"rss", NULL},
                  {"spool_records", NULL}};
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        const char *v = field(e, checks[i].key);
        if (!v)
            fail_msg("heartbeat has no %s", checks[i].key);
        if (checks[i].want && strcmp(v, checks[i].want) != 0)
            fail_msg("heartbeat %s = %s, this machine says %s", checks[i].key, v, checks[i].want);
    }
    assert_string_equal(e->hostname, host);
    assert_true(strtoull(field(e, "rss"), NULL, 10) > 0);
    assert_true(e->agent_time > 1700000000);
    print_message("heartbeat: kernel %s, %s CPUs, %s bytes, rss %s\n", field(e, "kernel_version"),
                  field(e, "nproc"), field(e, "total_mem"), field(e, "rss"));
    return true;
}

static void test_heartbeat(void **state)
{
    (void)state;
    assert_int_equal(harness_wait_log(W.e.agent, "event=connected", NULL, 0, 20000), 0);
    assert_true(scan_state(hb_matches, NULL, 30));
}

typedef struct {
    const char *token;
    const char *msg_prefix;
    bool found;
} result_want_t;

static bool result_matches(const Rampart__EnvelopeView *e, void *ud)
{
    result_want_t *w = ud;
    const char *tok = field(e, "token"), *msg = field(e, "msg"), *st = field(e, "status");
    if (e->data_type != 5100 || !tok || strcmp(tok, w->token) != 0)
        return false;
    assert_string_equal(st, "succeed");
    assert_non_null(msg);
    assert_memory_equal(msg, w->msg_prefix, strlen(w->msg_prefix));
    return w->found = true;
}

typedef struct {
    bool plugin_hb, agent_hb, idc;
    uint64_t plugin_drops;
} flood_t;

static bool flood_matches(const Rampart__EnvelopeView *e, void *ud)
{
    flood_t *f = ud;
    const char *name = field(e, "name");
    if (e->data_type == 1001 && name && strcmp(name, "flood") == 0) {
        uint64_t d = strtoull(field(e, "drops") ? field(e, "drops") : "0", NULL, 10);
        const char *mode = field(e, "sim_mode"); /* the plugin's own 1001 fields, merged */
        if (d > 0 && mode && strcmp(mode, "flood") == 0) {
            f->plugin_hb = true;
            f->plugin_drops = d;
        }
    }
    if (e->data_type == 1000) {
        const char *t = field(e, "plugin_dropped_total");
        if (t && strtoull(t, NULL, 10) > 0)
            f->agent_hb = true;
        const char *idc = field(e, "idc");
        if (idc && strcmp(idc, "test-idc") == 0)
            f->idc = true;
    }
    return f->plugin_hb && f->agent_hb && f->idc;
}

static void test_plugins(void **state)
{
    (void)state;
    const char *names[] = {"crash", "flood", "malformed", "echo", "badsha"};
    for (size_t i = 0; i < 5; i++)
        install_plugin(names[i]);
    char body[4096] = "{\"configs\":[";
    add_config(body, sizeof(body), "crash", "1", W.sha, "mode=crash after=50 rate=500");
    add_config(body, sizeof(body), "flood", "1", W.sha, "mode=flood size=16");
    add_config(body, sizeof(body), "malformed", "1", W.sha, "mode=malformed after=20 rate=200");
    add_config(body, sizeof(body), "echo", "1", W.sha, "mode=echo");
    add_config(body, sizeof(body), "badsha", "1",
               "0000000000000000000000000000000000000000000000000000000000000000", "mode=echo");
    strcat(body, "]}");
    command(body);

    /* sha256 mismatch: refused, with the reason. */
    assert_true(wait_count(W.e.agent, 1, 10000, "event=plugin_refused plugin=badsha",
                           "sha256 mismatch", NULL));
    /* The crashing plugin is restarted (again and again). */
    assert_true(wait_count(W.e.agent, 3, 20000, "event=plugin_started plugin=crash", NULL, NULL));
    assert_true(log_count(W.e.agent, "event=plugin_exited plugin=crash", "signal 6", NULL) >= 2);
    /* The malformed frame cuts the plugin off, with the reason, and it comes back. */
    assert_true(wait_count(W.e.agent, 1, 10000, "event=plugin_cut_off plugin=malformed",
                           "reason=malformed_record", NULL));
    assert_true(
        wait_count(W.e.agent, 2, 10000, "event=plugin_started plugin=malformed", NULL, NULL));
    /* The flooding plugin is throttled. */
    assert_true(wait_count(W.e.agent, 1, 10000, "event=plugin_throttled plugin=flood", NULL, NULL));

    /* A task through the AgentCenter reaches the echo plugin; its answer comes back. */
    command("{\"task\":{\"data_type\":1234,\"object_name\":\"echo\",\"data\":\"hello\","
            "\"token\":\"tok-echo-1\"}}");
    result_want_t w = {.token = "tok-echo-1", .msg_prefix = "echo 1234 hello"};
    /* And a task for the agent itself (set metadata). */
    command("{\"task\":{\"data_type\":1051,\"object_name\":\"rampart-agent\","
            "\"data\":\"{\\\"idc\\\":\\\"test-idc\\\",\\\"region\\\":\\\"eu\\\"}\","
            "\"token\":\"tok-meta-1\"}}");
    assert_true(scan_state(result_matches, &w, 30));
    result_want_t w2 = {.token = "tok-meta-1", .msg_prefix = "metadata set"};
    assert_true(scan_state(result_matches, &w2, 30));

    /* The drops are counted in the heartbeats (agent and the plugin's own). */
    flood_t f = {0};
    assert_true(scan_state(flood_matches, &f, 30));
    print_message("flood: %" PRIu64 " records dropped by the rate limit\n", f.plugin_drops);
    assert_true(agent_metric("rampart_agent_plugin_dropped_total{plugin=\"flood\"}") > 0);
    assert_true(harness_alive(W.e.agent));
}

/* Reads rampart.events for the steady plugin's records: returns how many arrived; sets *bad on
 * a duplicate, a gap or a reordering. */
static uint64_t read_steady(uint64_t want, int timeout_s, const char *run, int *bad)
{
    harness_kafka_reader_t *r = harness_kafka_reader_new(W.e.bootstrap, "rampart.events");
    assert_non_null(r);
    double deadline = harness_now_s() + timeout_s;
    uint64_t next = 0;
    harness_kafka_msg_t m;
    while (next < want && harness_now_s() < deadline) {
        if (!harness_kafka_next(r, 500, &m))
            continue;
        Rampart__EnvelopeView *e = rampart__envelope_view__unpack(NULL, m.len, m.value);
        if (e && e->data_type == 9901 && strcmp(m.key, AGENT_ID) == 0) {
            const char *plugin = field(e, "plugin"), *seq = field(e, "seq"), *rn = field(e, "run");
            if (plugin && strcmp(plugin, "steady") == 0 && rn && strcmp(rn, run) == 0) {
                uint64_t s = strtoull(seq, NULL, 10);
                if (s != next) {
                    if ((*bad)++ < 5)
                        print_message("steady: expected seq %" PRIu64 ", got %" PRIu64 "\n", next,
                                      s);
                    if (s > next)
                        next = s + 1;
                } else {
                    next++;
                }
            }
        }
        if (e)
            rampart__envelope_view__free_unpacked(e, NULL);
        harness_kafka_msg_dispose(&m);
    }
    harness_kafka_reader_free(r);
    return next;
}

static void test_outage(void **state)
{
    (void)state;
    install_plugin("steady");
    char body[1024] = "{\"configs\":[";
    add_config(body, sizeof(body), "steady", "1", W.sha, "mode=steady rate=1000 size=40");
    strcat(body, "]}");
    command(body); /* also stops the plugins of the previous test */
    char rest[256];
    assert_int_equal(harness_wait_log(W.e.agent, "event=plugin_started plugin=steady", rest,
                                      sizeof(rest), 10000),
                     0);
    char run[32] = "";
    const char *pid = strstr(rest, "pid=");
    assert_non_null(pid);
    snprintf(run, sizeof(run), "%.*s", (int)strcspn(pid + 4, " \n"), pid + 4);
    harness_sleep_ms(3000);

    print_message("stopping the AgentCenter for 60 s\n");
    int st = harness_stop(W.e.ac);
    W.e.ac = NULL;
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    harness_sleep_ms(60000);
    double spooled = agent_metric("rampart_agent_spool_records");
    double disk = agent_metric("rampart_agent_spool_disk_bytes");
    print_message("after 60 s: %.0f records spooled, %.0f bytes on disk\n", spooled, disk);
    assert_true(spooled > 50000);
    assert_true(disk > 0);
    assert_int_equal(harness_endpoint_start_ac(&W.e), 0);
    assert_true(wait_count(W.e.agent, 2, 30000, "event=connected", NULL, NULL));
    harness_sleep_ms(5000);

    /* Stop the plugin: it says how many records it wrote. */
    command("{\"configs\":[]}");
    char plog[800];
    snprintf(plog, sizeof(plog), "%s/plugins/steady.log", W.e.state);
    uint64_t written = 0;
    for (int i = 0; i < 100 && !written; i++) {
        FILE *f = fopen(plog, "r");
        char line[512];
        while (f && fgets(line, sizeof(line), f)) {
            const char *p = strstr(line, "task pipe closed after ");
            if (p)
                written = strtoull(p + strlen("task pipe closed after "), NULL, 10);
        }
        if (f)
            fclose(f);
        if (!written)
            harness_sleep_ms(100);
    }
    print_message("steady plugin wrote %" PRIu64 " records\n", written);
    assert_true(written > 60000);
    int bad = 0;
    uint64_t got = read_steady(written, 120, run, &bad);
    print_message("in Kafka: %" PRIu64 " in order, %d out of order or duplicated\n", got, bad);
    assert_int_equal(bad, 0);
    assert_int_equal(got, written);
    assert_true(agent_metric("rampart_agent_spool_dropped_total") == 0);
    assert_true(harness_alive(W.e.agent));
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(harness_endpoint_start_servers(&W.e, AGENT_ID), 0);
    char bin[512];
    harness_bin("tests/tools/plugin-sim/rampart-plugin-sim", bin, sizeof(bin));
    assert_int_equal(harness_sha256_file(bin, W.sha), 0);
    assert_non_null(W.e.agent = harness_endpoint_spawn_agent(&W.e, "agent", AGENT_ID, NULL));
    assert_int_equal(harness_wait_log(W.e.agent, "event=started", NULL, 0, 15000), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (W.e.agent) {
        assert_true(harness_alive(W.e.agent));
        int st = harness_stop(W.e.agent);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    return 0;
}

int main(void)
{
    harness_init("agent");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_refused),
        cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_plugins),
        cmocka_unit_test(test_outage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
