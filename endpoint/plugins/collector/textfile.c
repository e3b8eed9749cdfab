#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xalloc.h"

char *textfile_read(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    size_t cap = 4096 < max ? 4096 : max;
    char *buf = xmalloc(cap + 1);
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= max)
                break;
            cap = cap * 2 < max ? cap * 2 : max;
            buf = xrealloc(buf, cap + 1);
        }
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return NULL;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void textfile_lines_init(textfile_lines_t *it, const char *text, size_t len, size_t max_line)
{
    it->p = text;
    it->end = text + len;
    it->max_line = max_line;
}

bool textfile_next_line(textfile_lines_t *it, const char **line, size_t *len)
{
    if (it->p >= it->end)
        return false;
    const char *start = it->p;
    const char *nl = memchr(start, '\n', (size_t)(it->end - start));
    const char *stop = nl ? nl : it->end;
    it->p = nl ? nl + 1 : it->end;
    size_t n = (size_t)(stop - start);
    if (n > 0 && start[n - 1] == '\r')
        n--;
    if (n > it->max_line)
        n = it->max_line;
    *line = start;
    *len = n;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

void text_trim(const char **s, size_t *n)
{
    while (*n > 0 && is_space((*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*s)[*n - 1]))
        (*n)--;
}

bool text_token(const char **s, size_t *n, const char **tok, size_t *toklen)
{
    while (*n > 0 && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    if (*n == 0)
        return false;
    *tok = *s;
    size_t k = 0;
    while (k < *n && !is_space((*s)[k]))
        k++;
    *toklen = k;
    *s += k;
    *n -= k;
    return true;
}

bool text_starts(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}
