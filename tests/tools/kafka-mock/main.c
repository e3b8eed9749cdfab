/* rampart-kafka-mock: a standalone Kafka-protocol broker for tests and the local trial, on
 * librdkafka's mock cluster (librdkafka/rdkafka_mock.h). Real clients (our services, kcat)
 * talk to it over TCP on loopback; produce, fetch, consumer groups and offset commits work.
 *
 *   rampart-kafka-mock [--brokers N] [--topics "rampart.events:8,rampart.state:4,..."]
 *                      [--port P] [--bootstrap-file PATH] [--log-level debug|info|warn|error]
 *
 * Once every topic exists it prints exactly one line on stdout, KAFKA_BOOTSTRAP=<host:port,...>,
 * and runs until SIGTERM or SIGINT, then exits 0. Logs go to stderr through common/log.h.
 *
 * The brokers' listen ports are ephemeral: librdkafka 2.0.2's mock API has no way to choose
 * them (no listener option on rd_kafka_mock_cluster_new, no broker port setter). --port P
 * therefore gives a fixed *bootstrap* address instead: a TCP relay on 127.0.0.1:P to the
 * first broker (forward.h); clients learn the brokers' real ports from metadata, as with any
 * Kafka cluster. Without --port, scripts read the KAFKA_BOOTSTRAP line or --bootstrap-file.
 * Data lives in memory only. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "common/log.h"
#include "common/log_bridge.h"
#include "common/xalloc.h"
#include "forward.h"

#define DEFAULT_TOPICS "rampart.events:8,rampart.state:4,rampart.alerts:4"
#define MAX_BROKERS    16
#define MAX_PARTITIONS 1024

typedef struct {
    long brokers;
    long port;
    const char *topics;
    const char *bootstrap_file;
    log_level_t level;
} mock_opts_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rampart-kafka-mock [--brokers N] [--topics name:partitions,...]\n"
            "                          [--port P] [--bootstrap-file PATH] [--log-level LEVEL]\n"
            "  --brokers N          brokers in the cluster, 1..%d (default 1)\n"
            "  --topics SPEC        topics created at start (default \"%s\")\n"
            "  --port P             fixed bootstrap port on 127.0.0.1 (a relay to the first\n"
            "                       broker; the brokers themselves use ephemeral ports)\n"
            "  --bootstrap-file P   also write the bootstrap list to P\n"
            "  --log-level LEVEL    debug, info, warn, error (default info)\n"
            "Prints KAFKA_BOOTSTRAP=<list> on stdout when ready; SIGTERM/SIGINT stop it.\n",
            MAX_BROKERS, DEFAULT_TOPICS);
}

/* Parses a decimal in [lo, hi]. 0 or -EINVAL. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, mock_opts_t *o)
{
    static const struct option lo[] = {{"brokers", required_argument, NULL, 'b'},
                                       {"topics", required_argument, NULL, 't'},
                                       {"port", required_argument, NULL, 'p'},
                                       {"bootstrap-file", required_argument, NULL, 'f'},
                                       {"log-level", required_argument, NULL, 'l'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    *o = (mock_opts_t){.brokers = 1, .topics = DEFAULT_TOPICS, .level = LOG_LEVEL_INFO};
    int opt;
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (parse_long(optarg, 1, MAX_BROKERS, &o->brokers) < 0) {
                fprintf(stderr, "rampart-kafka-mock: --brokers must be 1..%d\n", MAX_BROKERS);
                return -EINVAL;
            }
            break;
        case 't':
            o->topics = optarg;
            break;
        case 'p':
            if (parse_long(optarg, 1, 65535, &o->port) < 0) {
                fprintf(stderr, "rampart-kafka-mock: --port must be 1..65535\n");
                return -EINVAL;
            }
            break;
        case 'f':
            o->bootstrap_file = optarg;
            break;
        case 'l':
            if (log_level_parse(optarg, &o->level) < 0) {
                fprintf(stderr, "rampart-kafka-mock: unknown --log-level %s\n", optarg);
                return -EINVAL;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

/* Creates every topic of spec ("name:partitions,..."; partitions default to 1). */
static int create_topics(rd_kafka_mock_cluster_t *mc, const char *spec, int replication)
{
    char *list = xstrdup(spec);
    int rc = 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long parts = 1;
        char *colon = strchr(t, ':');
        if (colon) {
            *colon = '\0';
            if (parse_long(colon + 1, 1, MAX_PARTITIONS, &parts) < 0) {
                char q[256], qp[64];
                LOG_ERROR("bad_topic_spec", "topic=%s partitions=%s", log_quote(q, sizeof(q), t),
                          log_quote(qp, sizeof(qp), colon + 1));
                rc = -EINVAL;
                goto cleanup;
            }
        }
        if (*t == '\0') {
            LOG_ERROR("bad_topic_spec", "reason=\"empty topic name\"");
            rc = -EINVAL;
            goto cleanup;
        }
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, t, (int)parts, replication);
        char q[256];
        if (err) {
            LOG_ERROR("topic_create_failed", "topic=%s err=%s", log_quote(q, sizeof(q), t),
                      rd_kafka_err2name(err));
            rc = -EIO;
            goto cleanup;
        }
        LOG_INFO("topic_created", "topic=%s partitions=%ld replication=%d",
                 log_quote(q, sizeof(q), t), parts, replication);
    }
