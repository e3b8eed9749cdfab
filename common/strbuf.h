/* strbuf: a growable, always NUL-terminated byte buffer for building responses and lines. */
#ifndef RAMPART_COMMON_STRBUF_H
#define RAMPART_COMMON_STRBUF_H

#include <stddef.h>

typedef struct {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
} strbuf_t;

#define STRBUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void strbuf_append(strbuf_t *sb, const void *p, size_t n);
void strbuf_appends(strbuf_t *sb, const char *s);
void strbuf_appendf(strbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Length (1-4) of the valid UTF-8 sequence at the start of s[0..n), or 0 when none starts
 * there (overlong forms, surrogates and code points above U+10FFFF are not valid). */
size_t strbuf_utf8_len(const void *s, size_t n);
/* Appends s as a JSON string literal (quotes and escapes included). Strings often come from
 * the network and may hold any bytes: bytes that are not valid UTF-8 become U+FFFD, so the
 * output stays valid JSON for every consumer. */
void strbuf_append_json_string(strbuf_t *sb, const char *s);
/* The same, keeping at most max bytes of s (a valid UTF-8 sequence that starts before max is
 * kept whole); a cut string ends in U+2026. */
void strbuf_append_json_string_max(strbuf_t *sb, const char *s, size_t max);
/* Frees the storage; sb may be reused afterwards. */
void strbuf_dispose(strbuf_t *sb);
/* Hands the storage to the caller (free() it) and resets sb. Never NULL. */
char *strbuf_steal(strbuf_t *sb, size_t *len);

#endif
