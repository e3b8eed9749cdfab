/* rampart_plugin: the SDK every Rampart plugin links (prefix rp_).
 *
 * A plugin is a child process of rampart-agent. The agent gives it two pipes:
 *
 *   fd 3  agent -> plugin  Task frames    (proto/rampart.proto message Task)
 *   fd 4  plugin -> agent  Record frames  (message Record{data_type, timestamp, data=Payload})
 *
 * A frame is a 4-byte little-endian length followed by that many protobuf bytes. Frames are at
 * most RP_MAX_FRAME bytes (length prefix excluded) in both directions; a longer record is refused
 * by rp_record_end (-EMSGSIZE) and a longer task frame ends the task stream (-EPROTO).
 *
 * Writing records: build one with an rp_record_t (begin, add fields, end). rp_record_end encodes
 * the Record straight into the plugin's output buffer; the buffer goes to fd 4 when it holds
 * RP_FLUSH_BYTES, on rp_flush(), before rp_task_read() waits, and on rp_plugin_free(). A plugin
 * that runs its own loop should call rp_flush() at least every 200 ms (rp_flush_if_due() does it
 * only when the oldest buffered record is older than RP_FLUSH_INTERVAL_MS).
 *
 * Threads: an rp_record_t belongs to one thread at a time (give each thread its own).
 * rp_record_end, rp_flush and rp_flush_if_due may be called from several threads at once on one
 * rp_plugin_t: the output buffer and fd 4 are guarded by a mutex. A write to fd 4 blocks while the
 * agent's pipe is full (this is the back-pressure; the agent reads continuously). rp_task_read must
 * be called from one thread only.
 *
 * Agent gone: when fd 4 is closed by the agent, writes fail with EPIPE (SIGPIPE is ignored by
 * rp_plugin_new); from then on every write call returns -EPIPE and rp_plugin_closed() is true. EOF
 * on fd 3 makes rp_task_read return -EPIPE. Either way the plugin should exit.
 *
 * Plugin heartbeat convention (data_type 1001): the agent writes one 1001 record per plugin per
 * heartbeat period with what it measures itself (name, pversion, pid, cpu, rss, nfd, rx/tx
 * rates, ...). A plugin that has its own figures to report writes a Record with data_type 1001
 * (rp_heartbeat_begin) whenever they change or once per minute; the agent does not forward that
 * record as is, it keeps the plugin's latest fields and merges them into its next 1001 record,
 * the agent's own fields winning on a name clash. rp_heartbeat_begin adds the SDK's own counters
 * (sdk_records, sdk_bytes, sdk_refused). See docs/plugins.md.
 *
 * Task results (data_type 5100): rp_task_reply() writes {token, status: succeed|failed, msg}.
 */
#ifndef RAMPART_PLUGIN_H
#define RAMPART_PLUGIN_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RP_TASK_FD   3
#define RP_RECORD_FD 4
#define RP_MAX_FRAME                                                                               \
    (1024u * 1024u) /* bytes after the length prefix; = the agent default plugins.max_frame */
#define RP_FLUSH_BYTES       (64u * 1024u)
#define RP_FLUSH_INTERVAL_MS 200

#define RP_DATA_TYPE_PLUGIN_HEARTBEAT 1001
#define RP_DATA_TYPE_TASK_RESULT      5100

typedef struct rp_plugin rp_plugin_t;
typedef struct rp_record rp_record_t;

typedef struct {
    int32_t data_type;
    char *object_name; /* never NULL (may be "") */
    char *data;        /* never NULL (may be "") */
    char *token;       /* never NULL (may be "") */
} rp_task_t;

/* Uses fd 3 for tasks and fd 4 for records, ignores SIGPIPE. name and version are copied;
 * version NULL takes RAMPART_PLUGIN_VERSION from the environment (the agent sets it), else
 * "0". Never NULL. */
rp_plugin_t *rp_plugin_new(const char *name, const char *version);
/* Same with explicit descriptors (tests; task_fd < 0 means no task input). The fds are not
 * closed by rp_plugin_free. */
rp_plugin_t *rp_plugin_new_fds(const char *name, const char *version, int task_fd, int record_fd);
/* Flushes what is buffered (errors ignored) and frees. NULL is fine. */
void rp_plugin_free(rp_plugin_t *p);

