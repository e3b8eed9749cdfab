/* events.h: the record the BPF sensor writes into its ring buffer, shared by both sides.
 *
 * Fixed-width types only, no kernel or libc includes: the BPF side gets __u32 and friends from
 * vmlinux.h, userspace from <linux/types.h>. One record is a struct rs_event followed by
 * `nstr` strings, each a __u16 length and that many bytes (no NUL). The first two strings of
 * every record are the exe path and the UTS nodename (empty when RS_F_EXE_CACHED or
 * RS_F_HOST_UTS say the reader knows them already); the per-type strings follow in the order
 * listed below. Numbers in num[] and the socket tuple are per type, as listed. */
#ifndef RAMPART_DRIVER_EVENTS_H
#define RAMPART_DRIVER_EVENTS_H

/* Internal event index: the switch bit, the counter slot and the rate-limit class. */
enum rs_ev {
    RS_EV_EXECVE = 0, /* dt 59  num: [0] stdin kind | stdout kind << 8, [1] stdin ino,
                       *        [2] stdout ino, [3] argv bytes in the process, [4] tty dev;
                       *        sock: the inet socket on stdin or stdout;
                       * strings: argv (NUL-separated), cwd, tty, stdin path, stdout path,
                       *          LD_PRELOAD value, SSH_CONNECTION value */
    RS_EV_EXIT,       /* dt 60  num: [0] exit code (wait status) */
    RS_EV_CONNECT,    /* dt 42  sock, res */
    RS_EV_ACCEPT,     /* dt 43  sock (local = s*, peer = d*), res (the new fd or -errno) */
    RS_EV_BIND,       /* dt 49  sock (address asked for), res */
    RS_EV_DNS,        /* dt 601 num: [0] qtype, [1] opcode, [2] DNS flags, [3] query id;
                       *        sock: server (d*) and local (s*); strings: query name */
    RS_EV_CREATE,     /* dt 602 num: [0] sb dev (kernel dev_t), [1] inode mode, [2] ino;
                       *        sock: an inet socket among fds 0..7 when there is one;
                       * strings: path */
    RS_EV_RENAME,     /* dt 82  num: [0] sb dev of the old path's base dir, [1] flags;
                       * strings: old base dir, old name, new base dir, new name (a base dir
                       *          is "" when the name is absolute) */
    RS_EV_LINK,       /* dt 86  same layout as rename */
    RS_EV_UNLINK,     /* dt 605 num: [0] sb dev of the base dir, [1] flags; strings: dir, name */
    RS_EV_PTRACE,     /* dt 101 num: [0] request, [1] target pid, [2] addr, [3] data */
    RS_EV_MEMFD,      /* dt 356 num: [0] flags; res; strings: name */
    RS_EV_MODULE,     /* dt 603 num: [0] syscall nr, [1] flags, [2] fd (finit); res;
                       * strings: ko file, cwd */
    RS_EV_PRIV,       /* dt 604 num: [0] old uid, [1] old euid, [2] syscall nr,
                       *        [3] old effective caps, [4] new effective caps; res */
    RS_EV_PRIV_ESC,   /* dt 611 num: [0] parent tgid, [1..4] parent cred, [5..8] own cred;
                       *        each cred word pair packs uid|euid<<32, suid|fsuid<<32,
                       *        gid|egid<<32, sgid|fsgid<<32 */
    RS_EV_MOUNT,      /* dt 165 num: [0] flags; res; strings: dev, dir, fstype */
    RS_EV_PRCTL,      /* dt 157 num: [0] option; strings: new name */
    RS_EV_SETSID,     /* dt 112 res (the new session id or -errno) */
    RS_EV_KILL,       /* dt 62  num: [0] target pid, [1] signal; res */
    RS_EV__COUNT,
};

