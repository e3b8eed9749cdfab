/* rampart-agent-center: terminates agent gRPC streams and feeds Kafka. main() only reads the
 * configuration and wires the modules together; see ac.h. */
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "agent-center/ac.h"
#include "common/daemon.h"
#include "common/log.h"

int main(int argc, char **argv)
{
    static ac_state_t ac;
    const daemon_spec_t spec = {.name = "rampart-agent-center",
                                .service = "agent-center",
                                .env_prefix = AC_ENV_PREFIX,
                                .opts = ac_config_options,
                                .nopts = ac_config_noptions,
                                .log_level_offset = offsetof(ac_config_t, log_level)};
    int rc = daemon_init(&spec, argc, argv, &ac.cfg);
    if (rc >= 0)
        return rc;
    sigset_t set;
    daemon_block_signals(&set); /* before any thread starts */
    if (ac_start(&ac) < 0)
        return 1;
    int sig = 0;
    sigwait(&set, &sig);
    LOG_INFO("stopping", "signal=%s", strsignal(sig));
    rc = ac_stop(&ac);
    LOG_INFO("stopped", "clean=%s", rc == 0 ? "true" : "false");
    return 0;
}
