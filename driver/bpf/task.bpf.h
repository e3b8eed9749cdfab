/* task.bpf.h: reading what the kernel knows about a task with CO-RE: common record fields,
 * open files, sockets and paths. */
#ifndef RAMPART_DRIVER_TASK_BPF_H
#define RAMPART_DRIVER_TASK_BPF_H

#include "record.bpf.h"

#define RS_AF_INET        2
#define RS_AF_INET6       10
#define RS_S_IFMT         00170000
#define RS_S_IFSOCK       0140000
#define RS_S_IFREG        0100000
#define RS_S_IFCHR        0020000
#define RS_S_IFIFO        0010000
#define RS_S_ISUID        0004000
#define RS_PATH_MAX_DEPTH 40

/* bpf_rdonly_cast (kfunc, Linux 6.2+): turns an address read with a helper back into a typed
 * kernel pointer, so the fields behind it are plain loads instead of one helper call each. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define RS_CAST(type, p) ((type *)bpf_rdonly_cast((p), bpf_core_type_id_kernel(type)))

/* pid_type indexes of signal->pids[] (PIDTYPE_PGID, PIDTYPE_SID). */
#define RS_PIDTYPE_PGID 2
#define RS_PIDTYPE_SID  3

static __always_inline __u32 pid_nr_of(struct pid *p)
{
    return p ? p->numbers[0].nr : 0;
}

static __always_inline __u32 task_pidns_inum(struct task_struct *t, __u32 *root_inum)
{
    struct pid *p = t->thread_pid;
    if (!p)
        return 0;
    *root_inum = p->numbers[0].ns->ns.inum;
    unsigned int level = p->level;
    if (level == 0)
        return *root_inum;
    /* a nested namespace: numbers[level] (a variable index needs a helper read) */
    struct pid *pp = BPF_CORE_READ(t, thread_pid);
    struct upid up = {};
    bpf_core_read(&up, sizeof(up), &pp->numbers[level & 0x1f]);
    return up.ns ? BPF_CORE_READ(up.ns, ns.inum) : 0;
}

/* Fills the common fields of r's record from the current task and adds the exe and nodename
 * strings (exe from the per-process cache pi, which may be NULL). */
static __always_inline void rec_common(struct rec *r, struct task_struct *t, struct proc_info *pi)
{
    struct rs_event *e = r->e;
    /* CLOCK_BOOTTIME read once per tick per CPU: the first record of a tick reads the clock,
     * the others of that tick on this CPU reuse it (at most a tick early: 4 ms at HZ=250).
     * Reading the TSC cost ~65 ns a record in a VM; records keep their order in the ring
     * buffer whatever their stamps. (bpf_ktime_get_coarse_ns is refused to tracing programs.) */
    __u64 j = bpf_jiffies64();
    if (j != r->s->tick_j) {
        r->s->tick_j = j;
        r->s->tick_ns = bpf_ktime_get_boot_ns();
    }
    e->ts = r->s->tick_ns;
    e->pid = t->pid;
    e->tgid = t->tgid;
    /* t comes from bpf_get_current_task_btf(): plain loads, no helper calls */
    struct signal_struct *sig = t->signal;
    const struct cred *cred = t->cred;
    struct nsproxy *nsp = t->nsproxy;
    e->ppid = t->real_parent->tgid;
    e->pgid = pid_nr_of(sig->pids[RS_PIDTYPE_PGID]);
    e->sid = pid_nr_of(sig->pids[RS_PIDTYPE_SID]);
    e->uid = cred->uid.val;
    e->euid = cred->euid.val;
    if (bpf_core_field_exists(t->sessionid))
        e->sessionid = t->sessionid;
    e->pns = task_pidns_inum(t, &e->root_pns);
    e->mntns = nsp ? nsp->mnt_ns->ns.inum : 0;
    /* what bpf_get_current_cgroup_id() returns (the task's cgroup v2 kernfs id), by loads */
    e->cgroup_id = t->cgroups->dfl_cgrp->kn->id;
    /* two loads instead of the helper's strscpy (~60 ns) */
    __builtin_memcpy(e->comm, (const void *)t->comm, sizeof(e->comm));
    /* the exe goes out once per process image (and in every execve record); the reader keeps
     * it per process */
    if (pi && (!(pi->flags & PI_EXE_SENT) || e->ev == RS_EV_EXECVE)) {
        rec_str_kernel(r, pi->exe, RS_MAX_EXE);
        if (pi->flags & PI_EXE_TRUNC)
            e->flags |= RS_F_EXE_TRUNCATED;
        pi->flags |= PI_EXE_SENT;
    } else {
        rec_empty(r);
        if (pi)
            e->flags |= RS_F_EXE_CACHED;
    }
    struct uts_namespace *uts = nsp ? nsp->uts_ns : 0;
    if (uts && uts->ns.inum == RS_INIT_UTS_INO) {
        rec_empty(r);
        e->flags |= RS_F_HOST_UTS;
    } else if (uts) {
        rec_str_kernel(r, &uts->name.nodename, 65);
    } else {
        rec_empty(r);
    }
}

