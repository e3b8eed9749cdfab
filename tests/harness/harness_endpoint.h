/* harness_endpoint: the whole path an endpoint's records take, for integration tests of the
 * agent and its plugins: Redis + service discovery, the Kafka-protocol broker, one AgentCenter
 * over mutual TLS and a rampart-agent (certificate minted for its id) that finds the
 * AgentCenter through service discovery. Helpers install a built plugin for the agent, send
 * it commands through the AgentCenter's signed admin API and read what reached Kafka. */
#ifndef RAMPART_TESTS_HARNESS_ENDPOINT_H
#define RAMPART_TESTS_HARNESS_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"
#include "harness.h"

typedef struct {
    harness_proc_t *redis, *sd, *kafka, *ac, *agent;
    uint16_t redis_port, sd_port, ac_grpc, ac_http, agent_http;
    char bootstrap[256];
    char keys_path[512], ak[32], sk[65];
    char pki[512], cert[600];
    char dir[512];                 /* the test's log folder */
    char plugins[600], state[600]; /* the agent's plugins.dir and state_dir */
    char agent_id[64];
} harness_endpoint_t;

/* Starts everything and waits for the agent's "event=connected". plugins_yaml: lines that go
 * under the agent's "plugins:" key besides dir (NULL: rate 2000, burst 2000, memory_max 0
 * for sanitizer builds, short restart backoff). 0 or a negative errno (the log folder says
 * which process failed). */
int harness_endpoint_start(harness_endpoint_t *w, const char *agent_id, const char *plugins_yaml);
/* The same in two steps: everything but the agent (Redis, keys, PKI with a client certificate
 * for agent_id, the broker, SD, the AgentCenter), then agents. */
int harness_endpoint_start_servers(harness_endpoint_t *w, const char *agent_id);
/* Spawns (without waiting) a rampart-agent logging as name, configured with id and the
 * certificate made for w->agent_id (a different id must make it refuse to start). */
harness_proc_t *harness_endpoint_spawn_agent(harness_endpoint_t *w, const char *name,
                                             const char *id, const char *plugins_yaml);
/* (Re)starts the AgentCenter, on the ports it had before if any. 0 or a negative errno. */
int harness_endpoint_start_ac(harness_endpoint_t *w);
/* Stops the agent (returning its waitpid status), then the AgentCenter, SD, broker, Redis. */
int harness_endpoint_stop(harness_endpoint_t *w);

/* Copies our built binary rel ("endpoint/plugins/collector/rampart-collector") to
 * <plugins>/<name>/<name> and writes its SHA-256 in hex into sha. 0 or -errno. */
int harness_endpoint_install_plugin(harness_endpoint_t *w, const char *name, const char *rel,
                                    char sha[65]);
/* POSTs a command (JSON body of the AgentCenter's /api/v1/agents/<id>/commands) for the
 * agent, retrying for up to 20 s while it is not connected. Returns the last HTTP status. */
long harness_endpoint_command(harness_endpoint_t *w, const char *body);

/* SHA-256 of a file in hex. 0 or -errno. */
int harness_sha256_file(const char *path, char hex[65]);
/* A series' value on the agent's local /metrics, -1 when absent or unreachable. */
double harness_endpoint_agent_metric(harness_endpoint_t *w, const char *series);

/* A payload field of a decoded envelope; NULL when absent. */
const char *harness_envelope_field(const Rampart__EnvelopeView *e, const char *key);
/* Reads topic from its start, passing every envelope keyed by the agent's id to match until
 * match returns true (true) or timeout_s passes (false). */
typedef bool (*harness_envelope_fn)(const Rampart__EnvelopeView *e, void *ud);
bool harness_endpoint_scan(harness_endpoint_t *w, const char *topic, harness_envelope_fn match,
                           void *ud, int timeout_s);

#endif
