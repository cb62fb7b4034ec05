#include "peers.h"

#include <stdio.h>
#include <stdlib.h>

struct oe_peer *peer_find(struct peer_table *t, const struct oe_addr *local, const struct oe_addr *remote)
{
    for (struct oe_peer *p = t->head; p; p = p->next)
        if (oe_addr_eq(&p->remote, remote) && (local == NULL || oe_addr_eq(&p->local, local)))
            return p;
    return NULL;
}

struct oe_peer *peer_add(struct peer_table *t, const struct oe_addr *local, const struct oe_addr *remote)
{
    if (t->count >= PEER_TABLE_MAX)
        return NULL;
    struct oe_peer *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->local = *local;
    p->remote = *remote;
    p->instance = ++t->next_instance;
    p->next = t->head;
    t->head = p;
    t->count++;
    return p;
}

void peer_remove(struct peer_table *t, struct oe_peer *p)
{
    for (struct oe_peer **pp = &t->head; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            t->count--;
            free(p);
            return;
        }
    }
}

struct oe_peer *peer_by_instance(struct peer_table *t, unsigned instance)
{
    for (struct oe_peer *p = t->head; p; p = p->next)
        if (p->instance == instance)
            return p;
    return NULL;
}

struct oe_peer *peer_by_serial(struct peer_table *t, unsigned ike_serial)
{
    for (struct oe_peer *p = t->head; p; p = p->next)
        if (p->ike_serial == ike_serial && ike_serial != 0)
            return p;
    return NULL;
}

void peer_table_clear(struct peer_table *t)
{
    while (t->head)
        peer_remove(t, t->head);
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
