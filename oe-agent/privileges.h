/* The agent's privileges after start (oe-agent(8), "Privileges"). */
#ifndef OE_AGENT_PRIVILEGES_H
#define OE_AGENT_PRIVILEGES_H

#include "common/common.h"

/* Keep CAP_NET_ADMIN and CAP_NET_BIND_SERVICE only, in every set; no_new_privs. */
int agent_drop_privileges(struct oe_error *err);

#endif
