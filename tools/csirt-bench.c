/*
 * csirt-bench - end-to-end load on csirtd over its real protocol.
 *
 * Opens N keep-alive connections and keeps one Twirp request (protobuf)
 * in flight on each, from one epoll thread, for a fixed time; prints
 * requests per second, latency percentiles and error counts per kind of
 * request.  It then runs the same requests, on the same number of
 * connections, against tools/evhttp-bare (a bare evhttp responder that
 * answers every request with a fixed body of the daemon's reply size)
 * and prints the daemon's throughput as a ratio of the bare one: what
 * our request path costs over libevent's HTTP alone.
 *
 * Workloads: report (所属長 files reports), note (the 情報セキュリティ管理者
 * adds 機密性低 notes; durable writes), get (GetCase by the reporter),
 * list (ListCases, 20 a page), mixed (per request: 70% get, 10% list,
 * 15% note, 5% report).
 *
 * The daemon is either started here on a fresh data directory
 * (--csirtd PATH: init, then run on 127.0.0.1 with a free port; removed
 * afterwards) or already running (--addr HOST:PORT --token ADMIN-TOKEN).
 * Either way the tool creates its own division, users and cases through
 * the DirectoryService, so it can run against any daemon an administrator
 * can reach.  Never point it at production: it writes to the ledger.
 *
 * Nothing here asserts timings: it prints figures.  Exit status 0 when the
 * run completed (errors are counted and printed), 1 when it could not
 * run, 2 on a usage error.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "csirt/v1/service.pb-c.h"
#include "util.h"

/* A fresh message of type csirt.v1.<t>. */
#define NEW(t) ((void *)codec_new(&csirt__v1__##t##__descriptor))

#define MAX_CONNECTIONS 4096
#define RESPONSE_MAX (8u * 1024 * 1024)
#define NOTE_TEXT_LEN 200

enum kind { K_REPORT, K_NOTE, K_GET, K_LIST, K_COUNT };

static const char *const kind_names[K_COUNT] = {"report", "note", "get",
                                                "list"};
static const char *const kind_paths[K_COUNT] = {
    "/twirp/csirt.v1.CaseService/ReportIncident",
    "/twirp/csirt.v1.CaseService/AddNote",
    "/twirp/csirt.v1.CaseService/GetCase",
    "/twirp/csirt.v1.CaseService/ListCases"};

/* Percent of requests of each kind per workload (sums to 100). */
static const struct workload {
	const char *name;
	int weight[K_COUNT];
} workloads[] = {
    {"report", {100, 0, 0, 0}}, {"note", {0, 100, 0, 0}},
    {"get", {0, 0, 100, 0}},    {"list", {0, 0, 0, 100}},
    {"mixed", {5, 15, 70, 10}},
};

struct opts {
	const char *csirtd;
	const char *bare;
	const char *addr;
	const char *token;
	const char *json;
	const struct workload *wl;
	int connections;
	double seconds;
	double warmup;
};

/* Latencies of one kind, in microseconds. */
struct samples {
	uint32_t *us;
	size_t n, cap;
	uint64_t errors;
};

struct stats {
	struct samples k[K_COUNT];
	uint64_t reconnects;
	uint64_t status[6]; /* by status / 100 */
	double elapsed;
};

/* One prepared request: the whole HTTP/1.1 message. */
struct reqtpl {
	struct buf bytes;
};

struct conn {
	int fd;
	struct reqtpl tpl[K_COUNT];
	enum kind kind;
	size_t sent;
	struct buf in;
	int64_t t0_us;
	uint64_t rng;
};

