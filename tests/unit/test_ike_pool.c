/* The address pool (address-pool =): leases, exhaustion, reuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "oe-agent/ike/ike_internal.h"

static void init(struct ike_pool *p, const char *cidr)
{
    struct oe_prefix pfx;
    struct oe_error err;
    assert_int_equal(oe_prefix_parse(cidr, &pfx, &err), 0);
    assert_int_equal(ike_pool_init(p, &pfx, &err), 0);
}

static void expect_lease(struct ike_pool *p, const char *want)
{
    struct oe_addr a, w;
    struct oe_error err;
    char s[OE_ADDR_STRLEN];
    if (ike_pool_lease(p, &a, &err) != 0)
        fail_msg("wanted %s, got: %s", want, err.msg);
    assert_int_equal(oe_addr_parse(want, &w), 0);
    if (!oe_addr_eq(&a, &w))
        fail_msg("wanted %s, got %s", want, oe_addr_str(&a, s));
}

static void expect_exhausted(struct ike_pool *p, const char *needle)
{
    struct oe_addr a;
    struct oe_error err;
    assert_int_equal(ike_pool_lease(p, &a, &err), -1);
    assert_int_equal(err.code, OE_E_LIMIT);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("wanted \"%s\", got \"%s\"", needle, err.msg);
}

static void release(struct ike_pool *p, const char *addr)
{
    struct oe_addr a;
    assert_int_equal(oe_addr_parse(addr, &a), 0);
    ike_pool_release(p, &a);
}

static void test_exhaustion(void **state)
{
    (void)state;
    struct ike_pool p;
    init(&p, "100.64.0.0/30"); /* .1 and .2: not the network, not the broadcast */
    expect_lease(&p, "100.64.0.1");
    expect_lease(&p, "100.64.0.2");
    expect_exhausted(&p, "address-pool 100.64.0.0/30 is exhausted: all 2 of its addresses are leased");
    assert_int_equal(p.in_use, 2);
    ike_pool_free(&p);
    init(&p, "198.51.100.9/32"); /* one address: that one */
    expect_lease(&p, "198.51.100.9");
    expect_exhausted(&p, "all 1 of its");
    ike_pool_free(&p);
    init(&p, "198.51.100.8/31"); /* RFC 3021: both */
    expect_lease(&p, "198.51.100.8");
    expect_lease(&p, "198.51.100.9");
    expect_exhausted(&p, "all 2 of its");
    ike_pool_free(&p);
}

static void test_reuse(void **state)
{
    (void)state;
    struct ike_pool p;
    init(&p, "100.64.0.0/30");
    expect_lease(&p, "100.64.0.1");
    expect_lease(&p, "100.64.0.2");
    release(&p, "100.64.0.1");
    assert_int_equal(p.in_use, 1);
    expect_lease(&p, "100.64.0.1"); /* given back: leased again */
    expect_exhausted(&p, "exhausted");
    /* addresses it never leased, or outside it, change nothing */
    ike_pool_free(&p);
    init(&p, "100.64.0.0/24");
    expect_lease(&p, "100.64.0.1");
    release(&p, "100.64.0.7");
    release(&p, "100.64.0.0");
    release(&p, "192.0.2.1");
    release(&p, "2001:db8::1");
    assert_int_equal(p.in_use, 1);
    expect_lease(&p, "100.64.0.2"); /* the fresh one next: nothing came back */
    release(&p, "100.64.0.2");
    release(&p, "100.64.0.1");
    assert_int_equal(p.in_use, 0);
    expect_lease(&p, "100.64.0.1");
    expect_lease(&p, "100.64.0.2");
    expect_lease(&p, "100.64.0.3");
    /* a churn of a thousand leases in a /24 never runs it out */
    for (int i = 0; i < 1000; i++) {
        struct oe_addr a;
        struct oe_error err;
        assert_int_equal(ike_pool_lease(&p, &a, &err), 0);
        assert_true(ike_pool_contains(&p, &a));
        ike_pool_release(&p, &a);
    }
    assert_int_equal(p.in_use, 3);
    ike_pool_free(&p);
}

static void test_ipv6(void **state)
{
    (void)state;
    struct ike_pool p;
    init(&p, "2001:db8:cafe::/64"); /* not the subnet-router anycast ::0 */
    expect_lease(&p, "2001:db8:cafe::1");
    expect_lease(&p, "2001:db8:cafe::2");
    release(&p, "2001:db8:cafe::1");
    expect_lease(&p, "2001:db8:cafe::1");
    ike_pool_free(&p);
    init(&p, "2001:db8::5/128");
    expect_lease(&p, "2001:db8::5");
    expect_exhausted(&p, "address-pool 2001:db8::5/128 is exhausted");
    ike_pool_free(&p);
    /* none set: the error says so */
    struct oe_addr a;
    struct oe_error err;
    assert_int_equal(ike_pool_lease(&p, &a, &err), -1);
    assert_non_null(strstr(err.msg, "no address-pool is set"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exhaustion),
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_ipv6),
    };
    return cmocka_run_group_tests_name("ike_pool", tests, NULL, NULL);
}
