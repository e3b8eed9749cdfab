#include "process.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "textfile.h"

int process_parse_stat(const char *text, size_t len, process_stat_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *open = memchr(text, '(', len);
    const char *close = NULL;
    for (size_t i = len; i > 0; i--) {
        if (text[i - 1] == ')') {
            close = text + i - 1;
            break;
        }
    }
    if (!open || !close || close < open)
        return -EINVAL;
    char *end;
    long pid = strtol(text, &end, 10);
    if (end == text || pid <= 0 || pid > INT_MAX)
        return -EINVAL;
    out->pid = (int)pid;
    size_t clen = (size_t)(close - open - 1);
    if (clen >= sizeof(out->comm))
        clen = sizeof(out->comm) - 1;
    memcpy(out->comm, open + 1, clen);
    out->comm[clen] = '\0';

    /* Fields 3.. after ") ". Copy to a bounded NUL-terminated buffer for strtoull. */
    char rest[1024];
    size_t rlen = (size_t)(text + len - (close + 1));
    if (rlen >= sizeof(rest))
        rlen = sizeof(rest) - 1;
    memcpy(rest, close + 1, rlen);
    rest[rlen] = '\0';
    char *p = rest;
    while (*p == ' ')
        p++;
    if (!*p)
        return -EINVAL;
    out->state = *p++;
    /* values for fields 4..24 */
    unsigned long long v[25] = {0};
    int field = 4;
    while (field <= 24) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        errno = 0;
        long long sv = strtoll(p, &end, 10);
        if (end == p)
            return -EINVAL;
        v[field] = (unsigned long long)sv;
        p = end;
        field++;
    }
    if (field <= 22) /* need at least up to starttime */
        return -EINVAL;
    out->ppid = (int)v[4];
    out->pgid = (int)v[5];
    out->sid = (int)v[6];
    out->tty = (int)v[7];
    out->flags = (unsigned long)v[9];
    out->threads = (long)v[20];
    out->start_ticks = v[22];
    out->rss_pages = field > 24 ? v[24] : 0;
    return 0;
}

static int parse_ids(const char *s, size_t n, long ids[4])
{
    char buf[128];
    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *p = buf;
    for (int i = 0; i < 4; i++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            return -EINVAL;
        ids[i] = v;
        p = end;
    }
    return 0;
}

int process_parse_status(const char *text, size_t len, process_status_t *out)
{
    memset(out, 0, sizeof(*out));
    bool uid = false, gid = false;
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, 512);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        if (text_starts(l, n, "Uid:"))
            uid = parse_ids(l + 4, n - 4, out->uid) == 0;
        else if (text_starts(l, n, "Gid:"))
            gid = parse_ids(l + 4, n - 4, out->gid) == 0;
    }
    return uid && gid ? 0 : -EINVAL;
}

size_t process_join_cmdline(const char *raw, size_t len, char *out, size_t outsz)
{
    if (outsz == 0)
        return 0;
    while (len > 0 && raw[len - 1] == '\0')
        len--;
    size_t n = len < outsz - 1 ? len : outsz - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = raw[i] == '\0' ? ' ' : raw[i];
    out[n] = '\0';
    return n;
}

int64_t process_parse_btime(const char *text, size_t len)
{
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, 256);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        if (text_starts(l, n, "btime ")) {
            char buf[32];
            size_t k = n - 6 < sizeof(buf) - 1 ? n - 6 : sizeof(buf) - 1;
            memcpy(buf, l + 6, k);
            buf[k] = '\0';
            char *end;
            long long v = strtoll(buf, &end, 10);
            return end == buf ? -1 : (int64_t)v;
        }
    }
    return -1;
}

uint64_t process_ns_inode(const char *link)
{
    const char *b = strchr(link, '[');
    if (!b)
        return 0;
    char *end;
    unsigned long long v = strtoull(b + 1, &end, 10);
    return *end == ']' ? (uint64_t)v : 0;
}

