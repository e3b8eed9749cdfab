/* port (5051): listening sockets from /proc/net/{tcp,tcp6,udp,udp6} (TCP in LISTEN, UDP bound
 * with no peer), each mapped to the process holding it through the socket inodes in
 * /proc/<pid>/fd. */
#ifndef RAMPART_COLLECTOR_PORT_H
#define RAMPART_COLLECTOR_PORT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "asset.h"
#include "user.h"

typedef struct {
    int family; /* AF_INET or AF_INET6 */
    char sip[INET6_ADDRSTRLEN];
    int sport;
    char dip[INET6_ADDRSTRLEN];
    int dport;
    int state; /* the kernel's TCP state number (10 = LISTEN; UDP: 7 = unconnected) */
    long uid;
    uint64_t inode;
} port_entry_t;

/* One data line of a /proc/net table (the header line gives -EINVAL). family selects how the
 * hex addresses read (as the kernel printed them: 32-bit words in host order). */
int port_parse_line(const char *line, size_t len, int family, port_entry_t *out);
/* Adds an item per listening socket of one table: protocol "tcp" or "udp". */
void port_parse_table(const char *text, size_t len, int family, const char *protocol,
                      asset_set_t *out);
/* Reads the four tables and fills pid, exe, comm, cmdline and username of each item. */
int port_collect(const char *proc_root, const user_map_t *users, asset_set_t *out);

#endif
