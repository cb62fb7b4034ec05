/*
 * The host's records as showhostkey prints them and publish publishes them:
 * one shared idea of which gateway a record names and which addresses a
 * subnet covers, so that what is printed is what is published.
 */
#include "dnskeys/dnskeys.h"
#include "tools.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int hostrecord_set_gateway(struct dnskeys_record *r, const char *gw)
{
    if (oe_addr_parse(gw, &r->gw_addr) == 0) {
        r->gw_type = r->gw_addr.family == AF_INET ? DNSKEYS_GW_IPV4 : DNSKEYS_GW_IPV6;
        return 0;
    }
    size_t n = strlen(gw);
    if (n == 0 || n + 2 > sizeof(r->gw_name))
        return -1;
    r->gw_type = DNSKEYS_GW_NAME;
    snprintf(r->gw_name, sizeof(r->gw_name), "%s%s", gw, gw[n - 1] == '.' ? "" : ".");
    return 0;
}

void hostrecord_for(const struct dnskeys_record *tmpl, const struct oe_addr *host, bool gw_given,
                    struct dnskeys_record *out, char owner[DNSKEYS_NAME_MAX])
{
    *out = *tmpl; /* shares tmpl's key: the caller frees only tmpl's */
    if (host == NULL)
        return;
    dnskeys_reverse_name(host, owner);
    /*
     * A host that answers IKE itself: IPSECKEY says so with no gateway
     * (type 0), the only form libreswan's OE accepts; TXT has no such
     * form, so it names the host.
     */
    if (!gw_given && out->type == DNSKEYS_TXT) {
        out->gw_addr = *host;
        out->gw_type = host->family == AF_INET ? DNSKEYS_GW_IPV4 : DNSKEYS_GW_IPV6;
    }
}

int hostrecord_subnet_each(const struct oe_prefix *net, const char *verb, int (*fn)(const struct oe_addr *a, void *arg),
                           void *arg)
{
    unsigned host_bits = oe_family_bits(net->addr.family) - net->len;
    if (host_bits > HOSTRECORD_MAX_SUBNET_BITS) {
        fprintf(stderr, "ipsec %s: --subnet /%u has more than %lu addresses; split it\n", verb, net->len,
                1ul << HOSTRECORD_MAX_SUBNET_BITS);
        return 2;
    }
    struct oe_addr a = net->addr;
    for (unsigned long i = 0; i < (1ul << host_bits); i++) {
        int rc = fn(&a, arg);
        if (rc != 0)
            return rc;
        for (int b = (int)oe_family_bits(a.family) / 8 - 1; b >= 0 && ++a.bytes[b] == 0; b--)
            ;
    }
    return 0;
}
