/*
 * fault-inject.c - an LD_PRELOAD shim that makes writes and fsyncs fail,
 * for the fault tests (tests/check_fault.c) and for operators rehearsing
 * a full or failing disk.
 *
 *   FAULT_CONTROL=/path/to/rules LD_PRELOAD=libfault-inject.so csirtd ...
 *
 * The rules file is read on every intercepted call (so a test can arm and
 * disarm faults while the process runs); missing or empty means no fault.
 * One rule per line:
 *
 *   <op> <errno> <path-substring>
 *
 * op is `write` (write, pwrite, pwrite64, writev), `fsync` (fsync,
 * fdatasync), `any` (both), or `odirect`: an open() or openat() with
 * O_DIRECT, as on a file system without direct I/O (errno EINVAL).
 * errno is ENOSPC, EIO, EDQUOT, EROFS or EINVAL, or STALL: the call
 * waits (polling every 10 ms) for as long as the rule stays in the file,
 * then goes through (a slow disk, released by the test); the rule applies
 * when the file descriptor's path (from /proc/self/fd), or the path
 * opened, contains the substring.  Every injected failure or stall appends
 * "<op> <errno> <path>" to FAULT_CONTROL.hits, so a test can tell that its
 * fault fired.
 *
 * Only the calls a process makes through the dynamic linker are seen:
 * libgit2's and SQLite's writes and fsyncs, and csirtd's own.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum op { OP_WRITE, OP_FSYNC, OP_ODIRECT };

static const char *const opnames[] = {"write", "fsync", "odirect"};

#define STALL (-1) /* fault_for(): wait while the rule stays */

static const struct {
	const char *name;
	int value;
} errnos[] = {{"ENOSPC", ENOSPC},
              {"EIO", EIO},
              {"EDQUOT", EDQUOT},
              {"EROFS", EROFS},
              {"EINVAL", EINVAL}};

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void *, size_t, off64_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*fsync_fn)(int);
typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

/* next_<name>(): the real function, looked up once (dlsym is
 * thread-safe; a race only looks the same symbol up twice, and the
 * pointer is read and written atomically, so ThreadSanitizer has nothing
 * to report in the daemons it wraps). */
#define NEXT(name, type)                                                       \
	static type next_##name(void)                                          \
	{                                                                      \
		static type f;                                                 \
		type g;                                                        \
		__atomic_load(&f, &g, __ATOMIC_ACQUIRE);                       \
		if (g == NULL) {                                               \
			void *p = dlsym(RTLD_NEXT, #name);                     \
			memcpy(&g, &p, sizeof(g));                             \
			__atomic_store(&f, &g, __ATOMIC_RELEASE);              \
		}                                                              \
		return g;                                                      \
	}
NEXT(write, write_fn)
NEXT(pwrite, pwrite_fn)
NEXT(pwrite64, pwrite64_fn)
NEXT(writev, writev_fn)
NEXT(fsync, fsync_fn)
NEXT(fdatasync, fsync_fn)
NEXT(open, open_fn)
NEXT(open64, open_fn)
NEXT(openat, openat_fn)
NEXT(openat64, openat_fn)

/* Reads the rules file with raw syscalls of our own (the intercepted
 * functions are not called) and returns the errno to inject for `fd`
 * and `op`, STALL, or 0; records a hit in FAULT_CONTROL.hits if
 * `record`. */
static int
fault_for(int fd, const char *opened, enum op op, int record)
{
	const char *control = getenv("FAULT_CONTROL");
	char rules[4096], path[4096], link[64], *line, *save = NULL;
	ssize_t n;
	int cfd, inject = 0, saved = errno;

	/* A call that goes through must see the errno it would have. */
	if (control == NULL)
		return 0;
	cfd = open(control, O_RDONLY | O_CLOEXEC);
	if (cfd < 0) {
		errno = saved;
		return 0;
	}
	n = read(cfd, rules, sizeof(rules) - 1);
	close(cfd);
	errno = saved;
	if (n <= 0)
		return 0;
	rules[n] = '\0';
	if (opened != NULL) {
		snprintf(path, sizeof(path), "%s", opened);
	} else {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
		if (n < 0) {
			errno = saved;
			return 0;
		}
		path[n] = '\0';
	}
	for (line = strtok_r(rules, "\n", &save); line != NULL && !inject;
	     line = strtok_r(NULL, "\n", &save)) {
		char opname[16], errname[16], sub[1024];

		if (sscanf(line, "%15s %15s %1023s", opname, errname, sub) != 3)
			continue;
		if (strcmp(opname, opnames[op]) != 0 &&
		    (strcmp(opname, "any") != 0 || op == OP_ODIRECT))
			continue;
		if (strstr(path, sub) == NULL)
			continue;
		for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
			if (strcmp(errname, errnos[i].name) == 0)
				inject = errnos[i].value;
		if (strcmp(errname, "STALL") == 0)
			inject = STALL;
		if (inject != 0 && record) {
			char hits[4096], msg[4200];
			int hfd;
			int len;

			snprintf(hits, sizeof(hits), "%s.hits", control);
			len = snprintf(msg, sizeof(msg), "%s %s %s\n",
			               opnames[op], errname, path);
			hfd = open(hits,
			           O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			           0600);
			if (hfd >= 0) {
				/* Best effort: the fault fires even if the
				 * record of it cannot be written. */
				ssize_t w = len > 0 ? next_write()(hfd, msg,
				                                   (size_t)len)
				                    : 0;
				(void)w;
				close(hfd);
			}
		}
	}
	errno = saved;
	return inject;
}

/* The errno to inject, or 0 once any stall is released. */
static int
fault_check_path(int fd, const char *opened, enum op op)
{
	int e = fault_for(fd, opened, op, 1);

	while (e == STALL) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		int saved = errno;

		nanosleep(&ts, NULL);
		errno = saved;
		e = fault_for(fd, opened, op, 0);
	}
	return e;
}

