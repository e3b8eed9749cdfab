#include "journal_source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef RAMPART_HAVE_SYSTEMD
#include <systemd/sd-journal.h>

struct journal_source {
    sd_journal *j;
};

bool journal_source_built(void)
{
    return true;
}

int journal_source_open(journal_source_t **out, bool from_start)
{
    sd_journal *j;
    int rc = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    if (rc < 0)
        return rc;
    static const char *const matches[] = {"_COMM=sshd", "SYSLOG_IDENTIFIER=sshd",
                                          "_COMM=sshd-session", "SYSLOG_IDENTIFIER=sshd-session"};
    for (size_t i = 0; i < sizeof(matches) / sizeof(matches[0]); i++) {
        if (i)
            sd_journal_add_disjunction(j);
        sd_journal_add_match(j, matches[i], 0);
    }
    if (from_start) {
        sd_journal_seek_head(j);
    } else {
        sd_journal_seek_tail(j);
        sd_journal_previous(j); /* next() now returns only entries written after this */
    }
    sd_journal_set_data_threshold(j, 8192);
    journal_source_t *js = calloc(1, sizeof(*js));
    if (!js) {
        sd_journal_close(j);
        return -ENOMEM;
    }
    js->j = j;
    *out = js;
    return 0;
}

void journal_source_close(journal_source_t *js)
{
    if (!js)
        return;
    sd_journal_close(js->j);
    free(js);
}

static int field(sd_journal *j, const char *name, const char **val, size_t *len)
{
    const void *d;
    size_t l;
    int rc = sd_journal_get_data(j, name, &d, &l);
    if (rc < 0)
        return rc;
    size_t nl = strlen(name) + 1; /* "NAME=" */
    if (l < nl)
        return -EINVAL;
    *val = (const char *)d + nl;
    *len = l - nl;
    return 0;
}

int journal_source_next(journal_source_t *js, const char **msg, size_t *len, int *pid, int64_t *ts)
{
    for (;;) {
        int rc = sd_journal_next(js->j);
        if (rc <= 0)
            return rc;
        if (field(js->j, "MESSAGE", msg, len) < 0)
            continue;
        *pid = -1;
        const char *pv;
        size_t pl;
        if (field(js->j, "_PID", &pv, &pl) == 0 && pl > 0 && pl < 12) {
            char b[12];
            memcpy(b, pv, pl);
            b[pl] = '\0';
            *pid = atoi(b);
        }
        uint64_t usec = 0;
        sd_journal_get_realtime_usec(js->j, &usec);
        *ts = (int64_t)(usec / 1000000);
        return 1;
    }
}

void journal_source_wait(journal_source_t *js, int timeout_ms)
{
    sd_journal_wait(js->j, (uint64_t)timeout_ms * 1000);
}

#else

struct journal_source {
    int unused;
};

bool journal_source_built(void)
{
    return false;
}

int journal_source_open(journal_source_t **out, bool from_start)
{
    (void)from_start;
    *out = NULL;
    return -ENOTSUP;
}

void journal_source_close(journal_source_t *js)
{
    (void)js;
}

int journal_source_next(journal_source_t *js, const char **msg, size_t *len, int *pid, int64_t *ts)
{
    (void)js;
    (void)msg;
    (void)len;
    (void)pid;
    (void)ts;
    return -ENOTSUP;
}

void journal_source_wait(journal_source_t *js, int timeout_ms)
{
    (void)js;
    (void)timeout_ms;
}

#endif
