/*
 * The updown hook's environment, built apart from the fork and exec so
 * that what a script is given can be checked without running one.
 */
#ifndef OE_AGENT_UPDOWN_H
#define OE_AGENT_UPDOWN_H

#include "peers.h"

#define UPDOWN_ENV_MAX 24  /* variables; envp has one more for the NULL */
#define UPDOWN_ENV_LEN 160 /* one "NAME=value", truncated beyond */

struct updown_env {
    char var[UPDOWN_ENV_MAX][UPDOWN_ENV_LEN];
    char *envp[UPDOWN_ENV_MAX + 1];
    int n;
};

/* Fills e for peer p and verb ("up-host", ...); e->envp is ready for execve. */
void agent_updown_env(const struct oe_peer *p, const char *verb, struct updown_env *e);

#endif
