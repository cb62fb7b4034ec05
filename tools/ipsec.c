/* ipsec: the verb table. Each verb lives in its own file. */
#include "tools.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *help;
} verbs[] = {
    {"eroute", eroute_main, "the agent's kernel policies: trap, hold, pass, drop, tunnel"},
    {"status", status_main, "the agent at a glance: policies, tunnels, shunts"},
    {"trafficstatus", trafficstatus_main, "each tunnel: peer, IDs, auth, DNSSEC, algorithms, bytes, age"},
    {"shuntstatus", shuntstatus_main, "each per-peer hold and failure shunt, and why"},
    {"policy", policy_main, "policy explain ADDR: which group governs ADDR, and why"},
    {"reload", reload_main, "re-read the policy groups (all or nothing); flushes the key cache"},
    {"rereadkeys", rereadkeys_main, "re-read the host key (rollover) and flush the cache of peers' keys"},
    {"initiate", initiate_main, "initiate ADDR: negotiate with ADDR now, before its first packet"},
    {"newhostkey", newhostkey_main, "generate the host's RSA key"},
    {"showhostkey", showhostkey_main, "print the host key as IPSECKEY, TXT or KEY records"},
    {"verify", verify_main, "check this machine for OE (kernel, sysctls, firewall, DNS); --host: a host's keys"},
    {"publish", publish_main, "publish the host key in its reverse zone (RFC 2136 update, TSIG)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ipsec VERB [OPTIONS]\n\nverbs:\n");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
    fprintf(f, "\nSee ipsec(8).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (!strcmp(argv[1], verbs[i].name))
            return verbs[i].main(argc - 1, argv + 1);
    fprintf(stderr, "ipsec: unknown verb \"%s\"\n", argv[1]);
    usage(stderr);
    return 2;
}
