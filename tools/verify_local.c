/*
 * ipsec verify (no --host): is this machine ready for OE? As FreeS/WAN's
 * verify did, one line per check, [OK], [WARN] or [FAILED] with why:
 * the kernel (XFRM netlink, ESP per family), the sysctls the agent needs
 * (as oe.conf says; ip_forward for a gateway's subnets), the firewall
 * (nftables: UDP 500, 4500 and ESP, in and out, per family; FreeS/WAN's
 * firewall document lists them), the resolvers' DNSSEC, and for each of
 * the host's addresses what DNS publishes (verify --host's checks) being
 * this host's key. Exit 1 when any check failed.
 */
#include "tools.h"
#include "kernel/kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SYSCTL_MAX 64        /* octets of a sysctl's text we read */
#define VERIFY_MAX_ADDRS 64  /* addresses whose keys are looked up; more are counted, not asked */
#define NFT_TIMEOUT_MS 10000 /* for nft to print the ruleset */

struct local_check {
    char section[80];
    char name[48];
    const char *status;
    char detail[800];
};

struct local {
    struct local_check *v;
    size_t n, cap;
    bool failed;
    char section[80];
};

static void add(struct local *l, const char *name, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(struct local *l, const char *name, const char *status, const char *fmt, ...)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct local_check *nv = realloc(l->v, cap * sizeof(*nv));
        if (nv == NULL)
            return;
        l->v = nv;
        l->cap = cap;
    }
    struct local_check *c = &l->v[l->n++];
    snprintf(c->section, sizeof(c->section), "%s", l->section);
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);
    if (!strcmp(status, "FAILED"))
        l->failed = true;
}

/* ---- kernel ---- */

static void check_kernel(struct local *l)
{
    struct kernel_support ks;
    kernel_probe_support(&ks);
    if (ks.xfrm == EPERM || ks.xfrm == EACCES) {
        add(l, "XFRM netlink", "WARN", "not asked: needs root (CAP_NET_ADMIN)");
        return;
    }
    if (ks.xfrm != 0) {
        add(l, "XFRM netlink", "FAILED", "%s (kernel without CONFIG_XFRM_USER, or module xfrm_user not loaded)",
            ks.xfrm_why[0] ? ks.xfrm_why : strerror(ks.xfrm));
        return;
    }
    add(l, "XFRM netlink", "OK", "answers");
    const int e[2] = {ks.esp4, ks.esp6};
    const char *why[2] = {ks.esp4_why, ks.esp6_why};
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "ESP (IPv6)" : "ESP (IPv4)";
        if (e[i] == 0)
            add(l, name, why[i][0] ? "WARN" : "OK", "%s", why[i][0] ? why[i] : "an ESP SA can be added");
        else if (e[i] == EPROTONOSUPPORT)
            add(l, name, "FAILED", "no ESP in this kernel (module %s): %s", i ? "esp6" : "esp4",
                why[i][0] ? why[i] : strerror(e[i]));
        else
            add(l, name, "FAILED", "an ESP SA cannot be added: %s%s%s", strerror(e[i]), why[i][0] ? ": " : "", why[i]);
    }
}

/* ---- sysctls ---- */

int verify_sysctl_parse(const char *text, size_t len, long *out)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    bool neg = i < len && text[i] == '-';
    i += neg;
    long v = 0;
    size_t digits = 0;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
        if (v > (0x7fffffffL - (text[i] - '0')) / 10)
            return -1;
        v = v * 10 + (text[i] - '0');
    }
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n'))
        i++;
    if (digits == 0 || i != len)
        return -1;
    *out = neg ? -v : v;
    return 0;
}

static int sysctl_read(const char *path, long *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[SYSCTL_MAX];
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    return n > 0 && verify_sysctl_parse(buf, (size_t)n, out) == 0 ? 0 : -1;
}

static bool agent_running(const char *ctl)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(ctl) >= sizeof(sa.sun_path))
        return false;
    memcpy(sa.sun_path, ctl, strlen(ctl) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return up;
}

struct conf {
    char resolver[1024], anchor[1024], key_file[1024], subnets[1024], listen[1024], control[256];
    char larval[16], acq[32];
};

/* One sysctl against what the agent sets: FAILED while the agent runs (it set it, or could not), WARN before. */
static void check_value(struct local *l, const char *name, const char *path, long want, bool running, const char *why)
{
    long v;
    if (sysctl_read(path, &v) != 0)
        add(l, name, "FAILED", "%s: cannot read", path);
    else if (v == want)
        add(l, name, "OK", "%ld (%s)", v, why);
    else if (running)
        add(l, name, "FAILED",
            "%ld, oe.conf wants %ld (%s): the agent runs, so it could not set it or someone changed it", v, want, why);
    else
        add(l, name, "WARN", "%ld, oe.conf wants %ld (%s): oe-agent sets it when it starts", v, want, why);
}

