#include "user.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "textfile.h"

#define MAX_LINE 8192

/* Splits line into at most max ':'-separated fields (pointers into line, lengths). */
static size_t split_colon(const char *l, size_t n, const char **f, size_t *fl, size_t max)
{
    size_t k = 0;
    const char *start = l;
    for (size_t i = 0; i <= n && k < max; i++) {
        if (i == n || l[i] == ':') {
            f[k] = start;
            fl[k] = (size_t)(l + i - start);
            k++;
            start = l + i + 1;
        }
    }
    return k;
}

static bool parse_long(const char *s, size_t n, long *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (*end || errno)
        return false;
    *out = v;
    return true;
}

void user_map_parse(user_map_t *m, const char *text, size_t len)
{
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, MAX_LINE);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        const char *f[7];
        size_t fl[7];
        long uid;
        if (split_colon(l, n, f, fl, 7) < 3 || fl[0] == 0 || !parse_long(f[2], fl[2], &uid))
            continue;
        m->e = xrealloc(m->e, (m->n + 1) * sizeof(*m->e));
        m->e[m->n].uid = uid;
        m->e[m->n].name = xstrndup(f[0], fl[0]);
        m->n++;
    }
}

int user_map_load(user_map_t *m, const char *passwd_path)
{
    memset(m, 0, sizeof(*m));
    size_t len;
    char *txt = textfile_read(passwd_path, 16 << 20, &len);
    if (!txt)
        return -errno;
    user_map_parse(m, txt, len);
    free(txt);
    return 0;
}

const char *user_map_name(const user_map_t *m, long uid)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].uid == uid)
            return m->e[i].name;
    return "";
}

void user_map_dispose(user_map_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->e[i].name);
    free(m->e);
    memset(m, 0, sizeof(*m));
}

void user_parse_passwd(const char *text, size_t len, asset_set_t *out)
{
    static const char *const keys[7] = {"username", "password", "uid",  "gid",
                                        "info",     "home",     "shell"};
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, MAX_LINE);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        text_trim(&l, &n);
        if (n == 0 || l[0] == '#' || l[0] == '+' || l[0] == '-')
            continue; /* comments and NIS compat lines */
        const char *f[7];
        size_t fl[7];
        long id;
        if (split_colon(l, n, f, fl, 7) != 7 || fl[0] == 0 || !parse_long(f[2], fl[2], &id) ||
            !parse_long(f[3], fl[3], &id))
            continue;
        asset_t *a = asset_set_add(out);
        for (int i = 0; i < 7; i++)
            if (i != 1) /* never the password field: old systems keep the hash there */
                asset_addn(a, keys[i], f[i], fl[i]);
    }
}

const char *user_hash_algo(const char *h)
{
    while (*h == '!' || *h == '*')
        h++;
    if (!*h)
        return "";
    if (h[0] != '$')
        return strlen(h) == 13 ? "des" : "unknown";
    static const struct {
        const char *prefix, *name;
    } t[] = {{"$y$", "yescrypt"}, {"$gy$", "gost-yescrypt"}, {"$7$", "scrypt"}, {"$2a$", "bcrypt"},
             {"$2b$", "bcrypt"},  {"$2y$", "bcrypt"},        {"$6$", "sha512"}, {"$5$", "sha256"},
             {"$1$", "md5"},      {"$sha1$", "sha1"}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strncmp(h, t[i].prefix, strlen(t[i].prefix)) == 0)
            return t[i].name;
    return "unknown";
}

static asset_t *find_user(asset_set_t *users, const char *name, size_t n)
{
    for (size_t i = 0; i < users->n; i++) {
        const char *u = asset_get(&users->items[i], "username");
        if (u && strlen(u) == n && memcmp(u, name, n) == 0)
            return &users->items[i];
    }
    return NULL;
}

void user_parse_shadow(const char *text, size_t len, asset_set_t *users)
{
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, MAX_LINE);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        const char *f[9];
        size_t fl[9];
        size_t k = split_colon(l, n, f, fl, 9);
        if (k < 2 || fl[0] == 0)
            continue;
        asset_t *a = find_user(users, f[0], fl[0]);
        if (!a)
            continue;
        char hash[512];
        size_t hl = fl[1] < sizeof(hash) - 1 ? fl[1] : sizeof(hash) - 1;
        memcpy(hash, f[1], hl);
        hash[hl] = '\0';
        const char *status;
        if (hl == 0)
            status = "empty"; /* logs in with no password at all */
        else if (hash[0] == '!')
            status = "locked";
        else if (hash[0] == '*' || hash[0] == 'x' || hl < 13)
            status = "no_password"; /* cannot log in with a password */
        else
            status = "ok";
        asset_add(a, "password_status", status);
        asset_add(a, "hash_algo", user_hash_algo(hash));
        long v;
        if (k > 2 && parse_long(f[2], fl[2], &v))
            asset_addf(a, "last_change_days", "%ld", v);
        if (k > 7 && parse_long(f[7], fl[7], &v))
            asset_addf(a, "expire_days", "%ld", v);
    }
}

