/*
 * check_fault.c - storage faults under the real daemon: ENOSPC and EIO on
 * write and fsync, injected by tools/fault-inject.c (LD_PRELOAD) into the
 * ledger's and the index's files while csirtd serves.
 *
 * What must hold: a request whose event could not be made durable is
 * never acknowledged (it gets `unavailable`); after a failed fsync the
 * writer never retries (every later write is refused too) while reads go
 * on; a restart on the same data directory recovers: every acknowledged
 * event is there, new writes work, git fsck and csirt-audit verify
 * --index pass.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apiclient.h"
#include "codec.h"
#include "suites.h"
#include "util.h"

struct fault_env {
	struct apic a;
	char *dir, *control;
};

static void
arm(const struct fault_env *f, const char *rules)
{
	ck_assert_int_eq(
	    util_write_file_atomic(f->control, rules, strlen(rules), 0600), 0);
}

/* Starts the daemon with the shim preloaded and no fault armed. */
static void
fault_start(struct fault_env *f)
{
	const char *asan = getenv("ASAN_OPTIONS");
	struct buf opts = BUF_INIT;

	f->dir = tu_tmpdir();
	f->control = util_path_join(f->dir, "faults");
	arm(f, "");
	/* The shim comes before the sanitizer runtime in the library list,
	 * which ASan would refuse by default. */
	buf_printf(&opts, "%s%sverify_asan_link_order=0",
	           asan != NULL ? asan : "", asan != NULL ? ":" : "");
	setenv("ASAN_OPTIONS", opts.data, 1);
	setenv("FAULT_CONTROL", f->control, 1);
	setenv("LD_PRELOAD", FAULT_INJECT_LIB, 1);
	apic_start(&f->a);
	unsetenv("LD_PRELOAD");
	buf_free(&opts);
}

/* SIGTERM (whatever the exit status: a broken writer may say so), then
 * the same data directory again, still under the shim (disarmed). */
static void
fault_restart(struct fault_env *f)
{
	ck_assert_int_ne(tu_daemon_stop(&f->a.d, SIGTERM, 10000), -1);
	arm(f, "");
	setenv("LD_PRELOAD", FAULT_INJECT_LIB, 1);
	ck_assert_int_eq(tu_daemon_start(&f->a.d, f->a.data, NULL), 0);
	unsetenv("LD_PRELOAD");
}

static void
fault_stop(struct fault_env *f)
{
	apic_stop(&f->a);
	unsetenv("FAULT_CONTROL");
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->control);
}

/* The shim recorded at least one injected failure. */
static void
assert_fired(const struct fault_env *f)
{
	struct buf out = BUF_INIT;

	ck_assert_int_eq(tu_sh(&out, "cat '%s.hits'", f->control), 0);
	ck_assert_msg(out.len > 0, "the fault never fired");
	buf_free(&out);
}

/* A report as rep1: its HTTP status, the case id on 200 (caller frees),
 * the Twirp error code in `code` otherwise. */
static int
report(struct fault_env *f, const char *title, char **id, struct buf *err)
{
	Csirt__V1__ReportIncidentRequest *r = apic_report_request(title);
	Csirt__V1__CaseResponse *resp = NULL;
	int status;

	buf_reset(err);
	status = apic_call(&f->a, f->a.rep1, "CaseService/ReportIncident",
	                   &r->base, &csirt__v1__case_response__descriptor,
	                   (ProtobufCMessage **)&resp, err);
	if (status == 200) {
		*id = util_strdup(resp->case_->id);
		codec_free(&resp->base);
	}
	codec_free(&r->base);
	return status;
}

static void
assert_unavailable(struct fault_env *f, const char *title)
{
	struct buf err = BUF_INIT;
	char *id = NULL;
	int status = report(f, title, &id, &err);

	ck_assert_msg(status == 503, "%s: HTTP %d (%s), want 503", title,
	              status, id != NULL ? id : err.data);
	ck_assert_ptr_nonnull(strstr(err.data, "\"code\":\"unavailable\""));
	buf_free(&err);
}

static void
assert_case(struct fault_env *f, const char *id)
{
	Csirt__V1__GetCaseRequest *g =
	    apic_msg_new(&csirt__v1__get_case_request__descriptor);
	Csirt__V1__GetCaseResponse *resp = NULL;

	codec_set_string(&g->id, id);
	ck_assert_int_eq(apic_call(&f->a, f->a.sm, "CaseService/GetCase",
	                           &g->base,
	                           &csirt__v1__get_case_response__descriptor,
	                           (ProtobufCMessage **)&resp, NULL),
	                 200);
	ck_assert_str_eq(resp->case_->id, id);
	codec_free(&resp->base);
	codec_free(&g->base);
}

