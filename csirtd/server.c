/*
 * server.c - the libevent loop, signals and the HTTP/1.1 front.
 *
 * This is the only module that includes libevent.  Connections are
 * bufferevents from an evconnlistener; the bytes are framed by the pure
 * parser in http.c.  Callbacks here stay thin: parse, enforce limits,
 * route, reply.  It never does disk I/O for writes; that belongs to the
 * ledger writer thread.
 *
 * One connection serves one request at a time: while a request is out
 * (at the writer, or parked by WatchEvents) the bytes of pipelined requests
 * behind it wait in the input buffer, capped by the read high-water mark,
 * so replies always go out in request order.  A connection is `struct
 * conn`; its current request is embedded in it.  The connection has one
 * teardown path, conn_close() (the socket) then conn_release() (the
 * memory): the memory outlives the socket while a request is out, so a
 * reply that arrives after the client went away finds its request, is
 * logged and dropped.
 *
 * Limits: the request line (HTTP_MAX_LINE), the header block
 * (max_header_bytes), header fields (HTTP_MAX_HEADERS), the body
 * (max_body_bytes, refused on the declared length, before any byte of it
 * is read), connections (max_connections: one over gets a Twirp
 * resource_exhausted and is closed), and time: a connection idle, or a
 * request still incomplete, after idle_timeout_s is closed.  Every error
 * this layer sends itself is a Twirp JSON error and closes the connection
 * once it is written (the stream cannot be trusted to resync); a plain-HTTP
 * close half-closes first and discards what the client still sends, so
 * the client reads the error instead of a reset.
 *
 * TLS: with a crypto_tls context every accepted connection is wrapped in an
 * OpenSSL bufferevent, and there is no plain-HTTP fallback on the same
 * port.  The SSL objects come from crypto.c, so this file includes no
 * OpenSSL header.
 *
 * The ledger over dumb HTTP (GET/HEAD /ledger.git/<path>): static files of
 * the bare repository, for `git clone` by auditors.  It must never serve a
 * byte outside that repository: the percent-decoded path must match an
 * allow-list of the shapes git's dumb walker asks for (never "..", "//" or
 * a NUL), and every component is opened with O_NOFOLLOW below a directory
 * descriptor of the repository, so a planted symlink is refused.  Who may
 * read is decided by ops.ledger_auth, before the path is looked at.
 *
 * Shutdown: SIGINT or SIGTERM stops accepting, answers parked requests
 * (ops.stop), closes idle connections, lets the others finish the request
 * they are on (then closes them), and leaves the loop when none is left,
 * or after 10 s.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "crypto.h"
#include "error.h"
#include "http.h"
#include "ledger.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "web.h"

/* Work posted from other threads (the ledger writer) to the loop. */
struct post {
	void (*fn)(void *arg);
	void *arg;
	struct post *next;
};

struct conn;

struct server {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *sigint, *sigterm, *sighup;
	struct event *post_ev;  /* activated by server_post() */
	struct event *timer_ev; /* ops.timer; armed by server_timer_set() */
	pthread_mutex_t post_mu;
	struct post *posts, *posts_tail;
	struct server_ops ops;
	struct crypto_tls *tls; /* borrowed from ops; NULL for plain HTTP */
	char address[128];
	int stopping;
	uint64_t next_req;
	size_t inflight; /* requests accepted and not yet answered */
	int ledger_fd;   /* ops.ledger_dir, O_DIRECTORY; -1 if not served */
	/* Limits (server_set_limits()). */
	struct http_limits lim;
	uint64_t idle_timeout_s;
	uint64_t max_connections;
	/* Connections with a socket (refused ones too), newest first. */
	struct conn *conns;
	size_t nconns;          /* served connections with a socket */
	uint64_t refused_total; /* turned away at max_connections */
	/* A flood over the cap is logged once a second, with a count, not
	 * once per connection. */
	int64_t refused_logged_ms;
	uint64_t refused_unlogged;
};

/* One request on its way through the RPC layer, embedded in its
 * connection (one request at a time). */
struct server_req {
	struct conn *c;
	char path[HTTP_MAX_PATH];
	char id[20];
	char rpc_method[96];
	char actor[80];
	const char *peer; /* c->peer, or NULL */
	struct timespec start;
};

enum conn_state {
	CONN_HEAD,    /* reading a request head */
	CONN_BODY,    /* reading its body */
	CONN_BUSY,    /* the request is being answered */
	CONN_CLOSING, /* writing the last reply, then closing */
	CONN_LINGER,  /* half-closed: discarding input until EOF or timeout */
};

struct conn {
	struct server *srv;
	struct bufferevent *bev; /* NULL once closed */
	struct conn *prev, *next;
	enum conn_state state;
	bool counted;     /* in srv->nconns */
	bool close_after; /* close once the current request is answered */
	bool read_eof;
	bool processing; /* inside conn_process(): replies do not recurse */
	bool out_full;   /* pipelined requests wait for the answers to drain */
	bool req_out;    /* sr is with a handler (counted in inflight) */
	bool started;    /* bytes of the next request have arrived */
	bool peer_done;
	struct timespec req_first; /* when they did */
	struct buf head, body;
	struct http_request hreq;
	struct http_chunked chunk; /* with hreq.chunked */
	struct server_req sr;
	char peer[CRYPTO_TLS_NAME_MAX];
};

static void conn_process(struct conn *c);

