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
 * Shutdown: SIGINT or SIGTERM stops accepting, then leaves the loop once the
 * current callbacks return; server_free() closes the remaining connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

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

static void
generic_cb(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct server_req *sr;
	char *decoded;
	size_t len;

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
	if (srv->stopping)
		return;
	srv->stopping = 1;
	if (srv->listener != NULL) {
		evhttp_del_accept_socket(srv->http, srv->listener);
		srv->listener = NULL;
	}
	/* Finish in-flight requests (they may wait on the ledger writer),
	 * but never longer than 10 s. */
	if (srv->inflight == 0) {
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
	pthread_mutex_init(&srv->post_mu, NULL);
	if (ops != NULL)
		srv->ops = *ops;
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
	free(srv);
}
