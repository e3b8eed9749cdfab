/* rampart-agent-sim: N simulated agents in one process, each with its own gRPC channel and
 * TCP connection and one `Transfer` stream to an AgentCenter. For the AgentCenter's
 * integration tests and benchmarks; counts are exact (see sim.c).
 *
 *   rampart-agent-sim (--target HOST:PORT | --sd ADDR [--sd ADDR ...]) [options]
 *
 * Where to connect (SD first when both are given; --target when SD has no instance):
 *   --target HOST:PORT     a fixed AgentCenter
 *   --sd ADDR              service discovery (repeatable, up to 8): look up "agent-center"
 *                          again at every (re)connect, lowest weight first, skipping the
 *                          address whose stream just ended when there is another
 * Agents:
 *   --agents N             1..20000 (default 1)
 *   --id-prefix P          agent ids are P + the index zero-padded to 5 digits (default "sim-")
 *   --first-index K        first index (default 0), for disjoint ids across processes
 *   --declare-id ID        every agent declares this agent_id in PackagedData
 * TLS (one of):
 *   --ca CA.pem --ca-key CA.key   mint in memory a client certificate with CN = agent id
 *                                 for every agent, signed by that CA (which also verifies
 *                                 the server)
 *   --ca CA.pem --cert C.pem --key K.pem   every agent presents this certificate
 *   --plaintext            no TLS (for an AgentCenter started with its test-only flag)
 *   --server-name NAME     TLS name to check instead of the target host
 * Traffic (per agent):
 *   --rate R               records per second (default 10; 0 = none)
 *   --batch-ms B           records due within B ms go out as one PackagedData (default 100)
 *   --record-size S        payload bytes per record, about (default 300)
 *   --data-type T          data_type of the records (default 59)
 *   --heartbeat-ms H       data_type 1000 heartbeat every H ms, the first at stream start
 *                          (default 30000; 0 = never)
 *   --plugin-heartbeat     also a 1001 record for plugin "sim-plugin" with each heartbeat
 *   --max-records M        stop generating after M records; stay connected (default 0 = no limit)
 *   --abuse MODE           once per agent, after its first successful batch: malformed |
 *                          oversized:N | unknown-type | empty-id
 * Run:
 *   --duration SEC         stop after SEC seconds as on SIGTERM (default 0 = until a signal)
 *   --backoff-ms MIN,MAX   reconnect backoff with jitter (default 200,2000)
 *   --drain-ms D           at stop, wait up to D ms for the server's status after the
 *                          half-close, then cancel (default 10000)
 *   --ramp-ms R            spread the first connections over R ms (default agents/20)
 *   --max-connecting C     at most C streams being set up (TCP+TLS+stream start) at once;
 *                          the others wait their turn (default 200; 0 = no limit)
 *   --threads T            completion-queue threads, 1..8 (default 1, 2 from 100 agents)
 *   --per-agent            add per_agent to the summary
 *   --summary-file PATH    also write the summary there
 *   --log-level L          debug | info | warn | error (default info; logfmt on stderr)
 *
 * At the end it prints one JSON line on stdout and exits 0 (1 when setup failed, 2 on a usage
 * error). The summary's fields are described in tests/tools/README.md. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/log.h"
#include "common/log_bridge.h"
#include "common/pki.h"
#include "common/xalloc.h"
#include "sim.h"

static int usage(const char *why)
{
    fprintf(stderr,
            "rampart-agent-sim: %s\n"
            "usage: rampart-agent-sim (--target HOST:PORT | --sd ADDR...) [--agents N]\n"
            "  [--ca CA.pem (--ca-key CA.key | --cert C.pem --key K.pem) | --plaintext]\n"
            "  [--rate R] [--batch-ms B] [--duration SEC] ... (see tests/tools/README.md)\n",
            why);
    return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_abuse(const char *s, sim_opts_t *o)
{
    if (strcmp(s, "malformed") == 0)
        o->abuse = SIM_ABUSE_MALFORMED;
    else if (strcmp(s, "unknown-type") == 0)
        o->abuse = SIM_ABUSE_UNKNOWN_TYPE;
    else if (strcmp(s, "empty-id") == 0)
        o->abuse = SIM_ABUSE_EMPTY_ID;
    else if (strncmp(s, "oversized:", 10) == 0 &&
             parse_long(s + 10, 1, 64L << 20, &o->abuse_size) == 0)
        o->abuse = SIM_ABUSE_OVERSIZED;
    else
        return -1;
    return 0;
}

enum {
    O_TARGET = 256,
    O_SD,
    O_AGENTS,
    O_PREFIX,
    O_FIRST,
    O_CA,
    O_CAKEY,
    O_CERT,
    O_KEY,
    O_PLAIN,
    O_SNAME,
    O_DECLARE,
    O_RATE,
    O_BATCH,
    O_SIZE,
    O_DT,
    O_HB,
    O_PHB,
    O_MAX,
    O_DURATION,
    O_BACKOFF,
    O_DRAIN,
    O_RAMP,
    O_THREADS,
    O_ABUSE,
    O_PERAGENT,
    O_SUMMARY,
    O_LOGLEVEL,
    O_MAXCONN,
};

/* Parses argv into o. 0, or -1 after printing why (usage error). */
static int parse_args(int argc, char **argv, sim_opts_t *o, log_level_t *level)
{
    static const struct option lo[] = {{"target", required_argument, NULL, O_TARGET},
                                       {"sd", required_argument, NULL, O_SD},
                                       {"agents", required_argument, NULL, O_AGENTS},
                                       {"id-prefix", required_argument, NULL, O_PREFIX},
                                       {"first-index", required_argument, NULL, O_FIRST},
                                       {"ca", required_argument, NULL, O_CA},
                                       {"ca-key", required_argument, NULL, O_CAKEY},
                                       {"cert", required_argument, NULL, O_CERT},
                                       {"key", required_argument, NULL, O_KEY},
                                       {"plaintext", no_argument, NULL, O_PLAIN},
                                       {"server-name", required_argument, NULL, O_SNAME},
                                       {"declare-id", required_argument, NULL, O_DECLARE},
                                       {"rate", required_argument, NULL, O_RATE},
                                       {"batch-ms", required_argument, NULL, O_BATCH},
                                       {"record-size", required_argument, NULL, O_SIZE},
                                       {"data-type", required_argument, NULL, O_DT},
                                       {"heartbeat-ms", required_argument, NULL, O_HB},
                                       {"plugin-heartbeat", no_argument, NULL, O_PHB},
                                       {"max-records", required_argument, NULL, O_MAX},
                                       {"duration", required_argument, NULL, O_DURATION},
                                       {"backoff-ms", required_argument, NULL, O_BACKOFF},
                                       {"drain-ms", required_argument, NULL, O_DRAIN},
                                       {"ramp-ms", required_argument, NULL, O_RAMP},
                                       {"threads", required_argument, NULL, O_THREADS},
                                       {"abuse", required_argument, NULL, O_ABUSE},
                                       {"per-agent", no_argument, NULL, O_PERAGENT},
                                       {"summary-file", required_argument, NULL, O_SUMMARY},
                                       {"log-level", required_argument, NULL, O_LOGLEVEL},
                                       {"max-connecting", required_argument, NULL, O_MAXCONN},
                                       {NULL, 0, NULL, 0}};
    long ramp = -1, threads = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        int bad = 0;
        char *end;
        switch (opt) {
        case O_TARGET:
            o->target = optarg;
            bad = !strchr(optarg, ':');
            break;
        case O_SD:
            if (o->nsd == SIM_MAX_SD)
                return usage("at most 8 --sd"), -1;
            o->sd[o->nsd++] = optarg;
            break;
        case O_AGENTS:
            bad = parse_long(optarg, 1, SIM_MAX_AGENTS, &o->agents);
            break;
        case O_PREFIX:
            o->id_prefix = optarg;
            bad = strlen(optarg) > 40;
            break;
        case O_FIRST:
            bad = parse_long(optarg, 0, 1000000000L, &o->first_index);
            break;
        case O_CA:
            o->ca = optarg;
            break;
        case O_CAKEY:
            o->ca_key = optarg;
            break;
        case O_CERT:
            o->cert = optarg;
            break;
        case O_KEY:
            o->key = optarg;
            break;
        case O_PLAIN:
            o->plaintext = true;
            break;
        case O_SNAME:
            o->server_name = optarg;
            break;
        case O_DECLARE:
            o->declare_id = optarg;
            break;
        case O_RATE:
            errno = 0;
            o->rate = strtod(optarg, &end);
            bad = errno || end == optarg || *end || !(o->rate >= 0 && o->rate <= 1e6);
            break;
        case O_BATCH:
            bad = parse_long(optarg, 1, 3600000, &o->batch_ms);
            break;
        case O_SIZE:
            bad = parse_long(optarg, 0, 1L << 20, &o->record_size);
            break;
        case O_DT:
            bad = parse_long(optarg, 0, 2147483647L, &o->data_type);
            break;
        case O_HB:
            bad = parse_long(optarg, 0, 86400000L, &o->heartbeat_ms);
            break;
        case O_PHB:
            o->plugin_heartbeat = true;
            break;
        case O_MAX:
            bad = parse_long(optarg, 0, 1L << 40, &o->max_records);
            break;
        case O_DURATION:
            bad = parse_long(optarg, 0, 86400 * 7, &o->duration_s);
            break;
        case O_BACKOFF:
            bad = sscanf(optarg, "%ld,%ld", &o->backoff_min_ms, &o->backoff_max_ms) != 2 ||
                  o->backoff_min_ms < 1 || o->backoff_max_ms < o->backoff_min_ms ||
                  o->backoff_max_ms > 3600000;
            break;
        case O_DRAIN:
            bad = parse_long(optarg, 0, 600000, &o->drain_ms);
            break;
        case O_RAMP:
            bad = parse_long(optarg, 0, 3600000, &ramp);
            break;
        case O_THREADS:
            bad = parse_long(optarg, 1, 8, &threads);
            break;
        case O_ABUSE:
            bad = parse_abuse(optarg, o);
            break;
        case O_PERAGENT:
            o->per_agent = true;
            break;
        case O_SUMMARY:
            o->summary_file = optarg;
            break;
        case O_LOGLEVEL:
            bad = log_level_parse(optarg, level);
            break;
        case O_MAXCONN:
            bad = parse_long(optarg, 0, SIM_MAX_AGENTS, &o->max_connecting);
            break;
        default:
            return usage("unknown option"), -1;
        }
        if (bad) {
            char why[128];
            snprintf(why, sizeof(why), "bad value for --%s", lo[opt - O_TARGET].name);
            return usage(why), -1;
        }
    }
    if (optind != argc)
        return usage("unexpected argument"), -1;
    if (!o->target && o->nsd == 0)
        return usage("need --target or --sd"), -1;
    if (o->plaintext && (o->ca || o->ca_key || o->cert || o->key))
        return usage("--plaintext excludes --ca, --ca-key, --cert, --key"), -1;
    if (!o->plaintext &&
        (!o->ca || !!o->ca_key == !!(o->cert || o->key) || (!o->ca_key && (!o->cert || !o->key))))
        return usage("TLS needs --ca and either --ca-key or --cert with --key"), -1;
    if (o->declare_id && strlen(o->declare_id) > 256)
        return usage("--declare-id too long"), -1;
    o->ramp_ms = ramp >= 0 ? ramp : o->agents / 20;
    o->threads = threads ? threads : o->agents >= 100 ? 2 : 1;
    if (o->threads > o->agents)
        o->threads = o->agents;
    return 0;
}

