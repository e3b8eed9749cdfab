#include "container.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "process.h"
#include "textfile.h"

/* Length of the run of hex digits at s (at most max). */
static size_t hex_run(const char *s, size_t max)
{
    size_t k = 0;
    while (k < max && isxdigit((unsigned char)s[k]))
        k++;
    return k;
}

static const char *runtime_of(const char *path, size_t n)
{
    static const struct {
        const char *marker, *runtime;
    } m[] = {{"cri-containerd", "containerd"},
             {"containerd", "containerd"},
             {"crio", "cri-o"},
             {"libpod", "podman"},
             {"docker", "docker"},
             {"kubepods", "kubernetes"}};
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (memmem(path, n, m[i].marker, strlen(m[i].marker)))
            return m[i].runtime;
    return "unknown";
}

bool container_from_cgroup(const char *text, size_t len, container_ref_t *out)
{
    memset(out, 0, sizeof(*out));
    textfile_lines_t it;
    textfile_lines_init(&it, text, len, 4096);
    const char *l;
    size_t n;
    while (textfile_next_line(&it, &l, &n)) {
        /* "hierarchy:controllers:path" */
        const char *c1 = memchr(l, ':', n);
        const char *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - l)) : NULL;
        if (!c2)
            continue;
        const char *path = c2 + 1;
        size_t pl = n - (size_t)(path - l);
        /* the last run of exactly 64 hex digits that stands alone between separators */
        const char *found = NULL;
        for (size_t i = 0; i < pl;) {
            size_t k = hex_run(path + i, pl - i);
            if (k == 64 && (i == 0 || !isalnum((unsigned char)path[i - 1])))
                found = path + i;
            i += k ? k : 1;
        }
        if (!found)
            continue;
        memcpy(out->id, found, 64);
        out->id[64] = '\0';
        for (int i = 0; i < 64; i++)
            out->id[i] = (char)tolower((unsigned char)out->id[i]);
        snprintf(out->runtime, sizeof(out->runtime), "%s", runtime_of(path, pl));
        return true;
    }
    return false;
}

static asset_t *find_by_id(asset_set_t *items, const char *id)
{
    for (size_t i = 0; i < items->n; i++) {
        const char *v = asset_get(&items->items[i], "id");
        if (v && strcmp(v, id) == 0)
            return &items->items[i];
    }
    return NULL;
}

int container_merge_docker_json(const char *json, size_t len, asset_set_t *items)
{
    json_error_t err;
    json_t *root = json_loadb(json, len, 0, &err);
    if (!root || !json_is_array(root)) {
        json_decref(root);
        return -EINVAL;
    }
    size_t i;
    json_t *c;
    json_array_foreach(root, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "Id"));
        if (!id || strlen(id) != 64)
            continue;
        asset_t *a = find_by_id(items, id);
        if (!a) {
            a = asset_set_add(items);
            asset_add(a, "id", id);
            asset_add(a, "runtime", "docker");
        }
        json_t *names = json_object_get(c, "Names");
        const char *name = json_string_value(json_array_get(names, 0));
        if (name)
            asset_add(a, "name", name[0] == '/' ? name + 1 : name);
        const char *s;
        if ((s = json_string_value(json_object_get(c, "State"))))
            asset_add(a, "state", s);
        if ((s = json_string_value(json_object_get(c, "Image"))))
            asset_add(a, "image_name", s);
        if ((s = json_string_value(json_object_get(c, "ImageID"))))
            asset_add(a, "image_id", s);
        json_t *created = json_object_get(c, "Created");
        if (json_is_integer(created))
            asset_addf(a, "create_time", "%" JSON_INTEGER_FORMAT, json_integer_value(created));
    }
    json_decref(root);
    return 0;
}

static size_t curl_sink(char *p, size_t size, size_t nmemb, void *ud)
{
    strbuf_t *sb = ud;
    size_t n = size * nmemb;
    if (sb->len + n > (16u << 20))
        return 0; /* bounded: refuse an answer over 16 MiB */
    strbuf_append(sb, p, n);
    return n;
}

/* GET /containers/json?all=1 on the Docker socket; the body in sb. */
static int docker_list(const char *socket_path, strbuf_t *sb)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -ENOMEM;
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/containers/json?all=1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sb);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return rc == CURLE_OK && status == 200 ? 0 : -EIO;
}

int container_collect(const char *proc_root, const char *docker_socket, asset_set_t *out)
{
    DIR *d = opendir(proc_root);
    if (!d)
        return -errno;
    struct dirent *de;
    char path[PATH_MAX];
    while ((de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "%s/%s/cgroup", proc_root, de->d_name);
        size_t len;
        char *txt = textfile_read(path, 64 * 1024, &len);
        container_ref_t ref;
        bool in = txt && container_from_cgroup(txt, len, &ref);
        free(txt);
        if (!in)
            continue;
        int pid = atoi(de->d_name);
        asset_t *a = find_by_id(out, ref.id);
        if (!a) {
            a = asset_set_add(out);
            asset_add(a, "id", ref.id);
            asset_add(a, "runtime", ref.runtime);
            asset_add(a, "state", "running");
            asset_add(a, "process_count", "0");
        }
        asset_addf(a, "process_count", "%ld", atol(asset_get(a, "process_count")) + 1);
        const char *cur = asset_get(a, "pid");
        if (!cur || pid < atoi(cur)) { /* the lowest pid stands for the container's init */
            asset_addf(a, "pid", "%d", pid);
            char link[128];
            snprintf(path, sizeof(path), "%s/%d/ns/pid", proc_root, pid);
            ssize_t k = readlink(path, link, sizeof(link) - 1);
            link[k > 0 ? k : 0] = '\0';
            asset_addf(a, "pns", "%" PRIu64, process_ns_inode(link));
        }
    }
    closedir(d);
    struct stat st;
    if (docker_socket && stat(docker_socket, &st) == 0 && S_ISSOCK(st.st_mode)) {
        strbuf_t sb = STRBUF_INIT;
        if (docker_list(docker_socket, &sb) == 0 && sb.len)
            (void)container_merge_docker_json(sb.data, sb.len, out);
        strbuf_dispose(&sb);
    }
    return 0;
}
