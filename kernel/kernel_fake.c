/*
 * An in-memory kernel for unit tests: a policy table with the kernel's
 * replace-by-selector and priority rules, ESP SAs with their lifetimes, a
 * clock the test advances, and events delivered through an eventfd like the
 * real netlink socket.
 */
#include "kernel_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define FAKE_MAX_EVENTS 256
#define FAKE_MAX_QUEUED 128 /* packets waiting on traps and holds, all policies together */
#define FAKE_MAX_LARVAL 64

/* The kernel's larval state after an ACQUIRE: while it lives, that pair gets no other ACQUIRE. */
#define FAKE_MAX_NAT 64

struct fake_larval {
    struct oe_addr src, dst;
    uint32_t seq;
    int64_t until;
};

/* A packet that hit a trap or hold waits on that policy's queue, as in the kernel. */
struct fake_queued {
    struct kernel_policy on; /* the policy whose queue it is on (by selector) */
    struct oe_addr src, dst;
    uint8_t proto;
    uint16_t sport, dport;
};

/* A policy's place in the selector index: install and remove stay O(1) with many peers (benchmarks). */
struct fake_slot {
    struct oe_hnode node;
    size_t i; /* its index in v */
};

struct kernel_fake {
    struct kernel base;
    struct kernel_policy *v;
    struct fake_slot **slot; /* slot[i] indexes v[i] */
    size_t n, cap;
    struct oe_htab by_selector;
    int64_t now;
    int ev_fd;
    struct kernel_event events[FAKE_MAX_EVENTS];
    size_t nevents;
    unsigned long changes;
    int fail_errno;
    struct kernel_sa sas[64];
    int64_t sa_added[64];  /* when each SA came: its lifetimes count from there */
    bool sa_soft_told[64]; /* its soft expire went out */
    size_t nsas;
    struct oe_addr *addrs; /* the fake host's addresses */
    size_t naddrs, capaddrs;
    bool watching;
    struct fake_queued queued[FAKE_MAX_QUEUED];
    size_t nqueued;
    struct kernel_fake_packets packets;
    struct fake_larval larval[FAKE_MAX_LARVAL];
    size_t nlarval;
    uint32_t larval_seconds; /* 0: not modelled (every trapped packet sends ACQUIRE) */
    uint32_t acquire_seq;
    struct kernel_nat nat[FAKE_MAX_NAT]; /* the agent's nftables table, when nat_table */
    size_t nnat;
};

static struct kernel_fake *fk(struct kernel *k)
{
    return (struct kernel_fake *)k;
}

static void queue(struct kernel_fake *k, const struct kernel_event *ev)
{
    if (k->nevents == FAKE_MAX_EVENTS)
        return; /* like a full netlink buffer: the event is lost */
    k->events[k->nevents++] = *ev;
    uint64_t one = 1;
    (void)!write(k->ev_fd, &one, sizeof(one));
}

/* What kernel_same_selector compares, hashed. */
static uint64_t selector_hash(const struct kernel_policy *p)
{
    struct {
        struct oe_prefix src, dst;
        uint16_t sport, dport;
        uint8_t proto, dir;
    } key;
    memset(&key, 0, sizeof(key));
    key.src = p->src;
    key.dst = p->dst;
    key.sport = p->sport;
    key.dport = p->dport;
    key.proto = p->proto;
    key.dir = (uint8_t)p->dir;
    return oe_hash_bytes(0, &key, sizeof(key));
}

static ssize_t find(struct kernel_fake *k, const struct kernel_policy *p)
{
    for (struct oe_hnode *h = oe_htab_first(&k->by_selector, selector_hash(p)); h; h = oe_htab_next(h)) {
        const struct fake_slot *s = (const struct fake_slot *)(void *)((char *)h - offsetof(struct fake_slot, node));
        if (kernel_same_selector(&k->v[s->i], p))
            return (ssize_t)s->i;
    }
    return -1;
}

static const struct kernel_policy *best_out(const struct kernel_fake *k, const struct oe_addr *src,
                                            const struct oe_addr *dst, uint8_t proto, uint16_t sport, uint16_t dport);

static bool waits(const struct kernel_policy *p)
{
    return p != NULL && (p->action == KERNEL_TRAP || p->action == KERNEL_HOLD);
}

