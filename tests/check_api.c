/*
 * check_api.c - the Twirp API of the real daemon on a loopback port:
 * a full 第13 lifecycle in protobuf and in JSON (curl), division scoping,
 * role denials, and hostile input answered with Twirp errors while
 * nothing reaches the ledger.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "csirt/v1/service.pb-c.h"
#include "apiclient.h"
#include "suites.h"
#include "testutil.h"

static Csirt__V1__CaseResponse *
action(struct apic *a, const char *token, const char *method, const char *id,
       const char *text, int expect)
{
	Csirt__V1__CaseActionRequest *r =
	    apic_msg_new(&csirt__v1__case_action_request__descriptor);
	Csirt__V1__CaseResponse *resp = NULL;
	struct buf err = BUF_INIT;
	int status;

	codec_set_string(&r->id, id);
	codec_set_string(&r->text, text);
	status = apic_call(a, token, method, &r->base,
	                   &csirt__v1__case_response__descriptor,
	                   (ProtobufCMessage **)&resp, &err);
	ck_assert_msg(status == expect, "%s: %d, expected %d: %s", method,
	              status, expect, err.data ? err.data : "");
	codec_free(&r->base);
	buf_free(&err);
	return resp;
}

/* A report classified 機密性 `conf` (0: apic_report_request's 中). */
static char *
report_conf(struct apic *a, const char *token, const char *title,
            Csirt__V1__Confidentiality conf, int expect, struct buf *err)
{
	Csirt__V1__ReportIncidentRequest *r = apic_report_request(title);
	Csirt__V1__CaseResponse *resp = NULL;
	char *id = NULL;

	if (conf != 0)
		r->case_->classification->confidentiality = conf;
	ck_assert_int_eq(apic_call(a, token, "CaseService/ReportIncident",
	                           &r->base,
	                           &csirt__v1__case_response__descriptor,
	                           (ProtobufCMessage **)&resp, err),
	                 expect);
	if (resp != NULL) {
		ck_assert_str_eq(resp->case_->title, title);
		ck_assert_int_eq(resp->case_->state,
		                 CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED);
		ck_assert_uint_eq(strlen(resp->commit), 40);
		id = util_strdup(resp->case_->id);
		codec_free(&resp->base);
	}
	codec_free(&r->base);
	return id;
}

static char *
report(struct apic *a, const char *token, const char *title, int expect,
       struct buf *err)
{
	return report_conf(a, token, title, 0, expect, err);
}

START_TEST(test_api_lifecycle_protobuf)
{
	static const char title[] = "機器の紛失事案：モバイルPC";
	struct apic a;
	struct buf err = BUF_INIT;
	Csirt__V1__CaseResponse *r;
	Csirt__V1__GetCaseRequest *g =
	    apic_msg_new(&csirt__v1__get_case_request__descriptor);
	Csirt__V1__GetHistoryRequest *h =
	    apic_msg_new(&csirt__v1__get_history_request__descriptor);
	Csirt__V1__GetHistoryResponse *hist = NULL;
	Csirt__V1__AssignInvestigatorsRequest *as =
	    apic_msg_new(&csirt__v1__assign_investigators_request__descriptor);
	Csirt__V1__AddNoteRequest *note =
	    apic_msg_new(&csirt__v1__add_note_request__descriptor);
	char *id;

	apic_start(&a);
	id = report(&a, a.rep1, title, 200, &err);
	codec_free(&action(&a, a.sm, "CaseService/Acknowledge", id, "受理", 200)
	                ->base);
	codec_free(&action(&a, a.sm, "CaseService/GiveGuidance", id,
	                   "遺失届を最寄りの警察署に提出すること", 200)
	                ->base);
	codec_free(&action(&a, a.sm, "CaseService/Escalate", id, "CSIRTへ", 200)
	                ->base);
	codec_free(&action(&a, a.lead, "CaseService/OpenInvestigation", id,
	                   "調査開始", 200)
	                ->base);
	codec_set_string(&as->id, id);
	as->assignees = util_xcalloc(1, sizeof(char *));
	as->assignees[as->n_assignees++] = util_strdup("inv");
	ck_assert_int_eq(apic_call(&a, a.lead,
	                           "CaseService/AssignInvestigators", &as->base,
	                           NULL, NULL, NULL),
	                 200);
	codec_set_string(&note->case_id, id);
	codec_set_string(&note->text, "本人から聴取。電車内に置き忘れた。");
	/* 第4.4: a note is never below its case: 機密性低 on this 機密性中
	 * case is refused; without a classification it inherits the
	 * case's (and is stored encrypted). */
	note->classification =
	    apic_msg_new(&csirt__v1__classification__descriptor);
	note->classification->confidentiality =
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
	{
		struct buf e = BUF_INIT;
		ck_assert_int_eq(apic_call(&a, a.inv, "CaseService/AddNote",
		                           &note->base, NULL, NULL, &e),
		                 400);
		ck_assert_msg(strstr(e.data, "is below the case's") != NULL,
		              "%s", e.data);
		buf_free(&e);
	}
	codec_free(&note->classification->base);
	note->classification = NULL;
	ck_assert_int_eq(apic_call(&a, a.inv, "CaseService/AddNote",
	                           &note->base, NULL, NULL, NULL),
	                 200);
	codec_free(&action(&a, a.lead, "CaseService/Resolve", id,
	                   "遺失物として届出済み", 200)
	                ->base);
	r = action(&a, a.sm, "CaseService/Close", id, "完了", 200);
	ck_assert_int_eq(r->case_->state,
	                 CSIRT__V1__CASE_STATE__CASE_STATE_CLOSED);
	ck_assert_str_eq(r->case_->title, title);
	ck_assert_str_eq(r->case_->division, "d1");
	ck_assert_str_eq(r->case_->reporter, "rep1");
	codec_free(&r->base);

	/* An illegal transition is failed_precondition (412). */
	buf_reset(&err);
	ck_assert_ptr_null(
	    action(&a, a.lead, "CaseService/Resolve", id, "x", 412));

	/* Scoping: another division's case does not exist for rep2. */
	codec_set_string(&g->id, id);
	buf_reset(&err);
	ck_assert_int_eq(apic_call(&a, a.rep2, "CaseService/GetCase", &g->base,
	                           NULL, NULL, &err),
	                 404);
	ck_assert_ptr_nonnull(strstr(err.data, "\"code\":\"not_found\""));
	ck_assert_int_eq(apic_call(&a, a.rep1, "CaseService/GetCase", &g->base,
	                           NULL, NULL, NULL),
	                 200);
	/* The administrator cannot read case content; the auditor cannot
	 * write. */
	ck_assert_int_eq(apic_call(&a, a.admin, "CaseService/GetCase", &g->base,
	                           NULL, NULL, NULL),
	                 403);
	ck_assert_ptr_null(
	    action(&a, a.aud, "CaseService/Reopen", id, "x", 403));

	/* The auditor's history: every step, with actor, time, commit. */
	codec_set_string(&h->case_id, id);
	ck_assert_int_eq(apic_call(&a, a.aud, "CaseService/GetHistory",
	                           &h->base,
	                           &csirt__v1__get_history_response__descriptor,
	                           (ProtobufCMessage **)&hist, NULL),
	                 200);
	ck_assert_uint_eq(hist->n_entries, 9);
	ck_assert_str_eq(hist->entries[0]->event->type, "case.reported");
	ck_assert_str_eq(hist->entries[0]->event->actor, "rep1");
	ck_assert_str_eq(hist->entries[8]->event->type, "case.closed");
	ck_assert_str_eq(hist->entries[8]->event->actor, "sm");
	for (size_t i = 0; i < hist->n_entries; i++) {
		ck_assert_uint_eq(strlen(hist->entries[i]->commit), 40);
		ck_assert_uint_gt(strlen(hist->entries[i]->event->time), 0);
	}
	codec_free(&hist->base);
	codec_free(&g->base);
	codec_free(&h->base);
	codec_free(&as->base);
	codec_free(&note->base);
	free(id);
	buf_free(&err);
	apic_stop(&a);
}
END_TEST

