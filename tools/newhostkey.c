/*
 * ipsec newhostkey [--bits N] [--output FILE]
 * ipsec newhostkey --rollover [--bits N] [--output FILE]        the next key, beside FILE
 * ipsec newhostkey --rollover --switch [--force] [--output FILE] the next key signs from now
 * ipsec newhostkey --rollover --finish [--output FILE]          the old key is gone
 * The steps of a rollover are in oe-dns(5).
 */
#include "dnskeys/dnskeys.h"
#include "tools.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int roll_step(const char *out, bool do_switch, bool finish, bool force)
{
    struct oe_error err;
    char old[DNSKEYS_PATH_MAX];
    if (finish) {
        int rc = dnskeys_roll_finish(out, &err);
        if (rc < 0) {
            fprintf(stderr, "ipsec newhostkey: %s\n", err.msg);
            return 1;
        }
        printf(rc == 1 ? "no old key beside %s: no rollover to finish\n"
                       : "removed the old key beside %s: the rollover is over; run ipsec publish so that DNS "
                         "has the new key alone\n",
               out);
        return 0;
    }
    (void)do_switch;
    if (dnskeys_roll_switch(out, (int64_t)time(NULL), force, &err) != 0) {
        fprintf(stderr, "ipsec newhostkey: %s\n", err.msg);
        return 1;
    }
    dnskeys_roll_path(out, DNSKEYS_ROLL_OLD, old, &err);
    struct dnskeys_pubkey keys[2];
    size_t n = 0;
    char id[16] = "?";
    if (dnskeys_hostkeys_public(out, keys, &n, &err) == 0 && n > 0)
        dnskeys_key_id(&keys[0], id);
    for (size_t i = 0; i < n; i++)
        dnskeys_key_free(&keys[i]);
    printf("switched: %s is now the next key (keyid %s), the old one is %s\n"
           "tell the agent: ipsec rereadkeys; both stay published until ipsec newhostkey --rollover --finish\n",
           out, id, old);
    return 0;
}

int newhostkey_main(int argc, char **argv)
{
    static const struct option opts[] = {{"bits", required_argument, 0, 'b'},
                                         {"output", required_argument, 0, 'o'},
                                         {"rollover", no_argument, 0, 'r'},
                                         {"switch", no_argument, 0, 's'},
                                         {"finish", no_argument, 0, 'F'},
                                         {"force", no_argument, 0, 'f'},
                                         {0, 0, 0, 0}};
    const char *out = DNSKEYS_DEFAULT_HOSTKEY;
    unsigned long bits = 3072;
    bool rollover = false, do_switch = false, finish = false, force = false;
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
        } else if (c == 'r') {
            rollover = true;
        } else if (c == 's') {
            do_switch = true;
        } else if (c == 'F') {
            finish = true;
        } else if (c == 'f') {
            force = true;
        } else {
            goto usage;
        }
    }
    if (optind != argc || ((do_switch || finish) && !rollover) || (do_switch && finish) || (force && !do_switch))
        goto usage;
    if (do_switch || finish)
        return roll_step(out, do_switch, finish, force);
    struct dnskeys_pubkey pub;
    struct oe_error err;
    char next[DNSKEYS_PATH_MAX];
    if (rollover && dnskeys_roll_path(out, DNSKEYS_ROLL_NEXT, next, &err) != 0) {
        fprintf(stderr, "ipsec newhostkey: %s\n", err.msg);
        return 1;
    }
    int rc = rollover ? dnskeys_roll_new(out, (unsigned)bits, &pub, &err)
                      : dnskeys_hostkey_generate(out, (unsigned)bits, &pub, &err);
    if (rc != 0) {
        fprintf(stderr, "ipsec newhostkey: %s\n", err.msg);
        return 1;
    }
    char id[16];
    dnskeys_key_id(&pub, id);
    printf("wrote a %u-bit RSA host key to %s (keyid %s)\n", pub.bits, rollover ? next : out, id);
    if (rollover)
        printf("the current key still signs; publish both now: ipsec publish (see oe-dns(5))\n");
    dnskeys_key_free(&pub);
    return 0;
usage:
    fprintf(stderr, "usage: ipsec newhostkey [--bits N] [--output FILE]\n"
                    "       ipsec newhostkey --rollover [--bits N] [--output FILE]\n"
                    "       ipsec newhostkey --rollover --switch [--force] [--output FILE]\n"
                    "       ipsec newhostkey --rollover --finish [--output FILE]\n");
    return 2;
}
