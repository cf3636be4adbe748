/*
 * http.h - a pure HTTP/1.1 request-head parser (RFC 9112) and the Twirp
 * error shape.  No I/O and no libevent: the server hands it bytes and gets
 * back "need more", a parsed head, or an error carrying the Twirp code and
 * status to answer with.  Nothing here allocates.
 */
#ifndef CSIRT_HTTP_H
#define CSIRT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Fixed limits; the configurable ones are in struct http_limits. */
#define HTTP_MAX_LINE 8192  /* request line, CRLF included */
#define HTTP_MAX_HEADERS 64 /* header fields per request */
#define HTTP_MAX_PATH 512   /* decoded path, NUL included */

struct http_limits {
	size_t max_header_bytes; /* header fields after the request line */
	size_t max_body_bytes;
};

struct http_header {
	const char *name, *value; /* NUL-terminated, inside the head */
};

struct http_request {
	const char *method; /* token, e.g. "POST"; inside the head */
	const char *target; /* raw request-target; inside the head */
	int minor;          /* HTTP/1.<minor>: 0 or 1 */
	size_t nheaders;
	struct http_header headers[HTTP_MAX_HEADERS];
	uint64_t content_length; /* 0 without a body */
	bool chunked;            /* Transfer-Encoding: chunked */
	bool keep_alive;         /* per the version and Connection */
	bool expect_continue;    /* Expect: 100-continue */
};

/* An error the HTTP layer answers itself: always a Twirp JSON error and
 * always followed by closing the connection (the stream cannot be trusted
 * to resync after it). */
struct http_error {
	const char *code;  /* Twirp code, e.g. "malformed" */
	const char *msg;   /* static text */
	const char *limit; /* meta "limit": the setting exceeded, or NULL */
	uint64_t max;      /* meta "max" with `limit` */
};

/* Finds the end of the request head in `p[0..len)`: returns its length
 * (through the blank line), 0 when more bytes are needed, or -1 with `err`
 * set when the head can no longer fit the limits (request line over
 * HTTP_MAX_LINE, header block over max_header_bytes). */
long http_head_end(const char *p, size_t len, const struct http_limits *lim,
                   struct http_error *err);

/* Parses a complete head of `len` bytes (as found by http_head_end()) in
 * place: `head` is modified and the strings in `out` point into it.
 * Returns 0, or -1 with `err` set.  Refuses what RFC 9112 says to refuse,
 * and what could let two parsers disagree on where a request ends: a bad
 * request line or version, whitespace before a colon, obs-fold, control
 * characters, no or several Host fields in HTTP/1.1, a repeated or invalid
 * Content-Length, Content-Length together with Transfer-Encoding, any
 * Transfer-Encoding but a lone "chunked" (and any in HTTP/1.0), and a
 * declared body over max_body_bytes. */
int http_parse_head(struct http_request *out, char *head, size_t len,
                    const struct http_limits *lim, struct http_error *err);

/* The state of a chunked body being decoded (zero it to start). */
struct http_chunked {
	int state;
	uint64_t left;  /* bytes of the current chunk still to come */
	uint64_t total; /* body bytes so far */
	size_t trailer; /* trailer bytes so far */
};

/* Decodes a chunked body from p[0..len), the bytes received so far.
 * Returns how many bytes it consumed, with the body bytes among them in
 * *data (inside p; *dlen of them, possibly 0): call again on the rest
 * until it returns 0 (more bytes needed) or *done.  -1 with `err` set on
 * a bad chunk line (over 1 KiB, not hex, missing CRLF), a body over
 * max_body_bytes, or trailers over max_header_bytes.  Chunk extensions
 * and trailer fields are skipped. */
long http_chunked_next(struct http_chunked *st, const char *p, size_t len,
                       const char **data, size_t *dlen, bool *done,
                       const struct http_limits *lim, struct http_error *err);

/* A header's value (case-insensitive name), or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/* Percent-decodes the path of `target` (up to "?" or "#") into `out`
 * (HTTP_MAX_PATH bytes).  Returns 0, or -1 with `err` set for a target that
 * is not a path ("/..."), a bad or NUL escape, or a path too long. */
int http_path_decode(char out[HTTP_MAX_PATH], const char *target,
                     struct http_error *err);

/* The HTTP status of a Twirp error code (spec v7); 500 when unknown. */
int http_twirp_status(const char *code);

/* Appends the Twirp error body {"code":…,"msg":…[,"meta":{…}]} to `out`;
 * `meta_key` NULL for none.  Returns the status to answer with. */
int http_twirp_error(struct buf *out, const char *code, const char *msg,
                     const char *meta_key, const char *meta_value);

/* The reason phrase of a status ("OK", "Bad Request", ...). */
const char *http_reason(int status);

#endif