/* After recovery: acknowledged cases are there, a new write works, and
 * the stores verify with stock git and the auditor's tool. */
static void
assert_recovered(struct fault_env *f, char *const *acked, size_t n)
{
	struct buf err = BUF_INIT, out = BUF_INIT;
	char *id = NULL;

	for (size_t i = 0; i < n; i++)
		assert_case(f, acked[i]);
	ck_assert_msg(report(f, "復旧後の報告", &id, &err) == 200, "%s",
	              err.data);
	assert_case(f, id);
	ck_assert_msg(
	    tu_sh(&out, "git -C '%s/ledger.git' fsck --strict", f->a.data) == 0,
	    "%s", out.data);
	ck_assert_msg(tu_sh(&out,
	                    "'%s' verify '%s/ledger.git' --index "
	                    "'%s/index.sqlite'",
	                    CSIRT_AUDIT_BIN, f->a.data, f->a.data) == 0,
	              "%s", out.data);
	free(id);
	buf_free(&err);
	buf_free(&out);
}

/* How many times the daemon's log says `what`. */
static int
logged(const struct fault_env *f, const char *what)
{
	char *log = NULL;
	size_t len = 0;
	int n = 0;

	ck_assert_int_eq(util_read_file(&log, &len, f->a.d.log_path, 1 << 26),
	                 0);
	for (const char *p = log; (p = strstr(p, what)) != NULL; p++)
		n++;
	free(log);
	return n;
}

/* How many start-ups so far rebuilt the index. */
static int
rebuilds_logged(const struct fault_env *f)
{
	return logged(f, "rebuilding it from the ledger");
}

/* The merges write their packs with O_DIRECT (and read the merged ones
 * so); a file system that refuses O_DIRECT (EINVAL at open, as tmpfs
 * before Linux 6.6) gets the page cache instead.  Every batch here is a
 * pack of its own, so 40 make two merges of level 0: they must be written
 * through the page cache, and after a restart every case is there and the
 * ledger verifies. */
START_TEST(test_fault_merges_without_odirect)
{
	struct fault_env f;
	struct buf err = BUF_INIT;
	char *ids[40];
	/* The page cache's, then O_DIRECT's. */
	const char *ways[] = {
	    "csirt_ledger_merge_bytes_total{op=\"write\",via=\"cache\"}",
	    "csirt_ledger_merge_bytes_total{op=\"write\",via=\"direct\"}"};
	double before[2];
	int i;

	fault_start(&f);
	arm(&f, "odirect EINVAL objects/pack/\n");
	/* The daemon's first batches (its users) ran before the rule. */
	for (i = 0; i < 2; i++)
		before[i] = apic_metric(&f.a, ways[i]);
	for (i = 0; i < 40; i++) {
		char title[64];

		snprintf(title, sizeof(title), "統合前の報告 %d", i);
		ck_assert_msg(report(&f, title, &ids[i], &err) == 200, "%s",
		              err.data);
	}
	/* The mergers run at nice 10: up to 30 s on a busy machine. */
	for (i = 0; i < 300 && apic_metric(&f.a, ways[0]) == before[0]; i++)
		usleep(100 * 1000);
	ck_assert_msg(apic_metric(&f.a, ways[0]) > before[0],
	              "no merge was written through the page cache");
	ck_assert_msg(apic_metric(&f.a, ways[1]) == before[1],
	              "a merge was written with O_DIRECT under the rule");
	assert_fired(&f);
	fault_restart(&f);
	assert_recovered(&f, ids, 40);
	for (i = 0; i < 40; i++)
		free(ids[i]);
	buf_free(&err);
	fault_stop(&f);
}
END_TEST

/* One scenario: a write acknowledged, then `rules` armed: the next writes
 * are refused with unavailable (no false acknowledgement, no retry),
 * reads go on; disarmed and restarted, everything acknowledged is there.
 * With `why`, the daemon's log must say it when the write is refused. */
