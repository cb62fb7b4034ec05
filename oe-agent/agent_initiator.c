/*
 * The initiator's side of OE (RFC 4322 in its IKEv2 form): the held peer's
 * key from DNSSEC-validated reverse DNS, IKEv2 with the gateway its record
 * names, the tunnel or the group's failure shunt. Everything here is
 * asynchronous: lookups answer through the resolver's fd, IKE through its
 * sockets.
 */
#include "agent_internal.h"
#include "log.h"
#include "responder_rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * A lookup's context: the held peer, what the tunnel must meet (the
 * strictest auth and dnssec of the lines it will carry), and the key its
 * record gave when its gateway is a name.
 */
struct pending {
    struct agent *a;
    unsigned instance;
    enum policy_group group;
    enum oe_auth auth;
    enum oe_dnssec dnssec;
    struct dnskeys_pubkey key;
    struct dnskeys_pubkey more[IKE_MAX_PEER_KEYS - 1]; /* the other keys published for that gateway */
    size_t nmore;
};

static void pending_free(struct pending *pd);

/*
 * A lookup we could not even start: a full share (OE_E_LIMIT) is not the
 * peer's answer, so the hold stays (never the pass shunt for it) and the
 * next packet after it ends tries again; anything else is the failure shunt.
 */
static void lookup_refused(struct agent *a, struct oe_peer *p, const char *why, enum oe_status code)
{
    if (code == OE_E_LIMIT)
        agent_log_peer(p, "%s: keeping the hold; the next packet after it ends tries again", why);
    else
        agent_failure_shunt(a, p, why);
}

/*
 * The other keys the peer publishes for the same gateway (a rollover: the
 * current and the next side by side), which the IKE core tries after key.
 */
static size_t more_keys(const struct dnskeys_answer *ans, const struct dnskeys_record *rec,
                        const struct dnskeys_pubkey *out[IKE_MAX_PEER_KEYS - 1])
{
    size_t n = 0;
    for (size_t i = 0; ans && i < ans->n && ans->records[i].usable && n < IKE_MAX_PEER_KEYS - 1; i++) {
        const struct dnskeys_record *r = &ans->records[i];
        if (r == rec || r->gw_type != rec->gw_type || dnskeys_key_eq(&r->key, &rec->key))
            continue;
        if ((r->gw_type == DNSKEYS_GW_IPV4 || r->gw_type == DNSKEYS_GW_IPV6) && !oe_addr_eq(&r->gw_addr, &rec->gw_addr))
            continue;
        if (r->gw_type == DNSKEYS_GW_NAME && strcasecmp(r->gw_name, rec->gw_name) != 0)
            continue;
        out[n++] = &r->key;
    }
    return n;
}

static void initiate_with(struct agent *a, struct oe_peer *p, enum ike_authby auth, const struct dnskeys_pubkey *key,
                          const struct dnskeys_pubkey *const *more, size_t nmore, const struct oe_addr *gateway);

static void initiate(struct agent *a, struct oe_peer *p, enum ike_authby auth, const struct dnskeys_pubkey *key,
                     const struct oe_addr *gateway)
{
    initiate_with(a, p, auth, key, NULL, 0, gateway);
}

