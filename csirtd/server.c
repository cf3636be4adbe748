/*
 * server.c - the libevent loop, signals and the HTTP front.
 *
 * This is the only module that includes libevent.  Callbacks here stay thin:
 * parse, enforce limits, route, reply.  It never does disk I/O for writes;
 * that belongs to the ledger writer thread.
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
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "error.h"
#include "log.h"
#include "server.h"
#include "util.h"

struct server {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *listener;
	struct event *sigint, *sigterm;
	struct server_ops ops;
	char address[128];
	int stopping;
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

static void
notfound_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	reply_json(req, 404, "Not Found", "{\"error\":\"not found\"}");
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
	event_base_loopexit(srv->base, NULL);
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
	if (ops != NULL)
		srv->ops = *ops;
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
	/* evhttp has no limits until they are set (DESIGN.md §6). */
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)cfg->max_body_bytes);
	evhttp_set_max_headers_size(srv->http,
	                            (ev_ssize_t)cfg->max_header_bytes);
	evhttp_set_timeout(srv->http, (int)cfg->idle_timeout_s);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	                                          EVHTTP_REQ_POST);
	evhttp_set_cb(srv->http, "/healthz", healthz_cb, srv);
	evhttp_set_gencb(srv->http, notfound_cb, srv);

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

	srv->sigint = evsignal_new(srv->base, SIGINT, signal_cb, srv);
	srv->sigterm = evsignal_new(srv->base, SIGTERM, signal_cb, srv);
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

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->sigint != NULL)
		event_free(srv->sigint);
	if (srv->sigterm != NULL)
		event_free(srv->sigterm);
	if (srv->http != NULL)
		evhttp_free(srv->http);
	if (srv->base != NULL)
		event_base_free(srv->base);
	free(srv);
}
