/*
 * TSIG keys (RFC 8945) from a BIND-style key file, as tsig-keygen and
 * knot's keymgr -t ... write them for nsupdate and knsupdate:
 *
 *   key "name" { algorithm hmac-sha256; secret "base64"; };
 *
 * The file is untrusted input: its size, every token and the secret are
 * bounded, and each error names the file and line.
 */
#include "dnskeys.h"

#include <ctype.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define TOKEN_MAX 512 /* longer than any name, algorithm or secret we accept */
#define STR_(x) #x
#define STR(x) STR_(x)

/* RFC 8945 6: the algorithms accepted, by their key-file and wire names. hmac-md5 is not. */
static const struct {
    const char *file_name, *wire_name;
} algorithms[] = {
    {"hmac-sha1", "hmac-sha1."},     {"hmac-sha224", "hmac-sha224."}, {"hmac-sha256", "hmac-sha256."},
    {"hmac-sha384", "hmac-sha384."}, {"hmac-sha512", "hmac-sha512."},
};

struct lexer {
    const char *p, *end, *fname;
    unsigned line;
    char tok[TOKEN_MAX];
    bool quoted;
    struct oe_error *err;
};

static int fail(struct lexer *lx, const char *what)
{
    oe_error_setc(lx->err, OE_E_INVALID, "%s:%u: %s", lx->fname, lx->line, what);
    return -1;
}

/* Skips blanks and the three comment forms BIND knows: #, // and C's. */
static int skip_space(struct lexer *lx)
{
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '\n') {
            lx->line++;
            lx->p++;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            lx->p++;
        } else if (c == '#' || (c == '/' && lx->end - lx->p >= 2 && lx->p[1] == '/')) {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
        } else if (c == '/' && lx->end - lx->p >= 2 && lx->p[1] == '*') {
            lx->p += 2;
            for (;;) {
                if (lx->end - lx->p < 2)
                    return fail(lx, "comment not closed (\"*/\")");
                if (lx->p[0] == '*' && lx->p[1] == '/')
                    break;
                if (*lx->p == '\n')
                    lx->line++;
                lx->p++;
            }
            lx->p += 2;
        } else {
            return 0;
        }
    }
    return 0;
}

static bool word_char(char c)
{
    return isalnum((unsigned char)c) || (c != '\0' && strchr("-_.+/=:", c) != NULL); /* strchr finds the NUL */
}

/* The next token into lx->tok: a word, a quoted string (no escapes) or one of { } ;. 1 at the end. */
static int next(struct lexer *lx)
{
    if (skip_space(lx) != 0)
        return -1;
    lx->quoted = false;
    if (lx->p == lx->end)
        return 1;
    size_t n = 0;
    char c = *lx->p;
    if (c == '{' || c == '}' || c == ';') {
        lx->tok[n++] = c;
        lx->p++;
    } else if (c == '"') {
        lx->quoted = true;
        for (lx->p++;; lx->p++) {
            if (lx->p == lx->end || *lx->p == '\n')
                return fail(lx, "quoted string not closed on its line");
            if (*lx->p == '"')
                break;
            if (*lx->p == '\\' || *lx->p == '\0' || !isprint((unsigned char)*lx->p))
                return fail(lx, "quoted string holds a backslash or an unprintable byte");
            if (n + 1 >= sizeof(lx->tok))
                return fail(lx, "quoted string longer than 511 characters");
            lx->tok[n++] = *lx->p;
        }
        lx->p++;
    } else if (word_char(c)) {
        for (; lx->p < lx->end && word_char(*lx->p); lx->p++) {
            if (n + 1 >= sizeof(lx->tok))
                return fail(lx, "word longer than 511 characters");
            lx->tok[n++] = *lx->p;
        }
    } else {
        char what[64];
        snprintf(what, sizeof(what), isprint((unsigned char)c) ? "unexpected '%c'" : "unexpected byte 0x%02x",
                 isprint((unsigned char)c) ? c : (unsigned char)c);
        return fail(lx, what);
    }
    lx->tok[n] = '\0';
    return 0;
}

