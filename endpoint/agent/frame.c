#include "endpoint/agent/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/pbwire.h"
#include "common/xalloc.h"
#include "proto/transfer_paths.h"

#define READ_CHUNK (64u << 10)

void frame_reader_init(frame_reader_t *r, size_t max_frame)
{
    memset(r, 0, sizeof(*r));
    r->max_frame = max_frame;
}

void frame_reader_dispose(frame_reader_t *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

/* Room for n more bytes after len: moves unread bytes to the front, then grows. */
static void make_room(frame_reader_t *r, size_t n)
{
    if (r->start > 0 && (r->start == r->len || r->cap - r->len < n)) {
        memmove(r->buf, r->buf + r->start, r->len - r->start);
        r->len -= r->start;
        r->start = 0;
    }
    if (r->cap - r->len < n) {
        size_t cap = r->cap ? r->cap : READ_CHUNK;
        while (cap - r->len < n)
            cap *= 2;
        r->buf = xrealloc(r->buf, cap);
        r->cap = cap;
    }
}

long frame_reader_fill(frame_reader_t *r, int fd)
{
    make_room(r, READ_CHUNK);
    size_t room = r->cap - r->len;
    for (;;) {
        ssize_t n = read(fd, r->buf + r->len, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        r->len += (size_t)n;
        return (long)n;
    }
}

void frame_reader_feed(frame_reader_t *r, const void *p, size_t n)
{
    make_room(r, n);
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

size_t frame_reader_pending(const frame_reader_t *r)
{
    return r->len - r->start;
}

const char *frame_error_name(frame_error_t e)
{
    switch (e) {
    case FRAME_TOO_LARGE:
        return "frame_too_large";
    case FRAME_MALFORMED:
        return "malformed_record";
    default:
        return "ok";
    }
}

/* A map<string,string> entry: fields 1 and 2, both length-delimited. */
static int check_map_entry(const uint8_t *p, size_t len)
{
    pbwire_reader_t r = pbwire_reader(p, len);
    pbwire_field_t f;
    int rc;
    while ((rc = pbwire_next(&r, &f)) == 1)
        if ((f.field == 1 || f.field == 2) && f.wire != PBWIRE_LEN)
            return -1;
    return rc;
}

static int check_payload(const uint8_t *p, size_t len)
{
    pbwire_reader_t r = pbwire_reader(p, len);
    pbwire_field_t f;
    int rc;
    while ((rc = pbwire_next(&r, &f)) == 1) {
        if (f.field != 1)
            continue;
        if (f.wire != PBWIRE_LEN || check_map_entry(f.data, f.len) < 0)
            return -1;
    }
    return rc;
}

int frame_parse_record(const uint8_t *buf, size_t len, frame_record_t *rec)
{
    pbwire_reader_t r = pbwire_reader(buf, len);
    pbwire_field_t f;
    int rc;
    rec->data_type = 0;
    rec->timestamp = 0;
    rec->data = NULL;
    rec->len = 0;
    while ((rc = pbwire_next(&r, &f)) == 1) {
        switch (f.field) {
        case 1:
            if (f.wire != PBWIRE_VARINT)
                return -1;
            rec->data_type = (int32_t)(uint32_t)f.u64;
            break;
        case 2:
            if (f.wire != PBWIRE_VARINT)
                return -1;
            rec->timestamp = (int64_t)f.u64;
            break;
        case 3:
            /* A repeated embedded message field would be merged by a decoder; a plugin that
             * writes two is refused instead of guessing. */
            if (f.wire != PBWIRE_LEN || rec->data || check_payload(f.data, f.len) < 0)
                return -1;
            rec->data = f.data;
            rec->len = f.len;
            break;
        default:
            break;
        }
    }
    if (rc < 0)
        return -1;
    if (!rec->data)
        rec->data = buf + len; /* empty payload */
    return 0;
}

int frame_reader_next(frame_reader_t *r, frame_record_t *rec, frame_error_t *err)
{
    size_t avail = r->len - r->start;
    if (avail < RAMPART_PLUGIN_FRAME_HDR)
        return 0;
    const uint8_t *p = r->buf + r->start;
    uint32_t n = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (n > r->max_frame) {
        *err = FRAME_TOO_LARGE;
        return -1;
    }
    if (avail - RAMPART_PLUGIN_FRAME_HDR < n)
        return 0;
    if (frame_parse_record(p + RAMPART_PLUGIN_FRAME_HDR, n, rec) < 0) {
        *err = FRAME_MALFORMED;
        return -1;
    }
    r->start += RAMPART_PLUGIN_FRAME_HDR + n;
    return 1;
}

uint8_t *frame_build(const void *msg, size_t len)
{
    uint8_t *b = xmalloc(len + RAMPART_PLUGIN_FRAME_HDR);
    b[0] = (uint8_t)len;
    b[1] = (uint8_t)(len >> 8);
    b[2] = (uint8_t)(len >> 16);
    b[3] = (uint8_t)(len >> 24);
    if (len)
        memcpy(b + RAMPART_PLUGIN_FRAME_HDR, msg, len);
    return b;
}