/* As many descriptors as the hard limit allows: every agent holds a socket. */
static void raise_nofile(long agents)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)agents * 2 + 64)
        LOG_WARN("nofile_low", "limit=%lu agents=%ld", (unsigned long)rl.rlim_cur, agents);
}

typedef struct {
    atomic_bool stop;
    long duration_s;
} ctl_t;

/* Waits for SIGTERM/SIGINT (blocked in every thread) or the duration, then sets stop. */
static void *signal_thread(void *arg)
{
    ctl_t *c = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += c->duration_s;
    while (!atomic_load(&c->stop)) {
        struct timespec tick = {.tv_sec = 0, .tv_nsec = 200 * 1000000};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            LOG_INFO("stopping", "signal=%d", sig);
            break;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (c->duration_s > 0 &&
            (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))) {
            LOG_INFO("stopping", "reason=duration");
            break;
        }
    }
    atomic_store(&c->stop, true);
    return NULL;
}

int main(int argc, char **argv)
{
    sim_opts_t o = {.agents = 1,
                    .id_prefix = "sim-",
                    .id_width = 5,
                    .rate = 10,
                    .batch_ms = 100,
                    .record_size = 300,
                    .data_type = 59,
                    .heartbeat_ms = 30000,
                    .backoff_min_ms = 200,
                    .backoff_max_ms = 2000,
                    .drain_ms = 10000,
                    .max_connecting = 200};
    log_level_t level = LOG_LEVEL_INFO;
    if (parse_args(argc, argv, &o, &level) < 0)
        return 2;
    log_init("agent-sim", level, 2);
    log_bridge_grpc();
    raise_nofile(o.agents);

    /* Block the stop signals before gRPC starts its threads, so only signal_thread gets them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    ctl_t ctl = {.duration_s = o.duration_s};
    atomic_init(&ctl.stop, false);
    pthread_t st;
    pthread_create(&st, NULL, signal_thread, &ctl);
    LOG_INFO("starting", "agents=%ld threads=%ld target=%s sd=%zu rate=%g tls=%s", o.agents,
             o.threads, o.target ? o.target : "-", o.nsd, o.rate,
             o.plaintext ? "off"
             : o.ca_key  ? "minted"
                         : "shared");
    strbuf_t sum = STRBUF_INIT;
    int rc = sim_run(&o, &ctl.stop, &sum);
    atomic_store(&ctl.stop, true);
    pthread_join(st, NULL);
    if (rc < 0) {
        strbuf_dispose(&sum);
        return 1;
    }
    printf("%s\n", sum.data);
    fflush(stdout);
    if (o.summary_file) {
        strbuf_appends(&sum, "\n");
        int w = pki_save_file(o.summary_file, sum.data, 0644, true);
        if (w < 0)
            LOG_ERROR("summary_write_failed", "path=%s errno=%d", o.summary_file, -w);
    }
    LOG_INFO("stopped", "agents=%ld", o.agents);
    strbuf_dispose(&sum);
    return 0;
}
