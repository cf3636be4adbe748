/*
 * deadline.c - the daemon's own deadlines (DESIGN.md §4): which are due,
 * the next one to arm a timer for, and the deadline.missed commands.
 *
 * It owns the decision "this case has missed its deadline now"; it must
 * never write the ledger or the index except through writer commands, never
 * read the clock except through its struct clock, and never include
 * libevent: the server's one timer is reached through deadline_sched_ops.
 * State is not kept between scans beyond the commands still in flight: the
 * index says what is overdue, so a restart picks up exactly where the
 * ledger is.
 *
 * Races: an SM may acknowledge a case while its deadline.missed is queued.
 * The writer validates against the current case (lifecycle.c
 * lc_validate_deadline()) and refuses the late event with
 * failed_precondition; that is logged at debug level and forgotten.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "codec.h"
#include "deadline.h"
#include "error.h"
#include "index.h"
#include "lifecycle.h"
#include "log.h"
#include "util.h"
#include "writer.h"

/* After a storage failure (not a refusal), the next attempt waits this
 * long instead of spinning against a broken writer. */
#define DEADLINE_RETRY_MS (30 * 1000)

struct scan_state {
	const struct deadline_limits *lim;
	int64_t now_ms, next_ms;
	deadline_due_cb cb;
	void *arg;
};

/* Rows come oldest report first, so the first deadline in the future is
 * the next one and ends the walk. */
#define SCAN_STOP 1

static int
scan_cb(const char *case_id, int64_t reported_ms, void *arg)
{
	struct scan_state *st = arg;
	int64_t due = reported_ms + st->lim->ack_ms;
	int rc;

	if (due > st->now_ms) {
		st->next_ms = due;
		return SCAN_STOP;
	}
	if ((rc = st->cb(case_id, CASE_DEADLINE_ACK, due, st->arg)) != 0)
		return rc;
	return 0;
}

int
deadline_scan(int64_t *next_ms, struct index *ix,
              const struct deadline_limits *lim, int64_t now_ms,
              deadline_due_cb cb, void *arg)
{
	struct scan_state st = {lim, now_ms, DEADLINE_NONE, cb, arg};
	int rc;

	*next_ms = DEADLINE_NONE;
	if (lim->ack_ms <= 0)
		return 0;
	rc = index_cases_awaiting_ack(ix, scan_cb, &st);
	if (rc != 0 && rc != SCAN_STOP)
		return rc;
	*next_ms = st.next_ms;
	return 0;
}

struct rq_scan_state {
	int64_t now_ms, next_ms;
	deadline_request_cb cb;
	void *arg;
};

/* Rows come earliest due first: the first in the future ends the walk. */
static int
rq_scan_cb(const char *case_id, const char *request_id, int64_t due_ms,
           void *arg)
{
	struct rq_scan_state *st = arg;

	if (due_ms > st->now_ms) {
		st->next_ms = due_ms;
		return SCAN_STOP;
	}
	return st->cb(case_id, request_id, due_ms, st->arg);
}

int
deadline_scan_requests(int64_t *next_ms, struct index *ix, int64_t now_ms,
                       deadline_request_cb cb, void *arg)
{
	struct rq_scan_state st = {now_ms, DEADLINE_NONE, cb, arg};
	int rc;

	*next_ms = DEADLINE_NONE;
	rc = index_requests_due(ix, rq_scan_cb, &st);
	if (rc != 0 && rc != SCAN_STOP)
		return rc;
	*next_ms = st.next_ms;
	return 0;
}

Csirt__V1__Event *
deadline_request_event(const char *case_id, const char *request_id,
                       int64_t due_ms)
{
	Csirt__V1__Event *ev =
	    deadline_event(case_id, CASE_DEADLINE_REQUEST, due_ms, 0);
	char reason[160];

	snprintf(reason, sizeof(reason),
	         "request %s (第13.2) neither fulfilled nor cancelled by its "
	         "due time",
	         request_id);
	codec_set_string(&ev->deadline_missed->reason, reason);
	codec_set_string(&ev->deadline_missed->request_id, request_id);
	return ev;
}

Csirt__V1__Event *
deadline_event(const char *case_id, const char *deadline, int64_t due_ms,
               int64_t limit_ms)
{
	Csirt__V1__Event *ev = util_xmalloc(sizeof(*ev));
	Csirt__V1__DeadlineMissed *d = util_xmalloc(sizeof(*d));
	char due[UTIL_TIME_LEN], reason[160];

	csirt__v1__event__init(ev);
	csirt__v1__deadline_missed__init(d);
	util_time_format_ms(due, sizeof(due), due_ms);
	if (limit_ms % 60000 == 0)
		snprintf(reason, sizeof(reason),
		         "not acknowledged within %" PRId64
		         " min of the report "
		         "(ack_limit_min)",
		         limit_ms / 60000);
	else
		snprintf(reason, sizeof(reason),
		         "not acknowledged within %" PRId64 " s of the report "
		         "(ack_limit_s)",
		         limit_ms / 1000);
	codec_set_string(&ev->case_id, case_id);
	codec_set_string(&ev->actor, WRITER_SYSTEM_ACTOR);
	ev->role = CSIRT__V1__ROLE__ROLE_SYSTEM;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_DEADLINE_MISSED;
	ev->deadline_missed = d;
	codec_set_string(&d->deadline, deadline);
	codec_set_string(&d->due, due);
	codec_set_string(&d->reason, reason);
	return ev;
}

/* ---- the scheduler -------------------------------------------------- */

