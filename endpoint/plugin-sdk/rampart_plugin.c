/* rampart_plugin: framing, record encoding and task decoding for plugins (see rampart_plugin.h).
 *
 * Records are encoded by hand, field by field, straight into a byte buffer: a Record is three
 * fields (1 varint data_type, 2 varint timestamp, 3 length-delimited Payload) and a Payload is
 * a run of map entries (field 1, each {1: key, 2: value}). The unit test checks every encoding
 * against protobuf-c's unpack. Tasks arrive rarely and are decoded with protobuf-c. */
#include "rampart_plugin.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/pbwire.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "rampart.pb-c.h"

#define RP_READ_CHUNK (64 * 1024)

/* ---------- byte buffers (common/strbuf) ---------- */

static void buf_put_varint(strbuf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    strbuf_append(b, tmp, pbwire_put_varint(tmp, v));
}

/* Appends s[0..n) with every byte that is not part of valid UTF-8 replaced by '?'. */
static void buf_put_utf8(strbuf_t *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the current valid run */
    size_t i = 0;
    while (i < n) {
        size_t k = strbuf_utf8_len(u + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        strbuf_append(b, s + run, i - run);
        strbuf_append(b, "?", 1);
        run = ++i;
    }
    strbuf_append(b, s + run, n - run);
}

/* ---------- records ---------- */

struct rp_record {
    int32_t data_type;
    int64_t timestamp;
    strbuf_t payload; /* encoded map entries */
    strbuf_t whole;   /* rp_record_bytes' output */
    size_t nfields;
    bool oversized;
};

rp_record_t *rp_record_new(void)
{
    return xcalloc(1, sizeof(rp_record_t));
}

void rp_record_free(rp_record_t *r)
{
    if (!r)
        return;
    strbuf_dispose(&r->payload);
    strbuf_dispose(&r->whole);
    free(r);
}

void rp_record_begin(rp_record_t *r, int32_t data_type)
{
    r->data_type = data_type;
    r->timestamp = (int64_t)time(NULL);
    r->payload.len = 0;
    r->nfields = 0;
    r->oversized = false;
}

void rp_record_set_timestamp(rp_record_t *r, int64_t timestamp)
{
    r->timestamp = timestamp;
}

void rp_record_addn(rp_record_t *r, const char *key, const char *value, size_t len)
{
    if (r->oversized)
        return;
    if (!key)
        key = "";
    if (!value) {
        value = "";
        len = 0;
    }
    size_t klen = strlen(key);
    if (klen > RP_MAX_FRAME || len > RP_MAX_FRAME ||
        r->payload.len + klen + len + 32 > RP_MAX_FRAME) {
        r->oversized = true;
        return;
    }
    /* UTF-8 repair never changes the length (one '?' per bad byte), so sizes are known. */
    size_t entry = 1 + pbwire_varint_size(klen) + klen + 1 + pbwire_varint_size(len) + len;
    buf_put_varint(&r->payload, (1 << 3) | 2); /* Payload.fields, length-delimited */
    buf_put_varint(&r->payload, entry);
    buf_put_varint(&r->payload, (1 << 3) | 2); /* entry key */
    buf_put_varint(&r->payload, klen);
    buf_put_utf8(&r->payload, key, klen);
    buf_put_varint(&r->payload, (2 << 3) | 2); /* entry value */
    buf_put_varint(&r->payload, len);
    buf_put_utf8(&r->payload, value, len);
    r->nfields++;
}

void rp_record_add(rp_record_t *r, const char *key, const char *value)
{
    rp_record_addn(r, key, value, value ? strlen(value) : 0);
}

void rp_record_addf(rp_record_t *r, const char *key, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(small)) {
        rp_record_addn(r, key, small, (size_t)n);
        return;
    }
    /* Rare: a long value. vasprintf aborts nothing, so a failure adds "". */
    char *big = NULL;
    va_start(ap, fmt);
    n = vasprintf(&big, fmt, ap);
    va_end(ap);
    if (n < 0)
        rp_record_add(r, key, "");
    else
        rp_record_addn(r, key, big, (size_t)n);
    free(big);
}