static void initiate_with(struct agent *a, struct oe_peer *p, enum ike_authby auth, const struct dnskeys_pubkey *key,
                          const struct dnskeys_pubkey *const *more, size_t nmore, const struct oe_addr *gateway)
{
    struct ike_initiate req;
    memset(&req, 0, sizeof(req));
    req.local.addr = p->local;
    req.local.port = 500;
    if (!agent_is_local(a, &p->local)) {
        /* a host behind us (subnets =): we are its gateway and speak IKE from our own address */
        for (size_t i = 0; i < a->nlocal; i++) {
            if (a->local[i].family == p->local.family) {
                req.local.addr = a->local[i];
                break;
            }
        }
    }
    req.remote.addr = *gateway;
    req.remote.port = 500;
    req.local_host = p->local;
    req.remote_host = p->remote;
    req.auth = auth;
    /* a host's own traffic only: a lease stands for one host, not for the ones behind a gateway */
    if (oe_addr_eq(&req.local.addr, &p->local))
        req.ask_address = (enum ike_ask_address)a->cfg->client_address_translation;
    req.tag = p->instance;
    if (key)
        req.peer_key = agent_ike_key(key);
    for (size_t i = 0; key && i < nmore && i < IKE_MAX_PEER_KEYS - 1; i++)
        req.more_keys[req.nmore++] = agent_ike_key(more[i]);
    p->gateway = *gateway;
    p->auth = auth == IKE_AUTHBY_NULL ? PEER_AUTH_NULL : PEER_AUTH_RSASIG;
    peer_set_serial(&a->peers, p, ike_initiate(a->ike, &req, ike_io_now(), ike_io_actions(a->io)));
    char gw[OE_ADDR_STRLEN], client[OE_ADDR_STRLEN + 20] = "";
    if (!oe_addr_eq(&req.local.addr, &p->local)) {
        char c[OE_ADDR_STRLEN];
        snprintf(client, sizeof(client), " for %s behind us", oe_addr_str(&p->local, c));
    }
    agent_log_peer(p, "negotiating IKEv2 with %s (%s%s)%s as #%u", oe_addr_str(gateway, gw),
                   auth == IKE_AUTHBY_NULL ? "NULL authentication"
                   : p->key_cached         ? "RSA key from DNS, cached"
                                           : "RSA key from DNS",
                   req.nmore ? ", and the other published keys" : "", client, p->ike_serial);
    ike_io_apply(a->io, ike_io_actions(a->io));
}

/* The record named its gateway by name: that name's address, validated, is whom we negotiate with. */
static void on_gateway_addr(const struct dnskeys_addr_answer *ans, void *arg)
{
    struct pending *pd = arg;
    if (ans == NULL) {
        pending_free(pd); /* the resolver went first (shutting down) */
        return;
    }
    struct agent *a = pd->a;
    struct oe_peer *p = peer_by_instance(&a->peers, pd->instance);
    char why[900], g[OE_ADDR_STRLEN];
    if (p == NULL || p->state != PEER_HOLD) {
        pending_free(pd);
        return; /* gone (expired, reloaded) while we asked */
    }
    if (ans->verdict == DNSKEYS_BOGUS) {
        snprintf(why, sizeof(why), "DNSSEC bogus answer for gateway %s: %s", ans->name, ans->why);
        agent_failure_shunt(a, p, why);
    } else if (ans->failed || ans->n == 0) {
        snprintf(why, sizeof(why), "gateway %s has no address: %s", ans->name, ans->why);
        agent_failure_shunt(a, p, why);
    } else if (ans->verdict != DNSKEYS_SECURE && pd->dnssec != OE_DNSSEC_INSECURE_OK) {
        snprintf(why, sizeof(why), "gateway %s's address is insecure; not used (dnssec = secure)", ans->name);
        agent_failure_shunt(a, p, why);
    } else {
        agent_log_peer(p, "gateway %s is %s (%s)", ans->name, oe_addr_str(&ans->addrs[0], g),
                       dnskeys_verdict_name(ans->verdict));
        const struct dnskeys_pubkey *more[IKE_MAX_PEER_KEYS - 1];
        for (size_t i = 0; i < pd->nmore; i++)
            more[i] = &pd->more[i];
        initiate_with(a, p, IKE_AUTHBY_RSASIG, &pd->key, more, pd->nmore, &ans->addrs[0]);
    }
    pending_free(pd);
}

static void resolve_gateway(struct agent *a, struct oe_peer *p, const struct pending *asked,
                            const struct dnskeys_answer *ans, const struct dnskeys_record *rec)
{
    char id[16], why[900], also[64] = "";
    struct oe_error err;
    struct pending *pd = calloc(1, sizeof(*pd));
    const struct dnskeys_pubkey *more[IKE_MAX_PEER_KEYS - 1];
    size_t nmore = more_keys(ans, rec, more);
    dnskeys_key_id(&rec->key, id);
    if (nmore)
        snprintf(also, sizeof(also), " (and %zu more published for it: a rollover)", nmore);
    agent_log_peer(p,
                   "%s %s: %s record, precedence %u, gateway %s (a name: asking its address), RSA %u bits, keyid %s%s",
                   ans->owner, dnskeys_verdict_name(ans->verdict), dnskeys_rrtype_name(rec->type), rec->precedence,
                   rec->gw_name, rec->key.bits, id, also);
    bool copied = pd && dnskeys_key_copy(&rec->key, &pd->key) == 0;
    for (size_t i = 0; copied && i < nmore; i++)
        copied = dnskeys_key_copy(more[i], &pd->more[pd->nmore++]) == 0;
    if (!copied) {
        if (pd)
            pending_free(pd);
        agent_failure_shunt(a, p, "out of memory");
        return;
    }
    pd->a = a;
    pd->instance = p->instance;
    pd->group = asked->group;
    pd->auth = asked->auth;
    pd->dnssec = asked->dnssec;
    if (dnskeys_resolve_name(a->res, rec->gw_name, p->remote.family, on_gateway_addr, pd, &err) != 0) {
        snprintf(why, sizeof(why), "cannot look up gateway %.255s: %.500s", rec->gw_name, err.msg);
        pending_free(pd);
        lookup_refused(a, p, why, err.code);
    }
}

