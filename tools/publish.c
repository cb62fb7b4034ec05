/*
 * ipsec publish [--key-file FILE] [--host ADDR | --subnet CIDR] [--gateway ADDR|NAME]
 *               [--txt] [--precedence N] [--ttl N] [--remove] [--dry-run]
 *               [--server ADDR[@PORT]] [--tsig-key FILE] [--zone ZONE] [--batch N]
 *               [--timeout SECONDS] [--config FILE]
 * The host's key into its reverse zone by RFC 2136 dynamic update, signed
 * with TSIG: the records showhostkey prints, sent to the zone's primary.
 * What the primary already has is asked first, so that publishing what is
 * there sends nothing; every update carries the prerequisite that the names
 * are still as seen.
 */
#include "dnskeys/dnskeys.h"
#include "tools.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CONFIG TOOLS_DEFAULT_CONFIG
#define PUBLISH_DEFAULT_TTL 3600
#define PUBLISH_BATCH_NAMES 64 /* names in one update, unless --batch says otherwise */
#define PUBLISH_MAX_BATCH 1024
#define PUBLISH_MAX_TIMEOUT 300

struct publish {
    struct dnskeys_record ipseckey, txt; /* templates sharing one key */
    /* the host's keys: KEY and, during a rollover, KEY.next (published side by side) */
    struct dnskeys_pubkey keys[2];
    size_t nkeys;
    uint32_t old_ttl; /* the longest TTL of our records that lacked the next key, as the server had them */
    bool had_ours;
    bool gw_given, with_txt, remove, dry_run;
    uint32_t ttl;
    unsigned batch_names;
    struct dnskeys_server server;
    struct dnskeys_tsig_key key;
    bool have_key;
    const char *zone_given;
    /* the open batch: one zone's update */
    struct dnskeys_update *u;
    char zone[DNSKEYS_NAME_MAX];
    unsigned names;
    size_t changes;
    /* the zone of the last name's parent: a subnet's names mostly share one */
    char cached_parent[DNSKEYS_NAME_MAX], cached_zone[DNSKEYS_NAME_MAX];
    /* totals for the closing line */
    unsigned long total_names, total_changes, updates;
    bool failed;
};

