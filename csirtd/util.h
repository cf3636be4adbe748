/*
 * util.h - small libc-only helpers shared by every module: time, files,
 * UTF-8, and a growable byte buffer.  No third-party headers here.
 */
#ifndef CSIRT_UTIL_H
#define CSIRT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UTIL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- time: RFC 3339 UTC with milliseconds, "2026-11-27T00:40:00.123Z" */
#define UTIL_TIME_LEN 25 /* including the terminator */

int64_t util_time_now_ms(void);
/* Milliseconds of CLOCK_MONOTONIC, for intervals. */
uint64_t util_monotonic_ms(void);
void util_time_format_ms(char *buf, size_t size, int64_t ms);
void util_time_now_rfc3339(char *buf, size_t size);
/* Parses RFC 3339 ("...Z" or "...+09:00", optional fraction); returns
 * CSIRT_EINVAL with a message on bad input. */
int util_time_parse(int64_t *out, const char *s);

/* ---- files */
int util_mkdir_p(const char *path, mode_t mode);
int util_fsync_path(const char *path);
/* Writes `fd`'s dirty pages back `chunk` bytes at a time, each written
 * before the next is started, so that the device never has more than a
 * chunk of this file queued ahead of others' fsyncs; for a background
 * thread, before its fsync.  Errors are left to that fsync. */
void util_writeback_paced(int fd, off_t chunk);
/* Creates `path` (replacing a leftover) and writes `data`; *out is the
 * open descriptor (the caller fsyncs and closes it), -1 on failure. */
int util_write_file_fd(int *out, const char *path, const void *data, size_t len,
                       mode_t mode);
/* fsyncs fds[0..n) concurrently, one thread each (the device sees their
 * flushes together instead of one after another); n is at most
 * UTIL_FSYNC_PARALLEL_MAX.  On failure, the error names paths[i]. */
#define UTIL_FSYNC_PARALLEL_MAX 4
int util_fsync_parallel(const int *fds, const char *const *paths, size_t n);
/* The same, but the caller's thread first runs first(arg), a write of
 * fds[0], while the others' fsyncs go on; fds[0] is fsynced after it, if
 * it returned 0.  Its error (csirt_error set) comes first. */
int util_fsync_parallel_after(const int *fds, const char *const *paths,
                              size_t n, int (*first)(void *), void *arg);
/* Stops the threads util_fsync_parallel() keeps (the next call starts
 * them again).  For a clean exit: ledger_close() calls it. */
void util_fsync_parallel_stop(void);
/* Creates `path` (replacing a leftover), writes it and fsyncs it; the
 * caller renames it and fsyncs the directory (several files may share
 * that one directory fsync). */
int util_write_file_synced(const char *path, const void *data, size_t len,
                           mode_t mode);
/* Writes via a temporary file, fsyncs it, renames, fsyncs the directory. */
int util_write_file_atomic(const char *path, const void *data, size_t len,
                           mode_t mode);
/* Reads a whole file of at most `max` bytes; caller frees *out (always
 * NUL-terminated). */
int util_read_file(char **out, size_t *len, const char *path, size_t max);
bool util_path_exists(const char *path);
/* Writes all `len` bytes to `fd` (retrying short writes and EINTR);
 * 0, or -1 with errno set (EIO for a zero-byte write). */
int util_write_all(int fd, const void *data, size_t len);
/* Lowers the calling thread's CPU priority (nice 10): for housekeeping
 * threads that must not take the cores from the request path.  Best
 * effort; Linux only. */
void util_thread_background(void);
/* The calling thread runs only when a CPU would otherwise idle
 * (SCHED_IDLE; nice 19 where that is refused).  Only for work that
 * may wait indefinitely, with a fallback when it does. */
void util_thread_idle(void);
/* Names the calling thread (at most 15 bytes show): what `top -H`, `ps -L`
 * and csirt-bench's CPU figures call it.  Best effort; Linux only. */
void util_thread_name(const char *name);
/* Joins into a newly allocated string; caller frees. */
char *util_path_join(const char *a, const char *b);

/* ---- text */
bool util_utf8_valid(const char *s, size_t len);
char *util_strdup(const char *s); /* aborts on OOM like xstrdup */
void *util_xmalloc(size_t n);
void *util_xaligned_alloc(size_t align, size_t n);
void *util_xcalloc(size_t n, size_t size);
void *util_xrealloc(void *p, size_t n);
void util_hex(char *out, const unsigned char *in, size_t len);
/* snprintf(dst, size, "%s%s", a, b) without vsnprintf: truncated to fit,
 * terminated unless size is 0 (then nothing is written); b may be NULL. */
void util_copy2(char *dst, size_t size, const char *a, const char *b);

/* ---- growable buffer; `data` is always NUL-terminated */
struct buf {
	char *data;
	size_t len, cap;
};
#define BUF_INIT                                                               \
	{                                                                      \
		NULL, 0, 0                                                     \
	}
void buf_grow(struct buf *b, size_t extra);
void buf_put(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
/* Inline: the JSON codec and the commit writer append a byte at a time. */
static inline void
buf_putc(struct buf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
	} else {
		buf_put(b, &c, 1);
	}
}
/* `v` in decimal, zero-padded to `width` digits (as "%0*" PRIu64), and
 * `v` with a '-' when negative (as "%" PRId64): the ledger's paths, commit
 * trailers and JSON numbers, without vsnprintf's cost (~4,000
 * instructions a path). */
void buf_put_u64(struct buf *b, uint64_t v, int width);
void buf_put_i64(struct buf *b, int64_t v);
/* The same into `out` (terminated, up to 21 digits and the padding up to
 * 23): the length. */
size_t util_fmt_u64(char out[24], uint64_t v, int width);
/* Four bytes, most significant first (git's pack and index fields). */
void buf_put_be32(struct buf *b, uint32_t v);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands over the data (caller frees) and resets the buffer. */
char *buf_detach(struct buf *b);
/* Appends `s` as a JSON string literal (quotes included). */
void util_json_string(struct buf *out, const char *s);

#endif
