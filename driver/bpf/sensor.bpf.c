// SPDX-License-Identifier: GPL-2.0
/* sensor.bpf.c: Rampart's kernel sensor.
 *
 * Programs (tracepoints only; this kernel family refuses kprobes, fentry and BPF-LSM):
 *   tp_btf/sched_process_exec  execve (59) and privilege escalation (611)
 *   tp_btf/sched_process_exit  exit (60); drops the per-process cache entry
 *   tp/syscalls/sys_exit_*     every other event, one program per watched syscall, from the
 *                              syscall's arguments (in the saved user registers) and result
 *   iter/task                  anti-rootkit: lists every task for the plugin to compare with
 *                              /proc
 * A syscall the sensor does not watch runs none of its programs. Records go to one ring
 * buffer; counters per type. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "filter.bpf.h"
#include "programs.h"
#include "syscalls.h"

char LICENSE[] SEC("license") = "GPL";

#define RS_O_CREAT       0100
#define RS_FMODE_CREATED (1u << 20)
#define RS_PR_SET_NAME   15
#define RS_AT_FDCWD      (-100)
#define RS_EINPROGRESS   (-115)

/* ---- common prologue: the per-process entry, the filters, a fresh record ---- */

static __always_inline int begin(struct rec *r, __u32 ev, __u32 dt, struct task_struct **tp)
{
    /* helpers cost a call each (with this kernel's return thunks ~10 ns): the task's fields
     * are read with plain loads */
    struct task_struct *t = bpf_get_current_task_btf();
    if (t->tgid == self_tgid)
        return -1;
    if (!(ev_enabled & (1u << ev)))
        return -1;
    struct proc_info *pi = proc_get(t);
    if (!filter_pass(ev, pi))
        return -1;
    if (rec_begin(r, ev, dt) < 0)
        return -1;
    rec_common(r, t, pi);
    *tp = t;
    return 0;
}

static __always_inline int user_char0(const void *p)
{
    char c = 0;
    if (p)
        bpf_probe_read_user(&c, 1, p);
    return c;
}

/* A path argument relative to dfd: the base directory ("" when absolute) then the name. */
static __always_inline __u32 rec_path_arg(struct rec *r, struct task_struct *t, int dfd,
                                          const char *name)
{
    __u32 dev = 0;
    if (user_char0(name) == '/') {
        rec_empty(r);
        struct path root = BPF_CORE_READ(t, fs, root);
        dev = BPF_CORE_READ(root.dentry, d_sb, s_dev);
    } else {
        dev = rec_dirfd(r, t, dfd);
    }
    rec_str_user(r, name, RS_MAX_PATH);
    return dev;
}

/* ---- network ---- */

static __always_inline void on_connect(struct pt_regs *regs, long ret)
{
    struct rec r;
    struct task_struct *t = bpf_get_current_task_btf();
    struct sock *sk = file_sock(task_fd_file(t, (__u32)regs->di));
    if (!sk)
        return;
    __u16 family = sk->__sk_common.skc_family;
    if (family != RS_AF_INET && family != RS_AF_INET6)
        return; /* unix sockets and the rest */
    struct rs_sock s = {};
    /* Connected, or connecting (EINPROGRESS): the socket holds both ends, and reading them
     * there is cheaper than copying the caller's sockaddr from user memory (~130 ns). A failed
     * connect may have cleared the peer: then the sockaddr asked for, and the local end. */
    if (!((ret == 0 || ret == RS_EINPROGRESS) && sock_tuple(sk, &s) && s.dport)) {
        __builtin_memset(&s, 0, sizeof(s));
        if (!user_sockaddr((void *)regs->si, &s, 1))
            return;
        struct rs_sock local = {};
        if (sock_tuple(sk, &local)) {
            __builtin_memcpy(s.saddr, local.saddr, 16);
            s.sport = local.sport;
        }
    }
    if (begin(&r, RS_EV_CONNECT, 42, &t) < 0)
        return;
    r.e->sock = s;
    r.e->res = ret;
    rec_submit(&r);
}

