/*
 * Longest-prefix match. Nested prefixes cut the address space into
 * intervals, each governed by its innermost prefix; a sorted array of
 * interval starts answers a lookup with one binary search, loads in
 * O(n log n) and costs a few bytes per prefix (see bench/policy_bench).
 */
#include "policy_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef unsigned __int128 u128;

static u128 prefix_last(const struct oe_prefix *p)
{
    unsigned bits = oe_family_bits(p->addr.family);
    u128 start = oe_addr_u128(&p->addr);
    unsigned host = bits - p->len;
    u128 span = host >= 128 ? ~(u128)0 : (((u128)1 << host) - 1);
    return start | span;
}

static void emit(struct family_index *ix, u128 key, int32_t val)
{
    /* A later boundary at the same address overrides: it is more inner. */
    if (ix->n > 0 && ix->iv[ix->n - 1].start == key) {
        ix->iv[ix->n - 1].entry = val;
        return;
    }
    if (ix->n > 0 && ix->iv[ix->n - 1].entry == val)
        return;
    ix->iv[ix->n].start = key;
    ix->iv[ix->n].entry = val;
    ix->n++;
}

/* Close every open prefix that ends before `before` (all when close_all). */
static void pop_until(struct family_index *ix, int32_t *stack, size_t *depth, const u128 *last, u128 before,
                      bool close_all, u128 max)
{
    while (*depth > 0) {
        int32_t top = stack[*depth - 1];
        if (!close_all && last[top] >= before)
            break;
        (*depth)--;
        if (last[top] != max)
            emit(ix, last[top] + 1, *depth ? stack[*depth - 1] : -1);
    }
}

static int build_family(struct policy_set *set, struct family_index *ix, size_t from, size_t to, int family)
{
    size_t nent = 0;
    for (size_t i = from; i < to; i++) {
        if (i == from || oe_prefix_cmp(&set->rules[i].sel.peer, &set->rules[i - 1].sel.peer) != 0)
            nent++;
    }
    ix->first_rule = from;
    ix->nentries = nent;
    ix->entries = calloc(nent ? nent : 1, sizeof(*ix->entries));
    ix->iv = calloc(2 * nent + 1, sizeof(*ix->iv));
    u128 *last = calloc(nent ? nent : 1, sizeof(*last));
    int32_t *stack = calloc(129, sizeof(*stack));
    if (!ix->entries || !ix->iv || !last || !stack) {
        free(last);
        free(stack);
        return -1;
    }
    u128 max = oe_family_bits(family) == 128 ? ~(u128)0 : 0xffffffffu;
    size_t e = 0, depth = 0;
    emit(ix, 0, -1);
    for (size_t i = from; i < to; e++) {
        const struct oe_prefix *p = &set->rules[i].sel.peer;
        struct prefix_entry *pe = &ix->entries[e];
        pe->first_rule = (uint32_t)i;
        while (i < to && oe_prefix_cmp(&set->rules[i].sel.peer, p) == 0)
            i++;
        pe->nrules = (uint32_t)(i - pe->first_rule);
        u128 start = oe_addr_u128(&p->addr);
        last[e] = prefix_last(p);
        pop_until(ix, stack, &depth, last, start, false, max);
        pe->parent = depth ? stack[depth - 1] : -1;
        stack[depth++] = (int32_t)e;
        emit(ix, start, (int32_t)e);
    }
    pop_until(ix, stack, &depth, last, 0, true, max);
    for (size_t i = 0; i < ix->n; i++) {
        const struct prefix_entry *pe = ix->iv[i].entry >= 0 ? &ix->entries[ix->iv[i].entry] : NULL;
        const struct policy_selector *s = pe ? &set->rules[pe->first_rule].sel : NULL;
        ix->iv[i].rule = pe && pe->nrules == 1 && policy_selector_specificity(s) == 0 ? (int32_t)pe->first_rule : -1;
    }
    free(last);
    free(stack);
    return 0;
}

#define BUCKET_BITS 16

