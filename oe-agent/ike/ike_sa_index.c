/*
 * The IKE SA table's indexes (issue 14): every lookup an event makes goes
 * to the SAs of one key, in O(1), at 100,000 SAs as at one. The list
 * core->sas stays for what truly visits every SA: freeing the core, and
 * ike_delete_local when one of our addresses goes (rare, and about many).
 *
 * Each index files an SA under a key made of some of its fields
 * (ike_sa_key); whoever changes one of those fields calls ike_sa_index
 * after, and the unit tests check after every exchange that nobody forgot
 * (ike_sa_index_check). A lookup checks the same conditions the walk it
 * replaced checked, on the SAs of one key only; where that walk took the
 * first match of the newest-first list, the lookup takes the newest match
 * (ike_sa_newer), so every answer is the one the walk gave.
 */
#include "ike_internal.h"

#include <stdio.h>
#include <sys/socket.h>

/* A key as octets: the fields it is made of, of an address its family and the octets oe_addr_eq compares. */
struct ix_key {
    /* the longest: an identity (our address, auth, ID type, length, ID, the peer's address and port) */
    uint8_t b[1 + 16 + 1 + 1 + 2 + IKE_MAX_ID_LEN + 1 + 16 + 2];
    size_t n;
};

static void put(struct ix_key *k, const void *p, size_t n)
{
    if (n <= sizeof(k->b) - k->n) { /* always: no key is longer than the identity */
        memcpy(k->b + k->n, p, n);
        k->n += n;
    }
}

static void put_addr(struct ix_key *k, const struct oe_addr *a)
{
    put(k, &a->family, 1);
    put(k, a->bytes, oe_family_bits(a->family) / 8);
}

static void put_u64(struct ix_key *k, uint64_t v)
{
    put(k, &v, sizeof(v));
}

static uint64_t ix_hash(const struct ike_core *core, const struct ix_key *k)
{
    return oe_hash_bytes(core->hash_seed, k->b, k->n);
}

/* An IKE SPI, or a Child SA's SPI with the address of that SA's destination (the kernel's name for it). */
static void key_spi_addr(struct ix_key *k, uint64_t spi, const struct oe_addr *a)
{
    k->n = 0;
    put_u64(k, spi);
    if (a)
        put_addr(k, a);
}

/* One source as the per-source limits count them (oe_addr_same_source): an IPv4 address or an IPv6 /64. */
static void key_source(struct ix_key *k, const struct oe_addr *a)
{
    k->n = 0;
    put(k, &a->family, 1);
    put(k, a->bytes, a->family == AF_INET6 ? 8 : 4);
}

/*
 * What INITIAL_CONTACT compares (forget_previous, ike_auth.c): our address and the identity,
 * all but the key; NULL auth adds the peer's address and port.
 */
static void key_identity(struct ix_key *k, const struct ike_sa *sa)
{
    uint8_t auth = (uint8_t)sa->auth;
    uint16_t len = (uint16_t)sa->peer_id_len;
    k->n = 0;
    put_addr(k, &sa->local.addr);
    put(k, &auth, 1);
    put(k, &sa->peer_id_type, 1);
    put(k, &len, sizeof(len));
    put(k, sa->peer_id, sa->peer_id_len);
    if (sa->auth == IKE_AUTHBY_NULL) {
        put_addr(k, &sa->remote.addr);
        put(k, &sa->remote.port, sizeof(sa->remote.port));
    }
}

/* Whether sa belongs in index ix, and under which key. */
static bool ike_sa_key(const struct ike_sa *sa, enum ike_ix ix, struct ix_key *k)
{
    k->n = 0;
    switch (ix) {
    case IKE_IX_SERIAL: put(k, &sa->serial, sizeof(sa->serial)); return true;
    case IKE_IX_SPI: key_spi_addr(k, sa->initiator ? sa->spi_i : sa->spi_r, NULL); return true;
    case IKE_IX_INIT: key_spi_addr(k, sa->spi_i, &sa->remote.addr); return !sa->initiator;
    case IKE_IX_HOSTS:
        put_addr(k, &sa->local_host);
        put_addr(k, &sa->remote_host);
        return true;
    case IKE_IX_PEER:
        put_addr(k, &sa->local.addr);
        put_addr(k, &sa->remote.addr);
        return true;
    case IKE_IX_IDENTITY: key_identity(k, sa); return sa->peer_id_kept;
    case IKE_IX_SOURCE: key_source(k, &sa->remote.addr); return sa->half_open;
    case IKE_IX_CHILD_IN: key_spi_addr(k, sa->child_spi_in, &sa->local.addr); return sa->child_spi_in != 0;
    case IKE_IX_CHILD_OUT: key_spi_addr(k, sa->child_spi_out, &sa->remote.addr); return sa->child_spi_out != 0;
    case IKE_IX_COUNT: break;
    }
    return false;
}

