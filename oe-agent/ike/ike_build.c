/* Building IKEv2 messages: chained payloads with their lengths patched. */
#include "ike_msg.h"

#include <sys/socket.h>

void ikeb_header(struct ike_builder *mb, const struct ike_header *h)
{
    wbuf_u32(&mb->b, (uint32_t)(h->spi_i >> 32));
    wbuf_u32(&mb->b, (uint32_t)h->spi_i);
    wbuf_u32(&mb->b, (uint32_t)(h->spi_r >> 32));
    wbuf_u32(&mb->b, (uint32_t)h->spi_r);
    mb->next_off = mb->b.len;
    wbuf_u8(&mb->b, IKE_PL_NONE);
    wbuf_u8(&mb->b, IKE_VERSION);
    wbuf_u8(&mb->b, h->exchange);
    wbuf_u8(&mb->b, h->flags);
    wbuf_u32(&mb->b, h->msgid);
    wbuf_u32(&mb->b, 0);
    mb->has_header = true;
}

size_t ikeb_begin(struct ike_builder *mb, uint8_t type)
{
    if (!mb->b.failed && (mb->has_header || mb->b.len > 0))
        mb->b.p[mb->next_off] = type;
    else if (mb->b.len == 0)
        mb->first = type;
    size_t hdr = mb->b.len;
    wbuf_u8(&mb->b, IKE_PL_NONE);
    wbuf_u8(&mb->b, 0);
    wbuf_u16(&mb->b, 0);
    mb->next_off = hdr;
    return hdr;
}

void ikeb_end(struct ike_builder *mb, size_t hdr)
{
    wbuf_set_u16(&mb->b, hdr + 2, (unsigned)(mb->b.len - hdr));
}

void ikeb_finish(struct ike_builder *mb)
{
    wbuf_set_u32(&mb->b, 24, (uint32_t)mb->b.len);
}

void ikeb_sa(struct ike_builder *mb, const struct ike_proposal *props, size_t n)
{
    size_t hdr = ikeb_begin(mb, IKE_PL_SA);
    for (size_t i = 0; i < n; i++) {
        const struct ike_proposal *p = &props[i];
        size_t poff = mb->b.len;
        wbuf_u8(&mb->b, i + 1 < n ? 2 : 0);
        wbuf_u8(&mb->b, 0);
        wbuf_u16(&mb->b, 0);
        wbuf_u8(&mb->b, p->num);
        wbuf_u8(&mb->b, p->protocol);
        wbuf_u8(&mb->b, p->spi_size);
        wbuf_u8(&mb->b, (unsigned)p->nt);
        wbuf_put(&mb->b, p->spi, p->spi_size);
        for (size_t t = 0; t < p->nt; t++) {
            wbuf_u8(&mb->b, t + 1 < p->nt ? 3 : 0);
            wbuf_u8(&mb->b, 0);
            wbuf_u16(&mb->b, p->t[t].keylen ? 12 : 8);
            wbuf_u8(&mb->b, p->t[t].type);
            wbuf_u8(&mb->b, 0);
            wbuf_u16(&mb->b, p->t[t].id);
            if (p->t[t].keylen) {
                wbuf_u16(&mb->b, 0x8000 | 14);
                wbuf_u16(&mb->b, p->t[t].keylen);
            }
        }
        wbuf_set_u16(&mb->b, poff + 2, (unsigned)(mb->b.len - poff));
    }
    ikeb_end(mb, hdr);
}

void ikeb_ke(struct ike_builder *mb, uint16_t group, const uint8_t *pub, size_t len)
{
    size_t hdr = ikeb_begin(mb, IKE_PL_KE);
    wbuf_u16(&mb->b, group);
    wbuf_u16(&mb->b, 0);
    wbuf_put(&mb->b, pub, len);
    ikeb_end(mb, hdr);
}

void ikeb_nonce(struct ike_builder *mb, const uint8_t *n, size_t len)
{
    size_t hdr = ikeb_begin(mb, IKE_PL_NONCE);
    wbuf_put(&mb->b, n, len);
    ikeb_end(mb, hdr);
}

