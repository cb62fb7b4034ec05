/*
 * Publishing keys: RFC 2136 dynamic updates, TSIG-signed (RFC 8945), and
 * the plain queries to the zone's primary that decide them. ldns builds,
 * signs, sends and parses every message; this file decides what goes in.
 */
#include "dnskeys.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DEFAULT_TIMEOUT_MS 10000
#define QUERY_RETRIES 2
#define QUERY_UDP_SIZE 4096 /* EDNS: an RSA-3072 IPSECKEY or TXT RRset fits; larger ones retry over TCP */
#define TSIG_FUDGE 300      /* RFC 8945 10: the recommended 300 s */
#define TSIG_RDF_MAC 3      /* the TSIG rdata fields as ldns numbers them */
#define TSIG_RDF_ERROR 5

struct dnskeys_update {
    ldns_rdf *zone;
    ldns_rr_list *prereq, *update;
    size_t octets; /* header, zone and every RR, uncompressed */
};

void dnskeys_rrs_free(struct dnskeys_rr *rrs, size_t n)
{
    for (size_t i = 0; rrs && i < n; i++)
        free(rrs[i].rdata);
    free(rrs);
}

const char *dnskeys_rcode_name(unsigned rcode, char buf[16])
{
    /* RFC 6895 2.3: RCODEs, with the TSIG errors of RFC 8945 */
    static const char *const names[] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",  NULL,       NULL,      NULL,      NULL,       NULL,
        "BADSIG",  "BADKEY",  "BADTIME",  "BADMODE",  "BADNAME", "BADALG",  "BADTRUNC", "BADCOOKIE",
    };
    if (rcode < OE_ARRAY_SIZE(names) && names[rcode] != NULL)
        return names[rcode];
    snprintf(buf, 16, "RCODE%u", rcode);
    return buf;
}

/* ---- queries to the primary ---- */

static ldns_resolver *resolver_for(const struct dnskeys_server *srv, struct oe_error *err)
{
    ldns_resolver *r = ldns_resolver_new();
    ldns_rdf *a = ldns_rdf_new_frm_data(srv->addr.family == AF_INET ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
                                        srv->addr.family == AF_INET ? 4 : 16, srv->addr.bytes);
    if (r == NULL || a == NULL || ldns_resolver_push_nameserver(r, a) != LDNS_STATUS_OK) {
        oe_error_setc(err, OE_E_NOMEM, "out of memory");
        ldns_rdf_deep_free(a);
        ldns_resolver_deep_free(r);
        return NULL;
    }
    ldns_rdf_deep_free(a);
    unsigned ms = srv->timeout_ms ? srv->timeout_ms : DEFAULT_TIMEOUT_MS;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    ldns_resolver_set_port(r, srv->port ? srv->port : 53);
    ldns_resolver_set_recursive(r, false); /* the primary answers from its zone */
    ldns_resolver_set_timeout(r, tv);
    ldns_resolver_set_retry(r, QUERY_RETRIES);
    ldns_resolver_set_edns_udp_size(r, QUERY_UDP_SIZE);
    ldns_resolver_set_fallback(r, true);
    return r;
}

static const char *server_str(const struct dnskeys_server *srv, char buf[OE_ADDR_STRLEN + 8])
{
    char a[OE_ADDR_STRLEN];
    snprintf(buf, OE_ADDR_STRLEN + 8, "%s@%u", oe_addr_str(&srv->addr, a), srv->port ? srv->port : 53);
    return buf;
}

static const char *type_name(ldns_rr_type t)
{
    return t == LDNS_RR_TYPE_SOA ? "SOA" : dnskeys_rrtype_name((enum dnskeys_rrtype)t);
}

/* One query for name/type: an authoritative NOERROR or NXDOMAIN answer, or -1 with err. */
static int ask(const struct dnskeys_server *srv, const ldns_rdf *name, ldns_rr_type type, ldns_pkt **out,
               struct oe_error *err)
{
    char sbuf[OE_ADDR_STRLEN + 8], rbuf[16];
    char *n = ldns_rdf2str(name);
    ldns_resolver *r = resolver_for(srv, err);
    int rc = -1;
    *out = NULL;
    if (r == NULL)
        goto done;
    ldns_status st = ldns_resolver_query_status(out, r, name, type, LDNS_RR_CLASS_IN, 0);
    if (st != LDNS_STATUS_OK || *out == NULL) {
        oe_error_setc(err, OE_E_SYSTEM, "%s: no answer for %s %s: %s", server_str(srv, sbuf), n ? n : "?",
                      type_name(type), ldns_get_errorstr_by_id(st));
        goto done;
    }
    unsigned rcode = ldns_pkt_get_rcode(*out);
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
        oe_error_setc(err, OE_E_FAILED, "%s answered %s for %s %s", server_str(srv, sbuf),
                      dnskeys_rcode_name(rcode, rbuf), n ? n : "?", type_name(type));
        goto done;
    }
    if (!ldns_pkt_aa(*out)) {
        oe_error_setc(err, OE_E_FAILED, "%s is not authoritative for %s: give the zone's primary",
                      server_str(srv, sbuf), n ? n : "?");
        goto done;
    }
    rc = 0;
