/*
 * The packets the kernel keeps on a trap line's queue are let go when the
 * line's last held peer leaves its hold; and until then (bounded) a ready
 * tunnel of that line keeps its outbound policy back.
 *
 * The first packet to a peer hits the line's trap (before the peer's own hold
 * exists) and waits on that policy's queue. Linux processes the queue on a
 * timer that starts at 0.1 s and doubles (0.1, 0.3, 0.7, 1.5, 3.1 s after the
 * packet); and a replacing policy with the same selector takes the queue over
 * and processes it at once (xfrm_policy_requeue). xfrm_policy_queue_process
 * looks up only the queue's first packet (with XFRM_LOOKUP_QUEUE): while it
 * cannot go yet, the whole queue waits for the next turn; once it can, every
 * packet is looked up again without that flag, and those whose peer is still
 * negotiating (the hold's template has no SA) are dropped.
 *
 * So two things. The trap is written again only when no peer under its line
 * is held any more: then each packet on the queue goes through its tunnel or
 * shunt at once, instead of at the timer's next turn. And while other peers
 * of the line are held, a peer whose tunnel is ready keeps back the one step
 * that lets its packets go: its tunnel's outbound policy (the hold's
 * template is transport mode with no reqid, so only the tunnel policy
 * replacing the hold resolves the peer's flow; its SAs, inbound and fwd
 * policies go in at once). The queue's first packet then cannot go at the
 * timer's turns, and all of the queue goes when the last held peer ends; or,
 * when first-packet-wait-ms passes with no hold of the line ending (or
 * hold-lifetime since it became ready, however busy the line), the tunnel
 * carries its packets anyway and the timer's next turn may drop the first
 * packets of peers still negotiating.
 *
 * Every ready peer waits, not only the one held first: which packet heads
 * the queue the agent cannot tell. An ACQUIRE need not come with a packet
 * (ping(8) connect()s a UDP socket first, and that route lookup alone sends
 * it), a packet that comes before the peer's hold is in joins the trap's
 * queue, one after it the hold's; so the queue's first packet may be any
 * held peer's (seen in the guest: the peer held first had none there, the
 * second's headed the queue and its tunnel let it go).
 */
#include "agent_internal.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool on_line(const struct oe_peer *p, const struct agent_line *l)
{
    return p->group == l->group && oe_prefix_cmp(&p->rule.peer, &l->rule.peer) == 0 && p->rule.proto == l->rule.proto &&
           p->rule.lport == l->rule.lport && p->rule.rport == l->rule.rport;
}

static struct agent_line line_of(const struct oe_peer *p)
{
    return (struct agent_line){.group = p->group, .rule = p->rule};
}

/* The held peers of line l but not p (a walk of the held list: bounded by max-negotiations). */
static size_t held_on(const struct agent *a, const struct agent_line *l, const struct oe_peer *p)
{
    size_t n = 0;
    for (const struct oe_peer *q = a->peers.held; q; q = q->next_held)
        n += q != p && on_line(q, l);
    return n;
}

static size_t held_on_line(const struct agent *a, const struct oe_peer *p)
{
    struct agent_line l = line_of(p);
    return held_on(a, &l, p);
}

/* The waiting peer at index i, or NULL when it is gone (then it leaves the list and i is the next one's). */
static struct oe_peer *waiting_at(struct agent *a, size_t i)
{
    struct oe_peer *w = peer_by_instance(&a->peers, a->out_waiting[i]);
    if (w == NULL || w->out_wait_until == 0) {
        a->out_waiting[i] = a->out_waiting[--a->nout_waiting];
        return NULL;
    }
    return w;
}

static void release(struct agent *a, size_t i, struct oe_peer *w)
{
    w->out_wait_until = 0;
    a->out_waiting[i] = a->out_waiting[--a->nout_waiting];
    if (a->io)
        ike_io_release_out(a->io, &w->local, &w->remote);
}

/*
 * How long a waiting tunnel waits with no negotiation of its line ending:
 * first-packet-wait-ms, or as long as negotiations have recently taken when
 * that is longer (RSA on a loaded host: seconds each, ending seconds apart),
 * up to this many times the setting, so that a peer that answers slowly on
 * purpose cannot hold others' tunnels back much longer than the setting says.
 */
#define FIRST_PACKET_WAIT_STRETCH 5
/* each negotiation's time weighs 1/NEGOTIATION_MS_WEIGHT in negotiation_ms */
#define NEGOTIATION_MS_WEIGHT 4

