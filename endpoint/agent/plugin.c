#include "endpoint/agent/plugin.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "endpoint/agent/agent_id.h"
#include "proto/transfer_paths.h"

#define MAX_PLUGINS      64
#define READS_PER_WAKE   8  /* reads of one plugin per wake-up, so none starves the others */
#define READ_COALESCE_MS 10 /* pause after reading records (see host_main) */
#define THROTTLE_LOG_MS  10000

typedef enum {
    P_IDLE = 0, /* not started yet (or refused) */
    P_RUNNING,
    P_BACKOFF, /* exited; restarts at restart_at */
    P_STOPPING,
} pstate_t;

/* epoll tags: pointer to the plugin | kind. */
enum { K_RECORDS = 1, K_TASKS = 2, K_EXIT = 3, K_MASK = 3 };

typedef struct plugin {
    char name[PLUGIN_NAME_MAX + 1];
    char version[64];
    char sha256[65];
    char *detail;
    pstate_t state;
    bool wanted;          /* in the desired set */
    bool refused;         /* sha256 check failed for this config */
    bool restart_on_exit; /* version change: start again once stopped */
    pid_t pid;
    int pidfd, rfd, wfd;
    frame_reader_t rd;
    uint8_t *out; /* task frames waiting for room in the pipe */
    size_t outlen, outcap;
    int64_t restart_at, stop_deadline, started_ms;
    uint32_t backoff_n;
    double tokens;
    int64_t refill_ms;
    int64_t throttle_logged_ms;
    uint64_t throttle_since_log;
    char cgroup[512];
    /* stats */
    uint64_t restarts, records, bytes, dropped, cutoffs, tasks;
    int64_t started_at;
    char last_exit[96];
    uint64_t cpu_ticks;
    int64_t cpu_at_ms;
    uint8_t report[PLUGIN_REPORT_MAX];
    size_t report_len;
    metrics_counter_t *m_records, *m_dropped, *m_restarts, *m_cutoffs;
} plugin_t;

typedef enum { CMD_SYNC, CMD_TASK } cmd_kind_t;

typedef struct cmd {
    struct cmd *next;
    cmd_kind_t kind;
    Grpc__Config *configs; /* CMD_SYNC: copies */
    size_t nconfigs;
    Grpc__Task task; /* CMD_TASK: strings owned */
} cmd_t;

struct plugin_host {
    plugin_host_opts_t o;
    char *dir, *log_dir, *agent_id;
    pthread_mutex_t mu;
    pthread_t thread;
    bool started;
    int epfd, evfd;
    bool stopping; /* agent shutting down */
    cmd_t *cmds, **cmds_tail;
    plugin_t *plugins[MAX_PLUGINS];
    size_t n;
    bool cgroup2;
    char cgroup_base[512];
    uint64_t rng;
    long clk_tck, page_size;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int plugin_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > PLUGIN_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return 0;
    return 1;
}

const char *plugin_host_limit_mode(const plugin_host_t *h)
{
    return h->cgroup2 ? "cgroup2" : "rlimit";
}

/* ---- cgroup v2 --------------------------------------------------------------------------- */

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int rc = n == (ssize_t)strlen(text) ? 0 : -errno;
    close(fd);
    return rc;
}

/* The agent's own cgroup v2 directory, moved into a leaf "agent" so that plugin cgroups can
 * be its siblings with the cpu and memory controllers enabled (the systemd unit delegates
 * the subtree). 0, or -errno with the reason in why. */
static int cgroup_setup(plugin_host_t *h, const char **why)
{
    struct stat st;
    if (stat("/sys/fs/cgroup/cgroup.controllers", &st) < 0) {
        *why = "no cgroup v2 at /sys/fs/cgroup";
        return -ENOENT;
    }
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[512], rel[400] = "";
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "0::", 3) == 0) {
            size_t l = strcspn(line + 3, "\n");
            if (l >= sizeof(rel))
                l = 0; /* a path this long is not ours to manage */
            memcpy(rel, line + 3, l);
            rel[l] = '\0';
        }
    }
    if (f)
        fclose(f);
    if (!rel[0]) {
        *why = "no unified cgroup in /proc/self/cgroup";
        return -ENOENT;
    }
    size_t rl = strlen(rel);
    if (rl >= 6 && strcmp(rel + rl - 6, "/agent") == 0)
        rel[rl - 6] = '\0'; /* a restart inside the same unit: already in the leaf */
    snprintf(h->cgroup_base, sizeof(h->cgroup_base), "/sys/fs/cgroup%s", rel);
    char p[600];
    snprintf(p, sizeof(p), "%s/agent", h->cgroup_base);
    if (mkdir(p, 0755) < 0 && errno != EEXIST) {
        *why = "agent cgroup not writable (needs Delegate=yes)";
        return -errno;
    }
    snprintf(p, sizeof(p), "%s/agent/cgroup.procs", h->cgroup_base);
    char pid[32];
    snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (write_file(p, pid) < 0) {
        *why = "cannot move the agent into its leaf cgroup";
        return -EACCES;
    }
    snprintf(p, sizeof(p), "%s/cgroup.subtree_control", h->cgroup_base);
    if (write_file(p, "+cpu +memory") < 0) {
        *why = "cannot enable the cpu and memory controllers";
        return -EACCES;
    }
    return 0;
}

