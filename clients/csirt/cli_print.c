/*
 * cli_print.c - how the CLI shows replies to people: records as aligned
 * "label  value" lines and lists as tables (table.h), every label and enum
 * value through labels.h in the session's language.  --json bypasses this
 * file entirely.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codec.h"
#include "table.h"

struct cli_record {
	size_t n, cap;
	char **labels, **values;
};

struct cli_record *
cli_record_new(void)
{
	return util_xcalloc(1, sizeof(struct cli_record));
}

void
cli_record_add(struct cli_record *r, const char *lab, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	if (r->n == r->cap) {
		r->cap = r->cap == 0 ? 16 : r->cap * 2;
		r->labels = util_xrealloc(r->labels, r->cap * sizeof(char *));
		r->values = util_xrealloc(r->values, r->cap * sizeof(char *));
	}
	r->labels[r->n] = util_strdup(lab);
	r->values[r->n] = util_strdup(value);
	r->n++;
}

/* Multi-line values continue under the value column. */
void
cli_record_print(struct cli_record *r, FILE *fp)
{
	size_t w = 0;

	for (size_t i = 0; i < r->n; i++)
		if (text_width(r->labels[i]) > w)
			w = text_width(r->labels[i]);
	for (size_t i = 0; i < r->n; i++) {
		const char *v = r->values[i];

		fprintf(fp, "%s%*s  ", r->labels[i],
		        (int)(w - text_width(r->labels[i])), "");
		for (;;) {
			size_t len = strcspn(v, "\n");

			fprintf(fp, "%.*s\n", (int)len, v);
			if (v[len] == '\0' || v[len + 1] == '\0')
				break;
			v += len + 1;
			fprintf(fp, "%*s  ", (int)w, "");
		}
	}
}

void
cli_record_free(struct cli_record *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->labels[i]);
		free(r->values[i]);
	}
	free(r->labels);
	free(r->values);
	free(r);
}

char *
cli_classification_text(const struct cli *cli,
                        const Csirt__V1__Classification *cl)
{
	struct buf b = BUF_INIT;

	if (cl == NULL)
		return util_strdup("");
	buf_printf(&b, "%s / %s / %s",
	           cli_enum_label(cli, &csirt__v1__confidentiality__descriptor,
	                          (int)cl->confidentiality),
	           cli_enum_label(cli, &csirt__v1__integrity__descriptor,
	                          (int)cl->integrity),
	           cli_enum_label(cli, &csirt__v1__availability__descriptor,
	                          (int)cl->availability));
	for (size_t i = 0; i < cl->n_handling_restrictions; i++)
		buf_printf(&b, "%s%s", i == 0 ? " [" : ", ",
		           cl->handling_restrictions[i]);
	if (cl->n_handling_restrictions > 0)
		buf_putc(&b, ']');
	return buf_detach(&b);
}

static char *
cli_join_strings(char *const *v, size_t n)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i == 0 ? "" : ", ", v[i]);
	if (b.data == NULL)
		buf_puts(&b, "");
	return buf_detach(&b);
}

