/*
 * check_crash.c - SIGKILL the process writing the ledger at random moments,
 * mid-batch, many times.  After each kill the data directory is reopened
 * (which reconciles the index) and checked: every acknowledged event is
 * present exactly once with the commit it was acknowledged with, git fsck
 * is clean, seqs are contiguous, and the index equals a rebuild.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "datadir.h"
#include "error.h"
#include "fixtures.h"
#include "index.h"
#include "suites.h"
#include "testutil.h"

#define CRASH_TRIALS 50
#define CRASH_MAX_ACKS 100000

struct ack {
	uint64_t seq;
	char commit[41];
	char case_id[12];
};

/* The child: writes batches forever, printing one line per acknowledged
 * event only after writer_run_once returned (i.e. after durability). */
static void
child_main(const char *data, int fd)
{
	struct datadir *dd = NULL;
	struct writer *w = NULL;
	struct writer_cmd cmds[16];
	char open_ids[64][12];
	size_t nopen = 0;
	unsigned seed = (unsigned)getpid();

	if (datadir_open(&dd, data) != 0 ||
	    writer_new(&w, dd->lg, dd->ix, 64, 16) != 0) {
		dprintf(fd, "ERR %s\n", csirt_error_msg());
		_exit(3);
	}
	dprintf(fd, "READY\n");
	for (;;) {
		size_t n = 1 + (size_t)(rand_r(&seed) % 16);
		for (size_t i = 0; i < n; i++) {
			memset(&cmds[i], 0, sizeof(cmds[i]));
			if (nopen == 0 || rand_r(&seed) % 3 == 0)
				cmds[i].ev = fx_report(
				    "rep1", "d1",
				    CSIRT__V1__CATEGORY__CATEGORY_MALWARE_INTRUSION,
				    "不正アクセスの疑い");
			else
				cmds[i].ev = fx_case_event(
				    open_ids[rand_r(&seed) % nopen],
				    CSIRT__V1__EVENT__PAYLOAD_GUIDANCE_GIVEN,
				    "sm",
				    CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER,
				    "端末をネットワークから切り離すこと");
			if (writer_submit(w, &cmds[i]) != 0)
				_exit(4);
		}
		if (writer_run_once(w) != 0)
			_exit(5);
		for (size_t i = 0; i < n; i++) {
			if (cmds[i].rc == 0) {
				dprintf(fd, "ACK %llu %s %s\n",
				        (unsigned long long)cmds[i].seq,
				        cmds[i].commit, cmds[i].ev->case_id);
				if (cmds[i].ev->payload_case ==
				        CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED &&
				    nopen < 64)
					strcpy(open_ids[nopen++],
					       cmds[i].ev->case_id);
			}
			writer_cmd_release(&cmds[i]);
		}
	}
}

static int
has_commit_cb(const Csirt__V1__Event *ev, const char *commit, void *arg)
{
	const struct ack *a = arg;

	if (ev->seq == a->seq)
		return strcmp(commit, a->commit) == 0 ? 1 : 2;
	return 0;
}

