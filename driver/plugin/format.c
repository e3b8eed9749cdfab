#include "format.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RS_AF_INET  2
#define RS_AF_INET6 10

void format_addr(uint16_t family, const uint8_t addr[16], char *out, size_t outlen)
{
    if (family == RS_AF_INET) {
        if (!inet_ntop(AF_INET, addr, out, (socklen_t)outlen))
            snprintf(out, outlen, "-");
    } else if (family == RS_AF_INET6) {
        if (!inet_ntop(AF_INET6, addr, out, (socklen_t)outlen))
            snprintf(out, outlen, "-");
    } else {
        snprintf(out, outlen, "-");
    }
}

void format_cred(const __u64 w[4], char *out, size_t outlen)
{
    snprintf(out, outlen, "%u|%u|%u|%u|%u|%u|%u|%u", (unsigned)w[0], (unsigned)(w[0] >> 32),
             (unsigned)w[1], (unsigned)(w[1] >> 32), (unsigned)w[2], (unsigned)(w[2] >> 32),
             (unsigned)w[3], (unsigned)(w[3] >> 32));
}

int dns_question(const uint8_t *p, size_t n, char *name, size_t cap, uint16_t *qtype)
{
    size_t i = 0, o = 0;
    if (cap < 2)
        return -EINVAL;
    for (;;) {
        if (i >= n)
            return -EINVAL;
        uint8_t l = p[i++];
        if (l == 0)
            break;
        if (l > 63 || i + l > n)
            return -EINVAL; /* a compression pointer or a label past the end */
        if (o && o + 1 < cap)
            name[o++] = '.';
        for (uint8_t k = 0; k < l; k++) {
            unsigned char c = p[i + k];
            if (o + 1 < cap)
                name[o++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
        }
        i += l;
        if (o > 253)
            return -EINVAL;
    }
    name[o] = '\0';
    if (i + 2 > n)
        return -EINVAL;
    *qtype = (uint16_t)(p[i] << 8 | p[i + 1]);
    return 0;
}

static void add_str(rp_record_t *r, const char *key, event_str_t s)
{
    if (s.len)
        rp_record_addn(r, key, s.p, s.len);
    else
        rp_record_add(r, key, "-");
}

static void add_sock(rp_record_t *r, const struct rs_sock *s, bool peer, bool local)
{
    char buf[INET6_ADDRSTRLEN + 1];
    rp_record_add_uint(r, "sa_family", s->family);
    if (peer) {
        format_addr(s->family, s->daddr, buf, sizeof(buf));
        rp_record_add(r, "dip", buf);
        if (s->family)
            rp_record_add_uint(r, "dport", s->dport);
        else
            rp_record_add(r, "dport", "-");
    }
    if (local) {
        format_addr(s->family, s->saddr, buf, sizeof(buf));
        rp_record_add(r, "sip", buf);
        if (s->family)
            rp_record_add_uint(r, "sport", s->sport);
        else
            rp_record_add(r, "sport", "-");
    }
}

static void add_dev(rp_record_t *r, const char *key, uint64_t kdev)
{
    /* kernel dev_t: major in the high 12 bits of 32, minor in the low 20 */
    rp_record_addf(r, key, "%u:%u", (unsigned)(kdev >> 20), (unsigned)(kdev & 0xfffff));
}

/* base dir + name of a path argument ("" base = absolute name). */
static void add_joined(rp_record_t *r, const char *key, event_str_t dir, event_str_t name)
{
    if (!dir.len) {
        add_str(r, key, name);
        return;
    }
    const char *n = name.p;
    size_t nl = name.len;
    while (nl >= 2 && n[0] == '.' && n[1] == '/') {
        n += 2;
        nl -= 2;
    }
    bool slash = dir.len && dir.p[dir.len - 1] == '/';
    rp_record_addf(r, key, "%.*s%s%.*s", (int)dir.len, dir.p, slash ? "" : "/", (int)nl, n);
}

static const char *fd_kind_name(unsigned kind)
{
    switch (kind) {
    case RS_FD_SOCKET:
        return "socket";
    case RS_FD_PIPE:
        return "pipe";
    default:
        return NULL;
    }
}

static void add_stdio(rp_record_t *r, const char *key, unsigned kind, uint64_t ino,
                      event_str_t path)
{
    const char *k = fd_kind_name(kind);
    if (k)
        rp_record_addf(r, key, "%s:[%llu]", k, (unsigned long long)ino);
    else if (path.len)
        rp_record_addn(r, key, path.p, path.len);
    else
        rp_record_add(r, key, "-");
}

static const char *syscall_name(uint64_t nr)
{
    switch (nr) {
    case 105:
        return "setuid";
    case 113:
        return "setreuid";
    case 117:
        return "setresuid";
    case 122:
        return "setfsuid";
    case 126:
        return "capset";
    case 175:
        return "init_module";
    case 313:
        return "finit_module";
    }
    return "-";
}

/* LD_PRELOAD and SSH_CONNECTION: the kernel side looks for them in the first RS_ENV_SCAN bytes
 * of the environment; past that (RS_F_ENV_TRUNCATED) a variable it did not find is looked up
 * in /proc/<pid>/environ while the process is still there. */
static void add_env(rp_record_t *r, const char *key, const char *var, const event_t *ev,
                    unsigned idx, enrich_t *en)
{
    event_str_t s = event_str(ev, idx);
    if (!s.len && (ev->h->flags & RS_F_ENV_TRUNCATED)) {
        char *v = procs_read_env(en->procs, ev->h->tgid, var);
        if (v && *v) {
            rp_record_add(r, key, v);
            free(v);
            return;
        }
        free(v);
    }
    add_str(r, key, s);
}

static void add_private(const event_t *ev, enrich_t *en, rp_record_t *r)
{
    const struct rs_event *h = ev->h;
    const __u64 *num = h->num;
    char buf[256];
    switch (h->ev) {
    case RS_EV_EXECVE: {
        event_str_t argv = event_str(ev, EV_S_ARG0);
        char *full = procs_join_argv(argv.p, argv.len);
        if (h->flags & RS_F_ARGV_TRUNCATED) {
            char *cmd = procs_read_cmdline(en->procs, h->tgid);
            if (cmd && strncmp(cmd, full, strlen(full)) == 0) {
                free(full);
                full = cmd;
            } else {
                free(cmd);
            }
        }
        rp_record_add(r, "argv", full);
        free(full);
        add_str(r, "run_path", event_str(ev, EV_S_ARG0 + 1));
        add_str(r, "tty", event_str(ev, EV_S_ARG0 + 2));
        add_stdio(r, "stdin", num[0] & 0xff, num[1], event_str(ev, EV_S_ARG0 + 3));
        add_stdio(r, "stdout", (num[0] >> 8) & 0xff, num[2], event_str(ev, EV_S_ARG0 + 4));
        add_sock(r, &h->sock, true, true);
        add_env(r, "ld_preload", "LD_PRELOAD", ev, EV_S_ARG0 + 5, en);
        add_env(r, "ssh", "SSH_CONNECTION", ev, EV_S_ARG0 + 6, en);
        /* the kernel side scanned only the first RS_ENV_SCAN bytes of the environment: what it
         * did not find there came from /proc, which a process that exits at once escapes */
        rp_record_add(r, "env_truncated", (h->flags & RS_F_ENV_TRUNCATED) ? "1" : "0");
        rp_record_add_int(r, "res", h->res);
        break;
    }
    case RS_EV_EXIT:
        rp_record_add_uint(r, "exit_code", num[0]);
        break;
    case RS_EV_CONNECT:
    case RS_EV_ACCEPT:
        add_sock(r, &h->sock, true, true);
        rp_record_add_int(r, "res", h->res);
        break;
    case RS_EV_BIND:
        add_sock(r, &h->sock, false, true);
        rp_record_add_int(r, "res", h->res);
        break;
    case RS_EV_DNS: {
        event_str_t q = event_str(ev, EV_S_ARG0);
        uint16_t qtype = 0;
        if (dns_question((const uint8_t *)q.p, q.len, buf, sizeof(buf), &qtype) == 0) {
            rp_record_add(r, "query", buf);
            rp_record_add_uint(r, "qtype", qtype);
        } else {
            rp_record_add(r, "query", "-");
            rp_record_add(r, "qtype", "-");
        }
        rp_record_add_uint(r, "opcode", num[1]);
        rp_record_add_uint(r, "rcode", num[2] & 0xf);
        rp_record_add_uint(r, "query_id", num[3]);
        add_sock(r, &h->sock, true, true);
        rp_record_add_int(r, "res", h->res);
        break;
    }
    case RS_EV_CREATE:
        add_str(r, "file_path", event_str(ev, EV_S_ARG0));
        add_dev(r, "sb_id", num[0]);
        rp_record_addf(r, "mode", "%llo", (unsigned long long)(num[1] & 07777));
        rp_record_add_uint(r, "ino", num[2]);
        add_sock(r, &h->sock, true, true);
        break;
    case RS_EV_RENAME:
    case RS_EV_LINK:
        add_joined(r, "old_name", event_str(ev, EV_S_ARG0), event_str(ev, EV_S_ARG0 + 1));
        add_joined(r, "new_name", event_str(ev, EV_S_ARG0 + 2), event_str(ev, EV_S_ARG0 + 3));
        add_dev(r, "sb_id", num[0]);
        rp_record_add_uint(r, "flags", num[1]);
        break;
    case RS_EV_UNLINK:
        add_joined(r, "file", event_str(ev, EV_S_ARG0), event_str(ev, EV_S_ARG0 + 1));
        add_dev(r, "sb_id", num[0]);
        rp_record_add_uint(r, "flags", num[1]);
        break;
    case RS_EV_PTRACE:
        rp_record_add_uint(r, "ptrace_request", num[0]);
        rp_record_add_int(r, "target_pid", (int32_t)num[1]);
        rp_record_addf(r, "addr", "0x%llx", (unsigned long long)num[2]);
        rp_record_addf(r, "data", "0x%llx", (unsigned long long)num[3]);
        rp_record_add_int(r, "res", h->res);
        break;
    case RS_EV_MEMFD:
        add_str(r, "fdname", event_str(ev, EV_S_ARG0));
        rp_record_add_uint(r, "flags", num[0]);
        rp_record_add_int(r, "res", h->res);
        break;
    case RS_EV_MODULE:
        add_str(r, "ko_file", event_str(ev, EV_S_ARG0));
        add_str(r, "run_path", event_str(ev, EV_S_ARG0 + 1));
        rp_record_add(r, "syscall", syscall_name(num[0]));
        rp_record_add_uint(r, "flags", num[1]);
        rp_record_add_int(r, "res", h->res);
        break;
    case RS_EV_PRIV:
        rp_record_add_uint(r, "old_uid", (uint32_t)num[0]);
        rp_record_add_uint(r, "old_euid", (uint32_t)num[1]);
        rp_record_add(r, "old_username", users_name(en->users, (uint32_t)num[0]));
        rp_record_add(r, "syscall", syscall_name(num[2]));
        rp_record_addf(r, "old_caps", "0x%llx", (unsigned long long)num[3]);
        rp_record_addf(r, "new_caps", "0x%llx", (unsigned long long)num[4]);
        rp_record_add_int(r, "res", h->res);
        break;
    case RS_EV_PRIV_ESC:
        rp_record_add_uint(r, "p_pid", (uint32_t)num[0]);
        format_cred(&num[1], buf, sizeof(buf));
        rp_record_add(r, "p_cred", buf);
        format_cred(&num[5], buf, sizeof(buf));
        rp_record_add(r, "c_cred", buf);
        break;
    case RS_EV_MOUNT:
        add_str(r, "dev", event_str(ev, EV_S_ARG0));
        add_str(r, "file_path", event_str(ev, EV_S_ARG0 + 1));
        add_str(r, "fstype", event_str(ev, EV_S_ARG0 + 2));
        rp_record_add_uint(r, "flags", num[0]);
        rp_record_add_int(r, "res", h->res);
        break;
    case RS_EV_PRCTL:
        rp_record_add_uint(r, "option", num[0]);
        add_str(r, "new_name", event_str(ev, EV_S_ARG0));
        rp_record_add_int(r, "res", h->res);
        break;
    case RS_EV_SETSID:
        rp_record_add_int(r, "res", h->res);
        break;
    case RS_EV_KILL:
        rp_record_add_int(r, "target_pid", (int32_t)num[0]);
        rp_record_add_uint(r, "sig", num[1]);
        rp_record_add_int(r, "res", h->res);
        break;
    }
}

static void add_enrichment(const event_t *ev, enrich_t *en, rp_record_t *r)
{
    const struct rs_event *h = ev->h;
    char buf[1024];
    if (h->ev != RS_EV_EXECVE) {
        const proc_t *self = procs_get(en->procs, h->tgid);
        rp_record_add(r, "argv", self ? self->argv : "-");
    }
    const proc_t *pp = procs_get(en->procs, h->ppid);
    rp_record_add(r, "ppid_argv", pp && pp->argv[0] ? pp->argv : "-");
    const proc_t *pg = h->pgid ? procs_get(en->procs, h->pgid) : NULL;
    rp_record_add(r, "pgid_argv", pg && pg->argv[0] ? pg->argv : "-");
    const char *user = users_name(en->users, h->uid);
    rp_record_add(r, "username", user[0] ? user : "-");
    const char *hash = NULL;
    if (en->exe) {
        snprintf(buf, sizeof(buf), "%s/%u/exe", en->proc_root, h->tgid);
        hash = exehash_of(en->exe, buf);
    }
    rp_record_add(r, "exe_hash", hash ? hash : "-");
    procs_tree(en->procs, h->tgid, buf, sizeof(buf));
    rp_record_add(r, "pid_tree", buf[0] ? buf : "-");
    const container_t *ct = containers_lookup(en->containers, h->cgroup_id, h->tgid);
    rp_record_add(r, "container_id", ct->id[0] ? ct->id : "-");
    rp_record_add(r, "container_name", ct->name[0] ? ct->name : "-");
    rp_record_add(r, "container_runtime", ct->runtime[0] ? ct->runtime : "-");
    rp_record_add(r, "pod_uid", ct->pod_uid[0] ? ct->pod_uid : "-");
}

void format_event(const event_t *ev, enrich_t *en, rp_record_t *r)
{
    const struct rs_event *h = ev->h;
    rp_record_begin(r, h->data_type);
    char comm[17];
    memcpy(comm, h->comm, 16);
    comm[16] = '\0';
    event_str_t exe = event_str(ev, EV_S_EXE);
    if (h->ev == RS_EV_EXECVE) {
        event_str_t argv = event_str(ev, EV_S_ARG0);
        procs_exec(en->procs, h->tgid, h->ppid, comm, argv.p, argv.len, exe.p, exe.len);
    } else {
        procs_note(en->procs, h->tgid, h->ppid, comm);
        if (exe.len)
            procs_set_exe(en->procs, h->tgid, exe.p, exe.len);
    }
    if (!exe.len) {
        /* left out by the sensor: this process' exe from the table */
        const proc_t *self = procs_get(en->procs, h->tgid);
        exe.p = self ? self->exe : "";
        exe.len = strlen(exe.p);
    }
    rp_record_add_uint(r, "uid", h->uid);
    rp_record_add_uint(r, "euid", h->euid);
    add_str(r, "exe", exe);
    rp_record_add_uint(r, "pid", h->pid);
    rp_record_add_uint(r, "ppid", h->ppid);
    rp_record_add_uint(r, "pgid", h->pgid);
    rp_record_add_uint(r, "tgid", h->tgid);
    rp_record_add_uint(r, "sid", h->sid);
    rp_record_add(r, "comm", comm);
    if (h->flags & RS_F_HOST_UTS)
        rp_record_add(r, "nodename", en->host_nodename);
    else
        add_str(r, "nodename", event_str(ev, EV_S_NODENAME));
    rp_record_add_uint(r, "sessionid", h->sessionid);
    rp_record_add_uint(r, "pns", h->pns);
    rp_record_add_uint(r, "root_pns", h->root_pns);
    rp_record_add_uint(r, "mntns", h->mntns);
    rp_record_add_uint(r, "cgroup_id", h->cgroup_id);
    rp_record_add_uint(r, "time_ns", h->ts);
    add_private(ev, en, r);
    add_enrichment(ev, en, r);
    if (h->ev == RS_EV_EXIT)
        procs_exit(en->procs, h->tgid);
}