static __always_inline void on_accept(struct pt_regs *regs, long ret)
{
    struct rec r;
    struct task_struct *t;
    if (ret < 0)
        return;
    if (begin(&r, RS_EV_ACCEPT, 43, &t) < 0)
        return;
    if (!sock_tuple(file_sock(task_fd_file(t, (__u32)ret)), &r.e->sock))
        return;
    r.e->res = ret;
    rec_submit(&r);
}

static __always_inline void on_bind(struct pt_regs *regs, long ret)
{
    struct rec r;
    struct task_struct *t;
    struct rs_sock s = {};
    if (!user_sockaddr((void *)regs->si, &s, 0))
        return;
    if (begin(&r, RS_EV_BIND, 49, &t) < 0)
        return;
    r.e->sock = s;
    r.e->res = ret;
    rec_submit(&r);
}

struct rs_user_msghdr {
    void *name;
    int namelen;
    void *iov;
    __u64 iovlen;
};
struct rs_iovec {
    void *base;
    __u64 len;
};

/* DNS queries: UDP payloads sent to port 53 by sendto, sendmsg or sendmmsg (first message). */
static __always_inline void on_send(struct pt_regs *regs, long ret, __u32 nr)
{
    struct rec r;
    struct task_struct *t;
    if (ret <= 0)
        return;
    if (!(ev_enabled & (1u << RS_EV_DNS)))
        return;
    const void *dest;
    const void *buf;
    __u64 len;
    if (nr == RS_SYS_SENDTO) {
        buf = (void *)regs->si;
        len = regs->dx;
        dest = (void *)regs->r8;
    } else {
        struct rs_user_msghdr m = {};
        struct rs_iovec iov = {};
        if (bpf_probe_read_user(&m, sizeof(m), (void *)regs->si) < 0 || !m.iovlen)
            return;
        if (bpf_probe_read_user(&iov, sizeof(iov), m.iov) < 0)
            return;
        dest = m.name;
        buf = iov.base;
        len = iov.len;
    }
    if (len < 17)
        return;
    struct rs_sock s = {};
    struct task_struct *cur = bpf_get_current_task_btf();
    struct sock *sk = file_sock(task_fd_file(cur, (__u32)regs->di));
    if (!sk || BPF_CORE_READ(sk, sk_protocol) != 17 /* IPPROTO_UDP */)
        return;
    sock_tuple(sk, &s);
    if (dest)
        user_sockaddr(dest, &s, 1);
    if (s.dport != 53)
        return;
    __u16 hdr[6] = {};
    if (bpf_probe_read_user(hdr, sizeof(hdr), buf) < 0)
        return;
    __u16 flags = bpf_ntohs(hdr[1]);
    if ((flags & 0x8000) || bpf_ntohs(hdr[2]) == 0)
        return; /* a response, or no question */
    if (begin(&r, RS_EV_DNS, 601, &t) < 0)
        return;
    r.e->sock = s;
    r.e->num[1] = (flags >> 11) & 0xf;
    r.e->num[2] = flags;
    r.e->num[3] = bpf_ntohs(hdr[0]);
    r.e->res = ret;
    __u64 qlen = len - 12;
    if (qlen > 260)
        qlen = 260;
    rec_bytes_user(&r, (const char *)buf + 12, qlen);
    rec_submit(&r);
}

/* ---- files ---- */

static __always_inline void find_socket(struct task_struct *t, struct rs_sock *s)
{
#pragma unroll
    for (__u32 fd = 0; fd < 4; fd++) {
        struct sock *sk = file_sock(task_fd_file(t, fd));
        if (sk && sock_tuple(sk, s))
            return;
    }
}

