/* The core: SA table, dispatch of events, SK protection, key derivation. */
#include "ike_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

size_t ike_cipher_count(const struct ike_config *cfg)
{
    size_t n = 0;
    while (n < 2 && cfg->ciphers[n])
        n++;
    return n;
}

bool ike_cipher_ok(const struct ike_config *cfg, int encr)
{
    for (size_t i = 0; i < ike_cipher_count(cfg); i++)
        if (cfg->ciphers[i] == encr)
            return true;
    return false;
}

bool ike_dh_group_ok(const struct ike_config *cfg, int group)
{
    for (int i = 0; i < 4 && cfg->dh_groups[i]; i++)
        if (cfg->dh_groups[i] == group)
            return true;
    return false;
}

void ike_config_defaults(struct ike_config *c)
{
    memset(c, 0, sizeof(*c));
    c->retransmit_ms = 500;
    c->retransmit_tries = 6;
    c->cookie_threshold = 64;
    c->max_half_open = 1024;
    c->max_half_open_per_source = 16;
    c->half_open_timeout_ms = 10000;
    c->max_sas_per_peer = 2;
    c->max_leases_per_source = 16;
    c->ciphers[0] = IKE_ENCR_AES_GCM_16;
    c->ciphers[1] = IKE_ENCR_AES_CBC;
    c->dh_groups[0] = IKE_DH_ECP256;
    c->dh_groups[1] = IKE_DH_CURVE25519;
    c->dh_groups[2] = IKE_DH_MODP2048;
    c->child_lifetime_s = 8 * 3600; /* pluto's salifetime and ikelifetime */
    c->ike_lifetime_s = 8 * 3600;
    c->keepalive_ms = IKE_NATT_KEEPALIVE_MS;
}

uint64_t ike_rekey_due(const struct ike_core *core)
{
    uint32_t life = core->cfg.ike_lifetime_s;
    return life ? core->now + (uint64_t)ike_rekey_after(&core->cfg.env, life) * 1000 : 0;
}

uint32_t ike_rekey_after(const struct ike_env *env, uint32_t lifetime_s)
{
    /* pluto's rekeymargin (9m) or a tenth of a short lifetime, less up to half that again */
    uint32_t margin = lifetime_s / 10 < 540 ? lifetime_s / 10 : 540, jitter = 0;
    if (margin < 1)
        margin = 1;
    ike_random(env, &jitter, sizeof(jitter));
    jitter %= margin / 2 + 1;
    return lifetime_s > margin + jitter ? lifetime_s - margin - jitter : 1;
}

struct ike_core *ike_core_new(const struct ike_config *cfg, struct oe_error *err)
{
    if (ike_crypto_init(err) != 0)
        return NULL;
    struct ike_core *core = calloc(1, sizeof(*core));
    if (core == NULL) {
        oe_error_set(err, "out of memory");
        return NULL;
    }
    core->cfg = *cfg;
    for (size_t i = 0; i < OE_ARRAY_SIZE(cfg->address_pool); i++) {
        const struct oe_prefix *p = &cfg->address_pool[i];
        struct ike_pool *pool = p->addr.family == AF_INET6 ? &core->pool6 : &core->pool4;
        if (p->addr.family == 0)
            continue;
        if (pool->prefix.addr.family != 0) {
            oe_error_set(err, "address-pool: two prefixes of one family");
            ike_pool_free(&core->pool4);
            free(core);
            return NULL;
        }
        if (ike_pool_init(pool, p, err) != 0) {
            ike_pool_free(&core->pool4);
            free(core);
            return NULL;
        }
    }
    core->next_serial = 1;
    core->next_reqid = IKE_REQID_FIRST;
    uint8_t seed[32];
    if (ike_random(&core->cfg.env, core->cookie_secret, sizeof(core->cookie_secret)) != 0 ||
        ike_sha256(core->cookie_secret, sizeof(core->cookie_secret), seed) != 0) {
        oe_error_set(err, "no random numbers");
        free(core);
        return NULL;
    }
    /* the indexes' seed, from the cookie secret (one way: no new random draw, so replays stay the same) */
    memcpy(&core->hash_seed, seed, sizeof(core->hash_seed));
    return core;
}

void ike_core_free(struct ike_core *core)
{
    if (core == NULL)
        return;
    while (core->sas)
        ike_sa_free(core->sas);
    ike_sa_index_free(core);
    ike_pool_free(&core->pool4);
    ike_pool_free(&core->pool6);
    oe_wipe(core->cookie_secret, sizeof(core->cookie_secret));
    free(core);
}

void ike_release_lease(struct ike_sa *sa)
{
    if (sa->lease.family == 0 || !sa->lease_ours || sa->core == NULL)
        return;
    ike_pool_release(sa->lease.family == AF_INET6 ? &sa->core->pool6 : &sa->core->pool4, &sa->lease);
    memset(&sa->lease, 0, sizeof(sa->lease));
}

struct ike_sa *ike_sa_new(struct ike_core *core, bool initiator)
{
    struct ike_sa *sa = calloc(1, sizeof(*sa));
    if (sa == NULL)
        return NULL;
    sa->serial = core->next_serial;
    sa->child_serial = core->next_serial + 1;
    core->next_serial += 2;
    sa->initiator = initiator;
    sa->rt_ms = core->cfg.retransmit_ms;
    sa->env = &core->cfg.env;
    uint64_t spi = ike_ike_spi(sa->env);
    if (initiator)
        sa->spi_i = spi;
    else
        sa->spi_r = spi;
    ike_sa_link(core, sa);
    return sa;
}

