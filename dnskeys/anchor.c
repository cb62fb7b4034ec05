/*
 * Does the path to the resolvers validate (ipsec verify)? The DNSKEY RRset
 * of the trust anchor's own zone is asked for through the lookup engine:
 * libunbound validates it against the anchor itself, so it is secure only
 * when the resolvers pass DNSSEC records through (a resolver that strips
 * RRSIGs makes it bogus, no anchor makes it insecure).
 */
#include "dnskeys.h"
#include "lookup_internal.h"

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RRTYPE_DNSKEY 48
#define ANCHOR_LINE_MAX 8192

int dnskeys_anchor_zone(const char *path, char zone[DNSKEYS_NAME_MAX], struct oe_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        oe_error_setc(err, OE_E_SYSTEM, "%s: cannot open", path);
        return -1;
    }
    char line[ANCHOR_LINE_MAX];
    unsigned lineno = 0;
    int rc = -1;
    while (rc != 0 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == ';' || line[0] == '$' || line[0] == ' ' || line[0] == '\t')
            continue;
        ldns_rr *rr = NULL;
        if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK)
            continue;
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY || ldns_rr_get_type(rr) == LDNS_RR_TYPE_DS) {
            char *s = ldns_rdf2str(ldns_rr_owner(rr));
            if (s != NULL && strlen(s) < DNSKEYS_NAME_MAX) {
                memcpy(zone, s, strlen(s) + 1);
                rc = 0;
            }
            free(s);
        }
        ldns_rr_free(rr);
    }
    fclose(f);
    if (rc != 0)
        oe_error_setc(err, OE_E_INVALID, "%s: no DS or DNSKEY record in %u lines", path, lineno);
    return rc;
}

struct probe {
    dnskeys_addr_fn fn;
    void *arg;
};

static void on_dnskey(void *ctx, const char *owner, const struct dnskeys_rrset *sets, size_t n)
{
    struct probe *p = ctx;
    if (sets == NULL || n != 1) {
        p->fn(NULL, p->arg); /* the resolver is being freed: the caller frees arg */
        free(p);
        return;
    }
    struct dnskeys_addr_answer ans;
    memset(&ans, 0, sizeof(ans));
    snprintf(ans.name, sizeof(ans.name), "%s", owner);
    ans.verdict = sets[0].verdict;
    ans.failed = sets[0].failed && sets[0].verdict != DNSKEYS_BOGUS;
    if (sets[0].why != NULL)
        snprintf(ans.why, sizeof(ans.why), "%s", sets[0].why);
    else if (sets[0].n == 0)
        snprintf(ans.why, sizeof(ans.why), "no DNSKEY record");
    ans.n = sets[0].n; /* records, not addresses: only the count */
    p->fn(&ans, p->arg);
    free(p);
}

int dnskeys_probe_validation(struct dnskeys_resolver *r, const char *zone, dnskeys_addr_fn fn, void *arg,
                             struct oe_error *err)
{
    if (strlen(zone) >= DNSKEYS_NAME_MAX) {
        oe_error_set(err, "validation probe: bad zone name");
        return -1;
    }
    struct probe *p = malloc(sizeof(*p));
    if (p == NULL) {
        oe_error_set(err, "validation probe: out of memory");
        return -1;
    }
    *p = (struct probe){fn, arg};
    int qtype = RRTYPE_DNSKEY;
    if (lookup_start(r, zone, &qtype, 1, NULL, on_dnskey, p, err) != 0) {
        free(p);
        return -1;
    }
    return 0;
}
