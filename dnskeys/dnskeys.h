/*
 * dnskeys: public keys published in DNS for opportunistic encryption.
 *
 * - RSA public keys in the RFC 3110 encoding, as base64 or FreeS/WAN's "0s"
 *   form, checked with GMP (size, exponent, truncation).
 * - The three records that carry them: IPSECKEY (RFC 4025), FreeS/WAN's
 *   TXT "X-IPsec-Server(PREF)=GATEWAY KEY", and KEY (RFC 2535, protocol 4),
 *   parsed from wire rdata with explicit bounds and printed in zone-file form.
 * - Reverse owner names (in-addr.arpa, ip6.arpa).
 * - Asynchronous, DNSSEC-validated lookups over libunbound, driven by the
 *   caller's event loop (dnskeys_resolver_fd + dnskeys_resolver_process).
 * - Publishing: RFC 2136 dynamic updates signed with TSIG (RFC 8945), built
 *   with ldns, sent to a zone's primary, and the plain (blocking) queries to
 *   that primary that decide what an update must change.
 *
 * Memory: every struct filled here is freed with its *_free function; text
 * returned as char * is the caller's to free(). Nothing here prints.
 */
#ifndef OE_DNSKEYS_H
#define OE_DNSKEYS_H

#include "common/common.h"

#define DNSKEYS_MIN_BITS 2048
#define DNSKEYS_NAME_MAX 256 /* presentation form, with the final dot */

/* ---- RSA public keys (RFC 3110) ---- */

struct dnskeys_pubkey {
    uint8_t *rfc3110; /* exponent length, exponent, modulus */
    size_t len;
    unsigned bits; /* modulus size */
};

/* Validate RFC 3110 bytes and copy them into out. */
int dnskeys_key_decode(const uint8_t *buf, size_t len, unsigned min_bits, struct dnskeys_pubkey *out,
                       struct oe_error *err);
/* From base64, with or without FreeS/WAN's "0s" prefix; blanks are ignored. */
int dnskeys_key_from_text(const char *text, unsigned min_bits, struct dnskeys_pubkey *out, struct oe_error *err);
/* From big-endian exponent and modulus. */
int dnskeys_key_from_parts(const uint8_t *e, size_t elen, const uint8_t *n, size_t nlen, struct dnskeys_pubkey *out,
                           struct oe_error *err);
/* Exponent and modulus as big-endian byte strings pointing into key. */
void dnskeys_key_parts(const struct dnskeys_pubkey *key, const uint8_t **e, size_t *elen, const uint8_t **n,
                       size_t *nlen);
/* Base64 (with "0s" in front when freeswan); NULL on allocation failure. */
char *dnskeys_key_to_text(const struct dnskeys_pubkey *key, bool freeswan);
/* A short id for logs: the first 9 base64 characters, as libreswan's keyid. */
void dnskeys_key_id(const struct dnskeys_pubkey *key, char out[16]);
bool dnskeys_key_eq(const struct dnskeys_pubkey *a, const struct dnskeys_pubkey *b);
int dnskeys_key_copy(const struct dnskeys_pubkey *from, struct dnskeys_pubkey *to);
void dnskeys_key_free(struct dnskeys_pubkey *key);

/* ---- the host's own key (NSS; PKCS#8 PEM file, mode 0600) ---- */

#define DNSKEYS_DEFAULT_HOSTKEY "/etc/oe/hostkey.pem"

int dnskeys_nss_init(struct oe_error *err);
/* Generate a key and write it to path (created 0600, never overwritten). */
int dnskeys_hostkey_generate(const char *path, unsigned bits, struct dnskeys_pubkey *pub, struct oe_error *err);
struct dnskeys_hostkey;
/* Load; refuses a file that group or others can read. */
int dnskeys_hostkey_load(const char *path, struct dnskeys_hostkey **out, struct oe_error *err);
const struct dnskeys_pubkey *dnskeys_hostkey_public(const struct dnskeys_hostkey *hk);
/*
 * RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-octet salt (RFC 8017 8.1)
 * over data: the signature in a malloc'ed *sig. hostkey is a struct
 * dnskeys_hostkey *, passed as void * so that this serves as a signing
 * callback as it is. The private key stays inside NSS.
 */
int dnskeys_hostkey_sign(void *hostkey, const uint8_t *data, size_t len, uint8_t **sig, size_t *siglen,
                         struct oe_error *err);