static void use_answer(struct pending asked, const struct dnskeys_answer *ans);

static void on_initiator_key(const struct dnskeys_answer *ans, void *arg)
{
    if (ans == NULL) {
        free(arg); /* the resolver went first (shutting down); no key was taken yet */
        return;
    }
    struct pending asked = *(struct pending *)arg;
    free(arg);
    agent_cache_keys(asked.a, ans); /* kept for its TTL, whoever asked: the next peer of that host asks no one */
    struct oe_peer *p = peer_by_instance(&asked.a->peers, asked.instance);
    if (p == NULL || p->state != PEER_HOLD)
        return; /* gone (expired, reloaded) while we asked */
    p->key_cached = false;
    use_answer(asked, ans);
}

static void use_answer(struct pending asked, const struct dnskeys_answer *ans)
{
    struct agent *a = asked.a;
    struct oe_peer *p = peer_by_instance(&a->peers, asked.instance);
    if (p == NULL)
        return;
    const struct dnskeys_record *rec = ans->n > 0 && ans->records[0].usable ? &ans->records[0] : NULL;
    char why[600];
    p->dnssec = agent_peer_dnssec(ans->verdict);
    if (ans->verdict == DNSKEYS_BOGUS) {
        snprintf(why, sizeof(why), "DNSSEC bogus answer for %s: %s", ans->owner, ans->why_bogus);
        agent_failure_shunt(a, p, why);
        return;
    }
    if (ans->failed && asked.auth != OE_AUTH_RSASIG_OR_NULL) {
        snprintf(why, sizeof(why), "no DNS answer for %s: %s", ans->owner, ans->why);
        agent_failure_shunt(a, p, why);
        return;
    }
    if (rec && ans->verdict == DNSKEYS_INSECURE && asked.dnssec != OE_DNSSEC_INSECURE_OK) {
        agent_log_peer(p, "key for %s found but DNSSEC says insecure; not used (dnssec = secure)", ans->owner);
        rec = NULL;
    }
    if (rec == NULL) {
        if (asked.auth == OE_AUTH_RSASIG_OR_NULL) {
            agent_log_peer(p, "no usable key in DNS for %s; using NULL authentication (auth = rsasig-or-null)",
                           ans->owner);
            initiate(a, p, IKE_AUTHBY_NULL, NULL, &p->remote);
            return;
        }
        if (ans->n > 1) /* say how many were weighed: a flood of records is seen for what it is */
            snprintf(why, sizeof(why), "no usable key in DNS for %s (%zu %s records, none usable; the first: %s)",
                     ans->owner, ans->n, dnskeys_rrtype_name(ans->source), ans->records[0].why);
        else
            snprintf(why, sizeof(why), "no usable key in DNS for %s (%s)", ans->owner,
                     ans->n ? ans->records[0].why : "no IPSECKEY, TXT or KEY record");
        agent_failure_shunt(a, p, why);
        return;
    }
    struct oe_addr gw = p->remote;
    if (rec->gw_type == DNSKEYS_GW_IPV4 || rec->gw_type == DNSKEYS_GW_IPV6) {
        gw = rec->gw_addr;
    } else if (rec->gw_type == DNSKEYS_GW_NAME) {
        resolve_gateway(a, p, &asked, ans, rec);
        return;
    }
    if (gw.family != p->local.family) {
        agent_failure_shunt(a, p, "the gateway's address family differs from ours");
        return;
    }
    char id[16], g[OE_ADDR_STRLEN], also[64] = "";
    const struct dnskeys_pubkey *more[IKE_MAX_PEER_KEYS - 1];
    size_t nmore = more_keys(ans, rec, more);
    dnskeys_key_id(&rec->key, id);
    if (nmore)
        snprintf(also, sizeof(also), " (and %zu more published for it: a rollover)", nmore);
    agent_log_peer(p, "%s %s%s: %s record, precedence %u, gateway %s, RSA %u bits, keyid %s%s", ans->owner,
                   dnskeys_verdict_name(ans->verdict), p->key_cached ? ", from the key cache" : "",
                   dnskeys_rrtype_name(rec->type), rec->precedence, oe_addr_str(&gw, g), rec->key.bits, id, also);
    initiate_with(a, p, IKE_AUTHBY_RSASIG, &rec->key, more, nmore, &gw);
}

