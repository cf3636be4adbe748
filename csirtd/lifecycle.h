/*
 * lifecycle.h - the case state machine of DESIGN.md §4, the validation of
 * case events, and the fold that turns a case's events into case.json.
 *
 * Pure domain code: no I/O, no clock, no allocation outside the messages it
 * is handed.  The ledger writer calls case_validate() on every command and,
 * once the event is committed, case_apply(); `csirtd rebuild` and the
 * auditor tool call only case_apply() over the stored events, so the same
 * events always give byte-identical cases.
 *
 * Messages are the generated csirt.v1 structs and are "fully owned" in the
 * sense of codec.h: every string is malloc'd or protobuf_c_empty_string,
 * every array and sub-message malloc'd.
 */
#ifndef CSIRT_LIFECYCLE_H
#define CSIRT_LIFECYCLE_H

#include <stddef.h>

#include "csirt/v1/domain.pb-c.h"

/* The deadline kinds of DeadlineMissed.deadline. */
#define CASE_DEADLINE_ACK "acknowledge" /* REPORTED past ack_limit_min */
#define CASE_DEADLINE_REQUEST "request" /* a 第13.2 request past its due */

/* Limits on event payloads, in bytes unless noted. */
#define CASE_TITLE_MAX 200        /* title: one line */
#define CASE_LINE_MAX 200         /* management number, restriction */
#define CASE_NAME_MAX 64          /* case id, login, division, note id */
#define CASE_TEXT_MAX (64 * 1024) /* description, reasons, guidance */
#define CASE_PATH_MAX 1024        /* ledger path of a note */
#define CASE_EQUIPMENT_MAX 100    /* entries */
#define CASE_RESTRICTIONS_MAX 16  /* handling restrictions */
#define CASE_ASSIGNEES_MAX 32     /* investigators on one case */

/* What an event does to a case; one per case payload of csirt.v1.Event. */
enum case_action {
	CASE_ACTION_REPORT,             /* IncidentReported */
	CASE_ACTION_ACKNOWLEDGE,        /* CaseAcknowledged */
	CASE_ACTION_GUIDE,              /* GuidanceGiven (第13.3) */
	CASE_ACTION_ESCALATE,           /* CaseEscalated */
	CASE_ACTION_DISMISS,            /* CaseDismissed */
	CASE_ACTION_OPEN_INVESTIGATION, /* InvestigationOpened */
	CASE_ACTION_ASSIGN,             /* InvestigatorsAssigned */
	CASE_ACTION_NOTE_ADD,           /* NoteAdded */
	CASE_ACTION_NOTE_EDIT,          /* NoteEdited */
	CASE_ACTION_UPDATE,             /* CaseUpdated */
	CASE_ACTION_RESOLVE,            /* CaseResolved */
	CASE_ACTION_CLOSE,              /* CaseClosed */
	CASE_ACTION_REOPEN,             /* CaseReopened */
	CASE_ACTION_DEADLINE_MISS,      /* DeadlineMissed (the daemon only) */
	/* 第13.2 (request.c) */
	CASE_ACTION_REQUEST_CREATE,   /* RequestCreated */
	CASE_ACTION_REQUEST_ACK,      /* RequestAcknowledged */
	CASE_ACTION_REQUEST_RESPOND,  /* RequestResponded */
	CASE_ACTION_REQUEST_FULFIL,   /* RequestFulfilled */
	CASE_ACTION_REQUEST_CANCEL,   /* RequestCancelled */
	CASE_ACTION_ITEM_REGISTER,    /* ItemRegistered */
	CASE_ACTION_ITEM_TRANSFER,    /* ItemCustody item_transferred */
	CASE_ACTION_ITEM_RETURN,      /* ItemCustody item_returned */
	CASE_ACTION_ITEM_DISPOSE,     /* ItemCustody item_disposed */
	CASE_ACTION_EVIDENCE_ADD,     /* EvidenceAdded (issue 6) */
	CASE_ACTION_EVIDENCE_DISPOSE, /* EvidenceDisposed (廃棄) */
	CASE_ACTION_EVIDENCE_REVIEW,  /* EvidenceReclassified (第4.5) */
	CASE_ACTION__COUNT
};

/* "acknowledge", "open_investigation", ...; "unknown" out of range.
 * Static storage. */
const char *lifecycle_action_name(enum case_action a);

/* "REPORTED", ...; "NONE" for 0 (no case yet); "UNKNOWN" out of range.
 * Static storage. */
const char *lifecycle_state_name(int state);

