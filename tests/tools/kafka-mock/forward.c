#include "forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

#define RELAY_BUF (64 * 1024)

/* One client connection: fd[0] the client, fd[1] the broker. buf[i] holds bytes read from
 * fd[i] that still have to be written to fd[1 - i] (from off[i] to len[i]). */
typedef struct {
    int fd[2];
    uint8_t *buf[2];
    size_t off[2], len[2];
} relay_t;

struct forward {
    int listen_fd;
    int stop_pipe[2];
    struct sockaddr_in upstream;
    pthread_t thread;
    relay_t conns[FORWARD_MAX_CONNS];
};

static void relay_close(relay_t *r)
{
    for (int i = 0; i < 2; i++) {
        if (r->fd[i] >= 0)
            close(r->fd[i]);
        free(r->buf[i]);
    }
    *r = (relay_t){.fd = {-1, -1}};
}

static void accept_one(forward_t *f)
{
    int c = accept4(f->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return;
    relay_t *slot = NULL;
    for (int i = 0; i < FORWARD_MAX_CONNS && !slot; i++)
        if (f->conns[i].fd[0] < 0)
            slot = &f->conns[i];
    if (!slot) {
        LOG_WARN("forward_full", "max_conns=%d", FORWARD_MAX_CONNS);
        close(c);
        return;
    }
    /* The broker is on loopback: a blocking connect returns at once. */
    int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (u < 0 || connect(u, (struct sockaddr *)&f->upstream, sizeof(f->upstream)) < 0 ||
        fcntl(u, F_SETFL, O_NONBLOCK) < 0) {
        LOG_WARN("forward_connect_failed", "err=\"%s\"", strerror(errno));
        if (u >= 0)
            close(u);
        close(c);
        return;
    }
    *slot = (relay_t){.fd = {c, u}, .buf = {xmalloc(RELAY_BUF), xmalloc(RELAY_BUF)}};
    LOG_DEBUG("forward_open", "slot=%td", slot - f->conns);
}

/* Moves bytes for one side of r after poll; false when the connection is finished. */
static bool relay_step(relay_t *r, int side, short revents)
{
    int other = 1 - side;
    if (revents & POLLOUT) {
        ssize_t w =
            write(r->fd[side], r->buf[other] + r->off[other], r->len[other] - r->off[other]);
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return false;
        if (w > 0)
            r->off[other] += (size_t)w;
    }
    if (revents & POLLIN) {
        ssize_t n = read(r->fd[side], r->buf[side], RELAY_BUF);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return false;
        if (n > 0) {
            r->off[side] = 0;
            r->len[side] = (size_t)n;
        }
    } else if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
        return false;
    }
    return true;
}

static void *forward_main(void *arg)
{
    forward_t *f = arg;
    struct pollfd pfd[2 + 2 * FORWARD_MAX_CONNS];
    for (;;) {
        pfd[0] = (struct pollfd){.fd = f->stop_pipe[0], .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = f->listen_fd, .events = POLLIN};
        for (int i = 0; i < FORWARD_MAX_CONNS; i++) {
            relay_t *r = &f->conns[i];
            for (int s = 0; s < 2; s++) {
                short ev = 0;
                if (r->fd[s] >= 0 && r->off[s] == r->len[s])
                    ev |= POLLIN; /* nothing pending from this side: read more */
                if (r->fd[s] >= 0 && r->off[1 - s] < r->len[1 - s])
                    ev |= POLLOUT; /* the other side's bytes wait to be written here */
                pfd[2 + 2 * i + s] = (struct pollfd){.fd = r->fd[s], .events = ev};
            }
        }
        if (poll(pfd, 2 + 2 * FORWARD_MAX_CONNS, -1) < 0) {
            if (errno == EINTR)
                continue;
            LOG_ERROR("forward_poll_failed", "err=\"%s\"", strerror(errno));
            break;
        }
        if (pfd[0].revents)
            break;
        for (int i = 0; i < FORWARD_MAX_CONNS; i++) {
            relay_t *r = &f->conns[i];
            if (r->fd[0] < 0)
                continue;
            if (!relay_step(r, 0, pfd[2 + 2 * i].revents) ||
                !relay_step(r, 1, pfd[2 + 2 * i + 1].revents)) {
                LOG_DEBUG("forward_close", "slot=%d", i);
                relay_close(r);
            }
        }
        if (pfd[1].revents & POLLIN)
            accept_one(f);
    }
    return NULL;
}

static int parse_upstream(const char *s, struct sockaddr_in *out)
{
    char host[64];
    size_t n = strcspn(s, ",");
    const char *colon = memrchr(s, ':', n);
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end != s + n || port < 1 || port > 65535)
        return -EINVAL;
    *out = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -EINVAL;
}

int forward_new(uint16_t port, const char *upstream, forward_t **out)
{
    forward_t *f = xcalloc(1, sizeof(*f));
    f->listen_fd = f->stop_pipe[0] = f->stop_pipe[1] = -1;
    for (int i = 0; i < FORWARD_MAX_CONNS; i++)
        f->conns[i] = (relay_t){.fd = {-1, -1}};
    int rc = parse_upstream(upstream, &f->upstream);
    if (rc < 0)
        goto cleanup;
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->listen_fd < 0) {
        rc = -errno;
        goto cleanup;
    }
    int one = 1;
    setsockopt(f->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(f->listen_fd, 128) < 0 ||
        pipe2(f->stop_pipe, O_CLOEXEC) < 0) {
        rc = -errno;
        goto cleanup;
    }
    rc = -pthread_create(&f->thread, NULL, forward_main, f);
    if (rc < 0)
        goto cleanup;
    *out = f;
    return 0;

cleanup:
    if (f->listen_fd >= 0)
        close(f->listen_fd);
    for (int i = 0; i < 2; i++)
        if (f->stop_pipe[i] >= 0)
            close(f->stop_pipe[i]);
    free(f);
    return rc;
}

void forward_free(forward_t *f)
{
    if (!f)
        return;
    if (write(f->stop_pipe[1], "x", 1) != 1)
        LOG_WARN("forward_stop_failed", "err=\"%s\"", strerror(errno));
    pthread_join(f->thread, NULL);
    for (int i = 0; i < FORWARD_MAX_CONNS; i++)
        relay_close(&f->conns[i]);
    close(f->listen_fd);
    close(f->stop_pipe[0]);
    close(f->stop_pipe[1]);
    free(f);
}
