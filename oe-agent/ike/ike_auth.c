/*
 * IKE_AUTH (RFC 7296 1.2, 2.15) with the first Child SA: RSA signatures
 * (RFC 7427) with raw public keys, or NULL authentication (RFC 7619).
 */
#include "ike_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

static const char key_pad[] = "Key Pad for IKEv2";

/* <SignedOctets> = RealMessage | Nonce | prf(SK_p, RestOfIDPayload) */
static int signed_octets(const struct ike_sa *sa, bool of_initiator, struct chunk id_body, struct wbuf *out)
{
    uint8_t maced[IKE_MAX_PRF_LEN];
    const struct wbuf *real = of_initiator ? &sa->msg1 : &sa->msg2;
    if (ike_prf(sa->prf, of_initiator ? sa->sk_pi : sa->sk_pr, sa->prf_len, id_body.p, id_body.len, maced) != 0)
        return -1;
    wbuf_put(out, real->p, real->len);
    wbuf_put(out, of_initiator ? sa->nr : sa->ni, of_initiator ? sa->nr_len : sa->ni_len);
    wbuf_put(out, maced, sa->prf_len);
    return out->failed ? -1 : 0;
}

/* RFC 7619 3: NULL auth is the shared-key MAC with SK_pi / SK_pr as the key */
static int null_auth(const struct ike_sa *sa, bool of_initiator, const struct wbuf *octets, uint8_t *out)
{
    uint8_t inner[IKE_MAX_PRF_LEN];
    const uint8_t *k = of_initiator ? sa->sk_pi : sa->sk_pr;
    int rc = ike_prf(sa->prf, k, sa->prf_len, (const uint8_t *)key_pad, strlen(key_pad), inner);
    if (rc == 0)
        rc = ike_prf(sa->prf, inner, sa->prf_len, octets->p, octets->len, out);
    oe_wipe(inner, sizeof(inner));
    return rc;
}

/* Our ID, our AUTH: appended to inner. */
static int add_id_auth(const struct ike_core *core, const struct ike_sa *sa, struct ike_builder *inner,
                       enum ike_authby how, struct oe_error *err)
{
    bool i = sa->initiator;
    uint8_t idtype = how == IKE_AUTHBY_NULL             ? IKE_ID_NULL
                     : sa->local.addr.family == AF_INET ? IKE_ID_IPV4
                                                        : IKE_ID_IPV6;
    size_t idlen = how == IKE_AUTHBY_NULL ? 0 : sa->local.addr.family == AF_INET ? 4 : 16;
    size_t body = ikeb_id(inner, i ? IKE_PL_IDI : IKE_PL_IDR, idtype, sa->local.addr.bytes, idlen);
    struct chunk id_body = {inner->b.p + body, 4 + idlen};
    struct wbuf octets = {0};
    if (inner->b.failed || signed_octets(sa, i, id_body, &octets) != 0) {
        oe_error_set(err, "cannot compute the AUTH input");
        wbuf_free(&octets);
        return -1;
    }
    int rc = 0;
    if (how == IKE_AUTHBY_NULL) {
        uint8_t mac[IKE_MAX_PRF_LEN];
        rc = null_auth(sa, i, &octets, mac);
        if (rc == 0)
            ikeb_auth(inner, IKE_AUTH_NULL, mac, sa->prf_len);
        else
            oe_error_set(err, "NULL AUTH computation failed");
    } else {
        struct wbuf sig = {0};
        rc = ike_sign_digsig(&core->cfg.signer, octets.p, octets.len, &sig, err);
        if (rc == 0)
            ikeb_auth(inner, IKE_AUTH_DIGSIG, sig.p, sig.len);
        wbuf_free(&sig);
    }
    wbuf_free(&octets);
    return rc;
}

/* The keys an initiator SA was given: its peer_key, then more_keys as ike_initiate framed them. */
static size_t initiator_keys(const struct ike_sa *sa, struct ike_pubkey out[IKE_MAX_PEER_KEYS])
{
    size_t n = 0;
    if (sa->peer_key.len == 0 || sa->peer_key.failed)
        return 0;
    out[n++] = ike_key_view(&sa->peer_key);
    const uint8_t *p = sa->more_keys.p;
    size_t left = sa->more_keys.len;
    while (left >= 2 && n < IKE_MAX_PEER_KEYS) {
        size_t len = (size_t)p[0] << 8 | p[1];
        if (len == 0 || len > left - 2)
            break;
        out[n++] = (struct ike_pubkey){p + 2, len};
        p += 2 + len;
        left -= 2 + len;
    }
    return n;
}

/* The peer's AUTH over its ID, with the first of keys that verifies it (*which). */
static int check_auth(const struct ike_sa *sa, const struct ike_payloads *in, const struct ike_pubkey *keys,
                      size_t nkeys, bool allow_null, size_t *which, struct oe_error *err)
{
    *which = 0;
    bool of_i = !sa->initiator;
    const struct ike_id *id = of_i ? &in->idi : &in->idr;
    struct wbuf octets = {0};
    int rc = -1;
    if (signed_octets(sa, of_i, id->body, &octets) != 0) {
        oe_error_set(err, "cannot compute the AUTH input");
    } else if (in->auth_method == IKE_AUTH_NULL) {
        uint8_t mac[IKE_MAX_PRF_LEN];
        if (!allow_null)
            oe_error_set(err, "peer used NULL authentication, which this policy does not allow");
        else if (null_auth(sa, of_i, &octets, mac) != 0 || in->auth.len != sa->prf_len ||
                 !ike_ct_equal(mac, in->auth.p, sa->prf_len))
            oe_error_set(err, "NULL authentication MAC does not match");
        else
            rc = 0;
    } else if (in->auth_method == IKE_AUTH_DIGSIG) {
        if (keys == NULL || nkeys == 0 || keys[0].len == 0)
            oe_error_set(err, "peer signed with RSA but no key for it is known");
        for (size_t i = 0; i < nkeys && keys && keys[0].len && rc != 0; i++) {
            rc = ike_verify_digsig(&keys[i], octets.p, octets.len, in->auth.p, in->auth.len, err);
            if (rc == 0)
                *which = i;
        }
        if (rc != 0 && nkeys > 1) {
            char first[sizeof(err->msg)];
            memcpy(first, err->msg, sizeof(first));
            oe_error_set(err, "%.400s (tried each of the %zu published keys)", first, nkeys);
        }
    } else {
        oe_error_set(err, "AUTH method %u not supported (RFC 7427 signatures or NULL only)", in->auth_method);
    }
    wbuf_free(&octets);
    return rc;
}

