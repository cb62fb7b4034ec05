/* The IKE core end to end between two instances, over a fake network and clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnskeys/dnskeys.h"
#include "oe-agent/ike/ike.h"
#include "oe-agent/ike/ike_internal.h" /* white box: the rekey test plays the peer */
#include "oe-agent/ike/ike_msg.h"

struct side {
    struct ike_core *core;
    struct ike_endpoint ep;
    struct ike_actions acts;
    struct dnskeys_hostkey *hk;
    struct dnskeys_pubkey peer_key; /* what its NEED_KEY answers */
    bool allow_null, answer_keys;
    struct dnskeys_pubkey decoy; /* len: NEED_KEY answers it first, then peer_key (a rollover's two keys) */
    struct oe_addr asked_for;    /* NEED_KEY: the host the peer wants a tunnel to */
    int ups, downs, installs, deletes, policy_deletes, sends, timers, need_keys;
    int in_only;                    /* INSTALLs of an inbound SA alone (a rekey's responder) */
    uint32_t kin[16], kout[16];     /* the SPIs the kernel would hold, after INSTALLs and DELETEs */
    int nkin, nkout, kernel_errors; /* kernel_errors: SPIs added twice or deleted while absent */
    struct ike_child_sa child;
    int moves;                   /* UPDATE_ENDPOINTS of the current pair (not sas_only) */
    struct ike_action last_move; /* the last of them */
    char last_down[300];
    uint32_t last_note; /* UP's note: what NEED_KEY's answer noted (ike_peer_note) */
    unsigned serial;
    bool verbose;
    char log[16384]; /* every LOG line, one a line (cut when full) */
};

struct net {
    struct side a, b;
    /* one datagram in flight each way, or dropped on purpose */
    uint8_t *pkt[16];
    size_t len[16];
    int to[16];                                 /* 0: a, 1: b */
    struct ike_endpoint from_ep[16], to_ep[16]; /* as the sender addressed it */
    size_t n;
    bool nat;                            /* A sits behind a NAT: B sees it as 203.0.113.9, ports + 30000 */
    const char *nat_addr;                /* the NAT's public address when not 203.0.113.9 */
    int nat_shift;                       /* its ports: A's + this; 0: 30000 (a new mapping changes it) */
    int keepalives;                      /* NAT keepalives A or B sent */
    int lost_collisions, won_collisions; /* Child SA rekey collisions, as logged */
    int drop_next;                       /* drop this many datagrams */
    bool drop_auth;                      /* drop A's IKE_AUTH requests: the test sends its own */
    int corrupt_next;                    /* flip a byte in this many */
    uint64_t now;                        /* ms: the time pump delivers datagrams at */
};

static char keyfile[2][64];

/* A key from DNS as the core takes it. */
static struct ike_pubkey key_of(const struct dnskeys_pubkey *k)
{
    return (struct ike_pubkey){k->rfc3110, k->len};
}

static int group_setup(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        snprintf(keyfile[i], sizeof(keyfile[i]), "/tmp/oe-ike-core-%d-%d.pem", (int)getpid(), i);
        struct dnskeys_pubkey pub;
        struct oe_error err;
        unlink(keyfile[i]);
        if (dnskeys_hostkey_generate(keyfile[i], 2048, &pub, &err) != 0)
            return -1;
        dnskeys_key_free(&pub);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(keyfile[0]);
    unlink(keyfile[1]);
    return 0;
}

static void (*tune)(int side, struct ike_config *cfg); /* a test's own settings */

static void side_init(struct side *s, int i, const char *addr)
{
    struct ike_config cfg;
    struct oe_error err;
    memset(s, 0, sizeof(*s));
    assert_int_equal(dnskeys_hostkey_load(keyfile[i], &s->hk, &err), 0);
    ike_config_defaults(&cfg);
    cfg.signer = (struct ike_signer){dnskeys_hostkey_sign, s->hk, NULL};
    if (tune)
        tune(i, &cfg);
    s->core = ike_core_new(&cfg, &err);
    assert_non_null(s->core);
    oe_addr_parse(addr, &s->ep.addr);
    s->ep.port = 500;
    s->answer_keys = true;
}

/* Every SA filed where its fields say: a change the core made without ike_sa_index fails here. */
static void index_ok(const struct ike_core *core)
{
    char why[256];
    if (!ike_sa_index_check(core, why, sizeof(why)))
        fail_msg("SA index: %s", why);
}

static void side_free(struct side *s)
{
    ike_actions_clear(&s->acts);
    free(s->acts.v);
    ike_core_free(s->core);
    dnskeys_hostkey_free(s->hk);
    dnskeys_key_free(&s->peer_key);
    dnskeys_key_free(&s->decoy);
}

static int setup(void **state)
{
    struct net *n = calloc(1, sizeof(*n));
    side_init(&n->a, 0, "192.0.2.1");
    side_init(&n->b, 1, "192.0.2.2");
    dnskeys_key_copy(dnskeys_hostkey_public(n->b.hk), &n->a.peer_key);
    dnskeys_key_copy(dnskeys_hostkey_public(n->a.hk), &n->b.peer_key);
    *state = n;
    return 0;
}

static int teardown(void **state)
{
    struct net *n = *state;
    tune = NULL;
    index_ok(n->a.core);
    index_ok(n->b.core);
    side_free(&n->a);
    side_free(&n->b);
    for (size_t i = 0; i < n->n; i++)
        free(n->pkt[i]);
    free(n);
    return 0;
}

/* The pair the kernel would hold: a rekey's responder installs the new inbound SA
 * first and the outbound SA later; installs counts pairs complete. */
static void kernel_spi(struct side *s, uint32_t *v, int *n, uint32_t spi, bool add)
{
    if (spi == 0)
        return;
    for (int i = 0; i < *n; i++) {
        if (v[i] == spi) {
            if (add)
                s->kernel_errors++;
            else
                v[i] = v[--*n];
            return;
        }
    }
    if (add && *n < 16)
        v[(*n)++] = spi;
    else
        s->kernel_errors++;
}

static void take_install(struct side *s, const struct ike_child_sa *c)
{
    kernel_spi(s, s->kin, &s->nkin, c->spi_in, true);
    kernel_spi(s, s->kout, &s->nkout, c->spi_out, true);
    if (c->spi_in && c->spi_out) {
        s->child = *c;
    } else if (c->spi_in) {
        struct ike_child_sa prev = s->child;
        s->child = *c;
        s->child.spi_out = prev.spi_out;
        memcpy(s->child.key_out, prev.key_out, sizeof(prev.key_out));
        memcpy(s->child.integ_out, prev.integ_out, sizeof(prev.integ_out));
        s->in_only++;
        return;
    } else {
        s->child.spi_out = c->spi_out;
        memcpy(s->child.key_out, c->key_out, sizeof(c->key_out));
        memcpy(s->child.integ_out, c->integ_out, sizeof(c->integ_out));
    }
    s->installs++;
}

/* Carry out a side's actions: datagrams go to the network queue. */
static void run(struct net *n, struct side *s)
{
    int to = s == &n->a ? 1 : 0;
    index_ok(s->core);
    for (size_t i = 0; i < s->acts.n; i++) {
        struct ike_action *a = &s->acts.v[i];
        if (s->verbose && a->kind == IKE_ACT_LOG)
            printf("  %s #%u: %s\n", s == &n->a ? "A" : "B", a->serial, a->text);
        switch (a->kind) {
        case IKE_ACT_SEND:
            if (a->len == 1 && a->msg[0] == IKE_NATT_KEEPALIVE) {
                n->keepalives++;
                break;
            }
            s->sends++;
            if (n->drop_auth && to == 1 && a->len > 19 && a->msg[18] == IKE_AUTH && !(a->msg[19] & 0x20))
                break;
            if (n->drop_next > 0) {
                n->drop_next--;
                break;
            }
            assert_true(n->n < 16);
            n->pkt[n->n] = malloc(a->len);
            memcpy(n->pkt[n->n], a->msg, a->len);
            if (n->corrupt_next > 0) {
                n->corrupt_next--;
                n->pkt[n->n][a->len - 3] ^= 0x40;
            }
            n->len[n->n] = a->len;
            n->from_ep[n->n] = a->local;
            n->to_ep[n->n] = a->remote;
            n->to[n->n++] = to;
            break;
        case IKE_ACT_TIMER: s->timers++; break;
        case IKE_ACT_INSTALL: take_install(s, &a->child); break;
        case IKE_ACT_DELETE:
            s->deletes++;
            s->policy_deletes += !a->child.sas_only;
            kernel_spi(s, s->kin, &s->nkin, a->child.spi_in, false);
            kernel_spi(s, s->kout, &s->nkout, a->child.spi_out, false);
            break;
        case IKE_ACT_UP:
            s->ups++;
            s->last_note = a->note;
            break;
        case IKE_ACT_DOWN:
            s->downs++;
            snprintf(s->last_down, sizeof(s->last_down), "%s", a->text);
            break;
        case IKE_ACT_NEED_KEY:
            s->need_keys++;
            s->asked_for = a->child.remote_host;
            break;
        case IKE_ACT_REKEYED: break;
        case IKE_ACT_UPDATE_ENDPOINTS:
            if (!a->child.sas_only) {
                s->moves++;
                s->last_move = *a;
            }
            break;
        case IKE_ACT_LOG: {
            size_t used = strlen(s->log);
            snprintf(s->log + used, sizeof(s->log) - used, "%s\n", a->text);
        }
            n->lost_collisions += strstr(a->text, "our new Child SA") != NULL;
            n->won_collisions += strstr(a->text, "the peer's new Child SA") != NULL;
            break;
        }
    }
}

/* Deliver queued datagrams and answer NEED_KEY until quiet. */
static void pump(struct net *n)
{
    for (int round = 0; round < 20; round++) {
        run(n, &n->a);
        run(n, &n->b);
        unsigned need_a = 0, need_b = 0;
        for (size_t i = 0; i < n->a.acts.n; i++)
            if (n->a.acts.v[i].kind == IKE_ACT_NEED_KEY)
                need_a = n->a.acts.v[i].serial;
        for (size_t i = 0; i < n->b.acts.n; i++)
            if (n->b.acts.v[i].kind == IKE_ACT_NEED_KEY)
                need_b = n->b.acts.v[i].serial;
        ike_actions_clear(&n->a.acts);
        ike_actions_clear(&n->b.acts);
        struct ike_pubkey ka = key_of(&n->a.peer_key), kb = key_of(&n->b.peer_key);
        if (need_a)
            ike_peer_key(n->a.core, need_a, n->a.answer_keys ? &ka : NULL, n->a.allow_null, &n->a.acts);
        if (need_b) {
            ike_peer_note(n->b.core, need_b, 1000 + need_b);
            struct ike_pubkey two[2] = {key_of(&n->b.decoy), kb};
            if (n->b.decoy.len)
                ike_peer_keys(n->b.core, need_b, two, 2, n->b.allow_null, &n->b.acts);
            else
                ike_peer_key(n->b.core, need_b, n->b.answer_keys ? &kb : NULL, n->b.allow_null, &n->b.acts);
        }
        if (n->n == 0 && !need_a && !need_b)
            return;
        size_t count = n->n;
        uint8_t *pkt[16];
        size_t len[16];
        int to[16];
        struct ike_endpoint from_ep[16], to_ep[16];
        memcpy(pkt, n->pkt, sizeof(pkt));
        memcpy(len, n->len, sizeof(len));
        memcpy(to, n->to, sizeof(to));
        memcpy(from_ep, n->from_ep, sizeof(from_ep));
        memcpy(to_ep, n->to_ep, sizeof(to_ep));
        n->n = 0;
        for (size_t i = 0; i < count; i++) {
            struct side *dst = to[i] ? &n->b : &n->a;
            struct ike_endpoint local = to_ep[i], remote = from_ep[i];
            int shift = n->nat_shift ? n->nat_shift : 30000;
            if (n->nat && to[i]) { /* A -> B: the NAT rewrites the source */
                oe_addr_parse(n->nat_addr ? n->nat_addr : "203.0.113.9", &remote.addr);
                remote.port = (uint16_t)(remote.port + shift);
            } else if (n->nat) { /* B -> A: and back; what goes to an old mapping is lost */
                struct oe_addr pub;
                oe_addr_parse(n->nat_addr ? n->nat_addr : "203.0.113.9", &pub);
                if (!oe_addr_eq(&local.addr, &pub) ||
                    (local.port - shift != 500 && local.port - shift != IKE_NATT_PORT)) {
                    free(pkt[i]);
                    continue;
                }
                local.addr = n->a.ep.addr;
                local.port = (uint16_t)(local.port - shift);
            }
            ike_receive(dst->core, &local, &remote, pkt[i], len[i], n->now, &dst->acts);
            free(pkt[i]);
        }
    }
    fail_msg("the exchange did not settle");
}

static void initiate(struct net *n, enum ike_authby auth)
{
    struct ike_initiate req = {
        .local = n->a.ep, .remote = n->b.ep, .local_host = n->a.ep.addr, .remote_host = n->b.ep.addr, .auth = auth};
    if (auth == IKE_AUTHBY_RSASIG)
        req.peer_key = key_of(&n->a.peer_key);
    n->a.serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    assert_true(n->a.serial > 0);
    pump(n);
}

static void expect_tunnel(struct net *n)
{
    assert_int_equal(n->a.ups, 1);
    assert_int_equal(n->b.ups, 1);
    assert_int_equal(n->a.installs, 1);
    assert_int_equal(n->b.installs, 1);
    /* each side's outbound SA is the other's inbound, with the same key */
    assert_int_equal(n->a.child.spi_out, n->b.child.spi_in);
    assert_int_equal(n->b.child.spi_out, n->a.child.spi_in);
    size_t kl = n->a.child.key_len;
    assert_int_equal(kl, n->a.child.integ ? 32 : 36);
    assert_memory_equal(n->a.child.key_out, n->b.child.key_in, kl);
    assert_memory_equal(n->b.child.key_out, n->a.child.key_in, kl);
    assert_memory_not_equal(n->a.child.key_out, n->a.child.key_in, kl);
    assert_int_equal(n->a.child.integ, n->b.child.integ);
    if (n->a.child.integ) {
        assert_int_equal(n->a.child.integ_len, ike_integ_key_len(n->a.child.integ));
        assert_memory_equal(n->a.child.integ_out, n->b.child.integ_in, n->a.child.integ_len);
        assert_memory_equal(n->b.child.integ_out, n->a.child.integ_in, n->a.child.integ_len);
        assert_memory_not_equal(n->a.child.integ_out, n->a.child.integ_in, n->a.child.integ_len);
    }
}

static void test_rsasig(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_RSASIG);
    expect_tunnel(n);
    assert_int_equal(n->b.need_keys, 1);
}

static void test_null_auth(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    initiate(n, IKE_AUTHBY_NULL);
    expect_tunnel(n);
    /* the responder's note on the IKE SA comes back with its UP (the agent's DNSSEC verdict) */
    assert_int_equal(n->b.last_note, 1000 + 1); /* B's IKE SA is #1 */
}

static void test_null_refused(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_NULL);
    assert_int_equal(n->a.ups + n->b.ups, 0);
    assert_non_null(strstr(n->b.last_down, "NULL authentication, which this policy does not allow"));
    assert_non_null(strstr(n->a.last_down, "AUTHENTICATION_FAILED"));
    assert_int_equal(ike_sa_count(n->a.core) + ike_sa_count(n->b.core), 0);
}

static void test_wrong_key(void **state)
{
    struct net *n = *state;
    /* the initiator expects the responder's key but DNS said its own */
    dnskeys_key_free(&n->a.peer_key);
    dnskeys_key_copy(dnskeys_hostkey_public(n->a.hk), &n->a.peer_key);
    initiate(n, IKE_AUTHBY_RSASIG);
    assert_int_equal(n->a.ups, 0);
    assert_non_null(strstr(n->a.last_down, "does not verify"));
}

/*
 * A peer that rolls its key publishes two: each side verifies the peer's
 * AUTH with whichever of them it was signed with, the initiator with the
 * keys of its lookup, the responder with those NEED_KEY answered.
 */
