#include "manager/mgr_config.h"

#include <stddef.h>

#define OPT(k, t, f, d, lo, hi, h)                                                                 \
    {                                                                                              \
        k, t, offsetof(mgr_config_t, f), d, lo, hi, h                                              \
    }
#define DAY_MS (86400000LL)

const config_option_t mgr_config_options[] = {
    OPT("log.level", CONFIG_STRING, log_level, "info", 0, 0, "debug, info, warn or error"),
    OPT("instance", CONFIG_STRING, instance, "", 0, 0,
        "name of this manager instance in logs and service discovery; empty: hostname:port"),

    OPT("http.listen", CONFIG_STRING, http_listen, "0.0.0.0:6701", 0, 0,
        "address of the REST API and the console, host:port"),
    OPT("http.threads", CONFIG_INT, http_threads, "8", 1, 256, "HTTP worker threads"),
    OPT("http.max_body", CONFIG_SIZE, http_max_body, "1MiB", 1024, 64 << 20,
        "largest request body accepted; larger ones get 413"),
    OPT("http.max_connections", CONFIG_INT, http_max_connections, "1024", 16, 1000000,
        "concurrent HTTP connections"),
    OPT("http.timeout", CONFIG_DURATION, http_timeout_ms, "30s", 1000, 3600000,
        "idle HTTP connection timeout"),

    OPT("mongo.uri", CONFIG_STRING, mongo_uri, "mongodb://127.0.0.1:27017", 0, 0,
        "MongoDB connection string (mongodb://user:pass@host:port/?options)"),
    OPT("mongo.database", CONFIG_STRING, mongo_database, "rampart", 0, 0, "database name"),
    OPT("mongo.pool_size", CONFIG_INT, mongo_pool_size, "16", 1, 1000,
        "MongoDB connections in the client pool"),
    OPT("mongo.timeout", CONFIG_DURATION, mongo_timeout_ms, "2s", 100, 120000,
        "server selection and connect timeout: how long a request waits for MongoDB before 503"),

    OPT("redis.addr", CONFIG_STRING, redis_addr, "127.0.0.1:6379", 0, 0, "Redis host:port"),
    OPT("redis.password", CONFIG_STRING, redis_password, "", 0, 0, "Redis password; empty: none"),
    OPT("redis.db", CONFIG_INT, redis_db, "0", 0, 1000, "Redis database index"),
    OPT("redis.timeout", CONFIG_DURATION, redis_timeout_ms, "1s", 50, 60000,
        "Redis connect and command timeout"),
    OPT("redis.prefix", CONFIG_STRING, redis_prefix, "rampart:mgr:", 0, 0,
        "prefix of every Redis key the manager writes"),

    OPT("kafka.brokers", CONFIG_STRING, kafka_brokers, "127.0.0.1:9092", 0, 0,
        "Kafka bootstrap servers, host:port[,host:port...]"),
    OPT("kafka.group", CONFIG_STRING, kafka_group, "rampart-manager", 0, 0,
        "consumer group of rampart.state, shared by every manager instance; alerts use "
        "<group>.alerts"),
    OPT("kafka.state_topic", CONFIG_STRING, kafka_state_topic, "rampart.state", 0, 0,
        "topic of heartbeats, assets and task results (protobuf envelopes)"),
    OPT("kafka.alerts_topic", CONFIG_STRING, kafka_alerts_topic, "rampart.alerts", 0, 0,
        "topic of the hub's JSON alerts"),
    OPT("kafka.batch", CONFIG_INT, kafka_batch, "2000", 1, 100000,
        "most messages written to MongoDB in one bulk write"),
    OPT("kafka.properties", CONFIG_LIST, kafka_properties, "", 0, 0,
        "extra librdkafka consumer properties, NAME=VALUE"),

    OPT("auth.jwt_secret_file", CONFIG_STRING, auth_jwt_secret_file, NULL, 0, 0,
        "file holding the JWT signing secret (at least 32 bytes, mode 0600), made at install"),
    OPT("auth.access_ttl", CONFIG_DURATION, auth_access_ttl_ms, "15m", 1000, DAY_MS,
        "lifetime of an access token"),
    OPT("auth.refresh_ttl", CONFIG_DURATION, auth_refresh_ttl_ms, "12h", 1000, 30 * DAY_MS,
        "lifetime of a refresh token"),
    OPT("auth.login_max_failures", CONFIG_INT, auth_login_max_failures, "5", 1, 1000,
        "failed logins per user name (4x per client address) within the window before 429"),
    OPT("auth.login_window", CONFIG_DURATION, auth_login_window_ms, "15m", 1000, DAY_MS,
        "window of the login failure counters"),
    OPT("auth.argon2_memory_kib", CONFIG_INT, auth_argon2_memory_kib, "19456", 1024, 4194304,
        "argon2id memory cost of new password hashes, KiB"),
    OPT("auth.argon2_iterations", CONFIG_INT, auth_argon2_iterations, "2", 1, 100,
        "argon2id time cost of new password hashes"),
    OPT("auth.admin_user", CONFIG_STRING, auth_admin_user, "admin", 0, 0,
        "name of the first admin, created when there is no user; password from "
        "RAMPART_MANAGER_ADMIN_PASSWORD or generated and printed once"),
    OPT("auth.keys_file", CONFIG_STRING, auth_keys_file, "", 0, 0,
        "file of 'access_key secret_key' lines (mode 0600) used to sign calls to service "
        "discovery, AgentCenters and hubs"),
    OPT("auth.access_key", CONFIG_STRING, auth_access_key, "", 0, 0,
        "access key (from auth.keys_file) the manager signs with"),
    OPT("auth.window", CONFIG_DURATION, auth_window_ms, "60s", 1000, 600000,
        "accepted clock difference of signed requests"),

    OPT("hosts.offline_after", CONFIG_DURATION, hosts_offline_after_ms, "90s", 1000, DAY_MS,
        "a host without a heartbeat for this long is marked offline"),
    OPT("jobs.interval", CONFIG_DURATION, jobs_interval_ms, "5s", 100, 3600000,
        "period of the background jobs (offline marking, task retries, clean-up)"),
    OPT("retention.alerts", CONFIG_DURATION, retention_alerts_ms, "2160h", 3600000, 3650 * DAY_MS,
        "alerts older than this are deleted (TTL index)"),
    OPT("retention.tasks", CONFIG_DURATION, retention_tasks_ms, "720h", 3600000, 3650 * DAY_MS,
        "tasks and their per-host results are deleted after this"),
    OPT("retention.audit", CONFIG_DURATION, retention_audit_ms, "8760h", 3600000, 3650 * DAY_MS,
        "audit log entries are deleted after this"),
    OPT("assets.stale_after", CONFIG_DURATION, assets_stale_after_ms, "26h", 60000, 365 * DAY_MS,
        "an asset item not reported again for this long is dropped from the snapshot"),
    OPT("hubs.sync_interval", CONFIG_DURATION, hubs_sync_interval_ms, "60s", 1000, DAY_MS,
        "how often the whitelist (and disabled rules) is pushed to every hub"),
    OPT("tasks.max_hosts", CONFIG_INT, tasks_max_hosts, "10000", 1, 1000000,
        "most hosts one task may target"),
    OPT("tasks.retry_after", CONFIG_DURATION, tasks_retry_after_ms, "30s", 1000, DAY_MS,
        "a task not delivered to its AgentCenter is retried after this"),

    OPT("console.dir", CONFIG_STRING, console_dir, "", 0, 0,
        "directory of the built console (index.html); empty: no console"),
    OPT("console.max_age", CONFIG_INT, console_max_age_s, "31536000", 0, 315360000,
        "Cache-Control max-age of fingerprinted console assets (index.html is never cached)"),

    OPT("sd.addrs", CONFIG_LIST, sd_addrs, "", 0, 0,
        "service-discovery addresses; empty: no registration, no AgentCenter or hub look-up"),
    OPT("sd.name", CONFIG_STRING, sd_name, "manager", 0, 0, "service name registered"),
    OPT("sd.advertise", CONFIG_STRING, sd_advertise, "127.0.0.1", 0, 0,
        "IP or host name other services use to reach this instance"),
    OPT("sd.renew_interval", CONFIG_DURATION, sd_renew_interval_ms, "10s", 500, 600000,
        "how often the registration is renewed"),
    OPT("sd.agent_center_name", CONFIG_STRING, sd_agent_center_name, "agent-center", 0, 0,
        "service name of the AgentCenters"),
    OPT("sd.hub_name", CONFIG_STRING, sd_hub_name, "hub", 0, 0, "service name of the hubs"),
};

const size_t mgr_config_noptions = sizeof(mgr_config_options) / sizeof(mgr_config_options[0]);
