/*
 * lifecycle.c - the case state machine (DESIGN.md §4): the one table of
 * legal transitions, the validation of case events against it, and the fold
 * of events into the current case.  It owns the meaning of every case
 * event; it must never do I/O, read the clock or depend on anything but its
 * arguments, because the fold is recomputed by `csirtd rebuild` and by
 * auditors and has to give the same bytes every time.
 *
 *   (none) ──report(reporter, SM)──▶ REPORTED
 *
 *   REPORTED ──acknowledge(SM)──▶ ACKNOWLEDGED ──escalate(SM)──▶ ESCALATED
 *      │  │                          │                              │
 *      │  └─escalate(SM, system)─────┼─────────────────────▶ ESCALATED
 *      └──dismiss(SM, reason)────────┴──dismiss(SM, reason)──▶ DISMISSED
 *
 *   ESCALATED ──open_investigation(lead)──▶ INVESTIGATING
 *   INVESTIGATING ──resolve(lead, summary)──▶ RESOLVED
 *   RESOLVED ──close(SM or lead)──▶ CLOSED
 *   CLOSED ──reopen(lead, reason)──▶ INVESTIGATING
 *
 *   without a state change, in the open states (all but CLOSED, DISMISSED):
 *     guide(SM, text)                  第13.3 指導 to the reporting division
 *     note_add, note_edit(SM, lead; investigators from ESCALATED on;
 *                         an edit further only by the note's author or
 *                         the lead, which writer.c checks: it needs the
 *                         note's first version, from the index)
 *     update(SM, lead; the filing reporter too while REPORTED)
 *     assign(lead)                     ESCALATED and INVESTIGATING only
 *     evidence_add(SM, lead; investigators from ESCALATED on; a new
 *                  version of an item likewise; issue 6)
 *     evidence_dispose(lead, reason)   廃棄, in every state, CLOSED and
 *                                      DISMISSED included
 *     evidence_reclassify(SM, reason)  第4.5 review, in every state
 *     deadline_miss(system)            DESIGN.md §4 deadlines: written by
 *                                      the daemon; "acknowledge" only
 *                                      while REPORTED and not yet overdue;
 *                                      "request" only while INVESTIGATING
 *
 *   第13.2, without a state change (request.c has the requests' and
 *   items' own tables):
 *     request_create, _fulfil, _cancel (lead, assigned investigator)
 *                                      INVESTIGATING only
 *     request_ack, _respond (reporter of the division)  INVESTIGATING only
 *     item_register (lead, assigned investigator)       INVESTIGATING only
 *     item_transfer, _return, _dispose (lead, assigned investigator)
 *                                      INVESTIGATING and RESOLVED
 *
 * Decisions the diagram leaves open: reopen returns to INVESTIGATING (the
 * investigation is what is resumed; the assignees are kept); assign never
 * changes state, so the lead may staff a case before opening it; the daemon
 * (ROLE_SYSTEM) may escalate only an unacknowledged REPORTED case, the one
 * deadline that precedes escalation; auditors and admins can do nothing.
 *
 * Per-state invariants (every state: id, title, category 1..7, division,
 * reporter, complete classification, recognized_at <= reported_at, last_seq
 * and updated_at are those of the last event applied):
 *   REPORTED      no assignees; the reporter may still correct the report.
 *   ACKNOWLEDGED  an SM has seen it; no assignees.
 *   ESCALATED     handed to the CSIRT; the lead may assign investigators.
 *   INVESTIGATING opened (or reopened) by the lead; 第13.2 requests exist
 *                 only here.
 *   RESOLVED      the lead has resolved it; waiting to be closed.
 *   CLOSED        read-only until the lead reopens it.
 *   DISMISSED     terminal and read-only.
 *
 * Who performs each transition: the ledger writer calls case_validate()
 * (lifecycle_check() plus the payload rules) before it commits an event and
 * case_apply() after; rebuild and the auditor tool call case_apply() alone.
 * case_apply() takes the target state from the table, and case_set_state()
 * is the only code that assigns Case.state.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "codec.h"
#include "error.h"
#include "layout.h"
#include "lifecycle.h"
#include "log.h"
#include "request.h"
#include "util.h"

#define S(x) CSIRT__V1__CASE_STATE__CASE_STATE_##x
#define R(x) (1u << CSIRT__V1__ROLE__ROLE_##x)
#define A(x) CASE_ACTION_##x

#define STATE_NONE 0 /* the case does not exist yet */
#define STATE_MAX S(DISMISSED)

#define SM R(SECURITY_MANAGER)
#define LEAD R(CSIRT_LEAD)
#define INV R(INVESTIGATOR)

/* The payload's free text (reason, summary, ...) must not be empty. */
#define NEED_TEXT 1u

/*
 * The lifecycle.  At most one row per (from, action): case_apply() finds
 * the target state by those two alone.  Rows with to == from are the
 * actions that leave the state alone.
 */