static void test_published_keys_each_tried(void **state)
{
    struct net *n = *state;
    struct ike_pubkey kb = key_of(&n->a.peer_key);
    dnskeys_key_copy(dnskeys_hostkey_public(n->b.hk), &n->b.decoy); /* B's own key: not A's */
    struct dnskeys_pubkey wrong;
    dnskeys_key_copy(dnskeys_hostkey_public(n->a.hk), &wrong);
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_RSASIG,
                               .peer_key = key_of(&wrong),
                               .more_keys = {kb},
                               .nmore = 1};
    n->a.serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    dnskeys_key_free(&wrong); /* the core copied it */
    pump(n);
    expect_tunnel(n);
    assert_non_null(strstr(n->a.log, "peer's AUTH verified with published key 2 of 2"));
    assert_non_null(strstr(n->b.log, "peer's AUTH verified with published key 2 of 2"));
    index_ok(n->a.core);
}

/* Neither published key verifies: refused, saying both were tried. */
static void test_published_keys_none_verifies(void **state)
{
    struct net *n = *state;
    dnskeys_key_free(&n->a.peer_key);
    dnskeys_key_copy(dnskeys_hostkey_public(n->a.hk), &n->a.peer_key);
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_RSASIG,
                               .peer_key = key_of(&n->a.peer_key),
                               .more_keys = {key_of(&n->a.peer_key)},
                               .nmore = 1};
    n->a.serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    pump(n);
    assert_int_equal(n->a.ups, 0);
    assert_non_null(strstr(n->a.last_down, "tried each of the 2 published keys"));
}

static void test_no_key_for_peer(void **state)
{
    struct net *n = *state;
    n->b.answer_keys = false;
    initiate(n, IKE_AUTHBY_RSASIG);
    assert_int_equal(n->b.ups, 0);
    assert_non_null(strstr(n->b.last_down, "no key for it is known"));
}

static void test_retransmission(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    n->drop_next = 1; /* the first IKE_SA_INIT request is lost */
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_NULL};
    unsigned serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    pump(n);
    assert_int_equal(n->a.ups, 0);
    ike_timer(n->a.core, serial, 500, &n->a.acts);
    pump(n);
    expect_tunnel(n);
}

static void test_gives_up(void **state)
{
    struct net *n = *state;
    n->drop_next = 100;
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_NULL};
    unsigned serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    for (int i = 0; i < 10; i++) {
        ike_timer(n->a.core, serial, 0, &n->a.acts);
        pump(n);
    }
    assert_int_equal(n->a.downs, 1);
    assert_non_null(strstr(n->a.last_down, "no response after 6 transmissions"));
    assert_int_equal(ike_sa_count(n->a.core), 0);
}

/* A side's cipher list, after setup (white box: the core keeps its configuration) */
static void set_ciphers(struct ike_core *core, int first, int second)
{
    core->cfg.ciphers[0] = first;
    core->cfg.ciphers[1] = second;
}

/* A offers only AES-CBC with HMAC-SHA2: B (defaults, GCM first) settles on it for IKE and ESP. */
static void test_cbc(void **state)
{
    struct net *n = *state;
    set_ciphers(n->a.core, IKE_CIPHER_AES_CBC, 0);
    initiate(n, IKE_AUTHBY_RSASIG);
    expect_tunnel(n);
    assert_int_equal(n->a.core->sas->integ, IKE_INTEG_SHA2_256_128);
    assert_int_equal(n->b.core->sas->integ, IKE_INTEG_SHA2_256_128);
    assert_int_equal(n->a.child.encr, IKE_ENCR_AES_CBC);
    assert_int_equal(n->a.child.encr_bits, 256);
    assert_int_equal(n->a.child.integ, IKE_INTEG_SHA2_256_128);
    char name[64];
    assert_string_equal(ike_algs_name(n->a.child.encr, n->a.child.encr_bits, n->a.child.integ, name, sizeof(name)),
                        "AES_CBC_256-HMAC_SHA2_256_128");
    /* a Delete over the CBC-protected SA reaches B */
    ike_delete(n->a.core, n->a.serial, 0, &n->a.acts);
    pump(n);
    assert_int_equal(ike_sa_count(n->b.core), 0);
}

/* ciphers: A prefers AES-CBC and also takes GCM; B (GCM first) answers A's first choice */
static void test_ciphers_order(void **state)
{
    struct net *n = *state;
    set_ciphers(n->a.core, IKE_CIPHER_AES_CBC, IKE_CIPHER_AES_GCM_16);
    initiate(n, IKE_AUTHBY_RSASIG);
    expect_tunnel(n);
    assert_int_equal(n->b.core->sas->encr, IKE_ENCR_AES_CBC);
    assert_int_equal(n->a.child.encr, IKE_ENCR_AES_CBC);
    assert_int_equal(n->b.child.encr, IKE_ENCR_AES_CBC);
}

/* ciphers: B takes only AES-CBC; A offers GCM first for IKE and ESP: B answers CBC to both */
static void test_ciphers_responder_list(void **state)
{
    struct net *n = *state;
    set_ciphers(n->b.core, IKE_CIPHER_AES_CBC, 0);
    initiate(n, IKE_AUTHBY_RSASIG);
    expect_tunnel(n);
    assert_int_equal(n->a.core->sas->encr, IKE_ENCR_AES_CBC);
    assert_int_equal(n->a.child.encr, IKE_ENCR_AES_CBC);
    assert_int_equal(n->b.child.encr, IKE_ENCR_AES_CBC);
}

/* ciphers: A takes only GCM, B only CBC: no IKE SA, each end says why; B's NO_PROPOSAL_CHOSEN is
 * unprotected, so A gives up only when its retransmissions run out (RFC 7296 2.21.1) */
static void test_ciphers_disjoint(void **state)
{
    struct net *n = *state;
    set_ciphers(n->a.core, IKE_CIPHER_AES_GCM_16, 0);
    set_ciphers(n->b.core, IKE_CIPHER_AES_CBC, 0);
    initiate(n, IKE_AUTHBY_RSASIG);
    assert_int_equal(n->a.downs, 0);
    for (int i = 0; i < 10 && n->a.downs == 0; i++) {
        ike_timer(n->a.core, n->a.serial, 0, &n->a.acts);
        pump(n);
    }
    assert_int_equal(n->a.ups + n->b.ups, 0);
    assert_int_equal(n->a.installs + n->b.installs, 0);
    assert_int_equal(n->a.downs, 1);
    assert_non_null(strstr(n->a.last_down, "NO_PROPOSAL_CHOSEN"));
    assert_int_equal(n->a.sends, 6); /* IKE_SA_INIT and its retransmissions: no IKE_AUTH followed */
    assert_int_equal(ike_sa_count(n->a.core) + ike_sa_count(n->b.core), 0);
}

/* B leases addresses from 100.64.0.0/30 (.1 and .2); both rekey the IKE SA within 100 s */
static void pool_b(int side, struct ike_config *cfg)
{
    cfg->ike_lifetime_s = 100;
    if (side == 1)
        oe_prefix_parse("100.64.0.0/30", &cfg->address_pool[0], NULL);
}

static int setup_pool(void **state)
{
    tune = pool_b;
    return setup(state);
}

/* one address: 100.64.0.7 */
static void pool_b_one(int side, struct ike_config *cfg)
{
    if (side == 1)
        oe_prefix_parse("100.64.0.7/32", &cfg->address_pool[0], NULL);
}

static int setup_pool_one(void **state)
{
    tune = pool_b_one;
    return setup(state);
}

/* A (198.51.100.1) behind the NAT (203.0.113.9) starts an IKE SA with NULL auth; ask: with a CFG_REQUEST. */
static void nat_initiate(struct net *n, enum ike_ask_address ask)
{
    n->nat = true;
    oe_addr_parse("198.51.100.1", &n->a.ep.addr);
    n->b.allow_null = true;
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_NULL,
                               .ask_address = ask};
    n->a.serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    assert_true(n->a.serial > 0);
    pump(n);
}

static void expect_addr(const struct oe_addr *a, const char *want)
{
    char s[OE_ADDR_STRLEN];
    if (strcmp(oe_addr_str(a, s), want) != 0)
        fail_msg("wanted %s, got %s", want, s);
}

/* A behind a NAT: both detect it, IKE_AUTH goes over 4500, the Child SA is ESP in UDP, A keeps the mapping open. */
static void test_nat_traversal(void **state)
{
    struct net *n = *state;
    /* A asks for an address (CFG_REQUEST): B leases it one, the only host its tunnel can be for */
    nat_initiate(n, IKE_ASK_ALWAYS);
    assert_int_equal(n->a.ups, 1);
    assert_int_equal(n->b.ups, 1);
    struct ike_sa *a = n->a.core->sas, *b = n->b.core->sas;
    assert_true(a->nat_local && !a->nat_remote);
    assert_true(b->nat_remote && !b->nat_local);
    assert_int_equal(a->local.port, IKE_NATT_PORT);
    assert_int_equal(a->remote.port, IKE_NATT_PORT);
    assert_int_equal(b->local.port, IKE_NATT_PORT);
    assert_int_equal(b->remote.port, IKE_NATT_PORT + 30000); /* the NAT's port, learnt from IKE_AUTH */
    assert_int_equal(n->a.child.encap_local, IKE_NATT_PORT);
    assert_int_equal(n->a.child.encap_remote, IKE_NATT_PORT);
    assert_int_equal(n->b.child.encap_remote, IKE_NATT_PORT + 30000);
    /* B's tunnel is for the lease, never for the address A has behind its NAT */
    expect_addr(&n->b.child.remote_host, "100.64.0.1");
    expect_addr(&n->b.child.lease, "100.64.0.1");
    expect_addr(&n->b.child.remote, "203.0.113.9");
    expect_addr(&n->a.child.local_host, "100.64.0.1");
    /* only the side behind the NAT sends keepalives, and again when its timer fires */
    int before = n->keepalives;
    assert_int_equal(before, 0); /* the first after 20 s */
    ike_timer(n->a.core, a->serial, 20000, &n->a.acts);
    ike_timer(n->b.core, b->serial, 20000, &n->b.acts);
    run(n, &n->a);
    run(n, &n->b);
    assert_int_equal(n->keepalives, before + 1);
    ike_actions_clear(&n->a.acts);
    ike_actions_clear(&n->b.acts);
    /* a Delete from B reaches A through the NAT's mapping */
    ike_delete(n->b.core, b->serial, 0, &n->b.acts);
    pump(n);
    assert_int_equal(ike_sa_count(n->a.core), 0);
}

static void rekey_ike_from(struct net *n, struct side *s);

/* The lease: narrowed TSi, NEED_KEY for the address B sees, kept over rekeys, back in the pool when the SA goes. */
static void test_nat_lease(void **state)
{
    struct net *n = *state;
    nat_initiate(n, IKE_ASK_ALWAYS);
    assert_int_equal(n->a.ups, 1);
    assert_int_equal(n->b.ups, 1);
    /* the policy and key B asked about: those of the address it sees, not of A's inner one */
    expect_addr(&n->b.asked_for, "203.0.113.9");
    expect_addr(&n->b.child.remote_host, "100.64.0.1");
    expect_addr(&n->b.child.lease, "100.64.0.1");
    expect_addr(&n->a.child.lease, "100.64.0.1");
    expect_addr(&n->a.child.local_host, "100.64.0.1"); /* A read the CFG_REPLY: TSi is the lease */
    assert_non_null(strstr(n->b.log, "leased 100.64.0.1 to the initiator behind a NAT at 203.0.113.9 "
                                     "(address-pool 100.64.0.0/30, 1 in use); TSi narrowed to it"));
    assert_non_null(strstr(n->b.log, "IPsec tunnel [192.0.2.2/32] -> [100.64.0.1/32]"));
    assert_null(strstr(n->b.log, "198.51.100.1")); /* the inner address is nowhere */
    assert_int_equal(n->b.core->pool4.in_use, 1);
    /* an IKE SA rekey from each end keeps the lease (the retired self holds none) */
    rekey_ike_from(n, &n->a);
    rekey_ike_from(n, &n->b);
    assert_int_equal(n->b.core->pool4.in_use, 1);
    expect_addr(&n->b.core->sas->lease, "100.64.0.1");
    /* a Child SA rekey keeps its selectors: still the lease */
    ike_child_expired(n->b.core, n->b.child.spi_in, &n->b.child.local, false, 300000, &n->b.acts);
    pump(n);
    expect_addr(&n->b.child.remote_host, "100.64.0.1");
    assert_memory_equal(n->a.child.key_out, n->b.child.key_in, n->a.child.key_len);
    /* the SA goes: its lease is free again */
    ike_delete(n->a.core, n->a.serial, 300000, &n->a.acts);
    pump(n);
    assert_int_equal(ike_sa_count(n->b.core), 0);
    assert_int_equal(n->b.core->pool4.in_use, 0);
}

/* A NAT'ed initiator that asks for no address is refused before any DNS work, saying why. */
static void test_nat_no_address_asked(void **state)
{
    struct net *n = *state;
    nat_initiate(n, IKE_ASK_NEVER);
    assert_int_equal(n->b.installs, 0);
    assert_int_equal(n->b.ups, 0);
    assert_int_equal(n->b.need_keys, 0);
    assert_non_null(strstr(n->b.log, "TS_UNACCEPTABLE: the initiator is behind a NAT (we see 203.0.113.9) and asks "
                                     "for no address (no CFG_REQUEST with INTERNAL_IP4_ADDRESS)"));
    assert_non_null(strstr(n->a.last_down, "TS_UNACCEPTABLE"));
    assert_int_equal(n->b.core->pool4.in_use, 0);
}

/* Before leases, a NAT'ed initiator that named the address B sees got a tunnel for it; now it needs a lease. */
static void test_nat_outer_address_without_lease(void **state)
{
    struct net *n = *state;
    n->nat = true;
    oe_addr_parse("198.51.100.1", &n->a.ep.addr);
    n->b.allow_null = true;
    struct ike_initiate req = {
        .local = n->a.ep, .remote = n->b.ep, .remote_host = n->b.ep.addr, .auth = IKE_AUTHBY_NULL};
    oe_addr_parse("203.0.113.9", &req.local_host);
    n->a.serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    pump(n);
    assert_int_equal(n->b.installs, 0);
    assert_int_equal(n->b.need_keys, 0);
    assert_non_null(strstr(n->b.log, "asks for no address"));
}

/* Without a pool a NAT'ed initiator's request for an address is refused, saying so. */
static void test_nat_no_pool(void **state)
{
    struct net *n = *state;
    nat_initiate(n, IKE_ASK_ALWAYS);
    assert_int_equal(n->b.installs, 0);
    assert_int_equal(n->b.need_keys, 0);
    assert_non_null(strstr(n->b.log, "asks for an IPv4 address, but no address-pool of that family is set"));
    assert_non_null(strstr(n->a.last_down, "TS_UNACCEPTABLE"));
}

/* The pool runs out: INTERNAL_ADDRESS_FAILURE naming the setting; the address comes back with its SA. */
static void test_nat_pool_exhausted(void **state)
{
    struct net *n = *state;
    nat_initiate(n, IKE_ASK_ALWAYS);
    assert_int_equal(n->b.ups, 1);
    expect_addr(&n->b.child.lease, "100.64.0.7");
    unsigned first = n->b.core->sas->serial;
    /* a second client behind the same NAT (another IKE SA): nothing left */
    nat_initiate(n, IKE_ASK_ALWAYS);
    assert_int_equal(n->b.ups, 1);
    assert_int_equal(n->b.installs, 1);
    assert_non_null(strstr(n->b.log, "IKE_AUTH: INTERNAL_ADDRESS_FAILURE: address-pool 100.64.0.7/32 is exhausted: "
                                     "all 1 of its addresses are leased"));
    assert_non_null(strstr(n->a.last_down, "INTERNAL_ADDRESS_FAILURE"));
    assert_int_equal(ike_sa_count(n->b.core), 1); /* the refused SA holds nothing */
    assert_int_equal(n->b.core->pool4.in_use, 1);
    /* the first goes; the next client gets its address */
    ike_delete(n->b.core, first, 0, &n->b.acts);
    pump(n);
    assert_int_equal(n->b.core->pool4.in_use, 0);
    nat_initiate(n, IKE_ASK_ALWAYS);
    assert_int_equal(n->b.ups, 2);
    expect_addr(&n->b.child.lease, "100.64.0.7");
    expect_addr(&n->b.child.remote_host, "100.64.0.7");
}

/* 100.64.0.0/30 (two addresses), one of them for the initiators behind any one address */
static void pool_b_per_source(int side, struct ike_config *cfg)
{
    pool_b(side, cfg);
    cfg->max_leases_per_source = 1;
}

static int setup_pool_per_source(void **state)
{
    tune = pool_b_per_source;
    return setup(state);
}

