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

#include "dnskeys/dnskeys.h"
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
    assert_int_equal(ike_prf(IKE_PRF_SHA2_256, (const uint8_t *)"Jefe", 4, (const uint8_t *)data, strlen(data), out),
                     0);
    hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, &wl);
    assert_memory_equal(out, want, wl);
    assert_int_equal(ike_prf(IKE_PRF_SHA2_512, (const uint8_t *)"Jefe", 4, (const uint8_t *)data, strlen(data), out),
                     0);
    hex("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b"
        "4b636e070a38bce737",
        want, &wl);
    assert_memory_equal(out, want, wl);
    assert_int_equal(ike_prf(IKE_PRF_SHA2_384, (const uint8_t *)"Jefe", 4, (const uint8_t *)data, strlen(data), out),
                     0);
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
    struct ike_dh *a = ike_dh_new(NULL, group, &err), *b = ike_dh_new(NULL, group, &err);
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
    struct ike_dh *a = ike_dh_new(NULL, IKE_DH_MODP2048, &err);
    uint8_t bad[256] = {0}, out[256];
    bad[255] = 1;
    assert_int_equal(ike_dh_shared(a, bad, 256, out, &err), -1); /* y = 1 */
    assert_int_equal(err.code, OE_E_INVALID); /* the peer's value: the responder answers INVALID_SYNTAX on it */
    ike_dh_free(a);
    a = ike_dh_new(NULL, IKE_DH_ECP256, &err);
    memset(bad, 0x11, 64);
    assert_int_equal(ike_dh_shared(a, bad, 64, out, &err), -1); /* not on the curve */
    assert_int_equal(err.code, OE_E_INVALID);
    ike_dh_free(a);
    assert_null(ike_dh_new(NULL, 5, &err));
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
    struct ike_dh *a = ike_dh_new(NULL, IKE_DH_MODP2048, &err), *b = ike_dh_new(NULL, IKE_DH_MODP2048, &err);
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
    struct ike_signer signer = {dnskeys_hostkey_sign, hk, NULL};
    struct ike_pubkey key = {pub.rfc3110, pub.len};
    assert_int_equal(ike_sign_digsig(&signer, msg, sizeof(msg), &auth, &err), 0);
    assert_int_equal(auth.p[0], 67);
    assert_int_equal(ike_verify_digsig(&key, msg, sizeof(msg), auth.p, auth.len, &err), 0);
    auth.p[auth.len - 1] ^= 1;
    assert_int_equal(ike_verify_digsig(&key, msg, sizeof(msg), auth.p, auth.len, &err), -1);
    assert_non_null(strstr(err.msg, "does not verify"));
    auth.p[5] ^= 1;
    assert_int_equal(ike_verify_digsig(&key, msg, sizeof(msg), auth.p, auth.len, &err), -1);
    assert_non_null(strstr(err.msg, "not supported"));
    assert_int_equal(ike_verify_digsig(&key, msg, sizeof(msg), auth.p, 10, &err), -1);
    wbuf_free(&auth);
    dnskeys_hostkey_free(hk);
    dnskeys_key_free(&pub);
    unlink(path);
}

/* ---- e=3 signature forgeries (finding 12) ---- */

#define E3_BYTES 256 /* a 2048-bit modulus */

/* RFC 8017 9.2 note 1: DigestInfo for SHA-256, then the 32-octet hash */
static const uint8_t digestinfo_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                            0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
/* RFC 7427 A.1: sha256WithRSAEncryption */
static const uint8_t algid_pkcs1_sha256[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                             0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};

struct e3_key {
    mpz_t n, d;
    struct dnskeys_pubkey pub;
    uint8_t rfc3110[2 + E3_BYTES];
};

/* A prime of 1024 bits, top two bits set (so p*q has 2048), p = 2 mod 3 (so 3 is invertible). */
static void e3_prime(mpz_t p, gmp_randstate_t rs)
{
    do {
        mpz_urandomb(p, rs, 8 * E3_BYTES / 2);
        mpz_setbit(p, 8 * E3_BYTES / 2 - 1);
        mpz_setbit(p, 8 * E3_BYTES / 2 - 2);
        mpz_nextprime(p, p);
    } while (mpz_fdiv_ui(p, 3) != 2 || mpz_sizeinbase(p, 2) != 8 * E3_BYTES / 2);
}

