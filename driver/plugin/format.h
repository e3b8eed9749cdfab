/* format: turns a sensor event into a Record's fields (Elkeid names), enriched with what the
 * plugin's caches know: argv, user name, exe hash, pid_tree, container. */
#ifndef RAMPART_DRIVER_FORMAT_H
#define RAMPART_DRIVER_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "event.h"
#include "exehash.h"
#include "procs.h"
#include "rampart_plugin.h"
#include "users.h"

typedef struct {
    procs_t *procs;
    users_t *users;
    exehash_t *exe; /* NULL: no exe_hash field */
    containers_t *containers;
    const char *proc_root;  /* "/proc" */
    char host_nodename[65]; /* for records from the initial UTS namespace (uname) */
} enrich_t;

/* Begins r with the event's data_type and adds every field. */
void format_event(const event_t *ev, enrich_t *en, rp_record_t *r);

/* Parses the question of a DNS query (the bytes after the 12-byte header): the name in dotted
 * form (no trailing dot, non-printable bytes as '?') and its type. 0 or -EINVAL. */
int dns_question(const uint8_t *p, size_t n, char *name, size_t cap, uint16_t *qtype);

/* "a.b.c.d" or an IPv6 address of a family and address bytes; "-" for an unknown family. */
void format_addr(uint16_t family, const uint8_t addr[16], char *out, size_t outlen);

/* "uid|euid|suid|fsuid|gid|egid|sgid|fsgid" from the four packed words of a 611 record. */
void format_cred(const __u64 w[4], char *out, size_t outlen);

#endif