void
cli_print_case(const struct cli *cli, const Csirt__V1__Case *c)
{
	struct cli_record *r = cli_record_new();
	enum lang l = cli->lang;
	struct buf eq = BUF_INIT;
	char *s;

	cli_record_add(r, label(l, "case.id"), c->id);
	cli_record_add(r, label(l, "case.title"), c->title);
	cli_record_add(r, label(l, "case.state"),
	               cli_enum_label(cli, &csirt__v1__case_state__descriptor,
	                              (int)c->state));
	cli_record_add(r, label(l, "case.category"),
	               label_category_name(l, (int)c->category));
	cli_record_add(r, label(l, "case.division"), c->division);
	cli_record_add(r, label(l, "case.reporter"), c->reporter);
	cli_record_add(r, label(l, "case.recognized_at"), c->recognized_at);
	cli_record_add(r, label(l, "case.reported_at"), c->reported_at);
	cli_record_add(r, label(l, "case.updated_at"), c->updated_at);
	/* Deadlines (DESIGN.md §4): shown only when they apply. */
	if (c->overdue)
		cli_record_add(r, label(l, "case.overdue"), c->overdue_since);
	if (c->report_late) {
		char delay[32];
		snprintf(delay, sizeof(delay), "%lld min",
		         (long long)(c->report_delay_seconds / 60));
		cli_record_add(r, label(l, "case.report_late"), delay);
	}
	s = cli_join_strings(c->assignees, c->n_assignees);
	cli_record_add(r, label(l, "case.assignees"), s);
	free(s);
	s = cli_classification_text(cli, c->classification);
	cli_record_add(r, label(l, "case.classification"), s);
	free(s);
	for (size_t i = 0; i < c->n_equipment; i++) {
		const Csirt__V1__Equipment *e = c->equipment[i];

		buf_printf(
		    &eq, "%s%s %s (%s)%s%s", i == 0 ? "" : "\n",
		    cli_enum_label(cli, &csirt__v1__equipment_kind__descriptor,
		                   (int)e->kind),
		    e->management_number,
		    cli_enum_label(cli, &csirt__v1__ownership__descriptor,
		                   (int)e->owner),
		    *e->description != '\0' ? " " : "", e->description);
	}
	if (eq.data != NULL)
		cli_record_add(r, label(l, "case.equipment"), eq.data);
	if (c->emergency != NULL && c->emergency->flag)
		cli_record_add(r, label(l, "case.emergency"),
		               *c->emergency->instruction != '\0'
		                   ? c->emergency->instruction
		                   : "yes");
	cli_record_add(r, label(l, "case.description"), c->description);
	/* 第13.2: one line per request and item (details: `csirt request
	 * show`, `csirt custody`). */
	for (size_t i = 0; i < c->n_requests; i++) {
		const Csirt__V1__InvestigationRequest *q = c->requests[i];
		char *line = NULL;
		struct buf lb = BUF_INIT;

		buf_printf(
		    &lb, "%s %s %s (%s %s)%s", q->id,
		    cli_enum_label(cli, &csirt__v1__request_kind__descriptor,
		                   (int)q->kind),
		    cli_enum_label(cli, &csirt__v1__request_state__descriptor,
		                   (int)q->state),
		    label(l, "request.due"), q->due, q->overdue ? " !" : "");
		line = buf_detach(&lb);
		cli_record_add(r, label(l, "request.id"), line);
		free(line);
	}
	for (size_t i = 0; i < c->n_items; i++) {
		const Csirt__V1__PhysicalItem *it = c->items[i];
		char *line = NULL;
		struct buf lb = BUF_INIT;

		buf_printf(
		    &lb, "%s %s %s %s (%s)", it->id,
		    cli_enum_label(cli, &csirt__v1__equipment_kind__descriptor,
		                   (int)it->kind),
		    it->serial,
		    cli_enum_label(cli, &csirt__v1__item_state__descriptor,
		                   (int)it->state),
		    it->holder);
		line = buf_detach(&lb);
		cli_record_add(r, label(l, "item.id"), line);
		free(line);
	}
	cli_record_print(r, stdout);
	cli_record_free(r);
	buf_free(&eq);
}

void
cli_print_case_done(const struct cli *cli, const Csirt__V1__Case *c,
                    uint64_t seq)
{
	if (c == NULL)
		return;
	printf("%s  %s  (%s %llu)\n", c->id,
	       cli_enum_label(cli, &csirt__v1__case_state__descriptor,
	                      (int)c->state),
	       label(cli->lang, "event.seq"), (unsigned long long)seq);
}

