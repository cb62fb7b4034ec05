/*
 * The resolver and its lookup engine over libunbound: a lookup is one name
 * with up to LOOKUP_MAX_QTYPES query types in flight at once, under one set
 * of limits for every kind of lookup, answered through ub_fd()/ub_process()
 * in the caller's event loop; libunbound validates with the configured
 * anchor. What a lookup's answers mean is keylookup.c's and addrlookup.c's.
 */
#include "dnskeys.h"
#include "lookup_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unbound.h>
#include <unistd.h>

/*
 * Lookups past this many wait their turn: libunbound (and the resolver
 * behind it) drop queries beyond about 1000 per thread, and a dropped query
 * costs a retransmission timeout, so queueing here is much faster.
 */
#define MAX_ACTIVE 256

/* The documentation ranges' reverse zones, which resolvers answer locally by default. */
static const char *const doc_zones[] = {
    "2.0.192.in-addr.arpa.",
    "100.51.198.in-addr.arpa.",
    "113.0.203.in-addr.arpa.",
    "8.b.d.0.1.0.0.2.ip6.arpa.",
};

struct lookup;

struct query {
    struct lookup *lk;
    int async_id;
    bool done;
    bool timed_out; /* cancelled on the lookup's deadline */
    int err;
    struct ub_result *res;
};

struct lookup {
    struct dnskeys_resolver *r;
    struct dnskeys_asker asker;
    char owner[DNSKEYS_NAME_MAX];
    lookup_done_fn done;
    void *ctx;
    int qtypes[LOOKUP_MAX_QTYPES];
    size_t nq;
    struct query q[LOOKUP_MAX_QTYPES];
    int outstanding;
    bool started;
    uint64_t deadline;          /* monotonic ms */
    struct lookup *next, *prev; /* pending, oldest first: deadlines in order */
    struct lookup *queue_next;  /* waiting to start */
};

struct dnskeys_resolver {
    struct ub_ctx *ctx;
    unsigned min_bits;
    struct lookup *pending, *newest;
    size_t npending, nactive;
    unsigned timeout_ms;
    char timeout_why[64];
    size_t nfor[2]; /* pending, by enum dnskeys_for */
    unsigned max_for[2], max_per_source;
    struct lookup *queue_head, *queue_tail;
};

unsigned lookup_min_bits(const struct dnskeys_resolver *r)
{
    return r->min_bits;
}

static int set_option(struct ub_ctx *ctx, const char *opt, const char *val, struct oe_error *err)
{
    int rc = ub_ctx_set_option(ctx, opt, val);
    if (rc != 0) {
        oe_error_set(err, "resolver option %s %s: %s", opt, val, ub_strerror(rc));
        return -1;
    }
    return 0;
}

/*
 * ub_ctx_set_option("local-zone:") accepts "nodefault" but does not apply it
 * (libunbound 1.17), so the setting goes through a small config file.
 */
static int undo_local_zones(struct ub_ctx *ctx, struct oe_error *err)
{
    char path[] = "/tmp/oe-unbound-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        oe_error_set(err, "resolver: cannot write a temporary config file");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "server:\n");
    for (size_t i = 0; i < sizeof(doc_zones) / sizeof(doc_zones[0]); i++)
        fprintf(f, "  local-zone: \"%s\" nodefault\n", doc_zones[i]);
    fclose(f);
    int rc = ub_ctx_config(ctx, path);
    unlink(path);
    if (rc != 0) {
        oe_error_set(err, "resolver config: %s", ub_strerror(rc));
        return -1;
    }
    return 0;
}

