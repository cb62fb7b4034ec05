/*
 * Wire format, both ways plain text: the client sends one line (at most
 * CONTROL_MAX_REQUEST bytes); the agent answers "ok\n" or "error\n" followed
 * by the body, then closes.
 */
#include "control.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONTROL_MAX_REQUEST 512

/* The control socket's directory, created root-only; an existing one is left as it is. */
static void make_dir(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        mkdir(dir, 0700);
    }
}

int control_lock(const char *path, struct oe_error *err)
{
    char lock[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
    if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock)) {
        oe_error_set(err, "control socket path too long: %s", path);
        return -1;
    }
    make_dir(path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        oe_error_set(err, "%s: %s", lock, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            oe_error_set(err, "another oe-agent runs with this control socket (%s is locked)", lock);
        else
            oe_error_set(err, "%s: %s", lock, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int control_listen(const char *path, struct oe_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        oe_error_set(err, "control socket path too long: %s", path);
        return -1;
    }
    make_dir(path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        oe_error_set(err, "control socket: %s", strerror(errno));
        return -1;
    }
    unlink(path);
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || listen(fd, 16) != 0) {
        oe_error_set(err, "control socket %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* control-group's gid: its members may use the socket for "initiate" only; -1: no such group */
static gid_t initiate_gid = (gid_t)-1;

int control_share(const char *path, const char *group, struct oe_error *err)
{
    const struct group *g = getgrnam(group);
    if (g == NULL) {
        oe_error_set(err, "control-group: no group \"%s\"", group);
        return -1;
    }
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    /* the group may reach the socket and connect; nobody else may even look */
    if (chown(dir, (uid_t)-1, g->gr_gid) != 0 || chmod(dir, 0750) != 0 || chown(path, (uid_t)-1, g->gr_gid) != 0 ||
        chmod(path, 0660) != 0) {
        oe_error_set(err, "control-group %s: %s: %s", group, path, strerror(errno));
        return -1;
    }
    initiate_gid = g->gr_gid;
    return 0;
}

enum peer_right { PEER_NONE, PEER_INITIATE, PEER_ALL };

static enum peer_right peer_allowed(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return PEER_NONE;
    if (cred.uid == 0 || cred.uid == geteuid())
        return PEER_ALL;
    return initiate_gid != (gid_t)-1 && cred.gid == initiate_gid ? PEER_INITIATE : PEER_NONE;
}

/* The request's first word is "initiate" (what control-group may ask). */
static bool asks_initiate(const char *req)
{
    req += strspn(req, " \t");
    return strncmp(req, "initiate", 8) == 0 && (req[8] == ' ' || req[8] == '\t');
}

static void send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        len -= (size_t)w;
    }
}

void control_serve(int listen_fd, struct agent *a)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    /* A slow client may cost the loop this long, never more. */
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char req[CONTROL_MAX_REQUEST + 1];
    size_t got = 0;
    struct oe_buf reply = {0};
    int rc = -1;
    enum peer_right right = peer_allowed(fd);
    if (right == PEER_NONE) {
        oe_buf_printf(&reply, "permission denied: the control socket is for root\n");
        goto answer;
    }
    while (got < CONTROL_MAX_REQUEST && memchr(req, '\n', got) == NULL) {
        ssize_t r = recv(fd, req + got, CONTROL_MAX_REQUEST - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    req[got] = '\0';
    char *nl = memchr(req, '\n', got);
    if (nl == NULL) {
        oe_buf_printf(&reply, "request must be one line of at most %d bytes\n", CONTROL_MAX_REQUEST);
        goto answer;
    }
    *nl = '\0';
    if (memchr(req, '\0', (size_t)(nl - req)) != NULL) {
        oe_buf_printf(&reply, "request contains a NUL byte\n");
        goto answer;
    }
    if (right == PEER_INITIATE && !asks_initiate(req)) {
        oe_buf_printf(&reply, "permission denied: control-group may only ask initiate\n");
        goto answer;
    }
    rc = agent_control(a, req, &reply);
answer:
    send_all(fd, rc == 0 ? "ok\n" : "error\n", rc == 0 ? 3 : 6);
    if (reply.failed)
        oe_buf_printf(&reply, "\n(reply cut short: out of memory)\n");
    if (reply.p)
        send_all(fd, reply.p, reply.len);
    oe_buf_free(&reply);
    close(fd);
}
