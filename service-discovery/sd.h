/* sd: the service-discovery daemon's state, one struct passed by pointer. */
#ifndef RAMPART_SD_H
#define RAMPART_SD_H

#include "common/hmac.h"
#include "common/http.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "service-discovery/api.h"
#include "service-discovery/registry.h"
#include "service-discovery/sd_config.h"

typedef struct {
    sd_config_t cfg;
    metrics_registry_t *metrics;
    hmac_keyring_t *keys;
    redis_pool_t *redis;
    registry_t *registry;
    api_t *api;
    http_server_t *http;
} sd_state_t;

#endif
