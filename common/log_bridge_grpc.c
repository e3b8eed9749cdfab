#include "common/log_bridge.h"

#include <stdio.h>

#include <grpc/support/log.h>

#include "common/log.h"

static log_level_t map_level(gpr_log_severity severity)
{
    switch (severity) {
    case GPR_LOG_SEVERITY_DEBUG:
        return LOG_LEVEL_DEBUG;
    case GPR_LOG_SEVERITY_INFO:
        return LOG_LEVEL_INFO;
    default:
        return LOG_LEVEL_ERROR;
    }
}

static void grpc_log(gpr_log_func_args *args)
{
    log_level_t ours = map_level(args->severity);
    if (!log_enabled(ours))
        return;
    char at[512], qa[560], qm[1200];
    snprintf(at, sizeof(at), "%s:%d", args->file ? args->file : "?", args->line);
    log_write(ours, "lib.grpc", "at=%s msg=%s", log_quote(qa, sizeof(qa), at),
              log_quote(qm, sizeof(qm), args->message));
}

void log_bridge_grpc(void)
{
    /* gpr has no warn: at our warn level and above only its errors are worth formatting. */
    gpr_log_severity min = GPR_LOG_SEVERITY_ERROR;
    if (log_enabled(LOG_LEVEL_DEBUG))
        min = GPR_LOG_SEVERITY_DEBUG;
    else if (log_enabled(LOG_LEVEL_INFO))
        min = GPR_LOG_SEVERITY_INFO;
    gpr_set_log_verbosity(min);
    gpr_set_log_function(grpc_log);
}
