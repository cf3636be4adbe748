/*
 * check_daemon.c - integration: the real csirtd binary on a free loopback
 * port with a temporary data directory.
 */
#include <check.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suites.h"
#include "testutil.h"

static int run_csirtd(struct buf *out, const char *a1, const char *a2,
                      const char *a3);

START_TEST(test_daemon_healthz_and_clean_sigterm)
{
	char *dir = tu_tmpdir();
	char *data = util_path_join(dir, "var");
	struct tu_daemon d;
	struct buf body = BUF_INIT;
	int status;

	ck_assert_int_eq(run_csirtd(&body, "--data", data, "init"), 0);
	ck_assert_ptr_nonnull(strstr(body.data, "administrator token: csirt_"));
	buf_reset(&body);
	ck_assert_int_eq(tu_daemon_start(&d, data, NULL), 0);
	ck_assert(strncmp(d.addr, "127.0.0.1:", 10) == 0);
	ck_assert_int_eq(
	    tu_http(d.addr, "GET", "/healthz", NULL, NULL, 0, &body), 200);
	ck_assert_ptr_nonnull(strstr(body.data, "\"status\":\"ok\""));
	ck_assert_ptr_nonnull(
	    strstr(body.data, "\"version\":\"" CSIRT_VERSION));
	/* The first administrator is the ledger's first event. */
	ck_assert_ptr_nonnull(strstr(body.data, "\"ledger_seq\":\"1\""));
	buf_reset(&body);
	ck_assert_int_eq(tu_http(d.addr, "GET", "/nope", NULL, NULL, 0, &body),
	                 404);
	/* Errors of the HTTP layer itself are Twirp errors too. */
	ck_assert_ptr_nonnull(strstr(body.data, "\"code\":\"bad_route\""));
	ck_assert_int_eq(
	    tu_http(d.addr, "POST", "/healthz", NULL, "x", 1, NULL), 404);

	status = tu_daemon_stop(&d, SIGTERM, 5000);
	ck_assert_msg(status != -1, "csirtd did not exit within 5 s");
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);

	buf_free(&body);
	tu_rmrf(dir);
	free(data);
	free(dir);
}
END_TEST

static int
run_csirtd(struct buf *out, const char *a1, const char *a2, const char *a3)
{
	const char *argv[] = {CSIRTD_BIN, a1, a2, a3, NULL};
	int status = -1;

	ck_assert_int_eq(tu_run(out, &status, argv), 0);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(test_daemon_init_and_open_errors)
{
	char *dir = tu_tmpdir();
	char *data = util_path_join(dir, "var");
	struct buf out = BUF_INIT;
	char *log = NULL;
	struct tu_daemon d;

	/* Not initialised: the daemon refuses and says how to fix it. */
	ck_assert_int_eq(tu_daemon_start(&d, data, NULL), -1);
	ck_assert_int_eq(util_read_file(&log, NULL, d.log_path, 1 << 20), 0);
	ck_assert_msg(strstr(log, "csirtd --data") && strstr(log, "init"), "%s",
	              log);
	free(log);
	ck_assert_int_eq(run_csirtd(&out, "--data", data, "init"), 0);
	/* A second init refuses to touch the directory. */
	ck_assert_int_eq(run_csirtd(NULL, "--data", data, "init"), 1);
	/* rebuild works on an idle directory. */
	buf_reset(&out);
	ck_assert_int_eq(run_csirtd(&out, "--data", data, "rebuild"), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "from 1 ledger events"));
	buf_free(&out);
	tu_rmrf(dir);
	free(data);
	free(dir);
}
END_TEST

/* The token in "...: csirt_..." output (static buffer). */
static const char *
token_in(const char *out)
{
	static char tok[80];
	const char *p = strstr(out, "csirt_");
	size_t n = 0;

	ck_assert_ptr_nonnull(p);
	while (n < sizeof(tok) - 1 && p[n] != '\0' && p[n] != '\n' &&
	       p[n] != ' ')
		n++;
	memcpy(tok, p, n);
	tok[n] = '\0';
	return tok;
}

static int
whoami(const struct tu_daemon *d, const char *token, struct buf *body)
{
	char hdr[160];

	snprintf(hdr, sizeof(hdr),
	         "Authorization: Bearer %s\r\nContent-Type: "
	         "application/json\r\n",
	         token);
	buf_reset(body);
	return tu_http(d->addr, "POST",
	               "/twirp/csirt.v1.DirectoryService/WhoAmI", hdr, "{}", 2,
	               body);
}

/* Break-glass: with the daemon stopped, `csirtd issue-token LOGIN` gives
 * an active administrator a new token that the daemon then accepts; it
 * refuses while the daemon runs (the lock), for an unknown login and for
 * a login that is not an administrator, and wants the LOGIN. */
