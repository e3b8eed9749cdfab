#include "kmod.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "textfile.h"

void kmod_parse(const char *text, size_t len, asset_set_t *out)
{
    static const char *const keys[6] = {"name", "size", "refcount", "used_by", "state", "addr"};
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, 4096);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        const char *tok[6];
        size_t tl[6];
        int k = 0;
        while (k < 6 && text_token(&l, &n, &tok[k], &tl[k]))
            k++;
        if (k < 5)
            continue;
        asset_t *a = asset_set_add(out);
        for (int i = 0; i < k; i++) {
            const char *v = tok[i];
            size_t vl = tl[i];
            if (i == 3) { /* "-" or "a,b," */
                if (vl == 1 && v[0] == '-')
                    vl = 0;
                else if (vl > 0 && v[vl - 1] == ',')
                    vl--;
            }
            asset_addn(a, keys[i], v, vl);
        }
        if (k > 5 && n > 0) { /* taint flags such as "(OE)" */
            text_trim(&l, &n);
            asset_addn(a, "taint", l, n);
        }
    }
}

int kmod_collect(const char *proc_root, asset_set_t *out)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/modules", proc_root);
    size_t len;
    char *txt = textfile_read(path, 16 << 20, &len);
    if (!txt)
        return errno == ENOENT ? 0 : -errno;
    kmod_parse(txt, len, out);
    free(txt);
    return 0;
}
