/* The interface's shared half: dispatch, priorities, names. */
#include "kernel_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

/*
 * Priority layout inside the band (lower wins): the exempt policies, then
 * by the remote prefix length (longest first), then protocol given, then
 * ports given, then per-peer before group policies of the same selector.
 * A per-peer policy with a rank is placed by its line's selector, not its
 * own: that is the same order policy_lookup() uses, so the kernel picks
 * the per-peer policy only for traffic its own line governs.
 */
#define PRIO_EXEMPT_SLOTS 16u

static uint32_t prio_value(unsigned len, bool proto, unsigned nports, enum kernel_origin origin)
{
    return ((128u - len) << 4) | (proto ? 0u : 8u) | ((2u - nports) << 1) | (origin == KERNEL_ORIGIN_GROUP ? 1u : 0u);
}

uint32_t kernel_priority(const struct kernel_policy *p)
{
    if (p->origin == KERNEL_ORIGIN_EXEMPT)
        return KERNEL_PRIO_BASE;
    const struct oe_prefix *remote = p->dir == KERNEL_DIR_OUT ? &p->dst : &p->src;
    unsigned v4 = remote->addr.family == AF_INET6 ? 0u : 96u;
    uint32_t v;
    if (p->origin == KERNEL_ORIGIN_PEER && p->rank.set)
        v = prio_value(p->rank.prefix_len + v4, p->rank.proto, p->rank.nports, p->origin);
    else
        v = prio_value(remote->len + v4, p->proto != 0, (p->sport != 0) + (p->dport != 0), p->origin);
    return KERNEL_PRIO_BASE + PRIO_EXEMPT_SLOTS + v;
}

bool kernel_priority_ours(uint32_t priority)
{
    return priority >= KERNEL_PRIO_BASE && priority < KERNEL_PRIO_BASE + KERNEL_PRIO_BAND;
}

enum kernel_origin kernel_priority_origin(uint32_t priority)
{
    if (priority < KERNEL_PRIO_BASE + PRIO_EXEMPT_SLOTS)
        return KERNEL_ORIGIN_EXEMPT;
    return ((priority - KERNEL_PRIO_BASE - PRIO_EXEMPT_SLOTS) & 1u) ? KERNEL_ORIGIN_GROUP : KERNEL_ORIGIN_PEER;
}

const char *kernel_action_name(enum kernel_action a)
{
    switch (a) {
    case KERNEL_PASS: return "pass";
    case KERNEL_DROP: return "drop";
    case KERNEL_TRAP: return "trap";
    case KERNEL_HOLD: return "hold";
    case KERNEL_TUNNEL: return "tunnel";
    }
    return "?";
}

const char *kernel_dir_name(enum kernel_dir d)
{
    return d == KERNEL_DIR_OUT ? "out" : d == KERNEL_DIR_IN ? "in" : "fwd";
}

const char *kernel_selector_str(const struct kernel_policy *p, char *buf, size_t len)
{
    char s[OE_ADDR_STRLEN], d[OE_ADDR_STRLEN], pr[8];
    int n = snprintf(buf, len, "%s -> %s", oe_prefix_str(&p->src, s), oe_prefix_str(&p->dst, d));
    if (p->proto != 0 && n >= 0 && (size_t)n < len)
        n += snprintf(buf + n, len - (size_t)n, " %s", oe_proto_name(p->proto, pr));
    if ((p->sport || p->dport) && n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " %u %u", p->sport, p->dport);
    return buf;
}

bool kernel_same_selector(const struct kernel_policy *a, const struct kernel_policy *b)
{
    return a->dir == b->dir && oe_prefix_cmp(&a->src, &b->src) == 0 && oe_prefix_cmp(&a->dst, &b->dst) == 0 &&
           a->proto == b->proto && a->sport == b->sport && a->dport == b->dport;
}

int kernel_install(struct kernel *k, const struct kernel_policy *p, struct oe_error *err)
{
    return k->ops->install(k, p, err);
}

int kernel_remove(struct kernel *k, const struct kernel_policy *p, struct oe_error *err)
{
    return k->ops->remove(k, p, err);
}

int64_t kernel_clock(const struct kernel *k)
{
    return k->ops->clock(k);
}

int kernel_list(struct kernel *k, struct kernel_policy **out, size_t *n, struct oe_error *err)
{
    return k->ops->list(k, out, n, err);
}

