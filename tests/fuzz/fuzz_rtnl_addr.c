/* libFuzzer: an rtnetlink datagram of address messages, walked as the kernel library walks one. */
#include "kernel/kernel_internal.h"

#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    /* netlink messages are 4-octet aligned in the receive buffer */
    struct nlmsghdr *buf = malloc(size + sizeof(*buf));
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    ssize_t len = (ssize_t)size;
    for (struct nlmsghdr *h = buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        struct kernel_event ev;
        kernel_addr_decode(h, &ev);
    }
    free(buf);
    return 0;
}