/* Creates the plugin's cgroup with its limits. 0 or -errno. */
static int cgroup_for(plugin_host_t *h, plugin_t *p)
{
    if (snprintf(p->cgroup, sizeof(p->cgroup), "%s/plugin-%s", h->cgroup_base, p->name) >=
        (int)sizeof(p->cgroup))
        return -ENAMETOOLONG;
    if (mkdir(p->cgroup, 0755) < 0 && errno != EEXIST)
        return -errno;
    char f[600], v[64];
    int rc = 0;
    if (h->o.memory_max > 0) {
        snprintf(f, sizeof(f), "%s/memory.max", p->cgroup);
        snprintf(v, sizeof(v), "%" PRId64 "\n", h->o.memory_max);
        rc = write_file(f, v);
    }
    if (rc == 0 && h->o.cpu_percent > 0) {
        snprintf(f, sizeof(f), "%s/cpu.max", p->cgroup);
        snprintf(v, sizeof(v), "%" PRId64 " 100000\n", h->o.cpu_percent * 1000);
        rc = write_file(f, v);
    }
    return rc;
}

/* ---- start / stop ------------------------------------------------------------------------- */

static void set_tag(plugin_host_t *h, int fd, plugin_t *p, int kind, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)(uintptr_t)p | (uint64_t)kind};
    if (epoll_ctl(h->epfd, op, fd, &ev) < 0 && op != EPOLL_CTL_DEL)
        LOG_ERROR("epoll_ctl_failed", "plugin=%s errno=%d", p->name, errno);
}

static void close_fd(plugin_host_t *h, int *fd)
{
    if (*fd >= 0) {
        epoll_ctl(h->epfd, EPOLL_CTL_DEL, *fd, NULL);
        close(*fd);
        *fd = -1;
    }
}

