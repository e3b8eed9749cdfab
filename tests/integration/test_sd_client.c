/* The service-discovery client (common/sd_client) against a real rampart-sd and Redis:
 * failover past a dead address, weights, deregistration, eviction on free, cached and stale
 * look-ups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/sd_client.h"
#include "harness.h"

static struct {
    harness_proc_t *redis, *sd;
    uint16_t redis_port, sd_port, dead_port;
    char ak[16], sk[65];
    char addr_sd[32], addr_dead[32];
} W;

static int setup(void **state)
{
    (void)state;
    W.redis = harness_redis_start(&W.redis_port);
    assert_non_null(W.redis);
    char keys_path[512], cfg[1024], cfg_path[512], bin[512];
    snprintf(W.ak, sizeof(W.ak), "client");
    assert_int_equal(harness_make_keys(W.ak, W.sk, sizeof(W.sk), keys_path, sizeof(keys_path)), 0);
    W.sd_port = harness_free_port();
    W.dead_port = harness_free_port(); /* nothing listens there */
    snprintf(cfg, sizeof(cfg),
             "http:\n  listen: 127.0.0.1:%u\nredis:\n  addr: 127.0.0.1:%u\n"
             "registry:\n  ttl: 5s\nauth:\n  keys_file: %s\n",
             (unsigned)W.sd_port, (unsigned)W.redis_port, keys_path);
    assert_int_equal(harness_write_file("sd.yaml", cfg, cfg_path, sizeof(cfg_path)), 0);
    harness_bin("service-discovery/rampart-sd", bin, sizeof(bin));
    char *argv[] = {bin, "-c", cfg_path, NULL};
    W.sd = harness_spawn("sd", argv, NULL);
    assert_non_null(W.sd);
    assert_int_equal(harness_wait_port(W.sd_port, 15000), 0);
    snprintf(W.addr_sd, sizeof(W.addr_sd), "127.0.0.1:%u", (unsigned)W.sd_port);
    snprintf(W.addr_dead, sizeof(W.addr_dead), "127.0.0.1:%u", (unsigned)W.dead_port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(W.sd);
    harness_stop(W.redis);
    return 0;
}

static sd_client_t *client(int cache_ttl_ms, bool with_keys)
{
    /* The dead address first: every call has to fail over. */
    const char *addrs[] = {W.addr_dead, W.addr_sd};
    sd_client_opts_t o = {.addrs = addrs,
                          .naddrs = 2,
                          .access_key = with_keys ? W.ak : NULL,
                          .secret_key = with_keys ? W.sk : NULL,
                          .renew_interval_ms = 400,
                          .timeout_ms = 1000,
                          .cache_ttl_ms = cache_ttl_ms};
    return sd_client_new(&o);
}

static void wait_registered(sd_client_t *c, size_t n)
{
    for (int i = 0; i < 200 && sd_client_registered(c) != n; i++)
        usleep(50 * 1000);
    assert_int_equal(sd_client_registered(c), n);
}

static int weight_of(sd_client_t *reader, uint16_t port)
{
    sd_instance_t out[16];
    size_t n = 0;
    if (sd_client_lookup(reader, "client-svc", 0, SD_PICK_WEIGHTED, out, 16, &n) < 0)
        return -100;
    for (size_t i = 0; i < n; i++)
        if (out[i].port == port)
            return out[i].weight;
    return -1;
}

static void test_client_lifecycle(void **state)
{
    (void)state;
    sd_client_t *c = client(-1, true);
    sd_client_t *reader = client(-1, false); /* uncached */
    assert_non_null(c);
    int a = sd_client_register(c, "client-svc", "10.7.0.1", 9001, 1, "{\"zone\":\"a\"}");
    int b = sd_client_register(c, "client-svc", "10.7.0.2", 9002, 5, NULL);
    int d = sd_client_register(c, "client-svc", "10.7.0.3", 9003, 9, NULL);
    assert_true(a >= 0 && b >= 0 && d >= 0);
    assert_int_equal(sd_client_register(c, "bad", "10.7.0.9", 9, 1, "[not an object]"), -EINVAL);
    assert_int_equal(sd_client_register(c, "bad", "10.7.0.9", 0, 1, NULL), -EINVAL);
    wait_registered(c, 3);

    sd_instance_t out[8];
    size_t n = 0;
    assert_int_equal(sd_client_lookup(reader, "client-svc", 0, SD_PICK_WEIGHTED, out, 8, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(sd_client_lookup(reader, "client-svc", 1, SD_PICK_LEAST, out, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].port, 9001);
    assert_string_equal(out[0].ip, "10.7.0.1");
    assert_int_equal(sd_client_lookup(reader, "nobody-here", 0, SD_PICK_WEIGHTED, out, 8, &n),
                     -ENOENT);
    assert_int_equal(sd_client_lookup(reader, "bad/name", 0, SD_PICK_WEIGHTED, out, 8, &n),
                     -EINVAL);

    /* A new weight travels with the next renewal. */
    assert_int_equal(sd_client_set_weight(c, d, 0), 0);
    assert_int_equal(sd_client_set_weight(c, 999, 0), -ENOENT);
    int w = -1;
    for (int i = 0; i < 60 && (w = weight_of(reader, 9003)) != 0; i++)
        usleep(100 * 1000);
    assert_int_equal(w, 0);

    /* Deregistering evicts at once. */
    assert_int_equal(sd_client_deregister(c, a), 0);
    assert_int_equal(weight_of(reader, 9001), -1);
    assert_int_equal(sd_client_deregister(c, a), -ENOENT);
    wait_registered(c, 2);

    /* Freeing evicts the rest. */
    sd_client_free(c);
    assert_int_equal(sd_client_lookup(reader, "client-svc", 0, SD_PICK_WEIGHTED, out, 8, &n),
                     -ENOENT);
    sd_client_free(reader);
}

static void test_cache_and_stale(void **state)
{
    (void)state;
    sd_client_t *c = client(-1, true);
    sd_client_register(c, "cached-svc", "10.7.1.1", 9100, 3, NULL);
    wait_registered(c, 1);
    sd_client_t *cached = client(60000, false);
    sd_instance_t out[4];
    size_t n = 0;
    assert_int_equal(sd_client_lookup(cached, "cached-svc", 0, SD_PICK_WEIGHTED, out, 4, &n), 0);
    assert_int_equal(n, 1);

    /* SD goes away: the cached client still answers; an uncached one cannot. */
    harness_stop(W.sd);
    W.sd = NULL;
    assert_int_equal(sd_client_lookup(cached, "cached-svc", 0, SD_PICK_WEIGHTED, out, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].port, 9100);
    sd_client_t *fresh = client(-1, false);
    assert_int_equal(sd_client_lookup(fresh, "cached-svc", 0, SD_PICK_WEIGHTED, out, 4, &n), -EIO);
    sd_client_free(fresh);
    sd_client_free(cached);
    sd_client_free(c); /* evictions fail: must still return */
}

int main(void)
{
    harness_init("sd_client");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_lifecycle),
        cmocka_unit_test(test_cache_and_stale),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
