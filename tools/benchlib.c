/*
 * benchlib.c - see benchlib.h.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

#define RESPONSE_MAX (8u * 1024 * 1024)

const char *bl_prog = "bench";

void
bl_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

int64_t
bl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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
 * (head and body), 0 while incomplete, -1 when it is not HTTP or too
 * large.  Sets the status, where the body starts, and whether the server
 * said "Connection: close". */
static long
response_parse(const struct buf *in, int *status, size_t *body_off,
               bool *close_after)
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

void
bl_request(struct buf *out, const char *addr, const char *path,
           const char *token, const ProtobufCMessage *msg)
{
	struct buf body = BUF_INIT;

	if (codec_pack(&body, msg) != 0)
		bl_die("cannot encode a request for %s", path);
	buf_printf(out,
	           "POST %s HTTP/1.1\r\nHost: %s\r\n"
	           "Authorization: Bearer %s\r\n"
	           "Content-Type: application/protobuf\r\n"
	           "Content-Length: %zu\r\n\r\n",
	           path, addr, token, body.len);
	buf_put(out, body.data, body.len);
	buf_free(&body);
}

int
bl_roundtrip(const char *addr, const struct buf *request,
             const ProtobufCMessageDescriptor *rdesc, ProtobufCMessage **resp,
             struct buf *body)
{
	struct buf in = BUF_INIT;
	size_t off = 0, body_off = 0;
	int fd, status = -1;
	bool close_after;
	long n;
	char chunk[16384];

	fd = addr_connect(addr);
	if (fd < 0)
		bl_die("cannot connect to %s: %s", addr, strerror(errno));
	while (off < request->len) {
		ssize_t w = write(fd, request->data + off, request->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			bl_die("write to %s: %s", addr, strerror(errno));
		off += (size_t)w;
	}
	while ((n = response_parse(&in, &status, &body_off, &close_after)) ==
	       0) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			bl_die("%s closed the connection", addr);
		buf_put(&in, chunk, (size_t)r);
	}
	close(fd);
	if (n < 0)
		bl_die("%s: not an HTTP response", addr);
	if (status == 200 && rdesc != NULL &&
	    codec_unpack(resp, rdesc, in.data + body_off, (size_t)n - body_off,
	                 NULL) != 0)
		bl_die("undecodable reply from %s", addr);
	if (body != NULL) {
		buf_reset(body);
		buf_put(body, in.data + body_off, (size_t)n - body_off);
	}
	buf_free(&in);
	return status;
}

void
bl_call(const char *addr, const char *token, const char *path,
        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *rdesc,
        ProtobufCMessage **resp)
{
	struct buf request = BUF_INIT, body = BUF_INIT;
	int status;

	bl_request(&request, addr, path, token, req);
	status = bl_roundtrip(addr, &request, rdesc, resp, &body);
	if (status != 200)
		bl_die("%s: HTTP %d: %.*s", path, status, (int)body.len,
		       body.data != NULL ? body.data : "");
	buf_free(&request);
	buf_free(&body);
}

/* ---- spawned servers */

static void
redirect_stderr(const char *log)
{
	int fd;

	if (log == NULL)
		return;
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0)
		dup2(fd, 2);
}

