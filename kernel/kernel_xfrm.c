/*
 * Linux XFRM over raw netlink: one socket for requests (each acknowledged),
 * one subscribed to the ACQUIRE, EXPIRE and MAPPING groups for events.
 */
#include "kernel_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NL_BUF 65536
/* the MAPPING group has no legacy XFRMGRP_ bit in the header: group n is bit n - 1 */
#define XFRMGRP_MAPPING_BIT (1u << (XFRMNLGRP_MAPPING - 1))

struct kernel_xfrm {
    struct kernel base;
    int req_fd;
    int ev_fd;
    int addr_fd; /* rtnetlink address changes, once watched; -1 before */
    int ep_fd;   /* both event sockets: the one fd the caller polls */
    uint32_t seq;
};

static struct kernel_xfrm *xk(struct kernel *k)
{
    return (struct kernel_xfrm *)k;
}

static void to_xaddr(const struct oe_addr *a, xfrm_address_t *x)
{
    memset(x, 0, sizeof(*x));
    memcpy(x, a->bytes, a->family == AF_INET6 ? 16 : 4);
}

static void from_xaddr(int family, const xfrm_address_t *x, struct oe_addr *a)
{
    memset(a, 0, sizeof(*a));
    a->family = (uint8_t)family;
    memcpy(a->bytes, x, family == AF_INET6 ? 16 : 4);
}

static void to_selector(const struct kernel_policy *p, struct xfrm_selector *sel)
{
    memset(sel, 0, sizeof(*sel));
    to_xaddr(&p->dst.addr, &sel->daddr);
    to_xaddr(&p->src.addr, &sel->saddr);
    sel->family = p->dst.addr.family;
    sel->prefixlen_d = p->dst.len;
    sel->prefixlen_s = p->src.len;
    sel->proto = p->proto;
    if (p->sport) {
        sel->sport = htons(p->sport);
        sel->sport_mask = 0xffff;
    }
    if (p->dport) {
        sel->dport = htons(p->dport);
        sel->dport_mask = 0xffff;
    }
}

static void from_selector(const struct xfrm_selector *sel, struct kernel_policy *p)
{
    from_xaddr(sel->family, &sel->daddr, &p->dst.addr);
    from_xaddr(sel->family, &sel->saddr, &p->src.addr);
    p->dst.len = sel->prefixlen_d;
    p->src.len = sel->prefixlen_s;
    p->proto = sel->proto;
    p->sport = sel->sport_mask ? ntohs(sel->sport) : 0;
    p->dport = sel->dport_mask ? ntohs(sel->dport) : 0;
}

static uint8_t xfrm_dir(enum kernel_dir d)
{
    return d == KERNEL_DIR_OUT ? XFRM_POLICY_OUT : d == KERNEL_DIR_IN ? XFRM_POLICY_IN : XFRM_POLICY_FWD;
}

/* Send one request to the kernel under a fresh sequence number; never one that did not fit. */
static int nl_send(struct kernel_xfrm *k, struct nl_req *req, uint16_t flags, struct oe_error *err, const char *what)
{
    if (nl_req_check(req, what, err) != 0)
        return -1;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    struct nlmsghdr *n = req->h;
    n->nlmsg_seq = ++k->seq;
    n->nlmsg_flags |= flags;
    if (sendto(k->req_fd, n, n->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        oe_error_set(err, "%s: netlink send: %s", what, strerror(errno));
        return -1;
    }
    return 0;
}

/* Send one request and wait for its acknowledgement. */
static int transact(struct kernel_xfrm *k, struct nl_req *req, struct oe_error *err, const char *what)
{
    if (nl_send(k, req, NLM_F_ACK, err, what) != 0)
        return -1;
    char buf[8192];
    for (;;) {
        ssize_t r = recv(k->req_fd, buf, sizeof(buf), 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            oe_error_set(err, "%s: netlink receive: %s", what, strerror(errno));
            return -1;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)r); h = NLMSG_NEXT(h, r)) {
            if (h->nlmsg_seq != k->seq || h->nlmsg_type != NLMSG_ERROR)
                continue;
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
                oe_error_set(err, "%s: truncated netlink error message", what);
                return -1;
            }
            const struct nlmsgerr *e = NLMSG_DATA(h);
            if (e->error != 0) {
                oe_error_set(err, "%s: %s", what, strerror(-e->error));
                errno = -e->error;
                return -1;
            }
            return 0;
        }
    }
}

static bool needs_tmpl(enum kernel_action a)
{
    return a == KERNEL_TRAP || a == KERNEL_HOLD || a == KERNEL_TUNNEL;
}

/*
 * TRAP/HOLD: a template no SA satisfies yet, so the kernel sends ACQUIRE;
 * TUNNEL: the outer addresses and reqid of the SA that satisfies it.
 */
