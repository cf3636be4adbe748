/*
 * layout.c - ledger paths, case ids and commit trailers (see layout.h).
 *
 * Everything that names a path in the ledger goes through here, so the
 * writer, the replay and the auditor agree by construction.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csirt/v1/domain.pb-c.h"
#include "error.h"
#include "layout.h"

int
layout_case_id_parse(const char *id, int *year, uint32_t *counter)
{
	int y = 0;
	uint32_t c = 0;

	if (id == NULL || strlen(id) != LAYOUT_CASE_ID_LEN - 1 || id[4] != '-')
		goto bad;
	for (int i = 0; i < 4; i++) {
		if (id[i] < '0' || id[i] > '9')
			goto bad;
		y = y * 10 + (id[i] - '0');
	}
	for (int i = 5; i < 11; i++) {
		if (id[i] < '0' || id[i] > '9')
			goto bad;
		c = c * 10 + (uint32_t)(id[i] - '0');
	}
	if (y < 1970 || c == 0)
		goto bad;
	if (year != NULL)
		*year = y;
	if (counter != NULL)
		*counter = c;
	return 0;
bad:
	return csirt_error_set(CSIRT_EINVAL,
	                       "\"%.40s\" is not a case id like 2026-000123",
	                       id ? id : "");
}

void
layout_case_id_format(char out[LAYOUT_CASE_ID_LEN], int year, uint32_t counter)
{
	snprintf(out, LAYOUT_CASE_ID_LEN, "%04u-%06" PRIu32,
	         (unsigned)year % 10000u, counter % 1000000);
}

void
layout_case_dir(struct buf *out, const char *case_id)
{
	int year = 0;
	uint32_t counter = 0;

	/* Callers pass validated ids; a bad one lands in bucket 0. */
	if (layout_case_id_parse(case_id, &year, &counter) != 0)
		year = 0;
	/* "cases/%04d/%02u/%02u/%s", without vsnprintf (see buf_put_u64) */
	buf_puts(out, "cases/");
	buf_put_u64(out, (uint64_t)year, 4);
	buf_putc(out, '/');
	buf_put_u64(out, counter / 10000 % 100, 2);
	buf_putc(out, '/');
	buf_put_u64(out, counter / 100 % 100, 2);
	buf_putc(out, '/');
	buf_puts(out, case_id);
}

int
layout_evidence_id_parse(const char *id, char case_id[LAYOUT_CASE_ID_LEN])
{
	char c[LAYOUT_CASE_ID_LEN];

	if (id == NULL || strlen(id) != LAYOUT_EVIDENCE_ID_LEN - 1 ||
	    strncmp(id + LAYOUT_CASE_ID_LEN - 1, "-ev", 3) != 0 ||
	    strspn(id + LAYOUT_CASE_ID_LEN + 2, "0123456789abcdef") != 8)
		goto bad;
	memcpy(c, id, LAYOUT_CASE_ID_LEN - 1);
	c[LAYOUT_CASE_ID_LEN - 1] = '\0';
	if (layout_case_id_parse(c, NULL, NULL) != 0)
		goto bad;
	if (case_id != NULL)
		memcpy(case_id, c, LAYOUT_CASE_ID_LEN);
	return 0;
bad:
	return csirt_error_set(CSIRT_EINVAL,
	                       "\"%.40s\" is not an evidence id like "
	                       "2026-000123-ev3f9a2c1d",
	                       id != NULL ? id : "");
}

void
layout_evidence_dir(struct buf *out, const char *evidence_id, uint32_t version)
{
	char case_id[LAYOUT_CASE_ID_LEN] = "";

	/* Callers pass validated ids. */
	if (layout_evidence_id_parse(evidence_id, case_id) != 0)
		case_id[0] = '\0';
	layout_case_dir(out, case_id);
	buf_printf(out, "/evidence/%s/v%" PRIu32, evidence_id, version);
}

void
layout_case_json(struct buf *out, const char *case_id)
{
	layout_case_dir(out, case_id);
	buf_puts(out, "/case.json");
}

void
layout_event_path(struct buf *out, const char *case_id, uint64_t seq,
                  uint64_t case_seq)
{
	if (case_id != NULL && *case_id != '\0') {
		layout_case_dir(out, case_id);
		buf_puts(out, "/events/");
	} else {
		buf_puts(out, "directory/events/");
		case_seq = 0;
	}
	if (case_seq > 0)
		buf_put_u64(out, case_seq / 100, 3);
	else
		buf_put_u64(out, seq / 1000, 7);
	buf_putc(out, '/');
	buf_put_u64(out, seq, 10);
	buf_puts(out, ".json");
}

void
layout_event_path_flat(struct buf *out, const char *case_id, uint64_t seq)
{
	if (case_id != NULL && *case_id != '\0') {
		layout_case_dir(out, case_id);
		buf_printf(out, "/events/%010" PRIu64 ".json", seq);
	} else {
		buf_printf(out, "directory/events/%010" PRIu64 ".json", seq);
	}
}