static Csirt__V1__NoteResponse *
edit_note(struct apic *a, const char *token, const char *case_id,
          const char *note_id, const char *text, int expect, struct buf *err)
{
	Csirt__V1__EditNoteRequest *r =
	    apic_msg_new(&csirt__v1__edit_note_request__descriptor);
	Csirt__V1__NoteResponse *resp = NULL;
	int status;

	codec_set_string(&r->case_id, case_id);
	codec_set_string(&r->note_id, note_id);
	codec_set_string(&r->text, text);
	codec_set_string(&r->reason, "追記");
	buf_reset(err);
	status = apic_call(a, token, "CaseService/EditNote", &r->base,
	                   &csirt__v1__note_response__descriptor,
	                   (ProtobufCMessage **)&resp, err);
	ck_assert_msg(status == expect, "EditNote: %d, expected %d: %s", status,
	              expect, err->data ? err->data : "");
	codec_free(&r->base);
	return resp;
}

static Csirt__V1__GetNoteVersionsResponse *
note_versions(struct apic *a, const char *token, const char *case_id,
              const char *note_id, int expect, struct buf *err)
{
	Csirt__V1__GetNoteVersionsRequest *r =
	    apic_msg_new(&csirt__v1__get_note_versions_request__descriptor);
	Csirt__V1__GetNoteVersionsResponse *resp = NULL;
	int status;

	codec_set_string(&r->case_id, case_id);
	codec_set_string(&r->note_id, note_id);
	buf_reset(err);
	status = apic_call(a, token, "CaseService/GetNoteVersions", &r->base,
	                   &csirt__v1__get_note_versions_response__descriptor,
	                   (ProtobufCMessage **)&resp, err);
	ck_assert_msg(status == expect, "GetNoteVersions: %d, expected %d: %s",
	              status, expect, err->data ? err->data : "");
	codec_free(&r->base);
	return resp;
}

/* Versioned notes (the issue): an edit is a new version at the note's
 * path, every version stays readable through the API and with git log -p,
 * and only the author or the CSIRT lead may edit. */
START_TEST(test_api_note_versions)
{
	static const char *const texts[] = {
	    "本人から聴取。電車内に置き忘れた。",
	    "本人から聴取。京王線の電車内に置き忘れた。",
	    "本人から聴取。京王線の電車内（新宿駅付近）に置き忘れた。\n"
	    "遺失物センターに照会済み。\n",
	    "本人から聴取。京王線の電車内（新宿駅付近）に置き忘れた。\n"
	    "遺失物センターに照会済み。\n（CSIRT長確認）\n",
	};
	static const char *const authors[] = {"inv", "inv", "inv", "lead"};
	struct apic a;
	struct buf err = BUF_INIT, out = BUF_INIT;
	char inv2[80], *id, *repo, *path = NULL, created[UTIL_TIME_LEN];
	Csirt__V1__AssignInvestigatorsRequest *as =
	    apic_msg_new(&csirt__v1__assign_investigators_request__descriptor);
	Csirt__V1__AddNoteRequest *note =
	    apic_msg_new(&csirt__v1__add_note_request__descriptor);
	Csirt__V1__GetHistoryRequest *h =
	    apic_msg_new(&csirt__v1__get_history_request__descriptor);
	Csirt__V1__GetHistoryResponse *hist = NULL;
	Csirt__V1__NoteResponse *nr = NULL;
	Csirt__V1__GetNoteVersionsResponse *vr;
	int status;

	apic_start(&a);
	apic_create_user(&a, "inv2", CSIRT__V1__ROLE__ROLE_INVESTIGATOR, "",
	                 inv2);
	/* 機密性低: its notes are plain text, every version visible to
	 * auditors with git log -p (機密性中・高 ones are sealed). */
	id = report_conf(&a, a.rep1, "機器の紛失事案：公用携帯電話機",
	                 CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW, 200,
	                 &err);
	codec_free(&action(&a, a.sm, "CaseService/Escalate", id, "CSIRTへ", 200)
	                ->base);
	codec_free(&action(&a, a.lead, "CaseService/OpenInvestigation", id,
	                   "調査開始", 200)
	                ->base);
	codec_set_string(&as->id, id);
	as->assignees = util_xcalloc(2, sizeof(char *));
	as->assignees[as->n_assignees++] = util_strdup("inv");
	as->assignees[as->n_assignees++] = util_strdup("inv2");
	ck_assert_int_eq(apic_call(&a, a.lead,
	                           "CaseService/AssignInvestigators", &as->base,
	                           NULL, NULL, NULL),
	                 200);

	/* Version 1. */
	codec_set_string(&note->case_id, id);
	codec_set_string(&note->text, texts[0]);
	/* No classification: the note inherits its case's (第4.4). */
	ck_assert_int_eq(apic_call(&a, a.inv, "CaseService/AddNote",
	                           &note->base,
	                           &csirt__v1__note_response__descriptor,
	                           (ProtobufCMessage **)&nr, NULL),
	                 200);
	ck_assert_str_eq(nr->note->id, "n1");
	ck_assert_uint_eq(nr->note->version, 1);
	snprintf(created, sizeof(created), "%s", nr->note->created_at);
	codec_free(&nr->base);

	/* The author edits twice: versions 2 and 3. */
	for (uint32_t v = 2; v <= 3; v++) {
		nr = edit_note(&a, a.inv, id, "n1", texts[v - 1], 200, &err);
		ck_assert_uint_eq(nr->note->version, v);
		ck_assert_str_eq(nr->note->id, "n1");
		ck_assert_str_eq(nr->note->case_id, id);
		ck_assert_str_eq(nr->note->author, "inv");
		ck_assert_str_eq(nr->note->text, texts[v - 1]);
		ck_assert_str_eq(nr->note->created_at, created);
		ck_assert_int_eq(
		    nr->note->classification->confidentiality,
		    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW);
		ck_assert_uint_eq(strlen(nr->commit), 40);
		codec_free(&nr->base);
	}

	/* Every version, oldest first, byte-exact; the reporting division
	 * reads its own case's 機密性低 notes. */
	vr = note_versions(&a, a.rep1, id, "n1", 200, &err);
	ck_assert_uint_eq(vr->n_versions, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_uint_eq(vr->versions[i]->version, i + 1);
		ck_assert_str_eq(vr->versions[i]->text, texts[i]);
		ck_assert_str_eq(vr->versions[i]->author, authors[i]);
		ck_assert_str_eq(vr->versions[i]->created_at, created);
	}
	codec_free(&vr->base);

	/* Another investigator on the case is not the author. */
	ck_assert_ptr_null(
	    edit_note(&a, inv2, id, "n1", "書き換え", 403, &err));
	ck_assert_ptr_nonnull(
	    strstr(err.data, "\"code\":\"permission_denied\""));
	ck_assert_ptr_nonnull(strstr(err.data, "only the author"));
	/* Unknown note; a note of no case; an unchanged text. */
	ck_assert_ptr_null(edit_note(&a, a.inv, id, "n2", "x", 404, &err));
	ck_assert_ptr_nonnull(strstr(err.data, "\"code\":\"not_found\""));
	ck_assert_ptr_null(
	    edit_note(&a, a.inv, "2026-999999", "n1", "x", 404, &err));
	ck_assert_ptr_null(edit_note(&a, a.inv, id, "n1", texts[2], 400, &err));
	/* The auditor and the reporter may read but not edit. */
	ck_assert_ptr_null(edit_note(&a, a.aud, id, "n1", "x", 403, &err));
	ck_assert_ptr_null(edit_note(&a, a.rep1, id, "n1", "x", 403, &err));

	/* The CSIRT lead may edit anyone's note. */
	nr = edit_note(&a, a.lead, id, "n1", texts[3], 200, &err);
	ck_assert_uint_eq(nr->note->version, 4);
	ck_assert_str_eq(nr->note->author, "lead");
	codec_free(&nr->base);
	vr = note_versions(&a, a.aud, id, "n1", 200, &err);
	ck_assert_uint_eq(vr->n_versions, 4);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_str_eq(vr->versions[i]->text, texts[i]);
		ck_assert_str_eq(vr->versions[i]->author, authors[i]);
	}
	codec_free(&vr->base);

	/* A reporter of another division learns nothing. */
	ck_assert_ptr_null(note_versions(&a, a.rep2, id, "n1", 404, &err));
	ck_assert_ptr_nonnull(strstr(err.data, "\"code\":\"not_found\""));
	ck_assert_ptr_null(note_versions(&a, a.inv, id, "n9", 404, &err));

	/* The note's path from the history: every edit wrote to it. */
	codec_set_string(&h->case_id, id);
	ck_assert_int_eq(apic_call(&a, a.aud, "CaseService/GetHistory",
	                           &h->base,
	                           &csirt__v1__get_history_response__descriptor,
	                           (ProtobufCMessage **)&hist, NULL),
	                 200);
	for (size_t i = 0; i < hist->n_entries; i++) {
		const Csirt__V1__Event *ev = hist->entries[i]->event;
		if (ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED)
			path = util_strdup(ev->note_added->path);
		else if (ev->payload_case ==
		         CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED)
			ck_assert_str_eq(ev->note_edited->path, path);
	}
	ck_assert_ptr_nonnull(path);
	codec_free(&hist->base);

	/* Stock git shows every version. */
	repo = util_path_join(a.data, "ledger.git");
	{
		const char *argv[] = {"git", "-C",          repo,     "log",
		                      "-p",  "--format=%s", "ledger", "--",
		                      path,  NULL};
		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
	}
	ck_assert_int_eq(status, 0);
	ck_assert_msg(strstr(out.data, "note.added ") != NULL, "%s", out.data);
	ck_assert_ptr_nonnull(strstr(out.data, "note.edited "));
	ck_assert_ptr_nonnull(
	    strstr(out.data, "+本人から聴取。電車内に置き忘れた。"));
	ck_assert_ptr_nonnull(
	    strstr(out.data, "+本人から聴取。京王線の電車内に置き忘れた。"));
	ck_assert_ptr_nonnull(strstr(
	    out.data,
	    "+本人から聴取。京王線の電車内（新宿駅付近）に置き忘れた。"));
	ck_assert_ptr_nonnull(strstr(out.data, "+（CSIRT長確認）"));
	{
		size_t n = 0;
		for (const char *p = out.data;
		     (p = strstr(p, "note.edited ")) != NULL; p++)
			n++;
		ck_assert_uint_eq(n, 3);
	}

	free(repo);
	free(path);
	free(id);
	codec_free(&as->base);
	codec_free(&note->base);
	codec_free(&h->base);
	buf_free(&err);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

