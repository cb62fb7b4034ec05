/* dnskeys/: RFC 3110 keys, records, reverse names, combining answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnskeys/dnskeys.h"

static const uint8_t e65537[] = {0x01, 0x00, 0x01};

/* A modulus-shaped number: top bit and low bit set. */
static void modulus(uint8_t *n, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        n[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 3));
    n[0] |= 0x80;
    n[len - 1] |= 1;
}

static struct dnskeys_pubkey make_key(size_t bytes, unsigned seed)
{
    uint8_t n[1024];
    struct dnskeys_pubkey k;
    struct oe_error err;
    modulus(n, bytes, seed);
    assert_int_equal(dnskeys_key_from_parts(e65537, 3, n, bytes, &k, &err), 0);
    return k;
}

static void expect_key_error(const uint8_t *buf, size_t len, const char *needle)
{
    struct dnskeys_pubkey k;
    struct oe_error err = {0};
    if (dnskeys_key_decode(buf, len, DNSKEYS_MIN_BITS, &k, &err) == 0 || !strstr(err.msg, needle))
        fail_msg("wanted \"%s\", got \"%s\"", needle, err.msg);
}

static void test_reverse_names(void **state)
{
    (void)state;
    struct oe_addr a;
    char name[DNSKEYS_NAME_MAX];
    oe_addr_parse("192.0.2.7", &a);
    dnskeys_reverse_name(&a, name);
    assert_string_equal(name, "7.2.0.192.in-addr.arpa.");
    oe_addr_parse("2001:db8::1:7", &a);
    dnskeys_reverse_name(&a, name);
    assert_string_equal(name, "7.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.");
    oe_addr_parse("0.0.0.0", &a);
    dnskeys_reverse_name(&a, name);
    assert_string_equal(name, "0.0.0.0.in-addr.arpa.");
}

static void test_key_round_trip(void **state)
{
    (void)state;
    struct dnskeys_pubkey k = make_key(256, 1), k2, k3;
    struct oe_error err;
    assert_int_equal(k.bits, 2048);
    assert_int_equal(k.len, 1 + 3 + 256);
    assert_int_equal(k.rfc3110[0], 3);
    char *b64 = dnskeys_key_to_text(&k, false), *fs = dnskeys_key_to_text(&k, true);
    assert_int_equal(strncmp(b64, "AwEAA", 5), 0);
    assert_int_equal(strncmp(fs, "0sAwEAA", 7), 0);
    assert_int_equal(dnskeys_key_from_text(fs, DNSKEYS_MIN_BITS, &k2, &err), 0);
    assert_true(dnskeys_key_eq(&k, &k2));
    /* blanks (a key wrapped in a zone file or split TXT strings) are ignored */
    char spaced[2048];
    snprintf(spaced, sizeof(spaced), "%.20s \t%.30s\n%s", b64, b64 + 20, b64 + 50);
    assert_int_equal(dnskeys_key_from_text(spaced, DNSKEYS_MIN_BITS, &k3, &err), 0);
    assert_true(dnskeys_key_eq(&k, &k3));
    const uint8_t *e, *n;
    size_t elen, nlen;
    dnskeys_key_parts(&k, &e, &elen, &n, &nlen);
    assert_int_equal(elen, 3);
    assert_int_equal(nlen, 256);
    assert_memory_equal(e, e65537, 3);
    char id[16];
    dnskeys_key_id(&k, id);
    assert_int_equal(strlen(id), 9);
    free(b64);
    free(fs);
    dnskeys_key_free(&k);
    dnskeys_key_free(&k2);
    dnskeys_key_free(&k3);
}

static void test_key_long_exponent_form(void **state)
{
    (void)state;
    /* RFC 3110: an exponent over 255 octets uses 0 and a 2-octet length */
    uint8_t e[300], n[512];
    struct dnskeys_pubkey k, k2;
    struct oe_error err;
    memset(e, 0x11, sizeof(e));
    e[299] = 0x13;
    modulus(n, sizeof(n), 3);
    assert_int_equal(dnskeys_key_from_parts(e, sizeof(e), n, sizeof(n), &k, &err), 0);
    assert_int_equal(k.rfc3110[0], 0);
    assert_int_equal(k.rfc3110[1] << 8 | k.rfc3110[2], 300);
    assert_int_equal(k.bits, 4096);
    assert_int_equal(dnskeys_key_decode(k.rfc3110, k.len, 2048, &k2, &err), 0);
    dnskeys_key_free(&k);
    dnskeys_key_free(&k2);
}

