#include "sshd_log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool starts(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && memcmp(s, p, k) == 0;
}

static bool ends(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && memcmp(s + n - k, p, k) == 0;
}

static void copy_field(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static bool ip_char(char c)
{
    return isxdigit((unsigned char)c) || c == '.' || c == ':' || c == '%' ||
           isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* The last "<ip> port <digits>" in s: ip_start/ip_len, port, and where the text after the port
 * number begins. */
static bool find_addr(const char *s, size_t n, size_t *ip_start, size_t *ip_len, int *port,
                      size_t *after)
{
    for (size_t i = n >= 6 ? n - 6 + 1 : 0; i-- > 0;) {
        if (memcmp(s + i, " port ", 6) != 0)
            continue;
        size_t d = i + 6, k = 0;
        long v = 0;
        while (d + k < n && k < 6 && isdigit((unsigned char)s[d + k])) {
            v = v * 10 + (s[d + k] - '0');
            k++;
        }
        if (k == 0 || k > 5 || v > 65535 || (d + k < n && s[d + k] != ' '))
            continue;
        size_t e = i, b = i;
        while (b > 0 && s[b - 1] != ' ')
            b--;
        if (b == e)
            continue;
        bool ok = true;
        for (size_t j = b; j < e; j++)
            ok = ok && ip_char(s[j]);
        if (!ok)
            continue;
        *ip_start = b;
        *ip_len = e - b;
        *port = (int)v;
        *after = d + k;
        return true;
    }
    return false;
}

static void set_user(sshd_event_t *ev, const char *u, size_t ul)
{
    if (starts(u, ul, "invalid user ")) {
        ev->invalid = true;
        u += 13;
        ul -= 13;
    }
    copy_field(ev->user, sizeof(ev->user), u, ul);
}

bool sshd_parse_message(const char *msg, size_t len, sshd_event_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len > 4096)
        len = 4096;
    size_t ip_s = 0, ip_l = 0, after = 0;
    int port = 0;
    bool have_addr = find_addr(msg, len, &ip_s, &ip_l, &port, &after);
    size_t pre = have_addr && ip_s > 0 ? ip_s - 1 : 0; /* text before " <ip>" */

    bool acc = starts(msg, len, "Accepted ");
    if ((acc || starts(msg, len, "Failed ")) && have_addr) {
        size_t m = acc ? 9 : 7; /* "Accepted " / "Failed " */
        if (pre < m + 5 || !ends(msg, pre, " from"))
            return false;
        size_t body_end = pre - 5; /* end of "<method> for <user>" */
        const char *sp = memchr(msg + m, ' ', body_end - m);
        if (!sp)
            return false;
        size_t sp_off = (size_t)(sp - msg);
        if (!starts(sp, body_end - sp_off, " for "))
            return false;
        out->success = acc;
        copy_field(out->types, sizeof(out->types), msg + m, sp_off - m);
        set_user(out, sp + 5, body_end - sp_off - 5);
        /* " ssh2: ED25519 SHA256:..." */
        const char *x = memmem(msg + after, len - after, ": ", 2);
        if (x)
            copy_field(out->extra, sizeof(out->extra), x + 2, (size_t)(msg + len - (x + 2)));
    } else if (starts(msg, len, "Invalid user ")) {
        out->invalid = true;
        snprintf(out->types, sizeof(out->types), "invalid_user");
        const char *u = msg + 13;
        if (have_addr && ends(msg, pre, " from") && pre >= 13 + 5) {
            copy_field(out->user, sizeof(out->user), u, pre - 5 - 13);
        } else {
            /* older sshd: "Invalid user NAME from IP" with no port */
            const char *f = NULL;
            for (size_t i = len >= 6 ? len - 6 + 1 : 0; i-- > 13;)
                if (memcmp(msg + i, " from ", 6) == 0) {
                    f = msg + i;
                    break;
                }
            if (!f)
                return false;
            copy_field(out->user, sizeof(out->user), u, (size_t)(f - u));
            copy_field(out->sip, sizeof(out->sip), f + 6, (size_t)(msg + len - (f + 6)));
            return out->sip[0] != '\0';
        }
    } else if (have_addr && (starts(msg, len, "Connection closed by authenticating user ") ||
                             starts(msg, len, "Connection closed by invalid user ") ||
                             starts(msg, len, "Disconnected from authenticating user ") ||
                             starts(msg, len, "Disconnected from invalid user "))) {
        bool closed = msg[0] == 'C';
        size_t skip = closed ? 21 : 18; /* "Connection closed by " / "Disconnected from " */
        const char *rest = msg + skip;
        size_t rl = pre > skip ? pre - skip : 0;
        if (starts(rest, rl, "authenticating user ")) {
            rest += 20;
            rl -= 20;
        } else if (starts(rest, rl, "invalid user ")) {
            out->invalid = true;
            rest += 13;
            rl -= 13;
        } else {
            return false;
        }
        snprintf(out->types, sizeof(out->types), "%s",
                 closed ? "preauth_closed" : "preauth_disconnected");
        copy_field(out->user, sizeof(out->user), rest, rl);
    } else if (have_addr &&
               starts(msg, len, "error: maximum authentication attempts exceeded for ") &&
               ends(msg, pre, " from")) {
        size_t skip = 52;
        if (pre < skip + 5)
            return false;
        snprintf(out->types, sizeof(out->types), "max_attempts");
        set_user(out, msg + skip, pre - 5 - skip);
    } else {
        return false;
    }
    if (have_addr && out->sip[0] == '\0') {
        copy_field(out->sip, sizeof(out->sip), msg + ip_s, ip_l);
        out->sport = port;
    }
    return true;
}

bool sshd_split_syslog(const char *line, size_t len, const char **program, size_t *plen, int *pid,
                       const char **msg, size_t *msglen)
{
    size_t i = 0;
    int skip_tokens = (len > 4 && isdigit((unsigned char)line[0]) &&
                       isdigit((unsigned char)line[3]) && line[4] == '-')
                          ? 2  /* RFC 3339 timestamp, host */
                          : 4; /* "Nov", "23", "10:00:01", host */
    for (int t = 0; t < skip_tokens; t++) {
        while (i < len && line[i] == ' ')
            i++;
        if (i == len)
            return false;
        while (i < len && line[i] != ' ')
            i++;
    }
    while (i < len && line[i] == ' ')
        i++;
    size_t start = i;
    while (i < len && line[i] != ':' && line[i] != ' ' && line[i] != '[')
        i++;
    if (i == start || i == len)
        return false;
    *program = line + start;
    *plen = i - start;
    *pid = -1;
    if (line[i] == '[') {
        size_t d = ++i;
        long v = 0;
        while (i < len && isdigit((unsigned char)line[i]) && i - d < 10)
            v = v * 10 + (line[i++] - '0');
        if (i == d || i >= len || line[i] != ']')
            return false;
        *pid = (int)v;
        i++;
    }
    if (i + 1 >= len || line[i] != ':' || line[i + 1] != ' ')
        return false;
    *msg = line + i + 2;
    *msglen = len - i - 2;
    return true;
}

bool sshd_is_program(const char *program, size_t plen)
{
    return (plen == 4 && memcmp(program, "sshd", 4) == 0) ||
           (plen == 12 && memcmp(program, "sshd-session", 12) == 0);
}