/*
 * An RSA key with e = 3, made here with GMP from a fixed seed. The
 * dnskeys_pubkey is filled by hand: dnskeys refuses such keys from DNS,
 * and this proves the verification itself does not depend on that.
 */
static void e3_key_make(struct e3_key *k)
{
    gmp_randstate_t rs;
    gmp_randinit_default(rs);
    gmp_randseed_ui(rs, 3110);
    mpz_t p, q, l;
    mpz_inits(p, q, l, k->n, k->d, NULL);
    e3_prime(p, rs);
    do
        e3_prime(q, rs);
    while (mpz_cmp(p, q) == 0);
    mpz_mul(k->n, p, q);
    assert_int_equal(mpz_sizeinbase(k->n, 2), 8 * E3_BYTES);
    mpz_sub_ui(p, p, 1);
    mpz_sub_ui(q, q, 1);
    mpz_lcm(l, p, q);
    mpz_set_ui(p, 3);
    assert_true(mpz_invert(k->d, p, l));
    k->rfc3110[0] = 1;
    k->rfc3110[1] = 3;
    mpz_export(k->rfc3110 + 2, NULL, 1, 1, 0, 0, k->n);
    k->pub = (struct dnskeys_pubkey){.rfc3110 = k->rfc3110, .len = sizeof(k->rfc3110), .bits = 8 * E3_BYTES};
    mpz_clears(p, q, l, NULL);
    gmp_randclear(rs);
}

static void e3_key_free(struct e3_key *k)
{
    mpz_clears(k->n, k->d, NULL);
}

static void be_bytes(const mpz_t z, uint8_t out[E3_BYTES])
{
    size_t n = mpz_sizeinbase(z, 256);
    assert_true(n <= E3_BYTES);
    memset(out, 0, E3_BYTES);
    mpz_export(out + E3_BYTES - n, NULL, 1, 1, 0, 0, z);
}

/* ike_verify_digsig on signature s presented as PKCS#1 v1.5 with SHA-256 */
static int e3_verify(const struct e3_key *k, const uint8_t *msg, size_t mlen, const mpz_t s, struct oe_error *err)
{
    uint8_t auth[1 + sizeof(algid_pkcs1_sha256) + E3_BYTES];
    auth[0] = sizeof(algid_pkcs1_sha256);
    memcpy(auth + 1, algid_pkcs1_sha256, sizeof(algid_pkcs1_sha256));
    be_bytes(s, auth + 1 + sizeof(algid_pkcs1_sha256));
    struct ike_pubkey key = {k->pub.rfc3110, k->pub.len};
    return ike_verify_digsig(&key, msg, mlen, auth, sizeof(auth), err);
}

/* s^3 (no reduction: a forgery is below n) as the octets a verifier sees */
static void e3_cube(const struct e3_key *k, const mpz_t s, uint8_t em[E3_BYTES])
{
    mpz_t c;
    mpz_init(c);
    mpz_powm_ui(c, s, 3, k->n);
    be_bytes(c, em);
    mpz_clear(c);
}

/* 00 01 FF..FF 00 DigestInfo H, RFC 8017 9.2, ending at em + len */
static void emsa_pkcs1(uint8_t *em, size_t len, const uint8_t h[32])
{
    size_t t = sizeof(digestinfo_sha256) + 32;
    em[0] = 0;
    em[1] = 1;
    memset(em + 2, 0xff, len - t - 3);
    em[len - t - 1] = 0;
    memcpy(em + len - t, digestinfo_sha256, sizeof(digestinfo_sha256));
    memcpy(em + len - 32, h, 32);
}

/* Bleichenbacher 2006: 00 01 FF*8 00 DigestInfo H GARBAGE, s = the cube root rounded up. */
static void forge_garbage_after(const uint8_t h[32], mpz_t s, size_t *prefix)
{
    uint8_t em[E3_BYTES] = {0};
    *prefix = 2 + 8 + 1 + sizeof(digestinfo_sha256) + 32;
    emsa_pkcs1(em, *prefix, h);
    mpz_t t;
    mpz_init(t);
    mpz_import(t, sizeof(em), 1, 1, 0, 0, em);
    if (!mpz_root(s, t, 3))
        mpz_add_ui(s, s, 1);
    mpz_clear(t);
}

/*
 * The padding-not-checked class (libreswan CVE-2018-15836): the low octets
 * 00 DigestInfo H are an exact cube modulo 2^416 (a cube root exists for
 * odd values), the top is the cube root of 00 01 FF.., the padding between
 * is whatever falls out.
 */
