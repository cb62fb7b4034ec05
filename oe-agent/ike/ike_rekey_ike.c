/*
 * Rekeying the IKE SA (RFC 7296 1.3.2, 2.18), both roles. The SA keeps its
 * serial and its Child SA and takes the new SPIs, algorithms and keys; its
 * old self lives on, retired, only to carry the Delete.
 */
#include "ike_internal.h"

#include <stdio.h>
#include <stdlib.h>

static uint64_t spi64(const struct ike_proposal *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p->spi[i];
    return v;
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
    old->peer_key = (struct wbuf){0};
    memset(&old->lease, 0, sizeof(old->lease)); /* the lease stays with the SA and its Child SA */
    old->serial = core->next_serial;
    old->child_serial = core->next_serial + 1;
    core->next_serial += 2;
    old->retired = true;
    old->child_spi_in = old->child_spi_out = old->old_spi_in = old->old_spi_out = 0;
    old->out_pending = NULL;
    old->collision = NULL;
    old->redundant_in = old->redundant_out = 0;
    old->pending = XCHG_NONE;
    old->awaiting = false;
    old->keepalive_at = old->ike_rekey_at = old->dpd_at = 0;
    ike_sa_link(core, old); /* filed afresh: the nodes copied are the SA's */
    return old;
}

/* The SA takes the new IKE SA's SPIs, algorithms and keys; message IDs start again (RFC 7296 2.18). */
static int take_new_keys(struct ike_core *core, struct ike_sa *sa, bool we_initiated, uint64_t spi_i, uint64_t spi_r,
                         const struct ike_choice *c, const uint8_t *ni, size_t nilen, const uint8_t *nr, size_t nrlen,
                         const uint8_t *shared, size_t slen, struct ike_actions *out)
{
    if (nilen > sizeof(sa->ni) || nrlen > sizeof(sa->nr))
        return -1; /* the parser keeps nonces within IKE_MAX_NONCE: not reached */
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
    ike_sa_index(sa);
    sa->encr = c->encr;
    sa->encr_bits = c->encr_bits;
    sa->integ = c->integ;
    sa->prf = c->prf;
    sa->dh_group = c->dh;
    sa->ni_len = nilen;
    memcpy(sa->ni, ni, sa->ni_len);
    sa->nr_len = nrlen;
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

void ike_answer_ike_rekey(struct ike_core *core, struct ike_sa *sa, uint32_t msgid, const struct ike_payloads *in,
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
            ike_reply_create_child(sa, msgid, IKE_N_NO_PROPOSAL_CHOSEN, out);
        }
        return;
    }
    uint64_t peer_spi = spi64(c.spi), our_spi = 0;
    uint8_t nr[32], shared[IKE_MAX_DH_LEN];
    struct ike_dh *dh = ike_dh_new(sa->env, c.dh, &err);
    if (our_spi == 0)
        our_spi = ike_ike_spi(sa->env);
    if (dh == NULL || ike_random(sa->env, nr, sizeof(nr)) != 0 ||
        ike_dh_shared(dh, in->ke.p, in->ke.len, shared, &err) != 0) {
        ike_log(out, sa, "IKE SA rekey refused: %s", dh ? err.msg : "no DH");
        ike_dh_free(dh);
        ike_reply_create_child(sa, msgid, IKE_N_INVALID_SYNTAX, out);
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
    sa->rekey_dh = ike_dh_new(sa->env, sa->dh_group, &err);
    sa->rekey_ike_spi = 0;
    if (sa->rekey_ike_spi == 0)
        sa->rekey_ike_spi = ike_ike_spi(sa->env);
    if (sa->rekey_dh == NULL || ike_random(sa->env, sa->rekey_ni, sizeof(sa->rekey_ni)) != 0) {
        ike_log(out, sa, "cannot rekey the IKE SA: %s", sa->rekey_dh ? "no random numbers" : err.msg);
        return;
    }
    struct ike_proposal p[2];
    size_t np = ike_proposal_offer(core, sa->dh_group, p);
    for (size_t i = 0; i < np; i++) {
        p[i].spi_size = 8;
        put_be(p[i].spi, sa->rekey_ike_spi, 8);
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

bool ike_rekey_answered(struct ike_core *core, struct ike_sa *sa, const struct ike_payloads *in,
                        struct ike_actions *out)
{
    struct ike_choice c;
    struct oe_error err;
    uint8_t shared[IKE_MAX_DH_LEN];
    char why[128] = "it lacks SA, Nr or KE, or has another number of proposals than one";
    bool usable = in->has_sa && in->sa.n == 1 && in->has_nonce && in->has_ke &&
                  ike_read_ike_answer(&core->cfg, &in->sa.p[0], sa->dh_group, &c, why, sizeof(why));
    if (usable && (in->sa.p[0].spi_size != 8 || in->ke_group != c.dh))
        snprintf(why, sizeof(why), "its SPI is not 8 octets, or its KE is for DH %u", in->ke_group), usable = false;
    if (!usable) {
        ike_log(out, sa, "IKE SA rekey answer refused: %s", why);
        sa->ike_rekey_at = core->now + 60000; /* the old IKE SA serves on; try again, as after a refusal */
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
