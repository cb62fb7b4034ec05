/*
 * CREATE_CHILD_SA (RFC 7296 1.3.3, 2.8), both roles: rekeying the Child SA
 * (with or without a new DH, PFS); requests for the IKE SA go to
 * ike_rekey_ike.c. A new pair takes over under the same reqid and policies
 * (as the responder, its outbound SA once the peer retires the old pair);
 * the old pair stays until its Delete. A second Child SA beside the first is
 * refused (NO_ADDITIONAL_SAS).
 */
#include "ike_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define IKE_N_NO_ADDITIONAL_SAS 35
#define IKE_N_CHILD_SA_NOT_FOUND 44

void ike_reply_create_child(struct ike_sa *sa, uint32_t msgid, uint16_t type, struct ike_actions *out)
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

/* What the peer's Child SA rekey asks of its PFS group, and what we make of it. */
struct rekey_pfs {
    int group;   /* chosen: the PFS group, 0: none */
    int want;    /* none chosen: a group of ours a proposal named, with a KE for another */
    int outside; /* none chosen: a group a proposal named that is not in dh-groups */
};

/* One proposal's DH transforms (RFC 7296 3.3.2: NONE, or none at all, makes PFS optional), given
 * the KE that came: true and pfs->group when we can take it. */
static bool rekey_pfs_ok(const struct ike_config *cfg, const struct ike_proposal *p, const struct ike_payloads *in,
                         struct rekey_pfs *pfs)
{
    bool any = false, none = false, ke_ours = false;
    int ours = 0, other = 0;
    for (size_t t = 0; t < p->nt; t++) {
        const struct ike_transform *tr = &p->t[t];
        if (tr->type != IKE_TR_DH)
            continue;
        if (tr->id == 0)
            none = true;
        else if (!ike_dh_group_ok(cfg, tr->id))
            other = other ? other : tr->id;
        else if (in->has_ke && tr->id == in->ke_group)
            ke_ours = true;
        else
            ours = ours ? ours : tr->id;
        any = true;
    }
    bool optional = !any || none;
    if (ke_ours || optional) {
        pfs->group = ke_ours ? in->ke_group : 0; /* PFS when it may be had */
        return true;
    }
    pfs->want = pfs->want ? pfs->want : ours;
    pfs->outside = pfs->outside ? pfs->outside : other;
    return false;
}

/*
 * The peer's Child SA rekey: the first of its proposals with algorithms we take (ike_choose_esp)
 * and, for PFS, a group we take: dh-groups is all the groups we take, for the IKE SA and a Child
 * SA's PFS alike. NULL when none: then pfs->want, a group of ours that came with a KE for
 * another, is INVALID_KE_PAYLOAD (RFC 7296 1.3), and otherwise it is NO_PROPOSAL_CHOSEN.
 */
static const struct ike_proposal *choose_rekey_esp(const struct ike_config *cfg, const struct ike_payloads *in,
                                                   struct ike_esp_algs *algs, struct rekey_pfs *pfs)
{
    memset(pfs, 0, sizeof(*pfs));
    for (size_t i = 0; i < in->sa.n; i++) {
        struct ike_sa_payload one = {.n = 1};
        one.p[0] = in->sa.p[i];
        if (ike_choose_esp(cfg, &one, algs) != NULL && rekey_pfs_ok(cfg, &in->sa.p[i], in, pfs))
            return &in->sa.p[i];
    }
    return NULL;
}

/* RFC 7296 1.3: a proposal with a group of ours but a KE for another: which group we want. */
static void ask_for_group(struct ike_sa *sa, uint32_t msgid, int group, struct ike_actions *out)
{
    uint8_t g[2] = {(uint8_t)(group >> 8), (uint8_t)group};
    struct ike_builder inner = {0};
    ikeb_notify(&inner, 0, NULL, 0, IKE_N_INVALID_KE_PAYLOAD, g, 2);
    ike_respond(sa, IKE_CREATE_CHILD_SA, msgid, &inner, out);
    wbuf_free(&inner.b);
    ike_log(out, sa, "Child SA rekey: asking the peer for DH %d (INVALID_KE_PAYLOAD)", group);
}

