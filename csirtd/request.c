/*
 * request.c - 第13.2 investigation requests and physical items: the two
 * state tables, the validation of their events and their part of the case
 * fold.  Like lifecycle.c it must never do I/O or read the clock: the fold
 * is replayed by `csirtd rebuild` and csirt-audit and must give the same
 * bytes every time.
 *
 * A request (Case.requests[], created only while the case is
 * INVESTIGATING, which lifecycle.c's table enforces for every action):
 *
 *   (none) ──create(lead, assigned investigator)──▶ OPEN
 *   OPEN ──acknowledge(所属長)──▶ ACKNOWLEDGED ──respond(所属長)──▶ RESPONDED
 *   RESPONDED ──respond(所属長)──▶ RESPONDED         (a further response)
 *   ACKNOWLEDGED, RESPONDED ──fulfil(CSIRT)──▶ FULFILLED
 *   OPEN, ACKNOWLEDGED, RESPONDED ──cancel(CSIRT, reason)──▶ CANCELLED
 *
 *   FULFILLED and CANCELLED are terminal.  A request past its due time in
 *   OPEN, ACKNOWLEDGED or RESPONDED gets one deadline.missed "request"
 *   event from the daemon (deadline.c) and is overdue; the case is overdue
 *   while it is INVESTIGATING and has such a request.  "CSIRT" is the lead
 *   or an investigator assigned to the case (lc_check_actor()); "所属長" is
 *   a reporter of the case's division (rpc_case_visible() at the edge: a
 *   request of another division's case does not exist for them; the
 *   writer checks the actor's division again, request_division_check()).
 *
 * Fulfil from ACKNOWLEDGED covers a summons: the staff member appeared and
 * there is nothing to write back.  A response of a device request may
 * register the submitted devices, which become items.
 *
 * An item (Case.items[]): registered (CSIRT, or a 所属長's response) HELD
 * ──transfer──▶ HELD ──return to the owner──▶ RETURNED, or ──dispose──▶
 * DISPOSED; both terminal.  Every step appends a CustodyEntry, so the item
 * carries its whole chain of custody; a transfer's `from` must be the
 * current holder.
 *
 * Who performs each step: request_prepare() (writer, ids),
 * request_validate() (writer, via case_validate()), request_apply() (the
 * fold, via case_apply()).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "log.h"
#include "request.h"
#include "util.h"

#define RS(x) CSIRT__V1__REQUEST_STATE__REQUEST_STATE_##x
#define R(x) (1u << CSIRT__V1__ROLE__ROLE_##x)
#define RA(x) REQUEST_ACTION_##x
#define CSIRT_ROLES (R(CSIRT_LEAD) | R(INVESTIGATOR))

#define TEXT CASE_TEXT_MAX
#define LINE CASE_LINE_MAX
#define REQ_TXT CASE_TXT_REQUIRED
#define ONE_LINE CASE_TXT_LINE

static const struct rq_row {
	int from;
	enum request_action action;
	int to;
	unsigned roles;
} rq_table[] = {
    {RS(OPEN), RA(ACKNOWLEDGE), RS(ACKNOWLEDGED), R(REPORTER)},
    {RS(ACKNOWLEDGED), RA(RESPOND), RS(RESPONDED), R(REPORTER)},
    {RS(RESPONDED), RA(RESPOND), RS(RESPONDED), R(REPORTER)},
    {RS(ACKNOWLEDGED), RA(FULFIL), RS(FULFILLED), CSIRT_ROLES},
    {RS(RESPONDED), RA(FULFIL), RS(FULFILLED), CSIRT_ROLES},
    {RS(OPEN), RA(CANCEL), RS(CANCELLED), CSIRT_ROLES},
    {RS(ACKNOWLEDGED), RA(CANCEL), RS(CANCELLED), CSIRT_ROLES},
    {RS(RESPONDED), RA(CANCEL), RS(CANCELLED), CSIRT_ROLES},
};

static const char *const rq_state_names[] = {
    "NONE", "OPEN", "ACKNOWLEDGED", "RESPONDED", "FULFILLED", "CANCELLED",
};

static const char *const rq_action_names[REQUEST_ACTION__COUNT] = {
    [RA(ACKNOWLEDGE)] = "acknowledge",
    [RA(RESPOND)] = "respond to",
    [RA(FULFIL)] = "fulfil",
    [RA(CANCEL)] = "cancel",
};

const char *
request_state_name(int state)
{
	if (state < 0 || state > RS(CANCELLED))
		return "UNKNOWN";
	return rq_state_names[state];
}

const char *
request_action_name(enum request_action a)
{
	if ((unsigned)a >= REQUEST_ACTION__COUNT)
		return "unknown";
	return rq_action_names[a];
}

int
request_check(int *to, int from, enum request_action action, int role)
{
	unsigned bit = role > 0 && role < 32 ? 1u << role : 0;
	bool ever = false;

	if ((unsigned)action >= REQUEST_ACTION__COUNT)
		return csirt_error_set(CSIRT_EINVAL, "unknown request action");
	for (size_t i = 0; i < UTIL_ARRAY_LEN(rq_table); i++)
		if (rq_table[i].action == action && (rq_table[i].roles & bit))
			ever = true;
	if (!ever)
		return csirt_error_set(
		    CSIRT_EDENIED, "role %s may not %s a request",
		    codec_enum_name(&csirt__v1__role__descriptor, role),
		    request_action_name(action));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(rq_table); i++) {
		if (rq_table[i].from != from || rq_table[i].action != action)
			continue;
		if (to != NULL)
			*to = rq_table[i].to;
		return 0;
	}
	return csirt_error_set(CSIRT_ESTATE, "cannot %s a request in state %s",
	                       request_action_name(action),
	                       request_state_name(from));
}

Csirt__V1__InvestigationRequest *
request_find(const Csirt__V1__Case *c, const char *id)
{
	for (size_t i = 0; i < c->n_requests; i++)
		if (strcmp(c->requests[i]->id, id) == 0)
			return c->requests[i];
	return NULL;
}

Csirt__V1__PhysicalItem *
request_item_find(const Csirt__V1__Case *c, const char *id)
{
	for (size_t i = 0; i < c->n_items; i++)
		if (strcmp(c->items[i]->id, id) == 0)
			return c->items[i];
	return NULL;
}

Csirt__V1__PhysicalItem *
request_item_copy(const Csirt__V1__PhysicalItem *src)
{
	Csirt__V1__PhysicalItem *it =
	    (void *)codec_new(&csirt__v1__physical_item__descriptor);

	it->kind = src->kind;
	codec_set_string(&it->serial, src->serial);
	it->owner = src->owner;
	codec_set_string(&it->owner_name, src->owner_name);
	codec_set_string(&it->seal_number, src->seal_number);
	codec_set_string(&it->description, src->description);
	return it;
}

/* ---- the writer's ids ------------------------------------------------ */

