/*
 * flood: IKE_SA_INIT requests (RFC 7296 1.2) from many source addresses and
 * ports, at a set rate, for a bounded time and count: the load test of
 * issue 11. It runs in a network namespace of the lab whose routing table
 * makes the source prefixes local ("ip route add local PREFIX dev lo"), so
 * each datagram leaves from an ordinary UDP socket with its source address
 * chosen per packet (IP_PKTINFO) and the answers come back to it: it counts
 * them. Only the lab's own test prefixes are accepted (RFC 5737).
 *
 *   flood --to ADDR [--port 500] --rate PPS --seconds S [--count N]
 *         [--sources 198.51.100.0/24,203.0.113.0/24] [--ports 128] [--base-port 20000]
 *         [--echo-cookies] [--linger S] [--label NAME]
 *
 * --echo-cookies answers a COOKIE notify as a real initiator does (the same
 * request again, the cookie first): the capacity probe. Without it the
 * flood is that of a spoofing sender, who never sees the answers.
 * Prints one line: label, sent, full answers (with SPIr), cookies, other
 * notifies, and the rates over the sending time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 256
#define MAX_PREFIXES 4
#define MAX_SECONDS 120
#define MAX_RATE 200000
#define MAX_COUNT 10000000
#define REQ_MAX 512

struct prefix {
    uint32_t net; /* host order */
    unsigned len;
};

struct flood {
    struct sockaddr_in to;
    struct prefix pfx[MAX_PREFIXES];
    size_t npfx;
    uint32_t naddrs; /* over all prefixes */
    int fds[MAX_PORTS];
    unsigned nports, base_port;
    uint32_t salt;
    int echo_cookies;
    unsigned long long sent, answers, cookies, notifies, other, cookie_resent, send_errors;
};

/* The lab's test prefixes only (RFC 5737): nobody else's addresses are ever written. */
static int allowed(const struct prefix *p)
{
    static const struct {
        uint32_t net;
        unsigned len;
    } ok[] = {{0xc0000200u, 24}, {0xc6336400u, 24}, {0xcb007100u, 24}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (p->len >= ok[i].len && (p->net & (0xffffffffu << (32 - ok[i].len))) == ok[i].net)
            return 1;
    return 0;
}

static int parse_prefixes(struct flood *f, const char *arg)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", arg);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *slash = strchr(tok, '/');
        struct in_addr a;
        if (f->npfx == MAX_PREFIXES || slash == NULL)
            return -1;
        *slash = '\0';
        unsigned len = (unsigned)atoi(slash + 1);
        if (inet_pton(AF_INET, tok, &a) != 1 || len < 16 || len > 32)
            return -1;
        struct prefix p = {ntohl(a.s_addr) & (len == 32 ? 0xffffffffu : ~(0xffffffffu >> len)), len};
        if (!allowed(&p)) {
            fprintf(stderr, "flood: %s/%u is not one of the lab's test prefixes\n", tok, len);
            return -1;
        }
        f->pfx[f->npfx++] = p;
        f->naddrs += 1u << (32 - len);
    }
    return f->npfx ? 0 : -1;
}

static uint32_t source_addr(const struct flood *f, uint32_t k)
{
    for (size_t i = 0; i < f->npfx; i++) {
        uint32_t size = 1u << (32 - f->pfx[i].len);
        if (k < size)
            return f->pfx[i].net + k;
        k -= size;
    }
    return f->pfx[0].net;
}

static uint64_t mix(uint64_t x) /* splitmix64: cheap, distinct values, no crypto needed */
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

/* P-256's base point G (SEC 2 2.4.2): a valid public value, so the responder does its whole DH. */
static const uint8_t p256_g[64] = {0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63,
                                   0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1,
                                   0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f,
                                   0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57,
                                   0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};

/*
 * Request number i: SPIi carries i (so an answer names its request), the nonce is derived from
 * it; SA (AES-GCM-16-256, PRF HMAC-SHA2-256, DH 19), KE, Ni; cookie (if any) first.
 */
