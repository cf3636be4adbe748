/*
 * check_http.c - the HTTP/1.1 request-head parser (http.c) on its own:
 * framing, limits, the request-smuggling rules of RFC 9112, keep-alive by
 * version, Expect: 100-continue, path decoding and the Twirp error shape.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

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
	     "Transfer-Encoding"},
	    {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	     "Transfer-Encoding"},
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
	tcase_add_test(tc, test_http_decodes_the_path);
	tcase_add_test(tc, test_http_twirp_error_shape);
	suite_add_tcase(s, tc);
	return s;
}
