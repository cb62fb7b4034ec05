/* lookup.c's engine, which keylookup.c and addrlookup.c ask through: one way only. */
#ifndef OE_DNSKEYS_LOOKUP_INTERNAL_H
#define OE_DNSKEYS_LOOKUP_INTERNAL_H

#include "dnskeys.h"

#define LOOKUP_MAX_QTYPES 3 /* IPSECKEY, TXT and KEY at once */

/*
 * A lookup's end: one rrset per query type, in the order asked, valid while
 * it runs; sets NULL when the resolver is freed first (free ctx, nothing else).
 */
typedef void (*lookup_done_fn)(void *ctx, const char *owner, const struct dnskeys_rrset *sets, size_t n);

/* Ask name for each of qtypes, within the resolver's limits (queued past MAX_ACTIVE, refused past MAX_PENDING). */
int lookup_start(struct dnskeys_resolver *r, const char *name, const int *qtypes, size_t nq,
                 const struct dnskeys_asker *asker, lookup_done_fn done, void *ctx, struct oe_error *err);
unsigned lookup_min_bits(const struct dnskeys_resolver *r);

#endif