cleanup:
    free(list);
    return rc;
}

static int write_bootstrap_file(const char *path, const char *bootstraps)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    int rc = fprintf(f, "%s\n", bootstraps) < 0 ? -EIO : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

int main(int argc, char **argv)
{
    mock_opts_t o;
    if (parse_opts(argc, argv, &o) < 0)
        return 2;
    log_init("kafka-mock", o.level, 2);

    /* Block the stop signals before librdkafka starts its threads, so they inherit the mask
     * and only sigwait() below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    int rc = 1;
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    forward_t *fwd = NULL;
    char *fixed = NULL;
    char errstr[512];

    /* The mock cluster needs a handle for its bookkeeping; an idle producer serves. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    log_bridge_rdkafka(conf);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        char q[600];
        LOG_ERROR("rdkafka_new_failed", "err=%s", log_quote(q, sizeof(q), errstr));
        rd_kafka_conf_destroy(conf);
        goto cleanup;
    }
    mc = rd_kafka_mock_cluster_new(rk, (int)o.brokers);
    if (!mc) {
        LOG_ERROR("mock_cluster_failed", "brokers=%ld", o.brokers);
        goto cleanup;
    }
    int replication = o.brokers < 3 ? (int)o.brokers : 3;
    if (create_topics(mc, o.topics, replication) < 0)
        goto cleanup;

    const char *brokers = rd_kafka_mock_cluster_bootstraps(mc);
    const char *bootstraps = brokers;
    if (o.port) {
        int err = forward_new((uint16_t)o.port, brokers, &fwd);
        if (err < 0) {
            LOG_ERROR("listen_failed", "port=%ld err=\"%s\"", o.port, strerror(-err));
            goto cleanup;
        }
        fixed = xasprintf("127.0.0.1:%ld", o.port);
        bootstraps = fixed;
    }
    if (o.bootstrap_file) {
        int err = write_bootstrap_file(o.bootstrap_file, bootstraps);
        if (err < 0) {
            char q[600];
            LOG_ERROR("bootstrap_file_failed", "path=%s err=%s",
                      log_quote(q, sizeof(q), o.bootstrap_file), strerror(-err));
            goto cleanup;
        }
    }
    LOG_INFO("ready", "brokers=%ld broker_addrs=%s bootstrap=%s", o.brokers, brokers, bootstraps);
    printf("KAFKA_BOOTSTRAP=%s\n", bootstraps);
    fflush(stdout);

    int sig = 0;
    int werr = sigwait(&stop, &sig);
    if (werr != 0) {
        LOG_ERROR("sigwait_failed", "err=%s", strerror(werr));
        goto cleanup;
    }
    LOG_INFO("stopping", "signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    rc = 0;

cleanup:
    forward_free(fwd);
    free(fixed);
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    return rc;
}
