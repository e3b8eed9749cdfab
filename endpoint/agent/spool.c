#include "endpoint/agent/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/log.h"
#include "common/xalloc.h"

#define CHUNK_SIZE  (64u << 10)
#define READ_BLOCK  (256u << 10)
#define CURSOR_SIZE 20
#define MAX_RECORD  (64u << 20) /* no record is larger (plugins.max_frame is at most 16 MiB) */

typedef struct chunk {
    struct chunk *next;
    size_t off, len, cap;
    uint64_t records; /* not yet committed */
    uint8_t buf[];
} chunk_t;

typedef struct {
    uint64_t id;
    uint64_t size;    /* bytes in the file */
    uint64_t records; /* records not yet committed */
} seg_t;

struct spool {
    pthread_mutex_t mu;
    char *dir;
    size_t memory_max;
    uint64_t disk_max, seg_max;

    chunk_t *mhead, *mtail;
    uint64_t mem_records, mem_bytes;

    seg_t *segs; /* oldest first */
    size_t nsegs, capsegs;
    uint64_t head_off; /* offset of the first record not committed in segs[0] */
    int head_fd;       /* read fd of segs[0], -1 when not open */
    uint64_t head_fd_id;
    int tail_fd; /* append fd of segs[nsegs-1], -1: the next write starts a segment */
    int cursor_fd;
    uint64_t disk_records, disk_bytes;
    uint64_t next_seg_id;
    uint64_t next_lsn;

    uint64_t pushed, committed, dropped, spilled, truncated;
};

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static uint32_t record_crc(const uint8_t *hdr, const void *data, size_t len)
{
    uLong c = crc32(0L, hdr + 8, SPOOL_HDR - 8);
    if (len)
        c = crc32(c, data, (uInt)len);
    return (uint32_t)c;
}

int spool_record_parse(const uint8_t *p, size_t avail, spool_record_t *r)
{
    if (avail < SPOOL_HDR)
        return 0;
    uint32_t len = get_u32(p);
    if (len > MAX_RECORD)
        return -1;
    if (avail - SPOOL_HDR < len)
        return 0;
    if (record_crc(p, p + SPOOL_HDR, len) != get_u32(p + 4))
        return -1;
    r->lsn = get_u64(p + 8);
    r->data_type = (int32_t)get_u32(p + 16);
    r->timestamp = (int64_t)get_u64(p + 20);
    r->data = p + SPOOL_HDR;
    r->len = len;
    r->size = SPOOL_HDR + (size_t)len;
    return 1;
}

static void encode_header(uint8_t *h, uint64_t lsn, int32_t data_type, int64_t ts, const void *data,
                          size_t len)
{
    put_u32(h, (uint32_t)len);
    put_u64(h + 8, lsn);
    put_u32(h + 16, (uint32_t)data_type);
    put_u64(h + 20, (uint64_t)ts);
    put_u32(h + 4, record_crc(h, data, len));
}