static void policy_tmpl(const struct kernel_policy *p, struct xfrm_user_tmpl *t)
{
    memset(t, 0, sizeof(*t));
    t->id.proto = IPPROTO_ESP;
    t->family = p->dst.addr.family;
    t->mode = XFRM_MODE_TRANSPORT;
    t->aalgos = t->ealgos = t->calgos = ~0u;
    if (p->action == KERNEL_TUNNEL) {
        t->mode = XFRM_MODE_TUNNEL;
        t->family = p->tmpl_dst.family;
        to_xaddr(&p->tmpl_src, &t->saddr);
        to_xaddr(&p->tmpl_dst, &t->id.daddr);
        t->reqid = p->reqid;
    }
}

static void policy_info(const struct kernel_policy *p, struct xfrm_userpolicy_info *info)
{
    memset(info, 0, sizeof(*info));
    to_selector(p, &info->sel);
    info->dir = xfrm_dir(p->dir);
    info->priority = kernel_priority(p);
    info->action = p->action == KERNEL_DROP ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW;
    info->lft.soft_byte_limit = XFRM_INF;
    info->lft.hard_byte_limit = XFRM_INF;
    info->lft.soft_packet_limit = XFRM_INF;
    info->lft.hard_packet_limit = XFRM_INF;
    info->lft.hard_add_expires_seconds = p->lifetime;
}

static int xfrm_install(struct kernel *kb, const struct kernel_policy *p, struct oe_error *err)
{
    union nl_buf buf;
    struct nl_req req;
    struct xfrm_userpolicy_info info;
    policy_info(p, &info);
    nl_req_init(&req, &buf, sizeof(buf), XFRM_MSG_UPDPOLICY, 0);
    nl_put(&req, &info, sizeof(info));
    if (needs_tmpl(p->action)) {
        struct xfrm_user_tmpl t;
        policy_tmpl(p, &t);
        nl_attr(&req, XFRMA_TMPL, &t, sizeof(t));
    }
    char what[160];
    snprintf(what, sizeof(what), "install %s policy ", kernel_action_name(p->action));
    kernel_selector_str(p, what + strlen(what), sizeof(what) - strlen(what));
    return transact(xk(kb), &req, err, what);
}

static int xfrm_remove(struct kernel *kb, const struct kernel_policy *p, struct oe_error *err)
{
    union nl_buf buf;
    struct nl_req req;
    struct xfrm_userpolicy_id id;
    memset(&id, 0, sizeof(id));
    to_selector(p, &id.sel);
    id.dir = xfrm_dir(p->dir);
    nl_req_init(&req, &buf, sizeof(buf), XFRM_MSG_DELPOLICY, 0);
    nl_put(&req, &id, sizeof(id));
    char what[160];
    snprintf(what, sizeof(what), "remove policy %s ", kernel_dir_name(p->dir));
    kernel_selector_str(p, what + strlen(what), sizeof(what) - strlen(what));
    return transact(xk(kb), &req, err, what);
}

/* The policy's first template, or NULL. */
static const struct xfrm_user_tmpl *find_tmpl(const struct nlmsghdr *h, size_t fixed)
{
    int len = (int)h->nlmsg_len - (int)NLMSG_SPACE(fixed);
    for (const struct rtattr *a = (const struct rtattr *)((const char *)NLMSG_DATA(h) + NLMSG_ALIGN(fixed));
         RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == XFRMA_TMPL && RTA_PAYLOAD(a) >= sizeof(struct xfrm_user_tmpl))
            return RTA_DATA(a);
    }
    return NULL;
}

/* A policy from the kernel, or false when it is not one of ours. */
static bool decode_policy(const struct xfrm_userpolicy_info *info, const struct xfrm_user_tmpl *tmpl,
                          struct kernel_policy *p)
{
    memset(p, 0, sizeof(*p));
    if (!kernel_priority_ours(info->priority) ||
        (info->dir != XFRM_POLICY_OUT && info->dir != XFRM_POLICY_IN && info->dir != XFRM_POLICY_FWD) ||
        (info->sel.family != AF_INET && info->sel.family != AF_INET6))
        return false;
    from_selector(&info->sel, p);
    p->dir = info->dir == XFRM_POLICY_OUT  ? KERNEL_DIR_OUT
             : info->dir == XFRM_POLICY_IN ? KERNEL_DIR_IN
                                           : KERNEL_DIR_FWD;
    p->priority = info->priority;
    p->origin = kernel_priority_origin(info->priority);
    if (info->action == XFRM_POLICY_BLOCK)
        p->action = KERNEL_DROP;
    else if (!tmpl)
        p->action = KERNEL_PASS;
    else if (tmpl->mode == XFRM_MODE_TUNNEL) {
        p->action = KERNEL_TUNNEL;
        from_xaddr(tmpl->family, &tmpl->saddr, &p->tmpl_src);
        from_xaddr(tmpl->family, &tmpl->id.daddr, &p->tmpl_dst);
        p->reqid = tmpl->reqid;
    } else
        p->action = p->origin == KERNEL_ORIGIN_PEER ? KERNEL_HOLD : KERNEL_TRAP;
    p->lifetime = (uint32_t)info->lft.hard_add_expires_seconds;
    if (p->lifetime != 0 && info->curlft.add_time != 0)
        p->expires_at = (int64_t)info->curlft.add_time + p->lifetime;
    return true;
}