static double
elapsed_s(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* Frees the memory once nothing refers to it: the socket is closed, no
 * handler holds the request, and conn_process() is not on the stack. */
static void
conn_release(struct conn *c)
{
	if (c->bev != NULL || c->req_out || c->processing)
		return;
	buf_free(&c->head);
	buf_free(&c->body);
	free(c);
}

static void
server_check_exit(struct server *srv)
{
	/* Stopping: leave once every connection is gone and every reply
	 * is out (an orphaned request still counts in inflight). */
	if (srv->stopping && srv->conns == NULL && srv->inflight == 0)
		event_base_loopexit(srv->base, NULL);
}

/* The one way a connection's socket goes away. */
static void
conn_close(struct conn *c)
{
	struct server *srv = c->srv;

	if (c->bev == NULL)
		return;
	bufferevent_free(c->bev); /* closes the socket (and the SSL) */
	c->bev = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (c->counted)
		srv->nconns--;
	c->counted = false;
	server_check_exit(srv);
	conn_release(c);
}

/* The reply is queued: close now if it is the last one and already
 * written, or when the output drains (write_cb). */
static void
conn_closing(struct conn *c)
{
	c->state = CONN_CLOSING;
	if (c->bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_close(c);
}

/* The Connection header this answer needs, with its CRLF, or "". */
static const char *
conn_header(const struct conn *c)
{
	if (c->close_after || c->srv->stopping || c->state == CONN_CLOSING)
		return "Connection: close\r\n";
	if (c->hreq.minor == 0)
		return "Connection: keep-alive\r\n";
	return "";
}

/* The status line and headers, `len` being the body length that follows
 * (or would, for HEAD), into `dst` as snprintf() does: their length, which
 * is `cap` or more when they did not fit (then formatted again into room
 * of that length + 1), or -1 on an error. */
static int
conn_head_format(const struct conn *c, char *dst, size_t cap, int status,
                 const char *content_type, size_t len, const char *extra)
{
	return snprintf(dst, cap,
	                "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	                "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	                "X-Content-Type-Options: nosniff\r\n%s%s\r\n",
	                status, http_reason(status), content_type, len,
	                conn_header(c), extra != NULL ? extra : "");
}

/* Whether the current request is HEAD (no body in the reply). */
static bool
conn_is_head(const struct conn *c)
{
	return c->hreq.method != NULL && strcmp(c->hreq.method, "HEAD") == 0;
}

/*
 * A keep-alive answer over plain TCP with nothing queued ahead of it goes
 * to the socket at once, in one sendmsg; what the socket does not take is
 * queued as before.  Through the bufferevent, each answer armed EPOLLOUT,
 * was written in the loop's next turn and disarmed it: two epoll_ctl and
 * a callback an answer, and the batch's clients got their answers only
 * after the loop had made all of them.  A connection that closes after
 * its answer keeps the bufferevent's path (its write callback half-closes
 * and lingers).  Returns the bytes sent (0 when nothing could be).
 */
static size_t
conn_send_now(struct conn *c, const char *head, size_t hlen, const void *body,
              size_t blen)
{
	struct iovec iov[2] = {{(void *)(uintptr_t)head, hlen},
	                       {(void *)(uintptr_t)body, blen}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = blen > 0 ? 2 : 1};
	ssize_t n;

	if (c->srv->tls != NULL || c->close_after || c->srv->stopping ||
	    c->state == CONN_CLOSING ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		return 0;
	do
		n = sendmsg(bufferevent_getfd(c->bev), &msg,
		            MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	/* An error (a reset, say) is the bufferevent's to find on its own
	 * write of the whole answer. */
	return n > 0 ? (size_t)n : 0;
}

/* Queues a status line and headers; `len` is the body length that
 * follows (or would, for HEAD). */
static void
conn_write_head(struct conn *c, int status, const char *content_type,
                size_t len, const char *extra)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char head[1024], *big;
	int n = conn_head_format(c, head, sizeof(head), status, content_type,
	                         len, extra);

	if (n < 0)
		return;
	if ((size_t)n < sizeof(head)) {
		evbuffer_add(out, head, (size_t)n);
		return;
	}
	/* A long `extra`: formatted again into room for all of it. */
	big = util_xmalloc((size_t)n + 1);
	n = conn_head_format(c, big, (size_t)n + 1, status, content_type, len,
	                     extra);
	if (n >= 0)
		evbuffer_add(out, big, (size_t)n);
	free(big);
}

static void
conn_write(struct conn *c, int status, const char *content_type,
           const void *body, size_t len, const char *extra)
{
	size_t blen = len > 0 && !conn_is_head(c) ? len : 0, sent;
	char head[1024];
	int hlen;

	if (c->bev == NULL)
		return;
	hlen = conn_head_format(c, head, sizeof(head), status, content_type,
	                        len, extra);
	if (hlen < 0 || (size_t)hlen >= sizeof(head)) { /* a long `extra` */
		conn_write_head(c, status, content_type, len, extra);
		if (blen > 0)
			evbuffer_add(bufferevent_get_output(c->bev), body,
			             blen);
		return;
	}
	sent = conn_send_now(c, head, (size_t)hlen, body, blen);
	if (sent < (size_t)hlen) {
		evbuffer_add(bufferevent_get_output(c->bev), head + sent,
		             (size_t)hlen - sent);
		sent = 0;
	} else {
		sent -= (size_t)hlen;
	}
	if (sent < blen)
		evbuffer_add(bufferevent_get_output(c->bev),
		             (const char *)body + sent, blen - sent);
}

/* The current request is answered: close, or go on with the next one. */
static void
conn_done(struct conn *c)
{
	c->started = false;
	buf_reset(&c->body);
	if (c->bev == NULL) {
		conn_release(c);
		return;
	}
	if (c->close_after || c->srv->stopping) {
		conn_closing(c);
		return;
	}
	c->state = CONN_HEAD;
	if (!c->processing)
		conn_process(c); /* pipelined requests waiting behind it */
}

/* An error of the HTTP layer itself: a Twirp JSON error, then close. */
/* Answers `err` and closes, without logging it. */
static void
conn_fail_quiet(struct conn *c, const struct http_error *err)
{
	struct buf b = BUF_INIT;
	char max[24];
	int status;

	c->hreq.method = NULL; /* no HEAD: the error has a body */
	snprintf(max, sizeof(max), "%" PRIu64, err->max);
	status = http_twirp_error(&b, err->code, err->msg, err->limit,
	                          err->limit != NULL ? max : NULL);
	c->close_after = true;
	c->state = CONN_CLOSING;
	conn_write(c, status, "application/json", b.data, b.len, NULL);
	buf_free(&b);
	conn_closing(c);
}

static void
conn_fail(struct conn *c, const struct http_error *err)
{
	log_warn("refused request", "error", err->msg, "status", err->code);
	conn_fail_quiet(c, err);
}

/* Answers a request that is not an RPC (healthz, metrics, routing
 * errors): writes, then conn_done(). */
static void
conn_reply(struct conn *c, int status, const char *content_type,
           const void *body, size_t len)
{
	conn_write(c, status, content_type, body, len, NULL);
	conn_done(c);
}

static void
conn_reply_error(struct conn *c, const char *code, const char *msg)
{
	struct buf b = BUF_INIT;
	int status = http_twirp_error(&b, code, msg, NULL, NULL);

	conn_reply(c, status, "application/json", b.data, b.len);
	buf_free(&b);
}

static void
metrics_serve(struct conn *c)
{
	struct server *srv = c->srv;
	struct buf b = BUF_INIT;

	if (srv->ops.metrics != NULL)
		srv->ops.metrics(srv->ops.metrics_arg, &b);
	buf_printf(&b,
	           "# HELP csirt_http_inflight Requests accepted and not yet "
	           "answered.\n# TYPE csirt_http_inflight gauge\n"
	           "csirt_http_inflight %zu\n"
	           "# HELP csirt_http_connections_open Open client "
	           "connections.\n# TYPE csirt_http_connections_open gauge\n"
	           "csirt_http_connections_open %zu\n"
	           "# HELP csirt_http_connections_refused_total Connections "
	           "refused at max_connections.\n"
	           "# TYPE csirt_http_connections_refused_total counter\n"
	           "csirt_http_connections_refused_total %" PRIu64 "\n",
	           srv->inflight, srv->nconns, srv->refused_total);
	conn_reply(c, 200, "text/plain; version=0.0.4", b.data, b.len);
	buf_free(&b);
}

static void
healthz_serve(struct conn *c)
{
	struct server *srv = c->srv;
	char body[256];
	uint64_t seq = 0;
	int n;

	if (srv->ops.ledger_seq != NULL)
		seq = srv->ops.ledger_seq(srv->ops.arg);
	n = snprintf(
	    body, sizeof(body),
	    "{\"status\":\"ok\",\"version\":\"%s\",\"ledger_seq\":\"%" PRIu64
	    "\"}",
	    CSIRT_VERSION, seq);
	conn_reply(c, 200, "application/json", body, (size_t)n);
}

static void
sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)sig;
	(void)what;
	log_info("reloading", "signal", "SIGHUP");
	if (srv->ops.reload != NULL)
		srv->ops.reload(srv->ops.reload_arg);
}

static void
conn_set_timeouts(struct conn *c)
{
	struct timeval tv = {(time_t)c->srv->idle_timeout_s, 0};

	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

/* Answers queued for one connection past which its pipelined requests
 * wait for them to drain: otherwise a client that sends requests and
 * never reads grows the daemon's memory without bound. */
#define CONN_OUT_MAX ((size_t)1 << 20)

/* The read high-water mark: a head that fills it cannot be valid
 * (http_head_end() refuses it), and pipelined requests behind a busy one
 * stop being read there. */
static size_t
read_cap(const struct server *srv)
{
	return HTTP_MAX_LINE + srv->lim.max_header_bytes + 3;
}

void
server_set_limits(struct server *srv, const struct config *cfg)
{
	srv->lim.max_body_bytes = (size_t)cfg->max_body_bytes;
	srv->lim.max_header_bytes = (size_t)cfg->max_header_bytes;
	srv->idle_timeout_s = cfg->idle_timeout_s;
	srv->max_connections = cfg->max_connections;
	/* Open connections take the new limits too. */
	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		if (c->state == CONN_CLOSING || c->state == CONN_LINGER)
			continue;
		conn_set_timeouts(c);
		bufferevent_setwatermark(c->bev, EV_READ, 0, read_cap(srv));
	}
}

/* Records the name in the client's certificate, once per connection.
 * The handshake already verified it (mTLS requires a certificate), so a
 * failure here is a certificate that names nobody. */
static void
conn_tls_peer(struct conn *c)
{
	if (c->peer_done)
		return;
	c->peer_done = true;
	if (crypto_tls_peer_name(bufferevent_openssl_get_ssl(c->bev), c->peer,
	                         sizeof(c->peer)) != 0) {
		c->peer[0] = '\0';
		log_warn("no usable client certificate name", "id", c->sr.id,
		         "error", csirt_error_msg());
	}
}

/* ---- the ledger over dumb HTTP ------------------------------------ */

#define GITWEB_PREFIX "/ledger.git/"

static bool
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The allow-list: the paths below ledger.git that git's dumb walker asks
 * for.  Returns their content type, or NULL for everything else (404). */
static const char *
gitweb_content_type(const char *rel)
{
	size_t n = strlen(rel);

	if (strcmp(rel, "HEAD") == 0 || strcmp(rel, "info/refs") == 0 ||
	    strcmp(rel, "objects/info/packs") == 0 ||
	    strcmp(rel, "objects/info/alternates") == 0)
		return "text/plain; charset=utf-8";
	/* objects/pack/pack-<40 hex>.pack and .idx */
	if (n > 58 && strncmp(rel, "objects/pack/pack-", 18) == 0 &&
	    all_hex(rel + 18, 40) &&
	    (strcmp(rel + 58, ".pack") == 0 || strcmp(rel + 58, ".idx") == 0))
		return "application/octet-stream";
	/* objects/<2 hex>/<38 hex>: loose objects (csirtd writes none) */
	if (n == 49 && strncmp(rel, "objects/", 8) == 0 &&
	    all_hex(rel + 8, 2) && rel[10] == '/' && all_hex(rel + 11, 38))
		return "application/octet-stream";
	return NULL;
}

/* Opens `rel` (already allow-listed) below the repository, one component
 * at a time with O_NOFOLLOW: a symlink anywhere on the path fails (ELOOP
 * or ENOTDIR), as does anything but a regular file.  Returns the fd or
 * -1. */
static int
gitweb_open(int dirfd, const char *rel, off_t *size)
{
	char comp[64];
	int cur = dirfd, fd = -1;
	struct stat st;

	for (;;) {
		size_t len = strcspn(rel, "/");
		bool last = rel[len] == '\0';

		if (len == 0 || len >= sizeof(comp))
			break;
		memcpy(comp, rel, len);
		comp[len] = '\0';
		fd = openat(cur, comp,
		            O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
		                (last ? 0 : O_DIRECTORY));
		if (cur != dirfd)
			close(cur);
		cur = dirfd;
		if (fd < 0 || last)
			break;
		cur = fd;
		fd = -1;
		rel += len + 1;
	}
	if (cur != dirfd)
		close(cur);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		*size = st.st_size;
	return fd;
}

/* Answers a ledger request: headers, the log line, and `fd` (taken; -1
 * for none) streamed from the file rather than read into memory, or
 * `mem` (borrowed; NULL for none) when fd is -1. */
static void
gitweb_reply(struct conn *c, const char *actor, int status,
             const char *content_type, int fd, off_t size,
             const struct buf *mem)
{
	const char *id = c->sr.id, *path = c->sr.path;
	char code[8], method[HTTP_MAX_PATH + 24], text[8];
	int n = 0;

	if (status != 200)
		n = snprintf(text, sizeof(text), "%d\n", status);
	if (c->bev != NULL && fd >= 0 && size > 0 && !conn_is_head(c)) {
		struct evbuffer *file = evbuffer_new();

		/* Headers go out only once the file is attached. */
		if (file == NULL || evbuffer_add_file(file, fd, 0, size) < 0) {
			close(fd); /* not taken on failure */
			if (file != NULL)
				evbuffer_free(file);
			log_error("cannot send a ledger file", "id", id, "path",
			          path);
			conn_reply_error(c, "internal",
			                 "cannot send a ledger file");
			return;
		}
		conn_write_head(c, status, content_type, (size_t)size, NULL);
		evbuffer_add_buffer(bufferevent_get_output(c->bev), file);
		evbuffer_free(file);
	} else if (mem != NULL) {
		if (c->bev != NULL) {
			conn_write_head(c, status, content_type, mem->len,
			                NULL);
			if (mem->len > 0 && !conn_is_head(c))
				evbuffer_add(bufferevent_get_output(c->bev),
				             mem->data, mem->len);
		}
	} else {
		if (fd >= 0)
			close(fd);
		if (c->bev != NULL) {
			conn_write_head(
			    c, status, content_type,
			    status == 200 ? (size_t)size : (size_t)n,
			    status == 401 ? "WWW-Authenticate: Bearer "
			                    "realm=\"csirtd ledger\"\r\n"
			                  : NULL);
			if (n > 0 && !conn_is_head(c))
				evbuffer_add(bufferevent_get_output(c->bev),
				             text, (size_t)n);
		}
	}
	snprintf(code, sizeof(code), "%d", status);
	snprintf(method, sizeof(method), "%s %s", c->hreq.method, path);
	log_info("request", "id", id, "method", method, "actor",
	         actor[0] ? actor : "-", "status", code);
	conn_done(c);
}

/* GET or HEAD /ledger.git/<rel>; c->sr.path is the decoded path (the
 * decoder refuses an encoded NUL). */
static void
gitweb_serve(struct conn *c)
{
	struct server *srv = c->srv;
	const char *path = c->sr.path, *rel = path + strlen(GITWEB_PREFIX);
	const char *text = "text/plain; charset=utf-8", *ctype;
	char actor[80] = "";
	off_t size = 0;
	int fd, rc;

	if (strcmp(c->hreq.method, "GET") != 0 && !conn_is_head(c)) {
		gitweb_reply(c, actor, 405, text, -1, 0, NULL);
		return;
	}
	rc = srv->ops.ledger_auth(srv->ops.ledger_auth_arg,
	                          http_header(&c->hreq, "Authorization"), actor,
	                          sizeof(actor));
	if (rc != 0) {
		if (rc == CSIRT_EUNAUTHENTICATED || rc == CSIRT_EDENIED)
			log_warn("denied", "id", c->sr.id, "actor",
			         actor[0] ? actor : "-", "method", path,
			         "reason", csirt_error_msg());
		else
			log_error("ledger authorisation failed", "id", c->sr.id,
			          "error", csirt_error_msg());
		gitweb_reply(c, actor,
		             rc == CSIRT_EUNAUTHENTICATED ? 401
		             : rc == CSIRT_EDENIED        ? 403
		                                          : 500,
		             text, -1, 0, NULL);
		return;
	}
	/* The allow-list admits no "..", "//" or NUL; refusing them first
	 * keeps that true whatever the list becomes. */
	if (strstr(rel, "..") != NULL || strstr(rel, "//") != NULL ||
	    (ctype = gitweb_content_type(rel)) == NULL) {
		gitweb_reply(c, actor, 404, text, -1, 0, NULL);
		return;
	}
	/* The server-info files are rendered from the ref and the pack
	 * directory as they are now: the writer no longer rewrites them
	 * per batch (ledger.c). */
	if (strcmp(rel, "info/refs") == 0 ||
	    strcmp(rel, "objects/info/packs") == 0) {
		struct buf info = BUF_INIT;

		if (ledger_server_info(&info, srv->ops.ledger_dir, rel) != 0) {
			log_error("cannot render ledger server info", "id",
			          c->sr.id, "error", csirt_error_msg());
			gitweb_reply(c, actor, 500, text, -1, 0, NULL);
		} else {
			gitweb_reply(c, actor, 200, ctype, -1, 0, &info);
		}
		buf_free(&info);
		return;
	}
	if ((fd = gitweb_open(srv->ledger_fd, rel, &size)) < 0) {
		gitweb_reply(c, actor, 404, text, -1, 0, NULL);
		return;
	}
	gitweb_reply(c, actor, 200, ctype, fd, size, NULL);
}

/* ---- the web client (web.c decides, this block only sends) ------------
 * GET/HEAD "/", "/index.html" and "/web/<asset>": the embedded assets with
 * the headers web.c gives every answer (CSP, ETag, caching), in place of
 * the API's defaults. */
static void
web_serve(struct conn *c)
{
	struct web_reply r;
	char code[8], method[HTTP_MAX_PATH + 24];

	web_respond(&r, c->hreq.method, c->sr.path,
	            http_header(&c->hreq, "If-None-Match"));
	if (c->bev != NULL) {
		struct evbuffer *out = bufferevent_get_output(c->bev);

		evbuffer_add_printf(
		    out, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s",
		    r.status, http_reason(r.status), r.len, conn_header(c));
		for (size_t i = 0; i < r.n_headers; i++)
			evbuffer_add_printf(out, "%s: %s\r\n",
			                    r.headers[i].name,
			                    r.headers[i].value);
		evbuffer_add(out, "\r\n", 2);
		/* The assets are constant: sent by reference, not copied. */
		if (r.len > 0 && !conn_is_head(c) && r.status != 304)
			evbuffer_add_reference(out, r.body, r.len, NULL, NULL);
	}
	snprintf(code, sizeof(code), "%d", r.status);
	snprintf(method, sizeof(method), "%s %s", c->hreq.method, c->sr.path);
	log_info("request", "id", c->sr.id, "method", method, "status", code);
	conn_done(c);
}
/* ---- end of the web client ---------------------------------------------- */

/* ---- requests ------------------------------------------------------ */

/* Routes the complete request in c->hreq / c->body. */
static void
conn_dispatch(struct conn *c)
{
	struct server *srv = c->srv;
	struct server_req *sr = &c->sr;
	const char *path = sr->path, *m = c->hreq.method;
	bool get = strcmp(m, "GET") == 0 || conn_is_head(c);

	c->state = CONN_BUSY;
	snprintf(sr->id, sizeof(sr->id), "r%llx",
	         (unsigned long long)++srv->next_req);
	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0) {
		if (!get)
			conn_reply_error(c, "bad_route", "use GET");
		else if (path[1] == 'h')
			healthz_serve(c);
		else
			metrics_serve(c);
		return;
	}
	if (srv->ledger_fd >= 0 &&
	    strncmp(path, GITWEB_PREFIX, strlen(GITWEB_PREFIX)) == 0) {
		gitweb_serve(c);
		return;
	}
	if (web_path(path)) {
		web_serve(c);
		return;
	}
	if (strncmp(path, "/twirp/", 7) != 0 || srv->ops.rpc == NULL) {
		conn_reply_error(c, "bad_route", "no such route");
		return;
	}
	sr->c = c;
	sr->rpc_method[0] = sr->actor[0] = '\0';
	sr->peer = NULL;
	clock_gettime(CLOCK_MONOTONIC, &sr->start);
	if (srv->tls != NULL && crypto_tls_mtls(srv->tls)) {
		conn_tls_peer(c);
		sr->peer = c->peer[0] != '\0' ? c->peer : NULL;
	}
	c->req_out = true;
	srv->inflight++;
	srv->ops.rpc(srv->ops.rpc_arg, sr);
}