void
request_prepare(const Csirt__V1__Case *cur, Csirt__V1__Event *ev)
{
	char id[24];
	size_t next;

	if (cur == NULL)
		return;
	switch (ev->payload_case) {
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_CREATED:
		if (ev->request_created == NULL ||
		    ev->request_created->request == NULL)
			return;
		snprintf(id, sizeof(id), "r%zu", cur->n_requests + 1);
		codec_set_string(&ev->request_created->request->id, id);
		codec_set_string(&ev->request_created->request->case_id,
		                 cur->id);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_REGISTERED:
		if (ev->item_registered == NULL ||
		    ev->item_registered->item == NULL)
			return;
		snprintf(id, sizeof(id), "i%zu", cur->n_items + 1);
		codec_set_string(&ev->item_registered->item->id, id);
		codec_set_string(&ev->item_registered->item->case_id, cur->id);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED:
		if (ev->request_responded == NULL)
			return;
		next = cur->n_items + 1;
		for (size_t i = 0; i < ev->request_responded->n_items; i++) {
			Csirt__V1__PhysicalItem *it =
			    ev->request_responded->items[i];
			if (it == NULL)
				continue;
			snprintf(id, sizeof(id), "i%zu", next++);
			codec_set_string(&it->id, id);
			codec_set_string(&it->case_id, cur->id);
			codec_set_string(&it->request_id,
			                 ev->request_responded->request_id);
		}
		break;
	default:
		break;
	}
}

/* ---- validation ------------------------------------------------------ */