/* Slice the span the interval starts cover into 2^16 buckets. */
static int build_buckets(struct family_index *ix, unsigned width)
{
    if (ix->n < 64)
        return 0; /* a plain binary search is as fast */
    u128 lo = ix->iv[1].start, hi = ix->iv[ix->n - 1].start;
    unsigned span = 0; /* the low bits in which lo and hi differ */
    while (span < width && (lo >> span) != (hi >> span))
        span++;
    ix->span_bits = span;
    ix->shift = span > BUCKET_BITS ? span - BUCKET_BITS : 0;
    ix->base = span >= 128 ? 0 : (lo >> span) << span;
    size_t nb = ((size_t)1 << (span - ix->shift)) + 1;
    ix->bucket = malloc(nb * sizeof(*ix->bucket));
    if (ix->bucket == NULL)
        return -1;
    size_t j = 0;
    for (size_t b = 0; b < nb; b++) {
        u128 start = ix->base + ((u128)b << ix->shift);
        if (b == nb - 1 && span >= 128)
            start = ~(u128)0;
        while (j + 1 < ix->n && ix->iv[j + 1].start <= start)
            j++;
        ix->bucket[b] = (uint32_t)j;
    }
    return 0;
}

int policy_index_build(struct policy_set *set, struct oe_error *err)
{
    /* rules are sorted by family first: AF_INET (2) before AF_INET6 (10) */
    size_t split = 0;
    while (split < set->n && set->rules[split].sel.peer.addr.family == AF_INET)
        split++;
    if (build_family(set, &set->idx[0], 0, split, AF_INET) != 0 ||
        build_family(set, &set->idx[1], split, set->n, AF_INET6) != 0 || build_buckets(&set->idx[0], 32) != 0 ||
        build_buckets(&set->idx[1], 128) != 0) {
        oe_error_set(err, "out of memory building the policy index");
        policy_index_free(set);
        return -1;
    }
    return 0;
}

void policy_index_free(struct policy_set *set)
{
    for (int f = 0; f < 2; f++) {
        free(set->idx[f].iv);
        free(set->idx[f].entries);
        free(set->idx[f].bucket);
        memset(&set->idx[f], 0, sizeof(set->idx[f]));
    }
}

static bool rule_matches(const struct policy_selector *s, uint8_t proto, uint16_t lport, uint16_t rport)
{
    return (s->proto == 0 || s->proto == proto) && (s->lport == 0 || s->lport == lport) &&
           (s->rport == 0 || s->rport == rport);
}

const struct policy_rule *policy_lookup(const struct policy_set *set, const struct oe_addr *addr, uint8_t proto,
                                        uint16_t lport, uint16_t rport)
{
    if (set == NULL || !set->finished)
        return NULL;
    const struct family_index *ix = &set->idx[addr->family == AF_INET6 ? 1 : 0];
    if (ix->n == 0)
        return NULL;
    u128 key = oe_addr_u128(addr);
    size_t lo = 0, hi = ix->n; /* find the last interval start <= key */
    if (ix->bucket != NULL && key >= ix->base &&
        (ix->span_bits >= 128 || (key >> ix->span_bits) == (ix->base >> ix->span_bits))) {
        size_t b = (size_t)((key - ix->base) >> ix->shift);
        lo = ix->bucket[b];
        hi = (size_t)ix->bucket[b + 1] + 1;
    }
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->iv[mid].start <= key)
            lo = mid;
        else
            hi = mid;
    }
    if (ix->iv[lo].rule >= 0)
        return &set->rules[ix->iv[lo].rule];
    for (int32_t e = ix->iv[lo].entry; e >= 0; e = ix->entries[e].parent) {
        const struct prefix_entry *pe = &ix->entries[e];
        for (uint32_t r = 0; r < pe->nrules; r++) {
            const struct policy_rule *rule = &set->rules[pe->first_rule + r];
            if (rule_matches(&rule->sel, proto, lport, rport))
                return rule;
        }
    }
    return NULL;
}
