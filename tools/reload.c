/* ipsec reload [--ctlsocket PATH] */
#include "tools.h"

#include <getopt.h>
#include <stdio.h>

int reload_main(int argc, char **argv)
{
    static const struct option opts[] = {{"ctlsocket", required_argument, 0, 's'}, {0, 0, 0, 0}};
    const char *ctl = DEFAULT_CTLSOCKET;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 's')
            goto usage;
        ctl = optarg;
    }
    if (optind != argc)
        goto usage;
    return control_request(ctl, "reload");
usage:
    fprintf(stderr, "usage: ipsec reload [--ctlsocket PATH]\n");
    return 2;
}
