/* rampart-journal: the SSH login watcher plugin (data_type 4000). Configuration comes from the
 * DETAIL environment variable the agent sets (JSON, docs/plugins.md); fd 3 and fd 4 are the
 * agent's pipes. Exits when the agent closes them, or on SIGTERM/SIGINT. */
#include <errno.h>
#include <stdlib.h>

#include "common/log.h"
#include "rampart_plugin.h"
#include "watcher.h"

int main(void)
{
    log_init("journal", LOG_LEVEL_INFO, 2);
    watcher_config_t cfg;
    watcher_config_defaults(&cfg);
    char err[256];
    if (watcher_config_from_detail(&cfg, getenv("DETAIL"), err, sizeof(err)) < 0) {
        LOG_ERROR("bad_config", "reason=\"%s\"", err);
        return 2;
    }
    rp_plugin_t *p = rp_plugin_new("journal", NULL);
    watcher_t *w = watcher_new(&cfg, p, rp_stop_signals());
    LOG_INFO("started", "version=%s source=%s", rp_plugin_version(p), watcher_source_name(w));
    int rc = watcher_loop(w);
    LOG_INFO("stopped", "reason=%s",
             rc == 0        ? "signal"
             : rc == -EPIPE ? "agent_gone"
                            : "bad_frame");
    watcher_free(w);
    rp_plugin_free(p);
    return 0;
}
