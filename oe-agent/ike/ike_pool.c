/*
 * The responder's address pool (address-pool =): one lease per NAT'ed
 * initiator's IKE SA, freed with it. Addresses come back before fresh ones
 * are taken, so a small pool stays reusable; nothing is kept per address that
 * was never leased, so an IPv6 /64 costs no more than an IPv4 /30.
 */
#include "ike_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int ike_pool_init(struct ike_pool *p, const struct oe_prefix *prefix, struct oe_error *err)
{
    memset(p, 0, sizeof(*p));
    if (prefix->addr.family != AF_INET && prefix->addr.family != AF_INET6) {
        oe_error_set(err, "address-pool: not an IPv4 or IPv6 prefix");
        return -1;
    }
    unsigned bits = oe_family_bits(prefix->addr.family), host = bits - prefix->len;
    if (prefix->len > bits) {
        oe_error_set(err, "address-pool: prefix length %u", prefix->len);
        return -1;
    }
    p->prefix = *prefix;
    uint64_t span = host >= 63 ? UINT64_C(1) << 63 : UINT64_C(1) << host;
    /* not the subnet's own address (IPv6: its subnet-router anycast), nor IPv4's broadcast */
    p->first = host >= 2 ? 1 : 0;
    p->size = span - p->first - (prefix->addr.family == AF_INET && host >= 2 ? 1 : 0);
    return 0;
}

static struct oe_addr pool_addr(const struct ike_pool *p, uint64_t off)
{
    struct oe_addr a = p->prefix.addr;
    unsigned n = oe_family_bits(a.family) / 8;
    unsigned __int128 v = oe_addr_u128(&a) + p->first + off;
    for (unsigned i = 0; i < n; i++)
        a.bytes[n - 1 - i] = (uint8_t)(v >> (8 * i));
    return a;
}

int ike_pool_lease(struct ike_pool *p, struct oe_addr *out, struct oe_error *err)
{
    char pfx[OE_ADDR_STRLEN];
    if (p->prefix.addr.family == 0) {
        oe_error_setc(err, OE_E_INVALID, "no address-pool is set");
        return -1;
    }
    uint64_t off;
    if (p->nfree > 0) {
        off = p->free[--p->nfree];
    } else if (p->fresh < p->size) {
        off = p->fresh++;
    } else {
        oe_error_setc(err, OE_E_LIMIT, "address-pool %s is exhausted: all %llu of its addresses are leased",
                      oe_prefix_str(&p->prefix, pfx), (unsigned long long)p->size);
        return -1;
    }
    p->in_use++;
    *out = pool_addr(p, off);
    return 0;
}

bool ike_pool_contains(const struct ike_pool *p, const struct oe_addr *a)
{
    return p->prefix.addr.family != 0 && oe_prefix_contains(&p->prefix, a);
}

void ike_pool_release(struct ike_pool *p, const struct oe_addr *a)
{
    if (!ike_pool_contains(p, a))
        return;
    unsigned __int128 v = oe_addr_u128(a) - oe_addr_u128(&p->prefix.addr);
    if (v < p->first || v - p->first >= p->fresh)
        return; /* never leased */
    uint64_t off = (uint64_t)(v - p->first);
    if (p->nfree == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        uint64_t *more = realloc(p->free, cap * sizeof(*more));
        if (more == NULL)
            return; /* lost until restart: the pool shrinks, nothing is leased twice */
        p->free = more;
        p->cap = cap;
    }
    p->free[p->nfree++] = off;
    p->in_use--;
}

void ike_pool_free(struct ike_pool *p)
{
    free(p->free);
    memset(p, 0, sizeof(*p));
}
