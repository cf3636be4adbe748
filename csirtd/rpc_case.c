/*
 * rpc_case.c - CaseService handlers.
 *
 * Each handler turns a request into either a read from the index or a
 * proposed event for the ledger writer; the writer (with lifecycle.c)
 * decides whether the event is legal.  Handlers must never trust a client
 * for who is acting: actor and role come from the token (rpc_submit), the
 * reporter and division of a report from the caller's directory entry.
 */
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "codec.h"
#include "crypto.h"
#include "error.h"
#include "index.h"
#include "layout.h"
#include "lifecycle.h"
#include "rpc.h"
#include "util.h"

#define LIST_DEFAULT 50
#define LIST_MAX 500

/* Messages built here are fully owned (codec.h); `d` picks the type. */
#define msg_new(d) ((void *)codec_new(d))

Csirt__V1__Event *
rpc_event_new(const char *case_id)
{
	Csirt__V1__Event *ev = msg_new(&csirt__v1__event__descriptor);

	codec_set_string(&ev->case_id, case_id);
	return ev;
}

/* CaseResponse from the finished command (the case moves into it). */
int
rpc_finish_case(struct rpc_ctx *ctx, ProtobufCMessage **out)
{
	Csirt__V1__CaseResponse *r =
	    msg_new(&csirt__v1__case_response__descriptor);

	r->case_ = ctx->cmd.case_after;
	ctx->cmd.case_after = NULL;
	r->seq = ctx->cmd.seq;
	codec_set_string(&r->commit, ctx->cmd.commit);
	*out = &r->base;
	return 0;
}

RPC_HANDLER(rpc_report_incident)
{
	const Csirt__V1__ReportIncidentRequest *r = (const void *)in;
	const Csirt__V1__User *u = ctx->user;
	Csirt__V1__Event *ev;
	Csirt__V1__Case *c;

	(void)out;
	if (r->case_ == NULL)
		return csirt_error_set(CSIRT_EINVAL, "case is required");
	c = (Csirt__V1__Case *)codec_clone(&r->case_->base);
	if (u->role == CSIRT__V1__ROLE__ROLE_REPORTER) {
		/* A 所属長 reports for their own division (第13.1). */
		if (c->division[0] != '\0' &&
		    strcmp(c->division, u->division) != 0) {
			case_free(c);
			return csirt_error_set(
			    CSIRT_EDENIED,
			    "a 所属長 reports for their own division (%s)",
			    u->division);
		}
		codec_set_string(&c->division, u->division);
	} else if (c->division[0] == '\0') {
		case_free(c);
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "case.division is required when filing for a division");
	}
	codec_set_string(&c->reporter, u->login);
	ev = rpc_event_new(NULL);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED;
	ev->incident_reported =
	    msg_new(&csirt__v1__incident_reported__descriptor);
	ev->incident_reported->case_ = c;
	return rpc_submit(ctx, ev, NULL, rpc_finish_case);
}

RPC_HANDLER(rpc_get_case)
{
	const Csirt__V1__GetCaseRequest *r = (const void *)in;
	Csirt__V1__GetCaseResponse *resp;
	Csirt__V1__Case *c = NULL;
	int rc;

	if ((rc = rpc_case_visible(ctx, r->id, &c)) != 0)
		return rc;
	resp = msg_new(&csirt__v1__get_case_response__descriptor);
	resp->case_ = c;
	*out = &resp->base;
	return 0;
}

struct list_state {
	Csirt__V1__ListCasesResponse *resp;
	size_t cap;
};

static int
list_cb(const Csirt__V1__Case *c, void *arg)
{
	struct list_state *st = arg;
	Csirt__V1__ListCasesResponse *r = st->resp;

	if (r->n_cases == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		r->cases = util_xrealloc(r->cases, st->cap * sizeof(*r->cases));
	}
	r->cases[r->n_cases++] =
	    (Csirt__V1__Case *)codec_clone((const ProtobufCMessage *)c);
	return 0;
}

