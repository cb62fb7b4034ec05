/* The IKE core's private state, shared by its files. */
#ifndef OE_IKE_INTERNAL_H
#define OE_IKE_INTERNAL_H

#include "ike.h"
#include "ike_crypto.h"
#include "ike_msg.h"

/* What a Child SA uses: AES-GCM-16 (integ 0) or AES-CBC with HMAC-SHA2. */
struct ike_esp_algs {
    int encr, bits, integ;
};

/* The indexes of the SA table (ike_sa_index.c): what each files an SA under, and who asks. */
enum ike_ix {
    IKE_IX_SERIAL,    /* its serial: timers, key answers, ike_delete */
    IKE_IX_SPI,       /* our IKE SPI (spi_i if we initiated, spi_r if we answered): every message */
    IKE_IX_INIT,      /* a responder's: the peer's spi_i and address (its IKE_SA_INIT request again) */
    IKE_IX_HOSTS,     /* local_host, remote_host: twins, max-ike-sas-per-peer, policies another SA holds */
    IKE_IX_PEER,      /* local.addr, remote.addr: whether INITIAL_CONTACT is ours to send */
    IKE_IX_IDENTITY,  /* our address and the peer's authenticated identity, once kept: INITIAL_CONTACT received */
    IKE_IX_SOURCE,    /* half-open only, by source (address; IPv6: its /64): max-half-open-per-source */
    IKE_IX_CHILD_IN,  /* the Child SA's inbound SPI and our address: the kernel's expire events */
    IKE_IX_CHILD_OUT, /* its outbound SPI and the peer's address: the same */
    IKE_IX_COUNT
};

enum sa_state {
    SA_INIT_SENT, /* initiator: IKE_SA_INIT request out */
    SA_AUTH_SENT, /* initiator: IKE_AUTH request out */
    SA_INIT_DONE, /* responder: IKE_SA_INIT answered */
    SA_WAIT_KEY,  /* responder: IKE_AUTH waiting for the peer's key */
    SA_ESTABLISHED,
    SA_DELETING,
};

struct ike_sa {
    unsigned serial, child_serial;
    uint32_t tag;
    uint32_t note; /* the caller's, given back with UP (ike_peer_note) */
    bool initiator;
    enum sa_state state;
    uint64_t spi_i, spi_r;
    struct ike_endpoint local, remote;
    struct oe_addr local_host, remote_host;
    /* responder: the hosts the peer's traffic selectors ask for, until its key
     * (which vouches for them) has verified its AUTH */
    struct oe_addr asked_local, asked_remote;
    /* responder: the address leased to a NAT'ed initiator (address-pool), its remote_host
     * once the Child SA is up; it goes back to the pool with the SA. family 0: none */
    struct oe_addr lease;
    bool lease_ours;     /* lease is from our pool (responder), not the peer's (initiator) */
    uint8_t lease_asked; /* responder: the family a NAT'ed initiator's CFG_REQUEST asks and a pool has */
    bool ask_address;    /* initiator: our IKE_AUTH request carries a CFG_REQUEST */
    bool ask_if_nat;     /* initiator: ask_address once NAT detection shows a NAT in front of us */
    enum ike_authby auth;
    const struct ike_env *env; /* the core's: where random numbers come from */
    struct wbuf peer_key;      /* RFC 3110: the initiator's from DNS, the responder's as answered */
    struct wbuf more_keys;     /* initiator, until AUTH verifies: its other published keys (2-octet length, key) */
    /* the peer's authenticated identity (ID payload type and data), for INITIAL_CONTACT */
    uint8_t peer_id_type;
    uint8_t peer_id[IKE_MAX_ID_LEN];
    size_t peer_id_len;
    bool peer_id_kept;                       /* false: none yet, or longer than IKE_MAX_ID_LEN (matches nothing) */
    bool nat_local, nat_remote;              /* a NAT in front of us / of the peer (RFC 7296 2.23) */
    bool nat_moved;                          /* the SAs have followed the peer's NAT, */
    uint64_t nat_moved_ms;                   /* last at this time (ike_nat_follow) */
    struct ike_endpoint rx_local, rx_remote; /* where the message being handled came, and when */
    uint64_t rx_at;