/* A request still incomplete after idle_timeout_s (a dribbling client)
 * is cut off, however steadily its bytes arrive. */
static bool
conn_overdue(struct conn *c)
{
	if (!c->started) {
		c->started = true;
		clock_gettime(CLOCK_MONOTONIC, &c->req_first);
		return false;
	}
	if (elapsed_s(&c->req_first) <= (double)c->srv->idle_timeout_s)
		return false;
	log_info("closing a slow connection", "reason",
	         "request incomplete after idle_timeout_s");
	conn_close(c);
	return true;
}

/* Reads a head: true when one was parsed (c->state moved on). */
static bool
conn_read_head(struct conn *c, struct evbuffer *in)
{
	struct server *srv = c->srv;
	size_t n = evbuffer_get_length(in), cap = read_cap(srv);
	struct http_error err;
	const char *p;
	long end;

	if (n == 0) {
		if (c->read_eof)
			conn_close(c);
		return false;
	}
	if (conn_overdue(c))
		return false;
	if (n > cap)
		n = cap;
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
	end = p != NULL ? http_head_end(p, n, &srv->lim, &err) : 0;
	if (end < 0) {
		conn_fail(c, &err);
		return false;
	}
	if (end == 0) {
		if (c->read_eof)
			conn_close(c);
		return false;
	}
	buf_reset(&c->head);
	buf_put(&c->head, p, (size_t)end);
	evbuffer_drain(in, (size_t)end);
	if (http_parse_head(&c->hreq, c->head.data, (size_t)end, &srv->lim,
	                    &err) != 0 ||
	    http_path_decode(c->sr.path, c->hreq.target, &err) != 0) {
		c->hreq.method = NULL; /* the head is not trustworthy */
		conn_fail(c, &err);
		return false;
	}
	if (!c->hreq.keep_alive)
		c->close_after = true;
	buf_reset(&c->body);
	if (c->hreq.content_length == 0 && !c->hreq.chunked)
		return true;
	memset(&c->chunk, 0, sizeof(c->chunk));
	c->state = CONN_BODY;
	/* curl waits for this before sending a body over 1 KiB. */
	if (c->hreq.expect_continue && evbuffer_get_length(in) == 0)
		evbuffer_add(bufferevent_get_output(c->bev),
		             "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return true;
}

/* Decodes chunked body bytes out of the input: true once the body is
 * complete, false when more is needed or the connection failed. */
static bool
conn_read_chunked(struct conn *c, struct evbuffer *in)
{
	struct http_error err;
	size_t n;

	while ((n = evbuffer_get_length(in)) > 0) {
		/* Contiguous and bounded by the read high-water mark. */
		const char *p = (const char *)evbuffer_pullup(in, -1), *data;
		size_t dlen;
		bool done;
		long used =
		    p != NULL ? http_chunked_next(&c->chunk, p, n, &data, &dlen,
		                                  &done, &c->srv->lim, &err)
		              : 0;

		if (used < 0) {
			conn_fail(c, &err);
			return false;
		}
		if (dlen > 0)
			buf_put(&c->body, data, dlen);
		evbuffer_drain(in, (size_t)used);
		if (done)
			return true;
		if (used == 0)
			break;
	}
	if (c->read_eof)
		conn_close(c);
	else
		(void)conn_overdue(c);
	return false;
}

/* Moves body bytes out of the input: true once the body is complete. */
static bool
conn_read_body(struct conn *c, struct evbuffer *in)
{
	size_t want = (size_t)c->hreq.content_length - c->body.len;
	size_t avail = evbuffer_get_length(in);

	if (c->hreq.chunked)
		return conn_read_chunked(c, in);
	if (avail > want)
		avail = want;
	if (avail > 0) {
		/* Grown as the bytes come, not on the declared length. */
		buf_grow(&c->body, avail);
		if (evbuffer_remove(in, c->body.data + c->body.len, avail) !=
		    (int)avail) {
			conn_close(c);
			return false;
		}
		c->body.len += avail;
	}
	if (c->body.len == (size_t)c->hreq.content_length)
		return true;
	if (c->read_eof)
		conn_close(c);
	else
		(void)conn_overdue(c);
	return false;
}

/* Frames and routes every complete request in the input, one at a time:
 * stops at a busy request, an incomplete one, or a closed connection. */
static void
conn_process(struct conn *c)
{
	if (c->processing)
		return;
	c->processing = true;
	while (c->bev != NULL) {
		struct evbuffer *in = bufferevent_get_input(c->bev);

		if (c->state == CONN_LINGER) {
			evbuffer_drain(in, evbuffer_get_length(in));
			if (c->read_eof)
				conn_close(c);
			break;
		}
		if (c->state == CONN_HEAD) {
			/* A client that pipelines requests and does not read
			 * the answers: the next ones wait (their bytes stay
			 * in the input, which stops being read at read_cap())
			 * until conn_write_cb() sees the output drained. */
			if (evbuffer_get_length(bufferevent_get_output(
			        c->bev)) > CONN_OUT_MAX) {
				c->out_full = true;
				break;
			}
			if (!conn_read_head(c, in))
				break;
			if (c->state == CONN_HEAD) {
				conn_dispatch(c);
				continue;
			}
		}
		if (c->state == CONN_BODY) {
			if (!conn_read_body(c, in))
				break;
			conn_dispatch(c);
			continue;
		}
		break; /* CONN_BUSY or CONN_CLOSING */
	}
	c->processing = false;
	conn_release(c);
}

const char *
server_req_method(const struct server_req *req)
{
	return req->c->hreq.method;
}

const char *
server_req_path(const struct server_req *req)
{
	return req->path;
}

const char *
server_req_header(const struct server_req *req, const char *name)
{
	return http_header(&req->c->hreq, name);
}

const void *
server_req_body(struct server_req *req, size_t *len)
{
	*len = req->c->body.len;
	return *len > 0 ? req->c->body.data : "";
}

const char *
server_req_peer_name(const struct server_req *req)
{
	return req->peer;
}

const char *
server_req_id(const struct server_req *req)
{
	return req->id;
}

void
server_req_log(struct server_req *req, const char *key, const char *value)
{
	if (strcmp(key, "actor") == 0)
		util_copy2(req->actor, sizeof(req->actor), value, NULL);
	else if (strcmp(key, "method") == 0)
		util_copy2(req->rpc_method, sizeof(req->rpc_method), value,
		           NULL);
}

void
server_req_reply(struct server_req *req, int status, const char *content_type,
                 const void *body, size_t len)
{
	struct conn *c = req->c;
	struct server *srv = c->srv;
	char code[24], ms[48], rid[48];
	/* Microseconds, rounded: the monotonic clock never runs back. */
	uint64_t us = (uint64_t)(elapsed_s(&req->start) * 1e6 + 0.5);
	size_t n;

	assert(c->req_out);
	snprintf(rid, sizeof(rid), "X-Request-Id: %s\r\n", req->id);
	conn_write(c, status, content_type, body, len, rid);
	/* "%d" and "%.3f" (milliseconds) without vsnprintf: it was a tenth
	 * of the loop's instructions a request. */
	util_fmt_u64(code, (uint64_t)status, 0);
	n = util_fmt_u64(ms, us / 1000, 0);
	ms[n] = '.';
	util_fmt_u64(ms + n + 1, us % 1000, 3);
	log_info("request", "id", req->id, "method",
	         req->rpc_method[0] ? req->rpc_method : req->path, "actor",
	         req->actor[0] ? req->actor : "-", "peer",
	         req->peer != NULL ? req->peer : "-", "status", code,
	         "duration_ms", ms, "client",
	         c->bev != NULL ? "connected" : "gone");
	c->req_out = false;
	srv->inflight--;
	conn_done(c); /* may free c */
	server_check_exit(srv);
}

/* ---- connections --------------------------------------------------- */

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_process(arg);
}

