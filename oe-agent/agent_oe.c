/*
 * Opportunistic encryption (RFC 4322 in its IKEv2 form): the held peer's key
 * from DNSSEC-validated reverse DNS, IKEv2 with the gateway its record
 * names, the tunnel (the responder's side is agent_responder.c). Everything
 * here is asynchronous: lookups answer through the
 * resolver's fd, IKE through its sockets.
 */
#include "agent_internal.h"
#include "log.h"
#include "responder_rule.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
};

static void pending_free(struct pending *pd);
static void log_peer(const struct oe_peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_peer(const struct oe_peer *p, const char *fmt, ...)
{
    char label[200], line[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    oe_log("%s: %s", peer_label(p, label, sizeof(label)), line);
}

/* ---- initiator ---- */

static bool agent_is_local(const struct agent *a, const struct oe_addr *x)
{
    for (size_t i = 0; i < a->nlocal; i++)
        if (oe_addr_eq(&a->local[i], x))
            return true;
    return false;
}

static void initiate(struct agent *a, struct oe_peer *p, enum ike_authby auth, const struct dnskeys_pubkey *key,
                     const struct oe_addr *gateway)
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
    req.tag = p->instance;
    if (key)
        req.peer_key = agent_ike_key(key);
    p->gateway = *gateway;
    p->auth = auth == IKE_AUTHBY_NULL ? PEER_AUTH_NULL : PEER_AUTH_RSASIG;
    p->ike_serial = ike_initiate(a->ike, &req, ike_io_now(), ike_io_actions(a->io));
    char gw[OE_ADDR_STRLEN], client[OE_ADDR_STRLEN + 20] = "";
    if (!oe_addr_eq(&req.local.addr, &p->local)) {
        char c[OE_ADDR_STRLEN];
        snprintf(client, sizeof(client), " for %s behind us", oe_addr_str(&p->local, c));
    }
    log_peer(p, "negotiating IKEv2 with %s (%s)%s as #%u", oe_addr_str(gateway, gw),
             auth == IKE_AUTHBY_NULL ? "NULL authentication" : "RSA key from DNS", client, p->ike_serial);
    ike_io_apply(a->io, ike_io_actions(a->io));
}

/* The record named its gateway by name: that name's address, validated, is whom we negotiate with. */
static void on_gateway_addr(const struct dnskeys_addr_answer *ans, void *arg)
{
    struct pending *pd = arg;
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
        log_peer(p, "gateway %s is %s (%s)", ans->name, oe_addr_str(&ans->addrs[0], g),
                 dnskeys_verdict_name(ans->verdict));
        initiate(a, p, IKE_AUTHBY_RSASIG, &pd->key, &ans->addrs[0]);
    }
    pending_free(pd);
}

static void resolve_gateway(struct agent *a, struct oe_peer *p, const struct pending *asked,
                            const struct dnskeys_answer *ans, const struct dnskeys_record *rec)
{
    char id[16], why[900];
    struct oe_error err;
    struct pending *pd = calloc(1, sizeof(*pd));
    dnskeys_key_id(&rec->key, id);
    log_peer(p, "%s %s: %s record, precedence %u, gateway %s (a name: asking its address), RSA %u bits, keyid %s",
             ans->owner, dnskeys_verdict_name(ans->verdict), dnskeys_rrtype_name(rec->type), rec->precedence,
             rec->gw_name, rec->key.bits, id);
    if (pd == NULL || dnskeys_key_copy(&rec->key, &pd->key) != 0) {
        free(pd);
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
        agent_failure_shunt(a, p, why);
    }
}