/*
 * A dump request already sent (under k->seq): each of its messages to fn,
 * until NLMSG_DONE. fn returns non-zero to stop (out of memory: an error).
 */
static int nl_dump(struct kernel_xfrm *k, const char *what, int (*fn)(const struct nlmsghdr *h, void *arg), void *arg,
                   struct oe_error *err)
{
    char *buf = malloc(NL_BUF);
    if (buf == NULL) {
        oe_error_set(err, "%s: out of memory", what);
        return -1;
    }
    for (;;) {
        ssize_t r = recv(k->req_fd, buf, NL_BUF, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            oe_error_set(err, "%s: netlink receive: %s", what, r < 0 ? strerror(errno) : "end of stream");
            break;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)r); h = NLMSG_NEXT(h, r)) {
            if (h->nlmsg_seq != k->seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE) {
                free(buf);
                return 0;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                oe_error_set(err, "%s: %s", what, strerror(-e->error));
                free(buf);
                return -1;
            }
            if (fn(h, arg) != 0) {
                oe_error_set(err, "%s: out of memory", what);
                free(buf);
                return -1;
            }
        }
    }
    free(buf);
    return -1;
}

struct policy_dump {
    struct kernel_policy *v;
    size_t n, cap;
};

static int one_policy(const struct nlmsghdr *h, void *arg)
{
    struct policy_dump *d = arg;
    if (h->nlmsg_type != XFRM_MSG_NEWPOLICY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct xfrm_userpolicy_info)))
        return 0;
    struct kernel_policy p;
    if (!decode_policy(NLMSG_DATA(h), find_tmpl(h, sizeof(struct xfrm_userpolicy_info)), &p))
        return 0;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        struct kernel_policy *nv = realloc(d->v, cap * sizeof(*nv));
        if (nv == NULL)
            return -1;
        d->v = nv;
        d->cap = cap;
    }
    d->v[d->n++] = p;
    return 0;
}

static int xfrm_list(struct kernel *kb, struct kernel_policy **out, size_t *n, struct oe_error *err)
{
    struct kernel_xfrm *k = xk(kb);
    union nl_buf nb;
    struct nl_req req;
    struct xfrm_userpolicy_id id;
    memset(&id, 0, sizeof(id));
    nl_req_init(&req, &nb, sizeof(nb), XFRM_MSG_GETPOLICY, NLM_F_DUMP);
    nl_put(&req, &id, sizeof(id));
    if (nl_send(k, &req, 0, err, "list policies") != 0)
        return -1;
    struct policy_dump d = {.v = malloc(sizeof(*d.v)), .cap = 1};
    if (d.v == NULL || nl_dump(k, "list policies", one_policy, &d, err) != 0) {
        if (d.v == NULL)
            oe_error_set(err, "list policies: out of memory");
        free(d.v);
        return -1;
    }
    *out = d.v;
    *n = d.n;
    return 0;
}