static void test_key_errors(void **state)
{
    (void)state;
    uint8_t buf[600];
    modulus(buf + 4, 256, 2);
    memcpy(buf, "\x03\x01\x00\x01", 4);
    expect_key_error(buf, 0, "empty");
    expect_key_error((const uint8_t *)"\x00\x01", 2, "truncated at offset 1");
    expect_key_error((const uint8_t *)"\x00\x00\x00\x05", 4, "exponent length 0");
    expect_key_error(buf, 4, "leaves no modulus");
    expect_key_error((const uint8_t *)"\x09\x01\x00", 3, "leaves no modulus");
    uint8_t lz[260];
    memcpy(lz, buf, 260);
    lz[1] = 0;
    expect_key_error(lz, 260, "leading zero octet in the exponent");
    memcpy(lz, buf, 260);
    lz[4] = 0;
    expect_key_error(lz, 260, "leading zero octet in the modulus");
    memcpy(lz, buf, 260);
    lz[3] = 0x02;
    expect_key_error(lz, 260, "exponent is even");
    memcpy(lz, buf, 260);
    lz[0] = 1;
    lz[1] = 1;
    /* [1][01] then a 257-octet "modulus" starting 00: leading zero; build e=1 properly */
    uint8_t one[258];
    one[0] = 1;
    one[1] = 1;
    modulus(one + 2, 256, 4);
    expect_key_error(one, 258, "exponent is one");
    expect_key_error(buf, 4 + 128, "modulus of 1024 bits is shorter than the 2048 required");
    memcpy(lz, buf, 260);
    lz[259] &= 0xfe;
    expect_key_error(lz, 260, "modulus is even");
    struct dnskeys_pubkey k;
    struct oe_error err;
    assert_int_equal(dnskeys_key_from_text("0sAwEAA!!", 2048, &k, &err), -1);
    assert_non_null(strstr(err.msg, "not valid base64"));
    assert_int_equal(dnskeys_key_from_text("0x0301", 2048, &k, &err), -1);
    assert_non_null(strstr(err.msg, "hex"));
    assert_int_equal(dnskeys_key_from_text("", 2048, &k, &err), -1);
    /* a short key is fine when the caller allows it */
    buf[4 + 127] |= 1;
    assert_int_equal(dnskeys_key_decode(buf, 4 + 128, 1024, &k, &err), 0);
    dnskeys_key_free(&k);
}

/* rdata builders for the record tests */
static size_t ipseckey_rdata(uint8_t *out, unsigned prec, unsigned gwtype, unsigned alg, const void *gw, size_t gwlen,
                             const struct dnskeys_pubkey *k)
{
    size_t n = 0;
    out[n++] = (uint8_t)prec;
    out[n++] = (uint8_t)gwtype;
    out[n++] = (uint8_t)alg;
    memcpy(out + n, gw, gwlen);
    n += gwlen;
    if (k) {
        memcpy(out + n, k->rfc3110, k->len);
        n += k->len;
    }
    return n;
}

static void test_ipseckey(void **state)
{
    (void)state;
    struct dnskeys_pubkey k = make_key(256, 5);
    uint8_t rd[1200];
    struct dnskeys_record r;
    struct oe_error err;
    char s[OE_ADDR_STRLEN];
    size_t n = ipseckey_rdata(rd, 10, 1, 2, "\xc0\x00\x02\x07", 4, &k);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), 0);
    assert_true(r.usable);
    assert_int_equal(r.precedence, 10);
    assert_int_equal(r.gw_type, DNSKEYS_GW_IPV4);
    assert_string_equal(oe_addr_str(&r.gw_addr, s), "192.0.2.7");
    assert_true(dnskeys_key_eq(&r.key, &k));
    dnskeys_record_free(&r);
    n = ipseckey_rdata(rd, 1, 2, 2, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07", 16, &k);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), 0);
    assert_string_equal(oe_addr_str(&r.gw_addr, s), "2001:db8::7");
    dnskeys_record_free(&r);
    n = ipseckey_rdata(rd, 1, 3, 2,
                       "\x02gw\x07"
                       "example\x03"
                       "com\x00",
                       16, &k);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), 0);
    assert_string_equal(r.gw_name, "gw.example.com.");
    assert_true(r.usable);
    dnskeys_record_free(&r);
    n = ipseckey_rdata(rd, 1, 0, 2, "", 0, &k);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), 0);
    assert_int_equal(r.gw_type, DNSKEYS_GW_NONE);
    dnskeys_record_free(&r);
    /* other algorithms are parsed and reported, not misread */
    n = ipseckey_rdata(rd, 1, 0, 3, "", 0, &k);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), 0);
    assert_false(r.usable);
    assert_string_equal(r.why, "algorithm 3 is not supported (only 2, RSA)");
    n = ipseckey_rdata(rd, 1, 0, 0, "", 0, NULL);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), 0);
    assert_false(r.usable);
    n = ipseckey_rdata(rd, 1, 0, 2, "", 0, NULL);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), 0);
    assert_string_equal(r.why, "no public key in the record");
    /* malformed */
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, 2, 2048, &r, &err), -1);
    assert_non_null(strstr(err.msg, "need at least 3"));
    n = ipseckey_rdata(rd, 1, 4, 2, "", 0, &k);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), -1);
    assert_non_null(strstr(err.msg, "gateway type 4 at offset 1"));
    n = ipseckey_rdata(rd, 1, 1, 2, "\xc0\x00", 2, NULL);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), -1);
    assert_non_null(strstr(err.msg, "only 2 left"));
    n = ipseckey_rdata(rd, 1, 3, 2, "\x02gw\xc0\x0c", 5, &k);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), -1);
    assert_non_null(strstr(err.msg, "compressed"));
    n = ipseckey_rdata(rd, 1, 3, 2, "\x09gw", 3, NULL);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), -1);
    assert_non_null(strstr(err.msg, "runs past"));
    n = ipseckey_rdata(rd, 1, 3, 2, "\x02gw", 3, NULL);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), -1);
    assert_non_null(strstr(err.msg, "truncated"));
    /* a key that is bad inside a well-formed record: unusable, with the reason */
    n = ipseckey_rdata(rd, 1, 0, 2, "", 0, &k);
    rd[n - 1] &= 0xfe;
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, 2048, &r, &err), 0);
    assert_false(r.usable);
    assert_string_equal(r.why, "RSA key: modulus is even");
    dnskeys_key_free(&k);
}

