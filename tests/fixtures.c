/*
 * fixtures.c - see fixtures.h.  Messages are built "fully owned" (codec.h):
 * every string through codec_set_string, every sub-message malloc'd.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"
#include "datadir.h"
#include "error.h"
#include "testutil.h"
#include "fixtures.h"
#include "util.h"

static Csirt__V1__Event *
event_new(const char *actor, Csirt__V1__Role role)
{
	Csirt__V1__Event *ev = util_xcalloc(1, sizeof(*ev));

	csirt__v1__event__init(ev);
	codec_set_string(&ev->actor, actor);
	ev->role = role;
	return ev;
}

Csirt__V1__Event *
fx_division(const char *code, const char *name)
{
	Csirt__V1__Event *ev = event_new("admin", CSIRT__V1__ROLE__ROLE_ADMIN);
	Csirt__V1__DivisionCreated *dc = util_xcalloc(1, sizeof(*dc));
	Csirt__V1__Division *d = util_xcalloc(1, sizeof(*d));

	csirt__v1__division_created__init(dc);
	csirt__v1__division__init(d);
	codec_set_string(&d->code, code);
	codec_set_string(&d->name, name);
	dc->division = d;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_DIVISION_CREATED;
	ev->division_created = dc;
	return ev;
}

Csirt__V1__Event *
fx_user(const char *login, Csirt__V1__Role role, const char *division)
{
	Csirt__V1__Event *ev = event_new("admin", CSIRT__V1__ROLE__ROLE_ADMIN);
	Csirt__V1__UserCreated *uc = util_xcalloc(1, sizeof(*uc));
	Csirt__V1__User *u = util_xcalloc(1, sizeof(*u));

	csirt__v1__user_created__init(uc);
	csirt__v1__user__init(u);
	codec_set_string(&u->login, login);
	codec_set_string(&u->display_name, login);
	codec_set_string(&u->division, division);
	u->role = role;
	uc->user = u;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_USER_CREATED;
	ev->user_created = uc;
	return ev;
}

Csirt__V1__Event *
fx_report(const char *actor, const char *division, Csirt__V1__Category category,
          const char *title)
{
	Csirt__V1__Event *ev = event_new(actor, CSIRT__V1__ROLE__ROLE_REPORTER);
	Csirt__V1__IncidentReported *ir = util_xcalloc(1, sizeof(*ir));
	Csirt__V1__Case *c = util_xcalloc(1, sizeof(*c));
	Csirt__V1__Classification *cl = util_xcalloc(1, sizeof(*cl));
	Csirt__V1__Emergency *em = util_xcalloc(1, sizeof(*em));
	Csirt__V1__Equipment *eq = util_xcalloc(1, sizeof(*eq));
	char recognized[UTIL_TIME_LEN];

	csirt__v1__incident_reported__init(ir);
	csirt__v1__case__init(c);
	csirt__v1__classification__init(cl);
	csirt__v1__emergency__init(em);
	csirt__v1__equipment__init(eq);
	util_time_format_ms(recognized, sizeof(recognized),
	                    util_time_now_ms() - 20 * 60 * 1000);
	c->category = category;
	codec_set_string(&c->title, title);
	codec_set_string(
	    &c->description,
	    "庁舎外で業務用モバイルPCを紛失した。The laptop was last seen on "
	    "the train.");
	codec_set_string(&c->recognized_at, recognized);
	codec_set_string(&c->division, division);
	codec_set_string(&c->reporter, actor);
	cl->confidentiality = CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
	cl->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_LOW;
	cl->availability = CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	c->classification = cl;
	c->emergency = em;
	eq->kind = CSIRT__V1__EQUIPMENT_KIND__EQUIPMENT_KIND_TERMINAL;
	codec_set_string(&eq->management_number, "PC-0042");
	eq->owner = CSIRT__V1__OWNERSHIP__OWNERSHIP_OFFICIAL;
	c->n_equipment = 1;
	c->equipment = util_xcalloc(1, sizeof(*c->equipment));
	c->equipment[0] = eq;
	ir->case_ = c;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED;
	ev->incident_reported = ir;
	return ev;
}

void
fx_report_d1(struct writer *w, Csirt__V1__Category category, const char *title,
             char *case_id_out)
{
	ck_assert_msg(fx_submit(w, fx_report("rep1", "d1", category, title),
	                        NULL, case_id_out, NULL) == 0,
	              "report \"%s\": %s", title, csirt_error_msg());
}

#define FX_PAYLOAD(PC, type, init, field, member)                              \
	case PC: {                                                             \
		type *p = util_xcalloc(1, sizeof(*p));                         \
		init(p);                                                       \
		codec_set_string(&p->member, text);                            \
		ev->field = p;                                                 \
		break;                                                         \
	}

Csirt__V1__Event *
fx_case_event(const char *case_id, Csirt__V1__Event__PayloadCase payload,
              const char *actor, Csirt__V1__Role role, const char *text)
{
	Csirt__V1__Event *ev = event_new(actor, role);

	codec_set_string(&ev->case_id, case_id);
	ev->payload_case = payload;
	switch (payload) {
		FX_PAYLOAD(CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED,
		           Csirt__V1__CaseAcknowledged,
		           csirt__v1__case_acknowledged__init,
		           case_acknowledged, comment)
		FX_PAYLOAD(CSIRT__V1__EVENT__PAYLOAD_GUIDANCE_GIVEN,
		           Csirt__V1__GuidanceGiven,
		           csirt__v1__guidance_given__init, guidance_given,
		           text)
		FX_PAYLOAD(CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED,
		           Csirt__V1__CaseEscalated,
		           csirt__v1__case_escalated__init, case_escalated,
		           reason)
		FX_PAYLOAD(CSIRT__V1__EVENT__PAYLOAD_CASE_DISMISSED,
		           Csirt__V1__CaseDismissed,
		           csirt__v1__case_dismissed__init, case_dismissed,
		           reason)
		FX_PAYLOAD(CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED,
		           Csirt__V1__InvestigationOpened,
		           csirt__v1__investigation_opened__init,
		           investigation_opened, reason)
		FX_PAYLOAD(CSIRT__V1__EVENT__PAYLOAD_CASE_RESOLVED,
		           Csirt__V1__CaseResolved,
		           csirt__v1__case_resolved__init, case_resolved,
		           summary)
		FX_PAYLOAD(CSIRT__V1__EVENT__PAYLOAD_CASE_CLOSED,
		           Csirt__V1__CaseClosed, csirt__v1__case_closed__init,
		           case_closed, comment)
		FX_PAYLOAD(CSIRT__V1__EVENT__PAYLOAD_CASE_REOPENED,
		           Csirt__V1__CaseReopened,
		           csirt__v1__case_reopened__init, case_reopened,
		           reason)
	default:
		ck_abort_msg("fx_case_event: unsupported payload %d",
		             (int)payload);
	}
	return ev;
}

Csirt__V1__Event *
fx_assign(const char *case_id, const char *actor, const char *login)
{
	Csirt__V1__Event *ev =
	    event_new(actor, CSIRT__V1__ROLE__ROLE_CSIRT_LEAD);
	Csirt__V1__InvestigatorsAssigned *a = util_xcalloc(1, sizeof(*a));

	csirt__v1__investigators_assigned__init(a);
	a->n_assignees = 1;
	a->assignees = util_xcalloc(1, sizeof(char *));
	a->assignees[0] = util_strdup(login);
	codec_set_string(&ev->case_id, case_id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_INVESTIGATORS_ASSIGNED;
	ev->investigators_assigned = a;
	return ev;
}

Csirt__V1__Event *
fx_note(const char *case_id, const char *actor, Csirt__V1__Role role)
{
	Csirt__V1__Event *ev = event_new(actor, role);
	Csirt__V1__NoteAdded *n = util_xcalloc(1, sizeof(*n));
	Csirt__V1__Classification *cl = util_xcalloc(1, sizeof(*cl));

	csirt__v1__note_added__init(n);
	csirt__v1__classification__init(cl);
	cl->confidentiality = CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
	cl->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_LOW;
	cl->availability = CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	n->classification = cl;
	codec_set_string(&ev->case_id, case_id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED;
	ev->note_added = n;
	return ev;
}

Csirt__V1__Event *
fx_note_edit(const char *case_id, const char *note_id, const char *actor,
             Csirt__V1__Role role, const char *reason)
{
	Csirt__V1__Event *ev = event_new(actor, role);
	Csirt__V1__NoteEdited *n = util_xcalloc(1, sizeof(*n));

	csirt__v1__note_edited__init(n);
	codec_set_string(&n->note_id, note_id);
	codec_set_string(&n->reason, reason);
	codec_set_string(&ev->case_id, case_id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED;
	ev->note_edited = n;
	return ev;
}

int
fx_submit(struct writer *w, Csirt__V1__Event *ev, const char *note_text,
          char *case_id_out, char *commit_out)
{
	struct writer_cmd cmd;
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.ev = ev;
	cmd.note_text = note_text;
	ck_assert_int_eq(writer_submit(w, &cmd), 0);
	ck_assert_int_eq(writer_run_once(w), 0);
	rc = cmd.rc;
	if (case_id_out != NULL)
		strcpy(case_id_out, cmd.ev->case_id);
	if (commit_out != NULL)
		strcpy(commit_out, cmd.commit);
	writer_cmd_release(&cmd);
	return rc;
}

void
fx_seed_directory(struct writer *w)
{
	ck_assert_int_eq(
	    fx_submit(w, fx_division("d1", "生活安全総務課"), NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(w, fx_division("d2", "交通総務課"), NULL, NULL, NULL), 0);
	ck_assert_int_eq(
	    fx_submit(w, fx_user("rep1", CSIRT__V1__ROLE__ROLE_REPORTER, "d1"),
	              NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(w, fx_user("rep2", CSIRT__V1__ROLE__ROLE_REPORTER, "d2"),
	              NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(w,
	              fx_user("sm", CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, ""),
	              NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(w, fx_user("lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD, ""),
	              NULL, NULL, NULL),
	    0);
	ck_assert_int_eq(
	    fx_submit(w, fx_user("inv", CSIRT__V1__ROLE__ROLE_INVESTIGATOR, ""),
	              NULL, NULL, NULL),
	    0);
}

/* The same life for `ncases` cases at once, each step submitted for every
 * case and committed as one batch (as concurrent clients would); the note
 * is edited twice, by its author and by the lead. */