/* The next token must be want (a punctuation mark or keyword). */
static int expect(struct lexer *lx, const char *want)
{
    char what[TOKEN_MAX + 64];
    int rc = next(lx);
    if (rc < 0)
        return -1;
    if (rc == 1 || lx->quoted || strcmp(lx->tok, want) != 0) {
        snprintf(what, sizeof(what), "expected \"%s\", found %s%s%s", want, rc == 1 ? "the end of the file" : "\"",
                 rc == 1 ? "" : lx->tok, rc == 1 ? "" : "\"");
        return fail(lx, what);
    }
    return 0;
}

static int take_name(struct lexer *lx, struct dnskeys_tsig_key *k)
{
    int rc = next(lx);
    if (rc < 0)
        return -1;
    if (rc == 1 || lx->tok[0] == '\0' || (!lx->quoted && !word_char(lx->tok[0])))
        return fail(lx, "expected the key's name");
    size_t n = strlen(lx->tok);
    bool dot = lx->tok[n - 1] == '.';
    ldns_rdf *d = NULL;
    if (n + (dot ? 1 : 2) > sizeof(k->name) || ldns_str2rdf_dname(&d, lx->tok) != LDNS_STATUS_OK) {
        ldns_rdf_deep_free(d);
        return fail(lx, "the key's name is not a domain name of at most 255 octets");
    }
    ldns_rdf_deep_free(d);
    memcpy(k->name, lx->tok, n); /* fits: checked above */
    if (!dot)
        k->name[n++] = '.';
    k->name[n] = '\0';
    for (char *c = k->name; *c; c++)
        *c = (char)tolower((unsigned char)*c); /* RFC 8945 4.2: the name is compared in canonical form */
    return 0;
}

static int take_algorithm(struct lexer *lx, struct dnskeys_tsig_key *k)
{
    int rc = next(lx);
    if (rc < 0)
        return -1;
    if (rc == 1 || lx->quoted)
        return fail(lx, "expected an algorithm");
    size_t n = strlen(lx->tok);
    if (n > 0 && lx->tok[n - 1] == '.')
        lx->tok[n - 1] = '\0';
    for (size_t i = 0; i < OE_ARRAY_SIZE(algorithms); i++) {
        if (strcasecmp(lx->tok, algorithms[i].file_name) == 0) {
            snprintf(k->algorithm, sizeof(k->algorithm), "%s", algorithms[i].wire_name);
            return 0;
        }
    }
    char what[TOKEN_MAX + 96];
    snprintf(what, sizeof(what),
             "algorithm \"%s\" is not one of hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, "
             "hmac-sha512",
             lx->tok);
    return fail(lx, what);
}

static int take_secret(struct lexer *lx, struct dnskeys_tsig_key *k)
{
    int rc = next(lx);
    if (rc < 0)
        return -1;
    if (rc == 1 || !lx->quoted)
        return fail(lx, "expected the secret as a quoted base64 string");
    size_t n = strlen(lx->tok);
    if (n == 0 || n >= sizeof(k->secret))
        return fail(lx, "the secret is empty or longer than " STR(DNSKEYS_TSIG_SECRET_MAX) " octets");
    ldns_rdf *raw = NULL;
    bool b64 = ldns_str2rdf_b64(&raw, lx->tok) == LDNS_STATUS_OK && raw != NULL;
    size_t got = b64 ? ldns_rdf_size(raw) : 0;
    if (raw != NULL)
        oe_wipe(ldns_rdf_data(raw), ldns_rdf_size(raw));
    ldns_rdf_deep_free(raw);
    if (!b64 || got == 0 || got > DNSKEYS_TSIG_SECRET_MAX)
        return fail(lx, !b64 || got == 0 ? "the secret is not base64"
                                         : "the secret is longer than " STR(DNSKEYS_TSIG_SECRET_MAX) " octets");
    memcpy(k->secret, lx->tok, n + 1);
    oe_wipe(lx->tok, sizeof(lx->tok));
    k->secret_len = got;
    return 0;
}

