/*
 * IPSECKEY (RFC 4025), FreeS/WAN's TXT X-IPsec-Server and KEY (RFC 2535):
 * validate every length against what is left, then use.
 */
#include "dnskeys.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define TXT_PREFIX "X-IPsec-Server("
#define IPSECKEY_ALG_RSA 2
#define KEY_PROTO_IPSEC 4
#define KEY_PROTO_ALL 255
#define KEY_FLAGS_NOKEY 0xC000u
#define FREESWAN_KEY_FLAGS 0x4200u
#define FREESWAN_KEY_ALG 1

const char *dnskeys_rrtype_name(enum dnskeys_rrtype t)
{
    switch (t) {
    case DNSKEYS_IPSECKEY: return "IPSECKEY";
    case DNSKEYS_TXT: return "TXT";
    case DNSKEYS_KEY: return "KEY";
    }
    return "?";
}

void dnskeys_record_free(struct dnskeys_record *r)
{
    dnskeys_key_free(&r->key);
}

static void unusable(struct dnskeys_record *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void unusable(struct dnskeys_record *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->usable = false;
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
}

static void take_key(struct dnskeys_record *r, const uint8_t *k, size_t klen, unsigned min_bits)
{
    struct oe_error e;
    if (klen == 0) {
        unusable(r, "no public key in the record");
        return;
    }
    if (dnskeys_key_decode(k, klen, min_bits, &r->key, &e) != 0) {
        unusable(r, "%s", e.msg);
        return;
    }
    r->usable = true;
}

/* An uncompressed wire name (RFC 4025 2.5) into presentation form. */
static int wire_name(const uint8_t *p, size_t len, size_t *used, char out[DNSKEYS_NAME_MAX], struct oe_error *err)
{
    size_t off = 0;
    for (;;) {
        if (off >= len) {
            oe_error_set(err, "IPSECKEY gateway name: truncated at offset %zu of %zu", off, len);
            return -1;
        }
        uint8_t l = p[off];
        if ((l & 0xC0) != 0) {
            oe_error_set(err, "IPSECKEY gateway name: compressed or bad label at offset %zu", off);
            return -1;
        }
        if (off + 1 + l > len) {
            oe_error_set(err, "IPSECKEY gateway name: label of %u at offset %zu runs past %zu", l, off, len);
            return -1;
        }
        off += 1 + l;
        if (off > 255) {
            oe_error_set(err, "IPSECKEY gateway name: longer than 255 octets");
            return -1;
        }
        if (l == 0)
            break;
    }
    ldns_rdf *d = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, off, p);
    char *s = d ? ldns_rdf2str(d) : NULL;
    ldns_rdf_deep_free(d);
    if (s == NULL || strlen(s) >= DNSKEYS_NAME_MAX) {
        free(s);
        oe_error_set(err, "IPSECKEY gateway name: cannot be printed");
        return -1;
    }
    snprintf(out, DNSKEYS_NAME_MAX, "%s", s);
    free(s);
    *used = off;
    return 0;
}

static int parse_ipseckey(const uint8_t *p, size_t len, unsigned min_bits, struct dnskeys_record *r,
                          struct oe_error *err)
{
    if (len < 3) {
        oe_error_set(err, "IPSECKEY: %zu octets, need at least 3 (precedence, gateway type, algorithm)", len);
        return -1;
    }
    r->precedence = p[0];
    r->algorithm = p[2];
    size_t off = 3, glen = 0;
    switch (p[1]) {
    case DNSKEYS_GW_NONE: break;
    case DNSKEYS_GW_IPV4:
    case DNSKEYS_GW_IPV6:
        glen = p[1] == DNSKEYS_GW_IPV4 ? 4 : 16;
        if (len - off < glen) {
            oe_error_set(err, "IPSECKEY: gateway address of %zu octets at offset 3, only %zu left", glen, len - off);
            return -1;
        }
        r->gw_addr.family = p[1] == DNSKEYS_GW_IPV4 ? AF_INET : AF_INET6;
        memcpy(r->gw_addr.bytes, p + off, glen);
        break;
    case DNSKEYS_GW_NAME:
        if (wire_name(p + off, len - off, &glen, r->gw_name, err) != 0)
            return -1;
        break;
    default: oe_error_set(err, "IPSECKEY: gateway type %u at offset 1 is not 0..3", p[1]); return -1;
    }
    r->gw_type = (enum dnskeys_gw_type)p[1];
    off += glen;
    if (r->algorithm == 0) {
        unusable(r, "no key (algorithm 0)");
        return 0;
    }
    if (r->algorithm != IPSECKEY_ALG_RSA) {
        unusable(r, "algorithm %u is not supported (only 2, RSA)", r->algorithm);
        return 0;
    }
    take_key(r, p + off, len - off, min_bits);
    return 0;
}

