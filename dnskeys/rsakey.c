/* RSA public keys in the RFC 3110 encoding, checked with GMP. */
#include "dnskeys.h"

#include <gmp.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY_BITS 16384
/*
 * FIPS 186-4 B.3.1: 2^16 < e. RFC 3110 4 allows e = 3 (FreeS/WAN's keys),
 * but then one PKCS#1 v1.5 verifier that parses the block loosely is
 * enough to forge signatures with a cube root (Bleichenbacher 2006,
 * libreswan CVE-2018-15836). NSS is strict; a small exponent buys nothing
 * worth that risk, so such keys are refused.
 */
#define MIN_EXPONENT 65537

/* RFC 3110 2: exponent length in one octet, or zero and then two octets. */
static int split(const uint8_t *buf, size_t len, size_t *eoff, size_t *elen, struct oe_error *err)
{
    if (len < 1) {
        oe_error_set(err, "RSA key: empty");
        return -1;
    }
    if (buf[0] != 0) {
        *eoff = 1;
        *elen = buf[0];
    } else {
        if (len < 3) {
            oe_error_set(err, "RSA key: truncated at offset 1 (exponent length needs 2 octets, %zu left)", len - 1);
            return -1;
        }
        *eoff = 3;
        *elen = (size_t)buf[1] << 8 | buf[2];
        if (*elen == 0) {
            oe_error_set(err, "RSA key: exponent length 0");
            return -1;
        }
    }
    if (*eoff + *elen >= len) {
        oe_error_set(err, "RSA key: truncated: exponent of %zu octets at offset %zu leaves no modulus in %zu octets",
                     *elen, *eoff, len);
        return -1;
    }
    return 0;
}

int dnskeys_key_decode(const uint8_t *buf, size_t len, unsigned min_bits, struct dnskeys_pubkey *out,
                       struct oe_error *err)
{
    size_t eoff, elen;
    memset(out, 0, sizeof(*out));
    if (split(buf, len, &eoff, &elen, err) != 0)
        return -1;
    const uint8_t *e = buf + eoff, *n = e + elen;
    size_t nlen = len - eoff - elen;
    /* RFC 3110 2: leading zero octets are prohibited */
    if (e[0] == 0 || n[0] == 0) {
        oe_error_set(err, "RSA key: leading zero octet in the %s", e[0] == 0 ? "exponent" : "modulus");
        return -1;
    }
    mpz_t ze, zn;
    mpz_inits(ze, zn, NULL);
    mpz_import(ze, elen, 1, 1, 0, 0, e);
    mpz_import(zn, nlen, 1, 1, 0, 0, n);
    unsigned bits = (unsigned)mpz_sizeinbase(zn, 2);
    int rc = -1;
    if (mpz_even_p(ze) || mpz_cmp_ui(ze, 1) == 0)
        oe_error_set(err, "RSA key: exponent is %s",
                     mpz_sgn(ze) == 0         ? "zero"
                     : mpz_cmp_ui(ze, 1) == 0 ? "one"
                                              : "even");
    else if (mpz_cmp_ui(ze, MIN_EXPONENT) < 0)
        oe_error_set(err, "RSA key: exponent %lu is below %u", mpz_get_ui(ze), MIN_EXPONENT);
    else if (bits < min_bits)
        oe_error_set(err, "RSA key: modulus of %u bits is shorter than the %u required", bits, min_bits);
    else if (bits > MAX_KEY_BITS)
        oe_error_set(err, "RSA key: modulus of %u bits is longer than %u", bits, MAX_KEY_BITS);
    else if (mpz_even_p(zn))
        oe_error_set(err, "RSA key: modulus is even");
    else if (mpz_cmp(ze, zn) >= 0)
        oe_error_set(err, "RSA key: exponent is not smaller than the modulus");
    else
        rc = 0;
    mpz_clears(ze, zn, NULL);
    if (rc != 0)
        return -1;
    out->rfc3110 = malloc(len);
    if (out->rfc3110 == NULL) {
        oe_error_set(err, "RSA key: out of memory");
        return -1;
    }
    memcpy(out->rfc3110, buf, len);
    out->len = len;
    out->bits = bits;
    return 0;
}

