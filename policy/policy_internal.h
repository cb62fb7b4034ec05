/* What the files of policy/ share; not part of the public interface. */
#ifndef OE_POLICY_INTERNAL_H
#define OE_POLICY_INTERNAL_H

#include "policy.h"

/* Rules with one exact prefix, most specific selector first. */
struct prefix_entry {
    uint32_t first_rule;
    uint32_t nrules;
    int32_t parent; /* enclosing entry, or -1 */
};

/*
 * Longest-prefix match as a partition of the address space: an interval runs
 * from its start to the next one's, and its innermost covering prefix is
 * entries[entry] (-1: none). When that prefix has a single rule for any
 * traffic, rule is its index, so the common lookup touches nothing else.
 */
struct interval {
    unsigned __int128 start;
    int32_t entry;
    int32_t rule;
};

struct family_index {
    struct interval *iv;
    size_t n;
    struct prefix_entry *entries;
    size_t nentries;
    size_t first_rule; /* this family's rules start here in set->rules */
    /*
     * A direct index over 2^16 slices of the span the keys cover, so a lookup
     * binary-searches a few intervals instead of all of them.
     */
    uint32_t *bucket;
    unsigned __int128 base;
    unsigned span_bits, shift;
};

struct policy_set {
    struct policy_rule *rules;
    size_t n, cap;
    char *files[POLICY_GROUP_COUNT];
    struct family_index idx[2]; /* IPv4, IPv6 */
    bool finished;
};

int policy_index_build(struct policy_set *set, struct oe_error *err);
void policy_index_free(struct policy_set *set);
int policy_selector_cmp(const struct policy_selector *a, const struct policy_selector *b);
unsigned policy_selector_specificity(const struct policy_selector *s);

#endif
