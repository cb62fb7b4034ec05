/* oe-agent: options, start-up, the event loop. See oe-agent(8). */
#include "agent.h"
#include "control.h"
#include "log.h"
#include "privileges.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: oe-agent [--config FILE] [--policies DIR] [--key-file FILE]\n"
               "                [--resolver ADDR[@PORT]] [--trust-anchor FILE] [--control PATH]\n"
               "                [--log stderr|syslog|FILE] [--nofork]\n");
}

static int parse_args(int argc, char **argv, struct oe_config *cfg, struct oe_error *err)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"policies", required_argument, 0, 'p'},
        {"key-file", required_argument, 0, 'k'},
        {"resolver", required_argument, 0, 'r'},
        {"trust-anchor", required_argument, 0, 't'},
        {"control", required_argument, 0, 's'},
        {"log", required_argument, 0, 'l'},
        {"nofork", no_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    static const char *const keys[128] = {
        ['p'] = "policies",     ['k'] = "key-file", ['r'] = "resolver",
        ['t'] = "trust-anchor", ['s'] = "control",  ['l'] = "log",
    };
    const char *config = "/etc/oe/oe.conf";
    bool config_given = false, log_given = false;
    int c;
    /* The file first, then the options over it: a first pass finds --config. */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'c') {
            config = optarg;
            config_given = true;
        } else if (c == 'h') {
            usage(stdout);
            exit(0);
        } else if (c == '?') {
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc) {
        oe_error_set(err, "unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    if (oe_config_load(cfg, config, config_given, err) != 0)
        return -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n') {
            cfg->nofork = true;
        } else if (c > 0 && c < 128 && keys[c] != NULL) {
            struct oe_error e;
            log_given |= c == 'l';
            if (oe_config_set(cfg, keys[c], optarg, &e) != 0) {
                oe_error_set(err, "--%s: %s", keys[c], e.msg);
                return -1;
            }
        }
    }
    if (cfg->nofork && !log_given && strcmp(cfg->log, "syslog") == 0)
        snprintf(cfg->log, sizeof(cfg->log), "stderr");
    return oe_config_resolvers(cfg, "/etc/resolv.conf", err);
}

static void stop_signals(sigset_t *mask)
{
    sigemptyset(mask);
    sigaddset(mask, SIGHUP);
    sigaddset(mask, SIGTERM);
    sigaddset(mask, SIGINT);
}

static int event_loop(struct agent *a, struct kernel *k, int ctl_fd)
{
    sigset_t mask;
    stop_signals(&mask);
    int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int fds[3 + 16];
    size_t nfds = 3;
    fds[0] = sig_fd;
    fds[1] = kernel_fd(k);
    fds[2] = ctl_fd;
    nfds += agent_fds(a, fds + 3, 16);
    for (size_t i = 0; i < nfds; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
        if (fds[i] < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0) {
            oe_log("event loop set-up failed: %s", strerror(errno));
            return -1;
        }
    }
    for (;;) {
        struct epoll_event evs[8];
        int n = epoll_wait(ep, evs, 8, agent_timeout(a));
        if (n < 0 && errno == EINTR)
            continue;
        uint64_t turn = oe_monotonic_us();
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == sig_fd) {
                struct signalfd_siginfo si;
                if (read(sig_fd, &si, sizeof(si)) != sizeof(si))
                    continue;
                if (si.ssi_signo != SIGHUP) {
                    oe_log("signal %u: stopping", si.ssi_signo);
                    close(ep);
                    close(sig_fd);
                    return 0;
                }
                struct oe_error err;
                oe_log("SIGHUP: reloading policies");
                if (agent_reload(a, &err) != 0)
                    oe_log("reload refused, old policy stays in force: %s", err.msg);
            } else if (fd == ctl_fd) {
                control_serve(ctl_fd, a);
            } else if (fd == kernel_fd(k)) {
                struct oe_error err;
                if (kernel_process(k, agent_kernel_event, a, &err) < 0)
                    oe_log("%s", err.msg);
            } else {
                agent_readable(a, fd);
            }
        }
        agent_tick(a);
        agent_loop_turn(a, oe_monotonic_us() - turn);
    }
}

int main(int argc, char **argv)
{
    static struct oe_config cfg;
    struct oe_error err;
    /* blocked from the start: a SIGTERM that comes as soon as the control socket
     * exists waits for the event loop and gets the clean stop */
    sigset_t mask;
    stop_signals(&mask);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    oe_config_defaults(&cfg);
    if (parse_args(argc, argv, &cfg, &err) != 0) {
        fprintf(stderr, "oe-agent: %s\n", err.msg);
        return 2;
    }
    if (oe_log_open(cfg.log, &err) != 0) {
        fprintf(stderr, "oe-agent: %s\n", err.msg);
        return 1;
    }
    if (!cfg.nofork && daemon(0, 0) != 0) {
        fprintf(stderr, "oe-agent: cannot fork: %s\n", strerror(errno));
        return 1;
    }
    oe_log("oe-agent starting (pid %d), policies %s, control %s", (int)getpid(), cfg.policies, cfg.control);
    int lock = control_lock(cfg.control, &err);
    if (lock < 0) {
        oe_log("cannot start: %s", err.msg);
        return 1;
    }
    struct kernel *k = kernel_xfrm_open(&err);
    if (k == NULL) {
        oe_log("cannot talk to the kernel: %s", err.msg);
        return 1;
    }
    struct agent *a = agent_new(&cfg, k);
    int ctl = -1;
    if (a == NULL || agent_start(a, &err) != 0) {
        oe_log("cannot start: %s", a ? err.msg : "out of memory");
        agent_free(a);
        kernel_close(k);
        return 1;
    }
    ctl = control_listen(cfg.control, &err);
    if (ctl >= 0 && cfg.control_group[0] && control_share(cfg.control, cfg.control_group, &err) != 0) {
        close(ctl);
        ctl = -1;
    }
    if (ctl < 0) {
        oe_log("cannot start: %s", err.msg);
        agent_stop(a);
        agent_free(a);
        kernel_close(k);
        return 1;
    }
    if (agent_drop_privileges(&err) != 0) {
        oe_log("cannot start: %s", err.msg);
        agent_stop(a);
        agent_free(a);
        kernel_close(k);
        return 1;
    }
    oe_log("dropped privileges: keeping CAP_NET_ADMIN and CAP_NET_BIND_SERVICE; no_new_privs set");
    oe_log("oe-agent ready");
    int rc = event_loop(a, k, ctl);
    agent_stop(a);
    close(ctl);
    unlink(cfg.control);
    agent_free(a);
    kernel_close(k);
    oe_log("oe-agent stopped");
    oe_log_close();
    return rc == 0 ? 0 : 1;
}