void
layout_note_path(struct buf *out, const char *case_id, uint32_t number,
                 bool sealed)
{
	layout_case_dir(out, case_id);
	buf_puts(out, "/notes/");
	buf_put_u64(out, number / 100, 3);
	buf_puts(out, "/n");
	buf_put_u64(out, number, 0);
	buf_puts(out, sealed ? ".md.enc" : ".md");
}

void
layout_user_path(struct buf *out, const char *login)
{
	buf_printf(out, "directory/users/%s.json", login);
}

void
layout_division_path(struct buf *out, const char *code)
{
	buf_printf(out, "directory/divisions/%s.json", code);
}

bool
layout_name_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL ||
	    !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n >= 1 && n <= 64;
}

void
layout_message(struct buf *out, const char *summary,
               const struct layout_trailers *t)
{
	const char *const kv[][2] = {{"\nActor: ", t->actor},
	                             {"\nRole: ", t->role},
	                             {"\nEvent-SHA256: ", t->event_sha256}};

	buf_puts(out, summary);
	buf_puts(out, "\n\nEvent: ");
	buf_puts(out, t->event);
	if (t->case_id[0] != '\0') {
		buf_puts(out, "\nCase: ");
		buf_puts(out, t->case_id);
	}
	buf_puts(out, "\nSeq: ");
	buf_put_u64(out, t->seq, 0);
	if (t->case_id[0] != '\0' && t->case_seq > 0) {
		buf_puts(out, "\nCase-Seq: ");
		buf_put_u64(out, t->case_seq, 0);
	}
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		buf_puts(out, kv[i][0]);
		buf_puts(out, kv[i][1]);
	}
	buf_putc(out, '\n');
}

/* Copies the value of "Key: value" lines into `dst` if `line` has `key`. */
static int
trailer_take(const char *line, size_t len, const char *key, char *dst,
             size_t size)
{
	size_t klen = strlen(key);

	if (len <= klen + 2 || strncmp(line, key, klen) != 0 ||
	    line[klen] != ':' || line[klen + 1] != ' ')
		return 0;
	len -= klen + 2;
	if (len >= size)
		return -1;
	memcpy(dst, line + klen + 2, len);
	dst[len] = '\0';
	return 1;
}

