#include "sensor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/log.h"
#include "common/log_bridge.h"
#include "common/xalloc.h"
#include "programs.h"
#include "sensor.skel.h"

#define SENSOR_MAX_PROGS 48
#define DEFAULT_RINGBUF  (4u << 20)
#define TRACEFS          "/sys/kernel/tracing"

typedef enum { PROG_OFF, PROG_ATTACHED, PROG_UNAVAILABLE, PROG_FAILED } prog_state_t;

static const char *const prog_state_names[] = {"off", "attached", "unavailable", "failed"};

struct sensor {
    struct rampart_sensor *skel;
    struct ring_buffer *rb;
    struct bpf_link *iter_link;
    struct {
        const char *name;
        struct bpf_program *prog; /* NULL for the iterator when it did not load */
        uint32_t needs;           /* event bits that need it; 0 = the task iterator */
        struct bpf_link *link;
        prog_state_t state;
    } progs[SENSOR_MAX_PROGS];
    unsigned nprogs;
    uint32_t ev_mask;
    bool detached; /* sensor_detach: no event program attached whatever the mask */
    int ncpu;
    sensor_record_fn fn;
    void *ctx;
};

/* Which event types need which program: a program is attached only while one of them is on. */
static const struct {
    const char *name;
    uint32_t needs;
} prog_events[] = {{"rs_exec", RS_EVB(EXECVE) | RS_EVB(PRIV_ESC)},
                   {"rs_exit", RS_EVB(EXIT)},
#define RS_X(name, events, call) {"rs_x_" #name, events},
                   RS_SYSCALL_PROGRAMS(RS_X)
#undef RS_X
};

uint64_t sensor_exe_hash(const char *path)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; path[i] && i < RS_MAX_EXE - 1; i++)
        h = (h ^ (unsigned char)path[i]) * 0x100000001b3ULL;
    return h;
}

int sensor_check_kernel(const char *btf_path, char *err, size_t errlen)
{
    if (!btf_path)
        btf_path = "/sys/kernel/btf/vmlinux";
    if (access(btf_path, R_OK) != 0) {
        snprintf(err, errlen,
                 "this kernel has no BTF (%s): the CO-RE sensor needs a kernel built with "
                 "CONFIG_DEBUG_INFO_BTF",
                 btf_path);
        return -ENOTSUP;
    }
    int rc = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
    if (rc != 1) {
        snprintf(err, errlen,
                 "this kernel has no BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8+)%s",
                 rc < 0 ? " or BPF is not allowed for this user" : "");
        return rc < 0 ? rc : -ENOTSUP;
    }
    return 0;
}

static int on_record(void *ctx, void *data, size_t len)
{
    sensor_t *s = ctx;
    s->fn(s->ctx, data, len);
    return 0;
}

/* syscall exit tracepoints need tracefs (a fresh machine may not have it mounted) */
static void ensure_tracefs(void)
{
    if (access(TRACEFS "/events", F_OK) == 0)
        return;
    if (mount("tracefs", TRACEFS, "tracefs", 0, NULL) == 0)
        LOG_INFO("driver_tracefs_mounted", "path=%s", TRACEFS);
    else
        LOG_WARN("driver_tracefs_mount_failed", "path=%s err=%s", TRACEFS, strerror(errno));
}

/* Attaches the programs the event mask needs and detaches the others. A syscall without a
 * tracepoint in this kernel (init_module without CONFIG_MODULES) is "unavailable", not a
 * failure. 0, or -EPERM when a needed program failed. */
