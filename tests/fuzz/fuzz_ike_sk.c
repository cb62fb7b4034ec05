/*
 * libFuzzer: DECRYPTED IKE messages through both state machines.
 *
 * fuzz_ike stops where the SK payload's integrity check fails. Here two
 * cores, A (initiator, 192.0.2.1) and B (responder, 192.0.2.2), with seeded
 * randomness (struct ike_env), MODP group 14 only and NULL authentication,
 * reach the same state with the same keys on every run. The fuzz input is
 * the plaintext of one message, encrypted with the sender's real keys
 * (white box: ike_encrypt), so the parser, the handlers and every state
 * after them see it as the peer's authentic word.
 *
 * Input: [selector][first payload type][payload chain ...]
 *   selector & 7:        the message (enum kind below)
 *   selector & 8:        B sends it (else A); IKE_AUTH ignores this: its
 *                        request goes A->B, its response B->A
 *   (selector >> 4) & 3: which request of ours a response answers (variant)
 *   selector & 0x40:     AES-CBC with HMAC-SHA2 instead of AES-GCM, both ends
 *
 * Everything is made and freed per input: no state is shared between runs,
 * so a crash reproduces from its input alone and ASan/LSan see every leak.
 *
 * OE_FUZZ_SEEDS=DIR build-fuzz/fuzz_ike_sk writes the seed corpus to DIR
 * and exits: the real plaintexts of the same scenarios, captured as they
 * go by (decrypted with the receiver's keys), so each one is accepted.
 * OE_FUZZ_VERBOSE=1 prints the cores' log lines while an input runs.
 */
#include "oe-agent/ike/ike.h"
#include "tests/lib/seeded_random.h"
#include "oe-agent/ike/ike_internal.h"
#include "oe-agent/ike/ike_msg.h"

#include <pk11pub.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { AUTH_REQ, AUTH_RESP, CHILD_REQ, CHILD_RESP, INFO_REQ, INFO_RESP, NKINDS };
/* CHILD_RESP answers a Child SA rekey or an IKE SA rekey; INFO_RESP a liveness check,
 * the Delete of the old Child SA after a rekey, or the Delete of the old IKE SA */
static const unsigned nvariants[NKINDS] = {1, 1, 1, 2, 1, 3};
enum { V_CHILD_REKEY, V_IKE_REKEY };
enum { V_LIVENESS, V_RETIRE_CHILD, V_RETIRE_IKE };

/* What the selector octet asks for. */
struct scene {
    unsigned kind, variant;
    bool from_b, cbc;
};

static struct scene scene_of(uint8_t sel)
{
    unsigned kind = sel & 7; /* the caller refuses kind >= NKINDS */
    return (struct scene){kind, kind < NKINDS ? (sel >> 4 & 3) % nvariants[kind] : 0, sel & 8, sel & 0x40};
}

static uint8_t selector(const struct scene *s)
{
    bool auth = s->kind == AUTH_REQ || s->kind == AUTH_RESP; /* their direction is fixed */
    return (uint8_t)(s->kind | (s->from_b && !auth ? 8 : 0) | s->variant << 4 | (s->cbc ? 0x40 : 0));
}

#define MAX_ROUNDS 24 /* message rounds per pump: a rekey and its Deletes need fewer */
#define MAX_TIMERS 32 /* per end */
#define MAX_FIRINGS 8 /* timer expiries after the fuzzed message: retransmits, expiry, a rekey */

struct timer {
    unsigned serial;
    uint64_t at;
};

struct end {
    struct ike_core *core;
    struct ike_endpoint ep;
    struct ike_actions acts;
    struct seeded rng;
    struct timer timers[MAX_TIMERS];
    size_t ntimers;
};

struct pair {
    struct end a, b;
    uint64_t now;
    int deliver; /* datagrams still carried before the rest are dropped; -1: all */
};

/* ---- seed capture (OE_FUZZ_SEEDS) ---- */

static const char *seed_dir;
static bool verbose;           /* OE_FUZZ_VERBOSE: the cores' log lines on stderr, to see how far an input goes */
static struct scene capturing; /* the scenario being captured */
static bool scene_answered;    /* its response slot is filled */

