/* rampart-manager: the control plane (REST API, MongoDB, Kafka consumers, task dispatch).
 * main() only reads the configuration and wires the modules together; see mgr.h. */
#include <curl/curl.h>
#include <mongoc/mongoc.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "common/daemon.h"
#include "common/log.h"
#include "manager/mgr.h"

int main(int argc, char **argv)
{
    static struct mgr m;
    const daemon_spec_t spec = {.name = "rampart-manager",
                                .service = "manager",
                                .env_prefix = MGR_ENV_PREFIX,
                                .opts = mgr_config_options,
                                .nopts = mgr_config_noptions,
                                .log_level_offset = offsetof(mgr_config_t, log_level)};
    int rc = daemon_init(&spec, argc, argv, &m.cfg);
    if (rc >= 0)
        return rc;
    sigset_t set;
    daemon_block_signals(&set); /* before any thread starts */
    mongoc_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (mgr_start(&m) < 0) {
        curl_global_cleanup();
        mongoc_cleanup();
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    LOG_INFO("stopping", "signal=%s", strsignal(sig));
    mgr_stop(&m);
    curl_global_cleanup();
    mongoc_cleanup();
    LOG_INFO("stopped", "clean=true");
    return 0;
}
