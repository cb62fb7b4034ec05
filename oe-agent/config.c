/* oe.conf: "key = value" lines, global first, then [group NAME] sections. */
#include "config.h"

#include "oe-agent/ike/ike.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_CONFIG_SIZE (1u << 20)

struct named_id {
    const char *name;
    int id;
};

static const struct named_id cipher_names[] = {
    {"aes_gcm", IKE_CIPHER_AES_GCM_16},
    {"aes_gcm16", IKE_CIPHER_AES_GCM_16},
    {"aes_cbc", IKE_CIPHER_AES_CBC},
    {NULL, 0},
};

static const struct named_id dh_names[] = {
    {"19", 19},         {"dh19", 19}, {"ecp256", 19}, {"31", 31},       {"dh31", 31},
    {"curve25519", 31}, {"14", 14},   {"dh14", 14},   {"modp2048", 14}, {NULL, 0},
};

static const struct named_id shunt_names[] = {{"pass", OE_SHUNT_PASS}, {"drop", OE_SHUNT_DROP}, {NULL, 0}};
static const struct named_id auth_names[] = {
    {"rsasig", OE_AUTH_RSASIG},
    {"null", OE_AUTH_NULL},
    {"rsasig-or-null", OE_AUTH_RSASIG_OR_NULL},
    {NULL, 0},
};
static const struct named_id dnssec_names[] = {
    {"secure", OE_DNSSEC_SECURE},
    {"insecure-ok", OE_DNSSEC_INSECURE_OK},
    {NULL, 0},
};
static const struct named_id larval_names[] = {{"no", 0}, {"yes", 1}, {"leave", -1}, {NULL, 0}};
/* as enum ike_ask_address: never, always, when IKE_SA_INIT shows a NAT in front of us */
static const struct named_id cat_names[] = {{"no", 0}, {"yes", 1}, {"auto", 2}, {NULL, 0}};
static const struct named_id bool_names[] = {
    {"yes", 1}, {"true", 1}, {"1", 1}, {"no", 0}, {"false", 0}, {"0", 0}, {NULL, 0},
};

static const char *name_of(const struct named_id *names, int id)
{
    for (; names->name; names++)
        if (names->id == id)
            return names->name;
    return "?";
}

const char *oe_shunt_name(enum oe_shunt s)
{
    return name_of(shunt_names, (int)s);
}

const char *oe_auth_name(enum oe_auth a)
{
    return name_of(auth_names, (int)a);
}

const char *oe_dnssec_name(enum oe_dnssec d)
{
    return name_of(dnssec_names, (int)d);
}

/*
 * One row per key: its name, how its value is read into which field, its
 * default (read by the same parser; NULL: set by oe_config_defaults) and
 * what it is, as oe.conf(5) says at more length.
 */
struct config_key;
typedef int (*config_parse_fn)(const struct config_key *k, void *field, const char *value, struct oe_error *err);

struct config_key {
    const char *name;
    config_parse_fn parse;
    size_t offset;                /* in struct oe_config, or struct oe_group_config for group keys */
    size_t size;                  /* text fields: the buffer; lists: the array's entries */
    const struct named_id *names; /* enums and lists: the words and what they mean */
    uint32_t min;                 /* durations: the least accepted */
    size_t max;                   /* lists: at most this many; durations: at most this long (0: no bound) */
    const char *def;
    const char *summary; /* what the error says is wanted */
};

static int parse_text(const struct config_key *k, void *field, const char *value, struct oe_error *err)
{
    if (*value == '\0' || strlen(value) >= k->size) {
        oe_error_set(err, "%s: needs %s of 1..%zu characters", k->name, k->summary, k->size - 1);
        return -1;
    }
    memcpy(field, value, strlen(value) + 1);
    return 0;
}

