#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/hmac.h"
#include "common/pki.h"
#include "common/strbuf.h"
#include "common/xalloc.h"

#define MAX_PROCS 256

extern char **environ;

struct harness_proc {
    pid_t pid;
    char name[64];
    char log[640];
    int status;
    bool reaped;
};

/* Signals on which the live process groups are killed before the test dies. */
static const int fatal_sigs[] = {SIGINT, SIGTERM, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#define N_FATAL (sizeof(fatal_sigs) / sizeof(fatal_sigs[0]))

/* Live processes, for the exit and signal hooks. Test programs start and stop processes from
 * one thread, so a plain array is enough; the signal handler only reads pids. */
static struct {
    char test[64];
    char dir[512];
    volatile pid_t pids[MAX_PROCS];
    struct sigaction old[N_FATAL];
    bool init;
} H;

/* Async-signal-safe: kill(2) only. */
static void kill_all(void)
{
    for (int i = 0; i < MAX_PROCS; i++) {
        pid_t p = H.pids[i];
        if (p > 0)
            kill(-p, SIGKILL);
    }
}

/* Kills the children, then hands the signal to whoever handled it before (the default action,
 * or a sanitizer's report): faults re-execute the faulting instruction, the others are
 * raised again. */
static void on_fatal_signal(int sig)
{
    kill_all();
    for (size_t i = 0; i < N_FATAL; i++) {
        if (fatal_sigs[i] == sig) {
            sigaction(sig, &H.old[i], NULL);
            break;
        }
    }
    if (sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE && sig != SIGILL)
        raise(sig);
}

static void track(pid_t pid)
{
    for (int i = 0; i < MAX_PROCS; i++) {
        if (H.pids[i] == 0) {
            H.pids[i] = pid;
            return;
        }
    }
    fprintf(stderr, "harness: more than %d live processes, pid %d is not tracked\n", MAX_PROCS,
            (int)pid);
}

static void untrack(pid_t pid)
{
    for (int i = 0; i < MAX_PROCS; i++) {
        if (H.pids[i] == pid)
            H.pids[i] = 0;
    }
}

static void mkdirs(const char *path)
{
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    mkdir(tmp, 0755);
}

void harness_init(const char *test_name)
{
    if (H.init)
        return;
    H.init = true;
    snprintf(H.test, sizeof(H.test), "%s", test_name);
    snprintf(H.dir, sizeof(H.dir), "%s/test-logs/%s", RAMPART_BUILD_DIR, test_name);
    mkdirs(H.dir);
    atexit(kill_all);
    struct sigaction sa = {.sa_handler = on_fatal_signal, .sa_flags = SA_NODEFER};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_FATAL; i++)
        sigaction(fatal_sigs[i], &sa, &H.old[i]);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

uint16_t harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* environ plus extra ("K=V"; an extra entry replaces an inherited one with the same name).
 * One allocation for the array; the strings are borrowed. */
static char **merge_env(char *const extra[])
{
    size_t n = 0, m = 0;
    while (environ && environ[n])
        n++;
    while (extra && extra[m])
        m++;
    char **envp = xcalloc(n + m + 1, sizeof(*envp));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nl = strcspn(environ[i], "=");
        bool replaced = false;
        for (size_t j = 0; j < m && !replaced; j++)
            replaced = strncmp(extra[j], environ[i], nl) == 0 && extra[j][nl] == '=';
        if (!replaced)
            envp[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++)
        envp[k++] = extra[j];
    envp[k] = NULL;
    return envp;
}

harness_proc_t *harness_spawn(const char *name, char *const argv[], char *const env[])
{
    harness_proc_t *p = xcalloc(1, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->log, sizeof(p->log), "%s/%s.log", H.dir[0] ? H.dir : "/tmp", name);
    /* A restart under the same name (Redis on the same port) keeps the earlier log as .prev. */
    char prev[sizeof(p->log) + 8];
    snprintf(prev, sizeof(prev), "%s.prev", p->log);
    rename(p->log, prev);
    int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "harness: cannot open %s: %s\n", p->log, strerror(errno));
        free(p);
        return NULL;
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    /* Everything the child needs is prepared here: after fork() in a threaded test only
     * async-signal-safe calls are allowed. */
    char **envp = merge_env(env);
    static const char exec_failed[] = "harness: exec failed: ";
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        /* The test's own hooks must not run in the child. */
        for (size_t i = 0; i < N_FATAL; i++)
            signal(fatal_sigs[i], SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(fd, 1);
        dup2(fd, 2);
        if (devnull >= 0)
            dup2(devnull, 0);
        execvpe(argv[0], argv, envp);
        int e = errno;
        struct iovec msg[] = {{(void *)exec_failed, sizeof(exec_failed) - 1},
                              {argv[0], strlen(argv[0])},
                              {e == ENOENT ? " (not found)\n" : "\n", e == ENOENT ? 13 : 1}};
        if (writev(2, msg, 3) < 0)
            _exit(127);
        _exit(127);
    }
    int fork_errno = errno;
    free(envp);
    close(fd);
    if (devnull >= 0)
        close(devnull);
    if (pid < 0) {
        fprintf(stderr, "harness: fork for %s: %s\n", name, strerror(fork_errno));
        free(p);
        return NULL;
    }
    setpgid(pid, pid);
    p->pid = pid;
    track(pid);
    return p;
}

