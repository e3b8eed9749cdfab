/* registry_pick: weighted sampling, least-loaded picking, counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "service-discovery/registry.h"

static void fill(registry_entry_t *e, size_t n, const int64_t *weights)
{
    memset(e, 0, n * sizeof(*e));
    for (size_t i = 0; i < n; i++) {
        e[i].port = (uint16_t)(i + 1);
        e[i].weight = weights[i];
    }
}

static void test_count_bounds(void **state)
{
    (void)state;
    registry_entry_t e[4];
    int64_t w[] = {1, 1, 1, 1};
    fill(e, 4, w);
    assert_int_equal(registry_pick(e, 4, 0, REGISTRY_PICK_WEIGHTED), 4);
    assert_int_equal(registry_pick(e, 4, 2, REGISTRY_PICK_WEIGHTED), 2);
    assert_int_equal(registry_pick(e, 4, 10, REGISTRY_PICK_WEIGHTED), 4);
    assert_int_equal(registry_pick(e, 0, 3, REGISTRY_PICK_LEAST), 0);
    /* a permutation: every port still there once */
    int seen[5] = {0};
    for (int i = 0; i < 4; i++)
        seen[e[i].port]++;
    for (int i = 1; i <= 4; i++)
        assert_int_equal(seen[i], 1);
}

static void test_weighted_frequencies(void **state)
{
    (void)state;
    /* weights 1:3:6 -> first pick frequencies ~10%, 30%, 60% */
    int64_t w[] = {1, 3, 6};
    int first[4] = {0};
    const int rounds = 30000;
    for (int r = 0; r < rounds; r++) {
        registry_entry_t e[3];
        fill(e, 3, w);
        registry_pick(e, 3, 1, REGISTRY_PICK_WEIGHTED);
        first[e[0].port]++;
    }
    double p1 = (double)first[1] / rounds, p2 = (double)first[2] / rounds,
           p3 = (double)first[3] / rounds;
    print_message("first-pick frequencies %.3f %.3f %.3f\n", p1, p2, p3);
    assert_true(p1 > 0.08 && p1 < 0.12);
    assert_true(p2 > 0.27 && p2 < 0.33);
    assert_true(p3 > 0.57 && p3 < 0.63);
}

static void test_zero_weight_drains(void **state)
{
    (void)state;
    int64_t w[] = {0, 5, 0, 1};
    for (int r = 0; r < 2000; r++) {
        registry_entry_t e[4];
        fill(e, 4, w);
        assert_int_equal(registry_pick(e, 4, 2, REGISTRY_PICK_WEIGHTED), 2);
        assert_true(e[0].weight > 0 && e[1].weight > 0);
    }
    /* all zero: still answers, at random */
    int64_t z[] = {0, 0, 0};
    registry_entry_t e[3];
    fill(e, 3, z);
    assert_int_equal(registry_pick(e, 3, 1, REGISTRY_PICK_WEIGHTED), 1);
}

static void test_least(void **state)
{
    (void)state;
    int64_t w[] = {50, 3, 7, 3, 100, 1};
    int first_tie[7] = {0};
    for (int r = 0; r < 4000; r++) {
        registry_entry_t e[6];
        fill(e, 6, w);
        assert_int_equal(registry_pick(e, 6, 3, REGISTRY_PICK_LEAST), 3);
        assert_int_equal(e[0].weight, 1);
        assert_int_equal(e[1].weight, 3);
        assert_int_equal(e[2].weight, 3);
        first_tie[e[1].port]++;
        for (int i = 3; i < 5; i++)
            assert_true(e[i].weight <= e[i + 1].weight);
    }
    /* ties (ports 2 and 4, weight 3) are broken at random */
    assert_true(first_tie[2] > 1500 && first_tie[4] > 1500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_bounds),
        cmocka_unit_test(test_weighted_frequencies),
        cmocka_unit_test(test_zero_weight_drains),
        cmocka_unit_test(test_least),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
