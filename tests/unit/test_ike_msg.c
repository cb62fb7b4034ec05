/* oe-agent/ike message codec: round trips and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "oe-agent/ike/ike_msg.h"

static struct wbuf sample(void)
{
    struct ike_builder mb = {0};
    struct ike_header h = {.spi_i = 0x0102030405060708ull,
                           .spi_r = 0x1112131415161718ull,
                           .exchange = IKE_SA_INIT,
                           .flags = IKE_FLAG_I,
                           .msgid = 7};
    ikeb_header(&mb, &h);
    struct ike_proposal p[2] = {{.num = 1, .protocol = IKE_PROTO_IKE, .nt = 3},
                                {.num = 2, .protocol = IKE_PROTO_ESP, .spi_size = 4, .spi = {1, 2, 3, 4}, .nt = 2}};
    p[0].t[0] = (struct ike_transform){IKE_TR_ENCR, 20, 256};
    p[0].t[1] = (struct ike_transform){IKE_TR_PRF, 5, 0};
    p[0].t[2] = (struct ike_transform){IKE_TR_DH, 19, 0};
    p[1].t[0] = (struct ike_transform){IKE_TR_ENCR, 20, 128};
    p[1].t[1] = (struct ike_transform){IKE_TR_ESN, 0, 0};
    ikeb_sa(&mb, p, 2);
    uint8_t ke[64], nonce[32];
    memset(ke, 0xaa, sizeof(ke));
    memset(nonce, 0xbb, sizeof(nonce));
    ikeb_ke(&mb, 19, ke, sizeof(ke));
    ikeb_nonce(&mb, nonce, sizeof(nonce));
    ikeb_notify(&mb, 0, NULL, 0, IKE_N_SIGNATURE_HASH_ALGORITHMS, (const uint8_t *)"\0\2\0\3", 4);
    uint8_t a4[4] = {192, 0, 2, 1};
    ikeb_id(&mb, IKE_PL_IDI, IKE_ID_IPV4, a4, 4);
    ikeb_auth(&mb, IKE_AUTH_NULL, nonce, 16);
    struct ike_ts ts = {.type = IKE_TS_IPV4, .eport = 65535};
    ts.start.family = ts.end.family = AF_INET;
    memcpy(ts.start.bytes, a4, 4);
    memcpy(ts.end.bytes, a4, 4);
    ikeb_ts(&mb, IKE_PL_TSI, &ts, 1);
    ikeb_delete(&mb, IKE_PROTO_ESP, 4, (const uint8_t *)"\1\2\3\4\5\6\7\10", 2);
    ikeb_finish(&mb);
    return mb.b;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct wbuf m = sample();
    struct ike_header h;
    struct ike_payloads pl;
    struct oe_error err;
    assert_int_equal(ike_parse_header(m.p, m.len, &h, &err), 0);
    assert_true(h.spi_i == 0x0102030405060708ull);
    assert_true(h.spi_r == 0x1112131415161718ull);
    assert_int_equal(h.exchange, IKE_SA_INIT);
    assert_int_equal(h.msgid, 7);
    assert_int_equal(h.next, IKE_PL_SA);
    assert_int_equal(ike_parse_payloads(h.next, m.p + IKE_HDR_LEN, m.len - IKE_HDR_LEN, IKE_HDR_LEN, &pl, &err), 0);
    assert_int_equal(pl.sa.n, 2);
    assert_int_equal(pl.sa.p[0].nt, 3);
    assert_int_equal(pl.sa.p[0].t[0].keylen, 256);
    assert_int_equal(pl.sa.p[1].spi_size, 4);
    assert_memory_equal(pl.sa.p[1].spi, "\1\2\3\4", 4);
    assert_int_equal(pl.ke_group, 19);
    assert_int_equal(pl.ke.len, 64);
    assert_int_equal(pl.nonce.len, 32);
    assert_non_null(ike_find_notify(&pl, IKE_N_SIGNATURE_HASH_ALGORITHMS));
    assert_int_equal(pl.idi.type, IKE_ID_IPV4);
    assert_int_equal(pl.idi.body.len, 8);
    assert_int_equal(pl.auth_method, IKE_AUTH_NULL);
    assert_int_equal(pl.ntsi, 1);
    assert_int_equal(pl.tsi[0].eport, 65535);
    assert_int_equal(pl.delete_spis.len, 8);
    wbuf_free(&m);
}

/* Every truncation of a valid message is refused, never read past. */
static void test_truncations(void **state)
{
    (void)state;
    struct wbuf m = sample();
    struct oe_error err;
    for (size_t cut = 0; cut < m.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, m.p, cut);
        struct ike_header h;
        if (ike_parse_header(copy, cut, &h, &err) == 0)
            fail_msg("header accepted at %zu octets", cut);
        if (cut > IKE_HDR_LEN) {
            struct ike_payloads pl;
            assert_int_equal(
                ike_parse_payloads(IKE_PL_SA, copy + IKE_HDR_LEN, cut - IKE_HDR_LEN, IKE_HDR_LEN, &pl, &err), -1);
        }
        free(copy);
    }
    wbuf_free(&m);
}

