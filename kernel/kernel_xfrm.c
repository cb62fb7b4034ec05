/*
 * Linux XFRM over raw netlink: one socket for requests (each acknowledged),
 * one subscribed to the ACQUIRE and EXPIRE groups for events.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NL_BUF 65536

struct kernel_xfrm {
    struct kernel base;
    int req_fd;
    int ev_fd;
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
    return d == KERNEL_DIR_OUT ? XFRM_POLICY_OUT : XFRM_POLICY_IN;
}

/* Send one request and wait for its acknowledgement. */
static int transact(struct kernel_xfrm *k, struct nlmsghdr *n, struct oe_error *err,
                    const char *what)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    n->nlmsg_seq = ++k->seq;
    n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    if (sendto(k->req_fd, n, n->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        oe_error_set(err, "%s: netlink send: %s", what, strerror(errno));
        return -1;
    }
    char buf[8192];
    for (;;) {
        ssize_t r = recv(k->req_fd, buf, sizeof(buf), 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            oe_error_set(err, "%s: netlink receive: %s", what, strerror(errno));
            return -1;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)r);
             h = NLMSG_NEXT(h, r)) {
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

static int xfrm_install(struct kernel *kb, const struct kernel_policy *p, struct oe_error *err)
{
    struct {
        struct nlmsghdr n;
        struct xfrm_userpolicy_info info;
        char attrs[RTA_SPACE(sizeof(struct xfrm_user_tmpl))];
    } req;
    memset(&req, 0, sizeof(req));
    req.n.nlmsg_len = NLMSG_LENGTH(sizeof(req.info));
    req.n.nlmsg_type = XFRM_MSG_UPDPOLICY;
    to_selector(p, &req.info.sel);
    req.info.dir = xfrm_dir(p->dir);
    req.info.priority = kernel_priority(p);
    req.info.action = p->action == KERNEL_DROP ? XFRM_POLICY_BLOCK : XFRM_POLICY_ALLOW;
    req.info.lft.soft_byte_limit = XFRM_INF;
    req.info.lft.hard_byte_limit = XFRM_INF;
    req.info.lft.soft_packet_limit = XFRM_INF;
    req.info.lft.hard_packet_limit = XFRM_INF;
    req.info.lft.hard_add_expires_seconds = p->lifetime;
    if (p->action == KERNEL_TRAP || p->action == KERNEL_HOLD) {
        /* A template no SA satisfies yet: the kernel sends ACQUIRE. */
        struct rtattr *rta = (struct rtattr *)req.attrs;
        struct xfrm_user_tmpl t;
        memset(&t, 0, sizeof(t));
        t.id.proto = IPPROTO_ESP;
        t.family = p->dst.addr.family;
        t.mode = XFRM_MODE_TRANSPORT;
        t.aalgos = t.ealgos = t.calgos = ~0u;
        rta->rta_type = XFRMA_TMPL;
        rta->rta_len = RTA_LENGTH(sizeof(t));
        memcpy(RTA_DATA(rta), &t, sizeof(t));
        req.n.nlmsg_len = NLMSG_ALIGN(req.n.nlmsg_len) + RTA_SPACE(sizeof(t));
    }
    char what[160];
    snprintf(what, sizeof(what), "install %s policy ", kernel_action_name(p->action));
    kernel_selector_str(p, what + strlen(what), sizeof(what) - strlen(what));
    return transact(xk(kb), &req.n, err, what);
}

static int xfrm_remove(struct kernel *kb, const struct kernel_policy *p, struct oe_error *err)
{
    struct {
        struct nlmsghdr n;
        struct xfrm_userpolicy_id id;
    } req;
    memset(&req, 0, sizeof(req));
    req.n.nlmsg_len = NLMSG_LENGTH(sizeof(req.id));
    req.n.nlmsg_type = XFRM_MSG_DELPOLICY;
    to_selector(p, &req.id.sel);
    req.id.dir = xfrm_dir(p->dir);
    char what[160];
    snprintf(what, sizeof(what), "remove policy %s ", kernel_dir_name(p->dir));
    kernel_selector_str(p, what + strlen(what), sizeof(what) - strlen(what));
    return transact(xk(kb), &req.n, err, what);
}

static bool has_tmpl(const struct nlmsghdr *h, size_t fixed)
{
    int len = (int)h->nlmsg_len - (int)NLMSG_SPACE(fixed);
    for (const struct rtattr *a = (const struct rtattr *)((const char *)NLMSG_DATA(h) +
                                                        NLMSG_ALIGN(fixed));
         RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == XFRMA_TMPL)
            return true;
    }
    return false;
}

/* A policy from the kernel, or false when it is not one of ours. */
static bool decode_policy(const struct xfrm_userpolicy_info *info, bool tmpl,
                          struct kernel_policy *p)
{
    memset(p, 0, sizeof(*p));
    if (!kernel_priority_ours(info->priority) ||
        (info->dir != XFRM_POLICY_OUT && info->dir != XFRM_POLICY_IN) ||
        (info->sel.family != AF_INET && info->sel.family != AF_INET6))
        return false;
    from_selector(&info->sel, p);
    p->dir = info->dir == XFRM_POLICY_OUT ? KERNEL_DIR_OUT : KERNEL_DIR_IN;
    p->priority = info->priority;
    p->origin = kernel_priority_origin(info->priority);
    if (info->action == XFRM_POLICY_BLOCK)
        p->action = KERNEL_DROP;
    else if (!tmpl)
        p->action = KERNEL_PASS;
    else
        p->action = p->origin == KERNEL_ORIGIN_PEER ? KERNEL_HOLD : KERNEL_TRAP;
    p->lifetime = (uint32_t)info->lft.hard_add_expires_seconds;
    if (p->lifetime != 0 && info->curlft.add_time != 0)
        p->expires_at = (int64_t)info->curlft.add_time + p->lifetime;
    return true;
}