pid_t harness_pid(const harness_proc_t *p)
{
    return p->pid;
}

const char *harness_log_path(const harness_proc_t *p)
{
    return p->log;
}

bool harness_alive(harness_proc_t *p)
{
    if (!p || p->reaped)
        return false;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        p->reaped = true;
        p->status = st;
        return false;
    }
    return r == 0;
}

static void free_proc(harness_proc_t *p)
{
    untrack(p->pid);
    free(p);
}

int harness_stop(harness_proc_t *p)
{
    if (!p)
        return -1;
    if (!p->reaped) {
        kill(p->pid, SIGTERM);
        for (int i = 0; i < 200 && harness_alive(p); i++)
            usleep(50 * 1000);
        if (!p->reaped) {
            fprintf(stderr, "harness: %s did not stop within 10 s, killing it (log: %s)\n", p->name,
                    p->log);
            kill(-p->pid, SIGKILL);
            waitpid(p->pid, &p->status, 0);
            p->reaped = true;
        }
    }
    /* Anything left in its process group goes too. */
    kill(-p->pid, SIGKILL);
    int st = p->status;
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        fprintf(stderr, "harness: %s ended with status %d (log: %s)\n", p->name, st, p->log);
    free_proc(p);
    return st;
}

void harness_kill(harness_proc_t *p)
{
    if (!p)
        return;
    kill(-p->pid, SIGKILL);
    if (!p->reaped)
        waitpid(p->pid, &p->status, 0);
    free_proc(p);
}

int harness_wait_port(uint16_t port, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        close(fd);
        if (ok)
            return 0;
        usleep(20 * 1000);
    }
    return -ETIMEDOUT;
}

int harness_wait_log(harness_proc_t *p, const char *needle, char *rest, size_t restlen,
                     int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        FILE *f = fopen(p->log, "r");
        if (f) {
            char line[8192];
            while (fgets(line, sizeof(line), f)) {
                char *hit = strstr(line, needle);
                if (!hit)
                    continue;
                if (rest && restlen) {
                    snprintf(rest, restlen, "%s", hit + strlen(needle));
                    rest[strcspn(rest, "\r\n")] = '\0';
                }
                fclose(f);
                return 0;
            }
            fclose(f);
        }
        if (!harness_alive(p)) {
            fprintf(stderr, "harness: %s exited while waiting for '%s' (log: %s)\n", p->name,
                    needle, p->log);
            return -ESRCH;
        }
        usleep(50 * 1000);
    }
    fprintf(stderr, "harness: '%s' not seen in %s within %d ms\n", needle, p->log, timeout_ms);
    return -ETIMEDOUT;
}

/* ---- servers ---------------------------------------------------------------------------- */

harness_proc_t *harness_redis_start_on(uint16_t port)
{
    char portbuf[16], name[32];
    snprintf(portbuf, sizeof(portbuf), "%u", (unsigned)port);
    snprintf(name, sizeof(name), "redis-%u", (unsigned)port);
    char *argv[] = {"redis-server", "--port", portbuf,       "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no",     "--daemonize", "no",     "--dir",     "/tmp",   NULL};
    harness_proc_t *p = harness_spawn(name, argv, NULL);
    if (!p)
        return NULL;
    if (harness_wait_log(p, "Ready to accept connections", NULL, 0, 15000) < 0 ||
        harness_wait_port(port, 5000) < 0) {
        harness_kill(p);
        return NULL;
    }
    return p;
}

harness_proc_t *harness_redis_start(uint16_t *port)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        *port = harness_free_port();
        harness_proc_t *p = harness_redis_start_on(*port);
        if (p)
            return p;
    }
    return NULL;
}

