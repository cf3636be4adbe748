/*
 * check_web.c - the web client's serving (csirtd/web.c) without a socket:
 * the asset table, content types, ETags and the security headers on every
 * answer; then the same headers as the real daemon sends them to curl.
 * The browser tests (tests/web/) drive the client itself.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fixtures.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"
#include "web.h"

/* The headers that every answer, error or not, must carry. */
static void
assert_security_headers(const struct web_reply *r)
{
	const char *csp = web_reply_header(r, "Content-Security-Policy");

	ck_assert_ptr_nonnull(csp);
	ck_assert_str_eq(csp, web_csp);
	ck_assert_ptr_nonnull(strstr(csp, "default-src 'none'"));
	ck_assert_ptr_nonnull(strstr(csp, "script-src 'self';"));
	ck_assert_ptr_nonnull(strstr(csp, "frame-ancestors 'none'"));
	ck_assert_ptr_null(strstr(csp, "unsafe"));
	ck_assert_ptr_null(strstr(csp, "http"));
	ck_assert_str_eq(web_reply_header(r, "X-Content-Type-Options"),
	                 "nosniff");
	ck_assert_str_eq(web_reply_header(r, "Referrer-Policy"), "no-referrer");
	ck_assert_str_eq(web_reply_header(r, "X-Frame-Options"), "DENY");
	ck_assert_str_eq(web_reply_header(r, "Cross-Origin-Opener-Policy"),
	                 "same-origin");
	ck_assert_ptr_nonnull(web_reply_header(r, "Cache-Control"));
}

START_TEST(test_web_index_at_root)
{
	struct web_reply r;
	const struct web_asset *a = web_asset_find("index.html");

	ck_assert_ptr_nonnull(a);
	web_respond(&r, "GET", "/", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_eq(r.body, a->data);
	ck_assert_uint_eq(r.len, a->len);
	ck_assert_str_eq(web_reply_header(&r, "Content-Type"),
	                 "text/html; charset=utf-8");
	ck_assert_str_eq(web_reply_header(&r, "ETag"), a->etag);
	ck_assert_str_eq(web_reply_header(&r, "Cache-Control"), "no-cache");
	assert_security_headers(&r);
	/* The page loads its script as a module from its own origin, with
	 * no inline script for the CSP to refuse. */
	ck_assert_ptr_nonnull(strstr((const char *)a->data,
	                             "<script type=\"module\" "
	                             "src=\"/web/app.js\"></script>"));
	web_respond(&r, "HEAD", "/index.html", NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.len, a->len);
}
END_TEST

START_TEST(test_web_every_asset_has_a_type_and_etag)
{
	size_t n = 0;

	for (const struct web_asset *a = web_assets; a->name != NULL; a++) {
		char path[256];
		struct web_reply r;

		n++;
		ck_assert_msg(web_content_type(a->name) != NULL,
		              "%s: no content type", a->name);
		ck_assert_uint_eq(strlen(a->etag), 18);
		ck_assert_int_eq(a->etag[0], '"');
		/* NUL-terminated (the table adds one past len). */
		ck_assert_int_eq(a->data[a->len], '\0');
		snprintf(path, sizeof(path), WEB_PREFIX "%s", a->name);
		web_respond(&r, "GET", path, NULL);
		ck_assert_int_eq(r.status, 200);
		assert_security_headers(&r);
	}
	ck_assert_uint_ge(n, 4);
	ck_assert_str_eq(web_content_type("app.js"),
	                 "text/javascript; charset=utf-8");
	ck_assert_str_eq(web_content_type("style.css"),
	                 "text/css; charset=utf-8");
	ck_assert_ptr_null(web_content_type("x.c"));
	ck_assert_ptr_null(web_content_type(".js"));
}
END_TEST

/* labels.js is generated from the CLI's tables at build time: the seven
 * categories of 第13.1 with the policy's names, and the role names. */
START_TEST(test_web_labels_from_cli_tables)
{
	const struct web_asset *a = web_asset_find("labels.js");
	const char *s;

	ck_assert_ptr_nonnull(a);
	s = (const char *)a->data;
	ck_assert_ptr_nonnull(strstr(s, "\"(1) 情報流出事案\""));
	ck_assert_ptr_nonnull(strstr(s, "\"(6) 機器の紛失事案\""));
	ck_assert_ptr_nonnull(
	    strstr(s, "\"(7) その他社会的反響が大きいと予想される事案\""));
	ck_assert_ptr_nonnull(strstr(s, "\"ROLE_SECURITY_MANAGER\": { ja: "
	                                "\"情報セキュリティ管理者\""));
	ck_assert_ptr_nonnull(strstr(s, "\"case.recognized_at\": { ja: "
	                                "\"認知日時\", en: \"Recognised at\""));
}
END_TEST

START_TEST(test_web_unknown_and_traversal_are_404)
{
	static const char *const paths[] = {
	    "/web/",         "/web/nope.js",   "/web/../csirtd/web.c",
	    "/web/./app.js", "/web//app.js",   "/web/app.js/",
	    "/web/APP.JS",   "/web/app.js%00", "/web/web.h"};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct web_reply r;

		ck_assert(web_path(paths[i]));
		web_respond(&r, "GET", paths[i], NULL);
		ck_assert_msg(r.status == 404, "%s: %d", paths[i], r.status);
		ck_assert_str_eq(web_reply_header(&r, "Cache-Control"),
		                 "no-store");
		assert_security_headers(&r);
	}
	ck_assert(!web_path("/twirp/csirt.v1.CaseService/GetCase"));
	ck_assert(!web_path("/ledger.git/HEAD"));
	ck_assert(!web_path("/healthz"));
	ck_assert(!web_path("/webx"));
}
END_TEST

