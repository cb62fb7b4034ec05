/* A loaded set of group files: reading them, duplicate checks, accessors. */
#include "policy_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (1u << 30)

struct policy_set *policy_set_new(void)
{
    return calloc(1, sizeof(struct policy_set));
}

void policy_set_free(struct policy_set *set)
{
    if (set == NULL)
        return;
    policy_index_free(set);
    for (int g = 0; g < POLICY_GROUP_COUNT; g++)
        free(set->files[g]);
    free(set->rules);
    free(set);
}

const char *policy_group_file(const struct policy_set *set, enum policy_group g)
{
    return set->files[g] ? set->files[g] : policy_group_name(g);
}

size_t policy_rule_count(const struct policy_set *set)
{
    return set->n;
}

const struct policy_rule *policy_rule_at(const struct policy_set *set, size_t i)
{
    return i < set->n ? &set->rules[i] : NULL;
}

/* Reads the whole file; ENOENT leaves *text NULL (an empty group). */
static int read_file(const char *path, char **text, size_t *len, struct oe_error *err)
{
    *text = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        oe_error_set(err, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_SIZE) {
        oe_error_set(err, "%s: not a regular file of at most %u bytes", path, MAX_FILE_SIZE);
        close(fd);
        return -1;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf != NULL && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (buf == NULL || got != (size_t)st.st_size) {
        oe_error_set(err, "%s: read failed", path);
        free(buf);
        return -1;
    }
    *text = buf;
    *len = got;
    return 0;
}

int policy_load(const char *dir, struct policy_set **out, struct oe_error *err)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        oe_error_set(err, "%s: policy directory not found", dir);
        return -1;
    }
    struct policy_set *set = policy_set_new();
    if (set == NULL) {
        oe_error_set(err, "out of memory");
        return -1;
    }
    for (int g = 0; g < POLICY_GROUP_COUNT; g++) {
        char path[4096];
        char *text;
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, policy_group_name((enum policy_group)g));
        set->files[g] = strdup(path);
        if (set->files[g] == NULL || read_file(path, &text, &len, err) != 0) {
            policy_set_free(set);
            return -1;
        }
        int rc = text ? policy_parse_group(set, (enum policy_group)g, text, len, path, err) : 0;
        free(text);
        if (rc != 0) {
            policy_set_free(set);
            return -1;
        }
    }
    if (policy_finish(set, err) != 0) {
        policy_set_free(set);
        return -1;
    }
    *out = set;
    return 0;
}

unsigned policy_selector_specificity(const struct policy_selector *s)
{
    return (s->proto ? 4u : 0u) + (s->lport ? 1u : 0u) + (s->rport ? 1u : 0u);
}

int policy_selector_cmp(const struct policy_selector *a, const struct policy_selector *b)
{
    int c = oe_prefix_cmp(&a->peer, &b->peer);
    if (c != 0)
        return c;
    if (a->proto != b->proto)
        return a->proto < b->proto ? -1 : 1;
    if (a->lport != b->lport)
        return a->lport < b->lport ? -1 : 1;
    if (a->rport != b->rport)
        return a->rport < b->rport ? -1 : 1;
    return 0;
}

/*
 * Prefix order, and within one prefix the most specific selector first,
 * as plain numbers, so sorting 1M rules compares integers instead
 * of calling memcmp through a function pointer for every comparison.
 */
struct sort_key {
    unsigned __int128 addr;
    uint64_t rest; /* len, specificity (inverted), proto, ports */
    uint32_t tail; /* group, line */
    uint32_t index;
};

static struct sort_key make_key(const struct policy_rule *r, size_t i)
{
    const struct policy_selector *s = &r->sel;
    struct sort_key k = {
        .addr = oe_addr_u128(&s->peer.addr),
        .rest = (uint64_t)(s->peer.addr.family == AF_INET6) << 63 | (uint64_t)s->peer.len << 48 |
                (uint64_t)(15 - policy_selector_specificity(s)) << 40 | (uint64_t)s->proto << 32 |
                (uint64_t)s->lport << 16 | s->rport,
        .tail = (uint32_t)r->group << 28 | (r->line & 0x0fffffffu),
        .index = (uint32_t)i,
    };
    return k;
}

