/*
 * common: the small vocabulary every library of the agent shares.
 *
 * Addresses and prefixes (IPv4 and IPv6) with their text forms, durations
 * ("15m"), and the error buffer that libraries fill instead of printing.
 * Everything works on caller-owned memory; only the text buffer (oe_buf)
 * grows itself.
 */
#ifndef OE_COMMON_H
#define OE_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The number of entries of an array (not of a pointer). */
#define OE_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Large enough for "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128". */
#define OE_ADDR_STRLEN 64

struct oe_addr {
    uint8_t family;    /* AF_INET or AF_INET6 */
    uint8_t bytes[16]; /* network order; IPv4 uses the first 4 */
};

struct oe_prefix {
    struct oe_addr addr;
    uint8_t len;
};

/*
 * What kind of failure: callers decide on the code, never on the words
 * (as ldns and unbound return a status beside their strings).
 */
enum oe_status {
    OE_OK = 0,
    OE_E_FAILED, /* nothing more specific to say */
    OE_E_NOMEM,
    OE_E_INVALID, /* input that does not parse or is out of range: a file, a packet, a DNS answer */
    OE_E_LIMIT,   /* a named limit is reached: try again later, it is not the input's fault */
    OE_E_SYSTEM,  /* the kernel, a file or a socket refused */
    OE_E_CRYPTO,  /* NSS failed */
};
const char *oe_status_name(enum oe_status s);

/* An error a library reports: its kind, and what went wrong in words, ready to print. */
struct oe_error {
    enum oe_status code;
    char msg[512];
};

/* Sets the words with code OE_E_FAILED; oe_error_setc names the code. */
void oe_error_set(struct oe_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void oe_error_setc(struct oe_error *err, enum oe_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The one clock for timers: CLOCK_MONOTONIC, in ms; wall time is only for printing. */
uint64_t oe_monotonic_ms(void);
uint64_t oe_monotonic_us(void); /* the same clock, finer: for timing work */

/* Address width in bits for a family: 32 or 128. */
unsigned oe_family_bits(int family);

/* Parse "192.0.2.1" or "2001:db8::1". Returns 0, or -1 when not an address. */
int oe_addr_parse(const char *s, struct oe_addr *out);
/*
 * Parse "CIDR" or a bare address (a host prefix). Host bits set is an error:
 * the policy would not mean what its author thinks.
 */
int oe_prefix_parse(const char *s, struct oe_prefix *out, struct oe_error *err);
void oe_prefix_host(const struct oe_addr *a, struct oe_prefix *out);
void oe_prefix_any(int family, struct oe_prefix *out);

const char *oe_addr_str(const struct oe_addr *a, char buf[OE_ADDR_STRLEN]);
const char *oe_prefix_str(const struct oe_prefix *p, char buf[OE_ADDR_STRLEN]);

bool oe_addr_eq(const struct oe_addr *a, const struct oe_addr *b);
/* A host one negotiates with: not unspecified, loopback, link-local, multicast or broadcast. */
bool oe_addr_is_peer(const struct oe_addr *a);
/* One source, as per-source limits count them: the same IPv4 address, or the same IPv6 /64 (a host's usual share). */
bool oe_addr_same_source(const struct oe_addr *a, const struct oe_addr *b);
int oe_prefix_cmp(const struct oe_prefix *a, const struct oe_prefix *b);
bool oe_prefix_contains(const struct oe_prefix *p, const struct oe_addr *a);

/* The address as a 128-bit number (IPv4 in the low 32 bits). */
unsigned __int128 oe_addr_u128(const struct oe_addr *a);

/*
 * "900", "900s", "15m", "2h", "1d" -> seconds. Returns 0, or -1 for anything
 * else (empty, negative, unknown unit, overflow past 2^31).
 */
int oe_duration_parse(const char *s, uint32_t *seconds);

/* Protocol by name ("tcp", "udp", "icmp", "ipv6-icmp", ...) or number. */
int oe_proto_parse(const char *s, uint8_t *proto);
const char *oe_proto_name(uint8_t proto, char buf[8]);

/* A growing text buffer for replies and reports. */
struct oe_buf {
    char *p;
    size_t len, cap;
    bool failed; /* an allocation failed: the text is cut short */
};

void oe_buf_printf(struct oe_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string, quotes included. */
void oe_buf_json_str(struct oe_buf *b, const char *s);
void oe_buf_free(struct oe_buf *b);

/* Overwrite memory that held a secret; the compiler may not elide it. */
void oe_wipe(void *p, size_t n);

/*
 * A hash table of nodes the caller embeds in its own structs (hash.c): add,
 * remove and find in O(1), with chains in a power of two of buckets that
 * doubles whenever the count passes it (no cap; it never fails: without
 * memory to grow, the chains grow instead). The caller gives each node its
 * hash and checks its own key on every node a lookup yields: other keys
 * share buckets, and a hash value now and then. The table owns only its
 * bucket array (oe_htab_free); {0} is an empty table.
 */
struct oe_hnode {
    struct oe_hnode *next, **pprev; /* pprev NULL: in no table */
    uint64_t hash;
};

struct oe_htab {
    struct oe_hnode **b; /* mask + 1 buckets; NULL: only `one` */
    struct oe_hnode *one;
    size_t mask, n;
};

void oe_htab_add(struct oe_htab *t, struct oe_hnode *node, uint64_t hash);
/* Out of its table; a node in none stays so. */
void oe_htab_del(struct oe_htab *t, struct oe_hnode *node);
/* The first node with this hash, and the next one (NULL: no more). */
struct oe_hnode *oe_htab_first(const struct oe_htab *t, uint64_t hash);
struct oe_hnode *oe_htab_next(const struct oe_hnode *node);
void oe_htab_free(struct oe_htab *t);

/*
 * Keys for it, mixed with a secret seed: a peer that picks the SPIs and
 * addresses it sends cannot aim them at one bucket. (A fast mix, not a PRF:
 * the seed itself is not a secret worth the name.)
 */
uint64_t oe_hash_bytes(uint64_t seed, const void *p, size_t len);

#endif
