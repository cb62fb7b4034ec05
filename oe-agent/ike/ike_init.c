/* IKE_SA_INIT (RFC 7296 1.2), both roles, with INVALID_KE_PAYLOAD and cookies. */
#include "ike_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* RFC 7427 4: SHA2-256, SHA2-384, SHA2-512 */
static const uint8_t hash_algs[] = {0, 2, 0, 3, 0, 4};

/* RFC 7296 2.21.1: restarts for INVALID_KE_PAYLOAD, which anyone on the path can send: one per
 * other group of ours (ike_config.dh_groups has four), so that forged ones cannot keep the
 * exchange restarting (and its retransmission count at zero) forever */
#define IKE_MAX_KE_RETRIES 3

/* A proposal per configured cipher (AES-GCM-16, an AEAD; AES-CBC with HMAC-SHA2), each with our PRFs and groups. */
size_t ike_proposal_offer(const struct ike_core *core, int first_dh, struct ike_proposal p[2])
{
    static const struct ike_transform gcm[] = {
        {IKE_TR_ENCR, IKE_ENCR_AES_GCM_16, 256},
        {IKE_TR_ENCR, IKE_ENCR_AES_GCM_16, 128},
    };
    static const struct ike_transform cbc[] = {
        {IKE_TR_ENCR, IKE_ENCR_AES_CBC, 256},      {IKE_TR_ENCR, IKE_ENCR_AES_CBC, 128},
        {IKE_TR_INTEG, IKE_INTEG_SHA2_256_128, 0}, {IKE_TR_INTEG, IKE_INTEG_SHA2_384_192, 0},
        {IKE_TR_INTEG, IKE_INTEG_SHA2_512_256, 0},
    };
    static const struct ike_transform prfs[] = {
        {IKE_TR_PRF, IKE_PRF_SHA2_256, 0},
        {IKE_TR_PRF, IKE_PRF_SHA2_384, 0},
        {IKE_TR_PRF, IKE_PRF_SHA2_512, 0},
    };
    size_t n = ike_cipher_count(&core->cfg);
    memset(p, 0, 2 * sizeof(*p));
    for (size_t i = 0; i < n; i++) {
        bool use_cbc = core->cfg.ciphers[i] == IKE_ENCR_AES_CBC;
        p[i].num = (uint8_t)(i + 1);
        p[i].protocol = IKE_PROTO_IKE;
        const struct ike_transform *enc = use_cbc ? cbc : gcm;
        size_t nenc = use_cbc ? sizeof(cbc) / sizeof(cbc[0]) : sizeof(gcm) / sizeof(gcm[0]);
        memcpy(p[i].t, enc, nenc * sizeof(*enc));
        memcpy(p[i].t + nenc, prfs, sizeof(prfs));
        p[i].nt = nenc + sizeof(prfs) / sizeof(prfs[0]);
        p[i].t[p[i].nt++] = (struct ike_transform){IKE_TR_DH, (uint16_t)first_dh, 0};
        for (int g = 0; g < 4 && core->cfg.dh_groups[g]; g++)
            if (core->cfg.dh_groups[g] != first_dh)
                p[i].t[p[i].nt++] = (struct ike_transform){IKE_TR_DH, (uint16_t)core->cfg.dh_groups[g], 0};
    }
    return n;
}

