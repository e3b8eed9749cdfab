/* mgr_config: rampart-manager's configuration keys (rampart-manager --help-config prints them). */
#ifndef RAMPART_MGR_CONFIG_H
#define RAMPART_MGR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

#define MGR_ENV_PREFIX "RAMPART_MANAGER_"

typedef struct {
    char *log_level;
    char *instance;

    char *http_listen;
    int64_t http_threads;
    int64_t http_max_body;
    int64_t http_max_connections;
    int64_t http_timeout_ms;

    char *mongo_uri;
    char *mongo_database;
    int64_t mongo_pool_size;
    int64_t mongo_timeout_ms;

    char *redis_addr;
    char *redis_password;
    int64_t redis_db;
    int64_t redis_timeout_ms;
    char *redis_prefix;

    char *kafka_brokers;
    char *kafka_group;
    char *kafka_state_topic;
    char *kafka_alerts_topic;
    int64_t kafka_batch;
    char **kafka_properties;

    char *auth_jwt_secret_file;
    int64_t auth_access_ttl_ms;
    int64_t auth_refresh_ttl_ms;
    int64_t auth_login_max_failures;
    int64_t auth_login_window_ms;
    int64_t auth_argon2_memory_kib;
    int64_t auth_argon2_iterations;
    char *auth_admin_user;
    char *auth_keys_file;
    char *auth_access_key;
    int64_t auth_window_ms;

    int64_t hosts_offline_after_ms;
    int64_t jobs_interval_ms;
    int64_t retention_alerts_ms;
    int64_t retention_tasks_ms;
    int64_t retention_audit_ms;
    int64_t assets_stale_after_ms;
    int64_t hubs_sync_interval_ms;
    int64_t tasks_max_hosts;
    int64_t tasks_retry_after_ms;

    char *console_dir;
    int64_t console_max_age_s;

    char **sd_addrs;
    char *sd_name;
    char *sd_advertise;
    int64_t sd_renew_interval_ms;
    char *sd_agent_center_name;
    char *sd_hub_name;
} mgr_config_t;

extern const config_option_t mgr_config_options[];
extern const size_t mgr_config_noptions;

#endif
