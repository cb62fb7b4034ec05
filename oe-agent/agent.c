/* Start, reload and stop: keeping the kernel's policies equal to the files. */
#include "agent_internal.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/*
 * No global exemption for UDP 500/4500: any local program could bind those
 * ports and send to private and block peers in clear. The agent's IKE
 * sockets carry their own bypass policy (ike_io.c), which covers them alone.
 */
#define MAX_EXEMPTIONS (5 * 2 + OE_MAX_RESOLVERS * 4)
#define ICMPV6 58

/* The agent's clock for its own timers (shunts, holds, idle tunnels): monotonic, in seconds. */
static time_t monotonic_clock(void)
{
    return (time_t)(oe_monotonic_ms() / 1000);
}

struct agent *agent_new(const struct oe_config *cfg, struct kernel *k)
{
    struct agent *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->cfg = cfg;
    a->k = k;
    a->now = monotonic_clock;
    a->peers.max = cfg->max_peers;
    return a;
}

void agent_free(struct agent *a)
{
    if (a == NULL)
        return;
    agent_oe_stop(a);
    policy_set_free(a->set);
    policy_compiled_free(&a->compiled);
    peer_table_clear(&a->peers);
    free(a->out_waiting);
    free(a->lines_to_go);
    free(a);
}

void agent_set_clock(struct agent *a, time_t (*now)(void))
{
    a->now = now;
}

void agent_to_kernel(const struct policy_kernel *pk, struct kernel_policy *kp)
{
    memset(kp, 0, sizeof(*kp));
    int family = pk->sel.peer.addr.family;
    kp->proto = pk->sel.proto;
    kp->origin = KERNEL_ORIGIN_GROUP;
    kp->action = pk->action == POLICY_ACTION_TRAP   ? KERNEL_TRAP
                 : pk->action == POLICY_ACTION_DROP ? KERNEL_DROP
                                                    : KERNEL_PASS;
    if (pk->dir == POLICY_DIR_OUT) {
        kp->dir = KERNEL_DIR_OUT;
        kp->dst = pk->sel.peer;
        oe_prefix_any(family, &kp->src);
        kp->sport = pk->sel.lport;
        kp->dport = pk->sel.rport;
    } else {
        kp->dir = KERNEL_DIR_IN;
        kp->src = pk->sel.peer;
        oe_prefix_any(family, &kp->dst);
        kp->sport = pk->sel.rport;
        kp->dport = pk->sel.lport;
    }
}

/* The inverse, for what a previous run left; false if it is not a group policy. */
static bool from_kernel(const struct kernel_policy *kp, struct policy_kernel *pk)
{
    const struct oe_prefix *local = kp->dir == KERNEL_DIR_OUT ? &kp->src : &kp->dst;
    if (kp->origin != KERNEL_ORIGIN_GROUP || local->len != 0 || kp->action == KERNEL_HOLD)
        return false;
    memset(pk, 0, sizeof(*pk));
    pk->sel.proto = kp->proto;
    pk->action = kp->action == KERNEL_TRAP   ? POLICY_ACTION_TRAP
                 : kp->action == KERNEL_DROP ? POLICY_ACTION_DROP
                                             : POLICY_ACTION_PASS;
    if (kp->dir == KERNEL_DIR_OUT) {
        pk->dir = POLICY_DIR_OUT;
        pk->sel.peer = kp->dst;
        pk->sel.lport = kp->sport;
        pk->sel.rport = kp->dport;
    } else {
        pk->dir = POLICY_DIR_IN;
        pk->sel.peer = kp->src;
        pk->sel.lport = kp->dport;
        pk->sel.rport = kp->sport;
    }
    return true;
}

static int kernel_order(const void *a, const void *b)
{
    return policy_kernel_cmp(a, b);
}

const struct policy_kernel *agent_compiled_find(const struct agent *a, const struct policy_kernel *key)
{
    return bsearch(key, a->compiled.v, a->compiled.n, sizeof(*key), kernel_order);
}

int agent_policy_group(const struct agent *a, const struct kernel_policy *kp)
{
    struct policy_kernel key;
    if (!from_kernel(kp, &key))
        return -1;
    const struct policy_kernel *hit = agent_compiled_find(a, &key);
    return hit ? (int)hit->group : -1;
}