void ikeb_notify(struct ike_builder *mb, uint8_t protocol, const uint8_t *spi, size_t spi_len, uint16_t type,
                 const uint8_t *data, size_t len)
{
    size_t hdr = ikeb_begin(mb, IKE_PL_NOTIFY);
    wbuf_u8(&mb->b, protocol);
    wbuf_u8(&mb->b, (unsigned)spi_len);
    wbuf_u16(&mb->b, type);
    wbuf_put(&mb->b, spi, spi_len);
    wbuf_put(&mb->b, data, len);
    ikeb_end(mb, hdr);
}

size_t ikeb_id(struct ike_builder *mb, uint8_t payload, uint8_t id_type, const uint8_t *data, size_t len)
{
    size_t hdr = ikeb_begin(mb, payload);
    wbuf_u8(&mb->b, id_type);
    wbuf_u8(&mb->b, 0);
    wbuf_u16(&mb->b, 0);
    wbuf_put(&mb->b, data, len);
    ikeb_end(mb, hdr);
    return hdr + 4;
}

void ikeb_auth(struct ike_builder *mb, uint8_t method, const uint8_t *data, size_t len)
{
    size_t hdr = ikeb_begin(mb, IKE_PL_AUTH);
    wbuf_u8(&mb->b, method);
    wbuf_u8(&mb->b, 0);
    wbuf_u16(&mb->b, 0);
    wbuf_put(&mb->b, data, len);
    ikeb_end(mb, hdr);
}

void ikeb_ts(struct ike_builder *mb, uint8_t payload, const struct ike_ts *ts, size_t n)
{
    size_t hdr = ikeb_begin(mb, payload);
    wbuf_u8(&mb->b, (unsigned)n);
    wbuf_u8(&mb->b, 0);
    wbuf_u16(&mb->b, 0);
    for (size_t i = 0; i < n; i++) {
        size_t alen = ts[i].type == IKE_TS_IPV4 ? 4 : 16;
        wbuf_u8(&mb->b, ts[i].type);
        wbuf_u8(&mb->b, ts[i].proto);
        wbuf_u16(&mb->b, (unsigned)(8 + 2 * alen));
        wbuf_u16(&mb->b, ts[i].sport);
        wbuf_u16(&mb->b, ts[i].eport);
        wbuf_put(&mb->b, ts[i].start.bytes, alen);
        wbuf_put(&mb->b, ts[i].end.bytes, alen);
    }
    ikeb_end(mb, hdr);
}

void ikeb_delete(struct ike_builder *mb, uint8_t protocol, uint8_t spi_size, const uint8_t *spis, size_t count)
{
    size_t hdr = ikeb_begin(mb, IKE_PL_DELETE);
    wbuf_u8(&mb->b, protocol);
    wbuf_u8(&mb->b, spi_size);
    wbuf_u16(&mb->b, (unsigned)count);
    wbuf_put(&mb->b, spis, count * spi_size);
    ikeb_end(mb, hdr);
}

void ikeb_cp(struct ike_builder *mb, const struct ike_cp *cp)
{
    size_t hdr = ikeb_begin(mb, IKE_PL_CP);
    wbuf_u8(&mb->b, cp->type);
    wbuf_u8(&mb->b, 0);
    wbuf_u16(&mb->b, 0);
    if (cp->ip4) {
        bool a = cp->addr4.family != 0;
        wbuf_u16(&mb->b, IKE_CFG_INTERNAL_IP4_ADDRESS);
        wbuf_u16(&mb->b, a ? 4 : 0);
        if (a)
            wbuf_put(&mb->b, cp->addr4.bytes, 4);
    }
    if (cp->ip6) {
        bool a = cp->addr6.family != 0;
        wbuf_u16(&mb->b, IKE_CFG_INTERNAL_IP6_ADDRESS);
        wbuf_u16(&mb->b, a ? 17 : 0);
        if (a) {
            wbuf_put(&mb->b, cp->addr6.bytes, 16);
            wbuf_u8(&mb->b, cp->prefix6);
        }
    }
    ikeb_end(mb, hdr);
}