void ike_send_sa_init(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out)
{
    struct oe_error err;
    /* RFC 7296 2.6: a retry with a cookie keeps every other payload unchanged;
     * only INVALID_KE_PAYLOAD (another group) needs a new DH value */
    if (sa->dh == NULL || sa->dh_made != sa->dh_group) {
        ike_dh_free(sa->dh);
        sa->dh = ike_dh_new(sa->env, sa->dh_group, &err);
        sa->dh_made = sa->dh_group;
    }
    if (sa->dh == NULL) {
        ike_sa_fail(core, sa, out, err.msg);
        return;
    }
    if (sa->ni_len == 0) {
        sa->ni_len = IKE_NONCE_LEN;
        if (ike_random(sa->env, sa->ni, sa->ni_len) != 0) {
            ike_sa_fail(core, sa, out, "no random numbers");
            return;
        }
    }
    struct ike_header h = {.spi_i = sa->spi_i, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_I};
    struct ike_builder mb = {0};
    struct ike_proposal prop[2];
    size_t publen;
    const uint8_t *pub = ike_dh_public(sa->dh, &publen);
    ikeb_header(&mb, &h);
    if (sa->cookie.len)
        ikeb_notify(&mb, 0, NULL, 0, IKE_N_COOKIE, sa->cookie.p, sa->cookie.len);
    ikeb_sa(&mb, prop, ike_proposal_offer(core, sa->dh_group, prop));
    ikeb_ke(&mb, (uint16_t)sa->dh_group, pub, publen);
    ikeb_nonce(&mb, sa->ni, sa->ni_len);
    ike_nat_add_notifies(sa, 0, &mb);
    ikeb_notify(&mb, 0, NULL, 0, IKE_N_SIGNATURE_HASH_ALGORITHMS, hash_algs, sizeof(hash_algs));
    ikeb_finish(&mb);
    sa->msg1.len = 0;
    wbuf_put(&sa->msg1, mb.b.p, mb.b.len);
    sa->state = SA_INIT_SENT;
    sa->next_msgid = 1;
    char r[OE_ADDR_STRLEN];
    ike_log(out, sa, "initiating IKEv2 connection to %s:%u (DH %d)", oe_addr_str(&sa->remote.addr, r), sa->remote.port,
            sa->dh_group);
    ike_send(out, sa, &mb.b, true);
    ike_log(out, sa, "sent IKE_SA_INIT request");
    wbuf_free(&mb.b);
}

bool ike_choose_ike(const struct ike_core *core, const struct ike_sa_payload *sa, int ke_group, struct ike_choice *c,
                    int *want_group)
{
    *want_group = 0;
    for (size_t i = 0; i < sa->n; i++) {
        const struct ike_proposal *p = &sa->p[i];
        struct ike_choice x = {.num = p->num};
        bool integ = false, dh_ke = false;
        int dh_other = 0;
        if (p->protocol != IKE_PROTO_IKE)
            continue;
        for (size_t t = 0; t < p->nt; t++) {
            const struct ike_transform *tr = &p->t[t];
            if (tr->type == IKE_TR_ENCR && !x.encr && ike_encr_ok(tr->id, tr->keylen)) {
                x.encr = tr->id;
                x.encr_bits = tr->keylen;
            } else if (tr->type == IKE_TR_PRF && !x.prf && ike_prf_len(tr->id)) {
                x.prf = tr->id;
            } else if (tr->type == IKE_TR_INTEG && tr->id != 0) {
                integ = true;
                if (!x.integ && ike_integ_key_len(tr->id))
                    x.integ = tr->id;
            } else if (tr->type == IKE_TR_DH && ike_dh_group_ok(&core->cfg, tr->id)) {
                if (tr->id == ke_group)
                    dh_ke = true;
                else if (!dh_other)
                    dh_other = tr->id;
            }
        }
        /* an AEAD proposal has no integrity transform (RFC 5282 8); CBC needs one we know */
        if (!ike_cipher_ok(&core->cfg, x.encr) || (x.encr == IKE_ENCR_AES_GCM_16 ? integ : !x.integ))
            continue;
        if (!x.encr || !x.prf || (!dh_ke && !dh_other))
            continue;
        if (!dh_ke) {
            *want_group = dh_other;
            continue;
        }
        x.dh = ke_group;
        x.spi = p;
        *c = x;
        return true;
    }
    return false;
}

