/* bench_ac: AgentCenter throughput and connection cost, over real gRPC with mutual TLS.
 *
 * Starts the Kafka-protocol broker and one rampart-agent-center pinned to CPU 0 (taskset);
 * the simulated agents (tests/tools/agent-sim) and the broker share the other CPU. Prints:
 *   - throughput: records/s into Kafka's queue with --agents agents sending --rate records/s
 *     each (300-byte payloads, 100 ms batches), the AgentCenter's CPU use over the same
 *     window, and records per AgentCenter CPU-second: the "records/s on one core" figure,
 *     which does not depend on how much CPU the machine's other work left it;
 *   - idle streams: --idle agents connected and silent: RSS and CPU of the AgentCenter, and RSS
 *     per 1,000 connections above its empty baseline. The AgentCenter's TLS gate uses three
 *     descriptors per agent: --idle is lowered to what the hard descriptor limit allows.
 * Kafka delivery is asynchronous; the delivered count is printed after the run as a check.
 *
 *   bench_ac [--seconds S] [--agents N] [--rate R] [--idle N] [--ac-cpu C] [--other-cpu C]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

typedef struct {
    double seconds;
    long agents, rate, idle;
    int ac_cpu, other_cpu;
    harness_proc_t *kafka, *ac;
    char bootstrap[256], pki[512], keys[512], sk[65];
    uint16_t grpc_port, http_port;
} bench_t;

/* Sum of every series of a metric family on the AgentCenter's /metrics. */
static double metric_sum(bench_t *b, const char *name)
{
    char u[128];
    snprintf(u, sizeof(u), "http://127.0.0.1:%u/metrics", (unsigned)b->http_port);
    harness_http_response_t r;
    harness_http("GET", u, NULL, 0, NULL, &r);
    double sum = 0;
    size_t n = strlen(name);
    for (char *line = r.body; line && *line;) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, name, n) == 0 && (line[n] == ' ' || line[n] == '{')) {
            char *sp = strchr(line, ' ');
            if (sp)
                sum += strtod(sp + 1, NULL);
        }
        line = nl ? nl + 1 : NULL;
    }
    harness_http_response_free(&r);
    return sum;
}

static int start_ac(bench_t *b)
{
    char cfg[4096], path[512], bin[512], cpu[16];
    b->grpc_port = harness_free_port();
    b->http_port = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "log:\n  level: warn\ngrpc:\n  listen: 127.0.0.1:%u\n  threads: 1\n"
             "tls:\n  ca_file: %s/ca.pem\n  cert_file: %s/server.pem\n  key_file: %s/server.key\n"
             "http:\n  listen: 127.0.0.1:%u\nauth:\n  keys_file: %s\nkafka:\n  brokers: %s\n",
             (unsigned)b->grpc_port, b->pki, b->pki, b->pki, (unsigned)b->http_port, b->keys,
             b->bootstrap);
    if (harness_write_file("ac.yaml", cfg, path, sizeof(path)) < 0)
        return -EIO;
    harness_bin("agent-center/rampart-agent-center", bin, sizeof(bin));
    snprintf(cpu, sizeof(cpu), "%d", b->ac_cpu);
    char *argv[] = {"taskset", "-c", cpu, bin, "-c", path, NULL};
    if (!(b->ac = harness_spawn("ac", argv, NULL)))
        return -EIO;
    return harness_wait_port(b->http_port, 15000);
}

static harness_proc_t *start_sim(bench_t *b, const char *name, long agents, long rate)
{
    char bin[512], cpu[16], target[32], ca[600], cakey[600], na[16], nr[16];
    harness_bin("tests/tools/agent-sim/rampart-agent-sim", bin, sizeof(bin));
    snprintf(cpu, sizeof(cpu), "%d", b->other_cpu);
    snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)b->grpc_port);
    snprintf(ca, sizeof(ca), "%s/ca.pem", b->pki);
    snprintf(cakey, sizeof(cakey), "%s/ca.key", b->pki);
    snprintf(na, sizeof(na), "%ld", agents);
    snprintf(nr, sizeof(nr), "%ld", rate);
    char *argv[] = {
        "taskset",        "-c",  cpu,        bin, "--target", target, "--ca",          ca,
        "--ca-key",       cakey, "--agents", na,  "--rate",   nr,     "--record-size", "300",
        "--heartbeat-ms", "0",   NULL};
    harness_proc_t *p = harness_spawn(name, argv, NULL);
    /* TLS handshakes cost a few ms of CPU on each side: allow 20 ms per agent. */
    if (p && harness_wait_log(p, "event=all_connected", NULL, 0, 30000 + (int)agents * 20) < 0) {
        harness_kill(p);
        return NULL;
    }
    return p;
}

