/*
 * The agent's live state, each a control request:
 *   ipsec eroute | status | trafficstatus | shuntstatus [--json] [--ctlsocket PATH]
 */
#include "tools.h"

#include <getopt.h>
#include <stdio.h>

static int show(int argc, char **argv, const char *what)
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
    char req[64];
    snprintf(req, sizeof(req), "%s%s", what, json ? " --json" : "");
    return control_request(ctl, req);
usage:
    fprintf(stderr, "usage: ipsec %s [--json] [--ctlsocket PATH]\n", what);
    return 2;
}

int eroute_main(int argc, char **argv)
{
    return show(argc, argv, "eroute");
}

int status_main(int argc, char **argv)
{
    return show(argc, argv, "status");
}

int trafficstatus_main(int argc, char **argv)
{
    return show(argc, argv, "trafficstatus");
}

int shuntstatus_main(int argc, char **argv)
{
    return show(argc, argv, "shuntstatus");
}
