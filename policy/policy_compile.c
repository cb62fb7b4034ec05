/* From rules to the kernel policies the agent wants, and their diff. */
#include "policy_internal.h"

#include <stdlib.h>

enum policy_action policy_group_action(enum policy_group g, enum policy_dir dir)
{
    if (g == POLICY_BLOCK)
        return POLICY_ACTION_DROP;
    if (dir == POLICY_DIR_IN)
        return POLICY_ACTION_PASS;
    /* RFC 4322: the two groups that may encrypt on our initiative trap */
    return (g == POLICY_PRIVATE_OR_CLEAR || g == POLICY_PRIVATE) ? POLICY_ACTION_TRAP : POLICY_ACTION_PASS;
}

int policy_kernel_cmp(const struct policy_kernel *a, const struct policy_kernel *b)
{
    int c = policy_selector_cmp(&a->sel, &b->sel);
    if (c != 0)
        return c;
    return a->dir < b->dir ? -1 : a->dir > b->dir;
}

static int kernel_order(const void *a, const void *b)
{
    return policy_kernel_cmp(a, b);
}

int policy_compile(const struct policy_set *set, struct policy_compiled *out, struct oe_error *err)
{
    out->n = 0;
    out->v = calloc(set->n * 2 + 1, sizeof(*out->v));
    if (out->v == NULL) {
        oe_error_set(err, "out of memory compiling %zu rules", set->n);
        return -1;
    }
    for (size_t i = 0; i < set->n; i++) {
        const struct policy_rule *r = &set->rules[i];
        for (int d = POLICY_DIR_OUT; d <= POLICY_DIR_IN; d++) {
            struct policy_kernel *k = &out->v[out->n++];
            k->sel = r->sel;
            k->dir = (enum policy_dir)d;
            k->group = r->group;
            k->action = policy_group_action(r->group, k->dir);
        }
    }
    qsort(out->v, out->n, sizeof(*out->v), kernel_order);
    return 0;
}

void policy_compiled_free(struct policy_compiled *c)
{
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

/*
 * Two passes over the sorted lists: first what the new set adds or changes,
 * then what it drops, so that a reload never leaves a window with a prefix
 * covered by nothing (re-splitting a private /24 into two /25s installs the
 * /25s before the /24 goes). Overlapping old and new policies meanwhile are
 * harmless: the kernel ranks the more specific one first.
 */
static long diff_pass(const struct policy_compiled *old, const struct policy_compiled *new_,
                      const struct policy_diff_ops *ops, void *arg, bool removing)
{
    size_t i = 0, j = 0;
    long calls = 0;
    while (i < old->n || j < new_->n) {
        int c = i == old->n ? 1 : j == new_->n ? -1 : policy_kernel_cmp(&old->v[i], &new_->v[j]);
        int rc = 0;
        if (c < 0) {
            const struct policy_kernel *gone = &old->v[i++];
            if (!removing)
                continue;
            rc = ops->remove(gone, arg);
        } else if (c > 0) {
            const struct policy_kernel *added = &new_->v[j++];
            if (removing)
                continue;
            rc = ops->add(added, arg);
        } else {
            const struct policy_kernel *a = &old->v[i++], *b = &new_->v[j++];
            if (removing || a->action == b->action)
                continue;
            rc = ops->replace(a, b, arg);
        }
        if (rc != 0)
            return rc < 0 ? rc : -rc;
        calls++;
    }
    return calls;
}

long policy_diff(const struct policy_compiled *old, const struct policy_compiled *new_,
                 const struct policy_diff_ops *ops, void *arg)
{
    long added = diff_pass(old, new_, ops, arg, false);
    if (added < 0)
        return added;
    long removed = diff_pass(old, new_, ops, arg, true);
    return removed < 0 ? removed : added + removed;
}
