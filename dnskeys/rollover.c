/*
 * Key rollover beside the key file: the next key in KEY.next, the time both
 * were published in KEY.next.published, the retired key in KEY.old. Each
 * step is one rename or link, so that a crash leaves a state the next step
 * understands, and KEY always holds a key that is published.
 */
#include "dnskeys.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAMP_MAX 256

int dnskeys_roll_path(const char *keyfile, enum dnskeys_roll_file f, char out[DNSKEYS_PATH_MAX], struct oe_error *err)
{
    static const char *const suffix[] = {".next", ".next.published", ".old"};
    int n = snprintf(out, DNSKEYS_PATH_MAX, "%s%s", keyfile, suffix[f]);
    if (n < 0 || n >= DNSKEYS_PATH_MAX) {
        oe_error_set(err, "%s: path too long", keyfile);
        return -1;
    }
    return 0;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int dnskeys_hostkeys_public(const char *keyfile, struct dnskeys_pubkey out[2], size_t *n, struct oe_error *err)
{
    char next[DNSKEYS_PATH_MAX];
    const char *paths[2] = {keyfile, next};
    *n = 0;
    if (dnskeys_roll_path(keyfile, DNSKEYS_ROLL_NEXT, next, err) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (i == 1 && !exists(next))
            break;
        struct dnskeys_hostkey *hk;
        int rc = dnskeys_hostkey_load(paths[i], &hk, err);
        if (rc == 0) {
            rc = dnskeys_key_copy(dnskeys_hostkey_public(hk), &out[*n]);
            dnskeys_hostkey_free(hk);
            if (rc != 0)
                oe_error_set(err, "out of memory");
        }
        if (rc != 0) {
            for (size_t j = 0; j < *n; j++)
                dnskeys_key_free(&out[j]);
            *n = 0;
            return -1;
        }
        (*n)++;
    }
    return 0;
}

int dnskeys_roll_new(const char *keyfile, unsigned bits, struct dnskeys_pubkey *pub, struct oe_error *err)
{
    char next[DNSKEYS_PATH_MAX], old[DNSKEYS_PATH_MAX];
    if (dnskeys_roll_path(keyfile, DNSKEYS_ROLL_NEXT, next, err) != 0 ||
        dnskeys_roll_path(keyfile, DNSKEYS_ROLL_OLD, old, err) != 0)
        return -1;
    if (!exists(keyfile)) {
        oe_error_set(err, "%s: no current key to roll from (ipsec newhostkey makes the first)", keyfile);
        return -1;
    }
    if (exists(next)) {
        oe_error_set(err, "%s: a next key is there already (publish it, or remove it to start again)", next);
        return -1;
    }
    if (exists(old)) {
        oe_error_set(err, "%s: the last rollover is not finished (ipsec newhostkey --rollover --finish)", old);
        return -1;
    }
    return dnskeys_hostkey_generate(next, bits, pub, err);
}

int dnskeys_roll_stamp_write(const char *keyfile, int64_t published, uint32_t wait_s, struct oe_error *err)
{
    char path[DNSKEYS_PATH_MAX], tmp[DNSKEYS_PATH_MAX + 8];
    if (dnskeys_roll_path(keyfile, DNSKEYS_ROLL_STAMP, path, err) != 0)
        return -1;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        oe_error_set(err, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    char buf[STAMP_MAX];
    int n = snprintf(buf, sizeof(buf), "published %" PRId64 " wait %u\n", published, wait_s);
    bool ok = write(fd, buf, (size_t)n) == n;
    ok &= close(fd) == 0;
    if (!ok || rename(tmp, path) != 0) {
        oe_error_set(err, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int dnskeys_roll_stamp_read(const char *keyfile, int64_t *published, uint32_t *wait_s, struct oe_error *err)
{
    char path[DNSKEYS_PATH_MAX], buf[STAMP_MAX];
    if (dnskeys_roll_path(keyfile, DNSKEYS_ROLL_STAMP, path, err) != 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        oe_error_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t got = read(fd, buf, sizeof(buf));
    close(fd);
    if (got < 0)
        got = 0;
    if (dnskeys_roll_stamp_parse(buf, (size_t)got, published, wait_s, err) != 0) {
        char why[sizeof(err->msg)];
        memcpy(why, err->msg, sizeof(why));
        oe_error_set(err, "%s: %.400s", path, why);
        return -1;
    }
    return 0;
}

int dnskeys_roll_stamp_parse(const char *text, size_t len, int64_t *published, uint32_t *wait_s, struct oe_error *err)
{
    char buf[STAMP_MAX];
    long long p;
    unsigned long w;
    char tail;
    if (len == 0 || len >= sizeof(buf) || memchr(text, '\0', len) != NULL) {
        oe_error_set(err, "not \"published EPOCH wait SECONDS\" (%zu octets)", len);
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    /* digits only: sscanf alone would take signs, blanks and overflow */
    for (size_t k = 0; k < len; k++)
        if (buf[k] == '-' || buf[k] == '+') {
            oe_error_set(err, "not \"published EPOCH wait SECONDS\": a sign");
            return -1;
        }
    if (sscanf(buf, "published %18lld wait %10lu%c", &p, &w, &tail) != 3 || tail != '\n' || buf[len - 1] != '\n' ||
        strchr(buf, '\n') != buf + len - 1 || p < 0 || w > 0x7fffffff) {
        oe_error_set(err, "not \"published EPOCH wait SECONDS\"");
        return -1;
    }
    *published = p;
    *wait_s = (uint32_t)w;
    return 0;
}

int64_t dnskeys_roll_wait_left(int64_t published, uint32_t wait_s, int64_t now)
{
    int64_t left = published + (int64_t)wait_s - now;
    return left > 0 ? left : 0;
}

int dnskeys_roll_switch(const char *keyfile, int64_t now, bool force, struct oe_error *err)
{
    char next[DNSKEYS_PATH_MAX], old[DNSKEYS_PATH_MAX], stamp[DNSKEYS_PATH_MAX];
    if (dnskeys_roll_path(keyfile, DNSKEYS_ROLL_NEXT, next, err) != 0 ||
        dnskeys_roll_path(keyfile, DNSKEYS_ROLL_OLD, old, err) != 0 ||
        dnskeys_roll_path(keyfile, DNSKEYS_ROLL_STAMP, stamp, err) != 0)
        return -1;
    if (!exists(next)) {
        oe_error_set(err, "%s: no next key (ipsec newhostkey --rollover makes one)", next);
        return -1;
    }
    if (exists(old)) {
        oe_error_set(err, "%s: the last rollover is not finished (ipsec newhostkey --rollover --finish)", old);
        return -1;
    }
    int64_t published;
    uint32_t wait_s;
    int rc = dnskeys_roll_stamp_read(keyfile, &published, &wait_s, err);
    if (rc < 0)
        return -1;
    if (rc == 1 && !force) {
        oe_error_set(err, "the next key was never published (no %s): run ipsec publish first", stamp);
        return -1;
    }
    int64_t left = rc == 0 ? dnskeys_roll_wait_left(published, wait_s, now) : 0;
    if (left > 0 && !force) {
        oe_error_set(err,
                     "too early: the old records may stay in resolvers' caches %" PRId64
                     " s more (TTL %u s since the publish); peers that hold them would not know the next key",
                     left, wait_s);
        return -1;
    }
    struct dnskeys_hostkey *hk;
    if (dnskeys_hostkey_load(next, &hk, err) != 0) /* never switch to a key that does not load */
        return -1;
    dnskeys_hostkey_free(hk);
    /* link first: KEY is never missing, and a crash leaves KEY.old beside the unchanged KEY */
    if (link(keyfile, old) != 0) {
        oe_error_set(err, "%s: %s", old, strerror(errno));
        return -1;
    }
    if (rename(next, keyfile) != 0) {
        oe_error_set(err, "%s -> %s: %s", next, keyfile, strerror(errno));
        unlink(old);
        return -1;
    }
    unlink(stamp);
    return 0;
}

int dnskeys_roll_finish(const char *keyfile, struct oe_error *err)
{
    char old[DNSKEYS_PATH_MAX];
    if (dnskeys_roll_path(keyfile, DNSKEYS_ROLL_OLD, old, err) != 0)
        return -1;
    if (!exists(old))
        return 1;
    if (unlink(old) != 0) {
        oe_error_set(err, "%s: %s", old, strerror(errno));
        return -1;
    }
    return 0;
}