static void
fault_scenario(const char *rules, const char *why)
{
	struct fault_env f;
	struct buf err = BUF_INIT;
	char *before = NULL;

	fault_start(&f);
	ck_assert_msg(report(&f, "障害前の報告", &before, &err) == 200, "%s",
	              err.data);
	arm(&f, rules);
	assert_unavailable(&f, "障害中の報告");
	assert_fired(&f);
	if (why != NULL)
		ck_assert_msg(logged(&f, why) > 0,
		              "the log does not say \"%s\"", why);
	/* Disarmed, the writer still refuses: it no longer trusts what the
	 * failed call left on disk. */
	arm(&f, "");
	assert_unavailable(&f, "障害後の報告");
	assert_case(&f, before);
	fault_restart(&f);
	assert_recovered(&f, &before, 1);
	free(before);
	buf_free(&err);
	fault_stop(&f);
}

START_TEST(test_fault_ledger_fsync_eio)
{
	fault_scenario("fsync EIO ledger.git/objects/pack\n", NULL);
}
END_TEST

START_TEST(test_fault_ledger_write_enospc)
{
	fault_scenario("write ENOSPC ledger.git/objects/pack\n", NULL);
}
END_TEST

START_TEST(test_fault_ref_fsync_eio)
{
	fault_scenario("fsync EIO ledger.git/refs\n", NULL);
}
END_TEST

/* The ref's lock file belongs to someone else (git pack-refs, say): the
 * batch is refused, the lock is left alone, and the writer stops as after
 * any failure on the durability path; a restart removes the stale lock
 * and recovers. */
START_TEST(test_fault_ref_locked)
{
	struct fault_env f;
	struct buf err = BUF_INIT, out = BUF_INIT;
	char *before = NULL;

	fault_start(&f);
	ck_assert_msg(report(&f, "障害前の報告", &before, &err) == 200, "%s",
	              err.data);
	ck_assert_int_eq(tu_sh(&out,
	                       "echo other > '%s/ledger.git/refs/heads/"
	                       "ledger.lock'",
	                       f.a.data),
	                 0);
	assert_unavailable(&f, "ロック中の報告");
	ck_assert_int_eq(tu_sh(&out,
	                       "grep -qx other '%s/ledger.git/refs/heads/"
	                       "ledger.lock'",
	                       f.a.data),
	                 0);
	assert_case(&f, before);
	fault_restart(&f);
	assert_recovered(&f, &before, 1);
	free(before);
	buf_free(&err);
	buf_free(&out);
	fault_stop(&f);
}
END_TEST

/* The ledger commit is durable but the index's is not: not acknowledged;
 * the restart replays the ledger into the index (verify --index).  The
 * failed write is the batch's pages, written into the WAL beside the
 * ledger's durable write (index_flush_start()). */
START_TEST(test_fault_index_write_eio)
{
	fault_scenario("write EIO index.sqlite-wal\n",
	               "index: writing the batch");
}
END_TEST

/* The daemon's index commits and checkpoints without an fsync
 * (synchronous=OFF: it is derived from the ledger); its checkpoint thread
 * fsyncs its files every few seconds.  Writes are acknowledged until that
 * fsync fails; that write is refused, and so is every later one; the stop
 * marks the index failed, the restart rebuilds it, and every acknowledged
 * write is there. */
#define FAULT_LATE_SECONDS 60

START_TEST(test_fault_index_fsync_enospc)
{
	struct fault_env f;
	struct buf err = BUF_INIT;
	size_t n = 0, cap = 64;
	char **acked = util_xcalloc(cap, sizeof(*acked));
	int64_t until = util_time_now_ms() + FAULT_LATE_SECONDS * 1000;
	int status = 200;

	fault_start(&f);
	ck_assert_msg(report(&f, "障害前の報告", &acked[n++], &err) == 200,
	              "%s", err.data);
	arm(&f, "fsync ENOSPC index.sqlite\n");
	while (util_time_now_ms() < until) {
		char *id = NULL;

		buf_reset(&err);
		if ((status = report(&f, "障害中の報告", &id, &err)) != 200)
			break;
		if (n == cap)
			acked =
			    util_xrealloc(acked, (cap *= 2) * sizeof(*acked));
		acked[n++] = id;
	}
	ck_assert_msg(status == 503, "HTTP %d after %zu reports (%s)", status,
	              n, err.data);
	ck_assert_ptr_nonnull(strstr(err.data, "\"code\":\"unavailable\""));
	assert_fired(&f);
	arm(&f, "");
	assert_unavailable(&f, "障害後の報告");
	fault_restart(&f);
	ck_assert_int_eq(rebuilds_logged(&f), 1);
	assert_recovered(&f, acked, n);
	for (size_t i = 0; i < n; i++)
		free(acked[i]);
	free(acked);
	buf_free(&err);
	fault_stop(&f);
}
END_TEST

