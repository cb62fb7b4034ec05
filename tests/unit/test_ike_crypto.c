/* oe-agent/ike crypto: KATs for HMAC/prf+, DH agreement, AES-GCM, signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmp.h>
#include <pk11pub.h>

#include "oe-agent/ike/ike_crypto.h"

static void hex(const char *h, uint8_t *out, size_t *len)
{
    size_t n = 0;
    for (; h[0] && h[1]; h += 2)
        sscanf(h, "%2hhx", &out[n++]);
    *len = n;
}

static int setup(void **state)
{
    (void)state;
    struct oe_error err;
    return ike_crypto_init(&err);
}

static void test_hmac_kat(void **state)
{
    (void)state;
    /* RFC 4231 test case 2 */
    uint8_t out[64], want[64];
    size_t wl;
    const char *data = "what do ya want for nothing?";
    assert_int_equal(ike_prf(IKE_PRF_SHA2_256, (const uint8_t *)"Jefe", 4, (const uint8_t *)data, strlen(data), out), 0);
    hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, &wl);
    assert_memory_equal(out, want, wl);
    assert_int_equal(ike_prf(IKE_PRF_SHA2_512, (const uint8_t *)"Jefe", 4, (const uint8_t *)data, strlen(data), out), 0);
    hex("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737", want, &wl);
    assert_memory_equal(out, want, wl);
    assert_int_equal(ike_prf(IKE_PRF_SHA2_384, (const uint8_t *)"Jefe", 4, (const uint8_t *)data, strlen(data), out), 0);
    hex("af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649", want, &wl);
    assert_memory_equal(out, want, wl);
}

static void test_cbc_hmac_kat(void **state)
{
    (void)state;
    /* RFC 4868 2.7.2.1 AUTH256-1: HMAC-SHA-256-128 with a 32-octet key */
    uint8_t key[32], icv[32], want[64];
    size_t wl;
    memset(key, 0x0b, sizeof(key));
    assert_int_equal(ike_integ_key_len(IKE_INTEG_SHA2_256_128), 32);
    assert_int_equal(ike_integ_icv_len(IKE_INTEG_SHA2_512_256), 32);
    assert_int_equal(ike_integ(IKE_INTEG_SHA2_256_128, key, (const uint8_t *)"Hi There", 8, icv), 0);
    hex("198a607eb44bfbc69903a0f1cf2bbdc5", want, &wl);
    assert_memory_equal(icv, want, wl);
    assert_int_equal(ike_integ(99, key, (const uint8_t *)"x", 1, icv), -1);
    /* RFC 3602 case 1: AES-128-CBC, one block */
    uint8_t k[16], iv[16], ct[16], back[16];
    hex("06a9214036b8a15b512e03d534120006", k, &wl);
    hex("3dafba429d9eb430b422da802c9fac41", iv, &wl);
    assert_int_equal(ike_cbc(true, k, 16, iv, (const uint8_t *)"Single block msg", 16, ct), 0);
    hex("e353779c1079aeb82708942dbe77181a", want, &wl);
    assert_memory_equal(ct, want, 16);
    assert_int_equal(ike_cbc(false, k, 16, iv, ct, 16, back), 0);
    assert_memory_equal(back, "Single block msg", 16);
    assert_int_equal(ike_cbc(true, k, 16, iv, ct, 15, back), -1); /* not whole blocks */
    assert_int_equal(ike_cbc(true, k, 15, iv, ct, 16, back), -1);
}

static void test_prf_plus(void **state)
{
    (void)state;
    /* prf+ from its definition: T1 = prf(K, S|1), T2 = prf(K, T1|S|2) */
    uint8_t key[32], seed[40], out[80], t1[32], t2[32], in[80];
    memset(key, 0x0b, sizeof(key));
    memset(seed, 0x5a, sizeof(seed));
    assert_int_equal(ike_prf_plus(IKE_PRF_SHA2_256, key, 32, seed, 40, out, 50), 0);
    memcpy(in, seed, 40);
    in[40] = 1;
    ike_prf(IKE_PRF_SHA2_256, key, 32, in, 41, t1);
    memcpy(in, t1, 32);
    memcpy(in + 32, seed, 40);
    in[72] = 2;
    ike_prf(IKE_PRF_SHA2_256, key, 32, in, 73, t2);
    assert_memory_equal(out, t1, 32);
    assert_memory_equal(out + 32, t2, 18);
}

