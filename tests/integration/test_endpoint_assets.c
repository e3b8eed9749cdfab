/* The collector and journal plugins under the real rampart-agent, end to end: agent + service
 * discovery + AgentCenter (mutual TLS) + the Kafka-protocol broker (tests/harness/
 * harness_endpoint.h). What reaches Kafka is checked against this machine:
 *
 *   - rampart.state holds the agent heartbeat (1000), the collector's plugin heartbeat (1001,
 *     the agent's fields merged with the collector's own), and a complete snapshot of every
 *     asset kind (one package_seq, indexes 1..N, N = snapshot_total);
 *   - processes: a child we spawn is there with its pid, ppid, exe, cmdline and user; so are
 *     the agent and the collector itself;
 *   - ports: the AgentCenter's gRPC and the service discovery's HTTP ports, owned by their pids;
 *   - users: exactly the accounts glibc reads from /etc/passwd, with uid and shell;
 *   - packages: as many as dpkg-query lists installed, libc6 at dpkg's version;
 *   - interfaces and kernel modules as the kernel reports them;
 *   - a task (5052) through the AgentCenter runs a new user snapshot and is answered (5100);
 *   - the journal plugin, following an auth.log we write, sends SSH logins (4000) to
 *     rampart.events;
 *   - a config without the plugins stops them: they see their pipes close and exit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness_endpoint.h"

#define AGENT_ID "agent-assets-1"
#define FIELD    harness_envelope_field

static harness_endpoint_t W;
static pid_t g_child; /* "sleep 313", spawned before the first process snapshot */
static char g_collector_sha[65], g_journal_sha[65], g_auth_log[700];

static const int32_t kinds[] = {5050, 5051, 5052, 5053, 5054, 5055, 5056, 5059, 5062};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The records of one snapshot as JSON objects, in index order. */
typedef struct {
    char seq[32];
    size_t total;
    json_t *items; /* array of total slots (null until seen) */
    size_t got;
} snap_t;

typedef struct {
    snap_t cur[NKINDS];   /* being assembled (the latest package_seq seen) */
    json_t *done[NKINDS]; /* the latest complete snapshot's records */
    char done_seq[NKINDS][32];
    bool agent_hb, plugin_hb;
    const char *want_new_user_seq_after; /* stop only when a 5052 snapshot newer than this is in */
} world_view_t;

static int kind_index(int32_t dt)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (kinds[i] == dt)
            return (int)i;
    return -1;
}

static json_t *payload_json(const Rampart__EnvelopeView *e)
{
    json_t *o = json_object();
    for (size_t i = 0; e->payload && i < e->payload->n_fields; i++)
        json_object_set_new(o, e->payload->fields[i]->key,
                            json_string(e->payload->fields[i]->value));
    return o;
}

static const char *jget(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool view_complete(world_view_t *v)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (!v->done[i])
            return false;
    if (v->want_new_user_seq_after && strtoull(v->done_seq[kind_index(5052)], NULL, 10) <=
                                          strtoull(v->want_new_user_seq_after, NULL, 10))
        return false;
    return v->agent_hb && v->plugin_hb;
}

static bool collect(const Rampart__EnvelopeView *e, void *ud)
{
    world_view_t *v = ud;
    if (e->data_type == 1000 && FIELD(e, "agent_id") && strcmp(FIELD(e, "agent_id"), AGENT_ID) == 0)
        v->agent_hb = true;
    if (e->data_type == 1001 && FIELD(e, "name") && strcmp(FIELD(e, "name"), "collector") == 0 &&
        FIELD(e, "snapshots") && FIELD(e, "sdk_records") && FIELD(e, "pid")) {
        /* the collector's own fields, merged into the agent's 1001; nothing dropped */
        assert_string_equal(FIELD(e, "drops"), "0");
        v->plugin_hb = true;
    }
    int k = kind_index(e->data_type);
    if (k < 0)
        return view_complete(v);
    const char *seq = FIELD(e, "package_seq"), *tot = FIELD(e, "snapshot_total"),
               *idx = FIELD(e, "snapshot_index");
    if (!seq || !tot || !idx)
        fail_msg("data_type %d record without snapshot fields", e->data_type);
    snap_t *s = &v->cur[k];
    if (strcmp(s->seq, seq) != 0) { /* a new snapshot begins */
        json_decref(s->items);
        memset(s, 0, sizeof(*s));
        snprintf(s->seq, sizeof(s->seq), "%s", seq);
        s->total = strtoull(tot, NULL, 10);
        s->items = json_array();
        for (size_t i = 0; i < s->total; i++)
            json_array_append_new(s->items, json_null());
    }
    size_t i = strtoull(idx, NULL, 10);
    if (s->total == 0) {
        assert_string_equal(idx, "0");
    } else {
        assert_true(i >= 1 && i <= s->total);
        assert_true(json_is_null(json_array_get(s->items, i - 1))); /* each index once */
        assert_int_equal(strtoull(tot, NULL, 10), s->total);
        json_array_set_new(s->items, i - 1, payload_json(e));
        s->got++;
    }
    if (s->got == s->total) {
        json_decref(v->done[k]);
        v->done[k] = json_incref(s->items);
        snprintf(v->done_seq[k], sizeof(v->done_seq[k]), "%s", s->seq);
    }
    return view_complete(v);
}

