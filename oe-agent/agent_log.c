/* One line about one peer, under its label, as pluto prints a connection's. */
#include "agent_internal.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void agent_log_peer(const struct oe_peer *p, const char *fmt, ...)
{
    char label[200], line[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    oe_log("%s: %s", peer_label(p, label, sizeof(label)), line);
}