static int
rq_time(int64_t *ms, const char *field, const char *s, bool required)
{
	if (s[0] == '\0')
		return required ? csirt_error_set(CSIRT_EINVAL, "%s: required",
		                                  field)
		                : 0;
	if (util_time_parse(ms, s) < 0)
		return csirt_error_wrap(CSIRT_EINVAL, "%s", field);
	return 0;
}

/* A "when it happened" time: optional, never after the event. */
static int
rq_past_time(const char *field, const char *s, int64_t ev_ms)
{
	int64_t ms = 0;
	int rc;

	if ((rc = rq_time(&ms, field, s, false)) < 0 || s[0] == '\0')
		return rc;
	if (ms > ev_ms)
		return csirt_error_set(CSIRT_EINVAL, "%s: %s is in the future",
		                       field, s);
	return 0;
}

/* An id of the form <prefix><k>, k from 1, as the writer assigns them. */
static int
rq_expect_id(const char *field, const char *id, char prefix, size_t k)
{
	char want[24];

	snprintf(want, sizeof(want), "%c%zu", prefix, k);
	if (strcmp(id, want) != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: \"%.*s\", expected "
		                       "\"%s\"",
		                       field, CASE_NAME_MAX, id, want);
	return 0;
}

static int
rq_validate_item(const Csirt__V1__PhysicalItem *it, const char *f,
                 const Csirt__V1__Case *cur, size_t k)
{
	char field[96];
	int rc;

#define FIELD(name) (snprintf(field, sizeof(field), "%s.%s", f, name), field)
	if (it == NULL)
		return csirt_error_set(CSIRT_EINVAL, "%s: missing", f);
	if ((rc = rq_expect_id(FIELD("id"), it->id, 'i', k)) < 0)
		return rc;
	if (strcmp(it->case_id, cur->id) != 0)
		return csirt_error_set(CSIRT_EINVAL, "%s: not case %s",
		                       FIELD("case_id"), cur->id);
	if ((rc = lifecycle_enum_check(FIELD("kind"),
	                               &csirt__v1__equipment_kind__descriptor,
	                               (int)it->kind)) < 0 ||
	    (rc = lifecycle_enum_check(FIELD("owner"),
	                               &csirt__v1__ownership__descriptor,
	                               (int)it->owner)) < 0 ||
	    (rc = lifecycle_text_check(FIELD("serial"), it->serial, LINE,
	                               REQ_TXT | ONE_LINE)) < 0 ||
	    (rc = lifecycle_text_check(
	         FIELD("owner_name"), it->owner_name, LINE,
	         ONE_LINE |
	             (it->owner == CSIRT__V1__OWNERSHIP__OWNERSHIP_PERSONAL
	                  ? REQ_TXT
	                  : 0))) < 0 ||
	    (rc = lifecycle_text_check(FIELD("seal_number"), it->seal_number,
	                               LINE, REQ_TXT | ONE_LINE)) < 0 ||
	    (rc = lifecycle_text_check(FIELD("description"), it->description,
	                               TEXT, 0)) < 0 ||
	    (rc = lifecycle_text_check(FIELD("holder"), it->holder, LINE,
	                               ONE_LINE)) < 0)
		return rc;
	if (it->state != 0 || it->n_custody != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: state and custody are set by the "
		                       "server",
		                       f);
#undef FIELD
	return 0;
}

