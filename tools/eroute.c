/* ipsec eroute [--json] [--ctlsocket PATH] */
#include "tools.h"

#include <getopt.h>
#include <stdio.h>

int eroute_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"ctlsocket", required_argument, 0, 's'}, {0, 0, 0, 0}};
    const char *ctl = DEFAULT_CTLSOCKET;
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = true;
        else if (c == 's')
            ctl = optarg;
        else
            goto usage;
    }
    if (optind != argc)
        goto usage;
    return control_request(ctl, json ? "eroute --json" : "eroute");
usage:
    fprintf(stderr, "usage: ipsec eroute [--json] [--ctlsocket PATH]\n");
    return 2;
}
