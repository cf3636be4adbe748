/*
 * check_lifecycle.c - the case state machine, event validation and the
 * fold.  The legal transitions are written here a second time, as a plain
 * list of triples, so that a slip in lifecycle.c's table fails a test
 * instead of being mirrored by it.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "deadline.h"
#include "error.h"
#include "lifecycle.h"
#include "log.h"
#include "suites.h"
#include "util.h"

#define ST(x) CSIRT__V1__CASE_STATE__CASE_STATE_##x
#define RO(x) CSIRT__V1__ROLE__ROLE_##x
#define AC(x) CASE_ACTION_##x

#define CASE_ID "2026-000123"
#define TITLE_JA "職員のUSBメモリ紛失（機密性中）"
#define TITLE_JA2 "公用USBメモリ紛失 — 所属内で発見できず"
#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* ---- building fully owned events ------------------------------------- */

static char *
empty(void)
{
	return (char *)(uintptr_t)protobuf_c_empty_string;
}

static void
set(char **field, const char *s)
{
	if (*field != NULL && *field != protobuf_c_empty_string)
		free(*field);
	*field = s != NULL && s[0] != '\0' ? util_strdup(s) : empty();
}

static char **
strv(size_t *n, const char *const *v)
{
	char **out;

	for (*n = 0; v[*n] != NULL; (*n)++)
		;
	out = util_xcalloc(*n + 1, sizeof(*out));
	for (size_t i = 0; i < *n; i++)
		out[i] = util_strdup(v[i]);
	return out;
}

static void
ev_free(Csirt__V1__Event *ev)
{
	if (ev != NULL)
		protobuf_c_message_free_unpacked(&ev->base, NULL);
}

static Csirt__V1__Classification *
classification(int c, int i, int a, const char *restriction)
{
	Csirt__V1__Classification *cl = util_xmalloc(sizeof(*cl));

	csirt__v1__classification__init(cl);
	cl->confidentiality = (Csirt__V1__Confidentiality)c;
	cl->integrity = (Csirt__V1__Integrity)i;
	cl->availability = (Csirt__V1__Availability)a;
	if (restriction != NULL) {
		const char *v[] = {restriction, NULL};
		cl->handling_restrictions =
		    strv(&cl->n_handling_restrictions, v);
	}
	return cl;
}

/* Event i of the life below happens at 00:40:00.123Z + i minutes. */
static void
life_time(char out[UTIL_TIME_LEN], int i)
{
	int64_t ms;

	ck_assert_int_eq(util_time_parse(&ms, "2026-11-27T00:40:00.123Z"), 0);
	util_time_format_ms(out, UTIL_TIME_LEN, ms + (int64_t)i * 60000);
}

static Csirt__V1__Event *
ev_new(uint64_t seq, int role, const char *actor, const char *time)
{
	Csirt__V1__Event *ev = util_xmalloc(sizeof(*ev));

	csirt__v1__event__init(ev);
	ev->seq = seq;
	ev->role = (Csirt__V1__Role)role;
	set(&ev->case_id, CASE_ID);
	set(&ev->actor, actor);
	set(&ev->time, time);
	return ev;
}

/* A valid report, filed by the 所属長 chief.kanda 30 minutes after the
 * loss was recognised (09:10 JST = 00:10Z). */
static Csirt__V1__Event *
ev_report(uint64_t seq, const char *time)
{
	Csirt__V1__Event *ev = ev_new(seq, RO(REPORTER), "chief.kanda", time);
	Csirt__V1__IncidentReported *ir = util_xmalloc(sizeof(*ir));
	Csirt__V1__Case *c = util_xmalloc(sizeof(*c));
	Csirt__V1__Equipment *eq = util_xmalloc(sizeof(*eq));

	csirt__v1__incident_reported__init(ir);
	csirt__v1__case__init(c);
	csirt__v1__equipment__init(eq);
	set(&c->title, TITLE_JA);
	set(&c->description, "帰庁後、鞄の中にUSBメモリがないことに気付いた。");
	c->category = CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT;
	set(&c->recognized_at, "2026-11-27T09:10:00+09:00");
	set(&c->division, "D0420");
	set(&c->reporter, "chief.kanda");
	eq->kind = CSIRT__V1__EQUIPMENT_KIND__EQUIPMENT_KIND_EXTERNAL_MEDIA;
	eq->owner = CSIRT__V1__OWNERSHIP__OWNERSHIP_OFFICIAL;
	set(&eq->management_number, "USB-0042");
	set(&eq->description, "USBメモリ 16GB");
	c->equipment = util_xcalloc(1, sizeof(*c->equipment));
	c->equipment[0] = eq;
	c->n_equipment = 1;
	c->classification = classification(2, 1, 1, "所属内限り");
	ir->case_ = c;
	ev->incident_reported = ir;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED;
	return ev;
}

/* An event whose payload has only a free-text field (or none). */
static Csirt__V1__Event *
ev_text(uint64_t seq, enum case_action a, int role, const char *actor,
        const char *time, const char *text)
{
	Csirt__V1__Event *ev = ev_new(seq, role, actor, time);

#define PAYLOAD(member, type, init, pc, field)                                 \
	do {                                                                   \
		type *p = util_xmalloc(sizeof(*p));                            \
		init(p);                                                       \
		set(&p->field, text);                                          \
		ev->member = p;                                                \
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_##pc;             \
	} while (0)
	switch (a) {
	case AC(ACKNOWLEDGE):
		PAYLOAD(case_acknowledged, Csirt__V1__CaseAcknowledged,
		        csirt__v1__case_acknowledged__init, CASE_ACKNOWLEDGED,
		        comment);
		break;
	case AC(GUIDE):
		PAYLOAD(guidance_given, Csirt__V1__GuidanceGiven,
		        csirt__v1__guidance_given__init, GUIDANCE_GIVEN, text);
		break;
	case AC(ESCALATE):
		PAYLOAD(case_escalated, Csirt__V1__CaseEscalated,
		        csirt__v1__case_escalated__init, CASE_ESCALATED,
		        reason);
		break;
	case AC(DISMISS):
		PAYLOAD(case_dismissed, Csirt__V1__CaseDismissed,
		        csirt__v1__case_dismissed__init, CASE_DISMISSED,
		        reason);
		break;
	case AC(OPEN_INVESTIGATION):
		PAYLOAD(investigation_opened, Csirt__V1__InvestigationOpened,
		        csirt__v1__investigation_opened__init,
		        INVESTIGATION_OPENED, reason);
		break;
	case AC(RESOLVE):
		PAYLOAD(case_resolved, Csirt__V1__CaseResolved,
		        csirt__v1__case_resolved__init, CASE_RESOLVED, summary);
		break;
	case AC(CLOSE):
		PAYLOAD(case_closed, Csirt__V1__CaseClosed,
		        csirt__v1__case_closed__init, CASE_CLOSED, comment);
		break;
	case AC(REOPEN):
		PAYLOAD(case_reopened, Csirt__V1__CaseReopened,
		        csirt__v1__case_reopened__init, CASE_REOPENED, reason);
		break;
	default:
		ck_abort_msg("ev_text: action %d has no text payload", (int)a);
	}
#undef PAYLOAD
	return ev;
}

static Csirt__V1__Event *
ev_assign(uint64_t seq, const char *time, const char *const *names)
{
	Csirt__V1__Event *ev = ev_new(seq, RO(CSIRT_LEAD), "lead.ito", time);
	Csirt__V1__InvestigatorsAssigned *a = util_xmalloc(sizeof(*a));

	csirt__v1__investigators_assigned__init(a);
	a->assignees = strv(&a->n_assignees, names);
	ev->investigators_assigned = a;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_INVESTIGATORS_ASSIGNED;
	return ev;
}

static Csirt__V1__Event *
ev_note_add(uint64_t seq, int role, const char *actor, const char *time,
            const char *note_id)
{
	Csirt__V1__Event *ev = ev_new(seq, role, actor, time);
	Csirt__V1__NoteAdded *n = util_xmalloc(sizeof(*n));

	csirt__v1__note_added__init(n);
	set(&n->note_id, note_id);
	n->version = 1;
	n->classification = classification(2, 1, 1, "所属内限り");
	set(&n->path, "cases/2026/00/01/2026-000123/notes/n1.md.enc");
	set(&n->text_sha256, SHA);
	ev->note_added = n;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED;
	return ev;
}

static Csirt__V1__Event *
ev_note_edit(uint64_t seq, int role, const char *actor, const char *time,
             const char *note_id)
{
	Csirt__V1__Event *ev = ev_new(seq, role, actor, time);
	Csirt__V1__NoteEdited *n = util_xmalloc(sizeof(*n));

	csirt__v1__note_edited__init(n);
	set(&n->note_id, note_id);
	n->version = 2;
	set(&n->path, "cases/2026/00/01/2026-000123/notes/n1.md.enc");
	set(&n->text_sha256, SHA);
	set(&n->reason, "誤字訂正");
	ev->note_edited = n;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED;
	return ev;
}