void
bl_child_start(struct bl_child *c, const char *const argv[], const char *log)
{
	static const char marker[] = "listening on http://";
	char line[1024];
	size_t len = 0;
	int pipefd[2];
	int64_t deadline = bl_now_us() + 120 * 1000000LL;

	if (pipe(pipefd) < 0)
		bl_die("pipe: %s", strerror(errno));
	c->pid = fork();
	if (c->pid < 0)
		bl_die("fork: %s", strerror(errno));
	if (c->pid == 0) {
		char *args[16];
		size_t i;

		dup2(pipefd[1], 1);
		redirect_stderr(log);
		close(pipefd[0]);
		close(pipefd[1]);
		for (i = 0; argv[i] != NULL && i < 15; i++)
			args[i] = (char *)(uintptr_t)argv[i];
		args[i] = NULL;
		execv(args[0], args);
		fprintf(stderr, "%s: cannot run %s: %s\n", bl_prog, argv[0],
		        strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	while (len < sizeof(line) - 1) {
		struct pollfd pfd = {pipefd[0], POLLIN, 0};
		int64_t left = (deadline - bl_now_us()) / 1000;
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
	bl_die("%s did not start%s%s", argv[0], log != NULL ? "; see " : "",
	       log != NULL ? log : "");
}

void
bl_child_stop(struct bl_child *c, int sig)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, sig);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}

char *
bl_csirtd_init(const char *csirtd, const char *data, const char *log)
{
	struct buf out = BUF_INIT;
	char chunk[4096], *p, *token;
	int pipefd[2], status;
	size_t n;
	pid_t pid;
	ssize_t r;

	if (pipe(pipefd) < 0)
		bl_die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		bl_die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(pipefd[1], 1);
		redirect_stderr(log);
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
		bl_die("%s init failed%s%s", csirtd,
		       log != NULL ? "; see " : "", log != NULL ? log : "");
	p = strstr(out.data, "administrator token: ");
	if (p == NULL)
		bl_die("%s init printed no administrator token", csirtd);
	p += strlen("administrator token: ");
	n = strcspn(p, " \r\n");
	token = util_xmalloc(n + 1);
	memcpy(token, p, n);
	token[n] = '\0';
	buf_free(&out);
	return token;
}

void
bl_csirtd_start(struct bl_child *c, const char *csirtd, const char *data,
                const char *log)
{
	const char *argv[] = {csirtd, "--listen", "127.0.0.1:0", "--data",
	                      data,   "run",      NULL};

	bl_child_start(c, argv, log);
}

/* ---- setup through the API */

static void
user_with_token(const char *addr, const char *admin, const char *login,
                Csirt__V1__Role role, const char *division, char *token,
                size_t size)
{
	Csirt__V1__CreateUserRequest *u = BL_NEW(create_user_request);
	Csirt__V1__IssueTokenRequest *t = BL_NEW(issue_token_request);
	Csirt__V1__IssueTokenResponse *tr = NULL;

	u->user = BL_NEW(user);
	codec_set_string(&u->user->login, login);
	codec_set_string(&u->user->display_name, login);
	codec_set_string(&u->user->division, division);
	u->user->role = role;
	bl_call(addr, admin, BL_DIR("CreateUser"), &u->base, NULL, NULL);
	codec_set_string(&t->login, login);
	codec_set_string(&t->description, bl_prog);
	bl_call(addr, admin, BL_DIR("IssueToken"), &t->base,
	        &csirt__v1__issue_token_response__descriptor,
	        (ProtobufCMessage **)&tr);
	snprintf(token, size, "%s", tr->token);
	codec_free(&u->base);
	codec_free(&t->base);
	codec_free(&tr->base);
}

static Csirt__V1__Classification *
classification_low(void)
{
	Csirt__V1__Classification *c = BL_NEW(classification);

	c->confidentiality = CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
	c->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_LOW;
	c->availability = CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	return c;
}

Csirt__V1__ReportIncidentRequest *
bl_report_new(const char *title)
{
	Csirt__V1__ReportIncidentRequest *r = BL_NEW(report_incident_request);
	Csirt__V1__Case *c = BL_NEW(case);
	char at[UTIL_TIME_LEN];

	util_time_format_ms(at, sizeof(at),
	                    util_time_now_ms() - 10 * 60 * 1000);
	c->category = CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT;
	codec_set_string(&c->title, title);
	codec_set_string(&c->description,
	                 "負荷試験のための報告。出張先で業務用モバイルPCを"
	                 "紛失した。");
	codec_set_string(&c->recognized_at, at);
	c->classification = classification_low();
	r->case_ = c;
	return r;
}

char *
bl_report(const struct bl_fixture *fx, const char *addr, const char *title)
{
	Csirt__V1__ReportIncidentRequest *r = bl_report_new(title);
	Csirt__V1__CaseResponse *cr = NULL;
	char *id;

	bl_call(addr, fx->rep, BL_CASE("ReportIncident"), &r->base,
	        &csirt__v1__case_response__descriptor,
	        (ProtobufCMessage **)&cr);
	id = util_strdup(cr->case_->id);
	codec_free(&cr->base);
	codec_free(&r->base);
	return id;
}

Csirt__V1__AddNoteRequest *
bl_note_new(const char *case_id, const char *text)
{
	Csirt__V1__AddNoteRequest *n = BL_NEW(add_note_request);

	codec_set_string(&n->case_id, case_id);
	codec_set_string(&n->text, text);
	n->classification = classification_low();
	return n;
}

void
bl_fixture_setup(struct bl_fixture *fx, const char *addr, const char *admin)
{
	Csirt__V1__CreateDivisionRequest *d = BL_NEW(create_division_request);
	char login[64];
	unsigned tag = (unsigned)getpid() ^ (unsigned)bl_now_us();

	snprintf(fx->division, sizeof(fx->division), "bench%08x", tag);
	d->division = BL_NEW(division);
	codec_set_string(&d->division->code, fx->division);
	codec_set_string(&d->division->name, "負荷試験課");
	bl_call(addr, admin, BL_DIR("CreateDivision"), &d->base, NULL, NULL);
	snprintf(login, sizeof(login), "%s-rep", fx->division);
	user_with_token(addr, admin, login, CSIRT__V1__ROLE__ROLE_REPORTER,
	                fx->division, fx->rep, sizeof(fx->rep));
	snprintf(login, sizeof(login), "%s-sm", fx->division);
	user_with_token(addr, admin, login,
	                CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, "", fx->sm,
	                sizeof(fx->sm));
	codec_free(&d->base);
}

/* ---- the load loop */

static void
conn_open(struct bl_load *l, struct bl_conn *c, int ep)
{
	struct epoll_event ev = {0};

	c->fd = addr_connect(l->addr);
	if (c->fd < 0)
		bl_die("cannot connect to %s: %s", l->addr, strerror(errno));
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	/* Input only: EPOLLOUT is ready whenever the socket has room, which
	 * is always, so asking for it made epoll_wait return at once and
	 * this loop spin a whole core (half the samples of a note run on 2
	 * cores were the client's epoll).  A request is written when it is
	 * due; EPOLLOUT is asked for only while one does not fit
	 * (conn_send). */
	ev.events = EPOLLIN | EPOLLRDHUP;
	c->want_out = false;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		bl_die("epoll_ctl: %s", strerror(errno));
}

static void
conn_next(struct bl_load *l, struct bl_conn *c)
{
	l->next(c, l->arg);
	c->sent = 0;
	buf_reset(&c->in);
	c->t0_us = bl_now_us();
}

/* Writes what is left of the request, and asks for EPOLLOUT while some
 * is left (or no longer): 0, or -1 on error. */
static int
conn_send(struct bl_conn *c, int ep)
{
	bool left = false;

	while (c->sent < c->req->len) {
		ssize_t w =
		    write(c->fd, c->req->data + c->sent, c->req->len - c->sent);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			left = true;
			break;
		}
		if (w <= 0)
			return -1;
		c->sent += (size_t)w;
	}
	if (left != c->want_out) {
		struct epoll_event ev = {0};

		ev.events = EPOLLIN | EPOLLRDHUP | (left ? EPOLLOUT : 0);
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			return -1;
		c->want_out = left;
	}
	return 0;
}