void ike_sa_free(struct ike_sa *sa)
{
    ike_release_lease(sa);
    ike_sa_unlink(sa);
    ike_dh_free(sa->dh);
    ike_dh_free(sa->rekey_dh);
    wbuf_free(&sa->msg1);
    wbuf_free(&sa->msg2);
    wbuf_free(&sa->cookie);
    wbuf_free(&sa->last_req);
    wbuf_free(&sa->last_resp);
    wbuf_wipe(&sa->auth_req);
    wbuf_free(&sa->peer_key);
    wbuf_free(&sa->more_keys);
    ike_drop_pending_out(sa);
    free(sa->collision);
    oe_wipe(sa, sizeof(*sa));
    free(sa);
}

/* ---- actions ---- */

struct ike_action *ike_act(struct ike_actions *out, enum ike_action_kind kind, const struct ike_sa *sa)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        struct ike_action *v = realloc(out->v, cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        out->v = v;
        out->cap = cap;
    }
    struct ike_action *a = &out->v[out->n++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    if (sa) {
        a->serial = sa->serial;
        a->tag = sa->tag;
        a->local = sa->local;
        a->remote = sa->remote;
    }
    return a;
}

void ike_actions_clear(struct ike_actions *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].msg);
        oe_wipe(&a->v[i].child, sizeof(a->v[i].child));
    }
    a->n = 0;
}

void ike_log(struct ike_actions *out, const struct ike_sa *sa, const char *fmt, ...)
{
    struct ike_action *a = ike_act(out, IKE_ACT_LOG, sa);
    if (a == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->text, sizeof(a->text), fmt, ap);
    va_end(ap);
}

void ike_log_child(struct ike_actions *out, const struct ike_sa *sa, const char *fmt, ...)
{
    struct ike_action *a = ike_act(out, IKE_ACT_LOG, sa);
    if (a == NULL)
        return;
    a->serial = sa->child_serial;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->text, sizeof(a->text), fmt, ap);
    va_end(ap);
}

static void remember(struct wbuf *dst, const struct wbuf *src)
{
    dst->len = 0;
    wbuf_put(dst, src->p, src->len);
}

void ike_send(struct ike_actions *out, struct ike_sa *sa, const struct wbuf *msg, bool request)
{
    struct ike_action *a = ike_act(out, IKE_ACT_SEND, sa);
    if (a == NULL || msg->failed || (a->msg = malloc(msg->len)) == NULL)
        return;
    memcpy(a->msg, msg->p, msg->len);
    a->len = msg->len;
    if (request) {
        remember(&sa->last_req, msg);
        sa->awaiting = true;
        sa->tries = 0;
        sa->wait_ms = sa->rt_ms;
        struct ike_action *t = ike_act(out, IKE_ACT_TIMER, sa);
        if (t)
            t->ms = sa->wait_ms;
    }
}

int ike_respond(struct ike_sa *sa, uint8_t exchange, uint32_t msgid, const struct ike_builder *inner,
                struct ike_actions *out)
{
    struct wbuf m = {0};
    if (ike_encrypt(sa, exchange, msgid, true, inner, &m) != 0)
        return -1;
    /* a retransmitted request gets this same answer (RFC 7296 2.1) */
    sa->last_resp.len = 0;
    wbuf_put(&sa->last_resp, m.p, m.len);
    sa->last_resp_msgid = msgid;
    sa->have_resp = true;
    ike_answering(sa);
    sa->peer_msgid = msgid + 1;
    ike_send(out, sa, &m, false);
    wbuf_free(&m);
    return 0;
}

void ike_child_endpoints(const struct ike_sa *sa, struct ike_child_sa *c)
{
    c->local = sa->local.addr;
    c->remote = sa->remote.addr;
    c->local_host = sa->local_host;
    c->remote_host = sa->remote_host;
    c->lease = sa->lease;
    c->reqid = sa->child_reqid;
    if (sa->nat_local || sa->nat_remote) {
        /* RFC 3948: ESP in UDP between the ports IKE uses */
        c->encap_local = sa->local.port;
        c->encap_remote = sa->remote.port;
    }
}

void ike_act_delete_child(struct ike_actions *out, struct ike_sa *sa)
{
    /* a rekey's pairs still in the kernel go first; the current one last, with the policies */
    if (sa->old_spi_in)
        ike_retire_old_pair(sa, out, "the Child SA goes");
    if (sa->redundant_in)
        ike_retire_redundant_pair(sa, out, "the Child SA goes");
    struct ike_action *d = ike_act(out, IKE_ACT_DELETE, sa);
    if (d == NULL)
        return;
    ike_child_endpoints(sa, &d->child);
    d->child.spi_in = sa->child_spi_in;
    d->child.spi_out = sa->out_pending ? 0 : sa->child_spi_out; /* never installed */
    ike_drop_pending_out(sa);
}

int ike_request(struct ike_sa *sa, uint8_t exchange, const struct ike_builder *inner, struct ike_actions *out)
{
    struct wbuf m = {0};
    if (ike_encrypt(sa, exchange, sa->next_msgid, false, inner, &m) != 0)
        return -1;
    sa->next_msgid++;
    ike_send(out, sa, &m, true);
    wbuf_free(&m);
    return 0;
}

