/* plugin: the plugin host. Each plugin is a child process in its own process group, started
 * from <plugins.dir>/<name>/<name> once its SHA-256 matches the Config that asked for it. It
 * reads Task frames on fd 3 and writes Record frames on fd 4 (frame.h); stdout and stderr go
 * to <state_dir>/plugins/<name>.log.
 *
 * One thread (epoll) serves every plugin: it reads records and hands each one to the sink
 * (the spool) with its payload bytes untouched, writes tasks, notices exits (pidfd) and runs
 * the timers. Per plugin:
 *   - a token bucket (plugins.rate per second, plugins.burst deep): records over it are
 *     dropped and counted (throttled);
 *   - a frame longer than plugins.max_frame or not a valid Record cuts the plugin off: the
 *     group is killed, the reason logged, and it is restarted like a crashed one;
 *   - an exit is followed by a restart after plugins.restart_backoff_min, doubled per crash up
 *     to the max (with jitter; the delay starts over once a run lasted longer than the max);
 *   - stopping closes its task pipe, reads its records until it exits or stop_timeout passes,
 *     then SIGKILLs the process group;
 *   - limits: cgroup v2 (memory.max, cpu.max) when the agent's cgroup is writable, else
 *     RLIMIT_AS and nice 10; the mode is logged once at start.
 * A Record with data_type 1001 from a plugin is not forwarded: its fields are kept and put
 * in front of the agent's own fields in that plugin's next 1001 heartbeat. */
#ifndef RAMPART_AGENT_PLUGIN_H
#define RAMPART_AGENT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/metrics.h"
#include "endpoint/agent/frame.h"
#include "rampart.pb-c.h"

#define PLUGIN_NAME_MAX   64
#define PLUGIN_REPORT_MAX 4096 /* bytes of a plugin's own 1001 fields kept */
#define PLUGIN_TASK_QUEUE (1u << 20)

typedef struct plugin_host plugin_host_t;

typedef struct {
    /* A record from a plugin; rec->data points into a buffer valid during the call. */
    void (*on_record)(void *ud, const char *plugin, const frame_record_t *rec);
    /* A task that could not be handed to its plugin: answer it (5100 failed). */
    void (*on_task_failed)(void *ud, const Grpc__Task *task, const char *why);
    void *ud;
} plugin_sink_t;

typedef struct {
    const char *dir;     /* plugins.dir */
    const char *log_dir; /* <state_dir>/plugins */
    const char *agent_id;
    size_t max_frame;
    int64_t rate, burst;
    int64_t memory_max, cpu_percent;
    int64_t backoff_min_ms, backoff_max_ms, stop_timeout_ms;
    plugin_sink_t sink;
    metrics_registry_t *metrics; /* may be NULL */
} plugin_host_opts_t;

/* What a plugin heartbeat (1001) reports. */
typedef struct {
    char name[PLUGIN_NAME_MAX + 1];
    char version[64];
    const char *state; /* running, starting, backoff, stopping, refused */
    char last_exit[96];
    pid_t pid;
    int64_t started_at; /* seconds since the epoch, 0 when not running */
    uint64_t restarts, records, bytes, dropped, cutoffs, tasks;
    double cpu;   /* percent of one core since the previous snapshot */
    uint64_t rss; /* bytes */
    int nfd;
    uint8_t report[PLUGIN_REPORT_MAX]; /* the plugin's own 1001 payload bytes */
    size_t report_len;
} plugin_stat_t;

plugin_host_t *plugin_host_new(const plugin_host_opts_t *o);
/* Starts the host thread. 0 or -errno. */
int plugin_host_start(plugin_host_t *h);
/* Stops every plugin (bounded by stop_timeout), joins the thread, frees. Accepts NULL. */
void plugin_host_free(plugin_host_t *h);

/* Makes configs the running set (copied): starts new ones, restarts those whose version
 * changed, stops the others. Entries with a bad name are skipped (logged). Any thread. */
void plugin_host_sync(plugin_host_t *h, Grpc__Config *const *configs, size_t n);
/* Hands a task to the plugin named task->object_name (copied). Any thread. When it cannot be
 * delivered, sink.on_task_failed is called from the host thread. */
void plugin_host_task(plugin_host_t *h, const Grpc__Task *task);

/* Snapshot of every plugin (at most max); returns how many. CPU is measured since the
 * previous call. Any thread. */
size_t plugin_host_stats(plugin_host_t *h, plugin_stat_t *out, size_t max);

/* The limit mode in use: "cgroup2" or "rlimit". */
const char *plugin_host_limit_mode(const plugin_host_t *h);

/* Whether name is a valid plugin name: 1-64 of A-Z a-z 0-9 _ -. */
int plugin_name_valid(const char *name);

#endif