void
fx_history_batched(struct writer *w, int ncases, int guidance)
{
	struct writer_cmd *cmds = util_xcalloc((size_t)ncases, sizeof(*cmds));
	char(*ids)[12] = util_xcalloc((size_t)ncases, sizeof(*ids));
	int nsteps = 11 + guidance;

	for (int step = 0; step < nsteps; step++) {
		for (int i = 0; i < ncases; i++) {
			Csirt__V1__Event *ev;
			const char *note = NULL;
			char title[64];
			switch (step) {
			case 0:
				snprintf(title, sizeof(title),
				         "事案 %d: 外部記録媒体の紛失", i);
				ev = fx_report(
				    "rep1", "d1",
				    CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT,
				    title);
				break;
			case 1:
				ev = fx_case_event(
				    ids[i],
				    CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED,
				    "sm",
				    CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER,
				    "受理");
				break;
			case 2:
				ev = fx_case_event(
				    ids[i],
				    CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED,
				    "sm",
				    CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER,
				    "CSIRTへ");
				break;
			case 3:
				ev = fx_case_event(
				    ids[i],
				    CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED,
				    "lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD,
				    "調査開始");
				break;
			case 4:
				ev = fx_assign(ids[i], "lead", "inv");
				break;
			case 5:
				ev =
				    fx_note(ids[i], "inv",
				            CSIRT__V1__ROLE__ROLE_INVESTIGATOR);
				note = "関係者から聴取した。";
				break;
			case 6:
				ev = fx_note_edit(
				    ids[i], "n1", "inv",
				    CSIRT__V1__ROLE__ROLE_INVESTIGATOR, "追記");
				note = "関係者から聴取した。\n日時: 11月27日";
				break;
			case 7:
				ev = fx_note_edit(
				    ids[i], "n1", "lead",
				    CSIRT__V1__ROLE__ROLE_CSIRT_LEAD, "確認");
				note = "関係者から聴取した。\n日時: 11月27日\n"
				       "（CSIRT長確認済み）\n";
				break;
			case 8:
				ev = fx_case_event(
				    ids[i],
				    CSIRT__V1__EVENT__PAYLOAD_CASE_RESOLVED,
				    "lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD,
				    "解決");
				break;
			case 9:
				ev = fx_case_event(
				    ids[i],
				    CSIRT__V1__EVENT__PAYLOAD_CASE_CLOSED, "sm",
				    CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER,
				    "完了");
				break;
			case 10:
				ev = fx_case_event(
				    ids[i],
				    CSIRT__V1__EVENT__PAYLOAD_CASE_REOPENED,
				    "lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD,
				    "再調査");
				break;
			default:
				ev = fx_case_event(
				    ids[i],
				    CSIRT__V1__EVENT__PAYLOAD_GUIDANCE_GIVEN,
				    "sm",
				    CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER,
				    "再発防止策を講じること");
			}
			memset(&cmds[i], 0, sizeof(cmds[i]));
			cmds[i].ev = ev;
			cmds[i].note_text = note;
			ck_assert_int_eq(writer_submit(w, &cmds[i]), 0);
		}
		ck_assert_int_eq(writer_run_once(w), 0);
		for (int i = 0; i < ncases; i++) {
			ck_assert_msg(cmds[i].rc == 0, "step %d case %d: %s",
			              step, i, cmds[i].err);
			if (step == 0)
				strcpy(ids[i], cmds[i].ev->case_id);
			writer_cmd_release(&cmds[i]);
		}
	}
	free(cmds);
	free(ids);
}

