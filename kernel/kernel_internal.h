/* The implementations behind kernel.h; not part of the public interface. */
#ifndef OE_KERNEL_INTERNAL_H
#define OE_KERNEL_INTERNAL_H

#include "kernel.h"

struct kernel_ops {
    int (*install)(struct kernel *k, const struct kernel_policy *p, struct oe_error *err);
    int (*remove)(struct kernel *k, const struct kernel_policy *p, struct oe_error *err);
    int (*list)(struct kernel *k, struct kernel_policy **out, size_t *n, struct oe_error *err);
    int (*set_larval_drop)(struct kernel *k, int value, struct oe_error *err);
    int (*sa_add)(struct kernel *k, const struct kernel_sa *sa, struct oe_error *err);
    int (*sa_del)(struct kernel *k, uint32_t spi, const struct oe_addr *dst, struct oe_error *err);
    int (*sa_stats)(struct kernel *k, uint32_t spi, const struct oe_addr *dst, struct kernel_sa_stats *st,
                    struct oe_error *err);
    int (*fd)(struct kernel *k);
    int (*process)(struct kernel *k, kernel_event_fn fn, void *arg, struct oe_error *err);
    void (*close)(struct kernel *k);
};

struct kernel {
    const struct kernel_ops *ops;
};

#endif
