/*
 * CREATE_CHILD_SA (RFC 7296 1.3.2, 1.3.3, 2.8, 2.18), both roles: rekeying
 * the Child SA (with or without a new DH, PFS) and the IKE SA. A new Child
 * pair takes over at once under the same reqid and policies; the old pair
 * stays until its Delete. A rekeyed IKE SA keeps its serial and its Child
 * SA; its old self lives on, retired, only to carry the Delete. A second
 * Child SA beside the first is refused (NO_ADDITIONAL_SAS).
 */
#include "ike_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define IKE_N_NO_ADDITIONAL_SAS 35
#define IKE_N_CHILD_SA_NOT_FOUND 44

static void reply_notify(struct ike_sa *sa, uint32_t msgid, uint16_t type, struct ike_actions *out)
{
    struct ike_builder inner = {0};
    ikeb_notify(&inner, 0, NULL, 0, type, NULL, 0);
    ike_respond(sa, IKE_CREATE_CHILD_SA, msgid, &inner, out);
    wbuf_free(&inner.b);
}

static int proposal_dh(const struct ike_proposal *p)
{
    for (size_t t = 0; t < p->nt; t++)
        if (p->t[t].type == IKE_TR_DH && p->t[t].id != 0)
            return p->t[t].id;
    return 0;
}

static uint32_t spi32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t spi64(const struct ike_proposal *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p->spi[i];
    return v;
}

/* The new pair serves; the old one waits for its Delete. */
static void new_pair(struct ike_sa *sa, uint32_t spi_in, uint32_t spi_out, const struct ike_esp_algs *algs,
                     const char *how, bool pfs, struct ike_actions *out)
{
    sa->child_algs = *algs;
    sa->old_spi_in = sa->child_spi_in;
    sa->old_spi_out = sa->child_spi_out;
    sa->child_spi_in = spi_in;
    sa->child_spi_out = spi_out;
    struct ike_action *rk = ike_act(out, IKE_ACT_REKEYED, sa);
    if (rk) {
        rk->child.spi_in = spi_in;
        rk->child.spi_out = spi_out;
        rk->child.encr = (uint16_t)algs->encr;
        rk->child.encr_bits = (uint16_t)algs->bits;
        rk->child.integ = (uint16_t)algs->integ;
    }
    ike_log_child(out, sa, "%s%s: ESP=>0x%08x <0x%08x replaces 0x%08x/0x%08x", how, pfs ? " (with PFS)" : "",
                  spi_out, spi_in, sa->old_spi_out, sa->old_spi_in);
}

void ike_child_lifetimes(const struct ike_core *core, struct ike_child_sa *c)
{
    c->hard_s = core->cfg.child_lifetime_s;
    c->soft_s = c->hard_s ? ike_rekey_after(c->hard_s) : 0;
}

/* ---- the IKE SA: its old self retires, the SA itself takes the new keys ---- */

static struct ike_sa *retire_copy(struct ike_core *core, struct ike_sa *sa)
{
    struct ike_sa *old = calloc(1, sizeof(*old));
    if (old == NULL)
        return NULL;
    *old = *sa;
    /* the copy owns none of the SA's buffers but the answer to the peer's last request */
    old->msg1 = old->msg2 = old->cookie = old->last_req = old->last_resp = old->auth_req = (struct wbuf){0};
    wbuf_put(&old->last_resp, sa->last_resp.p, sa->last_resp.len);
    old->dh = old->rekey_dh = NULL;
    memset(&old->peer_key, 0, sizeof(old->peer_key));
    old->serial = core->next_serial;
    old->child_serial = core->next_serial + 1;
    core->next_serial += 2;
    old->retired = true;
    old->child_spi_in = old->child_spi_out = old->old_spi_in = old->old_spi_out = 0;
    old->pending = XCHG_NONE;
    old->awaiting = false;
    old->keepalive_at = old->ike_rekey_at = old->dpd_at = 0;
    old->next = core->sas;
    core->sas = old;
    return old;
}