static int write_sysctl(const char *path, int value, struct oe_error *err)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fprintf(f, "%d\n", value) < 0 || fclose(f) != 0) {
        oe_error_set(err, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int xfrm_set_larval_drop(struct kernel *kb, int value, struct oe_error *err)
{
    (void)kb;
    return write_sysctl("/proc/sys/net/core/xfrm_larval_drop", value, err);
}

static int xfrm_set_acq_expires(struct kernel *kb, int seconds, struct oe_error *err)
{
    (void)kb;
    return write_sysctl("/proc/sys/net/core/xfrm_acq_expires", seconds, err);
}

/* The SA itself: ESP in tunnel mode between the outer addresses, host-to-host selectors. */
static void sa_info(const struct kernel_sa *sa, struct xfrm_usersa_info *i)
{
    memset(i, 0, sizeof(*i));
    i->family = sa->dst.family;
    to_xaddr(&sa->dst, &i->id.daddr);
    to_xaddr(&sa->src, &i->saddr);
    i->id.spi = htonl(sa->spi);
    i->id.proto = IPPROTO_ESP;
    i->mode = XFRM_MODE_TUNNEL;
    i->reqid = sa->reqid;
    i->seq = sa->acquire_seq; /* xfrm_state_add deletes the larval state of that ACQUIRE */
    i->replay_window = 32;
    i->sel.family = sa->sel_dst.addr.family;
    to_xaddr(&sa->sel_dst.addr, &i->sel.daddr);
    to_xaddr(&sa->sel_src.addr, &i->sel.saddr);
    i->sel.prefixlen_d = sa->sel_dst.len;
    i->sel.prefixlen_s = sa->sel_src.len;
    i->lft.soft_byte_limit = i->lft.hard_byte_limit = XFRM_INF;
    i->lft.soft_packet_limit = i->lft.hard_packet_limit = XFRM_INF;
    i->lft.soft_add_expires_seconds = sa->soft_seconds;
    i->lft.hard_add_expires_seconds = sa->hard_seconds;
}

/* RFC 4106: AES-GCM with a 16-octet ICV; the key carries the salt. */
static void put_aead(struct nl_req *req, const struct kernel_sa *sa)
{
    struct xfrm_algo_aead *a = nl_attr(req, XFRMA_ALG_AEAD, NULL, sizeof(*a) + sa->key_len);
    if (a == NULL)
        return;
    snprintf(a->alg_name, sizeof(a->alg_name), "rfc4106(gcm(aes))");
    a->alg_key_len = (unsigned)(sa->key_len * 8);
    a->alg_icv_len = 128;
    memcpy(a->alg_key, sa->key, sa->key_len);
}

/* RFC 3602 AES-CBC, and RFC 4868 HMAC-SHA2 truncated to half its length. */
static void put_cbc_hmac(struct nl_req *req, const struct kernel_sa *sa)
{
    size_t auth_len = sa->auth_bits / 8;
    struct xfrm_algo *c = nl_attr(req, XFRMA_ALG_CRYPT, NULL, sizeof(*c) + sa->key_len);
    if (c != NULL) {
        snprintf(c->alg_name, sizeof(c->alg_name), "cbc(aes)");
        c->alg_key_len = (unsigned)(sa->key_len * 8);
        memcpy(c->alg_key, sa->key, sa->key_len);
    }
    struct xfrm_algo_auth *a = nl_attr(req, XFRMA_ALG_AUTH_TRUNC, NULL, sizeof(*a) + auth_len);
    if (a != NULL) {
        snprintf(a->alg_name, sizeof(a->alg_name), "hmac(sha%u)", sa->auth_bits);
        a->alg_key_len = sa->auth_bits;
        a->alg_trunc_len = sa->auth_bits / 2;
        memcpy(a->alg_key, sa->auth_key, auth_len);
    }
}

/* RFC 3948: ESP in UDP, behind a NAT. */
static void put_encap(struct nl_req *req, const struct kernel_sa *sa)
{
    struct xfrm_encap_tmpl et;
    memset(&et, 0, sizeof(et));
    et.encap_type = 2; /* UDP_ENCAP_ESPINUDP */
    et.encap_sport = htons(sa->encap_sport);
    et.encap_dport = htons(sa->encap_dport);
    nl_attr(req, XFRMA_ENCAP, &et, sizeof(et));
}

static int xfrm_sa_add(struct kernel *kb, const struct kernel_sa *sa, struct oe_error *err)
{
    if (sa->key_len > sizeof(sa->key) || sa->auth_bits / 8 > sizeof(sa->auth_key)) {
        oe_error_setc(err, OE_E_INVALID, "ESP SA 0x%08x: a %zu-octet key or %u-bit integrity key is more than it holds",
                      sa->spi, sa->key_len, sa->auth_bits);
        return -1;
    }
    union nl_buf buf;
    struct nl_req req;
    struct xfrm_usersa_info info;
    sa_info(sa, &info);
    nl_req_init(&req, &buf, sizeof(buf), XFRM_MSG_NEWSA, 0);
    nl_put(&req, &info, sizeof(info));
    if (sa->auth_bits == 0)
        put_aead(&req, sa);
    else
        put_cbc_hmac(&req, sa);
    if (sa->encap_sport)
        put_encap(&req, sa);
    char what[96], d[OE_ADDR_STRLEN];
    snprintf(what, sizeof(what), "add ESP SA 0x%08x to %s", sa->spi, oe_addr_str(&sa->dst, d));
    int rc = transact(xk(kb), &req, err, what);
    oe_wipe(&buf, sizeof(buf)); /* the keys */
    return rc;
}

/* An ESP SA by what the kernel keys it on: SPI, destination, protocol. */
static void sa_id_req(struct nl_req *req, union nl_buf *buf, uint16_t type, uint32_t spi, const struct oe_addr *dst)
{
    struct xfrm_usersa_id id;
    memset(&id, 0, sizeof(id));
    to_xaddr(dst, &id.daddr);
    id.spi = htonl(spi);
    id.family = dst->family;
    id.proto = IPPROTO_ESP;
    nl_req_init(req, buf, sizeof(*buf), type, 0);
    nl_put(req, &id, sizeof(id));
}

static int xfrm_sa_del(struct kernel *kb, uint32_t spi, const struct oe_addr *dst, struct oe_error *err)
{
    union nl_buf buf;
    struct nl_req req;
    sa_id_req(&req, &buf, XFRM_MSG_DELSA, spi, dst);
    char what[96], d[OE_ADDR_STRLEN];
    snprintf(what, sizeof(what), "delete ESP SA 0x%08x to %s", spi, oe_addr_str(dst, d));
    return transact(xk(kb), &req, err, what);
}

struct sa_dump {
    struct xfrm_usersa_id *v;
    size_t n, cap;
    uint32_t first, count;
};

static int one_sa(const struct nlmsghdr *h, void *arg)
{
    struct sa_dump *d = arg;
    if (h->nlmsg_type != XFRM_MSG_NEWSA || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct xfrm_usersa_info)))
        return 0;
    const struct xfrm_usersa_info *i = NLMSG_DATA(h);
    /* spi 0: a larval state of an ACQUIRE, the kernel's own */
    if (i->id.proto != IPPROTO_ESP || i->id.spi == 0 || i->reqid - d->first >= d->count)
        return 0;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct xfrm_usersa_id *nv = realloc(d->v, cap * sizeof(*nv));
        if (nv == NULL)
            return -1;
        d->v = nv;
        d->cap = cap;
    }
    d->v[d->n++] =
        (struct xfrm_usersa_id){.daddr = i->id.daddr, .spi = i->id.spi, .family = i->family, .proto = IPPROTO_ESP};
    return 0;
}