/* The output drained: a closing connection half-closes (plain HTTP) and
 * lingers briefly so that the client reads the reply, not a reset. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct timeval tv = {2, 0};

	if (c->out_full) {
		c->out_full = false;
		conn_process(c);
		return;
	}
	if (c->state != CONN_CLOSING)
		return;
	if (c->srv->tls != NULL || c->srv->stopping || c->read_eof ||
	    shutdown(bufferevent_getfd(bev), SHUT_WR) != 0) {
		conn_close(c);
		return;
	}
	c->state = CONN_LINGER;
	bufferevent_set_timeouts(bev, &tv, NULL);
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	bufferevent_enable(bev, EV_READ);
	conn_process(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_CONNECTED)
		return; /* the TLS handshake is done */
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    c->state == CONN_BUSY) {
		/* Waiting on our own answer is not idling. */
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    c->state != CONN_LINGER && c->state != CONN_CLOSING) {
		/* Half-closed: answer what was sent in full, then close. */
		c->read_eof = true;
		c->close_after = true;
		if (c->state != CONN_BUSY)
			conn_process(c);
		return;
	}
	conn_close(c);
}

static struct conn *
conn_new(struct server *srv, evutil_socket_t fd)
{
	struct conn *c = util_xcalloc(1, sizeof(*c));

	c->srv = srv;
	c->sr.c = c;
	if (srv->tls != NULL) {
		c->bev = bufferevent_openssl_socket_new(
		    srv->base, fd, crypto_tls_ssl_new(srv->tls),
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		/* A client that closes without close_notify ends its
		 * connection, not the request it already sent in full. */
		if (c->bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	} else {
		c->bev = bufferevent_socket_new(srv->base, fd,
		                                BEV_OPT_CLOSE_ON_FREE);
	}
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	                  c);
	conn_set_timeouts(c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, read_cap(srv));
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	return c;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int socklen, void *arg)
{
	struct server *srv = arg;
	struct conn *c;
	int64_t now_ms;

	(void)l;
	(void)sa;
	(void)socklen;
	if (srv->stopping) {
		evutil_closesocket(fd);
		return;
	}
	if ((c = conn_new(srv, fd)) == NULL) {
		log_error("cannot set up a connection", "error",
		          "out of memory");
		return;
	}
	if (srv->nconns >= srv->max_connections) {
		/* Told why, then closed; it holds no slot meanwhile. */
		static const struct http_error full = {"resource_exhausted",
		                                       "too many connections",
		                                       "max_connections", 0};
		struct http_error err = full;

		err.max = srv->max_connections;
		srv->refused_total++;
		srv->refused_unlogged++;
		now_ms = util_time_now_ms();
		if (now_ms - srv->refused_logged_ms >= 1000) {
			char n[24];
			snprintf(n, sizeof(n), "%" PRIu64,
			         srv->refused_unlogged);
			/* count: refused since the last such line (also
			 * csirt_http_connections_refused_total). */
			log_warn("connections refused at max_connections",
			         "count", n);
			srv->refused_logged_ms = now_ms;
			srv->refused_unlogged = 0;
		}
		c->hreq.minor = 1;
		conn_fail_quiet(c, &err);
		return;
	}
	c->counted = true;
	srv->nconns++;
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	(void)arg;
	/* EMFILE and friends: the connection stays in the backlog. */
	log_error("accept failed", "error", evutil_socket_error_to_string(e));
}

/* ---- the loop ------------------------------------------------------ */

static void
post_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct post *list;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&srv->post_mu);
	list = srv->posts;
	srv->posts = srv->posts_tail = NULL;
	pthread_mutex_unlock(&srv->post_mu);
	while (list != NULL) {
		struct post *next = list->next;
		list->fn(list->arg);
		free(list);
		list = next;
	}
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	if (!srv->stopping)
		srv->ops.timer(srv->ops.timer_arg);
}