/* An empty value allowed: "use the default source". */
static int parse_spec(const struct config_key *k, void *field, const char *value, struct oe_error *err)
{
    if (strlen(value) >= k->size) {
        oe_error_set(err, "%s: too long", k->name);
        return -1;
    }
    memcpy(field, value, strlen(value) + 1);
    return 0;
}

static int lookup_name(const struct config_key *k, const char *value, int *id, struct oe_error *err)
{
    for (const struct named_id *x = k->names; x->name; x++) {
        if (strcmp(x->name, value) == 0) {
            *id = x->id;
            return 0;
        }
    }
    oe_error_set(err, "%s: \"%s\" is not %s", k->name, value, k->summary);
    return -1;
}

/* parse_enum writes an int into enum fields */
_Static_assert(sizeof(enum oe_shunt) == sizeof(int) && sizeof(enum oe_auth) == sizeof(int) &&
                   sizeof(enum oe_dnssec) == sizeof(int),
               "enums are int-sized");

static int parse_enum(const struct config_key *k, void *field, const char *value, struct oe_error *err)
{
    int id;
    if (lookup_name(k, value, &id, err) != 0)
        return -1;
    memcpy(field, &id, sizeof(id)); /* the fields are enums or ints: int-sized */
    return 0;
}

static int parse_bool(const struct config_key *k, void *field, const char *value, struct oe_error *err)
{
    int id;
    if (lookup_name(k, value, &id, err) != 0)
        return -1;
    *(bool *)field = id != 0;
    return 0;
}

static int parse_duration(const struct config_key *k, void *field, const char *value, struct oe_error *err)
{
    uint32_t v;
    if (oe_duration_parse(value, &v) != 0 || v < k->min || (k->max && v > k->max)) {
        oe_error_set(err, "%s: \"%s\" is not %s", k->name, value, k->summary);
        return -1;
    }
    *(uint32_t *)field = v;
    return 0;
}

/* "a, b c": names from the row's table, each once, at most k->max; the rest of the array is 0 */
static int parse_count(const struct config_key *k, void *field, const char *value, struct oe_error *err)
{
    char *end;
    unsigned long v = strtoul(value, &end, 10);
    if (*value == '\0' || *end != '\0' || v < k->min || v > UINT32_MAX || (k->max && v > k->max)) {
        oe_error_set(err, "%s: \"%s\" is not %s", k->name, value, k->summary);
        return -1;
    }
    *(uint32_t *)field = (uint32_t)v;
    return 0;
}

static int parse_list(const struct config_key *k, void *field, const char *value, struct oe_error *err)
{
    char copy[256];
    int got[OE_MAX_LIST] = {0};
    size_t n = 0;
    snprintf(copy, sizeof(copy), "%s", value);
    for (char *save, *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        int id;
        if (lookup_name(k, t, &id, err) != 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (got[i] == id) {
                oe_error_set(err, "%s: \"%s\" is listed twice", k->name, t);
                return -1;
            }
        }
        if (n == k->max) {
            oe_error_set(err, "%s: more than %zu", k->name, k->max);
            return -1;
        }
        got[n++] = id;
    }
    if (n == 0) {
        oe_error_set(err, "%s: needs at least one", k->name);
        return -1;
    }
    int *ids = field;
    for (size_t i = 0; i < k->size; i++)
        ids[i] = i < n ? got[i] : 0;
    return 0;
}

static int parse_resolver(const struct config_key *k, void *field, const char *value, struct oe_error *err)
{
    if (parse_spec(k, field, value, err) != 0)
        return -1;
    struct oe_config *c = (struct oe_config *)((char *)field - k->offset);
    return oe_config_resolvers(c, NULL, err);
}

static int parse_subnets(const struct config_key *k, void *field, const char *value, struct oe_error *err)
{
    struct oe_config *c = (struct oe_config *)((char *)field - k->offset);
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", value);
    c->nsubnets = 0;
    for (char *save, *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        struct oe_error e;
        if (c->nsubnets == OE_ARRAY_SIZE(c->subnets)) {
            oe_error_set(err, "%s: more than %zu", k->name, OE_ARRAY_SIZE(c->subnets));
            return -1;
        }
        if (oe_prefix_parse(t, &c->subnets[c->nsubnets], &e) != 0) {
            oe_error_set(err, "%s: \"%s\": %s", k->name, t, e.msg);
            return -1;
        }
        c->nsubnets++;
    }
    return 0;
}

