/*
 * How long the event loop's turns take: the count, the longest, and the
 * 99th percentile since start, for `ipsec status`. A turn is everything
 * done for one wake-up (packets, kernel events, DNS answers, timers): a long
 * one delays every peer, so it is the figure that says the loop stalls.
 */
#ifndef OE_AGENT_LOOP_STATS_H
#define OE_AGENT_LOOP_STATS_H

#include <stdint.h>

/* Quarter-octave buckets of microseconds, up to 2^30 us (18 minutes): p99 within 25%. */
#define LOOP_STATS_BUCKETS (30 * 4)

struct loop_stats {
    uint64_t turns;
    uint64_t max_us;
    uint64_t bucket[LOOP_STATS_BUCKETS];
};

void loop_stats_add(struct loop_stats *s, uint64_t us);
/* The turn length that 99% of turns stayed within (a bucket's upper edge); 0 before the first. */
uint64_t loop_stats_p99_us(const struct loop_stats *s);

#endif
