/*
 * check_mirror.c - mirrors of the ledger: the URL rules, pushes by the
 * mirror thread to local bare repositories (a diverged mirror is refused
 * and left as it was, never overwritten), the lag it reports (fake clock),
 * the real daemon pushing after its batches, and the sample update hook
 * tools/mirror-update-hook refusing stock git's forced pushes and
 * deletions.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "apiclient.h"
#include "clock.h"
#include "datadir.h"
#include "error.h"
#include "fixtures.h"
#include "mirror.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"
#include "writer.h"

START_TEST(test_mirror_url_rules)
{
	static const char *const good[] = {
	    "/srv/mirror/ledger.git",
	    "ssh://backup.example/srv/ledger.git",
	    "ssh://git@backup.example:2222/srv/ledger.git",
	    "git@backup.example:ledger.git",
	    "backup:ledger.git",
	};
	static const char *const bad[] = {
	    "",
	    "relative/path.git",
	    "-oProxyCommand=x:y",
	    "https://backup.example/ledger.git",
	    "ssh://user:secret@backup.example/ledger.git",
	    "ssh://backup.example",
	    "/srv/with space.git",
	    "/srv/new\nline.git",
	    ":nohost",
	};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(good); i++)
		ck_assert_msg(mirror_url_check(good[i]) == 0, "%s: %s", good[i],
		              csirt_error_msg());
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++)
		ck_assert_msg(mirror_url_check(bad[i]) == CSIRT_EINVAL, "%s",
		              bad[i]);
}
END_TEST

/* The head of refs/heads/ledger in `repo`, or "" when it has none. */
static char *
head_of(const char *repo)
{
	struct buf out = BUF_INIT;

	tu_sh(&out, "git -C '%s' rev-parse --verify -q refs/heads/ledger",
	      repo);
	out.data[strcspn(out.data, "\n")] = '\0';
	return buf_detach(&out);
}

/* A bare repository whose ledger branch is an unrelated commit. */
static void
diverged_repo(const char *dir, const char *path)
{
	struct buf out = BUF_INIT;

	ck_assert_msg(tu_sh(&out,
	                    "cd '%s' && git init -q --bare '%s' && "
	                    "t=$(git -C '%s' mktree </dev/null) && "
	                    "c=$(echo other | git -C '%s' -c user.name=x -c "
	                    "user.email=x@x commit-tree $t) && "
	                    "git -C '%s' update-ref refs/heads/ledger $c",
	                    dir, path, path, path, path) == 0,
	              "%s", out.data);
	buf_free(&out);
}

