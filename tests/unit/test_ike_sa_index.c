/*
 * The IKE SA table's indexes (ike_sa_index.c) and the hash table under them
 * (common/hash.c), white box: lookups find the SA a walk of the list would
 * have found, without the list; every SA leaves every index when it goes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "oe-agent/ike/ike_internal.h"

/* ---- common/hash.c ---- */

struct item {
    struct oe_hnode node;
    unsigned key;
};

static uint64_t item_hash(unsigned key)
{
    return oe_hash_bytes(7, &key, sizeof(key));
}

static struct item *item_find(const struct oe_htab *t, unsigned key)
{
    for (struct oe_hnode *n = oe_htab_first(t, item_hash(key)); n; n = oe_htab_next(n)) {
        struct item *it = (struct item *)(void *)n;
        if (it->key == key)
            return it;
    }
    return NULL;
}

/* Many adds and removes: each left is found under its key, none removed is, and the buckets grew. */
static void test_htab_churn(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct item *v = calloc(N, sizeof(*v));
    struct oe_htab t = {0};
    assert_non_null(v);
    for (unsigned i = 0; i < N; i++) {
        v[i].key = i;
        oe_htab_add(&t, &v[i].node, item_hash(i));
    }
    for (unsigned i = 0; i < N; i += 3)
        oe_htab_del(&t, &v[i].node);
    oe_htab_del(&t, &v[0].node); /* out already: nothing changes */
    assert_int_equal(t.n, N - (N + 2) / 3);
    assert_true(t.mask + 1 >= t.n); /* no more SAs than buckets: chains stay short */
    for (unsigned i = 0; i < N; i++)
        assert_ptr_equal(item_find(&t, i), i % 3 ? &v[i] : NULL);
    oe_htab_free(&t);
    free(v);
}

/* Nodes under one hash value are all found, and each removal takes exactly its own. */
static void test_htab_same_hash(void **state)
{
    (void)state;
    struct item v[5];
    struct oe_htab t = {0};
    for (unsigned i = 0; i < 5; i++) {
        v[i] = (struct item){.key = i};
        oe_htab_add(&t, &v[i].node, 42);
    }
    oe_htab_del(&t, &v[2].node);
    unsigned seen = 0;
    for (struct oe_hnode *n = oe_htab_first(&t, 42); n; n = oe_htab_next(n))
        seen |= 1u << ((struct item *)(void *)n)->key;
    assert_int_equal(seen, 0x1b);
    assert_null(oe_htab_first(&t, 43));
    oe_htab_free(&t);
}

/* ---- the SA indexes ---- */

static int setup(void **state)
{
    struct ike_config cfg;
    struct oe_error err;
    ike_config_defaults(&cfg);
    struct ike_core *core = ike_core_new(&cfg, &err);
    assert_non_null(core);
    *state = core;
    return 0;
}

static int teardown(void **state)
{
    ike_core_free(*state);
    return 0;
}

static void index_ok(const struct ike_core *core)
{
    char why[256];
    if (!ike_sa_index_check(core, why, sizeof(why)))
        fail_msg("SA index: %s", why);
}

static struct ike_endpoint endpoint(const char *addr)
{
    struct ike_endpoint e = {.port = 500};
    assert_int_equal(oe_addr_parse(addr, &e.addr), 0);
    return e;
}

/* A responder's SA as an IKE_SA_INIT request from remote with this SPI leaves it. */
static struct ike_sa *answered(struct ike_core *core, uint64_t spi_i, const char *remote)
{
    struct ike_sa *sa = ike_sa_new(core, false);
    assert_non_null(sa);
    sa->spi_i = spi_i;
    sa->local = endpoint("192.0.2.1");
    sa->remote = endpoint(remote);
    sa->local_host = sa->local.addr;
    sa->remote_host = sa->remote.addr;
    sa->state = SA_INIT_DONE;
    ike_sa_index(sa);
    return sa;
}

/* Two peers that picked the same SPI have two SAs: each one's IKE_SA_INIT again finds its own. */
static void test_same_spi_two_peers(void **state)
{
    struct ike_core *core = *state;
    struct ike_sa *x = answered(core, 0x1122334455667788ull, "198.51.100.1");
    struct ike_sa *y = answered(core, 0x1122334455667788ull, "198.51.100.2");
    struct ike_header h = {.spi_i = 0x1122334455667788ull, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_I};
    struct ike_endpoint rx = endpoint("198.51.100.1"), ry = endpoint("198.51.100.2"), rz = endpoint("198.51.100.3");
    assert_ptr_equal(ike_sa_by_spi(core, &h, &rx), x);
    assert_ptr_equal(ike_sa_by_spi(core, &h, &ry), y);
    assert_null(ike_sa_by_spi(core, &h, &rz));
    /* once our SPI is in the message it names the SA, whichever address it comes from (NAT) */
    h.spi_r = x->spi_r;
    h.exchange = IKE_AUTH;
    assert_ptr_equal(ike_sa_by_spi(core, &h, &rz), x);
    h.spi_r = y->spi_r;
    assert_ptr_equal(ike_sa_by_spi(core, &h, &rx), y);
    h.spi_i ^= 1; /* the peer's SPI must match too */
    assert_null(ike_sa_by_spi(core, &h, &ry));
    index_ok(core);
}

