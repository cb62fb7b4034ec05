/* libFuzzer: the JSON of `nft -j list ruleset`, and every flow ipsec verify asks of it. */
#include "tools/tools.h"

#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oe_error err;
    struct fw_ruleset *rs = fw_ruleset_parse((const char *)data, size, &err);
    if (rs == NULL)
        return 0;
    static const struct fw_flow flows[] = {
        {AF_INET, true, 17, 500, 0, 0, false},  {AF_INET6, true, 17, 4500, 0, 0, false},
        {AF_INET, true, 50, 0, 0, 0, false},    {AF_INET6, false, 50, 0, 0, 0, false},
        {AF_INET, false, 17, 500, 0, 0, false}, {AF_INET, true, 1, 0, 3, 4, true},
    };
    for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++) {
        struct fw_verdict v;
        fw_ruleset_eval(rs, &flows[i], &v);
        if (v.status > FW_UNKNOWN || memchr(v.why, '\0', sizeof(v.why)) == NULL || v.why[0] == '\0')
            __builtin_trap();
    }
    fw_ruleset_free(rs);
    return 0;
}
