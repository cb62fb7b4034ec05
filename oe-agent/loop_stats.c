#include "loop_stats.h"

/*
 * A bucket is an octave (the leading bit) and which quarter of it the next
 * two bits name: integer only, 25% wide at most. Below 4 us, one per value.
 */
static unsigned bucket_of(uint64_t us)
{
    if (us < 4)
        return (unsigned)us;
    unsigned msb = 63u - (unsigned)__builtin_clzll(us);
    unsigned b = msb * 4 + (unsigned)((us >> (msb - 2)) & 3);
    return b >= LOOP_STATS_BUCKETS ? LOOP_STATS_BUCKETS - 1 : b;
}

/* The smallest value past bucket b: its upper edge. */
static uint64_t upper_edge(unsigned b)
{
    if (b < 4)
        return b + 1;
    unsigned msb = b / 4, quarter = b % 4;
    return (uint64_t)(4 + quarter + 1) << (msb - 2);
}

void loop_stats_add(struct loop_stats *s, uint64_t us)
{
    s->turns++;
    if (us > s->max_us)
        s->max_us = us;
    s->bucket[bucket_of(us)]++;
}

uint64_t loop_stats_p99_us(const struct loop_stats *s)
{
    if (s->turns == 0)
        return 0;
    /* the first bucket by which at least 99% of turns are counted */
    uint64_t want = s->turns - s->turns / 100, seen = 0;
    for (unsigned b = 0; b < LOOP_STATS_BUCKETS; b++) {
        seen += s->bucket[b];
        if (seen >= want && b < LOOP_STATS_BUCKETS - 1) {
            uint64_t edge = upper_edge(b);
            return edge < s->max_us ? edge : s->max_us;
        }
    }
    return s->max_us; /* the last bucket has no upper edge: what is past it is there */
}
