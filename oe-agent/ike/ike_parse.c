/* Validate, then use: IKEv2 header and payloads (RFC 7296 3). */
#include "ike_msg.h"

#include <stdio.h>
#include <sys/socket.h>

const char *ike_payload_name(uint8_t type)
{
    switch (type) {
    case IKE_PL_SA: return "SA";
    case IKE_PL_KE: return "KE";
    case IKE_PL_IDI: return "IDi";
    case IKE_PL_IDR: return "IDr";
    case IKE_PL_CERT: return "CERT";
    case IKE_PL_CERTREQ: return "CERTREQ";
    case IKE_PL_AUTH: return "AUTH";
    case IKE_PL_NONCE: return "Ni/Nr";
    case IKE_PL_NOTIFY: return "N";
    case IKE_PL_DELETE: return "D";
    case IKE_PL_VENDOR: return "V";
    case IKE_PL_TSI: return "TSi";
    case IKE_PL_TSR: return "TSr";
    case IKE_PL_SK: return "SK";
    case IKE_PL_SKF: return "SKF";
    case IKE_PL_CP: return "CP";
    }
    return "unknown";
}

const char *ike_notify_name(uint16_t type)
{
    switch (type) {
    case IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD: return "UNSUPPORTED_CRITICAL_PAYLOAD";
    case IKE_N_INVALID_IKE_SPI: return "INVALID_IKE_SPI";
    case IKE_N_INVALID_SYNTAX: return "INVALID_SYNTAX";
    case IKE_N_INVALID_MESSAGE_ID: return "INVALID_MESSAGE_ID";
    case IKE_N_NO_PROPOSAL_CHOSEN: return "NO_PROPOSAL_CHOSEN";
    case IKE_N_INVALID_KE_PAYLOAD: return "INVALID_KE_PAYLOAD";
    case IKE_N_AUTHENTICATION_FAILED: return "AUTHENTICATION_FAILED";
    case IKE_N_INTERNAL_ADDRESS_FAILURE: return "INTERNAL_ADDRESS_FAILURE";
    case IKE_N_TS_UNACCEPTABLE: return "TS_UNACCEPTABLE";
    case IKE_N_INITIAL_CONTACT: return "INITIAL_CONTACT";
    case IKE_N_NAT_DETECTION_SOURCE_IP: return "NAT_DETECTION_SOURCE_IP";
    case IKE_N_NAT_DETECTION_DESTINATION_IP: return "NAT_DETECTION_DESTINATION_IP";
    case IKE_N_COOKIE: return "COOKIE";
    case IKE_N_USE_TRANSPORT_MODE: return "USE_TRANSPORT_MODE";
    case IKE_N_REKEY_SA: return "REKEY_SA";
    case IKE_N_SIGNATURE_HASH_ALGORITHMS: return "SIGNATURE_HASH_ALGORITHMS";
    }
    return "notify";
}

int ike_parse_header(const uint8_t *p, size_t len, struct ike_header *h, struct oe_error *err)
{
    struct cursor c = cursor_of(p, len);
    if (len < IKE_HDR_LEN) {
        oe_error_set(err, "IKE header: %zu octets, need %d", len, IKE_HDR_LEN);
        return -1;
    }
    h->spi_i = (uint64_t)cursor_u32(&c) << 32;
    h->spi_i |= cursor_u32(&c);
    h->spi_r = (uint64_t)cursor_u32(&c) << 32;
    h->spi_r |= cursor_u32(&c);
    h->next = cursor_u8(&c);
    h->version = cursor_u8(&c);
    h->exchange = cursor_u8(&c);
    h->flags = cursor_u8(&c);
    h->msgid = cursor_u32(&c);
    h->length = cursor_u32(&c);
    if ((h->version >> 4) != 2) {
        oe_error_set(err, "IKE header: major version %u, not 2", h->version >> 4);
        return -1;
    }
    if (h->length != len) {
        oe_error_set(err, "IKE header: length field %u but the datagram has %zu octets", h->length, len);
        return -1;
    }
    return 0;
}

