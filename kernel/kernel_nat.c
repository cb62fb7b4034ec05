/*
 * Client address translation in nftables: the agent's one table, its
 * scripts, and `nft -f -` to run them.
 *
 * The table holds two chains and four maps. The chains never change: SNAT
 * in postrouting for a packet an IPsec policy took (rt ipsec exists: its
 * route is an XFRM bundle), keyed by (source, destination) -> lease; DNAT in
 * prerouting for a packet that came out of an SA (meta ipsec exists: it has
 * a secpath), keyed by (peer, lease) -> our address. A translation is one
 * element in each map of its family, so adding and removing one touches no
 * rule, and a lookup that finds no element leaves the packet alone. The
 * ESP packets themselves (their route no longer a bundle) and everything
 * the tunnels do not carry never match. Libreswan's _updown does the same
 * with iptables' policy match (addcat, delcat).
 */
#include "kernel_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* table, delete, table: no error whether or not a previous run left one */
#define NAT_GONE "table " KERNEL_NAT_TABLE "\ndelete table " KERNEL_NAT_TABLE "\n"

static const char nat_table[] =
    "table " KERNEL_NAT_TABLE " {\n"
    "  map snat4 { type ipv4_addr . ipv4_addr : ipv4_addr; }\n"
    "  map dnat4 { type ipv4_addr . ipv4_addr : ipv4_addr; }\n"
    "  map snat6 { type ipv6_addr . ipv6_addr : ipv6_addr; }\n"
    "  map dnat6 { type ipv6_addr . ipv6_addr : ipv6_addr; }\n"
    /* before the host's own NAT chains, so that a masquerade there never sees our inner packets first */
    "  chain postrouting {\n"
    "    type nat hook postrouting priority srcnat - 10; policy accept;\n"
    "    rt ipsec exists snat ip to ip saddr . ip daddr map @snat4\n"
    "    rt ipsec exists snat ip6 to ip6 saddr . ip6 daddr map @snat6\n"
    "  }\n"
    "  chain prerouting {\n"
    "    type nat hook prerouting priority dstnat - 10; policy accept;\n"
    "    meta ipsec exists dnat ip to ip saddr . ip daddr map @dnat4\n"
    "    meta ipsec exists dnat ip6 to ip6 saddr . ip6 daddr map @dnat6\n"
    "  }\n"
    "}\n";

static bool nat_valid(const struct kernel_nat *n)
{
    return n != NULL && (n->local.family == AF_INET || n->local.family == AF_INET6) &&
           n->lease.family == n->local.family && n->peer.family == n->local.family;
}

int kernel_nat_script(enum kernel_nat_op op, const struct kernel_nat *n, char *buf, size_t len)
{
    int w;
    if (op == KERNEL_NAT_FLUSH || op == KERNEL_NAT_CREATE) {
        w = snprintf(buf, len, "%s%s", NAT_GONE, op == KERNEL_NAT_CREATE ? nat_table : "");
    } else {
        if (!nat_valid(n))
            return -1;
        char l[OE_ADDR_STRLEN], s[OE_ADDR_STRLEN], p[OE_ADDR_STRLEN];
        const char *f = n->local.family == AF_INET6 ? "6" : "4";
        oe_addr_str(&n->local, l);
        oe_addr_str(&n->lease, s);
        oe_addr_str(&n->peer, p);
        char key_s[2 * OE_ADDR_STRLEN + 4], key_d[2 * OE_ADDR_STRLEN + 4];
        snprintf(key_s, sizeof(key_s), "%s . %s", l, p);
        snprintf(key_d, sizeof(key_d), "%s . %s", p, s);
        if (op == KERNEL_NAT_ADD)
            w = snprintf(buf, len,
                         "add element " KERNEL_NAT_TABLE " snat%s { %s : %s }\n"
                         "add element " KERNEL_NAT_TABLE " dnat%s { %s : %s }\n",
                         f, key_s, s, f, key_d, l);
        else
            w = snprintf(buf, len,
                         "delete element " KERNEL_NAT_TABLE " snat%s { %s }\n"
                         "delete element " KERNEL_NAT_TABLE " dnat%s { %s }\n",
                         f, key_s, f, key_d);
    }
    return w < 0 || (size_t)w >= len ? -1 : w;
}

