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

/* One of the SA's pairs in the kernel, to move from where the peer was (IKE_ACT_UPDATE_ENDPOINTS). */
static void move_pair(struct ike_sa *sa, const struct ike_endpoint *was, uint32_t spi_in, uint32_t spi_out,
                      bool sas_only, struct ike_actions *out)
{
    if (spi_in == 0 && spi_out == 0)
        return;
    struct ike_action *a = ike_act(out, IKE_ACT_UPDATE_ENDPOINTS, sa);
    if (a == NULL)
        return;
    ike_child_endpoints(sa, &a->child);
    a->child.spi_in = spi_in;
    a->child.spi_out = spi_out;
    a->child.sas_only = sas_only;
    a->moved_from = *was;
}

/*
 * RFC 7296 2.23: a packet whose integrity protection validates but comes
 * from another address or port than the SA has means the peer's NAT made a
 * new mapping (a reboot, a mapping that timed out, a new public address).
 * The host that is not behind a NAT follows it, SAs and all; a host behind a
 * NAT must not (one spoofed-looking but valid packet would be enough to move
 * it), nor may anyone follow a replayed packet: callers pass only what is
 * new and authenticated (ike_open after the message ID check; the kernel's
 * MAPPING after its ICV and replay checks), never a retransmission we
 * answered from our cache, never IKE_SA_INIT. Before the Child SA is in the
 * kernel this is how the NAT'ed peer's port for 4500 is learnt (IKE_AUTH).
 */
void ike_nat_follow(struct ike_sa *sa, const struct ike_endpoint *local, const struct ike_endpoint *remote,
                    struct ike_actions *out)
{
    if (!(sa->nat_local || sa->nat_remote) || local->port != IKE_NATT_PORT)
        return;
    bool moved = sa->remote.port != remote->port || !oe_addr_eq(&sa->remote.addr, &remote->addr);
    bool installed = sa->state == SA_ESTABLISHED && (sa->child_spi_in || sa->child_spi_out);
    char r[OE_ADDR_STRLEN], w[OE_ADDR_STRLEN];
    if (!installed) {
        if (moved)
            ike_log(out, sa, "peer now at %s:%u (its NAT's mapping)", oe_addr_str(&remote->addr, r), remote->port);
        sa->local = *local;
        sa->remote = *remote;
        ike_sa_index(sa);
        return;
    }
    if (!moved || !oe_addr_eq(&sa->local.addr, &local->addr) || sa->local.port != local->port)
        return; /* the same mapping; or sent to another of our addresses: we keep ours */
    if (sa->nat_local) {
        ike_log(out, sa,
                "a valid message from %s:%u, not %s:%u; we are behind a NAT ourselves, so we stay (RFC 7296 2.23)",
                oe_addr_str(&remote->addr, r), remote->port, oe_addr_str(&sa->remote.addr, w), sa->remote.port);
        return;
    }
    if (sa->nat_moved && sa->core->now < sa->nat_moved_ms + IKE_NAT_FOLLOW_MIN_MS)
        return;
    sa->nat_moved = true;
    sa->nat_moved_ms = sa->core->now;
    struct ike_endpoint was = sa->remote;
    sa->remote = *remote;
    ike_sa_index(sa);
    if (sa->out_pending) {
        /* the outbound half that waits goes in where the peer is now */
        sa->out_pending->remote = remote->addr;
        sa->out_pending->encap_remote = remote->port;
    }
    ike_log(out, sa, "peer now at %s:%u (its NAT's mapping; was %s:%u); ESP SAs follow", oe_addr_str(&remote->addr, r),
            remote->port, oe_addr_str(&was.addr, w), was.port);
    /* the pairs a rekey left for the peer to delete move too: a Delete must find them where they are */
    move_pair(sa, &was, sa->child_spi_in, sa->out_pending ? 0 : sa->child_spi_out, false, out);
    move_pair(sa, &was, sa->old_spi_in, sa->old_spi_out, true, out);
    move_pair(sa, &was, sa->redundant_in, sa->redundant_out_installed ? sa->redundant_out : 0, true, out);
}

void ike_esp_mapping(struct ike_core *core, uint32_t spi, const struct oe_addr *dst, const struct ike_endpoint *peer,
                     uint64_t now_ms, struct ike_actions *out)
{
    core->now = now_ms;
    struct ike_sa *sa = NULL;
    struct ike_ix_iter it;
    for (struct ike_sa *o = ike_ix_first(&it, core, IKE_IX_CHILD_IN, ike_ix_hash_spi(core, spi, dst)); o;
         o = ike_ix_next(&it))
        if (!o->retired && o->state == SA_ESTABLISHED && spi != 0 && o->child_spi_in == spi &&
            oe_addr_eq(dst, &o->local.addr))
            sa = ike_sa_newer(sa, o);
    if (sa == NULL)
        return; /* an old pair's packet, or the SA went meanwhile: the current pair's own will come */
    if (sa->nat_local)
        return; /* behind a NAT ourselves we never follow (2.23); the kernel tells it per packet: no log */
    /* the kernel's packet was ESP in UDP to our 4500, so that is our end */
    ike_nat_follow(sa, &sa->local, peer, out);
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
