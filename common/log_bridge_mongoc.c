#include "common/log_bridge.h"

#include <mongoc/mongoc.h>

#include "common/log.h"

static log_level_t map_level(mongoc_log_level_t level)
{
    switch (level) {
    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL:
        return LOG_LEVEL_ERROR;
    case MONGOC_LOG_LEVEL_WARNING:
        return LOG_LEVEL_WARN;
    case MONGOC_LOG_LEVEL_MESSAGE:
    case MONGOC_LOG_LEVEL_INFO:
        return LOG_LEVEL_INFO;
    default:
        return LOG_LEVEL_DEBUG;
    }
}

static void mongoc_log_handler(mongoc_log_level_t level, const char *domain, const char *message,
                               void *user_data)
{
    (void)user_data;
    log_level_t ours = map_level(level);
    if (!log_enabled(ours))
        return;
    char qd[128], qm[1200];
    log_write(ours, "lib.mongoc", "domain=%s msg=%s", log_quote(qd, sizeof(qd), domain),
              log_quote(qm, sizeof(qm), message));
}

void log_bridge_mongoc(void)
{
    mongoc_log_set_handler(mongoc_log_handler, NULL);
}
