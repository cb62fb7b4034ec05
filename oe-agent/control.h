/* The control socket: a Unix stream socket, one request line, one reply. */
#ifndef OE_AGENT_CONTROL_H
#define OE_AGENT_CONTROL_H

#include "agent.h"

/* Listening socket at path, mode 0600 (root only), or -1 with err. */
int control_listen(const char *path, struct oe_error *err);
/* Accept one client, answer its request, close it. */
void control_serve(int listen_fd, struct agent *a);

#endif