void ike_arm_established(const struct ike_core *core, struct ike_sa *sa, struct ike_actions *out)
{
    uint64_t due = 0;
    if (sa->child_rekey_wanted)
        due = core->now;
    else if (sa->keepalive_at)
        due = sa->keepalive_at;
    if (sa->ike_rekey_at && (due == 0 || sa->ike_rekey_at < due))
        due = sa->ike_rekey_at;
    if (sa->dpd_at && (due == 0 || sa->dpd_at < due))
        due = sa->dpd_at;
    if (sa->out_pending && (due == 0 || sa->out_pending_at < due))
        due = sa->out_pending_at;
    struct ike_action *t = due ? ike_act(out, IKE_ACT_TIMER, sa) : NULL;
    if (t)
        t->ms = (uint32_t)(due > core->now ? due - core->now : 0);
}

void ike_sa_fail(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out, const char *why)
{
    if (sa->retired) {
        /* the old self of a rekeyed IKE SA: its Child SA and peer live on in the new one */
        ike_sa_free(sa);
        return;
    }
    struct ike_action *a = ike_act(out, IKE_ACT_DOWN, sa);
    if (a)
        snprintf(a->text, sizeof(a->text), "%s", why);
    if (sa->state == SA_ESTABLISHED && sa->child_spi_out) {
        ike_act_delete_child(out, sa);
        /* another IKE SA's Child SA holds the same selectors: its policies stay */
        struct ike_ix_iter it;
        for (struct ike_sa *o = ike_ix_first(&it, core, IKE_IX_HOSTS, ike_ix_hash_of(sa, IKE_IX_HOSTS)); o;
             o = ike_ix_next(&it))
            if (o != sa && !o->retired && o->state == SA_ESTABLISHED && o->child_spi_out &&
                oe_addr_eq(&o->local_host, &sa->local_host) && oe_addr_eq(&o->remote_host, &sa->remote_host))
                out->v[out->n - 1].child.sas_only = true;
    }
    ike_leave_half_open(core, sa);
    ike_sa_free(sa);
}

/* ---- SK payload (RFC 7296 3.14): AES-GCM per RFC 5282, or AES-CBC with HMAC-SHA2 ---- */

int ike_encrypt(const struct ike_sa *sa, uint8_t exchange, uint32_t msgid, bool response,
                const struct ike_builder *inner, struct wbuf *msg)
{
    struct ike_header h = {.spi_i = sa->spi_i,
                           .spi_r = sa->spi_r,
                           .exchange = exchange,
                           .msgid = msgid,
                           .flags = (uint8_t)((sa->initiator ? IKE_FLAG_I : 0) | (response ? IKE_FLAG_R : 0))};
    bool cbc = sa->integ != 0;
    size_t ivlen = cbc ? 16 : 8, icvlen = cbc ? ike_integ_icv_len(sa->integ) : 16;
    struct ike_builder mb = {0};
    ikeb_header(&mb, &h);
    size_t sk = ikeb_begin(&mb, IKE_PL_SK);
    mb.b.p[sk] = inner->b.len ? inner->first : IKE_PL_NONE;
    size_t plen = inner->b.len + 1; /* payloads, padding, pad length */
    if (cbc)
        plen = (plen + 15) / 16 * 16;
    size_t total = mb.b.len + ivlen + plen + icvlen;
    wbuf_set_u16(&mb.b, sk + 2, (unsigned)(total - sk));
    wbuf_set_u32(&mb.b, 24, (uint32_t)total);
    uint8_t iv[16];
    uint8_t *plain = calloc(1, plen), *ct = malloc(plen + 16);
    const uint8_t *key = sa->initiator ? sa->sk_ei : sa->sk_er;
    int rc = -1;
    if (plain && ct && ike_random(sa->env, iv, ivlen) == 0 && !mb.b.failed) {
        if (inner->b.len)
            memcpy(plain, inner->b.p, inner->b.len);
        plain[plen - 1] = (uint8_t)(plen - inner->b.len - 1);
        if (!cbc && ike_gcm_seal(key, sa->ekey_len, iv, mb.b.p, mb.b.len, plain, plen, ct) == 0) {
            wbuf_put(&mb.b, iv, 8);
            wbuf_put(&mb.b, ct, plen + 16);
            rc = mb.b.failed ? -1 : 0;
        } else if (cbc && ike_cbc(true, key, sa->ekey_len, iv, plain, plen, ct) == 0) {
            uint8_t icv[IKE_MAX_PRF_LEN];
            wbuf_put(&mb.b, iv, 16);
            wbuf_put(&mb.b, ct, plen);
            if (!mb.b.failed &&
                ike_integ(sa->integ, sa->initiator ? sa->sk_ai : sa->sk_ar, mb.b.p, mb.b.len, icv) == 0) {
                wbuf_put(&mb.b, icv, icvlen);
                rc = mb.b.failed ? -1 : 0;
            }
        }
    }
    if (plain) {
        oe_wipe(plain, plen);
        free(plain);
    }
    free(ct);
    if (rc == 0) {
        *msg = mb.b;
    } else {
        wbuf_free(&mb.b);
    }
    return rc;
}

