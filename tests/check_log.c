#include <check.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "suites.h"

START_TEST(test_log_format_quotes_and_escapes)
{
	const char *kv[] = {"addr",  "127.0.0.1:80",
	                    "title", "a \"b\"\nlevel=error forged",
	                    "empty", ""};
	char line[512];

	log_format(line, sizeof(line), LOGL_INFO, "listening", kv, 6);
	ck_assert(strncmp(line, "time=", 5) == 0);
	ck_assert_ptr_nonnull(strstr(line, " level=info msg=listening "
	                                   "addr=127.0.0.1:80 "));
	/* A newline in a value cannot start a forged record. */
	ck_assert_ptr_null(strchr(line, '\n'));
	ck_assert_ptr_nonnull(
	    strstr(line, "title=\"a \\\"b\\\"\\nlevel=error forged\""));
	ck_assert_ptr_nonnull(strstr(line, "empty=\"\""));
}
END_TEST

START_TEST(test_log_format_keeps_utf8_and_truncates)
{
	const char *kv[] = {"division", "情報管理課"};
	char line[128];
	size_t n;

	n = log_format(line, sizeof(line), LOGL_WARN, "x", kv, 2);
	ck_assert_ptr_nonnull(strstr(line, "division=情報管理課"));
	ck_assert_uint_eq(n, strlen(line));

	const char *big[] = {"k", "0123456789012345678901234567890123456789"
	                          "0123456789012345678901234567890123456789"};
	n = log_format(line, 64, LOGL_WARN, "x", big, 2);
	ck_assert_uint_lt(n, 64);
	ck_assert_uint_eq(n, strlen(line));
	ck_assert_ptr_nonnull(strstr(line, "truncated=true"));
}
END_TEST

START_TEST(test_log_level_filter)
{
	int fds[2];
	char out[1024];
	ssize_t n;
	enum log_level lvl;

	ck_assert_int_eq(log_level_parse(&lvl, "WARN"), 0);
	ck_assert_int_eq(lvl, LOGL_WARN);
	ck_assert_int_eq(log_level_parse(&lvl, "loud"), -1);
	ck_assert_int_eq(pipe(fds), 0);
	log_set_fd(fds[1]);
	log_set_level(LOGL_WARN);
	log_info("hidden");
	log_error("shown", "k", "v");
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	ck_assert_ptr_null(strstr(out, "hidden"));
	ck_assert_ptr_nonnull(strstr(out, "level=error msg=shown k=v\n"));
	log_set_fd(2);
	log_set_level(LOGL_INFO);
	close(fds[0]);
}
END_TEST

Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_log_format_quotes_and_escapes);
	tcase_add_test(tc, test_log_format_keeps_utf8_and_truncates);
	tcase_add_test(tc, test_log_level_filter);
	suite_add_tcase(s, tc);
	return s;
}
