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

int eroute_main(int argc, char **argv);
int status_main(int argc, char **argv);
int trafficstatus_main(int argc, char **argv);
int shuntstatus_main(int argc, char **argv);
int policy_main(int argc, char **argv);
int reload_main(int argc, char **argv);
int initiate_main(int argc, char **argv);
int newhostkey_main(int argc, char **argv);
int showhostkey_main(int argc, char **argv);
int verify_main(int argc, char **argv);
int publish_main(int argc, char **argv);

#endif
