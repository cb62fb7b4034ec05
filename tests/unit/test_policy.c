/* policy/: parsing, errors, lookup, compile and diff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"

static struct policy_set *build(const char *texts[POLICY_GROUP_COUNT], struct oe_error *err)
{
    struct policy_set *set = policy_set_new();
    for (int g = 0; g < POLICY_GROUP_COUNT; g++) {
        if (texts[g] == NULL)
            continue;
        if (policy_parse_group(set, (enum policy_group)g, texts[g], strlen(texts[g]),
                               policy_group_name((enum policy_group)g), err) != 0) {
            policy_set_free(set);
            return NULL;
        }
    }
    if (policy_finish(set, err) != 0) {
        policy_set_free(set);
        return NULL;
    }
    return set;
}

static struct policy_set *one_group(enum policy_group g, const char *text, struct oe_error *err)
{
    const char *t[POLICY_GROUP_COUNT] = {0};
    t[g] = text;
    return build(t, err);
}

static const struct policy_rule *look(struct policy_set *s, const char *a, uint8_t proto, uint16_t lport,
                                      uint16_t rport)
{
    struct oe_addr addr;
    assert_int_equal(oe_addr_parse(a, &addr), 0);
    return policy_lookup(s, &addr, proto, lport, rport);
}

static void expect_error(enum policy_group g, const char *text, const char *needle)
{
    struct oe_error err = {0};
    struct policy_set *s = one_group(g, text, &err);
    if (s != NULL || strstr(err.msg, needle) == NULL)
        fail_msg("for %s: wanted an error with \"%s\", got \"%s\"", text, needle, err.msg);
}

static void test_parse_ok(void **state)
{
    (void)state;
    struct oe_error err;
    struct policy_set *s = one_group(POLICY_PRIVATE,
                                     "# comment\n\n  192.0.2.0/24  # trailing\n"
                                     "198.51.100.7\n2001:db8::/32 tcp 0 443\r\n"
                                     "203.0.113.0/24 udp 500\n0.0.0.0/0",
                                     &err);
    assert_non_null(s);
    assert_int_equal(policy_rule_count(s), 5);
    const struct policy_rule *r = look(s, "198.51.100.7", 0, 0, 0);
    assert_non_null(r);
    assert_int_equal(r->line, 4);
    assert_int_equal(r->sel.peer.len, 32);
    r = look(s, "2001:db8::1", 6, 1234, 443);
    assert_non_null(r);
    assert_int_equal(r->line, 5);
    assert_int_equal(r->sel.rport, 443);
    assert_null(look(s, "2001:db8::1", 6, 1234, 80));
    policy_set_free(s);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_error(POLICY_PRIVATE, "192.0.2.0/24\n192.0.2.300/24\n", "private:2: bad CIDR");
    expect_error(POLICY_PRIVATE, "192.0.2.1/24\n", "private:1: host bits set");
    expect_error(POLICY_PRIVATE, "192.0.2.1/24\n", "did you mean 192.0.2.0/24");
    expect_error(POLICY_PRIVATE, "192.0.2.0/33\n", "prefix length must be 0..32");
    expect_error(POLICY_PRIVATE, "2001:db8::/129\n", "prefix length must be 0..128");
    expect_error(POLICY_PRIVATE, "192.0.2.0/\n", "prefix length");
    expect_error(POLICY_PRIVATE, "/24\n", "bad CIDR");
    expect_error(POLICY_BLOCK, "\n\n192.0.2.0/24 frob\n", "block:3: bad protocol \"frob\"");
    expect_error(POLICY_BLOCK, "192.0.2.0/24 256\n", "bad protocol");
    expect_error(POLICY_BLOCK, "192.0.2.0/24 tcp 65536\n", "bad source port \"65536\"");
    expect_error(POLICY_BLOCK, "192.0.2.0/24 tcp 0 -1\n", "bad destination port");
    expect_error(POLICY_BLOCK, "192.0.2.0/24 icmp 0 80\n", "protocol \"icmp\" has no ports");
    expect_error(POLICY_BLOCK, "192.0.2.0/24 tcp 1 2 3\n", "too many fields");
    expect_error(POLICY_CLEAR, "192.0.2.0/24\n192.0.2.0/24\n", "clear:2: selector already in clear:1");
    expect_error(POLICY_CLEAR, "x1234567890123456789012345678901234567890123456789012345678901234567890\n",
                 "field longer");
    const char nul[] = "192.0.2.0/24\n\0\n";
    struct oe_error err;
    struct policy_set *s = policy_set_new();
    assert_int_equal(policy_parse_group(s, POLICY_CLEAR, nul, sizeof(nul) - 1, "clear", &err), -1);
    assert_non_null(strstr(err.msg, "clear:2: NUL"));
    assert_int_equal(policy_rule_count(s), 0);
    policy_set_free(s);
}

static void test_same_selector_two_groups(void **state)
{
    (void)state;
    const char *t[POLICY_GROUP_COUNT] = {0};
    t[POLICY_CLEAR] = "10.0.0.0/8\n";
    t[POLICY_PRIVATE] = "# x\n10.0.0.0/8\n";
    struct oe_error err;
    assert_null(build(t, &err));
    assert_string_equal(err.msg, "private:2: selector already in clear:1");
    /* the same prefix with other ports is another selector */
    t[POLICY_PRIVATE] = "10.0.0.0/8 tcp 0 22\n";
    struct policy_set *s = build(t, &err);
    assert_non_null(s);
    policy_set_free(s);
}