void
server_timer_set(struct server *srv, int64_t delay_ms)
{
	struct timeval tv;

	if (srv->timer_ev == NULL)
		return;
	if (delay_ms < 0) {
		evtimer_del(srv->timer_ev);
		return;
	}
	/* At most a day ahead: a far deadline is simply re-armed then. */
	if (delay_ms > 24 * 3600 * 1000LL)
		delay_ms = 24 * 3600 * 1000LL;
	tv.tv_sec = (time_t)(delay_ms / 1000);
	tv.tv_usec = (suseconds_t)((delay_ms % 1000) * 1000);
	evtimer_add(srv->timer_ev, &tv);
}

struct server_timer {
	struct server *srv;
	struct event *ev;
	void (*fn)(void *arg);
	void *arg;
};

static void
server_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_timer *t = arg;

	(void)fd;
	(void)what;
	if (!t->srv->stopping)
		t->fn(t->arg); /* may free t */
}

struct server_timer *
server_timer_new(struct server *srv, int64_t delay_ms, void (*fn)(void *arg),
                 void *arg)
{
	struct server_timer *t = util_xcalloc(1, sizeof(*t));
	struct timeval tv;

	if (delay_ms < 0)
		delay_ms = 0;
	if (delay_ms > 24 * 3600 * 1000LL)
		delay_ms = 24 * 3600 * 1000LL;
	t->srv = srv;
	t->fn = fn;
	t->arg = arg;
	if ((t->ev = evtimer_new(srv->base, server_timer_cb, t)) == NULL)
		abort();
	tv.tv_sec = (time_t)(delay_ms / 1000);
	tv.tv_usec = (suseconds_t)((delay_ms % 1000) * 1000);
	evtimer_add(t->ev, &tv);
	return t;
}

