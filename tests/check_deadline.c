/*
 * check_deadline.c - the deadlines of DESIGN.md §4 without a socket or a
 * sleep: a fake clock drives the writer's event times and the scheduler;
 * the timer and the loop are two recorded callbacks.  Covers the scan
 * (what is due, what is next), the scheduler (submission, no duplicates,
 * re-arm after a restart from a populated index, a late timer racing an
 * acknowledgement), automatic escalation and report_late.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "codec.h"
#include "crypto.h"
#include "datadir.h"
#include "deadline.h"
#include "error.h"
#include "fixtures.h"
#include "index.h"
#include "lifecycle.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"
#include "writer.h"

#define MIN (60 * 1000LL)

struct fake_clock {
	int64_t now;
};

static int64_t
fake_now_cb(void *arg)
{
	return ((struct fake_clock *)arg)->now;
}

/* The loop and the timer, recorded: posts queue until drained. */
struct fake_loop {
	int64_t armed; /* last delay given to arm; -1 cancelled */
	int narms;
	struct {
		void (*fn)(void *);
		void *arg;
	} posts[64];
	size_t nposts;
};

static void
fake_arm_cb(void *arg, int64_t delay_ms)
{
	struct fake_loop *l = arg;

	l->armed = delay_ms;
	l->narms++;
}

static void
fake_post_cb(void *arg, void (*fn)(void *), void *fn_arg)
{
	struct fake_loop *l = arg;

	ck_assert_uint_lt(l->nposts, 64);
	l->posts[l->nposts].fn = fn;
	l->posts[l->nposts].arg = fn_arg;
	l->nposts++;
}

static void
fake_drain(struct fake_loop *l)
{
	while (l->nposts > 0) {
		void (*fn)(void *) = l->posts[0].fn;
		void *arg = l->posts[0].arg;
		memmove(&l->posts[0], &l->posts[1],
		        (l->nposts - 1) * sizeof(l->posts[0]));
		l->nposts--;
		fn(arg);
	}
}

struct env {
	char *dir, *data;
	struct datadir *dd;
	struct writer *w;
	struct fake_clock fc;
	struct clock clk;
};

static void
env_open(struct env *e)
{
	ck_assert_msg(datadir_open(&e->dd, e->data) == 0, "open: %s",
	              csirt_error_msg());
	ck_assert_int_eq(writer_new(&e->w, e->dd->lg, e->dd->ix, 1000, 512), 0);
	writer_set_clock(e->w, &e->clk);
}

static void
env_close(struct env *e)
{
	writer_free(e->w);
	datadir_close(e->dd);
	e->w = NULL;
	e->dd = NULL;
}

static void
env_init(struct env *e)
{
	char token[CRYPTO_TOKEN_LEN];

	memset(e, 0, sizeof(*e));
	e->dir = tu_tmpdir();
	e->data = util_path_join(e->dir, "var");
	ck_assert_int_eq(datadir_init(e->data, "admin", token), 0);
	/* fx_report() recognises 20 min before the real now. */
	e->fc.now = util_time_now_ms();
	e->clk.now_ms = fake_now_cb;
	e->clk.arg = &e->fc;
	env_open(e);
	fx_seed_directory(e->w);
}

static void
env_free(struct env *e)
{
	env_close(e);
	tu_rmrf(e->dir);
	free(e->data);
	free(e->dir);
}

static void
report(struct env *e, Csirt__V1__Category cat, char id[16])
{
	fx_report_d1(e->w, cat, "紛失", id);
}

/* The 情報セキュリティ管理者 acknowledges case `id`. */
static void
acknowledge(struct env *e, const char *id, const char *text)
{
	ck_assert_int_eq(
	    fx_submit(e->w,
	              fx_case_event(
	                  id, CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED, "sm",
	                  CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, text),
	              NULL, NULL, NULL),
	    0);
}

static Csirt__V1__Case *
get_case(struct env *e, const char *id)
{
	Csirt__V1__Case *c = NULL;

	ck_assert_int_eq(index_case_get(&c, e->dd->ix, id), 0);
	return c;
}