static inline int key_cmp(const struct sort_key *a, const struct sort_key *b)
{
    bool v6a = a->rest >> 63, v6b = b->rest >> 63;
    if (v6a != v6b)
        return v6a ? 1 : -1;
    if (a->addr != b->addr)
        return a->addr < b->addr ? -1 : 1;
    if (a->rest != b->rest)
        return a->rest < b->rest ? -1 : 1;
    if (a->tail != b->tail)
        return a->tail < b->tail ? -1 : 1;
    return 0;
}

static int key_order(const void *a, const void *b)
{
    return key_cmp(a, b);
}

static void swap_keys(struct sort_key *a, struct sort_key *b)
{
    struct sort_key t = *a;
    *a = *b;
    *b = t;
}

/*
 * Introsort with the comparison inlined (qsort's callback per comparison
 * costs more than the comparison); past the depth limit, qsort's guaranteed
 * O(n log n) takes over so a hostile file cannot make loading quadratic.
 */
static void sort_keys(struct sort_key *v, size_t n, unsigned depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            qsort(v, n, sizeof(*v), key_order);
            return;
        }
        size_t mid = n / 2;
        if (key_cmp(&v[mid], &v[0]) < 0)
            swap_keys(&v[mid], &v[0]);
        if (key_cmp(&v[n - 1], &v[0]) < 0)
            swap_keys(&v[n - 1], &v[0]);
        if (key_cmp(&v[n - 1], &v[mid]) < 0)
            swap_keys(&v[n - 1], &v[mid]);
        struct sort_key pivot = v[mid];
        size_t i = 0, j = n - 1;
        for (;;) {
            while (key_cmp(&v[i], &pivot) < 0)
                i++;
            while (key_cmp(&pivot, &v[j]) < 0)
                j--;
            if (i >= j)
                break;
            swap_keys(&v[i++], &v[j--]);
        }
        /* recurse into the smaller half, loop on the larger */
        if (j + 1 < n - j - 1) {
            sort_keys(v, j + 1, depth);
            v += j + 1;
            n -= j + 1;
        } else {
            sort_keys(v + j + 1, n - j - 1, depth);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && key_cmp(&v[k], &v[k - 1]) < 0; k--)
            swap_keys(&v[k], &v[k - 1]);
}

static int sort_rules(struct policy_set *set)
{
    struct sort_key *keys = malloc((set->n + 1) * sizeof(*keys));
    struct policy_rule *sorted = malloc((set->n + 1) * sizeof(*sorted));
    if (keys == NULL || sorted == NULL) {
        free(keys);
        free(sorted);
        return -1;
    }
    for (size_t i = 0; i < set->n; i++)
        keys[i] = make_key(&set->rules[i], i);
    sort_keys(keys, set->n, 64);
    for (size_t i = 0; i < set->n; i++)
        sorted[i] = set->rules[keys[i].index];
    free(keys);
    free(set->rules);
    set->rules = sorted;
    set->cap = set->n + 1;
    return 0;
}

int policy_finish(struct policy_set *set, struct oe_error *err)
{
    if (set->n > INT32_MAX) {
        oe_error_set(err, "too many policy lines (%zu)", set->n);
        return -1;
    }
    if (sort_rules(set) != 0) {
        oe_error_set(err, "out of memory sorting %zu policy lines", set->n);
        return -1;
    }
    for (size_t i = 1; i < set->n; i++) {
        const struct policy_rule *a = &set->rules[i - 1], *b = &set->rules[i];
        if (policy_selector_cmp(&a->sel, &b->sel) == 0) {
            oe_error_set(err, "%s:%u: selector already in %s:%u", policy_group_file(set, b->group), b->line,
                         policy_group_file(set, a->group), a->line);
            return -1;
        }
    }
    policy_index_free(set);
    if (policy_index_build(set, err) != 0)
        return -1;
    set->finished = true;
    return 0;
}
