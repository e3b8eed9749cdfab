#include "driver.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "common/log.h"
#include "rootkit.h"

void driver_config_init(driver_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    /* every type but accept, kill and unlink, which Elkeid also leaves off by default: they
     * are frequent and no default rule reads them (--events all switches them on) */
    cfg->sensor.ev_mask = ((1u << RS_EV__COUNT) - 1) &
                          ~((1u << RS_EV_ACCEPT) | (1u << RS_EV_KILL) | (1u << RS_EV_UNLINK));
    cfg->sensor.anti_rootkit = true;
    cfg->proc_root = "/proc";
    cfg->exe_hash = true;
    cfg->heartbeat_secs = 60;
    cfg->rootkit_secs = 900;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void refresh_nodename(driver_t *d)
{
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(d->en.host_nodename, sizeof(d->en.host_nodename), "%s", u.nodename);
}

static void on_record(void *ctx, const void *data, size_t len)
{
    driver_t *d = ctx;
    event_t ev;
    if (event_parse(data, len, &ev) < 0) {
        d->bad_records++;
        return;
    }
    format_event(&ev, &d->en, d->rec);
    if (rp_record_end(d->plugin, d->rec) == 0)
        d->records_out++;
    else
        d->write_errors++;
}

int driver_init(driver_t *d, const driver_config_t *cfg, rp_plugin_t *plugin)
{
    memset(d, 0, sizeof(*d));
    d->cfg = *cfg;
    d->plugin = plugin;
    d->rec = rp_record_new();
    d->en.procs = procs_new(cfg->proc_root);
    d->en.users = users_new();
    d->en.exe = cfg->exe_hash ? exehash_new() : NULL;
    d->en.containers = containers_new(cfg->proc_root, NULL);
    d->en.proc_root = cfg->proc_root;
    refresh_nodename(d);
    char err[256];
    int rc = sensor_new(&cfg->sensor, on_record, d, &d->sensor, err, sizeof(err));
    if (rc < 0) {
        char q[300];
        LOG_ERROR("driver_load_failed", "err=%d reason=%s", rc, log_quote(q, sizeof(q), err));
        return rc;
    }
    for (unsigned i = 0; i < cfg->ndeny; i++)
        if ((rc = sensor_exe_add(d->sensor, true, cfg->deny_exe[i])) < 0)
            return rc;
    for (unsigned i = 0; i < cfg->nallow; i++)
        if ((rc = sensor_exe_add(d->sensor, false, cfg->allow_exe[i])) < 0)
            return rc;
    unsigned ok, failed;
    sensor_programs(d->sensor, &ok, &failed);
    LOG_INFO("driver_started", "programs=%u load_failures=%u events=0x%x rate_limit=%u", ok, failed,
             cfg->sensor.ev_mask, cfg->sensor.rate_limit);
    return 0;
}

void driver_dispose(driver_t *d)
{
    sensor_free(d->sensor);
    rp_record_free(d->rec);
    procs_free(d->en.procs);
    users_free(d->en.users);
    exehash_free(d->en.exe);
    containers_free(d->en.containers);
    memset(d, 0, sizeof(*d));
}

void driver_heartbeat(driver_t *d)
{
    struct rs_counters c[RS_EV__COUNT];
    sensor_counters(d->sensor, c);
    uint64_t events = 0, drops = 0, rl = 0, filtered = 0;
    rp_heartbeat_begin(d->plugin, d->rec);
    for (unsigned i = 0; i < RS_EV__COUNT; i++) {
        events += c[i].events;
        drops += c[i].rb_drops;
        rl += c[i].rl_drops;
        filtered += c[i].filtered;
        char key[48];
        snprintf(key, sizeof(key), "events_%s", event_name(i));
        rp_record_add_uint(d->rec, key, c[i].events);
        if (c[i].rb_drops || c[i].rl_drops) {
            snprintf(key, sizeof(key), "drops_%s", event_name(i));
            rp_record_add_uint(d->rec, key, c[i].rb_drops + c[i].rl_drops);
        }
    }
    unsigned ok, failed;
    sensor_programs(d->sensor, &ok, &failed);
    char progs[2048];
    size_t used = 0;
    progs[0] = '\0';
    const char *state;
    const char *name;
    for (unsigned i = 0; (name = sensor_program(d->sensor, i, &state)); i++) {
        /* per-program run counts and time: the kernel counts them only while BPF statistics
         * are on (sysctl kernel.bpf_stats_enabled=1) */
        uint64_t run_ns, run_cnt;
        if (sensor_program_stats(d->sensor, i, &run_ns, &run_cnt) == 0 && run_cnt) {
            char key[48];
            snprintf(key, sizeof(key), "runs_%s", name);
            rp_record_add_uint(d->rec, key, run_cnt);
            snprintf(key, sizeof(key), "ns_per_run_%s", name);
            rp_record_add_uint(d->rec, key, run_ns / run_cnt);
        }
        int n = snprintf(progs + used, sizeof(progs) - used, "%s%s:%s", i ? "," : "", name, state);
        if (n < 0 || (size_t)n >= sizeof(progs) - used)
            break;
        used += (size_t)n;
    }
    struct utsname u;
    uname(&u);
    rp_record_add_uint(d->rec, "events", events);
    rp_record_add_uint(d->rec, "drops", drops);
    rp_record_add_uint(d->rec, "rate_limit_drops", rl);
    rp_record_add_uint(d->rec, "filtered", filtered);
    rp_record_add_uint(d->rec, "programs_attached", ok);
    rp_record_add_uint(d->rec, "load_failures", failed);
    rp_record_add(d->rec, "programs", progs);
    rp_record_add_uint(d->rec, "records_out", d->records_out);
    rp_record_add_uint(d->rec, "bad_records", d->bad_records);
    rp_record_add_uint(d->rec, "write_errors", d->write_errors);
    rp_record_add_uint(d->rec, "proc_cache", procs_count(d->en.procs));
    rp_record_add_uint(d->rec, "hidden_procs", d->hidden_procs);
    rp_record_add(d->rec, "anti_rootkit",
                  d->rootkit_status == 0          ? "task_iter"
                  : d->rootkit_status == -ENOTSUP ? "unsupported"
                                                  : "error");
    rp_record_add(d->rec, "kernel", u.release);
    rp_record_end(d->plugin, d->rec);
}

static void on_hidden(void *ctx, const struct rs_task_seen *t)
{
    driver_t *d = ctx;
    char comm[17];
    memcpy(comm, t->comm, 16);
    comm[16] = '\0';
    char q[40];
    LOG_WARN("hidden_process", "pid=%u ppid=%u comm=%s", t->tgid, t->ppid,
             log_quote(q, sizeof(q), comm));
    rp_record_begin(d->rec, ROOTKIT_DATA_TYPE);
    rp_record_add_uint(d->rec, "pid", t->tgid);
    rp_record_add_uint(d->rec, "ppid", t->ppid);
    rp_record_add(d->rec, "comm", comm);
    rp_record_add(d->rec, "method", "bpf_task_iter_vs_proc");
    rp_record_end(d->plugin, d->rec);
}

static void rootkit_pass(driver_t *d)
{
    int rc = rootkit_scan(d->sensor, d->cfg.proc_root, on_hidden, d);
    d->rootkit_status = rc < 0 ? rc : 0;
    if (rc >= 0)
        d->hidden_procs = (uint64_t)rc;
    LOG_INFO("rootkit_scan", "hidden=%d status=%d", rc > 0 ? rc : 0, rc < 0 ? rc : 0);
}

int driver_run(driver_t *d, volatile sig_atomic_t *stop)
{
    uint64_t next_hb = now_ms() + 2000; /* a first heartbeat soon after start */
    uint64_t next_rk = d->cfg.rootkit_secs ? now_ms() + 5000 : UINT64_MAX;
    int rc = 0;
    while (!*stop && !rp_plugin_closed(d->plugin)) {
        struct pollfd pf[2] = {{.fd = sensor_fd(d->sensor), .events = POLLIN},
                               {.fd = rp_task_fd(d->plugin), .events = POLLIN}};
        int n = poll(pf, pf[1].fd >= 0 ? 2 : 1, 50);
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        int got = sensor_poll(d->sensor, 0);
        if (got < 0 && got != -EINTR) {
            rc = got;
            LOG_ERROR("ringbuf_poll_failed", "err=%d", got);
            break;
        }
        if (n > 0 && pf[1].fd >= 0 && (pf[1].revents & (POLLIN | POLLHUP))) {
            rp_task_t t;
            int tr;
            while ((tr = rp_task_read(d->plugin, 0, &t)) == 1) {
                rp_task_reply(d->plugin, &t, false, "the driver plugin takes no tasks");
                rp_task_dispose(&t);
            }
            if (tr == -EPIPE || tr == -EPROTO)
                break;
        }
        rp_flush_if_due(d->plugin);
        uint64_t now = now_ms();
        if (now >= next_rk) {
            rootkit_pass(d);
            next_rk = now + (uint64_t)d->cfg.rootkit_secs * 1000;
        }
        if (now >= next_hb) {
            refresh_nodename(d);
            driver_heartbeat(d);
            next_hb = now + (uint64_t)d->cfg.heartbeat_secs * 1000;
        }
    }
    sensor_poll(d->sensor, 0);
    rp_flush(d->plugin);
    return rc;
}
