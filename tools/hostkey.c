#include "hostkey.h"

#include <errno.h>
#include <fcntl.h>
#include <keyhi.h>
#include <nss.h>
#include <base64.h>
#include <pk11pub.h>
#include <secitem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_BEGIN "-----BEGIN PRIVATE KEY-----"
#define PEM_END "-----END PRIVATE KEY-----"
#define MAX_KEYFILE 65536

int hostkey_nss_init(struct oe_error *err)
{
    if (NSS_IsInitialized())
        return 0;
    if (NSS_NoDB_Init(NULL) != SECSuccess) {
        oe_error_set(err, "NSS initialisation failed (error %d)", PORT_GetError());
        return -1;
    }
    return 0;
}

static int public_of(SECKEYPrivateKey *priv, struct dnskeys_pubkey *pub, struct oe_error *err)
{
    SECKEYPublicKey *pk = SECKEY_ConvertToPublicKey(priv);
    if (pk == NULL || pk->keyType != rsaKey) {
        oe_error_set(err, "the host key is not an RSA key");
        if (pk)
            SECKEY_DestroyPublicKey(pk);
        return -1;
    }
    int rc = dnskeys_key_from_parts(pk->u.rsa.publicExponent.data, pk->u.rsa.publicExponent.len,
                                    pk->u.rsa.modulus.data, pk->u.rsa.modulus.len, pub, err);
    SECKEY_DestroyPublicKey(pk);
    return rc;
}

static int write_pem(const char *path, const SECItem *der, struct oe_error *err)
{
    char *b64 = BTOA_DataToAscii(der->data, der->len);
    if (b64 == NULL) {
        oe_error_set(err, "base64 encoding failed");
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        oe_error_set(err, "%s: %s%s", path, strerror(errno),
                     errno == EEXIST ? " (remove the old key first: it may be published in DNS)" : "");
        oe_wipe(b64, strlen(b64));
        PORT_Free(b64);
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    int rc = fprintf(f, "%s\n", PEM_BEGIN) < 0;
    for (const char *p = b64; *p; p++)
        if (*p != '\r')
            rc |= fputc(*p, f) == EOF;
    rc |= fprintf(f, "\n%s\n", PEM_END) < 0;
    rc |= fclose(f) != 0;
    oe_wipe(b64, strlen(b64));
    PORT_Free(b64);
    if (rc) {
        oe_error_set(err, "%s: write failed", path);
        unlink(path);
        return -1;
    }
    return 0;
}

int hostkey_generate(const char *path, unsigned bits, struct dnskeys_pubkey *pub,
                     struct oe_error *err)
{
    if (hostkey_nss_init(err) != 0)
        return -1;
    PK11SlotInfo *slot = PK11_GetInternalSlot();
    PK11RSAGenParams params = {.keySizeInBits = (int)bits, .pe = 65537};
    SECKEYPublicKey *pk = NULL;
    /* not sensitive: it has to be written to the key file once */
    SECKEYPrivateKey *priv = PK11_GenerateKeyPair(slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &params, &pk,
                                                  PR_FALSE, PR_FALSE, NULL);
    PK11_FreeSlot(slot);
    if (priv == NULL) {
        oe_error_set(err, "NSS could not generate a %u-bit RSA key (error %d)", bits, PORT_GetError());
        return -1;
    }
    SECKEY_DestroyPublicKey(pk);
    SECItem *der = PK11_ExportDERPrivateKeyInfo(priv, NULL);
    int rc = -1;
    if (der == NULL)
        oe_error_set(err, "NSS could not export the key (error %d)", PORT_GetError());
    else if (write_pem(path, der, err) == 0)
        rc = public_of(priv, pub, err);
    if (der)
        SECITEM_ZfreeItem(der, PR_TRUE);
    SECKEY_DestroyPrivateKey(priv);
    return rc;
}

static char *read_key_file(const char *path, struct oe_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0) {
        oe_error_set(err, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_KEYFILE) {
        oe_error_set(err, "%s: not a regular file of at most %d bytes", path, MAX_KEYFILE);
        close(fd);
        return NULL;
    }
    if (st.st_mode & 077) {
        oe_error_set(err, "%s: refusing a private key that others can read (mode %03o; chmod 600 it)",
                     path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return NULL;
    }
    char *buf = calloc(1, (size_t)st.st_size + 1);
    ssize_t got = buf ? read(fd, buf, (size_t)st.st_size) : -1;
    close(fd);
    if (got != st.st_size) {
        oe_error_set(err, "%s: read failed", path);
        if (buf)
            oe_wipe(buf, (size_t)st.st_size);
        free(buf);
        return NULL;
    }
    return buf;
}

int hostkey_load_public(const char *path, struct dnskeys_pubkey *pub, struct oe_error *err)
{
    if (hostkey_nss_init(err) != 0)
        return -1;
    char *text = read_key_file(path, err);
    if (text == NULL)
        return -1;
    size_t tlen = strlen(text);
    char *b = strstr(text, PEM_BEGIN), *e = b ? strstr(b, PEM_END) : NULL;
    int rc = -1;
    if (b == NULL || e == NULL) {
        oe_error_set(err, "%s: no \"%s\" block", path, PEM_BEGIN);
        goto out;
    }
    *e = '\0';
    unsigned int dlen = 0;
    unsigned char *der = ATOB_AsciiToData(b + strlen(PEM_BEGIN), &dlen);
    if (der == NULL) {
        oe_error_set(err, "%s: the key is not valid base64", path);
        goto out;
    }
    SECItem item = {siBuffer, der, dlen};
    SECKEYPrivateKey *priv = NULL;
    PK11SlotInfo *slot = PK11_GetInternalSlot();
    SECStatus st = PK11_ImportDERPrivateKeyInfoAndReturnKey(slot, &item, NULL, NULL, PR_FALSE,
                                                            PR_FALSE, KU_ALL, &priv, NULL);
    PK11_FreeSlot(slot);
    oe_wipe(der, dlen);
    PORT_Free(der);
    if (st != SECSuccess || priv == NULL) {
        oe_error_set(err, "%s: not a PKCS#8 private key NSS accepts (error %d)", path, PORT_GetError());
        goto out;
    }
    rc = public_of(priv, pub, err);
    SECKEY_DestroyPrivateKey(priv);
out:
    oe_wipe(text, tlen);
    free(text);
    return rc;
}
