/* rampart-collector: the asset collector plugin. Configuration comes from the DETAIL
 * environment variable the agent sets (JSON, docs/plugins.md); fd 3 and fd 4 are the agent's
 * pipes. Exits when the agent closes them, or on SIGTERM/SIGINT. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "common/log.h"
#include "rampart_plugin.h"

int main(void)
{
    log_init("collector", LOG_LEVEL_INFO, 2);
    collector_config_t cfg;
    collector_config_defaults(&cfg);
    char err[256];
    if (collector_config_from_detail(&cfg, getenv("DETAIL"), err, sizeof(err)) < 0) {
        LOG_ERROR("bad_config", "reason=\"%s\"", err);
        return 2;
    }
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    rp_plugin_t *p = rp_plugin_new("collector", NULL);
    collector_t *c = collector_new(&cfg, p, rp_stop_signals());
    LOG_INFO("started", "version=%s max_rate=%lld", rp_plugin_version(p), (long long)cfg.max_rate);
    int rc = collector_loop(c);
    LOG_INFO("stopped", "reason=%s",
             rc == 0        ? "signal"
             : rc == -EPIPE ? "agent_gone"
                            : "bad_frame");
    collector_free(c);
    rp_plugin_free(p);
    return 0;
}