START_TEST(test_mirror_pushes_fast_forward_only)
{
	struct fx_env e;
	struct mirror *m = NULL;
	struct buf out = BUF_INIT;
	char *good = NULL, *div = NULL, *div_before = NULL, *head = NULL,
	     *got = NULL;
	const char *urls[2];

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	good = util_path_join(e.dir, "good.git");
	div = util_path_join(e.dir, "diverged.git");
	ck_assert_int_eq(tu_sh(&out, "git init -q --bare '%s'", good), 0);
	diverged_repo(e.dir, div);
	div_before = head_of(div);
	urls[0] = good;
	urls[1] = div;
	ck_assert_int_eq(mirror_new(&m, e.repo, urls, 2, NULL), 0);
	ck_assert_uint_eq(mirror_count(m), 2);
	mirror_notify(m, writer_last_seq(e.w));
	/* Freeing runs the pending round to its end. */
	mirror_free(m);
	m = NULL;
	head = head_of(e.repo);
	got = head_of(good);
	ck_assert_str_eq(got, head);
	free(got);
	got = head_of(div);
	ck_assert_str_eq(got, div_before); /* refused, not overwritten */
	free(got);

	/* More events: the good mirror fast-forwards. */
	ck_assert_int_eq(
	    fx_submit(e.w, fx_division("d9", "課"), NULL, NULL, NULL), 0);
	ck_assert_int_eq(mirror_new(&m, e.repo, urls, 1, NULL), 0);
	mirror_notify(m, writer_last_seq(e.w));
	mirror_free(m);
	free(head);
	head = head_of(e.repo);
	got = head_of(good);
	ck_assert_str_eq(got, head);
	free(got);
	/* The mirror is a ledger csirt-audit verifies. */
	fx_env_close(&e);
	buf_reset(&out);
	ck_assert_msg(tu_sh(&out,
	                    "'%s' verify '%s' --allowed-signers "
	                    "'%s/keys/allowed_signers'",
	                    CSIRT_AUDIT_BIN, good, e.data) == 0,
	              "%s", out.data);
	free(good);
	free(div);
	free(div_before);
	free(head);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_mirror_lag_of_an_unreachable_mirror)
{
	struct fx_env e;
	struct mirror *m = NULL;
	struct fx_clock fc;
	struct mirror_stats st;
	struct buf metrics = BUF_INIT;
	char *gone;
	const char *urls[1];

	fx_clock_init(&fc, 1000000);
	fx_env_init(&e);
	gone = util_path_join(e.dir, "missing/ledger.git");
	urls[0] = gone;
	ck_assert_int_eq(mirror_new(&m, e.repo, urls, 1, &fc.clk), 0);
	mirror_get_stats(m, 0, &st);
	ck_assert_uint_eq(st.lag_events, 0);
	ck_assert(st.lag_seconds == 0.0);
	mirror_notify(m, 5);
	fc.now += 3000;
	mirror_notify(m, 7); /* still behind since the first */
	fc.now += 1500;
	/* Every push fails, so these hold whenever the thread runs. */
	mirror_get_stats(m, 0, &st);
	ck_assert_uint_eq(st.pushed_seq, 0);
	ck_assert_uint_eq(st.lag_events, 7);
	ck_assert_msg(st.lag_seconds == 4.5, "%f", st.lag_seconds);
	ck_assert_uint_eq(st.pushes, 0);
	mirror_metrics_write(m, &metrics);
	ck_assert_ptr_nonnull(
	    strstr(metrics.data, "csirt_mirror_lag_events{mirror=\"0\"} 7\n"));
	ck_assert_ptr_nonnull(strstr(
	    metrics.data, "csirt_mirror_lag_seconds{mirror=\"0\"} 4.500\n"));
	ck_assert_ptr_nonnull(
	    strstr(metrics.data, "# TYPE csirt_mirror_failures_total counter"));
	mirror_free(m);
	free(gone);
	buf_free(&metrics);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_mirror_daemon_pushes_after_batches)
{
	struct apic a;
	struct buf out = BUF_INIT, log = BUF_INIT;
	char *dir = tu_tmpdir(), *conf = util_path_join(dir, "c.conf");
	char *good = util_path_join(dir, "good.git");
	char *div = util_path_join(dir, "diverged.git");
	char *div_before, *head, *got;
	const char *extra[] = {"--config", conf, NULL};
	FILE *f;
	int st;

	ck_assert_int_eq(tu_sh(&out, "git init -q --bare '%s'", good), 0);
	diverged_repo(dir, div);
	div_before = head_of(div);
	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "mirror = %s\nmirror = %s\n", good, div);
	fclose(f);
	{
		const char *argv[] = {CSIRTD_BIN, "--config", conf, "-n", NULL};
		buf_reset(&out);
		ck_assert_int_eq(tu_run(&out, &st, argv), 0);
		ck_assert_int_eq(st, 0);
		ck_assert_ptr_nonnull(strstr(out.data, "\nmirror = "));
		ck_assert_ptr_nonnull(strstr(out.data, "good.git\nmirror = "));
	}
	apic_start_args(&a, extra);
	for (int i = 0; i < 3; i++) {
		char *id = apic_report(&a, a.rep1, "端末紛失");
		ck_assert_ptr_nonnull(id);
		free(id);
	}
	buf_reset(&out);
	ck_assert_int_eq(
	    tu_http(a.d.addr, "GET", "/metrics", NULL, NULL, 0, &out), 200);
	ck_assert_ptr_nonnull(
	    strstr(out.data, "csirt_mirror_lag_events{mirror=\"1\"}"));
	ck_assert_ptr_nonnull(
	    strstr(out.data, "csirt_mirror_failures_total{mirror=\"1\"}"));
	ck_assert_ptr_nonnull(strstr(out.data, "csirt_checkpoints_total 0\n"));
	buf_reset(&out);
	{
		char *repo = util_path_join(a.data, "ledger.git");
		head = head_of(repo);
		free(repo);
	}
	/* A clean stop pushes what is left. */
	apic_halt(&a);
	got = head_of(good);
	ck_assert_str_eq(got, head);
	free(got);
	got = head_of(div);
	ck_assert_str_eq(got, div_before);
	free(got);
	ck_assert_int_eq(tu_sh(&log, "cat '%s'", a.d.log_path), 0);
	ck_assert_msg(strstr(log.data, "msg=\"mirror push failed\" "
	                               "mirror=1") != NULL,
	              "%s", log.data);
	ck_assert_ptr_nonnull(strstr(log.data, "not a fast-forward"));
	ck_assert_ptr_null(strstr(log.data, "diverged.git"));
	apic_free(&a);
	tu_rmrf(dir);
	free(dir);
	free(conf);
	free(good);
	free(div);
	free(div_before);
	free(head);
	buf_free(&out);
	buf_free(&log);
}
END_TEST

