/* The group files: "CIDR [PROTO [SPORT [DPORT]]]" a line, '#' comments. */
#include "policy_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 4
#define MAX_FIELD_LEN 63

static const char *const group_names[POLICY_GROUP_COUNT] = {
    [POLICY_CLEAR] = "clear",
    [POLICY_CLEAR_OR_PRIVATE] = "clear-or-private",
    [POLICY_PRIVATE_OR_CLEAR] = "private-or-clear",
    [POLICY_PRIVATE] = "private",
    [POLICY_BLOCK] = "block",
};

const char *policy_group_name(enum policy_group g)
{
    return (unsigned)g < POLICY_GROUP_COUNT ? group_names[g] : "?";
}

int policy_group_parse(const char *name, enum policy_group *g)
{
    for (int i = 0; i < POLICY_GROUP_COUNT; i++) {
        if (strcmp(name, group_names[i]) == 0) {
            *g = (enum policy_group)i;
            return 0;
        }
    }
    return -1;
}

static bool proto_has_ports(uint8_t proto)
{
    /* tcp, udp, dccp, sctp, udplite: the kernel selector's ports apply */
    return proto == 6 || proto == 17 || proto == 33 || proto == 132 || proto == 136;
}

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || errno != 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int reserve(struct policy_set *set, size_t more)
{
    if (set->cap - set->n >= more)
        return 0;
    size_t cap = set->n + more;
    struct policy_rule *v = realloc(set->rules, cap * sizeof(*v));
    if (v == NULL)
        return -1;
    set->rules = v;
    set->cap = cap;
    return 0;
}

static int add_rule(struct policy_set *set, const struct policy_rule *r)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        struct policy_rule *v = realloc(set->rules, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        set->rules = v;
        set->cap = cap;
    }
    set->rules[set->n++] = *r;
    return 0;
}

/* Split a line into fields; returns the count or -1 when a field is too long. */
static int split_fields(const char *p, const char *end, char f[MAX_FIELDS + 1][MAX_FIELD_LEN + 1])
{
    int n = 0;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p == end || *p == '#')
            break;
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#')
            p++;
        if (n == MAX_FIELDS + 1)
            return n;
        if ((size_t)(p - s) > MAX_FIELD_LEN)
            return -1;
        memcpy(f[n], s, (size_t)(p - s));
        f[n][p - s] = '\0';
        n++;
    }
    return n;
}

static int parse_line(const char *p, const char *end, enum policy_group g, unsigned line, const char *fname,
                      struct policy_rule *r, struct oe_error *err)
{
    char f[MAX_FIELDS + 1][MAX_FIELD_LEN + 1];
    int n = split_fields(p, end, f);
    struct oe_error e;

    memset(r, 0, sizeof(*r));
    r->group = g;
    r->line = line;
    if (n < 0) {
        oe_error_set(err, "%s:%u: field longer than %d characters", fname, line, MAX_FIELD_LEN);
        return -1;
    }
    if (n == 0)
        return 0;
    if (n > MAX_FIELDS) {
        oe_error_set(err, "%s:%u: too many fields (expected CIDR [PROTO [SPORT [DPORT]]])", fname, line);
        return -1;
    }
    if (oe_prefix_parse(f[0], &r->sel.peer, &e) != 0) {
        oe_error_set(err, "%s:%u: %s", fname, line, e.msg);
        return -1;
    }
    if (n >= 2 && oe_proto_parse(f[1], &r->sel.proto) != 0) {
        oe_error_set(err, "%s:%u: bad protocol \"%s\" (a name like tcp, or 0..255)", fname, line, f[1]);
        return -1;
    }
    for (int i = 2; i < n; i++) {
        uint16_t *port = i == 2 ? &r->sel.lport : &r->sel.rport;
        if (parse_port(f[i], port) != 0) {
            oe_error_set(err, "%s:%u: bad %s port \"%s\" (0..65535, 0 = any)", fname, line,
                         i == 2 ? "source" : "destination", f[i]);
            return -1;
        }
        if (*port != 0 && !proto_has_ports(r->sel.proto)) {
            oe_error_set(err, "%s:%u: protocol \"%s\" has no ports", fname, line, f[1]);
            return -1;
        }
    }
    return 1;
}

int policy_parse_group(struct policy_set *set, enum policy_group g, const char *text, size_t len, const char *fname,
                       struct oe_error *err)
{
    const char *p = text, *end = text + len;
    unsigned line = 0;
    size_t before = set->n;

    set->finished = false;
    /* one allocation for the whole file: a reload of 1M lines copies nothing */
    size_t lines = 1;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        lines++;
    if (reserve(set, lines) != 0) {
        oe_error_set(err, "%s: out of memory for %zu lines", fname, lines);
        return -1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        struct policy_rule r;
        line++;
        if (memchr(p, '\0', (size_t)(eol - p)) != NULL) {
            oe_error_set(err, "%s:%u: NUL byte in line", fname, line);
            set->n = before;
            return -1;
        }
        int rc = parse_line(p, eol, g, line, fname, &r, err);
        if (rc < 0 || (rc > 0 && add_rule(set, &r) != 0)) {
            if (rc > 0)
                oe_error_set(err, "%s:%u: out of memory", fname, line);
            set->n = before;
            return -1;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}
