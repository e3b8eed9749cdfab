#include "agent-center/ac.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

#define TABLE_BUCKETS 65536

/* Reads a whole PEM file (at most 1 MiB). NULL with the reason in err. */
static char *read_pem(const char *key, const char *path, char *err, size_t errlen)
{
    if (!path || !path[0]) {
        snprintf(err, errlen, "%s is required (or grpc.plaintext_for_tests: true)", key);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s: %s", key, path, strerror(errno));
        return NULL;
    }
    char *buf = xmalloc((1 << 20) + 1);
    size_t n = fread(buf, 1, 1 << 20, f);
    int bad = ferror(f) || !feof(f);
    fclose(f);
    if (bad || n == 0) {
        snprintf(err, errlen, "%s: %s: empty, unreadable or larger than 1 MiB", key, path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* host part of "host:port" (IPv6 in brackets) into out; port into *port. */
static int split_hostport(const char *s, char *out, size_t size, unsigned *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon)
        return -EINVAL;
    const char *h = s;
    size_t n = (size_t)(colon - s);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= size)
        return -EINVAL;
    memcpy(out, h, n);
    out[n] = '\0';
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || p > 65535)
        return -EINVAL;
    *port = (unsigned)p;
    return 0;
}

/* The address agents should use: sd.advertise, else the listen host, else (listening on all)
 * the first non-loopback IPv4 address, else 127.0.0.1. */
static void advertise_addr(const ac_config_t *c, char *out, size_t size)
{
    unsigned port;
    if (c->sd_advertise[0]) {
        snprintf(out, size, "%s", c->sd_advertise);
        return;
    }
    if (split_hostport(c->grpc_listen, out, size, &port) == 0 && out[0] &&
        strcmp(out, "0.0.0.0") != 0 && strcmp(out, "::") != 0)
        return;
    snprintf(out, size, "127.0.0.1");
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;
        if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127)
            continue;
        inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)size);
        break;
    }
    freeifaddrs(ifs);
}

static void on_drain(void *ud)
{
    ac_state_t *ac = ud;
    if (ac->transfer)
        transfer_resume(ac->transfer);
}

/* Once a second: the records/s gauge and the service-discovery weight (live streams). */
static void *ticker_main(void *arg)
{
    ac_state_t *ac = arg;
    uint64_t last = transfer_records_in(ac->transfer);
    int last_weight = -1;
    pthread_mutex_lock(&ac->tick_mu);
    while (!atomic_load(&ac->stopping)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&ac->tick_cv, &ac->tick_mu, &ts);
        uint64_t now = transfer_records_in(ac->transfer);
        metrics_gauge_set(ac->m_rate, (double)(now - last));
        last = now;
        int weight = (int)transfer_live(ac->transfer);
        if (ac->sd && weight != last_weight) {
            sd_client_set_weight(ac->sd, ac->sd_reg, weight);
            last_weight = weight;
        }
    }
    pthread_mutex_unlock(&ac->tick_mu);
    return NULL;
}

static int start_sd(ac_state_t *ac, char *err, size_t errlen)
{
    ac_config_t *c = &ac->cfg;
    int rc = sd_client_from_keyring(c->sd_addrs, ac->keys, c->sd_access_key,
                                    (int)c->sd_renew_interval_ms, &ac->sd, err, errlen);
    if (rc < 0 || !ac->sd) {
        if (rc == 0)
            LOG_INFO("sd_disabled", "reason=\"sd.addrs is empty\"");
        return rc;
    }
    char ip[256], meta[512];
    advertise_addr(c, ip, sizeof(ip));
    snprintf(meta, sizeof(meta), "{\"admin_port\":%u,\"instance\":\"%s\"}",
             (unsigned)http_server_port(ac->http), ac->instance_id);
    ac->sd_reg = sd_client_register(ac->sd, c->sd_name, ip, transfer_port(ac->transfer), 0, meta);
    if (ac->sd_reg < 0) {
        snprintf(err, errlen, "sd: cannot register %s at %s:%u", c->sd_name, ip,
                 (unsigned)transfer_port(ac->transfer));
        return -EINVAL;
    }
    LOG_INFO("sd_registering", "name=%s addr=%s:%u", c->sd_name, ip,
             (unsigned)transfer_port(ac->transfer));
    return 0;
}

