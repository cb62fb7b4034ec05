/*
 * What an nftables ruleset does to the packets IKE and ESP need (ipsec
 * verify): the JSON of `nft -j list ruleset`, parsed by jansson (the
 * library nft itself writes it with), then walked as the kernel would for
 * one flow: the base chains of its family at its hooks, in priority order,
 * each rule's matches, jumps and gotos, the chain's policy.
 *
 * The flow is the first packet a peer sends (or we send): conntrack state
 * new, from or to an interface that is not loopback, from and to the IKE
 * port itself. A match the flow alone cannot decide (an address, an
 * interface name, a named set, a mark, a rate) may go either way: both
 * branches are followed, and the flow is then accepted, dropped, or
 * "depends", naming the first rule that makes it so.
 *
 * The input is treated as untrusted: at most FW_RULESET_MAX octets,
 * FW_MAX_CHAINS chains and FW_MAX_RULES rules, jumps at most FW_MAX_DEPTH
 * deep (nft's own limit is 16), and at most FW_MAX_STEPS rule visits for
 * one flow; past any of them the answer is "unknown", never a guess.
 */
#include "tools.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FW_MAX_CHAINS 4096
#define FW_MAX_SETS 4096
#define FW_MAX_RULES 65536
#define FW_MAX_DEPTH 16
#define FW_MAX_STEPS 200000

enum tri { NO, MAYBE, YES };

/* outcomes a walk may reach, as a bit set */
#define OUT_ACCEPT 1u
#define OUT_DROP 2u
#define OUT_CONTINUE 4u /* fell off a regular chain, or return: back to the caller */

struct fw_chain {
    struct oe_hnode node;
    const char *family, *table, *name;
    const char *hook; /* NULL: a regular chain */
    long prio;
    bool policy_drop;
    json_t **rules; /* each rule's "expr" array */
    long *handles;
    size_t nrules, cap;
};

/* A named set: its elements as listed, unless they change by themselves (dynamic, timeouts). */
struct fw_set {
    struct oe_hnode node;
    const char *family, *table, *name;
    const json_t *elem;
    bool changes;
};

struct fw_ruleset {
    json_t *root;
    struct fw_chain *chains;
    size_t nchains, nrules;
    struct oe_htab index;
    struct fw_set *sets;
    size_t nsets;
    struct oe_htab set_index;
    bool too_large;
};

/* ---- building the index ---- */

static uint64_t chain_hash(const char *family, const char *table, const char *name)
{
    uint64_t h = oe_hash_bytes(0x6e6674, family, strlen(family) + 1);
    h = oe_hash_bytes(h, table, strlen(table) + 1);
    return oe_hash_bytes(h, name, strlen(name) + 1);
}

static struct fw_chain *chain_find(const struct fw_ruleset *rs, const char *family, const char *table, const char *name)
{
    uint64_t h = chain_hash(family, table, name);
    for (struct oe_hnode *n = oe_htab_first(&rs->index, h); n != NULL; n = oe_htab_next(n)) {
        struct fw_chain *c = (struct fw_chain *)n;
        if (!strcmp(c->family, family) && !strcmp(c->table, table) && !strcmp(c->name, name))
            return c;
    }
    return NULL;
}

static const char *str_member(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s;
}

/* nft's named priorities (nft(8), "PRIORITY"); a number as it is. */
static long prio_value(const json_t *p)
{
    static const struct {
        const char *name;
        long value;
    } names[] = {{"raw", -300}, {"mangle", -150}, {"dstnat", -100}, {"filter", 0}, {"security", 50}, {"srcnat", 100}};
    if (json_is_integer(p))
        return (long)json_integer_value(p);
    const char *s = json_string_value(p);
    for (size_t i = 0; s != NULL && i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(s, names[i].name))
            return names[i].value;
    return 0;
}

