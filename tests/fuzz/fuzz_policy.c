/* libFuzzer: a policy group file, then lookups and compile on what parsed. */
#include "policy/policy.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct policy_set *set = policy_set_new();
    struct oe_error err;
    /* the first byte picks the group, so duplicates across groups are explored */
    enum policy_group g = size ? (enum policy_group)(data[0] % POLICY_GROUP_COUNT) : POLICY_PRIVATE;
    const char *text = size ? (const char *)data + 1 : "";
    if (policy_parse_group(set, g, text, size ? size - 1 : 0, "fuzz", &err) == 0 && policy_finish(set, &err) == 0) {
        struct oe_addr a;
        memset(&a, 0, sizeof(a));
        a.family = 2;
        for (size_t i = 0; i < 4 && i < size; i++)
            a.bytes[i] = data[i];
        policy_lookup(set, &a, 6, 1, 2);
        a.family = 10;
        policy_lookup(set, &a, 0, 0, 0);
        struct policy_compiled c;
        if (policy_compile(set, &c, &err) == 0)
            policy_compiled_free(&c);
    }
    policy_set_free(set);
    return 0;
}