static void ac_free_parts(ac_state_t *ac)
{
    if (ac->ticker_started) {
        atomic_store(&ac->stopping, true);
        pthread_mutex_lock(&ac->tick_mu);
        pthread_cond_broadcast(&ac->tick_cv);
        pthread_mutex_unlock(&ac->tick_mu);
        pthread_join(ac->ticker, NULL);
        ac->ticker_started = false;
    }
    sd_client_free(ac->sd);
    ac->sd = NULL;
    http_server_free(ac->http);
    ac->http = NULL;
    admin_free(ac->admin);
    ac->admin = NULL;
    /* The producer's poll thread calls into transfer (on_drain): stop it first. */
    producer_t *p = ac->producer;
    ac->producer = NULL;
    if (ac->transfer)
        transfer_shutdown(ac->transfer, 0);
    producer_free(p);
    transfer_free(ac->transfer);
    ac->transfer = NULL;
    conn_table_free(ac->table);
    ac->table = NULL;
    route_free(ac->route);
    ac->route = NULL;
    hmac_keyring_free(ac->keys);
    ac->keys = NULL;
    metrics_registry_free(ac->metrics);
    ac->metrics = NULL;
    pthread_cond_destroy(&ac->tick_cv);
    pthread_mutex_destroy(&ac->tick_mu);
    config_dispose(ac_config_options, ac_config_noptions, &ac->cfg);
}

/* Every agent stream is a socket (three with TLS: the agent's, and both ends of the socketpair
 * to gRPC, tls_gate.h): raise the soft descriptor limit to the hard one. */
static void raise_fd_limit(int64_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (rl.rlim_cur != before)
        setrlimit(RLIMIT_NOFILE, &rl);
    if ((int64_t)rl.rlim_cur < want + 64)
        LOG_WARN("fd_limit_low", "limit=%llu descriptors_needed=%lld (raise LimitNOFILE)",
                 (unsigned long long)rl.rlim_cur, (long long)want + 64);
}