START_TEST(test_api_update_case_records_before_and_after)
{
	struct apic a;
	Csirt__V1__UpdateCaseRequest *u =
	    apic_msg_new(&csirt__v1__update_case_request__descriptor);
	Csirt__V1__CaseResponse *r = NULL;
	Csirt__V1__Equipment *eq;
	struct buf err = BUF_INIT, out = BUF_INIT, path = BUF_INIT;
	char *id;
	int status;

	apic_start(&a);
	id = apic_report(&a, a.rep1, "件名（訂正前）");
	ck_assert_ptr_nonnull(id);
	codec_set_string(&u->id, id);
	codec_set_string(&u->title, "件名（訂正後）");
	codec_set_string(&u->reason, "誤記の訂正");
	u->replace_equipment = 1;
	u->equipment = util_xcalloc(1, sizeof(*u->equipment));
	eq = apic_msg_new(&csirt__v1__equipment__descriptor);
	eq->kind = CSIRT__V1__EQUIPMENT_KIND__EQUIPMENT_KIND_EXTERNAL_MEDIA;
	codec_set_string(&eq->management_number, "USB-0311");
	eq->owner = CSIRT__V1__OWNERSHIP__OWNERSHIP_OFFICIAL;
	u->equipment[u->n_equipment++] = eq;
	ck_assert_msg(apic_call(&a, a.rep1, "CaseService/UpdateCase", &u->base,
	                        &csirt__v1__case_response__descriptor,
	                        (ProtobufCMessage **)&r, &err) == 200,
	              "%s", err.data);
	ck_assert_str_eq(r->case_->title, "件名（訂正後）");
	ck_assert_uint_eq(r->case_->n_equipment, 1);
	ck_assert_str_eq(r->case_->equipment[0]->management_number, "USB-0311");
	/* The change is recorded with before and after in the ledger. */
	buf_printf(&path,
	           "git -C '%s/ledger.git' show ledger --format= -- "
	           "'*/events/*.json'",
	           a.data);
	{
		const char *argv[] = {"sh", "-c", path.data, NULL};
		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
	}
	ck_assert_ptr_nonnull(strstr(out.data, "\"field\": \"title\""));
	ck_assert_ptr_nonnull(strstr(out.data, "件名（訂正前）"));
	ck_assert_ptr_nonnull(strstr(out.data, "\"field\": \"equipment\""));
	ck_assert_ptr_nonnull(strstr(out.data, "USB-0311"));
	codec_free(&r->base);
	codec_free(&u->base);
	free(id);
	buf_free(&err);
	buf_free(&out);
	buf_free(&path);
	apic_stop(&a);
}
END_TEST

/* Raw request helper for hostile input. */
static int
raw(struct apic *a, const char *method, const char *path, const char *ctype,
    const char *token, const void *body, size_t len, struct buf *out)
{
	struct buf hdr = BUF_INIT;
	int status;

	if (ctype != NULL)
		buf_printf(&hdr, "Content-Type: %s\r\n", ctype);
	if (token != NULL)
		buf_printf(&hdr, "Authorization: Bearer %s\r\n", token);
	buf_reset(out);
	status = tu_http(a->d.addr, method, path, hdr.data, body, len, out);
	buf_free(&hdr);
	return status;
}

