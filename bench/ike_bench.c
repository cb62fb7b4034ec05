/*
 * ike_bench: what one IKE SA costs our core, in-process (no sockets, no
 * kernel): full IKE_SA_INIT + IKE_AUTH handshakes per second with RSA
 * (3072-bit keys, as newhostkey makes) and with NULL authentication, and
 * the memory each established IKE SA (with its Child SA) holds.
 * (No libreswan figure beside it: pluto cannot run without its kernel
 * and sockets; the interop and e2e logs time real exchanges with it.)
 * Then what one event costs while 1k, 10k and 100k IKE SAs are held
 * (scale_table): it must stay flat.
 *   ike_bench [RSA_HANDSHAKES] [NULL_HANDSHAKES] [HELD_SAS]
 *   ike_bench scale [MAX_HELD]   (the per-event table alone)
 */
#include "dnskeys/dnskeys.h"
#include "oe-agent/ike/ike.h"
#include "oe-agent/ike/ike_internal.h" /* scale_table fills the SA table directly */

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

/* CPU time of this thread: the machine's other work, while it has the CPU, does not count */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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
    cfg.signer = (struct ike_signer){dnskeys_hostkey_sign, e->hk, NULL};
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

/* ---- per-event cost at 1k, 10k and 100k IKE SAs held ---- */

#define SCALE_REAL 32 /* established IKE SAs (real NULL-auth handshakes) the exchanges run on */

/* The other side's endpoint for SA i of a scale run: one host each, so no INITIAL_CONTACT or cap retires any. */
static struct ike_endpoint scale_peer(unsigned i, bool real)
{
    struct ike_endpoint e = {.port = 500};
    oe_addr_parse(real ? "2001:db8:1::" : "2001:db8:2::", &e.addr);
    for (int k = 0; k < 4; k++)
        e.addr.bytes[15 - k] = (uint8_t)(i >> (8 * k));
    return e;
}

/*
 * One IKE SA held without its handshake (the DH of 100k of them would be the
 * whole run): what a responder keeps once it has answered an IKE_SA_INIT
 * (SA_INIT_DONE, its answer kept for retransmissions), or an initiator that
 * has sent one (SA_INIT_SENT). Neither counts as half-open: the real
 * handshakes beside them must not meet the cookie or half-open limits.
 */
static struct ike_sa *hold(struct ike_core *core, const struct ike_endpoint *local, unsigned i, bool initiator)
{
    struct ike_sa *sa = ike_sa_new(core, initiator);
    if (sa == NULL)
        return NULL;
    sa->local = *local;
    sa->remote = scale_peer(i, false);
    sa->local_host = sa->local.addr;
    sa->remote_host = sa->remote.addr;
    if (initiator) {
        sa->state = SA_INIT_SENT;
    } else {
        sa->spi_i = (uint64_t)i * 0x9e3779b97f4a7c15ull | 1; /* the peer's pick */
        sa->state = SA_INIT_DONE;
        sa->have_resp = true;
        sa->peer_msgid = 1;
    }
    ike_sa_index(sa);
    return sa;
}

