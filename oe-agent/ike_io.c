#include "ike_io.h"
#include "log.h"
#include "timers.h"

#include <errno.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Datagrams read from one socket before the others get their turn. */
#define IO_READ_BUDGET 64
/* Sockets whose readiness one turn takes from the io's epoll set. */
#define IO_EVENTS_PER_TURN 64

struct io_socket {
    int fd;
    struct ike_endpoint ep;
    bool natt; /* port 4500: IKE behind a 4-octet non-ESP marker, ESP in UDP for the kernel */
};

struct io_tunnel;

struct ike_io {
    struct ike_core *core;
    struct kernel *k;
    struct ike_io_hooks hooks;
    uint16_t port; /* 500 (with 4500 beside it), or another for tests */
    int epfd;      /* every socket's readiness: one fd for the caller's event loop */
    struct io_socket **socks;
    size_t nsocks, capsocks;
    struct timers *timers; /* one per IKE SA serial */
    struct ike_actions acts;
    struct io_tunnel *tunnels; /* the policies each host pair's tunnel has in the kernel */
    size_t ntunnels, captunnels;
};

uint64_t ike_io_now(void)
{
    return oe_monotonic_ms();
}

struct ike_core *ike_io_core(struct ike_io *io)
{
    return io->core;
}

static socklen_t to_sockaddr(const struct oe_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        memcpy(&in->sin_addr, a->bytes, 4);
        return sizeof(*in);
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    memcpy(&in6->sin6_addr, a->bytes, 16);
    return sizeof(*in6);
}

/* IKE itself must never go into a tunnel: a per-socket bypass policy. */
static int bypass(int fd, int family)
{
    struct xfrm_userpolicy_info pol;
    memset(&pol, 0, sizeof(pol));
    pol.action = XFRM_POLICY_ALLOW;
    pol.sel.family = (uint16_t)family;
    int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    int opt = family == AF_INET ? IP_XFRM_POLICY : IPV6_XFRM_POLICY;
    for (int dir = XFRM_POLICY_IN; dir <= XFRM_POLICY_OUT; dir++) {
        pol.dir = (uint8_t)dir;
        if (setsockopt(fd, level, opt, &pol, sizeof(pol)) != 0)
            return -1;
    }
    return 0;
}

