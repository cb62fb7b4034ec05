/* IKE's hooks: a tunnel up, down or rekeyed; the selectors a tunnel's policies carry. */
#include "agent_internal.h"
#include "log.h"
#include "responder_rule.h"

#include <stdio.h>
#include <string.h>

static void on_up(void *arg, const struct ike_action *act)
{
    struct agent *a = arg;
    struct oe_peer *p = act->tag ? peer_by_instance(&a->peers, act->tag) : NULL;
    if (p == NULL) {
        /* a responder tunnel: the peer table records it for status and updown */
        p = peer_find(&a->peers, &act->child.local_host, &act->child.remote_host);
        if (p == NULL)
            p = agent_peer_add(a, &act->child.local_host, &act->child.remote_host);
        if (p == NULL)
            return;
        p->responder = true;
        p->gateway = act->remote.addr;
        /* leased (a NAT'ed initiator): the lease is ours, its policy is that of the address we see */
        if (oe_addr_eq(&act->child.lease, &act->child.remote_host))
            p->lease = act->child.lease;
        const struct policy_rule *r = policy_lookup(a->set, peer_policy_host(p), 0, 0, 0);
        p->group = r ? r->group : POLICY_CLEAR_OR_PRIVATE;
        if (r)
            p->rule_prefix = r->sel.peer;
        else
            oe_prefix_host(peer_policy_host(p), &p->rule_prefix);
        p->dnssec = (enum peer_dnssec)act->note; /* PEER_DNSSEC_NONE (0) when no key was looked up */
    }
    peer_set_serial(&a->peers, p, act->serial); /* after simultaneous initiation, the IKE SA that stayed */
    bool was_held = p->state == PEER_HOLD;
    peer_set_state(&a->peers, p, PEER_TUNNEL);
    if (was_held)
        agent_hold_ended(a, p); /* the tunnel's policies are in (ike_io wrote them before this hook) */
    p->since = a->now();
    p->active = p->since;
    p->seen_bytes = 0;
    p->lifetime = 0;
    p->spi_in = act->child.spi_in;
    p->spi_out = act->child.spi_out;
    p->outer_local = act->child.local;
    ike_algs_name(act->child.encr, act->child.encr_bits, act->child.integ, p->esp, sizeof(p->esp));
    snprintf(p->peer_id, sizeof(p->peer_id), "%.63s", act->id);
    if (p->auth == PEER_AUTH_NONE)
        p->auth = act->id_type == IKE_ID_NULL ? PEER_AUTH_NULL : PEER_AUTH_RSASIG;
    p->why[0] = '\0';
    char lease[OE_ADDR_STRLEN + 40] = "", l[OE_ADDR_STRLEN], g[OE_ADDR_STRLEN];
    if (p->lease.family)
        snprintf(lease, sizeof(lease), ", lease %s to %s behind a NAT", oe_addr_str(&p->lease, l),
                 oe_addr_str(&p->gateway, g));
    agent_log_peer(p, "tunnel up (#%u, %s, ESP %s, SPIs in 0x%08x out 0x%08x%s)", act->serial,
                   p->responder ? "we responded" : "we initiated", p->esp, p->spi_in, p->spi_out, lease);
    agent_updown(a, p, "up-host");
}

static void on_down(void *arg, const struct ike_action *act)
{
    struct agent *a = arg;
    struct oe_peer *p = act->tag ? peer_by_instance(&a->peers, act->tag) : peer_by_serial(&a->peers, act->serial);
    if (act->tag == 0 && agent_auth_failure(act->text)) {
        /*
         * As responder the initiator's AUTH did not verify with the key we
         * had: if it came from the cache, the initiator's next attempt
         * (after its failure shunt) finds DNS asked afresh.
         */
        const struct oe_addr *host = act->child.remote_host.family ? &act->child.remote_host : &act->remote.addr;
        char name[DNSKEYS_NAME_MAX];
        dnskeys_reverse_name(host, name);
        if (dnskeys_cache_drop(a->keys, name))
            oe_log("#%u: the cached key for %s failed authentication: dropped from the key cache", act->serial, name);
    }
    if (p == NULL || (p->state == PEER_TUNNEL && p->ike_serial != act->serial))
        return; /* an IKE SA that no longer serves the peer (its twin does) */
    if (p->state == PEER_HOLD && p->key_cached && !p->key_refreshed && agent_auth_failure(act->text)) {
        /* the peer may have rolled its key since we cached it: ask DNS once more before giving up */
        char name[DNSKEYS_NAME_MAX];
        dnskeys_reverse_name(&p->remote, name);
        dnskeys_cache_drop(a->keys, name);
        p->key_refreshed = true;
        p->key_cached = false;
        agent_log_peer(p, "the cached key for %s failed authentication (%s): dropped; asking DNS again, once", name,
                       act->text);
        agent_oe_negotiate(a, p);
        return;
    }
    if (p->state == PEER_HOLD) {
        char why[600];
        snprintf(why, sizeof(why), "IKE failed: %s", act->text);
        agent_failure_shunt(a, p, why);
    } else if (p->state == PEER_TUNNEL) {
        agent_log_peer(p, "tunnel down (%s); peer trapped again", act->text);
        agent_updown(a, p, "down-host");
        peer_remove(&a->peers, p);
    }
}