static int server_parse(const char *spec, struct dnskeys_server *srv)
{
    char buf[OE_ADDR_STRLEN + 8];
    if (strlen(spec) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%s", spec);
    char *at = strrchr(buf, '@');
    srv->port = 53;
    if (at != NULL) {
        char *end;
        unsigned long p = strtoul(at + 1, &end, 10);
        if (at[1] == '\0' || *end != '\0' || p == 0 || p > 65535)
            return -1;
        srv->port = (uint16_t)p;
        *at = '\0';
    }
    return oe_addr_parse(buf, &srv->addr);
}

/* ---- one batch: one zone's update ---- */

/* RFC 2136 2.2 and RFC 8945 5.2: the answers worth a word of advice */
#define RCODE_REFUSED 5
#define RCODE_YXRRSET 7
#define RCODE_NXRRSET 8
#define TSIG_BADSIG 16
#define TSIG_BADKEY 17
#define TSIG_BADTIME 18

static void report_refused(const struct publish *p, const struct dnskeys_update_result *res)
{
    char b1[16], b2[16];
    if (res->tsig_error != 0) {
        const char *why = res->tsig_error == TSIG_BADSIG    ? ": the secret is not the server's"
                          : res->tsig_error == TSIG_BADKEY  ? ": the server does not know this key for this zone"
                          : res->tsig_error == TSIG_BADTIME ? ": the clocks differ by more than the 300 s allowed"
                                                            : "";
        fprintf(stderr, "ipsec publish: zone %s: update refused: %s, TSIG error %s (key %s)%s\n", p->zone,
                dnskeys_rcode_name(res->rcode, b1), dnskeys_rcode_name(res->tsig_error, b2), p->key.name, why);
        return;
    }
    /* a prerequisite failed: someone changed the names between our query and the update */
    const char *why = res->rcode == RCODE_YXRRSET || res->rcode == RCODE_NXRRSET
                          ? ": the names changed since they were read; run again"
                      : res->rcode == RCODE_REFUSED ? ": the server does not let this key update the zone"
                                                    : "";
    fprintf(stderr, "ipsec publish: zone %s: update refused: %s%s\n", p->zone, dnskeys_rcode_name(res->rcode, b1), why);
}

static int flush(struct publish *p)
{
    if (p->u == NULL)
        return 0;
    int rc = 0;
    if (p->changes == 0) {
        /* nothing to send for these names */
    } else if (p->dry_run) {
        char *text = dnskeys_update_to_text(p->u);
        printf("%s", text ? text : "(out of memory)\n");
        free(text);
        p->updates++;
    } else {
        struct dnskeys_update_result res;
        struct oe_error err;
        if (dnskeys_update_send(p->u, &p->server, &p->key, &res, &err) != 0) {
            fprintf(stderr, "ipsec publish: zone %s: %s\n", p->zone, err.msg);
            rc = -1;
        } else if (res.rcode != 0 || res.tsig_error != 0) {
            report_refused(p, &res);
            rc = -1;
        } else {
            printf("zone %s: updated %u name%s, %zu record%s added or deleted (TSIG key %s)\n", p->zone, p->names,
                   p->names == 1 ? "" : "s", p->changes, p->changes == 1 ? "" : "s", p->key.name);
            p->updates++;
        }
    }
    if (rc == 0)
        p->total_changes += p->changes;
    else
        p->failed = true;
    dnskeys_update_free(p->u);
    p->u = NULL;
    p->names = 0;
    p->changes = 0;
    return rc;
}

static int zone_of(struct publish *p, const char *owner, char zone[DNSKEYS_NAME_MAX])
{
    if (p->zone_given != NULL) {
        snprintf(zone, DNSKEYS_NAME_MAX, "%s", p->zone_given);
        return 0;
    }
    const char *parent = strchr(owner, '.');
    parent = parent ? parent + 1 : owner;
    if (p->cached_zone[0] != '\0' && strcmp(parent, p->cached_parent) == 0) {
        memcpy(zone, p->cached_zone, DNSKEYS_NAME_MAX);
        return 0;
    }
    struct oe_error err;
    if (dnskeys_server_zone(&p->server, owner, zone, &err) != 0) {
        fprintf(stderr, "ipsec publish: %s\n", err.msg);
        return -1;
    }
    snprintf(p->cached_parent, sizeof(p->cached_parent), "%s", parent);
    memcpy(p->cached_zone, zone, DNSKEYS_NAME_MAX);
    return 0;
}

/*
 * What the server had matters to a rollover: the records it held without
 * the next key may live in caches for their TTL, and the next key may not
 * sign before that has passed (the stamp written after the update).
 */
static void note_old(struct publish *p, enum dnskeys_rrtype type, const struct dnskeys_rr *have, size_t nhave)
{
    bool next_there = false;
    uint32_t longest = 0;
    for (size_t i = 0; i < nhave; i++) {
        struct dnskeys_record r;
        struct oe_error err;
        if (dnskeys_record_parse(type, have[i].rdata, have[i].len, 0, &r, &err) != 0)
            continue; /* not ours (a TXT of someone else's), or malformed */
        bool mine = false;
        for (size_t k = 0; k < p->nkeys; k++)
            mine |= r.key.rfc3110 && dnskeys_key_eq(&r.key, &p->keys[k]);
        next_there |= p->nkeys > 1 && r.key.rfc3110 && dnskeys_key_eq(&r.key, &p->keys[1]);
        if (mine || r.usable)
            longest = have[i].ttl > longest ? have[i].ttl : longest;
        p->had_ours |= mine;
        dnskeys_record_free(&r);
    }
    if (!next_there && longest > p->old_ttl)
        p->old_ttl = longest;
}

/* One type at one name: what the primary has against what we want (one record per key), into the batch. */
static int plan_type(struct publish *p, const char *owner, const struct dnskeys_record *want, enum dnskeys_rrtype type,
                     size_t *changes)
{
    struct oe_error err;
    struct dnskeys_rr *have = NULL, wants[2] = {{0}};
    size_t nhave = 0, nwant = 0;
    int rc = -1;
    for (size_t k = 0; want != NULL && k < p->nkeys; k++, nwant++) {
        struct dnskeys_record r = *want;
        r.key = p->keys[k];
        if (dnskeys_record_to_rdata(&r, &wants[k].rdata, &wants[k].len, &err) != 0)
            goto done;
    }
    if (dnskeys_server_rrset(&p->server, owner, type, &have, &nhave, &err) != 0)
        goto done;
    note_old(p, type, have, nhave);
    if (want != NULL)
        rc = dnskeys_update_plan_set(p->u, owner, type, p->ttl, have, nhave, wants, nwant, changes, &err);
    else
        rc = dnskeys_update_plan(p->u, owner, type, p->ttl, have, nhave, NULL, 0, &p->ipseckey.key, changes, &err);
done:
    if (rc != 0)
        fprintf(stderr, "ipsec publish: %s %s: %s\n", owner, dnskeys_rrtype_name(type), err.msg);
    dnskeys_rrs_free(have, nhave);
    for (size_t k = 0; k < nwant; k++)
        free(wants[k].rdata);
    return rc;
}

static int publish_one(const struct oe_addr *host, void *arg)
{
    struct publish *p = arg;
    char owner[DNSKEYS_NAME_MAX], zone[DNSKEYS_NAME_MAX];
    struct dnskeys_record ipseckey, txt;
    hostrecord_for(&p->ipseckey, host, p->gw_given, &ipseckey, owner);
    hostrecord_for(&p->txt, host, p->gw_given, &txt, owner);
    if (zone_of(p, owner, zone) != 0)
        return 1;
    if (p->u != NULL && (strcmp(zone, p->zone) != 0 || p->names >= p->batch_names ||
                         dnskeys_update_octets(p->u) >= DNSKEYS_UPDATE_MAX_OCTETS))
        flush(p);
    if (p->u == NULL) {
        struct oe_error err;
        p->u = dnskeys_update_new(zone, &err);
        if (p->u == NULL) {
            fprintf(stderr, "ipsec publish: %s\n", err.msg);
            return 1;
        }
        memcpy(p->zone, zone, sizeof(p->zone));
    }
    size_t c1 = 0, c2 = 0;
    /* a removal takes this key from both types, wherever it was published */
    if (plan_type(p, owner, p->remove ? NULL : &ipseckey, DNSKEYS_IPSECKEY, &c1) != 0 ||
        ((p->with_txt || p->remove) && plan_type(p, owner, p->remove ? NULL : &txt, DNSKEYS_TXT, &c2) != 0))
        return 1;
    if (c1 + c2 == 0)
        printf("%s %s\n", owner,
               p->remove ? "has no record with this key: nothing to remove" : "already published: nothing to change");
    p->names++;
    p->total_names++;
    p->changes += c1 + c2;
    return 0;
}

/*
 * Both keys are published: the next one may sign once the records that
 * lacked it have left every cache, their TTL (and at least the 60 s peers
 * keep keys) from now. Written once: publishing again does not restart it.
 */
static int stamp_rollover(struct publish *p, const char *keyfile)
{
    struct oe_error err;
    int64_t published;
    uint32_t wait_s;
    int had = dnskeys_roll_stamp_read(keyfile, &published, &wait_s, &err);
    int64_t now = (int64_t)time(NULL);
    if (had != 0 || p->total_changes > 0) {
        published = now;
        uint32_t ttl = p->old_ttl;
        if (p->total_changes == 0) /* both were there, since we do not know when: their TTL from now */
            ttl = p->ttl;
        wait_s = p->had_ours || p->total_changes == 0 ? (ttl > DNSKEYS_CACHE_MIN_TTL ? ttl : DNSKEYS_CACHE_MIN_TTL) : 0;
        if (dnskeys_roll_stamp_write(keyfile, published, wait_s, &err) != 0) {
            fprintf(stderr, "ipsec publish: %s\n", err.msg);
            return 1;
        }
    }
    int64_t left = dnskeys_roll_wait_left(published, wait_s, now);
    time_t at = (time_t)(published + wait_s);
    char when[64];
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&at));
    printf("rollover: the next key may sign from %s (%lld s from now: the old records' TTL %u s); then run "
           "ipsec newhostkey --rollover --switch\n",
           when, (long long)left, wait_s);
    return 0;
}