/* TXT rdata: <len><octets>..., joined with a space (a key may span strings). */
static char *txt_join(const uint8_t *p, size_t len, struct oe_error *err)
{
    char *s = malloc(len * 2 + 1);
    size_t off = 0, k = 0;
    if (s == NULL) {
        oe_error_set(err, "TXT: out of memory");
        return NULL;
    }
    while (off < len) {
        uint8_t l = p[off];
        if (off + 1 + l > len) {
            oe_error_set(err, "TXT: string of %u octets at offset %zu runs past %zu", l, off, len);
            free(s);
            return NULL;
        }
        if (memchr(p + off + 1, '\0', l) != NULL) {
            oe_error_set(err, "TXT: NUL octet in the string at offset %zu", off);
            free(s);
            return NULL;
        }
        if (k > 0)
            s[k++] = ' ';
        memcpy(s + k, p + off + 1, l);
        k += l;
        off += 1 + l;
    }
    s[k] = '\0';
    return s;
}

/*
 * A TXT gateway that is not an address must be a host name we could ask
 * for (RFC 1035 2.3.4): letters, digits, "-", "_" and dots, labels of 1..63,
 * 253 characters at most. CVE-2013-2052 was an overflow on this very field.
 */
static int txt_gateway_name(const char *gw, const char *name, struct oe_error *err)
{
    size_t nlen = strlen(name), label = 0;
    if (nlen == 0 || nlen > 253 + (name[nlen - 1] == '.')) {
        oe_error_set(err, "TXT: gateway name of %zu characters is longer than 253", nlen);
        return -1;
    }
    for (size_t i = 0; i < nlen; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            if (label == 0) {
                oe_error_set(err, "TXT: gateway name \"%.80s\" has an empty label at character %zu", gw, i);
                return -1;
            }
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-' && c != '_') {
            oe_error_set(err, "TXT: gateway \"%.80s%s\" is neither an address nor a host name", gw,
                         strlen(gw) > 80 ? "..." : "");
            return -1;
        }
        if (++label > 63) {
            oe_error_set(err, "TXT: gateway name \"%.80s...\" has a label of 64 characters or more at character %zu",
                         gw, i - 63);
            return -1;
        }
    }
    return 0;
}

static int parse_txt(const uint8_t *p, size_t len, unsigned min_bits, struct dnskeys_record *r, struct oe_error *err)
{
    char *s = txt_join(p, len, err);
    if (s == NULL)
        return -1;
    int rc = -1;
    if (strncasecmp(s, TXT_PREFIX, strlen(TXT_PREFIX)) != 0) {
        rc = 1; /* some other TXT record: not ours */
        goto out;
    }
    char *q = s + strlen(TXT_PREFIX), *end;
    unsigned long pref = strtoul(q, &end, 10);
    if (end == q || pref > 255 || end[0] != ')' || end[1] != '=') {
        oe_error_set(err, "TXT: expected X-IPsec-Server(0..255)=GATEWAY KEY");
        goto out;
    }
    q = end + 2;
    size_t glen = strcspn(q, " \t");
    if (glen >= DNSKEYS_NAME_MAX) {
        oe_error_set(err, "TXT: gateway of %zu characters is longer than 253", glen);
        goto out;
    }
    if (glen == 0 || q[glen] == '\0') {
        oe_error_set(err, "TXT: X-IPsec-Server needs a gateway and a key after \"=\"");
        goto out;
    }
    char gw[DNSKEYS_NAME_MAX];
    memcpy(gw, q, glen);
    gw[glen] = '\0';
    r->precedence = (unsigned)pref;
    r->algorithm = IPSECKEY_ALG_RSA;
    if (oe_addr_parse(gw, &r->gw_addr) == 0) {
        r->gw_type = r->gw_addr.family == AF_INET ? DNSKEYS_GW_IPV4 : DNSKEYS_GW_IPV6;
    } else {
        const char *name = gw[0] == '@' ? gw + 1 : gw;
        if (txt_gateway_name(gw, name, err) != 0)
            goto out;
        size_t nlen = strlen(name);
        r->gw_type = DNSKEYS_GW_NAME;
        memcpy(r->gw_name, name, nlen);
        if (name[nlen - 1] != '.')
            r->gw_name[nlen++] = '.';
        r->gw_name[nlen] = '\0';
    }
    struct oe_error e;
    if (dnskeys_key_from_text(q + glen, min_bits, &r->key, &e) != 0)
        unusable(r, "%s", e.msg);
    else
        r->usable = true;
    rc = 0;
out:
    free(s);
    return rc;
}

