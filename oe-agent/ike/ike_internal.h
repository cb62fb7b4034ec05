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

enum sa_state {
    SA_INIT_SENT,   /* initiator: IKE_SA_INIT request out */
    SA_AUTH_SENT,   /* initiator: IKE_AUTH request out */
    SA_INIT_DONE,   /* responder: IKE_SA_INIT answered */
    SA_WAIT_KEY,    /* responder: IKE_AUTH waiting for the peer's key */
    SA_ESTABLISHED,
    SA_DELETING,
};

struct ike_sa {
    unsigned serial, child_serial;
    uint32_t tag;
    bool initiator;
    enum sa_state state;
    uint64_t spi_i, spi_r;
    struct ike_endpoint local, remote;
    struct oe_addr local_host, remote_host;
    enum ike_authby auth;
    struct dnskeys_pubkey peer_key;
    bool nat_local, nat_remote;  /* a NAT in front of us / of the peer (RFC 7296 2.23) */
    struct ike_endpoint rx_local, rx_remote; /* where the message being handled came */

    /* negotiated */
    int prf, encr, encr_bits, integ, dh_group; /* integ 0: AES-GCM (AEAD) */
    struct ike_dh *dh;
    int dh_made;              /* the group sa->dh was made for */
    uint8_t ni[64], nr[256];
    size_t ni_len, nr_len;
    struct wbuf msg1, msg2;   /* IKE_SA_INIT request and response, as on the wire */
    struct wbuf cookie;       /* initiator: the responder's cookie to echo */

    /* RFC 7296 2.14 keys */
    uint8_t sk_d[IKE_MAX_PRF_LEN], sk_pi[IKE_MAX_PRF_LEN], sk_pr[IKE_MAX_PRF_LEN];
    uint8_t sk_ai[IKE_MAX_PRF_LEN], sk_ar[IKE_MAX_PRF_LEN];
    uint8_t sk_ei[IKE_MAX_KEY], sk_er[IKE_MAX_KEY];
    size_t prf_len, akey_len, ekey_len;

    /* message ids and retransmission */
    uint32_t next_msgid;      /* our next request */
    uint32_t peer_msgid;      /* the peer's next request */
    struct wbuf last_req;     /* ours, for retransmission */
    struct wbuf last_resp;    /* ours, for the peer's retransmitted request */
    uint32_t last_resp_msgid;
    bool have_resp;
    unsigned tries;
    uint32_t wait_ms, rt_ms;

    /* the Child SA */
    uint32_t child_spi_in, child_spi_out;
    uint32_t child_reqid;
    uint32_t old_spi_in, old_spi_out; /* after a rekey, until the peer deletes them */
    struct ike_esp_algs child_algs;
    struct wbuf auth_req;     /* responder: IKE_AUTH plaintext waiting for a key */
    uint8_t auth_req_first;

    struct ike_sa *next;
};

struct ike_core {
    struct ike_config cfg;
    struct ike_sa *sas;
    unsigned next_serial;
    uint32_t next_reqid;
    size_t half_open;
    uint8_t cookie_secret[32];
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
void ike_act_delete_child(struct ike_actions *out, const struct ike_sa *sa);
void ike_sa_fail(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out, const char *why);
struct ike_sa *ike_sa_new(struct ike_core *core, bool initiator);
void ike_sa_free(struct ike_sa *sa);
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
struct ike_payloads *ike_open(struct ike_sa *sa, const uint8_t *msg, size_t len,
                              const struct ike_payloads *outer, struct wbuf *plain, const char *what,
                              struct ike_actions *out);
int ike_derive_ike_keys(struct ike_sa *sa, const uint8_t *shared, size_t slen);
void ike_describe_id(uint8_t type, struct chunk data, char *out, size_t len);

/* ike_init.c */
void ike_send_sa_init(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out);
void ike_handle_sa_init_request(struct ike_core *core, const struct ike_endpoint *local,
                                const struct ike_endpoint *remote, const uint8_t *msg, size_t len,
                                const struct ike_header *h, const struct ike_payloads *pl,
                                struct ike_actions *out);
void ike_handle_sa_init_response(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                                 const struct ike_payloads *pl, struct ike_actions *out);

/* ike_auth.c */
void ike_send_auth(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out);
void ike_handle_auth_request(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                             const struct ike_header *h, const struct ike_payloads *pl,
                             struct ike_actions *out);
void ike_continue_auth_request(struct ike_core *core, struct ike_sa *sa, const struct dnskeys_pubkey *key,
                               bool allow_null, struct ike_actions *out);
void ike_handle_auth_response(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                              const struct ike_payloads *pl, struct ike_actions *out);

int ike_child_keymat(const struct ike_sa *sa, bool we_initiated, const uint8_t *shared, size_t slen,
                     const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
                     const struct ike_esp_algs *algs, struct ike_child_sa *c);
void ike_host_ts(const struct oe_addr *a, struct ike_ts *t);
/* Our ESP offer: AES-GCM-16, then AES-CBC with HMAC-SHA2; dh != 0 adds that group (PFS). */
size_t ike_esp_offer(const struct ike_config *cfg, uint32_t spi, int dh, struct ike_proposal p[2]);
/* The pick among the peer's ESP proposals (and its algorithms), or NULL. */
const struct ike_proposal *ike_choose_esp(const struct ike_config *cfg, const struct ike_sa_payload *sa,
                                          struct ike_esp_algs *algs);
/* The accepted proposal as the answer carries it: our SPI, the algorithms chosen, dh if any. */
void ike_esp_answer(const struct ike_proposal *chosen, const struct ike_esp_algs *algs, uint32_t spi, int dh,
                    struct ike_proposal *p);
uint32_t ike_spi_of(const struct ike_proposal *p);

/* ike_rekey.c */
void ike_handle_create_child_sa(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                                const struct ike_header *h, const struct ike_payloads *pl,
                                struct ike_actions *out);

/* ike_nat.c */
/* NAT_DETECTION_SOURCE_IP and _DESTINATION_IP for a message with these SPIs. */
void ike_nat_add_notifies(const struct ike_sa *sa, uint64_t spi_r, struct ike_builder *mb);
/* Compare the peer's NAT_DETECTION notifies with the addresses we see. */
void ike_nat_detect(struct ike_sa *sa, uint64_t spi_r, const struct ike_payloads *pl, struct ike_actions *out);
/* With a NAT in the way: go on from port 4500. */
void ike_nat_float(struct ike_sa *sa, struct ike_actions *out);
/* An authenticated message came through NAT-T: answer where it came from. */
void ike_nat_follow(struct ike_sa *sa, const struct ike_endpoint *local, const struct ike_endpoint *remote,
                    struct ike_actions *out);
/* Behind a NAT: a keepalive now and the next one armed. */
void ike_nat_keepalive(struct ike_sa *sa, struct ike_actions *out);

/* ike_info.c */
void ike_handle_informational(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                              const struct ike_header *h, const struct ike_payloads *pl,
                              struct ike_actions *out);

#endif
