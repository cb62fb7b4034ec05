/*
 * libFuzzer: what a zone's primary answers (the records it holds at a
 * name, untrusted) planned into an update, then printed and put on the
 * wire. Input: a type byte, then records as 2-byte length + rdata.
 */
#include "dnskeys/dnskeys.h"

#include <stdlib.h>

#define MAX_RRS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum dnskeys_rrtype type = data[0] & 1 ? DNSKEYS_TXT : DNSKEYS_IPSECKEY;
    bool remove = data[0] & 2;
    struct dnskeys_rr have[MAX_RRS];
    size_t n = 0, off = 1;
    while (n < MAX_RRS && size - off >= 2) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        have[n].rdata = (uint8_t *)data + off;
        have[n].len = len;
        have[n].ttl = 3600;
        n++;
        off += len;
    }
    struct oe_error err;
    struct dnskeys_update *u = dnskeys_update_new("2.0.192.in-addr.arpa.", &err);
    if (u == NULL)
        return 0;
    /* the first record, if it parses as ours, is what we want (and the key we remove) */
    struct dnskeys_record want;
    bool ours = n > 0 && dnskeys_record_parse(type, have[0].rdata, have[0].len, 0, &want, &err) == 0;
    size_t changes;
    if (dnskeys_update_plan(u, "7.2.0.192.in-addr.arpa.", type, 3600, have + (n > 0), n - (n > 0),
                            remove || !ours ? NULL : have[0].rdata, remove || !ours ? 0 : have[0].len,
                            ours ? &want.key : NULL, &changes, &err) == 0) {
        free(dnskeys_update_to_text(u));
        uint8_t *wire;
        size_t len;
        if (dnskeys_update_to_wire(u, NULL, &wire, &len, &err) == 0)
            free(wire);
    }
    if (ours)
        dnskeys_record_free(&want);
    dnskeys_update_free(u);
    return 0;
}