static int
sh_status(const char *script)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	int status = -1;

	ck_assert_int_eq(tu_run(NULL, &status, argv), 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The child's output: "READY", then one "ACK seq commit case" line per
 * acknowledged event.  Reads what is there and takes every complete line;
 * a line cut by the kill is not an acknowledgement.  Returns -1 at end of
 * output, 1 when READY was seen, 0 otherwise. */
struct child_out {
	char pending[4096];
	size_t plen;
};

static int
child_read(struct child_out *co, int fd, struct ack *acks, size_t *nacks)
{
	ssize_t r = read(fd, co->pending + co->plen,
	                 sizeof(co->pending) - 1 - co->plen);
	int seen_ready = 0;
	char *nl;

	if (r <= 0)
		return -1;
	co->plen += (size_t)r;
	co->pending[co->plen] = '\0';
	while ((nl = strchr(co->pending, '\n')) != NULL) {
		size_t l = (size_t)(nl - co->pending);
		unsigned long long seq;
		char line[256];

		ck_assert_uint_lt(l, sizeof(line));
		memcpy(line, co->pending, l);
		line[l] = '\0';
		memmove(co->pending, nl + 1, co->plen - l - 1);
		co->plen -= l + 1;
		co->pending[co->plen] = '\0';
		if (strcmp(line, "READY") == 0) {
			seen_ready = 1;
		} else if (strncmp(line, "ACK ", 4) == 0) {
			struct ack *a = &acks[*nacks];
			ck_assert_uint_lt(*nacks, CRASH_MAX_ACKS);
			ck_assert_int_eq(sscanf(line, "ACK %llu %40s %11s",
			                        &seq, a->commit, a->case_id),
			                 3);
			a->seq = seq;
			(*nacks)++;
		} else {
			ck_abort_msg("child: %s", line);
		}
	}
	return seen_ready;
}

START_TEST(test_crash_sigkill_mid_batch)
{
	char *dir = tu_tmpdir();
	char *data = util_path_join(dir, "var");
	char token[CRYPTO_TOKEN_LEN];
	struct ack *acks = util_xcalloc(CRASH_MAX_ACKS, sizeof(*acks));
	size_t nacks = 0;
	unsigned seed = 12345;
	struct datadir *dd = NULL;
	struct writer *w = NULL;
	int trials = getenv("CSIRT_CRASH_TRIALS")
	                 ? atoi(getenv("CSIRT_CRASH_TRIALS"))
	                 : CRASH_TRIALS;

	ck_assert_int_eq(datadir_init(data, "admin", token), 0);
	ck_assert_int_eq(datadir_open(&dd, data), 0);
	ck_assert_int_eq(writer_new(&w, dd->lg, dd->ix, 64, 16), 0);
	fx_seed_directory(w);
	writer_free(w);
	datadir_close(dd);

	for (int t = 0; t < trials; t++) {
		int fds[2];
		pid_t pid;
		struct child_out co = {{0}, 0};
		bool ready = false;
		struct timespec start, now;

		ck_assert_int_eq(pipe(fds), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			close(fds[0]);
			child_main(data, fds[1]);
		}
		close(fds[1]);
		/* Kill 5-60 ms after the trial's first acknowledgement: the
		 * kill lands while batches are in flight, and every trial
		 * proves something however slow the machine is. */
		long delay_ms = 5 + rand_r(&seed) % 56;
		size_t acks_before = nacks;
		bool armed = false;
		clock_gettime(CLOCK_MONOTONIC, &start);
		for (;;) {
			struct pollfd pfd = {fds[0], POLLIN, 0};
			long elapsed;
			clock_gettime(CLOCK_MONOTONIC, &now);
			elapsed = (now.tv_sec - start.tv_sec) * 1000 +
			          (now.tv_nsec - start.tv_nsec) / 1000000;
			if (armed && elapsed >= delay_ms)
				break;
			if (!armed && elapsed > 60000)
				ck_abort_msg("trial %d: no acknowledgement in "
				             "60 s (ready: %d)",
				             t, ready);
			if (poll(&pfd, 1, 1) <= 0)
				continue;
			int got = child_read(&co, fds[0], acks, &nacks);
			if (got < 0)
				break;
			if (got == 1)
				ready = true;
			if (ready && !armed && nacks > acks_before) {
				armed = true;
				clock_gettime(CLOCK_MONOTONIC, &start);
			}
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		/* Lines written before the kill are acknowledged events
		 * too: drain them. */
		while (child_read(&co, fds[0], acks, &nacks) >= 0)
			;
		close(fds[0]);

		/* Reopen (reconciles) and check every acknowledgement. */
		ck_assert_msg(datadir_open(&dd, data) == 0,
		              "trial %d: reopen: %s", t, csirt_error_msg());
		uint64_t pos = 0;
		char head[41];
		ck_assert_int_eq(index_get_position(dd->ix, &pos, head), 0);
		for (size_t i = 0; i < nacks; i++) {
			ck_assert_uint_le(acks[i].seq, pos);
			ck_assert_msg(
			    index_events_for_case(dd->ix, acks[i].case_id,
			                          has_commit_cb, &acks[i]) == 1,
			    "trial %d: acknowledged seq %llu lost or "
			    "changed",
			    t, (unsigned long long)acks[i].seq);
		}
		datadir_close(dd);
		dd = NULL;
	}

	/* Exactly once: the ledger's seqs are contiguous (a replay from
	 * scratch checks every Seq trailer), fsck is clean, the history is
	 * linear, and the live index equals a rebuild. */
	{
		struct buf cmd = BUF_INIT;
		buf_printf(
		    &cmd,
		    "cd '%s/ledger.git' && git fsck --strict --no-dangling "
		    ">/dev/null 2>&1 && test $(git rev-list --merges --count "
		    "ledger) = 0 && test $(git for-each-ref | wc -l) = 1",
		    data);
		ck_assert_int_eq(sh_status(cmd.data), 0);
		buf_free(&cmd);
	}
	{
		char *ixp = util_path_join(data, "index.sqlite");
		struct index *ix = NULL;
		struct buf live = BUF_INIT, rebuilt = BUF_INIT;
		uint64_t events = 0;
		ck_assert_int_eq(index_open(&ix, ixp), 0);
		ck_assert_int_eq(index_dump(&live, ix), 0);
		index_close(ix);
		ck_assert_msg(datadir_rebuild(data, &events) == 0, "%s",
		              csirt_error_msg());
		ck_assert_int_eq(index_open(&ix, ixp), 0);
		ck_assert_int_eq(index_dump(&rebuilt, ix), 0);
		index_close(ix);
		ck_assert_msg(strcmp(live.data, rebuilt.data) == 0,
		              "index differs from a rebuild after crashes");
		buf_free(&live);
		buf_free(&rebuilt);
		free(ixp);
	}
	fprintf(stderr, "crash: %d trials, %zu acknowledged events, 0 lost\n",
	        trials, nacks);
	/* Every trial waited for an acknowledgement before its kill. */
	ck_assert_uint_ge(nacks, (size_t)trials);
	free(acks);
	tu_rmrf(dir);
	free(data);
	free(dir);
}
END_TEST

Suite *
crash_suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc = tcase_create("sigkill");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_crash_sigkill_mid_batch);
	suite_add_tcase(s, tc);
	return s;
}