static void put_spi(uint32_t spi, struct ike_proposal *p)
{
    p->spi_size = 4;
    ike_put_spi32(p->spi, spi);
}

size_t ike_esp_offer(const struct ike_config *cfg, uint32_t spi, int dh, struct ike_proposal p[2])
{
    size_t n = ike_cipher_count(cfg);
    memset(p, 0, 2 * sizeof(*p));
    for (size_t i = 0; i < n; i++) {
        bool cbc = cfg->ciphers[i] == IKE_ENCR_AES_CBC;
        p[i].num = (uint8_t)(i + 1);
        p[i].protocol = IKE_PROTO_ESP;
        put_spi(spi, &p[i]);
        int encr = cbc ? IKE_ENCR_AES_CBC : IKE_ENCR_AES_GCM_16;
        p[i].t[p[i].nt++] = (struct ike_transform){IKE_TR_ENCR, (uint16_t)encr, 256};
        p[i].t[p[i].nt++] = (struct ike_transform){IKE_TR_ENCR, (uint16_t)encr, 128};
        if (cbc) {
            p[i].t[p[i].nt++] = (struct ike_transform){IKE_TR_INTEG, IKE_INTEG_SHA2_256_128, 0};
            p[i].t[p[i].nt++] = (struct ike_transform){IKE_TR_INTEG, IKE_INTEG_SHA2_384_192, 0};
            p[i].t[p[i].nt++] = (struct ike_transform){IKE_TR_INTEG, IKE_INTEG_SHA2_512_256, 0};
        }
        if (dh)
            p[i].t[p[i].nt++] = (struct ike_transform){IKE_TR_DH, (uint16_t)dh, 0};
        p[i].t[p[i].nt++] = (struct ike_transform){IKE_TR_ESN, 0, 0};
    }
    return n;
}

void ike_esp_answer(const struct ike_proposal *chosen, const struct ike_esp_algs *algs, uint32_t spi, int dh,
                    struct ike_proposal *p)
{
    memset(p, 0, sizeof(*p));
    p->num = chosen->num;
    p->protocol = IKE_PROTO_ESP;
    put_spi(spi, p);
    p->t[p->nt++] = (struct ike_transform){IKE_TR_ENCR, (uint16_t)algs->encr, (uint16_t)algs->bits};
    if (algs->integ)
        p->t[p->nt++] = (struct ike_transform){IKE_TR_INTEG, (uint16_t)algs->integ, 0};
    if (dh)
        p->t[p->nt++] = (struct ike_transform){IKE_TR_DH, (uint16_t)dh, 0};
    p->t[p->nt++] = (struct ike_transform){IKE_TR_ESN, 0, 0};
}

void ike_host_ts(const struct oe_addr *a, struct ike_ts *t)
{
    memset(t, 0, sizeof(*t));
    t->type = a->family == AF_INET ? IKE_TS_IPV4 : IKE_TS_IPV6;
    t->eport = 65535;
    t->start = t->end = *a;
}

static bool ts_covers(const struct ike_ts *ts, size_t n, const struct oe_addr *a)
{
    unsigned __int128 v = oe_addr_u128(a);
    for (size_t i = 0; i < n; i++)
        if (ts[i].start.family == a->family && oe_addr_u128(&ts[i].start) <= v && v <= oe_addr_u128(&ts[i].end) &&
            ts[i].proto == 0 && ts[i].sport == 0 && ts[i].eport == 65535)
            return true;
    return false;
}

/* A traffic selector that is one host (any protocol and port): its address. */
static bool single_host(const struct ike_ts *ts, struct oe_addr *a)
{
    if (ts->start.family == 0 || !oe_addr_eq(&ts->start, &ts->end) || ts->proto != 0 || ts->sport != 0 ||
        ts->eport != 65535)
        return false;
    *a = ts->start;
    return true;
}

uint32_t ike_spi_of(const struct ike_proposal *p)
{
    return ike_get_spi32(p->spi);
}

/* The responder's pick among ESP proposals: AES-GCM-16, or AES-CBC with HMAC-SHA2; no ESN. */
const struct ike_proposal *ike_choose_esp(const struct ike_config *cfg, const struct ike_sa_payload *sa,
                                          struct ike_esp_algs *algs)
{
    for (size_t i = 0; i < sa->n; i++) {
        const struct ike_proposal *p = &sa->p[i];
        struct ike_esp_algs a = {0};
        bool esn_none = false, other_integ = false;
        if (p->protocol != IKE_PROTO_ESP || p->spi_size != 4)
            continue;
        for (size_t t = 0; t < p->nt; t++) {
            const struct ike_transform *tr = &p->t[t];
            if (tr->type == IKE_TR_ENCR && !a.encr && ike_encr_ok(tr->id, tr->keylen)) {
                a.encr = tr->id;
                a.bits = tr->keylen;
            } else if (tr->type == IKE_TR_INTEG && tr->id != 0) {
                if (!a.integ && ike_integ_key_len(tr->id))
                    a.integ = tr->id;
                else
                    other_integ = true;
            } else if (tr->type == IKE_TR_ESN && tr->id == 0) {
                esn_none = true;
            }
        }
        bool has_esn = false;
        for (size_t t = 0; t < p->nt; t++)
            has_esn = has_esn || p->t[t].type == IKE_TR_ESN;
        if (has_esn && !esn_none)
            continue;
        if (!ike_cipher_ok(cfg, a.encr))
            continue;
        if (a.encr == IKE_ENCR_AES_GCM_16 && (a.integ || other_integ))
            continue; /* AEAD takes no integrity transform (RFC 4106 8) */
        if (a.encr == IKE_ENCR_AES_CBC && !a.integ)
            continue;
        if (a.encr) {
            *algs = a;
            return p;
        }
    }
    return NULL;
}

/*
 * KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr): i->r key, then r->i key
 * (RFC 7296 2.17), where i and r are the roles in the exchange that made
 * the Child SA, not in the IKE SA.
 */
