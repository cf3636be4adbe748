/*
 * util.c - libc-only helpers: time, durable file writes, UTF-8, buffers.
 *
 * Memory exhaustion is treated as fatal (util_x* abort), as in tmux and
 * OpenBSD's x* wrappers: a daemon that cannot allocate a few bytes cannot
 * keep its promises, and pretending otherwise multiplies untested paths.
 */
#define _GNU_SOURCE /* SCHED_IDLE, sync_file_range */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

int64_t
util_time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
util_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
util_time_format_ms(char *buf, size_t size, int64_t ms)
{
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)secs * 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	if (tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999 &&
	    size >= sizeof("2026-01-02T03:04:05.678Z")) {
		/* What the snprintf() below prints, digit by digit: every
		 * event renders two of these, and vsnprintf() was a twentieth
		 * of the writer thread. */
		const int f[][2] = {{tm.tm_year + 1900, 4},
		                    {tm.tm_mon + 1, 2},
		                    {tm.tm_mday, 2},
		                    {tm.tm_hour, 2},
		                    {tm.tm_min, 2},
		                    {tm.tm_sec, 2},
		                    {frac, 3}};
		static const char sep[] = "--T::.Z";
		char *p = buf;

		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			for (int k = f[i][1] - 1, v = f[i][0]; k >= 0;
			     k--, v /= 10)
				p[k] = (char)('0' + v % 10);
			p += f[i][1];
			*p++ = sep[i];
		}
		*p = '\0';
		return;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, frac);
}

void
util_time_now_rfc3339(char *buf, size_t size)
{
	util_time_format_ms(buf, size, util_time_now_ms());
}

static int
parse_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int
days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). */
static int64_t
days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
util_time_parse(int64_t *out, const char *s)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, ms = 0, off = 0;

	if (s == NULL || parse_digits(&p, 4, &y) < 0 || *p++ != '-' ||
	    parse_digits(&p, 2, &mo) < 0 || *p++ != '-' ||
	    parse_digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't') ||
	    (p++, parse_digits(&p, 2, &h)) < 0 || *p++ != ':' ||
	    parse_digits(&p, 2, &mi) < 0 || *p++ != ':' ||
	    parse_digits(&p, 2, &sec) < 0)
		goto bad;
	if (*p == '.') {
		int scale = 100, n = 0;
		p++;
		if (*p < '0' || *p > '9')
			goto bad;
		while (*p >= '0' && *p <= '9') {
			if (n++ < 3) {
				ms += (*p - '0') * scale;
				scale /= 10;
			}
			if (n > 9)
				goto bad;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (parse_digits(&p, 2, &oh) < 0 || *p++ != ':' ||
		    parse_digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
			goto bad;
		off = sign * (oh * 60 + om);
	} else {
		goto bad;
	}
	if (*p != '\0' || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		goto bad;
	*out = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	         off * 60) *
	        1000) +
	       ms;
	return 0;
bad:
	return csirt_error_set(
	    CSIRT_EINVAL,
	    "invalid time \"%.40s\": expected RFC 3339, e.g. "
	    "2026-11-27T09:30:00+09:00",
	    s ? s : "");
}

int
util_mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp))
		return csirt_error_set(CSIRT_EINVAL, "path too long");
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return csirt_error_set(CSIRT_EFAIL, "mkdir %s: %s", tmp,
			                       strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return csirt_error_set(CSIRT_EFAIL, "mkdir %s: %s", tmp,
		                       strerror(errno));
	return 0;
}

void
util_writeback_paced(int fd, off_t chunk)
{
	struct stat st;

	if (chunk <= 0 || fstat(fd, &st) != 0)
		return;
	for (off_t off = 0; off < st.st_size; off += chunk)
		if (sync_file_range(fd, off, chunk,
		                    SYNC_FILE_RANGE_WAIT_BEFORE |
		                        SYNC_FILE_RANGE_WRITE |
		                        SYNC_FILE_RANGE_WAIT_AFTER) != 0)
			return;
}

int
util_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return csirt_error_set(CSIRT_EUNAVAILABLE, "open %s: %s", path,
		                       strerror(errno));
	if (fsync(fd) < 0)
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "fsync %s: %s", path,
		                     strerror(errno));
	close(fd);
	return rc;
}