void ike_ike_answer(const struct ike_choice *c, uint64_t spi, struct ike_proposal *p)
{
    memset(p, 0, sizeof(*p));
    p->num = c->num;
    p->protocol = IKE_PROTO_IKE;
    if (spi) {
        p->spi_size = 8;
        put_be(p->spi, spi, 8);
    }
    p->t[p->nt++] = (struct ike_transform){IKE_TR_ENCR, (uint16_t)c->encr, (uint16_t)c->encr_bits};
    if (c->integ)
        p->t[p->nt++] = (struct ike_transform){IKE_TR_INTEG, (uint16_t)c->integ, 0};
    p->t[p->nt++] = (struct ike_transform){IKE_TR_PRF, (uint16_t)c->prf, 0};
    p->t[p->nt++] = (struct ike_transform){IKE_TR_DH, (uint16_t)c->dh, 0};
}

/* The answer's transforms into c: false (and why) for a type we did not offer, or two of one type. */
static bool answer_transforms(const struct ike_proposal *p, struct ike_choice *c, char *why, size_t len)
{
    bool seen[IKE_TR_DH + 1] = {false};
    for (size_t t = 0; t < p->nt; t++) {
        const struct ike_transform *tr = &p->t[t];
        if (tr->type < IKE_TR_ENCR || tr->type > IKE_TR_DH) {
            snprintf(why, len, "it has a transform of type %u, which we did not offer", tr->type);
            return false;
        }
        if (seen[tr->type]) {
            /* RFC 7296 3.3.6: the accepted proposal has one transform of each type */
            snprintf(why, len, "it chose more than one transform of type %u", tr->type);
            return false;
        }
        seen[tr->type] = true;
        if (tr->type == IKE_TR_ENCR)
            c->encr = tr->id, c->encr_bits = tr->keylen;
        else if (tr->type == IKE_TR_INTEG)
            c->integ = tr->id; /* NONE (0) with an AEAD is as good as none (RFC 5282 8) */
        else if (tr->type == IKE_TR_PRF)
            c->prf = tr->id;
        else
            c->dh = tr->id;
    }
    return true;
}

/* RFC 7296 3.3.6: "the initiator MUST check that the accepted offer is consistent with one of its proposals" */
bool ike_read_ike_answer(const struct ike_config *cfg, const struct ike_proposal *p, int ke_group, struct ike_choice *c,
                         char *why, size_t len)
{
    memset(c, 0, sizeof(*c));
    c->num = p->num;
    if (p->protocol != IKE_PROTO_IKE) {
        snprintf(why, len, "it chose protocol %u, not IKE", p->protocol);
        return false;
    }
    if (!answer_transforms(p, c, why, len))
        return false;
    bool gcm = c->encr == IKE_ENCR_AES_GCM_16;
    if (!ike_cipher_ok(cfg, c->encr)) {
        snprintf(why, len, "it chose cipher %d, which is not in ciphers", c->encr);
    } else if (p->num < 1 || p->num > ike_cipher_count(cfg) || cfg->ciphers[p->num - 1] != c->encr) {
        /* ike_proposal_offer: proposal i+1 carries ciphers[i] */
        snprintf(why, len, "it chose cipher %d in proposal %u, which we did not send with it", c->encr, p->num);
    } else if (!ike_encr_ok(c->encr, c->encr_bits)) {
        snprintf(why, len, "it chose a %d-bit key, which we did not offer", c->encr_bits);
    } else if (gcm ? c->integ != 0 : ike_integ_key_len(c->integ) == 0) {
        snprintf(why, len, "it chose integrity %d, which we did not offer with cipher %d", c->integ, c->encr);
    } else if (ike_prf_len(c->prf) == 0) {
        snprintf(why, len, "it chose PRF %d, which we did not offer", c->prf);
    } else if (c->dh != ke_group) {
        snprintf(why, len, "it chose DH %d, but our KE was for DH %d", c->dh, ke_group);
    } else {
        return true;
    }
    return false;
}

