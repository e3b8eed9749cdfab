#include "hub/hub_config.h"

#include <stddef.h>

#define OPT(k, t, f, d, lo, hi, h)                                                                 \
    {                                                                                              \
        k, t, offsetof(hub_config_t, f), d, lo, hi, h                                              \
    }

const config_option_t hub_config_options[] = {
    OPT("log.level", CONFIG_STRING, log_level, "info", 0, 0, "debug, info, warn or error"),
    OPT("instance", CONFIG_STRING, instance, "", 0, 0,
        "name of this hub in alerts and logs; empty: hostname-pid"),
    OPT("kafka.brokers", CONFIG_STRING, kafka_brokers, "127.0.0.1:9092", 0, 0,
        "bootstrap brokers, host:port[,host:port...]"),
    OPT("kafka.group", CONFIG_STRING, kafka_group, "rampart-hub", 0, 0,
        "consumer group: hub instances of one group share the partitions"),
    OPT("kafka.events_topic", CONFIG_STRING, kafka_events_topic, "rampart.events", 0, 0,
        "topic of the events (protobuf rampart.Envelope)"),
    OPT("kafka.alerts_topic", CONFIG_STRING, kafka_alerts_topic, "rampart.alerts", 0, 0,
        "topic the alerts (JSON) are produced to"),
    OPT("kafka.max_inflight", CONFIG_INT, kafka_max_inflight, "50000", 100, 10000000,
        "consumed events whose offsets wait for alert deliveries; consumption pauses beyond"),
    OPT("kafka.commit_interval", CONFIG_DURATION, kafka_commit_interval_ms, "1s", 100, 60000,
        "how often the offsets of fully processed events are committed"),
    OPT("kafka.properties", CONFIG_LIST, kafka_properties, "", 0, 0,
        "extra librdkafka properties for both clients, NAME=VALUE"),
    OPT("rules.dir", CONFIG_STRING, rules_dir, "/etc/rampart/hub/rules", 0, 0,
        "directory of rule files (*.yaml), read at start and on SIGHUP"),
    OPT("rules.state_dir", CONFIG_STRING, rules_state_dir, "/var/lib/rampart/hub", 0, 0,
        "where rulesets and whitelists pushed through the admin API are kept"),
    OPT("engine.proc_capacity", CONFIG_INT, engine_proc_capacity, "65536", 64, 16777216,
        "processes remembered for ancestry, all agents together"),
    OPT("engine.group_capacity", CONFIG_INT, engine_group_capacity, "4096", 16, 4194304,
        "groups each threshold or sequence rule tracks at once"),
    OPT("engine.dedup_capacity", CONFIG_INT, engine_dedup_capacity, "16384", 16, 4194304,
        "alerts being merged with their duplicates at once"),
    OPT("http.listen", CONFIG_STRING, http_listen, "0.0.0.0:6761", 0, 0,
        "address of /health, /metrics and the admin API"),
    OPT("http.threads", CONFIG_INT, http_threads, "2", 1, 64, "HTTP worker threads"),
    OPT("http.max_body", CONFIG_SIZE, http_max_body, "4MiB", 1024, 64 << 20,
        "largest pushed ruleset or whitelist"),
    OPT("http.max_connections", CONFIG_INT, http_max_connections, "64", 4, 100000,
        "concurrent HTTP connections"),
    OPT("http.timeout", CONFIG_DURATION, http_timeout_ms, "30s", 1000, 3600000,
        "idle HTTP connection timeout"),
    OPT("auth.keys_file", CONFIG_STRING, auth_keys_file, "", 0, 0,
        "file of 'access_key secret_key' lines (mode 0600); empty: no admin API"),
    OPT("auth.window", CONFIG_DURATION, auth_window_ms, "60s", 1000, 600000,
        "accepted clock difference of a signed request"),
    OPT("sd.addrs", CONFIG_LIST, sd_addrs, "", 0, 0,
        "service-discovery addresses; empty: do not register"),
    OPT("sd.name", CONFIG_STRING, sd_name, "hub", 0, 0, "service name registered"),
    OPT("sd.advertise", CONFIG_STRING, sd_advertise, "127.0.0.1", 0, 0,
        "IP or host name others use to reach this hub's HTTP port"),
    OPT("sd.access_key", CONFIG_STRING, sd_access_key, "", 0, 0,
        "access key (from auth.keys_file) used to sign registrations"),
    OPT("sd.renew_interval", CONFIG_DURATION, sd_renew_interval_ms, "10s", 500, 600000,
        "how often the registration is renewed"),
};

const size_t hub_config_noptions = sizeof(hub_config_options) / sizeof(hub_config_options[0]);