static int parse_key(const uint8_t *p, size_t len, unsigned min_bits, struct dnskeys_record *r, struct oe_error *err)
{
    if (len < 4) {
        oe_error_set(err, "KEY: %zu octets, need at least 4 (flags, protocol, algorithm)", len);
        return -1;
    }
    unsigned flags = (unsigned)p[0] << 8 | p[1];
    r->algorithm = p[3];
    if ((flags & KEY_FLAGS_NOKEY) == KEY_FLAGS_NOKEY) {
        unusable(r, "flags say \"no key\"");
        return 0;
    }
    if (p[2] != KEY_PROTO_IPSEC && p[2] != KEY_PROTO_ALL) {
        unusable(r, "protocol %u is not IPsec (4) or any (255)", p[2]);
        return 0;
    }
    /* RSA/MD5, RSA/SHA-1, RSASHA1-NSEC3, RSA/SHA-256, RSA/SHA-512: the key is RSA */
    if (r->algorithm != 1 && r->algorithm != 5 && r->algorithm != 7 && r->algorithm != 8 && r->algorithm != 10) {
        unusable(r, "algorithm %u is not RSA", r->algorithm);
        return 0;
    }
    take_key(r, p + 4, len - 4, min_bits);
    return 0;
}

int dnskeys_record_parse(enum dnskeys_rrtype type, const uint8_t *rdata, size_t len, unsigned min_bits,
                         struct dnskeys_record *out, struct oe_error *err)
{
    memset(out, 0, sizeof(*out));
    out->type = type;
    int rc;
    switch (type) {
    case DNSKEYS_IPSECKEY: rc = parse_ipseckey(rdata, len, min_bits, out, err); break;
    case DNSKEYS_TXT: rc = parse_txt(rdata, len, min_bits, out, err); break;
    case DNSKEYS_KEY: rc = parse_key(rdata, len, min_bits, out, err); break;
    default: oe_error_set(err, "record type %d is not IPSECKEY, TXT or KEY", (int)type); return -1;
    }
    if (rc != 0)
        dnskeys_record_free(out);
    return rc;
}

/* ---- building wire rdata ---- */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool failed;
};

