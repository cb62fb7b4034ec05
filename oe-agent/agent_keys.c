/*
 * The agent's keys: its own (the one that signs, and during a rollover the
 * next one, published beside it) and its peers' from DNS, kept in the key
 * cache for their TTL. A cached key is used without a query; one that then
 * fails authentication is dropped and DNS asked once more (the initiator,
 * agent_ike_hooks.c), so that a peer that rolled its key is not locked out
 * for the rest of a TTL.
 */
#include "agent_internal.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static uint64_t now_ms(const struct agent *a)
{
    return (uint64_t)a->now() * 1000; /* the agent's clock, which tests drive */
}

static void load_host_keys(struct agent *a)
{
    struct oe_error kerr;
    struct dnskeys_hostkey *hk = NULL;
    char next[DNSKEYS_PATH_MAX], id[16];
    if (dnskeys_hostkey_load(a->cfg->key_file, &hk, &kerr) != 0) {
        if (a->hk == NULL)
            oe_log("no host key (%s): only NULL authentication is possible", kerr.msg);
        else
            oe_log("host key not read again (%s): the one loaded before still signs", kerr.msg);
    } else {
        dnskeys_key_id(dnskeys_hostkey_public(hk), id);
        bool same = a->hk && dnskeys_key_eq(dnskeys_hostkey_public(a->hk), dnskeys_hostkey_public(hk));
        oe_log("%s host key %s (RSA %u bits, keyid %s)%s", a->hk ? "read again" : "loaded", a->cfg->key_file,
               dnskeys_hostkey_public(hk)->bits, id,
               a->hk == NULL ? ""
               : same        ? ": unchanged"
                             : ": IKE_AUTH signs with it from now (key rollover)");
        dnskeys_hostkey_free(a->hk);
        a->hk = hk;
    }
    dnskeys_key_free(&a->hk_next);
    struct dnskeys_hostkey *nk;
    if (dnskeys_roll_path(a->cfg->key_file, DNSKEYS_ROLL_NEXT, next, &kerr) == 0 &&
        dnskeys_hostkey_load(next, &nk, &kerr) == 0) {
        if (dnskeys_key_copy(dnskeys_hostkey_public(nk), &a->hk_next) == 0) {
            dnskeys_key_id(&a->hk_next, id);
            oe_log("next host key %s (keyid %s): a rollover is under way; it signs after "
                   "`ipsec newhostkey --rollover --switch` and `ipsec rereadkeys`",
                   next, id);
        }
        dnskeys_hostkey_free(nk);
    }
}

int agent_keys_start(struct agent *a, struct oe_error *err)
{
    struct dnskeys_cache_config cc = {a->cfg->key_cache_min_ttl, a->cfg->key_cache_max_ttl, a->cfg->max_cached_keys,
                                      (size_t)a->cfg->key_cache_kib << 10};
    if (cc.min_ttl > cc.max_ttl) {
        oe_error_set(err, "key-cache-min-ttl %us is above key-cache-max-ttl %us", cc.min_ttl, cc.max_ttl);
        return -1;
    }
    a->keys = dnskeys_cache_new(&cc, err);
    if (a->keys == NULL)
        return -1;
    load_host_keys(a);
    return 0;
}

void agent_keys_stop(struct agent *a)
{
    dnskeys_cache_free(a->keys);
    dnskeys_hostkey_free(a->hk);
    dnskeys_key_free(&a->hk_next);
    a->keys = NULL;
    a->hk = NULL;
}

bool agent_has_host_key(void *agent)
{
    return ((struct agent *)agent)->hk != NULL;
}

int agent_sign(void *agent, const uint8_t *data, size_t len, uint8_t **sig, size_t *siglen, struct oe_error *err)
{
    struct agent *a = agent;
    if (a->hk == NULL) {
        oe_error_set(err, "no host key");
        return -1;
    }
    return dnskeys_hostkey_sign(a->hk, data, len, sig, siglen, err);
}