static void append_group(asset_t *a, const char *g, size_t gl)
{
    const char *cur = asset_get(a, "groups");
    char buf[ASSET_MAX_VALUE + 1];
    size_t cl = cur ? strlen(cur) : 0;
    /* already listed? */
    if (cur) {
        const char *p = cur;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t tl = comma ? (size_t)(comma - p) : strlen(p);
            if (tl == gl && memcmp(p, g, gl) == 0)
                return;
            p += tl + (comma ? 1 : 0);
        }
    }
    if (cl + 1 + gl > ASSET_MAX_VALUE)
        return;
    memcpy(buf, cur ? cur : "", cl);
    size_t n = cl;
    if (cl)
        buf[n++] = ',';
    memcpy(buf + n, g, gl);
    n += gl;
    asset_addn(a, "groups", buf, n);
}

void user_parse_group(const char *text, size_t len, asset_set_t *users)
{
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, 64 * 1024);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        const char *f[4];
        size_t fl[4];
        long gid;
        if (split_colon(l, n, f, fl, 4) != 4 || fl[0] == 0 || !parse_long(f[2], fl[2], &gid))
            continue;
        char gidstr[32];
        snprintf(gidstr, sizeof(gidstr), "%ld", gid);
        for (size_t i = 0; i < users->n; i++) {
            asset_t *a = &users->items[i];
            const char *ug = asset_get(a, "gid");
            if (ug && strcmp(ug, gidstr) == 0) {
                asset_addn(a, "groupname", f[0], fl[0]);
                append_group(a, f[0], fl[0]);
            }
        }
        /* members: comma-separated user names */
        const char *m = f[3];
        size_t ml = fl[3];
        while (ml > 0) {
            const char *comma = memchr(m, ',', ml);
            size_t tl = comma ? (size_t)(comma - m) : ml;
            const char *t = m;
            size_t ttl = tl;
            text_trim(&t, &ttl);
            asset_t *a = ttl ? find_user(users, t, ttl) : NULL;
            if (a)
                append_group(a, f[0], fl[0]);
            m += tl + (comma ? 1 : 0);
            ml -= tl + (comma ? 1 : 0);
        }
    }
}

void user_apply_lastlog(asset_t *a, const unsigned char *r)
{
    int32_t t = (int32_t)((uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 |
                          (uint32_t)r[3] << 24);
    if (t <= 0)
        return;
    asset_addf(a, "last_login_time", "%d", (int)t);
    asset_addn(a, "last_login_tty", (const char *)r + 4, strnlen((const char *)r + 4, 32));
    asset_addn(a, "last_login_ip", (const char *)r + 36, strnlen((const char *)r + 36, 256));
}

static bool user_uid(const asset_t *a, long *uid)
{
    const char *us = asset_get(a, "uid");
    return us && parse_long(us, strlen(us), uid) && *uid >= 0;
}

void user_parse_lastlog(const unsigned char *data, size_t len, asset_set_t *users)
{
    for (size_t i = 0; i < users->n; i++) {
        long uid;
        if (!user_uid(&users->items[i], &uid))
            continue;
        size_t off = (size_t)uid * LASTLOG_RECORD_SIZE;
        if (off / LASTLOG_RECORD_SIZE != (size_t)uid || off + LASTLOG_RECORD_SIZE > len)
            continue;
        user_apply_lastlog(&users->items[i], data + off);
    }
}

int user_collect(const char *root, asset_set_t *out)
{
    char path[4096];
    size_t len;
    snprintf(path, sizeof(path), "%s/etc/passwd", root);
    char *txt = textfile_read(path, 16 << 20, &len);
    if (!txt)
        return -errno;
    user_parse_passwd(txt, len, out);
    free(txt);
    snprintf(path, sizeof(path), "%s/etc/shadow", root);
    txt = textfile_read(path, 16 << 20, &len);
    if (txt) {
        user_parse_shadow(txt, len, out);
        free(txt);
    }
    snprintf(path, sizeof(path), "%s/etc/group", root);
    txt = textfile_read(path, 16 << 20, &len);
    if (txt) {
        user_parse_group(txt, len, out);
        free(txt);
    }
    /* lastlog is sparse and indexed by uid: one pread per user. */
    snprintf(path, sizeof(path), "%s/var/log/lastlog", root);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        for (size_t i = 0; i < out->n; i++) {
            long uid;
            unsigned char rec[LASTLOG_RECORD_SIZE];
            if (user_uid(&out->items[i], &uid) &&
                pread(fd, rec, sizeof(rec), (off_t)uid * LASTLOG_RECORD_SIZE) ==
                    (ssize_t)sizeof(rec))
                user_apply_lastlog(&out->items[i], rec);
        }
        close(fd);
    }
    return 0;
}
