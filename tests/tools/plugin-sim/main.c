/* rampart-plugin-sim: a plugin for tests of rampart-agent, speaking the pipe protocol with raw
 * frames (no SDK). Its behaviour comes from the DETAIL environment variable (Config.detail),
 * space-separated key=value pairs:
 *
 *   mode=steady     rate=N records per second (default 1000), each with a sequence number
 *   mode=crash      after=N records, then abort()
 *   mode=flood      records as fast as the pipe takes them
 *   mode=malformed  after=N good records, one bad frame: bad=body (not a Record) or
 *                   bad=length (a length prefix of 64 MiB)
 *   mode=echo       records only in answer to tasks
 *   size=N          padding bytes per record (default 32)
 *   max=N           stop sending after N records (0: no limit) and wait for tasks
 *
 * Every mode answers each task on fd 3 with a 5100 record {token, status=succeed,
 * msg="echo <data_type> <data>"}, and writes one 1001 record at start (its own heartbeat
 * fields: sim_mode, sim_pid). Records are data_type 9901 with fields seq, run (pid), plugin,
 * pad. It exits when fd 3 reaches end of file (the agent stops it). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rampart.pb-c.h"

#define DT_SIM    9901
#define MAX_FRAME (16u << 20)

typedef struct {
    char mode[16];
    char bad[16];
    double rate;
    long after, size, max;
} opts_t;

static char name_buf[128] = "plugin-sim";
static char run_buf[32];

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(4, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            exit(0); /* the agent went away */
        p += w;
        n -= (size_t)w;
    }
}

/* Writes one Record frame with the given fields (keys[i], vals[i]). */
static void emit(int32_t dt, size_t n, const char *const *keys, const char *const *vals)
{
    Grpc__Payload__FieldsEntry e[8], *pe[8];
    Grpc__Payload pl = GRPC__PAYLOAD__INIT;
    for (size_t i = 0; i < n; i++) {
        grpc__payload__fields_entry__init(&e[i]);
        e[i].key = (char *)keys[i];
        e[i].value = (char *)vals[i];
        pe[i] = &e[i];
    }
    pl.n_fields = n;
    pl.fields = pe;
    Grpc__Record r = GRPC__RECORD__INIT;
    r.data_type = dt;
    r.timestamp = (int64_t)time(NULL);
    r.data = &pl;
    size_t len = grpc__record__get_packed_size(&r);
    uint8_t *b = malloc(len + 4);
    b[0] = (uint8_t)len;
    b[1] = (uint8_t)(len >> 8);
    b[2] = (uint8_t)(len >> 16);
    b[3] = (uint8_t)(len >> 24);
    grpc__record__pack(&r, b + 4);
    write_all(b, len + 4);
    free(b);
}

static void emit_seq(uint64_t seq, const char *pad)
{
    char s[32];
    snprintf(s, sizeof(s), "%" PRIu64, seq);
    const char *k[] = {"seq", "run", "plugin", "pad"};
    const char *v[] = {s, run_buf, name_buf, pad};
    emit(DT_SIM, 4, k, v);
}

static void parse_detail(opts_t *o)
{
    snprintf(o->mode, sizeof(o->mode), "steady");
    snprintf(o->bad, sizeof(o->bad), "body");
    o->rate = 1000;
    o->after = 100;
    o->size = 32;
    const char *d = getenv("DETAIL");
    if (!d)
        return;
    char *copy = strdup(d), *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(t, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(t, "mode") == 0)
            snprintf(o->mode, sizeof(o->mode), "%s", v);
        else if (strcmp(t, "bad") == 0)
            snprintf(o->bad, sizeof(o->bad), "%s", v);
        else if (strcmp(t, "rate") == 0)
            o->rate = atof(v);
        else if (strcmp(t, "after") == 0)
            o->after = atol(v);
        else if (strcmp(t, "size") == 0)
            o->size = atol(v);
        else if (strcmp(t, "max") == 0)
            o->max = atol(v);
    }
    free(copy);
}

/* Reads task frames from fd 3 (non-blocking use through poll); answers each. Returns -1 at
 * end of file. */
