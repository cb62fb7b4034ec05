/*
 * The IKEv2 core (RFC 7296): events in, actions out. It owns every IKE SA
 * and its Child SA; it never touches a socket, the kernel or DNS. The caller
 * feeds it datagrams, timer expiries and key-lookup answers, and carries out
 * what it returns: send this, arm that timer, install this Child SA, look up
 * the key for that identity, and log lines in pluto's style.
 *
 * Memory: actions own their message and key buffers until
 * ike_actions_clear(), which wipes the keys.
 */
#ifndef OE_IKE_H
#define OE_IKE_H

#include "common/common.h"

enum ike_authby { IKE_AUTHBY_RSASIG, IKE_AUTHBY_NULL };

#define IKE_NATT_PORT 4500
#define IKE_NATT_KEEPALIVE 0xff     /* RFC 3948 2.3: a one-octet datagram, sent without the non-ESP marker */
#define IKE_NATT_KEEPALIVE_MS 20000 /* keep-alive's default: pluto's, and RFC 3948 4's 20 s */

struct ike_endpoint {
    struct oe_addr addr;
    uint16_t port;
};

/* The ciphers a configuration may list: their IKE ENCR transform IDs (RFC 7296 3.3.2). */
enum ike_cipher { IKE_CIPHER_AES_CBC = 12, IKE_CIPHER_AES_GCM_16 = 20 };

/* ID payload types (RFC 7296 3.5, RFC 7619): an action's id_type */
enum ike_id_type { IKE_ID_IPV4 = 1, IKE_ID_FQDN = 2, IKE_ID_IPV6 = 5, IKE_ID_NULL = 13 };

/* An RSA public key as RFC 3110 writes it (exponent length, exponent, modulus); the bytes are the caller's. */
struct ike_pubkey {
    const uint8_t *rfc3110;
    size_t len;
};
/*
 * A peer may publish more than one key (a key rollover publishes the old
 * and the next one side by side): its AUTH is verified against each in
 * turn, and the first that verifies is the one the IKE SA keeps.
 */
#define IKE_MAX_PEER_KEYS 4

/*
 * The host key, held by whoever keeps it (the core never sees it): sign()
 * puts an RSASSA-PSS signature (SHA-256, MGF1-SHA-256, 32-octet salt; RFC
 * 8017 8.1) of data in a malloc'ed *sig. sign NULL: no host key, only NULL
 * authentication. has_key, when set, says whether there is a key now: the
 * keeper may load one after the core starts (`ipsec rereadkeys`).
 */
struct ike_signer {
    int (*sign)(void *ctx, const uint8_t *data, size_t len, uint8_t **sig, size_t *siglen, struct oe_error *err);
    void *ctx;
    bool (*has_key)(void *ctx);
};

/*
 * Where the core's randomness comes from (SPIs, nonces, IVs, MODP secrets,
 * rekey jitter): random NULL is NSS's generator; a test or fuzzer injects
 * its own to replay an exchange exactly. Time is not here: every event
 * carries its now_ms. (ECDH key pairs are made inside NSS and cannot be
 * replayed: a replay uses MODP group 14.)
 */
struct ike_env {
    int (*random)(void *ctx, uint8_t *buf, size_t len);
    void *ctx;
};

struct ike_config {
    struct ike_signer signer;
    /* initiator: whether an address is this host's, or a host's behind it (a lease the responder
     * gives us must be neither: its tunnel's policies would take over that address's traffic to
     * the peer); NULL: none is */
    bool (*address_is_ours)(void *ctx, const struct oe_addr *a);
    void *address_ctx;
    struct ike_env env;
    uint32_t retransmit_ms; /* first retransmission; doubles */
    unsigned retransmit_tries;
    /* what unauthenticated IKE_SA_INIT requests can make us keep (half-open: answered, no AUTH yet) */
    unsigned cookie_threshold;         /* this many half-open SAs: demand cookies (RFC 7296 2.6) */
    unsigned max_half_open;            /* this many: refuse new ones, cookie or not */
    unsigned max_half_open_per_source; /* from one address (IPv6: one /64) */
    uint32_t half_open_timeout_ms;     /* a half-open SA goes after this */
    unsigned max_sas_per_peer;         /* responder IKE SAs for one host pair: a new one replaces the oldest */
    int dh_groups[4];                  /* preference order; 0 ends */
    int ciphers[2];                    /* enum ike_cipher: AES-GCM-16, or AES-CBC with HMAC-SHA2;
                                              offered in this order, the only ones taken; 0 ends */
    uint32_t child_lifetime_s;         /* the kernel drops a Child SA after this; we rekey before */
    uint32_t ike_lifetime_s;           /* we rekey the IKE SA before this */
    uint32_t dpd_delay_s;              /* liveness check after this long without a word from the peer; 0: none */
    uint32_t keepalive_ms;             /* NAT keepalives from the side behind a NAT (RFC 3948 2.3); 0: none */
    struct oe_prefix subnets[8];       /* a gateway's: peers may ask for tunnels to hosts in these */
    size_t nsubnets;
    /* address-pool: what NAT'ed initiators are leased (RFC 7296 3.15), one prefix a family; family 0: none */
    struct oe_prefix address_pool[2];
    unsigned max_leases_per_source; /* leases held by initiators behind one address (as we see it, to one of ours) */
};

