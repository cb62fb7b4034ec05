/* dnskeys/keycache.c: keys kept for their TTL (floored), found without a query, evicted, flushed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnskeys/dnskeys.h"

static const uint8_t e65537[] = {0x01, 0x00, 0x01};

static struct dnskeys_pubkey make_key(unsigned seed)
{
    uint8_t n[256];
    for (size_t i = 0; i < sizeof(n); i++)
        n[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 3));
    n[0] |= 0x80;
    n[sizeof(n) - 1] |= 1;
    struct dnskeys_pubkey k;
    struct oe_error err;
    assert_int_equal(dnskeys_key_from_parts(e65537, 3, n, sizeof(n), &k, &err), 0);
    return k;
}

/* An answer as a lookup gives it: owner, nkeys usable IPSECKEY records, ttl. */
static void make_answer(struct dnskeys_answer *a, const char *owner, unsigned seed, size_t nkeys, uint32_t ttl)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->owner, sizeof(a->owner), "%s", owner);
    a->verdict = DNSKEYS_SECURE;
    a->source = DNSKEYS_IPSECKEY;
    a->ttl = ttl;
    a->records = calloc(nkeys, sizeof(*a->records));
    a->n = nkeys;
    for (size_t i = 0; i < nkeys; i++) {
        a->records[i].type = DNSKEYS_IPSECKEY;
        a->records[i].precedence = 10;
        a->records[i].usable = true;
        a->records[i].key = make_key(seed + (unsigned)i);
    }
}

static struct dnskeys_cache *new_cache(size_t max)
{
    struct dnskeys_cache_config cfg = {DNSKEYS_CACHE_MIN_TTL, DNSKEYS_CACHE_MAX_TTL, max,
                                       SIZE_MAX / 2}; /* names bind */
    struct oe_error err;
    struct dnskeys_cache *c = dnskeys_cache_new(&cfg, &err);
    assert_non_null(c);
    return c;
}

static void test_hit_and_ttl(void **state)
{
    (void)state;
    struct dnskeys_cache *c = new_cache(16);
    struct dnskeys_answer a;
    make_answer(&a, "7.2.0.192.in-addr.arpa.", 1, 2, 300);
    assert_null(dnskeys_cache_get(c, a.owner, 1000));
    assert_true(dnskeys_cache_put(c, &a, 1000));
    /* case and the final dot do not matter; both keys kept, deep copies */
    const struct dnskeys_answer *got = dnskeys_cache_get(c, "7.2.0.192.IN-ADDR.ARPA", 1000 + 100 * 1000);
    assert_non_null(got);
    assert_int_equal(got->n, 2);
    assert_true(dnskeys_key_eq(&got->records[1].key, &a.records[1].key));
    assert_ptr_not_equal(got->records[0].key.rfc3110, a.records[0].key.rfc3110);
    assert_int_equal(got->ttl, 200); /* what is left */
    dnskeys_answer_free(&a);
    /* gone at its TTL */
    assert_non_null(dnskeys_cache_get(c, "7.2.0.192.in-addr.arpa.", 1000 + 299 * 1000));
    assert_null(dnskeys_cache_get(c, "7.2.0.192.in-addr.arpa.", 1000 + 300 * 1000));
    struct dnskeys_cache_stats st;
    dnskeys_cache_get_stats(c, &st);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.expired, 1);
    assert_int_equal(st.entries, 0);
    dnskeys_cache_free(c);
}

static void test_ttl_floor_and_ceiling(void **state)
{
    (void)state;
    struct dnskeys_cache *c = new_cache(16);
    struct dnskeys_answer a, b;
    make_answer(&a, "a.", 1, 1, 5); /* 5 s: kept 60 s, as libreswan */
    make_answer(&b, "b.", 2, 1, 10 * 86400);
    assert_true(dnskeys_cache_put(c, &a, 0));
    assert_true(dnskeys_cache_put(c, &b, 0));
    assert_non_null(dnskeys_cache_get(c, "a.", 59 * 1000));
    assert_null(dnskeys_cache_get(c, "a.", 60 * 1000));
    assert_non_null(dnskeys_cache_get(c, "b.", 86399ull * 1000));
    assert_null(dnskeys_cache_get(c, "b.", 86400ull * 1000));
    dnskeys_answer_free(&a);
    dnskeys_answer_free(&b);
    dnskeys_cache_free(c);
}

