#include "watcher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "follower.h"
#include "journal_source.h"
#include "rampart_plugin_detail.h"

void watcher_config_defaults(watcher_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->source = WATCHER_AUTO;
    snprintf(cfg->auth_log, sizeof(cfg->auth_log), "/var/log/auth.log");
    cfg->poll_ms = 1000;
    cfg->heartbeat_s = 60;
}

int watcher_config_from_detail(watcher_config_t *cfg, const char *detail, char *err, size_t errlen)
{
    json_t *root = rp_detail_parse(detail, err, errlen);
    if (!root)
        return err[0] ? -EINVAL : 0;
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "source") == 0) {
            const char *s = json_string_value(v);
            if (s && strcmp(s, "auto") == 0)
                cfg->source = WATCHER_AUTO;
            else if (s && strcmp(s, "journal") == 0)
                cfg->source = WATCHER_JOURNAL;
            else if (s && strcmp(s, "file") == 0)
                cfg->source = WATCHER_FILE;
            else {
                snprintf(err, errlen, "source: expected auto, journal or file");
                rc = -EINVAL;
            }
        } else if (strcmp(key, "auth_log") == 0) {
            rc = rp_detail_string(v, key, cfg->auth_log, sizeof(cfg->auth_log), err, errlen);
        } else if (strcmp(key, "from_start") == 0) {
            rc = rp_detail_bool(v, key, &cfg->from_start, err, errlen);
        } else if (strcmp(key, "poll_ms") == 0) {
            rc = rp_detail_int(v, key, 10, 60000, &cfg->poll_ms, err, errlen);
        } else if (strcmp(key, "heartbeat") == 0) {
            rc = rp_detail_int(v, key, 1, 86400, &cfg->heartbeat_s, err, errlen);
        } else {
            snprintf(err, errlen, "%s: unknown key", key);
            rc = -EINVAL;
        }
        if (rc < 0)
            break;
    }
    json_decref(root);
    return rc;
}

bool watcher_journal_available(void)
{
    return journal_source_built() && access("/run/systemd/journal/socket", F_OK) == 0;
}

struct watcher {
    watcher_config_t cfg;
    rp_plugin_t *plugin;
    rp_record_t *rec;
    volatile sig_atomic_t *stop;
    bool journal;
    uint64_t lines;
    uint64_t events;
    int last_rc;
};

watcher_t *watcher_new(const watcher_config_t *cfg, rp_plugin_t *plugin,
                       volatile sig_atomic_t *stop)
{
    watcher_t *w = xcalloc(1, sizeof(*w));
    w->cfg = *cfg;
    w->plugin = plugin;
    w->rec = rp_record_new();
    w->stop = stop;
    w->journal = cfg->source == WATCHER_JOURNAL ||
                 (cfg->source == WATCHER_AUTO && watcher_journal_available());
    if (w->journal && !journal_source_built()) {
        LOG_WARN("journal_unavailable", "reason=built_without_libsystemd fallback=file");
        w->journal = false;
    }
    return w;
}

void watcher_free(watcher_t *w)
{
    if (!w)
        return;
    rp_record_free(w->rec);
    free(w);
}

const char *watcher_source_name(const watcher_t *w)
{
    return w->journal ? "journal" : "file";
}

int watcher_emit(watcher_t *w, const sshd_event_t *ev, int pid, const char *raw, size_t rawlen,
                 int64_t timestamp)
{
    rp_record_begin(w->rec, WATCHER_DATA_TYPE_SSH_LOGIN);
    if (timestamp > 0)
        rp_record_set_timestamp(w->rec, timestamp);
    rp_record_add(w->rec, "status", ev->success ? "true" : "false");
    rp_record_add(w->rec, "types", ev->types);
    rp_record_add(w->rec, "invalid", ev->invalid ? "true" : "false");
    rp_record_add(w->rec, "user", ev->user);
    rp_record_add(w->rec, "sip", ev->sip);
    rp_record_add_int(w->rec, "sport", ev->sport);
    rp_record_addn(w->rec, "rawlog", raw, rawlen > 4096 ? 4096 : rawlen);
    rp_record_add(w->rec, "extra", ev->extra);
    if (pid >= 0)
        rp_record_add_int(w->rec, "pid", pid);
    else
        rp_record_add(w->rec, "pid", "");
    rp_record_add(w->rec, "source", watcher_source_name(w));
    w->events++;
    return rp_record_end(w->plugin, w->rec);
}

