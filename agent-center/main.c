/* rampart-agent-center: terminates agent gRPC streams and feeds Kafka. main() only reads the
 * configuration and wires the modules together; see ac.h. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-center/ac.h"
#include "common/log.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: rampart-agent-center [-c config.yaml] [--help-config] [--version]\n"
                 "Every key can also be set by environment (RAMPART_AC_<KEY>, see "
                 "--help-config).\n");
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    bool help_config = false;
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"help-config", no_argument, NULL, 'H'},
                                             {"version", no_argument, NULL, 'V'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'H':
            help_config = true;
            break;
        case 'V':
            printf("rampart-agent-center %s\n", RAMPART_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (help_config) {
        config_print_reference(ac_config_options, ac_config_noptions, AC_ENV_PREFIX, stdout);
        return 0;
    }

    static ac_state_t ac;
    char err[512];
    log_init("agent-center", LOG_LEVEL_INFO, 2);
    if (config_load(ac_config_options, ac_config_noptions, &ac.cfg, config_path, AC_ENV_PREFIX,
                    err, sizeof(err)) < 0) {
        fprintf(stderr, "rampart-agent-center: %s\n", err);
        return 2;
    }
    log_level_t level;
    if (log_level_parse(ac.cfg.log_level, &level) < 0) {
        fprintf(stderr, "rampart-agent-center: log.level: unknown level \"%s\"\n",
                ac.cfg.log_level);
        config_dispose(ac_config_options, ac_config_noptions, &ac.cfg);
        return 2;
    }
    log_set_level(level);

    /* Signals are taken synchronously by this thread; block them before threads start. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (ac_start(&ac) < 0)
        return 1;
    int sig = 0;
    sigwait(&set, &sig);
    LOG_INFO("stopping", "signal=%s", strsignal(sig));
    int rc = ac_stop(&ac);
    LOG_INFO("stopped", "clean=%s", rc == 0 ? "true" : "false");
    return 0;
}
