#include "common/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static void reserve(strbuf_t *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < need)
        cap *= 2;
    sb->data = xrealloc(sb->data, cap);
    sb->cap = cap;
}

void strbuf_append(strbuf_t *sb, const void *p, size_t n)
{
    reserve(sb, n);
    memcpy(sb->data + sb->len, p, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void strbuf_appends(strbuf_t *sb, const char *s)
{
    strbuf_append(sb, s, strlen(s));
}

void strbuf_appendf(strbuf_t *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof(small)) {
        strbuf_append(sb, small, (size_t)n);
    } else {
        reserve(sb, (size_t)n);
        vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap2);
        sb->len += (size_t)n;
    }
    va_end(ap2);
}

size_t strbuf_utf8_len(const void *s, size_t n)
{
    const unsigned char *p = s;
    if (n == 0)
        return 0;
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return need;
}

void strbuf_append_json_string(strbuf_t *sb, const char *s)
{
    strbuf_append_json_string_max(sb, s, (size_t)-1);
}

void strbuf_append_json_string_max(strbuf_t *sb, const char *s, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *run = p;
    const unsigned char *stop = p + strnlen(s, max);
    reserve(sb, (size_t)(stop - p) + 2);
    strbuf_append(sb, "\"", 1);
    while (p < stop) {
        unsigned char c = *p;
        size_t n = c >= 0x20 && c != '"' && c != '\\'
                       ? strbuf_utf8_len(p, strnlen((const char *)p, 4))
                       : 0;
        if (n) {
            p += n;
            continue;
        }
        strbuf_append(sb, run, (size_t)(p - run));
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            strbuf_append(sb, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            strbuf_append(sb, e, 6);
        } else {
            strbuf_append(sb, "\\ufffd", 6);
        }
        run = ++p;
    }
    strbuf_append(sb, run, (size_t)(p - run));
    if (*p)
        strbuf_append(sb, "\\u2026", 6);
    strbuf_append(sb, "\"", 1);
}

void strbuf_dispose(strbuf_t *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

char *strbuf_steal(strbuf_t *sb, size_t *len)
{
    if (!sb->data) {
        reserve(sb, 0);
        sb->data[0] = '\0';
    }
    char *p = sb->data;
    if (len)
        *len = sb->len;
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return p;
}
