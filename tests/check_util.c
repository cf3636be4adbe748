#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
	/* A bad byte or a cut sequence anywhere in or after runs of ASCII
	 * (read eight bytes at a time). */
	for (size_t at = 0; at < 20; at++) {
		char t[24];

		memset(t, 'a', 20);
		t[at] = '\xff';
		ck_assert_msg(!util_utf8_valid(t, 20), "0xff at %zu", at);
		memcpy(t + at, "\xe6\xa9\x9f", 3); /* 機 */
		ck_assert_msg(util_utf8_valid(t, at + 3 < 20 ? 20 : at + 3),
		              "valid at %zu", at);
		ck_assert_msg(!util_utf8_valid(t, at + 2), "cut at %zu", at);
	}
}
END_TEST

/* util_fsync_parallel_after(): `first` runs on the caller's thread before
 * fds[0] is fsynced, while the others are; its error comes back as it
 * was, and a failed fsync names its path. */
struct first_arg {
	int fd, calls;
	bool fail;
};

static int
first_write(void *arg)
{
	struct first_arg *a = arg;

	a->calls++;
	if (a->fail)
		return csirt_error_set(CSIRT_EUNAVAILABLE, "write first: %s",
		                       strerror(ENOSPC));
	return util_write_all(a->fd, "abc", 3) < 0
	           ? csirt_error_set(CSIRT_EUNAVAILABLE, "write first")
	           : 0;
}

START_TEST(test_util_fsync_parallel_after)
{
	char *dir = tu_tmpdir();
	char *paths[3];
	int fds[3];
	struct first_arg a = {.fd = -1};
	char *got = NULL;
	size_t len = 0;

	for (int i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "f%d", i);
		paths[i] = util_path_join(dir, name);
		fds[i] = open(paths[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		ck_assert_int_ge(fds[i], 0);
	}
	a.fd = fds[0];
	ck_assert_int_eq(util_fsync_parallel_after(fds,
	                                           (const char *const *)paths,
	                                           3, first_write, &a),
	                 0);
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(util_read_file(&got, &len, paths[0], 100), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(got, "abc", 3) == 0);
	free(got);

	a.fail = true;
	ck_assert_int_eq(util_fsync_parallel_after(fds,
	                                           (const char *const *)paths,
	                                           3, first_write, &a),
	                 CSIRT_EUNAVAILABLE);
	ck_assert_int_eq(a.calls, 2);
	ck_assert_str_eq(csirt_error_msg(),
	                 "write first: No space left on device");

	/* A failed fsync of another file is reported with its path. */
	a.fail = false;
	close(fds[2]);
	fds[2] = -1;
	ck_assert_int_eq(util_fsync_parallel_after(fds,
	                                           (const char *const *)paths,
	                                           3, first_write, &a),
	                 CSIRT_EUNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), paths[2]));
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		free(paths[i]);
	}
	tu_rmrf(dir);
	free(dir);
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

/* Extents of `fd` the file system has yet to allocate (dirty pages not
 * written back: FIEMAP_EXTENT_DELALLOC), and the bytes its extents map. */
static void
delalloc_extents(int fd, int *delalloc, uint64_t *mapped)
{
	enum { N = 256 };
	struct fiemap *fm =
	    calloc(1, sizeof(*fm) + N * sizeof(fm->fm_extents[0]));

	ck_assert_ptr_nonnull(fm);
	fm->fm_start = 0;
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_extent_count = N;
	ck_assert_msg(ioctl(fd, FS_IOC_FIEMAP, fm) == 0,
	              "FIEMAP on the working directory's file system: %s",
	              strerror(errno));
	*delalloc = 0;
	*mapped = 0;
	for (uint32_t i = 0; i < fm->fm_mapped_extents; i++) {
		if (fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_DELALLOC)
			(*delalloc)++;
		*mapped += fm->fm_extents[i].fe_length;
	}
	free(fm);
}

/* Paced write-back leaves none of the file to be written, its last
 * partial chunk included (the data is then on its blocks, and the fsync
 * after it has only the inode left to write). */