harness_proc_t *harness_kafka_start(char *bootstrap, size_t len)
{
    char bin[512];
    harness_bin("tests/tools/kafka-mock/rampart-kafka-mock", bin, sizeof(bin));
    char *argv[] = {bin, NULL};
    harness_proc_t *p = harness_spawn("kafka", argv, NULL);
    if (!p)
        return NULL;
    char rest[256];
    if (harness_wait_log(p, "KAFKA_BOOTSTRAP=", rest, sizeof(rest), 20000) < 0) {
        harness_kill(p);
        return NULL;
    }
    snprintf(bootstrap, len, "%s", rest);
    return p;
}

/* jongodb prints JONGODB_URI=... once it listens; a port taken meanwhile by someone else makes
 * it exit, and then another port is tried. */
harness_proc_t *harness_mongo_start(char *uri, size_t len)
{
    char bin[512], portarg[32];
    snprintf(bin, sizeof(bin),
             "%s/tools/node/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb",
             RAMPART_SOURCE_DIR);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "harness: %s: %s (run scripts/install-deps.sh)\n", bin, strerror(errno));
        return NULL;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        uint16_t port = harness_free_port();
        snprintf(portarg, sizeof(portarg), "--port=%u", (unsigned)port);
        char *argv[] = {bin, portarg, NULL};
        harness_proc_t *p = harness_spawn("mongo", argv, NULL);
        if (!p)
            return NULL;
        if (harness_wait_log(p, "JONGODB_URI=", NULL, 0, 30000) == 0 &&
            harness_wait_port(port, 5000) == 0) {
            snprintf(uri, len, "mongodb://127.0.0.1:%u", (unsigned)port);
            return p;
        }
        harness_kill(p);
    }
    return NULL;
}

int harness_write_file(const char *name, const char *content, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", H.dir[0] ? H.dir : "/tmp", name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    fchmod(fd, 0600);
    size_t n = strlen(content);
    ssize_t w = write(fd, content, n);
    close(fd);
    return w == (ssize_t)n ? 0 : -EIO;
}

int harness_make_keys(const char *access_key, char *secret, size_t secretlen, char *path,
                      size_t pathlen)
{
    unsigned char rnd[32];
    if (secretlen < 2 * sizeof(rnd) + 1)
        return -EINVAL;
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -EIO;
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(secret + 2 * i, 3, "%02x", rnd[i]);
    char line[256];
    snprintf(line, sizeof(line), "# made by the test harness\n%s %s\n", access_key, secret);
    return harness_write_file("keys", line, path, pathlen);
}

/* ---- certificates ---------------------------------------------------------------------- */

/* Writes prefix.pem and prefix.key (0600), replacing older ones. */
static int save_pair(const char *prefix, const char *cert, const char *key)
{
    char p[1100]; /* prefixes are at most 1024 bytes */
    if ((size_t)snprintf(p, sizeof(p), "%s.key", prefix) >= sizeof(p))
        return -ENAMETOOLONG;
    int rc = pki_save_file(p, key, 0600, true);
    snprintf(p, sizeof(p), "%s.pem", prefix);
    return rc < 0 ? rc : pki_save_file(p, cert, 0644, true);
}

int harness_make_pki(char *dir, size_t dirlen)
{
    snprintf(dir, dirlen, "%s/pki", H.dir[0] ? H.dir : "/tmp");
    mkdirs(dir);
    static const char *const sans[] = {"DNS:localhost", "IP:127.0.0.1", NULL};
    char *ca = NULL, *ca_key = NULL, *cert = NULL, *key = NULL, p[1024];
    int rc = pki_ca_new("Rampart test CA", 2, &ca, &ca_key);
    if (rc == 0)
        rc = pki_issue(ca, ca_key, "agent-center", sans, PKI_SERVER, 2, &cert, &key);
    snprintf(p, sizeof(p), "%s/ca", dir);
    if (rc == 0)
        rc = save_pair(p, ca, ca_key);
    snprintf(p, sizeof(p), "%s/server", dir);
    if (rc == 0)
        rc = save_pair(p, cert, key);
    free(ca);
    free(ca_key);
    free(cert);
    free(key);
    return rc;
}

/* Issues a client certificate for cn with the CA in ca_dir and saves it as prefix.pem/.key. */
static int issue_client(const char *ca_dir, const char *cn, const char *prefix)
{
    char *ca = NULL, *ca_key = NULL, *cert = NULL, *key = NULL, p[1024];
    snprintf(p, sizeof(p), "%s/ca.pem", ca_dir);
    int rc = pki_load_file(p, &ca);
    snprintf(p, sizeof(p), "%s/ca.key", ca_dir);
    if (rc == 0)
        rc = pki_load_file(p, &ca_key);
    if (rc == 0)
        rc = pki_issue(ca, ca_key, cn, NULL, PKI_CLIENT, 2, &cert, &key);
    if (rc == 0)
        rc = save_pair(prefix, cert, key);
    free(ca);
    free(ca_key);
    free(cert);
    free(key);
    return rc;
}