static void test_longest_prefix(void **state)
{
    (void)state;
    const char *t[POLICY_GROUP_COUNT] = {0};
    t[POLICY_PRIVATE_OR_CLEAR] = "0.0.0.0/0\n::/0\n";
    t[POLICY_PRIVATE] = "10.0.0.0/8\n2001:db8::/32\n";
    t[POLICY_CLEAR] = "10.1.0.0/16\n10.1.2.3\n";
    t[POLICY_BLOCK] = "10.1.2.0/24\n10.255.255.255/32\n2001:db8:1::/48 tcp\n";
    struct oe_error err;
    struct policy_set *s = build(t, &err);
    assert_non_null(s);
    assert_int_equal(look(s, "192.0.2.1", 0, 0, 0)->group, POLICY_PRIVATE_OR_CLEAR);
    assert_int_equal(look(s, "10.0.0.0", 0, 0, 0)->group, POLICY_PRIVATE);
    assert_int_equal(look(s, "10.1.0.0", 0, 0, 0)->group, POLICY_CLEAR);
    assert_int_equal(look(s, "10.1.1.255", 0, 0, 0)->group, POLICY_CLEAR);
    assert_int_equal(look(s, "10.1.2.0", 0, 0, 0)->group, POLICY_BLOCK);
    assert_int_equal(look(s, "10.1.2.3", 0, 0, 0)->group, POLICY_CLEAR);
    assert_int_equal(look(s, "10.1.2.4", 0, 0, 0)->group, POLICY_BLOCK);
    assert_int_equal(look(s, "10.1.3.0", 0, 0, 0)->group, POLICY_CLEAR);
    assert_int_equal(look(s, "10.2.0.0", 0, 0, 0)->group, POLICY_PRIVATE);
    assert_int_equal(look(s, "10.255.255.254", 0, 0, 0)->group, POLICY_PRIVATE);
    assert_int_equal(look(s, "10.255.255.255", 0, 0, 0)->group, POLICY_BLOCK);
    assert_int_equal(look(s, "11.0.0.0", 0, 0, 0)->group, POLICY_PRIVATE_OR_CLEAR);
    assert_int_equal(look(s, "255.255.255.255", 0, 0, 0)->group, POLICY_PRIVATE_OR_CLEAR);
    assert_int_equal(look(s, "2001:db8:1::1", 6, 0, 0)->group, POLICY_BLOCK);
    assert_int_equal(look(s, "2001:db8:1::1", 17, 0, 0)->group, POLICY_PRIVATE);
    assert_int_equal(look(s, "2001:db9::1", 17, 0, 0)->group, POLICY_PRIVATE_OR_CLEAR);
    assert_int_equal(look(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, 0, 0)->group, POLICY_PRIVATE_OR_CLEAR);
    policy_set_free(s);
}