/* Deadline events in the history (DESIGN.md §4): an automatic escalation,
 * a report recorded late, two missed acknowledgements of which one is
 * then acknowledged (overdue cleared) and one stays overdue. */

void
fx_env_init(struct fx_env *e)
{
	char token[CRYPTO_TOKEN_LEN];

	memset(e, 0, sizeof(*e));
	e->dir = tu_tmpdir();
	e->data = util_path_join(e->dir, "var");
	e->repo = util_path_join(e->data, "ledger.git");
	ck_assert_msg(datadir_init(e->data, "admin", token) == 0, "init: %s",
	              csirt_error_msg());
}

void
fx_env_open(struct fx_env *e)
{
	ck_assert_msg(datadir_open(&e->dd, e->data) == 0, "open: %s",
	              csirt_error_msg());
	ck_assert_int_eq(writer_new(&e->w, e->dd->lg, e->dd->ix, 1000000, 512),
	                 0);
}

void
fx_env_close(struct fx_env *e)
{
	writer_free(e->w);
	datadir_close(e->dd);
	e->w = NULL;
	e->dd = NULL;
}

void
fx_env_free(struct fx_env *e)
{
	fx_env_close(e);
	tu_rmrf(e->dir);
	free(e->repo);
	free(e->data);
	free(e->dir);
}

