/* NSS for everything; GMP (mpz_powm_sec) for the MODP group. */
#include "ike_crypto.h"

#include <gmp.h>
#include <keyhi.h>
#include <nss.h>
#include <pk11pub.h>
#include <secoid.h>
#include <stdlib.h>

/* RFC 7427 A.1 AlgorithmIdentifiers: PKCS#1 v1.5 with SHA-2 and RSASSA-PSS with SHA-256 */
static const uint8_t asn1_pkcs1_sha256[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                            0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
static const uint8_t asn1_pkcs1_sha384[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                            0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00};
static const uint8_t asn1_pkcs1_sha512[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                            0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00};
/* RSASSA-PSS with SHA2-N, MGF1 with the same hash, salt as long as the hash */
#define ASN1_PSS(h, salt)                                                                                              \
    {                                                                                                                  \
        0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34, 0xa0, 0x0f, 0x30,    \
            0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, h, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a,   \
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,      \
            0x48, 0x01, 0x65, 0x03, 0x04, 0x02, h, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, salt                            \
    }
static const uint8_t asn1_pss_sha256[] = ASN1_PSS(0x01, 32);
static const uint8_t asn1_pss_sha384[] = ASN1_PSS(0x02, 48);
static const uint8_t asn1_pss_sha512[] = ASN1_PSS(0x03, 64);

/* RFC 3526 3: the 2048-bit MODP group */
static const char modp2048_hex[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF";

int ike_crypto_init(struct oe_error *err)
{
    if (NSS_IsInitialized())
        return 0;
    if (NSS_NoDB_Init(NULL) != SECSuccess) {
        oe_error_set(err, "NSS initialisation failed (error %d)", PORT_GetError());
        return -1;
    }
    return 0;
}

int ike_random(const struct ike_env *env, void *buf, size_t len)
{
    if (env && env->random)
        return env->random(env->ctx, buf, len);
    return PK11_GenerateRandom(buf, (int)len) == SECSuccess ? 0 : -1;
}

uint32_t ike_esp_spi(const struct ike_env *env)
{
    uint32_t spi = 0;
    while (spi < 0x100)
        if (ike_random(env, &spi, sizeof(spi)) != 0)
            spi = 0x100 + (spi & 0xffff); /* never reached with NSS; a fixed SPI still works */
    return spi;
}

uint64_t ike_ike_spi(const struct ike_env *env)
{
    uint64_t spi = 0;
    while (spi == 0)
        if (ike_random(env, &spi, sizeof(spi)) != 0)
            spi = 1;
    return spi;
}

int ike_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    return PK11_HashBuf(SEC_OID_SHA256, out, data, (PRInt32)len) == SECSuccess ? 0 : -1;
}

static CK_MECHANISM_TYPE hmac_mech(int prf)
{
    return prf == IKE_PRF_SHA2_384 ? CKM_SHA384_HMAC : prf == IKE_PRF_SHA2_512 ? CKM_SHA512_HMAC : CKM_SHA256_HMAC;
}

size_t ike_prf_len(int prf)
{
    switch (prf) {
    case IKE_PRF_SHA2_256: return 32;
    case IKE_PRF_SHA2_384: return 48;
    case IKE_PRF_SHA2_512: return 64;
    }
    return 0;
}

int ike_prf(int prf, const uint8_t *key, size_t klen, const uint8_t *data, size_t dlen, uint8_t *out)
{
    size_t olen = ike_prf_len(prf);
    if (olen == 0)
        return -1;
    PK11SlotInfo *slot = PK11_GetInternalSlot();
    SECItem k = {siBuffer, (unsigned char *)key, (unsigned)klen};
    PK11SymKey *sym = PK11_ImportSymKey(slot, hmac_mech(prf), PK11_OriginUnwrap, CKA_SIGN, &k, NULL);
    PK11_FreeSlot(slot);
    if (sym == NULL)
        return -1;
    SECItem noparams = {siBuffer, NULL, 0};
    PK11Context *ctx = PK11_CreateContextBySymKey(hmac_mech(prf), CKA_SIGN, sym, &noparams);
    unsigned got = 0;
    int rc = ctx && PK11_DigestBegin(ctx) == SECSuccess && PK11_DigestOp(ctx, data, (unsigned)dlen) == SECSuccess &&
                     PK11_DigestFinal(ctx, out, &got, (unsigned)olen) == SECSuccess && got == olen
                 ? 0
                 : -1;
    if (ctx)
        PK11_DestroyContext(ctx, PR_TRUE);
    PK11_FreeSymKey(sym);
    return rc;
}

int ike_prf_plus(int prf, const uint8_t *key, size_t klen, const uint8_t *seed, size_t slen, uint8_t *out,
                 size_t outlen)
{
    size_t hl = ike_prf_len(prf), done = 0;
    uint8_t t[IKE_MAX_PRF_LEN];
    struct wbuf in = {0};
    /* T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n); at most 255 blocks */
    for (unsigned n = 1; done < outlen; n++) {
        if (n > 255 || hl == 0)
            goto fail;
        in.len = 0;
        if (n > 1)
            wbuf_put(&in, t, hl);
        wbuf_put(&in, seed, slen);
        wbuf_u8(&in, n);
        if (in.failed || ike_prf(prf, key, klen, in.p, in.len, t) != 0)
            goto fail;
        size_t take = outlen - done < hl ? outlen - done : hl;
        memcpy(out + done, t, take);
        done += take;
    }
    oe_wipe(t, sizeof(t));
    wbuf_wipe(&in);
    return 0;
fail:
    oe_wipe(t, sizeof(t));
    wbuf_wipe(&in);
    return -1;
}

/* ---- Diffie-Hellman ---- */

/*
 * mpz_clear hands the limbs back to GMP's free as they are, and the secret
 * stays in freed memory. Zero every allocated limb first (_mp_alloc: the
 * manual's "Integer Internals"; mpz_size could be fewer after a shrink).
 * GMP's scratch space in mpz_powm_sec is on the stack for these sizes.
 */
static void mpz_clear_secret(mpz_t z)
{
    mp_size_t alloc = z->_mp_alloc;
    if (alloc > 0)
        oe_wipe(mpz_limbs_modify(z, alloc), (size_t)alloc * sizeof(mp_limb_t));
    mpz_clear(z);
}

struct ike_dh {
    int group;
    uint8_t pub[IKE_MAX_DH_LEN];
    size_t publen;
    SECKEYPrivateKey *ec_priv; /* 19, 31 */
    SECKEYPublicKey *ec_pub;
    SECItem ec_params;
    uint8_t ec_params_buf[16];
    mpz_t x; /* 14 */
};

size_t ike_dh_len(int group)
{
    switch (group) {
    case IKE_DH_MODP2048: return 256;
    case IKE_DH_ECP256: return 64;
    case IKE_DH_CURVE25519: return 32;
    }
    return 0;
}

size_t ike_dh_shared_len(int group)
{
    return group == IKE_DH_MODP2048 ? 256 : ike_dh_len(group) ? 32 : 0;
}

static int ec_params(struct ike_dh *dh)
{
    SECOidData *oid =
        SECOID_FindOIDByTag(dh->group == IKE_DH_ECP256 ? SEC_OID_ANSIX962_EC_PRIME256V1 : SEC_OID_CURVE25519);
    if (oid == NULL || oid->oid.len + 2 > sizeof(dh->ec_params_buf))
        return -1;
    dh->ec_params_buf[0] = 0x06; /* an OBJECT IDENTIFIER, DER */
    dh->ec_params_buf[1] = (uint8_t)oid->oid.len;
    memcpy(dh->ec_params_buf + 2, oid->oid.data, oid->oid.len);
    dh->ec_params = (SECItem){siBuffer, dh->ec_params_buf, oid->oid.len + 2};
    return 0;
}

struct ike_dh *ike_dh_new(const struct ike_env *env, int group, struct oe_error *err)
{
    struct ike_dh *dh = calloc(1, sizeof(*dh));
    if (dh == NULL || ike_dh_len(group) == 0) {
        oe_error_set(err, dh ? "DH group %d is not supported" : "out of memory", group);
        free(dh);
        return NULL;
    }
    dh->group = group;
    dh->publen = ike_dh_len(group);
    if (group == IKE_DH_MODP2048) {
        uint8_t rnd[64];
        mpz_t p, y;
        mpz_inits(dh->x, p, y, NULL);
        if (ike_random(env, rnd, sizeof(rnd)) != 0) {
            oe_error_set(err, "no random numbers");
            mpz_clears(p, y, NULL);
            ike_dh_free(dh);
            return NULL;
        }
        mpz_import(dh->x, sizeof(rnd), 1, 1, 0, 0, rnd);
        oe_wipe(rnd, sizeof(rnd));
        mpz_set_str(p, modp2048_hex, 16);
        mpz_set_ui(y, 2);
        mpz_powm_sec(y, y, dh->x, p);
        size_t n = (mpz_sizeinbase(y, 2) + 7) / 8;
        memset(dh->pub, 0, dh->publen);
        mpz_export(dh->pub + dh->publen - n, NULL, 1, 1, 0, 0, y);
        mpz_clears(p, y, NULL);
        return dh;
    }
    if (ec_params(dh) != 0 || (dh->ec_priv = SECKEY_CreateECPrivateKey(&dh->ec_params, &dh->ec_pub, NULL)) == NULL) {
        oe_error_set(err, "NSS cannot make a DH %d key (error %d)", group, PORT_GetError());
        ike_dh_free(dh);
        return NULL;
    }
    const SECItem *pv = &dh->ec_pub->u.ec.publicValue;
    /* RFC 5903 7: x | y without the 0x04 point-format octet; RFC 8031: 32 raw octets */
    size_t skip = group == IKE_DH_ECP256 ? 1 : 0;
    if (pv->len != dh->publen + skip) {
        oe_error_set(err, "NSS made a DH %d public value of %u octets", group, pv->len);
        ike_dh_free(dh);
        return NULL;
    }
    memcpy(dh->pub, pv->data + skip, dh->publen);
    return dh;
}

const uint8_t *ike_dh_public(const struct ike_dh *dh, size_t *len)
{
    *len = dh->publen;
    return dh->pub;
}

static int modp_shared(struct ike_dh *dh, const uint8_t *peer, size_t len, uint8_t *out, struct oe_error *err)
{
    mpz_t p, y, s;
    mpz_inits(p, y, s, NULL);
    mpz_set_str(p, modp2048_hex, 16);
    mpz_import(y, len, 1, 1, 0, 0, peer);
    mpz_sub_ui(s, p, 1);
    int rc = -1;
    /* RFC 6989: 1 < y < p-1 */
    if (mpz_cmp_ui(y, 1) <= 0 || mpz_cmp(y, s) >= 0) {
        oe_error_setc(err, OE_E_INVALID, "KE: peer's MODP value is out of range");
    } else {
        mpz_powm_sec(s, y, dh->x, p);
        size_t n = (mpz_sizeinbase(s, 2) + 7) / 8;
        memset(out, 0, dh->publen);
        mpz_export(out + dh->publen - n, NULL, 1, 1, 0, 0, s);
        rc = 0;
    }
    mpz_clears(p, y, NULL);
    mpz_clear_secret(s); /* g^ir */
    return rc;
}

int ike_dh_shared(struct ike_dh *dh, const uint8_t *peer, size_t len, uint8_t *out, struct oe_error *err)
{
    if (len != dh->publen) {
        oe_error_setc(err, OE_E_INVALID, "KE: %zu octets for DH group %d, need %zu", len, dh->group, dh->publen);
        return -1;
    }
    if (dh->group == IKE_DH_MODP2048)
        return modp_shared(dh, peer, len, out, err);
    uint8_t point[IKE_MAX_DH_LEN + 1];
    size_t plen = 0;
    if (dh->group == IKE_DH_ECP256)
        point[plen++] = 0x04;
    memcpy(point + plen, peer, len);
    plen += len;
    SECKEYPublicKey peer_key;
    memset(&peer_key, 0, sizeof(peer_key));
    peer_key.keyType = ecKey;
    peer_key.pkcs11ID = CK_INVALID_HANDLE;
    peer_key.u.ec.DEREncodedParams = dh->ec_params;
    peer_key.u.ec.publicValue = (SECItem){siBuffer, point, (unsigned)plen};
    PK11SymKey *shared = PK11_PubDeriveWithKDF(dh->ec_priv, &peer_key, PR_FALSE, NULL, NULL, CKM_ECDH1_DERIVE,
                                               CKM_CONCATENATE_DATA_AND_BASE, CKA_DERIVE, 0, CKD_NULL, NULL, NULL);
    if (shared == NULL || PK11_ExtractKeyValue(shared) != SECSuccess) {
        oe_error_setc(err, OE_E_INVALID, "KE: NSS refused the peer's DH %d value (error %d)", dh->group,
                      PORT_GetError());
        if (shared)
            PK11_FreeSymKey(shared);
        return -1;
    }
    const SECItem *v = PK11_GetKeyData(shared);
    int rc = 0;
    if (v == NULL || v->len != (dh->group == IKE_DH_ECP256 ? 32u : 32u)) {
        oe_error_set(err, "KE: unexpected shared secret length");
        rc = -1;
    } else {
        memcpy(out, v->data, v->len);
    }
    PK11_FreeSymKey(shared);
    return rc;
}

void ike_dh_free(struct ike_dh *dh)
{
    if (dh == NULL)
        return;
    if (dh->group == IKE_DH_MODP2048)
        mpz_clear_secret(dh->x);
    if (dh->ec_priv)
        SECKEY_DestroyPrivateKey(dh->ec_priv);
    if (dh->ec_pub)
        SECKEY_DestroyPublicKey(dh->ec_pub);
    oe_wipe(dh, sizeof(*dh));
    free(dh);
}

/* ---- AES-GCM (RFC 5282): nonce = 4-octet salt from the key material | 8-octet IV ---- */

static int gcm(bool seal, const uint8_t *key, size_t klen, const uint8_t iv[8], const uint8_t *aad, size_t alen,
               const uint8_t *in, size_t ilen, uint8_t *out)
{
    if (klen != 20 && klen != 36)
        return -1;
    uint8_t nonce[12];
    memcpy(nonce, key + klen - 4, 4);
    memcpy(nonce + 4, iv, 8);
    PK11SlotInfo *slot = PK11_GetInternalSlot();
    SECItem k = {siBuffer, (unsigned char *)key, (unsigned)(klen - 4)};
    PK11SymKey *sym =
        PK11_ImportSymKey(slot, CKM_AES_GCM, PK11_OriginUnwrap, seal ? CKA_ENCRYPT : CKA_DECRYPT, &k, NULL);
    PK11_FreeSlot(slot);
    if (sym == NULL)
        return -1;
    CK_NSS_GCM_PARAMS gp = {.pIv = nonce, .ulIvLen = 12, .pAAD = (CK_BYTE_PTR)aad, .ulAADLen = alen, .ulTagBits = 128};
    SECItem param = {siBuffer, (unsigned char *)&gp, sizeof(gp)};
    unsigned olen = 0;
    SECStatus st = seal ? PK11_Encrypt(sym, CKM_AES_GCM, &param, out, &olen, (unsigned)(ilen + 16), in, (unsigned)ilen)
                        : PK11_Decrypt(sym, CKM_AES_GCM, &param, out, &olen, (unsigned)ilen, in, (unsigned)ilen);
    PK11_FreeSymKey(sym);
    return st == SECSuccess ? 0 : -1;
}

int ike_gcm_seal(const uint8_t *key, size_t klen, const uint8_t iv[8], const uint8_t *aad, size_t alen,
                 const uint8_t *plain, size_t plen, uint8_t *out)
{
    return gcm(true, key, klen, iv, aad, alen, plain, plen, out);
}

int ike_gcm_open(const uint8_t *key, size_t klen, const uint8_t iv[8], const uint8_t *aad, size_t alen,
                 const uint8_t *cipher, size_t clen, uint8_t *out)
{
    if (clen < 16)
        return -1;
    return gcm(false, key, klen, iv, aad, alen, cipher, clen, out);
}

/* ---- AES-CBC with HMAC-SHA2 (RFC 3602, RFC 4868) ---- */

int ike_sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
    return PK11_HashBuf(SEC_OID_SHA1, out, data, (PRInt32)len) == SECSuccess ? 0 : -1;
}

