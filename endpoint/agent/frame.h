/* frame: the plugin pipe framing (proto/transfer_paths.h): a 4-byte little-endian length,
 * then that many bytes of protobuf (a Record from the plugin, a Task to it).
 *
 * The reader takes bytes from a plugin's fd 4 and hands out whole records, each checked
 * against the wire format of grpc.Record (with its Payload map) without decoding it: the
 * payload bytes are pointed to, never copied or re-encoded. A frame longer than max_frame or
 * that is not a valid Record is an error: the plugin is cut off. */
#ifndef RAMPART_AGENT_FRAME_H
#define RAMPART_AGENT_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf;
    size_t start, len, cap; /* unread bytes are buf[start, len) */
    size_t max_frame;
} frame_reader_t;

/* One record of a frame; data points into the reader's buffer until the next fill. */
typedef struct {
    int32_t data_type;
    int64_t timestamp;
    const uint8_t *data; /* the serialized Payload, as the plugin wrote it */
    size_t len;
} frame_record_t;

typedef enum {
    FRAME_OK = 0,
    FRAME_TOO_LARGE, /* the length prefix is above max_frame */
    FRAME_MALFORMED, /* not a valid Record */
} frame_error_t;

void frame_reader_init(frame_reader_t *r, size_t max_frame);
void frame_reader_dispose(frame_reader_t *r);

/* Reads once from fd into the buffer: bytes read, 0 at end of file, or -errno (-EAGAIN when
 * nothing is there). */
long frame_reader_fill(frame_reader_t *r, int fd);
/* Appends bytes (tests). */
void frame_reader_feed(frame_reader_t *r, const void *p, size_t n);

/* The next whole record: 1 with *rec set, 0 when more bytes are needed, -1 with *err set.
 */
int frame_reader_next(frame_reader_t *r, frame_record_t *rec, frame_error_t *err);
/* Bytes buffered but not yet returned as records. */
size_t frame_reader_pending(const frame_reader_t *r);

const char *frame_error_name(frame_error_t e);

/* Checks buf as a grpc.Record (fields 1 data_type, 2 timestamp, 3 Payload{map<string,string>
 * fields = 1}; unknown fields allowed as protobuf allows them). 0 with *rec set, or -1. */
int frame_parse_record(const uint8_t *buf, size_t len, frame_record_t *rec);

/* Builds a frame (length prefix + bytes) of a packed protobuf of len bytes: returns a new
 * buffer of len + 4 bytes with the message copied after the prefix. */
uint8_t *frame_build(const void *msg, size_t len);

#endif