int
util_write_file_fd(int *out, const char *path, const void *data, size_t len,
                   mode_t mode)
{
	int fd = -1, rc = -1;
	size_t off = 0;

	*out = -1;
	/* A leftover file (crash) must not lend its owner or mode to the new
	 * one: remove it and create exclusively. */
	if (unlink(path) < 0 && errno != ENOENT) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "unlink %s: %s", path,
		                     strerror(errno));
		goto done;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0 || fchmod(fd, mode) < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "create %s: %s", path,
		                     strerror(errno));
		goto done;
	}
	while (off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = csirt_error_set(CSIRT_EUNAVAILABLE, "write %s: %s",
			                     path, strerror(errno));
			goto done;
		}
		off += (size_t)n;
	}
	*out = fd;
	fd = -1;
	rc = 0;
done:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	return rc;
}

int
util_write_file_synced(const char *path, const void *data, size_t len,
                       mode_t mode)
{
	int fd, rc;

	if ((rc = util_write_file_fd(&fd, path, data, len, mode)) != 0)
		return rc;
	if (fsync(fd) < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "fsync %s: %s", path,
		                     strerror(errno));
		close(fd);
		unlink(path);
		return rc;
	}
	if (close(fd) < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "close %s: %s", path,
		                     strerror(errno));
		unlink(path);
		return rc;
	}
	return 0;
}

struct fsync_job {
	pthread_t thread;
	int fd, err;
	bool started; /* on a thread of its own */
	bool pooled;  /* on a thread of fpool */
};

static void *
fsync_job_main(void *arg)
{
	struct fsync_job *j = arg;

	j->err = fsync(j->fd) < 0 ? errno : 0;
	return NULL;
}

/* A job on a thread of its own (the first runs on the caller's). */
static void *
fsync_job_thread(void *arg)
{
	util_thread_name("fsync");
	return fsync_job_main(arg);
}

/*
 * Threads kept for util_fsync_parallel(), started on its first call and
 * stopped by util_fsync_parallel_stop().  Spawning two per call (the
 * ledger writer's every batch) was 5 % of the writer thread's samples:
 * clone3, the new task's start and the join.  One caller at a time uses
 * them (holding `use`); another meanwhile spawns its own as before.
 * slot[i] is worker i's job, NULL when it has none.  A forked child has
 * none of the threads: fork handlers give it a pool not yet started (the
 * crash tests fork a writer).
 */
static struct {
	pthread_mutex_t use, mu;
	pthread_cond_t work, done;
	struct fsync_job *slot[UTIL_FSYNC_PARALLEL_MAX - 1];
	pthread_t thread[UTIL_FSYNC_PARALLEL_MAX - 1];
	size_t pending, nthreads;
	bool started, stop, atfork;
} fpool = {.use = PTHREAD_MUTEX_INITIALIZER,
           .mu = PTHREAD_MUTEX_INITIALIZER,
           .work = PTHREAD_COND_INITIALIZER,
           .done = PTHREAD_COND_INITIALIZER};

static void
fpool_prefork(void)
{
	pthread_mutex_lock(&fpool.use);
	pthread_mutex_lock(&fpool.mu);
}

static void
fpool_postfork_parent(void)
{
	pthread_mutex_unlock(&fpool.mu);
	pthread_mutex_unlock(&fpool.use);
}

/* The child's one thread is the one that took both locks before the fork:
 * it releases them, as the parent does (re-initialising a locked mutex is
 * undefined; ThreadSanitizer reported the child's first lock as a double
 * lock).  The condition variables may still count the parent's waiting
 * workers, which the child does not have: those are made anew. */
static void
fpool_postfork_child(void)
{
	memset(fpool.slot, 0, sizeof(fpool.slot));
	fpool.pending = fpool.nthreads = 0;
	fpool.started = fpool.stop = false;
	pthread_cond_init(&fpool.work, NULL);
	pthread_cond_init(&fpool.done, NULL);
	pthread_mutex_unlock(&fpool.mu);
	pthread_mutex_unlock(&fpool.use);
}

static void *
fpool_main(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;

	util_thread_name("fsync");
	pthread_mutex_lock(&fpool.mu);
	for (;;) {
		struct fsync_job *j;

		while (fpool.slot[i] == NULL && !fpool.stop)
			pthread_cond_wait(&fpool.work, &fpool.mu);
		if (fpool.slot[i] == NULL)
			break; /* stopping */
		j = fpool.slot[i];
		pthread_mutex_unlock(&fpool.mu);
		fsync_job_main(j);
		pthread_mutex_lock(&fpool.mu);
		fpool.slot[i] = NULL;
		fpool.pending--;
		pthread_cond_signal(&fpool.done);
	}
	pthread_mutex_unlock(&fpool.mu);
	return NULL;
}