void dnskeys_hostkey_free(struct dnskeys_hostkey *hk);

/*
 * Key rollover (rollover.c), beside the key file KEY:
 *   KEY.next            the next key (newhostkey --rollover), published with KEY
 *   KEY.next.published  when both were published and how long the old records
 *                       may live in caches ("published EPOCH wait SECONDS")
 *   KEY.old             the key that signed before the switch, until --finish
 * The next key may sign (--switch) once wait has passed since published.
 */
enum dnskeys_roll_file { DNSKEYS_ROLL_NEXT, DNSKEYS_ROLL_STAMP, DNSKEYS_ROLL_OLD };
#define DNSKEYS_PATH_MAX 4096
int dnskeys_roll_path(const char *keyfile, enum dnskeys_roll_file f, char out[DNSKEYS_PATH_MAX], struct oe_error *err);
/* The host's keys to publish: KEY's, then KEY.next's when there is one; *n of them (dnskeys_key_free each). */
int dnskeys_hostkeys_public(const char *keyfile, struct dnskeys_pubkey out[2], size_t *n, struct oe_error *err);
/* Generate KEY.next (refused while one exists, or while KEY.old says a rollover is not finished). */
int dnskeys_roll_new(const char *keyfile, unsigned bits, struct dnskeys_pubkey *pub, struct oe_error *err);
int dnskeys_roll_stamp_write(const char *keyfile, int64_t published, uint32_t wait_s, struct oe_error *err);
/* A stamp's text (untrusted: at most 255 octets, one line): 0, or -1 with err. */
int dnskeys_roll_stamp_parse(const char *text, size_t len, int64_t *published, uint32_t *wait_s, struct oe_error *err);
/* 0 with the stamp, 1 when there is none, -1 on a stamp that is not one. */
int dnskeys_roll_stamp_read(const char *keyfile, int64_t *published, uint32_t *wait_s, struct oe_error *err);
/* Seconds before the next key may sign, given a stamp (0: it may now). */
int64_t dnskeys_roll_wait_left(int64_t published, uint32_t wait_s, int64_t now);
/*
 * The next key becomes KEY, the current one KEY.old (kept until finish):
 * refused before the stamp's wait has passed unless force, and without a
 * stamp (the next key was never published) unless force.
 */
int dnskeys_roll_switch(const char *keyfile, int64_t now, bool force, struct oe_error *err);
/* Remove KEY.old: the rollover is over (1: there was none). */
int dnskeys_roll_finish(const char *keyfile, struct oe_error *err);

/* ---- records ---- */

enum dnskeys_rrtype { DNSKEYS_IPSECKEY = 45, DNSKEYS_TXT = 16, DNSKEYS_KEY = 25 };

enum dnskeys_gw_type {
    DNSKEYS_GW_NONE = 0,
    DNSKEYS_GW_IPV4 = 1,
    DNSKEYS_GW_IPV6 = 2,
    DNSKEYS_GW_NAME = 3,
};

struct dnskeys_record {
    enum dnskeys_rrtype type;
    unsigned precedence; /* IPSECKEY precedence, TXT (PREF); KEY: 0 */
    enum dnskeys_gw_type gw_type;
    struct oe_addr gw_addr;         /* GW_IPV4 / GW_IPV6 */
    char gw_name[DNSKEYS_NAME_MAX]; /* GW_NAME, with the final dot */
    uint8_t algorithm;              /* as in the record; TXT: 2 (RSA) */
    bool usable;                    /* parsed, supported, key acceptable */
    char why[160];                  /* when not usable: why */
    struct dnskeys_pubkey key;
};

/*
 * Parse one record's rdata (the wire bytes after RDLENGTH). Malformed data
 * (truncated, lying lengths, garbage) returns -1 with err naming the field
 * and offset. Well-formed data that cannot be used (another algorithm, a
 * short key, a TXT that is not X-IPsec-Server) returns 0 with usable false
 * and why filled. A TXT that is not X-IPsec-Server returns 1: not ours.
 */
int dnskeys_record_parse(enum dnskeys_rrtype type, const uint8_t *rdata, size_t len, unsigned min_bits,
                         struct dnskeys_record *out, struct oe_error *err);
void dnskeys_record_free(struct dnskeys_record *r);
const char *dnskeys_rrtype_name(enum dnskeys_rrtype t);

