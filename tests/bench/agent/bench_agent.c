/* bench_agent: what rampart-agent costs its host. Starts the Kafka-protocol broker and an
 * AgentCenter (mutual TLS), then for each rate an agent whose one plugin (tests/tools/
 * plugin-sim, 100-byte records) emits that many records per second; after a warm-up it prints
 * the agent's CPU use (% of one core, from /proc/<pid>/stat over --seconds) and its RSS
 * (VmRSS), and the records it sent. The plugin's own CPU is not counted.
 *
 *   bench_agent [--seconds S] [--rates 0,1000,10000]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "harness.h"
#include "rampart.pb-c.h"

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double rss_mib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    double kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb / 1024.0;
}

static void sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char buf[65536], md[32];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    if (f)
        fclose(f);
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

int main(int argc, char **argv)
{
    double seconds = 10;
    char rates[128] = "0,1000,10000";
    static const struct option lo[] = {{"seconds", required_argument, NULL, 's'},
                                       {"rates", required_argument, NULL, 'r'},
                                       {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (o == 's')
            seconds = atof(optarg);
        else if (o == 'r')
            snprintf(rates, sizeof(rates), "%s", optarg);
        else
            return 2;
    }
    harness_init("bench_agent");
    char bootstrap[256], pki[512], keys[512], sk[65], cert[600], path[512], bin[512];
    harness_proc_t *kafka = harness_kafka_start(bootstrap, sizeof(bootstrap));
    if (!kafka || harness_make_pki(pki, sizeof(pki)) < 0 ||
        harness_make_keys("bench", sk, sizeof(sk), keys, sizeof(keys)) < 0 ||
        harness_make_client_cert(pki, "bench-agent", cert, sizeof(cert)) < 0) {
        fprintf(stderr, "bench_agent: setup failed\n");
        return 1;
    }
    uint16_t grpc = harness_free_port(), http = harness_free_port();
    char cfg[4096];
    snprintf(cfg, sizeof(cfg),
             "log:\n  level: info\ngrpc:\n  listen: 127.0.0.1:%u\n"
             "tls:\n  ca_file: %s/ca.pem\n  cert_file: %s/server.pem\n  key_file: %s/server.key\n"
             "http:\n  listen: 127.0.0.1:%u\nauth:\n  keys_file: %s\nkafka:\n  brokers: %s\n",
             (unsigned)grpc, pki, pki, pki, (unsigned)http, keys, bootstrap);
    harness_write_file("ac.yaml", cfg, path, sizeof(path));
    harness_bin("agent-center/rampart-agent-center", bin, sizeof(bin));
    char *acargv[] = {bin, "-c", path, NULL};
    harness_proc_t *ac = harness_spawn("ac", acargv, NULL);
    if (!ac || harness_wait_log(ac, "event=started", NULL, 0, 15000) < 0) {
        fprintf(stderr, "bench_agent: the AgentCenter did not start\n");
        return 1;
    }
    /* The plugin, installed once. */
    char dir[600], sim[512], cmd[4096], sha[65];
    snprintf(dir, sizeof(dir), "%s", pki);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    harness_bin("tests/tools/plugin-sim/rampart-plugin-sim", sim, sizeof(sim));
    snprintf(cmd, sizeof(cmd),
             "rm -rf '%s/plugins' && mkdir -p '%s/plugins/sim' && cp '%s' '%s/plugins/sim/sim'",
             dir, dir, sim, dir);
    if (system(cmd) != 0)
        return 1;
    sha256_file(sim, sha);
    printf("agent (release build): CPU %% of one core and RSS over %.1f s per rate\n", seconds);
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(rates, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        long rate = atol(tok);
        char state[700];
        snprintf(state, sizeof(state), "%s/state-%ld", dir, rate);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", state, state);
        if (system(cmd) != 0)
            return 1;
        /* The plugin set the agent reads at start (what a config sync would have left). */
        Grpc__Config c = GRPC__CONFIG__INIT, *pc = &c;
        char detail[128];
        snprintf(detail, sizeof(detail), "mode=steady rate=%ld size=60", rate);
        c.name = "sim";
        c.version = "1";
        c.sha256 = sha;
        c.detail = detail;
        Grpc__Command command = GRPC__COMMAND__INIT;
        command.n_configs = rate > 0 ? 1 : 0;
        command.configs = &pc;
        uint8_t buf[1024];
        size_t len = grpc__command__pack(&command, buf);
        char pb[800];
        snprintf(pb, sizeof(pb), "%s/plugins.pb", state);
        FILE *f = fopen(pb, "wb");
        if (!f || fwrite(buf, 1, len, f) != len)
            return 1;
        fclose(f);
        uint16_t aport = harness_free_port();
        snprintf(cfg, sizeof(cfg),
                 "log:\n  level: warn\nagent:\n  id: bench-agent\n  state_dir: %s\n"
                 "agent_center:\n  addrs: [127.0.0.1:%u]\n"
                 "tls:\n  ca_file: %s/ca.pem\n  cert_file: %s.pem\n  key_file: %s.key\n"
                 "spool:\n  dir: %s/spool\nplugins:\n  dir: %s/plugins\n  rate: 50000\n"
                 "  burst: 50000\n  memory_max: 0\nhttp:\n  port: %u\n",
                 state, (unsigned)grpc, pki, cert, cert, state, dir, (unsigned)aport);
        char name[64];
        snprintf(name, sizeof(name), "agent-%ld.yaml", rate);
        harness_write_file(name, cfg, path, sizeof(path));
        harness_bin("endpoint/agent/rampart-agent", bin, sizeof(bin));
        char *argv2[] = {bin, "-c", path, NULL};
        snprintf(name, sizeof(name), "agent-%ld", rate);
        harness_proc_t *agent = harness_spawn(name, argv2, NULL);
        if (!agent || harness_wait_port(aport, 15000) < 0) {
            fprintf(stderr, "bench_agent: the agent did not start\n");
            return 1;
        }
        sleep_s(seconds < 2 ? 1 : 3); /* warm-up: connect, first heartbeat */
        pid_t pid = harness_pid(agent);
        double sent0 = harness_metric(aport, "rampart_agent_sent_records_total");
        double c0 = cpu_s(pid), t0 = now_s();
        sleep_s(seconds);
        double c1 = cpu_s(pid), t1 = now_s();
        double sent1 = harness_metric(aport, "rampart_agent_sent_records_total");
        double rss = rss_mib(pid);
        double pct = (c1 - c0) / (t1 - t0) * 100.0;
        printf("  %6ld records/s: cpu %.3f%%  rss %.1f MiB  sent %.0f records/s\n", rate, pct, rss,
               (sent1 - sent0) / (t1 - t0));
        int st = harness_stop(agent);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench_agent: the agent exited with status %d\n", st);
            rc = 1;
        }
    }
    harness_stop(ac);
    harness_stop(kafka);
    return rc;
}
