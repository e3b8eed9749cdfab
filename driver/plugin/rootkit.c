#include "rootkit.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "u64map.h"

/* The pids /proc lists (what a getdents-hooking rootkit would filter). */
static u64map_t *list_proc(const char *proc_root)
{
    DIR *d = opendir(proc_root);
    if (!d)
        return NULL;
    u64map_t *m = u64map_new();
    struct dirent *de;
    static const char present = 1;
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        u64map_put(m, strtoull(de->d_name, NULL, 10), (void *)&present);
    }
    closedir(d);
    return m;
}

int rootkit_scan(sensor_t *s, const char *proc_root, rootkit_hidden_fn fn, void *ctx)
{
    struct rs_task_seen *t1 = NULL, *t2 = NULL;
    size_t n1 = 0, n2 = 0;
    int found = 0;
    u64map_t *p1 = list_proc(proc_root), *p2 = NULL, *k2 = NULL;
    if (!p1)
        return -errno;
    int rc = sensor_list_tasks(s, &t1, &n1);
    if (rc < 0) {
        found = rc;
        goto cleanup;
    }
    size_t missing = 0;
    for (size_t i = 0; i < n1; i++)
        if (t1[i].tgid && !u64map_get(p1, t1[i].tgid))
            missing++;
    if (!missing)
        goto cleanup;
    /* second look: still known to the kernel, still absent from /proc */
    p2 = list_proc(proc_root);
    rc = sensor_list_tasks(s, &t2, &n2);
    if (!p2 || rc < 0) {
        found = p2 ? rc : -errno;
        goto cleanup;
    }
    k2 = u64map_new();
    for (size_t i = 0; i < n2; i++)
        u64map_put(k2, t2[i].tgid, &t2[i]);
    for (size_t i = 0; i < n1; i++) {
        if (!t1[i].tgid || u64map_get(p1, t1[i].tgid) || u64map_get(p2, t1[i].tgid))
            continue;
        const struct rs_task_seen *again = u64map_get(k2, t1[i].tgid);
        if (!again || memcmp(again->comm, t1[i].comm, sizeof(again->comm)) != 0)
            continue;
        fn(ctx, again);
        found++;
    }
cleanup:
    u64map_free(p1, NULL);
    u64map_free(p2, NULL);
    u64map_free(k2, NULL);
    free(t1);
    free(t2);
    return found;
}
