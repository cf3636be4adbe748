/*
 * rpc_request.c - CaseService handlers for 第13.2: investigation requests
 * to the reporting division (summons, material, personal devices) and the
 * physical items submitted under them, with their chain of custody.
 *
 * Each write becomes one proposed case event; the writer (lifecycle.c and
 * request.c) decides whether it is legal: the case must be INVESTIGATING,
 * the request or item in a state that allows the step, an investigator
 * assigned to the case.  What only the edge can check is checked here: the
 * case exists for the caller (a 所属長 acts on their own division's cases
 * only; another division's case is not_found), and the client sends only
 * the fields a client may set.  Reads come from the index.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "index.h"
#include "layout.h"
#include "lifecycle.h"
#include "request.h"
#include "rpc.h"
#include "util.h"

#define LIST_DEFAULT 100
#define LIST_MAX 500

#define msg_new(d) ((void *)codec_new(d))

/* The case must exist and be visible to the caller; nothing is kept. */
static int
case_check(struct rpc_ctx *ctx, const char *case_id)
{
	Csirt__V1__Case *c = NULL;
	int rc = rpc_case_visible(ctx, case_id, &c);

	case_free(c);
	return rc;
}

/* The case, then the id of the request or item the call names. */
static int
target_check(struct rpc_ctx *ctx, const char *case_id, const char *id,
             const char *field, const char *example)
{
	int rc;

	if ((rc = case_check(ctx, case_id)) != 0)
		return rc;
	if (id[0] == '\0')
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s is required (\"%s\", ...)", field,
		                       example);
	return 0;
}

/* The client's fields of an item (the server sets the rest).  A device
 * submitted with a response is held first by the responding 所属長, so
 * `holder` is taken only from a registration by the CSIRT. */
static Csirt__V1__PhysicalItem *
item_copy(const Csirt__V1__PhysicalItem *src, bool holder)
{
	Csirt__V1__PhysicalItem *it = request_item_copy(src);

	if (holder)
		codec_set_string(&it->holder, src->holder);
	return it;
}

