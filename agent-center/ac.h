/* ac: the AgentCenter daemon's state and lifecycle (main.c reads the configuration and calls
 * ac_start / ac_stop). */
#ifndef RAMPART_AC_H
#define RAMPART_AC_H

#include <pthread.h>
#include <stdatomic.h>

#include "agent-center/ac_config.h"
#include "agent-center/admin.h"
#include "agent-center/conn_table.h"
#include "agent-center/producer.h"
#include "agent-center/route.h"
#include "agent-center/transfer.h"
#include "common/hmac.h"
#include "common/http.h"
#include "common/metrics.h"
#include "common/sd_client.h"

typedef struct {
    ac_config_t cfg;
    char instance_id[256];
    metrics_registry_t *metrics;
    hmac_keyring_t *keys;
    route_t *route;
    conn_table_t *table;
    producer_t *producer;
    transfer_t *transfer;
    admin_t *admin;
    http_server_t *http;
    sd_client_t *sd;
    int sd_reg;
    metrics_gauge_t *m_rate;
    pthread_t ticker;
    bool ticker_started;
    atomic_bool stopping;
    pthread_mutex_t tick_mu;
    pthread_cond_t tick_cv;
} ac_state_t;

/* Starts every part. 0, or a negative errno after logging why (everything started is stopped). */
int ac_start(ac_state_t *ac);
/* Graceful stop: deregister from service discovery, stop accepting, drain the streams, flush
 * Kafka, free everything. Returns 0, or -EIO when records were lost on the way (logged). */
int ac_stop(ac_state_t *ac);

#endif
