/*
 * CREATE_CHILD_SA (RFC 7296 1.3.3, 2.8) as the responder: the peer rekeys
 * the Child SA (with or without a new DH, PFS). The new pair takes over at
 * once under the same reqid and policies; the old pair stays until the peer
 * deletes it. A new Child SA beside the first or an IKE SA rekey is refused
 * with a notify, so the peer falls back to a fresh IKE SA.
 */
#include "ike_internal.h"

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
        ike_log(out, sa, "peer asks to rekey the IKE SA: not supported yet, answering NO_PROPOSAL_CHOSEN");
        reply_notify(sa, h->msgid, IKE_N_NO_PROPOSAL_CHOSEN, out);
        goto done;
    }
    if (rk == NULL) {
        ike_log(out, sa, "peer asks for a second Child SA: answering NO_ADDITIONAL_SAS");
        reply_notify(sa, h->msgid, IKE_N_NO_ADDITIONAL_SAS, out);
        goto done;
    }
    uint32_t old = rk->spi.len == 4 ? (uint32_t)rk->spi.p[0] << 24 | (uint32_t)rk->spi.p[1] << 16 |
                                          (uint32_t)rk->spi.p[2] << 8 | rk->spi.p[3]
                                    : 0;
    struct ike_esp_algs algs;
    const struct ike_proposal *esp = ike_choose_esp(&core->cfg, &in->sa, &algs);
    if (old != sa->child_spi_out) {
        reply_notify(sa, h->msgid, IKE_N_CHILD_SA_NOT_FOUND, out);
        goto done;
    }
    int group = esp ? proposal_dh(esp) : 0;
    if (esp == NULL || (group && (!in->has_ke || in->ke_group != group || ike_dh_len(group) == 0))) {
        ike_log(out, sa, "rekey: no acceptable ESP proposal (AES-GCM-16 or AES-CBC with HMAC-SHA2, optional DH 14/19/31 with its KE)");
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
        slen = group == IKE_DH_MODP2048 ? 256 : 32;
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
    sa->child_algs = algs;
    sa->old_spi_in = sa->child_spi_in;
    sa->old_spi_out = sa->child_spi_out;
    sa->child_spi_in = spi_in;
    sa->child_spi_out = ike_spi_of(esp);
    struct ike_action *rk_act = ike_act(out, IKE_ACT_REKEYED, sa);
    if (rk_act) {
        rk_act->child.spi_in = sa->child_spi_in;
        rk_act->child.spi_out = sa->child_spi_out;
        rk_act->child.encr = (uint16_t)algs.encr;
        rk_act->child.encr_bits = (uint16_t)algs.bits;
        rk_act->child.integ = (uint16_t)algs.integ;
    }
    ike_log_child(out, sa, "rekeyed by the peer%s: ESP=>0x%08x <0x%08x replaces 0x%08x/0x%08x",
                  group ? " (with PFS)" : "", sa->child_spi_out, sa->child_spi_in, sa->old_spi_out,
                  sa->old_spi_in);
done:
    wbuf_wipe(&plain);
    free(in);
}
