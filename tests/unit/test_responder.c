/* The responder's rule (issue 9): which record lets which identity speak for a host, and what policy asks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "oe-agent/responder_rule.h"

static struct dnskeys_record rec;
static struct dnskeys_answer ans;

/* A secure answer at the host's reverse name with one usable record naming gw (an address or a name). */
static void answer_with_gateway(const char *gw)
{
    memset(&rec, 0, sizeof(rec));
    memset(&ans, 0, sizeof(ans));
    rec.type = DNSKEYS_IPSECKEY;
    rec.usable = true;
    if (gw == NULL) {
        rec.gw_type = DNSKEYS_GW_NONE;
    } else if (oe_addr_parse(gw, &rec.gw_addr) == 0) {
        rec.gw_type = rec.gw_addr.family == AF_INET ? DNSKEYS_GW_IPV4 : DNSKEYS_GW_IPV6;
    } else {
        rec.gw_type = DNSKEYS_GW_NAME;
        snprintf(rec.gw_name, sizeof(rec.gw_name), "%s", gw);
    }
    snprintf(ans.owner, sizeof(ans.owner), "the.host.in-addr.arpa.");
    ans.verdict = DNSKEYS_SECURE;
    ans.records = &rec;
    ans.n = 1;
}

static const struct dnskeys_record *ask(const char *host, const char *outer, const char *id, char *why)
{
    struct responder_claim c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(oe_addr_parse(host, &c.host), 0);
    assert_int_equal(oe_addr_parse(outer, &c.outer), 0);
    snprintf(c.id, sizeof(c.id), "%s", id);
    return responder_record(&c, &ans, OE_DNSSEC_SECURE, why, 300);
}

/* Finding 2: an FQDN with its own key in its own zone is not the host 192.0.2.7. */
static void test_identity_not_bound_fqdn(void **state)
{
    (void)state;
    char why[300];
    answer_with_gateway("192.0.2.7");
    assert_null(ask("192.0.2.7", "192.0.2.7", "@m.example", why));
    assert_non_null(strstr(why, "does not name that identity"));
    /* the host's own record naming that name as its gateway does bind it */
    answer_with_gateway("m.example.");
    assert_ptr_equal(ask("192.0.2.7", "192.0.2.7", "@M.Example", why), &rec);
}

/* Finding 2: an address identity that is another host's. */
static void test_identity_not_bound_address(void **state)
{
    (void)state;
    char why[300];
    answer_with_gateway("192.0.2.7");
    assert_null(ask("192.0.2.7", "192.0.2.7", "198.51.100.9", why));
    assert_ptr_equal(ask("192.0.2.7", "192.0.2.7", "192.0.2.7", why), &rec);
    answer_with_gateway(NULL); /* no gateway: the host itself */
    assert_ptr_equal(ask("192.0.2.7", "192.0.2.7", "192.0.2.7", why), &rec);
    assert_null(ask("192.0.2.7", "192.0.2.7", "ID_NULL", why));
}

/* A gateway speaks for a host only where the host's record names it, and as that address. */
static void test_gateway_bound_by_client_record(void **state)
{
    (void)state;
    char why[300];
    answer_with_gateway("192.0.2.1");
    assert_ptr_equal(ask("203.0.113.5", "192.0.2.1", "192.0.2.1", why), &rec);
    assert_null(ask("203.0.113.5", "192.0.2.1", "@gw.example", why));
    assert_non_null(strstr(why, "gateway must identify"));
    assert_null(ask("203.0.113.5", "192.0.2.99", "192.0.2.99", why));
    assert_non_null(strstr(why, "another gateway"));
    answer_with_gateway(NULL);
    assert_null(ask("203.0.113.5", "192.0.2.1", "192.0.2.1", why));
    assert_non_null(strstr(why, "no gateway"));
}

static void test_record_verdicts(void **state)
{
    (void)state;
    char why[300];
    struct responder_claim c;
    memset(&c, 0, sizeof(c));
    oe_addr_parse("192.0.2.7", &c.host);
    c.outer = c.host;
    snprintf(c.id, sizeof(c.id), "192.0.2.7");
    answer_with_gateway("192.0.2.7");
    ans.verdict = DNSKEYS_INSECURE;
    assert_null(responder_record(&c, &ans, OE_DNSSEC_SECURE, why, sizeof(why)));
    assert_non_null(strstr(why, "insecure"));
    assert_ptr_equal(responder_record(&c, &ans, OE_DNSSEC_INSECURE_OK, why, sizeof(why)), &rec);
    ans.verdict = DNSKEYS_BOGUS;
    assert_null(responder_record(&c, &ans, OE_DNSSEC_INSECURE_OK, why, sizeof(why)));
    ans.verdict = DNSKEYS_SECURE;
    rec.usable = false;
    assert_null(responder_record(&c, &ans, OE_DNSSEC_SECURE, why, sizeof(why)));
    ans.failed = true;
    assert_null(responder_record(&c, &ans, OE_DNSSEC_SECURE, why, sizeof(why)));
}

static struct policy_set *set_of(const char *poc, const char *priv, const char *block)
{
    struct policy_set *set = policy_set_new();
    struct oe_error err;
    assert_int_equal(policy_parse_group(set, POLICY_PRIVATE_OR_CLEAR, poc, strlen(poc), "poc", &err), 0);
    assert_int_equal(policy_parse_group(set, POLICY_PRIVATE, priv, strlen(priv), "private", &err), 0);
    assert_int_equal(policy_parse_group(set, POLICY_BLOCK, block, strlen(block), "block", &err), 0);
    assert_int_equal(policy_finish(set, &err), 0);
    return set;
}