RPC_HANDLER(rpc_create_request)
{
	const Csirt__V1__CreateRequestRequest *r = (const void *)in;
	Csirt__V1__InvestigationRequest *q;
	Csirt__V1__Event *ev;
	int rc;

	(void)out;
	if ((rc = case_check(ctx, r->case_id)) != 0)
		return rc;
	q = msg_new(&csirt__v1__investigation_request__descriptor);
	q->kind = r->kind;
	codec_set_string(&q->description, r->description);
	codec_set_string(&q->due, r->due);
	if (r->summons != NULL)
		q->summons = (void *)codec_clone(&r->summons->base);
	ev = rpc_event_new(r->case_id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_REQUEST_CREATED;
	ev->request_created = msg_new(&csirt__v1__request_created__descriptor);
	ev->request_created->request = q;
	return rpc_submit(ctx, ev, NULL, rpc_finish_case);
}

/* AcknowledgeRequest (comment), FulfilRequest (comment), CancelRequest
 * (reason). */
RPC_HANDLER(rpc_request_action)
{
	const Csirt__V1__RequestActionRequest *r = (const void *)in;
	const char *name = rpc_method_name(ctx);
	Csirt__V1__Event *ev;
	int rc;

	(void)out;
	if ((rc = target_check(ctx, r->case_id, r->request_id, "request_id",
	                       "r1")) != 0)
		return rc;
	ev = rpc_event_new(r->case_id);
	if (strcmp(name, "AcknowledgeRequest") == 0) {
		Csirt__V1__RequestAcknowledged *p =
		    msg_new(&csirt__v1__request_acknowledged__descriptor);
		codec_set_string(&p->request_id, r->request_id);
		codec_set_string(&p->comment, r->text);
		ev->payload_case =
		    CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED;
		ev->request_acknowledged = p;
	} else if (strcmp(name, "FulfilRequest") == 0) {
		Csirt__V1__RequestFulfilled *p =
		    msg_new(&csirt__v1__request_fulfilled__descriptor);
		codec_set_string(&p->request_id, r->request_id);
		codec_set_string(&p->comment, r->text);
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_REQUEST_FULFILLED;
		ev->request_fulfilled = p;
	} else if (strcmp(name, "CancelRequest") == 0) {
		Csirt__V1__RequestCancelled *p =
		    msg_new(&csirt__v1__request_cancelled__descriptor);
		codec_set_string(&p->request_id, r->request_id);
		codec_set_string(&p->reason, r->text);
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_REQUEST_CANCELLED;
		ev->request_cancelled = p;
	} else {
		codec_free(&ev->base);
		return csirt_error_set(CSIRT_EFAIL, "no action for %s", name);
	}
	return rpc_submit(ctx, ev, NULL, rpc_finish_case);
}

RPC_HANDLER(rpc_respond_to_request)
{
	const Csirt__V1__RespondToRequestRequest *r = (const void *)in;
	Csirt__V1__RequestResponded *p;
	Csirt__V1__Event *ev;
	int rc;

	(void)out;
	if ((rc = target_check(ctx, r->case_id, r->request_id, "request_id",
	                       "r1")) != 0)
		return rc;
	/* The bound is checked again by the writer against the case. */
	if (r->n_items > 50)
		return csirt_error_set(CSIRT_EINVAL,
		                       "items: at most 50 per response");
	for (size_t i = 0; i < r->n_items; i++)
		if (r->items[i] == NULL)
			return csirt_error_set(CSIRT_EINVAL,
			                       "items[%zu]: missing", i);
	p = msg_new(&csirt__v1__request_responded__descriptor);
	codec_set_string(&p->request_id, r->request_id);
	codec_set_string(&p->text, r->text);
	if (r->n_items > 0) {
		p->items = util_xcalloc(r->n_items, sizeof(*p->items));
		for (size_t i = 0; i < r->n_items; i++)
			p->items[p->n_items++] = item_copy(r->items[i], false);
	}
	ev = rpc_event_new(r->case_id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED;
	ev->request_responded = p;
	return rpc_submit(ctx, ev, NULL, rpc_finish_case);
}

struct list_state {
	Csirt__V1__ListRequestsResponse *resp;
	size_t cap;
};

static int
list_cb(const Csirt__V1__InvestigationRequest *q, void *arg)
{
	struct list_state *st = arg;
	Csirt__V1__ListRequestsResponse *r = st->resp;

	if (r->n_requests == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		r->requests =
		    util_xrealloc(r->requests, st->cap * sizeof(*r->requests));
	}
	r->requests[r->n_requests++] = (void *)codec_clone(&q->base);
	return 0;
}

RPC_HANDLER(rpc_list_requests)
{
	const Csirt__V1__ListRequestsRequest *r = (const void *)in;
	struct index_request_filter f;
	struct list_state st = {NULL, 0};
	char after[LAYOUT_CASE_ID_LEN];
	int rc;

	memset(&f, 0, sizeof(f));
	f.limit = r->page_size == 0 ? LIST_DEFAULT : r->page_size;
	if (f.limit > LIST_MAX)
		return csirt_error_set(CSIRT_EINVAL, "page_size: at most %d",
		                       LIST_MAX);
	for (size_t i = 0; i < r->n_states; i++) {
		if (codec_enum_name(&csirt__v1__request_state__descriptor,
		                    (int)r->states[i]) == NULL ||
		    r->states[i] == 0)
			return csirt_error_set(
			    CSIRT_EINVAL, "states[%zu]: not a request state",
			    i);
		f.state_mask |= (int64_t)1 << r->states[i];
	}
	f.overdue = r->overdue != 0;
	f.division = r->division;
	if (r->page_token[0] != '\0') {
		/* "CASE/rN", as next_page_token gave it. */
		const char *slash = strchr(r->page_token, '/');
		char *end = NULL;
		if (slash == NULL || slash - r->page_token != 11 ||
		    slash[1] != 'r' ||
		    (f.after_seq = strtoll(slash + 2, &end, 10)) <= 0 ||
		    *end != '\0')
			return csirt_error_set(
			    CSIRT_EINVAL,
			    "page_token: not a token from a previous response");
		memcpy(after, r->page_token, 11);
		after[11] = '\0';
		if (layout_case_id_parse(after, NULL, NULL) != 0)
			return csirt_error_set(
			    CSIRT_EINVAL,
			    "page_token: not a token from a previous response");
		f.after_case_id = after;
	}
	if (r->case_id[0] != '\0') {
		if ((rc = case_check(ctx, r->case_id)) != 0)
			return rc;
		f.case_id = r->case_id;
	}
	/* A 所属長 sees their own division's requests only. */
	if (ctx->user->role == CSIRT__V1__ROLE__ROLE_REPORTER) {
		if (r->division[0] != '\0' &&
		    strcmp(r->division, ctx->user->division) != 0)
			return csirt_error_set(
			    CSIRT_EDENIED,
			    "a 所属長 lists their own division only");
		f.division = ctx->user->division;
	}
	st.resp = msg_new(&csirt__v1__list_requests_response__descriptor);
	if ((rc = index_requests_list(rpc_env(ctx)->ix, &f, list_cb, &st)) !=
	    0) {
		codec_free(&st.resp->base);
		return rc;
	}
	/* A full page may have a next one. */
	if (st.resp->n_requests == (size_t)f.limit) {
		const Csirt__V1__InvestigationRequest *q =
		    st.resp->requests[st.resp->n_requests - 1];
		char tok[LAYOUT_CASE_ID_LEN + 32];
		snprintf(tok, sizeof(tok), "%s/%s", q->case_id, q->id);
		codec_set_string(&st.resp->next_page_token, tok);
	}
	*out = &st.resp->base;
	return 0;
}

RPC_HANDLER(rpc_register_item)
{
	const Csirt__V1__RegisterItemRequest *r = (const void *)in;
	Csirt__V1__Event *ev;
	int rc;

	(void)out;
	if ((rc = case_check(ctx, r->case_id)) != 0)
		return rc;
	if (r->item == NULL)
		return csirt_error_set(CSIRT_EINVAL,
		                       "item is required (kind, serial, owner, "
		                       "seal_number)");
	ev = rpc_event_new(r->case_id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_ITEM_REGISTERED;
	ev->item_registered = msg_new(&csirt__v1__item_registered__descriptor);
	ev->item_registered->item = item_copy(r->item, true);
	return rpc_submit(ctx, ev, NULL, rpc_finish_case);
}

/* TransferItem, ReturnItem, DisposeItem: one custody step each. */
RPC_HANDLER(rpc_item_custody)
{
	const Csirt__V1__ItemCustodyRequest *r = (const void *)in;
	const char *name = rpc_method_name(ctx);
	Csirt__V1__ItemCustody *p;
	Csirt__V1__Event *ev;
	int rc;

	(void)out;
	if ((rc = target_check(ctx, r->case_id, r->item_id, "item_id", "i1")) !=
	    0)
		return rc;
	p = msg_new(&csirt__v1__item_custody__descriptor);
	codec_set_string(&p->item_id, r->item_id);
	codec_set_string(&p->from, r->from);
	codec_set_string(&p->to, r->to);
	codec_set_string(&p->at, r->at);
	codec_set_string(&p->place, r->place);
	codec_set_string(&p->purpose, r->purpose);
	ev = rpc_event_new(r->case_id);
	if (strcmp(name, "TransferItem") == 0) {
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_ITEM_TRANSFERRED;
		ev->item_transferred = p;
	} else if (strcmp(name, "ReturnItem") == 0) {
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_ITEM_RETURNED;
		ev->item_returned = p;
	} else if (strcmp(name, "DisposeItem") == 0) {
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_ITEM_DISPOSED;
		ev->item_disposed = p;
	} else {
		codec_free(&p->base);
		codec_free(&ev->base);
		return csirt_error_set(CSIRT_EFAIL, "no action for %s", name);
	}
	return rpc_submit(ctx, ev, NULL, rpc_finish_case);
}