/* The SA takes the new IKE SA's SPIs, algorithms and keys; message IDs start again (RFC 7296 2.18). */
static int take_new_keys(struct ike_core *core, struct ike_sa *sa, bool we_initiated, uint64_t spi_i, uint64_t spi_r,
                         const struct ike_choice *c, const uint8_t *ni, size_t nilen, const uint8_t *nr,
                         size_t nrlen, const uint8_t *shared, size_t slen, struct ike_actions *out)
{
    uint8_t old_sk_d[IKE_MAX_PRF_LEN];
    int old_prf = sa->prf;
    size_t old_len = sa->prf_len;
    memcpy(old_sk_d, sa->sk_d, sizeof(old_sk_d));
    struct ike_sa *old = retire_copy(core, sa);
    if (old == NULL)
        return -1;
    sa->initiator = we_initiated; /* the rekey's initiator is the new SA's (2.18) */
    sa->spi_i = spi_i;
    sa->spi_r = spi_r;
    sa->encr = c->encr;
    sa->encr_bits = c->encr_bits;
    sa->integ = c->integ;
    sa->prf = c->prf;
    sa->dh_group = c->dh;
    sa->ni_len = nilen < sizeof(sa->ni) ? nilen : sizeof(sa->ni);
    memcpy(sa->ni, ni, sa->ni_len);
    sa->nr_len = nrlen < sizeof(sa->nr) ? nrlen : sizeof(sa->nr);
    memcpy(sa->nr, nr, sa->nr_len);
    int rc = ike_derive_rekeyed_keys(sa, old_prf, old_sk_d, old_len, shared, slen);
    oe_wipe(old_sk_d, sizeof(old_sk_d));
    sa->next_msgid = sa->peer_msgid = 0;
    sa->have_resp = false;
    sa->awaiting = false;
    sa->pending = XCHG_NONE;
    sa->last_resp.len = sa->last_req.len = 0;
    sa->ike_rekey_at = ike_rekey_due(core);
    char algs[64];
    ike_log(out, sa, "IKE SA rekeyed (%s): SPIs %016llx/%016llx replace %016llx/%016llx; %s, PRF %d, DH %d",
            we_initiated ? "we initiated" : "the peer initiated", (unsigned long long)sa->spi_i,
            (unsigned long long)sa->spi_r, (unsigned long long)old->spi_i, (unsigned long long)old->spi_r,
            ike_algs_name(c->encr, c->encr_bits, c->integ, algs, sizeof(algs)), c->prf, c->dh);
    if (we_initiated) {
        /* the old IKE SA goes with a Delete sent under its own keys */
        struct ike_builder inner = {0};
        ikeb_delete(&inner, IKE_PROTO_IKE, 0, NULL, 0);
        old->pending = XCHG_RETIRE_IKE;
        if (ike_request(old, IKE_INFORMATIONAL, &inner, out) != 0)
            ike_sa_fail(core, old, out, "cannot encrypt the Delete");
        wbuf_free(&inner.b);
    } else {
        /* the peer deletes it; should that never come, it goes anyway */
        struct ike_action *t = ike_act(out, IKE_ACT_TIMER, old);
        if (t)
            t->ms = 30000;
    }
    return rc;
}

