/* Key rollover beside the key file (dnskeys/rollover.c), and which failures make the agent ask DNS again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnskeys/dnskeys.h"
#include "oe-agent/agent_internal.h"
#include "oe-agent/log.h"

static char dir[64], key[96];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/oe-roll-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(key, sizeof(key), "%s/hostkey.pem", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *suffix[] = {"", ".next", ".old", ".next.published"};
    char p[128];
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s%s", key, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static bool exists(const char *suffix)
{
    char p[128];
    struct stat st;
    snprintf(p, sizeof(p), "%s%s", key, suffix);
    return stat(p, &st) == 0;
}

/* Every step in order: which keys are published, which signs, and when the switch is allowed. */
static void test_rollover_steps(void **state)
{
    (void)state;
    struct oe_error err;
    struct dnskeys_pubkey cur, next, keys[2];
    size_t n;
    assert_int_equal(dnskeys_roll_new(key, 2048, &next, &err), -1); /* nothing to roll from */
    assert_int_equal(dnskeys_hostkey_generate(key, 2048, &cur, &err), 0);
    assert_int_equal(dnskeys_hostkeys_public(key, keys, &n, &err), 0);
    assert_int_equal(n, 1);
    dnskeys_key_free(&keys[0]);

    /* 1: the next key, beside the current one; both to publish, current first */
    assert_int_equal(dnskeys_roll_new(key, 2048, &next, &err), 0);
    assert_int_equal(dnskeys_roll_new(key, 2048, &keys[0], &err), -1);
    assert_non_null(strstr(err.msg, "a next key is there already"));
    assert_int_equal(dnskeys_hostkeys_public(key, keys, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_true(dnskeys_key_eq(&keys[0], &cur));
    assert_true(dnskeys_key_eq(&keys[1], &next));
    dnskeys_key_free(&keys[0]);
    dnskeys_key_free(&keys[1]);

    /* not published yet: no switch (force aside) */
    assert_int_equal(dnskeys_roll_switch(key, 1000, false, &err), -1);
    assert_non_null(strstr(err.msg, "never published"));

    /* 2: published at 1000 over records of TTL 300: not before 1300 */
    assert_int_equal(dnskeys_roll_stamp_write(key, 1000, 300, &err), 0);
    int64_t at;
    uint32_t wait;
    assert_int_equal(dnskeys_roll_stamp_read(key, &at, &wait, &err), 0);
    assert_int_equal(at, 1000);
    assert_int_equal(wait, 300);
    assert_int_equal(dnskeys_roll_wait_left(at, wait, 1299), 1);
    assert_int_equal(dnskeys_roll_wait_left(at, wait, 1300), 0);
    assert_int_equal(dnskeys_roll_switch(key, 1299, false, &err), -1);
    assert_non_null(strstr(err.msg, "too early"));
    assert_true(exists(".next"));

    /* 3: the switch: the next key signs, the old one kept beside it */
    assert_int_equal(dnskeys_roll_switch(key, 1300, false, &err), 0);
    assert_false(exists(".next"));
    assert_false(exists(".next.published"));
    assert_true(exists(".old"));
    struct dnskeys_hostkey *hk;
    assert_int_equal(dnskeys_hostkey_load(key, &hk, &err), 0);
    assert_true(dnskeys_key_eq(dnskeys_hostkey_public(hk), &next));
    dnskeys_hostkey_free(hk);
    assert_int_equal(dnskeys_hostkeys_public(key, keys, &n, &err), 0);
    assert_int_equal(n, 1); /* publish now replaces the set with the new key alone */
    assert_true(dnskeys_key_eq(&keys[0], &next));
    dnskeys_key_free(&keys[0]);
    /* no new rollover before the last is finished */
    assert_int_equal(dnskeys_roll_new(key, 2048, &keys[0], &err), -1);
    assert_non_null(strstr(err.msg, "--finish"));

    /* 4: finished: the old key is gone */
    assert_int_equal(dnskeys_roll_finish(key, &err), 0);
    assert_false(exists(".old"));
    assert_int_equal(dnskeys_roll_finish(key, &err), 1);
    dnskeys_key_free(&cur);
    dnskeys_key_free(&next);
}

static void test_stamp_not_one(void **state)
{
    (void)state;
    struct oe_error err;
    char p[128];
    int64_t at;
    uint32_t wait;
    assert_int_equal(dnskeys_roll_stamp_read(key, &at, &wait, &err), 1);
    snprintf(p, sizeof(p), "%s.next.published", key);
    const char *bad[] = {"",
                         "published 10\n",
                         "published -5 wait 3\n",
                         "published 10 wait 3",
                         "x",
                         "published +5 wait 3\n",
                         "published 10 wait 3\nmore\n",
                         "published 99999999999999999999 wait 3\n",
                         "published 10 wait 4294967296\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        FILE *f = fopen(p, "w");
        fputs(bad[i], f);
        fclose(f);
        assert_int_equal(dnskeys_roll_stamp_read(key, &at, &wait, &err), -1);
    }
    assert_int_equal(dnskeys_roll_stamp_parse("published 10\0 wait 3\n", 21, &at, &wait, &err), -1);
    assert_int_equal(dnskeys_roll_stamp_parse("published 10 wait 3\n", 20, &at, &wait, &err), 0);
    assert_int_equal(at, 10);
    assert_int_equal(wait, 3);
}

/* Only our check of the peer's AUTH failing makes a cached key suspect; a timeout or the peer's refusal does not. */
static void test_auth_failure_predicate(void **state)
{
    (void)state;
    assert_true(
        agent_auth_failure("IKE_AUTH response refused: AUTH: RSA signature does not verify with the peer's key"));
    assert_true(agent_auth_failure("AUTH: RSA signature does not verify with the peer's key (tried each of the 2 "
                                   "published keys)"));
    assert_false(agent_auth_failure("IKE_AUTH refused by the peer: AUTHENTICATION_FAILED"));
    assert_false(agent_auth_failure("no answer after 5 retransmissions"));
}

/* ike_initiate with RSA to 203.0.113.10, the key given being any: nonzero when the core can sign. */
static unsigned rsa_initiate(struct agent *a, const struct dnskeys_pubkey *peer)
{
    struct ike_initiate req;
    memset(&req, 0, sizeof(req));
    assert_int_equal(oe_addr_parse("192.0.2.1", &req.local.addr), 0);
    assert_int_equal(oe_addr_parse("203.0.113.10", &req.remote.addr), 0);
    req.local.port = req.remote.port = 500;
    req.local_host = req.local.addr;
    req.remote_host = req.remote.addr;
    req.auth = IKE_AUTHBY_RSASIG;
    req.peer_key = agent_ike_key(peer);
    struct ike_actions out = {0};
    unsigned serial = ike_initiate(a->ike, &req, 0, &out);
    ike_actions_clear(&out);
    free(out.v);
    return serial;
}

/*
 * An agent started before its host key existed (NULL authentication only)
 * takes the key `ipsec newhostkey` then writes at `ipsec rereadkeys`: RSA
 * negotiations sign with it from then on, with no restart.
 */
static void test_rereadkeys_loads_a_first_key(void **state)
{
    (void)state;
    struct oe_config cfg;
    struct oe_error err;
    struct oe_buf log = {0}, out = {0};
    oe_config_defaults(&cfg);
    snprintf(cfg.key_file, sizeof(cfg.key_file), "%s", key);
    cfg.ike = false;
    struct kernel *k = kernel_fake_new();
    struct agent *a = agent_new(&cfg, k);
    oe_log_capture(&log);
    assert_int_equal(agent_keys_start(a, &err), 0);
    assert_non_null(strstr(log.p, "no host key"));
    struct ike_config ic;
    agent_ike_config(a, &ic);
    a->ike = ike_core_new(&ic, &err);
    assert_non_null(a->ike);

    struct dnskeys_pubkey pub;
    assert_int_equal(dnskeys_hostkey_generate(key, 2048, &pub, &err), 0);
    assert_int_equal(rsa_initiate(a, &pub), 0); /* not read yet: "RSA authentication needs a host key" */
    agent_rereadkeys(a, true, &out);
    assert_non_null(strstr(out.p, "signs"));
    assert_non_null(strstr(log.p, "loaded host key"));
    assert_int_not_equal(rsa_initiate(a, &pub), 0);

    dnskeys_key_free(&pub);
    oe_log_capture(NULL);
    oe_buf_free(&log);
    oe_buf_free(&out);
    agent_free(a);
    kernel_close(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rollover_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stamp_not_one, setup, teardown),
        cmocka_unit_test(test_auth_failure_predicate),
        cmocka_unit_test_setup_teardown(test_rereadkeys_loads_a_first_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
