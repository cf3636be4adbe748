/*
 * server.c - the libevent loop, signals and the HTTP front.
 *
 * This is the only module that includes libevent.  Callbacks here stay thin:
 * parse, enforce limits, route, reply.  It never does disk I/O for writes;
 * that belongs to the ledger writer thread.
 *
 * TLS: with a crypto_tls context every accepted connection is wrapped in an
 * OpenSSL bufferevent before evhttp sees a byte, and there is no plain-HTTP
 * fallback on the same port.  The SSL objects come from crypto.c, so this
 * file includes no OpenSSL header.
 *
 * The ledger over dumb HTTP (GET/HEAD /ledger.git/<path>): static files of
 * the bare repository, for `git clone` by auditors.  It must never serve a
 * byte outside that repository: the percent-decoded path must match an
 * allow-list of the shapes git's dumb walker asks for (never "..", "//" or
 * a NUL), and every component is opened with O_NOFOLLOW below a directory
 * descriptor of the repository, so a planted symlink is refused.  Who may
 * read is decided by ops.ledger_auth, before the path is looked at.
 *
 * Shutdown: SIGINT or SIGTERM stops accepting, then leaves the loop once the
 * current callbacks return; server_free() closes the remaining connections.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "crypto.h"
#include "error.h"
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

struct server {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *listener;
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
};

/* One request on its way through the RPC layer.  The evhttp request stays
 * valid until we reply even if the client has gone (libevent detaches it
 * from the closed connection, and evhttp_send_reply() then just frees
 * it), so a reply that arrives late from the writer is always safe. */
struct server_req {
	struct server *srv;
	struct evhttp_request *req;
	char path[512];
	char id[20];
	char rpc_method[96];
	char actor[80];
	char peer[CRYPTO_TLS_NAME_MAX]; /* verified client cert; "" if none */
	struct timespec start;
};

static void
reply_json(struct evhttp_request *req, int code, const char *reason,
           const char *body)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evbuffer_add(out, body, strlen(body));
	evhttp_send_reply(req, code, reason, NULL);
}

static void
metrics_cb(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct buf b = BUF_INIT;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		reply_json(req, 405, "Method Not Allowed",
		           "{\"error\":\"use GET\"}");
		return;
	}
	if (srv->ops.metrics != NULL)
		srv->ops.metrics(srv->ops.metrics_arg, &b);
	buf_printf(&b,
	           "# HELP csirt_http_inflight Requests accepted and not yet "
	           "answered.\n# TYPE csirt_http_inflight gauge\n"
	           "csirt_http_inflight %zu\n",
	           srv->inflight);
	evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add(out, b.data, b.len);
	evhttp_send_reply(req, 200, "OK", NULL);
	buf_free(&b);
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

void
server_set_limits(struct server *srv, const struct config *cfg)
{
	/* evhttp has no limits until they are set (DESIGN.md §6). */
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)cfg->max_body_bytes);
	evhttp_set_max_headers_size(srv->http,
	                            (ev_ssize_t)cfg->max_header_bytes);
	evhttp_set_timeout(srv->http, (int)cfg->idle_timeout_s);
}

static void
healthz_cb(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	char body[256];
	uint64_t seq = 0;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		reply_json(req, 405, "Method Not Allowed",
		           "{\"error\":\"use GET\"}");
		return;
	}
	if (srv->ops.ledger_seq != NULL)
		seq = srv->ops.ledger_seq(srv->ops.arg);
	snprintf(
	    body, sizeof(body),
	    "{\"status\":\"ok\",\"version\":\"%s\",\"ledger_seq\":\"%" PRIu64
	    "\"}",
	    CSIRT_VERSION, seq);
	reply_json(req, 200, "OK", body);
}

static const char *
method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	default:
		return "OTHER";
	}
}

/* Records the name in the client's certificate while the connection is
 * certainly alive.  The handshake already verified it (mTLS requires a
 * certificate), so a failure here is a certificate that names nobody. */
