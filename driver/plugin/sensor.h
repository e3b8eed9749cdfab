/* sensor: loads the BPF sensor (driver/bpf), attaches it, reads its ring buffer, and reads or
 * changes its settings (event switches, exe lists, rate limit) and counters.
 *
 * Setup is open -> configure -> load -> attach in sensor_new; everything is undone by
 * sensor_free. libbpf's messages go to the logger (log_bridge_libbpf). Thread context: one
 * thread. */
#ifndef RAMPART_DRIVER_SENSOR_H
#define RAMPART_DRIVER_SENSOR_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"

typedef struct sensor sensor_t;

/* Called for each ring buffer record; data is valid during the call only. */
typedef void (*sensor_record_fn)(void *ctx, const void *data, size_t len);

typedef struct {
    uint32_t ringbuf_bytes; /* power of two, >= 4096; 0 = 4 MiB */
    uint32_t ev_mask;       /* bit per enum rs_ev */
    uint32_t rate_limit;    /* records per exe per second, 0 = none */
    bool anti_rootkit;      /* load the task iterator */
    const char *btf_path;   /* NULL = /sys/kernel/btf/vmlinux (checked before loading) */
    bool include_self;      /* report this process too (benchmarks); default: never */
} sensor_opts_t;

/* Checks that this kernel has what the sensor needs (BTF, BPF ring buffer). 0, or a negative
 * errno with a sentence for the operator in err. */
int sensor_check_kernel(const char *btf_path, char *err, size_t errlen);

/* Loads and attaches. 0 and *out, or a negative errno (err says why). */
int sensor_new(const sensor_opts_t *opts, sensor_record_fn fn, void *ctx, sensor_t **out, char *err,
               size_t errlen);
void sensor_free(sensor_t *s);

/* Detaches the event programs, or attaches them again; the maps, the ring buffer and the task
 * iterator stay (benchmarks compare a syscall's cost both ways without reloading). */
int sensor_detach(sensor_t *s);
int sensor_attach(sensor_t *s);

/* The fd to poll for records (epoll fd of the ring buffer). */
int sensor_fd(const sensor_t *s);
/* Waits up to timeout_ms for a wakeup (0: no wait), then consumes every record there is (the
 * kernel side wakes the reader only per batch: call this at least every 50 ms). Number
 * consumed or a negative errno. */
int sensor_poll(sensor_t *s, int timeout_ms);

/* Counters summed over CPUs, one per enum rs_ev. */
void sensor_counters(const sensor_t *s, struct rs_counters out[RS_EV__COUNT]);
/* Programs attached and programs that failed to load or attach (a program whose event types
 * are all off, or whose tracepoint this kernel lacks, is neither). */
void sensor_programs(const sensor_t *s, unsigned *attached, unsigned *failed);
/* Name of program i and its state ("attached", "off", "unavailable": no such tracepoint in this
 * kernel, "failed"); NULL past the last program. */
const char *sensor_program(const sensor_t *s, unsigned i, const char **state);

/* Run time and run count of program i as the kernel counts them (only while BPF statistics
 * are enabled: bpf_enable_stats or the kernel.bpf_stats_enabled sysctl). 0 or -errno. */
int sensor_program_stats(const sensor_t *s, unsigned i, uint64_t *run_ns, uint64_t *run_cnt);

/* Switches event types on and off: the programs only they need are attached or detached. */
int sensor_set_events(sensor_t *s, uint32_t ev_mask);
int sensor_set_rate_limit(sensor_t *s, uint32_t per_exe_per_sec);
/* Adds an exe path to the allow (deny = false) or deny list. Allow mode starts with the first
 * allowed exe: from then on only allowed exes are reported. 0 or a negative errno. */
int sensor_exe_add(sensor_t *s, bool deny, const char *path);

/* Anti-rootkit: every thread-group leader the kernel has, through the task iterator.
 * 0 with a malloc'd array, -ENOTSUP when the iterator is not loaded, or a negative errno. */
int sensor_list_tasks(sensor_t *s, struct rs_task_seen **out, size_t *n);

/* FNV-1a 64 of an exe path, as the BPF side computes it (first RS_MAX_EXE - 1 bytes). */
uint64_t sensor_exe_hash(const char *path);

#endif
