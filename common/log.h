/* log.h: the daemons' small logging API (stderr, so supervisord owns the output). */
#ifndef STREAMDNS_LOG_H
#define STREAMDNS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Called once by main(): the program name prefixes every line. */
void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
/* "text" (default) or "json": one JSON object per line, for log shippers. */
void log_set_json(int on);
/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int log_level_parse(const char *s);

/* log_warn appends strerror(errno); log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For the impossible (and OOM in daemons): log and exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Rate limiting for messages that an attacker or a long outage could repeat without end:
 * log_rl_allow() says whether to log now (at most once per interval seconds) and how many
 * were suppressed since the last one logged. One struct per message site; not shared
 * between threads.
 */
struct log_rl {
	double		last;
	unsigned long	suppressed;
};

bool log_rl_allow(struct log_rl *rl, double interval, unsigned long *suppressed);

/* Allocation helpers for daemons: OOM is fatal. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);

#endif
