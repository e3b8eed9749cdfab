/* rampart-hub: the detection rule engine. main() only reads the command line and the
 * configuration and hands over to hub.c (the daemon) or ruletest.c (--test). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "hub/hub.h"
#include "hub/ruletest.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rampart-hub [-c config.yaml] [--rules DIR]    run the engine\n"
            "       rampart-hub --rules DIR --check               compile the rules and exit\n"
            "       rampart-hub --rules DIR --test TESTDIR        run the rule tests\n"
            "       rampart-hub --help-config | --version\n"
            "Every key can also be set by environment (RAMPART_HUB_<KEY>, see --help-config).\n");
}

static int load_rules(const char *dir, ruleset_t **rs)
{
    char err[1024];
    if (ruleset_load_dir(dir, NULL, 0, rs, err, sizeof(err)) < 0) {
        fprintf(stderr, "rampart-hub: %s\n", err);
        return -EINVAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *rules = NULL, *test_dir = NULL;
    bool help_config = false, check = false, lax = false;
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"rules", required_argument, NULL, 'r'},
                                             {"test", required_argument, NULL, 't'},
                                             {"check", no_argument, NULL, 'k'},
                                             {"no-coverage", no_argument, NULL, 'n'},
                                             {"help-config", no_argument, NULL, 'H'},
                                             {"version", no_argument, NULL, 'V'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "c:r:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'r':
            rules = optarg;
            break;
        case 't':
            test_dir = optarg;
            break;
        case 'k':
            check = true;
            break;
        case 'n':
            lax = true;
            break;
        case 'H':
            help_config = true;
            break;
        case 'V':
            printf("rampart-hub %s\n", RAMPART_VERSION);
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
        config_print_reference(hub_config_options, hub_config_noptions, HUB_ENV_PREFIX, stdout);
        return 0;
    }
    log_init("hub", LOG_LEVEL_WARN, 2);
    if (check || test_dir) {
        if (!rules) {
            fprintf(stderr, "rampart-hub: --check and --test need --rules DIR\n");
            return 2;
        }
        ruleset_t *rs = NULL;
        if (load_rules(rules, &rs) < 0)
            return 1;
        int rc = 0;
        if (check) {
            printf("%s: %zu rules, %zu lists, %zu macros, %zu whitelist entries: ok\n", rules,
                   rs->nrules, rs->nlists, rs->nmacros, rs->nwhitelist);
        } else {
            ruletest_result_t res;
            rc = ruletest_run(rs, test_dir, !lax, stdout, &res);
            rc = rc == 0 ? 0 : 1;
        }
        ruleset_free(rs);
        return rc;
    }

    hub_t hub = {0};
    char err[512];
    log_init("hub", LOG_LEVEL_INFO, 2);
    if (config_load(hub_config_options, hub_config_noptions, &hub.cfg, config_path, HUB_ENV_PREFIX,
                    err, sizeof(err)) < 0) {
        fprintf(stderr, "rampart-hub: %s\n", err);
        return 2;
    }
    if (rules) {
        free(hub.cfg.rules_dir);
        hub.cfg.rules_dir = strdup(rules);
    }
    log_level_t level;
    if (log_level_parse(hub.cfg.log_level, &level) < 0) {
        fprintf(stderr, "rampart-hub: log.level: unknown level \"%s\"\n", hub.cfg.log_level);
        config_dispose(hub_config_options, hub_config_noptions, &hub.cfg);
        return 2;
    }
    log_set_level(level);
    return hub_run(&hub) < 0 ? 1 : 0;
}
