/*
 * check_ledger.c - the ledger, the writer and the index together, checked
 * with stock git: fsck, linear history, SSH signatures, rebuild equality,
 * reconciliation and refusal of rewritten history.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "commitq.h"
#include "crypto.h"
#include "datadir.h"
#include "deadline.h"
#include "error.h"
#include "fixtures.h"
#include "index.h"
#include "layout.h"
#include "ledger.h"
#include "ledger_pack.h"
#include "lifecycle.h"
#include "suites.h"
#include "testutil.h"

static char *
ledger_head_hex(struct fx_env *e)
{
	struct buf out = BUF_INIT;

	ck_assert_int_eq(
	    tu_sh(&out, "git -C '%s' rev-parse refs/heads/ledger", e->repo), 0);
	out.data[strcspn(out.data, "\n")] = '\0';
	return buf_detach(&out);
}

/* A case walked through its whole life; returns its id in `id`. */
static void
run_lifecycle(struct writer *w, char id[12], const char *title)
{
	static const struct {
		Csirt__V1__Event__PayloadCase pc;
		const char *actor;
		Csirt__V1__Role role;
	} steps[] = {
	    {CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED, "sm",
	     CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER},
	    {CSIRT__V1__EVENT__PAYLOAD_GUIDANCE_GIVEN, "sm",
	     CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER},
	    {CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED, "sm",
	     CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER},
	    {CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED, "lead",
	     CSIRT__V1__ROLE__ROLE_CSIRT_LEAD},
	};

	fx_report_d1(w, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT, title,
	             id);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++)
		ck_assert_msg(
		    fx_submit(w,
		              fx_case_event(id, steps[i].pc, steps[i].actor,
		                            steps[i].role,
		                            "指導: 紛失届を提出すること"),
		              NULL, NULL, NULL) == 0,
		    "step %zu: %s", i, csirt_error_msg());
	ck_assert_int_eq(
	    fx_submit(w, fx_assign(id, "lead", "inv"), NULL, NULL, NULL), 0);
	ck_assert_int_eq(
	    fx_submit(w, fx_note(id, "inv", CSIRT__V1__ROLE__ROLE_INVESTIGATOR),
	              "聴取の結果、電車内に置き忘れたと判明。", NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(w,
	              fx_case_event(id, CSIRT__V1__EVENT__PAYLOAD_CASE_RESOLVED,
	                            "lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD,
	                            "遺失物として届出済み"),
	              NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(
	        w,
	        fx_case_event(id, CSIRT__V1__EVENT__PAYLOAD_CASE_CLOSED, "sm",
	                      CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, "完了"),
	        NULL, NULL, NULL),
	    0);
}

/* git fsck --strict finds nothing wrong with the repository at `repo`. */
static void
assert_fsck(const char *repo)
{
	struct buf out = BUF_INIT;

	ck_assert_msg(
	    tu_sh(&out, "git -C '%s' fsck --strict --no-dangling", repo) == 0,
	    "fsck: %s", out.data);
	buf_free(&out);
}

/* A new ledger in `dir` (its path in *repo), opened with a new key. */
static void
ledger_fresh(const char *dir, struct buf *repo, struct crypto_signer **signer,
             struct ledger **lg)
{
	buf_printf(repo, "%s/ledger.git", dir);
	ck_assert_int_eq(crypto_init(), 0);
	ck_assert_int_eq(ledger_create(repo->data), 0);
	ck_assert_int_eq(crypto_signer_generate(signer), 0);
	ck_assert_int_eq(ledger_open(lg, repo->data, *signer), 0);
}

START_TEST(test_ledger_init_creates_signed_first_commit)
{
	struct fx_env e;
	struct buf out = BUF_INIT;

	fx_env_init(&e);
	ck_assert_int_eq(
	    tu_sh(&out, "git -C '%s' rev-list --count ledger", e.repo), 0);
	ck_assert_str_eq(out.data, "1\n");
	buf_reset(&out);
	ck_assert_int_eq(tu_sh(&out,
	                       "git -C '%s' -c gpg.ssh.allowedSignersFile='%s/"
	                       "keys/allowed_signers' verify-commit ledger",
	                       e.repo, e.data),
	                 0);
	ck_assert_msg(strstr(out.data, "Good \"git\" signature"), "%s",
	              out.data);
	buf_reset(&out);
	ck_assert_int_eq(tu_sh(&out,
	                       "git -C '%s' show ledger:directory/users/"
	                       "admin.json",
	                       e.repo),
	                 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\"role\": \"ROLE_ADMIN\""));
	buf_reset(&out);
	/* No token, hash or key in any object. */
	ck_assert_int_eq(tu_sh(&out,
	                       "git -C '%s' cat-file --batch-all-objects "
	                       "--batch | grep -c -e csirt_ -e PRIVATE || true",
	                       e.repo),
	                 0);
	ck_assert_str_eq(out.data, "0\n");
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_ledger_init_refuses_existing)
{
	struct fx_env e;
	char token[CRYPTO_TOKEN_LEN];

	fx_env_init(&e);
	ck_assert_int_eq(datadir_init(e.data, "admin", token), CSIRT_ECONFLICT);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "already"));
	fx_env_free(&e);
}
END_TEST

START_TEST(test_ledger_history_verifies_with_stock_git)
{
	static const char title[] =
	    "機器の紛失事案：モバイルPC（ＰＣ－００４２）";
	struct fx_env e;
	struct buf out = BUF_INIT, want = BUF_INIT, path = BUF_INIT;
	Csirt__V1__Case *c = NULL;
	char id[12];
	char *head;

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	run_lifecycle(e.w, id, title);

	/* The index and case.json in git agree, and Japanese is byte-exact. */
	ck_assert_int_eq(index_case_get(&c, e.dd->ix, id), 0);
	ck_assert_str_eq(c->title, title);
	ck_assert_int_eq(c->state, CSIRT__V1__CASE_STATE__CASE_STATE_CLOSED);
	ck_assert_int_eq(codec_to_json(&want, &c->base, CODEC_PRETTY), 0);
	layout_case_json(&path, id);
	ck_assert_int_eq(
	    tu_sh(&out, "git -C '%s' show ledger:%s", e.repo, path.data), 0);
	ck_assert_str_eq(out.data, want.data);
	ck_assert_ptr_nonnull(strstr(out.data, title));
	csirt__v1__case__free_unpacked(c, NULL);
	fx_env_close(&e);

	buf_reset(&out);
	assert_fsck(e.repo);
	buf_reset(&out);
	ck_assert_int_eq(
	    tu_sh(&out,
	          "cd '%s' && test $(git rev-list --count ledger) "
	          "= $(git rev-list --first-parent --count ledger) "
	          "&& test $(git rev-list --merges --count ledger) "
	          "= 0 && git rev-list --count ledger && "
	          "git for-each-ref --format='%%(refname)'",
	          e.repo),
	    0);
	ck_assert_str_eq(out.data, "17\nrefs/heads/ledger\n");
	buf_reset(&out);
	ck_assert_msg(
	    tu_sh(&out,
	          "cd '%s' && for c in $(git rev-list ledger); do "
	          "git -c gpg.ssh.allowedSignersFile='%s/keys/"
	          "allowed_signers' verify-commit $c 2>&1 | grep -q "
	          "'Good \"git\" signature' || { echo BAD $c; exit 1; "
	          "}; done",
	          e.repo, e.data) == 0,
	    "%s", out.data);

	/* A commit whose message was altered no longer verifies. */
	head = ledger_head_hex(&e);
	buf_reset(&out);
	ck_assert_int_eq(tu_sh(&out,
	                       "cd '%s' && forged=$(git cat-file commit %s | "
	                       "sed 's/^case.closed/case.reopened/' | "
	                       "git hash-object -t commit -w --stdin) && "
	                       "git -c gpg.ssh.allowedSignersFile='%s/keys/"
	                       "allowed_signers' verify-commit $forged",
	                       e.repo, head, e.data),
	                 1);
	/* The audit trail of one case, for auditors. */
	buf_reset(&out);
	buf_reset(&want);
	layout_case_dir(&want, id);
	ck_assert_int_eq(tu_sh(&out,
	                       "git -C '%s' log --format=%%s ledger -- %s | "
	                       "wc -l",
	                       e.repo, want.data),
	                 0);
	ck_assert_int_eq(atoi(out.data), 9);
	free(head);
	buf_free(&out);
	buf_free(&want);
	buf_free(&path);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_ledger_rejected_command_never_reaches_ledger)
{
	struct fx_env e;
	char id[12], *before, *after;

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	fx_report_d1(e.w, CSIRT__V1__CATEGORY__CATEGORY_SERIOUS_OUTAGE,
	             "重大障害", id);
	before = ledger_head_hex(&e);
	/* Resolve straight from REPORTED: illegal. */
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_case_event(id, CSIRT__V1__EVENT__PAYLOAD_CASE_RESOLVED,
	                            "lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD,
	                            "x"),
	              NULL, NULL, NULL),
	    CSIRT_ESTATE);
	/* Unknown case, unknown division, duplicate user. */
	ck_assert_int_eq(
	    fx_submit(
	        e.w,
	        fx_case_event("2026-999999",
	                      CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED, "sm",
	                      CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, "x"),
	        NULL, NULL, NULL),
	    CSIRT_ENOTFOUND);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_user("x1", CSIRT__V1__ROLE__ROLE_REPORTER, "nodiv"),
	              NULL, NULL, NULL),
	    CSIRT_ENOTFOUND);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_user("rep1", CSIRT__V1__ROLE__ROLE_REPORTER, "d1"),
	              NULL, NULL, NULL),
	    CSIRT_ECONFLICT);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_note(id, "sm", CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER),
	              "", NULL, NULL),
	    CSIRT_EINVAL);
	after = ledger_head_hex(&e);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	fx_env_free(&e);
}
END_TEST

