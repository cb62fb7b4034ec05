/*
 * libFuzzer: one lookup's answer as libunbound hands it over: the IPSECKEY,
 * TXT and KEY rrsets (rdata, lengths, verdicts) that dnskeys_answer_build()
 * turns into one answer. fuzz_dnsrecords takes one record at a time; here
 * many records of each type meet the precedence sort, the choice of type
 * and the verdict rules (a full answer of 50 IPSECKEYs, a TXT gateway with
 * '=' in it or a very long name: CVE-2013-2052 was exactly that field).
 *
 * Input: [min_bits][flags IPSECKEY][flags TXT][flags KEY] then records,
 *   each [type][length, 2 octets big-endian][rdata]; a length past the end
 *   takes what is left.
 *   min_bits: 512 << (octet & 3)
 *   flags:    verdict (octet & 3) % 3 (secure, insecure, bogus), failed 4,
 *             a reason text 8
 *   type:     octet % 3 (IPSECKEY, TXT, KEY); after MAX_PER_TYPE of a type
 *             its further records are skipped
 * Seeds: tests/fuzz/seeds_dnsanswer.py, from the keys in zones/.
 */
#include "dnskeys/dnskeys.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PER_TYPE 64 /* more than the 50 IPSECKEYs of the largest seed */
#define HEADER 4

struct set {
    const uint8_t *rdata[MAX_PER_TYPE];
    size_t len[MAX_PER_TYPE];
    size_t n;
};

/* Bounded strings: the agent logs these with %s. */
static void terminated(const char *s, size_t size)
{
    if (strnlen(s, size) == size)
        abort();
}

/* What the agent relies on: the strings end, usable records come first, no more records than came. */
static void check(const struct dnskeys_answer *a)
{
    terminated(a->owner, sizeof(a->owner));
    terminated(a->why, sizeof(a->why));
    terminated(a->why_bogus, sizeof(a->why_bogus));
    if (a->n > MAX_PER_TYPE || (a->n > 0 && a->records == NULL))
        abort();
    for (size_t i = 0; i < a->n; i++) {
        const struct dnskeys_record *r = &a->records[i];
        terminated(r->gw_name, sizeof(r->gw_name));
        terminated(r->why, sizeof(r->why));
        if (r->type != a->source || (i > 0 && r->usable && !a->records[i - 1].usable))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    static struct set sets[3]; /* static: 3 KB of pointers per run is not the stack's */
    memset(sets, 0, sizeof(sets));
    size_t off = HEADER;
    while (off + 3 <= size) {
        struct set *s = &sets[data[off] % 3];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        if (s->n < MAX_PER_TYPE) {
            /* each record in its own exact allocation: reading one octet past it is an ASan error,
             * as it would be past libunbound's buffer (malloc(0) too: nothing may be read) */
            uint8_t *copy = malloc(len);
            if (copy == NULL)
                break;
            if (len)
                memcpy(copy, data + off, len);
            s->rdata[s->n] = copy;
            s->len[s->n++] = len;
        }
        off += len;
    }
    struct dnskeys_rrset rr[3];
    memset(rr, 0, sizeof(rr));
    for (int t = 0; t < 3; t++) {
        uint8_t f = data[1 + t];
        rr[t].rdata = sets[t].rdata;
        rr[t].len = sets[t].len;
        rr[t].n = sets[t].n;
        rr[t].verdict = (enum dnskeys_verdict)((f & 3) % 3);
        rr[t].failed = f & 4;
        rr[t].why = f & 8 ? "validation failure <x.example. IPSECKEY IN>: signature expired" : NULL;
    }
    struct dnskeys_answer ans;
    dnskeys_answer_build("7.2.0.192.in-addr.arpa.", rr, 512u << (data[0] & 3), &ans);
    check(&ans);
    dnskeys_answer_free(&ans);
    for (int t = 0; t < 3; t++)
        for (size_t i = 0; i < sets[t].n; i++)
            free((void *)sets[t].rdata[i]);
    return 0;
}
