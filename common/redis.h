/* redis: a small pool of synchronous hiredis connections for multi-threaded daemons.
 *
 * Each worker thread borrows a connection for the duration of one operation and gives it
 * back. A connection that saw an I/O or protocol error is dropped, and the next borrow
 * reconnects, so the daemon recovers by itself when Redis comes back. While Redis is down,
 * reconnect attempts are spaced by a short backoff so that a storm of requests does not turn
 * into a storm of connects; redis_pool_get() then fails fast with the last error. */
#ifndef RAMPART_COMMON_REDIS_H
#define RAMPART_COMMON_REDIS_H

#include <stdbool.h>
#include <stddef.h>

struct redisContext;
struct redisReply;

typedef struct redis_pool redis_pool_t;

typedef struct {
    const char *addr;     /* "host:port" */
    const char *password; /* NULL or "" for none */
    int db;               /* SELECT index */
    int timeout_ms;       /* connect and command timeout */
    size_t max_idle;      /* idle connections kept */
} redis_pool_opts_t;

redis_pool_t *redis_pool_new(const redis_pool_opts_t *opts);
void redis_pool_free(redis_pool_t *pool); /* accepts NULL; all connections must be back */

/* Borrows a connected context. NULL when Redis is unreachable; *err then names why
 * ("connection refused", "timeout", "auth failed: ...", "reconnect backoff"). Error strings
 * stay valid until the same thread's next call into the pool. */
struct redisContext *redis_pool_get(redis_pool_t *pool, const char **err);
/* Returns a context; broken = true drops it (after an error reply of type I/O or protocol). */
void redis_pool_put(redis_pool_t *pool, struct redisContext *c, bool broken);

/* Runs one command (redisCommand format) on a borrowed connection and returns the reply
 * (freeReplyObject() it) or NULL with *err set. Error replies (REDIS_REPLY_ERROR) are
 * returned as replies; only transport failures give NULL. */
struct redisReply *redis_pool_command(redis_pool_t *pool, const char **err, const char *fmt, ...);

/* Binary-safe variant: argc arguments with explicit lengths (argvlen may be NULL for C strings). */
struct redisReply *redis_pool_command_argv(redis_pool_t *pool, const char **err, int argc,
                                           const char **argv, const size_t *argvlen);

/* True if the last operation reached Redis (for /health). */
bool redis_pool_healthy(redis_pool_t *pool);
/* Last transport error text, or "" (copied into buf). */
const char *redis_pool_last_error(redis_pool_t *pool, char *buf, size_t size);

#endif