static const struct kernel_policy *now_for(const struct kernel_fake *k, const struct fake_queued *q)
{
    return best_out(k, &q->src, &q->dst, q->proto, q->sport, q->dport);
}

/* The packets on policy p's queue leave it: sent, or dropped (whether they could go or not). */
static void take_queue(struct kernel_fake *k, const struct kernel_policy *p, bool all_dropped)
{
    size_t kept = 0;
    for (size_t i = 0; i < k->nqueued; i++) {
        struct fake_queued *q = &k->queued[i];
        if (!kernel_same_selector(&q->on, p)) {
            k->queued[kept++] = *q;
            continue;
        }
        const struct kernel_policy *to = all_dropped ? NULL : now_for(k, q);
        if (to == NULL ? !all_dropped : to->action == KERNEL_PASS || to->action == KERNEL_TUNNEL)
            k->packets.sent++;
        else
            k->packets.dropped++;
    }
    k->nqueued = kept;
}

/*
 * As xfrm_policy_queue_process: the queue's first packet decides. While it
 * still waits, all wait; once it can go, every packet is looked up again and
 * those that cannot go yet are dropped; a drop for the first purges them all.
 */
static void process_queue(struct kernel_fake *k, const struct kernel_policy *p)
{
    for (size_t i = 0; i < k->nqueued; i++) {
        if (!kernel_same_selector(&k->queued[i].on, p))
            continue;
        const struct kernel_policy *to = now_for(k, &k->queued[i]);
        if (waits(to))
            return;
        take_queue(k, p, to != NULL && to->action == KERNEL_DROP);
        return;
    }
}

/* v[i] leaves: the last one takes its place. */
static void drop_policy(struct kernel_fake *k, size_t i)
{
    take_queue(k, &k->v[i], true); /* a policy's queue goes with it */
    oe_htab_del(&k->by_selector, &k->slot[i]->node);
    free(k->slot[i]);
    k->n--;
    if (i != k->n) {
        k->v[i] = k->v[k->n];
        k->slot[i] = k->slot[k->n];
        k->slot[i]->i = i;
    }
}

static int fake_install(struct kernel *kb, const struct kernel_policy *p, struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    if (k->fail_errno) {
        oe_error_set(err, "install policy: %s", strerror(k->fail_errno));
        return -1;
    }
    struct kernel_policy q = *p;
    q.priority = kernel_priority(p);
    q.expires_at = p->lifetime ? k->now + p->lifetime : 0;
    ssize_t i = find(k, p);
    if (i < 0) {
        if (k->n == k->cap) {
            size_t cap = k->cap ? k->cap * 2 : 16;
            struct kernel_policy *v = realloc(k->v, cap * sizeof(*v));
            struct fake_slot **sl = v ? realloc(k->slot, cap * sizeof(*sl)) : NULL;
            if (v)
                k->v = v;
            if (sl == NULL) {
                oe_error_set(err, "install policy: out of memory");
                return -1;
            }
            k->slot = sl;
            k->cap = cap;
        }
        struct fake_slot *s = calloc(1, sizeof(*s));
        if (s == NULL) {
            oe_error_set(err, "install policy: out of memory");
            return -1;
        }
        i = (ssize_t)k->n++;
        s->i = (size_t)i;
        k->slot[i] = s;
        oe_htab_add(&k->by_selector, &s->node, selector_hash(p));
    }
    k->v[i] = q;
    k->changes++;
    /* the kernel's xfrm_policy_requeue: a replacing policy takes the queue and processes it at once */
    process_queue(k, &q);
    return 0;
}

static int fake_remove(struct kernel *kb, const struct kernel_policy *p, struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    ssize_t i = find(k, p);
    if (i < 0 || k->fail_errno) {
        oe_error_set(err, "remove policy: %s", strerror(k->fail_errno ? k->fail_errno : ENOENT));
        return -1;
    }
    drop_policy(k, (size_t)i);
    k->changes++;
    return 0;
}

static int fake_list(struct kernel *kb, struct kernel_policy **out, size_t *n, struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    *out = malloc((k->n + 1) * sizeof(**out));
    if (*out == NULL) {
        oe_error_set(err, "list policies: out of memory");
        return -1;
    }
    if (k->n)
        memcpy(*out, k->v, k->n * sizeof(**out));
    *n = k->n;
    return 0;
}

