/*
 * RFC 4322's states for one peer: a packet hits a trap (ACQUIRE), the peer is
 * held while we negotiate, then gets a tunnel or the group's failure shunt;
 * when the shunt's lifetime ends the kernel removes it and the trap is back.
 */
#include "agent_internal.h"
#include "ike_io.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

/* With negotiation turned off (ike = no) every peer gets its shunt at once. */
static const char no_negotiation[] = "negotiation is off (ike = no)";

static bool same_rule(const struct oe_peer *p, const struct policy_rule *r)
{
    return p->rule.peer.addr.family != 0 && oe_prefix_cmp(&p->rule.peer, &r->sel.peer) == 0 &&
           p->rule.proto == r->sel.proto && p->rule.lport == r->sel.lport && p->rule.rport == r->sel.rport;
}

/*
 * One peer per host pair: traffic of a more specific line (a port-scoped
 * private) for a host that already has a hold, shunt or tunnel under a wider
 * line stays trapped until that ends, rather than riding a shunt or tunnel
 * its own line did not approve.
 */
static void log_waits(const struct agent *a, const struct oe_peer *had, const struct policy_rule *r,
                      const struct kernel_event *ev)
{
    char label[200], pre[OE_ADDR_STRLEN], pr[8];
    oe_log("%s: ACQUIRE for %s port %u (%s %s:%u, %s) waits: the host has a %s under another line; "
           "that traffic stays trapped until it ends",
           peer_label(had, label, sizeof(label)), oe_proto_name(ev->proto, pr), ev->dport, policy_group_name(r->group),
           policy_group_file(a->set, r->group), r->line, oe_prefix_str(&r->sel.peer, pre), peer_state_name(had->state));
}

struct oe_peer *agent_peer_add(struct agent *a, const struct oe_addr *local, const struct oe_addr *remote)
{
    char l[OE_ADDR_STRLEN], r[OE_ADDR_STRLEN];
    struct oe_peer *p = peer_add(&a->peers, local, remote);
    if (p != NULL) {
        a->peers_full_logged = false;
        return p;
    }
    if (a->peers.count < a->peers.max || a->peers.max == 0)
        oe_log("%s -> %s: no room for the peer: out of memory", oe_addr_str(local, l), oe_addr_str(remote, r));
    else if (!a->peers_full_logged)
        oe_log("%s -> %s: peer table full (max-peers %zu): new peers are not negotiated until one goes; "
               "said once until there is room",
               oe_addr_str(local, l), oe_addr_str(remote, r), a->peers.max);
    a->peers_full_logged = a->peers.max && a->peers.count >= a->peers.max;
    return NULL;
}

static void on_acquire(struct agent *a, const struct kernel_event *ev)
{
    char src[OE_ADDR_STRLEN], dst[OE_ADDR_STRLEN], pr[8];
    const struct policy_rule *r = policy_lookup(a->set, &ev->dst, ev->proto, ev->sport, ev->dport);
    oe_addr_str(&ev->src, src);
    oe_addr_str(&ev->dst, dst);
    if (r == NULL || (r->group != POLICY_PRIVATE_OR_CLEAR && r->group != POLICY_PRIVATE)) {
        oe_log("ACQUIRE %s -> %s (%s) ignored: no trapping group covers %s", src, dst, oe_proto_name(ev->proto, pr),
               dst);
        return;
    }
    struct oe_peer *had = peer_find(&a->peers, &ev->src, &ev->dst);
    if (had != NULL) {
        /* a late duplicate ACQUIRE, or another line's ports: those wait (fail closed) */
        if (!same_rule(had, r))
            log_waits(a, had, r, ev);
        else if (had->state == PEER_HOLD && ev->acquire_seq)
            had->acquire_seq = ev->acquire_seq; /* the larval state that lives now is this one's */
        return;
    }
    if (a->peers.holds >= a->cfg->max_negotiations) {
        /* an ACQUIRE storm (spoofed pings our replies answer, say): the first ones get through first */
        if (!a->negotiations_full_logged)
            oe_log("ACQUIRE %s -> %s waits: %zu negotiations in flight (max-negotiations %u); its trap stays and "
                   "a later packet tries again; said once until one ends",
                   src, dst, a->peers.holds, a->cfg->max_negotiations);
        a->negotiations_full_logged = true;
        return;
    }
    a->negotiations_full_logged = false;
    char trigger[96];
    snprintf(trigger, sizeof(trigger), "ACQUIRE from %s (%s)", src, oe_proto_name(ev->proto, pr));
    agent_hold_peer(a, &ev->src, &ev->dst, r, ev->acquire_seq, trigger);
}

