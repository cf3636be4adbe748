#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

START_TEST(test_util_time_roundtrip)
{
	char buf[UTIL_TIME_LEN];
	int64_t ms;

	ck_assert_int_eq(util_time_parse(&ms, "2026-11-27T09:30:00.123+09:00"),
	                 0);
	util_time_format_ms(buf, sizeof(buf), ms);
	ck_assert_str_eq(buf, "2026-11-27T00:30:00.123Z");
	ck_assert_int_eq(util_time_parse(&ms, "1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(ms, 0);
	ck_assert_int_eq(util_time_parse(&ms, "2024-02-29T23:59:59.9999Z"), 0);
	util_time_format_ms(buf, sizeof(buf), ms);
	ck_assert_str_eq(buf, "2024-02-29T23:59:59.999Z");
}
END_TEST

START_TEST(test_util_time_rejects_bad_input)
{
	static const char *bad[] = {"",
	                            "2026-11-27",
	                            "2026-11-27T09:30:00",
	                            "2026-13-01T00:00:00Z",
	                            "2025-02-29T00:00:00Z",
	                            "2026-11-27T24:00:00Z",
	                            "2026-11-27T09:30:00Zjunk",
	                            "2026-11-27T09:30:00+9:00",
	                            "２０２６-11-27T09:30:00Z",
	                            "2026-11-27T09:30:00.Z"};
	int64_t ms;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++)
		ck_assert_msg(util_time_parse(&ms, bad[i]) == CSIRT_EINVAL,
		              "accepted \"%s\"", bad[i]);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "RFC 3339"));
}
END_TEST

START_TEST(test_util_utf8_validation)
{
	static const char ok[] = "機器の紛失事案 lost PC \xf0\x9f\x94\x92";
	ck_assert(util_utf8_valid(ok, strlen(ok)));
	ck_assert(!util_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	ck_assert(!util_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	ck_assert(!util_utf8_valid("\xe6\xa9", 2));         /* truncated */
	ck_assert(!util_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	ck_assert(!util_utf8_valid("\xff", 1));
}
END_TEST

START_TEST(test_util_write_file_atomic)
{
	char *dir = tu_tmpdir();
	char *path = util_path_join(dir, "f.txt");
	char *text = NULL;
	size_t len;
	struct stat st;

	ck_assert_int_eq(util_write_file_atomic(path, "所属長\n", 10, 0600), 0);
	ck_assert_int_eq(util_read_file(&text, &len, path, 100), 0);
	ck_assert_uint_eq(len, 10);
	ck_assert_str_eq(text, "所属長\n");
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	free(text);
	/* A leftover world-readable temporary file does not leak its mode. */
	char *tmp = util_path_join(dir, "f.txt.tmp");
	ck_assert_int_eq(util_write_file_atomic(tmp, "old", 3, 0644), 0);
	ck_assert_int_eq(util_write_file_atomic(path, "new", 3, 0600), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	free(tmp);
	ck_assert_int_eq(util_read_file(&text, &len, path, 2), CSIRT_EINVAL);
	ck_assert_ptr_null(text);
	/* An empty file reads as an empty, terminated string. */
	ck_assert_int_eq(util_write_file_atomic(path, "", 0, 0600), 0);
	ck_assert_int_eq(util_read_file(&text, &len, path, 100), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(text, "");
	free(text);
	tu_rmrf(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_util_buf_grows)
{
	struct buf b = BUF_INIT;

	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	ck_assert_uint_eq(b.len, strlen(b.data));
	ck_assert(strncmp(b.data, "0,1,2,", 6) == 0);
	buf_free(&b);
}
END_TEST

Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_util_time_roundtrip);
	tcase_add_test(tc, test_util_time_rejects_bad_input);
	tcase_add_test(tc, test_util_utf8_validation);
	tcase_add_test(tc, test_util_write_file_atomic);
	tcase_add_test(tc, test_util_buf_grows);
	suite_add_tcase(s, tc);
	return s;
}
