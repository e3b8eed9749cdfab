#include "container.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "u64map.h"

struct containers {
    u64map_t *map;
    char *proc_root;
    char *docker_root;
};

containers_t *containers_new(const char *proc_root, const char *docker_root)
{
    containers_t *c = xcalloc(1, sizeof(*c));
    c->map = u64map_new();
    c->proc_root = xstrdup(proc_root ? proc_root : "/proc");
    c->docker_root = xstrdup(docker_root ? docker_root : "/var/lib/docker");
    return c;
}

void containers_free(containers_t *c)
{
    if (!c)
        return;
    u64map_free(c->map, free);
    free(c->proc_root);
    free(c->docker_root);
    free(c);
}

/* Finds a run of exactly 64 hex digits in s[0..n); copies it into id. */
static int find_id(const char *s, size_t n, char id[65])
{
    size_t run = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && isxdigit((unsigned char)s[i])) {
            run++;
            continue;
        }
        if (run == 64) {
            memcpy(id, s + i - 64, 64);
            id[64] = '\0';
            for (int k = 0; k < 64; k++)
                id[k] = (char)tolower((unsigned char)id[k]);
            return 1;
        }
        run = 0;
    }
    return 0;
}

static int starts(const char *s, size_t n, const char *prefix)
{
    size_t pl = strlen(prefix);
    return n >= pl && memcmp(s, prefix, pl) == 0;
}

int container_parse_cgroup(const char *path, container_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *kp = strstr(path, "kubepods");
    if (kp) {
        const char *pod = strstr(kp, "pod");
        while (pod && !(pod[3] && (isxdigit((unsigned char)pod[3]))))
            pod = strstr(pod + 3, "pod");
        if (pod) {
            size_t k = 0;
            for (const char *q = pod + 3;
                 *q && *q != '/' && *q != '.' && k < sizeof(out->pod_uid) - 1; q++)
                out->pod_uid[k++] = *q == '_' ? '-' : *q;
            out->pod_uid[k] = '\0';
        }
    }
    /* the last component holding a container id wins */
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char id[65];
        if (n && find_id(p, n, id)) {
            memcpy(out->id, id, sizeof(id));
            if (starts(p, n, "docker-") || (p >= path + 7 && starts(p - 7, n + 7, "docker/")))
                snprintf(out->runtime, sizeof(out->runtime), "docker");
            else if (starts(p, n, "cri-containerd-"))
                snprintf(out->runtime, sizeof(out->runtime), "containerd");
            else if (starts(p, n, "crio-"))
                snprintf(out->runtime, sizeof(out->runtime), "crio");
            else if (starts(p, n, "libpod-"))
                snprintf(out->runtime, sizeof(out->runtime), "podman");
            else if (kp)
                snprintf(out->runtime, sizeof(out->runtime), "containerd");
            else
                snprintf(out->runtime, sizeof(out->runtime), "unknown");
        } else if (starts(p, n, "lxc.payload.")) {
            size_t nl = n - 12 < 64 ? n - 12 : 64;
            memcpy(out->id, p + 12, nl);
            out->id[nl] = '\0';
            snprintf(out->runtime, sizeof(out->runtime), "lxc");
            snprintf(out->name, sizeof(out->name), "%s", out->id);
        }
        if (!end)
            break;
        p = end;
    }
    return 0;
}

static void docker_name(const containers_t *c, container_t *ct)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", c->docker_root, ct->id);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        return;
    const char *name = json_string_value(json_object_get(root, "Name"));
    if (name)
        snprintf(ct->name, sizeof(ct->name), "%s", name[0] == '/' ? name + 1 : name);
    json_decref(root);
}

const container_t *containers_lookup(containers_t *c, uint64_t cgroup_id, uint32_t tgid)
{
    container_t *ct = u64map_get(c->map, cgroup_id);
    if (ct)
        return ct;
    ct = xcalloc(1, sizeof(*ct));
    char path[64], line[4096];
    snprintf(path, sizeof(path), "%s/%u/cgroup", c->proc_root, tgid);
    FILE *f = fopen(path, "re");
    int found = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = '\0';
            container_parse_cgroup(line + 3, ct);
            found = 1;
            break;
        }
    }
    if (f)
        fclose(f);
    if (!found) {
        /* the process is gone: answer without caching, a later record may know better */
        static const container_t none;
        free(ct);
        return &none;
    }
    if (strcmp(ct->runtime, "docker") == 0)
        docker_name(c, ct);
    if (u64map_len(c->map) > 4096) {
        u64map_free(c->map, free);
        c->map = u64map_new();
    }
    u64map_put(c->map, cgroup_id, ct);
    return ct;
}
