/* Test helper shared by the plugin tests: reads the Record frames a plugin wrote to a pipe and
 * looks fields up. Include after <cmocka.h>. */
#ifndef RAMPART_TEST_PLUGIN_RECORDS_H
#define RAMPART_TEST_PLUGIN_RECORDS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rampart.pb-c.h"
#include "rampart_plugin.h"

/* Reads exactly n bytes; false on EOF or error. */
static inline bool pr_read_full(int fd, void *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t k = read(fd, (char *)buf + off, n - off);
        if (k <= 0)
            return false;
        off += (size_t)k;
    }
    return true;
}

/* The next frame on fd, decoded; NULL on EOF. Fails the test on a bad frame. */
static inline Grpc__Record *pr_read_record(int fd)
{
    uint8_t len4[4];
    if (!pr_read_full(fd, len4, 4))
        return NULL;
    uint32_t len = rp_frame_get_len(len4);
    assert_true(len <= RP_MAX_FRAME);
    uint8_t *buf = malloc(len ? len : 1);
    assert_true(pr_read_full(fd, buf, len));
    Grpc__Record *r = grpc__record__unpack(NULL, len, buf);
    free(buf);
    assert_non_null(r);
    return r;
}

/* A field of a decoded record's payload; NULL when absent. */
static inline const char *pr_field(const Grpc__Record *r, const char *key)
{
    for (size_t i = 0; r->data && i < r->data->n_fields; i++)
        if (strcmp(r->data->fields[i]->key, key) == 0)
            return r->data->fields[i]->value;
    return NULL;
}

#endif
