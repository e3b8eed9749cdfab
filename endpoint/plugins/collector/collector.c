#include "collector.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "container.h"
#include "cron.h"
#include "kmod.h"
#include "netif.h"
#include "package.h"
#include "port.h"
#include "process.h"
#include "rampart_plugin_detail.h"
#include "service.h"
#include "user.h"

/* Elkeid's kinds, numbers and default periods (elkeid-study §5.3). */
const collector_kind_info_t collector_kinds[KIND_COUNT] = {
    [KIND_PROCESS] = {"process", 5050, 3600},     [KIND_PORT] = {"port", 5051, 3600},
    [KIND_USER] = {"user", 5052, 6 * 3600},       [KIND_CRON] = {"cron", 5053, 6 * 3600},
    [KIND_SERVICE] = {"service", 5054, 6 * 3600}, [KIND_SOFTWARE] = {"software", 5055, 24 * 3600},
    [KIND_CONTAINER] = {"container", 5056, 300},  [KIND_NETIF] = {"net_interface", 5059, 6 * 3600},
    [KIND_KMOD] = {"kmod", 5062, 3600},
};

void collector_config_defaults(collector_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    for (int k = 0; k < KIND_COUNT; k++)
        cfg->interval_s[k] = collector_kinds[k].default_interval_s;
    cfg->max_rate = 1000;
    cfg->start_jitter_s = 0;
    cfg->heartbeat_s = 60;
    snprintf(cfg->proc_root, sizeof(cfg->proc_root), "/proc");
    snprintf(cfg->sys_root, sizeof(cfg->sys_root), "/sys");
    snprintf(cfg->docker_socket, sizeof(cfg->docker_socket), "/var/run/docker.sock");
}

int collector_kind_by_type(int32_t data_type)
{
    for (int k = 0; k < KIND_COUNT; k++)
        if (collector_kinds[k].data_type == data_type)
            return k;
    return -1;
}

int collector_kind_by_name(const char *name)
{
    for (int k = 0; k < KIND_COUNT; k++)
        if (strcmp(collector_kinds[k].name, name) == 0)
            return k;
    return -1;
}