/* Appends `ncases` cases, each with a full life (9 events); with
 * `guidance` > 0 the case is then reopened and given that much guidance. */
static void
script_history(struct writer *w, int ncases, int guidance)
{
	for (int i = 0; i < ncases; i++) {
		char id[12], title[64];
		snprintf(title, sizeof(title), "事案 %d: 外部記録媒体の紛失",
		         i);
		run_lifecycle(w, id, title);
		if (guidance > 0)
			ck_assert_int_eq(
			    fx_submit(
			        w,
			        fx_case_event(
			            id, CSIRT__V1__EVENT__PAYLOAD_CASE_REOPENED,
			            "lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD,
			            "新たな事実が判明"),
			        NULL, NULL, NULL),
			    0);
		for (int k = 0; k < guidance; k++)
			ck_assert_int_eq(
			    fx_submit(
			        w,
			        fx_case_event(
			            id,
			            CSIRT__V1__EVENT__PAYLOAD_GUIDANCE_GIVEN,
			            "sm",
			            CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER,
			            "再発防止策を講じること"),
			        NULL, NULL, NULL),
			    0);
	}
}

static void
deadline_history(struct writer *w)
{
	struct writer_policy p = {60, 1u << 1};
	char ids[2][16];
	int64_t now = util_time_now_ms();

	writer_set_policy(w, &p);
	fx_report_d1(w, CSIRT__V1__CATEGORY__CATEGORY_INFORMATION_LEAK,
	             "情報流出", NULL);
	for (int i = 0; i < 2; i++) {
		fx_report_d1(w, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT,
		             "未受理のまま", ids[i]);
		ck_assert_int_eq(
		    fx_submit(w,
		              deadline_event(ids[i], CASE_DEADLINE_ACK, now,
		                             30 * 60 * 1000),
		              NULL, NULL, NULL),
		    0);
	}
	ck_assert_int_eq(
	    fx_submit(w,
	              fx_case_event(
	                  ids[0], CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED,
	                  "sm", CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER,
	                  "遅れて受理"),
	              NULL, NULL, NULL),
	    0);
}

static char *
dump_index(const char *path)
{
	struct index *ix = NULL;
	struct buf out = BUF_INIT;

	ck_assert_int_eq(index_open(&ix, path), 0);
	ck_assert_int_eq(index_dump(&out, ix), 0);
	index_close(ix);
	return buf_detach(&out);
}

START_TEST(test_ledger_rebuild_equals_live)
{
	struct fx_env e;
	char *ixp, *live, *rebuilt;
	uint64_t events = 0;

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	/* 500 cases x 22 events = 11,000 events (plus the directory), each
	 * case with a note in three versions. */
	fx_history_batched(e.w, 500, 11);
	ck_assert_uint_ge(writer_last_seq(e.w), 10000);
	deadline_history(e.w);
	fx_request_history(e.w, NULL); /* 第13.2 requests and items */
	fx_env_close(&e);
	ixp = util_path_join(e.data, "index.sqlite");
	live = dump_index(ixp);
	ck_assert_int_eq(datadir_rebuild(e.data, &events), 0);
	ck_assert_uint_ge(events, 10000);
	rebuilt = dump_index(ixp);
	ck_assert_uint_gt(strlen(live), 1000);
	ck_assert_msg(strcmp(live, rebuilt) == 0,
	              "rebuilt index differs from the live one");
	ck_assert_ptr_nonnull(strstr(live, "（CSIRT長確認済み）\\n"));
	ck_assert_ptr_nonnull(strstr(live, "\"deadline.missed\""));
	ck_assert_ptr_nonnull(strstr(live, "\"item.disposed\""));
	ck_assert_ptr_nonnull(strstr(live, "\ntable requests ("));
	free(live);
	free(rebuilt);
	free(ixp);
	fx_env_free(&e);
}
END_TEST

struct done_count {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n;
};

static void
count_done(struct writer_cmd *cmd, void *arg)
{
	struct done_count *dc = arg;

	(void)cmd;
	pthread_mutex_lock(&dc->mu);
	dc->n++;
	pthread_cond_signal(&dc->cv);
	pthread_mutex_unlock(&dc->mu);
}

/*
 * The writer as the daemon runs it: its own thread, with the ledger
 * commits built on the commit thread (commitq.h) while the writer goes on,
 * and commands joining a batch as it is applied.  600 notes and edits on
 * 8 cases: every command is acknowledged with the commit git has for its
 * seq, each note and edit is in the ledger once, the index rows carry the
 * same ids (a rebuild from the ledger gives the same index, and no row
 * keeps the pending id), and git fsck and the signatures pass.
 */
START_TEST(test_ledger_writer_thread_commits)
{
	enum { NCASES = 8, N = 600 };
	struct fx_env e;
	struct done_count dc = {PTHREAD_MUTEX_INITIALIZER,
	                        PTHREAD_COND_INITIALIZER, 0};
	struct writer_cmd *cmds = util_xcalloc(N, sizeof(*cmds));
	char ids[NCASES][12], (*texts)[64] = util_xcalloc(N, sizeof(*texts));
	int notes[NCASES] = {0};
	struct buf log = BUF_INIT;
	struct writer_stats st;
	char *ixp, *live, *rebuilt;
	uint64_t events = 0;

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	for (int i = 0; i < NCASES; i++)
		fx_report_d1(e.w, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT,
		             "スレッド試験", ids[i]);
	/* Queued as clients would send them, a few at a time, so that they
	 * arrive while batches are applied and join them (counted below). */
	ck_assert_int_eq(writer_start(e.w), 0);
	for (int i = 0; i < N; i++) {
		if (i % 8 == 0) {
			struct timespec ts = {0, 300 * 1000};
			nanosleep(&ts, NULL);
		}
		snprintf(texts[i], sizeof(texts[i]), "第%d報: 聴取記録", i);
		/* Now and then an edit of the case's newest note, most
		 * likely added in the same batch: the edit reads the note
		 * rows that batch wrote. */
		if (i % 50 == 49) {
			char note_id[16];

			snprintf(note_id, sizeof(note_id), "n%d",
			         notes[i % NCASES]);
			cmds[i].ev = fx_note_edit(
			    ids[i % NCASES], note_id, "sm",
			    CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, "追記");
		} else {
			notes[i % NCASES]++;
			cmds[i].ev =
			    fx_note(ids[i % NCASES], "sm",
			            CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER);
		}
		cmds[i].note_text = texts[i];
		cmds[i].done = count_done;
		cmds[i].arg = &dc;
		ck_assert_int_eq(writer_submit(e.w, &cmds[i]), 0);
	}
	pthread_mutex_lock(&dc.mu);
	while (dc.n < N)
		pthread_cond_wait(&dc.cv, &dc.mu);
	pthread_mutex_unlock(&dc.mu);
	writer_get_stats(e.w, &st);
	ck_assert_msg(st.joined > 0, "no command joined a batch under way");
	writer_stop(e.w);

	/* "<commit> <seq>" for every commit on the ledger. */
	ck_assert_int_eq(tu_sh(&log,
	                       "git -C '%s' log --format='%%H %%(trailers:"
	                       "key=Seq,valueonly)' refs/heads/ledger | grep .",
	                       e.repo),
	                 0);
	for (int i = 0; i < N; i++) {
		char want[80];

		ck_assert_msg(cmds[i].rc == 0, "note %d: %s", i, cmds[i].err);
		snprintf(want, sizeof(want), "%s %" PRIu64 "\n", cmds[i].commit,
		         cmds[i].seq);
		ck_assert_msg(strstr(log.data, want) != NULL,
		              "note %d: git has no commit %s with seq %" PRIu64,
		              i, cmds[i].commit, cmds[i].seq);
		writer_cmd_release(&cmds[i]);
	}
	/* Each note and edit once: none lost, none applied twice. */
	{
		struct buf count = BUF_INIT;
		char want[64];

		ck_assert_int_eq(
		    tu_sh(&count,
		          "git -C '%s' log --format='%%(trailers:key=Event,"
		          "valueonly)' refs/heads/ledger | grep '^note' | "
		          "sort | uniq -c | tr -s ' \\n' '  '",
		          e.repo),
		    0);
		snprintf(want, sizeof(want), " %d note.added %d note.edited ",
		         N - N / 50, N / 50);
		ck_assert_str_eq(count.data, want);
		buf_free(&count);
	}
	/* Every commit the thread signed verifies with stock git. */
	ck_assert_int_eq(
	    tu_sh(NULL,
	          "git -C '%s' fsck --strict --no-dangling && "
	          "for c in $(git -C '%s' rev-list -%d refs/heads/ledger); do "
	          "git -C '%s' -c gpg.ssh.allowedSignersFile='%s/keys/"
	          "allowed_signers' verify-commit $c 2>/dev/null || exit 1; "
	          "done",
	          e.repo, e.repo, N, e.repo, e.data),
	    0);
	fx_env_close(&e);

	ixp = util_path_join(e.data, "index.sqlite");
	live = dump_index(ixp);
	ck_assert_ptr_null(strstr(live, INDEX_COMMIT_PENDING));
	ck_assert_int_eq(datadir_rebuild(e.data, &events), 0);
	ck_assert_uint_ge(events, N + NCASES);
	rebuilt = dump_index(ixp);
	ck_assert_msg(strcmp(live, rebuilt) == 0,
	              "rebuilt index differs from the live one");
	free(live);
	free(rebuilt);
	free(ixp);
	buf_free(&log);
	free(cmds);
	free(texts);
	fx_env_free(&e);
}
END_TEST