/* "CIDR[, CIDR]": at most one IPv4 and one IPv6 prefix */
static int parse_pool(const struct config_key *k, void *field, const char *value, struct oe_error *err)
{
    struct oe_prefix *pool = field, got[2];
    char copy[256];
    size_t n = 0;
    snprintf(copy, sizeof(copy), "%s", value);
    memset(got, 0, sizeof(got));
    for (char *save, *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        struct oe_prefix p;
        struct oe_error e;
        if (oe_prefix_parse(t, &p, &e) != 0) {
            oe_error_set(err, "%s: \"%s\": %s", k->name, t, e.msg);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (got[i].addr.family == p.addr.family) {
                oe_error_set(err, "%s: one prefix of each family, and \"%s\" is a second", k->name, t);
                return -1;
            }
        }
        got[n++] = p;
    }
    memcpy(pool, got, sizeof(got));
    return 0;
}

#define TEXT(key, field, def, what)                                                                                    \
    {                                                                                                                  \
        key, parse_text, offsetof(struct oe_config, field), sizeof(((struct oe_config *)0)->field), NULL, 0, 0, def,   \
            what                                                                                                       \
    }
#define SPEC(key, field, parser, what)                                                                                 \
    {                                                                                                                  \
        key, parser, offsetof(struct oe_config, field), sizeof(((struct oe_config *)0)->field), NULL, 0, 0, NULL, what \
    }
#define DURATION(key, field, min, def, what)                                                                           \
    {                                                                                                                  \
        key, parse_duration, offsetof(struct oe_config, field), 0, NULL, min, 0, def, what                             \
    }
#define DURATION_UPTO(key, field, min, max, def, what)                                                                 \
    {                                                                                                                  \
        key, parse_duration, offsetof(struct oe_config, field), 0, NULL, min, max, def, what                           \
    }
#define COUNT(key, field, min, def, what)                                                                              \
    {                                                                                                                  \
        key, parse_count, offsetof(struct oe_config, field), 0, NULL, min, 0, def, what                                \
    }
#define COUNT_UPTO(key, field, min, max, def, what)                                                                    \
    {                                                                                                                  \
        key, parse_count, offsetof(struct oe_config, field), 0, NULL, min, max, def, what                              \
    }
#define ENUM(key, field, names, def, what)                                                                             \
    {                                                                                                                  \
        key, parse_enum, offsetof(struct oe_config, field), 0, names, 0, 0, def, what                                  \
    }
#define BOOL(key, field, def, what)                                                                                    \
    {                                                                                                                  \
        key, parse_bool, offsetof(struct oe_config, field), 0, bool_names, 0, 0, def, what                             \
    }
#define LIST(key, field, names, max, what)                                                                             \
    {                                                                                                                  \
        key, parse_list, offsetof(struct oe_config, field), OE_ARRAY_SIZE(((struct oe_config *)0)->field), names, 0,   \
            max, NULL, what                                                                                            \
    }