static int64_t backoff_ms(plugin_host_t *h, plugin_t *p)
{
    int64_t d = h->o.backoff_min_ms;
    for (uint32_t i = 0; i < p->backoff_n && d < h->o.backoff_max_ms; i++)
        d *= 2;
    if (d > h->o.backoff_max_ms)
        d = h->o.backoff_max_ms;
    if (p->backoff_n < 32)
        p->backoff_n++;
    /* Jitter: [d/2, d]. */
    h->rng ^= h->rng << 13;
    h->rng ^= h->rng >> 7;
    h->rng ^= h->rng << 17;
    return d / 2 + (int64_t)(h->rng % (uint64_t)(d / 2 + 1));
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(plugin_host_t *h, plugin_t *p, const char *path, const char *cwd,
                       int task_rd, int rec_wr, int logfd, char *const envp[])
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (p->cgroup[0]) {
        char f[600];
        size_t n = strlen(p->cgroup);
        memcpy(f, p->cgroup, n);
        memcpy(f + n, "/cgroup.procs", sizeof("/cgroup.procs"));
        int fd = open(f, O_WRONLY);
        if (fd >= 0) {
            if (write(fd, "0\n", 2) != 2)
                _exit(126);
            close(fd);
        }
    } else {
        if (h->o.memory_max > 0) {
            struct rlimit rl = {(rlim_t)h->o.memory_max, (rlim_t)h->o.memory_max};
            setrlimit(RLIMIT_AS, &rl);
        }
        if (h->o.cpu_percent > 0)
            setpriority(PRIO_PROCESS, 0, 10);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    /* fds 3 and 4 must not be clobbered while moving: go through high numbers first. */
    int t = fcntl(task_rd, F_DUPFD, 10), r = fcntl(rec_wr, F_DUPFD, 10);
    int devnull = open("/dev/null", O_RDONLY);
    if (t < 0 || r < 0 || devnull < 0 || dup2(devnull, 0) < 0 || dup2(logfd, 1) < 0 ||
        dup2(logfd, 2) < 0 || dup2(t, RAMPART_PLUGIN_TASK_FD) < 0 ||
        dup2(r, RAMPART_PLUGIN_RECORD_FD) < 0)
        _exit(126);
    syscall(SYS_close_range, 5, ~0U, 0);
    if (chdir(cwd) < 0)
        _exit(126);
    char *const argv[] = {(char *)path, NULL};
    execve(path, argv, envp);
    _exit(127);
}

/* Starts p (state P_IDLE or P_BACKOFF). On a refusal (checksum) p stays idle and refused. */
static void plugin_spawn(plugin_host_t *h, plugin_t *p)
{
    char path[4096], cwd[4096], logp[4096];
    if (snprintf(cwd, sizeof(cwd), "%s/%s", h->dir, p->name) >= (int)sizeof(cwd) - 80 ||
        snprintf(path, sizeof(path), "%s/%s", cwd, p->name) >= (int)sizeof(path)) {
        LOG_ERROR("plugin_path_too_long", "plugin=%s", p->name);
        p->refused = true;
        return;
    }
    char hex[65];
    int rc = agent_sha256_file(path, hex);
    if (rc < 0 || !p->sha256[0] || strcasecmp(hex, p->sha256) != 0) {
        char q[160];
        p->refused = true;
        p->state = P_IDLE;
        snprintf(p->last_exit, sizeof(p->last_exit), "%s",
                 rc < 0          ? "binary unreadable"
                 : !p->sha256[0] ? "no sha256 in config"
                                 : "sha256 mismatch");
        LOG_ERROR("plugin_refused",
                  "plugin=%s version=%s reason=\"%s\" path=%s expected=%s actual=%s errno=%d",
                  p->name, log_quote(q, sizeof(q), p->version), p->last_exit, path,
                  p->sha256[0] ? p->sha256 : "-", rc < 0 ? "-" : hex, rc < 0 ? -rc : 0);
        return;
    }
    p->refused = false;
    int tp[2] = {-1, -1}, rp[2] = {-1, -1};
    if (pipe2(tp, O_CLOEXEC) < 0 || pipe2(rp, O_CLOEXEC) < 0) {
        LOG_ERROR("plugin_pipe_failed", "plugin=%s errno=%d", p->name, errno);
        goto fail;
    }
    snprintf(logp, sizeof(logp), "%s/%s.log", h->log_dir, p->name);
    struct stat lst;
    if (stat(logp, &lst) == 0 && lst.st_size > (1 << 20)) {
        char old[4200];
        snprintf(old, sizeof(old), "%s.1", logp);
        rename(logp, old);
    }
    int logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (logfd < 0)
        logfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    p->cgroup[0] = '\0';
    if (h->cgroup2 && cgroup_for(h, p) < 0) {
        LOG_WARN("plugin_cgroup_failed", "plugin=%s path=%s errno=%d", p->name, p->cgroup, errno);
        p->cgroup[0] = '\0';
    }
    char *env[8];
    int ne = 0;
    env[ne++] = xasprintf("DETAIL=%s", p->detail ? p->detail : "");
    env[ne++] = xasprintf("RAMPART_PLUGIN_NAME=%s", p->name);
    env[ne++] = xasprintf("RAMPART_PLUGIN_VERSION=%s", p->version);
    env[ne++] = xasprintf("RAMPART_AGENT_ID=%s", h->agent_id);
    env[ne++] = xasprintf("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    const char *tz = getenv("TZ");
    if (tz)
        env[ne++] = xasprintf("TZ=%s", tz);
    const char *asan = getenv("ASAN_OPTIONS"); /* sanitizer builds of plugins in tests */
    if (asan)
        env[ne++] = xasprintf("ASAN_OPTIONS=%s", asan);
    env[ne] = NULL;
    pid_t pid = fork();
    if (pid == 0)
        child_exec(h, p, path, cwd, tp[0], rp[1], logfd, env);
    for (int i = 0; i < ne; i++)
        free(env[i]);
    close(logfd);
    if (pid < 0) {
        LOG_ERROR("plugin_fork_failed", "plugin=%s errno=%d", p->name, errno);
        goto fail;
    }
    setpgid(pid, pid); /* also in the child: whichever runs first */
    close(tp[0]);
    close(rp[1]);
    p->pid = pid;
    p->wfd = tp[1];
    p->rfd = rp[0];
    fcntl(p->wfd, F_SETFL, O_NONBLOCK);
    fcntl(p->rfd, F_SETFL, O_NONBLOCK);
    p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (p->pidfd < 0)
        LOG_WARN("pidfd_unavailable", "plugin=%s errno=%d (exits noticed within 1 s)", p->name,
                 errno);
    else
        set_tag(h, p->pidfd, p, K_EXIT, EPOLLIN, EPOLL_CTL_ADD);
    set_tag(h, p->rfd, p, K_RECORDS, EPOLLIN, EPOLL_CTL_ADD);
    set_tag(h, p->wfd, p, K_TASKS, 0, EPOLL_CTL_ADD);
    frame_reader_dispose(&p->rd);
    frame_reader_init(&p->rd, h->o.max_frame);
    p->outlen = 0;
    p->state = P_RUNNING;
    p->started_ms = mono_ms();
    p->started_at = (int64_t)time(NULL);
    p->tokens = (double)h->o.burst;
    p->refill_ms = p->started_ms;
    p->cpu_ticks = 0;
    p->cpu_at_ms = 0;
    LOG_INFO("plugin_started", "plugin=%s version=%s pid=%d limits=%s", p->name, p->version,
             (int)pid, p->cgroup[0] ? "cgroup2" : "rlimit");
    return;
fail:
    for (int i = 0; i < 2; i++) {
        if (tp[i] >= 0)
            close(tp[i]);
        if (rp[i] >= 0)
            close(rp[i]);
    }
    p->state = P_BACKOFF;
    p->restart_at = mono_ms() + backoff_ms(h, p);
}

/* Closes the task pipe and gives the plugin stop_timeout to exit (records still read). */
static void plugin_stop(plugin_host_t *h, plugin_t *p)
{
    if (p->state != P_RUNNING) {
        if (p->state == P_BACKOFF)
            p->state = P_IDLE;
        return;
    }
    close_fd(h, &p->wfd);
    p->outlen = 0;
    p->state = P_STOPPING;
    p->stop_deadline = mono_ms() + h->o.stop_timeout_ms;
    LOG_INFO("plugin_stopping", "plugin=%s pid=%d", p->name, (int)p->pid);
}

static void kill_group(plugin_t *p)
{
    if (p->pid > 0)
        kill(-p->pid, SIGKILL);
}

/* The plugin's process exited (status from waitpid). */
static void plugin_exited(plugin_host_t *h, plugin_t *p, int status)
{
    /* Whatever the group left behind goes with it. */
    kill_group(p);
    close_fd(h, &p->pidfd);
    close_fd(h, &p->wfd);
    close_fd(h, &p->rfd);
    if (p->cgroup[0]) {
        if (rmdir(p->cgroup) < 0 && errno != ENOENT)
            LOG_DEBUG("plugin_cgroup_busy", "plugin=%s errno=%d", p->name, errno);
    }
    char how[64];
    if (WIFEXITED(status))
        snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(how, sizeof(how), "signal %d", WTERMSIG(status));
    else
        snprintf(how, sizeof(how), "status %d", status);
    bool was_stopping = p->state == P_STOPPING;
    if (!p->last_exit[0] || !was_stopping)
        snprintf(p->last_exit, sizeof(p->last_exit), "%s", how);
    int64_t ran = mono_ms() - p->started_ms;
    p->pid = 0;
    p->started_at = 0;
    if (was_stopping) {
        LOG_INFO("plugin_stopped", "plugin=%s how=\"%s\"", p->name, how);
        p->state = P_IDLE;
        if (p->restart_on_exit && p->wanted && !h->stopping) {
            p->restart_on_exit = false;
            p->backoff_n = 0;
            plugin_spawn(h, p);
        }
        return;
    }
    if (ran > h->o.backoff_max_ms)
        p->backoff_n = 0;
    int64_t d = backoff_ms(h, p);
    p->state = P_BACKOFF;
    p->restart_at = mono_ms() + d;
    p->restarts++;
    if (p->m_restarts)
        metrics_counter_inc(p->m_restarts);
    LOG_WARN("plugin_exited", "plugin=%s how=\"%s\" ran_ms=%" PRId64 " restart_in_ms=%" PRId64,
             p->name, how, ran, d);
}

/* Cuts a misbehaving plugin off: kill its group now; its exit schedules the restart. */
static void plugin_cut_off(plugin_host_t *h, plugin_t *p, const char *reason)
{
    p->cutoffs++;
    if (p->m_cutoffs)
        metrics_counter_inc(p->m_cutoffs);
    snprintf(p->last_exit, sizeof(p->last_exit), "cut off: %s", reason);
    LOG_ERROR("plugin_cut_off", "plugin=%s pid=%d reason=%s", p->name, (int)p->pid, reason);
    close_fd(h, &p->rfd);
    close_fd(h, &p->wfd);
    kill_group(p);
    if (p->pidfd < 0) {
        int st = 0;
        if (waitpid(p->pid, &st, 0) == p->pid)
            plugin_exited(h, p, st);
    }
}

/* ---- records ------------------------------------------------------------------------------ */

static bool take_token(plugin_host_t *h, plugin_t *p, int64_t now)
{
    if (now > p->refill_ms) {
        p->tokens += (double)(now - p->refill_ms) * (double)h->o.rate / 1000.0;
        if (p->tokens > (double)h->o.burst)
            p->tokens = (double)h->o.burst;
        p->refill_ms = now;
    }
    if (p->tokens >= 1.0) {
        p->tokens -= 1.0;
        return true;
    }
    return false;
}

static void on_readable(plugin_host_t *h, plugin_t *p)
{
    int64_t now = mono_ms();
    for (int i = 0; i < READS_PER_WAKE && p->rfd >= 0; i++) {
        long n = frame_reader_fill(&p->rd, p->rfd);
        if (n == -EAGAIN)
            break;
        if (n <= 0) { /* EOF: the plugin closed fd 4 or exited */
            close_fd(h, &p->rfd);
            if (p->pidfd < 0 && p->pid > 0) {
                int st = 0;
                if (waitpid(p->pid, &st, p->state == P_STOPPING ? 0 : WNOHANG) == p->pid)
                    plugin_exited(h, p, st);
            }
            break;
        }
        frame_record_t rec;
        frame_error_t err;
        int rc;
        while ((rc = frame_reader_next(&p->rd, &rec, &err)) == 1) {
            if (rec.data_type == RAMPART_DT_PLUGIN_HEARTBEAT) {
                size_t l = rec.len < PLUGIN_REPORT_MAX ? rec.len : 0;
                memcpy(p->report, rec.data, l);
                p->report_len = l;
                continue;
            }
            if (!take_token(h, p, now)) {
                p->dropped++;
                p->throttle_since_log++;
                if (p->m_dropped)
                    metrics_counter_inc(p->m_dropped);
                if (now - p->throttle_logged_ms >= THROTTLE_LOG_MS) {
                    LOG_WARN("plugin_throttled",
                             "plugin=%s dropped=%" PRIu64 " dropped_total=%" PRIu64
                             " rate=%" PRId64,
                             p->name, p->throttle_since_log, p->dropped, h->o.rate);
                    p->throttle_logged_ms = now;
                    p->throttle_since_log = 0;
                }
                continue;
            }
            if (rec.timestamp == 0)
                rec.timestamp = (int64_t)time(NULL);
            p->records++;
            p->bytes += rec.len;
            if (p->m_records)
                metrics_counter_inc(p->m_records);
            h->o.sink.on_record(h->o.sink.ud, p->name, &rec);
        }
        if (rc < 0) {
            plugin_cut_off(h, p, frame_error_name(err));
            return;
        }
    }
}

/* ---- tasks -------------------------------------------------------------------------------- */

static void flush_tasks(plugin_host_t *h, plugin_t *p)
{
    while (p->outlen > 0 && p->wfd >= 0) {
        ssize_t n = write(p->wfd, p->out, p->outlen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) { /* the plugin closed fd 3: it is going away */
            p->outlen = 0;
            break;
        }
        memmove(p->out, p->out + n, p->outlen - (size_t)n);
        p->outlen -= (size_t)n;
    }
    if (p->wfd >= 0)
        set_tag(h, p->wfd, p, K_TASKS, p->outlen ? EPOLLOUT : 0, EPOLL_CTL_MOD);
}

static plugin_t *find(plugin_host_t *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->plugins[i]->name, name) == 0)
            return h->plugins[i];
    return NULL;
}

