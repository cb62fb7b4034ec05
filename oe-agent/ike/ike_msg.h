/*
 * IKEv2 messages (RFC 7296 3): the header and the payloads the agent needs.
 * Parsing validates every length against what is left before using it and
 * names the payload, offset and lengths when it refuses. Building chains
 * payloads and patches lengths.
 */
#ifndef OE_IKE_MSG_H
#define OE_IKE_MSG_H

#include "chunk.h"
#include "common/common.h"
#include "ike.h"

#define IKE_HDR_LEN 28
#define IKE_VERSION 0x20

enum ike_exchange {
    IKE_SA_INIT = 34,
    IKE_AUTH = 35,
    IKE_CREATE_CHILD_SA = 36,
    IKE_INFORMATIONAL = 37,
};

enum ike_flags { IKE_FLAG_I = 0x08, IKE_FLAG_V = 0x10, IKE_FLAG_R = 0x20 };

enum ike_payload_type {
    IKE_PL_NONE = 0,
    IKE_PL_SA = 33,
    IKE_PL_KE = 34,
    IKE_PL_IDI = 35,
    IKE_PL_IDR = 36,
    IKE_PL_CERT = 37,
    IKE_PL_CERTREQ = 38,
    IKE_PL_AUTH = 39,
    IKE_PL_NONCE = 40,
    IKE_PL_NOTIFY = 41,
    IKE_PL_DELETE = 42,
    IKE_PL_VENDOR = 43,
    IKE_PL_TSI = 44,
    IKE_PL_TSR = 45,
    IKE_PL_SK = 46,
    IKE_PL_CP = 47,
    IKE_PL_SKF = 53,
};

enum ike_notify_type {
    IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
    IKE_N_INVALID_IKE_SPI = 4,
    IKE_N_INVALID_SYNTAX = 7,
    IKE_N_INVALID_MESSAGE_ID = 9,
    IKE_N_NO_PROPOSAL_CHOSEN = 14,
    IKE_N_INVALID_KE_PAYLOAD = 17,
    IKE_N_AUTHENTICATION_FAILED = 24,
    IKE_N_INTERNAL_ADDRESS_FAILURE = 36,
    IKE_N_TS_UNACCEPTABLE = 38,
    IKE_N_INITIAL_CONTACT = 16384,
    IKE_N_NAT_DETECTION_SOURCE_IP = 16388,
    IKE_N_NAT_DETECTION_DESTINATION_IP = 16389,
    IKE_N_COOKIE = 16390,
    IKE_N_USE_TRANSPORT_MODE = 16391,
    IKE_N_REKEY_SA = 16393,
    IKE_N_SIGNATURE_HASH_ALGORITHMS = 16431,
};

enum ike_transform_type { IKE_TR_ENCR = 1, IKE_TR_PRF = 2, IKE_TR_INTEG = 3, IKE_TR_DH = 4, IKE_TR_ESN = 5 };
enum ike_protocol { IKE_PROTO_IKE = 1, IKE_PROTO_AH = 2, IKE_PROTO_ESP = 3 };
enum ike_auth_method { IKE_AUTH_RSA = 1, IKE_AUTH_PSK = 2, IKE_AUTH_NULL = 13, IKE_AUTH_DIGSIG = 14 };
enum ike_ts_type { IKE_TS_IPV4 = 7, IKE_TS_IPV6 = 8 };

struct ike_header {
    uint64_t spi_i, spi_r;
    uint8_t next, version, exchange, flags;
    uint32_t msgid, length;
};

#define IKE_MAX_TRANSFORMS 24
#define IKE_MAX_PROPOSALS 8
#define IKE_MAX_NOTIFY 16
#define IKE_MAX_TS 4
/* An IKE_SA_INIT request we keep for AUTH (RFC 7296 2.15): a 1024-octet KE, nonce, NAT notifies
 * and some vendor IDs fit several times over; a larger one is dropped unanswered */
#define IKE_MAX_SA_INIT_LEN 3000u
#define IKE_MIN_NONCE 16 /* RFC 7296 3.9: a nonce is 16 to 256 octets */
#define IKE_MAX_NONCE 256
#define IKE_NONCE_LEN 32   /* ours: at least half the largest PRF key (2.10) */
#define IKE_MAX_ID_LEN 256 /* an identity kept for INITIAL_CONTACT (FQDNs are at most 255) */

struct ike_transform {
    uint8_t type;
    uint16_t id;
    uint16_t keylen; /* bits; 0 = not given */
};

struct ike_proposal {
    uint8_t num, protocol, spi_size;
    uint8_t spi[8];
    struct ike_transform t[IKE_MAX_TRANSFORMS];
    size_t nt;
};

struct ike_sa_payload {
    struct ike_proposal p[IKE_MAX_PROPOSALS];
    size_t n;
};