static int sync_links(sensor_t *s)
{
    int rc = 0;
    for (unsigned i = 0; i < s->nprogs; i++) {
        if (!s->progs[i].needs || s->progs[i].state == PROG_UNAVAILABLE)
            continue;
        bool want = !s->detached && (s->progs[i].needs & s->ev_mask);
        if (!want && s->progs[i].link) {
            bpf_link__destroy(s->progs[i].link);
            s->progs[i].link = NULL;
            s->progs[i].state = PROG_OFF;
        } else if (want && !s->progs[i].link) {
            s->progs[i].link = bpf_program__attach(s->progs[i].prog);
            if (s->progs[i].link) {
                s->progs[i].state = PROG_ATTACHED;
            } else if (errno == ENOENT && access(TRACEFS "/events", F_OK) == 0) {
                /* tracefs is there, the tracepoint is not (without tracefs: a failure) */
                s->progs[i].state = PROG_UNAVAILABLE;
                LOG_INFO("driver_prog_unavailable", "prog=%s reason=\"no such tracepoint\"",
                         s->progs[i].name);
            } else {
                if (s->progs[i].state != PROG_FAILED)
                    LOG_ERROR("driver_attach_failed", "prog=%s err=%d", s->progs[i].name, -errno);
                s->progs[i].state = PROG_FAILED;
                rc = -EPERM;
            }
        } else if (!want) {
            s->progs[i].state = PROG_OFF;
        }
    }
    return rc;
}

static void list_programs(sensor_t *s)
{
    const size_t ntable = sizeof(prog_events) / sizeof(prog_events[0]);
    struct bpf_program *p;
    bpf_object__for_each_program(p, s->skel->obj)
    {
        const char *name = bpf_program__name(p);
        size_t k = 0;
        while (k < ntable && strcmp(name, prog_events[k].name) != 0)
            k++;
        if (k == ntable) {
            if (strcmp(name, "rs_iter_task") != 0)
                LOG_ERROR("driver_prog_unknown", "prog=%s reason=\"not in the event table\"", name);
            continue;
        }
        if (s->nprogs >= SENSOR_MAX_PROGS)
            break;
        s->progs[s->nprogs].name = name;
        s->progs[s->nprogs].prog = p;
        s->progs[s->nprogs].needs = prog_events[k].needs;
        s->progs[s->nprogs].state = PROG_OFF;
        /* a tracepoint this kernel does not have (asked here rather than through a failed
         * attach, which libbpf logs as a warning) */
        const char *sec = bpf_program__section_name(p);
        char path[256];
        if (strncmp(sec, "tp/", 3) == 0) {
            snprintf(path, sizeof(path), TRACEFS "/events/%s", sec + 3);
            if (access(path, F_OK) != 0 && access(TRACEFS "/events", F_OK) == 0) {
                s->progs[s->nprogs].state = PROG_UNAVAILABLE;
                LOG_INFO("driver_prog_unavailable", "prog=%s reason=\"no tracepoint %s\"", name,
                         sec + 3);
            }
        }
        s->nprogs++;
    }
}

static void note_iter(sensor_t *s, bool ok)
{
    if (s->nprogs >= SENSOR_MAX_PROGS)
        return;
    s->progs[s->nprogs].name = "rs_iter_task";
    s->progs[s->nprogs].prog = ok ? s->skel->progs.rs_iter_task : NULL;
    s->progs[s->nprogs].state = ok ? PROG_ATTACHED : PROG_FAILED;
    s->nprogs++;
}

static struct rampart_sensor *open_skel(const sensor_opts_t *o, bool with_iter, int ncpu)
{
    struct rampart_sensor *skel = rampart_sensor__open();
    if (!skel)
        return NULL;
    uint32_t rb = o->ringbuf_bytes ? o->ringbuf_bytes : DEFAULT_RINGBUF;
    bpf_map__set_max_entries(skel->maps.events, rb);
    /* Each CPU looks at the ring's fill level after this many bytes of its own records, and
     * wakes the reader when a quarter of the ring is waiting (record.bpf.h): all CPUs together
     * look at least once per eighth of the ring. */
    uint64_t wake = rb / (8u * (uint32_t)ncpu);
    if (wake > rb / 64)
        wake = rb / 64;
    skel->data->wakeup_bytes = wake < 4096 ? 4096 : wake;
    skel->bss->self_tgid = o->include_self ? 0 : (uint32_t)getpid();
    skel->bss->rate_limit = o->rate_limit;
    skel->data->ev_enabled = o->ev_mask;
    bpf_program__set_autoload(skel->progs.rs_iter_task, with_iter);
    return skel;
}

