#include "common/daemon.h"

#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/log.h"

static void usage(const daemon_spec_t *s, FILE *out)
{
    fprintf(out,
            "usage: %s [-c config.yaml] [--help-config] [--version]\n"
            "Every key can also be set by environment (%s<KEY>, see --help-config).\n",
            s->name, s->env_prefix);
}

int daemon_init(const daemon_spec_t *s, int argc, char **argv, void *cfg)
{
    const char *config_path = NULL;
    bool help_config = false;
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"help-config", no_argument, NULL, 'H'},
                                             {"version", no_argument, NULL, 'V'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'H':
            help_config = true;
            break;
        case 'V':
            printf("%s %s\n", s->name, RAMPART_VERSION);
            return 0;
        case 'h':
            usage(s, stdout);
            return 0;
        default:
            usage(s, stderr);
            return 2;
        }
    }
    if (help_config) {
        config_print_reference(s->opts, s->nopts, s->env_prefix, stdout);
        return 0;
    }
    char err[512];
    log_init(s->service, LOG_LEVEL_INFO, 2);
    if (config_load(s->opts, s->nopts, cfg, config_path, s->env_prefix, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", s->name, err);
        return 2;
    }
    const char *level_name = *(char **)((char *)cfg + s->log_level_offset);
    log_level_t level;
    if (log_level_parse(level_name, &level) < 0) {
        fprintf(stderr, "%s: log.level: unknown level \"%s\"\n", s->name, level_name);
        config_dispose(s->opts, s->nopts, cfg);
        return 2;
    }
    log_set_level(level);
    return -1;
}

void daemon_block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}
