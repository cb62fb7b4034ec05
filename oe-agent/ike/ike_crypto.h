/*
 * The IKE core's cryptography, all through NSS (GMP only for MODP groups):
 * random numbers, HMAC-SHA2 PRFs and prf+ (RFC 7296 2.13), Diffie-Hellman
 * groups 14, 19 and 31, AES-GCM for SK payloads, RSA signatures (RFC 7427).
 * Secrets live in buffers that are wiped when freed.
 */
#ifndef OE_IKE_CRYPTO_H
#define OE_IKE_CRYPTO_H

#include "chunk.h"
#include "ike.h"

enum ike_prf_id { IKE_PRF_SHA2_256 = 5, IKE_PRF_SHA2_384 = 6, IKE_PRF_SHA2_512 = 7 };
enum ike_encr_id { IKE_ENCR_AES_CBC = 12, IKE_ENCR_AES_GCM_16 = 20 };
enum ike_dh_id { IKE_DH_MODP2048 = 14, IKE_DH_ECP256 = 19, IKE_DH_CURVE25519 = 31 };
/* RFC 4868: HMAC-SHA2 truncated to half its length */
enum ike_integ_id { IKE_INTEG_SHA2_256_128 = 12, IKE_INTEG_SHA2_384_192 = 13, IKE_INTEG_SHA2_512_256 = 14 };

#define IKE_MAX_PRF_LEN 64
#define IKE_MAX_DH_LEN 256

int ike_crypto_init(struct oe_error *err);
int ike_random(const struct ike_env *env, void *buf, size_t len);
/* A fresh ESP SPI (never one of the reserved 0..255, RFC 4303 2.1) and a non-zero IKE SPI. */
uint32_t ike_esp_spi(const struct ike_env *env);
uint64_t ike_ike_spi(const struct ike_env *env);

/* SHA-256 of data: how a request we answered is remembered, to know its retransmissions. */
int ike_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

size_t ike_prf_len(int prf);
int ike_prf(int prf, const uint8_t *key, size_t klen, const uint8_t *data, size_t dlen, uint8_t *out);
/* prf+ (RFC 7296 2.13) into out[0..outlen) */
int ike_prf_plus(int prf, const uint8_t *key, size_t klen, const uint8_t *seed, size_t slen, uint8_t *out,
                 size_t outlen);

struct ike_dh;
size_t ike_dh_len(int group);        /* the public value's length; 0: unsupported */
size_t ike_dh_shared_len(int group); /* g^ir's length (ECP: the x coordinate) */
struct ike_dh *ike_dh_new(const struct ike_env *env, int group, struct oe_error *err);
const uint8_t *ike_dh_public(const struct ike_dh *dh, size_t *len);
/* g^ir into out (ike_dh_len octets); refuses an invalid peer value */
int ike_dh_shared(struct ike_dh *dh, const uint8_t *peer, size_t len, uint8_t *out, struct oe_error *err);
void ike_dh_free(struct ike_dh *dh);

/* AES-GCM with a 16-octet ICV (RFC 5282): key includes the 4-octet salt at its end. */
int ike_gcm_seal(const uint8_t *key, size_t klen, const uint8_t iv[8], const uint8_t *aad, size_t alen,
                 const uint8_t *plain, size_t plen, uint8_t *out);
int ike_gcm_open(const uint8_t *key, size_t klen, const uint8_t iv[8], const uint8_t *aad, size_t alen,
                 const uint8_t *cipher, size_t clen, uint8_t *out);

/* SHA-1, only for NAT detection hashes (RFC 7296 2.23). */
int ike_sha1(const uint8_t *data, size_t len, uint8_t out[20]);

/* Equal without leaking where they differ (MACs, ICVs). */
bool ike_ct_equal(const uint8_t *a, const uint8_t *b, size_t n);

/* AES-GCM-16 or AES-CBC with a key length we take (128 or 256 bits). */
bool ike_encr_ok(int encr, int bits);

/* Integrity (RFC 4868): the key is as long as the hash, the ICV half of it; 0: unsupported. */
size_t ike_integ_key_len(int integ);
size_t ike_integ_icv_len(int integ);
int ike_integ(int integ, const uint8_t *key, const uint8_t *data, size_t len, uint8_t *icv);

/* AES-CBC (RFC 3602) over whole blocks, no padding: len is a multiple of 16. */
int ike_cbc(bool encrypt, const uint8_t *key, size_t klen, const uint8_t iv[16], const uint8_t *in, size_t len,
            uint8_t *out);

/* RFC 7427 signature AUTH data: ASN.1 length, AlgorithmIdentifier, signature. */
/* Whether the signer has a host key to sign with now. */
bool ike_signer_ready(const struct ike_signer *k);
int ike_sign_digsig(const struct ike_signer *k, const uint8_t *data, size_t len, struct wbuf *auth,
                    struct oe_error *err);
int ike_verify_digsig(const struct ike_pubkey *pub, const uint8_t *data, size_t len, const uint8_t *auth, size_t alen,
                      struct oe_error *err);

#endif
