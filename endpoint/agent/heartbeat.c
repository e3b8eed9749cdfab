#include "endpoint/agent/heartbeat.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common/pbwire.h"
#include "common/xalloc.h"

void payload_put(strbuf_t *b, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value);
    size_t entry = 1 + pbwire_varint_size(kl) + kl + 1 + pbwire_varint_size(vl) + vl;
    uint8_t h[16];
    strbuf_append(b, h, pbwire_put_len_header(h, 1, entry));
    strbuf_append(b, h, pbwire_put_len_header(h, 1, kl));
    strbuf_append(b, key, kl);
    strbuf_append(b, h, pbwire_put_len_header(h, 2, vl));
    strbuf_append(b, value, vl);
}

void payload_putf(strbuf_t *b, const char *key, const char *fmt, ...)
{
    char v[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    payload_put(b, key, v);
}

/* The value of "key" in a "key: value" or "key=value" file (first match), unquoted. */
static int file_value(const char *path, const char *key, char sep, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    size_t kl = strlen(key);
    int rc = -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, kl) != 0)
            continue;
        char *p = line + kl;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != sep)
            continue;
        p++;
        while (*p == ' ' || *p == '\t' || *p == '"')
            p++;
        p[strcspn(p, "\"\n")] = '\0';
        snprintf(out, len, "%s", p);
        rc = 0;
        break;
    }
    fclose(f);
    return rc;
}

static int is_intranet4(uint32_t a)
{
    return (a >> 24) == 10 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 ||
           (a >> 22) == (100u << 2 | 1u);
}

void heartbeat_host_meta(transport_meta_t *m)
{
    memset(m, 0, sizeof(*m));
    if (gethostname(m->hostname, sizeof(m->hostname) - 1) < 0)
        snprintf(m->hostname, sizeof(m->hostname), "unknown");
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        char buf[INET6_ADDRSTRLEN];
        if (i->ifa_addr->sa_family == AF_INET) {
            const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)i->ifa_addr;
            uint32_t a = ntohl(s->sin_addr.s_addr);
            if ((a >> 16) == 0xa9fe || (a >> 24) == 127)
                continue;
            inet_ntop(AF_INET, &s->sin_addr, buf, sizeof(buf));
            if (is_intranet4(a) && m->n_in4 < 16)
                m->intranet_ipv4[m->n_in4++] = xstrdup(buf);
            else if (!is_intranet4(a) && m->n_ex4 < 16)
                m->extranet_ipv4[m->n_ex4++] = xstrdup(buf);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)i->ifa_addr;
            const uint8_t *b = s->sin6_addr.s6_addr;
            if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
                continue; /* link-local */
            inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof(buf));
            bool ula = (b[0] & 0xfe) == 0xfc;
            if (ula && m->n_in6 < 16)
                m->intranet_ipv6[m->n_in6++] = xstrdup(buf);
            else if (!ula && m->n_ex6 < 16)
                m->extranet_ipv6[m->n_ex6++] = xstrdup(buf);
        }
    }
    freeifaddrs(ifs);
}

static void put_list(strbuf_t *b, const char *key, char *const *v, size_t n)
{
    strbuf_t s = STRBUF_INIT;
    strbuf_appends(&s, "");
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_appends(&s, ",");
        strbuf_appends(&s, v[i]);
    }
    payload_put(b, key, s.data);
    strbuf_dispose(&s);
}

void heartbeat_host_facts(strbuf_t *b)
{
    struct utsname u;
    if (uname(&u) == 0) {
        payload_put(b, "kernel_version", u.release);
        payload_put(b, "arch", u.machine);
    }
    char v[256];
    if (file_value("/etc/os-release", "ID", '=', v, sizeof(v)) == 0)
        payload_put(b, "platform", v);
    if (file_value("/etc/os-release", "ID_LIKE", '=', v, sizeof(v)) == 0)
        payload_put(b, "platform_family", v);
    else if (file_value("/etc/os-release", "ID", '=', v, sizeof(v)) == 0)
        payload_put(b, "platform_family", v);
    if (file_value("/etc/os-release", "VERSION_ID", '=', v, sizeof(v)) == 0)
        payload_put(b, "platform_version", v);
    if (file_value("/etc/os-release", "PRETTY_NAME", '=', v, sizeof(v)) == 0)
        payload_put(b, "platform_name", v);
    FILE *st = fopen("/proc/stat", "r");
    char line[256];
    while (st && fgets(line, sizeof(line), st))
        if (strncmp(line, "btime ", 6) == 0) {
            line[strcspn(line, "\n")] = '\0';
            payload_put(b, "boot_time", line + 6);
        }
    if (st)
        fclose(st);
    payload_putf(b, "nproc", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    if (file_value("/proc/meminfo", "MemTotal", ':', v, sizeof(v)) == 0)
        payload_putf(b, "total_mem", "%llu", strtoull(v, NULL, 10) * 1024ULL);
    if (file_value("/proc/meminfo", "MemAvailable", ':', v, sizeof(v)) == 0)
        payload_putf(b, "available_mem", "%llu", strtoull(v, NULL, 10) * 1024ULL);
    if (file_value("/proc/cpuinfo", "model name", ':', v, sizeof(v)) == 0)
        payload_put(b, "cpu_name", v);
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        double l1, l5, l15;
        unsigned run, total;
        if (fscanf(f, "%lf %lf %lf %u/%u", &l1, &l5, &l15, &run, &total) == 5) {
            payload_putf(b, "load_1", "%.2f", l1);
            payload_putf(b, "load_5", "%.2f", l5);
            payload_putf(b, "load_15", "%.2f", l15);
            payload_putf(b, "running_procs", "%u", run);
            payload_putf(b, "total_procs", "%u", total);
        }
        fclose(f);
    }
    transport_meta_t m;
    heartbeat_host_meta(&m);
    payload_put(b, "hostname", m.hostname);
    put_list(b, "intranet_ipv4", m.intranet_ipv4, m.n_in4);
    put_list(b, "extranet_ipv4", m.extranet_ipv4, m.n_ex4);
    put_list(b, "intranet_ipv6", m.intranet_ipv6, m.n_in6);
    put_list(b, "extranet_ipv6", m.extranet_ipv6, m.n_ex6);
    transport_meta_dispose(&m);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double heartbeat_self_cpu(cpu_sample_t *prev)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *s = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    uint64_t ticks = ut + st;
    int64_t now = mono_ms();
    double pct = 0;
    if (prev->at_ms && now > prev->at_ms && ticks >= prev->ticks)
        pct = (double)(ticks - prev->ticks) * 1000.0 / (double)sysconf(_SC_CLK_TCK) * 100.0 /
              (double)(now - prev->at_ms);
    prev->ticks = ticks;
    prev->at_ms = now;
    return pct;
}

uint64_t heartbeat_self_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (uint64_t)sysconf(_SC_PAGESIZE);
}

int heartbeat_self_nfd(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own fd */
}