void rp_record_add_int(rp_record_t *r, const char *key, int64_t value)
{
    char s[32];
    int n = snprintf(s, sizeof(s), "%lld", (long long)value);
    rp_record_addn(r, key, s, (size_t)n);
}

void rp_record_add_uint(rp_record_t *r, const char *key, uint64_t value)
{
    char s[32];
    int n = snprintf(s, sizeof(s), "%llu", (unsigned long long)value);
    rp_record_addn(r, key, s, (size_t)n);
}

size_t rp_record_nfields(const rp_record_t *r)
{
    return r->nfields;
}

/* Record header: everything before the payload bytes. Returns its length (<= 32). All three
 * fields are always written, zeros included, in field order: the agent reads the header with a
 * fixed sequence (tag, data_type, tag, timestamp, tag, length) as Elkeid's does. */
static size_t record_header(const rp_record_t *r, uint8_t out[32])
{
    size_t n = 0;
    out[n++] = (1 << 3) | PBWIRE_VARINT;
    n += pbwire_put_varint(out + n, (uint64_t)(int64_t)r->data_type);
    out[n++] = (2 << 3) | PBWIRE_VARINT;
    n += pbwire_put_varint(out + n, (uint64_t)r->timestamp);
    n += pbwire_put_len_header(out + n, 3, r->payload.len);
    return n;
}

const uint8_t *rp_record_bytes(rp_record_t *r, size_t *len)
{
    uint8_t hdr[32];
    size_t h = record_header(r, hdr);
    r->whole.len = 0;
    strbuf_append(&r->whole, hdr, h);
    if (r->payload.len)
        strbuf_append(&r->whole, r->payload.data, r->payload.len);
    *len = r->whole.len;
    return (const uint8_t *)r->whole.data;
}

/* ---------- plugin ---------- */

struct rp_plugin {
    char *name;
    char *version;
    int task_fd;
    int record_fd;

    pthread_mutex_t lock; /* out, stats, closed_w, first_buffered_ms */
    strbuf_t out;
    int64_t first_buffered_ms;
    bool closed_w;
    bool closed_r;
    rp_stats_t stats;

    strbuf_t in; /* task bytes read but not consumed (one thread only) */
    size_t in_off;
    uint8_t *scratch; /* RP_READ_CHUNK bytes for read(2) */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_or_empty(const char *s)
{
    return xstrdup(s ? s : "");
}

rp_plugin_t *rp_plugin_new_fds(const char *name, const char *version, int task_fd, int record_fd)
{
    rp_plugin_t *p = xcalloc(1, sizeof(*p));
    p->name = dup_or_empty(name);
    if (!version) {
        version = getenv("RAMPART_PLUGIN_VERSION");
        if (!version || !*version)
            version = "0";
    }
    p->version = dup_or_empty(version);
    p->task_fd = task_fd;
    p->record_fd = record_fd;
    pthread_mutex_init(&p->lock, NULL);
    signal(SIGPIPE, SIG_IGN);
    return p;
}

static volatile sig_atomic_t g_stop; /* the one signal flag; see rp_stop_signals */

static void on_stop_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

volatile sig_atomic_t *rp_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    return &g_stop;
}

rp_plugin_t *rp_plugin_new(const char *name, const char *version)
{
    return rp_plugin_new_fds(name, version, RP_TASK_FD, RP_RECORD_FD);
}

void rp_plugin_free(rp_plugin_t *p)
{
    if (!p)
        return;
    (void)rp_flush(p);
    pthread_mutex_destroy(&p->lock);
    strbuf_dispose(&p->out);
    strbuf_dispose(&p->in);
    free(p->scratch);
    free(p->name);
    free(p->version);
    free(p);
}

const char *rp_plugin_name(const rp_plugin_t *p)
{
    return p->name;
}