/*
 * May `role` (a Csirt__V1__Role) perform `action` on a case in state `from`
 * (a Csirt__V1__CaseState; 0 = the case does not exist yet)?  On success
 * stores the resulting state in *to (if not NULL; equal to `from` for the
 * actions that do not change state) and returns 0.  Otherwise, in this
 * order:
 *   CSIRT_EINVAL   `from` is not a state or `action` not an action;
 *   CSIRT_EDENIED  the role may perform the action in no state at all
 *                  (an auditor acknowledging; checked first so that a role
 *                  without the right learns nothing about the case);
 *   CSIRT_ESTATE   no role may perform the action from `from`
 *                  (failed_precondition: resolve a REPORTED case);
 *   CSIRT_EDENIED  other roles may, this one may not in this state
 *                  (a reporter correcting a report already acknowledged).
 * Authorisation by role only: who is assigned to the case or filed it is
 * checked by case_validate().
 */
int lifecycle_check(int *to, int from, enum case_action action, int role);

/* The action of a case event, from its payload oneof.  CSIRT_EINVAL for
 * directory payloads (users, divisions, ledger) and an unset payload. */
int lifecycle_event_action(enum case_action *out, const Csirt__V1__Event *ev);

/*
 * Decides whether the writer may append `ev` to the case `current` (NULL
 * when `ev` reports a new case).  Checks, in this order, so that a caller
 * without the right learns nothing about the payload:
 *   1. the envelope: a case payload, seq > 0 and after current->last_seq,
 *      case_id matching, actor, RFC 3339 time     (CSIRT_EINVAL,
 *      CSIRT_ENOTFOUND when `current` is NULL for anything but a report);
 *   2. lifecycle_check() of current->state, the action and ev->role;
 *   3. the actor: an investigator must be one of the case's assignees; a
 *      reporter may file only in their own name and correct only their own
 *      report                                        (CSIRT_EDENIED);
 *   4. the payload's fields                          (CSIRT_EINVAL, or
 *      CSIRT_ECONFLICT when an update's `before` is not the current value).
 * The message names the field ("case.classification.integrity: ...").
 * Both arguments are borrowed.
 */
int case_validate(const Csirt__V1__Case *current, const Csirt__V1__Event *ev);

/*
 * The fold: applies one event, already accepted by case_validate(), to `c`.
 * For a report `c` must be fresh from case_new(); the reported case is
 * copied and the server's fields set (id = ev->case_id, reported_at =
 * ev->time, state REPORTED, report_delay_seconds = reported_at -
 * recognized_at, floored; report_late = the event's
 * report_delay_limit_seconds > 0 and the delay exceeds it).  Every event sets
 * updated_at = ev->time and last_seq = ev->seq.  Times are stored normalised to
 * UTC milliseconds
 * ("2026-11-27T00:10:00.000Z") whatever offset the event used.
 *
 * Deliberately checks no roles and no payload rules, so that events
 * accepted under older rules still replay; it checks only what the fold
 * needs: the payload is a case payload, the case id matches, seq increases,
 * the table has a transition from c->state, times parse, update fields are
 * supported.  On error returns CSIRT_EINVAL / CSIRT_ESTATE and leaves `c`
 * unchanged.  `ev` is borrowed.
 *
 * Effects per action: ASSIGN replaces the assignees; NOTE_ADD increments
 * note_count; UPDATE applies each FieldChange, whose `after` holds the new
 * value as plain text: "title" and "description" the UTF-8 string itself
 * (no JSON quoting), "category" the enum name ("CATEGORY_LOST_EQUIPMENT");
 * "equipment" is not updatable (CSIRT_EINVAL).  DEADLINE_MISS
 * "acknowledge" sets overdue (and overdue_since = ev->time unless already
 * overdue); any change of state out of REPORTED clears both, since that
 * deadline is met or moot once the case leaves REPORTED.  The 第13.2
 * events and DEADLINE_MISS "request" are folded by request.c
 * (request_apply()); while the case is INVESTIGATING, overdue then says
 * whether an open request has missed its due time.
 * The other actions change
 * the state only, or nothing but updated_at and last_seq.
 */
int case_apply(Csirt__V1__Case *c, const Csirt__V1__Event *ev);

/* Field checks shared with request.c.  flags: CASE_TXT_REQUIRED (not
 * empty), CASE_TXT_LINE (no control characters); always valid UTF-8 of at
 * most `max` bytes.  CSIRT_EINVAL naming `field`. */
#define CASE_TXT_REQUIRED 1u
#define CASE_TXT_LINE 2u
int lifecycle_text_check(const char *field, const char *s, size_t max,
                         unsigned flags);
/* An enum field holding a defined value other than 0. */
int lifecycle_enum_check(const char *field, const ProtobufCEnumDescriptor *desc,
                         int value);

/* An empty case (state 0); aborts on OOM.  Caller frees with case_free(). */
Csirt__V1__Case *case_new(void);
/* Frees a fully owned case; NULL is a no-op. */
void case_free(Csirt__V1__Case *c);

#endif