static const struct lc_row {
	int from;
	enum case_action action;
	int to;
	unsigned roles; /* bit (1 << Csirt__V1__Role) per allowed role */
	unsigned need;
} lc_table[] = {
    /* the transitions of the diagram */
    {STATE_NONE, A(REPORT), S(REPORTED), R(REPORTER) | SM, 0},
    {S(REPORTED), A(ACKNOWLEDGE), S(ACKNOWLEDGED), SM, 0},
    {S(REPORTED), A(ESCALATE), S(ESCALATED), SM | R(SYSTEM), 0},
    {S(ACKNOWLEDGED), A(ESCALATE), S(ESCALATED), SM, 0},
    {S(REPORTED), A(DISMISS), S(DISMISSED), SM, NEED_TEXT},
    {S(ACKNOWLEDGED), A(DISMISS), S(DISMISSED), SM, NEED_TEXT},
    {S(ESCALATED), A(OPEN_INVESTIGATION), S(INVESTIGATING), LEAD, 0},
    {S(INVESTIGATING), A(RESOLVE), S(RESOLVED), LEAD, NEED_TEXT},
    {S(RESOLVED), A(CLOSE), S(CLOSED), SM | LEAD, 0},
    {S(CLOSED), A(REOPEN), S(INVESTIGATING), LEAD, NEED_TEXT},

    /* 第13.3 guidance, in every open state */
    {S(REPORTED), A(GUIDE), S(REPORTED), SM, NEED_TEXT},
    {S(ACKNOWLEDGED), A(GUIDE), S(ACKNOWLEDGED), SM, NEED_TEXT},
    {S(ESCALATED), A(GUIDE), S(ESCALATED), SM, NEED_TEXT},
    {S(INVESTIGATING), A(GUIDE), S(INVESTIGATING), SM, NEED_TEXT},
    {S(RESOLVED), A(GUIDE), S(RESOLVED), SM, NEED_TEXT},

    /* staffing, once the CSIRT has the case */
    {S(ESCALATED), A(ASSIGN), S(ESCALATED), LEAD, 0},
    {S(INVESTIGATING), A(ASSIGN), S(INVESTIGATING), LEAD, 0},

    /* notes; investigators exist on a case only from ESCALATED on */
    {S(REPORTED), A(NOTE_ADD), S(REPORTED), SM | LEAD, 0},
    {S(ACKNOWLEDGED), A(NOTE_ADD), S(ACKNOWLEDGED), SM | LEAD, 0},
    {S(ESCALATED), A(NOTE_ADD), S(ESCALATED), SM | LEAD | INV, 0},
    {S(INVESTIGATING), A(NOTE_ADD), S(INVESTIGATING), SM | LEAD | INV, 0},
    {S(RESOLVED), A(NOTE_ADD), S(RESOLVED), SM | LEAD | INV, 0},
    {S(REPORTED), A(NOTE_EDIT), S(REPORTED), SM | LEAD, 0},
    {S(ACKNOWLEDGED), A(NOTE_EDIT), S(ACKNOWLEDGED), SM | LEAD, 0},
    {S(ESCALATED), A(NOTE_EDIT), S(ESCALATED), SM | LEAD | INV, 0},
    {S(INVESTIGATING), A(NOTE_EDIT), S(INVESTIGATING), SM | LEAD | INV, 0},
    {S(RESOLVED), A(NOTE_EDIT), S(RESOLVED), SM | LEAD | INV, 0},

    /* corrections of the report */
    {S(REPORTED), A(UPDATE), S(REPORTED), R(REPORTER) | SM | LEAD, 0},
    {S(ACKNOWLEDGED), A(UPDATE), S(ACKNOWLEDGED), SM | LEAD, 0},
    {S(ESCALATED), A(UPDATE), S(ESCALATED), SM | LEAD, 0},
    {S(INVESTIGATING), A(UPDATE), S(INVESTIGATING), SM | LEAD, 0},
    {S(RESOLVED), A(UPDATE), S(RESOLVED), SM | LEAD, 0},

    /* deadlines: the daemon records a missed one in any open state; the
     * kind decides where it applies (lc_validate_deadline()) */
    {S(REPORTED), A(DEADLINE_MISS), S(REPORTED), R(SYSTEM), 0},
    {S(ACKNOWLEDGED), A(DEADLINE_MISS), S(ACKNOWLEDGED), R(SYSTEM), 0},
    {S(ESCALATED), A(DEADLINE_MISS), S(ESCALATED), R(SYSTEM), 0},
    {S(INVESTIGATING), A(DEADLINE_MISS), S(INVESTIGATING), R(SYSTEM), 0},
    {S(RESOLVED), A(DEADLINE_MISS), S(RESOLVED), R(SYSTEM), 0},

    /* 第13.2 requests and the items submitted under them (request.c) */
    {S(INVESTIGATING), A(REQUEST_CREATE), S(INVESTIGATING), LEAD | INV, 0},
    {S(INVESTIGATING), A(REQUEST_ACK), S(INVESTIGATING), R(REPORTER), 0},
    {S(INVESTIGATING), A(REQUEST_RESPOND), S(INVESTIGATING), R(REPORTER), 0},
    {S(INVESTIGATING), A(REQUEST_FULFIL), S(INVESTIGATING), LEAD | INV, 0},
    {S(INVESTIGATING), A(REQUEST_CANCEL), S(INVESTIGATING), LEAD | INV, 0},
    {S(INVESTIGATING), A(ITEM_REGISTER), S(INVESTIGATING), LEAD | INV, 0},
    {S(INVESTIGATING), A(ITEM_TRANSFER), S(INVESTIGATING), LEAD | INV, 0},
    {S(INVESTIGATING), A(ITEM_RETURN), S(INVESTIGATING), LEAD | INV, 0},
    {S(INVESTIGATING), A(ITEM_DISPOSE), S(INVESTIGATING), LEAD | INV, 0},
    {S(RESOLVED), A(ITEM_TRANSFER), S(RESOLVED), LEAD | INV, 0},
    {S(RESOLVED), A(ITEM_RETURN), S(RESOLVED), LEAD | INV, 0},
    {S(RESOLVED), A(ITEM_DISPOSE), S(RESOLVED), LEAD | INV, 0},
    /* evidence (issue 6): added like notes; disposed (廃棄) by the lead
     * at any time, a closed case's evidence included */
    {S(REPORTED), A(EVIDENCE_ADD), S(REPORTED), SM | LEAD, 0},
    {S(ACKNOWLEDGED), A(EVIDENCE_ADD), S(ACKNOWLEDGED), SM | LEAD, 0},
    {S(ESCALATED), A(EVIDENCE_ADD), S(ESCALATED), SM | LEAD | INV, 0},
    {S(INVESTIGATING), A(EVIDENCE_ADD), S(INVESTIGATING), SM | LEAD | INV, 0},
    {S(RESOLVED), A(EVIDENCE_ADD), S(RESOLVED), SM | LEAD | INV, 0},
    {S(REPORTED), A(EVIDENCE_DISPOSE), S(REPORTED), LEAD, NEED_TEXT},
    {S(ACKNOWLEDGED), A(EVIDENCE_DISPOSE), S(ACKNOWLEDGED), LEAD, NEED_TEXT},
    {S(ESCALATED), A(EVIDENCE_DISPOSE), S(ESCALATED), LEAD, NEED_TEXT},
    {S(INVESTIGATING), A(EVIDENCE_DISPOSE), S(INVESTIGATING), LEAD, NEED_TEXT},
    {S(RESOLVED), A(EVIDENCE_DISPOSE), S(RESOLVED), LEAD, NEED_TEXT},
    {S(CLOSED), A(EVIDENCE_DISPOSE), S(CLOSED), LEAD, NEED_TEXT},
    {S(DISMISSED), A(EVIDENCE_DISPOSE), S(DISMISSED), LEAD, NEED_TEXT},
    /* 第4.5: the 情報セキュリティ管理者 reviews a classification */
    {S(REPORTED), A(EVIDENCE_REVIEW), S(REPORTED), SM, NEED_TEXT},
    {S(ACKNOWLEDGED), A(EVIDENCE_REVIEW), S(ACKNOWLEDGED), SM, NEED_TEXT},
    {S(ESCALATED), A(EVIDENCE_REVIEW), S(ESCALATED), SM, NEED_TEXT},
    {S(INVESTIGATING), A(EVIDENCE_REVIEW), S(INVESTIGATING), SM, NEED_TEXT},
    {S(RESOLVED), A(EVIDENCE_REVIEW), S(RESOLVED), SM, NEED_TEXT},
    {S(CLOSED), A(EVIDENCE_REVIEW), S(CLOSED), SM, NEED_TEXT},
    {S(DISMISSED), A(EVIDENCE_REVIEW), S(DISMISSED), SM, NEED_TEXT},
};

static const struct {
	const char *name;
	Csirt__V1__Event__PayloadCase payload;
} lc_actions[CASE_ACTION__COUNT] = {
    [A(REPORT)] = {"report", CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED},
    [A(ACKNOWLEDGE)] = {"acknowledge",
                        CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED},
    [A(GUIDE)] = {"guide", CSIRT__V1__EVENT__PAYLOAD_GUIDANCE_GIVEN},
    [A(ESCALATE)] = {"escalate", CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED},
    [A(DISMISS)] = {"dismiss", CSIRT__V1__EVENT__PAYLOAD_CASE_DISMISSED},
    [A(OPEN_INVESTIGATION)] = {"open_investigation",
                               CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED},
    [A(ASSIGN)] = {"assign", CSIRT__V1__EVENT__PAYLOAD_INVESTIGATORS_ASSIGNED},
    [A(NOTE_ADD)] = {"note_add", CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED},
    [A(NOTE_EDIT)] = {"note_edit", CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED},
    [A(UPDATE)] = {"update", CSIRT__V1__EVENT__PAYLOAD_CASE_UPDATED},
    [A(RESOLVE)] = {"resolve", CSIRT__V1__EVENT__PAYLOAD_CASE_RESOLVED},
    [A(CLOSE)] = {"close", CSIRT__V1__EVENT__PAYLOAD_CASE_CLOSED},
    [A(REOPEN)] = {"reopen", CSIRT__V1__EVENT__PAYLOAD_CASE_REOPENED},
    [A(DEADLINE_MISS)] = {"deadline_miss",
                          CSIRT__V1__EVENT__PAYLOAD_DEADLINE_MISSED},
    [A(REQUEST_CREATE)] = {"create a request in",
                           CSIRT__V1__EVENT__PAYLOAD_REQUEST_CREATED},
    [A(REQUEST_ACK)] = {"acknowledge a request of",
                        CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED},
    [A(REQUEST_RESPOND)] = {"respond to a request of",
                            CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED},
    [A(REQUEST_FULFIL)] = {"fulfil a request of",
                           CSIRT__V1__EVENT__PAYLOAD_REQUEST_FULFILLED},
    [A(REQUEST_CANCEL)] = {"cancel a request of",
                           CSIRT__V1__EVENT__PAYLOAD_REQUEST_CANCELLED},
    [A(ITEM_REGISTER)] = {"register an item in",
                          CSIRT__V1__EVENT__PAYLOAD_ITEM_REGISTERED},
    [A(ITEM_TRANSFER)] = {"transfer an item of",
                          CSIRT__V1__EVENT__PAYLOAD_ITEM_TRANSFERRED},
    [A(ITEM_RETURN)] = {"return an item of",
                        CSIRT__V1__EVENT__PAYLOAD_ITEM_RETURNED},
    [A(ITEM_DISPOSE)] = {"dispose of an item of",
                         CSIRT__V1__EVENT__PAYLOAD_ITEM_DISPOSED},
    [A(EVIDENCE_ADD)] = {"add_evidence_to",
                         CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_ADDED},
    [A(EVIDENCE_DISPOSE)] = {"dispose_evidence_of",
                             CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_DISPOSED},
    [A(EVIDENCE_REVIEW)] = {"reclassify_evidence_of",
                            CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_RECLASSIFIED},
};