/* The SK body's plaintext into out (clen octets at most); its length, or -1. */
static long sk_open(const struct ike_sa *sa, const uint8_t *msg, size_t len, const struct ike_payloads *outer,
                    uint8_t *out, struct oe_error *err)
{
    const struct chunk *body = &outer->sk_body;
    /* the peer protects with its own direction's keys */
    const uint8_t *key = sa->initiator ? sa->sk_er : sa->sk_ei;
    if (sa->integ == 0) {
        size_t clen = body->len - 8;
        if (outer->sk_off + 4 > len ||
            ike_gcm_open(key, sa->ekey_len, body->p, msg, outer->sk_off + 4, body->p + 8, clen, out) != 0) {
            oe_error_set(err, "SK payload: integrity check failed");
            return -1;
        }
        return (long)(clen - 16);
    }
    size_t icvlen = ike_integ_icv_len(sa->integ), clen = body->len - 16 - icvlen;
    uint8_t icv[IKE_MAX_PRF_LEN];
    const uint8_t *their = body->p + body->len - icvlen;
    if (clen % 16 != 0) {
        oe_error_set(err, "SK payload: %zu octets of ciphertext is not a whole number of blocks", clen);
        return -1;
    }
    if (their < msg || their > msg + len ||
        ike_integ(sa->integ, sa->initiator ? sa->sk_ar : sa->sk_ai, msg, (size_t)(their - msg), icv) != 0 ||
        !ike_ct_equal(icv, their, icvlen)) {
        oe_error_set(err, "SK payload: integrity check failed");
        return -1;
    }
    if (ike_cbc(false, key, sa->ekey_len, body->p, body->p + 16, clen, out) != 0) {
        oe_error_set(err, "SK payload: cannot decrypt");
        return -1;
    }
    return (long)clen;
}

int ike_decrypt(const struct ike_sa *sa, const uint8_t *msg, size_t len, const struct ike_payloads *outer,
                struct wbuf *plain, struct ike_payloads *inner, struct oe_error *err)
{
    const struct chunk *body = &outer->sk_body;
    size_t least = sa->integ ? 16 + 16 + ike_integ_icv_len(sa->integ) : 8 + 1 + 16;
    if (!outer->has_sk) {
        oe_error_set(err, "no SK payload");
        return -1;
    }
    if (body->len < least) {
        oe_error_set(err, "SK payload of %zu octets is shorter than IV, pad length and ICV", body->len);
        return -1;
    }
    uint8_t *out = malloc(body->len);
    if (out == NULL) {
        oe_error_set(err, "out of memory");
        return -1;
    }
    long got = sk_open(sa, msg, len, outer, out, err);
    if (got < 1) {
        if (got == 0)
            oe_error_set(err, "SK payload: no pad length");
        free(out);
        return -1;
    }
    size_t plen = (size_t)got;
    uint8_t pad = out[plen - 1];
    if (pad + 1u > plen) {
        oe_error_set(err, "SK payload: pad length %u larger than the plaintext", pad);
        oe_wipe(out, body->len);
        free(out);
        return -1;
    }
    plen -= pad + 1u;
    plain->len = 0;
    wbuf_put(plain, out, plen);
    oe_wipe(out, body->len);
    free(out);
    return ike_parse_payloads(outer->sk_first, plain->p, plen, 0, inner, err);
}

struct ike_payloads *ike_open(struct ike_sa *sa, const uint8_t *msg, size_t len, const struct ike_payloads *outer,
                              struct wbuf *plain, const char *what, struct ike_actions *out)
{
    struct ike_payloads *in = malloc(sizeof(*in));
    struct oe_error err;
    if (in == NULL)
        return NULL;
    if (ike_decrypt(sa, msg, len, outer, plain, in, &err) != 0) {
        /* RFC 7296 2.21.2: a message that fails integrity is dropped, state unchanged */
        ike_log(out, sa, "dropping %s: %s", what, err.msg);
        wbuf_wipe(plain);
        free(in);
        return NULL;
    }
    ike_nat_follow(sa, &sa->rx_local, &sa->rx_remote, out);
    sa->heard_at = sa->rx_at;
    return in;
}

/* RFC 7296 2.14: {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) */
static int keys_from_skeyseed(struct ike_sa *sa, const uint8_t *skeyseed)
{
    uint8_t seed[2 * IKE_MAX_NONCE + 16]; /* Ni | Nr | SPIi | SPIr */
    size_t n = 0;
    memcpy(seed, sa->ni, sa->ni_len);
    n += sa->ni_len;
    memcpy(seed + n, sa->nr, sa->nr_len);
    n += sa->nr_len;
    put_be(seed + n, sa->spi_i, 8);
    put_be(seed + n + 8, sa->spi_r, 8);
    n += 16;
    sa->prf_len = ike_prf_len(sa->prf);
    sa->ekey_len = (size_t)sa->encr_bits / 8 + (sa->integ ? 0 : 4); /* GCM: 4 octets of salt */
    sa->akey_len = sa->integ ? ike_integ_key_len(sa->integ) : 0;
    /* AEAD: no SK_a */
    size_t need = sa->prf_len * 3 + sa->akey_len * 2 + sa->ekey_len * 2;
    uint8_t km[5 * IKE_MAX_PRF_LEN + 2 * IKE_MAX_KEY];
    int rc = ike_prf_plus(sa->prf, skeyseed, sa->prf_len, seed, n, km, need);
    if (rc == 0) {
        size_t o = 0;
        memcpy(sa->sk_d, km + o, sa->prf_len);
        o += sa->prf_len;
        memcpy(sa->sk_ai, km + o, sa->akey_len);
        o += sa->akey_len;
        memcpy(sa->sk_ar, km + o, sa->akey_len);
        o += sa->akey_len;
        memcpy(sa->sk_ei, km + o, sa->ekey_len);
        o += sa->ekey_len;
        memcpy(sa->sk_er, km + o, sa->ekey_len);
        o += sa->ekey_len;
        memcpy(sa->sk_pi, km + o, sa->prf_len);
        o += sa->prf_len;
        memcpy(sa->sk_pr, km + o, sa->prf_len);
    }
    oe_wipe(km, sizeof(km));
    oe_wipe(seed, sizeof(seed));
    return rc;
}