int ike_child_keymat(const struct ike_sa *sa, bool we_initiated, const uint8_t *shared, size_t slen, const uint8_t *ni,
                     size_t nilen, const uint8_t *nr, size_t nrlen, const struct ike_esp_algs *algs,
                     struct ike_child_sa *c)
{
    uint8_t seed[IKE_MAX_DH_LEN + 320], km[2 * (IKE_MAX_KEY + IKE_MAX_INTEG_KEY)];
    size_t klen = (size_t)algs->bits / 8 + (algs->integ ? 0 : 4), n = 0;
    size_t ilen = algs->integ ? ike_integ_key_len(algs->integ) : 0;
    if (slen + nilen + nrlen > sizeof(seed))
        return -1;
    if (slen) {
        memcpy(seed + n, shared, slen);
        n += slen;
    }
    memcpy(seed + n, ni, nilen);
    n += nilen;
    memcpy(seed + n, nr, nrlen);
    n += nrlen;
    /* each direction: its encryption key, then its integrity key */
    int rc = ike_prf_plus(sa->prf, sa->sk_d, sa->prf_len, seed, n, km, 2 * (klen + ilen));
    if (rc == 0) {
        const uint8_t *i2r = km, *r2i = km + klen + ilen;
        memcpy(we_initiated ? c->key_out : c->key_in, i2r, klen);
        memcpy(we_initiated ? c->integ_out : c->integ_in, i2r + klen, ilen);
        memcpy(we_initiated ? c->key_in : c->key_out, r2i, klen);
        memcpy(we_initiated ? c->integ_in : c->integ_out, r2i + klen, ilen);
        c->key_len = klen;
        c->integ_len = ilen;
        c->encr = (uint16_t)algs->encr;
        c->encr_bits = (uint16_t)algs->bits;
        c->integ = (uint16_t)algs->integ;
    }
    oe_wipe(km, sizeof(km));
    oe_wipe(seed, sizeof(seed));
    return rc;
}

/* Which end started this IKE SA: its address is the tie-breaker between twins. */
static bool initiated_by_lower(const struct ike_sa *sa)
{
    const struct oe_addr *i = sa->initiator ? &sa->local.addr : &sa->remote.addr;
    const struct oe_addr *r = sa->initiator ? &sa->remote.addr : &sa->local.addr;
    return oe_addr_u128(i) < oe_addr_u128(r);
}

/*
 * Both ends initiated at once: two IKE SAs for one host pair, each started
 * by one end. Both ends keep the one started by the lower address and
 * delete the other, whichever finishes first.
 */
static struct ike_sa *twin_of(const struct ike_core *core, const struct ike_sa *sa)
{
    struct ike_sa *twin = NULL;
    struct ike_ix_iter it;
    for (struct ike_sa *t = ike_ix_first(&it, core, IKE_IX_HOSTS, ike_ix_hash_of(sa, IKE_IX_HOSTS)); t;
         t = ike_ix_next(&it))
        if (t != sa && !t->retired && t->state != SA_DELETING && t->initiator != sa->initiator &&
            oe_addr_eq(&t->local_host, &sa->local_host) && oe_addr_eq(&t->remote_host, &sa->remote_host))
            twin = ike_sa_newer(twin, t);
    return twin;
}

/* false when the SA is gone (a losing twin, or a failure): the caller must not touch it */
static bool established(struct ike_core *core, struct ike_sa *sa, const struct ike_esp_algs *algs,
                        const struct ike_id *peer_id, struct ike_actions *out)
{
    struct ike_sa *twin = twin_of(core, sa);
    if (twin && initiated_by_lower(twin)) {
        /* the twin serves, or will: this one goes before it installs anything (packets
         * released into it would reach a peer that never installs it) */
        sa->state = SA_ESTABLISHED;
        ike_log(out, sa, "both ends initiated: #%u (started by the lower address) %s; deleting this one", twin->serial,
                twin->state == SA_ESTABLISHED ? "stays" : "will serve");
        sa->child_spi_out = 0;
        ike_sa_index(sa);
        ike_delete(core, sa->serial, core->now, out);
        return false;
    }
    struct ike_action *in = ike_act(out, IKE_ACT_INSTALL, sa);
    if (in == NULL)
        return true;
    size_t install = out->n - 1; /* more actions follow: the list may move */
    struct ike_child_sa *c = &in->child;
    sa->child_reqid = core->next_reqid++;
    if (core->next_reqid - IKE_REQID_FIRST >= IKE_REQID_COUNT)
        core->next_reqid = IKE_REQID_FIRST; /* wraps in its band after 16M tunnels */
    ike_child_endpoints(sa, c);
    ike_child_lifetimes(core, c);
    c->spi_in = sa->child_spi_in;
    c->spi_out = sa->child_spi_out;
    if (ike_child_keymat(sa, sa->initiator, NULL, 0, sa->ni, sa->ni_len, sa->nr, sa->nr_len, algs, c) != 0) {
        ike_sa_fail(core, sa, out, "child key derivation failed");
        return false;
    }
    sa->state = SA_ESTABLISHED;
    sa->child_algs = *algs;
    char id[256], l[OE_ADDR_STRLEN], r[OE_ADDR_STRLEN], xfrm[64];
    ike_describe_id(peer_id->type, peer_id->data, id, sizeof(id));
    int lbits = sa->local_host.family == AF_INET6 ? 128 : 32, rbits = sa->remote_host.family == AF_INET6 ? 128 : 32;
    struct ike_action *up = ike_act(out, IKE_ACT_UP, sa);
    if (up) {
        up->id_type = peer_id->type;
        up->note = sa->note;
        snprintf(up->id, sizeof(up->id), "%s", id);
        up->child = out->v[install].child;
    }
    ike_log(out, sa, "%s established IKE SA; authenticated peer '%s' (%s)", sa->initiator ? "initiator" : "responder",
            id, sa->auth == IKE_AUTHBY_NULL ? "NULL authentication" : "RSASSA-PSS with SHA2_256");
    ike_log_child(out, sa,
                  "%s established Child SA using #%u; IPsec tunnel [%s/%d] -> [%s/%d] "
                  "{ESP%s=>0x%08x <0x%08x xfrm=%s DPD=%s}",
                  sa->initiator ? "initiator" : "responder", sa->serial, oe_addr_str(&sa->local_host, l), lbits,
                  oe_addr_str(&sa->remote_host, r), rbits, sa->nat_local || sa->nat_remote ? "inUDP" : "",
                  sa->child_spi_out, sa->child_spi_in,
                  ike_algs_name(algs->encr, algs->bits, algs->integ, xfrm, sizeof(xfrm)),
                  core->cfg.dpd_delay_s ? "active" : "passive");
    if (twin && !sa->initiator) {
        /* we hold packets for the peer too (our twin is on its way out): they leave when our
         * outbound policy replaces the hold, so that waits about a round trip, until the
         * initiator has read our answer and installed its inbound SA */
        uint64_t rtt = sa->auth_req_at > sa->init_sent_at ? sa->auth_req_at - sa->init_sent_at : 0;
        uint32_t ms = (uint32_t)(rtt + 20 < 1000 ? rtt + 20 : 1000);
        ike_hold_outbound(core, sa, &out->v[install].child, ms);
        ike_log_child(out, sa, "our held packets leave in %u ms, when the peer has read our answer", ms);
    }
    if (twin && twin->state == SA_ESTABLISHED) {
        ike_log(out, twin, "both ends initiated: #%u (started by the lower address) takes over; deleting this one",
                sa->serial);
        ike_delete(core, twin->serial, core->now, out);
    }
    /* the IKE_SA_INIT messages only fed AUTH; the DH value only made the keys */
    wbuf_free(&sa->msg1);
    wbuf_free(&sa->msg2);
    wbuf_free(&sa->cookie);
    ike_dh_free(sa->dh);
    sa->dh = NULL;
    sa->heard_at = core->now;
    sa->dpd_at = core->cfg.dpd_delay_s ? core->now + (uint64_t)core->cfg.dpd_delay_s * 1000 : 0;
    sa->keepalive_at = sa->nat_local && core->cfg.keepalive_ms ? core->now + core->cfg.keepalive_ms : 0;
    sa->ike_rekey_at = ike_rekey_due(core);
    ike_arm_established(core, sa, out);
    return true;
}