/* An update with one change; add_change() appends more. */
static void
add_change(Csirt__V1__Event *ev, const char *field, const char *before,
           const char *after)
{
	Csirt__V1__CaseUpdated *u = ev->case_updated;
	Csirt__V1__FieldChange *ch = util_xmalloc(sizeof(*ch));

	csirt__v1__field_change__init(ch);
	set(&ch->field, field);
	set(&ch->before, before);
	set(&ch->after, after);
	u->changes =
	    util_xrealloc(u->changes, (u->n_changes + 1) * sizeof(*u->changes));
	u->changes[u->n_changes++] = ch;
}

static Csirt__V1__Event *
ev_update(uint64_t seq, int role, const char *actor, const char *time,
          const char *field, const char *before, const char *after)
{
	Csirt__V1__Event *ev = ev_new(seq, role, actor, time);
	Csirt__V1__CaseUpdated *u = util_xmalloc(sizeof(*u));

	csirt__v1__case_updated__init(u);
	set(&u->reason, "件名の訂正");
	ev->case_updated = u;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_CASE_UPDATED;
	add_change(ev, field, before, after);
	return ev;
}

/*
 * The scripted life of case 2026-000123; event i has seq 10 * (i + 1) (the
 * ledger's seq is global, so a case sees gaps).
 */
enum {
	LIFE_REPORT,
	LIFE_ACK,
	LIFE_GUIDE,
	LIFE_ESCALATE,
	LIFE_OPEN,
	LIFE_ASSIGN,
	LIFE_NOTE_ADD,
	LIFE_UPDATE,
	LIFE_NOTE_EDIT,
	LIFE_RESOLVE,
	LIFE_CLOSE,
	LIFE_REOPEN,
	LIFE__COUNT
};

static Csirt__V1__Event *
life_event(int i)
{
	static const char *const investigators[] = {"inv.suzuki", "inv.tanaka",
	                                            NULL};
	uint64_t seq = 10 * (uint64_t)(i + 1);
	char t[UTIL_TIME_LEN];

	life_time(t, i);
	switch (i) {
	case LIFE_REPORT:
		return ev_report(seq, t);
	case LIFE_ACK:
		return ev_text(seq, AC(ACKNOWLEDGE), RO(SECURITY_MANAGER),
		               "sm.sato", t, "");
	case LIFE_GUIDE:
		return ev_text(
		    seq, AC(GUIDE), RO(SECURITY_MANAGER), "sm.sato", t,
		    "立ち回り先の再捜索と、管理簿の確認を指導した。");
	case LIFE_ESCALATE:
		return ev_text(seq, AC(ESCALATE), RO(SECURITY_MANAGER),
		               "sm.sato", t, "機密性中の情報を含む");
	case LIFE_OPEN:
		return ev_text(seq, AC(OPEN_INVESTIGATION), RO(CSIRT_LEAD),
		               "lead.ito", t, "");
	case LIFE_ASSIGN:
		return ev_assign(seq, t, investigators);
	case LIFE_NOTE_ADD:
		return ev_note_add(seq, RO(INVESTIGATOR), "inv.suzuki", t,
		                   "n1");
	case LIFE_UPDATE:
		return ev_update(seq, RO(CSIRT_LEAD), "lead.ito", t, "title",
		                 TITLE_JA, TITLE_JA2);
	case LIFE_NOTE_EDIT:
		return ev_note_edit(seq, RO(INVESTIGATOR), "inv.tanaka", t,
		                    "n1");
	case LIFE_RESOLVE:
		return ev_text(seq, AC(RESOLVE), RO(CSIRT_LEAD), "lead.ito", t,
		               "暗号化済み媒体であり、情報流出の痕跡なし。");
	case LIFE_CLOSE:
		return ev_text(seq, AC(CLOSE), RO(SECURITY_MANAGER), "sm.sato",
		               t, "");
	case LIFE_REOPEN:
		return ev_text(seq, AC(REOPEN), RO(CSIRT_LEAD), "lead.ito", t,
		               "媒体が外部で発見された");
	}
	ck_abort_msg("no life event %d", i);
	return NULL;
}

/* The case after the first n events of the life, each validated. */
static Csirt__V1__Case *
case_after(int n)
{
	Csirt__V1__Case *c = case_new();

	for (int i = 0; i < n; i++) {
		Csirt__V1__Event *ev = life_event(i);
		ck_assert_msg(case_validate(i == 0 ? NULL : c, ev) == 0,
		              "life event %d: %s", i, csirt_error_msg());
		ck_assert_msg(case_apply(c, ev) == 0, "life event %d: %s", i,
		              csirt_error_msg());
		ev_free(ev);
	}
	return c;
}

static uint8_t *
pack(size_t *len, const Csirt__V1__Case *c)
{
	uint8_t *buf;

	*len = csirt__v1__case__get_packed_size(c);
	buf = util_xmalloc(*len + 1);
	ck_assert_uint_eq(csirt__v1__case__pack(c, buf), *len);
	return buf;
}

/* ---- (a) every state x action x role --------------------------------- */

/* The legal triples of DESIGN.md §4, written independently of
 * lifecycle.c.  Everything else must be refused. */
