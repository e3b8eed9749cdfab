/* filter.bpf.h: the per-process cache and the in-kernel filters (event switches, exe allow
 * and deny lists, per-exe rate limit). */
#ifndef RAMPART_DRIVER_FILTER_BPF_H
#define RAMPART_DRIVER_FILTER_BPF_H

#include "task.bpf.h"

#define FNV64_OFFSET 0xcbf29ce484222325ULL
#define FNV64_PRIME  0x100000001b3ULL

/* FNV-1a 64 of a NUL-terminated string in a map value (the plugin computes the same hash for
 * the paths in its lists). */
static __always_inline __u64 exe_hash_of(const char *s)
{
    __u64 h = FNV64_OFFSET;
    for (int i = 0; i < RS_MAX_EXE - 1; i++) {
        char ch = s[i];
        if (!ch)
            break;
        h = (h ^ (__u8)ch) * FNV64_PRIME;
    }
    return h;
}

static __always_inline void proc_verdict(struct proc_info *pi)
{
    __u32 gen = filter_gen;
    pi->flags &= ~(PI_ALLOWED | PI_DENIED);
    /* an empty list is not looked up: two hash lookups on every exec otherwise */
    if (allow_mode && bpf_map_lookup_elem(&exe_allow, &pi->exe_hash))
        pi->flags |= PI_ALLOWED;
    if (deny_used && bpf_map_lookup_elem(&exe_deny, &pi->exe_hash))
        pi->flags |= PI_DENIED;
    pi->filter_gen = gen;
}

/* Fills a cache entry for the current process from its mm->exe_file. flags_keep are carried
 * over (PI_ROOT_OK across an exec; from the parent for a new entry). */
static __always_inline struct proc_info *proc_fill(struct proc_info *pi, struct task_struct *t,
                                                   __u32 flags_keep)
{
    __u32 trunc = 0;
    struct mm_struct *mm = t->mm;
    struct file *exe = mm ? mm->exe_file : 0;
    const char *p = exe ? path_of_file(exe, &trunc) : 0;
    long n = p ? bpf_probe_read_kernel_str(pi->exe, sizeof(pi->exe), p) : 0;
    if (n <= 0) {
        pi->exe[0] = 0;
        n = 1;
    }
    pi->exe_len = n - 1;
    pi->flags = flags_keep;
    if (trunc || n == sizeof(pi->exe))
        pi->flags |= PI_EXE_TRUNC;
    pi->exe_hash = exe_hash_of(pi->exe);
    const struct cred *c = t->cred;
    pi->uid = c->uid.val;
    pi->euid = c->euid.val;
    pi->cap_eff = c->cap_effective.val;
    proc_verdict(pi);
    return pi;
}

/* (Re)builds the cache entry of the current process in its task storage. */
static __always_inline struct proc_info *proc_build(struct task_struct *t, __u32 flags_keep)
{
    struct proc_info *pi =
        bpf_task_storage_get(&procs, t->group_leader, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    return pi ? proc_fill(pi, t, flags_keep) : 0;
}

/* The same in this CPU's scratch entry, for one record: no task storage is created (creating
 * one cost ~0.8 us, more than the rest of most records). */
static __always_inline struct proc_info *proc_scratch(struct task_struct *t, __u32 flags_keep)
{
    __u32 zero = 0;
    struct proc_info *pi = bpf_map_lookup_elem(&proc_tmp, &zero);
    return pi ? proc_fill(pi, t, flags_keep) : 0;
}

/* The cache entry of a task's process, or NULL. */
static __always_inline struct proc_info *proc_find(struct task_struct *t)
{
    return bpf_task_storage_get(&procs, t->group_leader, 0, 0);
}

/* The cache entry of the current process, built on first sight. */
static __always_inline struct proc_info *proc_get(struct task_struct *t)
{
    struct proc_info *pi = proc_find(t);
    if (pi) {
        if (pi->filter_gen != filter_gen)
            proc_verdict(pi);
        return pi;
    }
    struct proc_info *pp = proc_find(t->real_parent);
    return proc_build(t, pp ? (pp->flags & PI_ROOT_OK) : 0);
}

/* Whether an event of type ev from this process passes the switches, lists and the rate
 * limit. Counts what it stops. */
static __always_inline int filter_pass(__u32 ev, struct proc_info *pi)
{
    if (!(ev_enabled & (1u << ev)))
        return 0;
    if (!pi)
        return 1;
    if ((pi->flags & PI_DENIED) || (allow_mode && !(pi->flags & PI_ALLOWED))) {
        counter_add(ev, 3);
        return 0;
    }
    __u32 limit = rate_limit;
    if (!limit)
        return 1;
    __u64 now = bpf_ktime_get_ns();
    struct rs_rate *rt = bpf_map_lookup_elem(&rate_map, &pi->exe_hash);
    if (!rt) {
        struct rs_rate fresh = {.window_start = now, .count = 1};
        bpf_map_update_elem(&rate_map, &pi->exe_hash, &fresh, BPF_ANY);
        return 1;
    }
    if (now - rt->window_start >= 1000000000ULL) {
        rt->window_start = now;
        rt->count = 1;
        return 1;
    }
    if (rt->count >= limit) {
        counter_add(ev, 2);
        return 0;
    }
    __sync_fetch_and_add(&rt->count, 1);
    return 1;
}

#endif