/*
 * Zone-file text for one record ("OWNER TTL IN IPSECKEY 10 1 2 192.0.2.1
 * AQ..."); owner NULL leaves it out, as libreswan's showhostkey does.
 * Printed by ldns from the record's wire form. NULL with err on failure.
 */
char *dnskeys_record_to_zone(const char *owner, uint32_t ttl, const struct dnskeys_record *r, struct oe_error *err);
/* The same from raw rdata, for showing what was received. */
char *dnskeys_rdata_to_zone(const char *owner, uint32_t ttl, enum dnskeys_rrtype type, const uint8_t *rdata, size_t len,
                            struct oe_error *err);
/* The wire rdata of a record we build (for tests and printing). */
int dnskeys_record_to_rdata(const struct dnskeys_record *r, uint8_t **rdata, size_t *len, struct oe_error *err);
/* Parse one zone-file line with ldns, then its rdata as above. */
int dnskeys_record_from_zone(const char *line, unsigned min_bits, char owner[DNSKEYS_NAME_MAX],
                             struct dnskeys_record *out, struct oe_error *err);

/* ---- reverse names ---- */

/* "7.2.0.192.in-addr.arpa." or the 32-nibble ip6.arpa name. */
void dnskeys_reverse_name(const struct oe_addr *a, char out[DNSKEYS_NAME_MAX]);

/* ---- lookups ---- */

enum dnskeys_verdict { DNSKEYS_SECURE, DNSKEYS_INSECURE, DNSKEYS_BOGUS };
const char *dnskeys_verdict_name(enum dnskeys_verdict v);

struct dnskeys_answer {
    char owner[DNSKEYS_NAME_MAX];
    enum dnskeys_verdict verdict;
    char why_bogus[256]; /* libunbound's reason, when bogus */
    bool failed;         /* no answer at all (timeout, SERVFAIL): see why */
    char why[256];
    enum dnskeys_rrtype source;     /* which type the keys came from */
    struct dnskeys_record *records; /* that type's records: usable first, by precedence */
    size_t n;
    size_t counts[3];                 /* IPSECKEY, TXT (ours), KEY records received */
    enum dnskeys_verdict verdicts[3]; /* per type */
    uint32_t ttl;                     /* seconds the chosen type's records may be kept (the resolver's, counted down) */
};

struct dnskeys_resolver;

struct dnskeys_resolver_config {
    const char *trust_anchor; /* file of DNSKEY/DS records; NULL: none */
    const char *forwarders;   /* "ADDR[@PORT],..."; NULL: see stub/resolv.conf */
    const char *stub_zone;    /* with stub_addr: ask this server for that zone */
    const char *stub_addr;
    bool recursion;    /* neither: full recursion from the root hints */
    unsigned min_bits; /* 0: DNSKEYS_MIN_BITS */
    /* lookups waiting or in flight, by who caused them (0: the defaults below) */
    unsigned max_ours;       /* the host's own, for its traffic: DNSKEYS_MAX_OURS */
    unsigned max_peers;      /* caused by an unauthenticated peer (the responder's): DNSKEYS_MAX_PEERS */
    unsigned max_per_source; /* of those, for one source address (IPv6: a /64): DNSKEYS_MAX_PER_SOURCE */
    unsigned timeout_ms;     /* a lookup not answered this long after it was asked fails: DNSKEYS_TIMEOUT_MS */
    /* with forwarders, the least wait before a query is sent again: DNSKEYS_RETRANSMIT_MS unless set (0: libunbound's) */
    unsigned retransmit_ms;
    bool retransmit_set;
};
#define DNSKEYS_MAX_OURS 2048
#define DNSKEYS_MAX_PEERS 1024
#define DNSKEYS_MAX_PER_SOURCE 8
#define DNSKEYS_TIMEOUT_MS 10000
#define DNSKEYS_RETRANSMIT_MS 2500

/*
 * Who a lookup is for: the host's own traffic, or a peer that has not
 * authenticated yet (its address is the source its share is counted by).
 * Peers cannot use up the host's own share. A refused lookup's error has
 * code OE_E_LIMIT.
 */
enum dnskeys_for { DNSKEYS_FOR_US, DNSKEYS_FOR_PEER };
struct dnskeys_asker {
    enum dnskeys_for who;
    struct oe_addr source;
};