static int throughput(bench_t *b)
{
    harness_proc_t *sim = start_sim(b, "sim-load", b->agents, b->rate);
    if (!sim)
        return -EIO;
    pid_t pid = harness_pid(b->ac);
    harness_sleep_ms((int)((b->seconds < 4 ? 0.5 : 2.0) * 1000)); /* warm-up */
    double r0 = metric_sum(b, "rampart_ac_records_total"), c0 = harness_proc_cpu_s(pid),
           t0 = harness_now_s();
    harness_sleep_ms((int)(b->seconds * 1000));
    double r1 = metric_sum(b, "rampart_ac_records_total"), c1 = harness_proc_cpu_s(pid),
           t1 = harness_now_s();
    harness_stop(sim);
    double recs = r1 - r0, wall = t1 - t0, cpu = c1 - c0;
    printf("throughput: %ld agents x %ld records/s offered, 300-byte payloads\n", b->agents,
           b->rate);
    printf("  records into Kafka's queue: %.0f/s (wall), AgentCenter CPU %.0f%% of one core\n",
           recs / wall, 100 * cpu / wall);
    printf("  records per AgentCenter CPU-second: %.0f\n", cpu > 0 ? recs / cpu : 0);
    harness_sleep_ms(1000);
    printf("  delivered by Kafka so far: %.0f of %.0f handed over\n",
           metric_sum(b, "rampart_ac_kafka_delivered_total"),
           metric_sum(b, "rampart_ac_records_total"));
    return recs > 0 ? 0 : -EIO;
}

/* The AgentCenter holds three descriptors per TLS agent (tls_gate.h) and inherits our limit. */
static void fit_idle_to_fd_limit(bench_t *b)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY)
        return;
    long most = ((long)rl.rlim_max - 200) / 3;
    if (b->idle > most) {
        printf("idle streams: %ld need about %ld descriptors in the AgentCenter; the hard limit is "
               "%ld: measuring %ld\n",
               b->idle, 3 * b->idle + 200, (long)rl.rlim_max, most);
        b->idle = most;
    }
}

static int idle_streams(bench_t *b)
{
    fit_idle_to_fd_limit(b);
    pid_t pid = harness_pid(b->ac);
    double base = harness_proc_rss_mib(pid);
    double t0 = harness_now_s();
    harness_proc_t *sim = start_sim(b, "sim-idle", b->idle, 0);
    if (!sim)
        return -EIO;
    double connect_s = harness_now_s() - t0;
    harness_sleep_ms(2000);
    double conns = metric_sum(b, "rampart_ac_connections");
    double c0 = harness_proc_cpu_s(pid), w0 = harness_now_s();
    harness_sleep_ms((int)(b->seconds * 1000));
    double cpu = harness_proc_cpu_s(pid) - c0, wall = harness_now_s() - w0;
    double rss = harness_proc_rss_mib(pid);
    printf("idle streams: %.0f connected over mTLS in %.1f s\n", conns, connect_s);
    printf("  AgentCenter RSS %.1f MiB (%.1f MiB empty): %.1f MiB per 1,000 connections\n", rss,
           base, conns > 0 ? (rss - base) * 1000.0 / conns : 0);
    printf("  AgentCenter CPU while idle: %.1f%% of one core\n", 100 * cpu / wall);
    harness_stop(sim);
    return conns >= (double)b->idle ? 0 : -EIO;
}

int main(int argc, char **argv)
{
    bench_t b = {
        .seconds = 5, .agents = 100, .rate = 2000, .idle = 10000, .ac_cpu = 0, .other_cpu = 1};
    static const struct option opts[] = {{"seconds", required_argument, NULL, 's'},
                                         {"agents", required_argument, NULL, 'a'},
                                         {"rate", required_argument, NULL, 'r'},
                                         {"idle", required_argument, NULL, 'i'},
                                         {"ac-cpu", required_argument, NULL, 'c'},
                                         {"other-cpu", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            b.seconds = atof(optarg);
            break;
        case 'a':
            b.agents = atol(optarg);
            break;
        case 'r':
            b.rate = atol(optarg);
            break;
        case 'i':
            b.idle = atol(optarg);
            break;
        case 'c':
            b.ac_cpu = atoi(optarg);
            break;
        case 'o':
            b.other_cpu = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: bench_ac [--seconds S] [--agents N] [--rate R] [--idle N] "
                            "[--ac-cpu C] [--other-cpu C]\n");
            return 2;
        }
    }
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        b.other_cpu = b.ac_cpu;
    harness_init("bench_ac");
    if (harness_make_pki(b.pki, sizeof(b.pki)) < 0 ||
        harness_make_keys("bench", b.sk, sizeof(b.sk), b.keys, sizeof(b.keys)) < 0 ||
        !(b.kafka = harness_kafka_start(b.bootstrap, sizeof(b.bootstrap))) || start_ac(&b) < 0) {
        fprintf(stderr, "bench_ac: setup failed\n");
        return 1;
    }
    int rc = throughput(&b);
    if (rc == 0)
        rc = idle_streams(&b);
    harness_stop(b.ac);
    harness_stop(b.kafka);
    if (rc < 0)
        fprintf(stderr, "bench_ac: a phase failed (logs under the test-logs folder)\n");
    return rc < 0 ? 1 : 0;
}
