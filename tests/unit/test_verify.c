/*
 * ipsec verify's pure parts: sysctl text, and (tools/nftcheck.c) what an
 * nftables ruleset does to IKE and ESP, on the
 * JSON that `nft -j list ruleset` printed for the rulesets beside it in
 * tests/unit/nft/ (NAME.nft made NAME.json), and on hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tools/tools.h"

static struct fw_ruleset *load(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "tests/unit/nft/%s.json", name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct oe_error err = {0};
    struct fw_ruleset *rs = fw_ruleset_parse(buf, n, &err);
    if (rs == NULL)
        fail_msg("%s: %s", path, err.msg);
    return rs;
}

static enum fw_status eval(const struct fw_ruleset *rs, int family, bool inbound, uint8_t proto, uint16_t port,
                           struct fw_verdict *v)
{
    struct fw_flow f = {.family = family, .inbound = inbound, .proto = proto, .port = port};
    fw_ruleset_eval(rs, &f, v);
    return v->status;
}

#define IN true
#define OUT false
#define V4 AF_INET
#define V6 AF_INET6

static void assert_why(const struct fw_verdict *v, const char *part)
{
    if (strstr(v->why, part) == NULL)
        fail_msg("\"%s\" does not say \"%s\"", v->why, part);
}

static void test_drop_esp(void **state)
{
    (void)state;
    struct fw_ruleset *rs = load("drop_esp");
    struct fw_verdict v;
    assert_int_equal(eval(rs, V4, IN, 50, 0, &v), FW_DROPPED);
    assert_why(&v, "inet filter input rule handle 2 (drop)");
    assert_int_equal(eval(rs, V6, IN, 50, 0, &v), FW_DROPPED);
    assert_int_equal(eval(rs, V4, IN, 17, 500, &v), FW_ACCEPTED);
    assert_why(&v, "the policy accept of inet filter input");
    assert_int_equal(eval(rs, V4, OUT, 50, 0, &v), FW_ACCEPTED);
    assert_why(&v, "no base chain");
    fw_ruleset_free(rs);
}

static void test_good(void **state)
{
    (void)state;
    struct fw_ruleset *rs = load("good");
    struct fw_verdict v;
    for (int fam = 0; fam < 2; fam++) {
        int af = fam ? V6 : V4;
        assert_int_equal(eval(rs, af, IN, 17, 500, &v), FW_ACCEPTED);
        assert_why(&v, "rule handle");
        assert_int_equal(eval(rs, af, IN, 17, 4500, &v), FW_ACCEPTED); /* "ipsec-nat-t" by name */
        assert_int_equal(eval(rs, af, IN, 50, 0, &v), FW_ACCEPTED);
        assert_int_equal(eval(rs, af, OUT, 50, 0, &v), FW_ACCEPTED);
        assert_int_equal(eval(rs, af, OUT, 17, 500, &v), FW_ACCEPTED);
    }
    /* a port the ruleset does not open: the policy drops it, past ct state and iif lo */
    assert_int_equal(eval(rs, V4, IN, 17, 53, &v), FW_DROPPED);
    assert_why(&v, "the policy drop of inet filter input");
    fw_ruleset_free(rs);
}

/* ct state established: a peer's first packet is new; iifname lo: it never comes on loopback */
static void test_ssh_only(void **state)
{
    (void)state;
    struct fw_ruleset *rs = load("ssh_only");
    struct fw_verdict v;
    assert_int_equal(eval(rs, V4, IN, 50, 0, &v), FW_DROPPED);
    assert_why(&v, "the policy drop of inet filter input");
    assert_int_equal(eval(rs, V6, IN, 17, 500, &v), FW_DROPPED);
    fw_ruleset_free(rs);
}

static void test_peers_only(void **state)
{
    (void)state;
    struct fw_ruleset *rs = load("peers_only");
    struct fw_verdict v;
    assert_int_equal(eval(rs, V4, IN, 50, 0, &v), FW_DEPENDS);
    assert_why(&v, "unless accepted by inet filter input rule handle 2 (accept, when ip saddr)");
    assert_int_equal(eval(rs, V6, IN, 50, 0, &v), FW_DROPPED); /* ip saddr: an IPv4 match */
    fw_ruleset_free(rs);
}

