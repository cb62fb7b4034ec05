/*
 * The IKE core's hands: UDP sockets (port 500, exempt from IPsec policies),
 * timers, and the kernel (ESP SAs and tunnel policies). It carries out the
 * core's actions and hands UP, DOWN and NEED_KEY to the caller's hooks.
 */
#ifndef OE_AGENT_IKE_IO_H
#define OE_AGENT_IKE_IO_H

#include "ike/ike.h"
#include "kernel/kernel.h"

/*
 * One traffic selector of a tunnel's policies: the protocol and ports of a
 * policy line whose traffic the tunnel carries for its host, and where that
 * line ranks (kernel.h). Ranked at its line, a tunnel leaves every more
 * specific line its action (a port-scoped block still drops, a clear line
 * still passes, both ways), and a more specific line it also carries gets
 * its own selector, so that traffic rides the tunnel rather than trapping
 * again (issue 9, finding 4).
 */
struct ike_io_selector {
    uint8_t proto;         /* 0 = any */
    uint16_t lport, rport; /* our port, the peer's; 0 = any */
    struct kernel_rank rank;
};

/* At most this many selectors per tunnel: each is one policy per direction. */
#define IKE_IO_TUNNEL_SELECTORS 16

struct ike_io_hooks {
    void (*up)(void *arg, const struct ike_action *a);
    void (*down)(void *arg, const struct ike_action *a);
    void (*need_key)(void *arg, const struct ike_action *a);
    void (*rekeyed)(void *arg, const struct ike_action *a); /* may be NULL */
    /* UPDATE_ENDPOINTS of the current pair, carried out (SAs and policies moved); may be NULL */
    void (*moved)(void *arg, const struct ike_action *a);
    /*
     * The selectors of a tunnel between two hosts: fills at most max and
     * returns how many it wanted (more than max: the list was cut). May be
     * NULL: one selector, any protocol, ranked at the hosts' own /32.
     */
    size_t (*tunnel_selectors)(void *arg, const struct oe_addr *local_host, const struct oe_addr *remote_host,
                               struct ike_io_selector *out, size_t max);
    /* The ACQUIRE behind the tunnel of this action's tag (kernel_sa.acquire_seq), or 0; may be NULL */
    uint32_t (*acquire_seq)(void *arg, const struct ike_action *a);
    /*
     * true: the outbound policies of this INSTALL wait (the SAs, inbound and
     * fwd go in) until ike_io_release_out; may be NULL (never wait)
     */
    bool (*out_waits)(void *arg, const struct ike_action *a);
    void *arg;
};

struct ike_io;

/* Sockets on each local address, port 500 (port 0: any free port, for tests). */
struct ike_io *ike_io_new(struct ike_core *core, struct kernel *k, const struct oe_addr *addrs, size_t n, uint16_t port,
                          const struct ike_io_hooks *hooks, struct oe_error *err);
void ike_io_free(struct ike_io *io);
/* The address of ours the kernel would send from to remote (a route lookup, nothing sent). */
int ike_io_source_for(const struct oe_addr *remote, struct oe_addr *local, struct oe_error *err);
/* IKE on one more local address (port 500 and 4500), or no longer: as the host's addresses come and go. */
int ike_io_listen(struct ike_io *io, const struct oe_addr *a, struct oe_error *err);
void ike_io_unlisten(struct ike_io *io, const struct oe_addr *a);
/* One fd for the caller's event loop, however many sockets there are; readable: call ike_io_readable. */
size_t ike_io_fds(const struct ike_io *io, int *fds, size_t max);
void ike_io_readable(struct ike_io *io, int fd);
/* Milliseconds until the next timer (-1: none), and running the due ones. */
int ike_io_timeout(const struct ike_io *io);
void ike_io_tick(struct ike_io *io);
/* The kernel's expire event for an ESP SA (its SPI and destination): soft rekeys, hard ends the IKE SA. */
void ike_io_sa_expired(struct ike_io *io, uint32_t spi, const struct oe_addr *dst, bool hard);
/*
 * The kernel's MAPPING event: an authenticated ESP-in-UDP packet for our
 * inbound SA (spi, dst) came from src:sport; the core decides whether the
 * SAs follow (ike_esp_mapping).
 */
void ike_io_sa_mapping(struct ike_io *io, uint32_t spi, const struct oe_addr *dst, const struct oe_addr *src,
                       uint16_t sport);
/* Where hooks put what they ask of the core (ike_peer_key and the like). */
struct ike_actions *ike_io_actions(struct ike_io *io);
/* Carry out actions (and clear them). */
void ike_io_apply(struct ike_io *io, struct ike_actions *acts);
uint64_t ike_io_now(void);
/* The outbound policies of the tunnel between these hosts that out_waits kept back, now; none waiting: nothing. */
void ike_io_release_out(struct ike_io *io, const struct oe_addr *local_host, const struct oe_addr *remote_host);
struct ike_core *ike_io_core(struct ike_io *io);

#endif