static void deliver_task(plugin_host_t *h, const Grpc__Task *t)
{
    plugin_t *p = find(h, t->object_name);
    if (!p || p->state != P_RUNNING || p->wfd < 0) {
        h->o.sink.on_task_failed(h->o.sink.ud, t, p ? "plugin not running" : "no such plugin");
        return;
    }
    size_t len = grpc__task__get_packed_size(t);
    if (len > h->o.max_frame || p->outlen + len + 4 > PLUGIN_TASK_QUEUE) {
        h->o.sink.on_task_failed(h->o.sink.ud, t, "plugin task queue full");
        return;
    }
    if (p->outcap < p->outlen + len + 4) {
        p->outcap = p->outlen + len + 4;
        p->out = xrealloc(p->out, p->outcap);
    }
    uint8_t *f = p->out + p->outlen;
    f[0] = (uint8_t)len;
    f[1] = (uint8_t)(len >> 8);
    f[2] = (uint8_t)(len >> 16);
    f[3] = (uint8_t)(len >> 24);
    grpc__task__pack(t, f + 4);
    p->outlen += len + 4;
    p->tasks++;
    char q[160];
    LOG_INFO("plugin_task", "plugin=%s data_type=%d token=%s", p->name, (int)t->data_type,
             log_quote(q, sizeof(q), t->token));
    flush_tasks(h, p);
}