static int configure(struct ub_ctx *ctx, const struct dnskeys_resolver_config *cfg, struct oe_error *err)
{
    int rc;
    if (set_option(ctx, "do-not-query-localhost:", "no", err) != 0)
        return -1;
    if (undo_local_zones(ctx, err) != 0)
        return -1;
    if (cfg->trust_anchor && (rc = ub_ctx_add_ta_file(ctx, cfg->trust_anchor)) != 0) {
        oe_error_set(err, "trust anchor %s: %s", cfg->trust_anchor, ub_strerror(rc));
        return -1;
    }
    if (cfg->forwarders && cfg->forwarders[0]) {
        /*
         * A forwarder resolves for us, and a name it must fetch from far
         * away takes it a second or two. libunbound retransmits after its
         * floor (50 ms, and the quick answers other names get keep it there)
         * and gives such a name up with SERVFAIL after some 3 s of retries:
         * one peer's quick SERVFAIL spoiled the next peer's slow but good
         * answer. With a floor of 2.5 s (dns-retransmit-ms) a 2 s answer comes at
         * the first try (a lost query costs 2.5 s; issue 11); dns-timeout
         * bounds the whole.
         */
        unsigned floor_ms = cfg->retransmit_set ? cfg->retransmit_ms : DNSKEYS_RETRANSMIT_MS;
        char v[16];
        snprintf(v, sizeof(v), "%u", floor_ms);
        if (floor_ms && set_option(ctx, "infra-cache-min-rtt:", v, err) != 0)
            return -1;
        char list[512];
        snprintf(list, sizeof(list), "%s", cfg->forwarders);
        for (char *save, *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            if ((rc = ub_ctx_set_fwd(ctx, t)) != 0) {
                oe_error_set(err, "resolver %s: %s", t, ub_strerror(rc));
                return -1;
            }
        }
    } else if (cfg->stub_zone && cfg->stub_addr) {
        if ((rc = ub_ctx_set_stub(ctx, cfg->stub_zone, cfg->stub_addr, 0)) != 0) {
            oe_error_set(err, "stub %s at %s: %s", cfg->stub_zone, cfg->stub_addr, ub_strerror(rc));
            return -1;
        }
    } else if (!cfg->recursion && (rc = ub_ctx_resolvconf(ctx, NULL)) != 0) {
        oe_error_set(err, "/etc/resolv.conf: %s", ub_strerror(rc));
        return -1;
    }
    /* answers come through a pipe the caller polls; resolution runs in a thread */
    if ((rc = ub_ctx_async(ctx, 1)) != 0) {
        oe_error_set(err, "resolver: %s", ub_strerror(rc));
        return -1;
    }
    return 0;
}

struct dnskeys_resolver *dnskeys_resolver_new(const struct dnskeys_resolver_config *cfg, struct oe_error *err)
{
    struct dnskeys_resolver *r = calloc(1, sizeof(*r));
    if (r == NULL || (r->ctx = ub_ctx_create()) == NULL) {
        oe_error_set(err, "resolver: out of memory");
        free(r);
        return NULL;
    }
    r->min_bits = cfg->min_bits ? cfg->min_bits : DNSKEYS_MIN_BITS;
    r->max_for[DNSKEYS_FOR_US] = cfg->max_ours ? cfg->max_ours : DNSKEYS_MAX_OURS;
    r->max_for[DNSKEYS_FOR_PEER] = cfg->max_peers ? cfg->max_peers : DNSKEYS_MAX_PEERS;
    r->max_per_source = cfg->max_per_source ? cfg->max_per_source : DNSKEYS_MAX_PER_SOURCE;
    r->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DNSKEYS_TIMEOUT_MS;
    snprintf(r->timeout_why, sizeof(r->timeout_why), "no answer within %gs (dns-timeout)", r->timeout_ms / 1000.0);
    if (configure(r->ctx, cfg, err) != 0) {
        ub_ctx_delete(r->ctx);
        free(r);
        return NULL;
    }
    return r;
}

static void unlink_lookup(struct dnskeys_resolver *r, struct lookup *lk)
{
    if (lk->prev)
        lk->prev->next = lk->next;
    else
        r->pending = lk->next;
    if (lk->next)
        lk->next->prev = lk->prev;
    else
        r->newest = lk->prev;
    r->npending--;
    r->nfor[lk->asker.who]--;
    if (lk->started)
        r->nactive--;
}

static void free_lookup(struct lookup *lk)
{
    for (size_t t = 0; t < lk->nq; t++)
        if (lk->q[t].res)
            ub_resolve_free(lk->q[t].res);
    free(lk);
}

void dnskeys_resolver_free(struct dnskeys_resolver *r)
{
    if (r == NULL)
        return;
    while (r->pending) {
        struct lookup *lk = r->pending;
        for (size_t t = 0; t < lk->nq && lk->started; t++)
            if (!lk->q[t].done)
                ub_cancel(r->ctx, lk->q[t].async_id);
        unlink_lookup(r, lk);
        lk->done(lk->ctx, lk->owner, NULL, 0); /* cancelled: the caller's context goes */
        free_lookup(lk);
    }
    ub_ctx_delete(r->ctx);
    free(r);
}

