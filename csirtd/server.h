/*
 * server.h - the event loop and the HTTP front (the only includer of
 * libevent).  Owns the listening socket, signal handling, per-connection
 * limits and routing of HTTP requests to the rest of the daemon.
 */
#ifndef CSIRT_SERVER_H
#define CSIRT_SERVER_H

#include <stdint.h>

#include "config.h"

struct server;

struct server_ops {
	void *arg;
	/* Current ledger sequence number, for /healthz. */
	uint64_t (*ledger_seq)(void *arg);
};

/* Binds the configured address; caller frees with server_free(). */
int server_new(struct server **out, const struct config *cfg,
               const struct server_ops *ops);

/* Runs the loop until SIGINT/SIGTERM (or server_stop()). */
int server_run(struct server *srv);

/* Asks the loop to stop gracefully; safe from the loop thread only. */
void server_stop(struct server *srv);

/* "127.0.0.1:41234": the bound address.  Borrowed. */
const char *server_address(const struct server *srv);

void server_free(struct server *srv);

#endif