START_TEST(test_api_bad_input_gets_twirp_errors)
{
	static const char get[] = "/twirp/csirt.v1.CaseService/GetCase";
	static const char rep[] = "/twirp/csirt.v1.CaseService/ReportIncident";
	static const char pb[] = "application/protobuf";
	static const char js[] = "application/json";
	struct apic a;
	struct buf out = BUF_INIT;
	uint64_t before;

	apic_start(&a);
	before = apic_ledger_seq(&a);
	ck_assert_int_eq(
	    raw(&a, "POST", get, js, NULL, "{}", strlen("{}"), &out), 401);
	ck_assert_ptr_nonnull(strstr(out.data, "\"unauthenticated\""));
	ck_assert_int_eq(
	    raw(&a, "POST", get, js,
	        "csirt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "{}", 2,
	        &out),
	    401);
	ck_assert_int_eq(raw(&a, "GET", get, js, a.sm, NULL, 0, &out), 404);
	ck_assert_ptr_nonnull(strstr(out.data, "\"bad_route\""));
	ck_assert_int_eq(raw(&a, "POST", "/twirp/csirt.v1.CaseService/Nope", js,
	                     a.sm, "{}", 2, &out),
	                 404);
	ck_assert_ptr_nonnull(strstr(out.data, "\"bad_route\""));
	ck_assert_int_eq(
	    raw(&a, "POST", get, "text/plain", a.sm, "{}", 2, &out), 404);
	ck_assert_ptr_nonnull(strstr(out.data, "\"bad_route\""));
	/* Malformed protobuf, invalid JSON, invalid UTF-8, bad enum. */
	ck_assert_int_eq(raw(&a, "POST", rep, pb, a.rep1, "\xff\xff\xff",
	                     strlen("\xff\xff\xff"), &out),
	                 400);
	ck_assert_ptr_nonnull(strstr(out.data, "\"malformed\""));
	ck_assert_int_eq(raw(&a, "POST", rep, js, a.rep1,
	                     "{\"case\":", strlen("{\"case\":"), &out),
	                 400);
	ck_assert_ptr_nonnull(strstr(out.data, "\"malformed\""));
	ck_assert_int_eq(raw(&a, "POST", rep, js, a.rep1,
	                     "{\"case\":{\"title\":\"\xc3\x28\"}}",
	                     strlen("{\"case\":{\"title\":\"\xc3\x28\"}}"),
	                     &out),
	                 400);
	ck_assert_int_eq(raw(&a, "POST", rep, js, a.rep1,
	                     "{\"case\":{\"category\":99}}",
	                     strlen("{\"case\":{\"category\":99}}"), &out),
	                 400);
	ck_assert_ptr_nonnull(strstr(out.data, "\"malformed\""));
	/* Missing required fields: invalid_argument from validation. */
	ck_assert_int_eq(raw(&a, "POST", rep, js, a.rep1,
	                     "{\"case\":{\"title\":\"x\"}}",
	                     strlen("{\"case\":{\"title\":\"x\"}}"), &out),
	                 400);
	ck_assert_ptr_nonnull(strstr(out.data, "\"invalid_argument\""));
	/* A role that may not call the method. */
	ck_assert_int_eq(raw(&a, "POST", rep, js, a.aud, "{\"case\":{}}",
	                     strlen("{\"case\":{}}"), &out),
	                 403);
	ck_assert_ptr_nonnull(strstr(out.data, "\"permission_denied\""));
	/* None of it reached the ledger, and the daemon still serves. */
	ck_assert_uint_eq(apic_ledger_seq(&a), before);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

START_TEST(test_api_lifecycle_json_curl)
{
	struct apic a;
	struct buf out = BUF_INIT, url = BUF_INIT, auth = BUF_INIT,
	           body = BUF_INIT;
	char recognized[UTIL_TIME_LEN], id[16];
	const char *p;
	static const struct {
		const char *who, *method, *text;
	} steps[] = {{"sm", "Acknowledge", "受理"},
	             {"sm", "GiveGuidance", "指導"},
	             {"sm", "Escalate", "CSIRTへ"},
	             {"lead", "OpenInvestigation", "調査"},
	             {"lead", "Resolve", "解決"},
	             {"sm", "Close", "完了"}};
	int status;

	apic_start(&a);
	util_time_format_ms(recognized, sizeof(recognized),
	                    util_time_now_ms() - 600000);
	buf_printf(
	    &body,
	    "{\"case\":{\"category\":\"CATEGORY_MALWARE_INTRUSION\","
	    "\"title\":\"不正アクセスの疑い\",\"description\":\"端末の挙動"
	    "不審\",\"recognizedAt\":\"%s\",\"classification\":{"
	    "\"confidentiality\":\"CONFIDENTIALITY_HIGH\",\"integrity\":"
	    "\"INTEGRITY_HIGH\",\"availability\":\"AVAILABILITY_LOW\"}}}",
	    recognized);
	buf_printf(&url, "http://%s/twirp/csirt.v1.CaseService/ReportIncident",
	           a.d.addr);
	buf_printf(&auth, "Authorization: Bearer %s", a.rep1);
	{
		const char *argv[] = {
		    "curl",   "-sS",     "-H", "Content-Type: application/json",
		    "-H",     auth.data, "-d", body.data,
		    url.data, NULL};
		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
	}
	p = strstr(out.data, "\"id\":\"");
	ck_assert_msg(p != NULL, "%s", out.data);
	snprintf(id, sizeof(id), "%.11s", p + 6);
	ck_assert_ptr_nonnull(strstr(out.data, "不正アクセスの疑い"));
	ck_assert_ptr_nonnull(
	    strstr(out.data, "\"state\":\"CASE_STATE_REPORTED\""));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++) {
		const char *tok =
		    strcmp(steps[i].who, "sm") == 0 ? a.sm : a.lead;
		buf_reset(&url);
		buf_reset(&auth);
		buf_reset(&body);
		buf_reset(&out);
		buf_printf(&url, "http://%s/twirp/csirt.v1.CaseService/%s",
		           a.d.addr, steps[i].method);
		buf_printf(&auth, "Authorization: Bearer %s", tok);
		buf_printf(&body, "{\"id\":\"%s\",\"text\":\"%s\"}", id,
		           steps[i].text);
		const char *argv[] = {
		    "curl",   "-sS",     "-H", "Content-Type: application/json",
		    "-H",     auth.data, "-d", body.data,
		    url.data, NULL};
		ck_assert_int_eq(tu_run(&out, &status, argv), 0);
		ck_assert_msg(strstr(out.data, "\"commit\":\"") != NULL,
		              "%s: %s", steps[i].method, out.data);
	}
	ck_assert_ptr_nonnull(
	    strstr(out.data, "\"state\":\"CASE_STATE_CLOSED\""));
	buf_free(&out);
	buf_free(&url);
	buf_free(&auth);
	buf_free(&body);
	apic_stop(&a);
}
END_TEST

/* DESIGN.md §4 deadlines against the real daemon: with a 1 s
 * acknowledgement limit (ack_limit_s, for testing) the daemon itself writes
 * deadline.missed and ListCases{overdue} returns the case; a category in
 * auto_escalate_categories is escalated by the daemon on report. */