done:
    if (rc != 0) {
        ldns_pkt_free(*out);
        *out = NULL;
    }
    ldns_resolver_deep_free(r);
    free(n);
    return rc;
}

static ldns_rdf *dname(const char *name, struct oe_error *err)
{
    ldns_rdf *d = NULL;
    if (ldns_str2rdf_dname(&d, name) != LDNS_STATUS_OK) {
        oe_error_setc(err, OE_E_INVALID, "\"%s\" is not a domain name", name);
        return NULL;
    }
    return d;
}

static const ldns_rr *find_soa(const ldns_rr_list *l)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
        if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == LDNS_RR_TYPE_SOA)
            return ldns_rr_list_rr(l, i);
    return NULL;
}

int dnskeys_server_zone(const struct dnskeys_server *srv, const char *name, char zone[DNSKEYS_NAME_MAX],
                        struct oe_error *err)
{
    ldns_rdf *n = dname(name, err);
    ldns_pkt *p = NULL;
    int rc = -1;
    if (n == NULL || ask(srv, n, LDNS_RR_TYPE_SOA, &p, err) != 0)
        goto done;
    /* the SOA is the answer at the apex, and in the authority section below it (RFC 2308 3) */
    const ldns_rr *soa = find_soa(ldns_pkt_answer(p));
    if (soa == NULL)
        soa = find_soa(ldns_pkt_authority(p));
    const ldns_rdf *z = soa ? ldns_rr_owner(soa) : NULL;
    if (z == NULL || (ldns_dname_compare(z, n) != 0 && !ldns_dname_is_subdomain(n, z))) {
        oe_error_setc(err, OE_E_FAILED, "no zone for %s: the server's answer has no SOA above it", name);
        goto done;
    }
    char *s = ldns_rdf2str(z);
    if (s == NULL || strlen(s) >= DNSKEYS_NAME_MAX) {
        oe_error_setc(err, OE_E_NOMEM, "out of memory");
        free(s);
        goto done;
    }
    memcpy(zone, s, strlen(s) + 1);
    free(s);
    rc = 0;
done:
    ldns_pkt_free(p);
    ldns_rdf_deep_free(n);
    return rc;
}

int dnskeys_server_rrset(const struct dnskeys_server *srv, const char *owner, enum dnskeys_rrtype type,
                         struct dnskeys_rr **out, size_t *n, struct oe_error *err)
{
    ldns_rdf *o = dname(owner, err);
    ldns_pkt *p = NULL;
    ldns_buffer *b = ldns_buffer_new(1024);
    int rc = -1;
    *out = NULL;
    *n = 0;
    if (b == NULL) {
        oe_error_setc(err, OE_E_NOMEM, "out of memory");
        goto done;
    }
    if (o == NULL || ask(srv, o, (ldns_rr_type)type, &p, err) != 0)
        goto done;
    const ldns_rr_list *ans = ldns_pkt_answer(p);
    *out = calloc(DNSKEYS_RRSET_MAX, sizeof(**out));
    if (*out == NULL) {
        oe_error_setc(err, OE_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(ans, i);
        if (ldns_rr_get_type(rr) != (ldns_rr_type)type || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
            ldns_dname_compare(ldns_rr_owner(rr), o) != 0)
            continue;
        if (*n == DNSKEYS_RRSET_MAX) {
            oe_error_setc(err, OE_E_LIMIT, "%s has more than %d %s records", owner, DNSKEYS_RRSET_MAX,
                          dnskeys_rrtype_name(type));
            goto done;
        }
        ldns_buffer_clear(b);
        struct dnskeys_rr *x = &(*out)[*n];
        if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK) {
            oe_error_setc(err, OE_E_NOMEM, "out of memory");
            goto done;
        }
        x->len = ldns_buffer_position(b);
        x->rdata = malloc(x->len ? x->len : 1);
        if (x->rdata == NULL) {
            oe_error_setc(err, OE_E_NOMEM, "out of memory");
            goto done;
        }
        memcpy(x->rdata, ldns_buffer_begin(b), x->len);
        x->ttl = ldns_rr_ttl(rr);
        (*n)++;
    }
    rc = 0;
done:
    if (rc != 0) {
        dnskeys_rrs_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    ldns_buffer_free(b);
    ldns_pkt_free(p);
    ldns_rdf_deep_free(o);
    return rc;
}

/* ---- building the update ---- */

struct dnskeys_update *dnskeys_update_new(const char *zone, struct oe_error *err)
{
    struct dnskeys_update *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        oe_error_setc(err, OE_E_NOMEM, "out of memory");
        return NULL;
    }
    u->zone = dname(zone, err);
    u->prereq = ldns_rr_list_new();
    u->update = ldns_rr_list_new();
    if (u->zone == NULL || u->prereq == NULL || u->update == NULL) {
        if (u->zone != NULL)
            oe_error_setc(err, OE_E_NOMEM, "out of memory");
        dnskeys_update_free(u);
        return NULL;
    }
    /* RFC 2136 2.3: the header and the zone section's one entry */
    u->octets = 12 + ldns_rdf_size(u->zone) + 4;
    return u;
}

