/*
 * server.h - the event loop and the HTTP front (the only includer of
 * libevent).  Owns the listening socket, signal handling, per-connection
 * limits and routing of HTTP requests to the rest of the daemon.
 */
#ifndef CSIRT_SERVER_H
#define CSIRT_SERVER_H

#include <stdint.h>

#include "config.h"

struct buf;
struct crypto_tls;
struct server;
struct server_req;

struct server_ops {
	void *arg;
	/* Current ledger sequence number, for /healthz. */
	uint64_t (*ledger_seq)(void *arg);
	/* A request under /twirp/ (any method); the callee must answer it
	 * exactly once with server_req_reply(), now or later on the loop
	 * thread. */
	void (*rpc)(void *rpc_arg, struct server_req *req);
	void *rpc_arg;
	/* Borrowed, must outlive the server; NULL serves plain HTTP.  Set,
	 * every connection is TLS (see crypto_tls_new()). */
	struct crypto_tls *tls;
	/* GET /metrics: appends Prometheus text to `out` (may be NULL). */
	void (*metrics)(void *metrics_arg, struct buf *out);
	void *metrics_arg;
	/* SIGHUP: reload what can be reloaded (may be NULL). */
	void (*reload)(void *reload_arg);
	void *reload_arg;
	/* The one timer (may be NULL): runs on the loop thread when the delay
	 * given to server_timer_set() has passed; never while stopping. */
	void (*timer)(void *timer_arg);
	void *timer_arg;
	/* Loop thread, once, when the server starts stopping (signal or
	 * server_stop()), before it waits for in-flight requests: answer
	 * the parked ones (may be NULL). */
	void (*stop)(void *stop_arg);
	void *stop_arg;
	/* The bare repository served read-only for dumb-HTTP git clones at
	 * /ledger.git/ (borrowed; NULL serves nothing there). */
	const char *ledger_dir;
	/* Decides whether a request may read the ledger, given its
	 * Authorization header (NULL when absent): 0 (allowed),
	 * CSIRT_EUNAUTHENTICATED or CSIRT_EDENIED with the message set, or
	 * another error.  Fills `actor` with the login when known.  Required
	 * with ledger_dir; loop thread. */
	int (*ledger_auth)(void *ledger_auth_arg, const char *authorization,
	                   char *actor, size_t actor_size);
	void *ledger_auth_arg;
};

/* Loop thread: (re)arms ops.timer to fire once after `delay_ms` (0: at
 * the next loop turn; delays over a day fire after a day, so the callee
 * re-arms); negative cancels.  A no-op without ops.timer. */
void server_timer_set(struct server *srv, int64_t delay_ms);

/* Loop thread: a one-shot timer that runs fn(arg) on the loop thread
 * after `delay_ms` (clamped to [0, a day]); never while stopping.  Caller
 * frees with server_timer_free(), which cancels it if it has not fired
 * (freeing from within fn is allowed).  Aborts when out of memory. */
struct server_timer;
struct server_timer *server_timer_new(struct server *srv, int64_t delay_ms,
                                      void (*fn)(void *arg), void *arg);
/* Loop thread.  NULL is a no-op. */
void server_timer_free(struct server_timer *t);

/* Applies new request limits (body, headers, idle timeout) to future
 * requests; used by SIGHUP reload. */
void server_set_limits(struct server *srv, const struct config *cfg);

/* ---- requests (loop thread only) */

/* "POST", "GET", ... */
const char *server_req_method(const struct server_req *req);
/* The decoded path, e.g. "/twirp/csirt.v1.CaseService/GetCase". */
const char *server_req_path(const struct server_req *req);
/* A request header, or NULL.  Borrowed until the reply. */
const char *server_req_header(const struct server_req *req, const char *name);
/* The body; contiguous, borrowed until the reply. */
const void *server_req_body(struct server_req *req, size_t *len);
/* A short id for logs ("r1a2b3c"). */
const char *server_req_id(const struct server_req *req);
/* The name in the client's verified certificate (mTLS), for mapping to a
 * user; NULL without one.  Borrowed until the reply. */
const char *server_req_peer_name(const struct server_req *req);
/* Answers and releases the request. */
void server_req_reply(struct server_req *req, int status,
                      const char *content_type, const void *body, size_t len);
/* Attaches a value to the request log line ("actor", "method"). */
void server_req_log(struct server_req *req, const char *key, const char *value);

/* Runs fn(arg) on the loop thread soon; callable from any thread. */
void server_post(struct server *srv, void (*fn)(void *arg), void *arg);

/* Binds the configured address; caller frees with server_free(). */
int server_new(struct server **out, const struct config *cfg,
               const struct server_ops *ops);

/* Runs the loop until SIGINT/SIGTERM (or server_stop()). */
int server_run(struct server *srv);

/* Asks the loop to stop gracefully; safe from the loop thread only. */
void server_stop(struct server *srv);

/* "127.0.0.1:41234": the bound address.  Borrowed. */
const char *server_address(const struct server *srv);

/* "https" when serving TLS, else "http". */
const char *server_scheme(const struct server *srv);

void server_free(struct server *srv);

#endif
