/* ipsec reload [--ctlsocket PATH]; ipsec rereadkeys [--ctlsocket PATH] */
#include "tools.h"

#include <getopt.h>
#include <stdio.h>

static int ask(int argc, char **argv, const char *verb)
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
    return control_request(ctl, verb);
usage:
    fprintf(stderr, "usage: ipsec %s [--ctlsocket PATH]\n", verb);
    return 2;
}

int reload_main(int argc, char **argv)
{
    return ask(argc, argv, "reload");
}

/* As libreswan's ipsec rereadsecrets: the host key again (a rollover's switch), and the key cache flushed. */
int rereadkeys_main(int argc, char **argv)
{
    return ask(argc, argv, "rereadkeys");
}
