/*
 * A gateway named by its DNS name (IPSECKEY gateway type 3): its A or AAAA
 * records, validated like the keys, asked through the same libunbound
 * context and answered from the caller's event loop.
 */
#include "dnskeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unbound.h>

#include "lookup_internal.h"

struct addr_lookup {
    struct dnskeys_resolver *r;
    char name[DNSKEYS_NAME_MAX];
    int family;
    dnskeys_addr_fn fn;
    void *arg;
    int async_id;
    struct addr_lookup *next;
};

static void unlink_addr(struct dnskeys_resolver *r, struct addr_lookup *al)
{
    for (struct addr_lookup **p = dnskeys_addr_lookups(r); *p; p = &(*p)->next) {
        if (*p == al) {
            *p = al->next;
            return;
        }
    }
}

static void on_addr(void *data, int err, struct ub_result *res)
{
    struct addr_lookup *al = data;
    struct dnskeys_addr_answer ans;
    memset(&ans, 0, sizeof(ans));
    snprintf(ans.name, sizeof(ans.name), "%s", al->name);
    size_t alen = al->family == AF_INET ? 4 : 16;
    if (err != 0 || res == NULL) {
        ans.failed = true;
        snprintf(ans.why, sizeof(ans.why), "%s", err ? ub_strerror(err) : "no result");
    } else if (res->bogus) {
        ans.verdict = DNSKEYS_BOGUS;
        snprintf(ans.why, sizeof(ans.why), "%s", res->why_bogus ? res->why_bogus : "validation failed");
    } else {
        ans.verdict = res->secure ? DNSKEYS_SECURE : DNSKEYS_INSECURE;
        if (res->rcode != 0 && res->rcode != 3) {
            ans.failed = true;
            snprintf(ans.why, sizeof(ans.why), "rcode %d", res->rcode);
        }
        for (size_t i = 0; res->havedata && res->data[i] && ans.n < DNSKEYS_MAX_ADDRS; i++) {
            if ((size_t)res->len[i] != alen)
                continue; /* not an address of this family: ignored */
            ans.addrs[ans.n].family = (uint8_t)al->family;
            memcpy(ans.addrs[ans.n].bytes, res->data[i], alen);
            ans.n++;
        }
        if (ans.n == 0 && !ans.failed)
            snprintf(ans.why, sizeof(ans.why), "no %s record", al->family == AF_INET ? "A" : "AAAA");
    }
    if (res)
        ub_resolve_free(res);
    unlink_addr(al->r, al);
    al->fn(&ans, al->arg);
    free(al);
}

int dnskeys_resolve_name(struct dnskeys_resolver *r, const char *name, int family, dnskeys_addr_fn fn,
                         void *arg, struct oe_error *err)
{
    if (strlen(name) >= DNSKEYS_NAME_MAX || (family != AF_INET && family != AF_INET6)) {
        oe_error_set(err, "address lookup: bad name or family");
        return -1;
    }
    struct addr_lookup *al = calloc(1, sizeof(*al));
    if (al == NULL) {
        oe_error_set(err, "address lookup: out of memory");
        return -1;
    }
    al->r = r;
    snprintf(al->name, sizeof(al->name), "%s", name);
    al->family = family;
    al->fn = fn;
    al->arg = arg;
    int rc = ub_resolve_async(dnskeys_ub_ctx(r), al->name, family == AF_INET ? 1 : 28, 1, al, on_addr,
                              &al->async_id);
    if (rc != 0) {
        oe_error_set(err, "address lookup of %s: %s", name, ub_strerror(rc));
        free(al);
        return -1;
    }
    struct addr_lookup **head = dnskeys_addr_lookups(r);
    al->next = *head;
    *head = al;
    return 0;
}

void dnskeys_addr_lookups_cancel(struct dnskeys_resolver *r)
{
    struct addr_lookup **head = dnskeys_addr_lookups(r);
    while (*head) {
        struct addr_lookup *al = *head;
        *head = al->next;
        ub_cancel(dnskeys_ub_ctx(r), al->async_id);
        free(al);
    }
}