void
server_timer_free(struct server_timer *t)
{
	if (t == NULL)
		return;
	event_free(t->ev); /* deletes it if pending */
	free(t);
}

void
server_post(struct server *srv, void (*fn)(void *arg), void *arg)
{
	struct post *p = util_xcalloc(1, sizeof(*p));

	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&srv->post_mu);
	if (srv->posts_tail != NULL)
		srv->posts_tail->next = p;
	else
		srv->posts = p;
	srv->posts_tail = p;
	pthread_mutex_unlock(&srv->post_mu);
	event_active(srv->post_ev, EV_READ, 0);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)what;
	log_info("stopping", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
	server_stop(srv);
}

void
server_stop(struct server *srv)
{
	struct timeval tv = {10, 0};
	struct conn *c, *next;

	if (srv->stopping)
		return;
	srv->stopping = 1;
	if (srv->listener != NULL) {
		evconnlistener_free(srv->listener); /* closes the socket */
		srv->listener = NULL;
	}
	/* Parked requests are answered now rather than at their timeout. */
	if (srv->ops.stop != NULL)
		srv->ops.stop(srv->ops.stop_arg);
	/* Idle connections go now; the others finish the request they are
	 * on (its reply says Connection: close), but never longer than
	 * 10 s. */
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		c->close_after = true;
		if (c->state == CONN_HEAD && !c->started &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			conn_close(c);
	}
	event_base_loopexit(srv->base, &tv);
	server_check_exit(srv);
}