struct oe_peer *agent_hold_peer(struct agent *a, const struct oe_addr *local, const struct oe_addr *remote,
                                const struct policy_rule *r, uint32_t acquire_seq, const char *trigger)
{
    char label[200];
    struct oe_peer *p = agent_peer_add(a, local, remote);
    if (p == NULL)
        return NULL; /* the trap stays: the next packet tries again */
    p->group = r->group;
    p->rule_prefix = r->sel.peer;
    p->rule = r->sel;
    p->acquire_seq = acquire_seq;
    peer_set_state(&a->peers, p, PEER_HOLD);
    p->since = a->now();
    p->held_ms = ike_io_now();
    p->lifetime = a->cfg->hold_lifetime;
    peer_label(p, label, sizeof(label));

    struct kernel_policy hold;
    struct oe_error err;
    agent_peer_policy(p, KERNEL_HOLD, a->cfg->hold_lifetime, &hold);
    if (kernel_install(a->k, &hold, &err) != 0)
        oe_log("%s: cannot install hold: %s", label, err.msg);
    else
        oe_log("%s: %s: holding packets (%s:%u) while negotiating", label, trigger, policy_group_file(a->set, r->group),
               r->line);
    unsigned instance = p->instance;
    if (a->ike == NULL)
        agent_failure_shunt(a, p, no_negotiation);
    else
        agent_oe_negotiate(a, p);
    return peer_by_instance(&a->peers, instance); /* a negotiation may end at once, the peer with it */
}

static void on_policy_expired(struct agent *a, const struct kernel_event *ev)
{
    char label[200], sel[160];
    if (ev->policy.origin != KERNEL_ORIGIN_PEER) {
        oe_log("kernel removed policy %s (%s) on its lifetime; not expected",
               kernel_selector_str(&ev->policy, sel, sizeof(sel)), kernel_action_name(ev->policy.action));
        return;
    }
    struct oe_peer *p = peer_find(&a->peers, &ev->policy.src.addr, &ev->policy.dst.addr);
    if (p == NULL)
        return; /* left by a previous run */
    if (p->state == PEER_TUNNEL)
        return; /* the hold's lifetime ran out after the tunnel replaced it */
    peer_label(p, label, sizeof(label));
    oe_log("%s: %s expired after %us; peer trapped again", label, peer_state_name(p->state), p->lifetime);
    if (p->state != PEER_HOLD)
        agent_updown(a, p, "down-shunt");
    else
        agent_hold_ended(a, p);
    peer_remove(&a->peers, p);
}

void agent_kernel_event(const struct kernel_event *ev, void *arg)
{
    struct agent *a = arg;
    if (ev->type == KERNEL_EV_ADDR_NEW || ev->type == KERNEL_EV_ADDR_DEL || ev->type == KERNEL_EV_ADDR_LOST) {
        agent_address_event(a, ev);
        return;
    }
    if (a->set == NULL)
        return;
    if (ev->type == KERNEL_EV_ACQUIRE)
        on_acquire(a, ev);
    else if (ev->type == KERNEL_EV_POLICY_EXPIRED)
        on_policy_expired(a, ev);
    else if (ev->type == KERNEL_EV_SA_MAPPING && a->io)
        ike_io_sa_mapping(a->io, ev->spi, &ev->dst, &ev->src, ev->sport);
    else if (ev->type == KERNEL_EV_SA_EXPIRED && a->io)
        ike_io_sa_expired(a->io, ev->spi, &ev->dst, ev->hard);
}
