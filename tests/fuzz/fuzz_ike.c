/* libFuzzer: an IKEv2 datagram: header and payload chain, then a responder core. */
#include "oe-agent/ike/ike.h"
#include "oe-agent/ike/ike_msg.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ike_core *core;
    static struct ike_actions acts;
    struct ike_header h;
    struct oe_error err;
    if (core == NULL) {
        struct ike_config cfg;
        ike_config_defaults(&cfg);
        core = ike_core_new(&cfg, &err);
    }
    if (ike_parse_header(data, size, &h, &err) == 0) {
        struct ike_payloads *pl = malloc(sizeof(*pl));
        ike_parse_payloads(h.next, data + IKE_HDR_LEN, size - IKE_HDR_LEN, IKE_HDR_LEN, pl, &err);
        free(pl);
    }
    /* the whole core as a responder sees it */
    struct ike_endpoint local = {.addr = {.family = 2, .bytes = {192, 0, 2, 1}}, .port = 500};
    struct ike_endpoint remote = {.addr = {.family = 2, .bytes = {192, 0, 2, 2}}, .port = 500};
    ike_receive(core, &local, &remote, data, size, 0, &acts);
    ike_actions_clear(&acts);
    /* keep the SA table bounded across runs */
    if (ike_sa_count(core) > 100) {
        ike_core_free(core);
        core = NULL;
    }
    return 0;
}
