/* container: which container a process runs in, from its cgroup v2 path, cached by cgroup id.
 *
 * The id is the 64-hex-digit container id found in the cgroup path (docker, containerd/CRI,
 * CRI-O, podman, under systemd or cgroupfs drivers); the runtime comes from the path's naming;
 * the name is read from the runtime's state on disk where it keeps one (docker's
 * config.v2.json). Host processes get empty strings. */
#ifndef RAMPART_DRIVER_CONTAINER_H
#define RAMPART_DRIVER_CONTAINER_H

#include <stdint.h>

typedef struct {
    char id[65];      /* "" on the host */
    char runtime[16]; /* docker, containerd, crio, podman, lxc, "" */
    char name[128];   /* container name when the runtime keeps one on disk, else "" */
    char pod_uid[40]; /* Kubernetes pod uid from a kubepods cgroup, else "" */
} container_t;

typedef struct containers containers_t;

/* proc_root "/proc", docker_root "/var/lib/docker" (tests may point elsewhere). */
containers_t *containers_new(const char *proc_root, const char *docker_root);
void containers_free(containers_t *c);
/* The container of a process in cgroup cgroup_id (read from /proc/<tgid>/cgroup on a miss).
 * Never NULL; valid until containers_free. */
const container_t *containers_lookup(containers_t *c, uint64_t cgroup_id, uint32_t tgid);

/* Parses a cgroup v2 path ("/system.slice/docker-<id>.scope"). 0 always; fields empty when
 * the path names no container. */
int container_parse_cgroup(const char *path, container_t *out);

#endif
