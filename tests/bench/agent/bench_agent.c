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

#include "harness.h"
#include "harness_endpoint.h"
#include "rampart.pb-c.h"

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
    if (harness_sha256_file(sim, sha) < 0)
        return 1;
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
        harness_sleep_ms(seconds < 2 ? 1000 : 3000); /* warm-up: connect, first heartbeat */
        pid_t pid = harness_pid(agent);
        double sent0 = harness_metric(aport, "rampart_agent_sent_records_total");
        double c0 = harness_proc_cpu_s(pid), t0 = harness_now_s();
        harness_sleep_ms((int)(seconds * 1000));
        double c1 = harness_proc_cpu_s(pid), t1 = harness_now_s();
        double sent1 = harness_metric(aport, "rampart_agent_sent_records_total");
        double rss = harness_proc_rss_mib(pid);
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
