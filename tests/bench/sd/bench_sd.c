/* bench_sd: service-discovery throughput on loopback.
 *
 * Starts Redis and one rampart-sd pinned to CPU 0 (taskset), fills the registry, then drives
 * it from C load-generator threads over keep-alive HTTP/1.1 connections and prints:
 *   - baseline: an unknown path (404 from the HTTP layer, no Redis): the HTTP stack alone
 *   - look-ups/s of a 10-instance service with count=3, and of all 100 instances of another,
 *     with SD's look-up cache (default 1 s) and from a second SD without it (every look-up a
 *     Redis script run)
 *   - registrations/s (each one HMAC-signed with a fresh nonce, new instance every time)
 * and each figure as a ratio to the baseline of the same run, since these machines are noisy.
 *
 *   bench_sd [--seconds S] [--connections N] [--sd-cpu C]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/hmac.h"
#include "harness.h"

typedef enum { LOAD_BASELINE, LOAD_LOOKUP_FEW, LOAD_LOOKUP_ALL, LOAD_REGISTER } load_t;

typedef struct {
    uint16_t port;
    load_t kind;
    int thread;
    double seconds;
    const char *ak, *sk;
    uint64_t ok, bad;
} worker_t;

static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one response; returns its status or -1. buf is scratch space. */
static int read_response(int fd, char *buf, size_t size)
{
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have == size - 1)
            return -1;
        ssize_t r = recv(fd, buf + have, size - 1 - have, 0);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = atoi(buf + 9);
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t body = cl ? strtoul(cl + 17, NULL, 10) : 0;
    size_t got = have - (size_t)(end + 4 - buf);
    while (got < body) {
        ssize_t r = recv(fd, buf, size - 1 < body - got ? size - 1 : body - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return status;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    int fd = dial(w->port);
    if (fd < 0)
        return NULL;
    char *buf = malloc(1 << 20);
    char req[2048];
    uint64_t seq = 0;
    double end = harness_now_s() + w->seconds;
    while (harness_now_s() < end) {
        for (int batch = 0; batch < 64; batch++) {
            size_t n = 0;
            int expect = 200;
            if (w->kind == LOAD_BASELINE) {
                n = (size_t)snprintf(req, sizeof(req),
                                     "GET /api/v1/none HTTP/1.1\r\nHost: b\r\n\r\n");
                expect = 404;
            } else if (w->kind == LOAD_LOOKUP_FEW) {
                n = (size_t)snprintf(req, sizeof(req),
                                     "GET /api/v1/services/bench-small?count=3 HTTP/1.1\r\n"
                                     "Host: b\r\n\r\n");
            } else if (w->kind == LOAD_LOOKUP_ALL) {
                n = (size_t)snprintf(
                    req, sizeof(req),
                    "GET /api/v1/services/bench-large HTTP/1.1\r\nHost: b\r\n\r\n");
            } else {
                char body[256];
                seq++;
                int bl = snprintf(
                    body, sizeof(body),
                    "{\"name\":\"bench-reg\",\"ip\":\"10.%d.%llu.%llu\",\"port\":%llu}", w->thread,
                    (unsigned long long)(seq / 250 % 256), (unsigned long long)(seq % 250 + 1),
                    (unsigned long long)(1 + seq / 64000 % 60000));
                hmac_headers_t h;
                hmac_sign(w->ak, w->sk, "POST", "/api/v1/register", NULL, 0, body, (size_t)bl,
                          (int64_t)time(NULL), &h);
                n = (size_t)snprintf(req, sizeof(req),
                                     "POST /api/v1/register HTTP/1.1\r\nHost: b\r\n"
                                     "Content-Type: application/json\r\nContent-Length: %d\r\n"
                                     "%s: %s\r\n%s: %s\r\n%s: %s\r\n%s: %s\r\n\r\n%s",
                                     bl, HMAC_HDR_KEY, h.key, HMAC_HDR_TIMESTAMP, h.timestamp,
                                     HMAC_HDR_NONCE, h.nonce, HMAC_HDR_SIGNATURE, h.signature,
                                     body);
            }
            if (send_all(fd, req, n) < 0)
                goto out;
            int st = read_response(fd, buf, 1 << 20);
            if (st < 0)
                goto out;
            if (st == expect)
                w->ok++;
            else
                w->bad++;
        }
    }
out:
    free(buf);
    close(fd);
    return NULL;
}

static double run_load(uint16_t port, load_t kind, int conns, double seconds, const char *ak,
                       const char *sk, uint64_t *bad)
{
    pthread_t t[64];
    worker_t w[64];
    double t0 = harness_now_s();
    for (int i = 0; i < conns; i++) {
        w[i] = (worker_t){
            .port = port, .kind = kind, .thread = i, .seconds = seconds, .ak = ak, .sk = sk};
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    uint64_t ok = 0;
    *bad = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        *bad += w[i].bad;
    }
    return (double)ok / (harness_now_s() - t0);
}

/* Starts rampart-sd pinned to cpu with the given look-up cache; *port gets its port. */
static harness_proc_t *start_sd(const char *name, const char *cache, uint16_t rport,
                                const char *keys_path, int cpu, uint16_t *port_out)
{
    char cfg[1024], cfg_path[512], file[64], bin[512], cpus[16];
    uint16_t port = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "log:\n  level: warn\nhttp:\n  listen: 127.0.0.1:%u\n  threads: 4\n"
             "redis:\n  addr: 127.0.0.1:%u\nregistry:\n  ttl: 300s\n  cache: %s\n"
             "  max_instances: 1000000\nauth:\n  keys_file: %s\n",
             (unsigned)port, (unsigned)rport, cache, keys_path);
    snprintf(file, sizeof(file), "%s.yaml", name);
    harness_write_file(file, cfg, cfg_path, sizeof(cfg_path));
    harness_bin("service-discovery/rampart-sd", bin, sizeof(bin));
    snprintf(cpus, sizeof(cpus), "%d", cpu);
    char *sd_argv[] = {"taskset", "-c", cpus, bin, "-c", cfg_path, NULL};
    harness_proc_t *sd = harness_spawn(name, sd_argv, NULL);
    if (!sd || harness_wait_port(port, 15000) < 0) {
        fprintf(stderr, "bench_sd: rampart-sd (%s) did not start\n", name);
        return NULL;
    }
    *port_out = port;
    return sd;
}