int harness_make_client_cert(const char *pki_dir, const char *cn, char *prefix, size_t len)
{
    snprintf(prefix, len, "%s/%s", pki_dir, cn);
    return issue_client(pki_dir, cn, prefix);
}

int harness_make_foreign_client_cert(const char *pki_dir, const char *cn, char *prefix, size_t len)
{
    char fdir[1024], *ca = NULL, *ca_key = NULL;
    snprintf(fdir, sizeof(fdir), "%s/foreign-ca", pki_dir);
    mkdirs(fdir);
    /* Same CA name as the real one: only the key tells them apart. */
    int rc = pki_ca_new("Rampart test CA", 2, &ca, &ca_key);
    snprintf(prefix, len, "%s/ca", fdir);
    if (rc == 0)
        rc = save_pair(prefix, ca, ca_key);
    free(ca);
    free(ca_key);
    snprintf(prefix, len, "%s/foreign-%s", pki_dir, cn);
    return rc < 0 ? rc : issue_client(fdir, cn, prefix);
}

/* ---- HTTP ------------------------------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    strbuf_append(ud, ptr, size * nmemb);
    return size * nmemb;
}

static int perform(const char *method, const char *url, const char *body, size_t body_len,
                   struct curl_slist *hdrs, harness_http_response_t *out)
{
    memset(out, 0, sizeof(*out));
    CURL *h = curl_easy_init();
    strbuf_t sb = STRBUF_INIT;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sb);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(h);
    out->body = strbuf_steal(&sb, &out->len);
    return rc == CURLE_OK ? 0 : -EIO;
}

int harness_http(const char *method, const char *url, const char *body, size_t body_len,
                 const char *const *headers, harness_http_response_t *out)
{
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hdrs = curl_slist_append(hdrs, headers[i]);
    int rc = perform(method, url, body, body_len, hdrs, out);
    curl_slist_free_all(hdrs);
    return rc;
}

int harness_http_signed(const char *method, const char *url, const char *body, size_t body_len,
                        const char *access_key, const char *secret, int64_t now,
                        harness_http_response_t *out)
{
    /* Split http://host:port/path?query into path and query. */
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    char path[1024] = "/";
    const char *query = NULL;
    if (p) {
        size_t n = strcspn(p, "?");
        snprintf(path, sizeof(path), "%.*s", (int)n, p);
        if (p[n] == '?')
            query = p + n + 1;
    }
    hmac_kv_t *q = NULL;
    size_t nq = 0;
    if (query && hmac_query_parse(query, &q, &nq) < 0)
        return -EINVAL;
    hmac_headers_t hh;
    int rc = hmac_sign(access_key, secret, method, path, q, nq, body, body ? body_len : 0,
                       now ? now : (int64_t)time(NULL), &hh);
    free(q);
    if (rc < 0)
        return rc;
    char k[128], t[64], n[128], s[128];
    snprintf(k, sizeof(k), "%s: %s", HMAC_HDR_KEY, hh.key);
    snprintf(t, sizeof(t), "%s: %s", HMAC_HDR_TIMESTAMP, hh.timestamp);
    snprintf(n, sizeof(n), "%s: %s", HMAC_HDR_NONCE, hh.nonce);
    snprintf(s, sizeof(s), "%s: %s", HMAC_HDR_SIGNATURE, hh.signature);
    const char *hdrs[] = {"Content-Type: application/json", k, t, n, s, NULL};
    return harness_http(method, url, body, body_len, hdrs, out);
}

void harness_http_response_free(harness_http_response_t *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

double harness_metric(uint16_t port, const char *series)
{
    char u[128];
    snprintf(u, sizeof(u), "http://127.0.0.1:%u/metrics", (unsigned)port);
    harness_http_response_t r;
    if (harness_http("GET", u, NULL, 0, NULL, &r) < 0)
        return -1;
    double v = -1;
    size_t n = strlen(series);
    for (char *line = r.body; line && *line;) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            v = strtod(line + n + 1, NULL);
        line = nl ? nl + 1 : NULL;
    }
    harness_http_response_free(&r);
    return v;
}

const char *harness_bin(const char *rel, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", RAMPART_BUILD_DIR, rel);
    return buf;
}

double harness_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void harness_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

double harness_proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double harness_proc_rss_mib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    double kb = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb / 1024.0;
}
