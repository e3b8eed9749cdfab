/* process (5050): running user processes from /proc. The parsers take file text and are pure;
 * process_collect does the reads. Kernel threads are left out (they have no exe or cmdline). */
#ifndef RAMPART_COLLECTOR_PROCESS_H
#define RAMPART_COLLECTOR_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "asset.h"
#include "user.h"

#define PF_KTHREAD_FLAG 0x00200000UL

typedef struct {
    int pid, ppid, pgid, sid, tty;
    char state;
    unsigned long flags;
    long threads;
    uint64_t start_ticks; /* since boot, in clock ticks */
    uint64_t rss_pages;
    char comm[64];
} process_stat_t;

typedef struct {
    long uid[4]; /* real, effective, saved, filesystem */
    long gid[4];
} process_status_t;

/* /proc/<pid>/stat. The comm may hold spaces and ')' (the last ')' ends it). 0 or -EINVAL. */
int process_parse_stat(const char *text, size_t len, process_stat_t *out);
/* /proc/<pid>/status: the Uid: and Gid: lines. 0 or -EINVAL when either is missing. */
int process_parse_status(const char *text, size_t len, process_status_t *out);
/* /proc/<pid>/cmdline: NUL-separated arguments joined with spaces (trailing NULs dropped),
 * cut to outsz - 1 bytes. Returns the length written. */
size_t process_join_cmdline(const char *raw, size_t len, char *out, size_t outsz);
/* /proc/stat's btime (boot time, unix seconds), or -1. */
int64_t process_parse_btime(const char *text, size_t len);
/* The inode in a namespace link target such as "pid:[4026531836]"; 0 when not one. */
uint64_t process_ns_inode(const char *link);

/* One item per user process under proc_root ("/proc"). */
int process_collect(const char *proc_root, const user_map_t *users, asset_set_t *out);

#endif