/* Carry every datagram between the two cores (each from its action's endpoints) until quiet. */
static void pump(struct end *x, struct end *y, uint64_t now)
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
                    ike_receive(to->core, &a->remote, &a->local, a->msg, a->len, now, &to->acts);
                    moved = true;
                } else if (a->kind == IKE_ACT_NEED_KEY) {
                    ike_peer_key(from->core, a->serial, NULL, true, &from->acts);
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

static void drop_actions(struct end *e)
{
    ike_actions_clear(&e->acts);
}

static uint64_t scale_rand(uint64_t *s)
{
    /* splitmix64: which SA each event is for, the same in every run */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* What an event for a held SA carries (its serial, its SPI, its peer): the core, not the bench, finds the SA. */
struct held {
    unsigned serial;
    uint64_t spi_i;
    struct ike_endpoint remote;
};

static struct held held_of(const struct ike_sa *sa)
{
    return (struct held){sa->serial, sa->spi_i, sa->remote};
}

struct scale_run {
    struct end a, b;                         /* a initiated the real SAs, b answered them */
    unsigned real[SCALE_REAL];               /* a's serials of the real ones */
    struct ike_endpoint real_ep[SCALE_REAL]; /* a's end of each */
    struct held *held;                       /* b's SAs without a handshake, as the events name them */
    size_t nheld;
    uint64_t now, rng;
};

enum { EV_DPD, EV_INIT_AGAIN, EV_STRAY, EV_TIMER, EV_EXPIRE, EV_COUNT };
static const char *const ev_name[EV_COUNT] = {
    "DPD exchange on an established SA, per message",
    "IKE_SA_INIT again for a held (answered) SA",
    "message for no IKE SA (unknown SPIs)",
    "timer of a held SA (by serial)",
    "kernel expire for an unknown SPI",
};
static const unsigned ev_messages[EV_COUNT] = {2, 1, 1, 1, 1};

static int scale_setup(struct scale_run *r, size_t total)
{
    struct ike_config cfg;
    struct oe_error err;
    ike_config_defaults(&cfg);
    cfg.cookie_threshold = cfg.max_half_open = cfg.max_half_open_per_source = 1u << 30;
    cfg.dpd_delay_s = 10; /* the exchange run on the established SAs: a liveness check */
    memset(r, 0, sizeof(*r));
    r->a.core = ike_core_new(&cfg, &err);
    r->b.core = ike_core_new(&cfg, &err);
    if (r->a.core == NULL || r->b.core == NULL) {
        fprintf(stderr, "ike_bench: %s\n", err.msg);
        return -1;
    }
    oe_addr_parse("2001:db8::1", &r->b.ep.addr);
    r->b.ep.port = 500;
    r->rng = 1;
    size_t nheld = total > SCALE_REAL ? total - SCALE_REAL : 0;
    r->held = calloc(nheld ? nheld : 1, sizeof(*r->held));
    struct ike_endpoint a_ep = scale_peer(0xffffffffu, true);
    /* half the held SAs before the real ones, half after: a walk of the table meets them midway */
    for (size_t i = 0; i < nheld / 2; i++) {
        struct ike_sa *sa = hold(r->b.core, &r->b.ep, (unsigned)i, false);
        if (sa == NULL || hold(r->a.core, &a_ep, (unsigned)i, true) == NULL)
            goto nomem;
        r->held[r->nheld++] = held_of(sa);
    }
    for (unsigned i = 0; i < SCALE_REAL; i++) {
        r->real_ep[i] = scale_peer(i, true);
        struct ike_initiate req = {.local = r->real_ep[i],
                                   .remote = r->b.ep,
                                   .local_host = r->real_ep[i].addr,
                                   .remote_host = r->b.ep.addr,
                                   .auth = IKE_AUTHBY_NULL};
        r->real[i] = ike_initiate(r->a.core, &req, r->now, &r->a.acts);
        pump(&r->a, &r->b, r->now);
    }
    for (size_t i = nheld / 2; i < nheld; i++) {
        struct ike_sa *sa = hold(r->b.core, &r->b.ep, (unsigned)i, false);
        if (sa == NULL || hold(r->a.core, &a_ep, (unsigned)i, true) == NULL)
            goto nomem;
        r->held[r->nheld++] = held_of(sa);
    }
    if (r->a.ups != SCALE_REAL || r->b.ups != SCALE_REAL) {
        fprintf(stderr, "ike_bench: only %d/%d of %d handshakes completed\n", r->a.ups, r->b.ups, SCALE_REAL);
        return -1;
    }
    return 0;
nomem:
    fprintf(stderr, "ike_bench: out of memory holding %zu IKE SAs\n", total);
    return -1;
}

/* One event of kind ev; each is for another SA, chosen at random. */
static void scale_event(struct scale_run *r, int ev)
{
    uint64_t x = scale_rand(&r->rng);
    const struct held *held = r->nheld ? &r->held[x % r->nheld] : NULL;
    uint8_t msg[IKE_HDR_LEN];
    struct ike_builder mb = {0};
    struct ike_header h = {.exchange = IKE_INFORMATIONAL, .flags = IKE_FLAG_I, .spi_i = x | 1, .spi_r = x >> 1 | 1};
    switch (ev) {
    case EV_DPD: {
        /* the SA's liveness check is due: timer, request to b, answer back to a */
        unsigned i = (unsigned)(x % SCALE_REAL);
        r->now += 10001;
        ike_timer(r->a.core, r->real[i], r->now, &r->a.acts);
        pump(&r->a, &r->b, r->now);
        return;
    }
    case EV_INIT_AGAIN:
        if (held == NULL)
            return;
        h = (struct ike_header){.spi_i = held->spi_i, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_I};
        /* fall through */
    case EV_STRAY:
        ikeb_header(&mb, &h);
        ikeb_finish(&mb);
        memcpy(msg, mb.b.p, sizeof(msg));
        wbuf_free(&mb.b);
        {
            struct ike_endpoint from = held ? held->remote : scale_peer(0, false);
            ike_receive(r->b.core, &r->b.ep, &from, msg, sizeof(msg), r->now, &r->b.acts);
        }
        break;
    case EV_TIMER:
        if (held)
            ike_timer(r->b.core, held->serial, r->now, &r->b.acts);
        break;
    case EV_EXPIRE: ike_child_expired(r->b.core, (uint32_t)x | 1, &r->b.ep.addr, false, r->now, &r->b.acts); break;
    }
    drop_actions(&r->b);
}

/*
 * ns per message (or event) of kind ev, in CPU time: the least of 5 rounds of as many as
 * fit in about 20 ms (8 at least), so that others' work on the machine counts as little as can be
 */
static double scale_time(struct scale_run *r, int ev)
{
    double best = 0;
    for (int round = 0; round < 5; round++) {
        unsigned n = 0, batch = 8;
        double t0 = cpu_s(), t = 0;
        while (t < 0.02) {
            for (unsigned i = 0; i < batch; i++)
                scale_event(r, ev);
            n += batch;
            batch *= 2;
            t = cpu_s() - t0;
        }
        double ns = t * 1e9 / ((double)n * ev_messages[ev]);
        if (round == 0 || ns < best)
            best = ns;
    }
    return best;
}

static void scale_free(struct scale_run *r)
{
    drop_actions(&r->a);
    drop_actions(&r->b);
    free(r->a.acts.v);
    free(r->b.acts.v);
    ike_core_free(r->a.core);
    ike_core_free(r->b.core);
    free(r->held);
}

/* The longest chain of an index: the most SAs a lookup in it meets (the list was every SA). */
static size_t longest_chain(const struct oe_htab *t)
{
    size_t most = 0;
    for (size_t i = 0; t->b && i <= t->mask; i++) {
        size_t n = 0;
        for (const struct oe_hnode *node = t->b[i]; node; node = node->next)
            n++;
        most = n > most ? n : most;
    }
    return most;
}

static int scale_table(size_t max_held)
{
    size_t sizes[3] = {max_held / 100, max_held / 10, max_held}, chain[3][2];
    double ns[3][EV_COUNT];
    for (int s = 0; s < 3; s++) {
        struct scale_run r;
        double t0 = now_s();
        if (scale_setup(&r, sizes[s]) != 0)
            return -1;
        double filled = now_s() - t0;
        chain[s][0] = longest_chain(&r.b.core->ix[IKE_IX_SERIAL]);
        chain[s][1] = longest_chain(&r.b.core->ix[IKE_IX_SPI]);
        for (int ev = 0; ev < EV_COUNT; ev++)
            ns[s][ev] = scale_time(&r, ev);
        fprintf(stderr, "ike_bench: %zu IKE SAs held each side (%zu in the table), filled in %.2f s\n", sizes[s],
                ike_sa_count(r.b.core), filled);
        scale_free(&r);
    }
    printf("\nper event, with N IKE SAs held by each core (in-process, no sockets; %d of them established by real "
           "NULL-auth handshakes, the rest held without one); ns of CPU time\n",
           SCALE_REAL);
    char ratio[32];
    snprintf(ratio, sizeof(ratio), "%zu/%zu", sizes[2], sizes[0]);
    printf("%-48s %10zu %10zu %10zu %12s\n", "event", sizes[0], sizes[1], sizes[2], ratio);
    for (int ev = 0; ev < EV_COUNT; ev++)
        printf("%-48s %10.0f %10.0f %10.0f %11.2fx\n", ev_name[ev], ns[0][ev], ns[1][ev], ns[2][ev],
               ns[2][ev] / ns[0][ev]);
    char c[3][16];
    for (int k = 0; k < 3; k++)
        snprintf(c[k], sizeof(c[k]), "%zu / %zu", chain[k][0], chain[k][1]);
    printf("%-48s %10s %10s %10s\n", "longest hash chain, serial / SPI index (SAs)", c[0], c[1], c[2]);
    /* what a lookup in a hash table still pays for more SAs: its SA and buckets no longer in the CPU's caches */
    printf("(an IKE SA is %zu octets: %zu of them, each side, are %.0f MB, past the CPU caches; a few misses to "
           "memory per event are what may still grow)\n",
           sizeof(struct ike_sa), sizes[2], (double)sizes[2] * sizeof(struct ike_sa) / 1e6);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "scale") == 0)
        return scale_table(argc > 2 ? (size_t)atol(argv[2]) : 100000) == 0 ? 0 : 1;
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
    return scale_table(100000) == 0 ? 0 : 1;
}