START_TEST(test_api_deadline_missed_and_overdue_list)
{
	struct apic a;
	struct buf err = BUF_INIT;
	const char *extra[] = {"--config", NULL, NULL};
	static const char conf_text[] =
	    "ack_limit_s = 1\nauto_escalate_categories = 1\n";
	Csirt__V1__ReportIncidentRequest *rq;
	Csirt__V1__CaseResponse *cr = NULL;
	Csirt__V1__ListCasesRequest *lq =
	    apic_msg_new(&csirt__v1__list_cases_request__descriptor);
	Csirt__V1__ListCasesResponse *lr = NULL;
	Csirt__V1__GetHistoryRequest *h =
	    apic_msg_new(&csirt__v1__get_history_request__descriptor);
	Csirt__V1__GetHistoryResponse *hist = NULL;
	char *dir = tu_tmpdir(), *conf, *id;
	int found = 0;

	conf = util_path_join(dir, "csirtd.conf");
	ck_assert_int_eq(util_write_file_atomic(conf, conf_text,
	                                        sizeof(conf_text) - 1, 0600),
	                 0);
	extra[1] = conf;
	apic_start_args(&a, extra);

	/* 情報流出: escalated by csirtd in the report's batch. */
	rq = apic_report_request("メール誤送信");
	rq->case_->category = CSIRT__V1__CATEGORY__CATEGORY_INFORMATION_LEAK;
	ck_assert_int_eq(apic_call(&a, a.rep1, "CaseService/ReportIncident",
	                           &rq->base,
	                           &csirt__v1__case_response__descriptor,
	                           (ProtobufCMessage **)&cr, &err),
	                 200);
	ck_assert_int_eq(cr->case_->state,
	                 CSIRT__V1__CASE_STATE__CASE_STATE_ESCALATED);
	codec_free(&cr->base);
	codec_free(&rq->base);

	id = report(&a, a.rep1, "公用携帯電話機の紛失", 200, &err);
	lq->overdue = 1;
	/* Poll (the deadline is 1 s after the report), at most 15 s. */
	for (int i = 0; i < 150 && !found; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		ck_assert_int_eq(
		    apic_call(&a, a.sm, "CaseService/ListCases", &lq->base,
		              &csirt__v1__list_cases_response__descriptor,
		              (ProtobufCMessage **)&lr, &err),
		    200);
		for (size_t k = 0; k < lr->n_cases; k++) {
			ck_assert_str_eq(lr->cases[k]->id, id);
			ck_assert(lr->cases[k]->overdue);
			found = 1;
		}
		codec_free(&lr->base);
		lr = NULL;
		if (!found)
			nanosleep(&ts, NULL);
	}
	ck_assert_msg(found, "no overdue case after 15 s");
	/* The reporter's own division sees it too. */
	ck_assert_int_eq(apic_call(&a, a.rep1, "CaseService/ListCases",
	                           &lq->base,
	                           &csirt__v1__list_cases_response__descriptor,
	                           (ProtobufCMessage **)&lr, &err),
	                 200);
	ck_assert_uint_eq(lr->n_cases, 1);
	codec_free(&lr->base);

	codec_set_string(&h->case_id, id);
	ck_assert_int_eq(apic_call(&a, a.sm, "CaseService/GetHistory", &h->base,
	                           &csirt__v1__get_history_response__descriptor,
	                           (ProtobufCMessage **)&hist, &err),
	                 200);
	ck_assert_uint_eq(hist->n_entries, 2);
	ck_assert_str_eq(hist->entries[1]->event->type, "deadline.missed");
	ck_assert_str_eq(hist->entries[1]->event->actor, "csirtd");
	ck_assert_int_eq(hist->entries[1]->event->role,
	                 CSIRT__V1__ROLE__ROLE_SYSTEM);
	ck_assert_str_eq(hist->entries[1]->event->deadline_missed->deadline,
	                 "acknowledge");
	codec_free(&hist->base);

	/* Acknowledging takes it off the list. */
	codec_free(&action(&a, a.sm, "CaseService/Acknowledge", id, "受理", 200)
	                ->base);
	ck_assert_int_eq(apic_call(&a, a.sm, "CaseService/ListCases", &lq->base,
	                           &csirt__v1__list_cases_response__descriptor,
	                           (ProtobufCMessage **)&lr, &err),
	                 200);
	ck_assert_uint_eq(lr->n_cases, 0);
	codec_free(&lr->base);

	codec_free(&lq->base);
	codec_free(&h->base);
	buf_free(&err);
	free(id);
	apic_stop(&a);
	tu_rmrf(dir);
	free(conf);
	free(dir);
}
END_TEST

static Csirt__V1__GetStatisticsResponse *
statistics(struct apic *a, const char *token, const char *division,
           const char *after, int expect)
{
	Csirt__V1__GetStatisticsRequest *r =
	    apic_msg_new(&csirt__v1__get_statistics_request__descriptor);
	Csirt__V1__GetStatisticsResponse *resp = NULL;
	struct buf err = BUF_INIT;
	int status;

	codec_set_string(&r->division, division);
	codec_set_string(&r->reported_after, after);
	status = apic_call(a, token, "CaseService/GetStatistics", &r->base,
	                   &csirt__v1__get_statistics_response__descriptor,
	                   (ProtobufCMessage **)&resp, &err);
	ck_assert_msg(status == expect, "GetStatistics: %d, expected %d: %s",
	              status, expect, err.data ? err.data : "");
	codec_free(&r->base);
	buf_free(&err);
	return resp;
}

