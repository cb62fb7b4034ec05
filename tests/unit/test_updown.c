/* What updown scripts are given, and that a peer cannot put shell syntax in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "oe-agent/agent_internal.h"
#include "oe-agent/agent_updown.h"

static struct oe_peer tunnel_peer(const char *id)
{
    struct oe_peer p;
    memset(&p, 0, sizeof(p));
    oe_addr_parse("192.0.2.1", &p.local);
    oe_addr_parse("192.0.2.2", &p.remote);
    p.group = POLICY_PRIVATE_OR_CLEAR;
    p.state = PEER_TUNNEL;
    p.auth = PEER_AUTH_NULL;
    snprintf(p.peer_id, sizeof(p.peer_id), "%s", id);
    return p;
}

static const char *env_value(const struct updown_env *e, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < e->n; i++)
        if (strncmp(e->envp[i], name, len) == 0 && e->envp[i][len] == '=')
            return e->envp[i] + len + 1;
    return NULL;
}

/* Nothing the shell gives a meaning to: no quotes, $, `, ;, |, &, (, ), <, >, space, glob. */
static bool shell_inert(const char *v)
{
    return strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.@:_=,+/-") == strlen(v);
}

/* Finding 10: a NULL-auth peer (or any responder's IDr) chooses PLUTO_PEER_ID. */
static void test_finding10_peer_id_reaches_updown_shell_inert(void **state)
{
    (void)state;
    struct oe_peer p = tunnel_peer("@$(touch /tmp/x);'\"|`id`&<>*?[]\\~#!{}");
    struct updown_env e;
    agent_updown_env(&p, "up-host", &e);
    const char *id = env_value(&e, "PLUTO_PEER_ID");
    assert_non_null(id);
    assert_true(shell_inert(id));
    assert_string_equal(id, "@__touch_/tmp/x______id______________");
    assert_null(e.envp[e.n]);
}

/* What real peers send (addresses, FQDNs) reaches the script unchanged. */
static void test_updown_env_keeps_real_ids(void **state)
{
    (void)state;
    const char *ids[] = {"192.0.2.2", "2001:db8::2", "@east.example.com", "@host_1.example-2.net"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct oe_peer p = tunnel_peer(ids[i]);
        struct updown_env e;
        agent_updown_env(&p, "up-host", &e);
        assert_string_equal(env_value(&e, "PLUTO_PEER_ID"), ids[i]);
    }
    struct oe_peer p = tunnel_peer("");
    struct updown_env e;
    agent_updown_env(&p, "down-host", &e);
    assert_string_equal(env_value(&e, "PLUTO_PEER_ID"), "192.0.2.2");
    assert_string_equal(env_value(&e, "PLUTO_VERB"), "down-host");
    assert_string_equal(env_value(&e, "PLUTO_PEER_CLIENT"), "192.0.2.2/32");
    assert_string_equal(env_value(&e, "PLUTO_OE_AUTH"), "null");
}

static bool wait_for_file(const char *path)
{
    struct stat st;
    for (int i = 0; i < 100; i++) {
        if (stat(path, &st) == 0 && st.st_size > 0)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

/*
 * Finding 10, the way it bites: a legacy script that evals the variable.
 * The peer's ID "@a;touch${IFS}DIR/pwned" must not run touch.
 */
static void test_finding10_eval_style_script_runs_no_peer_command(void **state)
{
    (void)state;
    char dir[] = "/tmp/oe-updown-XXXXXX", script[64], out[64], pwned[64], id[128];
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof(script), "%s/updown", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    snprintf(pwned, sizeof(pwned), "%s/pwned", dir);
    snprintf(id, sizeof(id), "@a;touch${IFS}%s", pwned);
    assert_true(strlen(id) < sizeof(((struct oe_peer *)0)->peer_id));
    FILE *fp = fopen(script, "w");
    assert_non_null(fp);
    fprintf(fp, "#!/bin/sh\neval \"id=$PLUTO_PEER_ID\"\nprintf '%%s\\n' \"$id\" > %s\n", out);
    fclose(fp);
    assert_int_equal(chmod(script, 0700), 0);

    struct oe_config cfg;
    oe_config_defaults(&cfg);
    snprintf(cfg.updown, sizeof(cfg.updown), "%s", script);
    struct agent *a = agent_new(&cfg, NULL);
    assert_non_null(a);
    struct oe_peer p = tunnel_peer(id);
    agent_updown(a, &p, "up-host");
    bool ran = wait_for_file(out); /* the script ran (a control: not a vacuous pass) */
    usleep(100 * 1000);
    bool injected = access(pwned, F_OK) == 0;
    agent_free(a);
    unlink(out);
    unlink(pwned);
    unlink(script);
    rmdir(dir);
    assert_true(ran);
    assert_false(injected);
}

static time_t fixed_second(void)
{
    return 1000;
}

static int lines_in(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    if (f == NULL)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Issue 11: a storm of shunts runs updown at most updown-shunt-rate times a second, in whole pairs. */
static void test_shunt_updown_rate_limited(void **state)
{
    (void)state;
    char dir[] = "/tmp/oe-updown-XXXXXX", script[64], out[64];
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof(script), "%s/updown", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    FILE *fp = fopen(script, "w");
    assert_non_null(fp);
    fprintf(fp, "#!/bin/sh\necho \"$PLUTO_VERB $PLUTO_PEER\" >> %s\n", out);
    fclose(fp);
    assert_int_equal(chmod(script, 0700), 0);
    struct oe_config cfg;
    oe_config_defaults(&cfg);
    snprintf(cfg.updown, sizeof(cfg.updown), "%s", script);
    cfg.updown_shunt_rate = 3;
    struct agent *a = agent_new(&cfg, NULL);
    agent_set_clock(a, fixed_second);
    struct oe_peer p[10];
    for (int i = 0; i < 10; i++) {
        p[i] = tunnel_peer("ID_NULL");
        agent_updown(a, &p[i], "up-shunt");
    }
    for (int i = 0; i < 10; i++)
        agent_updown(a, &p[i], "down-shunt");
    agent_updown(a, &p[0], "up-host"); /* tunnels are never skipped */
    for (int i = 0; i < 50 && lines_in(out) < 7; i++)
        usleep(20 * 1000);
    usleep(100 * 1000);
    int n = lines_in(out);
    agent_free(a);
    unlink(out);
    unlink(script);
    rmdir(dir);
    assert_int_equal(n, 3 + 3 + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finding10_peer_id_reaches_updown_shell_inert),
        cmocka_unit_test(test_updown_env_keeps_real_ids),
        cmocka_unit_test(test_shunt_updown_rate_limited),
        cmocka_unit_test(test_finding10_eval_style_script_runs_no_peer_command),
    };
    return cmocka_run_group_tests_name("updown", tests, NULL, NULL);
}