static const struct config_key global_keys[] = {
    TEXT("policies", policies, "/etc/oe/policies", "a path"),
    TEXT("key-file", key_file, "/etc/oe/hostkey.pem", "a path"),
    TEXT("trust-anchor", trust_anchor, "/usr/share/dns/root.key", "a path"),
    TEXT("control", control, "/run/oe/oe.ctl", "a path"),
    TEXT("control-group", control_group, NULL, "a group name"),
    TEXT("log", log, "syslog", "a path"),
    SPEC("resolver", resolver_spec, parse_resolver, "ADDR[@PORT], ..."),
    ENUM("xfrm-larval-drop", larval_drop, larval_names, "no", "yes, no or leave"),
    DURATION_UPTO("xfrm-acq-expires", acq_expires, 0, 3600, "5s",
                  "a duration up to 1h (e.g. 5s; 0: leave the sysctl alone)"),
    BOOL("ike", ike, "yes", "yes or no"),
    SPEC("listen", listen_spec, parse_spec, "addresses"),
    TEXT("updown", updown, NULL, "a path"),
    DURATION("idle-timeout", idle_timeout, 0, "30m", "a duration (e.g. 30m; 0: never)"),
    SPEC("subnets", subnets, parse_subnets, "CIDR, ..."),
    SPEC("address-pool", address_pool, parse_pool, "CIDR[, CIDR]"),
    ENUM("client-address-translation", client_address_translation, cat_names, "auto", "auto, yes or no"),
    LIST("ciphers", ciphers, cipher_names, OE_ARRAY_SIZE(((struct oe_config *)0)->ciphers), "one of aes_gcm, aes_cbc"),
    LIST("dh-groups", dh_groups, dh_names, 3, "one of 19 (ecp256), 31 (curve25519), 14 (modp2048)"),
    DURATION("dpddelay", dpddelay, 0, "30s", "a duration (e.g. 30s; 0: no liveness checks)"),
    DURATION_UPTO("keep-alive", keep_alive, 0, 3600, "20s", "a duration up to 1h (e.g. 20s; 0: no NAT keepalives)"),
    DURATION("salifetime", salifetime, 10, "8h", "a duration of 10s or more (e.g. 8h)"),
    DURATION("ikelifetime", ikelifetime, 10, "8h", "a duration of 10s or more (e.g. 8h)"),
    DURATION("hold-lifetime", hold_lifetime, 1, "60s", "a duration (e.g. 60s, 2m)"),
    /* a tunnel that waits for its line's other peers holds its own packets: never near hold-lifetime */
    COUNT_UPTO("first-packet-wait-ms", first_packet_wait_ms, 0, 10000, "2000",
               "a number of milliseconds up to 10000 (0: no wait)"),
    COUNT("cookie-threshold", cookie_threshold, 0, "64", "a number of half-open IKE SAs"),
    COUNT("max-half-open", max_half_open, 1, "1024", "a number of half-open IKE SAs, 1 or more"),
    COUNT("max-half-open-per-source", max_half_open_per_source, 1, "16", "a number of half-open IKE SAs, 1 or more"),
    DURATION("half-open-timeout", half_open_timeout, 1, "10s", "a duration of 1s or more (e.g. 10s)"),
    COUNT("max-ike-sas-per-peer", max_ike_sas_per_peer, 1, "2", "a number of IKE SAs, 1 or more"),
    COUNT("max-leases-per-source", max_leases_per_source, 1, "16", "a number of leases, 1 or more"),
    COUNT("max-peers", max_peers, 1, "65536", "a number of peers, 1 or more"),
    COUNT("max-negotiations", max_negotiations, 1, "1024", "a number of negotiations, 1 or more"),
    COUNT("updown-shunt-rate", updown_shunt_rate, 0, "20", "a number of calls a second"),
    COUNT("dns-max-lookups", dns_max_lookups, 1, "2048", "a number of lookups, 1 or more"),
    COUNT("dns-max-peer-lookups", dns_max_peer_lookups, 1, "1024", "a number of lookups, 1 or more"),
    COUNT("dns-max-lookups-per-peer", dns_max_lookups_per_peer, 1, "8", "a number of lookups, 1 or more"),
    DURATION("dns-timeout", dns_timeout, 1, "10s", "a duration of 1s or more (e.g. 10s)"),
    DURATION_UPTO("key-cache-min-ttl", key_cache_min_ttl, 0, 86400, "60s", "a duration up to 1d (e.g. 60s)"),
    DURATION_UPTO("key-cache-max-ttl", key_cache_max_ttl, 0, 604800, "1d", "a duration up to 7d (e.g. 1d)"),
    COUNT("max-cached-keys", max_cached_keys, 0, "100000", "a number of names (0: no key cache)"),
    COUNT("key-cache-kib", key_cache_kib, 1, "65536", "a size in KiB, 1 or more"),
    COUNT("dns-retransmit-ms", dns_retransmit_ms, 0, "2500", "a number of milliseconds (0: libunbound's own)"),
    TEXT("publish-server", publish_server, NULL, "ADDR[@PORT] (for ipsec publish)"),
    TEXT("publish-tsig-key", publish_tsig_key, NULL, "a path (for ipsec publish)"),
};