static const char *const lc_state_names[] = {
    [STATE_NONE] = "NONE",
    [S(REPORTED)] = "REPORTED",
    [S(ACKNOWLEDGED)] = "ACKNOWLEDGED",
    [S(ESCALATED)] = "ESCALATED",
    [S(INVESTIGATING)] = "INVESTIGATING",
    [S(RESOLVED)] = "RESOLVED",
    [S(CLOSED)] = "CLOSED",
    [S(DISMISSED)] = "DISMISSED",
};

const char *
lifecycle_action_name(enum case_action a)
{
	if ((unsigned)a >= CASE_ACTION__COUNT)
		return "unknown";
	return lc_actions[a].name;
}

const char *
lifecycle_state_name(int state)
{
	if (state < STATE_NONE || state > STATE_MAX)
		return "UNKNOWN";
	return lc_state_names[state];
}

static const char *
lc_enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(desc, value);

	return v != NULL ? v->name : "UNKNOWN";
}

static unsigned
lc_role_bit(int role)
{
	return role > 0 && role < 32 ? 1u << role : 0;
}

/* The row for (from, action) whatever the role, or NULL. */
static const struct lc_row *
lc_find(int from, enum case_action action)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(lc_table); i++)
		if (lc_table[i].from == from && lc_table[i].action == action)
			return &lc_table[i];
	return NULL;
}

int
lifecycle_check(int *to, int from, enum case_action action, int role)
{
	const struct lc_row *row;
	unsigned bit = lc_role_bit(role);
	bool ever = false;

	if (from < STATE_NONE || from > STATE_MAX)
		return csirt_error_set(CSIRT_EINVAL, "unknown case state %d",
		                       from);
	if ((unsigned)action >= CASE_ACTION__COUNT)
		return csirt_error_set(CSIRT_EINVAL, "unknown case action %d",
		                       (int)action);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(lc_table); i++)
		if (lc_table[i].action == action && (lc_table[i].roles & bit))
			ever = true;
	if (!ever)
		return csirt_error_set(
		    CSIRT_EDENIED, "role %s may not %s a case",
		    lc_enum_name(&csirt__v1__role__descriptor, role),
		    lifecycle_action_name(action));
	row = lc_find(from, action);
	if (row == NULL && from == STATE_NONE)
		return csirt_error_set(CSIRT_ESTATE,
		                       "cannot %s a case that does not exist",
		                       lifecycle_action_name(action));
	if (row == NULL)
		return csirt_error_set(
		    CSIRT_ESTATE, "cannot %s a case in state %s",
		    lifecycle_action_name(action), lifecycle_state_name(from));
	if (!(row->roles & bit))
		return csirt_error_set(
		    CSIRT_EDENIED, "role %s may not %s a case in state %s",
		    lc_enum_name(&csirt__v1__role__descriptor, role),
		    lifecycle_action_name(action), lifecycle_state_name(from));
	if (to != NULL)
		*to = row->to;
	return 0;
}

int
lifecycle_event_action(enum case_action *out, const Csirt__V1__Event *ev)
{
	assert(out != NULL && ev != NULL);
	for (int a = 0; a < CASE_ACTION__COUNT; a++) {
		if (lc_actions[a].payload == ev->payload_case) {
			*out = (enum case_action)a;
			return 0;
		}
	}
	return csirt_error_set(CSIRT_EINVAL,
	                       "event %" PRIu64
	                       " has no case payload (payload field %d)",
	                       ev->seq, (int)ev->payload_case);
}

/* The payload message of a case event (NULL if the pointer is unset). */
static const ProtobufCMessage *
lc_payload(const Csirt__V1__Event *ev)
{
#define MSG(p) ((p) != NULL ? &(p)->base : NULL)
	switch (ev->payload_case) {
	case CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED:
		return ev->incident_reported != NULL
		           ? MSG(ev->incident_reported->case_)
		           : NULL;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED:
		return MSG(ev->case_acknowledged);
	case CSIRT__V1__EVENT__PAYLOAD_GUIDANCE_GIVEN:
		return MSG(ev->guidance_given);
	case CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED:
		return MSG(ev->case_escalated);
	case CSIRT__V1__EVENT__PAYLOAD_CASE_DISMISSED:
		return MSG(ev->case_dismissed);
	case CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED:
		return MSG(ev->investigation_opened);
	case CSIRT__V1__EVENT__PAYLOAD_INVESTIGATORS_ASSIGNED:
		return MSG(ev->investigators_assigned);
	case CSIRT__V1__EVENT__PAYLOAD_CASE_RESOLVED:
		return MSG(ev->case_resolved);
	case CSIRT__V1__EVENT__PAYLOAD_CASE_CLOSED:
		return MSG(ev->case_closed);
	case CSIRT__V1__EVENT__PAYLOAD_CASE_REOPENED:
		return MSG(ev->case_reopened);
	case CSIRT__V1__EVENT__PAYLOAD_CASE_UPDATED:
		return MSG(ev->case_updated);
	case CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED:
		return MSG(ev->note_added);
	case CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED:
		return MSG(ev->note_edited);
	case CSIRT__V1__EVENT__PAYLOAD_DEADLINE_MISSED:
		return MSG(ev->deadline_missed);
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_CREATED:
		return MSG(ev->request_created);
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED:
		return MSG(ev->request_acknowledged);
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED:
		return MSG(ev->request_responded);
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_FULFILLED:
		return MSG(ev->request_fulfilled);
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_CANCELLED:
		return MSG(ev->request_cancelled);
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_REGISTERED:
		return MSG(ev->item_registered);
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_TRANSFERRED:
		return MSG(ev->item_transferred);
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_RETURNED:
		return MSG(ev->item_returned);
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_DISPOSED:
		return MSG(ev->item_disposed);
	case CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_ADDED:
		return ev->evidence_added != NULL
		           ? MSG(ev->evidence_added->manifest)
		           : NULL;
	case CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_DISPOSED:
		return MSG(ev->evidence_disposed);
	case CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_RECLASSIFIED:
		return MSG(ev->evidence_reclassified);
	default:
		return NULL;
	}
#undef MSG
}

/* The payload's free-text field and its name, or NULL for payloads
 * without one.  The payload must be present. */
static const char *
lc_payload_text(const Csirt__V1__Event *ev, const char **field)
{
	switch (ev->payload_case) {
	case CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED:
		*field = "comment";
		return ev->case_acknowledged->comment;
	case CSIRT__V1__EVENT__PAYLOAD_GUIDANCE_GIVEN:
		*field = "text";
		return ev->guidance_given->text;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED:
		*field = "reason";
		return ev->case_escalated->reason;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_DISMISSED:
		*field = "reason";
		return ev->case_dismissed->reason;
	case CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED:
		*field = "reason";
		return ev->investigation_opened->reason;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_RESOLVED:
		*field = "summary";
		return ev->case_resolved->summary;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_CLOSED:
		*field = "comment";
		return ev->case_closed->comment;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_REOPENED:
		*field = "reason";
		return ev->case_reopened->reason;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_UPDATED:
		*field = "reason";
		return ev->case_updated->reason;
	case CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED:
		*field = "reason";
		return ev->note_edited->reason;
	case CSIRT__V1__EVENT__PAYLOAD_DEADLINE_MISSED:
		*field = "reason";
		return ev->deadline_missed->reason;
	case CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_ADDED:
		*field = "reason";
		return ev->evidence_added->manifest->reason;
	case CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_DISPOSED:
		*field = "reason";
		return ev->evidence_disposed->reason;
	case CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_RECLASSIFIED:
		*field = "reason";
		return ev->evidence_reclassified->reason;
	default:
		*field = NULL;
		return NULL;
	}
}

/* ---- validation of payload fields ------------------------------------ */