/* Reads what is there; returns 1 when the connection must be reopened. */
static int
conn_read(struct bl_load *l, struct bl_conn *c, int ep)
{
	char chunk[65536];

	for (;;) {
		ssize_t r = read(c->fd, chunk, sizeof(chunk));
		size_t body_off = 0;
		int status = 0;
		bool close_after = false;
		long len;

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (r <= 0)
			return 1;
		buf_put(&c->in, chunk, (size_t)r);
		len = response_parse(&c->in, &status, &body_off, &close_after);
		if (len == 0)
			continue;
		if (len < 0) {
			l->done(c, -1, NULL, 0, bl_now_us(), l->arg);
			c->req = NULL;
			return 1;
		}
		l->done(c, status, c->in.data + body_off,
		        (size_t)len - body_off, bl_now_us(), l->arg);
		if (close_after) {
			c->req = NULL;
			return 1;
		}
		conn_next(l, c);
		/* Level-triggered: whatever follows raises EPOLLIN again. */
		return conn_send(c, ep) < 0;
	}
}

void
bl_load_run(struct bl_load *l, int64_t until_us)
{
	struct epoll_event evs[256];
	int ep, i;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		bl_die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < l->nconn; i++) {
		l->conns[i].index = i;
		conn_open(l, &l->conns[i], ep);
		conn_next(l, &l->conns[i]);
		if (conn_send(&l->conns[i], ep) < 0)
			bl_die("cannot send to %s: %s", l->addr,
			       strerror(errno));
	}
	while (bl_now_us() < until_us) {
		int64_t now = bl_now_us(), left = (until_us - now) / 1000;
		int n;

		if (l->tick != NULL && l->tick_at != 0 && now >= l->tick_at) {
			l->tick(l, now);
			continue;
		}
		if (l->tick != NULL && l->tick_at != 0 &&
		    (l->tick_at - now) / 1000 < left)
			left = (l->tick_at - now) / 1000 + 1;
		n = epoll_wait(ep, evs, 256, left > 100 ? 100 : (int)left);

		if (n < 0 && errno != EINTR)
			bl_die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			struct bl_conn *c = evs[i].data.ptr;
			int reopen = 0;

			if ((evs[i].events & EPOLLOUT) && conn_send(c, ep) < 0)
				reopen = 1;
			if (!reopen && (evs[i].events & (EPOLLIN | EPOLLRDHUP |
			                                 EPOLLHUP | EPOLLERR)))
				reopen = conn_read(l, c, ep);
			if (reopen) {
				if (c->req != NULL && c->sent != 0 &&
				    l->lost != NULL)
					l->lost(c, l->arg);
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				l->reconnects++;
				conn_open(l, c, ep);
				conn_next(l, c);
				if (conn_send(c, ep) < 0)
					bl_die("cannot send to %s: %s", l->addr,
					       strerror(errno));
			}
		}
	}
	for (i = 0; i < l->nconn; i++) {
		close(l->conns[i].fd);
		l->conns[i].fd = -1;
	}
	close(ep);
}

void
bl_rmrf(const char *dir)
{
	struct buf cmd = BUF_INIT;

	/* The directory is ours (mkdtemp): no shell metacharacters. */
	buf_printf(&cmd, "rm -rf '%s'", dir);
	if (system(cmd.data) != 0)
		fprintf(stderr, "%s: could not remove %s\n", bl_prog, dir);
	buf_free(&cmd);
}
