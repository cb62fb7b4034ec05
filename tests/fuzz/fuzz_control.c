/* libFuzzer: a control socket request, against an agent on the fake kernel. */
#include "oe-agent/agent.h"
#include "oe-agent/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct agent *agent;
static struct oe_config cfg;
static struct oe_buf logbuf;

static void start(void)
{
    char dir[] = "/tmp/oe-fuzz-XXXXXX";
    if (mkdtemp(dir) == NULL)
        abort();
    char path[64];
    snprintf(path, sizeof(path), "%s/private-or-clear", dir);
    FILE *f = fopen(path, "w");
    fputs("192.0.2.0/24\n2001:db8::/32\n", f);
    fclose(f);
    oe_config_defaults(&cfg);
    snprintf(cfg.policies, sizeof(cfg.policies), "%s", dir);
    oe_log_capture(&logbuf);
    agent = agent_new(&cfg, kernel_fake_new());
    struct oe_error err;
    if (agent_start(agent, &err) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (agent == NULL)
        start();
    char req[600];
    if (size >= sizeof(req))
        size = sizeof(req) - 1;
    memcpy(req, data, size);
    req[size] = '\0';
    struct oe_buf reply = {0};
    agent_control(agent, req, &reply);
    oe_buf_free(&reply);
    oe_buf_free(&logbuf);
    return 0;
}