/* The struct file behind fd of task t, or NULL. */
static __always_inline struct file *task_fd_file(struct task_struct *t, __u32 fd)
{
    struct fdtable *fdt = t->files->fdt;
    if (!fdt || fd >= fdt->max_fds)
        return 0;
    struct file **fds = fdt->fd;
    void *f = 0;
    bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
    return f ? RS_CAST(struct file, f) : 0;
}

static __always_inline __u32 file_mode(struct file *f)
{
    return f->f_inode->i_mode;
}

/* Fills s from a socket's sock when it is AF_INET or AF_INET6; returns 1 if filled. */
static __always_inline int sock_tuple(struct sock *sk, struct rs_sock *s)
{
    if (!sk)
        return 0;
    struct sock_common *c = &sk->__sk_common;
    __u16 family = c->skc_family;
    if (family == RS_AF_INET) {
        __u32 sa = c->skc_rcv_saddr;
        __u32 da = c->skc_daddr;
        __builtin_memcpy(s->saddr, &sa, 4);
        __builtin_memcpy(s->daddr, &da, 4);
    } else if (family == RS_AF_INET6) {
        bpf_probe_read_kernel(&s->saddr, 16, &c->skc_v6_rcv_saddr);
        bpf_probe_read_kernel(&s->daddr, 16, &c->skc_v6_daddr);
    } else {
        return 0;
    }
    s->family = family;
    s->sport = c->skc_num;
    s->dport = bpf_ntohs(c->skc_dport);
    return 1;
}

/* The sock behind a file when the file is a socket. */
static __always_inline struct sock *file_sock(struct file *f)
{
    if (!f || (file_mode(f) & RS_S_IFMT) != RS_S_IFSOCK)
        return 0;
    void *so = f->private_data;
    return so ? RS_CAST(struct socket, so)->sk : 0;
}

/* Reads a user sockaddr (sockaddr_in or sockaddr_in6) as the peer (d*) or local (s*) end.
 * Returns the family or 0. */
static __always_inline __u16 user_sockaddr(const void *uaddr, struct rs_sock *s, int as_peer)
{
    struct {
        __u16 family;
        __u16 port;
        __u32 flow_or_v4;
        __u8 v6[16];
    } sa = {};
    if (!uaddr || bpf_probe_read_user(&sa, sizeof(sa), uaddr) < 0) {
        if (!uaddr || bpf_probe_read_user(&sa, 8, uaddr) < 0)
            return 0;
    }
    __u8 *addr = as_peer ? s->daddr : s->saddr;
    if (sa.family == RS_AF_INET) {
        __builtin_memcpy(addr, &sa.flow_or_v4, 4);
    } else if (sa.family == RS_AF_INET6) {
        __builtin_memcpy(addr, sa.v6, 16);
    } else {
        return 0;
    }
    if (as_peer)
        s->dport = bpf_ntohs(sa.port);
    else
        s->sport = bpf_ntohs(sa.port);
    s->family = sa.family;
    return sa.family;
}

/* ---- paths: a dentry walk up to the namespace root, built backwards in path_map ---- */

