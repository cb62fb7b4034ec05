/* The agent's core against the fake kernel: start, ACQUIRE, shunts, reload, restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "oe-agent/agent.h"
#include "oe-agent/ike/ike.h"
#include "oe-agent/log.h"

struct fixture {
    char dir[64];
    struct oe_config cfg;
    struct kernel *k;
    struct agent *a;
    struct oe_buf log;
};

static struct kernel *clock_kernel;

static time_t fake_now(void)
{
    return (time_t)kernel_fake_now(clock_kernel);
}

static void write_group(struct fixture *f, const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static uint32_t max_peers; /* a test's max-peers; 0: the default */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/oe-agent-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    write_group(f, "private-or-clear", "198.51.100.0/24\n2001:db8:1::/48\n");
    write_group(f, "private", "203.0.113.0/24\n");
    write_group(f, "clear", "198.51.100.128/25\n");
    write_group(f, "block", "192.0.2.128/25\n");
    oe_config_defaults(&f->cfg);
    snprintf(f->cfg.policies, sizeof(f->cfg.policies), "%s", f->dir);
    struct oe_error err;
    assert_int_equal(oe_config_set(&f->cfg, "resolver", "192.0.2.54", &err), 0);
    f->cfg.ike = false; /* no sockets here: negotiation has its own tests */
    if (max_peers)
        f->cfg.max_peers = max_peers;
    f->k = kernel_fake_new();
    f->a = agent_new(&f->cfg, f->k);
    clock_kernel = f->k;
    agent_set_clock(f->a, fake_now);
    oe_log_capture(&f->log);
    assert_int_equal(agent_start(f->a, &err), 0);
    *state = f;
    return 0;
}

