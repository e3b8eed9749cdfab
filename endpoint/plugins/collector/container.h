/* container (5056): containers found through the cgroups of running processes (docker,
 * containerd/CRI, CRI-O, podman, Kubernetes pods), completed by the Docker Engine API on
 * /var/run/docker.sock when it is there (names, images, state, stopped containers). The
 * containerd socket speaks gRPC only; its containers are found through cgroups. */
#ifndef RAMPART_COLLECTOR_CONTAINER_H
#define RAMPART_COLLECTOR_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>

#include "asset.h"

typedef struct {
    char id[65];
    char runtime[16]; /* docker, containerd, cri-o, podman, kubernetes, unknown */
} container_ref_t;

/* The container a process belongs to, from /proc/<pid>/cgroup text: false for a host process. */
bool container_from_cgroup(const char *text, size_t len, container_ref_t *out);
/* Merges a Docker Engine GET /containers/json?all=1 answer into items (by id): name, state,
 * image_name, image_id, create_time; adds items for containers not seen running. -EINVAL when
 * the text is not that JSON array. */
int container_merge_docker_json(const char *json, size_t len, asset_set_t *items);
int container_collect(const char *proc_root, const char *docker_socket, asset_set_t *out);

#endif