/* File kinds of stdin/stdout (execve num[0]). */
enum rs_fd_kind {
    RS_FD_NONE = 0,
    RS_FD_FILE = 1,
    RS_FD_PIPE = 2,
    RS_FD_SOCKET = 3,
    RS_FD_CHAR = 4,
    RS_FD_OTHER = 5,
};

/* Record flags. */
#define RS_F_ARGV_TRUNCATED 0x01u /* argv longer than what the kernel side copies */
#define RS_F_EXE_TRUNCATED  0x02u /* exe path longer than the per-process cache holds */
#define RS_F_PATH_TRUNCATED 0x04u /* a dentry walk stopped at its depth limit */
#define RS_F_EXE_CACHED     0x08u /* exe left out: the same as in this process' earlier record */
#define RS_F_HOST_UTS       0x10u /* nodename left out: the host's (initial UTS namespace) */
#define RS_F_ENV_TRUNCATED                                                                         \
    0x20u /* execve: the environment is larger than RS_ENV_SCAN (or                                \
           * unreadable); LD_PRELOAD and SSH_CONNECTION were looked for                            \
           * in its first RS_ENV_SCAN bytes only */

/* Inode numbers of the initial namespaces (fixed by the kernel: PROC_*_INIT_INO). */
#define RS_INIT_UTS_INO 0xEFFFFFFEu
#define RS_INIT_PID_INO 0xEFFFFFFCu

#define RS_NUM_ARGS   12
#define RS_MAX_ARGV   2048 /* argv bytes copied by the kernel side; the plugin reads the rest */
#define RS_MAX_PATH   512  /* a path string */
#define RS_MAX_EXE    256  /* the exe path cached per process */
#define RS_MAX_ENVVAL 256  /* LD_PRELOAD, SSH_CONNECTION values */
#define RS_ENV_SCAN   8192 /* environment bytes the kernel side scans (a power of two) */
#define RS_MAX_RECORD 16384

/* Socket tuple: ports in host order, addresses in network order (IPv4 in the first 4
 * bytes). family 0 = no socket. s* is the local end, d* the peer. */
struct rs_sock {
    __u16 family;
    __u16 sport;
    __u16 dport;
    __u16 _pad;
    __u8 saddr[16];
    __u8 daddr[16];
};

struct rs_event {
    __u32 size;      /* whole record, strings included */
    __u16 data_type; /* Elkeid data_type */
    __u8 ev;         /* enum rs_ev */
    __u8 flags;      /* RS_F_* */
    __u64 ts;        /* CLOCK_BOOTTIME ns */
    __u32 pid;       /* thread id */
    __u32 tgid;      /* process id */
    __u32 ppid;      /* real parent's tgid */
    __u32 pgid;
    __u32 sid;
    __u32 uid;
    __u32 euid;
    __u32 sessionid; /* audit session id */
    __u32 pns;       /* inum of the task's pid namespace */
    __u32 root_pns;  /* inum of the initial pid namespace */
    __u32 mntns;     /* inum of the mount namespace */
    __u32 nstr;      /* strings that follow */
    __u64 cgroup_id; /* cgroup v2 id (inode of the cgroup directory) */
    __s64 res;       /* syscall result where the type has one */
    char comm[16];
    __u64 num[RS_NUM_ARGS];
    struct rs_sock sock;
};

/* Counters per event type (per-CPU array, key = enum rs_ev). */
struct rs_counters {
    __u64 events;   /* records written */
    __u64 rb_drops; /* ring buffer full */
    __u64 rl_drops; /* per-exe rate limit */
    __u64 filtered; /* exe allow/deny lists */
};

/* Value of the per-exe rate limiter. */
struct rs_rate {
    __u64 window_start; /* ns */
    __u32 count;
    __u32 _pad;
};

/* Anti-rootkit: one line per task the task iterator saw. */
struct rs_task_seen {
    __u32 tgid;
    __u32 pid;
    __u32 ppid;
    __u32 _pad;
    char comm[16];
};

#endif