static void exempt_port(struct kernel_policy *out, size_t *n, int family, uint8_t proto, enum kernel_dir dir,
                        const struct oe_addr *remote, uint16_t lport, uint16_t rport)
{
    struct kernel_policy *p = &out[(*n)++];
    memset(p, 0, sizeof(*p));
    oe_prefix_any(family, &p->src);
    oe_prefix_any(family, &p->dst);
    if (remote)
        oe_prefix_host(remote, dir == KERNEL_DIR_OUT ? &p->dst : &p->src);
    p->dir = dir;
    p->proto = proto;
    p->sport = dir == KERNEL_DIR_OUT ? lport : rport;
    p->dport = dir == KERNEL_DIR_OUT ? rport : lport;
    p->action = KERNEL_PASS;
    p->origin = KERNEL_ORIGIN_EXEMPT;
}

size_t agent_exemptions(const struct agent *a, struct kernel_policy *out, size_t max)
{
    size_t n = 0;
    if (max < MAX_EXEMPTIONS)
        return 0;
    /* RFC 4861: neighbour discovery (ICMPv6 133-137) must never wait for a tunnel */
    for (uint16_t type = 133; type <= 137; type++) {
        exempt_port(out, &n, AF_INET6, ICMPV6, KERNEL_DIR_OUT, NULL, type, 0);
        exempt_port(out, &n, AF_INET6, ICMPV6, KERNEL_DIR_IN, NULL, 0, type);
    }
    for (int r = 0; r < a->cfg->nresolvers; r++) {
        const struct oe_addr *ns = &a->cfg->resolvers[r];
        for (int d = KERNEL_DIR_OUT; d <= KERNEL_DIR_IN; d++) {
            exempt_port(out, &n, ns->family, 17, (enum kernel_dir)d, ns, 0, a->cfg->resolver_ports[r]);
            exempt_port(out, &n, ns->family, 6, (enum kernel_dir)d, ns, 0, a->cfg->resolver_ports[r]);
        }
    }
    return n;
}

struct apply_stats {
    struct agent *a;
    unsigned added, removed, changed, failed;
};

static int apply_install(const struct policy_kernel *pk, struct apply_stats *st, unsigned *count)
{
    struct kernel_policy kp;
    struct oe_error err;
    agent_to_kernel(pk, &kp);
    if (kernel_install(st->a->k, &kp, &err) != 0) {
        oe_log("policy %s: %s", policy_group_name(pk->group), err.msg);
        st->failed++;
        return 0;
    }
    (*count)++;
    return 0;
}

static int apply_add(const struct policy_kernel *pk, void *arg)
{
    struct apply_stats *st = arg;
    return apply_install(pk, st, &st->added);
}

static int apply_replace(const struct policy_kernel *old, const struct policy_kernel *pk, void *arg)
{
    (void)old;
    struct apply_stats *st = arg;
    return apply_install(pk, st, &st->changed);
}

static int apply_remove(const struct policy_kernel *pk, void *arg)
{
    struct apply_stats *st = arg;
    struct kernel_policy kp;
    struct oe_error err;
    agent_to_kernel(pk, &kp);
    if (kernel_remove(st->a->k, &kp, &err) != 0) {
        oe_log("policy: %s", err.msg);
        st->failed++;
        return 0;
    }
    st->removed++;
    return 0;
}

static const struct policy_diff_ops apply_ops = {apply_add, apply_remove, apply_replace};

/* Make the kernel's group policies go from `from` to `to`. */
static struct apply_stats apply_diff(struct agent *a, const struct policy_compiled *from,
                                     const struct policy_compiled *to)
{
    struct apply_stats st = {.a = a};
    policy_diff(from, to, &apply_ops, &st);
    return st;
}

static bool same_policy(const struct kernel_policy *a, const struct kernel_policy *b)
{
    return kernel_same_selector(a, b) && a->action == b->action && kernel_priority(a) == b->priority;
}

/*
 * Exemptions: install what is missing, remove what is no longer wanted,
 * such as the global IKE-port exemptions older versions installed.
 */
