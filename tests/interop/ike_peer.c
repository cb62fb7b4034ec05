/*
 * ike_peer: the IKE core with real sockets and the real kernel, for the
 * interop tests. One host-to-host tunnel, initiated or answered.
 *   ike_peer --local ADDR --remote ADDR [--auth null|rsasig] [--key-file F]
 *            [--peer-key 0sKEY] (--initiate | --respond) [--log FILE]
 *            [--up-file PATH] [--timeout SECONDS] [--salifetime S] [--ikelifetime S]
 */
#include "dnskeys/dnskeys.h"
#include "oe-agent/ike_io.h"
#include "oe-agent/log.h"

#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct peer {
    struct ike_io *io;
    struct dnskeys_pubkey peer_key;
    bool have_key, allow_null;
    const char *up_file;
    int ups, downs;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void on_up(void *arg, const struct ike_action *a)
{
    struct peer *p = arg;
    p->ups++;
    oe_log("#%u: IKE_UP peer %s spi_in=0x%08x spi_out=0x%08x", a->serial, a->id, a->child.spi_in, a->child.spi_out);
    if (p->up_file) {
        FILE *f = fopen(p->up_file, "w");
        if (f) {
            fprintf(f, "up %s 0x%08x 0x%08x\n", a->id, a->child.spi_in, a->child.spi_out);
            fclose(f);
        }
    }
}

static void on_down(void *arg, const struct ike_action *a)
{
    (void)a;
    ((struct peer *)arg)->downs++;
}

static void on_need_key(void *arg, const struct ike_action *a)
{
    struct peer *p = arg;
    oe_log("#%u: peer %s authenticates with %s; answering from the command line", a->serial, a->id, a->text);
    struct ike_pubkey k = {p->peer_key.rfc3110, p->peer_key.len};
    ike_peer_key(ike_io_core(p->io), a->serial, p->have_key ? &k : NULL, p->allow_null, ike_io_actions(p->io));
}

