/*
 * check_authz.c - the authorisation matrix of the wire API: every RPC x
 * every role, with a 所属長 of the case's own division and of another,
 * against the real daemon.  Each cell is one of:
 *   P  passes authorisation (any answer but 401/403; for CaseService also
 *      not 404, i.e. the case was visible),
 *   D  permission_denied (403),
 *   H  not_found (404): another division's case does not exist for them.
 * Every denial must also be logged with actor, method and reason.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient.h"
#include "codec.h"
#include "suites.h"

enum { P, D, H };
enum { REP1, REP2, SM, LEAD, INV, AUD, ADMIN, NCOLS };

static const char *const col_names[NCOLS] = {"rep1 (own division)",
                                             "rep2 (other division)",
                                             "sm",
                                             "lead",
                                             "inv",
                                             "aud",
                                             "admin"};

static const struct row {
	const char *method;
	int expect[NCOLS];
} matrix[] = {
    {"CaseService/ReportIncident", {P, D, P, D, D, D, D}},
    {"CaseService/GetCase", {P, H, P, P, P, P, D}},
    {"CaseService/ListCases", {P, D, P, P, P, P, D}},
    {"CaseService/UpdateCase", {P, H, P, P, D, D, D}},
    {"CaseService/Acknowledge", {D, D, P, D, D, D, D}},
    {"CaseService/GiveGuidance", {D, D, P, D, D, D, D}},
    {"CaseService/Escalate", {D, D, P, D, D, D, D}},
    {"CaseService/Dismiss", {D, D, P, D, D, D, D}},
    {"CaseService/OpenInvestigation", {D, D, D, P, D, D, D}},
    {"CaseService/AssignInvestigators", {D, D, D, P, D, D, D}},
    {"CaseService/AddNote", {D, D, P, P, P, D, D}},
    /* n1 was written by sm: its author and the lead may edit it; the
     * investigator, though assigned, is not its author. */
    {"CaseService/EditNote", {D, D, P, P, D, D, D}},
    /* n1 inherits x's 機密性中 (第4.4), content a 所属長 may not read
     * (classify.c's table): refused, not hidden. */
    {"CaseService/GetNoteVersions", {D, H, P, P, P, P, D}},
    {"CaseService/Resolve", {D, D, D, P, D, D, D}},
    {"CaseService/Close", {D, D, P, P, D, D, D}},
    {"CaseService/Reopen", {D, D, D, P, D, D, D}},
    {"CaseService/GetHistory", {P, H, P, P, P, P, D}},
    /* A 所属長 gets their own division's statistics; naming another
     * (the case's d1, for rep2) is refused. */
    {"CaseService/GetStatistics", {P, D, P, P, P, P, D}},
    /* The long-poll: every case role (a 所属長 of another division is
     * answered, with none of d1's events); the administrator is denied
     * rather than given the directory events alone. */
    {"CaseService/WatchEvents", {P, P, P, P, P, P, D}},
    /* 第13.2: r1 (a device request) and i1 exist on the investigated
     * case.  The CSIRT (lead, assigned investigator) asks and keeps the
     * items; the 所属長 of the division answers (another division's: not
     * found); auditors read; the SM and the administrator do neither. */
    {"CaseService/CreateRequest", {D, D, D, P, P, D, D}},
    {"CaseService/AcknowledgeRequest", {P, H, D, D, D, D, D}},
    {"CaseService/RespondToRequest", {P, H, D, D, D, D, D}},
    {"CaseService/ListRequests", {P, H, P, P, P, P, D}},
    {"CaseService/FulfilRequest", {D, D, D, P, P, D, D}},
    {"CaseService/CancelRequest", {D, D, D, P, P, D, D}},
    {"CaseService/RegisterItem", {D, D, D, P, P, D, D}},
    {"CaseService/TransferItem", {D, D, D, P, P, D, D}},
    {"CaseService/ReturnItem", {D, D, D, P, P, D, D}},
    {"CaseService/DisposeItem", {D, D, D, P, P, D, D}},
    {"DirectoryService/WhoAmI", {P, P, P, P, P, P, P}},
    {"DirectoryService/CreateDivision", {D, D, D, D, D, D, P}},
    {"DirectoryService/ListDivisions", {P, P, P, P, P, P, P}},
    {"DirectoryService/CreateUser", {D, D, D, D, D, D, P}},
    {"DirectoryService/UpdateUser", {D, D, D, D, D, D, P}},
    {"DirectoryService/DisableUser", {D, D, D, D, D, D, P}},
    {"DirectoryService/ListUsers", {D, D, P, P, D, P, P}},
    {"DirectoryService/IssueToken", {D, D, D, D, D, D, P}},
    {"DirectoryService/ListTokens", {D, D, D, D, D, D, P}},
    {"DirectoryService/RevokeToken", {D, D, D, D, D, D, P}},
};

