/*
 * hs_load: the load generator of bench/handshakes.sh (issue 14). Our IKE core
 * as an initiator library, with real UDP sockets (ike_io) on many local
 * addresses and the in-memory fake kernel (the load installs no ESP SAs):
 * full IKE_SA_INIT + IKE_AUTH + Child SA handshakes to one responder, each
 * from the next source address, a fixed number in flight at once, counting
 * the Child SAs that come up per second.
 *
 *   hs_load --to ADDR --from FIRST --count N [--auth null|rsasig]
 *           [--key-file F] [--peer-key 0sKEY] [--window W] [--seconds S]
 *           [--handshakes H] [--per-prefix LEN] [--label L] [--log FILE]
 *
 * Sources are FIRST, FIRST+1, ... (N addresses, each on an interface of
 * this namespace, or with --per-prefix LEN each in its own /LEN: FIRST, then
 * FIRST plus one at the last bit of the /LEN, ...: for IPv6 with 64, each
 * source a host of another site, as a responder's per-/64 limits see it);
 * each is used once until all are, so H <= N gives H
 * tunnels held by the responder at the end (they are not deleted). It stops
 * after H handshakes have ended (up or failed) or S seconds.
 *
 * Cheap on purpose, since it is the load and not what is measured: one
 * ECP-256 key pair for all its handshakes (the responder still makes its own
 * for each and derives g^ir with the generator's value; the generator derives
 * g^ir once per responder value, as it must). With RSA it signs each of
 * its AUTHs and verifies the responder's (a public-key operation, cheap
 * beside the responder's private one). Its own CPU time is printed beside
 * the rate: it must stay under what the responder spends.
 */

#include "dnskeys/dnskeys.h"
#include "oe-agent/ike_io.h"
#include "oe-agent/log.h"

#include <dlfcn.h>
#include <getopt.h>
#include <keyhi.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct load {
    struct ike_io *io;
    struct ike_core *core;
    struct oe_addr to, *from;
    size_t nfrom, next;
    enum ike_authby auth;
    struct dnskeys_pubkey peer_key;
    bool have_key;
    unsigned window, inflight;
    unsigned long started, up, failed, retired, limit;
    double t_first_up, t_last_up;
    unsigned long per_second[3600];
    uint8_t *was_up; /* by serial: this IKE SA came up (its DOWN is not a failure) */
    size_t nwas_up;
    double t0;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/*
 * The generator's one DH key pair: the core asks NSS for a fresh ECP key per
 * IKE SA; this program answers with copies of one key pair (a copy of the
 * PKCS#11 object, which the core destroys with its IKE SA as usual).
 */
static SECKEYPrivateKey *dh_priv;
static SECKEYPublicKey *dh_pub;
SECKEYPrivateKey *SECKEY_CreateECPrivateKey(SECKEYECParams *param, SECKEYPublicKey **pubk, void *cx)
{
    static SECKEYPrivateKey *(*real)(SECKEYECParams *, SECKEYPublicKey **, void *);
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "SECKEY_CreateECPrivateKey");
    if (dh_priv == NULL) {
        dh_priv = real(param, &dh_pub, cx);
        if (dh_priv == NULL)
            return NULL;
    }
    SECKEYPrivateKey *k = SECKEY_CopyPrivateKey(dh_priv);
    *pubk = SECKEY_CopyPublicKey(dh_pub);
    return k;
}

static void start_more(struct load *l)
{
    while (l->inflight < l->window && l->started < l->limit) {
        const struct oe_addr *src = &l->from[l->next];
        l->next = (l->next + 1) % l->nfrom;
        struct ike_initiate req = {
            .local = {*src, 500}, .remote = {l->to, 500}, .local_host = *src, .remote_host = l->to, .auth = l->auth};
        if (l->have_key)
            req.peer_key = (struct ike_pubkey){l->peer_key.rfc3110, l->peer_key.len};
        ike_initiate(l->core, &req, ike_io_now(), ike_io_actions(l->io));
        l->started++;
        l->inflight++;
    }
    ike_io_apply(l->io, ike_io_actions(l->io));
}

