/* Timers: a min-heap of (due, key), and an open-addressing index from key to heap slot. */
#include "timers.h"

#include <stdlib.h>
#include <string.h>

#define TIMERS_FIRST_CAP 64
#define EMPTY_SLOT SIZE_MAX

struct timer {
    uint64_t due;
    unsigned key;
};

struct index_entry {
    unsigned key;
    size_t slot; /* EMPTY_SLOT: free */
};

struct timers {
    struct timer *heap;
    size_t n, cap;
    struct index_entry *index; /* power-of-two size, at most half full */
    size_t index_size;
};

static size_t hash(unsigned key, size_t size)
{
    return (size_t)(key * 2654435761u) & (size - 1); /* Knuth's multiplicative hash */
}

static struct index_entry *find(const struct timers *t, unsigned key)
{
    for (size_t i = hash(key, t->index_size);; i = (i + 1) & (t->index_size - 1)) {
        struct index_entry *e = &t->index[i];
        if (e->slot == EMPTY_SLOT || e->key == key)
            return e;
    }
}

static int index_grow(struct timers *t)
{
    size_t size = t->index_size ? t->index_size * 2 : 2 * TIMERS_FIRST_CAP;
    struct index_entry *old = t->index, *grown = malloc(size * sizeof(*grown));
    if (grown == NULL)
        return -1;
    for (size_t i = 0; i < size; i++)
        grown[i].slot = EMPTY_SLOT;
    size_t old_size = t->index_size;
    t->index = grown;
    t->index_size = size;
    for (size_t i = 0; i < old_size; i++)
        if (old[i].slot != EMPTY_SLOT)
            *find(t, old[i].key) = old[i];
    free(old);
    return 0;
}

/* Linear probing: close the gap a removal leaves, so later probes still find their keys. */
static void index_remove(struct timers *t, struct index_entry *e)
{
    size_t mask = t->index_size - 1, i = (size_t)(e - t->index), j = i;
    t->index[i].slot = EMPTY_SLOT;
    for (;;) {
        j = (j + 1) & mask;
        if (t->index[j].slot == EMPTY_SLOT)
            return;
        size_t home = hash(t->index[j].key, t->index_size);
        /* t->index[j] may move to i when i lies cyclically in [home, j) */
        if (((i - home) & mask) < ((j - home) & mask)) {
            t->index[i] = t->index[j];
            t->index[j].slot = EMPTY_SLOT;
            i = j;
        }
    }
}

static void place(struct timers *t, size_t slot, struct timer v)
{
    t->heap[slot] = v;
    find(t, v.key)->slot = slot;
}

static void sift_up(struct timers *t, size_t slot)
{
    struct timer v = t->heap[slot];
    while (slot > 0 && t->heap[(slot - 1) / 2].due > v.due) {
        place(t, slot, t->heap[(slot - 1) / 2]);
        slot = (slot - 1) / 2;
    }
    place(t, slot, v);
}

static void sift_down(struct timers *t, size_t slot)
{
    struct timer v = t->heap[slot];
    for (;;) {
        size_t c = 2 * slot + 1;
        if (c >= t->n)
            break;
        if (c + 1 < t->n && t->heap[c + 1].due < t->heap[c].due)
            c++;
        if (t->heap[c].due >= v.due)
            break;
        place(t, slot, t->heap[c]);
        slot = c;
    }
    place(t, slot, v);
}

struct timers *timers_new(void)
{
    struct timers *t = calloc(1, sizeof(*t));
    if (t && index_grow(t) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

void timers_free(struct timers *t)
{
    if (t == NULL)
        return;
    free(t->heap);
    free(t->index);
    free(t);
}

int timers_arm(struct timers *t, unsigned key, uint64_t due)
{
    struct index_entry *e = find(t, key);
    if (e->slot != EMPTY_SLOT) {
        size_t slot = e->slot;
        uint64_t was = t->heap[slot].due;
        t->heap[slot].due = due;
        if (due < was)
            sift_up(t, slot);
        else
            sift_down(t, slot);
        return 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : TIMERS_FIRST_CAP;
        struct timer *grown = realloc(t->heap, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        t->heap = grown;
        t->cap = cap;
    }
    if (2 * (t->n + 1) > t->index_size && index_grow(t) != 0)
        return -1;
    e = find(t, key);
    e->key = key;
    e->slot = t->n;
    t->heap[t->n++] = (struct timer){due, key};
    sift_up(t, t->n - 1);
    return 0;
}

bool timers_next(const struct timers *t, uint64_t *due)
{
    if (t->n == 0)
        return false;
    *due = t->heap[0].due;
    return true;
}

bool timers_take_due(struct timers *t, uint64_t now, unsigned *key)
{
    if (t->n == 0 || t->heap[0].due > now)
        return false;
    *key = t->heap[0].key;
    index_remove(t, find(t, *key));
    if (--t->n > 0) {
        t->heap[0] = t->heap[t->n];
        sift_down(t, 0);
    }
    return true;
}

size_t timers_count(const struct timers *t)
{
    return t->n;
}
