#include "manager/console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

#define FILE_MAX (32 << 20)

struct console {
    char root[PATH_MAX];
    long max_age;
};

const char *console_mime(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".woff", "font/woff"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

console_t *console_new(const char *dir, long max_age_s)
{
    if (!dir || !*dir)
        return NULL;
    console_t *c = xcalloc(1, sizeof(*c));
    struct stat st;
    if (!realpath(dir, c->root) || stat(c->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        LOG_WARN("console_missing", "dir=%s reason=\"not a directory\"", dir);
        free(c);
        return NULL;
    }
    c->max_age = max_age_s;
    return c;
}

void console_free(console_t *c)
{
    free(c);
}

/* Reads a regular file under root; NULL when it is not one (or too large). */
static char *read_under(const console_t *c, const char *rel, size_t *len, char *resolved)
{
    char full[PATH_MAX * 2];
    snprintf(full, sizeof(full), "%s/%s", c->root, rel);
    if (!realpath(full, resolved))
        return NULL;
    size_t rl = strlen(c->root);
    if (strncmp(resolved, c->root, rl) != 0 || resolved[rl] != '/')
        return NULL;
    int fd = open(resolved, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= FILE_MAX) {
        buf = xmalloc((size_t)st.st_size + 1);
        ssize_t n = read(fd, buf, (size_t)st.st_size);
        if (n != st.st_size) {
            free(buf);
            buf = NULL;
        } else {
            *len = (size_t)n;
        }
    }
    close(fd);
    return buf;
}

static bool path_ok(const char *p)
{
    if (strchr(p, '\\') || strstr(p, "//"))
        return false;
    for (const char *s = p; *s;) {
        while (*s == '/')
            s++;
        size_t n = strcspn(s, "/");
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        if (n > 0 && s[0] == '.')
            return false; /* no hidden files */
        s += n;
    }
    return true;
}

static void serve(http_request_t *req, void *ud)
{
    console_t *c = ud;
    const char *path = http_request_path(req);
    if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0) {
        char q[160];
        http_respond_error(req, 404, "not_found", "no such resource: %s",
                           log_quote(q, sizeof(q), path));
        return;
    }
    if (!path_ok(path)) {
        http_respond_error(req, 404, "not_found", "no such file");
        return;
    }
    const char *rel = path[0] == '/' ? path + 1 : path;
    if (!*rel)
        rel = "index.html";
    char resolved[PATH_MAX];
    size_t len = 0;
    char *body = read_under(c, rel, &len, resolved);
    const char *last = strrchr(path, '/');
    bool spa = !body && !strchr(last ? last : path, '.');
    if (spa)
        body = read_under(c, "index.html", &len, resolved);
    if (!body) {
        http_respond_error(req, 404, "not_found", "no such file");
        return;
    }
    const char *base = strrchr(resolved, '/');
    bool index = base && strcmp(base, "/index.html") == 0;
    char cache[64];
    if (index)
        snprintf(cache, sizeof(cache), "no-cache");
    else
        snprintf(cache, sizeof(cache), "public, max-age=%ld", c->max_age);
    http_response_header(req, "Cache-Control", cache);
    http_response_header(req, "X-Content-Type-Options", "nosniff");
    if (index)
        http_response_header(req, "Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                             "frame-ancestors 'none'");
    http_respond_raw(req, 200, console_mime(resolved), body, len);
    free(body);
}

int console_install(console_t *c, http_server_t *srv)
{
    if (http_server_route(srv, "GET", "/", serve, c, 0) < 0)
        return -EINVAL;
    char pattern[256] = "";
    for (int d = 0; d < CONSOLE_DEPTH; d++) {
        snprintf(pattern + strlen(pattern), sizeof(pattern) - strlen(pattern), "/{s%d}", d);
        if (http_server_route(srv, "GET", pattern, serve, c, 0) < 0)
            return -EINVAL;
    }
    return 0;
}
