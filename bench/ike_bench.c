/*
 * ike_bench: what one IKE SA costs our core, in-process (no sockets, no
 * kernel): full IKE_SA_INIT + IKE_AUTH handshakes per second with RSA
 * (3072-bit keys, as newhostkey makes) and with NULL authentication, and
 * the memory each established IKE SA (with its Child SA) holds.
 * (No libreswan figure beside it: pluto cannot run without its kernel
 * and sockets; the interop and e2e logs time real exchanges with it.)
 *   ike_bench [RSA_HANDSHAKES] [NULL_HANDSHAKES] [HELD_SAS]
 */
#include "dnskeys/dnskeys.h"
#include "oe-agent/ike/ike.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct end {
    struct ike_core *core;
    struct ike_endpoint ep;
    struct ike_actions acts;
    struct dnskeys_hostkey *hk;
    struct ike_pubkey peer;
    int ups;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Hand each end's datagrams to the other and answer key requests until quiet. */
static void settle(struct end *x, struct end *y)
{
    for (int round = 0; round < 16; round++) {
        bool moved = false;
        struct end *e[2] = {x, y};
        for (int i = 0; i < 2; i++) {
            struct end *from = e[i], *to = e[1 - i];
            struct ike_actions take = from->acts;
            memset(&from->acts, 0, sizeof(from->acts));
            for (size_t k = 0; k < take.n; k++) {
                struct ike_action *a = &take.v[k];
                if (a->kind == IKE_ACT_SEND && a->len > 1) {
                    ike_receive(to->core, &to->ep, &from->ep, a->msg, a->len, 0, &to->acts);
                    moved = true;
                } else if (a->kind == IKE_ACT_NEED_KEY) {
                    ike_peer_key(from->core, a->serial, &from->peer, true, &from->acts);
                    moved = true;
                } else if (a->kind == IKE_ACT_UP) {
                    from->ups++;
                }
            }
            ike_actions_clear(&take);
            free(take.v);
        }
        if (!moved)
            return;
    }
}

static int setup(struct end *e, const char *keyfile, const char *addr)
{
    struct ike_config cfg;
    struct oe_error err;
    ike_config_defaults(&cfg);
    cfg.cookie_threshold = cfg.max_half_open = cfg.max_half_open_per_source =
        1u << 30; /* no cookies or caps: we measure the exchange itself */
    if (dnskeys_hostkey_load(keyfile, &e->hk, &err) != 0) {
        fprintf(stderr, "ike_bench: %s\n", err.msg);
        return -1;
    }
    cfg.signer = (struct ike_signer){dnskeys_hostkey_sign, e->hk};
    e->core = ike_core_new(&cfg, &err);
    oe_addr_parse(addr, &e->ep.addr);
    e->ep.port = 500;
    return e->core ? 0 : -1;
}

static double handshakes(struct end *a, struct end *b, enum ike_authby auth, int n, bool keep)
{
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        struct ike_initiate req = {
            .local = a->ep, .remote = b->ep, .local_host = a->ep.addr, .remote_host = b->ep.addr, .auth = auth};
        if (auth == IKE_AUTHBY_RSASIG)
            req.peer_key = a->peer;
        unsigned serial = ike_initiate(a->core, &req, 0, &a->acts);
        settle(a, b);
        if (!keep) {
            ike_delete(a->core, serial, 0, &a->acts);
            settle(a, b);
        }
    }
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    int n_rsa = argc > 1 ? atoi(argv[1]) : 100, n_null = argc > 2 ? atoi(argv[2]) : 1000;
    int n_held = argc > 3 ? atoi(argv[3]) : 10000;
    char kf[2][64];
    struct oe_error err;
    struct end a = {0}, b = {0};
    for (int i = 0; i < 2; i++) {
        struct dnskeys_pubkey pub;
        snprintf(kf[i], sizeof(kf[i]), "/tmp/ike-bench-%d-%d.pem", (int)getpid(), i);
        if (dnskeys_hostkey_generate(kf[i], 3072, &pub, &err) != 0) {
            fprintf(stderr, "ike_bench: %s\n", err.msg);
            return 1;
        }
        dnskeys_key_free(&pub);
    }
    if (setup(&a, kf[0], "192.0.2.1") != 0 || setup(&b, kf[1], "192.0.2.2") != 0)
        return 1;
    unlink(kf[0]);
    unlink(kf[1]);
    a.peer = (struct ike_pubkey){dnskeys_hostkey_public(b.hk)->rfc3110, dnskeys_hostkey_public(b.hk)->len};
    b.peer = (struct ike_pubkey){dnskeys_hostkey_public(a.hk)->rfc3110, dnskeys_hostkey_public(a.hk)->len};

    double t = handshakes(&a, &b, IKE_AUTHBY_RSASIG, n_rsa, false);
    printf("IKE SA + Child SA, RSA 3072 (RFC 7427 PSS), ECP-256, AES-GCM: %d handshakes in %.2f s = %.0f/s "
           "(both ends on one core: %.2f ms each)\n",
           n_rsa, t, n_rsa / t, 1000 * t / n_rsa);
    t = handshakes(&a, &b, IKE_AUTHBY_NULL, n_null, false);
    printf("IKE SA + Child SA, NULL auth, ECP-256, AES-GCM:            %d handshakes in %.2f s = %.0f/s "
           "(%.3f ms each)\n",
           n_null, t, n_null / t, 1000 * t / n_null);
    long before = rss_kib();
    t = handshakes(&a, &b, IKE_AUTHBY_NULL, n_held, true);
    long after = rss_kib();
    /* the responder keeps one: each new IKE SA says INITIAL_CONTACT, which retires the one before */
    printf("%d established IKE SAs (with Child SA) held by the initiator: RSS grew %ld KiB = %.1f KiB each\n",
           (int)ike_sa_count(a.core), after - before, (double)(after - before) / n_held);
    if (a.ups < n_rsa + n_null + n_held || b.ups < n_rsa + n_null + n_held) {
        fprintf(stderr, "ike_bench: only %d/%d of %d handshakes completed\n", a.ups, b.ups, n_rsa + n_null + n_held);
        return 1;
    }
    ike_core_free(a.core);
    ike_core_free(b.core);
    dnskeys_hostkey_free(a.hk);
    dnskeys_hostkey_free(b.hk);
    return 0;
}
