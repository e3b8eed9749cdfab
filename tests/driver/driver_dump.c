/* driver_dump: reads Record frames (u32 LE length + protobuf) on stdin, prints one line per
 * record: "dt=<data_type> key=value ...". For looking at what rampart-driver writes:
 *   rampart-driver 4>&1 >/dev/null | driver_dump */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "rampart.pb-c.h"

int main(void)
{
    uint8_t lb[4];
    size_t cap = 0;
    uint8_t *buf = NULL;
    while (fread(lb, 1, 4, stdin) == 4) {
        uint32_t n = lb[0] | lb[1] << 8 | lb[2] << 16 | (uint32_t)lb[3] << 24;
        if (n > (8u << 20))
            break;
        if (n > cap) {
            cap = n;
            buf = realloc(buf, cap);
        }
        if (fread(buf, 1, n, stdin) != n)
            break;
        Grpc__Record *r = grpc__record__unpack(NULL, n, buf);
        if (!r) {
            printf("bad frame of %u bytes\n", n);
            continue;
        }
        printf("dt=%d", r->data_type);
        for (size_t i = 0; r->data && i < r->data->n_fields; i++)
            printf(" %s=%s", r->data->fields[i]->key, r->data->fields[i]->value);
        printf("\n");
        fflush(stdout);
        grpc__record__free_unpacked(r, NULL);
    }
    free(buf);
    return 0;
}
