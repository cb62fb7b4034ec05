/* What the agent's files share; not for main.c or the tools. */
#ifndef OE_AGENT_INTERNAL_H
#define OE_AGENT_INTERNAL_H

#include "agent.h"
#include "dnskeys/dnskeys.h"
#include "ike/ike.h"
#include "ike_io.h"
#include "loop_stats.h"
#include "peers.h"

/* A lookup's verdict as the peer table keeps it. */
static inline enum peer_dnssec agent_peer_dnssec(enum dnskeys_verdict v)
{
    return v == DNSKEYS_SECURE ? PEER_DNSSEC_SECURE : v == DNSKEYS_INSECURE ? PEER_DNSSEC_INSECURE : PEER_DNSSEC_BOGUS;
}

/* A policy group's line, as a peer it trapped records it. */
struct agent_line {
    enum policy_group group;
    struct policy_selector rule;
};

struct agent {
    const struct oe_config *cfg;
    struct kernel *k;
    struct policy_set *set;
    struct policy_compiled compiled; /* what the kernel holds for the groups */
    struct peer_table peers;
    time_t (*now)(void);
    /* negotiation: DNS keys and IKEv2 (absent when cfg->ike is off) */
    struct dnskeys_resolver *res;
    struct dnskeys_hostkey *hk;    /* signs our AUTH: key-file */
    struct dnskeys_pubkey hk_next; /* key-file.next during a rollover (published, not signing yet); len 0: none */
    struct dnskeys_cache *keys;    /* peers' keys from DNS, for their TTL (agent_keys.c) */
    struct ike_core *ike;
    struct ike_io *io;
    struct oe_addr *local; /* the addresses IKE runs on now (agent_addresses.c) */
    size_t nlocal, caplocal;
    struct oe_addr *listen; /* `listen`: only these; none: every address */
    size_t nlisten;
    time_t idle_checked;
    bool peers_full_logged;        /* max-peers reached: said once until there is room again */
    bool negotiations_full_logged; /* max-negotiations reached: likewise */
    struct loop_stats loop;
    /* shunt updown runs in this second, within updown-shunt-rate; and how many were skipped */
    time_t updown_second;
    unsigned updown_runs, updown_skipped;
    /* peers whose tunnel's outbound policy waits for their line's other negotiations (agent_holds.c) */
    unsigned *out_waiting;
    size_t nout_waiting, capout_waiting;
    uint64_t negotiation_ms; /* how long the recent negotiations took, hold to tunnel (a moving average) */
    /* lines whose last held peer left: their queues go at the end of the loop's turn */
    struct agent_line *lines_to_go;
    size_t nlines_to_go, caplines_to_go;
};

/* A key from DNS as the IKE core takes it: a view, the bytes stay dnskeys'. */
static inline struct ike_pubkey agent_ike_key(const struct dnskeys_pubkey *k)
{
    return (struct ike_pubkey){k->rfc3110, k->len};
}

/* agent_events.c: a peer added, or NULL with the reason logged (max-peers: once while it holds) */
struct oe_peer *agent_peer_add(struct agent *a, const struct oe_addr *local, const struct oe_addr *remote);
/*
 * agent_events.c: a peer of local -> remote held under line r (its hold in the
 * kernel) and its negotiation started; trigger says what asked ("ACQUIRE from
 * ..."). NULL when refused (logged) or when it ended at once (ike = no).
 */
struct oe_peer *agent_hold_peer(struct agent *a, const struct oe_addr *local, const struct oe_addr *remote,
                                const struct policy_rule *r, uint32_t acquire_seq, const char *trigger);