const char *rp_plugin_version(const rp_plugin_t *p)
{
    return p->version;
}

bool rp_plugin_closed(const rp_plugin_t *p)
{
    rp_plugin_t *mp = (rp_plugin_t *)p;
    pthread_mutex_lock(&mp->lock);
    bool c = p->closed_w || p->closed_r;
    pthread_mutex_unlock(&mp->lock);
    return c;
}

/* Writes p->out completely; called with p->lock held. */
static int flush_locked(rp_plugin_t *p)
{
    if (p->closed_w)
        return -EPIPE;
    size_t off = 0;
    int rc = 0;
    while (off < p->out.len) {
        ssize_t n = write(p->record_fd, p->out.data + off, p->out.len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pfd = {.fd = p->record_fd, .events = POLLOUT};
                (void)poll(&pfd, 1, 1000);
                continue;
            }
            rc = -errno;
            if (rc == -EPIPE || rc == -EBADF)
                p->closed_w = true;
            break;
        }
        off += (size_t)n;
    }
    p->stats.bytes += off;
    if (rc == 0) {
        p->out.len = 0;
    } else if (off > 0) {
        memmove(p->out.data, p->out.data + off, p->out.len - off);
        p->out.len -= off;
    }
    if (p->closed_w)
        p->out.len = 0;
    p->first_buffered_ms = 0;
    return rc;
}