static void respond_plain(const struct ike_header *req, uint16_t notify, const uint8_t *data, size_t len,
                          const struct ike_endpoint *local, const struct ike_endpoint *remote, struct ike_actions *out)
{
    struct ike_header h = {.spi_i = req->spi_i, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_R};
    struct ike_builder mb = {0};
    ikeb_header(&mb, &h);
    ikeb_notify(&mb, 0, NULL, 0, notify, data, len);
    ikeb_finish(&mb);
    struct ike_action *a = ike_act(out, IKE_ACT_SEND, NULL);
    if (a) {
        a->local = *local;
        a->remote = *remote;
        a->msg = mb.b.p;
        a->len = mb.b.len;
        mb.b.p = NULL;
    }
    wbuf_free(&mb.b);
}

/* RFC 7296 2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>) */
static void make_cookie(const struct ike_core *core, const struct ike_payloads *pl, const struct ike_endpoint *remote,
                        uint64_t spi_i, uint8_t out[33])
{
    uint8_t in[IKE_MAX_NONCE + 16 + 8]; /* Ni | IPi (16 octets, IPv4 too) | SPIi */
    size_t n = 0;
    memcpy(in, pl->nonce.p, pl->nonce.len);
    n += pl->nonce.len;
    memcpy(in + n, remote->addr.bytes, 16);
    n += 16;
    put_be(in + n, spi_i, 8);
    n += 8;
    out[0] = 1;
    ike_prf(IKE_PRF_SHA2_256, core->cookie_secret, sizeof(core->cookie_secret), in, n, out + 1);
}

