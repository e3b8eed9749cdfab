/* spool: the agent's ordered record queue, in memory first and on disk when memory is full.
 *
 * Every record the agent sends passes through here. Records form one ordered sequence: the
 * oldest ones are in segment files on disk, the newest in memory chunks. When the memory part
 * grows past memory_max, its oldest chunks are appended to the disk part (so the order holds),
 * and when the disk part would pass disk_max its oldest segment is deleted: those records are
 * dropped and counted. Nothing else ever drops a record.
 *
 * The sender takes records without removing them (spool_peek), and removes them only once
 * their gRPC write has completed (spool_commit); a failed write leaves them at the head for
 * the next stream. Each record has a logical sequence number (lsn), so a commit removes
 * exactly the records it names even when older ones were dropped meanwhile.
 *
 * On disk: <dir>/<20-digit id>.seg segment files, append-only, each a run of records
 *   u32 LE data length | u32 LE crc32 of the next 20 bytes and the data | u64 LE lsn |
 *   i32 LE data_type | i64 LE timestamp | data
 * and <dir>/cursor (segment id and offset of the first record not yet sent). spool_open
 * replays what a previous run left: consumed segments are deleted, a segment that ends in a
 * torn or corrupt record is truncated there (logged). spool_close moves the memory part to
 * disk so a restart loses nothing. The memory part uses the same record layout.
 *
 * Thread-safe: one producer side and one consumer side may call at the same time. */
#ifndef RAMPART_AGENT_SPOOL_H
#define RAMPART_AGENT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_HDR 28

typedef struct spool spool_t;

typedef struct {
    const char *dir;
    size_t memory_max;
    uint64_t disk_max;
    uint64_t segment_size; /* at most disk_max / 4 is used */
} spool_opts_t;

typedef struct {
    uint64_t mem_records, mem_bytes;
    uint64_t disk_records, disk_bytes; /* records waiting on disk; bytes of segment files */
    uint64_t segments;
    uint64_t pushed, committed, dropped, spilled; /* since open */
    uint64_t truncated_bytes;                     /* cut from torn segments at open */
} spool_stats_t;

/* Opens (creating dir if needed) and recovers what is on disk. NULL with the reason in err. */
spool_t *spool_open(const spool_opts_t *o, char *err, size_t errlen);
/* Moves the memory part to disk, then frees. Accepts NULL. */
void spool_close(spool_t *s);

/* Appends one record (data copied). 0, or -EMSGSIZE when it can never fit. */
int spool_push(spool_t *s, int32_t data_type, int64_t timestamp, const void *data, size_t len);

/* A growable byte buffer for spool_peek. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
} spool_buf_t;
void spool_buf_dispose(spool_buf_t *b);

/* Copies up to max_records records from the head, at most max_bytes of them (the first one
 * always, however large), into out (replacing its content) as spool records (header + data)
 * and returns how many. *end_lsn is one past the lsn of the last. They stay in the spool. */
size_t spool_peek(spool_t *s, size_t max_records, size_t max_bytes, spool_buf_t *out,
                  uint64_t *end_lsn);
/* Removes every record whose lsn is below end_lsn. */
void spool_commit(spool_t *s, uint64_t end_lsn);

/* Records waiting (memory + disk). */
uint64_t spool_pending(spool_t *s);
void spool_stats(spool_t *s, spool_stats_t *st);

/* Moves every memory record to disk now (what spool_close does first). 0 or -errno. */
int spool_flush(spool_t *s);

/* Parses the spool record at p (avail bytes): 1 with the fields set and *size its total
 * size, 0 when incomplete, -1 when corrupt. */
typedef struct {
    uint64_t lsn;
    int32_t data_type;
    int64_t timestamp;
    const uint8_t *data;
    size_t len;
    size_t size; /* header + data */
} spool_record_t;
int spool_record_parse(const uint8_t *p, size_t avail, spool_record_t *r);

#endif
