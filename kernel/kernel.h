/*
 * kernel: the agent's conversation with the kernel's IPsec policy database.
 *
 * The agent asks for policies (pass, drop, trap, hold) and hears back
 * ACQUIRE (a packet hit a trap) and policy-expired events on one file
 * descriptor its event loop polls. Two implementations share this header:
 * Linux XFRM over netlink, and an in-memory fake for unit tests.
 *
 * Everything the agent installs sits in its own priority band, so a restart
 * finds exactly what a previous run left (kernel_list) and nothing else.
 * Within the band a more specific selector gets a lower (stronger) priority.
 * A per-peer hold, shunt or tunnel policy is ranked by the group line it
 * came from (its rank), just above that line: it beats the /N trap it came
 * from and nothing more specific than that line.
 *
 * Memory: struct kernel is opened and closed by the caller; kernel_list
 * returns an array the caller frees with free(). Nothing here prints.
 */
#ifndef OE_KERNEL_H
#define OE_KERNEL_H

#include "common/common.h"

enum kernel_action {
    KERNEL_PASS,
    KERNEL_DROP,
    KERNEL_TRAP,   /* static: a template with no SA, so the kernel sends ACQUIRE */
    KERNEL_HOLD,   /* per peer, while negotiating: packets wait in the kernel queue */
    KERNEL_TUNNEL, /* per peer: ESP in tunnel mode between tmpl_src and tmpl_dst */
};

enum kernel_dir { KERNEL_DIR_OUT, KERNEL_DIR_IN, KERNEL_DIR_FWD };

/* Which of the agent's kinds of policy: decides the priority. */
enum kernel_origin {
    KERNEL_ORIGIN_EXEMPT, /* the agent's own IKE and DNS: always strongest */
    KERNEL_ORIGIN_PEER,   /* per-peer hold or shunt */
    KERNEL_ORIGIN_GROUP,  /* a line of a policy group */
};

/*
 * Where a per-peer policy ranks: the selector of the group line it was made
 * under (the remote prefix length in its own family, whether a protocol and
 * how many ports that line names). Unset: by the policy's own selector.
 */
struct kernel_rank {
    bool set;
    uint8_t prefix_len;
    bool proto;
    uint8_t nports;
};

struct kernel_policy {
    struct oe_prefix src, dst;
    uint8_t proto;         /* 0 = any */
    uint16_t sport, dport; /* 0 = any */
    enum kernel_dir dir;
    enum kernel_action action;
    enum kernel_origin origin;
    uint32_t lifetime;  /* seconds until the kernel drops it; 0 = forever */
    int64_t expires_at; /* from kernel_list: expiry on kernel_clock(), 0 = never */
    uint32_t priority;  /* from kernel_list; kernel_install computes it */
    /*
     * KERNEL_ORIGIN_PEER: a hold, shunt or tunnel sits just above the line
     * that made it, not at its own /32, so a more specific line covering part
     * of the host (a port-scoped private, clear or block) keeps its action for
     * its ports.
     */
    struct kernel_rank rank;
    /* KERNEL_TUNNEL: the SA's outer addresses and the reqid that ties it to them */
    struct oe_addr tmpl_src, tmpl_dst;
    uint32_t reqid;
};

/*
 * An ESP SA in tunnel mode, host-to-host selectors: AES-GCM-16 (RFC 4106)
 * when auth_bits is 0, else AES-CBC (RFC 3602) with HMAC-SHA2-auth_bits
 * truncated to half (RFC 4868).
 */
struct kernel_sa {
    uint32_t spi;
    struct oe_addr src, dst; /* outer */
    struct oe_prefix sel_src, sel_dst;
    uint32_t reqid;
    uint8_t key[36]; /* GCM: AES key and 4-octet salt (20 or 36); CBC: AES key (16 or 32) */
    size_t key_len;
    unsigned auth_bits;                  /* 0, 256, 384 or 512 */
    uint8_t auth_key[64];                /* auth_bits / 8 octets */
    uint16_t encap_sport, encap_dport;   /* UDP encapsulation (RFC 3948); 0: none */
    uint32_t soft_seconds, hard_seconds; /* 0: none */
    /*
     * The ACQUIRE that made this tunnel (kernel_event.acquire_seq), on the
     * outbound SA; 0: none. The kernel then drops the larval state that
     * ACQUIRE left, which would otherwise keep the next ACQUIRE for the pair
     * back for xfrm_acq_expires (30 s) should the tunnel go soon.
     */
    uint32_t acquire_seq;
};