static int
bound_address(struct server *srv)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	evutil_socket_t fd = evconnlistener_get_fd(srv->listener);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return csirt_error_set(CSIRT_EFAIL, "getsockname: %s",
		                       strerror(errno));
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(srv->address, sizeof(srv->address), "[%s]:%u", host,
		         ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(srv->address, sizeof(srv->address), "%s:%u", host,
		         ntohs(s4->sin_port));
	}
	return 0;
}

/* Resolves the configured address and listens on its first result. */
static int
server_listen(struct server *srv, const struct config *cfg)
{
	struct evutil_addrinfo hints, *ai = NULL;
	char port[8];
	int rc, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%u", (unsigned)cfg->listen_port);
	if ((e = evutil_getaddrinfo(cfg->listen_host, port, &hints, &ai)) != 0)
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "cannot resolve %s: %s", cfg->listen,
		                       evutil_gai_strerror(e));
	srv->listener = evconnlistener_new_bind(
	    srv->base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    -1, ai->ai_addr, (int)ai->ai_addrlen);
	if (srv->listener == NULL) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE,
		                     "cannot listen on %s: %s", cfg->listen,
		                     strerror(errno));
		goto done;
	}
	evconnlistener_set_error_cb(srv->listener, accept_error_cb);
	rc = bound_address(srv);
