#include "port.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "process.h"
#include "textfile.h"

#define TCP_LISTEN      10
#define UDP_UNCONNECTED 7

static bool hex_u32(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 8)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        int d = isdigit(c)               ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return true;
}

/* "0100007F:1F90" -> ip text and port. */
static bool parse_addr(const char *s, size_t n, int family, char *ip, int *port)
{
    const char *colon = memchr(s, ':', n);
    if (!colon)
        return false;
    size_t alen = (size_t)(colon - s);
    uint32_t p;
    if (!hex_u32(colon + 1, n - alen - 1, &p) || p > 65535)
        return false;
    *port = (int)p;
    if (family == AF_INET) {
        uint32_t w;
        if (alen != 8 || !hex_u32(s, 8, &w))
            return false;
        struct in_addr a;
        memcpy(&a, &w, 4);
        return inet_ntop(AF_INET, &a, ip, INET6_ADDRSTRLEN) != NULL;
    }
    if (alen != 32)
        return false;
    struct in6_addr a6;
    for (int i = 0; i < 4; i++) {
        uint32_t w;
        if (!hex_u32(s + 8 * i, 8, &w))
            return false;
        memcpy((uint8_t *)&a6 + 4 * i, &w, 4);
    }
    return inet_ntop(AF_INET6, &a6, ip, INET6_ADDRSTRLEN) != NULL;
}

int port_parse_line(const char *line, size_t len, int family, port_entry_t *out)
{
    memset(out, 0, sizeof(*out));
    out->family = family;
    const char *tok[10];
    size_t tl[10];
    const char *s = line;
    size_t n = len;
    for (int i = 0; i < 10; i++)
        if (!text_token(&s, &n, &tok[i], &tl[i]))
            return -EINVAL;
    /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
    if (tl[0] < 2 || tok[0][tl[0] - 1] != ':')
        return -EINVAL;
    if (!parse_addr(tok[1], tl[1], family, out->sip, &out->sport) ||
        !parse_addr(tok[2], tl[2], family, out->dip, &out->dport))
        return -EINVAL;
    uint32_t st;
    if (!hex_u32(tok[3], tl[3], &st))
        return -EINVAL;
    out->state = (int)st;
    char buf[32];
    if (tl[7] >= sizeof(buf) || tl[9] >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, tok[7], tl[7]);
    buf[tl[7]] = '\0';
    char *end;
    out->uid = strtol(buf, &end, 10);
    if (*end)
        return -EINVAL;
    memcpy(buf, tok[9], tl[9]);
    buf[tl[9]] = '\0';
    out->inode = strtoull(buf, &end, 10);
    if (*end)
        return -EINVAL;
    return 0;
}

void port_parse_table(const char *text, size_t len, int family, const char *protocol,
                      asset_set_t *out)
{
    bool tcp = strcmp(protocol, "tcp") == 0;
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, 1024);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        port_entry_t e;
        if (port_parse_line(l, n, family, &e) < 0)
            continue;
        if (tcp ? e.state != TCP_LISTEN : e.dport != 0)
            continue;
        asset_t *a = asset_set_add(out);
        asset_addf(a, "family", "%d", family);
        asset_add(a, "protocol", protocol);
        asset_add(a, "sip", e.sip);
        asset_addf(a, "sport", "%d", e.sport);
        asset_add(a, "dip", e.dip);
        asset_addf(a, "dport", "%d", e.dport);
        asset_addf(a, "state", "%d", e.state);
        asset_addf(a, "uid", "%ld", e.uid);
        asset_addf(a, "inode", "%" PRIu64, e.inode);
    }
}

typedef struct {
    uint64_t inode;
    int pid;
} inode_pid_t;

static int cmp_inode(const void *a, const void *b)
{
    uint64_t x = ((const inode_pid_t *)a)->inode, y = ((const inode_pid_t *)b)->inode;
    return x < y ? -1 : x > y;
}

/* Every socket inode held by every process (the first pid found wins). */
static inode_pid_t *socket_owners(const char *proc_root, size_t *count)
{
    inode_pid_t *v = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(proc_root);
    if (!d) {
        *count = 0;
        return NULL;
    }
    struct dirent *de;
    char path[PATH_MAX];
    while ((de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        int pid = atoi(de->d_name);
        snprintf(path, sizeof(path), "%s/%s/fd", proc_root, de->d_name);
        DIR *fdd = opendir(path);
        if (!fdd)
            continue;
        struct dirent *fe;
        while ((fe = readdir(fdd)) != NULL) {
            if (fe->d_name[0] == '.')
                continue;
            char lp[PATH_MAX + 256], target[64];
            snprintf(lp, sizeof(lp), "%s/%s", path, fe->d_name);
            ssize_t k = readlink(lp, target, sizeof(target) - 1);
            if (k <= 8)
                continue;
            target[k] = '\0';
            if (strncmp(target, "socket:[", 8) != 0)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                v = xrealloc(v, cap * sizeof(*v));
            }
            v[n].inode = strtoull(target + 8, NULL, 10);
            v[n].pid = pid;
            n++;
        }
        closedir(fdd);
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_inode);
    *count = n;
    return v;
}

int port_collect(const char *proc_root, const user_map_t *users, asset_set_t *out)
{
    static const struct {
        const char *file, *proto;
        int family;
    } tables[] = {{"tcp", "tcp", AF_INET},
                  {"tcp6", "tcp", AF_INET6},
                  {"udp", "udp", AF_INET},
                  {"udp6", "udp", AF_INET6}};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        snprintf(path, sizeof(path), "%s/net/%s", proc_root, tables[i].file);
        size_t len;
        char *txt = textfile_read(path, 64 << 20, &len);
        if (!txt)
            continue; /* no IPv6, for one */
        port_parse_table(txt, len, tables[i].family, tables[i].proto, out);
        free(txt);
    }
    size_t nown;
    inode_pid_t *own = socket_owners(proc_root, &nown);
    for (size_t i = 0; i < out->n; i++) {
        asset_t *a = &out->items[i];
        const char *uid = asset_get(a, "uid");
        asset_add(a, "username", user_map_name(users, uid ? atol(uid) : -1));
        inode_pid_t key = {.inode = strtoull(asset_get(a, "inode"), NULL, 10)};
        inode_pid_t *hit = own ? bsearch(&key, own, nown, sizeof(*own), cmp_inode) : NULL;
        if (!hit || key.inode == 0)
            continue;
        asset_addf(a, "pid", "%d", hit->pid);
        char lp[PATH_MAX], target[PATH_MAX];
        snprintf(lp, sizeof(lp), "%s/%d/exe", proc_root, hit->pid);
        ssize_t k = readlink(lp, target, sizeof(target) - 1);
        asset_addn(a, "exe", target, k > 0 ? (size_t)k : 0);
        snprintf(lp, sizeof(lp), "%s/%d/comm", proc_root, hit->pid);
        size_t len;
        char *txt = textfile_read(lp, 256, &len);
        if (txt) {
            while (len > 0 && txt[len - 1] == '\n')
                len--;
            asset_addn(a, "comm", txt, len);
            free(txt);
        }
        snprintf(lp, sizeof(lp), "%s/%d/cmdline", proc_root, hit->pid);
        txt = textfile_read(lp, ASSET_MAX_VALUE, &len);
        if (txt) {
            char cmd[ASSET_MAX_VALUE + 1];
            size_t cl = process_join_cmdline(txt, len, cmd, sizeof(cmd));
            asset_addn(a, "cmdline", cmd, cl);
            free(txt);
        }
    }
    free(own);
    return 0;
}
