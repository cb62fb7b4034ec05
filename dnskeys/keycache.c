/*
 * The key cache: answers with usable keys, by owner name, for their TTL
 * (clamped), least recently used dropped first when full. A hash table
 * finds an owner, a doubly linked list keeps the use order: every
 * operation is O(1) but flush and each, which walk what is kept.
 */
#include "dnskeys.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct oe_hnode node;
    struct entry *newer, *older; /* use order */
    char key[DNSKEYS_NAME_MAX];  /* owner, lower case, without the final dot */
    uint64_t expires_ms;
    size_t bytes; /* what it takes: itself, its records, their keys */
    struct dnskeys_answer ans;
};

struct dnskeys_cache {
    struct dnskeys_cache_config cfg;
    struct oe_htab tab;
    struct entry *newest, *oldest;
    uint64_t seed;
    struct dnskeys_cache_stats st;
};

struct dnskeys_cache *dnskeys_cache_new(const struct dnskeys_cache_config *cfg, struct oe_error *err)
{
    if (cfg->min_ttl > cfg->max_ttl) {
        oe_error_set(err, "key cache: min TTL %u above max TTL %u", cfg->min_ttl, cfg->max_ttl);
        return NULL;
    }
    struct dnskeys_cache *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        oe_error_set(err, "key cache: out of memory");
        return NULL;
    }
    c->cfg = *cfg;
    if (c->cfg.max_bytes == 0)
        c->cfg.max_bytes = DNSKEYS_CACHE_MAX_BYTES;
    c->seed = (uint64_t)(uintptr_t)c ^ oe_monotonic_ms() * 0x9e3779b97f4a7c15ull;
    return c;
}

static void normalise(const char *owner, char out[DNSKEYS_NAME_MAX])
{
    size_t n = 0;
    for (; owner[n] && n < DNSKEYS_NAME_MAX - 1; n++)
        out[n] = (char)tolower((unsigned char)owner[n]);
    if (n > 0 && out[n - 1] == '.')
        n--;
    out[n] = '\0';
}

static struct entry *find(const struct dnskeys_cache *c, const char *key)
{
    uint64_t h = oe_hash_bytes(c->seed, key, strlen(key));
    for (struct oe_hnode *n = oe_htab_first(&c->tab, h); n; n = oe_htab_next(n)) {
        struct entry *e = (struct entry *)((char *)n - offsetof(struct entry, node));
        if (strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

static void unlink_use(struct dnskeys_cache *c, struct entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void link_newest(struct dnskeys_cache *c, struct entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
}

static void remove_entry(struct dnskeys_cache *c, struct entry *e)
{
    oe_htab_del(&c->tab, &e->node);
    unlink_use(c, e);
    dnskeys_answer_free(&e->ans);
    c->st.bytes -= e->bytes;
    free(e);
    c->st.entries--;
}

static bool cacheable(const struct dnskeys_answer *ans)
{
    return !ans->failed && ans->verdict != DNSKEYS_BOGUS && ans->n > 0 && ans->records[0].usable;
}

bool dnskeys_cache_put(struct dnskeys_cache *c, const struct dnskeys_answer *ans, uint64_t now_ms)
{
    if (c == NULL || c->cfg.max_entries == 0 || !cacheable(ans))
        return false;
    /* the usable records come first: those, and no more than the core tries */
    struct dnskeys_answer kept = *ans;
    kept.n = 0;
    while (kept.n < ans->n && kept.n < DNSKEYS_CACHE_MAX_RECORDS && ans->records[kept.n].usable)
        kept.n++;
    size_t bytes = sizeof(struct entry) + kept.n * sizeof(*kept.records);
    for (size_t i = 0; i < kept.n; i++)
        bytes += kept.records[i].key.len;
    if (bytes > c->cfg.max_bytes)
        return false;
    struct entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return false;
    if (dnskeys_answer_copy(&kept, &e->ans) != 0) {
        free(e);
        return false;
    }
    e->bytes = bytes;
    normalise(ans->owner, e->key);
    struct entry *old = find(c, e->key);
    if (old)
        remove_entry(c, old);
    while ((c->st.entries >= c->cfg.max_entries || c->st.bytes + bytes > c->cfg.max_bytes) && c->oldest) {
        remove_entry(c, c->oldest);
        c->st.evicted++;
    }
    uint32_t ttl = ans->ttl;
    if (ttl < c->cfg.min_ttl)
        ttl = c->cfg.min_ttl;
    if (ttl > c->cfg.max_ttl)
        ttl = c->cfg.max_ttl;
    e->expires_ms = now_ms + (uint64_t)ttl * 1000;
    oe_htab_add(&c->tab, &e->node, oe_hash_bytes(c->seed, e->key, strlen(e->key)));
    link_newest(c, e);
    c->st.entries++;
    c->st.bytes += bytes;
    c->st.stored++;
    return true;
}

const struct dnskeys_answer *dnskeys_cache_get(struct dnskeys_cache *c, const char *owner, uint64_t now_ms)
{
    if (c == NULL)
        return NULL;
    char key[DNSKEYS_NAME_MAX];
    normalise(owner, key);
    struct entry *e = find(c, key);
    if (e && now_ms >= e->expires_ms) {
        remove_entry(c, e);
        c->st.expired++;
        e = NULL;
    }
    if (e == NULL) {
        c->st.misses++;
        return NULL;
    }
    c->st.hits++;
    unlink_use(c, e);
    link_newest(c, e);
    /* what is left of the TTL, as a resolver's cache answers it, rounded up */
    e->ans.ttl = (uint32_t)((e->expires_ms - now_ms + 999) / 1000);
    return &e->ans;
}

bool dnskeys_cache_drop(struct dnskeys_cache *c, const char *owner)
{
    if (c == NULL)
        return false;
    char key[DNSKEYS_NAME_MAX];
    normalise(owner, key);
    struct entry *e = find(c, key);
    if (e == NULL)
        return false;
    remove_entry(c, e);
    c->st.dropped++;
    return true;
}

size_t dnskeys_cache_flush(struct dnskeys_cache *c)
{
    if (c == NULL)
        return 0;
    size_t n = c->st.entries;
    while (c->oldest)
        remove_entry(c, c->oldest);
    c->st.flushed += n;
    return n;
}

void dnskeys_cache_get_stats(const struct dnskeys_cache *c, struct dnskeys_cache_stats *out)
{
    if (c == NULL)
        *out = (struct dnskeys_cache_stats){0};
    else
        *out = c->st;
}

int dnskeys_cache_each(const struct dnskeys_cache *c, uint64_t now_ms,
                       int (*fn)(const struct dnskeys_answer *ans, uint64_t ms_left, void *arg), void *arg)
{
    if (c == NULL)
        return 0;
    for (const struct entry *e = c->newest; e; e = e->older) {
        if (now_ms >= e->expires_ms)
            continue;
        int rc = fn(&e->ans, e->expires_ms - now_ms, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void dnskeys_cache_free(struct dnskeys_cache *c)
{
    if (c == NULL)
        return;
    dnskeys_cache_flush(c);
    oe_htab_free(&c->tab);
    free(c);
}