static void sync_exemptions(struct agent *a, const struct kernel_policy *have, size_t nhave)
{
    struct kernel_policy want[MAX_EXEMPTIONS];
    size_t nwant = agent_exemptions(a, want, MAX_EXEMPTIONS);
    struct oe_error err;
    size_t unwanted = 0;
    for (size_t i = 0; i < nhave; i++) {
        bool wanted = false;
        for (size_t j = 0; j < nwant && !wanted; j++)
            wanted = kernel_same_selector(&have[i], &want[j]);
        if (wanted)
            continue;
        if (kernel_remove(a->k, &have[i], &err) != 0)
            oe_log("exemption: %s", err.msg);
        else
            unwanted++;
    }
    if (unwanted)
        oe_log("removed %zu exemptions a previous run left that are no longer wanted", unwanted);
    for (size_t j = 0; j < nwant; j++) {
        bool present = false;
        for (size_t i = 0; i < nhave && !present; i++)
            present = same_policy(&want[j], &have[i]);
        if (!present && kernel_install(a->k, &want[j], &err) != 0)
            oe_log("exemption: %s", err.msg);
    }
    char list[256] = "";
    size_t len = 0;
    for (int r = 0; r < a->cfg->nresolvers && len < sizeof(list); r++) {
        char s[OE_ADDR_STRLEN];
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s port %u", r ? ", " : "",
                                oe_addr_str(&a->cfg->resolvers[r], s), a->cfg->resolver_ports[r]);
    }
    oe_log("exempting the agent's own traffic from all groups: IKE (its own sockets only), IPv6 "
           "neighbour discovery (ICMPv6 133-137)%s%s",
           a->cfg->nresolvers ? " and DNS resolvers " : " (no DNS resolver known)", list);
}

/* Everything that can fail on bad files happens here, before the kernel is touched. */
static int load_policies(struct agent *a, struct policy_set **set, struct policy_compiled *want, struct oe_error *err)
{
    if (policy_load(a->cfg->policies, set, err) != 0)
        return -1;
    if (policy_compile(*set, want, err) != 0) {
        policy_set_free(*set);
        return -1;
    }
    return 0;
}

static void adopt(struct agent *a, struct policy_set *set, struct policy_compiled want)
{
    policy_set_free(a->set);
    policy_compiled_free(&a->compiled);
    a->set = set;
    a->compiled = want;
}

int agent_start(struct agent *a, struct oe_error *err)
{
    struct policy_set *set;
    struct policy_compiled want;
    if (load_policies(a, &set, &want, err) != 0)
        return -1;
    if (a->cfg->larval_drop >= 0) {
        struct oe_error e;
        if (kernel_set_larval_drop(a->k, a->cfg->larval_drop, &e) != 0)
            oe_log("warning: %s; packets to a trapped peer may be dropped, not held", e.msg);
    }
    if (a->cfg->acq_expires > 0) {
        struct oe_error e;
        if (kernel_set_acq_expires(a->k, (int)a->cfg->acq_expires, &e) != 0)
            oe_log("warning: %s; a pair whose ACQUIRE went unanswered is asked again only after the kernel's "
                   "own xfrm_acq_expires",
                   e.msg);
    }
    struct kernel_policy *have;
    size_t nhave;
    if (kernel_list(a->k, &have, &nhave, err) != 0) {
        policy_compiled_free(&want);
        policy_set_free(set);
        return -1;
    }
    /* What a previous run left: its group policies are our starting point. */
    struct policy_compiled left = {.v = calloc(nhave + 1, sizeof(*left.v))};
    size_t nexempt = 0, stale = 0;
    for (size_t i = 0; i < nhave; i++) {
        struct oe_error e;
        if (have[i].origin == KERNEL_ORIGIN_EXEMPT) {
            have[nexempt++] = have[i];
        } else if (left.v != NULL && from_kernel(&have[i], &left.v[left.n])) {
            left.n++;
        } else {
            stale++;
            if (kernel_remove(a->k, &have[i], &e) != 0)
                oe_log("removing what a previous run left: %s", e.msg);
        }
    }
    qsort(left.v, left.n, sizeof(*left.v), kernel_order);
    sync_exemptions(a, have, nexempt);
    struct apply_stats st = apply_diff(a, &left, &want);
    oe_log("loaded %zu policy lines from %s; kernel: %u added, %u removed, %u changed, "
           "%zu kept from a previous run, %zu stale holds/shunts removed%s",
           policy_rule_count(set), a->cfg->policies, st.added, st.removed, st.changed, left.n - st.removed - st.changed,
           stale, st.failed ? " (with failures, see above)" : "");
    free(have);
    policy_compiled_free(&left);
    adopt(a, set, want);
    /* the SAs of a previous run's tunnels: their policies went above, their peers will renegotiate */
    size_t sas = 0;
    struct oe_error e;
    if (kernel_sa_flush_reqids(a->k, IKE_REQID_FIRST, IKE_REQID_COUNT, &sas, &e) != 0)
        oe_log("removing the ESP SAs a previous run left: %s", e.msg);
    if (sas > 0)
        oe_log("removed %zu ESP SAs a previous run left", sas);
    /* and its address translations: the whole table, made anew when needed; also with
     * client-address-translation = no, as a run with it on may have left one that still translates */
    if (kernel_nat_flush(a->k, &e) != 0)
        oe_log("removing the nftables table %s a previous run may have left: %s", KERNEL_NAT_TABLE, e.msg);
    return agent_oe_start(a, err);
}

