/* oe-agent/config: oe.conf parsing and its errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oe-agent/config.h"
#include "oe-agent/ike/ike.h"

static int parse(struct oe_config *c, const char *text, struct oe_error *err)
{
    oe_config_defaults(c);
    return oe_config_parse_text(c, text, strlen(text), "oe.conf", err);
}

static void test_defaults(void **state)
{
    (void)state;
    struct oe_config c;
    oe_config_defaults(&c);
    assert_int_equal(c.groups[POLICY_PRIVATE_OR_CLEAR].failure_shunt, OE_SHUNT_PASS);
    assert_int_equal(c.groups[POLICY_PRIVATE].failure_shunt, OE_SHUNT_DROP);
    assert_int_equal(c.groups[POLICY_PRIVATE].shunt_lifetime, 900);
    assert_int_equal(c.larval_drop, 0);
    assert_string_equal(c.policies, "/etc/oe/policies");
    assert_int_equal(c.dns_timeout, 10); /* issue 11: every lookup ends, below hold-lifetime */
    assert_true(c.dns_timeout < c.hold_lifetime);
    assert_int_equal(c.dns_retransmit_ms, 2500);
}

/* Issue 11: dns-timeout is a duration of 1s or more; dns-retransmit-ms 0 gives libunbound its own timing. */
static void test_dns_settings(void **state)
{
    (void)state;
    struct oe_config c;
    struct oe_error err;
    assert_int_equal(parse(&c, "dns-timeout = 3s\ndns-retransmit-ms = 0\n", &err), 0);
    assert_int_equal(c.dns_timeout, 3);
    assert_int_equal(c.dns_retransmit_ms, 0);
    assert_int_equal(parse(&c, "dns-timeout = 0\n", &err), -1);
    assert_non_null(strstr(err.msg, "dns-timeout"));
    assert_int_equal(parse(&c, "dns-retransmit-ms = 2.5s\n", &err), -1);
}

static void test_full_file(void **state)
{
    (void)state;
    struct oe_config c;
    struct oe_error err;
    assert_int_equal(parse(&c,
                           "# global\npolicies = /tmp/p\nresolver = 192.0.2.54@5353, 2001:db8::53\n"
                           "xfrm-larval-drop = leave\nlog = stderr\n\n"
                           "[group private-or-clear]\nfailure-shunt = drop\nshunt-lifetime = 2m\n"
                           "auth = rsasig-or-null  # comment\ndnssec = insecure-ok\n"
                           "[group private]\nshunt-lifetime=30\nauth=null\n",
                           &err),
                     0);
    assert_string_equal(c.policies, "/tmp/p");
    assert_int_equal(c.nresolvers, 2);
    assert_int_equal(c.resolver_ports[0], 5353);
    assert_int_equal(c.resolver_ports[1], 53);
    assert_int_equal(c.larval_drop, -1);
    const struct oe_group_config *g = &c.groups[POLICY_PRIVATE_OR_CLEAR];
    assert_int_equal(g->failure_shunt, OE_SHUNT_DROP);
    assert_int_equal(g->shunt_lifetime, 120);
    assert_int_equal(g->auth, OE_AUTH_RSASIG_OR_NULL);
    assert_int_equal(g->dnssec, OE_DNSSEC_INSECURE_OK);
    assert_int_equal(c.groups[POLICY_PRIVATE].shunt_lifetime, 30);
    assert_int_equal(c.groups[POLICY_PRIVATE].auth, OE_AUTH_NULL);
}

static void expect(const char *text, const char *needle)
{
    struct oe_config c;
    struct oe_error err = {0};
    if (parse(&c, text, &err) == 0 || strstr(err.msg, needle) == NULL)
        fail_msg("for \"%s\": wanted \"%s\", got \"%s\"", text, needle, err.msg);
}

static void test_errors(void **state)
{
    (void)state;
    expect("polices = /x\n", "oe.conf:1: unknown key \"polices\"");
    expect("\n[group private]\nfailure-shunt = maybe\n", "oe.conf:3: failure-shunt: \"maybe\" is not pass or drop");
    expect("[group private]\nshunt-lifetime = 5 minutes\n",
           "oe.conf:2: shunt-lifetime: \"5 minutes\" is not a duration");
    expect("[group private]\nshunt-lifetime = 0\n", "shunt-lifetime: \"0\" is not a duration");
    expect("[group private]\nauth = psk\n", "auth: \"psk\" is not rsasig, null or rsasig-or-null");
    expect("[group private]\ndnssec = off\n", "dnssec: \"off\" is not secure or insecure-ok");
    expect("[group private]\npolicies = /x\n", "unknown group key \"policies\"");
    expect("[group nosuch]\n", "oe.conf:1: unknown group \"nosuch\"");
    expect("[private]\n", "bad section");
    expect("policies\n", "expected \"key = value\"");
    expect("resolver = 192.0.2.300\n", "not an IP address");
    expect("resolver = 192.0.2.1@99999\n", "bad port");
    expect("xfrm-larval-drop = sometimes\n", "xfrm-larval-drop");
    expect("xfrm-acq-expires = 2h\n", "xfrm-acq-expires"); /* at most 1h: the sysctl is an int of seconds */
    expect("policies =\n", "policies: needs a path");
    expect("\nsubnets = 203.0.113.0/24, 203.0.113.7/24\n", "oe.conf:2: subnets: \"203.0.113.7/24\"");
    expect("subnets = 198.51.100.0/24 nonsense\n", "subnets: \"nonsense\"");
    expect("salifetime = 5\n", "salifetime: \"5\" is not a duration of 10s or more");
    expect("ikelifetime = forever\n", "ikelifetime");
    expect("dpddelay = often\n", "dpddelay: \"often\" is not a duration");
    expect("ciphers = 3des\n", "ciphers: \"3des\" is not one of aes_gcm, aes_cbc");
    expect("ciphers = aes_cbc, aes_cbc\n", "ciphers: \"aes_cbc\" is listed twice");
    expect("ciphers = ,\n", "ciphers: needs at least one");
    expect("dh-groups = 2\n", "dh-groups: \"2\" is not one of 19 (ecp256)");
    expect("dh-groups = 19 31 14 ecp256\n", "dh-groups: \"ecp256\" is listed twice");
    expect("max-half-open = 0\n", "max-half-open: \"0\" is not a number of half-open IKE SAs, 1 or more");
    expect("cookie-threshold = lots\n", "cookie-threshold: \"lots\" is not a number");
    expect("half-open-timeout = 0\n", "half-open-timeout: \"0\" is not a duration of 1s or more");
    expect("address-pool = 100.64.0.0/24, 100.65.0.0/24\n", "address-pool: one prefix of each family");
    expect("address-pool = 100.64.0.1/24\n", "address-pool: \"100.64.0.1/24\"");
    expect("address-pool = pool\n", "address-pool: \"pool\"");
}

