#include "manager/mgr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/log_bridge.h"
#include "manager/console.h"
#include "manager/dispatch.h"
#include "manager/ingest.h"
#include "manager/jobs.h"
#include "manager/router.h"
#include "manager/services.h"

static unsigned health(void *ud, json_t **body)
{
    mgr_t *m = ud;
    char err[300];
    bool mongo = store_healthy(m->store), redis = redis_pool_healthy(m->redis);
    *body = json_pack("{s:s, s:s, s:s, s:s}", "status", mongo && redis ? "ok" : "unavailable",
                      "instance", m->instance, "mongo", mongo ? "ok" : "down", "redis",
                      redis ? "ok" : "down");
    if (!mongo)
        json_object_set_new(*body, "mongo_error",
                            json_string(store_last_error(m->store, err, sizeof(err))));
    return mongo && redis ? 200 : 503;
}

static void free_parts(mgr_t *m)
{
    if (m->sd && m->sd_reg >= 0)
        sd_client_deregister(m->sd, m->sd_reg);
    sd_client_free(m->sd);
    m->sd = NULL;
    http_server_free(m->http);
    m->http = NULL;
    jobs_free(m->jobs);
    m->jobs = NULL;
    dispatch_free(m->dispatch);
    m->dispatch = NULL;
    ingest_free(m->ingest);
    m->ingest = NULL;
    console_free(m->console);
    m->console = NULL;
    services_free(m->svc);
    m->svc = NULL;
    auth_free(m->auth);
    m->auth = NULL;
    store_free(m->store);
    m->store = NULL;
    redis_pool_free(m->redis);
    m->redis = NULL;
    hmac_keyring_free(m->keys);
    m->keys = NULL;
    metrics_registry_free(m->metrics);
    m->metrics = NULL;
    config_dispose(mgr_config_options, mgr_config_noptions, &m->cfg);
}

int mgr_start(mgr_t *m)
{
    mgr_config_t *c = &m->cfg;
    char err[512], q[600];
    int rc = -EINVAL;
    m->sd_reg = -1;
    log_bridge_mongoc();
    m->metrics = metrics_registry_new();
    m->m_audit_failures = metrics_counter(m->metrics, "rampart_manager_audit_failures_total",
                                          "Audit entries that could not be stored", NULL);
    m->keys = hmac_keyring_new();
    if (c->auth_keys_file[0]) {
        if ((rc = hmac_keyring_load(m->keys, c->auth_keys_file, err, sizeof(err))) < 0)
            goto config_error;
        if (c->auth_access_key[0] &&
            !(m->secret = hmac_keyring_secret(m->keys, c->auth_access_key))) {
            snprintf(err, sizeof(err), "auth.access_key: %s is not in auth.keys_file",
                     c->auth_access_key);
            rc = -EINVAL;
            goto config_error;
        }
    }
    store_opts_t so = {.uri = c->mongo_uri,
                       .database = c->mongo_database,
                       .pool_size = (int)c->mongo_pool_size,
                       .timeout_ms = (int)c->mongo_timeout_ms,
                       .retention_alerts_ms = c->retention_alerts_ms,
                       .retention_tasks_ms = c->retention_tasks_ms,
                       .retention_audit_ms = c->retention_audit_ms};
    if (!(m->store = store_new(&so, err, sizeof(err))))
        goto config_error;
    redis_pool_opts_t ro = {.addr = c->redis_addr,
                            .password = c->redis_password,
                            .db = (int)c->redis_db,
                            .timeout_ms = (int)c->redis_timeout_ms,
                            .max_idle = (size_t)c->http_threads + 4};
    m->redis = redis_pool_new(&ro);
    auth_opts_t ao = {.jwt_secret_file = c->auth_jwt_secret_file,
                      .access_ttl_ms = c->auth_access_ttl_ms,
                      .refresh_ttl_ms = c->auth_refresh_ttl_ms,
                      .login_max_failures = c->auth_login_max_failures,
                      .login_window_ms = c->auth_login_window_ms,
                      .argon2_memory_kib = (uint32_t)c->auth_argon2_memory_kib,
                      .argon2_iterations = (uint32_t)c->auth_argon2_iterations,
                      .redis_prefix = c->redis_prefix,
                      .redis = m->redis,
                      .store = m->store};
    if (!(m->auth = auth_new(&ao, err, sizeof(err))))
        goto config_error;
    m->svc = services_new(c->sd_addrs, c->auth_access_key, m->secret, 2000);
    m->console = console_new(c->console_dir, (long)c->console_max_age_s);

    http_server_opts_t ho = {.listen = c->http_listen,
                             .threads = (unsigned)c->http_threads,
                             .max_body = (size_t)c->http_max_body,
                             .max_connections = (unsigned)c->http_max_connections,
                             .timeout_s = (unsigned)(c->http_timeout_ms / 1000),
                             .metric_prefix = "rampart_manager",
                             .metrics = m->metrics};
    if (!(m->http = http_server_new(&ho)) || router_install(m, m->http) < 0 ||
        (m->console && console_install(m->console, m->http) < 0)) {
        snprintf(err, sizeof(err), "http: cannot set up the routes");
        goto config_error;
    }
    http_server_set_health(m->http, health, m);
    if ((rc = http_server_start(m->http)) < 0) {
        LOG_ERROR("listen_failed", "addr=%s error=%s", c->http_listen, strerror(-rc));
        goto cleanup;
    }
    if (c->instance[0]) {
        snprintf(m->instance, sizeof(m->instance), "%s", c->instance);
    } else {
        char host[128] = "localhost";
        gethostname(host, sizeof(host) - 1);
        snprintf(m->instance, sizeof(m->instance), "%s:%u", host,
                 (unsigned)http_server_port(m->http));
    }
    store_check(m->store); /* first contact; the jobs thread keeps trying */
    if (!(m->ingest = ingest_new(m, err, sizeof(err))))
        goto config_error;
    m->dispatch = dispatch_new(m);
    m->jobs = jobs_new(m);
    if ((rc = sd_client_from_keyring(c->sd_addrs, m->keys, c->auth_access_key,
                                     (int)c->sd_renew_interval_ms, &m->sd, err, sizeof(err))) < 0)
        goto config_error;
    if (m->sd) {
        char meta[300];
        snprintf(meta, sizeof(meta), "{\"instance\":\"%s\",\"admin_port\":%u}", m->instance,
                 (unsigned)http_server_port(m->http));
        m->sd_reg = sd_client_register(m->sd, c->sd_name, c->sd_advertise,
                                       http_server_port(m->http), 0, meta);
        if (m->sd_reg < 0) {
            snprintf(err, sizeof(err), "sd: cannot register %s at %s", c->sd_name, c->sd_advertise);
            rc = -EINVAL;
            goto config_error;
        }
    } else {
        LOG_INFO("sd_disabled", "reason=\"sd.addrs is empty\"");
    }
    LOG_INFO("started", "version=%s instance=%s http_port=%u mongo=%s kafka=%s console=%s",
             RAMPART_VERSION, m->instance, (unsigned)http_server_port(m->http),
             store_healthy(m->store) ? "up" : "down", c->kafka_brokers,
             m->console ? c->console_dir : "-");
    return 0;

config_error:
    LOG_ERROR("config_error", "error=%s", log_quote(q, sizeof(q), err));
cleanup:
    free_parts(m);
    return rc < 0 ? rc : -EINVAL;
}

void mgr_stop(mgr_t *m)
{
    free_parts(m);
}
