/* dnskeys/: the TSIG key-file parser and the RFC 2136 update planner that ipsec publish uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnskeys/dnskeys.h"

#define SECRET "rUg8MNyS4AyN6uhj9c3cWZ0HRJZ6ofNBcaYhbuPb8Ko="

/* ---- key files ---- */

static void test_key_file_bind_format(void **state)
{
    (void)state;
    /* as tsig-keygen writes it, with the comments BIND allows */
    const char text[] = "# made by tsig-keygen\n"
                        "key \"Publish-Key\" {\n"
                        "\talgorithm hmac-sha256; // the default\n"
                        "\t/* 32 octets */ secret \"" SECRET "\";\n"
                        "};\n";
    struct dnskeys_tsig_key k;
    struct oe_error err = {0};
    assert_int_equal(dnskeys_tsig_key_parse(text, strlen(text), "k.key", &k, &err), 0);
    assert_string_equal(k.name, "publish-key.");
    assert_string_equal(k.algorithm, "hmac-sha256.");
    assert_string_equal(k.secret, SECRET);
    assert_int_equal(k.secret_len, 32);

    const char bare[] = "key knot.key. { secret \"" SECRET "\"; algorithm HMAC-SHA512; };";
    assert_int_equal(dnskeys_tsig_key_parse(bare, strlen(bare), "k.key", &k, &err), 0);
    assert_string_equal(k.name, "knot.key.");
    assert_string_equal(k.algorithm, "hmac-sha512.");
    dnskeys_tsig_key_wipe(&k);
    assert_int_equal(k.secret[0], 0);
}

static void expect_key_error(const char *text, size_t len, const char *needle)
{
    struct dnskeys_tsig_key k;
    struct oe_error err = {0};
    if (dnskeys_tsig_key_parse(text, len, "k.key", &k, &err) == 0 || strstr(err.msg, needle) == NULL)
        fail_msg("for %.40s: wanted \"%s\", got \"%s\"", text, needle, err.msg);
    assert_int_equal(err.code, OE_E_INVALID);
    assert_int_equal(k.secret[0], 0); /* nothing of a half-read secret is left */
}

static void test_key_file_errors(void **state)
{
    (void)state;
#define E(text, needle) expect_key_error(text, sizeof(text) - 1, needle)
    E("", "k.key:1: expected \"key\", found the end of the file");
    E("key \"k\" {\n algorithm hmac-md5;\n secret \"" SECRET "\";\n};\n",
      "k.key:2: algorithm \"hmac-md5\" is not one of");
    E("key \"k\" {\n algorithm hmac-sha256\n secret \"" SECRET "\";\n};\n",
      "k.key:3: expected \";\", found \"secret\"");
    E("key \"k\" {\n algorithm hmac-sha256;\n secret \"!!!!\";\n};\n", "k.key:3: the secret is not base64");
    E("key \"k\" {\n algorithm hmac-sha256;\n secret \"" SECRET "\";\n", "the key's \"{\" is not closed");
    E("key \"k\" {\n algorithm hmac-sha256;\n};\n", "k.key:3: the key has no secret");
    E("key \"k\" {\n secret \"" SECRET "\";\n};\n", "the key has no algorithm");
    E("key \"k\" {\n algorithm hmac-sha256;\n algorithm hmac-sha1;\n", "k.key:3: second \"algorithm\"");
    E("key \"k\" {\n primaries { 192.0.2.1; };\n", "k.key:2: unknown statement \"primaries\"");
    E("key \"k\" { algorithm hmac-sha256; secret \"" SECRET "\"; };\nkey \"j\" {};\n", "k.key:2: more after the key");
    E("key \"k\" { algorithm hmac-sha256; secret \"" SECRET "\"; }", "expected \";\", found the end of the file");
    E("key \"k\n\" {", "k.key:1: quoted string not closed on its line");
    E("key \"a\\\"b\" {", "backslash");
    E("/* never closed\n\nkey", "k.key:3: comment not closed");
    E("key \"k\" { algorithm hmac-sha256; secret \"\"; };", "the secret is empty");
    E("key \"k\" { algorithm hmac-sha256; secret " SECRET "; };", "expected the secret as a quoted base64 string");
    E("key \"a..b\" {", "not a domain name");
    E("key \"k\" \x01", "k.key:1: unexpected byte 0x01");
    /* a NUL inside the text: bounded by len, not by the NUL */
    expect_key_error("key \"k\" {\0 algorithm", 19, "unexpected byte 0x00");
#undef E
    /* a secret one octet over the limit (129 octets: 172 base64 characters) */
    char big[512], b64[256];
    memset(b64, 'A', 172);
    b64[172] = '\0';
    snprintf(big, sizeof(big), "key \"k\" { algorithm hmac-sha256; secret \"%s\"; };", b64);
    expect_key_error(big, strlen(big), "longer than 128 octets");
    /* a 64-character word fits, a 600-character one is refused before anything reads past it */
    char word[700] = "key ";
    memset(word + 4, 'a', 600);
    word[604] = '\0';
    expect_key_error(word, strlen(word), "word longer than 511 characters");
    /* the file size bound */
    size_t huge = DNSKEYS_TSIG_FILE_MAX + 1;
    char *h = calloc(1, huge);
    memset(h, ' ', huge);
    expect_key_error(h, huge, "larger than 65536 octets");
    free(h);
}