static size_t txt_rdata(uint8_t *out, const char *const *strings)
{
    size_t n = 0;
    for (; *strings; strings++) {
        size_t l = strlen(*strings);
        out[n++] = (uint8_t)l;
        memcpy(out + n, *strings, l);
        n += l;
    }
    return n;
}

/*
 * Finding 12: keys with a public exponent under 65537 (FreeS/WAN's e = 3,
 * "0sAQ...") are refused wherever they come from: RFC 3110 bytes, text,
 * an IPSECKEY record. 65537 and larger odd exponents are taken.
 */
static void test_dnskey_e3_refused(void **state)
{
    (void)state;
    uint8_t buf[2 + 256], rd[1200];
    struct dnskeys_pubkey k;
    struct dnskeys_record r;
    struct oe_error err;
    buf[0] = 1;
    buf[1] = 3;
    modulus(buf + 2, 256, 7);
    expect_key_error(buf, sizeof(buf), "exponent 3 is below 65537");
    char *text = dnskeys_key_to_text(&(struct dnskeys_pubkey){.rfc3110 = buf, .len = sizeof(buf)}, true);
    assert_int_equal(strncmp(text, "0sAQ", 4), 0); /* 01 03: one octet of exponent, 3 */
    assert_int_equal(dnskeys_key_from_text(text, DNSKEYS_MIN_BITS, &k, &err), -1);
    assert_non_null(strstr(err.msg, "exponent 3 is below 65537"));
    free(text);
    /* from DNS: well-formed, so the record is kept but not usable, and says why */
    size_t n = ipseckey_rdata(rd, 10, 0, 2, "", 0, &(struct dnskeys_pubkey){.rfc3110 = buf, .len = sizeof(buf)});
    assert_int_equal(dnskeys_record_parse(DNSKEYS_IPSECKEY, rd, n, DNSKEYS_MIN_BITS, &r, &err), 0);
    assert_false(r.usable);
    assert_non_null(strstr(r.why, "exponent 3 is below 65537"));
    dnskeys_record_free(&r);
    /* the edges: 65535 refused, 65537 and 65539 taken */
    uint8_t e3[4 + 256];
    memcpy(e3, "\x02\xff\xff", 3);
    modulus(e3 + 3, 256, 8);
    expect_key_error(e3, 3 + 256, "exponent 65535 is below 65537");
    modulus(e3 + 4, 256, 8);
    memcpy(e3, "\x03\x01\x00\x01", 4);
    assert_int_equal(dnskeys_key_decode(e3, 4 + 256, DNSKEYS_MIN_BITS, &k, &err), 0);
    dnskeys_key_free(&k);
    memcpy(e3, "\x03\x01\x00\x03", 4);
    assert_int_equal(dnskeys_key_decode(e3, 4 + 256, DNSKEYS_MIN_BITS, &k, &err), 0);
    dnskeys_key_free(&k);
}