/* ---- sync --------------------------------------------------------------------------------- */

static plugin_t *plugin_new(plugin_host_t *h, const char *name)
{
    plugin_t *p = xcalloc(1, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->pidfd = p->rfd = p->wfd = -1;
    frame_reader_init(&p->rd, h->o.max_frame);
    if (h->o.metrics) {
        char l[128];
        snprintf(l, sizeof(l), "plugin=\"%s\"", name);
        p->m_records = metrics_counter(h->o.metrics, "rampart_agent_plugin_records_total",
                                       "records received from a plugin", l);
        p->m_dropped = metrics_counter(h->o.metrics, "rampart_agent_plugin_dropped_total",
                                       "records a plugin sent above its rate, dropped", l);
        p->m_restarts = metrics_counter(h->o.metrics, "rampart_agent_plugin_restarts_total",
                                        "plugin restarts after an exit or a cut-off", l);
        p->m_cutoffs = metrics_counter(h->o.metrics, "rampart_agent_plugin_cutoffs_total",
                                       "plugins cut off for a bad frame", l);
    }
    return p;
}

static void plugin_free(plugin_t *p)
{
    frame_reader_dispose(&p->rd);
    free(p->out);
    free(p->detail);
    free(p);
}

static void do_sync(plugin_host_t *h, Grpc__Config *cfgs, size_t n)
{
    for (size_t i = 0; i < h->n; i++)
        h->plugins[i]->wanted = false;
    for (size_t i = 0; i < n; i++) {
        Grpc__Config *c = &cfgs[i];
        char q[160];
        if (!plugin_name_valid(c->name)) {
            LOG_WARN("plugin_config_refused", "name=%s reason=\"bad plugin name\"",
                     log_quote(q, sizeof(q), c->name));
            continue;
        }
        plugin_t *p = find(h, c->name);
        if (!p) {
            if (h->n == MAX_PLUGINS) {
                LOG_WARN("plugin_config_refused", "name=%s reason=\"too many plugins\"", c->name);
                continue;
            }
            p = plugin_new(h, c->name);
            h->plugins[h->n++] = p;
        }
        p->wanted = true;
        bool changed = strcmp(p->version, c->version) != 0 || strcmp(p->sha256, c->sha256) != 0;
        if (!changed && !p->refused && p->state != P_IDLE)
            continue;
        snprintf(p->version, sizeof(p->version), "%s", c->version);
        snprintf(p->sha256, sizeof(p->sha256), "%s", c->sha256);
        free(p->detail);
        p->detail = xstrndup(c->detail, 4096);
        if (p->state == P_RUNNING && changed) {
            LOG_INFO("plugin_version_change", "plugin=%s version=%s", p->name,
                     log_quote(q, sizeof(q), c->version));
            p->restart_on_exit = true;
            plugin_stop(h, p);
        } else if (p->state == P_IDLE || p->state == P_BACKOFF) {
            p->backoff_n = 0;
            plugin_spawn(h, p);
        } else if (p->state == P_STOPPING) {
            p->restart_on_exit = true;
        }
    }
    for (size_t i = 0; i < h->n; i++) {
        plugin_t *p = h->plugins[i];
        if (!p->wanted) {
            p->restart_on_exit = false;
            plugin_stop(h, p);
        }
    }
}

/* Frees plugins that are neither wanted nor running. */
static void reap_unwanted(plugin_host_t *h)
{
    for (size_t i = 0; i < h->n;) {
        plugin_t *p = h->plugins[i];
        if (!p->wanted && (p->state == P_IDLE || p->state == P_BACKOFF) && p->pid == 0) {
            LOG_INFO("plugin_removed", "plugin=%s", p->name);
            plugin_free(p);
            h->plugins[i] = h->plugins[--h->n];
        } else {
            i++;
        }
    }
}

static void free_configs(Grpc__Config *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].name);
        free(c[i].version);
        free(c[i].sha256);
        free(c[i].detail);
    }
    free(c);
}

