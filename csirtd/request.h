/*
 * request.h - 第13.2 investigation requests to the reporting division and
 * the physical items submitted under them: their state tables, the
 * validation of their events and their part of the case fold.
 *
 * Pure domain code like lifecycle.c, which calls it: lifecycle.c decides
 * whether the case (its state, the actor's role) allows the action at all;
 * this module decides whether the request or item allows it.
 */
#ifndef CSIRT_REQUEST_H
#define CSIRT_REQUEST_H

#include <stdint.h>

#include "csirt/v1/domain.pb-c.h"
#include "lifecycle.h"

#define REQUEST_MAX 200          /* requests per case */
#define ITEM_MAX 500             /* items per case */
#define REQUEST_ITEMS_MAX 50     /* items registered by one response */
#define REQUEST_DUE_MAX_DAYS 366 /* the farthest due time accepted */

/* What happens to one request. */
enum request_action {
	REQUEST_ACTION_ACKNOWLEDGE,
	REQUEST_ACTION_RESPOND,
	REQUEST_ACTION_FULFIL,
	REQUEST_ACTION_CANCEL,
	REQUEST_ACTION__COUNT
};

/* "OPEN", ...; "NONE" for 0; "UNKNOWN" out of range.  Static storage. */
const char *request_state_name(int state);
const char *request_action_name(enum request_action a);

/*
 * May `role` perform `action` on a request in state `from`?  0 with *to
 * set (if not NULL); CSIRT_EDENIED when the role may never do it;
 * CSIRT_ESTATE when the request's state does not allow it.
 */
int request_check(int *to, int from, enum request_action action, int role);

/*
 * The writer's part: fills the ids the server assigns (the next "rN" of a
 * request.created, the next "iN" of each registered item) from `cur`, the
 * case before the event.  Call before case_validate(); `ev` is modified.
 */
void request_prepare(const Csirt__V1__Case *cur, Csirt__V1__Event *ev);

/* For case_validate(): the payload of a request or item event, or of a
 * deadline.missed "request" event, against the case `cur`.  The role
 * table of lifecycle.c has already been applied. */
int request_validate(const Csirt__V1__Case *cur, const Csirt__V1__Event *ev,
                     enum case_action action, int64_t ev_ms);

/* For case_apply(): folds a request or item event (or a missed request
 * deadline) into `c`.  `ev_time` is the event's normalised time. */
int request_apply(Csirt__V1__Case *c, const Csirt__V1__Event *ev,
                  enum case_action action, const char *ev_time);

/* For case_apply(), after every event of a case that is or was
 * INVESTIGATING: Case.overdue is true while the case is INVESTIGATING and
 * one of its open requests has missed its due time. */
void request_case_overdue(Csirt__V1__Case *c, const char *ev_time);

/* The request or item of a case by id, or NULL.  Borrowed. */
Csirt__V1__InvestigationRequest *request_find(const Csirt__V1__Case *c,
                                              const char *id);
Csirt__V1__PhysicalItem *request_item_find(const Csirt__V1__Case *c,
                                           const char *id);

/* A new item with the fields a client describes it by (kind, serial,
 * owner, owner_name, seal_number, description); the rest empty.  Caller
 * frees with codec_free(). */
Csirt__V1__PhysicalItem *request_item_copy(const Csirt__V1__PhysicalItem *src);

#endif
