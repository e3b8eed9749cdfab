/* rampart-sd: the service-discovery daemon. main() only reads the configuration and wires
 * the modules together; see sd.h for the state and api.h for the HTTP API. */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/daemon.h"
#include "common/log.h"
#include "service-discovery/sd.h"

static void sd_stop(sd_state_t *sd)
{
    http_server_free(sd->http);
    api_free(sd->api);
    registry_free(sd->registry);
    redis_pool_free(sd->redis);
    hmac_keyring_free(sd->keys);
    metrics_registry_free(sd->metrics);
    config_dispose(sd_config_options, sd_config_noptions, &sd->cfg);
}

static int sd_start(sd_state_t *sd)
{
    char err[512];
    int rc = -EINVAL;
    sd_config_t *c = &sd->cfg;

    sd->keys = hmac_keyring_new();
    if ((rc = hmac_keyring_load(sd->keys, c->auth_keys_file, err, sizeof(err))) < 0) {
        char q[600];
        LOG_ERROR("config_error", "key=auth.keys_file error=%s", log_quote(q, sizeof(q), err));
        goto cleanup;
    }
    sd->metrics = metrics_registry_new();
    redis_pool_opts_t ro = {.addr = c->redis_addr,
                            .password = c->redis_password,
                            .db = (int)c->redis_db,
                            .timeout_ms = (int)c->redis_timeout_ms,
                            .max_idle = (size_t)c->http_threads * 2};
    if (!(sd->redis = redis_pool_new(&ro))) {
        rc = -EINVAL;
        goto cleanup;
    }
    registry_opts_t rg = {.redis = sd->redis,
                          .prefix = c->redis_prefix,
                          .ttl_ms = c->registry_ttl_ms,
                          .max_services = c->registry_max_services,
                          .max_instances = c->registry_max_instances,
                          .cache_ms = c->registry_cache_ms,
                          .metrics = sd->metrics};
    sd->registry = registry_new(&rg);
    api_opts_t ao = {.registry = sd->registry,
                     .keys = sd->keys,
                     .auth_window_s = (int)(c->auth_window_ms / 1000),
                     .metrics = sd->metrics};
    sd->api = api_new(&ao);
    http_server_opts_t ho = {.listen = c->http_listen,
                             .threads = (unsigned)c->http_threads,
                             .max_body = (size_t)c->http_max_body,
                             .max_connections = (unsigned)c->http_max_connections,
                             .timeout_s = (unsigned)(c->http_timeout_ms / 1000),
                             .metric_prefix = "rampart_sd",
                             .metrics = sd->metrics};
    if (!(sd->http = http_server_new(&ho))) {
        rc = -EINVAL;
        goto cleanup;
    }
    if ((rc = api_install(sd->api, sd->http)) < 0)
        goto cleanup;
    if ((rc = http_server_start(sd->http)) < 0) {
        LOG_ERROR("listen_failed", "addr=%s error=%s", c->http_listen, strerror(-rc));
        goto cleanup;
    }
    const char *rerr = NULL;
    if (registry_ping(sd->registry, &rerr) < 0)
        LOG_WARN("redis_unreachable", "addr=%s error=%s (serving 503 until it answers)",
                 c->redis_addr, rerr ? rerr : "unknown");
    LOG_INFO("started", "version=%s port=%u redis=%s ttl_ms=%lld keys=%zu", RAMPART_VERSION,
             (unsigned)http_server_port(sd->http), c->redis_addr, (long long)c->registry_ttl_ms,
             hmac_keyring_count(sd->keys));
    return 0;

cleanup:
    sd_stop(sd);
    return rc;
}

int main(int argc, char **argv)
{
    sd_state_t sd = {0};
    const daemon_spec_t spec = {.name = "rampart-sd",
                                .service = "sd",
                                .env_prefix = SD_ENV_PREFIX,
                                .opts = sd_config_options,
                                .nopts = sd_config_noptions,
                                .log_level_offset = offsetof(sd_config_t, log_level)};
    int rc = daemon_init(&spec, argc, argv, &sd.cfg);
    if (rc >= 0)
        return rc;
    sigset_t set;
    daemon_block_signals(&set); /* before any thread starts */
    if (sd_start(&sd) < 0)
        return 1;
    int sig = 0;
    sigwait(&set, &sig);
    LOG_INFO("stopping", "signal=%s", strsignal(sig));
    sd_stop(&sd);
    LOG_INFO("stopped", NULL);
    return 0;
}