/*
 * RFC 7296 2.4: INITIAL_CONTACT only in the first IKE SA between our
 * address and the peer's: the peer drops the others it has between them.
 */
static bool first_with_peer(const struct ike_core *core, const struct ike_sa *sa)
{
    struct ike_ix_iter it;
    for (const struct ike_sa *o = ike_ix_first(&it, core, IKE_IX_PEER, ike_ix_hash_of(sa, IKE_IX_PEER)); o;
         o = ike_ix_next(&it))
        if (o != sa && !o->retired && o->state == SA_ESTABLISHED && oe_addr_eq(&o->remote.addr, &sa->remote.addr) &&
            oe_addr_eq(&o->local.addr, &sa->local.addr))
            return false;
    return true;
}

/* RFC 7296 3.15.1: a request names the family it wants (an empty attribute), a reply the address. */
static void add_cp(struct ike_builder *inner, uint8_t type, const struct oe_addr *a)
{
    struct ike_cp cp = {.type = type};
    bool v6 = a->family == AF_INET6;
    cp.ip4 = !v6;
    cp.ip6 = v6;
    if (type == IKE_CFG_REPLY) {
        *(v6 ? &cp.addr6 : &cp.addr4) = *a;
        cp.prefix6 = 128;
    }
    ikeb_cp(inner, &cp);
}

/*
 * The address a CFG_REPLY leases us, of the family we asked (RFC 7296
 * 3.15.1), in *lease; NULL, or why there is none. A lease that cannot be one
 * (not a host's address, or the peer's own) is returned in *lease as well,
 * with why: the response is refused. One equal to our own address needs no
 * translation: no lease.
 */
static const char *leased(const struct ike_sa *sa, const struct ike_payloads *in, struct oe_addr *lease, char *why,
                          size_t len)
{
    char a[OE_ADDR_STRLEN];
    bool v6 = sa->local_host.family == AF_INET6;
    memset(lease, 0, sizeof(*lease));
    if (!in->has_cp || in->cp.type != IKE_CFG_REPLY)
        return "the responder leased us no address (no CFG_REPLY)";
    const struct oe_addr *got = v6 ? &in->cp.addr6 : &in->cp.addr4;
    if (got->family == 0)
        return v6 ? "the responder leased us no address (CFG_REPLY without INTERNAL_IP6_ADDRESS)"
                  : "the responder leased us no address (CFG_REPLY without INTERNAL_IP4_ADDRESS)";
    if (oe_addr_eq(got, &sa->local_host))
        return "the responder leased us our own address";
    static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    bool mapped = got->family == AF_INET6 && memcmp(got->bytes, v4_mapped, sizeof(v4_mapped)) == 0;
    const struct ike_config *cfg = &sa->core->cfg;
    bool ours = cfg->address_is_ours && cfg->address_is_ours(cfg->address_ctx, got);
    if (!oe_addr_is_peer(got) || mapped || ours || oe_addr_eq(got, &sa->remote_host) ||
        oe_addr_eq(got, &sa->remote.addr)) {
        *lease = *got;
        snprintf(why, len, "the responder leased us %s, which cannot be ours (%s)", oe_addr_str(got, a),
                 ours                              ? "another address of this host or of a host behind it"
                 : mapped || !oe_addr_is_peer(got) ? "not a host's address"
                                                   : "its own address");
        return why;
    }
    *lease = *got;
    return NULL;
}

int ike_build_auth_request(struct ike_core *core, struct ike_sa *sa, const struct ike_ts *tsi, size_t ntsi,
                           const struct ike_ts *tsr, size_t ntsr, struct wbuf *msg, struct oe_error *err)
{
    struct ike_builder inner = {0};
    if (add_id_auth(core, sa, &inner, sa->auth, err) != 0) {
        wbuf_free(&inner.b);
        return -1;
    }
    struct ike_proposal p[2];
    size_t np = ike_esp_offer(&core->cfg, sa->child_spi_in, 0, p);
    if (sa->ask_address)
        add_cp(&inner, IKE_CFG_REQUEST, &sa->local_host);
    ikeb_sa(&inner, p, np);
    ikeb_ts(&inner, IKE_PL_TSI, tsi, ntsi);
    ikeb_ts(&inner, IKE_PL_TSR, tsr, ntsr);
    if (first_with_peer(core, sa))
        ikeb_notify(&inner, 0, NULL, 0, IKE_N_INITIAL_CONTACT, NULL, 0);
    int rc = ike_encrypt(sa, IKE_AUTH, sa->next_msgid++, false, &inner, msg);
    wbuf_wipe(&inner.b);
    if (rc != 0)
        oe_error_set(err, "cannot encrypt IKE_AUTH");
    return rc;
}