void ike_sa_index(struct ike_sa *sa)
{
    struct ike_core *core = sa->core;
    for (int ix = 0; ix < IKE_IX_COUNT; ix++) {
        struct ix_key k;
        struct oe_hnode *node = &sa->ix[ix];
        if (!ike_sa_key(sa, (enum ike_ix)ix, &k)) {
            oe_htab_del(&core->ix[ix], node);
            continue;
        }
        uint64_t h = ix_hash(core, &k);
        if (node->pprev && node->hash == h)
            continue; /* filed there already */
        oe_htab_del(&core->ix[ix], node);
        oe_htab_add(&core->ix[ix], node, h);
    }
}

void ike_sa_link(struct ike_core *core, struct ike_sa *sa)
{
    memset(sa->ix, 0, sizeof(sa->ix));
    sa->core = core;
    sa->born = ++core->born;
    sa->prev = NULL;
    sa->next = core->sas;
    if (sa->next)
        sa->next->prev = sa;
    core->sas = sa;
    ike_sa_index(sa);
}

void ike_sa_unlink(struct ike_sa *sa)
{
    struct ike_core *core = sa->core;
    for (int ix = 0; ix < IKE_IX_COUNT; ix++)
        oe_htab_del(&core->ix[ix], &sa->ix[ix]);
    if (sa->prev)
        sa->prev->next = sa->next;
    else
        core->sas = sa->next;
    if (sa->next)
        sa->next->prev = sa->prev;
    sa->next = sa->prev = NULL;
}

void ike_sa_index_free(struct ike_core *core)
{
    for (int ix = 0; ix < IKE_IX_COUNT; ix++)
        oe_htab_free(&core->ix[ix]);
}

size_t ike_sa_count(const struct ike_core *core)
{
    return core->ix[IKE_IX_SERIAL].n;
}

/* ---- lookups ---- */

static struct ike_sa *sa_of(struct oe_hnode *node, enum ike_ix ix)
{
    if (node == NULL)
        return NULL;
    return (struct ike_sa *)(void *)((char *)node - offsetof(struct ike_sa, ix) - (size_t)ix * sizeof(*node));
}

struct ike_sa *ike_ix_first(struct ike_ix_iter *it, const struct ike_core *core, enum ike_ix ix, uint64_t hash)
{
    it->ix = ix;
    it->node = oe_htab_first(&core->ix[ix], hash);
    return sa_of(it->node, ix);
}

struct ike_sa *ike_ix_next(struct ike_ix_iter *it)
{
    it->node = oe_htab_next(it->node);
    return sa_of(it->node, it->ix);
}

uint64_t ike_ix_hash_of(const struct ike_sa *sa, enum ike_ix ix)
{
    struct ix_key k;
    ike_sa_key(sa, ix, &k);
    return ix_hash(sa->core, &k);
}

uint64_t ike_ix_hash_source(const struct ike_core *core, const struct oe_addr *from)
{
    struct ix_key k;
    key_source(&k, from);
    return ix_hash(core, &k);
}

uint64_t ike_ix_hash_spi(const struct ike_core *core, uint64_t spi, const struct oe_addr *a)
{
    struct ix_key k;
    key_spi_addr(&k, spi, a);
    return ix_hash(core, &k);
}

struct ike_sa *ike_sa_newer(struct ike_sa *best, struct ike_sa *sa)
{
    return best == NULL || (sa && sa->born > best->born) ? sa : best;
}