    /* negotiated */
    int prf, encr, encr_bits, integ, dh_group; /* integ 0: AES-GCM (AEAD) */
    struct ike_dh *dh;
    int dh_made; /* the group sa->dh was made for */
    uint8_t ni[IKE_MAX_NONCE], nr[IKE_MAX_NONCE];
    size_t ni_len, nr_len;
    struct wbuf msg1, msg2; /* IKE_SA_INIT request and response, as on the wire */
    struct wbuf cookie;     /* initiator: the responder's cookie to echo */
    unsigned ke_retries;    /* initiator: IKE_SA_INIT restarted for INVALID_KE_PAYLOAD */
    char init_trouble[128]; /* initiator: the last IKE_SA_INIT answer ignored, and why */

    /* RFC 7296 2.14 keys */
    uint8_t sk_d[IKE_MAX_PRF_LEN], sk_pi[IKE_MAX_PRF_LEN], sk_pr[IKE_MAX_PRF_LEN];
    uint8_t sk_ai[IKE_MAX_PRF_LEN], sk_ar[IKE_MAX_PRF_LEN];
    uint8_t sk_ei[IKE_MAX_KEY], sk_er[IKE_MAX_KEY];
    size_t prf_len, akey_len, ekey_len;

    /* message ids and retransmission */
    uint32_t next_msgid;   /* our next request */
    uint32_t peer_msgid;   /* the peer's next request */
    struct wbuf last_req;  /* ours, for retransmission */
    struct wbuf last_resp; /* ours, for the peer's retransmitted request */
    uint32_t last_resp_msgid;
    bool have_resp;
    /* the request last_resp answers, as its hash: only the same octets get it again, and
     * at most IKE_MAX_RESENDS times, IKE_RESEND_GAP_MS apart (RFC 7296 2.1 retransmissions;
     * a header alone must not make us reflect a whole answer) */
    uint8_t rx_hash[32], answered_hash[32];
    unsigned resends;
    uint64_t resent_at;
    bool awaiting; /* our last request is unanswered: the timer retransmits it */
    unsigned tries;
    uint32_t wait_ms, rt_ms;

    /* an exchange of ours on the established SA, and when the next ones are due */
    enum {
        XCHG_NONE,
        XCHG_CHILD_REKEY,
        XCHG_RETIRE_CHILD,
        XCHG_DROP_CHILD,
        XCHG_IKE_REKEY,
        XCHG_RETIRE_IKE,
        XCHG_LIVENESS
    } pending;
    struct ike_dh *rekey_dh;
    uint8_t rekey_ni[IKE_NONCE_LEN];
    uint32_t rekey_spi;                          /* the new Child SA's inbound SPI */
    uint64_t rekey_ike_spi;                      /* the new IKE SA's SPI (ours) */
    uint64_t ike_rekey_at, keepalive_at, dpd_at; /* core clock, ms; 0: never */
    uint64_t heard_at;                           /* when the peer last sent us something we could read */
    uint64_t init_sent_at, auth_req_at;          /* responder: our IKE_SA_INIT answer left, IKE_AUTH came */
    bool retired;                                /* an IKE SA's old self after a rekey: it only carries the Delete */
    bool half_open;                              /* responder: counted in core->half_open until IKE_AUTH completes */
    uint64_t half_open_until;                    /* then it goes (cfg.half_open_timeout_ms) */
    bool child_rekey_wanted;                     /* the Child SA's soft lifetime came while an exchange was in flight */

    /* the Child SA */
    uint32_t child_spi_in, child_spi_out;
    uint32_t child_reqid;
    uint32_t old_spi_in, old_spi_out; /* after a rekey, until the peer deletes them */
    /* responder of a Child SA rekey: the new outbound SA waits until the peer retires
     * the old pair, by then it has the new inbound SA (until then its SPI is larval
     * and our packets on it would be dropped); out_pending_at: at the latest */
    struct ike_child_sa *out_pending;
    uint64_t out_pending_at;
    /* our Child SA rekey crossed the peer's (RFC 7296 2.8.1): the pair its exchange made */
    struct ike_collision *collision;
    uint32_t redundant_in, redundant_out; /* the peer's pair lost: it deletes it */
    bool redundant_out_installed;
    struct ike_esp_algs child_algs;
    struct wbuf auth_req; /* responder: IKE_AUTH plaintext waiting for a key */
    uint8_t auth_req_first;

    /* in its core: the list (newest first), and one node per index (ike_sa_index) */
    struct ike_core *core;
    struct ike_sa *next, *prev;
    uint64_t born; /* the order of the list: the higher, the newer */
    struct oe_hnode ix[IKE_IX_COUNT];
};

