/*
 * testutil.h - helpers shared by the Check suites: temporary directories,
 * starting the real csirtd on a free loopback port, and a minimal HTTP
 * client on plain sockets (tests include no third-party headers but Check).
 */
#ifndef CSIRT_TESTUTIL_H
#define CSIRT_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/* Creates a fresh directory under $TMPDIR; caller frees the string. */
char *tu_tmpdir(void);
/* rm -rf; ignores errors. */
void tu_rmrf(const char *path);

struct tu_daemon {
	pid_t pid;
	char addr[128]; /* "127.0.0.1:PORT" */
	int tls;        /* it said "listening on https://" */
	char log_path[4096];
};

/* Runs `csirtd --listen 127.0.0.1:0 --data DATA [extra...] run`, waits for
 * its "listening on http://" (or https://) line and fills `d`.  stderr goes to
 * DATA/../csirtd.log. `extra` is NULL-terminated (may be NULL).  Returns 0 or
 * -1. */
int tu_daemon_start(struct tu_daemon *d, const char *data,
                    const char *const *extra);

/* Sends `sig`, waits up to `timeout_ms`; returns the wait status, or -1 on
 * timeout (the daemon is then SIGKILLed). */
int tu_daemon_stop(struct tu_daemon *d, int sig, int timeout_ms);

/* Runs a command and captures stdout (and its exit status). */
int tu_run(struct buf *out, int *status, const char *const argv[]);

/* A TCP connection to "127.0.0.1:PORT"; the fd, or -1. */
int tu_connect(const char *addr);
/* Sends all of p[0..n) (no SIGPIPE); 0, or -1 on an error. */
int tu_send_all(int fd, const void *p, size_t n);

/* One HTTP/1.1 request with Connection: close.  `headers` is extra header
 * lines, each ending in "\r\n" (may be NULL).  Returns the status code or
 * -1; the body goes to `body` if not NULL. */
int tu_http(const char *addr, const char *method, const char *path,
            const char *headers, const void *req_body, size_t req_len,
            struct buf *body);

/* Runs `sh -c SCRIPT` (printf-style, stderr folded into stdout; `out`,
 * when not NULL, is reset and gets the output; git never prompts);
 * returns the exit status. */
int tu_sh(struct buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether `needle` (m > 0 bytes) occurs in the n bytes at `hay`. */
int tu_memfind(const void *hay, size_t n, const void *needle, size_t m);
/* Whether `needle` occurs in the file at `path` (0 when it cannot be
 * read: callers assert the file exists where that matters). */
int tu_file_contains(const char *path, const void *needle, size_t m);

/* Runs `openssl ARGS...` inside `dir` (file names relative to it); its
 * chatter goes to dir/openssl.log.  Fails the test if openssl fails. */
void tu_openssl(const char *dir, const char *const *args);
#define OSSL(dir, ...) tu_openssl(dir, (const char *const[]){__VA_ARGS__, NULL})
#define EC_KEY_ARGS                                                            \
	"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"

#endif
