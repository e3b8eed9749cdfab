/* The collector's parsers against this machine: a child we spawn appears in the process
 * snapshot with the right pid, ppid, exe, cmdline and user; sockets we open appear as
 * listening ports owned by us; users match glibc's reading of /etc/passwd; packages match
 * dpkg-query's count and versions; cron, services, interfaces and modules match what the
 * files say. Independent sources (glibc, dpkg-query, realpath) give the expected values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "container.h"
#include "cron.h"
#include "kmod.h"
#include "netif.h"
#include "package.h"
#include "port.h"
#include "process.h"
#include "service.h"
#include "user.h"

static void test_process_real(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        execl("/bin/sleep", "sleep", "30", (char *)NULL);
        _exit(127);
    }
    /* wait until the exec happened (comm changes from ours to "sleep") */
    char path[64], comm[64] = "";
    for (int i = 0; i < 200 && strcmp(comm, "sleep\n") != 0; i++) {
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)child);
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(comm, sizeof(comm), f))
                comm[0] = 0;
            fclose(f);
        }
        usleep(10000);
    }
    user_map_t users;
    assert_int_equal(user_map_load(&users, "/etc/passwd"), 0);
    asset_set_t s = {0};
    assert_int_equal(process_collect("/proc", &users, &s), 0);
    char pid[16];
    snprintf(pid, sizeof(pid), "%d", (int)child);
    const asset_t *a = asset_set_find(&s, "pid", pid);
    assert_non_null(a);
    char ppid[16];
    snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
    assert_string_equal(asset_get(a, "ppid"), ppid);
    char exe[PATH_MAX];
    assert_non_null(realpath("/bin/sleep", exe));
    assert_string_equal(asset_get(a, "exe"), exe);
    assert_string_equal(asset_get(a, "cmdline"), "sleep 30");
    assert_string_equal(asset_get(a, "comm"), "sleep");
    char uid[16];
    snprintf(uid, sizeof(uid), "%d", (int)getuid());
    assert_string_equal(asset_get(a, "uid"), uid);
    struct passwd *pw = getpwuid(getuid());
    assert_non_null(pw);
    assert_string_equal(asset_get(a, "username"), pw->pw_name);
    long start = atol(asset_get(a, "start_time"));
    assert_true(labs(start - (long)time(NULL)) <= 5);
    assert_non_null(asset_get(a, "pns"));
    /* and we are there too, with our own exe */
    a = asset_set_find(&s, "pid", ppid);
    assert_non_null(a);
    assert_non_null(realpath("/proc/self/exe", exe));
    assert_string_equal(asset_get(a, "exe"), exe);
    /* no kernel threads: every item has an exe or at least a cmdline source */
    for (size_t i = 0; i < s.n; i++)
        assert_string_not_equal(asset_get(&s.items[i], "pid"), "2");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    asset_set_dispose(&s);
    user_map_dispose(&users);
}

static int listen_on(int family, int type, int *port)
{
    int fd = socket(family, type, 0);
    assert_true(fd >= 0);
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        sl = sizeof(*in6);
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        close(fd);
        return -1;
    }
    if (type == SOCK_STREAM)
        assert_int_equal(listen(fd, 4), 0);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

static const asset_t *find_port(const asset_set_t *s, const char *proto, int port, const char *ip)
{
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    for (size_t i = 0; i < s->n; i++) {
        const asset_t *a = &s->items[i];
        if (strcmp(asset_get(a, "protocol"), proto) == 0 &&
            strcmp(asset_get(a, "sport"), ps) == 0 && strcmp(asset_get(a, "sip"), ip) == 0)
            return a;
    }
    return NULL;
}

static void test_ports_real(void **state)
{
    (void)state;
    int tport, uport, t6port = 0;
    int tfd = listen_on(AF_INET, SOCK_STREAM, &tport);
    int ufd = listen_on(AF_INET, SOCK_DGRAM, &uport);
    int t6fd = listen_on(AF_INET6, SOCK_STREAM, &t6port); /* -1 when the host has no IPv6 */
    user_map_t users;
    assert_int_equal(user_map_load(&users, "/etc/passwd"), 0);
    asset_set_t s = {0};
    assert_int_equal(port_collect("/proc", &users, &s), 0);
    char me[16], exe[PATH_MAX];
    snprintf(me, sizeof(me), "%d", (int)getpid());
    assert_non_null(realpath("/proc/self/exe", exe));
    const asset_t *a = find_port(&s, "tcp", tport, "127.0.0.1");
    assert_non_null(a);
    assert_string_equal(asset_get(a, "pid"), me);
    assert_string_equal(asset_get(a, "exe"), exe);
    assert_string_equal(asset_get(a, "family"), "2");
    assert_string_equal(asset_get(a, "state"), "10");
    assert_string_equal(asset_get(a, "username"), getpwuid(getuid())->pw_name);
    a = find_port(&s, "udp", uport, "127.0.0.1");
    assert_non_null(a);
    assert_string_equal(asset_get(a, "pid"), me);
    if (t6fd >= 0) {
        a = find_port(&s, "tcp", t6port, "::1");
        assert_non_null(a);
        assert_string_equal(asset_get(a, "family"), "10");
        assert_string_equal(asset_get(a, "pid"), me);
        close(t6fd);
    }
    asset_set_dispose(&s);
    /* closed: gone from the next snapshot */
    close(tfd);
    assert_int_equal(port_collect("/proc", &users, &s), 0);
    assert_null(find_port(&s, "tcp", tport, "127.0.0.1"));
    asset_set_dispose(&s);
    close(ufd);
    user_map_dispose(&users);
}