bool ike_ct_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= a[i] ^ b[i];
    return d == 0;
}

bool ike_encr_ok(int encr, int bits)
{
    return (encr == IKE_ENCR_AES_GCM_16 || encr == IKE_ENCR_AES_CBC) && (bits == 128 || bits == 256);
}

static int integ_prf(int integ)
{
    switch (integ) {
    case IKE_INTEG_SHA2_256_128: return IKE_PRF_SHA2_256;
    case IKE_INTEG_SHA2_384_192: return IKE_PRF_SHA2_384;
    case IKE_INTEG_SHA2_512_256: return IKE_PRF_SHA2_512;
    }
    return 0;
}

size_t ike_integ_key_len(int integ)
{
    return ike_prf_len(integ_prf(integ));
}

size_t ike_integ_icv_len(int integ)
{
    return ike_prf_len(integ_prf(integ)) / 2;
}

int ike_integ(int integ, const uint8_t *key, const uint8_t *data, size_t len, uint8_t *icv)
{
    uint8_t mac[IKE_MAX_PRF_LEN];
    int prf = integ_prf(integ);
    if (prf == 0 || ike_prf(prf, key, ike_prf_len(prf), data, len, mac) != 0)
        return -1;
    memcpy(icv, mac, ike_prf_len(prf) / 2);
    oe_wipe(mac, sizeof(mac));
    return 0;
}