/* The nft binary: Debian's, else the first on PATH. */
static const char *nft_path(void)
{
    return access("/usr/sbin/nft", X_OK) == 0 ? "/usr/sbin/nft" : "nft";
}

/*
 * `nft -f -` with script on its standard input; its error output becomes
 * err's text. nft answers in milliseconds, so the caller waits for it.
 * absent_ok: no nft installed is success (there is no table to remove).
 */
static int nft_run(const char *script, const char *what, bool absent_ok, struct oe_error *err)
{
    int in[2], er[2];
    if (pipe2(in, O_CLOEXEC) != 0) {
        oe_error_setc(err, OE_E_SYSTEM, "nftables (%s): pipe: %s", what, strerror(errno));
        return -1;
    }
    if (pipe2(er, O_CLOEXEC) != 0) {
        oe_error_setc(err, OE_E_SYSTEM, "nftables (%s): pipe: %s", what, strerror(errno));
        close(in[0]);
        close(in[1]);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, er[1], 2);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_init(&at);
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE); /* the agent ignores it; nft gets the default */
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF);
    const char *path = nft_path();
    char *argv[] = {(char *)path, "-f", "-", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, path, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(in[0]);
    close(er[1]);
    if (rc != 0) {
        close(in[1]);
        close(er[0]);
        if (rc == ENOENT && absent_ok)
            return 0;
        oe_error_setc(err, OE_E_SYSTEM, "nftables (%s): cannot run %s: %s", what, path, strerror(rc));
        return -1;
    }
    /* a few hundred octets: the pipe takes them at once (a dead nft: EPIPE, told by its status) */
    size_t len = strlen(script), off = 0;
    while (off < len) {
        ssize_t w = write(in[1], script + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(in[1]);
    char msg[400];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(er[0], msg + got, sizeof(msg) - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == sizeof(msg) - 1) {
            char sink[256]; /* the rest is read and dropped, so that nft never blocks on it */
            while (read(er[0], sink, sizeof(sink)) > 0)
                ;
            break;
        }
    }
    close(er[0]);
    msg[got] = '\0';
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\t')
            *c = ' ';
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            oe_error_setc(err, OE_E_SYSTEM, "nftables (%s): waitpid: %s", what, strerror(errno));
            return -1;
        }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        oe_error_setc(err, OE_E_SYSTEM, "nftables (%s): %s failed (%s %d): %s", what, path,
                      WIFEXITED(status) ? "exit" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                      got ? msg : "no message");
        return -1;
    }
    return 0;
}

static int nat_script_run(enum kernel_nat_op op, const struct kernel_nat *n, const char *what, struct oe_error *err)
{
    /* only a flush may find nft missing: with no nft, nothing made a table (and a translation needs it) */
    bool absent_ok = op == KERNEL_NAT_FLUSH;
    char script[2048];
    if (kernel_nat_script(op, n, script, sizeof(script)) < 0) {
        oe_error_set(err, "nftables (%s): no script for these addresses", what);
        return -1;
    }
    return nft_run(script, what, absent_ok, err);
}

int kernel_nft_add(struct kernel *k, const struct kernel_nat *n, struct oe_error *err)
{
    if (!k->nat_table) {
        /* this run's first: the table anew (whatever an earlier run left goes with it) */
        if (nat_script_run(KERNEL_NAT_CREATE, NULL, "creating table " KERNEL_NAT_TABLE, err) != 0)
            return -1;
        k->nat_table = true;
    }
    return nat_script_run(KERNEL_NAT_ADD, n, "adding a translation", err);
}

int kernel_nft_del(struct kernel *k, const struct kernel_nat *n, struct oe_error *err)
{
    if (!k->nat_table)
        return 0; /* never made in this run; a previous run's went at start */
    return nat_script_run(KERNEL_NAT_DEL, n, "removing a translation", err);
}

int kernel_nft_flush(struct kernel *k, struct oe_error *err)
{
    k->nat_table = false;
    return nat_script_run(KERNEL_NAT_FLUSH, NULL, "removing table " KERNEL_NAT_TABLE, err);
}
