/* hub offtrack: an offset is committable only once every alert its message raised was
 * delivered; partitions are independent; stale handles after a revocation are ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hub/offtrack.h"

static void test_commit_waits_for_deliveries(void **state)
{
    (void)state;
    offtrack_t *t = offtrack_new();
    offtrack_assign(t, 3);
    assert_int_equal(offtrack_add(t, 5, 0), 0); /* not assigned: not tracked */
    uint64_t h10 = offtrack_add(t, 3, 10);
    uint64_t h11 = offtrack_add(t, 3, 11);
    uint64_t h12 = offtrack_add(t, 3, 12);
    offtrack_hold(t, h11); /* message 11 raised two alerts */
    offtrack_hold(t, h11);
    (void)h10;
    (void)h12;
    assert_int_equal(offtrack_inflight(t), 3);
    assert_int_equal(offtrack_committable(t, 3), 11); /* 10 is done, 11 waits */
    assert_int_equal(offtrack_committable(t, 3), -1); /* nothing new */
    offtrack_release(t, h11);
    assert_int_equal(offtrack_committable(t, 3), -1);
    offtrack_release(t, h11);
    assert_int_equal(offtrack_committable(t, 3), 13);
    assert_int_equal(offtrack_position(t, 3), 13);
    assert_int_equal(offtrack_inflight(t), 0);
    offtrack_free(t);
}

static void test_many_and_revoke(void **state)
{
    (void)state;
    offtrack_t *t = offtrack_new();
    offtrack_assign(t, 0);
    offtrack_assign(t, 1);
    uint64_t hold = 0;
    for (int i = 0; i < 5000; i++) { /* grows the ring past its first size */
        uint64_t h = offtrack_add(t, i % 2, i / 2);
        if (i == 2001) {
            hold = h;
            offtrack_hold(t, h);
        }
    }
    assert_int_equal(offtrack_committable(t, 0), 2500);
    assert_int_equal(offtrack_committable(t, 1), 1000); /* offset 1000 of partition 1 waits */
    offtrack_revoke(t, 1);
    offtrack_release(t, hold); /* stale: ignored, no crash */
    assert_false(offtrack_assigned(t, 1));
    assert_int_equal(offtrack_committable(t, 1), -1);
    offtrack_assign(t, 1);
    uint64_t h = offtrack_add(t, 1, 7);
    offtrack_release(t, hold); /* an old epoch does not touch the new entries */
    offtrack_hold(t, h);
    assert_int_equal(offtrack_committable(t, 1), -1);
    offtrack_release(t, h);
    assert_int_equal(offtrack_committable(t, 1), 8);
    offtrack_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_waits_for_deliveries),
        cmocka_unit_test(test_many_and_revoke),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