static int xfrm_sa_flush_reqids(struct kernel *kb, uint32_t first, uint32_t count, size_t *removed,
                                struct oe_error *err)
{
    struct kernel_xfrm *k = xk(kb);
    union nl_buf nb;
    struct nl_req req;
    struct xfrm_usersa_id id;
    memset(&id, 0, sizeof(id));
    nl_req_init(&req, &nb, sizeof(nb), XFRM_MSG_GETSA, NLM_F_DUMP);
    nl_put(&req, &id, sizeof(id));
    *removed = 0;
    if (nl_send(k, &req, 0, err, "list SAs") != 0)
        return -1;
    struct sa_dump d = {.first = first, .count = count};
    if (nl_dump(k, "list SAs", one_sa, &d, err) != 0) {
        free(d.v);
        return -1;
    }
    /* after the dump, not during it: a request on the socket would cut it short */
    int rc = 0;
    for (size_t i = 0; i < d.n; i++) {
        struct oe_addr dst;
        from_xaddr(d.v[i].family, &d.v[i].daddr, &dst);
        if (xfrm_sa_del(kb, ntohl(d.v[i].spi), &dst, err) == 0)
            (*removed)++;
        else if (errno != ESRCH)
            rc = -1; /* one gone meanwhile (its hard lifetime) is no failure */
    }
    free(d.v);
    return rc;
}

static int xfrm_sa_stats(struct kernel *kb, uint32_t spi, const struct oe_addr *dst, struct kernel_sa_stats *st,
                         struct oe_error *err)
{
    struct kernel_xfrm *k = xk(kb);
    union nl_buf nb;
    struct nl_req req;
    sa_id_req(&req, &nb, XFRM_MSG_GETSA, spi, dst);
    if (nl_send(k, &req, 0, err, "SA stats") != 0)
        return -1;
    char buf[8192];
    ssize_t r = recv(k->req_fd, buf, sizeof(buf), 0);
    const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
    if (r < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || !NLMSG_OK(h, (size_t)r)) {
        oe_error_set(err, "SA stats: no answer");
        return -1;
    }
    if (h->nlmsg_type == NLMSG_ERROR) {
        oe_error_set(err, "SA stats: %s", strerror(-((const struct nlmsgerr *)NLMSG_DATA(h))->error));
        return -1;
    }
    if (h->nlmsg_type != XFRM_MSG_NEWSA || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct xfrm_usersa_info))) {
        oe_error_set(err, "SA stats: unexpected answer");
        return -1;
    }
    const struct xfrm_usersa_info *i = NLMSG_DATA(h);
    st->bytes = i->curlft.bytes;
    st->packets = i->curlft.packets;
    st->add_time = (int64_t)i->curlft.add_time;
    return 0;
}

/* The attributes of a dumped SA that a NEWSA or UPDSA of the same SA takes again (ENCAP: the caller's). */
static bool sa_attr_kept(uint16_t type)
{
    switch (type) {
    case XFRMA_ALG_AEAD:
    case XFRMA_ALG_CRYPT:
    case XFRMA_ALG_AUTH_TRUNC: /* not XFRMA_ALG_AUTH too, which the dump also has: NEWSA refuses both */
    case XFRMA_REPLAY_VAL:     /* the sequence numbers go on: the peer's replay window must see them rise */
    case XFRMA_MARK:
    case XFRMA_IF_ID:
    case XFRMA_SA_EXTRA_FLAGS: return true;
    default: return false;
    }
}