struct dnskeys_resolver *dnskeys_resolver_new(const struct dnskeys_resolver_config *cfg, struct oe_error *err);
void dnskeys_resolver_free(struct dnskeys_resolver *r);
int dnskeys_resolver_fd(struct dnskeys_resolver *r);
/* Handle what is ready; callbacks run from here. Never blocks. */
int dnskeys_resolver_process(struct dnskeys_resolver *r, struct oe_error *err);
/* Lookups not yet answered. */
size_t dnskeys_resolver_pending(const struct dnskeys_resolver *r);
/*
 * Every lookup has a deadline (timeout_ms after it was asked, queued or
 * not): milliseconds until the earliest, 0 when one is due, -1 when none
 * is pending. The caller's loop sleeps no longer, then calls
 * dnskeys_resolver_expire(), which ends each lookup that is due, failed
 * ("no answer within ..."), through its callback; its queries are cancelled.
 */
int dnskeys_resolver_timeout(const struct dnskeys_resolver *r);
void dnskeys_resolver_expire(struct dnskeys_resolver *r);

typedef void (*dnskeys_lookup_fn)(const struct dnskeys_answer *answer, void *arg);

/*
 * Keys for an address (its reverse name) or for a name; answers exactly
 * once, with answer NULL when the resolver is freed first (then the
 * callback only frees arg).
 */
int dnskeys_lookup_addr(struct dnskeys_resolver *r, const struct oe_addr *addr, dnskeys_lookup_fn fn, void *arg,
                        struct oe_error *err);
int dnskeys_lookup_name(struct dnskeys_resolver *r, const char *name, dnskeys_lookup_fn fn, void *arg,
                        struct oe_error *err);
/* The same, counted against asker's share (the two above are the host's own). */
int dnskeys_lookup_addr_for(struct dnskeys_resolver *r, const struct oe_addr *addr, const struct dnskeys_asker *asker,
                            dnskeys_lookup_fn fn, void *arg, struct oe_error *err);

/* A gateway's name to its addresses (A or AAAA by family), validated like the keys; NULL as above. */
#define DNSKEYS_MAX_ADDRS 8
struct dnskeys_addr_answer {
    char name[DNSKEYS_NAME_MAX];
    enum dnskeys_verdict verdict;
    bool failed;   /* no answer at all: see why */
    char why[256]; /* also: bogus's reason, or "no A record" */
    struct oe_addr addrs[DNSKEYS_MAX_ADDRS];
    size_t n;
};
typedef void (*dnskeys_addr_fn)(const struct dnskeys_addr_answer *answer, void *arg);
int dnskeys_resolve_name(struct dnskeys_resolver *r, const char *name, int family, dnskeys_addr_fn fn, void *arg,
                         struct oe_error *err);

/*
 * Does the way to the resolvers validate (ipsec verify)? zone: the trust
 * anchor file's zone (the owner of its first DS or DNSKEY record). The
 * probe asks for that zone's DNSKEY RRset, which libunbound validates
 * against the anchor itself: secure when DNSSEC works end to end, bogus
 * when a resolver strips signatures, insecure with no anchor. The answer
 * comes as an address answer whose n counts the DNSKEY records.
 */
int dnskeys_anchor_zone(const char *path, char zone[DNSKEYS_NAME_MAX], struct oe_error *err);
int dnskeys_probe_validation(struct dnskeys_resolver *r, const char *zone, dnskeys_addr_fn fn, void *arg,
                             struct oe_error *err);

/*
 * Combine the three answers of a lookup (exposed for unit tests): rdata of
 * each type with its verdict, into an answer as the callback receives it.
 */
struct dnskeys_rrset {
    const uint8_t *const *rdata;
    const size_t *len;
    size_t n;
    enum dnskeys_verdict verdict;
    const char *why; /* when bogus or failed: libunbound's reason */
    bool failed;     /* no answer (timeout, SERVFAIL) */
    uint32_t ttl;    /* the resolver's TTL for what it answered */
};
void dnskeys_answer_build(const char *owner, const struct dnskeys_rrset sets[3], unsigned min_bits,
                          struct dnskeys_answer *out);
void dnskeys_answer_free(struct dnskeys_answer *a);
/* A deep copy (records and keys); -1 when out of memory (to is then empty). */
int dnskeys_answer_copy(const struct dnskeys_answer *from, struct dnskeys_answer *to);

/* ---- the key cache (keycache.c) ---- */