/* ---- the update planner ---- */

static struct dnskeys_pubkey make_key(unsigned seed)
{
    uint8_t n[256], e[] = {1, 0, 1};
    for (size_t i = 0; i < sizeof(n); i++)
        n[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 3));
    n[0] |= 0x80;
    n[sizeof(n) - 1] |= 1;
    struct dnskeys_pubkey k;
    struct oe_error err;
    assert_int_equal(dnskeys_key_from_parts(e, 3, n, sizeof(n), &k, &err), 0);
    return k;
}

/* The rdata of a record of type with key, naming gateway 192.0.2.1 (TXT) or none (IPSECKEY). */
static struct dnskeys_rr rr_of(enum dnskeys_rrtype type, const struct dnskeys_pubkey *key, uint32_t ttl)
{
    struct dnskeys_record r = {.type = type, .precedence = 10, .key = *key};
    if (type == DNSKEYS_TXT) {
        r.gw_type = DNSKEYS_GW_IPV4;
        assert_int_equal(oe_addr_parse("192.0.2.1", &r.gw_addr), 0);
    }
    struct dnskeys_rr out = {.ttl = ttl};
    struct oe_error err;
    assert_int_equal(dnskeys_record_to_rdata(&r, &out.rdata, &out.len, &err), 0);
    return out;
}

static struct dnskeys_rr txt_other(void)
{
    static const uint8_t t[] = "\x09owner=ops";
    struct dnskeys_rr out = {.rdata = malloc(10), .len = 10, .ttl = 300};
    memcpy(out.rdata, t, 10);
    return out;
}

static char *plan(enum dnskeys_rrtype type, const struct dnskeys_rr *have, size_t n, const struct dnskeys_rr *want,
                  const struct dnskeys_pubkey *key, size_t *changes, size_t *count)
{
    struct oe_error err;
    struct dnskeys_update *u = dnskeys_update_new("2.0.192.in-addr.arpa.", &err);
    assert_non_null(u);
    assert_int_equal(dnskeys_update_plan(u, "7.2.0.192.in-addr.arpa.", type, 3600, have, n, want ? want->rdata : NULL,
                                         want ? want->len : 0, key, changes, &err),
                     0);
    *count = dnskeys_update_count(u);
    char *text = dnskeys_update_to_text(u);
    dnskeys_update_free(u);
    return text;
}