/* One NAT (or one NULL-authenticated pretender) cannot drain the pool: max-leases-per-source. */
static void test_nat_leases_per_source(void **state)
{
    struct net *n = *state;
    nat_initiate(n, IKE_ASK_ALWAYS);
    assert_int_equal(n->b.ups, 1);
    unsigned first = n->b.core->sas->serial;
    nat_initiate(n, IKE_ASK_ALWAYS);
    assert_int_equal(n->b.ups, 1);
    assert_non_null(strstr(n->b.log, "IKE_AUTH: INTERNAL_ADDRESS_FAILURE: initiators behind 203.0.113.9 hold 1 "
                                     "leases already, max-leases-per-source is 1: none for this one"));
    assert_int_equal(n->b.core->pool4.in_use, 1); /* the pool had room: the limit refused it */
    ike_delete(n->b.core, first, 0, &n->b.acts);
    pump(n);
    nat_initiate(n, IKE_ASK_ALWAYS); /* the positive control: with the first gone, a lease again */
    assert_int_equal(n->b.ups, 2);
    assert_int_equal(n->b.core->pool4.in_use, 1);
}

/* A peer not behind a NAT keeps its host-to-host tunnel and no lease, whatever it asks. */
static void test_no_nat_no_lease(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_NULL,
                               .ask_address = true};
    n->a.serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    pump(n);
    expect_tunnel(n);
    expect_addr(&n->b.child.remote_host, "192.0.2.1");
    assert_int_equal(n->b.child.lease.family, 0);
    assert_int_equal(n->a.child.lease.family, 0);
    expect_addr(&n->a.child.local_host, "192.0.2.1"); /* no CFG_REPLY: A keeps its own */
    assert_non_null(strstr(n->a.log, "the responder leased us no address (no CFG_REPLY): our tunnel is for our own "
                                     "address 192.0.2.1"));
    assert_int_equal(n->b.core->pool4.in_use, 0);
    assert_null(strstr(n->b.log, "leased"));
}

/* client-address-translation = auto: A asks once IKE_SA_INIT shows it behind a NAT, and takes the lease. */
static void test_nat_ask_if_nat(void **state)
{
    struct net *n = *state;
    nat_initiate(n, IKE_ASK_IF_NAT);
    assert_int_equal(n->a.ups, 1);
    assert_non_null(strstr(n->a.log, "we are behind a NAT: asking the responder for an address (CFG_REQUEST)"));
    assert_non_null(strstr(n->a.log, "the responder leased us 100.64.0.1 (CFG_REPLY); our tunnel is for it"));
    expect_addr(&n->a.child.lease, "100.64.0.1");
    expect_addr(&n->a.child.local_host, "100.64.0.1");
    expect_addr(&n->a.child.local, "198.51.100.1"); /* the SA's own ends stay ours */
    expect_addr(&n->b.child.remote_host, "100.64.0.1");
}

/* auto, and no NAT: no CFG_REQUEST, so a responder with a pool leases nothing (the control: ALWAYS asks). */
static void test_no_nat_ask_if_nat(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_NULL,
                               .ask_address = IKE_ASK_IF_NAT};
    n->a.serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    pump(n);
    expect_tunnel(n);
    assert_false(n->a.core->sas->ask_address);
    assert_null(strstr(n->a.log, "asking the responder"));
    assert_null(strstr(n->a.log, "leased us"));
    assert_int_equal(n->a.child.lease.family, 0);
    expect_addr(&n->a.child.local_host, "192.0.2.1");
}

/* B leases the address it is itself at: A refuses it (its tunnel would be for B's own address). */
static void pool_b_own(int side, struct ike_config *cfg)
{
    if (side == 1)
        oe_prefix_parse("192.0.2.2/32", &cfg->address_pool[0], NULL);
}

static int setup_pool_own(void **state)
{
    tune = pool_b_own;
    return setup(state);
}

static void test_nat_lease_refused(void **state)
{
    struct net *n = *state;
    nat_initiate(n, IKE_ASK_IF_NAT);
    assert_int_equal(n->a.ups, 0);
    assert_int_equal(n->a.installs, 0);
    assert_non_null(strstr(n->a.log, "IKE_AUTH response refused: the responder leased us 192.0.2.2, which cannot be "
                                     "ours (its own address)"));
    assert_int_equal(ike_sa_count(n->a.core), 0);
}

/*
 * Review finding M2: B leases A another of A's own addresses (or a host's
 * behind A): the lease's policies would take over that address's own
 * tunnel to B. A refuses it, as its address_is_ours says.
 */
static bool a_also_has_77(void *ctx, const struct oe_addr *x)
{
    (void)ctx;
    struct oe_addr mine;
    oe_addr_parse("198.51.100.77", &mine);
    return oe_addr_eq(x, &mine);
}

static void pool_b_a_other(int side, struct ike_config *cfg)
{
    if (side == 1)
        oe_prefix_parse("198.51.100.77/32", &cfg->address_pool[0], NULL);
    else
        cfg->address_is_ours = a_also_has_77;
}

static int setup_pool_a_other(void **state)
{
    tune = pool_b_a_other;
    return setup(state);
}

static void test_nat_lease_of_ours_refused(void **state)
{
    struct net *n = *state;
    nat_initiate(n, IKE_ASK_IF_NAT);
    assert_int_equal(n->a.ups, 0);
    assert_int_equal(n->a.installs, 0);
    assert_non_null(strstr(n->a.log, "IKE_AUTH response refused: the responder leased us 198.51.100.77, which cannot "
                                     "be ours (another address of this host or of a host behind it)"));
    assert_int_equal(ike_sa_count(n->a.core), 0);
}

/* B leases A the address A has behind its NAT: nothing to translate, no lease, the tunnel for A's own. */
static void pool_b_inner(int side, struct ike_config *cfg)
{
    if (side == 1)
        oe_prefix_parse("198.51.100.1/32", &cfg->address_pool[0], NULL);
}

static int setup_pool_inner(void **state)
{
    tune = pool_b_inner;
    return setup(state);
}

static void test_nat_lease_own_address(void **state)
{
    struct net *n = *state;
    nat_initiate(n, IKE_ASK_IF_NAT);
    assert_int_equal(n->a.ups, 1);
    assert_non_null(strstr(n->a.log, "the responder leased us our own address: our tunnel is for our own address "
                                     "198.51.100.1"));
    assert_int_equal(n->a.child.lease.family, 0);
    expect_addr(&n->a.child.local_host, "198.51.100.1");
}

/* Without a NAT nothing moves: port 500, no encapsulation, no keepalives. */
static void test_no_nat(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_RSASIG);
    expect_tunnel(n);
    assert_false(n->a.core->sas->nat_local || n->a.core->sas->nat_remote);
    assert_int_equal(n->a.core->sas->local.port, 500);
    assert_int_equal(n->a.child.encap_local, 0);
    assert_int_equal(n->keepalives, 0);
}

static const struct ike_action *find_kind(const struct side *s, enum ike_action_kind kind)
{
    for (size_t i = 0; i < s->acts.n; i++)
        if (s->acts.v[i].kind == kind)
            return &s->acts.v[i];
    return NULL;
}

static int count_kind(const struct side *s, enum ike_action_kind kind)
{
    int c = 0;
    for (size_t i = 0; i < s->acts.n; i++)
        c += s->acts.v[i].kind == kind;
    return c;
}

/* What each kernel holds: one pair, the same keys seen from both ends. */
static void expect_one_pair(const struct net *n)
{
    assert_int_equal(n->a.kernel_errors, 0);
    assert_int_equal(n->b.kernel_errors, 0);
    assert_int_equal(n->a.nkin, 1);
    assert_int_equal(n->a.nkout, 1);
    assert_int_equal(n->b.nkin, 1);
    assert_int_equal(n->b.nkout, 1);
    assert_int_equal(n->a.kout[0], n->b.kin[0]);
    assert_int_equal(n->b.kout[0], n->a.kin[0]);
    assert_int_equal(n->a.child.spi_out, n->a.kout[0]);
    assert_int_equal(n->a.child.spi_in, n->a.kin[0]);
    assert_int_equal(n->b.child.spi_out, n->b.kout[0]);
    assert_int_equal(n->b.child.spi_in, n->b.kin[0]);
    assert_memory_equal(n->a.child.key_out, n->b.child.key_in, n->a.child.key_len);
    assert_memory_equal(n->b.child.key_out, n->a.child.key_in, n->a.child.key_len);
}

/* The kernel's soft expire on A: A rekeys the Child SA, both install the new pair, both retire the old. */
static void test_child_rekey_initiated(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_RSASIG);
    expect_tunnel(n);
    assert_int_equal(n->a.child.hard_s, 8 * 3600);
    assert_true(n->a.child.soft_s < n->a.child.hard_s && n->a.child.soft_s >= 8 * 3600 - 540 - 270);
    struct ike_child_sa old_a = n->a.child;
    ike_child_expired(n->a.core, old_a.spi_in, &old_a.local, false, 1000, &n->a.acts);
    /* a second soft expire (the other SA of the pair) starts nothing more */
    ike_child_expired(n->a.core, old_a.spi_out, &old_a.remote, false, 1000, &n->a.acts);
    assert_int_equal(count_kind(&n->a, IKE_ACT_SEND), 1);
    pump(n);
    assert_int_equal(n->a.installs, 2);
    assert_int_equal(n->b.installs, 2);
    assert_int_not_equal(n->a.child.spi_in, old_a.spi_in);
    assert_int_equal(n->a.child.reqid, old_a.reqid); /* same policies */
    assert_int_equal(n->a.child.spi_out, n->b.child.spi_in);
    assert_int_equal(n->b.child.spi_out, n->a.child.spi_in);
    assert_memory_equal(n->a.child.key_out, n->b.child.key_in, n->a.child.key_len);
    assert_memory_equal(n->b.child.key_out, n->a.child.key_in, n->a.child.key_len);
    assert_memory_not_equal(n->a.child.key_out, old_a.key_out, n->a.child.key_len);
    /* each side took its old pair out of the kernel, and only the SAs */
    assert_int_equal(n->a.deletes, 1);
    assert_int_equal(n->b.deletes, 1);
    assert_int_equal(n->a.core->sas->old_spi_in, 0);
    assert_int_equal(n->b.core->sas->old_spi_in, 0);
    /* and again: the rekeyed SA rekeys too */
    ike_child_expired(n->a.core, n->a.child.spi_in, &n->a.child.local, false, 2000, &n->a.acts);
    pump(n);
    assert_int_equal(n->a.installs, 3);
    assert_memory_equal(n->a.child.key_out, n->b.child.key_in, n->a.child.key_len);
    expect_one_pair(n);
}

/* Both soft expires at once (RFC 7296 2.8.1): both exchanges complete, the SA made with the
 * lowest of the four nonces goes, deleted by the end that made it, and the old pair goes: one
 * pair stays, the same on both ends. */
static void test_child_rekey_collision(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_RSASIG);
    expect_tunnel(n);
    for (int round = 0; round < 4; round++) {
        uint64_t t = 1000 + (uint64_t)round * 10000;
        ike_child_expired(n->a.core, n->a.child.spi_in, &n->a.child.local, false, t, &n->a.acts);
        ike_child_expired(n->b.core, n->b.child.spi_in, &n->b.child.local, false, t, &n->b.acts);
        pump(n);
        expect_one_pair(n);
        assert_null(n->a.core->sas->out_pending);
        assert_null(n->b.core->sas->out_pending);
        assert_int_equal(n->a.core->sas->redundant_in + n->b.core->sas->redundant_in, 0);
        assert_int_equal(n->a.downs + n->b.downs, 0);
        assert_int_equal(n->a.core->sas->old_spi_in, 0);
        assert_int_equal(n->b.core->sas->old_spi_in, 0);
    }
    /* one end's new pair lost each time, the other's won */
    assert_int_equal(n->lost_collisions, 4);
    assert_int_equal(n->won_collisions, 4);
}

/* The hard lifetime: the IKE SA goes, with a Delete the peer hears. */
static void test_child_hard_expire(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_RSASIG);
    ike_child_expired(n->a.core, n->a.child.spi_out, &n->a.child.remote, true, 1000, &n->a.acts);
    pump(n);
    assert_int_equal(n->a.downs, 1);
    assert_int_equal(n->b.downs, 1);
    assert_int_equal(ike_sa_count(n->a.core), 0);
    assert_int_equal(ike_sa_count(n->b.core), 0);
}

static void short_ike_lifetime(int side, struct ike_config *cfg)
{
    (void)side;
    cfg->ike_lifetime_s = 100;
}

static int setup_short_ike(void **state)
{
    tune = short_ike_lifetime;
    return setup(state);
}

/* IKE SA rekey from either end: new SPIs and keys on both, the same serial and Child SA, the old self deleted. */
static void rekey_ike_from(struct net *n, struct side *s)
{
    struct ike_sa *sa = s->core->sas;
    struct side *other = s == &n->a ? &n->b : &n->a;
    uint64_t old_i = sa->spi_i, old_r = sa->spi_r;
    unsigned serial = sa->serial;
    uint32_t child_in = s->child.spi_in;
    assert_true(sa->ike_rekey_at > 0 && sa->ike_rekey_at <= 100000);
    ike_timer(s->core, serial, sa->ike_rekey_at, &s->acts);
    pump(n);
    assert_int_equal(ike_sa_count(n->a.core), 1); /* the retired selves are gone */
    assert_int_equal(ike_sa_count(n->b.core), 1);
    struct ike_sa *x = n->a.core->sas, *y = n->b.core->sas;
    assert_int_equal(s->core->sas->serial, serial);
    assert_true(s->core->sas->initiator); /* the rekey's initiator is the new SA's */
    assert_false(other->core->sas->initiator);
    assert_true(x->spi_i != old_i && x->spi_r != old_r);
    assert_true(x->spi_i == y->spi_i && x->spi_r == y->spi_r);
    assert_memory_equal(x->sk_d, y->sk_d, x->prf_len);
    assert_int_equal(s->core->sas->child_spi_in, child_in); /* the Child SA lives on */
    assert_int_equal(n->a.downs + n->b.downs, 0);
    assert_int_equal(n->a.deletes + n->b.deletes, 0);
}

static void test_ike_rekey(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_RSASIG);
    rekey_ike_from(n, &n->a);
    rekey_ike_from(n, &n->b); /* the original responder rekeys the new SA */
    /* the Child SA rekeys under the new SK_d and both ends agree */
    ike_child_expired(n->b.core, n->b.child.spi_in, &n->b.child.local, false, 300000, &n->b.acts);
    pump(n);
    assert_memory_equal(n->a.child.key_out, n->b.child.key_in, n->a.child.key_len);
    assert_memory_equal(n->b.child.key_out, n->a.child.key_in, n->a.child.key_len);
    /* and a Delete under the new keys takes both down */
    ike_delete(n->a.core, n->a.serial, 300000, &n->a.acts);
    pump(n);
    assert_int_equal(ike_sa_count(n->b.core), 0);
}

static void gateway_b(int side, struct ike_config *cfg)
{
    if (side == 1) {
        oe_prefix_parse("203.0.113.0/24", &cfg->subnets[0], NULL);
        cfg->nsubnets = 1;
    }
}

static int setup_gateway(void **state)
{
    tune = gateway_b;
    return setup(state);
}

/* A peer asks B, the gateway its DNS record names, for a tunnel to a host behind B. */
static void test_gateway_responds_for_subnet(void **state)
{
    struct net *n = *state;
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .auth = IKE_AUTHBY_RSASIG,
                               .peer_key = key_of(&n->a.peer_key)};
    oe_addr_parse("203.0.113.2", &req.remote_host);
    ike_initiate(n->a.core, &req, 0, &n->a.acts);
    pump(n);
    assert_int_equal(n->a.ups, 1);
    assert_int_equal(n->b.ups, 1);
    char s1[OE_ADDR_STRLEN], s2[OE_ADDR_STRLEN];
    assert_string_equal(oe_addr_str(&n->b.child.local_host, s1), "203.0.113.2");
    assert_string_equal(oe_addr_str(&n->b.child.local, s2), "192.0.2.2");
    /* a host outside the gateway's subnets is refused */
    oe_addr_parse("198.51.100.9", &req.remote_host);
    ike_initiate(n->a.core, &req, 0, &n->a.acts);
    pump(n);
    assert_int_equal(n->a.ups, 1);
    assert_non_null(strstr(n->a.last_down, "TS_UNACCEPTABLE"));
}