static void test_users_real(void **state)
{
    (void)state;
    asset_set_t s = {0};
    assert_int_equal(user_collect("", &s), 0);
    FILE *f = fopen("/etc/passwd", "r");
    assert_non_null(f);
    size_t count = 0;
    struct passwd *pw;
    while ((pw = fgetpwent(f)) != NULL) {
        if (pw->pw_name[0] == '+' || pw->pw_name[0] == '-')
            continue;
        count++;
        const asset_t *a = asset_set_find(&s, "username", pw->pw_name);
        assert_non_null(a);
        char num[32];
        snprintf(num, sizeof(num), "%u", (unsigned)pw->pw_uid);
        assert_string_equal(asset_get(a, "uid"), num);
        snprintf(num, sizeof(num), "%u", (unsigned)pw->pw_gid);
        assert_string_equal(asset_get(a, "gid"), num);
        assert_string_equal(asset_get(a, "home"), pw->pw_dir);
        assert_string_equal(asset_get(a, "shell"), pw->pw_shell);
        assert_string_equal(asset_get(a, "info"), pw->pw_gecos);
        if (access("/etc/shadow", R_OK) == 0)
            assert_non_null(asset_get(a, "password_status"));
        assert_non_null(asset_get(a, "groupname"));
    }
    fclose(f);
    assert_int_equal(s.n, count);
    const asset_t *root = asset_set_find(&s, "username", "root");
    assert_non_null(root);
    assert_string_equal(asset_get(root, "groupname"), "root");
    asset_set_dispose(&s);
}