/* The index file's inode: a rebuild replaces the file. */
static ino_t
index_inode(const struct fault_env *f)
{
	char *p = util_path_join(f->a.data, "index.sqlite");
	struct stat st;

	ck_assert_int_eq(stat(p, &st), 0);
	free(p);
	return st.st_ino;
}

/* The contents of index.unsynced, or "" when there is none. */
static void
read_mark(const struct fault_env *f, struct buf *out)
{
	char *p = util_path_join(f->a.data, "index.unsynced");

	buf_reset(out);
	if (util_path_exists(p))
		ck_assert_int_eq(tu_sh(out, "cat '%s'", p), 0);
	free(p);
}

/* SIGKILL, then the same data directory again. */
static void
kill_restart(struct fault_env *f)
{
	ck_assert_int_ne(tu_daemon_stop(&f->a.d, SIGKILL, 10000), -1);
	ck_assert_int_eq(tu_daemon_start(&f->a.d, f->a.data, NULL), 0);
}

/* While the daemon runs, index.unsynced names this boot.  Killed, it
 * restarts on the index as it was (the same boot's page cache held it);
 * after a system crash (another boot's id in the file) the index is
 * rebuilt from the ledger, torn as it may be; a clean stop fsyncs it and
 * removes the file. */
START_TEST(test_fault_index_rebuilt_after_system_crash)
{
	struct fault_env f;
	struct buf err = BUF_INIT, boot = BUF_INIT, mark = BUF_INIT;
	char *ids[3] = {NULL, NULL, NULL};
	char *ixp;
	ino_t ino;
	int fd;

	fault_start(&f);
	ck_assert_int_eq(tu_sh(&boot, "cat /proc/sys/kernel/random/boot_id"),
	                 0);
	read_mark(&f, &mark);
	ck_assert_str_eq(mark.data, boot.data);
	ck_assert_msg(report(&f, "一件目", &ids[0], &err) == 200, "%s",
	              err.data);

	/* The daemon killed: same boot, same index. */
	ino = index_inode(&f);
	kill_restart(&f);
	ck_assert_uint_eq(index_inode(&f), ino);
	ck_assert_int_eq(rebuilds_logged(&f), 0);
	assert_case(&f, ids[0]);
	ck_assert_msg(report(&f, "二件目", &ids[1], &err) == 200, "%s",
	              err.data);

	/* The system crashed: another boot wrote the mark, and the index
	 * is torn (pages of garbage). */
	ck_assert_int_ne(tu_daemon_stop(&f.a.d, SIGKILL, 10000), -1);
	read_mark(&f, &mark);
	ck_assert_str_eq(mark.data, boot.data);
	{
		char *p = util_path_join(f.a.data, "index.unsynced");
		const char other[] = "00000000-0000-4000-8000-000000000000\n";

		ck_assert_int_eq(
		    util_write_file_atomic(p, other, strlen(other), 0600), 0);
		free(p);
	}
	ixp = util_path_join(f.a.data, "index.sqlite");
	fd = open(ixp, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	{
		char junk[8192];

		memset(junk, 0xA5, sizeof(junk));
		ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), 4096),
		                 (ssize_t)sizeof(junk));
	}
	close(fd);
	free(ixp);
	ck_assert_int_eq(tu_daemon_start(&f.a.d, f.a.data, NULL), 0);
	ck_assert_int_eq(rebuilds_logged(&f), 1);
	ck_assert_uint_ne(index_inode(&f), ino);
	read_mark(&f, &mark);
	ck_assert_str_eq(mark.data, boot.data);
	assert_recovered(&f, ids, 2);

	/* A clean stop leaves nothing unsynced. */
	ck_assert_int_ne(tu_daemon_stop(&f.a.d, SIGTERM, 10000), -1);
	read_mark(&f, &mark);
	ck_assert_str_eq(mark.data, "");
	ck_assert_int_eq(tu_daemon_start(&f.a.d, f.a.data, NULL), 0);
	ck_assert_int_eq(rebuilds_logged(&f), 1); /* the one above only */
	for (size_t i = 0; i < 3; i++)
		free(ids[i]);
	buf_free(&err);
	buf_free(&boot);
	buf_free(&mark);
	fault_stop(&f);
}
END_TEST