/* Installs SIGTERM and SIGINT handlers (without SA_RESTART, so that rp_task_read returns
 * -EINTR) that set the returned flag. A plugin's loop stops when it is non-zero. */
volatile sig_atomic_t *rp_stop_signals(void);

const char *rp_plugin_name(const rp_plugin_t *p);
const char *rp_plugin_version(const rp_plugin_t *p);
/* True once fd 4 failed (agent gone) or fd 3 reached EOF or broke: time to exit. */
bool rp_plugin_closed(const rp_plugin_t *p);

/* Record builder. rp_record_new/free own one; begin resets it for a new record (timestamp = now,
 * in seconds like Elkeid's) and may be called any number of times. */
rp_record_t *rp_record_new(void);
void rp_record_free(rp_record_t *r);
void rp_record_begin(rp_record_t *r, int32_t data_type);
void rp_record_set_timestamp(rp_record_t *r, int64_t timestamp);
/* Adds one field. value NULL adds "". Invalid UTF-8 bytes in key or value are replaced by '?'
 * (protobuf strings must be UTF-8). Adding to a record that has grown past RP_MAX_FRAME marks
 * it oversized: rp_record_end then refuses it. */
void rp_record_add(rp_record_t *r, const char *key, const char *value);
void rp_record_addn(rp_record_t *r, const char *key, const char *value, size_t len);
void rp_record_addf(rp_record_t *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rp_record_add_int(rp_record_t *r, const char *key, int64_t value);
void rp_record_add_uint(rp_record_t *r, const char *key, uint64_t value);
size_t rp_record_nfields(const rp_record_t *r);
/* Frames the record into p's output buffer (writes to fd 4 when the buffer is full).
 * 0, -EMSGSIZE (record over RP_MAX_FRAME, nothing written), -EPIPE (agent gone) or another
 * negative errno of write(2). r may be begun again afterwards. Thread-safe on p. */
int rp_record_end(rp_plugin_t *p, rp_record_t *r);
/* The encoded Record bytes (without the length prefix) as rp_record_end would write them. */
const uint8_t *rp_record_bytes(rp_record_t *r, size_t *len);

/* Writes everything buffered. 0 or a negative errno (-EPIPE: agent gone). Thread-safe. */
int rp_flush(rp_plugin_t *p);
/* rp_flush when the oldest buffered record waited RP_FLUSH_INTERVAL_MS or more; else 0. */
int rp_flush_if_due(rp_plugin_t *p);

/* The task descriptor, for a plugin that polls it with other fds. After it polls readable,
 * call rp_task_read(p, 0, &t) until it returns 0: several frames may arrive in one read. */
int rp_task_fd(const rp_plugin_t *p);
/* Flushes buffered records, then waits up to timeout_ms (-1: forever, 0: no wait) for a task.
 * 1: *out holds a task (rp_task_dispose it); 0: timeout; -EINTR: a signal arrived;
 * -EPIPE: fd 3 closed (agent gone); -EPROTO: a frame over RP_MAX_FRAME or that is not a Task
 * (the stream cannot be resynchronised: the plugin should exit). */
int rp_task_read(rp_plugin_t *p, int timeout_ms, rp_task_t *out);
void rp_task_dispose(rp_task_t *t);
/* Writes a 5100 result for task t: token, status ("succeed" when ok, else "failed"), msg. */
int rp_task_reply(rp_plugin_t *p, const rp_task_t *t, bool ok, const char *msg);

/* Begins a 1001 record carrying the SDK counters; add your own fields, then rp_record_end. */
void rp_heartbeat_begin(rp_plugin_t *p, rp_record_t *r);

/* Counters since rp_plugin_new (thread-safe snapshot). */
typedef struct {
    uint64_t records;    /* records accepted by rp_record_end */
    uint64_t bytes;      /* frame bytes written to fd 4 */
    uint64_t refused;    /* records refused (oversized) */
    uint64_t tasks;      /* tasks decoded */
    uint64_t bad_frames; /* task frames that were not a Task */
} rp_stats_t;
void rp_plugin_stats(rp_plugin_t *p, rp_stats_t *out);

/* Frame helpers, also used by tests: encodes the 4-byte little-endian length. */
void rp_frame_put_len(uint8_t out[4], uint32_t len);
uint32_t rp_frame_get_len(const uint8_t in[4]);

#endif
