/*
 * The updown hook: a script run when a tunnel or a shunt comes up or goes
 * down, with the environment libreswan's _updown scripts read, so existing
 * firewall scripts keep working. Run without waiting for it.
 */
#include "agent_updown.h"
#include "agent_internal.h"
#include "log.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((format(printf, 2, 3))) static void add(struct updown_env *e, const char *fmt, ...)
{
    if (e->n >= UPDOWN_ENV_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->var[e->n], sizeof(e->var[0]), fmt, ap);
    va_end(ap);
    e->envp[e->n] = e->var[e->n];
    e->envp[++e->n] = NULL;
}

/*
 * The peer chooses its ID (with NULL auth, freely): up to 63 printable
 * characters. execve with an environment runs no shell, but legacy _updown
 * scripts eval their variables or leave them unquoted; libreswan escapes
 * ' \ " ` $ for the shell command line it builds. We give scripts no shell
 * syntax at all: every character outside what addresses and FQDNs use
 * becomes '_' (not '?', which would glob; not space, which splits words).
 */
#define UPDOWN_SAFE "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.@:_=,+/-"

static const char *shell_inert(const char *in, char *out, size_t len)
{
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < len; i++)
        out[i] = strchr(UPDOWN_SAFE, in[i]) ? in[i] : '_';
    out[i] = '\0';
    return out;
}

void agent_updown_env(const struct oe_peer *p, const char *verb, struct updown_env *e)
{
    char id[sizeof(p->peer_id)];
    char me[OE_ADDR_STRLEN], peer[OE_ADDR_STRLEN], gw[OE_ADDR_STRLEN];
    oe_addr_str(&p->local, me);
    oe_addr_str(&p->remote, peer);
    oe_addr_str(p->gateway.family ? &p->gateway : &p->remote, gw);
    const char *mask = p->remote.family == AF_INET6 ? "128" : "32";
    e->n = 0;
    e->envp[0] = NULL;
    add(e, "PLUTO_VERB=%s", verb);
    add(e, "PLUTO_VERSION=2.0");
    add(e, "PLUTO_CONNECTION=%s", policy_group_name(p->group));
    add(e, "PLUTO_CONNECTION_TYPE=%s", p->state == PEER_TUNNEL ? "tunnel" : "shunt");
    add(e, "PLUTO_ME=%s", me);
    add(e, "PLUTO_MY_CLIENT=%s/%s", me, mask);
    add(e, "PLUTO_MY_CLIENT_NET=%s", me);
    add(e, "PLUTO_PEER=%s", gw);
    add(e, "PLUTO_PEER_CLIENT=%s/%s", peer, mask);
    add(e, "PLUTO_PEER_CLIENT_NET=%s", peer);
    add(e, "PLUTO_PEER_ID=%s", p->peer_id[0] ? shell_inert(p->peer_id, id, sizeof(id)) : peer);
    add(e, "PLUTO_PROTO=esp");
    add(e, "PLUTO_SA_TYPE=%s", p->state == PEER_TUNNEL ? "ESP" : "none");
    add(e, "PLUTO_INBOUND_SPI=0x%08x", p->spi_in);
    add(e, "PLUTO_OUTBOUND_SPI=0x%08x", p->spi_out);
    add(e, "PLUTO_OE_AUTH=%s", peer_auth_name(p->auth));
    add(e, "PLUTO_OE_DNSSEC=%s", peer_dnssec_name(p->dnssec));
    add(e, "PLUTO_OE_SHUNT=%s", p->state == PEER_SHUNT_PASS ? "pass" : p->state == PEER_SHUNT_DROP ? "drop" : "none");
    add(e, "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
}

/*
 * Shunts come and go with every failed or spoofed ACQUIRE: their updown
 * calls (two forks each) are held to updown-shunt-rate a second. A peer
 * whose up-shunt was skipped has its down-shunt skipped too, so a script
 * never sees half a pair.
 */
static bool shunt_over_rate(struct agent *a, struct oe_peer *p, const char *verb)
{
    if (strcmp(verb, "down-shunt") == 0) {
        bool skip = p->updown_skipped;
        p->updown_skipped = false;
        return skip;
    }
    time_t now = a->now();
    if (now != a->updown_second) {
        if (a->updown_skipped)
            oe_log("updown: %u shunt calls skipped in the last second (updown-shunt-rate %u)", a->updown_skipped,
                   a->cfg->updown_shunt_rate);
        a->updown_second = now;
        a->updown_runs = a->updown_skipped = 0;
    }
    p->updown_skipped = a->updown_runs >= a->cfg->updown_shunt_rate;
    if (p->updown_skipped)
        a->updown_skipped++;
    else
        a->updown_runs++;
    return p->updown_skipped;
}

void agent_updown(struct agent *a, struct oe_peer *p, const char *verb)
{
    if (a->cfg->updown[0] == '\0')
        return;
    if (strcmp(verb, "up-shunt") == 0 || strcmp(verb, "down-shunt") == 0) {
        if (shunt_over_rate(a, p, verb))
            return;
    }
    struct updown_env env;
    agent_updown_env(p, verb, &env);
    pid_t pid = fork();
    if (pid == 0) {
        /* a double fork: the agent never waits, and never collects zombies */
        if (fork() == 0) {
            /* the script gets the signals the agent keeps for its event loop */
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            signal(SIGPIPE, SIG_DFL);
            char *argv[] = {(char *)a->cfg->updown, NULL};
            execve(a->cfg->updown, argv, env.envp);
            _exit(127);
        }
        _exit(0);
    }
    if (pid > 0) {
        int status;
        waitpid(pid, &status, 0);
    } else {
        oe_log("updown %s: cannot fork", a->cfg->updown);
    }
}