/* Could a tunnel that exists serve a peer under group g (its auth and dnssec demands)? */
static const char *tunnel_unfit(const struct agent *a, const struct oe_peer *p, enum policy_group g)
{
    const struct oe_group_config *gc = &a->cfg->groups[g];
    bool null_auth = p->auth == PEER_AUTH_NULL;
    if (g != POLICY_CLEAR_OR_PRIVATE && g != POLICY_PRIVATE_OR_CLEAR && g != POLICY_PRIVATE)
        return "the group does not encrypt";
    if (null_auth && gc->auth == OE_AUTH_RSASIG)
        return "NULL-authenticated and the group needs auth = rsasig";
    if (!null_auth && gc->auth == OE_AUTH_NULL)
        return NULL; /* stronger than asked */
    if (!null_auth && gc->dnssec == OE_DNSSEC_SECURE && p->dnssec != PEER_DNSSEC_SECURE)
        return "its key was not DNSSEC secure and the group needs dnssec = secure";
    return NULL;
}

/*
 * Why a peer's hold, shunt or tunnel no longer fits the policy now loaded
 * (written to why), or false when it still does. A peer fits when the line
 * governing its traffic is the one it was made under; a tunnel also when the
 * new group would accept it as it is.
 */
static bool peer_stale(struct agent *a, struct oe_peer *p, char *why, size_t len)
{
    const struct policy_selector *sel = &p->rule;
    const struct policy_rule *r = policy_lookup(a->set, peer_policy_host(p), sel->proto, sel->lport, sel->rport);
    if (r == NULL) {
        snprintf(why, len, "no group covers it now");
        return true;
    }
    bool same_line = r->group == p->group && oe_prefix_cmp(&r->sel.peer, &p->rule_prefix) == 0 &&
                     (sel->peer.addr.family == 0 ||
                      (r->sel.proto == sel->proto && r->sel.lport == sel->lport && r->sel.rport == sel->rport));
    if (same_line)
        return false;
    if (p->state == PEER_TUNNEL) {
        const char *unfit = tunnel_unfit(a, p, r->group);
        if (unfit == NULL) {
            /* still good enough: it now belongs to the new line */
            p->group = r->group;
            p->rule_prefix = r->sel.peer;
            if (sel->peer.addr.family != 0)
                p->rule = r->sel;
            return false;
        }
        snprintf(why, len, "its group is now %s (%s:%u): %s", policy_group_name(r->group),
                 policy_group_file(a->set, r->group), r->line, unfit);
        return true;
    }
    if (r->group != p->group)
        snprintf(why, len, "its group is now %s", policy_group_name(r->group));
    else
        snprintf(why, len, "the line it was made under changed (now %s:%u)", policy_group_file(a->set, r->group),
                 r->line);
    return true;
}

bool agent_peer_stale(struct agent *a, struct oe_peer *p, char *why, size_t len)
{
    return peer_stale(a, p, why, len);
}