/* The SA (spi, dst) as the kernel has it, into buf: its header and attributes, or -1. */
static int sa_get(struct kernel_xfrm *k, uint32_t spi, const struct oe_addr *dst, char *buf, size_t cap,
                  const struct nlmsghdr **out, struct oe_error *err)
{
    union nl_buf nb;
    struct nl_req req;
    sa_id_req(&req, &nb, XFRM_MSG_GETSA, spi, dst);
    if (nl_send(k, &req, 0, err, "move ESP SA") != 0)
        return -1;
    ssize_t r;
    do
        r = recv(k->req_fd, buf, cap, 0);
    while (r < 0 && errno == EINTR);
    const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
    if (r < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || !NLMSG_OK(h, (size_t)r)) {
        oe_error_set(err, "move ESP SA 0x%08x: no answer to GETSA", spi);
        return -1;
    }
    if (h->nlmsg_type == NLMSG_ERROR) {
        errno = -((const struct nlmsgerr *)NLMSG_DATA(h))->error;
        oe_error_set(err, "move ESP SA 0x%08x: %s", spi, strerror(errno));
        return -1;
    }
    if (h->nlmsg_type != XFRM_MSG_NEWSA || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct xfrm_usersa_info))) {
        oe_error_set(err, "move ESP SA 0x%08x: unexpected answer to GETSA", spi);
        return -1;
    }
    *out = h;
    return 0;
}

/* A NEWSA or UPDSA of the dumped SA h at m's addresses and ports; the keys are wiped by the caller. */
static void sa_moved_req(const struct nlmsghdr *h, const struct kernel_sa_move *m, uint16_t type, struct nl_req *req,
                         union nl_buf *nb)
{
    struct xfrm_usersa_info info = *(const struct xfrm_usersa_info *)NLMSG_DATA(h);
    to_xaddr(&m->dst, &info.id.daddr);
    to_xaddr(&m->src, &info.saddr);
    info.seq = 0; /* no ACQUIRE's larval state to take */
    struct xfrm_lifetime_cur cur = info.curlft;
    nl_req_init(req, nb, sizeof(*nb), type, 0);
    nl_put(req, &info, sizeof(info));
    /* the time it was added stays: its lifetimes (and our rekey) count from then */
    nl_attr(req, XFRMA_LTIME_VAL, &cur, sizeof(cur));
    size_t off = NLMSG_ALIGN(sizeof(struct xfrm_usersa_info));
    size_t len = h->nlmsg_len - NLMSG_HDRLEN;
    const char *data = NLMSG_DATA(h);
    while (off + NLA_HDRLEN <= len) {
        const struct nlattr *a = (const struct nlattr *)(data + off);
        if (a->nla_len < NLA_HDRLEN || a->nla_len > len - off)
            break; /* the kernel's own message: not reached */
        uint16_t t = a->nla_type & NLA_TYPE_MASK;
        if (t == XFRMA_REPLAY_VAL && type == XFRM_MSG_NEWSA &&
            (size_t)(a->nla_len - NLA_HDRLEN) >= sizeof(struct xfrm_replay_state)) {
            struct xfrm_replay_state rs;
            memcpy(&rs, (const char *)a + NLA_HDRLEN, sizeof(rs));
            rs.oseq = kernel_sa_moved_oseq(rs.oseq);
            nl_attr(req, t, &rs, sizeof(rs));
        } else if (sa_attr_kept(t))
            nl_attr(req, t, (const char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN);
        off += NLA_ALIGN(a->nla_len);
    }
    struct kernel_sa ports = {.encap_sport = m->encap_sport, .encap_dport = m->encap_dport};
    if (m->encap_sport)
        put_encap(req, &ports);
}

static int xfrm_sa_move(struct kernel *kb, const struct kernel_sa_move *m, struct oe_error *err)
{
    struct kernel_xfrm *k = xk(kb);
    char *buf = malloc(8192), what[96], d[OE_ADDR_STRLEN];
    const struct nlmsghdr *h;
    if (buf == NULL) {
        oe_error_set(err, "move ESP SA 0x%08x: out of memory", m->spi);
        return -1;
    }
    if (sa_get(k, m->spi, &m->old_dst, buf, 8192, &h, err) != 0) {
        free(buf);
        return -1;
    }
    const struct xfrm_usersa_info *was = NLMSG_DATA(h);
    struct oe_addr old_src;
    from_xaddr(was->family, &was->saddr, &old_src);
    bool same_dst = oe_addr_eq(&m->dst, &m->old_dst), same_src = oe_addr_eq(&m->src, &old_src);
    union nl_buf nb;
    struct nl_req req;
    int rc;
    snprintf(what, sizeof(what), "move ESP SA 0x%08x to %s", m->spi, oe_addr_str(&m->dst, d));
    if (same_dst && same_src) {
        /* xfrm_state_update takes the new encapsulation into the SA in place: counters and all */
        sa_moved_req(h, m, XFRM_MSG_UPDSA, &req, &nb);
        rc = transact(k, &req, err, what);
    } else if (!same_dst) {
        /* another destination is another SA: the new one first, so the policy finds one all along */
        sa_moved_req(h, m, XFRM_MSG_NEWSA, &req, &nb);
        rc = transact(k, &req, err, what);
        if (rc == 0 && xfrm_sa_del(kb, m->spi, &m->old_dst, err) != 0 && errno != ESRCH)
            rc = -1;
    } else {
        /* the same SA from another source: UPDSA keeps the old source, so out and in again */
        sa_moved_req(h, m, XFRM_MSG_NEWSA, &req, &nb);
        rc = xfrm_sa_del(kb, m->spi, &m->old_dst, err);
        if (rc == 0)
            rc = transact(k, &req, err, what);
    }
    oe_wipe(&nb, sizeof(nb)); /* the keys */
    oe_wipe(buf, 8192);
    free(buf);
    return rc;
}

static int xfrm_fd(struct kernel *kb)
{
    return xk(kb)->ep_fd;
}

static int xfrm_addresses(struct kernel *kb, struct oe_addr **out, size_t *n, struct oe_error *err)
{
    (void)kb;
    return kernel_addr_dump(out, n, err);
}

static int xfrm_watch_addresses(struct kernel *kb, struct oe_error *err)
{
    struct kernel_xfrm *k = xk(kb);
    if (k->addr_fd >= 0)
        return 0;
    k->addr_fd = kernel_addr_socket(true, err);
    if (k->addr_fd < 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = k->addr_fd};
    if (epoll_ctl(k->ep_fd, EPOLL_CTL_ADD, k->addr_fd, &ev) != 0) {
        oe_error_set(err, "netlink route socket: epoll: %s", strerror(errno));
        close(k->addr_fd);
        k->addr_fd = -1;
        return -1;
    }
    return 0;
}

/* Address changes: NEWADDR and DELADDR as events; the kernel also reports what IKE cannot use (skipped). */
static int addr_process(struct kernel_xfrm *k, char *buf, kernel_event_fn fn, void *arg, struct oe_error *err)
{
    int events = 0;
    for (;;) {
        ssize_t r = recv(k->addr_fd, buf, NL_BUF, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return events;
            if (errno == ENOBUFS) {
                /* changes were lost: the caller lists the addresses again */
                struct kernel_event ev = {.type = KERNEL_EV_ADDR_LOST};
                fn(&ev, arg);
                events++;
                continue;
            }
            oe_error_set(err, "address events: %s", strerror(errno));
            return -1;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, r); h = NLMSG_NEXT(h, r)) {
            struct kernel_event ev;
            if (!kernel_addr_decode(h, &ev))
                continue;
            fn(&ev, arg);
            events++;
        }
    }
}