void ike_send_auth(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out)
{
    struct oe_error err;
    if (sa->child_spi_in < 0x100)
        sa->child_spi_in = ike_esp_spi(sa->env);
    ike_sa_index(sa);
    if (sa->ask_if_nat && sa->nat_local && !sa->ask_address) {
        sa->ask_address = true;
        ike_log(out, sa, "we are behind a NAT: asking the responder for an address (CFG_REQUEST)");
    }
    struct ike_ts tsi, tsr;
    ike_host_ts(&sa->local_host, &tsi);
    if (sa->ask_address) {
        /* RFC 7296 3.15.1: TSi the whole family, for the responder to narrow to the address it leases */
        size_t alen = sa->local_host.family == AF_INET6 ? 16 : 4;
        memset(tsi.start.bytes, 0, alen);
        memset(tsi.end.bytes, 0xff, alen);
    }
    ike_host_ts(&sa->remote_host, &tsr);
    struct wbuf msg = {0};
    if (ike_build_auth_request(core, sa, &tsi, 1, &tsr, 1, &msg, &err) != 0) {
        wbuf_free(&msg);
        ike_sa_fail(core, sa, out, err.msg);
        return;
    }
    sa->state = SA_AUTH_SENT;
    ike_send(out, sa, &msg, true);
    ike_log(out, sa, "sent IKE_AUTH request (%s, Child SA proposals AES_GCM_16 and AES_CBC-HMAC_SHA2)",
            sa->auth == IKE_AUTHBY_NULL ? "NULL authentication" : "RSA signature");
    wbuf_free(&msg);
}

/* Move the SEND action at index i behind the INSTALL that followed it. */
static void send_after_install(struct ike_actions *out, size_t i)
{
    if (i >= out->n || out->v[i].kind != IKE_ACT_SEND)
        return;
    struct ike_action send = out->v[i];
    size_t j = i + 1;
    while (j < out->n && out->v[j].kind != IKE_ACT_INSTALL)
        j++;
    if (j == out->n)
        return;
    memmove(&out->v[i], &out->v[i + 1], (j - i) * sizeof(send));
    out->v[j] = send;
}

static void respond_error(struct ike_sa *sa, uint16_t notify, struct ike_actions *out)
{
    struct ike_builder inner = {0};
    ikeb_notify(&inner, 0, NULL, 0, notify, NULL, 0);
    ike_respond(sa, IKE_AUTH, sa->peer_msgid, &inner, out);
    wbuf_free(&inner.b);
}

/* The same authenticated identity: ID payload, method and, signed, the same key. */
static bool same_identity(const struct ike_sa *a, const struct ike_sa *b)
{
    if (!a->peer_id_kept || !b->peer_id_kept || a->auth != b->auth || a->peer_id_type != b->peer_id_type ||
        a->peer_id_len != b->peer_id_len || memcmp(a->peer_id, b->peer_id, a->peer_id_len) != 0)
        return false;
    if (a->auth == IKE_AUTHBY_NULL) /* no identity: only the same host and NAT mapping */
        return oe_addr_eq(&a->remote.addr, &b->remote.addr) && a->remote.port == b->remote.port;
    return a->peer_key.len == b->peer_key.len && a->peer_key.len && !a->peer_key.failed && !b->peer_key.failed &&
           memcmp(a->peer_key.p, b->peer_key.p, a->peer_key.len) == 0;
}

/* Keep who authenticated: INITIAL_CONTACT is matched on it. */
static void keep_identity(struct ike_sa *sa, const struct ike_id *id, const struct ike_pubkey *key)
{
    sa->peer_id_type = id->type;
    sa->peer_id_kept = id->data.len <= sizeof(sa->peer_id);
    sa->peer_id_len = sa->peer_id_kept ? id->data.len : 0;
    if (sa->peer_id_len)
        memcpy(sa->peer_id, id->data.p, sa->peer_id_len);
    ike_sa_index(sa);
    if (key == NULL)
        return; /* the initiator has it from DNS already */
    wbuf_free(&sa->peer_key);
    if (sa->auth == IKE_AUTHBY_RSASIG)
        wbuf_put(&sa->peer_key, key->rfc3110, key->len); /* failed: nothing matches, which fails safe */
}

static bool restarted_from(const struct ike_sa *old, const struct ike_sa *sa)
{
    return old != sa && old->state == SA_ESTABLISHED && same_identity(old, sa) &&
           oe_addr_eq(&old->local.addr, &sa->local.addr);
}

static int newest_first(const void *a, const void *b)
{
    const struct ike_sa *x = *(struct ike_sa *const *)a, *y = *(struct ike_sa *const *)b;
    return x->born < y->born ? 1 : x->born > y->born ? -1 : 0;
}

static void drop_restarted(struct ike_core *core, const struct ike_sa *sa, struct ike_sa *old, struct ike_actions *out)
{
    ike_log(out, old, "peer restarted (INITIAL_CONTACT in #%u): dropping this IKE SA", sa->serial);
    ike_sa_fail(core, old, out, "peer restarted (INITIAL_CONTACT)");
}

/*
 * RFC 7296 2.4: INITIAL_CONTACT says the peer has no other IKE SA with us:
 * it restarted. Drop what we still hold with that same identity (without a
 * Delete: it would not know the SPIs), before the new Child SA takes the
 * same selectors. Another identity at the same address (a host behind the
 * same NAT) keeps its SAs, and so does the same peer on another of our
 * addresses: its INITIAL_CONTACT speaks for the pair of addresses it was
 * sent between, as the initiator decides it (first_with_peer); a server
 * with many addresses would otherwise lose each tunnel to the next one.
 */
static void forget_previous(struct ike_core *core, const struct ike_sa *sa, struct ike_actions *out)
{
    /* those of its identity, newest first (as core->sas has them), gathered before any goes */
    struct ike_sa **v = NULL;
    size_t n = 0, cap = 0;
    bool short_of_memory = false;
    struct ike_ix_iter it;
    for (struct ike_sa *old = ike_ix_first(&it, core, IKE_IX_IDENTITY, ike_ix_hash_of(sa, IKE_IX_IDENTITY)); old;
         old = ike_ix_next(&it)) {
        if (!restarted_from(old, sa))
            continue;
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            struct ike_sa **more = realloc(v, ncap * sizeof(*v));
            if (more == NULL) {
                short_of_memory = true;
                break;
            }
            v = more;
            cap = ncap;
        }
        v[n++] = old;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), newest_first);
    for (size_t i = 0; i < n; i++)
        drop_restarted(core, sa, v[i], out);
    free(v);
    while (short_of_memory) { /* no memory for the list: the rest go all the same, in the index's order */
        short_of_memory = false;
        for (struct ike_sa *old = ike_ix_first(&it, core, IKE_IX_IDENTITY, ike_ix_hash_of(sa, IKE_IX_IDENTITY)); old;
             old = ike_ix_next(&it))
            if (restarted_from(old, sa)) {
                drop_restarted(core, sa, old, out);
                short_of_memory = true;
                break;
            }
    }
}

