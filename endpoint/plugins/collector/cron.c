#include "cron.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "textfile.h"

static bool is_env_line(const char *l, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)l[0]) || l[0] == '_'))
        return false;
    size_t i = 0;
    while (i < n && (isalnum((unsigned char)l[i]) || l[i] == '_'))
        i++;
    while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
    return i < n && l[i] == '=';
}

void cron_parse(const char *text, size_t len, const char *path, const char *user, asset_set_t *out)
{
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, 8192);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        text_trim(&l, &n);
        if (n == 0 || l[0] == '#' || is_env_line(l, n))
            continue;
        const char *s = l;
        size_t rest = n;
        const char *tok;
        size_t tl;
        const char *sched_start = s;
        size_t sched_len;
        if (!text_token(&s, &rest, &tok, &tl))
            continue;
        if (tok[0] == '@') {
            sched_len = tl;
        } else {
            int k = 1;
            while (k < 5 && text_token(&s, &rest, &tok, &tl))
                k++;
            if (k < 5)
                continue;
            sched_len = (size_t)(tok + tl - sched_start);
            /* each schedule field must look like one: digits, *, /, -, ',' or names */
            bool ok = true;
            for (size_t i = 0; i < sched_len; i++) {
                char c = sched_start[i];
                if (!(isalnum((unsigned char)c) || c == '*' || c == '/' || c == '-' || c == ',' ||
                      c == ' ' || c == '\t'))
                    ok = false;
            }
            if (!ok)
                continue;
        }
        const char *uname = user;
        size_t ulen = user ? strlen(user) : 0;
        if (!user) {
            if (!text_token(&s, &rest, &tok, &tl))
                continue;
            uname = tok;
            ulen = tl;
        }
        text_trim(&s, &rest);
        if (rest == 0)
            continue;
        asset_t *a = asset_set_add(out);
        asset_add(a, "path", path);
        asset_addn(a, "username", uname, ulen);
        asset_addn(a, "schedule", sched_start, sched_len);
        asset_addn(a, "command", s, rest);
    }
}

static bool skip_name(const char *name)
{
    size_t n = strlen(name);
    /* run-parts and cron ignore these: dotfiles, editor backups, package manager leftovers */
    return name[0] == '.' || (n > 0 && name[n - 1] == '~') || strstr(name, ".dpkg-") ||
           strstr(name, ".rpmsave") || strstr(name, ".rpmnew") || strcmp(name, "placeholder") == 0;
}

static void parse_file(const char *path, const char *user, asset_set_t *out)
{
    size_t len;
    char *txt = textfile_read(path, 4 << 20, &len);
    if (!txt)
        return;
    cron_parse(txt, len, path, user, out);
    free(txt);
}

/* Each regular file of dir: a system crontab (user NULL, per_user false) or the crontab of
 * the user it is named after (per_user true). */
static void parse_dir(const char *dir, bool per_user, asset_set_t *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (skip_name(de->d_name))
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        parse_file(path, per_user ? de->d_name : NULL, out);
    }
    closedir(d);
}

int cron_collect(const char *root, asset_set_t *out)
{
    char path[4096 + 512];
    snprintf(path, sizeof(path), "%s/etc/crontab", root);
    parse_file(path, NULL, out);
    snprintf(path, sizeof(path), "%s/etc/cron.d", root);
    parse_dir(path, false, out);
    snprintf(path, sizeof(path), "%s/var/spool/cron/crontabs", root);
    parse_dir(path, true, out);
    snprintf(path, sizeof(path), "%s/var/spool/cron", root); /* Red Hat layout */
    parse_dir(path, true, out);

    static const char *const periods[] = {"hourly", "daily", "weekly", "monthly"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/etc/cron.%s", root, periods[i]);
        DIR *d = opendir(path);
        if (!d)
            continue;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (skip_name(de->d_name))
                continue;
            char file[4096 + 512 + 256];
            snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
            struct stat st;
            if (stat(file, &st) < 0 || !S_ISREG(st.st_mode))
                continue;
            asset_t *a = asset_set_add(out);
            asset_add(a, "path", file);
            asset_add(a, "username", "root");
            asset_addf(a, "schedule", "@%s", periods[i]);
            asset_add(a, "command", file);
        }
        closedir(d);
    }
    return 0;
}
