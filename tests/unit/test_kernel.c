/* kernel/: priorities, names, and the fake's kernel-like rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kernel/kernel.h"

static struct kernel_policy pol(const char *src, const char *dst, enum kernel_origin origin)
{
    struct kernel_policy p;
    struct oe_error err;
    memset(&p, 0, sizeof(p));
    assert_int_equal(oe_prefix_parse(src, &p.src, &err), 0);
    assert_int_equal(oe_prefix_parse(dst, &p.dst, &err), 0);
    p.origin = origin;
    return p;
}

static void test_priorities(void **state)
{
    (void)state;
    struct kernel_policy trap24 = pol("0.0.0.0/0", "192.0.2.0/24", KERNEL_ORIGIN_GROUP);
    struct kernel_policy trap16 = pol("0.0.0.0/0", "192.0.0.0/16", KERNEL_ORIGIN_GROUP);
    struct kernel_policy host = pol("0.0.0.0/0", "192.0.2.7/32", KERNEL_ORIGIN_GROUP);
    struct kernel_policy shunt = pol("192.0.2.1/32", "192.0.2.7/32", KERNEL_ORIGIN_PEER);
    struct kernel_policy exempt = pol("0.0.0.0/0", "0.0.0.0/0", KERNEL_ORIGIN_EXEMPT);
    struct kernel_policy tcp24 = trap24, port24 = trap24;
    tcp24.proto = 6;
    port24.proto = 6;
    port24.dport = 22;
    assert_true(kernel_priority(&trap24) < kernel_priority(&trap16));
    assert_true(kernel_priority(&host) < kernel_priority(&trap24));
    assert_true(kernel_priority(&shunt) < kernel_priority(&host)); /* per peer wins a tie */
    assert_true(kernel_priority(&exempt) < kernel_priority(&shunt));
    assert_true(kernel_priority(&tcp24) < kernel_priority(&trap24));
    assert_true(kernel_priority(&port24) < kernel_priority(&tcp24));
    struct kernel_policy all4 = pol("0.0.0.0/0", "0.0.0.0/0", KERNEL_ORIGIN_GROUP);
    assert_true(kernel_priority(&trap16) < kernel_priority(&all4));
    struct kernel_policy v6 = pol("::/0", "2001:db8::/32", KERNEL_ORIGIN_GROUP);
    struct kernel_policy v6all = pol("::/0", "::/0", KERNEL_ORIGIN_GROUP);
    assert_true(kernel_priority(&v6) < kernel_priority(&v6all));
    /* inbound: the remote side is the source */
    struct kernel_policy in24 = pol("192.0.2.0/24", "0.0.0.0/0", KERNEL_ORIGIN_GROUP);
    in24.dir = KERNEL_DIR_IN;
    assert_int_equal(kernel_priority(&in24), kernel_priority(&trap24));
    struct kernel_policy *all[] = {&trap24, &trap16, &host, &shunt, &exempt, &tcp24, &port24, &v6, &v6all};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        uint32_t p = kernel_priority(all[i]);
        assert_true(kernel_priority_ours(p));
        assert_int_equal(kernel_priority_origin(p), all[i]->origin);
    }
    assert_false(kernel_priority_ours(0));
    assert_false(kernel_priority_ours(KERNEL_PRIO_BASE + KERNEL_PRIO_BAND));
}

static void test_names(void **state)
{
    (void)state;
    struct kernel_policy p = pol("0.0.0.0/0", "192.0.2.0/24", KERNEL_ORIGIN_GROUP);
    char buf[128];
    assert_string_equal(kernel_selector_str(&p, buf, sizeof(buf)), "0.0.0.0/0 -> 192.0.2.0/24");
    p.proto = 6;
    p.dport = 443;
    assert_string_equal(kernel_selector_str(&p, buf, sizeof(buf)), "0.0.0.0/0 -> 192.0.2.0/24 tcp 0 443");
    assert_string_equal(kernel_action_name(KERNEL_HOLD), "hold");
}