static void view_dispose(world_view_t *v)
{
    for (size_t i = 0; i < NKINDS; i++) {
        json_decref(v->cur[i].items);
        json_decref(v->done[i]);
    }
    memset(v, 0, sizeof(*v));
}

static json_t *find(json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        const char *s = jget(o, key);
        if (s && strcmp(s, value) == 0)
            return o;
    }
    return NULL;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* --- the checks ---------------------------------------------------------------------------- */

static void check_processes(json_t *procs)
{
    char pid[16], me[16], exe[PATH_MAX];
    snprintf(pid, sizeof(pid), "%d", (int)g_child);
    snprintf(me, sizeof(me), "%d", (int)getpid());
    json_t *p = find(procs, "pid", pid);
    if (!p)
        fail_msg("our child %s is not in the process snapshot", pid);
    assert_string_equal(jget(p, "ppid"), me);
    assert_non_null(realpath("/bin/sleep", exe));
    assert_string_equal(jget(p, "exe"), exe);
    assert_string_equal(jget(p, "cmdline"), "sleep 313");
    assert_string_equal(jget(p, "username"), getpwuid(getuid())->pw_name);
    char agent[16];
    snprintf(agent, sizeof(agent), "%d", (int)harness_pid(W.agent));
    p = find(procs, "pid", agent);
    assert_non_null(p);
    assert_true(ends_with(jget(p, "exe"), "/rampart-agent"));
    /* the collector, a child of the agent, run from the plugins directory */
    size_t i;
    json_t *o;
    bool self = false;
    json_array_foreach(procs, i, o)
    {
        if (strcmp(jget(o, "ppid"), agent) == 0 &&
            ends_with(jget(o, "exe"), "/collector/collector"))
            self = true;
    }
    assert_true(self);
    print_message("processes: %zu, our child %s: exe %s cmdline \"%s\"\n", json_array_size(procs),
                  pid, exe, "sleep 313");
}

static void check_port(json_t *ports, uint16_t port, pid_t owner, const char *what)
{
    char ps[16], pid[16];
    snprintf(ps, sizeof(ps), "%u", (unsigned)port);
    snprintf(pid, sizeof(pid), "%d", (int)owner);
    size_t i;
    json_t *o;
    json_array_foreach(ports, i, o)
    {
        if (strcmp(jget(o, "sport"), ps) == 0 && strcmp(jget(o, "protocol"), "tcp") == 0) {
            assert_string_equal(jget(o, "pid"), pid);
            assert_string_equal(jget(o, "sip"), "127.0.0.1");
            return;
        }
    }
    fail_msg("%s port %s is not in the port snapshot", what, ps);
}

static void check_users(json_t *users)
{
    FILE *f = fopen("/etc/passwd", "r");
    assert_non_null(f);
    size_t n = 0;
    struct passwd *pw;
    while ((pw = fgetpwent(f)) != NULL) {
        n++;
        json_t *u = find(users, "username", pw->pw_name);
        if (!u)
            fail_msg("user %s is missing", pw->pw_name);
        char uid[16];
        snprintf(uid, sizeof(uid), "%u", (unsigned)pw->pw_uid);
        assert_string_equal(jget(u, "uid"), uid);
        assert_string_equal(jget(u, "shell"), pw->pw_shell);
        assert_string_equal(jget(u, "home"), pw->pw_dir);
    }
    fclose(f);
    assert_int_equal(json_array_size(users), n);
    print_message("users: %zu, as in /etc/passwd\n", n);
}