int dnskeys_resolver_fd(struct dnskeys_resolver *r)
{
    return ub_fd(r->ctx);
}

size_t dnskeys_resolver_pending(const struct dnskeys_resolver *r)
{
    return r->npending;
}

int dnskeys_resolver_process(struct dnskeys_resolver *r, struct oe_error *err)
{
    int rc = ub_process(r->ctx);
    if (rc != 0) {
        oe_error_set(err, "resolver: %s", ub_strerror(rc));
        return -1;
    }
    return 0;
}

static void to_rrset(const struct dnskeys_resolver *r, const struct query *q, struct dnskeys_rrset *set)
{
    memset(set, 0, sizeof(*set));
    if (q->timed_out) {
        set->failed = true;
        set->verdict = DNSKEYS_INSECURE;
        set->why = r->timeout_why;
        return;
    }
    if (q->err != 0 || q->res == NULL) {
        set->failed = true;
        set->verdict = DNSKEYS_INSECURE;
        set->why = q->err ? ub_strerror(q->err) : "no result";
        return;
    }
    const struct ub_result *res = q->res;
    if (res->bogus) {
        set->verdict = DNSKEYS_BOGUS;
        set->why = res->why_bogus ? res->why_bogus : "validation failed";
        return;
    }
    set->verdict = res->secure ? DNSKEYS_SECURE : DNSKEYS_INSECURE;
    set->ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
    /* NXDOMAIN and NODATA are answers; anything else is a failure */
    if (res->rcode != 0 && res->rcode != 3) {
        set->failed = true;
        /* libunbound says SERVFAIL too when the resolver did not answer its retries */
        set->why = res->rcode == 2   ? "SERVFAIL (from the resolver, or it did not answer)"
                   : res->rcode == 5 ? "REFUSED"
                                     : "error rcode";
        return;
    }
    if (!res->havedata)
        return;
    size_t n = 0;
    while (res->data[n])
        n++;
    set->rdata = (const uint8_t *const *)res->data;
    set->len = (const size_t *)NULL;
    set->n = n;
}

static void finish(struct lookup *lk)
{
    struct dnskeys_rrset sets[LOOKUP_MAX_QTYPES];
    size_t *lens[LOOKUP_MAX_QTYPES] = {0};
    for (size_t t = 0; t < lk->nq; t++) {
        to_rrset(lk->r, &lk->q[t], &sets[t]);
        /* ub_result's lengths are int; the record parser wants size_t */
        if (sets[t].n) {
            lens[t] = calloc(sets[t].n, sizeof(size_t));
            if (lens[t] == NULL) {
                sets[t].n = 0;
                continue;
            }
            for (size_t i = 0; i < sets[t].n; i++)
                lens[t][i] = (size_t)lk->q[t].res->len[i];
            sets[t].len = lens[t];
        }
    }
    unlink_lookup(lk->r, lk);
    lk->done(lk->ctx, lk->owner, sets, lk->nq);
    for (size_t t = 0; t < lk->nq; t++)
        free(lens[t]);
    free_lookup(lk);
}

static void start(struct lookup *lk);

/* A lookup finished: let the next waiting one go. */
static void start_queued(struct dnskeys_resolver *r)
{
    while (r->queue_head && r->nactive < MAX_ACTIVE) {
        struct lookup *lk = r->queue_head;
        r->queue_head = lk->queue_next;
        if (r->queue_head == NULL)
            r->queue_tail = NULL;
        start(lk);
    }
}

static void on_result(void *data, int err, struct ub_result *res)
{
    struct query *q = data;
    q->done = true;
    q->err = err;
    q->res = res;
    struct dnskeys_resolver *r = q->lk->r;
    if (--q->lk->outstanding == 0) {
        finish(q->lk);
        start_queued(r);
    }
}

static void start(struct lookup *lk)
{
    struct dnskeys_resolver *r = lk->r;
    lk->started = true;
    r->nactive++;
    lk->outstanding = 1; /* held until all are asked, so none can finish early */
    for (size_t t = 0; t < lk->nq; t++) {
        lk->q[t].lk = lk;
        lk->outstanding++;
        int rc = ub_resolve_async(r->ctx, lk->owner, lk->qtypes[t], 1, &lk->q[t], on_result, &lk->q[t].async_id);
        if (rc != 0) {
            lk->q[t].done = true;
            lk->q[t].err = rc;
            lk->outstanding--;
        }
    }
    if (--lk->outstanding == 0)
        finish(lk);
}