static int serve_tasks(uint8_t *buf, size_t *len)
{
    ssize_t n = read(3, buf + *len, MAX_FRAME + 4 - *len);
    if (n == 0)
        return -1;
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -1;
    *len += (size_t)n;
    for (;;) {
        if (*len < 4)
            return 0;
        uint32_t fl = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
                      (uint32_t)buf[3] << 24;
        if (fl > MAX_FRAME)
            return -1;
        if (*len < 4 + (size_t)fl)
            return 0;
        Grpc__Task *t = grpc__task__unpack(NULL, fl, buf + 4);
        if (t) {
            char msg[512];
            snprintf(msg, sizeof(msg), "echo %d %.400s", (int)t->data_type, t->data);
            const char *k[] = {"token", "status", "msg", "plugin"};
            const char *v[] = {t->token, "succeed", msg, name_buf};
            emit(5100, 4, k, v);
            fprintf(stderr, "plugin-sim: task data_type=%d token=%s\n", (int)t->data_type,
                    t->token);
            grpc__task__free_unpacked(t, NULL);
        }
        memmove(buf, buf + 4 + fl, *len - 4 - fl);
        *len -= 4 + fl;
    }
}

int main(void)
{
    opts_t o;
    parse_detail(&o);
    signal(SIGPIPE, SIG_IGN);
    const char *nm = getenv("RAMPART_PLUGIN_NAME");
    if (nm)
        snprintf(name_buf, sizeof(name_buf), "%s", nm);
    snprintf(run_buf, sizeof(run_buf), "%d", (int)getpid());
    fprintf(stderr, "plugin-sim: start mode=%s rate=%.0f after=%ld size=%ld\n", o.mode, o.rate,
            o.after, o.size);
    char *pad = malloc((size_t)o.size + 1);
    memset(pad, 'p', (size_t)o.size);
    pad[o.size] = '\0';
    {
        const char *k[] = {"sim_mode", "sim_pid"};
        const char *v[] = {o.mode, run_buf};
        emit(1001, 2, k, v);
    }
    uint8_t *tbuf = malloc(MAX_FRAME + 4);
    size_t tlen = 0;
    uint64_t seq = 0;
    int64_t t0 = now_ms();
    for (;;) {
        bool sending = strcmp(o.mode, "echo") != 0 && (o.max == 0 || (long)seq < o.max);
        bool flood = strcmp(o.mode, "flood") == 0 && sending;
        struct pollfd pfd = {.fd = 3, .events = POLLIN};
        int pr = poll(&pfd, 1, flood ? 0 : sending ? 10 : 1000);
        if (pr > 0 && serve_tasks(tbuf, &tlen) < 0)
            break;
        if (!sending)
            continue;
        uint64_t due = flood ? seq + 256 : (uint64_t)((double)(now_ms() - t0) * o.rate / 1000.0);
        if (o.max > 0 && due > (uint64_t)o.max)
            due = (uint64_t)o.max;
        while (seq < due) {
            if (strcmp(o.mode, "crash") == 0 && (long)seq >= o.after) {
                fprintf(stderr, "plugin-sim: crashing after %" PRIu64 " records\n", seq);
                signal(SIGABRT, SIG_DFL);
                abort();
            }
            if (strcmp(o.mode, "malformed") == 0 && (long)seq >= o.after) {
                fprintf(stderr, "plugin-sim: writing a bad frame (%s)\n", o.bad);
                if (strcmp(o.bad, "length") == 0) {
                    const uint8_t f[] = {0, 0, 0, 4, 1, 2, 3};
                    write_all(f, sizeof(f));
                } else {
                    const uint8_t f[] = {6, 0, 0, 0, 0x1a, 0x10, 0x0a, 0x02, 0x41, 0x42};
                    write_all(f, sizeof(f));
                }
                /* Keep going as if nothing happened: the agent must cut us off. */
                o.after = 1L << 62;
            }
            emit_seq(seq++, pad);
        }
    }
    fprintf(stderr, "plugin-sim: task pipe closed after %" PRIu64 " records, exiting\n", seq);
    free(tbuf);
    free(pad);
    return 0;
}