int dnskeys_tsig_key_parse(const char *text, size_t len, const char *fname, struct dnskeys_tsig_key *out,
                           struct oe_error *err)
{
    struct lexer lx = {.p = text, .end = text + len, .fname = fname, .line = 1, .err = err};
    memset(out, 0, sizeof(*out));
    err->code = OE_OK;
    err->msg[0] = '\0';
    if (len > DNSKEYS_TSIG_FILE_MAX) {
        oe_error_setc(err, OE_E_INVALID, "%s: larger than %d octets: not a key file", fname, DNSKEYS_TSIG_FILE_MAX);
        return -1;
    }
    if (expect(&lx, "key") != 0 || take_name(&lx, out) != 0 || expect(&lx, "{") != 0)
        goto bad;
    bool have_alg = false, have_secret = false;
    for (;;) {
        int rc = next(&lx);
        if (rc != 0) {
            if (rc == 1)
                fail(&lx, "the key's \"{\" is not closed");
            goto bad;
        }
        if (!lx.quoted && strcmp(lx.tok, "}") == 0)
            break;
        if (!lx.quoted && strcmp(lx.tok, "algorithm") == 0 && !have_alg) {
            if (take_algorithm(&lx, out) != 0)
                goto bad;
            have_alg = true;
        } else if (!lx.quoted && strcmp(lx.tok, "secret") == 0 && !have_secret) {
            if (take_secret(&lx, out) != 0)
                goto bad;
            have_secret = true;
        } else {
            char what[TOKEN_MAX + 96];
            bool again = !strcmp(lx.tok, "algorithm") || !strcmp(lx.tok, "secret");
            snprintf(what, sizeof(what), "%s \"%s\" (a key has one algorithm and one secret)",
                     again ? "second" : "unknown statement", lx.tok);
            fail(&lx, what);
            goto bad;
        }
        if (expect(&lx, ";") != 0)
            goto bad;
    }
    if (!have_alg || !have_secret) {
        fail(&lx, have_alg ? "the key has no secret" : "the key has no algorithm");
        goto bad;
    }
    if (expect(&lx, ";") != 0)
        goto bad;
    int rc = next(&lx);
    if (rc == 0) {
        fail(&lx, "more after the key: a key file here holds one key");
        goto bad;
    }
    if (rc < 0)
        goto bad;
    return 0;
bad:
    oe_wipe(lx.tok, sizeof(lx.tok));
    dnskeys_tsig_key_wipe(out);
    return -1;
}

int dnskeys_tsig_key_load(const char *path, struct dnskeys_tsig_key *out, struct oe_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        oe_error_setc(err, OE_E_SYSTEM, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || (st.st_mode & S_IROTH) != 0) {
        /* whoever reads the secret can rewrite the zone */
        oe_error_setc(err, OE_E_SYSTEM, "%s: refusing a TSIG key that others can read (chmod o-r)", path);
        fclose(f);
        return -1;
    }
    /* one more than the limit, so that a larger file is seen as larger */
    char *buf = malloc(DNSKEYS_TSIG_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, DNSKEYS_TSIG_FILE_MAX + 1, f) : 0;
    bool failed = buf == NULL || ferror(f);
    fclose(f);
    int rc = -1;
    if (failed)
        oe_error_setc(err, buf ? OE_E_SYSTEM : OE_E_NOMEM, "%s: cannot read%s", path, buf ? "" : ": out of memory");
    else
        rc = dnskeys_tsig_key_parse(buf, n, path, out, err);
    if (buf)
        oe_wipe(buf, DNSKEYS_TSIG_FILE_MAX + 1);
    free(buf);
    return rc;
}

void dnskeys_tsig_key_wipe(struct dnskeys_tsig_key *k)
{
    oe_wipe(k, sizeof(*k));
}
