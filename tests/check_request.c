/*
 * check_request.c - 第13.2 requests and physical items in the domain:
 * the request state table cell by cell (every state x action x role), and
 * the writer's validation and the fold through a real data directory:
 * illegal steps refused with the right code and nothing written, ids
 * assigned by the server, the chain of custody, Japanese text unchanged
 * through case.json's proto3 JSON.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "datadir.h"
#include "error.h"
#include "fixtures.h"
#include "index.h"
#include "lifecycle.h"
#include "request.h"
#include "suites.h"
#include "util.h"
#include "writer.h"

#define ST(x) CSIRT__V1__REQUEST_STATE__REQUEST_STATE_##x
#define RO(x) CSIRT__V1__ROLE__ROLE_##x
#define AC(x) REQUEST_ACTION_##x

/* The diagram of request.c, written out again independently. */
static const struct {
	int from, action, role, to;
} legal[] = {
    {ST(OPEN), AC(ACKNOWLEDGE), RO(REPORTER), ST(ACKNOWLEDGED)},
    {ST(ACKNOWLEDGED), AC(RESPOND), RO(REPORTER), ST(RESPONDED)},
    {ST(RESPONDED), AC(RESPOND), RO(REPORTER), ST(RESPONDED)},
    {ST(ACKNOWLEDGED), AC(FULFIL), RO(CSIRT_LEAD), ST(FULFILLED)},
    {ST(ACKNOWLEDGED), AC(FULFIL), RO(INVESTIGATOR), ST(FULFILLED)},
    {ST(RESPONDED), AC(FULFIL), RO(CSIRT_LEAD), ST(FULFILLED)},
    {ST(RESPONDED), AC(FULFIL), RO(INVESTIGATOR), ST(FULFILLED)},
    {ST(OPEN), AC(CANCEL), RO(CSIRT_LEAD), ST(CANCELLED)},
    {ST(OPEN), AC(CANCEL), RO(INVESTIGATOR), ST(CANCELLED)},
    {ST(ACKNOWLEDGED), AC(CANCEL), RO(CSIRT_LEAD), ST(CANCELLED)},
    {ST(ACKNOWLEDGED), AC(CANCEL), RO(INVESTIGATOR), ST(CANCELLED)},
    {ST(RESPONDED), AC(CANCEL), RO(CSIRT_LEAD), ST(CANCELLED)},
    {ST(RESPONDED), AC(CANCEL), RO(INVESTIGATOR), ST(CANCELLED)},
};

START_TEST(test_request_every_state_action_role)
{
	int allowed = 0;

	for (int from = 0; from <= ST(CANCELLED) + 1; from++) {
		for (int a = 0; a < REQUEST_ACTION__COUNT; a++) {
			for (int role = 0; role <= RO(SYSTEM) + 1; role++) {
				int to = -42, rc, want = CSIRT_ESTATE;
				bool ever = false, here = false;

				for (size_t i = 0; i < UTIL_ARRAY_LEN(legal);
				     i++) {
					if (legal[i].action != a ||
					    legal[i].role != role)
						continue;
					ever = true;
					if (legal[i].from == from) {
						here = true;
						want = legal[i].to;
					}
				}
				rc = request_check(
				    &to, from, (enum request_action)a, role);
				if (here) {
					ck_assert_msg(
					    rc == 0 && to == want,
					    "%s %s by %d: rc %d to %d",
					    request_state_name(from),
					    request_action_name(a), role, rc,
					    to);
					allowed++;
					continue;
				}
				ck_assert_msg(
				    rc == (ever ? CSIRT_ESTATE : CSIRT_EDENIED),
				    "%s %s by %d: rc %d (%s)",
				    request_state_name(from),
				    request_action_name(a), role, rc,
				    csirt_error_msg());
				ck_assert_int_eq(to, -42);
				ck_assert_ptr_nonnull(strstr(
				    csirt_error_msg(), request_action_name(a)));
			}
		}
	}
	ck_assert_int_eq(allowed, (int)UTIL_ARRAY_LEN(legal));
	ck_assert_int_eq(
	    request_check(NULL, ST(OPEN), REQUEST_ACTION__COUNT, RO(REPORTER)),
	    CSIRT_EINVAL);
}
END_TEST

/* ---- through the writer ------------------------------------------------ */

#define INV RO(INVESTIGATOR)
#define REP RO(REPORTER)
#define DAY (86400 * 1000LL)

struct env {
	struct fx_env fx;
	char id[12];
};

