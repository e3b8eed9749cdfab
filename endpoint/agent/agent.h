/* agent: the state of rampart-agent and its lifecycle. Start order: identity (id = the
 * certificate's CN), spool, metrics and the local HTTP listener, transport, plugin host, the
 * last plugin set; stop order: plugins (their last records read), transport (drain), spool
 * (the rest to disk).
 *
 * Tasks for the agent itself (Task.object_name "rampart-agent", or empty):
 *   1060  shut down: answer 5100, drain, exit with AGENT_EXIT_SHUTDOWN (the unit does not
 *         restart on that status)
 *   1051  set metadata: Task.data {"idc":"...","region":"..."} kept in the state dir and
 *         reported in the heartbeat
 * Any other task goes to the plugin named by object_name; 5100 {token, status, msg} answers
 * the agent's own tasks and those that cannot be delivered. */
#ifndef RAMPART_AGENT_AGENT_H
#define RAMPART_AGENT_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common/http.h"
#include "common/metrics.h"
#include "endpoint/agent/agent_config.h"
#include "endpoint/agent/agent_id.h"
#include "endpoint/agent/heartbeat.h"
#include "endpoint/agent/plugin.h"
#include "endpoint/agent/spool.h"
#include "endpoint/agent/transport.h"

#define AGENT_NAME              "rampart-agent"
#define AGENT_TASK_SHUTDOWN     1060
#define AGENT_TASK_SET_METADATA 1051
#define AGENT_EXIT_SHUTDOWN     3
#define AGENT_MAX_PLUGINS       64

/* A plugin's counters at the previous heartbeat (for its rates). */
typedef struct {
    char name[PLUGIN_NAME_MAX + 1];
    uint64_t records, bytes, tasks;
} agent_plugin_prev_t;

typedef struct {
    agent_config_t cfg;
    char id[AGENT_ID_MAX + 1];
    char *ca_pem, *cert_pem, *key_pem;
    metrics_registry_t *metrics;
    http_server_t *http;
    spool_t *spool;
    transport_t *transport;
    plugin_host_t *plugins;
    int64_t started_at;
    atomic_bool shutdown_task; /* stopping because of task 1060 */

    pthread_mutex_t mu; /* metadata and heartbeat state */
    char idc[64], region[64];
    cpu_sample_t cpu;
    uint64_t hb_sent, hb_bytes, hb_commands, hb_dropped, hb_throttled;
    int64_t hb_at_ms;
    plugin_stat_t *pstats;      /* AGENT_MAX_PLUGINS */
    agent_plugin_prev_t *pprev; /* AGENT_MAX_PLUGINS */
    metrics_counter_t *m_records_in, *m_tasks;
} agent_t;

/* Everything up to the first heartbeat. 0, or -errno after logging why (the exit status
 * should then be 1). */
int agent_start(agent_t *a);
/* Emits the 1000 heartbeat and a 1001 per plugin. */
void agent_heartbeat(agent_t *a);
/* Stops in order and frees. Returns the exit status for main(). */
int agent_stop(agent_t *a);

#endif