static void decode_acquire(const struct nlmsghdr *h, struct kernel_event *ev)
{
    const struct xfrm_user_acquire *a = NLMSG_DATA(h);
    ev->type = KERNEL_EV_ACQUIRE;
    from_xaddr(a->sel.family, &a->sel.saddr, &ev->src);
    from_xaddr(a->sel.family, &a->sel.daddr, &ev->dst);
    ev->proto = a->sel.proto;
    ev->sport = a->sel.sport_mask ? ntohs(a->sel.sport) : 0;
    ev->dport = a->sel.dport_mask ? ntohs(a->sel.dport) : 0;
    ev->acquire_seq = a->seq;
    struct xfrm_user_tmpl trap;
    memset(&trap, 0, sizeof(trap));
    decode_policy(&a->policy, &trap, &ev->policy);
}

static int xfrm_process(struct kernel *kb, kernel_event_fn fn, void *arg, struct oe_error *err)
{
    struct kernel_xfrm *k = xk(kb);
    char *buf = malloc(NL_BUF);
    int events = 0;
    if (buf == NULL) {
        oe_error_set(err, "kernel events: out of memory");
        return -1;
    }
    for (;;) {
        struct sockaddr_nl from;
        socklen_t fromlen = sizeof(from);
        ssize_t r = recvfrom(k->ev_fd, buf, NL_BUF, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            /* ENOBUFS: the kernel dropped events; say so, go on. */
            oe_error_set(err, "kernel events: %s", strerror(errno));
            free(buf);
            return -1;
        }
        if (fromlen < sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
            continue; /* a process's message, not the kernel's: an ACQUIRE or MAPPING we must not believe */
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)r); h = NLMSG_NEXT(h, r)) {
            struct kernel_event ev;
            memset(&ev, 0, sizeof(ev));
            if (h->nlmsg_type == XFRM_MSG_ACQUIRE && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct xfrm_user_acquire))) {
                decode_acquire(h, &ev);
                if (!kernel_priority_ours(ev.policy.priority))
                    continue;
            } else if (h->nlmsg_type == XFRM_MSG_POLEXPIRE &&
                       h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct xfrm_user_polexpire))) {
                const struct xfrm_user_polexpire *x = NLMSG_DATA(h);
                ev.type = KERNEL_EV_POLICY_EXPIRED;
                if (!x->hard || !decode_policy(&x->pol, NULL, &ev.policy))
                    continue;
            } else if (h->nlmsg_type == XFRM_MSG_EXPIRE &&
                       h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct xfrm_user_expire))) {
                const struct xfrm_user_expire *x = NLMSG_DATA(h);
                if (x->state.id.proto != IPPROTO_ESP)
                    continue;
                ev.type = KERNEL_EV_SA_EXPIRED;
                ev.spi = ntohl(x->state.id.spi);
                ev.hard = x->hard != 0;
                from_xaddr(x->state.family, &x->state.id.daddr, &ev.dst);
                from_xaddr(x->state.family, &x->state.saddr, &ev.src);
            } else if (h->nlmsg_type == XFRM_MSG_MAPPING &&
                       h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct xfrm_user_mapping))) {
                const struct xfrm_user_mapping *x = NLMSG_DATA(h);
                if (x->id.proto != IPPROTO_ESP)
                    continue;
                ev.type = KERNEL_EV_SA_MAPPING;
                ev.spi = ntohl(x->id.spi);
                from_xaddr(x->id.family, &x->id.daddr, &ev.dst);
                from_xaddr(x->id.family, &x->new_saddr, &ev.src);
                ev.sport = ntohs(x->new_sport);
            } else {
                continue;
            }
            fn(&ev, arg);
            events++;
        }
    }
    if (k->addr_fd >= 0) {
        int more = addr_process(k, buf, fn, arg, err);
        if (more < 0) {
            free(buf);
            return -1;
        }
        events += more;
    }
    free(buf);
    return events;
}