int kernel_sa_flush_reqids(struct kernel *k, uint32_t first, uint32_t count, size_t *removed, struct oe_error *err)
{
    return k->ops->sa_flush_reqids(k, first, count, removed, err);
}

int kernel_set_acq_expires(struct kernel *k, int seconds, struct oe_error *err)
{
    return k->ops->set_acq_expires(k, seconds, err);
}

int kernel_set_larval_drop(struct kernel *k, int value, struct oe_error *err)
{
    return k->ops->set_larval_drop(k, value, err);
}

int kernel_sa_add(struct kernel *k, const struct kernel_sa *sa, struct oe_error *err)
{
    return k->ops->sa_add(k, sa, err);
}

int kernel_sa_del(struct kernel *k, uint32_t spi, const struct oe_addr *dst, struct oe_error *err)
{
    return k->ops->sa_del(k, spi, dst, err);
}

int kernel_sa_move(struct kernel *k, const struct kernel_sa_move *m, struct oe_error *err)
{
    return k->ops->sa_move(k, m, err);
}

int kernel_sa_stats(struct kernel *k, uint32_t spi, const struct oe_addr *dst, struct kernel_sa_stats *st,
                    struct oe_error *err)
{
    return k->ops->sa_stats(k, spi, dst, st, err);
}

int kernel_addresses(struct kernel *k, struct oe_addr **out, size_t *n, struct oe_error *err)
{
    return k->ops->addresses(k, out, n, err);
}

int kernel_watch_addresses(struct kernel *k, struct oe_error *err)
{
    return k->ops->watch_addresses(k, err);
}

int kernel_fd(struct kernel *k)
{
    return k->ops->fd(k);
}

int kernel_process(struct kernel *k, kernel_event_fn fn, void *arg, struct oe_error *err)
{
    return k->ops->process(k, fn, arg, err);
}

void kernel_close(struct kernel *k)
{
    if (k != NULL) {
        free(k->nat);
        k->ops->close(k);
    }
}

static struct kernel_nat *nat_find(struct kernel *k, const struct kernel_nat *n)
{
    for (size_t i = 0; i < k->nnat; i++)
        if (oe_addr_eq(&k->nat[i].local, &n->local) && oe_addr_eq(&k->nat[i].peer, &n->peer))
            return &k->nat[i];
    return NULL;
}

/*
 * One translation per (local, peer): a second tunnel to the same peer (a
 * new IKE SA before the old one's Delete) brings its lease, which replaces
 * the first one's; the first one's removal then leaves the second's alone.
 */
int kernel_nat_add(struct kernel *k, const struct kernel_nat *n, struct oe_error *err)
{
    struct kernel_nat *had = nat_find(k, n);
    if (had && oe_addr_eq(&had->lease, &n->lease))
        return 0;
    if (had == NULL && k->nnat == k->capnat) {
        size_t cap = k->capnat ? k->capnat * 2 : 4;
        struct kernel_nat *v = realloc(k->nat, cap * sizeof(*v));
        if (v == NULL) {
            oe_error_set(err, "nftables (adding a translation): out of memory");
            return -1;
        }
        k->nat = v;
        k->capnat = cap;
    }
    if (had && k->ops->nat_del(k, had, err) != 0)
        return -1;
    if (k->ops->nat_add(k, n, err) != 0) {
        if (had)
            *had = k->nat[--k->nnat];
        return -1;
    }
    if (had)
        *had = *n;
    else
        k->nat[k->nnat++] = *n;
    return 0;
}

int kernel_nat_del(struct kernel *k, const struct kernel_nat *n, struct oe_error *err)
{
    struct kernel_nat *had = nat_find(k, n);
    if (had == NULL || !oe_addr_eq(&had->lease, &n->lease))
        return 0; /* gone, or a newer translation for the pair took its place: that one stays */
    struct kernel_nat gone = *had;
    *had = k->nat[--k->nnat];
    return k->ops->nat_del(k, &gone, err);
}

int kernel_nat_flush(struct kernel *k, struct oe_error *err)
{
    k->nnat = 0;
    return k->ops->nat_flush(k, err);
}

uint32_t kernel_sa_moved_oseq(uint32_t oseq)
{
    return oseq > UINT32_MAX - KERNEL_SA_MOVE_SEQ_GAP ? UINT32_MAX : oseq + KERNEL_SA_MOVE_SEQ_GAP;
}