/* B, a gateway, starts a tunnel for a host behind it: A takes it only when a key vouches for that host. */
static void test_gateway_initiates_for_client(void **state)
{
    struct net *n = *state;
    struct ike_initiate req = {.local = n->b.ep,
                               .remote = n->a.ep,
                               .remote_host = n->a.ep.addr,
                               .auth = IKE_AUTHBY_RSASIG,
                               .peer_key = key_of(&n->b.peer_key)};
    oe_addr_parse("203.0.113.2", &req.local_host);
    n->a.answer_keys = false; /* DNS does not let B speak for 203.0.113.2 */
    ike_initiate(n->b.core, &req, 0, &n->b.acts);
    pump(n);
    char s1[OE_ADDR_STRLEN];
    assert_string_equal(oe_addr_str(&n->a.asked_for, s1), "203.0.113.2");
    assert_int_equal(n->a.ups, 0);
    assert_int_equal(n->a.installs, 0);
    n->a.answer_keys = true;
    ike_initiate(n->b.core, &req, 0, &n->b.acts);
    pump(n);
    assert_int_equal(n->a.ups, 1);
    assert_int_equal(n->b.ups, 1);
    assert_string_equal(oe_addr_str(&n->a.child.remote_host, s1), "203.0.113.2");
    assert_int_equal(n->a.child.spi_out, n->b.child.spi_in);
}

static void dpd_10s(int side, struct ike_config *cfg)
{
    (void)side;
    cfg->dpd_delay_s = 10;
}

static int setup_dpd(void **state)
{
    tune = dpd_10s;
    return setup(state);
}

/* Liveness: a quiet peer is asked after dpd_delay; an answer keeps the SA, silence ends it. */
static void test_liveness(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_RSASIG);
    struct ike_sa *a = n->a.core->sas;
    unsigned serial = a->serial;
    assert_int_equal(a->dpd_at, 10000);
    ike_timer(n->a.core, serial, 10000, &n->a.acts);
    assert_int_equal(count_kind(&n->a, IKE_ACT_SEND), 1);
    pump(n);
    assert_int_equal(n->a.downs, 0);
    assert_false(a->awaiting);
    /* heard from at 10 s: the next check is due at 20 s, not before */
    ike_timer(n->a.core, serial, 15000, &n->a.acts);
    assert_int_equal(count_kind(&n->a, IKE_ACT_SEND), 0);
    ike_actions_clear(&n->a.acts);
    /* the peer dies: the check is retransmitted, then the SA goes with the reason */
    n->drop_next = 100;
    uint64_t t = 20000;
    for (int i = 0; i < 8 && n->a.downs == 0; i++, t += 40000) {
        ike_timer(n->a.core, serial, t, &n->a.acts);
        run(n, &n->a);
        ike_actions_clear(&n->a.acts);
    }
    assert_int_equal(n->a.downs, 1);
    assert_non_null(strstr(n->a.last_down, "liveness check: the peer is dead"));
    assert_int_equal(n->a.deletes, 1);
}

/* pool on B, liveness after 10 s on both, keepalives every 5 s */
static void pool_dpd(int side, struct ike_config *cfg)
{
    pool_b(side, cfg);
    cfg->dpd_delay_s = 10;
    cfg->keepalive_ms = 5000;
}

static int setup_pool_dpd(void **state)
{
    tune = pool_dpd;
    return setup(state);
}

/* A's liveness check at t ms, queued but not delivered; a copy of it in *copy. */
static void a_liveness(struct net *n, uint64_t t, uint8_t **copy, size_t *len)
{
    ike_timer(n->a.core, n->a.core->sas->serial, t, &n->a.acts);
    n->now = t;
    run(n, &n->a);
    ike_actions_clear(&n->a.acts);
    assert_int_equal(n->n, 1);
    *len = n->len[0];
    *copy = malloc(*len);
    memcpy(*copy, n->pkt[0], *len);
}

/* A datagram from A to B as the NAT sends it now, from its address and that port. */
static void to_b_from(struct net *n, const uint8_t *msg, size_t len, const char *addr, uint16_t port)
{
    struct ike_endpoint local = n->b.ep, remote = {.port = port};
    local.port = IKE_NATT_PORT;
    oe_addr_parse(addr, &remote.addr);
    ike_receive(n->b.core, &local, &remote, msg, len, 0, &n->b.acts);
    run(n, &n->b);
    ike_actions_clear(&n->b.acts);
}

/*
 * Issue 12, NAT mappings change (RFC 7296 2.23): the NAT in front of A gives
 * it a new port, then a new address. B, not behind a NAT, follows A's next
 * authenticated request: the IKE SA's endpoint and the kernel's pair, with
 * its policies, move; its answer goes to the new mapping and A hears it.
 */
static void test_nat_remap_follows_request(void **state)
{
    struct net *n = *state;
    nat_initiate(n, true);
    assert_int_equal(n->b.ups, 1);
    struct ike_sa *b = n->b.core->sas;
    assert_int_equal(b->remote.port, IKE_NATT_PORT + 30000);
    assert_int_equal(n->b.moves, 0); /* learning the NAT's port at IKE_AUTH is not a move: nothing installed yet */
    n->nat_shift = 31000;            /* the NAT lost its mapping and made another */
    uint8_t *req;
    size_t len;
    a_liveness(n, 10000, &req, &len);
    pump(n);
    free(req);
    assert_int_equal(n->b.moves, 1);
    assert_int_equal(b->remote.port, IKE_NATT_PORT + 31000);
    const struct ike_action *m = &n->b.last_move;
    assert_int_equal(m->moved_from.port, IKE_NATT_PORT + 30000);
    expect_addr(&m->moved_from.addr, "203.0.113.9");
    expect_addr(&m->child.remote, "203.0.113.9");
    assert_int_equal(m->child.encap_remote, IKE_NATT_PORT + 31000);
    assert_int_equal(m->child.encap_local, IKE_NATT_PORT);
    assert_int_equal(m->child.spi_in, n->b.child.spi_in);
    assert_int_equal(m->child.spi_out, n->b.child.spi_out);
    assert_int_equal(m->child.reqid, n->b.child.reqid);
    expect_addr(&m->child.remote_host, "100.64.0.1"); /* the lease's tunnel, still */
    assert_false(m->child.sas_only);                  /* the policies too */
    assert_non_null(strstr(n->b.log, "peer now at 203.0.113.9:35500 (its NAT's mapping; was 203.0.113.9:34500); "
                                     "ESP SAs follow"));
    /* the answer went to the new mapping: A heard it, no retransmission pending */
    assert_false(n->a.core->sas->awaiting);
    assert_int_equal(n->a.downs, 0);
    /* a new public address too (the NAT rebooted onto another) */
    n->nat_addr = "203.0.113.77";
    a_liveness(n, 30000, &req, &len);
    pump(n);
    free(req);
    assert_int_equal(n->b.moves, 2);
    expect_addr(&n->b.last_move.moved_from.addr, "203.0.113.9");
    expect_addr(&n->b.last_move.child.remote, "203.0.113.77");
    expect_addr(&b->remote.addr, "203.0.113.77");
    assert_false(n->a.core->sas->awaiting);
    /* a Delete from B reaches A where it is now */
    ike_delete(n->b.core, b->serial, 40000, &n->b.acts);
    pump(n);
    assert_int_equal(ike_sa_count(n->a.core), 0);
}

/*
 * ... and nothing else moves it: a replayed request (one B answered, or an
 * older one), a forged one (the ICV fails), one with no SK payload at all,
 * garbage: each from a new port, and B stays where the last authenticated
 * new message put it. A positive control at the end: a new request moves it.
 */
static void test_nat_remap_not_on_replay_or_forgery(void **state)
{
    struct net *n = *state;
    nat_initiate(n, true);
    struct ike_sa *b = n->b.core->sas;
    uint8_t *first, *second;
    size_t len1, len2;
    a_liveness(n, 10000, &first, &len1);
    pump(n);
    a_liveness(n, 30000, &second, &len2);
    pump(n);
    assert_int_equal(n->b.moves, 0);
    int sends = n->b.sends;
    /* the last request again, from elsewhere: answered from the cache, to where A is, no move */
    to_b_from(n, second, len2, "203.0.113.66", 40001);
    assert_int_equal(n->b.sends, sends + 1);
    assert_int_equal(n->pkt[n->n - 1] != NULL, 1);
    assert_int_equal(n->to_ep[n->n - 1].port, IKE_NATT_PORT + 30000);
    /* an older one: dropped */
    to_b_from(n, first, len1, "203.0.113.66", 40002);
    assert_non_null(strstr(n->b.log, "dropping request with message ID"));
    /* forged: the next message ID written into a real one, so its ICV fails */
    second[20] = 0, second[21] = 0, second[22] = 0, second[23] = (uint8_t)b->peer_msgid;
    to_b_from(n, second, len2, "203.0.113.66", 40003);
    assert_non_null(strstr(n->b.log, "integrity check failed"));
    /* unauthenticated: the header alone, no SK payload, the next message ID */
    uint8_t bare[28];
    memcpy(bare, second, 28);
    bare[16] = 0; /* next payload: none */
    bare[24] = 0, bare[25] = 0, bare[26] = 0, bare[27] = 28;
    to_b_from(n, bare, sizeof(bare), "203.0.113.66", 40004);
    /* garbage with B's SPIs */
    memset(second + 28, 0x5a, len2 - 28);
    to_b_from(n, second, len2, "203.0.113.66", 40005);
    assert_int_equal(n->b.moves, 0);
    expect_addr(&b->remote.addr, "203.0.113.9");
    assert_int_equal(b->remote.port, IKE_NATT_PORT + 30000);
    assert_null(strstr(n->b.log, "peer now at 203.0.113.66"));
    for (size_t i = 0; i < n->n; i++)
        free(n->pkt[i]);
    n->n = 0;
    free(first);
    free(second);
    /* the control: A's next request through a new mapping moves B */
    n->nat_shift = 32000;
    a_liveness(n, 50000, &first, &len1);
    pump(n);
    free(first);
    assert_int_equal(n->b.moves, 1);
    assert_int_equal(b->remote.port, IKE_NATT_PORT + 32000);
}

/*
 * The kernel's MAPPING (an authenticated ESP packet from a new port) moves B
 * like an IKE message; not for an SPI that is not B's current inbound one,
 * not for the mapping it has; and never A, which is behind the NAT.
 */
static void test_nat_remap_on_esp_mapping(void **state)
{
    struct net *n = *state;
    nat_initiate(n, true);
    struct ike_sa *b = n->b.core->sas, *a = n->a.core->sas;
    struct ike_endpoint now = {.port = IKE_NATT_PORT + 30000}, next = {.port = 40000};
    oe_addr_parse("203.0.113.9", &now.addr);
    oe_addr_parse("203.0.113.9", &next.addr);
    ike_esp_mapping(n->b.core, b->child_spi_in ^ 1, &n->b.ep.addr, &next, 0, &n->b.acts);
    ike_esp_mapping(n->b.core, b->child_spi_in, &n->a.ep.addr, &next, 0, &n->b.acts); /* not our address */
    ike_esp_mapping(n->b.core, b->child_spi_in, &n->b.ep.addr, &now, 0, &n->b.acts);
    run(n, &n->b);
    ike_actions_clear(&n->b.acts);
    assert_int_equal(n->b.moves, 0);
    ike_esp_mapping(n->b.core, b->child_spi_in, &n->b.ep.addr, &next, 0, &n->b.acts);
    run(n, &n->b);
    ike_actions_clear(&n->b.acts);
    assert_int_equal(n->b.moves, 1);
    assert_int_equal(n->b.last_move.child.encap_remote, 40000);
    assert_int_equal(b->remote.port, 40000);
    /* back and forth between two places (or fresh packets replayed from elsewhere): at most one move a second */
    ike_esp_mapping(n->b.core, b->child_spi_in, &n->b.ep.addr, &now, IKE_NAT_FOLLOW_MIN_MS - 1, &n->b.acts);
    run(n, &n->b);
    ike_actions_clear(&n->b.acts);
    assert_int_equal(n->b.moves, 1);
    assert_int_equal(b->remote.port, 40000);
    ike_esp_mapping(n->b.core, b->child_spi_in, &n->b.ep.addr, &now, IKE_NAT_FOLLOW_MIN_MS, &n->b.acts);
    run(n, &n->b);
    ike_actions_clear(&n->b.acts);
    assert_int_equal(n->b.moves, 2);
    assert_int_equal(b->remote.port, IKE_NATT_PORT + 30000);
    ike_esp_mapping(n->b.core, b->child_spi_in, &n->b.ep.addr, &next, 3 * IKE_NAT_FOLLOW_MIN_MS, &n->b.acts);
    run(n, &n->b);
    ike_actions_clear(&n->b.acts);
    assert_int_equal(n->b.moves, 3);
    assert_int_equal(b->remote.port, 40000);
    /* A is behind the NAT: it stays, silently for ESP (the kernel tells it per packet) */
    struct ike_endpoint elsewhere = n->b.ep;
    elsewhere.port = 4501;
    ike_esp_mapping(n->a.core, a->child_spi_in, &n->a.ep.addr, &elsewhere, 0, &n->a.acts);
    run(n, &n->a);
    ike_actions_clear(&n->a.acts);
    assert_int_equal(n->a.moves, 0);
    assert_int_equal(a->remote.port, IKE_NATT_PORT);
    /* and for an authenticated IKE request from B's other port, saying why; its answer goes where B was */
    ike_timer(n->b.core, b->serial, 10000, &n->b.acts); /* B's liveness check */
    run(n, &n->b);
    ike_actions_clear(&n->b.acts);
    assert_int_equal(n->n, 1);
    n->from_ep[0].port = 4501;
    n->nat_shift = 40000 - IKE_NATT_PORT; /* the mapping B moved to */
    pump(n);
    assert_int_equal(n->a.moves, 0);
    assert_int_equal(a->remote.port, IKE_NATT_PORT);
    assert_non_null(strstr(n->a.log, "a valid message from 192.0.2.2:4501, not 192.0.2.2:4500; we are behind a NAT "
                                     "ourselves, so we stay (RFC 7296 2.23)"));
    assert_false(b->awaiting); /* A's answer reached B */
}

/*
 * A keeps its NAT's mapping with keepalives at keep-alive (5 s here); when
 * the mapping is gone for good (the NAT drops all that B sends), A's
 * liveness check goes unanswered and A's IKE SA ends, its tunnel with it:
 * the next packet makes a new IKE SA, through the new mapping.
 */
static void test_nat_keepalive_and_liveness_recovery(void **state)
{
    struct net *n = *state;
    nat_initiate(n, true);
    struct ike_sa *a = n->a.core->sas;
    unsigned serial = a->serial;
    assert_int_equal(a->keepalive_at, 5000);
    ike_timer(n->a.core, serial, 5000, &n->a.acts);
    run(n, &n->a);
    ike_actions_clear(&n->a.acts);
    assert_int_equal(n->keepalives, 1);
    ike_timer(n->a.core, serial, 10000, &n->a.acts); /* the next keepalive and the liveness check */
    run(n, &n->a);
    ike_actions_clear(&n->a.acts);
    assert_int_equal(n->keepalives, 2);
    assert_true(a->awaiting);
    n->drop_next = 100;
    uint64_t t = 10500;
    for (int i = 0; i < 10 && n->a.downs == 0; i++, t += 40000) {
        ike_timer(n->a.core, serial, t, &n->a.acts);
        run(n, &n->a);
        ike_actions_clear(&n->a.acts);
    }
    assert_int_equal(n->a.downs, 1);
    assert_non_null(strstr(n->a.last_down, "liveness check: the peer is dead"));
    assert_int_equal(n->a.deletes, 1);
    /* a new IKE SA through the NAT's new mapping */
    n->drop_next = 0;
    for (size_t i = 0; i < n->n; i++)
        free(n->pkt[i]);
    n->n = 0;
    n->nat_shift = 33000;
    nat_initiate(n, true);
    assert_int_equal(n->a.ups, 2);
    assert_int_equal(n->b.ups, 2);
    assert_int_equal(n->b.child.encap_remote, IKE_NATT_PORT + 33000);
}