/* SKEYSEED = prf(Ni | Nr, g^ir) */
int ike_derive_ike_keys(struct ike_sa *sa, const uint8_t *shared, size_t slen)
{
    uint8_t nonces[2 * IKE_MAX_NONCE], skeyseed[IKE_MAX_PRF_LEN];
    memcpy(nonces, sa->ni, sa->ni_len);
    memcpy(nonces + sa->ni_len, sa->nr, sa->nr_len);
    int rc = ike_prf(sa->prf, nonces, sa->ni_len + sa->nr_len, shared, slen, skeyseed);
    if (rc == 0)
        rc = keys_from_skeyseed(sa, skeyseed);
    oe_wipe(skeyseed, sizeof(skeyseed));
    return rc;
}

/* SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the old SA's PRF */
int ike_derive_rekeyed_keys(struct ike_sa *sa, int old_prf, const uint8_t *old_sk_d, size_t old_len,
                            const uint8_t *shared, size_t slen)
{
    uint8_t in[IKE_MAX_DH_LEN + 2 * IKE_MAX_NONCE], skeyseed[IKE_MAX_PRF_LEN];
    size_t n = 0;
    memcpy(in, shared, slen);
    n += slen;
    memcpy(in + n, sa->ni, sa->ni_len);
    n += sa->ni_len;
    memcpy(in + n, sa->nr, sa->nr_len);
    n += sa->nr_len;
    int rc = ike_prf(old_prf, old_sk_d, old_len, in, n, skeyseed);
    if (rc == 0)
        rc = keys_from_skeyseed(sa, skeyseed);
    oe_wipe(skeyseed, sizeof(skeyseed));
    oe_wipe(in, sizeof(in));
    return rc;
}

const char *ike_algs_name(int encr, int bits, int integ, char *buf, size_t len)
{
    static const char *const integ_names[] = {"HMAC_SHA2_256_128", "HMAC_SHA2_384_192", "HMAC_SHA2_512_256"};
    if (encr == IKE_ENCR_AES_GCM_16)
        snprintf(buf, len, "AES_GCM_16_%d", bits);
    else if (integ >= IKE_INTEG_SHA2_256_128 && integ <= IKE_INTEG_SHA2_512_256)
        snprintf(buf, len, "AES_CBC_%d-%s", bits, integ_names[integ - IKE_INTEG_SHA2_256_128]);
    else
        snprintf(buf, len, "ENCR %d/%d INTEG %d", encr, bits, integ);
    return buf;
}

void ike_describe_id(uint8_t type, struct chunk data, char *out, size_t len)
{
    struct oe_addr a = {0};
    char s[OE_ADDR_STRLEN];
    if (type == IKE_ID_IPV4 && data.len == 4) {
        a.family = AF_INET;
        memcpy(a.bytes, data.p, 4);
        snprintf(out, len, "%s", oe_addr_str(&a, s));
    } else if (type == IKE_ID_IPV6 && data.len == 16) {
        a.family = AF_INET6;
        memcpy(a.bytes, data.p, 16);
        snprintf(out, len, "%s", oe_addr_str(&a, s));
    } else if (type == IKE_ID_FQDN) {
        size_t n = data.len < len - 2 ? data.len : len - 2;
        out[0] = '@';
        for (size_t i = 0; i < n; i++)
            out[i + 1] = data.p[i] >= 0x21 && data.p[i] < 0x7f ? (char)data.p[i] : '?';
        out[n + 1] = '\0';
    } else if (type == IKE_ID_NULL) {
        snprintf(out, len, "ID_NULL");
    } else {
        snprintf(out, len, "ID type %u", type);
    }
}

/* ---- events ---- */

unsigned ike_initiate(struct ike_core *core, const struct ike_initiate *req, uint64_t now_ms, struct ike_actions *out)
{
    core->now = now_ms;
    struct ike_sa *sa = ike_sa_new(core, true);
    if (sa == NULL)
        return 0;
    sa->tag = req->tag;
    sa->local = req->local;
    sa->remote = req->remote;
    sa->local_host = req->local_host;
    sa->remote_host = req->remote_host;
    sa->ask_address = req->ask_address == IKE_ASK_ALWAYS;
    sa->ask_if_nat = req->ask_address == IKE_ASK_IF_NAT;
    sa->auth = req->auth;
    ike_sa_index(sa);
    if (req->auth == IKE_AUTHBY_RSASIG) {
        wbuf_put(&sa->peer_key, req->peer_key.rfc3110, req->peer_key.len);
        for (size_t i = 0; i < req->nmore && i < IKE_MAX_PEER_KEYS - 1; i++) {
            uint8_t len[2] = {(uint8_t)(req->more_keys[i].len >> 8), (uint8_t)req->more_keys[i].len};
            if (req->more_keys[i].len == 0 || req->more_keys[i].len > 0xffff)
                continue;
            wbuf_put(&sa->more_keys, len, 2);
            wbuf_put(&sa->more_keys, req->more_keys[i].rfc3110, req->more_keys[i].len);
        }
        if (sa->more_keys.failed)
            sa->peer_key.failed = true;
    }
    if (req->auth == IKE_AUTHBY_RSASIG && (!ike_signer_ready(&core->cfg.signer) || sa->peer_key.failed)) {
        ike_sa_fail(core, sa, out,
                    ike_signer_ready(&core->cfg.signer) ? "out of memory" : "RSA authentication needs a host key");
        return 0;
    }
    sa->dh_group = core->cfg.dh_groups[0];
    unsigned serial = sa->serial;
    ike_send_sa_init(core, sa, out);
    return serial;
}