#define TXT_REQUIRED 1u
#define TXT_LINE 2u /* one line: no control characters (commit subjects) */

static int
lc_check_text(const char *field, const char *s, size_t max, unsigned flags)
{
	size_t len = s != NULL ? strlen(s) : 0;

	if (len == 0)
		return (flags & TXT_REQUIRED)
		           ? csirt_error_set(CSIRT_EINVAL, "%s: required",
		                             field)
		           : 0;
	if (len > max)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: %zu bytes, at most %zu allowed",
		                       field, len, max);
	if (!util_utf8_valid(s, len))
		return csirt_error_set(CSIRT_EINVAL, "%s: not valid UTF-8",
		                       field);
	if (flags & TXT_LINE) {
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c < 0x20 || c == 0x7f)
				return csirt_error_set(
				    CSIRT_EINVAL,
				    "%s: control character 0x%02x not allowed",
				    field, c);
		}
	}
	return 0;
}

/* An enum field that must hold a defined value other than 0. */
static int
lc_check_enum(const char *field, const ProtobufCEnumDescriptor *desc, int value)
{
	if (value == 0)
		return csirt_error_set(CSIRT_EINVAL, "%s: required", field);
	if (protobuf_c_enum_descriptor_get_value(desc, value) == NULL)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: %d is not a defined value", field,
		                       value);
	return 0;
}

/* A list of one-line names: 1..max entries unless `optional`, no
 * duplicates. */
static int
lc_check_names(const char *field, char *const *v, size_t n, size_t max,
               size_t each_max, bool optional)
{
	char f[96];
	int rc;

	if (n == 0 && !optional)
		return csirt_error_set(CSIRT_EINVAL, "%s: required", field);
	if (n > max)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: %zu entries, at most %zu allowed",
		                       field, n, max);
	for (size_t i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		if ((rc = lc_check_text(f, v[i], each_max,
		                        TXT_REQUIRED | TXT_LINE)) < 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(v[i], v[j]) == 0)
				return csirt_error_set(CSIRT_EINVAL,
				                       "%s: duplicate \"%s\"",
				                       f, v[i]);
	}
	return 0;
}

static int
lc_check_classification(const char *field, const Csirt__V1__Classification *cl)
{
	char f[96];
	int rc;

	if (cl == NULL)
		return csirt_error_set(CSIRT_EINVAL, "%s: required", field);
	/* All three levels are required: defaulting one would silently pick
	 * the least protective level (別表第3, 第4.5). */
	util_copy2(f, sizeof(f), field, ".confidentiality");
	if ((rc = lc_check_enum(f, &csirt__v1__confidentiality__descriptor,
	                        (int)cl->confidentiality)) < 0)
		return rc;
	util_copy2(f, sizeof(f), field, ".integrity");
	if ((rc = lc_check_enum(f, &csirt__v1__integrity__descriptor,
	                        (int)cl->integrity)) < 0)
		return rc;
	util_copy2(f, sizeof(f), field, ".availability");
	if ((rc = lc_check_enum(f, &csirt__v1__availability__descriptor,
	                        (int)cl->availability)) < 0)
		return rc;
	util_copy2(f, sizeof(f), field, ".handling_restrictions");
	return lc_check_names(f, cl->handling_restrictions,
	                      cl->n_handling_restrictions,
	                      CASE_RESTRICTIONS_MAX, CASE_LINE_MAX, true);
}

static int
lc_check_equipment(size_t i, const Csirt__V1__Equipment *eq)
{
	char f[96];
	int rc;

	snprintf(f, sizeof(f), "case.equipment[%zu]", i);
	if (eq == NULL)
		return csirt_error_set(CSIRT_EINVAL, "%s: missing", f);
	snprintf(f, sizeof(f), "case.equipment[%zu].kind", i);
	if ((rc = lc_check_enum(f, &csirt__v1__equipment_kind__descriptor,
	                        (int)eq->kind)) < 0)
		return rc;
	snprintf(f, sizeof(f), "case.equipment[%zu].owner", i);
	if ((rc = lc_check_enum(f, &csirt__v1__ownership__descriptor,
	                        (int)eq->owner)) < 0)
		return rc;
	/* Optional: a personal device has none, and a lost one may not be
	 * known yet when the report is filed 直ちに. */
	snprintf(f, sizeof(f), "case.equipment[%zu].management_number", i);
	if ((rc = lc_check_text(f, eq->management_number, CASE_LINE_MAX,
	                        TXT_LINE)) < 0)
		return rc;
	snprintf(f, sizeof(f), "case.equipment[%zu].description", i);
	return lc_check_text(f, eq->description, CASE_TEXT_MAX, 0);
}

/* The server's fields of a reported case: case_apply() sets them, so the
 * event must not carry values that case.json would contradict. */
static int
lc_check_server_fields(const Csirt__V1__Case *rc, const Csirt__V1__Event *ev)
{
	const char *field = NULL;

	if (rc->id[0] != '\0' && strcmp(rc->id, ev->case_id) != 0)
		field = "id";
	else if (rc->state != 0 && rc->state != S(REPORTED))
		field = "state";
	else if (rc->reported_at[0] != '\0')
		field = "reported_at";
	else if (rc->updated_at[0] != '\0')
		field = "updated_at";
	else if (rc->n_assignees != 0)
		field = "assignees";
	else if (rc->last_seq != 0)
		field = "last_seq";
	else if (rc->report_delay_seconds != 0)
		field = "report_delay_seconds";
	else if (rc->note_count != 0)
		field = "note_count";
	else if (rc->overdue)
		field = "overdue";
	else if (rc->overdue_since[0] != '\0')
		field = "overdue_since";
	else if (rc->report_late)
		field = "report_late";
	else if (rc->n_requests != 0)
		field = "requests";
	else if (rc->n_items != 0)
		field = "items";
	if (field != NULL)
		return csirt_error_set(CSIRT_EINVAL,
		                       "case.%s: set by the server; leave it "
		                       "empty in a report",
		                       field);
	return 0;
}

static int
lc_validate_report(const Csirt__V1__Event *ev, int64_t ev_ms)
{
	const Csirt__V1__Case *rc = ev->incident_reported->case_;
	int64_t rec_ms;
	int rc_;

	if (ev->incident_reported->report_delay_limit_seconds < 0)
		return csirt_error_set(
		    CSIRT_EINVAL, "report_delay_limit_seconds: must not be "
		                  "negative");
	if ((rc_ = lc_check_server_fields(rc, ev)) < 0 ||
	    (rc_ = lc_check_text("case.title", rc->title, CASE_TITLE_MAX,
	                         TXT_REQUIRED | TXT_LINE)) < 0 ||
	    (rc_ = lc_check_text("case.description", rc->description,
	                         CASE_TEXT_MAX, 0)) < 0 ||
	    (rc_ = lc_check_enum("case.category",
	                         &csirt__v1__category__descriptor,
	                         (int)rc->category)) < 0)
		return rc_;
	if (rc->recognized_at[0] == '\0')
		return csirt_error_set(CSIRT_EINVAL,
		                       "case.recognized_at: required");
	if (util_time_parse(&rec_ms, rc->recognized_at) < 0)
		return csirt_error_wrap(CSIRT_EINVAL, "case.recognized_at");
	if (rec_ms > ev_ms)
		return csirt_error_set(CSIRT_EINVAL,
		                       "case.recognized_at: %s is after the "
		                       "report time %s",
		                       rc->recognized_at, ev->time);
	if ((rc_ = lc_check_text("case.division", rc->division, CASE_NAME_MAX,
	                         TXT_REQUIRED | TXT_LINE)) < 0 ||
	    (rc_ = lc_check_text("case.reporter", rc->reporter, CASE_NAME_MAX,
	                         TXT_REQUIRED | TXT_LINE)) < 0)
		return rc_;
	if (rc->n_equipment > CASE_EQUIPMENT_MAX)
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "case.equipment: %zu entries, at most %d "
		    "allowed",
		    rc->n_equipment, CASE_EQUIPMENT_MAX);
	for (size_t i = 0; i < rc->n_equipment; i++)
		if ((rc_ = lc_check_equipment(i, rc->equipment[i])) < 0)
			return rc_;
	if ((rc_ = lc_check_classification("case.classification",
	                                   rc->classification)) < 0)
		return rc_;
	if (rc->emergency != NULL) {
		const Csirt__V1__Emergency *em = rc->emergency;
		if (em->flag)
			return lc_check_text("case.emergency.instruction",
			                     em->instruction, CASE_TEXT_MAX,
			                     TXT_REQUIRED);
		if (em->instruction[0] != '\0')
			return csirt_error_set(CSIRT_EINVAL,
			                       "case.emergency.instruction: "
			                       "given without emergency.flag");
	}
	return 0;
}

