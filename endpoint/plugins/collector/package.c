#include "package.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "textfile.h"

/* Ends the stanza in a: keeps it when it names an installed package, else drops it. */
static void end_stanza(asset_set_t *out, bool open)
{
    if (!open)
        return;
    asset_t *a = &out->items[out->n - 1];
    const char *name = asset_get(a, "name");
    const char *status = asset_get(a, "status");
    /* Status: want flag state, e.g. "install ok installed"; the state is the last word. */
    const char *state = status ? strrchr(status, ' ') : NULL;
    state = state ? state + 1 : status;
    if (!name || !*name || !state || strcmp(state, "not-installed") == 0 ||
        strcmp(state, "config-files") == 0) {
        asset_set_pop(out);
        return;
    }
    if (!asset_get(a, "sversion"))
        asset_add(a, "sversion", "");
}

void package_parse_dpkg(const char *text, size_t len, asset_set_t *out)
{
    static const struct {
        const char *key, *field;
    } map[] = {{"Package", "name"},    {"Version", "sversion"},  {"Architecture", "arch"},
               {"Status", "status"},   {"Maintainer", "vendor"}, {"Installed-Size", "size_kib"},
               {"Section", "section"}, {"Source", "origin"}};
    bool open = false;
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, 64 * 1024);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        if (n == 0) {
            end_stanza(out, open);
            open = false;
            continue;
        }
        if (l[0] == ' ' || l[0] == '\t')
            continue; /* continuation of a multi-line field (Description, Conffiles) */
        const char *colon = memchr(l, ':', n);
        if (!colon)
            continue;
        size_t kl = (size_t)(colon - l);
        const char *v = colon + 1;
        size_t vl = n - kl - 1;
        text_trim(&v, &vl);
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (kl != strlen(map[i].key) || strncasecmp(l, map[i].key, kl) != 0)
                continue;
            if (!open) {
                asset_t *a = asset_set_add(out);
                asset_add(a, "source", "dpkg");
                open = true;
            }
            asset_t *a = &out->items[out->n - 1];
            if (strcmp(map[i].field, "origin") == 0) {
                const char *sp = memchr(v, ' ', vl); /* "Source: name (version)" */
                if (sp)
                    vl = (size_t)(sp - v);
            }
            asset_addn(a, map[i].field, v, vl);
            break;
        }
    }
    end_stanza(out, open);
}

const char *package_rpm_dbpath(const char *root)
{
    static const char *const dirs[] = {"/usr/lib/sysimage/rpm", "/var/lib/rpm"};
    static const char *const files[] = {"rpmdb.sqlite", "Packages.db", "Packages"};
    for (size_t d = 0; d < 2; d++) {
        for (size_t f = 0; f < 3; f++) {
            char path[4096 + 64];
            struct stat st;
            snprintf(path, sizeof(path), "%s%s/%s", root, dirs[d], files[f]);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
                return dirs[d];
        }
    }
    return NULL;
}

int package_collect(const char *root, asset_set_t *out)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/var/lib/dpkg/status", root);
    size_t len;
    int rc = 0;
    char *txt = textfile_read(path, 256 << 20, &len);
    if (txt) {
        package_parse_dpkg(txt, len, out);
        free(txt);
    } else if (errno != ENOENT) {
        rc = -errno;
    }
    const char *db = package_rpm_dbpath(root);
    if (db) {
        int r = package_collect_rpm(root, db, out);
        if (r < 0)
            rc = r;
    }
    return rc;
}
