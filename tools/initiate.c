/*
 * ipsec initiate ADDR [--from LOCAL] [--wait SECONDS] [--ctlsocket PATH]:
 * negotiate with ADDR now, before its first packet. With --wait, return
 * once the tunnel is up (0), a shunt says it will not be (1), or the time
 * is up (3).
 */
#include "tools.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INITIATE_POLL_MS 20
#define INITIATE_MAX_WAIT 300

int initiate_main(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, 0, 'f'},
                                         {"wait", required_argument, 0, 'w'},
                                         {"ctlsocket", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    const char *ctl = DEFAULT_CTLSOCKET, *from = NULL;
    double wait = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        if (c == 'f') {
            from = optarg;
        } else if (c == 's') {
            ctl = optarg;
        } else if (c == 'w') {
            wait = strtod(optarg, &end);
            if (*end != '\0' || !(wait >= 0 && wait <= INITIATE_MAX_WAIT)) {
                fprintf(stderr, "ipsec initiate: --wait \"%s\": seconds from 0 to %d\n", optarg, INITIATE_MAX_WAIT);
                return 2;
            }
        } else {
            goto usage;
        }
    }
    if (optind + 1 != argc)
        goto usage;
    char req[160], reply[1024];
    if (snprintf(req, sizeof(req), "initiate %s%s%s", argv[optind], from ? " " : "", from ? from : "") >=
        (int)sizeof(req)) {
        fprintf(stderr, "ipsec initiate: address too long\n");
        return 2;
    }
    uint64_t until = oe_monotonic_ms() + (uint64_t)(wait * 1000);
    for (;;) {
        int rc = control_ask(ctl, req, reply, sizeof(reply));
        if (rc != 0) {
            fputs(reply, stderr);
            return rc;
        }
        /* "LABEL: hold", "LABEL: already tunnel", "... pass shunt" */
        bool up = strstr(reply, ": already tunnel") != NULL || strstr(reply, ": tunnel\n") != NULL;
        bool shunt = strstr(reply, "shunt\n") != NULL;
        if (wait == 0 || up || shunt || oe_monotonic_ms() >= until) {
            fputs(reply, stdout);
            return up || wait == 0 ? 0 : shunt ? 1 : 3;
        }
        nanosleep(&(struct timespec){0, INITIATE_POLL_MS * 1000000L}, NULL);
    }
usage:
    fprintf(stderr, "usage: ipsec initiate ADDR [--from LOCAL] [--wait SECONDS] [--ctlsocket PATH]\n");
    return 2;
}