/*
 * An ESP SA moved to new outer addresses and UDP encapsulation ports, as a
 * NAT's new mapping asks (RFC 7296 2.23): the SA named by spi and old_dst
 * keeps its keys, sequence numbers (the peer's replay window must see them
 * go on), lifetimes and reqid; only src, dst and the ports change.
 */
struct kernel_sa_move {
    uint32_t spi;
    struct oe_addr old_dst;
    struct oe_addr src, dst;
    uint16_t encap_sport, encap_dport;
};

struct kernel_sa_stats {
    uint64_t bytes, packets;
    int64_t add_time;
};

#define KERNEL_PRIO_BASE 0x00a00000u
#define KERNEL_PRIO_BAND 0x1000u

uint32_t kernel_priority(const struct kernel_policy *p);
bool kernel_priority_ours(uint32_t priority);
enum kernel_origin kernel_priority_origin(uint32_t priority);

const char *kernel_action_name(enum kernel_action a);
const char *kernel_dir_name(enum kernel_dir d);
/* "192.0.2.0/24 -> 198.51.100.7/32 tcp 0 80" (the ports only when set) */
const char *kernel_selector_str(const struct kernel_policy *p, char *buf, size_t len);
/* Same selector and direction: the kernel's notion of "the same policy". */
bool kernel_same_selector(const struct kernel_policy *a, const struct kernel_policy *b);

enum kernel_event_type {
    KERNEL_EV_ACQUIRE,
    KERNEL_EV_POLICY_EXPIRED,
    KERNEL_EV_SA_EXPIRED,
    KERNEL_EV_ADDR_NEW,   /* an address IKE can use came (src), on interface ifindex */
    KERNEL_EV_ADDR_DEL,   /* and went */
    KERNEL_EV_ADDR_LOST,  /* address events were lost (a full socket buffer): list the addresses again */
    KERNEL_EV_SA_MAPPING, /* XFRM_MSG_MAPPING: an ESP-in-UDP packet for the inbound SA (spi, dst) came
                             from src:sport, not where the SA says; the kernel reports it after the
                             packet's ICV verified and its sequence number passed the replay window */
};

struct kernel_event {
    enum kernel_event_type type;
    /* ACQUIRE: the packet's flow; SA_MAPPING: src and sport are where the ESP came from */
    struct oe_addr src, dst;
    uint8_t proto;
    uint16_t sport, dport;
    /* ACQUIRE: the policy that trapped it; EXPIRED: the policy that went */
    struct kernel_policy policy;
    uint32_t acquire_seq; /* ACQUIRE: the kernel's number for it (kernel_sa.acquire_seq) */
    /* SA_EXPIRED: an ESP SA's lifetime ran out: soft (rekey it) or hard (the kernel dropped it);
     * spi and dst name the SA (an SPI alone is not unique), src is its source */
    uint32_t spi;
    bool hard;
    unsigned ifindex; /* ADDR_NEW, ADDR_DEL */
};

typedef void (*kernel_event_fn)(const struct kernel_event *ev, void *arg);

struct kernel;

struct kernel *kernel_xfrm_open(struct oe_error *err);
struct kernel *kernel_fake_new(void);
void kernel_close(struct kernel *k);

/* Adds the policy or replaces the one with the same selector and direction. */
int kernel_install(struct kernel *k, const struct kernel_policy *p, struct oe_error *err);
int kernel_remove(struct kernel *k, const struct kernel_policy *p, struct oe_error *err);
/* The agent's own policies now in the kernel (its priority band only). */
/* The clock expires_at is on (seconds): the kernel's own, never to be mixed with the caller's. */
int64_t kernel_clock(const struct kernel *k);
int kernel_list(struct kernel *k, struct kernel_policy **out, size_t *n, struct oe_error *err);
/*
 * net.core.xfrm_larval_drop: 0 queues packets that wait for an SA instead of
 * dropping them. Per network namespace.
 */
