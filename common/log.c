#include "common/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The log sink: the only mutable global state in common/. Written by log_init() before
 * threads start; the level may change at run time, hence atomic. */
static struct {
    char service[32];
    int fd;
    atomic_int min_level;
} g_log = {.service = "rampart", .fd = 2, .min_level = LOG_LEVEL_INFO};

#define LOG_LINE_MAX 4096

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

int log_init(const char *service, log_level_t min_level, int fd)
{
    snprintf(g_log.service, sizeof(g_log.service), "%s", service ? service : "rampart");
    g_log.fd = fd;
    atomic_store(&g_log.min_level, (int)min_level);
    return 0;
}

int log_level_parse(const char *s, log_level_t *out)
{
    if (!s)
        return -EINVAL;
    for (int i = 0; i <= LOG_LEVEL_FATAL; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = LOG_LEVEL_WARN;
        return 0;
    }
    return -EINVAL;
}

const char *log_level_name(log_level_t level)
{
    if ((int)level < 0 || level > LOG_LEVEL_FATAL)
        return "unknown";
    return level_names[level];
}

void log_set_level(log_level_t level)
{
    atomic_store(&g_log.min_level, (int)level);
}

bool log_enabled(log_level_t level)
{
    return (int)level >= atomic_load_explicit(&g_log.min_level, memory_order_relaxed);
}

/* True if s needs quoting as a logfmt value. */
static bool needs_quote(const char *s)
{
    if (!*s)
        return true;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
            return true;
    }
    return false;
}

const char *log_quote(char *buf, size_t size, const char *s)
{
    if (size < 8) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    if (!s)
        s = "";
    if (!needs_quote(s)) {
        size_t len = strlen(s);
        if (len < size) {
            memcpy(buf, s, len + 1);
            return buf;
        }
    }
    size_t o = 0;
    const size_t room = size - 2; /* closing quote, NUL */
    size_t cut = 1;               /* where "..." goes if the value does not fit */
    buf[o++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        size_t n;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            n = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2);
            n = 2;
        } else if (c == '\r') {
            memcpy(esc, "\\r", 2);
            n = 2;
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2);
            n = 2;
        } else if (c < 0x20 || c == 0x7f) {
            n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c);
        } else {
            esc[0] = (char)c;
            n = 1;
        }
        if (o + n > room) {
            memcpy(buf + cut, "...", 3);
            o = cut + 3;
            break;
        }
        memcpy(buf + o, esc, n);
        o += n;
        if (o + 3 <= room)
            cut = o;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

static size_t format_prefix(char *line, size_t size, log_level_t level, const char *event)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n =
        snprintf(line, size, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s svc=%s event=%s",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, log_level_name(level), g_log.service, event ? event : "log");
    return n < 0 ? 0 : ((size_t)n >= size ? size - 1 : (size_t)n);
}

static void emit(char *line, size_t len)
{
    line[len++] = '\n';
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(g_log.fd, line + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report it */
        }
        off += (size_t)w;
    }
}

void log_vwrite(log_level_t level, const char *event, const char *fmt, va_list ap)
{
    if (!log_enabled(level))
        return;
    char line[LOG_LINE_MAX + 1];
    size_t len = format_prefix(line, LOG_LINE_MAX, level, event);
    if (fmt && *fmt && len < LOG_LINE_MAX - 1) {
        line[len++] = ' ';
        int n = vsnprintf(line + len, LOG_LINE_MAX - len, fmt, ap);
        if (n > 0)
            len += ((size_t)n >= LOG_LINE_MAX - len) ? LOG_LINE_MAX - len - 1 : (size_t)n;
    }
    /* A value may carry a newline the caller did not quote; keep one event on one line. */
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    }
    emit(line, len);
}

void log_write(log_level_t level, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, event, fmt, ap);
    va_end(ap);
}

void log_panic(const char *file, int line, const char *fmt, ...)
{
    char msg[1024], q[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_write(LOG_LEVEL_FATAL, "panic", "at=%s:%d msg=%s", file, line,
              log_quote(q, sizeof(q), msg));
    abort();
}