#define GROUP(key, parser, field, names, min, what)                                                                    \
    {                                                                                                                  \
        key, parser, offsetof(struct oe_group_config, field), 0, names, min, 0, NULL, what                             \
    }

/* Their defaults depend on the group: oe_config_defaults sets them. */
static const struct config_key group_keys[] = {
    GROUP("failure-shunt", parse_enum, failure_shunt, shunt_names, 0, "pass or drop"),
    GROUP("shunt-lifetime", parse_duration, shunt_lifetime, NULL, 1, "a duration (e.g. 15m)"),
    GROUP("auth", parse_enum, auth, auth_names, 0, "rsasig, null or rsasig-or-null"),
    GROUP("dnssec", parse_enum, dnssec, dnssec_names, 0, "secure or insecure-ok"),
};

static const struct config_key *find_key(const struct config_key *keys, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

void oe_config_defaults(struct oe_config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < OE_ARRAY_SIZE(global_keys); i++) {
        const struct config_key *k = &global_keys[i];
        struct oe_error err;
        if (k->def && k->parse(k, (char *)c + k->offset, k->def, &err) != 0)
            abort(); /* a default its own parser refuses: a bug in the table */
    }
    struct ike_config ike; /* the algorithms offered: the IKE core's own defaults */
    ike_config_defaults(&ike);
    memcpy(c->ciphers, ike.ciphers, sizeof(c->ciphers));
    memcpy(c->dh_groups, ike.dh_groups, sizeof(c->dh_groups));
    for (int g = 0; g < POLICY_GROUP_COUNT; g++) {
        struct oe_group_config *gc = &c->groups[g];
        gc->failure_shunt = g == POLICY_PRIVATE || g == POLICY_BLOCK ? OE_SHUNT_DROP : OE_SHUNT_PASS;
        gc->shunt_lifetime = 15 * 60;
        gc->auth = OE_AUTH_RSASIG;
        gc->dnssec = OE_DNSSEC_SECURE;
    }
}

int oe_config_set(struct oe_config *c, const char *key, const char *value, struct oe_error *err)
{
    const struct config_key *k = find_key(global_keys, OE_ARRAY_SIZE(global_keys), key);
    if (k == NULL) {
        oe_error_set(err, "unknown key \"%s\"", key);
        return -1;
    }
    return k->parse(k, (char *)c + k->offset, value, err);
}

static int set_group_key(struct oe_group_config *g, const char *key, const char *v, struct oe_error *err)
{
    const struct config_key *k = find_key(group_keys, OE_ARRAY_SIZE(group_keys), key);
    if (k == NULL) {
        oe_error_set(err, "unknown group key \"%s\" (failure-shunt, shunt-lifetime, auth, dnssec)", key);
        return -1;
    }
    return k->parse(k, (char *)g + k->offset, v, err);
}

size_t oe_config_key_count(bool group)
{
    return group ? OE_ARRAY_SIZE(group_keys) : OE_ARRAY_SIZE(global_keys);
}

