/* libFuzzer: a TSIG key file (BIND's key "NAME" { algorithm ...; secret "..."; };). */
#include "dnskeys/dnskeys.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dnskeys_tsig_key k;
    struct oe_error err;
    if (dnskeys_tsig_key_parse((const char *)data, size, "fuzz", &k, &err) == 0) {
        /* what the parser accepts is what ldns is given: a name, an algorithm, base64 */
        if (strlen(k.name) == 0 || k.name[strlen(k.name) - 1] != '.' || k.secret_len == 0 ||
            k.secret_len > DNSKEYS_TSIG_SECRET_MAX)
            __builtin_trap();
        dnskeys_tsig_key_wipe(&k);
    }
    return 0;
}
