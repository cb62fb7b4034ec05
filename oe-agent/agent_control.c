/* Answers to the control socket: eroute, policy explain, reload. */
#include "agent_internal.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WORDS 8

static const char *origin_word(const struct kernel_policy *kp)
{
    switch (kp->origin) {
    case KERNEL_ORIGIN_EXEMPT: return "exempt";
    case KERNEL_ORIGIN_PEER: return "peer";
    case KERNEL_ORIGIN_GROUP: return "group";
    }
    return "?";
}

/* The agent's clock is monotonic: a moment on it, as wall-clock time for people. */
static time_t wall_time_of(const struct agent *a, time_t t)
{
    return time(NULL) - (a->now() - t);
}

static int eroute_order(const void *pa, const void *pb)
{
    const struct kernel_policy *a = pa, *b = pb;
    const struct oe_prefix *ra = a->dir == KERNEL_DIR_OUT ? &a->dst : &a->src;
    const struct oe_prefix *rb = b->dir == KERNEL_DIR_OUT ? &b->dst : &b->src;
    int c = oe_prefix_cmp(ra, rb);
    if (c != 0)
        return c;
    if (a->priority != b->priority)
        return a->priority < b->priority ? -1 : 1;
    return a->dir < b->dir ? -1 : a->dir > b->dir;
}

static const char *group_of(struct agent *a, const struct kernel_policy *kp)
{
    if (kp->origin == KERNEL_ORIGIN_PEER) {
        struct oe_peer *p = peer_find(&a->peers, &kp->src.addr, &kp->dst.addr);
        return p ? policy_group_name(p->group) : "stale";
    }
    int g = agent_policy_group(a, kp);
    return g >= 0 ? policy_group_name((enum policy_group)g) : "-";
}

static void eroute(struct agent *a, bool json, struct oe_buf *out)
{
    struct kernel_policy *v;
    size_t n;
    struct oe_error err;
    if (kernel_list(a->k, &v, &n, &err) != 0) {
        oe_buf_printf(out, "%s\n", err.msg);
        return;
    }
    qsort(v, n, sizeof(*v), eroute_order);
    int64_t now = kernel_clock(a->k); /* the kernel's lifetimes are on its clock */
    if (json)
        oe_buf_printf(out, "[");
    for (size_t i = 0; i < n; i++) {
        const struct kernel_policy *kp = &v[i];
        char s[OE_ADDR_STRLEN], d[OE_ADDR_STRLEN], pr[8];
        long left = kp->expires_at ? (long)(kp->expires_at - now) : -1;
        oe_prefix_str(&kp->src, s);
        oe_prefix_str(&kp->dst, d);
        if (json) {
            oe_buf_printf(out,
                          "%s\n{\"dir\": \"%s\", \"src\": \"%s\", \"dst\": \"%s\", "
                          "\"proto\": %u, \"sport\": %u, \"dport\": %u, \"action\": \"%s\", "
                          "\"origin\": \"%s\", \"group\": \"%s\", \"priority\": %u, "
                          "\"expires_in\": %ld}",
                          i ? "," : "", kernel_dir_name(kp->dir), s, d, kp->proto, kp->sport, kp->dport,
                          kernel_action_name(kp->action), origin_word(kp), group_of(a, kp), kp->priority,
                          left < 0 ? -1 : left);
            continue;
        }
        oe_buf_printf(out, "%-3s %-20s -> %-20s", kernel_dir_name(kp->dir), s, d);
        if (kp->proto)
            oe_buf_printf(out, " %s", oe_proto_name(kp->proto, pr));
        if (kp->sport || kp->dport)
            oe_buf_printf(out, " %u %u", kp->sport, kp->dport);
        oe_buf_printf(out, " => %%%s %s", kernel_action_name(kp->action),
                      kp->origin == KERNEL_ORIGIN_EXEMPT ? "(exempt)" : group_of(a, kp));
        if (left >= 0)
            oe_buf_printf(out, " (%lds left)", left < 0 ? 0 : left);
        oe_buf_printf(out, "\n");
    }
    if (json)
        oe_buf_printf(out, "\n]\n");
    free(v);
}

