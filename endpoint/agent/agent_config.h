/* agent_config: the configuration keys of rampart-agent (docs/configuration.md lists them). */
#ifndef RAMPART_AGENT_CONFIG_H
#define RAMPART_AGENT_CONFIG_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

#define AGENT_ENV_PREFIX "RAMPART_AGENT_"

typedef struct {
    char *log_level;
    char *agent_id; /* override; empty: derived from machine-id / DMI and persisted */
    char *state_dir;

    char **sd_addrs; /* service discovery */
    char *sd_name;
    char **ac_addrs; /* static AgentCenters, used when SD has none or is unreachable */
    char *tls_ca_file, *tls_cert_file, *tls_key_file;
    char *tls_server_name;
    int64_t backoff_min_ms, backoff_max_ms;
    int64_t batch_interval_ms;
    int64_t batch_max_records, batch_max_bytes;
    int64_t keepalive_ms, connect_timeout_ms, drain_timeout_ms;

    char *spool_dir;
    int64_t spool_memory_max, spool_disk_max, spool_segment_size;

    char *plugins_dir;
    int64_t plugin_max_frame;
    int64_t plugin_rate, plugin_burst;
    int64_t plugin_memory_max, plugin_cpu_percent;
    int64_t plugin_backoff_min_ms, plugin_backoff_max_ms;
    int64_t plugin_stop_timeout_ms;

    int64_t heartbeat_interval_ms;
    int64_t http_port;
} agent_config_t;

extern const config_option_t agent_config_options[];
extern const size_t agent_config_noptions;

#endif
