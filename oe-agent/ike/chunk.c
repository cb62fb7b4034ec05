#include "chunk.h"

#include "common/common.h"

#include <stdlib.h>

void wbuf_put(struct wbuf *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = malloc(cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        if (b->p) {
            memcpy(p, b->p, b->len);
            oe_wipe(b->p, b->cap); /* it may have held secrets */
            free(b->p);
        }
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

void wbuf_u8(struct wbuf *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    wbuf_put(b, &x, 1);
}

void wbuf_u16(struct wbuf *b, unsigned v)
{
    uint8_t x[2];
    put_be(x, v, 2);
    wbuf_put(b, x, 2);
}

void wbuf_u32(struct wbuf *b, uint32_t v)
{
    uint8_t x[4];
    put_be(x, v, 4);
    wbuf_put(b, x, 4);
}

void wbuf_u64(struct wbuf *b, uint64_t v)
{
    uint8_t x[8];
    put_be(x, v, 8);
    wbuf_put(b, x, 8);
}

void wbuf_set_u16(struct wbuf *b, size_t off, unsigned v)
{
    if (b->failed || off + 2 > b->len)
        return;
    put_be(b->p + off, v, 2);
}

void wbuf_set_u32(struct wbuf *b, size_t off, uint32_t v)
{
    if (b->failed || off + 4 > b->len)
        return;
    put_be(b->p + off, v, 4);
}

void wbuf_free(struct wbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void wbuf_wipe(struct wbuf *b)
{
    if (b->p)
        oe_wipe(b->p, b->cap);
    wbuf_free(b);
}
