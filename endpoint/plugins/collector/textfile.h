/* textfile: bounded reads of small system files and a line iterator that never trusts input
 * (no line is longer than the caller's limit; embedded NULs end nothing early). */
#ifndef RAMPART_COLLECTOR_TEXTFILE_H
#define RAMPART_COLLECTOR_TEXTFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Reads at most max bytes of path into a NUL-terminated buffer (free() it); *len gets the
 * length. NULL with errno set when the file cannot be read. Works for /proc files (size 0). */
char *textfile_read(const char *path, size_t max, size_t *len);

/* Iterates over the lines of text[0..len). Each line is returned without its '\n' (and '\r');
 * lines longer than max_line are cut to max_line bytes (the rest is skipped). */
typedef struct {
    const char *p, *end;
    size_t max_line;
} textfile_lines_t;

void textfile_lines_init(textfile_lines_t *it, const char *text, size_t len, size_t max_line);
bool textfile_next_line(textfile_lines_t *it, const char **line, size_t *len);

/* Small string helpers for parsers working on (pointer, length) slices. */
/* Trims ASCII whitespace at both ends. */
void text_trim(const char **s, size_t *n);
/* Splits off the next whitespace-separated token; false when none is left. */
bool text_token(const char **s, size_t *n, const char **tok, size_t *toklen);
/* True when s[0..n) starts with the NUL-terminated prefix. */
bool text_starts(const char *s, size_t n, const char *prefix);

#endif