void ike_handle_sa_init_request(struct ike_core *core, const struct ike_endpoint *local,
                                const struct ike_endpoint *remote, const uint8_t *msg, size_t len,
                                const struct ike_header *h, const struct ike_payloads *pl, struct ike_actions *out)
{
    char from[OE_ADDR_STRLEN];
    oe_addr_str(&remote->addr, from);
    if (h->spi_r != 0 || h->msgid != 0 || !(h->flags & IKE_FLAG_I)) {
        ike_log(out, NULL, "dropping IKE_SA_INIT request from %s: bad SPI, message ID or flags", from);
        return;
    }
    if (pl->unsupported_critical) {
        uint8_t t = pl->unsupported_critical;
        respond_plain(h, IKE_N_UNSUPPORTED_CRITICAL_PAYLOAD, &t, 1, local, remote, out);
        return;
    }
    if (!pl->has_sa || !pl->has_ke || !pl->has_nonce) {
        respond_plain(h, IKE_N_INVALID_SYNTAX, NULL, 0, local, remote, out);
        ike_log(out, NULL, "IKE_SA_INIT request from %s lacks SA, KE or Ni: INVALID_SYNTAX", from);
        return;
    }
    if (len > IKE_MAX_SA_INIT_LEN) {
        ike_log(out, NULL, "dropping IKE_SA_INIT request from %s: %zu octets, more than the %u we keep", from, len,
                IKE_MAX_SA_INIT_LEN);
        return;
    }
    if (core->half_open >= core->cfg.max_half_open) {
        if (!core->half_open_full_logged)
            ike_log(out, NULL,
                    "%zu half-open IKE SAs (max-half-open): dropping new IKE_SA_INIT requests, "
                    "the first from %s",
                    core->half_open, from);
        core->half_open_full_logged = true;
        return;
    }
    core->half_open_full_logged = false;
    ike_cookies_update(core, out);
    if (core->cookies) {
        uint8_t cookie[33];
        make_cookie(core, pl, remote, h->spi_i, cookie);
        const struct ike_notify *c = ike_find_notify(pl, IKE_N_COOKIE);
        if (c == NULL || c->data.len != sizeof(cookie) || memcmp(c->data.p, cookie, sizeof(cookie)) != 0) {
            /* stateless, and not logged one by one: a flood would fill the log (cookies on/off are) */
            respond_plain(h, IKE_N_COOKIE, cookie, sizeof(cookie), local, remote, out);
            core->cookie_asked_at = core->now;
            core->cookies_asked++;
            return;
        }
    }
    /* past a cookie the address is real: now it may hold only its share */
    if (ike_half_open_from(core, &remote->addr) >= core->cfg.max_half_open_per_source) {
        if (!core->source_full_logged)
            ike_log(out, NULL, "%s has %u half-open IKE SAs (max-half-open-per-source): dropping its new ones", from,
                    core->cfg.max_half_open_per_source);
        core->source_full_logged = true;
        return;
    }
    core->source_full_logged = false;
    struct ike_choice c;
    int want;
    if (!ike_choose_ike(core, &pl->sa, pl->ke_group, &c, &want)) {
        if (want) {
            uint8_t g[2] = {(uint8_t)(want >> 8), (uint8_t)want};
            respond_plain(h, IKE_N_INVALID_KE_PAYLOAD, g, 2, local, remote, out);
            ike_log(out, NULL, "IKE_SA_INIT from %s: KE group %u not wanted, asking for %d", from, pl->ke_group, want);
        } else {
            respond_plain(h, IKE_N_NO_PROPOSAL_CHOSEN, NULL, 0, local, remote, out);
            ike_log(out, NULL,
                    "IKE_SA_INIT from %s: no acceptable proposal (we take AES-GCM-16 or "
                    "AES-CBC with HMAC-SHA2, a HMAC-SHA2 PRF and DH 14, 19 or 31)",
                    from);
        }
        return;
    }
    struct ike_sa *sa = ike_sa_new(core, false);
    if (sa == NULL)
        return;
    sa->spi_i = h->spi_i;
    sa->local = *local;
    sa->remote = *remote;
    sa->local_host = local->addr;
    sa->remote_host = remote->addr;
    ike_sa_index(sa);
    sa->prf = c.prf;
    sa->encr = c.encr;
    sa->encr_bits = c.encr_bits;
    sa->integ = c.integ;
    sa->dh_group = c.dh;
    struct oe_error err;
    uint8_t shared[IKE_MAX_DH_LEN];
    sa->ni_len = pl->nonce.len; /* the parser bounds it by IKE_MAX_NONCE */
    memcpy(sa->ni, pl->nonce.p, sa->ni_len);
    sa->nr_len = IKE_NONCE_LEN;
    sa->dh = ike_dh_new(sa->env, c.dh, &err);
    int rc = sa->dh ? 0 : -1;
    if (rc == 0 && (rc = ike_random(sa->env, sa->nr, sa->nr_len)) != 0)
        oe_error_setc(&err, OE_E_CRYPTO, "no random numbers for our nonce");
    if (rc == 0)
        rc = ike_dh_shared(sa->dh, pl->ke.p, pl->ke.len, shared, &err);
    if (rc == 0 && (rc = ike_derive_ike_keys(sa, shared, ike_dh_shared_len(c.dh))) != 0)
        oe_error_setc(&err, OE_E_CRYPTO, "cannot derive the IKE SA's keys");
    if (rc != 0) {
        ike_log(out, sa, "IKE_SA_INIT from %s refused: %s", from, err.msg);
        oe_wipe(shared, sizeof(shared));
        if (sa->dh && err.code == OE_E_INVALID) /* the peer's KE value, not our failure */
            respond_plain(h, IKE_N_INVALID_SYNTAX, NULL, 0, local, remote, out);
        ike_sa_fail(core, sa, out, "bad IKE_SA_INIT");
        return;
    }
    oe_wipe(shared, sizeof(shared));
    wbuf_put(&sa->msg1, msg, len);
    struct ike_header rh = {.spi_i = sa->spi_i, .spi_r = sa->spi_r, .exchange = IKE_SA_INIT, .flags = IKE_FLAG_R};
    struct ike_builder mb = {0};
    struct ike_proposal p;
    ike_ike_answer(&c, 0, &p);
    size_t publen;
    const uint8_t *pub = ike_dh_public(sa->dh, &publen);
    ikeb_header(&mb, &rh);
    ikeb_sa(&mb, &p, 1);
    ikeb_ke(&mb, (uint16_t)c.dh, pub, publen);
    ikeb_nonce(&mb, sa->nr, sa->nr_len);
    ike_nat_detect(sa, 0, pl, out);
    ike_nat_add_notifies(sa, sa->spi_r, &mb);
    ikeb_notify(&mb, 0, NULL, 0, IKE_N_SIGNATURE_HASH_ALGORITHMS, hash_algs, sizeof(hash_algs));
    ikeb_finish(&mb);
    wbuf_put(&sa->msg2, mb.b.p, mb.b.len);
    sa->last_resp.len = 0;
    wbuf_put(&sa->last_resp, mb.b.p, mb.b.len);
    sa->have_resp = true;
    sa->last_resp_msgid = 0;
    ike_sha256(msg, len, sa->rx_hash);
    ike_answering(sa);
    sa->peer_msgid = 1;
    sa->state = SA_INIT_DONE;
    sa->init_sent_at = core->now;
    sa->half_open = true;
    sa->half_open_until = core->now + core->cfg.half_open_timeout_ms;
    core->half_open++;
    ike_sa_index(sa);
    struct ike_action *t = ike_act(out, IKE_ACT_TIMER, sa);
    if (t)
        t->ms = core->cfg.half_open_timeout_ms;
    char algs[64];
    ike_log(out, sa, "responding to IKE_SA_INIT from %s:%u (%s, PRF %d, DH %d)", from, remote->port,
            ike_algs_name(c.encr, c.encr_bits, c.integ, algs, sizeof(algs)), c.prf, c.dh);
    ike_send(out, sa, &mb.b, false);
    wbuf_free(&mb.b);
}