static bool
is_overdue(struct env *e, const char *id)
{
	Csirt__V1__Case *c = get_case(e, id);
	bool o = c->overdue;

	csirt__v1__case__free_unpacked(c, NULL);
	return o;
}

struct collect {
	char ids[8][16];
	int64_t due[8];
	int n;
};

static int
collect_cb(const char *case_id, const char *deadline, int64_t due_ms, void *arg)
{
	struct collect *c = arg;

	ck_assert_str_eq(deadline, CASE_DEADLINE_ACK);
	ck_assert_int_lt(c->n, 8);
	snprintf(c->ids[c->n], sizeof(c->ids[c->n]), "%s", case_id);
	c->due[c->n++] = due_ms;
	return 0;
}

static int
count_cb(const Csirt__V1__Case *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

static int
list_overdue(struct env *e)
{
	struct index_case_filter f;
	int n = 0;

	memset(&f, 0, sizeof(f));
	f.overdue = true;
	f.limit = 100;
	ck_assert_int_eq(index_cases_list(e->dd->ix, &f, count_cb, &n, NULL),
	                 0);
	return n;
}

START_TEST(test_deadline_scan_due_and_next)
{
	struct deadline_limits lim = {30 * MIN};
	struct collect got;
	struct env e;
	char a[16], b[16];
	int64_t t0, next = 0;

	env_init(&e);
	t0 = e.fc.now;
	report(&e, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT, a);
	e.fc.now = t0 + 10 * MIN;
	report(&e, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT, b);

	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(deadline_scan(&next, e.dd->ix, &lim, t0 + 29 * MIN,
	                               collect_cb, &got),
	                 0);
	ck_assert_int_eq(got.n, 0);
	ck_assert_int_eq(next, t0 + 30 * MIN);
	/* Due exactly at the limit. */
	ck_assert_int_eq(deadline_scan(&next, e.dd->ix, &lim, t0 + 30 * MIN,
	                               collect_cb, &got),
	                 0);
	ck_assert_int_eq(got.n, 1);
	ck_assert_str_eq(got.ids[0], a);
	ck_assert_int_eq(got.due[0], t0 + 30 * MIN);
	ck_assert_int_eq(next, t0 + 40 * MIN);
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(deadline_scan(&next, e.dd->ix, &lim, t0 + 99 * MIN,
	                               collect_cb, &got),
	                 0);
	ck_assert_int_eq(got.n, 2);
	ck_assert_int_eq(next, DEADLINE_NONE);
	/* Not enforced: nothing is ever due. */
	lim.ack_ms = 0;
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(deadline_scan(&next, e.dd->ix, &lim, t0 + 99 * MIN,
	                               collect_cb, &got),
	                 0);
	ck_assert_int_eq(got.n, 0);
	ck_assert_int_eq(next, DEADLINE_NONE);
	env_free(&e);
}
END_TEST

START_TEST(test_deadline_sched_marks_overdue_and_rearms_after_restart)
{
	struct deadline_limits lim = {30 * MIN};
	struct deadline_sched_ops ops;
	struct deadline_sched *s = NULL;
	struct fake_loop loop;
	Csirt__V1__Case *c;
	struct env e;
	char a[16], b[16], d[16];
	int64_t t0;

	env_init(&e);
	t0 = e.fc.now;
	report(&e, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT, a);
	e.fc.now = t0 + 10 * MIN;
	report(&e, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT, b);
	e.fc.now = t0 + 15 * MIN;
	report(&e, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT, d);

	memset(&loop, 0, sizeof(loop));
	ops.arm = fake_arm_cb;
	ops.post = fake_post_cb;
	ops.arg = &loop;
	deadline_sched_new(&s, e.dd->ix, e.w, &e.clk, &lim, &ops);
	writer_set_commit_hook(e.w, deadline_sched_kick, s);

	/* Nothing due yet: armed for a's deadline. */
	e.fc.now = t0 + 20 * MIN;
	deadline_sched_run(s);
	ck_assert_uint_eq(deadline_sched_pending(s), 0);
	ck_assert_int_eq(loop.armed, 10 * MIN);

	/* The timer fires: one command, and no second one while it is
	 * with the writer. */
	e.fc.now = t0 + 31 * MIN;
	deadline_sched_run(s);
	ck_assert_uint_eq(deadline_sched_pending(s), 1);
	deadline_sched_run(s);
	ck_assert_uint_eq(deadline_sched_pending(s), 1);
	ck_assert_int_eq(writer_run_once(e.w), 0);
	fake_drain(&loop);
	ck_assert_uint_eq(deadline_sched_pending(s), 0);
	ck_assert(is_overdue(&e, a));
	ck_assert(!is_overdue(&e, b));
	ck_assert_int_eq(list_overdue(&e), 1);
	ck_assert_int_eq(loop.armed, 9 * MIN); /* b at t0 + 40 */
	c = get_case(&e, a);
	ck_assert_int_eq(c->state, CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED);
	ck_assert_str_ne(c->overdue_since, "");
	csirt__v1__case__free_unpacked(c, NULL);

	/* d is acknowledged in time. */
	acknowledge(&e, d, "受理");
	fake_drain(&loop);
	deadline_sched_stop(s);
	ck_assert_int_eq(loop.armed, -1);
	deadline_sched_free(s);

	/* Restart: a new writer and index connection re-arm from the
	 * stored cases alone. */
	env_close(&e);
	env_open(&e);
	memset(&loop, 0, sizeof(loop));
	deadline_sched_new(&s, e.dd->ix, e.w, &e.clk, &lim, &ops);
	writer_set_commit_hook(e.w, deadline_sched_kick, s);
	e.fc.now = t0 + 35 * MIN;
	deadline_sched_run(s);
	ck_assert_uint_eq(deadline_sched_pending(s), 0);
	ck_assert_int_eq(loop.armed, 5 * MIN);
	e.fc.now = t0 + 50 * MIN;
	deadline_sched_run(s);
	ck_assert_uint_eq(deadline_sched_pending(s), 1); /* b only */
	ck_assert_int_eq(writer_run_once(e.w), 0);
	fake_drain(&loop);
	ck_assert(is_overdue(&e, b));
	ck_assert(!is_overdue(&e, d));
	ck_assert_int_eq(list_overdue(&e), 2);
	ck_assert_int_eq(loop.armed, -1); /* nothing left to wait for */

	/* Acknowledging clears it. */
	acknowledge(&e, a, "遅れて受理");
	fake_drain(&loop);
	ck_assert(!is_overdue(&e, a));
	ck_assert_int_eq(list_overdue(&e), 1);
	deadline_sched_stop(s);
	deadline_sched_free(s);
	env_free(&e);
}
END_TEST

/* A timer that fires after the SM acknowledged: the writer refuses the
 * stale deadline and nothing reaches the ledger. */
/* What the commit hook saw of writer_batch_moved_deadlines(). */
struct moved_log {
	struct writer *w;
	int n;
	bool moved[8];
};

static void
moved_hook(void *arg)
{
	struct moved_log *m = arg;

	ck_assert_int_lt(m->n, 8);
	m->moved[m->n++] = writer_batch_moved_deadlines(m->w);
}

/* The daemon rescans deadlines after a batch only when it can have moved
 * one: a report, an acknowledgement, a request can; a note or an edit of
 * one cannot. */
START_TEST(test_deadline_batches_of_notes_move_none)
{
	struct moved_log m = {0};
	struct env e;
	char a[16], note_id[32] = "";
	Csirt__V1__Event *ev;
	struct writer_cmd cmd;

	env_init(&e);
	m.w = e.w;
	writer_set_commit_hook(e.w, moved_hook, &m);
	report(&e, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT, a);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_note(a, "sm", CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER),
	              "聴取した。", NULL, NULL),
	    0);
	memset(&cmd, 0, sizeof(cmd));
	cmd.ev = fx_note(a, "sm", CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER);
	cmd.note_text = "二件目。";
	ck_assert_int_eq(writer_submit(e.w, &cmd), 0);
	ck_assert_int_eq(writer_run_once(e.w), 0);
	ck_assert_int_eq(cmd.rc, 0);
	snprintf(note_id, sizeof(note_id), "%s", cmd.ev->note_added->note_id);
	writer_cmd_release(&cmd);
	ev = fx_note_edit(a, note_id, "sm",
	                  CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, "誤記");
	ck_assert_int_eq(fx_submit(e.w, ev, "二件目（訂正）。", NULL, NULL), 0);
	acknowledge(&e, a, "受理");
	ck_assert_int_eq(m.n, 5);
	ck_assert(m.moved[0]);  /* the report */
	ck_assert(!m.moved[1]); /* a note */
	ck_assert(!m.moved[2]); /* another */
	ck_assert(!m.moved[3]); /* its edit */
	ck_assert(m.moved[4]);  /* the acknowledgement */
	env_free(&e);
}
END_TEST

