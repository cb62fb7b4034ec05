/*
 * Moving a Child SA's traffic to a new pair. Where the peer may not have the
 * new pair's keys in its kernel yet (a rekey it started: until it retires the
 * old pair; both ends initiating: until it has read our IKE_AUTH answer), our
 * outbound half waits in sa->out_pending. And when both ends rekey at once
 * (RFC 7296 2.8.1), which of the two new pairs goes.
 */
#include "ike_internal.h"

#include <stdlib.h>
#include <string.h>

void ike_install_pending_out(struct ike_sa *sa, struct ike_actions *out, const char *why)
{
    struct ike_child_sa *po = sa->out_pending;
    if (po == NULL)
        return;
    sa->out_pending = NULL;
    struct ike_action *a = ike_act(out, IKE_ACT_INSTALL, sa);
    if (a) {
        a->child = *po;
        ike_log_child(out, sa, "sending on the new Child SA 0x%08x (%s)", po->spi_out, why);
    }
    oe_wipe(po, sizeof(*po));
    free(po);
}

void ike_drop_pending_out(struct ike_sa *sa)
{
    if (sa->out_pending) {
        oe_wipe(sa->out_pending, sizeof(*sa->out_pending));
        free(sa->out_pending);
        sa->out_pending = NULL;
    }
}

void ike_hold_outbound(const struct ike_core *core, struct ike_sa *sa, struct ike_child_sa *c, uint32_t ms)
{
    struct ike_child_sa *po = sa->out_pending ? NULL : malloc(sizeof(*po));
    if (po == NULL)
        return; /* the pair goes in at once, as an initiator's does */
    *po = *c;
    po->spi_in = 0;
    oe_wipe(po->key_in, sizeof(po->key_in));
    oe_wipe(po->integ_in, sizeof(po->integ_in));
    sa->out_pending = po;
    sa->out_pending_at = core->now + ms;
    c->spi_out = 0;
    oe_wipe(c->key_out, sizeof(c->key_out));
    oe_wipe(c->integ_out, sizeof(c->integ_out));
}

void ike_retire_redundant_pair(struct ike_sa *sa, struct ike_actions *out, const char *why)
{
    struct ike_action *d = ike_act(out, IKE_ACT_DELETE, sa);
    if (d) {
        ike_child_endpoints(sa, &d->child);
        d->child.spi_in = sa->redundant_in;
        d->child.spi_out = sa->redundant_out_installed ? sa->redundant_out : 0;
        d->child.sas_only = true;
    }
    ike_log_child(out, sa, "redundant Child SA 0x%08x/0x%08x deleted (%s)", sa->redundant_out, sa->redundant_in, why);
    sa->redundant_in = sa->redundant_out = 0;
}

/* RFC 7296 2.8.1 compares nonces as octet strings */
static int nonce_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static const uint8_t *lower_nonce(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, size_t *len)
{
    bool first = nonce_cmp(a, alen, b, blen) <= 0;
    *len = first ? alen : blen;
    return first ? a : b;
}

void ike_note_collision(struct ike_sa *sa, uint32_t spi_in, uint32_t spi_out, const uint8_t *ni, size_t nilen,
                        const uint8_t *nr, size_t nrlen, struct ike_actions *out)
{
    free(sa->collision);
    sa->collision = calloc(1, sizeof(*sa->collision));
    if (sa->collision == NULL)
        return;
    size_t len;
    const uint8_t *low = lower_nonce(ni, nilen, nr, nrlen, &len);
    sa->collision->spi_in = spi_in;
    sa->collision->spi_out = spi_out;
    sa->collision->low_len = len < sizeof(sa->collision->low_nonce) ? len : sizeof(sa->collision->low_nonce);
    memcpy(sa->collision->low_nonce, low, sa->collision->low_len);
    ike_log_child(out, sa,
                  "both ends rekey the Child SA at once: the pair made with the lowest nonce will go "
                  "(RFC 7296 2.8.1)");
}

bool ike_collision_ours_lost(struct ike_sa *sa, const uint8_t *nr, size_t nrlen, struct ike_actions *out)
{
    struct ike_collision *col = sa->collision;
    sa->collision = NULL;
    size_t len;
    const uint8_t *low = lower_nonce(sa->rekey_ni, sizeof(sa->rekey_ni), nr, nrlen, &len);
    bool lost = nonce_cmp(low, len, col->low_nonce, col->low_len) < 0;
    if (!lost && sa->child_spi_in == col->spi_in) {
        sa->redundant_in = col->spi_in;
        sa->redundant_out = col->spi_out;
        sa->redundant_out_installed = sa->out_pending == NULL;
        ike_drop_pending_out(sa);
        ike_log_child(out, sa,
                      "rekey collision: the peer's new Child SA 0x%08x/0x%08x has the lowest nonce; "
                      "the peer deletes it",
                      col->spi_out, col->spi_in);
    } else if (lost) {
        ike_log_child(out, sa, "rekey collision: our new Child SA 0x%08x has the lowest nonce; deleting it",
                      sa->rekey_spi);
    }
    free(col);
    return lost;
}