void dnskeys_update_free(struct dnskeys_update *u)
{
    if (u == NULL)
        return;
    ldns_rdf_deep_free(u->zone);
    ldns_rr_list_deep_free(u->prereq);
    ldns_rr_list_deep_free(u->update);
    free(u);
}

size_t dnskeys_update_count(const struct dnskeys_update *u)
{
    return ldns_rr_list_rr_count(u->update);
}

size_t dnskeys_update_octets(const struct dnskeys_update *u)
{
    return u->octets;
}

/* One RR: owner, class, ttl, type, and rdata (NULL: none, as prerequisites on a whole RRset have). */
static ldns_rr *make_rr(const char *owner, ldns_rr_class cls, uint32_t ttl, enum dnskeys_rrtype type,
                        const uint8_t *rdata, size_t len, struct oe_error *err)
{
    ldns_rr *rr = ldns_rr_new_frm_type((ldns_rr_type)type);
    ldns_rdf *o = dname(owner, err);
    uint8_t *wire = rdata ? malloc(len + 2) : NULL;
    size_t pos = 0;
    if (rr == NULL || o == NULL || (rdata && wire == NULL) || len > 0xffff) {
        if (o != NULL)
            oe_error_setc(err, len > 0xffff ? OE_E_INVALID : OE_E_NOMEM,
                          len > 0xffff ? "rdata too long" : "out of memory");
        goto bad;
    }
    while (ldns_rr_rd_count(rr) > 0) /* the type's descriptor made empty rdfs */
        ldns_rdf_deep_free(ldns_rr_pop_rdf(rr));
    if (rdata) {
        wire[0] = (uint8_t)(len >> 8);
        wire[1] = (uint8_t)len;
        memcpy(wire + 2, rdata, len);
        if (ldns_wire2rdf(rr, wire, len + 2, &pos) != LDNS_STATUS_OK) {
            oe_error_setc(err, OE_E_INVALID, "%s rdata at %s is malformed", dnskeys_rrtype_name(type), owner);
            goto bad;
        }
    }
    ldns_rr_set_owner(rr, o);
    ldns_rr_set_class(rr, cls);
    ldns_rr_set_ttl(rr, ttl);
    free(wire);
    return rr;
bad:
    free(wire);
    ldns_rdf_deep_free(o);
    ldns_rr_free(rr);
    return NULL;
}

static int push(struct dnskeys_update *u, ldns_rr_list *l, ldns_rr *rr, struct oe_error *err)
{
    if (rr == NULL)
        return -1;
    if (!ldns_rr_list_push_rr(l, rr)) {
        ldns_rr_free(rr);
        oe_error_setc(err, OE_E_NOMEM, "out of memory");
        return -1;
    }
    u->octets += ldns_rr_uncompressed_size(rr);
    return 0;
}