static int
rq_validate_create(const Csirt__V1__Case *cur, const Csirt__V1__Event *ev,
                   int64_t ev_ms)
{
	const Csirt__V1__InvestigationRequest *r = ev->request_created->request;
	const Csirt__V1__Summons *s;
	int64_t due = 0;
	int rc;

	if (r == NULL)
		return csirt_error_set(CSIRT_EINVAL, "request: required");
	if (cur->n_requests >= REQUEST_MAX)
		return csirt_error_set(CSIRT_EINVAL,
		                       "case %s has %d requests, the most "
		                       "allowed",
		                       cur->id, REQUEST_MAX);
	if ((rc = rq_expect_id("request.id", r->id, 'r', cur->n_requests + 1)) <
	    0)
		return rc;
	if ((rc = lifecycle_enum_check("request.kind",
	                               &csirt__v1__request_kind__descriptor,
	                               (int)r->kind)) < 0 ||
	    (rc = lifecycle_text_check(
	         "request.description", r->description, TEXT,
	         r->kind == CSIRT__V1__REQUEST_KIND__REQUEST_KIND_SUMMONS
	             ? 0
	             : REQ_TXT)) < 0 ||
	    (rc = rq_time(&due, "request.due", r->due, true)) < 0)
		return rc;
	if (due <= ev_ms)
		return csirt_error_set(CSIRT_EINVAL,
		                       "request.due: %s is not in the future",
		                       r->due);
	if (due - ev_ms > (int64_t)REQUEST_DUE_MAX_DAYS * 86400 * 1000)
		return csirt_error_set(CSIRT_EINVAL,
		                       "request.due: %s is more than %d days "
		                       "ahead",
		                       r->due, REQUEST_DUE_MAX_DAYS);
	s = r->summons;
	if (r->kind == CSIRT__V1__REQUEST_KIND__REQUEST_KIND_SUMMONS) {
		int64_t at = 0;
		if (s == NULL)
			return csirt_error_set(
			    CSIRT_EINVAL,
			    "request.summons: required for a summons (出頭: "
			    "who, at, place, purpose)");
		if ((rc = lifecycle_text_check("request.summons.who", s->who,
		                               LINE, REQ_TXT | ONE_LINE)) < 0 ||
		    (rc = rq_time(&at, "request.summons.at", s->at, true)) <
		        0 ||
		    (rc =
		         lifecycle_text_check("request.summons.place", s->place,
		                              LINE, REQ_TXT | ONE_LINE)) < 0 ||
		    (rc = lifecycle_text_check("request.summons.purpose",
		                               s->purpose, TEXT, REQ_TXT)) < 0)
			return rc;
	} else if (s != NULL) {
		return csirt_error_set(CSIRT_EINVAL,
		                       "request.summons: only for a summons");
	}
	if (r->state != 0 || r->created_by[0] != '\0' ||
	    r->response[0] != '\0' || r->n_item_ids != 0 || r->overdue ||
	    r->closed_by[0] != '\0')
		return csirt_error_set(CSIRT_EINVAL,
		                       "request: state, response, items and "
		                       "times are set by the server");
	return 0;
}

/* The request named by a request event, checked against the table. */
static int
rq_target(const Csirt__V1__InvestigationRequest **out,
          const Csirt__V1__Case *cur, const char *id,
          enum request_action action, int role)
{
	const Csirt__V1__InvestigationRequest *r = request_find(cur, id);

	*out = NULL;
	if (r == NULL)
		return csirt_error_set(CSIRT_ENOTFOUND,
		                       "request \"%.*s\" of case %s not found",
		                       CASE_NAME_MAX, id, cur->id);
	*out = r;
	return request_check(NULL, (int)r->state, action, role);
}

static int
rq_validate_respond(const Csirt__V1__Case *cur, const Csirt__V1__Event *ev)
{
	const Csirt__V1__RequestResponded *p = ev->request_responded;
	const Csirt__V1__InvestigationRequest *r = NULL;
	char f[32];
	int rc;

	if ((rc = rq_target(&r, cur, p->request_id, RA(RESPOND),
	                    (int)ev->role)) < 0 ||
	    (rc = lifecycle_text_check("text", p->text, TEXT, REQ_TXT)) < 0)
		return rc;
	if (p->n_items == 0)
		return 0;
	if (r->kind != CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE)
		return csirt_error_set(
		    CSIRT_EINVAL, "items: only a device request (個人所有機"
		                  "器の提出) registers devices");
	if (p->n_items > REQUEST_ITEMS_MAX ||
	    cur->n_items + p->n_items > ITEM_MAX)
		return csirt_error_set(CSIRT_EINVAL,
		                       "items: %zu, at most %d per response "
		                       "and %d per case",
		                       p->n_items, REQUEST_ITEMS_MAX, ITEM_MAX);
	for (size_t i = 0; i < p->n_items; i++) {
		snprintf(f, sizeof(f), "items[%zu]", i);
		if ((rc = rq_validate_item(p->items[i], f, cur,
		                           cur->n_items + i + 1)) < 0)
			return rc;
		if (strcmp(p->items[i]->request_id, p->request_id) != 0)
			return csirt_error_set(CSIRT_EINVAL,
			                       "%s.request_id: not %s", f,
			                       p->request_id);
	}
	return 0;
}

