/* rampart-agent: the host agent. main() reads the configuration and runs the heartbeat clock
 * and the signal wait; the modules are wired in agent.c. `--show-id` prints the agent id
 * (deriving and keeping it if needed) for issuing its certificate. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/daemon.h"
#include "common/log.h"
#include "endpoint/agent/agent.h"

int main(int argc, char **argv)
{
    static agent_t a;
    bool show_id = false;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--show-id") == 0)
            show_id = true;
        else
            argv[n++] = argv[i];
    }
    argv[n] = NULL;
    const daemon_spec_t spec = {.name = AGENT_NAME,
                                .service = "agent",
                                .env_prefix = AGENT_ENV_PREFIX,
                                .opts = agent_config_options,
                                .nopts = agent_config_noptions,
                                .log_level_offset = offsetof(agent_config_t, log_level)};
    int rc = daemon_init(&spec, n, argv, &a.cfg);
    if (rc >= 0)
        return rc;
    if (show_id) {
        char err[512];
        rc = agent_id_load(a.cfg.agent_id, a.cfg.state_dir, a.id, sizeof(a.id), err, sizeof(err));
        if (rc < 0)
            fprintf(stderr, "%s: %s\n", AGENT_NAME, err);
        else
            printf("%s\n", a.id);
        config_dispose(agent_config_options, agent_config_noptions, &a.cfg);
        return rc < 0 ? 1 : 0;
    }
    sigset_t set;
    daemon_block_signals(&set); /* before any thread starts */
    if (agent_start(&a) < 0) {
        agent_stop(&a);
        return 1;
    }
    int64_t every = a.cfg.heartbeat_interval_ms;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        next.tv_sec += every / 1000;
        next.tv_nsec += (every % 1000) * 1000000L;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        int sig = 0;
        for (;;) {
            struct timespec now, left;
            clock_gettime(CLOCK_MONOTONIC, &now);
            left.tv_sec = next.tv_sec - now.tv_sec;
            left.tv_nsec = next.tv_nsec - now.tv_nsec;
            if (left.tv_nsec < 0) {
                left.tv_sec--;
                left.tv_nsec += 1000000000L;
            }
            if (left.tv_sec < 0)
                break;
            sig = sigtimedwait(&set, NULL, &left);
            if (sig > 0 || (sig < 0 && errno == EAGAIN))
                break;
        }
        if (sig > 0) {
            LOG_INFO("stopping", "signal=%s", strsignal(sig));
            break;
        }
        agent_heartbeat(&a);
    }
    return agent_stop(&a);
}