/*
 * Answers with keys, kept by owner name for their TTL clamped to
 * [min_ttl, max_ttl] (libreswan keeps keys at least 60 s), at most
 * max_entries of them: a full cache drops the least recently used.
 * Hashed (no walk per lookup); time is the caller's (now_ms on every call),
 * so that tests drive it with a fake clock. Bogus and failed answers, and
 * answers without a usable key, are never kept. Owns its copies.
 */
#define DNSKEYS_CACHE_MIN_TTL 60
#define DNSKEYS_CACHE_MAX_TTL 86400
#define DNSKEYS_CACHE_MAX_ENTRIES 100000
/*
 * What one name keeps: its usable records only, at most this many (the
 * IKE core tries at most IKE_MAX_PEER_KEYS of a peer's keys), so that a
 * zone that answers with hundreds of junk records costs no more than one
 * with a key; and the whole cache at most max_bytes (counted: entries,
 * records, keys), the least recently used going first.
 */
#define DNSKEYS_CACHE_MAX_RECORDS 4
#define DNSKEYS_CACHE_MAX_BYTES (64u << 20)
struct dnskeys_cache_config {
    uint32_t min_ttl, max_ttl; /* seconds */
    size_t max_entries;        /* 0: no cache at all */
    size_t max_bytes;          /* 0: DNSKEYS_CACHE_MAX_BYTES */
};
struct dnskeys_cache_stats {
    size_t entries, bytes;
    unsigned long hits, misses, stored, expired, evicted, dropped, flushed;
};
struct dnskeys_cache;
struct dnskeys_cache *dnskeys_cache_new(const struct dnskeys_cache_config *cfg, struct oe_error *err);
void dnskeys_cache_free(struct dnskeys_cache *c);
/* Keep a copy of ans (replacing what owner had); false when not kept (not cacheable, no memory, cache off). */
bool dnskeys_cache_put(struct dnskeys_cache *c, const struct dnskeys_answer *ans, uint64_t now_ms);
/*
 * The answer kept for owner (case-insensitive, final dot or not), its ttl
 * counted down to what is left; NULL when none or expired (then dropped).
 * Valid until the next call that changes the cache.
 */
const struct dnskeys_answer *dnskeys_cache_get(struct dnskeys_cache *c, const char *owner, uint64_t now_ms);
/* Forget owner (a key that failed authentication): true when it was kept. */
bool dnskeys_cache_drop(struct dnskeys_cache *c, const char *owner);
/* Forget everything (rereadkeys, reload): how many were kept. */
size_t dnskeys_cache_flush(struct dnskeys_cache *c);
void dnskeys_cache_get_stats(const struct dnskeys_cache *c, struct dnskeys_cache_stats *out);
/* Each live entry, most recently used first, with the milliseconds it has left; fn's non-zero stops. */
int dnskeys_cache_each(const struct dnskeys_cache *c, uint64_t now_ms,
                       int (*fn)(const struct dnskeys_answer *ans, uint64_t ms_left, void *arg), void *arg);

/* ---- publishing: TSIG keys, RFC 2136 updates, queries to the primary ---- */

#define DNSKEYS_TSIG_SECRET_MAX 128     /* octets: twice SHA-512's block */
#define DNSKEYS_TSIG_FILE_MAX 65536     /* a key file larger than this is not one */
#define DNSKEYS_RRSET_MAX 64            /* records of one type at one name we take from a server */
#define DNSKEYS_UPDATE_MAX_OCTETS 49152 /* one update message, under TCP's 65535 with room for TSIG */

/* One key of a BIND-style key file: key "NAME" { algorithm hmac-sha256; secret "BASE64"; }; */
struct dnskeys_tsig_key {
    char name[DNSKEYS_NAME_MAX];                            /* lower case, with the final dot */
    char algorithm[16];                                     /* as on the wire: "hmac-sha256." */
    char secret[(DNSKEYS_TSIG_SECRET_MAX + 2) / 3 * 4 + 8]; /* base64, as ldns takes it */
    size_t secret_len;                                      /* decoded octets */
};

/* Parse a key file's text (untrusted: bounded, errors "FNAME:LINE: ..."); exactly one key. */
int dnskeys_tsig_key_parse(const char *text, size_t len, const char *fname, struct dnskeys_tsig_key *out,
                           struct oe_error *err);
int dnskeys_tsig_key_load(const char *path, struct dnskeys_tsig_key *out, struct oe_error *err);
void dnskeys_tsig_key_wipe(struct dnskeys_tsig_key *k);

