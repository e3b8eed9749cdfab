#include "common/log_bridge.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"

/* MHD has no levels; what it reports is a failure of a socket, connection or request. */
void log_bridge_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!log_enabled(LOG_LEVEL_WARN) || !fmt)
        return;
    char msg[1024], q[1200];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t len = strlen(msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    log_write(LOG_LEVEL_WARN, "lib.mhd", "msg=%s", log_quote(q, sizeof(q), msg));
}
