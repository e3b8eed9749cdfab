#include "common/log_bridge.h"

#include <librdkafka/rdkafka.h>

#include "common/log.h"

/* librdkafka levels are syslog's: 0 emerg .. 3 err, 4 warning, 5 notice, 6 info, 7 debug. */
static log_level_t map_level(int level)
{
    if (level <= 3)
        return LOG_LEVEL_ERROR;
    if (level == 4)
        return LOG_LEVEL_WARN;
    if (level <= 6)
        return LOG_LEVEL_INFO;
    return LOG_LEVEL_DEBUG;
}

/* Runs on librdkafka's internal threads: must not call back into librdkafka. */
static void rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    log_level_t ours = map_level(level);
    if (!log_enabled(ours))
        return;
    char qf[128], qm[1200];
    log_write(ours, "lib.rdkafka", "fac=%s msg=%s", log_quote(qf, sizeof(qf), fac),
              log_quote(qm, sizeof(qm), buf));
}

void log_bridge_rdkafka(struct rd_kafka_conf_s *conf)
{
    if (conf)
        rd_kafka_conf_set_log_cb(conf, rdkafka_log);
}