static Csirt__V1__Classification *
low(void)
{
	Csirt__V1__Classification *cl =
	    apic_msg_new(&csirt__v1__classification__descriptor);

	cl->confidentiality = CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
	cl->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_LOW;
	cl->availability = CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	return cl;
}

/* A request for `method`.  `x` is a case of d1 under investigation with
 * "inv" assigned; `r` a case of d1 still REPORTED (for UpdateCase). */
static ProtobufCMessage *
build(const char *method, const char *x, const char *r, int col)
{
	const char *m = strchr(method, '/') + 1;

	if (strcmp(m, "ReportIncident") == 0) {
		Csirt__V1__ReportIncidentRequest *q = apic_msg_new(
		    &csirt__v1__report_incident_request__descriptor);
		Csirt__V1__Case *c = apic_msg_new(&csirt__v1__case__descriptor);
		char t[UTIL_TIME_LEN];
		util_time_format_ms(t, sizeof(t), util_time_now_ms() - 60000);
		c->category = CSIRT__V1__CATEGORY__CATEGORY_SYSTEM_MISUSE;
		codec_set_string(&c->title, "不正使用の疑い");
		codec_set_string(&c->description, "matrix");
		codec_set_string(&c->recognized_at, t);
		codec_set_string(&c->division, "d1");
		c->classification = low();
		q->case_ = c;
		return &q->base;
	}
	if (strcmp(m, "GetCase") == 0) {
		Csirt__V1__GetCaseRequest *q =
		    apic_msg_new(&csirt__v1__get_case_request__descriptor);
		codec_set_string(&q->id, x);
		return &q->base;
	}
	if (strcmp(m, "ListCases") == 0) {
		Csirt__V1__ListCasesRequest *q =
		    apic_msg_new(&csirt__v1__list_cases_request__descriptor);
		codec_set_string(&q->division, "d1");
		return &q->base;
	}
	if (strcmp(m, "GetStatistics") == 0) {
		Csirt__V1__GetStatisticsRequest *q = apic_msg_new(
		    &csirt__v1__get_statistics_request__descriptor);
		codec_set_string(&q->division, "d1");
		return &q->base;
	}
	if (strcmp(m, "UpdateCase") == 0) {
		Csirt__V1__UpdateCaseRequest *q =
		    apic_msg_new(&csirt__v1__update_case_request__descriptor);
		char t[64];
		snprintf(t, sizeof(t), "訂正 %d", col);
		codec_set_string(&q->id, r);
		codec_set_string(&q->title, t);
		return &q->base;
	}
	if (strcmp(m, "AssignInvestigators") == 0) {
		Csirt__V1__AssignInvestigatorsRequest *q = apic_msg_new(
		    &csirt__v1__assign_investigators_request__descriptor);
		codec_set_string(&q->id, x);
		q->assignees = util_xcalloc(1, sizeof(char *));
		q->assignees[q->n_assignees++] = util_strdup("inv");
		return &q->base;
	}
	if (strcmp(m, "AddNote") == 0) {
		Csirt__V1__AddNoteRequest *q =
		    apic_msg_new(&csirt__v1__add_note_request__descriptor);
		codec_set_string(&q->case_id, x);
		codec_set_string(&q->text, "所見");
		/* No classification: the note inherits the case's. */
		return &q->base;
	}
	if (strcmp(m, "EditNote") == 0) {
		Csirt__V1__EditNoteRequest *q =
		    apic_msg_new(&csirt__v1__edit_note_request__descriptor);
		char t[64];
		snprintf(t, sizeof(t), "訂正 %d", col);
		codec_set_string(&q->case_id, x);
		codec_set_string(&q->note_id, "n1");
		codec_set_string(&q->text, t);
		return &q->base;
	}
	if (strcmp(m, "GetNoteVersions") == 0) {
		Csirt__V1__GetNoteVersionsRequest *q = apic_msg_new(
		    &csirt__v1__get_note_versions_request__descriptor);
		codec_set_string(&q->case_id, x);
		codec_set_string(&q->note_id, "n1");
		return &q->base;
	}
	if (strcmp(m, "WatchEvents") == 0) {
		Csirt__V1__WatchEventsRequest *q =
		    apic_msg_new(&csirt__v1__watch_events_request__descriptor);
		q->max_wait_ms = 100;
		return &q->base;
	}
	if (strcmp(m, "CreateRequest") == 0) {
		Csirt__V1__CreateRequestRequest *q = apic_msg_new(
		    &csirt__v1__create_request_request__descriptor);
		char t[UTIL_TIME_LEN];
		util_time_format_ms(t, sizeof(t),
		                    util_time_now_ms() + 86400000);
		codec_set_string(&q->case_id, x);
		q->kind = CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE;
		codec_set_string(&q->description, "私有スマートフォンの提出");
		codec_set_string(&q->due, t);
		return &q->base;
	}
	if (strcmp(m, "AcknowledgeRequest") == 0 ||
	    strcmp(m, "FulfilRequest") == 0 ||
	    strcmp(m, "CancelRequest") == 0) {
		Csirt__V1__RequestActionRequest *q = apic_msg_new(
		    &csirt__v1__request_action_request__descriptor);
		codec_set_string(&q->case_id, x);
		codec_set_string(&q->request_id, "r1");
		codec_set_string(&q->text, "matrix");
		return &q->base;
	}
	if (strcmp(m, "RespondToRequest") == 0) {
		Csirt__V1__RespondToRequestRequest *q = apic_msg_new(
		    &csirt__v1__respond_to_request_request__descriptor);
		codec_set_string(&q->case_id, x);
		codec_set_string(&q->request_id, "r1");
		codec_set_string(&q->text, "提出します");
		return &q->base;
	}
	if (strcmp(m, "ListRequests") == 0) {
		Csirt__V1__ListRequestsRequest *q =
		    apic_msg_new(&csirt__v1__list_requests_request__descriptor);
		codec_set_string(&q->case_id, x);
		return &q->base;
	}
	if (strcmp(m, "RegisterItem") == 0) {
		Csirt__V1__RegisterItemRequest *q =
		    apic_msg_new(&csirt__v1__register_item_request__descriptor);
		q->item = apic_msg_new(&csirt__v1__physical_item__descriptor);
		codec_set_string(&q->case_id, x);
		q->item->kind =
		    CSIRT__V1__EQUIPMENT_KIND__EQUIPMENT_KIND_MOBILE_PHONE;
		q->item->owner = CSIRT__V1__OWNERSHIP__OWNERSHIP_OFFICIAL;
		codec_set_string(&q->item->serial, "IMEI-0001");
		codec_set_string(&q->item->seal_number, "S-1");
		return &q->base;
	}
	if (strcmp(m, "TransferItem") == 0 || strcmp(m, "ReturnItem") == 0 ||
	    strcmp(m, "DisposeItem") == 0) {
		Csirt__V1__ItemCustodyRequest *q =
		    apic_msg_new(&csirt__v1__item_custody_request__descriptor);
		codec_set_string(&q->case_id, x);
		codec_set_string(&q->item_id, "i1");
		if (strcmp(m, "DisposeItem") != 0)
			codec_set_string(&q->to, "matrix");
		codec_set_string(&q->purpose, "matrix");
		return &q->base;
	}
	if (strcmp(m, "GetHistory") == 0) {
		Csirt__V1__GetHistoryRequest *q =
		    apic_msg_new(&csirt__v1__get_history_request__descriptor);
		codec_set_string(&q->case_id, x);
		return &q->base;
	}
	if (strncmp(method, "CaseService/", 12) == 0) {
		Csirt__V1__CaseActionRequest *q =
		    apic_msg_new(&csirt__v1__case_action_request__descriptor);
		codec_set_string(&q->id, x);
		codec_set_string(&q->text, "matrix");
		return &q->base;
	}
	if (strcmp(m, "CreateDivision") == 0) {
		Csirt__V1__CreateDivisionRequest *q = apic_msg_new(
		    &csirt__v1__create_division_request__descriptor);
		q->division = apic_msg_new(&csirt__v1__division__descriptor);
		codec_set_string(&q->division->code, "d9");
		codec_set_string(&q->division->name, "警務課");
		return &q->base;
	}
	if (strcmp(m, "CreateUser") == 0 || strcmp(m, "UpdateUser") == 0) {
		Csirt__V1__CreateUserRequest *q =
		    apic_msg_new(&csirt__v1__create_user_request__descriptor);
		q->user = apic_msg_new(&csirt__v1__user__descriptor);
		codec_set_string(&q->user->login, "spare");
		codec_set_string(&q->user->display_name, "予備");
		q->user->role = CSIRT__V1__ROLE__ROLE_AUDITOR;
		/* UpdateUserRequest has the same shape (field 1: user). */
		return &q->base;
	}
	if (strcmp(m, "DisableUser") == 0) {
		Csirt__V1__DisableUserRequest *q =
		    apic_msg_new(&csirt__v1__disable_user_request__descriptor);
		codec_set_string(&q->login, "spare");
		return &q->base;
	}
	if (strcmp(m, "ListUsers") == 0)
		return apic_msg_new(&csirt__v1__list_users_request__descriptor);
	if (strcmp(m, "IssueToken") == 0) {
		Csirt__V1__IssueTokenRequest *q =
		    apic_msg_new(&csirt__v1__issue_token_request__descriptor);
		codec_set_string(&q->login, "aud");
		return &q->base;
	}
	if (strcmp(m, "ListTokens") == 0)
		return apic_msg_new(
		    &csirt__v1__list_tokens_request__descriptor);
	if (strcmp(m, "RevokeToken") == 0) {
		Csirt__V1__RevokeTokenRequest *q =
		    apic_msg_new(&csirt__v1__revoke_token_request__descriptor);
		codec_set_string(&q->token_id, "t000000000000");
		return &q->base;
	}
	if (strcmp(m, "ListDivisions") == 0)
		return apic_msg_new(
		    &csirt__v1__list_divisions_request__descriptor);
	if (strcmp(m, "WhoAmI") == 0)
		return apic_msg_new(&csirt__v1__who_am_irequest__descriptor);
	ck_abort_msg("no request builder for %s", method);
	return NULL;
}