static void test_fake_replaces_by_selector(void **state)
{
    (void)state;
    struct kernel *k = kernel_fake_new();
    struct oe_error err;
    struct kernel_policy p = pol("192.0.2.1/32", "192.0.2.7/32", KERNEL_ORIGIN_PEER);
    p.action = KERNEL_HOLD;
    assert_int_equal(kernel_install(k, &p, &err), 0);
    p.action = KERNEL_PASS;
    p.lifetime = 10;
    assert_int_equal(kernel_install(k, &p, &err), 0);
    struct kernel_policy *v;
    size_t n;
    assert_int_equal(kernel_list(k, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].action, KERNEL_PASS);
    assert_int_equal(v[0].expires_at, kernel_fake_now(k) + 10);
    free(v);
    assert_int_equal(kernel_remove(k, &p, &err), 0);
    assert_int_equal(kernel_remove(k, &p, &err), -1);
    assert_non_null(strstr(err.msg, "No such file"));
    kernel_close(k);
}

static void take_event(const struct kernel_event *ev, void *arg)
{
    struct kernel_event *v = arg;
    size_t i = 0;
    while (v[i].spi)
        i++;
    v[i] = *ev;
}

/* An SA expire event names the SA as the kernel does, by SPI and destination (issue 9
 * finding 6): two SAs with one SPI, one toward us and one toward a peer, expire apart. */
static void test_fake_sa_expire_names_spi_and_dst(void **state)
{
    (void)state;
    struct kernel *k = kernel_fake_new();
    struct oe_error err;
    struct kernel_sa in, out;
    memset(&in, 0, sizeof(in));
    oe_addr_parse("192.0.2.2", &in.src);
    oe_addr_parse("192.0.2.1", &in.dst);
    in.spi = 0xc0ffee01;
    in.soft_seconds = 5;
    in.hard_seconds = 10;
    out = in;
    out.src = in.dst;
    oe_addr_parse("192.0.2.66", &out.dst);
    out.soft_seconds = 20;
    out.hard_seconds = 30;
    assert_int_equal(kernel_sa_add(k, &in, &err), 0);
    assert_int_equal(kernel_sa_add(k, &out, &err), 0);
    struct kernel_event ev[8];
    memset(ev, 0, sizeof(ev));
    kernel_fake_advance(k, 5);
    kernel_fake_advance(k, 1); /* a soft expire is told once */
    assert_int_equal(kernel_process(k, take_event, ev, &err), 1);
    assert_int_equal(ev[0].type, KERNEL_EV_SA_EXPIRED);
    assert_int_equal(ev[0].spi, 0xc0ffee01);
    assert_true(oe_addr_eq(&ev[0].dst, &in.dst));
    assert_true(oe_addr_eq(&ev[0].src, &in.src));
    assert_false(ev[0].hard);
    memset(ev, 0, sizeof(ev));
    kernel_fake_advance(k, 4);
    assert_int_equal(kernel_process(k, take_event, ev, &err), 1);
    assert_true(ev[0].hard);
    assert_true(oe_addr_eq(&ev[0].dst, &in.dst));
    /* the hard expire dropped that SA, the other with the same SPI stays */
    assert_int_equal(kernel_sa_del(k, in.spi, &in.dst, &err), -1);
    struct kernel_sa_stats st;
    assert_int_equal(kernel_sa_stats(k, out.spi, &out.dst, &st, &err), 0);
    memset(ev, 0, sizeof(ev));
    kernel_fake_advance(k, 10);
    assert_int_equal(kernel_process(k, take_event, ev, &err), 1);
    assert_true(oe_addr_eq(&ev[0].dst, &out.dst));
    assert_false(ev[0].hard);
    kernel_close(k);
}

/* A moved SA sends no sequence number the old one may have sent meanwhile (GCM nonces), nor wraps. */
static void test_moved_sa_sequence_gap(void **state)
{
    (void)state;
    assert_int_equal(kernel_sa_moved_oseq(0), KERNEL_SA_MOVE_SEQ_GAP);
    assert_int_equal(kernel_sa_moved_oseq(0x4b), 0x4b + KERNEL_SA_MOVE_SEQ_GAP);
    assert_int_equal(kernel_sa_moved_oseq(UINT32_MAX - KERNEL_SA_MOVE_SEQ_GAP), UINT32_MAX);
    assert_int_equal(kernel_sa_moved_oseq(UINT32_MAX - KERNEL_SA_MOVE_SEQ_GAP + 1), UINT32_MAX);
    assert_int_equal(kernel_sa_moved_oseq(UINT32_MAX), UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priorities),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_fake_replaces_by_selector),
        cmocka_unit_test(test_fake_sa_expire_names_spi_and_dst),
        cmocka_unit_test(test_moved_sa_sequence_gap),
    };
    return cmocka_run_group_tests_name("kernel", tests, NULL, NULL);
}