static int number(const char *opt, const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    *out = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || *s == '-' || *out < min || *out > max) {
        fprintf(stderr, "ipsec publish: --%s \"%s\": want %lu..%lu\n", opt, s, min, max);
        return -1;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: ipsec publish [--key-file FILE] --host ADDR | --subnet CIDR --gateway ADDR|NAME\n"
                    "                     [--gateway ADDR|NAME] [--txt] [--precedence N] [--ttl N]\n"
                    "                     [--remove] [--dry-run] [--server ADDR[@PORT]] [--tsig-key FILE]\n"
                    "                     [--zone ZONE] [--batch N] [--timeout SECONDS] [--config FILE]\n");
}

int publish_main(int argc, char **argv)
{
    static const struct option opts[] = {{"key-file", required_argument, 0, 'f'},
                                         {"host", required_argument, 0, 'h'},
                                         {"subnet", required_argument, 0, 's'},
                                         {"gateway", required_argument, 0, 'g'},
                                         {"txt", no_argument, 0, 't'},
                                         {"precedence", required_argument, 0, 'p'},
                                         {"ttl", required_argument, 0, 'T'},
                                         {"remove", no_argument, 0, 'r'},
                                         {"dry-run", no_argument, 0, 'n'},
                                         {"server", required_argument, 0, 'S'},
                                         {"tsig-key", required_argument, 0, 'k'},
                                         {"zone", required_argument, 0, 'z'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"timeout", required_argument, 0, 'w'},
                                         {"config", required_argument, 0, 'c'},
                                         {0, 0, 0, 0}};
    static struct publish p; /* holds the TSIG secret: wiped before returning */
    const char *keyfile = DNSKEYS_DEFAULT_HOSTKEY, *host = NULL, *subnet = NULL, *gw = NULL, *config = NULL;
    char server[OE_ADDR_STRLEN + 8] = "", tsigfile[4096] = "";
    unsigned long v;
    int c;
    memset(&p, 0, sizeof(p));
    p.ipseckey.precedence = 10;
    p.ttl = PUBLISH_DEFAULT_TTL;
    p.batch_names = PUBLISH_BATCH_NAMES;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'f': keyfile = optarg; break;
        case 'h': host = optarg; break;
        case 's': subnet = optarg; break;
        case 'g': gw = optarg; break;
        case 't': p.with_txt = true; break;
        case 'r': p.remove = true; break;
        case 'n': p.dry_run = true; break;
        case 'z': p.zone_given = optarg; break;
        case 'c': config = optarg; break;
        case 'S':
        case 'k':
            if (strlen(optarg) >= (c == 'S' ? sizeof(server) : sizeof(tsigfile)) || *optarg == '\0') {
                fprintf(stderr, "ipsec publish: --%s: empty or too long\n", c == 'S' ? "server" : "tsig-key");
                return 2;
            }
            snprintf(c == 'S' ? server : tsigfile, c == 'S' ? sizeof(server) : sizeof(tsigfile), "%s", optarg);
            break;
        case 'p':
            if (number("precedence", optarg, 0, 255, &v) != 0)
                return 2;
            p.ipseckey.precedence = (unsigned)v;
            break;
        case 'T':
            if (number("ttl", optarg, 0, 0x7fffffff, &v) != 0)
                return 2;
            p.ttl = (uint32_t)v;
            break;
        case 'b':
            if (number("batch", optarg, 1, PUBLISH_MAX_BATCH, &v) != 0)
                return 2;
            p.batch_names = (unsigned)v;
            break;
        case 'w':
            if (number("timeout", optarg, 1, PUBLISH_MAX_TIMEOUT, &v) != 0)
                return 2;
            p.server.timeout_ms = (unsigned)v * 1000;
            break;
        default: usage(); return 2;
        }
    }
    if (optind != argc || (host == NULL) == (subnet == NULL)) {
        usage();
        return 2;
    }
    struct oe_addr haddr;
    struct oe_prefix net;
    struct oe_error err;
    if (host && oe_addr_parse(host, &haddr) != 0) {
        fprintf(stderr, "ipsec publish: --host \"%s\" is not an IP address\n", host);
        return 2;
    }
    if (subnet && oe_prefix_parse(subnet, &net, &err) != 0) {
        fprintf(stderr, "ipsec publish: --subnet: %s\n", err.msg);
        return 2;
    }
    if (subnet && !gw) {
        fprintf(stderr, "ipsec publish: --subnet needs --gateway (the host that answers IKE for it)\n");
        return 2;
    }
    p.gw_given = gw != NULL;
    if (gw && hostrecord_set_gateway(&p.ipseckey, gw) != 0) {
        fprintf(stderr, "ipsec publish: --gateway \"%s\" is not an address or a name\n", gw);
        return 2;
    }
    struct tools_conf_key conf[] = {{"publish-server", server, sizeof(server)},
                                    {"publish-tsig-key", tsigfile, sizeof(tsigfile)}};
    if (tools_config_read(config ? config : DEFAULT_CONFIG, config != NULL, "publish", conf, 2) != 0)
        return 2;
    if (server[0] == '\0' || server_parse(server, &p.server) != 0) {
        fprintf(stderr,
                server[0] ? "ipsec publish: server \"%s\" is not ADDR[@PORT]\n"
                          : "ipsec publish: no server%s: --server ADDR or publish-server in oe.conf\n",
                server);
        return 2;
    }
    if (tsigfile[0] == '\0' && !p.dry_run) {
        fprintf(stderr, "ipsec publish: no TSIG key: --tsig-key FILE or publish-tsig-key in oe.conf\n");
        return 2;
    }
    if (tsigfile[0] != '\0') {
        if (dnskeys_tsig_key_load(tsigfile, &p.key, &err) != 0) {
            fprintf(stderr, "ipsec publish: TSIG key: %s\n", err.msg);
            return 1;
        }
        p.have_key = true;
    }
    if (dnskeys_hostkeys_public(keyfile, p.keys, &p.nkeys, &err) != 0) {
        fprintf(stderr, "ipsec publish: %s\n", err.msg);
        dnskeys_tsig_key_wipe(&p.key);
        return 1;
    }
    if (p.nkeys > 1 && !p.remove) {
        char id0[16], id1[16];
        dnskeys_key_id(&p.keys[0], id0);
        dnskeys_key_id(&p.keys[1], id1);
        printf("rollover: publishing the current key (keyid %s) and the next one (keyid %s)\n", id0, id1);
    }
    p.ipseckey.type = DNSKEYS_IPSECKEY;
    int rc = 0;
    /* a removal takes each of the host's keys away in turn; a publish sends them all at once */
    for (size_t k = 0; k < (p.remove ? p.nkeys : 1) && rc == 0; k++) {
        p.ipseckey.key = p.keys[k];
        p.txt = p.ipseckey; /* the same gateway, precedence and key, as FreeS/WAN's TXT */
        p.txt.type = DNSKEYS_TXT;
        rc = subnet ? hostrecord_subnet_each(&net, "publish", publish_one, &p) : publish_one(&haddr, &p);
        if (flush(&p) != 0 || rc != 0)
            p.failed = true;
    }
    if (!p.failed && !p.remove && !p.dry_run && p.nkeys > 1)
        rc = stamp_rollover(&p, keyfile);
    if (!p.failed) {
        if (p.total_changes == 0)
            printf("nothing changed: %lu name%s %s\n", p.total_names, p.total_names == 1 ? "" : "s",
                   p.remove ? "without a record of this key" : "already as wanted");
        else if (p.dry_run)
            printf("dry run: %lu update%s not sent\n", p.updates, p.updates == 1 ? "" : "s");
    }
    for (size_t k = 0; k < p.nkeys; k++)
        dnskeys_key_free(&p.keys[k]);
    dnskeys_tsig_key_wipe(&p.key);
    return rc == 2 ? 2 : p.failed ? 1 : 0;
}
