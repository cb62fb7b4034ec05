/* The OE peer table: one entry per (local, remote) pair held or shunted. */
#ifndef OE_AGENT_PEERS_H
#define OE_AGENT_PEERS_H

#include "policy/policy.h"

#include <time.h>

enum peer_state { PEER_HOLD, PEER_SHUNT_PASS, PEER_SHUNT_DROP, PEER_TUNNEL };

/* How a peer authenticated; PEER_AUTH_NONE: not yet. */
enum peer_auth { PEER_AUTH_NONE, PEER_AUTH_RSASIG, PEER_AUTH_NULL };
/* The DNSSEC verdict on its key; PEER_DNSSEC_NONE: no key from DNS (NULL auth, or not yet). */
enum peer_dnssec { PEER_DNSSEC_NONE, PEER_DNSSEC_SECURE, PEER_DNSSEC_INSECURE, PEER_DNSSEC_BOGUS };
/* "rsasig", "null", "none"; "secure", "insecure", "bogus", "-": for status, JSON and updown alike. */
const char *peer_auth_name(enum peer_auth a);
const char *peer_dnssec_name(enum peer_dnssec d);

struct oe_peer {
    struct oe_addr local, remote;
    enum policy_group group;
    struct oe_prefix rule_prefix; /* the group line that trapped it */
    /* that line's whole selector (initiator); unset (family 0) for a responder's tunnel */
    struct policy_selector rule;
    unsigned instance;
    enum peer_state state;
    time_t since;
    uint64_t out_wait_until; /* its tunnel's outbound policy waits until then (agent_holds.c); 0: not */
    uint64_t out_wait_since; /* and has waited since then; never past hold-lifetime from it */
    uint64_t held_ms;        /* when it was held (ike_io_now): the tunnels ready since do not wait for it long */
    uint32_t lifetime;
    char why[128];
    /* the negotiation and the tunnel */
    unsigned ike_serial;
    uint32_t acquire_seq; /* the ACQUIRE that held it (kernel_sa.acquire_seq) */
    bool responder;
    bool updown_skipped; /* its up-shunt was over updown-shunt-rate: its down-shunt is skipped too */
    bool key_cached;     /* the key it is negotiating with came from the key cache, not from DNS now */
    bool key_refreshed;  /* a cached key failed authentication and DNS was asked again (once only) */
    struct oe_addr gateway;
    /* responder: the address leased to it (address-pool; remote is the lease, gateway where its
     * NAT sends from, and the policy that let it in is the gateway's); family 0: none */
    struct oe_addr lease;
    struct oe_addr outer_local; /* our end of its ESP SAs: ours, or, for a host behind us, the gateway's */
    enum peer_auth auth;
    enum peer_dnssec dnssec; /* the verdict on the key it was authenticated with */
    char peer_id[64];
    uint32_t spi_in, spi_out;
    char esp[48];        /* "AES_GCM_16_256", as pluto prints it */
    uint64_t seen_bytes; /* in + out at the last idle check */
    time_t active;       /* when they last changed */
    struct oe_peer *next, *prev;
    struct oe_peer *next_by_pair, *next_by_instance, *next_by_serial; /* the table's hash chains */
    struct oe_peer *next_held, *prev_held;                            /* the held list, while PEER_HOLD */
};

/* Peers in a list (for walks) and hash indexes by address pair, instance and IKE serial: O(1) to find. */
struct peer_table {
    struct oe_peer *head;
    size_t count;
    unsigned next_instance;
    struct oe_peer **by_pair, **by_instance, **by_serial;
    size_t nbuckets;      /* a power of two, grown to stay above count */
    size_t max;           /* peer_add refuses more than this (max-peers); 0: no limit */
    size_t holds;         /* peers in PEER_HOLD: negotiations in flight */
    struct oe_peer *held; /* those peers, linked by next_held */
};

/* The peer of that pair; local NULL: the first with that remote address (a walk: for the operator's explain). */
struct oe_peer *peer_find(struct peer_table *t, const struct oe_addr *local, const struct oe_addr *remote);
struct oe_peer *peer_add(struct peer_table *t, const struct oe_addr *local, const struct oe_addr *remote);
void peer_remove(struct peer_table *t, struct oe_peer *p);
/* A new peer is held; its state changes only this way (holds is counted). */
void peer_set_state(struct peer_table *t, struct oe_peer *p, enum peer_state s);
struct oe_peer *peer_by_instance(struct peer_table *t, unsigned instance);
struct oe_peer *peer_by_serial(struct peer_table *t, unsigned ike_serial);
/* A peer's IKE SA changes (ike_serial is only ever set this way: it is indexed). */
void peer_set_serial(struct peer_table *t, struct oe_peer *p, unsigned ike_serial);
void peer_table_clear(struct peer_table *t);
const char *peer_state_name(enum peer_state s);

/* The host whose policy the peer was admitted under: a NAT'ed peer's address as we see it, or remote. */
static inline const struct oe_addr *peer_policy_host(const struct oe_peer *p)
{
    return p->lease.family ? &p->gateway : &p->remote;
}

/* The pluto-style prefix: "private-or-clear#192.0.2.0/24"[3] 192.0.2.7 */
const char *peer_label(const struct oe_peer *p, char *buf, size_t len);

#endif
