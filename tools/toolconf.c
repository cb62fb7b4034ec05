/*
 * The global keys of oe.conf a tool needs (publish-server, resolver,
 * xfrm-larval-drop, ...). The agent parses and checks the whole file (it
 * knows every key); a tool takes only the keys it asks for, and only
 * where the command line did not already give them.
 */
#include "tools.h"

#include <stdio.h>
#include <string.h>

#define CONFIG_LINE_MAX 1024

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int tools_config_read(const char *path, bool required, const char *who, struct tools_conf_key *keys, size_t nkeys)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (!required)
            return 0;
        fprintf(stderr, "ipsec %s: %s: cannot open\n", who, path);
        return -1;
    }
    char line[CONFIG_LINE_MAX];
    unsigned lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char *s = trim(line);
        if (s[0] == '[')
            break; /* the [group] sections come after every global key */
        char *eq = strchr(s, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        const char *key = trim(s), *value = trim(eq + 1);
        for (size_t i = 0; i < nkeys; i++) {
            if (strcmp(key, keys[i].key) != 0 || keys[i].value[0] != '\0')
                continue;
            if (strlen(value) >= keys[i].len) {
                fprintf(stderr, "ipsec %s: %s:%u: %s is too long\n", who, path, lineno, key);
                rc = -1;
                break;
            }
            memcpy(keys[i].value, value, strlen(value) + 1);
        }
        if (rc != 0)
            break;
    }
    fclose(f);
    return rc;
}
