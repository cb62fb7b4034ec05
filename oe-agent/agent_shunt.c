/*
 * A peer's own kernel policy (a hold or a failure shunt), and the shunt
 * itself: what the event handlers, the initiator and IKE's hooks all
 * install, so none of them has to call into the others.
 */
#include "agent_internal.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

/*
 * A hold or shunt covers what the line that trapped it covers for this host
 * (its protocol and ports) and ranks just above that line (kernel.h), so a
 * more specific line — a port-scoped private or block — keeps its trap or
 * drop for its ports (issue 9, finding 4).
 */
void agent_peer_policy(const struct oe_peer *p, enum kernel_action action, uint32_t lifetime, struct kernel_policy *kp)
{
    memset(kp, 0, sizeof(*kp));
    oe_prefix_host(&p->local, &kp->src);
    oe_prefix_host(&p->remote, &kp->dst);
    kp->dir = KERNEL_DIR_OUT;
    kp->action = action;
    kp->origin = KERNEL_ORIGIN_PEER;
    kp->lifetime = lifetime;
    if (p->rule.peer.addr.family != 0) {
        kp->proto = p->rule.proto;
        kp->sport = p->rule.lport;
        kp->dport = p->rule.rport;
        kp->rank = (struct kernel_rank){.set = true,
                                        .prefix_len = p->rule.peer.len,
                                        .proto = p->rule.proto != 0,
                                        .nports = (uint8_t)((p->rule.lport != 0) + (p->rule.rport != 0))};
    }
}

/* Negotiation failed or is impossible: the group's failure shunt, for a while. */
void agent_failure_shunt(struct agent *a, struct oe_peer *p, const char *why)
{
    const struct oe_group_config *gc = &a->cfg->groups[p->group];
    enum kernel_action action = gc->failure_shunt == OE_SHUNT_DROP ? KERNEL_DROP : KERNEL_PASS;
    struct kernel_policy kp;
    struct oe_error err;
    char label[200];
    peer_label(p, label, sizeof(label));
    agent_peer_policy(p, action, gc->shunt_lifetime, &kp);
    if (kernel_install(a->k, &kp, &err) != 0) {
        /* The hold stays until its own lifetime ends; say why. */
        oe_log("%s: cannot install failure shunt: %s", label, err.msg);
        return;
    }
    bool was_held = p->state == PEER_HOLD;
    peer_set_state(&a->peers, p, action == KERNEL_DROP ? PEER_SHUNT_DROP : PEER_SHUNT_PASS);
    if (was_held)
        agent_hold_ended(a, p);
    p->since = a->now();
    p->lifetime = gc->shunt_lifetime;
    snprintf(p->why, sizeof(p->why), "%s", why);
    oe_log("%s: %s; installed failure shunt %s for %us, then trapped again", label, why,
           oe_shunt_name(gc->failure_shunt), gc->shunt_lifetime);
    agent_updown(a, p, "up-shunt");
}