static void answer_ike_rekey(struct ike_core *core, struct ike_sa *sa, uint32_t msgid, const struct ike_payloads *in,
                             struct ike_actions *out)
{
    struct ike_choice c;
    struct oe_error err;
    int want = 0;
    if (!ike_choose_ike(core, &in->sa, in->has_ke ? in->ke_group : 0, &c, &want) || c.spi->spi_size != 8) {
        if (want) {
            uint8_t g[2] = {(uint8_t)(want >> 8), (uint8_t)want};
            struct ike_builder inner = {0};
            ikeb_notify(&inner, 0, NULL, 0, IKE_N_INVALID_KE_PAYLOAD, g, 2);
            ike_respond(sa, IKE_CREATE_CHILD_SA, msgid, &inner, out);
            wbuf_free(&inner.b);
            ike_log(out, sa, "IKE SA rekey: asking the peer for DH %d (INVALID_KE_PAYLOAD)", want);
        } else {
            ike_log(out, sa, "IKE SA rekey: no acceptable proposal; answering NO_PROPOSAL_CHOSEN");
            reply_notify(sa, msgid, IKE_N_NO_PROPOSAL_CHOSEN, out);
        }
        return;
    }
    uint64_t peer_spi = spi64(c.spi), our_spi = 0;
    uint8_t nr[32], shared[IKE_MAX_DH_LEN];
    struct ike_dh *dh = ike_dh_new(c.dh, &err);
    while (our_spi == 0)
        ike_random((uint8_t *)&our_spi, sizeof(our_spi));
    if (dh == NULL || ike_random(nr, sizeof(nr)) != 0 || ike_dh_shared(dh, in->ke.p, in->ke.len, shared, &err) != 0) {
        ike_log(out, sa, "IKE SA rekey refused: %s", dh ? err.msg : "no DH");
        ike_dh_free(dh);
        reply_notify(sa, msgid, IKE_N_INVALID_SYNTAX, out);
        return;
    }
    struct ike_builder inner = {0};
    struct ike_proposal p;
    size_t publen;
    const uint8_t *pub = ike_dh_public(dh, &publen);
    ike_ike_answer(&c, our_spi, &p);
    ikeb_sa(&inner, &p, 1);
    ikeb_nonce(&inner, nr, sizeof(nr));
    ikeb_ke(&inner, (uint16_t)c.dh, pub, publen);
    /* answered under the old keys; then the SA moves to the new ones */
    int rc = ike_respond(sa, IKE_CREATE_CHILD_SA, msgid, &inner, out);
    wbuf_free(&inner.b);
    ike_dh_free(dh);
    if (rc == 0 && take_new_keys(core, sa, false, peer_spi, our_spi, &c, in->nonce.p, in->nonce.len, nr, sizeof(nr),
                                 shared, ike_dh_shared_len(c.dh), out) != 0)
        ike_sa_fail(core, sa, out, "IKE SA rekey: key derivation failed");
    oe_wipe(shared, sizeof(shared));
}

void ike_start_ike_rekey(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out)
{
    struct oe_error err;
    if (sa->retired || sa->state != SA_ESTABLISHED || sa->awaiting)
        return;
    ike_dh_free(sa->rekey_dh);
    sa->rekey_dh = ike_dh_new(sa->dh_group, &err);
    sa->rekey_ike_spi = 0;
    while (sa->rekey_ike_spi == 0)
        ike_random((uint8_t *)&sa->rekey_ike_spi, sizeof(sa->rekey_ike_spi));
    if (sa->rekey_dh == NULL || ike_random(sa->rekey_ni, sizeof(sa->rekey_ni)) != 0) {
        ike_log(out, sa, "cannot rekey the IKE SA: %s", sa->rekey_dh ? "no random numbers" : err.msg);
        return;
    }
    struct ike_proposal p[2];
    size_t np = ike_proposal_offer(core, sa->dh_group, p);
    for (size_t i = 0; i < np; i++) {
        p[i].spi_size = 8;
        for (int b = 0; b < 8; b++)
            p[i].spi[b] = (uint8_t)(sa->rekey_ike_spi >> (56 - 8 * b));
    }
    struct ike_builder inner = {0};
    size_t publen;
    const uint8_t *pub = ike_dh_public(sa->rekey_dh, &publen);
    ikeb_sa(&inner, p, np);
    ikeb_nonce(&inner, sa->rekey_ni, sizeof(sa->rekey_ni));
    ikeb_ke(&inner, (uint16_t)sa->dh_group, pub, publen);
    if (ike_request(sa, IKE_CREATE_CHILD_SA, &inner, out) == 0) {
        sa->pending = XCHG_IKE_REKEY;
        ike_log(out, sa, "rekeying the IKE SA (CREATE_CHILD_SA, DH %d)", sa->dh_group);
    }
    wbuf_free(&inner.b);
}

/* ---- the Child SA, as the initiator of the rekey ---- */

