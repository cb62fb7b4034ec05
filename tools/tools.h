/* The ipsec command's verbs and what they share. */
#ifndef OE_TOOLS_H
#define OE_TOOLS_H

#include "common/common.h"
#include "dnskeys/dnskeys.h"

#define DEFAULT_CTLSOCKET "/run/oe/oe.ctl"

/*
 * Send one request line to the agent; prints the body to stdout (or, for an
 * error reply, to stderr). Returns 0 for ok, 1 for an error reply, 2 when the
 * agent cannot be reached.
 */
int control_request(const char *ctlsocket, const char *request);
/* The same, the reply's body (cut to len) into reply instead of printed. */
int control_ask(const char *ctlsocket, const char *request, char *reply, size_t len);

/*
 * The host's records, shared by showhostkey and publish (hostrecords.c).
 * The gateway a record names: an address or a name. The record for a host
 * (NULL: none, no owner) from tmpl, sharing tmpl's key, with its reverse
 * owner; TXT names the host itself when no gateway was given. Each address
 * of a subnet, at most 2^HOSTRECORD_MAX_SUBNET_BITS of them (fn's non-zero
 * return stops the walk and is returned; 2 for a subnet too large).
 */
#define HOSTRECORD_MAX_SUBNET_BITS 16
int hostrecord_set_gateway(struct dnskeys_record *r, const char *gw);
void hostrecord_for(const struct dnskeys_record *tmpl, const struct oe_addr *host, bool gw_given,
                    struct dnskeys_record *out, char owner[DNSKEYS_NAME_MAX]);
int hostrecord_subnet_each(const struct oe_prefix *net, const char *verb, int (*fn)(const struct oe_addr *a, void *arg),
                           void *arg);

/*
 * What an nftables ruleset (the JSON of `nft -j list ruleset`) does to one
 * flow IKE or ESP needs (nftcheck.c): the first packet from a peer
 * (inbound) or to one, of a family, protocol (17, 50) and UDP port; or
 * the ICMP error path MTU discovery needs.
 * Untrusted input: at most FW_RULESET_MAX octets, and bounded work.
 */
#define FW_RULESET_MAX (16 << 20)
struct fw_flow {
    int family; /* AF_INET, AF_INET6 */
    bool inbound;
    uint8_t proto;                /* 17, 50; 1 or 58 for the ICMP error below */
    uint16_t port;                /* UDP: both ports, as IKE sends */
    uint8_t icmp_type, icmp_code; /* ICMP: fragmentation needed (3/4), IPv6 packet too big (2/0) */
    bool related;                 /* conntrack state related (an ICMP error), not new */
};
enum fw_status {
    FW_ACCEPTED,
    FW_DROPPED,
    FW_DEPENDS, /* on what the flow alone does not decide: an address, a set, an interface name */
    FW_UNKNOWN, /* past the bounds: not judged */
};
struct fw_verdict {
    enum fw_status status;
    char why[640]; /* the rule or policy that decides, by family, table, chain and handle */
};
struct fw_ruleset;
struct fw_ruleset *fw_ruleset_parse(const char *json, size_t len, struct oe_error *err);
size_t fw_ruleset_rules(const struct fw_ruleset *rs);
void fw_ruleset_eval(const struct fw_ruleset *rs, const struct fw_flow *f, struct fw_verdict *out);
void fw_ruleset_free(struct fw_ruleset *rs);

/*
 * oe.conf's global keys a tool asks for (toolconf.c): each value (the rest
 * of its line, trimmed) is copied where the key's buffer is still empty,
 * so the command line's wins. A missing file is an error only when
 * required; a value too long is one, named by file and line.
 */
#define TOOLS_DEFAULT_CONFIG "/etc/oe/oe.conf"
struct tools_conf_key {
    const char *key;
    char *value;
    size_t len;
};
int tools_config_read(const char *path, bool required, const char *who, struct tools_conf_key *keys, size_t nkeys);

/*
 * The checks of one host's keys in DNS (verify.c), as `verify --host`
 * prints them, and for each local address in `verify` of this machine:
 * with own, that one of the usable records carries this host's key.
 */
#define VERIFY_HOST_CHECKS 12
struct verify_check {
    const char *name;
    const char *status; /* "OK", "WARN", "FAILED", "NONE" */
    char detail[800];
};
struct verify_host {
    struct verify_check checks[VERIFY_HOST_CHECKS];
    int n;
    bool done, failed;
    const struct dnskeys_pubkey *own;
    const struct dnskeys_pubkey *own_next; /* during a rollover: the next key, ours as well */
    struct dnskeys_answer ans;
    char owner[DNSKEYS_NAME_MAX];
    bool gw_asked, gw_done; /* a gateway named by name: its address */
    struct dnskeys_addr_answer gw;
};
/* 0 with the checks in r (verify_host_free after), -1 with err when the lookup could not start. */
int verify_host_run(struct dnskeys_resolver *res, const char *host, int timeout, const struct dnskeys_pubkey *own,
                    const struct dnskeys_pubkey *own_next, struct verify_host *r, struct oe_error *err);
void verify_host_free(struct verify_host *r);

/* verify of this machine (verify_local.c): kernel, sysctls, firewall, DNSSEC, each address's keys. */
struct verify_opts {
    const char *config, *resolver, *anchor, *key_file;
    int timeout;
    bool json;
};
int verify_local(const struct verify_opts *o);
/* A sysctl file's text ("1\n"): 0 and the value, or -1 for anything but one decimal integer. */
int verify_sysctl_parse(const char *text, size_t len, long *out);

int eroute_main(int argc, char **argv);
int status_main(int argc, char **argv);
int trafficstatus_main(int argc, char **argv);
int shuntstatus_main(int argc, char **argv);
int policy_main(int argc, char **argv);
int reload_main(int argc, char **argv);
int rereadkeys_main(int argc, char **argv);
int initiate_main(int argc, char **argv);
int newhostkey_main(int argc, char **argv);
int showhostkey_main(int argc, char **argv);
int verify_main(int argc, char **argv);
int publish_main(int argc, char **argv);

#endif