static int
rq_validate_custody(const Csirt__V1__Case *cur, const Csirt__V1__ItemCustody *p,
                    enum case_action action, int64_t ev_ms)
{
	const Csirt__V1__PhysicalItem *it = request_item_find(cur, p->item_id);
	bool dispose = action == CASE_ACTION_ITEM_DISPOSE;
	int rc;

	if (it == NULL)
		return csirt_error_set(CSIRT_ENOTFOUND,
		                       "item \"%.*s\" of case %s not found",
		                       CASE_NAME_MAX, p->item_id, cur->id);
	if (it->state != CSIRT__V1__ITEM_STATE__ITEM_STATE_HELD)
		return csirt_error_set(
		    CSIRT_ESTATE, "item %s is %s: it is no longer held", it->id,
		    codec_enum_name(&csirt__v1__item_state__descriptor,
		                    (int)it->state));
	if (p->from[0] != '\0' && strcmp(p->from, it->holder) != 0)
		return csirt_error_set(
		    CSIRT_ECONFLICT, "from: item %s is held by %s, not %.*s",
		    it->id, it->holder, CASE_NAME_MAX, p->from);
	if ((rc = lifecycle_text_check(
	         "to", p->to, LINE, ONE_LINE | (dispose ? 0 : REQ_TXT))) < 0 ||
	    (rc = rq_past_time("at", p->at, ev_ms)) < 0 ||
	    (rc = lifecycle_text_check("place", p->place, LINE, ONE_LINE)) <
	        0 ||
	    (rc = lifecycle_text_check("purpose", p->purpose, TEXT,
	                               dispose ? REQ_TXT : 0)) < 0)
		return rc;
	if (dispose && p->to[0] != '\0')
		return csirt_error_set(CSIRT_EINVAL,
		                       "to: a disposal has no recipient");
	return 0;
}

/* A deadline.missed "request": the request exists, is still open, is due
 * as the event says and not yet overdue; the case is INVESTIGATING. */
static int
rq_validate_deadline(const Csirt__V1__Case *cur,
                     const Csirt__V1__DeadlineMissed *d, int64_t ev_ms)
{
	const Csirt__V1__InvestigationRequest *r =
	    request_find(cur, d->request_id);
	int64_t due_ms, want_ms;

	if (r == NULL)
		return csirt_error_set(CSIRT_EINVAL,
		                       "request_id: \"%.*s\" is not a request "
		                       "of case %s",
		                       CASE_NAME_MAX, d->request_id, cur->id);
	if (util_time_parse(&due_ms, d->due) < 0)
		return csirt_error_wrap(CSIRT_EINVAL, "due");
	if (util_time_parse(&want_ms, r->due) < 0 || due_ms != want_ms)
		return csirt_error_set(CSIRT_EINVAL,
		                       "due: %s is not the due time of %s",
		                       d->due, r->id);
	if (due_ms > ev_ms)
		return csirt_error_set(
		    CSIRT_EINVAL, "due: %s is after the event time", d->due);
	if (cur->state != CSIRT__V1__CASE_STATE__CASE_STATE_INVESTIGATING ||
	    r->state == RS(FULFILLED) || r->state == RS(CANCELLED))
		return csirt_error_set(
		    CSIRT_ESTATE, "deadline request %s: no longer open", r->id);
	if (r->overdue)
		return csirt_error_set(CSIRT_ECONFLICT,
		                       "deadline request %s: already overdue",
		                       r->id);
	return 0;
}

int
request_validate(const Csirt__V1__Case *cur, const Csirt__V1__Event *ev,
                 enum case_action action, int64_t ev_ms)
{
	const Csirt__V1__InvestigationRequest *r = NULL;
	int rc;