static void put(struct wbuf *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2 + 64;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put8(struct wbuf *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    put(b, &x, 1);
}

static int put_name(struct wbuf *b, const char *name, struct oe_error *err)
{
    ldns_rdf *d = NULL;
    if (ldns_str2rdf_dname(&d, name) != LDNS_STATUS_OK) {
        oe_error_set(err, "gateway \"%s\" is not a valid domain name", name);
        return -1;
    }
    put(b, ldns_rdf_data(d), ldns_rdf_size(d));
    ldns_rdf_deep_free(d);
    return 0;
}

static const char *gateway_text(const struct dnskeys_record *r, char buf[OE_ADDR_STRLEN])
{
    if (r->gw_type == DNSKEYS_GW_NAME)
        return r->gw_name;
    return oe_addr_str(&r->gw_addr, buf);
}

int dnskeys_record_to_rdata(const struct dnskeys_record *r, uint8_t **rdata, size_t *len, struct oe_error *err)
{
    struct wbuf b = {0};
    char gw[OE_ADDR_STRLEN];
    switch (r->type) {
    case DNSKEYS_IPSECKEY:
        put8(&b, r->precedence);
        put8(&b, r->gw_type);
        put8(&b, r->algorithm ? r->algorithm : IPSECKEY_ALG_RSA);
        if (r->gw_type == DNSKEYS_GW_IPV4 || r->gw_type == DNSKEYS_GW_IPV6)
            put(&b, r->gw_addr.bytes, r->gw_type == DNSKEYS_GW_IPV4 ? 4 : 16);
        else if (r->gw_type == DNSKEYS_GW_NAME && put_name(&b, r->gw_name, err) != 0)
            goto fail;
        put(&b, r->key.rfc3110, r->key.len);
        break;
    case DNSKEYS_TXT: {
        if (r->gw_type == DNSKEYS_GW_NONE) {
            oe_error_set(err, "TXT X-IPsec-Server needs a gateway");
            goto fail;
        }
        /* FreeS/WAN concatenates the strings: the space stays in the first */
        char head[300];
        int n = snprintf(head, sizeof(head), TXT_PREFIX "%u)=%s ", r->precedence, gateway_text(r, gw));
        if (n < 0 || n > 255) {
            oe_error_set(err, "TXT: gateway too long");
            goto fail;
        }
        put8(&b, (unsigned)n);
        put(&b, head, (size_t)n);
        char *key = dnskeys_key_to_text(&r->key, false);
        if (key == NULL) {
            oe_error_set(err, "out of memory");
            goto fail;
        }
        for (size_t off = 0, klen = strlen(key); off < klen; off += 255) {
            size_t chunk = klen - off < 255 ? klen - off : 255;
            put8(&b, (unsigned)chunk);
            put(&b, key + off, chunk);
        }
        free(key);
        break;
    }
    case DNSKEYS_KEY:
        put8(&b, FREESWAN_KEY_FLAGS >> 8);
        put8(&b, FREESWAN_KEY_FLAGS & 0xff);
        put8(&b, KEY_PROTO_IPSEC);
        put8(&b, r->algorithm ? r->algorithm : FREESWAN_KEY_ALG);
        put(&b, r->key.rfc3110, r->key.len);
        break;
    }
    if (b.failed) {
        oe_error_set(err, "out of memory");
        goto fail;
    }
    *rdata = b.p;
    *len = b.len;
    return 0;
fail:
    free(b.p);
    return -1;
}

/* ---- zone-file text, printed by ldns ---- */

char *dnskeys_rdata_to_zone(const char *owner, uint32_t ttl, enum dnskeys_rrtype type, const uint8_t *rdata, size_t len,
                            struct oe_error *err)
{
    if (len > 0xffff) {
        oe_error_set(err, "rdata of %zu octets is too long", len);
        return NULL;
    }
    uint8_t *wire = malloc(len + 2);
    ldns_rr *rr = ldns_rr_new_frm_type((ldns_rr_type)type);
    ldns_buffer *out = ldns_buffer_new(256);
    char *text = NULL;
    size_t pos = 0;
    if (wire == NULL || rr == NULL || out == NULL) {
        oe_error_set(err, "out of memory");
        goto done;
    }
    wire[0] = (uint8_t)(len >> 8);
    wire[1] = (uint8_t)len;
    memcpy(wire + 2, rdata, len);
    /* the type's descriptor creates rdfs; start from an empty rr */
    while (ldns_rr_rd_count(rr) > 0)
        ldns_rdf_deep_free(ldns_rr_pop_rdf(rr));
    if (ldns_wire2rdf(rr, wire, len + 2, &pos) != LDNS_STATUS_OK) {
        oe_error_set(err, "%s rdata is malformed for ldns", dnskeys_rrtype_name(type));
        goto done;
    }
    if (owner)
        ldns_buffer_printf(out, "%s\t", owner);
    if (ttl)
        ldns_buffer_printf(out, "%u\t", ttl);
    ldns_buffer_printf(out, "IN\t%s\t", dnskeys_rrtype_name(type));
    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
        if (i)
            ldns_buffer_printf(out, " ");
        ldns_rdf2buffer_str(out, ldns_rr_rdf(rr, i));
    }
    text = ldns_buffer_export2str(out);
    if (text == NULL)
        oe_error_set(err, "out of memory");
done:
    free(wire);
    ldns_rr_free(rr);
    ldns_buffer_free(out);
    return text;
}

char *dnskeys_record_to_zone(const char *owner, uint32_t ttl, const struct dnskeys_record *r, struct oe_error *err)
{
    uint8_t *rdata;
    size_t len;
    if (dnskeys_record_to_rdata(r, &rdata, &len, err) != 0)
        return NULL;
    char *s = dnskeys_rdata_to_zone(owner, ttl, r->type, rdata, len, err);
    free(rdata);
    return s;
}

int dnskeys_record_from_zone(const char *line, unsigned min_bits, char owner[DNSKEYS_NAME_MAX],
                             struct dnskeys_record *out, struct oe_error *err)
{
    ldns_rr *rr = NULL;
    ldns_status st = ldns_rr_new_frm_str(&rr, line, 3600, NULL, NULL);
    if (st != LDNS_STATUS_OK) {
        oe_error_set(err, "not a zone-file record: %s", ldns_get_errorstr_by_id(st));
        return -1;
    }
    int type = (int)ldns_rr_get_type(rr);
    ldns_buffer *b = ldns_buffer_new(512);
    int rc = -1;
    if (type != DNSKEYS_IPSECKEY && type != DNSKEYS_TXT && type != DNSKEYS_KEY) {
        oe_error_set(err, "record type %d is not IPSECKEY, TXT or KEY", type);
    } else if (b == NULL || ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK) {
        oe_error_set(err, "cannot encode the record");
    } else {
        char *o = ldns_rdf2str(ldns_rr_owner(rr));
        snprintf(owner, DNSKEYS_NAME_MAX, "%s", o ? o : "");
        free(o);
        rc = dnskeys_record_parse((enum dnskeys_rrtype)type, ldns_buffer_begin(b), ldns_buffer_position(b), min_bits,
                                  out, err);
    }
    ldns_buffer_free(b);
    ldns_rr_free(rr);
    return rc;
}
