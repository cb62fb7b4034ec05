/*
 * What the running kernel offers IPsec, asked directly (ipsec verify): XFRM
 * netlink answers a request, and an ESP SA of each family can be added.
 * The ESP probe adds a throwaway SA and deletes it at once; it carries a
 * mark no packet has (so no packet ever meets it) and a 5 s hard lifetime
 * (so the kernel removes it itself should we die before deleting it).
 */
#include "kernel_internal.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_MARK 0x4f455652u /* "OEVR": matches no packet (mask all ones) */
#define PROBE_LIFETIME 5

/* One request and its acknowledgement: 0, or the kernel's errno with its extended ack in why. */
static int probe_transact(int fd, struct nl_req *req, uint32_t seq, char *why, size_t wlen)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    req->h->nlmsg_seq = seq;
    req->h->nlmsg_flags |= NLM_F_ACK;
    if (sendto(fd, req->h, req->h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return errno;
    char buf[4096];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)r); h = NLMSG_NEXT(h, r)) {
            if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
                continue;
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                return EPROTO;
            const struct nlmsgerr *e = NLMSG_DATA(h);
            /* NLM_F_ACK_TLVS: the request echoed (unless capped), then attributes */
            size_t off = NLMSG_LENGTH(sizeof(*e));
            if (!(h->nlmsg_flags & NLM_F_CAPPED))
                off = NLMSG_ALIGN(NLMSG_HDRLEN + sizeof(*e) - sizeof(e->msg) + e->msg.nlmsg_len);
            while (e->error != 0 && (h->nlmsg_flags & NLM_F_ACK_TLVS) && off + sizeof(struct nlattr) <= h->nlmsg_len) {
                const struct nlattr *a = (const struct nlattr *)((const char *)h + off);
                if (a->nla_len < sizeof(*a) || a->nla_len > h->nlmsg_len - off)
                    break;
                size_t plen = a->nla_len - sizeof(*a);
                if (a->nla_type == NLMSGERR_ATTR_MSG && plen > 0) {
                    const char *m = (const char *)(a + 1);
                    snprintf(why, wlen, "%.*s", (int)strnlen(m, plen), m);
                    break;
                }
                off += NLA_ALIGN(a->nla_len);
            }
            return -e->error;
        }
    }
}