int kernel_set_larval_drop(struct kernel *k, int value, struct oe_error *err);
/*
 * net.core.xfrm_acq_expires: how long the larval state an ACQUIRE leaves
 * lives; while it does, the pair gets no other ACQUIRE (one that no tunnel
 * took, after a restart or an ACQUIRE left waiting, is asked again only
 * then). Per network namespace.
 */
int kernel_set_acq_expires(struct kernel *k, int seconds, struct oe_error *err);

int kernel_sa_add(struct kernel *k, const struct kernel_sa *sa, struct oe_error *err);
/*
 * Delete every ESP SA whose reqid is in [first, first + count): what an
 * earlier run of the agent left (IKE_REQID_FIRST). Larval states are not
 * SAs and stay.
 */
int kernel_sa_flush_reqids(struct kernel *k, uint32_t first, uint32_t count, size_t *removed, struct oe_error *err);
int kernel_sa_del(struct kernel *k, uint32_t spi, const struct oe_addr *dst, struct oe_error *err);
/*
 * Move an ESP SA (kernel_sa_move). Linux: XFRM_MSG_GETSA for the SA as it
 * is, then XFRM_MSG_UPDSA when only the ports change; a new destination is
 * a new SA (the kernel keys an SA on destination, SPI and protocol): added,
 * then the old one deleted; a new source alone (UPDSA keeps the old one):
 * deleted, then added again.
 */
int kernel_sa_move(struct kernel *k, const struct kernel_sa_move *m, struct oe_error *err);

/*
 * Between the GETSA that reads an SA's sequence number and the DELSA of
 * the old SA, the old one goes on sending: a new SA that started from the
 * number read would send those numbers again, and with AES-GCM the
 * sequence number is the nonce (RFC 4106 3.1), so a repeat leaks the
 * plaintexts and the authentication key. A moved SA starts this far above
 * what was read, more than can be sent in the moment a move takes; a gap
 * is harmless to the peer's replay window. Near the end of the 32-bit
 * space it stops at the last number: the kernel then sends no more on it
 * and the SA expires, to be rekeyed, rather than wrap.
 */
#define KERNEL_SA_MOVE_SEQ_GAP (1u << 20)
uint32_t kernel_sa_moved_oseq(uint32_t oseq);
int kernel_sa_stats(struct kernel *k, uint32_t spi, const struct oe_addr *dst, struct kernel_sa_stats *st,
                    struct oe_error *err);

/*
 * The host's addresses IKE can use (global scope: no loopback, no
 * link-local), as an array the caller frees; after watch, each one that
 * comes or goes is an ADDR event.
 */
int kernel_addresses(struct kernel *k, struct oe_addr **out, size_t *n, struct oe_error *err);
int kernel_watch_addresses(struct kernel *k, struct oe_error *err);
/* The same without a struct kernel (needs no XFRM): what ipsec verify checks. */
int kernel_host_addresses(struct oe_addr **out, size_t *n, struct oe_error *err);

/*
 * What this kernel offers IPsec, asked without the agent (ipsec verify).
 * xfrm: XFRM netlink answers a request; esp4, esp6: an ESP SA (AES-CBC,
 * HMAC-SHA2-256) of that family can be added (a throwaway one, on loopback,
 * with a mark no packet carries and a 5 s lifetime, is added and deleted).
 * Each is 0 when present, else the errno the kernel gave (EPERM: not root;
 * EPROTONOSUPPORT: no ESP), with the kernel's own words in *_why when it
 * said any.
 */
struct kernel_support {
    int xfrm, esp4, esp6;
    char xfrm_why[160], esp4_why[160], esp6_why[160];
};
void kernel_probe_support(struct kernel_support *out);