static int parse_sa(struct cursor *c, struct ike_sa_payload *sa, size_t at, struct oe_error *err)
{
    uint8_t last = 2;
    while (last == 2 && cursor_left(c) > 0) {
        size_t poff = at + c->off;
        if (sa->n == IKE_MAX_PROPOSALS) {
            oe_error_set(err, "SA at offset %zu: more than %d proposals", poff, IKE_MAX_PROPOSALS);
            return -1;
        }
        struct ike_proposal *pr = &sa->p[sa->n++];
        last = cursor_u8(c);
        cursor_u8(c);
        uint16_t plen = cursor_u16(c);
        if (c->bad || plen < 8 || plen - 4u > cursor_left(c) || (last != 0 && last != 2)) {
            oe_error_set(err, "SA proposal at offset %zu: length %u with %zu left", poff, plen, cursor_left(c) + 4);
            return -1;
        }
        struct cursor pc = cursor_of(cursor_take(c, plen - 4u), plen - 4u);
        pr->num = cursor_u8(&pc);
        pr->protocol = cursor_u8(&pc);
        pr->spi_size = cursor_u8(&pc);
        uint8_t nt = cursor_u8(&pc);
        if (pr->spi_size > 8 || pr->spi_size > cursor_left(&pc)) {
            oe_error_set(err, "SA proposal at offset %zu: SPI size %u", poff, pr->spi_size);
            return -1;
        }
        memcpy(pr->spi, cursor_take(&pc, pr->spi_size), pr->spi_size);
        for (unsigned i = 0; i < nt; i++) {
            size_t toff = at + c->off - plen + 4 + pc.off;
            uint8_t tlast = cursor_u8(&pc);
            cursor_u8(&pc);
            uint16_t tlen = cursor_u16(&pc);
            if (pc.bad || tlen < 8 || tlen - 4u > cursor_left(&pc) || (i + 1 < nt) != (tlast == 3)) {
                oe_error_set(err, "SA transform at offset %zu: length %u, last %u", toff, tlen, tlast);
                return -1;
            }
            struct cursor tc = cursor_of(cursor_take(&pc, tlen - 4u), tlen - 4u);
            struct ike_transform t = {.type = cursor_u8(&tc)};
            cursor_u8(&tc);
            t.id = cursor_u16(&tc);
            while (cursor_left(&tc) >= 4) {
                uint16_t at_type = cursor_u16(&tc), at_val = cursor_u16(&tc);
                if (!(at_type & 0x8000)) {
                    /* TLV attributes: none defined for us; skip its value */
                    if (cursor_take(&tc, at_val) == NULL)
                        break;
                } else if ((at_type & 0x7fff) == 14) {
                    t.keylen = at_val;
                }
            }
            if (tc.bad || cursor_left(&tc) != 0) {
                oe_error_set(err, "SA transform at offset %zu: bad attributes", toff);
                return -1;
            }
            if (pr->nt < IKE_MAX_TRANSFORMS)
                pr->t[pr->nt++] = t;
        }
        if (cursor_left(&pc) != 0) {
            oe_error_set(err, "SA proposal at offset %zu: %zu octets after the transforms", poff, cursor_left(&pc));
            return -1;
        }
    }
    if (last != 0 || cursor_left(c) != 0) {
        oe_error_set(err, "SA at offset %zu: proposals do not fill the payload", at);
        return -1;
    }
    return 0;
}

static int parse_ts(struct cursor *c, struct ike_ts *ts, size_t *n, size_t at, struct oe_error *err)
{
    uint8_t count = cursor_u8(c);
    cursor_take(c, 3);
    for (unsigned i = 0; i < count; i++) {
        uint8_t type = cursor_u8(c), proto = cursor_u8(c);
        uint16_t len = cursor_u16(c);
        size_t alen = type == IKE_TS_IPV4 ? 4 : type == IKE_TS_IPV6 ? 16 : 0;
        if (c->bad || alen == 0 || len != 8 + 2 * alen || cursor_left(c) < len - 4u) {
            oe_error_set(err, "TS at offset %zu: selector %u of type %u and length %u", at, i, type, len);
            return -1;
        }
        struct ike_ts t = {.type = type, .proto = proto};
        t.sport = cursor_u16(c);
        t.eport = cursor_u16(c);
        t.start.family = t.end.family = type == IKE_TS_IPV4 ? AF_INET : AF_INET6;
        memcpy(t.start.bytes, cursor_take(c, alen), alen);
        memcpy(t.end.bytes, cursor_take(c, alen), alen);
        if (*n < IKE_MAX_TS)
            ts[(*n)++] = t;
    }
    if (c->bad || cursor_left(c) != 0) {
        oe_error_set(err, "TS at offset %zu: selectors do not fill the payload", at);
        return -1;
    }
    return 0;
}