void ike_start_child_rekey(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out)
{
    struct oe_error err;
    if (sa->retired || sa->state != SA_ESTABLISHED || sa->child_spi_out == 0 || sa->pending == XCHG_CHILD_REKEY)
        return;
    if (sa->awaiting) {
        sa->child_rekey_wanted = true; /* after the exchange in flight */
        return;
    }
    sa->child_rekey_wanted = false;
    ike_dh_free(sa->rekey_dh);
    sa->rekey_dh = ike_dh_new(sa->dh_group, &err);
    sa->rekey_spi = 0;
    while (sa->rekey_spi < 0x100)
        ike_random((uint8_t *)&sa->rekey_spi, 4);
    if (sa->rekey_dh == NULL || ike_random(sa->rekey_ni, sizeof(sa->rekey_ni)) != 0) {
        ike_log(out, sa, "cannot rekey the Child SA: %s", sa->rekey_dh ? "no random numbers" : err.msg);
        return;
    }
    /* with PFS (the IKE SA's group) first, then without: the peer picks (RFC 7296 1.3.1) */
    struct ike_proposal p[4];
    size_t np = ike_esp_offer(&core->cfg, sa->rekey_spi, sa->dh_group, p);
    size_t nq = ike_esp_offer(&core->cfg, sa->rekey_spi, 0, p + np);
    for (size_t i = np; i < np + nq; i++)
        p[i].num = (uint8_t)(i + 1);
    struct ike_builder inner = {0};
    uint8_t rk[4] = {(uint8_t)(sa->child_spi_in >> 24), (uint8_t)(sa->child_spi_in >> 16),
                     (uint8_t)(sa->child_spi_in >> 8), (uint8_t)sa->child_spi_in};
    size_t publen;
    const uint8_t *pub = ike_dh_public(sa->rekey_dh, &publen);
    struct ike_ts tsi, tsr;
    ike_host_ts(&sa->local_host, &tsi);
    ike_host_ts(&sa->remote_host, &tsr);
    ikeb_notify(&inner, IKE_PROTO_ESP, rk, 4, IKE_N_REKEY_SA, NULL, 0);
    ikeb_sa(&inner, p, np + nq);
    ikeb_nonce(&inner, sa->rekey_ni, sizeof(sa->rekey_ni));
    ikeb_ke(&inner, (uint16_t)sa->dh_group, pub, publen);
    ikeb_ts(&inner, IKE_PL_TSI, &tsi, 1);
    ikeb_ts(&inner, IKE_PL_TSR, &tsr, 1);
    if (ike_request(sa, IKE_CREATE_CHILD_SA, &inner, out) == 0) {
        sa->pending = XCHG_CHILD_REKEY;
        ike_log_child(out, sa, "rekeying the Child SA 0x%08x/0x%08x (CREATE_CHILD_SA)", sa->child_spi_out,
                      sa->child_spi_in);
    }
    wbuf_free(&inner.b);
}

static void child_rekey_answered(struct ike_core *core, struct ike_sa *sa, const struct ike_payloads *in,
                                 struct ike_actions *out)
{
    struct ike_esp_algs algs;
    struct oe_error err;
    const struct ike_proposal *esp = in->has_sa && in->sa.n == 1 ? ike_choose_esp(&core->cfg, &in->sa, &algs) : NULL;
    int group = esp ? proposal_dh(esp) : 0;
    uint8_t shared[IKE_MAX_DH_LEN];
    size_t slen = 0;
    if (esp == NULL || !in->has_nonce || (group && (group != sa->dh_group || !in->has_ke || in->ke_group != group))) {
        ike_log_child(out, sa, "Child SA rekey answer refused: it chose what we did not offer");
        return;
    }
    if (group) {
        if (ike_dh_shared(sa->rekey_dh, in->ke.p, in->ke.len, shared, &err) != 0) {
            ike_log_child(out, sa, "Child SA rekey answer refused: %s", err.msg);
            return;
        }
        slen = ike_dh_shared_len(group);
    }
    struct ike_action *act = ike_act(out, IKE_ACT_INSTALL, sa);
    if (act == NULL)
        return;
    struct ike_child_sa *c = &act->child;
    ike_child_endpoints(sa, c);
    ike_child_lifetimes(core, c);
    c->sas_only = true; /* same reqid: the policies in the kernel take the new pair */
    c->spi_in = sa->rekey_spi;
    c->spi_out = ike_spi_of(esp);
    ike_child_keymat(sa, true, shared, slen, sa->rekey_ni, sizeof(sa->rekey_ni), in->nonce.p, in->nonce.len, &algs, c);
    oe_wipe(shared, sizeof(shared));
    new_pair(sa, c->spi_in, c->spi_out, &algs, "rekeyed", group != 0, out);
    /* the old pair goes: our Delete names our old inbound SPI (RFC 7296 1.4.1) */
    struct ike_builder inner = {0};
    uint8_t old[4] = {(uint8_t)(sa->old_spi_in >> 24), (uint8_t)(sa->old_spi_in >> 16),
                      (uint8_t)(sa->old_spi_in >> 8), (uint8_t)sa->old_spi_in};
    ikeb_delete(&inner, IKE_PROTO_ESP, 4, old, 1);
    if (ike_request(sa, IKE_INFORMATIONAL, &inner, out) == 0)
        sa->pending = XCHG_RETIRE_CHILD;
    wbuf_free(&inner.b);
}