/* A spawned server: csirtd or evhttp-bare. */
struct child {
	pid_t pid;
	char addr[128];
};

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("csirt-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: csirt-bench (--csirtd PATH | --addr HOST:PORT --token "
	        "ADMIN-TOKEN)\n"
	        "                   [--workload report|note|get|list|mixed] "
	        "[--connections N]\n"
	        "                   [--seconds S] [--warmup S] [--bare PATH] "
	        "[--json FILE]\n"
	        "\n"
	        "  --csirtd PATH      start this csirtd on a fresh data "
	        "directory (removed after)\n"
	        "  --addr HOST:PORT   use a running daemon; needs "
	        "--token (an administrator's)\n"
	        "  --workload W       what to send (default mixed)\n"
	        "  --connections N    keep-alive connections (default 64)\n"
	        "  --seconds S        measured time (default 10)\n"
	        "  --warmup S         unmeasured time first (default 1)\n"
	        "  --bare PATH        tools/evhttp-bare: run the same load "
	        "against it and print the ratio\n"
	        "  --json FILE        also write the figures as JSON (- for "
	        "stdout)\n");
}

/* ---- the connection engine (one epoll loop, one request in flight per
 * connection) */

static int
addr_connect(const char *addr)
{
	char host[128], *colon;
	struct addrinfo hints = {0}, *ai = NULL;
	int fd = -1, one = 1;

	snprintf(host, sizeof(host), "%s", addr);
	colon = strrchr(host, ':');
	if (colon == NULL)
		return -1;
	*colon = '\0';
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Parses a complete response at the start of `in`: returns its length
 * (head and body) and the status, 0 while incomplete, -1 when it is not
 * HTTP or too large.  `*close_after` is set for "Connection: close". */
static long
response_parse(const struct buf *in, int *status, bool *close_after,
               size_t *body_off)
{
	const char *end, *p;
	size_t head, clen = 0;

	if (in->len < 12)
		return 0;
	end = memmem(in->data, in->len, "\r\n\r\n", 4);
	if (end == NULL)
		return in->len > 65536 ? -1 : 0;
	if (strncmp(in->data, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(in->data + 9);
	*close_after = false;
	head = (size_t)(end - in->data) + 4;
	for (p = strstr(in->data, "\r\n"); p != NULL && p < end;
	     p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			clen = strtoul(p + 17, NULL, 10);
		else if (strncasecmp(p + 2, "Connection: close", 17) == 0)
			*close_after = true;
	}
	if (clen > RESPONSE_MAX)
		return -1;
	*body_off = head;
	return in->len >= head + clen ? (long)(head + clen) : 0;
}

static void
tpl_build(struct reqtpl *t, const char *addr, const char *path,
          const char *token, const ProtobufCMessage *msg)
{
	struct buf body = BUF_INIT;

	if (codec_pack(&body, msg) != 0)
		die("cannot encode a request for %s", path);
	buf_reset(&t->bytes);
	buf_printf(&t->bytes,
	           "POST %s HTTP/1.1\r\nHost: %s\r\n"
	           "Authorization: Bearer %s\r\n"
	           "Content-Type: application/protobuf\r\n"
	           "Content-Length: %zu\r\n\r\n",
	           path, addr, token, body.len);
	buf_put(&t->bytes, body.data, body.len);
	buf_free(&body);
}

/* Setup: one blocking round trip on a fresh connection.  Returns the
 * status; the body (decoded into *resp on 200 when rdesc is given) or
 * the error text goes to `err`. */
static int
roundtrip(const char *addr, const struct reqtpl *t,
          const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **resp,
          struct buf *err)
{
	struct buf in = BUF_INIT;
	size_t off = 0, body_off = 0;
	int fd, status = -1;
	bool close_after;
	long n = 0;
	char chunk[16384];

	fd = addr_connect(addr);
	if (fd < 0)
		die("cannot connect to %s: %s", addr, strerror(errno));
	while (off < t->bytes.len) {
		ssize_t w = write(fd, t->bytes.data + off, t->bytes.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write to %s: %s", addr, strerror(errno));
		off += (size_t)w;
	}
	while ((n = response_parse(&in, &status, &close_after, &body_off)) ==
	       0) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("%s closed the connection", addr);
		buf_put(&in, chunk, (size_t)r);
	}
	close(fd);
	if (n < 0)
		die("%s: not an HTTP response", addr);
	if (status == 200 && rdesc != NULL &&
	    codec_unpack(resp, rdesc, in.data + body_off, (size_t)n - body_off,
	                 NULL) != 0)
		die("undecodable reply from %s", addr);
	if (err != NULL) {
		buf_reset(err);
		buf_put(err, in.data + body_off, (size_t)n - body_off);
	}
	buf_free(&in);
	return status;
}

static void
samples_add(struct samples *s, int64_t us)
{
	if (s->n == s->cap) {
		s->cap = s->cap != 0 ? s->cap * 2 : 4096;
		s->us = util_xrealloc(s->us, s->cap * sizeof(*s->us));
	}
	s->us[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static enum kind
conn_pick(struct conn *c, const struct workload *wl)
{
	int r, k;

	/* xorshift64: cheap, and each connection has its own sequence. */
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	r = (int)(c->rng % 100);
	for (k = 0; k < K_COUNT - 1; k++) {
		if (r < wl->weight[k])
			return (enum kind)k;
		r -= wl->weight[k];
	}
	return (enum kind)k;
}

static int
conn_open(struct conn *c, int ep, const char *addr)
{
	struct epoll_event ev = {0};

	c->fd = addr_connect(addr);
	if (c->fd < 0)
		return -1;
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void
conn_start(struct conn *c, const struct workload *wl)
{
	c->kind = conn_pick(c, wl);
	c->sent = 0;
	buf_reset(&c->in);
	c->t0_us = now_us();
}

/* Writes what is left of the current request.  0, or -1 on error. */
static int
conn_send(struct conn *c)
{
	const struct buf *b = &c->tpl[c->kind].bytes;

	while (c->sent < b->len) {
		ssize_t w = write(c->fd, b->data + c->sent, b->len - c->sent);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (w <= 0)
			return -1;
		c->sent += (size_t)w;
	}
	return 0;
}

/*
 * Runs the load for warmup + seconds on `nconn` connections to `addr`;
 * samples only what completes after the warm-up.  A connection the server
 * closes (or an error) is counted and reopened.
 */
static void
run_load(struct stats *st, const char *addr, struct conn *conns, int nconn,
         const struct workload *wl, double warmup, double seconds)
{
	struct epoll_event evs[256];
	int64_t start, measure_from, stop;
	int ep, i;
	char chunk[65536];

	memset(st, 0, sizeof(*st));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < nconn; i++) {
		if (conn_open(&conns[i], ep, addr) < 0)
			die("cannot connect to %s: %s", addr, strerror(errno));
		conn_start(&conns[i], wl);
	}
	start = now_us();
	measure_from = start + (int64_t)(warmup * 1e6);
	stop = measure_from + (int64_t)(seconds * 1e6);
	while (now_us() < stop) {
		int n = epoll_wait(ep, evs, 256, 100);

		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			bool reopen = false;

			if ((evs[i].events & EPOLLOUT) && conn_send(c) < 0)
				reopen = true;
			while (!reopen && (evs[i].events &
			                   (EPOLLIN | EPOLLHUP | EPOLLERR))) {
				ssize_t r = read(c->fd, chunk, sizeof(chunk));
				size_t body_off;
				int status = 0;
				bool close_after = false;
				long len;

				if (r < 0 &&
				    (errno == EAGAIN || errno == EINTR))
					break;
				if (r <= 0) {
					reopen = true;
					break;
				}
				buf_put(&c->in, chunk, (size_t)r);
				len = response_parse(&c->in, &status,
				                     &close_after, &body_off);
				if (len == 0)
					continue;
				int64_t t = now_us();
				if (c->t0_us >= measure_from && t < stop) {
					struct samples *s = &st->k[c->kind];
					samples_add(s, t - c->t0_us);
					if (len < 0 || status != 200)
						s->errors++;
					if (status >= 100 && status < 600)
						st->status[status / 100]++;
				}
				if (len < 0 || close_after) {
					reopen = true;
					break;
				}
				conn_start(c, wl);
				if (conn_send(c) < 0)
					reopen = true;
				break;
			}
			if (reopen) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				st->reconnects++;
				if (conn_open(c, ep, addr) < 0)
					die("cannot reconnect to %s: %s", addr,
					    strerror(errno));
				conn_start(c, wl);
			}
		}
	}
	st->elapsed = (double)(stop - measure_from) / 1e6;
	for (i = 0; i < nconn; i++) {
		close(conns[i].fd);
		conns[i].fd = -1;
	}
	close(ep);
}

/* ---- figures */

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct figures {
	uint64_t n, errors;
	double rps, p50, p95, p99, max; /* latencies in ms */
};

static double
pct(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i] / 1000.0;
}

static struct figures
figures_of(struct samples *s, double elapsed)
{
	struct figures f = {0};

	qsort(s->us, s->n, sizeof(*s->us), u32_cmp);
	f.n = s->n;
	f.errors = s->errors;
	f.rps = elapsed > 0 ? (double)s->n / elapsed : 0;
	f.p50 = pct(s->us, s->n, 0.50);
	f.p95 = pct(s->us, s->n, 0.95);
	f.p99 = pct(s->us, s->n, 0.99);
	f.max = s->n != 0 ? s->us[s->n - 1] / 1000.0 : 0;
	return f;
}

/* All kinds of a run merged into one set of samples. */
static struct figures
figures_total(struct stats *st)
{
	struct samples all = {0};
	struct figures f;
	int k;

	for (k = 0; k < K_COUNT; k++) {
		for (size_t i = 0; i < st->k[k].n; i++)
			samples_add(&all, st->k[k].us[i]);
		all.errors += st->k[k].errors;
	}
	f = figures_of(&all, st->elapsed);
	free(all.us);
	return f;
}

static void
figures_print(const char *label, const struct figures *f)
{
	printf("  %-8s %9.0f req/s  p50 %7.2f  p95 %7.2f  p99 %7.2f  max "
	       "%8.2f ms  %" PRIu64 " requests, %" PRIu64 " errors\n",
	       label, f->rps, f->p50, f->p95, f->p99, f->max, f->n, f->errors);
}

static void
figures_json(struct buf *out, const char *key, const struct figures *f)
{
	buf_printf(out,
	           "\"%s\":{\"requests\":%" PRIu64 ",\"errors\":%" PRIu64
	           ",\"rps\":%.1f,\"p50_ms\":%.3f,\"p95_ms\":%.3f,"
	           "\"p99_ms\":%.3f,\"max_ms\":%.3f}",
	           key, f->n, f->errors, f->rps, f->p50, f->p95, f->p99,
	           f->max);
}

/* ---- spawned servers */

/* Runs argv with stdout on a pipe (and stderr to `log`, or inherited),
 * waits up to 30 s for a line containing `marker` followed by an address,
 * and fills c->addr with it. */
static void
child_start(struct child *c, const char *const argv[], const char *log,
            const char *marker)
{
	char line[1024];
	size_t len = 0;
	int pipefd[2];
	int64_t deadline = now_us() + 30 * 1000000LL;

	if (pipe(pipefd) < 0)
		die("pipe: %s", strerror(errno));
	c->pid = fork();
	if (c->pid < 0)
		die("fork: %s", strerror(errno));
	if (c->pid == 0) {
		dup2(pipefd[1], 1);
		if (log != NULL) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
			if (fd >= 0)
				dup2(fd, 2);
		}
		close(pipefd[0]);
		close(pipefd[1]);
		char *args[16];
		size_t i;
		for (i = 0; argv[i] != NULL && i < 15; i++)
			args[i] = (char *)(uintptr_t)argv[i];
		args[i] = NULL;
		execv(args[0], args);
		fprintf(stderr, "csirt-bench: cannot run %s: %s\n", argv[0],
		        strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	while (len < sizeof(line) - 1) {
		struct pollfd pfd = {pipefd[0], POLLIN, 0};
		int64_t left = (deadline - now_us()) / 1000;
		ssize_t r;
		char *p;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		r = read(pipefd[0], line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		line[len] = '\0';
		p = strstr(line, marker);
		if (p != NULL && strchr(p, '\n') != NULL) {
			p += strlen(marker);
			snprintf(c->addr, sizeof(c->addr), "%.*s",
			         (int)strcspn(p, "\r\n"), p);
			close(pipefd[0]);
			return;
		}
	}
	close(pipefd[0]);
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	die("%s did not start%s%s", argv[0], log != NULL ? "; see " : "",
	    log != NULL ? log : "");
}

static void
child_stop(struct child *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGTERM);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}

/* `csirtd --data DATA init` (stderr to `log`); returns the administrator
 * token. */
static char *
csirtd_init(const char *csirtd, const char *data, const char *log)
{
	struct buf out = BUF_INIT;
	char chunk[4096], *p, *token;
	int pipefd[2], status;
	pid_t pid;
	ssize_t r;

	if (pipe(pipefd) < 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(pipefd[1], 1);
		if (fd >= 0)
			dup2(fd, 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(csirtd, csirtd, "--data", data, "init", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	while ((r = read(pipefd[0], chunk, sizeof(chunk))) > 0)
		buf_put(&out, chunk, (size_t)r);
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || out.data == NULL)
		die("%s init failed", csirtd);
	p = strstr(out.data, "administrator token: ");
	if (p == NULL)
		die("%s init printed no administrator token", csirtd);
	p += strlen("administrator token: ");
	token = util_xmalloc(strcspn(p, " \r\n") + 1);
	snprintf(token, strcspn(p, " \r\n") + 1, "%s", p);
	buf_free(&out);
	return token;
}

/* ---- setup through the API */

struct fixture {
	char division[32];
	char rep[96], sm[96];
	char **cases;
	int ncases;
};

static void
call_ok(const char *addr, const char *token, const char *path,
        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
        ProtobufCMessage **resp)
{
	struct reqtpl t = {BUF_INIT};
	struct buf err = BUF_INIT;
	int status;

	tpl_build(&t, addr, path, token, req);
	status = roundtrip(addr, &t, rdesc, resp, &err);
	if (status != 200)
		die("%s: HTTP %d: %.*s", path, status, (int)err.len,
		    err.data != NULL ? err.data : "");
	buf_free(&t.bytes);
	buf_free(&err);
}

static void
user_with_token(const char *addr, const char *admin, const char *login,
                Csirt__V1__Role role, const char *division, char *token,
                size_t size)
{
	Csirt__V1__CreateUserRequest *u = NEW(create_user_request);
	Csirt__V1__IssueTokenRequest *t = NEW(issue_token_request);
	Csirt__V1__IssueTokenResponse *tr = NULL;

	u->user = NEW(user);
	codec_set_string(&u->user->login, login);
	codec_set_string(&u->user->display_name, login);
	codec_set_string(&u->user->division, division);
	u->user->role = role;
	call_ok(addr, admin, "/twirp/csirt.v1.DirectoryService/CreateUser",
	        &u->base, NULL, NULL);
	codec_set_string(&t->login, login);
	codec_set_string(&t->description, "csirt-bench");
	call_ok(addr, admin, "/twirp/csirt.v1.DirectoryService/IssueToken",
	        &t->base, &csirt__v1__issue_token_response__descriptor,
	        (ProtobufCMessage **)&tr);
	snprintf(token, size, "%s", tr->token);
	codec_free(&u->base);
	codec_free(&t->base);
	codec_free(&tr->base);
}

/* A 機密性低 機器の紛失事案 report, recognised ten minutes ago. */
static Csirt__V1__ReportIncidentRequest *
report_new(void)
{
	Csirt__V1__ReportIncidentRequest *r = NEW(report_incident_request);
	Csirt__V1__Case *c = NEW(case);
	char at[UTIL_TIME_LEN];

	util_time_format_ms(at, sizeof(at),
	                    util_time_now_ms() - 10 * 60 * 1000);
	c->category = CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT;
	codec_set_string(&c->title, "ベンチマーク: 業務用端末の紛失");
	codec_set_string(&c->description,
	                 "負荷試験のための報告。出張先で業務用モバイルPCを"
	                 "紛失した。");
	codec_set_string(&c->recognized_at, at);
	c->classification = NEW(classification);
	c->classification->confidentiality =
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
	c->classification->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_LOW;
	c->classification->availability =
	    CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	r->case_ = c;
	return r;
}

static void
fixture_setup(struct fixture *fx, const char *addr, const char *admin,
              int ncases)
{
	Csirt__V1__CreateDivisionRequest *d = NEW(create_division_request);
	Csirt__V1__ReportIncidentRequest *r = report_new();
	char login[64];
	unsigned tag = (unsigned)getpid() ^ (unsigned)now_us();

	snprintf(fx->division, sizeof(fx->division), "bench%08x", tag);
	d->division = NEW(division);
	codec_set_string(&d->division->code, fx->division);
	codec_set_string(&d->division->name, "負荷試験課");
	call_ok(addr, admin, "/twirp/csirt.v1.DirectoryService/CreateDivision",
	        &d->base, NULL, NULL);
	snprintf(login, sizeof(login), "%s-rep", fx->division);
	user_with_token(addr, admin, login, CSIRT__V1__ROLE__ROLE_REPORTER,
	                fx->division, fx->rep, sizeof(fx->rep));
	snprintf(login, sizeof(login), "%s-sm", fx->division);
	user_with_token(addr, admin, login,
	                CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, "", fx->sm,
	                sizeof(fx->sm));
	fx->cases = util_xcalloc((size_t)ncases, sizeof(*fx->cases));
	fx->ncases = ncases;
	for (int i = 0; i < ncases; i++) {
		Csirt__V1__CaseResponse *cr = NULL;

		call_ok(addr, fx->rep, kind_paths[K_REPORT], &r->base,
		        &csirt__v1__case_response__descriptor,
		        (ProtobufCMessage **)&cr);
		fx->cases[i] = util_strdup(cr->case_->id);
		codec_free(&cr->base);
	}
	codec_free(&d->base);
	codec_free(&r->base);
}

/* Each connection works on its own case: GetCase and AddNote name it. */
static void
conns_prepare(struct conn *conns, int n, const struct fixture *fx,
              const char *addr)
{
	Csirt__V1__ReportIncidentRequest *r = report_new();
	Csirt__V1__AddNoteRequest *note = NEW(add_note_request);
	Csirt__V1__GetCaseRequest *get = NEW(get_case_request);
	Csirt__V1__ListCasesRequest *list = NEW(list_cases_request);
	char text[NOTE_TEXT_LEN + 1];

	memset(text, 'x', NOTE_TEXT_LEN);
	text[NOTE_TEXT_LEN] = '\0';
	memcpy(text, "負荷試験メモ ", strlen("負荷試験メモ "));
	codec_set_string(&note->text, text);
	note->classification = NEW(classification);
	note->classification->confidentiality =
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
	note->classification->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_LOW;
	note->classification->availability =
	    CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	list->page_size = 20;
	for (int i = 0; i < n; i++) {
		struct conn *c = &conns[i];
		const char *id = fx->cases[i % fx->ncases];

		c->fd = -1;
		c->rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		codec_set_string(&note->case_id, id);
		codec_set_string(&get->id, id);
		tpl_build(&c->tpl[K_REPORT], addr, kind_paths[K_REPORT],
		          fx->rep, &r->base);
		tpl_build(&c->tpl[K_NOTE], addr, kind_paths[K_NOTE], fx->sm,
		          &note->base);
		tpl_build(&c->tpl[K_GET], addr, kind_paths[K_GET], fx->rep,
		          &get->base);
		tpl_build(&c->tpl[K_LIST], addr, kind_paths[K_LIST], fx->rep,
		          &list->base);
	}
	codec_free(&r->base);
	codec_free(&note->base);
	codec_free(&get->base);
	codec_free(&list->base);
}

/* The size of a GetCase reply: what the bare responder answers with. */
static size_t
reply_size(const char *addr, const struct conn *c)
{
	struct buf body = BUF_INIT;
	size_t n;

	if (roundtrip(addr, &c->tpl[K_GET], NULL, NULL, &body) != 200)
		die("GetCase failed during setup");
	n = body.len;
	buf_free(&body);
	return n;
}

/* ---- main */

static void
parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
	    {"csirtd", required_argument, NULL, 'c'},
	    {"addr", required_argument, NULL, 'a'},
	    {"token", required_argument, NULL, 't'},
	    {"workload", required_argument, NULL, 'w'},
	    {"connections", required_argument, NULL, 'n'},
	    {"seconds", required_argument, NULL, 's'},
	    {"warmup", required_argument, NULL, 'W'},
	    {"bare", required_argument, NULL, 'b'},
	    {"json", required_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	char *end;
	int ch;

	memset(o, 0, sizeof(*o));
	o->wl = &workloads[4];
	o->connections = 64;
	o->seconds = 10;
	o->warmup = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->csirtd = optarg;
			break;
		case 'a':
			o->addr = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'w':
			o->wl = NULL;
			for (size_t i = 0;
			     i < sizeof(workloads) / sizeof(workloads[0]); i++)
				if (strcmp(optarg, workloads[i].name) == 0)
					o->wl = &workloads[i];
			if (o->wl == NULL) {
				fprintf(stderr,
				        "csirt-bench: unknown workload "
				        "\"%s\"\n",
				        optarg);
				exit(2);
			}
			break;
		case 'n':
			o->connections = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o->connections < 1 ||
			    o->connections > MAX_CONNECTIONS) {
				fprintf(stderr,
				        "csirt-bench: --connections must be "
				        "1..%d\n",
				        MAX_CONNECTIONS);
				exit(2);
			}
			break;
		case 's':
		case 'W': {
			double v = strtod(optarg, &end);
			if (*end != '\0' || !(v >= 0 && v <= 86400) ||
			    (ch == 's' && v == 0)) {
				fprintf(stderr,
				        "csirt-bench: --%s must be a number of "
				        "seconds\n",
				        ch == 's' ? "seconds" : "warmup");
				exit(2);
			}
			*(ch == 's' ? &o->seconds : &o->warmup) = v;
			break;
		}
		case 'b':
			o->bare = optarg;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || (o->csirtd == NULL) == (o->addr == NULL) ||
	    (o->addr != NULL && o->token == NULL)) {
		usage(stderr);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct child daemon = {0}, bare = {0};
	struct fixture fx = {0};
	struct stats st, bst;
	struct figures total, kf[K_COUNT], btotal = {0};
	struct conn *conns;
	struct buf json = BUF_INIT;
	char *dir = NULL, *data = NULL, *log = NULL, *admin = NULL;
	const char *addr;
	size_t reply_bytes;
	int k;

	parse_opts(&o, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (o.csirtd != NULL) {
		char tmpl[] = "/tmp/csirt-bench.XXXXXX";
		const char *argv_d[8];

		if (mkdtemp(tmpl) == NULL)
			die("mkdtemp: %s", strerror(errno));
		dir = util_strdup(tmpl);
		data = util_path_join(dir, "var");
		log = util_path_join(dir, "csirtd.log");
		admin = csirtd_init(o.csirtd, data, log);
		argv_d[0] = o.csirtd;
		argv_d[1] = "--listen";
		argv_d[2] = "127.0.0.1:0";
		argv_d[3] = "--data";
		argv_d[4] = data;
		argv_d[5] = "run";
		argv_d[6] = NULL;
		child_start(&daemon, argv_d, log, "listening on http://");
		addr = daemon.addr;
	} else {
		addr = o.addr;
		admin = util_strdup(o.token);
	}
	conns = util_xcalloc((size_t)o.connections, sizeof(*conns));
	fixture_setup(&fx, addr, admin,
	              o.connections < 256 ? o.connections : 256);
	conns_prepare(conns, o.connections, &fx, addr);
	reply_bytes = reply_size(addr, &conns[0]);

	printf("csirt-bench: workload %s, %d connections, %.0f s (+%.0f s "
	       "warm-up), csirtd at %s\n",
	       o.wl->name, o.connections, o.seconds, o.warmup, addr);
	run_load(&st, addr, conns, o.connections, o.wl, o.warmup, o.seconds);
	total = figures_total(&st);
	printf("csirtd:\n");
	figures_print("all", &total);
	for (k = 0; k < K_COUNT; k++) {
		kf[k] = figures_of(&st.k[k], st.elapsed);
		if (kf[k].n != 0)
			figures_print(kind_names[k], &kf[k]);
	}
	printf("  status 2xx %" PRIu64 ", 4xx %" PRIu64 ", 5xx %" PRIu64
	       ", reconnects %" PRIu64 "\n",
	       st.status[2], st.status[4], st.status[5], st.reconnects);

	if (o.bare != NULL) {
		char size[32];
		const char *argv_b[] = {o.bare, "--size", size, NULL};

		snprintf(size, sizeof(size), "%zu", reply_bytes);
		child_start(&bare, argv_b, NULL, "listening on http://");
		run_load(&bst, bare.addr, conns, o.connections, o.wl, o.warmup,
		         o.seconds);
		child_stop(&bare);
		btotal = figures_total(&bst);
		printf("bare evhttp responder (%zu-byte replies):\n",
		       reply_bytes);
		figures_print("all", &btotal);
		printf("ratio csirtd/bare: %.3f of the throughput, p99 %.1f× "
		       "the latency\n",
		       btotal.rps > 0 ? total.rps / btotal.rps : 0,
		       btotal.p99 > 0 ? total.p99 / btotal.p99 : 0);
		for (k = 0; k < K_COUNT; k++)
			free(bst.k[k].us);
	}

	if (o.json != NULL) {
		FILE *f =
		    strcmp(o.json, "-") == 0 ? stdout : fopen(o.json, "w");

		if (f == NULL)
			die("cannot write %s: %s", o.json, strerror(errno));
		buf_printf(&json,
		           "{\"workload\":\"%s\",\"connections\":%d,"
		           "\"seconds\":%.1f,",
		           o.wl->name, o.connections, st.elapsed);
		figures_json(&json, "all", &total);
		for (k = 0; k < K_COUNT; k++) {
			if (kf[k].n == 0)
				continue;
			buf_putc(&json, ',');
			figures_json(&json, kind_names[k], &kf[k]);
		}
		if (o.bare != NULL) {
			buf_putc(&json, ',');
			figures_json(&json, "bare", &btotal);
			buf_printf(&json, ",\"ratio\":%.4f",
			           btotal.rps > 0 ? total.rps / btotal.rps : 0);
		}
		buf_printf(&json, ",\"reconnects\":%" PRIu64 "}\n",
		           st.reconnects);
		fputs(json.data, f);
		if (f != stdout && fclose(f) != 0)
			die("cannot write %s", o.json);
	}

	child_stop(&daemon);
	if (dir != NULL) {
		char *cmd = util_xmalloc(strlen(dir) + 16);
		/* The directory is ours (mkdtemp) and its name has no
		 * shell metacharacters. */
		sprintf(cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "csirt-bench: could not remove %s\n",
			        dir);
		free(cmd);
	}
	for (k = 0; k < K_COUNT; k++)
		free(st.k[k].us);
	for (int i = 0; i < o.connections; i++) {
		buf_free(&conns[i].in);
		for (k = 0; k < K_COUNT; k++)
			buf_free(&conns[i].tpl[k].bytes);
	}
	for (int i = 0; i < fx.ncases; i++)
		free(fx.cases[i]);
	free(fx.cases);
	free(conns);
	buf_free(&json);
	free(dir);
	free(data);
	free(log);
	free(admin);
	return 0;
}