	switch (action) {
	case CASE_ACTION_REQUEST_CREATE:
		return rq_validate_create(cur, ev, ev_ms);
	case CASE_ACTION_REQUEST_ACK:
		if ((rc = rq_target(&r, cur,
		                    ev->request_acknowledged->request_id,
		                    RA(ACKNOWLEDGE), (int)ev->role)) < 0)
			return rc;
		return lifecycle_text_check(
		    "comment", ev->request_acknowledged->comment, TEXT, 0);
	case CASE_ACTION_REQUEST_RESPOND:
		return rq_validate_respond(cur, ev);
	case CASE_ACTION_REQUEST_FULFIL:
		if ((rc = rq_target(&r, cur, ev->request_fulfilled->request_id,
		                    RA(FULFIL), (int)ev->role)) < 0)
			return rc;
		return lifecycle_text_check(
		    "comment", ev->request_fulfilled->comment, TEXT, 0);
	case CASE_ACTION_REQUEST_CANCEL:
		if ((rc = rq_target(&r, cur, ev->request_cancelled->request_id,
		                    RA(CANCEL), (int)ev->role)) < 0)
			return rc;
		return lifecycle_text_check(
		    "reason", ev->request_cancelled->reason, TEXT, REQ_TXT);
	case CASE_ACTION_ITEM_REGISTER:
		if (cur->n_items >= ITEM_MAX)
			return csirt_error_set(CSIRT_EINVAL,
			                       "case %s has %d items, the most "
			                       "allowed",
			                       cur->id, ITEM_MAX);
		return rq_validate_item(ev->item_registered->item, "item", cur,
		                        cur->n_items + 1);
	case CASE_ACTION_ITEM_TRANSFER:
		return rq_validate_custody(cur, ev->item_transferred, action,
		                           ev_ms);
	case CASE_ACTION_ITEM_RETURN:
		return rq_validate_custody(cur, ev->item_returned, action,
		                           ev_ms);
	case CASE_ACTION_ITEM_DISPOSE:
		return rq_validate_custody(cur, ev->item_disposed, action,
		                           ev_ms);
	case CASE_ACTION_DEADLINE_MISS:
		return rq_validate_deadline(cur, ev->deadline_missed, ev_ms);
	default:
		return csirt_error_set(CSIRT_EINVAL, "not a request event");
	}
}

/* ---- the fold -------------------------------------------------------- */

/* The one function that changes InvestigationRequest.state. */
static void
rq_set_state(const Csirt__V1__Case *c, Csirt__V1__InvestigationRequest *r,
             int to)
{
	char change[48], id[96];

	snprintf(change, sizeof(change), "%s -> %s",
	         request_state_name((int)r->state), request_state_name(to));
	snprintf(id, sizeof(id), "%s/%s", c->id, r->id);
	log_debug("request state", "request", id, "change", change);
	r->state = (Csirt__V1__RequestState)to;
}

static void *
rq_push(void *arr, size_t *n, void *elem)
{
	void **v = util_xrealloc(arr, (*n + 1) * sizeof(void *));

	v[(*n)++] = elem;
	return v;
}

static void
rq_custody_add(Csirt__V1__PhysicalItem *it, const Csirt__V1__Event *ev,
               const char *action, const char *from, const char *to,
               const char *at, const char *place, const char *purpose,
               const char *ev_time)
{
	Csirt__V1__CustodyEntry *e =
	    (void *)codec_new(&csirt__v1__custody_entry__descriptor);
	char norm[UTIL_TIME_LEN];
	int64_t ms;

	codec_set_string(&e->action, action);
	codec_set_string(&e->from, from);
	codec_set_string(&e->to, to);
	if (at != NULL && at[0] != '\0' && util_time_parse(&ms, at) == 0) {
		util_time_format_ms(norm, sizeof(norm), ms);
		codec_set_string(&e->at, norm);
	} else {
		codec_set_string(&e->at, ev_time);
	}
	codec_set_string(&e->place, place);
	codec_set_string(&e->purpose, purpose);
	codec_set_string(&e->by, ev->actor);
	codec_set_string(&e->recorded_at, ev_time);
	e->seq = ev->seq;
	it->custody = rq_push(it->custody, &it->n_custody, e);
}

