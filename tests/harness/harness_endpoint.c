#include "harness_endpoint.h"

#include <errno.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "harness_kafka.h"

static int start_sd(harness_endpoint_t *w)
{
    char cfg[1024], path[512], bin[512];
    w->sd_port = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "http:\n  listen: 127.0.0.1:%u\nredis:\n  addr: 127.0.0.1:%u\n"
             "registry:\n  ttl: 30s\n  cache: 0\nauth:\n  keys_file: %s\n",
             (unsigned)w->sd_port, (unsigned)w->redis_port, w->keys_path);
    if (harness_write_file("sd.yaml", cfg, path, sizeof(path)) < 0)
        return -EIO;
    harness_bin("service-discovery/rampart-sd", bin, sizeof(bin));
    char *argv[] = {bin, "-c", path, NULL};
    if (!(w->sd = harness_spawn("sd", argv, NULL)))
        return -ECHILD;
    return harness_wait_port(w->sd_port, 15000);
}

int harness_endpoint_start_ac(harness_endpoint_t *w)
{
    char cfg[4096], path[512], bin[512];
    if (!w->ac_grpc)
        w->ac_grpc = harness_free_port();
    if (!w->ac_http)
        w->ac_http = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "log:\n  level: info\ninstance:\n  id: ac-endpoint\n"
             "grpc:\n  listen: 127.0.0.1:%u\n  drain_timeout: 2s\n"
             "tls:\n  ca_file: %s/ca.pem\n  cert_file: %s/server.pem\n  key_file: %s/server.key\n"
             "http:\n  listen: 127.0.0.1:%u\nauth:\n  keys_file: %s\n"
             "kafka:\n  brokers: %s\n  flush_timeout: 5s\n"
             "sd:\n  addrs: [127.0.0.1:%u]\n  access_key: %s\n  renew_interval: 1s\n",
             (unsigned)w->ac_grpc, w->pki, w->pki, w->pki, (unsigned)w->ac_http, w->keys_path,
             w->bootstrap, (unsigned)w->sd_port, w->ak);
    if (harness_write_file("ac.yaml", cfg, path, sizeof(path)) < 0)
        return -EIO;
    harness_bin("agent-center/rampart-agent-center", bin, sizeof(bin));
    char *argv[] = {bin, "-c", path, NULL};
    if (!(w->ac = harness_spawn("ac", argv, NULL)))
        return -ECHILD;
    return harness_wait_log(w->ac, "event=started", NULL, 0, 15000);
}

harness_proc_t *harness_endpoint_spawn_agent(harness_endpoint_t *w, const char *name,
                                             const char *id, const char *plugins_yaml)
{
    char cfg[4096], path[512], bin[512], file[80];
    if (!w->agent_http)
        w->agent_http = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "log:\n  level: info\nagent:\n  id: %s\n  state_dir: %s\n"
             "sd:\n  addrs: [127.0.0.1:%u]\n"
             "tls:\n  ca_file: %s/ca.pem\n  cert_file: %s.pem\n  key_file: %s.key\n"
             "transport:\n  backoff_min: 200ms\n  backoff_max: 2s\n  drain_timeout: 3s\n"
             "spool:\n  dir: %s/spool\n  memory_max: 256KiB\n  disk_max: 64MiB\n"
             "  segment_size: 1MiB\n"
             "plugins:\n  dir: %s\n%s"
             "heartbeat:\n  interval: 2s\nhttp:\n  port: %u\n",
             id, w->state, (unsigned)w->sd_port, w->pki, w->cert, w->cert, w->state, w->plugins,
             plugins_yaml ? plugins_yaml
                          : "  rate: 2000\n  burst: 2000\n  memory_max: 0\n"
                            "  restart_backoff_min: 200ms\n  restart_backoff_max: 2s\n"
                            "  stop_timeout: 3s\n",
             (unsigned)w->agent_http);
    snprintf(file, sizeof(file), "%s.yaml", name);
    if (harness_write_file(file, cfg, path, sizeof(path)) < 0)
        return NULL;
    harness_bin("endpoint/agent/rampart-agent", bin, sizeof(bin));
    char *argv[] = {bin, "-c", path, NULL};
    return harness_spawn(name, argv, NULL);
}

