#include "common/redis.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000

struct redis_pool {
    char *host;
    int port;
    char *password;
    int db;
    int timeout_ms;
    size_t max_idle;

    pthread_mutex_t mu;
    redisContext **idle; /* stack of connected contexts */
    size_t nidle;
    int64_t next_connect_ms; /* no connect attempt before this while Redis is down */
    int backoff_ms;
    char last_error[128];
    atomic_bool healthy;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int split_addr(const char *addr, char **host, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return -EINVAL;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p <= 0 || p > 65535)
        return -EINVAL;
    const char *h = addr;
    size_t hlen = (size_t)(colon - addr);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    *host = xstrndup(h, hlen);
    *port = (int)p;
    return 0;
}

redis_pool_t *redis_pool_new(const redis_pool_opts_t *opts)
{
    redis_pool_t *pool = xcalloc(1, sizeof(*pool));
    if (split_addr(opts->addr, &pool->host, &pool->port) < 0) {
        LOG_ERROR("redis.bad_addr", "addr=%s", opts->addr);
        free(pool);
        return NULL;
    }
    pool->password = opts->password && *opts->password ? xstrdup(opts->password) : NULL;
    pool->db = opts->db;
    pool->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 1000;
    pool->max_idle = opts->max_idle ? opts->max_idle : 16;
    pool->idle = xcalloc(pool->max_idle, sizeof(*pool->idle));
    pool->backoff_ms = BACKOFF_MIN_MS;
    pthread_mutex_init(&pool->mu, NULL);
    atomic_init(&pool->healthy, false);
    return pool;
}

void redis_pool_free(redis_pool_t *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->nidle; i++)
        redisFree(pool->idle[i]);
    pthread_mutex_destroy(&pool->mu);
    free(pool->idle);
    free(pool->host);
    free(pool->password);
    free(pool);
}

/* Records a transport failure and pushes the next connect attempt out. Caller holds mu. */
static void note_failure_locked(redis_pool_t *pool, const char *what)
{
    bool was_healthy = atomic_exchange(&pool->healthy, false);
    snprintf(pool->last_error, sizeof(pool->last_error), "%s", what);
    pool->next_connect_ms = now_ms() + pool->backoff_ms;
    pool->backoff_ms =
        pool->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pool->backoff_ms * 2;
    if (was_healthy) {
        char q[160];
        LOG_WARN("redis.down", "addr=%s:%d error=%s", pool->host, pool->port,
                 log_quote(q, sizeof(q), what));
    }
}

static void note_success(redis_pool_t *pool)
{
    if (!atomic_load(&pool->healthy)) {
        pthread_mutex_lock(&pool->mu);
        if (!atomic_exchange(&pool->healthy, true)) {
            pool->backoff_ms = BACKOFF_MIN_MS;
            pool->next_connect_ms = 0;
            pool->last_error[0] = '\0';
            LOG_INFO("redis.up", "addr=%s:%d", pool->host, pool->port);
        }
        pthread_mutex_unlock(&pool->mu);
    }
}

/* Runs a setup command (AUTH/SELECT) on a fresh connection. */
static int setup_command(redisContext *c, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r) {
        snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "I/O error");
        return -EIO;
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "setup failed: %s", r->str);
        rc = -EACCES;
    }
    freeReplyObject(r);
    return rc;
}

static redisContext *connect_one(redis_pool_t *pool, char *err, size_t errlen)
{
    struct timeval tv = {.tv_sec = pool->timeout_ms / 1000,
                         .tv_usec = (pool->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(pool->host, pool->port, tv);
    if (!c) {
        snprintf(err, errlen, "cannot allocate redis context");
        return NULL;
    }
    if (c->err) {
        snprintf(err, errlen, "%s", c->errstr);
        goto fail;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, errlen, "cannot set timeout");
        goto fail;
    }
    if (pool->password && setup_command(c, err, errlen, "AUTH %s", pool->password) < 0)
        goto fail;
    if (pool->db && setup_command(c, err, errlen, "SELECT %d", pool->db) < 0)
        goto fail;
    return c;
fail:
    redisFree(c);
    return NULL;
}

/* The error text handed to a caller: a per-thread copy, since last_error changes under the
 * pool's lock while the caller still reads what it was given. */
static const char *err_copy(const char *what)
{
    static _Thread_local char buf[128];
    snprintf(buf, sizeof(buf), "%s", what);
    return buf;
}

struct redisContext *redis_pool_get(redis_pool_t *pool, const char **err)
{
    pthread_mutex_lock(&pool->mu);
    if (pool->nidle > 0) {
        redisContext *c = pool->idle[--pool->nidle];
        pthread_mutex_unlock(&pool->mu);
        return c;
    }
    if (!atomic_load(&pool->healthy) && now_ms() < pool->next_connect_ms) {
        if (err)
            *err = err_copy(pool->last_error[0] ? pool->last_error : "reconnect backoff");
        pthread_mutex_unlock(&pool->mu);
        return NULL;
    }
    pthread_mutex_unlock(&pool->mu);

    char buf[128];
    redisContext *c = connect_one(pool, buf, sizeof(buf));
    if (!c) {
        pthread_mutex_lock(&pool->mu);
        note_failure_locked(pool, buf);
        if (err)
            *err = err_copy(pool->last_error);
        pthread_mutex_unlock(&pool->mu);
        return NULL;
    }
    note_success(pool);
    return c;
}

void redis_pool_put(redis_pool_t *pool, struct redisContext *c, bool broken)
{
    if (!c)
        return;
    pthread_mutex_lock(&pool->mu);
    if (broken || c->err) {
        note_failure_locked(pool, c->errstr[0] ? c->errstr : "connection broken");
        pthread_mutex_unlock(&pool->mu);
        redisFree(c);
        return;
    }
    if (pool->nidle < pool->max_idle) {
        pool->idle[pool->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&pool->mu);
    redisFree(c);
}

/* Runs one command already in RESP form. An idle connection may have gone stale (Redis
 * restarted), so a transport failure on a reused connection is retried once on a fresh one. */
static redisReply *run(redis_pool_t *pool, const char **err, const char *cmd, size_t len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        redisContext *c = redis_pool_get(pool, err);
        if (!c)
            return NULL;
        void *reply = NULL;
        if (redisAppendFormattedCommand(c, cmd, len) == REDIS_OK &&
            redisGetReply(c, &reply) == REDIS_OK && reply) {
            redis_pool_put(pool, c, false);
            note_success(pool);
            return reply;
        }
        redis_pool_put(pool, c, true);
        if (err)
            *err = "redis I/O error";
    }
    return NULL;
}

struct redisReply *redis_pool_command_argv(redis_pool_t *pool, const char **err, int argc,
                                           const char **argv, const size_t *argvlen)
{
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
    if (len < 0) {
        if (err)
            *err = "cannot format redis command";
        return NULL;
    }
    redisReply *r = run(pool, err, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return r;
}

struct redisReply *redis_pool_command(redis_pool_t *pool, const char **err, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0) {
        if (err)
            *err = "cannot format redis command";
        return NULL;
    }
    redisReply *r = run(pool, err, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return r;
}

bool redis_pool_healthy(redis_pool_t *pool)
{
    return atomic_load(&pool->healthy);
}

const char *redis_pool_last_error(redis_pool_t *pool, char *buf, size_t size)
{
    pthread_mutex_lock(&pool->mu);
    snprintf(buf, size, "%s", pool->last_error);
    pthread_mutex_unlock(&pool->mu);
    return buf;
}
