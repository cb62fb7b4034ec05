/* What the agent's files share; not for main.c or the tools. */
#ifndef OE_AGENT_INTERNAL_H
#define OE_AGENT_INTERNAL_H

#include "agent.h"
#include "peers.h"

struct agent {
    const struct oe_config *cfg;
    struct kernel *k;
    struct policy_set *set;
    struct policy_compiled compiled; /* what the kernel holds for the groups */
    struct peer_table peers;
    time_t (*now)(void);
};

void agent_to_kernel(const struct policy_kernel *pk, struct kernel_policy *kp);
/* The group a kernel policy of ours comes from, or -1 (exempt, unknown). */
int agent_policy_group(const struct agent *a, const struct kernel_policy *kp);
/* The exemptions for IKE and the resolvers; returns the count (<= max). */
size_t agent_exemptions(const struct agent *a, struct kernel_policy *out, size_t max);

#endif