/*
 * The tunnel is host to host and carries every line host_tunnel_lines()
 * names, so what we ask of the peer is the strictest of them all, as the
 * responder's rule does: a NULL-auth private-or-clear line does not make a
 * tunnel that also carries tcp/443 of a `private` line asking rsasig
 * (issue 9, finding 4). Logs when another line made it stricter.
 */
static void initiator_needs(const struct agent *a, const struct oe_peer *p, struct pending *pd)
{
    const struct oe_group_config *gc = &a->cfg->groups[p->group];
    struct host_policy hp;
    host_policy_for(a->set, a->cfg, &p->remote, &hp);
    pd->auth = hp.auth;
    pd->dnssec = hp.dnssec;
    /* the line that trapped is among those host_policy_for() weighs; never ask less than it */
    if (gc->auth == OE_AUTH_RSASIG || (gc->auth == OE_AUTH_RSASIG_OR_NULL && pd->auth == OE_AUTH_NULL))
        pd->auth = gc->auth;
    if (gc->dnssec == OE_DNSSEC_SECURE)
        pd->dnssec = OE_DNSSEC_SECURE;
    if (hp.stricter && (pd->auth != gc->auth || pd->dnssec != gc->dnssec)) {
        const struct policy_selector *sel = &hp.stricter->sel;
        char pre[OE_ADDR_STRLEN], pr[8];
        agent_log_peer(p,
                       "auth = %s, dnssec = %s (not the %s group's %s, %s): the tunnel also carries %s:%u "
                       "(%s %s %u %u), which asks more",
                       oe_auth_name(pd->auth), oe_dnssec_name(pd->dnssec), policy_group_name(p->group),
                       oe_auth_name(gc->auth), oe_dnssec_name(gc->dnssec),
                       policy_group_file(a->set, hp.stricter->group), hp.stricter->line, oe_prefix_str(&sel->peer, pre),
                       oe_proto_name(sel->proto, pr), sel->lport, sel->rport);
    }
}

void agent_oe_negotiate(struct agent *a, struct oe_peer *p)
{
    struct pending needs = {.a = a, .instance = p->instance, .group = p->group};
    initiator_needs(a, p, &needs);
    p->dnssec = PEER_DNSSEC_NONE;
    if (needs.auth == OE_AUTH_NULL) {
        initiate(a, p, IKE_AUTHBY_NULL, NULL, &p->remote);
        return;
    }
    struct pending *pd = calloc(1, sizeof(*pd));
    struct oe_error err;
    if (pd == NULL) {
        agent_failure_shunt(a, p, "out of memory");
        return;
    }
    *pd = needs;
    char name[DNSKEYS_NAME_MAX];
    dnskeys_reverse_name(&p->remote, name);
    const struct dnskeys_answer *cached = agent_cached_keys(a, name);
    if (cached != NULL) {
        p->key_cached = true;
        agent_log_peer(p, "keys for %s from the key cache (%us left): no query", name, cached->ttl);
        use_answer(*pd, cached);
        free(pd);
        return;
    }
    agent_log_peer(p, "looking up IPSECKEY, TXT and KEY at %s", name);
    if (dnskeys_lookup_addr(a->res, &p->remote, on_initiator_key, pd, &err) != 0) {
        free(pd);
        lookup_refused(a, p, err.msg, err.code);
    }
}

static void pending_free(struct pending *pd)
{
    dnskeys_key_free(&pd->key);
    for (size_t i = 0; i < pd->nmore; i++)
        dnskeys_key_free(&pd->more[i]);
    free(pd);
}