/* Take a stale peer out: its hold or shunt from the kernel, its tunnel by Delete. */
static void peer_retire(struct agent *a, struct oe_peer *p, const char *why)
{
    char label[200];
    struct oe_error err;
    peer_label(p, label, sizeof(label));
    oe_log("%s: %s removed on reload: %s", label, peer_state_name(p->state), why);
    if (p->state == PEER_TUNNEL) {
        /* on_down takes the peer out of the table and says "tunnel down" */
        if (a->ike && p->ike_serial) {
            ike_delete(a->ike, p->ike_serial, ike_io_now(), ike_io_actions(a->io));
            ike_io_apply(a->io, ike_io_actions(a->io));
        }
        return;
    }
    struct kernel_policy kp;
    enum kernel_action action = p->state == PEER_HOLD         ? KERNEL_HOLD
                                : p->state == PEER_SHUNT_DROP ? KERNEL_DROP
                                                              : KERNEL_PASS;
    agent_peer_policy(p, action, 0, &kp);
    if (kernel_remove(a->k, &kp, &err) != 0)
        oe_log("%s: cannot remove its %s: %s", label, peer_state_name(p->state), err.msg);
    if (p->state == PEER_HOLD && a->ike && p->ike_serial)
        ike_delete(a->ike, p->ike_serial, ike_io_now(), ike_io_actions(a->io));
    if (p->state != PEER_HOLD)
        agent_updown(a, p, "down-shunt");
    else
        agent_hold_ended(a, p);
    peer_remove(&a->peers, p);
    if (a->io)
        ike_io_apply(a->io, ike_io_actions(a->io));
}

/*
 * Issue 9 finding 5: the group diff alone left every hold, shunt and tunnel
 * made under the old lines in place, so a host moved into private kept its
 * pass shunt (clear) for up to shunt-lifetime. Each peer is now checked
 * against the new set; what no longer fits goes, and the trap is back.
 */
static unsigned revisit_peers(struct agent *a)
{
    unsigned retired = 0;
    char why[300];
    for (struct oe_peer *p = a->peers.head, *next; p; p = next) {
        next = p->next;
        if (!peer_stale(a, p, why, sizeof(why)))
            continue;
        unsigned instance = p->instance;
        peer_retire(a, p, why);
        retired++;
        /* a tunnel's Delete runs hooks that may change the table: start over past it */
        if (peer_by_instance(&a->peers, instance) != NULL)
            continue;
        next = a->peers.head;
        while (next && next->instance >= instance)
            next = next->next;
    }
    return retired;
}

int agent_reload(struct agent *a, struct oe_error *err)
{
    struct policy_set *set;
    struct policy_compiled want;
    if (load_policies(a, &set, &want, err) != 0)
        return -1;
    struct apply_stats st = apply_diff(a, &a->compiled, &want);
    adopt(a, set, want);
    unsigned retired = revisit_peers(a);
    oe_log("reloaded %zu policy lines from %s; kernel: %u added, %u removed, %u changed%s; "
           "%u peers no longer fit and were removed",
           policy_rule_count(set), a->cfg->policies, st.added, st.removed, st.changed,
           st.failed ? " (with failures, see above)" : "", retired);
    return 0;
}

void agent_stop(struct agent *a)
{
    struct kernel_policy *have;
    size_t nhave, kept = 0, removed = 0;
    struct oe_error err;
    /* tell each peer its tunnel is going (RFC 7296 1.4.1), and take it out of the kernel */
    for (struct oe_peer *p = a->peers.head; p && a->ike; p = p->next) {
        if (p->state == PEER_TUNNEL && p->ike_serial)
            ike_delete(a->ike, p->ike_serial, ike_io_now(), ike_io_actions(a->io));
    }
    if (a->io)
        ike_io_apply(a->io, ike_io_actions(a->io));
    if (kernel_list(a->k, &have, &nhave, &err) != 0) {
        oe_log("shutdown: %s", err.msg);
        return;
    }
    for (size_t i = 0; i < nhave; i++) {
        int g = agent_policy_group(a, &have[i]);
        /* DESIGN: private must fail closed while the agent is down */
        bool keep = have[i].origin == KERNEL_ORIGIN_EXEMPT || g == POLICY_PRIVATE || g == POLICY_BLOCK;
        if (keep) {
            kept++;
        } else if (kernel_remove(a->k, &have[i], &err) == 0) {
            removed++;
        } else {
            oe_log("shutdown: %s", err.msg);
        }
    }
    free(have);
    peer_table_clear(&a->peers);
    policy_compiled_free(&a->compiled);
    oe_log("shutting down: removed %zu kernel policies, kept %zu (private, block and "
           "exemptions) so that private traffic fails closed until the next start",
           removed, kept);
}
