/* follower: follows a growing log file by path, like `tail -F`. Rotation (the path names a new
 * file: the rest of the old one is read first, then the new one from its start), truncation
 * (read again from the start; like tail, only noticed while the file is still shorter than
 * the offset read so far) and a missing file (retried at each poll) are handled. Lines
 * are bounded: a longer line is cut at FOLLOWER_MAX_LINE bytes and its rest skipped. */
#ifndef RAMPART_JOURNAL_FOLLOWER_H
#define RAMPART_JOURNAL_FOLLOWER_H

#include <stdbool.h>
#include <stddef.h>

#define FOLLOWER_MAX_LINE 8192

typedef struct follower follower_t;
typedef void (*follower_line_fn)(void *ud, const char *line, size_t len);

/* from_start false: the first file found is read from its end (only new lines). */
follower_t *follower_new(const char *path, bool from_start);
void follower_free(follower_t *f);
/* Reads what is there now; calls fn per complete line. Returns the number of lines, or a
 * negative errno for a read error (a missing file is 0). */
int follower_poll(follower_t *f, follower_line_fn fn, void *ud);

#endif