static size_t build_request(const struct flood *f, uint32_t i, const uint8_t *cookie, size_t cookie_len, uint8_t *m)
{
    size_t n = 28;
    uint8_t first;
    uint64_t spi = (uint64_t)f->salt << 32 | i;
    for (int k = 0; k < 8; k++)
        m[k] = (uint8_t)(spi >> (56 - 8 * k));
    memset(m + 8, 0, 8);
    m[17] = 0x20; /* IKEv2 */
    m[18] = 34;   /* IKE_SA_INIT */
    m[19] = 0x08; /* Initiator */
    put32(m + 20, 0);
    if (cookie) { /* RFC 7296 2.6: N(COOKIE) first */
        first = 41;
        m[n] = 33;
        m[n + 1] = 0;
        put16(m + n + 2, (unsigned)(8 + cookie_len));
        m[n + 4] = 0; /* protocol */
        m[n + 5] = 0; /* SPI size */
        put16(m + n + 6, 16390);
        memcpy(m + n + 8, cookie, cookie_len);
        n += 8 + cookie_len;
    } else {
        first = 33;
    }
    m[16] = first;
    /* SA: one proposal, three transforms */
    static const uint8_t sa[] = {
        34,   0,    0,    40,                /* SA header: next KE, length 40 */
        0,    0,    0,    36,   1, 1, 0, 3,  /* proposal 1, IKE, no SPI, 3 transforms */
        3,    0,    0,    12,   1, 0, 0, 20, /* ENCR AES-GCM-16 */
        0x80, 0x0e, 0x01, 0x00,              /* key length 256 */
        3,    0,    0,    8,    2, 0, 0, 5,  /* PRF HMAC-SHA2-256 */
        0,    0,    0,    8,    4, 0, 0, 19, /* DH 19 */
    };
    memcpy(m + n, sa, sizeof(sa));
    n += sizeof(sa);
    m[n] = 40; /* KE: next Nonce */
    m[n + 1] = 0;
    put16(m + n + 2, 8 + sizeof(p256_g));
    put16(m + n + 4, 19);
    put16(m + n + 6, 0);
    memcpy(m + n + 8, p256_g, sizeof(p256_g));
    n += 8 + sizeof(p256_g);
    m[n] = 0; /* Nonce: last */
    m[n + 1] = 0;
    put16(m + n + 2, 4 + 32);
    for (int k = 0; k < 4; k++) {
        uint64_t r = mix((uint64_t)f->salt << 32 ^ (uint64_t)i << 2 ^ (uint64_t)k);
        memcpy(m + n + 4 + 8 * k, &r, 8);
    }
    n += 4 + 32;
    put32(m + 24, (uint32_t)n);
    return n;
}

