/* bench_driver: what the driver costs the programs it watches, and how many events per second
 * it carries without drops.
 *
 *   bench_driver [--rounds R] [--scale F] [--rate N] [--seconds S] [--stats-only]
 *
 * Syscall loops (execve of /bin/true via fork+exec+wait, with an empty environment and with 40
 * variables; connect to a closed local port; open(O_CREAT)+unlink; getppid, which the sensor
 * does not watch), each in a fresh worker process. Wall clock: the sensor is loaded once in
 * this process (driver/plugin's sensor module, with a thread draining the ring buffer on the
 * other core, as the plugin would) and its programs are detached and attached between blocks;
 * R pairs of blocks per loop in ABBA order; the figure is the mean of the pairs' differences
 * (attached - detached) per call with two standard errors. Then the kernel's run-time
 * statistics of the BPF programs during each loop (R passes, medians): the sensor's own time
 * per call, which does not depend much on how busy the machine is (the exec loops' wall clock,
 * ~700 us a call, is too noisy on a shared machine to show a few microseconds).
 *
 * Throughput: the real rampart-driver plugin runs with its fd 4 read by this process; a
 * child makes prctl(PR_SET_NAME) calls (one record each) paced at --rate per second for
 * --seconds, then unpaced. Reported: records sent, records the plugin delivered, and the
 * drops its heartbeat counted.
 *
 * Needs root and BTF; otherwise it says so and exits 0 (the smoke test must not fail there). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "common/log.h"
#include "driver_client.h"
#include "sensor.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------- the loops ---------- */

static uint16_t closed_port;
static char tmpfile_path[128];

static void loop_execve(long n)
{
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            char *argv[] = {"true", NULL};
            char *envp[] = {NULL};
            execve("/bin/true", argv, envp);
            _exit(127);
        }
        waitpid(p, NULL, 0);
    }
}

/* The same with an environment the size a login shell's child carries (40 variables, about
 * 2.5 KiB, SSH_CONNECTION among them): what the sensor's environment scan costs. */
static void loop_execve_env(long n)
{
    static char vars[40][96];
    char *envp[41];
    for (int i = 0; i < 38; i++) {
        snprintf(vars[i], sizeof(vars[i]),
                 "RAMPART_BENCH_VAR_%02d=/usr/local/share/rampart/%02d:"
                 "/opt/rampart/lib/%02d",
                 i, i, i);
        envp[i] = vars[i];
    }
    snprintf(vars[38], sizeof(vars[38]), "SSH_CONNECTION=10.0.0.1 51234 10.0.0.2 22");
    snprintf(vars[39], sizeof(vars[39]), "SSH_CLIENT=10.0.0.1 51234 22");
    envp[38] = vars[20]; /* the SSH variables in the middle, as a shell lists them */
    envp[39] = vars[21];
    envp[20] = vars[38];
    envp[21] = vars[39];
    envp[40] = NULL;
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            char *argv[] = {"true", NULL};
            execve("/bin/true", argv, envp);
            _exit(127);
        }
        waitpid(p, NULL, 0);
    }
}