START_TEST(test_api_statistics_scoped_by_role)
{
	Csirt__V1__GetStatisticsResponse *s;
	struct apic a;
	char *id1, *id2, *id3;
	uint64_t n = 0;

	apic_start(&a);
	id1 = apic_report(&a, a.rep1, "統計1");
	id2 = apic_report(&a, a.rep1, "統計2");
	id3 = apic_report(&a, a.rep2, "統計3");
	ck_assert(id1 != NULL && id2 != NULL && id3 != NULL);
	ck_assert_int_eq(
	    apic_action(&a, a.sm, "CaseService/Acknowledge", id1, "受理"), 200);
	ck_assert_int_eq(
	    apic_action(&a, a.sm, "CaseService/Escalate", id1, "CSIRTへ"), 200);

	s = statistics(&a, a.sm, "", "", 200);
	ck_assert_uint_eq(s->total, 3);
	ck_assert_uint_eq(s->n_by_category, 1);
	ck_assert_int_eq(s->by_category[0]->category,
	                 CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT);
	ck_assert_uint_eq(s->by_category[0]->count, 3);
	ck_assert_uint_eq(s->n_by_division, 2);
	ck_assert_str_eq(s->by_division[0]->key, "d1");
	ck_assert_uint_eq(s->by_division[0]->count, 2);
	ck_assert_str_eq(s->by_division[1]->key, "d2");
	ck_assert_uint_eq(s->n_by_state, 2);
	ck_assert_int_eq(s->by_state[0]->state,
	                 CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED);
	ck_assert_uint_eq(s->by_state[0]->count, 2);
	ck_assert_int_eq(s->by_state[1]->state,
	                 CSIRT__V1__CASE_STATE__CASE_STATE_ESCALATED);
	ck_assert_uint_eq(s->n_by_month, 1);
	ck_assert_uint_eq(strlen(s->by_month[0]->key), 7);
	ck_assert_uint_eq(s->by_month[0]->count, 3);
	ck_assert_uint_eq(s->to_acknowledge->counted, 1);
	ck_assert_uint_eq(s->to_acknowledge->excluded, 2);
	ck_assert_uint_eq(s->to_escalate->counted, 1);
	ck_assert_uint_eq(s->to_close->counted, 0);
	ck_assert_uint_eq(s->to_close->excluded, 3);
	ck_assert(s->to_acknowledge->median_seconds <=
	          s->to_escalate->median_seconds);
	/* Recognised 15 minutes before the report. */
	ck_assert_uint_eq(s->report_delay_stats->counted, 3);
	ck_assert_int_ge(s->report_delay_stats->median_seconds, 899);
	ck_assert_uint_eq(s->n_report_delay, 6);
	ck_assert_int_eq(s->report_delay[0]->le_seconds, 900);
	ck_assert_int_eq(s->report_delay[5]->le_seconds, 0);
	for (size_t i = 0; i < s->n_report_delay; i++)
		n += s->report_delay[i]->count;
	ck_assert_uint_eq(n, 3);
	codec_free(&s->base);

	/* Every reader but a 所属長 sees everything; a 所属長 sees their own
	 * division, named or not, and is refused another. */
	s = statistics(&a, a.aud, "d1", "", 200);
	ck_assert_uint_eq(s->total, 2);
	codec_free(&s->base);
	s = statistics(&a, a.rep2, "", "", 200);
	ck_assert_uint_eq(s->total, 1);
	ck_assert_uint_eq(s->n_by_division, 1);
	ck_assert_str_eq(s->by_division[0]->key, "d2");
	codec_free(&s->base);
	s = statistics(&a, a.rep2, "d2", "", 200);
	ck_assert_uint_eq(s->total, 1);
	codec_free(&s->base);
	ck_assert_ptr_null(statistics(&a, a.rep2, "d1", "", 403));
	ck_assert_ptr_null(statistics(&a, a.admin, "", "", 403));
	/* A period after every report: nothing; a bad time: 400. */
	s = statistics(&a, a.lead, "", "2999-01-01T00:00:00Z", 200);
	ck_assert_uint_eq(s->total, 0);
	ck_assert_uint_eq(s->to_acknowledge->counted, 0);
	codec_free(&s->base);
	ck_assert_ptr_null(statistics(&a, a.lead, "", "yesterday", 400));

	free(id1);
	free(id2);
	free(id3);
	apic_stop(&a);
}
END_TEST

/* ---- WatchEvents: the long-poll (issue 7) */

static Csirt__V1__WatchEventsResponse *
watch(struct apic *a, const char *token, uint64_t after, uint32_t wait_ms,
      uint32_t max_events, int expect)
{
	Csirt__V1__WatchEventsRequest *q =
	    apic_msg_new(&csirt__v1__watch_events_request__descriptor);
	Csirt__V1__WatchEventsResponse *resp = NULL;
	struct buf err = BUF_INIT;
	int status;

	q->after_seq = after;
	q->max_wait_ms = wait_ms;
	q->max_events = max_events;
	status = apic_call(a, token, "CaseService/WatchEvents", &q->base,
	                   &csirt__v1__watch_events_response__descriptor,
	                   (ProtobufCMessage **)&resp, &err);
	ck_assert_msg(status == expect, "WatchEvents: %d, expected %d: %s",
	              status, expect, err.data ? err.data : "");
	codec_free(&q->base);
	buf_free(&err);
	return resp;
}

#define WATCH_WRITERS 4
#define WATCH_REPORTS 5
#define WATCH_EVENTS (WATCH_WRITERS * WATCH_REPORTS)

struct watch_follower {
	struct apic *a;
	const char *token;
	uint64_t cursor;
	_Atomic uint64_t target; /* follow until cursor >= target (0: on) */
	uint64_t seqs[WATCH_EVENTS * 2];
	size_t n, polls;
	bool bad; /* out of order, a duplicate, or no commit id */
};

/* Long-polls like `csirt watch`, in small pages, from its cursor. */
static void *
watch_follow_thread(void *arg)
{
	struct watch_follower *f = arg;

	for (;;) {
		uint64_t t = atomic_load(&f->target);
		Csirt__V1__WatchEventsResponse *r;

		if (t != 0 && f->cursor >= t)
			break;
		r = watch(f->a, f->token, f->cursor, 2000, 3, 200);
		f->polls++;
		for (size_t i = 0; i < r->n_entries; i++) {
			uint64_t seq = r->entries[i]->event->seq;
			if (seq <= f->cursor ||
			    strlen(r->entries[i]->commit) != 40 ||
			    f->n == UTIL_ARRAY_LEN(f->seqs))
				f->bad = true;
			else
				f->seqs[f->n++] = seq;
			f->cursor = seq;
		}
		if (r->last_seq < f->cursor)
			f->bad = true;
		f->cursor = r->last_seq;
		codec_free(&r->base);
	}
	return NULL;
}

static void *
watch_write_thread(void *arg)
{
	struct apic *a = arg;

	for (int i = 0; i < WATCH_REPORTS; i++) {
		char *id = apic_report(a, a->rep1, "機器の紛失事案：同時");
		ck_assert_ptr_nonnull(id);
		free(id);
	}
	return NULL;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_api_watch_events_delivers_each_once_in_order)
{
	struct apic a;
	struct watch_follower fs[3]; /* sm, rep1 (d1), rep2 (d2) */
	pthread_t fw[3], ww[WATCH_WRITERS];
	Csirt__V1__WatchEventsResponse *r;
	uint64_t seq0, last;
	double t0;

	apic_start(&a);
	seq0 = apic_ledger_seq(&a);

	/* Nothing new: parked until max_wait, then empty with last_seq. */
	t0 = now_s();
	r = watch(&a, a.sm, seq0, 300, 0, 200);
	ck_assert_double_ge(now_s() - t0, 0.25);
	ck_assert_uint_eq(r->n_entries, 0);
	ck_assert_uint_eq(r->last_seq, seq0);
	codec_free(&r->base);
	/* The administrator is denied, not given a filtered feed. */
	ck_assert_ptr_null(watch(&a, a.admin, seq0, 100, 0, 403));

	memset(fs, 0, sizeof(fs));
	fs[0].token = a.sm;
	fs[1].token = a.rep1;
	fs[2].token = a.rep2;
	for (int i = 0; i < 3; i++) {
		fs[i].a = &a;
		fs[i].cursor = seq0;
		ck_assert_int_eq(
		    pthread_create(&fw[i], NULL, watch_follow_thread, &fs[i]),
		    0);
	}
	usleep(200 * 1000); /* let them park */
	for (int i = 0; i < WATCH_WRITERS; i++)
		ck_assert_int_eq(
		    pthread_create(&ww[i], NULL, watch_write_thread, &a), 0);
	for (int i = 0; i < WATCH_WRITERS; i++)
		pthread_join(ww[i], NULL);
	last = apic_ledger_seq(&a);
	ck_assert_uint_eq(last, seq0 + WATCH_EVENTS);
	for (int i = 0; i < 3; i++) {
		atomic_store(&fs[i].target, last);
		pthread_join(fw[i], NULL);
		ck_assert_msg(!fs[i].bad, "%s: out of order or duplicate",
		              fs[i].token);
		ck_assert_uint_eq(fs[i].cursor, last);
	}
	/* Everyone of d1 and the CSIRT see every report exactly once, in
	 * seq order, over several long-polls; d2's 所属長 sees none. */
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(fs[i].n, WATCH_EVENTS);
		for (size_t k = 0; k < fs[i].n; k++)
			ck_assert_uint_eq(fs[i].seqs[k], seq0 + 1 + k);
		ck_assert_uint_ge(fs[i].polls, WATCH_EVENTS / 3);
	}
	ck_assert_uint_eq(fs[2].n, 0);

	/* A page: max_events caps, last_seq continues from it. */
	r = watch(&a, a.aud, seq0, 100, 4, 200);
	ck_assert_uint_eq(r->n_entries, 4);
	ck_assert_uint_eq(r->last_seq, seq0 + 4);
	ck_assert_uint_eq(r->entries[0]->event->seq, seq0 + 1);
	codec_free(&r->base);
	/* rep2 at the head: nothing visible, max_wait passes, last_seq kept. */
	r = watch(&a, a.rep2, seq0, 200, 0, 200);
	ck_assert_uint_eq(r->n_entries, 0);
	ck_assert_uint_eq(r->last_seq, last);
	codec_free(&r->base);
	apic_stop(&a);
}
END_TEST