/* The address as a NAT'ed initiator's outer one: the leases its clients hold (a walk: for the operator). */
static void explain_leases(struct agent *a, const struct oe_addr *addr, struct oe_buf *out)
{
    for (struct oe_peer *p = a->peers.head; p; p = p->next) {
        char l[OE_ADDR_STRLEN];
        if (p->lease.family && oe_addr_eq(&p->gateway, addr))
            oe_buf_printf(out, "  behind a NAT here: #%u, id '%s', holds lease=%s\n", p->ike_serial, p->peer_id,
                          oe_addr_str(&p->lease, l));
    }
}

static void explain(struct agent *a, const struct oe_addr *addr, bool json, struct oe_buf *out)
{
    const struct policy_rule *r = policy_lookup(a->set, addr, 0, 0, 0);
    const struct oe_group_config *gc = r ? &a->cfg->groups[r->group] : NULL;
    bool traps = r && policy_group_action(r->group, POLICY_DIR_OUT) == POLICY_ACTION_TRAP;
    struct oe_peer *p = peer_find(&a->peers, NULL, addr);
    time_t now = a->now();
    if (json)
        oe_buf_printf(out, "{");
    policy_explain(a->set, addr, json, out);
    if (json) {
        if (traps)
            oe_buf_printf(out,
                          ", \"failure_shunt\": \"%s\", \"shunt_lifetime\": %u, "
                          "\"auth\": \"%s\", \"dnssec\": \"%s\"",
                          oe_shunt_name(gc->failure_shunt), gc->shunt_lifetime, oe_auth_name(gc->auth),
                          oe_dnssec_name(gc->dnssec));
        oe_buf_printf(out, ", \"live\": ");
        if (p == NULL) {
            oe_buf_printf(out, "null}\n");
            return;
        }
        oe_buf_printf(out,
                      "{\"state\": \"%s\", \"since\": %lld, \"expires_in\": %lld, \"why\": ", peer_state_name(p->state),
                      (long long)wall_time_of(a, p->since), (long long)(p->since + p->lifetime - now));
        oe_buf_json_str(out, p->why);
        char l[OE_ADDR_STRLEN], g[OE_ADDR_STRLEN];
        if (p->lease.family)
            oe_buf_printf(out, ", \"lease\": \"%s\", \"behind_nat\": \"%s\"", oe_addr_str(&p->lease, l),
                          oe_addr_str(&p->gateway, g));
        oe_buf_printf(out, "}}\n");
        return;
    }
    if (traps)
        oe_buf_printf(out, "  on failure: %s shunt for %us (auth %s, dnssec %s)\n", oe_shunt_name(gc->failure_shunt),
                      gc->shunt_lifetime, oe_auth_name(gc->auth), oe_dnssec_name(gc->dnssec));
    explain_leases(a, addr, out);
    if (p == NULL) {
        oe_buf_printf(out, "  live: %s\n", traps ? "trapped, no negotiation yet" : "nothing");
        return;
    }
    /* a peer is an address pair: each of our addresses that talks to it has its own (an operator's walk) */
    for (; p; p = p->next) {
        if (!oe_addr_eq(&p->remote, addr))
            continue;
        char label[200], ts[32], me[OE_ADDR_STRLEN];
        struct tm tm;
        time_t since = wall_time_of(a, p->since);
        localtime_r(&since, &tm);
        strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
        char left[48] = "";
        if (p->lifetime)
            snprintf(left, sizeof(left), " (%llds left)", (long long)(p->since + p->lifetime - now));
        oe_buf_printf(out, "  live: %s from %s: %s since %s%s%s%s\n", peer_label(p, label, sizeof(label)),
                      oe_addr_str(&p->local, me), peer_state_name(p->state), ts, left, p->why[0] ? ": " : "", p->why);
        if (p->state == PEER_TUNNEL)
            oe_buf_printf(out, "  tunnel: #%u with %s, auth %s, key's DNSSEC %s, ESP %s\n", p->ike_serial, p->peer_id,
                          peer_auth_name(p->auth), peer_dnssec_name(p->dnssec), p->esp);
        char l[OE_ADDR_STRLEN], g[OE_ADDR_STRLEN];
        if (p->lease.family)
            oe_buf_printf(out,
                          "  lease: %s is leased to the initiator behind a NAT at %s (address-pool); "
                          "its policy is that of %s\n",
                          oe_addr_str(&p->lease, l), oe_addr_str(&p->gateway, g), g);
    }
}