static void write_seed(uint8_t sel, uint8_t first, const uint8_t *p, size_t len)
{
    uint8_t *buf = malloc(len + 2), h[20];
    char path[512];
    if (buf == NULL)
        return;
    buf[0] = sel;
    buf[1] = first;
    if (len)
        memcpy(buf + 2, p, len);
    /* named by SHA-1 like libFuzzer's own files: the same seed twice is one file */
    if (PK11_HashBuf(SEC_OID_SHA1, h, buf, (PRInt32)(len + 2)) == SECSuccess) {
        int n = snprintf(path, sizeof(path), "%s/", seed_dir);
        for (int i = 0; i < 20 && n > 0 && (size_t)n < sizeof(path) - 3; i++)
            n += snprintf(path + n, sizeof(path) - (size_t)n, "%02x", h[i]);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(buf, 1, len + 2, f);
            fclose(f);
        }
    }
    free(buf);
}

static struct ike_sa *sa_with_spis(struct ike_core *core, uint64_t spi_i, uint64_t spi_r)
{
    for (struct ike_sa *sa = core->sas; sa; sa = sa->next)
        if (sa->spi_i == spi_i && sa->spi_r == spi_r)
            return sa;
    return NULL;
}

/* A datagram from -> to as it goes by: its plaintext, labelled as the harness would replay it. */
static void capture(struct end *to, bool from_b, const uint8_t *msg, size_t len)
{
    struct ike_header h;
    struct ike_payloads outer, inner;
    struct oe_error err;
    struct wbuf plain = {0};
    if (ike_parse_header(msg, len, &h, &err) != 0 || h.exchange == IKE_SA_INIT ||
        ike_parse_payloads(h.next, msg + IKE_HDR_LEN, len - IKE_HDR_LEN, IKE_HDR_LEN, &outer, &err) != 0)
        return;
    struct ike_sa *sa = sa_with_spis(to->core, h.spi_i, h.spi_r);
    bool response = h.flags & IKE_FLAG_R;
    unsigned k = h.exchange == IKE_AUTH              ? (response ? AUTH_RESP : AUTH_REQ)
                 : h.exchange == IKE_CREATE_CHILD_SA ? (response ? CHILD_RESP : CHILD_REQ)
                                                     : (response ? INFO_RESP : INFO_REQ);
    struct scene label = {k, 0, from_b, capturing.cbc};
    if (response) {
        /* a response replays only in the state its own scenario builds: the first one of that kind */
        if (k != capturing.kind || scene_answered)
            return;
        scene_answered = true;
        label.variant = capturing.variant;
    }
    if (sa && ike_decrypt(sa, msg, len, &outer, &plain, &inner, &err) == 0)
        write_seed(selector(&label), outer.sk_first, plain.p, plain.len);
    wbuf_free(&plain);
}

/* ---- the two ends ---- */

static void end_init(struct end *e, uint32_t seed, const char *addr, bool cbc)
{
    struct ike_config cfg;
    struct oe_error err;
    memset(e, 0, sizeof(*e));
    e->rng.seed = seed;
    ike_config_defaults(&cfg);
    cfg.env = (struct ike_env){seeded_random, &e->rng};
    cfg.dh_groups[0] = 14; /* ECDH keys are made inside NSS and would differ every run */
    cfg.dh_groups[1] = 0;
    if (cbc) { /* the other SK format: an HMAC over the message, padding to the block */
        cfg.ciphers[0] = IKE_CIPHER_AES_CBC;
        cfg.ciphers[1] = 0;
    }
    e->core = ike_core_new(&cfg, &err);
    if (e->core == NULL)
        abort(); /* NSS did not start: nothing here can be tested */
    oe_addr_parse(addr, &e->ep.addr);
    e->ep.port = 500;
}

static void end_free(struct end *e)
{
    ike_actions_clear(&e->acts);
    free(e->acts.v);
    ike_core_free(e->core);
}

static void add_timer(struct end *e, unsigned serial, uint64_t at)
{
    if (e->ntimers < MAX_TIMERS)
        e->timers[e->ntimers++] = (struct timer){serial, at};
}

/*
 * Carry each end's actions to the other until both are quiet, as the agent
 * would: datagrams to the peer (while p->deliver allows), key lookups
 * answered "NULL authentication is fine", timers noted for run_timers.
 */
