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
    ike_log_child(out, sa, "old Child SA 0x%08x/0x%08x deleted after the rekey (%s)", sa->old_spi_out,
                  sa->old_spi_in, why);
    sa->old_spi_in = sa->old_spi_out = 0;
}

void ike_handle_informational(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                              const struct ike_header *h, const struct ike_payloads *pl,
                              struct ike_actions *out)
{
    struct wbuf plain = {0};
    bool response = h->flags & IKE_FLAG_R;
    struct ike_payloads *in = ike_open(sa, msg, len, pl, &plain,
                                       response ? "INFORMATIONAL response" : "INFORMATIONAL request", out);
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
    bool child_deleted = false, old_deleted = false;
    if (in->has_delete && in->delete_protocol == IKE_PROTO_ESP && in->delete_spi_size == 4) {
        for (size_t i = 0; i + 4 <= in->delete_spis.len; i += 4) {
            const uint8_t *s = in->delete_spis.p + i;
            uint32_t spi = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
            if (spi == sa->child_spi_out)
                child_deleted = true;
            else if (spi == sa->old_spi_out && spi != 0)
                old_deleted = true;
        }
        if (old_deleted) {
            /* after a rekey the peer retires the old pair (RFC 7296 2.8) */
            uint8_t mine[4] = {(uint8_t)(sa->old_spi_in >> 24), (uint8_t)(sa->old_spi_in >> 16),
                               (uint8_t)(sa->old_spi_in >> 8), (uint8_t)sa->old_spi_in};
            ikeb_delete(&reply, IKE_PROTO_ESP, 4, mine, 1);
        } else if (child_deleted) {
            uint8_t mine[4] = {(uint8_t)(sa->child_spi_in >> 24), (uint8_t)(sa->child_spi_in >> 16),
                               (uint8_t)(sa->child_spi_in >> 8), (uint8_t)sa->child_spi_in};
            ikeb_delete(&reply, IKE_PROTO_ESP, 4, mine, 1);
        }
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
    if (old_deleted) {
        /* the peer sends on the new pair: so can we, before the old one goes */
        ike_install_pending_out(sa, out, "the peer retired the old pair");
        ike_retire_old_pair(sa, out, "peer retired them");
    }
    if (child_deleted) {
        ike_act_delete_child(out, sa);
        ike_log_child(out, sa, "peer deleted the Child SA");
        sa->child_spi_out = 0;
    }
done:
    wbuf_wipe(&plain);
    free(in);
}
