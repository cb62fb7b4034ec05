/* The control socket: a Unix stream socket, one request line, one reply. */
#ifndef OE_AGENT_CONTROL_H
#define OE_AGENT_CONTROL_H

#include "agent.h"

/*
 * One agent per control socket: an exclusive lock on PATH.lock, held as long
 * as the fd is open; taken before the agent touches the kernel, so a second
 * start fails before it removes the first one's policies and SAs.
 */
int control_lock(const char *path, struct oe_error *err);
/* Listening socket at path, mode 0600 (root only), or -1 with err. */
int control_listen(const char *path, struct oe_error *err);
/* control-group: the socket and its directory to that group, whose members may ask "initiate" only. */
int control_share(const char *path, const char *group, struct oe_error *err);
/* Accept one client, answer its request, close it. */
void control_serve(int listen_fd, struct agent *a);

#endif