int ike_cbc(bool encrypt, const uint8_t *key, size_t klen, const uint8_t iv[16], const uint8_t *in, size_t len,
            uint8_t *out)
{
    if ((klen != 16 && klen != 24 && klen != 32) || len % 16 != 0)
        return -1;
    PK11SlotInfo *slot = PK11_GetInternalSlot();
    SECItem k = {siBuffer, (unsigned char *)key, (unsigned)klen};
    PK11SymKey *sym =
        PK11_ImportSymKey(slot, CKM_AES_CBC, PK11_OriginUnwrap, encrypt ? CKA_ENCRYPT : CKA_DECRYPT, &k, NULL);
    PK11_FreeSlot(slot);
    if (sym == NULL)
        return -1;
    SECItem param = {siBuffer, (unsigned char *)iv, 16};
    unsigned olen = 0;
    SECStatus st = encrypt ? PK11_Encrypt(sym, CKM_AES_CBC, &param, out, &olen, (unsigned)len, in, (unsigned)len)
                           : PK11_Decrypt(sym, CKM_AES_CBC, &param, out, &olen, (unsigned)len, in, (unsigned)len);
    PK11_FreeSymKey(sym);
    return st == SECSuccess && olen == len ? 0 : -1;
}

/* ---- RSA signatures, RFC 7427 ---- */