static size_t pending_from(const struct dnskeys_resolver *r, const struct dnskeys_asker *asker)
{
    size_t n = 0;
    for (const struct lookup *lk = r->pending; lk; lk = lk->next)
        n += lk->asker.who == asker->who && oe_addr_same_source(&lk->asker.source, &asker->source);
    return n;
}

static const struct dnskeys_asker ours = {DNSKEYS_FOR_US, {0}};

int lookup_start(struct dnskeys_resolver *r, const char *name, const int *qtypes, size_t nq,
                 const struct dnskeys_asker *asker, lookup_done_fn done, void *ctx, struct oe_error *err)
{
    if (asker == NULL)
        asker = &ours;
    bool peer = asker->who == DNSKEYS_FOR_PEER;
    if (r->nfor[asker->who] >= r->max_for[asker->who]) {
        oe_error_setc(err, OE_E_LIMIT, "lookup of %s refused: %zu lookups %s already in flight (%s)", name,
                      r->nfor[asker->who], peer ? "for peers" : "of our own", peer ? "max_peers" : "max_ours");
        return -1;
    }
    if (peer && pending_from(r, asker) >= r->max_per_source) {
        char s[OE_ADDR_STRLEN];
        oe_error_setc(err, OE_E_LIMIT, "lookup of %s refused: %u lookups for %s already in flight (max_per_source)",
                      name, r->max_per_source, oe_addr_str(&asker->source, s));
        return -1;
    }
    if (strlen(name) >= DNSKEYS_NAME_MAX || nq == 0 || nq > LOOKUP_MAX_QTYPES) {
        oe_error_set(err, "lookup: name too long");
        return -1;
    }
    struct lookup *lk = calloc(1, sizeof(*lk));
    if (lk == NULL) {
        oe_error_set(err, "lookup: out of memory");
        return -1;
    }
    lk->r = r;
    lk->asker = *asker;
    snprintf(lk->owner, sizeof(lk->owner), "%s", name);
    lk->done = done;
    lk->ctx = ctx;
    memcpy(lk->qtypes, qtypes, nq * sizeof(*qtypes));
    lk->nq = nq;
    lk->deadline = oe_monotonic_ms() + r->timeout_ms;
    lk->prev = r->newest;
    if (r->newest)
        r->newest->next = lk;
    else
        r->pending = lk;
    r->newest = lk;
    r->npending++;
    r->nfor[asker->who]++;
    if (r->nactive >= MAX_ACTIVE) {
        if (r->queue_tail)
            r->queue_tail->queue_next = lk;
        else
            r->queue_head = lk;
        r->queue_tail = lk;
        return 0;
    }
    start(lk);
    return 0;
}

int dnskeys_resolver_timeout(const struct dnskeys_resolver *r)
{
    if (r->pending == NULL)
        return -1;
    uint64_t now = oe_monotonic_ms();
    return r->pending->deadline <= now ? 0 : (int)(r->pending->deadline - now);
}

/* A queued lookup leaves the queue (it is its head when it is the oldest pending, but do not count on that). */
static void unqueue(struct dnskeys_resolver *r, struct lookup *lk)
{
    struct lookup *prev = NULL;
    for (struct lookup **pp = &r->queue_head; *pp; prev = *pp, pp = &(*pp)->queue_next) {
        if (*pp != lk)
            continue;
        *pp = lk->queue_next;
        if (r->queue_tail == lk)
            r->queue_tail = prev;
        return;
    }
}

void dnskeys_resolver_expire(struct dnskeys_resolver *r)
{
    uint64_t now = oe_monotonic_ms();
    bool ended = false;
    /* the oldest first; a callback may ask anew, and that lookup's deadline is later */
    while (r->pending && r->pending->deadline <= now) {
        struct lookup *lk = r->pending;
        if (!lk->started)
            unqueue(r, lk);
        for (size_t t = 0; t < lk->nq; t++) {
            if (lk->q[t].done)
                continue;
            if (lk->started)
                ub_cancel(r->ctx, lk->q[t].async_id);
            lk->q[t].done = true;
            lk->q[t].timed_out = true;
        }
        finish(lk);
        ended = true;
    }
    if (ended)
        start_queued(r);
}