static const struct legal {
	int from, action, role, to;
} legal[] = {
    {0, AC(REPORT), RO(REPORTER), ST(REPORTED)},
    {0, AC(REPORT), RO(SECURITY_MANAGER), ST(REPORTED)},
    {ST(REPORTED), AC(ACKNOWLEDGE), RO(SECURITY_MANAGER), ST(ACKNOWLEDGED)},
    {ST(REPORTED), AC(ESCALATE), RO(SECURITY_MANAGER), ST(ESCALATED)},
    {ST(REPORTED), AC(ESCALATE), RO(SYSTEM), ST(ESCALATED)},
    {ST(ACKNOWLEDGED), AC(ESCALATE), RO(SECURITY_MANAGER), ST(ESCALATED)},
    {ST(REPORTED), AC(DISMISS), RO(SECURITY_MANAGER), ST(DISMISSED)},
    {ST(ACKNOWLEDGED), AC(DISMISS), RO(SECURITY_MANAGER), ST(DISMISSED)},
    {ST(ESCALATED), AC(OPEN_INVESTIGATION), RO(CSIRT_LEAD), ST(INVESTIGATING)},
    {ST(INVESTIGATING), AC(RESOLVE), RO(CSIRT_LEAD), ST(RESOLVED)},
    {ST(RESOLVED), AC(CLOSE), RO(SECURITY_MANAGER), ST(CLOSED)},
    {ST(RESOLVED), AC(CLOSE), RO(CSIRT_LEAD), ST(CLOSED)},
    {ST(CLOSED), AC(REOPEN), RO(CSIRT_LEAD), ST(INVESTIGATING)},

    {ST(REPORTED), AC(GUIDE), RO(SECURITY_MANAGER), ST(REPORTED)},
    {ST(ACKNOWLEDGED), AC(GUIDE), RO(SECURITY_MANAGER), ST(ACKNOWLEDGED)},
    {ST(ESCALATED), AC(GUIDE), RO(SECURITY_MANAGER), ST(ESCALATED)},
    {ST(INVESTIGATING), AC(GUIDE), RO(SECURITY_MANAGER), ST(INVESTIGATING)},
    {ST(RESOLVED), AC(GUIDE), RO(SECURITY_MANAGER), ST(RESOLVED)},

    {ST(ESCALATED), AC(ASSIGN), RO(CSIRT_LEAD), ST(ESCALATED)},
    {ST(INVESTIGATING), AC(ASSIGN), RO(CSIRT_LEAD), ST(INVESTIGATING)},

    {ST(REPORTED), AC(NOTE_ADD), RO(SECURITY_MANAGER), ST(REPORTED)},
    {ST(REPORTED), AC(NOTE_ADD), RO(CSIRT_LEAD), ST(REPORTED)},
    {ST(ACKNOWLEDGED), AC(NOTE_ADD), RO(SECURITY_MANAGER), ST(ACKNOWLEDGED)},
    {ST(ACKNOWLEDGED), AC(NOTE_ADD), RO(CSIRT_LEAD), ST(ACKNOWLEDGED)},
    {ST(ESCALATED), AC(NOTE_ADD), RO(SECURITY_MANAGER), ST(ESCALATED)},
    {ST(ESCALATED), AC(NOTE_ADD), RO(CSIRT_LEAD), ST(ESCALATED)},
    {ST(ESCALATED), AC(NOTE_ADD), RO(INVESTIGATOR), ST(ESCALATED)},
    {ST(INVESTIGATING), AC(NOTE_ADD), RO(SECURITY_MANAGER), ST(INVESTIGATING)},
    {ST(INVESTIGATING), AC(NOTE_ADD), RO(CSIRT_LEAD), ST(INVESTIGATING)},
    {ST(INVESTIGATING), AC(NOTE_ADD), RO(INVESTIGATOR), ST(INVESTIGATING)},
    {ST(RESOLVED), AC(NOTE_ADD), RO(SECURITY_MANAGER), ST(RESOLVED)},
    {ST(RESOLVED), AC(NOTE_ADD), RO(CSIRT_LEAD), ST(RESOLVED)},
    {ST(RESOLVED), AC(NOTE_ADD), RO(INVESTIGATOR), ST(RESOLVED)},

    {ST(REPORTED), AC(NOTE_EDIT), RO(SECURITY_MANAGER), ST(REPORTED)},
    {ST(REPORTED), AC(NOTE_EDIT), RO(CSIRT_LEAD), ST(REPORTED)},
    {ST(ACKNOWLEDGED), AC(NOTE_EDIT), RO(SECURITY_MANAGER), ST(ACKNOWLEDGED)},
    {ST(ACKNOWLEDGED), AC(NOTE_EDIT), RO(CSIRT_LEAD), ST(ACKNOWLEDGED)},
    {ST(ESCALATED), AC(NOTE_EDIT), RO(SECURITY_MANAGER), ST(ESCALATED)},
    {ST(ESCALATED), AC(NOTE_EDIT), RO(CSIRT_LEAD), ST(ESCALATED)},
    {ST(ESCALATED), AC(NOTE_EDIT), RO(INVESTIGATOR), ST(ESCALATED)},
    {ST(INVESTIGATING), AC(NOTE_EDIT), RO(SECURITY_MANAGER), ST(INVESTIGATING)},
    {ST(INVESTIGATING), AC(NOTE_EDIT), RO(CSIRT_LEAD), ST(INVESTIGATING)},
    {ST(INVESTIGATING), AC(NOTE_EDIT), RO(INVESTIGATOR), ST(INVESTIGATING)},
    {ST(RESOLVED), AC(NOTE_EDIT), RO(SECURITY_MANAGER), ST(RESOLVED)},
    {ST(RESOLVED), AC(NOTE_EDIT), RO(CSIRT_LEAD), ST(RESOLVED)},
    {ST(RESOLVED), AC(NOTE_EDIT), RO(INVESTIGATOR), ST(RESOLVED)},

    {ST(REPORTED), AC(UPDATE), RO(REPORTER), ST(REPORTED)},
    {ST(REPORTED), AC(UPDATE), RO(SECURITY_MANAGER), ST(REPORTED)},
    {ST(REPORTED), AC(UPDATE), RO(CSIRT_LEAD), ST(REPORTED)},
    {ST(ACKNOWLEDGED), AC(UPDATE), RO(SECURITY_MANAGER), ST(ACKNOWLEDGED)},
    {ST(ACKNOWLEDGED), AC(UPDATE), RO(CSIRT_LEAD), ST(ACKNOWLEDGED)},
    {ST(ESCALATED), AC(UPDATE), RO(SECURITY_MANAGER), ST(ESCALATED)},
    {ST(ESCALATED), AC(UPDATE), RO(CSIRT_LEAD), ST(ESCALATED)},
    {ST(INVESTIGATING), AC(UPDATE), RO(SECURITY_MANAGER), ST(INVESTIGATING)},
    {ST(INVESTIGATING), AC(UPDATE), RO(CSIRT_LEAD), ST(INVESTIGATING)},
    {ST(RESOLVED), AC(UPDATE), RO(SECURITY_MANAGER), ST(RESOLVED)},
    {ST(RESOLVED), AC(UPDATE), RO(CSIRT_LEAD), ST(RESOLVED)},
    {ST(REPORTED), AC(DEADLINE_MISS), RO(SYSTEM), ST(REPORTED)},
    {ST(ACKNOWLEDGED), AC(DEADLINE_MISS), RO(SYSTEM), ST(ACKNOWLEDGED)},
    {ST(ESCALATED), AC(DEADLINE_MISS), RO(SYSTEM), ST(ESCALATED)},
    {ST(INVESTIGATING), AC(DEADLINE_MISS), RO(SYSTEM), ST(INVESTIGATING)},
    {ST(RESOLVED), AC(DEADLINE_MISS), RO(SYSTEM), ST(RESOLVED)},
/* 第13.2 (request.c) */
#define INV_ONLY(a, r)                                                         \
	{                                                                      \
		ST(INVESTIGATING), AC(a), RO(r), ST(INVESTIGATING)             \
	}
    INV_ONLY(REQUEST_CREATE, CSIRT_LEAD),
    INV_ONLY(REQUEST_CREATE, INVESTIGATOR),
    INV_ONLY(REQUEST_ACK, REPORTER),
    INV_ONLY(REQUEST_RESPOND, REPORTER),
    INV_ONLY(REQUEST_FULFIL, CSIRT_LEAD),
    INV_ONLY(REQUEST_FULFIL, INVESTIGATOR),
    INV_ONLY(REQUEST_CANCEL, CSIRT_LEAD),
    INV_ONLY(REQUEST_CANCEL, INVESTIGATOR),
    INV_ONLY(ITEM_REGISTER, CSIRT_LEAD),
    INV_ONLY(ITEM_REGISTER, INVESTIGATOR),
    INV_ONLY(ITEM_TRANSFER, CSIRT_LEAD),
    INV_ONLY(ITEM_TRANSFER, INVESTIGATOR),
    INV_ONLY(ITEM_RETURN, CSIRT_LEAD),
    INV_ONLY(ITEM_RETURN, INVESTIGATOR),
    INV_ONLY(ITEM_DISPOSE, CSIRT_LEAD),
    INV_ONLY(ITEM_DISPOSE, INVESTIGATOR),
#undef INV_ONLY
    {ST(RESOLVED), AC(ITEM_TRANSFER), RO(CSIRT_LEAD), ST(RESOLVED)},
    {ST(RESOLVED), AC(ITEM_TRANSFER), RO(INVESTIGATOR), ST(RESOLVED)},
    {ST(RESOLVED), AC(ITEM_RETURN), RO(CSIRT_LEAD), ST(RESOLVED)},
    {ST(RESOLVED), AC(ITEM_RETURN), RO(INVESTIGATOR), ST(RESOLVED)},
    {ST(RESOLVED), AC(ITEM_DISPOSE), RO(CSIRT_LEAD), ST(RESOLVED)},
    {ST(RESOLVED), AC(ITEM_DISPOSE), RO(INVESTIGATOR), ST(RESOLVED)},
    /* evidence (issue 6): added like notes; disposed (廃棄) by the lead in
     * every state, the terminal ones included */
    {ST(REPORTED), AC(EVIDENCE_ADD), RO(SECURITY_MANAGER), ST(REPORTED)},
    {ST(REPORTED), AC(EVIDENCE_ADD), RO(CSIRT_LEAD), ST(REPORTED)},
    {ST(ACKNOWLEDGED), AC(EVIDENCE_ADD), RO(SECURITY_MANAGER),
     ST(ACKNOWLEDGED)},
    {ST(ACKNOWLEDGED), AC(EVIDENCE_ADD), RO(CSIRT_LEAD), ST(ACKNOWLEDGED)},
    {ST(ESCALATED), AC(EVIDENCE_ADD), RO(SECURITY_MANAGER), ST(ESCALATED)},
    {ST(ESCALATED), AC(EVIDENCE_ADD), RO(CSIRT_LEAD), ST(ESCALATED)},
    {ST(ESCALATED), AC(EVIDENCE_ADD), RO(INVESTIGATOR), ST(ESCALATED)},
    {ST(INVESTIGATING), AC(EVIDENCE_ADD), RO(SECURITY_MANAGER),
     ST(INVESTIGATING)},
    {ST(INVESTIGATING), AC(EVIDENCE_ADD), RO(CSIRT_LEAD), ST(INVESTIGATING)},
    {ST(INVESTIGATING), AC(EVIDENCE_ADD), RO(INVESTIGATOR), ST(INVESTIGATING)},
    {ST(RESOLVED), AC(EVIDENCE_ADD), RO(SECURITY_MANAGER), ST(RESOLVED)},
    {ST(RESOLVED), AC(EVIDENCE_ADD), RO(CSIRT_LEAD), ST(RESOLVED)},
    {ST(RESOLVED), AC(EVIDENCE_ADD), RO(INVESTIGATOR), ST(RESOLVED)},
    {ST(REPORTED), AC(EVIDENCE_DISPOSE), RO(CSIRT_LEAD), ST(REPORTED)},
    {ST(ACKNOWLEDGED), AC(EVIDENCE_DISPOSE), RO(CSIRT_LEAD), ST(ACKNOWLEDGED)},
    {ST(ESCALATED), AC(EVIDENCE_DISPOSE), RO(CSIRT_LEAD), ST(ESCALATED)},
    {ST(INVESTIGATING), AC(EVIDENCE_DISPOSE), RO(CSIRT_LEAD),
     ST(INVESTIGATING)},
    {ST(RESOLVED), AC(EVIDENCE_DISPOSE), RO(CSIRT_LEAD), ST(RESOLVED)},
    {ST(CLOSED), AC(EVIDENCE_DISPOSE), RO(CSIRT_LEAD), ST(CLOSED)},
    {ST(DISMISSED), AC(EVIDENCE_DISPOSE), RO(CSIRT_LEAD), ST(DISMISSED)},
    {ST(REPORTED), AC(EVIDENCE_REVIEW), RO(SECURITY_MANAGER), ST(REPORTED)},
    {ST(ACKNOWLEDGED), AC(EVIDENCE_REVIEW), RO(SECURITY_MANAGER),
     ST(ACKNOWLEDGED)},
    {ST(ESCALATED), AC(EVIDENCE_REVIEW), RO(SECURITY_MANAGER), ST(ESCALATED)},
    {ST(INVESTIGATING), AC(EVIDENCE_REVIEW), RO(SECURITY_MANAGER),
     ST(INVESTIGATING)},
    {ST(RESOLVED), AC(EVIDENCE_REVIEW), RO(SECURITY_MANAGER), ST(RESOLVED)},
    {ST(CLOSED), AC(EVIDENCE_REVIEW), RO(SECURITY_MANAGER), ST(CLOSED)},
    {ST(DISMISSED), AC(EVIDENCE_REVIEW), RO(SECURITY_MANAGER), ST(DISMISSED)},
};

