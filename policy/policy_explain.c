/* The answer to "ipsec policy explain ADDR", as far as the files decide it. */
#include "policy_internal.h"

static const char *action_word(enum policy_action a)
{
    switch (a) {
    case POLICY_ACTION_PASS: return "pass";
    case POLICY_ACTION_DROP: return "drop";
    case POLICY_ACTION_TRAP: return "trap";
    }
    return "?";
}

void policy_explain(const struct policy_set *set, const struct oe_addr *addr, bool json, struct oe_buf *out)
{
    char a[OE_ADDR_STRLEN], p[OE_ADDR_STRLEN];
    const struct policy_rule *r = policy_lookup(set, addr, 0, 0, 0);
    oe_addr_str(addr, a);
    if (json) {
        oe_buf_printf(out, "\"address\": ");
        oe_buf_json_str(out, a);
        if (r == NULL) {
            oe_buf_printf(out, ", \"group\": null, \"kernel_out\": \"none\", \"kernel_in\": \"none\"");
            return;
        }
        oe_buf_printf(out, ", \"group\": \"%s\", \"file\": ", policy_group_name(r->group));
        oe_buf_json_str(out, policy_group_file(set, r->group));
        oe_buf_printf(out,
                      ", \"line\": %u, \"selector\": \"%s\", \"kernel_out\": \"%s\", "
                      "\"kernel_in\": \"%s\"",
                      r->line, oe_prefix_str(&r->sel.peer, p),
                      action_word(policy_group_action(r->group, POLICY_DIR_OUT)),
                      action_word(policy_group_action(r->group, POLICY_DIR_IN)));
        return;
    }
    if (r == NULL) {
        oe_buf_printf(out, "%s: no policy group covers it: clear, no kernel policy\n", a);
        return;
    }
    enum policy_action out_action = policy_group_action(r->group, POLICY_DIR_OUT);
    oe_buf_printf(out, "%s: group %s, %s:%u: %s\n", a, policy_group_name(r->group), policy_group_file(set, r->group),
                  r->line, oe_prefix_str(&r->sel.peer, p));
    oe_buf_printf(out, "  kernel: out %s%s, in %s\n", action_word(out_action),
                  out_action == POLICY_ACTION_TRAP ? " (first packet sends ACQUIRE)" : "",
                  action_word(policy_group_action(r->group, POLICY_DIR_IN)));
}
