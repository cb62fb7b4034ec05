/* libFuzzer: a rollover stamp (KEY.next.published: "published EPOCH wait SECONDS"). */
#include "dnskeys/dnskeys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t published;
    uint32_t wait_s;
    struct oe_error err;
    if (dnskeys_roll_stamp_parse((const char *)data, size, &published, &wait_s, &err) == 0) {
        /* what is accepted is a time and a wait the switch can add without overflow */
        if (published < 0 || wait_s > 0x7fffffff || size == 0 || data[size - 1] != '\n')
            __builtin_trap();
        (void)dnskeys_roll_wait_left(published, wait_s, 0);
    }
    return 0;
}