void agent_tunnel_bytes(struct agent *a, const struct oe_peer *p, uint64_t *in, uint64_t *out)
{
    struct kernel_sa_stats st;
    struct oe_error err;
    const struct oe_addr *gw = p->gateway.family ? &p->gateway : &p->remote;
    *in = *out = 0;
    /* the inbound SA's destination is our outer address: a gateway's own, not its host's */
    const struct oe_addr *me = p->outer_local.family ? &p->outer_local : &p->local;
    if (kernel_sa_stats(a->k, p->spi_in, me, &st, &err) == 0)
        *in = st.bytes;
    if (kernel_sa_stats(a->k, p->spi_out, gw, &st, &err) == 0)
        *out = st.bytes;
}

static void trafficstatus(struct agent *a, bool json, struct oe_buf *out)
{
    time_t now = a->now();
    bool first = true;
    if (json)
        oe_buf_printf(out, "[");
    for (struct oe_peer *p = a->peers.head; p; p = p->next) {
        if (p->state != PEER_TUNNEL)
            continue;
        char label[200], gw[OE_ADDR_STRLEN], me[OE_ADDR_STRLEN], lease[OE_ADDR_STRLEN + 16] = "";
        uint64_t in, outb;
        agent_tunnel_bytes(a, p, &in, &outb);
        if (p->lease.family) {
            struct oe_prefix lp;
            oe_prefix_host(&p->lease, &lp);
            oe_prefix_str(&lp, lease);
        }
        peer_label(p, label, sizeof(label));
        oe_addr_str(p->gateway.family ? &p->gateway : &p->remote, gw);
        oe_addr_str(&p->local, me);
        if (json) {
            oe_buf_printf(out, "%s\n{\"serial\": %u, \"connection\": ", first ? "" : ",", p->ike_serial);
            oe_buf_json_str(out, label);
            oe_buf_printf(out, ", \"local\": \"%s\", \"gateway\": \"%s\", \"peer_id\": ", me, gw);
            oe_buf_json_str(out, p->peer_id);
            if (lease[0])
                oe_buf_printf(out, ", \"lease\": \"%s\"", lease);
            else
                oe_buf_printf(out, ", \"lease\": null");
            oe_buf_printf(out,
                          ", \"role\": \"%s\", \"auth\": \"%s\", \"dnssec\": \"%s\", "
                          "\"esp\": \"%s\", \"spi_in\": \"0x%08x\", \"spi_out\": \"0x%08x\", "
                          "\"in_bytes\": %llu, \"out_bytes\": %llu, \"age\": %lld}",
                          p->responder ? "responder" : "initiator", peer_auth_name(p->auth),
                          peer_dnssec_name(p->dnssec), p->esp, p->spi_in, p->spi_out, (unsigned long long)in,
                          (unsigned long long)outb, (long long)(now - p->since));
        } else {
            /* lease= as pluto has it: the address a NAT'ed peer's tunnel is for */
            oe_buf_printf(out,
                          "#%u: %s, type=ESP, local=%s, gateway=%s, id='%s'%s%s, role=%s, auth=%s, dnssec=%s, "
                          "esp=%s, SPIs in 0x%08x out 0x%08x, inBytes=%llu, outBytes=%llu, age=%llds\n",
                          p->ike_serial, label, me, gw, p->peer_id, lease[0] ? ", lease=" : "", lease,
                          p->responder ? "responder" : "initiator", peer_auth_name(p->auth),
                          peer_dnssec_name(p->dnssec), p->esp, p->spi_in, p->spi_out, (unsigned long long)in,
                          (unsigned long long)outb, (long long)(now - p->since));
        }
        first = false;
    }
    if (json)
        oe_buf_printf(out, "\n]\n");
}