struct deadline_sched {
	struct index *ix;
	struct writer *w;
	const struct clock *clk;
	struct deadline_limits lim;
	struct deadline_sched_ops ops;
	unsigned pending; /* commands with the writer */
	int64_t retry_ms; /* no submissions before this (after a failure) */
	bool stopped;
};

struct sched_cmd {
	struct writer_cmd cmd;
	struct deadline_sched *s;
};

void
deadline_sched_new(struct deadline_sched **out, struct index *ix,
                   struct writer *w, const struct clock *clk,
                   const struct deadline_limits *lim,
                   const struct deadline_sched_ops *ops)
{
	struct deadline_sched *s = util_xcalloc(1, sizeof(*s));

	s->ix = ix;
	s->w = w;
	s->clk = clk;
	s->lim = *lim;
	s->ops = *ops;
	*out = s;
}

/* Loop thread: a command came back from the writer. */
static void
sched_complete(void *arg)
{
	struct sched_cmd *sc = arg;
	struct deadline_sched *s = sc->s;
	const char *id = sc->cmd.ev != NULL ? sc->cmd.ev->case_id : "";
	const char *kind = sc->cmd.ev != NULL && sc->cmd.ev->deadline_missed
	                       ? sc->cmd.ev->deadline_missed->deadline
	                       : "";

	s->pending--;
	if (sc->cmd.rc == 0)
		log_warn("deadline missed", "case", id, "deadline", kind);
	else if (sc->cmd.rc == CSIRT_ESTATE || sc->cmd.rc == CSIRT_ECONFLICT)
		log_debug("deadline no longer applies", "case", id, "error",
		          sc->cmd.err);
	else {
		log_error("cannot record a missed deadline", "case", id,
		          "error", sc->cmd.err);
		s->retry_ms = clock_now_ms(s->clk) + DEADLINE_RETRY_MS;
	}
	writer_cmd_release(&sc->cmd);
	free(sc);
	if (s->pending == 0)
		deadline_sched_run(s);
}

/* Writer thread: hand the result to the loop. */
static void
sched_done_cb(struct writer_cmd *cmd, void *arg)
{
	struct sched_cmd *sc = arg;

	(void)cmd;
	sc->s->ops.post(sc->s->ops.arg, sched_complete, sc);
}

/* Submits `ev` (ownership passes) as a command of the scheduler. */
static int
sched_submit(struct deadline_sched *s, const char *case_id,
             Csirt__V1__Event *ev)
{
	struct sched_cmd *sc = util_xcalloc(1, sizeof(*sc));

	sc->s = s;
	sc->cmd.ev = ev;
	sc->cmd.done = sched_done_cb;
	sc->cmd.arg = sc;
	if (writer_submit(s->w, &sc->cmd) != 0) {
		log_error("cannot submit a missed deadline", "case", case_id,
		          "error", csirt_error_msg());
		writer_cmd_release(&sc->cmd);
		free(sc);
		s->retry_ms = clock_now_ms(s->clk) + DEADLINE_RETRY_MS;
		return CSIRT_EBUSY;
	}
	s->pending++;
	return 0;
}

static int
sched_due_cb(const char *case_id, const char *deadline, int64_t due_ms,
             void *arg)
{
	struct deadline_sched *s = arg;

	return sched_submit(
	    s, case_id,
	    deadline_event(case_id, deadline, due_ms, s->lim.ack_ms));
}

static int
sched_request_due_cb(const char *case_id, const char *request_id,
                     int64_t due_ms, void *arg)
{
	return sched_submit(
	    arg, case_id, deadline_request_event(case_id, request_id, due_ms));
}

void
deadline_sched_run(struct deadline_sched *s)
{
	int64_t now, next = DEADLINE_NONE, next_rq = DEADLINE_NONE;
	int rc;

	if (s->stopped || s->pending > 0)
		return;
	now = clock_now_ms(s->clk);
	if (now < s->retry_ms) {
		s->ops.arm(s->ops.arg, s->retry_ms - now);
		return;
	}
	rc = deadline_scan(&next, s->ix, &s->lim, now, sched_due_cb, s);
	if (rc == 0)
		rc = deadline_scan_requests(&next_rq, s->ix, now,
		                            sched_request_due_cb, s);
	if (next_rq < next)
		next = next_rq;
	if (rc == CSIRT_EBUSY) {
		s->ops.arm(s->ops.arg, s->retry_ms - now);
		return;
	}
	if (rc != 0) {
		log_error("deadline scan failed", "error", csirt_error_msg());
		s->retry_ms = now + DEADLINE_RETRY_MS;
		s->ops.arm(s->ops.arg, DEADLINE_RETRY_MS);
		return;
	}
	/* With commands in flight their completion scans again; arm anyway
	 * for the next future deadline. */
	s->ops.arm(s->ops.arg, next == DEADLINE_NONE ? -1 : next - now);
}

static void
sched_run_cb(void *arg)
{
	deadline_sched_run(arg);
}

void
deadline_sched_kick(void *sched)
{
	struct deadline_sched *s = sched;

	s->ops.post(s->ops.arg, sched_run_cb, s);
}

void
deadline_sched_stop(struct deadline_sched *s)
{
	if (s == NULL)
		return;
	s->stopped = true;
	s->ops.arm(s->ops.arg, -1);
}

unsigned
deadline_sched_pending(const struct deadline_sched *s)
{
	return s->pending;
}

void
deadline_sched_free(struct deadline_sched *s)
{
	free(s);
}