static void test_txt(void **state)
{
    (void)state;
    struct dnskeys_pubkey k = make_key(256, 6);
    char *b64 = dnskeys_key_to_text(&k, false);
    char one[600], head[64], part1[256], part2[256];
    snprintf(one, sizeof(one), "X-IPsec-Server(10)=192.0.2.8 %.200s", b64);
    snprintf(head, sizeof(head), "X-IPsec-Server(7)=192.0.2.8");
    snprintf(part1, sizeof(part1), "%.200s", b64);
    snprintf(part2, sizeof(part2), "%s", b64 + 200);
    uint8_t rd[1200];
    struct dnskeys_record r;
    struct oe_error err;
    /* the key split over three strings, gateway alone in the first */
    const char *split[] = {head, part1, part2, NULL};
    size_t n = txt_rdata(rd, split);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_TXT, rd, n, 2048, &r, &err), 0);
    assert_true(r.usable);
    assert_int_equal(r.precedence, 7);
    assert_true(dnskeys_key_eq(&r.key, &k));
    dnskeys_record_free(&r);
    /* FreeS/WAN's own split: a space at the end of the first string, "0s" key */
    char fs[300];
    snprintf(fs, sizeof(fs), "x-ipsec-server(3)=gw.example.com 0s%.150s", b64);
    const char *split2[] = {fs, b64 + 150, NULL};
    n = txt_rdata(rd, split2);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_TXT, rd, n, 2048, &r, &err), 0);
    assert_true(r.usable);
    assert_int_equal(r.gw_type, DNSKEYS_GW_NAME);
    assert_string_equal(r.gw_name, "gw.example.com.");
    dnskeys_record_free(&r);
    /* one string with a truncated key: well-formed, unusable */
    const char *single[] = {one, NULL};
    n = txt_rdata(rd, single);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_TXT, rd, n, 2048, &r, &err), 0);
    assert_false(r.usable);
    const char *other[] = {"v=spf1 -all", NULL};
    n = txt_rdata(rd, other);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_TXT, rd, n, 2048, &r, &err), 1);
    const char *bad[][3] = {{"X-IPsec-Server(x)=192.0.2.8 AQ", NULL},
                            {"X-IPsec-Server(300)=1.2.3.4 AQ", NULL},
                            {"X-IPsec-Server(1)192.0.2.8 AQ", NULL},
                            {"X-IPsec-Server(1)=192.0.2.8", NULL},
                            {"X-IPsec-Server(1)=bad/gw AQ", NULL}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = txt_rdata(rd, bad[i]);
        if (dnskeys_record_parse(DNSKEYS_TXT, rd, n, 2048, &r, &err) != -1)
            fail_msg("accepted %s", bad[i][0]);
    }
    rd[0] = 200; /* a string length past the end */
    assert_int_equal(dnskeys_record_parse(DNSKEYS_TXT, rd, 20, 2048, &r, &err), -1);
    assert_non_null(strstr(err.msg, "runs past"));
    free(b64);
    dnskeys_key_free(&k);
}

/* Parse a one-string X-IPsec-Server TXT record whose gateway field is gw; -1, 0 or 1 as the parser says. */
static int txt_gateway(const char *gw, const char *b64, struct dnskeys_record *r, struct oe_error *err)
{
    static uint8_t rd[4096];
    char text[2048];
    size_t n = 0, len = (size_t)snprintf(text, sizeof(text), "X-IPsec-Server(10)=%s %s", gw, b64);
    for (size_t off = 0; off < len; off += 255) {
        size_t l = len - off < 255 ? len - off : 255;
        rd[n++] = (uint8_t)l;
        memcpy(rd + n, text + off, l);
        n += l;
    }
    return dnskeys_record_parse(DNSKEYS_TXT, rd, n, 2048, r, err);
}

/*
 * Issue 11 (CVE-2013-2052 was a remote overflow in this field): a TXT
 * gateway with "=" in it, an empty label or a label past 63 is malformed
 * and says which; a name too long for the record is never usable; names
 * at the limits are taken.
 */
