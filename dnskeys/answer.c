/*
 * One lookup asks for IPSECKEY, TXT and KEY at once; this turns the three
 * answers into one: the keys of the first type that has any (in that order,
 * as RFC 4322 and FreeS/WAN prefer), usable first by precedence, and one
 * DNSSEC verdict. Any bogus answer makes the whole answer bogus.
 */
#include "dnskeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const enum dnskeys_rrtype order[3] = {DNSKEYS_IPSECKEY, DNSKEYS_TXT, DNSKEYS_KEY};

const char *dnskeys_verdict_name(enum dnskeys_verdict v)
{
    switch (v) {
    case DNSKEYS_SECURE: return "secure";
    case DNSKEYS_INSECURE: return "insecure";
    case DNSKEYS_BOGUS: return "bogus";
    }
    return "?";
}

static int record_order(const void *pa, const void *pb)
{
    const struct dnskeys_record *a = pa, *b = pb;
    if (a->usable != b->usable)
        return a->usable ? -1 : 1;
    if (a->precedence != b->precedence)
        return a->precedence < b->precedence ? -1 : 1;
    return 0;
}

/* Parse one type's rdata; malformed records stay, unusable, with the reason. */
static size_t parse_set(const struct dnskeys_rrset *set, enum dnskeys_rrtype type, unsigned min_bits,
                        struct dnskeys_record *out, size_t *usable)
{
    size_t n = 0;
    *usable = 0;
    for (size_t i = 0; i < set->n; i++) {
        struct oe_error err;
        int rc = dnskeys_record_parse(type, set->rdata[i], set->len[i], min_bits, &out[n], &err);
        if (rc == 1)
            continue; /* a TXT that is not X-IPsec-Server */
        if (rc < 0) {
            memset(&out[n], 0, sizeof(out[n]));
            out[n].type = type;
            snprintf(out[n].why, sizeof(out[n].why), "malformed: %.140s", err.msg);
        }
        *usable += out[n].usable;
        n++;
    }
    return n;
}

void dnskeys_answer_build(const char *owner, const struct dnskeys_rrset sets[3], unsigned min_bits,
                          struct dnskeys_answer *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->owner, sizeof(out->owner), "%s", owner);
    bool all_failed = true, all_secure = true;
    int chosen = -1, first_any = -1;
    struct dnskeys_record *parsed[3] = {0};
    size_t counts[3] = {0}, usable[3] = {0};
    for (int t = 0; t < 3; t++) {
        const struct dnskeys_rrset *s = &sets[t];
        out->verdicts[t] = s->verdict;
        all_failed &= s->failed;
        all_secure &= s->verdict == DNSKEYS_SECURE && !s->failed;
        if (s->verdict == DNSKEYS_BOGUS && out->verdict != DNSKEYS_BOGUS) {
            out->verdict = DNSKEYS_BOGUS;
            snprintf(out->why_bogus, sizeof(out->why_bogus), "%s: %s", dnskeys_rrtype_name(order[t]),
                     s->why ? s->why : "validation failed");
        }
        if (s->failed && !out->why[0])
            snprintf(out->why, sizeof(out->why), "%s: %s", dnskeys_rrtype_name(order[t]),
                     s->why ? s->why : "no answer");
        parsed[t] = s->n ? calloc(s->n, sizeof(*parsed[t])) : NULL;
        if (s->n && parsed[t] == NULL)
            continue;
        counts[t] = parse_set(s, order[t], min_bits, parsed[t], &usable[t]);
        out->counts[t] = counts[t];
        if (chosen < 0 && usable[t] > 0)
            chosen = t;
        if (first_any < 0 && counts[t] > 0)
            first_any = t;
    }
    if (chosen < 0)
        chosen = first_any;
    out->failed = all_failed;
    if (out->verdict != DNSKEYS_BOGUS) {
        if (chosen >= 0)
            out->verdict = sets[chosen].verdict;
        else
            out->verdict = all_secure ? DNSKEYS_SECURE : DNSKEYS_INSECURE;
    }
    for (int t = 0; t < 3; t++) {
        if (t == chosen) {
            out->source = order[t];
            out->ttl = sets[t].ttl;
            out->records = parsed[t];
            out->n = counts[t];
            qsort(out->records, out->n, sizeof(*out->records), record_order);
            continue;
        }
        for (size_t i = 0; i < counts[t]; i++)
            dnskeys_record_free(&parsed[t][i]);
        free(parsed[t]);
    }
    if (chosen < 0)
        out->source = DNSKEYS_IPSECKEY;
}

void dnskeys_answer_free(struct dnskeys_answer *a)
{
    for (size_t i = 0; i < a->n; i++)
        dnskeys_record_free(&a->records[i]);
    free(a->records);
    a->records = NULL;
    a->n = 0;
}

int dnskeys_answer_copy(const struct dnskeys_answer *from, struct dnskeys_answer *to)
{
    *to = *from;
    to->records = NULL;
    to->n = 0;
    if (from->n == 0)
        return 0;
    to->records = calloc(from->n, sizeof(*to->records));
    if (to->records == NULL)
        return -1;
    for (size_t i = 0; i < from->n; i++) {
        to->records[i] = from->records[i];
        to->records[i].key = (struct dnskeys_pubkey){0};
        if (from->records[i].key.len && dnskeys_key_copy(&from->records[i].key, &to->records[i].key) != 0) {
            to->n = i + 1;
            dnskeys_answer_free(to);
            return -1;
        }
        to->n = i + 1;
    }
    return 0;
}
