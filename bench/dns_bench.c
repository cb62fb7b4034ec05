/*
 * DNS lookup benchmark (run by bench/dns_bench.sh inside the DNS lab):
 * lookups per second one at a time from a warm cache, then many lookups in
 * flight at once on cold names. Usage: dns_bench RESOLVER ANCHOR [N]
 */
#include "dnskeys/dnskeys.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct tally {
    long answered, secure, with_keys;
};

static void on_answer(const struct dnskeys_answer *a, void *arg)
{
    struct tally *t = arg;
    if (a == NULL)
        return; /* the resolver is being freed */
    t->answered++;
    t->secure += a->verdict == DNSKEYS_SECURE;
    t->with_keys += a->n > 0 && a->records[0].usable;
}

static int drain(struct dnskeys_resolver *r, struct tally *t, long want)
{
    struct pollfd p = {.fd = dnskeys_resolver_fd(r), .events = POLLIN};
    struct oe_error err;
    double deadline = now() + 60;
    while (t->answered < want && now() < deadline) {
        if (poll(&p, 1, 100) > 0 && dnskeys_resolver_process(r, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return -1;
        }
    }
    return t->answered == want ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: dns_bench RESOLVER ANCHOR [N]\n");
        return 2;
    }
    long n = argc > 3 ? atol(argv[3]) : 2000;
    struct dnskeys_resolver_config cfg = {.forwarders = argv[1], .trust_anchor = argv[2]};
    struct oe_error err;
    struct dnskeys_resolver *r = dnskeys_resolver_new(&cfg, &err);
    if (r == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct oe_addr a;
    oe_addr_parse("192.0.2.7", &a);
    struct tally t = {0};
    /* warm the cache (and the DNSKEY chain) once */
    dnskeys_lookup_addr(r, &a, on_answer, &t, &err);
    if (drain(r, &t, 1) != 0 || t.secure != 1) {
        fprintf(stderr, "dns_bench: the first lookup did not come back secure\n");
        return 1;
    }
    t = (struct tally){0};
    double t0 = now();
    for (long i = 0; i < n; i++) {
        dnskeys_lookup_addr(r, &a, on_answer, &t, &err);
        if (drain(r, &t, i + 1) != 0)
            return 1;
    }
    double warm = now() - t0;
    printf("dns_bench: warm cache, one at a time: %ld lookups (3 queries each) in %.3f s = %.0f lookups/s (%.0f us "
           "each), %ld secure\n",
           n, warm, (double)n / warm, warm * 1e6 / (double)n, t.secure);

    /* cold: distinct names in 2001:db8::/32, all in flight together */
    long inflight = n < 4000 ? n : 4000;
    t = (struct tally){0};
    t0 = now();
    for (long i = 0; i < inflight; i++) {
        oe_addr_parse("2001:db8::", &a);
        a.bytes[12] = (uint8_t)(i >> 24), a.bytes[13] = (uint8_t)(i >> 16);
        a.bytes[14] = (uint8_t)(i >> 8), a.bytes[15] = (uint8_t)i;
        if (i == 7)
            a.bytes[15] = 7; /* one that has a key */
        if (dnskeys_lookup_addr(r, &a, on_answer, &t, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    long peak = (long)dnskeys_resolver_pending(r);
    if (drain(r, &t, inflight) != 0) {
        fprintf(stderr, "dns_bench: only %ld of %ld answered\n", t.answered, inflight);
        return 1;
    }
    double cold = now() - t0;
    printf("dns_bench: cold names, %ld in flight at once: all answered in %.3f s = %.0f lookups/s, %ld secure "
           "(NXDOMAIN proofs included), %ld with keys\n",
           peak, cold, (double)inflight / cold, t.secure, t.with_keys);
    dnskeys_resolver_free(r);
    return 0;
}