done:
	evutil_freeaddrinfo(ai);
	return rc;
}

int
server_new(struct server **out, const struct config *cfg,
           const struct server_ops *ops)
{
	struct server *srv = NULL;
	int rc = -1;

	*out = NULL;
	if (evthread_use_pthreads() < 0)
		return csirt_error_set(CSIRT_EFAIL,
		                       "libevent: no pthreads support");
	srv = util_xcalloc(1, sizeof(*srv));
	srv->ledger_fd = -1;
	pthread_mutex_init(&srv->post_mu, NULL);
	if (ops != NULL)
		srv->ops = *ops;
	if (srv->ops.ledger_dir != NULL) {
		assert(srv->ops.ledger_auth != NULL);
		srv->ledger_fd = open(srv->ops.ledger_dir,
		                      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (srv->ledger_fd < 0) {
			rc = csirt_error_set(
			    CSIRT_EUNAVAILABLE, "cannot open %s: %s",
			    srv->ops.ledger_dir, strerror(errno));
			goto done;
		}
	}
	srv->tls = srv->ops.tls;
	srv->base = event_base_new();
	if (srv->base == NULL) {
		rc = csirt_error_set(CSIRT_EFAIL, "event_base_new failed");
		goto done;
	}
	server_set_limits(srv, cfg);
	if ((rc = server_listen(srv, cfg)) != 0)
		goto done;

	srv->post_ev = event_new(srv->base, -1, EV_PERSIST, post_cb, srv);
	if (srv->post_ev == NULL) {
		rc = csirt_error_set(CSIRT_EFAIL, "cannot create post event");
		goto done;
	}
	if (srv->ops.timer != NULL &&
	    (srv->timer_ev = evtimer_new(srv->base, timer_cb, srv)) == NULL) {
		rc = csirt_error_set(CSIRT_EFAIL, "cannot create the timer");
		goto done;
	}
	srv->sigint = evsignal_new(srv->base, SIGINT, signal_cb, srv);
	srv->sigterm = evsignal_new(srv->base, SIGTERM, signal_cb, srv);
	srv->sighup = evsignal_new(srv->base, SIGHUP, sighup_cb, srv);
	if (srv->sighup == NULL || evsignal_add(srv->sighup, NULL) < 0) {
		rc = csirt_error_set(CSIRT_EFAIL, "cannot install SIGHUP");
		goto done;
	}
	if (srv->sigint == NULL || srv->sigterm == NULL ||
	    evsignal_add(srv->sigint, NULL) < 0 ||
	    evsignal_add(srv->sigterm, NULL) < 0) {
		rc = csirt_error_set(CSIRT_EFAIL, "cannot install signals");
		goto done;
	}
	*out = srv;
	srv = NULL;
	rc = 0;
done:
	server_free(srv);
	return rc;
}

int
server_run(struct server *srv)
{
	if (event_base_dispatch(srv->base) < 0)
		return csirt_error_set(CSIRT_EFAIL, "event loop failed");
	return 0;
}

const char *
server_address(const struct server *srv)
{
	return srv->address;
}

const char *
server_scheme(const struct server *srv)
{
	return srv->tls != NULL ? "https" : "http";
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	if (srv->sigint != NULL)
		event_free(srv->sigint);
	if (srv->sigterm != NULL)
		event_free(srv->sigterm);
	if (srv->sighup != NULL)
		event_free(srv->sighup);
	if (srv->timer_ev != NULL)
		event_free(srv->timer_ev);
	if (srv->post_ev != NULL) {
		post_cb(-1, 0, srv); /* run what is left */
		event_free(srv->post_ev);
	}
	/* What is still open (a stop that timed out) is closed; a request
	 * still with a handler keeps its memory until it is answered. */
	srv->stopping = 1;
	while (srv->conns != NULL)
		conn_close(srv->conns);
	pthread_mutex_destroy(&srv->post_mu);
	if (srv->base != NULL)
		event_base_free(srv->base);
	if (srv->ledger_fd >= 0)
		close(srv->ledger_fd);
	free(srv);
}