/* The code a refusal must carry, from the list alone: EDENIED if the
 * role may never do it, ESTATE if nobody may from here, else EDENIED. */
static int
expected_refusal(int from, int action, int role)
{
	int ever = 0, here = 0;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(legal); i++) {
		if (legal[i].action != action)
			continue;
		if (legal[i].role == role)
			ever = 1;
		if (legal[i].from == from)
			here = 1;
	}
	if (!ever)
		return CSIRT_EDENIED;
	return here ? CSIRT_EDENIED : CSIRT_ESTATE;
}

START_TEST(test_lifecycle_every_state_action_role)
{
	int checked = 0, allowed = 0;

	for (int from = -1; from <= ST(DISMISSED) + 1; from++) {
		for (int a = 0; a <= CASE_ACTION__COUNT; a++) {
			for (int role = 0; role <= RO(SYSTEM) + 1; role++) {
				const struct legal *l = NULL;
				int to = -42, rc, want;

				for (size_t i = 0; i < UTIL_ARRAY_LEN(legal);
				     i++)
					if (legal[i].from == from &&
					    legal[i].action == a &&
					    legal[i].role == role)
						l = &legal[i];
				rc = lifecycle_check(&to, from,
				                     (enum case_action)a, role);
				checked++;
				if (from < 0 || from > ST(DISMISSED) ||
				    a == CASE_ACTION__COUNT) {
					ck_assert_int_eq(rc, CSIRT_EINVAL);
					continue;
				}
				if (l != NULL) {
					ck_assert_msg(
					    rc == 0 && to == l->to,
					    "%s %s by role %d: rc %d "
					    "to %d: %s",
					    lifecycle_state_name(from),
					    lifecycle_action_name(a), role, rc,
					    to, csirt_error_msg());
					allowed++;
					continue;
				}
				want = expected_refusal(from, a, role);
				ck_assert_msg(
				    rc == want,
				    "%s %s by role %d: rc %d, want %d "
				    "(%s)",
				    lifecycle_state_name(from),
				    lifecycle_action_name(a), role, rc, want,
				    csirt_error_msg());
				ck_assert_int_eq(to, -42);
				/* The message names the action, and the state
				 * when the state is the reason. */
				ck_assert_ptr_nonnull(
				    strstr(csirt_error_msg(),
				           lifecycle_action_name(a)));
				if (rc == CSIRT_ESTATE && from != 0)
					ck_assert_ptr_nonnull(
					    strstr(csirt_error_msg(),
					           lifecycle_state_name(from)));
			}
		}
	}
	ck_assert_int_eq(allowed, (int)UTIL_ARRAY_LEN(legal));
	ck_assert_int_eq(checked, 10 * (CASE_ACTION__COUNT + 1) * 9);
}
END_TEST

START_TEST(test_lifecycle_names)
{
	ck_assert_str_eq(lifecycle_action_name(AC(ACKNOWLEDGE)), "acknowledge");
	ck_assert_str_eq(lifecycle_action_name(AC(OPEN_INVESTIGATION)),
	                 "open_investigation");
	ck_assert_str_eq(lifecycle_action_name(CASE_ACTION__COUNT), "unknown");
	ck_assert_str_eq(lifecycle_state_name(ST(REPORTED)), "REPORTED");
	ck_assert_str_eq(lifecycle_state_name(ST(DISMISSED)), "DISMISSED");
	ck_assert_str_eq(lifecycle_state_name(0), "NONE");
	ck_assert_str_eq(lifecycle_state_name(99), "UNKNOWN");
	for (int a = 0; a < CASE_ACTION__COUNT; a++)
		ck_assert_str_ne(lifecycle_action_name(a), "unknown");
}
END_TEST

START_TEST(test_lifecycle_event_action)
{
	Csirt__V1__Event *ev = ev_new(1, RO(ADMIN), "admin", "");
	enum case_action a;

	ck_assert_int_eq(lifecycle_event_action(&a, ev), CSIRT_EINVAL);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_USER_CREATED;
	ck_assert_int_eq(lifecycle_event_action(&a, ev), CSIRT_EINVAL);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "no case payload"));
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_DIVISION_CREATED;
	ck_assert_int_eq(lifecycle_event_action(&a, ev), CSIRT_EINVAL);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD__NOT_SET;
	ev_free(ev);

	for (int i = 0; i < LIFE__COUNT; i++) {
		static const enum case_action want[LIFE__COUNT] = {
		    AC(REPORT),
		    AC(ACKNOWLEDGE),
		    AC(GUIDE),
		    AC(ESCALATE),
		    AC(OPEN_INVESTIGATION),
		    AC(ASSIGN),
		    AC(NOTE_ADD),
		    AC(UPDATE),
		    AC(NOTE_EDIT),
		    AC(RESOLVE),
		    AC(CLOSE),
		    AC(REOPEN)};
		ev = life_event(i);
		ck_assert_int_eq(lifecycle_event_action(&a, ev), 0);
		ck_assert_int_eq(a, want[i]);
		ev_free(ev);
	}
	ev = ev_text(1, AC(DISMISS), RO(SECURITY_MANAGER), "sm", "", "x");
	ck_assert_int_eq(lifecycle_event_action(&a, ev), 0);
	ck_assert_int_eq(a, AC(DISMISS));
	ev_free(ev);
}
END_TEST

/* ---- (b) case_validate refusals, one per kind ------------------------ */

struct vfix {
	Csirt__V1__Case *cur;
	Csirt__V1__Event *ev;
};

static Csirt__V1__Case *
rcase(struct vfix *v)
{
	return v->ev->incident_reported->case_;
}

/* Replaces the default report by `ev` on the case after n life events. */
static void
at(struct vfix *v, int n, Csirt__V1__Event *ev)
{
	ev_free(v->ev);
	v->cur = case_after(n);
	v->ev = ev;
}

#define T "2026-12-01T00:00:00.000Z"