static void check_packages(json_t *pkgs)
{
    FILE *p = popen("dpkg-query -W -f='${Package}\\t${db:Status-Status}\\n'", "r");
    assert_non_null(p);
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof(line), p)) {
        char *name = strtok(line, "\t\n"), *status = strtok(NULL, "\t\n");
        if (name && status && strcmp(status, "not-installed") != 0 &&
            strcmp(status, "config-files") != 0)
            n++;
    }
    pclose(p);
    assert_int_equal(json_array_size(pkgs), n);
    p = popen("dpkg-query -W -f='${Version}' libc6", "r");
    char ver[256] = "";
    assert_non_null(fgets(ver, sizeof(ver), p));
    pclose(p);
    json_t *libc = find(pkgs, "name", "libc6");
    assert_non_null(libc);
    assert_string_equal(jget(libc, "sversion"), ver);
    assert_string_equal(jget(libc, "source"), "dpkg");
    print_message("packages: %zu (dpkg-query agrees), libc6 %s\n", n, ver);
}

static void check_netif_kmod(json_t *ifs, json_t *mods)
{
    json_t *lo = find(ifs, "name", "lo");
    assert_non_null(lo);
    assert_non_null(strstr(jget(lo, "addrs"), "127.0.0.1/8"));
    char idx[16];
    snprintf(idx, sizeof(idx), "%u", if_nametoindex("lo"));
    assert_string_equal(jget(lo, "index"), idx);
    size_t lines = 0;
    FILE *f = fopen("/proc/modules", "r");
    char line[4096];
    while (f && fgets(line, sizeof(line), f))
        lines++;
    if (f)
        fclose(f);
    assert_int_equal(json_array_size(mods), lines);
}

typedef struct {
    const char *token, *want;
    bool ok;
} reply_t;

static bool reply_matches(const Rampart__EnvelopeView *e, void *ud)
{
    reply_t *r = ud;
    const char *tok = FIELD(e, "token");
    if (e->data_type != 5100 || !tok || strcmp(tok, r->token) != 0)
        return false;
    assert_string_equal(FIELD(e, "status"), "succeed");
    assert_non_null(strstr(FIELD(e, "msg"), r->want));
    return r->ok = true;
}

/* --- tests ---------------------------------------------------------------------------------- */

static void test_collector_snapshots(void **state)
{
    (void)state;
    char body[2048];
    snprintf(body, sizeof(body),
             "{\"configs\":[{\"name\":\"collector\",\"type\":\"plugin\",\"version\":\"1\","
             "\"sha256\":\"%s\",\"detail\":\"{\\\"max_rate\\\":1000,\\\"heartbeat\\\":2}\"}]}",
             g_collector_sha);
    assert_int_equal(harness_endpoint_command(&W, body), 202);
    assert_int_equal(
        harness_wait_log(W.agent, "event=plugin_started plugin=collector", NULL, 0, 15000), 0);

    world_view_t v = {0};
    assert_true(harness_endpoint_scan(&W, "rampart.state", collect, &v, 90));
    check_processes(v.done[kind_index(5050)]);
    check_port(v.done[kind_index(5051)], W.ac_grpc, harness_pid(W.ac), "AgentCenter gRPC");
    check_port(v.done[kind_index(5051)], W.sd_port, harness_pid(W.sd), "service discovery");
    check_users(v.done[kind_index(5052)]);
    check_packages(v.done[kind_index(5055)]);
    check_netif_kmod(v.done[kind_index(5059)], v.done[kind_index(5062)]);
    for (size_t i = 0; i < NKINDS; i++)
        print_message("data_type %d: snapshot %s, %zu records\n", kinds[i], v.done_seq[i],
                      json_array_size(v.done[i]));
    char user_seq[32];
    snprintf(user_seq, sizeof(user_seq), "%s", v.done_seq[kind_index(5052)]);
    size_t nusers = json_array_size(v.done[kind_index(5052)]);
    view_dispose(&v);

    /* A task for the collector: a new user snapshot now, answered with 5100. */
    assert_int_equal(
        harness_endpoint_command(&W, "{\"task\":{\"data_type\":5052,\"object_name\":\"collector\","
                                     "\"data\":\"\",\"token\":\"tok-assets-users\"}}"),
        202);
    memset(&v, 0, sizeof(v));
    v.want_new_user_seq_after = user_seq;
    assert_true(harness_endpoint_scan(&W, "rampart.state", collect, &v, 60));
    check_users(v.done[kind_index(5052)]);
    view_dispose(&v);
    char want[64];
    snprintf(want, sizeof(want), "kind=user records=%zu", nusers);
    reply_t r = {"tok-assets-users", want, false};
    assert_true(harness_endpoint_scan(&W, "rampart.state", reply_matches, &r, 30));
    assert_true(harness_alive(W.agent));
}