static void test_not_cacheable(void **state)
{
    (void)state;
    struct dnskeys_cache *c = new_cache(16);
    struct dnskeys_answer a;
    make_answer(&a, "a.", 1, 1, 300);
    a.verdict = DNSKEYS_BOGUS;
    assert_false(dnskeys_cache_put(c, &a, 0));
    a.verdict = DNSKEYS_SECURE;
    a.failed = true;
    assert_false(dnskeys_cache_put(c, &a, 0));
    a.failed = false;
    a.records[0].usable = false;
    assert_false(dnskeys_cache_put(c, &a, 0));
    dnskeys_answer_free(&a);
    struct dnskeys_answer none = {.owner = "n.", .verdict = DNSKEYS_SECURE, .ttl = 300};
    assert_false(dnskeys_cache_put(c, &none, 0)); /* no key: not kept (the resolver keeps denials) */
    assert_null(dnskeys_cache_get(c, "a.", 0));
    dnskeys_cache_free(c);
    /* max_entries 0: off */
    c = new_cache(0);
    make_answer(&a, "a.", 1, 1, 300);
    assert_false(dnskeys_cache_put(c, &a, 0));
    dnskeys_answer_free(&a);
    dnskeys_cache_free(c);
}

static void test_replace_drop_flush(void **state)
{
    (void)state;
    struct dnskeys_cache *c = new_cache(16);
    struct dnskeys_answer a, b;
    make_answer(&a, "h.", 1, 1, 300);
    make_answer(&b, "h.", 7, 2, 300); /* the host rolled: two keys now */
    assert_true(dnskeys_cache_put(c, &a, 0));
    assert_true(dnskeys_cache_put(c, &b, 0));
    const struct dnskeys_answer *got = dnskeys_cache_get(c, "h.", 0);
    assert_int_equal(got->n, 2);
    assert_true(dnskeys_key_eq(&got->records[0].key, &b.records[0].key));
    assert_true(dnskeys_cache_drop(c, "h."));
    assert_false(dnskeys_cache_drop(c, "h."));
    assert_null(dnskeys_cache_get(c, "h.", 0));
    assert_true(dnskeys_cache_put(c, &a, 0));
    assert_true(dnskeys_cache_put(c, &b, 0) && dnskeys_cache_get(c, "h.", 0));
    struct dnskeys_answer d;
    make_answer(&d, "other.", 3, 1, 300);
    assert_true(dnskeys_cache_put(c, &d, 0));
    assert_int_equal(dnskeys_cache_flush(c), 2);
    assert_null(dnskeys_cache_get(c, "h.", 0));
    assert_null(dnskeys_cache_get(c, "other.", 0));
    dnskeys_answer_free(&a);
    dnskeys_answer_free(&b);
    dnskeys_answer_free(&d);
    dnskeys_cache_free(c);
}

static int count_each(const struct dnskeys_answer *ans, uint64_t ms_left, void *arg)
{
    (void)ans;
    assert_true(ms_left > 0);
    (*(size_t *)arg)++;
    return 0;
}

/* Past max_entries the least recently used goes; lookups stay hashed at 100k entries. */
static void test_eviction(void **state)
{
    (void)state;
    struct dnskeys_cache *c = new_cache(3);
    struct dnskeys_answer a[4];
    char name[64];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof(name), "h%d.", i);
        make_answer(&a[i], name, (unsigned)i, 1, 300);
    }
    for (int i = 0; i < 3; i++)
        assert_true(dnskeys_cache_put(c, &a[i], 0));
    assert_non_null(dnskeys_cache_get(c, "h0.", 0)); /* h0 used: h1 is now the oldest */
    assert_true(dnskeys_cache_put(c, &a[3], 0));
    assert_null(dnskeys_cache_get(c, "h1.", 0));
    assert_non_null(dnskeys_cache_get(c, "h0.", 0));
    assert_non_null(dnskeys_cache_get(c, "h3.", 0));
    struct dnskeys_cache_stats st;
    dnskeys_cache_get_stats(c, &st);
    assert_int_equal(st.evicted, 1);
    assert_int_equal(st.entries, 3);
    size_t n = 0;
    dnskeys_cache_each(c, 0, count_each, &n);
    assert_int_equal(n, 3);
    for (int i = 0; i < 4; i++)
        dnskeys_answer_free(&a[i]);
    dnskeys_cache_free(c);

    /* 100k peers: puts and gets stay O(1) (a linear walk would take minutes here) */
    c = new_cache(DNSKEYS_CACHE_MAX_ENTRIES);
    struct dnskeys_answer one;
    make_answer(&one, "x.", 1, 1, 300);
    uint64_t t0 = oe_monotonic_ms();
    for (int i = 0; i < 120000; i++) {
        snprintf(one.owner, sizeof(one.owner), "%d.2.0.192.in-addr.arpa.", i);
        assert_true(dnskeys_cache_put(c, &one, 0));
    }
    for (int i = 20000; i < 120000; i++) {
        snprintf(name, sizeof(name), "%d.2.0.192.in-addr.arpa", i);
        assert_non_null(dnskeys_cache_get(c, name, 1));
    }
    assert_null(dnskeys_cache_get(c, "19999.2.0.192.in-addr.arpa.", 1));
    dnskeys_cache_get_stats(c, &st);
    assert_int_equal(st.entries, DNSKEYS_CACHE_MAX_ENTRIES);
    assert_int_equal(st.evicted, 20000);
    assert_true(oe_monotonic_ms() - t0 < 20000);
    dnskeys_answer_free(&one);
    dnskeys_cache_free(c);
}

