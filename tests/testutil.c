/*
 * testutil.c - see testutil.h.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

char *
tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s/csirt-test-XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(b.data) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return buf_detach(&b);
}

void
tu_rmrf(const char *path)
{
	const char *argv[] = {"rm", "-rf", path, NULL};
	int status;

	tu_run(NULL, &status, argv);
}

/* In a forked child: exec `argv` (copied, since exec takes char *[]). */
static void
exec_argv(const char *const *argv, int search_path)
{
	char *copy[64];
	size_t n = 0;

	for (; argv[n] != NULL && n < 63; n++)
		copy[n] = util_strdup(argv[n]);
	copy[n] = NULL;
	if (search_path)
		execvp(copy[0], copy);
	else
		execv(copy[0], copy);
	_exit(127);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
tu_daemon_start(struct tu_daemon *d, const char *data, const char *const *extra)
{
	const char *argv[32];
	int pipefd[2], n = 0, logfd;
	char line[512];
	size_t len = 0;
	int64_t deadline;

	char *wrapper = NULL, *save = NULL, *tok;

	memset(d, 0, sizeof(*d));
	snprintf(d->log_path, sizeof(d->log_path), "%s.log", data);
	/* CSIRT_TEST_DAEMON_WRAPPER="valgrind --error-exitcode=99 ...":
	 * every daemon a test starts runs under it (tools/valgrind-suite.sh);
	 * a test that checks the exit status then sees its verdict. */
	if (getenv("CSIRT_TEST_DAEMON_WRAPPER") != NULL) {
		wrapper = util_strdup(getenv("CSIRT_TEST_DAEMON_WRAPPER"));
		for (tok = strtok_r(wrapper, " ", &save); tok != NULL && n < 16;
		     tok = strtok_r(NULL, " ", &save))
			argv[n++] = tok;
	}
	argv[n++] = CSIRTD_BIN;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--data";
	argv[n++] = data;
	for (; extra != NULL && *extra != NULL && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	/* Test set-up: a failure here fails the test, so these early
	 * returns may leak what they leave open. */
	if (pipe(pipefd) < 0) {
		free(wrapper);
		return -1;
	}
	logfd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	d->pid = logfd < 0 ? -1 : fork();
	if (d->pid < 0) {
		free(wrapper);
		return -1;
	}
	if (d->pid == 0) {
		dup2(pipefd[1], 1);
		dup2(logfd, 2);
		close(pipefd[0]);
		close(pipefd[1]);
		close(logfd);
		exec_argv(argv, wrapper != NULL);
	}
	free(wrapper);
	close(pipefd[1]);
	close(logfd);
	deadline = now_ms() + 30000;
	while (len < sizeof(line) - 1) {
		struct pollfd pfd = {pipefd[0], POLLIN, 0};
		int64_t left = deadline - now_ms();
		ssize_t r;
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		r = read(pipefd[0], line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		line[len] = '\0';
		char *p = strstr(line, "listening on http");
		if (p != NULL && strchr(p, '\n') != NULL) {
			p += strlen("listening on http");
			d->tls = *p == 's';
			if (d->tls)
				p++;
			if (strncmp(p, "://", 3) != 0)
				break;
			p += 3;
			size_t k = strcspn(p, "\r\n");
			snprintf(d->addr, sizeof(d->addr), "%.*s", (int)k, p);
			close(pipefd[0]);
			return 0;
		}
	}
	close(pipefd[0]);
	fprintf(stderr, "csirtd did not start; its log is %s\n", d->log_path);
	tu_daemon_stop(d, SIGKILL, 5000);
	return -1;
}

int
tu_daemon_stop(struct tu_daemon *d, int sig, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int status;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, sig);
	for (;;) {
		pid_t r = waitpid(d->pid, &status, WNOHANG);
		if (r == d->pid) {
			d->pid = 0;
			return status;
		}
		if (r < 0)
			return -1;
		if (now_ms() > deadline) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
			d->pid = 0;
			return -1;
		}
		usleep(10000);
	}
}

int
tu_run(struct buf *out, int *status, const char *const argv[])
{
	int pipefd[2];
	pid_t pid;
	char chunk[4096];

	if (pipe(pipefd) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(pipefd[1], 1);
		if (out == NULL)
			dup2(devnull, 1);
		close(pipefd[0]);
		close(pipefd[1]);
		exec_argv(argv, 1);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t r = read(pipefd[0], chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out != NULL)
			buf_put(out, chunk, (size_t)r);
	}
	close(pipefd[0]);
	if (waitpid(pid, status, 0) < 0)
		return -1;
	return 0;
}

int
tu_connect(const char *addr)
{
	struct sockaddr_in sin;
	char host[64];
	const char *colon = strrchr(addr, ':');
	int fd;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* MSG_NOSIGNAL: a server that answers early and closes (an error) must not
 * kill the test with SIGPIPE. */
int
tu_send_all(int fd, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

int
tu_http(const char *addr, const char *method, const char *path,
        const char *headers, const void *req_body, size_t req_len,
        struct buf *body)
{
	struct buf req = BUF_INIT, resp = BUF_INIT;
	char chunk[65536];
	int fd, code = -1;
	char *end;

	fd = tu_connect(addr);
	if (fd < 0)
		return -1;
	buf_printf(&req,
	           "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
	           "Content-Length: %zu\r\n%s\r\n",
	           method, path, addr, req_len, headers ? headers : "");
	/* A failed write is not the end: the server may have answered
	 * before reading the whole body (e.g. too large); read what it sent. */
	if (tu_send_all(fd, req.data, req.len) == 0 && req_len > 0)
		(void)tu_send_all(fd, req_body, req_len);
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		buf_put(&resp, chunk, (size_t)r);
	}
	if (resp.len < 12 || strncmp(resp.data, "HTTP/1.", 7) != 0)
		goto done;
	code = atoi(resp.data + 9);
	end = strstr(resp.data, "\r\n\r\n");
	if (body != NULL && end != NULL)
		buf_put(body, end + 4,
		        resp.len - (size_t)(end + 4 - resp.data));
done:
	close(fd);
	buf_free(&req);
	buf_free(&resp);
	return code;
}

void
tu_openssl(const char *dir, const char *const *args)
{
	const char *argv[48] = {
	    "sh", "-c", "cd \"$0\" && exec openssl \"$@\" 2>>openssl.log", dir};
	size_t n = 4;
	int status = -1;

	for (; *args != NULL && n < UTIL_ARRAY_LEN(argv) - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	ck_assert_int_eq(tu_run(NULL, &status, argv), 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "openssl %s failed; see %s/openssl.log", argv[4], dir);
}

int
tu_sh(struct buf *out, const char *fmt, ...)
{
	struct buf cmd = BUF_INIT;
	va_list ap;
	int status = -1;
	char s[8192];

	va_start(ap, fmt);
	ck_assert_int_lt(vsnprintf(s, sizeof(s), fmt, ap), (int)sizeof(s));
	va_end(ap);
	if (out != NULL)
		buf_reset(out);
	/* Never let git wait for a password on a terminal. */
	buf_printf(&cmd,
	           "( GIT_TERMINAL_PROMPT=0; export GIT_TERMINAL_PROMPT; %s ) "
	           "2>&1",
	           s);
	const char *argv[] = {"sh", "-c", cmd.data, NULL};
	ck_assert_int_eq(tu_run(out, &status, argv), 0);
	buf_free(&cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int
tu_memfind(const void *hay, size_t n, const void *needle, size_t m)
{
	const unsigned char *h = hay;

	if (m == 0 || m > n)
		return 0;
	for (size_t i = 0; i + m <= n; i++)
		if (h[i] == *(const unsigned char *)needle &&
		    memcmp(h + i, needle, m) == 0)
			return 1;
	return 0;
}

int
tu_file_contains(const char *path, const void *needle, size_t m)
{
	char *data = NULL;
	size_t len = 0;
	int found;

	if (util_read_file(&data, &len, path, (size_t)1 << 31) != 0)
		return 0;
	found = tu_memfind(data, len, needle, m);
	free(data);
	return found;
}