static void *
watch_park_thread(void *arg)
{
	struct watch_follower *f = arg;
	Csirt__V1__WatchEventsResponse *r =
	    watch(f->a, f->token, f->cursor, 60000, 0, 200);

	f->n = r->n_entries;
	f->cursor = r->last_seq;
	codec_free(&r->base);
	return NULL;
}

/* A parked call outlives the idle timeout, and shutdown answers it. */
START_TEST(test_api_watch_events_answered_on_shutdown)
{
	static const char conf_text[] = "idle_timeout_s = 1\n";
	const char *extra[] = {"--config", NULL, NULL};
	char *dir = tu_tmpdir(), *conf = util_path_join(dir, "csirtd.conf");
	Csirt__V1__WatchEventsResponse *r;
	struct apic a;
	struct watch_follower f;
	pthread_t t;
	double t0;

	ck_assert_int_eq(util_write_file_atomic(conf, conf_text,
	                                        sizeof(conf_text) - 1, 0600),
	                 0);
	extra[1] = conf;
	apic_start_args(&a, extra);
	t0 = now_s();
	r = watch(&a, a.sm, apic_ledger_seq(&a), 2500, 0, 200);
	ck_assert_double_ge(now_s() - t0, 2.4);
	ck_assert_uint_eq(r->n_entries, 0);
	codec_free(&r->base);
	memset(&f, 0, sizeof(f));
	f.a = &a;
	f.token = a.inv;
	f.cursor = apic_ledger_seq(&a);
	ck_assert_int_eq(pthread_create(&t, NULL, watch_park_thread, &f), 0);
	usleep(300 * 1000);
	t0 = now_s();
	apic_stop(&a); /* asserts a clean exit */
	pthread_join(t, NULL);
	ck_assert_double_lt(now_s() - t0, 5.0);
	ck_assert_uint_eq(f.n, 0);
	tu_rmrf(dir);
	free(conf);
	free(dir);
}
END_TEST

/* A counter from /metrics, by its full name with labels. */
static uint64_t
metric(struct apic *a, const char *name)
{
	return (uint64_t)apic_metric(a, name);
}

/* The writer's time by phase (csirt_writer_seconds_total), as `name`
 * and its value. */
static double
writer_phase_s(struct apic *a, const char *phase)
{
	struct buf name = BUF_INIT;
	double v;

	buf_printf(&name, "csirt_writer_seconds_total{phase=\"%s\"}", phase);
	v = apic_metric(a, name.data);
	buf_free(&name);
	return v;
}

/* /metrics says where the ledger writer's time went, by phase of its
 * batches: every phase is there; writes add to the apply, durable and
 * answer phases; and the phases never add up to more than the time the
 * daemon has run (they share one clock, one phase at a time).  It also
 * counts the index's WAL bytes by way: a fresh WAL grows by pwrite(). */
START_TEST(test_api_writer_phases_in_metrics)
{
	static const char *const phases[] = {
	    "idle", "apply", "gather", "drain", "durable", "commit", "answer"};
	static const char wal_written[] =
	    "csirt_index_wal_bytes_total{op=\"write\",via=\"syscall\"}";
	double before[7], after[7], sum = 0;
	uint64_t started = util_monotonic_ms(), ran, wal_before;
	struct apic a;

	apic_start(&a);
	wal_before = metric(&a, wal_written);
	for (size_t i = 0; i < 7; i++)
		before[i] = writer_phase_s(&a, phases[i]);
	for (int i = 0; i < 5; i++) {
		char *id = apic_report(&a, a.rep1, "書き手の時間");
		ck_assert_ptr_nonnull(id);
		free(id);
	}
	for (size_t i = 0; i < 7; i++) {
		after[i] = writer_phase_s(&a, phases[i]);
		ck_assert_msg(after[i] >= before[i], "%s went back", phases[i]);
		sum += after[i];
	}
	ck_assert_msg(after[1] > before[1], "no apply time");
	ck_assert_msg(after[4] > before[4], "no durable time");
	ck_assert_msg(after[6] > before[6], "no answer time");
	ck_assert_uint_gt(metric(&a, wal_written), wal_before);
	ran = util_monotonic_ms() - started;
	ck_assert_msg(sum * 1e3 <= (double)ran + 1,
	              "the phases add up to %.3f s in %.3f s", sum,
	              (double)ran / 1e3);
	apic_stop(&a);
}
END_TEST

/* The daemon signs the ledger with precomputed nonces (crypto.c), and
 * stock git verifies those signatures. */