static int probe_socket(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* XFRM_MSG_GETSPDINFO answers with the policy counts: the smallest question XFRM has. */
static int probe_xfrm(int fd, uint32_t seq, char *why, size_t wlen)
{
    union nl_buf buf;
    struct nl_req req;
    uint32_t flags = 0;
    nl_req_init(&req, &buf, sizeof(buf), XFRM_MSG_GETSPDINFO, 0);
    nl_put(&req, &flags, sizeof(flags));
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    req.h->nlmsg_seq = seq;
    if (sendto(fd, req.h, req.h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return errno;
    char rbuf[4096];
    ssize_t r = recv(fd, rbuf, sizeof(rbuf), 0);
    if (r < 0)
        return errno;
    const struct nlmsghdr *h = (const struct nlmsghdr *)rbuf;
    if (!NLMSG_OK(h, (size_t)r))
        return EPROTO;
    if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
            return EPROTO;
        return -((const struct nlmsgerr *)NLMSG_DATA(h))->error;
    }
    if (h->nlmsg_type != XFRM_MSG_NEWSPDINFO) {
        snprintf(why, wlen, "answered with message type %u", h->nlmsg_type);
        return EPROTO;
    }
    return 0;
}

/* Add a throwaway transport-mode ESP SA (AES-CBC, HMAC-SHA2-256) to loopback, then delete it. */
static int probe_esp(int fd, int family, uint32_t *seq, char *why, size_t wlen)
{
    struct xfrm_usersa_info info;
    memset(&info, 0, sizeof(info));
    info.family = (uint16_t)family;
    if (family == AF_INET) {
        info.id.daddr.a4 = info.saddr.a4 = htonl(INADDR_LOOPBACK);
    } else {
        info.id.daddr.a6[3] = info.saddr.a6[3] = htonl(1);
    }
    uint32_t spi = 0;
    if (getrandom(&spi, sizeof(spi), 0) != sizeof(spi))
        spi = (uint32_t)time(NULL);
    spi = 0x10000u + spi % 0xfff00000u; /* away from the reserved 1..255 */
    info.id.spi = htonl(spi);
    info.id.proto = IPPROTO_ESP;
    info.mode = XFRM_MODE_TRANSPORT;
    info.lft.soft_byte_limit = info.lft.hard_byte_limit = XFRM_INF;
    info.lft.soft_packet_limit = info.lft.hard_packet_limit = XFRM_INF;
    info.lft.hard_add_expires_seconds = PROBE_LIFETIME;
    union nl_buf buf;
    struct nl_req req;
    nl_req_init(&req, &buf, sizeof(buf), XFRM_MSG_NEWSA, 0);
    nl_put(&req, &info, sizeof(info));
    struct xfrm_algo *c = nl_attr(&req, XFRMA_ALG_CRYPT, NULL, sizeof(*c) + 16);
    if (c != NULL) {
        snprintf(c->alg_name, sizeof(c->alg_name), "cbc(aes)");
        c->alg_key_len = 128;
    }
    struct xfrm_algo_auth *a = nl_attr(&req, XFRMA_ALG_AUTH_TRUNC, NULL, sizeof(*a) + 32);
    if (a != NULL) {
        snprintf(a->alg_name, sizeof(a->alg_name), "hmac(sha256)");
        a->alg_key_len = 256;
        a->alg_trunc_len = 128;
    }
    struct xfrm_mark mark = {.v = PROBE_MARK, .m = 0xffffffffu};
    nl_attr(&req, XFRMA_MARK, &mark, sizeof(mark));
    struct oe_error err;
    if (nl_req_check(&req, "ESP probe", &err) != 0) {
        snprintf(why, wlen, "%.120s", err.msg);
        return EMSGSIZE;
    }
    int rc = probe_transact(fd, &req, ++*seq, why, wlen);
    if (rc != 0)
        return rc;
    struct xfrm_usersa_id id;
    memset(&id, 0, sizeof(id));
    id.daddr = info.id.daddr;
    id.spi = info.id.spi;
    id.family = (uint16_t)family;
    id.proto = IPPROTO_ESP;
    nl_req_init(&req, &buf, sizeof(buf), XFRM_MSG_DELSA, 0);
    nl_put(&req, &id, sizeof(id));
    nl_attr(&req, XFRMA_MARK, &mark, sizeof(mark));
    char dwhy[128] = "";
    if (probe_transact(fd, &req, ++*seq, dwhy, sizeof(dwhy)) != 0)
        snprintf(why, wlen, "added, but not deleted (the kernel drops it within %d s)", PROBE_LIFETIME);
    return 0;
}

void kernel_probe_support(struct kernel_support *out)
{
    memset(out, 0, sizeof(*out));
    int fd = probe_socket();
    if (fd < 0) {
        out->xfrm = out->esp4 = out->esp6 = -fd;
        snprintf(out->xfrm_why, sizeof(out->xfrm_why), "netlink XFRM socket: %s", strerror(-fd));
        return;
    }
    uint32_t seq = (uint32_t)time(NULL);
    out->xfrm = probe_xfrm(fd, ++seq, out->xfrm_why, sizeof(out->xfrm_why));
    if (out->xfrm != 0) {
        if (out->xfrm_why[0] == '\0')
            snprintf(out->xfrm_why, sizeof(out->xfrm_why), "%s", strerror(out->xfrm));
        out->esp4 = out->esp6 = out->xfrm;
    } else {
        out->esp4 = probe_esp(fd, AF_INET, &seq, out->esp4_why, sizeof(out->esp4_why));
        out->esp6 = probe_esp(fd, AF_INET6, &seq, out->esp6_why, sizeof(out->esp6_why));
    }
    close(fd);
}

int kernel_host_addresses(struct oe_addr **out, size_t *n, struct oe_error *err)
{
    return kernel_addr_dump(out, n, err);
}