static void
m_seq_zero(struct vfix *v)
{
	v->ev->seq = 0;
}
static void
m_actor_empty(struct vfix *v)
{
	set(&v->ev->actor, "");
}
static void
m_case_id_empty(struct vfix *v)
{
	set(&v->ev->case_id, "");
}
static void
m_time_bad(struct vfix *v)
{
	set(&v->ev->time, "2026-11-27 00:40");
}
static void
m_directory_payload(struct vfix *v)
{
	ev_free(v->ev);
	v->ev = ev_new(1, RO(ADMIN), "admin", T);
	v->ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_DIVISION_CREATED;
}
static void
m_payload_null(struct vfix *v)
{
	Csirt__V1__IncidentReported *ir = v->ev->incident_reported;

	protobuf_c_message_free_unpacked(&ir->case_->base, NULL);
	ir->case_ = NULL;
}
static void
m_title_empty(struct vfix *v)
{
	set(&rcase(v)->title, "");
}
static void
m_title_long(struct vfix *v)
{
	char t[CASE_TITLE_MAX + 2];

	memset(t, 'x', sizeof(t) - 1);
	t[sizeof(t) - 1] = '\0';
	set(&rcase(v)->title, t);
}
static void
m_title_newline(struct vfix *v)
{
	set(&rcase(v)->title, "紛失\nEvent: forged");
}
static void
m_title_utf8(struct vfix *v)
{
	set(&rcase(v)->title, "\xe6\xa9");
}
static void
m_description_long(struct vfix *v)
{
	char *d = util_xmalloc(CASE_TEXT_MAX + 2);

	memset(d, 'd', CASE_TEXT_MAX + 1);
	d[CASE_TEXT_MAX + 1] = '\0';
	set(&rcase(v)->description, d);
	free(d);
}
static void
m_category_zero(struct vfix *v)
{
	rcase(v)->category = 0;
}
static void
m_category_eight(struct vfix *v)
{
	rcase(v)->category = 8;
}
static void
m_recognized_empty(struct vfix *v)
{
	set(&rcase(v)->recognized_at, "");
}
static void
m_recognized_bad(struct vfix *v)
{
	set(&rcase(v)->recognized_at, "2026-11-27");
}
static void
m_recognized_future(struct vfix *v)
{
	set(&rcase(v)->recognized_at, "2026-11-27T09:41:00+09:00");
}
static void
m_division_empty(struct vfix *v)
{
	set(&rcase(v)->division, "");
}
static void
m_reporter_empty(struct vfix *v)
{
	v->ev->role = RO(SECURITY_MANAGER);
	set(&rcase(v)->reporter, "");
}
static void
m_reporter_other(struct vfix *v)
{
	set(&rcase(v)->reporter, "chief.other");
}
static void
m_equipment_kind(struct vfix *v)
{
	rcase(v)->equipment[0]->kind = 0;
}
static void
m_equipment_owner(struct vfix *v)
{
	rcase(v)->equipment[0]->owner = 9;
}
static void
m_classification_missing(struct vfix *v)
{
	protobuf_c_message_free_unpacked(&rcase(v)->classification->base, NULL);
	rcase(v)->classification = NULL;
}
static void
m_confidentiality(struct vfix *v)
{
	rcase(v)->classification->confidentiality = 0;
}
static void
m_integrity(struct vfix *v)
{
	rcase(v)->classification->integrity = 0;
}
static void
m_availability(struct vfix *v)
{
	rcase(v)->classification->availability = 3;
}
static void
m_restriction_dup(struct vfix *v)
{
	static const char *const r[] = {"所属内限り", "所属内限り", NULL};
	Csirt__V1__Classification *cl = rcase(v)->classification;

	for (size_t i = 0; i < cl->n_handling_restrictions; i++)
		free(cl->handling_restrictions[i]);
	free(cl->handling_restrictions);
	cl->handling_restrictions = strv(&cl->n_handling_restrictions, r);
}
static void
m_emergency(struct vfix *v, int flag, const char *instruction)
{
	Csirt__V1__Emergency *em = util_xmalloc(sizeof(*em));

	csirt__v1__emergency__init(em);
	em->flag = flag;
	set(&em->instruction, instruction);
	rcase(v)->emergency = em;
}
static void
m_emergency_no_instruction(struct vfix *v)
{
	m_emergency(v, 1, "");
}
static void
m_instruction_no_flag(struct vfix *v)
{
	m_emergency(v, 0, "第15による指示");
}
static void
m_server_field(struct vfix *v)
{
	static const char *const a[] = {"inv.suzuki", NULL};

	rcase(v)->assignees = strv(&rcase(v)->n_assignees, a);
}
static void
m_not_found(struct vfix *v)
{
	ev_free(v->ev);
	v->ev =
	    ev_text(2, AC(ACKNOWLEDGE), RO(SECURITY_MANAGER), "sm.sato", T, "");
}
static void
m_seq_stale(struct vfix *v)
{
	at(v, 2,
	   ev_text(20, AC(ESCALATE), RO(SECURITY_MANAGER), "sm.sato", T, ""));
}
static void
m_case_id_other(struct vfix *v)
{
	at(v, 2,
	   ev_text(99, AC(ESCALATE), RO(SECURITY_MANAGER), "sm.sato", T, ""));
	set(&v->ev->case_id, "2026-000999");
}
static void
m_auditor(struct vfix *v)
{
	at(v, 1, ev_text(99, AC(ACKNOWLEDGE), RO(AUDITOR), "aud.kato", T, ""));
}
static void
m_wrong_state(struct vfix *v)
{
	at(v, 1, ev_text(99, AC(RESOLVE), RO(CSIRT_LEAD), "lead.ito", T, "x"));
}
static void
m_investigator_unassigned(struct vfix *v)
{
	at(v, LIFE_ASSIGN + 1,
	   ev_note_add(99, RO(INVESTIGATOR), "inv.yamada", T, "n1"));
}
static void
m_reporter_not_filer(struct vfix *v)
{
	at(v, 1,
	   ev_update(99, RO(REPORTER), "chief.other", T, "title", TITLE_JA,
	             "x"));
}
static void
m_dismiss_no_reason(struct vfix *v)
{
	at(v, 2,
	   ev_text(99, AC(DISMISS), RO(SECURITY_MANAGER), "sm.sato", T, ""));
}
static void
m_reopen_no_reason(struct vfix *v)
{
	at(v, LIFE_CLOSE + 1,
	   ev_text(999, AC(REOPEN), RO(CSIRT_LEAD), "lead.ito", T, ""));
}
static void
m_guide_no_text(struct vfix *v)
{
	at(v, 1,
	   ev_text(99, AC(GUIDE), RO(SECURITY_MANAGER), "sm.sato", T, ""));
}
static void
m_resolve_no_summary(struct vfix *v)
{
	at(v, LIFE_OPEN + 1,
	   ev_text(99, AC(RESOLVE), RO(CSIRT_LEAD), "lead.ito", T, ""));
}
static void
m_assign_empty(struct vfix *v)
{
	static const char *const none[] = {NULL};

	at(v, LIFE_OPEN + 1, ev_assign(99, T, none));
}
static void
m_assign_dup(struct vfix *v)
{
	static const char *const dup[] = {"inv.suzuki", "inv.suzuki", NULL};

	at(v, LIFE_OPEN + 1, ev_assign(99, T, dup));
}
static void
m_note_id(struct vfix *v)
{
	at(v, LIFE_OPEN + 1,
	   ev_note_add(99, RO(CSIRT_LEAD), "lead.ito", T, "n5"));
}
static void
m_note_classification(struct vfix *v)
{
	at(v, LIFE_OPEN + 1,
	   ev_note_add(99, RO(CSIRT_LEAD), "lead.ito", T, "n1"));
	v->ev->note_added->classification->integrity = 0;
}
/* 第4.4: 機密性低 on a 機密性中 case. */
static void
m_note_below_case(struct vfix *v)
{
	at(v, LIFE_OPEN + 1,
	   ev_note_add(99, RO(CSIRT_LEAD), "lead.ito", T, "n1"));
	v->ev->note_added->classification->confidentiality =
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
}
static void
m_note_restriction_dropped(struct vfix *v)
{
	at(v, LIFE_OPEN + 1,
	   ev_note_add(99, RO(CSIRT_LEAD), "lead.ito", T, "n1"));
	Csirt__V1__Classification *cl = v->ev->note_added->classification;
	for (size_t i = 0; i < cl->n_handling_restrictions; i++)
		free(cl->handling_restrictions[i]);
	free(cl->handling_restrictions);
	cl->handling_restrictions = NULL;
	cl->n_handling_restrictions = 0;
}
static void
m_note_sha(struct vfix *v)
{
	at(v, LIFE_OPEN + 1,
	   ev_note_add(99, RO(CSIRT_LEAD), "lead.ito", T, "n1"));
	set(&v->ev->note_added->text_sha256, "9F86D081");
}
/* text_mac belongs to sealed notes only, and replaces text_sha256. */
static void
m_note_mac_unsealed(struct vfix *v)
{
	at(v, LIFE_OPEN + 1,
	   ev_note_add(99, RO(CSIRT_LEAD), "lead.ito", T, "n1"));
	set(&v->ev->note_added->text_sha256, "");
	set(&v->ev->note_added->text_mac, SHA);
}
static void
m_note_mac_and_sha(struct vfix *v)
{
	at(v, LIFE_OPEN + 1,
	   ev_note_add(99, RO(CSIRT_LEAD), "lead.ito", T, "n1"));
	set(&v->ev->note_added->content_blob,
	    "0123456789abcdef0123456789abcdef01234567");
	set(&v->ev->note_added->text_mac, SHA);
}
static void
m_note_mac_bad(struct vfix *v)
{
	at(v, LIFE_OPEN + 1,
	   ev_note_add(99, RO(CSIRT_LEAD), "lead.ito", T, "n1"));
	set(&v->ev->note_added->content_blob,
	    "0123456789abcdef0123456789abcdef01234567");
	set(&v->ev->note_added->text_sha256, "");
	set(&v->ev->note_added->text_mac, "ABC");
}
static void
m_note_edit_unknown(struct vfix *v)
{
	at(v, LIFE_NOTE_ADD + 1,
	   ev_note_edit(999, RO(CSIRT_LEAD), "lead.ito", T, "n2"));
}
static void
m_update_equipment(struct vfix *v)
{
	at(v, 1,
	   ev_update(99, RO(SECURITY_MANAGER), "sm.sato", T, "equipment", "",
	             "[]"));
}
static void
m_update_unknown(struct vfix *v)
{
	at(v, 1,
	   ev_update(99, RO(SECURITY_MANAGER), "sm.sato", T, "state",
	             "CASE_STATE_REPORTED", "CASE_STATE_CLOSED"));
}
static void
m_update_conflict(struct vfix *v)
{
	at(v, 1,
	   ev_update(99, RO(SECURITY_MANAGER), "sm.sato", T, "title",
	             "古い件名", TITLE_JA2));
}
static void
m_update_category(struct vfix *v)
{
	at(v, 1,
	   ev_update(99, RO(SECURITY_MANAGER), "sm.sato", T, "category",
	             "CATEGORY_LOST_EQUIPMENT", "6"));
}
static void
m_update_unchanged(struct vfix *v)
{
	at(v, 1,
	   ev_update(99, RO(SECURITY_MANAGER), "sm.sato", T, "title", TITLE_JA,
	             TITLE_JA));
}
static void
m_update_twice(struct vfix *v)
{
	at(v, 1,
	   ev_update(99, RO(SECURITY_MANAGER), "sm.sato", T, "title", TITLE_JA,
	             TITLE_JA2));
	add_change(v->ev, "title", TITLE_JA, "x");
}