static void forge_garbage_padding(const uint8_t h[32], mpz_t s, size_t *suffix)
{
    uint8_t em[E3_BYTES];
    *suffix = 1 + sizeof(digestinfo_sha256) + 32;
    emsa_pkcs1(em, sizeof(em), h);
    size_t kbits = 8 * *suffix;
    mpz_t low, top, m, inv, three;
    mpz_inits(low, top, m, inv, three, NULL);
    mpz_import(low, *suffix, 1, 1, 0, 0, em + E3_BYTES - *suffix);
    assert_true(mpz_odd_p(low));
    /* x -> x^3 is a bijection on the odd residues mod 2^k: its inverse is x^(3^-1 mod 2^(k-1)) */
    mpz_set_ui(three, 3);
    mpz_ui_pow_ui(m, 2, kbits - 1);
    assert_true(mpz_invert(inv, three, m));
    mpz_mul_2exp(m, m, 1);
    mpz_powm(low, low, inv, m);
    mpz_import(top, sizeof(em), 1, 1, 0, 0, em);
    mpz_root(top, top, 3);
    mpz_fdiv_q_2exp(top, top, kbits);
    mpz_mul_2exp(top, top, kbits);
    mpz_add(s, top, low);
    mpz_clears(low, top, m, inv, three, NULL);
}

/*
 * Finding 12: forged PKCS#1 v1.5 signatures for an e = 3 key, which a
 * verifier that parses the block loosely would take, are refused; a real
 * signature with the same key verifies, so the refusal is the forgery's.
 */
static void test_rsa_e3_forgery_refused(void **state)
{
    (void)state;
    struct e3_key k;
    struct oe_error err;
    e3_key_make(&k);
    /* a message whose hash is odd, which the second forgery needs */
    char msg[32];
    uint8_t h[32], em[E3_BYTES];
    unsigned i = 0;
    do {
        snprintf(msg, sizeof(msg), "IKE_AUTH octets %u", i++);
        assert_int_equal(PK11_HashBuf(SEC_OID_SHA256, h, (const unsigned char *)msg, (PRInt32)strlen(msg)), SECSuccess);
    } while ((h[31] & 1) == 0);
    mpz_t s;
    mpz_init(s);

    /* the control: s = EM^d mod n */
    emsa_pkcs1(em, sizeof(em), h);
    mpz_import(s, sizeof(em), 1, 1, 0, 0, em);
    mpz_powm(s, s, k.d, k.n);
    assert_int_equal(e3_verify(&k, (const uint8_t *)msg, strlen(msg), s, &err), 0);

    /* 2006: the hash right after the DigestInfo, garbage to the end */
    size_t prefix;
    forge_garbage_after(h, s, &prefix);
    e3_cube(&k, s, em);
    uint8_t want[E3_BYTES];
    emsa_pkcs1(want, prefix, h);
    assert_memory_equal(em, want, prefix); /* a real forgery for a loose parser */
    assert_int_equal(e3_verify(&k, (const uint8_t *)msg, strlen(msg), s, &err), -1);
    assert_non_null(strstr(err.msg, "does not verify"));

    /* padding not checked: 00 01, anything, 00 DigestInfo H at the end */
    size_t suffix;
    forge_garbage_padding(h, s, &suffix);
    e3_cube(&k, s, em);
    emsa_pkcs1(want, sizeof(want), h);
    assert_memory_equal(em, want, 2);
    assert_memory_equal(em + E3_BYTES - suffix, want + E3_BYTES - suffix, suffix);
    assert_memory_not_equal(em, want, E3_BYTES); /* the padding is not all FF */
    assert_int_equal(e3_verify(&k, (const uint8_t *)msg, strlen(msg), s, &err), -1);
    assert_non_null(strstr(err.msg, "does not verify"));

    mpz_clear(s);
    e3_key_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_kat),          cmocka_unit_test(test_cbc_hmac_kat),
        cmocka_unit_test(test_prf_plus),          cmocka_unit_test(test_dh),
        cmocka_unit_test(test_modp_secret_wiped), cmocka_unit_test(test_gcm),
        cmocka_unit_test(test_signatures),        cmocka_unit_test(test_rsa_e3_forgery_refused),
    };
    return cmocka_run_group_tests_name("ike_crypto", tests, setup, NULL);
}