static __always_inline void on_open(struct pt_regs *regs, long ret, __u32 nr)
{
    struct rec r;
    struct task_struct *t;
    if (ret < 0)
        return;
    __u64 flags;
    if (nr == RS_SYS_OPEN)
        flags = regs->si;
    else if (nr == RS_SYS_CREAT)
        flags = RS_O_CREAT;
    else if (nr == RS_SYS_OPENAT)
        flags = regs->dx;
    else if (bpf_probe_read_user(&flags, sizeof(flags), (void *)regs->dx) < 0)
        return;
    if (!(flags & RS_O_CREAT))
        return;
    struct task_struct *cur = bpf_get_current_task_btf();
    struct file *f = task_fd_file(cur, (__u32)ret);
    if (!f || !(BPF_CORE_READ(f, f_mode) & RS_FMODE_CREATED))
        return;
    if (begin(&r, RS_EV_CREATE, 602, &t) < 0)
        return;
    struct inode *ino = BPF_CORE_READ(f, f_inode);
    r.e->num[0] = BPF_CORE_READ(ino, i_sb, s_dev);
    r.e->num[1] = BPF_CORE_READ(ino, i_mode);
    r.e->num[2] = BPF_CORE_READ(ino, i_ino);
    __u32 trunc = 0;
    const char *p = path_of_file(f, &trunc);
    if (trunc)
        r.e->flags |= RS_F_PATH_TRUNCATED;
    rec_str_kernel(&r, p, RS_MAX_PATH);
    find_socket(t, &r.e->sock);
    r.e->res = ret;
    rec_submit(&r);
}

/* rename, renameat, renameat2, link, linkat: two path arguments. */
static __always_inline void on_two_paths(struct pt_regs *regs, long ret, __u32 nr)
{
    struct rec r;
    struct task_struct *t;
    if (ret != 0)
        return;
    int odfd = RS_AT_FDCWD, ndfd = RS_AT_FDCWD;
    const char *oname, *nname;
    __u64 flags = 0;
    __u32 ev = (nr == RS_SYS_LINK || nr == RS_SYS_LINKAT) ? RS_EV_LINK : RS_EV_RENAME;
    if (nr == RS_SYS_RENAME || nr == RS_SYS_LINK) {
        oname = (void *)regs->di;
        nname = (void *)regs->si;
    } else {
        odfd = (int)regs->di;
        oname = (void *)regs->si;
        ndfd = (int)regs->dx;
        nname = (void *)regs->r10;
        if (nr != RS_SYS_RENAMEAT)
            flags = regs->r8;
    }
    if (begin(&r, ev, ev == RS_EV_LINK ? 86 : 82, &t) < 0)
        return;
    r.e->num[0] = rec_path_arg(&r, t, odfd, oname);
    rec_path_arg(&r, t, ndfd, nname);
    r.e->num[1] = flags;
    r.e->res = ret;
    rec_submit(&r);
}

static __always_inline void on_unlink(struct pt_regs *regs, long ret, __u32 nr)
{
    struct rec r;
    struct task_struct *t;
    if (ret != 0)
        return;
    int dfd = RS_AT_FDCWD;
    const char *name = (void *)regs->di;
    __u64 flags = 0;
    if (nr == RS_SYS_UNLINKAT) {
        dfd = (int)regs->di;
        name = (void *)regs->si;
        flags = regs->dx;
    }
    if (begin(&r, RS_EV_UNLINK, 605, &t) < 0)
        return;
    r.e->num[0] = rec_path_arg(&r, t, dfd, name);
    r.e->num[1] = flags;
    r.e->res = ret;
    rec_submit(&r);
}

static __always_inline void on_memfd(struct pt_regs *regs, long ret)
{
    struct rec r;
    struct task_struct *t;
    if (begin(&r, RS_EV_MEMFD, 356, &t) < 0)
        return;
    r.e->num[0] = regs->si;
    r.e->res = ret;
    rec_str_user(&r, (void *)regs->di, 256);
    rec_submit(&r);
}

/* ---- processes ---- */