static int
fault_check(int fd, enum op op)
{
	return fault_check_path(fd, NULL, op);
}

ssize_t
write(int fd, const void *buf, size_t count)
{
	int e = fault_check(fd, OP_WRITE);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return next_write()(fd, buf, count);
}

ssize_t
pwrite(int fd, const void *buf, size_t count, off_t off)
{
	int e = fault_check(fd, OP_WRITE);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return next_pwrite()(fd, buf, count, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t count, off64_t off)
{
	int e = fault_check(fd, OP_WRITE);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return next_pwrite64()(fd, buf, count, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	int e = fault_check(fd, OP_WRITE);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return next_writev()(fd, iov, iovcnt);
}

int
fsync(int fd)
{
	int e = fault_check(fd, OP_FSYNC);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return next_fsync()(fd);
}

int
fdatasync(int fd)
{
	int e = fault_check(fd, OP_FSYNC);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return next_fdatasync()(fd);
}

/* open() and openat() with O_DIRECT: `params` is the function's parameter
 * list (ending in `int flags, ...`), `args` the call passed on.  The mode
 * is there (and passed on) only with O_CREAT or O_TMPFILE, as open(2)
 * reads it. */
#define OPEN_WRAPPER(name, params, args)                                       \
	int name params                                                        \
	{                                                                      \
		va_list ap;                                                    \
		mode_t mode = 0;                                               \
		int e = (flags & O_DIRECT)                                     \
		            ? fault_check_path(-1, path, OP_ODIRECT)           \
		            : 0;                                               \
                                                                               \
		if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {   \
			va_start(ap, flags);                                   \
			mode = (mode_t)va_arg(ap, int);                        \
			va_end(ap);                                            \
		}                                                              \
		if (e != 0) {                                                  \
			errno = e;                                             \
			return -1;                                             \
		}                                                              \
		return next_##name() args;                                     \
	}
OPEN_WRAPPER(open, (const char *path, int flags, ...), (path, flags, mode))
OPEN_WRAPPER(open64, (const char *path, int flags, ...), (path, flags, mode))
OPEN_WRAPPER(openat, (int dirfd, const char *path, int flags, ...),
             (dirfd, path, flags, mode))
OPEN_WRAPPER(openat64, (int dirfd, const char *path, int flags, ...),
             (dirfd, path, flags, mode))
