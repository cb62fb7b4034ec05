/*
 * hs_bound: the crypto bound of a responder's handshake (issue 14), timed
 * alone: the NSS/GMP operations one IKE_SA_INIT + IKE_AUTH + Child SA costs
 * the responder (ECP-256, PRF-HMAC-SHA2-256, AES-GCM-16-256, as both
 * responders of bench/handshakes.sh negotiate them), through the IKE core's
 * own crypto calls, each repeated and timed in CPU time; then the handshakes
 * per second one core could answer if it did nothing else.
 *   hs_bound [SIGN_BITS [VERIFY_BITS]]   (3072, 3072: the responder's key, the initiator's)
 */
#include "dnskeys/dnskeys.h"
#include "oe-agent/ike/ike_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What one handshake needs of each: the responder's share of the work. */
struct op {
    const char *name;
    unsigned per_hs; /* times per handshake */
    double us;       /* CPU microseconds each */
};

enum {
    OP_RANDOM,
    OP_DH_NEW,
    OP_DH_SHARED,
    OP_SHA1,
    OP_SHA256,
    OP_SKEYSEED,
    OP_PRFPLUS,
    OP_AUTH_PRF,
    OP_KEYMAT,
    OP_GCM_OPEN,
    OP_GCM_SEAL,
    OP_RSA_SIGN,
    OP_RSA_VERIFY,
    OP_COUNT
};

static struct ike_env env;
static uint8_t buf_in[2048], buf_out[2048 + 16], key[IKE_MAX_KEY], prfk[32], out[256];
static struct ike_signer signer;
static struct ike_pubkey pub;
static uint8_t *sig;
static size_t siglen;
static struct dnskeys_pubkey pub_keep; /* VERIFY_BITS's key, when it is not SIGN_BITS's */
static struct dnskeys_hostkey *hk_keep;
static const size_t AUTH_REQ_NULL = 240, AUTH_REQ_RSA = 240 + 400, MSG1 = 300;

static void run(int op, bool rsa)
{
    struct oe_error err;
    switch (op) {
    case OP_RANDOM: ike_random(&env, out, 32); break; /* nonce; SPIs and IVs alike */
    case OP_DH_NEW: ike_dh_free(ike_dh_new(&env, IKE_DH_ECP256, &err)); break;
    case OP_DH_SHARED: {
        static struct ike_dh *mine, *theirs;
        if (mine == NULL) {
            mine = ike_dh_new(&env, IKE_DH_ECP256, &err);
            theirs = ike_dh_new(&env, IKE_DH_ECP256, &err);
        }
        size_t n;
        const uint8_t *p = ike_dh_public(theirs, &n);
        ike_dh_shared(mine, p, n, out, &err);
        break;
    }
    case OP_SHA1: ike_sha1(buf_in, 44, out); break;       /* NAT detection: SPIs + address + port */
    case OP_SHA256: ike_sha256(buf_in, MSG1, out); break; /* a request remembered for its retransmissions */
    case OP_SKEYSEED: ike_prf(IKE_PRF_SHA2_256, buf_in, 64, buf_in, 32, out); break;        /* prf(Ni | Nr, g^ir) */
    case OP_PRFPLUS: ike_prf_plus(IKE_PRF_SHA2_256, prfk, 32, buf_in, 80, out, 168); break; /* SK_d,e,p */
    case OP_AUTH_PRF: ike_prf(IKE_PRF_SHA2_256, prfk, 32, buf_in, MSG1 + 32 + 32, out); break;
    case OP_KEYMAT: ike_prf_plus(IKE_PRF_SHA2_256, prfk, 32, buf_in, 64, out, 72); break;
    case OP_GCM_OPEN:
    case OP_GCM_SEAL: {
        size_t len = rsa ? AUTH_REQ_RSA : AUTH_REQ_NULL;
        uint8_t iv[8] = {0};
        if (op == OP_GCM_SEAL) {
            ike_gcm_seal(key, sizeof(key), iv, buf_in, 32, buf_in, len, buf_out);
        } else {
            static uint8_t sealed[2048 + 16];
            static size_t sealed_len;
            if (sealed_len != len + 16) {
                ike_gcm_seal(key, sizeof(key), iv, buf_in, 32, buf_in, len, sealed);
                sealed_len = len + 16;
            }
            ike_gcm_open(key, sizeof(key), iv, buf_in, 32, sealed, sealed_len, buf_out);
        }
        break;
    }
    case OP_RSA_SIGN: {
        struct wbuf auth = {0};
        ike_sign_digsig(&signer, buf_in, MSG1 + 64, &auth, &err);
        if (sig == NULL && !auth.failed) {
            sig = malloc(auth.len);
            memcpy(sig, auth.p, auth.len);
            siglen = auth.len;
        }
        wbuf_free(&auth);
        break;
    }
    case OP_RSA_VERIFY:
        if (ike_verify_digsig(&pub, buf_in, MSG1 + 64, sig, siglen, &err) != 0) {
            fprintf(stderr, "hs_bound: verify: %s\n", err.msg);
            exit(1);
        }
        break;
    }
}