static int xfrm_list(struct kernel *kb, struct kernel_policy **out, size_t *n, struct oe_error *err)
{
    struct kernel_xfrm *k = xk(kb);
    struct {
        struct nlmsghdr n;
        struct xfrm_userpolicy_id id;
    } req;
    memset(&req, 0, sizeof(req));
    req.n.nlmsg_len = NLMSG_LENGTH(sizeof(req.id));
    req.n.nlmsg_type = XFRM_MSG_GETPOLICY;
    req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.n.nlmsg_seq = ++k->seq;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (sendto(k->req_fd, &req, req.n.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        oe_error_set(err, "list policies: netlink send: %s", strerror(errno));
        return -1;
    }
    size_t cap = 64, cnt = 0;
    struct kernel_policy *v = malloc(cap * sizeof(*v));
    char *buf = malloc(NL_BUF);
    bool done = false;
    while (v != NULL && buf != NULL && !done) {
        ssize_t r = recv(k->req_fd, buf, NL_BUF, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            oe_error_set(err, "list policies: netlink receive: %s", strerror(errno));
            goto fail;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)r);
             h = NLMSG_NEXT(h, r)) {
            if (h->nlmsg_seq != k->seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE) {
                done = true;
                break;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                oe_error_set(err, "list policies: %s", strerror(-e->error));
                goto fail;
            }
            if (h->nlmsg_type != XFRM_MSG_NEWPOLICY ||
                h->nlmsg_len < NLMSG_LENGTH(sizeof(struct xfrm_userpolicy_info)))
                continue;
            struct kernel_policy p;
            if (!decode_policy(NLMSG_DATA(h), has_tmpl(h, sizeof(struct xfrm_userpolicy_info)), &p))
                continue;
            if (cnt == cap) {
                struct kernel_policy *nv = realloc(v, (cap *= 2) * sizeof(*v));
                if (nv == NULL)
                    goto fail;
                v = nv;
            }
            v[cnt++] = p;
        }
    }
    if (v == NULL || buf == NULL) {
        oe_error_set(err, "list policies: out of memory");
        goto fail;
    }
    free(buf);
    *out = v;
    *n = cnt;
    return 0;
fail:
    free(buf);
    free(v);
    return -1;
}

static int xfrm_set_larval_drop(struct kernel *kb, int value, struct oe_error *err)
{
    (void)kb;
    const char *path = "/proc/sys/net/core/xfrm_larval_drop";
    FILE *f = fopen(path, "w");
    if (f == NULL || fprintf(f, "%d\n", value) < 0 || fclose(f) != 0) {
        oe_error_set(err, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int xfrm_fd(struct kernel *kb)
{
    return xk(kb)->ev_fd;
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
    decode_policy(&a->policy, true, &ev->policy);
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
        ssize_t r = recv(k->ev_fd, buf, NL_BUF, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            /* ENOBUFS: the kernel dropped events; say so, go on. */
            oe_error_set(err, "kernel events: %s", strerror(errno));
            free(buf);
            return -1;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)r);
             h = NLMSG_NEXT(h, r)) {
            struct kernel_event ev;
            memset(&ev, 0, sizeof(ev));
            if (h->nlmsg_type == XFRM_MSG_ACQUIRE &&
                h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct xfrm_user_acquire))) {
                decode_acquire(h, &ev);
                if (!kernel_priority_ours(ev.policy.priority))
                    continue;
            } else if (h->nlmsg_type == XFRM_MSG_POLEXPIRE &&
                       h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct xfrm_user_polexpire))) {
                const struct xfrm_user_polexpire *x = NLMSG_DATA(h);
                ev.type = KERNEL_EV_POLICY_EXPIRED;
                if (!x->hard || !decode_policy(&x->pol, false, &ev.policy))
                    continue;
            } else {
                continue;
            }
            fn(&ev, arg);
            events++;
        }
    }
    free(buf);
    return events;
}

static void xfrm_close(struct kernel *kb)
{
    struct kernel_xfrm *k = xk(kb);
    close(k->req_fd);
    close(k->ev_fd);
    free(k);
}

static const struct kernel_ops xfrm_ops = {
    .install = xfrm_install,
    .remove = xfrm_remove,
    .list = xfrm_list,
    .set_larval_drop = xfrm_set_larval_drop,
    .fd = xfrm_fd,
    .process = xfrm_process,
    .close = xfrm_close,
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
    k->ev_fd = k->req_fd < 0 ? -1 : nl_socket(XFRMGRP_ACQUIRE | XFRMGRP_EXPIRE, err);
    if (k->ev_fd < 0) {
        if (k->req_fd >= 0)
            close(k->req_fd);
        free(k);
        return NULL;
    }
    return &k->base;
}