struct drained {
	uint64_t tags[4];
	char commits[4][LEDGER_OID_HEX];
	size_t n;
};

static int
note_drained(void *arg, uint64_t tag, const char commit[LEDGER_OID_HEX])
{
	struct drained *d = arg;

	ck_assert_uint_lt(d->n, 4);
	d->tags[d->n] = tag;
	memcpy(d->commits[d->n++], commit, LEDGER_OID_HEX);
	return 0;
}

/* Queues a commit of one file at `path` (contents borrowed). */
static void
queue_one(struct commitq *q, const char *path, const char *text, uint64_t tag,
          size_t origin, char *out)
{
	struct ledger_file f = {path, text, strlen(text)};
	struct buf msg = BUF_INIT;

	buf_printf(&msg, "test commit %" PRIu64 "\n", tag);
	commitq_commit(q, "sm", 1790000000000 + (int64_t)tag, &msg, &f, 1, NULL,
	               0, tag, origin, out);
	ck_assert_ptr_null(msg.data); /* moved into the queue */
}

/*
 * The commit thread on its own: a failed commit is reported by the drain
 * with its origin and message, the commits queued after it never run (they
 * would build on it), and the queue is empty after; the next batch runs in
 * order, hands each id to the callback and to `out` (those done before the
 * drain first, then the rest), and is what git sees.
 */
START_TEST(test_ledger_commitq_failure_and_order)
{
	struct fx_env e;
	struct commitq *q;
	struct drained d = {0};
	char out[LEDGER_OID_HEX] = "", *head;
	size_t failed = 0;

	fx_env_init(&e);
	fx_env_open(&e);
	commitq_new(&q, e.dd->lg);
	ck_assert_int_eq(commitq_start(q), 0);

	ck_assert_int_eq(ledger_batch_begin(e.dd->lg), 0);
	queue_one(q, "test/a.txt", "一", 1, 10, NULL);
	queue_one(q, "test//bad", "二", 2, 11, NULL);
	queue_one(q, "test/c.txt", "三", 3, 12, out);
	ck_assert_int_eq(commitq_drain(q, note_drained, &d, &failed),
	                 CSIRT_EFAIL);
	ck_assert_uint_eq(failed, 11);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "test//bad"));
	ck_assert_uint_eq(d.n, 1); /* the one before the failure */
	ck_assert_uint_eq(d.tags[0], 1);
	ck_assert_str_eq(out, ""); /* never ran */
	ledger_batch_abort(e.dd->lg);
	ck_assert_int_eq(commitq_drain(q, NULL, NULL, &failed), 0);

	/* The first one done before the drain (reported before its wait
	 * for the second), the second maybe not. */
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(ledger_batch_begin(e.dd->lg), 0);
	queue_one(q, "test/a.txt", "一", 4, 20, NULL);
	{
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	queue_one(q, "test/b.txt", "二", 5, 21, out);
	ck_assert_int_eq(commitq_drain(q, note_drained, &d, &failed), 0);
	ck_assert_uint_eq(failed, SIZE_MAX);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_uint_eq(d.tags[0], 4);
	ck_assert_uint_eq(d.tags[1], 5);
	ck_assert_str_eq(out, d.commits[1]);
	ck_assert_int_eq(ledger_batch_finish(e.dd->lg), 0);
	commitq_free(q);

	head = ledger_head_hex(&e);
	ck_assert_str_eq(head, d.commits[1]);
	ck_assert_int_eq(tu_sh(NULL,
	                       "test \"$(git -C '%s' rev-parse %s^)\" = %s && "
	                       "test \"$(git -C '%s' show %s:test/b.txt)\" = "
	                       "二 && git -C '%s' fsck --strict --no-dangling",
	                       e.repo, d.commits[1], d.commits[0], e.repo, head,
	                       e.repo),
	                 0);
	free(head);
	fx_env_free(&e);
}
END_TEST

/*
 * `csirtd rebuild` loads a private file in bulk mode and only then swaps it
 * in: a rebuild that fails on a bad commit (here an unsigned commit with no
 * trailers, added with stock git) leaves the old index exactly as it was
 * and no half-built file; once the ledger is whole again, the rebuilt
 * index is back in WAL with synchronous=FULL semantics (a reader can open
 * it) and passes the start-up consistency check.
 */
START_TEST(test_ledger_rebuild_failure_keeps_index)
{
	struct fx_env e;
	struct buf out = BUF_INIT;
	struct index *ix = NULL;
	char *ixp, *tmp, *live, *after, *head;
	uint64_t events = 0;

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	fx_history_batched(e.w, 30, 2);
	fx_env_close(&e);
	ixp = util_path_join(e.data, "index.sqlite");
	tmp = util_path_join(e.data, "index.sqlite.rebuild");
	live = dump_index(ixp);
	head = ledger_head_hex(&e);
	ck_assert_int_eq(
	    tu_sh(&out,
	          "cd '%s' && c=$(git commit-tree -p ledger -m junk "
	          "ledger^{tree}) && git update-ref refs/heads/ledger $c",
	          e.repo),
	    0);
	ck_assert_int_eq(datadir_rebuild(e.data, &events), CSIRT_ETAMPER);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "trailer"));
	ck_assert_msg(!util_path_exists(tmp), "a half-built index was left");
	after = dump_index(ixp);
	ck_assert_msg(strcmp(live, after) == 0,
	              "a failed rebuild changed the index");
	free(after);

	buf_reset(&out);
	ck_assert_int_eq(tu_sh(&out,
	                       "git -C '%s' update-ref refs/heads/ledger %s",
	                       e.repo, head),
	                 0);
	ck_assert_int_eq(datadir_rebuild(e.data, &events), 0);
	ck_assert_uint_ge(events, 30 * 10);
	ck_assert_int_eq(index_open_readonly(&ix, ixp), 0);
	ck_assert_int_eq(index_sync_check(ix), 0);
	index_close(ix);
	after = dump_index(ixp);
	ck_assert_msg(strcmp(live, after) == 0,
	              "rebuilt index differs from the live one");
	free(after);
	free(live);
	free(head);
	free(ixp);
	free(tmp);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

/* Occurrences of `needle` in `s`. */
static int
count(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL;
	     p += strlen(needle))
		n++;
	return n;
}

struct versions {
	size_t n;
	uint32_t version[8];
	char author[8][16], note_author[8][16], text[8][256];
	int confidentiality;
};

static int
versions_cb(const struct index_note_version *v, void *arg)
{
	struct versions *vs = arg;

	ck_assert_uint_lt(vs->n, 8);
	ck_assert_uint_lt(v->text_len, sizeof(vs->text[0]));
	ck_assert_ptr_nonnull(v->text);
	vs->version[vs->n] = v->version;
	snprintf(vs->author[vs->n], sizeof(vs->author[0]), "%s", v->author);
	snprintf(vs->note_author[vs->n], sizeof(vs->note_author[0]), "%s",
	         v->note_author);
	memcpy(vs->text[vs->n], v->text, v->text_len);
	vs->text[vs->n][v->text_len] = '\0';
	vs->confidentiality = (int)v->classification->confidentiality;
	vs->n++;
	return 0;
}

static void
note_versions(struct versions *vs, const char *data, const char *case_id)
{
	char *ixp = util_path_join(data, "index.sqlite");
	struct index *ix = NULL;

	memset(vs, 0, sizeof(*vs));
	ck_assert_int_eq(index_open(&ix, ixp), 0);
	ck_assert_int_eq(
	    index_note_versions(ix, case_id, "n1", versions_cb, vs), 0);
	ck_assert_int_eq(
	    index_note_versions(ix, case_id, "n2", versions_cb, vs),
	    CSIRT_ENOTFOUND);
	index_close(ix);
	free(ixp);
}

/* Versioned notes through the writer: each edit is the next version at the
 * note's path, only the author or the lead may edit, refused edits never
 * reach the ledger, and a rebuild restores every version's text. */