/*
 * RFC 7296 2.21.1: an IKE_SA_INIT answer is unprotected, anyone on the path can forge one. What
 * we cannot use is logged and ignored: the request stays out, retransmitted, until a valid answer
 * comes or the retransmissions run out (ike_timer), and then what we saw is part of the reason.
 */
static void ignore_answer(struct ike_sa *sa, struct ike_actions *out, const char *why)
{
    ike_log(out, sa, "ignoring IKE_SA_INIT response: %s", why);
    size_t n = strnlen(why, sizeof(sa->init_trouble) - 1); /* a long one is cut */
    memcpy(sa->init_trouble, why, n);
    sa->init_trouble[n] = '\0';
}

/* COOKIE and INVALID_KE_PAYLOAD (RFC 7296 1.2, 2.6): the corrective actions 2.21.1 allows. True
 * when the answer was one of them: the request went again, or the answer is ignored. */
static bool restart_asked(struct ike_core *core, struct ike_sa *sa, const struct ike_payloads *pl,
                          struct ike_actions *out)
{
    const struct ike_notify *n;
    char why[128];
    if ((n = ike_find_notify(pl, IKE_N_COOKIE)) != NULL) {
        if (sa->cookie.len) {
            ignore_answer(sa, out, "a second COOKIE");
            return true;
        }
        wbuf_put(&sa->cookie, n->data.p, n->data.len);
        ike_log(out, sa, "responder asked for a cookie; resending IKE_SA_INIT with it");
        ike_send_sa_init(core, sa, out);
        return true;
    }
    if ((n = ike_find_notify(pl, IKE_N_INVALID_KE_PAYLOAD)) == NULL)
        return false;
    int g = n->data.len == 2 ? n->data.p[0] << 8 | n->data.p[1] : 0;
    if (g && g != sa->dh_group && ike_dh_group_ok(&core->cfg, g) && sa->ke_retries < IKE_MAX_KE_RETRIES) {
        ike_log(out, sa, "responder wants DH %d (INVALID_KE_PAYLOAD); retrying", g);
        sa->ke_retries++;
        sa->dh_group = g;
        ike_send_sa_init(core, sa, out);
        return true;
    }
    snprintf(why, sizeof(why), "an unprotected INVALID_KE_PAYLOAD asking for DH %d, %s", g,
             g == sa->dh_group                 ? "the group we sent"
             : !ike_dh_group_ok(&core->cfg, g) ? "which is not in dh-groups"
                                               : "after too many restarts");
    ignore_answer(sa, out, why);
    return true;
}