static __always_inline int ptrace_watched(__u64 req)
{
    switch (req) {
    case 0:      /* PTRACE_TRACEME */
    case 4:      /* PTRACE_POKETEXT */
    case 5:      /* PTRACE_POKEDATA */
    case 6:      /* PTRACE_POKEUSR */
    case 13:     /* PTRACE_SETREGS */
    case 15:     /* PTRACE_SETFPREGS */
    case 16:     /* PTRACE_ATTACH */
    case 0x4205: /* PTRACE_SETREGSET */
    case 0x4206: /* PTRACE_SEIZE */
        return 1;
    }
    return 0;
}

static __always_inline void on_ptrace(struct pt_regs *regs, long ret)
{
    struct rec r;
    struct task_struct *t;
    if (!ptrace_watched(regs->di))
        return;
    if (begin(&r, RS_EV_PTRACE, 101, &t) < 0)
        return;
    r.e->num[0] = regs->di;
    r.e->num[1] = regs->si;
    r.e->num[2] = regs->dx;
    r.e->num[3] = regs->r10;
    r.e->res = ret;
    rec_submit(&r);
}

static __always_inline void on_module(struct pt_regs *regs, long ret, __u32 nr)
{
    struct rec r;
    struct task_struct *t;
    if (begin(&r, RS_EV_MODULE, 603, &t) < 0)
        return;
    r.e->num[0] = nr;
    r.e->res = ret;
    if (nr == RS_SYS_FINIT_MODULE) {
        r.e->num[1] = regs->dx;
        r.e->num[2] = regs->di;
        const char *p = path_of_file(task_fd_file(t, (__u32)regs->di), 0);
        if (p)
            rec_str_kernel(&r, p, RS_MAX_PATH);
        else
            rec_empty(&r);
    } else {
        rec_empty(&r);
    }
    struct path pwd = BPF_CORE_READ(t, fs, pwd);
    const char *cwd = path_of(pwd.dentry, pwd.mnt, 0);
    if (cwd)
        rec_str_kernel(&r, cwd, RS_MAX_PATH);
    else
        rec_empty(&r);
    rec_submit(&r);
}

/* setuid family and capset: compares with the credentials last seen for the process. */
static __always_inline void on_cred(struct pt_regs *regs, long ret, __u32 nr)
{
    struct rec r;
    struct task_struct *t = bpf_get_current_task_btf();
    if (t->tgid == self_tgid)
        return;
    struct proc_info *pi = proc_get(t);
    if (!pi)
        return;
    const struct cred *c = BPF_CORE_READ(t, cred);
    __u32 uid = BPF_CORE_READ(c, uid.val), euid = BPF_CORE_READ(c, euid.val);
    __u32 fsuid = BPF_CORE_READ(c, fsuid.val);
    __u64 caps = BPF_CORE_READ(c, cap_effective.val);
    __u32 old_uid = pi->uid, old_euid = pi->euid;
    __u64 old_caps = pi->cap_eff;
    int was_root = old_uid == 0 || old_euid == 0;
    int is_root = uid == 0 || euid == 0 || (nr == RS_SYS_SETFSUID && fsuid == 0);
    int report;
    if (nr == RS_SYS_CAPSET)
        report = ret == 0 && !was_root && euid != 0 && (caps & ~old_caps);
    else
        report = (ret == 0 || nr == RS_SYS_SETFSUID) && !was_root && is_root;
    if (is_root && !was_root)
        pi->flags |= PI_ROOT_OK;
    pi->uid = uid;
    pi->euid = euid;
    pi->cap_eff = caps;
    if (!report || !filter_pass(RS_EV_PRIV, pi))
        return;
    if (rec_begin(&r, RS_EV_PRIV, 604) < 0)
        return;
    rec_common(&r, t, pi);
    r.e->num[0] = old_uid;
    r.e->num[1] = old_euid;
    r.e->num[2] = nr;
    r.e->num[3] = old_caps;
    r.e->num[4] = caps;
    r.e->res = ret;
    rec_submit(&r);
}

