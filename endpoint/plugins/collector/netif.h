/* net_interface (5059): network interfaces (getifaddrs) with their addresses, hardware
 * address, index, MTU and operational state (/sys/class/net/<name>). */
#ifndef RAMPART_COLLECTOR_NETIF_H
#define RAMPART_COLLECTOR_NETIF_H

#include "asset.h"

/* Items: name, index, hardware_addr, mtu, state, flags (up,loopback,...), addrs (comma list of
 * address/prefix). sys_root is where the class/net directory lives ("/sys"). */
int netif_collect(const char *sys_root, asset_set_t *out);
/* "ip/prefix" for a netmask: the number of leading one bits of mask[0..len). */
int netif_prefix_len(const unsigned char *mask, size_t len);

#endif