static void test_ports_and_proto(void **state)
{
    (void)state;
    const char *t[POLICY_GROUP_COUNT] = {0};
    t[POLICY_PRIVATE] = "192.0.2.0/24\n";
    t[POLICY_CLEAR] = "192.0.2.0/24 tcp\n192.0.2.0/24 tcp 0 80\n192.0.2.0/24 udp 53\n";
    t[POLICY_BLOCK] = "192.0.2.0/24 tcp 1000 80\n";
    struct oe_error err;
    struct policy_set *s = build(t, &err);
    assert_non_null(s);
    assert_int_equal(look(s, "192.0.2.9", 1, 0, 0)->group, POLICY_PRIVATE);
    assert_int_equal(look(s, "192.0.2.9", 6, 5, 22)->group, POLICY_CLEAR);
    assert_int_equal(look(s, "192.0.2.9", 6, 5, 80)->line, 2);
    assert_int_equal(look(s, "192.0.2.9", 6, 1000, 80)->group, POLICY_BLOCK);
    assert_int_equal(look(s, "192.0.2.9", 17, 53, 9)->group, POLICY_CLEAR);
    assert_int_equal(look(s, "192.0.2.9", 17, 54, 9)->group, POLICY_PRIVATE);
    assert_null(look(s, "198.51.100.1", 6, 0, 0));
    policy_set_free(s);
}

/* Compare lookups on random addresses against a linear scan. */
static void test_lookup_matches_linear_scan(void **state)
{
    (void)state;
    char *text = malloc(1 << 20);
    size_t len = 0;
    srand(7);
    for (int i = 0; i < 3000; i++) {
        unsigned l = (unsigned)(rand() % 25) + 8;
        uint32_t a = ((uint32_t)rand() << 16 ^ (uint32_t)rand()) & (0xffffffffu << (32 - l));
        a = (a & 0x00ffffffu) | 0x0a000000u; /* all inside 10/8 to nest a lot */
        if (l < 8)
            continue;
        len += (size_t)sprintf(text + len, "%u.%u.%u.%u/%u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, l);
    }
    /* random prefixes collide; keep the first of each */
    struct policy_set *s = policy_set_new();
    struct oe_error err;
    char *p = text, *line;
    struct policy_set *probe = policy_set_new();
    char *dedup = malloc(1 << 20);
    size_t dlen = 0;
    while ((line = strsep(&p, "\n")) != NULL && *line) {
        struct oe_prefix pre;
        int dup = 0;
        oe_prefix_parse(line, &pre, &err);
        for (size_t i = 0; i < policy_rule_count(probe); i++)
            if (oe_prefix_cmp(&policy_rule_at(probe, i)->sel.peer, &pre) == 0)
                dup = 1;
        if (!dup) {
            policy_parse_group(probe, POLICY_PRIVATE, line, strlen(line), "x", &err);
            dlen += (size_t)sprintf(dedup + dlen, "%s\n", line);
        }
    }
    assert_int_equal(policy_parse_group(s, POLICY_PRIVATE, dedup, dlen, "private", &err), 0);
    assert_int_equal(policy_finish(s, &err), 0);
    for (int i = 0; i < 20000; i++) {
        struct oe_addr a = {.family = 2};
        uint32_t v = 0x0a000000u | (((uint32_t)rand() << 8 ^ (uint32_t)rand()) & 0xffffffu);
        a.bytes[0] = (uint8_t)(v >> 24), a.bytes[1] = (uint8_t)(v >> 16);
        a.bytes[2] = (uint8_t)(v >> 8), a.bytes[3] = (uint8_t)v;
        const struct policy_rule *best = NULL;
        for (size_t r = 0; r < policy_rule_count(s); r++) {
            const struct policy_rule *c = policy_rule_at(s, r);
            if (oe_prefix_contains(&c->sel.peer, &a) && (!best || c->sel.peer.len > best->sel.peer.len))
                best = c;
        }
        assert_ptr_equal(policy_lookup(s, &a, 0, 0, 0), best);
    }
    policy_set_free(s);
    policy_set_free(probe);
    free(text);
    free(dedup);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_load_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/oe-policy-XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "private", "192.0.2.0/24\n");
    write_file(dir, "clear", "192.0.2.1\n");
    struct policy_set *s = NULL;
    struct oe_error err;
    assert_int_equal(policy_load(dir, &s, &err), 0);
    assert_int_equal(policy_rule_count(s), 2);
    assert_non_null(strstr(policy_group_file(s, POLICY_PRIVATE), "/private"));
    write_file(dir, "block", "ok\n");
    struct policy_set *s2 = s;
    assert_int_equal(policy_load(dir, &s2, &err), -1);
    assert_ptr_equal(s2, s); /* untouched: the old set stays in force */
    assert_non_null(strstr(err.msg, "/block:1: bad CIDR \"ok\""));
    policy_set_free(s);
    char path[512];
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(policy_load(path, &s2, &err), -1);
    assert_non_null(strstr(err.msg, "policy directory not found"));
    for (int g = 0; g < POLICY_GROUP_COUNT; g++) {
        snprintf(path, sizeof(path), "%s/%s", dir, policy_group_name((enum policy_group)g));
        unlink(path);
    }
    rmdir(dir);
}

