#include "hub/hub.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/log.h"
#include "hub/api.h"
#include "hub/pipeline.h"
#include "hub/rulestore.h"

static void publish(void *ud, ruleset_t *rs)
{
    hub_t *hub = ud;
    pipeline_post_ruleset(hub->pipeline, rs);
}

static void hub_stop(hub_t *hub)
{
    sd_client_free(hub->sd);
    http_server_free(hub->http);
    pipeline_free(hub->pipeline);
    api_free(hub->api);
    rulestore_free(hub->rules);
    hmac_keyring_free(hub->keys);
    metrics_registry_free(hub->metrics);
    config_dispose(hub_config_options, hub_config_noptions, &hub->cfg);
}

static int start_sd(hub_t *hub, char *err, size_t errlen)
{
    hub_config_t *c = &hub->cfg;
    int rc = sd_client_from_keyring(c->sd_addrs, hub->keys, c->sd_access_key,
                                    (int)c->sd_renew_interval_ms, &hub->sd, err, errlen);
    if (rc < 0 || !hub->sd)
        return rc;
    char meta[256];
    snprintf(meta, sizeof(meta), "{\"instance\":\"%s\"}", hub->instance);
    hub->sd_reg = sd_client_register(hub->sd, c->sd_name, c->sd_advertise,
                                     http_server_port(hub->http), 0, meta);
    if (hub->sd_reg < 0) {
        snprintf(err, errlen, "sd: cannot register %s at %s", c->sd_name, c->sd_advertise);
        return -EINVAL;
    }
    LOG_INFO("sd_registering", "name=%s addr=%s:%u", c->sd_name, c->sd_advertise,
             (unsigned)http_server_port(hub->http));
    return 0;
}

static int hub_start(hub_t *hub)
{
    hub_config_t *c = &hub->cfg;
    char err[1024];
    int rc = -EINVAL;
    if (c->instance[0]) {
        snprintf(hub->instance, sizeof(hub->instance), "%s", c->instance);
    } else {
        char host[64] = "hub";
        gethostname(host, sizeof(host) - 1);
        snprintf(hub->instance, sizeof(hub->instance), "%s-%d", host, (int)getpid());
    }
    hub->metrics = metrics_registry_new();
    if (c->auth_keys_file[0]) {
        hub->keys = hmac_keyring_new();
        if ((rc = hmac_keyring_load(hub->keys, c->auth_keys_file, err, sizeof(err))) < 0)
            goto fail;
    }
    pipeline_opts_t po = {.brokers = c->kafka_brokers,
                          .group = c->kafka_group,
                          .events_topic = c->kafka_events_topic,
                          .alerts_topic = c->kafka_alerts_topic,
                          .properties = c->kafka_properties,
                          .max_inflight = c->kafka_max_inflight,
                          .commit_interval_ms = c->kafka_commit_interval_ms,
                          .proc_capacity = (size_t)c->engine_proc_capacity,
                          .group_capacity = (size_t)c->engine_group_capacity,
                          .dedup_capacity = (size_t)c->engine_dedup_capacity,
                          .instance = hub->instance,
                          .metrics = hub->metrics};
    if (!(hub->pipeline = pipeline_new(&po, err, sizeof(err)))) {
        rc = -EINVAL;
        goto fail;
    }
    hub->rules = rulestore_new(c->rules_dir, c->rules_state_dir, publish, hub);
    if ((rc = rulestore_reload(hub->rules, RULESTORE_KEEP, NULL, 0, RULESTORE_KEEP, NULL, 0, err,
                               sizeof(err))) < 0)
        goto fail;
    api_opts_t ao = {.rules = hub->rules,
                     .pipeline = hub->pipeline,
                     .keys = hub->keys,
                     .auth_window_s = (int)(c->auth_window_ms / 1000),
                     .metrics = hub->metrics};
    hub->api = api_new(&ao);
    http_server_opts_t ho = {.listen = c->http_listen,
                             .threads = (unsigned)c->http_threads,
                             .max_body = (size_t)c->http_max_body,
                             .max_connections = (unsigned)c->http_max_connections,
                             .timeout_s = (unsigned)(c->http_timeout_ms / 1000),
                             .metric_prefix = "rampart_hub",
                             .metrics = hub->metrics};
    if (!(hub->http = http_server_new(&ho)) || (rc = api_install(hub->api, hub->http)) < 0) {
        snprintf(err, sizeof(err), "http: cannot set up the server");
        rc = -EINVAL;
        goto fail;
    }
    if ((rc = http_server_start(hub->http)) < 0) {
        snprintf(err, sizeof(err), "http.listen %s: %s", c->http_listen, strerror(-rc));
        goto fail;
    }
    if ((rc = pipeline_start(hub->pipeline)) < 0) {
        snprintf(err, sizeof(err), "kafka: cannot subscribe to %s", c->kafka_events_topic);
        goto fail;
    }
    if ((rc = start_sd(hub, err, sizeof(err))) < 0)
        goto fail;
    LOG_INFO("started", "version=%s instance=%s port=%u brokers=%s group=%s rules=%zu admin=%s",
             RAMPART_VERSION, hub->instance, (unsigned)http_server_port(hub->http),
             c->kafka_brokers, c->kafka_group, rulestore_rule_count(hub->rules),
             hub->keys ? "on" : "off");
    return 0;
fail : {
    char q[1100];
    LOG_ERROR("start_failed", "error=%s", log_quote(q, sizeof(q), err));
}
    hub_stop(hub);
    return rc < 0 ? rc : -EINVAL;
}

int hub_run(hub_t *hub)
{
    /* signals are taken synchronously by this thread; block them before threads start */
    sigset_t set;
    daemon_block_signals(&set);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int rc = hub_start(hub);
    if (rc < 0)
        return rc;
    for (;;) {
        int sig = 0;
        sigwait(&set, &sig);
        if (sig != SIGHUP) {
            LOG_INFO("stopping", "signal=%s", strsignal(sig));
            break;
        }
        char err[1024];
        if (rulestore_reload(hub->rules, RULESTORE_KEEP, NULL, 0, RULESTORE_KEEP, NULL, 0, err,
                             sizeof(err)) < 0)
            LOG_WARN("reload_refused", "the rules in force stay");
    }
    hub_stop(hub);
    LOG_INFO("stopped", NULL);
    return 0;
}
