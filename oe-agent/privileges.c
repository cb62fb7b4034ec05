/*
 * After start the agent keeps only what it needs: CAP_NET_ADMIN (XFRM
 * netlink, the IKE sockets' IPsec bypass; updown's nftables), and
 * CAP_NET_BIND_SERVICE (IKE on ports 500 and 4500 of addresses that come
 * later). Every other capability leaves the bounding set too, so updown,
 * though it runs as root, gets no more; and no_new_privs holds for it.
 */
#include "privileges.h"

#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const int kept[] = {CAP_NET_ADMIN, CAP_NET_BIND_SERVICE};

static bool is_kept(int cap)
{
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        if (kept[i] == cap)
            return true;
    return false;
}

int agent_drop_privileges(struct oe_error *err)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        oe_error_setc(err, OE_E_SYSTEM, "cannot set no_new_privs: %m");
        return -1;
    }
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
        /* one already gone (systemd's CapabilityBoundingSet=) needs no CAP_SETPCAP to stay gone */
        if (!is_kept(cap) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
            oe_error_setc(err, OE_E_SYSTEM, "cannot drop capability %d from the bounding set: %m", cap);
            return -1;
        }
    }
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof(d));
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        d[kept[i] / 32].effective |= 1u << (kept[i] % 32);
        d[kept[i] / 32].permitted |= 1u << (kept[i] % 32);
    }
    if (syscall(SYS_capset, &h, d) != 0) {
        oe_error_setc(err, OE_E_SYSTEM, "cannot keep only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE: %m");
        return -1;
    }
    return 0;
}
