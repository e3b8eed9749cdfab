/* heartbeat: what the agent knows about its host and itself, and the Payload encoding of its
 * own records (1000 heartbeat, 1001 plugin heartbeat, 5100 task result).
 *
 * Host facts come from uname(2), /etc/os-release, /proc (meminfo, stat, loadavg, cpuinfo)
 * and getifaddrs(3); the agent's own figures from /proc/self. Field names follow Elkeid's
 * heartbeat where it has one (docs/agent.md lists them all). */
#ifndef RAMPART_AGENT_HEARTBEAT_H
#define RAMPART_AGENT_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "endpoint/agent/transport.h"

/* Appends one map<string,string> entry of a Payload to b (payload bytes are a sequence of
 * entries, so appending is merging: a later key wins). */
void payload_put(strbuf_t *b, const char *key, const char *value);
void payload_putf(strbuf_t *b, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends the host facts: kernel_version, arch, platform, platform_family, platform_version,
 * hostname, boot_time, nproc, total_mem, cpu_name, load_1/5/15, running_procs, total_procs,
 * intranet_ipv4, extranet_ipv4, intranet_ipv6, extranet_ipv6 (comma lists). */
void heartbeat_host_facts(strbuf_t *b);

/* Hostname and IPs for PackagedData (free with transport_meta_dispose). Loopback and
 * link-local addresses are left out; RFC 1918, 100.64/10 and fc00::/7 are intranet. */
void heartbeat_host_meta(transport_meta_t *m);

/* The agent process: CPU percent of one core since the previous call (prev_* updated), RSS
 * bytes, open fds. */
typedef struct {
    uint64_t ticks;
    int64_t at_ms;
} cpu_sample_t;
double heartbeat_self_cpu(cpu_sample_t *prev);
uint64_t heartbeat_self_rss(void);
int heartbeat_self_nfd(void);

#endif