/* Appends a copy of the registered item `src` to the case. */
static Csirt__V1__PhysicalItem *
rq_item_add(Csirt__V1__Case *c, const Csirt__V1__PhysicalItem *src,
            const Csirt__V1__Event *ev, const char *ev_time)
{
	Csirt__V1__PhysicalItem *it = request_item_copy(src);

	codec_set_string(&it->id, src->id);
	codec_set_string(&it->case_id, c->id);
	codec_set_string(&it->holder,
	                 src->holder[0] != '\0' ? src->holder : ev->actor);
	codec_set_string(&it->request_id, src->request_id);
	it->state = CSIRT__V1__ITEM_STATE__ITEM_STATE_HELD;
	rq_custody_add(it, ev, "registered", "", it->holder, NULL, NULL, NULL,
	               ev_time);
	c->items = rq_push(c->items, &c->n_items, it);
	return it;
}

static Csirt__V1__InvestigationRequest *
rq_apply_create(Csirt__V1__Case *c, const Csirt__V1__Event *ev,
                const char *ev_time)
{
	const Csirt__V1__InvestigationRequest *src =
	    ev->request_created->request;
	Csirt__V1__InvestigationRequest *r =
	    (void *)codec_new(&csirt__v1__investigation_request__descriptor);
	char due[UTIL_TIME_LEN];
	int64_t ms = 0;

	codec_set_string(&r->id, src->id);
	codec_set_string(&r->case_id, c->id);
	r->kind = src->kind;
	codec_set_string(&r->description, src->description);
	if (src->summons != NULL)
		r->summons = (void *)codec_clone(&src->summons->base);
	(void)util_time_parse(&ms, src->due);
	util_time_format_ms(due, sizeof(due), ms);
	codec_set_string(&r->due, due);
	codec_set_string(&r->created_by, ev->actor);
	codec_set_string(&r->created_at, ev_time);
	codec_set_string(&r->division, c->division);
	r->state = RS(OPEN);
	c->requests = rq_push(c->requests, &c->n_requests, r);
	return r;
}

/* Applies a request-table step to the named request. */
static int
rq_step(Csirt__V1__Case *c, const char *id, enum request_action a,
        Csirt__V1__InvestigationRequest **out)
{
	Csirt__V1__InvestigationRequest *r = request_find(c, id);
	int to = 0;

	*out = NULL;
	if (r == NULL)
		return csirt_error_set(CSIRT_EINVAL, "request %.*s not found",
		                       CASE_NAME_MAX, id);
	/* The fold checks the table, not the role (see case_apply()). */
	for (size_t i = 0; i < UTIL_ARRAY_LEN(rq_table); i++)
		if (rq_table[i].from == (int)r->state &&
		    rq_table[i].action == a)
			to = rq_table[i].to;
	if (to == 0)
		return csirt_error_set(CSIRT_ESTATE,
		                       "cannot %s request %s in state %s",
		                       request_action_name(a), r->id,
		                       request_state_name((int)r->state));
	rq_set_state(c, r, to);
	*out = r;
	return 0;
}

static int
rq_apply_custody(Csirt__V1__Case *c, const Csirt__V1__Event *ev,
                 const Csirt__V1__ItemCustody *p, enum case_action action,
                 const char *ev_time)
{
	Csirt__V1__PhysicalItem *it = request_item_find(c, p->item_id);
	static const char *const names[] = {"transferred", "returned",
	                                    "disposed"};
	size_t k = action == CASE_ACTION_ITEM_TRANSFER ? 0
	           : action == CASE_ACTION_ITEM_RETURN ? 1
	                                               : 2;
	char *from;

	if (it == NULL || it->state != CSIRT__V1__ITEM_STATE__ITEM_STATE_HELD)
		return csirt_error_set(CSIRT_ESTATE,
		                       "item %.*s is not held in case %s",
		                       CASE_NAME_MAX, p->item_id, c->id);
	from = util_strdup(it->holder);
	rq_custody_add(it, ev, names[k], from, p->to, p->at, p->place,
	               p->purpose, ev_time);
	free(from);
	codec_set_string(&it->holder, p->to);
	if (k == 1)
		it->state = CSIRT__V1__ITEM_STATE__ITEM_STATE_RETURNED;
	else if (k == 2)
		it->state = CSIRT__V1__ITEM_STATE__ITEM_STATE_DISPOSED;
	return 0;
}

int
request_apply(Csirt__V1__Case *c, const Csirt__V1__Event *ev,
              enum case_action action, const char *ev_time)
{
	Csirt__V1__InvestigationRequest *r = NULL;
	int rc = 0;

