/* Key lookups: IPSECKEY, TXT and KEY at one name, made into one answer (answer.c). */
#include "dnskeys.h"
#include "lookup_internal.h"

#include <stdlib.h>

static const int key_qtypes[LOOKUP_MAX_QTYPES] = {DNSKEYS_IPSECKEY, DNSKEYS_TXT, DNSKEYS_KEY};

struct key_lookup {
    struct dnskeys_resolver *r;
    dnskeys_lookup_fn fn;
    void *arg;
};

static void on_keys(void *ctx, const char *owner, const struct dnskeys_rrset *sets, size_t n)
{
    struct key_lookup *kl = ctx;
    if (sets != NULL && n == LOOKUP_MAX_QTYPES) {
        struct dnskeys_answer ans;
        dnskeys_answer_build(owner, sets, lookup_min_bits(kl->r), &ans);
        kl->fn(&ans, kl->arg);
        dnskeys_answer_free(&ans);
    } else {
        kl->fn(NULL, kl->arg); /* the resolver is being freed: the caller frees arg */
    }
    free(kl);
}

static int lookup_keys(struct dnskeys_resolver *r, const char *name, const struct dnskeys_asker *asker,
                       dnskeys_lookup_fn fn, void *arg, struct oe_error *err)
{
    struct key_lookup *kl = malloc(sizeof(*kl));
    if (kl == NULL) {
        oe_error_set(err, "lookup: out of memory");
        return -1;
    }
    *kl = (struct key_lookup){r, fn, arg};
    if (lookup_start(r, name, key_qtypes, LOOKUP_MAX_QTYPES, asker, on_keys, kl, err) != 0) {
        free(kl);
        return -1;
    }
    return 0;
}

int dnskeys_lookup_name(struct dnskeys_resolver *r, const char *name, dnskeys_lookup_fn fn, void *arg,
                        struct oe_error *err)
{
    return lookup_keys(r, name, NULL, fn, arg, err);
}

int dnskeys_lookup_addr_for(struct dnskeys_resolver *r, const struct oe_addr *addr, const struct dnskeys_asker *asker,
                            dnskeys_lookup_fn fn, void *arg, struct oe_error *err)
{
    char name[DNSKEYS_NAME_MAX];
    dnskeys_reverse_name(addr, name);
    return lookup_keys(r, name, asker, fn, arg, err);
}

int dnskeys_lookup_addr(struct dnskeys_resolver *r, const struct oe_addr *addr, dnskeys_lookup_fn fn, void *arg,
                        struct oe_error *err)
{
    return dnskeys_lookup_addr_for(r, addr, NULL, fn, arg, err);
}
