/*
 * Bounded byte buffers for every parser and builder of the IKE core
 * (OpenBSD iked style): a read cursor that never reads past its end, and a
 * growing write buffer. A failed read leaves the cursor marked bad, so a
 * parser can do several reads and check once.
 */
#ifndef OE_IKE_CHUNK_H
#define OE_IKE_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct chunk {
    const uint8_t *p;
    size_t len;
};

struct cursor {
    const uint8_t *p;
    size_t len, off;
    bool bad;
};

static inline struct cursor cursor_of(const uint8_t *p, size_t len)
{
    struct cursor c = {p, len, 0, false};
    return c;
}

static inline size_t cursor_left(const struct cursor *c)
{
    return c->bad ? 0 : c->len - c->off;
}

static inline const uint8_t *cursor_take(struct cursor *c, size_t n)
{
    if (c->bad || c->len - c->off < n) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *p = c->p + c->off;
    c->off += n;
    return p;
}

static inline uint8_t cursor_u8(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 1);
    return p ? p[0] : 0;
}

static inline uint16_t cursor_u16(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 2);
    return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static inline uint32_t cursor_u32(struct cursor *c)
{
    const uint8_t *p = cursor_take(c, 4);
    return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

/* The one big-endian (network order) writer: n octets of v at p. */
static inline void put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool failed;
};

void wbuf_put(struct wbuf *b, const void *data, size_t n);
void wbuf_u8(struct wbuf *b, unsigned v);
void wbuf_u16(struct wbuf *b, unsigned v);
void wbuf_u32(struct wbuf *b, uint32_t v);
void wbuf_u64(struct wbuf *b, uint64_t v);
/* Overwrite a 16-bit field already written (a length known only later). */
void wbuf_set_u16(struct wbuf *b, size_t off, unsigned v);
void wbuf_set_u32(struct wbuf *b, size_t off, uint32_t v);
void wbuf_free(struct wbuf *b);
/* Free after wiping: the buffer held key material. */
void wbuf_wipe(struct wbuf *b);

#endif