	switch (action) {
	case CASE_ACTION_REQUEST_CREATE:
		if (ev->request_created->request == NULL)
			return csirt_error_set(CSIRT_EINVAL, "request missing");
		rq_apply_create(c, ev, ev_time);
		break;
	case CASE_ACTION_REQUEST_ACK: {
		const Csirt__V1__RequestAcknowledged *p =
		    ev->request_acknowledged;
		if ((rc = rq_step(c, p->request_id, RA(ACKNOWLEDGE), &r)) < 0)
			return rc;
		codec_set_string(&r->acknowledged_by, ev->actor);
		codec_set_string(&r->acknowledged_at, ev_time);
		codec_set_string(&r->acknowledge_comment, p->comment);
		break;
	}
	case CASE_ACTION_REQUEST_RESPOND: {
		const Csirt__V1__RequestResponded *p = ev->request_responded;
		if ((rc = rq_step(c, p->request_id, RA(RESPOND), &r)) < 0)
			return rc;
		codec_set_string(&r->response, p->text);
		codec_set_string(&r->responded_by, ev->actor);
		codec_set_string(&r->responded_at, ev_time);
		for (size_t i = 0; i < p->n_items; i++) {
			Csirt__V1__PhysicalItem *it;
			if (p->items[i] == NULL)
				continue;
			it = rq_item_add(c, p->items[i], ev, ev_time);
			codec_set_string(&it->request_id, r->id);
			r->item_ids = rq_push(r->item_ids, &r->n_item_ids,
			                      util_strdup(it->id));
		}
		break;
	}
	case CASE_ACTION_REQUEST_FULFIL:
	case CASE_ACTION_REQUEST_CANCEL: {
		bool fulfil = action == CASE_ACTION_REQUEST_FULFIL;
		const char *id = fulfil ? ev->request_fulfilled->request_id
		                        : ev->request_cancelled->request_id;
		if ((rc = rq_step(c, id, fulfil ? RA(FULFIL) : RA(CANCEL),
		                  &r)) < 0)
			return rc;
		codec_set_string(&r->closed_by, ev->actor);
		codec_set_string(&r->closed_at, ev_time);
		codec_set_string(&r->closing_text,
		                 fulfil ? ev->request_fulfilled->comment
		                        : ev->request_cancelled->reason);
		break;
	}
	case CASE_ACTION_ITEM_REGISTER:
		if (ev->item_registered->item == NULL)
			return csirt_error_set(CSIRT_EINVAL, "item missing");
		rq_item_add(c, ev->item_registered->item, ev, ev_time);
		break;
	case CASE_ACTION_ITEM_TRANSFER:
		return rq_apply_custody(c, ev, ev->item_transferred, action,
		                        ev_time);
	case CASE_ACTION_ITEM_RETURN:
		return rq_apply_custody(c, ev, ev->item_returned, action,
		                        ev_time);
	case CASE_ACTION_ITEM_DISPOSE:
		return rq_apply_custody(c, ev, ev->item_disposed, action,
		                        ev_time);
	case CASE_ACTION_DEADLINE_MISS:
		r = request_find(c, ev->deadline_missed->request_id);
		if (r == NULL)
			return csirt_error_set(
			    CSIRT_EINVAL, "deadline: request %.*s not found",
			    CASE_NAME_MAX, ev->deadline_missed->request_id);
		if (!r->overdue)
			codec_set_string(&r->overdue_since, ev_time);
		r->overdue = true;
		break;
	default:
		return csirt_error_set(CSIRT_EINVAL, "not a request event");
	}
	return 0;
}

void
request_case_overdue(Csirt__V1__Case *c, const char *ev_time)
{
	bool any = false;

	if (c->state == CSIRT__V1__CASE_STATE__CASE_STATE_INVESTIGATING)
		for (size_t i = 0; i < c->n_requests; i++)
			if (c->requests[i]->overdue &&
			    c->requests[i]->state != RS(FULFILLED) &&
			    c->requests[i]->state != RS(CANCELLED))
				any = true;
	if (any && !c->overdue) {
		c->overdue = true;
		codec_set_string(&c->overdue_since, ev_time);
	} else if (!any && c->overdue) {
		c->overdue = false;
		codec_set_string(&c->overdue_since, NULL);
	}
}