static void test_jump_goto(void **state)
{
    (void)state;
    struct fw_ruleset *rs = load("jump");
    struct fw_verdict v;
    /* jump: ike may return (10/8), then input's policy drops */
    assert_int_equal(eval(rs, V4, IN, 17, 500, &v), FW_DEPENDS);
    assert_why(&v, "policy drop");
    /* goto: a return from ike goes back past input, to its policy */
    assert_int_equal(eval(rs, V4, IN, 50, 0, &v), FW_DEPENDS);
    /* IPv6 never matches ip saddr: ike accepts */
    assert_int_equal(eval(rs, V6, IN, 17, 500, &v), FW_ACCEPTED);
    assert_why(&v, "inet filter ike rule handle 4 (accept)");
    assert_int_equal(eval(rs, V6, IN, 50, 0, &v), FW_ACCEPTED);
    assert_int_equal(eval(rs, V6, IN, 17, 4500, &v), FW_DROPPED);
    fw_ruleset_free(rs);
}

static void test_vmap(void **state)
{
    (void)state;
    struct fw_ruleset *rs = load("vmap");
    struct fw_verdict v;
    assert_int_equal(eval(rs, V4, IN, 50, 0, &v), FW_ACCEPTED);
    assert_why(&v, "verdict map");
    assert_int_equal(eval(rs, V4, IN, 17, 500, &v), FW_ACCEPTED);
    assert_int_equal(eval(rs, V6, IN, 17, 4500, &v), FW_ACCEPTED);
    assert_int_equal(eval(rs, V4, IN, 17, 53, &v), FW_DROPPED);
    fw_ruleset_free(rs);
}

static void test_families_and_chains(void **state)
{
    (void)state;
    struct fw_verdict v;
    struct fw_ruleset *rs = load("ip_only");
    assert_int_equal(eval(rs, V4, IN, 50, 0, &v), FW_DROPPED);
    assert_why(&v, "ip filter input");
    assert_int_equal(eval(rs, V6, IN, 50, 0, &v), FW_ACCEPTED); /* an ip table sees no IPv6 */
    fw_ruleset_free(rs);
    /* every base chain at the hook must accept: a later one's reject counts */
    rs = load("two_chains");
    assert_int_equal(eval(rs, V4, IN, 17, 4500, &v), FW_DROPPED);
    assert_why(&v, "inet b input rule handle 2 (reject)");
    assert_int_equal(eval(rs, V4, IN, 17, 500, &v), FW_ACCEPTED);
    fw_ruleset_free(rs);
    rs = load("output_drop");
    assert_int_equal(eval(rs, V4, OUT, 17, 500, &v), FW_DROPPED);
    assert_int_equal(eval(rs, V4, IN, 17, 500, &v), FW_ACCEPTED);
    fw_ruleset_free(rs);
}

/* the ICMP errors path MTU discovery needs: conntrack says related */
static enum fw_status pmtu(const struct fw_ruleset *rs, int family, struct fw_verdict *v)
{
    struct fw_flow f = {.family = family,
                        .inbound = true,
                        .proto = family == V4 ? 1 : 58,
                        .icmp_type = family == V4 ? 3 : 2,
                        .icmp_code = family == V4 ? 4 : 0,
                        .related = true};
    fw_ruleset_eval(rs, &f, v);
    return v->status;
}

static void test_icmp_pmtu(void **state)
{
    (void)state;
    struct fw_verdict v;
    struct fw_ruleset *rs = load("good"); /* ct state established,related accept */
    assert_int_equal(pmtu(rs, V4, &v), FW_ACCEPTED);
    assert_why(&v, "rule handle");
    assert_int_equal(pmtu(rs, V6, &v), FW_ACCEPTED);
    fw_ruleset_free(rs);
    rs = load("vmap"); /* ct state vmap { related : accept } */
    assert_int_equal(pmtu(rs, V6, &v), FW_ACCEPTED);
    assert_why(&v, "verdict map");
    fw_ruleset_free(rs);
    rs = load("peers_only"); /* nothing but some sources */
    assert_int_equal(pmtu(rs, V4, &v), FW_DEPENDS);
    assert_int_equal(pmtu(rs, V6, &v), FW_DROPPED);
    fw_ruleset_free(rs);
    rs = load("mixed");                              /* icmp type echo-request accept: not this type; then reject */
    assert_int_equal(pmtu(rs, V4, &v), FW_ACCEPTED); /* but ct state related came first */
    fw_ruleset_free(rs);
}

/* named sets: their elements count, unless rules add to them (or they are empty) */
static void test_named_sets(void **state)
{
    (void)state;
    struct fw_ruleset *rs = load("sets");
    struct fw_verdict v;
    assert_int_equal(eval(rs, V4, IN, 17, 500, &v), FW_ACCEPTED);
    assert_why(&v, "rule handle 7 (accept)"); /* @ike_ports, past the empty @empty */
    assert_int_equal(eval(rs, V6, IN, 17, 4500, &v), FW_ACCEPTED);
    assert_int_equal(eval(rs, V4, IN, 50, 0, &v), FW_ACCEPTED);
    assert_why(&v, "rule handle 8 (accept)"); /* @protos holds "esp" */
    /* a port in no static set: only @learned, which a rule fills, may accept it */
    assert_int_equal(eval(rs, V4, IN, 17, 53, &v), FW_DEPENDS);
    assert_why(&v, "unless accepted by inet filter input rule handle 10 (accept, when udp dport)");
    fw_ruleset_free(rs);
}

