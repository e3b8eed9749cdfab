#include "agent-center/ac_config.h"

#include <stddef.h>

#define OPT(k, t, f, d, lo, hi, h)                                                                 \
    {                                                                                              \
        k, t, offsetof(ac_config_t, f), d, lo, hi, h                                               \
    }

const config_option_t ac_config_options[] = {
    OPT("log.level", CONFIG_STRING, log_level, "info", 0, 0, "debug, info, warn or error"),
    OPT("instance.id", CONFIG_STRING, instance_id, "", 0, 0,
        "name of this AgentCenter in envelopes and logs; empty: hostname:grpc-port"),

    OPT("grpc.listen", CONFIG_STRING, grpc_listen, "0.0.0.0:6751", 0, 0,
        "address agents connect to (gRPC over mutual TLS), host:port"),
    OPT("grpc.threads", CONFIG_INT, grpc_threads, "2", 1, 64,
        "completion-queue threads serving agent streams"),
    OPT("grpc.plaintext_for_tests", CONFIG_BOOL, grpc_plaintext_for_tests, "false", 0, 0,
        "TESTS ONLY: serve gRPC without TLS; agent identity is then the declared agent_id"),
    OPT("tls.ca_file", CONFIG_STRING, tls_ca_file, "", 0, 0,
        "PEM CA that signs agent client certificates (required unless plaintext)"),
    OPT("tls.cert_file", CONFIG_STRING, tls_cert_file, "", 0, 0,
        "PEM server certificate chain (required unless plaintext)"),
    OPT("tls.key_file", CONFIG_STRING, tls_key_file, "", 0, 0, "PEM server private key"),
    OPT("tls.handshake_timeout", CONFIG_DURATION, tls_handshake_timeout_ms, "10s", 100, 600000,
        "an agent connection without a finished TLS handshake after this is closed"),
    OPT("grpc.max_connections", CONFIG_INT, grpc_max_connections, "20000", 1, 1000000,
        "agent connections served at once; with TLS more are closed on accept (counted in "
        "rampart_ac_tls_refused_total), in plaintext refused with RESOURCE_EXHAUSTED"),
    OPT("grpc.max_message_size", CONFIG_SIZE, grpc_max_message_size, "4MiB", 1024, 64 << 20,
        "largest PackagedData accepted; a larger one closes the stream (counted)"),
    OPT("grpc.max_records", CONFIG_INT, grpc_max_records, "20000", 1, 1000000,
        "most records in one PackagedData"),
    OPT("grpc.keepalive_time", CONFIG_DURATION, grpc_keepalive_time_ms, "60s", 1000, 3600000,
        "HTTP/2 ping interval on idle agent connections"),
    OPT("grpc.keepalive_timeout", CONFIG_DURATION, grpc_keepalive_timeout_ms, "20s", 1000, 600000,
        "a connection whose ping is not answered in this time is closed"),
    OPT("grpc.memory_quota", CONFIG_SIZE, grpc_memory_quota, "1GiB", 16 << 20, INT64_MAX,
        "memory gRPC may use for all agent connections together"),
    OPT("grpc.command_queue", CONFIG_INT, grpc_command_queue, "64", 1, 65536,
        "commands queued per agent stream before senders wait"),
    OPT("grpc.drain_timeout", CONFIG_DURATION, grpc_drain_timeout_ms, "10s", 0, 600000,
        "on SIGTERM, how long agent streams may finish before they are cancelled"),

    OPT("http.listen", CONFIG_STRING, http_listen, "0.0.0.0:6752", 0, 0,
        "address of the admin API, /health and /metrics, host:port"),
    OPT("http.threads", CONFIG_INT, http_threads, "4", 1, 256, "HTTP worker threads"),
    OPT("http.max_body", CONFIG_SIZE, http_max_body, "1MiB", 1024, 64 << 20,
        "largest admin request body accepted; larger ones get 413"),
    OPT("http.max_connections", CONFIG_INT, http_max_connections, "1024", 16, 1000000,
        "concurrent admin HTTP connections"),
    OPT("http.timeout", CONFIG_DURATION, http_timeout_ms, "30s", 1000, 3600000,
        "idle admin HTTP connection timeout"),
    OPT("auth.keys_file", CONFIG_STRING, auth_keys_file, NULL, 0, 0,
        "file of 'access_key secret_key' lines (mode 0600) accepted on the admin API"),
    OPT("auth.window", CONFIG_DURATION, auth_window_ms, "60s", 1000, 600000,
        "accepted clock difference of a signed request"),
    OPT("command.queue_wait", CONFIG_DURATION, command_queue_wait_ms, "2s", 0, 60000,
        "how long a command waits for room in a full per-agent queue before 503"),

    OPT("kafka.brokers", CONFIG_STRING, kafka_brokers, "127.0.0.1:9092", 0, 0,
        "Kafka bootstrap servers, host:port[,host:port...]"),
    OPT("kafka.routes", CONFIG_LIST, kafka_routes,
        "1-999:rampart.events,1000-1999:rampart.state,2000-4999:rampart.events,"
        "5000-5999:rampart.state,6000-9999:rampart.events",
        0, 0,
        "data_type ranges to topics, LO[-HI]:TOPIC; a record matching none is rejected "
        "(counted as unknown_data_type)"),
    OPT("kafka.queue_max_messages", CONFIG_INT, kafka_queue_max_messages, "200000", 1000, 10000000,
        "records waiting for Kafka before agent streams are paused (back-pressure)"),
    OPT("kafka.queue_max_size", CONFIG_SIZE, kafka_queue_max_size, "256MiB", 1 << 20,
        (int64_t)2047 << 20, "bytes waiting for Kafka before agent streams are paused"),
    OPT("kafka.message_timeout", CONFIG_DURATION, kafka_message_timeout_ms, "10m", 0, 86400000,
        "a record not delivered in this time is dropped and counted; 0 = retry forever"),
    OPT("kafka.flush_timeout", CONFIG_DURATION, kafka_flush_timeout_ms, "30s", 0, 3600000,
        "on SIGTERM, how long to wait for queued records to reach Kafka"),
    OPT("kafka.properties", CONFIG_LIST, kafka_properties, "", 0, 0,
        "extra librdkafka producer properties, NAME=VALUE (e.g. security.protocol=ssl)"),

    OPT("sd.addrs", CONFIG_LIST, sd_addrs, "", 0, 0,
        "service-discovery addresses; empty: do not register"),
    OPT("sd.name", CONFIG_STRING, sd_name, "agent-center", 0, 0,
        "service name registered for agents to find"),
    OPT("sd.advertise", CONFIG_STRING, sd_advertise, "", 0, 0,
        "IP or host name agents use to reach this instance; empty: the gRPC listen host, or "
        "the first non-loopback IPv4 address when listening on all"),
    OPT("sd.access_key", CONFIG_STRING, sd_access_key, "", 0, 0,
        "access key (from auth.keys_file) used to sign registrations"),
    OPT("sd.renew_interval", CONFIG_DURATION, sd_renew_interval_ms, "10s", 500, 600000,
        "how often the registration and its weight (live connections) are renewed"),
};

const size_t ac_config_noptions = sizeof(ac_config_options) / sizeof(ac_config_options[0]);
