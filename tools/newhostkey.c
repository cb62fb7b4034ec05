/* ipsec newhostkey [--bits N] [--output FILE] */
#include "dnskeys/dnskeys.h"
#include "tools.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

int newhostkey_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"bits", required_argument, 0, 'b'}, {"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
    const char *out = DNSKEYS_DEFAULT_HOSTKEY;
    unsigned long bits = 3072;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'b') {
            bits = strtoul(optarg, &end, 10);
            if (*end || bits < DNSKEYS_MIN_BITS || bits > 8192 || bits % 8) {
                fprintf(stderr, "ipsec newhostkey: --bits %s: must be a multiple of 8 in %d..8192\n", optarg,
                        DNSKEYS_MIN_BITS);
                return 2;
            }
        } else if (c == 'o') {
            out = optarg;
        } else {
            goto usage;
        }
    }
    if (optind != argc)
        goto usage;
    struct dnskeys_pubkey pub;
    struct oe_error err;
    if (dnskeys_hostkey_generate(out, (unsigned)bits, &pub, &err) != 0) {
        fprintf(stderr, "ipsec newhostkey: %s\n", err.msg);
        return 1;
    }
    char id[16];
    dnskeys_key_id(&pub, id);
    printf("wrote a %u-bit RSA host key to %s (keyid %s)\n", pub.bits, out, id);
    dnskeys_key_free(&pub);
    return 0;
usage:
    fprintf(stderr, "usage: ipsec newhostkey [--bits N] [--output FILE]\n");
    return 2;
}