static void test_corrupt_sk_dropped(void **state)
{
    struct net *n = *state;
    set_ciphers(n->a.core, IKE_CIPHER_AES_CBC, 0); /* an SK payload with an HMAC ICV */
    n->b.allow_null = true;
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_NULL};
    unsigned serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    run(n, &n->a);
    ike_actions_clear(&n->a.acts);
    /* deliver IKE_SA_INIT, then corrupt the IKE_AUTH request's ICV */
    struct side *b = &n->b;
    ike_receive(b->core, &b->ep, &n->a.ep, n->pkt[0], n->len[0], 0, &b->acts);
    free(n->pkt[0]);
    n->n = 0;
    run(n, b);
    ike_actions_clear(&b->acts);
    ike_receive(n->a.core, &n->a.ep, &b->ep, n->pkt[0], n->len[0], 0, &n->a.acts);
    free(n->pkt[0]);
    n->n = 0;
    n->corrupt_next = 1;
    run(n, &n->a);
    ike_actions_clear(&n->a.acts);
    ike_receive(b->core, &b->ep, &n->a.ep, n->pkt[0], n->len[0], 0, &b->acts);
    bool logged = false;
    for (size_t i = 0; i < b->acts.n; i++)
        logged |= b->acts.v[i].kind == IKE_ACT_LOG && strstr(b->acts.v[i].text, "integrity check failed");
    assert_true(logged);
    assert_int_equal(b->acts.n, 1); /* only the log line: no state change, nothing sent */
    ike_actions_clear(&b->acts);
    free(n->pkt[0]);
    n->n = 0;
    /* the retransmission (uncorrupted) completes the exchange */
    ike_timer(n->a.core, serial, 500, &n->a.acts);
    pump(n);
    expect_tunnel(n);
}

static void test_delete(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    initiate(n, IKE_AUTHBY_NULL);
    expect_tunnel(n);
    ike_delete(n->a.core, n->a.serial, 0, &n->a.acts);
    pump(n);
    assert_int_equal(n->a.deletes, 1);
    assert_int_equal(n->b.deletes, 1);
    assert_int_equal(n->b.downs, 1);
    assert_non_null(strstr(n->b.last_down, "deleted by the peer"));
    assert_int_equal(ike_sa_count(n->a.core) + ike_sa_count(n->b.core), 0);
}

static void test_initial_contact_replaces_old_sa(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    initiate(n, IKE_AUTHBY_NULL);
    expect_tunnel(n);
    /* A restarts: a fresh core with no memory of the SA, initiating again */
    ike_core_free(n->a.core);
    struct ike_config cfg;
    struct oe_error err;
    ike_config_defaults(&cfg);
    cfg.signer = (struct ike_signer){dnskeys_hostkey_sign, n->a.hk, NULL};
    n->a.core = ike_core_new(&cfg, &err);
    n->a.ups = n->b.ups = n->a.installs = n->b.installs = 0;
    initiate(n, IKE_AUTHBY_NULL);
    expect_tunnel(n);
    assert_int_equal(n->b.downs, 1);
    assert_non_null(strstr(n->b.last_down, "INITIAL_CONTACT"));
    assert_int_equal(n->b.deletes, 1); /* the old Child SA leaves the kernel */
    assert_int_equal(ike_sa_count(n->b.core), 1);
}

static void test_simultaneous_initiation(void **state)
{
    struct net *n = *state;
    n->a.allow_null = n->b.allow_null = true;
    struct ike_initiate ra = {.local = n->a.ep,
                              .remote = n->b.ep,
                              .local_host = n->a.ep.addr,
                              .remote_host = n->b.ep.addr,
                              .auth = IKE_AUTHBY_NULL};
    struct ike_initiate rb = {.local = n->b.ep,
                              .remote = n->a.ep,
                              .local_host = n->b.ep.addr,
                              .remote_host = n->a.ep.addr,
                              .auth = IKE_AUTHBY_NULL};
    n->a.verbose = n->b.verbose = getenv("IKE_TEST_VERBOSE") != NULL;
    ike_initiate(n->a.core, &ra, 0, &n->a.acts);
    ike_initiate(n->b.core, &rb, 0, &n->b.acts);
    pump(n);
    /* each side both initiated and responded; the IKE SA started by the lower address (A's) stays */
    assert_int_equal(ike_sa_count(n->a.core), 1);
    assert_int_equal(ike_sa_count(n->b.core), 1);
    assert_true(n->a.core->sas->initiator);
    assert_false(n->b.core->sas->initiator);
    /* B held packets for A too: they leave when B's outbound policy replaces its hold, and
     * that waits a round trip (here 0 ms) and 20 ms, for A to read the answer and install */
    struct ike_sa *b = n->b.core->sas;
    assert_non_null(b->out_pending);
    assert_int_equal(n->b.nkout, 0);
    assert_int_equal(b->out_pending_at, 20);
    ike_timer(n->b.core, b->serial, 19, &n->b.acts);
    assert_null(find_kind(&n->b, IKE_ACT_INSTALL));
    ike_actions_clear(&n->b.acts);
    ike_timer(n->b.core, b->serial, 20, &n->b.acts);
    const struct ike_action *o = find_kind(&n->b, IKE_ACT_INSTALL);
    assert_non_null(o);
    assert_int_equal(o->child.spi_in, 0);
    assert_false(o->child.sas_only); /* the outbound policy, over the hold */
    pump(n);
    expect_one_pair(n);
    /* the tunnel the kernel keeps is the winner's, the same pair on both sides */
    assert_int_equal(n->a.child.spi_out, n->b.child.spi_in);
    assert_int_equal(n->b.child.spi_out, n->a.child.spi_in);
    assert_int_equal(n->a.core->sas->child_spi_in, n->a.child.spi_in);
    assert_int_equal(n->b.core->sas->child_spi_in, n->b.child.spi_in);
    /* a twin that was installed went without its policies (sas_only), so the winner's stay */
    assert_int_equal(n->a.policy_deletes + n->b.policy_deletes, 0);
}

static bool logged_by(struct side *s, const char *needle)
{
    for (size_t i = 0; i < s->acts.n; i++)
        if (s->acts.v[i].kind == IKE_ACT_LOG && strstr(s->acts.v[i].text, needle))
            return true;
    return false;
}

static void responder_wants_cookies(int side, struct ike_config *cfg)
{
    if (side == 1)
        cfg->cookie_threshold = 0;
}

static int setup_cookies(void **state)
{
    tune = responder_wants_cookies;
    return setup(state);
}

/* RFC 7296 2.6: under load the responder answers with a COOKIE and keeps no state */
static void test_cookie(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_NULL};
    ike_initiate(n->a.core, &req, 0, &n->a.acts);
    run(n, &n->a);
    ike_actions_clear(&n->a.acts);
    ike_receive(n->b.core, &n->b.ep, &n->a.ep, n->pkt[0], n->len[0], 0, &n->b.acts);
    free(n->pkt[0]);
    n->n = 0;
    assert_true(logged_by(&n->b, "cookies on"));
    assert_int_equal(count_kind(&n->b, IKE_ACT_SEND), 1);
    assert_int_equal(ike_sa_count(n->b.core), 0); /* no state for an unproven address */
    pump(n);
    expect_tunnel(n);
}

static void responder_only_modp(int side, struct ike_config *cfg)
{
    if (side == 1) {
        cfg->dh_groups[0] = 14;
        cfg->dh_groups[1] = 0;
    }
}

static int setup_modp(void **state)
{
    tune = responder_only_modp;
    return setup(state);
}

/* INVALID_KE_PAYLOAD: the initiator guessed DH 19, the responder wants 14 */
static void test_invalid_ke(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    n->a.verbose = false;
    initiate(n, IKE_AUTHBY_NULL);
    expect_tunnel(n);
    assert_int_equal(n->a.sends, 3); /* SA_INIT (19), SA_INIT (14), IKE_AUTH */
}

/* B (white box) asks A to rekey the Child SA, with a new SPI for B's inbound SA. */
static void peer_rekeys_child(struct net *n, uint32_t old, uint32_t spi, const uint8_t ni[32], uint64_t now)
{
    struct ike_sa *sa = n->b.core->sas;
    struct ike_builder inner = {0};
    uint8_t rk[4] = {(uint8_t)(old >> 24), (uint8_t)(old >> 16), (uint8_t)(old >> 8), (uint8_t)old};
    ikeb_notify(&inner, IKE_PROTO_ESP, rk, 4, IKE_N_REKEY_SA, NULL, 0);
    struct ike_proposal p = {.num = 1,
                             .protocol = IKE_PROTO_ESP,
                             .spi_size = 4,
                             .spi = {(uint8_t)(spi >> 24), (uint8_t)(spi >> 16), (uint8_t)(spi >> 8), (uint8_t)spi},
                             .nt = 2};
    p.t[0] = (struct ike_transform){IKE_TR_ENCR, IKE_ENCR_AES_GCM_16, 256};
    p.t[1] = (struct ike_transform){IKE_TR_ESN, 0, 0};
    ikeb_sa(&inner, &p, 1);
    ikeb_nonce(&inner, ni, 32);
    struct ike_ts tsi, tsr;
    ike_host_ts(&n->b.ep.addr, &tsi);
    ike_host_ts(&n->a.ep.addr, &tsr);
    ikeb_ts(&inner, IKE_PL_TSI, &tsi, 1);
    ikeb_ts(&inner, IKE_PL_TSR, &tsr, 1);
    struct wbuf m = {0};
    assert_int_equal(ike_encrypt(sa, IKE_CREATE_CHILD_SA, sa->next_msgid++, false, &inner, &m), 0);
    ike_receive(n->a.core, &n->a.ep, &n->b.ep, m.p, m.len, now, &n->a.acts);
    wbuf_free(&m);
    wbuf_free(&inner.b);
}

/* B (the IKE responder, white box) rekeys the Child SA; A, the IKE initiator, answers as the
 * exchange's responder, installs, later retires the old pair. */
static void test_rekey_as_responder(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    initiate(n, IKE_AUTHBY_NULL);
    expect_tunnel(n);
    struct ike_sa *sa = n->b.core->sas;
    uint32_t old_b_out = n->a.child.spi_out, old_b_in = n->a.child.spi_in;
    struct ike_builder inner = {0};
    uint8_t ni[32];
    memset(ni, 0x5c, sizeof(ni));
    struct wbuf m = {0};
    peer_rekeys_child(n, sa->child_spi_in, 0x11223344, ni, 0);
    bool installed = false, rekeyed = false, answered = false;
    for (size_t i = 0; i < n->a.acts.n; i++) {
        struct ike_action *a = &n->a.acts.v[i];
        if (a->kind == IKE_ACT_INSTALL) {
            /* the inbound SA alone: B has not installed its own yet, so A keeps sending on the old
             * pair until B retires it */
            installed = true;
            assert_int_equal(a->child.spi_out, 0);
            assert_int_equal(a->child.key_len, 36);
            assert_true(a->child.sas_only);
            assert_int_not_equal(a->child.spi_in, old_b_in);
            assert_int_equal(a->child.reqid, n->a.child.reqid); /* same policies keep serving */
        }
        rekeyed |= a->kind == IKE_ACT_REKEYED;
        answered |= a->kind == IKE_ACT_SEND;
    }
    assert_true(installed && rekeyed && answered);
    /* A reads B's answer and derives the keys as the exchange's initiator: its i->r key must be B's
     * inbound key (RFC 7296 2.17 counts roles in this exchange, not in the IKE SA) */
    struct ike_child_sa b_new, mine;
    memset(&mine, 0, sizeof(mine));
    for (size_t i = 0; i < n->a.acts.n; i++) {
        struct ike_action *a = &n->a.acts.v[i];
        if (a->kind == IKE_ACT_INSTALL)
            b_new = a->child;
        if (a->kind != IKE_ACT_SEND)
            continue;
        struct ike_header rh;
        struct ike_payloads outer, in;
        struct wbuf plain = {0};
        struct oe_error err;
        assert_int_equal(ike_parse_header(a->msg, a->len, &rh, &err), 0);
        assert_int_equal(
            ike_parse_payloads(rh.next, a->msg + IKE_HDR_LEN, a->len - IKE_HDR_LEN, IKE_HDR_LEN, &outer, &err), 0);
        assert_int_equal(ike_decrypt(sa, a->msg, a->len, &outer, &plain, &in, &err), 0);
        assert_true(in.has_nonce && in.has_sa);
        assert_int_equal(ike_child_keymat(sa, true, NULL, 0, ni, sizeof(ni), in.nonce.p, in.nonce.len,
                                          &(struct ike_esp_algs){IKE_ENCR_AES_GCM_16, 256, 0}, &mine),
                         0);
        wbuf_wipe(&plain);
    }
    assert_memory_equal(mine.key_out, b_new.key_in, 36);
    ike_actions_clear(&n->a.acts);
    wbuf_free(&m);
    wbuf_free(&inner.b);
    /* A retires its old inbound SPI (B's old outbound): B deletes the old SAs, not the policies */
    memset(&inner, 0, sizeof(inner));
    uint8_t oldspi[4] = {(uint8_t)(old_b_out >> 24), (uint8_t)(old_b_out >> 16), (uint8_t)(old_b_out >> 8),
                         (uint8_t)old_b_out};
    ikeb_delete(&inner, IKE_PROTO_ESP, 4, oldspi, 1);
    assert_int_equal(ike_encrypt(sa, IKE_INFORMATIONAL, sa->next_msgid++, false, &inner, &m), 0);
    ike_receive(n->a.core, &n->a.ep, &n->b.ep, m.p, m.len, 0, &n->a.acts);
    bool deleted = false, sending = false;
    for (size_t i = 0; i < n->a.acts.n; i++) {
        struct ike_action *a = &n->a.acts.v[i];
        if (a->kind == IKE_ACT_INSTALL) {
            /* now the outbound SA, before the old pair goes */
            assert_false(deleted);
            sending = true;
            assert_int_equal(a->child.spi_out, 0x11223344);
            assert_int_equal(a->child.spi_in, 0);
            assert_true(a->child.sas_only);
            assert_memory_equal(mine.key_in, a->child.key_out, 36);
        }
        if (a->kind == IKE_ACT_DELETE) {
            deleted = true;
            assert_true(a->child.sas_only);
            assert_int_equal(a->child.spi_in, old_b_in);
            assert_int_equal(a->child.spi_out, old_b_out);
        }
    }
    assert_true(deleted && sending);
    assert_int_equal(ike_sa_count(n->a.core), 1);
    ike_actions_clear(&n->a.acts);
    wbuf_free(&m);
    wbuf_free(&inner.b);
}

/* A peer that rekeys and never retires the old pair: the new outbound SA goes in after
 * 3 s all the same; one that leaves while a new outbound SA waits takes only what is in
 * the kernel out, the old pair with the new. */
static void test_rekey_responder_waits_for_delete(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    initiate(n, IKE_AUTHBY_NULL);
    expect_tunnel(n);
    uint8_t ni[32];
    memset(ni, 0x5d, sizeof(ni));
    uint32_t first_in = n->a.child.spi_in, first_out = n->a.child.spi_out;
    peer_rekeys_child(n, first_out, 0x11223344, ni, 10000);
    const struct ike_action *in = find_kind(&n->a, IKE_ACT_INSTALL);
    assert_non_null(in);
    assert_int_equal(in->child.spi_out, 0);
    const struct ike_action *t = find_kind(&n->a, IKE_ACT_TIMER);
    assert_non_null(t);
    assert_int_equal(t->ms, 3000);
    ike_actions_clear(&n->a.acts);
    ike_timer(n->a.core, n->a.serial, 12999, &n->a.acts);
    assert_null(find_kind(&n->a, IKE_ACT_INSTALL));
    ike_actions_clear(&n->a.acts);
    ike_timer(n->a.core, n->a.serial, 13000, &n->a.acts);
    const struct ike_action *o = find_kind(&n->a, IKE_ACT_INSTALL);
    assert_non_null(o);
    assert_int_equal(o->child.spi_out, 0x11223344);
    assert_int_equal(o->child.spi_in, 0);
    ike_actions_clear(&n->a.acts);
    /* the peer rekeys again without retiring the first pair: that one goes now */
    uint32_t prev_in = n->a.core->sas->child_spi_in;
    peer_rekeys_child(n, 0x11223344, 0x55667788, ni, 14000);
    uint32_t new_in = n->a.core->sas->child_spi_in;
    assert_int_not_equal(new_in, prev_in);
    const struct ike_action *d = find_kind(&n->a, IKE_ACT_DELETE);
    assert_non_null(d);
    assert_true(d->child.sas_only);
    assert_int_equal(d->child.spi_in, first_in);
    assert_int_equal(d->child.spi_out, first_out);
    ike_actions_clear(&n->a.acts);
    /* then it deletes the IKE SA before A sends on the newest pair */
    ike_delete(n->a.core, n->a.serial, 14100, &n->a.acts);
    int deletes = 0;
    for (size_t i = 0; i < n->a.acts.n; i++) {
        const struct ike_action *a = &n->a.acts.v[i];
        assert_int_not_equal(a->kind, IKE_ACT_INSTALL);
        if (a->kind != IKE_ACT_DELETE)
            continue;
        deletes++;
        if (a->child.spi_in == prev_in) {
            assert_true(a->child.sas_only); /* the old pair */
            assert_int_equal(a->child.spi_out, 0x11223344);
        } else {
            assert_int_equal(a->child.spi_in, new_in);
            assert_int_equal(a->child.spi_out, 0); /* never installed */
            assert_false(a->child.sas_only);       /* and the policies */
        }
    }
    assert_int_equal(deletes, 2);
}

