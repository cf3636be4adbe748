/*
 * http.c - the HTTP/1.1 request-head parser and the Twirp error shape.
 *
 * Pure functions over bytes: no I/O, no allocation, no libevent (server.c
 * owns the sockets).  The head is untrusted: every length is bounded before
 * it is looked at, and the framing rules of RFC 9112 that matter against
 * request smuggling are enforced here (one Content-Length, no
 * Transfer-Encoding, no obs-fold, no whitespace before a colon).  A line may
 * end in CRLF or a bare LF (RFC 9112 §2.2); a bare CR is refused.
 */
#include <string.h>
#include <strings.h>

#include "http.h"

static void
set_err(struct http_error *err, const char *code, const char *msg,
        const char *limit, uint64_t max)
{
	err->code = code;
	err->msg = msg;
	err->limit = limit;
	err->max = max;
}

long
http_head_end(const char *p, size_t len, const struct http_limits *lim,
              struct http_error *err)
{
	size_t i = 0, line_end;
	const char *nl;

	/* Empty lines before the request line are ignored (§2.2); they
	 * count against the line limit. */
	while (i < len && (p[i] == '\r' || p[i] == '\n'))
		i++;
	nl = i < len ? memchr(p + i, '\n', len - i) : NULL;
	if (nl == NULL) {
		if (len >= HTTP_MAX_LINE) {
			set_err(err, "malformed", "request line too long", NULL,
			        0);
			return -1;
		}
		return 0;
	}
	line_end = (size_t)(nl - p) + 1;
	if (line_end > HTTP_MAX_LINE) {
		set_err(err, "malformed", "request line too long", NULL, 0);
		return -1;
	}
	/* The header block: up to and including the empty line. */
	for (i = line_end; i < len;) {
		nl = memchr(p + i, '\n', len - i);
		if (nl == NULL)
			break;
		if (nl == p + i || (nl == p + i + 1 && p[i] == '\r')) {
			if ((size_t)(nl - p) + 1 - line_end >
			    lim->max_header_bytes + 2)
				break;
			return (long)(nl - p) + 1;
		}
		i = (size_t)(nl - p) + 1;
	}
	if (len - line_end > lim->max_header_bytes + 2) {
		set_err(err, "malformed", "request header block too large",
		        "max_header_bytes", lim->max_header_bytes);
		return -1;
	}
	return 0;
}

/* RFC 9110 §5.6.2 tchar. */
static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Splits off the next line of `*p` (ending before `end`): NUL-terminates
 * it in place (dropping CR LF) and returns it, or NULL on a bare CR. */
static char *
next_line(char **p, char *end, size_t *len)
{
	char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
	char *e;

	if (nl == NULL)
		return NULL; /* cannot happen after http_head_end() */
	e = nl;
	if (e > s && e[-1] == '\r')
		e--;
	*e = '\0';
	*p = nl + 1;
	*len = (size_t)(e - s);
	if (memchr(s, '\r', *len) != NULL)
		return NULL;
	return s;
}

/* Whether the comma-separated list `v` holds `token` (case-insensitive). */
static bool
list_has(const char *v, const char *token)
{
	size_t n = strlen(token);

	while (*v != '\0') {
		size_t len;

		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		len = strcspn(v, ", \t");
		if (len == n && strncasecmp(v, token, n) == 0) {
			const char *rest = v + len;
			while (*rest == ' ' || *rest == '\t')
				rest++;
			if (*rest == '\0' || *rest == ',')
				return true;
		}
		v += len;
		while (*v != '\0' && *v != ',')
			v++;
	}
	return false;
}

static int
parse_request_line(struct http_request *out, char *line, size_t len,
                   struct http_error *err)
{
	char *sp1, *sp2, *version;

	for (sp1 = line; is_tchar((unsigned char)*sp1); sp1++)
		;
	if (sp1 == line || *sp1 != ' ' || sp1 - line > 16) {
		set_err(err, "malformed", "malformed request line", NULL, 0);
		return -1;
	}
	*sp1 = '\0';
	sp2 = strchr(sp1 + 1, ' ');
	if (sp2 == NULL || sp2 == sp1 + 1) {
		set_err(err, "malformed", "malformed request line", NULL, 0);
		return -1;
	}
	*sp2 = '\0';
	for (const char *t = sp1 + 1; *t != '\0'; t++)
		if ((unsigned char)*t <= ' ' || *t == 0x7f) {
			set_err(err, "malformed",
			        "control character in the request target", NULL,
			        0);
			return -1;
		}
	version = sp2 + 1;
	if ((size_t)(version - line) + 8 != len ||
	    strncmp(version, "HTTP/1.", 7) != 0 ||
	    (version[7] != '0' && version[7] != '1')) {
		set_err(err, "malformed",
		        "malformed request line or unsupported HTTP version "
		        "(HTTP/1.0 and HTTP/1.1 only)",
		        NULL, 0);
		return -1;
	}
	out->method = line;
	out->target = sp1 + 1;
	out->minor = version[7] - '0';
	return 0;
}