static bool login_matches(const Rampart__EnvelopeView *e, void *ud)
{
    int *seen = ud;
    if (e->data_type == 4000 && FIELD(e, "user") && strcmp(FIELD(e, "user"), "mallory") == 0) {
        assert_string_equal(FIELD(e, "status"), "false");
        assert_string_equal(FIELD(e, "invalid"), "true");
        assert_string_equal(FIELD(e, "sip"), "198.51.100.23");
        assert_string_equal(FIELD(e, "sport"), "40022");
        assert_string_equal(FIELD(e, "types"), "password");
        assert_string_equal(FIELD(e, "pid"), "777");
        seen[0] = 1;
    }
    if (e->data_type == 4000 && FIELD(e, "user") && strcmp(FIELD(e, "user"), "alice") == 0) {
        assert_string_equal(FIELD(e, "status"), "true");
        assert_string_equal(FIELD(e, "types"), "publickey");
        assert_string_equal(FIELD(e, "sip"), "2001:db8::23");
        assert_string_equal(FIELD(e, "extra"), "ED25519 SHA256:k3y");
        seen[1] = 1;
    }
    return seen[0] && seen[1];
}

static void test_journal_logins(void **state)
{
    (void)state;
    FILE *f = fopen(g_auth_log, "w");
    assert_non_null(f);
    fputs("Nov 23 10:00:01 host CRON[5]: pam_unix(cron:session): session opened for user root\n"
          "Nov 23 10:00:02 host sshd[777]: Failed password for invalid user mallory from "
          "198.51.100.23 port 40022 ssh2\n"
          "Nov 23 10:00:03 host sshd[778]: Accepted publickey for alice from 2001:db8::23 port "
          "50022 ssh2: ED25519 SHA256:k3y\n",
          f);
    fclose(f);
    /* both plugins: the collector stays, the journal starts, reading the file from its start */
    char body[4096];
    snprintf(body, sizeof(body),
             "{\"configs\":[{\"name\":\"collector\",\"type\":\"plugin\",\"version\":\"1\","
             "\"sha256\":\"%s\",\"detail\":\"{\\\"max_rate\\\":1000,\\\"heartbeat\\\":2}\"},"
             "{\"name\":\"journal\",\"type\":\"plugin\",\"version\":\"1\",\"sha256\":\"%s\","
             "\"detail\":\"{\\\"source\\\":\\\"file\\\",\\\"auth_log\\\":\\\"%s\\\","
             "\\\"from_start\\\":true,\\\"poll_ms\\\":100}\"}]}",
             g_collector_sha, g_journal_sha, g_auth_log);
    assert_int_equal(harness_endpoint_command(&W, body), 202);
    int seen[2] = {0, 0};
    assert_true(harness_endpoint_scan(&W, "rampart.events", login_matches, seen, 60));

    /* an empty set stops both; each sees its pipes close and says so in its log */
    assert_int_equal(harness_endpoint_command(&W, "{\"configs\":[]}"), 202);
    const char *names[] = {"collector", "journal"};
    for (int i = 0; i < 2; i++) {
        char path[800], line[1024];
        snprintf(path, sizeof(path), "%s/plugins/%s.log", W.state, names[i]);
        bool stopped = false;
        for (int t = 0; t < 100 && !stopped; t++) {
            FILE *lf = fopen(path, "r");
            while (lf && fgets(line, sizeof(line), lf))
                stopped = stopped || strstr(line, "event=stopped reason=agent_gone");
            if (lf)
                fclose(lf);
            if (!stopped)
                usleep(100 * 1000);
        }
        if (!stopped)
            fail_msg("%s did not stop on its own (see %s)", names[i], path);
    }
    assert_true(harness_alive(W.agent));
}

static int setup(void **state)
{
    (void)state;
    /* the child first, so that the first process snapshot has it */
    g_child = fork();
    if (g_child == 0) {
        execl("/bin/sleep", "sleep", "313", (char *)NULL);
        _exit(127);
    }
    assert_true(g_child > 0);
    assert_int_equal(harness_endpoint_start(&W, AGENT_ID, NULL), 0);
    assert_int_equal(harness_endpoint_install_plugin(&W, "collector",
                                                     "endpoint/plugins/collector/rampart-collector",
                                                     g_collector_sha),
                     0);
    assert_int_equal(harness_endpoint_install_plugin(
                         &W, "journal", "endpoint/plugins/journal/rampart-journal", g_journal_sha),
                     0);
    snprintf(g_auth_log, sizeof(g_auth_log), "%s/auth.log", W.dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kill(g_child, SIGKILL);
    waitpid(g_child, NULL, 0);
    assert_true(harness_alive(W.agent));
    int st = harness_endpoint_stop(&W);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return 0;
}

int main(void)
{
    harness_init("endpoint_assets");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collector_snapshots),
        cmocka_unit_test(test_journal_logins),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