int dnskeys_key_from_text(const char *text, unsigned min_bits, struct dnskeys_pubkey *out, struct oe_error *err)
{
    memset(out, 0, sizeof(*out));
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    if (text[0] == '0' && (text[1] == 's' || text[1] == 'S'))
        text += 2;
    else if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        oe_error_set(err, "RSA key: hex (0x) keys are not supported; use base64");
        return -1;
    }
    /* blanks inside (as in split TXT strings or wrapped zone lines) do not count */
    size_t tlen = strlen(text);
    char *compact = malloc(tlen + 1);
    if (compact == NULL) {
        oe_error_set(err, "RSA key: out of memory");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < tlen; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            compact[k++] = text[i];
    compact[k] = '\0';
    ldns_rdf *rdf = NULL;
    ldns_status st = k ? ldns_str2rdf_b64(&rdf, compact) : LDNS_STATUS_ERR;
    free(compact);
    if (st != LDNS_STATUS_OK || rdf == NULL) {
        oe_error_set(err, "RSA key: not valid base64");
        return -1;
    }
    int rc = dnskeys_key_decode(ldns_rdf_data(rdf), ldns_rdf_size(rdf), min_bits, out, err);
    ldns_rdf_deep_free(rdf);
    return rc;
}

int dnskeys_key_from_parts(const uint8_t *e, size_t elen, const uint8_t *n, size_t nlen, struct dnskeys_pubkey *out,
                           struct oe_error *err)
{
    while (elen > 0 && e[0] == 0)
        e++, elen--;
    while (nlen > 0 && n[0] == 0)
        n++, nlen--;
    if (elen == 0 || elen > 0xffff || nlen == 0) {
        oe_error_set(err, "RSA key: empty exponent or modulus");
        return -1;
    }
    size_t hdr = elen <= 255 ? 1 : 3, len = hdr + elen + nlen;
    uint8_t *buf = malloc(len);
    if (buf == NULL) {
        oe_error_set(err, "RSA key: out of memory");
        return -1;
    }
    if (hdr == 1) {
        buf[0] = (uint8_t)elen;
    } else {
        buf[0] = 0;
        buf[1] = (uint8_t)(elen >> 8);
        buf[2] = (uint8_t)elen;
    }
    memcpy(buf + hdr, e, elen);
    memcpy(buf + hdr + elen, n, nlen);
    int rc = dnskeys_key_decode(buf, len, 0, out, err);
    free(buf);
    return rc;
}

void dnskeys_key_parts(const struct dnskeys_pubkey *key, const uint8_t **e, size_t *elen, const uint8_t **n,
                       size_t *nlen)
{
    size_t eoff, el;
    /* a key in a dnskeys_pubkey was validated, so split cannot fail */
    if (split(key->rfc3110, key->len, &eoff, &el, NULL) != 0) {
        *e = *n = NULL;
        *elen = *nlen = 0;
        return;
    }
    *e = key->rfc3110 + eoff;
    *elen = el;
    *n = *e + el;
    *nlen = key->len - eoff - el;
}

char *dnskeys_key_to_text(const struct dnskeys_pubkey *key, bool freeswan)
{
    ldns_rdf *rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_B64, key->len, key->rfc3110);
    char *b64 = rdf ? ldns_rdf2str(rdf) : NULL;
    ldns_rdf_deep_free(rdf);
    if (b64 == NULL || !freeswan)
        return b64;
    char *out = malloc(strlen(b64) + 3);
    if (out != NULL) {
        memcpy(out, "0s", 2);
        memcpy(out + 2, b64, strlen(b64) + 1);
    }
    free(b64);
    return out;
}

void dnskeys_key_id(const struct dnskeys_pubkey *key, char out[16])
{
    char *t = dnskeys_key_to_text(key, false);
    snprintf(out, 16, "%.9s", t ? t : "?");
    free(t);
}

bool dnskeys_key_eq(const struct dnskeys_pubkey *a, const struct dnskeys_pubkey *b)
{
    return a->len == b->len && memcmp(a->rfc3110, b->rfc3110, a->len) == 0;
}

int dnskeys_key_copy(const struct dnskeys_pubkey *from, struct dnskeys_pubkey *to)
{
    *to = *from;
    to->rfc3110 = malloc(from->len ? from->len : 1);
    if (to->rfc3110 == NULL)
        return -1;
    memcpy(to->rfc3110, from->rfc3110, from->len);
    return 0;
}

void dnskeys_key_free(struct dnskeys_pubkey *key)
{
    free(key->rfc3110);
    memset(key, 0, sizeof(*key));
}