/* With `use` held. */
static void
fpool_start(void)
{
	fpool.started = true;
	if (!fpool.atfork)
		fpool.atfork =
		    pthread_atfork(fpool_prefork, fpool_postfork_parent,
		                   fpool_postfork_child) == 0;
	if (!fpool.atfork)
		return; /* no pool: callers spawn */
	for (size_t i = 0; i < UTIL_ARRAY_LEN(fpool.slot); i++) {
		if (pthread_create(&fpool.thread[i], NULL, fpool_main,
		                   (void *)(uintptr_t)i) != 0)
			break;
		fpool.nthreads++;
	}
}

void
util_fsync_parallel_stop(void)
{
	pthread_mutex_lock(&fpool.use);
	pthread_mutex_lock(&fpool.mu);
	fpool.stop = true;
	pthread_cond_broadcast(&fpool.work);
	pthread_mutex_unlock(&fpool.mu);
	for (size_t i = 0; i < fpool.nthreads; i++)
		pthread_join(fpool.thread[i], NULL);
	fpool.nthreads = 0;
	fpool.started = fpool.stop = false;
	pthread_mutex_unlock(&fpool.use);
}

int
util_fsync_parallel(const int *fds, const char *const *paths, size_t n)
{
	return util_fsync_parallel_after(fds, paths, n, NULL, NULL);
}

int
util_fsync_parallel_after(const int *fds, const char *const *paths, size_t n,
                          int (*first)(void *), void *arg)
{
	struct fsync_job jobs[UTIL_FSYNC_PARALLEL_MAX];
	bool pool;
	int rc = 0;

	if (n > UTIL_FSYNC_PARALLEL_MAX)
		return csirt_error_set(CSIRT_EFAIL, "too many files to fsync");
	for (size_t i = 0; i < n; i++)
		jobs[i] = (struct fsync_job){.fd = fds[i]};
	pool = pthread_mutex_trylock(&fpool.use) == 0;
	if (pool) {
		if (!fpool.started)
			fpool_start();
		pthread_mutex_lock(&fpool.mu);
		for (size_t i = 1; i < n && i - 1 < fpool.nthreads; i++) {
			fpool.slot[i - 1] = &jobs[i];
			jobs[i].pooled = true;
			fpool.pending++;
		}
		pthread_cond_broadcast(&fpool.work);
		pthread_mutex_unlock(&fpool.mu);
	}
	/* The first runs here; a job neither pooled nor on a thread that
	 * started is run here too. */
	for (size_t i = 1; i < n; i++)
		if (!jobs[i].pooled &&
		    pthread_create(&jobs[i].thread, NULL, fsync_job_thread,
		                   &jobs[i]) == 0)
			jobs[i].started = true;
	if (first != NULL)
		rc = first(arg);
	for (size_t i = rc != 0 ? 1 : 0; i < n; i++)
		if (!jobs[i].started && !jobs[i].pooled)
			fsync_job_main(&jobs[i]);
	for (size_t i = 0; i < n; i++)
		if (jobs[i].started)
			pthread_join(jobs[i].thread, NULL);
	if (pool) {
		pthread_mutex_lock(&fpool.mu);
		while (fpool.pending > 0)
			pthread_cond_wait(&fpool.done, &fpool.mu);
		pthread_mutex_unlock(&fpool.mu);
		pthread_mutex_unlock(&fpool.use);
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		if (jobs[i].err != 0)
			rc = csirt_error_set(CSIRT_EUNAVAILABLE, "fsync %s: %s",
			                     paths[i], strerror(jobs[i].err));
	return rc;
}

int
util_write_file_atomic(const char *path, const void *data, size_t len,
                       mode_t mode)
{
	char tmp[4096], dir[4096];
	const char *slash;
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return csirt_error_set(CSIRT_EINVAL, "path too long");
	if ((rc = util_write_file_synced(tmp, data, len, mode)) != 0)
		return rc;
	if (rename(tmp, path) < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "rename %s: %s", tmp,
		                     strerror(errno));
		unlink(tmp);
		return rc;
	}
	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	return util_fsync_path(dir);
}