static void remove_sa(struct kernel_fake *k, size_t i);

static int fake_sa_flush_reqids(struct kernel *kb, uint32_t first, uint32_t count, size_t *removed,
                                struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    (void)err;
    *removed = 0;
    for (size_t i = 0; i < k->nsas;) {
        if (k->sas[i].reqid - first < count) {
            remove_sa(k, i);
            (*removed)++;
        } else {
            i++;
        }
    }
    return 0;
}

static int fake_set_acq_expires(struct kernel *kb, int seconds, struct oe_error *err)
{
    (void)err;
    fk(kb)->larval_seconds = fk(kb)->larval_seconds ? (uint32_t)seconds : 0; /* when modelled */
    return 0;
}

static int fake_set_larval_drop(struct kernel *kb, int value, struct oe_error *err)
{
    (void)kb;
    (void)value;
    (void)err;
    return 0;
}

static int fake_sa_add(struct kernel *kb, const struct kernel_sa *sa, struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    if (k->fail_errno || k->nsas == sizeof(k->sas) / sizeof(k->sas[0])) {
        oe_error_set(err, "add ESP SA: %s", strerror(k->fail_errno ? k->fail_errno : ENOBUFS));
        return -1;
    }
    for (size_t i = 0; sa->acquire_seq && i < k->nlarval; i++)
        if (k->larval[i].seq == sa->acquire_seq && oe_addr_eq(&k->larval[i].dst, &sa->dst))
            k->larval[i] = k->larval[--k->nlarval]; /* as xfrm_state_add with the ACQUIRE's seq */
    k->sa_added[k->nsas] = k->now;
    k->sa_soft_told[k->nsas] = false;
    k->sas[k->nsas++] = *sa;
    k->changes++;
    return 0;
}

static void remove_sa(struct kernel_fake *k, size_t i)
{
    k->nsas--;
    k->sas[i] = k->sas[k->nsas];
    k->sa_added[i] = k->sa_added[k->nsas];
    k->sa_soft_told[i] = k->sa_soft_told[k->nsas];
    k->changes++;
}

static ssize_t find_sa(struct kernel_fake *k, uint32_t spi, const struct oe_addr *dst)
{
    for (size_t i = 0; i < k->nsas; i++)
        if (k->sas[i].spi == spi && oe_addr_eq(&k->sas[i].dst, dst))
            return (ssize_t)i;
    return -1;
}

static int fake_sa_del(struct kernel *kb, uint32_t spi, const struct oe_addr *dst, struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    ssize_t i = find_sa(k, spi, dst);
    if (i < 0) {
        oe_error_set(err, "delete ESP SA: %s", strerror(ESRCH));
        return -1;
    }
    remove_sa(k, (size_t)i);
    return 0;
}

static int fake_sa_move(struct kernel *kb, const struct kernel_sa_move *m, struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    ssize_t i = find_sa(k, m->spi, &m->old_dst);
    if (k->fail_errno || i < 0) {
        oe_error_set(err, "move ESP SA 0x%08x: %s", m->spi, strerror(k->fail_errno ? k->fail_errno : ESRCH));
        return -1;
    }
    ssize_t clash = find_sa(k, m->spi, &m->dst);
    if (clash >= 0 && clash != i) {
        oe_error_set(err, "move ESP SA 0x%08x: %s", m->spi, strerror(EEXIST));
        return -1;
    }
    /* as the kernel: keys, counters and the time it was added stay (sa_added) */
    struct kernel_sa *sa = &k->sas[i];
    sa->src = m->src;
    sa->dst = m->dst;
    sa->encap_sport = m->encap_sport;
    sa->encap_dport = m->encap_dport;
    k->changes++;
    return 0;
}

bool kernel_fake_sa(const struct kernel *kb, uint32_t spi, const struct oe_addr *dst, struct kernel_sa *out)
{
    ssize_t i = find_sa((struct kernel_fake *)kb, spi, dst);
    if (i < 0)
        return false;
    *out = ((const struct kernel_fake *)kb)->sas[i];
    return true;
}