/*
 * RFC 7296 3.15: CFG type, three reserved octets, then attributes (a reserved
 * bit, a 15-bit type, a length, the value), each within what is left. The
 * address attributes have the lengths 3.15.1 gives them or are refused.
 */
static int parse_cp(struct cursor *c, struct ike_payloads *o, size_t at, struct oe_error *err)
{
    struct ike_cp *cp = &o->cp;
    if (o->has_cp) {
        oe_error_set(err, "CP at offset %zu: a second Configuration payload", at);
        return -1;
    }
    o->has_cp = true;
    cp->type = cursor_u8(c);
    cursor_take(c, 3);
    if (c->bad) {
        oe_error_set(err, "CP at offset %zu: %zu octets, need 4 before the attributes", at, c->len);
        return -1;
    }
    if (cp->type < IKE_CFG_REQUEST || cp->type > IKE_CFG_ACK) {
        oe_error_set(err, "CP at offset %zu: CFG type %u (1..4 are defined)", at, cp->type);
        return -1;
    }
    while (cursor_left(c) > 0) {
        size_t aoff = at + 4 + c->off;
        uint16_t type = cursor_u16(c) & 0x7fff, alen = cursor_u16(c);
        if (c->bad || alen > cursor_left(c)) {
            oe_error_set(err, "CP attribute at offset %zu: length %u but %zu octets left", aoff, alen,
                         c->bad ? 0 : cursor_left(c));
            return -1;
        }
        struct cursor v = cursor_of(cursor_take(c, alen), alen);
        cp->nattrs++;
        if (type == IKE_CFG_INTERNAL_IP4_ADDRESS) {
            if (alen != 0 && alen != 4) {
                oe_error_set(err, "CP attribute at offset %zu: INTERNAL_IP4_ADDRESS of %u octets, need 0 or 4", aoff,
                             alen);
                return -1;
            }
            if (!cp->ip4 && alen == 4) {
                cp->addr4.family = AF_INET;
                memcpy(cp->addr4.bytes, cursor_take(&v, 4), 4);
            }
            cp->ip4 = true;
        } else if (type == IKE_CFG_INTERNAL_IP6_ADDRESS) {
            if (alen != 0 && alen != 17) {
                oe_error_set(err, "CP attribute at offset %zu: INTERNAL_IP6_ADDRESS of %u octets, need 0 or 17", aoff,
                             alen);
                return -1;
            }
            if (alen == 17 && v.p[16] > 128) {
                oe_error_set(err, "CP attribute at offset %zu: INTERNAL_IP6_ADDRESS prefix length %u", aoff, v.p[16]);
                return -1;
            }
            if (!cp->ip6 && alen == 17) {
                cp->addr6.family = AF_INET6;
                memcpy(cp->addr6.bytes, cursor_take(&v, 16), 16);
                cp->prefix6 = cursor_u8(&v);
            }
            cp->ip6 = true;
        }
    }
    return 0;
}