static void shuntstatus(struct agent *a, bool json, struct oe_buf *out)
{
    time_t now = a->now();
    bool first = true;
    if (json)
        oe_buf_printf(out, "[");
    for (struct oe_peer *p = a->peers.head; p; p = p->next) {
        if (p->state == PEER_TUNNEL)
            continue;
        char label[200], me[OE_ADDR_STRLEN];
        peer_label(p, label, sizeof(label));
        oe_addr_str(&p->local, me);
        long long left = p->lifetime ? (long long)(p->since + p->lifetime - now) : -1;
        if (json) {
            oe_buf_printf(out, "%s\n{\"connection\": ", first ? "" : ",");
            oe_buf_json_str(out, label);
            oe_buf_printf(out, ", \"local\": \"%s\", \"state\": \"%s\", \"expires_in\": %lld, \"why\": ", me,
                          peer_state_name(p->state), left);
            oe_buf_json_str(out, p->why);
            oe_buf_printf(out, "}");
        } else {
            oe_buf_printf(out, "%s, local=%s: %s, %llds left%s%s\n", label, me, peer_state_name(p->state), left,
                          p->why[0] ? ": " : "", p->why);
        }
        first = false;
    }
    if (json)
        oe_buf_printf(out, "\n]\n");
}

static void status(struct agent *a, bool json, struct oe_buf *out)
{
    size_t tunnels = 0, shunts = 0;
    for (struct oe_peer *p = a->peers.head; p; p = p->next)
        *(p->state == PEER_TUNNEL ? &tunnels : &shunts) += 1;
    size_t ike_sas = a->ike ? ike_sa_count(a->ike) : 0, half_open = a->ike ? ike_half_open_count(a->ike) : 0;
    size_t lookups = a->res ? dnskeys_resolver_pending(a->res) : 0;
    unsigned long long turns = a->loop.turns, max_us = a->loop.max_us, p99_us = loop_stats_p99_us(&a->loop);
    if (json) {
        oe_buf_printf(out,
                      "{\"policy_lines\": %zu, \"kernel_policies\": %zu, \"tunnels\": %zu, "
                      "\"holds_and_shunts\": %zu, \"ike\": %s, \"addresses\": %zu, \"peers\": %zu, "
                      "\"ike_sas\": %zu, \"half_open\": %zu, \"lookups_in_flight\": %zu, "
                      "\"tunnels_waiting\": %zu, \"negotiation_ms\": %llu, "
                      "\"loop\": {\"turns\": %llu, \"max_us\": %llu, \"p99_us\": %llu}",
                      policy_rule_count(a->set), a->compiled.n, tunnels, shunts, a->ike ? "true" : "false", a->nlocal,
                      a->peers.count, ike_sas, half_open, lookups, a->nout_waiting,
                      (unsigned long long)a->negotiation_ms, turns, max_us, p99_us);
        if (a->ike) {
            oe_buf_printf(out, ", ");
            agent_keys_status(a, true, out);
        }
        oe_buf_printf(out, "}\n");
        return;
    }
    oe_buf_printf(out, "oe-agent: %zu policy lines from %s (%zu kernel policies), %s\n", policy_rule_count(a->set),
                  a->cfg->policies, a->compiled.n, a->ike ? "IKEv2 on" : "negotiation off (ike = no)");
    oe_buf_printf(out, "tunnels: %zu, holds and shunts: %zu\n", tunnels, shunts);
    oe_buf_printf(out, "addresses: %zu, peers: %zu, IKE SAs: %zu (%zu half-open), lookups in flight: %zu\n", a->nlocal,
                  a->peers.count, ike_sas, half_open, lookups);
    oe_buf_printf(out, "tunnels waiting for their line's negotiations: %zu; negotiations lately take %llu ms\n",
                  a->nout_waiting, (unsigned long long)a->negotiation_ms);
    oe_buf_printf(out, "event loop: %llu turns, longest %llu us, 99%% within %llu us\n", turns, max_us, p99_us);
    if (a->ike)
        agent_keys_status(a, false, out);
    trafficstatus(a, false, out);
    shuntstatus(a, false, out);
}