/* An ESP SPI as it goes on the wire (network order, 4 octets) and back. */
static inline void ike_put_spi32(uint8_t p[4], uint32_t v)
{
    put_be(p, v, 4);
}

/* A key the SA holds, as the crypto functions take it. */
static inline struct ike_pubkey ike_key_view(const struct wbuf *b)
{
    return (struct ike_pubkey){b->p, b->len};
}

static inline uint32_t ike_get_spi32(const uint8_t p[4])
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct ike_collision {
    uint32_t spi_in, spi_out;
    uint8_t low_nonce[256]; /* the lower of that exchange's two nonces */
    size_t low_len;
};

/* ike_pool.c: addresses leased to NAT'ed initiators (address-pool =), one prefix a family */
struct ike_pool {
    struct oe_prefix prefix; /* family 0: no pool */
    uint64_t first, size;    /* the first address's offset in the prefix; how many there are */
    uint64_t fresh;          /* offsets below this were leased at least once */
    uint64_t *free;          /* offsets leased and given back: taken again first */
    size_t nfree, cap;
    uint64_t in_use;
};
int ike_pool_init(struct ike_pool *p, const struct oe_prefix *prefix, struct oe_error *err);
/* An address nobody holds, or an error that names the setting (OE_E_LIMIT: exhausted). */
int ike_pool_lease(struct ike_pool *p, struct oe_addr *out, struct oe_error *err);
void ike_pool_release(struct ike_pool *p, const struct oe_addr *a);
bool ike_pool_contains(const struct ike_pool *p, const struct oe_addr *a);
void ike_pool_free(struct ike_pool *p);

struct ike_core {
    struct ike_config cfg;
    struct ike_pool pool4, pool6;
    uint64_t now;       /* ms, from the last event */
    struct ike_sa *sas; /* every SA, newest first: for walks that must visit them all */
    struct oe_htab ix[IKE_IX_COUNT];
    uint64_t hash_seed, born;
    unsigned next_serial;
    uint32_t next_reqid;
    size_t half_open;
    bool half_open_full_logged, source_full_logged; /* each limit is logged once while it holds */
    uint8_t cookie_secret[32];
    /* cookie mode (RFC 7296 2.6), with hysteresis: on at cookie-threshold half-open SAs, off once at
     * most half that many are left and no request has needed a cookie for half-open-timeout; each
     * change is one log line, the requests in between are only counted */
    bool cookies;
    uint64_t cookies_since, cookie_asked_at;
    size_t cookies_asked;
};

