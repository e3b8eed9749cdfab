/* driver_client: runs rampart-driver for tests and benchmarks with fd 4 on a pipe, decodes the
 * Record frames it writes (protobuf-c, proto/rampart.proto) on a reader thread, and lets a test
 * wait for a record with given fields.
 *
 * To keep memory bounded on a busy host, only records about the calling process and its
 * descendants (tgid, ppid or pid_tree), about pids given to driver_client_watch, and plugin
 * heartbeats (1001) and hidden-process records (3100) are kept; the rest are only counted. */
#ifndef RAMPART_TESTS_DRIVER_CLIENT_H
#define RAMPART_TESTS_DRIVER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct driver_client driver_client_t;

typedef struct {
    int data_type;
    size_t n;
    char **keys;
    char **vals;
} drec_t;

/* Why the driver tests cannot run here (not root, no BTF), or NULL when they can. */
const char *driver_client_skip_reason(void);

/* Starts the plugin (path) with extra arguments (NULL-terminated, may be NULL); its log goes to
 * log_path. Waits until it logs driver_started. NULL on failure (the log says why). */
driver_client_t *driver_client_start(const char *path, const char *const args[],
                                     const char *log_path);
/* SIGTERM, waits; returns the exit status as from waitpid. Frees c. */
int driver_client_stop(driver_client_t *c);
pid_t driver_client_pid(const driver_client_t *c);

/* Keep records about this pid too (and its children). */
void driver_client_watch(driver_client_t *c, pid_t pid);

/* Waits up to timeout_ms for a kept record of data_type whose fields match the NULL-terminated
 * key, value, key, value, ... list. Returns it (valid until stop) or NULL. */
const drec_t *driver_client_wait(driver_client_t *c, int data_type, int timeout_ms, ...);
/* The newest kept record of data_type, or NULL. */
const drec_t *driver_client_last(driver_client_t *c, int data_type);
/* Number of kept records matching, without waiting. */
size_t driver_client_count(driver_client_t *c, int data_type, ...);
/* Records seen in total (kept or not) and bytes read. */
uint64_t driver_client_total(driver_client_t *c);

/* Benchmarks: count wanted records instead of keeping them (heartbeats are still kept). */
void driver_client_count_only(driver_client_t *c, bool on);
uint64_t driver_client_counted(driver_client_t *c);

/* A field of a record, or NULL. */
const char *drec_get(const drec_t *r, const char *key);
/* Prints a record to stderr (for failing tests). */
void drec_dump(const drec_t *r);

#endif