/* CPU microseconds of one op: the least of 3 rounds of as many as fit in about 0.3 s */
static double time_op(int op, bool rsa)
{
    double best = 0;
    run(op, rsa); /* the first may set up */
    for (int round = 0; round < 3; round++) {
        unsigned n = 0, batch = 1;
        double t0 = cpu_s(), t = 0;
        while (t < 0.3) {
            for (unsigned i = 0; i < batch; i++)
                run(op, rsa);
            n += batch;
            batch *= 2;
            t = cpu_s() - t0;
        }
        double us = t * 1e6 / n;
        if (round == 0 || us < best)
            best = us;
    }
    return best;
}

int main(int argc, char **argv)
{
    int bits = argc > 1 ? atoi(argv[1]) : 3072, vbits = argc > 2 ? atoi(argv[2]) : bits;
    struct oe_error err;
    if (ike_crypto_init(&err) != 0) {
        fprintf(stderr, "hs_bound: %s\n", err.msg);
        return 1;
    }
    char kf[64];
    snprintf(kf, sizeof(kf), "/tmp/hs-bound-%d.pem", (int)getpid());
    struct dnskeys_pubkey pk;
    struct dnskeys_hostkey *hk;
    if (dnskeys_hostkey_generate(kf, bits, &pk, &err) != 0 || dnskeys_hostkey_load(kf, &hk, &err) != 0) {
        fprintf(stderr, "hs_bound: %s\n", err.msg);
        return 1;
    }
    unlink(kf);
    if (vbits != bits) { /* the initiator's key, which the responder verifies: its own signature, made once */
        struct dnskeys_pubkey vpk;
        struct dnskeys_hostkey *vhk;
        if (dnskeys_hostkey_generate(kf, vbits, &vpk, &err) != 0 || dnskeys_hostkey_load(kf, &vhk, &err) != 0) {
            fprintf(stderr, "hs_bound: %s\n", err.msg);
            return 1;
        }
        unlink(kf);
        signer = (struct ike_signer){dnskeys_hostkey_sign, vhk, NULL};
        pub = (struct ike_pubkey){vpk.rfc3110, vpk.len};
        memset(buf_in, 0x5a, sizeof(buf_in));
        run(OP_RSA_SIGN, true); /* keeps that signature for OP_RSA_VERIFY */
        pub_keep = vpk;
        hk_keep = vhk;
    }
    signer = (struct ike_signer){dnskeys_hostkey_sign, hk, NULL};
    if (hk_keep == NULL)
        pub = (struct ike_pubkey){pk.rfc3110, pk.len};
    memset(buf_in, 0x5a, sizeof(buf_in));
    memset(key, 0x3c, sizeof(key));
    memset(prfk, 0x11, sizeof(prfk));
    /* per handshake, the responder: SPI, Nr, its Child SA's SPI and IV; its DH pair and g^ir;
     * NAT detection hashes checked (2) and made (2); both requests hashed; SKEYSEED and its prf+;
     * AUTH: the initiator's checked and its own made, each prf(SK_p, ID) and prf(key, octets)
     * (NULL: the key is SK_p's prf, RFC 7619; RSA: the octets are signed and verified instead);
     * KEYMAT; the IKE_AUTH request opened and the answer sealed */
    struct op ops[OP_COUNT] = {
        [OP_RANDOM] = {"random (SPIs, nonce, IV)", 4, 0},
        [OP_DH_NEW] = {"ECP-256 key pair (NSS)", 1, 0},
        [OP_DH_SHARED] = {"ECP-256 g^ir (NSS)", 1, 0},
        [OP_SHA1] = {"SHA-1, NAT detection", 4, 0},
        [OP_SHA256] = {"SHA-256 of a request", 2, 0},
        [OP_SKEYSEED] = {"SKEYSEED = prf(Ni|Nr, g^ir)", 1, 0},
        [OP_PRFPLUS] = {"prf+ SK_d, SK_e, SK_p (168 octets)", 1, 0},
        [OP_AUTH_PRF] = {"AUTH prf (ID, octets)", 4, 0},
        [OP_KEYMAT] = {"KEYMAT prf+ (72 octets)", 1, 0},
        [OP_GCM_OPEN] = {"AES-GCM open, IKE_AUTH request", 1, 0},
        [OP_GCM_SEAL] = {"AES-GCM seal, IKE_AUTH answer", 1, 0},
        [OP_RSA_SIGN] = {"RSA sign (RFC 7427 PSS), its key", 1, 0},
        [OP_RSA_VERIFY] = {"RSA verify (RFC 7427 PSS), peer's key", 1, 0},
    };
    printf("crypto bound: what one responder handshake (IKE_SA_INIT + IKE_AUTH + Child SA, ECP-256,\n"
           "PRF-HMAC-SHA2-256, AES-GCM-16-256) costs in NSS/GMP calls, each timed alone (CPU time, least of 3)\n");
    printf("%-38s %8s %10s %12s %12s\n", "operation", "each us", "per hs", "NULL us/hs", "RSA us/hs");
    double total[2] = {0, 0};
    for (int op = 0; op < OP_COUNT; op++) {
        bool rsa_only = op == OP_RSA_SIGN || op == OP_RSA_VERIFY;
        bool sized = op == OP_GCM_OPEN || op == OP_GCM_SEAL;
        double us_null = rsa_only ? 0 : time_op(op, false);
        double us_rsa = sized ? time_op(op, true) : rsa_only ? time_op(op, true) : us_null;
        /* RSA: the AUTH prfs are two (prf(SK_p, ID) each way), the octets go to the signature */
        unsigned n_null = rsa_only ? 0 : ops[op].per_hs, n_rsa = op == OP_AUTH_PRF ? 2 : ops[op].per_hs;
        ops[op].us = us_rsa;
        total[0] += us_null * n_null;
        total[1] += us_rsa * n_rsa;
        printf("%-38s %8.1f %10s %12.1f %12.1f\n", ops[op].name, rsa_only ? us_rsa : us_null,
               rsa_only            ? "1 (RSA)"
               : op == OP_AUTH_PRF ? "4 / 2"
                                   : "",
               us_null * n_null, us_rsa * n_rsa);
        fflush(stdout);
    }
    printf("%-38s %8s %10s %12.1f %12.1f\n", "total per handshake", "", "", total[0], total[1]);
    printf("bound_null=%.1f/s bound_rsa=%.1f/s (handshakes per second on one core, crypto alone)\n", 1e6 / total[0],
           1e6 / total[1]);
    printf("(RSA: signing with a %d-bit key, verifying a %d-bit one)\n", bits, vbits);
    free(sig);
    dnskeys_key_free(&pub_keep);
    dnskeys_hostkey_free(hk_keep);
    dnskeys_key_free(&pk);
    dnskeys_hostkey_free(hk);
    return 0;
}