void ike_receive(struct ike_core *core, const struct ike_endpoint *local, const struct ike_endpoint *remote,
                 const uint8_t *data, size_t len, uint64_t now_ms, struct ike_actions *out)
{
    core->now = now_ms;
    struct ike_header h;
    struct oe_error err;
    char from[OE_ADDR_STRLEN];
    oe_addr_str(&remote->addr, from);
    if (ike_parse_header(data, len, &h, &err) != 0) {
        ike_log(out, NULL, "dropping packet from %s:%u: %s", from, remote->port, err.msg);
        return;
    }
    struct ike_payloads *pl = malloc(sizeof(*pl));
    if (pl == NULL)
        return;
    if (ike_parse_payloads(h.next, data + IKE_HDR_LEN, len - IKE_HDR_LEN, IKE_HDR_LEN, pl, &err) != 0) {
        ike_log(out, NULL, "dropping %s from %s:%u: %s", h.flags & IKE_FLAG_R ? "response" : "request", from,
                remote->port, err.msg);
        free(pl);
        return;
    }
    bool response = h.flags & IKE_FLAG_R;
    struct ike_sa *sa = ike_sa_by_spi(core, &h, remote);
    if (sa) {
        sa->rx_local = *local;
        sa->rx_remote = *remote;
        sa->rx_at = now_ms;
    }
    if (h.exchange == IKE_SA_INIT && !response) {
        if (sa != NULL && sa->state == SA_INIT_DONE && sa->have_resp) {
            ike_sha256(data, len, sa->rx_hash);
            ike_answer_retransmit(core, sa, data, len, out);
        } else if (sa == NULL) {
            ike_handle_sa_init_request(core, local, remote, data, len, &h, pl, out);
        }
    } else if (sa == NULL) {
        ike_log(out, NULL, "dropping %s %u from %s:%u: no IKE SA with those SPIs", response ? "response" : "request",
                h.exchange, from, remote->port);
    } else if (h.exchange == IKE_SA_INIT) {
        /* still awaiting: an unusable answer is ignored and the request retransmitted (RFC 7296 2.21.1) */
        if (sa->state == SA_INIT_SENT)
            ike_handle_sa_init_response(core, sa, data, len, pl, out);
    } else if (response) {
        if (!sa->awaiting)
            ike_log(out, sa, "dropping response with message ID %u: no request of ours is outstanding", h.msgid);
        else if (h.msgid != sa->next_msgid - 1)
            ike_log(out, sa, "dropping response with message ID %u, expected %u", h.msgid, sa->next_msgid - 1);
        else if (h.exchange == IKE_AUTH && sa->state == SA_AUTH_SENT)
            ike_handle_auth_response(core, sa, data, len, pl, out);
        else if (h.exchange == IKE_CREATE_CHILD_SA && sa->state == SA_ESTABLISHED)
            ike_handle_create_child_response(core, sa, data, len, pl, out);
        else if (h.exchange == IKE_INFORMATIONAL)
            ike_handle_informational(core, sa, data, len, &h, pl, out);
    } else if (sa->have_resp && h.msgid == sa->last_resp_msgid) {
        ike_answer_retransmit(core, sa, data, len, out);
    } else if (h.msgid != sa->peer_msgid) {
        ike_log(out, sa, "dropping request with message ID %u, expected %u", h.msgid, sa->peer_msgid);
    } else if (ike_sha256(data, len, sa->rx_hash) != 0) {
        ike_log(out, sa, "dropping request: cannot hash it");
    } else if (h.exchange == IKE_AUTH && sa->state == SA_INIT_DONE) {
        ike_handle_auth_request(core, sa, data, len, &h, pl, out);
    } else if (h.exchange == IKE_CREATE_CHILD_SA && sa->state == SA_ESTABLISHED) {
        ike_handle_create_child_sa(core, sa, data, len, &h, pl, out);
    } else if (h.exchange == IKE_INFORMATIONAL && sa->state != SA_INIT_DONE) {
        ike_handle_informational(core, sa, data, len, &h, pl, out);
    } else {
        ike_log(out, sa, "ignoring exchange %u in this state", h.exchange);
    }
    free(pl);
}

static void established_tick(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out)
{
    if (sa->retired) {
        ike_sa_fail(core, sa, out, "the peer never deleted it");
        return;
    }
    if (sa->child_rekey_wanted) {
        ike_start_child_rekey(core, sa, out);
        if (sa->awaiting)
            return;
    }
    if (sa->keepalive_at && core->now >= sa->keepalive_at) {
        ike_nat_keepalive(sa, out);
        sa->keepalive_at = core->now + core->cfg.keepalive_ms;
    }
    if (sa->dpd_at && core->now >= sa->dpd_at) {
        uint64_t quiet_since = sa->heard_at;
        sa->dpd_at = quiet_since + (uint64_t)core->cfg.dpd_delay_s * 1000;
        if (sa->dpd_at <= core->now && !sa->awaiting) {
            /* RFC 7296 2.4: an empty INFORMATIONAL request; no answer after the retransmissions: dead */
            struct ike_builder empty = {0};
            if (ike_request(sa, IKE_INFORMATIONAL, &empty, out) == 0)
                sa->pending = XCHG_LIVENESS;
            wbuf_free(&empty.b);
            sa->dpd_at = core->now + (uint64_t)core->cfg.dpd_delay_s * 1000;
            return;
        }
        if (sa->dpd_at <= core->now)
            sa->dpd_at = core->now + (uint64_t)core->cfg.dpd_delay_s * 1000;
    }
    if (sa->ike_rekey_at && core->now >= sa->ike_rekey_at) {
        sa->ike_rekey_at = 0;
        ike_start_ike_rekey(core, sa, out);
        if (sa->awaiting)
            return; /* the retransmission timer runs until the answer */
    }
    ike_arm_established(core, sa, out);
}

