/* Answers to the control socket: eroute, policy explain, reload. */
#include "agent_internal.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    time_t now = a->now();
    if (json)
        oe_buf_printf(out, "[");
    for (size_t i = 0; i < n; i++) {
        const struct kernel_policy *kp = &v[i];
        char s[OE_ADDR_STRLEN], d[OE_ADDR_STRLEN], pr[8];
        long left = kp->expires_at ? (long)(kp->expires_at - now) : -1;
        oe_prefix_str(&kp->src, s);
        oe_prefix_str(&kp->dst, d);
        if (json) {
            oe_buf_printf(out, "%s\n{\"dir\": \"%s\", \"src\": \"%s\", \"dst\": \"%s\", "
                               "\"proto\": %u, \"sport\": %u, \"dport\": %u, \"action\": \"%s\", "
                               "\"origin\": \"%s\", \"group\": \"%s\", \"priority\": %u, "
                               "\"expires_in\": %ld}",
                          i ? "," : "", kernel_dir_name(kp->dir), s, d, kp->proto, kp->sport,
                          kp->dport, kernel_action_name(kp->action), origin_word(kp),
                          group_of(a, kp), kp->priority, left < 0 ? -1 : left);
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
            oe_buf_printf(out, ", \"failure_shunt\": \"%s\", \"shunt_lifetime\": %u, "
                               "\"auth\": \"%s\", \"dnssec\": \"%s\"",
                          oe_shunt_name(gc->failure_shunt), gc->shunt_lifetime,
                          oe_auth_name(gc->auth), oe_dnssec_name(gc->dnssec));
        oe_buf_printf(out, ", \"live\": ");
        if (p == NULL) {
            oe_buf_printf(out, "null}\n");
            return;
        }
        oe_buf_printf(out, "{\"state\": \"%s\", \"since\": %lld, \"expires_in\": %lld, \"why\": ",
                      peer_state_name(p->state), (long long)p->since,
                      (long long)(p->since + p->lifetime - now));
        oe_buf_json_str(out, p->why);
        oe_buf_printf(out, "}}\n");
        return;
    }
    if (traps)
        oe_buf_printf(out, "  on failure: %s shunt for %us (auth %s, dnssec %s)\n",
                      oe_shunt_name(gc->failure_shunt), gc->shunt_lifetime, oe_auth_name(gc->auth),
                      oe_dnssec_name(gc->dnssec));
    if (p == NULL) {
        oe_buf_printf(out, "  live: %s\n", traps ? "trapped, no negotiation yet" : "nothing");
        return;
    }
    char label[200], ts[32];
    struct tm tm;
    localtime_r(&p->since, &tm);
    strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
    oe_buf_printf(out, "  live: %s: %s since %s (%llds left)%s%s\n", peer_label(p, label, sizeof(label)),
                  peer_state_name(p->state), ts, (long long)(p->since + p->lifetime - now),
                  p->why[0] ? ": " : "", p->why);
}

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
    if (strcmp(w[0], "eroute") == 0 && n == 1) {
        eroute(a, json, reply);
        return 0;
    }
    if (strcmp(w[0], "explain") == 0 && n == 2) {
        struct oe_addr addr;
        if (oe_addr_parse(w[1], &addr) != 0) {
            oe_buf_printf(reply, "explain: \"%s\" is not an IP address\n", w[1]);
            return -1;
        }
        explain(a, &addr, json, reply);
        return 0;
    }
    if (strcmp(w[0], "reload") == 0 && n == 1) {
        struct oe_error err;
        if (agent_reload(a, &err) != 0) {
            oe_log("reload refused, old policy stays in force: %s", err.msg);
            oe_buf_printf(reply, "reload refused, old policy stays in force: %s\n", err.msg);
            return -1;
        }
        oe_buf_printf(reply, "reloaded %zu policy lines\n", policy_rule_count(a->set));
        return 0;
    }
    oe_buf_printf(reply, "unknown request \"%s\" (eroute, explain ADDR, reload)\n", w[0]);
    return -1;
}
