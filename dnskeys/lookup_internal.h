/* What lookup.c shares with addrlookup.c: the libunbound context and the address lookups' list. */
#ifndef OE_DNSKEYS_LOOKUP_INTERNAL_H
#define OE_DNSKEYS_LOOKUP_INTERNAL_H

#include "dnskeys.h"

struct addr_lookup;
struct ub_ctx *dnskeys_ub_ctx(struct dnskeys_resolver *r);
struct addr_lookup **dnskeys_addr_lookups(struct dnskeys_resolver *r);
void dnskeys_addr_lookups_cancel(struct dnskeys_resolver *r);

#endif