/* ---- 第13.2 ------------------------------------------------------------ */

Csirt__V1__Event *
fx_request(const char *case_id, const char *actor, Csirt__V1__Role role,
           Csirt__V1__RequestKind kind, int64_t due_ms)
{
	Csirt__V1__Event *ev = event_new(actor, role);
	Csirt__V1__InvestigationRequest *r =
	    (void *)codec_new(&csirt__v1__investigation_request__descriptor);
	char due[UTIL_TIME_LEN];

	util_time_format_ms(due, sizeof(due), due_ms);
	r->kind = kind;
	codec_set_string(&r->due, due);
	if (kind == CSIRT__V1__REQUEST_KIND__REQUEST_KIND_SUMMONS) {
		r->summons = (void *)codec_new(&csirt__v1__summons__descriptor);
		codec_set_string(&r->summons->who, "山田太郎 巡査部長");
		codec_set_string(&r->summons->at, due);
		codec_set_string(&r->summons->place, "本部庁舎 5階 CSIRT室");
		codec_set_string(&r->summons->purpose, "紛失時の状況の説明");
	} else {
		codec_set_string(&r->description, "私有スマートフォンの提出");
	}
	codec_set_string(&ev->case_id, case_id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_REQUEST_CREATED;
	ev->request_created =
	    (void *)codec_new(&csirt__v1__request_created__descriptor);
	ev->request_created->request = r;
	return ev;
}

Csirt__V1__Event *
fx_request_step(const char *case_id, Csirt__V1__Event__PayloadCase payload,
                const char *request_id, const char *actor, Csirt__V1__Role role,
                const char *text)
{
	Csirt__V1__Event *ev = event_new(actor, role);

	codec_set_string(&ev->case_id, case_id);
	ev->payload_case = payload;
	switch (payload) {
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED:
		ev->request_acknowledged = (void *)codec_new(
		    &csirt__v1__request_acknowledged__descriptor);
		codec_set_string(&ev->request_acknowledged->request_id,
		                 request_id);
		codec_set_string(&ev->request_acknowledged->comment, text);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED:
		ev->request_responded = (void *)codec_new(
		    &csirt__v1__request_responded__descriptor);
		codec_set_string(&ev->request_responded->request_id,
		                 request_id);
		codec_set_string(&ev->request_responded->text, text);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_FULFILLED:
		ev->request_fulfilled = (void *)codec_new(
		    &csirt__v1__request_fulfilled__descriptor);
		codec_set_string(&ev->request_fulfilled->request_id,
		                 request_id);
		codec_set_string(&ev->request_fulfilled->comment, text);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_CANCELLED:
		ev->request_cancelled = (void *)codec_new(
		    &csirt__v1__request_cancelled__descriptor);
		codec_set_string(&ev->request_cancelled->request_id,
		                 request_id);
		codec_set_string(&ev->request_cancelled->reason, text);
		break;
	default:
		ck_abort_msg("fx_request_step: unsupported payload %d",
		             (int)payload);
	}
	return ev;
}

Csirt__V1__PhysicalItem *
fx_item(const char *serial, const char *seal)
{
	Csirt__V1__PhysicalItem *it =
	    (void *)codec_new(&csirt__v1__physical_item__descriptor);

	it->kind = CSIRT__V1__EQUIPMENT_KIND__EQUIPMENT_KIND_MOBILE_PHONE;
	it->owner = CSIRT__V1__OWNERSHIP__OWNERSHIP_PERSONAL;
	codec_set_string(&it->serial, serial);
	codec_set_string(&it->owner_name, "山田太郎");
	codec_set_string(&it->seal_number, seal);
	codec_set_string(&it->description, "私有スマートフォン（黒）");
	return it;
}

Csirt__V1__Event *
fx_custody(const char *case_id, Csirt__V1__Event__PayloadCase payload,
           const char *item_id, const char *actor, const char *to,
           const char *purpose)
{
	Csirt__V1__Event *ev =
	    event_new(actor, CSIRT__V1__ROLE__ROLE_INVESTIGATOR);
	Csirt__V1__ItemCustody *p =
	    (void *)codec_new(&csirt__v1__item_custody__descriptor);

	codec_set_string(&p->item_id, item_id);
	codec_set_string(&p->to, to);
	codec_set_string(&p->place, "CSIRT解析室");
	codec_set_string(&p->purpose, purpose);
	codec_set_string(&ev->case_id, case_id);
	ev->payload_case = payload;
	if (payload == CSIRT__V1__EVENT__PAYLOAD_ITEM_TRANSFERRED)
		ev->item_transferred = p;
	else if (payload == CSIRT__V1__EVENT__PAYLOAD_ITEM_RETURNED)
		ev->item_returned = p;
	else if (payload == CSIRT__V1__EVENT__PAYLOAD_ITEM_DISPOSED)
		ev->item_disposed = p;
	else
		ck_abort_msg("fx_custody: unsupported payload %d",
		             (int)payload);
	return ev;
}

#define FX_OK(ev) ck_assert_int_eq(fx_submit(w, (ev), NULL, NULL, NULL), 0)

void
fx_request_history(struct writer *w, char *case_id_out)
{
	const Csirt__V1__Role inv = CSIRT__V1__ROLE__ROLE_INVESTIGATOR,
	                      rep = CSIRT__V1__ROLE__ROLE_REPORTER;
	int64_t due = util_time_now_ms() + 7 * 86400000LL;
	Csirt__V1__Event *ev;
	char id[12];

	fx_report_d1(w, CSIRT__V1__CATEGORY__CATEGORY_PERSONAL_DEVICE_MISUSE,
	             "私有スマートフォンの無断接続", id);
	FX_OK(fx_case_event(id, CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED, "sm",
	                    CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER, "CSIRTへ"));
	FX_OK(fx_case_event(id, CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED,
	                    "lead", CSIRT__V1__ROLE__ROLE_CSIRT_LEAD, "調査"));
	FX_OK(fx_assign(id, "lead", "inv"));
	/* r1: the summons. */
	FX_OK(fx_request(id, "inv", inv,
	                 CSIRT__V1__REQUEST_KIND__REQUEST_KIND_SUMMONS, due));
	FX_OK(fx_request_step(id,
	                      CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED,
	                      "r1", "rep1", rep, "出頭させます"));
	FX_OK(fx_request_step(id, CSIRT__V1__EVENT__PAYLOAD_REQUEST_FULFILLED,
	                      "r1", "inv", inv, "出頭し説明を受けた"));
	/* r2: the device, registered with the response as i1. */
	FX_OK(fx_request(id, "inv", inv,
	                 CSIRT__V1__REQUEST_KIND__REQUEST_KIND_DEVICE, due));
	FX_OK(fx_request_step(id,
	                      CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED,
	                      "r2", "rep1", rep, ""));
	ev = fx_request_step(id, CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED,
	                     "r2", "rep1", rep, "封印して提出します");
	ev->request_responded->items =
	    util_xcalloc(1, sizeof(*ev->request_responded->items));
	ev->request_responded->items[0] = fx_item("356938035643809", "S-0001");
	ev->request_responded->n_items = 1;
	FX_OK(ev);
	FX_OK(fx_custody(id, CSIRT__V1__EVENT__PAYLOAD_ITEM_TRANSFERRED, "i1",
	                 "inv", "解析班 佐藤", "フォレンジック解析"));
	FX_OK(fx_request_step(id, CSIRT__V1__EVENT__PAYLOAD_REQUEST_FULFILLED,
	                      "r2", "inv", inv, ""));
	FX_OK(fx_custody(id, CSIRT__V1__EVENT__PAYLOAD_ITEM_RETURNED, "i1",
	                 "inv", "山田太郎", "解析終了"));
	/* r3: material, cancelled; i2 registered by the CSIRT, disposed. */
	FX_OK(fx_request(id, "inv", inv,
	                 CSIRT__V1__REQUEST_KIND__REQUEST_KIND_MATERIAL, due));
	FX_OK(fx_request_step(id, CSIRT__V1__EVENT__PAYLOAD_REQUEST_CANCELLED,
	                      "r3", "inv", inv, "不要となった"));
	ev = event_new("inv", inv);
	codec_set_string(&ev->case_id, id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_ITEM_REGISTERED;
	ev->item_registered =
	    (void *)codec_new(&csirt__v1__item_registered__descriptor);
	ev->item_registered->item = fx_item("SN-USB-77", "S-0002");
	FX_OK(ev);
	FX_OK(fx_custody(id, CSIRT__V1__EVENT__PAYLOAD_ITEM_DISPOSED, "i2",
	                 "inv", "", "物理破壊（復元できない方法）"));
	if (case_id_out != NULL)
		memcpy(case_id_out, id, 12);
}

static int64_t
fx_clock_now_cb(void *arg)
{
	return ((struct fx_clock *)arg)->now;
}

void
fx_clock_init(struct fx_clock *c, int64_t now_ms)
{
	c->now = now_ms;
	c->clk.now_ms = fx_clock_now_cb;
	c->clk.arg = c;
}

int
fx_audit(struct buf *out, const struct fx_env *e, const char *cmd,
         const char *args)
{
	buf_reset(out);
	return tu_sh(out, "'%s' %s '%s' %s", CSIRT_AUDIT_BIN, cmd, e->repo,
	             args);
}