/* Finding 4 (responder): a host-wide tunnel also carries tcp/443 that a `private` line asks rsasig for. */
static void test_port_scoped_private_raises_auth(void **state)
{
    (void)state;
    struct oe_config cfg;
    oe_config_defaults(&cfg);
    cfg.groups[POLICY_PRIVATE_OR_CLEAR].auth = OE_AUTH_NULL;
    cfg.groups[POLICY_PRIVATE_OR_CLEAR].dnssec = OE_DNSSEC_INSECURE_OK;
    cfg.groups[POLICY_PRIVATE].auth = OE_AUTH_RSASIG;
    cfg.groups[POLICY_PRIVATE].dnssec = OE_DNSSEC_SECURE;
    struct policy_set *set = set_of("0.0.0.0/0\n", "203.0.113.0/24 tcp 0 443\n", "192.0.2.128/25\n");
    struct host_policy pol;
    struct oe_addr h;
    oe_addr_parse("203.0.113.10", &h);
    host_policy_for(set, &cfg, &h, &pol);
    assert_true(pol.allowed);
    assert_int_equal(pol.group, POLICY_PRIVATE_OR_CLEAR);
    assert_int_equal(pol.auth, OE_AUTH_RSASIG);
    assert_int_equal(pol.dnssec, OE_DNSSEC_SECURE);
    assert_non_null(pol.stricter);
    oe_addr_parse("198.51.100.10", &h); /* no port-scoped line covers it */
    host_policy_for(set, &cfg, &h, &pol);
    assert_int_equal(pol.auth, OE_AUTH_NULL);
    assert_null(pol.stricter);
    oe_addr_parse("192.0.2.200", &h); /* block: no IKE at all */
    host_policy_for(set, &cfg, &h, &pol);
    assert_false(pol.allowed);
    assert_int_equal(pol.group, POLICY_BLOCK);
    policy_set_free(set);
}

static bool lists(const struct policy_rule *const *v, size_t n, enum policy_group g, uint16_t rport)
{
    for (size_t i = 0; i < n; i++)
        if (v[i]->group == g && v[i]->sel.rport == rport)
            return true;
    return false;
}

/*
 * Finding 4 (tunnels): what a tunnel to the host carries. The host-wide
 * private-or-clear line and the port-scoped private line above it; not the
 * block line, and not a port-scoped private line that the host-wide /24 of
 * another host outranks.
 */
static void test_finding4_tunnel_lines(void **state)
{
    (void)state;
    struct policy_set *set = set_of("0.0.0.0/0\n198.51.100.0/24\n", "203.0.113.0/24 tcp 0 443\n0.0.0.0/0 tcp 0 993\n",
                                    "203.0.113.0/24 tcp 0 23\n");
    const struct policy_rule *v[8];
    struct oe_addr h;
    oe_addr_parse("203.0.113.10", &h);
    size_t n = host_tunnel_lines(set, &h, v, 8);
    assert_int_equal(n, 3);
    assert_ptr_equal(v[0], policy_lookup(set, &h, 0, 0, 0)); /* the host-wide line first */
    assert_true(lists(v, n, POLICY_PRIVATE, 443));
    assert_true(lists(v, n, POLICY_PRIVATE, 993)); /* a /0 tcp line outranks the /0 any line */
    assert_false(lists(v, n, POLICY_BLOCK, 23));
    oe_addr_parse("198.51.100.10", &h); /* its /24 any line outranks the /0 tcp 993 line */
    n = host_tunnel_lines(set, &h, v, 8);
    assert_int_equal(n, 1);
    assert_int_equal(v[0]->sel.peer.len, 24);
    assert_int_equal(host_tunnel_lines(set, &h, v, 0), 1); /* counted past max */
    policy_set_free(set);
}

/* A host-wide line that does not encrypt (block) asks nothing; a private tcp/443 line covering the host still does. */
static void test_finding4_clear_host_keeps_port_scoped_auth(void **state)
{
    (void)state;
    struct oe_config cfg;
    oe_config_defaults(&cfg);
    cfg.groups[POLICY_PRIVATE].auth = OE_AUTH_RSASIG;
    struct policy_set *set = set_of("", "203.0.113.0/24 tcp 0 443\n", "0.0.0.0/0\n");
    struct host_policy pol;
    struct oe_addr h;
    oe_addr_parse("203.0.113.10", &h);
    host_policy_for(set, &cfg, &h, &pol);
    assert_false(pol.allowed);
    assert_int_equal(pol.auth, OE_AUTH_RSASIG);
    const struct policy_rule *v[4];
    assert_int_equal(host_tunnel_lines(set, &h, v, 4), 1);
    assert_int_equal(v[0]->group, POLICY_PRIVATE);
    policy_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_not_bound_fqdn),
        cmocka_unit_test(test_identity_not_bound_address),
        cmocka_unit_test(test_gateway_bound_by_client_record),
        cmocka_unit_test(test_record_verdicts),
        cmocka_unit_test(test_port_scoped_private_raises_auth),
        cmocka_unit_test(test_finding4_tunnel_lines),
        cmocka_unit_test(test_finding4_clear_host_keeps_port_scoped_auth),
    };
    return cmocka_run_group_tests_name("responder", tests, NULL, NULL);
}