static void agree(int group)
{
    struct oe_error err;
    struct ike_dh *a = ike_dh_new(group, &err), *b = ike_dh_new(group, &err);
    assert_non_null(a);
    assert_non_null(b);
    size_t la, lb;
    const uint8_t *pa = ike_dh_public(a, &la), *pb = ike_dh_public(b, &lb);
    assert_int_equal(la, ike_dh_len(group));
    uint8_t sa[256], sb[256];
    assert_int_equal(ike_dh_shared(a, pb, lb, sa, &err), 0);
    assert_int_equal(ike_dh_shared(b, pa, la, sb, &err), 0);
    size_t slen = group == IKE_DH_MODP2048 ? 256 : 32;
    assert_memory_equal(sa, sb, slen);
    /* a wrong length is refused */
    assert_int_equal(ike_dh_shared(a, pb, lb - 1, sa, &err), -1);
    ike_dh_free(a);
    ike_dh_free(b);
}

static void test_dh(void **state)
{
    (void)state;
    agree(IKE_DH_ECP256);
    agree(IKE_DH_CURVE25519);
    agree(IKE_DH_MODP2048);
    struct oe_error err;
    struct ike_dh *a = ike_dh_new(IKE_DH_MODP2048, &err);
    uint8_t bad[256] = {0}, out[256];
    bad[255] = 1;
    assert_int_equal(ike_dh_shared(a, bad, 256, out, &err), -1); /* y = 1 */
    ike_dh_free(a);
    a = ike_dh_new(IKE_DH_ECP256, &err);
    memset(bad, 0x11, 64);
    assert_int_equal(ike_dh_shared(a, bad, 64, out, &err), -1); /* not on the curve */
    ike_dh_free(a);
    assert_null(ike_dh_new(5, &err));
}

/*
 * GMP frees limbs as they are: a recorder installed as GMP's memory
 * functions looks at each block as it is freed.
 */
struct gmp_recorder {
    bool on;
    const uint8_t *secret; /* a block starting with these octets is the secret */
    size_t slen;
    size_t freed, unwiped, secret_unwiped;
};
static struct gmp_recorder rec;

static void *rec_alloc(size_t n)
{
    return malloc(n);
}

static void *rec_realloc(void *p, size_t old, size_t n)
{
    (void)old;
    return realloc(p, n);
}

static void rec_free(void *p, size_t n)
{
    if (rec.on) {
        bool zero = true;
        for (size_t i = 0; i < n; i++)
            zero &= ((const uint8_t *)p)[i] == 0;
        rec.freed++;
        rec.unwiped += !zero;
        rec.secret_unwiped += rec.secret && n >= rec.slen && memcmp(p, rec.secret, rec.slen) == 0;
    }
    free(p);
}

/* Finding 11: the MODP exponent x and g^ir are zeroed before GMP frees them. */
static void test_modp_secret_wiped(void **state)
{
    (void)state;
    void *(*old_alloc)(size_t), *(*old_realloc)(void *, size_t, size_t);
    void (*old_free)(void *, size_t);
    mp_get_memory_functions(&old_alloc, &old_realloc, &old_free);
    mp_set_memory_functions(rec_alloc, rec_realloc, rec_free);
    struct oe_error err;
    struct ike_dh *a = ike_dh_new(IKE_DH_MODP2048, &err), *b = ike_dh_new(IKE_DH_MODP2048, &err);
    assert_non_null(a);
    assert_non_null(b);
    size_t la, lb;
    const uint8_t *pa = ike_dh_public(a, &la), *pb = ike_dh_public(b, &lb);
    uint8_t sa[256], sb[256];
    assert_int_equal(ike_dh_shared(b, pa, la, sb, &err), 0);
    /* g^ir as GMP holds it in memory: its limbs, least significant first */
    mpz_t g;
    mpz_init(g);
    mpz_import(g, sizeof(sb), 1, 1, 0, 0, sb);
    size_t glen = mpz_size(g) * sizeof(mp_limb_t);
    uint8_t *limbs = malloc(glen);
    memcpy(limbs, mpz_limbs_read(g), glen);
    mpz_clear(g);
    rec = (struct gmp_recorder){.on = true, .secret = limbs, .slen = glen};
    assert_int_equal(ike_dh_shared(a, pb, lb, sa, &err), 0);
    rec.on = false;
    assert_memory_equal(sa, sb, sizeof(sa));
    size_t shared_unwiped = rec.secret_unwiped;
    /* all ike_dh_free releases to GMP is the exponent x */
    rec = (struct gmp_recorder){.on = true};
    ike_dh_free(a);
    rec.on = false;
    size_t x_freed = rec.freed, x_unwiped = rec.unwiped;
    ike_dh_free(b);
    free(limbs);
    mp_set_memory_functions(old_alloc, old_realloc, old_free);
    if (shared_unwiped || x_unwiped)
        fail_msg("MODP secrets freed unwiped: g^ir %zu time(s), exponent %zu of %zu block(s)", shared_unwiped,
                 x_unwiped, x_freed);
    assert_true(x_freed >= 1); /* the exponent's limbs did go through GMP's free */
}