static void test_txt_gateway_limits(void **state)
{
    (void)state;
    struct dnskeys_pubkey k = make_key(256, 6);
    char *b64 = dnskeys_key_to_text(&k, false);
    struct dnskeys_record r;
    struct oe_error err;
    assert_int_equal(txt_gateway("192.0.2.7=evil", b64, &r, &err), -1);
    assert_non_null(strstr(err.msg, "neither an address nor a host name"));
    assert_int_equal(txt_gateway("=192.0.2.7", b64, &r, &err), -1);
    char name[1200];
    /*
     * A TXT string holds 255 octets and strings are joined with a space, so a
     * gateway field is at most 236 characters: a longer name runs into the
     * next string and what follows is not a key. Never usable, never copied
     * past the field.
     */
    const size_t lens[] = {237, 300, 1100};
    for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
        size_t len = lens[j];
        memset(name, 'a', len);
        for (size_t i = 63; i < len; i += 64)
            name[i] = '.';
        name[len] = '\0';
        int rc = txt_gateway(name, b64, &r, &err);
        if (rc == 0 && r.usable)
            fail_msg("%zu characters: usable, gateway %s", len, r.gw_name);
        if (rc == 0) {
            assert_true(strlen(r.gw_name) < sizeof(r.gw_name));
            assert_non_null(strstr(r.why, "RSA key"));
            dnskeys_record_free(&r);
        }
    }
    /* three labels of 63 and one of 44: 236, the longest a TXT record can carry */
    memset(name, 'b', 236);
    name[63] = name[127] = name[191] = '.';
    name[236] = '\0';
    assert_int_equal(txt_gateway(name, b64, &r, &err), 0);
    assert_true(r.usable);
    assert_int_equal(strlen(r.gw_name), 237); /* with the final dot */
    dnskeys_record_free(&r);
    assert_int_equal(
        txt_gateway("gw.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example.com", b64, &r, &err),
        -1);
    assert_non_null(strstr(err.msg, "label of 64 characters"));
    assert_int_equal(txt_gateway("gw..example.com", b64, &r, &err), -1);
    assert_non_null(strstr(err.msg, "empty label"));
    assert_int_equal(txt_gateway("@gw.example.com.", b64, &r, &err), 0);
    assert_string_equal(r.gw_name, "gw.example.com.");
    dnskeys_record_free(&r);
    free(b64);
    dnskeys_key_free(&k);
}

static void test_key_record(void **state)
{
    (void)state;
    struct dnskeys_pubkey k = make_key(256, 7);
    uint8_t rd[600];
    struct dnskeys_record r;
    struct oe_error err;
    memcpy(rd, "\x42\x00\x04\x01", 4);
    memcpy(rd + 4, k.rfc3110, k.len);
    assert_int_equal(dnskeys_record_parse(DNSKEYS_KEY, rd, 4 + k.len, 2048, &r, &err), 0);
    assert_true(r.usable);
    dnskeys_record_free(&r);
    rd[2] = 3; /* DNSSEC protocol */
    assert_int_equal(dnskeys_record_parse(DNSKEYS_KEY, rd, 4 + k.len, 2048, &r, &err), 0);
    assert_string_equal(r.why, "protocol 3 is not IPsec (4) or any (255)");
    rd[2] = 4;
    rd[3] = 3; /* DSA */
    assert_int_equal(dnskeys_record_parse(DNSKEYS_KEY, rd, 4 + k.len, 2048, &r, &err), 0);
    assert_string_equal(r.why, "algorithm 3 is not RSA");
    rd[0] = 0xC2;
    assert_int_equal(dnskeys_record_parse(DNSKEYS_KEY, rd, 4 + k.len, 2048, &r, &err), 0);
    assert_string_equal(r.why, "flags say \"no key\"");
    assert_int_equal(dnskeys_record_parse(DNSKEYS_KEY, rd, 3, 2048, &r, &err), -1);
    dnskeys_key_free(&k);
}

static void round_trip(enum dnskeys_rrtype type, const char *gw, unsigned prec)
{
    struct dnskeys_record r, back;
    struct oe_error err;
    char owner[DNSKEYS_NAME_MAX];
    memset(&r, 0, sizeof(r));
    r.type = type;
    r.precedence = prec;
    r.key = make_key(384, 8);
    if (gw && oe_addr_parse(gw, &r.gw_addr) == 0) {
        r.gw_type = r.gw_addr.family == 2 ? DNSKEYS_GW_IPV4 : DNSKEYS_GW_IPV6;
    } else if (gw) {
        r.gw_type = DNSKEYS_GW_NAME;
        snprintf(r.gw_name, sizeof(r.gw_name), "%s", gw);
    }
    char *line = dnskeys_record_to_zone("7.2.0.192.in-addr.arpa.", 300, &r, &err);
    assert_non_null(line);
    assert_int_equal(dnskeys_record_from_zone(line, 2048, owner, &back, &err), 0);
    assert_string_equal(owner, "7.2.0.192.in-addr.arpa.");
    assert_true(back.usable);
    assert_true(dnskeys_key_eq(&back.key, &r.key));
    assert_int_equal(back.gw_type, type == DNSKEYS_KEY ? DNSKEYS_GW_NONE : r.gw_type);
    if (type != DNSKEYS_KEY)
        assert_int_equal(back.precedence, prec);
    if (r.gw_type == DNSKEYS_GW_NAME && type != DNSKEYS_KEY)
        assert_string_equal(back.gw_name, r.gw_name);
    free(line);
    dnskeys_record_free(&r);
    dnskeys_record_free(&back);
}