/* Ours to replace: every IPSECKEY; of TXT, only FreeS/WAN's X-IPsec-Server. */
static bool is_ours(enum dnskeys_rrtype type, const struct dnskeys_rr *rr, struct dnskeys_record *rec)
{
    struct oe_error e;
    memset(rec, 0, sizeof(*rec));
    int rc = dnskeys_record_parse(type, rr->rdata, rr->len, 0, rec, &e);
    return rc == 0 || (rc < 0 && type != DNSKEYS_TXT);
}

static bool same(const struct dnskeys_rr *rr, const uint8_t *want, size_t wantlen)
{
    return rr->len == wantlen && memcmp(rr->rdata, want, wantlen) == 0;
}

/*
 * The one plan behind both: publish (want non-NULL, nwant records) or remove
 * (want NULL: ours whose key is key). want[i].ttl is ignored: ttl is the RRset's.
 */
static int plan(struct dnskeys_update *u, const char *owner, enum dnskeys_rrtype type, uint32_t ttl,
                const struct dnskeys_rr *have, size_t nhave, const struct dnskeys_rr *want, size_t nwant,
                const struct dnskeys_pubkey *key, size_t *changes, struct oe_error *err)
{
    ldns_rr_list *del = ldns_rr_list_new();
    bool present[DNSKEYS_RRSET_MAX] = {false};
    size_t n = 0;
    int rc = -1;
    *changes = 0;
    if (del == NULL) {
        oe_error_setc(err, OE_E_NOMEM, "out of memory");
        return -1;
    }
    if (nwant > DNSKEYS_RRSET_MAX) {
        oe_error_set(err, "%zu records at one name: at most %d", nwant, DNSKEYS_RRSET_MAX);
        goto done;
    }
    for (size_t i = 0; i < nhave; i++) {
        struct dnskeys_record rec;
        bool ours = is_ours(type, &have[i], &rec);
        bool keep = !ours;
        if (want != NULL && ours) { /* publish: ours stay only when they are exactly one of those wanted */
            for (size_t j = 0; j < nwant && !keep; j++)
                if (!present[j] && same(&have[i], want[j].rdata, want[j].len) && have[i].ttl == ttl)
                    keep = present[j] = true;
        } else if (want == NULL && ours) { /* remove: ours that carry this key go */
            keep = key == NULL || rec.key.rfc3110 == NULL || !dnskeys_key_eq(&rec.key, key);
        }
        dnskeys_record_free(&rec);
        if (keep)
            continue;
        /* RFC 2136 2.5.4: delete one RR: class NONE, TTL 0 */
        ldns_rr *rr = make_rr(owner, LDNS_RR_CLASS_NONE, 0, type, have[i].rdata, have[i].len, err);
        if (rr == NULL || !ldns_rr_list_push_rr(del, rr)) {
            if (rr != NULL)
                oe_error_setc(err, OE_E_NOMEM, "out of memory");
            ldns_rr_free(rr);
            goto done;
        }
        n++;
    }
    for (size_t j = 0; want != NULL && j < nwant; j++)
        n += !present[j];
    if (n == 0) {
        rc = 0;
        goto done;
    }
    /* RFC 2136 2.4.2 / 2.4.3: the RRset is still exactly what we saw, or still absent */
    if (nhave == 0) {
        if (push(u, u->prereq, make_rr(owner, LDNS_RR_CLASS_NONE, 0, type, NULL, 0, err), err) != 0)
            goto done;
    }
    for (size_t i = 0; i < nhave; i++)
        if (push(u, u->prereq, make_rr(owner, LDNS_RR_CLASS_IN, 0, type, have[i].rdata, have[i].len, err), err) != 0)
            goto done;
    while (ldns_rr_list_rr_count(del) > 0)
        if (push(u, u->update, ldns_rr_list_pop_rr(del), err) != 0)
            goto done;
    /* RFC 2136 2.5.1: add to an RRset */
    for (size_t j = 0; want != NULL && j < nwant; j++)
        if (!present[j] &&
            push(u, u->update, make_rr(owner, LDNS_RR_CLASS_IN, ttl, type, want[j].rdata, want[j].len, err), err) != 0)
            goto done;
    *changes = n;
    rc = 0;
done:
    ldns_rr_list_deep_free(del);
    return rc;
}

int dnskeys_update_plan(struct dnskeys_update *u, const char *owner, enum dnskeys_rrtype type, uint32_t ttl,
                        const struct dnskeys_rr *have, size_t nhave, const uint8_t *want, size_t wantlen,
                        const struct dnskeys_pubkey *key, size_t *changes, struct oe_error *err)
{
    struct dnskeys_rr one = {(uint8_t *)want, wantlen, ttl};
    return plan(u, owner, type, ttl, have, nhave, want ? &one : NULL, want ? 1 : 0, key, changes, err);
}