static int add_chain(struct fw_ruleset *rs, const json_t *c)
{
    const char *family = str_member(c, "family"), *table = str_member(c, "table"), *name = str_member(c, "name");
    if (family == NULL || table == NULL || name == NULL || chain_find(rs, family, table, name) != NULL)
        return 0; /* not a chain we can name, or listed twice: the first counts */
    if (rs->nchains == FW_MAX_CHAINS) {
        rs->too_large = true;
        return 0;
    }
    struct fw_chain *ch = &rs->chains[rs->nchains++];
    memset(ch, 0, sizeof(*ch));
    ch->family = family;
    ch->table = table;
    ch->name = name;
    ch->hook = str_member(c, "hook");
    ch->prio = prio_value(json_object_get(c, "prio"));
    const char *policy = str_member(c, "policy");
    ch->policy_drop = policy != NULL && !strcmp(policy, "drop");
    oe_htab_add(&rs->index, &ch->node, chain_hash(family, table, name));
    return 0;
}

static struct fw_set *set_find(const struct fw_ruleset *rs, const char *family, const char *table, const char *name)
{
    uint64_t h = chain_hash(family, table, name);
    for (struct oe_hnode *n = oe_htab_first(&rs->set_index, h); n != NULL; n = oe_htab_next(n)) {
        struct fw_set *st = (struct fw_set *)n;
        if (!strcmp(st->family, family) && !strcmp(st->table, table) && !strcmp(st->name, name))
            return st;
    }
    return NULL;
}

static bool has_flag(const json_t *flags, const char *flag)
{
    if (json_is_string(flags))
        return !strcmp(json_string_value(flags), flag);
    size_t i;
    json_t *f;
    json_array_foreach(flags, i, f)
    {
        if (json_is_string(f) && !strcmp(json_string_value(f), flag))
            return true;
    }
    return false;
}

static void add_set(struct fw_ruleset *rs, const json_t *o)
{
    const char *family = str_member(o, "family"), *table = str_member(o, "table"), *name = str_member(o, "name");
    if (family == NULL || table == NULL || name == NULL || set_find(rs, family, table, name) != NULL)
        return;
    if (rs->nsets == FW_MAX_SETS) {
        rs->too_large = true;
        return;
    }
    struct fw_set *st = &rs->sets[rs->nsets++];
    memset(st, 0, sizeof(*st));
    st->family = family;
    st->table = table;
    st->name = name;
    st->elem = json_object_get(o, "elem");
    const json_t *flags = json_object_get(o, "flags");
    st->changes = has_flag(flags, "dynamic") || has_flag(flags, "timeout") || json_object_get(o, "timeout") != NULL;
    oe_htab_add(&rs->set_index, &st->node, chain_hash(family, table, name));
}

static int add_rule(struct fw_ruleset *rs, const json_t *r)
{
    const char *family = str_member(r, "family"), *table = str_member(r, "table"), *chain = str_member(r, "chain");
    json_t *expr = json_object_get(r, "expr");
    if (family == NULL || table == NULL || chain == NULL || !json_is_array(expr))
        return 0;
    struct fw_chain *ch = chain_find(rs, family, table, chain);
    if (ch == NULL)
        return 0; /* nft lists a chain before its rules; a rule of no chain does nothing */
    if (rs->nrules == FW_MAX_RULES) {
        rs->too_large = true;
        return 0;
    }
    if (ch->nrules == ch->cap) {
        size_t cap = ch->cap ? ch->cap * 2 : 8;
        json_t **nr = realloc(ch->rules, cap * sizeof(*nr));
        long *nh = nr ? realloc(ch->handles, cap * sizeof(*nh)) : NULL;
        if (nr != NULL)
            ch->rules = nr;
        if (nh == NULL)
            return -1;
        ch->handles = nh;
        ch->cap = cap;
    }
    /* a rule that adds to a set (add @s, update @s) makes it change by itself */
    size_t i;
    json_t *st;
    json_array_foreach(expr, i, st)
    {
        const json_t *upd = json_object_get(st, "set");
        if (upd == NULL)
            upd = json_object_get(st, "map");
        const char *target = str_member(upd, "set");
        if (target == NULL)
            target = str_member(upd, "map");
        struct fw_set *changed = target && target[0] == '@' ? set_find(rs, family, table, target + 1) : NULL;
        if (changed != NULL)
            changed->changes = true;
    }
    ch->rules[ch->nrules] = expr;
    ch->handles[ch->nrules] = (long)json_integer_value(json_object_get(r, "handle"));
    ch->nrules++;
    rs->nrules++;
    return 0;
}

