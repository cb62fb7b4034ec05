/*
 * The local addresses IKE runs on: every global address of the host (or
 * those `listen` names), followed as they come and go (rtnetlink through
 * the kernel library) without a restart. A new address gets its sockets at
 * once; a removed one's IKE SAs and tunnels go with it.
 */
#include "agent_internal.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The configured `listen` addresses, or every address when none is named. */
static bool wanted(const struct agent *a, const struct oe_addr *x)
{
    if (a->nlisten == 0)
        return true;
    for (size_t i = 0; i < a->nlisten; i++)
        if (oe_addr_eq(&a->listen[i], x))
            return true;
    return false;
}

bool agent_is_local(const struct agent *a, const struct oe_addr *x)
{
    for (size_t i = 0; i < a->nlocal; i++)
        if (oe_addr_eq(&a->local[i], x))
            return true;
    return false;
}

bool agent_address_is_ours(void *arg, const struct oe_addr *x)
{
    const struct agent *a = arg;
    if (agent_is_local(a, x))
        return true;
    for (size_t i = 0; i < a->cfg->nsubnets; i++)
        if (oe_prefix_contains(&a->cfg->subnets[i], x))
            return true;
    return false;
}

static int parse_listen(struct agent *a, struct oe_error *err)
{
    char copy[sizeof(a->cfg->listen_spec)];
    snprintf(copy, sizeof(copy), "%s", a->cfg->listen_spec);
    a->nlisten = 0;
    for (char *save, *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        struct oe_addr x;
        if (oe_addr_parse(t, &x) != 0) {
            oe_error_set(err, "listen: \"%s\" is not an address", t);
            return -1;
        }
        struct oe_addr *v = realloc(a->listen, (a->nlisten + 1) * sizeof(*v));
        if (v == NULL) {
            oe_error_set(err, "listen: out of memory");
            return -1;
        }
        a->listen = v;
        a->listen[a->nlisten++] = x;
    }
    return 0;
}

/* Sockets on x and x in the local list: 0, or -1 with the reason in err. */
static int add_local(struct agent *a, const struct oe_addr *x, struct oe_error *err)
{
    if (agent_is_local(a, x))
        return 0;
    if (a->nlocal == a->caplocal) {
        size_t cap = a->caplocal ? a->caplocal * 2 : 8;
        struct oe_addr *v = realloc(a->local, cap * sizeof(*v));
        if (v == NULL) {
            oe_error_set(err, "out of memory");
            return -1;
        }
        a->local = v;
        a->caplocal = cap;
    }
    if (ike_io_listen(a->io, x, err) != 0)
        return -1;
    a->local[a->nlocal++] = *x;
    return 0;
}

static void address_added(struct agent *a, const struct oe_addr *x)
{
    char s[OE_ADDR_STRLEN];
    struct oe_error err;
    if (!wanted(a, x) || agent_is_local(a, x))
        return;
    if (add_local(a, x, &err) != 0)
        oe_log("address %s added, but IKE cannot run on it: %s", oe_addr_str(x, s), err.msg);
    else
        oe_log("IKEv2 listening on %s port 500: address added", oe_addr_str(x, s));
}

static void address_removed(struct agent *a, const struct oe_addr *x)
{
    char s[OE_ADDR_STRLEN];
    size_t i = 0;
    while (i < a->nlocal && !oe_addr_eq(&a->local[i], x))
        i++;
    if (i == a->nlocal)
        return;
    a->local[i] = a->local[--a->nlocal];
    ike_io_unlisten(a->io, x);
    /* its tunnels cannot carry anything now; a Delete could not be sent from it either */
    size_t gone = ike_delete_local(a->ike, x, ike_io_now(), ike_io_actions(a->io));
    oe_log("IKEv2 no longer on %s: address removed; %zu IKE SA%s on it deleted", oe_addr_str(x, s), gone,
           gone == 1 ? "" : "s");
    ike_io_apply(a->io, ike_io_actions(a->io));
}

/* After lost events: what the kernel lists now is the truth; the difference is added and removed. */
static void addresses_resync(struct agent *a)
{
    struct oe_addr *now;
    size_t n;
    struct oe_error err;
    if (kernel_addresses(a->k, &now, &n, &err) != 0) {
        oe_log("address events were lost and the addresses cannot be listed again: %s", err.msg);
        return;
    }
    oe_log("address events were lost: listing the host's %zu addresses again", n);
    for (size_t i = a->nlocal; i-- > 0;) {
        bool still = false;
        for (size_t j = 0; j < n && !still; j++)
            still = oe_addr_eq(&now[j], &a->local[i]);
        if (!still)
            address_removed(a, &a->local[i]);
    }
    for (size_t j = 0; j < n; j++)
        address_added(a, &now[j]);
    free(now);
}

void agent_address_event(struct agent *a, const struct kernel_event *ev)
{
    if (a->io == NULL)
        return;
    if (ev->type == KERNEL_EV_ADDR_NEW)
        address_added(a, &ev->src);
    else if (ev->type == KERNEL_EV_ADDR_DEL)
        address_removed(a, &ev->src);
    else
        addresses_resync(a);
}

/* One line, however many addresses: "192.0.2.1, 2001:db8::1". */
static void log_listening(const struct agent *a)
{
    struct oe_buf list = {0};
    for (size_t i = 0; i < a->nlocal; i++) {
        char s[OE_ADDR_STRLEN];
        oe_buf_printf(&list, "%s%s", i ? ", " : "", oe_addr_str(&a->local[i], s));
    }
    oe_log("IKEv2 listening on %s port 500; keys from DNS via %s", list.p ? list.p : "(no address yet)",
           a->cfg->resolver_spec[0] ? a->cfg->resolver_spec : "/etc/resolv.conf");
    oe_buf_free(&list);
    for (size_t i = 0; i < a->nlisten; i++) {
        char s[OE_ADDR_STRLEN];
        if (!agent_is_local(a, &a->listen[i]))
            oe_log("listen: %s is not on this host yet; IKE on it starts when it comes", oe_addr_str(&a->listen[i], s));
    }
}

int agent_addresses_start(struct agent *a, struct oe_error *err)
{
    struct oe_addr *now;
    size_t n;
    /* watched before listed: an address that comes in between is an event, not missed */
    if (parse_listen(a, err) != 0 || kernel_watch_addresses(a->k, err) != 0 ||
        kernel_addresses(a->k, &now, &n, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (wanted(a, &now[i]) && add_local(a, &now[i], err) != 0) {
            free(now);
            return -1;
        }
    }
    free(now);
    log_listening(a);
    return 0;
}

void agent_addresses_stop(struct agent *a)
{
    free(a->local);
    free(a->listen);
    a->local = a->listen = NULL;
    a->nlocal = a->caplocal = a->nlisten = 0;
}