static int do_eroute(struct agent *a, char **w, bool json, struct oe_buf *out)
{
    (void)w;
    eroute(a, json, out);
    return 0;
}

static int do_trafficstatus(struct agent *a, char **w, bool json, struct oe_buf *out)
{
    (void)w;
    trafficstatus(a, json, out);
    return 0;
}

static int do_shuntstatus(struct agent *a, char **w, bool json, struct oe_buf *out)
{
    (void)w;
    shuntstatus(a, json, out);
    return 0;
}

static int do_status(struct agent *a, char **w, bool json, struct oe_buf *out)
{
    (void)w;
    status(a, json, out);
    return 0;
}

static int do_explain(struct agent *a, char **w, bool json, struct oe_buf *out)
{
    struct oe_addr addr;
    if (oe_addr_parse(w[1], &addr) != 0) {
        oe_buf_printf(out, "explain: \"%s\" is not an IP address\n", w[1]);
        return -1;
    }
    explain(a, &addr, json, out);
    return 0;
}

static int do_reload(struct agent *a, char **w, bool json, struct oe_buf *out)
{
    (void)w;
    (void)json;
    struct oe_error err;
    if (agent_reload(a, &err) != 0) {
        oe_log("reload refused, old policy stays in force: %s", err.msg);
        oe_buf_printf(out, "reload refused, old policy stays in force: %s\n", err.msg);
        return -1;
    }
    oe_buf_printf(out, "reloaded %zu policy lines\n", policy_rule_count(a->set));
    if (a->ike)
        agent_rereadkeys(a, false, out); /* a reload starts the peers' keys afresh too */
    return 0;
}

/* rereadkeys: forget the peers' keys from DNS and read the host keys again (a rollover's switch). */
static int do_rereadkeys(struct agent *a, char **w, bool json, struct oe_buf *out)
{
    (void)w;
    (void)json;
    if (a->ike == NULL) {
        oe_buf_printf(out, "rereadkeys: negotiation is off (ike = no): no keys to read\n");
        return -1;
    }
    agent_rereadkeys(a, true, out);
    return 0;
}

/*
 * initiate ADDR [LOCAL]: negotiate with ADDR now, before any packet, as an
 * ACQUIRE would (libreswan's whack --oppohere/--oppothere; DNS-triggered OE,
 * contrib/oe-unbound.py). Answers at once; the tunnel comes later (status).
 */
