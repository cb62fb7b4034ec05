/*
 * ipsec policy explain [--policies DIR] [--json] [--ctlsocket PATH] ADDR
 * With --policies it reads the files itself (no agent needed); otherwise it
 * asks the running agent, which adds the live state for that peer.
 */
#include "tools.h"
#include "policy/policy.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int explain_offline(const char *dir, const char *addr_text, bool json)
{
    struct policy_set *set;
    struct oe_error err;
    struct oe_addr addr;
    if (oe_addr_parse(addr_text, &addr) != 0) {
        fprintf(stderr, "ipsec policy explain: \"%s\" is not an IP address\n", addr_text);
        return 2;
    }
    if (policy_load(dir, &set, &err) != 0) {
        fprintf(stderr, "ipsec policy explain: %s\n", err.msg);
        return 1;
    }
    struct oe_buf out = {0};
    if (json)
        oe_buf_printf(&out, "{");
    policy_explain(set, &addr, json, &out);
    if (json)
        oe_buf_printf(&out, "}\n");
    fwrite(out.p, 1, out.len, stdout);
    oe_buf_free(&out);
    policy_set_free(set);
    return 0;
}

int policy_main(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"policies", required_argument, 0, 'p'},
                                         {"ctlsocket", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    const char *ctl = DEFAULT_CTLSOCKET, *dir = NULL;
    bool json = false;
    int c;
    if (argc < 2 || strcmp(argv[1], "explain") != 0)
        goto usage;
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = true;
        else if (c == 'p')
            dir = optarg;
        else if (c == 's')
            ctl = optarg;
        else
            goto usage;
    }
    if (optind != argc - 1)
        goto usage;
    if (dir != NULL)
        return explain_offline(dir, argv[optind], json);
    char req[256];
    struct oe_addr addr;
    if (oe_addr_parse(argv[optind], &addr) != 0) {
        fprintf(stderr, "ipsec policy explain: \"%s\" is not an IP address\n", argv[optind]);
        return 2;
    }
    snprintf(req, sizeof(req), "explain %s%s", argv[optind], json ? " --json" : "");
    return control_request(ctl, req);
usage:
    fprintf(stderr, "usage: ipsec policy explain [--policies DIR] [--json] [--ctlsocket PATH] ADDR\n");
    return 2;
}