static void check_sysctls(struct local *l, const struct conf *c)
{
    bool running = agent_running(c->control[0] ? c->control : DEFAULT_CTLSOCKET);
    if (!strcmp(c->larval, "leave"))
        add(l, "xfrm_larval_drop", "OK", "left as it is (xfrm-larval-drop = leave)");
    else
        check_value(l, "xfrm_larval_drop", "/proc/sys/net/core/xfrm_larval_drop", !strcmp(c->larval, "yes") ? 1 : 0,
                    running,
                    !strcmp(c->larval, "yes") ? "packets to a peer being negotiated are dropped"
                                              : "packets to a peer being negotiated wait");
    uint32_t acq = 5;
    if (c->acq[0] && oe_duration_parse(c->acq, &acq) != 0)
        add(l, "xfrm_acq_expires", "FAILED", "xfrm-acq-expires \"%s\" in oe.conf is not a duration", c->acq);
    else if (acq == 0)
        add(l, "xfrm_acq_expires", "OK", "left as it is (xfrm-acq-expires = 0)");
    else
        check_value(l, "xfrm_acq_expires", "/proc/sys/net/core/xfrm_acq_expires", (long)acq, running,
                    "a larval state's life after ACQUIRE");
    /* a gateway forwards for its subnets: each family it has one of */
    bool fam[2] = {false, false};
    char list[1024];
    snprintf(list, sizeof(list), "%s", c->subnets);
    for (char *save = NULL, *t = strtok_r(list, ", \t", &save); t != NULL; t = strtok_r(NULL, ", \t", &save)) {
        struct oe_prefix p;
        struct oe_error err;
        if (oe_prefix_parse(t, &p, &err) == 0)
            fam[p.addr.family == AF_INET6] = true;
        else
            add(l, "subnets", "FAILED", "\"%s\" in oe.conf: %s", t, err.msg);
    }
    if (fam[0])
        check_value(l, "ip_forward", "/proc/sys/net/ipv4/ip_forward", 1, true, "a gateway for IPv4 subnets");
    if (fam[1])
        check_value(l, "ipv6 forwarding", "/proc/sys/net/ipv6/conf/all/forwarding", 1, true,
                    "a gateway for IPv6 subnets");
    if (!fam[0] && !fam[1])
        add(l, "ip_forward", "OK", "not needed: no subnets in oe.conf");
}

/* ---- firewall ---- */

