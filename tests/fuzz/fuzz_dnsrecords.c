/* libFuzzer: IPSECKEY / TXT / KEY rdata (first byte picks the type). */
#include "dnskeys/dnskeys.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum dnskeys_rrtype types[3] = {DNSKEYS_IPSECKEY, DNSKEYS_TXT, DNSKEYS_KEY};
    if (size < 1)
        return 0;
    enum dnskeys_rrtype t = types[data[0] % 3];
    struct dnskeys_record r;
    struct oe_error err;
    if (dnskeys_record_parse(t, data + 1, size - 1, 1024, &r, &err) == 0) {
        char *zone = dnskeys_rdata_to_zone("x.", 0, t, data + 1, size - 1, &err);
        free(zone);
        if (r.usable) {
            zone = dnskeys_record_to_zone(NULL, 0, &r, &err);
            free(zone);
        }
        dnskeys_record_free(&r);
    }
    /* the same rdata as one answer of a lookup */
    const uint8_t *rd[1] = {data + 1};
    size_t len[1] = {size - 1};
    struct dnskeys_rrset sets[3] = {0};
    sets[data[0] % 3].rdata = rd;
    sets[data[0] % 3].len = len;
    sets[data[0] % 3].n = 1;
    struct dnskeys_answer ans;
    dnskeys_answer_build("x.", sets, 2048, &ans);
    dnskeys_answer_free(&ans);
    return 0;
}
