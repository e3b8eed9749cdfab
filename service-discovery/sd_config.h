/* sd_config: the service-discovery daemon's configuration keys (see docs/configuration.md). */
#ifndef RAMPART_SD_CONFIG_H
#define RAMPART_SD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

#define SD_ENV_PREFIX "RAMPART_SD_"

typedef struct {
    char *log_level;
    char *http_listen;
    int64_t http_threads;
    int64_t http_max_body;
    int64_t http_max_connections;
    int64_t http_timeout_ms;
    char *redis_addr;
    char *redis_password;
    int64_t redis_db;
    int64_t redis_timeout_ms;
    char *redis_prefix;
    int64_t registry_ttl_ms;
    int64_t registry_max_services;
    int64_t registry_max_instances;
    int64_t registry_cache_ms;
    char *auth_keys_file;
    int64_t auth_window_ms;
} sd_config_t;

extern const config_option_t sd_config_options[];
extern const size_t sd_config_noptions;

#endif
