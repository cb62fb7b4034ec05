/* The Configuration payload (RFC 7296 3.15): round trips and every malformed case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "oe-agent/ike/ike_msg.h"

/* A CP payload's body as given (CFG header and attributes), in its generic header. */
static struct wbuf cp_raw(const uint8_t *body, size_t len)
{
    struct ike_builder mb = {0};
    size_t hdr = ikeb_begin(&mb, IKE_PL_CP);
    wbuf_put(&mb.b, body, len);
    ikeb_end(&mb, hdr);
    return mb.b;
}

static int parse(const struct wbuf *m, struct ike_payloads *pl, struct oe_error *err)
{
    memset(err, 0, sizeof(*err));
    return ike_parse_payloads(IKE_PL_CP, m->p, m->len, 0, pl, err);
}

static void expect_refused(const uint8_t *body, size_t len, const char *needle)
{
    struct wbuf m = cp_raw(body, len);
    struct ike_payloads pl;
    struct oe_error err;
    int rc = parse(&m, &pl, &err);
    wbuf_free(&m);
    if (rc == 0 || strstr(err.msg, needle) == NULL)
        fail_msg("wanted \"%s\", got rc %d \"%s\"", needle, rc, err.msg);
}

static void test_request_round_trip(void **state)
{
    (void)state;
    struct ike_builder mb = {0};
    struct ike_cp cp = {.type = IKE_CFG_REQUEST, .ip4 = true, .ip6 = true};
    ikeb_cp(&mb, &cp);
    struct ike_payloads pl;
    struct oe_error err;
    assert_int_equal(parse(&mb.b, &pl, &err), 0);
    assert_true(pl.has_cp);
    assert_int_equal(pl.cp.type, IKE_CFG_REQUEST);
    assert_true(pl.cp.ip4 && pl.cp.ip6);
    assert_int_equal(pl.cp.addr4.family, 0); /* asked, none given */
    assert_int_equal(pl.cp.addr6.family, 0);
    assert_int_equal(pl.cp.nattrs, 2);
    assert_int_equal(mb.b.len, 4 + 4 + 4 + 4);
    wbuf_free(&mb.b);
}

static void test_reply_round_trip(void **state)
{
    (void)state;
    struct ike_builder mb = {0};
    struct ike_cp cp = {.type = IKE_CFG_REPLY, .ip4 = true, .ip6 = true, .prefix6 = 64};
    cp.addr4 = (struct oe_addr){.family = AF_INET, .bytes = {100, 64, 0, 7}};
    cp.addr6 = (struct oe_addr){.family = AF_INET6, .bytes = {0x20, 0x01, 0x0d, 0xb8, [15] = 9}};
    ikeb_cp(&mb, &cp);
    struct ike_payloads pl;
    struct oe_error err;
    assert_int_equal(parse(&mb.b, &pl, &err), 0);
    assert_int_equal(pl.cp.type, IKE_CFG_REPLY);
    assert_true(oe_addr_eq(&pl.cp.addr4, &cp.addr4));
    assert_true(oe_addr_eq(&pl.cp.addr6, &cp.addr6));
    assert_int_equal(pl.cp.prefix6, 64);
    /* only IPv4 asked: no IPv6 attribute at all */
    wbuf_free(&mb.b);
    memset(&mb, 0, sizeof(mb));
    cp.ip6 = false;
    ikeb_cp(&mb, &cp);
    assert_int_equal(parse(&mb.b, &pl, &err), 0);
    assert_true(pl.cp.ip4);
    assert_false(pl.cp.ip6);
    assert_int_equal(pl.cp.nattrs, 1);
    wbuf_free(&mb.b);
}

static void test_other_attributes(void **state)
{
    (void)state;
    /* libreswan's CAT request: INTERNAL_IP4_ADDRESS, INTERNAL_IP4_DNS (3), INTERNAL_DNS_DOMAIN
     * (25) and a private-use one with the reserved bit set: all taken, only the address kept */
    const uint8_t body[] = {IKE_CFG_REQUEST, 0, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 25, 0, 0, 0xc0, 0x01, 0, 2, 'h', 'i'};
    struct wbuf m = cp_raw(body, sizeof(body));
    struct ike_payloads pl;
    struct oe_error err;
    assert_int_equal(parse(&m, &pl, &err), 0);
    assert_true(pl.cp.ip4);
    assert_false(pl.cp.ip6);
    assert_int_equal(pl.cp.nattrs, 4);
    wbuf_free(&m);
    /* two addresses: the first is kept */
    const uint8_t two[] = {IKE_CFG_REPLY, 0, 0, 0, 0, 1, 0, 4, 10, 0, 0, 1, 0, 1, 0, 4, 10, 0, 0, 2};
    m = cp_raw(two, sizeof(two));
    assert_int_equal(parse(&m, &pl, &err), 0);
    assert_int_equal(pl.cp.addr4.bytes[3], 1);
    wbuf_free(&m);
    /* the reserved bit on an address attribute is ignored (RFC 7296 3.15.1) */
    const uint8_t r[] = {IKE_CFG_REQUEST, 0, 0, 0, 0x80, 1, 0, 0};
    m = cp_raw(r, sizeof(r));
    assert_int_equal(parse(&m, &pl, &err), 0);
    assert_true(pl.cp.ip4);
    wbuf_free(&m);
    /* no attributes at all */
    m = cp_raw(r, 4);
    assert_int_equal(parse(&m, &pl, &err), 0);
    assert_false(pl.cp.ip4);
    assert_int_equal(pl.cp.nattrs, 0);
    wbuf_free(&m);
}