static int initiate(struct agent *a, const char *addr, const char *from, struct oe_buf *out)
{
    struct oe_addr remote, local;
    struct oe_error err;
    char label[200];
    if (oe_addr_parse(addr, &remote) != 0) {
        oe_buf_printf(out, "initiate: \"%s\" is not an IP address\n", addr);
        return -1;
    }
    if (!oe_addr_is_peer(&remote) || agent_is_local(a, &remote)) {
        oe_buf_printf(out, "initiate: %s is not a peer: %s\n", addr,
                      agent_is_local(a, &remote) ? "an address of this host"
                                                 : "unspecified, loopback, link-local, multicast or broadcast");
        return -1;
    }
    if (a->ike == NULL) {
        oe_buf_printf(out, "initiate: negotiation is off (ike = no)\n");
        return -1;
    }
    if (from != NULL && (oe_addr_parse(from, &local) != 0 || local.family != remote.family)) {
        oe_buf_printf(out, "initiate: \"%s\" is not an IP address of %s's family\n", from, addr);
        return -1;
    }
    if (from == NULL && ike_io_source_for(&remote, &local, &err) != 0) {
        oe_buf_printf(out, "initiate: %s\n", err.msg);
        return -1;
    }
    if (!agent_is_local(a, &local)) {
        oe_buf_printf(out, "initiate: %s is not an address IKE runs on here\n", oe_addr_str(&local, label));
        return -1;
    }
    const struct policy_rule *r = policy_lookup(a->set, &remote, 0, 0, 0);
    if (r == NULL || (r->group != POLICY_PRIVATE_OR_CLEAR && r->group != POLICY_PRIVATE)) {
        oe_buf_printf(out, "initiate: %s is in %s, which does not negotiate\n", addr,
                      r ? policy_group_name(r->group) : "no group");
        return -1;
    }
    const struct oe_peer *had = peer_find(&a->peers, &local, &remote);
    if (had != NULL) {
        oe_buf_printf(out, "%s: already %s\n", peer_label(had, label, sizeof(label)), peer_state_name(had->state));
        return 0;
    }
    if (a->peers.holds >= a->cfg->max_negotiations) {
        oe_buf_printf(out, "initiate: %zu negotiations in flight (max-negotiations %u); try again later\n",
                      a->peers.holds, a->cfg->max_negotiations);
        return -1;
    }
    const struct oe_peer *p = agent_hold_peer(a, &local, &remote, r, 0, "initiate by request");
    if (p == NULL) {
        oe_buf_printf(out, "initiate: no room for the peer (see the log)\n");
        return -1;
    }
    oe_buf_printf(out, "%s: %s\n", peer_label(p, label, sizeof(label)), peer_state_name(p->state));
    return 0;
}

static int do_initiate(struct agent *a, char **w, bool json, struct oe_buf *out)
{
    (void)json;
    return initiate(a, w[1], NULL, out);
}

static int do_initiate_from(struct agent *a, char **w, bool json, struct oe_buf *out)
{
    (void)json;
    return initiate(a, w[1], w[2], out);
}

/* The control socket's verbs: name, the words after it, what answers. */
static const struct control_verb {
    const char *name;
    int args;
    int (*run)(struct agent *a, char **w, bool json, struct oe_buf *out);
    const char *usage;
} verbs[] = {
    {"eroute", 0, do_eroute, "eroute"},
    {"status", 0, do_status, "status"},
    {"trafficstatus", 0, do_trafficstatus, "trafficstatus"},
    {"shuntstatus", 0, do_shuntstatus, "shuntstatus"},
    {"explain", 1, do_explain, "explain ADDR"},
    {"reload", 0, do_reload, "reload"},
    {"rereadkeys", 0, do_rereadkeys, "rereadkeys"},
    {"initiate", 1, do_initiate, "initiate ADDR"},
    {"initiate", 2, do_initiate_from, "initiate ADDR LOCAL"},
};

int agent_control(struct agent *a, const char *request, struct oe_buf *reply)
{
    char copy[512], *w[MAX_WORDS];
    int n = 0;
    bool json = false;
    snprintf(copy, sizeof(copy), "%s", request);
    for (char *save, *t = strtok_r(copy, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
        if (strcmp(t, "--json") == 0)
            json = true;
        else if (n < MAX_WORDS)
            w[n++] = t;
    }
    if (n == 0) {
        oe_buf_printf(reply, "empty request\n");
        return -1;
    }
    for (size_t i = 0; i < OE_ARRAY_SIZE(verbs); i++)
        if (strcmp(w[0], verbs[i].name) == 0 && n == verbs[i].args + 1)
            return verbs[i].run(a, w, json, reply);
    oe_buf_printf(reply, "unknown request \"%s\" (", w[0]);
    for (size_t i = 0; i < OE_ARRAY_SIZE(verbs); i++)
        oe_buf_printf(reply, "%s%s", i ? ", " : "", verbs[i].usage);
    oe_buf_printf(reply, ")\n");
    return -1;
}