/*
 * Review finding H1: a peer's own zone answered every name with one usable
 * key and hundreds of junk records, all kept, up to max_entries names.
 * Only the usable records are kept, at most DNSKEYS_CACHE_MAX_RECORDS, and
 * the whole cache stays within max_bytes.
 */
static void test_kept_bounded_in_records_and_bytes(void **state)
{
    (void)state;
    struct dnskeys_cache *c = new_cache(1000);
    struct dnskeys_answer a;
    make_answer(&a, "junk.", 1, 300, 86400);
    for (size_t i = 1; i < a.n; i++) /* the first usable, the rest junk */
        a.records[i].usable = false;
    assert_true(dnskeys_cache_put(c, &a, 0));
    const struct dnskeys_answer *got = dnskeys_cache_get(c, "junk.", 0);
    assert_non_null(got);
    assert_int_equal(got->n, 1);
    assert_true(got->records[0].usable);
    dnskeys_answer_free(&a);
    make_answer(&a, "many.", 2, 20, 86400); /* 20 usable: the core tries 4 at most */
    assert_true(dnskeys_cache_put(c, &a, 0));
    assert_int_equal(dnskeys_cache_get(c, "many.", 0)->n, DNSKEYS_CACHE_MAX_RECORDS);
    dnskeys_answer_free(&a);
    dnskeys_cache_free(c);

    /* a byte budget of about three one-key entries keeps three, the oldest going first */
    struct dnskeys_cache_config cfg = {DNSKEYS_CACHE_MIN_TTL, DNSKEYS_CACHE_MAX_TTL, 1000, 0};
    struct oe_error err;
    c = dnskeys_cache_new(&cfg, &err);
    make_answer(&a, "probe.", 3, 1, 300);
    assert_true(dnskeys_cache_put(c, &a, 0));
    struct dnskeys_cache_stats st;
    dnskeys_cache_get_stats(c, &st);
    size_t one = st.bytes;
    assert_true(one > 0);
    dnskeys_answer_free(&a);
    dnskeys_cache_free(c);
    cfg.max_bytes = 3 * one;
    c = dnskeys_cache_new(&cfg, &err);
    char name[32];
    for (unsigned i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "n%u.", i);
        make_answer(&a, name, 10 + i, 1, 300);
        assert_true(dnskeys_cache_put(c, &a, 0));
        dnskeys_answer_free(&a);
    }
    dnskeys_cache_get_stats(c, &st);
    assert_int_equal(st.entries, 3);
    assert_true(st.bytes <= 3 * one);
    assert_int_equal(st.evicted, 7);
    assert_null(dnskeys_cache_get(c, "n6.", 0));
    assert_non_null(dnskeys_cache_get(c, "n9.", 0));
    dnskeys_cache_free(c);
    /* one entry bigger than the whole budget is not kept */
    cfg.max_bytes = one + one / 2;
    c = dnskeys_cache_new(&cfg, &err);
    make_answer(&a, "big.", 30, 4, 300);
    assert_false(dnskeys_cache_put(c, &a, 0));
    dnskeys_answer_free(&a);
    dnskeys_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_ttl),   cmocka_unit_test(test_ttl_floor_and_ceiling),
        cmocka_unit_test(test_not_cacheable), cmocka_unit_test(test_replace_drop_flush),
        cmocka_unit_test(test_eviction),      cmocka_unit_test(test_kept_bounded_in_records_and_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