START_TEST(test_ledger_note_edits_versioned)
{
	static const char *const texts[] = {
	    "本人から聴取。電車内に置き忘れた。",
	    "本人から聴取。電車内に置き忘れた。\n遺失物センターに照会済み。",
	    "本人から聴取。京王線の車内に置き忘れた。\n遺失物センターに照会"
	    "済み。\n",
	    "本人から聴取。京王線の車内に置き忘れた。\n遺失物センターに照会"
	    "済み。\n（CSIRT長が内容を確認した）\n",
	};
	static const char *const authors[] = {"inv", "inv", "inv", "lead"};
	struct fx_env e;
	struct buf out = BUF_INIT, path = BUF_INIT;
	struct versions live, rebuilt;
	char id[12], *ixp, *dump_live, *dump_rebuilt, *before, *after;
	uint64_t events = 0;

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	fx_report_d1(e.w, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT,
	             "モバイルPCの紛失", id);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_case_event(
	                  id, CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED, "sm",
	                  CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, "CSIRTへ"),
	              NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(e.w, fx_assign(id, "lead", "inv"), NULL, NULL, NULL), 0);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_note(id, "inv", CSIRT__V1__ROLE__ROLE_INVESTIGATOR),
	              texts[0], NULL, NULL),
	    0);
	for (int i = 1; i <= 2; i++)
		ck_assert_msg(
		    fx_submit(e.w,
		              fx_note_edit(id, "n1", "inv",
		                           CSIRT__V1__ROLE__ROLE_INVESTIGATOR,
		                           "追記"),
		              texts[i], NULL, NULL) == 0,
		    "edit %d: %s", i, csirt_error_msg());

	/* Refusals leave the ledger as it was. */
	before = ledger_head_hex(&e);
	/* The security manager may edit notes, but not someone else's. */
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_note_edit(id, "n1", "sm",
	                           CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, ""),
	              "改ざん", NULL, NULL),
	    CSIRT_EDENIED);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_note_edit(id, "n2", "inv",
	                           CSIRT__V1__ROLE__ROLE_INVESTIGATOR, ""),
	              "存在しない", NULL, NULL),
	    CSIRT_ENOTFOUND);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_note_edit(id, "n1", "inv",
	                           CSIRT__V1__ROLE__ROLE_INVESTIGATOR, ""),
	              "", NULL, NULL),
	    CSIRT_EINVAL);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_note_edit(id, "n1", "inv",
	                           CSIRT__V1__ROLE__ROLE_INVESTIGATOR, ""),
	              texts[2], NULL, NULL),
	    CSIRT_EINVAL);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_note_edit(id, "n1", "inv",
	                           CSIRT__V1__ROLE__ROLE_INVESTIGATOR, ""),
	              "\xc3\x28", NULL, NULL),
	    CSIRT_EINVAL);
	after = ledger_head_hex(&e);
	ck_assert_str_eq(before, after);

	/* The lead may edit anyone's note. */
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_note_edit(id, "n1", "lead",
	                           CSIRT__V1__ROLE__ROLE_CSIRT_LEAD, "確認"),
	              texts[3], NULL, NULL),
	    0);
	fx_env_close(&e);

	/* Stock git: four commits on the note's one path, the last one
	 * holding the newest text. */
	layout_note_path(&path, id, 1, false);
	ck_assert_str_eq(path.data + strlen(path.data) - 16,
	                 "/notes/000/n1.md");
	ck_assert_int_eq(tu_sh(&out,
	                       "git -C '%s' log --format=%%s ledger -- '%s'",
	                       e.repo, path.data),
	                 0);
	ck_assert_int_eq(count(out.data, "\n"), 4);
	ck_assert_int_eq(count(out.data, "note.edited"), 3);
	ck_assert_int_eq(count(out.data, "note.added"), 1);
	buf_reset(&out);
	ck_assert_int_eq(
	    tu_sh(&out, "git -C '%s' show 'ledger:%s'", e.repo, path.data), 0);
	ck_assert_str_eq(out.data, texts[3]);

	note_versions(&live, e.data, id);
	ck_assert_uint_eq(live.n, 4);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_uint_eq(live.version[i], i + 1);
		ck_assert_str_eq(live.text[i], texts[i]);
		ck_assert_str_eq(live.author[i], authors[i]);
		ck_assert_str_eq(live.note_author[i], "inv");
	}
	ck_assert_int_eq(live.confidentiality,
	                 CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW);

	ixp = util_path_join(e.data, "index.sqlite");
	dump_live = dump_index(ixp);
	ck_assert_int_eq(datadir_rebuild(e.data, &events), 0);
	dump_rebuilt = dump_index(ixp);
	ck_assert_str_eq(dump_live, dump_rebuilt);
	note_versions(&rebuilt, e.data, id);
	ck_assert(memcmp(&live, &rebuilt, sizeof(live)) == 0);

	free(before);
	free(after);
	free(dump_live);
	free(dump_rebuilt);
	free(ixp);
	buf_free(&out);
	buf_free(&path);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_ledger_reconcile_replays_missing_tail)
{
	struct fx_env e;
	struct buf out = BUF_INIT;
	char *ixp, *live, *after;
	char id[12];

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	run_lifecycle(e.w, id, "前半");
	fx_env_close(&e);
	/* Keep the index as it was, write more, then put it back: the
	 * index now lags the ledger, as after a crash between ref and
	 * SQLite. */
	ck_assert_int_eq(
	    tu_sh(&out, "cd '%s' && cp index.sqlite lag.sqlite", e.data), 0);
	fx_env_open(&e);
	run_lifecycle(e.w, id, "後半");
	fx_env_close(&e);
	ixp = util_path_join(e.data, "index.sqlite");
	live = dump_index(ixp);
	ck_assert_int_eq(tu_sh(&out,
	                       "cd '%s' && rm -f index.sqlite-wal "
	                       "index.sqlite-shm && mv lag.sqlite index.sqlite",
	                       e.data),
	                 0);
	fx_env_open(&e);
	fx_env_close(&e);
	after = dump_index(ixp);
	ck_assert_str_eq(live, after);
	free(live);
	free(after);
	free(ixp);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_ledger_refuses_rewritten_history)
{
	struct fx_env e;
	struct buf out = BUF_INIT;
	struct datadir *dd = NULL;
	char id[12];

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	run_lifecycle(e.w, id, "改ざん検知");
	fx_env_close(&e);
	/* Rewrite history: drop the last commit and force the ref. */
	ck_assert_int_eq(tu_sh(&out,
	                       "cd '%s' && git update-ref refs/heads/ledger "
	                       "ledger~1",
	                       e.repo),
	                 0);
	ck_assert_int_eq(datadir_open(&dd, e.data), CSIRT_ETAMPER);
	ck_assert_msg(strstr(csirt_error_msg(), "refusing to start"), "%s",
	              csirt_error_msg());
	ck_assert_ptr_null(dd);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

START_TEST(test_ledger_stale_lock_recovered)
{
	struct fx_env e;
	struct buf out = BUF_INIT;
	char id[12];

	fx_env_init(&e);
	/* Locks, the half-written files of a killed merge, blob write or
	 * batch, and a pack whose index was never written (either once
	 * sent the start-up fold to libgit2's packbuilder, for minutes). */
	ck_assert_int_eq(tu_sh(&out,
	                       "touch '%s/refs/heads/ledger.lock' "
	                       "'%s/packed-refs.lock' && cd '%s/objects/pack' "
	                       "&& head -c 5000 /dev/urandom > "
	                       "tmp_merge_4242.pack && "
	                       "echo PACK > tmp_blob_7_1.pack && "
	                       "echo PACK > pack-0123.pack.tmp && "
	                       "echo PACK > "
	                       "pack-0123456789abcdef0123456789abcdef01234567"
	                       ".pack",
	                       e.repo, e.repo, e.repo),
	                 0);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	run_lifecycle(e.w, id, "ロック");
	fx_env_close(&e);
	buf_reset(&out);
	ck_assert_int_eq(tu_sh(&out,
	                       "ls '%s/refs/heads/' '%s' '%s/objects/pack'",
	                       e.repo, e.repo, e.repo),
	                 0);
	ck_assert_ptr_null(strstr(out.data, ".lock"));
	ck_assert_msg(strstr(out.data, "tmp_") == NULL &&
	                  strstr(out.data, ".tmp") == NULL &&
	                  strstr(out.data, "pack-0123456789abcdef") == NULL,
	              "left over: %s", out.data);
	assert_fsck(e.repo);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

/* ---- the passes' own pack reader (ledger_pack.h) ---------------------- */

static const char *const pack_type_names[] = {"", "commit", "tree", "blob",
                                              "tag"};

/* What git lists in the repository at `gitdir`: "id type size" lines
 * (caller frees). */
static char *
object_list(const char *gitdir)
{
	struct buf out = BUF_INIT;

	ck_assert_msg(
	    tu_sh(
	        &out,
	        "git --git-dir='%s' cat-file --batch-all-objects "
	        "--batch-check='%%(objectname) %%(objecttype) %%(objectsize)'",
	        gitdir) == 0,
	    "%s", out.data);
	return buf_detach(&out);
}

/*
 * Reads every object of `list` (object_list()) in the repository at
 * `gitdir` with the pack reader, and checks its type and size against
 * git's and its content against its id (SHA-1 of git's "type size\0"
 * header and the content).  Returns how many it read; counts those it
 * declined in *declined, and fails on any other disagreement.
 */
static size_t
pack_read_all(const char *gitdir, const char *list, size_t *declined)
{
	struct buf out = BUF_INIT;
	struct pack_reader *pr = pack_reader_open(gitdir);
	size_t n = 0;
	char *line, *nl;

	*declined = 0;
	buf_puts(&out, list);
	for (line = out.data; (nl = strchr(line, '\n')) != NULL;
	     line = nl + 1) {
		char hex[41], type[16], head[64], got[41];
		unsigned char oid[PACK_OID_LEN], sum[CRYPTO_SHA1_LEN], *data;
		struct crypto_sha1_ctx *h;
		enum pack_type t, ht;
		size_t size, len, hlen;
		unsigned x;
		int hl;

		*nl = '\0';
		ck_assert_msg(sscanf(line, "%40s %15s %zu", hex, type, &size) ==
		                  3,
		              "git said: %s", line);
		for (int i = 0; i < PACK_OID_LEN; i++) {
			ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &x), 1);
			oid[i] = (unsigned char)x;
		}
		if (pack_reader_read(pr, oid, &t, &data, &len) != 0) {
			(*declined)++;
			continue;
		}
		ck_assert_str_eq(pack_type_names[t], type);
		ck_assert_uint_eq(len, size);
		ck_assert_int_eq(data[len], '\0');
		hl = snprintf(head, sizeof(head), "%s %zu", type, len);
		h = crypto_sha1_new();
		crypto_sha1_update(h, head, (size_t)hl + 1);
		crypto_sha1_update(h, data, len);
		crypto_sha1_final(h, sum);
		util_hex(got, sum, sizeof(sum));
		ck_assert_str_eq(got, hex);
		ck_assert_int_eq(pack_reader_header(pr, oid, &ht, &hlen), 0);
		ck_assert_int_eq(ht, t);
		ck_assert_uint_eq(hlen, len);
		free(data);
		n++;
	}
	pack_reader_close(pr);
	buf_free(&out);
	return n;
}

