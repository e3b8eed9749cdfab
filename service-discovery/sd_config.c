#include "service-discovery/sd_config.h"

#include <stddef.h>

#define OPT(k, t, f, d, lo, hi, h)                                                                 \
    {                                                                                              \
        k, t, offsetof(sd_config_t, f), d, lo, hi, h                                               \
    }

const config_option_t sd_config_options[] = {
    OPT("log.level", CONFIG_STRING, log_level, "info", 0, 0, "debug, info, warn or error"),
    OPT("http.listen", CONFIG_STRING, http_listen, "0.0.0.0:8088", 0, 0,
        "address of the registry API, host:port"),
    OPT("http.threads", CONFIG_INT, http_threads, "4", 1, 256, "HTTP worker threads"),
    OPT("http.max_body", CONFIG_SIZE, http_max_body, "64KiB", 1024, 16 << 20,
        "largest request body accepted; larger ones get 413"),
    OPT("http.max_connections", CONFIG_INT, http_max_connections, "4096", 16, 1000000,
        "concurrent HTTP connections"),
    OPT("http.timeout", CONFIG_DURATION, http_timeout_ms, "30s", 1000, 3600000,
        "idle HTTP connection timeout"),
    OPT("redis.addr", CONFIG_STRING, redis_addr, "127.0.0.1:6379", 0, 0, "Redis host:port"),
    OPT("redis.password", CONFIG_STRING, redis_password, "", 0, 0, "Redis AUTH password"),
    OPT("redis.db", CONFIG_INT, redis_db, "0", 0, 15, "Redis database index"),
    OPT("redis.timeout", CONFIG_DURATION, redis_timeout_ms, "1s", 10, 60000,
        "Redis connect and command timeout"),
    OPT("redis.prefix", CONFIG_STRING, redis_prefix, "rampart:sd:", 0, 0,
        "prefix of every Redis key the registry writes"),
    OPT("registry.ttl", CONFIG_DURATION, registry_ttl_ms, "30s", 1000, 3600000,
        "an instance that stops renewing disappears after this long"),
    OPT("registry.max_services", CONFIG_INT, registry_max_services, "1000", 1, 1000000,
        "distinct service names the registry accepts"),
    OPT("registry.max_instances", CONFIG_INT, registry_max_instances, "20000", 1, 1000000,
        "instances per service the registry accepts"),
    OPT("registry.cache", CONFIG_DURATION, registry_cache_ms, "1s", 0, 60000,
        "how long a look-up answer is reused; 0 asks Redis every time"),
    OPT("auth.keys_file", CONFIG_STRING, auth_keys_file, NULL, 0, 0,
        "file of 'access_key secret_key' lines (mode 0600) for signed requests"),
    OPT("auth.window", CONFIG_DURATION, auth_window_ms, "60s", 1000, 600000,
        "accepted clock difference of a signed request"),
};

const size_t sd_config_noptions = sizeof(sd_config_options) / sizeof(sd_config_options[0]);
