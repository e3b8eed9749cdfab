/* log: the one logger of every Rampart process.
 *
 * Each line is one event in logfmt, so that both people and log shippers read it:
 *
 *   ts=2026-11-22T07:30:01.123Z level=info svc=sd event=registered name=hub ip=10.0.0.7 port=6761
 *
 * The caller names the event and supplies the remaining key=value pairs; values that may
 * hold spaces or quotes go through log_quote() (or the %s of a LOG_KV_STR pair).
 * The level check happens before any formatting. The sink is the only mutable global in
 * common/; it is set once by log_init() before threads start, and each line is written
 * with a single write(2), so lines from several threads never interleave.
 *
 * Third-party libraries never print on their own: log_bridge_*.h route librdkafka,
 * mongo-c-driver, libmicrohttpd, gRPC core and libbpf messages into this logger. */
#ifndef RAMPART_COMMON_LOG_H
#define RAMPART_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
    LOG_LEVEL_FATAL = 4,
} log_level_t;

/* Sets the service name written as svc=, the minimum level and the output fd (2 = stderr).
 * May be called again (e.g. after the config is read). Returns 0. */
int log_init(const char *service, log_level_t min_level, int fd);

/* Parses "debug", "info", "warn"/"warning", "error", "fatal" (any case). 0 or -EINVAL. */
int log_level_parse(const char *s, log_level_t *out);
const char *log_level_name(log_level_t level);
void log_set_level(log_level_t level);
bool log_enabled(log_level_t level);

/* Writes one line: ts, level, svc, event, then the formatted key=value pairs (may be NULL
 * or ""). Use the LOG_* macros, which skip formatting when the level is off. */
void log_write(log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vwrite(log_level_t level, const char *event, const char *fmt, va_list ap);

/* Writes a quoted, escaped logfmt value of s into buf (always NUL-terminated; truncated
 * values end in "..."). Returns buf, for use as a %s argument. */
const char *log_quote(char *buf, size_t size, const char *s);

#define LOG_AT(lvl, event, ...)                                                                    \
    do {                                                                                           \
        if (log_enabled(lvl))                                                                      \
            log_write(lvl, event, __VA_ARGS__);                                                    \
    } while (0)
#define LOG_DEBUG(event, ...) LOG_AT(LOG_LEVEL_DEBUG, event, __VA_ARGS__)
#define LOG_INFO(event, ...)  LOG_AT(LOG_LEVEL_INFO, event, __VA_ARGS__)
#define LOG_WARN(event, ...)  LOG_AT(LOG_LEVEL_WARN, event, __VA_ARGS__)
#define LOG_ERROR(event, ...) LOG_AT(LOG_LEVEL_ERROR, event, __VA_ARGS__)

/* Logs at fatal level with file:line and aborts. For broken invariants only. */
#define PANIC(...) log_panic(__FILE__, __LINE__, __VA_ARGS__)
void log_panic(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            log_panic(__FILE__, __LINE__, "assertion failed: %s", #cond);                          \
    } while (0)

#endif
