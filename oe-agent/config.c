/* oe.conf: "key = value" lines, global first, then [group NAME] sections. */
#include "config.h"

#include "oe-agent/ike/ike.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_CONFIG_SIZE (1u << 20)

void oe_config_defaults(struct oe_config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->policies, sizeof(c->policies), "/etc/oe/policies");
    snprintf(c->key_file, sizeof(c->key_file), "/etc/oe/hostkey.pem");
    snprintf(c->trust_anchor, sizeof(c->trust_anchor), "/usr/share/dns/root.key");
    snprintf(c->control, sizeof(c->control), "/run/oe/oe.ctl");
    snprintf(c->log, sizeof(c->log), "syslog");
    c->larval_drop = 0;
    c->hold_lifetime = 60;
    c->idle_timeout = 30 * 60;
    c->salifetime = c->ikelifetime = 8 * 3600;
    c->dpddelay = 30;
    struct ike_config ike; /* the algorithms offered: the IKE core's own defaults */
    ike_config_defaults(&ike);
    memcpy(c->ciphers, ike.ciphers, sizeof(c->ciphers));
    memcpy(c->dh_groups, ike.dh_groups, sizeof(c->dh_groups));
    c->ike = true;
    for (int g = 0; g < POLICY_GROUP_COUNT; g++) {
        struct oe_group_config *gc = &c->groups[g];
        gc->failure_shunt = g == POLICY_PRIVATE || g == POLICY_BLOCK ? OE_SHUNT_DROP : OE_SHUNT_PASS;
        gc->shunt_lifetime = 15 * 60;
        gc->auth = OE_AUTH_RSASIG;
        gc->dnssec = OE_DNSSEC_SECURE;
    }
}

struct named_id {
    const char *name;
    int id;
};

static const struct named_id cipher_names[] = {
    {"aes_gcm", IKE_CIPHER_AES_GCM_16}, {"aes_gcm16", IKE_CIPHER_AES_GCM_16}, {"aes_cbc", IKE_CIPHER_AES_CBC}, {NULL, 0},
};

static const struct named_id dh_names[] = {
    {"19", 19}, {"dh19", 19}, {"ecp256", 19}, {"31", 31}, {"dh31", 31}, {"curve25519", 31},
    {"14", 14}, {"dh14", 14}, {"modp2048", 14}, {NULL, 0},
};

/* "a, b c": names from a table, each once, at most max (< 4, <= size); the rest of ids[size] is 0 */
static int parse_list(const char *key, const char *value, const struct named_id *names, const char *choices,
                      int *ids, size_t size, size_t max, struct oe_error *err)
{
    char copy[256];
    int got[4] = {0};
    size_t n = 0;
    snprintf(copy, sizeof(copy), "%s", value);
    for (char *save, *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        const struct named_id *x = names;
        while (x->name && strcmp(x->name, t) != 0)
            x++;
        if (x->name == NULL) {
            oe_error_set(err, "%s: \"%s\" is not one of %s", key, t, choices);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (got[i] == x->id) {
                oe_error_set(err, "%s: \"%s\" is listed twice", key, t);
                return -1;
            }
        }
        if (n == max) {
            oe_error_set(err, "%s: more than %zu", key, max);
            return -1;
        }
        got[n++] = x->id;
    }
    if (n == 0) {
        oe_error_set(err, "%s: needs at least one", key);
        return -1;
    }
    for (size_t i = 0; i < size; i++)
        ids[i] = i < n ? got[i] : 0;
    return 0;
}

const char *oe_shunt_name(enum oe_shunt s)
{
    return s == OE_SHUNT_DROP ? "drop" : "pass";
}

const char *oe_auth_name(enum oe_auth a)
{
    return a == OE_AUTH_NULL ? "null" : a == OE_AUTH_RSASIG_OR_NULL ? "rsasig-or-null" : "rsasig";
}

const char *oe_dnssec_name(enum oe_dnssec d)
{
    return d == OE_DNSSEC_INSECURE_OK ? "insecure-ok" : "secure";
}

static int set_path(char *dst, size_t len, const char *key, const char *value, struct oe_error *err)
{
    if (*value == '\0' || strlen(value) >= len) {
        oe_error_set(err, "%s: needs a path of 1..%zu characters", key, len - 1);
        return -1;
    }
    memcpy(dst, value, strlen(value) + 1);
    return 0;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
        *out = true;
    else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
        *out = false;
    else
        return -1;
    return 0;
}