static uint64_t wait_window(const struct agent *a)
{
    uint64_t fpw = a->cfg->first_packet_wait_ms, most = fpw * FIRST_PACKET_WAIT_STRETCH;
    return a->negotiation_ms <= fpw ? fpw : a->negotiation_ms < most ? a->negotiation_ms : most;
}

/* A held peer's tunnel is ready: its negotiation's time joins the average. */
static void negotiation_took(struct agent *a, const struct oe_peer *p)
{
    uint64_t took = ike_io_now() - p->held_ms;
    if (a->negotiation_ms == 0)
        a->negotiation_ms = took;
    else
        a->negotiation_ms = (a->negotiation_ms * (NEGOTIATION_MS_WEIGHT - 1) + took) / NEGOTIATION_MS_WEIGHT;
}

/* hold-lifetime from the start of w's wait: no hold lasts longer, so no wait for one does either */
static uint64_t wait_cap(const struct agent *a, const struct oe_peer *w)
{
    return w->out_wait_since + (uint64_t)a->cfg->hold_lifetime * 1000;
}

/* When w's wait ends if it starts its window at from: never past its cap. */
static uint64_t wait_end(const struct agent *a, const struct oe_peer *w, uint64_t from)
{
    uint64_t until = from + wait_window(a);
    return until < wait_cap(a, w) ? until : wait_cap(a, w);
}

/*
 * Whether a peer of line l other than w and gone (whose hold is ending) was
 * held by then and still is (a walk of the held list, as held_on).
 */
static bool held_before(const struct agent *a, const struct agent_line *l, const struct oe_peer *w,
                        const struct oe_peer *gone, uint64_t then)
{
    for (const struct oe_peer *q = a->peers.held; q; q = q->next_held)
        if (q != w && q != gone && q->held_ms <= then && on_line(q, l))
            return true;
    return false;
}

/*
 * A hold of line l ended (p's): the line is moving. A waiting tunnel for
 * which peers held before it was ready still negotiate waits its window
 * (wait_window) from now, not from when it became ready, so a storm of slow
 * negotiations (RSA on a loaded host) loses no first packet however long it
 * lasts from first to last, as long as each ends within a window of the one
 * before. Peers held later do not stretch a wait past its first window: on
 * a gateway where new peers never stop coming, no tunnel would carry its
 * packets before hold-lifetime.
 */
static void waits_slide(struct agent *a, const struct agent_line *l, const struct oe_peer *p)
{
    uint64_t now = ike_io_now();
    for (size_t i = 0; i < a->nout_waiting;) {
        struct oe_peer *w = waiting_at(a, i);
        if (w == NULL)
            continue;
        i++;
        if (w == p || !on_line(w, l))
            continue;
        /* from now while its earlier peers negotiate; otherwise its window as it was at first */
        uint64_t until = wait_end(a, w, held_before(a, l, w, p, w->out_wait_since) ? now : w->out_wait_since);
        w->out_wait_until = until > now ? until : now;
    }
}

bool agent_out_waits(void *arg, const struct ike_action *act)
{
    struct agent *a = arg;
    struct oe_peer *p = act->tag ? peer_by_instance(&a->peers, act->tag) : NULL;
    if (p == NULL || p->state != PEER_HOLD || p->rule.peer.addr.family == 0 || a->cfg->first_packet_wait_ms == 0)
        return false;
    /* the last of its line waits too, for the end of the loop's turn: an ACQUIRE read then may hold another */
    size_t others = held_on_line(a, p);
    if (a->nout_waiting == a->capout_waiting) {
        size_t cap = a->capout_waiting ? a->capout_waiting * 2 : 8;
        unsigned *v = realloc(a->out_waiting, cap * sizeof(*v));
        if (v == NULL) {
            agent_log_peer(p,
                           "tunnel ready, but no memory to wait for its line: it carries packets now, and the "
                           "%zu other negotiations of its line may lose their first",
                           others);
            return false;
        }
        a->out_waiting = v;
        a->capout_waiting = cap;
    }
    a->out_waiting[a->nout_waiting++] = p->instance;
    p->out_wait_since = ike_io_now();
    negotiation_took(a, p);
    p->out_wait_until = wait_end(a, p, p->out_wait_since);
    if (others > 0)
        agent_log_peer(
            p,
            "tunnel ready; its outbound policy waits for the %zu other negotiations of its line, up to %ums "
            "(first-packet-wait-ms, or what negotiations take now) after each ends: the kernel would let the "
            "trap's queue go and drop their first packets",
            others, (unsigned)wait_window(a));
    return true;
}