static void free_task(Grpc__Task *t)
{
    free(t->object_name);
    free(t->data);
    free(t->token);
}

static void post(plugin_host_t *h, cmd_t *c)
{
    pthread_mutex_lock(&h->mu);
    *h->cmds_tail = c;
    h->cmds_tail = &c->next;
    pthread_mutex_unlock(&h->mu);
    uint64_t one = 1;
    if (write(h->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        LOG_ERROR("eventfd_write_failed", "errno=%d", errno);
}

void plugin_host_sync(plugin_host_t *h, Grpc__Config *const *configs, size_t n)
{
    cmd_t *c = xcalloc(1, sizeof(*c));
    c->kind = CMD_SYNC;
    c->configs = xcalloc(n ? n : 1, sizeof(*c->configs));
    for (size_t i = 0; i < n; i++) {
        grpc__config__init(&c->configs[i]);
        c->configs[i].name = xstrndup(configs[i]->name, 256);
        c->configs[i].version = xstrndup(configs[i]->version, 63);
        c->configs[i].sha256 = xstrndup(configs[i]->sha256, 64);
        c->configs[i].detail = xstrndup(configs[i]->detail, 4096);
    }
    c->nconfigs = n;
    post(h, c);
}

void plugin_host_task(plugin_host_t *h, const Grpc__Task *task)
{
    cmd_t *c = xcalloc(1, sizeof(*c));
    c->kind = CMD_TASK;
    grpc__task__init(&c->task);
    c->task.data_type = task->data_type;
    c->task.object_name = xstrndup(task->object_name, 256);
    c->task.data = xstrdup(task->data);
    c->task.token = xstrndup(task->token, 256);
    post(h, c);
}

/* ---- the thread ----------------------------------------------------------------------------- */

static void run_commands(plugin_host_t *h)
{
    cmd_t *list = h->cmds;
    h->cmds = NULL;
    h->cmds_tail = &h->cmds;
    while (list) {
        cmd_t *c = list;
        list = c->next;
        if (c->kind == CMD_SYNC) {
            if (!h->stopping)
                do_sync(h, c->configs, c->nconfigs);
            free_configs(c->configs, c->nconfigs);
        } else {
            deliver_task(h, &c->task);
            free_task(&c->task);
        }
        free(c);
    }
}

/* Timers: restarts due, stop deadlines, exits without a pidfd. Returns the next wake-up
 * delay in ms (-1: none). */
static int timers(plugin_host_t *h, int64_t now)
{
    int64_t next = -1;
    for (size_t i = 0; i < h->n; i++) {
        plugin_t *p = h->plugins[i];
        if (p->pid > 0 && p->pidfd < 0) {
            int st = 0;
            if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
                plugin_exited(h, p, st);
            } else {
                int64_t t = now + 1000;
                next = next < 0 || t < next ? t : next;
            }
        }
        if (p->state == P_BACKOFF && p->wanted && !h->stopping) {
            if (now >= p->restart_at)
                plugin_spawn(h, p);
            else
                next = next < 0 || p->restart_at < next ? p->restart_at : next;
        }
        if (p->state == P_STOPPING) {
            if (now >= p->stop_deadline) {
                LOG_WARN("plugin_kill", "plugin=%s pid=%d reason=stop_timeout", p->name,
                         (int)p->pid);
                kill_group(p);
                p->stop_deadline = now + 1000;
            }
            next = next < 0 || p->stop_deadline < next ? p->stop_deadline : next;
        }
    }
    reap_unwanted(h);
    if (next < 0)
        return -1;
    return next <= now ? 0 : (int)(next - now);
}

static void on_exit_ready(plugin_host_t *h, plugin_t *p)
{
    int st = 0;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r != p->pid)
        return;
    /* Read what the plugin wrote before it died, then close. */
    if (p->rfd >= 0)
        on_readable(h, p);
    if (p->pid > 0 && p->state != P_BACKOFF)
        plugin_exited(h, p, st);
}