int oe_config_set(struct oe_config *c, const char *key, const char *value, struct oe_error *err)
{
    if (!strcmp(key, "policies"))
        return set_path(c->policies, sizeof(c->policies), key, value, err);
    if (!strcmp(key, "key-file"))
        return set_path(c->key_file, sizeof(c->key_file), key, value, err);
    if (!strcmp(key, "trust-anchor"))
        return set_path(c->trust_anchor, sizeof(c->trust_anchor), key, value, err);
    if (!strcmp(key, "control"))
        return set_path(c->control, sizeof(c->control), key, value, err);
    if (!strcmp(key, "log")) {
        return set_path(c->log, sizeof(c->log), key, value, err);
    }
    if (!strcmp(key, "resolver")) {
        if (strlen(value) >= sizeof(c->resolver_spec)) {
            oe_error_set(err, "resolver: too long");
            return -1;
        }
        snprintf(c->resolver_spec, sizeof(c->resolver_spec), "%s", value);
        return oe_config_resolvers(c, NULL, err);
    }
    if (!strcmp(key, "xfrm-larval-drop")) {
        bool b;
        if (!strcmp(value, "leave")) {
            c->larval_drop = -1;
            return 0;
        }
        if (parse_bool(value, &b) != 0) {
            oe_error_set(err, "xfrm-larval-drop: \"%s\" is not yes, no or leave", value);
            return -1;
        }
        c->larval_drop = b;
        return 0;
    }
    if (!strcmp(key, "ike")) {
        if (parse_bool(value, &c->ike) != 0) {
            oe_error_set(err, "ike: \"%s\" is not yes or no", value);
            return -1;
        }
        return 0;
    }
    if (!strcmp(key, "listen")) {
        if (strlen(value) >= sizeof(c->listen_spec)) {
            oe_error_set(err, "listen: too long");
            return -1;
        }
        snprintf(c->listen_spec, sizeof(c->listen_spec), "%s", value);
        return 0;
    }
    if (!strcmp(key, "updown"))
        return set_path(c->updown, sizeof(c->updown), key, value, err);
    if (!strcmp(key, "idle-timeout")) {
        if (oe_duration_parse(value, &c->idle_timeout) != 0) {
            oe_error_set(err, "idle-timeout: \"%s\" is not a duration (e.g. 30m; 0: never)", value);
            return -1;
        }
        return 0;
    }
    if (!strcmp(key, "subnets")) {
        char copy[512];
        snprintf(copy, sizeof(copy), "%s", value);
        c->nsubnets = 0;
        for (char *save, *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            struct oe_error e;
            if (c->nsubnets == sizeof(c->subnets) / sizeof(c->subnets[0])) {
                oe_error_set(err, "subnets: more than %zu", sizeof(c->subnets) / sizeof(c->subnets[0]));
                return -1;
            }
            if (oe_prefix_parse(t, &c->subnets[c->nsubnets], &e) != 0) {
                oe_error_set(err, "subnets: \"%s\": %s", t, e.msg);
                return -1;
            }
            c->nsubnets++;
        }
        return 0;
    }
    if (!strcmp(key, "ciphers"))
        return parse_list(key, value, cipher_names, "aes_gcm, aes_cbc", c->ciphers, 2, 2, err);
    if (!strcmp(key, "dh-groups"))
        return parse_list(key, value, dh_names, "19 (ecp256), 31 (curve25519), 14 (modp2048)", c->dh_groups, 4, 3,
                          err);
    if (!strcmp(key, "dpddelay")) {
        if (oe_duration_parse(value, &c->dpddelay) != 0) {
            oe_error_set(err, "dpddelay: \"%s\" is not a duration (e.g. 30s; 0: no liveness checks)", value);
            return -1;
        }
        return 0;
    }
    if (!strcmp(key, "salifetime") || !strcmp(key, "ikelifetime")) {
        uint32_t *v = key[0] == 's' ? &c->salifetime : &c->ikelifetime;
        if (oe_duration_parse(value, v) != 0 || *v < 10) {
            oe_error_set(err, "%s: \"%s\" is not a duration of 10s or more (e.g. 8h)", key, value);
            return -1;
        }
        return 0;
    }
    if (!strcmp(key, "hold-lifetime")) {
        if (oe_duration_parse(value, &c->hold_lifetime) != 0 || c->hold_lifetime == 0) {
            oe_error_set(err, "hold-lifetime: \"%s\" is not a duration (e.g. 60s, 2m)", value);
            return -1;
        }
        return 0;
    }
    oe_error_set(err, "unknown key \"%s\"", key);
    return -1;
}

static int set_group_key(struct oe_group_config *g, const char *key, const char *v,
                         struct oe_error *err)
{
    if (!strcmp(key, "failure-shunt")) {
        if (!strcmp(v, "pass"))
            g->failure_shunt = OE_SHUNT_PASS;
        else if (!strcmp(v, "drop"))
            g->failure_shunt = OE_SHUNT_DROP;
        else
            goto bad;
        return 0;
    }
    if (!strcmp(key, "shunt-lifetime")) {
        if (oe_duration_parse(v, &g->shunt_lifetime) != 0 || g->shunt_lifetime == 0)
            goto bad;
        return 0;
    }
    if (!strcmp(key, "auth")) {
        if (!strcmp(v, "rsasig"))
            g->auth = OE_AUTH_RSASIG;
        else if (!strcmp(v, "null"))
            g->auth = OE_AUTH_NULL;
        else if (!strcmp(v, "rsasig-or-null"))
            g->auth = OE_AUTH_RSASIG_OR_NULL;
        else
            goto bad;
        return 0;
    }
    if (!strcmp(key, "dnssec")) {
        if (!strcmp(v, "secure"))
            g->dnssec = OE_DNSSEC_SECURE;
        else if (!strcmp(v, "insecure-ok"))
            g->dnssec = OE_DNSSEC_INSECURE_OK;
        else
            goto bad;
        return 0;
    }
    oe_error_set(err, "unknown group key \"%s\" (failure-shunt, shunt-lifetime, auth, dnssec)", key);
    return -1;
bad:
    oe_error_set(err, "%s: bad value \"%s\"", key, v);
    return -1;
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

int oe_config_parse_text(struct oe_config *c, const char *text, size_t len, const char *fname,
                         struct oe_error *err)
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
        int rc = group < 0 ? oe_config_set(c, key, value, &e)
                           : set_group_key(&c->groups[group], key, value, &e);
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
        if (sscanf(line, " nameserver %127s", addr) == 1 &&
            oe_addr_parse(addr, &c->resolvers[c->nresolvers]) == 0)
            c->resolver_ports[c->nresolvers++] = 53;
    }
    fclose(f);
    return 0;
}
