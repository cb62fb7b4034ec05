/*
 * What the policy requires of a tunnel to one host, for both ends: the
 * auth and dnssec every line it would carry asks for (the initiator before
 * it negotiates, the responder before it installs anything), the lines
 * whose traffic it carries, and, for the responder (DESIGN.md), whether the
 * host's own DNS record lets this identity, from this address, speak for it
 * (RFC 4322 5.3 in its IKEv2 form). Pure: it decides on what it is given
 * and neither asks DNS nor logs.
 */
#ifndef OE_RESPONDER_RULE_H
#define OE_RESPONDER_RULE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "dnskeys/dnskeys.h"
#include "policy/policy.h"

/* What every rule covering the host asks of a host-wide tunnel to it. */
struct host_policy {
    const struct policy_rule *rule; /* for all of the host's traffic; NULL: no group covers it */
    enum policy_group group;
    bool allowed;      /* the group answers IKE (else auth and dnssec: the port-scoped ones') */
    enum oe_auth auth; /* the strictest of the host-wide rule and port-scoped ones */
    enum oe_dnssec dnssec;
    const struct policy_rule *stricter; /* a port-scoped rule that made auth or dnssec stricter */
};

/*
 * A host-wide Child SA carries all of the host's traffic, so each
 * port-scoped line that covers the host with a trapping group adds its
 * auth and dnssec: a tunnel made under `private-or-clear` with NULL auth
 * must not carry tcp/443 that a `private` line requires rsasig for. The
 * responder asks this of an initiator; the initiator of itself, before it
 * chooses NULL or a key from DNS.
 */
void host_policy_for(const struct policy_set *set, const struct oe_config *cfg, const struct oe_addr *host,
                     struct host_policy *out);

/*
 * The lines whose traffic a tunnel to host carries, each to be ranked at
 * itself (ike_io.h): the host-wide line when its group answers IKE, then
 * every line of such a group that covers the host and ranks above it (more
 * specific: longer prefix, then a protocol, then ports; a port-scoped
 * private). Lines of other groups keep their action. Fills at most max and
 * returns how many there are.
 */
size_t host_tunnel_lines(const struct policy_set *set, const struct oe_addr *host, const struct policy_rule **out,
                         size_t max);

/* Who asks: the host the tunnel is for, the address IKE comes from, the identity it authenticates as. */
struct responder_claim {
    struct oe_addr host;
    struct oe_addr outer;
    char id[256]; /* as the IKE core prints it: "192.0.2.7", "@host.example", "ID_NULL" */
};

/*
 * The record of the host's reverse name that lets this identity speak for
 * it, or NULL with why. Accepted: an address identity equal to the host;
 * the host's own address talking, with an FQDN identity its record names as
 * gateway; or a gateway talking for the host (its record names the outer
 * address as gateway) identified by that address. The key of the record
 * returned is the one AUTH must verify with.
 */
const struct dnskeys_record *responder_record(const struct responder_claim *c, const struct dnskeys_answer *ans,
                                              enum oe_dnssec dnssec, char *why, size_t len);
/*
 * Every record after first (responder_record's) that lets the identity
 * speak for the host with another key: a host rolling its key publishes
 * two, and its AUTH may be signed with either. At most max into out.
 */
size_t responder_more_records(const struct responder_claim *c, const struct dnskeys_answer *ans,
                              const struct dnskeys_record *first, const struct dnskeys_record **out, size_t max);

#endif