int harness_endpoint_start_servers(harness_endpoint_t *w, const char *agent_id)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->agent_id, sizeof(w->agent_id), "%s", agent_id);
    snprintf(w->ak, sizeof(w->ak), "rampart-test");
    if (!(w->redis = harness_redis_start(&w->redis_port)))
        return -ECHILD;
    int rc = harness_make_keys(w->ak, w->sk, sizeof(w->sk), w->keys_path, sizeof(w->keys_path));
    if (rc < 0)
        return rc;
    char kp[512];
    snprintf(kp, sizeof(kp), "%s", w->keys_path);
    snprintf(w->dir, sizeof(w->dir), "%s", dirname(kp));
    if ((rc = harness_make_pki(w->pki, sizeof(w->pki))) < 0 ||
        (rc = harness_make_client_cert(w->pki, agent_id, w->cert, sizeof(w->cert))) < 0)
        return rc;
    snprintf(w->plugins, sizeof(w->plugins), "%s/plugins", w->dir);
    snprintf(w->state, sizeof(w->state), "%s/agent-state", w->dir);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' && mkdir -p '%s'", w->plugins, w->state,
             w->plugins);
    if (system(cmd) != 0)
        return -EIO;
    if (!(w->kafka = harness_kafka_start(w->bootstrap, sizeof(w->bootstrap))))
        return -ECHILD;
    if ((rc = start_sd(w)) < 0)
        return rc;
    return harness_endpoint_start_ac(w);
}

int harness_endpoint_start(harness_endpoint_t *w, const char *agent_id, const char *plugins_yaml)
{
    int rc = harness_endpoint_start_servers(w, agent_id);
    if (rc < 0)
        return rc;
    if (!(w->agent = harness_endpoint_spawn_agent(w, "agent", agent_id, plugins_yaml)))
        return -ECHILD;
    return harness_wait_log(w->agent, "event=connected", NULL, 0, 30000);
}

int harness_endpoint_stop(harness_endpoint_t *w)
{
    int st = harness_stop(w->agent);
    w->agent = NULL;
    harness_stop(w->ac);
    harness_stop(w->sd);
    harness_stop(w->kafka);
    harness_stop(w->redis);
    w->ac = w->sd = w->kafka = w->redis = NULL;
    return st;
}

int harness_sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char buf[65536], md[32];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    fclose(f);
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int harness_endpoint_install_plugin(harness_endpoint_t *w, const char *name, const char *rel,
                                    char sha[65])
{
    char bin[512], dst[800], cmd[2200];
    harness_bin(rel, bin, sizeof(bin));
    snprintf(dst, sizeof(dst), "%s/%s", w->plugins, name);
    mkdir(dst, 0755);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s/%s'", bin, dst, name);
    if (system(cmd) != 0)
        return -EIO;
    snprintf(dst + strlen(dst), sizeof(dst) - strlen(dst), "/%s", name);
    return harness_sha256_file(dst, sha);
}

long harness_endpoint_command(harness_endpoint_t *w, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v1/agents/%s/commands",
             (unsigned)w->ac_http, w->agent_id);
    long st = 0;
    for (int i = 0; i < 100 && st != 202; i++) {
        harness_http_response_t r;
        harness_http_signed("POST", url, body, strlen(body), w->ak, w->sk, 0, &r);
        st = r.status;
        harness_http_response_free(&r);
        if (st != 202)
            harness_sleep_ms(200);
    }
    return st;
}

double harness_endpoint_agent_metric(harness_endpoint_t *w, const char *series)
{
    return harness_metric(w->agent_http, series);
}

const char *harness_envelope_field(const Rampart__EnvelopeView *e, const char *key)
{
    if (!e->payload)
        return NULL;
    for (size_t i = 0; i < e->payload->n_fields; i++)
        if (strcmp(e->payload->fields[i]->key, key) == 0)
            return e->payload->fields[i]->value;
    return NULL;
}

bool harness_endpoint_scan(harness_endpoint_t *w, const char *topic, harness_envelope_fn match,
                           void *ud, int timeout_s)
{
    harness_kafka_reader_t *r = harness_kafka_reader_new(w->bootstrap, topic);
    if (!r)
        return false;
    double deadline = harness_now_s() + timeout_s;
    bool found = false;
    harness_kafka_msg_t m;
    while (!found && harness_now_s() < deadline) {
        if (!harness_kafka_next(r, 500, &m))
            continue;
        Rampart__EnvelopeView *e = rampart__envelope_view__unpack(NULL, m.len, m.value);
        if (e && strcmp(m.key, w->agent_id) == 0 && strcmp(e->agent_id, w->agent_id) == 0)
            found = match(e, ud);
        if (e)
            rampart__envelope_view__free_unpacked(e, NULL);
        harness_kafka_msg_dispose(&m);
    }
    harness_kafka_reader_free(r);
    return found;
}