/*
 * One of line l's waiting tunnels stopped waiting: the kernel may let the
 * trap's queue go at its next turn, and then drops what is on it for a
 * tunnel still waiting as for a peer still negotiating. The line's other
 * ready tunnels stop waiting too, so that only the latter lose theirs.
 */
static size_t release_ready(struct agent *a, const struct agent_line *l)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nout_waiting;) {
        struct oe_peer *w = waiting_at(a, i);
        if (w == NULL)
            continue;
        if (on_line(w, l)) {
            release(a, i, w);
            n++;
        } else {
            i++;
        }
    }
    return n;
}

/* The line's waiting tunnels carry their packets, then its trap is written again: its whole queue goes. */
static void let_go(struct agent *a, const struct agent_line *l)
{
    release_ready(a, l);
    struct policy_kernel key;
    memset(&key, 0, sizeof(key));
    key.sel = l->rule;
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

int agent_holds_timeout(struct agent *a)
{
    if (a->nlines_to_go > 0)
        return 0;
    if (a->nout_waiting == 0)
        return -1;
    uint64_t now = ike_io_now(), first = UINT64_MAX;
    for (size_t i = 0; i < a->nout_waiting; i++) {
        const struct oe_peer *w = peer_by_instance(&a->peers, a->out_waiting[i]);
        if (w == NULL || w->out_wait_until <= now)
            return 0;
        if (w->out_wait_until < first)
            first = w->out_wait_until;
    }
    return first - now > 60000 ? 60000 : (int)(first - now);
}

void agent_holds_tick(struct agent *a)
{
    if (a->nlines_to_go > 0) {
        struct oe_error err;
        if (kernel_process(a->k, agent_kernel_event, a, &err) < 0) /* ACQUIREs sent meanwhile: their peers held */
            oe_log("%s", err.msg);
        for (size_t i = 0; i < a->nlines_to_go; i++)
            if (held_on(a, &a->lines_to_go[i], NULL) == 0)
                let_go(a, &a->lines_to_go[i]);
        a->nlines_to_go = 0; /* a line held again: its last to leave comes back here */
    }
    uint64_t now = ike_io_now();
    for (size_t i = 0; i < a->nout_waiting;) {
        struct oe_peer *w = waiting_at(a, i);
        if (w == NULL)
            continue;
        if (w->out_wait_until > now) {
            i++;
            continue;
        }
        size_t others = held_on_line(a, w);
        bool capped = w->out_wait_until == wait_cap(a, w);
        struct agent_line l = line_of(w);
        size_t with = release_ready(a, &l) - 1; /* w and the line's other ready tunnels */
        char also[80] = "";
        if (with)
            snprintf(also, sizeof(also), "; %zu other ready tunnel%s of its line carr%s its packets too", with,
                     with == 1 ? "" : "s", with == 1 ? "ies" : "y");
        agent_log_peer(w,
                       "waited %llums (%s) for %zu other negotiations of its line; its tunnel carries its packets "
                       "now, and the kernel's queue timer may drop their first packets%s",
                       (unsigned long long)(now - w->out_wait_since),
                       capped ? "hold-lifetime, however busy the line" : "no negotiation of its line ending meanwhile",
                       others, also);
        i = 0; /* release_ready may have moved any of them */
    }
}

void agent_hold_ended(struct agent *a, const struct oe_peer *p)
{
    if (p->rule.peer.addr.family == 0)
        return; /* not trapped by a line (a responder's peer) */
    struct agent_line l = line_of(p);
    waits_slide(a, &l, p);
    if (held_on_line(a, p) > 0)
        return; /* their packets would be dropped: the last one to leave lets them go */
    /*
     * At the end of this turn of the loop (agent_holds_tick), after the
     * ACQUIREs the kernel has sent meanwhile: a packet that hit the trap just
     * now is on its queue, and its peer, not yet held, would lose it.
     */
    for (size_t i = 0; i < a->nlines_to_go; i++)
        if (on_line(p, &a->lines_to_go[i]))
            return;
    if (a->nlines_to_go == a->caplines_to_go) {
        size_t cap = a->caplines_to_go ? a->caplines_to_go * 2 : 4;
        struct agent_line *v = realloc(a->lines_to_go, cap * sizeof(*v));
        if (v == NULL) {
            let_go(a, &l); /* now, then */
            return;
        }
        a->lines_to_go = v;
        a->caplines_to_go = cap;
    }
    a->lines_to_go[a->nlines_to_go++] = l;
}