/* "n<k>" with k a decimal without leading zeros; 0 if not a note id. */
static uint32_t
lc_note_number(const char *id)
{
	uint64_t k = 0;

	if (id[0] != 'n' || id[1] < '1' || id[1] > '9')
		return 0;
	for (const char *p = id + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		k = k * 10 + (uint64_t)(*p - '0');
		if (k > UINT32_MAX)
			return 0;
	}
	return (uint32_t)k;
}

static int
lc_check_sha256(const char *field, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			break;
	if (i != 64 || s[i] != '\0')
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: expected 64 lowercase hex digits",
		                       field);
	return 0;
}

/* A note's digest: text_sha256 for plain text; for a sealed one text_mac,
 * or text_sha256 in events written before text_mac existed — one of them,
 * never both. */
static int
lc_check_note_digest(const char *content_blob, const char *text_sha256,
                     const char *text_mac)
{
	bool sealed = content_blob != NULL && content_blob[0] != '\0';
	bool mac = text_mac != NULL && text_mac[0] != '\0';

	if (mac && !sealed)
		return csirt_error_set(CSIRT_EINVAL,
		                       "text_mac: only for a sealed note");
	if (mac && text_sha256 != NULL && text_sha256[0] != '\0')
		return csirt_error_set(CSIRT_EINVAL,
		                       "text_sha256: a sealed note with "
		                       "text_mac has no plain digest");
	return mac ? lc_check_sha256("text_mac", text_mac)
	           : lc_check_sha256("text_sha256", text_sha256);
}

static int
lc_validate_note_add(const Csirt__V1__Case *cur, const Csirt__V1__NoteAdded *na)
{
	char want[16];
	int rc;

	/* Note ids are dense per case, so note_count names the next one. */
	snprintf(want, sizeof(want), "n%" PRIu32, cur->note_count + 1);
	if (strcmp(na->note_id, want) != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "note_id: \"%.*s\", expected \"%s\"",
		                       CASE_NAME_MAX, na->note_id, want);
	if (na->version != 1)
		return csirt_error_set(CSIRT_EINVAL,
		                       "version: %" PRIu32 ", a new note is 1",
		                       na->version);
	/* 第4.4: a note is derived from its case and never below it. */
	if ((rc = lc_check_classification("classification",
	                                  na->classification)) < 0 ||
	    (rc = classify_check_inherits("classification", na->classification,
	                                  cur->classification)) < 0 ||
	    (rc = lc_check_text("path", na->path, CASE_PATH_MAX,
	                        TXT_REQUIRED | TXT_LINE)) < 0)
		return rc;
	return lc_check_note_digest(na->content_blob, na->text_sha256,
	                            na->text_mac);
}

/* An evidence version (issue 6).  The writer fills content_path, key_id,
 * uploader and uploaded_at before, content_blob and content_size after
 * this check; the history of the
 * item (that `version` follows the newest, that it was not disposed) is
 * checked by writer.c, which sees the item's earlier events. */
static int
lc_validate_evidence_add(const Csirt__V1__Case *cur, const Csirt__V1__Event *ev)
{
	const Csirt__V1__EvidenceManifest *m = ev->evidence_added->manifest;
	char case_id[LAYOUT_CASE_ID_LEN], want[64];
	struct buf dir = BUF_INIT;
	int rc;

	if ((rc = layout_evidence_id_parse(m->evidence_id, case_id)) < 0)
		return csirt_error_wrap(rc, "evidence_id");
	if (strcmp(case_id, cur->id) != 0 || strcmp(m->case_id, cur->id) != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "evidence %s does not belong to case %s",
		                       m->evidence_id, cur->id);
	if (m->version == 0 || m->version > 100000)
		return csirt_error_set(CSIRT_EINVAL, "version: %" PRIu32,
		                       m->version);
	if (m->version == 1 ? m->supersedes != 0
	                    : m->supersedes != m->version - 1)
		return csirt_error_set(CSIRT_EINVAL,
		                       "supersedes: version %" PRIu32
		                       " supersedes %" PRIu32 ", not %" PRIu32,
		                       m->version, m->version - 1,
		                       m->supersedes);
	if (m->version > 1 && m->reason[0] == '\0')
		return csirt_error_set(CSIRT_EINVAL,
		                       "reason: required for a new version "
		                       "(why it replaces version %" PRIu32 ")",
		                       m->version - 1);
	if ((rc = lc_check_text("name", m->name, 255,
	                        TXT_REQUIRED | TXT_LINE)) < 0 ||
	    (rc = lc_check_text("media_type", m->media_type, 127,
	                        TXT_REQUIRED | TXT_LINE)) < 0 ||
	    (rc = lc_check_sha256("sha256", m->sha256)) < 0 ||
	    (rc = lc_check_classification("classification",
	                                  m->classification)) < 0)
		return rc;
	/* 第4.4 for a new item; a later version is held to the item's
	 * classification (which a 第4.5 review may have set below the
	 * case's) by writer.c, which sees the item. */
	if (m->version == 1 &&
	    (rc = classify_check_inherits("classification", m->classification,
	                                  cur->classification)) < 0)
		return rc;
	if (strcmp(m->uploader, ev->actor) != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "uploader: \"%.64s\" is not the actor",
		                       m->uploader);
	layout_evidence_dir(&dir, m->evidence_id, m->version);
	buf_puts(&dir, "/content.enc");
	rc = strcmp(m->content_path, dir.data) == 0
	         ? 0
	         : csirt_error_set(CSIRT_EINVAL, "content_path: expected %s",
	                           dir.data);
	buf_free(&dir);
	if (rc < 0)
		return rc;
	snprintf(want, sizeof(want), "%s.v%" PRIu32, m->evidence_id,
	         m->version);
	if (strcmp(m->key_id, want) != 0)
		return csirt_error_set(CSIRT_EINVAL, "key_id: expected %s",
		                       want);
	/* content_blob and content_size: the writer fills them once this
	 * accepted the event, from the blob it wrote. */
	return 0;
}

static int
lc_validate_evidence_dispose(const Csirt__V1__Case *cur,
                             const Csirt__V1__EvidenceDisposed *ed)
{
	char case_id[LAYOUT_CASE_ID_LEN];
	int rc;

	if ((rc = layout_evidence_id_parse(ed->evidence_id, case_id)) < 0)
		return csirt_error_wrap(rc, "evidence_id");
	if (strcmp(case_id, cur->id) != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "evidence %s does not belong to case %s",
		                       ed->evidence_id, cur->id);
	return lc_check_names("key_ids", ed->key_ids, ed->n_key_ids, 100000,
	                      CASE_LINE_MAX, false);
}

static int
lc_validate_evidence_reclassify(const Csirt__V1__Case *cur,
                                const Csirt__V1__EvidenceReclassified *er)
{
	char case_id[LAYOUT_CASE_ID_LEN];
	int rc;

	if ((rc = layout_evidence_id_parse(er->evidence_id, case_id)) < 0)
		return csirt_error_wrap(rc, "evidence_id");
	if (strcmp(case_id, cur->id) != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "evidence %s does not belong to case %s",
		                       er->evidence_id, cur->id);
	/* Below the case's is allowed here, and only here (第4.5). */
	return lc_check_classification("after", er->after);
}

static int
lc_validate_note_edit(const Csirt__V1__Case *cur,
                      const Csirt__V1__NoteEdited *ne)
{
	uint32_t k = lc_note_number(ne->note_id);
	int rc;

	if (k == 0 || k > cur->note_count)
		return csirt_error_set(CSIRT_EINVAL,
		                       "note_id: \"%.*s\" is not a note of "
		                       "case %s",
		                       CASE_NAME_MAX, ne->note_id, cur->id);
	if (ne->version < 2)
		return csirt_error_set(CSIRT_EINVAL,
		                       "version: %" PRIu32 ", an edit is 2 or "
		                       "more",
		                       ne->version);
	if ((rc = lc_check_text("path", ne->path, CASE_PATH_MAX,
	                        TXT_REQUIRED | TXT_LINE)) < 0)
		return rc;
	return lc_check_note_digest(ne->content_blob, ne->text_sha256,
	                            ne->text_mac);
}

