#include "service.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "textfile.h"

static bool key_is(const char *k, size_t kl, const char *want)
{
    return kl == strlen(want) && memcmp(k, want, kl) == 0;
}

/* Handles one "Key=Value" line of section sec. */
static void unit_kv(const char *sec, const char *k, size_t kl, const char *v, size_t vl, asset_t *a,
                    bool *install)
{
    static const struct {
        const char *sec, *key, *field;
    } map[] = {
        {"Unit", "Description", "description"},
        {"Service", "Type", "type"},
        {"Service", "User", "user"},
        {"Service", "Restart", "restart"},
        {"Service", "WorkingDirectory", "working_dir"},
        {"Install", "WantedBy", "wanted_by"},
    };
    if (strcmp(sec, "Install") == 0 &&
        (key_is(k, kl, "WantedBy") || key_is(k, kl, "RequiredBy") || key_is(k, kl, "Alias") ||
         key_is(k, kl, "Also")) &&
        vl > 0)
        *install = true;
    if (strcmp(sec, "Service") == 0 && key_is(k, kl, "ExecStart")) {
        if (vl > 0 && !asset_get(a, "command")) /* the first non-empty one */
            asset_addn(a, "command", v, vl);
        return;
    }
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(sec, map[i].sec) == 0 && key_is(k, kl, map[i].key)) {
            asset_addn(a, map[i].field, v, vl);
            return;
        }
    }
}

bool service_parse_unit(const char *text, size_t len, asset_t *a)
{
    bool install = false;
    char sec[32] = "";
    strbuf_t joined = STRBUF_INIT;
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, 16384);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        /* join continuation lines (bounded by ASSET_MAX_VALUE) */
        text_trim(&l, &n);
        if (joined.len == 0 && (n == 0 || l[0] == '#' || l[0] == ';'))
            continue;
        if (n > 0 && l[n - 1] == '\\') {
            if (joined.len + n < ASSET_MAX_VALUE) {
                strbuf_append(&joined, l, n - 1);
                strbuf_append(&joined, " ", 1);
            }
            continue;
        }
        if (joined.len) {
            if (joined.len + n < ASSET_MAX_VALUE)
                strbuf_append(&joined, l, n);
            l = joined.data;
            n = joined.len;
        }
        if (n > 1 && l[0] == '[' && l[n - 1] == ']') {
            size_t sl = n - 2 < sizeof(sec) - 1 ? n - 2 : sizeof(sec) - 1;
            memcpy(sec, l + 1, sl);
            sec[sl] = '\0';
        } else {
            const char *eq = memchr(l, '=', n);
            if (eq) {
                const char *k = l, *v = eq + 1;
                size_t kl = (size_t)(eq - l), vl = n - kl - 1;
                text_trim(&k, &kl);
                text_trim(&v, &vl);
                unit_kv(sec, k, kl, v, vl, a, &install);
            }
        }
        joined.len = 0;
    }
    strbuf_dispose(&joined);
    return install;
}

/* Names of every unit linked from a *.wants or *.requires directory under dir. */
static void enabled_names(const char *dir, char ***names, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        bool wants = nl > 6 && strcmp(de->d_name + nl - 6, ".wants") == 0;
        bool req = nl > 9 && strcmp(de->d_name + nl - 9, ".requires") == 0;
        if (!wants && !req)
            continue;
        char sub[4096 + 512 + 256];
        snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
        DIR *sd = opendir(sub);
        if (!sd)
            continue;
        struct dirent *e;
        while ((e = readdir(sd)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            *names = xrealloc(*names, (*count + 1) * sizeof(char *));
            (*names)[(*count)++] = xstrdup(e->d_name);
        }
        closedir(sd);
    }
    closedir(d);
}

static bool in_list(char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int service_collect(const char *root, asset_set_t *out)
{
    static const char *const dirs[] = {"/etc/systemd/system", "/run/systemd/system",
                                       "/usr/local/lib/systemd/system", "/usr/lib/systemd/system",
                                       "/lib/systemd/system"};
    char path[4096 + 512];
    char **enabled = NULL;
    size_t nenabled = 0;
    snprintf(path, sizeof(path), "%s/etc/systemd/system", root);
    enabled_names(path, &enabled, &nenabled);
    snprintf(path, sizeof(path), "%s/run/systemd/system", root);
    struct stat st;
    bool systemd_runs = stat(path, &st) == 0 && S_ISDIR(st.st_mode);

    for (size_t di = 0; di < sizeof(dirs) / sizeof(dirs[0]); di++) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s%s", root, dirs[di]);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            const char *name = de->d_name;
            if (name[0] == '.' || !ends_with(name, ".service") || asset_set_find(out, "name", name))
                continue; /* an earlier directory overrides later ones */
            snprintf(path, sizeof(path), "%s/%s", dir, name);
            struct stat lst;
            if (lstat(path, &lst) < 0)
                continue;
            char target[4096] = "";
            if (S_ISLNK(lst.st_mode)) {
                ssize_t k = readlink(path, target, sizeof(target) - 1);
                target[k > 0 ? k : 0] = '\0';
            }
            asset_t *a = asset_set_add(out);
            asset_add(a, "name", name);
            asset_add(a, "path", path);
            const char *state;
            if (strcmp(target, "/dev/null") == 0) {
                state = "masked";
            } else {
                size_t len;
                char *txt = textfile_read(path, 1 << 20, &len);
                if (!txt) { /* dangling link or unreadable */
                    asset_set_pop(out);
                    continue;
                }
                bool install = len > 0 && service_parse_unit(txt, len, a);
                free(txt);
                const char *base = strrchr(target, '/');
                base = base ? base + 1 : target;
                if (len == 0)
                    state = "masked";
                else if (target[0] && strcmp(base, name) != 0) {
                    state = "alias";
                    asset_add(a, "alias_of", base);
                } else if (in_list(enabled, nenabled, name))
                    state = "enabled";
                else if (!install)
                    state = "static";
                else
                    state = "disabled";
            }
            asset_add(a, "enabled", state);
            if (systemd_runs) {
                snprintf(path, sizeof(path), "%s/run/systemd/units/invocation:%s", root, name);
                asset_add(a, "active", lstat(path, &lst) == 0 ? "active" : "inactive");
            } else {
                asset_add(a, "active", "unknown");
            }
        }
        closedir(d);
    }
    for (size_t i = 0; i < nenabled; i++)
        free(enabled[i]);
    free(enabled);
    return 0;
}