/* ike_core.c */
struct ike_action *ike_act(struct ike_actions *out, enum ike_action_kind kind, const struct ike_sa *sa);
void ike_log(struct ike_actions *out, const struct ike_sa *sa, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A line about the Child SA: logged under its own serial. */
void ike_log_child(struct ike_actions *out, const struct ike_sa *sa, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ike_send(struct ike_actions *out, struct ike_sa *sa, const struct wbuf *msg, bool request);
/* Encrypt, send and remember a response to the peer's request msgid. */
int ike_respond(struct ike_sa *sa, uint8_t exchange, uint32_t msgid, const struct ike_builder *inner,
                struct ike_actions *out);
/* The Child SA's addresses, selectors, reqid and UDP encapsulation, from its IKE SA. */
void ike_child_endpoints(const struct ike_sa *sa, struct ike_child_sa *c);
/* Take the SA's Child SA out of the kernel (an IKE_ACT_DELETE). */
void ike_act_delete_child(struct ike_actions *out, struct ike_sa *sa);
void ike_sa_fail(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out, const char *why);
/* A new SA, in the core's list and indexes; ike_sa_free takes it out of them. */
struct ike_sa *ike_sa_new(struct ike_core *core, bool initiator);
void ike_sa_free(struct ike_sa *sa);
/* The SA's lease back to its pool (once: the SA then has none). */
void ike_release_lease(struct ike_sa *sa);
#define IKE_MAX_RESENDS 8
#define IKE_RESEND_GAP_MS 250
/* A request again: our last answer again, if it is the same request and not too often. */
void ike_answer_retransmit(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                           struct ike_actions *out);
/* The request being handled is the one the next answer is for. */
void ike_answering(struct ike_sa *sa);
/* The core's own timer (cookie mode): IKE SAs' serials start at 1. */
#define IKE_CORE_TIMER 0u
/* Cookie mode on or off as the half-open count and the last cookie demand say; logs each change. */
void ike_cookies_update(struct ike_core *core, struct ike_actions *out);
/* A responder's SA leaves the half-open count (once: a later failure does not count it again). */
void ike_leave_half_open(struct ike_core *core, struct ike_sa *sa);
/* Half-open SAs from that source (an address; IPv6: its /64). */
size_t ike_half_open_from(const struct ike_core *core, const struct oe_addr *from);
/* Encrypt inner (an SK payload chain) into a full message; 0 on success. */
int ike_encrypt(const struct ike_sa *sa, uint8_t exchange, uint32_t msgid, bool response,
                const struct ike_builder *inner, struct wbuf *msg);
/* Decrypt the SK payload of a parsed message and parse what is inside. */
int ike_decrypt(const struct ike_sa *sa, const uint8_t *msg, size_t len, const struct ike_payloads *outer,
                struct wbuf *plain, struct ike_payloads *inner, struct oe_error *err);
/*
 * ike_decrypt for a handler: the inner payloads (the caller frees them), or
 * NULL when the message is dropped, which is logged as "dropping WHAT: why".
 */
struct ike_payloads *ike_open(struct ike_sa *sa, const uint8_t *msg, size_t len, const struct ike_payloads *outer,
                              struct wbuf *plain, const char *what, struct ike_actions *out);
int ike_derive_ike_keys(struct ike_sa *sa, const uint8_t *shared, size_t slen);
/* RFC 7296 2.18: the keys of a rekeyed IKE SA, from the old SA's PRF and SK_d. */
int ike_derive_rekeyed_keys(struct ike_sa *sa, int old_prf, const uint8_t *old_sk_d, size_t old_len,
                            const uint8_t *shared, size_t slen);
void ike_describe_id(uint8_t type, struct chunk data, char *out, size_t len);

/* ike_sa_index.c */
/*
 * After a change to any field an index keys on (SPIs, initiator, local,
 * remote, local_host, remote_host, auth, peer_id*, half_open, child_spi_in,
 * child_spi_out): the SA filed again under its keys.
 */
void ike_sa_index(struct ike_sa *sa);
/* Into the core's list (as its newest) and indexes; out of them. */
void ike_sa_link(struct ike_core *core, struct ike_sa *sa);
void ike_sa_unlink(struct ike_sa *sa);
void ike_sa_index_free(struct ike_core *core);
/*
 * The SAs filed under one key of index ix (the hash from ike_ix_hash_*), and
 * some others: the caller checks its conditions on each. Nothing may leave
 * the index while a walk is on it.
 */
struct ike_ix_iter {
    enum ike_ix ix;
    struct oe_hnode *node;
};
struct ike_sa *ike_ix_first(struct ike_ix_iter *it, const struct ike_core *core, enum ike_ix ix, uint64_t hash);
struct ike_sa *ike_ix_next(struct ike_ix_iter *it);
/* The key sa is filed under in ix; an address's as a source; an SPI's (with a destination, or NULL). */
uint64_t ike_ix_hash_of(const struct ike_sa *sa, enum ike_ix ix);
uint64_t ike_ix_hash_source(const struct ike_core *core, const struct oe_addr *from);
uint64_t ike_ix_hash_spi(const struct ike_core *core, uint64_t spi, const struct oe_addr *a);
/* Of two matches the newer (best NULL: sa), as the first match in core->sas would be. */
struct ike_sa *ike_sa_newer(struct ike_sa *best, struct ike_sa *sa);
struct ike_sa *ike_sa_by_serial(const struct ike_core *core, unsigned serial);
/* The SA a message with these SPIs from remote is for, or NULL. */
struct ike_sa *ike_sa_by_spi(const struct ike_core *core, const struct ike_header *h,
                             const struct ike_endpoint *remote);
/* For the tests: whether every SA is filed where its fields say (false: why). */
bool ike_sa_index_check(const struct ike_core *core, char *why, size_t len);

/* ike_init.c */
/* An IKE proposal we take: its transforms; spi points at the proposal (for its SPI). */
struct ike_choice {
    int encr, encr_bits, integ, prf, dh;
    uint8_t num;
    const struct ike_proposal *spi;
};
/* The configured ciphers (ike_config.ciphers): how many, and whether encr is one. */
size_t ike_cipher_count(const struct ike_config *cfg);
bool ike_cipher_ok(const struct ike_config *cfg, int encr);
/* Whether group is one of ike_config.dh_groups (dh-groups). */
bool ike_dh_group_ok(const struct ike_config *cfg, int group);
/* Our IKE SA offer: a proposal per configured cipher, in its order. */
size_t ike_proposal_offer(const struct ike_core *core, int first_dh, struct ike_proposal p[2]);
/* The peer's IKE proposals with ke_group in its KE: true and c, or want_group another group we would take. */
bool ike_choose_ike(const struct ike_core *core, const struct ike_sa_payload *sa, int ke_group, struct ike_choice *c,
                    int *want_group);
/* The chosen proposal as an answer carries it (spi 0: none, as in IKE_SA_INIT). */
void ike_ike_answer(const struct ike_choice *c, uint64_t spi, struct ike_proposal *p);
/*
 * The peer's answer, one proposal, to our offer (ike_proposal_offer, with a KE for ke_group):
 * true and c, or false and why (what it chose that we did not offer).
 */
bool ike_read_ike_answer(const struct ike_config *cfg, const struct ike_proposal *p, int ke_group, struct ike_choice *c,
                         char *why, size_t len);
void ike_send_sa_init(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out);
void ike_handle_sa_init_request(struct ike_core *core, const struct ike_endpoint *local,
                                const struct ike_endpoint *remote, const uint8_t *msg, size_t len,
                                const struct ike_header *h, const struct ike_payloads *pl, struct ike_actions *out);
void ike_handle_sa_init_response(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                                 const struct ike_payloads *pl, struct ike_actions *out);

/* ike_auth.c */
void ike_send_auth(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out);
/* Our IKE_AUTH request with these traffic selectors, encrypted (msgid: next_msgid++). */
int ike_build_auth_request(struct ike_core *core, struct ike_sa *sa, const struct ike_ts *tsi, size_t ntsi,
                           const struct ike_ts *tsr, size_t ntsr, struct wbuf *msg, struct oe_error *err);
void ike_handle_auth_request(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                             const struct ike_header *h, const struct ike_payloads *pl, struct ike_actions *out);
void ike_continue_auth_request(struct ike_core *core, struct ike_sa *sa, const struct ike_pubkey *keys, size_t nkeys,
                               bool allow_null, struct ike_actions *out);
void ike_handle_auth_response(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                              const struct ike_payloads *pl, struct ike_actions *out);

int ike_child_keymat(const struct ike_sa *sa, bool we_initiated, const uint8_t *shared, size_t slen, const uint8_t *ni,
                     size_t nilen, const uint8_t *nr, size_t nrlen, const struct ike_esp_algs *algs,
                     struct ike_child_sa *c);
void ike_host_ts(const struct oe_addr *a, struct ike_ts *t);
/* Our ESP offer: a proposal per configured cipher, in its order; dh != 0 adds that group (PFS). */
size_t ike_esp_offer(const struct ike_config *cfg, uint32_t spi, int dh, struct ike_proposal p[2]);
/* The pick among the peer's ESP proposals (and its algorithms), or NULL. */
const struct ike_proposal *ike_choose_esp(const struct ike_config *cfg, const struct ike_sa_payload *sa,
                                          struct ike_esp_algs *algs);
/* The accepted proposal as the answer carries it: our SPI, the algorithms chosen, dh if any. */
void ike_esp_answer(const struct ike_proposal *chosen, const struct ike_esp_algs *algs, uint32_t spi, int dh,
                    struct ike_proposal *p);
uint32_t ike_spi_of(const struct ike_proposal *p);

/* ike_core.c: the established SA's own timer (rekey, keepalive) */
void ike_arm_established(const struct ike_core *core, struct ike_sa *sa, struct ike_actions *out);
/* Send a request of ours on the established SA (retransmitted until answered); 0 on success. */
int ike_request(struct ike_sa *sa, uint8_t exchange, const struct ike_builder *inner, struct ike_actions *out);
/* A lifetime less a margin and some jitter, so both ends do not rekey at once. */
uint32_t ike_rekey_after(const struct ike_env *env, uint32_t lifetime_s);
/* When the (new) IKE SA is to be rekeyed: ike_lifetime_s from now, less the margin; 0: never. */
uint64_t ike_rekey_due(const struct ike_core *core);

/* ike_rekey.c */
/* A CREATE_CHILD_SA answer that is only a notify (a refusal). */
void ike_reply_create_child(struct ike_sa *sa, uint32_t msgid, uint16_t type, struct ike_actions *out);
void ike_start_child_rekey(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out);
/* The kernel lifetimes a new Child SA gets. */
void ike_child_lifetimes(const struct ike_core *core, struct ike_child_sa *c);
void ike_handle_create_child_response(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                                      const struct ike_payloads *pl, struct ike_actions *out);
void ike_handle_create_child_sa(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                                const struct ike_header *h, const struct ike_payloads *pl, struct ike_actions *out);

/* ike_rekey_ike.c */
void ike_start_ike_rekey(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out);
void ike_answer_ike_rekey(struct ike_core *core, struct ike_sa *sa, uint32_t msgid, const struct ike_payloads *in,
                          struct ike_actions *out);
/* Our IKE SA rekey answered; false when the SA had to go. */
bool ike_rekey_answered(struct ike_core *core, struct ike_sa *sa, const struct ike_payloads *in,
                        struct ike_actions *out);

/* ike_child_switch.c */
/* How long the new outbound SA of a rekey the peer started may wait for the old pair's Delete. */
#define IKE_PENDING_OUT_MS 3000
/*
 * An INSTALL c (c->spi_in and c->spi_out) takes its inbound SA (and policies) only; its
 * outbound half waits in sa->out_pending until ike_install_pending_out, at the latest ms
 * from now (the caller arms the timer).
 */
void ike_hold_outbound(const struct ike_core *core, struct ike_sa *sa, struct ike_child_sa *c, uint32_t ms);
/* The waiting outbound SA goes to the kernel now (why: logged)... */
void ike_install_pending_out(struct ike_sa *sa, struct ike_actions *out, const char *why);
/* ... or never (it is wiped). */
void ike_drop_pending_out(struct ike_sa *sa);
/* The peer's Child SA rekey request came while ours is in flight: remember its pair and nonces. */
void ike_note_collision(struct ike_sa *sa, uint32_t spi_in, uint32_t spi_out, const uint8_t *ni, size_t nilen,
                        const uint8_t *nr, size_t nrlen, struct ike_actions *out);
/*
 * Our rekey's answer (nonce nr) after a collision: true when our new pair lost (the
 * lowest nonce was in our exchange: we delete it); otherwise the peer's pair is marked
 * redundant (sa->redundant_*) for the peer to delete, and ours serves.
 */
bool ike_collision_ours_lost(struct ike_sa *sa, const uint8_t *nr, size_t nrlen, struct ike_actions *out);
/* The peer's pair that lost a collision leaves the kernel (why: logged). */
void ike_retire_redundant_pair(struct ike_sa *sa, struct ike_actions *out, const char *why);

/* ike_nat.c */
/* NAT_DETECTION_SOURCE_IP and _DESTINATION_IP for a message with these SPIs. */
void ike_nat_add_notifies(const struct ike_sa *sa, uint64_t spi_r, struct ike_builder *mb);
/* Compare the peer's NAT_DETECTION notifies with the addresses we see. */
void ike_nat_detect(struct ike_sa *sa, uint64_t spi_r, const struct ike_payloads *pl, struct ike_actions *out);
/* With a NAT in the way: go on from port 4500. */
void ike_nat_float(struct ike_sa *sa, struct ike_actions *out);
/* An authenticated message came through NAT-T: answer where it came from. */
/*
 * An installed pair follows the peer's NAT at most once in this long: a
 * peer (or whoever replays its fresh packets from elsewhere) that alternates
 * between two places would otherwise make every ESP packet cost kernel
 * work and a log line. The next valid packet after it moves the pair.
 */
#define IKE_NAT_FOLLOW_MIN_MS 1000
void ike_nat_follow(struct ike_sa *sa, const struct ike_endpoint *local, const struct ike_endpoint *remote,
                    struct ike_actions *out);
/* Behind a NAT: a keepalive (RFC 3948 2.3). */
void ike_nat_keepalive(struct ike_sa *sa, struct ike_actions *out);

/* ike_info.c */
/* After a rekey: the old pair's SAs go (why: logged), the policies stay with the new pair. */
void ike_retire_old_pair(struct ike_sa *sa, struct ike_actions *out, const char *why);
void ike_handle_informational(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                              const struct ike_header *h, const struct ike_payloads *pl, struct ike_actions *out);

#endif
