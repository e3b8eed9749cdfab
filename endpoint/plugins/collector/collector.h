/* collector: the asset collector plugin's engine. Each kind is collected as a whole snapshot,
 * on its own schedule and on demand by a task, and written through the plugin SDK.
 *
 * Snapshot marking: every record of one run carries package_seq (the snapshot id, Elkeid's
 * name; increasing per plugin run), snapshot_index (1..N) and snapshot_total (N). A run that
 * finds nothing writes one record with snapshot_index 0 and snapshot_total 0, so a consumer
 * can tell "none any more" from "not collected". */
#ifndef RAMPART_COLLECTOR_COLLECTOR_H
#define RAMPART_COLLECTOR_COLLECTOR_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asset.h"
#include "rampart_plugin.h"

typedef enum {
    KIND_PROCESS,
    KIND_PORT,
    KIND_USER,
    KIND_CRON,
    KIND_SERVICE,
    KIND_SOFTWARE,
    KIND_CONTAINER,
    KIND_NETIF,
    KIND_KMOD,
    KIND_COUNT
} collector_kind_t;

typedef struct {
    const char *name;
    int32_t data_type;
    int64_t default_interval_s;
} collector_kind_info_t;

extern const collector_kind_info_t collector_kinds[KIND_COUNT];

typedef struct {
    int64_t interval_s[KIND_COUNT]; /* 0: only on demand */
    int64_t max_rate;               /* records per second written, at most */
    int64_t start_jitter_s;         /* first runs spread over [0, start_jitter_s) */
    int64_t heartbeat_s;
    char root[256];          /* prefix of /etc and /var paths ("" = the real system) */
    char proc_root[256];     /* "/proc" */
    char sys_root[256];      /* "/sys" */
    char docker_socket[256]; /* "/var/run/docker.sock" */
} collector_config_t;

void collector_config_defaults(collector_config_t *cfg);
/* Applies the DETAIL string the agent passes (JSON, see docs/plugins.md) over cfg. An empty
 * or absent detail keeps the defaults. 0, or -EINVAL with a reason in err. */
int collector_config_from_detail(collector_config_t *cfg, const char *detail, char *err,
                                 size_t errlen);
/* The kind whose data_type this is, or -1. Also accepts kind names ("process", ...). */
int collector_kind_by_type(int32_t data_type);
int collector_kind_by_name(const char *name);

/* Collects one kind into out (no I/O on the plugin). */
int collector_gather(const collector_config_t *cfg, collector_kind_t kind, asset_set_t *out);

typedef struct collector collector_t;
collector_t *collector_new(const collector_config_t *cfg, rp_plugin_t *plugin,
                           volatile sig_atomic_t *stop);
void collector_free(collector_t *c);
/* Collects one kind and writes its snapshot; returns the record count or a negative errno
 * (-EPIPE: the agent is gone). *seq_out (may be NULL) gets the package_seq. */
int collector_run(collector_t *c, collector_kind_t kind, uint64_t *seq_out);
/* Answers one task: a task whose data_type is an asset type runs that kind now and replies
 * 5100 with the record count. */
int collector_handle_task(collector_t *c, const rp_task_t *t);
/* Runs schedules and tasks until *stop, the agent closes a pipe, or a bad task frame.
 * Returns 0 on a stop, -EPIPE or -EPROTO otherwise. */
int collector_loop(collector_t *c);

#endif