START_TEST(test_daemon_issue_token_offline)
{
	char *dir = tu_tmpdir();
	char *data = util_path_join(dir, "var");
	struct buf out = BUF_INIT, body = BUF_INIT;
	char first[80], fresh[80];
	struct tu_daemon d;
	int status;

	ck_assert_int_eq(run_csirtd(&out, "--data", data, "init"), 0);
	snprintf(first, sizeof(first), "%s", token_in(out.data));
	ck_assert_int_eq(tu_daemon_start(&d, data, NULL), 0);
	/* Running: the data directory is locked. */
	buf_reset(&out);
	ck_assert_int_eq(run_csirtd(&out, "--data", data, "issue-token"), 2);
	{
		const char *argv[] = {CSIRTD_BIN,    "--data", data,
		                      "issue-token", "admin",  NULL};
		buf_reset(&out);
		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	}
	status = tu_daemon_stop(&d, SIGTERM, 5000);
	ck_assert(status != -1 && WIFEXITED(status));
	{
		const char *argv[] = {CSIRTD_BIN,    "--data", data,
		                      "issue-token", "admin",  NULL};
		buf_reset(&out);
		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		              "%s", out.data);
		ck_assert_ptr_nonnull(
		    strstr(out.data, "token for admin (id t"));
		snprintf(fresh, sizeof(fresh), "%s", token_in(out.data));
		ck_assert_str_ne(fresh, first);
	}
	{
		const char *argv[] = {CSIRTD_BIN,    "--data", data,
		                      "issue-token", "nobody", NULL};
		buf_reset(&out);
		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
		ck_assert_ptr_null(strstr(out.data, "csirt_"));
	}
	ck_assert_int_eq(tu_daemon_start(&d, data, NULL), 0);
	ck_assert_int_eq(whoami(&d, fresh, &body), 200);
	ck_assert_ptr_nonnull(strstr(body.data, "\"login\":\"admin\""));
	ck_assert_int_eq(whoami(&d, first, &body), 200); /* both valid */
	ck_assert_int_eq(whoami(&d, "csirt_not-a-token", &body), 401);
	status = tu_daemon_stop(&d, SIGTERM, 5000);
	ck_assert(status != -1 && WIFEXITED(status));
	/* The log names the issue by id, never the token. */
	{
		char *log = NULL;
		ck_assert_int_eq(
		    util_read_file(&log, NULL, d.log_path, 1 << 20), 0);
		ck_assert_ptr_null(strstr(log, fresh));
		free(log);
	}
	buf_free(&out);
	buf_free(&body);
	tu_rmrf(dir);
	free(data);
	free(dir);
}
END_TEST

/* Issue 6: `csirtd init` creates the key-encryption key (mode 0600, in no
 * store but keys/); a directory initialised without one gets it at
 * start-up, with a log line, and the same key is kept afterwards. */