int collector_config_from_detail(collector_config_t *cfg, const char *detail, char *err,
                                 size_t errlen)
{
    json_t *root = rp_detail_parse(detail, err, errlen);
    if (!root)
        return err[0] ? -EINVAL : 0;
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "intervals") == 0) {
            if (!json_is_object(v)) {
                snprintf(err, errlen, "intervals: expected an object of kind: seconds");
                rc = -EINVAL;
                break;
            }
            const char *kn;
            json_t *kv;
            json_object_foreach(v, kn, kv)
            {
                int k = collector_kind_by_name(kn);
                if (k < 0) {
                    snprintf(err, errlen, "intervals.%s: unknown kind", kn);
                    rc = -EINVAL;
                    break;
                }
                rc = rp_detail_int(kv, kn, 0, 30LL * 86400, &cfg->interval_s[k], err, errlen);
                if (rc < 0)
                    break;
            }
        } else if (strcmp(key, "max_rate") == 0) {
            rc = rp_detail_int(v, key, 1, 1000000, &cfg->max_rate, err, errlen);
        } else if (strcmp(key, "start_jitter") == 0) {
            rc = rp_detail_int(v, key, 0, 86400, &cfg->start_jitter_s, err, errlen);
        } else if (strcmp(key, "heartbeat") == 0) {
            rc = rp_detail_int(v, key, 1, 86400, &cfg->heartbeat_s, err, errlen);
        } else if (strcmp(key, "root") == 0) {
            rc = rp_detail_string(v, key, cfg->root, sizeof(cfg->root), err, errlen);
        } else if (strcmp(key, "proc_root") == 0) {
            rc = rp_detail_string(v, key, cfg->proc_root, sizeof(cfg->proc_root), err, errlen);
        } else if (strcmp(key, "docker_socket") == 0) {
            rc = rp_detail_string(v, key, cfg->docker_socket, sizeof(cfg->docker_socket), err,
                                  errlen);
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

int collector_gather(const collector_config_t *cfg, collector_kind_t kind, asset_set_t *out)
{
    char passwd[512];
    user_map_t users;
    int rc;
    switch (kind) {
    case KIND_PROCESS:
    case KIND_PORT:
        snprintf(passwd, sizeof(passwd), "%s/etc/passwd", cfg->root);
        if (user_map_load(&users, passwd) < 0)
            memset(&users, 0, sizeof(users));
        rc = kind == KIND_PROCESS ? process_collect(cfg->proc_root, &users, out)
                                  : port_collect(cfg->proc_root, &users, out);
        user_map_dispose(&users);
        return rc;
    case KIND_USER:
        return user_collect(cfg->root, out);
    case KIND_CRON:
        return cron_collect(cfg->root, out);
    case KIND_SERVICE:
        return service_collect(cfg->root, out);
    case KIND_SOFTWARE:
        return package_collect(cfg->root, out);
    case KIND_CONTAINER:
        return container_collect(cfg->proc_root, cfg->docker_socket, out);
    case KIND_NETIF:
        return netif_collect(cfg->sys_root, out);
    case KIND_KMOD:
        return kmod_collect(cfg->proc_root, out);
    case KIND_COUNT:
        break;
    }
    return -EINVAL;
}

struct collector {
    collector_config_t cfg;
    rp_plugin_t *plugin;
    rp_record_t *rec;
    volatile sig_atomic_t *stop;
    uint64_t last_seq;
    int64_t next_due_ms[KIND_COUNT];
    int64_t next_heartbeat_ms;
    /* rate window */
    int64_t window_start_ms;
    int64_t window_count;
    /* heartbeat figures */
    uint64_t snapshots;
    uint64_t errors;
    uint64_t last_count[KIND_COUNT];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A spread of up to a tenth of the period (at most 10 minutes), so that a fleet started at
 * once does not collect in lockstep. */
static int64_t jitter_ms(int64_t period_s)
{
    int64_t span = period_s * 100; /* a tenth, in ms */
    if (span > 600000)
        span = 600000;
    return span > 0 ? (int64_t)(random() % span) : 0;
}

collector_t *collector_new(const collector_config_t *cfg, rp_plugin_t *plugin,
                           volatile sig_atomic_t *stop)
{
    collector_t *c = xcalloc(1, sizeof(*c));
    c->cfg = *cfg;
    c->plugin = plugin;
    c->rec = rp_record_new();
    c->stop = stop;
    int64_t now = mono_ms();
    for (int k = 0; k < KIND_COUNT; k++)
        c->next_due_ms[k] =
            cfg->interval_s[k] > 0
                ? now + (cfg->start_jitter_s > 0 ? random() % (cfg->start_jitter_s * 1000) : 0)
                : INT64_MAX;
    c->next_heartbeat_ms = now;
    return c;
}

void collector_free(collector_t *c)
{
    if (!c)
        return;
    rp_record_free(c->rec);
    free(c);
}

/* Waits, when the current one-second window already holds max_rate records. */
static int pace(collector_t *c)
{
    int64_t now = mono_ms();
    if (now - c->window_start_ms >= 1000) {
        c->window_start_ms = now;
        c->window_count = 0;
    }
    if (++c->window_count <= c->cfg.max_rate)
        return 0;
    int rc = rp_flush(c->plugin);
    if (rc < 0)
        return rc;
    int64_t wait = 1000 - (now - c->window_start_ms);
    if (wait > 0)
        poll(NULL, 0, (int)wait);
    c->window_start_ms = mono_ms();
    c->window_count = 1;
    return 0;
}

int collector_run(collector_t *c, collector_kind_t kind, uint64_t *seq_out)
{
    const collector_kind_info_t *ki = &collector_kinds[kind];
    int64_t t0 = mono_ms();
    asset_set_t set = {0};
    int rc = collector_gather(&c->cfg, kind, &set);
    if (rc < 0) {
        c->errors++;
        LOG_WARN("collect_failed", "kind=%s errno=%d", ki->name, -rc);
        /* what was gathered before the error is still the best snapshot there is */
    }
    uint64_t seq = (uint64_t)wall_ms();
    if (seq <= c->last_seq)
        seq = c->last_seq + 1;
    c->last_seq = seq;
    if (seq_out)
        *seq_out = seq;
    size_t total = set.n;
    int wrc = 0;
    for (size_t i = 0; i < (total ? total : 1); i++) {
        rp_record_begin(c->rec, ki->data_type);
        if (total) {
            const asset_t *a = &set.items[i];
            for (size_t f = 0; f < a->n; f++)
                rp_record_add(c->rec, a->kv[f].key, a->kv[f].value);
        }
        rp_record_add_uint(c->rec, "package_seq", seq);
        rp_record_add_uint(c->rec, "snapshot_index", total ? i + 1 : 0);
        rp_record_add_uint(c->rec, "snapshot_total", total);
        wrc = pace(c);
        if (wrc == 0)
            wrc = rp_record_end(c->plugin, c->rec);
        if (wrc == -EMSGSIZE) { /* cannot happen with bounded values; never stop a snapshot */
            c->errors++;
            wrc = 0;
        }
        if (wrc < 0 || (c->stop && *c->stop))
            break;
    }
    if (wrc == 0)
        wrc = rp_flush(c->plugin);
    asset_set_dispose(&set);
    if (wrc < 0)
        return wrc;
    c->snapshots++;
    c->last_count[kind] = total;
    LOG_INFO("snapshot", "kind=%s data_type=%d records=%zu package_seq=%" PRIu64 " ms=%" PRId64,
             ki->name, ki->data_type, total, seq, mono_ms() - t0);
    return (int)total;
}

int collector_handle_task(collector_t *c, const rp_task_t *t)
{
    int k = collector_kind_by_type(t->data_type);
    if (k < 0) {
        LOG_WARN("task_refused", "data_type=%d reason=unknown_type", t->data_type);
        return rp_task_reply(c->plugin, t, false, "unknown data_type for the collector");
    }
    uint64_t seq = 0;
    int n = collector_run(c, (collector_kind_t)k, &seq);
    if (n == -EPIPE)
        return n;
    char msg[160];
    if (n < 0)
        snprintf(msg, sizeof(msg), "kind=%s error=%d", collector_kinds[k].name, -n);
    else
        snprintf(msg, sizeof(msg), "kind=%s records=%d package_seq=%" PRIu64,
                 collector_kinds[k].name, n, seq);
    return rp_task_reply(c->plugin, t, n >= 0, msg);
}

static int heartbeat(collector_t *c)
{
    rp_heartbeat_begin(c->plugin, c->rec);
    rp_record_add_uint(c->rec, "snapshots", c->snapshots);
    rp_record_add_uint(c->rec, "errors", c->errors);
    for (int k = 0; k < KIND_COUNT; k++) {
        char key[64];
        snprintf(key, sizeof(key), "last_%s", collector_kinds[k].name);
        rp_record_add_uint(c->rec, key, c->last_count[k]);
    }
    int rc = rp_record_end(c->plugin, c->rec);
    return rc == 0 ? rp_flush(c->plugin) : rc;
}

int collector_loop(collector_t *c)
{
    while (!(c->stop && *c->stop)) {
        int64_t now = mono_ms();
        for (int k = 0; k < KIND_COUNT && !(c->stop && *c->stop); k++) {
            if (c->next_due_ms[k] > now)
                continue;
            int rc = collector_run(c, (collector_kind_t)k, NULL);
            if (rc == -EPIPE)
                return rc;
            now = mono_ms();
            c->next_due_ms[k] = now + c->cfg.interval_s[k] * 1000 + jitter_ms(c->cfg.interval_s[k]);
        }
        if (now >= c->next_heartbeat_ms) {
            if (heartbeat(c) == -EPIPE)
                return -EPIPE;
            c->next_heartbeat_ms = now + c->cfg.heartbeat_s * 1000;
        }
        int64_t due = c->next_heartbeat_ms;
        for (int k = 0; k < KIND_COUNT; k++)
            if (c->next_due_ms[k] < due)
                due = c->next_due_ms[k];
        int64_t wait = due - mono_ms();
        if (wait < 0)
            wait = 0;
        rp_task_t t;
        int rc = rp_task_read(c->plugin, (int)wait, &t);
        if (rc == 1) {
            rc = collector_handle_task(c, &t);
            rp_task_dispose(&t);
            if (rc == -EPIPE)
                return rc;
        } else if (rc == -EPIPE || rc == -EPROTO) {
            LOG_INFO("agent_gone", "reason=%s", rc == -EPIPE ? "pipe_closed" : "bad_task_frame");
            return rc;
        }
    }
    return 0;
}