/* A case of d1 under investigation, "inv" assigned. */
static void
env_init(struct env *e, bool investigating)
{
	fx_env_init(&e->fx);
	fx_env_open(&e->fx);
	fx_seed_directory(e->fx.w);
	fx_report_d1(e->fx.w, CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT,
	             "紛失", e->id);
	ck_assert_int_eq(
	    fx_submit(e->fx.w,
	              fx_case_event(e->id,
	                            CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED,
	                            "sm", RO(SECURITY_MANAGER), "CSIRTへ"),
	              NULL, NULL, NULL),
	    0);
	if (!investigating)
		return;
	ck_assert_int_eq(
	    fx_submit(e->fx.w,
	              fx_case_event(
	                  e->id, CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED,
	                  "lead", RO(CSIRT_LEAD), "調査"),
	              NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(fx_submit(e->fx.w, fx_assign(e->id, "lead", "inv"),
	                           NULL, NULL, NULL),
	                 0);
}

static int
submit(struct env *e, Csirt__V1__Event *ev)
{
	return fx_submit(e->fx.w, ev, NULL, NULL, NULL);
}

/* Submits `ev`, expecting refusal `rc` and nothing written. */
static void
refused(struct env *e, Csirt__V1__Event *ev, int rc)
{
	uint64_t seq = writer_last_seq(e->fx.w);
	int got = submit(e, ev);

	ck_assert_msg(got == rc, "rc %d, want %d (%s)", got, rc,
	              csirt_error_msg());
	ck_assert_uint_eq(writer_last_seq(e->fx.w), seq);
}

static Csirt__V1__Case *
get_case(struct env *e)
{
	Csirt__V1__Case *c = NULL;

	ck_assert_int_eq(index_case_get(&c, e->fx.dd->ix, e->id), 0);
	return c;
}

static Csirt__V1__Event *
request(struct env *e, Csirt__V1__RequestKind kind)
{
	return fx_request(e->id, "inv", INV, kind, util_time_now_ms() + DAY);
}

static Csirt__V1__Event *
step(struct env *e, Csirt__V1__Event__PayloadCase p, const char *rid,
     const char *actor, Csirt__V1__Role role)
{
	return fx_request_step(e->id, p, rid, actor, role, "理由・所見");
}

#define P(x) CSIRT__V1__EVENT__PAYLOAD_##x

START_TEST(test_request_only_while_investigating)
{
	struct env e;

	env_init(&e, false);
	refused(&e, request(&e, CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE),
	        CSIRT_ESTATE);
	fx_env_free(&e.fx);
}
END_TEST

START_TEST(test_request_validation_and_steps)
{
	Csirt__V1__Event *ev;
	Csirt__V1__Case *c;
	struct env e;

	env_init(&e, true);
	/* A summons needs its who/at/place/purpose; others a description. */
	ev = request(&e, CSIRT__V1__REQUEST_KIND__REQUEST_KIND_SUMMONS);
	codec_free(&ev->request_created->request->summons->base);
	ev->request_created->request->summons = NULL;
	refused(&e, ev, CSIRT_EINVAL);
	ev = request(&e, CSIRT__V1__REQUEST_KIND__REQUEST_KIND_MATERIAL);
	codec_set_string(&ev->request_created->request->description, "");
	refused(&e, ev, CSIRT_EINVAL);
	ev = request(&e, CSIRT__V1__REQUEST_KIND__REQUEST_KIND_UNSPECIFIED);
	refused(&e, ev, CSIRT_EINVAL);
	/* Server fields are the server's. */
	ev = request(&e, CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE);
	ev->request_created->request->state = ST(FULFILLED);
	refused(&e, ev, CSIRT_EINVAL);
	/* Not assigned, not a CSIRT role. */
	ev = request(&e, CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE);
	codec_set_string(&ev->actor, "inv2");
	refused(&e, ev, CSIRT_EDENIED);
	ev = request(&e, CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE);
	codec_set_string(&ev->actor, "rep1");
	ev->role = REP;
	refused(&e, ev, CSIRT_EDENIED);

	/* r1 (summons), r2 (device): ids from the server, whatever sent. */
	ck_assert_int_eq(
	    submit(&e,
	           request(&e, CSIRT__V1__REQUEST_KIND__REQUEST_KIND_SUMMONS)),
	    0);
	ev = request(&e, CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE);
	codec_set_string(&ev->request_created->request->id, "r99");
	ck_assert_int_eq(submit(&e, ev), 0);
	c = get_case(&e);
	ck_assert_uint_eq(c->n_requests, 2);
	ck_assert_str_eq(c->requests[1]->id, "r2");
	ck_assert_int_eq(c->requests[0]->state, ST(OPEN));
	ck_assert_str_eq(c->requests[0]->division, "d1");
	case_free(c);

	/* Illegal steps: failed_precondition; unknown: not found. */
	refused(&e, step(&e, P(REQUEST_FULFILLED), "r1", "inv", INV),
	        CSIRT_ESTATE);
	refused(&e, step(&e, P(REQUEST_RESPONDED), "r1", "rep1", REP),
	        CSIRT_ESTATE);
	refused(&e, step(&e, P(REQUEST_ACKNOWLEDGED), "r9", "rep1", REP),
	        CSIRT_ENOTFOUND);
	refused(&e, step(&e, P(REQUEST_ACKNOWLEDGED), "r1", "inv", INV),
	        CSIRT_EDENIED);
	/* The 所属長 of another division, whatever the way in. */
	refused(&e, step(&e, P(REQUEST_ACKNOWLEDGED), "r1", "rep2", REP),
	        CSIRT_EDENIED);
	ev = step(&e, P(REQUEST_CANCELLED), "r1", "inv", INV);
	codec_set_string(&ev->request_cancelled->reason, "");
	refused(&e, ev, CSIRT_EINVAL); /* a cancellation needs a reason */
	ck_assert_int_eq(
	    submit(&e, step(&e, P(REQUEST_ACKNOWLEDGED), "r1", "rep1", REP)),
	    0);
	refused(&e, step(&e, P(REQUEST_ACKNOWLEDGED), "r1", "rep1", REP),
	        CSIRT_ESTATE);
	/* A summons registers no devices. */
	ev = step(&e, P(REQUEST_RESPONDED), "r1", "rep1", REP);
	ev->request_responded->items = util_xcalloc(1, sizeof(void *));
	ev->request_responded->items[0] = fx_item("IMEI-1", "S-1");
	ev->request_responded->n_items = 1;
	refused(&e, ev, CSIRT_EINVAL);
	ck_assert_int_eq(
	    submit(&e, step(&e, P(REQUEST_FULFILLED), "r1", "inv", INV)), 0);
	refused(&e, step(&e, P(REQUEST_CANCELLED), "r1", "inv", INV),
	        CSIRT_ESTATE);

	/* r2: the device, with a seal number required. */
	ck_assert_int_eq(
	    submit(&e, step(&e, P(REQUEST_ACKNOWLEDGED), "r2", "rep1", REP)),
	    0);
	ev = step(&e, P(REQUEST_RESPONDED), "r2", "rep1", REP);
	ev->request_responded->items = util_xcalloc(1, sizeof(void *));
	ev->request_responded->items[0] = fx_item("IMEI-1", "");
	ev->request_responded->n_items = 1;
	refused(&e, ev, CSIRT_EINVAL);
	ev = step(&e, P(REQUEST_RESPONDED), "r2", "rep1", REP);
	ev->request_responded->items = util_xcalloc(2, sizeof(void *));
	ev->request_responded->items[0] = fx_item("IMEI-1", "S-1");
	ev->request_responded->items[1] = fx_item("IMEI-2", "S-2");
	ev->request_responded->n_items = 2;
	ck_assert_int_eq(submit(&e, ev), 0);
	c = get_case(&e);
	ck_assert_int_eq(c->requests[1]->state, ST(RESPONDED));
	ck_assert_uint_eq(c->requests[1]->n_item_ids, 2);
	ck_assert_str_eq(c->requests[1]->item_ids[1], "i2");
	ck_assert_uint_eq(c->n_items, 2);
	ck_assert_str_eq(c->items[0]->holder, "rep1");
	ck_assert_str_eq(c->items[0]->request_id, "r2");
	ck_assert_int_eq(c->items[0]->state,
	                 CSIRT__V1__ITEM_STATE__ITEM_STATE_HELD);
	ck_assert_uint_eq(c->items[0]->n_custody, 1);
	ck_assert_str_eq(c->items[0]->custody[0]->action, "registered");
	case_free(c);
	fx_env_free(&e.fx);
}
END_TEST

START_TEST(test_request_custody_chain)
{
	Csirt__V1__Event *ev;
	Csirt__V1__Case *c;
	struct env e;

	env_init(&e, true);
	/* A 所属長 registers devices only by responding. */
	ev = fx_custody(e.id, P(ITEM_TRANSFERRED), "i1", "inv", "x", "");
	refused(&e, ev, CSIRT_ENOTFOUND);
	ev = fx_request(e.id, "inv", INV,
	                CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE,
	                util_time_now_ms() + DAY);
	ck_assert_int_eq(submit(&e, ev), 0);
	{
		Csirt__V1__Event *reg = fx_custody(e.id, P(ITEM_TRANSFERRED),
		                                   "i1", "rep1", "x", "");
		/* Reuse the envelope for a registration by the reporter. */
		codec_free(&reg->item_transferred->base);
		reg->item_transferred = NULL;
		reg->role = REP;
		reg->payload_case = P(ITEM_REGISTERED);
		reg->item_registered =
		    (void *)codec_new(&csirt__v1__item_registered__descriptor);
		reg->item_registered->item = fx_item("SN-1", "S-9");
		refused(&e, reg, CSIRT_EDENIED);
	}
	ck_assert_int_eq(
	    submit(&e, step(&e, P(REQUEST_ACKNOWLEDGED), "r1", "rep1", REP)),
	    0);
	ev = step(&e, P(REQUEST_RESPONDED), "r1", "rep1", REP);
	ev->request_responded->items = util_xcalloc(1, sizeof(void *));
	ev->request_responded->items[0] = fx_item("356938035643809", "S-0001");
	ev->request_responded->n_items = 1;
	ck_assert_int_eq(submit(&e, ev), 0);

	/* from must be the holder; a transfer needs a recipient. */
	ev = fx_custody(e.id, P(ITEM_TRANSFERRED), "i1", "inv", "解析班 佐藤",
	                "解析");
	codec_set_string(&ev->item_transferred->from, "sm");
	refused(&e, ev, CSIRT_ECONFLICT);
	refused(&e, fx_custody(e.id, P(ITEM_TRANSFERRED), "i1", "inv", "", ""),
	        CSIRT_EINVAL);
	ev = fx_custody(e.id, P(ITEM_TRANSFERRED), "i1", "inv", "解析班 佐藤",
	                "解析");
	codec_set_string(&ev->item_transferred->at, "2999-01-01T00:00:00Z");
	refused(&e, ev, CSIRT_EINVAL); /* not in the future */
	ck_assert_int_eq(
	    submit(&e, fx_custody(e.id, P(ITEM_TRANSFERRED), "i1", "inv",
	                          "解析班 佐藤", "フォレンジック解析")),
	    0);
	/* A disposal has a method and no recipient. */
	refused(&e,
	        fx_custody(e.id, P(ITEM_DISPOSED), "i1", "inv", "x", "破砕"),
	        CSIRT_EINVAL);
	refused(&e, fx_custody(e.id, P(ITEM_DISPOSED), "i1", "inv", "", ""),
	        CSIRT_EINVAL);
	ck_assert_int_eq(submit(&e, fx_custody(e.id, P(ITEM_RETURNED), "i1",
	                                       "inv", "山田太郎", "")),
	                 0);
	refused(&e, fx_custody(e.id, P(ITEM_TRANSFERRED), "i1", "inv", "x", ""),
	        CSIRT_ESTATE);

	c = get_case(&e);
	ck_assert_uint_eq(c->items[0]->n_custody, 3);
	ck_assert_str_eq(c->items[0]->custody[1]->from, "rep1");
	ck_assert_str_eq(c->items[0]->custody[1]->to, "解析班 佐藤");
	ck_assert_str_eq(c->items[0]->custody[1]->purpose,
	                 "フォレンジック解析");
	ck_assert_str_eq(c->items[0]->custody[1]->by, "inv");
	ck_assert_str_eq(c->items[0]->custody[2]->action, "returned");
	ck_assert_str_eq(c->items[0]->holder, "山田太郎");
	ck_assert_int_eq(c->items[0]->state,
	                 CSIRT__V1__ITEM_STATE__ITEM_STATE_RETURNED);
	/* Japanese text round-trips through case.json's proto3 JSON. */
	{
		struct buf j1 = BUF_INIT, j2 = BUF_INIT;
		Csirt__V1__Case *back = NULL;
		ck_assert_int_eq(codec_to_json(&j1, &c->base, CODEC_PRETTY), 0);
		ck_assert_ptr_nonnull(strstr(j1.data, "\"解析班 佐藤\""));
		ck_assert_ptr_nonnull(strstr(j1.data, "\"owner_name\": "
		                                      "\"山田太郎\""));
		ck_assert_int_eq(codec_from_json((ProtobufCMessage **)&back,
		                                 &csirt__v1__case__descriptor,
		                                 j1.data, j1.len, NULL),
		                 0);
		ck_assert_int_eq(codec_to_json(&j2, &back->base, CODEC_PRETTY),
		                 0);
		ck_assert_str_eq(j1.data, j2.data);
		case_free(back);
		buf_free(&j1);
		buf_free(&j2);
	}
	case_free(c);
	fx_env_free(&e.fx);
}
END_TEST

Suite *
request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_request_every_state_action_role);
	tcase_add_test(tc, test_request_only_while_investigating);
	tcase_add_test(tc, test_request_validation_and_steps);
	tcase_add_test(tc, test_request_custody_chain);
	suite_add_tcase(s, tc);
	return s;
}
