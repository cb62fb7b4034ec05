/*
 * ipsec showhostkey [--key-file FILE] --txt | --ipseckey | --key | --left | --right
 *                   [--gateway ADDR|NAME] [--precedence N] [--ttl N]
 *                   [--host ADDR | --subnet CIDR]
 * Records ready for a zone file: one per host, or one per address of a
 * subnet naming its gateway (what an ISP publishes for a customer's net).
 */
#include "dnskeys/dnskeys.h"
#include "tools.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum what { NONE, TXT, IPSECKEY, KEY, LEFT, RIGHT };

struct show {
    enum what what;
    struct dnskeys_record rec;     /* type, gateway, precedence, key */
    struct dnskeys_pubkey keys[2]; /* the current key and, in a rollover, the next: a record each */
    size_t nkeys;
    uint32_t ttl;
    bool gw_given;
};

static int print_one(struct show *s, const struct oe_addr *host)
{
    for (size_t k = 0; k < s->nkeys; k++) {
        char owner[DNSKEYS_NAME_MAX];
        struct dnskeys_record r;
        s->rec.key = s->keys[k];
        hostrecord_for(&s->rec, host, s->gw_given, &r, owner);
        struct oe_error err;
        char *line = dnskeys_record_to_zone(host ? owner : NULL, s->ttl, &r, &err);
        if (line == NULL) {
            fprintf(stderr, "ipsec showhostkey: %s\n", err.msg);
            return 1;
        }
        printf("%s\n", line);
        free(line);
    }
    return 0;
}

static int print_subnet_one(const struct oe_addr *a, void *arg)
{
    return print_one(arg, a);
}

int showhostkey_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key-file", required_argument, 0, 'f'}, {"txt", no_argument, 0, 't'},
        {"ipseckey", no_argument, 0, 'i'},       {"key", no_argument, 0, 'k'},
        {"left", no_argument, 0, 'l'},           {"right", no_argument, 0, 'r'},
        {"gateway", required_argument, 0, 'g'},  {"precedence", required_argument, 0, 'p'},
        {"host", required_argument, 0, 'h'},     {"subnet", required_argument, 0, 's'},
        {"ttl", required_argument, 0, 'T'},      {0, 0, 0, 0}};
    const char *keyfile = DNSKEYS_DEFAULT_HOSTKEY, *host = NULL, *subnet = NULL, *gw = NULL;
    struct show s = {.what = NONE};
    s.rec.precedence = 10;
    int c;
    char *end;
    unsigned long v;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        enum what w = c == 't' ? TXT : c == 'i' ? IPSECKEY : c == 'k' ? KEY : c == 'l' ? LEFT : c == 'r' ? RIGHT : NONE;
        if (w != NONE) {
            if (s.what != NONE)
                goto usage;
            s.what = w;
            continue;
        }
        switch (c) {
        case 'f': keyfile = optarg; break;
        case 'g': gw = optarg; break;
        case 'h': host = optarg; break;
        case 's': subnet = optarg; break;
        case 'p':
        case 'T':
            v = strtoul(optarg, &end, 10);
            if (*end || *optarg == '\0' || v > (c == 'p' ? 255ul : 0x7ffffffful)) {
                fprintf(stderr, "ipsec showhostkey: bad --%s \"%s\"\n", c == 'p' ? "precedence" : "ttl", optarg);
                return 2;
            }
            if (c == 'p')
                s.rec.precedence = (unsigned)v;
            else
                s.ttl = (uint32_t)v;
            break;
        default: goto usage;
        }
    }
    if (optind != argc || s.what == NONE || (host && subnet))
        goto usage;
    struct oe_addr haddr;
    struct oe_prefix net;
    struct oe_error err;
    if (host && oe_addr_parse(host, &haddr) != 0) {
        fprintf(stderr, "ipsec showhostkey: --host \"%s\" is not an IP address\n", host);
        return 2;
    }
    if (subnet && oe_prefix_parse(subnet, &net, &err) != 0) {
        fprintf(stderr, "ipsec showhostkey: --subnet: %s\n", err.msg);
        return 2;
    }
    if (subnet && !gw) {
        fprintf(stderr, "ipsec showhostkey: --subnet needs --gateway (the host that answers IKE for it)\n");
        return 2;
    }
    s.gw_given = gw != NULL;
    if (gw && hostrecord_set_gateway(&s.rec, gw) != 0) {
        fprintf(stderr, "ipsec showhostkey: --gateway \"%s\" is not an address or a name\n", gw);
        return 2;
    }
    if (dnskeys_hostkeys_public(keyfile, s.keys, &s.nkeys, &err) != 0) {
        fprintf(stderr, "ipsec showhostkey: %s\n", err.msg);
        return 1;
    }
    s.rec.key = s.keys[0];
    int rc = 0;
    if (s.nkeys > 1 && s.what != LEFT && s.what != RIGHT)
        fprintf(stderr, "ipsec showhostkey: a rollover is under way: the current key's record, then the next's\n");
    if (s.what == LEFT || s.what == RIGHT) {
        char *k = dnskeys_key_to_text(&s.rec.key, true); /* the key that signs: the current one */
        printf("\t%srsasigkey=%s\n", s.what == LEFT ? "left" : "right", k ? k : "");
        rc = k ? 0 : 1;
        free(k);
    } else {
        s.rec.type = s.what == TXT ? DNSKEYS_TXT : s.what == KEY ? DNSKEYS_KEY : DNSKEYS_IPSECKEY;
        if (s.what == TXT && !host && !subnet && !gw) {
            fprintf(stderr, "ipsec showhostkey: --txt needs --host or --gateway (the record names the gateway)\n");
            rc = 2;
        } else if (subnet) {
            rc = hostrecord_subnet_each(&net, "showhostkey", print_subnet_one, &s);
        } else {
            rc = print_one(&s, host ? &haddr : NULL);
        }
    }
    for (size_t k = 0; k < s.nkeys; k++)
        dnskeys_key_free(&s.keys[k]);
    return rc;
usage:
    fprintf(stderr, "usage: ipsec showhostkey [--key-file FILE] --txt | --ipseckey | --key | --left | --right\n"
                    "                         [--gateway ADDR|NAME] [--precedence N] [--ttl N]\n"
                    "                         [--host ADDR | --subnet CIDR]\n");
    return 2;
}
