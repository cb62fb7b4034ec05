/*
 * The IKE core alone (libike.a with common, NSS and GMP; nothing else is
 * linked): a whole exchange, IKE_SA_INIT, IKE_AUTH with NULL authentication
 * and the Child SA, then a Delete, replayed byte for byte from a fixed seed.
 * MODP group 14 only, since ECDH key pairs are made inside NSS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pk11pub.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oe-agent/ike/ike.h"
#include "tests/lib/seeded_random.h"

struct end {
    struct ike_core *core;
    struct ike_endpoint ep;
    struct ike_actions acts;
    struct seeded rng;
    int ups;
};

/* What went on the wire, in order: one direction octet, a length, the datagram. */
struct transcript {
    uint8_t *p;
    size_t len;
};

static void record(struct transcript *t, uint8_t dir, const uint8_t *msg, size_t len)
{
    t->p = realloc(t->p, t->len + 5 + len);
    assert_non_null(t->p);
    t->p[t->len++] = dir;
    for (int i = 3; i >= 0; i--)
        t->p[t->len++] = (uint8_t)(len >> (8 * i));
    memcpy(t->p + t->len, msg, len);
    t->len += len;
}

static void end_init(struct end *e, uint32_t seed, const char *addr)
{
    struct ike_config cfg;
    struct oe_error err;
    memset(e, 0, sizeof(*e));
    e->rng.seed = seed;
    ike_config_defaults(&cfg);
    cfg.env = (struct ike_env){seeded_random, &e->rng};
    cfg.dh_groups[0] = 14;
    cfg.dh_groups[1] = 0;
    e->core = ike_core_new(&cfg, &err);
    assert_non_null(e->core);
    assert_int_equal(oe_addr_parse(addr, &e->ep.addr), 0);
    e->ep.port = 500;
}

/* Carry one side's actions to the other until both are quiet. */
static void settle(struct end *a, struct end *b, struct transcript *t)
{
    for (int round = 0; round < 20; round++) {
        bool moved = false;
        for (int side = 0; side < 2; side++) {
            struct end *from = side ? b : a, *to = side ? a : b;
            struct ike_actions take = from->acts;
            memset(&from->acts, 0, sizeof(from->acts));
            for (size_t k = 0; k < take.n; k++) {
                struct ike_action *x = &take.v[k];
                if (x->kind == IKE_ACT_SEND && x->len > 1) {
                    record(t, (uint8_t)side, x->msg, x->len);
                    ike_receive(to->core, &to->ep, &from->ep, x->msg, x->len, 0, &to->acts);
                    moved = true;
                } else if (x->kind == IKE_ACT_NEED_KEY) {
                    ike_peer_key(from->core, x->serial, NULL, true, &from->acts);
                    moved = true;
                } else if (x->kind == IKE_ACT_UP) {
                    from->ups++;
                }
            }
            ike_actions_clear(&take);
            free(take.v);
        }
        if (!moved)
            return;
    }
    fail_msg("the exchange did not settle");
}

static void run_exchange(struct transcript *t)
{
    struct end a, b;
    end_init(&a, 1, "192.0.2.1");
    end_init(&b, 2, "192.0.2.2");
    struct ike_initiate req = {
        .local = a.ep, .remote = b.ep, .local_host = a.ep.addr, .remote_host = b.ep.addr, .auth = IKE_AUTHBY_NULL};
    unsigned serial = ike_initiate(a.core, &req, 0, &a.acts);
    assert_true(serial > 0);
    settle(&a, &b, t);
    assert_int_equal(a.ups, 1);
    assert_int_equal(b.ups, 1);
    ike_delete(a.core, serial, 1000, &a.acts);
    settle(&a, &b, t);
    assert_int_equal(ike_sa_count(a.core), 0);
    assert_int_equal(ike_sa_count(b.core), 0);
    for (int i = 0; i < 2; i++) {
        struct end *e = i ? &b : &a;
        ike_actions_clear(&e->acts);
        free(e->acts.v);
        ike_core_free(e->core);
    }
}

/* The exchange of seeds 1 and 2, as recorded: change it only with a change to what goes on the wire. */
static const char golden_sha256[] = "9798ce0f996d0cebf4bd4fa6b5bf561b6437633170bef1bcdb19dece2488106d";

static void test_replay_from_seed(void **state)
{
    (void)state;
    struct transcript one = {0}, two = {0};
    run_exchange(&one);
    run_exchange(&two);
    assert_true(one.len > 1000); /* IKE_SA_INIT with a 256-octet KE each way, IKE_AUTH, Delete */
    assert_int_equal(one.len, two.len);
    assert_memory_equal(one.p, two.p, one.len);
    uint8_t h[32];
    char hex[65];
    assert_int_equal(PK11_HashBuf(SEC_OID_SHA256, h, one.p, (PRInt32)one.len), SECSuccess);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    if (strcmp(hex, golden_sha256) != 0)
        fail_msg("the exchange differs from the recording: SHA-256 %s (%zu octets), recorded %s", hex, one.len,
                 golden_sha256);
    free(one.p);
    free(two.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_from_seed),
    };
    return cmocka_run_group_tests_name("ike_replay", tests, NULL, NULL);
}
