/*
 * rpc_watch.c - WatchEvents, the long-poll of the ledger (issue 7).
 *
 * Owns the parked watchers: calls that found nothing to return wait on the
 * loop thread (no thread each) in one list, each with its own timer, and
 * are answered when a batch commits and they now see something, when
 * their max_wait passes (empty), or when the server stops (empty).  The
 * writer's commit hook only posts a re-query to the loop; every index read
 * happens on the loop thread's read-only connection.  It must never hand a
 * reporter another division's case or a directory event, and never skip or
 * repeat an event: each answer carries last_seq, the highest seq examined,
 * and everything at or below it was either returned or not visible.
 */
#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "index.h"
#include "rpc.h"
#include "util.h"

#define WATCH_WAIT_DEFAULT_MS 25000
#define WATCH_WAIT_MAX_MS 60000
#define WATCH_EVENTS_DEFAULT 100
#define WATCH_EVENTS_MAX 500
/* Events examined per call: a reporter far behind on other divisions'
 * events gets an empty answer with last_seq advanced rather than a long
 * stall of the loop. */
#define WATCH_SCAN_MAX 4096
#define WATCH_SCAN_CHUNK 512
/* Parked calls at once; more are answered resource_exhausted. */
#define WATCH_PARKED_MAX 1024

struct watcher {
	struct rpc_watch *wl;
	struct rpc_ctx *ctx;
	struct server_timer *timer;
	uint64_t cursor; /* highest seq examined */
	size_t max_events;
	struct watcher *prev, *next;
};

struct rpc_watch {
	struct rpc *rpc;
	struct watcher *head; /* loop thread only */
	size_t parked;
	bool stopping;
	atomic_bool kick_posted; /* a re-query is on its way to the loop */
};

struct collect {
	const Csirt__V1__User *user;
	Csirt__V1__WatchEventsResponse *resp;
	size_t max_events, cap, seen;
	uint64_t cursor;
};

/* Reporters: case events of their own division only; the other roles
 * allowed by the method table (not the administrator): everything. */
static bool
watch_visible(const Csirt__V1__User *u, const Csirt__V1__Event *ev,
              const char *division)
{
	if (u->role != CSIRT__V1__ROLE__ROLE_REPORTER)
		return true;
	return ev->case_id != NULL && ev->case_id[0] != '\0' &&
	       strcmp(division, u->division) == 0;
}

static int
watch_collect_cb(const Csirt__V1__Event *ev, const char *commit,
                 const char *division, void *arg)
{
	struct collect *c = arg;
	Csirt__V1__WatchEventsResponse *r = c->resp;
	Csirt__V1__HistoryEntry *e;

	c->seen++;
	c->cursor = ev->seq;
	if (!watch_visible(c->user, ev, division))
		return 0;
	e = (void *)codec_new(&csirt__v1__history_entry__descriptor);
	e->event = (Csirt__V1__Event *)codec_clone(&ev->base);
	codec_set_string(&e->commit, commit);
	if (r->n_entries == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		r->entries =
		    util_xrealloc(r->entries, c->cap * sizeof(*r->entries));
	}
	r->entries[r->n_entries++] = e;
	return r->n_entries == c->max_events ? 1 : 0;
}

/*
 * The events after *cursor that `ctx`'s caller may see, at most
 * max_events; advances *cursor to the highest seq examined.  *more is set
 * when the scan stopped at its limit rather than at the end of the ledger
 * (the caller answers then, even if empty).  Caller frees *out with
 * codec_free().
 */
static int
watch_collect(Csirt__V1__WatchEventsResponse **out, bool *more,
              struct rpc_ctx *ctx, uint64_t *cursor, size_t max_events)
{
	struct collect c = {ctx->user, NULL, max_events, 0, 0, *cursor};
	int rc = 0;