static int setup_two_peers(void **state)
{
    max_peers = 2;
    int rc = setup(state);
    max_peers = 0;
    return rc;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    agent_free(f->a);
    kernel_close(f->k);
    oe_log_capture(NULL);
    oe_buf_free(&f->log);
    const char *groups[] = {"clear", "clear-or-private", "private-or-clear", "private", "block"};
    for (int i = 0; i < 5; i++) {
        char path[128];
        snprintf(path, sizeof(path), "%s/%s", f->dir, groups[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static int packet(struct fixture *f, const char *src, const char *dst, uint8_t proto)
{
    struct oe_addr s, d;
    assert_int_equal(oe_addr_parse(src, &s), 0);
    assert_int_equal(oe_addr_parse(dst, &d), 0);
    return kernel_fake_packet(f->k, &s, &d, proto, 40000, 80);
}

static int packet_port(struct fixture *f, const char *src, const char *dst, uint8_t proto, uint16_t dport)
{
    struct oe_addr s, d;
    assert_int_equal(oe_addr_parse(src, &s), 0);
    assert_int_equal(oe_addr_parse(dst, &d), 0);
    return kernel_fake_packet(f->k, &s, &d, proto, 40000, dport);
}

static void events(struct fixture *f)
{
    struct oe_error err;
    kernel_process(f->k, agent_kernel_event, f->a, &err);
}

static bool logged(struct fixture *f, const char *needle)
{
    return f->log.p && strstr(f->log.p, needle);
}

static size_t policy_count(struct fixture *f)
{
    struct kernel_policy *v;
    size_t n;
    struct oe_error err;
    assert_int_equal(kernel_list(f->k, &v, &n, &err), 0);
    free(v);
    return n;
}

static void test_start_installs_groups_and_exemptions(void **state)
{
    struct fixture *f = *state;
    /* 5 lines x (out, in) + ND 5 types x 2 dirs + DNS 2 protos x 2 dirs; IKE bypasses per socket */
    assert_int_equal(policy_count(f), 10 + 10 + 4);
    assert_true(logged(f, "exempting the agent's own traffic"));
    assert_true(logged(f, "192.0.2.54 port 53"));
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.7", 1), KERNEL_TRAP);
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.200", 1), KERNEL_PASS);
    assert_int_equal(packet(f, "192.0.2.1", "192.0.2.200", 1), KERNEL_DROP);
    assert_int_equal(packet(f, "192.0.2.1", "192.0.2.100", 1), -1);
    /* the resolver is never trapped, even inside a trapped range; IKE ports of any socket are */
    write_group(f, "private", "203.0.113.0/24\n0.0.0.0/0\n");
    struct oe_error err;
    assert_int_equal(agent_reload(f->a, &err), 0);
    struct oe_addr s, d;
    oe_addr_parse("192.0.2.1", &s);
    oe_addr_parse("192.0.2.54", &d);
    assert_int_equal(kernel_fake_packet(f->k, &s, &d, 17, 40000, 53), KERNEL_PASS);
    assert_int_equal(kernel_fake_packet(f->k, &s, &d, 17, 500, 500), KERNEL_TRAP);
    assert_int_equal(kernel_fake_packet(f->k, &s, &d, 17, 40000, 54), KERNEL_TRAP);
}

/* Finding 7: no global exemption for UDP 500/4500; only the agent's sockets bypass (ike_io.c). */
static void test_finding7_ike_ports_of_other_sockets_not_exempt(void **state)
{
    struct fixture *f = *state;
    struct oe_addr s, priv, blocked;
    oe_addr_parse("192.0.2.1", &s);
    oe_addr_parse("203.0.113.9", &priv);
    oe_addr_parse("192.0.2.200", &blocked);
    assert_int_equal(kernel_fake_packet(f->k, &s, &priv, 17, 4500, 4500), KERNEL_TRAP);
    assert_int_equal(kernel_fake_packet(f->k, &s, &priv, 17, 500, 7777), KERNEL_TRAP);
    assert_int_equal(kernel_fake_packet(f->k, &s, &blocked, 17, 4500, 7777), KERNEL_DROP);
    /* what an older agent left in the exempt slot goes at the next start */
    struct kernel_policy old = {
        .dir = KERNEL_DIR_OUT, .proto = 17, .sport = 4500, .action = KERNEL_PASS, .origin = KERNEL_ORIGIN_EXEMPT};
    oe_prefix_any(AF_INET, &old.src);
    oe_prefix_any(AF_INET, &old.dst);
    struct oe_error err;
    assert_int_equal(kernel_install(f->k, &old, &err), 0);
    struct agent *b = agent_new(&f->cfg, f->k);
    agent_set_clock(b, fake_now);
    assert_int_equal(agent_start(b, &err), 0);
    assert_int_equal(kernel_fake_packet(f->k, &s, &priv, 17, 4500, 7777), KERNEL_TRAP);
    assert_true(logged(f, "removed 1 exemptions a previous run left that are no longer wanted"));
    agent_free(b);
}

static void test_acquire_pass_shunt_then_retrap(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.7", 1), KERNEL_TRAP);
    events(f);
    assert_true(logged(
        f, "\"private-or-clear#198.51.100.0/24\"[1] 198.51.100.7: ACQUIRE from 192.0.2.1 (icmp): holding packets"));
    assert_true(logged(f, "installed failure shunt pass for 900s"));
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.7", 1), KERNEL_PASS);
    /* a neighbour in the same /24 is still trapped */
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.8", 1), KERNEL_TRAP);
    kernel_fake_advance(f->k, 899);
    events(f);
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.7", 1), KERNEL_PASS);
    kernel_fake_advance(f->k, 1);
    events(f);
    assert_true(logged(f, "198.51.100.7: pass shunt expired after 900s; peer trapped again"));
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.7", 1), KERNEL_TRAP);
    events(f);
    assert_true(logged(f, "[3] 198.51.100.7: ACQUIRE"));
}

/* Issue 14: max-peers is a setting; reaching it is said once, with its name, until there is room. */
static void test_max_peers(void **state)
{
    struct fixture *f = *state;
    for (int i = 1; i <= 4; i++) {
        char dst[32];
        snprintf(dst, sizeof(dst), "198.51.100.%d", i);
        assert_int_equal(packet(f, "192.0.2.1", dst, 1), KERNEL_TRAP);
    }
    events(f);
    assert_true(logged(f, "198.51.100.2: ACQUIRE from 192.0.2.1"));
    assert_false(logged(f, "198.51.100.3: ACQUIRE from 192.0.2.1"));
    const char *full = "peer table full (max-peers 2)";
    assert_true(logged(f, "192.0.2.1 -> 198.51.100.3: peer table full (max-peers 2)"));
    assert_null(strstr(strstr(f->log.p, full) + 1, full)); /* once, not for 198.51.100.4 */
    /* the trap stays: once a shunt ends, the next packet gets its peer */
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.4", 1), KERNEL_TRAP);
    kernel_fake_advance(f->k, 900);
    events(f);
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.4", 1), KERNEL_TRAP);
    events(f);
    assert_true(logged(f, "198.51.100.4: ACQUIRE from 192.0.2.1"));
}

static void test_private_drops(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(packet(f, "192.0.2.1", "203.0.113.9", 6), KERNEL_TRAP);
    events(f);
    assert_true(logged(f, "\"private#203.0.113.0/24\"[1] 203.0.113.9"));
    assert_true(logged(f, "installed failure shunt drop for 900s"));
    assert_int_equal(packet(f, "192.0.2.1", "203.0.113.9", 6), KERNEL_DROP);
}

static void test_ipv6_and_config_shunt(void **state)
{
    struct fixture *f = *state;
    f->cfg.groups[POLICY_PRIVATE_OR_CLEAR].failure_shunt = OE_SHUNT_DROP;
    f->cfg.groups[POLICY_PRIVATE_OR_CLEAR].shunt_lifetime = 5;
    assert_int_equal(packet(f, "2001:db8::1", "2001:db8:1::7", 58), KERNEL_TRAP);
    events(f);
    assert_true(logged(f, "\"private-or-clear#2001:db8:1::/48\"[1] 2001:db8:1::7"));
    assert_int_equal(packet(f, "2001:db8::1", "2001:db8:1::7", 58), KERNEL_DROP);
    kernel_fake_advance(f->k, 5);
    events(f);
    assert_int_equal(packet(f, "2001:db8::1", "2001:db8:1::7", 58), KERNEL_TRAP);
}

static void test_duplicate_and_unexpected_acquire(void **state)
{
    struct fixture *f = *state;
    packet(f, "192.0.2.1", "198.51.100.7", 1);
    events(f);
    unsigned long before = kernel_fake_changes(f->k);
    /* the same flow twice before the shunt lands: the second is a no-op */
    struct kernel_event ev = {.type = KERNEL_EV_ACQUIRE};
    oe_addr_parse("192.0.2.1", &ev.src);
    oe_addr_parse("198.51.100.7", &ev.dst);
    agent_kernel_event(&ev, f->a);
    assert_int_equal(kernel_fake_changes(f->k), before);
    oe_addr_parse("192.0.2.100", &ev.dst);
    agent_kernel_event(&ev, f->a);
    assert_true(logged(f, "ACQUIRE 192.0.2.1 -> 192.0.2.100 (0) ignored: no trapping group"));
    assert_int_equal(kernel_fake_changes(f->k), before);
}

static void test_reload_touches_only_changes(void **state)
{
    struct fixture *f = *state;
    struct oe_error err;
    unsigned long before = kernel_fake_changes(f->k);
    write_group(f, "private", "203.0.113.0/25\n");
    assert_int_equal(agent_reload(f->a, &err), 0);
    /* old /24 out+in removed, new /25 out+in added */
    assert_int_equal(kernel_fake_changes(f->k) - before, 4);
    assert_true(logged(f, "kernel: 2 added, 2 removed, 0 changed"));
    before = kernel_fake_changes(f->k);
    write_group(f, "private", "203.0.113.0/25\n");
    write_group(f, "clear", "198.51.100.128/25\n198.51.100.1/32 tcp 0 22\n");
    write_group(f, "block", "192.0.2.128/25\nnot-an-address\n");
    assert_int_equal(agent_reload(f->a, &err), -1);
    assert_non_null(strstr(err.msg, "/block:2: bad CIDR"));
    assert_int_equal(kernel_fake_changes(f->k), before); /* nothing touched */
    assert_int_equal(packet(f, "192.0.2.1", "192.0.2.200", 1), KERNEL_DROP);
    /* a group move that keeps the out action (clear -> clear-or-private) touches nothing */
    write_group(f, "block", "192.0.2.128/25\n");
    write_group(f, "clear", "");
    write_group(f, "clear-or-private", "198.51.100.128/25\n");
    assert_int_equal(agent_reload(f->a, &err), 0);
    assert_int_equal(kernel_fake_changes(f->k), before);
}

static void test_restart_replaces_previous_run(void **state)
{
    struct fixture *f = *state;
    packet(f, "192.0.2.1", "198.51.100.7", 1);
    events(f);
    size_t n = policy_count(f);
    /* a second agent on the same kernel, as after SIGKILL */
    struct agent *b = agent_new(&f->cfg, f->k);
    agent_set_clock(b, fake_now);
    struct oe_error err;
    unsigned long before = kernel_fake_changes(f->k);
    assert_int_equal(agent_start(b, &err), 0);
    assert_true(logged(f, "0 added, 0 removed, 0 changed, 10 kept from a previous run, 1 stale"));
    assert_int_equal(kernel_fake_changes(f->k) - before, 1); /* only the stale shunt went */
    assert_int_equal(policy_count(f), n - 1);
    agent_free(b);
}

static void add_sa(struct fixture *f, uint32_t spi, uint32_t reqid)
{
    struct kernel_sa sa;
    struct oe_error err;
    memset(&sa, 0, sizeof(sa));
    sa.spi = spi;
    assert_int_equal(oe_addr_parse("192.0.2.1", &sa.src), 0);
    assert_int_equal(oe_addr_parse("198.51.100.7", &sa.dst), 0);
    sa.reqid = reqid;
    assert_int_equal(kernel_sa_add(f->k, &sa, &err), 0);
}

static bool has_sa(struct fixture *f, uint32_t spi)
{
    struct oe_addr dst;
    struct kernel_sa_stats st;
    struct oe_error err;
    assert_int_equal(oe_addr_parse("198.51.100.7", &dst), 0);
    return kernel_sa_stats(f->k, spi, &dst, &st, &err) == 0;
}

/* Issue 11: the SAs of a killed agent's tunnels (its reqids) go when the next one starts; no one else's. */
static void test_restart_removes_previous_run_sas(void **state)
{
    struct fixture *f = *state;
    add_sa(f, 0x1001, IKE_REQID_FIRST);
    add_sa(f, 0x1002, IKE_REQID_FIRST + 77);
    add_sa(f, 0x2001, 16384); /* another daemon's, say */
    struct agent *b = agent_new(&f->cfg, f->k);
    agent_set_clock(b, fake_now);
    struct oe_error err;
    assert_int_equal(agent_start(b, &err), 0);
    assert_true(logged(f, "removed 2 ESP SAs a previous run left"));
    assert_false(has_sa(f, 0x1001));
    assert_false(has_sa(f, 0x1002));
    assert_true(has_sa(f, 0x2001));
    agent_free(b);
}

static void test_stop_fails_closed(void **state)
{
    struct fixture *f = *state;
    agent_stop(f->a);
    /* private (out trap, in pass) and block (out, in) and the 14 exemptions stay */
    assert_int_equal(policy_count(f), 4 + 14);
    assert_int_equal(packet(f, "192.0.2.1", "203.0.113.9", 1), KERNEL_TRAP);
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.7", 1), -1);
    assert_true(logged(f, "shutting down: removed 6 kernel policies, kept 18"));
}

static void test_control_requests(void **state)
{
    struct fixture *f = *state;
    struct oe_buf out = {0};
    packet(f, "192.0.2.1", "203.0.113.9", 1);
    events(f);
    assert_int_equal(agent_control(f->a, "eroute", &out), 0);
    assert_non_null(strstr(out.p, "0.0.0.0/0            -> 198.51.100.0/24      => %trap private-or-clear"));
    assert_non_null(strstr(out.p, "192.0.2.1/32         -> 203.0.113.9/32       => %drop private (900s left)"));
    oe_buf_free(&out);
    assert_int_equal(agent_control(f->a, "eroute --json", &out), 0);
    assert_non_null(strstr(out.p, "\"action\": \"drop\", \"origin\": \"peer\", \"group\": \"private\""));
    oe_buf_free(&out);
    assert_int_equal(agent_control(f->a, "explain 203.0.113.9", &out), 0);
    assert_non_null(strstr(out.p, "203.0.113.9: group private, "));
    assert_non_null(strstr(out.p, "/private:1: 203.0.113.0/24"));
    assert_non_null(strstr(out.p, "live: \"private#203.0.113.0/24\"[1] 203.0.113.9 from 192.0.2.1: drop shunt since"));
    oe_buf_free(&out);
    assert_int_equal(agent_control(f->a, "explain 203.0.113.9 --json", &out), 0);
    assert_non_null(strstr(out.p, "\"live\": {\"state\": \"drop shunt\""));
    oe_buf_free(&out);
    assert_int_equal(agent_control(f->a, "explain 10.0.0.1", &out), 0);
    assert_non_null(strstr(out.p, "no policy group covers it"));
    oe_buf_free(&out);
    assert_int_equal(agent_control(f->a, "explain 10.0.0.300", &out), -1);
    assert_non_null(strstr(out.p, "not an IP address"));
    oe_buf_free(&out);
    assert_int_equal(agent_control(f->a, "frobnicate", &out), -1);
    assert_non_null(strstr(out.p, "unknown request \"frobnicate\""));
    oe_buf_free(&out);
    assert_int_equal(agent_control(f->a, "", &out), -1);
    oe_buf_free(&out);
    write_group(f, "private", "203.0.113.1/24\n");
    assert_int_equal(agent_control(f->a, "reload", &out), -1);
    assert_non_null(strstr(out.p, "old policy stays in force"));
    assert_non_null(strstr(out.p, "host bits set"));
    oe_buf_free(&out);
}

static void test_kernel_failure_is_logged(void **state)
{
    struct fixture *f = *state;
    packet(f, "192.0.2.1", "198.51.100.7", 1);
    kernel_fake_set_failure(f->k, 105 /* ENOBUFS */);
    events(f);
    assert_true(logged(f, "cannot install hold: install policy: No buffer space available"));
    assert_true(logged(f, "cannot install failure shunt: install policy"));
    kernel_fake_set_failure(f->k, 0);
}

/*
 * Issue 9 finding 4: a failed attempt on tcp/80 under a wide line used to
 * install a host-wide /32 pass shunt that beat the port-scoped private and
 * block lines of that host (the kernel ranks by prefix length first).
 */
static void test_port_rule_overridden_by_host_shunt(void **state)
{
    struct fixture *f = *state;
    struct oe_error err;
    write_group(f, "private-or-clear", "0.0.0.0/0\n");
    write_group(f, "private", "203.0.113.0/24 tcp 0 443\n");
    write_group(f, "block", "203.0.113.0/24 tcp 0 23\n");
    write_group(f, "clear", "");
    assert_int_equal(agent_reload(f->a, &err), 0);
    assert_int_equal(packet_port(f, "192.0.2.1", "203.0.113.10", 6, 23), KERNEL_DROP);
    assert_int_equal(packet_port(f, "192.0.2.1", "203.0.113.10", 6, 80), KERNEL_TRAP);
    events(f);
    assert_true(logged(f, "installed failure shunt pass"));
    assert_int_equal(packet_port(f, "192.0.2.1", "203.0.113.10", 6, 80), KERNEL_PASS);
    /* the port-scoped lines keep their trap and drop for that host */
    assert_int_equal(packet_port(f, "192.0.2.1", "203.0.113.10", 6, 443), KERNEL_TRAP);
    assert_int_equal(packet_port(f, "192.0.2.1", "203.0.113.10", 6, 23), KERNEL_DROP);
    assert_int_equal(packet_port(f, "192.0.2.1", "203.0.113.10", 17, 443), KERNEL_PASS);
}

/* A shunt made under a port-scoped line covers only that line's ports. */
static void test_port_rule_shunt_keeps_its_ports(void **state)
{
    struct fixture *f = *state;
    struct oe_error err;
    write_group(f, "private-or-clear", "0.0.0.0/0\n");
    write_group(f, "private", "203.0.113.0/24 tcp 0 443\n");
    write_group(f, "block", "203.0.113.0/24 tcp 0 23\n");
    write_group(f, "clear", "");
    assert_int_equal(agent_reload(f->a, &err), 0);
    assert_int_equal(packet_port(f, "192.0.2.1", "203.0.113.10", 6, 443), KERNEL_TRAP);
    events(f);
    assert_true(logged(f, "\"private#203.0.113.0/24\"[1] 203.0.113.10: ACQUIRE"));
    assert_true(logged(f, "installed failure shunt drop"));
    assert_int_equal(packet_port(f, "192.0.2.1", "203.0.113.10", 6, 443), KERNEL_DROP);
    /* tcp/80 is private-or-clear's, not the drop shunt's */
    assert_int_equal(packet_port(f, "192.0.2.1", "203.0.113.10", 6, 80), KERNEL_TRAP);
}

/*
 * Issue 9 finding 5: a reload that moves a shunted peer into private must
 * take its pass shunt away at once, not after the shunt's 15 minutes.
 */
static void test_reload_keeps_pass_shunt(void **state)
{
    struct fixture *f = *state;
    struct oe_error err;
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.7", 1), KERNEL_TRAP);
    assert_int_equal(packet(f, "192.0.2.1", "203.0.113.9", 1), KERNEL_TRAP);
    events(f);
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.7", 1), KERNEL_PASS);
    assert_int_equal(packet(f, "192.0.2.1", "203.0.113.9", 1), KERNEL_DROP);
    write_group(f, "private-or-clear", "2001:db8:1::/48\n");
    write_group(f, "private", "203.0.113.0/24\n198.51.100.0/24\n");
    assert_int_equal(agent_reload(f->a, &err), 0);
    assert_true(logged(f, "198.51.100.7: pass shunt removed on reload: its group is now private"));
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.7", 1), KERNEL_TRAP);
    /* a shunt whose line did not change stays */
    assert_int_equal(packet(f, "192.0.2.1", "203.0.113.9", 1), KERNEL_DROP);
    events(f);
    assert_true(logged(f, "\"private#198.51.100.0/24\"[3] 198.51.100.7: ACQUIRE"));
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.7", 1), KERNEL_DROP);
    /* and a peer whose host is no longer covered at all loses its shunt too */
    write_group(f, "private", "203.0.113.0/24\n");
    assert_int_equal(agent_reload(f->a, &err), 0);
    assert_true(logged(f, "198.51.100.7: drop shunt removed on reload: no group covers it now"));
    assert_int_equal(packet(f, "192.0.2.1", "198.51.100.7", 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_installs_groups_and_exemptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finding7_ike_ports_of_other_sockets_not_exempt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acquire_pass_shunt_then_retrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_peers, setup_two_peers, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_and_config_shunt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_unexpected_acquire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_touches_only_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_replaces_previous_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_removes_previous_run_sas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_fails_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kernel_failure_is_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_rule_overridden_by_host_shunt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_rule_shunt_keeps_its_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_keeps_pass_shunt, setup, teardown),
    };
    return cmocka_run_group_tests_name("agent", tests, NULL, NULL);
}