static void test_gcm(void **state)
{
    (void)state;
    uint8_t key[36], iv[8], aad[32], plain[100], ct[116], back[116];
    for (int i = 0; i < 36; i++)
        key[i] = (uint8_t)i;
    memset(iv, 7, 8);
    memset(aad, 3, 32);
    memset(plain, 'p', 100);
    assert_int_equal(ike_gcm_seal(key, 36, iv, aad, 32, plain, 100, ct), 0);
    assert_int_equal(ike_gcm_open(key, 36, iv, aad, 32, ct, 116, back), 0);
    assert_memory_equal(back, plain, 100);
    ct[5] ^= 1;
    assert_int_equal(ike_gcm_open(key, 36, iv, aad, 32, ct, 116, back), -1);
    ct[5] ^= 1;
    aad[0] ^= 1;
    assert_int_equal(ike_gcm_open(key, 36, iv, aad, 32, ct, 116, back), -1);
    /* RFC 4106-style 128-bit key + salt */
    assert_int_equal(ike_gcm_seal(key, 20, iv, aad, 32, plain, 100, ct), 0);
    assert_int_equal(ike_gcm_open(key, 36, iv, aad, 32, ct, 116, back), -1);
}

static void test_signatures(void **state)
{
    (void)state;
    char path[] = "/tmp/oe-ike-key-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    struct dnskeys_pubkey pub;
    struct dnskeys_hostkey *hk;
    struct oe_error err;
    assert_int_equal(dnskeys_hostkey_generate(path, 2048, &pub, &err), 0);
    assert_int_equal(dnskeys_hostkey_load(path, &hk, &err), 0);
    assert_true(dnskeys_key_eq(&pub, dnskeys_hostkey_public(hk)));
    const uint8_t msg[] = "octets to sign";
    struct wbuf auth = {0};
    assert_int_equal(ike_sign_digsig(hk, msg, sizeof(msg), &auth, &err), 0);
    assert_int_equal(auth.p[0], 67);
    assert_int_equal(ike_verify_digsig(&pub, msg, sizeof(msg), auth.p, auth.len, &err), 0);
    auth.p[auth.len - 1] ^= 1;
    assert_int_equal(ike_verify_digsig(&pub, msg, sizeof(msg), auth.p, auth.len, &err), -1);
    assert_non_null(strstr(err.msg, "does not verify"));
    auth.p[5] ^= 1;
    assert_int_equal(ike_verify_digsig(&pub, msg, sizeof(msg), auth.p, auth.len, &err), -1);
    assert_non_null(strstr(err.msg, "not supported"));
    assert_int_equal(ike_verify_digsig(&pub, msg, sizeof(msg), auth.p, 10, &err), -1);
    wbuf_free(&auth);
    dnskeys_hostkey_free(hk);
    dnskeys_key_free(&pub);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_kat), cmocka_unit_test(test_cbc_hmac_kat), cmocka_unit_test(test_prf_plus), cmocka_unit_test(test_dh),
        cmocka_unit_test(test_modp_secret_wiped), cmocka_unit_test(test_gcm),      cmocka_unit_test(test_signatures),
    };
    return cmocka_run_group_tests_name("ike_crypto", tests, setup, NULL);
}
