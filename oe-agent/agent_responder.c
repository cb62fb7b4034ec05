/*
 * The responder's side of OE: an initiator's IKE_AUTH waits (NEED_KEY)
 * while we decide, for the one host its Child SA would carry, whether the
 * policy answers IKE for it and which key may speak for it. The key comes
 * from that host's own reverse record, never from wherever the initiator's
 * identity points: an identity is only as good as the host's record that
 * names it (RFC 4322 5.3).
 */
#include "agent_internal.h"
#include "log.h"
#include "responder_rule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One initiator waiting for the host's record. */
struct responder_lookup {
    struct agent *a;
    unsigned serial;
    struct responder_claim claim;
    struct host_policy pol;
};

static void answer_key(struct agent *a, unsigned serial, const struct dnskeys_pubkey *key, bool allow_null)
{
    struct ike_pubkey k = key ? agent_ike_key(key) : (struct ike_pubkey){0};
    ike_peer_key(a->ike, serial, key ? &k : NULL, allow_null, ike_io_actions(a->io));
    ike_io_apply(a->io, ike_io_actions(a->io));
}

/* The verdict rides on the IKE SA until its UP: however many IKE_AUTHs are in progress at once. */
static void remember_verdict(struct agent *a, unsigned serial, enum dnskeys_verdict v)
{
    ike_peer_note(a->ike, serial, agent_peer_dnssec(v));
}

static void use_host_record(struct responder_lookup *rl, const struct dnskeys_answer *ans, bool cached);

static void on_host_record(const struct dnskeys_answer *ans, void *arg)
{
    struct responder_lookup *rl = arg;
    if (ans == NULL) {
        free(rl); /* the resolver went first (shutting down) */
        return;
    }
    agent_cache_keys(rl->a, ans);
    use_host_record(rl, ans, false);
}

static void use_host_record(struct responder_lookup *rl, const struct dnskeys_answer *ans, bool cached)
{
    char why[600], h[OE_ADDR_STRLEN], o[OE_ADDR_STRLEN];
    oe_addr_str(&rl->claim.host, h);
    oe_addr_str(&rl->claim.outer, o);
    remember_verdict(rl->a, rl->serial, ans->verdict);
    const struct dnskeys_record *rec = responder_record(&rl->claim, ans, rl->pol.dnssec, why, sizeof(why));
    const struct dnskeys_record *more[IKE_MAX_PEER_KEYS - 1];
    size_t nmore = responder_more_records(&rl->claim, ans, rec, more, IKE_MAX_PEER_KEYS - 1);
    if (rec == NULL) {
        oe_log("#%u: '%s' (IKE from %s) may not speak for %s: %s", rl->serial, rl->claim.id, o, h, why);
    } else {
        char id[16];
        dnskeys_key_id(&rec->key, id);
        char also[96] = "";
        if (nmore)
            snprintf(also, sizeof(also), " (and %zu more key%s published for it: either may sign)", nmore,
                     nmore == 1 ? "" : "s");
        oe_log("#%u: '%s' (IKE from %s) may speak for %s: %s record at %s (%s%s), RSA %u bits, keyid %s%s", rl->serial,
               rl->claim.id, o, h, dnskeys_rrtype_name(rec->type), ans->owner, dnskeys_verdict_name(ans->verdict),
               cached ? ", from the key cache" : "", rec->key.bits, id, also);
    }
    if (rec != NULL && nmore > 0) {
        struct ike_pubkey keys[IKE_MAX_PEER_KEYS];
        keys[0] = agent_ike_key(&rec->key);
        for (size_t i = 0; i < nmore; i++)
            keys[i + 1] = agent_ike_key(&more[i]->key);
        ike_peer_keys(rl->a->ike, rl->serial, keys, nmore + 1, false, ike_io_actions(rl->a->io));
        ike_io_apply(rl->a->io, ike_io_actions(rl->a->io));
    } else {
        answer_key(rl->a, rl->serial, rec ? &rec->key : NULL, false);
    }
    free(rl);
}

/* The policy's word on the host, for a log line: "group private-or-clear, auth = rsasig (from ...)". */
static void describe_policy(const struct agent *a, const struct host_policy *pol, char *out, size_t len)
{
    int n = snprintf(out, len, "group %s, auth = %s", policy_group_name(pol->group), oe_auth_name(pol->auth));
    if (pol->stricter && n > 0 && (size_t)n < len) {
        char p[OE_ADDR_STRLEN];
        snprintf(out + n, len - (size_t)n, " (%s:%u %s narrows its ports and asks more)",
                 policy_group_file(a->set, pol->stricter->group), pol->stricter->line,
                 oe_prefix_str(&pol->stricter->sel.peer, p));
    }
}

void agent_responder_need_key(void *arg, const struct ike_action *act)
{
    struct agent *a = arg;
    struct host_policy pol;
    char h[OE_ADDR_STRLEN], o[OE_ADDR_STRLEN], said[300];
    const struct oe_addr *host = act->child.remote_host.family ? &act->child.remote_host : &act->remote.addr;
    oe_addr_str(host, h);
    oe_addr_str(&act->remote.addr, o);
    host_policy_for(a->set, a->cfg, host, &pol);
    if (!pol.allowed) {
        oe_log("#%u: refusing IKE from %s for %s: its policy group is %s%s", act->serial, o, h,
               policy_group_name(pol.group), pol.rule ? "" : " (no group covers it)");
        answer_key(a, act->serial, NULL, false);
        return;
    }
    describe_policy(a, &pol, said, sizeof(said));
    if (strcmp(act->text, "null") == 0 || pol.auth == OE_AUTH_NULL) {
        bool ok = strcmp(act->text, "null") == 0 && pol.auth != OE_AUTH_RSASIG;
        oe_log("#%u: %s from %s for %s authenticates with %s: %s (%s)", act->serial, act->id, o, h, act->text,
               ok ? "accepted" : "refused", said);
        answer_key(a, act->serial, NULL, ok);
        return;
    }
    struct responder_lookup *rl = calloc(1, sizeof(*rl));
    struct oe_error err;
    if (rl == NULL) {
        oe_log("#%u: refusing %s: out of memory", act->serial, o);
        answer_key(a, act->serial, NULL, false);
        return;
    }
    *rl = (struct responder_lookup){.a = a, .serial = act->serial, .pol = pol};
    rl->claim.host = *host;
    rl->claim.outer = act->remote.addr;
    snprintf(rl->claim.id, sizeof(rl->claim.id), "%s", act->id);
    char name[DNSKEYS_NAME_MAX];
    dnskeys_reverse_name(host, name);
    oe_log("#%u: '%s' (IKE from %s) asks a tunnel for %s (%s): looking up its record at %s", act->serial, act->id, o, h,
           said, name);
    const struct dnskeys_answer *cached = agent_cached_keys(a, name);
    if (cached != NULL) {
        use_host_record(rl, cached, true);
        return;
    }
    struct dnskeys_asker peer = {DNSKEYS_FOR_PEER, act->remote.addr};
    if (dnskeys_lookup_addr_for(a->res, host, &peer, on_host_record, rl, &err) != 0) {
        oe_log("#%u: refusing %s: %s", act->serial, o, err.msg);
        free(rl);
        answer_key(a, act->serial, NULL, false);
    }
}
