/*
 * acquire_bench: what one ACQUIRE costs the agent while 1k, 10k and 100k
 * peers are held (issue 14): the group line's lookup, the peer table, the
 * hold and the failure shunt into the kernel, the log lines. In-process on
 * the fake kernel (its policy table indexed, as the real one is) with ike =
 * no, so each new peer ends in its shunt at once and stays. It must stay
 * flat: libreswan walked every connection per ACQUIRE until 2026.
 *   acquire_bench [MAX_PEERS]
 */
#include "oe-agent/agent.h"
#include "oe-agent/agent_internal.h"
#include "oe-agent/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ACQUIREs timed at each size: the least of ROUNDS rounds of BATCH, as the machine is shared */
#define BATCH 1000
#define ROUNDS 5

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct kernel *clock_kernel;
static time_t fake_now(void)
{
    return (time_t)kernel_fake_now(clock_kernel);
}

/* The i-th peer: 2001:db8::/64 has room for every size here. */
static struct kernel_event acquire_of(unsigned i)
{
    struct kernel_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.type = KERNEL_EV_ACQUIRE;
    oe_addr_parse("2001:db8::1", &ev.src);
    oe_addr_parse("2001:db8:1::", &ev.dst);
    for (int b = 0; b < 4; b++)
        ev.dst.bytes[15 - b] = (uint8_t)(i >> (8 * b));
    ev.proto = 1;
    return ev;
}

static const char *const group_files[] = {"clear", "clear-or-private", "private-or-clear", "private", "block"};

static int write_groups(const char *dir)
{
    for (int g = 0; g < 5; g++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", dir, group_files[g]);
        FILE *f = fopen(path, "w");
        if (f == NULL)
            return -1;
        if (g == 2)
            fputs("2001:db8::/32\n", f);
        fclose(f);
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned max = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000;
    char dir[] = "/tmp/oe-acquire-bench-XXXXXX";
    struct oe_error err;
    if (mkdtemp(dir) == NULL || write_groups(dir) != 0) {
        fprintf(stderr, "acquire_bench: cannot write the policy files\n");
        return 1;
    }
    static struct oe_config cfg;
    oe_config_defaults(&cfg);
    snprintf(cfg.policies, sizeof(cfg.policies), "%s", dir);
    cfg.ike = false;
    cfg.max_peers = max + ROUNDS * BATCH * 4;
    if (oe_log_open("/dev/null", &err) != 0) {
        fprintf(stderr, "acquire_bench: %s\n", err.msg);
        return 1;
    }
    struct kernel *k = kernel_fake_new();
    struct agent *a = agent_new(&cfg, k);
    clock_kernel = k;
    agent_set_clock(a, fake_now);
    if (agent_start(a, &err) != 0) {
        fprintf(stderr, "acquire_bench: %s\n", err.msg);
        return 1;
    }
    printf("acquire_bench: one ACQUIRE for a new peer (lookup, peer table, hold and shunt, log), least of %d rounds "
           "of %d, CPU time\n",
           ROUNDS, BATCH);
    printf("%10s  %12s   (each round adds its %d peers)\n", "peers held", "us/ACQUIRE", BATCH);
    unsigned next = 0;
    double first = 0, last = 0;
    for (unsigned size = 1000; size <= max; size *= 10) {
        while (a->peers.count < size) {
            struct kernel_event ev = acquire_of(next++);
            agent_kernel_event(&ev, a);
        }
        size_t held = a->peers.count;
        double best = 1e9;
        for (int r = 0; r < ROUNDS; r++) {
            double t0 = cpu_s();
            for (int i = 0; i < BATCH; i++) {
                struct kernel_event ev = acquire_of(next++);
                agent_kernel_event(&ev, a);
            }
            double us = (cpu_s() - t0) * 1e6 / BATCH;
            best = us < best ? us : best;
        }
        printf("%10zu  %12.2f\n", held, best);
        if (first == 0)
            first = best;
        last = best;
    }
    printf("largest / 1k: %.2fx (flat is ~1)\n", last / first);
    agent_free(a);
    kernel_close(k);
    for (int g = 0; g < 5; g++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", dir, group_files[g]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}