static const struct refusal {
	const char *name;
	void (*mutate)(struct vfix *);
	int code;
	const char *msg;
} refusals[] = {
    {"seq zero", m_seq_zero, CSIRT_EINVAL, "seq: must be positive"},
    {"actor empty", m_actor_empty, CSIRT_EINVAL, "actor: required"},
    {"case_id empty", m_case_id_empty, CSIRT_EINVAL, "case_id: required"},
    {"time bad", m_time_bad, CSIRT_EINVAL, "time: invalid time"},
    {"directory payload", m_directory_payload, CSIRT_EINVAL, "no case payload"},
    {"payload null", m_payload_null, CSIRT_EINVAL, "report: payload missing"},
    {"title empty", m_title_empty, CSIRT_EINVAL, "case.title: required"},
    {"title long", m_title_long, CSIRT_EINVAL,
     "case.title: 201 bytes, at most 200 allowed"},
    {"title newline", m_title_newline, CSIRT_EINVAL,
     "case.title: control character 0x0a not allowed"},
    {"title utf8", m_title_utf8, CSIRT_EINVAL, "case.title: not valid UTF-8"},
    {"description long", m_description_long, CSIRT_EINVAL,
     "case.description: 65537 bytes, at most 65536 allowed"},
    {"category zero", m_category_zero, CSIRT_EINVAL, "case.category: required"},
    {"category eight", m_category_eight, CSIRT_EINVAL,
     "case.category: 8 is not a defined value"},
    {"recognized_at empty", m_recognized_empty, CSIRT_EINVAL,
     "case.recognized_at: required"},
    {"recognized_at bad", m_recognized_bad, CSIRT_EINVAL,
     "case.recognized_at: invalid time \"2026-11-27\""},
    {"recognized_at future", m_recognized_future, CSIRT_EINVAL,
     "case.recognized_at: 2026-11-27T09:41:00+09:00 is after the report "
     "time 2026-11-27T00:40:00.123Z"},
    {"division empty", m_division_empty, CSIRT_EINVAL,
     "case.division: required"},
    {"reporter empty", m_reporter_empty, CSIRT_EINVAL,
     "case.reporter: required"},
    {"reporter files for another", m_reporter_other, CSIRT_EDENIED, "own name"},
    {"equipment kind", m_equipment_kind, CSIRT_EINVAL,
     "case.equipment[0].kind: required"},
    {"equipment owner", m_equipment_owner, CSIRT_EINVAL,
     "case.equipment[0].owner: 9 is not a defined value"},
    {"classification missing", m_classification_missing, CSIRT_EINVAL,
     "case.classification: required"},
    {"confidentiality", m_confidentiality, CSIRT_EINVAL,
     "case.classification.confidentiality: required"},
    {"integrity", m_integrity, CSIRT_EINVAL,
     "case.classification.integrity: required"},
    {"availability", m_availability, CSIRT_EINVAL,
     "case.classification.availability: 3 is not a defined value"},
    {"restriction duplicate", m_restriction_dup, CSIRT_EINVAL,
     "case.classification.handling_restrictions[1]: duplicate"},
    {"emergency without instruction", m_emergency_no_instruction, CSIRT_EINVAL,
     "case.emergency.instruction: required"},
    {"instruction without flag", m_instruction_no_flag, CSIRT_EINVAL,
     "case.emergency.instruction: given without emergency.flag"},
    {"server field", m_server_field, CSIRT_EINVAL,
     "case.assignees: set by the server"},
    {"case not found", m_not_found, CSIRT_ENOTFOUND,
     "case 2026-000123 not found"},
    {"seq stale", m_seq_stale, CSIRT_EINVAL,
     "seq: 20 is not after the case's last_seq 20"},
    {"case_id other", m_case_id_other, CSIRT_EINVAL,
     "case_id: event is for 2026-000999, the case is 2026-000123"},
    {"auditor", m_auditor, CSIRT_EDENIED,
     "role ROLE_AUDITOR may not acknowledge a case"},
    {"wrong state", m_wrong_state, CSIRT_ESTATE,
     "cannot resolve a case in state REPORTED"},
    {"investigator unassigned", m_investigator_unassigned, CSIRT_EDENIED,
     "investigator inv.yamada is not assigned to case 2026-000123"},
    {"reporter not filer", m_reporter_not_filer, CSIRT_EDENIED,
     "chief.other did not file case 2026-000123"},
    {"dismiss without reason", m_dismiss_no_reason, CSIRT_EINVAL,
     "reason: required"},
    {"reopen without reason", m_reopen_no_reason, CSIRT_EINVAL,
     "reason: required"},
    {"guidance without text", m_guide_no_text, CSIRT_EINVAL, "text: required"},
    {"resolve without summary", m_resolve_no_summary, CSIRT_EINVAL,
     "summary: required"},
    {"assign empty", m_assign_empty, CSIRT_EINVAL, "assignees: required"},
    {"assign duplicate", m_assign_dup, CSIRT_EINVAL,
     "assignees[1]: duplicate \"inv.suzuki\""},
    {"note id", m_note_id, CSIRT_EINVAL, "note_id: \"n5\", expected \"n1\""},
    {"note classification", m_note_classification, CSIRT_EINVAL,
     "classification.integrity: required"},
    {"note below its case", m_note_below_case, CSIRT_EINVAL,
     "classification.confidentiality: CONFIDENTIALITY_LOW is below the "
     "case's CONFIDENTIALITY_MEDIUM"},
    {"note without the case's restriction", m_note_restriction_dropped,
     CSIRT_EINVAL,
     "classification.handling_restrictions: the case's \"所属内限り\" must "
     "be kept"},
    {"note sha", m_note_sha, CSIRT_EINVAL,
     "text_sha256: expected 64 lowercase hex digits"},
    {"note mac unsealed", m_note_mac_unsealed, CSIRT_EINVAL,
     "text_mac: only for a sealed note"},
    {"note mac and sha", m_note_mac_and_sha, CSIRT_EINVAL,
     "text_sha256: a sealed note with text_mac has no plain digest"},
    {"note mac bad", m_note_mac_bad, CSIRT_EINVAL,
     "text_mac: expected 64 lowercase hex digits"},
    {"note edit unknown", m_note_edit_unknown, CSIRT_EINVAL,
     "note_id: \"n2\" is not a note of case 2026-000123"},
    {"update equipment", m_update_equipment, CSIRT_EINVAL, "changes[0].after"},
    {"update unknown field", m_update_unknown, CSIRT_EINVAL,
     "changes[0].field: \"state\" is not an updatable field"},
    {"update conflict", m_update_conflict, CSIRT_ECONFLICT,
     "changes[0].before: does not match the current title"},
    {"update category", m_update_category, CSIRT_EINVAL,
     "changes[0].after: \"6\" is not a category name"},
    {"update unchanged", m_update_unchanged, CSIRT_EINVAL,
     "changes[0]: title is unchanged"},
    {"update twice", m_update_twice, CSIRT_EINVAL,
     "changes[1].field: \"title\" changed twice"},
};

START_TEST(test_lifecycle_validate_refuses)
{
	const struct refusal *r = &refusals[_i];
	struct vfix v = {NULL, NULL};
	char t[UTIL_TIME_LEN];
	int rc;

	life_time(t, 0);
	v.ev = ev_report(1, t);
	/* The untouched report is valid: each refusal has one cause. */
	ck_assert_msg(case_validate(NULL, v.ev) == 0, "%s", csirt_error_msg());
	r->mutate(&v);
	rc = case_validate(v.cur, v.ev);
	ck_assert_msg(rc == r->code, "%s: rc %d, want %d (%s)", r->name, rc,
	              r->code, csirt_error_msg());
	ck_assert_msg(strstr(csirt_error_msg(), r->msg) != NULL,
	              "%s: message \"%s\" lacks \"%s\"", r->name,
	              csirt_error_msg(), r->msg);
	case_free(v.cur);
	ev_free(v.ev);
}
END_TEST

START_TEST(test_lifecycle_validate_accepts_edges)
{
	Csirt__V1__Case *c = case_after(1);
	Csirt__V1__Event *ev;
	char t[UTIL_TIME_LEN], title[CASE_TITLE_MAX + 1];

	/* Exactly 200 bytes of Japanese-and-ASCII title. */
	memset(title, 'x', sizeof(title) - 1);
	title[sizeof(title) - 1] = '\0';
	memcpy(title, "紛失", strlen("紛失"));
	life_time(t, 1);
	ev = ev_update(11, RO(REPORTER), "chief.kanda", t, "title", TITLE_JA,
	               title);
	add_change(ev, "category", "CATEGORY_LOST_EQUIPMENT",
	           "CATEGORY_INFORMATION_LEAK");
	ck_assert_msg(case_validate(c, ev) == 0, "%s", csirt_error_msg());
	ev_free(ev);

	/* recognised at the very moment of the report; SM files on behalf */
	ev = ev_report(1, t);
	ev->role = RO(SECURITY_MANAGER);
	set(&ev->actor, "sm.sato");
	set(&ev->incident_reported->case_->recognized_at, t);
	ck_assert_msg(case_validate(NULL, ev) == 0, "%s", csirt_error_msg());
	ev_free(ev);

	/* the daemon escalates an unacknowledged report */
	ev = ev_text(11, AC(ESCALATE), RO(SYSTEM), "csirtd", t, "");
	ck_assert_msg(case_validate(c, ev) == 0, "%s", csirt_error_msg());
	ev_free(ev);
	case_free(c);
}
END_TEST