static void on_initiator_key(const struct dnskeys_answer *ans, void *arg)
{
    struct pending asked = *(struct pending *)arg;
    struct agent *a = asked.a;
    struct oe_peer *p = peer_by_instance(&a->peers, asked.instance);
    free(arg);
    if (p == NULL || p->state != PEER_HOLD)
        return; /* gone (expired, reloaded) while we asked */
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
        log_peer(p, "key for %s found but DNSSEC says insecure; not used (dnssec = secure)", ans->owner);
        rec = NULL;
    }
    if (rec == NULL) {
        if (asked.auth == OE_AUTH_RSASIG_OR_NULL) {
            log_peer(p, "no usable key in DNS for %s; using NULL authentication (auth = rsasig-or-null)", ans->owner);
            initiate(a, p, IKE_AUTHBY_NULL, NULL, &p->remote);
            return;
        }
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
    char id[16], g[OE_ADDR_STRLEN];
    dnskeys_key_id(&rec->key, id);
    log_peer(p, "%s %s: %s record, precedence %u, gateway %s, RSA %u bits, keyid %s",
             ans->owner, dnskeys_verdict_name(ans->verdict), dnskeys_rrtype_name(rec->type), rec->precedence,
             oe_addr_str(&gw, g), rec->key.bits, id);
    initiate(a, p, IKE_AUTHBY_RSASIG, &rec->key, &gw);
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
        log_peer(p, "auth = %s, dnssec = %s (not the %s group's %s, %s): the tunnel also carries %s:%u "
                 "(%s %s %u %u), which asks more", oe_auth_name(pd->auth), oe_dnssec_name(pd->dnssec),
                 policy_group_name(p->group), oe_auth_name(gc->auth), oe_dnssec_name(gc->dnssec),
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
    log_peer(p, "looking up IPSECKEY, TXT and KEY at %s", name);
    if (dnskeys_lookup_addr(a->res, &p->remote, on_initiator_key, pd, &err) != 0) {
        free(pd);
        agent_failure_shunt(a, p, err.msg);
    }
}

/* ---- IKE's hooks ---- */

static void on_up(void *arg, const struct ike_action *act)
{
    struct agent *a = arg;
    struct oe_peer *p = act->tag ? peer_by_instance(&a->peers, act->tag) : NULL;
    if (p == NULL) {
        /* a responder tunnel: the peer table records it for status and updown */
        p = peer_find(&a->peers, &act->child.local_host, &act->child.remote_host);
        if (p == NULL)
            p = peer_add(&a->peers, &act->child.local_host, &act->child.remote_host);
        if (p == NULL)
            return;
        const struct policy_rule *r = policy_lookup(a->set, &p->remote, 0, 0, 0);
        p->group = r ? r->group : POLICY_CLEAR_OR_PRIVATE;
        if (r)
            p->rule_prefix = r->sel.peer;
        else
            oe_prefix_host(&p->remote, &p->rule_prefix);
        p->responder = true;
        p->gateway = act->remote.addr;
        p->ike_serial = act->serial;
        bool known = a->recent[act->serial % AGENT_RECENT].serial == act->serial;
        p->dnssec = known ? a->recent[act->serial % AGENT_RECENT].dnssec : PEER_DNSSEC_NONE;
    }
    p->ike_serial = act->serial; /* after simultaneous initiation, the IKE SA that stayed */
    p->state = PEER_TUNNEL;
    p->since = a->now();
    p->active = p->since;
    p->seen_bytes = 0;
    p->lifetime = 0;
    p->spi_in = act->child.spi_in;
    p->spi_out = act->child.spi_out;
    ike_algs_name(act->child.encr, act->child.encr_bits, act->child.integ, p->esp, sizeof(p->esp));
    snprintf(p->peer_id, sizeof(p->peer_id), "%.63s", act->id);
    if (p->auth == PEER_AUTH_NONE)
        p->auth = act->id_type == IKE_ID_NULL ? PEER_AUTH_NULL : PEER_AUTH_RSASIG;
    p->why[0] = '\0';
    log_peer(p, "tunnel up (#%u, %s, ESP %s, SPIs in 0x%08x out 0x%08x)", act->serial,
             p->responder ? "we responded" : "we initiated", p->esp, p->spi_in, p->spi_out);
    agent_updown(a, p, "up-host");
}

static void on_down(void *arg, const struct ike_action *act)
{
    struct agent *a = arg;
    struct oe_peer *p = act->tag ? peer_by_instance(&a->peers, act->tag) : peer_by_serial(&a->peers, act->serial);
    if (p == NULL || (p->state == PEER_TUNNEL && p->ike_serial != act->serial))
        return; /* an IKE SA that no longer serves the peer (its twin does) */
    if (p->state == PEER_HOLD) {
        char why[600];
        snprintf(why, sizeof(why), "IKE failed: %s", act->text);
        agent_failure_shunt(a, p, why);
    } else if (p->state == PEER_TUNNEL) {
        log_peer(p, "tunnel down (%s); peer trapped again", act->text);
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
    log_peer(p, "Child SA rekeyed: SPIs in 0x%08x out 0x%08x, ESP %s", p->spi_in, p->spi_out, p->esp);
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

void agent_oe_hooks(struct agent *a, struct ike_io_hooks *h)
{
    *h = (struct ike_io_hooks){.up = on_up,
                               .down = on_down,
                               .need_key = agent_responder_need_key,
                               .rekeyed = on_rekeyed,
                               .tunnel_selectors = tunnel_selectors,
                               .arg = a};
}

static void pending_free(struct pending *pd)
{
    dnskeys_key_free(&pd->key);
    free(pd);
}

/* ---- set-up ---- */

static size_t local_addresses(const struct oe_config *cfg, struct oe_addr *out, size_t max, struct oe_error *err)
{
    size_t n = 0;
    if (cfg->listen_spec[0]) {
        char copy[256];
        snprintf(copy, sizeof(copy), "%s", cfg->listen_spec);
        for (char *save, *t = strtok_r(copy, ", ", &save); t && n < max; t = strtok_r(NULL, ", ", &save)) {
            if (oe_addr_parse(t, &out[n]) != 0) {
                oe_error_set(err, "listen: \"%s\" is not an address", t);
                return 0;
            }
            n++;
        }
        return n;
    }
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) != 0) {
        oe_error_set(err, "cannot list the host's addresses");
        return 0;
    }
    for (struct ifaddrs *i = ifs; i && n < max; i = i->ifa_next) {
        if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        struct oe_addr a = {0};
        if (i->ifa_addr->sa_family == AF_INET) {
            a.family = AF_INET;
            memcpy(a.bytes, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            a.family = AF_INET6;
            memcpy(a.bytes, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
            if (a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80)
                continue; /* link-local */
        } else {
            continue;
        }
        out[n++] = a;
    }
    freeifaddrs(ifs);
    if (n == 0)
        oe_error_set(err, "the host has no address to run IKE on");
    return n;
}

int agent_oe_start(struct agent *a, struct oe_error *err)
{
    if (!a->cfg->ike)
        return 0;
    struct dnskeys_resolver_config rc = {
        .trust_anchor = access(a->cfg->trust_anchor, R_OK) == 0 ? a->cfg->trust_anchor : NULL,
        .forwarders = a->cfg->resolver_spec[0] ? a->cfg->resolver_spec : NULL,
        .max_ours = a->cfg->dns_max_lookups,
        .max_peers = a->cfg->dns_max_peer_lookups,
        .max_per_source = a->cfg->dns_max_lookups_per_peer,
    };
    if (rc.trust_anchor == NULL)
        oe_log("warning: trust anchor %s not readable: no DNS answer will be secure", a->cfg->trust_anchor);
    a->res = dnskeys_resolver_new(&rc, err);
    if (a->res == NULL)
        return -1;
    struct oe_error kerr;
    if (dnskeys_hostkey_load(a->cfg->key_file, &a->hk, &kerr) != 0) {
        a->hk = NULL;
        oe_log("no host key (%s): only NULL authentication is possible", kerr.msg);
    } else {
        char id[16];
        dnskeys_key_id(dnskeys_hostkey_public(a->hk), id);
        oe_log("loaded host key %s (RSA %u bits, keyid %s)", a->cfg->key_file,
               dnskeys_hostkey_public(a->hk)->bits, id);
    }
    struct ike_config ic;
    ike_config_defaults(&ic);
    if (a->hk)
        ic.signer = (struct ike_signer){dnskeys_hostkey_sign, a->hk};
    ic.child_lifetime_s = a->cfg->salifetime;
    ic.ike_lifetime_s = a->cfg->ikelifetime;
    ic.dpd_delay_s = a->cfg->dpddelay;
    ic.cookie_threshold = a->cfg->cookie_threshold;
    ic.max_half_open = a->cfg->max_half_open;
    ic.max_half_open_per_source = a->cfg->max_half_open_per_source;
    ic.half_open_timeout_ms = a->cfg->half_open_timeout * 1000;
    ic.max_sas_per_peer = a->cfg->max_ike_sas_per_peer;
    memcpy(ic.ciphers, a->cfg->ciphers, sizeof(ic.ciphers));
    memcpy(ic.dh_groups, a->cfg->dh_groups, sizeof(ic.dh_groups));
    memcpy(ic.subnets, a->cfg->subnets, sizeof(ic.subnets));
    ic.nsubnets = a->cfg->nsubnets;
    a->ike = ike_core_new(&ic, err);
    a->nlocal = a->ike ? local_addresses(a->cfg, a->local, AGENT_MAX_LOCAL, err) : 0;
    struct ike_io_hooks hooks;
    agent_oe_hooks(a, &hooks);
    if (a->nlocal)
        a->io = ike_io_new(a->ike, a->k, a->local, a->nlocal, 500, &hooks, err);
    if (a->io == NULL) {
        agent_oe_stop(a);
        return -1;
    }
    char list[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < a->nlocal && len < sizeof(list); i++) {
        char s[OE_ADDR_STRLEN];
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", oe_addr_str(&a->local[i], s));
    }
    oe_log("IKEv2 listening on %s port 500; keys from DNS via %s", list,
           a->cfg->resolver_spec[0] ? a->cfg->resolver_spec : "/etc/resolv.conf");
    return 0;
}

void agent_oe_stop(struct agent *a)
{
    ike_io_free(a->io);
    ike_core_free(a->ike);
    dnskeys_resolver_free(a->res);
    dnskeys_hostkey_free(a->hk);
    a->io = NULL;
    a->ike = NULL;
    a->res = NULL;
    a->hk = NULL;
}

size_t agent_fds(struct agent *a, int *fds, size_t max)
{
    size_t n = 0;
    if (a->res && max > 0)
        fds[n++] = dnskeys_resolver_fd(a->res);
    if (a->io)
        n += ike_io_fds(a->io, fds + n, max - n);
    return n;
}

void agent_readable(struct agent *a, int fd)
{
    struct oe_error err;
    if (a->res && fd == dnskeys_resolver_fd(a->res)) {
        if (dnskeys_resolver_process(a->res, &err) != 0)
            oe_log("%s", err.msg);
        return;
    }
    if (a->io)
        ike_io_readable(a->io, fd);
}

/* How often idle tunnels are looked for: often enough for short timeouts. */
static time_t idle_interval(const struct agent *a)
{
    uint32_t t = a->cfg->idle_timeout / 4;
    return t < 1 ? 1 : t > 30 ? 30 : (time_t)t;
}

int agent_timeout(struct agent *a)
{
    int t = a->io ? ike_io_timeout(a->io) : -1;
    if (a->io && a->cfg->idle_timeout) {
        int idle = (int)idle_interval(a) * 1000;
        if (t < 0 || idle < t)
            t = idle;
    }
    return t;
}

/* A tunnel whose SAs carried nothing for idle_timeout goes; the next packet traps again. */
static void expire_idle(struct agent *a)
{
    time_t now = a->now();
    if (a->cfg->idle_timeout == 0 || now - a->idle_checked < idle_interval(a))
        return;
    a->idle_checked = now;
    for (struct oe_peer *p = a->peers.head, *next; p; p = next) {
        next = p->next;
        if (p->state != PEER_TUNNEL)
            continue;
        uint64_t in, out;
        agent_tunnel_bytes(a, p, &in, &out);
        if (in + out != p->seen_bytes) {
            p->seen_bytes = in + out;
            p->active = now;
        } else if (now - p->active >= (time_t)a->cfg->idle_timeout) {
            log_peer(p, "idle for %llds (idle-timeout %us): deleting the tunnel", (long long)(now - p->active),
                     a->cfg->idle_timeout);
            ike_delete(a->ike, p->ike_serial, ike_io_now(), ike_io_actions(a->io));
            ike_io_apply(a->io, ike_io_actions(a->io)); /* on_down removes the peer */
            return; /* the table changed under us: the next tick goes on */
        }
    }
}

void agent_tick(struct agent *a)
{
    if (a->io) {
        ike_io_tick(a->io);
        expire_idle(a);
    }
}
