/* hub: the rampart-hub daemon's state and its start/stop. main.c fills cfg and calls
 * hub_run(), which wires the modules together and runs until SIGTERM or SIGINT:
 *
 *   rulestore (rules dir + pushed ruleset + pushed whitelist, compiled) --post--> pipeline
 *   pipeline  (Kafka consumer -> decoder -> engine -> producer, offsets after delivery)
 *   http      (/health, /metrics, admin API in api.c), sd_client registration as "hub"
 *
 * SIGHUP recompiles the rules; a broken file is refused (logged with file:line) and the
 * rules in force stay. */
#ifndef RAMPART_HUB_HUB_H
#define RAMPART_HUB_HUB_H

#include "common/hmac.h"
#include "common/http.h"
#include "common/metrics.h"
#include "common/sd_client.h"
#include "hub/hub_config.h"

typedef struct rulestore rulestore_t;
typedef struct pipeline pipeline_t;
typedef struct api api_t;

typedef struct {
    hub_config_t cfg;
    char instance[128];
    metrics_registry_t *metrics;
    hmac_keyring_t *keys;
    rulestore_t *rules;
    pipeline_t *pipeline;
    api_t *api;
    http_server_t *http;
    sd_client_t *sd;
    int sd_reg;
} hub_t;

/* Runs the daemon until SIGTERM/SIGINT. 0 on a clean stop, a negative errno if it could not
 * start. Disposes hub->cfg. */
int hub_run(hub_t *hub);

#endif