START_TEST(test_util_writeback_paced)
{
	struct buf path = BUF_INIT;
	size_t len = 3 * 1024 * 1024 + 12345;
	char *data = malloc(len);
	uint64_t mapped = 0;
	int fd, delalloc = 0;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i * 131 + i / 4096);
	/* In the working directory (the build tree's), not TMPDIR, which
	 * may be a tmpfs: the test needs a file system that writes back. */
	buf_printf(&path, "writeback-paced-%d.tmp", (int)getpid());
	fd = open(path.data, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	/* Written, not yet written back: the test means something only on
	 * a file system that allocates late (ext4, xfs, btrfs). */
	delalloc_extents(fd, &delalloc, &mapped);
	ck_assert_msg(delalloc > 0,
	              "the file system wrote the file back at once: "
	              "run the tests from a directory on ext4 or xfs");
	util_writeback_paced(fd, 1024 * 1024);
	delalloc_extents(fd, &delalloc, &mapped);
	ck_assert_int_eq(delalloc, 0);
	ck_assert_uint_ge(mapped, len);
	util_writeback_paced(-1, 1024 * 1024); /* a bad descriptor: nothing */
	close(fd);
	ck_assert_int_eq(unlink(path.data), 0);
	free(data);
	buf_free(&path);
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

/* The formatters that replace snprintf() on the write path print what
 * snprintf() prints, at the edges too. */
START_TEST(test_util_formatters_match_snprintf)
{
	static const uint64_t u[] = {0,          1,          9,
	                             10,         99,         1000,
	                             9999999,    10000000,   4294967295u,
	                             1ull << 53, UINT64_MAX, UINT64_MAX - 1};
	static const int64_t s[] = {
	    0, -1, 1, -10, INT64_MAX, INT64_MIN, INT64_MIN + 1, -1234567};
	static const int64_t ms[] = {0,
	                             1,
	                             -1,
	                             -1000,
	                             999,
	                             1790000000123,
	                             253402300799999, /* 9999-12-31 */
	                             253402300800000, /* 10000-01-01 */
	                             -62167219200000, /* 0000-01-01 */
	                             -62167219200001};
	struct buf b = BUF_INIT;
	char want[64], got[64], big[300];

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		for (int w = 0; w <= 22; w += 1) {
			buf_reset(&b);
			buf_put_u64(&b, u[i], w);
			snprintf(want, sizeof(want), "%0*" PRIu64, w, u[i]);
			ck_assert_str_eq(b.data, want);
			ck_assert_uint_eq(b.len, strlen(want));
		}
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		buf_reset(&b);
		buf_put_i64(&b, s[i]);
		snprintf(want, sizeof(want), "%" PRId64, s[i]);
		ck_assert_str_eq(b.data, want);
	}
	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		time_t secs =
		    (time_t)(ms[i] >= 0 ? ms[i] / 1000 : (ms[i] - 999) / 1000);
		struct tm tm;

		gmtime_r(&secs, &tm);
		snprintf(
		    want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (int)(ms[i] - (int64_t)secs * 1000));
		util_time_format_ms(got, sizeof(got), ms[i]);
		ck_assert_str_eq(got, want);
	}
	util_time_format_ms(got, 10, 1790000000123);
	ck_assert_str_eq(got, "2026-09-2");

	/* util_copy2: truncated as snprintf("%s%s") is. */
	for (size_t size = 1; size <= 12; size++) {
		util_copy2(got, size, "case.", "integrity");
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
		snprintf(want, size, "%s%s", "case.", "integrity");
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
		ck_assert_str_eq(got, want);
	}
	util_copy2(got, sizeof(got), "alone", NULL);
	ck_assert_str_eq(got, "alone");
	util_copy2(got, 0, "nothing", "written");
	ck_assert_str_eq(got, "alone");

	/* buf_printf: into the room there is, or grown for what is not. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_reset(&b);
	buf_printf(&b, "%s|%d", "a", 7);
	buf_printf(&b, "%s", big);
	buf_printf(&b, "|%s|", big);
	ck_assert_uint_eq(b.len, 3 + 2 * strlen(big) + 2);
	ck_assert_uint_eq(strlen(b.data), b.len);
	ck_assert(strncmp(b.data, "a|7x", 4) == 0);
	ck_assert_str_eq(b.data + b.len - 2, "x|");
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
	tcase_add_test(tc, test_util_fsync_parallel_after);
	tcase_add_test(tc, test_util_buf_grows);
	tcase_add_test(tc, test_util_writeback_paced);
	tcase_add_test(tc, test_util_formatters_match_snprintf);
	suite_add_tcase(s, tc);
	return s;
}