void
cli_print_cases(const struct cli *cli, Csirt__V1__Case *const *cases, size_t n)
{
	static const char *const keys[] = {"case.id",          "case.state",
	                                   "case.category",    "case.division",
	                                   "case.reported_at", "case.title"};
	struct table *t = table_new(UTIL_ARRAY_LEN(keys));

	for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++)
		table_header(t, i, label(cli->lang, keys[i]));
	table_set_max_width(t, 5, 50);
	for (size_t i = 0; i < n; i++) {
		const Csirt__V1__Case *c = cases[i];
		const char *cells[6] = {
		    c->id,
		    cli_enum_label(cli, &csirt__v1__case_state__descriptor,
		                   (int)c->state),
		    cli_enum_label(cli, &csirt__v1__category__descriptor,
		                   (int)c->category),
		    c->division,
		    c->reported_at,
		    c->title};
		table_add_row(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

/* The free text an event carries, for the history's last column. */
static char *
cli_event_detail(const struct cli *cli, const Csirt__V1__Event *e)
{
	struct buf b = BUF_INIT;

	switch (e->payload_case) {
	case CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED:
		if (e->incident_reported->case_ != NULL)
			buf_printf(
			    &b, "%s: %s",
			    cli_enum_label(
			        cli, &csirt__v1__category__descriptor,
			        (int)e->incident_reported->case_->category),
			    e->incident_reported->case_->title);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED:
		buf_puts(&b, e->case_acknowledged->comment);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_GUIDANCE_GIVEN:
		buf_puts(&b, e->guidance_given->text);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED:
		buf_puts(&b, e->case_escalated->reason);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_DISMISSED:
		buf_puts(&b, e->case_dismissed->reason);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_INVESTIGATION_OPENED:
		buf_puts(&b, e->investigation_opened->reason);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_INVESTIGATORS_ASSIGNED:
		for (size_t i = 0; i < e->investigators_assigned->n_assignees;
		     i++)
			buf_printf(&b, "%s%s", i == 0 ? "" : ", ",
			           e->investigators_assigned->assignees[i]);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_RESOLVED:
		buf_puts(&b, e->case_resolved->summary);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_CLOSED:
		buf_puts(&b, e->case_closed->comment);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_REOPENED:
		buf_puts(&b, e->case_reopened->reason);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_CASE_UPDATED:
		for (size_t i = 0; i < e->case_updated->n_changes; i++)
			buf_printf(&b, "%s%s", i == 0 ? "" : ", ",
			           e->case_updated->changes[i]->field);
		if (*e->case_updated->reason != '\0')
			buf_printf(&b, " (%s)", e->case_updated->reason);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED:
		buf_printf(&b, "%s v%u", e->note_added->note_id,
		           e->note_added->version);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED:
		buf_printf(&b, "%s v%u %s", e->note_edited->note_id,
		           e->note_edited->version, e->note_edited->reason);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_DEADLINE_MISSED:
		buf_printf(&b, "%s (due %s): %s", e->deadline_missed->deadline,
		           e->deadline_missed->due, e->deadline_missed->reason);
		break;
	/* 第13.2: the request or item and the text recorded with it. */
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_CREATED:
		if (e->request_created->request != NULL)
			buf_printf(&b, "%s %s", e->request_created->request->id,
			           cli_enum_label(
			               cli,
			               &csirt__v1__request_kind__descriptor,
			               (int)e->request_created->request->kind));
		break;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED:
		buf_printf(&b, "%s %s", e->request_acknowledged->request_id,
		           e->request_acknowledged->comment);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED:
		buf_printf(&b, "%s %s", e->request_responded->request_id,
		           e->request_responded->text);
		for (size_t i = 0; i < e->request_responded->n_items; i++)
			buf_printf(&b, " [%s]",
			           e->request_responded->items[i]->id);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_FULFILLED:
		buf_printf(&b, "%s %s", e->request_fulfilled->request_id,
		           e->request_fulfilled->comment);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_CANCELLED:
		buf_printf(&b, "%s %s", e->request_cancelled->request_id,
		           e->request_cancelled->reason);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_REGISTERED:
		if (e->item_registered->item != NULL)
			buf_printf(&b, "%s %s %s", e->item_registered->item->id,
			           e->item_registered->item->serial,
			           e->item_registered->item->seal_number);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_TRANSFERRED:
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_RETURNED:
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_DISPOSED: {
		const Csirt__V1__ItemCustody *ic =
		    e->item_transferred != NULL ? e->item_transferred
		    : e->item_returned != NULL  ? e->item_returned
		                                : e->item_disposed;
		if (ic != NULL)
			buf_printf(&b, "%s -> %s %s", ic->item_id, ic->to,
			           ic->purpose);
		break;
	}
	default:
		break;
	}
	if (b.data == NULL)
		buf_puts(&b, "");
	/* One line per event in the table. */
	for (char *p = b.data; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return buf_detach(&b);
}

void
cli_print_history(const struct cli *cli, const Csirt__V1__GetHistoryResponse *h)
{
	static const char *const keys[] = {"event.seq",   "event.time",
	                                   "event.actor", "event.role",
	                                   "event.type",  "event.commit"};
	struct table *t = table_new(UTIL_ARRAY_LEN(keys) + 1);

	for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++)
		table_header(t, i, label(cli->lang, keys[i]));
	table_header(t, UTIL_ARRAY_LEN(keys), "");
	table_set_max_width(t, UTIL_ARRAY_LEN(keys), 60);
	for (size_t i = 0; i < h->n_entries; i++) {
		const Csirt__V1__Event *e = h->entries[i]->event;
		char seq[24], commit[13];
		char *detail;

		if (e == NULL)
			continue;
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)e->seq);
		snprintf(commit, sizeof(commit), "%.12s",
		         h->entries[i]->commit);
		detail = cli_event_detail(cli, e);
		const char *cells[7] = {
		    seq,
		    e->time,
		    e->actor,
		    cli_enum_label(cli, &csirt__v1__role__descriptor, (int)e->role),
		    e->type,
		    commit,
		    detail};
		table_add_row(t, cells);
		free(detail);
	}
	table_print(t, stdout);
	table_free(t);
}