START_TEST(test_daemon_kek_created_at_init_and_start)
{
	char *dir = tu_tmpdir();
	char *data = util_path_join(dir, "var");
	char *kek = util_path_join(data, "keys/kek");
	char *first = NULL, *again = NULL, *log = NULL;
	struct tu_daemon d;
	struct stat st;
	int status;

	ck_assert_int_eq(run_csirtd(NULL, "--data", data, "init"), 0);
	ck_assert_int_eq(stat(kek, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(util_read_file(&first, NULL, kek, 4096), 0);
	ck_assert(strncmp(first, "csirtd-kek-v1 ", 14) == 0);

	/* An older directory: no KEK yet. */
	ck_assert_int_eq(unlink(kek), 0);
	ck_assert_int_eq(tu_daemon_start(&d, data, NULL), 0);
	status = tu_daemon_stop(&d, SIGTERM, 5000);
	ck_assert(status != -1 && WIFEXITED(status));
	ck_assert_int_eq(util_read_file(&log, NULL, d.log_path, 1 << 20), 0);
	ck_assert_msg(strstr(log, "created the key-encryption key") != NULL,
	              "%s", log);
	ck_assert_int_eq(stat(kek, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(util_read_file(&again, NULL, kek, 4096), 0);
	ck_assert_str_ne(first, again);
	free(first);
	free(log);

	/* Kept, not replaced, on the next start. */
	ck_assert_int_eq(tu_daemon_start(&d, data, NULL), 0);
	status = tu_daemon_stop(&d, SIGTERM, 5000);
	ck_assert(status != -1 && WIFEXITED(status));
	ck_assert_int_eq(util_read_file(&first, NULL, kek, 4096), 0);
	ck_assert_str_eq(first, again);
	/* A KEK others can read is refused, as the signing key is. */
	ck_assert_int_eq(chmod(kek, 0644), 0);
	ck_assert_int_eq(tu_daemon_start(&d, data, NULL), -1);

	free(first);
	free(again);
	tu_rmrf(dir);
	free(kek);
	free(data);
	free(dir);
}
END_TEST

START_TEST(test_daemon_metrics_and_sighup_reload)
{
	char *dir = tu_tmpdir();
	char *data = util_path_join(dir, "var");
	char *conf = util_path_join(dir, "csirtd.conf");
	const char *extra[] = {"--config", conf, NULL};
	struct tu_daemon d;
	struct buf body = BUF_INIT;
	char *log = NULL;
	int status;

	ck_assert_int_eq(
	    util_write_file_atomic(conf, "log_level = info\n", 17, 0600), 0);
	ck_assert_int_eq(run_csirtd(NULL, "--data", data, "init"), 0);
	ck_assert_int_eq(tu_daemon_start(&d, data, extra), 0);
	ck_assert_int_eq(
	    tu_http(d.addr, "POST", "/twirp/csirt.v1.CaseService/GetCase",
	            "Content-Type: application/json\r\n", "{}", 2, NULL),
	    401);
	ck_assert_int_eq(
	    tu_http(d.addr, "GET", "/metrics", NULL, NULL, 0, &body), 200);
	ck_assert_ptr_nonnull(strstr(body.data, "csirt_ledger_seq 1\n"));
	ck_assert_ptr_nonnull(strstr(
	    body.data,
	    "csirt_requests_total{method=\"csirt.v1.CaseService/GetCase\","
	    "code=\"unauthenticated\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(body.data, "csirt_request_duration_seconds_count 1\n"));
	ck_assert_ptr_nonnull(strstr(body.data, "csirt_writer_queue_depth 0"));

	/* SIGHUP with a bad file keeps the running configuration... */
	ck_assert_int_eq(
	    util_write_file_atomic(conf, "log_level = loud\n", 17, 0600), 0);
	kill(d.pid, SIGHUP);
	/* ...and with a good one, debug records appear. */
	usleep(300000);
	ck_assert_int_eq(
	    util_write_file_atomic(conf, "log_level = debug\n", 18, 0600), 0);
	kill(d.pid, SIGHUP);
	usleep(300000);
	ck_assert_int_eq(
	    tu_http(d.addr, "GET", "/healthz", NULL, NULL, 0, NULL), 200);
	status = tu_daemon_stop(&d, SIGTERM, 5000);
	ck_assert(status != -1 && WIFEXITED(status) &&
	          WEXITSTATUS(status) == 0);
	ck_assert_int_eq(util_read_file(&log, NULL, d.log_path, 1 << 20), 0);
	ck_assert_ptr_nonnull(strstr(log, "msg=\"reload refused"));
	ck_assert_ptr_nonnull(strstr(log, "msg=reloaded log_level=debug"));
	{
		/* The request record: status and milliseconds as "%d" and
		 * "%.3f" printed them. */
		regex_t re;

		ck_assert_int_eq(
		    regcomp(
		        &re,
		        "msg=request id=r[0-9a-f]+ "
		        "method=csirt\\.v1\\.CaseService/GetCase actor=- "
		        "peer=[^ ]+ status=401 duration_ms=[0-9]+\\.[0-9]{3} "
		        "client=connected\n",
		        REG_EXTENDED | REG_NOSUB),
		    0);
		ck_assert_msg(regexec(&re, log, 0, NULL, 0) == 0, "%s", log);
		regfree(&re);
	}
	free(log);
	buf_free(&body);
	tu_rmrf(dir);
	free(conf);
	free(data);
	free(dir);
}
END_TEST

START_TEST(test_daemon_cli_help_version_check)
{
	struct buf out = BUF_INIT;
	char *dir = tu_tmpdir();
	char *conf = util_path_join(dir, "bad.conf");

	ck_assert_int_eq(run_csirtd(&out, "--help", NULL, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "--listen ADDR:PORT"));
	buf_reset(&out);
	ck_assert_int_eq(run_csirtd(&out, "--version", NULL, NULL), 0);
	/* The version, then the allocator the build chose, in use. */
	ck_assert_ptr_nonnull(strstr(out.data,
	                             "csirtd " CSIRT_VERSION
	                             "\nallocator: " CSIRTD_MALLOC_EXPECT));
	ck_assert_ptr_null(strstr(out.data, "not in use"));
	ck_assert_int_eq(out.data[out.len - 1], '\n');
	buf_reset(&out);
	ck_assert_int_eq(run_csirtd(&out, "-n", "--listen", "127.0.0.1:9"), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "listen = 127.0.0.1:9"));
	ck_assert_ptr_nonnull(strstr(out.data, "configuration OK"));
	ck_assert_int_eq(run_csirtd(NULL, "-n", "--listen", "nope"), 3);
	ck_assert_int_eq(run_csirtd(NULL, "--bogus", NULL, NULL), 2);
	ck_assert_int_eq(run_csirtd(NULL, "frobnicate", NULL, NULL), 2);
	ck_assert_int_eq(util_write_file_atomic(conf, "x = 1\n", 6, 0600), 0);
	ck_assert_int_eq(run_csirtd(NULL, "-n", "--config", conf), 3);
	buf_free(&out);
	tu_rmrf(dir);
	free(conf);
	free(dir);
}
END_TEST

Suite *
daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("integration");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_daemon_healthz_and_clean_sigterm);
	tcase_add_test(tc, test_daemon_cli_help_version_check);
	tcase_add_test(tc, test_daemon_init_and_open_errors);
	tcase_add_test(tc, test_daemon_issue_token_offline);
	tcase_add_test(tc, test_daemon_kek_created_at_init_and_start);
	tcase_add_test(tc, test_daemon_metrics_and_sighup_reload);
	suite_add_tcase(s, tc);
	return s;
}