void spool_buf_dispose(spool_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void buf_reserve(spool_buf_t *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

/* ---- disk ------------------------------------------------------------------------------ */

static char *seg_path(const spool_t *s, uint64_t id)
{
    return xasprintf("%s/%020" PRIu64 ".seg", s->dir, id);
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static ssize_t pread_all(int fd, void *p, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (uint8_t *)p + got, n - got, (off_t)(off + got));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static void save_cursor(spool_t *s)
{
    if (s->cursor_fd < 0)
        return;
    uint8_t c[CURSOR_SIZE];
    put_u64(c, s->nsegs ? s->segs[0].id : s->next_seg_id);
    put_u64(c + 8, s->nsegs ? s->head_off : 0);
    put_u32(c + 16, (uint32_t)crc32(0L, c, 16));
    if (pwrite(s->cursor_fd, c, sizeof(c), 0) != (ssize_t)sizeof(c))
        LOG_WARN("spool_cursor_write_failed", "dir=%s errno=%d", s->dir, errno);
}

static int head_fd(spool_t *s)
{
    if (!s->nsegs)
        return -1;
    if (s->head_fd >= 0 && s->head_fd_id == s->segs[0].id)
        return s->head_fd;
    if (s->head_fd >= 0)
        close(s->head_fd);
    char *p = seg_path(s, s->segs[0].id);
    s->head_fd = open(p, O_RDONLY | O_CLOEXEC);
    if (s->head_fd < 0)
        LOG_ERROR("spool_open_failed", "path=%s errno=%d", p, errno);
    free(p);
    s->head_fd_id = s->segs[0].id;
    return s->head_fd;
}

/* Deletes segs[0] with whatever it still holds (counted as dropped when drop). */
static void remove_head_segment(spool_t *s, bool drop)
{
    seg_t *g = &s->segs[0];
    if (drop && g->records) {
        s->dropped += g->records;
        LOG_WARN("spool_full_dropped", "records=%" PRIu64 " segment=%" PRIu64 " disk_max=%" PRIu64,
                 g->records, g->id, s->disk_max);
    }
    s->disk_records -= g->records;
    s->disk_bytes -= g->size;
    char *p = seg_path(s, g->id);
    unlink(p);
    free(p);
    if (s->head_fd >= 0 && s->head_fd_id == g->id) {
        close(s->head_fd);
        s->head_fd = -1;
    }
    if (s->nsegs == 1 && s->tail_fd >= 0) {
        close(s->tail_fd);
        s->tail_fd = -1;
    }
    memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof(*s->segs));
    s->nsegs--;
    s->head_off = 0;
    save_cursor(s);
}

static int roll_segment(spool_t *s)
{
    if (s->tail_fd >= 0) {
        close(s->tail_fd);
        s->tail_fd = -1;
    }
    uint64_t id = s->next_seg_id++;
    char *p = seg_path(s, id);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        LOG_ERROR("spool_create_failed", "path=%s errno=%d", p, e);
        free(p);
        return -e;
    }
    free(p);
    if (s->nsegs == s->capsegs) {
        s->capsegs = s->capsegs ? s->capsegs * 2 : 16;
        s->segs = xrealloc(s->segs, s->capsegs * sizeof(*s->segs));
    }
    s->segs[s->nsegs++] = (seg_t){.id = id};
    s->tail_fd = fd;
    if (s->nsegs == 1) {
        s->head_off = 0;
        save_cursor(s);
    }
    return 0;
}

/* Appends n bytes holding records whole records to the disk part, making room by dropping
 * the oldest segments. The records are dropped (counted) only when the disk fails. */
static void disk_append(spool_t *s, const uint8_t *p, size_t n, uint64_t records)
{
    if ((uint64_t)n > s->disk_max) {
        s->dropped += records;
        LOG_WARN("spool_full_dropped", "records=%" PRIu64 " reason=larger_than_disk_max", records);
        return;
    }
    if (s->tail_fd < 0 || s->segs[s->nsegs - 1].size >= s->seg_max) {
        if (roll_segment(s) < 0) {
            s->dropped += records;
            return;
        }
    }
    while (s->disk_bytes + n > s->disk_max && s->nsegs > 1)
        remove_head_segment(s, true);
    int rc = write_all(s->tail_fd, p, n);
    seg_t *t = &s->segs[s->nsegs - 1];
    if (rc < 0) {
        /* Cut a partial write off so the segment stays whole records. */
        if (ftruncate(s->tail_fd, (off_t)t->size) < 0)
            LOG_ERROR("spool_truncate_failed", "errno=%d", errno);
        s->dropped += records;
        LOG_ERROR("spool_write_failed", "dir=%s errno=%d records_dropped=%" PRIu64, s->dir, -rc,
                  records);
        return;
    }
    t->size += n;
    t->records += records;
    s->disk_bytes += n;
    s->disk_records += records;
}

/* ---- memory ----------------------------------------------------------------------------- */

static void spill_head_chunk(spool_t *s)
{
    chunk_t *c = s->mhead;
    size_t n = c->len - c->off;
    if (c->records)
        disk_append(s, c->buf + c->off, n, c->records);
    s->spilled += c->records;
    s->mem_records -= c->records;
    s->mem_bytes -= n;
    s->mhead = c->next;
    if (!s->mhead)
        s->mtail = NULL;
    free(c);
}

int spool_push(spool_t *s, int32_t data_type, int64_t timestamp, const void *data, size_t len)
{
    if (len > MAX_RECORD)
        return -EMSGSIZE;
    size_t need = SPOOL_HDR + len;
    pthread_mutex_lock(&s->mu);
    chunk_t *t = s->mtail;
    if (!t || t->cap - t->len < need) {
        size_t cap = need > CHUNK_SIZE ? need : CHUNK_SIZE;
        chunk_t *c = xmalloc(sizeof(*c) + cap);
        c->next = NULL;
        c->off = c->len = 0;
        c->cap = cap;
        c->records = 0;
        if (t)
            t->next = c;
        else
            s->mhead = c;
        s->mtail = t = c;
    }
    uint8_t *h = t->buf + t->len;
    if (len)
        memcpy(h + SPOOL_HDR, data, len);
    encode_header(h, s->next_lsn++, data_type, timestamp, h + SPOOL_HDR, len);
    t->len += need;
    t->records++;
    s->mem_records++;
    s->mem_bytes += need;
    s->pushed++;
    if (s->mem_bytes > s->memory_max) {
        while (s->mhead && s->mem_bytes > s->memory_max / 2)
            spill_head_chunk(s);
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int spool_flush(spool_t *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->mhead)
        spill_head_chunk(s);
    int rc = 0;
    if (s->tail_fd >= 0 && fdatasync(s->tail_fd) < 0)
        rc = -errno;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* Cuts segs[i] at off after finding a corrupt record there (the rest is dropped). */
static void cut_segment(spool_t *s, size_t i, uint64_t off, uint64_t kept)
{
    seg_t *g = &s->segs[i];
    LOG_ERROR("spool_corrupt", "segment=%" PRIu64 " offset=%" PRIu64 " records_lost=%" PRIu64,
              g->id, off, g->records - kept);
    s->dropped += g->records - kept;
    s->disk_records -= g->records - kept;
    s->disk_bytes -= g->size - off;
    g->records = kept;
    g->size = off;
    char *p = seg_path(s, g->id);
    if (truncate(p, (off_t)off) < 0)
        LOG_ERROR("spool_truncate_failed", "path=%s errno=%d", p, errno);
    free(p);
}

size_t spool_peek(spool_t *s, size_t max_records, size_t max_bytes, spool_buf_t *out,
                  uint64_t *end_lsn)
{
    out->len = 0;
    size_t count = 0;
    uint64_t last = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nsegs && count < max_records; i++) {
        seg_t *g = &s->segs[i];
        uint64_t off = i == 0 ? s->head_off : 0;
        int fd = -1;
        bool own = false;
        if (i == 0) {
            fd = head_fd(s);
        } else {
            char *p = seg_path(s, g->id);
            fd = open(p, O_RDONLY | O_CLOEXEC);
            free(p);
            own = true;
        }
        if (fd < 0)
            break;
        uint64_t seen = 0; /* records of this segment taken */
        while (count < max_records && off < g->size) {
            size_t room = max_bytes > out->len ? max_bytes - out->len : 0;
            if (count == 0 && room < SPOOL_HDR)
                room = SPOOL_HDR;
            if (room == 0)
                break;
            uint64_t left = g->size - off;
            size_t want = room < READ_BLOCK ? room : READ_BLOCK;
            if (want > left)
                want = (size_t)left;
            size_t base = out->len;
            buf_reserve(out, want);
            ssize_t n = pread_all(fd, out->data + base, want, off);
            if (n <= 0)
                break;
            size_t pos = 0;
            spool_record_t r;
            int pr = 0;
            while (count < max_records &&
                   (pr = spool_record_parse(out->data + base + pos, (size_t)n - pos, &r)) == 1) {
                if (count > 0 && base + pos + r.size > max_bytes)
                    break;
                pos += r.size;
                count++;
                seen++;
                last = r.lsn;
            }
            if (pr == 0 && pos == 0 && count == 0 && (size_t)n >= SPOOL_HDR) {
                /* The first record is larger than what was read: read it whole. */
                size_t size = SPOOL_HDR + get_u32(out->data + base);
                if (size <= MAX_RECORD + SPOOL_HDR && off + size <= g->size) {
                    buf_reserve(out, size);
                    if (pread_all(fd, out->data + base, size, off) == (ssize_t)size &&
                        spool_record_parse(out->data + base, size, &r) == 1) {
                        pos = size;
                        count++;
                        seen++;
                        last = r.lsn;
                        pr = 1;
                    } else {
                        pr = -1;
                    }
                } else {
                    pr = -1;
                }
            }
            out->len = base + pos;
            off += pos;
            if (pr < 0) {
                cut_segment(s, i, off, seen);
                break;
            }
            if (pos == 0)
                break;
        }
        if (own)
            close(fd);
        if (off < g->size)
            break; /* limits reached inside this segment */
    }
    /* Then memory, once every record on disk was taken. */
    bool disk_done = count >= s->disk_records;
    for (chunk_t *c = s->mhead; disk_done && c && count < max_records; c = c->next) {
        size_t pos = c->off;
        spool_record_t r;
        bool stop = false;
        while (count < max_records && spool_record_parse(c->buf + pos, c->len - pos, &r) == 1) {
            if (count > 0 && out->len + r.size > max_bytes) {
                stop = true;
                break;
            }
            buf_reserve(out, r.size);
            memcpy(out->data + out->len, c->buf + pos, r.size);
            out->len += r.size;
            pos += r.size;
            count++;
            last = r.lsn;
        }
        if (stop || pos < c->len)
            break;
    }
    pthread_mutex_unlock(&s->mu);
    *end_lsn = count ? last + 1 : 0;
    return count;
}

void spool_commit(spool_t *s, uint64_t end_lsn)
{
    pthread_mutex_lock(&s->mu);
    bool stop = false, moved = false;
    uint8_t *blk = NULL;
    while (!stop && s->nsegs > 0) {
        seg_t *g = &s->segs[0];
        if (g->records == 0) {
            if (s->nsegs == 1)
                break;
            remove_head_segment(s, false);
            continue;
        }
        int fd = head_fd(s);
        if (fd < 0)
            break;
        if (!blk)
            blk = xmalloc(READ_BLOCK);
        uint64_t left = g->size - s->head_off;
        size_t want = left < READ_BLOCK ? (size_t)left : READ_BLOCK;
        ssize_t n = pread_all(fd, blk, want, s->head_off);
        if (n < (ssize_t)SPOOL_HDR)
            break;
        size_t pos = 0;
        while (g->records > 0 && (size_t)n - pos >= SPOOL_HDR) {
            const uint8_t *h = blk + pos;
            if (get_u64(h + 8) >= end_lsn) {
                stop = true;
                break;
            }
            size_t size = SPOOL_HDR + get_u32(h);
            pos += size; /* may point past the block: the next read starts there */
            g->records--;
            s->disk_records--;
            s->committed++;
            moved = true;
            if (pos > (size_t)n)
                break;
        }
        s->head_off += pos;
        if (g->records == 0) {
            if (s->nsegs > 1) {
                remove_head_segment(s, false);
            } else if (s->tail_fd >= 0) {
                /* The only segment is used up: start it over. */
                if (ftruncate(s->tail_fd, 0) == 0) {
                    s->disk_bytes -= g->size;
                    g->size = 0;
                    s->head_off = 0;
                }
            }
        }
        if (pos == 0)
            break;
    }
    free(blk);
    if (moved)
        save_cursor(s);
    while (!stop && s->mhead && s->disk_records == 0) {
        chunk_t *c = s->mhead;
        spool_record_t r;
        while (c->records > 0 && spool_record_parse(c->buf + c->off, c->len - c->off, &r) == 1) {
            if (r.lsn >= end_lsn) {
                stop = true;
                break;
            }
            c->off += r.size;
            c->records--;
            s->mem_records--;
            s->mem_bytes -= r.size;
            s->committed++;
        }
        if (c->records == 0) {
            s->mhead = c->next;
            if (!s->mhead)
                s->mtail = NULL;
            free(c);
        } else {
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

uint64_t spool_pending(spool_t *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->mem_records + s->disk_records;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void spool_stats(spool_t *s, spool_stats_t *st)
{
    pthread_mutex_lock(&s->mu);
    *st = (spool_stats_t){.mem_records = s->mem_records,
                          .mem_bytes = s->mem_bytes,
                          .disk_records = s->disk_records,
                          .disk_bytes = s->disk_bytes,
                          .segments = s->nsegs,
                          .pushed = s->pushed,
                          .committed = s->committed,
                          .dropped = s->dropped,
                          .spilled = s->spilled,
                          .truncated_bytes = s->truncated};
    pthread_mutex_unlock(&s->mu);
}

/* ---- open / close ----------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int mkdir_p(const char *dir)
{
    char *d = xstrdup(dir);
    int rc = 0;
    for (char *p = d + 1; *p && rc == 0; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(d, 0750) < 0 && errno != EEXIST)
            rc = -errno;
        *p = '/';
    }
    if (rc == 0 && mkdir(d, 0750) < 0 && errno != EEXIST)
        rc = -errno;
    free(d);
    return rc;
}

/* Scans one segment file: counts whole records from start (records before skip_to are
 * counted as committed), truncates a torn or corrupt tail. */
static void scan_segment(spool_t *s, seg_t *g, uint64_t *max_lsn, uint64_t *skip_to)
{
    char *p = seg_path(s, g->id);
    int fd = open(p, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        LOG_ERROR("spool_open_failed", "path=%s errno=%d", p, errno);
        free(p);
        g->size = g->records = 0;
        return;
    }
    struct stat st;
    uint64_t fsize = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    uint8_t *blk = xmalloc(READ_BLOCK);
    uint64_t off = 0, records = 0, consumed = 0;
    bool bad = false, skip_ok = *skip_to == 0;
    while (off < fsize) {
        uint8_t h[SPOOL_HDR];
        if (pread_all(fd, h, SPOOL_HDR, off) != SPOOL_HDR) {
            bad = true;
            break;
        }
        uint32_t len = get_u32(h);
        if (len > MAX_RECORD || off + SPOOL_HDR + len > fsize) {
            bad = true;
            break;
        }
        uint8_t *data = len <= READ_BLOCK ? blk : xmalloc(len);
        bool ok = pread_all(fd, data, len, off + SPOOL_HDR) == (ssize_t)len &&
                  record_crc(h, data, len) == get_u32(h + 4);
        if (data != blk)
            free(data);
        if (!ok) {
            bad = true;
            break;
        }
        uint64_t lsn = get_u64(h + 8);
        if (lsn > *max_lsn)
            *max_lsn = lsn;
        if (off == *skip_to)
            skip_ok = true;
        if (off < *skip_to)
            consumed++;
        else
            records++;
        off += SPOOL_HDR + len;
    }
    free(blk);
    if (bad) {
        s->truncated += fsize - off;
        LOG_WARN("spool_segment_truncated", "path=%s offset=%" PRIu64 " bytes_cut=%" PRIu64, p, off,
                 fsize - off);
        if (ftruncate(fd, (off_t)off) < 0)
            LOG_ERROR("spool_truncate_failed", "path=%s errno=%d", p, errno);
    }
    if (*skip_to && off == *skip_to)
        skip_ok = true;
    if (!skip_ok) {
        LOG_WARN("spool_cursor_ignored", "path=%s offset=%" PRIu64 " reason=not_a_record_start", p,
                 *skip_to);
        records += consumed;
        *skip_to = 0;
    }
    close(fd);
    free(p);
    g->size = off;
    g->records = records;
}

static void recover(spool_t *s)
{
    DIR *d = opendir(s->dir);
    if (!d)
        return;
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        unsigned long long id = strtoull(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".seg") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            ids = xrealloc(ids, cap * sizeof(*ids));
        }
        ids[n++] = id;
    }
    closedir(d);
    if (n)
        qsort(ids, n, sizeof(*ids), cmp_u64);

    uint64_t cur_id = 0, cur_off = 0;
    uint8_t c[CURSOR_SIZE];
    if (s->cursor_fd >= 0 && pread_all(s->cursor_fd, c, sizeof(c), 0) == (ssize_t)sizeof(c) &&
        (uint32_t)crc32(0L, c, 16) == get_u32(c + 16)) {
        cur_id = get_u64(c);
        cur_off = get_u64(c + 8);
    }
    uint64_t max_lsn = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < cur_id) { /* sent before the last stop */
            char *p = seg_path(s, ids[i]);
            unlink(p);
            free(p);
            continue;
        }
        seg_t g = {.id = ids[i]};
        uint64_t skip = ids[i] == cur_id ? cur_off : 0;
        scan_segment(s, &g, &max_lsn, &skip);
        if (s->nsegs == 0 && g.records > 0)
            s->head_off = skip;
        if (g.records == 0) {
            char *p = seg_path(s, g.id);
            unlink(p);
            free(p);
            continue;
        }
        if (s->nsegs == s->capsegs) {
            s->capsegs = s->capsegs ? s->capsegs * 2 : 16;
            s->segs = xrealloc(s->segs, s->capsegs * sizeof(*s->segs));
        }
        s->segs[s->nsegs++] = g;
        s->disk_records += g.records;
        s->disk_bytes += g.size;
    }
    if (n)
        s->next_seg_id = ids[n - 1] + 1;
    free(ids);
    s->next_lsn = max_lsn + 1;
    save_cursor(s);
    if (s->disk_records)
        LOG_INFO("spool_recovered", "records=%" PRIu64 " bytes=%" PRIu64 " segments=%zu",
                 s->disk_records, s->disk_bytes, s->nsegs);
}

spool_t *spool_open(const spool_opts_t *o, char *err, size_t errlen)
{
    int rc = mkdir_p(o->dir);
    if (rc < 0) {
        snprintf(err, errlen, "spool.dir %s: %s", o->dir, strerror(-rc));
        return NULL;
    }
    spool_t *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->dir = xstrdup(o->dir);
    s->memory_max = o->memory_max;
    s->disk_max = o->disk_max;
    s->seg_max = o->segment_size < o->disk_max / 4 ? o->segment_size : o->disk_max / 4;
    if (s->seg_max < 4096)
        s->seg_max = 4096;
    s->head_fd = s->tail_fd = -1;
    s->next_seg_id = 1;
    char *cp = xasprintf("%s/cursor", o->dir);
    s->cursor_fd = open(cp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->cursor_fd < 0) {
        snprintf(err, errlen, "spool.dir %s: cannot write %s: %s", o->dir, cp, strerror(errno));
        free(cp);
        free(s->dir);
        free(s);
        return NULL;
    }
    free(cp);
    recover(s);
    return s;
}

void spool_close(spool_t *s)
{
    if (!s)
        return;
    spool_flush(s);
    save_cursor(s);
    if (s->head_fd >= 0)
        close(s->head_fd);
    if (s->tail_fd >= 0)
        close(s->tail_fd);
    if (s->cursor_fd >= 0)
        close(s->cursor_fd);
    free(s->segs);
    free(s->dir);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