void
cli_print_note(const struct cli *cli, const Csirt__V1__Note *n)
{
	struct cli_record *r = cli_record_new();
	enum lang l = cli->lang;
	char version[16];
	char *cl;

	snprintf(version, sizeof(version), "%u", n->version);
	cli_record_add(r, label(l, "note.id"), n->id);
	cli_record_add(r, label(l, "case.id"), n->case_id);
	cli_record_add(r, label(l, "note.version"), version);
	cli_record_add(r, label(l, "note.author"), n->author);
	cli_record_add(r, label(l, "event.time"),
	               *n->updated_at != '\0' ? n->updated_at : n->created_at);
	cl = cli_classification_text(cli, n->classification);
	cli_record_add(r, label(l, "case.classification"), cl);
	free(cl);
	cli_record_add(r, label(l, "note.text"), n->text);
	cli_record_print(r, stdout);
	cli_record_free(r);
}

void
cli_print_user(const struct cli *cli, const Csirt__V1__User *u)
{
	Csirt__V1__User *one[1];

	memcpy(one, &u, sizeof(u)); /* the list printer takes non-const */
	cli_print_users(cli, one, 1);
}

void
cli_print_users(const struct cli *cli, Csirt__V1__User *const *users, size_t n)
{
	static const char *const keys[] = {"user.login", "user.display_name",
	                                   "user.role", "user.division",
	                                   "user.disabled"};
	struct table *t = table_new(UTIL_ARRAY_LEN(keys));

	for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++)
		table_header(t, i, label(cli->lang, keys[i]));
	for (size_t i = 0; i < n; i++) {
		const Csirt__V1__User *u = users[i];
		const char *cells[5] = {
		    u->login, u->display_name,
		    cli_enum_label(cli, &csirt__v1__role__descriptor,
		                   (int)u->role),
		    u->division,
		    u->disabled ? label(cli->lang, "user.disabled") : ""};
		table_add_row(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

void
cli_print_divisions(const struct cli *cli, Csirt__V1__Division *const *d,
                    size_t n)
{
	struct table *t = table_new(2);

	table_header(t, 0, label(cli->lang, "division.code"));
	table_header(t, 1, label(cli->lang, "division.name"));
	for (size_t i = 0; i < n; i++) {
		const char *cells[2] = {d[i]->code, d[i]->name};
		table_add_row(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

void
cli_print_tokens(const struct cli *cli, Csirt__V1__TokenInfo *const *tok,
                 size_t n)
{
	static const char *const keys[] = {
	    "token.id", "user.login", "token.created_at", "token.revoked_at"};
	struct table *t = table_new(UTIL_ARRAY_LEN(keys));

	for (size_t i = 0; i < UTIL_ARRAY_LEN(keys); i++)
		table_header(t, i, label(cli->lang, keys[i]));
	for (size_t i = 0; i < n; i++) {
		const char *cells[4] = {tok[i]->token_id, tok[i]->login,
		                        tok[i]->created_at, tok[i]->revoked_at};
		table_add_row(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}
