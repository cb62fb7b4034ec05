/* Reverse owner names: RFC 1035 3.5 (in-addr.arpa) and RFC 3596 2.5 (ip6.arpa). */
#include "dnskeys.h"

#include <stdio.h>
#include <sys/socket.h>

void dnskeys_reverse_name(const struct oe_addr *a, char out[DNSKEYS_NAME_MAX])
{
    static const char hex[] = "0123456789abcdef";
    if (a->family == AF_INET) {
        snprintf(out, DNSKEYS_NAME_MAX, "%u.%u.%u.%u.in-addr.arpa.", a->bytes[3], a->bytes[2], a->bytes[1],
                 a->bytes[0]);
        return;
    }
    char *p = out;
    for (int i = 15; i >= 0; i--) {
        *p++ = hex[a->bytes[i] & 0xf];
        *p++ = '.';
        *p++ = hex[a->bytes[i] >> 4];
        *p++ = '.';
    }
    snprintf(p, DNSKEYS_NAME_MAX - (size_t)(p - out), "ip6.arpa.");
}
