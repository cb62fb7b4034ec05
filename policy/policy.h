/*
 * policy: the OE policy groups.
 *
 * A policy directory holds one file per group (clear, clear-or-private,
 * private-or-clear, private, block); each line is "CIDR [PROTO [SPORT
 * [DPORT]]]". policy_load() reads them all or nothing into a policy_set,
 * which answers "which rule governs this destination" (most specific wins:
 * longest prefix, then protocol, then ports) and compiles to the list of
 * kernel policies the agent wants. policy_diff() compares two such lists so
 * a reload touches only what changed.
 *
 * Memory: a policy_set and a policy_compiled are owned by the caller and
 * freed with their *_free function; rules returned by lookups point into the
 * set and live as long as it does. Nothing here prints or exits.
 */
#ifndef OE_POLICY_H
#define OE_POLICY_H

#include "common/common.h"

enum policy_group {
    POLICY_CLEAR,
    POLICY_CLEAR_OR_PRIVATE,
    POLICY_PRIVATE_OR_CLEAR,
    POLICY_PRIVATE,
    POLICY_BLOCK,
    POLICY_GROUP_COUNT
};

/* What the kernel does with a packet matching a compiled policy. */
enum policy_action {
    POLICY_ACTION_PASS,
    POLICY_ACTION_DROP,
    POLICY_ACTION_TRAP, /* no SA yet: the kernel asks us (ACQUIRE) */
};

enum policy_dir { POLICY_DIR_OUT, POLICY_DIR_IN };

/* A traffic selector as the policy files state it: the remote side. */
struct policy_selector {
    struct oe_prefix peer;
    uint8_t proto;  /* 0 = any */
    uint16_t lport; /* our port; 0 = any */
    uint16_t rport; /* the peer's port; 0 = any */
};

struct policy_rule {
    struct policy_selector sel;
    enum policy_group group;
    unsigned line; /* in the group's file */
};

struct policy_set;

/* Group names are the file names: "private-or-clear". */
const char *policy_group_name(enum policy_group g);
int policy_group_parse(const char *name, enum policy_group *g);

struct policy_set *policy_set_new(void);
void policy_set_free(struct policy_set *set);

/*
 * Read DIR/<group> for every group (a missing file is an empty group).
 * On error *out is untouched and err names file:line and the problem.
 */
int policy_load(const char *dir, struct policy_set **out, struct oe_error *err);

/*
 * Parse one group's text into set (policy_load uses this per file; tests and
 * the fuzzer use it directly). fname is used only in errors. The set is not
 * usable for lookups until policy_finish().
 */
int policy_parse_group(struct policy_set *set, enum policy_group g, const char *text, size_t len, const char *fname,
                       struct oe_error *err);
/* Check for duplicate selectors and build the lookup index. */
int policy_finish(struct policy_set *set, struct oe_error *err);

/* The file a group was read from ("" when built from text). */
const char *policy_group_file(const struct policy_set *set, enum policy_group g);

/*
 * The rule governing traffic to addr (proto/ports 0 = "any traffic"), or NULL
 * when no group covers it (the kernel's default: clear).
 */
const struct policy_rule *policy_lookup(const struct policy_set *set, const struct oe_addr *addr, uint8_t proto,
                                        uint16_t lport, uint16_t rport);

size_t policy_rule_count(const struct policy_set *set);
const struct policy_rule *policy_rule_at(const struct policy_set *set, size_t i);

/* The kernel's view of a group: what happens outbound and inbound. */
enum policy_action policy_group_action(enum policy_group g, enum policy_dir dir);

/* One kernel policy the agent wants. */
struct policy_kernel {
    struct policy_selector sel;
    enum policy_dir dir;
    enum policy_action action;
    enum policy_group group;
};

struct policy_compiled {
    struct policy_kernel *v; /* sorted by (sel, dir) */
    size_t n;
};

int policy_compile(const struct policy_set *set, struct policy_compiled *out, struct oe_error *err);
void policy_compiled_free(struct policy_compiled *c);
int policy_kernel_cmp(const struct policy_kernel *a, const struct policy_kernel *b);

/*
 * Walk two compiled lists: remove() for what is only in old, add() for what
 * is only in new, replace() for the same selector with another action (a
 * group change that keeps the kernel action touches nothing). Every add()
 * and replace() comes before the first remove(), so no prefix is left
 * uncovered in between. Returns the
 * number of callbacks made, or the first non-zero callback result negated.
 */
struct policy_diff_ops {
    int (*add)(const struct policy_kernel *k, void *arg);
    int (*remove)(const struct policy_kernel *k, void *arg);
    int (*replace)(const struct policy_kernel *old, const struct policy_kernel *new_, void *arg);
};
long policy_diff(const struct policy_compiled *old, const struct policy_compiled *new_,
                 const struct policy_diff_ops *ops, void *arg);

/*
 * "Why does this address get what it gets": the rule (group, file:line) and
 * the kernel actions, as text or as members of a JSON object (no braces, so
 * the caller can add its own), appended to out.
 */
void policy_explain(const struct policy_set *set, const struct oe_addr *addr, bool json, struct oe_buf *out);

#endif