START_TEST(test_web_only_get_and_head)
{
	struct web_reply r;

	web_respond(&r, "POST", "/", NULL);
	ck_assert_int_eq(r.status, 405);
	ck_assert_str_eq(web_reply_header(&r, "Allow"), "GET, HEAD");
	assert_security_headers(&r);
	web_respond(&r, "OTHER", "/web/app.js", NULL);
	ck_assert_int_eq(r.status, 405);
}
END_TEST

START_TEST(test_web_conditional_get)
{
	const struct web_asset *a = web_asset_find("app.js");
	struct web_reply r;
	char list[128];

	ck_assert_ptr_nonnull(a);
	web_respond(&r, "GET", "/web/app.js", a->etag);
	ck_assert_int_eq(r.status, 304);
	ck_assert_uint_eq(r.len, 0);
	ck_assert_str_eq(web_reply_header(&r, "ETag"), a->etag);
	assert_security_headers(&r);
	snprintf(list, sizeof(list), "\"0000000000000000\", W/%s", a->etag);
	web_respond(&r, "GET", "/web/app.js", list);
	ck_assert_int_eq(r.status, 304);
	web_respond(&r, "GET", "/web/app.js", "*");
	ck_assert_int_eq(r.status, 304);
	web_respond(&r, "GET", "/web/app.js", "\"0000000000000000\"");
	ck_assert_int_eq(r.status, 200);
	web_respond(&r, "GET", "/web/app.js", "");
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.len, a->len);
}
END_TEST

/* The real daemon sends web.c's headers to a real client, and the web
 * paths do not shadow the API, the ledger or /healthz. */
START_TEST(test_web_daemon_serves_headers)
{
	struct fx_env e;
	struct tu_daemon d;
	struct buf out = BUF_INIT;

	fx_env_init(&e);
	ck_assert_int_eq(tu_daemon_start(&d, e.data, NULL), 0);
	ck_assert_int_eq(tu_sh(&out,
	                       "curl -sS -D - -o /dev/null http://%s/ | "
	                       "tr -d '\\r'",
	                       d.addr),
	                 0);
	ck_assert_ptr_nonnull(strstr(out.data, "HTTP/1.1 200"));
	ck_assert_ptr_nonnull(strstr(out.data, "Content-Security-Policy: "));
	ck_assert_ptr_nonnull(strstr(out.data, web_csp));
	ck_assert_ptr_nonnull(strstr(out.data, "X-Frame-Options: DENY\n"));
	ck_assert_ptr_nonnull(
	    strstr(out.data, "X-Content-Type-Options: nosniff\n"));
	ck_assert_ptr_nonnull(
	    strstr(out.data, "Referrer-Policy: no-referrer\n"));
	ck_assert_ptr_nonnull(
	    strstr(out.data, "Cross-Origin-Opener-Policy: same-origin\n"));
	ck_assert_ptr_nonnull(
	    strstr(out.data, "Content-Type: text/html; charset=utf-8\n"));
	/* A conditional GET with the ETag it gave: 304, no body. */
	ck_assert_int_eq(
	    tu_sh(&out,
	          "e=$(curl -sS -D - -o /dev/null http://%s/web/app.js | "
	          "tr -d '\\r' | sed -n 's/^ETag: //p') && "
	          "curl -sS -o /dev/null -w '%%{http_code} %%{size_download}' "
	          "-H \"If-None-Match: $e\" http://%s/web/app.js",
	          d.addr, d.addr),
	    0);
	ck_assert_str_eq(out.data, "304 0");
	/* The bytes served are the embedded ones. */
	ck_assert_int_eq(tu_sh(&out,
	                       "curl -sS http://%s/web/labels.js | "
	                       "grep -c '機器の紛失事案'",
	                       d.addr),
	                 0);
	ck_assert_int_eq(tu_sh(&out,
	                       "curl -sS -o /dev/null -w '%%{http_code}' "
	                       "http://%s/web/%%2e%%2e/%%2e%%2e/etc/passwd",
	                       d.addr),
	                 0);
	ck_assert_str_eq(out.data, "404");
	ck_assert_int_eq(tu_sh(&out,
	                       "curl -sS -o /dev/null -w '%%{http_code}' "
	                       "http://%s/healthz",
	                       d.addr),
	                 0);
	ck_assert_str_eq(out.data, "200");
	ck_assert_int_eq(tu_daemon_stop(&d, SIGTERM, 10000), 0);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

Suite *
web_suite(void)
{
	Suite *s = suite_create("web");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_web_index_at_root);
	tcase_add_test(tc, test_web_every_asset_has_a_type_and_etag);
	tcase_add_test(tc, test_web_labels_from_cli_tables);
	tcase_add_test(tc, test_web_unknown_and_traversal_are_404);
	tcase_add_test(tc, test_web_only_get_and_head);
	tcase_add_test(tc, test_web_conditional_get);
	tcase_add_test(tc, test_web_daemon_serves_headers);
	suite_add_tcase(s, tc);
	return s;
}