/* nft's own example of most things: the first rule that can decide is named */
static void test_mixed(void **state)
{
    (void)state;
    struct fw_ruleset *rs = load("mixed");
    struct fw_verdict v;
    assert_int_equal(eval(rs, V4, IN, 50, 0, &v), FW_DROPPED);
    assert_why(&v, "rule handle 9 (drop)");
    assert_int_equal(eval(rs, V4, IN, 17, 500, &v), FW_ACCEPTED);
    assert_why(&v, "rule handle 11 (accept)");
    fw_ruleset_free(rs);
}

static void test_hostile(void **state)
{
    (void)state;
    struct oe_error err = {0};
    const char *bad[] = {"", "{", "[]", "{\"nftables\": 3}", "{\"nftables\": [1, \"x\", null]}"};
    assert_null(fw_ruleset_parse(bad[0], 0, &err));
    assert_null(fw_ruleset_parse(bad[1], 1, &err));
    assert_null(fw_ruleset_parse(bad[2], 2, &err));
    assert_null(fw_ruleset_parse(bad[3], strlen(bad[3]), &err));
    assert_string_equal(err.msg, "nft ruleset: no \"nftables\" array");
    struct fw_ruleset *rs = fw_ruleset_parse(bad[4], strlen(bad[4]), &err);
    assert_non_null(rs);
    struct fw_verdict v;
    assert_int_equal(eval(rs, V4, IN, 50, 0, &v), FW_ACCEPTED);
    fw_ruleset_free(rs);
    /* deep nesting: the parser's own depth limit, no stack overflow */
    size_t n = 100000;
    char *deep = malloc(2 * n);
    assert_non_null(deep);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    assert_null(fw_ruleset_parse(deep, 2 * n, &err));
    free(deep);
    /* a jump loop nft would refuse: bounded, and not judged */
    const char loop[] = "{\"nftables\": ["
                        "{\"chain\": {\"family\": \"inet\", \"table\": \"t\", \"name\": \"in\", \"hook\": \"input\", "
                        "\"prio\": 0, \"policy\": \"accept\"}},"
                        "{\"chain\": {\"family\": \"inet\", \"table\": \"t\", \"name\": \"a\"}},"
                        "{\"rule\": {\"family\": \"inet\", \"table\": \"t\", \"chain\": \"in\", \"handle\": 1, "
                        "\"expr\": [{\"jump\": {\"target\": \"a\"}}]}},"
                        "{\"rule\": {\"family\": \"inet\", \"table\": \"t\", \"chain\": \"a\", \"handle\": 2, "
                        "\"expr\": [{\"jump\": {\"target\": \"a\"}}]}}]}";
    rs = fw_ruleset_parse(loop, strlen(loop), &err);
    assert_non_null(rs);
    assert_int_equal(eval(rs, V4, IN, 50, 0, &v), FW_UNKNOWN);
    assert_why(&v, "not judged");
    fw_ruleset_free(rs);
    assert_null(fw_ruleset_parse(loop, (size_t)FW_RULESET_MAX + 1, &err));
    assert_int_equal(err.code, OE_E_LIMIT);
}

static void test_sysctl_parse(void **state)
{
    (void)state;
    long v = -7;
    assert_int_equal(verify_sysctl_parse("0\n", 2, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(verify_sysctl_parse("30\n", 3, &v), 0);
    assert_int_equal(v, 30);
    assert_int_equal(verify_sysctl_parse("-1", 2, &v), 0);
    assert_int_equal(v, -1);
    /* only what the kernel writes: one decimal, blanks and a newline around it */
    const char *bad[] = {"", "\n", "1 2\n", "x", "1x\n", "99999999999\n", "-\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(verify_sysctl_parse(bad[i], strlen(bad[i]), &v), -1);
    /* the length given, not a terminator: "1" of "12" */
    assert_int_equal(verify_sysctl_parse("12", 1, &v), 0);
    assert_int_equal(v, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drop_esp),
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_ssh_only),
        cmocka_unit_test(test_peers_only),
        cmocka_unit_test(test_jump_goto),
        cmocka_unit_test(test_vmap),
        cmocka_unit_test(test_families_and_chains),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_sysctl_parse),
        cmocka_unit_test(test_named_sets),
        cmocka_unit_test(test_icmp_pmtu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