/* The updatable fields and the encoding of their values: plain text for
 * title and description, the enum name for category, the compact proto3
 * JSON of an EquipmentList for equipment. */
enum lc_field { LC_TITLE, LC_DESCRIPTION, LC_CATEGORY, LC_EQUIPMENT };

/* The case's equipment as the JSON an equipment change carries. */
static void
lc_equipment_json(struct buf *out, const Csirt__V1__Case *c)
{
	Csirt__V1__EquipmentList l = CSIRT__V1__EQUIPMENT_LIST__INIT;

	/* Borrows c's array for the encoding only. */
	l.n_equipment = c->n_equipment;
	l.equipment = c->equipment;
	if (codec_to_json(out, &l.base, 0) != 0)
		buf_puts(out, "?"); /* only on an invalid case: never equal */
}

/* Parses and checks the JSON of an equipment change; caller frees *out
 * with codec_free(). */
static int
lc_equipment_parse(Csirt__V1__EquipmentList **out, const char *json,
                   const char *where)
{
	Csirt__V1__EquipmentList *l = NULL;
	int rc;

	*out = NULL;
	if (codec_from_json((ProtobufCMessage **)&l,
	                    &csirt__v1__equipment_list__descriptor, json,
	                    strlen(json), NULL) != 0)
		return csirt_error_wrap(CSIRT_EINVAL, "%s", where);
	if (l->n_equipment > CASE_EQUIPMENT_MAX) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "%s: %zu equipment entries, at most %d",
		                     where, l->n_equipment, CASE_EQUIPMENT_MAX);
		codec_free(&l->base);
		return rc;
	}
	for (size_t i = 0; i < l->n_equipment; i++) {
		if ((rc = lc_check_equipment(i, l->equipment[i])) < 0) {
			codec_free(&l->base);
			return rc;
		}
	}
	*out = l;
	return 0;
}

static int
lc_field_parse(enum lc_field *out, const char *name, const char *where)
{
	if (strcmp(name, "title") == 0)
		*out = LC_TITLE;
	else if (strcmp(name, "description") == 0)
		*out = LC_DESCRIPTION;
	else if (strcmp(name, "category") == 0)
		*out = LC_CATEGORY;
	else if (strcmp(name, "equipment") == 0)
		*out = LC_EQUIPMENT;
	else
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s: \"%.*s\" is not an updatable field "
		                       "(title, description, category, "
		                       "equipment)",
		                       where, CASE_NAME_MAX, name);
	return 0;
}

/* Category by enum name; 0 if not a category. */
static int
lc_category_parse(const char *s)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value_by_name(
	        &csirt__v1__category__descriptor, s);

	return v != NULL ? v->value : 0;
}

static const char *
lc_field_current(const Csirt__V1__Case *c, enum lc_field f)
{
	switch (f) {
	case LC_TITLE:
		return c->title;
	case LC_DESCRIPTION:
		return c->description;
	case LC_CATEGORY:
		return lc_enum_name(&csirt__v1__category__descriptor,
		                    (int)c->category);
	case LC_EQUIPMENT:
		break; /* JSON: see lc_equipment_json() */
	}
	return "";
}

static int
lc_validate_update(const Csirt__V1__Case *cur, const Csirt__V1__CaseUpdated *u)
{
	unsigned seen = 0;
	char f[64];
	int rc;

	if (u->n_changes == 0)
		return csirt_error_set(CSIRT_EINVAL, "changes: required");
	for (size_t i = 0; i < u->n_changes; i++) {
		const Csirt__V1__FieldChange *ch = u->changes[i];
		enum lc_field fld = LC_TITLE;

		snprintf(f, sizeof(f), "changes[%zu].field", i);
		if (ch == NULL)
			return csirt_error_set(CSIRT_EINVAL,
			                       "changes[%zu]: "
			                       "missing",
			                       i);
		if ((rc = lc_field_parse(&fld, ch->field, f)) < 0)
			return rc;
		if (seen & (1u << fld))
			return csirt_error_set(CSIRT_EINVAL,
			                       "%s: \"%s\" changed twice", f,
			                       ch->field);
		seen |= 1u << fld;
		snprintf(f, sizeof(f), "changes[%zu].after", i);
		switch (fld) {
		case LC_TITLE:
			rc = lc_check_text(f, ch->after, CASE_TITLE_MAX,
			                   TXT_REQUIRED | TXT_LINE);
			break;
		case LC_DESCRIPTION:
			rc = lc_check_text(f, ch->after, CASE_TEXT_MAX, 0);
			break;
		case LC_CATEGORY:
			rc = lc_category_parse(ch->after) != 0
			         ? 0
			         : csirt_error_set(
			               CSIRT_EINVAL,
			               "%s: \"%.*s\" is not a category name "
			               "(CATEGORY_INFORMATION_LEAK ...)",
			               f, CASE_NAME_MAX, ch->after);
			break;
		case LC_EQUIPMENT: {
			Csirt__V1__EquipmentList *l = NULL;
			struct buf now = BUF_INIT;
			rc = lc_equipment_parse(&l, ch->after, f);
			codec_free(l ? &l->base : NULL);
			if (rc < 0)
				return rc;
			lc_equipment_json(&now, cur);
			rc = strcmp(ch->before, now.data) != 0
			         ? csirt_error_set(
			               CSIRT_ECONFLICT,
			               "changes[%zu].before: does not "
			               "match the current equipment",
			               i)
			     : strcmp(ch->before, ch->after) == 0
			         ? csirt_error_set(CSIRT_EINVAL,
			                           "changes[%zu]: equipment "
			                           "is unchanged",
			                           i)
			         : 0;
			buf_free(&now);
			if (rc < 0)
				return rc;
			continue;
		}
		}
		if (rc < 0)
			return rc;
		/* `before` pins the value the editor saw: a concurrent
		 * correction makes this one a conflict, not a lost update. */
		if (strcmp(ch->before, lc_field_current(cur, fld)) != 0)
			return csirt_error_set(CSIRT_ECONFLICT,
			                       "changes[%zu].before: does not "
			                       "match the current %s",
			                       i, ch->field);
		if (strcmp(ch->before, ch->after) == 0)
			return csirt_error_set(CSIRT_EINVAL,
			                       "changes[%zu]: %s is unchanged",
			                       i, ch->field);
	}
	return 0;
}

/* A missed deadline: a known kind, due no later than the event, and a case
 * still subject to it (a late timer racing an acknowledgement is
 * CSIRT_ESTATE, a second event for the same deadline CSIRT_ECONFLICT). */
static int
lc_validate_deadline(const Csirt__V1__Case *cur,
                     const Csirt__V1__DeadlineMissed *d, int64_t ev_ms)
{
	int64_t due_ms;

	if (strcmp(d->deadline, CASE_DEADLINE_ACK) != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "deadline: \"%.*s\" is not a deadline "
		                       "(acknowledge)",
		                       CASE_NAME_MAX, d->deadline);
	if (util_time_parse(&due_ms, d->due) < 0)
		return csirt_error_wrap(CSIRT_EINVAL, "due");
	if (due_ms > ev_ms)
		return csirt_error_set(
		    CSIRT_EINVAL, "due: %s is after the event time", d->due);
	if (cur->state != S(REPORTED))
		return csirt_error_set(CSIRT_ESTATE,
		                       "deadline %s: case %s is %s, no longer "
		                       "awaiting acknowledgement",
		                       d->deadline, cur->id,
		                       lifecycle_state_name((int)cur->state));
	if (cur->overdue)
		return csirt_error_set(
		    CSIRT_ECONFLICT, "deadline %s: case %s is already overdue",
		    d->deadline, cur->id);
	return 0;
}

static bool
lc_is_assignee(const Csirt__V1__Case *c, const char *login)
{
	for (size_t i = 0; i < c->n_assignees; i++)
		if (strcmp(c->assignees[i], login) == 0)
			return true;
	return false;
}