int sensor_new(const sensor_opts_t *opts, sensor_record_fn fn, void *ctx, sensor_t **out, char *err,
               size_t errlen)
{
    int rc = sensor_check_kernel(opts->btf_path, err, errlen);
    if (rc < 0)
        return rc;
    log_bridge_libbpf();
    sensor_t *s = xcalloc(1, sizeof(*s));
    s->fn = fn;
    s->ctx = ctx;
    s->ncpu = libbpf_num_possible_cpus();
    if (s->ncpu <= 0) {
        snprintf(err, errlen, "cannot count possible CPUs");
        rc = -EINVAL;
        goto cleanup;
    }
    bool with_iter = opts->anti_rootkit, iter_failed = false;
    s->skel = open_skel(opts, with_iter, s->ncpu);
    if (!s->skel) {
        rc = -errno ? -errno : -EINVAL;
        snprintf(err, errlen, "cannot open the BPF object: %s", strerror(-rc));
        goto cleanup;
    }
    rc = rampart_sensor__load(s->skel);
    if (rc < 0 && with_iter) {
        /* retry without the task iterator: some kernels refuse BPF_TRACE_ITER */
        LOG_WARN("driver_iter_load_failed", "err=%d", rc);
        iter_failed = true;
        rampart_sensor__destroy(s->skel);
        with_iter = false;
        s->skel = open_skel(opts, false, s->ncpu);
        rc = s->skel ? rampart_sensor__load(s->skel) : -ENOMEM;
    }
    if (rc < 0) {
        snprintf(err, errlen,
                 "the kernel refused the BPF programs: %s (run as root; see the "
                 "lib.libbpf log lines)",
                 strerror(-rc));
        goto cleanup;
    }
    ensure_tracefs();
    list_programs(s);
    s->ev_mask = opts->ev_mask;
    sync_links(s);
    unsigned attached = 0;
    for (unsigned i = 0; i < s->nprogs; i++)
        attached += s->progs[i].state == PROG_ATTACHED;
    if (attached == 0 && opts->ev_mask) {
        rc = -EPERM;
        snprintf(err, errlen, "no BPF program could be attached");
        goto cleanup;
    }
    if (with_iter) {
        s->iter_link = bpf_program__attach_iter(s->skel->progs.rs_iter_task, NULL);
        note_iter(s, s->iter_link != NULL);
    } else if (iter_failed) {
        note_iter(s, false);
    }
    s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL);
    if (!s->rb) {
        rc = -errno ? -errno : -ENOMEM;
        snprintf(err, errlen, "cannot map the ring buffer: %s", strerror(-rc));
        goto cleanup;
    }
    *out = s;
    return 0;
cleanup:
    sensor_free(s);
    return rc;
}

void sensor_free(sensor_t *s)
{
    if (!s)
        return;
    ring_buffer__free(s->rb);
    for (unsigned i = 0; i < s->nprogs; i++)
        bpf_link__destroy(s->progs[i].link);
    bpf_link__destroy(s->iter_link);
    rampart_sensor__destroy(s->skel);
    free(s);
}

int sensor_detach(sensor_t *s)
{
    s->detached = true;
    return sync_links(s);
}

int sensor_attach(sensor_t *s)
{
    s->detached = false;
    return sync_links(s);
}

int sensor_fd(const sensor_t *s)
{
    return ring_buffer__epoll_fd(s->rb);
}

int sensor_poll(sensor_t *s, int timeout_ms)
{
    /* the kernel side wakes the reader only once a batch is waiting (record.bpf.h), so after
     * the wait, consume whatever is there whether or not a wakeup came */
    int rc = timeout_ms ? ring_buffer__poll(s->rb, timeout_ms) : 0;
    if (rc < 0 && rc != -EINTR)
        return rc;
    int n = ring_buffer__consume(s->rb);
    return n < 0 ? n : n + (rc > 0 ? rc : 0);
}