void ike_answering(struct ike_sa *sa)
{
    memcpy(sa->answered_hash, sa->rx_hash, sizeof(sa->answered_hash));
    sa->resends = 0;
}

void ike_answer_retransmit(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                           struct ike_actions *out)
{
    uint8_t h[32];
    if (ike_sha256(msg, len, h) != 0 || !ike_ct_equal(h, sa->answered_hash, sizeof(h))) {
        ike_log(out, sa, "dropping a request with the message ID of one we answered, but other octets");
        return;
    }
    if (sa->resends >= IKE_MAX_RESENDS || (sa->resends && core->now - sa->resent_at < IKE_RESEND_GAP_MS))
        return; /* a retransmission storm: the answer went often enough */
    sa->resends++;
    sa->resent_at = core->now;
    ike_send(out, sa, &sa->last_resp, false);
}

void ike_leave_half_open(struct ike_core *core, struct ike_sa *sa)
{
    if (sa->half_open) {
        sa->half_open = false;
        core->half_open--;
        ike_sa_index(sa);
    }
}

size_t ike_half_open_from(const struct ike_core *core, const struct oe_addr *from)
{
    size_t n = 0;
    struct ike_ix_iter it;
    for (struct ike_sa *sa = ike_ix_first(&it, core, IKE_IX_SOURCE, ike_ix_hash_source(core, from)); sa;
         sa = ike_ix_next(&it))
        n += sa->half_open && oe_addr_same_source(&sa->remote.addr, from);
    return n;
}

static void arm_core_timer(struct ike_core *core, struct ike_actions *out)
{
    uint64_t quiet_at = core->cookie_asked_at + core->cfg.half_open_timeout_ms;
    struct ike_action *t = ike_act(out, IKE_ACT_TIMER, NULL);
    if (t) {
        t->serial = IKE_CORE_TIMER;
        /* not before the quiet time is over; after it, again when the half-open ones have had time to go */
        t->ms = quiet_at > core->now ? (uint32_t)(quiet_at - core->now) : core->cfg.half_open_timeout_ms;
    }
}

void ike_cookies_update(struct ike_core *core, struct ike_actions *out)
{
    unsigned threshold = core->cfg.cookie_threshold;
    if (!core->cookies) {
        if (core->half_open < threshold)
            return;
        core->cookies = true;
        core->cookies_since = core->cookie_asked_at = core->now;
        core->cookies_asked = 0;
        ike_log(out, NULL,
                "%zu half-open IKE SAs (cookie-threshold %u): cookies on, every new IKE_SA_INIT must "
                "return one (RFC 7296 2.6)",
                core->half_open, threshold);
        arm_core_timer(core, out);
        return;
    }
    /* off only below half the threshold (0: never off) and after a quiet time: no flapping */
    bool quiet = core->now >= core->cookie_asked_at + core->cfg.half_open_timeout_ms;
    if (core->half_open >= threshold || core->half_open > threshold / 2 || !quiet)
        return;
    core->cookies = false;
    ike_log(out, NULL,
            "%zu half-open IKE SAs and no request needing a cookie for %u ms (half-open-timeout): cookies "
            "off after %llu ms, %zu requests asked for one",
            core->half_open, core->cfg.half_open_timeout_ms, (unsigned long long)(core->now - core->cookies_since),
            core->cookies_asked);
}

void ike_timer(struct ike_core *core, unsigned serial, uint64_t now_ms, struct ike_actions *out)
{
    core->now = now_ms;
    if (serial == IKE_CORE_TIMER) {
        ike_cookies_update(core, out);
        if (core->cookies)
            arm_core_timer(core, out);
        return;
    }
    struct ike_sa *sa = ike_sa_by_serial(core, serial);
    if (sa == NULL)
        return;
    if (sa->half_open && core->now >= sa->half_open_until) {
        char why[96];
        snprintf(why, sizeof(why), "half-open for %u ms without a completed IKE_AUTH (half-open-timeout)",
                 core->cfg.half_open_timeout_ms);
        ike_log(out, sa, "%s: deleting it", why);
        ike_sa_fail(core, sa, out, why);
        return;
    }
    if (sa->out_pending && core->now >= sa->out_pending_at)
        ike_install_pending_out(sa, out, "its wait is over");
    if (!sa->awaiting) {
        if (sa->state == SA_ESTABLISHED)
            established_tick(core, sa, out);
        return;
    }
    if (++sa->tries >= core->cfg.retransmit_tries) {
        char why[256];
        if (sa->state == SA_INIT_SENT && sa->init_trouble[0])
            /* only now does what an unprotected answer said count (RFC 7296 2.21.1) */
            snprintf(why, sizeof(why), "no valid response after %u transmissions; the last answer ignored: %s",
                     sa->tries, sa->init_trouble);
        else
            snprintf(why, sizeof(why), "no response after %u transmissions%s", sa->tries,
                     sa->pending == XCHG_LIVENESS ? " of a liveness check: the peer is dead" : "");
        ike_log(out, sa, "%s; giving up", why);
        ike_sa_fail(core, sa, out, why);
        return;
    }
    struct ike_action *a = ike_act(out, IKE_ACT_SEND, sa);
    if (a && (a->msg = malloc(sa->last_req.len)) != NULL) {
        memcpy(a->msg, sa->last_req.p, sa->last_req.len);
        a->len = sa->last_req.len;
    }
    sa->wait_ms *= 2;
    struct ike_action *t = ike_act(out, IKE_ACT_TIMER, sa);
    if (t)
        t->ms = sa->wait_ms;
    ike_log(out, sa, "retransmitting (try %u, next in %u ms)", sa->tries + 1, sa->wait_ms);
}