static void add_link(asset_t *a, const char *key, const char *path)
{
    char buf[PATH_MAX];
    ssize_t k = readlink(path, buf, sizeof(buf) - 1);
    asset_addn(a, key, buf, k > 0 ? (size_t)k : 0);
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

int process_collect(const char *proc_root, const user_map_t *users, asset_set_t *out)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/stat", proc_root);
    size_t len;
    char *txt = textfile_read(path, 1 << 20, &len);
    int64_t btime = txt ? process_parse_btime(txt, len) : -1;
    free(txt);
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    long page_kib = sysconf(_SC_PAGESIZE) / 1024;

    DIR *d = opendir(proc_root);
    if (!d)
        return -errno;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!all_digits(de->d_name))
            continue;
        process_stat_t st;
        process_status_t ss;
        snprintf(path, sizeof(path), "%s/%s/stat", proc_root, de->d_name);
        txt = textfile_read(path, 4096, &len);
        if (!txt)
            continue; /* exited meanwhile */
        int rc = process_parse_stat(txt, len, &st);
        free(txt);
        if (rc < 0 || (st.flags & PF_KTHREAD_FLAG))
            continue;
        snprintf(path, sizeof(path), "%s/%s/status", proc_root, de->d_name);
        txt = textfile_read(path, 64 * 1024, &len);
        if (!txt)
            continue;
        rc = process_parse_status(txt, len, &ss);
        free(txt);
        if (rc < 0)
            continue;

        asset_t *a = asset_set_add(out);
        asset_addf(a, "pid", "%d", st.pid);
        asset_addf(a, "ppid", "%d", st.ppid);
        asset_addf(a, "pgid", "%d", st.pgid);
        asset_addf(a, "sid", "%d", st.sid);
        asset_addf(a, "tty", "%d", st.tty);
        asset_add(a, "comm", st.comm);
        asset_addf(a, "state", "%c", st.state);
        snprintf(path, sizeof(path), "%s/%s/exe", proc_root, de->d_name);
        add_link(a, "exe", path);
        snprintf(path, sizeof(path), "%s/%s/cwd", proc_root, de->d_name);
        add_link(a, "cwd", path);
        snprintf(path, sizeof(path), "%s/%s/cmdline", proc_root, de->d_name);
        txt = textfile_read(path, ASSET_MAX_VALUE, &len);
        char cmd[ASSET_MAX_VALUE + 1];
        size_t clen = txt ? process_join_cmdline(txt, len, cmd, sizeof(cmd)) : 0;
        free(txt);
        asset_addn(a, "cmdline", cmd, clen);
        asset_addf(a, "ruid", "%ld", ss.uid[0]);
        asset_addf(a, "euid", "%ld", ss.uid[1]);
        asset_addf(a, "rgid", "%ld", ss.gid[0]);
        asset_addf(a, "egid", "%ld", ss.gid[1]);
        asset_add(a, "uid", asset_get(a, "ruid"));
        asset_add(a, "username", user_map_name(users, ss.uid[0]));
        asset_add(a, "eusername", user_map_name(users, ss.uid[1]));
        if (btime >= 0)
            asset_addf(a, "start_time", "%" PRId64,
                       btime + (int64_t)(st.start_ticks / (uint64_t)hz));
        asset_addf(a, "threads", "%ld", st.threads);
        asset_addf(a, "rss_kib", "%" PRIu64, st.rss_pages * (uint64_t)page_kib);
        char link[128];
        snprintf(path, sizeof(path), "%s/%s/ns/pid", proc_root, de->d_name);
        ssize_t k = readlink(path, link, sizeof(link) - 1);
        link[k > 0 ? k : 0] = '\0';
        uint64_t pns = process_ns_inode(link);
        if (pns)
            asset_addf(a, "pns", "%" PRIu64, pns);
        snprintf(path, sizeof(path), "%s/%s/cgroup", proc_root, de->d_name);
        txt = textfile_read(path, 64 * 1024, &len);
        container_ref_t ref;
        if (txt && container_from_cgroup(txt, len, &ref)) {
            asset_add(a, "container_id", ref.id);
            asset_add(a, "container_runtime", ref.runtime);
        }
        free(txt);
    }
    closedir(d);
    return 0;
}