/* A zone's primary, asked and updated over plain DNS (not validated: it is the source). */
struct dnskeys_server {
    struct oe_addr addr;
    uint16_t port;       /* 0: 53 */
    unsigned timeout_ms; /* each query and the update; 0: 10 s */
};

/* One record's rdata as a server holds it. */
struct dnskeys_rr {
    uint8_t *rdata;
    size_t len;
    uint32_t ttl;
};
void dnskeys_rrs_free(struct dnskeys_rr *rrs, size_t n);

/* The zone NAME is in, by the primary's SOA (answer or authority), into zone. */
int dnskeys_server_zone(const struct dnskeys_server *srv, const char *name, char zone[DNSKEYS_NAME_MAX],
                        struct oe_error *err);
/* The records of type at owner (none: *n 0); at most DNSKEYS_RRSET_MAX. */
int dnskeys_server_rrset(const struct dnskeys_server *srv, const char *owner, enum dnskeys_rrtype type,
                         struct dnskeys_rr **out, size_t *n, struct oe_error *err);

/* One RFC 2136 update message for one zone; owned by the caller (dnskeys_update_free). */
struct dnskeys_update;
struct dnskeys_update *dnskeys_update_new(const char *zone, struct oe_error *err);
void dnskeys_update_free(struct dnskeys_update *u);

/*
 * Plan the change at owner for one type, given what the server has (have):
 * publish (want non-NULL): the type's records that are ours (IPSECKEY: all;
 * TXT: X-IPsec-Server ones, others are left alone) become exactly want with
 * ttl. remove (want NULL): delete our records whose key is key. Adds the
 * update RRs and, when anything changes, the prerequisite that the RRset is
 * still what was seen (RFC 2136 2.4.2 / 2.4.3), so that a concurrent change
 * fails the update instead of being overwritten. *changes counts the
 * records added or deleted: 0 means the name already is as wanted.
 */
int dnskeys_update_plan(struct dnskeys_update *u, const char *owner, enum dnskeys_rrtype type, uint32_t ttl,
                        const struct dnskeys_rr *have, size_t nhave, const uint8_t *want, size_t wantlen,
                        const struct dnskeys_pubkey *key, size_t *changes, struct oe_error *err);
/*
 * Publish a set: our records of type at owner become exactly want (a key
 * rollover publishes the current and the next key side by side; nwant 0
 * removes all of ours), with ttl; otherwise as dnskeys_update_plan.
 */
int dnskeys_update_plan_set(struct dnskeys_update *u, const char *owner, enum dnskeys_rrtype type, uint32_t ttl,
                            const struct dnskeys_rr *have, size_t nhave, const struct dnskeys_rr *want, size_t nwant,
                            size_t *changes, struct oe_error *err);
/* Records in the update section so far, and the message's size unsigned (octets, uncompressed). */
size_t dnskeys_update_count(const struct dnskeys_update *u);
size_t dnskeys_update_octets(const struct dnskeys_update *u);
/* The update in nsupdate's words ("zone ...", "prereq ...", "update add ...", "send"). */
char *dnskeys_update_to_text(const struct dnskeys_update *u);
/* The wire form, TSIG-signed when key is given (for tests and fuzzing). */
int dnskeys_update_to_wire(const struct dnskeys_update *u, const struct dnskeys_tsig_key *key, uint8_t **wire,
                           size_t *len, struct oe_error *err);

/* What the server said: its RCODE and, for a signed request, the TSIG error (RFC 8945 5.3). */
struct dnskeys_update_result {
    unsigned rcode;      /* RFC 2136 2.2: NOERROR, REFUSED, NOTAUTH, NXRRSET, YXRRSET, ... */
    unsigned tsig_error; /* 0, BADSIG (16), BADKEY (17), BADTIME (18) */
    bool signed_ok;      /* the response's TSIG verified with the key */
};
/* "NOERROR", "REFUSED", "BADSIG", ...; the number for ones it does not know. */
const char *dnskeys_rcode_name(unsigned rcode, char buf[16]);
/*
 * Sign with key (NULL: unsigned) and send over TCP. Returns 0 when the
 * server answered (res says what), -1 with err when no usable answer came
 * (unreachable, timeout, a signed request answered without a valid TSIG).
 */
int dnskeys_update_send(const struct dnskeys_update *u, const struct dnskeys_server *srv,
                        const struct dnskeys_tsig_key *key, struct dnskeys_update_result *res, struct oe_error *err);

#endif