static void test_malformed(void **state)
{
    (void)state;
    const uint8_t short_hdr[] = {IKE_CFG_REQUEST, 0, 0};
    expect_refused(short_hdr, sizeof(short_hdr), "CP at offset 0: 3 octets, need 4");
    expect_refused(short_hdr, 0, "CP at offset 0: 0 octets, need 4");
    const uint8_t type0[] = {0, 0, 0, 0};
    expect_refused(type0, sizeof(type0), "CFG type 0");
    const uint8_t type5[] = {5, 0, 0, 0};
    expect_refused(type5, sizeof(type5), "CFG type 5");
    const uint8_t attr_hdr[] = {IKE_CFG_REQUEST, 0, 0, 0, 0, 1, 0};
    expect_refused(attr_hdr, sizeof(attr_hdr), "CP attribute at offset 8: length 0 but 0 octets left");
    const uint8_t attr_one[] = {IKE_CFG_REQUEST, 0, 0, 0, 0};
    expect_refused(attr_one, sizeof(attr_one), "CP attribute at offset 8");
    const uint8_t overrun[] = {IKE_CFG_REPLY, 0, 0, 0, 0, 1, 0, 5, 10, 0, 0, 1};
    expect_refused(overrun, sizeof(overrun), "CP attribute at offset 8: length 5 but 4 octets left");
    const uint8_t overrun_unknown[] = {IKE_CFG_REPLY, 0, 0, 0, 0, 3, 0xff, 0xff, 10};
    expect_refused(overrun_unknown, sizeof(overrun_unknown), "length 65535 but 1 octets left");
    const uint8_t ip4_3[] = {IKE_CFG_REPLY, 0, 0, 0, 0, 1, 0, 3, 10, 0, 0};
    expect_refused(ip4_3, sizeof(ip4_3), "INTERNAL_IP4_ADDRESS of 3 octets, need 0 or 4");
    const uint8_t ip4_5[] = {IKE_CFG_REPLY, 0, 0, 0, 0, 1, 0, 5, 10, 0, 0, 1, 0};
    expect_refused(ip4_5, sizeof(ip4_5), "INTERNAL_IP4_ADDRESS of 5 octets");
    uint8_t ip6_16[4 + 4 + 16] = {IKE_CFG_REPLY, 0, 0, 0, 0, 8, 0, 16};
    expect_refused(ip6_16, sizeof(ip6_16), "INTERNAL_IP6_ADDRESS of 16 octets, need 0 or 17");
    uint8_t ip6_pfx[4 + 4 + 17] = {IKE_CFG_REPLY, 0, 0, 0, 0, 8, 0, 17};
    ip6_pfx[sizeof(ip6_pfx) - 1] = 129;
    expect_refused(ip6_pfx, sizeof(ip6_pfx), "INTERNAL_IP6_ADDRESS prefix length 129");
    ip6_pfx[sizeof(ip6_pfx) - 1] = 128; /* the positive control */
    struct wbuf m = cp_raw(ip6_pfx, sizeof(ip6_pfx));
    struct ike_payloads pl;
    struct oe_error err;
    assert_int_equal(parse(&m, &pl, &err), 0);
    assert_int_equal(pl.cp.prefix6, 128);
    wbuf_free(&m);
    /* the attribute after a bad one is never reached; a bad one after a good one still fails */
    const uint8_t late[] = {IKE_CFG_REPLY, 0, 0, 0, 0, 1, 0, 4, 10, 0, 0, 1, 0, 1, 0, 2, 0, 0};
    expect_refused(late, sizeof(late), "CP attribute at offset 16: INTERNAL_IP4_ADDRESS of 2 octets");
}

static void test_second_cp_and_truncations(void **state)
{
    (void)state;
    struct ike_builder mb = {0};
    struct ike_cp cp = {.type = IKE_CFG_REQUEST, .ip4 = true};
    ikeb_cp(&mb, &cp);
    ikeb_cp(&mb, &cp);
    struct ike_payloads pl;
    struct oe_error err;
    assert_int_equal(parse(&mb.b, &pl, &err), -1);
    assert_non_null(strstr(err.msg, "CP at offset 12: a second Configuration payload"));
    wbuf_free(&mb.b);
    /* every cut of a reply is refused, none read past the end */
    memset(&mb, 0, sizeof(mb));
    cp = (struct ike_cp){.type = IKE_CFG_REPLY, .ip4 = true, .ip6 = true, .prefix6 = 64};
    cp.addr4 = (struct oe_addr){.family = AF_INET, .bytes = {100, 64, 0, 7}};
    cp.addr6 = (struct oe_addr){.family = AF_INET6, .bytes = {0x20, 0x01, 0x0d, 0xb8}};
    ikeb_cp(&mb, &cp);
    for (size_t cut = 0; cut < mb.b.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, mb.b.p, cut);
        if (ike_parse_payloads(IKE_PL_CP, copy, cut, 0, &pl, &err) == 0)
            fail_msg("a reply cut at %zu octets was accepted", cut);
        /* the payload length fixed up to the cut: the attributes themselves are checked */
        if (cut >= 4) {
            copy[2] = (uint8_t)(cut >> 8);
            copy[3] = (uint8_t)cut;
            bool whole_attrs = cut == 8 || cut == 16; /* after the CFG header, after the IPv4 attribute */
            int rc = ike_parse_payloads(IKE_PL_CP, copy, cut, 0, &pl, &err);
            if ((rc == 0) != whole_attrs)
                fail_msg("a reply cut at %zu octets (length fixed): rc %d \"%s\"", cut, rc, err.msg);
        }
        free(copy);
    }
    wbuf_free(&mb.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_other_attributes),          cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_second_cp_and_truncations),
    };
    return cmocka_run_group_tests_name("ike_cp", tests, NULL, NULL);
}
