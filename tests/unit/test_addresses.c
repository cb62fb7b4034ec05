/*
 * Issue 14: the host's addresses. The rtnetlink decoder on hand-built
 * messages, and the agent following addresses through the fake kernel:
 * no cap on how many, `listen` as a filter, one that goes is let go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "oe-agent/agent_internal.h"
#include "oe-agent/log.h"

/* An RTM_NEWADDR/DELADDR as the kernel sends it: ifaddrmsg, then IFA_ADDRESS and IFA_LOCAL when given. */
struct addr_msg {
    union {
        max_align_t align;
        unsigned char b[256];
    } buf;
};

static struct nlmsghdr *addr_msg(struct addr_msg *m, uint16_t type, int family, uint8_t scope, const char *address,
                                 const char *local)
{
    memset(m, 0, sizeof(*m));
    struct nlmsghdr *h = (struct nlmsghdr *)m->buf.b;
    h->nlmsg_type = type;
    h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    struct ifaddrmsg *ifa = NLMSG_DATA(h);
    ifa->ifa_family = (uint8_t)family;
    ifa->ifa_scope = scope;
    ifa->ifa_index = 7;
    const char *v[2] = {address, local};
    for (int i = 0; i < 2; i++) {
        if (v[i] == NULL)
            continue;
        size_t alen = family == AF_INET ? 4 : 16;
        struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
        rta->rta_type = i == 0 ? IFA_ADDRESS : IFA_LOCAL;
        rta->rta_len = (unsigned short)RTA_LENGTH(alen);
        assert_int_equal(inet_pton(family, v[i], RTA_DATA(rta)), 1);
        h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(rta->rta_len);
    }
    return h;
}

static void expect_addr(const struct kernel_event *ev, const char *want)
{
    char s[OE_ADDR_STRLEN];
    assert_string_equal(oe_addr_str(&ev->src, s), want);
}

static void test_decode(void **state)
{
    (void)state;
    struct addr_msg m;
    struct kernel_event ev;
    assert_true(
        kernel_addr_decode(addr_msg(&m, RTM_NEWADDR, AF_INET, RT_SCOPE_UNIVERSE, "192.0.2.7", "192.0.2.7"), &ev));
    assert_int_equal(ev.type, KERNEL_EV_ADDR_NEW);
    assert_int_equal(ev.ifindex, 7);
    expect_addr(&ev, "192.0.2.7");
    /* point to point: IFA_ADDRESS is the far end, IFA_LOCAL ours */
    assert_true(
        kernel_addr_decode(addr_msg(&m, RTM_DELADDR, AF_INET, RT_SCOPE_UNIVERSE, "198.51.100.1", "192.0.2.8"), &ev));
    assert_int_equal(ev.type, KERNEL_EV_ADDR_DEL);
    expect_addr(&ev, "192.0.2.8");
    /* IPv6 sends IFA_ADDRESS alone */
    assert_true(kernel_addr_decode(addr_msg(&m, RTM_NEWADDR, AF_INET6, RT_SCOPE_UNIVERSE, "2001:db8::7", NULL), &ev));
    expect_addr(&ev, "2001:db8::7");
}

static void test_decode_refuses(void **state)
{
    (void)state;
    struct addr_msg m;
    struct kernel_event ev;
    /* loopback and link-local never carry OE */
    assert_false(kernel_addr_decode(addr_msg(&m, RTM_NEWADDR, AF_INET, RT_SCOPE_HOST, "127.0.0.1", "127.0.0.1"), &ev));
    assert_false(kernel_addr_decode(addr_msg(&m, RTM_NEWADDR, AF_INET6, RT_SCOPE_LINK, "fe80::1", NULL), &ev));
    /* no address at all; another message type; a header cut short */
    assert_false(kernel_addr_decode(addr_msg(&m, RTM_NEWADDR, AF_INET, RT_SCOPE_UNIVERSE, NULL, NULL), &ev));
    assert_false(kernel_addr_decode(addr_msg(&m, RTM_NEWLINK, AF_INET, RT_SCOPE_UNIVERSE, "192.0.2.7", NULL), &ev));
    struct nlmsghdr *h = addr_msg(&m, RTM_NEWADDR, AF_INET, RT_SCOPE_UNIVERSE, "192.0.2.7", NULL);
    h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg) - 1);
    assert_false(kernel_addr_decode(h, &ev));
    /* an attribute of the wrong length is not read as an address */
    h = addr_msg(&m, RTM_NEWADDR, AF_INET, RT_SCOPE_UNIVERSE, "192.0.2.7", NULL);
    struct rtattr *rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(struct ifaddrmsg))));
    rta->rta_len = (unsigned short)RTA_LENGTH(3);
    assert_false(kernel_addr_decode(h, &ev));
    /* an attribute that claims more than the message holds ends the walk */
    h = addr_msg(&m, RTM_NEWADDR, AF_INET, RT_SCOPE_UNIVERSE, "192.0.2.7", NULL);
    rta = (struct rtattr *)((char *)h + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(struct ifaddrmsg))));
    rta->rta_len = 200;
    assert_false(kernel_addr_decode(h, &ev));
}

struct fixture {
    struct oe_config cfg;
    struct kernel *k;
    struct agent *a;
    struct oe_buf log;
};

static struct oe_addr addr(const char *s)
{
    struct oe_addr a;
    assert_int_equal(oe_addr_parse(s, &a), 0);
    return a;
}

