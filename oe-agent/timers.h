/*
 * The agent's timers, one per key (an IKE SA's serial): a binary min-heap
 * with a key-to-slot index, so arming, re-arming and taking the earliest
 * are O(log n) at any number of SAs. It grows as needed and has no cap: a
 * timer is never dropped; only an allocation failure refuses one, and says so.
 */
#ifndef OE_AGENT_TIMERS_H
#define OE_AGENT_TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timers;

struct timers *timers_new(void);
void timers_free(struct timers *t);
/* Due at due (ms, monotonic); a key already armed moves to the new time. -1: out of memory. */
int timers_arm(struct timers *t, unsigned key, uint64_t due);
/* The earliest due time, false when none is armed. */
bool timers_next(const struct timers *t, uint64_t *due);
/* The earliest timer if it is due by now: taken out, its key returned. */
bool timers_take_due(struct timers *t, uint64_t now, unsigned *key);
size_t timers_count(const struct timers *t);

#endif
