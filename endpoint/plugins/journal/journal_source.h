/* journal_source: sshd's entries in the systemd journal, through libsystemd's sd_journal
 * (matching _COMM or SYSLOG_IDENTIFIER = sshd or sshd-session). Kept apart because
 * <systemd/sd-journal.h> pulls in <syslog.h>, whose LOG_* macros clash with common/log.h.
 * Without libsystemd at build time every call fails with -ENOTSUP. */
#ifndef RAMPART_JOURNAL_JOURNAL_SOURCE_H
#define RAMPART_JOURNAL_JOURNAL_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct journal_source journal_source_t;

bool journal_source_built(void);
/* Opens the local system journal; from_start false: only entries written from now on. */
int journal_source_open(journal_source_t **out, bool from_start);
void journal_source_close(journal_source_t *js);
/* The next sshd entry: 1 (msg valid until the next call; pid -1 when absent; ts in unix
 * seconds), 0 when there is none now, or a negative errno. */
int journal_source_next(journal_source_t *js, const char **msg, size_t *len, int *pid, int64_t *ts);
/* Waits up to timeout_ms for new entries. */
void journal_source_wait(journal_source_t *js, int timeout_ms);

#endif
