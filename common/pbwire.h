/* pbwire: reading and writing the protobuf wire format by hand, for hot paths that must look
 * at a message without decoding it (no allocation, no copy): the agent validates plugin
 * frames and takes their payload bytes as they are.
 *
 * The reader accepts exactly what protobuf-c's unpack accepts at the level it looks at: a tag
 * of at most 5 bytes with a non-zero field number, varints of at most 10 bytes, length-
 * delimited fields inside their parent, fixed32/fixed64, no groups. */
#ifndef RAMPART_COMMON_PBWIRE_H
#define RAMPART_COMMON_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

enum {
    PBWIRE_VARINT = 0,
    PBWIRE_FIXED64 = 1,
    PBWIRE_LEN = 2,
    PBWIRE_FIXED32 = 5,
};

typedef struct {
    const uint8_t *p, *end;
} pbwire_reader_t;

/* One field as read: its number, wire type and value (varint/fixed value in u64, or the
 * bytes of a length-delimited field in data/len). */
typedef struct {
    uint32_t field;
    uint32_t wire;
    uint64_t u64;
    const uint8_t *data;
    size_t len;
} pbwire_field_t;

static inline pbwire_reader_t pbwire_reader(const void *buf, size_t len)
{
    pbwire_reader_t r = {(const uint8_t *)buf, (const uint8_t *)buf + len};
    return r;
}

/* Reads the next field: 1 with *f filled, 0 at the end of the buffer, -1 when malformed. */
int pbwire_next(pbwire_reader_t *r, pbwire_field_t *f);

/* Writing: the caller reserves pbwire_varint_size() bytes. */
size_t pbwire_varint_size(uint64_t v);
size_t pbwire_put_varint(uint8_t *p, uint64_t v);
/* Tag and length of a length-delimited field; returns the bytes written (at most 15). */
size_t pbwire_put_len_header(uint8_t *p, uint32_t field, size_t len);

#endif
