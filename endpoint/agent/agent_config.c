#include "endpoint/agent/agent_config.h"

#define OPT(k, t, f, d, lo, hi, h)                                                                 \
    {                                                                                              \
        k, t, offsetof(agent_config_t, f), d, lo, hi, h                                            \
    }

const config_option_t agent_config_options[] = {
    OPT("log.level", CONFIG_STRING, log_level, "info", 0, 0, "debug, info, warn or error"),
    OPT("agent.id", CONFIG_STRING, agent_id, "", 0, 0,
        "agent id; empty: derived from /etc/machine-id or the DMI product UUID and kept in "
        "agent.state_dir (it must equal the CN of tls.cert_file)"),
    OPT("agent.state_dir", CONFIG_STRING, state_dir, "/var/lib/rampart-agent", 0, 0,
        "where the agent keeps its id, metadata, plugin set and plugin logs"),

    OPT("sd.addrs", CONFIG_LIST, sd_addrs, "", 0, 0,
        "service-discovery addresses host:port; AgentCenters are looked up there"),
    OPT("sd.name", CONFIG_STRING, sd_name, "agent-center", 0, 0,
        "service name AgentCenters register under"),
    OPT("agent_center.addrs", CONFIG_LIST, ac_addrs, "", 0, 0,
        "static AgentCenter gRPC addresses host:port, tried when service discovery has none"),
    OPT("tls.ca_file", CONFIG_STRING, tls_ca_file, "/etc/rampart/agent/ca.pem", 0, 0,
        "PEM CA that signed the AgentCenters' server certificates"),
    OPT("tls.cert_file", CONFIG_STRING, tls_cert_file, "/etc/rampart/agent/agent.pem", 0, 0,
        "PEM client certificate; its CN is the agent id"),
    OPT("tls.key_file", CONFIG_STRING, tls_key_file, "/etc/rampart/agent/agent.key", 0, 0,
        "PEM client private key"),
    OPT("tls.server_name", CONFIG_STRING, tls_server_name, "", 0, 0,
        "name expected in the AgentCenter's certificate; empty: the host of the address"),
    OPT("transport.backoff_min", CONFIG_DURATION, backoff_min_ms, "500ms", 10, 600000,
        "first reconnect delay; doubles per failure, with jitter"),
    OPT("transport.backoff_max", CONFIG_DURATION, backoff_max_ms, "30s", 100, 3600000,
        "longest reconnect delay"),
    OPT("transport.batch_interval", CONFIG_DURATION, batch_interval_ms, "100ms", 10, 10000,
        "records are sent at least this often (sooner when a batch is full)"),
    OPT("transport.batch_max_records", CONFIG_INT, batch_max_records, "2000", 1, 20000,
        "most records in one PackagedData (the AgentCenter refuses more than its "
        "grpc.max_records)"),
    OPT("transport.batch_max_bytes", CONFIG_SIZE, batch_max_bytes, "2MiB", 4096, 64 << 20,
        "largest PackagedData sent (keep under the AgentCenter's grpc.max_message_size)"),
    OPT("transport.keepalive", CONFIG_DURATION, keepalive_ms, "30s", 5000, 3600000,
        "HTTP/2 ping interval; a stream whose ping is not answered in 10 s is dropped"),
    OPT("transport.connect_timeout", CONFIG_DURATION, connect_timeout_ms, "10s", 100, 600000,
        "how long one AgentCenter may take to accept a stream before the next is tried"),
    OPT("transport.drain_timeout", CONFIG_DURATION, drain_timeout_ms, "5s", 0, 600000,
        "on SIGTERM, how long queued records may take to leave before the rest is spooled"),

    OPT("spool.dir", CONFIG_STRING, spool_dir, "/var/lib/rampart-agent/spool", 0, 0,
        "directory of the on-disk spool (segment files)"),
    OPT("spool.memory_max", CONFIG_SIZE, spool_memory_max, "4MiB", 64 << 10, 1LL << 30,
        "records held in memory before they go to the disk spool"),
    OPT("spool.disk_max", CONFIG_SIZE, spool_disk_max, "256MiB", 1 << 20, 1LL << 40,
        "disk spool cap; when full the oldest records are dropped (counted)"),
    OPT("spool.segment_size", CONFIG_SIZE, spool_segment_size, "4MiB", 64 << 10, 1LL << 30,
        "size of one spool segment file (at most disk_max / 4 is used)"),

    OPT("plugins.dir", CONFIG_STRING, plugins_dir, "/opt/rampart-agent/plugins", 0, 0,
        "plugin binaries live at <dir>/<name>/<name>"),
    OPT("plugins.max_frame", CONFIG_SIZE, plugin_max_frame, "1MiB", 1024, 16 << 20,
        "largest record frame a plugin may write; a larger one cuts the plugin off"),
    OPT("plugins.rate", CONFIG_INT, plugin_rate, "5000", 1, 10000000,
        "records per second each plugin may send; more are dropped and counted"),
    OPT("plugins.burst", CONFIG_INT, plugin_burst, "10000", 1, 100000000,
        "records a plugin may send at once above its rate (token bucket size)"),
    OPT("plugins.memory_max", CONFIG_SIZE, plugin_memory_max, "256MiB", 0, 1LL << 40,
        "memory limit of each plugin (cgroup v2 memory.max, else RLIMIT_AS); 0: none"),
    OPT("plugins.cpu_percent", CONFIG_INT, plugin_cpu_percent, "10", 0, 6400,
        "CPU limit of each plugin in % of one core (cgroup v2 cpu.max; without cgroup v2 the "
        "plugin runs at nice 10 instead); 0: none"),
    OPT("plugins.restart_backoff_min", CONFIG_DURATION, plugin_backoff_min_ms, "1s", 10, 3600000,
        "delay before restarting a plugin that exited; doubles per crash"),
    OPT("plugins.restart_backoff_max", CONFIG_DURATION, plugin_backoff_max_ms, "60s", 10, 3600000,
        "longest restart delay"),
    OPT("plugins.stop_timeout", CONFIG_DURATION, plugin_stop_timeout_ms, "5s", 0, 600000,
        "how long a stopping plugin may take to exit after its pipes close before SIGKILL"),

    OPT("heartbeat.interval", CONFIG_DURATION, heartbeat_interval_ms, "60s", 100, 3600000,
        "agent (1000) and plugin (1001) heartbeats are sent at start and this often"),
    OPT("http.port", CONFIG_INT, http_port, "0", 0, 65535,
        "port of the local /health and /metrics listener on 127.0.0.1; 0: off"),
};

const size_t agent_config_noptions = sizeof(agent_config_options) / sizeof(agent_config_options[0]);
