/* The implementations behind kernel.h; not part of the public interface. */
#ifndef OE_KERNEL_INTERNAL_H
#define OE_KERNEL_INTERNAL_H

#include "kernel.h"

struct kernel_ops {
    int (*install)(struct kernel *k, const struct kernel_policy *p, struct oe_error *err);
    int (*remove)(struct kernel *k, const struct kernel_policy *p, struct oe_error *err);
    int (*list)(struct kernel *k, struct kernel_policy **out, size_t *n, struct oe_error *err);
    int (*set_larval_drop)(struct kernel *k, int value, struct oe_error *err);
    int (*set_acq_expires)(struct kernel *k, int seconds, struct oe_error *err);
    int (*sa_flush_reqids)(struct kernel *k, uint32_t first, uint32_t count, size_t *removed, struct oe_error *err);
    int (*sa_add)(struct kernel *k, const struct kernel_sa *sa, struct oe_error *err);
    int (*sa_del)(struct kernel *k, uint32_t spi, const struct oe_addr *dst, struct oe_error *err);
    int (*sa_move)(struct kernel *k, const struct kernel_sa_move *m, struct oe_error *err);
    int (*sa_stats)(struct kernel *k, uint32_t spi, const struct oe_addr *dst, struct kernel_sa_stats *st,
                    struct oe_error *err);
    int (*addresses)(struct kernel *k, struct oe_addr **out, size_t *n, struct oe_error *err);
    int (*watch_addresses)(struct kernel *k, struct oe_error *err);
    int (*fd)(struct kernel *k);
    int (*process)(struct kernel *k, kernel_event_fn fn, void *arg, struct oe_error *err);
    void (*close)(struct kernel *k);
    int64_t (*clock)(const struct kernel *k);
    int (*nat_add)(struct kernel *k, const struct kernel_nat *n, struct oe_error *err);
    int (*nat_del)(struct kernel *k, const struct kernel_nat *n, struct oe_error *err);
    int (*nat_flush)(struct kernel *k, struct oe_error *err);
};

struct kernel {
    const struct kernel_ops *ops;
    bool nat_table; /* kernel_nat.c: this run made the agent's nftables table */
    /* kernel.c: the translations in place, one per (local, peer): a newer one replaces an older */
    struct kernel_nat *nat;
    size_t nnat, capnat;
};

/* kernel_nat.c: client address translation with nftables (nft -f -), for the Linux implementation:
 * add and del are told exactly the elements to add and delete (kernel.c keeps the record). */
int kernel_nft_add(struct kernel *k, const struct kernel_nat *n, struct oe_error *err);
int kernel_nft_del(struct kernel *k, const struct kernel_nat *n, struct oe_error *err);
int kernel_nft_flush(struct kernel *k, struct oe_error *err);

/*
 * netlink.c: one netlink request built in a caller's buffer, every write
 * bounded by its capacity (the job libmnl's mnl_nlmsg_put_header and
 * mnl_attr_put do for wireguard-tools and iproute2). A write that would not
 * fit writes nothing and marks the request failed; nl_req_check then refuses
 * to let it be sent, naming the message and what did not fit. Lengths are
 * kept aligned (NLMSG_ALIGN, RTA_ALIGN) and padding is zero.
 */
struct nlmsghdr;

/* The largest request: an SA with AES-CBC, HMAC-SHA2-512 and UDP encapsulation is about 512 */
#define NL_REQ_MAX 1024

/* A request buffer, aligned for any fixed header a request carries. */
union nl_buf {
    max_align_t align;
    unsigned char bytes[NL_REQ_MAX];
};

struct nl_req {
    struct nlmsghdr *h; /* the caller's buffer */
    size_t cap;         /* its size in bytes: nothing is written past it */
    bool failed;
    int failed_type; /* what did not fit: an attribute type, or -1 for a fixed header */
    size_t failed_len;
};

/* A header of type and NLM_F_REQUEST | flags, nothing else yet. */
void nl_req_init(struct nl_req *req, void *buf, size_t cap, uint16_t type, uint16_t flags);
/* Appends the message's fixed header (xfrm_userpolicy_info...); its copy, or NULL. */
void *nl_put(struct nl_req *req, const void *data, size_t len);
/*
 * Appends an attribute of len payload octets copied from data, or zero for
 * the caller to fill when data is NULL; the payload, or NULL when it does
 * not fit (or an earlier write failed).
 */
void *nl_attr(struct nl_req *req, uint16_t type, const void *data, size_t len);
/* 0, or -1 with err naming what (the message) when a write did not fit. */
int nl_req_check(const struct nl_req *req, const char *what, struct oe_error *err);

/*
 * kernel_addr.c: the host's addresses over rtnetlink. decode: one
 * RTM_NEWADDR/RTM_DELADDR message (its length already checked against the
 * datagram) as an ADDR event, false when it is not one IKE can use; socket:
 * one subscribed to address changes (events) or for a dump; dump: the
 * global-scope addresses now, an array the caller frees.
 */
bool kernel_addr_decode(const struct nlmsghdr *h, struct kernel_event *ev);
int kernel_addr_socket(bool events, struct oe_error *err);
int kernel_addr_dump(struct oe_addr **out, size_t *n, struct oe_error *err);

#endif
