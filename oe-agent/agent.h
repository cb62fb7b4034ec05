/*
 * The agent's core: owns the loaded policy, the kernel policies that follow
 * from it, and the per-peer table (holds and shunts). main.c drives it from
 * the event loop; tests drive it with the fake kernel.
 */
#ifndef OE_AGENT_AGENT_H
#define OE_AGENT_AGENT_H

#include "config.h"
#include "kernel/kernel.h"

#include <time.h>

struct agent;

/* cfg and k must outlive the agent. */
struct agent *agent_new(const struct oe_config *cfg, struct kernel *k);
void agent_free(struct agent *a);

/* Load the policies and make the kernel match them (replacing a previous run's). */
int agent_start(struct agent *a, struct oe_error *err);
/* Re-read the policies; on any error the old ones stay in force, untouched. */
int agent_reload(struct agent *a, struct oe_error *err);
/* Leave: keep what makes private and block fail closed, remove the rest. */
void agent_stop(struct agent *a);

/* A kernel_event_fn: pass the agent as arg. */
void agent_kernel_event(const struct kernel_event *ev, void *arg);

/* One control request ("eroute --json", "explain ADDR", "reload", ...). 0: ok. */
int agent_control(struct agent *a, const char *request, struct oe_buf *reply);

/* The negotiation's file descriptors (DNS, IKE sockets) and timers, for the loop. */
size_t agent_fds(struct agent *a, int *fds, size_t max);
void agent_readable(struct agent *a, int fd);
int agent_timeout(struct agent *a); /* ms until agent_tick is due; -1: none */
void agent_tick(struct agent *a);
/* One event-loop turn took this long (for status: the loop's max and p99). */
void agent_loop_turn(struct agent *a, uint64_t us);

/* Tests set the clock the agent shows times with. */
void agent_set_clock(struct agent *a, time_t (*now)(void));

#endif