/* As esp_input_done2: an authenticated packet from elsewhere than the SA's source and encap port is told. */
int kernel_fake_esp_from(struct kernel *kb, uint32_t spi, const struct oe_addr *dst, const struct oe_addr *src,
                         uint16_t sport)
{
    struct kernel_fake *k = fk(kb);
    ssize_t i = find_sa(k, spi, dst);
    if (i < 0 || k->sas[i].encap_sport == 0)
        return -1; /* no such SA, or not ESP in UDP: the kernel drops it, tells nothing */
    if (oe_addr_eq(&k->sas[i].src, src) && k->sas[i].encap_sport == sport)
        return 0;
    struct kernel_event ev = {.type = KERNEL_EV_SA_MAPPING, .spi = spi, .dst = *dst, .src = *src, .sport = sport};
    queue(k, &ev);
    return 1;
}

static int fake_sa_stats(struct kernel *kb, uint32_t spi, const struct oe_addr *dst, struct kernel_sa_stats *st,
                         struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    if (find_sa(k, spi, dst) < 0) {
        oe_error_set(err, "SA stats: %s", strerror(ESRCH));
        return -1;
    }
    memset(st, 0, sizeof(*st));
    st->add_time = k->now;
    return 0;
}

static int fake_addresses(struct kernel *kb, struct oe_addr **out, size_t *n, struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    *out = malloc((k->naddrs + 1) * sizeof(**out));
    if (*out == NULL) {
        oe_error_set(err, "listing the host's addresses: out of memory");
        return -1;
    }
    if (k->naddrs)
        memcpy(*out, k->addrs, k->naddrs * sizeof(**out));
    *n = k->naddrs;
    return 0;
}

static int fake_watch_addresses(struct kernel *kb, struct oe_error *err)
{
    (void)err;
    fk(kb)->watching = true;
    return 0;
}

int kernel_fake_address(struct kernel *kb, const struct oe_addr *a, bool present)
{
    struct kernel_fake *k = fk(kb);
    size_t i = 0;
    while (i < k->naddrs && !oe_addr_eq(&k->addrs[i], a))
        i++;
    if (present == (i < k->naddrs))
        return 0;
    if (present) {
        if (k->naddrs == k->capaddrs) {
            size_t cap = k->capaddrs ? k->capaddrs * 2 : 8;
            struct oe_addr *v = realloc(k->addrs, cap * sizeof(*v));
            if (v == NULL)
                return -1;
            k->addrs = v;
            k->capaddrs = cap;
        }
        k->addrs[k->naddrs++] = *a;
    } else {
        k->addrs[i] = k->addrs[--k->naddrs];
    }
    if (k->watching) {
        struct kernel_event ev = {.type = present ? KERNEL_EV_ADDR_NEW : KERNEL_EV_ADDR_DEL, .src = *a, .ifindex = 2};
        queue(k, &ev);
    }
    return 0;
}

static int fake_fd(struct kernel *kb)
{
    return fk(kb)->ev_fd;
}

static int fake_process(struct kernel *kb, kernel_event_fn fn, void *arg, struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    uint64_t cnt;
    (void)err;
    (void)!read(k->ev_fd, &cnt, sizeof(cnt));
    /* The callback may act on the kernel and queue more: take a snapshot. */
    struct kernel_event evs[FAKE_MAX_EVENTS];
    size_t n = k->nevents;
    memcpy(evs, k->events, n * sizeof(evs[0]));
    k->nevents = 0;
    for (size_t i = 0; i < n; i++)
        fn(&evs[i], arg);
    return (int)n;
}

static void fake_close(struct kernel *kb)
{
    struct kernel_fake *k = fk(kb);
    close(k->ev_fd);
    while (k->n > 0)
        drop_policy(k, k->n - 1);
    oe_htab_free(&k->by_selector);
    free(k->slot);
    free(k->v);
    free(k->addrs);
    free(k);
}

static size_t fake_nat_find(const struct kernel_fake *k, const struct kernel_nat *n)
{
    size_t i = 0;
    while (i < k->nnat && !(oe_addr_eq(&k->nat[i].local, &n->local) && oe_addr_eq(&k->nat[i].peer, &n->peer)))
        i++;
    return i;
}

