/*
 * cli_http.h - one HTTP/1.1 request over a fresh connection (plain or TLS
 * through crypto.c), for the CLI.  Bodies are framed by Content-Length.
 */
#ifndef CSIRT_CLI_HTTP_H
#define CSIRT_CLI_HTTP_H

#include <stddef.h>

#include "util.h"

struct cli_http_req {
	const char *url;    /* http://HOST[:PORT][/PREFIX] or https://... */
	const char *path;   /* appended to the URL's prefix */
	const char *cafile; /* https: PEM CA bundle, NULL for the system */
	const char *content_type;
	const char *token; /* Authorization: Bearer; NULL for none */
	const void *body;
	size_t body_len;
};

struct cli_http_resp {
	int status;
	char content_type[128];
	struct buf body;
};

/*
 * POSTs the request and reads the whole response.  Returns 0 when a
 * response arrived (any status), or a negative code with a message
 * (csirt_error_msg()) when the URL is bad (CSIRT_EINVAL) or the server
 * cannot be reached or answered garbage (CSIRT_EUNAVAILABLE).  The caller
 * frees resp->body with buf_free().
 */
int cli_http_post(struct cli_http_resp *resp, const struct cli_http_req *req);

#endif