/* Every selector is that one host (any protocol and port). */
static bool all_host(const struct ike_ts *ts, size_t n, const struct oe_addr *host)
{
    struct oe_addr a;
    for (size_t i = 0; i < n; i++)
        if (!single_host(&ts[i], &a) || !oe_addr_eq(&a, host))
            return false;
    return n > 0;
}

static bool ours_to_answer(const struct ike_core *core, const struct ike_sa *sa, const struct oe_addr *host)
{
    if (oe_addr_eq(host, &sa->local.addr))
        return true;
    for (size_t i = 0; i < core->cfg.nsubnets; i++)
        if (oe_prefix_contains(&core->cfg.subnets[i], host))
            return true;
    return false;
}

/*
 * Behind a NAT the initiator's own address is neither one we can route to
 * nor one it can prove (it may be a real host somewhere else): its tunnel is
 * for an address we lease it, of our side's family, asked for by a
 * CFG_REQUEST (RFC 7296 3.15), or there is none. The family to lease, or 0
 * and why not.
 */
static int lease_family(const struct ike_core *core, const struct ike_sa *sa, const struct oe_addr *local,
                        const struct ike_payloads *in, char *why, size_t len)
{
    char o[OE_ADDR_STRLEN];
    bool v6 = local->family == AF_INET6;
    const struct ike_pool *pool = v6 ? &core->pool6 : &core->pool4;
    bool asks = in->has_cp && in->cp.type == IKE_CFG_REQUEST && (v6 ? in->cp.ip6 : in->cp.ip4);
    oe_addr_str(&sa->remote.addr, o);
    if (!asks) {
        snprintf(why, len,
                 "the initiator is behind a NAT (we see %s) and asks for no address (no CFG_REQUEST with "
                 "INTERNAL_%s_ADDRESS): a NAT'ed initiator's tunnel is only for an address we lease it",
                 o, v6 ? "IP6" : "IP4");
        return 0;
    }
    if (pool->prefix.addr.family == 0) {
        snprintf(why, len,
                 "the initiator is behind a NAT (we see %s) and asks for an %s address, but no address-pool "
                 "of that family is set: a NAT'ed initiator's tunnel is only for an address we lease it",
                 o, v6 ? "IPv6" : "IPv4");
        return 0;
    }
    return local->family;
}

/*
 * The responder's rule, first part: the one host on each side the Child SA
 * would carry, decided before any DNS work. Behind a NAT the peer has only
 * the address we see (a NAT detection notify is the peer's word, not a
 * proof) for its policy and key, and its tunnel is for a lease
 * (lease_family); otherwise TSi names one host, in every entry, and one that
 * is not the peer itself is a client it claims to be the gateway of, which
 * its key must then vouch for. A NULL-authenticated peer speaks only for
 * itself. Returns NULL, or why the selectors are refused.
 */
static const char *asked_hosts(const struct ike_core *core, struct ike_sa *sa, const struct ike_payloads *in, char *why,
                               size_t len)
{
    char h[OE_ADDR_STRLEN], o[OE_ADDR_STRLEN];
    struct oe_addr remote = sa->remote.addr, local = sa->local.addr, first;
    sa->lease_asked = 0;
    if (sa->nat_remote) {
        /* decided below, once TSr has named our side */
    } else if (in->ntsi && single_host(&in->tsi[0], &first)) {
        if (!all_host(in->tsi, in->ntsi, &first)) {
            snprintf(why, len, "TSi names more than the one host %s", oe_addr_str(&first, h));
            return why;
        }
        remote = first;
    } else if (!ts_covers(in->tsi, in->ntsi, &remote)) {
        snprintf(why, len, "TSi does not cover the initiator's address %s", oe_addr_str(&remote, o));
        return why;
    }
    if (in->ntsr && single_host(&in->tsr[0], &first)) {
        if (!all_host(in->tsr, in->ntsr, &first) || !ours_to_answer(core, sa, &first)) {
            snprintf(why, len, "TSr asks for %s, which is not ours to answer for", oe_addr_str(&first, h));
            return why;
        }
        local = first;
    } else if (!ts_covers(in->tsr, in->ntsr, &local)) {
        snprintf(why, len, "TSr does not cover our address %s", oe_addr_str(&local, o));
        return why;
    }
    if (sa->nat_remote && (sa->lease_asked = (uint8_t)lease_family(core, sa, &local, in, why, len)) == 0)
        return why;
    if (in->auth_method == IKE_AUTH_NULL && !oe_addr_eq(&remote, &sa->remote.addr)) {
        snprintf(why, len, "a NULL-authenticated peer speaks only for its own address %s, not for %s",
                 oe_addr_str(&sa->remote.addr, o), oe_addr_str(&remote, h));
        return why;
    }
    sa->asked_remote = remote;
    sa->asked_local = local;
    return NULL;
}

void ike_handle_auth_request(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                             const struct ike_header *h, const struct ike_payloads *pl, struct ike_actions *out)
{
    (void)h;
    sa->auth_req.len = 0;
    struct ike_payloads *in = ike_open(sa, msg, len, pl, &sa->auth_req, "IKE_AUTH request", out);
    if (in == NULL)
        return;
    sa->auth_req_first = pl->sk_first;
    sa->auth_req_at = core->now;
    if (!in->has_idi || !in->has_auth || !in->has_sa || !in->has_tsi || !in->has_tsr) {
        ike_log(out, sa, "IKE_AUTH request lacks IDi, AUTH, SA, TSi or TSr");
        respond_error(sa, IKE_N_INVALID_SYNTAX, out);
        free(in);
        ike_sa_fail(core, sa, out, "malformed IKE_AUTH request");
        return;
    }
    char why[300];
    if (asked_hosts(core, sa, in, why, sizeof(why)) != NULL) {
        ike_log(out, sa, "IKE_AUTH: TS_UNACCEPTABLE: %s", why);
        respond_error(sa, IKE_N_TS_UNACCEPTABLE, out);
        free(in);
        ike_sa_fail(core, sa, out, why);
        return;
    }
    sa->state = SA_WAIT_KEY;
    struct ike_action *a = ike_act(out, IKE_ACT_NEED_KEY, sa);
    if (a) {
        /* the hosts the peer asks for: itself, or one it is the gateway of; us, or one behind us */
        a->child.local_host = sa->asked_local;
        a->child.remote_host = sa->asked_remote;
        a->id_type = in->idi.type;
        ike_describe_id(in->idi.type, in->idi.data, a->id, sizeof(a->id));
        snprintf(a->text, sizeof(a->text), "%s", in->auth_method == IKE_AUTH_NULL ? "null" : "rsasig");
    }
    free(in);
}

