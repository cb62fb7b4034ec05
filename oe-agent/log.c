#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

static FILE *log_file; /* NULL with use_syslog false: stderr */
static bool use_syslog;
static struct oe_buf *capture;

int oe_log_open(const char *target, struct oe_error *err)
{
    oe_log_close();
    if (strcmp(target, "stderr") == 0)
        return 0;
    if (strcmp(target, "syslog") == 0) {
        openlog("oe-agent", LOG_PID, LOG_DAEMON);
        use_syslog = true;
        return 0;
    }
    log_file = fopen(target, "a");
    if (log_file == NULL) {
        oe_error_set(err, "log file %s: cannot open", target);
        return -1;
    }
    setvbuf(log_file, NULL, _IOLBF, 0);
    return 0;
}

void oe_log_close(void)
{
    if (log_file)
        fclose(log_file);
    if (use_syslog)
        closelog();
    log_file = NULL;
    use_syslog = false;
}

void oe_log_capture(struct oe_buf *buf)
{
    capture = buf;
}

void oe_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (capture) {
        oe_buf_printf(capture, "%s\n", line);
    } else if (use_syslog) {
        syslog(LOG_NOTICE, "%s", line);
    } else if (log_file) {
        /* pluto's file format: "Nov 25 21:13:04.123456: message" */
        struct timeval tv;
        struct tm tm;
        char ts[32];
        gettimeofday(&tv, NULL);
        localtime_r(&tv.tv_sec, &tm);
        strftime(ts, sizeof(ts), "%b %d %H:%M:%S", &tm);
        fprintf(log_file, "%s.%06ld: %s\n", ts, (long)tv.tv_usec, line);
    } else {
        fprintf(stderr, "%s\n", line);
    }
}