struct ike_notify {
    uint8_t protocol, spi_size;
    uint16_t type;
    struct chunk spi, data;
};

struct ike_ts {
    uint8_t type, proto;
    uint16_t sport, eport;
    struct oe_addr start, end;
};

struct ike_id {
    uint8_t type;
    struct chunk body; /* type, reserved and data: what the AUTH MAC covers */
    struct chunk data;
};

/* RFC 7296 3.15: the Configuration payload's type and the attributes we use */
enum ike_cfg_type { IKE_CFG_REQUEST = 1, IKE_CFG_REPLY = 2, IKE_CFG_SET = 3, IKE_CFG_ACK = 4 };
enum ike_cfg_attr {
    IKE_CFG_INTERNAL_IP4_ADDRESS = 1, /* 0 (asked) or 4 octets */
    IKE_CFG_INTERNAL_IP6_ADDRESS = 8, /* 0 (asked) or 17 octets: address, prefix length */
};

/*
 * A Configuration payload as far as we use it: the first INTERNAL_IP4_ADDRESS
 * and INTERNAL_IP6_ADDRESS (ip4/ip6: the attribute is there; an empty one asks
 * for any address and leaves the address's family 0). Other attributes are
 * counted, not kept.
 */
struct ike_cp {
    uint8_t type; /* enum ike_cfg_type */
    bool ip4, ip6;
    struct oe_addr addr4, addr6;
    uint8_t prefix6;
    size_t nattrs;
};

struct ike_payloads {
    bool has_cp;
    struct ike_cp cp;
    bool has_sa, has_ke, has_nonce, has_idi, has_idr, has_auth, has_tsi, has_tsr, has_sk, has_delete;
    struct ike_sa_payload sa;
    uint16_t ke_group;
    struct chunk ke, nonce, auth;
    uint8_t auth_method;
    struct ike_id idi, idr;
    struct ike_notify notify[IKE_MAX_NOTIFY];
    size_t nnotify;
    struct ike_ts tsi[IKE_MAX_TS], tsr[IKE_MAX_TS];
    size_t ntsi, ntsr;
    uint8_t delete_protocol;
    struct chunk delete_spis;
    uint8_t delete_spi_size;
    /* SK: the encrypted payload's first inner type and where it sits */
    uint8_t sk_first;
    size_t sk_off;                /* offset of its generic header in the message */
    struct chunk sk_body;         /* IV, ciphertext, ICV */
    uint8_t unsupported_critical; /* an unknown payload had the critical bit */
};

int ike_parse_header(const uint8_t *p, size_t len, struct ike_header *h, struct oe_error *err);
/*
 * Parse a payload chain starting with type first over p[0..len); base is
 * p's offset in the message, for error text and sk_off.
 */
int ike_parse_payloads(uint8_t first, const uint8_t *p, size_t len, size_t base, struct ike_payloads *out,
                       struct oe_error *err);
const struct ike_notify *ike_find_notify(const struct ike_payloads *pl, uint16_t type);
const char *ike_payload_name(uint8_t type);
const char *ike_notify_name(uint16_t type);

/* ---- building ---- */

struct ike_builder {
    struct wbuf b;
    size_t next_off; /* the byte that names the next payload */
    bool has_header;
    uint8_t first; /* an inner chain's first payload (for the SK header) */
};

void ikeb_header(struct ike_builder *mb, const struct ike_header *h);
size_t ikeb_begin(struct ike_builder *mb, uint8_t type);
void ikeb_end(struct ike_builder *mb, size_t hdr);
/* Finish: the header's length field. */
void ikeb_finish(struct ike_builder *mb);

void ikeb_sa(struct ike_builder *mb, const struct ike_proposal *props, size_t n);
void ikeb_ke(struct ike_builder *mb, uint16_t group, const uint8_t *pub, size_t len);
void ikeb_nonce(struct ike_builder *mb, const uint8_t *n, size_t len);
void ikeb_notify(struct ike_builder *mb, uint8_t protocol, const uint8_t *spi, size_t spi_len, uint16_t type,
                 const uint8_t *data, size_t len);
/* returns the offset of the ID body (for the AUTH MAC) */
size_t ikeb_id(struct ike_builder *mb, uint8_t payload, uint8_t id_type, const uint8_t *data, size_t len);
void ikeb_auth(struct ike_builder *mb, uint8_t method, const uint8_t *data, size_t len);
void ikeb_ts(struct ike_builder *mb, uint8_t payload, const struct ike_ts *ts, size_t n);
/* A Configuration payload: its ip4/ip6 attributes, empty where the address's family is 0. */
void ikeb_cp(struct ike_builder *mb, const struct ike_cp *cp);
void ikeb_delete(struct ike_builder *mb, uint8_t protocol, uint8_t spi_size, const uint8_t *spis, size_t count);

#endif
