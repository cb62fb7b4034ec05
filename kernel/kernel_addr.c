/*
 * The host's addresses from rtnetlink (RTM_GETADDR, RTM_NEWADDR,
 * RTM_DELADDR): the ones IKE can use, listed once and then followed.
 * Only global-scope addresses count: loopback (host scope) and link-local
 * addresses never carry OE.
 */
#include "kernel_internal.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A dump reply's part: the kernel sends at most a page or so per datagram. */
#define ADDR_RECV_BUF 32768

bool kernel_addr_decode(const struct nlmsghdr *h, struct kernel_event *ev)
{
    if ((h->nlmsg_type != RTM_NEWADDR && h->nlmsg_type != RTM_DELADDR) ||
        h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
        return false;
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    size_t alen = ifa->ifa_family == AF_INET ? 4 : ifa->ifa_family == AF_INET6 ? 16 : 0;
    if (alen == 0 || ifa->ifa_scope != RT_SCOPE_UNIVERSE)
        return false;
    /* IFA_LOCAL is the address itself; IFA_ADDRESS is the far end on a point-to-point link */
    const unsigned char *addr = NULL, *local = NULL;
    int left = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa)));
    const struct rtattr *rta = (const struct rtattr *)((const char *)ifa + NLMSG_ALIGN(sizeof(*ifa)));
    for (; RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
        if (RTA_PAYLOAD(rta) != alen)
            continue;
        if (rta->rta_type == IFA_LOCAL)
            local = RTA_DATA(rta);
        else if (rta->rta_type == IFA_ADDRESS)
            addr = RTA_DATA(rta);
    }
    if (local == NULL)
        local = addr;
    if (local == NULL)
        return false;
    memset(ev, 0, sizeof(*ev));
    ev->type = h->nlmsg_type == RTM_NEWADDR ? KERNEL_EV_ADDR_NEW : KERNEL_EV_ADDR_DEL;
    ev->src.family = ifa->ifa_family;
    memcpy(ev->src.bytes, local, alen);
    ev->ifindex = ifa->ifa_index;
    return true;
}

int kernel_addr_socket(bool events, struct oe_error *err)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (events ? SOCK_NONBLOCK : 0), NETLINK_ROUTE);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                             .nl_groups = events ? RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR : 0};
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        oe_error_set(err, "netlink route socket: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int add_addr(struct oe_addr **v, size_t *n, size_t *cap, const struct oe_addr *a)
{
    for (size_t i = 0; i < *n; i++)
        if (oe_addr_eq(&(*v)[i], a))
            return 0; /* the same address on two interfaces */
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        struct oe_addr *nv = realloc(*v, c * sizeof(*nv));
        if (nv == NULL)
            return -1;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = *a;
    return 0;
}

/* One dump's replies into out until NLMSG_DONE: 1 done, 0 more to read, -1 failed. */
static int dump_part(const char *buf, ssize_t len, uint32_t seq, struct oe_addr **out, size_t *n, size_t *cap,
                     struct oe_error *err)
{
    for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_seq != seq)
            continue;
        if (h->nlmsg_type == NLMSG_DONE)
            return 1;
        if (h->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(h);
            int code = h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) ? -e->error : EPROTO;
            oe_error_set(err, "listing the host's addresses: %s", strerror(code));
            return -1;
        }
        struct kernel_event ev;
        if (kernel_addr_decode(h, &ev) && ev.type == KERNEL_EV_ADDR_NEW && add_addr(out, n, cap, &ev.src) != 0) {
            oe_error_set(err, "listing the host's addresses: out of memory");
            return -1;
        }
    }
    return 0;
}

int kernel_addr_dump(struct oe_addr **out, size_t *n, struct oe_error *err)
{
    *out = NULL;
    *n = 0;
    int fd = kernel_addr_socket(false, err);
    if (fd < 0)
        return -1;
    struct {
        struct nlmsghdr h;
        struct ifaddrmsg ifa;
    } req = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
                   .nlmsg_type = RTM_GETADDR,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                   .nlmsg_seq = (uint32_t)time(NULL)},
             .ifa = {.ifa_family = AF_UNSPEC}};
    char *buf = malloc(ADDR_RECV_BUF);
    size_t cap = 0;
    int rc = buf ? 0 : -1;
    if (buf == NULL)
        oe_error_set(err, "listing the host's addresses: out of memory");
    else if (send(fd, &req, req.h.nlmsg_len, 0) < 0) {
        oe_error_set(err, "listing the host's addresses: %s", strerror(errno));
        rc = -1;
    }
    while (rc == 0) {
        ssize_t r = recv(fd, buf, ADDR_RECV_BUF, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            oe_error_set(err, "listing the host's addresses: %s", r < 0 ? strerror(errno) : "no answer");
            rc = -1;
            break;
        }
        rc = dump_part(buf, r, req.h.nlmsg_seq, out, n, &cap, err);
    }
    free(buf);
    close(fd);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}
