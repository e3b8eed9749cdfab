/* ac_config: the AgentCenter's configuration keys (docs/configuration.md, agent-center). */
#ifndef RAMPART_AC_CONFIG_H
#define RAMPART_AC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

#define AC_ENV_PREFIX "RAMPART_AC_"

typedef struct {
    char *log_level;
    char *instance_id;

    char *grpc_listen;
    int64_t grpc_threads;
    bool grpc_plaintext_for_tests;
    char *tls_ca_file;
    char *tls_cert_file;
    char *tls_key_file;
    int64_t tls_handshake_timeout_ms;
    int64_t grpc_max_connections;
    int64_t grpc_max_message_size;
    int64_t grpc_max_records;
    int64_t grpc_keepalive_time_ms;
    int64_t grpc_keepalive_timeout_ms;
    int64_t grpc_memory_quota;
    int64_t grpc_command_queue;
    int64_t grpc_drain_timeout_ms;

    char *http_listen;
    int64_t http_threads;
    int64_t http_max_body;
    int64_t http_max_connections;
    int64_t http_timeout_ms;
    char *auth_keys_file;
    int64_t auth_window_ms;
    int64_t command_queue_wait_ms;

    char *kafka_brokers;
    char **kafka_routes;
    int64_t kafka_queue_max_messages;
    int64_t kafka_queue_max_size;
    int64_t kafka_message_timeout_ms;
    int64_t kafka_flush_timeout_ms;
    char **kafka_properties;

    char **sd_addrs;
    char *sd_name;
    char *sd_advertise;
    char *sd_access_key;
    int64_t sd_renew_interval_ms;
} ac_config_t;

extern const config_option_t ac_config_options[];
extern const size_t ac_config_noptions;

#endif