static void on_up(void *arg, const struct ike_action *a)
{
    struct load *l = arg;
    double t = now_s();
    if (l->up == 0)
        l->t_first_up = t;
    l->t_last_up = t;
    size_t sec = (size_t)(t - l->t0);
    if (sec < sizeof(l->per_second) / sizeof(l->per_second[0]))
        l->per_second[sec]++;
    l->up++;
    l->inflight--;
    if (a->serial >= l->nwas_up) {
        size_t n = (size_t)a->serial * 2 + 64;
        uint8_t *v = realloc(l->was_up, n);
        if (v == NULL)
            return;
        memset(v + l->nwas_up, 0, n - l->nwas_up);
        l->was_up = v;
        l->nwas_up = n;
    }
    l->was_up[a->serial] = 1;
}

static void on_down(void *arg, const struct ike_action *a)
{
    struct load *l = arg;
    /* a DOWN of an SA that was up is not one in flight (the responder deleted a tunnel) */
    if (a->serial < l->nwas_up && l->was_up[a->serial]) {
        l->retired++;
    } else if (l->inflight > 0) {
        l->failed++;
        l->inflight--;
        if (l->failed <= 5)
            fprintf(stderr, "hs_load: #%u failed: %s\n", a->serial, a->text);
    }
}

static void on_need_key(void *arg, const struct ike_action *a)
{
    struct load *l = arg;
    struct ike_pubkey k = {l->peer_key.rfc3110, l->peer_key.len};
    ike_peer_key(l->core, a->serial, l->have_key ? &k : NULL, true, ike_io_actions(l->io));
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"to", required_argument, 0, 't'},
                                         {"from", required_argument, 0, 'f'},
                                         {"count", required_argument, 0, 'n'},
                                         {"auth", required_argument, 0, 'a'},
                                         {"key-file", required_argument, 0, 'k'},
                                         {"peer-key", required_argument, 0, 'p'},
                                         {"window", required_argument, 0, 'w'},
                                         {"seconds", required_argument, 0, 's'},
                                         {"handshakes", required_argument, 0, 'H'},
                                         {"label", required_argument, 0, 'L'},
                                         {"log", required_argument, 0, 'l'},
                                         {"per-prefix", required_argument, 0, 'P'},
                                         {0, 0, 0, 0}};
    struct load l;
    struct oe_error err;
    struct oe_addr first = {0};
    const char *keyfile = NULL, *label = "load", *log = "/dev/null";
    double seconds = 60;
    int c, per_prefix = 0;
    memset(&l, 0, sizeof(l));
    l.auth = IKE_AUTHBY_NULL;
    l.window = 8;
    l.nfrom = 1;
    l.limit = 1000;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (oe_addr_parse(optarg, &l.to) != 0)
                goto usage;
            break;
        case 'f':
            if (oe_addr_parse(optarg, &first) != 0)
                goto usage;
            break;
        case 'n': l.nfrom = (size_t)atol(optarg); break;
        case 'a': l.auth = strcmp(optarg, "null") == 0 ? IKE_AUTHBY_NULL : IKE_AUTHBY_RSASIG; break;
        case 'k': keyfile = optarg; break;
        case 'p':
            if (dnskeys_key_from_text(optarg, 1024, &l.peer_key, &err) != 0) {
                fprintf(stderr, "hs_load: --peer-key: %s\n", err.msg);
                return 2;
            }
            l.have_key = true;
            break;
        case 'w': l.window = (unsigned)atoi(optarg); break;
        case 's': seconds = atof(optarg); break;
        case 'H': l.limit = (unsigned long)atol(optarg); break;
        case 'L': label = optarg; break;
        case 'l': log = optarg; break;
        case 'P': per_prefix = atoi(optarg); break;
        default: goto usage;
        }
    }
    if (!l.to.family || !first.family || l.nfrom == 0 || l.window == 0)
        goto usage;
    int bits = first.family == AF_INET ? 32 : 128;
    if (per_prefix == 0)
        per_prefix = bits;
    if (per_prefix < 8 || per_prefix > bits || per_prefix % 8 != 0) {
        fprintf(stderr, "hs_load: --per-prefix must be a multiple of 8 up to %d\n", bits);
        return 2;
    }
    l.from = calloc(l.nfrom, sizeof(*l.from));
    for (size_t i = 0; i < l.nfrom; i++) {
        l.from[i] = first;
        unsigned carry = (unsigned)i;
        for (int b = per_prefix / 8 - 1; b >= 0 && carry; b--) {
            carry += l.from[i].bytes[b];
            l.from[i].bytes[b] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    oe_log_open(log, &err);
    struct ike_config cfg;
    ike_config_defaults(&cfg);
    cfg.retransmit_ms = 10000; /* a busy responder's queue is not a lost packet */
    cfg.dpd_delay_s = 0;
    struct dnskeys_hostkey *hk = NULL;
    if (keyfile && dnskeys_hostkey_load(keyfile, &hk, &err) != 0) {
        fprintf(stderr, "hs_load: %s\n", err.msg);
        return 1;
    }
    if (hk)
        cfg.signer = (struct ike_signer){dnskeys_hostkey_sign, hk, NULL};
    l.core = ike_core_new(&cfg, &err);
    struct kernel *k = l.core ? kernel_fake_new() : NULL;
    struct ike_io_hooks hooks = {.up = on_up, .down = on_down, .need_key = on_need_key, .arg = &l};
    l.io = k ? ike_io_new(l.core, k, l.from, l.nfrom, 500, &hooks, &err) : NULL;
    if (l.io == NULL) {
        fprintf(stderr, "hs_load: %s\n", l.core ? err.msg : "no IKE core");
        return 1;
    }
    int fd;
    ike_io_fds(l.io, &fd, 1);
    l.t0 = now_s();
    double c0 = cpu_s(), end = l.t0 + seconds;
    start_more(&l);
    while (now_s() < end && l.up + l.failed < l.limit) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int t = ike_io_timeout(l.io);
        if (t < 0 || t > 100)
            t = 100;
        if (poll(&p, 1, t) > 0)
            ike_io_readable(l.io, fd);
        ike_io_tick(l.io);
        start_more(&l);
    }
    double t1 = now_s(), cpu = cpu_s() - c0, wall = t1 - l.t0;
    /* the rate between the first and the last Child SA: the window's ramp-up does not count */
    double span = l.t_last_up - l.t_first_up;
    double rate = l.up > 1 && span > 0 ? (double)(l.up - 1) / span : 0;
    printf("hs_load %s: %lu started, %lu up, %lu failed, %lu torn down after, in %.2f s (window %u, %zu sources); "
           "rate=%.2f/s "
           "(first to last Child SA, %.2f s); cpu=%.2f s (%.0f%% of one core)\n",
           label, l.started, l.up, l.failed, l.retired, wall, l.window, l.nfrom, rate, span, cpu, 100 * cpu / wall);
    printf("hs_load %s: Child SAs per second:", label);
    for (size_t s = 0; s <= (size_t)wall && s < sizeof(l.per_second) / sizeof(l.per_second[0]); s++)
        printf(" %lu", l.per_second[s]);
    printf("\n");
    fflush(stdout);
    /* the tunnels stay: exit without deleting them (the responder keeps its end) */
    _exit(l.up > 0 ? 0 : 1);
usage:
    fprintf(stderr, "usage: hs_load --to ADDR --from FIRST --count N [--auth null|rsasig] [--key-file F]\n"
                    "               [--peer-key 0sKEY] [--window W] [--seconds S] [--handshakes H] [--label L]\n"
                    "               [--log FILE] [--per-prefix LEN]\n");
    return 2;
}
