/*
 * ipsec verify --host NAME|ADDR [--resolver ADDR[@PORT]] [--trust-anchor FILE]
 *              [--timeout SECONDS] [--json]
 * ipsec verify [--config FILE] [--key-file FILE] ...: this machine (verify_local.c)
 * One line per check, [OK] or [FAILED]; exit 1 when any check failed.
 * ADDR: the keys in its reverse name (what an initiator looks up).
 * NAME: the keys at that name (what a responder looks up for an FQDN ID).
 */
#include "tools.h"
#include "dnskeys/dnskeys.h"

#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SYSTEM_ANCHOR "/usr/share/dns/root.key"

static void add(struct verify_host *r, const char *name, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(struct verify_host *r, const char *name, const char *status, const char *fmt, ...)
{
    if (r->n == VERIFY_HOST_CHECKS)
        return;
    struct verify_check *c = &r->checks[r->n++];
    va_list ap;
    c->name = name;
    c->status = status;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);
    if (strcmp(status, "FAILED") == 0)
        r->failed = true;
}

static void describe(const struct dnskeys_record *rec, char *buf, size_t len)
{
    char gw[OE_ADDR_STRLEN], id[16];
    const char *g = rec->gw_type == DNSKEYS_GW_NONE   ? "none"
                    : rec->gw_type == DNSKEYS_GW_NAME ? rec->gw_name
                                                      : oe_addr_str(&rec->gw_addr, gw);
    if (!rec->usable) {
        snprintf(buf, len, "precedence %u: %s", rec->precedence, rec->why);
        return;
    }
    dnskeys_key_id(&rec->key, id);
    snprintf(buf, len, "precedence %u, gateway %s, RSA %u bits, keyid %s", rec->precedence, g, rec->key.bits, id);
}

/* Per type: what came back. Only the chosen type's records are kept in the answer. */
static void check_type(struct verify_host *r, int t, const char *name)
{
    static const enum dnskeys_rrtype types[3] = {DNSKEYS_IPSECKEY, DNSKEYS_TXT, DNSKEYS_KEY};
    const struct dnskeys_answer *a = &r->ans;
    if (a->counts[t] == 0) {
        add(r, name, "NONE", "no record");
        return;
    }
    if (a->source != types[t]) {
        add(r, name, "OK", "%zu record(s), not used: an earlier type has keys", a->counts[t]);
        return;
    }
    size_t usable = 0;
    for (size_t i = 0; i < a->n; i++)
        usable += a->records[i].usable;
    char first[600];
    describe(&a->records[0], first, sizeof(first));
    if (usable == 0)
        add(r, name, "FAILED", "%zu record(s), none usable: %s", a->n, first);
    else
        add(r, name, "OK", "%zu usable of %zu; first: %s", usable, a->n, first);
}

static void on_answer(const struct dnskeys_answer *a, void *arg)
{
    struct verify_host *r = arg;
    if (a == NULL)
        return; /* the resolver is being freed */
    r->done = true;
    r->ans = *a;
    /* keep the records past the callback: take a copy */
    r->ans.records = a->n ? calloc(a->n, sizeof(*a->records)) : NULL;
    for (size_t i = 0; i < a->n && r->ans.records; i++) {
        r->ans.records[i] = a->records[i];
        if (a->records[i].key.len)
            dnskeys_key_copy(&a->records[i].key, &r->ans.records[i].key);
    }
    if (a->n && r->ans.records == NULL)
        r->ans.n = 0;
}

static void on_gateway(const struct dnskeys_addr_answer *a, void *arg)
{
    struct verify_host *r = arg;
    if (a == NULL)
        return;
    r->gw = *a;
    r->gw_done = true;
}

static void evaluate_gateway(struct verify_host *r)
{
    char addr[OE_ADDR_STRLEN];
    const struct dnskeys_addr_answer *g = &r->gw;
    if (!r->gw_done)
        add(r, "gateway address", "FAILED", "%s: no answer", r->ans.records[0].gw_name);
    else if (g->verdict == DNSKEYS_BOGUS)
        add(r, "gateway address", "FAILED", "%s: bogus: %s", g->name, g->why);
    else if (g->failed || g->n == 0)
        add(r, "gateway address", "FAILED", "%s: %s", g->name, g->why);
    else
        add(r, "gateway address", g->verdict == DNSKEYS_SECURE ? "OK" : "FAILED", "%s is %s (%s)", g->name,
            oe_addr_str(&g->addrs[0], addr), dnskeys_verdict_name(g->verdict));
}