/* false when the SA had to go */
static bool ike_rekey_answered(struct ike_core *core, struct ike_sa *sa, const struct ike_payloads *in,
                               struct ike_actions *out)
{
    struct ike_choice c;
    struct oe_error err;
    uint8_t shared[IKE_MAX_DH_LEN];
    if (!in->has_sa || in->sa.n != 1 || !ike_read_ike_answer(&in->sa.p[0], &c) || in->sa.p[0].spi_size != 8 ||
        c.dh != sa->dh_group || !in->has_nonce || !in->has_ke || in->ke_group != c.dh) {
        ike_log(out, sa, "IKE SA rekey answer refused: it chose what we did not offer");
        return true;
    }
    if (ike_dh_shared(sa->rekey_dh, in->ke.p, in->ke.len, shared, &err) != 0) {
        ike_log(out, sa, "IKE SA rekey answer refused: %s", err.msg);
        return true;
    }
    uint8_t ni[sizeof(sa->rekey_ni)];
    memcpy(ni, sa->rekey_ni, sizeof(ni));
    int rc = take_new_keys(core, sa, true, sa->rekey_ike_spi, spi64(&in->sa.p[0]), &c, ni, sizeof(ni), in->nonce.p,
                           in->nonce.len, shared, ike_dh_shared_len(c.dh), out);
    oe_wipe(shared, sizeof(shared));
    if (rc != 0) {
        ike_sa_fail(core, sa, out, "IKE SA rekey: key derivation failed");
        return false;
    }
    return true;
}

void ike_handle_create_child_response(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                                      const struct ike_payloads *pl, struct ike_actions *out)
{
    struct wbuf plain = {0};
    struct ike_payloads *in = ike_open(sa, msg, len, pl, &plain, "CREATE_CHILD_SA response", out);
    if (in == NULL)
        return;
    int what = sa->pending;
    sa->awaiting = false;
    sa->pending = XCHG_NONE;
    const char *refused = NULL;
    for (size_t i = 0; i < in->nnotify && !refused; i++)
        if (in->notify[i].type < 16384)
            refused = ike_notify_name(in->notify[i].type);
    if (refused) {
        /* the old SAs serve on; a Child SA's hard lifetime or the next IKE rekey try will follow */
        ike_log(out, sa, "peer refused our %s rekey: %s", what == XCHG_IKE_REKEY ? "IKE SA" : "Child SA", refused);
        if (what == XCHG_IKE_REKEY)
            sa->ike_rekey_at = core->now + 60000;
    } else if (what == XCHG_CHILD_REKEY) {
        child_rekey_answered(core, sa, in, out);
    } else if (what == XCHG_IKE_REKEY && !ike_rekey_answered(core, sa, in, out)) {
        sa = NULL;
    }
    wbuf_wipe(&plain);
    free(in);
    if (sa && !sa->awaiting)
        ike_arm_established(core, sa, out);
}