bool ike_signer_ready(const struct ike_signer *k)
{
    return k->sign != NULL && (k->has_key == NULL || k->has_key(k->ctx));
}

int ike_sign_digsig(const struct ike_signer *k, const uint8_t *data, size_t len, struct wbuf *auth,
                    struct oe_error *err)
{
    uint8_t *sig = NULL;
    size_t siglen = 0;
    if (k->sign == NULL || k->sign(k->ctx, data, len, &sig, &siglen, err) != 0) {
        if (k->sign == NULL)
            oe_error_set(err, "AUTH: no host key to sign with");
        return -1;
    }
    wbuf_u8(auth, sizeof(asn1_pss_sha256));
    wbuf_put(auth, asn1_pss_sha256, sizeof(asn1_pss_sha256));
    wbuf_put(auth, sig, siglen);
    free(sig);
    return 0;
}

/* RFC 3110 2: the exponent's length in one octet, or zero and two more; the exponent; the modulus. */
static int rfc3110_parts(const struct ike_pubkey *pub, struct chunk *e, struct chunk *n)
{
    struct cursor c = cursor_of(pub->rfc3110, pub->len);
    size_t elen = cursor_u8(&c);
    if (elen == 0)
        elen = cursor_u16(&c);
    const uint8_t *ep = cursor_take(&c, elen);
    size_t nlen = cursor_left(&c);
    const uint8_t *np = cursor_take(&c, nlen);
    if (ep == NULL || np == NULL || elen == 0 || nlen == 0)
        return -1;
    *e = (struct chunk){ep, elen};
    *n = (struct chunk){np, nlen};
    return 0;
}