/* What DNS publishes is this host's own key: a usable record carries it. */
static size_t published_at(const struct verify_host *r, const struct dnskeys_pubkey *k)
{
    for (size_t i = 0; k && i < r->ans.n; i++)
        if (r->ans.records[i].usable && dnskeys_key_eq(&r->ans.records[i].key, k))
            return i + 1;
    return 0;
}

/* During a rollover either key is ours: both must be published before the next one signs. */
static void evaluate_next(struct verify_host *r, size_t cur_at)
{
    char next[16];
    dnskeys_key_id(r->own_next, next);
    size_t at = published_at(r, r->own_next);
    if (at && cur_at)
        add(r, "next host key", "OK", "keyid %s, in record %zu of %zu: both keys published (rollover)", next, at,
            r->ans.n);
    else if (at)
        add(r, "next host key", "WARN", "keyid %s is published, the current key is not", next);
    else
        add(r, "next host key", "WARN", "keyid %s is not published yet: ipsec publish, then wait the old TTL", next);
}

static void evaluate_own(struct verify_host *r)
{
    char mine[16], theirs[16];
    dnskeys_key_id(r->own, mine);
    size_t at = published_at(r, r->own);
    if (r->own_next)
        evaluate_next(r, at);
    if (at) {
        add(r, "this host's key", "OK", "keyid %s, in record %zu of %zu", mine, at, r->ans.n);
        return;
    }
    if (r->ans.n > 0 && r->ans.records[0].usable) {
        dnskeys_key_id(&r->ans.records[0].key, theirs);
        add(r, "this host's key", "FAILED", "DNS publishes keyid %s, this host's is %s: peers will not authenticate us",
            theirs, mine);
    } else {
        add(r, "this host's key", "FAILED", "keyid %s is not published here", mine);
    }
}

static void evaluate(struct verify_host *r)
{
    const struct dnskeys_answer *a = &r->ans;
    if (a->failed) {
        add(r, "DNS answer", "FAILED", "no answer: %s", a->why);
        return;
    }
    check_type(r, 0, "IPSECKEY records");
    check_type(r, 1, "TXT X-IPsec-Server records");
    check_type(r, 2, "KEY records");
    bool usable = a->n > 0 && a->records[0].usable;
    if (usable)
        add(r, "usable key", "OK", "from %s", dnskeys_rrtype_name(a->source));
    else
        add(r, "usable key", "FAILED", "%s", a->n ? "records found, none usable" : "no IPSECKEY, TXT or KEY record");
    if (r->gw_asked)
        evaluate_gateway(r);
    if (r->own != NULL)
        evaluate_own(r);
    if (a->verdict == DNSKEYS_SECURE)
        add(r, "DNSSEC", "OK", "secure");
    else if (a->verdict == DNSKEYS_BOGUS)
        add(r, "DNSSEC", "FAILED", "bogus: %s", a->why_bogus);
    else
        add(r, "DNSSEC", "FAILED", "insecure: no chain of trust to the trust anchor");
}

static void print_text(const struct verify_host *r, const char *host)
{
    printf("Checking keys for %s at %s\n", host, r->owner);
    for (int i = 0; i < r->n; i++) {
        const struct verify_check *c = &r->checks[i];
        char st[16];
        snprintf(st, sizeof(st), "[%s]", c->status);
        printf("  %-30s %-9s %s\n", c->name, st, c->detail);
    }
}

static void print_json(const struct verify_host *r, const char *host)
{
    struct oe_buf b = {0};
    oe_buf_printf(&b, "{\"host\": ");
    oe_buf_json_str(&b, host);
    oe_buf_printf(&b, ", \"owner\": ");
    oe_buf_json_str(&b, r->owner);
    oe_buf_printf(&b, ", \"dnssec\": \"%s\", \"ok\": %s, \"checks\": [",
                  r->done ? dnskeys_verdict_name(r->ans.verdict) : "none", r->failed ? "false" : "true");
    for (int i = 0; i < r->n; i++) {
        oe_buf_printf(&b, "%s{\"check\": ", i ? ", " : "");
        oe_buf_json_str(&b, r->checks[i].name);
        oe_buf_printf(&b, ", \"status\": \"%s\", \"detail\": ", r->checks[i].status);
        oe_buf_json_str(&b, r->checks[i].detail);
        oe_buf_printf(&b, "}");
    }
    oe_buf_printf(&b, "]}\n");
    fwrite(b.p, 1, b.len, stdout);
    oe_buf_free(&b);
}