/* A rollover publishes a set: the current key and the next side by side, then the next alone. */
static void test_plan_rollover_set(void **state)
{
    (void)state;
    struct dnskeys_pubkey k1 = make_key(1), k2 = make_key(2);
    struct dnskeys_rr r1 = rr_of(DNSKEYS_IPSECKEY, &k1, 3600), r2 = rr_of(DNSKEYS_IPSECKEY, &k2, 3600);
    struct dnskeys_rr both[2] = {r1, r2};
    struct oe_error err;
    size_t changes;
    struct {
        const struct dnskeys_rr *have;
        size_t nhave;
        const struct dnskeys_rr *want;
        size_t nwant, changes;
        const char *needle;
    } steps[] = {
        {&r1, 1, both, 2, 1, "update add 7.2.0.192.in-addr.arpa. 3600 IN IPSECKEY"}, /* the next key added */
        {both, 2, both, 2, 0, NULL},                                                 /* again: nothing */
        {both, 2, &r2, 1, 1, "update delete 7.2.0.192.in-addr.arpa. IN IPSECKEY"},   /* the old one goes */
    };
    for (size_t i = 0; i < 3; i++) {
        struct dnskeys_update *u = dnskeys_update_new("2.0.192.in-addr.arpa.", &err);
        assert_int_equal(dnskeys_update_plan_set(u, "7.2.0.192.in-addr.arpa.", DNSKEYS_IPSECKEY, 3600, steps[i].have,
                                                 steps[i].nhave, steps[i].want, steps[i].nwant, &changes, &err),
                         0);
        assert_int_equal(changes, steps[i].changes);
        char *t = dnskeys_update_to_text(u);
        if (steps[i].needle && !strstr(t, steps[i].needle))
            fail_msg("step %zu: no \"%s\" in:\n%s", i, steps[i].needle, t);
        if (steps[i].changes == 0)
            assert_string_equal(t, "zone 2.0.192.in-addr.arpa.\nsend\n");
        free(t);
        dnskeys_update_free(u);
    }
    free(r1.rdata);
    free(r2.rdata);
    dnskeys_key_free(&k1);
    dnskeys_key_free(&k2);
}

static void test_plan_publish(void **state)
{
    (void)state;
    struct dnskeys_pubkey k1 = make_key(1), k2 = make_key(2);
    struct dnskeys_rr want = rr_of(DNSKEYS_IPSECKEY, &k1, 3600), old = rr_of(DNSKEYS_IPSECKEY, &k2, 3600);
    struct dnskeys_rr same_short_ttl = rr_of(DNSKEYS_IPSECKEY, &k1, 60);
    size_t changes, count;

    /* nothing there: absent as a prerequisite, then one add */
    char *t = plan(DNSKEYS_IPSECKEY, NULL, 0, &want, &k1, &changes, &count);
    assert_int_equal(changes, 1);
    assert_int_equal(count, 1);
    assert_non_null(strstr(t, "zone 2.0.192.in-addr.arpa.\nprereq nxrrset 7.2.0.192.in-addr.arpa. IN IPSECKEY\n"
                              "update add 7.2.0.192.in-addr.arpa. 3600 IN IPSECKEY 10 0 2 . AwEAA"));
    assert_non_null(strstr(t, "\nsend\n"));
    free(t);

    /* already there: nothing at all, not even a prerequisite */
    t = plan(DNSKEYS_IPSECKEY, &want, 1, &want, &k1, &changes, &count);
    assert_int_equal(changes, 0);
    assert_int_equal(count, 0);
    assert_string_equal(t, "zone 2.0.192.in-addr.arpa.\nsend\n");
    free(t);

    /* another key: the RRset as seen is the prerequisite, the old record goes, ours comes */
    t = plan(DNSKEYS_IPSECKEY, &old, 1, &want, &k1, &changes, &count);
    assert_int_equal(changes, 2);
    assert_int_equal(count, 2);
    assert_non_null(strstr(t, "prereq yxrrset 7.2.0.192.in-addr.arpa. IN IPSECKEY 10 0 2 . "));
    assert_non_null(strstr(t, "update delete 7.2.0.192.in-addr.arpa. IN IPSECKEY 10 0 2 . "));
    assert_true(strstr(t, "update delete") < strstr(t, "update add")); /* RFC 2136 3.4.2: in order */
    free(t);

    /* ours and an old one: only the old one goes */
    struct dnskeys_rr both[] = {old, want};
    t = plan(DNSKEYS_IPSECKEY, both, 2, &want, &k1, &changes, &count);
    assert_int_equal(changes, 1);
    assert_null(strstr(t, "update add"));
    free(t);

    /* the same record with another TTL is a change */
    t = plan(DNSKEYS_IPSECKEY, &same_short_ttl, 1, &want, &k1, &changes, &count);
    assert_int_equal(changes, 2);
    free(t);

    free(want.rdata);
    free(old.rdata);
    free(same_short_ttl.rdata);
    dnskeys_key_free(&k1);
    dnskeys_key_free(&k2);
}