static void pump(struct pair *p)
{
    for (int round = 0; round < MAX_ROUNDS; round++) {
        bool moved = false;
        for (int side = 0; side < 2; side++) {
            struct end *from = side ? &p->b : &p->a, *to = side ? &p->a : &p->b;
            struct ike_actions take = from->acts;
            memset(&from->acts, 0, sizeof(from->acts));
            for (size_t k = 0; k < take.n; k++) {
                struct ike_action *x = &take.v[k];
                if (x->kind == IKE_ACT_SEND && x->len > 1 && p->deliver != 0) {
                    if (p->deliver > 0)
                        p->deliver--;
                    if (seed_dir)
                        capture(to, side == 1, x->msg, x->len);
                    /* to the address it was sent to: a NAT-T float moves both ends to 4500 */
                    ike_receive(to->core, &x->remote, &x->local, x->msg, x->len, p->now, &to->acts);
                    moved = true;
                } else if (x->kind == IKE_ACT_NEED_KEY) {
                    ike_peer_key(from->core, x->serial, NULL, true, &from->acts);
                    moved = true;
                } else if (x->kind == IKE_ACT_TIMER) {
                    add_timer(from, x->serial, p->now + x->ms);
                } else if (x->kind == IKE_ACT_LOG && verbose) {
                    fprintf(stderr, "%c %llu: %s\n", side ? 'B' : 'A', (unsigned long long)p->now, x->text);
                }
            }
            ike_actions_clear(&take);
            free(take.v);
        }
        if (!moved)
            return;
    }
}

/* The earliest timers of either end, the clock jumping to each: retransmission, give-up, expiry, rekey. */
static void run_timers(struct pair *p)
{
    for (int fired = 0; fired < MAX_FIRINGS; fired++) {
        struct end *e = NULL;
        size_t at = 0;
        for (int side = 0; side < 2; side++) {
            struct end *s = side ? &p->b : &p->a;
            for (size_t i = 0; i < s->ntimers; i++)
                if (e == NULL || s->timers[i].at < e->timers[at].at) {
                    e = s;
                    at = i;
                }
        }
        if (e == NULL)
            return;
        struct timer t = e->timers[at];
        e->timers[at] = e->timers[--e->ntimers];
        if (t.at > p->now)
            p->now = t.at;
        ike_timer(e->core, t.serial, p->now, &e->acts);
        pump(p);
    }
}

/* The SA of ours still waiting for an answer (the old one, after an IKE SA rekey). */
static struct ike_sa *awaiting_sa(struct ike_core *core)
{
    for (struct ike_sa *sa = core->sas; sa; sa = sa->next)
        if (sa->awaiting)
            return sa;
    return NULL;
}

/*
 * The requester r (on its established SA) starts the exchange a response of
 * this kind answers; the datagrams that may go before that response (the
 * request, or a whole rekey and the request retiring what it replaced).
 */
static int start_request(struct pair *p, struct end *r, unsigned kind, unsigned variant)
{
    struct ike_sa *sa = r->core->sas;
    if (kind == INFO_RESP && variant == V_LIVENESS) {
        /* what the DPD timer sends (RFC 7296 2.4), without waiting dpd_delay_s for it */
        struct ike_builder empty = {0};
        if (ike_request(sa, IKE_INFORMATIONAL, &empty, &r->acts) == 0)
            sa->pending = XCHG_LIVENESS;
        return 1;
    }
    if (kind == CHILD_RESP ? variant == V_IKE_REKEY : variant == V_RETIRE_IKE)
        ike_start_ike_rekey(r->core, sa, &r->acts);
    else
        ike_child_expired(r->core, sa->child_spi_in, &sa->local.addr, false, p->now, &r->acts);
    return kind == INFO_RESP ? 3 : 1;
}

/*
 * The state the fuzzed message meets, the same every run. The message it
 * stands for went out and the peer read it, but its answer is dropped: the
 * fuzzed message takes its place, so both ends agree on everything else.
 * AUTH_REQ: A's IKE_AUTH request is dropped instead (B stays half-open).
 * With OE_FUZZ_SEEDS nothing is dropped and capture() keeps the real one.
 */
