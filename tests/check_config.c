#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "suites.h"
#include "testutil.h"

static char *
write_config(const char *dir, const char *text)
{
	char *path = util_path_join(dir, "csirtd.conf");

	ck_assert_int_eq(util_write_file_atomic(path, text, strlen(text), 0600),
	                 0);
	return path;
}

START_TEST(test_config_defaults_are_valid)
{
	struct config cfg;

	config_init(&cfg);
	ck_assert_int_eq(config_validate(&cfg), 0);
	ck_assert_str_eq(cfg.listen_host, "127.0.0.1");
	ck_assert_uint_eq(cfg.listen_port, 8080);
	ck_assert_str_eq(cfg.data_dir, "./var");
	config_free(&cfg);
}
END_TEST

START_TEST(test_config_file_overrides)
{
	struct config cfg;
	char *dir = tu_tmpdir();
	char *path = write_config(dir, "# comment\n\n"
	                               "listen = [::1]:0\n"
	                               "  max_body_bytes=4096  \n"
	                               "log_level = debug\n"
	                               "data = /srv/csirt データ\n");

	config_init(&cfg);
	ck_assert_int_eq(config_load_file(&cfg, path), 0);
	ck_assert_int_eq(config_validate(&cfg), 0);
	ck_assert_str_eq(cfg.listen_host, "::1");
	ck_assert_uint_eq(cfg.listen_port, 0);
	ck_assert_uint_eq(cfg.max_body_bytes, 4096);
	ck_assert_int_eq(cfg.log_level, LOGL_DEBUG);
	ck_assert_str_eq(cfg.data_dir, "/srv/csirt データ");
	config_free(&cfg);
	tu_rmrf(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_config_errors_name_line)
{
	static const struct {
		const char *text, *expect;
	} cases[] = {
	    {"listen = 1.2.3.4:1\nbogus = 1\n", ":2: unknown setting"},
	    {"max_body_bytes = 12x\n", "not a whole number"},
	    {"max_body_bytes = 10\n", "out of range"},
	    {"max_body_bytes = -5\n", "not a whole number"},
	    {"writer_queue_depth = 99999999999999999999999\n",
	     "not a whole number"},
	    {"just words\n", ":1: expected \"key = value\""},
	    {"data =\n", "must not be empty"},
	    {"log_level = loud\n", "not one of"},
	    {"a\xff = b\n", "not UTF-8"},
	};
	char *dir = tu_tmpdir();

	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct config cfg;
		char *path = write_config(dir, cases[i].text);
		config_init(&cfg);
		ck_assert_int_eq(config_load_file(&cfg, path), CSIRT_EINVAL);
		ck_assert_msg(strstr(csirt_error_msg(), cases[i].expect),
		              "case %zu: \"%s\" lacks \"%s\"", i,
		              csirt_error_msg(), cases[i].expect);
		config_free(&cfg);
		free(path);
	}
	tu_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_config_bad_listen)
{
	static const char *bad[] = {"8080",        "127.0.0.1",
	                            ":80",         "127.0.0.1:70000",
	                            "127.0.0.1:x", "[::1]80"};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		struct config cfg;
		config_init(&cfg);
		ck_assert_int_eq(config_set(&cfg, "listen", bad[i]), 0);
		ck_assert_msg(config_validate(&cfg) == CSIRT_EINVAL,
		              "accepted %s", bad[i]);
		config_free(&cfg);
	}
}
END_TEST

START_TEST(test_config_empty_file_is_defaults)
{
	struct config cfg;
	char *dir = tu_tmpdir();
	char *path = write_config(dir, "");

	config_init(&cfg);
	ck_assert_int_eq(config_load_file(&cfg, path), 0);
	ck_assert_int_eq(config_validate(&cfg), 0);
	ck_assert_str_eq(cfg.listen, "127.0.0.1:8080");
	config_free(&cfg);
	tu_rmrf(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_config_missing_file)
{
	struct config cfg;

	config_init(&cfg);
	ck_assert_int_eq(config_load_file(&cfg, "/nonexistent/csirtd.conf"),
	                 CSIRT_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "/nonexistent"));
	config_free(&cfg);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_config_defaults_are_valid);
	tcase_add_test(tc, test_config_file_overrides);
	tcase_add_test(tc, test_config_errors_name_line);
	tcase_add_test(tc, test_config_bad_listen);
	tcase_add_test(tc, test_config_missing_file);
	tcase_add_test(tc, test_config_empty_file_is_defaults);
	suite_add_tcase(s, tc);
	return s;
}