static int
parse_content_length(uint64_t *out, const char *v, struct http_error *err)
{
	uint64_t n = 0;

	if (*v == '\0') {
		set_err(err, "malformed", "invalid Content-Length", NULL, 0);
		return -1;
	}
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9' || n > (UINT64_MAX - 9) / 10) {
			set_err(err, "malformed", "invalid Content-Length",
			        NULL, 0);
			return -1;
		}
		n = n * 10 + (uint64_t)(*v - '0');
	}
	*out = n;
	return 0;
}

int
http_parse_head(struct http_request *out, char *head, size_t len,
                const struct http_limits *lim, struct http_error *err)
{
	char *p = head, *end = head + len, *line;
	size_t llen;
	int nhost = 0, ncl = 0;
	const char *conn = NULL, *expect = NULL;

	memset(out, 0, offsetof(struct http_request, headers));
	out->content_length = 0;
	out->chunked = false;
	out->keep_alive = false;
	out->expect_continue = false;
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if ((line = next_line(&p, end, &llen)) == NULL) {
		set_err(err, "malformed", "bare CR in the request line", NULL,
		        0);
		return -1;
	}
	if (parse_request_line(out, line, llen, err) != 0)
		return -1;
	for (;;) {
		char *colon, *v, *ve;

		if ((line = next_line(&p, end, &llen)) == NULL) {
			set_err(err, "malformed", "bare CR in a header field",
			        NULL, 0);
			return -1;
		}
		if (llen == 0)
			break;
		if (line[0] == ' ' || line[0] == '\t') {
			set_err(err, "malformed",
			        "obsolete line folding in a header field", NULL,
			        0);
			return -1;
		}
		for (colon = line; is_tchar((unsigned char)*colon); colon++)
			;
		if (colon == line || *colon != ':') {
			set_err(err, "malformed", "malformed header field",
			        NULL, 0);
			return -1;
		}
		if (out->nheaders == HTTP_MAX_HEADERS) {
			set_err(err, "malformed", "too many header fields",
			        "header_fields", HTTP_MAX_HEADERS);
			return -1;
		}
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		ve = line + llen;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		*ve = '\0';
		for (const char *c = v; c < ve; c++)
			if ((unsigned char)*c < ' ' && *c != '\t') {
				set_err(err, "malformed",
				        "control character in a header field",
				        NULL, 0);
				return -1;
			}
		out->headers[out->nheaders].name = line;
		out->headers[out->nheaders].value = v;
		out->nheaders++;
		if (strcasecmp(line, "Host") == 0) {
			nhost++;
		} else if (strcasecmp(line, "Content-Length") == 0) {
			if (++ncl > 1) {
				set_err(err, "malformed",
				        "more than one Content-Length", NULL,
				        0);
				return -1;
			}
			if (parse_content_length(&out->content_length, v,
			                         err) != 0)
				return -1;
		} else if (strcasecmp(line, "Transfer-Encoding") == 0) {
			/* Only a lone "chunked", once: anything else could be
			 * framed differently by a proxy in front. */
			if (out->chunked || strcasecmp(v, "chunked") != 0 ||
			    out->minor == 0) {
				set_err(err, "malformed",
				        "unsupported Transfer-Encoding (only "
				        "chunked, in HTTP/1.1)",
				        NULL, 0);
				return -1;
			}
			out->chunked = true;
		} else if (strcasecmp(line, "Connection") == 0) {
			conn = v;
		} else if (strcasecmp(line, "Expect") == 0) {
			expect = v;
		}
	}
	if (out->chunked && ncl > 0) {
		set_err(err, "malformed",
		        "both Transfer-Encoding and Content-Length", NULL, 0);
		return -1;
	}
	if (out->minor == 1 && nhost != 1) {
		set_err(err, "malformed",
		        "an HTTP/1.1 request needs exactly one Host", NULL, 0);
		return -1;
	}
	if (out->content_length > lim->max_body_bytes) {
		set_err(err, "malformed", "request body too large",
		        "max_body_bytes", lim->max_body_bytes);
		return -1;
	}
	if (out->minor == 1)
		out->keep_alive = conn == NULL || !list_has(conn, "close");
	else
		out->keep_alive = conn != NULL && list_has(conn, "keep-alive");
	out->expect_continue = out->minor == 1 && expect != NULL &&
	                       strcasecmp(expect, "100-continue") == 0;
	return 0;
}

const char *
http_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
http_path_decode(char out[HTTP_MAX_PATH], const char *target,
                 struct http_error *err)
{
	size_t n = 0;