/* Who may act beyond the role table: the case's own people. */
static int
lc_check_actor(const Csirt__V1__Case *cur, const Csirt__V1__Event *ev,
               enum case_action action)
{
	if (ev->role == CSIRT__V1__ROLE__ROLE_INVESTIGATOR &&
	    (cur == NULL || !lc_is_assignee(cur, ev->actor)))
		return csirt_error_set(
		    CSIRT_EDENIED,
		    "investigator %s is not assigned to case "
		    "%s",
		    ev->actor, ev->case_id);
	if (ev->role != CSIRT__V1__ROLE__ROLE_REPORTER)
		return 0;
	/* The event carries no division of the actor, so "a reporter of the
	 * division" is narrowed to "the reporter who filed it". */
	if (action == A(REPORT) &&
	    strcmp(ev->incident_reported->case_->reporter, ev->actor) != 0)
		return csirt_error_set(CSIRT_EDENIED,
		                       "a reporter files reports in their own "
		                       "name: case.reporter is not %s",
		                       ev->actor);
	if (action == A(UPDATE) && strcmp(cur->reporter, ev->actor) != 0)
		return csirt_error_set(CSIRT_EDENIED,
		                       "%s did not file case %s and may not "
		                       "correct it",
		                       ev->actor, cur->id);
	return 0;
}

int
case_validate(const Csirt__V1__Case *current, const Csirt__V1__Event *ev)
{
	const struct lc_row *row;
	const char *text, *text_field;
	enum case_action action = CASE_ACTION__COUNT;
	int64_t ev_ms;
	int from, rc;

	assert(ev != NULL);
	if ((rc = lifecycle_event_action(&action, ev)) < 0)
		return rc;
	if (ev->seq == 0)
		return csirt_error_set(CSIRT_EINVAL, "seq: must be positive");
	if ((rc = lc_check_text("case_id", ev->case_id, CASE_NAME_MAX,
	                        TXT_REQUIRED | TXT_LINE)) < 0 ||
	    (rc = lc_check_text("actor", ev->actor, CASE_NAME_MAX,
	                        TXT_REQUIRED | TXT_LINE)) < 0)
		return rc;
	if (util_time_parse(&ev_ms, ev->time) < 0)
		return csirt_error_wrap(CSIRT_EINVAL, "time");
	if (current == NULL && action != A(REPORT))
		return csirt_error_set(CSIRT_ENOTFOUND, "case %s not found",
		                       ev->case_id);
	if (current != NULL) {
		if (strcmp(current->id, ev->case_id) != 0)
			return csirt_error_set(CSIRT_EINVAL,
			                       "case_id: event is for %s, the "
			                       "case is %s",
			                       ev->case_id, current->id);
		if (ev->seq <= current->last_seq)
			return csirt_error_set(
			    CSIRT_EINVAL,
			    "seq: %" PRIu64 " is not after the case's last_seq "
			    "%" PRIu64,
			    ev->seq, current->last_seq);
	}
	from = current != NULL ? (int)current->state : STATE_NONE;
	if ((rc = lifecycle_check(NULL, from, action, (int)ev->role)) < 0)
		return rc;
	if (lc_payload(ev) == NULL)
		return csirt_error_set(CSIRT_EINVAL, "%s: payload missing",
		                       lifecycle_action_name(action));
	if ((rc = lc_check_actor(current, ev, action)) < 0)
		return rc;

	row = lc_find(from, action);
	assert(row != NULL);
	text = lc_payload_text(ev, &text_field);
	if (text_field != NULL &&
	    (rc = lc_check_text(text_field, text, CASE_TEXT_MAX,
	                        (row->need & NEED_TEXT) ? TXT_REQUIRED : 0)) <
	        0)
		return rc;

	switch (action) {
	case A(REPORT):
		return lc_validate_report(ev, ev_ms);
	case A(ASSIGN):
		return lc_check_names("assignees",
		                      ev->investigators_assigned->assignees,
		                      ev->investigators_assigned->n_assignees,
		                      CASE_ASSIGNEES_MAX, CASE_NAME_MAX, false);
	case A(NOTE_ADD):
		return lc_validate_note_add(current, ev->note_added);
	case A(NOTE_EDIT):
		return lc_validate_note_edit(current, ev->note_edited);
	case A(UPDATE):
		return lc_validate_update(current, ev->case_updated);
	case A(DEADLINE_MISS):
		if (strcmp(ev->deadline_missed->deadline,
		           CASE_DEADLINE_REQUEST) == 0)
			return request_validate(current, ev, action, ev_ms);
		return lc_validate_deadline(current, ev->deadline_missed,
		                            ev_ms);
	case A(REQUEST_CREATE):
	case A(REQUEST_ACK):
	case A(REQUEST_RESPOND):
	case A(REQUEST_FULFIL):
	case A(REQUEST_CANCEL):
	case A(ITEM_REGISTER):
	case A(ITEM_TRANSFER):
	case A(ITEM_RETURN):
	case A(ITEM_DISPOSE):
		return request_validate(current, ev, action, ev_ms);
	case A(EVIDENCE_ADD):
		return lc_validate_evidence_add(current, ev);
	case A(EVIDENCE_DISPOSE):
		return lc_validate_evidence_dispose(current,
		                                    ev->evidence_disposed);
	case A(EVIDENCE_REVIEW):
		return lc_validate_evidence_reclassify(
		    current, ev->evidence_reclassified);
	default:
		return 0;
	}
}

/* ---- the fold -------------------------------------------------------- */

/* The one function that changes Case.state. */
static void
case_set_state(Csirt__V1__Case *c, int to, enum case_action action)
{
	char change[48];

	assert(to >= S(REPORTED) && to <= STATE_MAX);
	snprintf(change, sizeof(change), "%s -> %s",
	         lifecycle_state_name((int)c->state), lifecycle_state_name(to));
	log_debug("case state", "case", c->id, "change", change, "action",
	          lifecycle_action_name(action));
	c->state = (Csirt__V1__CaseState)to;
}

static char *
lc_empty(void)
{
	/* Through uintptr_t: the shared "" is const, the fields are not. */
	return (char *)(uintptr_t)protobuf_c_empty_string;
}

/* Replaces a string of a fully owned message. */
static void
lc_set_string(char **field, const char *s)
{
	if (*field != NULL && *field != protobuf_c_empty_string)
		free(*field);
	*field = s != NULL && s[0] != '\0' ? util_strdup(s) : lc_empty();
}

static void
lc_free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Parses an event time into milliseconds and its canonical text. */
static int
lc_time(int64_t *ms, char out[UTIL_TIME_LEN], const char *s, const char *what)
{
	if (util_time_parse(ms, s) < 0)
		return csirt_error_wrap(CSIRT_EINVAL, "%s", what);
	util_time_format_ms(out, UTIL_TIME_LEN, *ms);
	return 0;
}

static int64_t
lc_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Deep copy of a fully owned case, through the wire format. */
static Csirt__V1__Case *
lc_case_clone(const Csirt__V1__Case *src)
{
	Csirt__V1__Case *copy = NULL;
	size_t len = csirt__v1__case__get_packed_size(src);
	uint8_t *buf = util_xmalloc(len > 0 ? len : 1);

	csirt__v1__case__pack(src, buf);
	copy = csirt__v1__case__unpack(NULL, len, buf);
	free(buf);
	return copy;
}