RPC_HANDLER(rpc_list_cases)
{
	const Csirt__V1__ListCasesRequest *r = (const void *)in;
	struct index_case_filter f;
	struct list_state st = {NULL, 0};
	int *states = NULL, *cats = NULL;
	bool more = false;
	int rc;

	memset(&f, 0, sizeof(f));
	f.overdue = r->overdue != 0;
	f.limit = r->page_size == 0 ? LIST_DEFAULT : r->page_size;
	if (f.limit > LIST_MAX)
		return csirt_error_set(CSIRT_EINVAL, "page_size: at most %d",
		                       LIST_MAX);
	if (r->page_token[0] != '\0' &&
	    layout_case_id_parse(r->page_token, NULL, NULL) != 0)
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "page_token: not a token from a previous response");
	f.after_id = r->page_token;
	states = util_xcalloc(r->n_states + 1, sizeof(int));
	for (size_t i = 0; i < r->n_states; i++)
		states[i] = (int)r->states[i];
	cats = util_xcalloc(r->n_categories + 1, sizeof(int));
	for (size_t i = 0; i < r->n_categories; i++)
		cats[i] = (int)r->categories[i];
	f.states = states;
	f.nstates = r->n_states;
	f.categories = cats;
	f.ncategories = r->n_categories;
	f.division = r->division;
	f.min_confidentiality = (int)r->min_confidentiality;
	f.text = r->text;
	rc = 0;
	if (r->reported_after[0] != '\0')
		rc = util_time_parse(&f.reported_after_ms, r->reported_after);
	if (rc == 0 && r->reported_before[0] != '\0')
		rc = util_time_parse(&f.reported_before_ms, r->reported_before);
	if (rc != 0)
		goto done;
	/* A 所属長 sees their own division's cases only. */
	if (ctx->user->role == CSIRT__V1__ROLE__ROLE_REPORTER) {
		if (r->division[0] != '\0' &&
		    strcmp(r->division, ctx->user->division) != 0) {
			rc = csirt_error_set(
			    CSIRT_EDENIED,
			    "a 所属長 lists their own division only");
			goto done;
		}
		f.division = ctx->user->division;
	}
	st.resp = msg_new(&csirt__v1__list_cases_response__descriptor);
	if ((rc = index_cases_list(rpc_env(ctx)->ix, &f, list_cb, &st,
	                           &more)) != 0) {
		codec_free(&st.resp->base);
		goto done;
	}
	if (more && st.resp->n_cases > 0)
		codec_set_string(&st.resp->next_page_token,
		                 st.resp->cases[st.resp->n_cases - 1]->id);
	*out = &st.resp->base;
done:
	free(states);
	free(cats);
	return rc;
}

static Csirt__V1__FieldChange *
change_new(const char *field, const char *before, const char *after)
{
	Csirt__V1__FieldChange *fc =
	    msg_new(&csirt__v1__field_change__descriptor);

	codec_set_string(&fc->field, field);
	codec_set_string(&fc->before, before);
	codec_set_string(&fc->after, after);
	return fc;
}

