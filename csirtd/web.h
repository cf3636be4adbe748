/*
 * web.h - the web client (clients/web/) served by csirtd at "/": the
 * embedded asset table, content types, ETags and the security headers.
 * Plain C with no HTTP library: server.c asks web_respond() what to send
 * and sends it, so this module is tested without a socket and survives a
 * change of HTTP front.
 */
#ifndef CSIRT_WEB_H
#define CSIRT_WEB_H

#include <stdbool.h>
#include <stddef.h>

/* One file of clients/web/ (or generated next to it, labels.js), embedded
 * at build time by csirtd/web-embed.cmake into web_assets.c: nothing is
 * read from disk at run time, so no path can reach outside the table. */
struct web_asset {
	const char *name; /* "index.html", "app.js", "views/case.js" */
	const unsigned char *data;
	size_t len;
	const char *etag; /* "\"<16 hex of SHA-256>\"", quoted */
};
/* Terminated by a row whose name is NULL. */
extern const struct web_asset web_assets[];

/* Served under this prefix; "/" is index.html. */
#define WEB_PREFIX "/web/"

#define WEB_HEADERS_MAX 12

struct web_header {
	const char *name;
	const char *value; /* static */
};

/* What to answer.  Everything points into static storage: nothing to
 * free.  For HEAD the body is still set (Content-Length is its length);
 * the HTTP front must not send it. */
struct web_reply {
	int status;
	const void *body;
	size_t len;
	size_t n_headers;
	struct web_header headers[WEB_HEADERS_MAX];
};

/* True when `path` (percent-decoded, without the query) belongs to the web
 * client: "/", "/index.html" and everything under WEB_PREFIX. */
bool web_path(const char *path);

/* Answers a request for a web path: 200 with the asset, 304 when
 * `if_none_match` (the header, or NULL) names its ETag, 404 for a name not
 * in the table, 405 for a method other than GET and HEAD.  Every answer
 * carries the security headers (web_security_headers). */
void web_respond(struct web_reply *out, const char *method, const char *path,
                 const char *if_none_match);

/* The value of the header `name` (exact case) in `r`, or NULL. */
const char *web_reply_header(const struct web_reply *r, const char *name);

/* The asset called `name`, or NULL. */
const struct web_asset *web_asset_find(const char *name);

/* "text/javascript; charset=utf-8" for "app.js"; NULL for an extension
 * the web client does not use. */
const char *web_content_type(const char *name);

/* The Content-Security-Policy sent with every web answer. */
extern const char web_csp[];

#endif