void ike_config_defaults(struct ike_config *c);

/*
 * Our Child SAs' reqids come from a band of their own ("OE"), so that a
 * restarted agent can tell the SAs its predecessor left from anyone else's.
 */
#define IKE_REQID_FIRST 0x4f450000u
#define IKE_REQID_COUNT 0x01000000u

/*
 * Whether an initiator asks the responder for an address (RFC 7296 3.15
 * CFG_REQUEST, draft-antony-ipsecme-oppo-nat "client address translation"):
 * never, always, or when NAT detection in IKE_SA_INIT shows a NAT in front
 * of us (RFC 7296 2.23). A lease in the CFG_REPLY becomes local_host.
 */
enum ike_ask_address { IKE_ASK_NEVER = 0, IKE_ASK_ALWAYS = 1, IKE_ASK_IF_NAT = 2 };

struct ike_initiate {
    struct ike_endpoint local, remote;
    struct oe_addr local_host, remote_host; /* the Child SA's host-to-host selectors */
    enum ike_authby auth;
    struct ike_pubkey peer_key;                         /* IKE_AUTHBY_RSASIG: the responder's (copied) */
    struct ike_pubkey more_keys[IKE_MAX_PEER_KEYS - 1]; /* and its other published ones (copied) */
    size_t nmore;
    enum ike_ask_address ask_address; /* send a CFG_REQUEST for local_host's family (never, always,
                                         behind a NAT): the responder's lease becomes local_host */
    uint32_t tag;                     /* the caller's, echoed in actions */
};

#define IKE_MAX_KEY 36       /* AES-256 + 4-octet GCM salt */
#define IKE_MAX_INTEG_KEY 64 /* HMAC-SHA2-512 */

/* "AES_GCM_16_256" or "AES_CBC_256-HMAC_SHA2_256_128", as pluto names them */
const char *ike_algs_name(int encr, int bits, int integ, char *buf, size_t len);

struct ike_child_sa {
    uint32_t spi_in, spi_out;     /* inbound: ours; outbound: the peer's; 0: not this one */
    struct oe_addr local, remote; /* tunnel endpoints */
    struct oe_addr local_host, remote_host;
    uint16_t encr; /* IKE transform id: 20 = AES-GCM-16, 12 = AES-CBC */
    uint16_t encr_bits;
    uint16_t integ; /* 0 with GCM; 12, 13, 14 = HMAC-SHA2-256/384/512 */
    uint8_t key_in[IKE_MAX_KEY], key_out[IKE_MAX_KEY];
    size_t key_len;
    uint8_t integ_in[IKE_MAX_INTEG_KEY], integ_out[IKE_MAX_INTEG_KEY];
    size_t integ_len;
    uint32_t reqid;
    uint16_t encap_local, encap_remote; /* UDP encapsulation ports; 0: none */
    bool sas_only;                      /* DELETE: the SAs only, the policies serve a newer pair;
                                         INSTALL (a rekey): the SAs only, the policies serve them already */
    uint32_t soft_s, hard_s;            /* INSTALL: kernel lifetimes (expire events: ike_child_expired) */
    /* an address leased by IKEv2 CP (address-pool): as responder, to the NAT'ed peer (then it is
     * remote_host; remote is where the NAT sends from); as initiator, to us (then it is local_host).
     * family 0: none, a host-to-host tunnel between the hosts themselves */
    struct oe_addr lease;
};

