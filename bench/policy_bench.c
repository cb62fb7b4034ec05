/*
 * Policy benchmark: load 1M prefixes from group files, then longest-prefix
 * lookups, then compile and diff (what a reload costs). Prints figures; no
 * pass/fail. Usage: policy_bench [NPREFIXES] [NLOOKUPS]
 */
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A prefix length mix shaped like a routing table: mostly /24, many /16-/23. */
static unsigned v4_len(void)
{
    unsigned r = (unsigned)(next() % 100);
    if (r < 55)
        return 24;
    if (r < 85)
        return 16 + (unsigned)(next() % 8);
    if (r < 95)
        return 25 + (unsigned)(next() % 8);
    return 8 + (unsigned)(next() % 8);
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static int noop(const struct policy_kernel *k, void *arg)
{
    (void)k;
    ++*(long *)arg;
    return 0;
}
static int noop2(const struct policy_kernel *a, const struct policy_kernel *b, void *arg)
{
    (void)a;
    (void)b;
    ++*(long *)arg;
    return 0;
}

int main(int argc, char **argv)
{
    /* random /8../32 prefixes collide; this many leave about 1M distinct */
    long n = argc > 1 ? atol(argv[1]) : 1075000;
    long lookups = argc > 2 ? atol(argv[2]) : 10000000;
    char dir[] = "/tmp/oe-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    const char *groups[] = {"private-or-clear", "private", "clear", "block", "clear-or-private"};
    FILE *f[5];
    for (int g = 0; g < 5; g++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", dir, groups[g]);
        f[g] = fopen(path, "w");
    }
    /* Distinct prefixes: derive each from a counter so none repeats. */
    long v6 = n / 10;
    for (long i = 0; i < n - v6; i++) {
        unsigned len = v4_len();
        uint32_t a = (uint32_t)next() & (len == 0 ? 0 : 0xffffffffu << (32 - len));
        fprintf(f[next() % 5], "%u.%u.%u.%u/%u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, len);
    }
    for (long i = 0; i < v6; i++)
        fprintf(f[next() % 5], "2001:db8:%x:%x::/64\n", (unsigned)(i >> 16), (unsigned)(i & 0xffff));
    for (int g = 0; g < 5; g++)
        fclose(f[g]);

    /* random v4 prefixes collide: keep the first of each, as a real file must */
    char cmd[512];
    for (int g = 0; g < 5; g++) {
        snprintf(cmd, sizeof(cmd), "cd %s && awk '!seen[$0]++' %s > t && mv t %s", dir, groups[g], groups[g]);
        if (system(cmd) != 0)
            return 1;
    }
    snprintf(cmd, sizeof(cmd),
             "cd %s && cat * | sort | uniq -d > dups; for g in *; do [ $g = dups ] || grep -vxFf dups $g > t; [ $g = "
             "dups ] || mv t $g; done; rm -f dups",
             dir);
    if (system(cmd) != 0)
        return 1;

    struct policy_set *set;
    struct oe_error err;
    double t0 = now();
    if (policy_load(dir, &set, &err) != 0) {
        fprintf(stderr, "load: %s\n", err.msg);
        return 1;
    }
    double t_load = now() - t0;
    size_t rules = policy_rule_count(set);

    struct oe_addr *addrs = malloc(sizeof(*addrs) * 65536);
    for (int i = 0; i < 65536; i++) {
        memset(&addrs[i], 0, sizeof(addrs[i]));
        if (i % 10 == 0) {
            addrs[i].family = AF_INET6;
            uint64_t r = next();
            addrs[i].bytes[0] = 0x20, addrs[i].bytes[1] = 0x01, addrs[i].bytes[2] = 0x0d, addrs[i].bytes[3] = 0xb8;
            memcpy(addrs[i].bytes + 4, &r, 8);
        } else {
            addrs[i].family = AF_INET;
            uint32_t r = (uint32_t)next();
            memcpy(addrs[i].bytes, &r, 4);
        }
    }
    long hits = 0;
    t0 = now();
    for (long i = 0; i < lookups; i++)
        hits += policy_lookup(set, &addrs[i & 65535], 6, 40000, 443) != NULL;
    double t_lookup = now() - t0;

    struct policy_compiled a, b;
    t0 = now();
    policy_compile(set, &a, &err);
    double t_compile = now() - t0;
    b.n = a.n;
    b.v = malloc(a.n * sizeof(*a.v));
    memcpy(b.v, a.v, a.n * sizeof(*a.v));
    b.v[b.n / 2].action = b.v[b.n / 2].action == POLICY_ACTION_PASS ? POLICY_ACTION_DROP : POLICY_ACTION_PASS;
    long changes = 0;
    struct policy_diff_ops ops = {noop, noop, noop2};
    t0 = now();
    policy_diff(&a, &b, &ops, &changes);
    double t_diff = now() - t0;

    printf("policy_bench: %zu prefixes (%ld IPv6) in 5 group files\n", rules, v6);
    printf("  load (read, parse, sort, index): %.3f s  (%.0f ns per line)\n", t_load, t_load * 1e9 / (double)rules);
    printf("  lookup: %.1f ns per lookup over %ld random addresses (%.1f%% covered)\n",
           t_lookup * 1e9 / (double)lookups, lookups, 100.0 * (double)hits / (double)lookups);
    printf("  compile to %zu kernel policies: %.3f s\n", a.n, t_compile);
    printf("  diff of two compiled sets (1 change found: %ld): %.3f s\n", changes, t_diff);
    printf("  peak RSS: %ld MiB\n", peak_rss_kb() / 1024);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    policy_compiled_free(&a);
    policy_compiled_free(&b);
    policy_set_free(set);
    free(addrs);
    return 0;
}