/* ---- (c) the scripted life ------------------------------------------- */

static void
step(Csirt__V1__Case *c, int i)
{
	Csirt__V1__Event *ev = life_event(i);
	char t[UTIL_TIME_LEN];

	ck_assert_msg(case_validate(i == 0 ? NULL : c, ev) == 0,
	              "life event %d: %s", i, csirt_error_msg());
	ck_assert_msg(case_apply(c, ev) == 0, "life event %d: %s", i,
	              csirt_error_msg());
	life_time(t, i);
	ck_assert_str_eq(c->updated_at, t);
	ck_assert_uint_eq(c->last_seq, ev->seq);
	ck_assert_str_eq(c->id, CASE_ID);
	ck_assert_int_eq(c->report_delay_seconds, 1800);
	ev_free(ev);
}

START_TEST(test_lifecycle_full_life)
{
	Csirt__V1__Case *c = case_new();

	step(c, LIFE_REPORT);
	ck_assert_int_eq(c->state, ST(REPORTED));
	ck_assert_str_eq(c->reported_at, "2026-11-27T00:40:00.123Z");
	ck_assert_str_eq(c->recognized_at, "2026-11-27T00:10:00.000Z");
	ck_assert_int_eq(c->report_delay_seconds, 1800); /* 30 min 0.123 s */
	ck_assert_uint_eq(c->last_seq, 10);
	ck_assert_int_eq(memcmp(c->title, TITLE_JA, sizeof(TITLE_JA)), 0);
	ck_assert_int_eq(c->category,
	                 CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT);
	ck_assert_str_eq(c->division, "D0420");
	ck_assert_str_eq(c->reporter, "chief.kanda");
	ck_assert_uint_eq(c->n_equipment, 1);
	ck_assert_str_eq(c->equipment[0]->description, "USBメモリ 16GB");
	ck_assert_int_eq(c->classification->confidentiality,
	                 CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM);
	ck_assert_str_eq(c->classification->handling_restrictions[0],
	                 "所属内限り");
	ck_assert_ptr_null(c->emergency);
	ck_assert_uint_eq(c->n_assignees, 0);
	ck_assert_uint_eq(c->note_count, 0);

	step(c, LIFE_ACK);
	ck_assert_int_eq(c->state, ST(ACKNOWLEDGED));
	step(c, LIFE_GUIDE);
	ck_assert_int_eq(c->state, ST(ACKNOWLEDGED));
	ck_assert_uint_eq(c->last_seq, 30);
	step(c, LIFE_ESCALATE);
	ck_assert_int_eq(c->state, ST(ESCALATED));
	step(c, LIFE_OPEN);
	ck_assert_int_eq(c->state, ST(INVESTIGATING));
	ck_assert_uint_eq(c->n_assignees, 0);
	step(c, LIFE_ASSIGN);
	ck_assert_int_eq(c->state, ST(INVESTIGATING));
	ck_assert_uint_eq(c->n_assignees, 2);
	ck_assert_str_eq(c->assignees[0], "inv.suzuki");
	ck_assert_str_eq(c->assignees[1], "inv.tanaka");
	step(c, LIFE_NOTE_ADD);
	ck_assert_uint_eq(c->note_count, 1);
	step(c, LIFE_UPDATE);
	ck_assert_int_eq(memcmp(c->title, TITLE_JA2, sizeof(TITLE_JA2)), 0);
	ck_assert_int_eq(c->state, ST(INVESTIGATING));
	step(c, LIFE_NOTE_EDIT);
	ck_assert_uint_eq(c->note_count, 1);
	step(c, LIFE_RESOLVE);
	ck_assert_int_eq(c->state, ST(RESOLVED));
	step(c, LIFE_CLOSE);
	ck_assert_int_eq(c->state, ST(CLOSED));
	step(c, LIFE_REOPEN);
	ck_assert_int_eq(c->state, ST(INVESTIGATING));
	ck_assert_uint_eq(c->last_seq, 120);
	/* the investigation resumes with the same people */
	ck_assert_uint_eq(c->n_assignees, 2);
	ck_assert_uint_eq(c->note_count, 1);
	case_free(c);
}
END_TEST

START_TEST(test_lifecycle_dismissed_is_terminal)
{
	Csirt__V1__Case *c = case_after(LIFE_ACK + 1);
	Csirt__V1__Event *ev;

	ev = ev_text(25, AC(DISMISS), RO(SECURITY_MANAGER), "sm.sato", T,
	             "誤報: 機器は庁舎内で発見");
	ck_assert_int_eq(case_validate(c, ev), 0);
	ck_assert_int_eq(case_apply(c, ev), 0);
	ck_assert_int_eq(c->state, ST(DISMISSED));
	ev_free(ev);
	/* Terminal for everything but the disposal (廃棄) of its evidence
	 * and the review of its classification (第4.5), which must stay
	 * possible whatever became of the case. */
	for (int a = 0; a < CASE_ACTION__COUNT; a++)
		for (int role = 0; role <= RO(SYSTEM); role++)
			ck_assert_int_eq(
			    lifecycle_check(NULL, ST(DISMISSED), a, role) == 0,
			    (a == AC(EVIDENCE_DISPOSE) &&
			     role == RO(CSIRT_LEAD)) ||
			        (a == AC(EVIDENCE_REVIEW) &&
			         role == RO(SECURITY_MANAGER)));
	ev = ev_text(26, AC(GUIDE), RO(SECURITY_MANAGER), "sm.sato", T, "x");
	ck_assert_int_eq(case_validate(c, ev), CSIRT_ESTATE);
	ck_assert_str_eq(csirt_error_msg(),
	                 "cannot guide a case in state DISMISSED");
	ck_assert_int_eq(case_apply(c, ev), CSIRT_ESTATE);
	ck_assert_uint_eq(c->last_seq, 25);
	ev_free(ev);
	case_free(c);
}
END_TEST

START_TEST(test_lifecycle_update_equipment)
{
	Csirt__V1__Case *c = case_after(LIFE_OPEN + 1);
	Csirt__V1__Event *ev;
	struct buf before = BUF_INIT;
	static const char after[] =
	    "{\"equipment\":[{\"kind\":\"EQUIPMENT_KIND_MOBILE_PHONE\","
	    "\"management_number\":\"携帯-0007\",\"owner\":"
	    "\"OWNERSHIP_PERSONAL\"}]}";
	Csirt__V1__EquipmentList cur = CSIRT__V1__EQUIPMENT_LIST__INIT;

	cur.n_equipment = c->n_equipment;
	cur.equipment = c->equipment;
	ck_assert_int_eq(codec_to_json(&before, &cur.base, 0), 0);
	/* A stale `before` is a conflict; the current one applies. */
	ev = ev_update(99, RO(SECURITY_MANAGER), "sm.sato", T, "equipment",
	               "{\"equipment\":[]}", after);
	ck_assert_int_eq(case_validate(c, ev), CSIRT_ECONFLICT);
	ev_free(ev);
	ev = ev_update(99, RO(SECURITY_MANAGER), "sm.sato", T, "equipment",
	               before.data, after);
	ck_assert_int_eq(case_validate(c, ev), 0);
	ck_assert_int_eq(case_apply(c, ev), 0);
	ck_assert_uint_eq(c->n_equipment, 1);
	ck_assert_int_eq(
	    c->equipment[0]->kind,
	    CSIRT__V1__EQUIPMENT_KIND__EQUIPMENT_KIND_MOBILE_PHONE);
	ck_assert_str_eq(c->equipment[0]->management_number, "携帯-0007");
	ck_assert_int_eq(c->equipment[0]->owner,
	                 CSIRT__V1__OWNERSHIP__OWNERSHIP_PERSONAL);
	ev_free(ev);
	/* An undefined kind is refused with the field named. */
	ev = ev_update(100, RO(SECURITY_MANAGER), "sm.sato", T, "equipment",
	               after, "{\"equipment\":[{\"kind\":0}]}");
	ck_assert_int_eq(case_validate(c, ev), CSIRT_EINVAL);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "equipment[0].kind"));
	ev_free(ev);
	buf_free(&before);
	case_free(c);
}
END_TEST

