/*
 * NAT traversal (RFC 7296 2.23, RFC 3948): NAT_DETECTION_*_IP notifies in
 * IKE_SA_INIT, the move to port 4500 when a NAT sits between us, and the
 * keepalives that hold the NAT's mapping open. The non-ESP marker and the
 * UDP_ENCAP socket are the caller's (ike_io): the core deals in messages.
 */
#include "ike_internal.h"

#include <stdlib.h>
#include <sys/socket.h>

/* SHA-1(SPIi | SPIr | IP | Port), with the SPIs as the message's header carries them */
static int nat_hash(uint64_t spi_i, uint64_t spi_r, const struct ike_endpoint *ep, uint8_t out[20])
{
    uint8_t in[8 + 8 + 16 + 2];
    size_t n = 0, alen = ep->addr.family == AF_INET ? 4 : 16;
    put_be(in, spi_i, 8);
    put_be(in + 8, spi_r, 8);
    n = 16;
    memcpy(in + n, ep->addr.bytes, alen);
    n += alen;
    put_be(in + n, ep->port, 2);
    n += 2;
    return ike_sha1(in, n, out);
}

void ike_nat_add_notifies(const struct ike_sa *sa, uint64_t spi_r, struct ike_builder *mb)
{
    uint8_t src[20], dst[20];
    if (nat_hash(sa->spi_i, spi_r, &sa->local, src) != 0 || nat_hash(sa->spi_i, spi_r, &sa->remote, dst) != 0)
        return; /* without them the peer takes it that no NAT is in the way */
    ikeb_notify(mb, 0, NULL, 0, IKE_N_NAT_DETECTION_SOURCE_IP, src, sizeof(src));
    ikeb_notify(mb, 0, NULL, 0, IKE_N_NAT_DETECTION_DESTINATION_IP, dst, sizeof(dst));
}

void ike_nat_detect(struct ike_sa *sa, uint64_t spi_r, const struct ike_payloads *pl, struct ike_actions *out)
{
    uint8_t them[20], us[20];
    bool sent_src = false, src_ok = false, dst_ok = true;
    if (nat_hash(sa->spi_i, spi_r, &sa->remote, them) != 0 || nat_hash(sa->spi_i, spi_r, &sa->local, us) != 0)
        return;
    for (size_t i = 0; i < pl->nnotify; i++) {
        const struct ike_notify *n = &pl->notify[i];
        bool match;
        if (n->type == IKE_N_NAT_DETECTION_SOURCE_IP) {
            match = n->data.len == 20 && memcmp(n->data.p, them, 20) == 0;
            /* several source notifies: the peer has several addresses; one must be what we see */
            src_ok = src_ok || match;
            sent_src = true;
        } else if (n->type == IKE_N_NAT_DETECTION_DESTINATION_IP) {
            dst_ok = n->data.len == 20 && memcmp(n->data.p, us, 20) == 0;
        }
    }
    if (!sent_src)
        return; /* a peer without NAT-T support: take it that nothing is in the way */
    sa->nat_remote = !src_ok;
    sa->nat_local = !dst_ok;
    if (sa->nat_remote || sa->nat_local)
        ike_log(out, sa, "NAT detected:%s%s", sa->nat_local ? " we are behind a NAT" : "",
                sa->nat_remote ? (sa->nat_local ? "; so is the peer" : " the peer is behind a NAT") : "");
}

void ike_nat_float(struct ike_sa *sa, struct ike_actions *out)
{
    if (!(sa->nat_local || sa->nat_remote) || sa->local.port == IKE_NATT_PORT)
        return;
    sa->local.port = IKE_NATT_PORT;
    sa->remote.port = IKE_NATT_PORT;
    ike_sa_index(sa);
    ike_log(out, sa, "switching to port %u (NAT traversal; ESP goes in UDP)", IKE_NATT_PORT);
}

void ike_nat_follow(struct ike_sa *sa, const struct ike_endpoint *local, const struct ike_endpoint *remote,
                    struct ike_actions *out)
{
    if (!(sa->nat_local || sa->nat_remote) || local->port != IKE_NATT_PORT)
        return;
    if (sa->remote.port != remote->port || !oe_addr_eq(&sa->remote.addr, &remote->addr)) {
        char r[OE_ADDR_STRLEN];
        ike_log(out, sa, "peer now at %s:%u (its NAT's mapping)", oe_addr_str(&remote->addr, r), remote->port);
    }
    sa->local = *local;
    sa->remote = *remote;
    ike_sa_index(sa);
}

void ike_nat_keepalive(struct ike_sa *sa, struct ike_actions *out)
{
    if (!sa->nat_local)
        return;
    struct ike_action *a = ike_act(out, IKE_ACT_SEND, sa);
    if (a && (a->msg = malloc(1)) != NULL) {
        a->msg[0] = IKE_NATT_KEEPALIVE;
        a->len = 1;
    }
}
