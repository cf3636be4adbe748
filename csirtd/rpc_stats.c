/*
 * rpc_stats.c - CaseService/GetStatistics: counts and durations over the
 * cases reported in a period, for 第14 教養 and management.
 *
 * The handler parses the request, narrows it to what the caller may see
 * and turns index_stats_get() into the wire message; the numbers
 * themselves (grouping, nearest-rank percentiles, the report-delay
 * buckets) are computed in the index, in one read snapshot.  It must
 * never widen a 所属長's view past their own division.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "index.h"
#include "rpc.h"
#include "util.h"

#define msg_new(d) ((void *)codec_new(d))

static Csirt__V1__KeyCount **
stats_keys(const struct index_stats_count *g, size_t n)
{
	Csirt__V1__KeyCount **v = util_xcalloc(n + 1, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		v[i] = msg_new(&csirt__v1__key_count__descriptor);
		codec_set_string(&v[i]->key, g[i].key);
		v[i]->count = g[i].count;
	}
	return v;
}

static Csirt__V1__DurationStats *
stats_duration(const struct index_stats_duration *d)
{
	Csirt__V1__DurationStats *m =
	    msg_new(&csirt__v1__duration_stats__descriptor);

	m->counted = d->counted;
	m->excluded = d->excluded;
	m->median_seconds = d->median_s;
	m->p90_seconds = d->p90_s;
	return m;
}

/* The wire form of `s` (borrowed). */
static Csirt__V1__GetStatisticsResponse *
stats_response(const struct index_stats *s)
{
	Csirt__V1__GetStatisticsResponse *r =
	    msg_new(&csirt__v1__get_statistics_response__descriptor);

	r->total = s->total;
	r->by_category =
	    util_xcalloc(s->n_by_category + 1, sizeof(*r->by_category));
	r->n_by_category = s->n_by_category;
	for (size_t i = 0; i < s->n_by_category; i++) {
		r->by_category[i] =
		    msg_new(&csirt__v1__category_count__descriptor);
		r->by_category[i]->category =
		    (Csirt__V1__Category)s->by_category[i].value;
		r->by_category[i]->count = s->by_category[i].count;
	}
	r->by_state = util_xcalloc(s->n_by_state + 1, sizeof(*r->by_state));
	r->n_by_state = s->n_by_state;
	for (size_t i = 0; i < s->n_by_state; i++) {
		r->by_state[i] = msg_new(&csirt__v1__state_count__descriptor);
		r->by_state[i]->state =
		    (Csirt__V1__CaseState)s->by_state[i].value;
		r->by_state[i]->count = s->by_state[i].count;
	}
	r->by_division = stats_keys(s->by_division, s->n_by_division);
	r->n_by_division = s->n_by_division;
	r->by_month = stats_keys(s->by_month, s->n_by_month);
	r->n_by_month = s->n_by_month;
	r->to_acknowledge = stats_duration(&s->to_ack);
	r->to_escalate = stats_duration(&s->to_escalate);
	r->to_close = stats_duration(&s->to_close);
	r->report_delay_stats = stats_duration(&s->delay);
	r->report_delay =
	    util_xcalloc(INDEX_STATS_DELAY_N, sizeof(*r->report_delay));
	r->n_report_delay = INDEX_STATS_DELAY_N;
	for (size_t i = 0; i < INDEX_STATS_DELAY_N; i++) {
		r->report_delay[i] =
		    msg_new(&csirt__v1__delay_bucket__descriptor);
		r->report_delay[i]->le_seconds =
		    i < INDEX_STATS_DELAY_N - 1 ? index_stats_delay_le[i] : 0;
		r->report_delay[i]->count = s->delay_buckets[i];
	}
	return r;
}

RPC_HANDLER(rpc_get_statistics)
{
	const Csirt__V1__GetStatisticsRequest *r = (const void *)in;
	const char *division = r->division;
	struct index_stats *s = NULL;
	int64_t after = 0, before = 0;
	int rc = 0;

	if (r->reported_after[0] != '\0')
		rc = util_time_parse(&after, r->reported_after);
	if (rc == 0 && r->reported_before[0] != '\0')
		rc = util_time_parse(&before, r->reported_before);
	if (rc != 0)
		return rc;
	/* A 所属長 sees their own division's statistics only (as with
	 * ListCases): scoped, not refused, when they name none. */
	if (ctx->user->role == CSIRT__V1__ROLE__ROLE_REPORTER) {
		if (division[0] != '\0' &&
		    strcmp(division, ctx->user->division) != 0)
			return csirt_error_set(
			    CSIRT_EDENIED,
			    "a 所属長 sees their own division's statistics "
			    "only");
		division = ctx->user->division;
	}
	if ((rc = index_stats_get(&s, rpc_env(ctx)->ix, division, after,
	                          before)) != 0)
		return rc;
	*out = &stats_response(s)->base;
	index_stats_free(s);
	return 0;
}