START_TEST(test_mirror_update_hook_refuses_rewrites)
{
	char *dir = tu_tmpdir();
	struct buf out = BUF_INIT;

	ck_assert_msg(
	    tu_sh(&out,
	          "cd '%s' && git init -q --bare m.git && install -m 0755 "
	          "'%s/tools/mirror-update-hook' m.git/hooks/update && "
	          "git init -q w && cd w && "
	          "g() { git -c user.name=x -c user.email=x@x \"$@\"; } && "
	          "g commit -q --allow-empty -m one && "
	          "git push -q ../m.git HEAD:refs/heads/ledger && "
	          "g commit -q --allow-empty -m two && "
	          "git push -q ../m.git HEAD:refs/heads/ledger && "
	          "git push -q ../m.git HEAD:refs/heads/other",
	          dir, CSIRT_SOURCE_DIR) == 0,
	    "normal pushes: %s", out.data);
	buf_reset(&out);
	/* A rewrite, forced: refused, the mirror keeps "two". */
	ck_assert_int_eq(
	    tu_sh(&out,
	          "cd '%s/w' && git -c user.name=x -c user.email=x@x commit -q "
	          "--amend --allow-empty -m rewritten && "
	          "git push --force ../m.git HEAD:refs/heads/ledger 2>&1",
	          dir),
	    1);
	ck_assert_ptr_nonnull(strstr(out.data, "refusing non-fast-forward"));
	buf_reset(&out);
	ck_assert_int_eq(
	    tu_sh(&out, "git -C '%s/m.git' log --format=%%s ledger", dir), 0);
	ck_assert_str_eq(out.data, "two\none\n");
	/* Deletions: refused on every ref. */
	buf_reset(&out);
	ck_assert_int_eq(
	    tu_sh(&out,
	          "cd '%s/w' && git push ../m.git :refs/heads/other "
	          "2>&1",
	          dir),
	    1);
	ck_assert_ptr_nonnull(strstr(out.data, "refusing to delete"));
	buf_reset(&out);
	ck_assert_int_eq(
	    tu_sh(&out, "git -C '%s/m.git' rev-parse -q --verify other", dir),
	    0);
	tu_rmrf(dir);
	free(dir);
	buf_free(&out);
}
END_TEST

Suite *
mirror_suite(void)
{
	Suite *s = suite_create("mirror");
	TCase *tc = tcase_create("mirror");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_mirror_url_rules);
	tcase_add_test(tc, test_mirror_pushes_fast_forward_only);
	tcase_add_test(tc, test_mirror_lag_of_an_unreachable_mirror);
	tcase_add_test(tc, test_mirror_daemon_pushes_after_batches);
	tcase_add_test(tc, test_mirror_update_hook_refuses_rewrites);
	suite_add_tcase(s, tc);
	return s;
}