/* A's own rekey while the outbound SA of the peer's still waits: that one goes in first, so
 * that the kernel's newest outbound SA is never an older pair's */
static void test_own_rekey_installs_waiting_outbound(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    initiate(n, IKE_AUTHBY_NULL);
    expect_tunnel(n);
    uint8_t ni[32];
    memset(ni, 0x5e, sizeof(ni));
    peer_rekeys_child(n, n->a.child.spi_out, 0x11223344, ni, 10000);
    ike_actions_clear(&n->a.acts);
    ike_child_expired(n->a.core, n->a.core->sas->child_spi_in, &n->a.ep.addr, false, 11000, &n->a.acts);
    const struct ike_action *o = find_kind(&n->a, IKE_ACT_INSTALL), *req = find_kind(&n->a, IKE_ACT_SEND);
    assert_non_null(o);
    assert_non_null(req);
    assert_true(o < req);
    assert_int_equal(o->child.spi_out, 0x11223344);
    assert_null(n->a.core->sas->out_pending);
}

/* The peer rekeys twice before retiring anything: the first pair's waiting outbound SA goes in,
 * then the second pair's inbound SA alone, its outbound waiting in turn */
static void test_peer_rekeys_twice(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    initiate(n, IKE_AUTHBY_NULL);
    expect_tunnel(n);
    uint8_t ni[32];
    memset(ni, 0x5f, sizeof(ni));
    peer_rekeys_child(n, n->a.child.spi_out, 0x11223344, ni, 10000);
    ike_actions_clear(&n->a.acts);
    peer_rekeys_child(n, 0x11223344, 0x55667788, ni, 10500);
    const struct ike_action *first = find_kind(&n->a, IKE_ACT_INSTALL);
    assert_non_null(first);
    assert_int_equal(first->child.spi_out, 0x11223344);
    assert_int_equal(first->child.spi_in, 0);
    const struct ike_action *second = NULL;
    for (const struct ike_action *a = first + 1; a < n->a.acts.v + n->a.acts.n; a++)
        if (a->kind == IKE_ACT_INSTALL)
            second = a;
    assert_non_null(second);
    assert_int_equal(second->child.spi_out, 0);
    assert_int_equal(n->a.core->sas->out_pending->spi_out, 0x55667788);
}

static void test_garbage_is_dropped(void **state)
{
    struct net *n = *state;
    uint8_t junk[64];
    memset(junk, 0x20, sizeof(junk));
    ike_receive(n->b.core, &n->b.ep, &n->a.ep, junk, sizeof(junk), 0, &n->b.acts);
    assert_int_equal(n->b.acts.n, 1);
    assert_int_equal(n->b.acts.v[0].kind, IKE_ACT_LOG);
    assert_non_null(strstr(n->b.acts.v[0].text, "length field"));
    ike_actions_clear(&n->b.acts);
    assert_int_equal(ike_sa_count(n->b.core), 0);
}

/* ---- a hostile initiator (issue 9): A's IKE_AUTH carries the selectors a test gives ---- */

static void ts_host(const char *addr, struct ike_ts *t)
{
    struct oe_addr a;
    assert_int_equal(oe_addr_parse(addr, &a), 0);
    ike_host_ts(&a, t);
}

/* IKE_SA_INIT as usual, then A's IKE_AUTH with these TSi (TSr: B) instead of its own. */
static void hostile_auth(struct net *n, enum ike_authby auth, const struct ike_ts *tsi, size_t ntsi)
{
    n->drop_auth = true;
    initiate(n, auth);
    n->drop_auth = false;
    struct ike_sa *sa = n->a.core->sas;
    assert_non_null(sa);
    assert_int_equal(sa->state, SA_AUTH_SENT);
    struct ike_ts tsr;
    ike_host_ts(&n->b.ep.addr, &tsr);
    struct wbuf m = {0};
    struct oe_error err;
    sa->next_msgid = 1;
    assert_int_equal(ike_build_auth_request(n->a.core, sa, tsi, ntsi, &tsr, 1, &m, &err), 0);
    n->pkt[n->n] = m.p;
    n->len[n->n] = m.len;
    n->from_ep[n->n] = sa->local;
    n->to_ep[n->n] = sa->remote;
    n->to[n->n++] = 1;
    pump(n);
}

/* Finding 1: a peer behind a NAT (or one that says so) names another host in TSi. */
static void test_fake_nat_hijack(void **state)
{
    struct net *n = *state;
    n->nat = true;
    n->b.allow_null = true;
    struct ike_ts victim;
    ts_host("198.51.100.77", &victim);
    hostile_auth(n, IKE_AUTHBY_NULL, &victim, 1);
    assert_true(n->b.core->sas == NULL || !n->b.core->sas->nat_local);
    assert_int_equal(n->b.installs, 0);
    assert_int_equal(n->b.ups, 0);
    assert_int_equal(n->b.need_keys, 0); /* refused before any DNS work */
    assert_non_null(strstr(n->a.last_down, "TS_UNACCEPTABLE"));
}

/* The hijack with a pool: a NAT'ed client names a real host in TSi and asks for an address: the tunnel is the lease's. */
static void test_fake_nat_hijack_with_pool(void **state)
{
    struct net *n = *state;
    n->nat = true;
    n->b.allow_null = true;
    n->drop_auth = true;
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_NULL,
                               .ask_address = true};
    n->a.serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    pump(n);
    n->drop_auth = false;
    struct ike_sa *sa = n->a.core->sas;
    struct ike_ts victim, tsr;
    ts_host("198.51.100.77", &victim);
    ike_host_ts(&n->b.ep.addr, &tsr);
    struct wbuf m = {0};
    struct oe_error err;
    sa->next_msgid = 1;
    assert_int_equal(ike_build_auth_request(n->a.core, sa, &victim, 1, &tsr, 1, &m, &err), 0);
    n->pkt[n->n] = m.p;
    n->len[n->n] = m.len;
    n->from_ep[n->n] = sa->local;
    n->to_ep[n->n] = sa->remote;
    n->to[n->n++] = 1;
    pump(n);
    assert_int_equal(n->b.installs, 1);
    expect_addr(&n->b.child.remote_host, "100.64.0.1");
    assert_null(strstr(n->b.log, "198.51.100.77"));
}

/* Finding 3: TSi[0] is another host, TSi[1] the peer itself: one host or nothing. */
static void test_tsi_first_picks_group(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    struct ike_ts tsi[2];
    ts_host("198.51.100.77", &tsi[0]);
    ike_host_ts(&n->a.ep.addr, &tsi[1]);
    hostile_auth(n, IKE_AUTHBY_RSASIG, tsi, 2);
    assert_int_equal(n->b.installs, 0);
    assert_int_equal(n->b.need_keys, 0);
    assert_non_null(strstr(n->a.last_down, "TS_UNACCEPTABLE"));
}

/* Finding 3: whatever host the core asks the key for is the host the tunnel is for. */
static void test_tsi_host_asked_is_host_installed(void **state)
{
    struct net *n = *state;
    struct ike_ts tsi[2];
    ts_host("198.51.100.77", &tsi[0]);
    ts_host("198.51.100.77", &tsi[1]);
    hostile_auth(n, IKE_AUTHBY_RSASIG, tsi, 2); /* the harness's DNS vouches for anything */
    char s1[OE_ADDR_STRLEN], s2[OE_ADDR_STRLEN];
    assert_int_equal(n->b.need_keys, 1);
    assert_string_equal(oe_addr_str(&n->b.asked_for, s1), "198.51.100.77");
    assert_int_equal(n->b.installs, 1);
    assert_string_equal(oe_addr_str(&n->b.child.remote_host, s2), "198.51.100.77");
}

/* A NULL-authenticated peer has no key to vouch for a client: it speaks for itself only. */
static void test_null_peer_claims_client(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    struct ike_ts victim;
    ts_host("198.51.100.77", &victim);
    hostile_auth(n, IKE_AUTHBY_NULL, &victim, 1);
    assert_int_equal(n->b.installs, 0);
    assert_int_equal(n->b.need_keys, 0);
    assert_non_null(strstr(n->a.last_down, "TS_UNACCEPTABLE"));
}

/* A Child SA for one protocol is not a host-wide tunnel: refused, not widened. */
static void test_tsi_protocol_not_widened(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    struct ike_ts tcp;
    ike_host_ts(&n->a.ep.addr, &tcp);
    tcp.proto = 6;
    hostile_auth(n, IKE_AUTHBY_NULL, &tcp, 1);
    assert_int_equal(n->b.installs, 0);
}

/* Finding 2 (core part): INITIAL_CONTACT drops the SAs of that identity only. */
static void test_initial_contact_same_identity_only(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_RSASIG);
    expect_tunnel(n);
    /* from the same address, another identity (NULL) says INITIAL_CONTACT */
    n->b.allow_null = true;
    ike_core_free(n->a.core);
    struct ike_config cfg;
    struct oe_error err;
    ike_config_defaults(&cfg);
    cfg.signer = (struct ike_signer){dnskeys_hostkey_sign, n->a.hk, NULL};
    n->a.core = ike_core_new(&cfg, &err);
    n->a.ups = n->b.ups = n->a.installs = n->b.installs = 0;
    initiate(n, IKE_AUTHBY_NULL);
    assert_int_equal(n->b.ups, 1);
    assert_int_equal(n->b.downs, 0); /* the RSA-authenticated SA stays */
    assert_int_equal(ike_sa_count(n->b.core), 2);
}

/* A second IKE SA with the same peer (a host behind it) says no INITIAL_CONTACT: the first stays. */
static void test_second_sa_keeps_first(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_RSASIG);
    expect_tunnel(n);
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .auth = IKE_AUTHBY_RSASIG,
                               .peer_key = key_of(&n->a.peer_key)};
    oe_addr_parse("203.0.113.2", &req.remote_host);
    ike_initiate(n->a.core, &req, 0, &n->a.acts);
    pump(n);
    assert_int_equal(n->b.ups, 2);
    assert_int_equal(n->b.downs, 0);
    assert_int_equal(ike_sa_count(n->b.core), 2);
}

/* ---- issue 9, findings 6, 8 and 9: hostile peers and on-path attackers ---- */

/* Finding 6: a peer picks its inbound SPI (our outbound SA to it) equal to our inbound SPI of
 * another tunnel; the kernel names an SA by SPI and destination, and so must the core: the
 * other tunnel's expire events leave the peer's SA alone. */
static void test_expire_matches_spi_and_address(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_RSASIG);
    expect_tunnel(n);
    struct ike_sa *victim = n->a.core->sas;
    struct ike_initiate req = {
        .local = n->a.ep, .local_host = n->a.ep.addr, .auth = IKE_AUTHBY_RSASIG, .peer_key = key_of(&n->a.peer_key)};
    oe_addr_parse("192.0.2.66", &req.remote.addr); /* the hostile peer (B's core answers there too) */
    req.remote.port = 500;
    req.remote_host = req.remote.addr;
    ike_initiate(n->a.core, &req, 0, &n->a.acts);
    pump(n);
    assert_int_equal(n->a.ups, 2);
    struct ike_sa *hostile = n->a.core->sas; /* the newest: found first by an SPI-only match */
    assert_true(hostile != victim && hostile->state == SA_ESTABLISHED && victim->state == SA_ESTABLISHED);
    uint32_t spi = victim->child_spi_in;
    hostile->child_spi_out = spi; /* what the hostile peer chose for its inbound SA */
    ike_sa_index(hostile);
    /* the victim tunnel's inbound SA (destination: us) reaches its soft lifetime: that tunnel rekeys */
    ike_child_expired(n->a.core, spi, &n->a.ep.addr, false, 1000, &n->a.acts);
    const struct ike_action *rq = find_kind(&n->a, IKE_ACT_SEND);
    assert_non_null(rq);
    assert_true(oe_addr_eq(&rq->remote.addr, &n->b.ep.addr));
    assert_int_equal(hostile->pending, XCHG_NONE);
    ike_actions_clear(&n->a.acts);
    /* the hostile peer's outbound SA (destination: it) is its own */
    ike_child_expired(n->a.core, spi, &req.remote.addr, false, 1000, &n->a.acts);
    rq = find_kind(&n->a, IKE_ACT_SEND);
    assert_non_null(rq);
    assert_true(oe_addr_eq(&rq->remote.addr, &req.remote.addr));
    ike_actions_clear(&n->a.acts);
    /* an SA of neither (right SPI, another destination) moves nothing */
    struct oe_addr elsewhere;
    oe_addr_parse("198.51.100.7", &elsewhere);
    ike_child_expired(n->a.core, spi, &elsewhere, true, 1000, &n->a.acts);
    assert_int_equal(n->a.acts.n, 0);
    assert_int_equal(ike_sa_count(n->a.core), 2);
    /* the victim's hard lifetime ends the victim's IKE SA, not the hostile peer's */
    ike_child_expired(n->a.core, spi, &n->a.ep.addr, true, 1000, &n->a.acts);
    assert_int_equal(ike_sa_count(n->a.core), 1);
    assert_ptr_equal(n->a.core->sas, hostile);
    ike_actions_clear(&n->a.acts);
}

/* A's IKE_SA_INIT request out (queued for B), with A's SA to answer it as someone else would. */
static struct ike_sa *init_sent(struct net *n)
{
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_RSASIG,
                               .peer_key = key_of(&n->a.peer_key)};
    n->a.serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    run(n, &n->a);
    ike_actions_clear(&n->a.acts);
    assert_int_equal(n->n, 1);
    struct ike_sa *sa = n->a.core->sas;
    assert_int_equal(sa->state, SA_INIT_SENT);
    return sa;
}

/* An unprotected IKE_SA_INIT response from "B" to A's request: SA (np proposals), KE, Nr. */
static void forged_init_answer(struct net *n, const struct ike_proposal *p, size_t np, int ke_group)
{
    struct ike_header h = {
        .spi_i = n->a.core->sas->spi_i, .spi_r = 0x0123456789abcdefull, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_R};
    struct oe_error err;
    struct ike_dh *dh = ike_dh_new(NULL, ke_group, &err);
    assert_non_null(dh);
    size_t publen;
    const uint8_t *pub = ike_dh_public(dh, &publen);
    uint8_t nr[32];
    memset(nr, 0x6b, sizeof(nr));
    struct ike_builder mb = {0};
    ikeb_header(&mb, &h);
    ikeb_sa(&mb, p, np);
    ikeb_ke(&mb, (uint16_t)ke_group, pub, publen);
    ikeb_nonce(&mb, nr, sizeof(nr));
    ikeb_finish(&mb);
    ike_receive(n->a.core, &n->a.ep, &n->b.ep, mb.b.p, mb.b.len, 0, &n->a.acts);
    wbuf_free(&mb.b);
    ike_dh_free(dh);
}

/* An unprotected IKE_SA_INIT response that is only a notify, as a refusal is. */
static void forged_init_notify(struct net *n, uint16_t type, const uint8_t *data, size_t len)
{
    struct ike_header h = {.spi_i = n->a.core->sas->spi_i, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_R};
    struct ike_builder mb = {0};
    ikeb_header(&mb, &h);
    ikeb_notify(&mb, 0, NULL, 0, type, data, len);
    ikeb_finish(&mb);
    ike_receive(n->a.core, &n->a.ep, &n->b.ep, mb.b.p, mb.b.len, 0, &n->a.acts);
    wbuf_free(&mb.b);
}