int ac_start(ac_state_t *ac)
{
    ac_config_t *c = &ac->cfg;
    char err[512], q[600];
    char *ca = NULL, *cert = NULL, *key = NULL;
    int rc = -EINVAL;
    pthread_mutex_init(&ac->tick_mu, NULL);
    pthread_cond_init(&ac->tick_cv, NULL);

    ac->keys = hmac_keyring_new();
    if ((rc = hmac_keyring_load(ac->keys, c->auth_keys_file, err, sizeof(err))) < 0)
        goto config_error;
    rc = -EINVAL;
    memcpy(err, "kafka.routes: ", 14);
    if (!(ac->route = route_new((const char *const *)c->kafka_routes, err + 14, sizeof(err) - 14)))
        goto config_error;
    if (!c->grpc_plaintext_for_tests &&
        (!(ca = read_pem("tls.ca_file", c->tls_ca_file, err, sizeof(err))) ||
         !(cert = read_pem("tls.cert_file", c->tls_cert_file, err, sizeof(err))) ||
         !(key = read_pem("tls.key_file", c->tls_key_file, err, sizeof(err)))))
        goto config_error;
    unsigned gport = 0;
    char ghost[256];
    if (split_hostport(c->grpc_listen, ghost, sizeof(ghost), &gport) < 0) {
        snprintf(err, sizeof(err), "grpc.listen: \"%s\" is not host:port", c->grpc_listen);
        goto config_error;
    }
    raise_fd_limit(c->grpc_max_connections * (c->grpc_plaintext_for_tests ? 1 : 3));
    ac->metrics = metrics_registry_new();
    ac->table = conn_table_new(TABLE_BUCKETS);
    producer_opts_t po = {.brokers = c->kafka_brokers,
                          .properties = c->kafka_properties,
                          .queue_max_messages = c->kafka_queue_max_messages,
                          .queue_max_bytes = c->kafka_queue_max_size,
                          .message_timeout_ms = c->kafka_message_timeout_ms,
                          .route = ac->route,
                          .metrics = ac->metrics,
                          .on_drain = on_drain,
                          .ud = ac};
    if (!(ac->producer = producer_new(&po, err, sizeof(err))))
        goto config_error;

    if (c->instance_id[0]) {
        snprintf(ac->instance_id, sizeof(ac->instance_id), "%s", c->instance_id);
    } else {
        char host[200] = "localhost";
        gethostname(host, sizeof(host) - 1);
        snprintf(ac->instance_id, sizeof(ac->instance_id), "%s:%u", host, gport);
    }
    transfer_opts_t to = {.listen = c->grpc_listen,
                          .threads = (int)c->grpc_threads,
                          .plaintext = c->grpc_plaintext_for_tests,
                          .ca_pem = ca,
                          .cert_pem = cert,
                          .key_pem = key,
                          .handshake_timeout_ms = c->tls_handshake_timeout_ms,
                          .max_connections = (size_t)c->grpc_max_connections,
                          .max_message = (size_t)c->grpc_max_message_size,
                          .max_records = (size_t)c->grpc_max_records,
                          .command_queue = (size_t)c->grpc_command_queue,
                          .keepalive_time_ms = c->grpc_keepalive_time_ms,
                          .keepalive_timeout_ms = c->grpc_keepalive_timeout_ms,
                          .memory_quota = c->grpc_memory_quota,
                          .instance_id = ac->instance_id,
                          .route = ac->route,
                          .producer = ac->producer,
                          .table = ac->table,
                          .metrics = ac->metrics};
    if (!(ac->transfer = transfer_new(&to, err, sizeof(err)))) {
        LOG_ERROR("listen_failed", "addr=%s error=%s", c->grpc_listen,
                  log_quote(q, sizeof(q), err));
        rc = -EADDRINUSE;
        goto cleanup;
    }
    if (c->grpc_plaintext_for_tests)
        LOG_WARN("plaintext_grpc", "addr=%s (TESTS ONLY: no TLS, agent ids are not verified)",
                 c->grpc_listen);

    admin_opts_t ao = {.transfer = ac->transfer,
                       .table = ac->table,
                       .producer = ac->producer,
                       .keys = ac->keys,
                       .auth_window_s = (int)(c->auth_window_ms / 1000),
                       .command_wait_ms = (int)c->command_queue_wait_ms,
                       .instance_id = ac->instance_id,
                       .metrics = ac->metrics};
    ac->admin = admin_new(&ao);
    http_server_opts_t ho = {.listen = c->http_listen,
                             .threads = (unsigned)c->http_threads,
                             .max_body = (size_t)c->http_max_body,
                             .max_connections = (unsigned)c->http_max_connections,
                             .timeout_s = (unsigned)(c->http_timeout_ms / 1000),
                             .metric_prefix = "rampart_ac",
                             .metrics = ac->metrics};
    if (!(ac->http = http_server_new(&ho)) || admin_install(ac->admin, ac->http) < 0) {
        rc = -EINVAL;
        goto cleanup;
    }
    if ((rc = http_server_start(ac->http)) < 0) {
        LOG_ERROR("listen_failed", "addr=%s error=%s", c->http_listen, strerror(-rc));
        goto cleanup;
    }
    ac->m_rate = metrics_gauge(ac->metrics, "rampart_ac_records_per_second",
                               "Records accepted from agents in the last second", NULL);
    if ((rc = start_sd(ac, err, sizeof(err))) < 0)
        goto config_error;
    if (pthread_create(&ac->ticker, NULL, ticker_main, ac) != 0) {
        rc = -EAGAIN;
        goto cleanup;
    }
    ac->ticker_started = true;
    LOG_INFO("started",
             "version=%s instance=%s grpc_port=%u http_port=%u tls=%s kafka=%s topics=%zu",
             RAMPART_VERSION, ac->instance_id, (unsigned)transfer_port(ac->transfer),
             (unsigned)http_server_port(ac->http), c->grpc_plaintext_for_tests ? "off" : "mutual",
             c->kafka_brokers, route_ntopics(ac->route));
    free(ca);
    free(cert);
    free(key);
    return 0;

config_error:
    LOG_ERROR("config_error", "error=%s", log_quote(q, sizeof(q), err));
cleanup:
    free(ca);
    free(cert);
    free(key);
    ac_free_parts(ac);
    return rc < 0 ? rc : -EINVAL;
}

int ac_stop(ac_state_t *ac)
{
    int rc = 0;
    /* 1. Leave service discovery first, so reconnecting agents go elsewhere. */
    if (ac->sd) {
        sd_client_deregister(ac->sd, ac->sd_reg);
        LOG_INFO("sd_deregistered", "name=%s", ac->cfg.sd_name);
    }
    /* 2. Stop accepting and drain the streams into Kafka's queue. */
    LOG_INFO("draining", "streams=%zu timeout_ms=%lld", transfer_live(ac->transfer),
             (long long)ac->cfg.grpc_drain_timeout_ms);
    size_t lost = transfer_shutdown(ac->transfer, ac->cfg.grpc_drain_timeout_ms);
    /* 3. Flush Kafka. */
    LOG_INFO("flushing", "queued=%zu timeout_ms=%lld", producer_queued(ac->producer),
             (long long)ac->cfg.kafka_flush_timeout_ms);
    size_t left = producer_flush(ac->producer, (int)ac->cfg.kafka_flush_timeout_ms);
    if (lost || left) {
        LOG_ERROR("stop_incomplete", "records_not_queued=%zu records_not_delivered=%zu", lost,
                  left);
        rc = -EIO;
    } else {
        LOG_INFO("drained", "records_not_delivered=0");
    }
    ac_free_parts(ac);
    return rc;
}