/*
 * A peer that initiates again and again (nothing stops a NULL-authenticated
 * one) gets no more than max_sas_per_peer IKE SAs for its host pair: the
 * oldest go, as they would after INITIAL_CONTACT, so it churns only its own.
 */
static void limit_per_peer(struct ike_core *core, const struct ike_sa *sa, struct ike_actions *out)
{
    for (;;) {
        struct ike_sa *oldest = NULL;
        unsigned n = 0;
        struct ike_ix_iter it;
        for (struct ike_sa *o = ike_ix_first(&it, core, IKE_IX_HOSTS, ike_ix_hash_of(sa, IKE_IX_HOSTS)); o;
             o = ike_ix_next(&it)) {
            if (o->initiator || o->retired || o->state != SA_ESTABLISHED ||
                !oe_addr_eq(&o->local_host, &sa->local_host) || !oe_addr_eq(&o->remote_host, &sa->remote_host))
                continue;
            n++;
            if (o != sa && (oldest == NULL || o->serial < oldest->serial))
                oldest = o;
        }
        if (n <= core->cfg.max_sas_per_peer || oldest == NULL)
            return;
        ike_log(out, oldest,
                "#%u is one IKE SA more than max-ike-sas-per-peer (%u) for this host pair: "
                "deleting this one, the oldest",
                sa->serial, core->cfg.max_sas_per_peer);
        ike_delete(core, oldest->serial, core->now, out);
    }
}

/*
 * The NAT'ed initiator is who it said (AUTH verified): its lease, which its
 * tunnel is for (TSi narrowed to it), never the address it has behind its
 * NAT. The pool running out refuses the Child SA; the SA is gone then.
 */
/* Leases held by initiators at the address sa's comes from, to the same address of ours. */
static unsigned leases_from(const struct ike_core *core, const struct ike_sa *sa)
{
    unsigned n = 0;
    struct ike_ix_iter it;
    for (const struct ike_sa *o = ike_ix_first(&it, core, IKE_IX_PEER, ike_ix_hash_of(sa, IKE_IX_PEER)); o;
         o = ike_ix_next(&it))
        n += o != sa && o->lease_ours && o->lease.family && oe_addr_eq(&o->remote.addr, &sa->remote.addr) &&
             oe_addr_eq(&o->local.addr, &sa->local.addr);
    return n;
}

static int lease_address(struct ike_core *core, struct ike_sa *sa, struct ike_actions *out)
{
    struct ike_pool *pool = sa->lease_asked == AF_INET6 ? &core->pool6 : &core->pool4;
    struct oe_error err;
    char l[OE_ADDR_STRLEN], o[OE_ADDR_STRLEN], p[OE_ADDR_STRLEN];
    unsigned held = leases_from(core, sa);
    /* NULL authentication proves nothing: one source (a NAT, or one pretending) cannot drain the pool */
    if (held >= core->cfg.max_leases_per_source)
        oe_error_setc(&err, OE_E_LIMIT,
                      "initiators behind %s hold %u leases already, max-leases-per-source is %u: none for this one",
                      oe_addr_str(&sa->remote.addr, o), held, core->cfg.max_leases_per_source);
    if (held >= core->cfg.max_leases_per_source || ike_pool_lease(pool, &sa->lease, &err) != 0) {
        ike_log(out, sa, "IKE_AUTH: INTERNAL_ADDRESS_FAILURE: %s", err.msg);
        respond_error(sa, IKE_N_INTERNAL_ADDRESS_FAILURE, out);
        ike_sa_fail(core, sa, out, err.msg);
        return -1;
    }
    sa->lease_ours = true;
    sa->remote_host = sa->lease;
    ike_log(out, sa, "leased %s to the initiator behind a NAT at %s (address-pool %s, %llu in use); TSi narrowed to it",
            oe_addr_str(&sa->lease, l), oe_addr_str(&sa->remote.addr, o), oe_prefix_str(&pool->prefix, p),
            (unsigned long long)pool->in_use);
    return 0;
}

void ike_continue_auth_request(struct ike_core *core, struct ike_sa *sa, const struct ike_pubkey *keys, size_t nkeys,
                               bool allow_null, struct ike_actions *out)
{
    size_t which = 0;
    struct ike_payloads *in = malloc(sizeof(*in));
    struct oe_error err;
    if (in == NULL || ike_parse_payloads(sa->auth_req_first, sa->auth_req.p, sa->auth_req.len, 0, in, &err) != 0) {
        free(in);
        ike_sa_fail(core, sa, out, "cannot re-read the IKE_AUTH request");
        return;
    }
    if (check_auth(sa, in, keys, nkeys, allow_null, &which, &err) != 0) {
        ike_log(out, sa, "IKE_AUTH from peer refused: %s", err.msg);
        respond_error(sa, IKE_N_AUTHENTICATION_FAILED, out);
        free(in);
        ike_sa_fail(core, sa, out, err.msg);
        return;
    }
    sa->auth = in->auth_method == IKE_AUTH_NULL ? IKE_AUTHBY_NULL : IKE_AUTHBY_RSASIG;
    if (sa->auth == IKE_AUTHBY_RSASIG && nkeys > 1)
        ike_log(out, sa, "peer's AUTH verified with published key %zu of %zu", which + 1, nkeys);
    const struct ike_pubkey *key = keys && nkeys ? &keys[which] : NULL;
    ike_sa_index(sa);
    struct ike_esp_algs algs;
    const struct ike_proposal *esp = ike_choose_esp(&core->cfg, &in->sa, &algs);
    if (esp == NULL) {
        ike_log(out, sa, "IKE_AUTH: NO_PROPOSAL_CHOSEN");
        respond_error(sa, IKE_N_NO_PROPOSAL_CHOSEN, out);
        free(in);
        ike_sa_fail(core, sa, out, "NO_PROPOSAL_CHOSEN");
        return;
    }
    /* the key that verified AUTH was given for the hosts NEED_KEY named: they are the tunnel's */
    sa->remote_host = sa->asked_remote;
    sa->local_host = sa->asked_local;
    if (sa->lease_asked && lease_address(core, sa, out) != 0) {
        free(in);
        return;
    }
    ike_sa_index(sa);
    keep_identity(sa, &in->idi, key);
    if (sa->auth == IKE_AUTHBY_RSASIG && !ike_signer_ready(&core->cfg.signer)) {
        respond_error(sa, IKE_N_AUTHENTICATION_FAILED, out);
        free(in);
        ike_sa_fail(core, sa, out, "peer wants RSA but we have no host key");
        return;
    }
    sa->child_spi_out = ike_spi_of(esp);
    if (sa->child_spi_in < 0x100)
        sa->child_spi_in = ike_esp_spi(sa->env);
    ike_sa_index(sa);
    if (ike_find_notify(in, IKE_N_INITIAL_CONTACT) != NULL)
        forget_previous(core, sa, out);
    struct ike_builder inner = {0};
    if (add_id_auth(core, sa, &inner, sa->auth, &err) != 0) {
        wbuf_free(&inner.b);
        free(in);
        ike_sa_fail(core, sa, out, err.msg);
        return;
    }
    struct ike_proposal p;
    ike_esp_answer(esp, &algs, sa->child_spi_in, 0, &p);
    struct ike_ts tsi, tsr;
    ike_host_ts(&sa->remote_host, &tsi);
    ike_host_ts(&sa->local_host, &tsr);
    if (sa->lease.family)
        add_cp(&inner, IKE_CFG_REPLY, &sa->lease);
    ikeb_sa(&inner, &p, 1);
    ikeb_ts(&inner, IKE_PL_TSI, &tsi, 1);
    ikeb_ts(&inner, IKE_PL_TSR, &tsr, 1);
    int rc = ike_respond(sa, IKE_AUTH, sa->peer_msgid, &inner, out);
    wbuf_wipe(&inner.b);
    if (rc != 0) {
        free(in);
        ike_sa_fail(core, sa, out, "cannot encrypt the IKE_AUTH response");
        return;
    }
    size_t response = out->n - 1;
    ike_leave_half_open(core, sa);
    struct ike_id peer = in->idi;
    if (established(core, sa, &algs, &peer, out)) {
        wbuf_wipe(&sa->auth_req);
        limit_per_peer(core, sa, out);
        /* the Child SA goes into the kernel before the answer leaves: the initiator
         * sends on it (its held packets) the moment it has read the answer */
        send_after_install(out, response);
    }
    free(in);
}