START_TEST(test_lifecycle_apply_refuses_and_leaves_case)
{
	Csirt__V1__Case *c = case_after(LIFE_OPEN + 1);
	Csirt__V1__Event *ev;
	uint8_t *before, *after;
	size_t blen, alen;

	before = pack(&blen, c);
	/* an unsupported field after a supported one: all or nothing */
	ev = ev_update(99, RO(CSIRT_LEAD), "lead.ito", T, "title", TITLE_JA,
	               "x");
	add_change(ev, "division", "d1", "d2");
	ck_assert_int_eq(case_apply(c, ev), CSIRT_EINVAL);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "division"));
	ev_free(ev);
	/* replaying an event already folded */
	ev = life_event(LIFE_OPEN);
	ck_assert_int_eq(case_apply(c, ev), CSIRT_EINVAL);
	ev_free(ev);
	/* another case's event */
	ev = ev_text(99, AC(RESOLVE), RO(CSIRT_LEAD), "lead.ito", T, "x");
	set(&ev->case_id, "2026-000124");
	ck_assert_int_eq(case_apply(c, ev), CSIRT_EINVAL);
	ev_free(ev);
	/* a transition the table does not have */
	ev = ev_text(99, AC(CLOSE), RO(CSIRT_LEAD), "lead.ito", T, "");
	ck_assert_int_eq(case_apply(c, ev), CSIRT_ESTATE);
	ev_free(ev);
	after = pack(&alen, c);
	ck_assert_uint_eq(alen, blen);
	ck_assert_int_eq(memcmp(before, after, blen), 0);
	free(before);
	free(after);
	case_free(c);
}
END_TEST

START_TEST(test_lifecycle_apply_normalises_times)
{
	Csirt__V1__Case *c = case_after(1);
	Csirt__V1__Event *ev;

	/* 10:00 JST is 01:00Z; stored canonical */
	ev = ev_text(11, AC(ACKNOWLEDGE), RO(SECURITY_MANAGER), "sm.sato",
	             "2026-11-27T10:00:00+09:00", "");
	ck_assert_int_eq(case_apply(c, ev), 0);
	ck_assert_str_eq(c->updated_at, "2026-11-27T01:00:00.000Z");
	ev_free(ev);
	case_free(c);
}
END_TEST

/* DESIGN.md §4 deadlines: only the daemon records a missed one, once, while
 * the case awaits acknowledgement; the fold marks the case overdue and
 * leaving REPORTED clears it; report_late comes from the limit the report
 * event carries. */
START_TEST(test_lifecycle_deadline_missed)
{
	Csirt__V1__Case *c = case_after(1);
	Csirt__V1__Event *ev, *rep;
	int64_t rep_ms;

	ck_assert(!c->overdue && !c->report_late);
	ck_assert_int_eq(util_time_parse(&rep_ms, c->reported_at), 0);
	ev = deadline_event(CASE_ID, CASE_DEADLINE_ACK, rep_ms + 1800000,
	                    1800000);
	ev->seq = 11;
	set(&ev->time, "2026-11-27T01:20:00.000Z");
	ev->role = RO(SECURITY_MANAGER);
	ck_assert_int_eq(case_validate(c, ev), CSIRT_EDENIED);
	ev->role = RO(SYSTEM);
	ck_assert_msg(case_validate(c, ev) == 0, "%s", csirt_error_msg());
	set(&ev->deadline_missed->deadline, "lunch");
	ck_assert_int_eq(case_validate(c, ev), CSIRT_EINVAL);
	set(&ev->deadline_missed->deadline, CASE_DEADLINE_ACK);
	set(&ev->deadline_missed->due, "2026-11-27T02:00:00.000Z");
	ck_assert_int_eq(case_validate(c, ev), CSIRT_EINVAL); /* future */
	set(&ev->deadline_missed->due, "2026-11-27T01:10:00.123Z");
	ck_assert_int_eq(case_validate(c, ev), 0);
	ck_assert_int_eq(case_apply(c, ev), 0);
	ck_assert(c->overdue);
	ck_assert_str_eq(c->overdue_since, "2026-11-27T01:20:00.000Z");
	ck_assert_int_eq(c->state, ST(REPORTED));
	ev->seq = 12;
	ck_assert_int_eq(case_validate(c, ev), CSIRT_ECONFLICT);
	ev_free(ev);

	ev = ev_text(13, AC(ACKNOWLEDGE), RO(SECURITY_MANAGER), "sm.sato",
	             "2026-11-27T01:30:00.000Z", "");
	ck_assert_int_eq(case_validate(c, ev), 0);
	ck_assert_int_eq(case_apply(c, ev), 0);
	ck_assert(!c->overdue);
	ck_assert_str_eq(c->overdue_since, "");
	ev_free(ev);
	ev = deadline_event(CASE_ID, CASE_DEADLINE_ACK, rep_ms + 1800000,
	                    1800000);
	ev->seq = 14;
	set(&ev->time, "2026-11-27T01:40:00.000Z");
	ck_assert_int_eq(case_validate(c, ev), CSIRT_ESTATE);
	ev_free(ev);
	case_free(c);

	/* report_late: delay over the recorded limit, and only then. */
	c = case_new();
	rep = life_event(LIFE_REPORT);
	rep->incident_reported->report_delay_limit_seconds = 60;
	ck_assert_int_eq(case_validate(NULL, rep), 0);
	ck_assert_int_eq(case_apply(c, rep), 0);
	ck_assert_int_gt(c->report_delay_seconds, 60);
	ck_assert(c->report_late);
	case_free(c);
	c = case_new();
	rep->incident_reported->report_delay_limit_seconds = 0;
	ck_assert_int_eq(case_apply(c, rep), 0);
	ck_assert(!c->report_late);
	case_free(c);
	c = case_new();
	rep->incident_reported->report_delay_limit_seconds = -1;
	ck_assert_int_eq(case_validate(NULL, rep), CSIRT_EINVAL);
	rep->incident_reported->report_delay_limit_seconds = 0;
	rep->incident_reported->case_->overdue = 1;
	ck_assert_int_eq(case_validate(NULL, rep), CSIRT_EINVAL);
	ev_free(rep);
	case_free(c);
}
END_TEST

START_TEST(test_lifecycle_state_change_logged)
{
	Csirt__V1__Case *c = case_after(1);
	Csirt__V1__Event *ev;
	char out[1024];
	ssize_t n;
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	log_set_fd(fds[1]);
	log_set_level(LOGL_DEBUG);
	ev = life_event(LIFE_ACK);
	ck_assert_int_eq(case_apply(c, ev), 0);
	ev_free(ev);
	ev = life_event(LIFE_GUIDE); /* no state change, no record */
	ck_assert_int_eq(case_apply(c, ev), 0);
	ev_free(ev);
	log_set_fd(2);
	log_set_level(LOGL_INFO);
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	close(fds[0]);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	ck_assert_ptr_nonnull(strstr(out, "level=debug"));
	ck_assert_ptr_nonnull(strstr(out, "\"REPORTED -> ACKNOWLEDGED\""));
	ck_assert_ptr_nonnull(strstr(out, "case=2026-000123"));
	ck_assert_ptr_eq(strchr(out, '\n'), strrchr(out, '\n'));
	case_free(c);
}
END_TEST

/* ---- (d) determinism ------------------------------------------------- */

START_TEST(test_lifecycle_fold_is_deterministic)
{
	Csirt__V1__Case *a = case_new(), *b = case_new();
	uint8_t *pa, *pb;
	size_t la, lb;

	for (int i = 0; i < LIFE__COUNT; i++) {
		Csirt__V1__Event *ev = life_event(i), *copy;
		size_t len = csirt__v1__event__get_packed_size(ev);
		uint8_t *buf = util_xmalloc(len + 1);

		/* b folds the events as read back from the ledger */
		csirt__v1__event__pack(ev, buf);
		copy = csirt__v1__event__unpack(NULL, len, buf);
		ck_assert_ptr_nonnull(copy);
		ck_assert_int_eq(case_apply(a, ev), 0);
		ck_assert_int_eq(case_apply(b, copy), 0);
		ev_free(ev);
		ev_free(copy);
		free(buf);
	}
	pa = pack(&la, a);
	pb = pack(&lb, b);
	ck_assert_uint_gt(la, 0);
	ck_assert_uint_eq(la, lb);
	ck_assert_int_eq(memcmp(pa, pb, la), 0);
	/* the Japanese title survives byte-exact */
	ck_assert_uint_eq(strlen(b->title), strlen(TITLE_JA2));
	ck_assert_int_eq(memcmp(b->title, TITLE_JA2, sizeof(TITLE_JA2)), 0);
	free(pa);
	free(pb);
	case_free(a);
	case_free(b);
}
END_TEST

START_TEST(test_lifecycle_free_null)
{
	case_free(NULL);
}
END_TEST

Suite *
lifecycle_suite(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_lifecycle_every_state_action_role);
	tcase_add_test(tc, test_lifecycle_names);
	tcase_add_test(tc, test_lifecycle_event_action);
	tcase_add_loop_test(tc, test_lifecycle_validate_refuses, 0,
	                    (int)UTIL_ARRAY_LEN(refusals));
	tcase_add_test(tc, test_lifecycle_validate_accepts_edges);
	tcase_add_test(tc, test_lifecycle_full_life);
	tcase_add_test(tc, test_lifecycle_dismissed_is_terminal);
	tcase_add_test(tc, test_lifecycle_apply_refuses_and_leaves_case);
	tcase_add_test(tc, test_lifecycle_update_equipment);
	tcase_add_test(tc, test_lifecycle_apply_normalises_times);
	tcase_add_test(tc, test_lifecycle_state_change_logged);
	tcase_add_test(tc, test_lifecycle_deadline_missed);
	tcase_add_test(tc, test_lifecycle_fold_is_deterministic);
	tcase_add_test(tc, test_lifecycle_free_null);
	suite_add_tcase(s, tc);
	return s;
}