/* The new pair serves; the old one waits for its Delete (keep_old: the pair before the
 * current one stays the old one, the current one lost a rekey collision). */
static void new_pair(struct ike_sa *sa, uint32_t spi_in, uint32_t spi_out, const struct ike_esp_algs *algs,
                     const char *how, bool pfs, bool keep_old, struct ike_actions *out)
{
    sa->child_algs = *algs;
    if (!keep_old) {
        if (sa->old_spi_in)
            ike_retire_old_pair(sa, out, "rekeyed again before the peer retired them");
        sa->old_spi_in = sa->child_spi_in;
        sa->old_spi_out = sa->child_spi_out;
    }
    sa->child_spi_in = spi_in;
    sa->child_spi_out = spi_out;
    ike_sa_index(sa);
    struct ike_action *rk = ike_act(out, IKE_ACT_REKEYED, sa);
    if (rk) {
        rk->child.spi_in = spi_in;
        rk->child.spi_out = spi_out;
        rk->child.encr = (uint16_t)algs->encr;
        rk->child.encr_bits = (uint16_t)algs->bits;
        rk->child.integ = (uint16_t)algs->integ;
    }
    ike_log_child(out, sa, "%s%s: ESP=>0x%08x <0x%08x replaces 0x%08x/0x%08x", how, pfs ? " (with PFS)" : "", spi_out,
                  spi_in, sa->old_spi_out, sa->old_spi_in);
}