static void test_packages_real(void **state)
{
    (void)state;
    struct stat st;
    if (stat("/var/lib/dpkg/status", &st) < 0) {
        skip(); /* not a dpkg host */
    }
    asset_set_t s = {0};
    assert_int_equal(package_collect("", &s), 0);
    FILE *p = popen("dpkg-query -W -f='${Package}\\t${Version}\\t${db:Status-Status}\\n'", "r");
    assert_non_null(p);
    char line[1024];
    size_t count = 0;
    while (fgets(line, sizeof(line), p)) {
        char *name = strtok(line, "\t\n");
        char *ver = strtok(NULL, "\t\n");
        char *status = strtok(NULL, "\t\n");
        if (!name || !status || strcmp(status, "not-installed") == 0 ||
            strcmp(status, "config-files") == 0)
            continue;
        count++;
        const asset_t *a = asset_set_find(&s, "name", name);
        assert_non_null(a);
        (void)ver;
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(s.n, count);
    assert_true(count > 10);
    /* a known package's version */
    p = popen("dpkg-query -W -f='${Version}' libc6", "r");
    assert_non_null(p);
    char ver[256] = "";
    assert_non_null(fgets(ver, sizeof(ver), p));
    pclose(p);
    const asset_t *a = asset_set_find(&s, "name", "libc6");
    assert_non_null(a);
    assert_string_equal(asset_get(a, "sversion"), ver);
    assert_string_equal(asset_get(a, "source"), "dpkg");
    asset_set_dispose(&s);
}

/* An rpm database made with rpm's own tools (rpmbuild, rpm --initdb, rpm -i --justdb) under a
 * temporary root, read through librpm. */
static void test_rpm_database(void **state)
{
    (void)state;
    if (!package_rpm_supported() || system("command -v rpmbuild >/dev/null && command -v rpm "
                                           ">/dev/null") != 0)
        skip(); /* built without librpm, or no rpm tools to make a database with */
    char root[] = "/tmp/rampart-rpm-XXXXXX";
    assert_non_null(mkdtemp(root));
    char cmd[4096], spec[600];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/top/SPECS' '%s/var/lib/rpm'", root, root);
    assert_int_equal(system(cmd), 0);
    snprintf(spec, sizeof(spec), "%s/top/SPECS/t.spec", root);
    FILE *f = fopen(spec, "w");
    assert_non_null(f);
    fputs("Name: rampart-test-pkg\nVersion: 1.2.3\nRelease: 4\nEpoch: 2\nSummary: t\n"
          "License: MIT\nBuildArch: noarch\nVendor: Rampart Tests\nGroup: Testing\n"
          "%description\nt\n%files\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && rpmbuild --define '_topdir %s/top' -bb top/SPECS/t.spec >build.log 2>&1"
             " && rpm --dbpath '%s/var/lib/rpm' --initdb && rpm --dbpath '%s/var/lib/rpm' -i "
             "--nodeps --justdb top/RPMS/noarch/*.rpm >>build.log 2>&1",
             root, root, root, root);
    assert_int_equal(system(cmd), 0);
    assert_string_equal(package_rpm_dbpath(root), "/var/lib/rpm");
    asset_set_t s = {0};
    assert_int_equal(package_collect(root, &s), 0); /* no dpkg there: rpm only */
    assert_int_equal(s.n, 1);
    const asset_t *a = asset_set_find(&s, "name", "rampart-test-pkg");
    assert_non_null(a);
    assert_string_equal(asset_get(a, "sversion"), "2:1.2.3-4");
    assert_string_equal(asset_get(a, "source"), "rpm");
    assert_string_equal(asset_get(a, "arch"), "noarch");
    assert_string_equal(asset_get(a, "vendor"), "Rampart Tests");
    assert_string_equal(asset_get(a, "section"), "Testing");
    assert_non_null(strstr(asset_get(a, "origin"), "rampart-test-pkg-1.2.3-4"));
    asset_set_dispose(&s);
    /* a database that is not one */
    char bad[600];
    snprintf(bad, sizeof(bad), "%s/top", root);
    (void)package_collect_rpm("", bad, &s); /* an error or nothing, never a package */
    assert_int_equal(s.n, 0);
    asset_set_dispose(&s);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void test_cron_services_real(void **state)
{
    (void)state;
    asset_set_t s = {0};
    assert_int_equal(cron_collect("", &s), 0);
    DIR *d = opendir("/etc/cron.daily");
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.' || strcmp(de->d_name, "placeholder") == 0)
                continue;
            char path[512];
            snprintf(path, sizeof(path), "/etc/cron.daily/%s", de->d_name);
            const asset_t *a = asset_set_find(&s, "path", path);
            assert_non_null(a);
            assert_string_equal(asset_get(a, "schedule"), "@daily");
        }
        closedir(d);
    }
    asset_set_dispose(&s);

    assert_int_equal(service_collect("", &s), 0);
    d = opendir("/etc/systemd/system/multi-user.target.wants");
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            if (n < 9 || strcmp(de->d_name + n - 8, ".service") != 0)
                continue;
            char path[512];
            snprintf(path, sizeof(path), "/etc/systemd/system/multi-user.target.wants/%s",
                     de->d_name);
            struct stat st;
            if (stat(path, &st) < 0)
                continue; /* dangling link */
            const asset_t *a = asset_set_find(&s, "name", de->d_name);
            assert_non_null(a);
            assert_string_equal(asset_get(a, "enabled"), "enabled");
        }
        closedir(d);
    }
    struct stat st;
    if (stat("/run/systemd/system", &st) < 0) {
        for (size_t i = 0; i < s.n; i++)
            assert_string_equal(asset_get(&s.items[i], "active"), "unknown");
    }
    asset_set_dispose(&s);
}

static void test_netif_kmod_real(void **state)
{
    (void)state;
    asset_set_t s = {0};
    assert_int_equal(netif_collect("/sys", &s), 0);
    const asset_t *lo = asset_set_find(&s, "name", "lo");
    assert_non_null(lo);
    assert_non_null(strstr(asset_get(lo, "addrs"), "127.0.0.1/8"));
    assert_non_null(strstr(asset_get(lo, "flags"), "loopback"));
    char idx[16];
    snprintf(idx, sizeof(idx), "%u", if_nametoindex("lo"));
    assert_string_equal(asset_get(lo, "index"), idx);
    asset_set_dispose(&s);

    assert_int_equal(kmod_collect("/proc", &s), 0);
    FILE *f = fopen("/proc/modules", "r");
    size_t lines = 0;
    if (f) {
        char line[4096];
        while (fgets(line, sizeof(line), f))
            lines++;
        fclose(f);
    }
    assert_int_equal(s.n, lines); /* 0 on a kernel without module support */
    asset_set_dispose(&s);

    /* containers: every item found has a 64-hex id and a process in it */
    assert_int_equal(container_collect("/proc", "/var/run/docker.sock", &s), 0);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(strlen(asset_get(&s.items[i], "id")), 64);
        if (strcmp(asset_get(&s.items[i], "state"), "running") == 0 &&
            asset_get(&s.items[i], "pid"))
            assert_true(atoi(asset_get(&s.items[i], "pid")) > 0);
    }
    asset_set_dispose(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_process_real),    cmocka_unit_test(test_ports_real),
        cmocka_unit_test(test_users_real),      cmocka_unit_test(test_packages_real),
        cmocka_unit_test(test_rpm_database),    cmocka_unit_test(test_cron_services_real),
        cmocka_unit_test(test_netif_kmod_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