static __always_inline void on_mount(struct pt_regs *regs, long ret)
{
    struct rec r;
    struct task_struct *t;
    if (begin(&r, RS_EV_MOUNT, 165, &t) < 0)
        return;
    r.e->num[0] = regs->r10;
    r.e->res = ret;
    rec_str_user(&r, (void *)regs->di, RS_MAX_PATH);
    rec_str_user(&r, (void *)regs->si, RS_MAX_PATH);
    rec_str_user(&r, (void *)regs->dx, 64);
    rec_submit(&r);
}

static __always_inline void on_prctl(struct pt_regs *regs, long ret)
{
    struct rec r;
    struct task_struct *t;
    if (regs->di != RS_PR_SET_NAME)
        return;
    if (begin(&r, RS_EV_PRCTL, 157, &t) < 0)
        return;
    r.e->num[0] = regs->di;
    r.e->res = ret;
    rec_str_user(&r, (void *)regs->si, 16);
    rec_submit(&r);
}

static __always_inline void on_setsid(long ret)
{
    struct rec r;
    struct task_struct *t;
    if (begin(&r, RS_EV_SETSID, 112, &t) < 0)
        return;
    r.e->res = ret;
    rec_submit(&r);
}

static __always_inline void on_kill(struct pt_regs *regs, long ret)
{
    struct rec r;
    struct task_struct *t;
    if (regs->si == 0)
        return; /* signal 0: an existence probe */
    if (begin(&r, RS_EV_KILL, 62, &t) < 0)
        return;
    r.e->num[0] = (__s32)regs->di;
    r.e->num[1] = regs->si;
    r.e->res = ret;
    rec_submit(&r);
}

/* One program per watched syscall, on that syscall's exit tracepoint: a syscall the sensor does
 * not watch runs none of its code (a tp_btf/sys_exit program ran on every syscall, ~25 ns each
 * here; the kernel's own cost of syscall tracing, ~65 ns a syscall in this VM, stays: any
 * syscall hook pays it). The arguments are read from the task's saved user registers. The
 * plugin attaches only the programs of the event types switched on (programs.h). */
#define RS_SYS_EXIT(name, body)                                                                    \
    SEC("tp/syscalls/sys_exit_" #name)                                                             \
    int rs_x_##name(struct trace_event_raw_sys_exit *ctx)                                          \
    {                                                                                              \
        struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());     \
        long ret = ctx->ret;                                                                       \
        (void)regs;                                                                                \
        body;                                                                                      \
        return 0;                                                                                  \
    }

#define RS_X(name, events, call) RS_SYS_EXIT(name, call)
RS_SYSCALL_PROGRAMS(RS_X)
#undef RS_X

/* ---- execve and exit ---- */

/* The environment: one copy of its first RS_ENV_SCAN bytes into env_map, then a look at the
 * start of each variable, found through the new process' envp array (the pointers the kernel
 * has just written on its stack, which no user code has run to change yet): the first 16 bytes
 * of a variable are compared with the two names as two 64-bit loads. Scanning the copy for NUL
 * bytes a word at a time cost ~1 ns a byte, 2.7 us for a shell's 40 variables; reading each
 * variable from user memory ~100 ns a variable. Data sits at buf[1..1+len) and ENV_TAIL zero
 * bytes follow it, so that no comparison reads what an earlier exec left. The last LD_PRELOAD
 * wins (as ld.so reads it), and the last SSH_CONNECTION. */
#define ENV_PTRS 32 /* envp pointers read per bpf_loop step */
/* "LD_PRELO" "AD=", "SSH_CONN" "ECTION=" as little-endian words */
#define ENV_LD1  0x4f4c4552505f444cULL
#define ENV_LD2  0x3d4441ULL
#define ENV_SSH1 0x4e4e4f435f485353ULL
#define ENV_SSH2 0x3d4e4f49544345ULL

