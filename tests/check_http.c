/*
 * check_http.c - the HTTP/1.1 request-head parser (http.c) on its own:
 * framing, limits, the request-smuggling rules of RFC 9112, keep-alive by
 * version, Expect: 100-continue, path decoding and the Twirp error shape;
 * then the HTTP front of the real daemon over raw sockets and curl: errors
 * of the HTTP layer, pipelining, keep-alive, HTTP/1.0, 100-continue, the
 * connection cap, dribbling and departing clients, and SIGTERM draining.
 */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apiclient.h"
#include "codec.h"
#include "http.h"
#include "suites.h"

static const struct http_limits lim = {1024, 4096};

/* Frames and parses `text` (copied: the parser works in place).  Returns
 * 0, or -1 with `err` set; a head that is incomplete fails the test. */
static int
parse(struct http_request *req, char *copy, const char *text,
      struct http_error *err)
{
	size_t len = strlen(text);
	long end;

	memcpy(copy, text, len + 1);
	end = http_head_end(copy, len, &lim, err);
	if (end < 0)
		return -1;
	ck_assert_msg(end > 0, "incomplete: %s", text);
	return http_parse_head(req, copy, (size_t)end, &lim, err);
}

START_TEST(test_http_parses_a_post)
{
	static const char text[] =
	    "POST /twirp/csirt.v1.CaseService/GetCase HTTP/1.1\r\n"
	    "Host: x\r\ncontent-type:  application/json \r\n"
	    "Content-Length: 12\r\n\r\n{\"id\":\"c1\"}";
	struct http_request req;
	struct http_error err;
	char copy[sizeof(text)], path[HTTP_MAX_PATH];

	ck_assert_int_eq(parse(&req, copy, text, &err), 0);
	ck_assert_str_eq(req.method, "POST");
	ck_assert_str_eq(req.target, "/twirp/csirt.v1.CaseService/GetCase");
	ck_assert_int_eq(req.minor, 1);
	ck_assert_uint_eq(req.content_length, 12);
	ck_assert(req.keep_alive);
	ck_assert(!req.expect_continue);
	/* Names are case-insensitive; values lose their outer blanks. */
	ck_assert_str_eq(http_header(&req, "Content-Type"), "application/json");
	ck_assert_ptr_null(http_header(&req, "Authorization"));
	ck_assert_int_eq(http_path_decode(path, req.target, &err), 0);
	ck_assert_str_eq(path, "/twirp/csirt.v1.CaseService/GetCase");
}
END_TEST

START_TEST(test_http_needs_more_until_the_blank_line)
{
	static const char text[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	struct http_error err;

	for (size_t n = 0; n < sizeof(text) - 1; n++)
		ck_assert_int_eq(http_head_end(text, n, &lim, &err), 0);
	ck_assert_int_eq(http_head_end(text, sizeof(text) - 1, &lim, &err),
	                 (long)(sizeof(text) - 1));
	/* Bare LF line ends and leading empty lines are accepted. */
	ck_assert_int_eq(
	    http_head_end("\r\nGET / HTTP/1.0\n\n", 18, &lim, &err), 18);
}
END_TEST

START_TEST(test_http_keep_alive_by_version)
{
	struct http_request req;
	struct http_error err;
	char copy[256];

	ck_assert_int_eq(parse(&req, copy, "GET / HTTP/1.0\r\n\r\n", &err), 0);
	ck_assert_int_eq(req.minor, 0);
	ck_assert(!req.keep_alive);
	ck_assert_int_eq(
	    parse(&req, copy,
	          "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &err),
	    0);
	ck_assert(req.keep_alive);
	ck_assert_int_eq(
	    parse(&req, copy,
	          "GET / HTTP/1.1\r\nHost: x\r\nConnection: te, close\r\n\r\n",
	          &err),
	    0);
	ck_assert(!req.keep_alive);
	ck_assert_int_eq(
	    parse(&req, copy,
	          "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n"
	          "Content-Length: 3000\r\n\r\n",
	          &err),
	    0);
	ck_assert(req.expect_continue);
}
END_TEST

START_TEST(test_http_refuses_smuggling_and_bad_framing)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	     "Content-Length: 5\r\n\r\n",
	     "more than one Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n",
	     "invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
	     "invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: x\r\n"
	     "Content-Length: 99999999999999999999999\r\n\r\n",
	     "invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	     "Content-Length: 5\r\n\r\n",
	     "both Transfer-Encoding and Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, "
	     "chunked\r\n\r\n",
	     "unsupported Transfer-Encoding"},
	    {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n",
	     "unsupported Transfer-Encoding"},
	    {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	     "unsupported Transfer-Encoding"},
	    {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n",
	     "malformed header field"},
	    {"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
	     "obsolete line folding"},
	    {"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r2\r\n\r\n", "bare CR"},
	    {"GET / HTTP/1.1\r\n\r\n", "exactly one Host"},
	    {"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
	     "exactly one Host"},
	    {"GET / HTTP/2.0\r\n\r\n", "unsupported HTTP version"},
	    {"GET /  HTTP/1.1\r\n\r\n", "malformed request line"},
	    {"GET\r\n\r\n", "malformed request line"},
	    {"G(T / HTTP/1.1\r\n\r\n", "malformed request line"},
	    {"GET / HTTP/1.1 \r\n\r\n", "unsupported HTTP version"},
	    {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4097\r\n\r\n",
	     "request body too large"},
	};
	struct http_request req;
	struct http_error err;
	char copy[256];

	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		ck_assert_msg(parse(&req, copy, bad[i].text, &err) == -1, "%s",
		              bad[i].text);
		ck_assert_str_eq(err.code, "malformed");
		ck_assert_msg(strstr(err.msg, bad[i].msg) != NULL,
		              "%s: got \"%s\"", bad[i].text, err.msg);
	}
	/* The body limit names itself in the error's meta. */
	ck_assert_str_eq(err.limit, "max_body_bytes");
	ck_assert_uint_eq(err.max, 4096);
}
END_TEST

