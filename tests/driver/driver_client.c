#include "driver_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rampart.pb-c.h"

#define MAX_WATCH 64

struct driver_client {
    pid_t pid;
    int rfd;      /* fd 4 of the plugin, our read end */
    int task_wfd; /* fd 3 of the plugin, our write end */
    pthread_t reader;
    bool reader_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    drec_t **recs;
    size_t nrecs, cap;
    uint64_t total;
    pid_t watch[MAX_WATCH];
    size_t nwatch;
    bool eof;
    bool count_only; /* count wanted records instead of keeping them (heartbeats still kept) */
    uint64_t counted;
};

const char *driver_client_skip_reason(void)
{
    if (geteuid() != 0)
        return "driver tests need root (BPF programs); skipped";
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
        return "no BTF at /sys/kernel/btf/vmlinux; driver tests skipped";
    return NULL;
}

const char *drec_get(const drec_t *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->keys[i], key) == 0)
            return r->vals[i];
    return NULL;
}

void drec_dump(const drec_t *r)
{
    fprintf(stderr, "record data_type=%d\n", r->data_type);
    for (size_t i = 0; i < r->n; i++)
        fprintf(stderr, "  %s=%s\n", r->keys[i], r->vals[i]);
}

static void drec_free(drec_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->keys[i]);
        free(r->vals[i]);
    }
    free(r->keys);
    free(r->vals);
    free(r);
}

/* Whether a record concerns us (caller holds mu). */
static bool wanted(driver_client_t *c, const Grpc__Record *rec)
{
    if (rec->data_type == 1001 || rec->data_type == 3100)
        return true;
    if (!rec->data)
        return false;
    char self[32];
    snprintf(self, sizeof(self), "%d", (int)getpid());
    for (size_t i = 0; i < rec->data->n_fields; i++) {
        const char *k = rec->data->fields[i]->key, *v = rec->data->fields[i]->value;
        if ((strcmp(k, "tgid") == 0 || strcmp(k, "ppid") == 0)) {
            if (strcmp(v, self) == 0)
                return true;
            for (size_t w = 0; w < c->nwatch; w++) {
                char buf[32];
                snprintf(buf, sizeof(buf), "%d", (int)c->watch[w]);
                if (strcmp(v, buf) == 0)
                    return true;
            }
        } else if (strcmp(k, "pid_tree") == 0) {
            char pat[40];
            snprintf(pat, sizeof(pat), "<%d.", (int)getpid());
            if (strstr(v, pat))
                return true;
        }
    }
    return false;
}