START_TEST(test_deadline_late_timer_after_ack)
{
	Csirt__V1__Event *ev;
	struct env e;
	char a[16];
	uint64_t seq;
	int64_t t0;

	env_init(&e);
	t0 = e.fc.now;
	report(&e, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT, a);
	acknowledge(&e, a, "受理");
	seq = writer_last_seq(e.w);
	e.fc.now = t0 + 31 * MIN;
	ev = deadline_event(a, CASE_DEADLINE_ACK, t0 + 30 * MIN, 30 * MIN);
	ck_assert_int_eq(fx_submit(e.w, ev, NULL, NULL, NULL), CSIRT_ESTATE);
	ck_assert_uint_eq(writer_last_seq(e.w), seq);
	/* Nobody but the daemon records a missed deadline. */
	ev = deadline_event(a, CASE_DEADLINE_ACK, t0 + 30 * MIN, 30 * MIN);
	codec_set_string(&ev->actor, "sm");
	ev->role = CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER;
	ck_assert_int_eq(fx_submit(e.w, ev, NULL, NULL, NULL), CSIRT_EDENIED);
	env_free(&e);
}
END_TEST

struct types {
	char type[4][32];
	char actor[4][16];
	int n;
};

static int
types_cb(const Csirt__V1__Event *ev, const char *commit, void *arg)
{
	struct types *t = arg;

	(void)commit;
	ck_assert_int_lt(t->n, 4);
	snprintf(t->type[t->n], sizeof(t->type[0]), "%s", ev->type);
	snprintf(t->actor[t->n], sizeof(t->actor[0]), "%s", ev->actor);
	t->n++;
	return 0;
}