static void test_compile(void **state)
{
    (void)state;
    const char *t[POLICY_GROUP_COUNT] = {0};
    t[POLICY_PRIVATE_OR_CLEAR] = "192.0.2.0/24\n";
    t[POLICY_PRIVATE] = "198.51.100.0/24\n";
    t[POLICY_CLEAR] = "192.0.2.1\n";
    t[POLICY_CLEAR_OR_PRIVATE] = "192.0.2.2\n";
    t[POLICY_BLOCK] = "203.0.113.0/24\n";
    struct oe_error err;
    struct policy_set *s = build(t, &err);
    struct policy_compiled c;
    assert_int_equal(policy_compile(s, &c, &err), 0);
    assert_int_equal(c.n, 10);
    int trap = 0, drop = 0, pass = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (i > 0)
            assert_true(policy_kernel_cmp(&c.v[i - 1], &c.v[i]) < 0);
        trap += c.v[i].action == POLICY_ACTION_TRAP;
        drop += c.v[i].action == POLICY_ACTION_DROP;
        pass += c.v[i].action == POLICY_ACTION_PASS;
        if (c.v[i].action == POLICY_ACTION_TRAP)
            assert_int_equal(c.v[i].dir, POLICY_DIR_OUT);
    }
    assert_int_equal(trap, 2);
    assert_int_equal(drop, 2); /* block: out and in */
    assert_int_equal(pass, 6);
    policy_compiled_free(&c);
    policy_set_free(s);
}

struct counts {
    int add, remove, replace;
    char last[64];
};

static int count_add(const struct policy_kernel *k, void *arg)
{
    struct counts *c = arg;
    c->add++;
    oe_prefix_str(&k->sel.peer, c->last);
    return 0;
}
static int count_remove(const struct policy_kernel *k, void *arg)
{
    (void)k;
    ((struct counts *)arg)->remove++;
    return 0;
}
static int count_replace(const struct policy_kernel *a, const struct policy_kernel *b, void *arg)
{
    (void)a;
    (void)b;
    ((struct counts *)arg)->replace++;
    return 0;
}
static int fail_add(const struct policy_kernel *k, void *arg)
{
    (void)k;
    (void)arg;
    return -5;
}