int
util_read_file(char **out, size_t *len, const char *path, size_t max)
{
	struct buf b = BUF_INIT;
	char chunk[65536];
	int fd, rc = -1;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return csirt_error_set(errno == ENOENT ? CSIRT_ENOTFOUND
		                                       : CSIRT_EFAIL,
		                       "open %s: %s", path, strerror(errno));
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = csirt_error_set(CSIRT_EFAIL, "read %s: %s", path,
			                     strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			rc = csirt_error_set(CSIRT_EINVAL,
			                     "%s is larger than %zu bytes",
			                     path, max);
			goto done;
		}
		buf_put(&b, chunk, (size_t)n);
	}
	/* Always terminated, also for an empty file (found by fuzz_config:
	 * a fresh buffer is not zeroed). */
	buf_grow(&b, 1);
	b.data[b.len] = '\0';
	if (len != NULL)
		*len = b.len;
	*out = buf_detach(&b);
	rc = 0;
done:
	buf_free(&b);
	close(fd);
	return rc;
}

bool
util_path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

char *
util_path_join(const char *a, const char *b)
{
	struct buf out = BUF_INIT;

	buf_printf(&out, "%s/%s", a, b);
	return buf_detach(&out);
}

bool
util_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			uint64_t w;

			/* ASCII eight bytes at a time (keys, ids, times). */
			i++;
			while (i + 8 <= len && (memcpy(&w, s + i, 8),
			                        (w & 0x8080808080808080u) == 0))
				i += 8;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + n >= len)
			return false; /* truncated sequence */
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Reject overlongs, surrogates and values past U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

void *
util_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	return p;
}

/* `align` a power of two, n a multiple of it (C11 aligned_alloc). */
void *
util_xaligned_alloc(size_t align, size_t n)
{
	void *p = aligned_alloc(align, n ? n : align);

	if (p == NULL)
		abort();
	return p;
}

void *
util_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		abort();
	return p;
}

void *
util_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		abort();
	return q;
}

char *
util_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = util_xmalloc(n);

	memcpy(p, s, n);
	return p;
}

void
util_hex(char *out, const unsigned char *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void
util_json_string(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	buf_putc(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			buf_putc(out, '\\');
			buf_putc(out, (char)*p);
		} else if (*p < 0x20 || *p == 0x7f) {
			char esc[7] = {'\\',         'u',          '0', '0',
			               hex[*p >> 4], hex[*p & 15], 0};
			buf_puts(out, esc);
		} else {
			buf_putc(out, (char)*p);
		}
	}
	buf_putc(out, '"');
}

void
buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = util_xrealloc(b->data, cap);
	b->cap = cap;
}

void
buf_put(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void
util_copy2(char *dst, size_t size, const char *a, const char *b)
{
	const char *src[2] = {a, b};
	size_t n = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < 2 && src[i] != NULL; i++) {
		size_t l = strlen(src[i]);

		if (l > size - 1 - n)
			l = size - 1 - n;
		memcpy(dst + n, src[i], l);
		n += l;
	}
	dst[n] = '\0';
}

size_t
util_fmt_u64(char out[24], uint64_t v, int width)
{
	char d[23];
	size_t n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while ((int)n < width && n < sizeof(d))
		d[n++] = '0';
	for (size_t i = 0; i < n; i++)
		out[i] = d[n - 1 - i];
	out[n] = '\0';
	return n;
}

void
buf_put_u64(struct buf *b, uint64_t v, int width)
{
	char d[24];

	buf_put(b, d, util_fmt_u64(d, v, width));
}

void
buf_put_i64(struct buf *b, int64_t v)
{
	if (v < 0) {
		buf_putc(b, '-');
		/* -(INT64_MIN) in unsigned arithmetic */
		buf_put_u64(b, 0 - (uint64_t)v, 0);
	} else {
		buf_put_u64(b, (uint64_t)v, 0);
	}
}

void
buf_put_be32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)(v >> 24),
	                      (unsigned char)(v >> 16), (unsigned char)(v >> 8),
	                      (unsigned char)v};

	buf_put(b, x, 4);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* Formatted once into the room there is, again only when it did not
	 * fit (measuring first doubled the cost of every call). */
	buf_grow(b, 64);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
buf_detach(struct buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = util_strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
util_thread_name(const char *name)
{
	(void)prctl(PR_SET_NAME, name, 0, 0, 0);
}

void
util_thread_background(void)
{
	/* On Linux a thread has its own nice value, set through its id. */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
}

void
util_thread_idle(void)
{
	struct sched_param sp = {0};

	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
		(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
}

int
util_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}