static void
server_tls_peer(struct server_req *sr)
{
	struct evhttp_connection *evcon =
	    evhttp_request_get_connection(sr->req);
	struct bufferevent *bev =
	    evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;

	if (bev == NULL ||
	    crypto_tls_peer_name(bufferevent_openssl_get_ssl(bev), sr->peer,
	                         sizeof(sr->peer)) != 0) {
		sr->peer[0] = '\0';
		log_warn("no usable client certificate name", "id", sr->id,
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
 * for none) streamed from the file rather than read into memory. */
static void
gitweb_reply(struct evhttp_request *req, const char *id, const char *path,
             const char *actor, int status, const char *content_type, int fd,
             off_t size)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char code[8], method[560];

	if (fd >= 0 && size > 0) {
		if (evbuffer_add_file(out, fd, 0, size) < 0) {
			close(fd);
			evbuffer_drain(out, evbuffer_get_length(out));
			status = 500;
			content_type = "text/plain; charset=utf-8";
			log_error("cannot send a ledger file", "id", id, "path",
			          path);
		}
	} else if (fd >= 0) {
		close(fd);
	}
	if (status == 401)
		evhttp_add_header(h, "WWW-Authenticate",
		                  "Bearer realm=\"csirtd ledger\"");
	if (status != 200)
		evbuffer_add_printf(out, "%d\n", status);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Request-Id", id);
	evhttp_send_reply(req, status, NULL, NULL);
	snprintf(code, sizeof(code), "%d", status);
	snprintf(method, sizeof(method), "%s %s",
	         method_name(evhttp_request_get_command(req)), path);
	log_info("request", "id", id, "method", method, "actor",
	         actor[0] ? actor : "-", "status", code);
}

/* GET or HEAD /ledger.git/<rel>; `path` is the decoded path. */
static void
gitweb_serve(struct server *srv, struct evhttp_request *req, const char *path,
             size_t path_len)
{
	const char *rel = path + strlen(GITWEB_PREFIX), *ctype;
	const char *text = "text/plain; charset=utf-8";
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char id[20], actor[80] = "";
	off_t size = 0;
	int fd, rc;

	snprintf(id, sizeof(id), "r%llx", (unsigned long long)++srv->next_req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		gitweb_reply(req, id, path, actor, 405, text, -1, 0);
		return;
	}
	rc = srv->ops.ledger_auth(
	    srv->ops.ledger_auth_arg,
	    evhttp_find_header(evhttp_request_get_input_headers(req),
	                       "Authorization"),
	    actor, sizeof(actor));
	if (rc != 0) {
		if (rc == CSIRT_EUNAUTHENTICATED || rc == CSIRT_EDENIED)
			log_warn("denied", "id", id, "actor",
			         actor[0] ? actor : "-", "method", path,
			         "reason", csirt_error_msg());
		else
			log_error("ledger authorisation failed", "id", id,
			          "error", csirt_error_msg());
		gitweb_reply(req, id, path, actor,
		             rc == CSIRT_EUNAUTHENTICATED ? 401
		             : rc == CSIRT_EDENIED        ? 403
		                                          : 500,
		             text, -1, 0);
		return;
	}
	/* The allow-list admits no "..", "//" or NUL; refusing them first
	 * keeps that true whatever the list becomes. */
	if (path_len != strlen(path) || strstr(rel, "..") != NULL ||
	    strstr(rel, "//") != NULL ||
	    (ctype = gitweb_content_type(rel)) == NULL ||
	    (fd = gitweb_open(srv->ledger_fd, rel, &size)) < 0) {
		gitweb_reply(req, id, path, actor, 404, text, -1, 0);
		return;
	}
	gitweb_reply(req, id, path, actor, 200, ctype, fd, size);
}

/* ---- the web client (web.c decides, this block only sends) ------------
 * GET/HEAD "/", "/index.html" and "/web/<asset>": the embedded assets with
 * their security headers.  Kept in one block so that it moves as one piece
 * to another HTTP front. */
static bool
web_serve(struct evhttp_request *req, const char *uri)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	const char *method = method_name(evhttp_request_get_command(req));
	struct web_reply r;
	char raw[1024], *path, code[8];
	size_t len = strcspn(uri, "?#");

	/* The API's paths are never the web client's: no decoding for them. */
	if (len >= sizeof(raw) || strncmp(uri, "/twirp/", 7) == 0)
		return false;
	snprintf(raw, sizeof(raw), "%.*s", (int)len, uri);
	if ((path = evhttp_uridecode(raw, 0, NULL)) == NULL)
		return false;
	if (!web_path(path)) {
		free(path);
		return false;
	}
	web_respond(&r, method, path,
	            evhttp_find_header(evhttp_request_get_input_headers(req),
	                               "If-None-Match"));
	for (size_t i = 0; i < r.n_headers; i++)
		evhttp_add_header(h, r.headers[i].name, r.headers[i].value);
	/* evhttp leaves the body out of a HEAD answer itself. */
	if (r.len > 0 &&
	    evbuffer_add_reference(out, r.body, r.len, NULL, NULL) < 0) {
		log_error("cannot send a web asset", "path", path);
		evhttp_send_error(req, 500, NULL);
		free(path);
		return true;
	}
	evhttp_send_reply(req, r.status, NULL, NULL);
	snprintf(code, sizeof(code), "%d", r.status);
	log_info("request", "method", method, "path", path, "status", code);
	free(path);
	return true;
}
/* ---- end of the web client ---------------------------------------------- */