void agent_rereadkeys(struct agent *a, bool host_keys, struct oe_buf *out)
{
    size_t n = dnskeys_cache_flush(a->keys);
    oe_log("key cache flushed: %zu name%s forgotten; peers' keys are asked of DNS again", n, n == 1 ? "" : "s");
    if (out)
        oe_buf_printf(out, "key cache flushed: %zu name%s\n", n, n == 1 ? "" : "s");
    if (!host_keys || a->ike == NULL)
        return;
    load_host_keys(a);
    if (out && a->hk) {
        char id[16];
        dnskeys_key_id(dnskeys_hostkey_public(a->hk), id);
        oe_buf_printf(out, "host key %s: keyid %s signs\n", a->cfg->key_file, id);
    }
    if (out && a->hk_next.len) {
        char id[16];
        dnskeys_key_id(&a->hk_next, id);
        oe_buf_printf(out, "next host key: keyid %s, published, not signing yet\n", id);
    }
}

const struct dnskeys_answer *agent_cached_keys(struct agent *a, const char *owner)
{
    return dnskeys_cache_get(a->keys, owner, now_ms(a));
}

void agent_cache_keys(struct agent *a, const struct dnskeys_answer *ans)
{
    dnskeys_cache_put(a->keys, ans, now_ms(a));
}

bool agent_auth_failure(const char *why)
{
    /* ike_auth.c's check of the peer's AUTH: "IKE_AUTH response refused: AUTH: ... does not verify ..." */
    return strstr(why, "AUTH: RSA signature does not verify") != NULL ||
           strstr(why, "AUTH: cannot use the peer's key") != NULL;
}

struct cache_out {
    struct oe_buf *out;
    bool json, first;
};

static int show_entry(const struct dnskeys_answer *ans, uint64_t ms_left, void *arg)
{
    struct cache_out *co = arg;
    for (size_t i = 0; i < ans->n && ans->records[i].usable; i++) {
        char id[16];
        dnskeys_key_id(&ans->records[i].key, id);
        if (co->json) {
            oe_buf_printf(co->out, "%s{\"name\": ", co->first ? "" : ", ");
            oe_buf_json_str(co->out, ans->owner);
            oe_buf_printf(
                co->out, ", \"type\": \"%s\", \"keyid\": \"%s\", \"bits\": %u, \"ttl_left\": %llu, \"secure\": %s}",
                dnskeys_rrtype_name(ans->records[i].type), id, ans->records[i].key.bits,
                (unsigned long long)((ms_left + 999) / 1000), ans->verdict == DNSKEYS_SECURE ? "true" : "false");
        } else {
            oe_buf_printf(co->out, "  %s %s keyid %s, RSA %u bits, %llus left, %s\n", ans->owner,
                          dnskeys_rrtype_name(ans->records[i].type), id, ans->records[i].key.bits,
                          (unsigned long long)((ms_left + 999) / 1000), dnskeys_verdict_name(ans->verdict));
        }
        co->first = false;
    }
    return 0;
}

void agent_keys_status(const struct agent *a, bool json, struct oe_buf *out)
{
    struct dnskeys_cache_stats st;
    dnskeys_cache_get_stats(a->keys, &st);
    char id[16] = "", next[16] = "";
    if (a->hk)
        dnskeys_key_id(dnskeys_hostkey_public(a->hk), id);
    if (a->hk_next.len)
        dnskeys_key_id(&a->hk_next, next);
    struct cache_out co = {out, json, true};
    if (json) {
        oe_buf_printf(
            out,
            "\"host_key\": \"%s\", \"next_host_key\": \"%s\", \"key_cache\": {\"entries\": %zu, "
            "\"max\": %u, \"bytes\": %zu, \"max_bytes\": %zu, \"hits\": %lu, \"misses\": %lu, \"evicted\": %lu, "
            "\"keys\": [",
            id, next, st.entries, a->cfg->max_cached_keys, st.bytes, (size_t)a->cfg->key_cache_kib << 10, st.hits,
            st.misses, st.evicted);
        dnskeys_cache_each(a->keys, now_ms(a), show_entry, &co);
        oe_buf_printf(out, "]}");
        return;
    }
    oe_buf_printf(out, "host key: keyid %s%s%s%s\n", a->hk ? id : "(none)", next[0] ? ", next keyid " : "", next,
                  next[0] ? " (rollover: published, not signing yet)" : "");
    oe_buf_printf(out, "key cache: %zu of %u names, %zu of %u KiB, %lu hits, %lu misses, %lu evicted\n", st.entries,
                  a->cfg->max_cached_keys, (st.bytes + 1023) >> 10, a->cfg->key_cache_kib, st.hits, st.misses,
                  st.evicted);
    dnskeys_cache_each(a->keys, now_ms(a), show_entry, &co);
}