struct walk_ctx {
    void *d;   /* struct dentry * */
    void *mnt; /* struct mount * */
    __u32 pos; /* the path starts at buf[pos]; buf[PATHBUF_HALF] is its NUL */
    __u32 truncated;
};

static long walk_step(__u32 i, void *arg)
{
    struct walk_ctx *w = arg;
    __u32 zero = 0;
    struct pathbuf *pb = bpf_map_lookup_elem(&path_map, &zero);
    if (!pb || !w->d || !w->mnt)
        return 1;
    struct dentry *d = RS_CAST(struct dentry, w->d);
    struct mount *m = RS_CAST(struct mount, w->mnt);
    struct dentry *parent = d->d_parent;
    if (d == m->mnt.mnt_root || d == parent) {
        if (d != m->mnt.mnt_root)
            return 1; /* a filesystem root that is not a mount root (anonymous files) */
        struct mount *mp = m->mnt_parent;
        if (mp == m)
            return 1; /* the root of the mount tree */
        w->d = m->mnt_mountpoint;
        w->mnt = mp;
        return 0;
    }
    __u32 len = d->d_name.len & (PATHBUF_HALF - 1);
    if (len == 0)
        return 1;
    if (len + 1 > w->pos) {
        w->truncated = 1;
        return 1;
    }
    __u32 at = (w->pos - len) & (PATHBUF_HALF - 1);
    if (bpf_probe_read_kernel(&pb->buf[at], len, d->d_name.name) < 0)
        return 1;
    w->pos = at - 1;
    pb->buf[w->pos & (PATHBUF_HALF - 1)] = '/';
    w->d = parent;
    return 0;
}

/* Builds the path of (dentry, vfsmount) in path_map; returns a pointer to the string (inside
 * the map value) or NULL. *truncated is set when the walk hit its limits. */
static __always_inline const char *path_of(struct dentry *d, struct vfsmount *vmnt,
                                           __u32 *truncated)
{
    __u32 zero = 0;
    struct pathbuf *pb = bpf_map_lookup_elem(&path_map, &zero);
    if (!pb || !d || !vmnt)
        return 0;
    struct walk_ctx w = {
        .d = d,
        .mnt = (void *)((char *)vmnt - bpf_core_field_offset(struct mount, mnt)),
        .pos = PATHBUF_HALF,
    };
    pb->buf[PATHBUF_HALF] = 0;
    bpf_loop(RS_PATH_MAX_DEPTH, walk_step, &w, 0);
    if (w.pos == PATHBUF_HALF) {
        w.pos = PATHBUF_HALF - 1;
        pb->buf[w.pos] = '/';
    }
    if (truncated)
        *truncated = w.truncated;
    return &pb->buf[w.pos & (PATHBUF_HALF * 2 - 1)];
}

static __always_inline const char *path_of_path(struct path *p, __u32 *truncated)
{
    return path_of(BPF_CORE_READ(p, dentry), BPF_CORE_READ(p, mnt), truncated);
}

static __always_inline const char *path_of_file(struct file *f, __u32 *truncated)
{
    if (!f)
        return 0;
    return path_of(f->f_path.dentry, f->f_path.mnt, truncated);
}

/* Adds the path of a directory fd (AT_FDCWD = the cwd) as a string. Returns the sb dev. */
static __always_inline __u32 rec_dirfd(struct rec *r, struct task_struct *t, int dfd)
{
    const char *p;
    __u32 dev;
    if (dfd == -100) {
        struct path pwd = BPF_CORE_READ(t, fs, pwd);
        p = path_of(pwd.dentry, pwd.mnt, 0);
        dev = BPF_CORE_READ(pwd.dentry, d_sb, s_dev);
    } else {
        struct file *f = task_fd_file(t, (__u32)dfd);
        p = path_of_file(f, 0);
        dev = f ? BPF_CORE_READ(f, f_inode, i_sb, s_dev) : 0;
    }
    if (p)
        rec_str_kernel(r, p, RS_MAX_PATH);
    else
        rec_empty(r);
    return dev;
}

#endif
