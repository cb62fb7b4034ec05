/* What the policy asks of a tunnel to a host, and who DNS lets speak for it. */
#include "responder_rule.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool answers_ike(enum policy_group g)
{
    return g == POLICY_CLEAR_OR_PRIVATE || g == POLICY_PRIVATE_OR_CLEAR || g == POLICY_PRIVATE;
}

/* rsasig > rsasig-or-null > null */
static int auth_rank(enum oe_auth a)
{
    return a == OE_AUTH_RSASIG ? 2 : a == OE_AUTH_RSASIG_OR_NULL ? 1 : 0;
}

static bool port_scoped(const struct policy_selector *s)
{
    return s->proto != 0 || s->lport != 0 || s->rport != 0;
}

void host_policy_for(const struct policy_set *set, const struct oe_config *cfg, const struct oe_addr *host,
                     struct host_policy *out)
{
    memset(out, 0, sizeof(*out));
    out->rule = policy_lookup(set, host, 0, 0, 0);
    out->group = out->rule ? out->rule->group : POLICY_CLEAR;
    out->allowed = answers_ike(out->group);
    /* a host-wide line that does not encrypt asks nothing; its port-scoped lines still do */
    out->auth = out->allowed ? cfg->groups[out->group].auth : OE_AUTH_NULL;
    out->dnssec = out->allowed ? cfg->groups[out->group].dnssec : OE_DNSSEC_INSECURE_OK;
    size_t n = policy_rule_count(set);
    for (size_t i = 0; i < n; i++) {
        const struct policy_rule *r = policy_rule_at(set, i);
        if (!port_scoped(&r->sel) || !answers_ike(r->group) || !oe_prefix_contains(&r->sel.peer, host))
            continue;
        const struct oe_group_config *gc = &cfg->groups[r->group];
        bool stricter = false;
        if (auth_rank(gc->auth) > auth_rank(out->auth)) {
            out->auth = gc->auth;
            stricter = true;
        }
        if (gc->dnssec == OE_DNSSEC_SECURE && out->dnssec != OE_DNSSEC_SECURE) {
            out->dnssec = OE_DNSSEC_SECURE;
            stricter = true;
        }
        if (stricter)
            out->stricter = r;
    }
}

static unsigned nports(const struct policy_selector *s)
{
    return (s->lport != 0) + (s->rport != 0);
}

/* The order policy_lookup() and the kernel's priorities use: prefix length, then protocol, then ports. */
static bool ranks_above(const struct policy_selector *a, const struct policy_selector *b)
{
    if (a->peer.len != b->peer.len)
        return a->peer.len > b->peer.len;
    if ((a->proto != 0) != (b->proto != 0))
        return a->proto != 0;
    return nports(a) > nports(b);
}

size_t host_tunnel_lines(const struct policy_set *set, const struct oe_addr *host, const struct policy_rule **out,
                         size_t max)
{
    const struct policy_rule *wide = policy_lookup(set, host, 0, 0, 0);
    size_t n = 0;
    if (wide != NULL && answers_ike(wide->group)) {
        if (n < max)
            out[n] = wide;
        n++;
    }
    size_t count = policy_rule_count(set);
    for (size_t i = 0; i < count; i++) {
        const struct policy_rule *r = policy_rule_at(set, i);
        if (r == wide || !answers_ike(r->group) || !oe_prefix_contains(&r->sel.peer, host) ||
            (wide != NULL && !ranks_above(&r->sel, &wide->sel)))
            continue;
        if (n < max)
            out[n] = r;
        n++;
    }
    return n;
}

/* DNS names compare without case and without the final dot. */
static bool same_name(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la && a[la - 1] == '.')
        la--;
    if (lb && b[lb - 1] == '.')
        lb--;
    return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

/* Does this record let the claimed identity speak for the host? NULL: yes; else why not. */
static const char *binds(const struct responder_claim *c, const struct dnskeys_record *rec)
{
    struct oe_addr id_addr;
    bool is_addr = oe_addr_parse(c->id, &id_addr) == 0;
    bool is_fqdn = c->id[0] == '@' && c->id[1] != '\0';
    bool gw_is_outer =
        (rec->gw_type == DNSKEYS_GW_IPV4 || rec->gw_type == DNSKEYS_GW_IPV6) && oe_addr_eq(&rec->gw_addr, &c->outer);
    if (!is_addr && !is_fqdn)
        return "the identity is neither an address nor a DNS name";
    if (oe_addr_eq(&c->host, &c->outer)) {
        if (is_addr)
            return oe_addr_eq(&id_addr, &c->host) ? NULL : "the identity is another address";
        if (rec->gw_type == DNSKEYS_GW_NAME && same_name(rec->gw_name, c->id + 1))
            return NULL;
        return "its record does not name that identity as its gateway";
    }
    /* the initiator claims to be the host's gateway */
    if (!gw_is_outer)
        return rec->gw_type == DNSKEYS_GW_NONE ? "its record names no gateway" : "its record names another gateway";
    if (!is_addr || !oe_addr_eq(&id_addr, &c->outer))
        return "a gateway must identify by the address its record names";
    return NULL;
}

const struct dnskeys_record *responder_record(const struct responder_claim *c, const struct dnskeys_answer *ans,
                                              enum oe_dnssec dnssec, char *why, size_t len)
{
    if (ans->verdict == DNSKEYS_BOGUS) {
        snprintf(why, len, "its record at %s is DNSSEC bogus: %s", ans->owner, ans->why_bogus);
        return NULL;
    }
    if (ans->failed) {
        snprintf(why, len, "no DNS answer for %s: %s", ans->owner, ans->why);
        return NULL;
    }
    if (ans->n == 0 || !ans->records[0].usable) {
        snprintf(why, len, "no usable key in DNS at %s (%s)", ans->owner,
                 ans->n ? ans->records[0].why : "no IPSECKEY, TXT or KEY record");
        return NULL;
    }
    if (ans->verdict != DNSKEYS_SECURE && dnssec == OE_DNSSEC_SECURE) {
        snprintf(why, len, "its record at %s is insecure (dnssec = secure)", ans->owner);
        return NULL;
    }
    const char *first = NULL;
    for (size_t i = 0; i < ans->n && ans->records[i].usable; i++) {
        const char *no = binds(c, &ans->records[i]);
        if (no == NULL)
            return &ans->records[i];
        if (first == NULL)
            first = no;
    }
    snprintf(why, len, "%s (%s)", first, ans->owner);
    return NULL;
}

size_t responder_more_records(const struct responder_claim *c, const struct dnskeys_answer *ans,
                              const struct dnskeys_record *first, const struct dnskeys_record **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; first && i < ans->n && ans->records[i].usable && n < max; i++) {
        const struct dnskeys_record *r = &ans->records[i];
        bool seen = r == first || dnskeys_key_eq(&r->key, &first->key);
        for (size_t j = 0; j < n && !seen; j++)
            seen = dnskeys_key_eq(&r->key, &out[j]->key);
        if (!seen && binds(c, r) == NULL)
            out[n++] = r;
    }
    return n;
}