static void
generic_cb(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct server_req *sr;
	char *decoded;
	size_t len;

	if (uri != NULL && srv->ledger_fd >= 0) {
		/* Decoded before routing, and only the path (a "?" or "#"
		 * that was encoded stays part of it). */
		char raw[1024];
		size_t dlen = 0;

		len = strcspn(uri, "?#");
		snprintf(raw, sizeof(raw), "%.*s", (int)len, uri);
		decoded =
		    len < sizeof(raw) ? evhttp_uridecode(raw, 0, &dlen) : NULL;
		if (decoded != NULL && strncmp(decoded, GITWEB_PREFIX,
		                               strlen(GITWEB_PREFIX)) == 0) {
			gitweb_serve(srv, req, decoded, dlen);
			free(decoded);
			return;
		}
		free(decoded);
	}
	if (uri != NULL && web_serve(req, uri)) /* the web client */
		return;
	if (uri == NULL || strncmp(uri, "/twirp/", 7) != 0 ||
	    srv->ops.rpc == NULL) {
		reply_json(req, 404, "Not Found", "{\"error\":\"not found\"}");
		return;
	}
	sr = util_xcalloc(1, sizeof(*sr));
	srv->inflight++;
	sr->srv = srv;
	sr->req = req;
	clock_gettime(CLOCK_MONOTONIC, &sr->start);
	snprintf(sr->id, sizeof(sr->id), "r%llx",
	         (unsigned long long)++srv->next_req);
	if (srv->tls != NULL && crypto_tls_mtls(srv->tls))
		server_tls_peer(sr);
	/* The path without query; percent-decoded so that an encoded route
	 * cannot slip past the router. */
	len = strcspn(uri, "?#");
	decoded = evhttp_uridecode(uri, 0, NULL);
	if (decoded == NULL || len >= sizeof(sr->path)) {
		free(decoded);
		snprintf(sr->path, sizeof(sr->path), "/twirp/?");
	} else {
		size_t dl = strcspn(decoded, "?#");
		snprintf(sr->path, sizeof(sr->path), "%.*s", (int)dl, decoded);
		free(decoded);
	}
	srv->ops.rpc(srv->ops.rpc_arg, sr);
}

const char *
server_req_method(const struct server_req *req)
{
	return method_name(evhttp_request_get_command(req->req));
}

const char *
server_req_path(const struct server_req *req)
{
	return req->path;
}

const char *
server_req_header(const struct server_req *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req->req),
	                          name);
}

const void *
server_req_body(struct server_req *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req->req);

	*len = evbuffer_get_length(in);
	if (*len == 0)
		return "";
	return evbuffer_pullup(in, -1);
}

const char *
server_req_peer_name(const struct server_req *req)
{
	return req->peer[0] != '\0' ? req->peer : NULL;
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
		snprintf(req->actor, sizeof(req->actor), "%s", value);
	else if (strcmp(key, "method") == 0)
		snprintf(req->rpc_method, sizeof(req->rpc_method), "%s", value);
}