static bool setup(struct pair *p, const struct scene *sc)
{
    unsigned kind = sc->kind;
    memset(p, 0, sizeof(*p));
    end_init(&p->a, 1, "192.0.2.1", sc->cbc);
    end_init(&p->b, 2, "192.0.2.2", sc->cbc);
    struct ike_initiate req = {.local = p->a.ep,
                               .remote = p->b.ep,
                               .local_host = p->a.ep.addr,
                               .remote_host = p->b.ep.addr,
                               .auth = IKE_AUTHBY_NULL};
    if (ike_initiate(p->a.core, &req, 0, &p->a.acts) == 0)
        return false;
    bool auth = kind == AUTH_REQ || kind == AUTH_RESP;
    /* IKE_SA_INIT both ways, and for AUTH_RESP the IKE_AUTH request */
    p->deliver = seed_dir ? -1 : kind == AUTH_REQ ? 2 : kind == AUTH_RESP ? 3 : -1;
    pump(p);
    if (auth)
        return p->a.core->sas && p->a.core->sas->state == SA_AUTH_SENT;
    if (!p->a.core->sas || p->a.core->sas->state != SA_ESTABLISHED || !p->b.core->sas ||
        p->b.core->sas->state != SA_ESTABLISHED)
        return false;
    if (kind == CHILD_RESP || kind == INFO_RESP) {
        int n = start_request(p, sc->from_b ? &p->a : &p->b, kind, sc->variant);
        p->deliver = seed_dir ? -1 : n;
        pump(p);
    }
    return true;
}

/* The fuzzed plaintext, encrypted by the sender as the next message of this kind. */
static void inject(struct pair *p, const struct scene *sc, uint8_t first, const uint8_t *chain, size_t len)
{
    unsigned kind = sc->kind;
    bool from_b = kind == AUTH_REQ || kind == AUTH_RESP ? kind == AUTH_RESP : sc->from_b;
    struct end *x = from_b ? &p->b : &p->a, *y = from_b ? &p->a : &p->b;
    static const uint8_t exchange[NKINDS] = {
        IKE_AUTH, IKE_AUTH, IKE_CREATE_CHILD_SA, IKE_CREATE_CHILD_SA, IKE_INFORMATIONAL, IKE_INFORMATIONAL};
    bool response = kind == AUTH_RESP || kind == CHILD_RESP || kind == INFO_RESP;
    struct ike_sa *sa = x->core->sas;
    uint32_t msgid;
    if (kind == AUTH_REQ) {
        msgid = sa->next_msgid - 1; /* in place of the IKE_AUTH request that was dropped */
    } else if (response) {
        struct ike_sa *asker = awaiting_sa(y->core);
        if (asker == NULL || (sa = sa_with_spis(x->core, asker->spi_i, asker->spi_r)) == NULL)
            return; /* the request failed to go: nothing to answer */
        msgid = asker->next_msgid - 1;
    } else {
        msgid = sa->next_msgid++; /* a new request of the sender's */
    }
    struct ike_builder inner = {0};
    inner.first = first;
    wbuf_put(&inner.b, chain, len);
    struct wbuf m = {0};
    if (!inner.b.failed && ike_encrypt(sa, exchange[kind], msgid, response, &inner, &m) == 0)
        ike_receive(y->core, &y->ep, &x->ep, m.p, m.len, p->now, &y->acts);
    wbuf_free(&m);
    wbuf_free(&inner.b);
}

/* Whatever the input did, every SA is filed where its fields say (ike_sa_index): else a crash. */
static void index_ok(const struct ike_core *core)
{
    char why[256];
    if (core && !ike_sa_index_check(core, why, sizeof(why))) {
        fprintf(stderr, "fuzz_ike_sk: SA index: %s\n", why);
        abort();
    }
}

static void pair_free(struct pair *p)
{
    index_ok(p->a.core);
    index_ok(p->b.core);
    end_free(&p->a);
    end_free(&p->b);
}

/* OE_FUZZ_SEEDS: every scenario once with nothing dropped; capture() keeps what goes by. */
static void write_corpus(void)
{
    for (unsigned sel = 0; sel < 0x80; sel++) {
        struct scene sc = scene_of((uint8_t)sel);
        if (sc.kind >= NKINDS || selector(&sc) != sel)
            continue; /* not a scenario, or one counted under its canonical selector */
        struct pair p;
        capturing = sc;
        scene_answered = false;
        setup(&p, &sc);
        pair_free(&p);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    verbose = getenv("OE_FUZZ_VERBOSE") != NULL;
    seed_dir = getenv("OE_FUZZ_SEEDS");
    if (seed_dir) {
        write_corpus();
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || (data[0] & 7) >= NKINDS)
        return 0;
    struct scene sc = scene_of(data[0]);
    struct pair p;
    if (setup(&p, &sc)) {
        inject(&p, &sc, data[1], data + 2, size - 2);
        /* the answers, and what they start, carried both ways; then the clock runs */
        p.deliver = -1;
        pump(&p);
        run_timers(&p);
    }
    pair_free(&p);
    return 0;
}