/* A history with deltas of every kind: a file that grows (long chains), a
 * Japanese text edited, binary blobs, and trees changing each commit. */
#define PACK_HISTORY                                                            \
	"git init -q r && cd r && git config user.email t@t.invalid && "        \
	"git config user.name t && for i in $(seq 1 40); do "                   \
	"seq 1 $((i * 50)) > grow.txt && printf '事案 %%s: 聴取\\n' $i >> " \
	"日本語.md && head -c 2000 /dev/urandom > bin$((i %% 3)) && "        \
	"git add -A && git commit -qm \"c $i\" || exit 1; done && "

/*
 * The trees ledger_commit() writes, against stock git, after changes of
 * every kind a tree's kids see: appended, inserted before and between
 * existing entries, changed in place, and a directory added before a file
 * of the same tree; in one batch and across batches (whose end drops the
 * clean deep trees, read back on demand).  Every commit's full listing
 * must be the expected one, and `git fsck --strict` clean.
 */
START_TEST(test_ledger_trees_match_git)
{
	static const char *const steps[][2] = {
	    {"d/m.txt", "m1"},     {"d/z.txt", "z1"},
	    {"d/a.txt", "a1"},     {"d/m.txt", "m2"},
	    {"d/q.txt", "q1"},     {"a/b/c/deep.txt", "x1"},
	    {"d/c/sub.txt", "s1"}, {"d/b.txt", "b1"},
	    {"d/zz.txt", "zz1"},   {"d/a.txt", "a2"},
	    {"a/b/c/a.txt", "x2"}, {"a/b/c/deep.txt", "x3"},
	    {"a/a/f.txt", "y1"},   {"d/c/sub.txt", "s2"},
	};
	/* The last step of each batch. */
	static const size_t ends[] = {6, 9, 10, 11, 12, 13};
	const char *cur[UTIL_ARRAY_LEN(steps)][2];
	char commit[UTIL_ARRAY_LEN(steps)][LEDGER_OID_HEX];
	struct buf want[UTIL_ARRAY_LEN(steps)];
	size_t ncur = 0, first = 0, e = 0;
	char *dir = tu_tmpdir();
	struct crypto_signer *signer = NULL;
	struct ledger *lg = NULL;
	struct buf repo = BUF_INIT, out = BUF_INIT;

	ledger_fresh(dir, &repo, &signer, &lg);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++) {
		struct ledger_commit_info info = {
		    "t", 1790000000000 + (int64_t)i, "step\n"};
		struct ledger_file f = {steps[i][0], steps[i][1],
		                        strlen(steps[i][1])};
		size_t j;

		if (i == first)
			ck_assert_int_eq(ledger_batch_begin(lg), 0);
		ck_assert_msg(ledger_commit(lg, &info, &f, 1, commit[i]) == 0,
		              "step %zu: %s", i, csirt_error_msg());
		for (j = 0; j < ncur && strcmp(cur[j][0], steps[i][0]) != 0;
		     j++)
			;
		cur[j][0] = steps[i][0];
		cur[j][1] = steps[i][1];
		ncur += j == ncur;
		/* "path content" lines; sorted below into git's order (byte
		 * order: no name here is a prefix of another's). */
		want[i] = (struct buf)BUF_INIT;
		buf_puts(&want[i], "printf '%s\\n'");
		for (j = 0; j < ncur; j++)
			buf_printf(&want[i], " '%s %s'", cur[j][0], cur[j][1]);
		if (i != ends[e])
			continue;
		ck_assert_int_eq(ledger_batch_finish(lg), 0);
		for (; first <= i; first++) {
			struct buf sorted = BUF_INIT;

			buf_reset(&out);
			ck_assert_int_eq(
			    tu_sh(
			        &out,
			        "cd '%s' && git fsck --strict --no-progress "
			        ">&2 && git ls-tree -r --name-only %s | while "
			        "read -r p; do printf '%%s %%s\\n' \"$p\" "
			        "\"$(git cat-file blob %s:\"$p\")\"; done",
			        repo.data, commit[first], commit[first]),
			    0);
			ck_assert_int_eq(tu_sh(&sorted, "%s | LC_ALL=C sort",
			                       want[first].data),
			                 0);
			ck_assert_msg(strcmp(out.data, sorted.data) == 0,
			              "step %zu: git lists\n%s\nwanted\n%s",
			              first, out.data, sorted.data);
			buf_free(&sorted);
			buf_free(&want[first]);
		}
		e++;
	}
	ck_assert_uint_eq(e, UTIL_ARRAY_LEN(ends));
	ledger_close(lg);
	crypto_signer_free(signer);
	buf_free(&repo);
	buf_free(&out);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_ledger_pack_reader_matches_git)
{
	char *dir = tu_tmpdir();
	struct buf out = BUF_INIT, gd = BUF_INIT;
	size_t declined, n;
	char *list;

	/* OFS_DELTA chains, as `git repack` writes them. */
	ck_assert_msg(tu_sh(&out,
	                    "cd '%s' && " PACK_HISTORY
	                    "git repack -adq --depth=50 --window=50 && "
	                    "git prune-packed && git verify-pack -v "
	                    ".git/objects/pack/*.idx | grep -c 'chain length "
	                    "= [2-9]'",
	                    dir) == 0,
	              "%s", out.data);
	buf_printf(&gd, "%s/r/.git", dir);
	list = object_list(gd.data);
	n = pack_read_all(gd.data, list, &declined);
	ck_assert_uint_ge(n, 160);
	ck_assert_uint_eq(declined, 0);

	/* REF_DELTA: pack-objects without --delta-base-offset. */
	ck_assert_msg(tu_sh(&out,
	                    "cd '%s' && git init -q --bare ref.git && "
	                    "git -C r rev-list --objects --all | "
	                    "git -C r pack-objects -q --window=50 --depth=50 "
	                    "'%s/ref.git/objects/pack/pack' >/dev/null",
	                    dir, dir) == 0,
	              "%s", out.data);
	buf_reset(&gd);
	buf_printf(&gd, "%s/ref.git", dir);
	ck_assert_uint_eq(pack_read_all(gd.data, list, &declined), n);
	ck_assert_uint_eq(declined, 0);

	/* A loose object is declined (libgit2 reads it). */
	ck_assert_int_eq(tu_sh(&out,
	                       "cd '%s/r' && echo 新しい > new.txt && git add "
	                       "new.txt && git commit -qm loose",
	                       dir),
	                 0);
	buf_reset(&gd);
	buf_printf(&gd, "%s/r/.git", dir);
	free(list);
	list = object_list(gd.data);
	ck_assert_uint_eq(pack_read_all(gd.data, list, &declined), n);
	ck_assert_uint_eq(declined, 3); /* blob, tree, commit */

	/* A truncated pack: what lies past the end is declined, the rest
	 * still reads (and matches). */
	ck_assert_int_eq(tu_sh(&out,
	                       "cd '%s/ref.git/objects/pack' && p=$(ls "
	                       "*.pack) && s=$(stat -c %%s $p) && chmod u+w "
	                       "$p && truncate -s $((s / 2)) $p",
	                       dir),
	                 0);
	buf_reset(&gd);
	buf_printf(&gd, "%s/ref.git", dir);
	ck_assert_uint_gt(pack_read_all(gd.data, list, &declined), 0);
	ck_assert_uint_gt(declined, 0);

	/* An index that is not one: the pack is left out altogether. */
	ck_assert_int_eq(tu_sh(&out,
	                       "cd '%s/ref.git/objects/pack' && i=$(ls *.idx) "
	                       "&& chmod u+w $i && printf 'xxxx' | dd of=$i "
	                       "conv=notrunc status=none",
	                       dir),
	                 0);
	{
		struct pack_reader *pr = pack_reader_open(gd.data);
		ck_assert_uint_eq(pack_reader_packs(pr), 0);
		pack_reader_close(pr);
	}
	free(list);
	buf_free(&out);
	buf_free(&gd);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_ledger_pack_count_bounded)
{
	struct fx_env e;
	struct buf out = BUF_INIT;
	size_t packs = 0, loose = 0;

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	/* One batch per command: ~280 packs without merging.  On disk a
	 * merge's output and the sources it replaced outlive it briefly
	 * (each level's merger removes them), so the count may pass the
	 * limit for a moment: it must come back under it. */
	script_history(e.w, 30, 0);
	for (int i = 0; i < 600; i++) {
		ck_assert_int_eq(ledger_stats(e.dd->lg, &packs, &loose), 0);
		if (packs <= LEDGER_MAX_PACKS)
			break;
		usleep(50 * 1000);
	}
	ck_assert_uint_le(packs, LEDGER_MAX_PACKS);
	ck_assert_uint_eq(loose, 0);
	fx_env_close(&e);
	/* Reopened, more than half the limit would be merged down to half;
	 * fewer are left alone. */
	fx_env_open(&e);
	ck_assert_int_eq(ledger_stats(e.dd->lg, &packs, &loose), 0);
	ck_assert_uint_le(packs, LEDGER_MAX_PACKS / 2);
	fx_env_close(&e);
	assert_fsck(e.repo);
	buf_free(&out);
	fx_env_free(&e);
}
END_TEST