int dnskeys_update_plan_set(struct dnskeys_update *u, const char *owner, enum dnskeys_rrtype type, uint32_t ttl,
                            const struct dnskeys_rr *have, size_t nhave, const struct dnskeys_rr *want, size_t nwant,
                            size_t *changes, struct oe_error *err)
{
    static const struct dnskeys_rr none;
    return plan(u, owner, type, ttl, have, nhave, want ? want : &none, nwant, NULL, changes, err);
}

/* ---- text and wire ---- */

static void rdata_text(ldns_buffer *b, const ldns_rr *rr)
{
    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
        ldns_buffer_printf(b, " ");
        ldns_rdf2buffer_str(b, ldns_rr_rdf(rr, i));
    }
}

static void rr_head(ldns_buffer *b, const char *verb, const ldns_rr *rr, bool ttl)
{
    ldns_buffer_printf(b, "%s ", verb);
    ldns_rdf2buffer_str(b, ldns_rr_owner(rr));
    if (ttl)
        ldns_buffer_printf(b, " %u", ldns_rr_ttl(rr));
    ldns_buffer_printf(b, " IN ");
    ldns_rr_type2buffer_str(b, ldns_rr_get_type(rr));
}

char *dnskeys_update_to_text(const struct dnskeys_update *u)
{
    ldns_buffer *b = ldns_buffer_new(1024);
    if (b == NULL)
        return NULL;
    ldns_buffer_printf(b, "zone ");
    ldns_rdf2buffer_str(b, u->zone);
    ldns_buffer_printf(b, "\n");
    for (size_t i = 0; i < ldns_rr_list_rr_count(u->prereq); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(u->prereq, i);
        bool absent = ldns_rr_get_class(rr) == LDNS_RR_CLASS_NONE;
        rr_head(b, absent ? "prereq nxrrset" : "prereq yxrrset", rr, false);
        rdata_text(b, rr);
        ldns_buffer_printf(b, "\n");
    }
    for (size_t i = 0; i < ldns_rr_list_rr_count(u->update); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(u->update, i);
        bool del = ldns_rr_get_class(rr) == LDNS_RR_CLASS_NONE;
        rr_head(b, del ? "update delete" : "update add", rr, !del);
        rdata_text(b, rr);
        ldns_buffer_printf(b, "\n");
    }
    ldns_buffer_printf(b, "send\n");
    char *s = ldns_buffer_status_ok(b) ? ldns_buffer_export2str(b) : NULL;
    ldns_buffer_free(b);
    return s;
}

static ldns_pkt *make_pkt(const struct dnskeys_update *u, const struct dnskeys_tsig_key *key, struct oe_error *err)
{
    ldns_rdf *zone = ldns_rdf_clone(u->zone);
    ldns_pkt *p = zone ? ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, u->prereq, u->update, NULL) : NULL;
    if (p == NULL) {
        ldns_rdf_deep_free(zone);
        oe_error_setc(err, OE_E_NOMEM, "out of memory");
        return NULL;
    }
    ldns_pkt_set_rd(p, false); /* RFC 2136 2.2: the other header bits are zero */
    ldns_pkt_set_random_id(p);
    if (key != NULL) {
        ldns_status st = ldns_pkt_tsig_sign(p, key->name, key->secret, TSIG_FUDGE, key->algorithm, NULL);
        if (st != LDNS_STATUS_OK) {
            oe_error_setc(err, OE_E_CRYPTO, "TSIG signing with key %s failed: %s", key->name,
                          ldns_get_errorstr_by_id(st));
            ldns_pkt_free(p);
            return NULL;
        }
    }
    return p;
}

int dnskeys_update_to_wire(const struct dnskeys_update *u, const struct dnskeys_tsig_key *key, uint8_t **wire,
                           size_t *len, struct oe_error *err)
{
    ldns_pkt *p = make_pkt(u, key, err);
    if (p == NULL)
        return -1;
    ldns_status st = ldns_pkt2wire(wire, p, len);
    ldns_pkt_free(p);
    if (st != LDNS_STATUS_OK) {
        oe_error_setc(err, OE_E_FAILED, "update to wire: %s", ldns_get_errorstr_by_id(st));
        return -1;
    }
    if (*len > 0xffff) {
        free(*wire);
        *wire = NULL;
        oe_error_setc(err, OE_E_LIMIT, "update of %zu octets does not fit one DNS message", *len);
        return -1;
    }
    return 0;
}

