/* The client half of the control socket (see oe-agent/control.c). */
#include "tools.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A connection with the request sent on it, or -1 (said why) */
static int send_request(const char *ctlsocket, const char *request)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(ctlsocket) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "ipsec: control socket path too long: %s\n", ctlsocket);
        return -1;
    }
    memcpy(sa.sun_path, ctlsocket, strlen(ctlsocket) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "ipsec: cannot reach oe-agent at %s: %s (is it running?)\n", ctlsocket, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char line[600];
    int n = snprintf(line, sizeof(line), "%s\n", request);
    if (n < 0 || (size_t)n >= sizeof(line) || send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
        fprintf(stderr, "ipsec: cannot send request to %s\n", ctlsocket);
        close(fd);
        return -1;
    }
    return fd;
}

int control_ask(const char *ctlsocket, const char *request, char *reply, size_t len)
{
    int fd = send_request(ctlsocket, request);
    if (fd < 0)
        return 2;
    size_t have = 0;
    ssize_t r;
    while (have + 1 < len && ((r = recv(fd, reply + have, len - 1 - have, 0)) > 0 || (r < 0 && errno == EINTR)))
        have += r > 0 ? (size_t)r : 0;
    close(fd);
    reply[have] = '\0';
    char *nl = strchr(reply, '\n');
    if (nl == NULL) {
        fprintf(stderr, "ipsec: oe-agent at %s closed the connection without an answer\n", ctlsocket);
        return 2;
    }
    int status = strncmp(reply, "ok\n", 3) == 0 ? 0 : 1;
    memmove(reply, nl + 1, strlen(nl + 1) + 1);
    return status;
}

int control_request(const char *ctlsocket, const char *request)
{
    int fd = send_request(ctlsocket, request);
    if (fd < 0)
        return 2;
    char buf[65536];
    ssize_t r;
    int status = -1;
    FILE *out = stdout;
    size_t have = 0;
    while ((r = recv(fd, buf + have, sizeof(buf) - have, 0)) > 0 || (r < 0 && errno == EINTR)) {
        if (r < 0)
            continue;
        have += (size_t)r;
        char *p = buf;
        if (status < 0) {
            char *nl = memchr(buf, '\n', have);
            if (nl == NULL && have < sizeof(buf))
                continue;
            status = nl && !strncmp(buf, "ok\n", 3) ? 0 : 1;
            out = status == 0 ? stdout : stderr;
            p = nl ? nl + 1 : buf;
        }
        fwrite(p, 1, have - (size_t)(p - buf), out);
        have = 0;
    }
    close(fd);
    if (status < 0) {
        fprintf(stderr, "ipsec: oe-agent at %s closed the connection without an answer\n", ctlsocket);
        return 2;
    }
    return status;
}
