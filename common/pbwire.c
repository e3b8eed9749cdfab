#include "common/pbwire.h"

static int read_varint(pbwire_reader_t *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return -1;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* A tag as protobuf-c parses it: at most 5 bytes, 32-bit field number, 0 refused. */
static int read_tag(pbwire_reader_t *r, uint32_t *field, uint32_t *wire)
{
    size_t avail = (size_t)(r->end - r->p);
    size_t max = avail < 5 ? avail : 5;
    const uint8_t *d = r->p;
    if ((d[0] & 0xf8) == 0)
        return -1;
    *wire = d[0] & 7;
    uint32_t num = (d[0] & 0x7f) >> 3;
    unsigned shift = 4;
    if (!(d[0] & 0x80)) {
        r->p++;
        *field = num;
        return 0;
    }
    for (size_t i = 1; i < max; i++) {
        num |= (uint32_t)(d[i] & 0x7f) << shift;
        shift += 7;
        if (!(d[i] & 0x80)) {
            r->p += i + 1;
            *field = num;
            return 0;
        }
    }
    return -1;
}

int pbwire_next(pbwire_reader_t *r, pbwire_field_t *f)
{
    if (r->p >= r->end)
        return 0;
    if (read_tag(r, &f->field, &f->wire) < 0)
        return -1;
    f->data = NULL;
    f->len = 0;
    f->u64 = 0;
    switch (f->wire) {
    case PBWIRE_VARINT:
        return read_varint(r, &f->u64) < 0 ? -1 : 1;
    case PBWIRE_FIXED64:
    case PBWIRE_FIXED32: {
        size_t n = f->wire == PBWIRE_FIXED64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return -1;
        for (size_t i = 0; i < n; i++)
            f->u64 |= (uint64_t)r->p[i] << (8 * i);
        r->p += n;
        return 1;
    }
    case PBWIRE_LEN: {
        uint64_t n;
        if (read_varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p))
            return -1;
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 1;
    }
    default:
        return -1; /* groups (3, 4) and undefined types */
    }
}

size_t pbwire_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t pbwire_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t pbwire_put_len_header(uint8_t *p, uint32_t field, size_t len)
{
    size_t n = pbwire_put_varint(p, ((uint64_t)field << 3) | PBWIRE_LEN);
    return n + pbwire_put_varint(p + n, len);
}