static void host_address(struct fixture *f, const char *s, bool present)
{
    struct oe_addr a = addr(s);
    assert_int_equal(kernel_fake_address(f->k, &a, present), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    oe_config_defaults(&f->cfg);
    f->cfg.ike = false; /* the test gives the agent an IKE core and sockets on free ports */
    f->k = kernel_fake_new();
    f->a = agent_new(&f->cfg, f->k);
    oe_log_capture(&f->log);
    *state = f;
    return 0;
}

/* What agent_oe_start does, with sockets on free ports instead of 500. */
static void start(struct fixture *f)
{
    struct agent *a = f->a;
    struct oe_error err;
    struct ike_config ic;
    ike_config_defaults(&ic);
    a->ike = ike_core_new(&ic, &err);
    assert_non_null(a->ike);
    struct ike_io_hooks hooks;
    agent_oe_hooks(a, &hooks);
    a->io = ike_io_new(a->ike, f->k, NULL, 0, 0, &hooks, &err);
    assert_non_null(a->io);
    assert_int_equal(agent_addresses_start(a, &err), 0);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    agent_free(f->a);
    kernel_close(f->k);
    oe_log_capture(NULL);
    oe_buf_free(&f->log);
    free(f);
    return 0;
}

static void events(struct fixture *f)
{
    struct oe_error err;
    assert_true(kernel_process(f->k, agent_kernel_event, f->a, &err) >= 0);
}

static bool logged(const struct fixture *f, const char *needle)
{
    return f->log.p && strstr(f->log.p, needle);
}

static void test_no_cap_on_addresses(void **state)
{
    struct fixture *f = *state;
    char s[32];
    for (int i = 1; i <= 40; i++) {
        snprintf(s, sizeof(s), "192.0.2.%d", i);
        host_address(f, s, true);
    }
    host_address(f, "2001:db8::1", true);
    start(f);
    assert_int_equal(f->a->nlocal, 41);
    assert_true(logged(f, "IKEv2 listening on 192.0.2.1, 192.0.2.2, "));
    assert_true(logged(f, "192.0.2.40, 2001:db8::1 port 500"));
    /* each has its sockets */
    for (int i = 1; i <= 40; i++) {
        snprintf(s, sizeof(s), "192.0.2.%d", i);
        struct oe_addr a = addr(s);
        assert_true(agent_is_local(f->a, &a));
    }
}

static void test_follows_addresses(void **state)
{
    struct fixture *f = *state;
    host_address(f, "192.0.2.1", true);
    start(f);
    assert_int_equal(f->a->nlocal, 1);
    host_address(f, "192.0.2.9", true);
    host_address(f, "2001:db8::9", true);
    events(f);
    assert_int_equal(f->a->nlocal, 3);
    assert_true(logged(f, "IKEv2 listening on 192.0.2.9 port 500: address added"));
    assert_true(logged(f, "IKEv2 listening on 2001:db8::9 port 500: address added"));
    host_address(f, "192.0.2.9", false);
    events(f);
    assert_int_equal(f->a->nlocal, 2);
    struct oe_addr gone = addr("192.0.2.9");
    assert_false(agent_is_local(f->a, &gone));
    assert_true(logged(f, "IKEv2 no longer on 192.0.2.9: address removed; 0 IKE SAs on it deleted"));
    /* and it may come back */
    host_address(f, "192.0.2.9", true);
    events(f);
    assert_true(agent_is_local(f->a, &gone));
}

static void test_listen_filters(void **state)
{
    struct fixture *f = *state;
    struct oe_error err;
    assert_int_equal(oe_config_set(&f->cfg, "listen", "192.0.2.5, 2001:db8::5", &err), 0);
    host_address(f, "192.0.2.1", true);
    start(f);
    assert_int_equal(f->a->nlocal, 0);
    assert_true(logged(f, "listen: 192.0.2.5 is not on this host yet; IKE on it starts when it comes"));
    host_address(f, "192.0.2.4", true);
    host_address(f, "192.0.2.5", true);
    events(f);
    assert_int_equal(f->a->nlocal, 1);
    struct oe_addr five = addr("192.0.2.5");
    assert_true(agent_is_local(f->a, &five));
}

static void lose(const struct kernel_event *ev, void *arg)
{
    (void)ev;
    (void)arg;
}

static void test_lost_events_list_again(void **state)
{
    struct fixture *f = *state;
    host_address(f, "192.0.2.1", true);
    host_address(f, "192.0.2.2", true);
    start(f);
    /* changes whose events are lost, then the kernel says so */
    struct kernel_event lost = {.type = KERNEL_EV_ADDR_LOST};
    host_address(f, "192.0.2.3", true);
    host_address(f, "192.0.2.1", false);
    struct oe_error err;
    assert_true(kernel_process(f->k, lose, NULL, &err) >= 0); /* as a full socket buffer would */
    agent_kernel_event(&lost, f->a);
    assert_int_equal(f->a->nlocal, 2);
    struct oe_addr one = addr("192.0.2.1"), three = addr("192.0.2.3");
    assert_false(agent_is_local(f->a, &one));
    assert_true(agent_is_local(f->a, &three));
    assert_true(logged(f, "address events were lost: listing the host's 2 addresses again"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_refuses),
        cmocka_unit_test_setup_teardown(test_no_cap_on_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follows_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_events_list_again, setup, teardown),
    };
    return cmocka_run_group_tests_name("addresses", tests, NULL, NULL);
}
