/* The intrusive hash table of common.h: chains per bucket, doubling as it fills. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static struct oe_hnode **buckets(const struct oe_htab *t)
{
    return t->b ? t->b : (struct oe_hnode **)&t->one;
}

static void link_node(struct oe_hnode **head, struct oe_hnode *node)
{
    node->next = *head;
    if (node->next)
        node->next->pprev = &node->next;
    node->pprev = head;
    *head = node;
}

/* Twice the buckets, every node moved to its own; without the memory, nothing changes. */
static void grow(struct oe_htab *t)
{
    size_t nb = (t->mask + 1) * 2;
    if (nb > SIZE_MAX / sizeof(struct oe_hnode *))
        return;
    struct oe_hnode **b = calloc(nb, sizeof(*b)), **old = buckets(t);
    if (b == NULL)
        return;
    for (size_t i = 0; i <= t->mask; i++)
        while (old[i]) {
            struct oe_hnode *node = old[i];
            old[i] = node->next;
            link_node(&b[node->hash & (nb - 1)], node);
        }
    free(t->b);
    t->b = b;
    t->mask = nb - 1;
}

void oe_htab_add(struct oe_htab *t, struct oe_hnode *node, uint64_t hash)
{
    node->hash = hash;
    if (t->n >= t->mask + 1)
        grow(t);
    link_node(&buckets(t)[hash & t->mask], node);
    t->n++;
}

void oe_htab_del(struct oe_htab *t, struct oe_hnode *node)
{
    if (node->pprev == NULL)
        return;
    *node->pprev = node->next;
    if (node->next)
        node->next->pprev = node->pprev;
    node->next = NULL;
    node->pprev = NULL;
    t->n--;
}

struct oe_hnode *oe_htab_first(const struct oe_htab *t, uint64_t hash)
{
    struct oe_hnode *node = buckets(t)[hash & t->mask];
    while (node && node->hash != hash)
        node = node->next;
    return node;
}

struct oe_hnode *oe_htab_next(const struct oe_hnode *node)
{
    struct oe_hnode *n = node->next;
    while (n && n->hash != node->hash)
        n = n->next;
    return n;
}

void oe_htab_free(struct oe_htab *t)
{
    free(t->b);
    memset(t, 0, sizeof(*t));
}

/* MurmurHash3's finalizer: every input bit moves every output bit. */
static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t oe_hash_bytes(uint64_t seed, const void *p, size_t len)
{
    const uint8_t *s = p;
    uint64_t h = mix(seed ^ (len * 0x9e3779b97f4a7c15ull));
    for (size_t i = 0; i < len; i += 8) {
        uint64_t w = 0;
        memcpy(&w, s + i, len - i < 8 ? len - i : 8);
        h = mix(h ^ w) + seed;
    }
    return mix(h);
}
