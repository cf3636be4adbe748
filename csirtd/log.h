/*
 * log.h - one logfmt line per record on stderr.
 *
 *   time=2026-11-27T00:40:00.123Z level=info msg="listening" addr=127.0.0.1:80
 *
 * Values are quoted and escaped when they need it, so untrusted text (a
 * title, a login) can never forge a second record.  Never pass a secret: a
 * token, a key or 機密性高・中 plaintext must not be logged.
 */
#ifndef CSIRT_LOG_H
#define CSIRT_LOG_H

enum log_level {
	LOGL_DEBUG = 0,
	LOGL_INFO,
	LOGL_WARN,
	LOGL_ERROR,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "debug", "info", "warn" or "error". */
int log_level_parse(enum log_level *out, const char *s);

/* Redirects records to `fd` (default 2).  For tests. */
void log_set_fd(int fd);

/* Writes one record: `msg`, then NULL-terminated key, value string pairs. */
void log_write(enum log_level level, const char *msg, ...)
    __attribute__((sentinel));

#define log_debug(...) log_write(LOGL_DEBUG, __VA_ARGS__, (char *)NULL)
#define log_info(...) log_write(LOGL_INFO, __VA_ARGS__, (char *)NULL)
#define log_warn(...) log_write(LOGL_WARN, __VA_ARGS__, (char *)NULL)
#define log_error(...) log_write(LOGL_ERROR, __VA_ARGS__, (char *)NULL)

/* Formats into `buf` (always terminated); returns the number of bytes
 * written, excluding the newline-free terminator.  Exposed for tests. */
size_t log_format(char *buf, size_t size, enum log_level level, const char *msg,
                  const char *const *kv, size_t nkv);

#endif