static void test_zone_round_trips(void **state)
{
    (void)state;
    round_trip(DNSKEYS_IPSECKEY, "192.0.2.7", 10);
    round_trip(DNSKEYS_IPSECKEY, "2001:db8::7", 0);
    round_trip(DNSKEYS_IPSECKEY, "gw.example.com.", 255);
    round_trip(DNSKEYS_IPSECKEY, NULL, 10);
    round_trip(DNSKEYS_TXT, "192.0.2.8", 10);
    round_trip(DNSKEYS_TXT, "2001:db8::8", 20);
    round_trip(DNSKEYS_TXT, "gw.example.com.", 1);
    round_trip(DNSKEYS_KEY, NULL, 0);
    struct dnskeys_record r;
    struct oe_error err;
    char owner[DNSKEYS_NAME_MAX];
    assert_int_equal(dnskeys_record_from_zone("x. IN A 192.0.2.1", 2048, owner, &r, &err), -1);
    assert_non_null(strstr(err.msg, "not IPSECKEY, TXT or KEY"));
    assert_int_equal(dnskeys_record_from_zone("x. IN IPSECKEY 10 9 2 . AQ", 2048, owner, &r, &err), -1);
    /* libreswan's showhostkey --ipseckey prints no owner: ldns needs one to parse */
    assert_int_equal(dnskeys_record_from_zone("garbage", 2048, owner, &r, &err), -1);
}

/* ---- combining the three answers ---- */

static void set_of(struct dnskeys_rrset *s, uint8_t **rd, size_t *len, size_t n, enum dnskeys_verdict v)
{
    memset(s, 0, sizeof(*s));
    s->rdata = (const uint8_t *const *)rd;
    s->len = len;
    s->n = n;
    s->verdict = v;
}

static void test_answer_precedence_and_types(void **state)
{
    (void)state;
    struct dnskeys_pubkey k1 = make_key(256, 9), k2 = make_key(256, 10);
    uint8_t a[600], b[600], c[600], t[1200];
    size_t la = ipseckey_rdata(a, 20, 0, 2, "", 0, &k1);
    size_t lb = ipseckey_rdata(b, 10, 0, 2, "", 0, &k2);
    size_t lc = ipseckey_rdata(c, 5, 0, 3, "", 0, &k1); /* best precedence, unusable */
    char *b64 = dnskeys_key_to_text(&k1, false), first[201];
    snprintf(first, sizeof(first), "%.200s", b64);
    size_t lt = txt_rdata(t, (const char *[]){"X-IPsec-Server(1)=192.0.2.1", first, b64 + 200, NULL});
    uint8_t *ip[] = {a, b, c}, *tx[] = {t};
    size_t ipl[] = {la, lb, lc}, txl[] = {lt};
    struct dnskeys_rrset sets[3];
    struct dnskeys_answer ans;
    set_of(&sets[0], ip, ipl, 3, DNSKEYS_SECURE);
    set_of(&sets[1], tx, txl, 1, DNSKEYS_SECURE);
    set_of(&sets[2], NULL, NULL, 0, DNSKEYS_SECURE);
    dnskeys_answer_build("x.", sets, 2048, &ans);
    assert_int_equal(ans.verdict, DNSKEYS_SECURE);
    assert_int_equal(ans.source, DNSKEYS_IPSECKEY); /* IPSECKEY before TXT */
    assert_int_equal(ans.n, 3);
    assert_int_equal(ans.records[0].precedence, 10); /* usable first, by precedence */
    assert_true(dnskeys_key_eq(&ans.records[0].key, &k2));
    assert_int_equal(ans.records[1].precedence, 20);
    assert_false(ans.records[2].usable);
    assert_int_equal(ans.counts[1], 1);
    dnskeys_answer_free(&ans);
    /* only unusable IPSECKEY: TXT is used */
    set_of(&sets[0], ip + 2, ipl + 2, 1, DNSKEYS_SECURE);
    dnskeys_answer_build("x.", sets, 2048, &ans);
    assert_int_equal(ans.source, DNSKEYS_TXT);
    assert_true(ans.records[0].usable);
    dnskeys_answer_free(&ans);
    /* a bogus answer for any type makes the whole answer bogus */
    sets[2].verdict = DNSKEYS_BOGUS;
    sets[2].why = "signature expired";
    dnskeys_answer_build("x.", sets, 2048, &ans);
    assert_int_equal(ans.verdict, DNSKEYS_BOGUS);
    assert_string_equal(ans.why_bogus, "KEY: signature expired");
    dnskeys_answer_free(&ans);
    /* records from an insecure zone: insecure */
    set_of(&sets[0], ip, ipl, 1, DNSKEYS_INSECURE);
    set_of(&sets[1], NULL, NULL, 0, DNSKEYS_INSECURE);
    set_of(&sets[2], NULL, NULL, 0, DNSKEYS_INSECURE);
    dnskeys_answer_build("x.", sets, 2048, &ans);
    assert_int_equal(ans.verdict, DNSKEYS_INSECURE);
    assert_int_equal(ans.n, 1);
    dnskeys_answer_free(&ans);
    /* nothing anywhere, securely denied */
    for (int i = 0; i < 3; i++)
        set_of(&sets[i], NULL, NULL, 0, DNSKEYS_SECURE);
    dnskeys_answer_build("x.", sets, 2048, &ans);
    assert_int_equal(ans.verdict, DNSKEYS_SECURE);
    assert_int_equal(ans.n, 0);
    assert_false(ans.failed);
    /* no answer at all */
    for (int i = 0; i < 3; i++) {
        sets[i].failed = true;
        sets[i].why = "timeout";
    }
    dnskeys_answer_build("x.", sets, 2048, &ans);
    assert_true(ans.failed);
    assert_string_equal(ans.why, "IPSECKEY: timeout");
    /* a malformed record is kept, unusable, with the reason */
    uint8_t junk[] = {1, 9, 2};
    uint8_t *jp[] = {junk};
    size_t jl[] = {sizeof(junk)};
    set_of(&sets[0], jp, jl, 1, DNSKEYS_SECURE);
    set_of(&sets[1], NULL, NULL, 0, DNSKEYS_SECURE);
    set_of(&sets[2], NULL, NULL, 0, DNSKEYS_SECURE);
    dnskeys_answer_build("x.", sets, 2048, &ans);
    assert_int_equal(ans.n, 1);
    assert_false(ans.records[0].usable);
    assert_non_null(strstr(ans.records[0].why, "malformed: IPSECKEY: gateway type 9"));
    dnskeys_answer_free(&ans);
    free(b64);
    dnskeys_key_free(&k1);
    dnskeys_key_free(&k2);
}