enum ike_action_kind {
    IKE_ACT_SEND,             /* msg from local to remote */
    IKE_ACT_TIMER,            /* call ike_timer(serial) after ms */
    IKE_ACT_INSTALL,          /* child */
    IKE_ACT_DELETE,           /* child (SPIs and endpoints set) */
    IKE_ACT_UP,               /* IKE SA and Child SA established */
    IKE_ACT_DOWN,             /* the IKE SA is gone; text says why */
    IKE_ACT_NEED_KEY,         /* responder: call ike_peer_key(serial); child.remote_host is the one host the
                           peer asks a tunnel for (TSi; behind a NAT, its outer address): not its own
                           address (remote) when it claims to be that host's gateway; child.local_host
                           is ours or one behind us */
    IKE_ACT_REKEYED,          /* the Child SA was rekeyed: child has the new SPIs (installed too) */
    IKE_ACT_UPDATE_ENDPOINTS, /* the peer's NAT remapped it (RFC 7296 2.23): move the kernel's pair
                                 child.spi_in/spi_out, now between child.local and child.remote with
                                 ESP in UDP to child.encap_remote, from where moved_from says (the
                                 peer's old address and port); not child.sas_only: the tunnel
                                 policies' templates too. An SPI 0 is not in the kernel. */
    IKE_ACT_LOG,
};

struct ike_action {
    enum ike_action_kind kind;
    unsigned serial; /* the IKE SA's "#N" */
    uint32_t tag;
    uint32_t note; /* UP: what the caller noted on this IKE SA (ike_peer_note) */
    struct ike_endpoint local, remote;
    uint8_t *msg;
    size_t len;
    uint32_t ms;
    struct ike_child_sa child;
    struct ike_endpoint moved_from; /* UPDATE_ENDPOINTS: the peer's endpoint before */
    uint8_t id_type;                /* NEED_KEY / UP: the peer's identity */
    char id[256];
    char text[300];
};

struct ike_actions {
    struct ike_action *v;
    size_t n, cap;
};

void ike_actions_clear(struct ike_actions *a);

struct ike_core;
struct ike_core *ike_core_new(const struct ike_config *cfg, struct oe_error *err);
void ike_core_free(struct ike_core *core);

/* Start an IKE SA and its Child SA; returns the serial. */
unsigned ike_initiate(struct ike_core *core, const struct ike_initiate *req, uint64_t now_ms, struct ike_actions *out);
void ike_receive(struct ike_core *core, const struct ike_endpoint *local, const struct ike_endpoint *remote,
                 const uint8_t *data, size_t len, uint64_t now_ms, struct ike_actions *out);
void ike_timer(struct ike_core *core, unsigned serial, uint64_t now_ms, struct ike_actions *out);
/*
 * The answer to IKE_ACT_NEED_KEY: the key that may speak for the hosts it
 * named (NULL: none; the caller has checked that DNS binds this key to that
 * host and to the peer's identity), and whether NULL authentication (RFC
 * 7619) is acceptable from this peer. A key answered is the tunnel's
 * authorization: the core installs exactly those hosts once AUTH verifies.
 */
/* A word of the caller's about the IKE SA (how its key was found), given back with its UP. */
void ike_peer_note(struct ike_core *core, unsigned serial, uint32_t note);
void ike_peer_key(struct ike_core *core, unsigned serial, const struct ike_pubkey *key, bool allow_null,
                  struct ike_actions *out);
/* The same with every key that may speak for those hosts (at most IKE_MAX_PEER_KEYS; n 0: none). */
void ike_peer_keys(struct ike_core *core, unsigned serial, const struct ike_pubkey *keys, size_t n, bool allow_null,
                   struct ike_actions *out);
/*
 * The kernel's expire event for a Child SA (either of its SAs, named by its
 * SPI and destination address, as the kernel names an SA): soft starts a
 * rekey (CREATE_CHILD_SA), hard takes the IKE SA down.
 */
void ike_child_expired(struct ike_core *core, uint32_t spi, const struct oe_addr *dst, bool hard, uint64_t now_ms,
                       struct ike_actions *out);
/*
 * The kernel's XFRM_MSG_MAPPING: an ESP-in-UDP packet for our inbound SA
 * (spi, dst) came from peer, not from the address and port the SA has. The
 * kernel reports it only after the packet's ICV verified and its sequence
 * number passed the replay window, so it is an authenticated, new packet as
 * RFC 7296 2.23 asks: the Child SA's IKE SA follows it as it would an IKE
 * message (ike_nat_follow), when the peer is behind a NAT and we are not.
 */
void ike_esp_mapping(struct ike_core *core, uint32_t spi, const struct oe_addr *dst, const struct ike_endpoint *peer,
                     uint64_t now_ms, struct ike_actions *out);
/* Tear an IKE SA down with a Delete (INFORMATIONAL). */
void ike_delete(struct ike_core *core, unsigned serial, uint64_t now_ms, struct ike_actions *out);
size_t ike_sa_count(const struct ike_core *core);
size_t ike_half_open_count(const struct ike_core *core); /* responder SAs before a completed IKE_AUTH */
/* Every IKE SA on that local address ends, without a Delete (the address is gone): how many. */
size_t ike_delete_local(struct ike_core *core, const struct oe_addr *local, uint64_t now_ms, struct ike_actions *out);

#endif