START_TEST(test_authz_matrix)
{
	struct apic a;
	const char *tok[NCOLS];
	char *x, *r, *log = NULL;
	size_t denials = 0;

	apic_start(&a);
	tok[REP1] = a.rep1;
	tok[REP2] = a.rep2;
	tok[SM] = a.sm;
	tok[LEAD] = a.lead;
	tok[INV] = a.inv;
	tok[AUD] = a.aud;
	tok[ADMIN] = a.admin;
	x = apic_report(&a, a.rep1, "調査中の事案");
	r = apic_report(&a, a.rep1, "報告直後の事案");
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(
	    apic_action(&a, a.sm, "CaseService/Escalate", x, "CSIRTへ"), 200);
	ck_assert_int_eq(
	    apic_action(&a, a.lead, "CaseService/OpenInvestigation", x, "調査"),
	    200);
	{
		ProtobufCMessage *q =
		    build("CaseService/AssignInvestigators", x, r, LEAD);
		ck_assert_int_eq(apic_call(&a, a.lead,
		                           "CaseService/AssignInvestigators", q,
		                           NULL, NULL, NULL),
		                 200);
		codec_free(q);
	}
	/* 第13.2: request r1 and item i1 for the rows that name them. */
	{
		static const char *const setup[] = {"CaseService/CreateRequest",
		                                    "CaseService/RegisterItem"};
		for (size_t i = 0; i < UTIL_ARRAY_LEN(setup); i++) {
			ProtobufCMessage *q = build(setup[i], x, r, LEAD);
			ck_assert_int_eq(apic_call(&a, a.lead, setup[i], q,
			                           NULL, NULL, NULL),
			                 200);
			codec_free(q);
		}
	}

	for (size_t i = 0; i < UTIL_ARRAY_LEN(matrix); i++) {
		for (int c = 0; c < NCOLS; c++) {
			ProtobufCMessage *q = build(matrix[i].method, x, r, c);
			struct buf err = BUF_INIT;
			int st = apic_call(&a, tok[c], matrix[i].method, q,
			                   NULL, NULL, &err);
			int want = matrix[i].expect[c];
			bool is_case =
			    strncmp(matrix[i].method, "CaseService/", 12) == 0;
			if (want == D) {
				ck_assert_msg(
				    st == 403 &&
				        strstr(err.data,
				               "\"permission_denied\""),
				    "%s as %s: %d %s, want 403",
				    matrix[i].method, col_names[c], st,
				    err.data ? err.data : "");
				denials++;
			} else if (want == H) {
				ck_assert_msg(
				    st == 404 &&
				        strstr(err.data, "\"not_found\""),
				    "%s as %s: %d %s, want 404",
				    matrix[i].method, col_names[c], st,
				    err.data ? err.data : "");
				denials++;
			} else {
				ck_assert_msg(
				    st != 401 && st != 403 &&
				        !(is_case && st == 404),
				    "%s as %s: %d %s, want it authorised",
				    matrix[i].method, col_names[c], st,
				    err.data ? err.data : "");
			}
			codec_free(q);
			buf_free(&err);
		}
	}
	/* Every denial was logged with actor, method and reason (read
	 * before apic_stop removes the directory). */
	ck_assert_int_eq(util_read_file(&log, NULL, a.d.log_path, 64 << 20), 0);
	apic_stop(&a);
	{
		size_t n = 0;
		for (const char *p = log; (p = strstr(p, "msg=denied")) != NULL;
		     p++)
			n++;
		ck_assert_uint_ge(n, denials);
	}
	ck_assert_ptr_nonnull(
	    strstr(log, "msg=denied id=")); /* with the request id */
	ck_assert_ptr_nonnull(strstr(log, "actor=rep2 "
	                                  "method=csirt.v1.CaseService/GetCase "
	                                  "reason=\"case of another "
	                                  "division\""));
	ck_assert_ptr_nonnull(
	    strstr(log, "actor=aud "
	                "method=csirt.v1.CaseService/"
	                "Acknowledge reason=\"ROLE_AUDITOR may not "
	                "call Acknowledge\""));
	free(log);
	free(x);
	free(r);
}
END_TEST

Suite *
authz_suite(void)
{
	Suite *s = suite_create("authz");
	TCase *tc = tcase_create("matrix");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_authz_matrix);
	suite_add_tcase(s, tc);
	return s;
}
