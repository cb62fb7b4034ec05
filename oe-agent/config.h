/* oe.conf: the agent's configuration, parsed once into typed fields. */
#ifndef OE_AGENT_CONFIG_H
#define OE_AGENT_CONFIG_H

#include "policy/policy.h"

#include <limits.h>

enum oe_auth { OE_AUTH_RSASIG, OE_AUTH_NULL, OE_AUTH_RSASIG_OR_NULL };
enum oe_dnssec { OE_DNSSEC_SECURE, OE_DNSSEC_INSECURE_OK };
enum oe_shunt { OE_SHUNT_PASS, OE_SHUNT_DROP };

struct oe_group_config {
    enum oe_shunt failure_shunt;
    uint32_t shunt_lifetime; /* seconds */
    enum oe_auth auth;
    enum oe_dnssec dnssec;
};

#define OE_MAX_RESOLVERS 4
#define OE_MAX_LIST 4 /* entries of a list setting (ciphers, dh-groups) */

struct oe_config {
    char policies[PATH_MAX];
    char key_file[PATH_MAX];
    char trust_anchor[PATH_MAX];
    char control[PATH_MAX];
    char control_group[64];  /* its members may ask "initiate" (contrib/oe-unbound.py); empty: none */
    char log[PATH_MAX];      /* "stderr", "syslog" or a file */
    char resolver_spec[256]; /* as written; empty: /etc/resolv.conf */
    struct oe_addr resolvers[OE_MAX_RESOLVERS];
    uint16_t resolver_ports[OE_MAX_RESOLVERS];
    int nresolvers;
    int larval_drop;        /* value to set; -1: leave the sysctl alone */
    uint32_t acq_expires;   /* net.core.xfrm_acq_expires to set, seconds; 0: leave it alone */
    uint32_t hold_lifetime; /* a hold never outlives this */
    /* a tunnel whose first packet heads its line's kernel queue waits this long for the line's other negotiations */
    uint32_t first_packet_wait_ms;
    /* what unauthenticated IKE_SA_INIT requests can make the agent keep (struct ike_config) */
    uint32_t cookie_threshold, max_half_open, max_half_open_per_source;
    uint32_t half_open_timeout; /* seconds */
    uint32_t max_ike_sas_per_peer;
    uint32_t max_leases_per_source; /* address-pool leases initiators behind one address may hold */
    uint32_t max_peers;             /* holds, shunts and tunnels the peer table keeps */
    uint32_t max_negotiations;      /* peers held while we negotiate for them, at once */
    uint32_t updown_shunt_rate;     /* shunt updown calls a second */
    uint32_t dns_max_lookups, dns_max_peer_lookups, dns_max_lookups_per_peer; /* struct dnskeys_resolver_config */
    uint32_t dns_timeout;                          /* seconds: a lookup not answered by then fails */
    uint32_t key_cache_min_ttl, key_cache_max_ttl; /* seconds a key from DNS is kept, at least and at most */
    uint32_t max_cached_keys;                      /* names the key cache holds; 0: no cache */
    uint32_t key_cache_kib;                        /* and the KiB it may take at most */
    uint32_t dns_retransmit_ms;       /* a forwarder's question is asked again after this (0: libunbound's own) */
    uint32_t idle_timeout;            /* a tunnel without traffic this long is deleted; 0: never */
    uint32_t salifetime, ikelifetime; /* Child SA and IKE SA lifetimes (rekeyed before) */
    uint32_t dpddelay;                /* liveness check of a quiet peer; 0: none */
    uint32_t keep_alive;              /* NAT keepalives (s) from behind a NAT; 0: none */
    int ciphers[2];                   /* IKE ENCR IDs (enum ike_cipher) in offer order; 0 ends */
    int dh_groups[OE_MAX_LIST];       /* IKE DH groups in offer order, the first one's KE sent; 0 ends */
    struct oe_prefix subnets[8];      /* a gateway's: the hosts behind it it answers and initiates for */
    size_t nsubnets;
    struct oe_prefix address_pool[2]; /* leased to NAT'ed initiators: one prefix a family; family 0: none */
    int client_address_translation;   /* as initiator, ask for a lease: enum ike_ask_address (0 no, 1 yes, 2 auto) */
    bool nofork;
    bool ike;              /* negotiate (IKEv2 + DNS); off: every peer gets its failure shunt */
    char listen_spec[256]; /* IKE addresses; empty: every address of the host */
    char updown[PATH_MAX]; /* script run when a tunnel or shunt comes and goes */
    /* read by ipsec publish, not by the agent: accepted here so that one file serves both */
    char publish_server[72];
    char publish_tsig_key[PATH_MAX];
    struct oe_group_config groups[POLICY_GROUP_COUNT];
};

void oe_config_defaults(struct oe_config *c);
/* Reads FILE over the defaults; a missing file is an error only if required. */
int oe_config_load(struct oe_config *c, const char *path, bool required, struct oe_error *err);
/* One "key = value" outside any section, as the command line gives it. */
int oe_config_set(struct oe_config *c, const char *key, const char *value, struct oe_error *err);
/* Fill resolvers from resolver_spec, or from resolv.conf when empty. */
int oe_config_resolvers(struct oe_config *c, const char *resolv_conf, struct oe_error *err);
int oe_config_parse_text(struct oe_config *c, const char *text, size_t len, const char *fname, struct oe_error *err);

/* The keys oe.conf knows, for checks that oe.conf(5) documents each: global or [group] ones. */
size_t oe_config_key_count(bool group);
const char *oe_config_key_name(bool group, size_t i);

const char *oe_shunt_name(enum oe_shunt s);
const char *oe_auth_name(enum oe_auth a);
const char *oe_dnssec_name(enum oe_dnssec d);

#endif