RPC_HANDLER(rpc_update_case)
{
	const Csirt__V1__UpdateCaseRequest *r = (const void *)in;
	Csirt__V1__Case *c = NULL;
	Csirt__V1__Event *ev;
	Csirt__V1__CaseUpdated *cu;
	int rc;

	(void)out;
	if ((rc = rpc_case_visible(ctx, r->id, &c)) != 0)
		return rc;
	ev = rpc_event_new(r->id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_CASE_UPDATED;
	cu = msg_new(&csirt__v1__case_updated__descriptor);
	ev->case_updated = cu;
	codec_set_string(&cu->reason, r->reason);
	cu->changes = util_xcalloc(4, sizeof(*cu->changes));
	if (r->title[0] != '\0' && strcmp(r->title, c->title) != 0)
		cu->changes[cu->n_changes++] =
		    change_new("title", c->title, r->title);
	if (r->description[0] != '\0' &&
	    strcmp(r->description, c->description) != 0)
		cu->changes[cu->n_changes++] =
		    change_new("description", c->description, r->description);
	if (r->category != CSIRT__V1__CATEGORY__CATEGORY_UNSPECIFIED &&
	    r->category != c->category) {
		const char *before = codec_enum_name(
		    &csirt__v1__category__descriptor, (int)c->category);
		const char *after = codec_enum_name(
		    &csirt__v1__category__descriptor, (int)r->category);
		cu->changes[cu->n_changes++] = change_new(
		    "category", before ? before : "", after ? after : "");
	}
	if (r->replace_equipment) {
		Csirt__V1__EquipmentList now = CSIRT__V1__EQUIPMENT_LIST__INIT,
		                         next = CSIRT__V1__EQUIPMENT_LIST__INIT;
		struct buf before = BUF_INIT, after = BUF_INIT;

		/* Both borrowed for the encoding only. */
		now.n_equipment = c->n_equipment;
		now.equipment = c->equipment;
		next.n_equipment = r->n_equipment;
		next.equipment = r->equipment;
		if (codec_to_json(&before, &now.base, 0) == 0 &&
		    codec_to_json(&after, &next.base, 0) == 0 &&
		    strcmp(before.data, after.data) != 0)
			cu->changes[cu->n_changes++] =
			    change_new("equipment", before.data, after.data);
		buf_free(&before);
		buf_free(&after);
	}
	case_free(c);
	if (cu->n_changes == 0) {
		codec_free(&ev->base);
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "nothing to change: give a new title, description, "
		    "category or equipment");
	}
	return rpc_submit(ctx, ev, NULL, rpc_finish_case);
}

/* Acknowledge, GiveGuidance, Escalate, Dismiss, OpenInvestigation,
 * Resolve, Close, Reopen: one text field each. */
#define ACTION(NAME, PC, type, field, member)                                  \
	if (strcmp(name, NAME) == 0) {                                         \
		type *p = msg_new(&csirt__v1__##field##__descriptor);          \
		codec_set_string(&p->member, r->text);                         \
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_##PC;             \
		ev->field = p;                                                 \
	} else

RPC_HANDLER(rpc_case_action)
{
	const Csirt__V1__CaseActionRequest *r = (const void *)in;
	const char *name = rpc_method_name(ctx);
	Csirt__V1__Event *ev;

	(void)out;
	if (layout_case_id_parse(r->id, NULL, NULL) != 0)
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "id: \"%.40s\" is not a case id like 2026-000123", r->id);
	ev = rpc_event_new(r->id);
	ACTION("Acknowledge", CASE_ACKNOWLEDGED, Csirt__V1__CaseAcknowledged,
	       case_acknowledged, comment)
	ACTION("GiveGuidance", GUIDANCE_GIVEN, Csirt__V1__GuidanceGiven,
	       guidance_given, text)
	ACTION("Escalate", CASE_ESCALATED, Csirt__V1__CaseEscalated,
	       case_escalated, reason)
	ACTION("Dismiss", CASE_DISMISSED, Csirt__V1__CaseDismissed,
	       case_dismissed, reason)
	ACTION("OpenInvestigation", INVESTIGATION_OPENED,
	       Csirt__V1__InvestigationOpened, investigation_opened, reason)
	ACTION("Resolve", CASE_RESOLVED, Csirt__V1__CaseResolved, case_resolved,
	       summary)
	ACTION("Close", CASE_CLOSED, Csirt__V1__CaseClosed, case_closed,
	       comment)
	ACTION("Reopen", CASE_REOPENED, Csirt__V1__CaseReopened, case_reopened,
	       reason)
	{
		codec_free(&ev->base);
		return csirt_error_set(CSIRT_EFAIL, "no action for %s", name);
	}
	return rpc_submit(ctx, ev, NULL, rpc_finish_case);
}

