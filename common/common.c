#include "common.h"

#include <time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void oe_error_set(struct oe_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    err->code = OE_E_FAILED;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

void oe_error_setc(struct oe_error *err, enum oe_status code, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

const char *oe_status_name(enum oe_status s)
{
    switch (s) {
    case OE_OK: return "ok";
    case OE_E_FAILED: return "failed";
    case OE_E_NOMEM: return "out of memory";
    case OE_E_INVALID: return "invalid input";
    case OE_E_LIMIT: return "limit reached";
    case OE_E_SYSTEM: return "system error";
    case OE_E_CRYPTO: return "crypto failure";
    }
    return "?";
}

uint64_t oe_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t oe_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

unsigned oe_family_bits(int family)
{
    return family == AF_INET6 ? 128 : 32;
}

int oe_addr_parse(const char *s, struct oe_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (strchr(s, ':') != NULL) {
        if (inet_pton(AF_INET6, s, out->bytes) != 1)
            return -1;
        out->family = AF_INET6;
        return 0;
    }
    if (inet_pton(AF_INET, s, out->bytes) != 1)
        return -1;
    out->family = AF_INET;
    return 0;
}

static bool host_bits_clear(const struct oe_addr *a, unsigned len)
{
    unsigned bits = oe_family_bits(a->family);
    for (unsigned i = len; i < bits; i++) {
        if (a->bytes[i / 8] & (0x80u >> (i % 8)))
            return false;
    }
    return true;
}

static void clear_host_bits(struct oe_addr *a, unsigned len)
{
    unsigned bits = oe_family_bits(a->family);
    for (unsigned i = len; i < bits; i++)
        a->bytes[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

int oe_prefix_parse(const char *s, struct oe_prefix *out, struct oe_error *err)
{
    char addr[OE_ADDR_STRLEN];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);

    memset(out, 0, sizeof(*out));
    if (alen == 0 || alen >= sizeof(addr)) {
        oe_error_set(err, "bad CIDR \"%s\": no address", s);
        return -1;
    }
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (oe_addr_parse(addr, &out->addr) != 0) {
        oe_error_set(err, "bad CIDR \"%s\": \"%s\" is not an IPv4 or IPv6 address", s, addr);
        return -1;
    }
    unsigned bits = oe_family_bits(out->addr.family);
    if (slash == NULL) {
        out->len = (uint8_t)bits;
        return 0;
    }
    const char *l = slash + 1;
    char *end;
    errno = 0;
    unsigned long len = strtoul(l, &end, 10);
    if (*l < '0' || *l > '9' || *end != '\0' || errno != 0 || len > bits) {
        oe_error_set(err, "bad CIDR \"%s\": prefix length must be 0..%u", s, bits);
        return -1;
    }
    out->len = (uint8_t)len;
    if (!host_bits_clear(&out->addr, out->len)) {
        struct oe_prefix fixed = *out;
        char buf[OE_ADDR_STRLEN];
        clear_host_bits(&fixed.addr, fixed.len);
        oe_error_set(err, "host bits set in \"%s\" (did you mean %s?)", s, oe_prefix_str(&fixed, buf));
        return -1;
    }
    return 0;
}

void oe_prefix_host(const struct oe_addr *a, struct oe_prefix *out)
{
    out->addr = *a;
    out->len = (uint8_t)oe_family_bits(a->family);
}

void oe_prefix_any(int family, struct oe_prefix *out)
{
    memset(out, 0, sizeof(*out));
    out->addr.family = (uint8_t)family;
}

const char *oe_addr_str(const struct oe_addr *a, char buf[OE_ADDR_STRLEN])
{
    if (inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->bytes, buf, OE_ADDR_STRLEN) == NULL)
        snprintf(buf, OE_ADDR_STRLEN, "<bad address>");
    return buf;
}

const char *oe_prefix_str(const struct oe_prefix *p, char buf[OE_ADDR_STRLEN])
{
    char a[OE_ADDR_STRLEN];
    snprintf(buf, OE_ADDR_STRLEN, "%.46s/%u", oe_addr_str(&p->addr, a), p->len);
    return buf;
}

bool oe_addr_eq(const struct oe_addr *a, const struct oe_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, oe_family_bits(a->family) / 8) == 0;
}

bool oe_addr_is_peer(const struct oe_addr *a)
{
    const uint8_t *b = a->bytes;
    if (a->family == AF_INET)
        return b[0] != 0 && b[0] != 127 && !(b[0] == 169 && b[1] == 254) && b[0] < 224;
    static const uint8_t zero[16];
    if (a->family != AF_INET6 || memcmp(b, zero, 16) == 0 || (memcmp(b, zero, 15) == 0 && b[15] == 1))
        return false;
    return b[0] != 0xff && !(b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
}

bool oe_addr_same_source(const struct oe_addr *a, const struct oe_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, a->family == AF_INET6 ? 8 : 4) == 0;
}

int oe_prefix_cmp(const struct oe_prefix *a, const struct oe_prefix *b)
{
    if (a->addr.family != b->addr.family)
        return a->addr.family < b->addr.family ? -1 : 1;
    int c = memcmp(a->addr.bytes, b->addr.bytes, 16);
    if (c != 0)
        return c < 0 ? -1 : 1;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return 0;
}

bool oe_prefix_contains(const struct oe_prefix *p, const struct oe_addr *a)
{
    if (p->addr.family != a->family)
        return false;
    unsigned full = p->len / 8, rest = p->len % 8;
    if (memcmp(p->addr.bytes, a->bytes, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (p->addr.bytes[full] & mask) == (a->bytes[full] & mask);
}

unsigned __int128 oe_addr_u128(const struct oe_addr *a)
{
    unsigned n = oe_family_bits(a->family) / 8;
    unsigned __int128 v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | a->bytes[i];
    return v;
}

int oe_duration_parse(const char *s, uint32_t *seconds)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    unsigned long long mult;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        mult = 1;
    else if (strcmp(end, "m") == 0)
        mult = 60;
    else if (strcmp(end, "h") == 0)
        mult = 3600;
    else if (strcmp(end, "d") == 0)
        mult = 86400;
    else
        return -1;
    if (v > (1ull << 31) / mult)
        return -1;
    *seconds = (uint32_t)(v * mult);
    return 0;
}

static const struct {
    const char *name;
    uint8_t proto;
} protos[] = {
    {"icmp", 1}, {"tcp", 6},        {"udp", 17},    {"gre", 47},   {"esp", 50},
    {"ah", 51},  {"ipv6-icmp", 58}, {"icmpv6", 58}, {"sctp", 132},
};

int oe_proto_parse(const char *s, uint8_t *proto)
{
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
        if (strcmp(s, protos[i].name) == 0) {
            *proto = protos[i].proto;
            return 0;
        }
    }
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || errno != 0 || v > 255)
        return -1;
    *proto = (uint8_t)v;
    return 0;
}

const char *oe_proto_name(uint8_t proto, char buf[8])
{
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
        if (protos[i].proto == proto) {
            snprintf(buf, 8, "%s", protos[i].name);
            return buf;
        }
    }
    snprintf(buf, 8, "%u", proto);
    return buf;
}

void oe_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

void oe_buf_printf(struct oe_buf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->failed; tries++) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

void oe_buf_json_str(struct oe_buf *b, const char *s)
{
    oe_buf_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            oe_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            oe_buf_printf(b, "\\u%04x", c);
        else
            oe_buf_printf(b, "%c", c);
    }
    oe_buf_printf(b, "\"");
}

void oe_buf_free(struct oe_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}
