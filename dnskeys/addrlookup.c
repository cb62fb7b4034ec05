/*
 * A gateway named by its DNS name (IPSECKEY gateway type 3): its A or AAAA
 * records, validated like the keys, asked through the same lookup engine
 * and limits, and answered from the caller's event loop.
 */
#include "dnskeys.h"
#include "lookup_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RRTYPE_A 1
#define RRTYPE_AAAA 28

struct addr_lookup {
    int family;
    dnskeys_addr_fn fn;
    void *arg;
};

static void on_addr(void *ctx, const char *owner, const struct dnskeys_rrset *sets, size_t n)
{
    struct addr_lookup *al = ctx;
    if (sets == NULL || n != 1) {
        al->fn(NULL, al->arg); /* the resolver is being freed: the caller frees arg */
        free(al);
        return;
    }
    const struct dnskeys_rrset *set = &sets[0];
    struct dnskeys_addr_answer ans;
    memset(&ans, 0, sizeof(ans));
    snprintf(ans.name, sizeof(ans.name), "%s", owner);
    size_t alen = al->family == AF_INET ? 4 : 16;
    ans.verdict = set->verdict;
    if (set->verdict == DNSKEYS_BOGUS) {
        snprintf(ans.why, sizeof(ans.why), "%s", set->why);
    } else if (set->failed) {
        ans.failed = true;
        snprintf(ans.why, sizeof(ans.why), "%s", set->why);
    } else {
        for (size_t i = 0; i < set->n && ans.n < DNSKEYS_MAX_ADDRS; i++) {
            if (set->len[i] != alen)
                continue; /* not an address of this family: ignored */
            ans.addrs[ans.n].family = (uint8_t)al->family;
            memcpy(ans.addrs[ans.n].bytes, set->rdata[i], alen);
            ans.n++;
        }
        if (ans.n == 0)
            snprintf(ans.why, sizeof(ans.why), "no %s record", al->family == AF_INET ? "A" : "AAAA");
    }
    al->fn(&ans, al->arg);
    free(al);
}

int dnskeys_resolve_name(struct dnskeys_resolver *r, const char *name, int family, dnskeys_addr_fn fn, void *arg,
                         struct oe_error *err)
{
    if (strlen(name) >= DNSKEYS_NAME_MAX || (family != AF_INET && family != AF_INET6)) {
        oe_error_set(err, "address lookup: bad name or family");
        return -1;
    }
    struct addr_lookup *al = malloc(sizeof(*al));
    if (al == NULL) {
        oe_error_set(err, "address lookup: out of memory");
        return -1;
    }
    *al = (struct addr_lookup){family, fn, arg};
    int qtype = family == AF_INET ? RRTYPE_A : RRTYPE_AAAA;
    if (lookup_start(r, name, &qtype, 1, NULL, on_addr, al, err) != 0) {
        free(al);
        return -1;
    }
    return 0;
}