START_TEST(test_http_limits_the_head)
{
	static char text[HTTP_MAX_LINE + 2048];
	struct http_request req;
	struct http_error err;
	size_t n;

	/* A request line without end, at the line limit. */
	memset(text, 'a', sizeof(text));
	ck_assert_int_eq(http_head_end(text, HTTP_MAX_LINE - 1, &lim, &err), 0);
	ck_assert_int_eq(http_head_end(text, HTTP_MAX_LINE, &lim, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "request line too long"));
	/* A header block over max_header_bytes, complete or not. */
	n = (size_t)snprintf(text, sizeof(text),
	                     "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(text + n, 'b', 1100);
	n += 1100;
	ck_assert_int_eq(http_head_end(text, n, &lim, &err), -1);
	ck_assert_str_eq(err.limit, "max_header_bytes");
	memcpy(text + n, "\r\n\r\n", 4);
	ck_assert_int_eq(http_head_end(text, n + 4, &lim, &err), -1);
	/* Too many fields. */
	n = (size_t)snprintf(text, sizeof(text),
	                     "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "A%d: 1\r\n",
		                      i);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\r\n");
	ck_assert_int_eq(http_head_end(text, n, &lim, &err), (long)n);
	ck_assert_int_eq(http_parse_head(&req, text, n, &lim, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "too many header fields"));
}
END_TEST

/* Decodes `body` fed `step` bytes at a time (as they might arrive);
 * returns 0 with the decoded bytes in `out`, 1 when incomplete, or -1. */
static int
dechunk(struct buf *out, const char *body, size_t step,
        const struct http_limits *l, struct http_error *err)
{
	struct http_chunked st = {0};
	size_t len = strlen(body), have = 0, off = 0;

	buf_reset(out);
	while (have <= len) {
		const char *data;
		size_t dlen;
		bool done;
		long used = http_chunked_next(&st, body + off, have - off,
		                              &data, &dlen, &done, l, err);

		if (used < 0)
			return -1;
		buf_put(out, data != NULL ? data : "", dlen);
		off += (size_t)used;
		if (done)
			return off == len ? 0 : 2;
		if (used == 0) {
			if (have == len)
				break;
			have = have + step > len ? len : have + step;
		}
	}
	return 1;
}

START_TEST(test_http_decodes_chunked_bodies)
{
	static const char body[] = "5\r\nhello\r\n"
	                           "7;ext=\"x\"\r\n, world\r\n"
	                           "A \t;e\r\n0123456789\n"
	                           "0\r\nX-Trailer: 1\r\n\r\n";
	struct buf out = BUF_INIT;
	struct http_error err;

	/* Whole, and one byte at a time. */
	for (size_t step = 1; step <= sizeof(body); step += sizeof(body) - 1) {
		ck_assert_int_eq(dechunk(&out, body, step, &lim, &err), 0);
		ck_assert_str_eq(out.data, "hello, world0123456789");
	}
	ck_assert_int_eq(dechunk(&out, "0\r\n\r\n", 1, &lim, &err), 0);
	ck_assert_uint_eq(out.len, 0);
	/* Incomplete. */
	ck_assert_int_eq(dechunk(&out, "5\r\nhel", 1, &lim, &err), 1);
	ck_assert_int_eq(dechunk(&out, "0\r\n", 1, &lim, &err), 1);
	/* Malformed. */
	ck_assert_int_eq(dechunk(&out, "x\r\n", 1, &lim, &err), -1);
	ck_assert_str_eq(err.msg, "malformed chunked body");
	ck_assert_int_eq(dechunk(&out, "5\r\nhelloXX", 1, &lim, &err), -1);
	ck_assert_int_eq(dechunk(&out, "5 x\r\n", 1, &lim, &err), -1);
	ck_assert_int_eq(dechunk(&out, "5\rx\n", 1, &lim, &err), -1);
	ck_assert_int_eq(
	    dechunk(&out, "fffffffffffffffffffff\r\n", 1, &lim, &err), -1);
	/* Over max_body_bytes (4096) in total, across chunks. */
	ck_assert_int_eq(dechunk(&out, "800\r\n", 1, &lim, &err), 1);
	{
		struct buf big = BUF_INIT;

		for (int i = 0; i < 3; i++) {
			buf_puts(&big, "800\r\n");
			for (int j = 0; j < 0x800; j++)
				buf_putc(&big, 'b');
			buf_puts(&big, "\r\n");
		}
		ck_assert_int_eq(dechunk(&out, big.data, 4096, &lim, &err), -1);
		ck_assert_str_eq(err.limit, "max_body_bytes");
		buf_free(&big);
	}
	/* Trailers are bounded by max_header_bytes (1024). */
	{
		struct buf t = BUF_INIT;

		buf_puts(&t, "0\r\n");
		for (int i = 0; i < 40; i++)
			buf_puts(&t,
			         "X-Trailer: 0123456789012345678901234567\r\n");
		buf_puts(&t, "\r\n");
		ck_assert_int_eq(dechunk(&out, t.data, 64, &lim, &err), -1);
		ck_assert_str_eq(err.limit, "max_header_bytes");
		buf_free(&t);
	}
	buf_free(&out);
}
END_TEST

START_TEST(test_http_decodes_the_path)
{
	char path[HTTP_MAX_PATH], big[HTTP_MAX_PATH + 8];
	struct http_error err;

	ck_assert_int_eq(
	    http_path_decode(
	        path, "/twirp/csirt.v1.CaseService%2FGetCase?x=%00", &err),
	    0);
	ck_assert_str_eq(path, "/twirp/csirt.v1.CaseService/GetCase");
	ck_assert_int_eq(http_path_decode(path, "/a%3fb#frag", &err), 0);
	ck_assert_str_eq(path, "/a?b");
	/* An encoded NUL would end the string early: refused. */
	ck_assert_int_eq(http_path_decode(path, "/healthz%00x", &err), -1);
	ck_assert_int_eq(http_path_decode(path, "/a%zz", &err), -1);
	ck_assert_int_eq(http_path_decode(path, "/a%4", &err), -1);
	ck_assert_int_eq(http_path_decode(path, "http://x/healthz", &err), -1);
	ck_assert_int_eq(http_path_decode(path, "*", &err), -1);
	big[0] = '/';
	memset(big + 1, 'p', sizeof(big) - 2);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(http_path_decode(path, big, &err), -1);
	ck_assert_str_eq(err.msg, "path too long");
}
END_TEST

START_TEST(test_http_twirp_error_shape)
{
	struct buf b = BUF_INIT;

	ck_assert_int_eq(http_twirp_error(&b, "malformed", "too \"big\"",
	                                  "max_body_bytes", "2097152"),
	                 400);
	ck_assert_str_eq(b.data, "{\"code\":\"malformed\",\"msg\":\"too "
	                         "\\\"big\\\"\",\"meta\":{\"max_body_bytes\":"
	                         "\"2097152\"}}");
	buf_reset(&b);
	ck_assert_int_eq(
	    http_twirp_error(&b, "resource_exhausted", "full", NULL, NULL),
	    429);
	ck_assert_str_eq(b.data,
	                 "{\"code\":\"resource_exhausted\",\"msg\":\"full\"}");
	ck_assert_int_eq(http_twirp_status("bad_route"), 404);
	ck_assert_int_eq(http_twirp_status("internal"), 500);
	buf_free(&b);
}
END_TEST

/* ---- against the real daemon ---------------------------------------- */

/* Polls `cond` until it holds; fails the test after a generous minute
 * (a deadline for a hung daemon, not a measurement). */
#define WAIT_FOR(cond)                                                         \
	do {                                                                   \
		struct timespec wf_t0;                                         \
		clock_gettime(CLOCK_MONOTONIC, &wf_t0);                        \
		while (!(cond)) {                                              \
			struct timespec wf_t;                                  \
			clock_gettime(CLOCK_MONOTONIC, &wf_t);                 \
			ck_assert_msg(wf_t.tv_sec - wf_t0.tv_sec < 60,         \
			              "still not: %s", #cond);                 \
			(void)poll(NULL, 0, 2);                                \
		}                                                              \
	} while (0)

/* A client connection with its unread bytes. */
struct hc {
	int fd;
	struct buf in;
};

static void
hc_open(struct hc *h, const char *addr)
{
	memset(h, 0, sizeof(*h));
	h->fd = tu_connect(addr);
	ck_assert_int_ge(h->fd, 0);
}

static void
hc_send(struct hc *h, const char *s, size_t n)
{
	ck_assert_int_eq(tu_send_all(h->fd, s, n), 0);
}

static void
hc_send_str(struct hc *h, const char *s)
{
	hc_send(h, s, strlen(s));
}

/* Reads more into h->in: false at EOF (or a reset). */
static bool
hc_fill(struct hc *h)
{
	struct pollfd pfd = {h->fd, POLLIN, 0};
	char chunk[16384];
	ssize_t n;

	ck_assert_msg(poll(&pfd, 1, 20000) > 0, "no reply within 20 s");
	n = read(h->fd, chunk, sizeof(chunk));
	if (n <= 0)
		return false;
	buf_put(&h->in, chunk, (size_t)n);
	return true;
}

/* The next whole response (head and Content-Length body) into `out`
 * (reset); returns its status, or -1 when the connection ended first. */
static int
hc_response(struct hc *h, struct buf *out)
{
	for (;;) {
		const char *end =
		    h->in.len > 0 ? memmem(h->in.data, h->in.len, "\r\n\r\n", 4)
		                  : NULL;
		if (end != NULL) {
			const char *cl =
			    strcasestr(h->in.data, "Content-Length:");
			size_t head = (size_t)(end + 4 - h->in.data), body = 0;
			if (cl != NULL && cl < end)
				body = strtoul(cl + 15, NULL, 10);
			if (h->in.len >= head + body) {
				size_t rest = h->in.len - head - body;
				buf_reset(out);
				buf_put(out, h->in.data, head + body);
				memmove(h->in.data, h->in.data + head + body,
				        rest);
				h->in.len = rest;
				buf_putc(out, '\0');
				out->len--;
				return atoi(out->data + 9);
			}
		}
		if (!hc_fill(h))
			return -1;
	}
}

/* True when the server closes the connection with nothing more sent. */
static bool
hc_closed(struct hc *h)
{
	size_t before = h->in.len;

	while (hc_fill(h))
		;
	return h->in.len == before;
}

static void
hc_close(struct hc *h)
{
	close(h->fd);
	buf_free(&h->in);
}

/* A value from GET /metrics, over `h` (keep-alive). */
static uint64_t
hc_metric(struct hc *h, const char *name)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct buf out = BUF_INIT;
	char key[128];
	const char *p;
	uint64_t v;

	hc_send(h, req, sizeof(req) - 1);
	ck_assert_int_eq(hc_response(h, &out), 200);
	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(out.data, key);
	ck_assert_msg(p != NULL, "no %s in /metrics", name);
	v = strtoull(p + strlen(key), NULL, 10);
	buf_free(&out);
	return v;
}

/* A ReportIncident request as JSON text, with `pad` bytes of
 * description. */
static void
report_json(struct buf *out, const char *title, size_t pad)
{
	Csirt__V1__ReportIncidentRequest *q = apic_report_request(title);

	if (pad > 0) {
		char *d = util_xmalloc(pad + 1);
		memset(d, 'd', pad);
		d[pad] = '\0';
		codec_set_string(&q->case_->description, d);
		free(d);
	}
	buf_reset(out);
	ck_assert_int_eq(codec_to_json(out, &q->base, 0), 0);
	codec_free(&q->base);
}

/* A POST head for `method` as `token` with a JSON body of `len`. */
static void
post_head(struct buf *out, const char *method, const char *token, size_t len,
          const char *extra)
{
	buf_printf(out,
	           "POST /twirp/csirt.v1.CaseService/%s HTTP/1.1\r\nHost: x\r\n"
	           "Content-Type: application/json\r\nAuthorization: Bearer "
	           "%s\r\nContent-Length: %zu\r\n%s\r\n",
	           method, token, len, extra != NULL ? extra : "");
}

/* Sends raw bytes on a fresh connection and expects one Twirp JSON error
 * with `code` and `msg_part`, then the connection closed. */
static void
expect_refused(struct apic *a, const char *raw, size_t len, int status,
               const char *code, const char *msg_part)
{
	struct hc h;
	struct buf out = BUF_INIT;
	char want[64];

	hc_open(&h, a->d.addr);
	hc_send(&h, raw, len);
	ck_assert_int_eq(hc_response(&h, &out), status);
	snprintf(want, sizeof(want), "{\"code\":\"%s\",\"msg\":", code);
	ck_assert_msg(strstr(out.data, want) != NULL, "%s", out.data);
	ck_assert_msg(strstr(out.data, msg_part) != NULL, "%s", out.data);
	ck_assert_ptr_nonnull(strstr(out.data, "Connection: close\r\n"));
	ck_assert(hc_closed(&h));
	hc_close(&h);
	buf_free(&out);
}

START_TEST(test_http_daemon_refuses_bad_heads_with_twirp_errors)
{
	struct apic a;
	struct buf raw = BUF_INIT;
	uint64_t before;

	apic_start(&a);
	before = apic_ledger_seq(&a);
	/* A header block over the default 16 KiB. */
	buf_puts(&raw, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	for (int i = 0; i < 20000; i++)
		buf_putc(&raw, 'b');
	buf_puts(&raw, "\r\n\r\n");
	expect_refused(&a, raw.data, raw.len, 400, "malformed",
	               "\"meta\":{\"max_header_bytes\":\"16384\"}");
	/* Malformed request lines. */
	expect_refused(&a, "GARBAGE\r\n\r\n", 11, 400, "malformed",
	               "malformed request line");
	expect_refused(&a, "GET /healthz HTTP/9.9\r\n\r\n", 25, 400,
	               "malformed", "unsupported HTTP version");
	expect_refused(&a, "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", 33, 400,
	               "malformed", "must be a path");
	/* Smuggling shapes are refused. */
	buf_reset(&raw);
	post_head(&raw, "ReportIncident", a.rep1, 5,
	          "Transfer-Encoding: chunked\r\n");
	buf_puts(&raw, "0\r\n\r\n");
	expect_refused(&a, raw.data, raw.len, 400, "malformed",
	               "both Transfer-Encoding and Content-Length");
	buf_reset(&raw);
	buf_printf(&raw, "POST /twirp/csirt.v1.CaseService/GetCase HTTP/1.1\r\n"
	                 "Host: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	                 "zz\r\n");
	expect_refused(&a, raw.data, raw.len, 400, "malformed",
	               "malformed chunked body");
	buf_reset(&raw);
	post_head(&raw, "ReportIncident", a.rep1, 2, "Content-Length: 40\r\n");
	buf_puts(&raw, "{}");
	expect_refused(&a, raw.data, raw.len, 400, "malformed",
	               "more than one Content-Length");
	/* Unknown routes are bad_route, on a connection that stays up. */
	ck_assert_int_eq(tu_http(a.d.addr, "GET", "/nope", NULL, NULL, 0, &raw),
	                 404);
	/* Nothing reached the ledger, and the daemon still serves. */
	ck_assert_uint_eq(apic_ledger_seq(&a), before);
	buf_free(&raw);
	apic_stop(&a);
}
END_TEST

START_TEST(test_http_daemon_pipelines_in_order_and_keeps_alive)
{
	struct apic a;
	struct hc h;
	struct buf req = BUF_INIT, body = BUF_INIT, out = BUF_INIT;
	char want[64];
	uint64_t before;

	apic_start(&a);
	before = apic_ledger_seq(&a);
	/* A write (answered when the ledger writer is done) with two reads
	 * pipelined behind it, in one send: the reads wait for it, so
	 * /healthz already counts the report. */
	report_json(&body, "pipelined", 0);
	post_head(&req, "ReportIncident", a.rep1, body.len, NULL);
	buf_put(&req, body.data, body.len);
	buf_puts(&req, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	               "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
	hc_open(&h, a.d.addr);
	hc_send(&h, req.data, req.len);
	ck_assert_int_eq(hc_response(&h, &out), 200);
	ck_assert_ptr_nonnull(strstr(out.data, "\"case\":"));
	ck_assert_ptr_null(strstr(out.data, "Connection: close"));
	ck_assert_int_eq(hc_response(&h, &out), 200);
	snprintf(want, sizeof(want), "\"ledger_seq\":\"%llu\"",
	         (unsigned long long)before + 1);
	ck_assert_msg(strstr(out.data, want) != NULL, "%s", out.data);
	ck_assert_int_eq(hc_response(&h, &out), 404);
	ck_assert_ptr_nonnull(strstr(out.data, "\"bad_route\""));
	/* The same connection serves on (keep-alive), until the client
	 * says close. */
	for (int i = 0; i < 3; i++) {
		static const char get[] =
		    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
		hc_send(&h, get, sizeof(get) - 1);
		ck_assert_int_eq(hc_response(&h, &out), 200);
	}
	hc_send_str(&h, "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	                "Connection: close\r\n\r\n");
	ck_assert_int_eq(hc_response(&h, &out), 200);
	ck_assert_ptr_nonnull(strstr(out.data, "Connection: close\r\n"));
	ck_assert(hc_closed(&h));
	hc_close(&h);
	buf_free(&req);
	buf_free(&body);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

/*
 * Answers go to the socket at once when nothing is queued ahead of them
 * (server.c, conn_send_now), what the socket does not take is queued, and
 * past CONN_OUT_MAX of queued answers the pipelined requests wait.  A
 * client that pipelines 2,000 requests for /metrics (kilobytes each,
 * megabytes in all) and reads nothing for a while must still get every
 * answer, whole and in order, on the same connection.
 */
START_TEST(test_http_daemon_slow_reader_gets_every_answer)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct apic a;
	struct hc h;
	struct buf req = BUF_INIT, out = BUF_INIT;
	struct timespec pause = {0, 300 * 1000 * 1000};
	size_t total = 0;

	apic_start(&a);
	hc_open(&h, a.d.addr);
	for (int i = 0; i < 2000; i++)
		buf_put(&req, get, sizeof(get) - 1);
	hc_send(&h, req.data, req.len);
	nanosleep(&pause, NULL);
	for (int i = 0; i < 2000; i++) {
		ck_assert_msg(hc_response(&h, &out) == 200, "answer %d", i);
		ck_assert_msg(strstr(out.data, "\ncsirt_http_inflight ") !=
		                  NULL,
		              "answer %d is not whole", i);
		total += out.len;
	}
	ck_assert_msg(total > 4000000, "only %zu bytes answered", total);
	/* The connection serves on. */
	hc_send(&h, get, sizeof(get) - 1);
	ck_assert_int_eq(hc_response(&h, &out), 200);
	hc_close(&h);
	buf_free(&req);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

/* The daemon's resident memory in kB (VmRSS). */
static long
rss_kb(pid_t pid)
{
	char path[64], *text = NULL, *p;
	size_t len = 0;
	long kb;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	ck_assert_int_eq(util_read_file(&text, &len, path, 1 << 20), 0);
	p = strstr(text, "\nVmRSS:");
	ck_assert_ptr_nonnull(p);
	kb = strtol(p + 8, NULL, 10);
	free(text);
	return kb;
}

/*
 * A client that sends request after request and never reads an answer
 * (for 2 s: hundreds of megabytes of /metrics answers asked for, the
 * requests held by the sockets' buffers) has at most CONN_OUT_MAX (1 MiB)
 * of them made and queued in the daemon: its memory must not grow by the
 * answers' size (64 MB is far above what ASan's quarantine adds).
 */
START_TEST(test_http_daemon_bounds_answers_nobody_reads)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct apic a;
	struct hc h;
	struct buf req = BUF_INIT, out = BUF_INIT;
	int64_t until;
	size_t sent = 0, asked;
	long before, after;

	apic_start(&a);
	hc_open(&h, a.d.addr);
	/* Warm up: the daemon's allocator holds what one answer takes. */
	hc_send(&h, get, sizeof(get) - 1);
	ck_assert_int_eq(hc_response(&h, &out), 200);
	before = rss_kb(a.d.pid);
	for (int i = 0; i < 1000; i++)
		buf_put(&req, get, sizeof(get) - 1);
	ck_assert_int_eq(fcntl(h.fd, F_SETFL, O_NONBLOCK), 0);
	until = util_time_now_ms() + 2000;
	while (util_time_now_ms() < until) {
		size_t off = sent % req.len;
		ssize_t n =
		    send(h.fd, req.data + off, req.len - off, MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
		} else {
			struct timespec ts = {0, 10 * 1000 * 1000};
			ck_assert_msg(n < 0 && errno == EAGAIN, "send: %s",
			              strerror(errno));
			nanosleep(&ts, NULL);
		}
	}
	after = rss_kb(a.d.pid);
	asked = sent / (sizeof(get) - 1) * (out.len > 0 ? out.len : 1);
	ck_assert_msg(asked > (size_t)128 << 20,
	              "only %zu bytes of answers asked for", asked);
	ck_assert_msg(after - before < 64 * 1024,
	              "the daemon grew from %ld to %ld kB for %zu bytes of "
	              "answers nobody read",
	              before, after, asked);
	hc_close(&h);
	buf_free(&req);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

START_TEST(test_http_daemon_speaks_http_1_0)
{
	struct apic a;
	struct hc h;
	struct buf out = BUF_INIT;

	apic_start(&a);
	/* HTTP/1.0 closes after the reply by default... */
	hc_open(&h, a.d.addr);
	hc_send_str(&h, "GET /healthz HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(hc_response(&h, &out), 200);
	ck_assert_ptr_nonnull(strstr(out.data, "\"status\":\"ok\""));
	ck_assert(hc_closed(&h));
	hc_close(&h);
	/* ...and keeps alive when asked, saying so. */
	hc_open(&h, a.d.addr);
	for (int i = 0; i < 2; i++) {
		hc_send_str(&h, "GET /healthz HTTP/1.0\r\n"
		                "Connection: keep-alive\r\n\r\n");
		ck_assert_int_eq(hc_response(&h, &out), 200);
		ck_assert_ptr_nonnull(
		    strstr(out.data, "Connection: keep-alive\r\n"));
	}
	hc_close(&h);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

START_TEST(test_http_daemon_expect_100_continue)
{
	struct apic a;
	struct hc h;
	struct buf body = BUF_INIT, head = BUF_INIT, out = BUF_INIT;
	char *dir, *file, auth[128];
	uint64_t before;

	apic_start(&a);
	before = apic_ledger_seq(&a);
	/* By hand: "100 Continue" comes before the body is sent. */
	report_json(&body, "expect", 4000);
	post_head(&head, "ReportIncident", a.rep1, body.len,
	          "Expect: 100-continue\r\n");
	hc_open(&h, a.d.addr);
	hc_send(&h, head.data, head.len);
	while (h.in.len < 25)
		ck_assert(hc_fill(&h));
	ck_assert(strncmp(h.in.data, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
	memmove(h.in.data, h.in.data + 25, h.in.len - 25);
	h.in.len -= 25;
	hc_send(&h, body.data, body.len);
	ck_assert_int_eq(hc_response(&h, &out), 200);
	hc_close(&h);
	/* An over-limit length gets the final error at once. */
	buf_reset(&head);
	post_head(&head, "ReportIncident", a.rep1, 3u << 20,
	          "Expect: 100-continue\r\n");
	expect_refused(&a, head.data, head.len, 400, "malformed",
	               "max_body_bytes");
	/* And curl, which sends Expect: 100-continue with a large body. */
	dir = tu_tmpdir();
	file = util_path_join(dir, "body.json");
	ck_assert_int_eq(
	    util_write_file_atomic(file, body.data, body.len, 0600), 0);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a.rep1);
	{
		char url[256], data[4200];
		const char *argv[] = {"curl",
		                      "-sS",
		                      "-H",
		                      "Expect: 100-continue",
		                      "-H",
		                      "Content-Type: application/json",
		                      "-H",
		                      auth,
		                      "--data-binary",
		                      data,
		                      "-w",
		                      "\\n%{http_code}",
		                      url,
		                      NULL};
		int status;

		snprintf(url, sizeof(url),
		         "http://%s/twirp/csirt.v1.CaseService/ReportIncident",
		         a.d.addr);
		snprintf(data, sizeof(data), "@%s", file);
		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
		ck_assert_int_eq(status, 0);
		ck_assert_msg(strstr(out.data, "\n200") != NULL, "%s",
		              out.data);
	}
	ck_assert_uint_eq(apic_ledger_seq(&a), before + 2);
	unlink(file);
	tu_rmrf(dir);
	free(file);
	free(dir);
	buf_free(&body);
	buf_free(&head);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

START_TEST(test_http_daemon_accepts_chunked_bodies)
{
	struct apic a;
	struct hc h;
	struct buf body = BUF_INIT, req = BUF_INIT, out = BUF_INIT;
	char *dir, *file, auth[128], url[256], data[300];
	uint64_t before;
	size_t half;
	int status;

	apic_start(&a);
	before = apic_ledger_seq(&a);
	/* Two chunks (one with an extension), a trailer, and a pipelined
	 * request right behind: framed where the chunked body ends. */
	report_json(&body, "chunked", 100);
	half = body.len / 2;
	buf_printf(
	    &req,
	    "POST /twirp/csirt.v1.CaseService/ReportIncident HTTP/1.1\r\n"
	    "Host: x\r\nContent-Type: application/json\r\n"
	    "Authorization: Bearer %s\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n%zx;part=1\r\n",
	    a.rep1, half);
	buf_put(&req, body.data, half);
	buf_printf(&req, "\r\n%zx\r\n", body.len - half);
	buf_put(&req, body.data + half, body.len - half);
	buf_puts(&req, "\r\n0\r\nX-Checksum: none\r\n\r\n"
	               "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	hc_open(&h, a.d.addr);
	hc_send(&h, req.data, req.len);
	ck_assert_int_eq(hc_response(&h, &out), 200);
	ck_assert_ptr_nonnull(strstr(out.data, "\"title\":\"chunked\""));
	ck_assert_int_eq(hc_response(&h, &out), 200);
	ck_assert_ptr_nonnull(strstr(out.data, "\"status\":\"ok\""));
	hc_close(&h);
	/* A chunk that would take the body over max_body_bytes is refused
	 * on its size line. */
	buf_reset(&req);
	buf_printf(
	    &req,
	    "POST /twirp/csirt.v1.CaseService/ReportIncident HTTP/1.1\r\n"
	    "Host: x\r\nContent-Type: application/json\r\n"
	    "Authorization: Bearer %s\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n300000\r\n",
	    a.rep1);
	expect_refused(&a, req.data, req.len, 400, "malformed",
	               "\"meta\":{\"max_body_bytes\":\"2097152\"}");
	/* curl streaming a body with chunked encoding. */
	dir = tu_tmpdir();
	file = util_path_join(dir, "body.json");
	ck_assert_int_eq(
	    util_write_file_atomic(file, body.data, body.len, 0600), 0);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a.rep1);
	snprintf(url, sizeof(url),
	         "http://%s/twirp/csirt.v1.CaseService/ReportIncident",
	         a.d.addr);
	snprintf(data, sizeof(data), "@%s", file);
	{
		const char *argv[] = {"curl",
		                      "-sS",
		                      "-H",
		                      "Transfer-Encoding: chunked",
		                      "-H",
		                      "Content-Type: application/json",
		                      "-H",
		                      auth,
		                      "--data-binary",
		                      data,
		                      "-w",
		                      "\\n%{http_code}",
		                      url,
		                      NULL};

		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
		ck_assert_int_eq(status, 0);
		ck_assert_msg(strstr(out.data, "\n200") != NULL, "%s",
		              out.data);
	}
	ck_assert_uint_eq(apic_ledger_seq(&a), before + 2);
	tu_rmrf(dir);
	free(file);
	free(dir);
	buf_free(&body);
	buf_free(&req);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

START_TEST(test_http_daemon_caps_connections)
{
	struct apic a;
	struct hc h1, h2, h3;
	struct buf out = BUF_INIT;

	apic_start_conf(&a, "max_connections = 2\n");
	/* Two connections, each proven accepted by a reply. */
	hc_open(&h1, a.d.addr);
	ck_assert_uint_eq(hc_metric(&h1, "csirt_http_connections_open"), 1);
	hc_open(&h2, a.d.addr);
	ck_assert_uint_eq(hc_metric(&h2, "csirt_http_connections_open"), 2);
	/* The third is told why and closed, without asking anything. */
	hc_open(&h3, a.d.addr);
	ck_assert_int_eq(hc_response(&h3, &out), 429);
	ck_assert_ptr_nonnull(strstr(
	    out.data, "{\"code\":\"resource_exhausted\",\"msg\":\"too many "
	              "connections\",\"meta\":{\"max_connections\":\"2\"}}"));
	ck_assert_ptr_nonnull(strstr(out.data, "Connection: close\r\n"));
	ck_assert(hc_closed(&h3));
	hc_close(&h3);
	ck_assert_uint_eq(
	    hc_metric(&h2, "csirt_http_connections_refused_total"), 1);
	/* A flood over the cap is logged about once a second with a count,
	 * not once per connection: 20 more refusals take far less than 19 s
	 * here, so one line per refusal would break the bound. */
	{
		struct timespec t0, t1;
		char *log = NULL, *p;
		size_t lines = 0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < 20; i++) {
			hc_open(&h3, a.d.addr);
			ck_assert_int_eq(hc_response(&h3, &out), 429);
			hc_close(&h3);
		}
		ck_assert_uint_eq(
		    hc_metric(&h2, "csirt_http_connections_refused_total"), 21);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ck_assert_int_eq(
		    util_read_file(&log, NULL, a.d.log_path, 16 << 20), 0);
		for (p = log; (p = strstr(p, "connections refused at "
		                             "max_connections")) != NULL;
		     p++)
			lines++;
		ck_assert_uint_ge(lines, 1);
		ck_assert_msg(lines <= (size_t)(t1.tv_sec - t0.tv_sec) + 2,
		              "%zu refusal lines in %lld s", lines,
		              (long long)(t1.tv_sec - t0.tv_sec));
		ck_assert_ptr_null(strstr(log, "msg=\"refused request\" "
		                               "error=\"too many"));
		free(log);
	}
	/* A slot frees when one goes (seen through the other)... */
	hc_close(&h1);
	WAIT_FOR(hc_metric(&h2, "csirt_http_connections_open") == 1);
	/* ...and a new connection gets it. */
	hc_open(&h3, a.d.addr);
	ck_assert_uint_eq(hc_metric(&h3, "csirt_http_connections_open"), 2);
	/* SIGHUP raises the cap: a third connection is served. */
	ck_assert_int_eq(
	    util_write_file_atomic(a.conf, "max_connections = 3\n", 20, 0600),
	    0);
	ck_assert_int_eq(kill(a.d.pid, SIGHUP), 0);
	for (;;) {
		int status;

		hc_open(&h1, a.d.addr);
		hc_send_str(&h1, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
		status = hc_response(&h1, &out);
		if (status == 200)
			break;
		ck_assert_int_eq(status, 429); /* not reloaded yet */
		hc_close(&h1);
	}
	ck_assert_uint_eq(hc_metric(&h1, "csirt_http_connections_open"), 3);
	hc_close(&h1);
	hc_close(&h3);
	hc_close(&h2);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

START_TEST(test_http_daemon_cuts_a_steady_dribbler)
{
	static const char head[] =
	    "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4567890123456789\r\n\r\n";
	struct apic a;
	struct hc h;

	size_t sent = 0;
	bool cut = false;

	/* One byte every 100 ms never idles for the 1 s timeout, but the
	 * request is still incomplete after it: the server hangs up long
	 * before the head (about 13 s of bytes) is complete. */
	apic_start_conf(&a, "idle_timeout_s = 1\n");
	hc_open(&h, a.d.addr);
	while (sent < sizeof(head) - 1) {
		struct pollfd pfd = {h.fd, POLLIN, 0};

		if (send(h.fd, head + sent, 1, MSG_NOSIGNAL) != 1) {
			cut = true;
			break;
		}
		sent++;
		if (poll(&pfd, 1, 100) > 0) {
			cut = hc_closed(&h);
			break;
		}
	}
	ck_assert_msg(cut, "the server read the whole head (%zu bytes)", sent);
	ck_assert_uint_lt(sent, sizeof(head) - 1);
	hc_close(&h);
	ck_assert_uint_ge(apic_ledger_seq(&a), 1);
	apic_stop(&a);
}
END_TEST

/* Parks a WatchEvents call on `h` and waits until the server counts it
 * in flight (asked over `probe`). */
static void
park_watch(struct apic *a, struct hc *h, struct hc *probe)
{
	struct buf req = BUF_INIT, body = BUF_INIT;

	buf_printf(&body, "{\"after_seq\":\"%llu\",\"max_wait_ms\":60000}",
	           (unsigned long long)apic_ledger_seq(a));
	post_head(&req, "WatchEvents", a->lead, body.len, NULL);
	buf_put(&req, body.data, body.len);
	hc_send(h, req.data, req.len);
	WAIT_FOR(hc_metric(probe, "csirt_http_inflight") == 1);
	buf_free(&req);
	buf_free(&body);
}

START_TEST(test_http_daemon_survives_clients_that_leave)
{
	struct apic a;
	struct hc h, probe;
	struct buf req = BUF_INIT, body = BUF_INIT;
	struct linger lg = {1, 0};
	uint64_t before;
	char *id;

	apic_start(&a);
	hc_open(&probe, a.d.addr);
	/* A write sent in full, then the client hangs up without reading:
	 * the event is still committed. */
	before = apic_ledger_seq(&a);
	report_json(&body, "left", 0);
	post_head(&req, "ReportIncident", a.rep1, body.len, NULL);
	buf_put(&req, body.data, body.len);
	hc_open(&h, a.d.addr);
	hc_send(&h, req.data, req.len);
	hc_close(&h);
	WAIT_FOR(apic_ledger_seq(&a) == before + 1);
	/* A parked call whose client resets the connection: the reply that
	 * comes later (a new event wakes the watcher) finds it gone. */
	hc_open(&h, a.d.addr);
	park_watch(&a, &h, &probe);
	ck_assert_int_eq(
	    setsockopt(h.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	hc_close(&h);
	id = apic_report(&a, a.rep1, "wakes the watcher");
	ck_assert_ptr_nonnull(id);
	free(id);
	WAIT_FOR(hc_metric(&probe, "csirt_http_inflight") == 0);
	ck_assert_uint_eq(apic_ledger_seq(&a), before + 2);
	ck_assert_int_eq(
	    tu_sh(NULL, "grep -q 'client=gone' '%s'", a.d.log_path), 0);
	hc_close(&probe);
	buf_free(&req);
	buf_free(&body);
	apic_stop(&a);
}
END_TEST

START_TEST(test_http_daemon_sigterm_drains)
{
	struct apic a;
	struct hc busy, idle;
	struct buf out = BUF_INIT;
	int status;

	apic_start(&a);
	hc_open(&idle, a.d.addr);
	hc_open(&busy, a.d.addr);
	park_watch(&a, &busy, &idle);
	/* SIGTERM: the request in flight is answered (and its connection
	 * closed after it), the idle keep-alive connection is closed, and
	 * the daemon exits cleanly. */
	ck_assert_int_eq(kill(a.d.pid, SIGTERM), 0);
	ck_assert_int_eq(hc_response(&busy, &out), 200);
	ck_assert_ptr_nonnull(strstr(out.data, "\"last_seq\""));
	ck_assert_ptr_nonnull(strstr(out.data, "Connection: close\r\n"));
	ck_assert(hc_closed(&busy));
	ck_assert(hc_closed(&idle));
	status = tu_daemon_stop(&a.d, 0, 10000);
	ck_assert_msg(status != -1, "csirtd did not exit");
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	hc_close(&busy);
	hc_close(&idle);
	buf_free(&out);
	tu_rmrf(a.dir); /* apic_stop() without its SIGTERM */
	free(a.data);
	free(a.dir);
}
END_TEST

Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("parser");

	tcase_add_test(tc, test_http_parses_a_post);
	tcase_add_test(tc, test_http_needs_more_until_the_blank_line);
	tcase_add_test(tc, test_http_keep_alive_by_version);
	tcase_add_test(tc, test_http_refuses_smuggling_and_bad_framing);
	tcase_add_test(tc, test_http_limits_the_head);
	tcase_add_test(tc, test_http_decodes_chunked_bodies);
	tcase_add_test(tc, test_http_decodes_the_path);
	tcase_add_test(tc, test_http_twirp_error_shape);
	suite_add_tcase(s, tc);
	tc = tcase_create("daemon");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc,
	               test_http_daemon_refuses_bad_heads_with_twirp_errors);
	tcase_add_test(tc, test_http_daemon_pipelines_in_order_and_keeps_alive);
	tcase_add_test(tc, test_http_daemon_speaks_http_1_0);
	tcase_add_test(tc, test_http_daemon_expect_100_continue);
	tcase_add_test(tc, test_http_daemon_accepts_chunked_bodies);
	tcase_add_test(tc, test_http_daemon_caps_connections);
	tcase_add_test(tc, test_http_daemon_cuts_a_steady_dribbler);
	tcase_add_test(tc, test_http_daemon_survives_clients_that_leave);
	tcase_add_test(tc, test_http_daemon_sigterm_drains);
	tcase_add_test(tc, test_http_daemon_slow_reader_gets_every_answer);
	tcase_add_test(tc, test_http_daemon_bounds_answers_nobody_reads);
	suite_add_tcase(s, tc);
	return s;
}