static int read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void *reader_main(void *arg)
{
    driver_client_t *c = arg;
    uint8_t *buf = NULL;
    size_t cap = 0;
    /* DRIVER_CLIENT_DUMP=<file>: a copy of every frame, for driver_dump when a test fails */
    const char *dump_path = getenv("DRIVER_CLIENT_DUMP");
    char dpath[4096];
    if (dump_path)
        snprintf(dpath, sizeof(dpath), "%s.%d", dump_path, (int)c->pid);
    FILE *dump = dump_path ? fopen(dpath, "wb") : NULL;
    for (;;) {
        uint8_t lenb[4];
        if (read_full(c->rfd, lenb, 4) < 0)
            break;
        uint32_t len = (uint32_t)lenb[0] | (uint32_t)lenb[1] << 8 | (uint32_t)lenb[2] << 16 |
                       (uint32_t)lenb[3] << 24;
        if (len > (8u << 20))
            break;
        if (len > cap) {
            cap = len;
            buf = realloc(buf, cap);
        }
        if (read_full(c->rfd, buf, len) < 0)
            break;
        if (dump) {
            fwrite(lenb, 1, 4, dump);
            fwrite(buf, 1, len, dump);
        }
        Grpc__Record *rec = grpc__record__unpack(NULL, len, buf);
        pthread_mutex_lock(&c->mu);
        c->total++;
        if (rec && c->count_only && rec->data_type != 1001 && wanted(c, rec)) {
            c->counted++;
        } else if (rec && wanted(c, rec)) {
            drec_t *r = calloc(1, sizeof(*r));
            r->data_type = rec->data_type;
            size_t n = rec->data ? rec->data->n_fields : 0;
            r->keys = calloc(n + 1, sizeof(char *));
            r->vals = calloc(n + 1, sizeof(char *));
            for (size_t i = 0; i < n; i++) {
                r->keys[i] = strdup(rec->data->fields[i]->key);
                r->vals[i] = strdup(rec->data->fields[i]->value);
            }
            r->n = n;
            if (c->nrecs == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 256;
                c->recs = realloc(c->recs, c->cap * sizeof(*c->recs));
            }
            c->recs[c->nrecs++] = r;
            pthread_cond_broadcast(&c->cv);
        }
        pthread_mutex_unlock(&c->mu);
        if (rec)
            grpc__record__free_unpacked(rec, NULL);
    }
    free(buf);
    if (dump)
        fclose(dump);
    pthread_mutex_lock(&c->mu);
    c->eof = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static bool log_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[2048];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

driver_client_t *driver_client_start(const char *path, const char *const args[],
                                     const char *log_path)
{
    int out[2], task[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return NULL;
    if (pipe2(task, O_CLOEXEC) < 0) {
        close(out[0]);
        close(out[1]);
        return NULL;
    }
    /* a previous run's log must not answer the wait for driver_started below */
    unlink(log_path);
    const char *argv[40];
    size_t n = 0;
    argv[n++] = path;
    for (size_t i = 0; args && args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int logfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (logfd >= 0)
            dup2(logfd, 2);
        /* via high fds: a pipe end may already be 3 or 4 (with O_CLOEXEC) */
        int t = fcntl(task[0], F_DUPFD, 10), o = fcntl(out[1], F_DUPFD, 10);
        dup2(t, 3);
        dup2(o, 4);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(task[0]);
    if (pid < 0) {
        close(out[0]);
        close(task[1]);
        return NULL;
    }
    driver_client_t *c = calloc(1, sizeof(*c));
    c->pid = pid;
    c->rfd = out[0];
    c->task_wfd = task[1];
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->reader_started = pthread_create(&c->reader, NULL, reader_main, c) == 0;
    for (int i = 0; i < 300; i++) { /* 30 s: loading takes a moment under sanitizers */
        if (log_has(log_path, "event=driver_started"))
            return c;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            c->pid = -1;
            break;
        }
        usleep(100 * 1000);
    }
    fprintf(stderr, "driver did not start; see %s\n", log_path);
    driver_client_stop(c);
    return NULL;
}

pid_t driver_client_pid(const driver_client_t *c)
{
    return c->pid;
}

int driver_client_stop(driver_client_t *c)
{
    int st = -1;
    if (!c)
        return -1;
    if (c->pid > 0) {
        kill(c->pid, SIGTERM);
        for (int i = 0; i < 200; i++) {
            if (waitpid(c->pid, &st, WNOHANG) == c->pid)
                break;
            usleep(50 * 1000);
            if (i == 199) {
                kill(c->pid, SIGKILL);
                waitpid(c->pid, &st, 0);
            }
        }
    }
    close(c->task_wfd);
    if (c->reader_started)
        pthread_join(c->reader, NULL);
    close(c->rfd);
    for (size_t i = 0; i < c->nrecs; i++)
        drec_free(c->recs[i]);
    free(c->recs);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
    return st;
}

void driver_client_watch(driver_client_t *c, pid_t pid)
{
    pthread_mutex_lock(&c->mu);
    if (c->nwatch < MAX_WATCH)
        c->watch[c->nwatch++] = pid;
    pthread_mutex_unlock(&c->mu);
}

uint64_t driver_client_total(driver_client_t *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t t = c->total;
    pthread_mutex_unlock(&c->mu);
    return t;
}

static bool matches(const drec_t *r, int data_type, va_list ap)
{
    if (r->data_type != data_type)
        return false;
    const char *k;
    while ((k = va_arg(ap, const char *))) {
        const char *want = va_arg(ap, const char *);
        const char *have = drec_get(r, k);
        if (!have || strcmp(have, want) != 0)
            return false;
    }
    return true;
}

static const drec_t *find_from(driver_client_t *c, size_t start, int data_type, va_list ap)
{
    for (size_t i = start; i < c->nrecs; i++) {
        va_list cp;
        va_copy(cp, ap);
        bool ok = matches(c->recs[i], data_type, cp);
        va_end(cp);
        if (ok)
            return c->recs[i];
    }
    return NULL;
}

const drec_t *driver_client_wait(driver_client_t *c, int data_type, int timeout_ms, ...)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    va_list ap;
    va_start(ap, timeout_ms);
    pthread_mutex_lock(&c->mu);
    size_t scanned = 0;
    const drec_t *r = NULL;
    for (;;) {
        r = find_from(c, scanned, data_type, ap);
        scanned = c->nrecs;
        if (r || c->eof)
            break;
        if (pthread_cond_timedwait(&c->cv, &c->mu, &deadline) == ETIMEDOUT) {
            r = find_from(c, scanned, data_type, ap);
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    va_end(ap);
    return r;
}

size_t driver_client_count(driver_client_t *c, int data_type, ...)
{
    size_t n = 0;
    va_list ap;
    va_start(ap, data_type);
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nrecs; i++) {
        va_list cp;
        va_copy(cp, ap);
        if (matches(c->recs[i], data_type, cp))
            n++;
        va_end(cp);
    }
    pthread_mutex_unlock(&c->mu);
    va_end(ap);
    return n;
}

const drec_t *driver_client_last(driver_client_t *c, int data_type)
{
    const drec_t *r = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = c->nrecs; i-- > 0;)
        if (c->recs[i]->data_type == data_type) {
            r = c->recs[i];
            break;
        }
    pthread_mutex_unlock(&c->mu);
    return r;
}

void driver_client_count_only(driver_client_t *c, bool on)
{
    pthread_mutex_lock(&c->mu);
    c->count_only = on;
    pthread_mutex_unlock(&c->mu);
}

uint64_t driver_client_counted(driver_client_t *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t n = c->counted;
    pthread_mutex_unlock(&c->mu);
    return n;
}