/* One batch: a division named `prefix` and `i`. */
static void
submit_division(struct fx_env *e, const char *prefix, int i)
{
	char code[16];

	snprintf(code, sizeof(code), "%s%d", prefix, i);
	ck_assert_int_eq(
	    fx_submit(e->w, fx_division(code, "課"), NULL, NULL, NULL), 0);
}

/* Whether a file in `dir` can be opened with O_DIRECT. */
static bool
odirect_works(const char *dir)
{
	char *p = util_path_join(dir, "odirect-probe");
	int fd = open(p, O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);

	if (fd >= 0)
		close(fd);
	unlink(p);
	free(p);
	return fd >= 0;
}

/* Packs found at start-up join the merge levels by size: past half the
 * limit only the smallest are merged (the ledger's large pack is not
 * copied), and the rest are merged by level once writes resume (before,
 * they were folded whole at start-up, or never merged at all). */
START_TEST(test_ledger_open_levels_packs)
{
	struct fx_env e;
	struct buf out = BUF_INIT, big = BUF_INIT, objs = BUF_INIT,
	           head = BUF_INIT;
	size_t packs = 0, loose = 0;
	const int tiny = LEDGER_MAX_PACKS / 2 + 6;
	struct ledger_merge_io io0, io1;

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	script_history(e.w, 10, 0);
	fx_env_close(&e);
	/* One large pack (OFS deltas, as git writes them) and, past half
	 * the limit, packs of one object each. */
	ck_assert_msg(
	    tu_sh(&out,
	          "cd '%s' && git repack -adq && "
	          "git rev-list --objects --all | head -%d | cut -c1-40 | "
	          "while read o; do echo $o | "
	          "git pack-objects -q objects/pack/pack >/dev/null || "
	          "exit 1; done",
	          e.repo, tiny) == 0,
	    "%s", out.data);
	ck_assert_int_eq(tu_sh(&big,
	                       "cd '%s' && ls -S objects/pack/*.pack | "
	                       "head -1 | tr -d '\\n'",
	                       e.repo),
	                 0);
	ck_assert_int_eq(tu_sh(&head,
	                       "git -C '%s' rev-parse ledger | tr -d "
	                       "'\\n'",
	                       e.repo),
	                 0);
	ck_assert_int_eq(tu_sh(&objs,
	                       "git -C '%s' rev-list --objects ledger | wc -l",
	                       e.repo),
	                 0);

	ledger_merge_io(&io0);
	fx_env_open(&e);
	ck_assert_int_eq(ledger_stats(e.dd->lg, &packs, &loose), 0);
	/* The tiny - MAX/2 + 1 smallest became one. */
	ck_assert_uint_eq(packs, LEDGER_MAX_PACKS / 2);
	/* Read and written with O_DIRECT where the file system takes it,
	 * through the page cache where it does not (both counted). */
	ledger_merge_io(&io1);
	if (odirect_works(e.repo)) {
		ck_assert_uint_gt(io1.read_direct, io0.read_direct);
		ck_assert_uint_gt(io1.written_direct, io0.written_direct);
		ck_assert_uint_eq(io1.written_buffered, io0.written_buffered);
	} else {
		ck_assert_uint_gt(io1.read_mapped, io0.read_mapped);
		ck_assert_uint_gt(io1.written_buffered, io0.written_buffered);
	}
	ck_assert_uint_eq(loose, 0);
	{
		char *p = util_path_join(e.repo, big.data);
		ck_assert_msg(util_path_exists(p), "%s was copied", p);
		free(p);
	}
	/* Writing again merges the packs found at start-up: one batch at a
	 * time, giving the merger (nice 10) up to 30 s on a busy machine.
	 * Left out of the levels, they would stay: MAX/2 and more. */
	for (int i = 0; i < 600 && packs > LEDGER_MERGE_FANOUT; i++) {
		submit_division(&e, "m", i);
		ck_assert_int_eq(ledger_stats(e.dd->lg, &packs, &loose), 0);
		if (packs > LEDGER_MERGE_FANOUT)
			usleep(50 * 1000);
	}
	ck_assert_uint_le(packs, LEDGER_MERGE_FANOUT);
	fx_env_close(&e);
	assert_fsck(e.repo);
	/* Each index is byte for byte the one git makes of its pack (order,
	 * offsets, each entry's CRC-32), batches' and merges' alike. */
	ck_assert_msg(tu_sh(&out,
	                    "cd '%s/objects/pack' && for p in *.pack; do "
	                    "git index-pack -o '%s/check.idx' \"$p\" "
	                    ">/dev/null && cmp '%s/check.idx' "
	                    "\"${p%%.pack}.idx\" || exit 1; done",
	                    e.repo, e.dir, e.dir) == 0,
	              "%s", out.data);
	/* Every object of the history before is still there. */
	buf_reset(&out);
	ck_assert_int_eq(tu_sh(&out,
	                       "git -C '%s' rev-list --objects %s | wc -l",
	                       e.repo, head.data),
	                 0);
	ck_assert_str_eq(out.data, objs.data);
	buf_free(&out);
	buf_free(&head);
	buf_free(&big);
	buf_free(&objs);
	fx_env_free(&e);
}
END_TEST

/* A merge of a deep level (gigabytes, seconds under load) does not hold
 * up level 0's: with one merger thread for all levels, level 0 piled up
 * behind it until the writer waited at LEDGER_MAX_PACKS (stalls of 5 s
 * in 45 s note runs).  Level 1's merge is held here, running, while
 * batches go on; level 0 must still be merged. */
START_TEST(test_ledger_deep_merge_does_not_block)
{
	enum { F = LEDGER_MERGE_FANOUT, MORE = 2 * LEDGER_MERGE_FANOUT };
	struct fx_env e;
	size_t packs = 0, loose = 0, bound = 0;
	int i, held;

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w); /* fewer than F batches */
	ledger_merge_hold(e.dd->lg, 1, true);
	/* One batch a command: F * F batches make a level-1 merge. */
	for (i = 0; i < 40 * F && !ledger_merge_held(e.dd->lg, 1); i++) {
		if (i >= F * F)
			usleep(20 * 1000); /* the mergers run at nice 10 */
		submit_division(&e, "a", i);
	}
	held = i;
	ck_assert_msg(ledger_merge_held(e.dd->lg, 1),
	              "no level-1 merge after %d batches", held);
	/* More batches.  Merged at level 0 meanwhile, all B batches end up
	 * as B / F packs (the held merge's F sources among them) and fewer
	 * than F at level 0.  Left alone behind the held merge, every batch
	 * since it began would stay a pack: F + MORE + i at least.  Merges
	 * are collected after batches, so one more goes in each turn, for
	 * up to 30 s (the mergers run at nice 10). */
	for (i = 0; i < MORE + 600; i++) {
		bound = (size_t)(held + i + F) / F + F;
		ck_assert_int_eq(ledger_stats(e.dd->lg, &packs, &loose), 0);
		if (i >= MORE && packs <= bound && bound < (size_t)(F + i))
			break;
		/* Near the limit (each merge in flight counts its output too)
		 * the writer would wait for the held merge. */
		ck_assert_msg(packs + 8 < LEDGER_MAX_PACKS,
		              "level 0 is not merged beside the held merge: "
		              "%zu packs after %d batches more",
		              packs, i);
		if (i >= MORE)
			usleep(50 * 1000);
		submit_division(&e, "b", i);
	}
	ck_assert_uint_le(packs, bound);
	ck_assert_uint_lt(bound, (size_t)(F + i));
	ck_assert(ledger_merge_held(e.dd->lg, 1));
	ledger_merge_hold(e.dd->lg, 1, false);
	fx_env_close(&e);
	assert_fsck(e.repo);
	fx_env_free(&e);
}
END_TEST

/* Past its node budget the in-memory tree keeps a long directory's
 * leading entries as bytes (compaction) instead of dropping the directory
 * and reading it back from the packs at its next change; an entry that
 * sorts among them (a change, an insertion) makes them nodes again.
 * Every commit's tree must still be git's. */