static int open_socket(const struct oe_addr *a, uint16_t port, struct io_socket *s, struct oe_error *err)
{
    char str[OE_ADDR_STRLEN];
    int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(a, port, &ss);
    int encap = UDP_ENCAP_ESPINUDP; /* RFC 3948: the kernel takes the ESP, leaves us the IKE */
    bool natt = port == IKE_NATT_PORT;
    /* an IPv6 address is tentative for a while after it appears: bind it all the same */
    int one = 1;
    if (fd >= 0 && a->family == AF_INET)
        setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
    else if (fd >= 0)
        setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0 || bypass(fd, a->family) != 0 ||
        (natt && setsockopt(fd, IPPROTO_UDP, UDP_ENCAP, &encap, sizeof(encap)) != 0) ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        oe_error_set(err, "IKE socket on %s port %u: %s", oe_addr_str(a, str), port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    s->fd = fd;
    s->natt = natt;
    s->ep.addr = *a;
    s->ep.port =
        ntohs(a->family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

static bool listening_on(const struct ike_io *io, const struct oe_addr *a)
{
    for (size_t i = 0; i < io->nsocks; i++)
        if (oe_addr_eq(&io->socks[i]->ep.addr, a))
            return true;
    return false;
}

static void close_socket(struct ike_io *io, size_t i)
{
    struct io_socket *s = io->socks[i];
    epoll_ctl(io->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    free(s);
    io->socks[i] = io->socks[--io->nsocks];
}

/* One socket on a's port, in the io's epoll set. */
static int add_socket(struct ike_io *io, const struct oe_addr *a, uint16_t port, struct oe_error *err)
{
    if (io->nsocks == io->capsocks) {
        size_t cap = io->capsocks ? io->capsocks * 2 : 8;
        struct io_socket **v = realloc(io->socks, cap * sizeof(*v));
        if (v == NULL) {
            oe_error_set(err, "out of memory");
            return -1;
        }
        io->socks = v;
        io->capsocks = cap;
    }
    struct io_socket *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        oe_error_set(err, "out of memory");
        return -1;
    }
    if (open_socket(a, port, s, err) != 0) {
        free(s);
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        char str[OE_ADDR_STRLEN];
        oe_error_set(err, "IKE socket on %s port %u: %s", oe_addr_str(a, str), port, strerror(errno));
        close(s->fd);
        free(s);
        return -1;
    }
    io->socks[io->nsocks++] = s;
    return 0;
}

int ike_io_source_for(const struct oe_addr *remote, struct oe_addr *local, struct oe_error *err)
{
    char r[OE_ADDR_STRLEN];
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(remote, 500, &ss); /* any port: only the route matters */
    int fd = socket(remote->family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    /* connect() sends nothing but looks the route up, through XFRM too: bypassed, it traps nothing */
    if (fd < 0 || bypass(fd, remote->family) != 0 || connect(fd, (struct sockaddr *)&ss, sl) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &(socklen_t){sizeof(ss)}) != 0) {
        oe_error_set(err, "no route to %s: %s", oe_addr_str(remote, r), strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    memset(local, 0, sizeof(*local));
    local->family = remote->family;
    if (remote->family == AF_INET)
        memcpy(local->bytes, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    else
        memcpy(local->bytes, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    return 0;
}

int ike_io_listen(struct ike_io *io, const struct oe_addr *a, struct oe_error *err)
{
    if (listening_on(io, a))
        return 0;
    /* port 500 comes with NAT traversal's 4500; another port (tests) alone */
    if (add_socket(io, a, io->port, err) != 0)
        return -1;
    if (io->port == 500 && add_socket(io, a, IKE_NATT_PORT, err) != 0) {
        ike_io_unlisten(io, a);
        return -1;
    }
    return 0;
}

void ike_io_unlisten(struct ike_io *io, const struct oe_addr *a)
{
    for (size_t i = io->nsocks; i-- > 0;)
        if (oe_addr_eq(&io->socks[i]->ep.addr, a))
            close_socket(io, i);
}

struct ike_io *ike_io_new(struct ike_core *core, struct kernel *k, const struct oe_addr *addrs, size_t n, uint16_t port,
                          const struct ike_io_hooks *hooks, struct oe_error *err)
{
    struct ike_io *io = calloc(1, sizeof(*io));
    if (io == NULL) {
        oe_error_set(err, "out of memory");
        return NULL;
    }
    io->core = core;
    io->k = k;
    io->hooks = *hooks;
    io->port = port;
    io->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (io->epfd < 0) {
        oe_error_set(err, "IKE sockets: epoll: %s", strerror(errno));
        free(io);
        return NULL;
    }
    if ((io->timers = timers_new()) == NULL) {
        oe_error_set(err, "out of memory");
        close(io->epfd);
        free(io);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (ike_io_listen(io, &addrs[i], err) != 0) {
            ike_io_free(io);
            return NULL;
        }
    }
    return io;
}

void ike_io_free(struct ike_io *io)
{
    if (io == NULL)
        return;
    while (io->nsocks > 0)
        close_socket(io, io->nsocks - 1);
    free(io->socks);
    close(io->epfd);
    ike_actions_clear(&io->acts);
    free(io->acts.v);
    timers_free(io->timers);
    free(io->tunnels);
    free(io);
}

size_t ike_io_fds(const struct ike_io *io, int *fds, size_t max)
{
    if (max == 0)
        return 0;
    fds[0] = io->epfd;
    return 1;
}

static const struct io_socket *socket_for(const struct ike_io *io, const struct ike_endpoint *local)
{
    const struct io_socket *any = NULL;
    for (size_t i = 0; i < io->nsocks; i++) {
        const struct io_socket *s = io->socks[i];
        if (!oe_addr_eq(&s->ep.addr, &local->addr))
            continue;
        if (s->ep.port == local->port)
            return s;
        if (any == NULL && !s->natt)
            any = s;
    }
    return any;
}

static void send_to(struct ike_io *io, const struct ike_action *a)
{
    const struct io_socket *s = socket_for(io, &a->local);
    char r[OE_ADDR_STRLEN];
    if (s == NULL) {
        oe_log("#%u: no IKE socket on the local address to send from", a->serial);
        return;
    }
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(&a->remote.addr, a->remote.port, &ss);
    /* RFC 3948 2.2: on 4500 IKE goes behind a zero non-ESP marker; a keepalive goes bare */
    static const uint8_t marker[4];
    bool mark = s->natt && !(a->len == 1 && a->msg[0] == IKE_NATT_KEEPALIVE);
    struct iovec iov[2] = {{(void *)marker, mark ? sizeof(marker) : 0}, {a->msg, a->len}};
    struct msghdr mh = {.msg_name = &ss, .msg_namelen = sl, .msg_iov = iov, .msg_iovlen = 2};
    if (sendmsg(s->fd, &mh, 0) < 0)
        oe_log("#%u: sending %zu octets to %s:%u failed: %s", a->serial, a->len, oe_addr_str(&a->remote.addr, r),
               a->remote.port, strerror(errno));
}

static void arm(struct ike_io *io, unsigned serial, uint32_t ms)
{
    if (timers_arm(io->timers, serial, ike_io_now() + ms) != 0)
        oe_log("#%u: cannot arm a timer (out of memory): this IKE SA will not retransmit or expire", serial);
}

/*
 * What a tunnel's policies were installed with, per host pair (the kernel
 * knows a policy by its selector): its removal takes exactly those, even
 * after a reload changed what the policy lines would say now.
 */
struct io_tunnel {
    struct oe_addr local_host, remote_host;
    struct oe_addr local, remote; /* the SAs' outer addresses */
    uint32_t reqid;               /* the Child SA that installed them */
    bool out_waiting;             /* its outbound policies are kept back (hooks.out_waits) */
    size_t n;
    struct ike_io_selector sel[IKE_IO_TUNNEL_SELECTORS];
};

static struct io_tunnel *tunnel_find(struct ike_io *io, const struct ike_child_sa *c)
{
    for (size_t i = 0; i < io->ntunnels; i++)
        if (oe_addr_eq(&io->tunnels[i].local_host, &c->local_host) &&
            oe_addr_eq(&io->tunnels[i].remote_host, &c->remote_host))
            return &io->tunnels[i];
    return NULL;
}

static void tunnel_forget(struct ike_io *io, struct io_tunnel *t)
{
    *t = io->tunnels[--io->ntunnels];
}

/* The selectors the caller's hook gives a tunnel between c's hosts; logs when the limit cuts them. */
static void tunnel_selectors(struct ike_io *io, const struct ike_child_sa *c, unsigned serial, struct io_tunnel *t)
{
    memset(t, 0, sizeof(*t));
    t->local_host = c->local_host;
    t->remote_host = c->remote_host;
    t->reqid = c->reqid;
    if (io->hooks.tunnel_selectors == NULL || (c->lease.family && oe_addr_eq(&c->lease, &c->remote_host))) {
        /* host to host, any protocol, ranked at the /32; a lease is ours, not a policy line's: all of it */
        t->n = 1;
        return;
    }
    size_t want =
        io->hooks.tunnel_selectors(io->hooks.arg, &c->local_host, &c->remote_host, t->sel, IKE_IO_TUNNEL_SELECTORS);
    t->n = want < IKE_IO_TUNNEL_SELECTORS ? want : IKE_IO_TUNNEL_SELECTORS;
    char r[OE_ADDR_STRLEN];
    if (want > IKE_IO_TUNNEL_SELECTORS)
        oe_log("#%u: the tunnel to %s would carry %zu policy lines; only the first %d get its policies "
               "(IKE_IO_TUNNEL_SELECTORS), the others' traffic stays trapped",
               serial, oe_addr_str(&c->remote_host, r), want, IKE_IO_TUNNEL_SELECTORS);
    else if (want == 0)
        oe_log("#%u: no policy line covering %s wants a tunnel now; it carries nothing", serial,
               oe_addr_str(&c->remote_host, r));
}

/* One selector's out and in; and fwd when the local end is a host behind us (we are its gateway): how many */
static int tunnel_policies(const struct ike_child_sa *c, const struct ike_io_selector *sel, struct kernel_policy p[3])
{
    /* a lease the peer gave us stands for our own address (prenat_policy): no host behind us */
    bool ours = oe_addr_eq(&c->local_host, &c->local) || (c->lease.family && oe_addr_eq(&c->lease, &c->local_host));
    int n = ours ? 2 : 3;
    memset(p, 0, 3 * sizeof(*p));
    for (int i = 0; i < n; i++) {
        bool out = i == 0;
        p[i].dir = out ? KERNEL_DIR_OUT : i == 1 ? KERNEL_DIR_IN : KERNEL_DIR_FWD;
        p[i].action = KERNEL_TUNNEL;
        p[i].origin = KERNEL_ORIGIN_PEER;
        oe_prefix_host(out ? &c->local_host : &c->remote_host, &p[i].src);
        oe_prefix_host(out ? &c->remote_host : &c->local_host, &p[i].dst);
        p[i].proto = sel->proto;
        p[i].sport = out ? sel->lport : sel->rport;
        p[i].dport = out ? sel->rport : sel->lport;
        p[i].rank = sel->rank;
        p[i].tmpl_src = out ? c->local : c->remote;
        p[i].tmpl_dst = out ? c->remote : c->local;
        p[i].reqid = c->reqid;
    }
    return n;
}

/*
 * A lease the responder gave us (client address translation): the tunnel is
 * for it, our packets to the peer leave from our own address (c->local) and
 * are translated to it (kernel_nat). The outbound policy for that pre-NAT
 * source catches them for IPsec before the translation; false: no lease.
 */
static bool leased_to_us(const struct ike_child_sa *c)
{
    return c->lease.family && oe_addr_eq(&c->lease, &c->local_host) && !oe_addr_eq(&c->local_host, &c->local);
}

static bool prenat_policy(const struct ike_child_sa *c, const struct ike_io_selector *sel, struct kernel_policy *p)
{
    if (!leased_to_us(c))
        return false;
    struct kernel_policy v[3];
    tunnel_policies(c, sel, v);
    *p = v[0];
    oe_prefix_host(&c->local, &p->src);
    return true;
}

static void nat_of(const struct ike_child_sa *c, struct kernel_nat *n)
{
    n->local = c->local;
    n->lease = c->local_host;
    n->peer = c->remote_host;
}

static bool has_selector(const struct io_tunnel *t, const struct ike_io_selector *s)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->sel[i].proto == s->proto && t->sel[i].lport == s->lport && t->sel[i].rport == s->rport)
            return true;
    return false;
}

/* Remove t's policies, all directions, but none of a selector that keep also has. */
static void remove_policies(struct ike_io *io, const struct ike_child_sa *c, const struct io_tunnel *t,
                            const struct io_tunnel *keep)
{
    struct oe_error err;
    struct kernel_policy p[3];
    for (size_t s = 0; s < t->n; s++) {
        if (keep && has_selector(keep, &t->sel[s]))
            continue;
        int np = tunnel_policies(c, &t->sel[s], p);
        for (int i = 0; i < np; i++)
            kernel_remove(io->k, &p[i], &err);
        if (prenat_policy(c, &t->sel[s], &p[0]))
            kernel_remove(io->k, &p[0], &err);
    }
}

/*
 * The record of c's host pair: that of an earlier INSTALL of the same Child
 * SA (its other direction), or new. Another Child SA's record (a twin after
 * simultaneous initiation) gives way: what it had and the new one has not is
 * removed after the new ones are in (install_policies).
 */
static struct io_tunnel *tunnel_record(struct ike_io *io, const struct ike_child_sa *c, unsigned serial,
                                       struct io_tunnel *old, bool *had_old)
{
    struct io_tunnel *t = tunnel_find(io, c);
    *had_old = false;
    if (t != NULL && t->reqid == c->reqid)
        return t;
    if (t != NULL) {
        *old = *t;
        *had_old = true;
    } else {
        if (io->ntunnels == io->captunnels) {
            size_t cap = io->captunnels ? io->captunnels * 2 : 8;
            struct io_tunnel *v = realloc(io->tunnels, cap * sizeof(*v));
            if (v == NULL)
                return NULL;
            io->tunnels = v;
            io->captunnels = cap;
        }
        t = &io->tunnels[io->ntunnels++];
    }
    tunnel_selectors(io, c, serial, t);
    return t;
}

static void install_policies(struct ike_io *io, const struct ike_action *a)
{
    const struct ike_child_sa *c = &a->child;
    struct io_tunnel old;
    bool had_old;
    struct oe_error err;
    char r[OE_ADDR_STRLEN];
    struct io_tunnel *t = tunnel_record(io, c, a->serial + 1, &old, &had_old);
    if (t == NULL) {
        /* fail closed: without policies the host's traffic stays trapped */
        oe_log("#%u: no policies for the tunnel to %s: out of memory", a->serial + 1, oe_addr_str(&c->remote_host, r));
        return;
    }
    t->local = c->local;
    t->remote = c->remote;
    /* a leased tunnel's held packets go by the pre-NAT policy, at once; the lease's own out policy is
     * what the translated packets need, and the agent would look for the waiting tunnel by the
     * hosts it held (our own address), not the lease: it must not wait */
    t->out_waiting = c->spi_out && !leased_to_us(c) && io->hooks.out_waits && io->hooks.out_waits(io->hooks.arg, a);
    struct kernel_policy p[3];
    if (leased_to_us(c) && c->spi_out) {
        /* the translation first: the pre-NAT policy below releases the held packets */
        struct kernel_nat n;
        char l[OE_ADDR_STRLEN], m[OE_ADDR_STRLEN];
        nat_of(c, &n);
        if (kernel_nat_add(io->k, &n, &err) != 0)
            oe_log("#%u: %s", a->serial + 1, err.msg);
        else
            oe_log("#%u: translating %s to the lease %s for the tunnel to %s (nftables table %s)", a->serial + 1,
                   oe_addr_str(&n.local, l), oe_addr_str(&n.lease, m), oe_addr_str(&c->remote_host, r),
                   KERNEL_NAT_TABLE);
    }
    for (size_t s = 0; s < t->n; s++) {
        int np = tunnel_policies(c, &t->sel[s], p);
        /* out (p[0]) last: when it replaces the hold, the held packets go at once, and the
         * answers they bring must find the in and fwd policies already there */
        for (int i = np - 1; i >= 0; i--) {
            /* an INSTALL of one direction writes that direction's policies */
            if ((p[i].dir == KERNEL_DIR_OUT ? c->spi_out : c->spi_in) == 0)
                continue;
            if (p[i].dir == KERNEL_DIR_OUT && t->out_waiting)
                continue;
            if (kernel_install(io->k, &p[i], &err) != 0)
                oe_log("#%u: %s", a->serial + 1, err.msg);
        }
        if (c->spi_out && prenat_policy(c, &t->sel[s], &p[0]) && kernel_install(io->k, &p[0], &err) != 0)
            oe_log("#%u: %s", a->serial + 1, err.msg);
    }
    if (had_old)
        remove_policies(io, c, &old, t);
}

void ike_io_release_out(struct ike_io *io, const struct oe_addr *local_host, const struct oe_addr *remote_host)
{
    struct ike_child_sa c;
    memset(&c, 0, sizeof(c));
    c.local_host = *local_host;
    c.remote_host = *remote_host;
    struct io_tunnel *t = tunnel_find(io, &c);
    if (t == NULL || !t->out_waiting)
        return; /* gone meanwhile, or a twin's INSTALL wrote them */
    t->out_waiting = false;
    c.local = t->local;
    c.remote = t->remote;
    c.reqid = t->reqid;
    struct oe_error err;
    char r[OE_ADDR_STRLEN];
    struct kernel_policy p[3];
    for (size_t s = 0; s < t->n; s++) {
        tunnel_policies(&c, &t->sel[s], p);
        if (kernel_install(io->k, &p[0], &err) != 0)
            oe_log("tunnel to %s: %s", oe_addr_str(remote_host, r), err.msg);
    }
}

static void install(struct ike_io *io, const struct ike_action *a)
{
    const struct ike_child_sa *c = &a->child;
    struct kernel_sa sa[2];
    struct oe_error err;
    memset(sa, 0, sizeof(sa));
    /* a rekey: inbound first, the peer sends on the new pair as soon as it has it (a rekey
     * the peer started has its outbound SA later, on its own); otherwise outbound first */
    for (int i = 0; i < 2; i++) {
        bool out = c->sas_only ? i == 1 : i == 0;
        if ((out ? c->spi_out : c->spi_in) == 0)
            continue;
        sa[i].spi = out ? c->spi_out : c->spi_in;
        sa[i].src = out ? c->local : c->remote;
        sa[i].dst = out ? c->remote : c->local;
        oe_prefix_host(out ? &c->local_host : &c->remote_host, &sa[i].sel_src);
        if (out && leased_to_us(c))
            sa[i].sel_src.len = 0; /* it carries our packets from before the translation as well as after */
        oe_prefix_host(out ? &c->remote_host : &c->local_host, &sa[i].sel_dst);
        sa[i].reqid = c->reqid;
        if (out && !c->sas_only && io->hooks.acquire_seq)
            sa[i].acquire_seq = io->hooks.acquire_seq(io->hooks.arg, a);
        memcpy(sa[i].key, out ? c->key_out : c->key_in, c->key_len);
        sa[i].key_len = c->key_len;
        if (c->integ) {
            sa[i].auth_bits = (unsigned)c->integ_len * 8;
            memcpy(sa[i].auth_key, out ? c->integ_out : c->integ_in, c->integ_len);
        }
        sa[i].soft_seconds = c->soft_s;
        sa[i].hard_seconds = c->hard_s;
        sa[i].encap_sport = out ? c->encap_local : c->encap_remote;
        sa[i].encap_dport = out ? c->encap_remote : c->encap_local;
        if (kernel_sa_add(io->k, &sa[i], &err) != 0)
            oe_log("#%u: %s", a->serial + 1, err.msg);
    }
    oe_wipe(sa, sizeof(sa));
    if (!c->sas_only)
        install_policies(io, a);
}

/* The tunnel's policies of those directions again, with c's template addresses (kernel_install replaces). */
static void retemplate(struct ike_io *io, const struct ike_action *a, bool out)
{
    const struct ike_child_sa *c = &a->child;
    const struct io_tunnel *t = tunnel_find(io, c);
    struct kernel_policy p[3];
    struct oe_error err;
    for (size_t s = 0; t != NULL && t->reqid == c->reqid && s < t->n; s++) {
        int np = tunnel_policies(c, &t->sel[s], p);
        for (int i = 0; i < np; i++)
            if ((p[i].dir == KERNEL_DIR_OUT) == out && kernel_install(io->k, &p[i], &err) != 0)
                oe_log("#%u: %s", a->serial + 1, err.msg);
    }
}

/*
 * The peer's NAT remapped it (RFC 7296 2.23; the core logged it): the pair
 * follows, keys and sequence numbers kept, and when its address changed the
 * policies' templates too. Outbound first, each SA before its policies, so
 * that what the policy names is there.
 */
static void move_endpoints(struct ike_io *io, const struct ike_action *a)
{
    const struct ike_child_sa *c = &a->child;
    struct oe_error err;
    bool addr_moved = !oe_addr_eq(&a->moved_from.addr, &c->remote), out_moved = true;
    if (c->spi_out) {
        struct kernel_sa_move m = {.spi = c->spi_out,
                                   .old_dst = a->moved_from.addr,
                                   .src = c->local,
                                   .dst = c->remote,
                                   .encap_sport = c->encap_local,
                                   .encap_dport = c->encap_remote};
        if (kernel_sa_move(io->k, &m, &err) != 0) {
            /* the policy keeps naming the SA that is still there (the old place) */
            oe_log("#%u: %s; the outbound policy stays", a->serial + 1, err.msg);
            out_moved = false;
        }
    }
    if (addr_moved && !c->sas_only && out_moved)
        retemplate(io, a, true);
    if (c->spi_in) {
        struct kernel_sa_move m = {.spi = c->spi_in,
                                   .old_dst = c->local,
                                   .src = c->remote,
                                   .dst = c->local,
                                   .encap_sport = c->encap_remote,
                                   .encap_dport = c->encap_local};
        if (kernel_sa_move(io->k, &m, &err) != 0)
            oe_log("#%u: %s", a->serial + 1, err.msg);
    }
    if (addr_moved && !c->sas_only)
        retemplate(io, a, false);
}

void ike_io_sa_mapping(struct ike_io *io, uint32_t spi, const struct oe_addr *dst, const struct oe_addr *src,
                       uint16_t sport)
{
    struct ike_endpoint peer = {.addr = *src, .port = sport};
    ike_esp_mapping(io->core, spi, dst, &peer, ike_io_now(), &io->acts);
    ike_io_apply(io, &io->acts);
}

static void uninstall(struct ike_io *io, const struct ike_action *a)
{
    const struct ike_child_sa *c = &a->child;
    struct oe_error err;
    if (!c->sas_only) {
        /* what was installed for the pair; without a record, what the policy says now */
        struct io_tunnel *t = tunnel_find(io, c), now;
        if (t == NULL)
            tunnel_selectors(io, c, a->serial + 1, &now);
        remove_policies(io, c, t ? t : &now, NULL);
        if (t != NULL)
            tunnel_forget(io, t);
        struct kernel_nat n;
        nat_of(c, &n);
        if (leased_to_us(c) && kernel_nat_del(io->k, &n, &err) != 0)
            oe_log("#%u: %s", a->serial + 1, err.msg);
    }
    if (c->spi_out && kernel_sa_del(io->k, c->spi_out, &c->remote, &err) != 0)
        oe_log("#%u: %s", a->serial + 1, err.msg);
    if (c->spi_in && kernel_sa_del(io->k, c->spi_in, &c->local, &err) != 0)
        oe_log("#%u: %s", a->serial + 1, err.msg);
}

void ike_io_sa_expired(struct ike_io *io, uint32_t spi, const struct oe_addr *dst, bool hard)
{
    ike_child_expired(io->core, spi, dst, hard, ike_io_now(), &io->acts);
    ike_io_apply(io, &io->acts);
}

struct ike_actions *ike_io_actions(struct ike_io *io)
{
    return &io->acts;
}

void ike_io_apply(struct ike_io *io, struct ike_actions *acts)
{
    /* hooks may feed the core again: they append to io->acts, applied after these */
    struct ike_actions take = *acts;
    memset(acts, 0, sizeof(*acts));
    for (size_t i = 0; i < take.n; i++) {
        const struct ike_action *a = &take.v[i];
        switch (a->kind) {
        case IKE_ACT_SEND: send_to(io, a); break;
        case IKE_ACT_TIMER: arm(io, a->serial, a->ms); break;
        case IKE_ACT_INSTALL: install(io, a); break;
        case IKE_ACT_DELETE: uninstall(io, a); break;
        case IKE_ACT_UPDATE_ENDPOINTS:
            move_endpoints(io, a);
            if (!a->child.sas_only && io->hooks.moved)
                io->hooks.moved(io->hooks.arg, a);
            break;
        case IKE_ACT_LOG: oe_log("#%u: %s", a->serial, a->text); break;
        case IKE_ACT_UP:
            if (io->hooks.up)
                io->hooks.up(io->hooks.arg, a);
            break;
        case IKE_ACT_DOWN:
            oe_log("#%u: IKE SA gone: %s", a->serial, a->text);
            if (io->hooks.down)
                io->hooks.down(io->hooks.arg, a);
            break;
        case IKE_ACT_NEED_KEY:
            if (io->hooks.need_key)
                io->hooks.need_key(io->hooks.arg, a);
            break;
        case IKE_ACT_REKEYED:
            if (io->hooks.rekeyed)
                io->hooks.rekeyed(io->hooks.arg, a);
            break;
        }
    }
    ike_actions_clear(&take);
    free(take.v);
    if (io->acts.n > 0)
        ike_io_apply(io, &io->acts);
}

static void read_socket(struct ike_io *io, const struct io_socket *s)
{
    uint8_t buf[65536];
    for (int n = 0; n < IO_READ_BUDGET; n++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t r = recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (r < 0)
            return;
        struct ike_endpoint remote = {0};
        remote.addr.family = (uint8_t)from.ss_family;
        if (from.ss_family == AF_INET) {
            memcpy(remote.addr.bytes, &((struct sockaddr_in *)&from)->sin_addr, 4);
            remote.port = ntohs(((struct sockaddr_in *)&from)->sin_port);
        } else {
            memcpy(remote.addr.bytes, &((struct sockaddr_in6 *)&from)->sin6_addr, 16);
            remote.port = ntohs(((struct sockaddr_in6 *)&from)->sin6_port);
        }
        size_t skip = 0;
        if (s->natt) {
            /* the kernel keeps ESP and keepalives; anything else must carry the marker */
            if (r < 4 || buf[0] | buf[1] | buf[2] | buf[3])
                continue;
            skip = 4;
        }
        ike_receive(io->core, &s->ep, &remote, buf + skip, (size_t)r - skip, ike_io_now(), &io->acts);
        ike_io_apply(io, &io->acts);
    }
}

void ike_io_readable(struct ike_io *io, int fd)
{
    if (fd != io->epfd)
        return;
    /* no socket is closed while these are handled: address changes come by another fd */
    struct epoll_event evs[IO_EVENTS_PER_TURN];
    int n = epoll_wait(io->epfd, evs, IO_EVENTS_PER_TURN, 0);
    for (int i = 0; i < n; i++)
        read_socket(io, evs[i].data.ptr);
}

int ike_io_timeout(const struct ike_io *io)
{
    uint64_t now = ike_io_now(), first;
    if (!timers_next(io->timers, &first))
        return -1;
    return first <= now ? 0 : first - now > INT32_MAX ? INT32_MAX : (int)(first - now);
}

void ike_io_tick(struct ike_io *io)
{
    uint64_t now = ike_io_now();
    unsigned serial;
    /* each timer due once per turn: one re-armed for "now" waits for the next turn, the loop never spins */
    for (size_t budget = timers_count(io->timers); budget > 0 && timers_take_due(io->timers, now, &serial); budget--) {
        ike_timer(io->core, serial, now, &io->acts);
        ike_io_apply(io, &io->acts);
    }
}