/* Where the list walk took the first match (the newest SA), so does the index. */
static void test_newest_match_wins(void **state)
{
    struct ike_core *core = *state;
    struct ike_sa *old = ike_sa_new(core, true), *mid = ike_sa_new(core, true), *young = ike_sa_new(core, true);
    old->state = mid->state = young->state = SA_INIT_SENT;
    old->spi_i = young->spi_i = mid->spi_i; /* an RNG that failed (ike_ike_spi gives 1): one SPI thrice */
    ike_sa_index(old);
    ike_sa_index(young);
    struct ike_header h = {.spi_i = mid->spi_i, .spi_r = 99, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_R};
    struct ike_endpoint r = endpoint("203.0.113.5");
    assert_ptr_equal(ike_sa_by_spi(core, &h, &r), young);
    ike_sa_free(young);
    assert_ptr_equal(ike_sa_by_spi(core, &h, &r), mid);
    index_ok(core);
}

/*
 * Find by serial after many SAs came and went; and without the list (hidden
 * for the test): a lookup that walked it again would find nothing.
 */
static void test_lookups_need_no_walk(void **state)
{
    struct ike_core *core = *state;
    enum { N = 6000 };
    struct ike_sa **v = calloc(N + 2000, sizeof(*v));
    assert_non_null(v);
    char addr[OE_ADDR_STRLEN];
    for (unsigned i = 0; i < N; i++) {
        snprintf(addr, sizeof(addr), "2001:db8::%x", i + 1);
        v[i] = answered(core, 0x100 + i, addr);
    }
    unsigned gone[N / 2], ngone = 0;
    for (unsigned i = 0; i < N; i += 2) { /* every other one goes, newest first */
        unsigned k = N - 2 - i;
        gone[ngone++] = v[k]->serial;
        ike_sa_free(v[k]);
        v[k] = NULL;
    }
    for (unsigned i = N; i < N + 2000; i++) {
        snprintf(addr, sizeof(addr), "2001:db8::%x", i + 1);
        v[i] = answered(core, 0x100 + i, addr);
    }
    v[N + 1]->half_open = true;
    ike_sa_index(v[N + 1]);
    assert_int_equal(ike_sa_count(core), N / 2 + 2000);
    index_ok(core);

    struct ike_sa *list = core->sas;
    core->sas = NULL;
    for (unsigned i = 0; i < N + 2000; i++) {
        if (v[i] == NULL)
            continue;
        assert_ptr_equal(ike_sa_by_serial(core, v[i]->serial), v[i]);
        struct ike_header h = {.spi_i = v[i]->spi_i, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_I};
        assert_ptr_equal(ike_sa_by_spi(core, &h, &v[i]->remote), v[i]);
    }
    for (unsigned i = 0; i < ngone; i++)
        assert_null(ike_sa_by_serial(core, gone[i]));
    struct ike_endpoint other = endpoint("2001:db8:0:1::1");
    assert_int_equal(ike_half_open_from(core, &v[N + 3]->remote.addr), 1); /* the same /64 */
    assert_int_equal(ike_half_open_from(core, &other.addr), 0);
    core->sas = list;
    free(v);
}

/* An SA filed in every index leaves every one of them when it goes. */
static void test_free_leaves_every_index(void **state)
{
    struct ike_core *core = *state;
    struct ike_sa *sa = answered(core, 0xabcdef, "198.51.100.9");
    sa->half_open = true;
    sa->peer_id_kept = true;
    sa->child_spi_in = 0x11111111;
    sa->child_spi_out = 0x22222222;
    ike_sa_index(sa);
    for (int ix = 0; ix < IKE_IX_COUNT; ix++)
        assert_int_equal(core->ix[ix].n, 1);
    index_ok(core);
    ike_sa_free(sa);
    for (int ix = 0; ix < IKE_IX_COUNT; ix++)
        assert_int_equal(core->ix[ix].n, 0);
    assert_null(core->sas);
    assert_int_equal(ike_sa_count(core), 0);
}

/* A field an index keys on, changed without ike_sa_index: the tests' check says so. */
static void test_check_catches_a_stale_key(void **state)
{
    struct ike_core *core = *state;
    struct ike_sa *sa = answered(core, 0x55, "198.51.100.4");
    char why[256];
    assert_true(ike_sa_index_check(core, why, sizeof(why)));
    sa->spi_r ^= 1;
    assert_false(ike_sa_index_check(core, why, sizeof(why)));
    assert_non_null(strstr(why, "stale key"));
    ike_sa_index(sa);
    sa->child_spi_in = 7;
    assert_false(ike_sa_index_check(core, why, sizeof(why)));
    assert_non_null(strstr(why, "misses it"));
    ike_sa_index(sa);
    assert_true(ike_sa_index_check(core, why, sizeof(why)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_htab_churn),
        cmocka_unit_test(test_htab_same_hash),
        cmocka_unit_test_setup_teardown(test_same_spi_two_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newest_match_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookups_need_no_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_leaves_every_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_catches_a_stale_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