/* nft -j list ruleset, at most FW_RULESET_MAX octets: 0, 1 when nft is not there, -1 when it failed. */
static int run_nft(char **out, size_t *len, char *why, size_t wlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(p[1], 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2);
        execlp("nft", "nft", "-j", "list", "ruleset", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    bool big = false;
    uint64_t deadline = oe_monotonic_ms() + NFT_TIMEOUT_MS;
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    while (buf != NULL && oe_monotonic_ms() < deadline) {
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        if (n == cap) {
            if (cap >= FW_RULESET_MAX) {
                big = true;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(p[0], buf + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(p[0]);
    int status = 0;
    if (big || oe_monotonic_ms() >= deadline)
        kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        free(buf);
        return 1;
    }
    if (buf == NULL || big || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(why, wlen, "%s",
                 big                  ? "more than 16 MiB"
                 : !WIFEXITED(status) ? "killed or timed out"
                                      : "nft failed (not root?)");
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* iptables-legacy tables sit beside nftables and are not read here: say so. */
static void check_legacy(struct local *l)
{
    static const char *files[] = {"/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"};
    for (int i = 0; i < 2; i++) {
        char buf[256];
        int fd = open(files[i], O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 0;
        if (fd >= 0)
            close(fd);
        if (n > 0) {
            buf[n] = '\0';
            for (char *s = buf; *s; s++)
                if (*s == '\n')
                    *s = *(s + 1) ? ',' : '\0';
            add(l, i ? "ip6tables (legacy)" : "iptables (legacy)", "WARN", "tables %s loaded: not checked", buf);
        }
    }
}

/*
 * FreeS/WAN's firewall document: ESP makes packets larger, so the ICMP
 * errors of path MTU discovery (IPv4 fragmentation needed, IPv6 packet too
 * big) must come in. Without them large packets stall rather than fail:
 * WARN, not FAILED.
 */
static void check_pmtu(struct local *l, const struct fw_ruleset *rs)
{
    const char *status = "OK";
    char detail[800] = "";
    size_t dl = 0;
    for (int fam = 0; fam < 2; fam++) {
        struct fw_flow f = {.family = fam ? AF_INET6 : AF_INET,
                            .inbound = true,
                            .proto = fam ? 58 : 1,
                            .icmp_type = fam ? 2 : 3,
                            .icmp_code = fam ? 0 : 4,
                            .related = true};
        struct fw_verdict v;
        fw_ruleset_eval(rs, &f, &v);
        if (v.status == FW_ACCEPTED)
            continue;
        status = "WARN";
        int w = snprintf(detail + dl, sizeof(detail) - dl, "%s%s: %s", dl ? "; " : "",
                         fam ? "IPv6 packet too big" : "IPv4 fragmentation needed", v.why);
        dl = w > 0 && (size_t)w < sizeof(detail) - dl ? dl + (size_t)w : sizeof(detail) - 1;
    }
    if (dl == 0)
        snprintf(detail, sizeof(detail), "ICMP fragmentation needed and packet too big come in");
    add(l, "ICMP for path MTU", status, "%s", detail);
}

static void check_firewall(struct local *l)
{
    char *json = NULL, why[128] = "";
    size_t len = 0;
    int rc = run_nft(&json, &len, why, sizeof(why));
    if (rc == 1) {
        add(l, "nftables", "WARN", "nft is not installed: the firewall is not checked");
        check_legacy(l);
        return;
    }
    if (rc != 0) {
        add(l, "nftables", "WARN", "nft -j list ruleset: %s", why);
        check_legacy(l);
        return;
    }
    struct oe_error err;
    struct fw_ruleset *rs = fw_ruleset_parse(json, len, &err);
    free(json);
    if (rs == NULL) {
        add(l, "nftables", "WARN", "%s: not checked", err.msg);
        return;
    }
    add(l, "nftables", "OK", "%zu rules read", fw_ruleset_rules(rs));
    static const struct {
        const char *name;
        uint8_t proto;
        uint16_t port;
    } flows[] = {{"IKE (UDP 500)", 17, 500}, {"NAT-T (UDP 4500)", 17, 4500}, {"ESP (protocol 50)", 50, 0}};
    for (size_t i = 0; i < 3; i++) {
        /* one line per flow: the worst of in and out, IPv4 and IPv6, with every one that is not accepted */
        const char *status = "OK";
        char detail[800] = "";
        size_t dl = 0;
        for (int d = 0; d < 2; d++)
            for (int fam = 0; fam < 2; fam++) {
                struct fw_flow f = {.family = fam ? AF_INET6 : AF_INET,
                                    .inbound = d == 0,
                                    .proto = flows[i].proto,
                                    .port = flows[i].port};
                struct fw_verdict v;
                fw_ruleset_eval(rs, &f, &v);
                const char *st = v.status == FW_DROPPED ? "FAILED" : v.status == FW_ACCEPTED ? "OK" : "WARN";
                if (!strcmp(st, "FAILED") || (!strcmp(st, "WARN") && !strcmp(status, "OK")))
                    status = st;
                if (v.status == FW_ACCEPTED)
                    continue;
                int w = snprintf(detail + dl, sizeof(detail) - dl, "%s%s %s: %s", dl ? "; " : "", d ? "out" : "in",
                                 fam ? "IPv6" : "IPv4", v.why);
                dl = w > 0 && (size_t)w < sizeof(detail) - dl ? dl + (size_t)w : sizeof(detail) - 1;
            }
        if (dl == 0)
            snprintf(detail, sizeof(detail), "accepted in and out, IPv4 and IPv6");
        add(l, flows[i].name, status, "%s", detail);
    }
    check_pmtu(l, rs);
    fw_ruleset_free(rs);
    check_legacy(l);
}

/* ---- DNS ---- */

struct probe {
    bool done;
    struct dnskeys_addr_answer a;
};

static void on_probe(const struct dnskeys_addr_answer *a, void *arg)
{
    struct probe *p = arg;
    if (a == NULL)
        return; /* the resolver is being freed */
    p->a = *a;
    p->done = true;
}

static void run_until(struct dnskeys_resolver *res, const bool *done, time_t deadline)
{
    struct pollfd pfd = {.fd = dnskeys_resolver_fd(res), .events = POLLIN};
    struct oe_error err;
    while (!*done && time(NULL) < deadline)
        if (poll(&pfd, 1, 200) > 0 && dnskeys_resolver_process(res, &err) != 0)
            break;
}

static void check_dnssec(struct local *l, struct dnskeys_resolver *res, const char *anchor, int timeout)
{
    char zone[DNSKEYS_NAME_MAX];
    struct oe_error err;
    if (anchor == NULL) {
        add(l, "DNSSEC", "FAILED", "no trust anchor (trust-anchor in oe.conf, or /usr/share/dns/root.key)");
        return;
    }
    if (dnskeys_anchor_zone(anchor, zone, &err) != 0) {
        add(l, "DNSSEC", "FAILED", "%s", err.msg);
        return;
    }
    struct probe p;
    memset(&p, 0, sizeof(p));
    if (dnskeys_probe_validation(res, zone, on_probe, &p, &err) != 0) {
        add(l, "DNSSEC", "FAILED", "%s", err.msg);
        return;
    }
    run_until(res, &p.done, time(NULL) + timeout);
    const struct dnskeys_addr_answer *a = &p.a;
    if (!p.done)
        add(l, "DNSSEC", "FAILED", "no answer for %s DNSKEY within %d s", zone, timeout);
    else if (a->verdict == DNSKEYS_SECURE && a->n > 0)
        add(l, "DNSSEC", "OK", "%s DNSKEY is secure (anchor %s)", zone, anchor);
    else if (a->verdict == DNSKEYS_BOGUS)
        add(l, "DNSSEC", "FAILED", "%s DNSKEY is bogus: %s (does a resolver strip DNSSEC records?)", zone, a->why);
    else if (a->failed || a->n == 0)
        add(l, "DNSSEC", "FAILED", "%s DNSKEY: %s", zone, a->why[0] ? a->why : "no answer");
    else
        add(l, "DNSSEC", "FAILED", "%s DNSKEY is insecure: the anchor %s does not validate it", zone, anchor);
}

static bool listed(const char *list, const struct oe_addr *a)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ", \t", &save); t != NULL; t = strtok_r(NULL, ", \t", &save)) {
        struct oe_addr b;
        if (oe_addr_parse(t, &b) == 0 && oe_addr_eq(a, &b))
            return true;
    }
    return false;
}

static void check_addresses(struct local *l, struct dnskeys_resolver *res, const struct conf *c, int timeout)
{
    struct dnskeys_hostkey *hk = NULL;
    struct oe_error err;
    const struct dnskeys_pubkey *own = NULL;
    struct dnskeys_pubkey keys[2] = {{0}};
    size_t nkeys = 0;
    if (dnskeys_nss_init(&err) == 0 && dnskeys_hostkeys_public(c->key_file, keys, &nkeys, &err) == 0 && nkeys == 2) {
        char id[16];
        dnskeys_key_id(&keys[1], id);
        add(l, "next host key", "OK", "keyid %s beside %s: a rollover is under way, either key is ours", id,
            c->key_file);
    }
    if (dnskeys_nss_init(&err) != 0 || dnskeys_hostkey_load(c->key_file, &hk, &err) != 0)
        add(l, "host key", "WARN", "%s: only NULL authentication (no key of ours to compare)", err.msg);
    else {
        own = dnskeys_hostkey_public(hk);
        char id[16];
        dnskeys_key_id(own, id);
        add(l, "host key", "OK", "%s: RSA %u bits, keyid %s", c->key_file, own->bits, id);
    }
    struct oe_addr *addrs = NULL;
    size_t n = 0;
    if (kernel_host_addresses(&addrs, &n, &err) != 0) {
        add(l, "addresses", "FAILED", "%s", err.msg);
        dnskeys_hostkey_free(hk);
        for (size_t k = 0; k < nkeys; k++)
            dnskeys_key_free(&keys[k]);
        return;
    }
    size_t asked = 0, skipped = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->listen[0] && !listed(c->listen, &addrs[i]))
            continue;
        if (asked == VERIFY_MAX_ADDRS) {
            skipped++;
            continue;
        }
        asked++;
        char host[OE_ADDR_STRLEN];
        oe_addr_str(&addrs[i], host);
        snprintf(l->section, sizeof(l->section), "keys for %s", host);
        struct verify_host r;
        if (verify_host_run(res, host, timeout, own, nkeys == 2 ? &keys[1] : NULL, &r, &err) != 0) {
            add(l, "DNS answer", "FAILED", "%s", err.msg);
            continue;
        }
        for (int j = 0; j < r.n; j++)
            add(l, r.checks[j].name, r.checks[j].status, "%s", r.checks[j].detail);
        verify_host_free(&r);
    }
    snprintf(l->section, sizeof(l->section), "addresses");
    if (asked == 0)
        add(l, "addresses", "WARN", "no global address%s: nothing to look up", c->listen[0] ? " of listen" : "");
    if (skipped)
        add(l, "addresses", "WARN", "%zu more addresses not looked up (at most %d)", skipped, VERIFY_MAX_ADDRS);
    free(addrs);
    dnskeys_hostkey_free(hk);
    for (size_t k = 0; k < nkeys; k++)
        dnskeys_key_free(&keys[k]);
}

/* ---- report ---- */

static void print_text(const struct local *l)
{
    const char *section = NULL;
    for (size_t i = 0; i < l->n; i++) {
        const struct local_check *c = &l->v[i];
        if (section == NULL || strcmp(section, c->section) != 0) {
            section = c->section;
            printf("Checking %s\n", section);
        }
        char st[16];
        snprintf(st, sizeof(st), "[%s]", c->status);
        printf("  %-30s %-9s %s\n", c->name, st, c->detail);
    }
}

static void print_json(const struct local *l)
{
    struct oe_buf b = {0};
    oe_buf_printf(&b, "{\"ok\": %s, \"checks\": [", l->failed ? "false" : "true");
    for (size_t i = 0; i < l->n; i++) {
        oe_buf_printf(&b, "%s{\"section\": ", i ? ", " : "");
        oe_buf_json_str(&b, l->v[i].section);
        oe_buf_printf(&b, ", \"check\": ");
        oe_buf_json_str(&b, l->v[i].name);
        oe_buf_printf(&b, ", \"status\": \"%s\", \"detail\": ", l->v[i].status);
        oe_buf_json_str(&b, l->v[i].detail);
        oe_buf_printf(&b, "}");
    }
    oe_buf_printf(&b, "]}\n");
    fwrite(b.p, 1, b.len, stdout);
    oe_buf_free(&b);
}

int verify_local(const struct verify_opts *o)
{
    struct conf c;
    memset(&c, 0, sizeof(c));
    if (o->resolver)
        snprintf(c.resolver, sizeof(c.resolver), "%s", o->resolver);
    if (o->anchor)
        snprintf(c.anchor, sizeof(c.anchor), "%s", o->anchor);
    if (o->key_file)
        snprintf(c.key_file, sizeof(c.key_file), "%s", o->key_file);
    struct tools_conf_key keys[] = {
        {"resolver", c.resolver, sizeof(c.resolver)},     {"trust-anchor", c.anchor, sizeof(c.anchor)},
        {"key-file", c.key_file, sizeof(c.key_file)},     {"subnets", c.subnets, sizeof(c.subnets)},
        {"listen", c.listen, sizeof(c.listen)},           {"control", c.control, sizeof(c.control)},
        {"xfrm-larval-drop", c.larval, sizeof(c.larval)}, {"xfrm-acq-expires", c.acq, sizeof(c.acq)},
    };
    const char *path = o->config ? o->config : TOOLS_DEFAULT_CONFIG;
    if (tools_config_read(path, o->config != NULL, "verify", keys, sizeof(keys) / sizeof(keys[0])) != 0)
        return 2;
    if (c.key_file[0] == '\0')
        snprintf(c.key_file, sizeof(c.key_file), "%s", DNSKEYS_DEFAULT_HOSTKEY);
    if (c.anchor[0] == '\0' && access("/usr/share/dns/root.key", R_OK) == 0)
        snprintf(c.anchor, sizeof(c.anchor), "/usr/share/dns/root.key");
    struct local l;
    memset(&l, 0, sizeof(l));
    snprintf(l.section, sizeof(l.section), "kernel");
    check_kernel(&l);
    snprintf(l.section, sizeof(l.section), "sysctls");
    check_sysctls(&l, &c);
    snprintf(l.section, sizeof(l.section), "firewall");
    check_firewall(&l);
    snprintf(l.section, sizeof(l.section), "DNS");
    struct dnskeys_resolver_config cfg = {.trust_anchor = c.anchor[0] ? c.anchor : NULL,
                                          .forwarders = c.resolver[0] ? c.resolver : NULL,
                                          .timeout_ms = (unsigned)o->timeout * 1000};
    struct oe_error err;
    struct dnskeys_resolver *res = dnskeys_resolver_new(&cfg, &err);
    if (res == NULL) {
        add(&l, "resolver", "FAILED", "%s", err.msg);
    } else {
        check_dnssec(&l, res, cfg.trust_anchor, o->timeout);
        check_addresses(&l, res, &c, o->timeout);
        dnskeys_resolver_free(res);
    }
    if (o->json)
        print_json(&l);
    else
        print_text(&l);
    free(l.v);
    return l.failed ? 1 : 0;
}