int verify_host_run(struct dnskeys_resolver *res, const char *host, int timeout, const struct dnskeys_pubkey *own,
                    const struct dnskeys_pubkey *own_next, struct verify_host *r, struct oe_error *err)
{
    memset(r, 0, sizeof(*r));
    r->own = own;
    r->own_next = own ? own_next : NULL;
    struct oe_addr addr;
    int rc;
    if (oe_addr_parse(host, &addr) == 0) {
        dnskeys_reverse_name(&addr, r->owner);
        rc = dnskeys_lookup_addr(res, &addr, on_answer, r, err);
    } else {
        snprintf(r->owner, sizeof(r->owner), "%s%s", host, host[strlen(host) - 1] == '.' ? "" : ".");
        rc = dnskeys_lookup_name(res, r->owner, on_answer, r, err);
    }
    if (rc != 0)
        return -1;
    time_t deadline = time(NULL) + timeout;
    struct pollfd pfd = {.fd = dnskeys_resolver_fd(res), .events = POLLIN};
    while (!r->done && time(NULL) < deadline) {
        if (poll(&pfd, 1, 200) > 0 && dnskeys_resolver_process(res, err) != 0)
            break;
    }
    /* the key's record names its gateway by name: that name must resolve too */
    if (r->done && r->ans.n > 0 && r->ans.records[0].usable && r->ans.records[0].gw_type == DNSKEYS_GW_NAME) {
        int family = oe_addr_parse(host, &addr) == 0 ? addr.family : AF_INET;
        r->gw_asked = dnskeys_resolve_name(res, r->ans.records[0].gw_name, family, on_gateway, r, err) == 0;
        while (r->gw_asked && !r->gw_done && time(NULL) < deadline) {
            if (poll(&pfd, 1, 200) > 0 && dnskeys_resolver_process(res, err) != 0)
                break;
        }
    }
    if (!r->done)
        add(r, "DNS answer", "FAILED", "no answer within %d s", timeout);
    else
        evaluate(r);
    return 0;
}

void verify_host_free(struct verify_host *r)
{
    dnskeys_answer_free(&r->ans);
}

int verify_main(int argc, char **argv)
{
    static const struct option opts[] = {{"host", required_argument, 0, 'h'},
                                         {"resolver", required_argument, 0, 'r'},
                                         {"trust-anchor", required_argument, 0, 't'},
                                         {"timeout", required_argument, 0, 'T'},
                                         {"json", no_argument, 0, 'j'},
                                         {"config", required_argument, 0, 'c'},
                                         {"key-file", required_argument, 0, 'k'},
                                         {0, 0, 0, 0}};
    const char *host = NULL, *resolver = NULL, *anchor = NULL, *config = NULL, *key_file = NULL;
    bool json = false;
    int timeout = 15, c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h': host = optarg; break;
        case 'r': resolver = optarg; break;
        case 't': anchor = optarg; break;
        case 'j': json = true; break;
        case 'c': config = optarg; break;
        case 'k': key_file = optarg; break;
        case 'T':
            timeout = atoi(optarg);
            if (timeout <= 0 || timeout > 300) {
                fprintf(stderr, "ipsec verify: --timeout must be 1..300 seconds\n");
                return 2;
            }
            break;
        default: goto usage;
        }
    }
    if (optind != argc || (host != NULL && (config != NULL || key_file != NULL)))
        goto usage;
    if (host == NULL) {
        struct verify_opts o = {config, resolver, anchor, key_file, timeout, json};
        return verify_local(&o);
    }
    if (anchor == NULL && access(SYSTEM_ANCHOR, R_OK) == 0)
        anchor = SYSTEM_ANCHOR;
    struct dnskeys_resolver_config cfg = {
        .trust_anchor = anchor, .forwarders = resolver, .timeout_ms = (unsigned)timeout * 1000};
    struct oe_error err;
    struct dnskeys_resolver *res = dnskeys_resolver_new(&cfg, &err);
    if (res == NULL) {
        fprintf(stderr, "ipsec verify: %s\n", err.msg);
        return 2;
    }
    struct verify_host r;
    int rc = verify_host_run(res, host, timeout, NULL, NULL, &r, &err);
    dnskeys_resolver_free(res);
    if (rc != 0) {
        fprintf(stderr, "ipsec verify: %s\n", err.msg);
        return 2;
    }
    if (json)
        print_json(&r, host);
    else
        print_text(&r, host);
    verify_host_free(&r);
    return r.failed ? 1 : 0;
usage:
    fprintf(stderr,
            "usage: ipsec verify [--host NAME|ADDR | --config FILE] [--key-file FILE]\n"
            "                    [--resolver ADDR[@PORT]] [--trust-anchor FILE] [--timeout SECONDS] [--json]\n");
    return 2;
}