	if (target[0] != '/') {
		set_err(err, "malformed",
		        "the request target must be a path (\"/...\")", NULL,
		        0);
		return -1;
	}
	for (const char *s = target; *s != '\0' && *s != '?' && *s != '#';
	     s++) {
		int c = (unsigned char)*s;

		if (c == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
			if (lo < 0 || (hi == 0 && lo == 0)) {
				set_err(err, "malformed",
				        "bad percent-escape in the path", NULL,
				        0);
				return -1;
			}
			c = hi * 16 + lo;
			s += 2;
		}
		if (n + 1 >= HTTP_MAX_PATH) {
			set_err(err, "malformed", "path too long", NULL, 0);
			return -1;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

enum { CH_SIZE, CH_DATA, CH_DATA_CRLF, CH_TRAILER, CH_DONE };

#define HTTP_CHUNK_LINE_MAX 1024

/* The next line of p[0..len) ending in LF: its length with the LF, 0 when
 * incomplete, -1 when over `max`. */
static long
line_len(const char *p, size_t len, size_t max)
{
	const char *nl = memchr(p, '\n', len < max ? len : max);

	if (nl != NULL)
		return (long)(nl - p) + 1;
	return len >= max ? -1 : 0;
}

long
http_chunked_next(struct http_chunked *st, const char *p, size_t len,
                  const char **data, size_t *dlen, bool *done,
                  const struct http_limits *lim, struct http_error *err)
{
	long n;

	*data = NULL;
	*dlen = 0;
	*done = st->state == CH_DONE;
	if (len == 0 || *done)
		return 0;
	switch (st->state) {
	case CH_SIZE: {
		uint64_t size = 0;
		long i = 0;

		if ((n = line_len(p, len, HTTP_CHUNK_LINE_MAX)) <= 0)
			goto bad_line_or_more;
		for (; i < n && hexval(p[i]) >= 0; i++) {
			if (size > (UINT64_MAX >> 4))
				goto bad_line;
			size = size * 16 + (uint64_t)hexval(p[i]);
		}
		/* Hex digits, then CRLF (or LF), or an extension (";...",
		 * skipped) after optional blanks. */
		if (i == 0)
			goto bad_line;
		if (p[i] != '\n' && !(p[i] == '\r' && i + 2 == n)) {
			while (p[i] == ' ' || p[i] == '\t')
				i++;
			if (p[i] != ';')
				goto bad_line;
		}
		if (size > lim->max_body_bytes - st->total) {
			set_err(err, "malformed", "request body too large",
			        "max_body_bytes", lim->max_body_bytes);
			return -1;
		}
		st->left = size;
		st->state = size == 0 ? CH_TRAILER : CH_DATA;
		return n;
	}
	case CH_DATA:
		*data = p;
		*dlen = len < st->left ? len : (size_t)st->left;
		st->left -= *dlen;
		st->total += *dlen;
		if (st->left == 0)
			st->state = CH_DATA_CRLF;
		return (long)*dlen;
	case CH_DATA_CRLF:
		if (p[0] == '\n') {
			st->state = CH_SIZE;
			return 1;
		}
		if (p[0] != '\r')
			goto bad_line;
		if (len < 2)
			return 0;
		if (p[1] != '\n')
			goto bad_line;
		st->state = CH_SIZE;
		return 2;
	default: /* CH_TRAILER: fields until an empty line */
		if ((n = line_len(p, len, HTTP_CHUNK_LINE_MAX)) <= 0)
			goto bad_line_or_more;
		st->trailer += (size_t)n;
		if (st->trailer > lim->max_header_bytes) {
			set_err(err, "malformed", "chunked trailer too large",
			        "max_header_bytes", lim->max_header_bytes);
			return -1;
		}
		if (n == 1 || (n == 2 && p[0] == '\r')) {
			st->state = CH_DONE;
			*done = true;
		}
		return n;
	}
bad_line_or_more:
	if (n == 0)
		return 0;
bad_line:
	set_err(err, "malformed", "malformed chunked body", NULL, 0);
	return -1;
}

int
http_twirp_status(const char *code)
{
	static const struct {
		const char *code;
		int status;
	} map[] = {{"invalid_argument", 400},
	           {"malformed", 400},
	           {"out_of_range", 400},
	           {"unauthenticated", 401},
	           {"permission_denied", 403},
	           {"not_found", 404},
	           {"bad_route", 404},
	           {"already_exists", 409},
	           {"aborted", 409},
	           {"failed_precondition", 412},
	           {"resource_exhausted", 429},
	           {"unimplemented", 501},
	           {"unavailable", 503},
	           {"deadline_exceeded", 408},
	           {"canceled", 408}};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(map); i++)
		if (strcmp(map[i].code, code) == 0)
			return map[i].status;
	return 500;
}

int
http_twirp_error(struct buf *out, const char *code, const char *msg,
                 const char *meta_key, const char *meta_value)
{
	buf_puts(out, "{\"code\":");
	util_json_string(out, code);
	buf_puts(out, ",\"msg\":");
	util_json_string(out, msg);
	if (meta_key != NULL) {
		buf_puts(out, ",\"meta\":{");
		util_json_string(out, meta_key);
		buf_putc(out, ':');
		util_json_string(out, meta_value);
		buf_putc(out, '}');
	}
	buf_putc(out, '}');
	return http_twirp_status(code);
}

const char *
http_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 412:
		return "Precondition Failed";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}