const char *oe_config_key_name(bool group, size_t i)
{
    return group ? group_keys[i].name : global_keys[i].name;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

int oe_config_parse_text(struct oe_config *c, const char *text, size_t len, const char *fname, struct oe_error *err)
{
    int group = -1; /* -1: global section */
    unsigned lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        char line[1024];
        lineno++;
        if (n >= sizeof(line) || memchr(p, '\0', n)) {
            oe_error_set(err, "%s:%u: line too long or contains NUL", fname, lineno);
            return -1;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl ? nl + 1 : end;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '\0')
            continue;
        struct oe_error e;
        if (*s == '[') {
            char name[64];
            enum policy_group g;
            if (sscanf(s, "[group %63[^] ]]", name) != 1 || s[strlen(s) - 1] != ']') {
                oe_error_set(err, "%s:%u: bad section \"%s\" (expected [group NAME])", fname, lineno, s);
                return -1;
            }
            if (policy_group_parse(name, &g) != 0) {
                oe_error_set(err, "%s:%u: unknown group \"%s\"", fname, lineno, name);
                return -1;
            }
            group = (int)g;
            continue;
        }
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            oe_error_set(err, "%s:%u: expected \"key = value\"", fname, lineno);
            return -1;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        int rc = group < 0 ? oe_config_set(c, key, value, &e) : set_group_key(&c->groups[group], key, value, &e);
        if (rc != 0) {
            oe_error_set(err, "%s:%u: %s", fname, lineno, e.msg);
            return -1;
        }
    }
    return 0;
}

int oe_config_load(struct oe_config *c, const char *path, bool required, struct oe_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT && !required)
            return 0;
        oe_error_set(err, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(MAX_CONFIG_SIZE);
    size_t n = buf ? fread(buf, 1, MAX_CONFIG_SIZE, f) : 0;
    bool too_big = buf && n == MAX_CONFIG_SIZE;
    fclose(f);
    if (buf == NULL || too_big) {
        oe_error_set(err, "%s: %s", path, buf ? "larger than 1 MiB" : "out of memory");
        free(buf);
        return -1;
    }
    int rc = oe_config_parse_text(c, buf, n, path, err);
    free(buf);
    return rc;
}

/* "ADDR", "ADDR@PORT", several separated by commas or spaces. */
static int parse_resolver_list(struct oe_config *c, const char *spec, struct oe_error *err)
{
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", spec);
    c->nresolvers = 0;
    for (char *save, *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        char *at = strchr(tok, '@');
        unsigned long port = 53;
        if (at) {
            char *e;
            *at = '\0';
            port = strtoul(at + 1, &e, 10);
            if (*e || port == 0 || port > 65535 || at[1] == '\0') {
                oe_error_set(err, "resolver: bad port in \"%s@%s\"", tok, at + 1);
                return -1;
            }
        }
        if (c->nresolvers == OE_MAX_RESOLVERS) {
            oe_error_set(err, "resolver: at most %d", OE_MAX_RESOLVERS);
            return -1;
        }
        if (oe_addr_parse(tok, &c->resolvers[c->nresolvers]) != 0) {
            oe_error_set(err, "resolver: \"%s\" is not an IP address", tok);
            return -1;
        }
        c->resolver_ports[c->nresolvers++] = (uint16_t)port;
    }
    return 0;
}

int oe_config_resolvers(struct oe_config *c, const char *resolv_conf, struct oe_error *err)
{
    if (c->resolver_spec[0] != '\0' || resolv_conf == NULL)
        return parse_resolver_list(c, c->resolver_spec, err);
    c->nresolvers = 0;
    FILE *f = fopen(resolv_conf, "r");
    if (f == NULL)
        return 0; /* no resolvers known: nothing to exempt */
    char line[256], addr[128];
    while (fgets(line, sizeof(line), f) && c->nresolvers < OE_MAX_RESOLVERS) {
        if (sscanf(line, " nameserver %127s", addr) == 1 && oe_addr_parse(addr, &c->resolvers[c->nresolvers]) == 0)
            c->resolver_ports[c->nresolvers++] = 53;
    }
    fclose(f);
    return 0;
}