static void test_diff(void **state)
{
    (void)state;
    const char *t[POLICY_GROUP_COUNT] = {0};
    struct oe_error err;
    t[POLICY_PRIVATE] = "192.0.2.0/24\n198.51.100.0/24\n";
    t[POLICY_CLEAR] = "203.0.113.0/24\n";
    struct policy_set *a = build(t, &err);
    t[POLICY_PRIVATE] = "192.0.2.0/24\n198.51.100.0/25\n"; /* one line edited */
    t[POLICY_CLEAR] = NULL;
    t[POLICY_PRIVATE_OR_CLEAR] = "203.0.113.0/24\n"; /* moved group */
    struct policy_set *b = build(t, &err);
    struct policy_compiled ca, cb;
    policy_compile(a, &ca, &err);
    policy_compile(b, &cb, &err);
    struct counts n = {0};
    struct policy_diff_ops ops = {count_add, count_remove, count_replace};
    assert_int_equal(policy_diff(&ca, &cb, &ops, &n), 5);
    assert_int_equal(n.add, 2);     /* /25 out and in */
    assert_int_equal(n.remove, 2);  /* /24 out and in */
    assert_int_equal(n.replace, 1); /* 203.0.113.0/24 out: pass -> trap; in stays pass */
    memset(&n, 0, sizeof(n));
    assert_int_equal(policy_diff(&ca, &ca, &ops, &n), 0);
    struct policy_diff_ops failing = {fail_add, count_remove, count_replace};
    struct policy_compiled empty = {0};
    assert_int_equal(policy_diff(&empty, &ca, &failing, &n), -5);
    policy_compiled_free(&ca);
    policy_compiled_free(&cb);
    policy_set_free(a);
    policy_set_free(b);
}

/* The order of a diff's callbacks: 'a'dd, 'r'emove, 'c'hange (replace). */
struct order {
    char seq[64];
    size_t n;
};
static int order_add(const struct policy_kernel *k, void *arg)
{
    (void)k;
    struct order *o = arg;
    o->seq[o->n++] = 'a';
    return 0;
}
static int order_remove(const struct policy_kernel *k, void *arg)
{
    (void)k;
    struct order *o = arg;
    o->seq[o->n++] = 'r';
    return 0;
}
static int order_replace(const struct policy_kernel *a, const struct policy_kernel *b, void *arg)
{
    (void)a;
    (void)b;
    struct order *o = arg;
    o->seq[o->n++] = 'c';
    return 0;
}

/*
 * Issue 9, "Low": reload order. Re-splitting a private /24 into two /25s
 * must install the /25s before the /24 goes, or the prefix has no policy
 * (clear) for a few netlink round trips.
 */
static void test_reload_order_adds_before_removes(void **state)
{
    (void)state;
    const char *t[POLICY_GROUP_COUNT] = {0};
    struct oe_error err;
    t[POLICY_PRIVATE] = "203.0.113.0/24\n";
    t[POLICY_CLEAR] = "192.0.2.0/24\n";
    struct policy_set *a = build(t, &err);
    t[POLICY_PRIVATE] = "203.0.113.0/25\n203.0.113.128/25\n";
    t[POLICY_CLEAR] = NULL;
    t[POLICY_BLOCK] = "192.0.2.0/24\n";
    struct policy_set *b = build(t, &err);
    struct policy_compiled ca, cb;
    policy_compile(a, &ca, &err);
    policy_compile(b, &cb, &err);
    struct order o = {0};
    struct policy_diff_ops ops = {order_add, order_remove, order_replace};
    assert_int_equal(policy_diff(&ca, &cb, &ops, &o), 8);
    assert_string_equal(o.seq, "ccaaaarr");
    policy_compiled_free(&ca);
    policy_compiled_free(&cb);
    policy_set_free(a);
    policy_set_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_same_selector_two_groups),
        cmocka_unit_test(test_longest_prefix),
        cmocka_unit_test(test_ports_and_proto),
        cmocka_unit_test(test_lookup_matches_linear_scan),
        cmocka_unit_test(test_load_dir),
        cmocka_unit_test(test_compile),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_reload_order_adds_before_removes),
    };
    return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