/* No lookup here is ever processed: each is cancelled when the resolver is freed, and counted. */
static void never_called(const struct dnskeys_answer *ans, void *arg)
{
    if (ans != NULL)
        fail_msg("no lookup here is ever processed");
    if (arg)
        (*(int *)arg)++;
}

static int cancelled;

static int ask_for(struct dnskeys_resolver *r, enum dnskeys_for who, const char *source, struct oe_error *err)
{
    struct dnskeys_asker asker = {who, {0}};
    struct oe_addr target;
    oe_addr_parse("203.0.113.5", &target);
    if (source)
        oe_addr_parse(source, &asker.source);
    return dnskeys_lookup_addr_for(r, &target, &asker, never_called, &cancelled, err);
}

/* Issue 11: peers' lookups have their own share, per source, and never use up the host's own. */
static void test_lookup_shares(void **state)
{
    (void)state;
    struct dnskeys_resolver_config cfg = {
        .forwarders = "127.0.0.1@9", .max_ours = 3, .max_peers = 5, .max_per_source = 2};
    struct oe_error err;
    struct dnskeys_resolver *r = dnskeys_resolver_new(&cfg, &err);
    assert_non_null(r);
    assert_int_equal(ask_for(r, DNSKEYS_FOR_PEER, "192.0.2.9", &err), 0);
    assert_int_equal(ask_for(r, DNSKEYS_FOR_PEER, "192.0.2.9", &err), 0);
    assert_int_equal(ask_for(r, DNSKEYS_FOR_PEER, "192.0.2.9", &err), -1);
    assert_int_equal(err.code, OE_E_LIMIT);
    assert_non_null(strstr(err.msg, "max_per_source"));
    assert_int_equal(ask_for(r, DNSKEYS_FOR_PEER, "2001:db8:1:2::1", &err), 0);
    assert_int_equal(ask_for(r, DNSKEYS_FOR_PEER, "2001:db8:1:2::2", &err), 0);
    assert_int_equal(ask_for(r, DNSKEYS_FOR_PEER, "2001:db8:1:2::3", &err), -1); /* one /64, one source */
    assert_int_equal(ask_for(r, DNSKEYS_FOR_PEER, "192.0.2.10", &err), 0);
    assert_int_equal(ask_for(r, DNSKEYS_FOR_PEER, "192.0.2.11", &err), -1);
    assert_non_null(strstr(err.msg, "max_peers"));
    for (int i = 0; i < 3; i++)
        assert_int_equal(ask_for(r, DNSKEYS_FOR_US, NULL, &err), 0); /* the peers took none of ours */
    assert_int_equal(ask_for(r, DNSKEYS_FOR_US, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "max_ours"));
    assert_int_equal(dnskeys_resolver_pending(r), 8);
    cancelled = 0;
    dnskeys_resolver_free(r);
    assert_int_equal(cancelled, 8); /* each caller hears of it, so it can free its context */
}

struct timed_out {
    int calls;
    bool failed;
    char why[256];
};

static void note_answer(const struct dnskeys_answer *ans, void *arg)
{
    struct timed_out *t = arg;
    t->calls++;
    if (ans == NULL)
        return;
    t->failed = ans->failed;
    snprintf(t->why, sizeof(t->why), "%s", ans->why);
}

