#include "peers.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define PEER_FIRST_BUCKETS 256

static size_t pair_hash(const struct oe_addr *local, const struct oe_addr *remote, size_t n)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a over both addresses */
    const struct oe_addr *both[2] = {local, remote};
    for (int k = 0; k < 2; k++) {
        h = (h ^ both[k]->family) * 1099511628211u;
        for (size_t i = 0; i < 16; i++)
            h = (h ^ both[k]->bytes[i]) * 1099511628211u;
    }
    return (size_t)h & (n - 1);
}

static size_t instance_hash(unsigned instance, size_t n)
{
    return (size_t)(instance * 2654435761u) & (n - 1);
}

/* Serials are dense and grow by one: the low bits spread them over the buckets. */
static size_t serial_hash(unsigned serial, size_t n)
{
    return (size_t)serial & (n - 1);
}

static void index_serial(struct peer_table *t, struct oe_peer *p)
{
    if (p->ike_serial == 0)
        return;
    size_t b = serial_hash(p->ike_serial, t->nbuckets);
    p->next_by_serial = t->by_serial[b];
    t->by_serial[b] = p;
}

static void unindex_serial(struct peer_table *t, struct oe_peer *p)
{
    if (p->ike_serial == 0)
        return;
    struct oe_peer **pp = &t->by_serial[serial_hash(p->ike_serial, t->nbuckets)];
    while (*pp != p)
        pp = &(*pp)->next_by_serial;
    *pp = p->next_by_serial;
}

static void index_peer(struct peer_table *t, struct oe_peer *p)
{
    size_t b = pair_hash(&p->local, &p->remote, t->nbuckets);
    p->next_by_pair = t->by_pair[b];
    t->by_pair[b] = p;
    b = instance_hash(p->instance, t->nbuckets);
    p->next_by_instance = t->by_instance[b];
    t->by_instance[b] = p;
    index_serial(t, p);
}

static void unindex_peer(struct peer_table *t, struct oe_peer *p)
{
    struct oe_peer **pp = &t->by_pair[pair_hash(&p->local, &p->remote, t->nbuckets)];
    while (*pp != p)
        pp = &(*pp)->next_by_pair;
    *pp = p->next_by_pair;
    pp = &t->by_instance[instance_hash(p->instance, t->nbuckets)];
    while (*pp != p)
        pp = &(*pp)->next_by_instance;
    *pp = p->next_by_instance;
    unindex_serial(t, p);
}

/* The held peers in their own list: a walk of them is bounded by max-negotiations, not the table. */
static void held_join(struct peer_table *t, struct oe_peer *p)
{
    p->prev_held = NULL;
    p->next_held = t->held;
    if (t->held)
        t->held->prev_held = p;
    t->held = p;
    t->holds++;
}

static void held_leave(struct peer_table *t, struct oe_peer *p)
{
    if (p->prev_held)
        p->prev_held->next_held = p->next_held;
    else
        t->held = p->next_held;
    if (p->next_held)
        p->next_held->prev_held = p->prev_held;
    p->next_held = p->prev_held = NULL;
    t->holds--;
}

/* Twice the buckets, every peer indexed again: -1 (and the old index kept) on allocation failure. */
static int grow(struct peer_table *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : PEER_FIRST_BUCKETS;
    struct oe_peer **pair = calloc(n, sizeof(*pair)), **inst = calloc(n, sizeof(*inst));
    struct oe_peer **serial = calloc(n, sizeof(*serial));
    if (pair == NULL || inst == NULL || serial == NULL) {
        free(pair);
        free(inst);
        free(serial);
        return -1;
    }
    free(t->by_pair);
    free(t->by_instance);
    free(t->by_serial);
    t->by_pair = pair;
    t->by_instance = inst;
    t->by_serial = serial;
    t->nbuckets = n;
    for (struct oe_peer *p = t->head; p; p = p->next)
        index_peer(t, p);
    return 0;
}