void sensor_counters(const sensor_t *s, struct rs_counters out[RS_EV__COUNT])
{
    memset(out, 0, sizeof(struct rs_counters) * RS_EV__COUNT);
    struct rs_counters *per = xcalloc((size_t)s->ncpu, sizeof(*per));
    int fd = bpf_map__fd(s->skel->maps.counters);
    for (uint32_t k = 0; k < RS_EV__COUNT; k++) {
        if (bpf_map_lookup_elem(fd, &k, per) != 0)
            continue;
        for (int c = 0; c < s->ncpu; c++) {
            out[k].events += per[c].events;
            out[k].rb_drops += per[c].rb_drops;
            out[k].rl_drops += per[c].rl_drops;
            out[k].filtered += per[c].filtered;
        }
    }
    free(per);
}

void sensor_programs(const sensor_t *s, unsigned *attached, unsigned *failed)
{
    *attached = *failed = 0;
    for (unsigned i = 0; i < s->nprogs; i++) {
        *attached += s->progs[i].state == PROG_ATTACHED;
        *failed += s->progs[i].state == PROG_FAILED;
    }
}

const char *sensor_program(const sensor_t *s, unsigned i, const char **state)
{
    if (i >= s->nprogs)
        return NULL;
    *state = prog_state_names[s->progs[i].state];
    return s->progs[i].name;
}

int sensor_program_stats(const sensor_t *s, unsigned i, uint64_t *run_ns, uint64_t *run_cnt)
{
    if (i >= s->nprogs || !s->progs[i].prog)
        return -ENOENT;
    struct bpf_prog_info info;
    uint32_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    if (bpf_obj_get_info_by_fd(bpf_program__fd(s->progs[i].prog), &info, &len) != 0)
        return -errno;
    *run_ns = info.run_time_ns;
    *run_cnt = info.run_cnt;
    return 0;
}

int sensor_set_events(sensor_t *s, uint32_t ev_mask)
{
    s->skel->data->ev_enabled = ev_mask;
    s->ev_mask = ev_mask;
    return sync_links(s);
}

int sensor_set_rate_limit(sensor_t *s, uint32_t per_exe_per_sec)
{
    s->skel->bss->rate_limit = per_exe_per_sec;
    return 0;
}

int sensor_exe_add(sensor_t *s, bool deny, const char *path)
{
    uint64_t h = sensor_exe_hash(path);
    uint8_t one = 1;
    struct bpf_map *m = deny ? s->skel->maps.exe_deny : s->skel->maps.exe_allow;
    if (bpf_map__update_elem(m, &h, sizeof(h), &one, sizeof(one), BPF_ANY) != 0)
        return -errno;
    if (deny)
        s->skel->bss->deny_used = 1;
    else
        s->skel->bss->allow_mode = 1;
    /* the kernel side recomputes each process' verdict when the generation changes */
    __atomic_add_fetch(&s->skel->data->filter_gen, 1, __ATOMIC_SEQ_CST);
    return 0;
}

int sensor_list_tasks(sensor_t *s, struct rs_task_seen **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!s->iter_link)
        return -ENOTSUP;
    int fd = bpf_iter_create(bpf_link__fd(s->iter_link));
    if (fd < 0)
        return -errno;
    size_t cap = 1024, len = 0;
    struct rs_task_seen *arr = xmalloc(cap * sizeof(*arr));
    char buf[sizeof(struct rs_task_seen) * 256];
    size_t have = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof(buf) - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = -errno;
            close(fd);
            free(arr);
            return e;
        }
        if (r == 0)
            break;
        have += (size_t)r;
        size_t whole = have / sizeof(struct rs_task_seen);
        for (size_t i = 0; i < whole; i++) {
            if (len == cap) {
                cap *= 2;
                arr = xrealloc(arr, cap * sizeof(*arr));
            }
            memcpy(&arr[len++], buf + i * sizeof(struct rs_task_seen), sizeof(*arr));
        }
        size_t used = whole * sizeof(struct rs_task_seen);
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    close(fd);
    *out = arr;
    *n = len;
    return 0;
}