/* 情報流出 goes straight to ESCALATED by the daemon in the report's batch;
 * a report 20 min after recognition is late against a 10 min limit. */
START_TEST(test_deadline_auto_escalate_and_report_late)
{
	struct writer_policy p = {10 * 60, 1u << 1};
	struct writer_cmd cmd;
	struct types t;
	Csirt__V1__Case *c;
	struct env e;
	char b[16];
	uint64_t seq;

	env_init(&e);
	writer_set_policy(e.w, &p);
	seq = writer_last_seq(e.w);
	memset(&cmd, 0, sizeof(cmd));
	cmd.ev = fx_report("rep1", "d1",
	                   CSIRT__V1__CATEGORY__CATEGORY_INFORMATION_LEAK,
	                   "メール誤送信");
	ck_assert_int_eq(writer_submit(e.w, &cmd), 0);
	ck_assert_int_eq(writer_run_once(e.w), 0);
	ck_assert_int_eq(cmd.rc, 0);
	ck_assert_uint_eq(cmd.seq, seq + 1);
	ck_assert_uint_eq(writer_last_seq(e.w), seq + 2);
	ck_assert_int_eq(cmd.case_after->state,
	                 CSIRT__V1__CASE_STATE__CASE_STATE_ESCALATED);
	ck_assert(cmd.case_after->report_late);
	ck_assert_int_eq(cmd.ev->incident_reported->report_delay_limit_seconds,
	                 600);
	c = get_case(&e, cmd.ev->case_id);
	ck_assert_int_eq(c->state, CSIRT__V1__CASE_STATE__CASE_STATE_ESCALATED);
	csirt__v1__case__free_unpacked(c, NULL);
	memset(&t, 0, sizeof(t));
	ck_assert_int_eq(
	    index_events_for_case(e.dd->ix, cmd.ev->case_id, types_cb, &t), 0);
	ck_assert_int_eq(t.n, 2);
	ck_assert_str_eq(t.type[0], "case.reported");
	ck_assert_str_eq(t.type[1], "case.escalated");
	ck_assert_str_eq(t.actor[1], WRITER_SYSTEM_ACTOR);
	writer_cmd_release(&cmd);

	/* Other categories are left to the SM. */
	report(&e, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT, b);
	c = get_case(&e, b);
	ck_assert_int_eq(c->state, CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED);
	csirt__v1__case__free_unpacked(c, NULL);
	env_free(&e);
}
END_TEST

