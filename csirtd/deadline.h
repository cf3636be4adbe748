/*
 * deadline.h - the deadlines of DESIGN.md §4 that the daemon enforces
 * itself: which are due, when the next one falls due, and the
 * deadline.missed commands it submits to the writer.
 *
 * Plain C over the index and the writer: no libevent (server.c owns the one
 * timer and calls back), no clock of its own (a struct clock), so tests
 * drive it with a fake time.  Two deadlines: a case left REPORTED
 * (unacknowledged) ack_limit after reported_at gets a deadline.missed
 * "acknowledge" event by WRITER_SYSTEM_ACTOR / ROLE_SYSTEM, which marks it
 * overdue; a 第13.2 request still open at its due time gets a
 * deadline.missed "request" event, which marks it and its case overdue.
 * Everything is recomputed from the index on each scan, so a restart re-arms
 * from what is stored, and nothing is remembered that the ledger does not hold.
 */
#ifndef CSIRT_DEADLINE_H
#define CSIRT_DEADLINE_H

#include <stdint.h>

#include "csirt/v1/domain.pb-c.h"

struct clock;
struct index;
struct writer;

/* "No deadline pending" for deadline_scan()'s *next_ms. */
#define DEADLINE_NONE INT64_MAX

struct deadline_limits {
	int64_t ack_ms; /* REPORTED -> ACKNOWLEDGED; 0: not enforced */
};

/* A due deadline: `case_id` is borrowed for the call; non-zero stops the
 * scan and is returned. */
typedef int (*deadline_due_cb)(const char *case_id, const char *deadline,
                               int64_t due_ms, void *arg);

/*
 * Walks the cases awaiting acknowledgement in `ix`: calls `cb` for each
 * whose deadline is at or before `now_ms`, and sets *next_ms to the
 * earliest deadline after `now_ms` (DEADLINE_NONE when there is none).
 */
int deadline_scan(int64_t *next_ms, struct index *ix,
                  const struct deadline_limits *lim, int64_t now_ms,
                  deadline_due_cb cb, void *arg);

/* 第13.2: a due request: ids borrowed for the call; non-zero stops. */
typedef int (*deadline_request_cb)(const char *case_id, const char *request_id,
                                   int64_t due_ms, void *arg);

/*
 * Walks the open, not yet overdue requests of INVESTIGATING cases: calls
 * `cb` for each due at or before `now_ms`, and sets *next_ms to the
 * earliest due time after `now_ms` (DEADLINE_NONE when there is none).
 */
int deadline_scan_requests(int64_t *next_ms, struct index *ix, int64_t now_ms,
                           deadline_request_cb cb, void *arg);

/* The deadline.missed "request" event for a request of `case_id` (actor
 * WRITER_SYSTEM_ACTOR, ROLE_SYSTEM).  Caller frees with codec_free(). */
Csirt__V1__Event *deadline_request_event(const char *case_id,
                                         const char *request_id,
                                         int64_t due_ms);

/* The deadline.missed command's event for `case_id` (actor
 * WRITER_SYSTEM_ACTOR, ROLE_SYSTEM); `limit_ms` goes into the reason.
 * Caller frees with codec_free() (or hands it to a writer_cmd). */
Csirt__V1__Event *deadline_event(const char *case_id, const char *deadline,
                                 int64_t due_ms, int64_t limit_ms);

/*
 * The scheduler the daemon runs on its loop thread.  It never sleeps or
 * owns a timer: it asks `arm` for one callback after delay_ms (negative:
 * cancel), and the owner calls deadline_sched_run() when it fires.
 */
struct deadline_sched_ops {
	/* Loop thread: (re)arm the one timer; delay_ms < 0 cancels it. */
	void (*arm)(void *arg, int64_t delay_ms);
	/* Any thread: run fn(fn_arg) on the loop thread soon (server_post). */
	void (*post)(void *arg, void (*fn)(void *fn_arg), void *fn_arg);
	void *arg;
};

struct deadline_sched;

/* `ix` (a connection of the loop thread), `w`, `clk` and `ops` are
 * borrowed and must outlive the scheduler; `lim` is copied.  Registers
 * nothing: the owner calls deadline_sched_kick() from the writer's commit
 * hook.  Caller frees with deadline_sched_free(). */
void deadline_sched_new(struct deadline_sched **out, struct index *ix,
                        struct writer *w, const struct clock *clk,
                        const struct deadline_limits *lim,
                        const struct deadline_sched_ops *ops);
/* Loop thread: scans, submits a deadline.missed for each due case (none
 * while earlier ones are still with the writer: their completion scans
 * again), and re-arms to the next deadline.  Call at start-up and when
 * the timer fires. */
void deadline_sched_run(struct deadline_sched *s);
/* Any thread (a writer commit hook, `void *` for that): posts a run. */
void deadline_sched_kick(void *sched);
/* Loop thread: no more runs or submissions (before the writer stops). */
void deadline_sched_stop(struct deadline_sched *s);
/* Commands in flight with the writer (tests, metrics). */
unsigned deadline_sched_pending(const struct deadline_sched *s);
/* After the writer stopped and the posts ran.  NULL is a no-op. */
void deadline_sched_free(struct deadline_sched *s);

#endif