static bool all_stopped(plugin_host_t *h)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->plugins[i]->pid > 0)
            return false;
    return true;
}

static void *host_main(void *arg)
{
    plugin_host_t *h = arg;
    struct epoll_event evs[32];
    int timeout = -1;
    for (;;) {
        int n = epoll_wait(h->epfd, evs, 32, timeout);
        if (n < 0 && errno != EINTR) {
            LOG_ERROR("epoll_wait_failed", "errno=%d", errno);
            break;
        }
        pthread_mutex_lock(&h->mu);
        bool had_records = false;
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == 0) {
                uint64_t v;
                if (read(h->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                    LOG_ERROR("eventfd_read_failed", "errno=%d", errno);
                continue;
            }
            plugin_t *p = (plugin_t *)(uintptr_t)(tag & ~(uint64_t)K_MASK);
            switch ((int)(tag & K_MASK)) {
            case K_RECORDS:
                on_readable(h, p);
                had_records = true;
                break;
            case K_TASKS:
                flush_tasks(h, p);
                break;
            case K_EXIT:
                on_exit_ready(h, p);
                break;
            default:
                break;
            }
        }
        run_commands(h);
        timeout = timers(h, mono_ms());
        bool done = h->stopping && all_stopped(h);
        pthread_mutex_unlock(&h->mu);
        if (done)
            break;
        /* Plugins write record by record; waking for each would cost a context switch per
         * record (most of the agent's CPU at 1,000 records/s). Records that came in let the
         * pipes fill for a moment before the next read, a wait well inside the transport's
         * 100 ms batching; the 64 KiB pipe buffer holds far more than a plugin's rate limit
         * lets through in that time. Commands and exits are read on the next pass. */
        if (had_records && !h->stopping) {
            struct timespec ts = {0, READ_COALESCE_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

plugin_host_t *plugin_host_new(const plugin_host_opts_t *o)
{
    plugin_host_t *h = xcalloc(1, sizeof(*h));
    h->o = *o;
    h->dir = xstrdup(o->dir);
    h->log_dir = xstrdup(o->log_dir);
    h->agent_id = xstrdup(o->agent_id);
    h->o.dir = h->dir;
    h->o.log_dir = h->log_dir;
    h->o.agent_id = h->agent_id;
    pthread_mutex_init(&h->mu, NULL);
    h->cmds_tail = &h->cmds;
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
    epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->evfd, &ev);
    h->rng = (uint64_t)mono_ms() * 0x9e3779b97f4a7c15ULL + (uint64_t)getpid();
    if (!h->rng)
        h->rng = 1;
    mkdir(h->log_dir, 0750);
    const char *why = "";
    h->cgroup2 = cgroup_setup(h, &why) == 0;
    if (h->cgroup2)
        LOG_INFO("plugin_limits",
                 "mode=cgroup2 base=%s memory_max=%" PRId64 " cpu_percent=%" PRId64, h->cgroup_base,
                 o->memory_max, o->cpu_percent);
    else
        LOG_INFO("plugin_limits",
                 "mode=rlimit reason=\"%s\" memory_max=%" PRId64 " (RLIMIT_AS) cpu=nice_10", why,
                 o->memory_max);
    return h;
}

int plugin_host_start(plugin_host_t *h)
{
    int rc = pthread_create(&h->thread, NULL, host_main, h);
    if (rc != 0)
        return -rc;
    h->started = true;
    return 0;
}

void plugin_host_free(plugin_host_t *h)
{
    if (!h)
        return;
    if (h->started) {
        pthread_mutex_lock(&h->mu);
        h->stopping = true;
        for (size_t i = 0; i < h->n; i++) {
            h->plugins[i]->wanted = false;
            plugin_stop(h, h->plugins[i]);
        }
        pthread_mutex_unlock(&h->mu);
        uint64_t one = 1;
        if (write(h->evfd, &one, sizeof(one)) < 0)
            LOG_ERROR("eventfd_write_failed", "errno=%d", errno);
        pthread_join(h->thread, NULL);
    }
    run_commands(h); /* frees what was posted after the thread ended */
    for (size_t i = 0; i < h->n; i++) {
        plugin_t *p = h->plugins[i];
        close_fd(h, &p->pidfd);
        close_fd(h, &p->rfd);
        close_fd(h, &p->wfd);
        plugin_free(p);
    }
    close(h->epfd);
    close(h->evfd);
    pthread_mutex_destroy(&h->mu);
    free(h->dir);
    free(h->log_dir);
    free(h->agent_id);
    free(h);
}

/* ---- stats -------------------------------------------------------------------------------- */

static uint64_t proc_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *s = strrchr(buf, ')');
    if (!s)
        return 0;
    unsigned long long ut = 0, st = 0;
    /* fields after the name: state(3) ... utime(14) stime(15) */
    if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return ut + st;
}

static uint64_t proc_rss(pid_t pid, long page)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (uint64_t)page;
}

static int proc_nfd(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    int n = 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static const char *state_name(const plugin_t *p)
{
    switch (p->state) {
    case P_RUNNING:
        return "running";
    case P_BACKOFF:
        return "backoff";
    case P_STOPPING:
        return "stopping";
    default:
        return p->refused ? "refused" : "stopped";
    }
}

size_t plugin_host_stats(plugin_host_t *h, plugin_stat_t *out, size_t max)
{
    if (!h->clk_tck) {
        h->clk_tck = sysconf(_SC_CLK_TCK);
        h->page_size = sysconf(_SC_PAGESIZE);
    }
    pthread_mutex_lock(&h->mu);
    size_t k = 0;
    int64_t now = mono_ms();
    for (size_t i = 0; i < h->n && k < max; i++) {
        plugin_t *p = h->plugins[i];
        if (!p->wanted && p->pid == 0)
            continue;
        plugin_stat_t *s = &out[k++];
        memset(s, 0, offsetof(plugin_stat_t, report));
        snprintf(s->name, sizeof(s->name), "%s", p->name);
        snprintf(s->version, sizeof(s->version), "%s", p->version);
        snprintf(s->last_exit, sizeof(s->last_exit), "%s", p->last_exit);
        s->state = state_name(p);
        s->pid = p->pid;
        s->started_at = p->started_at;
        s->restarts = p->restarts;
        s->records = p->records;
        s->bytes = p->bytes;
        s->dropped = p->dropped;
        s->cutoffs = p->cutoffs;
        s->tasks = p->tasks;
        if (p->pid > 0) {
            uint64_t t = proc_ticks(p->pid);
            if (p->cpu_at_ms && now > p->cpu_at_ms && t >= p->cpu_ticks)
                s->cpu = (double)(t - p->cpu_ticks) * 1000.0 / (double)h->clk_tck * 100.0 /
                         (double)(now - p->cpu_at_ms);
            p->cpu_ticks = t;
            p->cpu_at_ms = now;
            s->rss = proc_rss(p->pid, h->page_size);
            s->nfd = proc_nfd(p->pid);
        }
        memcpy(s->report, p->report, p->report_len);
        s->report_len = p->report_len;
    }
    pthread_mutex_unlock(&h->mu);
    return k;
}