void
server_req_reply(struct server_req *req, int status, const char *content_type,
                 const void *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req->req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req->req);
	struct timespec now;
	char code[8], ms[24];

	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Request-Id", req->id);
	evbuffer_add(out, body, len);
	evhttp_send_reply(req->req, status, NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(code, sizeof(code), "%d", status);
	snprintf(ms, sizeof(ms), "%.3f",
	         (double)(now.tv_sec - req->start.tv_sec) * 1e3 +
	             (double)(now.tv_nsec - req->start.tv_nsec) / 1e6);
	log_info("request", "id", req->id, "method",
	         req->rpc_method[0] ? req->rpc_method : req->path, "actor",
	         req->actor[0] ? req->actor : "-", "peer",
	         req->peer[0] ? req->peer : "-", "status", code, "duration_ms",
	         ms);
	/* Stopping: leave once the last in-flight reply is on its way (a
	 * short delay lets the loop write it out). */
	if (--req->srv->inflight == 0 && req->srv->stopping) {
		struct timeval tv = {0, 50000};
		event_base_loopexit(req->srv->base, &tv);
	}
	free(req);
}

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
	size_t before;

	if (srv->stopping)
		return;
	srv->stopping = 1;
	if (srv->listener != NULL) {
		evhttp_del_accept_socket(srv->http, srv->listener);
		srv->listener = NULL;
	}
	/* Parked requests are answered now rather than at their timeout;
	 * their replies may already bring inflight to zero. */
	before = srv->inflight;
	if (srv->ops.stop != NULL)
		srv->ops.stop(srv->ops.stop_arg);
	/* Finish in-flight requests (they may wait on the ledger writer),
	 * but never longer than 10 s.  When the stop hook answered the last
	 * ones, their reply already scheduled a short exit that lets the
	 * loop write them out. */
	if (srv->inflight == 0) {
		if (before == 0)
			event_base_loopexit(srv->base, NULL);
	} else {
		struct timeval tv = {10, 0};
		event_base_loopexit(srv->base, &tv);
	}
}

/*
 * evhttp's hook for a new connection, called before it sets the socket.
 * It must never return NULL: evhttp would then make a plain bufferevent
 * and speak HTTP on the HTTPS port.  Creation fails only when out of
 * memory, so that aborts like util_xmalloc().  The bufferevent owns the
 * SSL and the socket (BEV_OPT_CLOSE_ON_FREE); evhttp frees it with the
 * connection.
 */
static struct bufferevent *
server_tls_bev_cb(struct event_base *base, void *arg)
{
	struct server *srv = arg;
	struct bufferevent *bev;

	bev = bufferevent_openssl_socket_new(
	    base, -1, crypto_tls_ssl_new(srv->tls), BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		abort();
	/* A client that closes without close_notify ends its connection,
	 * not the request it already sent in full. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static int
bound_address(struct server *srv)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	evutil_socket_t fd = evhttp_bound_socket_get_fd(srv->listener);

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
	srv->http = evhttp_new(srv->base);
	if (srv->http == NULL) {
		rc = csirt_error_set(CSIRT_EFAIL, "evhttp_new failed");
		goto done;
	}
	server_set_limits(srv, cfg);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	                                          EVHTTP_REQ_POST);
	evhttp_set_cb(srv->http, "/healthz", healthz_cb, srv);
	evhttp_set_cb(srv->http, "/metrics", metrics_cb, srv);
	evhttp_set_gencb(srv->http, generic_cb, srv);
	if (srv->tls != NULL)
		evhttp_set_bevcb(srv->http, server_tls_bev_cb, srv);

	srv->listener = evhttp_bind_socket_with_handle(
	    srv->http, cfg->listen_host, cfg->listen_port);
	if (srv->listener == NULL) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE,
		                     "cannot listen on %s: %s", cfg->listen,
		                     strerror(errno));
		goto done;
	}
	if ((rc = bound_address(srv)) != 0)
		goto done;

	srv->post_ev = event_new(srv->base, -1, EV_PERSIST, post_cb, srv);
	if (srv->post_ev == NULL) {
		rc = csirt_error_set(CSIRT_EFAIL, "cannot create post event");
		goto done;
	}
	if (ops->timer != NULL &&
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
	pthread_mutex_destroy(&srv->post_mu);
	if (srv->http != NULL)
		evhttp_free(srv->http);
	if (srv->base != NULL)
		event_base_free(srv->base);
	if (srv->ledger_fd >= 0)
		close(srv->ledger_fd);
	free(srv);
}