static int parse_one(uint8_t type, bool critical, struct cursor *c, size_t at, struct ike_payloads *o,
                     struct oe_error *err)
{
    switch (type) {
    case IKE_PL_SA: o->has_sa = true; return parse_sa(c, &o->sa, at + 4, err);
    case IKE_PL_KE:
        o->has_ke = true;
        o->ke_group = cursor_u16(c);
        cursor_u16(c);
        o->ke.len = cursor_left(c);
        o->ke.p = cursor_take(c, o->ke.len);
        break;
    case IKE_PL_NONCE:
        o->has_nonce = true;
        o->nonce.len = cursor_left(c);
        o->nonce.p = cursor_take(c, o->nonce.len);
        /* RFC 7296 2.10: nonces are 16 to 256 octets */
        if (o->nonce.len < IKE_MIN_NONCE || o->nonce.len > IKE_MAX_NONCE) {
            oe_error_set(err, "Ni/Nr at offset %zu: %zu octets, need 16..256", at, o->nonce.len);
            return -1;
        }
        break;
    case IKE_PL_IDI:
    case IKE_PL_IDR: {
        struct ike_id *id = type == IKE_PL_IDI ? &o->idi : &o->idr;
        *(type == IKE_PL_IDI ? &o->has_idi : &o->has_idr) = true;
        id->body = (struct chunk){c->p + c->off, cursor_left(c)};
        id->type = cursor_u8(c);
        cursor_take(c, 3);
        id->data.len = cursor_left(c);
        id->data.p = cursor_take(c, id->data.len);
        break;
    }
    case IKE_PL_AUTH:
        o->has_auth = true;
        o->auth_method = cursor_u8(c);
        cursor_take(c, 3);
        o->auth.len = cursor_left(c);
        o->auth.p = cursor_take(c, o->auth.len);
        break;
    case IKE_PL_NOTIFY: {
        struct ike_notify n = {.protocol = cursor_u8(c), .spi_size = cursor_u8(c)};
        n.type = cursor_u16(c);
        n.spi.len = n.spi_size;
        n.spi.p = cursor_take(c, n.spi_size);
        n.data.len = cursor_left(c);
        n.data.p = cursor_take(c, n.data.len);
        if (c->bad) {
            oe_error_set(err, "N at offset %zu: SPI size %u longer than the payload", at, n.spi_size);
            return -1;
        }
        if (o->nnotify < IKE_MAX_NOTIFY)
            o->notify[o->nnotify++] = n;
        break;
    }
    case IKE_PL_DELETE: {
        o->has_delete = true;
        o->delete_protocol = cursor_u8(c);
        o->delete_spi_size = cursor_u8(c);
        uint16_t count = cursor_u16(c);
        size_t need = (size_t)count * o->delete_spi_size;
        if (c->bad || need != cursor_left(c)) {
            oe_error_set(err, "D at offset %zu: %u SPIs of %u octets in %zu", at, count, o->delete_spi_size,
                         cursor_left(c));
            return -1;
        }
        o->delete_spis.len = need;
        o->delete_spis.p = cursor_take(c, need);
        break;
    }
    case IKE_PL_TSI: o->has_tsi = true; return parse_ts(c, o->tsi, &o->ntsi, at, err);
    case IKE_PL_TSR: o->has_tsr = true; return parse_ts(c, o->tsr, &o->ntsr, at, err);
    case IKE_PL_SK:
        o->has_sk = true;
        o->sk_off = at;
        o->sk_body.len = cursor_left(c);
        o->sk_body.p = cursor_take(c, o->sk_body.len);
        break;
    case IKE_PL_CP: return parse_cp(c, o, at, err);
    case IKE_PL_CERT:
    case IKE_PL_CERTREQ:
    case IKE_PL_VENDOR:
        cursor_take(c, cursor_left(c)); /* tolerated and ignored */
        break;
    default:
        if (critical && !o->unsupported_critical)
            o->unsupported_critical = type;
        cursor_take(c, cursor_left(c));
        break;
    }
    if (c->bad) {
        oe_error_set(err, "%s at offset %zu: truncated", ike_payload_name(type), at);
        return -1;
    }
    return 0;
}

int ike_parse_payloads(uint8_t first, const uint8_t *p, size_t len, size_t base, struct ike_payloads *out,
                       struct oe_error *err)
{
    struct cursor c = cursor_of(p, len);
    uint8_t type = first;
    memset(out, 0, sizeof(*out));
    while (type != IKE_PL_NONE) {
        size_t at = base + c.off;
        uint8_t next = cursor_u8(&c);
        bool critical = cursor_u8(&c) & 0x80;
        uint16_t plen = cursor_u16(&c);
        if (c.bad || plen < 4 || plen - 4u > cursor_left(&c)) {
            oe_error_set(err, "%s at offset %zu: length %u but %zu octets left", ike_payload_name(type), at, plen,
                         c.bad ? len - (at - base) : cursor_left(&c) + 4);
            return -1;
        }
        struct cursor body = cursor_of(cursor_take(&c, plen - 4u), plen - 4u);
        if (type == IKE_PL_SK)
            out->sk_first = next;
        if (parse_one(type, critical, &body, at, out, err) != 0)
            return -1;
        if (cursor_left(&body) != 0) {
            oe_error_set(err, "%s at offset %zu: %zu octets unparsed", ike_payload_name(type), at, cursor_left(&body));
            return -1;
        }
        /* RFC 7296 3.14: SK is the last payload */
        type = type == IKE_PL_SK ? IKE_PL_NONE : next;
    }
    if (cursor_left(&c) != 0) {
        oe_error_set(err, "%zu octets after the last payload", cursor_left(&c));
        return -1;
    }
    return 0;
}

const struct ike_notify *ike_find_notify(const struct ike_payloads *pl, uint16_t type)
{
    for (size_t i = 0; i < pl->nnotify; i++)
        if (pl->notify[i].type == type)
            return &pl->notify[i];
    return NULL;
}