/* A ignored what came: still waiting for the answer to the same request, nothing sent, no verdict. */
static void expect_still_waiting(struct net *n, const char *logged)
{
    struct ike_sa *sa = n->a.core->sas; /* the newest */
    assert_non_null(sa);
    assert_int_equal(sa->state, SA_INIT_SENT);
    assert_true(sa->awaiting);
    assert_null(find_kind(&n->a, IKE_ACT_SEND));
    assert_null(find_kind(&n->a, IKE_ACT_DOWN));
    if (!logged_by(&n->a, logged)) {
        for (size_t i = 0; i < n->a.acts.n; i++)
            print_message("A logged: %s\n", n->a.acts.v[i].text);
        fail_msg("A did not log \"%s\"", logged);
    }
    ike_actions_clear(&n->a.acts);
}

/* Finding 8: the initiator takes only what it offered: a cipher in ciphers, the group of its KE,
 * a PRF and integrity algorithm of its offer, one transform of each type, its own proposal. */
static void test_initiator_refuses_unoffered_transform(void **state)
{
    struct net *n = *state;
    set_ciphers(n->a.core, IKE_CIPHER_AES_CBC, 0); /* A offers AES-CBC only, with DH 19 */
    init_sent(n);
    struct ike_choice cbc = {.num = 1,
                             .encr = IKE_ENCR_AES_CBC,
                             .encr_bits = 256,
                             .integ = IKE_INTEG_SHA2_256_128,
                             .prf = IKE_PRF_SHA2_256,
                             .dh = IKE_DH_ECP256};
    struct ike_choice gcm = cbc, prf = cbc, integ = cbc, dh = cbc, num = cbc;
    gcm.encr = IKE_ENCR_AES_GCM_16;
    gcm.integ = 0;
    prf.prf = 2;     /* PRF_HMAC_SHA1 */
    integ.integ = 2; /* AUTH_HMAC_SHA1_96 */
    dh.dh = IKE_DH_CURVE25519;
    num.num = 2; /* A sent one proposal */
    struct ike_proposal p[2];
    ike_ike_answer(&gcm, 0, &p[0]);
    forged_init_answer(n, p, 1, IKE_DH_ECP256);
    expect_still_waiting(n, "not in ciphers");
    ike_ike_answer(&prf, 0, &p[0]);
    forged_init_answer(n, p, 1, IKE_DH_ECP256);
    expect_still_waiting(n, "PRF 2, which we did not offer");
    ike_ike_answer(&integ, 0, &p[0]);
    forged_init_answer(n, p, 1, IKE_DH_ECP256);
    expect_still_waiting(n, "integrity 2, which we did not offer");
    ike_ike_answer(&dh, 0, &p[0]);
    forged_init_answer(n, p, 1, IKE_DH_CURVE25519);
    expect_still_waiting(n, "DH 31, but our KE was for DH 19");
    ike_ike_answer(&num, 0, &p[0]);
    forged_init_answer(n, p, 1, IKE_DH_ECP256);
    expect_still_waiting(n, "proposal 2");
    /* two of a type: a second cipher, a second integrity algorithm */
    ike_ike_answer(&cbc, 0, &p[0]);
    p[0].t[p[0].nt++] = (struct ike_transform){IKE_TR_ENCR, IKE_ENCR_AES_CBC, 128};
    forged_init_answer(n, p, 1, IKE_DH_ECP256);
    expect_still_waiting(n, "more than one");
    ike_ike_answer(&cbc, 0, &p[0]);
    p[0].t[p[0].nt++] = (struct ike_transform){IKE_TR_INTEG, IKE_INTEG_SHA2_512_256, 0};
    forged_init_answer(n, p, 1, IKE_DH_ECP256);
    expect_still_waiting(n, "more than one");
    /* two proposals */
    ike_ike_answer(&cbc, 0, &p[0]);
    ike_ike_answer(&cbc, 0, &p[1]);
    forged_init_answer(n, p, 2, IKE_DH_ECP256);
    expect_still_waiting(n, "2 proposals");
    /* the real answer still completes the exchange */
    pump(n);
    expect_tunnel(n);
    assert_int_equal(n->a.core->sas->encr, IKE_ENCR_AES_CBC);
}

/* A side takes DH 19 and 31 only (dh-groups), the other the defaults. */
static void pfs_19_31(int side, struct ike_config *cfg)
{
    if (side == 0) {
        cfg->dh_groups[0] = IKE_DH_ECP256;
        cfg->dh_groups[1] = IKE_DH_CURVE25519;
        cfg->dh_groups[2] = 0;
    }
}

static int setup_pfs_19_31(void **state)
{
    tune = pfs_19_31;
    return setup(state);
}

/* B (white box) asks A to rekey the Child SA with PFS: its proposal names group, its KE ke_group.
 * Returns A's answer's error notify (0: none); data gets its first two octets. */
static uint16_t peer_rekeys_child_pfs(struct net *n, int group, int ke_group, uint8_t data[2])
{
    struct ike_sa *sa = n->b.core->sas;
    uint32_t old = sa->child_spi_in, spi = 0x22334455;
    struct ike_builder inner = {0};
    uint8_t rk[4], ni[32];
    ike_put_spi32(rk, old);
    memset(ni, 0x71, sizeof(ni));
    ikeb_notify(&inner, IKE_PROTO_ESP, rk, 4, IKE_N_REKEY_SA, NULL, 0);
    struct ike_proposal p = {.num = 1, .protocol = IKE_PROTO_ESP, .spi_size = 4, .nt = 3};
    ike_put_spi32(p.spi, spi);
    p.t[0] = (struct ike_transform){IKE_TR_ENCR, IKE_ENCR_AES_GCM_16, 256};
    p.t[1] = (struct ike_transform){IKE_TR_DH, (uint16_t)group, 0};
    p.t[2] = (struct ike_transform){IKE_TR_ESN, 0, 0};
    struct oe_error err;
    struct ike_dh *dh = ike_dh_new(NULL, ke_group, &err);
    assert_non_null(dh);
    size_t publen;
    const uint8_t *pub = ike_dh_public(dh, &publen);
    ikeb_sa(&inner, &p, 1);
    ikeb_nonce(&inner, ni, sizeof(ni));
    ikeb_ke(&inner, (uint16_t)ke_group, pub, publen);
    struct ike_ts tsi, tsr;
    ike_host_ts(&n->b.ep.addr, &tsi);
    ike_host_ts(&n->a.ep.addr, &tsr);
    ikeb_ts(&inner, IKE_PL_TSI, &tsi, 1);
    ikeb_ts(&inner, IKE_PL_TSR, &tsr, 1);
    struct wbuf m = {0};
    assert_int_equal(ike_encrypt(sa, IKE_CREATE_CHILD_SA, sa->next_msgid++, false, &inner, &m), 0);
    ike_receive(n->a.core, &n->a.ep, &n->b.ep, m.p, m.len, 0, &n->a.acts);
    wbuf_free(&m);
    wbuf_free(&inner.b);
    ike_dh_free(dh);
    const struct ike_action *a = find_kind(&n->a, IKE_ACT_SEND);
    assert_non_null(a);
    struct ike_header rh;
    struct ike_payloads outer, in;
    struct wbuf plain = {0};
    assert_int_equal(ike_parse_header(a->msg, a->len, &rh, &err), 0);
    assert_int_equal(ike_parse_payloads(rh.next, a->msg + IKE_HDR_LEN, a->len - IKE_HDR_LEN, IKE_HDR_LEN, &outer, &err),
                     0);
    assert_int_equal(ike_decrypt(sa, a->msg, a->len, &outer, &plain, &in, &err), 0);
    uint16_t refused = 0;
    for (size_t i = 0; i < in.nnotify && !refused; i++) {
        if (in.notify[i].type < 16384) {
            refused = in.notify[i].type;
            memset(data, 0, 2);
            memcpy(data, in.notify[i].data.p, in.notify[i].data.len < 2 ? in.notify[i].data.len : 2);
        }
    }
    wbuf_wipe(&plain);
    return refused;
}

/* Finding 8: the responder of a Child SA rekey takes a PFS group from dh-groups only (RFC 7296
 * 1.3.1, 2.7): another group is no proposal; one of ours, but not the KE's, is INVALID_KE_PAYLOAD
 * naming the group we want. */
static void test_rekey_pfs_group_outside_dh_groups(void **state)
{
    struct net *n = *state;
    initiate(n, IKE_AUTHBY_RSASIG);
    expect_tunnel(n);
    uint8_t g[2];
    /* MODP 2048: the core supports it, A's dh-groups does not list it */
    assert_int_equal(peer_rekeys_child_pfs(n, IKE_DH_MODP2048, IKE_DH_MODP2048, g), IKE_N_NO_PROPOSAL_CHOSEN);
    assert_null(find_kind(&n->a, IKE_ACT_INSTALL));
    assert_true(logged_by(&n->a, "not in dh-groups"));
    ike_actions_clear(&n->a.acts);
    /* Curve25519 is in A's list, but the KE is for DH 19: A asks for 31 */
    assert_int_equal(peer_rekeys_child_pfs(n, IKE_DH_CURVE25519, IKE_DH_ECP256, g), IKE_N_INVALID_KE_PAYLOAD);
    assert_int_equal(g[0] << 8 | g[1], IKE_DH_CURVE25519);
    assert_null(find_kind(&n->a, IKE_ACT_INSTALL));
    ike_actions_clear(&n->a.acts);
    /* a group of A's with its KE: the rekey goes through, with PFS */
    assert_int_equal(peer_rekeys_child_pfs(n, IKE_DH_CURVE25519, IKE_DH_CURVE25519, g), 0);
    assert_non_null(find_kind(&n->a, IKE_ACT_INSTALL));
    assert_true(logged_by(&n->a, "(with PFS)"));
    ike_actions_clear(&n->a.acts);
}

/* Finding 9 (RFC 7296 2.21.1): unprotected errors and bad answers to IKE_SA_INIT do not end the
 * exchange; a bogus INVALID_KE_PAYLOAD (a group not in dh-groups, or the one we sent) is not
 * obeyed; the real answer still gets through. Without one, A gives up when its retransmissions
 * run out, and says what it was told. */
static void test_unauthenticated_init_error_keeps_waiting(void **state)
{
    struct net *n = *state;
    init_sent(n);
    forged_init_notify(n, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
    expect_still_waiting(n, "NO_PROPOSAL_CHOSEN");
    forged_init_notify(n, IKE_N_AUTHENTICATION_FAILED, NULL, 0);
    expect_still_waiting(n, "AUTHENTICATION_FAILED");
    uint8_t modp1024[2] = {0, 2}, ours[2] = {0, IKE_DH_ECP256};
    forged_init_notify(n, IKE_N_INVALID_KE_PAYLOAD, modp1024, 2);
    expect_still_waiting(n, "INVALID_KE_PAYLOAD");
    forged_init_notify(n, IKE_N_INVALID_KE_PAYLOAD, ours, 2);
    expect_still_waiting(n, "INVALID_KE_PAYLOAD");
    assert_int_equal(n->a.core->sas->dh_group, IKE_DH_ECP256);
    /* an answer without KE and Nr, and one with a KE value that is no point on the curve */
    struct ike_choice gcm = {
        .num = 1, .encr = IKE_ENCR_AES_GCM_16, .encr_bits = 256, .prf = IKE_PRF_SHA2_256, .dh = IKE_DH_ECP256};
    struct ike_proposal p;
    ike_ike_answer(&gcm, 0, &p);
    struct ike_header h = {
        .spi_i = n->a.core->sas->spi_i, .spi_r = 0x0123456789abcdefull, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_R};
    struct ike_builder mb = {0};
    ikeb_header(&mb, &h);
    ikeb_sa(&mb, &p, 1);
    ikeb_finish(&mb);
    ike_receive(n->a.core, &n->a.ep, &n->b.ep, mb.b.p, mb.b.len, 0, &n->a.acts);
    wbuf_free(&mb.b);
    expect_still_waiting(n, "lacks SA, KE or Nr");
    uint8_t bad_point[64], nr[32];
    memset(bad_point, 0x01, sizeof(bad_point));
    memset(nr, 0x6b, sizeof(nr));
    memset(&mb, 0, sizeof(mb));
    ikeb_header(&mb, &h);
    ikeb_sa(&mb, &p, 1);
    ikeb_ke(&mb, IKE_DH_ECP256, bad_point, sizeof(bad_point));
    ikeb_nonce(&mb, nr, sizeof(nr));
    ikeb_finish(&mb);
    ike_receive(n->a.core, &n->a.ep, &n->b.ep, mb.b.p, mb.b.len, 0, &n->a.acts);
    wbuf_free(&mb.b);
    expect_still_waiting(n, "ignoring IKE_SA_INIT response");
    assert_int_equal(n->a.core->sas->spi_r, 0); /* nothing of the forgeries stuck */
    pump(n);
    expect_tunnel(n);
    assert_int_equal(n->a.downs, 0);

    /* a second attempt: the attacker's NO_PROPOSAL_CHOSEN is all A hears, then silence */
    struct ike_sa *sa = init_sent(n);
    unsigned serial = sa->serial;
    free(n->pkt[0]);
    n->n = 0;
    forged_init_notify(n, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0);
    expect_still_waiting(n, "NO_PROPOSAL_CHOSEN");
    n->drop_next = 100;
    for (int i = 0; i < 10 && n->a.downs == 0; i++) {
        ike_timer(n->a.core, serial, 0, &n->a.acts);
        run(n, &n->a);
        ike_actions_clear(&n->a.acts);
    }
    assert_int_equal(n->a.downs, 1);
    assert_non_null(strstr(n->a.last_down, "no valid response after 6 transmissions"));
    assert_non_null(strstr(n->a.last_down, "NO_PROPOSAL_CHOSEN"));
}

/* A peer's nonce of 256 octets (RFC 7296 3.9 allows 16 to 256) is used whole: the keys match. */
static void test_long_nonce_kept(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_NULL};
    n->a.serial = ike_initiate(n->a.core, &req, 0, &n->a.acts);
    /* B takes only MODP: A starts again after INVALID_KE, with the nonce it has (white box: a long one) */
    struct ike_sa *sa = n->a.core->sas;
    assert_true(sizeof(sa->ni) >= IKE_MAX_NONCE);
    sa->ni_len = IKE_MAX_NONCE;
    memset(sa->ni, 0x5a, sa->ni_len);
    pump(n);
    expect_tunnel(n);
    assert_int_equal(n->b.core->sas->ni_len, IKE_MAX_NONCE);
}

/* ---- what unauthenticated IKE_SA_INIT requests can make B keep (issue 11) ---- */

/* A's IKE_SA_INIT as if from addr (A's own answer never comes: B's replies are not delivered). */
static size_t init_from(struct net *n, const char *addr, uint8_t *buf, size_t cap)
{
    struct ike_initiate req = {.local = n->a.ep,
                               .remote = n->b.ep,
                               .local_host = n->a.ep.addr,
                               .remote_host = n->b.ep.addr,
                               .auth = IKE_AUTHBY_NULL};
    oe_addr_parse(addr, &req.local.addr);
    ike_initiate(n->a.core, &req, 0, &n->a.acts);
    size_t len = 0;
    for (size_t i = 0; i < n->a.acts.n; i++)
        if (n->a.acts.v[i].kind == IKE_ACT_SEND && n->a.acts.v[i].len <= cap) {
            len = n->a.acts.v[i].len;
            memcpy(buf, n->a.acts.v[i].msg, len);
        }
    ike_actions_clear(&n->a.acts);
    assert_true(len > 0);
    return len;
}

/* Deliver to B as from addr:500; returns how many datagrams B sent back. */
static int to_b(struct net *n, const char *addr, const uint8_t *msg, size_t len, uint64_t now)
{
    struct ike_endpoint from = {.port = 500};
    oe_addr_parse(addr, &from.addr);
    ike_receive(n->b.core, &n->b.ep, &from, msg, len, now, &n->b.acts);
    int sent = 0;
    for (size_t i = 0; i < n->b.acts.n; i++)
        sent += n->b.acts.v[i].kind == IKE_ACT_SEND;
    return sent;
}

/* B's half-open SAs' serials, from its TIMER actions, then its actions cleared. */
static size_t b_timers(struct net *n, unsigned *serials, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < n->b.acts.n && k < max; i++)
        if (n->b.acts.v[i].kind == IKE_ACT_TIMER)
            serials[k++] = n->b.acts.v[i].serial;
    ike_actions_clear(&n->b.acts);
    return k;
}

static bool b_logged(struct net *n, const char *needle)
{
    for (size_t i = 0; i < n->b.acts.n; i++)
        if (n->b.acts.v[i].kind == IKE_ACT_LOG && strstr(n->b.acts.v[i].text, needle))
            return true;
    return false;
}

