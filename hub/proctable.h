/* proctable: the hub's bounded view of the processes of every agent.
 *
 * Built from execve records (data_type 59: pid, ppid, exe, comm, argv, uid) and dropped on
 * exit (60, 231); other records that carry pid/ppid add a process first seen through them.
 * One table serves all agents (records keyed by agent and pid) with a fixed capacity: when
 * full, the least recently used process is forgotten. Rules use it for parent.* and
 * ancestor.* fields and process-chain sequences; every alert carries the chain it yields. */
#ifndef RAMPART_HUB_PROCTABLE_H
#define RAMPART_HUB_PROCTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/lru.h"

#define PROC_EXE_MAX  256
#define PROC_COMM_MAX 32
#define PROC_ARGV_MAX 512
#define PROC_UID_MAX  16
#define PROC_MARKS    4

/* A step of a process-chain sequence reached by this process. */
typedef struct {
    uint64_t generation; /* ruleset generation, so stale marks are ignored after a reload */
    uint32_t rule;
    uint32_t stage;
    int64_t ts_ms;
} proc_mark_t;

typedef struct {
    uint64_t agent_hash;
    int32_t pid, ppid;
    int64_t start_ms;
    char pid_str[12];
    char exe[PROC_EXE_MAX];
    char comm[PROC_COMM_MAX];
    char argv[PROC_ARGV_MAX];
    char uid[PROC_UID_MAX];
    proc_mark_t marks[PROC_MARKS];
} proc_t;

typedef struct {
    lru_t *lru;
} proctable_t;

proctable_t *proctable_new(size_t capacity);
void proctable_free(proctable_t *pt);

/* The process, or NULL. Marks it recently used. */
proc_t *proctable_get(proctable_t *pt, uint64_t agent_hash, int32_t pid);
/* Inserts or refreshes a process; exec = true replaces exe/comm/argv/uid of a known pid (a
 * new image), false only fills what is missing. NULL values are left as they are. */
proc_t *proctable_upsert(proctable_t *pt, uint64_t agent_hash, int32_t pid, int32_t ppid,
                         const char *exe, const char *comm, const char *argv, const char *uid,
                         int64_t ts_ms, bool exec);
void proctable_exit(proctable_t *pt, uint64_t agent_hash, int32_t pid);
/* Up to max ancestors, nearest first, starting with the process ppid. */
size_t proctable_ancestors(proctable_t *pt, uint64_t agent_hash, int32_t ppid, proc_t **out,
                           size_t max);
size_t proctable_count(const proctable_t *pt);

/* Parses a decimal pid; -1 when s is NULL or not a number in 0..INT32_MAX. */
int32_t proctable_parse_pid(const char *s);

#endif