static void loop_connect(long n)
{
    struct sockaddr_in in = {.sin_family = AF_INET,
                             .sin_port = htons(closed_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    for (long i = 0; i < n; i++) {
        /* UDP connect: no packet, the syscall's own cost dominates */
        if (connect(s, (void *)&in, sizeof(in)) < 0)
            abort();
    }
    close(s);
}

static void loop_open_unlink(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = open(tmpfile_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0)
            abort();
        close(fd);
        unlink(tmpfile_path);
    }
}

static void loop_getppid(long n)
{
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
}

typedef struct {
    const char *name;
    long n;
    double base[64], attached[64];
} loop_t;

/* ---------- in-process sensor with a drain thread ---------- */

static atomic_bool drain_stop;
static atomic_ulong drained;

static void count_record(void *ctx, const void *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
    atomic_fetch_add(&drained, 1);
}

static void *drain_main(void *arg)
{
    sensor_t *s = arg;
    while (!atomic_load(&drain_stop))
        sensor_poll(s, 50);
    sensor_poll(s, 0);
    return NULL;
}

static sensor_t *attach(pthread_t *th)
{
    sensor_opts_t o = {.ev_mask = (1u << RS_EV__COUNT) - 1, .include_self = true};
    const char *mask = getenv("BENCH_DRIVER_EVMASK"); /* experiments: which types are on */
    if (mask)
        o.ev_mask = (uint32_t)strtoul(mask, NULL, 0);
    sensor_t *s = NULL;
    char err[256];
    if (sensor_new(&o, count_record, NULL, &s, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_driver: %s\n", err);
        exit(1);
    }
    atomic_store(&drain_stop, false);
    pthread_create(th, NULL, drain_main, s);
    return s;
}

static void detach(sensor_t *s, pthread_t th)
{
    atomic_store(&drain_stop, true);
    pthread_join(th, NULL);
    sensor_free(s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    double tmp[64];
    memcpy(tmp, v, sizeof(double) * (size_t)n);
    qsort(tmp, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* Runs loop i in a fresh process (this binary re-executed with --worker): the loops must not
 * run in a process that holds the sensor's maps (fork would copy their mappings). */
static double time_loop(size_t i, long n)
{
    int p[2];
    if (pipe(p) < 0)
        abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        char idx[16], cnt[32], port[16];
        snprintf(idx, sizeof(idx), "%zu", i);
        snprintf(cnt, sizeof(cnt), "%ld", n);
        snprintf(port, sizeof(port), "%u", closed_port);
        execl("/proc/self/exe", "bench_driver", "--worker", idx, cnt, port, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char buf[64] = {0};
    ssize_t r = read(p[0], buf, sizeof(buf) - 1);
    close(p[0]);
    waitpid(pid, NULL, 0);
    return r > 0 ? atof(buf) : -1;
}

static void (*const loop_fns[])(long) = {loop_execve, loop_execve_env, loop_connect,
                                         loop_open_unlink, loop_getppid};

static int worker(int argc, char **argv)
{
    if (argc < 5)
        return 2;
    size_t i = (size_t)atoi(argv[2]);
    long n = atol(argv[3]);
    closed_port = (uint16_t)atoi(argv[4]);
    snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/rampart-bench-driver-%d", (int)getpid());
    if (i >= sizeof(loop_fns) / sizeof(loop_fns[0]) || n < 1)
        return 2;
    loop_fns[i](n / 10 + 1); /* warm up */
    double t0 = now_s();
    loop_fns[i](n);
    printf("%.3f\n", (now_s() - t0) / (double)n * 1e9);
    unlink(tmpfile_path);
    return 0;
}

/* ---------- throughput through the plugin ---------- */

static void generator(double rate, double seconds, long *sent_out)
{
    long sent = 0;
    double t0 = now_s(), end = t0 + seconds;
    for (;;) {
        double t = now_s();
        if (t >= end)
            break;
        long due = rate > 0 ? (long)((t - t0) * rate) : sent + 256;
        while (sent < due) {
            prctl(PR_SET_NAME, "rampart-bench", 0, 0, 0);
            sent++;
        }
    }
    *sent_out = sent;
}

static uint64_t heartbeat_u(driver_client_t *c, const char *key)
{
    const drec_t *hb = driver_client_last(c, 1001);
    const char *v = hb ? drec_get(hb, key) : NULL;
    return v ? strtoull(v, NULL, 10) : 0;
}

static void throughput(const char *label, double rate, double seconds)
{
    char log[256];
    snprintf(log, sizeof(log), "%s/test-logs", RAMPART_BUILD_DIR);
    mkdir(log, 0755);
    snprintf(log, sizeof(log), "%s/test-logs/bench-driver.log", RAMPART_BUILD_DIR);
    const char *args[] = {"--events",       "prctl", "--heartbeat-secs", "1",
                          "--rootkit-secs", "0",     "--no-exe-hash",    NULL};
    driver_client_t *c = driver_client_start(DRIVER_BIN, args, log);
    if (!c) {
        fprintf(stderr, "bench_driver: the plugin did not start (%s)\n", log);
        exit(1);
    }
    driver_client_count_only(c, true);
    long *shared = malloc(sizeof(long));
    int pfd[2];
    if (pipe(pfd) < 0)
        abort();
    pid_t p = fork();
    if (p == 0) {
        long sent = 0;
        generator(rate, seconds, &sent);
        if (write(pfd[1], &sent, sizeof(sent)) != sizeof(sent))
            _exit(1);
        _exit(0);
    }
    waitpid(p, NULL, 0);
    if (read(pfd[0], shared, sizeof(long)) != sizeof(long))
        *shared = 0;
    close(pfd[0]);
    close(pfd[1]);
    long sent = *shared;
    free(shared);
    /* wait for the plugin to catch up (the count stops growing) and for a fresh heartbeat */
    uint64_t last = 0;
    for (int i = 0; i < 100; i++) {
        usleep(200 * 1000);
        uint64_t got = driver_client_counted(c);
        if (got == last && got > 0 && i > 8)
            break;
        last = got;
    }
    uint64_t got = driver_client_counted(c);
    uint64_t drops = heartbeat_u(c, "drops");
    printf("  %-24s sent %8ld in %.1f s (%8.0f/s)  delivered %8llu  drops %llu\n", label, sent,
           seconds, (double)sent / seconds, (unsigned long long)got, (unsigned long long)drops);
    driver_client_stop(c);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--worker") == 0)
        return worker(argc, argv);
    int rounds = 5;
    bool stats_only = false; /* --stats-only: only the in-kernel pass (for quick experiments) */
    double scale = 1.0, rate = 50000, seconds = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--stats-only") == 0) {
            stats_only = true;
            continue;
        }
        if (i + 1 >= argc)
            return 2;
        if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--scale") == 0)
            scale = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--rate") == 0)
            rate = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else
            return 2;
        i++;
    }
    if (rounds < 1 || rounds > 64 || scale <= 0)
        return 2;
    const char *why = driver_client_skip_reason();
    if (why) {
        printf("bench_driver: %s\n", why);
        return 0;
    }
    log_init("bench_driver", LOG_LEVEL_WARN, 2);
    signal(SIGPIPE, SIG_IGN);
    /* a closed port: bind, read the number, close */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(in);
    bind(s, (void *)&in, len);
    getsockname(s, (void *)&in, &len);
    closed_port = ntohs(in.sin_port);
    close(s);
    snprintf(tmpfile_path, sizeof(tmpfile_path), "/tmp/rampart-bench-driver-%d", (int)getpid());

    loop_t loops[] = {
        {"execve /bin/true", (long)(300 * scale), {0}, {0}},
        {"execve, 40 env vars", (long)(300 * scale), {0}, {0}},
        {"connect (closed port)", (long)(100000 * scale), {0}, {0}},
        {"open(O_CREAT)+unlink", (long)(20000 * scale), {0}, {0}},
        {"getppid (unhooked)", (long)(500000 * scale), {0}, {0}},
    };
    size_t nloops = sizeof(loops) / sizeof(loops[0]);
    for (size_t i = 0; i < nloops; i++)
        if (loops[i].n < 1)
            loops[i].n = 1;
    /* Wall clock: the sensor is loaded once and its programs detached and attached again
     * between blocks (no reload, so the blocks can be short and many); for each loop, `rounds`
     * pairs of blocks, in the order ABBA..., each block a fresh worker process. The figure is
     * the mean of the pairs' differences with two standard errors: the machine's noise moves
     * both blocks of a pair alike. */
    printf("syscall cost, %d pairs of blocks per loop (ns per call; added = attached - "
           "detached, mean +- 2 standard errors):\n",
           rounds);
    unsigned long records = 0;
    if (!stats_only) {
        pthread_t th;
        sensor_t *sn = attach(&th);
        for (size_t i = 0; i < nloops; i++) {
            for (int r = 0; r < rounds; r++) {
                bool att_first = r % 2 == 1;
                for (int k = 0; k < 2; k++) {
                    bool on = (k == 0) == att_first;
                    if ((on ? sensor_attach(sn) : sensor_detach(sn)) < 0) {
                        fprintf(stderr, "bench_driver: attach/detach failed\n");
                        exit(1);
                    }
                    double t = time_loop(i, loops[i].n);
                    if (on)
                        loops[i].attached[r] = t;
                    else
                        loops[i].base[r] = t;
                }
            }
            double diff[64], mean = 0, var = 0;
            for (int r = 0; r < rounds; r++) {
                diff[r] = loops[i].attached[r] - loops[i].base[r];
                mean += diff[r] / rounds;
            }
            for (int r = 0; r < rounds; r++)
                var += (diff[r] - mean) * (diff[r] - mean) / (rounds > 1 ? rounds - 1 : 1);
            printf("  %-24s detached %9.1f  attached %9.1f  added %8.1f +- %.1f (median %.1f)\n",
                   loops[i].name, median(loops[i].base, rounds), median(loops[i].attached, rounds),
                   mean, 2 * sqrt(var / rounds), median(diff, rounds));
            fflush(stdout);
        }
        sensor_attach(sn);
        struct rs_counters cnt[RS_EV__COUNT];
        sensor_counters(sn, cnt);
        for (unsigned k = 0; k < RS_EV__COUNT; k++)
            records += cnt[k].events;
        detach(sn, th);
    }
    printf("  (records written while attached: %lu, drained: %lu)\n", records,
           (unsigned long)atomic_load(&drained));
    /* The kernel's own accounting of the programs' run time (bpf_enable_stats): what the
     * sensor costs inside the kernel per call of each loop, whatever the machine's load (the
     * wall-clock difference above is only as good as the machine is quiet). The accounting
     * itself costs ~40 ns per run, so it is a separate pass. */
    int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (stats_fd >= 0) {
        pthread_t th;
        sensor_t *sn = attach(&th);
        /* one pass is at the mercy of whatever else runs on the machine (its execs and
         * syscalls are counted too): `rounds` passes, the median of each figure */
        printf("in-kernel sensor time per call (BPF run-time statistics, median of %d "
               "passes):\n",
               rounds);
        static double per_run[16][48][64], per_call[16][64];
        uint64_t before_ns[48] = {0}, before_cnt[48] = {0}, ns, cnt;
        char names[48][32] = {{0}};
        const char *st;
        const char *pn;
        for (int r = 0; r < rounds; r++) {
            for (size_t i = 0; i < nloops && i < 16; i++) {
                for (unsigned k = 0; k < 48 && (pn = sensor_program(sn, k, &st)); k++) {
                    snprintf(names[k], sizeof(names[k]), "%s", pn);
                    before_ns[k] = before_cnt[k] = 0;
                    if (sensor_program_stats(sn, k, &ns, &cnt) == 0) {
                        before_ns[k] = ns;
                        before_cnt[k] = cnt;
                    }
                }
                time_loop(i, loops[i].n);
                uint64_t total = 0;
                for (unsigned k = 0; k < 48 && names[k][0]; k++) {
                    per_run[i][k][r] = -1;
                    if (sensor_program_stats(sn, k, &ns, &cnt) != 0 || cnt == before_cnt[k])
                        continue;
                    total += ns - before_ns[k];
                    per_run[i][k][r] = (double)(ns - before_ns[k]) / (double)(cnt - before_cnt[k]);
                }
                per_call[i][r] = (double)total / (double)(loops[i].n + loops[i].n / 10 + 1);
            }
        }
        for (size_t i = 0; i < nloops && i < 16; i++) {
            printf("  %-24s", loops[i].name);
            for (unsigned k = 0; k < 48 && names[k][0]; k++) {
                double v = median(per_run[i][k], rounds);
                if (v >= 0)
                    printf("  %s %.0f ns/run", names[k], v);
            }
            printf("  => %.1f ns per call\n", median(per_call[i], rounds));
        }
        detach(sn, th);
        close(stats_fd);
    }
    unlink(tmpfile_path);
    if (stats_only)
        return 0;

    printf("throughput through rampart-driver (prctl records):\n");
    char label[64];
    snprintf(label, sizeof(label), "paced %.0f/s", rate);
    throughput(label, rate, seconds);
    throughput("unpaced", 0, seconds);
    return 0;
}