/* The answer's SA, KE and Nr as we can take them: true and c, or false and why. */
static bool answer_usable(const struct ike_core *core, const struct ike_sa *sa, const struct ike_header *h,
                          const struct ike_payloads *pl, struct ike_choice *c, char *why, size_t len)
{
    if (!pl->has_sa || !pl->has_ke || !pl->has_nonce || h->spi_r == 0 || h->msgid != 0) {
        snprintf(why, len, "it lacks SA, KE or Nr, or has no SPI of the responder");
        return false;
    }
    if (pl->sa.n != 1) {
        snprintf(why, len, "it has %zu proposals, an answer has one", pl->sa.n);
        return false;
    }
    if (!ike_read_ike_answer(&core->cfg, &pl->sa.p[0], sa->dh_group, c, why, len))
        return false;
    if (pl->ke_group != sa->dh_group) {
        snprintf(why, len, "its KE is for DH %u, ours for DH %d", pl->ke_group, sa->dh_group);
        return false;
    }
    return true;
}

void ike_handle_sa_init_response(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                                 const struct ike_payloads *pl, struct ike_actions *out)
{
    char why[128];
    if (restart_asked(core, sa, pl, out))
        return;
    for (size_t i = 0; i < pl->nnotify; i++) {
        if (pl->notify[i].type < 16384) {
            snprintf(why, sizeof(why), "an unprotected %s", ike_notify_name(pl->notify[i].type));
            ignore_answer(sa, out, why);
            return;
        }
    }
    struct ike_header h;
    struct oe_error err;
    struct ike_choice c;
    uint8_t shared[IKE_MAX_DH_LEN];
    ike_parse_header(msg, len, &h, &err);
    if (!answer_usable(core, sa, &h, pl, &c, why, sizeof(why))) {
        ignore_answer(sa, out, why);
        return;
    }
    if (ike_dh_shared(sa->dh, pl->ke.p, pl->ke.len, shared, &err) != 0) {
        oe_wipe(shared, sizeof(shared));
        ignore_answer(sa, out, err.msg);
        return;
    }
    /* a usable answer: from here on the SA is the answer's */
    sa->spi_r = h.spi_r;
    ike_sa_index(sa);
    sa->encr = c.encr;
    sa->encr_bits = c.encr_bits;
    sa->integ = c.integ;
    sa->prf = c.prf;
    sa->nr_len = pl->nonce.len;
    memcpy(sa->nr, pl->nonce.p, sa->nr_len);
    if (ike_derive_ike_keys(sa, shared, ike_dh_shared_len(c.dh)) != 0) {
        oe_wipe(shared, sizeof(shared));
        ike_sa_fail(core, sa, out, "IKE SA key derivation failed");
        return;
    }
    oe_wipe(shared, sizeof(shared));
    wbuf_put(&sa->msg2, msg, len);
    char algs[64];
    ike_log(out, sa, "IKE_SA_INIT response: %s, PRF %d, DH %d",
            ike_algs_name(c.encr, c.encr_bits, c.integ, algs, sizeof(algs)), c.prf, c.dh);
    ike_nat_detect(sa, sa->spi_r, pl, out);
    ike_nat_float(sa, out);
    ike_send_auth(core, sa, out);
}