static void on_rekeyed(void *arg, const struct ike_action *act)
{
    struct agent *a = arg;
    struct oe_peer *p = act->tag ? peer_by_instance(&a->peers, act->tag) : peer_by_serial(&a->peers, act->serial);
    if (p == NULL)
        return;
    p->spi_in = act->child.spi_in;
    p->spi_out = act->child.spi_out;
    ike_algs_name(act->child.encr, act->child.encr_bits, act->child.integ, p->esp, sizeof(p->esp));
    agent_log_peer(p, "Child SA rekeyed: SPIs in 0x%08x out 0x%08x, ESP %s", p->spi_in, p->spi_out, p->esp);
}

/*
 * The peer's NAT remapped it and the SAs followed (ike_io): a new outer
 * address is where its ESP goes and where its byte counts are read; for a
 * leased peer it is also the address whose policy it has (the responder's
 * rule), so that policy is asked again, as a reload would: a NAT that now
 * sends from an address whose line wants no tunnel ends it.
 */
static void on_moved(void *arg, const struct ike_action *act)
{
    struct agent *a = arg;
    struct oe_peer *p = act->tag ? peer_by_instance(&a->peers, act->tag) : peer_by_serial(&a->peers, act->serial);
    if (p == NULL || p->state != PEER_TUNNEL || p->ike_serial != act->serial ||
        oe_addr_eq(&act->moved_from.addr, &act->child.remote))
        return;
    char why[300], g[OE_ADDR_STRLEN];
    p->gateway = act->child.remote;
    if (!agent_peer_stale(a, p, why, sizeof(why)))
        return;
    agent_log_peer(p, "its NAT now sends from %s, and %s: deleting the tunnel", oe_addr_str(&p->gateway, g), why);
    ike_delete(a->ike, act->serial, ike_io_now(), ike_io_actions(a->io));
}

/*
 * A tunnel's selectors: each line it carries for the remote host, ranked at
 * that line (host_tunnel_lines; issue 9, finding 4). The lines name only the
 * remote side, so the local host does not change them.
 */
static size_t tunnel_selectors(void *arg, const struct oe_addr *local_host, const struct oe_addr *remote_host,
                               struct ike_io_selector *out, size_t max)
{
    struct agent *a = arg;
    const struct policy_rule *lines[IKE_IO_TUNNEL_SELECTORS];
    (void)local_host;
    if (max > IKE_IO_TUNNEL_SELECTORS)
        max = IKE_IO_TUNNEL_SELECTORS;
    size_t want = host_tunnel_lines(a->set, remote_host, lines, max);
    for (size_t i = 0; i < want && i < max; i++) {
        const struct policy_selector *sel = &lines[i]->sel;
        out[i] = (struct ike_io_selector){
            .proto = sel->proto,
            .lport = sel->lport,
            .rport = sel->rport,
            .rank = {.set = true,
                     .prefix_len = sel->peer.len,
                     .proto = sel->proto != 0,
                     .nports = (uint8_t)((sel->lport != 0) + (sel->rport != 0))},
        };
    }
    return want;
}

static uint32_t acquire_seq(void *arg, const struct ike_action *act)
{
    struct agent *a = arg;
    const struct oe_peer *p = act->tag ? peer_by_instance(&a->peers, act->tag) : NULL;
    return p ? p->acquire_seq : 0;
}

void agent_oe_hooks(struct agent *a, struct ike_io_hooks *h)
{
    *h = (struct ike_io_hooks){.up = on_up,
                               .down = on_down,
                               .need_key = agent_responder_need_key,
                               .rekeyed = on_rekeyed,
                               .moved = on_moved,
                               .tunnel_selectors = tunnel_selectors,
                               .acquire_seq = acquire_seq,
                               .out_waits = agent_out_waits,
                               .arg = a};
}