/* As nftables: the table comes with the first translation, a key's new value replaces its old one. */
static int fake_nat_add(struct kernel *kb, const struct kernel_nat *n, struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    if (k->fail_errno) {
        oe_error_set(err, "nftables (adding a translation): %s", strerror(k->fail_errno));
        return -1;
    }
    kb->nat_table = true;
    size_t i = fake_nat_find(k, n);
    if (i == k->nnat) {
        if (k->nnat == FAKE_MAX_NAT) {
            oe_error_set(err, "nftables (adding a translation): the fake's table is full");
            return -1;
        }
        k->nnat++;
    }
    k->nat[i] = *n;
    k->changes++;
    return 0;
}

static int fake_nat_del(struct kernel *kb, const struct kernel_nat *n, struct oe_error *err)
{
    struct kernel_fake *k = fk(kb);
    size_t i = fake_nat_find(k, n);
    if (i == k->nnat) {
        oe_error_set(err, "nftables (removing a translation): no such element");
        return -1;
    }
    k->nat[i] = k->nat[--k->nnat];
    k->changes++;
    return 0;
}

static int fake_nat_flush(struct kernel *kb, struct oe_error *err)
{
    (void)err;
    kb->nat_table = false;
    fk(kb)->nnat = 0;
    return 0;
}

size_t kernel_fake_nat(const struct kernel *kb, struct kernel_nat *out, size_t max)
{
    const struct kernel_fake *k = (const struct kernel_fake *)kb;
    for (size_t i = 0; i < k->nnat && i < max; i++)
        out[i] = k->nat[i];
    return k->nnat;
}

static const struct kernel_ops fake_ops = {
    .install = fake_install,
    .remove = fake_remove,
    .list = fake_list,
    .set_larval_drop = fake_set_larval_drop,
    .set_acq_expires = fake_set_acq_expires,
    .sa_flush_reqids = fake_sa_flush_reqids,
    .sa_add = fake_sa_add,
    .sa_del = fake_sa_del,
    .sa_move = fake_sa_move,
    .sa_stats = fake_sa_stats,
    .addresses = fake_addresses,
    .watch_addresses = fake_watch_addresses,
    .fd = fake_fd,
    .process = fake_process,
    .close = fake_close,
    .clock = kernel_fake_now,
    .nat_add = fake_nat_add,
    .nat_del = fake_nat_del,
    .nat_flush = fake_nat_flush,
};

struct kernel *kernel_fake_new(void)
{
    struct kernel_fake *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return NULL;
    k->base.ops = &fake_ops;
    k->now = 1000000;
    k->ev_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (k->ev_fd < 0) {
        free(k);
        return NULL;
    }
    return &k->base;
}

static bool port_ok(uint16_t want, uint16_t have)
{
    return want == 0 || want == have;
}

static const struct kernel_policy *best_out(const struct kernel_fake *k, const struct oe_addr *src,
                                            const struct oe_addr *dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
    const struct kernel_policy *best = NULL;
    for (size_t i = 0; i < k->n; i++) {
        const struct kernel_policy *p = &k->v[i];
        if (p->dir != KERNEL_DIR_OUT || !oe_prefix_contains(&p->dst, dst) || !oe_prefix_contains(&p->src, src) ||
            (p->proto && p->proto != proto) || !port_ok(p->sport, sport) || !port_ok(p->dport, dport))
            continue;
        if (best == NULL || p->priority < best->priority)
            best = p;
    }
    return best;
}

/* A live larval state for the pair keeps its ACQUIRE back; otherwise one is made (when modelled). */
static bool larval_blocks(struct kernel_fake *k, const struct oe_addr *src, const struct oe_addr *dst)
{
    if (k->larval_seconds == 0)
        return false;
    for (size_t i = 0; i < k->nlarval;) {
        struct fake_larval *l = &k->larval[i];
        if (l->until <= k->now) {
            *l = k->larval[--k->nlarval];
            continue;
        }
        if (oe_addr_eq(&l->src, src) && oe_addr_eq(&l->dst, dst))
            return true;
        i++;
    }
    if (k->nlarval < FAKE_MAX_LARVAL)
        k->larval[k->nlarval++] = (struct fake_larval){
            .src = *src, .dst = *dst, .seq = k->acquire_seq + 1, .until = k->now + k->larval_seconds};
    return false;
}