static int
count_requests_cb(const Csirt__V1__InvestigationRequest *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

/* Open requests past their due time (ListRequests{overdue: true}). */
static int
list_overdue_requests(struct env *e)
{
	struct index_request_filter f;
	int n = 0;

	memset(&f, 0, sizeof(f));
	f.overdue = true;
	f.limit = 100;
	ck_assert_int_eq(
	    index_requests_list(e->dd->ix, &f, count_requests_cb, &n), 0);
	return n;
}

/* 第13.2: a request neither fulfilled nor cancelled by its due time gets
 * one deadline.missed "request" from the daemon and makes its case
 * overdue; the scheduler re-arms for the next request from the index
 * after a restart; fulfilling or cancelling every overdue request clears
 * the case; a late timer for a closed request is refused. */
START_TEST(test_deadline_request_overdue_and_rearm_after_restart)
{
	const Csirt__V1__Role inv = CSIRT__V1__ROLE__ROLE_INVESTIGATOR,
	                      rep = CSIRT__V1__ROLE__ROLE_REPORTER;
	struct deadline_limits lim = {30 * MIN};
	struct deadline_sched_ops ops;
	struct deadline_sched *s = NULL;
	struct fake_loop loop;
	Csirt__V1__Case *c;
	Csirt__V1__Event *ev;
	struct env e;
	char a[16];
	uint64_t seq;
	int64_t t0;

	env_init(&e);
	t0 = e.fc.now;
	report(&e, CSIRT__V1__CATEGORY__CATEGORY_PERSONAL_DEVICE_MISUSE, a);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_case_event(
	                  a, CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED, "sm",
	                  CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, "CSIRTへ"),
	              NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(
	        e.w,
	        fx_case_event(a, CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED,
	                      "lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD, "調査"),
	        NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(e.w, fx_assign(a, "lead", "inv"), NULL, NULL, NULL), 0);
	/* Due times are validated against the (fake) event time. */
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_request(a, "inv", inv,
	                         CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE,
	                         t0 - MIN),
	              NULL, NULL, NULL),
	    CSIRT_EINVAL);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_request(a, "inv", inv,
	                         CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE,
	                         t0 + 400 * 1440 * MIN),
	              NULL, NULL, NULL),
	    CSIRT_EINVAL);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_request(a, "inv", inv,
	                         CSIRT__V1__REQUEST_KIND__REQUEST_KIND_SUMMONS,
	                         t0 + 60 * MIN),
	              NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_request(a, "inv", inv,
	                         CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE,
	                         t0 + 120 * MIN),
	              NULL, NULL, NULL),
	    0);

	memset(&loop, 0, sizeof(loop));
	ops.arm = fake_arm_cb;
	ops.post = fake_post_cb;
	ops.arg = &loop;
	deadline_sched_new(&s, e.dd->ix, e.w, &e.clk, &lim, &ops);
	writer_set_commit_hook(e.w, deadline_sched_kick, s);
	e.fc.now = t0 + 30 * MIN;
	deadline_sched_run(s);
	ck_assert_uint_eq(deadline_sched_pending(s), 0);
	ck_assert_int_eq(loop.armed, 30 * MIN); /* r1 at t0 + 60 */

	/* r1 falls due: one command, then armed for r2. */
	e.fc.now = t0 + 61 * MIN;
	deadline_sched_run(s);
	ck_assert_uint_eq(deadline_sched_pending(s), 1);
	deadline_sched_run(s);
	ck_assert_uint_eq(deadline_sched_pending(s), 1);
	ck_assert_int_eq(writer_run_once(e.w), 0);
	fake_drain(&loop);
	ck_assert_uint_eq(deadline_sched_pending(s), 0);
	ck_assert(is_overdue(&e, a));
	ck_assert_int_eq(list_overdue(&e), 1);
	ck_assert_int_eq(list_overdue_requests(&e), 1);
	ck_assert_int_eq(loop.armed, 59 * MIN);
	c = get_case(&e, a);
	ck_assert(c->requests[0]->overdue);
	ck_assert(!c->requests[1]->overdue);
	ck_assert_str_eq(c->requests[0]->summons->who, "山田太郎 巡査部長");
	csirt__v1__case__free_unpacked(c, NULL);
	deadline_sched_stop(s);
	deadline_sched_free(s);

	/* Restart: re-armed for r2 from the index alone. */
	env_close(&e);
	env_open(&e);
	memset(&loop, 0, sizeof(loop));
	deadline_sched_new(&s, e.dd->ix, e.w, &e.clk, &lim, &ops);
	writer_set_commit_hook(e.w, deadline_sched_kick, s);
	e.fc.now = t0 + 100 * MIN;
	deadline_sched_run(s);
	ck_assert_uint_eq(deadline_sched_pending(s), 0);
	ck_assert_int_eq(loop.armed, 20 * MIN);
	e.fc.now = t0 + 121 * MIN;
	deadline_sched_run(s);
	ck_assert_uint_eq(deadline_sched_pending(s), 1);
	ck_assert_int_eq(writer_run_once(e.w), 0);
	fake_drain(&loop);
	ck_assert_int_eq(list_overdue_requests(&e), 2);
	ck_assert_int_eq(loop.armed, -1);

	/* r1 fulfilled: r2 still keeps the case overdue; r2 cancelled:
	 * nothing is. */
	ck_assert_int_eq(
	    fx_submit(e.w,
	              fx_request_step(
	                  a, CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED,
	                  "r1", "rep1", rep, "遅れて受領"),
	              NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(
	        e.w,
	        fx_request_step(a, CSIRT__V1__EVENT__PAYLOAD_REQUEST_FULFILLED,
	                        "r1", "inv", inv, "出頭した"),
	        NULL, NULL, NULL),
	    0);
	fake_drain(&loop);
	ck_assert(is_overdue(&e, a));
	ck_assert_int_eq(list_overdue_requests(&e), 1);
	ck_assert_int_eq(
	    fx_submit(
	        e.w,
	        fx_request_step(a, CSIRT__V1__EVENT__PAYLOAD_REQUEST_CANCELLED,
	                        "r2", "inv", inv, "不要"),
	        NULL, NULL, NULL),
	    0);
	fake_drain(&loop);
	ck_assert(!is_overdue(&e, a));
	ck_assert_int_eq(list_overdue(&e), 0);
	ck_assert_int_eq(list_overdue_requests(&e), 0);

	/* A late timer for the fulfilled r1, and anyone but the daemon: no
	 * event reaches the ledger. */
	seq = writer_last_seq(e.w);
	ev = deadline_request_event(a, "r1", t0 + 60 * MIN);
	ck_assert_int_eq(fx_submit(e.w, ev, NULL, NULL, NULL), CSIRT_ESTATE);
	ev = deadline_request_event(a, "r1", t0 + 60 * MIN);
	codec_set_string(&ev->actor, "inv");
	ev->role = inv;
	ck_assert_int_eq(fx_submit(e.w, ev, NULL, NULL, NULL), CSIRT_EDENIED);
	ck_assert_uint_eq(writer_last_seq(e.w), seq);
	deadline_sched_stop(s);
	deadline_sched_free(s);
	env_free(&e);
}
END_TEST

Suite *
deadline_suite(void)
{
	Suite *s = suite_create("deadline");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_deadline_scan_due_and_next);
	tcase_add_test(
	    tc, test_deadline_sched_marks_overdue_and_rearms_after_restart);
	tcase_add_test(tc, test_deadline_late_timer_after_ack);
	tcase_add_test(tc, test_deadline_batches_of_notes_move_none);
	tcase_add_test(tc, test_deadline_auto_escalate_and_report_late);
	tcase_add_test(tc,
	               test_deadline_request_overdue_and_rearm_after_restart);
	suite_add_tcase(s, tc);
	return s;
}
