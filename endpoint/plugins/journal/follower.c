#include "follower.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xalloc.h"

#define READ_CHUNK (64 * 1024)
#define POLL_MAX   (8 * 1024 * 1024) /* bytes read per poll at most: latency stays bounded */

struct follower {
    char *path;
    bool from_start;
    bool opened_once;
    int fd;
    dev_t dev;
    ino_t ino;
    off_t off;
    char line[FOLLOWER_MAX_LINE];
    size_t llen;
    bool skipping; /* inside the rest of an over-long line */
    char *chunk;
};

follower_t *follower_new(const char *path, bool from_start)
{
    follower_t *f = xcalloc(1, sizeof(*f));
    f->path = xstrdup(path);
    f->from_start = from_start;
    f->fd = -1;
    f->chunk = xmalloc(READ_CHUNK);
    return f;
}

void follower_free(follower_t *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f->chunk);
    free(f);
}

static void try_open(follower_t *f)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->off = 0;
    if (!f->opened_once && !f->from_start)
        f->off = st.st_size;
    f->opened_once = true;
    f->llen = 0;
    f->skipping = false;
}

static int feed(follower_t *f, const char *p, size_t n, follower_line_fn fn, void *ud)
{
    int lines = 0;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        if (!f->skipping) {
            size_t room = FOLLOWER_MAX_LINE - f->llen;
            size_t take = k < room ? k : room;
            memcpy(f->line + f->llen, p, take);
            f->llen += take;
            if (k > take || f->llen == FOLLOWER_MAX_LINE) {
                /* over-long: hand out what fits, skip the rest up to the newline */
                fn(ud, f->line, f->llen);
                lines++;
                f->llen = 0;
                f->skipping = true;
            }
        }
        if (nl) {
            if (!f->skipping) {
                fn(ud, f->line, f->llen);
                lines++;
            }
            f->llen = 0;
            f->skipping = false;
            k++;
        }
        p += k;
        n -= k;
    }
    return lines;
}

/* Reads from the current fd to its end (at most POLL_MAX bytes). */
static int drain(follower_t *f, follower_line_fn fn, void *ud, size_t *budget)
{
    int lines = 0;
    while (*budget > 0) {
        size_t want = *budget < READ_CHUNK ? *budget : READ_CHUNK;
        ssize_t k = pread(f->fd, f->chunk, want, f->off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            break;
        f->off += k;
        *budget -= (size_t)k;
        lines += feed(f, f->chunk, (size_t)k, fn, ud);
    }
    return lines;
}

int follower_poll(follower_t *f, follower_line_fn fn, void *ud)
{
    if (f->fd < 0)
        try_open(f);
    if (f->fd < 0)
        return 0;
    size_t budget = POLL_MAX;
    struct stat st;
    if (fstat(f->fd, &st) == 0 && st.st_size < f->off) { /* truncated in place */
        f->off = 0;
        f->llen = 0;
        f->skipping = false;
    }
    int lines = drain(f, fn, ud, &budget);
    if (lines < 0)
        return lines;
    struct stat ps;
    if (stat(f->path, &ps) < 0 || ps.st_dev != f->dev || ps.st_ino != f->ino) {
        /* rotated (or removed): the old file is read to its end above; a partial last line
         * there is complete now */
        if (f->llen > 0 && !f->skipping) {
            fn(ud, f->line, f->llen);
            lines++;
        }
        close(f->fd);
        f->fd = -1;
        try_open(f);
        if (f->fd >= 0) {
            int more = drain(f, fn, ud, &budget);
            if (more < 0)
                return more;
            lines += more;
        }
    }
    return lines;
}
