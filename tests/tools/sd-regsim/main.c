/* rampart-sd-regsim: keeps N service instances registered through the service-discovery
 * client, the way N real services would, until it is stopped or killed. Integration tests
 * use it to register through chosen SD instances and to simulate instances that die.
 *
 *   rampart-sd-regsim --sd 127.0.0.1:8088 [--sd ...] --keys FILE --services a,b,c
 *                     --instances 500 --ip-base 10.1 --port-base 20000 --renew-ms 1500
 *
 * Logs event=all_registered once every instance is confirmed. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/sd_client.h"
#include "common/xalloc.h"

#define MAX_SD 8

/* Reads the first "access_key secret" line of a keys file. */
static int read_key(const char *path, char *ak, size_t aklen, char *sk, size_t sklen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char line[512];
    int rc = -EINVAL;
    while (fgets(line, sizeof(line), f)) {
        char a[128], s[256];
        if (line[0] == '#' || sscanf(line, "%127s %255s", a, s) != 2)
            continue;
        snprintf(ak, aklen, "%s", a);
        snprintf(sk, sklen, "%s", s);
        rc = 0;
        break;
    }
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    const char *sds[MAX_SD];
    size_t nsd = 0;
    const char *keys = NULL, *services = "svc", *ip_base = "10.1";
    long instances = 1, port_base = 20000, renew_ms = 10000;
    static const struct option lo[] = {
        {"sd", required_argument, NULL, 's'},       {"keys", required_argument, NULL, 'k'},
        {"services", required_argument, NULL, 'S'}, {"instances", required_argument, NULL, 'n'},
        {"ip-base", required_argument, NULL, 'i'},  {"port-base", required_argument, NULL, 'p'},
        {"renew-ms", required_argument, NULL, 'r'}, {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (opt) {
        case 's':
            if (nsd < MAX_SD)
                sds[nsd++] = optarg;
            break;
        case 'k':
            keys = optarg;
            break;
        case 'S':
            services = optarg;
            break;
        case 'n':
            instances = strtol(optarg, NULL, 10);
            break;
        case 'i':
            ip_base = optarg;
            break;
        case 'p':
            port_base = strtol(optarg, NULL, 10);
            break;
        case 'r':
            renew_ms = strtol(optarg, NULL, 10);
            break;
        default:
            fprintf(stderr, "usage: see the comment at the top of tests/tools/sd-regsim/main.c\n");
            return 2;
        }
    }
    log_init("sd-regsim", LOG_LEVEL_INFO, 2);
    char ak[128], sk[256];
    if (nsd == 0 || !keys || read_key(keys, ak, sizeof(ak), sk, sizeof(sk)) < 0 || instances < 1 ||
        instances > 60000) {
        fprintf(stderr, "rampart-sd-regsim: need --sd, a readable --keys file, 1..60000 "
                        "--instances\n");
        return 2;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    sd_client_opts_t o = {.addrs = sds,
                          .naddrs = nsd,
                          .access_key = ak,
                          .secret_key = sk,
                          .renew_interval_ms = (int)renew_ms,
                          .timeout_ms = 2000};
    sd_client_t *c = sd_client_new(&o);
    char *list = xstrdup(services);
    char *names[16];
    size_t nnames = 0;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t && nnames < 16;
         t = strtok_r(NULL, ",", &save))
        names[nnames++] = t;
    for (long i = 0; i < instances; i++) {
        char ip[64];
        snprintf(ip, sizeof(ip), "%s.%ld.%ld", ip_base, (i / 250) % 256, i % 250 + 1);
        char meta[64];
        snprintf(meta, sizeof(meta), "{\"sim\":\"%s\",\"n\":%ld}", ip_base, i);
        if (sd_client_register(c, names[i % (long)nnames], ip, (uint16_t)(port_base + i % 1000),
                               1 + (int)(i % 7), meta) < 0) {
            fprintf(stderr, "rampart-sd-regsim: cannot register %s\n", ip);
            return 1;
        }
    }
    /* Report once everything is confirmed, then just keep renewing. */
    bool reported = false;
    struct timespec tick = {0, 100 * 1000 * 1000};
    for (;;) {
        if (!reported && sd_client_registered(c) == (size_t)instances) {
            LOG_INFO("all_registered", "instances=%ld", instances);
            reported = true;
        }
        siginfo_t si;
        if (sigtimedwait(&set, &si, &tick) > 0)
            break;
    }
    LOG_INFO("stopping", "registered=%zu", sd_client_registered(c));
    sd_client_free(c);
    free(list);
    return 0;
}
