/* rampart-driver: the driver plugin. Parses its command line and wires the modules; see
 * docs/driver.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "driver.h"
#include "event.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: rampart-driver [options]   (fd 3: tasks in, fd 4: records out)\n"
               "  --events LIST        event types to report (comma-separated names, or all;\n"
               "                       default: all but accept, kill, unlink)\n"
               "  --disable LIST       event types not to report\n"
               "  --rate-limit N       records per exe per second (0 = no limit)\n"
               "  --deny-exe PATH      never report this exe (repeatable)\n"
               "  --allow-exe PATH     report only these exes (repeatable)\n"
               "  --ringbuf-kb N       ring buffer size in KiB, a power of two (default 4096)\n"
               "  --heartbeat-secs N   plugin heartbeat period (default 60)\n"
               "  --rootkit-secs N     anti-rootkit scan period, 0 = off (default 900)\n"
               "  --no-exe-hash        do not compute exe_hash\n"
               "  --btf PATH           BTF file checked before loading (default\n"
               "                       /sys/kernel/btf/vmlinux)\n"
               "  --log-level LEVEL    debug, info, warn, error (default info)\n"
               "event names:");
    for (unsigned i = 0; i < RS_EV__COUNT; i++)
        fprintf(f, " %s", event_name(i));
    fprintf(f, "\n");
}

/* Parses a comma-separated list of event names into a mask. 0 or -EINVAL. */
static int parse_events(const char *list, uint32_t *mask)
{
    *mask = 0;
    if (strcmp(list, "all") == 0) {
        *mask = (1u << RS_EV__COUNT) - 1;
        return 0;
    }
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return -ENOMEM;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int ev = event_by_name(tok);
        if (ev < 0) {
            fprintf(stderr, "rampart-driver: unknown event type '%s'\n", tok);
            rc = -EINVAL;
            break;
        }
        *mask |= 1u << ev;
    }
    free(copy);
    return rc;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || end == s || v > max)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    driver_config_t cfg;
    driver_config_init(&cfg);
    log_level_t level = LOG_LEVEL_INFO;
    enum {
        O_EVENTS = 1,
        O_DISABLE,
        O_RATE,
        O_DENY,
        O_ALLOW,
        O_RB,
        O_HB,
        O_RK,
        O_NOHASH,
        O_BTF,
        O_LOG,
        O_HELP
    };
    static const struct option opts[] = {
        {"events", required_argument, NULL, O_EVENTS},
        {"disable", required_argument, NULL, O_DISABLE},
        {"rate-limit", required_argument, NULL, O_RATE},
        {"deny-exe", required_argument, NULL, O_DENY},
        {"allow-exe", required_argument, NULL, O_ALLOW},
        {"ringbuf-kb", required_argument, NULL, O_RB},
        {"heartbeat-secs", required_argument, NULL, O_HB},
        {"rootkit-secs", required_argument, NULL, O_RK},
        {"no-exe-hash", no_argument, NULL, O_NOHASH},
        {"btf", required_argument, NULL, O_BTF},
        {"log-level", required_argument, NULL, O_LOG},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    int c;
    unsigned v;
    uint32_t mask;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_EVENTS:
            if (parse_events(optarg, &mask) < 0)
                return 2;
            cfg.sensor.ev_mask = mask;
            break;
        case O_DISABLE:
            if (parse_events(optarg, &mask) < 0)
                return 2;
            cfg.sensor.ev_mask &= ~mask;
            break;
        case O_RATE:
            if (parse_uint(optarg, 10000000, &v) < 0)
                goto bad;
            cfg.sensor.rate_limit = v;
            break;
        case O_DENY:
            if (cfg.ndeny == 64)
                goto bad;
            cfg.deny_exe[cfg.ndeny++] = optarg;
            break;
        case O_ALLOW:
            if (cfg.nallow == 64)
                goto bad;
            cfg.allow_exe[cfg.nallow++] = optarg;
            break;
        case O_RB:
            if (parse_uint(optarg, 1u << 20, &v) < 0 || v < 4 || (v & (v - 1)))
                goto bad;
            cfg.sensor.ringbuf_bytes = v * 1024;
            break;
        case O_HB:
            if (parse_uint(optarg, 86400, &v) < 0 || v == 0)
                goto bad;
            cfg.heartbeat_secs = v;
            break;
        case O_RK:
            if (parse_uint(optarg, 86400 * 7, &v) < 0)
                goto bad;
            cfg.rootkit_secs = v;
            cfg.sensor.anti_rootkit = v != 0;
            break;
        case O_NOHASH:
            cfg.exe_hash = false;
            break;
        case O_BTF:
            cfg.sensor.btf_path = optarg;
            break;
        case O_LOG:
            if (log_level_parse(optarg, &level) < 0)
                goto bad;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            goto bad;
        }
    }
    if (optind != argc)
        goto bad;
    log_init("driver", level, 2);
    if (fcntl(RP_RECORD_FD, F_GETFD) < 0) {
        LOG_ERROR("no_record_fd", "msg=\"fd 4 is not open: run under rampart-agent or give a "
                                  "pipe on fd 4\"");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int task_fd = fcntl(RP_TASK_FD, F_GETFD) < 0 ? -1 : RP_TASK_FD;
    rp_plugin_t *plugin = rp_plugin_new_fds("driver", RAMPART_VERSION, task_fd, RP_RECORD_FD);
    driver_t d;
    int rc = driver_init(&d, &cfg, plugin);
    if (rc == 0)
        rc = driver_run(&d, &stop_flag);
    driver_dispose(&d);
    rp_plugin_free(plugin);
    LOG_INFO("driver_stopped", "rc=%d", rc);
    return rc == 0 ? 0 : (rc == -ENOTSUP ? 3 : 1);
bad:
    usage(stderr);
    return 2;
}