RPC_HANDLER(rpc_assign_investigators)
{
	const Csirt__V1__AssignInvestigatorsRequest *r = (const void *)in;
	Csirt__V1__InvestigatorsAssigned *a;
	Csirt__V1__Event *ev;

	(void)out;
	if (r->n_assignees == 0 || r->n_assignees > 32)
		return csirt_error_set(CSIRT_EINVAL,
		                       "assignees: name 1 to 32 investigators");
	for (size_t i = 0; i < r->n_assignees; i++) {
		Csirt__V1__User *u = NULL;
		int rc = index_user_get(&u, rpc_env(ctx)->ix, r->assignees[i]);
		bool ok = rc == 0 && !u->disabled &&
		          (u->role == CSIRT__V1__ROLE__ROLE_INVESTIGATOR ||
		           u->role == CSIRT__V1__ROLE__ROLE_CSIRT_LEAD);
		codec_free(u ? &u->base : NULL);
		if (rc != 0 && rc != CSIRT_ENOTFOUND)
			return rc;
		if (!ok)
			return csirt_error_set(
			    CSIRT_EINVAL,
			    "assignees: \"%.64s\" is not an active CSIRT "
			    "investigator",
			    r->assignees[i]);
	}
	ev = rpc_event_new(r->id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_INVESTIGATORS_ASSIGNED;
	a = msg_new(&csirt__v1__investigators_assigned__descriptor);
	ev->investigators_assigned = a;
	a->assignees = util_xcalloc(r->n_assignees, sizeof(char *));
	for (size_t i = 0; i < r->n_assignees; i++)
		a->assignees[a->n_assignees++] = util_strdup(r->assignees[i]);
	return rpc_submit(ctx, ev, NULL, rpc_finish_case);
}

static int
finish_note(struct rpc_ctx *ctx, ProtobufCMessage **out)
{
	const Csirt__V1__AddNoteRequest *r = (const void *)ctx->in;
	const Csirt__V1__NoteAdded *na = ctx->cmd.ev->note_added;
	Csirt__V1__NoteResponse *resp =
	    msg_new(&csirt__v1__note_response__descriptor);
	Csirt__V1__Note *n = msg_new(&csirt__v1__note__descriptor);

	codec_set_string(&n->id, na->note_id);
	codec_set_string(&n->case_id, ctx->cmd.ev->case_id);
	codec_set_string(&n->author, ctx->cmd.ev->actor);
	n->version = na->version;
	codec_set_string(&n->text, r->text);
	n->classification =
	    (Csirt__V1__Classification *)codec_clone(&na->classification->base);
	codec_set_string(&n->created_at, ctx->cmd.ev->time);
	codec_set_string(&n->updated_at, ctx->cmd.ev->time);
	resp->note = n;
	resp->seq = ctx->cmd.seq;
	codec_set_string(&resp->commit, ctx->cmd.commit);
	*out = &resp->base;
	return 0;
}

RPC_HANDLER(rpc_add_note)
{
	const Csirt__V1__AddNoteRequest *r = (const void *)in;
	Csirt__V1__Classification *cl;
	Csirt__V1__NoteAdded *na;
	Csirt__V1__Event *ev;
	int rc;

	(void)out;
	/* 第4.4: a note inherits its case's classification; the client
	 * names only what it raises (the writer refuses anything below the
	 * case's, judged against the case as it is then). */
	{
		Csirt__V1__Case *c = NULL;
		if ((rc = rpc_case_visible(ctx, r->case_id, &c)) != 0)
			return rc;
		if (r->classification == NULL && c->classification == NULL) {
			case_free(c);
			return csirt_error_set(CSIRT_EINVAL,
			                       "classification is required "
			                       "(機密性/完全性/可用性)");
		}
		cl = (Csirt__V1__Classification *)codec_clone(
		    r->classification != NULL ? &r->classification->base
		                              : &c->classification->base);
		classify_fill(cl, c->classification);
		case_free(c);
	}
	/* 機密性高・中: sealed here, under its own key (issue 6). */
	if (cl->confidentiality !=
	        CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW &&
	    r->text[0] != '\0' && (rc = rpc_note_seal(ctx, r->text)) != 0) {
		codec_free(&cl->base);
		return rc;
	}
	ev = rpc_event_new(r->case_id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED;
	na = msg_new(&csirt__v1__note_added__descriptor);
	na->classification = cl;
	ev->note_added = na;
	/* The text stays in ctx->in until the reply. */
	return rpc_submit(ctx, ev, r->text, finish_note);
}

/* A Note message for one version read from the index, with `text` (the
 * index's for 機密性低, the decrypted one otherwise).  Caller frees. */
static Csirt__V1__Note *
note_from_version_text(const struct index_note_version *v, const char *text,
                       size_t text_len)
{
	Csirt__V1__Note *n = msg_new(&csirt__v1__note__descriptor);
	char t[UTIL_TIME_LEN];

	codec_set_string(&n->id, v->note_id);
	codec_set_string(&n->case_id, v->case_id);
	codec_set_string(&n->author, v->author);
	n->version = v->version;
	n->text = util_xmalloc(text_len + 1);
	memcpy(n->text, text, text_len);
	n->text[text_len] = '\0';
	n->classification =
	    (Csirt__V1__Classification *)codec_clone(&v->classification->base);
	util_time_format_ms(t, sizeof(t), v->created_ms);
	codec_set_string(&n->created_at, t);
	util_time_format_ms(t, sizeof(t), v->time_ms);
	codec_set_string(&n->updated_at, t);
	return n;
}

static Csirt__V1__Note *
note_from_version(const struct index_note_version *v)
{
	return note_from_version_text(v, v->text, v->text_len);
}

/* A version whose text the index does not hold cannot be answered without
 * walking git, which reads never do: say why and what to do. */
static int
note_text_missing(const struct index_note_version *v)
{
	if (v->classification->confidentiality !=
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW)
		return csirt_error_set(
		    CSIRT_EUNIMPLEMENTED,
		    "note %s is classified 機密性高・中; reading encrypted "
		    "notes is not supported yet",
		    v->note_id);
	return csirt_error_set(CSIRT_EUNAVAILABLE,
	                       "the index has no text for version %u of note "
	                       "%s (indexed before schema 3); the operators "
	                       "must run `csirtd rebuild`",
	                       (unsigned)v->version, v->note_id);
}

/* The edit's reply: the new version, read back from the index (the writer
 * committed it before posting the reply, and version 1 holds the note's
 * creation time and classification). */
struct edit_state {
	uint32_t version;
	Csirt__V1__Note *note;
	const char *sealed_text; /* the edit's text when it was sealed */
};

static int
edit_cb(const struct index_note_version *v, void *arg)
{
	struct edit_state *st = arg;

	if (v->version != st->version)
		return 0;
	if (v->text == NULL && st->sealed_text != NULL) {
		/* Sealed (機密性高・中): the text is the one just sent. */
		st->note = note_from_version_text(v, st->sealed_text,
		                                  strlen(st->sealed_text));
		return 0;
	}
	if (v->text == NULL)
		return note_text_missing(v);
	st->note = note_from_version(v);
	return 0;
}

static int
finish_note_edit(struct rpc_ctx *ctx, ProtobufCMessage **out)
{
	const Csirt__V1__Event *ev = ctx->cmd.ev;
	const Csirt__V1__EditNoteRequest *r = (const void *)ctx->in;
	struct edit_state st = {ev->note_edited->version, NULL,
	                        ctx->cmd.note_cipher != NULL ? r->text : NULL};
	Csirt__V1__NoteResponse *resp;
	int rc;

	if ((rc = index_note_versions(rpc_env(ctx)->ix, ev->case_id,
	                              ev->note_edited->note_id, edit_cb,
	                              &st)) != 0)
		return rc;
	if (st.note == NULL)
		return csirt_error_set(
		    CSIRT_EFAIL,
		    "note %s version %u is committed but not "
		    "in the index",
		    ev->note_edited->note_id, (unsigned)st.version);
	resp = msg_new(&csirt__v1__note_response__descriptor);
	resp->note = st.note;
	resp->seq = ctx->cmd.seq;
	codec_set_string(&resp->commit, ctx->cmd.commit);
	*out = &resp->base;
	return 0;
}

/* Who may edit is decided by the writer (author or lead, on top of the
 * lifecycle's roles), against the note as it is when the edit commits. */
static int
note_secret_cb(const struct index_note_version *v, void *arg)
{
	bool *secret = arg;

	if (v->version == 1)
		*secret = v->classification->confidentiality !=
		          CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
	return 0;
}

RPC_HANDLER(rpc_edit_note)
{
	const Csirt__V1__EditNoteRequest *r = (const void *)in;
	Csirt__V1__NoteEdited *ne;
	Csirt__V1__Event *ev;
	bool secret = false;
	int rc;

	(void)out;
	if (layout_case_id_parse(r->case_id, NULL, NULL) != 0)
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "case_id: \"%.40s\" is not a case id like 2026-000123",
		    r->case_id);
	if (r->note_id[0] == '\0')
		return csirt_error_set(CSIRT_EINVAL,
		                       "note_id is required (\"n1\", ...)");
	/* An edit inherits the note's classification (第4.4): sealed when
	 * version 1 was 機密性高・中.  A note the index does not know is the
	 * writer's to refuse. */
	rc = index_note_versions(rpc_env(ctx)->ix, r->case_id, r->note_id,
	                         note_secret_cb, &secret);
	if (rc != 0 && rc != CSIRT_ENOTFOUND)
		return rc;
	if (secret && r->text[0] != '\0' &&
	    (rc = rpc_note_seal(ctx, r->text)) != 0)
		return rc;
	ev = rpc_event_new(r->case_id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED;
	ne = msg_new(&csirt__v1__note_edited__descriptor);
	codec_set_string(&ne->note_id, r->note_id);
	codec_set_string(&ne->reason, r->reason);
	ev->note_edited = ne;
	/* The text stays in ctx->in until the reply. */
	return rpc_submit(ctx, ev, r->text, finish_note_edit);
}

/* Where each sealed version of one note lives: from its events. */
struct sealed_ref {
	uint32_t version;
	char *blob, *key_id;
};

struct versions_state {
	Csirt__V1__GetNoteVersionsResponse *resp;
	size_t cap;
	struct rpc_ctx *ctx;
	const Csirt__V1__Case *c;
	const char *note_id;
	struct sealed_ref *refs;
	size_t nrefs;
};

static int
sealed_refs_cb(const Csirt__V1__Event *ev, const char *commit, void *arg)
{
	struct versions_state *st = arg;
	const char *note_id = NULL, *blob = NULL, *key_id = NULL;
	uint32_t version = 0;

	(void)commit;
	if (ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED) {
		note_id = ev->note_added->note_id;
		version = ev->note_added->version;
		blob = ev->note_added->content_blob;
		key_id = ev->note_added->key_id;
	} else if (ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED) {
		note_id = ev->note_edited->note_id;
		version = ev->note_edited->version;
		blob = ev->note_edited->content_blob;
		key_id = ev->note_edited->key_id;
	}
	if (note_id == NULL || strcmp(note_id, st->note_id) != 0 ||
	    blob[0] == '\0')
		return 0;
	st->refs = util_xrealloc(st->refs, (st->nrefs + 1) * sizeof(*st->refs));
	st->refs[st->nrefs].version = version;
	st->refs[st->nrefs].blob = util_strdup(blob);
	st->refs[st->nrefs].key_id = util_strdup(key_id);
	st->nrefs++;
	return 0;
}

static int
versions_cb(const struct index_note_version *v, void *arg)
{
	struct versions_state *st = arg;
	Csirt__V1__GetNoteVersionsResponse *r = st->resp;
	const struct sealed_ref *ref = NULL;
	char *text = NULL;
	int rc;

	if (v->text == NULL) {
		for (size_t i = 0; i < st->nrefs; i++)
			if (st->refs[i].version == v->version)
				ref = &st->refs[i];
		if (ref == NULL)
			return note_text_missing(v);
		/* 機密性高・中: the content-access table decides. */
		if ((rc = rpc_content_readable(st->ctx, st->c,
		                               v->classification)) != 0 ||
		    (rc = rpc_note_open(&text, st->ctx, ref->blob, ref->key_id,
		                        v->text_sha256)) != 0)
			return rc;
	}
	if (r->n_versions == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 8;
		r->versions =
		    util_xrealloc(r->versions, st->cap * sizeof(*r->versions));
	}
	r->versions[r->n_versions++] =
	    text != NULL ? note_from_version_text(v, text, strlen(text))
	                 : note_from_version(v);
	if (text != NULL) {
		crypto_wipe(text, strlen(text));
		free(text);
	}
	return 0;
}

/* Every version of a note, oldest first, from the index: whoever may see
 * the case may read its 機密性低 notes. */
RPC_HANDLER(rpc_get_note_versions)
{
	const Csirt__V1__GetNoteVersionsRequest *r = (const void *)in;
	struct versions_state st;
	Csirt__V1__Case *c = NULL;
	int rc;

	if ((rc = rpc_case_visible(ctx, r->case_id, &c)) != 0)
		return rc;
	memset(&st, 0, sizeof(st));
	st.ctx = ctx;
	st.c = c;
	st.note_id = r->note_id;
	st.resp = msg_new(&csirt__v1__get_note_versions_response__descriptor);
	if ((rc = index_events_for_case(rpc_env(ctx)->ix, r->case_id,
	                                sealed_refs_cb, &st)) == 0)
		rc = index_note_versions(rpc_env(ctx)->ix, r->case_id,
		                         r->note_id, versions_cb, &st);
	for (size_t i = 0; i < st.nrefs; i++) {
		free(st.refs[i].blob);
		free(st.refs[i].key_id);
	}
	free(st.refs);
	case_free(c);
	if (rc != 0) {
		codec_free(&st.resp->base);
		return rc;
	}
	*out = &st.resp->base;
	return 0;
}

struct history_state {
	Csirt__V1__GetHistoryResponse *resp;
	size_t cap;
};

static int
history_cb(const Csirt__V1__Event *ev, const char *commit, void *arg)
{
	struct history_state *st = arg;
	Csirt__V1__GetHistoryResponse *r = st->resp;
	Csirt__V1__HistoryEntry *e =
	    msg_new(&csirt__v1__history_entry__descriptor);

	e->event = (Csirt__V1__Event *)codec_clone(&ev->base);
	codec_set_string(&e->commit, commit);
	if (r->n_entries == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		r->entries =
		    util_xrealloc(r->entries, st->cap * sizeof(*r->entries));
	}
	r->entries[r->n_entries++] = e;
	return 0;
}

RPC_HANDLER(rpc_get_history)
{
	const Csirt__V1__GetHistoryRequest *r = (const void *)in;
	struct history_state st = {NULL, 0};
	Csirt__V1__Case *c = NULL;
	int rc;

	if ((rc = rpc_case_visible(ctx, r->case_id, &c)) != 0)
		return rc;
	case_free(c);
	st.resp = msg_new(&csirt__v1__get_history_response__descriptor);
	if ((rc = index_events_for_case(rpc_env(ctx)->ix, r->case_id,
	                                history_cb, &st)) != 0) {
		codec_free(&st.resp->base);
		return rc;
	}
	*out = &st.resp->base;
	return 0;
}