int rp_flush(rp_plugin_t *p)
{
    pthread_mutex_lock(&p->lock);
    int rc = p->out.len ? flush_locked(p) : (p->closed_w ? -EPIPE : 0);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int rp_flush_if_due(rp_plugin_t *p)
{
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    if (p->closed_w)
        rc = -EPIPE;
    else if (p->out.len && now_ms() - p->first_buffered_ms >= RP_FLUSH_INTERVAL_MS)
        rc = flush_locked(p);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int rp_record_end(rp_plugin_t *p, rp_record_t *r)
{
    uint8_t hdr[32];
    size_t h = record_header(r, hdr);
    size_t total = h + r->payload.len;
    pthread_mutex_lock(&p->lock);
    if (r->oversized || total > RP_MAX_FRAME) {
        p->stats.refused++;
        pthread_mutex_unlock(&p->lock);
        return -EMSGSIZE;
    }
    if (p->closed_w) {
        pthread_mutex_unlock(&p->lock);
        return -EPIPE;
    }
    uint8_t len4[4];
    rp_frame_put_len(len4, (uint32_t)total);
    strbuf_append(&p->out, len4, 4);
    strbuf_append(&p->out, hdr, h);
    if (r->payload.len)
        strbuf_append(&p->out, r->payload.data, r->payload.len);
    if (p->first_buffered_ms == 0)
        p->first_buffered_ms = now_ms();
    p->stats.records++;
    int rc = 0;
    if (p->out.len >= RP_FLUSH_BYTES)
        rc = flush_locked(p);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

void rp_plugin_stats(rp_plugin_t *p, rp_stats_t *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    pthread_mutex_unlock(&p->lock);
}

/* ---------- tasks ---------- */

int rp_task_fd(const rp_plugin_t *p)
{
    return p->task_fd;
}

void rp_task_dispose(rp_task_t *t)
{
    if (!t)
        return;
    free(t->object_name);
    free(t->data);
    free(t->token);
    memset(t, 0, sizeof(*t));
}

static void mark_read_closed(rp_plugin_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->closed_r = true;
    pthread_mutex_unlock(&p->lock);
}

/* Takes one whole frame from p->in when there is one: 1 (decoded into out), 0 (need more
 * bytes), -EPROTO. */
static int take_frame(rp_plugin_t *p, rp_task_t *out)
{
    size_t avail = p->in.len - p->in_off;
    if (avail < 4)
        return 0;
    const uint8_t *at = (const uint8_t *)p->in.data + p->in_off;
    uint32_t len = rp_frame_get_len(at);
    if (len > RP_MAX_FRAME)
        return -EPROTO;
    if (avail < 4 + (size_t)len)
        return 0;
    Grpc__Task *t = grpc__task__unpack(NULL, len, at + 4);
    p->in_off += 4 + (size_t)len;
    if (p->in_off == p->in.len)
        p->in.len = p->in_off = 0;
    if (!t) {
        pthread_mutex_lock(&p->lock);
        p->stats.bad_frames++;
        pthread_mutex_unlock(&p->lock);
        return -EPROTO;
    }
    out->data_type = t->data_type;
    out->object_name = dup_or_empty(t->object_name);
    out->data = dup_or_empty(t->data);
    out->token = dup_or_empty(t->token);
    grpc__task__free_unpacked(t, NULL);
    pthread_mutex_lock(&p->lock);
    p->stats.tasks++;
    pthread_mutex_unlock(&p->lock);
    return 1;
}

int rp_task_read(rp_plugin_t *p, int timeout_ms, rp_task_t *out)
{
    memset(out, 0, sizeof(*out));
    int rc = rp_flush(p);
    if (rc == -EPIPE)
        return -EPIPE;
    if (p->task_fd < 0) {
        if (timeout_ms != 0)
            (void)poll(NULL, 0, timeout_ms < 0 ? -1 : timeout_ms);
        return 0;
    }
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    for (;;) {
        rc = take_frame(p, out);
        if (rc != 0) {
            if (rc < 0)
                mark_read_closed(p);
            return rc;
        }
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            wait = left > 0 ? (int)left : 0;
        }
        struct pollfd pfd = {.fd = p->task_fd, .events = POLLIN};
        int n = poll(&pfd, 1, wait);
        if (n < 0)
            return errno == EINTR ? -EINTR : -errno;
        if (n == 0)
            return 0;
        /* Compact, then read what is there (at most 64 KiB per call). */
        if (p->in_off > 0) {
            memmove(p->in.data, p->in.data + p->in_off, p->in.len - p->in_off);
            p->in.len -= p->in_off;
            p->in_off = 0;
        }
        if (!p->scratch)
            p->scratch = xmalloc(RP_READ_CHUNK);
        ssize_t got = read(p->task_fd, p->scratch, RP_READ_CHUNK);
        if (got < 0) {
            if (errno == EINTR)
                return -EINTR;
            if (errno == EAGAIN)
                continue;
            mark_read_closed(p);
            return -EPIPE;
        }
        if (got == 0) {
            mark_read_closed(p);
            return -EPIPE;
        }
        strbuf_append(&p->in, p->scratch, (size_t)got);
    }
}

int rp_task_reply(rp_plugin_t *p, const rp_task_t *t, bool ok, const char *msg)
{
    rp_record_t *r = rp_record_new();
    rp_record_begin(r, RP_DATA_TYPE_TASK_RESULT);
    rp_record_add(r, "token", t->token);
    rp_record_add(r, "status", ok ? "succeed" : "failed");
    rp_record_add(r, "msg", msg ? msg : "");
    rp_record_add_int(r, "task_data_type", t->data_type);
    int rc = rp_record_end(p, r);
    rp_record_free(r);
    return rc;
}

void rp_heartbeat_begin(rp_plugin_t *p, rp_record_t *r)
{
    rp_stats_t st;
    rp_plugin_stats(p, &st);
    rp_record_begin(r, RP_DATA_TYPE_PLUGIN_HEARTBEAT);
    rp_record_add_uint(r, "sdk_records", st.records);
    rp_record_add_uint(r, "sdk_bytes", st.bytes);
    rp_record_add_uint(r, "sdk_refused", st.refused);
}

/* ---------- framing ---------- */

void rp_frame_put_len(uint8_t out[4], uint32_t len)
{
    out[0] = (uint8_t)len;
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 24);
}

uint32_t rp_frame_get_len(const uint8_t in[4])
{
    return (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
}