void watcher_file_line(void *ud, const char *line, size_t len)
{
    watcher_t *w = ud;
    w->lines++;
    const char *prog, *msg;
    size_t plen, mlen;
    int pid;
    if (!sshd_split_syslog(line, len, &prog, &plen, &pid, &msg, &mlen) ||
        !sshd_is_program(prog, plen))
        return;
    sshd_event_t ev;
    if (!sshd_parse_message(msg, mlen, &ev))
        return;
    int rc = watcher_emit(w, &ev, pid, msg, mlen, 0);
    if (rc < 0)
        w->last_rc = rc;
}

static int heartbeat(watcher_t *w)
{
    rp_heartbeat_begin(w->plugin, w->rec);
    rp_record_add(w->rec, "source", watcher_source_name(w));
    rp_record_add(w->rec, "auth_log", w->journal ? "" : w->cfg.auth_log);
    rp_record_add_uint(w->rec, "lines", w->lines);
    rp_record_add_uint(w->rec, "events", w->events);
    int rc = rp_record_end(w->plugin, w->rec);
    return rc == 0 ? rp_flush(w->plugin) : rc;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Answers tasks (the journal plugin has none) and sends the heartbeat when due. wait_ms is how
 * long to block for a task. 0 to go on, or -EPIPE / -EPROTO to stop. */
static int service_agent(watcher_t *w, int wait_ms, int64_t *next_hb)
{
    if (mono_ms() >= *next_hb) {
        if (heartbeat(w) == -EPIPE)
            return -EPIPE;
        *next_hb = mono_ms() + w->cfg.heartbeat_s * 1000;
    }
    rp_task_t t;
    int rc = rp_task_read(w->plugin, wait_ms, &t);
    if (rc == 1) {
        LOG_WARN("task_refused", "data_type=%d reason=no_tasks", t.data_type);
        rc = rp_task_reply(w->plugin, &t, false, "the journal plugin takes no tasks");
        rp_task_dispose(&t);
        return rc == -EPIPE ? rc : 0;
    }
    if (rc == -EPIPE || rc == -EPROTO)
        return rc;
    return w->last_rc == -EPIPE ? -EPIPE : 0;
}

static int loop_file(watcher_t *w)
{
    follower_t *f = follower_new(w->cfg.auth_log, w->cfg.from_start);
    int64_t next_hb = mono_ms();
    int rc = 0;
    LOG_INFO("following", "path=%s from_start=%d", w->cfg.auth_log, (int)w->cfg.from_start);
    while (!(w->stop && *w->stop)) {
        int n = follower_poll(f, watcher_file_line, w);
        if (n < 0)
            LOG_WARN("read_failed", "path=%s errno=%d", w->cfg.auth_log, -n);
        rc = service_agent(w, (int)w->cfg.poll_ms, &next_hb);
        if (rc < 0)
            break;
    }
    follower_free(f);
    return rc;
}

static int loop_journal(watcher_t *w)
{
    journal_source_t *js;
    int rc = journal_source_open(&js, w->cfg.from_start);
    if (rc < 0) {
        LOG_WARN("journal_open_failed", "errno=%d fallback=file", -rc);
        w->journal = false;
        return loop_file(w);
    }
    LOG_INFO("following", "source=journal from_start=%d", (int)w->cfg.from_start);
    int64_t next_hb = mono_ms();
    rc = 0;
    while (!(w->stop && *w->stop)) {
        const char *msg;
        size_t mlen;
        int pid;
        int64_t ts;
        while (journal_source_next(js, &msg, &mlen, &pid, &ts) > 0) {
            w->lines++;
            sshd_event_t ev;
            if (sshd_parse_message(msg, mlen, &ev) &&
                watcher_emit(w, &ev, pid, msg, mlen, ts) == -EPIPE)
                w->last_rc = -EPIPE;
        }
        rc = service_agent(w, 0, &next_hb);
        if (rc < 0)
            break;
        journal_source_wait(js, (int)w->cfg.poll_ms);
    }
    journal_source_close(js);
    return rc;
}

int watcher_loop(watcher_t *w)
{
    return w->journal ? loop_journal(w) : loop_file(w);
}