static int
lc_apply_report(Csirt__V1__Case *c, const Csirt__V1__Event *ev,
                const char *ev_time, int64_t ev_ms)
{
	Csirt__V1__Case *copy = NULL, old;
	char rec[UTIL_TIME_LEN];
	int64_t rec_ms;
	int rc;

	if ((rc = lc_time(&rec_ms, rec,
	                  ev->incident_reported->case_->recognized_at,
	                  "case.recognized_at")) < 0)
		goto done;
	if ((copy = lc_case_clone(ev->incident_reported->case_)) == NULL) {
		rc = csirt_error_set(CSIRT_EFAIL, "copying the reported case");
		goto done;
	}
	/* Swap so that `copy` carries c's old contents to the free below. */
	old = *c;
	*c = *copy;
	*copy = old;

	/* The server's fields, whatever the payload said. */
	c->state = 0;
	lc_set_string(&c->id, ev->case_id);
	lc_set_string(&c->recognized_at, rec);
	lc_set_string(&c->reported_at, ev_time);
	lc_free_strings(c->assignees, c->n_assignees);
	c->assignees = NULL;
	c->n_assignees = 0;
	c->note_count = 0;
	/* 第13.2 requests and items come only from their own events. */
	for (size_t i = 0; i < c->n_requests; i++)
		codec_free(&c->requests[i]->base);
	free(c->requests);
	c->requests = NULL;
	c->n_requests = 0;
	for (size_t i = 0; i < c->n_items; i++)
		codec_free(&c->items[i]->base);
	free(c->items);
	c->items = NULL;
	c->n_items = 0;
	c->report_delay_seconds = lc_floor_div(ev_ms - rec_ms, 1000);
	/* The limit travels in the event: replay under another
	 * configuration gives the same flag. */
	c->report_late =
	    ev->incident_reported->report_delay_limit_seconds > 0 &&
	    c->report_delay_seconds >
	        ev->incident_reported->report_delay_limit_seconds;
	c->overdue = false;
	lc_set_string(&c->overdue_since, NULL);
	rc = 0;
done:
	case_free(copy);
	return rc;
}

static void
lc_apply_assign(Csirt__V1__Case *c, const Csirt__V1__InvestigatorsAssigned *a)
{
	char **v = NULL;

	if (a->n_assignees > 0) {
		v = util_xcalloc(a->n_assignees, sizeof(*v));
		for (size_t i = 0; i < a->n_assignees; i++)
			v[i] = util_strdup(a->assignees[i]);
	}
	lc_free_strings(c->assignees, c->n_assignees);
	c->assignees = v;
	c->n_assignees = a->n_assignees;
}

static int
lc_apply_update(Csirt__V1__Case *c, const Csirt__V1__CaseUpdated *u)
{
	enum lc_field fld = LC_TITLE;
	char f[64];
	int rc;

	/* Check every change before touching the case: all or nothing. */
	for (size_t i = 0; i < u->n_changes; i++) {
		snprintf(f, sizeof(f), "changes[%zu].field", i);
		if (u->changes[i] == NULL)
			return csirt_error_set(CSIRT_EINVAL,
			                       "changes[%zu]: "
			                       "missing",
			                       i);
		if ((rc = lc_field_parse(&fld, u->changes[i]->field, f)) < 0)
			return rc;
		if (fld == LC_CATEGORY &&
		    lc_category_parse(u->changes[i]->after) == 0)
			return csirt_error_set(CSIRT_EINVAL,
			                       "changes[%zu].after: not a "
			                       "category name",
			                       i);
		if (fld == LC_EQUIPMENT) {
			Csirt__V1__EquipmentList *l = NULL;
			if ((rc = lc_equipment_parse(&l, u->changes[i]->after,
			                             "changes.after")) < 0)
				return rc;
			codec_free(&l->base);
		}
	}
	for (size_t i = 0; i < u->n_changes; i++) {
		const Csirt__V1__FieldChange *ch = u->changes[i];

		(void)lc_field_parse(&fld, ch->field, "");
		switch (fld) {
		case LC_TITLE:
			lc_set_string(&c->title, ch->after);
			break;
		case LC_DESCRIPTION:
			lc_set_string(&c->description, ch->after);
			break;
		case LC_CATEGORY:
			c->category =
			    (Csirt__V1__Category)lc_category_parse(ch->after);
			break;
		case LC_EQUIPMENT: {
			/* Parsed and checked above; the case takes the new
			 * array, the old one is freed. */
			Csirt__V1__EquipmentList *l = NULL;
			if ((rc = lc_equipment_parse(&l, ch->after, "")) < 0)
				return rc;
			for (size_t k = 0; k < c->n_equipment; k++)
				codec_free(&c->equipment[k]->base);
			free(c->equipment);
			c->n_equipment = l->n_equipment;
			c->equipment = l->equipment;
			l->n_equipment = 0;
			l->equipment = NULL;
			codec_free(&l->base);
			break;
		}
		}
	}
	return 0;
}

int
case_apply(Csirt__V1__Case *c, const Csirt__V1__Event *ev)
{
	const struct lc_row *row;
	enum case_action action = CASE_ACTION__COUNT;
	char ev_time[UTIL_TIME_LEN];
	int64_t ev_ms;
	int rc, from;

	assert(c != NULL && ev != NULL);
	if ((rc = lifecycle_event_action(&action, ev)) < 0)
		return rc;
	if (lc_payload(ev) == NULL)
		return csirt_error_set(CSIRT_EINVAL, "%s: payload missing",
		                       lifecycle_action_name(action));
	if ((rc = lc_time(&ev_ms, ev_time, ev->time, "time")) < 0)
		return rc;
	if (action != A(REPORT) && strcmp(c->id, ev->case_id) != 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "case_id: event is for %s, the case is "
		                       "%s",
		                       ev->case_id, c->id);
	if (ev->seq <= c->last_seq)
		return csirt_error_set(CSIRT_EINVAL,
		                       "seq: %" PRIu64 " is not after the "
		                       "case's last_seq %" PRIu64,
		                       ev->seq, c->last_seq);
	row = lc_find((int)c->state, action);
	if (row == NULL)
		return csirt_error_set(CSIRT_ESTATE,
		                       "cannot %s a case in state %s",
		                       lifecycle_action_name(action),
		                       lifecycle_state_name((int)c->state));

	switch (action) {
	case A(REPORT):
		rc = lc_apply_report(c, ev, ev_time, ev_ms);
		break;
	case A(ASSIGN):
		lc_apply_assign(c, ev->investigators_assigned);
		break;
	case A(NOTE_ADD):
		c->note_count++;
		break;
	case A(UPDATE):
		rc = lc_apply_update(c, ev->case_updated);
		break;
	case A(DEADLINE_MISS):
		if (strcmp(ev->deadline_missed->deadline,
		           CASE_DEADLINE_REQUEST) == 0) {
			rc = request_apply(c, ev, action, ev_time);
			break;
		}
		if (!c->overdue)
			lc_set_string(&c->overdue_since, ev_time);
		c->overdue = true;
		break;
	case A(REQUEST_CREATE):
	case A(REQUEST_ACK):
	case A(REQUEST_RESPOND):
	case A(REQUEST_FULFIL):
	case A(REQUEST_CANCEL):
	case A(ITEM_REGISTER):
	case A(ITEM_TRANSFER):
	case A(ITEM_RETURN):
	case A(ITEM_DISPOSE):
		rc = request_apply(c, ev, action, ev_time);
		break;
	default:
		break;
	}
	if (rc < 0)
		return rc;
	from = (int)c->state;
	if (row->to != (int)c->state) {
		/* Leaving REPORTED meets (acknowledge) or moots (escalate,
		 * dismiss) the acknowledgement deadline. */
		if (c->state == S(REPORTED)) {
			c->overdue = false;
			lc_set_string(&c->overdue_since, NULL);
		}
		case_set_state(c, row->to, action);
	}
	/* 第13.2: a missed request deadline makes the case overdue while it
	 * is INVESTIGATING and the request open. */
	if (from == S(INVESTIGATING) || c->state == S(INVESTIGATING))
		request_case_overdue(c, ev_time);
	lc_set_string(&c->updated_at, ev_time);
	c->last_seq = ev->seq;
	return 0;
}

int
lifecycle_text_check(const char *field, const char *s, size_t max,
                     unsigned flags)
{
	return lc_check_text(field, s, max,
	                     ((flags & CASE_TXT_REQUIRED) ? TXT_REQUIRED : 0) |
	                         ((flags & CASE_TXT_LINE) ? TXT_LINE : 0));
}

int
lifecycle_enum_check(const char *field, const ProtobufCEnumDescriptor *desc,
                     int value)
{
	return lc_check_enum(field, desc, value);
}

Csirt__V1__Case *
case_new(void)
{
	Csirt__V1__Case *c = util_xmalloc(sizeof(*c));

	csirt__v1__case__init(c);
	return c;
}

void
case_free(Csirt__V1__Case *c)
{
	if (c != NULL)
		protobuf_c_message_free_unpacked(&c->base, NULL);
}
