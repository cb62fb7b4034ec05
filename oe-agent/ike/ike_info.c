/* INFORMATIONAL (RFC 7296 1.4): Delete of the IKE SA or a Child SA, liveness. */
#include "ike_internal.h"

#include <stdlib.h>

void ike_retire_old_pair(struct ike_sa *sa, struct ike_actions *out, const char *why)
{
    struct ike_action *d = ike_act(out, IKE_ACT_DELETE, sa);
    if (d) {
        ike_child_endpoints(sa, &d->child);
        d->child.spi_in = sa->old_spi_in;
        d->child.spi_out = sa->old_spi_out;
        d->child.sas_only = true;
    }
    ike_log_child(out, sa, "old Child SA 0x%08x/0x%08x deleted after the rekey (%s)", sa->old_spi_out, sa->old_spi_in,
                  why);
    sa->old_spi_in = sa->old_spi_out = 0;
}

void ike_handle_informational(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                              const struct ike_header *h, const struct ike_payloads *pl, struct ike_actions *out)
{
    struct wbuf plain = {0};
    bool response = h->flags & IKE_FLAG_R;
    struct ike_payloads *in =
        ike_open(sa, msg, len, pl, &plain, response ? "INFORMATIONAL response" : "INFORMATIONAL request", out);
    if (in == NULL)
        return;
    if (response) {
        sa->awaiting = false;
        if (sa->retired) {
            /* the peer acknowledged the Delete of our rekeyed IKE SA's old self */
            wbuf_wipe(&plain);
            free(in);
            ike_sa_fail(core, sa, out, "retired");
            return;
        }
        if (sa->pending == XCHG_RETIRE_CHILD && sa->old_spi_in) {
            ike_retire_old_pair(sa, out, "the peer acknowledged our Delete");
        }
        sa->pending = XCHG_NONE;
        if (sa->state == SA_ESTABLISHED)
            ike_arm_established(core, sa, out);
        goto done; /* the answer to our own Delete or liveness check */
    }
    struct ike_builder reply = {0};
    bool ike_deleted = in->has_delete && in->delete_protocol == IKE_PROTO_IKE;
    bool child_deleted = false, old_deleted = false, redundant_deleted = false;
    if (in->has_delete && in->delete_protocol == IKE_PROTO_ESP && in->delete_spi_size == 4) {
        /* the answer names our inbound SPI of each pair the peer deleted (RFC 7296 1.4.1) */
        uint8_t mine[12];
        size_t nmine = 0;
        for (size_t i = 0; i + 4 <= in->delete_spis.len; i += 4) {
            uint32_t spi = ike_get_spi32(in->delete_spis.p + i), ours = 0;
            if (spi == 0)
                continue;
            if (spi == sa->child_spi_out && !child_deleted) {
                child_deleted = true;
                ours = sa->child_spi_in;
            } else if (spi == sa->old_spi_out && !old_deleted) {
                old_deleted = true; /* after a rekey the peer retires the old pair (RFC 7296 2.8) */
                ours = sa->old_spi_in;
            } else if (spi == sa->redundant_out && !redundant_deleted) {
                redundant_deleted = true; /* it made the pair that lost a rekey collision (2.8.1) */
                ours = sa->redundant_in;
            }
            if (ours && nmine < 3)
                ike_put_spi32(mine + 4 * nmine++, ours);
        }
        if (nmine)
            ikeb_delete(&reply, IKE_PROTO_ESP, 4, mine, nmine);
    }
    ike_respond(sa, IKE_INFORMATIONAL, h->msgid, &reply, out);
    wbuf_free(&reply.b);
    if (ike_deleted) {
        ike_log(out, sa, "peer deleted the IKE SA (INFORMATIONAL Delete)");
        wbuf_wipe(&plain);
        free(in);
        ike_sa_fail(core, sa, out, "deleted by the peer");
        return;
    }
    if (redundant_deleted)
        ike_retire_redundant_pair(sa, out, "the peer made it");
    if (old_deleted) {
        /* the peer sends on the new pair: so can we, before the old one goes */
        ike_install_pending_out(sa, out, "the peer retired the old pair");
        ike_retire_old_pair(sa, out, "peer retired them");
    }
    if (child_deleted) {
        ike_act_delete_child(out, sa);
        ike_log_child(out, sa, "peer deleted the Child SA");
        sa->child_spi_out = 0;
        ike_sa_index(sa);
    }
done:
    wbuf_wipe(&plain);
    free(in);
}
