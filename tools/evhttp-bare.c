/*
 * evhttp-bare - the reference for csirt-bench: libevent's evhttp answering
 * every request with 200 and a fixed body, nothing else.  What csirtd
 * does beyond this (routing, authentication, decoding, the index, the
 * ledger) is what csirt-bench's ratio measures.
 *
 *   evhttp-bare [--size BYTES] [--listen 127.0.0.1:0]
 *
 * Prints "listening on http://ADDR" once bound; stops on SIGTERM/SIGINT.
 * Not part of the daemon: the one-includer rule (libevent only in
 * csirtd/server.c) names this file as its one exception.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

struct bare {
	char *body;
	size_t size;
};

static void
answer_cb(struct evhttp_request *req, void *arg)
{
	struct bare *b = arg;
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Content-Type", "application/protobuf");
	evbuffer_add_reference(out, b->body, b->size, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option longs[] = {
	    {"size", required_argument, NULL, 's'},
	    {"listen", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *listen = "127.0.0.1:0";
	struct event_base *base = NULL;
	struct evhttp *http = NULL;
	struct evhttp_bound_socket *bound;
	struct event *sigterm = NULL, *sigint = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct bare b = {NULL, 512};
	char host[64], name[INET6_ADDRSTRLEN];
	char *colon, *end;
	int ch, rc = 1;

	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 's':
			b.size = strtoul(optarg, &end, 10);
			if (*end != '\0' || b.size > 64u * 1024 * 1024) {
				fprintf(stderr, "evhttp-bare: bad --size\n");
				return 2;
			}
			break;
		case 'l':
			listen = optarg;
			break;
		case 'h':
			printf("usage: evhttp-bare [--size BYTES] [--listen "
			       "HOST:PORT]\n");
			return 0;
		default:
			fprintf(stderr, "usage: evhttp-bare [--size BYTES] "
			                "[--listen HOST:PORT]\n");
			return 2;
		}
	}
	snprintf(host, sizeof(host), "%s", listen);
	colon = strrchr(host, ':');
	if (colon == NULL) {
		fprintf(stderr, "evhttp-bare: --listen wants HOST:PORT\n");
		return 2;
	}
	*colon = '\0';
	b.body = malloc(b.size + 1);
	if (b.body == NULL)
		return 1;
	memset(b.body, 'x', b.size);
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL ||
	    (http = evhttp_new(base)) == NULL)
		goto done;
	evhttp_set_gencb(http, answer_cb, &b);
	bound = evhttp_bind_socket_with_handle(http, host,
	                                       (ev_uint16_t)atoi(colon + 1));
	if (bound == NULL) {
		fprintf(stderr, "evhttp-bare: cannot bind %s\n", listen);
		goto done;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bound),
	                (struct sockaddr *)&ss, &sslen) < 0)
		goto done;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, name, sizeof(name));
		printf("listening on http://[%s]:%u\n", name,
		       ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, name, sizeof(name));
		printf("listening on http://%s:%u\n", name,
		       ntohs(s4->sin_port));
	}
	fflush(stdout);
	sigterm = evsignal_new(base, SIGTERM, stop_cb, base);
	sigint = evsignal_new(base, SIGINT, stop_cb, base);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL))
		goto done;
	rc = event_base_dispatch(base) < 0;
done:
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	if (http != NULL)
		evhttp_free(http);
	if (base != NULL)
		event_base_free(base);
	free(b.body);
	return rc;
}