int
layout_trailers_parse(struct layout_trailers *out, const char *message)
{
	const char *p = strstr(message, "\n\n"), *end;
	char seq[24] = "", case_seq[24] = "";
	char *e;

	memset(out, 0, sizeof(*out));
	if (p == NULL)
		goto bad;
	for (p += 2; *p != '\0'; p = *end ? end + 1 : end) {
		size_t len;
		end = strchr(p, '\n');
		if (end == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (trailer_take(p, len, "Event", out->event,
		                 sizeof(out->event)) < 0 ||
		    trailer_take(p, len, "Case", out->case_id,
		                 sizeof(out->case_id)) < 0 ||
		    trailer_take(p, len, "Seq", seq, sizeof(seq)) < 0 ||
		    trailer_take(p, len, "Case-Seq", case_seq,
		                 sizeof(case_seq)) < 0 ||
		    trailer_take(p, len, "Actor", out->actor,
		                 sizeof(out->actor)) < 0 ||
		    trailer_take(p, len, "Role", out->role, sizeof(out->role)) <
		        0 ||
		    trailer_take(p, len, "Event-SHA256", out->event_sha256,
		                 sizeof(out->event_sha256)) < 0)
			goto bad;
	}
	if (out->event[0] == '\0' || seq[0] < '1' || seq[0] > '9' ||
	    out->actor[0] == '\0' || out->role[0] == '\0' ||
	    strlen(out->event_sha256) != 64)
		goto bad;
	out->seq = strtoull(seq, &e, 10);
	if (*e != '\0' || strspn(seq, "0123456789") != strlen(seq) ||
	    strlen(seq) > 19)
		goto bad;
	/* Optional (commits before it have none), but only on a case's
	 * event, and a number from 1. */
	if (case_seq[0] != '\0') {
		if (out->case_id[0] == '\0' || case_seq[0] < '1' ||
		    case_seq[0] > '9' || strlen(case_seq) > 19 ||
		    strspn(case_seq, "0123456789") != strlen(case_seq))
			goto bad;
		out->case_seq = strtoull(case_seq, &e, 10);
	}
	if (out->case_id[0] != '\0' &&
	    layout_case_id_parse(out->case_id, NULL, NULL) != 0)
		goto bad;
	return 0;
bad:
	return csirt_error_set(
	    CSIRT_ETAMPER, "commit message lacks well-formed csirtd trailers");
}

/* Event type names by payload: the writer sets ev->type from this table
 * (so the name always matches the payload), the replay and the auditor
 * check event files against it.  One table, so they cannot drift. */
static const struct {
	Csirt__V1__Event__PayloadCase payload;
	const char *type;
	bool is_case;
} event_types[] = {
    {CSIRT__V1__EVENT__PAYLOAD_LEDGER_INITIALIZED, "ledger.initialized", false},
    {CSIRT__V1__EVENT__PAYLOAD_USER_CREATED, "user.created", false},
    {CSIRT__V1__EVENT__PAYLOAD_USER_UPDATED, "user.updated", false},
    {CSIRT__V1__EVENT__PAYLOAD_DIVISION_CREATED, "division.created", false},
    {CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED, "case.reported", true},
    {CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED, "case.acknowledged", true},
    {CSIRT__V1__EVENT__PAYLOAD_GUIDANCE_GIVEN, "case.guidance_given", true},
    {CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED, "case.escalated", true},
    {CSIRT__V1__EVENT__PAYLOAD_CASE_DISMISSED, "case.dismissed", true},
    {CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED,
     "case.investigation_opened", true},
    {CSIRT__V1__EVENT__PAYLOAD_INVESTIGATORS_ASSIGNED,
     "case.investigators_assigned", true},
    {CSIRT__V1__EVENT__PAYLOAD_CASE_RESOLVED, "case.resolved", true},
    {CSIRT__V1__EVENT__PAYLOAD_CASE_CLOSED, "case.closed", true},
    {CSIRT__V1__EVENT__PAYLOAD_CASE_REOPENED, "case.reopened", true},
    {CSIRT__V1__EVENT__PAYLOAD_CASE_UPDATED, "case.updated", true},
    {CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED, "note.added", true},
    {CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED, "note.edited", true},
    {CSIRT__V1__EVENT__PAYLOAD_DEADLINE_MISSED, "deadline.missed", true},
    /* 第13.2 requests and physical items (request.c) */
    {CSIRT__V1__EVENT__PAYLOAD_REQUEST_CREATED, "request.created", true},
    {CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED, "request.acknowledged",
     true},
    {CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED, "request.responded", true},
    {CSIRT__V1__EVENT__PAYLOAD_REQUEST_FULFILLED, "request.fulfilled", true},
    {CSIRT__V1__EVENT__PAYLOAD_REQUEST_CANCELLED, "request.cancelled", true},
    {CSIRT__V1__EVENT__PAYLOAD_ITEM_REGISTERED, "item.registered", true},
    {CSIRT__V1__EVENT__PAYLOAD_ITEM_TRANSFERRED, "item.transferred", true},
    {CSIRT__V1__EVENT__PAYLOAD_ITEM_RETURNED, "item.returned", true},
    {CSIRT__V1__EVENT__PAYLOAD_ITEM_DISPOSED, "item.disposed", true},
    {CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_ADDED, "evidence.added", true},
    {CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_DISPOSED, "evidence.disposed", true},
    {CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_RECLASSIFIED, "evidence.reclassified",
     true},
};

int
layout_event_type(int payload, const char **type, bool *is_case)
{
	for (size_t i = 0; i < sizeof(event_types) / sizeof(event_types[0]);
	     i++) {
		if ((int)event_types[i].payload == payload) {
			*type = event_types[i].type;
			*is_case = event_types[i].is_case;
			return 0;
		}
	}
	return csirt_error_set(CSIRT_EINVAL, "event has no known payload");
}

/* ---- checkpoints ------------------------------------------------------ */

void
layout_checkpoint_path(struct buf *out, uint64_t size)
{
	buf_printf(out, LAYOUT_CHECKPOINT_DIR "%010" PRIu64 ".txt", size);
}

void
layout_checkpoint_message(struct buf *out, uint64_t size)
{
	buf_printf(out,
	           "checkpoint of %" PRIu64 " events\n\n"
	           "Event: " LAYOUT_CHECKPOINT_EVENT "\n"
	           "Checkpoint-Size: %" PRIu64 "\n"
	           "Actor: csirtd\nRole: ROLE_SYSTEM\n",
	           size, size);
}

int
layout_checkpoint_parse(uint64_t *size, const char *message)
{
	const char *p = strstr(message, "\n\n"), *end;
	char event[64] = "", num[24] = "";
	char *e;

	*size = 0;
	if (p == NULL)
		return CSIRT_ENOTFOUND;
	for (p += 2; *p != '\0'; p = *end ? end + 1 : end) {
		size_t len;
		end = strchr(p, '\n');
		if (end == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (trailer_take(p, len, "Event", event, sizeof(event)) < 0 ||
		    trailer_take(p, len, "Checkpoint-Size", num, sizeof(num)) <
		        0)
			goto bad;
	}
	if (strcmp(event, LAYOUT_CHECKPOINT_EVENT) != 0)
		return CSIRT_ENOTFOUND;
	if (num[0] < '1' || num[0] > '9' ||
	    strspn(num, "0123456789") != strlen(num))
		goto bad;
	*size = strtoull(num, &e, 10);
	return 0;
bad:
	return csirt_error_set(CSIRT_ETAMPER,
	                       "malformed checkpoint commit message");
}