/* Waits (bounded) until the shim has recorded a hit: the stall is on. */
static void
wait_fired(const struct fault_env *f)
{
	char *hits = util_path_join(f->dir, "faults.hits");

	for (int i = 0; i < 3000 && !util_path_exists(hits); i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	ck_assert_msg(util_path_exists(hits), "the stall never fired");
	free(hits);
}

/* A keystore write stuck on a slow disk (a token being issued: its fsync
 * stalls until the test releases it) holds up only its own call: the
 * event loop goes on answering reads and ledger writes meanwhile, and the
 * stuck call completes once the disk answers.  Before the storage thread,
 * the keystore write ran on the loop and this report would wait for it. */
START_TEST(test_fault_keystore_stall_off_loop)
{
	struct fault_env f;
	struct buf err = BUF_INIT;
	char *id = NULL;
	pid_t pid;
	int st;

	fault_start(&f);
	arm(&f, "fsync STALL keystore.sqlite\n");
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		Csirt__V1__IssueTokenRequest *q =
		    apic_msg_new(&csirt__v1__issue_token_request__descriptor);
		struct buf e = BUF_INIT;
		int status;

		q->login = util_strdup("rep1");
		status =
		    apic_call(&f.a, f.a.admin, "DirectoryService/IssueToken",
		              &q->base, NULL, NULL, &e);
		_exit(status == 200 ? 0 : 1);
	}
	wait_fired(&f);
	ck_assert_msg(report(&f, "遅いディスクの間の報告", &id, &err) == 200,
	              "%s", err.data);
	assert_case(&f, id);
	/* Answered while the token is still being stored. */
	ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0);
	arm(&f, "");
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	              "IssueToken failed after the stall: status %d", st);
	free(id);
	buf_free(&err);
	fault_stop(&f);
}
END_TEST

/* A ledger batch held up by a slow disk (the ref lock's fsync stalls for
 * over a second, then the test releases it) still completes, and the
 * daemon says so: a "slow ledger batch" warning with its phases, the time
 * in `durable`, and /metrics counting it with its length. */
START_TEST(test_fault_slow_batch_logged)
{
	struct fault_env f;
	char *log = NULL, *line, *end, *durable;
	size_t len = 0;
	pid_t pid;
	int st;

	fault_start(&f);
	ck_assert_int_eq(logged(&f, "slow ledger batch"), 0);
	/* The ref lock (an unnamed file linked in: its /proc path is not
	 * its name). */
	arm(&f, "fsync STALL refs/heads/\n");
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		struct buf e = BUF_INIT;
		char *id = NULL;

		_exit(report(&f, "遅いディスクの報告", &id, &e) == 200 ? 0 : 1);
	}
	wait_fired(&f);
	{
		struct timespec ts = {1, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	arm(&f, "");
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	              "the report failed after the stall: status %d", st);
	/* The warning comes after the answers: wait for it. */
	for (int i = 0; i < 500 && logged(&f, "slow ledger batch") == 0; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	ck_assert_int_eq(logged(&f, "slow ledger batch"), 1);
	ck_assert_int_eq(util_read_file(&log, &len, f.a.d.log_path, 1 << 26),
	                 0);
	line = strstr(log, "slow ledger batch");
	end = strchr(line, '\n');
	ck_assert_ptr_nonnull(end);
	*end = '\0';
	durable = strstr(line, " durable_ms=");
	/* A second or more, and not some wrapped-around figure. */
	ck_assert_msg(durable != NULL && strtod(durable + 12, NULL) >= 1000 &&
	                  strtod(durable + 12, NULL) < 60000,
	              "no durable time of a second or more in: %s", line);
	ck_assert_double_eq(
	    apic_metric(&f.a, "csirt_writer_slow_batches_total"), 1);
	ck_assert_double_ge(apic_metric(&f.a, "csirt_writer_batch_seconds_max"),
	                    1.0);
	free(log);
	fault_stop(&f);
}
END_TEST

Suite *
fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = tcase_create("storage");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_fault_ledger_fsync_eio);
	tcase_add_test(tc, test_fault_ledger_write_enospc);
	tcase_add_test(tc, test_fault_ref_fsync_eio);
	tcase_add_test(tc, test_fault_ref_locked);
	tcase_add_test(tc, test_fault_index_write_eio);
	tcase_add_test(tc, test_fault_index_fsync_enospc);
	tcase_add_test(tc, test_fault_index_rebuilt_after_system_crash);
	tcase_add_test(tc, test_fault_keystore_stall_off_loop);
	tcase_add_test(tc, test_fault_slow_batch_logged);
	tcase_add_test(tc, test_fault_merges_without_odirect);
	suite_add_tcase(s, tc);
	return s;
}
