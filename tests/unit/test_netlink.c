/* kernel/netlink.c: bounded netlink requests (review D1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"

#define DIRT 0xaa   /* what the buffer held before: padding must not keep it */
#define CANARY 0x5a /* just past the buffer: nothing may touch it */

/* A buffer of cap octets with a canary right after it. */
struct guarded {
    union {
        max_align_t align;
        unsigned char b[64];
    } buf;
    unsigned char canary[32];
};

static void guard(struct guarded *g)
{
    memset(g->buf.b, DIRT, sizeof(g->buf.b));
    memset(g->canary, CANARY, sizeof(g->canary));
}

static void assert_canary(const struct guarded *g)
{
    for (size_t i = 0; i < sizeof(g->canary); i++)
        assert_int_equal(g->canary[i], CANARY);
}

static void test_header_length(void **state)
{
    (void)state;
    struct guarded g;
    guard(&g);
    struct nl_req req;
    nl_req_init(&req, &g.buf, sizeof(g.buf.b), 0x13, NLM_F_DUMP);
    assert_false(req.failed);
    assert_int_equal(req.h->nlmsg_len, NLMSG_HDRLEN);
    assert_int_equal(req.h->nlmsg_type, 0x13);
    assert_int_equal(req.h->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
    assert_int_equal(req.h->nlmsg_seq, 0);
    assert_int_equal(req.h->nlmsg_pid, 0);

    /* a fixed header of odd length: copied, then padded with zeros to NLMSG_ALIGN */
    const unsigned char fixed[7] = {1, 2, 3, 4, 5, 6, 7};
    unsigned char *p = nl_put(&req, fixed, sizeof(fixed));
    assert_ptr_equal(p, NLMSG_DATA(req.h));
    assert_memory_equal(p, fixed, sizeof(fixed));
    assert_int_equal(p[7], 0);
    assert_int_equal(req.h->nlmsg_len, NLMSG_SPACE(sizeof(fixed)));
    assert_int_equal(req.h->nlmsg_len, NLMSG_HDRLEN + 8);
    assert_int_equal(g.buf.b[NLMSG_HDRLEN + 8], DIRT); /* nothing past what was appended */
    assert_canary(&g);
}

static void test_attrs_aligned(void **state)
{
    (void)state;
    struct guarded g;
    guard(&g);
    struct nl_req req;
    nl_req_init(&req, &g.buf, sizeof(g.buf.b), 0x10, 0);
    const uint32_t fixed = 0x01020304;
    nl_put(&req, &fixed, sizeof(fixed));
    const unsigned char five[5] = {0xf1, 0xf2, 0xf3, 0xf4, 0xf5};
    const uint64_t eight = 0x1122334455667788ull;
    unsigned char *a = nl_attr(&req, 5, five, sizeof(five));
    unsigned char *b = nl_attr(&req, 6, &eight, sizeof(eight));
    unsigned char *z = nl_attr(&req, 7, NULL, 3); /* to be filled by the caller */
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(z);

    /* the first attribute right after the aligned fixed header */
    const struct rtattr *r = (const struct rtattr *)((unsigned char *)NLMSG_DATA(req.h) + NLMSG_ALIGN(sizeof(fixed)));
    assert_ptr_equal(RTA_DATA(r), a);
    assert_int_equal(r->rta_type, 5);
    assert_int_equal(r->rta_len, RTA_LENGTH(sizeof(five))); /* unpadded, as the kernel expects */
    for (size_t i = sizeof(five); i < RTA_ALIGN(sizeof(five)); i++)
        assert_int_equal(a[i], 0); /* padding zeroed, not left dirty */
    /* the next one RTA_ALIGNed after it */
    assert_ptr_equal(b, a + RTA_SPACE(sizeof(five)));
    assert_int_equal(((uintptr_t)b - (uintptr_t)req.h) % RTA_ALIGNTO, 0);
    assert_memory_equal(b, &eight, sizeof(eight));
    assert_int_equal(z[0] | z[1] | z[2] | z[3], 0);

    size_t expect = NLMSG_SPACE(sizeof(fixed)) + RTA_SPACE(sizeof(five)) + RTA_SPACE(sizeof(eight)) + RTA_SPACE(3);
    assert_int_equal(req.h->nlmsg_len, expect);
    assert_int_equal(req.h->nlmsg_len % NLMSG_ALIGNTO, 0);

    /* and the kernel's own walk finds all three, in order */
    int left = (int)(req.h->nlmsg_len - NLMSG_SPACE(sizeof(fixed)));
    unsigned short want[] = {5, 6, 7};
    size_t n = 0;
    for (; RTA_OK(r, left); r = RTA_NEXT(r, left))
        assert_int_equal(r->rta_type, want[n++]);
    assert_int_equal(n, 3);
    assert_int_equal(left, 0);
    assert_int_equal(nl_req_check(&req, "test", NULL), 0);
    assert_canary(&g);
}

static void test_attr_too_big_fails(void **state)
{
    (void)state;
    struct guarded g;
    guard(&g);
    struct nl_req req;
    nl_req_init(&req, &g.buf, sizeof(g.buf.b), 0x10, 0);
    unsigned char fixed[16];
    memset(fixed, 1, sizeof(fixed));
    nl_put(&req, fixed, sizeof(fixed)); /* 32 of 64 used */
    unsigned char big[sizeof(g.buf.b)];
    memset(big, 0xbb, sizeof(big));

    /* 32 - 4 octets of payload fit exactly; 29 do not */
    assert_null(nl_attr(&req, 2, big, 29));
    assert_true(req.failed);
    assert_int_equal(req.h->nlmsg_len, 32); /* unchanged */
    for (size_t i = 32; i < sizeof(g.buf.b); i++)
        assert_int_equal(g.buf.b[i], DIRT); /* nothing written for it */
    assert_canary(&g);

    /* once failed, it stays failed: a later attribute that would fit is not added */
    assert_null(nl_attr(&req, 3, big, 1));
    assert_null(nl_put(&req, big, 1));
    assert_int_equal(req.h->nlmsg_len, 32);

    /* and it cannot be sent: the error names the message and what did not fit */
    struct oe_error err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(nl_req_check(&req, "add ESP SA 0x0000abcd to 192.0.2.9", &err), -1);
    assert_int_equal(err.code, OE_E_LIMIT);
    assert_string_equal(err.msg, "add ESP SA 0x0000abcd to 192.0.2.9: netlink request too long: "
                                 "attribute 2 of 29 octets does not fit in 64 (32 used)");
    assert_canary(&g);
}

static void test_attr_fits_exactly(void **state)
{
    (void)state;
    /* a heap buffer of exactly cap octets: ASan sees any write past it */
    size_t cap = 48;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    struct nl_req req;
    nl_req_init(&req, buf, cap, 0x10, 0);
    unsigned char payload[28];
    memset(payload, 0xcc, sizeof(payload));
    assert_non_null(nl_attr(&req, 1, payload, sizeof(payload)));
    assert_false(req.failed);
    assert_int_equal(req.h->nlmsg_len, cap);
    assert_null(nl_attr(&req, 1, NULL, 0)); /* not even an empty one more */
    assert_true(req.failed);
    free(buf);
}

static void test_fixed_header_too_big_fails(void **state)
{
    (void)state;
    struct guarded g;
    guard(&g);
    struct nl_req req;
    nl_req_init(&req, &g.buf, sizeof(g.buf.b), 0x10, 0);
    unsigned char fixed[64];
    memset(fixed, 1, sizeof(fixed));
    assert_null(nl_put(&req, fixed, sizeof(fixed)));
    assert_null(nl_put(&req, fixed, SIZE_MAX - 2)); /* no wrap-around in the room check */
    assert_true(req.failed);
    assert_int_equal(req.h->nlmsg_len, NLMSG_HDRLEN);
    assert_int_equal(g.buf.b[NLMSG_HDRLEN], DIRT);
    struct oe_error err;
    assert_int_equal(nl_req_check(&req, "install trap policy", &err), -1);
    assert_string_equal(err.msg, "install trap policy: netlink request too long: "
                                 "a 64-octet header does not fit in 64 (16 used)");
    assert_canary(&g);
}

static void test_tiny_buffer_writes_nothing(void **state)
{
    (void)state;
    struct guarded g;
    guard(&g);
    struct nl_req req;
    nl_req_init(&req, &g.buf, NLMSG_HDRLEN - 1, 0x10, 0);
    assert_true(req.failed);
    assert_null(nl_attr(&req, 1, NULL, 0));
    for (size_t i = 0; i < sizeof(g.buf.b); i++)
        assert_int_equal(g.buf.b[i], DIRT);
    struct oe_error err;
    assert_int_equal(nl_req_check(&req, "list policies", &err), -1);
    assert_non_null(strstr(err.msg, "list policies: netlink request too long"));
}

static void test_attr_longer_than_rta_len_fails(void **state)
{
    (void)state;
    /* rta_len is 16 bits: 65532 octets of payload cannot be said, however big the buffer */
    size_t cap = 1u << 17;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    struct nl_req req;
    nl_req_init(&req, buf, cap, 0x10, 0);
    assert_non_null(nl_attr(&req, 1, NULL, UINT16_MAX - RTA_LENGTH(0)));
    assert_null(nl_attr(&req, 2, NULL, UINT16_MAX - RTA_LENGTH(0) + 1));
    assert_true(req.failed);
    assert_int_equal(req.failed_type, 2);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_length),
        cmocka_unit_test(test_attrs_aligned),
        cmocka_unit_test(test_attr_too_big_fails),
        cmocka_unit_test(test_attr_fits_exactly),
        cmocka_unit_test(test_fixed_header_too_big_fails),
        cmocka_unit_test(test_tiny_buffer_writes_nothing),
        cmocka_unit_test(test_attr_longer_than_rta_len_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