static void test_plan_txt_keeps_other_txt(void **state)
{
    (void)state;
    struct dnskeys_pubkey k1 = make_key(1), k2 = make_key(2);
    struct dnskeys_rr want = rr_of(DNSKEYS_TXT, &k1, 3600), old = rr_of(DNSKEYS_TXT, &k2, 3600), other = txt_other();
    size_t changes, count;
    struct dnskeys_rr have[] = {other, old};
    char *t = plan(DNSKEYS_TXT, have, 2, &want, &k1, &changes, &count);
    assert_int_equal(changes, 2);
    assert_non_null(strstr(t, "prereq yxrrset 7.2.0.192.in-addr.arpa. IN TXT \"owner=ops\""));
    assert_null(strstr(t, "update delete 7.2.0.192.in-addr.arpa. IN TXT \"owner=ops\""));
    assert_non_null(strstr(t, "update delete 7.2.0.192.in-addr.arpa. IN TXT \"X-IPsec-Server(10)=192.0.2.1 "));
    free(t);

    /* only someone else's TXT: it stays, ours is added, the prerequisite holds it */
    t = plan(DNSKEYS_TXT, &other, 1, &want, &k1, &changes, &count);
    assert_int_equal(changes, 1);
    assert_null(strstr(t, "update delete"));
    free(t);
    free(want.rdata);
    free(old.rdata);
    free(other.rdata);
    dnskeys_key_free(&k1);
    dnskeys_key_free(&k2);
}

static void test_plan_remove(void **state)
{
    (void)state;
    struct dnskeys_pubkey k1 = make_key(1), k2 = make_key(2);
    struct dnskeys_rr mine = rr_of(DNSKEYS_IPSECKEY, &k1, 3600), theirs = rr_of(DNSKEYS_IPSECKEY, &k2, 3600);
    struct dnskeys_rr txt = rr_of(DNSKEYS_TXT, &k1, 3600), other = txt_other();
    size_t changes, count;
    struct dnskeys_rr have[] = {theirs, mine};
    char *t = plan(DNSKEYS_IPSECKEY, have, 2, NULL, &k1, &changes, &count);
    assert_int_equal(changes, 1);
    assert_int_equal(count, 1);
    assert_null(strstr(t, "update add"));
    free(t);
    /* nothing with this key: nothing to do */
    t = plan(DNSKEYS_IPSECKEY, &theirs, 1, NULL, &k1, &changes, &count);
    assert_int_equal(changes, 0);
    free(t);
    t = plan(DNSKEYS_IPSECKEY, NULL, 0, NULL, &k1, &changes, &count);
    assert_int_equal(changes, 0);
    free(t);
    /* TXT: ours goes, someone else's stays */
    struct dnskeys_rr txts[] = {other, txt};
    t = plan(DNSKEYS_TXT, txts, 2, NULL, &k1, &changes, &count);
    assert_int_equal(changes, 1);
    assert_non_null(strstr(t, "update delete 7.2.0.192.in-addr.arpa. IN TXT \"X-IPsec-Server"));
    free(t);
    free(mine.rdata);
    free(theirs.rdata);
    free(txt.rdata);
    free(other.rdata);
    dnskeys_key_free(&k1);
    dnskeys_key_free(&k2);
}