static SECKEYPublicKey *rsa_public(const struct ike_pubkey *pub)
{
    struct chunk e, n;
    if (rfc3110_parts(pub, &e, &n) != 0)
        return NULL;
    PLArenaPool *arena = PORT_NewArena(DER_DEFAULT_CHUNKSIZE);
    if (arena == NULL)
        return NULL;
    SECKEYPublicKey *pk = PORT_ArenaZNew(arena, SECKEYPublicKey);
    if (pk == NULL) {
        PORT_FreeArena(arena, PR_FALSE);
        return NULL;
    }
    pk->arena = arena;
    pk->keyType = rsaKey;
    pk->pkcs11ID = CK_INVALID_HANDLE;
    SECItem ni = {siUnsignedInteger, (unsigned char *)n.p, (unsigned)n.len};
    SECItem ei = {siUnsignedInteger, (unsigned char *)e.p, (unsigned)e.len};
    if (SECITEM_CopyItem(arena, &pk->u.rsa.modulus, &ni) != SECSuccess ||
        SECITEM_CopyItem(arena, &pk->u.rsa.publicExponent, &ei) != SECSuccess) {
        SECKEY_DestroyPublicKey(pk);
        return NULL;
    }
    return pk;
}

int ike_verify_digsig(const struct ike_pubkey *pub, const uint8_t *data, size_t len, const uint8_t *auth, size_t alen,
                      struct oe_error *err)
{
    if (alen < 1 || auth[0] + 1u > alen) {
        oe_error_set(err, "AUTH: signature data too short for its AlgorithmIdentifier");
        return -1;
    }
    size_t idlen = auth[0];
    const uint8_t *id = auth + 1;
    SECItem sig = {siBuffer, (unsigned char *)auth + 1 + idlen, (unsigned)(alen - 1 - idlen)};
    SECItem d = {siBuffer, (unsigned char *)data, (unsigned)len};
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    SECItem pss_param = {siBuffer, (unsigned char *)&pss, sizeof(pss)};
    CK_MECHANISM_TYPE mech;
    SECItem *param = NULL;
#define IS(blob) (idlen == sizeof(blob) && memcmp(id, blob, idlen) == 0)
    if (IS(asn1_pss_sha256)) {
        mech = CKM_SHA256_RSA_PKCS_PSS;
        param = &pss_param;
    } else if (IS(asn1_pss_sha384)) {
        mech = CKM_SHA384_RSA_PKCS_PSS;
        pss = (CK_RSA_PKCS_PSS_PARAMS){CKM_SHA384, CKG_MGF1_SHA384, 48};
        param = &pss_param;
    } else if (IS(asn1_pss_sha512)) {
        mech = CKM_SHA512_RSA_PKCS_PSS;
        pss = (CK_RSA_PKCS_PSS_PARAMS){CKM_SHA512, CKG_MGF1_SHA512, 64};
        param = &pss_param;
    } else if (IS(asn1_pkcs1_sha256)) {
        mech = CKM_SHA256_RSA_PKCS;
    } else if (IS(asn1_pkcs1_sha384)) {
        mech = CKM_SHA384_RSA_PKCS;
    } else if (IS(asn1_pkcs1_sha512)) {
        mech = CKM_SHA512_RSA_PKCS;
    } else {
        oe_error_set(err, "AUTH: signature algorithm (AlgorithmIdentifier of %zu octets) not supported", idlen);
        return -1;
    }
#undef IS
    SECKEYPublicKey *pk = rsa_public(pub);
    if (pk == NULL) {
        oe_error_set(err, "AUTH: cannot use the peer's key");
        return -1;
    }
    SECStatus st = PK11_VerifyWithMechanism(pk, mech, param, &sig, &d, NULL);
    SECKEY_DestroyPublicKey(pk);
    if (st != SECSuccess) {
        oe_error_set(err, "AUTH: RSA signature does not verify with the peer's key");
        return -1;
    }
    return 0;
}