static void test_tunnel_settings(void **state)
{
    (void)state;
    struct oe_config c;
    struct oe_error err;
    const char *text = "salifetime = 1h\nikelifetime = 2h\ndpddelay = 0\n"
                       "subnets = 203.0.113.0/24, 2001:db8:5::/48\n"
                       "ciphers = aes_cbc\ndh-groups = modp2048, 31\n"
                       "address-pool = 2001:db8:ca7::/64, 100.64.0.0/24\n";
    assert_int_equal(parse(&c, text, &err), 0);
    assert_int_equal(c.salifetime, 3600);
    assert_int_equal(c.ikelifetime, 7200);
    assert_int_equal(c.dpddelay, 0);
    assert_int_equal(c.nsubnets, 2);
    char buf[OE_ADDR_STRLEN];
    assert_string_equal(oe_prefix_str(&c.subnets[1], buf), "2001:db8:5::/48");
    assert_string_equal(oe_prefix_str(&c.address_pool[0], buf), "2001:db8:ca7::/64");
    assert_string_equal(oe_prefix_str(&c.address_pool[1], buf), "100.64.0.0/24");
    assert_int_equal(c.ciphers[0], IKE_CIPHER_AES_CBC);
    assert_int_equal(c.ciphers[1], 0);
    assert_int_equal(c.dh_groups[0], 14);
    assert_int_equal(c.dh_groups[1], 31);
    assert_int_equal(c.dh_groups[2], 0);
    /* the defaults, as pluto's */
    oe_config_defaults(&c);
    assert_int_equal(c.salifetime, 8 * 3600);
    assert_int_equal(c.dpddelay, 30);
    assert_int_equal(c.nsubnets, 0);
    assert_int_equal(c.address_pool[0].addr.family, 0); /* no pool unless one is set */
    assert_int_equal(c.ciphers[0], IKE_CIPHER_AES_GCM_16);
    assert_int_equal(c.ciphers[1], IKE_CIPHER_AES_CBC);
    assert_int_equal(c.dh_groups[0], 19);
}

static void test_durations(void **state)
{
    (void)state;
    uint32_t s;
    assert_int_equal(oe_duration_parse("15m", &s), 0);
    assert_int_equal(s, 900);
    assert_int_equal(oe_duration_parse("1d", &s), 0);
    assert_int_equal(s, 86400);
    assert_int_equal(oe_duration_parse("7s", &s), 0);
    assert_int_equal(s, 7);
    assert_int_equal(oe_duration_parse("-1", &s), -1);
    assert_int_equal(oe_duration_parse("1w", &s), -1);
    assert_int_equal(oe_duration_parse("", &s), -1);
    assert_int_equal(oe_duration_parse("99999999999d", &s), -1);
}

static void test_resolv_conf(void **state)
{
    (void)state;
    char path[] = "/tmp/oe-resolv-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("# x\nsearch example\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nnameserver bogus\n", f);
    fclose(f);
    struct oe_config c;
    struct oe_error err;
    oe_config_defaults(&c);
    assert_int_equal(oe_config_resolvers(&c, path, &err), 0);
    assert_int_equal(c.nresolvers, 2);
    remove(path);
}

/* Every key of the table has its entry in oe.conf(5) (".TP" then ".B key", ".BR key ..."): the page stays true. */
static void test_every_key_documented(void **state)
{
    (void)state;
    FILE *f = fopen("doc/oe.conf.5", "r");
    assert_non_null(f);
    static char page[1 << 16];
    size_t n = fread(page, 1, sizeof(page) - 1, f);
    fclose(f);
    page[n] = '\0';
    for (int group = 0; group < 2; group++) {
        for (size_t i = 0; i < oe_config_key_count(group); i++) {
            const char *k = oe_config_key_name(group, i);
            char b[96], br[96], bi[96];
            snprintf(b, sizeof(b), ".TP\n.B %s\n", k);
            snprintf(br, sizeof(br), ".TP\n.BR %s ", k);
            snprintf(bi, sizeof(bi), ".TP\n.BI %s ", k);
            if (!strstr(page, b) && !strstr(page, br) && !strstr(page, bi))
                fail_msg("oe.conf(5) has no entry for %s", oe_config_key_name(group, i));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_documented),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_dns_settings),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_resolv_conf),
        cmocka_unit_test(test_tunnel_settings),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