int main(int argc, char **argv)
{
    double seconds = 5;
    int conns = 8, sd_cpu = 0;
    static const struct option lo[] = {{"seconds", required_argument, NULL, 's'},
                                       {"connections", required_argument, NULL, 'c'},
                                       {"sd-cpu", required_argument, NULL, 'p'},
                                       {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (opt == 's')
            seconds = atof(optarg);
        else if (opt == 'c')
            conns = atoi(optarg);
        else if (opt == 'p')
            sd_cpu = atoi(optarg);
        else
            return 2;
    }
    if (conns < 1 || conns > 64)
        return 2;
    harness_init("bench_sd");
    /* The load generator and Redis (which inherits this) stay off the SD's CPU. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu > 1) {
        cpu_set_t set;
        CPU_ZERO(&set);
        for (long i = 0; i < ncpu && i < CPU_SETSIZE; i++)
            if (i != sd_cpu)
                CPU_SET(i, &set);
        sched_setaffinity(0, sizeof(set), &set);
    }

    uint16_t rport;
    harness_proc_t *redis = harness_redis_start(&rport);
    if (!redis)
        return 1;
    char sk[65], keys_path[512];
    if (harness_make_keys("bench", sk, sizeof(sk), keys_path, sizeof(keys_path)) < 0)
        return 1;
    uint16_t port = 0, port_nc = 0;
    harness_proc_t *sd = start_sd("sd", "1s", rport, keys_path, sd_cpu, &port);
    harness_proc_t *sd_nc = start_sd("sd-nocache", "0", rport, keys_path, sd_cpu, &port_nc);
    if (!sd || !sd_nc)
        return 1;

    /* 10 instances of bench-small, 100 of bench-large. */
    char url[256];
    for (int i = 0; i < 110; i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"name\":\"%s\",\"ip\":\"10.200.0.%d\",\"port\":%d,"
                 "\"weight\":%d,\"metadata\":{\"zone\":\"z%d\"}}",
                 i < 10 ? "bench-small" : "bench-large", i % 250 + 1, 7000 + i, 1 + i % 5, i % 3);
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v1/register", (unsigned)port);
        harness_http_response_t r;
        harness_http_signed("POST", url, body, strlen(body), "bench", sk, 0, &r);
        if (r.status != 200) {
            fprintf(stderr, "bench_sd: seeding failed with %ld\n", r.status);
            return 1;
        }
        harness_http_response_free(&r);
    }

    struct {
        const char *name;
        load_t kind;
        uint16_t port;
        double rate;
        uint64_t bad;
    } runs[] = {
        {"baseline (404, HTTP only)", LOAD_BASELINE, port, 0, 0},
        {"look-up, count=3 of 10", LOAD_LOOKUP_FEW, port, 0, 0},
        {"look-up, all 100", LOAD_LOOKUP_ALL, port, 0, 0},
        {"look-up, count=3, no cache", LOAD_LOOKUP_FEW, port_nc, 0, 0},
        {"look-up, all 100, no cache", LOAD_LOOKUP_ALL, port_nc, 0, 0},
        {"registration (signed)", LOAD_REGISTER, port, 0, 0},
    };
    printf("bench_sd: rampart-sd on CPU %d, %d connections, %.1f s per run, look-up cache 1 s\n",
           sd_cpu, conns, seconds);
    int rc = 0;
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        runs[i].rate =
            run_load(runs[i].port, runs[i].kind, conns, seconds, "bench", sk, &runs[i].bad);
        printf("  %-28s %10.0f req/s  (x%.2f of baseline)  errors=%llu\n", runs[i].name,
               runs[i].rate, runs[i].rate / (runs[0].rate > 0 ? runs[0].rate : 1),
               (unsigned long long)runs[i].bad);
        if (runs[i].bad || runs[i].rate <= 0)
            rc = 1;
    }
    harness_stop(sd);
    harness_stop(sd_nc);
    harness_stop(redis);
    return rc;
}