static void
check_tree(const char *repo, const char *commit, const struct buf *want)
{
	struct buf out = BUF_INIT, sorted = BUF_INIT;

	ck_assert_int_eq(
	    tu_sh(&out,
	          "cd '%s' && git fsck --strict --no-progress >&2 && "
	          "git ls-tree -r --name-only %s | while read -r p; do "
	          "printf '%%s %%s\\n' \"$p\" \"$(git cat-file blob "
	          "%s:\"$p\")\"; done",
	          repo, commit, commit),
	    0);
	{
		char *f = util_path_join(repo, "want.txt");
		FILE *fp = fopen(f, "w");

		ck_assert_ptr_nonnull(fp);
		fputs(want->data, fp);
		ck_assert_int_eq(fclose(fp), 0);
		ck_assert_int_eq(tu_sh(&sorted, "LC_ALL=C sort '%s'", f), 0);
		unlink(f);
		free(f);
	}
	ck_assert_msg(strcmp(out.data, sorted.data) == 0,
	              "%s: git lists\n%s\nwanted\n%s", commit, out.data,
	              sorted.data);
	buf_free(&out);
	buf_free(&sorted);
}

/* One file, `content` at `path`, in a batch of its own; the result of
 * ledger_batch_finish(). */
static int
commit_one(struct ledger *lg, int64_t *t, const char *path, const char *content,
           char commit[LEDGER_OID_HEX])
{
	struct ledger_commit_info info = {"t", (*t)++, "step\n"};
	struct ledger_file f = {path, content, strlen(content)};

	ck_assert_int_eq(ledger_batch_begin(lg), 0);
	ck_assert_msg(ledger_commit(lg, &info, &f, 1, commit) == 0, "%s: %s",
	              path, csirt_error_msg());
	return ledger_batch_finish(lg);
}

START_TEST(test_ledger_tree_compaction)
{
	enum { FILES = 120 };
	char *dir = tu_tmpdir();
	struct crypto_signer *signer = NULL;
	struct ledger *lg = NULL;
	struct buf repo = BUF_INIT, want = BUF_INIT, want2 = BUF_INIT;
	char commit[LEDGER_OID_HEX], first[LEDGER_OID_HEX], path[64];
	char content[FILES][16];
	size_t loads, i;
	int64_t t = 1790000000000;

	ledger_fresh(dir, &repo, &signer, &lg);
	ledger_set_cache_nodes(lg, 40);
	/* One file a batch into one directory, as a case's events go. */
	for (i = 0; i < FILES; i++) {
		snprintf(path, sizeof(path), "d/e/f%03zu.txt", i);
		snprintf(content[i], sizeof(content[i]), "v1-%zu", i);
		ck_assert_int_eq(commit_one(lg, &t, path, content[i], commit),
		                 0);
		ck_assert_uint_le(ledger_cache_nodes(lg), 40 + 4);
		if (i == FILES / 2)
			loads = ledger_tree_loads(lg);
	}
	/* Appending after compacted entries reads nothing back: dropping
	 * d/e instead would read it back every batch. */
	ck_assert_uint_eq(ledger_tree_loads(lg), loads);
	for (i = 0; i < FILES; i++)
		buf_printf(&want, "d/e/f%03zu.txt %s\n", i, content[i]);
	memcpy(first, commit, sizeof(first));

	/* A change among the compacted entries, an entry before them all, a
	 * new directory beside: each commit still git's tree. */
	snprintf(content[5], sizeof(content[5]), "v2-5");
	ck_assert_int_eq(commit_one(lg, &t, "d/e/f005.txt", content[5], commit),
	                 0);
	ck_assert_int_eq(commit_one(lg, &t, "d/e/a.txt", "first", commit), 0);
	ck_assert_int_eq(commit_one(lg, &t, "d/g/x.txt", "beside", commit), 0);
	snprintf(content[FILES - 1], sizeof(content[FILES - 1]), "v3-%d",
	         FILES - 1);
	ck_assert_int_eq(
	    commit_one(lg, &t, "d/e/f119.txt", content[FILES - 1], commit), 0);
	for (i = 0; i < FILES; i++)
		buf_printf(&want2, "d/e/f%03zu.txt %s\n", i, content[i]);
	buf_puts(&want2, "d/e/a.txt first\nd/g/x.txt beside\n");
	ck_assert_uint_le(ledger_cache_nodes(lg), 40 + FILES);
	/* git reads the packs once the mergers have stopped. */
	ledger_close(lg);
	check_tree(repo.data, first, &want);
	check_tree(repo.data, commit, &want2);
	crypto_signer_free(signer);
	buf_free(&repo);
	buf_free(&want);
	buf_free(&want2);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/* refs/heads holds the ref alone, naming `commit`. */
static void
assert_ref_alone(const char *repo, const char *commit)
{
	struct buf out = BUF_INIT, want = BUF_INIT;

	ck_assert_int_eq(tu_sh(&out,
	                       "ls -A '%s/refs/heads' && cat "
	                       "'%s/refs/heads/ledger'",
	                       repo, repo),
	                 0);
	buf_printf(&want, "ledger\n%s\n", commit);
	ck_assert_str_eq(out.data, want.data);
	buf_free(&out);
	buf_free(&want);
}

/* Waits until the spares thread has a lock file ready. */
static void
wait_lock_ready(struct ledger *lg)
{
	bool ready = false;

	for (int i = 0; i < 5000 && !ready; i++) {
		(void)ledger_ref_locks_linked(lg, &ready);
		if (!ready)
			usleep(1000);
	}
	ck_assert_msg(ready, "no ref lock file made ready in 5 s");
}

/* The ref's lock is an unnamed file made ahead and linked in: the ref
 * ends up naming each commit, nothing is left in refs/heads, and a lock
 * that someone else holds still refuses the batch and stays theirs. */
START_TEST(test_ledger_ref_lock_linked)
{
	char *dir = tu_tmpdir();
	struct crypto_signer *signer = NULL;
	struct ledger *lg = NULL;
	struct buf repo = BUF_INIT, out = BUF_INIT, want = BUF_INIT;
	char commit[LEDGER_OID_HEX], head[LEDGER_OID_HEX], path[32];
	uint64_t linked;
	bool ready;
	int64_t t = 1790000000000;

	ledger_fresh(dir, &repo, &signer, &lg);
	for (int i = 0; i < 4; i++) {
		if (i > 0)
			wait_lock_ready(lg);
		snprintf(path, sizeof(path), "f%d.txt", i);
		ck_assert_int_eq(commit_one(lg, &t, path, "x", commit), 0);
		assert_ref_alone(repo.data, commit);
	}
	/* The first batch may find none ready; the three after it do. */
	linked = ledger_ref_locks_linked(lg, &ready);
	ck_assert_uint_ge(linked, 3);
	memcpy(head, commit, sizeof(head));

	/* Someone else's lock: refused, left as it is, not linked over. */
	ck_assert_int_eq(
	    tu_sh(&out, "echo other > '%s/refs/heads/ledger.lock'", repo.data),
	    0);
	wait_lock_ready(lg);
	ck_assert_int_eq(commit_one(lg, &t, "refused.txt", "x", commit),
	                 CSIRT_EUNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "ledger.lock"));
	ck_assert_uint_eq(ledger_ref_locks_linked(lg, &ready), linked);
	buf_reset(&out);
	ck_assert_int_eq(tu_sh(&out,
	                       "cat '%s/refs/heads/ledger.lock' && cat "
	                       "'%s/refs/heads/ledger'",
	                       repo.data, repo.data),
	                 0);
	buf_reset(&want);
	buf_printf(&want, "other\n%s\n", head);
	ck_assert_str_eq(out.data, want.data);
	ledger_close(lg);

	/* Reopened (the stale lock removed), the next batch goes through. */
	ck_assert_int_eq(ledger_open(&lg, repo.data, signer), 0);
	ck_assert_int_eq(commit_one(lg, &t, "after.txt", "x", commit), 0);
	ledger_close(lg);
	assert_ref_alone(repo.data, commit);
	assert_fsck(repo.data);
	crypto_signer_free(signer);
	buf_free(&repo);
	buf_free(&out);
	buf_free(&want);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/* This process's descriptors of files in `repo`/refs/heads: those of the
 * ref's current file (its inode) and those of replaced ones (deleted),
 * not counting the unnamed file made ready for the next lock ("#<inode>
 * (deleted)"). */
static void
ref_fds(const char *repo, int *current, int *replaced)
{
	struct buf ref = BUF_INIT, heads = BUF_INIT;
	struct stat want;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	*current = *replaced = 0;
	buf_printf(&ref, "%s/refs/heads/ledger", repo);
	buf_printf(&heads, "%s/refs/heads/", repo);
	ck_assert_int_eq(stat(ref.data, &want), 0);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char link[300], target[4096];
		struct stat st;
		ssize_t n;

		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, heads.data, heads.len) != 0 ||
		    stat(link, &st) != 0)
			continue;
		if (st.st_dev == want.st_dev && st.st_ino == want.st_ino)
			(*current)++;
		else if (target[heads.len] != '#' && /* the next lock */
		         strstr(target, " (deleted)") != NULL)
			(*replaced)++;
	}
	closedir(d);
	buf_free(&ref);
	buf_free(&heads);
}

/* A batch keeps the ref's new file open, and the file it replaced is
 * closed by the spares thread, not the writer (its last close frees its
 * blocks: a synchronous discard on a file system mounted with
 * `discard`); none is left open, and none after the close. */