struct env_ctx {
    struct envbuf *b;
    __u64 start;      /* mm->env_start */
    __u64 envp;       /* user address of envp[0] */
    __u32 envc;       /* variables */
    __u32 len;        /* bytes copied */
    __u32 ld_preload; /* offset of the value in the environment + 1, 0 = absent */
    __u32 ssh;
    __u32 unread; /* a pointer block could not be read */
};

/* Step i: envp[ENV_PTRS * i ...], one user read for the block. */
static long env_ptr_step(__u32 i, void *arg)
{
    struct env_ctx *c = arg;
    struct envbuf *b = c->b;
    __u32 first = i * ENV_PTRS;
    if (!b || first >= c->envc)
        return 1;
    if (bpf_probe_read_user(b->ptrs, sizeof(b->ptrs), (void *)(c->envp + first * 8ULL)) < 0) {
        c->unread = 1;
        return 1;
    }
#pragma unroll
    for (__u32 k = 0; k < ENV_PTRS; k++) {
        if (first + k >= c->envc)
            return 1;
        __u64 off = b->ptrs[k] - c->start;
        if (off >= c->len)
            return 1; /* past the copy (the strings are in order): the rest too */
        __u32 at = (__u32)off + 1;
        if (at >= RS_ENV_SCAN)
            return 1; /* a variable in the copy's last byte: too short to be either */
        at &= RS_ENV_SCAN - 1;
        /* 8-byte loads at any offset (x86 has no alignment rule; told as aligned, or clang
         * would load byte by byte) */
        const __u64 *w = __builtin_assume_aligned(&b->buf[at], 8);
        __u64 w1 = w[0], w2 = w[1];
        if (w1 == ENV_LD1 && (w2 & 0xffffffULL) == ENV_LD2)
            c->ld_preload = (__u32)off + 12;
        else if (w1 == ENV_SSH1 && (w2 & 0xffffffffffffffULL) == ENV_SSH2)
            c->ssh = (__u32)off + 16;
    }
    return 0;
}

/* Finds LD_PRELOAD and SSH_CONNECTION in the new process' environment [start, end), whose
 * envc variables envp points to. A global function: the verifier checks it once, not once per
 * path of the exec program. Returns the offsets (+1, 0 = absent) of the values in bits 0-15 and
 * 16-31, and bit 32 when the environment is larger than the scan or could not be read. */
__noinline __u64 rs_env_scan(__u64 start, __u64 end, __u64 envp, __u32 envc)
{
    __u32 zero = 0;
    struct envbuf *b = bpf_map_lookup_elem(&env_map, &zero);
    if (!b || end <= start || !envc)
        return 0;
    __u64 len = end - start, trunc = 0;
    if (len > RS_ENV_SCAN) {
        len = RS_ENV_SCAN;
        trunc = 1ULL << 32;
    }
    if (bpf_probe_read_user(&b->buf[1], len, (void *)start) < 0)
        return 1ULL << 32;
#pragma unroll
    for (__u32 k = 0; k < ENV_TAIL; k++)
        b->buf[1 + len + k] = 0;
    struct env_ctx c = {.b = b, .start = start, .envp = envp, .envc = envc, .len = len};
    bpf_loop(RS_ENV_SCAN / 2 / ENV_PTRS, env_ptr_step, &c, 0);
    if (c.unread)
        trunc = 1ULL << 32;
    return trunc | c.ld_preload | ((__u64)c.ssh << 16);
}

