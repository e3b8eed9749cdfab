/* exehash: SHA-256 of executables, cached by (device, inode, mtime, size) so that a file is
 * hashed once until it changes. Files above EXEHASH_MAX_SIZE are not hashed. */
#ifndef RAMPART_DRIVER_EXEHASH_H
#define RAMPART_DRIVER_EXEHASH_H

#include <stdint.h>

#define EXEHASH_MAX_SIZE (64u * 1024u * 1024u)

typedef struct exehash exehash_t;

exehash_t *exehash_new(void);
void exehash_free(exehash_t *h);
/* The hex SHA-256 of the file at path (e.g. "/proc/<pid>/exe"), or NULL when it cannot be
 * read or is too large. Valid until the next call. */
const char *exehash_of(exehash_t *h, const char *path);
void exehash_stats(const exehash_t *h, uint64_t *hits, uint64_t *misses);

#endif
