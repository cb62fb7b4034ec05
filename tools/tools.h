/* The ipsec command's verbs and what they share. */
#ifndef OE_TOOLS_H
#define OE_TOOLS_H

#include "common/common.h"

#define DEFAULT_CTLSOCKET "/run/oe/oe.ctl"

/*
 * Send one request line to the agent; prints the body to stdout (or, for an
 * error reply, to stderr). Returns 0 for ok, 1 for an error reply, 2 when the
 * agent cannot be reached.
 */
int control_request(const char *ctlsocket, const char *request);

int eroute_main(int argc, char **argv);
int status_main(int argc, char **argv);
int trafficstatus_main(int argc, char **argv);
int shuntstatus_main(int argc, char **argv);
int policy_main(int argc, char **argv);
int reload_main(int argc, char **argv);
int newhostkey_main(int argc, char **argv);
int showhostkey_main(int argc, char **argv);
int verify_main(int argc, char **argv);

#endif