/* One of fds 0 and 1: its kind and inode; a path string for files and character devices. */
static __always_inline struct file *rec_stdio(struct rec *r, struct task_struct *t, __u32 fd,
                                              __u64 *kinds, __u64 *ino, struct file *prev,
                                              const char **prev_path)
{
    struct file *f = task_fd_file(t, fd);
    __u64 kind = RS_FD_NONE;
    const char *p = 0;
    if (f && f == prev) {
        /* stdout is stdin's file (a terminal, /dev/null, a socket): same kind, same path */
        *ino = f->f_inode->i_ino;
        kind = (*kinds >> ((fd - 1) * 8)) & 0xff;
        p = *prev_path;
    } else if (f) {
        __u32 mode = file_mode(f) & RS_S_IFMT;
        *ino = f->f_inode->i_ino;
        if (mode == RS_S_IFSOCK) {
            kind = RS_FD_SOCKET;
            if (!r->e->sock.family)
                sock_tuple(file_sock(f), &r->e->sock);
        } else if (mode == RS_S_IFIFO) {
            kind = RS_FD_PIPE;
        } else if (mode == RS_S_IFREG || mode == RS_S_IFCHR) {
            kind = mode == RS_S_IFREG ? RS_FD_FILE : RS_FD_CHAR;
            p = path_of_file(f, 0);
        } else {
            kind = RS_FD_OTHER;
        }
    }
    *kinds |= kind << (fd * 8);
    if (p)
        rec_str_kernel(r, p, RS_MAX_PATH);
    else
        rec_empty(r);
    *prev_path = p;
    return f;
}

