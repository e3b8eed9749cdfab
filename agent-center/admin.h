/* admin: the AgentCenter's HTTP admin API (HMAC-signed; docs/agent-center.md).
 *
 *   GET    /api/v1/summary                    instance, connections, paused streams, Kafka queue
 *   GET    /api/v1/connections?offset&limit   agent streams, sorted by agent id
 *   GET    /api/v1/agents/{agent_id}          one agent: metadata, counters, heartbeats
 *   DELETE /api/v1/agents/{agent_id}          end its stream (it reconnects, maybe elsewhere)
 *   POST   /api/v1/agents/{agent_id}/commands {"task":{...}} or {"configs":[...]}
 *   POST   /api/v1/reset                      {"agent_ids":[...]} or {"count":N} (random N)
 * plus /health and /metrics (unsigned) from common/http.h. */
#ifndef RAMPART_AC_ADMIN_H
#define RAMPART_AC_ADMIN_H

#include "agent-center/conn_table.h"
#include "agent-center/producer.h"
#include "agent-center/transfer.h"
#include "common/hmac.h"
#include "common/http.h"

typedef struct admin admin_t;

typedef struct {
    transfer_t *transfer;
    conn_table_t *table;
    producer_t *producer;
    const hmac_keyring_t *keys;
    int auth_window_s;
    int command_wait_ms;
    const char *instance_id;
    metrics_registry_t *metrics;
} admin_opts_t;

admin_t *admin_new(const admin_opts_t *opts);
void admin_free(admin_t *a);
/* Adds the routes, the authenticator and the health check to srv. 0 or -EINVAL. */
int admin_install(admin_t *a, http_server_t *srv);

/* Builds a serialized grpc.Command from the JSON body of a command request. On error returns
 * NULL and a message in err. *token receives the task's token (generated when absent; free()
 * it), or NULL for a config sync. Exposed for tests. */
uint8_t *admin_command_from_json(json_t *body, size_t *len, char **token, char *err, size_t errlen);

#endif
