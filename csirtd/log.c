/*
 * log.c - logfmt records on stderr.
 *
 * Each record is formatted into one bounded buffer and emitted with a single
 * write(2), so records from the loop and the writer thread never interleave.
 * An over-long record is cut and marked with `truncated=true`; this module
 * never allocates and never fails the caller.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LOG_LINE_MAX 4096
#define LOG_KV_MAX 32

static enum log_level log_level = LOGL_INFO;
static int log_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_set_fd(int fd)
{
	log_fd = fd;
}

int
log_level_parse(enum log_level *out, const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

struct logbuf {
	char *p;
	size_t len, cap;
	bool full;
};

static void
logbuf_putc(struct logbuf *b, char c)
{
	if (b->len + 1 >= b->cap) {
		b->full = true;
		return;
	}
	b->p[b->len++] = c;
}

static void
logbuf_puts(struct logbuf *b, const char *s)
{
	while (*s != '\0' && !b->full)
		logbuf_putc(b, *s++);
}

static bool
value_needs_quotes(const char *v)
{
	if (*v == '\0')
		return true;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' ||
		    *p == 0x7f)
			return true;
	}
	return false;
}

static void
logbuf_value(struct logbuf *b, const char *v)
{
	static const char hex[] = "0123456789abcdef";

	if (v == NULL)
		v = "";
	if (!value_needs_quotes(v)) {
		logbuf_puts(b, v);
		return;
	}
	logbuf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		switch (*p) {
		case '"':
			logbuf_puts(b, "\\\"");
			break;
		case '\\':
			logbuf_puts(b, "\\\\");
			break;
		case '\n':
			logbuf_puts(b, "\\n");
			break;
		case '\t':
			logbuf_puts(b, "\\t");
			break;
		case '\r':
			logbuf_puts(b, "\\r");
			break;
		default:
			if (*p < ' ' || *p == 0x7f) {
				logbuf_puts(b, "\\x");
				logbuf_putc(b, hex[*p >> 4]);
				logbuf_putc(b, hex[*p & 15]);
			} else {
				logbuf_putc(b, (char)*p);
			}
		}
	}
	logbuf_putc(b, '"');
}

size_t
log_format(char *buf, size_t size, enum log_level level, const char *msg,
           const char *const *kv, size_t nkv)
{
	char ts[40];
	struct logbuf b = {buf, 0, size, false};

	if (size == 0)
		return 0;
	util_time_now_rfc3339(ts, sizeof(ts));
	logbuf_puts(&b, "time=");
	logbuf_puts(&b, ts);
	logbuf_puts(&b, " level=");
	logbuf_puts(&b, level_names[level]);
	logbuf_puts(&b, " msg=");
	logbuf_value(&b, msg);
	for (size_t i = 0; i + 1 < nkv; i += 2) {
		logbuf_putc(&b, ' ');
		logbuf_puts(&b, kv[i]);
		logbuf_putc(&b, '=');
		logbuf_value(&b, kv[i + 1]);
	}
	if (b.full) {
		static const char mark[] = " truncated=true";
		size_t at = size - 1 > sizeof(mark) ? size - sizeof(mark) : 0;
		if (at < b.len)
			b.len = at;
		b.full = false;
		logbuf_puts(&b, mark);
	}
	buf[b.len] = '\0';
	return b.len;
}

void
log_write(enum log_level level, const char *msg, ...)
{
	const char *kv[LOG_KV_MAX];
	char line[LOG_LINE_MAX];
	size_t nkv = 0, len;
	const char *s;
	va_list ap;

	if (level < log_level)
		return;
	va_start(ap, msg);
	while ((s = va_arg(ap, const char *)) != NULL && nkv < LOG_KV_MAX)
		kv[nkv++] = s;
	va_end(ap);
	len = log_format(line, sizeof(line) - 1, level, msg, kv, nkv);
	line[len++] = '\n';
	/* One write per record; a short write to stderr is not retried. */
	if (write(log_fd, line, len) < 0)
		return;
}