static void on_kernel_event(const struct kernel_event *ev, void *arg)
{
    if (ev->type == KERNEL_EV_SA_EXPIRED) {
        oe_log("kernel: ESP SA 0x%08x reached its %s lifetime", ev->spi, ev->hard ? "hard" : "soft");
        ike_io_sa_expired(arg, ev->spi, &ev->dst, ev->hard);
    } else if (ev->type == KERNEL_EV_SA_MAPPING) {
        ike_io_sa_mapping(arg, ev->spi, &ev->dst, &ev->src, ev->sport);
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"local", required_argument, 0, 'l'},
                                         {"remote", required_argument, 0, 'r'},
                                         {"auth", required_argument, 0, 'a'},
                                         {"key-file", required_argument, 0, 'k'},
                                         {"peer-key", required_argument, 0, 'p'},
                                         {"initiate", no_argument, 0, 'i'},
                                         {"respond", no_argument, 0, 'R'},
                                         {"log", required_argument, 0, 'L'},
                                         {"up-file", required_argument, 0, 'u'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"salifetime", required_argument, 0, 's'},
                                         {"ikelifetime", required_argument, 0, 'I'},
                                         {0, 0, 0, 0}};
    struct ike_config cfg;
    ike_config_defaults(&cfg);
    struct oe_addr local = {0}, remote = {0};
    const char *keyfile = NULL, *log = "stderr";
    enum ike_authby auth = IKE_AUTHBY_RSASIG;
    bool initiate = false;
    int timeout = 60, c;
    struct peer p;
    struct oe_error err;
    memset(&p, 0, sizeof(p));
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (oe_addr_parse(optarg, &local) != 0)
                goto usage;
            break;
        case 'r':
            if (oe_addr_parse(optarg, &remote) != 0)
                goto usage;
            break;
        case 'a': auth = strcmp(optarg, "null") == 0 ? IKE_AUTHBY_NULL : IKE_AUTHBY_RSASIG; break;
        case 'k': keyfile = optarg; break;
        case 'p':
            if (dnskeys_key_from_text(optarg, 1024, &p.peer_key, &err) != 0) {
                fprintf(stderr, "ike_peer: --peer-key: %s\n", err.msg);
                return 2;
            }
            p.have_key = true;
            break;
        case 'i': initiate = true; break;
        case 'R': initiate = false; break;
        case 'L': log = optarg; break;
        case 'u': p.up_file = optarg; break;
        case 't': timeout = atoi(optarg); break;
        case 's': cfg.child_lifetime_s = (uint32_t)atoi(optarg); break;
        case 'I': cfg.ike_lifetime_s = (uint32_t)atoi(optarg); break;
        default: goto usage;
        }
    }
    if (!local.family || !remote.family)
        goto usage;
    p.allow_null = auth == IKE_AUTHBY_NULL;
    oe_log_open(log, &err);
    struct dnskeys_hostkey *hk = NULL;
    if (keyfile && dnskeys_hostkey_load(keyfile, &hk, &err) != 0) {
        fprintf(stderr, "ike_peer: %s\n", err.msg);
        return 1;
    }
    if (hk)
        cfg.signer = (struct ike_signer){dnskeys_hostkey_sign, hk, NULL};
    struct ike_core *core = ike_core_new(&cfg, &err);
    struct kernel *k = core ? kernel_xfrm_open(&err) : NULL;
    struct ike_io_hooks hooks = {.up = on_up, .down = on_down, .need_key = on_need_key, .arg = &p};
    p.io = k ? ike_io_new(core, k, &local, 1, 500, &hooks, &err) : NULL;
    if (p.io == NULL) {
        fprintf(stderr, "ike_peer: %s\n", err.msg);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (initiate) {
        struct ike_initiate req = {
            .local = {local, 500}, .remote = {remote, 500}, .local_host = local, .remote_host = remote, .auth = auth};
        if (p.have_key)
            req.peer_key = (struct ike_pubkey){p.peer_key.rfc3110, p.peer_key.len};
        ike_initiate(core, &req, ike_io_now(), ike_io_actions(p.io));
        ike_io_apply(p.io, ike_io_actions(p.io));
    }
    uint64_t end = ike_io_now() + (uint64_t)timeout * 1000;
    int fds[5];
    size_t nfds = ike_io_fds(p.io, fds, 4); /* ports 500 and 4500 */
    fds[nfds++] = kernel_fd(k);             /* SA expire events */
    while (!stop && ike_io_now() < end) {
        struct pollfd pfd[5];
        for (size_t i = 0; i < nfds; i++)
            pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        int t = ike_io_timeout(p.io);
        if (t < 0 || t > 200)
            t = 200;
        if (poll(pfd, nfds, t) > 0)
            for (size_t i = 0; i < nfds; i++) {
                if (!(pfd[i].revents & POLLIN))
                    continue;
                if (fds[i] == kernel_fd(k))
                    kernel_process(k, on_kernel_event, p.io, &err);
                else
                    ike_io_readable(p.io, fds[i]);
            }
        ike_io_tick(p.io);
        if (initiate && p.downs > 0 && p.ups == 0)
            break;
    }
    oe_log("ike_peer: exiting (%d up, %d down)", p.ups, p.downs);
    ike_io_free(p.io);
    ike_core_free(core);
    kernel_close(k);
    dnskeys_hostkey_free(hk);
    dnskeys_key_free(&p.peer_key);
    return p.ups > 0 ? 0 : 1;
usage:
    fprintf(stderr, "usage: ike_peer --local ADDR --remote ADDR [--auth null|rsasig] [--key-file F]\n"
                    "                [--peer-key 0sKEY] (--initiate | --respond) [--log FILE] [--up-file PATH]\n"
                    "                [--timeout S] [--salifetime S] [--ikelifetime S]\n");
    return 2;
}