/* Review finding 4: 64 spoofed requests no longer stay forever, nor keep B in cookie mode. */
static void test_half_open_expires(void **state)
{
    struct net *n = *state;
    uint8_t m[3000];
    unsigned serials[80];
    size_t k = 0;
    for (int i = 0; i < 64; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "198.51.100.%d", i + 1);
        size_t len = init_from(n, addr, m, sizeof(m));
        assert_int_equal(to_b(n, addr, m, len, 0), 1);
        k += b_timers(n, serials + k, 80 - k);
    }
    assert_int_equal(k, 64);
    assert_int_equal(ike_sa_count(n->b.core), 64);
    size_t len = init_from(n, "203.0.113.50", m, sizeof(m));
    to_b(n, "203.0.113.50", m, len, 100);
    assert_true(b_logged(n, "cookies on"));
    ike_actions_clear(&n->b.acts);
    for (size_t i = 0; i < k; i++)
        ike_timer(n->b.core, serials[i], 10000, &n->b.acts);
    assert_int_equal(ike_sa_count(n->b.core), 0);
    assert_true(b_logged(n, "half-open-timeout"));
    ike_actions_clear(&n->b.acts);
    /* cookies disengage with the load, once no request needed one for half-open-timeout */
    len = init_from(n, "203.0.113.51", m, sizeof(m));
    assert_int_equal(to_b(n, "203.0.113.51", m, len, 10100), 1);
    assert_true(b_logged(n, "cookies off"));
    assert_int_equal(ike_sa_count(n->b.core), 1);
}

static size_t b_count_logged(struct net *n, const char *needle)
{
    size_t k = 0;
    for (size_t i = 0; i < n->b.acts.n; i++)
        k += n->b.acts.v[i].kind == IKE_ACT_LOG && strstr(n->b.acts.v[i].text, needle) != NULL;
    return k;
}

/* B's own timer (cookie mode) among its actions: its delay, or 0 when none is armed. */
static uint32_t b_core_timer(struct net *n)
{
    uint32_t ms = 0;
    for (size_t i = 0; i < n->b.acts.n; i++)
        if (n->b.acts.v[i].kind == IKE_ACT_TIMER && n->b.acts.v[i].serial == 0)
            ms = n->b.acts.v[i].ms;
    return ms;
}

/*
 * A flood from many sources: cookies go on once (one line, not one per request), stay on
 * while requests keep needing them even when the half-open SAs have gone (no flapping every
 * half-open-timeout), and go off once (one line) after a quiet half-open-timeout.
 */
static void test_cookies_on_off_once(void **state)
{
    struct net *n = *state;
    uint8_t m[3000];
    unsigned serials[80];
    size_t k = 0, on = 0, off = 0;
    uint32_t armed = 0;
    for (int i = 0; i < 64; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), "198.51.100.%d", i + 1);
        size_t len = init_from(n, addr, m, sizeof(m));
        to_b(n, addr, m, len, 0);
        k += b_timers(n, serials + k, 80 - k);
    }
    assert_int_equal(ike_half_open_count(n->b.core), 64);
    /* 40 s of flood, a request every 100 ms; the 64 half-open SAs expire at 10 s */
    for (uint64_t t = 100; t <= 40000; t += 100) {
        char addr[32];
        snprintf(addr, sizeof(addr), "203.0.113.%d", (int)(t / 100) % 250 + 1);
        size_t len = init_from(n, addr, m, sizeof(m));
        assert_int_equal(to_b(n, addr, m, len, t), 1); /* a COOKIE notify, and no SA */
        on += b_count_logged(n, "cookies on");
        off += b_count_logged(n, "cookies off");
        if (b_core_timer(n))
            armed = b_core_timer(n);
        ike_actions_clear(&n->b.acts);
        if (t == 10000) {
            for (size_t i = 0; i < k; i++)
                ike_timer(n->b.core, serials[i], t, &n->b.acts);
            ike_actions_clear(&n->b.acts);
            assert_int_equal(ike_half_open_count(n->b.core), 0);
        }
        if (t % 10000 == 0) { /* the core's timer, as the agent would run it */
            ike_timer(n->b.core, 0, t, &n->b.acts);
            off += b_count_logged(n, "cookies off");
            ike_actions_clear(&n->b.acts);
        }
    }
    assert_int_equal(on, 1);
    assert_int_equal(off, 0);
    assert_int_equal(armed, 10000);
    assert_int_equal(ike_sa_count(n->b.core), 0);
    /* the flood ends: quiet for less than half-open-timeout, still on */
    ike_timer(n->b.core, 0, 49999, &n->b.acts);
    assert_int_equal(b_count_logged(n, "cookies off"), 0);
    assert_int_equal(b_core_timer(n), 1);
    ike_actions_clear(&n->b.acts);
    ike_timer(n->b.core, 0, 50000, &n->b.acts);
    assert_int_equal(b_count_logged(n, "cookies off"), 1);
    assert_true(b_logged(n, "400 requests asked for one"));
    assert_int_equal(b_core_timer(n), 0); /* off: nothing more to watch */
    ike_actions_clear(&n->b.acts);
    /* and a new initiator is answered at once */
    size_t len = init_from(n, "203.0.113.251", m, sizeof(m));
    assert_int_equal(to_b(n, "203.0.113.251", m, len, 50001), 1);
    assert_int_equal(ike_sa_count(n->b.core), 1);
    assert_false(b_logged(n, "cookie"));
}

static void small_caps(int side, struct ike_config *cfg)
{
    if (side == 1) {
        cfg->max_half_open_per_source = 3;
        cfg->max_half_open = 5;
    }
}

static int setup_small_caps(void **state)
{
    tune = small_caps;
    return setup(state);
}

/* One address (an IPv6 /64 alike) holds its share; all of them together at most max-half-open. */
static void test_half_open_capped(void **state)
{
    struct net *n = *state;
    uint8_t m[3000];
    for (int i = 0; i < 3; i++) {
        size_t len = init_from(n, "198.51.100.7", m, sizeof(m));
        assert_int_equal(to_b(n, "198.51.100.7", m, len, 0), 1);
        ike_actions_clear(&n->b.acts);
    }
    size_t len = init_from(n, "198.51.100.7", m, sizeof(m));
    assert_int_equal(to_b(n, "198.51.100.7", m, len, 0), 0);
    assert_true(b_logged(n, "max-half-open-per-source"));
    ike_actions_clear(&n->b.acts);
    assert_int_equal(ike_sa_count(n->b.core), 3);
    len = init_from(n, "2001:db8:1:2::1", m, sizeof(m));
    assert_int_equal(to_b(n, "2001:db8:1:2::1", m, len, 0), 1);
    ike_actions_clear(&n->b.acts);
    len = init_from(n, "2001:db8:1:2::99", m, sizeof(m)); /* same /64 */
    assert_int_equal(to_b(n, "2001:db8:1:2::99", m, len, 0), 1);
    ike_actions_clear(&n->b.acts);
    len = init_from(n, "198.51.100.8", m, sizeof(m)); /* the sixth: max-half-open */
    assert_int_equal(to_b(n, "198.51.100.8", m, len, 0), 0);
    assert_true(b_logged(n, "max-half-open"));
    assert_int_equal(ike_sa_count(n->b.core), 5);
}

/* Review finding 7: only the same octets get the answer again, and not in a storm. */
static void test_retransmit_only_same_request(void **state)
{
    struct net *n = *state;
    uint8_t m[3000];
    size_t len = init_from(n, "198.51.100.7", m, sizeof(m));
    assert_int_equal(to_b(n, "198.51.100.7", m, len, 0), 1);
    ike_actions_clear(&n->b.acts);
    assert_int_equal(to_b(n, "198.51.100.7", m, IKE_HDR_LEN, 10), 0); /* the header alone */
    ike_actions_clear(&n->b.acts);
    uint8_t other[3000];
    memcpy(other, m, len);
    other[len - 1] ^= 1;
    assert_int_equal(to_b(n, "198.51.100.7", other, len, 20), 0);
    ike_actions_clear(&n->b.acts);
    assert_int_equal(to_b(n, "198.51.100.7", m, len, 30), 1); /* a real retransmission */
    ike_actions_clear(&n->b.acts);
    assert_int_equal(to_b(n, "198.51.100.7", m, len, 40), 0); /* too soon after the last */
    ike_actions_clear(&n->b.acts);
    int sent = 0;
    for (int i = 0; i < 20; i++) {
        sent += to_b(n, "198.51.100.7", m, len, 1000 + (uint64_t)i * 1000);
        ike_actions_clear(&n->b.acts);
    }
    assert_int_equal(sent, IKE_MAX_RESENDS - 1);
}

/* An IKE_SA_INIT larger than what B keeps is not answered. */
static void test_oversized_init_dropped(void **state)
{
    struct net *n = *state;
    uint8_t m[IKE_MAX_SA_INIT_LEN + 100];
    size_t len = init_from(n, "198.51.100.7", m, sizeof(m));
    memset(m + len, 0, sizeof(m) - len);
    /* a Vendor ID payload (43) at the end carries the padding: the message parses, and is too big */
    size_t pad = sizeof(m) - len;
    uint8_t first = m[16];
    m[16] = 43;
    memmove(m + IKE_HDR_LEN + pad, m + IKE_HDR_LEN, len - IKE_HDR_LEN);
    memset(m + IKE_HDR_LEN, 0, pad);
    m[IKE_HDR_LEN] = first; /* the vendor ID's next payload: what was first */
    put_be(m + IKE_HDR_LEN + 2, pad, 2);
    put_be(m + 24, sizeof(m), 4);
    assert_int_equal(to_b(n, "198.51.100.7", m, sizeof(m), 0), 0);
    assert_true(b_logged(n, "more than the 3000 we keep"));
    assert_int_equal(ike_sa_count(n->b.core), 0);
}

/* One NULL peer initiating again and again keeps at most max_sas_per_peer IKE SAs at B (issue 11). */
static void test_sas_per_peer_capped(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    for (int i = 0; i < 5; i++)
        initiate(n, IKE_AUTHBY_NULL);
    assert_int_equal(n->b.ups, 5);
    assert_int_equal(ike_sa_count(n->b.core), 2);
    assert_int_equal(ike_sa_count(n->a.core), 2); /* B's Deletes reached A */
}

/* Issue 14: A talks to two of B's addresses; B's IKE SAs for both host pairs live side by side. */
static void test_two_server_addresses(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    initiate(n, IKE_AUTHBY_NULL);
    struct ike_endpoint b2 = n->b.ep;
    oe_addr_parse("192.0.2.12", &b2.addr);
    /* A's first IKE SA with 192.0.2.12 carries INITIAL_CONTACT: it is the first with that address */
    struct ike_initiate req = {
        .local = n->a.ep, .remote = b2, .local_host = n->a.ep.addr, .remote_host = b2.addr, .auth = IKE_AUTHBY_NULL};
    assert_true(ike_initiate(n->a.core, &req, 0, &n->a.acts) > 0);
    pump(n);
    assert_int_equal(n->a.ups, 2);
    assert_int_equal(n->b.ups, 2);
    assert_int_equal(n->b.downs, 0); /* INITIAL_CONTACT for one pair does not end the other */
    assert_int_equal(ike_sa_count(n->b.core), 2);
    assert_int_equal(n->b.nkin, 2);
}

/* Issue 14: two of A's addresses to one remote are two tunnels; one address going ends only its own. */
static void test_two_local_addresses(void **state)
{
    struct net *n = *state;
    n->b.allow_null = true;
    initiate(n, IKE_AUTHBY_NULL);
    struct ike_endpoint a2 = n->a.ep;
    oe_addr_parse("192.0.2.11", &a2.addr);
    struct ike_initiate req = {
        .local = a2, .remote = n->b.ep, .local_host = a2.addr, .remote_host = n->b.ep.addr, .auth = IKE_AUTHBY_NULL};
    assert_true(ike_initiate(n->a.core, &req, 0, &n->a.acts) > 0);
    pump(n);
    assert_int_equal(n->a.ups, 2);
    assert_int_equal(n->b.ups, 2);
    assert_int_equal(n->a.downs + n->b.downs, 0);
    assert_int_equal(n->a.nkout, 2);
    /* 192.0.2.11 goes: its IKE SA ends, without a Delete, and takes its Child SA out; the other stays */
    int sends = n->a.sends;
    assert_int_equal(ike_delete_local(n->a.core, &a2.addr, 0, &n->a.acts), 1);
    run(n, &n->a);
    ike_actions_clear(&n->a.acts);
    assert_int_equal(n->a.sends, sends);
    assert_int_equal(n->a.downs, 1);
    assert_int_equal(n->a.policy_deletes, 1);
    assert_int_equal(n->a.nkout, 1);
    assert_int_equal(ike_sa_count(n->a.core), 1);
    assert_int_equal(ike_delete_local(n->a.core, &a2.addr, 0, &n->a.acts), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rsasig, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_key_for_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_published_keys_each_tried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_published_keys_none_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retransmission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_sk_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cbc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ciphers_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ciphers_disjoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ciphers_responder_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nat_traversal, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(test_nat_remap_follows_request, setup_pool_dpd, teardown),
        cmocka_unit_test_setup_teardown(test_nat_remap_not_on_replay_or_forgery, setup_pool_dpd, teardown),
        cmocka_unit_test_setup_teardown(test_nat_remap_on_esp_mapping, setup_pool_dpd, teardown),
        cmocka_unit_test_setup_teardown(test_nat_keepalive_and_liveness_recovery, setup_pool_dpd, teardown),
        cmocka_unit_test_setup_teardown(test_nat_lease, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(test_nat_no_address_asked, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(test_nat_outer_address_without_lease, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(test_nat_no_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nat_pool_exhausted, setup_pool_one, teardown),
        cmocka_unit_test_setup_teardown(test_nat_leases_per_source, setup_pool_per_source, teardown),
        cmocka_unit_test_setup_teardown(test_no_nat_no_lease, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(test_nat_ask_if_nat, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(test_no_nat_ask_if_nat, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(test_nat_lease_refused, setup_pool_own, teardown),
        cmocka_unit_test_setup_teardown(test_nat_lease_of_ours_refused, setup_pool_a_other, teardown),
        cmocka_unit_test_setup_teardown(test_nat_lease_own_address, setup_pool_inner, teardown),
        cmocka_unit_test_setup_teardown(test_fake_nat_hijack_with_pool, setup_pool, teardown),
        cmocka_unit_test_setup_teardown(test_no_nat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_child_rekey_initiated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_child_rekey_collision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_child_hard_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ike_rekey, setup_short_ike, teardown),
        cmocka_unit_test_setup_teardown(test_gateway_responds_for_subnet, setup_gateway, teardown),
        cmocka_unit_test_setup_teardown(test_liveness, setup_dpd, teardown),
        cmocka_unit_test_setup_teardown(test_gateway_initiates_for_client, setup_gateway, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initial_contact_replaces_old_sa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simultaneous_initiation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookie, setup_cookies, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_ke, setup_modp, teardown),
        cmocka_unit_test_setup_teardown(test_long_nonce_kept, setup_modp, teardown),
        cmocka_unit_test_setup_teardown(test_rekey_as_responder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rekey_responder_waits_for_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_rekey_installs_waiting_outbound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_rekeys_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fake_nat_hijack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tsi_first_picks_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tsi_host_asked_is_host_installed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_peer_claims_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tsi_protocol_not_widened, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initial_contact_same_identity_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_sa_keeps_first, setup_gateway, teardown),
        cmocka_unit_test_setup_teardown(test_half_open_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_open_capped, setup_small_caps, teardown),
        cmocka_unit_test_setup_teardown(test_cookies_on_off_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retransmit_only_same_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_init_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sas_per_peer_capped, setup, teardown),
        /* issue 9, findings 6, 8 and 9 */
        cmocka_unit_test_setup_teardown(test_expire_matches_spi_and_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initiator_refuses_unoffered_transform, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rekey_pfs_group_outside_dh_groups, setup_pfs_19_31, teardown),
        cmocka_unit_test_setup_teardown(test_unauthenticated_init_error_keeps_waiting, setup, teardown),
        /* issue 14: many addresses */
        cmocka_unit_test_setup_teardown(test_two_server_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_local_addresses, setup, teardown),
    };
    return cmocka_run_group_tests_name("ike_core", tests, group_setup, group_teardown);
}