static int send_request(struct flood *f, uint32_t i, const uint8_t *cookie, size_t cookie_len)
{
    uint8_t m[REQ_MAX];
    size_t len = build_request(f, i, cookie, cookie_len, m);
    uint32_t pair = i % (f->naddrs * f->nports);
    uint32_t addr = source_addr(f, pair % f->naddrs);
    int fd = f->fds[pair / f->naddrs];
    char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = {0};
    struct iovec iov = {m, len};
    struct msghdr mh = {.msg_name = &f->to,
                        .msg_namelen = sizeof(f->to),
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cbuf,
                        .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo pi = {0};
    pi.ipi_spec_dst.s_addr = htonl(addr);
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    if (sendmsg(fd, &mh, 0) < 0) {
        f->send_errors++;
        if (f->send_errors == 1)
            fprintf(stderr, "flood: sendmsg: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

/* An answer: which kind, and a COOKIE echoed when asked (the probe). */
static void take_answer(struct flood *f, const uint8_t *m, size_t len)
{
    if (len < 28 || m[18] != 34 || !(m[19] & 0x20)) {
        f->other++;
        return;
    }
    uint64_t spi_r = 0;
    for (int k = 0; k < 8; k++)
        spi_r = spi_r << 8 | m[8 + k];
    if (spi_r != 0) {
        f->answers++;
        return;
    }
    if (m[16] == 41 && len >= 28 + 8 && m[28 + 6] == (16390 >> 8) && m[28 + 7] == (16390 & 0xff)) {
        f->cookies++;
        size_t plen = (size_t)m[28 + 2] << 8 | m[28 + 3];
        if (f->echo_cookies && plen > 8 && plen <= 8 + 64 && 28 + plen <= len) {
            uint32_t i = (uint32_t)m[4] << 24 | (uint32_t)m[5] << 16 | (uint32_t)m[6] << 8 | m[7];
            if (send_request(f, i, m + 28 + 8, plen - 8) == 0)
                f->cookie_resent++;
        }
        return;
    }
    f->notifies++;
}

static void drain(struct flood *f, int ep, int timeout_ms)
{
    struct epoll_event evs[64];
    int n = epoll_wait(ep, evs, 64, timeout_ms);
    for (int e = 0; e < n; e++) {
        int fd = evs[e].data.fd;
        uint8_t buf[2048];
        for (int k = 0; k < 64; k++) {
            ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (r < 0)
                break;
            take_answer(f, buf, (size_t)r);
        }
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr, "usage: flood --to ADDR [--port 500] --rate PPS --seconds S [--count N] [--sources P,P]\n"
                    "             [--ports N] [--base-port P] [--echo-cookies] [--linger S] [--label NAME]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static struct flood f;
    const char *to = NULL, *sources = "198.51.100.0/24,203.0.113.0/24", *label = "flood";
    unsigned port = 500;
    double rate = 0, seconds = 0, linger = 1;
    unsigned long long count = 0;
    f.nports = 128;
    f.base_port = 20000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--echo-cookies") == 0) {
            f.echo_cookies = 1;
            continue;
        }
        if (v == NULL)
            usage();
        i++;
        if (strcmp(a, "--to") == 0)
            to = v;
        else if (strcmp(a, "--port") == 0)
            port = (unsigned)atoi(v);
        else if (strcmp(a, "--rate") == 0)
            rate = atof(v);
        else if (strcmp(a, "--seconds") == 0)
            seconds = atof(v);
        else if (strcmp(a, "--count") == 0)
            count = strtoull(v, NULL, 10);
        else if (strcmp(a, "--sources") == 0)
            sources = v;
        else if (strcmp(a, "--ports") == 0)
            f.nports = (unsigned)atoi(v);
        else if (strcmp(a, "--base-port") == 0)
            f.base_port = (unsigned)atoi(v);
        else if (strcmp(a, "--linger") == 0)
            linger = atof(v);
        else if (strcmp(a, "--label") == 0)
            label = v;
        else
            usage();
    }
    /* bounded: a mistyped figure cannot make an endless or unlimited flood */
    if (to == NULL || rate <= 0 || rate > MAX_RATE || seconds <= 0 || seconds > MAX_SECONDS || linger < 0 ||
        linger > 30 || f.nports < 1 || f.nports > MAX_PORTS || f.base_port + f.nports > 65536 || port == 0 ||
        port > 65535)
        usage();
    if (count == 0 || count > (unsigned long long)(rate * seconds))
        count = (unsigned long long)(rate * seconds);
    if (count > MAX_COUNT)
        count = MAX_COUNT;
    if (parse_prefixes(&f, sources) != 0)
        usage();
    f.to.sin_family = AF_INET;
    f.to.sin_port = htons((uint16_t)port);
    struct prefix dst = {0, 32};
    if (inet_pton(AF_INET, to, &f.to.sin_addr) != 1 || (dst.net = ntohl(f.to.sin_addr.s_addr), !allowed(&dst))) {
        fprintf(stderr, "flood: %s is not an address of the lab's test prefixes\n", to);
        return 2;
    }
    f.salt = (uint32_t)mix((uint64_t)time(NULL) ^ (uint64_t)getpid());
    int ep = epoll_create1(0);
    for (unsigned p = 0; p < f.nports; p++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), one = 1, buf = 1 << 20;
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(f.base_port + p))};
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0) /* root: past rmem_max */
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
        if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
            fprintf(stderr, "flood: port %u: %s\n", f.base_port + p, strerror(errno));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        f.fds[p] = fd;
    }
    double t0 = now_s(), end = t0 + seconds;
    unsigned long long i = 0;
    while (i < count) {
        double t = now_s();
        if (t >= end)
            break;
        unsigned long long due = (unsigned long long)((t - t0) * rate) + 1;
        for (int burst = 0; i < due && i < count && burst < 256; burst++, i++)
            if (send_request(&f, (uint32_t)i, NULL, 0) == 0)
                f.sent++;
        drain(&f, ep, i < due ? 0 : 1);
    }
    double t1 = now_s(), elapsed = t1 - t0;
    unsigned long long answers_in_time = f.answers;
    while (now_s() < t1 + linger)
        drain(&f, ep, 10);
    uint32_t pairs = f.naddrs * f.nports;
    printf("%s: sent=%llu in %.2f s (%.0f/s) from %llu source address:port pairs; answers=%llu (%.1f/s while "
           "sending, %llu in all) cookies=%llu cookie_echoes=%llu other_notifies=%llu other=%llu send_errors=%llu\n",
           label, f.sent, elapsed, f.sent / elapsed, f.sent < pairs ? f.sent : (unsigned long long)pairs,
           answers_in_time, answers_in_time / elapsed, f.answers, f.cookies, f.cookie_resent, f.notifies, f.other,
           f.send_errors);
    return 0;
}
