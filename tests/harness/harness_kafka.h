/* harness_kafka: reads a Kafka topic from its beginning, for tests that check what our
 * services produced. No consumer group: every partition is assigned from offset 0, so each
 * reader sees the whole topic. */
#ifndef RAMPART_TESTS_HARNESS_KAFKA_H
#define RAMPART_TESTS_HARNESS_KAFKA_H

#include <stddef.h>
#include <stdint.h>

typedef struct harness_kafka_reader harness_kafka_reader_t;

typedef struct {
    char *key; /* NUL-terminated copy (may hold any bytes before the NUL) */
    size_t key_len;
    uint8_t *value;
    size_t len;
    int32_t partition;
    int64_t offset;
} harness_kafka_msg_t;

/* NULL when the topic's metadata cannot be read within 10 s. */
harness_kafka_reader_t *harness_kafka_reader_new(const char *bootstrap, const char *topic);
void harness_kafka_reader_free(harness_kafka_reader_t *r);
/* Next message within timeout_ms: 1 and *m filled (harness_kafka_msg_dispose it), 0 when
 * nothing arrived in time. */
int harness_kafka_next(harness_kafka_reader_t *r, int timeout_ms, harness_kafka_msg_t *m);
void harness_kafka_msg_dispose(harness_kafka_msg_t *m);

#endif
