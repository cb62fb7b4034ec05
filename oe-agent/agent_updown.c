/*
 * The updown hook: a script run when a tunnel or a shunt comes up or goes
 * down, with the environment libreswan's _updown scripts read, so existing
 * firewall scripts keep working. Run without waiting for it.
 */
#include "agent_internal.h"
#include "log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

void agent_updown(const struct agent *a, const struct oe_peer *p, const char *verb)
{
    if (a->cfg->updown[0] == '\0')
        return;
    char me[OE_ADDR_STRLEN], peer[OE_ADDR_STRLEN], gw[OE_ADDR_STRLEN];
    oe_addr_str(&p->local, me);
    oe_addr_str(&p->remote, peer);
    oe_addr_str(p->gateway.family ? &p->gateway : &p->remote, gw);
    const char *mask = p->remote.family == AF_INET6 ? "128" : "32";
    char env[24][160];
    int n = 0;
    snprintf(env[n++], sizeof(env[0]), "PLUTO_VERB=%s", verb);
    snprintf(env[n++], sizeof(env[0]), "PLUTO_VERSION=2.0");
    snprintf(env[n++], sizeof(env[0]), "PLUTO_CONNECTION=%s", policy_group_name(p->group));
    snprintf(env[n++], sizeof(env[0]), "PLUTO_CONNECTION_TYPE=%s", p->state == PEER_TUNNEL ? "tunnel" : "shunt");
    snprintf(env[n++], sizeof(env[0]), "PLUTO_ME=%s", me);
    snprintf(env[n++], sizeof(env[0]), "PLUTO_MY_CLIENT=%s/%s", me, mask);
    snprintf(env[n++], sizeof(env[0]), "PLUTO_MY_CLIENT_NET=%s", me);
    snprintf(env[n++], sizeof(env[0]), "PLUTO_PEER=%s", gw);
    snprintf(env[n++], sizeof(env[0]), "PLUTO_PEER_CLIENT=%s/%s", peer, mask);
    snprintf(env[n++], sizeof(env[0]), "PLUTO_PEER_CLIENT_NET=%s", peer);
    snprintf(env[n++], sizeof(env[0]), "PLUTO_PEER_ID=%s", p->peer_id[0] ? p->peer_id : peer);
    snprintf(env[n++], sizeof(env[0]), "PLUTO_PROTO=esp");
    snprintf(env[n++], sizeof(env[0]), "PLUTO_SA_TYPE=%s", p->state == PEER_TUNNEL ? "ESP" : "none");
    snprintf(env[n++], sizeof(env[0]), "PLUTO_INBOUND_SPI=0x%08x", p->spi_in);
    snprintf(env[n++], sizeof(env[0]), "PLUTO_OUTBOUND_SPI=0x%08x", p->spi_out);
    snprintf(env[n++], sizeof(env[0]), "PLUTO_OE_AUTH=%s", p->auth[0] ? p->auth : "none");
    snprintf(env[n++], sizeof(env[0]), "PLUTO_OE_DNSSEC=%s", p->dnssec[0] ? p->dnssec : "-");
    snprintf(env[n++], sizeof(env[0]), "PLUTO_OE_SHUNT=%s", p->state == PEER_SHUNT_PASS ? "pass"
                                                        : p->state == PEER_SHUNT_DROP ? "drop" : "none");
    snprintf(env[n++], sizeof(env[0]), "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
    char *envp[25];
    for (int i = 0; i < n; i++)
        envp[i] = env[i];
    envp[n] = NULL;
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
            execve(a->cfg->updown, argv, envp);
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
