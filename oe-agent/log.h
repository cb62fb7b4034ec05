/* The agent's log: one line per event, in the style pluto users know. */
#ifndef OE_AGENT_LOG_H
#define OE_AGENT_LOG_H

#include "common/common.h"

/* "stderr", "syslog" or a file path (appended to, with timestamps). */
int oe_log_open(const char *target, struct oe_error *err);
void oe_log_close(void);
/* Tests: send lines to a buffer instead (NULL: back to the target). */
void oe_log_capture(struct oe_buf *buf);

void oe_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