/* Answer every query waiting on fd with NXDOMAIN (RFC 1035 4.1.1: QR, RD, RA, RCODE 3); how many. */
static int answer_late(int fd)
{
    int n = 0;
    uint8_t m[512];
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    ssize_t len;
    while ((len = recvfrom(fd, m, sizeof(m), MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) >= 12) {
        size_t q = 12;
        while (q < (size_t)len && m[q] != 0)
            q += (size_t)m[q] + 1;
        q += 5; /* the root label, QTYPE, QCLASS */
        if (q > (size_t)len)
            continue;
        m[2] = 0x81;
        m[3] = 0x83;
        memset(m + 6, 0, 6);
        sendto(fd, m, q, 0, (struct sockaddr *)&from, fl);
        n++;
        fl = sizeof(from);
    }
    return n;
}

/*
 * Issue 11: a resolver that takes the question and never answers. Each
 * lookup ends on its own deadline (dns-timeout), failed and saying so,
 * through the caller's loop: dnskeys_resolver_timeout() says how long the
 * loop may sleep, dnskeys_resolver_expire() ends what is due.
 */
static void test_lookup_timeout(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
    char fwd[64];
    snprintf(fwd, sizeof(fwd), "127.0.0.1@%u", ntohs(sin.sin_port));
    struct dnskeys_resolver_config cfg = {.forwarders = fwd, .timeout_ms = 300};
    struct oe_error err;
    struct dnskeys_resolver *r = dnskeys_resolver_new(&cfg, &err);
    assert_non_null(r);
    assert_int_equal(dnskeys_resolver_timeout(r), -1); /* nothing asked: no deadline */
    struct timed_out t1 = {0}, t2 = {0};
    struct oe_addr a1, a2;
    oe_addr_parse("203.0.113.5", &a1);
    oe_addr_parse("203.0.113.6", &a2);
    uint64_t t0 = oe_monotonic_ms();
    assert_int_equal(dnskeys_lookup_addr(r, &a1, note_answer, &t1, &err), 0);
    int first = dnskeys_resolver_timeout(r);
    assert_true(first > 0 && first <= 300);
    assert_int_equal(dnskeys_lookup_addr(r, &a2, note_answer, &t2, &err), 0);
    while ((t1.calls == 0 || t2.calls == 0) && oe_monotonic_ms() - t0 < 5000) {
        struct pollfd pfd = {.fd = dnskeys_resolver_fd(r), .events = POLLIN};
        int wait = dnskeys_resolver_timeout(r);
        assert_true(wait >= -1 && wait <= 300);
        if (poll(&pfd, 1, wait < 0 ? 100 : wait) > 0)
            dnskeys_resolver_process(r, &err);
        dnskeys_resolver_expire(r);
    }
    uint64_t took = oe_monotonic_ms() - t0;
    assert_int_equal(t1.calls, 1);
    assert_int_equal(t2.calls, 1);
    assert_true(t1.failed && t2.failed);
    if (strstr(t1.why, "no answer within 0.3s (dns-timeout)") == NULL)
        fail_msg("why: %s", t1.why);
    assert_true(took >= 300 && took < 2000);
    assert_int_equal(dnskeys_resolver_pending(r), 0);
    assert_int_equal(dnskeys_resolver_timeout(r), -1);
    /* the answers come after all, too late: libunbound drops them, no callback runs twice (nor on freed memory) */
    assert_true(answer_late(s) >= 2);
    uint64_t t1_ms = oe_monotonic_ms();
    while (oe_monotonic_ms() - t1_ms < 500) {
        struct pollfd pfd = {.fd = dnskeys_resolver_fd(r), .events = POLLIN};
        if (poll(&pfd, 1, 50) > 0)
            assert_int_equal(dnskeys_resolver_process(r, &err), 0);
        dnskeys_resolver_expire(r);
    }
    assert_int_equal(t1.calls + t2.calls, 2);
    dnskeys_resolver_free(r); /* nothing left to cancel: no second answer */
    assert_int_equal(t1.calls, 1);
    close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_shares),
        cmocka_unit_test(test_lookup_timeout),
        cmocka_unit_test(test_reverse_names),
        cmocka_unit_test(test_key_round_trip),
        cmocka_unit_test(test_key_long_exponent_form),
        cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_ipseckey),
        cmocka_unit_test(test_dnskey_e3_refused),
        cmocka_unit_test(test_txt),
        cmocka_unit_test(test_txt_gateway_limits),
        cmocka_unit_test(test_key_record),
        cmocka_unit_test(test_zone_round_trips),
        cmocka_unit_test(test_answer_precedence_and_types),
    };
    return cmocka_run_group_tests_name("dnskeys", tests, NULL, NULL);
}
