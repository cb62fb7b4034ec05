/*
 * Negotiation set up and driven: the resolver, the host key, the IKE core
 * and its sockets on the host's addresses; their fds and timers in the
 * event loop; idle tunnels expired.
 */
#include "agent_internal.h"
#include "log.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The IKE core's settings, from oe.conf and the agent's hooks. */
void agent_ike_config(struct agent *a, struct ike_config *ic)
{
    ike_config_defaults(ic);
    ic->address_is_ours = agent_address_is_ours;
    ic->address_ctx = a;
    /* through the agent: rereadkeys loads or swaps the key under the running core (a first key, a rollover) */
    ic->signer = (struct ike_signer){agent_sign, a, agent_has_host_key};
    ic->child_lifetime_s = a->cfg->salifetime;
    ic->ike_lifetime_s = a->cfg->ikelifetime;
    ic->dpd_delay_s = a->cfg->dpddelay;
    ic->keepalive_ms = a->cfg->keep_alive * 1000;
    ic->cookie_threshold = a->cfg->cookie_threshold;
    ic->max_half_open = a->cfg->max_half_open;
    ic->max_half_open_per_source = a->cfg->max_half_open_per_source;
    ic->half_open_timeout_ms = a->cfg->half_open_timeout * 1000;
    ic->max_sas_per_peer = a->cfg->max_ike_sas_per_peer;
    memcpy(ic->ciphers, a->cfg->ciphers, sizeof(ic->ciphers));
    memcpy(ic->dh_groups, a->cfg->dh_groups, sizeof(ic->dh_groups));
    memcpy(ic->subnets, a->cfg->subnets, sizeof(ic->subnets));
    ic->nsubnets = a->cfg->nsubnets;
    memcpy(ic->address_pool, a->cfg->address_pool, sizeof(ic->address_pool));
    ic->max_leases_per_source = a->cfg->max_leases_per_source;
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
        .timeout_ms = a->cfg->dns_timeout * 1000,
        .retransmit_ms = a->cfg->dns_retransmit_ms,
        .retransmit_set = true,
    };
    if (a->cfg->dns_timeout >= a->cfg->hold_lifetime)
        oe_log("warning: dns-timeout %us is not below hold-lifetime %us: a hold can end before its lookup does",
               a->cfg->dns_timeout, a->cfg->hold_lifetime);
    if (rc.trust_anchor == NULL)
        oe_log("warning: trust anchor %s not readable: no DNS answer will be secure", a->cfg->trust_anchor);
    a->res = dnskeys_resolver_new(&rc, err);
    if (a->res == NULL)
        return -1;
    if (agent_keys_start(a, err) != 0) {
        agent_oe_stop(a);
        return -1;
    }
    struct ike_config ic;
    agent_ike_config(a, &ic);
    a->ike = ike_core_new(&ic, err);
    struct ike_io_hooks hooks;
    agent_oe_hooks(a, &hooks);
    if (a->ike)
        a->io = ike_io_new(a->ike, a->k, NULL, 0, 500, &hooks, err);
    if (a->io == NULL || agent_addresses_start(a, err) != 0) {
        agent_oe_stop(a);
        return -1;
    }
    return 0;
}

void agent_oe_stop(struct agent *a)
{
    agent_addresses_stop(a);
    ike_io_free(a->io);
    ike_core_free(a->ike);
    dnskeys_resolver_free(a->res);
    agent_keys_stop(a);
    a->io = NULL;
    a->ike = NULL;
    a->res = NULL;
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
    int dns = a->res ? dnskeys_resolver_timeout(a->res) : -1;
    if (dns >= 0 && (t < 0 || dns < t))
        t = dns;
    int held = agent_holds_timeout(a);
    if (held >= 0 && (t < 0 || held < t))
        t = held;
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
            agent_log_peer(p, "idle for %llds (idle-timeout %us): deleting the tunnel", (long long)(now - p->active),
                           a->cfg->idle_timeout);
            ike_delete(a->ike, p->ike_serial, ike_io_now(), ike_io_actions(a->io));
            ike_io_apply(a->io, ike_io_actions(a->io)); /* on_down removes the peer */
            return;                                     /* the table changed under us: the next tick goes on */
        }
    }
}

void agent_loop_turn(struct agent *a, uint64_t us)
{
    loop_stats_add(&a->loop, us);
}

void agent_tick(struct agent *a)
{
    if (a->res)
        dnskeys_resolver_expire(a->res); /* lookups past dns-timeout end failed: the failure shunt, not a long hold */
    agent_holds_tick(a);                 /* before the IKE timers: queues that go at the end of the last turn */
    if (a->io) {
        ike_io_tick(a->io);
        expire_idle(a);
    }
}