/*
 * An outbound packet: the action of the strongest matching policy, as the
 * kernel would decide; a trap sends ACQUIRE, and a trap or hold keeps the
 * packet on its queue (kernel_fake_packets). -1: no policy (clear).
 */
int kernel_fake_packet(struct kernel *kb, const struct oe_addr *src, const struct oe_addr *dst, uint8_t proto,
                       uint16_t sport, uint16_t dport)
{
    struct kernel_fake *k = fk(kb);
    const struct kernel_policy *best = best_out(k, src, dst, proto, sport, dport);
    if (best == NULL)
        return -1;
    if (waits(best)) {
        if (k->nqueued == FAKE_MAX_QUEUED) {
            k->packets.dropped++; /* the kernel's XFRM_MAX_QUEUE_LEN, for all queues at once */
        } else {
            k->queued[k->nqueued++] = (struct fake_queued){
                .on = *best, .src = *src, .dst = *dst, .proto = proto, .sport = sport, .dport = dport};
        }
    } else {
        k->packets.sent += best->action != KERNEL_DROP;
        k->packets.dropped += best->action == KERNEL_DROP;
    }
    if (best->action == KERNEL_TRAP && larval_blocks(k, src, dst))
        return (int)best->action;
    if (best->action == KERNEL_TRAP) {
        struct kernel_event ev = {.type = KERNEL_EV_ACQUIRE,
                                  .acquire_seq = ++k->acquire_seq,
                                  .src = *src,
                                  .dst = *dst,
                                  .proto = proto,
                                  .sport = sport,
                                  .dport = dport,
                                  .policy = *best};
        queue(k, &ev);
    }
    return (int)best->action;
}

/* As XFRM_MSG_EXPIRE: the SA by SPI and destination (its id), soft once, then hard, which drops it. */
static void expire_sas(struct kernel_fake *k)
{
    for (size_t i = 0; i < k->nsas;) {
        const struct kernel_sa *sa = &k->sas[i];
        int64_t age = k->now - k->sa_added[i];
        bool hard = sa->hard_seconds && age >= sa->hard_seconds;
        bool soft = sa->soft_seconds && age >= sa->soft_seconds && !k->sa_soft_told[i];
        if (hard || soft) {
            struct kernel_event ev = {
                .type = KERNEL_EV_SA_EXPIRED, .spi = sa->spi, .src = sa->src, .dst = sa->dst, .hard = hard};
            queue(k, &ev);
        }
        if (hard) {
            remove_sa(k, i);
            continue;
        }
        k->sa_soft_told[i] = k->sa_soft_told[i] || soft;
        i++;
    }
}

void kernel_fake_advance(struct kernel *kb, uint32_t seconds)
{
    struct kernel_fake *k = fk(kb);
    k->now += seconds;
    expire_sas(k);
    for (size_t i = 0; i < k->n;) {
        if (k->v[i].expires_at == 0 || k->v[i].expires_at > k->now) {
            i++;
            continue;
        }
        struct kernel_event ev = {.type = KERNEL_EV_POLICY_EXPIRED, .policy = k->v[i]};
        drop_policy(k, i);
        queue(k, &ev);
    }
}

int64_t kernel_fake_now(const struct kernel *kb)
{
    return ((const struct kernel_fake *)kb)->now;
}

unsigned long kernel_fake_changes(const struct kernel *kb)
{
    return ((const struct kernel_fake *)kb)->changes;
}

int kernel_fake_set_failure(struct kernel *kb, int err_no)
{
    fk(kb)->fail_errno = err_no;
    return 0;
}

/* The queue's timer turns, as the kernel's does after 0.1 s, 0.3 s, ...: every queue is processed. */
void kernel_fake_queue_timer(struct kernel *kb)
{
    struct kernel_fake *k = fk(kb);
    for (size_t i = 0; i < k->n; i++)
        process_queue(k, &k->v[i]);
}

struct kernel_fake_packets kernel_fake_packets(const struct kernel *kb)
{
    const struct kernel_fake *k = (const struct kernel_fake *)kb;
    struct kernel_fake_packets r = k->packets;
    r.queued = (unsigned)k->nqueued;
    return r;
}

void kernel_fake_set_larval(struct kernel *kb, uint32_t seconds)
{
    fk(kb)->larval_seconds = seconds;
}