static void expect_payload_error(struct wbuf *m, size_t off, uint8_t value, const char *needle)
{
    uint8_t save = m->p[off];
    struct ike_payloads pl;
    struct oe_error err = {0};
    m->p[off] = value;
    int rc = ike_parse_payloads(IKE_PL_SA, m->p + IKE_HDR_LEN, m->len - IKE_HDR_LEN, IKE_HDR_LEN, &pl, &err);
    m->p[off] = save;
    if (rc == 0 || strstr(err.msg, needle) == NULL)
        fail_msg("byte %zu = %u: wanted \"%s\", got \"%s\"", off, value, needle, err.msg);
}

static void test_lying_lengths(void **state)
{
    (void)state;
    struct wbuf m = sample();
    /* the SA payload's length (offset 30-31) claims more than the message */
    expect_payload_error(&m, 30, 0xff, "SA at offset 28: length");
    /* the first proposal's length (offset 34-35) overruns its payload */
    expect_payload_error(&m, 34, 0x7f, "SA proposal at offset 32");
    /* a transform with a bad "last" marker (offset 40) */
    expect_payload_error(&m, 40, 0, "SA transform at offset 40");
    /* a payload length below the generic header */
    expect_payload_error(&m, 31, 2, "length");
    struct ike_header h;
    struct oe_error err;
    m.p[17] = 0x30; /* version 3.0 */
    assert_int_equal(ike_parse_header(m.p, m.len, &h, &err), -1);
    assert_non_null(strstr(err.msg, "major version 3"));
    m.p[17] = IKE_VERSION;
    m.p[27]++; /* header length one more than the datagram */
    assert_int_equal(ike_parse_header(m.p, m.len, &h, &err), -1);
    assert_non_null(strstr(err.msg, "length field"));
    wbuf_free(&m);
}

static void test_unknown_critical(void **state)
{
    (void)state;
    struct ike_builder mb = {0};
    size_t hdr = ikeb_begin(&mb, 99);
    wbuf_put(&mb.b, "xyz", 3);
    ikeb_end(&mb, hdr);
    mb.b.p[1] = 0x80; /* critical */
    struct ike_payloads pl;
    struct oe_error err;
    assert_int_equal(ike_parse_payloads(99, mb.b.p, mb.b.len, 0, &pl, &err), 0);
    assert_int_equal(pl.unsupported_critical, 99);
    mb.b.p[1] = 0; /* not critical: skipped silently */
    assert_int_equal(ike_parse_payloads(99, mb.b.p, mb.b.len, 0, &pl, &err), 0);
    assert_int_equal(pl.unsupported_critical, 0);
    wbuf_free(&mb.b);
}

static void test_bad_nonce_and_ts(void **state)
{
    (void)state;
    struct ike_builder mb = {0};
    uint8_t n[8] = {0};
    ikeb_nonce(&mb, n, sizeof(n));
    struct ike_payloads pl;
    struct oe_error err;
    assert_int_equal(ike_parse_payloads(IKE_PL_NONCE, mb.b.p, mb.b.len, 0, &pl, &err), -1);
    assert_non_null(strstr(err.msg, "need 16..256"));
    wbuf_free(&mb.b);
    memset(&mb, 0, sizeof(mb));
    struct ike_ts ts = {.type = 9};
    ikeb_ts(&mb, IKE_PL_TSI, &ts, 1);
    assert_int_equal(ike_parse_payloads(IKE_PL_TSI, mb.b.p, mb.b.len, 0, &pl, &err), -1);
    assert_non_null(strstr(err.msg, "TS at offset 0"));
    wbuf_free(&mb.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_lying_lengths),    cmocka_unit_test(test_unknown_critical),
        cmocka_unit_test(test_bad_nonce_and_ts),
    };
    return cmocka_run_group_tests_name("ike_msg", tests, NULL, NULL);
}