START_TEST(test_ledger_ref_file_retired)
{
	char *dir = tu_tmpdir();
	struct crypto_signer *signer = NULL;
	struct ledger *lg = NULL;
	struct buf repo = BUF_INIT;
	char commit[LEDGER_OID_HEX], path[32];
	int current = 0, replaced = 0;
	int64_t t = 1790000000000;

	ledger_fresh(dir, &repo, &signer, &lg);
	for (int i = 0; i < 3 * LEDGER_RETIRED_MAX; i++) {
		snprintf(path, sizeof(path), "f%d.txt", i);
		ck_assert_int_eq(commit_one(lg, &t, path, "x", commit), 0);
		ref_fds(repo.data, &current, &replaced);
		ck_assert_int_eq(current, 1);
		ck_assert_int_le(replaced, LEDGER_RETIRED_MAX);
	}
	for (int i = 0; i < 5000 && replaced > 0; i++) {
		usleep(1000);
		ref_fds(repo.data, &current, &replaced);
	}
	ck_assert_int_eq(replaced, 0);
	ck_assert_int_eq(current, 1);
	ledger_close(lg);
	ref_fds(repo.data, &current, &replaced);
	ck_assert_int_eq(current + replaced, 0);
	assert_ref_alone(repo.data, commit);
	crypto_signer_free(signer);
	buf_free(&repo);
	tu_rmrf(dir);
	free(dir);
}
END_TEST

/* How many event files case `id` has in each of its events/ buckets:
 * "000 99\n001 14\n". */
static void
bucket_counts(struct buf *out, const char *repo, const char *id)
{
	struct buf dir = BUF_INIT;

	layout_case_dir(&dir, id);
	buf_reset(out);
	ck_assert_int_eq(tu_sh(out,
	                       "git -C '%s' ls-tree -r --name-only ledger "
	                       "'%s/events/' | awk -F/ '{print $(NF-1)}' | "
	                       "uniq -c | awk '{print $2, $1}'",
	                       repo, dir.data),
	                 0);
	buf_free(&dir);
}

/* A case's event files are in buckets of its own event numbers
 * (Case-Seq), however its events interleave with another case's: two
 * cases of 111 events, written turn about, each have events/000 (events
 * 1-99) and events/001 (100-111), where buckets of the global seq gave
 * each event a bucket of its own.  The index's count of a case's events
 * survives a restart, and is made by the migration for an index from
 * before it. */
START_TEST(test_ledger_case_event_buckets)
{
	struct fx_env e;
	struct buf out = BUF_INIT, args = BUF_INIT;
	char a[12], b[12];

	fx_env_init(&e);
	fx_env_open(&e);
	fx_seed_directory(e.w);
	fx_report_d1(e.w, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT,
	             "端末紛失 A", a);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_report("rep2", "d2",
	                        CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT,
	                        "端末紛失 B"),
	              NULL, b, NULL),
	    0);
	for (int i = 0; i < 110; i++)
		for (int k = 0; k < 2; k++)
			ck_assert_msg(
			    fx_submit(
			        e.w,
			        fx_note(k == 0 ? a : b, "sm",
			                CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER),
			        "経過メモ", NULL, NULL) == 0,
			    "note %d: %s", i, csirt_error_msg());
	bucket_counts(&out, e.repo, a);
	ck_assert_str_eq(out.data, "000 99\n001 12\n");
	bucket_counts(&out, e.repo, b);
	ck_assert_str_eq(out.data, "000 99\n001 12\n");

	/* Restarted: event 112 of case A. */
	fx_env_close(&e);
	fx_env_open(&e);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_note(a, "sm", CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER),
	              "再起動後", NULL, NULL),
	    0);
	fx_env_close(&e);
	/* An index from before 0006_case_events: the migration counts. */
	ck_assert_int_eq(tu_sh(&out,
	                       "sqlite3 '%s/index.sqlite' 'ALTER TABLE cases "
	                       "DROP COLUMN event_count; PRAGMA user_version "
	                       "= 5'",
	                       e.data),
	                 0);
	fx_env_open(&e);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_note(a, "sm", CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER),
	              "移行後", NULL, NULL),
	    0);
	fx_env_close(&e);
	bucket_counts(&out, e.repo, a);
	ck_assert_str_eq(out.data, "000 99\n001 14\n");
	buf_reset(&out);
	ck_assert_int_eq(
	    tu_sh(&out, "git -C '%s' log -1 --format=%%B ledger", e.repo), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\nCase-Seq: 113\n"));
	/* The migrated index is the one a replay makes. */
	buf_printf(&args, "--index '%s/index.sqlite'", e.data);
	ck_assert_msg(fx_audit(&out, &e, "verify", args.data) == 0, "%s",
	              out.data);
	assert_fsck(e.repo);
	buf_free(&out);
	buf_free(&args);
	fx_env_free(&e);
}
END_TEST

/* The Case-Seq trailer: optional, a case's only, a number from 1; the
 * event file's bucket follows from it. */
START_TEST(test_layout_case_seq_trailer)
{
	static const char head[] = "s\n\nEvent: note.added\n";
	static const char tail[] = "Actor: sm\nRole: ROLE_SECURITY_MANAGER\n"
	                           "Event-SHA256: "
	                           "43abde526d2b1943d234227e289ed2b3022d19e4"
	                           "70fbfc2fd9fad1661b771f26\n";
	static const struct {
		const char *mid;
		int ok;
		uint64_t case_seq;
	} c[] = {
	    {"Case: 2026-000001\nSeq: 9\n", 1, 0},
	    {"Case: 2026-000001\nSeq: 9\nCase-Seq: 112\n", 1, 112},
	    {"Seq: 9\nCase-Seq: 3\n", 0, 0}, /* not a case's event */
	    {"Case: 2026-000001\nSeq: 9\nCase-Seq: 0\n", 0, 0},
	    {"Case: 2026-000001\nSeq: 9\nCase-Seq: 07\n", 0, 0},
	    {"Case: 2026-000001\nSeq: 9\nCase-Seq: 3x\n", 0, 0},
	    {"Case: 2026-000001\nSeq: 9\nCase-Seq: -3\n", 0, 0},
	    {"Case: 2026-000001\nSeq: 9\nCase-Seq: 99999999999999999999\n", 0,
	     0},
	};
	struct layout_trailers t;
	struct buf m = BUF_INIT, p = BUF_INIT;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(c); i++) {
		buf_reset(&m);
		buf_printf(&m, "%s%s%s", head, c[i].mid, tail);
		ck_assert_msg((layout_trailers_parse(&t, m.data) == 0) ==
		                  (c[i].ok == 1),
		              "%s", m.data);
		if (c[i].ok)
			ck_assert_uint_eq(t.case_seq, c[i].case_seq);
	}
	/* Printed back only for a case's event. */
	buf_reset(&m);
	buf_printf(&m, "%s%s%s", head, c[1].mid, tail);
	ck_assert_int_eq(layout_trailers_parse(&t, m.data), 0);
	buf_reset(&m);
	layout_message(&m, "s", &t);
	ck_assert_ptr_nonnull(strstr(m.data, "\nSeq: 9\nCase-Seq: 112\n"));
	t.case_id[0] = '\0';
	buf_reset(&m);
	layout_message(&m, "s", &t);
	ck_assert_ptr_null(strstr(m.data, "Case-Seq"));

	layout_event_path(&p, "2026-012345", 12345, 112);
	ck_assert_str_eq(
	    p.data, "cases/2026/01/23/2026-012345/events/001/0000012345.json");
	buf_reset(&p);
	layout_event_path(&p, "2026-012345", 12345, 0); /* before Case-Seq */
	ck_assert_str_eq(
	    p.data,
	    "cases/2026/01/23/2026-012345/events/0000012/0000012345.json");
	buf_reset(&p);
	layout_event_path(&p, NULL, 12345, 112); /* directory: the seq's */
	ck_assert_str_eq(p.data, "directory/events/0000012/0000012345.json");
	buf_free(&m);
	buf_free(&p);
}
END_TEST

Suite *
ledger_suite(void)
{

	Suite *s = suite_create("ledger");
	TCase *tc = tcase_create("core");
	TCase *big = tcase_create("history");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_ledger_init_creates_signed_first_commit);
	tcase_add_test(tc, test_ledger_init_refuses_existing);
	tcase_add_test(tc, test_ledger_history_verifies_with_stock_git);
	tcase_add_test(tc, test_ledger_rejected_command_never_reaches_ledger);
	tcase_add_test(tc, test_ledger_note_edits_versioned);
	tcase_add_test(tc, test_ledger_reconcile_replays_missing_tail);
	tcase_add_test(tc, test_ledger_refuses_rewritten_history);
	tcase_add_test(tc, test_ledger_stale_lock_recovered);
	tcase_add_test(tc, test_ledger_ref_lock_linked);
	tcase_add_test(tc, test_ledger_ref_file_retired);
	tcase_add_test(tc, test_ledger_case_event_buckets);
	tcase_add_test(tc, test_layout_case_seq_trailer);
	tcase_add_test(tc, test_ledger_pack_count_bounded);
	tcase_add_test(tc, test_ledger_open_levels_packs);
	tcase_add_test(tc, test_ledger_deep_merge_does_not_block);
	tcase_add_test(tc, test_ledger_pack_reader_matches_git);
	tcase_add_test(tc, test_ledger_trees_match_git);
	tcase_add_test(tc, test_ledger_tree_compaction);
	tcase_add_test(tc, test_ledger_rebuild_failure_keeps_index);
	tcase_add_test(tc, test_ledger_writer_thread_commits);
	tcase_add_test(tc, test_ledger_commitq_failure_and_order);
	suite_add_tcase(s, tc);
	tcase_set_timeout(big, 600);
	tcase_add_test(big, test_ledger_rebuild_equals_live);
	suite_add_tcase(s, big);
	return s;
}
