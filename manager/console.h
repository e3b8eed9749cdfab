/* console: serves the built console (console.dir) on every path outside /api/.
 *
 * Files get their MIME type by extension and X-Content-Type-Options: nosniff; index.html is
 * never cached (Cache-Control: no-cache), every other file is cacheable for console.max_age
 * (the console's build fingerprints asset names). A path without a file extension that names no
 * file gets index.html (single-page-app routing). Paths with "." or ".." segments, backslashes
 * or that resolve (through links) outside the directory are refused with 404. */
#ifndef RAMPART_MGR_CONSOLE_H
#define RAMPART_MGR_CONSOLE_H

#include "common/http.h"

typedef struct console console_t;

/* NULL when dir is empty (no console) or not a directory (logged). */
console_t *console_new(const char *dir, long max_age_s);
void console_free(console_t *c);
/* Adds GET routes for "/" and paths up to CONSOLE_DEPTH segments (after the API routes, which
 * win). 0 or -EINVAL. */
int console_install(console_t *c, http_server_t *srv);

#define CONSOLE_DEPTH 8

/* The MIME type of a file name (exposed for tests). */
const char *console_mime(const char *name);

#endif