static __always_inline void pack_cred(const struct cred *c, __u64 *out)
{
    out[0] = c->uid.val | ((__u64)c->euid.val << 32);
    out[1] = c->suid.val | ((__u64)c->fsuid.val << 32);
    out[2] = c->gid.val | ((__u64)c->egid.val << 32);
    out[3] = c->sgid.val | ((__u64)c->fsgid.val << 32);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(rs_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    struct task_struct *t = bpf_get_current_task_btf();
    if (t->tgid == self_tgid)
        return 0;
    /* t, its parent, bprm and what hangs off them are BTF pointers: fields are plain loads,
     * not a helper call each (a probe read costs ~30 ns; an exec reads some thirty fields) */
    struct task_struct *parent = t->real_parent;
    const struct cred *c = t->cred;
    const struct cred *pc = parent->cred;
    __u32 uid = c->uid.val, euid = c->euid.val;
    __u32 puid = pc->uid.val, peuid = pc->euid.val;
    /* 611 is a question only when the new image runs as root and its parent does not: only
     * then does the parent's PI_ROOT_OK matter (a task storage look-up, ~50 ns, saved on the
     * other execs; a non-root process between a PI_ROOT_OK ancestor and a root exec would
     * need a setuid exec or call to become root, which sets the flag itself) */
    int ask611 = (uid == 0 || euid == 0) && puid != 0 && peuid != 0;
    struct proc_info *old = proc_find(t);
    __u32 keep = 0;
    if (old) {
        keep = old->flags & PI_ROOT_OK;
    } else if (ask611) {
        struct proc_info *pp = proc_find(parent);
        keep = pp ? pp->flags & PI_ROOT_OK : 0;
    }
    struct inode *bin = bprm->file->f_inode;
    if ((bin->i_mode & RS_S_ISUID) && bin->i_uid.val == 0)
        keep |= PI_ROOT_OK;
    /* A process keeps an entry from its exec on only when there is something to remember
     * (an entry from before, or PI_ROOT_OK); most execs (a /bin/true, a shell's ls) make no
     * record afterwards but their exit, which needs none. A later record builds the entry. */
    struct proc_info *pi = (old || keep) ? proc_build(t, keep) : proc_scratch(t, keep);
    struct rec r;

    /* 611: root now, parent not root, and no setuid exec or setuid-family call on the way */
    if (ask611 && !(keep & PI_ROOT_OK) && filter_pass(RS_EV_PRIV_ESC, pi) &&
        rec_begin(&r, RS_EV_PRIV_ESC, 611) == 0) {
        rec_common(&r, t, pi);
        r.e->num[0] = parent->tgid;
        pack_cred(pc, &r.e->num[1]);
        pack_cred(c, &r.e->num[5]);
        rec_submit(&r);
    }

    if (!filter_pass(RS_EV_EXECVE, pi) || rec_begin(&r, RS_EV_EXECVE, 59) < 0)
        return 0;
    rec_common(&r, t, pi);
    struct mm_struct *mm = t->mm;
    __u64 astart = mm->arg_start, aend = mm->arg_end;
    __u64 alen = aend > astart ? aend - astart : 0;
    r.e->num[3] = alen;
    if (alen > RS_MAX_ARGV) {
        alen = RS_MAX_ARGV;
        r.e->flags |= RS_F_ARGV_TRUNCATED;
    }
    rec_bytes_user(&r, (void *)astart, alen);
    struct fs_struct *fs = t->fs;
    const char *cwd = fs ? path_of(fs->pwd.dentry, fs->pwd.mnt, 0) : 0;
    if (cwd)
        rec_str_kernel(&r, cwd, RS_MAX_PATH);
    else
        rec_empty(&r);
    struct tty_struct *tty = t->signal->tty;
    if (tty) {
        rec_str_kernel(&r, &tty->name, 64);
        r.e->num[4] = tty->index;
    } else {
        rec_empty(&r);
    }
    const char *in_path = 0;
    struct file *in = rec_stdio(&r, t, 0, &r.e->num[0], &r.e->num[1], 0, &in_path);
    rec_stdio(&r, t, 1, &r.e->num[0], &r.e->num[2], in, &in_path);
    __u64 env_start = mm->env_start;
    /* the new stack as the ELF loader left it: argc, argv[argc], NULL, envp[envc], NULL */
    __u64 envp = bprm->p + 8ULL * (bprm->argc + 2);
    __u64 env = rs_env_scan(env_start, mm->env_end, envp, bprm->envc);
    __u32 ld_off = env & 0xffff, ssh_off = (env >> 16) & 0xffff;
    if (env >> 32)
        r.e->flags |= RS_F_ENV_TRUNCATED;
    /* the values from the process' memory: one may run past the copy */
    if (ld_off)
        rec_str_user(&r, (void *)(env_start + ld_off - 1), RS_MAX_ENVVAL);
    else
        rec_empty(&r);
    if (ssh_off)
        rec_str_user(&r, (void *)(env_start + ssh_off - 1), RS_MAX_ENVVAL);
    else
        rec_empty(&r);
    rec_submit(&r);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(rs_exit, struct task_struct *p)
{
    /* the last thread of the group: signal->live dropped to 0 just before this tracepoint (the
     * tracepoint's own group_dead argument only exists since Linux 6.16) */
    if (p->signal->live.counter != 0)
        return 0;
    struct task_struct *t = bpf_get_current_task_btf();
    if (t->tgid == self_tgid)
        return 0;
    /* the process' entry if it has one; without one the record leaves the exe out (the plugin
     * has it from the execve record, or from /proc), unless a filter needs the exe's verdict:
     * then it is built here (the mm is still there: the tracepoint fires before exit_mm) */
    struct proc_info *pi = proc_find(t);
    if (!pi && (allow_mode || deny_used || rate_limit))
        pi = proc_scratch(t, 0);
    struct rec r;
    if (filter_pass(RS_EV_EXIT, pi) && rec_begin(&r, RS_EV_EXIT, 60) == 0) {
        rec_common(&r, t, pi);
        r.e->num[0] = t->exit_code;
        rec_submit(&r);
    }
    /* the entry goes with the task (task storage): nothing to delete */
    return 0;
}

/* ---- anti-rootkit: every thread-group leader the kernel knows ---- */

SEC("iter/task")
int rs_iter_task(struct bpf_iter__task *ctx)
{
    struct task_struct *t = ctx->task;
    if (!t)
        return 0;
    struct rs_task_seen s = {};
    s.tgid = BPF_CORE_READ(t, tgid);
    s.pid = BPF_CORE_READ(t, pid);
    if (s.pid != s.tgid)
        return 0;
    s.ppid = BPF_CORE_READ(t, real_parent, tgid);
    BPF_CORE_READ_STR_INTO(&s.comm, t, comm);
    bpf_seq_write(ctx->meta->seq, &s, sizeof(s));
    return 0;
}