static socklen_t sockaddr_of(const struct dnskeys_server *srv, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    uint16_t port = htons(srv->port ? srv->port : 53);
    if (srv->addr.family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = port;
        memcpy(&s4->sin_addr, srv->addr.bytes, 4);
        return sizeof(*s4);
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = port;
    memcpy(&s6->sin6_addr, srv->addr.bytes, 16);
    return sizeof(*s6);
}

/* RFC 8945 5.3: what the response's TSIG says, checked against the request's MAC. */
static int check_tsig(ldns_pkt *resp, const uint8_t *wire, size_t len, const ldns_pkt *req,
                      const struct dnskeys_tsig_key *key, struct dnskeys_update_result *res, struct oe_error *err)
{
    const ldns_rr *t = ldns_pkt_tsig(resp);
    if (t == NULL || ldns_rr_rd_count(t) <= TSIG_RDF_ERROR) {
        if (res->rcode != LDNS_RCODE_NOERROR)
            return 0; /* an unsigned error: its RCODE is all there is to report */
        oe_error_setc(err, OE_E_CRYPTO, "the server's answer is not signed with key %s: ignored", key->name);
        return -1;
    }
    res->tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(t, TSIG_RDF_ERROR));
    if (res->tsig_error != 0)
        return 0; /* RFC 8945 5.3.2: BADSIG and BADKEY answers carry no MAC */
    const ldns_rdf *mac = ldns_rr_rdf(ldns_pkt_tsig(req), TSIG_RDF_MAC);
    if (!ldns_pkt_tsig_verify(resp, wire, len, key->name, key->secret, mac)) {
        oe_error_setc(err, OE_E_CRYPTO, "the TSIG of the server's answer does not verify with key %s: ignored",
                      key->name);
        return -1;
    }
    res->signed_ok = true;
    return 0;
}

int dnskeys_update_send(const struct dnskeys_update *u, const struct dnskeys_server *srv,
                        const struct dnskeys_tsig_key *key, struct dnskeys_update_result *res, struct oe_error *err)
{
    char sbuf[OE_ADDR_STRLEN + 8];
    memset(res, 0, sizeof(*res));
    ldns_pkt *req = make_pkt(u, key, err), *resp = NULL;
    ldns_buffer *q = ldns_buffer_new(u->octets + 512);
    uint8_t *answer = NULL;
    size_t alen = 0;
    int rc = -1;
    if (req == NULL)
        goto done;
    if (q == NULL || ldns_pkt2buffer_wire(q, req) != LDNS_STATUS_OK) {
        oe_error_setc(err, OE_E_NOMEM, "update to wire: out of memory");
        goto done;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sockaddr_of(srv, &ss);
    unsigned ms = srv->timeout_ms ? srv->timeout_ms : DEFAULT_TIMEOUT_MS;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    /* TCP: a batch of RSA keys is far larger than a UDP answer may be (RFC 2136 6.2 allows either) */
    ldns_status st = ldns_tcp_send(&answer, q, &ss, sl, tv, &alen);
    if (st != LDNS_STATUS_OK) {
        oe_error_setc(err, OE_E_SYSTEM, "%s: no answer to the update: %s", server_str(srv, sbuf),
                      ldns_get_errorstr_by_id(st));
        goto done;
    }
    st = ldns_wire2pkt(&resp, answer, alen);
    if (st != LDNS_STATUS_OK) {
        oe_error_setc(err, OE_E_INVALID, "%s: malformed answer to the update: %s", server_str(srv, sbuf),
                      ldns_get_errorstr_by_id(st));
        goto done;
    }
    if (ldns_pkt_id(resp) != ldns_pkt_id(req) || !ldns_pkt_qr(resp) ||
        ldns_pkt_get_opcode(resp) != LDNS_PACKET_UPDATE) {
        oe_error_setc(err, OE_E_INVALID, "%s: the answer is not to our update (id, QR or opcode)",
                      server_str(srv, sbuf));
        goto done;
    }
    res->rcode = ldns_pkt_get_rcode(resp);
    if (key != NULL && check_tsig(resp, answer, alen, req, key, res, err) != 0)
        goto done;
    rc = 0;
done:
    free(answer);
    ldns_buffer_free(q);
    ldns_pkt_free(req);
    ldns_pkt_free(resp);
    return rc;
}
