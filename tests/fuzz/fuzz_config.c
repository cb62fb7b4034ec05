/* libFuzzer: oe.conf text. */
#include "oe-agent/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct oe_config c;
    struct oe_error err;
    oe_config_defaults(&c);
    oe_config_parse_text(&c, (const char *)data, size, "fuzz", &err);
    return 0;
}