struct fw_ruleset *fw_ruleset_parse(const char *json, size_t len, struct oe_error *err)
{
    if (len > FW_RULESET_MAX) {
        oe_error_setc(err, OE_E_LIMIT, "nft ruleset: %zu octets, more than the %d taken", len, FW_RULESET_MAX);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        oe_error_setc(err, OE_E_INVALID, "nft ruleset: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    json_t *items = json_object_get(root, "nftables");
    if (!json_is_array(items)) {
        oe_error_setc(err, OE_E_INVALID, "nft ruleset: no \"nftables\" array");
        json_decref(root);
        return NULL;
    }
    struct fw_ruleset *rs = calloc(1, sizeof(*rs));
    if (rs != NULL) {
        rs->chains = calloc(FW_MAX_CHAINS, sizeof(*rs->chains));
        rs->sets = calloc(FW_MAX_SETS, sizeof(*rs->sets));
    }
    if (rs == NULL || rs->chains == NULL || rs->sets == NULL) {
        if (rs != NULL) {
            free(rs->chains);
            free(rs->sets);
        }
        free(rs);
        json_decref(root);
        oe_error_set(err, "nft ruleset: out of memory");
        return NULL;
    }
    rs->root = root;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        json_t *c = json_object_get(it, "chain"), *st = json_object_get(it, "set");
        if (json_is_object(c))
            add_chain(rs, c);
        if (json_is_object(st))
            add_set(rs, st);
    }
    json_array_foreach(items, i, it)
    {
        json_t *r = json_object_get(it, "rule");
        if (json_is_object(r) && add_rule(rs, r) != 0) {
            fw_ruleset_free(rs);
            oe_error_set(err, "nft ruleset: out of memory");
            return NULL;
        }
    }
    return rs;
}

void fw_ruleset_free(struct fw_ruleset *rs)
{
    if (rs == NULL)
        return;
    for (size_t i = 0; i < rs->nchains; i++) {
        free(rs->chains[i].rules);
        free(rs->chains[i].handles);
    }
    free(rs->chains);
    free(rs->sets);
    oe_htab_free(&rs->index);
    oe_htab_free(&rs->set_index);
    json_decref(rs->root);
    free(rs);
}

size_t fw_ruleset_rules(const struct fw_ruleset *rs)
{
    return rs->nrules;
}

/* ---- one flow through it ---- */

/* A value the flow has: a number and the names nft may print for it. */
struct value {
    long num;
    const char *names[3];
    bool iface; /* an interface: never loopback ("lo", index 1), else unknown */
    /* where "@name" is looked up: the rule's table; NULL inside a set (a set holds no sets) */
    const struct fw_ruleset *rs;
    const struct fw_chain *ch;
    bool unwrapped; /* inside a set element's {"elem": {"val": ...}}: no second one */
};

static enum tri right_has(const struct value *v, const json_t *right);

/* "@name": the named set's elements, when they are what the ruleset lists */
static enum tri named_set_has(const struct value *v, const char *name)
{
    if (v->rs == NULL)
        return MAYBE;
    const struct fw_set *st = set_find(v->rs, v->ch->family, v->ch->table, name);
    if (st == NULL || st->changes)
        return MAYBE;
    if (st->elem == NULL)
        return NO; /* an empty set */
    struct value inner = *v;
    inner.rs = NULL;
    return right_has(&inner, st->elem);
}

static bool value_is(const struct value *v, const json_t *el)
{
    if (json_is_integer(el))
        return json_integer_value(el) == v->num;
    const char *s = json_string_value(el);
    for (size_t i = 0; s != NULL && i < 3 && v->names[i] != NULL; i++)
        if (!strcmp(s, v->names[i]))
            return true;
    return false;
}

/* Does the flow's value equal one element (a value, a range)? MAYBE for what it cannot tell (a named set, a prefix). */
static enum tri element_has(const struct value *v, const json_t *el)
{
    if (v->iface && !(json_is_string(el) && json_string_value(el)[0] == '@'))
        return (json_is_string(el) && !strcmp(json_string_value(el), "lo")) ||
                       (json_is_integer(el) && json_integer_value(el) == 1)
                   ? NO
                   : MAYBE;
    if (json_is_integer(el) || json_is_string(el)) {
        const char *s = json_string_value(el);
        if (s != NULL && s[0] == '@')
            return named_set_has(v, s + 1);
        if (value_is(v, el))
            return YES;
        return s != NULL && s[0] == '@' ? MAYBE : (json_is_integer(el) || v->names[0] != NULL) ? NO : MAYBE;
    }
    const json_t *wrapped = json_object_get(json_object_get(el, "elem"), "val");
    if (wrapped != NULL && !v->unwrapped) {
        struct value inner = *v;
        inner.unwrapped = true;
        return element_has(&inner, wrapped);
    }
    json_t *range = json_object_get(el, "range");
    if (json_is_array(range) && json_array_size(range) == 2 && json_is_integer(json_array_get(range, 0)) &&
        json_is_integer(json_array_get(range, 1)))
        return json_integer_value(json_array_get(range, 0)) <= v->num &&
                       v->num <= json_integer_value(json_array_get(range, 1))
                   ? YES
                   : NO;
    return MAYBE;
}

/* The right side of == or in: one element, an anonymous set, or a list of flags. */
static enum tri right_has(const struct value *v, const json_t *right)
{
    const json_t *set = json_object_get(right, "set");
    if (set == NULL && json_is_array(right))
        set = right;
    if (set == NULL)
        return element_has(v, right);
    if (!json_is_array(set))
        return element_has(v, set); /* "set": one element */
    enum tri t = NO;
    size_t i;
    json_t *el;
    json_array_foreach(set, i, el)
    {
        enum tri e = element_has(v, el);
        if (e == YES)
            return YES;
        if (e == MAYBE)
            t = MAYBE;
    }
    return t;
}

static enum tri compare(const struct value *v, const char *op, const json_t *right)
{
    if (op == NULL || !strcmp(op, "==") || !strcmp(op, "in"))
        return right_has(v, right);
    if (!strcmp(op, "!=")) {
        enum tri t = right_has(v, right);
        return t == YES ? NO : t == NO ? YES : MAYBE;
    }
    if (!json_is_integer(right))
        return MAYBE;
    long r = (long)json_integer_value(right);
    if (!strcmp(op, "<"))
        return v->num < r ? YES : NO;
    if (!strcmp(op, "<="))
        return v->num <= r ? YES : NO;
    if (!strcmp(op, ">"))
        return v->num > r ? YES : NO;
    if (!strcmp(op, ">="))
        return v->num >= r ? YES : NO;
    return MAYBE;
}

static void proto_value(const struct fw_flow *f, struct value *v)
{
    *v = (struct value){.num = f->proto};
    v->names[0] = f->proto == 17 ? "udp" : f->proto == 50 ? "esp" : f->proto == 1 ? "icmp" : "ipv6-icmp";
    v->names[1] = f->proto == 58 ? "icmpv6" : NULL;
}

/* RFC 1191 / RFC 8201: the ICMP error path MTU discovery needs, by nft's names */
static enum tri icmp_value(const struct fw_flow *f, const char *field, struct value *v, bool *known)
{
    if (!strcmp(field, "type")) {
        *v = (struct value){.num = f->icmp_type,
                            .names = {f->icmp_type == 3 && f->proto == 1    ? "destination-unreachable"
                                      : f->icmp_type == 2 && f->proto == 58 ? "packet-too-big"
                                                                            : NULL}};
        *known = true;
    } else if (!strcmp(field, "code")) {
        *v = (struct value){.num = f->icmp_code, .names = {f->icmp_code == 4 && f->proto == 1 ? "frag-needed" : NULL}};
        *known = true;
    }
    return MAYBE;
}

static void port_value(const struct fw_flow *f, struct value *v)
{
    *v = (struct value){.num = f->port, .names = {f->port == 500 ? "isakmp" : f->port == 4500 ? "ipsec-nat-t" : NULL}};
}

/*
 * What the flow says about the left side of a match: NO when the left side
 * cannot exist for it (a tcp header, an IPv6 field of an IPv4 packet), the
 * value when it is the flow's own, else MAYBE (*known false).
 */
static enum tri left_value(const struct fw_flow *f, const json_t *left, struct value *v, bool *known)
{
    *known = false;
    const json_t *meta = json_object_get(left, "meta"), *payload = json_object_get(left, "payload"),
                 *ct = json_object_get(left, "ct");
    if (meta != NULL) {
        const char *key = str_member(meta, "key");
        if (key == NULL)
            return MAYBE;
        if (!strcmp(key, "l4proto")) {
            proto_value(f, v);
            *known = true;
        } else if (!strcmp(key, "nfproto")) {
            *v = (struct value){.num = f->family, .names = {f->family == AF_INET ? "ipv4" : "ipv6"}};
            *known = true;
        } else if ((f->inbound && (!strcmp(key, "iif") || !strcmp(key, "iifname"))) ||
                   (!f->inbound && (!strcmp(key, "oif") || !strcmp(key, "oifname")))) {
            /* a peer's packet is on some interface, but never loopback */
            *v = (struct value){.num = -1, .iface = true};
            *known = true;
        }
        return MAYBE;
    }
    if (ct != NULL) {
        const char *key = str_member(ct, "key");
        if (key != NULL && !strcmp(key, "state")) {
            /* NF_CT_STATE_BIT(IP_CT_NEW), or IP_CT_RELATED for an ICMP error */
            *v = f->related ? (struct value){.num = 4, .names = {"related"}}
                            : (struct value){.num = 8, .names = {"new"}};
            *known = true;
        }
        return MAYBE;
    }
    if (payload == NULL)
        return MAYBE;
    const char *proto = str_member(payload, "protocol"), *field = str_member(payload, "field");
    if (proto == NULL || field == NULL)
        return MAYBE; /* a raw payload: base, offset, len */
    if (!strcmp(proto, "ip") || !strcmp(proto, "ip6")) {
        if ((f->family == AF_INET) != !strcmp(proto, "ip"))
            return NO;
        if (!strcmp(field, proto[2] ? "nexthdr" : "protocol")) {
            proto_value(f, v);
            *known = true;
        }
        return MAYBE;
    }
    if (!strcmp(proto, "udp") || !strcmp(proto, "th")) {
        if (f->proto != 17)
            return !strcmp(proto, "udp") ? NO : MAYBE; /* th on ESP reads the SPI */
        if (!strcmp(field, "dport") || !strcmp(field, "sport")) {
            port_value(f, v);
            *known = true;
        }
        return MAYBE;
    }
    if (!strcmp(proto, "esp"))
        return f->proto == 50 ? MAYBE : NO;
    if ((!strcmp(proto, "icmp") && f->proto == 1) || (!strcmp(proto, "icmpv6") && f->proto == 58))
        return icmp_value(f, field, v, known);
    static const char *other_l4[] = {"tcp", "icmp", "icmpv6", "sctp", "dccp", "udplite", "ah", "comp", "igmp", "gre"};
    for (size_t i = 0; i < sizeof(other_l4) / sizeof(other_l4[0]); i++)
        if (!strcmp(proto, other_l4[i]))
            return NO;
    return MAYBE;
}

/* "ip saddr", "meta iifname", "ct state": what a match looks at, for the reason. */
static void left_str(const json_t *left, char *buf, size_t len)
{
    const json_t *meta = json_object_get(left, "meta"), *payload = json_object_get(left, "payload"),
                 *ct = json_object_get(left, "ct");
    if (meta != NULL)
        snprintf(buf, len, "meta %.30s", str_member(meta, "key") ? str_member(meta, "key") : "?");
    else if (ct != NULL)
        snprintf(buf, len, "ct %.30s", str_member(ct, "key") ? str_member(ct, "key") : "?");
    else if (payload != NULL && str_member(payload, "protocol") && str_member(payload, "field"))
        snprintf(buf, len, "%.20s %.30s", str_member(payload, "protocol"), str_member(payload, "field"));
    else if (json_is_object(left) && json_object_size(left) > 0)
        snprintf(buf, len, "%.40s", json_object_iter_key(json_object_iter((json_t *)left)));
    else
        snprintf(buf, len, "a match");
}

static enum tri match(const struct fw_ruleset *rs, const struct fw_chain *ch, const struct fw_flow *f, const json_t *m,
                      char *cond, size_t clen)
{
    const json_t *left = json_object_get(m, "left"), *right = json_object_get(m, "right");
    struct value v;
    bool known;
    enum tri t = left_value(f, left, &v, &known);
    if (t == NO)
        return NO;
    v.rs = rs;
    v.ch = ch;
    if (known && right != NULL)
        t = compare(&v, str_member(m, "op"), right);
    if (t == MAYBE && cond[0] == '\0')
        left_str(left, cond, clen);
    return t;
}

struct walk {
    const struct fw_ruleset *rs;
    const struct fw_flow *f;
    unsigned steps;
    bool gave_up;
    /* the first rule that accepts or drops the flow, when a condition holds (_if) or whatever (_at) */
    char accept_if[256], accept_at[256], drop_if[256], drop_at[256];
};

static void note(struct walk *w, bool drop, bool certain, const struct fw_chain *ch, long handle, const char *what,
                 const char *cond)
{
    char *by = drop ? (certain ? w->drop_at : w->drop_if) : (certain ? w->accept_at : w->accept_if);
    size_t len = sizeof(w->drop_at);
    if (by[0] != '\0')
        return;
    if (handle < 0)
        snprintf(by, len, "the policy %.8s of %.20s %.40s %.40s", what, ch->family, ch->table, ch->name);
    else if (!certain && cond[0] != '\0')
        snprintf(by, len, "%.20s %.40s %.40s rule handle %ld (%.12s, when %.40s)", ch->family, ch->table, ch->name,
                 handle, what, cond);
    else
        snprintf(by, len, "%.20s %.40s %.40s rule handle %ld (%.12s)", ch->family, ch->table, ch->name, handle, what);
}

static unsigned walk_chain(struct walk *w, const struct fw_chain *ch, unsigned depth);

/* A verdict statement's outcomes; 0 when the statement is not a verdict. */
static unsigned verdict(struct walk *w, const struct fw_chain *ch, const json_t *st, unsigned depth, bool *is_goto)
{
    *is_goto = false;
    if (json_object_get(st, "accept") != NULL)
        return OUT_ACCEPT;
    if (json_object_get(st, "drop") != NULL || json_object_get(st, "reject") != NULL)
        return OUT_DROP;
    if (json_object_get(st, "return") != NULL)
        return OUT_CONTINUE | 8u; /* 8: leaves this chain */
    static const char *nat[] = {"snat", "dnat", "masquerade", "redirect"};
    for (size_t i = 0; i < sizeof(nat) / sizeof(nat[0]); i++)
        if (json_object_get(st, nat[i]) != NULL)
            return OUT_ACCEPT;
    if (json_object_get(st, "queue") != NULL)
        return OUT_ACCEPT | OUT_DROP; /* a program decides */
    const json_t *j = json_object_get(st, "jump"), *g = json_object_get(st, "goto");
    if (j == NULL && g == NULL)
        return 0;
    *is_goto = g != NULL;
    const char *target = str_member(j ? j : g, "target");
    const struct fw_chain *to = target ? chain_find(w->rs, ch->family, ch->table, target) : NULL;
    if (to == NULL)
        return OUT_CONTINUE;
    if (depth + 1 >= FW_MAX_DEPTH) {
        w->gave_up = true;
        return OUT_ACCEPT | OUT_DROP;
    }
    return walk_chain(w, to, depth + 1);
}

/* The outcomes of a verdict map: the element the flow's key picks, or every one it may pick. */
static unsigned vmap(struct walk *w, const struct fw_chain *ch, const json_t *vm, unsigned depth, char *cond,
                     size_t clen)
{
    struct value v;
    bool known;
    const json_t *key = json_object_get(vm, "key"), *data = json_object_get(json_object_get(vm, "data"), "set");
    enum tri t = left_value(w->f, key, &v, &known);
    v.rs = w->rs;
    v.ch = ch;
    if (t == NO || !json_is_array(data))
        return t == NO ? OUT_CONTINUE : (OUT_ACCEPT | OUT_DROP | OUT_CONTINUE);
    unsigned out = 0;
    size_t i;
    json_t *el;
    json_array_foreach(data, i, el)
    {
        const json_t *k = json_array_get(el, 0), *st = json_array_get(el, 1);
        enum tri e = known ? element_has(&v, k) : MAYBE;
        if (e == NO || st == NULL)
            continue;
        bool g;
        unsigned o = verdict(w, ch, st, depth, &g);
        if (e == MAYBE && cond[0] == '\0')
            left_str(key, cond, clen);
        out |= o ? o : OUT_CONTINUE;
        if (e == YES)
            return out;
    }
    return out | OUT_CONTINUE;
}

/* Statements that neither match nor decide: they do something and go on. */
static bool is_action(const json_t *st)
{
    static const char *acts[] = {"counter", "log", "mangle", "notrack", "set", "map", "ct helper", "flow", "xt_target"};
    for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
        if (json_object_get(st, acts[i]) != NULL)
            return true;
    return false;
}

/* Every outcome of the flow through one rule: 0 when it does not match at all. */
static unsigned walk_rule(struct walk *w, const struct fw_chain *ch, size_t idx, unsigned depth, bool *certain)
{
    const json_t *expr = ch->rules[idx];
    char cond[64] = "";
    enum tri m = YES;
    size_t i;
    json_t *st;
    json_array_foreach(expr, i, st)
    {
        const json_t *mt = json_object_get(st, "match");
        bool g;
        if (mt != NULL) {
            enum tri t = match(w->rs, ch, w->f, mt, cond, sizeof(cond));
            if (t == NO)
                return 0;
            if (t == MAYBE)
                m = MAYBE;
            continue;
        }
        if (json_object_get(st, "vmap") != NULL) {
            unsigned o = vmap(w, ch, json_object_get(st, "vmap"), depth, cond, sizeof(cond));
            bool sure = m == YES && !(o & OUT_CONTINUE) && (o & (OUT_ACCEPT | OUT_DROP)) != (OUT_ACCEPT | OUT_DROP);
            *certain = m == YES;
            if (o & OUT_ACCEPT)
                note(w, false, sure, ch, ch->handles[idx], "verdict map", cond);
            if (o & OUT_DROP)
                note(w, true, sure, ch, ch->handles[idx], "verdict map", cond);
            return o | (m == MAYBE ? OUT_CONTINUE : 0);
        }
        unsigned o = verdict(w, ch, st, depth, &g);
        if (o != 0) {
            /* a jump's CONTINUE goes on here; a goto's, like return, leaves this chain */
            if (g && (o & OUT_CONTINUE))
                o |= 8u;
            *certain = m == YES;
            bool here = json_object_get(st, "jump") == NULL && json_object_get(st, "goto") == NULL;
            bool sure = m == YES && json_object_get(st, "queue") == NULL;
            if ((o & OUT_ACCEPT) && here)
                note(w, false, sure, ch, ch->handles[idx], "accept", cond);
            if ((o & OUT_DROP) && here)
                note(w, true, sure, ch, ch->handles[idx],
                     json_object_get(st, "reject")  ? "reject"
                     : json_object_get(st, "queue") ? "queue"
                                                    : "drop",
                     cond);
            return o;
        }
        if (!is_action(st)) {
            /* limit, quota, xt, fib, anything else: a condition we cannot judge */
            m = MAYBE;
            if (cond[0] == '\0' && json_is_object(st) && json_object_size(st) > 0)
                snprintf(cond, sizeof(cond), "%.40s", json_object_iter_key(json_object_iter(st)));
        }
    }
    return 0; /* matched, decided nothing: on to the next rule */
}

/*
 * Outcomes of the flow through a chain. A regular chain the flow can leave
 * undecided (off its end, by return) adds OUT_CONTINUE; a base chain then
 * applies its policy.
 */
static unsigned walk_chain(struct walk *w, const struct fw_chain *ch, unsigned depth)
{
    unsigned out = 0;
    bool leaves = true, returns = false;
    for (size_t i = 0; i < ch->nrules; i++) {
        if (++w->steps > FW_MAX_STEPS) {
            w->gave_up = true;
            return OUT_ACCEPT | OUT_DROP;
        }
        bool certain = false;
        unsigned o = walk_rule(w, ch, i, depth, &certain);
        if (o == 0)
            continue;
        out |= o & (OUT_ACCEPT | OUT_DROP);
        if (o & 8u) { /* return, or a goto: whatever comes back leaves this chain too */
            returns |= (o & OUT_CONTINUE) != 0;
            if (certain) {
                leaves = false;
                break;
            }
            continue;
        }
        if (certain && !(o & OUT_CONTINUE)) {
            leaves = false;
            break;
        }
    }
    if (!leaves && !returns)
        return out;
    if (ch->hook == NULL)
        return out | OUT_CONTINUE;
    note(w, ch->policy_drop, true, ch, -1, ch->policy_drop ? "drop" : "accept", "");
    return out | (ch->policy_drop ? OUT_DROP : OUT_ACCEPT);
}

static bool family_applies(const char *family, int af)
{
    return !strcmp(family, "inet") || !strcmp(family, af == AF_INET ? "ip" : "ip6");
}

/* The hooks a packet meets, in order: prerouting then input, or output then postrouting. */
static int hook_stage(const char *hook, bool inbound)
{
    if (hook == NULL)
        return -1;
    if (inbound)
        return !strcmp(hook, "prerouting") ? 0 : !strcmp(hook, "input") ? 1 : -1;
    return !strcmp(hook, "output") ? 0 : !strcmp(hook, "postrouting") ? 1 : -1;
}

static int chain_order(const void *a, const void *b)
{
    const struct fw_chain *x = *(const struct fw_chain *const *)a, *y = *(const struct fw_chain *const *)b;
    return x->prio < y->prio ? -1 : x->prio > y->prio;
}

void fw_ruleset_eval(const struct fw_ruleset *rs, const struct fw_flow *f, struct fw_verdict *out)
{
    memset(out, 0, sizeof(*out));
    if (rs->too_large) {
        out->status = FW_UNKNOWN;
        snprintf(out->why, sizeof(out->why), "ruleset larger than %d chains or %d rules: not judged", FW_MAX_CHAINS,
                 FW_MAX_RULES);
        return;
    }
    const struct fw_chain **base = malloc((rs->nchains + 1) * sizeof(*base));
    if (base == NULL) {
        out->status = FW_UNKNOWN;
        snprintf(out->why, sizeof(out->why), "out of memory");
        return;
    }
    struct walk w = {.rs = rs, .f = f};
    bool may_drop = false, must_drop = false;
    unsigned nbase = 0;
    for (int stage = 0; stage < 2 && !must_drop; stage++) {
        size_t nb = 0;
        for (size_t i = 0; i < rs->nchains; i++)
            if (family_applies(rs->chains[i].family, f->family) && hook_stage(rs->chains[i].hook, f->inbound) == stage)
                base[nb++] = &rs->chains[i];
        qsort(base, nb, sizeof(base[0]), chain_order);
        for (size_t i = 0; i < nb && !must_drop; i++) {
            unsigned o = walk_chain(&w, base[i], 0);
            nbase++;
            may_drop |= (o & OUT_DROP) != 0;
            must_drop = !(o & OUT_ACCEPT);
        }
    }
    free(base);
    if (w.gave_up) {
        out->status = FW_UNKNOWN;
        snprintf(out->why, sizeof(out->why), "jumps deeper than %d or more than %d rule visits: not judged",
                 FW_MAX_DEPTH, FW_MAX_STEPS);
    } else if (must_drop) {
        out->status = FW_DROPPED;
        snprintf(out->why, sizeof(out->why), "dropped by %s", w.drop_at[0] ? w.drop_at : w.drop_if);
    } else if (may_drop) {
        out->status = FW_DEPENDS;
        if (w.accept_if[0] && w.drop_at[0])
            snprintf(out->why, sizeof(out->why), "dropped by %s, unless accepted by %s", w.drop_at, w.accept_if);
        else
            snprintf(out->why, sizeof(out->why), "may be dropped by %s", w.drop_if[0] ? w.drop_if : w.drop_at);
    } else {
        out->status = FW_ACCEPTED;
        if (nbase == 0)
            snprintf(out->why, sizeof(out->why), "no base chain at its hooks");
        else
            snprintf(out->why, sizeof(out->why), "accepted by %s", w.accept_at[0] ? w.accept_at : w.accept_if);
    }
}