struct oe_peer *peer_find(struct peer_table *t, const struct oe_addr *local, const struct oe_addr *remote)
{
    if (local == NULL) {
        for (struct oe_peer *p = t->head; p; p = p->next)
            if (oe_addr_eq(&p->remote, remote))
                return p;
        return NULL;
    }
    if (t->nbuckets == 0)
        return NULL;
    for (struct oe_peer *p = t->by_pair[pair_hash(local, remote, t->nbuckets)]; p; p = p->next_by_pair)
        if (oe_addr_eq(&p->remote, remote) && oe_addr_eq(&p->local, local))
            return p;
    return NULL;
}

struct oe_peer *peer_add(struct peer_table *t, const struct oe_addr *local, const struct oe_addr *remote)
{
    if (t->max && t->count >= t->max)
        return NULL;
    if (t->count >= t->nbuckets && grow(t) != 0)
        return NULL;
    struct oe_peer *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->local = *local;
    p->remote = *remote;
    p->instance = ++t->next_instance;
    p->next = t->head;
    if (t->head)
        t->head->prev = p;
    t->head = p;
    t->count++;
    held_join(t, p); /* calloc: PEER_HOLD */
    index_peer(t, p);
    return p;
}

void peer_remove(struct peer_table *t, struct oe_peer *p)
{
    unindex_peer(t, p);
    if (p->prev)
        p->prev->next = p->next;
    else
        t->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    t->count--;
    if (p->state == PEER_HOLD)
        held_leave(t, p);
    free(p);
}

void peer_set_state(struct peer_table *t, struct oe_peer *p, enum peer_state s)
{
    if (p->state == PEER_HOLD && s != PEER_HOLD)
        held_leave(t, p);
    else if (p->state != PEER_HOLD && s == PEER_HOLD)
        held_join(t, p);
    p->state = s;
}

struct oe_peer *peer_by_instance(struct peer_table *t, unsigned instance)
{
    if (t->nbuckets == 0)
        return NULL;
    for (struct oe_peer *p = t->by_instance[instance_hash(instance, t->nbuckets)]; p; p = p->next_by_instance)
        if (p->instance == instance)
            return p;
    return NULL;
}

struct oe_peer *peer_by_serial(struct peer_table *t, unsigned ike_serial)
{
    if (t->nbuckets == 0 || ike_serial == 0)
        return NULL;
    for (struct oe_peer *p = t->by_serial[serial_hash(ike_serial, t->nbuckets)]; p; p = p->next_by_serial)
        if (p->ike_serial == ike_serial)
            return p;
    return NULL;
}

void peer_set_serial(struct peer_table *t, struct oe_peer *p, unsigned ike_serial)
{
    unindex_serial(t, p);
    p->ike_serial = ike_serial;
    index_serial(t, p);
}

void peer_table_clear(struct peer_table *t)
{
    while (t->head)
        peer_remove(t, t->head);
    free(t->by_pair);
    free(t->by_instance);
    free(t->by_serial);
    t->by_pair = t->by_instance = t->by_serial = NULL;
    t->nbuckets = 0;
}

const char *peer_state_name(enum peer_state s)
{
    switch (s) {
    case PEER_HOLD: return "hold";
    case PEER_SHUNT_PASS: return "pass shunt";
    case PEER_SHUNT_DROP: return "drop shunt";
    case PEER_TUNNEL: return "tunnel";
    }
    return "?";
}

const char *peer_label(const struct oe_peer *p, char *buf, size_t len)
{
    char pre[OE_ADDR_STRLEN], rem[OE_ADDR_STRLEN];
    snprintf(buf, len, "\"%s#%s\"[%u] %s", policy_group_name(p->group), oe_prefix_str(&p->rule_prefix, pre),
             p->instance, oe_addr_str(&p->remote, rem));
    return buf;
}

const char *peer_auth_name(enum peer_auth a)
{
    switch (a) {
    case PEER_AUTH_NONE: return "none";
    case PEER_AUTH_RSASIG: return "rsasig";
    case PEER_AUTH_NULL: return "null";
    }
    return "?";
}

const char *peer_dnssec_name(enum peer_dnssec d)
{
    switch (d) {
    case PEER_DNSSEC_NONE: return "-";
    case PEER_DNSSEC_SECURE: return "secure";
    case PEER_DNSSEC_INSECURE: return "insecure";
    case PEER_DNSSEC_BOGUS: return "bogus";
    }
    return "?";
}
