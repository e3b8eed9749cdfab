/* maps.bpf.h: every map and global of the sensor, declared once. */
#ifndef RAMPART_DRIVER_MAPS_BPF_H
#define RAMPART_DRIVER_MAPS_BPF_H

#include "events.h"

#define SCRATCH_SIZE (RS_MAX_RECORD + 4096)
#define SCRATCH_MASK (RS_MAX_RECORD / 2 - 1) /* string offsets stay below this */
#define PATHBUF_HALF 1024                    /* a path is built backwards from here */
#define ENV_TAIL     96 /* zero bytes after the copied environment (see env_scan) */
#define ENVBUF_SIZE  (RS_ENV_SCAN + 128)

/* Per-process cache: exe path, exe hash, filter verdict and credentials last seen. */
struct proc_info {
    __u64 exe_hash;   /* FNV-1a 64 of the exe path */
    __u32 flags;      /* PI_* */
    __u32 filter_gen; /* filter_gen the verdict was computed for */
    __u32 uid;        /* credentials at exec or the last setuid-family call */
    __u32 euid;
    __u64 cap_eff;
    __u32 exe_len;
    __u32 _pad;
    char exe[RS_MAX_EXE];
};
#define PI_ALLOWED   0x1u /* exe in the allow list */
#define PI_DENIED    0x2u /* exe in the deny list */
#define PI_ROOT_OK   0x4u /* became root through a setuid exec or a setuid-family call */
#define PI_EXE_TRUNC 0x8u
#define PI_EXE_SENT  0x10u /* a record with the exe went out since the last exec */

struct scratch {
    __u8 buf[SCRATCH_SIZE];
    __u64 unwoken; /* bytes this CPU sent since it last woke the consumer */
    __u64 tick_j;  /* jiffies when tick_ns was read */
    __u64 tick_ns; /* CLOCK_BOOTTIME at this CPU's first record of tick tick_j */
};
struct pathbuf {
    char buf[PATHBUF_HALF * 2];
};
struct envbuf {
    __u8 buf[ENVBUF_SIZE];
    __u64 ptrs[32]; /* a block of the new process' envp (ENV_PTRS) */
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4 << 20); /* the plugin sets the size before load */
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch);
} scratch_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct pathbuf);
} path_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct envbuf);
} env_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, RS_EV__COUNT);
    __type(key, __u32);
    __type(value, struct rs_counters);
} counters SEC(".maps");

/* A per-process cache entry for one record of a process that has none (see proc_scratch). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct proc_info);
} proc_tmp SEC(".maps");

/* The per-process cache lives in the thread-group leader's task storage: found through the task
 * in a few loads (a hash map look-up missed the cache about 3 times per call, ~130 ns here),
 * freed by the kernel with the task, never evicted while the process lives. */
struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct proc_info);
} procs SEC(".maps");

/* Exe allow and deny lists: key = FNV-1a 64 of the exe path. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u64);
    __type(value, __u8);
} exe_allow SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u64);
    __type(value, __u8);
} exe_deny SEC(".maps");

/* Per-exe rate limiter: key = exe hash. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 8192);
    __type(key, __u64);
    __type(value, struct rs_rate);
} rate_map SEC(".maps");

/* Runtime settings: in .bss/.data, which the plugin writes through the skeleton's mmap. */
volatile __u32 ev_enabled = 0xffffffffu; /* bit per enum rs_ev */
volatile __u32 allow_mode = 0;           /* 1: only exes in exe_allow are reported */
volatile __u32 deny_used = 0;            /* 1: exe_deny has entries */
volatile __u32 filter_gen = 1;           /* bumped by the plugin when a list changes */
volatile __u32 rate_limit = 0;           /* records per exe per second, 0 = no limit */
volatile __u32 self_tgid = 0;            /* the plugin itself: never reported */
volatile __u64 wakeup_bytes = 65536;     /* wake the consumer once this much is waiting */

#endif