void ike_child_lifetimes(const struct ike_core *core, struct ike_child_sa *c)
{
    c->hard_s = core->cfg.child_lifetime_s;
    c->soft_s = c->hard_s ? ike_rekey_after(&core->cfg.env, c->hard_s) : 0;
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
    ike_install_pending_out(sa, out, "we rekey it ourselves");
    ike_dh_free(sa->rekey_dh);
    sa->rekey_dh = ike_dh_new(sa->env, sa->dh_group, &err);
    sa->rekey_spi = 0;
    if (sa->rekey_spi < 0x100)
        sa->rekey_spi = ike_esp_spi(sa->env);
    if (sa->rekey_dh == NULL || ike_random(sa->env, sa->rekey_ni, sizeof(sa->rekey_ni)) != 0) {
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
    uint8_t rk[4];
    ike_put_spi32(rk, sa->child_spi_in);
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

/* An INFORMATIONAL request deleting one pair: it names our inbound SPI (RFC 7296 1.4.1). */
static void request_delete(struct ike_sa *sa, uint32_t spi_in, int pending, struct ike_actions *out)
{
    struct ike_builder inner = {0};
    uint8_t spi[4];
    ike_put_spi32(spi, spi_in);
    ikeb_delete(&inner, IKE_PROTO_ESP, 4, spi, 1);
    if (ike_request(sa, IKE_INFORMATIONAL, &inner, out) == 0)
        sa->pending = pending;
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
    bool keep_old = false;
    if (sa->collision) {
        if (ike_collision_ours_lost(sa, in->nonce.p, in->nonce.len, out)) {
            /* never installed: the Delete tells the peer to take its side out */
            oe_wipe(shared, sizeof(shared));
            request_delete(sa, sa->rekey_spi, XCHG_DROP_CHILD, out);
            return;
        }
        keep_old = sa->redundant_in != 0; /* the pair before the peer's stays the one to retire */
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
    new_pair(sa, c->spi_in, c->spi_out, &algs, "rekeyed", group != 0, keep_old, out);
    request_delete(sa, sa->old_spi_in, XCHG_RETIRE_CHILD, out); /* the old pair goes */
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
        free(sa->collision); /* the peer's pair, if it made one, simply serves */
        sa->collision = NULL;
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
                                const struct ike_header *h, const struct ike_payloads *pl, struct ike_actions *out)
{
    struct wbuf plain = {0};
    struct oe_error err;
    struct ike_payloads *in = ike_open(sa, msg, len, pl, &plain, "CREATE_CHILD_SA request", out);
    if (in == NULL)
        return;
    const struct ike_notify *rk = ike_find_notify(in, IKE_N_REKEY_SA);
    if (!in->has_sa || !in->has_nonce) {
        ike_reply_create_child(sa, h->msgid, IKE_N_INVALID_SYNTAX, out);
        goto done;
    }
    if (in->sa.n > 0 && in->sa.p[0].protocol == IKE_PROTO_IKE) {
        ike_answer_ike_rekey(core, sa, h->msgid, in, out);
        goto done;
    }
    if (rk == NULL) {
        ike_log(out, sa, "peer asks for a second Child SA: answering NO_ADDITIONAL_SAS");
        ike_reply_create_child(sa, h->msgid, IKE_N_NO_ADDITIONAL_SAS, out);
        goto done;
    }
    uint32_t old = rk->spi.len == 4 ? ike_get_spi32(rk->spi.p) : 0;
    struct ike_esp_algs algs;
    struct rekey_pfs pfs;
    const struct ike_proposal *esp = choose_rekey_esp(&core->cfg, in, &algs, &pfs);
    if (old != sa->child_spi_out) {
        ike_reply_create_child(sa, h->msgid, IKE_N_CHILD_SA_NOT_FOUND, out);
        goto done;
    }
    if (esp == NULL && pfs.want) {
        ask_for_group(sa, h->msgid, pfs.want, out);
        goto done;
    }
    if (esp == NULL) {
        if (pfs.outside)
            ike_log(out, sa,
                    "rekey: no acceptable ESP proposal (PFS with DH %d, which is not in dh-groups); "
                    "answering NO_PROPOSAL_CHOSEN",
                    pfs.outside);
        else
            ike_log(out, sa,
                    "rekey: no acceptable ESP proposal (AES-GCM-16 or AES-CBC with HMAC-SHA2 from "
                    "ciphers, optional PFS with a group in dh-groups and its KE)");
        ike_reply_create_child(sa, h->msgid, IKE_N_NO_PROPOSAL_CHOSEN, out);
        goto done;
    }
    int group = pfs.group;
    /* the new pair's nonces and, with PFS, a new DH */
    uint8_t nr[32], shared[IKE_MAX_DH_LEN];
    size_t slen = 0;
    struct ike_dh *dh = NULL;
    if (ike_random(sa->env, nr, sizeof(nr)) != 0)
        goto done;
    if (group) {
        dh = ike_dh_new(sa->env, group, &err);
        if (dh == NULL || ike_dh_shared(dh, in->ke.p, in->ke.len, shared, &err) != 0) {
            ike_log(out, sa, "rekey refused: %s", err.msg);
            ike_dh_free(dh);
            ike_reply_create_child(sa, h->msgid, IKE_N_INVALID_SYNTAX, out);
            goto done;
        }
        slen = ike_dh_shared_len(group);
    }
    ike_install_pending_out(sa, out, "the peer rekeyed again");
    struct ike_action *act = ike_act(out, IKE_ACT_INSTALL, sa);
    if (act == NULL) {
        ike_dh_free(dh);
        goto done;
    }
    struct ike_child_sa *c = &act->child;
    uint32_t spi_in = 0;
    if (spi_in < 0x100)
        spi_in = ike_esp_spi(sa->env);
    ike_child_endpoints(sa, c);
    ike_child_lifetimes(core, c);
    c->sas_only = true; /* same reqid: the policies in the kernel take the new pair */
    c->spi_in = spi_in;
    c->spi_out = ike_spi_of(esp);
    /* the peer started this exchange: it is the "i" of the new keys */
    ike_child_keymat(sa, false, shared, slen, in->nonce.p, in->nonce.len, nr, sizeof(nr), &algs, c);
    oe_wipe(shared, sizeof(shared));
    ike_hold_outbound(core, sa, c, IKE_PENDING_OUT_MS); /* c is not used after this */
    if (sa->awaiting && sa->pending == XCHG_CHILD_REKEY)
        ike_note_collision(sa, spi_in, ike_spi_of(esp), in->nonce.p, in->nonce.len, nr, sizeof(nr), out);
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
    new_pair(sa, spi_in, ike_spi_of(esp), &algs, "rekeyed by the peer", group != 0, false, out);
    if (!sa->awaiting) /* else the retransmission timer looks at the wait */
        ike_arm_established(core, sa, out);
done:
    wbuf_wipe(&plain);
    free(in);
}
