/* daemon: the start of every Rampart daemon's main(): the command line (-c FILE,
 * --help-config, --version, --help), the configuration (common/config.h), the log level and
 * the signals the main thread waits for. */
#ifndef RAMPART_COMMON_DAEMON_H
#define RAMPART_COMMON_DAEMON_H

#include <signal.h>
#include <stddef.h>

#include "common/config.h"

typedef struct {
    const char *name;       /* program name, e.g. "rampart-sd" */
    const char *service;    /* svc= in logs, e.g. "sd" */
    const char *env_prefix; /* e.g. "RAMPART_SD_" */
    const config_option_t *opts;
    size_t nopts;
    size_t log_level_offset; /* offsetof(config struct, the char * of "log.level") */
} daemon_spec_t;

/* Parses argv and loads the configuration into cfg. Returns -1 when the daemon should go on,
 * or the exit status main() should return at once (0 after --help/--version/--help-config,
 * 2 on a usage or configuration error, reported on stderr). On -1 the log is initialised at
 * the configured level; cfg belongs to the caller (config_dispose). */
int daemon_init(const daemon_spec_t *spec, int argc, char **argv, void *cfg);

/* Blocks SIGTERM and SIGINT in this thread (call before starting threads, which inherit the
 * mask) and ignores SIGPIPE; set is filled for sigwait(). */
void daemon_block_signals(sigset_t *set);

#endif
