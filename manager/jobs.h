/* jobs: the manager's periodic work, on one thread per instance.
 *
 * Every jobs.interval: ping MongoDB (and create the indexes after it comes back), create the
 * first admin if still needed. Cluster-wide work runs in one instance per period, the one that
 * takes the Redis lock (SET NX PX): hosts silent for hosts.offline_after are marked offline,
 * asset items not reported for assets.stale_after are dropped, and every hubs.sync_interval the
 * whitelist is pushed to every hub. */
#ifndef RAMPART_MGR_JOBS_H
#define RAMPART_MGR_JOBS_H

#include <stdbool.h>

typedef struct mgr mgr_t;
typedef struct jobs jobs_t;

jobs_t *jobs_new(mgr_t *m);
void jobs_free(jobs_t *j);

/* Takes the cluster-wide lock name for ttl_ms. True when this instance got it. */
bool jobs_lock(mgr_t *m, const char *name, long long ttl_ms);

#endif
