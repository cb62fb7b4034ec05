/*
 * libFuzzer: a Configuration payload (RFC 7296 3.15) as a payload chain; what
 * parses is built again and must parse to the same addresses.
 */
#include "oe-agent/ike/ike_msg.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ike_payloads *pl = malloc(sizeof(*pl)), *again = malloc(sizeof(*again));
    struct oe_error err;
    if (pl && again && ike_parse_payloads(IKE_PL_CP, data, size, 0, pl, &err) == 0 && pl->has_cp) {
        struct ike_builder mb = {0};
        ikeb_cp(&mb, &pl->cp);
        if (mb.b.failed || ike_parse_payloads(IKE_PL_CP, mb.b.p, mb.b.len, 0, again, &err) != 0)
            abort();
        if (again->cp.type != pl->cp.type || again->cp.ip4 != pl->cp.ip4 || again->cp.ip6 != pl->cp.ip6 ||
            !oe_addr_eq(&again->cp.addr4, &pl->cp.addr4) || !oe_addr_eq(&again->cp.addr6, &pl->cp.addr6) ||
            (pl->cp.addr6.family && again->cp.prefix6 != pl->cp.prefix6))
            abort();
        wbuf_free(&mb.b);
    }
    free(pl);
    free(again);
    return 0;
}