struct ike_sa *ike_sa_by_serial(const struct ike_core *core, unsigned serial)
{
    struct ix_key k = {.n = 0};
    put(&k, &serial, sizeof(serial));
    struct ike_ix_iter it;
    for (struct ike_sa *sa = ike_ix_first(&it, core, IKE_IX_SERIAL, ix_hash(core, &k)); sa; sa = ike_ix_next(&it))
        if (sa->serial == serial)
            return sa; /* serials are unique */
    return NULL;
}

/*
 * The SA a message is for. Every match has the message's spi_i and one of:
 * (a) spi_r 0 and a responder's SA with the peer's address (an IKE_SA_INIT
 * request again; IKE_IX_INIT); (b) both SPIs, ours being spi_i when we
 * initiated, spi_r when we answered (IKE_IX_SPI under either); (c) our
 * IKE_SA_INIT request's answer, which tells us spi_r (IKE_IX_SPI, spi_i).
 */
static bool spi_match(const struct ike_sa *sa, const struct ike_header *h, const struct ike_endpoint *remote)
{
    if (sa->spi_i != h->spi_i)
        return false;
    /* a responder's SA before its SPI is known to the peer: match the peer's address too */
    if (h->spi_r == 0 && !sa->initiator && oe_addr_eq(&sa->remote.addr, &remote->addr))
        return true;
    if (sa->spi_r == h->spi_r)
        return true;
    return sa->initiator && sa->state == SA_INIT_SENT && h->spi_r != 0; /* the response that tells us spi_r */
}

struct ike_sa *ike_sa_by_spi(const struct ike_core *core, const struct ike_header *h, const struct ike_endpoint *remote)
{
    struct ike_sa *best = NULL;
    struct ike_ix_iter it;
    uint64_t ours[2] = {h->spi_i, h->spi_r};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && ours[1] == ours[0])
            break;
        for (struct ike_sa *sa = ike_ix_first(&it, core, IKE_IX_SPI, ike_ix_hash_spi(core, ours[i], NULL)); sa;
             sa = ike_ix_next(&it))
            if (spi_match(sa, h, remote))
                best = ike_sa_newer(best, sa);
    }
    if (h->spi_r == 0)
        for (struct ike_sa *sa = ike_ix_first(&it, core, IKE_IX_INIT, ike_ix_hash_spi(core, h->spi_i, &remote->addr));
             sa; sa = ike_ix_next(&it))
            if (spi_match(sa, h, remote))
                best = ike_sa_newer(best, sa);
    return best;
}

/* ---- for the tests: every SA filed where its fields say, and nothing else ---- */

bool ike_sa_index_check(const struct ike_core *core, char *why, size_t len)
{
    size_t n = 0, linked[IKE_IX_COUNT] = {0};
    for (const struct ike_sa *sa = core->sas, *prev = NULL; sa; prev = sa, sa = sa->next, n++) {
        if (sa->core != core || sa->prev != prev) {
            snprintf(why, len, "#%u: not linked into this core's list", sa->serial);
            return false;
        }
        for (int ix = 0; ix < IKE_IX_COUNT; ix++) {
            struct ix_key k;
            const struct oe_hnode *node = &sa->ix[ix];
            bool member = ike_sa_key(sa, (enum ike_ix)ix, &k);
            if (!member && node->pprev == NULL)
                continue;
            if (!member || node->pprev == NULL || node->hash != ix_hash(core, &k)) {
                snprintf(why, len, "#%u: index %d %s (a field changed without ike_sa_index)", sa->serial, ix,
                         !member       ? "holds it, its fields say it should not"
                         : node->pprev ? "has it under a stale key"
                                       : "misses it");
                return false;
            }
            const struct oe_hnode *f = oe_htab_first(&core->ix[ix], node->hash);
            while (f && f != node)
                f = oe_htab_next(f);
            if (f == NULL) {
                snprintf(why, len, "#%u: index %d cannot find it under its key", sa->serial, ix);
                return false;
            }
            linked[ix]++;
        }
    }
    for (int ix = 0; ix < IKE_IX_COUNT; ix++)
        if (linked[ix] != core->ix[ix].n) {
            snprintf(why, len, "index %d holds %zu SAs, the list %zu of them", ix, core->ix[ix].n, linked[ix]);
            return false;
        }
    if (n != ike_sa_count(core)) {
        snprintf(why, len, "the list has %zu SAs, the count %zu", n, ike_sa_count(core));
        return false;
    }
    return true;
}