/* The wire form: opcode UPDATE, no RD, the sections counted as RFC 2136 2.3 names them, a TSIG that verifies. */
static void test_update_wire_signed(void **state)
{
    (void)state;
    struct dnskeys_pubkey k1 = make_key(1);
    struct dnskeys_rr want = rr_of(DNSKEYS_IPSECKEY, &k1, 3600);
    struct oe_error err;
    struct dnskeys_update *u = dnskeys_update_new("2.0.192.in-addr.arpa", &err);
    size_t changes;
    assert_int_equal(dnskeys_update_plan(u, "7.2.0.192.in-addr.arpa.", DNSKEYS_IPSECKEY, 3600, NULL, 0, want.rdata,
                                         want.len, &k1, &changes, &err),
                     0);
    const char text[] = "key \"publish-key\" { algorithm hmac-sha256; secret \"" SECRET "\"; };";
    struct dnskeys_tsig_key key;
    assert_int_equal(dnskeys_tsig_key_parse(text, strlen(text), "k", &key, &err), 0);
    uint8_t *wire, *plain;
    size_t len, plen;
    assert_int_equal(dnskeys_update_to_wire(u, NULL, &plain, &plen, &err), 0);
    assert_int_equal(dnskeys_update_to_wire(u, &key, &wire, &len, &err), 0);
    assert_true(plen <= dnskeys_update_octets(u)); /* the estimate bounds the real size */
    assert_true(len > plen);
    assert_int_equal((wire[2] >> 3) & 0xf, LDNS_PACKET_UPDATE);
    assert_int_equal(wire[2] & 1, 0);                /* RD */
    assert_int_equal((wire[4] << 8) | wire[5], 1);   /* ZOCOUNT */
    assert_int_equal((wire[6] << 8) | wire[7], 1);   /* PRCOUNT */
    assert_int_equal((wire[8] << 8) | wire[9], 1);   /* UPCOUNT */
    assert_int_equal((wire[10] << 8) | wire[11], 1); /* ADCOUNT: the TSIG */
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
    assert_non_null(ldns_pkt_tsig(p));
    assert_true(ldns_pkt_tsig_verify(p, wire, len, key.name, key.secret, NULL));
    assert_false(ldns_pkt_tsig_verify(p, wire, len, key.name, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL));
    ldns_pkt_free(p);
    free(wire);
    free(plain);
    free(want.rdata);
    dnskeys_update_free(u);
    dnskeys_tsig_key_wipe(&key);
    dnskeys_key_free(&k1);
}

static void test_rcode_names(void **state)
{
    (void)state;
    char buf[16];
    assert_string_equal(dnskeys_rcode_name(5, buf), "REFUSED");
    assert_string_equal(dnskeys_rcode_name(9, buf), "NOTAUTH");
    assert_string_equal(dnskeys_rcode_name(8, buf), "NXRRSET");
    assert_string_equal(dnskeys_rcode_name(16, buf), "BADSIG");
    assert_string_equal(dnskeys_rcode_name(17, buf), "BADKEY");
    assert_string_equal(dnskeys_rcode_name(18, buf), "BADTIME");
    assert_string_equal(dnskeys_rcode_name(12, buf), "RCODE12");
    assert_string_equal(dnskeys_rcode_name(4095, buf), "RCODE4095");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_file_bind_format),
        cmocka_unit_test(test_key_file_errors),
        cmocka_unit_test(test_plan_publish),
        cmocka_unit_test(test_plan_rollover_set),
        cmocka_unit_test(test_plan_txt_keeps_other_txt),
        cmocka_unit_test(test_plan_remove),
        cmocka_unit_test(test_update_wire_signed),
        cmocka_unit_test(test_rcode_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