/*
 * Whether the kernel's SA (spi, dst) is one of sa's Child SA: the kernel names an SA by its
 * destination and SPI (RFC 4301 4.1), and an SPI alone is not unique: the outbound SPI is the
 * peer's choice, and a hostile peer can pick our inbound SPI of another tunnel. Our inbound
 * SA's destination is our end of the tunnel, the outbound one's the peer's (ike_child_endpoints).
 */
static bool child_sa_is(const struct ike_sa *sa, uint32_t spi, const struct oe_addr *dst)
{
    return (spi == sa->child_spi_in && oe_addr_eq(dst, &sa->local.addr)) ||
           (spi == sa->child_spi_out && oe_addr_eq(dst, &sa->remote.addr));
}

void ike_child_expired(struct ike_core *core, uint32_t spi, const struct oe_addr *dst, bool hard, uint64_t now_ms,
                       struct ike_actions *out)
{
    core->now = now_ms;
    struct ike_sa *sa = NULL;
    struct ike_ix_iter it;
    uint64_t key = ike_ix_hash_spi(core, spi, dst);
    /* the inbound SA (the destination is us) or the outbound one (the peer); the newest if both */
    for (enum ike_ix ix = IKE_IX_CHILD_IN; ix <= IKE_IX_CHILD_OUT; ix++)
        for (struct ike_sa *o = ike_ix_first(&it, core, ix, key); o; o = ike_ix_next(&it))
            if (!o->retired && o->state == SA_ESTABLISHED && spi != 0 && child_sa_is(o, spi, dst))
                sa = ike_sa_newer(sa, o);
    if (sa == NULL)
        return;
    if (hard) {
        ike_log_child(out, sa, "Child SA 0x%08x reached its hard lifetime; deleting", spi);
        ike_delete(core, sa->serial, now_ms, out);
    } else {
        ike_start_child_rekey(core, sa, out);
    }
}

void ike_peer_note(struct ike_core *core, unsigned serial, uint32_t note)
{
    struct ike_sa *sa = ike_sa_by_serial(core, serial);
    if (sa != NULL)
        sa->note = note;
}

void ike_peer_key(struct ike_core *core, unsigned serial, const struct ike_pubkey *key, bool allow_null,
                  struct ike_actions *out)
{
    struct ike_sa *sa = ike_sa_by_serial(core, serial);
    if (sa == NULL || sa->state != SA_WAIT_KEY)
        return;
    ike_continue_auth_request(core, sa, key, key ? 1 : 0, allow_null, out);
}

void ike_peer_keys(struct ike_core *core, unsigned serial, const struct ike_pubkey *keys, size_t n, bool allow_null,
                   struct ike_actions *out)
{
    struct ike_sa *sa = ike_sa_by_serial(core, serial);
    if (sa == NULL || sa->state != SA_WAIT_KEY)
        return;
    ike_continue_auth_request(core, sa, keys, n > IKE_MAX_PEER_KEYS ? IKE_MAX_PEER_KEYS : n, allow_null, out);
}

void ike_delete(struct ike_core *core, unsigned serial, uint64_t now_ms, struct ike_actions *out)
{
    core->now = now_ms;
    struct ike_sa *sa = ike_sa_by_serial(core, serial);
    if (sa == NULL)
        return;
    if (sa->state == SA_ESTABLISHED) {
        struct ike_builder inner = {0};
        ikeb_delete(&inner, IKE_PROTO_IKE, 0, NULL, 0);
        struct wbuf msg = {0};
        if (ike_encrypt(sa, IKE_INFORMATIONAL, sa->next_msgid++, false, &inner, &msg) == 0) {
            struct ike_action *a = ike_act(out, IKE_ACT_SEND, sa);
            if (a) {
                a->msg = msg.p;
                a->len = msg.len;
                msg.p = NULL;
            }
        }
        wbuf_free(&msg);
        wbuf_free(&inner.b);
        ike_log(out, sa, "deleting IKE SA (sent INFORMATIONAL request with Delete)");
    }
    ike_sa_fail(core, sa, out, "deleted locally");
}

size_t ike_half_open_count(const struct ike_core *core)
{
    return core->half_open;
}

size_t ike_delete_local(struct ike_core *core, const struct oe_addr *local, uint64_t now_ms, struct ike_actions *out)
{
    core->now = now_ms;
    size_t n = 0;
    /* ike_sa_fail frees only the SA it is given: the next one is taken first */
    for (struct ike_sa *sa = core->sas, *next; sa; sa = next) {
        next = sa->next;
        if (oe_addr_eq(&sa->local.addr, local)) {
            ike_sa_fail(core, sa, out, "its local address was removed");
            n++;
        }
    }
    return n;
}
