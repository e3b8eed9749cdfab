/* hub_config: rampart-hub's configuration keys (rampart-hub --help-config prints them). */
#ifndef RAMPART_HUB_CONFIG_H
#define RAMPART_HUB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

#define HUB_ENV_PREFIX "RAMPART_HUB_"

typedef struct {
    char *log_level;
    char *instance;
    char *kafka_brokers;
    char *kafka_group;
    char *kafka_events_topic;
    char *kafka_alerts_topic;
    int64_t kafka_max_inflight;
    int64_t kafka_commit_interval_ms;
    char **kafka_properties;
    char *rules_dir;
    char *rules_state_dir;
    int64_t engine_proc_capacity;
    int64_t engine_group_capacity;
    int64_t engine_dedup_capacity;
    char *http_listen;
    int64_t http_threads;
    int64_t http_max_body;
    int64_t http_max_connections;
    int64_t http_timeout_ms;
    char *auth_keys_file;
    int64_t auth_window_ms;
    char **sd_addrs;
    char *sd_name;
    char *sd_advertise;
    char *sd_access_key;
    int64_t sd_renew_interval_ms;
} hub_config_t;

extern const config_option_t hub_config_options[];
extern const size_t hub_config_noptions;

#endif
