#include "common/log_bridge.h"

#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "common/log.h"

static log_level_t map_level(enum libbpf_print_level level)
{
    switch (level) {
    case LIBBPF_WARN:
        return LOG_LEVEL_WARN;
    case LIBBPF_INFO:
        return LOG_LEVEL_INFO;
    default:
        return LOG_LEVEL_DEBUG;
    }
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    log_level_t ours = map_level(level);
    if (!log_enabled(ours) || !fmt)
        return 0;
    char msg[1024], q[1200];
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t len = strlen(msg);
    while (len && msg[len - 1] == '\n')
        msg[--len] = '\0';
    if (len)
        log_write(ours, "lib.libbpf", "msg=%s", log_quote(q, sizeof(q), msg));
    return n < 0 ? 0 : n;
}

void log_bridge_libbpf(void)
{
    libbpf_set_print(libbpf_print);
}
