/* oe-agent/peers: the peer table's indexes against many peers and removals in any order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "oe-agent/peers.h"

#define PEERS 20000

static void addr_of(int i, struct oe_addr *a)
{
    char s[OE_ADDR_STRLEN];
    snprintf(s, sizeof(s), "2001:db8:%x::%x", i / 4096, i % 4096 + 1);
    assert_int_equal(oe_addr_parse(s, a), 0);
}

/* Issue 14: a peer is found by its pair and its instance without a walk, after any removals. */
static void test_peers_indexed(void **state)
{
    (void)state;
    struct peer_table t = {0};
    struct oe_addr local, remote;
    oe_addr_parse("2001:db8::1", &local);
    unsigned inst[PEERS];
    for (int i = 0; i < PEERS; i++) {
        addr_of(i, &remote);
        struct oe_peer *p = peer_add(&t, &local, &remote);
        assert_non_null(p);
        inst[i] = p->instance;
    }
    assert_int_equal(t.count, PEERS);
    for (int i = 0; i < PEERS; i += 2) { /* every other one goes */
        addr_of(i, &remote);
        struct oe_peer *p = peer_find(&t, &local, &remote);
        assert_non_null(p);
        assert_ptr_equal(peer_by_instance(&t, inst[i]), p);
        peer_remove(&t, p);
    }
    for (int i = 0; i < PEERS; i++) {
        addr_of(i, &remote);
        struct oe_peer *p = peer_find(&t, &local, &remote);
        if (i % 2) {
            assert_non_null(p);
            assert_int_equal(p->instance, inst[i]);
            assert_ptr_equal(peer_by_instance(&t, inst[i]), p);
        } else {
            assert_null(p);
            assert_null(peer_by_instance(&t, inst[i]));
        }
    }
    struct oe_addr other;
    oe_addr_parse("2001:db8::2", &other);
    addr_of(1, &remote);
    assert_null(peer_find(&t, &other, &remote)); /* the pair, not the remote alone */
    assert_non_null(peer_find(&t, NULL, &remote));
    size_t walked = 0;
    for (struct oe_peer *p = t.head; p; p = p->next)
        walked++;
    assert_int_equal(walked, PEERS / 2);
    peer_table_clear(&t);
    assert_int_equal(t.count, 0);
}

/* Issue 14: a peer by its IKE SA's serial without a walk, through new serials, growth and removals. */
static void test_peers_by_serial(void **state)
{
    (void)state;
    struct peer_table t = {0};
    struct oe_addr local, remote;
    oe_addr_parse("192.0.2.1", &local);
    for (int i = 0; i < PEERS; i++) {
        addr_of(i, &remote);
        struct oe_peer *p = peer_add(&t, &local, &remote);
        assert_non_null(p);
        if (i % 3)
            peer_set_serial(&t, p, (unsigned)(1000 + i)); /* every third has no IKE SA */
    }
    for (int i = 0; i < PEERS; i++) {
        struct oe_peer *p = peer_by_serial(&t, (unsigned)(1000 + i));
        if (i % 3 == 0) {
            assert_null(p);
            continue;
        }
        assert_non_null(p);
        addr_of(i, &remote);
        assert_true(oe_addr_eq(&p->remote, &remote));
        if (i % 3 == 1) {
            peer_set_serial(&t, p, (unsigned)(100000 + i)); /* its IKE SA rekeyed, or the twin stayed */
        } else {
            peer_remove(&t, p);
        }
    }
    for (int i = 0; i < PEERS; i++) {
        assert_null(peer_by_serial(&t, (unsigned)(1000 + i)));
        struct oe_peer *p = peer_by_serial(&t, (unsigned)(100000 + i));
        assert_true(i % 3 == 1 ? p != NULL : p == NULL);
    }
    assert_null(peer_by_serial(&t, 0));
    peer_table_clear(&t);
}

static size_t held_walk(const struct peer_table *t)
{
    size_t n = 0;
    for (const struct oe_peer *p = t->held; p; p = p->next_held) {
        assert_int_equal(p->state, PEER_HOLD);
        n++;
    }
    return n;
}

/* The held list (agent_holds.c walks it) is exactly the peers in PEER_HOLD, whatever the order of changes. */
static void test_peers_held_list(void **state)
{
    (void)state;
    struct peer_table t = {0};
    struct oe_addr local, remote;
    oe_addr_parse("2001:db8::1", &local);
    struct oe_peer *v[64];
    for (int i = 0; i < 64; i++) {
        addr_of(i, &remote);
        v[i] = peer_add(&t, &local, &remote);
        assert_non_null(v[i]);
    }
    assert_int_equal(held_walk(&t), 64);
    for (int i = 0; i < 64; i += 3)
        peer_set_state(&t, v[i], i % 2 ? PEER_TUNNEL : PEER_SHUNT_PASS);
    peer_set_state(&t, v[3], PEER_HOLD); /* back to a hold (a shunt expired, trapped again) */
    peer_set_state(&t, v[4], PEER_HOLD); /* a hold staying a hold */
    for (int i = 1; i < 64; i += 5)
        peer_remove(&t, v[i]);
    size_t want = 0;
    for (const struct oe_peer *p = t.head; p; p = p->next)
        want += p->state == PEER_HOLD;
    assert_int_equal(held_walk(&t), want);
    assert_int_equal(t.holds, want);
    peer_table_clear(&t);
    assert_null(t.held);
    assert_int_equal(t.holds, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peers_indexed),
        cmocka_unit_test(test_peers_by_serial),
        cmocka_unit_test(test_peers_held_list),
    };
    return cmocka_run_group_tests_name("peers", tests, NULL, NULL);
}