/* agent_log.c: one log line about one peer, under its label */
void agent_log_peer(const struct oe_peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* agent_shunt.c: a failure shunt installed, and any peer policy built */
void agent_failure_shunt(struct agent *a, struct oe_peer *p, const char *why);
/* A peer's hold or shunt as the kernel gets it (its line's ports and rank). */
void agent_peer_policy(const struct oe_peer *p, enum kernel_action action, uint32_t lifetime, struct kernel_policy *kp);
/* agent_negotiation.c: the resolver, host key, IKE core and sockets, started and stopped */
int agent_oe_start(struct agent *a, struct oe_error *err);
void agent_ike_config(struct agent *a, struct ike_config *ic);
void agent_oe_stop(struct agent *a);
/* agent_addresses.c: IKE on the host's addresses, followed as they come and go */
int agent_addresses_start(struct agent *a, struct oe_error *err);
void agent_addresses_stop(struct agent *a);
void agent_address_event(struct agent *a, const struct kernel_event *ev);
bool agent_is_local(const struct agent *a, const struct oe_addr *x);
/* The IKE core's address_is_ours: one of the host's addresses, or in a gateway's subnets. */
bool agent_address_is_ours(void *arg, const struct oe_addr *x);
/* Why p no longer fits the policy loaded (into why), or false when it does (agent.c, as a reload asks). */
bool agent_peer_stale(struct agent *a, struct oe_peer *p, char *why, size_t len);
/* agent_holds.c: p left its hold; the last of its line's held peers lets the trap's queued packets go */
void agent_hold_ended(struct agent *a, const struct oe_peer *p);
/* agent_holds.c: IKE's out_waits hook: the tunnel's outbound policy waits while its first packet heads the queue */
bool agent_out_waits(void *arg, const struct ike_action *act);
/* agent_holds.c: ms until a wait ends (-1: none), and ending those due */
int agent_holds_timeout(struct agent *a);
void agent_holds_tick(struct agent *a);
/* agent_initiator.c: a held peer's key, then IKE with its gateway */
void agent_oe_negotiate(struct agent *a, struct oe_peer *p);
/* agent_ike_hooks.c: what agent_oe_start gives ike_io */
void agent_oe_hooks(struct agent *a, struct ike_io_hooks *h);
/* agent_responder.c: IKE's NEED_KEY hook, the responder's rule against policy and DNS */
void agent_responder_need_key(void *arg, const struct ike_action *act);
/*
 * agent_keys.c: the host key that signs (behind a callback, so that
 * rereadkeys can swap it under a running IKE core), and the key cache.
 */
int agent_keys_start(struct agent *a, struct oe_error *err);
void agent_keys_stop(struct agent *a);
bool agent_has_host_key(void *agent);
int agent_sign(void *agent, const uint8_t *data, size_t len, uint8_t **sig, size_t *siglen, struct oe_error *err);
/* Flush the cache and read the host keys again (rereadkeys, reload): what was done, for the reply. */
void agent_rereadkeys(struct agent *a, bool host_keys, struct oe_buf *out);
void agent_keys_status(const struct agent *a, bool json, struct oe_buf *out);
/* The cached answer for owner (NULL: ask DNS), and a fresh one kept. */
const struct dnskeys_answer *agent_cached_keys(struct agent *a, const char *owner);
void agent_cache_keys(struct agent *a, const struct dnskeys_answer *ans);
/* Was an IKE failure our check of the peer's AUTH with its key (what a fresher key could mend)? */
bool agent_auth_failure(const char *why);
/* agent_control.c */
void agent_tunnel_bytes(struct agent *a, const struct oe_peer *p, uint64_t *in, uint64_t *out);
/* agent_updown.c */
void agent_updown(struct agent *a, struct oe_peer *p, const char *verb);

void agent_to_kernel(const struct policy_kernel *pk, struct kernel_policy *kp);
/* The compiled policy of that selector and direction, or NULL. */
const struct policy_kernel *agent_compiled_find(const struct agent *a, const struct policy_kernel *key);
/* The group a kernel policy of ours comes from, or -1 (exempt, unknown). */
int agent_policy_group(const struct agent *a, const struct kernel_policy *kp);
/* The exemptions for IKE and the resolvers; returns the count (<= max). */
size_t agent_exemptions(const struct agent *a, struct kernel_policy *out, size_t max);

#endif