/*
 * Client address translation (draft-antony-ipsecme-oppo-nat, libreswan's
 * "CAT"): behind a NAT the responder leases us an address and our tunnel to
 * it is for that lease. Our own traffic to that peer is translated to the
 * lease as it goes into the tunnel (SNAT, only for packets an IPsec policy
 * took) and back as it comes out (DNAT, only for packets that came through
 * IPsec), so nothing else on the host is touched. The rules live in one
 * nftables table the agent owns (KERNEL_NAT_TABLE, both families), made on
 * the first translation; kernel_nat_flush removes the whole table: what an
 * earlier run left, at start.
 */
#define KERNEL_NAT_TABLE "inet oe-agent"

struct kernel_nat {
    struct oe_addr local; /* our own address: what our packets to the peer leave from */
    struct oe_addr lease; /* the address the peer leased us: what the tunnel carries */
    struct oe_addr peer;  /* the peer's address (the tunnel's remote host) */
};

/* Adds the translation (or replaces one for the same local and peer). */
int kernel_nat_add(struct kernel *k, const struct kernel_nat *n, struct oe_error *err);
int kernel_nat_del(struct kernel *k, const struct kernel_nat *n, struct oe_error *err);
/* The agent's table gone, whatever it held (no table: 0). */
int kernel_nat_flush(struct kernel *k, struct oe_error *err);
/*
 * The nftables script for each (kernel_nat.c), written to buf; the length,
 * or -1 when it does not fit. The addresses are ours, formatted by us.
 */
enum kernel_nat_op { KERNEL_NAT_CREATE, KERNEL_NAT_ADD, KERNEL_NAT_DEL, KERNEL_NAT_FLUSH };
int kernel_nat_script(enum kernel_nat_op op, const struct kernel_nat *n, char *buf, size_t len);

/* Events: poll kernel_fd() for input (one fd for all of them), then kernel_process() calls fn per event. */
int kernel_fd(struct kernel *k);
int kernel_process(struct kernel *k, kernel_event_fn fn, void *arg, struct oe_error *err);

/* The fake's controls, for unit tests. */
int kernel_fake_packet(struct kernel *k, const struct oe_addr *src, const struct oe_addr *dst, uint8_t proto,
                       uint16_t sport, uint16_t dport);
/* The clock moves: policies and SAs whose lifetimes ran out send their events. */
void kernel_fake_advance(struct kernel *k, uint32_t seconds);
int64_t kernel_fake_now(const struct kernel *k); /* the fake's clock, as kernel_clock() */
unsigned long kernel_fake_changes(const struct kernel *k);
int kernel_fake_set_failure(struct kernel *k, int err_no);
/* Outbound packets so far: sent (pass, tunnel), dropped (drop, a queue's loss), queued on a trap or hold. */
struct kernel_fake_packets {
    unsigned sent, dropped, queued;
};
struct kernel_fake_packets kernel_fake_packets(const struct kernel *k);
/* The fake's ESP SA (spi, dst), as added or moved: false when it has none. */
bool kernel_fake_sa(const struct kernel *k, uint32_t spi, const struct oe_addr *dst, struct kernel_sa *out);
/* An ESP-in-UDP packet for the inbound SA (spi, dst) came from src:sport: a MAPPING event if it moved. */
int kernel_fake_esp_from(struct kernel *k, uint32_t spi, const struct oe_addr *dst, const struct oe_addr *src,
                         uint16_t sport);
/* Model the larval state an ACQUIRE leaves for that long (xfrm_acq_expires; 0: off, the default). */
void kernel_fake_set_larval(struct kernel *k, uint32_t seconds);
/* The kernel's queue timer turns once: each queue's first packet decides for all on it. */
void kernel_fake_queue_timer(struct kernel *k);
/* The translations in the fake's table (kernel_nat_add), at most max of them copied; how many there are. */
size_t kernel_fake_nat(const struct kernel *k, struct kernel_nat *out, size_t max);
/* An address of the fake host comes (present) or goes: an ADDR event once addresses are watched. */
int kernel_fake_address(struct kernel *k, const struct oe_addr *a, bool present);

#endif