	*out = NULL;
	*more = false;
	c.resp =
	    (void *)codec_new(&csirt__v1__watch_events_response__descriptor);
	for (;;) {
		size_t before = c.seen;

		rc = index_events_after(rpc_env(ctx)->ix, c.cursor,
		                        WATCH_SCAN_CHUNK, watch_collect_cb, &c);
		if (rc == 1) { /* max_events reached */
			*more = true;
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
		if (c.seen - before < WATCH_SCAN_CHUNK)
			break; /* the end of the ledger */
		if (c.seen >= WATCH_SCAN_MAX) {
			*more = true;
			break;
		}
	}
	if (rc != 0) {
		codec_free(&c.resp->base);
		return rc;
	}
	c.resp->last_seq = c.cursor;
	*cursor = c.cursor;
	*out = c.resp;
	return 0;
}

static void
watcher_unlink(struct watcher *w)
{
	struct rpc_watch *wl = w->wl;

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		wl->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	assert(wl->parked > 0);
	wl->parked--;
}

/* Answers a parked watcher with `resp` (or an error) and frees it. */
static void
watcher_answer(struct watcher *w, int rc, Csirt__V1__WatchEventsResponse *resp)
{
	struct rpc_ctx *ctx = w->ctx;

	watcher_unlink(w);
	server_timer_free(w->timer);
	free(w);
	rpc_reply(ctx, rc, rc == 0 ? &resp->base : NULL);
}

/* Empty, with the cursor: max_wait passed or the server stops. */
static void
watcher_answer_empty(struct watcher *w)
{
	Csirt__V1__WatchEventsResponse *resp =
	    (void *)codec_new(&csirt__v1__watch_events_response__descriptor);

	resp->last_seq = w->cursor;
	watcher_answer(w, 0, resp);
}

static void
watcher_timeout_cb(void *arg)
{
	watcher_answer_empty(arg);
}

/* Loop thread, after a durable batch: each watcher looks again from its
 * cursor and is answered if it now sees something. */
static void
watch_requery_cb(void *arg)
{
	struct rpc_watch *wl = arg;
	struct watcher *w, *next;

	atomic_store(&wl->kick_posted, false);
	for (w = wl->head; w != NULL; w = next) {
		Csirt__V1__WatchEventsResponse *resp = NULL;
		bool more;
		int rc;

		next = w->next;
		rc = watch_collect(&resp, &more, w->ctx, &w->cursor,
		                   w->max_events);
		if (rc != 0)
			watcher_answer(w, rc, NULL);
		else if (resp->n_entries > 0 || more)
			watcher_answer(w, 0, resp);
		else
			codec_free(&resp->base);
	}
}

void
rpc_watch_kick(struct rpc_watch *wl, struct server *srv)
{
	/* One re-query in flight is enough: it reads everything committed
	 * before it runs, and a later batch posts again. */
	if (!atomic_exchange(&wl->kick_posted, true))
		server_post(srv, watch_requery_cb, wl);
}

void
rpc_watch_stop(struct rpc_watch *wl)
{
	wl->stopping = true;
	while (wl->head != NULL)
		watcher_answer_empty(wl->head);
}

struct rpc_watch *
rpc_watch_new(struct rpc *r)
{
	struct rpc_watch *wl = util_xcalloc(1, sizeof(*wl));

	wl->rpc = r;
	atomic_init(&wl->kick_posted, false);
	return wl;
}

void
rpc_watch_free(struct rpc_watch *wl)
{
	if (wl == NULL)
		return;
	/* rpc_watch_stop() ran (the server's stop hook) before the server
	 * went away: nothing may still be parked. */
	assert(wl->head == NULL);
	free(wl);
}

RPC_HANDLER(rpc_watch_events)
{
	const Csirt__V1__WatchEventsRequest *r = (const void *)in;
	struct rpc_watch *wl = rpc_watch_of(ctx);
	Csirt__V1__WatchEventsResponse *resp = NULL;
	uint64_t cursor = r->after_seq;
	size_t max_events = r->max_events;
	int64_t wait_ms = r->max_wait_ms;
	struct watcher *w;
	bool more;
	int rc;

	if (wait_ms == 0)
		wait_ms = WATCH_WAIT_DEFAULT_MS;
	if (wait_ms > WATCH_WAIT_MAX_MS)
		wait_ms = WATCH_WAIT_MAX_MS;
	if (max_events == 0)
		max_events = WATCH_EVENTS_DEFAULT;
	if (max_events > WATCH_EVENTS_MAX)
		max_events = WATCH_EVENTS_MAX;
	if ((rc = watch_collect(&resp, &more, ctx, &cursor, max_events)) != 0)
		return rc;
	if (resp->n_entries > 0 || more || wl->stopping) {
		*out = &resp->base;
		return 0;
	}
	codec_free(&resp->base);
	if (wl->parked >= WATCH_PARKED_MAX)
		return csirt_error_set(CSIRT_EBUSY,
		                       "too many watchers; retry later");
	w = util_xcalloc(1, sizeof(*w));
	w->wl = wl;
	w->ctx = ctx;
	w->cursor = cursor;
	w->max_events = max_events;
	w->next = wl->head;
	if (wl->head != NULL)
		wl->head->prev = w;
	wl->head = w;
	wl->parked++;
	w->timer =
	    server_timer_new(rpc_env(ctx)->srv, wait_ms, watcher_timeout_cb, w);
	return RPC_PENDING;
}