void ike_handle_create_child_sa(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                                const struct ike_header *h, const struct ike_payloads *pl,
                                struct ike_actions *out)
{
    struct wbuf plain = {0};
    struct oe_error err;
    struct ike_payloads *in = ike_open(sa, msg, len, pl, &plain, "CREATE_CHILD_SA request", out);
    if (in == NULL)
        return;
    const struct ike_notify *rk = ike_find_notify(in, IKE_N_REKEY_SA);
    if (!in->has_sa || !in->has_nonce) {
        reply_notify(sa, h->msgid, IKE_N_INVALID_SYNTAX, out);
        goto done;
    }
    if (in->sa.n > 0 && in->sa.p[0].protocol == IKE_PROTO_IKE) {
        answer_ike_rekey(core, sa, h->msgid, in, out);
        goto done;
    }
    if (rk == NULL) {
        ike_log(out, sa, "peer asks for a second Child SA: answering NO_ADDITIONAL_SAS");
        reply_notify(sa, h->msgid, IKE_N_NO_ADDITIONAL_SAS, out);
        goto done;
    }
    uint32_t old = rk->spi.len == 4 ? spi32(rk->spi.p) : 0;
    struct ike_esp_algs algs;
    const struct ike_proposal *esp = ike_choose_esp(&core->cfg, &in->sa, &algs);
    if (old != sa->child_spi_out) {
        reply_notify(sa, h->msgid, IKE_N_CHILD_SA_NOT_FOUND, out);
        goto done;
    }
    int group = esp ? proposal_dh(esp) : 0;
    if (esp == NULL || (group && (!in->has_ke || in->ke_group != group || ike_dh_len(group) == 0))) {
        ike_log(out, sa, "rekey: no acceptable ESP proposal (AES-GCM-16 or AES-CBC with HMAC-SHA2, "
                         "optional DH 14/19/31 with its KE)");
        reply_notify(sa, h->msgid, IKE_N_NO_PROPOSAL_CHOSEN, out);
        goto done;
    }
    /* the new pair's nonces and, with PFS, a new DH */
    uint8_t nr[32], shared[IKE_MAX_DH_LEN];
    size_t slen = 0;
    struct ike_dh *dh = NULL;
    if (ike_random(nr, sizeof(nr)) != 0)
        goto done;
    if (group) {
        dh = ike_dh_new(group, &err);
        if (dh == NULL || ike_dh_shared(dh, in->ke.p, in->ke.len, shared, &err) != 0) {
            ike_log(out, sa, "rekey refused: %s", err.msg);
            ike_dh_free(dh);
            reply_notify(sa, h->msgid, IKE_N_INVALID_SYNTAX, out);
            goto done;
        }
        slen = ike_dh_shared_len(group);
    }
    struct ike_action *act = ike_act(out, IKE_ACT_INSTALL, sa);
    if (act == NULL) {
        ike_dh_free(dh);
        goto done;
    }
    struct ike_child_sa *c = &act->child;
    uint32_t spi_in = 0;
    while (spi_in < 0x100)
        ike_random((uint8_t *)&spi_in, 4);
    ike_child_endpoints(sa, c);
    ike_child_lifetimes(core, c);
    c->sas_only = true; /* same reqid: the policies in the kernel take the new pair */
    c->spi_in = spi_in;
    c->spi_out = ike_spi_of(esp);
    /* the peer started this exchange: it is the "i" of the new keys */
    ike_child_keymat(sa, false, shared, slen, in->nonce.p, in->nonce.len, nr, sizeof(nr), &algs, c);
    oe_wipe(shared, sizeof(shared));
    struct ike_builder inner = {0};
    struct ike_proposal p;
    ike_esp_answer(esp, &algs, spi_in, group, &p);
    struct ike_ts tsi, tsr;
    ike_host_ts(&sa->remote_host, &tsi);
    ike_host_ts(&sa->local_host, &tsr);
    ikeb_sa(&inner, &p, 1);
    ikeb_nonce(&inner, nr, sizeof(nr));
    if (group) {
        size_t publen;
        const uint8_t *pub = ike_dh_public(dh, &publen);
        ikeb_ke(&inner, (uint16_t)group, pub, publen);
    }
    ike_dh_free(dh);
    ikeb_ts(&inner, IKE_PL_TSI, &tsi, 1);
    ikeb_ts(&inner, IKE_PL_TSR, &tsr, 1);
    ike_respond(sa, IKE_CREATE_CHILD_SA, h->msgid, &inner, out);
    wbuf_wipe(&inner.b);
    new_pair(sa, spi_in, ike_spi_of(esp), &algs, "rekeyed by the peer", group != 0, out);
done:
    wbuf_wipe(&plain);
    free(in);
}