START_TEST(test_api_ledger_signed_with_precomputed_nonces)
{
	static const char precomputed[] =
	    "csirt_signatures_total{nonce=\"precomputed\"}";
	struct apic a;
	struct buf out = BUF_INIT;
	uint64_t before;
	char *id;
	int i;

	apic_start(&a);
	for (i = 0; i < 500 && metric(&a, "csirt_signing_nonces_ready") == 0;
	     i++)
		usleep(10000);
	ck_assert_int_lt(i, 500);
	before = metric(&a, precomputed);
	id = apic_report(&a, a.rep1, "precomputed nonce");
	ck_assert_ptr_nonnull(id);
	ck_assert_uint_gt(metric(&a, precomputed), before);
	ck_assert_msg(
	    tu_sh(&out,
	          "git -C '%s/ledger.git' -c gpg.ssh.allowedSignersFile='%s/"
	          "keys/allowed_signers' verify-commit ledger 2>&1",
	          a.data, a.data) == 0,
	    "%s", out.data);
	ck_assert_ptr_nonnull(strstr(out.data, "Good \"git\" signature"));
	free(id);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

/* 第13.2 over JSON: Twirp codes for a past due time (invalid_argument), a
 * role that may not (permission_denied), an illegal step
 * (failed_precondition), another division (not_found); none of them
 * reaches the ledger; a summons in Japanese comes back unchanged. */
START_TEST(test_api_requests_json_and_twirp_codes)
{
	static const char js[] = "application/json";
	static const char create[] =
	    "/twirp/csirt.v1.CaseService/CreateRequest";
	struct apic a;
	struct buf out = BUF_INIT, body = BUF_INIT;
	char past[UTIL_TIME_LEN], due[UTIL_TIME_LEN];
	uint64_t seq;
	char *id;

	apic_start(&a);
	id = apic_report(&a, a.rep1, "私有端末の無断接続");
	ck_assert_ptr_nonnull(id);
	ck_assert_int_eq(apic_action(&a, a.sm, "CaseService/Escalate", id, "x"),
	                 200);
	ck_assert_int_eq(
	    apic_action(&a, a.lead, "CaseService/OpenInvestigation", id, "x"),
	    200);
	util_time_format_ms(past, sizeof(past), util_time_now_ms() - 60000);
	util_time_format_ms(due, sizeof(due), util_time_now_ms() + 86400000);
	seq = apic_ledger_seq(&a);

	buf_printf(&body,
	           "{\"case_id\":\"%s\",\"kind\":\"REQUEST_KIND_DEVICE\","
	           "\"description\":\"私有スマートフォン\",\"due\":\"%s\"}",
	           id, past);
	ck_assert_int_eq(
	    raw(&a, "POST", create, js, a.lead, body.data, body.len, &out),
	    400);
	ck_assert_ptr_nonnull(strstr(out.data, "\"invalid_argument\""));
	ck_assert_ptr_nonnull(strstr(out.data, "request.due"));
	ck_assert_int_eq(
	    raw(&a, "POST", create, js, a.sm, body.data, body.len, &out), 403);
	ck_assert_uint_eq(apic_ledger_seq(&a), seq);

	buf_reset(&body);
	buf_printf(
	    &body,
	    "{\"caseId\":\"%s\",\"kind\":\"REQUEST_KIND_SUMMONS\","
	    "\"due\":\"%s\",\"summons\":{\"who\":\"山田太郎 巡査部長\","
	    "\"at\":\"%s\",\"place\":\"本部庁舎\",\"purpose\":\"説明\"}}",
	    id, due, due);
	ck_assert_int_eq(
	    raw(&a, "POST", create, js, a.lead, body.data, body.len, &out),
	    200);
	ck_assert_ptr_nonnull(strstr(out.data, "\"REQUEST_STATE_OPEN\""));
	ck_assert_ptr_nonnull(
	    strstr(out.data, "\"who\":\"山田太郎 巡査部長\""));
	ck_assert_ptr_nonnull(strstr(out.data, "\"id\":\"r1\""));
	seq = apic_ledger_seq(&a);

	buf_reset(&body);
	buf_printf(&body, "{\"case_id\":\"%s\",\"request_id\":\"r1\"}", id);
	ck_assert_int_eq(raw(&a, "POST",
	                     "/twirp/csirt.v1.CaseService/FulfilRequest", js,
	                     a.lead, body.data, body.len, &out),
	                 412);
	ck_assert_ptr_nonnull(strstr(out.data, "\"failed_precondition\""));
	ck_assert_int_eq(raw(&a, "POST",
	                     "/twirp/csirt.v1.CaseService/AcknowledgeRequest",
	                     js, a.rep2, body.data, body.len, &out),
	                 404);
	ck_assert_ptr_nonnull(strstr(out.data, "\"not_found\""));
	ck_assert_int_eq(raw(&a, "POST",
	                     "/twirp/csirt.v1.CaseService/AcknowledgeRequest",
	                     js, a.lead, body.data, body.len, &out),
	                 403);
	ck_assert_uint_eq(apic_ledger_seq(&a), seq);
	ck_assert_int_eq(raw(&a, "POST",
	                     "/twirp/csirt.v1.CaseService/AcknowledgeRequest",
	                     js, a.rep1, body.data, body.len, &out),
	                 200);
	ck_assert_ptr_nonnull(
	    strstr(out.data, "\"REQUEST_STATE_ACKNOWLEDGED\""));

	/* ListRequests: the auditor sees it, the other division nothing. */
	ck_assert_int_eq(raw(&a, "POST",
	                     "/twirp/csirt.v1.CaseService/ListRequests", js,
	                     a.aud, "{\"overdue\":false}",
	                     strlen("{\"overdue\":false}"), &out),
	                 200);
	ck_assert_ptr_nonnull(strstr(out.data, "\"r1\""));
	ck_assert_int_eq(raw(&a, "POST",
	                     "/twirp/csirt.v1.CaseService/ListRequests", js,
	                     a.rep2, "{}", 2, &out),
	                 200);
	ck_assert_ptr_null(strstr(out.data, "\"r1\""));
	ck_assert_int_eq(raw(&a, "POST",
	                     "/twirp/csirt.v1.CaseService/ListRequests", js,
	                     a.admin, "{}", 2, &out),
	                 403);
	/* Paging: a full page names where the next one starts. */
	{
		static const char list[] =
		    "/twirp/csirt.v1.CaseService/ListRequests";
		char tok[64];
		buf_reset(&body);
		buf_printf(&body, "{\"page_size\":1}");
		ck_assert_int_eq(
		    raw(&a, "POST", list, js, a.aud, body.data, body.len, &out),
		    200);
		snprintf(tok, sizeof(tok), "\"next_page_token\":\"%s/r1\"", id);
		ck_assert_ptr_nonnull(strstr(out.data, tok));
		buf_reset(&body);
		buf_printf(&body, "{\"page_size\":1,\"page_token\":\"%s/r1\"}",
		           id);
		ck_assert_int_eq(
		    raw(&a, "POST", list, js, a.aud, body.data, body.len, &out),
		    200);
		ck_assert_ptr_null(strstr(out.data, "\"r1\""));
		ck_assert_ptr_null(strstr(out.data, "next_page_token"));
		ck_assert_int_eq(raw(&a, "POST", list, js, a.aud,
		                     "{\"page_token\":\"x/r1\"}",
		                     strlen("{\"page_token\":\"x/r1\"}"), &out),
		                 400);
	}
	free(id);
	buf_free(&body);
	buf_free(&out);
	apic_stop(&a);
}
END_TEST

Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("daemon");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_api_lifecycle_protobuf);
	tcase_add_test(tc, test_api_lifecycle_json_curl);
	tcase_add_test(tc, test_api_update_case_records_before_and_after);
	tcase_add_test(tc, test_api_note_versions);
	tcase_add_test(tc, test_api_bad_input_gets_twirp_errors);
	tcase_add_test(tc, test_api_deadline_missed_and_overdue_list);
	tcase_add_test(tc, test_api_statistics_scoped_by_role);
	tcase_add_test(tc, test_api_watch_events_delivers_each_once_in_order);
	tcase_add_test(tc, test_api_watch_events_answered_on_shutdown);
	tcase_add_test(tc, test_api_requests_json_and_twirp_codes);
	tcase_add_test(tc, test_api_ledger_signed_with_precomputed_nonces);
	tcase_add_test(tc, test_api_writer_phases_in_metrics);
	suite_add_tcase(s, tc);
	return s;
}
