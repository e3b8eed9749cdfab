#include "procs.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "u64map.h"

#define PROCS_SWEEP_AT 65536

struct procs {
    u64map_t *map;
    char *root;
};

static void proc_free(void *v)
{
    proc_t *pr = v;
    if (!pr)
        return;
    free(pr->argv);
    free(pr->exe);
    free(pr);
}

procs_t *procs_new(const char *proc_root)
{
    procs_t *p = xcalloc(1, sizeof(*p));
    p->map = u64map_new();
    p->root = xstrdup(proc_root ? proc_root : "/proc");
    return p;
}

void procs_free(procs_t *p)
{
    if (!p)
        return;
    u64map_free(p->map, proc_free);
    free(p->root);
    free(p);
}

size_t procs_count(const procs_t *p)
{
    return u64map_len(p->map);
}

char *procs_join_argv(const char *argv, size_t len)
{
    while (len && argv[len - 1] == '\0')
        len--;
    char *s = xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        s[i] = argv[i] ? argv[i] : ' ';
    s[len] = '\0';
    return s;
}

static int sweep_dead(uint64_t key, void *val, void *ctx)
{
    const procs_t *p = ctx;
    char path[64];
    snprintf(path, sizeof(path), "%s/%u", p->root, (unsigned)key);
    if (access(path, F_OK) == 0)
        return 0;
    proc_free(val);
    return 1;
}

static void put(procs_t *p, proc_t *pr)
{
    if (u64map_len(p->map) >= PROCS_SWEEP_AT)
        u64map_sweep(p->map, sweep_dead, p);
    proc_free(u64map_put(p->map, pr->tgid, pr));
}

void procs_exec(procs_t *p, uint32_t tgid, uint32_t ppid, const char *comm, const char *argv,
                size_t argv_len, const char *exe, size_t exe_len)
{
    proc_t *pr = xcalloc(1, sizeof(*pr));
    pr->tgid = tgid;
    pr->ppid = ppid;
    snprintf(pr->comm, sizeof(pr->comm), "%s", comm);
    pr->argv = procs_join_argv(argv, argv_len);
    pr->exe = xstrndup(exe, exe_len);
    put(p, pr);
}

void procs_set_exe(procs_t *p, uint32_t tgid, const char *exe, size_t exe_len)
{
    proc_t *pr = u64map_get(p->map, tgid);
    if (!pr || (strlen(pr->exe) == exe_len && memcmp(pr->exe, exe, exe_len) == 0))
        return;
    free(pr->exe);
    pr->exe = xstrndup(exe, exe_len);
}

static char *read_exe(const procs_t *p, uint32_t tgid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "%s/%u/exe", p->root, tgid);
    ssize_t n = readlink(path, buf, sizeof(buf) - 1);
    if (n <= 0)
        return xstrdup("");
    buf[n] = '\0';
    /* an exe replaced or removed since the exec */
    static const char deleted[] = " (deleted)";
    size_t dl = sizeof(deleted) - 1;
    if ((size_t)n > dl && strcmp(buf + n - dl, deleted) == 0)
        buf[n - dl] = '\0';
    return xstrdup(buf);
}

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    return (ssize_t)n;
}

char *procs_read_cmdline(const procs_t *p, uint32_t tgid)
{
    char path[64];
    snprintf(path, sizeof(path), "%s/%u/cmdline", p->root, tgid);
    char *buf = xmalloc(PROCS_MAX_ARGV);
    ssize_t n = read_file(path, buf, PROCS_MAX_ARGV);
    char *s = n > 0 ? procs_join_argv(buf, (size_t)n) : NULL;
    free(buf);
    return s;
}

char *procs_read_env(const procs_t *p, uint32_t tgid, const char *name)
{
    char path[64];
    snprintf(path, sizeof(path), "%s/%u/environ", p->root, tgid);
    char *buf = xmalloc(PROCS_MAX_ENV);
    ssize_t n = read_file(path, buf, PROCS_MAX_ENV);
    size_t nlen = strlen(name);
    const char *val = NULL;
    size_t vlen = 0;
    for (ssize_t i = 0; i < n;) {
        const char *var = buf + i;
        size_t len = strnlen(var, (size_t)(n - i));
        if (len > nlen && memcmp(var, name, nlen) == 0 && var[nlen] == '=') {
            val = var + nlen + 1;
            vlen = len - nlen - 1;
        }
        i += (ssize_t)len + 1;
    }
    char *out = val ? xstrndup(val, vlen) : NULL;
    free(buf);
    return out;
}

/* /proc/<tgid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses. */
static int read_stat(const procs_t *p, uint32_t tgid, char comm[16], uint32_t *ppid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "%s/%u/stat", p->root, tgid);
    ssize_t n = read_file(path, buf, sizeof(buf) - 1);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *open_paren = strchr(buf, '(');
    char *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren)
        return -1;
    size_t clen = (size_t)(close_paren - open_paren - 1);
    if (clen > 15)
        clen = 15;
    memcpy(comm, open_paren + 1, clen);
    comm[clen] = '\0';
    char state;
    unsigned pp;
    if (sscanf(close_paren + 1, " %c %u", &state, &pp) != 2)
        return -1;
    *ppid = pp;
    return 0;
}

const proc_t *procs_get(procs_t *p, uint32_t tgid)
{
    proc_t *pr = u64map_get(p->map, tgid);
    if (pr)
        return pr;
    char comm[16];
    uint32_t ppid;
    if (tgid == 0 || read_stat(p, tgid, comm, &ppid) < 0)
        return NULL;
    pr = xcalloc(1, sizeof(*pr));
    pr->tgid = tgid;
    pr->ppid = ppid;
    memcpy(pr->comm, comm, sizeof(comm));
    pr->argv = procs_read_cmdline(p, tgid);
    if (!pr->argv)
        pr->argv = xstrdup("");
    pr->exe = read_exe(p, tgid);
    put(p, pr);
    return pr;
}

void procs_note(procs_t *p, uint32_t tgid, uint32_t ppid, const char *comm)
{
    if (tgid == 0 || procs_get(p, tgid))
        return;
    proc_t *pr = xcalloc(1, sizeof(*pr));
    pr->tgid = tgid;
    pr->ppid = ppid;
    snprintf(pr->comm, sizeof(pr->comm), "%s", comm);
    const proc_t *parent = ppid != tgid ? procs_get(p, ppid) : NULL;
    bool same_image = parent && strcmp(parent->comm, pr->comm) == 0;
    pr->argv = xstrdup(same_image ? parent->argv : "");
    pr->exe = xstrdup(same_image ? parent->exe : "");
    put(p, pr);
}

void procs_exit(procs_t *p, uint32_t tgid)
{
    proc_free(u64map_del(p->map, tgid));
}

void procs_tree(procs_t *p, uint32_t tgid, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (int depth = 0; depth < PROCS_TREE_DEPTH && tgid; depth++) {
        const proc_t *pr = procs_get(p, tgid);
        if (!pr)
            break;
        int n =
            snprintf(out + used, outlen - used, "%s%u.%s", depth ? "<" : "", pr->tgid, pr->comm);
        if (n < 0 || (size_t)n >= outlen - used)
            break;
        used += (size_t)n;
        if (pr->ppid == tgid)
            break;
        tgid = pr->ppid;
    }
}