/* XFRM's curlft.add_time, from which expires_at is made, is wall-clock (CLOCK_REALTIME) seconds */
static int64_t xfrm_clock(const struct kernel *kb)
{
    (void)kb;
    return (int64_t)time(NULL);
}

static void xfrm_close(struct kernel *kb)
{
    struct kernel_xfrm *k = xk(kb);
    close(k->req_fd);
    close(k->ev_fd);
    if (k->addr_fd >= 0)
        close(k->addr_fd);
    close(k->ep_fd);
    free(k);
}

static const struct kernel_ops xfrm_ops = {
    .install = xfrm_install,
    .remove = xfrm_remove,
    .list = xfrm_list,
    .set_larval_drop = xfrm_set_larval_drop,
    .set_acq_expires = xfrm_set_acq_expires,
    .sa_flush_reqids = xfrm_sa_flush_reqids,
    .sa_add = xfrm_sa_add,
    .sa_del = xfrm_sa_del,
    .sa_move = xfrm_sa_move,
    .sa_stats = xfrm_sa_stats,
    .addresses = xfrm_addresses,
    .watch_addresses = xfrm_watch_addresses,
    .fd = xfrm_fd,
    .process = xfrm_process,
    .close = xfrm_close,
    .clock = xfrm_clock,
    .nat_add = kernel_nft_add,
    .nat_del = kernel_nft_del,
    .nat_flush = kernel_nft_flush,
};

static int nl_socket(uint32_t groups, struct oe_error *err)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
    if (fd < 0) {
        oe_error_set(err, "netlink XFRM socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
    int rcvbuf = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        oe_error_set(err, "netlink XFRM bind: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct kernel *kernel_xfrm_open(struct oe_error *err)
{
    struct kernel_xfrm *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        oe_error_set(err, "out of memory");
        return NULL;
    }
    k->base.ops = &xfrm_ops;
    k->seq = (uint32_t)time(NULL);
    k->req_fd = nl_socket(0, err);
    k->ev_fd = k->req_fd < 0 ? -1 : nl_socket(XFRMGRP_ACQUIRE | XFRMGRP_EXPIRE | XFRMGRP_MAPPING_BIT, err);
    k->addr_fd = -1;
    k->ep_fd = k->ev_fd < 0 ? -1 : epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = k->ev_fd};
    if (k->ep_fd < 0 || epoll_ctl(k->ep_fd, EPOLL_CTL_ADD, k->ev_fd, &ev) != 0) {
        if (k->ev_fd >= 0)
            oe_error_set(err, "netlink XFRM events: epoll: %s", strerror(errno));
        if (k->ep_fd >= 0)
            close(k->ep_fd);
        if (k->ev_fd >= 0)
            close(k->ev_fd);
        if (k->req_fd >= 0)
            close(k->req_fd);
        free(k);
        return NULL;
    }
    return &k->base;
}
