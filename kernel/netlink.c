/*
 * Bounded netlink requests (kernel_internal.h): the header, one fixed
 * header, attributes. Every append checks the room left before it writes.
 */
#include "kernel_internal.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>

/* Marks the request failed by what did not fit; later appends do nothing. */
static void *nl_full(struct nl_req *req, int type, size_t len)
{
    if (!req->failed) {
        req->failed = true;
        req->failed_type = type;
        req->failed_len = len;
    }
    return NULL;
}

/*
 * Room for need more octets after the message so far, zeroed: the padding
 * the alignment adds goes out on the wire and must not carry stale bytes.
 */
static unsigned char *nl_reserve(struct nl_req *req, size_t need)
{
    size_t used = req->h->nlmsg_len;
    if (used > req->cap || need > req->cap - used)
        return NULL;
    unsigned char *p = (unsigned char *)req->h + used;
    memset(p, 0, need);
    req->h->nlmsg_len = (uint32_t)(used + need);
    return p;
}

void nl_req_init(struct nl_req *req, void *buf, size_t cap, uint16_t type, uint16_t flags)
{
    memset(req, 0, sizeof(*req));
    req->h = buf;
    req->cap = cap;
    if (cap < NLMSG_HDRLEN) {
        nl_full(req, -1, NLMSG_HDRLEN);
        return;
    }
    memset(req->h, 0, NLMSG_HDRLEN);
    req->h->nlmsg_len = NLMSG_HDRLEN;
    req->h->nlmsg_type = type;
    req->h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
}

void *nl_put(struct nl_req *req, const void *data, size_t len)
{
    if (req->failed)
        return NULL;
    unsigned char *p = len > req->cap ? NULL : nl_reserve(req, NLMSG_ALIGN(len));
    if (p == NULL)
        return nl_full(req, -1, len);
    memcpy(p, data, len);
    return p;
}

void *nl_attr(struct nl_req *req, uint16_t type, const void *data, size_t len)
{
    if (req->failed)
        return NULL;
    /* rta_len is 16 bits: a longer attribute cannot be said at all */
    if (RTA_LENGTH(len) > UINT16_MAX || len > req->cap)
        return nl_full(req, type, len);
    unsigned char *p = nl_reserve(req, RTA_SPACE(len));
    if (p == NULL)
        return nl_full(req, type, len);
    struct rtattr *rta = (struct rtattr *)p;
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    if (data != NULL)
        memcpy(RTA_DATA(rta), data, len);
    return RTA_DATA(rta);
}

int nl_req_check(const struct nl_req *req, const char *what, struct oe_error *err)
{
    if (!req->failed)
        return 0;
    size_t used = req->cap < NLMSG_HDRLEN ? 0 : req->h->nlmsg_len;
    if (req->failed_type < 0)
        oe_error_setc(err, OE_E_LIMIT,
                      "%s: netlink request too long: a %zu-octet header does not fit in %zu (%zu used)", what,
                      req->failed_len, req->cap, used);
    else
        oe_error_setc(err, OE_E_LIMIT,
                      "%s: netlink request too long: attribute %d of %zu octets does not fit in %zu "
                      "(%zu used)",
                      what, req->failed_type, req->failed_len, req->cap, used);
    return -1;
}