void ike_handle_auth_response(struct ike_core *core, struct ike_sa *sa, const uint8_t *msg, size_t len,
                              const struct ike_payloads *pl, struct ike_actions *out)
{
    struct wbuf plain = {0};
    struct oe_error err;
    struct ike_payloads *in = ike_open(sa, msg, len, pl, &plain, "IKE_AUTH response", out);
    if (in == NULL)
        return;
    sa->awaiting = false;
    for (size_t i = 0; i < in->nnotify; i++) {
        if (in->notify[i].type < 16384) {
            char why[96];
            snprintf(why, sizeof(why), "IKE_AUTH refused by the peer: %s", ike_notify_name(in->notify[i].type));
            ike_log(out, sa, "%s", why);
            wbuf_wipe(&plain);
            free(in);
            ike_sa_fail(core, sa, out, why);
            return;
        }
    }
    const char *bad = NULL;
    struct ike_pubkey peer_keys[IKE_MAX_PEER_KEYS];
    size_t npeer_keys = initiator_keys(sa, peer_keys), which = 0;
    /* asked for an address: the responder's lease (of our family), TSi narrowed to it; without one, our own */
    struct oe_addr lease = {0};
    const char *no_lease = NULL;
    char no_lease_why[160];
    if (sa->ask_address)
        no_lease = leased(sa, in, &lease, no_lease_why, sizeof(no_lease_why));
    const struct oe_addr *mine = lease.family ? &lease : &sa->local_host;
    struct ike_esp_algs algs;
    const struct ike_proposal *esp = NULL;
    if (!in->has_idr || !in->has_auth || !in->has_sa || !in->has_tsi || !in->has_tsr)
        bad = "IKE_AUTH response lacks IDr, AUTH, SA, TSi or TSr";
    else if (check_auth(sa, in, peer_keys, npeer_keys, sa->auth == IKE_AUTHBY_NULL, &which, &err) != 0)
        bad = err.msg;
    else if ((sa->auth == IKE_AUTHBY_RSASIG) != (in->auth_method == IKE_AUTH_DIGSIG))
        bad = "peer authenticated with another method than we asked for";
    else if ((esp = ike_choose_esp(&core->cfg, &in->sa, &algs)) == NULL || in->sa.n != 1)
        bad = "responder chose an ESP proposal we did not offer";
    else if (no_lease && lease.family)
        bad = no_lease; /* a lease we cannot take: our tunnel would be for an address that is not ours */
    else if (!ts_covers(in->tsi, in->ntsi, mine) || !ts_covers(in->tsr, in->ntsr, &sa->remote_host))
        bad = "responder narrowed the traffic selectors below the host pair";
    if (bad) {
        char why[512];
        snprintf(why, sizeof(why), "%s", bad);
        ike_log(out, sa, "IKE_AUTH response refused: %s", why);
        wbuf_wipe(&plain);
        free(in);
        ike_sa_fail(core, sa, out, why);
        return;
    }
    sa->child_spi_out = ike_spi_of(esp);
    if (lease.family) {
        char l[OE_ADDR_STRLEN];
        sa->lease = lease;
        sa->lease_ours = false;
        sa->local_host = lease; /* the tunnel is for it: we must translate our address to it */
        ike_log(out, sa, "the responder leased us %s (CFG_REPLY); our tunnel is for it", oe_addr_str(&lease, l));
    } else if (no_lease) {
        char l[OE_ADDR_STRLEN];
        ike_log(out, sa, "%s: our tunnel is for our own address %s", no_lease, oe_addr_str(&sa->local_host, l));
    }
    if (npeer_keys > 1) {
        ike_log(out, sa, "peer's AUTH verified with published key %zu of %zu", which + 1, npeer_keys);
        if (which > 0) { /* the SA keeps the key that verified (INITIAL_CONTACT, rekeys) */
            struct wbuf k = {0};
            wbuf_put(&k, peer_keys[which].rfc3110, peer_keys[which].len);
            wbuf_free(&sa->peer_key);
            sa->peer_key = k;
        }
    }
    wbuf_free(&sa->more_keys);
    ike_sa_index(sa);
    keep_identity(sa, &in->idr, NULL);
    struct ike_id peer = in->idr;
    (void)established(core, sa, &algs, &peer, out);
    wbuf_wipe(&plain);
    free(in);
}
