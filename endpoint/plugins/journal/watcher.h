/* watcher: the journal plugin's engine. Reads sshd's messages from the systemd journal
 * (libsystemd, when built with it and journald runs) or by following an auth.log file, and
 * writes one 4000 record per SSH login success or failure. */
#ifndef RAMPART_JOURNAL_WATCHER_H
#define RAMPART_JOURNAL_WATCHER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rampart_plugin.h"
#include "sshd_log.h"

#define WATCHER_DATA_TYPE_SSH_LOGIN 4000

typedef enum { WATCHER_AUTO, WATCHER_JOURNAL, WATCHER_FILE } watcher_source_t;

typedef struct {
    watcher_source_t source;
    char auth_log[256]; /* "/var/log/auth.log" */
    bool from_start;    /* read the existing file from its start (tests, first install) */
    int64_t poll_ms;
    int64_t heartbeat_s;
} watcher_config_t;

void watcher_config_defaults(watcher_config_t *cfg);
/* DETAIL JSON (docs/plugins.md) over cfg; 0 or -EINVAL with err. */
int watcher_config_from_detail(watcher_config_t *cfg, const char *detail, char *err, size_t errlen);
/* Whether this build reads the journal, and whether journald runs here. */
bool watcher_journal_available(void);

typedef struct watcher watcher_t;
watcher_t *watcher_new(const watcher_config_t *cfg, rp_plugin_t *plugin,
                       volatile sig_atomic_t *stop);
void watcher_free(watcher_t *w);
/* Writes the 4000 record of one parsed event. */
int watcher_emit(watcher_t *w, const sshd_event_t *ev, int pid, const char *raw, size_t rawlen,
                 int64_t timestamp);
/* One auth.log line: sshd's login events become records, everything else is skipped. */
void watcher_file_line(void *w, const char *line, size_t len);
/* Runs until *stop or the agent closes a pipe: 0, -EPIPE or -EPROTO. */
int watcher_loop(watcher_t *w);
/* "journal" or "file": the source the loop uses (after auto is resolved). */
const char *watcher_source_name(const watcher_t *w);

#endif
