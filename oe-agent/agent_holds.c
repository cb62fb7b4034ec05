/*
 * The packets the kernel keeps on a trap line's queue are let go when the
 * line's last held peer leaves its hold.
 *
 * The first packet to a peer hits the line's trap (before the peer's own hold
 * exists) and waits on that policy's queue. Linux processes the queue on a
 * timer that starts at 0.1 s and doubles (0.1, 0.3, 0.7, 1.5, 3.1 s after the
 * packet); and a replacing policy with the same selector takes the queue over
 * and processes it at once (xfrm_policy_requeue). When the queue is processed
 * and its first packet can go, every other packet on it that cannot go yet
 * (its peer still negotiating) is dropped. So the trap is written again only
 * when no peer under its line is held any more: then each packet on the
 * queue goes through its tunnel or shunt at once instead of at the timer's
 * next turn, seconds later with a slow peer, and none is dropped for another
 * peer's sake.
 */
#include "agent_internal.h"
#include "log.h"

#include <string.h>

static bool same_line(const struct oe_peer *a, const struct oe_peer *b)
{
    return a->group == b->group && oe_prefix_cmp(&a->rule.peer, &b->rule.peer) == 0 && a->rule.proto == b->rule.proto &&
           a->rule.lport == b->rule.lport && a->rule.rport == b->rule.rport;
}

void agent_hold_ended(struct agent *a, const struct oe_peer *p)
{
    if (p->rule.peer.addr.family == 0)
        return; /* not trapped by a line (a responder's peer) */
    for (const struct oe_peer *q = a->peers.held; q; q = q->next_held)
        if (q != p && same_line(q, p))
            return; /* its packets would be dropped: the last one to leave lets them go */
    struct policy_kernel key;
    memset(&key, 0, sizeof(key));
    key.sel = p->rule;
    key.dir = POLICY_DIR_OUT;
    const struct policy_kernel *trap = agent_compiled_find(a, &key);
    if (trap == NULL || trap->action != POLICY_ACTION_TRAP)
        return; /* reloaded since: the line is gone or no longer traps */
    struct kernel_policy kp;
    struct oe_error err;
    char sel[160];
    agent_to_kernel(trap, &kp);
    if (kernel_install(a->k, &kp, &err) != 0)
        oe_log("trap %s: cannot write it again to let its queued packets go (the kernel's timer will): %s",
               kernel_selector_str(&kp, sel, sizeof(sel)), err.msg);
}
