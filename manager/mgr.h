/* mgr: the state of one rampart-manager process and its start and stop.
 *
 * Threads: libmicrohttpd's pool runs the API handlers; ingest has one Kafka consumer thread;
 * jobs has one thread for periodic work (MongoDB recovery, offline marking, task retries, hub
 * whitelist sync) whose cluster-wide parts take a Redis lock, so several instances can run side
 * by side; dispatch has one thread that delivers task commands to AgentCenters. */
#ifndef RAMPART_MGR_MGR_H
#define RAMPART_MGR_MGR_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common/hmac.h"
#include "common/http.h"
#include "common/metrics.h"
#include "common/redis.h"
#include "common/sd_client.h"
#include "manager/auth.h"
#include "manager/mgr_config.h"
#include "manager/store.h"

typedef struct ingest ingest_t;
typedef struct jobs jobs_t;
typedef struct dispatch dispatch_t;
typedef struct services services_t;
typedef struct console console_t;

struct mgr {
    mgr_config_t cfg;
    char instance[160];
    metrics_registry_t *metrics;
    http_server_t *http;
    store_t *store;
    redis_pool_t *redis;
    auth_t *auth;
    hmac_keyring_t *keys;
    const char *secret; /* of cfg.auth_access_key in keys, or NULL */
    sd_client_t *sd;
    int sd_reg;
    services_t *svc;
    ingest_t *ingest;
    dispatch_t *dispatch;
    jobs_t *jobs;
    console_t *console;
    metrics_counter_t *m_audit_failures;
};

int mgr_start(struct mgr *m);
void mgr_stop(struct mgr *m);

#endif
