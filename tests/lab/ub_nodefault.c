/*
 * Test-lab shim, LD_PRELOADed into libreswan's pluto only: libunbound answers
 * the reverse zones of the documentation ranges (RFC 5737, RFC 3849) locally
 * with no data, and pluto offers no setting to turn that off, yet those are
 * the only addresses the lab may use. When pluto hands libunbound its
 * resolv.conf, this also feeds it the config file named by OE_UB_CONF (with
 * "local-zone: ... nodefault" lines). Nothing of the product uses it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <unbound.h>

int ub_ctx_resolvconf(struct ub_ctx *ctx, const char *fname)
{
    int (*real)(struct ub_ctx *, const char *) =
        (int (*)(struct ub_ctx *, const char *))dlsym(RTLD_NEXT, "ub_ctx_resolvconf");
    const char *conf = getenv("OE_UB_CONF");
    if (conf != NULL)
        ub_ctx_config(ctx, conf);
    return real ? real(ctx, fname) : -1;
}
