/* log.c: timestamped, level-filtered log lines on stderr. */
#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"

static const char *log_prog = "streamdns";
/*
 * SIGHUP changes these in the main thread while every other thread logs: atomics, so a
 * reader sees the old value or the new one. Relaxed order is enough: nothing else is
 * published through them.
 */
static atomic_int log_lvl = LOG_LVL_INFO;
static atomic_int log_json;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_set_level(level);
}

void
log_set_level(enum log_level level)
{
	assert(level >= LOG_LVL_ERROR && level <= LOG_LVL_DEBUG);
	atomic_store_explicit(&log_lvl, (int)level, memory_order_relaxed);
}

void
log_set_json(int on)
{
	atomic_store_explicit(&log_json, on != 0, memory_order_relaxed);
}

/* Writes s as a JSON string body (quotes, backslashes and control characters escaped). */
static void
json_escape(char *out, size_t outlen, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 7 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

int
log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

/* One fprintf per line so that lines from several threads do not interleave. */
static void
vlog(enum log_level lvl, const char *err, const char *fmt, va_list ap)
{
	char msg[1024], ts[32];
	struct timespec now;
	struct tm tm;

	if ((int)lvl > atomic_load_explicit(&log_lvl, memory_order_relaxed))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (atomic_load_explicit(&log_json, memory_order_relaxed)) {
		char full[1200], esc[2 * sizeof(full)];

		snprintf(full, sizeof(full), "%s%s%s", msg, err ? ": " : "", err ? err : "");
		json_escape(esc, sizeof(esc), full);
		fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"prog\":\"%s\",\"level\":\"%s\","
		    "\"msg\":\"%s\"}\n", ts, now.tv_nsec / 1000000, log_prog, level_names[lvl],
		    esc);
		return;
	}
	if (err != NULL)
		fprintf(stderr, "%s.%03ldZ %s[%s]: %s: %s\n", ts, now.tv_nsec / 1000000,
		    log_prog, level_names[lvl], msg, err);
	else
		fprintf(stderr, "%s.%03ldZ %s[%s]: %s\n", ts, now.tv_nsec / 1000000,
		    log_prog, level_names[lvl], msg);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *err = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, err, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *err = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

bool
log_rl_allow(struct log_rl *rl, double interval, unsigned long *suppressed)
{
	double t = clock_mono_sec();

	if (rl->last != 0 && t - rl->last < interval) {
		rl->suppressed++;
		return false;
	}
	rl->last = t;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL && n != 0)
		fatal("malloc(%zu)", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL && n != 0 && size != 0)
		fatal("calloc(%zu, %zu)", n, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}
