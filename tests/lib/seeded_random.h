/*
 * A reproducible random source for struct ike_env, for tests and fuzzers
 * that replay an exchange: SHA-256(seed | counter) blocks, big-endian, made
 * with NSS (no hand-written generator).
 */
#ifndef OE_TESTS_SEEDED_RANDOM_H
#define OE_TESTS_SEEDED_RANDOM_H

#include <pk11pub.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct seeded {
    uint32_t seed, counter;
};

static inline int seeded_random(void *ctx, uint8_t *buf, size_t len)
{
    struct seeded *s = ctx;
    while (len > 0) {
        uint8_t in[8], out[32];
        for (int i = 0; i < 4; i++) {
            in[i] = (uint8_t)(s->seed >> (24 - 8 * i));
            in[4 + i] = (uint8_t)(s->counter >> (24 - 8 * i));
        }
        s->counter++;
        if (PK11_HashBuf(SEC_OID_SHA256, out, in, sizeof(in)) != SECSuccess)
            return -1;
        size_t n = len < sizeof(out) ? len : sizeof(out);
        memcpy(buf, out, n);
        buf += n;
        len -= n;
    }
    return 0;
}

#endif
