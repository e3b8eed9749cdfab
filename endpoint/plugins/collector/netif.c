#include "netif.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "textfile.h"

int netif_prefix_len(const unsigned char *mask, size_t len)
{
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = mask[i];
        while (b & 0x80) {
            bits++;
            b = (unsigned char)(b << 1);
        }
        if (mask[i] != 0xff)
            break;
    }
    return bits;
}

static void add_sys(asset_t *a, const char *key, const char *sys_root, const char *ifname,
                    const char *file)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/class/net/%s/%s", sys_root, ifname, file);
    size_t len;
    char *txt = textfile_read(path, 256, &len);
    if (!txt)
        return;
    while (len > 0 && (txt[len - 1] == '\n' || txt[len - 1] == ' '))
        len--;
    asset_addn(a, key, txt, len);
    free(txt);
}

static asset_t *find_if(asset_set_t *out, const char *name)
{
    return (asset_t *)asset_set_find(out, "name", name);
}

int netif_collect(const char *sys_root, asset_set_t *out)
{
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return -errno;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_name)
            continue;
        asset_t *a = find_if(out, i->ifa_name);
        if (!a) {
            a = asset_set_add(out);
            asset_add(a, "name", i->ifa_name);
            asset_addf(a, "index", "%u", if_nametoindex(i->ifa_name));
            add_sys(a, "hardware_addr", sys_root, i->ifa_name, "address");
            add_sys(a, "mtu", sys_root, i->ifa_name, "mtu");
            add_sys(a, "state", sys_root, i->ifa_name, "operstate");
            strbuf_t fl = STRBUF_INIT;
            static const struct {
                unsigned flag;
                const char *name;
            } f[] = {{IFF_UP, "up"},
                     {IFF_BROADCAST, "broadcast"},
                     {IFF_LOOPBACK, "loopback"},
                     {IFF_POINTOPOINT, "pointtopoint"},
                     {IFF_RUNNING, "running"},
                     {IFF_PROMISC, "promisc"},
                     {IFF_MULTICAST, "multicast"}};
            for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
                if (i->ifa_flags & f[k].flag)
                    strbuf_appendf(&fl, "%s%s", fl.len ? "," : "", f[k].name);
            asset_addn(a, "flags", fl.data, fl.len);
            strbuf_dispose(&fl);
            asset_add(a, "addrs", "");
        }
        if (!i->ifa_addr ||
            (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
            continue;
        char ip[INET6_ADDRSTRLEN];
        int prefix = 0;
        if (i->ifa_addr->sa_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip, sizeof(ip));
            if (i->ifa_netmask)
                prefix = netif_prefix_len(
                    (const unsigned char *)&((struct sockaddr_in *)i->ifa_netmask)->sin_addr, 4);
        } else {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, ip, sizeof(ip));
            if (i->ifa_netmask)
                prefix = netif_prefix_len(
                    (const unsigned char *)&((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr, 16);
        }
        const char *cur = asset_get(a, "addrs");
        asset_addf(a, "addrs", "%s%s%s/%d", cur, *cur ? "," : "", ip, prefix);
    }
    freeifaddrs(ifs);
    return 0;
}
