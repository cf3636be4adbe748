/*
 * check_index.c - the SQLite stores (index.h, keystore.h) on real files in
 * a temporary directory.
 *
 * Events and cases are built by hand as "fully owned" protobuf_c messages
 * (every string and sub-message malloc'd) and freed with
 * csirt__v1__*__free_unpacked(m, NULL); round trips compare packed bytes.
 * A scripted ledger (script_apply) feeds every index the same history.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "csirt/v1/domain.pb-c.h"
#include "error.h"
#include "index.h"
#include "keystore.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

#define TITLE_JA "USBメモリの紛失（捜査第一課）〜至急〜"
#define YEAR 2026

/* ---- message builders ------------------------------------------------ */

static char *
S(const char *s)
{
	return util_strdup(s);
}

static void
commit_for(char out[INDEX_COMMIT_ID_LEN + 1], uint64_t seq)
{
	snprintf(out, INDEX_COMMIT_ID_LEN + 1, "c0ffee%034" PRIx64, seq);
}

static Csirt__V1__Event *
ev_new(uint64_t seq, const char *case_id, const char *type, const char *actor,
       Csirt__V1__Role role)
{
	Csirt__V1__Event *ev = util_xmalloc(sizeof(*ev));
	char t[UTIL_TIME_LEN];

	csirt__v1__event__init(ev);
	ev->seq = seq;
	ev->case_id = S(case_id);
	ev->type = S(type);
	ev->actor = S(actor);
	ev->role = role;
	/* 2026-11-27T00:00:00Z plus one second per event */
	util_time_format_ms(t, sizeof(t),
	                    INT64_C(1795737600000) + (int64_t)seq * 1000);
	ev->time = S(t);
	return ev;
}

static Csirt__V1__Case *
case_new(uint32_t counter, const char *title, const char *division,
         Csirt__V1__CaseState state, uint64_t last_seq)
{
	Csirt__V1__Case *c = util_xmalloc(sizeof(*c));
	char id[32];

	csirt__v1__case__init(c);
	snprintf(id, sizeof(id), "%d-%06" PRIu32, YEAR, counter);
	c->id = S(id);
	c->category = CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT;
	c->state = state;
	c->title = S(title);
	c->description = S("庁舎外で紛失。暗号化済み。\n二行目\t\"quoted\"");
	c->recognized_at = S("2026-11-27T09:00:00.000+09:00");
	c->reported_at = S("2026-11-27T00:30:00.000Z");
	c->updated_at = S("2026-11-27T00:30:00.000Z");
	c->division = S(division);
	c->reporter = S("sato");
	c->classification = util_xmalloc(sizeof(*c->classification));
	csirt__v1__classification__init(c->classification);
	c->classification->confidentiality =
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM;
	c->classification->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_HIGH;
	c->classification->availability =
	    CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	c->classification->n_handling_restrictions = 1;
	c->classification->handling_restrictions = util_xmalloc(sizeof(char *));
	c->classification->handling_restrictions[0] = S("複製禁止");
	c->emergency = util_xmalloc(sizeof(*c->emergency));
	csirt__v1__emergency__init(c->emergency);
	c->last_seq = last_seq;
	c->report_delay_seconds = 1800;
	return c;
}

static void
case_set_assignees(Csirt__V1__Case *c, const char *a, const char *b)
{
	c->n_assignees = 2;
	c->assignees = util_xmalloc(2 * sizeof(char *));
	c->assignees[0] = S(a);
	c->assignees[1] = S(b);
}

static Csirt__V1__User *
user_new(const char *login, const char *name, Csirt__V1__Role role,
         const char *division)
{
	Csirt__V1__User *u = util_xmalloc(sizeof(*u));

	csirt__v1__user__init(u);
	u->login = S(login);
	u->display_name = S(name);
	u->role = role;
	u->division = S(division);
	u->created_at = S("2026-11-27T00:00:02.000Z");
	return u;
}

static Csirt__V1__Event *
ev_user_created(uint64_t seq, Csirt__V1__User *u)
{
	Csirt__V1__Event *ev = ev_new(seq, "", "user.created", "admin",
	                              CSIRT__V1__ROLE__ROLE_ADMIN);

	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_USER_CREATED;
	ev->user_created = util_xmalloc(sizeof(*ev->user_created));
	csirt__v1__user_created__init(ev->user_created);
	ev->user_created->user = u;
	return ev;
}

static Csirt__V1__Event *
ev_user_updated(uint64_t seq, Csirt__V1__User *u)
{
	Csirt__V1__Event *ev = ev_new(seq, "", "user.updated", "admin",
	                              CSIRT__V1__ROLE__ROLE_ADMIN);

	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_USER_UPDATED;
	ev->user_updated = util_xmalloc(sizeof(*ev->user_updated));
	csirt__v1__user_updated__init(ev->user_updated);
	ev->user_updated->user = u;
	return ev;
}

static Csirt__V1__Event *
ev_division_created(uint64_t seq, const char *code, const char *name)
{
	Csirt__V1__Event *ev = ev_new(seq, "", "division.created", "admin",
	                              CSIRT__V1__ROLE__ROLE_ADMIN);
	Csirt__V1__Division *d = util_xmalloc(sizeof(*d));

	csirt__v1__division__init(d);
	d->code = S(code);
	d->name = S(name);
	d->created_at = S("2026-11-27T00:00:01.000Z");
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_DIVISION_CREATED;
	ev->division_created = util_xmalloc(sizeof(*ev->division_created));
	csirt__v1__division_created__init(ev->division_created);
	ev->division_created->division = d;
	return ev;
}

static Csirt__V1__Event *
ev_reported(uint64_t seq, uint32_t counter, const char *title,
            const char *division)
{
	Csirt__V1__Case *c =
	    case_new(counter, title, division,
	             CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED, seq);
	Csirt__V1__Event *ev = ev_new(seq, c->id, "case.reported", "sato",
	                              CSIRT__V1__ROLE__ROLE_REPORTER);

	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED;
	ev->incident_reported = util_xmalloc(sizeof(*ev->incident_reported));
	csirt__v1__incident_reported__init(ev->incident_reported);
	ev->incident_reported->case_ = c;
	return ev;
}

static Csirt__V1__Event *
ev_note_added(uint64_t seq, const char *case_id, const char *note_id)
{
	Csirt__V1__Event *ev = ev_new(seq, case_id, "note.added", "tanaka",
	                              CSIRT__V1__ROLE__ROLE_INVESTIGATOR);
	Csirt__V1__NoteAdded *n = util_xmalloc(sizeof(*n));
	char path[128];

	csirt__v1__note_added__init(n);
	snprintf(path, sizeof(path), "cases/2026/00/00/%s/notes/%s.md.enc",
	         case_id, note_id);
	n->note_id = S(note_id);
	n->path = S(path);
	n->text_sha256 = S("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15"
	                   "d6c15b0f00a08");
	n->version = 1;
	/* 機密性高: the text is encrypted in the ledger, never indexed. */
	n->classification = util_xmalloc(sizeof(*n->classification));
	csirt__v1__classification__init(n->classification);
	n->classification->confidentiality =
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH;
	n->classification->integrity = CSIRT__V1__INTEGRITY__INTEGRITY_HIGH;
	n->classification->availability =
	    CSIRT__V1__AVAILABILITY__AVAILABILITY_LOW;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED;
	ev->note_added = n;
	return ev;
}

static Csirt__V1__Event *
ev_note_edited(uint64_t seq, const char *case_id, const char *note_id,
               uint32_t version)
{
	Csirt__V1__Event *ev = ev_new(seq, case_id, "note.edited", "tanaka",
	                              CSIRT__V1__ROLE__ROLE_INVESTIGATOR);
	Csirt__V1__NoteEdited *n = util_xmalloc(sizeof(*n));

	csirt__v1__note_edited__init(n);
	n->note_id = S(note_id);
	n->version = version;
	n->path = S("cases/2026/00/00/2026-000001/notes/n1.md.enc");
	n->text_sha256 = S("60303ae22b998861bce3b28f33eec1be758a213c86c93c076db"
	                   "e9f558c11c752");
	n->reason = S("誤字訂正");
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED;
	ev->note_edited = n;
	return ev;
}

/* A plain case event whose payload lives entirely in case_after. */
static Csirt__V1__Event *
ev_case_simple(uint64_t seq, const char *case_id, const char *type)
{
	Csirt__V1__Event *ev = ev_new(seq, case_id, type, "yamada",
	                              CSIRT__V1__ROLE__ROLE_SECURITY_MANAGER);

	if (strcmp(type, "case.acknowledged") == 0) {
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_CASE_ACKNOWLEDGED;
		ev->case_acknowledged =
		    util_xmalloc(sizeof(*ev->case_acknowledged));
		csirt__v1__case_acknowledged__init(ev->case_acknowledged);
		ev->case_acknowledged->comment = S("受領しました。");
	} else {
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED;
		ev->case_escalated = util_xmalloc(sizeof(*ev->case_escalated));
		csirt__v1__case_escalated__init(ev->case_escalated);
		ev->case_escalated->reason = S("CSIRTへ");
	}
	return ev;
}

/* ---- the scripted ledger --------------------------------------------- */

#define SCRIPT_LEN 10
#define CASE1 "2026-000001"
#define CASE2 "2026-000002"

struct script {
	Csirt__V1__Event *ev[SCRIPT_LEN];
	Csirt__V1__Case *after[SCRIPT_LEN]; /* NULL for directory events */
};

static void
script_build(struct script *s)
{
	Csirt__V1__Event *ev;
	Csirt__V1__Case *c;
	int i = 0;

	ev = ev_new(1, "", "ledger.initialized", "csirtd",
	            CSIRT__V1__ROLE__ROLE_SYSTEM);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_LEDGER_INITIALIZED;
	ev->ledger_initialized = util_xmalloc(sizeof(*ev->ledger_initialized));
	csirt__v1__ledger_initialized__init(ev->ledger_initialized);
	ev->ledger_initialized->signing_key = S("ssh-ed25519 AAAAC3Nza test");
	ev->ledger_initialized->version = S("0.1.0");
	s->ev[i] = ev, s->after[i++] = NULL;

	s->ev[i] = ev_division_created(2, "D001", "刑事部捜査第一課");
	s->after[i++] = NULL;
	s->ev[i] = ev_user_created(3, user_new("sato", "佐藤 太郎",
	                                       CSIRT__V1__ROLE__ROLE_REPORTER,
	                                       "D001"));
	s->after[i++] = NULL;
	s->ev[i] =
	    ev_user_created(4, user_new("auditor", "監査 花子",
	                                CSIRT__V1__ROLE__ROLE_AUDITOR, ""));
	s->after[i++] = NULL;

	s->ev[i] = ev_reported(5, 1, TITLE_JA, "D001");
	s->after[i++] = case_new(1, TITLE_JA, "D001",
	                         CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED, 5);

	s->ev[i] = ev_case_simple(6, CASE1, "case.acknowledged");
	s->after[i++] = c =
	    case_new(1, TITLE_JA, "D001",
	             CSIRT__V1__CASE_STATE__CASE_STATE_ACKNOWLEDGED, 6);

	s->ev[i] = ev_reported(7, 2, "第二の事案", "D001");
	s->after[i++] = case_new(2, "第二の事案", "D001",
	                         CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED, 7);

	s->ev[i] = ev_note_added(8, CASE1, "n1");
	s->after[i++] = c =
	    case_new(1, TITLE_JA, "D001",
	             CSIRT__V1__CASE_STATE__CASE_STATE_ACKNOWLEDGED, 8);
	c->note_count = 1;

	s->ev[i] = ev_case_simple(9, CASE1, "case.escalated");
	s->after[i++] = c =
	    case_new(1, TITLE_JA, "D001",
	             CSIRT__V1__CASE_STATE__CASE_STATE_ESCALATED, 9);
	c->note_count = 1;
	case_set_assignees(c, "tanaka", "suzuki");

	s->ev[i] = ev_note_edited(10, CASE1, "n1", 2);
	s->after[i++] = c =
	    case_new(1, TITLE_JA, "D001",
	             CSIRT__V1__CASE_STATE__CASE_STATE_ESCALATED, 10);
	c->note_count = 1;
	case_set_assignees(c, "tanaka", "suzuki");
	ck_assert_int_eq(i, SCRIPT_LEN);
}

static void
script_free(struct script *s)
{
	for (int i = 0; i < SCRIPT_LEN; i++) {
		csirt__v1__event__free_unpacked(s->ev[i], NULL);
		if (s->after[i] != NULL)
			csirt__v1__case__free_unpacked(s->after[i], NULL);
	}
}

static int
apply_one(struct index *ix, const Csirt__V1__Event *ev,
          const Csirt__V1__Case *after)
{
	char commit[INDEX_COMMIT_ID_LEN + 1];

	commit_for(commit, ev->seq);
	return index_apply(ix, ev, commit, after, NULL);
}

/* Applies the whole script in one transaction and records the position. */
static void
script_apply(struct index *ix, const struct script *s)
{
	char commit[INDEX_COMMIT_ID_LEN + 1];

	ck_assert_int_eq(index_begin(ix), 0);
	for (int i = 0; i < SCRIPT_LEN; i++)
		ck_assert_msg(apply_one(ix, s->ev[i], s->after[i]) == 0,
		              "event %d: %s", i, csirt_error_msg());
	commit_for(commit, SCRIPT_LEN);
	ck_assert_int_eq(index_set_position(ix, SCRIPT_LEN, commit), 0);
	ck_assert_int_eq(index_commit(ix), 0);
}

/* A fresh directory with a fresh index in it. */
struct fx {
	char *dir;
	char *path;
	struct index *ix;
};

static void
fx_open(struct fx *f)
{
	f->dir = tu_tmpdir();
	f->path = util_path_join(f->dir, "index.sqlite");
	ck_assert_msg(index_open(&f->ix, f->path) == 0, "%s",
	              csirt_error_msg());
}

static void
fx_close(struct fx *f)
{
	index_close(f->ix);
	tu_rmrf(f->dir);
	free(f->path);
	free(f->dir);
}

static void
dump(struct buf *out, struct index *ix)
{
	buf_reset(out);
	ck_assert_msg(index_dump(out, ix) == 0, "%s", csirt_error_msg());
}

static void
assert_same_packed(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t na = protobuf_c_message_get_packed_size(a);
	size_t nb = protobuf_c_message_get_packed_size(b);
	uint8_t *pa = util_xmalloc(na + 1), *pb = util_xmalloc(nb + 1);

	ck_assert_uint_eq(protobuf_c_message_pack(a, pa), na);
	ck_assert_uint_eq(protobuf_c_message_pack(b, pb), nb);
	ck_assert_uint_eq(na, nb);
	ck_assert(memcmp(pa, pb, na) == 0);
	free(pa);
	free(pb);
}

/* ---- tests: index ---------------------------------------------------- */

START_TEST(test_index_migrations_fresh_and_reopen)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	char commit[INDEX_COMMIT_ID_LEN + 1];
	struct stat st;
	uint64_t seq = 99;
	struct fx f;

	fx_open(&f);
	dump(&a, f.ix);
	ck_assert_ptr_nonnull(strstr(a.data, "\nuser_version 6\n"));
	ck_assert_ptr_nonnull(strstr(a.data, "\ntable cases (\"id\", "));
	ck_assert_ptr_nonnull(strstr(a.data, "STRICT"));
	ck_assert_ptr_nonnull(strstr(a.data, "\ntable notes ("));
	ck_assert_int_eq(index_get_position(f.ix, &seq, commit), 0);
	ck_assert_uint_eq(seq, 0);
	ck_assert_str_eq(commit, "");
	ck_assert_int_eq(stat(f.path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(index_sync_check(f.ix), 0);

	/* Reopening migrates nothing: same version, same schema. */
	index_close(f.ix);
	ck_assert_int_eq(index_open(&f.ix, f.path), 0);
	dump(&b, f.ix);
	ck_assert_str_eq(a.data, b.data);

	/* A symlink in the index's place is refused, not followed. */
	{
		char *link = util_path_join(f.dir, "link.sqlite");
		struct index *ix = NULL;

		ck_assert_int_eq(symlink(f.path, link), 0);
		ck_assert_int_ne(index_open(&ix, link), 0);
		ck_assert_ptr_nonnull(
		    strstr(csirt_error_msg(), "is not a regular file"));
		ck_assert_ptr_null(ix);
		free(link);
	}
	buf_free(&a);
	buf_free(&b);
	fx_close(&f);
}
END_TEST

START_TEST(test_index_foreign_keys_enforced)
{
	Csirt__V1__Event *ev = ev_reported(1, 1, "所属不明", "NOPE");
	Csirt__V1__Case *after =
	    case_new(1, "所属不明", "NOPE",
	             CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED, 1);
	Csirt__V1__Event *uev = ev_user_created(
	    2,
	    user_new("ghost", "幽霊", CSIRT__V1__ROLE__ROLE_REPORTER, "NOPE"));
	struct buf before = BUF_INIT, now = BUF_INIT;
	Csirt__V1__Case *c = NULL;
	struct fx f;

	fx_open(&f);
	dump(&before, f.ix);
	ck_assert_int_eq(apply_one(f.ix, ev, after), CSIRT_ETAMPER);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "FOREIGN KEY"));
	ck_assert_int_eq(apply_one(f.ix, uev, NULL), CSIRT_ETAMPER);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "FOREIGN KEY"));

	/* Nothing of either event remains. */
	ck_assert_int_eq(index_case_get(&c, f.ix, CASE1), CSIRT_ENOTFOUND);
	ck_assert_ptr_null(c);
	dump(&now, f.ix);
	ck_assert_str_eq(before.data, now.data);
	ck_assert_int_eq(index_sync_check(f.ix), 0);

	csirt__v1__event__free_unpacked(ev, NULL);
	csirt__v1__event__free_unpacked(uev, NULL);
	csirt__v1__case__free_unpacked(after, NULL);
	buf_free(&before);
	buf_free(&now);
	fx_close(&f);
}
END_TEST

struct walk {
	const struct script *s;
	uint64_t seqs[SCRIPT_LEN];
	size_t n;
};

static int
walk_cb(const Csirt__V1__Event *ev, const char *commit_id, void *arg)
{
	struct walk *w = arg;
	char want[INDEX_COMMIT_ID_LEN + 1];

	commit_for(want, ev->seq);
	ck_assert_str_eq(commit_id, want);
	ck_assert_uint_lt(w->n, SCRIPT_LEN);
	w->seqs[w->n++] = ev->seq;
	assert_same_packed(&ev->base, &w->s->ev[ev->seq - 1]->base);
	return 0;
}

static int
stop_cb(const Csirt__V1__Event *ev, const char *commit_id, void *arg)
{
	(void)ev;
	(void)commit_id;
	(*(int *)arg)++;
	return 42;
}

START_TEST(test_index_apply_script_roundtrip)
{
	static const uint64_t case1_seqs[] = {5, 6, 8, 9, 10};
	struct script s;
	struct walk w = {0};
	Csirt__V1__Case *c = NULL;
	Csirt__V1__User *u = NULL;
	uint32_t counter = 99;
	bool exists = false;
	int calls = 0;
	struct fx f;

	script_build(&s);
	fx_open(&f);
	script_apply(f.ix, &s);

	/* The case reads back as the last fold, byte for byte. */
	ck_assert_msg(index_case_get(&c, f.ix, CASE1) == 0, "%s",
	              csirt_error_msg());
	assert_same_packed(&c->base, &s.after[SCRIPT_LEN - 1]->base);
	ck_assert_str_eq(c->title, TITLE_JA);
	ck_assert(memcmp(c->title, TITLE_JA, sizeof(TITLE_JA)) == 0);
	ck_assert_str_eq(c->classification->handling_restrictions[0],
	                 "複製禁止");
	ck_assert_uint_eq(c->n_assignees, 2);
	csirt__v1__case__free_unpacked(c, NULL);
	c = NULL;
	ck_assert_int_eq(index_case_get(&c, f.ix, "2026-000003"),
	                 CSIRT_ENOTFOUND);
	ck_assert_ptr_null(c);

	/* Events of a case, in seq order, with their commits. */
	w.s = &s;
	ck_assert_int_eq(index_events_for_case(f.ix, CASE1, walk_cb, &w), 0);
	ck_assert_uint_eq(w.n, UTIL_ARRAY_LEN(case1_seqs));
	for (size_t i = 0; i < w.n; i++)
		ck_assert_uint_eq(w.seqs[i], case1_seqs[i]);
	w.n = 0;
	ck_assert_int_eq(
	    index_events_for_case(f.ix, "2026-000009", walk_cb, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_int_eq(index_events_for_case(f.ix, CASE1, stop_cb, &calls),
	                 42);
	ck_assert_int_eq(calls, 1);
	/* The statement was reset: a second walk starts over. */
	ck_assert_int_eq(index_events_for_case(f.ix, CASE2, walk_cb, &w), 0);
	ck_assert_uint_eq(w.n, 1);

	/* Directory. */
	ck_assert_int_eq(index_user_get(&u, f.ix, "sato"), 0);
	assert_same_packed(&u->base, &s.ev[2]->user_created->user->base);
	ck_assert_str_eq(u->display_name, "佐藤 太郎");
	csirt__v1__user__free_unpacked(u, NULL);
	u = NULL;
	ck_assert_int_eq(index_user_get(&u, f.ix, "nobody"), CSIRT_ENOTFOUND);
	ck_assert_int_eq(index_division_exists(f.ix, "D001", &exists), 0);
	ck_assert(exists);
	ck_assert_int_eq(index_division_exists(f.ix, "D999", &exists), 0);
	ck_assert(!exists);

	ck_assert_int_eq(index_case_max_counter(f.ix, YEAR, &counter), 0);
	ck_assert_uint_eq(counter, 2);
	ck_assert_int_eq(index_case_max_counter(f.ix, YEAR + 1, &counter), 0);
	ck_assert_uint_eq(counter, 0);
	ck_assert_msg(index_sync_check(f.ix) == 0, "%s", csirt_error_msg());

	fx_close(&f);
	script_free(&s);
}
END_TEST

START_TEST(test_index_japanese_survives_reopen)
{
	struct script s;
	Csirt__V1__Case *c = NULL;
	struct buf d = BUF_INIT;
	struct fx f;

	script_build(&s);
	fx_open(&f);
	script_apply(f.ix, &s);
	index_close(f.ix);
	ck_assert_int_eq(index_open(&f.ix, f.path), 0);
	ck_assert_int_eq(index_case_get(&c, f.ix, CASE1), 0);
	ck_assert_uint_eq(strlen(c->title), strlen(TITLE_JA));
	ck_assert(memcmp(c->title, TITLE_JA, strlen(TITLE_JA)) == 0);
	ck_assert(util_utf8_valid(c->description, strlen(c->description)));
	/* The dump shows text as UTF-8, escapes control bytes, one row per
	 * line. */
	dump(&d, f.ix);
	ck_assert_ptr_nonnull(strstr(d.data, "\"" TITLE_JA "\""));
	ck_assert_ptr_nonnull(strstr(d.data, "\"刑事部捜査第一課\""));
	csirt__v1__case__free_unpacked(c, NULL);
	buf_free(&d);
	fx_close(&f);
	script_free(&s);
}
END_TEST

static off_t
file_size(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

/* Commits user `seq` ("user%05d") in a transaction of its own, as the
 * writer would (index_checkpointer_check() first). */
static void
commit_user(struct index *ix, uint64_t seq, const char *name)
{
	char login[32], commit[INDEX_COMMIT_ID_LEN + 1];
	Csirt__V1__Event *ev;

	snprintf(login, sizeof(login), "user%05" PRIu64, seq);
	ev = ev_user_created(
	    seq, user_new(login, name, CSIRT__V1__ROLE__ROLE_INVESTIGATOR, ""));
	commit_for(commit, seq);
	ck_assert_int_eq(index_checkpointer_check(ix), 0);
	ck_assert_int_eq(index_begin(ix), 0);
	ck_assert_msg(index_apply(ix, ev, commit, NULL, NULL) == 0, "%s",
	              csirt_error_msg());
	ck_assert_int_eq(index_set_position(ix, seq, commit), 0);
	ck_assert_int_eq(index_commit(ix), 0);
	csirt__v1__event__free_unpacked(ev, NULL);
}

/*
 * With the checkpoint thread (the writer's), index_commit() leaves the WAL
 * checkpoint to it: commits of 1,500 users, one transaction each, pass the
 * 1,000-frame mark; only a checkpoint writes the database file in WAL mode,
 * and it grows without this connection checkpointing, with every row
 * there; the thread reports no failure and stops at close.
 */
START_TEST(test_index_checkpoint_thread)
{
	struct script s;
	struct fx f;
	off_t before;
	int waited = 0;

	script_build(&s);
	fx_open(&f);
	script_apply(f.ix, &s);
	ck_assert_int_eq(index_checkpointer_start(f.ix), 0);
	before = file_size(f.path);
	for (uint64_t seq = SCRIPT_LEN + 1; seq <= SCRIPT_LEN + 1500; seq++)
		commit_user(f.ix, seq, "負荷 太郎（チェックポイント試験）");
	while (file_size(f.path) <= before && waited++ < 200) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	ck_assert_msg(file_size(f.path) > before,
	              "the database file stayed at %lld bytes",
	              (long long)before);
	ck_assert_int_eq(index_checkpointer_check(f.ix), 0);
	{
		Csirt__V1__User *u = NULL;
		ck_assert_int_eq(index_user_get(&u, f.ix, "user01510"), 0);
		csirt__v1__user__free_unpacked(u, NULL);
	}
	fx_close(&f); /* stops the thread */
	script_free(&s);
}
END_TEST

/*
 * The WAL stays bounded under a steady stream of commits with the
 * checkpoint thread: the thread alone never finishes while the writer
 * appends, so without the writer's catch-up (index_checkpointer_check()
 * between transactions) the WAL only grew.  6,000 commits write about
 * 40,000 frames (150 MB without the catch-up); the WAL must stay under 2.5
 * times the restart mark (8,000 frames), as the writer waits for the thread at
 * twice the mark.
 */
START_TEST(test_index_wal_bounded)
{
	struct script s;
	struct fx f;
	char *wal;
	off_t max = 0;

	script_build(&s);
	fx_open(&f);
	script_apply(f.ix, &s);
	ck_assert_int_eq(index_checkpointer_start(f.ix), 0);
	wal = util_xmalloc(strlen(f.path) + 5);
	sprintf(wal, "%s-wal", f.path);
	for (uint64_t seq = SCRIPT_LEN + 1; seq <= SCRIPT_LEN + 6000; seq++) {
		off_t now;

		commit_user(f.ix, seq, "負荷 花子（WAL 試験）");
		if ((now = file_size(wal)) > max)
			max = now;
	}
	ck_assert_msg(max < (off_t)(8000 * 5 / 2) * (4096 + 24),
	              "the WAL grew to %lld bytes", (long long)max);
	ck_assert_msg(max > (off_t)8000 * 4096,
	              "the WAL stayed at %lld bytes: nothing was measured",
	              (long long)max);
	{
		Csirt__V1__User *u = NULL;
		ck_assert_int_eq(index_user_get(&u, f.ix, "user06010"), 0);
		csirt__v1__user__free_unpacked(u, NULL);
	}
	free(wal);
	fx_close(&f);
	script_free(&s);
}
END_TEST

/* Applies users `from`..`to` ("user%05d") in the open transaction. */
static void
apply_users(struct index *ix, uint64_t from, uint64_t to)
{
	for (uint64_t seq = from; seq <= to; seq++) {
		char login[32], commit[INDEX_COMMIT_ID_LEN + 1];
		Csirt__V1__Event *ev;

		snprintf(login, sizeof(login), "user%05" PRIu64, seq);
		ev = ev_user_created(
		    seq, user_new(login, "書き出し 次郎（未確定の頁）",
		                  CSIRT__V1__ROLE__ROLE_INVESTIGATOR, ""));
		commit_for(commit, seq);
		ck_assert_msg(index_apply(ix, ev, commit, NULL, NULL) == 0,
		              "%s", csirt_error_msg());
		csirt__v1__event__free_unpacked(ev, NULL);
	}
}

/* Whether read-only `ro` sees user `seq`. */
static bool
user_seen(struct index *ro, uint64_t seq)
{
	char login[32];
	Csirt__V1__User *u = NULL;
	int rc;

	snprintf(login, sizeof(login), "user%05" PRIu64, seq);
	rc = index_user_get(&u, ro, login);
	ck_assert_msg(rc == 0 || rc == CSIRT_ENOTFOUND, "%s",
	              csirt_error_msg());
	if (u != NULL)
		csirt__v1__user__free_unpacked(u, NULL);
	return rc == 0;
}

/*
 * index_flush_start() writes the open transaction's pages into the WAL on
 * its thread: the WAL grows by them before the commit, yet a reader does
 * not see them; a rollback drops them (the same seqs apply again), and the
 * commit after a flush publishes everything, still there after a reopen.
 */
START_TEST(test_index_flush_uncommitted)
{
	const uint64_t from = SCRIPT_LEN + 1, to = SCRIPT_LEN + 400;
	struct script s;
	struct index *ro = NULL;
	struct fx f;
	char *wal;
	off_t before;

	script_build(&s);
	fx_open(&f);
	script_apply(f.ix, &s);
	ck_assert_int_eq(index_open_readonly(&ro, f.path), 0);
	wal = util_xmalloc(strlen(f.path) + 5);
	sprintf(wal, "%s-wal", f.path);

	/* Flushed, then rolled back. */
	before = file_size(wal);
	ck_assert_int_eq(index_begin(f.ix), 0);
	apply_users(f.ix, from, to);
	index_flush_start(f.ix);
	ck_assert_msg(index_flush_wait(f.ix) == 0, "%s", csirt_error_msg());
	ck_assert_msg(file_size(wal) >= before + 20 * 4096,
	              "the WAL grew from %lld to %lld bytes: no pages flushed",
	              (long long)before, (long long)file_size(wal));
	ck_assert(!user_seen(ro, from));
	ck_assert(!user_seen(ro, to));
	ck_assert_int_eq(index_rollback(f.ix), 0);
	ck_assert(!user_seen(ro, to));

	/* Flushed, then committed: one frame more at most for the commit. */
	ck_assert_int_eq(index_begin(f.ix), 0);
	apply_users(f.ix, from, to);
	ck_assert_int_eq(index_set_position(f.ix, to,
	                                    "f1f1f1f1f1f1f1f1f1f1"
	                                    "f1f1f1f1f1f1f1f1f1f1"),
	                 0);
	index_flush_start(f.ix);
	ck_assert_msg(index_flush_wait(f.ix) == 0, "%s", csirt_error_msg());
	before = file_size(wal);
	ck_assert(!user_seen(ro, to));
	ck_assert_int_eq(index_commit(f.ix), 0);
	ck_assert_msg(file_size(wal) <= before + 2 * (4096 + 24),
	              "the commit wrote %lld bytes more after the flush",
	              (long long)(file_size(wal) - before));
	ck_assert(user_seen(ro, from));
	ck_assert(user_seen(ro, to));
	index_close(ro);
	index_close(f.ix);
	ck_assert_int_eq(index_open(&f.ix, f.path), 0);
	ck_assert_int_eq(index_open_readonly(&ro, f.path), 0);
	ck_assert(user_seen(ro, to));
	index_close(ro);
	free(wal);
	fx_close(&f);
	script_free(&s);
}
END_TEST

/* Runs `sql` on index `path` in the sqlite3 shell: another process, as an
 * operator's would be, waiting up to 5 s for the index's locks. */
static void
shell_sql(const char *path, const char *sql)
{
	struct buf out = BUF_INIT;

	ck_assert_msg(tu_sh(&out, "sqlite3 -cmd '.timeout 5000' '%s' '%s' 2>&1",
	                    path, sql) == 0,
	              "%s", out.data);
	buf_free(&out);
}

/*
 * Inside a write transaction and a checkpoint the WAL is written and read
 * through its mapping (index_vfs.c), over the bytes written before: with
 * the checkpoint thread, commits restart the WAL and write it again from
 * its start, and a reader sees every row during the run and after a
 * reopen.  Then another process truncates the WAL to nothing between two
 * transactions (`PRAGMA wal_checkpoint(TRUNCATE)` in the sqlite3 shell):
 * the next transactions write where the file now ends through pwrite(), not
 * into the mapping past its end (which raises SIGBUS), and their rows are
 * there too.  (The shell could only truncate it: this process still holds
 * its lock on the database, which closing any descriptor of the file would
 * have dropped, and then the shell deleted the WAL as its last user.)
 */
START_TEST(test_index_wal_mapped)
{
	const uint64_t first = SCRIPT_LEN + 1, last = SCRIPT_LEN + 3000;
	struct index_wal_io before, after;
	struct script s;
	struct index *ro = NULL;
	struct fx f;
	char *wal;

	script_build(&s);
	fx_open(&f);
	/* As the daemon opens it: unsynced, the checkpoint thread keeping
	 * descriptors of the files it fsyncs. */
	index_close(f.ix);
	ck_assert_int_eq(index_open_unsynced(&f.ix, f.path), 0);
	script_apply(f.ix, &s);
	ck_assert_int_eq(index_checkpointer_start(f.ix), 0);
	ck_assert_int_eq(index_open_readonly(&ro, f.path), 0);
	wal = util_xmalloc(strlen(f.path) + 5);
	sprintf(wal, "%s-wal", f.path);

	index_wal_io(&before);
	for (uint64_t seq = first; seq <= last; seq++)
		commit_user(f.ix, seq, "写像 一郎（WAL の写像）");
	index_wal_io(&after);
	ck_assert_msg(after.written_mapped - before.written_mapped >
	                  (uint64_t)1000 * 4096,
	              "%" PRIu64 " bytes written through the mapping",
	              after.written_mapped - before.written_mapped);
	ck_assert_msg(after.read_mapped > before.read_mapped,
	              "no checkpoint read through the mapping");
	ck_assert(user_seen(ro, first));
	ck_assert(user_seen(ro, last));

	/* Emptied by someone else (with no checkpoint of ours running: a
	 * checkpoint that finds another one running gives up at once). */
	index_checkpointer_stop(f.ix);
	shell_sql(f.path, "PRAGMA wal_checkpoint(TRUNCATE);");
	ck_assert_int_eq(file_size(wal), 0);
	commit_user(f.ix, last + 1, "写像 二郎（切り詰めの後）");
	ck_assert_int_eq(index_begin(f.ix), 0);
	apply_users(f.ix, last + 2, last + 400);
	ck_assert_int_eq(index_commit(f.ix), 0);
	ck_assert(user_seen(ro, last + 1));
	ck_assert(user_seen(ro, last + 400));

	index_close(ro);
	index_close(f.ix);
	ck_assert_int_eq(index_open(&f.ix, f.path), 0);
	ck_assert_int_eq(index_open_readonly(&ro, f.path), 0);
	ck_assert(user_seen(ro, first));
	ck_assert(user_seen(ro, last));
	ck_assert(user_seen(ro, last + 400));
	index_close(ro);
	free(wal);
	fx_close(&f);
	script_free(&s);
}
END_TEST

START_TEST(test_index_duplicate_seq_conflict)
{
	struct script s;
	struct buf before = BUF_INIT, now = BUF_INIT;
	Csirt__V1__Event *ok = ev_case_simple(11, CASE2, "case.acknowledged");
	Csirt__V1__Case *ok_after =
	    case_new(2, "第二の事案", "D001",
	             CSIRT__V1__CASE_STATE__CASE_STATE_ACKNOWLEDGED, 11);
	Csirt__V1__Event *dup = ev_case_simple(6, CASE2, "case.escalated");
	Csirt__V1__Case *dup_after =
	    case_new(2, "改ざん", "D001",
	             CSIRT__V1__CASE_STATE__CASE_STATE_ESCALATED, 6);
	Csirt__V1__Case *c = NULL;
	struct walk w = {0};
	struct fx f;

	script_build(&s);
	fx_open(&f);
	script_apply(f.ix, &s);
	dump(&before, f.ix);

	ck_assert_int_eq(index_begin(f.ix), 0);
	ck_assert_int_eq(apply_one(f.ix, ok, ok_after), 0);
	/* Same seq as an applied event: a conflict, whatever the case. */
	dup_after->last_seq = 6;
	ck_assert_int_eq(apply_one(f.ix, dup, dup_after), CSIRT_ECONFLICT);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "already recorded"));
	ck_assert_int_eq(apply_one(f.ix, s.ev[0], NULL), CSIRT_ECONFLICT);
	/* The refused event left nothing behind inside the transaction: the
	 * case is still the fold of seq 11. */
	ck_assert_int_eq(index_case_get(&c, f.ix, CASE2), 0);
	assert_same_packed(&c->base, &ok_after->base);
	csirt__v1__case__free_unpacked(c, NULL);
	c = NULL;
	/* A stale fold (older than the case row) contradicts the index. */
	dup->seq = 20;
	dup_after->last_seq = 20;
	ck_assert_int_eq(apply_one(f.ix, dup, dup_after), 0);
	ok->seq = 15;
	ok_after->last_seq = 15;
	ck_assert_int_eq(apply_one(f.ix, ok, ok_after), CSIRT_ETAMPER);
	ck_assert_int_eq(index_rollback(f.ix), 0);

	/* After the rollback, the batch is gone entirely. */
	dump(&now, f.ix);
	ck_assert_str_eq(before.data, now.data);
	w.s = &s;
	ck_assert_int_eq(index_events_for_case(f.ix, CASE2, walk_cb, &w), 0);
	ck_assert_uint_eq(w.n, 1);
	ck_assert_int_eq(index_sync_check(f.ix), 0);

	/* Outside a transaction a duplicate is refused the same way. */
	ck_assert_int_eq(apply_one(f.ix, s.ev[4], s.after[4]), CSIRT_ECONFLICT);
	dump(&now, f.ix);
	ck_assert_str_eq(before.data, now.data);

	csirt__v1__event__free_unpacked(ok, NULL);
	csirt__v1__event__free_unpacked(dup, NULL);
	csirt__v1__case__free_unpacked(ok_after, NULL);
	csirt__v1__case__free_unpacked(dup_after, NULL);
	buf_free(&before);
	buf_free(&now);
	fx_close(&f);
	script_free(&s);
}
END_TEST

START_TEST(test_index_rejects_inconsistent_events)
{
	struct script s;
	struct buf before = BUF_INIT, now = BUF_INIT;
	Csirt__V1__Event *ev = ev_case_simple(11, CASE1, "case.acknowledged");
	Csirt__V1__Case *after =
	    case_new(1, TITLE_JA, "D001",
	             CSIRT__V1__CASE_STATE__CASE_STATE_ACKNOWLEDGED, 11);
	Csirt__V1__Event *uev = ev_user_created(
	    11,
	    user_new("sato", "別人", CSIRT__V1__ROLE__ROLE_REPORTER, "D001"));
	Csirt__V1__Event *dev = ev_division_created(11, "D001", "重複");
	Csirt__V1__Event *upd = ev_user_updated(
	    11, user_new("nobody", "不明", CSIRT__V1__ROLE__ROLE_REPORTER, ""));
	char commit[INDEX_COMMIT_ID_LEN + 1];
	struct fx f;

	script_build(&s);
	fx_open(&f);
	script_apply(f.ix, &s);
	dump(&before, f.ix);
	commit_for(commit, 11);

	/* Malformed: EINVAL. */
	ck_assert_int_eq(index_apply(f.ix, ev, commit, NULL, NULL),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(index_apply(f.ix, ev, "not-a-commit", after, NULL),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(index_apply(f.ix, s.ev[0], commit, after, NULL),
	                 CSIRT_EINVAL);
	after->last_seq = 10;
	ck_assert_int_eq(index_apply(f.ix, ev, commit, after, NULL),
	                 CSIRT_EINVAL);
	after->last_seq = 11;
	free(after->id);
	after->id = S("2026-1");
	free(ev->case_id);
	ev->case_id = S("2026-1");
	ck_assert_int_eq(index_apply(f.ix, ev, commit, after, NULL),
	                 CSIRT_EINVAL);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "bad case id"));
	free(after->id);
	after->id = S(CASE1);
	free(ev->case_id);
	ev->case_id = S(CASE1);
	free(after->reported_at);
	after->reported_at = S("yesterday");
	ck_assert_int_eq(index_apply(f.ix, ev, commit, after, NULL),
	                 CSIRT_EINVAL);
	free(after->reported_at);
	after->reported_at = S("2026-11-27T00:30:00.000Z");

	/* Contradicting the index: ETAMPER, never ECONFLICT. */
	ck_assert_int_eq(index_apply(f.ix, uev, commit, NULL, NULL),
	                 CSIRT_ETAMPER);
	ck_assert_int_eq(index_apply(f.ix, dev, commit, NULL, NULL),
	                 CSIRT_ETAMPER);
	ck_assert_int_eq(index_apply(f.ix, upd, commit, NULL, NULL),
	                 CSIRT_ETAMPER);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "unknown user"));

	dump(&now, f.ix);
	ck_assert_str_eq(before.data, now.data);
	/* And a well-formed event still applies afterwards. */
	ck_assert_int_eq(index_apply(f.ix, ev, commit, after, NULL), 0);

	csirt__v1__event__free_unpacked(ev, NULL);
	csirt__v1__event__free_unpacked(uev, NULL);
	csirt__v1__event__free_unpacked(dev, NULL);
	csirt__v1__event__free_unpacked(upd, NULL);
	csirt__v1__case__free_unpacked(after, NULL);
	buf_free(&before);
	buf_free(&now);
	fx_close(&f);
	script_free(&s);
}
END_TEST

struct note_walk {
	size_t n;
	uint32_t version[4];
	char author[4][16];
	char text[4][64]; /* "(null)" when not kept */
	char note_author[16];
	int confidentiality;
	int64_t created_ms;
};

static int
note_walk_cb(const struct index_note_version *v, void *arg)
{
	struct note_walk *w = arg;

	ck_assert_uint_lt(w->n, 4);
	w->version[w->n] = v->version;
	snprintf(w->author[w->n], sizeof(w->author[0]), "%s", v->author);
	if (v->text == NULL)
		snprintf(w->text[w->n], sizeof(w->text[0]), "(null)");
	else
		snprintf(w->text[w->n], sizeof(w->text[0]), "%.*s",
		         (int)v->text_len, v->text);
	snprintf(w->note_author, sizeof(w->note_author), "%s", v->note_author);
	w->confidentiality = (int)v->classification->confidentiality;
	w->created_ms = v->created_ms;
	w->n++;
	return 0;
}

/* A case event of CASE1 at `seq` with its fold. */
static int
apply_at(struct index *ix, Csirt__V1__Event *ev, const char *text)
{
	Csirt__V1__Case *after =
	    case_new(1, TITLE_JA, "D001",
	             CSIRT__V1__CASE_STATE__CASE_STATE_ESCALATED, ev->seq);
	char commit[INDEX_COMMIT_ID_LEN + 1];
	int rc;

	commit_for(commit, ev->seq);
	rc = index_apply(ix, ev, commit, after, text);
	csirt__v1__case__free_unpacked(after, NULL);
	csirt__v1__event__free_unpacked(ev, NULL);
	return rc;
}

/* Every version of a note, oldest first, with the texts of 機密性低 notes
 * kept and nobody else's; note events that contradict the index refused. */
START_TEST(test_index_note_versions)
{
	static const char v1[] = "聴取メモ：電車内で紛失",
	                  v2[] = "聴取メモ：京王線の"
	                         "車内で紛失\n";
	struct buf before = BUF_INIT, now = BUF_INIT;
	struct note_walk w;
	struct index *ro = NULL;
	struct script sc;
	struct fx f;
	Csirt__V1__Event *ev;

	script_build(&sc);
	fx_open(&f);
	script_apply(f.ix, &sc);

	/* The script's note is 機密性高: versions without text. */
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(
	    index_note_versions(f.ix, CASE1, "n1", note_walk_cb, &w), 0);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_uint_eq(w.version[0], 1);
	ck_assert_uint_eq(w.version[1], 2);
	ck_assert_str_eq(w.text[0], "(null)");
	ck_assert_str_eq(w.text[1], "(null)");
	ck_assert_str_eq(w.note_author, "tanaka");
	ck_assert_int_eq(w.confidentiality,
	                 CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH);
	ck_assert_int_eq(
	    index_note_versions(f.ix, CASE1, "n9", note_walk_cb, &w),
	    CSIRT_ENOTFOUND);
	ck_assert_int_eq(
	    index_note_versions(f.ix, "2026-000099", "n1", note_walk_cb, &w),
	    CSIRT_ENOTFOUND);

	/* Refused, leaving nothing behind. */
	dump(&before, f.ix);
	ck_assert_int_eq(
	    apply_at(f.ix, ev_note_edited(11, CASE1, "n1", 3), "秘密の本文"),
	    CSIRT_EINVAL); /* text of a 機密性高 note */
	ck_assert_int_eq(
	    apply_at(f.ix, ev_note_added(11, CASE1, "n2"), "秘密の本文"),
	    CSIRT_EINVAL);
	ck_assert_int_eq(
	    apply_at(f.ix, ev_note_edited(11, CASE1, "n1", 4), NULL),
	    CSIRT_ETAMPER); /* version 3 is missing */
	ck_assert_int_eq(
	    apply_at(f.ix, ev_note_edited(11, CASE1, "n1", 2), NULL),
	    CSIRT_ETAMPER); /* version 2 exists */
	ck_assert_int_eq(
	    apply_at(f.ix, ev_note_edited(11, CASE1, "n7", 2), NULL),
	    CSIRT_ETAMPER); /* no such note */
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "unknown note"));
	ck_assert_int_eq(
	    apply_at(f.ix, ev_case_simple(11, CASE1, "case.escalated"), "本文"),
	    CSIRT_EINVAL); /* not a note */
	dump(&now, f.ix);
	ck_assert_str_eq(before.data, now.data);

	/* A 機密性低 note keeps the text of every version. */
	ev = ev_note_added(11, CASE1, "n2");
	ev->note_added->classification->confidentiality =
	    CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
	ck_assert_int_eq(apply_at(f.ix, ev, v1), 0);
	ev = ev_note_edited(12, CASE1, "n2", 2);
	free(ev->actor);
	ev->actor = S("suzuki");
	ck_assert_int_eq(apply_at(f.ix, ev, v2), 0);

	/* Read back on a read-only connection, as the wire API does. */
	ck_assert_int_eq(index_open_readonly(&ro, f.path), 0);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(index_note_versions(ro, CASE1, "n2", note_walk_cb, &w),
	                 0);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_str_eq(w.text[0], v1);
	ck_assert_str_eq(w.text[1], v2);
	ck_assert_str_eq(w.author[0], "tanaka");
	ck_assert_str_eq(w.author[1], "suzuki");
	ck_assert_str_eq(w.note_author, "tanaka");
	ck_assert_int_eq(w.confidentiality,
	                 CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW);
	ck_assert_int_gt(w.created_ms, 0);
	index_close(ro);

	buf_free(&before);
	buf_free(&now);
	script_free(&sc);
	fx_close(&f);
}
END_TEST

START_TEST(test_index_position)
{
	char commit[INDEX_COMMIT_ID_LEN + 1], want[INDEX_COMMIT_ID_LEN + 1];
	uint64_t seq = 0;
	struct fx f;

	fx_open(&f);
	commit_for(want, 7);
	ck_assert_int_eq(index_set_position(f.ix, 7, want), 0);
	ck_assert_int_eq(index_get_position(f.ix, &seq, commit), 0);
	ck_assert_uint_eq(seq, 7);
	ck_assert_str_eq(commit, want);
	commit_for(want, 8);
	ck_assert_int_eq(index_set_position(f.ix, 8, want), 0);
	ck_assert_int_eq(index_get_position(f.ix, &seq, commit), 0);
	ck_assert_uint_eq(seq, 8);
	ck_assert_str_eq(commit, want);
	ck_assert_int_eq(index_set_position(f.ix, 9, "ABC"), CSIRT_EINVAL);
	/* A position without its events is an inconsistency. */
	ck_assert_int_eq(index_sync_check(f.ix), CSIRT_ETAMPER);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "position"));
	fx_close(&f);
}
END_TEST

START_TEST(test_index_dump_equality)
{
	struct script s;
	struct buf a = BUF_INIT, b = BUF_INIT;
	Csirt__V1__Event *uev = ev_user_updated(
	    11, user_new("sato", "佐藤 太郎", CSIRT__V1__ROLE__ROLE_REPORTER,
	                 "D001"));
	struct fx f, g;

	script_build(&s);
	fx_open(&f);
	fx_open(&g);
	script_apply(f.ix, &s);
	script_apply(g.ix, &s);
	dump(&a, f.ix);
	dump(&b, g.ix);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert(memcmp(a.data, b.data, a.len) == 0);
	ck_assert_ptr_nonnull(strstr(a.data, "\ntable events ("));
	ck_assert_ptr_nonnull(strstr(a.data, "x'08"));

	/* One changed field of one row changes the dump. */
	uev->user_updated->user->disabled = true;
	ck_assert_msg(apply_one(g.ix, uev, NULL) == 0, "%s", csirt_error_msg());
	dump(&b, g.ix);
	ck_assert(a.len != b.len || memcmp(a.data, b.data, a.len) != 0);

	csirt__v1__event__free_unpacked(uev, NULL);
	buf_free(&a);
	buf_free(&b);
	fx_close(&f);
	fx_close(&g);
	script_free(&s);
}
END_TEST

START_TEST(test_index_readonly_reader)
{
	struct script s;
	struct index *ro = NULL;
	Csirt__V1__Case *c = NULL;
	Csirt__V1__Event *ev = ev_case_simple(11, CASE2, "case.acknowledged");
	Csirt__V1__Case *after =
	    case_new(2, "第二の事案", "D001",
	             CSIRT__V1__CASE_STATE__CASE_STATE_ACKNOWLEDGED, 11);
	char commit[INDEX_COMMIT_ID_LEN + 1];
	char *missing;
	uint64_t seq;
	struct fx f;

	script_build(&s);
	fx_open(&f);
	missing = util_path_join(f.dir, "missing.sqlite");
	ck_assert_int_eq(index_open_readonly(&ro, missing), CSIRT_ENOTFOUND);
	ck_assert_ptr_null(ro);
	ck_assert(!util_path_exists(missing));

	script_apply(f.ix, &s);
	ck_assert_msg(index_open_readonly(&ro, f.path) == 0, "%s",
	              csirt_error_msg());
	ck_assert_int_eq(index_case_get(&c, ro, CASE2), 0);
	ck_assert_int_eq(c->state, CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED);
	csirt__v1__case__free_unpacked(c, NULL);
	c = NULL;

	/* Uncommitted writes are invisible; committed ones are seen. */
	ck_assert_int_eq(index_begin(f.ix), 0);
	ck_assert_int_eq(apply_one(f.ix, ev, after), 0);
	ck_assert_int_eq(index_case_get(&c, ro, CASE2), 0);
	ck_assert_int_eq(c->state, CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED);
	csirt__v1__case__free_unpacked(c, NULL);
	c = NULL;
	ck_assert_int_eq(index_commit(f.ix), 0);
	ck_assert_int_eq(index_case_get(&c, ro, CASE2), 0);
	ck_assert_int_eq(c->state,
	                 CSIRT__V1__CASE_STATE__CASE_STATE_ACKNOWLEDGED);
	csirt__v1__case__free_unpacked(c, NULL);

	/* The reader cannot write. */
	ev->seq = 12;
	after->last_seq = 12;
	ck_assert_int_ne(apply_one(ro, ev, after), 0);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "readonly"));
	commit_for(commit, 12);
	ck_assert_int_ne(index_set_position(ro, 12, commit), 0);
	ck_assert_int_ne(index_begin(ro), 0);
	ck_assert_int_eq(index_get_position(ro, &seq, commit), 0);
	ck_assert_uint_eq(seq, SCRIPT_LEN);
	ck_assert_int_eq(index_sync_check(ro), CSIRT_ETAMPER); /* seq 11 */

	csirt__v1__event__free_unpacked(ev, NULL);
	csirt__v1__case__free_unpacked(after, NULL);
	index_close(ro);
	free(missing);
	fx_close(&f);
	script_free(&s);
}
END_TEST

/* ---- tests: list reads ------------------------------------------------ */

/*
 * The list corpus: 60 cases over two divisions, every category, state and
 * confidentiality, four assignee patterns, reported an hour apart, with a
 * few titles and descriptions that exercise the text filter.  Two ids
 * test the order beyond the id's text: 2025-000099 (an earlier year) and
 * 2026-1000000 (a seven-digit counter, after 2026-999999 in report order
 * although before it as text).  Each case is reported, then moved to its
 * state and assigned by later events, so the rows are folds, not the
 * first version.  The expected answers are computed here from `corpus`
 * with plain C, independently of SQL.
 */
#define NCASES 60
#define LIST_BASE_MS INT64_C(1795737600000) /* 2026-11-27T00:00:00Z */
#define HOUR_MS INT64_C(3600000)

struct cspec {
	char id[16];
	int year;
	uint32_t counter;
	int category, state, conf;
	const char *division;
	const char *assignees[2];
	size_t nassignees;
	int64_t reported_ms;
	char title[128];
	char description[128];
};

struct corpus {
	struct cspec c[NCASES];
	uint64_t seq; /* last applied */
};

static const char *const corpus_users[][3] = {
    /* login, role (as text), division */
    {"yamada", "2", ""}, {"sato", "1", "D001"}, {"abe", "1", "D002"},
    {"tanaka", "4", ""}, {"ito", "1", "D001"},  {"suzuki", "4", ""},
    {"kato", "5", ""},   {"lead", "3", ""},
};

static void
corpus_build(struct corpus *k)
{
	memset(k, 0, sizeof(*k));
	for (int i = 0; i < NCASES; i++) {
		struct cspec *s = &k->c[i];

		s->year = YEAR;
		s->counter = (uint32_t)i + 1;
		if (i == 0) {
			s->year = YEAR - 1;
			s->counter = 99;
		} else if (i == NCASES - 1) {
			s->counter = 1000000;
		}
		snprintf(s->id, sizeof(s->id), "%d-%06" PRIu32, s->year,
		         s->counter);
		s->category = 1 + i % 7;
		s->state = 1 + (i / 2) % 7;
		s->conf = 1 + i % 3;
		s->division = i % 2 == 0 ? "D001" : "D002";
		switch (i % 4) {
		case 0:
			s->assignees[s->nassignees++] = "tanaka";
			break;
		case 1:
			s->assignees[s->nassignees++] = "suzuki";
			s->assignees[s->nassignees++] = "tanaka";
			break;
		case 2:
			s->assignees[s->nassignees++] = "suzuki";
			break;
		default:
			break;
		}
		s->reported_ms = LIST_BASE_MS + i * HOUR_MS;
		if (i % 3 == 0)
			snprintf(s->title, sizeof(s->title),
			         "USBメモリの紛失 %d", i);
		else
			snprintf(s->title, sizeof(s->title), "Incident %d", i);
		if (i % 5 == 0)
			snprintf(s->description, sizeof(s->description),
			         "外部記録媒体から情報漏えいの疑い（%d）", i);
		else
			snprintf(s->description, sizeof(s->description),
			         "Routine report number %d", i);
	}
	/* Wildcards and the escape character as data. */
	snprintf(k->c[10].title, sizeof(k->c[10].title),
	         "ディスク使用率100%%超過");
	snprintf(k->c[11].title, sizeof(k->c[11].title), "CPU at 100 percent");
	snprintf(k->c[12].title, sizeof(k->c[12].title), "file a_b leaked");
	snprintf(k->c[13].description, sizeof(k->c[13].description),
	         "path C:\\temp\\x");
	snprintf(k->c[14].title, sizeof(k->c[14].title), "usb stick FOUND");
}

static const struct cspec *
corpus_find(const struct corpus *k, const char *id)
{
	for (int i = 0; i < NCASES; i++)
		if (strcmp(k->c[i].id, id) == 0)
			return &k->c[i];
	return NULL;
}

static Csirt__V1__Case *
corpus_case(const struct cspec *s, int state, bool assigned, uint64_t seq)
{
	Csirt__V1__Case *c = case_new(s->counter, s->title, s->division,
	                              (Csirt__V1__CaseState)state, seq);
	char t[UTIL_TIME_LEN];

	free(c->id);
	c->id = S(s->id);
	c->category = (Csirt__V1__Category)s->category;
	c->classification->confidentiality =
	    (Csirt__V1__Confidentiality)s->conf;
	free(c->description);
	c->description = S(s->description);
	util_time_format_ms(t, sizeof(t), s->reported_ms);
	free(c->reported_at);
	c->reported_at = S(t);
	if (assigned && s->nassignees > 0) {
		c->n_assignees = s->nassignees;
		c->assignees = util_xmalloc(s->nassignees * sizeof(char *));
		for (size_t j = 0; j < s->nassignees; j++)
			c->assignees[j] = S(s->assignees[j]);
	}
	return c;
}

/* Applies one event and frees it and its fold. */
static void
corpus_apply_one(struct index *ix, Csirt__V1__Event *ev, Csirt__V1__Case *after)
{
	ck_assert_msg(apply_one(ix, ev, after) == 0, "seq %" PRIu64 ": %s",
	              ev->seq, csirt_error_msg());
	csirt__v1__event__free_unpacked(ev, NULL);
	if (after != NULL)
		csirt__v1__case__free_unpacked(after, NULL);
}

static void
corpus_apply(struct index *ix, struct corpus *k)
{
	char commit[INDEX_COMMIT_ID_LEN + 1];
	uint64_t seq = 0;

	ck_assert_int_eq(index_begin(ix), 0);
	corpus_apply_one(ix, ev_division_created(++seq, "D001", "刑事部"),
	                 NULL);
	corpus_apply_one(ix, ev_division_created(++seq, "D002", "生活安全部"),
	                 NULL);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(corpus_users); i++)
		corpus_apply_one(
		    ix,
		    ev_user_created(
		        ++seq,
		        user_new(corpus_users[i][0], "利用者",
		                 (Csirt__V1__Role)atoi(corpus_users[i][1]),
		                 corpus_users[i][2])),
		    NULL);
	for (int i = 0; i < NCASES; i++) {
		const struct cspec *s = &k->c[i];
		Csirt__V1__Event *ev =
		    ev_new(++seq, s->id, "case.reported", "sato",
		           CSIRT__V1__ROLE__ROLE_REPORTER);

		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED;
		ev->incident_reported =
		    util_xmalloc(sizeof(*ev->incident_reported));
		csirt__v1__incident_reported__init(ev->incident_reported);
		ev->incident_reported->case_ = corpus_case(
		    s, CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED, false, seq);
		corpus_apply_one(
		    ix, ev,
		    corpus_case(s, CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED,
		                false, seq));
	}
	/* Later folds: the final state, then the assignees. */
	for (int i = 0; i < NCASES; i++) {
		const struct cspec *s = &k->c[i];
		Csirt__V1__Event *ev;

		if (s->state != CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED) {
			ev = ev_case_simple(++seq, s->id, "case.acknowledged");
			corpus_apply_one(ix, ev,
			                 corpus_case(s, s->state, false, seq));
		}
		if (s->nassignees == 0)
			continue;
		ev = ev_new(++seq, s->id, "investigators.assigned", "lead",
		            CSIRT__V1__ROLE__ROLE_CSIRT_LEAD);
		ev->payload_case =
		    CSIRT__V1__EVENT__PAYLOAD_INVESTIGATORS_ASSIGNED;
		ev->investigators_assigned =
		    util_xmalloc(sizeof(*ev->investigators_assigned));
		csirt__v1__investigators_assigned__init(
		    ev->investigators_assigned);
		corpus_apply_one(ix, ev, corpus_case(s, s->state, true, seq));
	}
	commit_for(commit, seq);
	ck_assert_int_eq(index_set_position(ix, seq, commit), 0);
	ck_assert_int_eq(index_commit(ix), 0);
	k->seq = seq;
}

/* ASCII case-insensitive substring, as the filter documents. */
static bool
text_has(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++) {
		size_t j = 0;

		while (
		    j < n && hay[j] != '\0' &&
		    (hay[j] == needle[j] ||
		     (((hay[j] | 0x20) == (needle[j] | 0x20)) &&
		      (needle[j] | 0x20) >= 'a' && (needle[j] | 0x20) <= 'z')))
			j++;
		if (j == n)
			return true;
	}
	return n == 0;
}

static bool
int_in(int v, const int *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == v)
			return true;
	return false;
}

static bool
spec_matches(const struct cspec *s, const struct index_case_filter *f)
{
	if (f->nstates > 0 && !int_in(s->state, f->states, f->nstates))
		return false;
	if (f->ncategories > 0 &&
	    !int_in(s->category, f->categories, f->ncategories))
		return false;
	if (f->division != NULL && f->division[0] != '\0' &&
	    strcmp(s->division, f->division) != 0)
		return false;
	if (f->assignee != NULL && f->assignee[0] != '\0') {
		bool found = false;

		for (size_t j = 0; j < s->nassignees; j++)
			found |= strcmp(s->assignees[j], f->assignee) == 0;
		if (!found)
			return false;
	}
	if (f->min_confidentiality != 0 && s->conf < f->min_confidentiality)
		return false;
	if (f->text != NULL && f->text[0] != '\0' &&
	    !text_has(s->title, f->text) && !text_has(s->description, f->text))
		return false;
	if (f->reported_after_ms != 0 && s->reported_ms < f->reported_after_ms)
		return false;
	if (f->reported_before_ms != 0 &&
	    s->reported_ms >= f->reported_before_ms)
		return false;
	return true;
}

/* Newest first: (year, counter) descending. */
static int
spec_cmp_desc(const void *a, const void *b)
{
	const struct cspec *x = *(const struct cspec *const *)a;
	const struct cspec *y = *(const struct cspec *const *)b;

	if (x->year != y->year)
		return x->year < y->year ? 1 : -1;
	if (x->counter != y->counter)
		return x->counter < y->counter ? 1 : -1;
	return 0;
}

/* The expected ids, "id,id,...," (the cursor ignored). */
static size_t
corpus_expect(struct buf *out, const struct corpus *k,
              const struct index_case_filter *f)
{
	const struct cspec *m[NCASES];
	size_t n = 0;

	buf_reset(out);
	for (int i = 0; i < NCASES; i++)
		if (spec_matches(&k->c[i], f))
			m[n++] = &k->c[i];
	qsort(m, n, sizeof(m[0]), spec_cmp_desc);
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "%s,", m[i]->id);
	return n;
}

struct got {
	const struct corpus *k;
	struct buf ids; /* "id,id,...," */
	size_t n;
	char last[16];
};

/* Records the id and checks the case is its last fold. */
static int
got_cb(const Csirt__V1__Case *c, void *arg)
{
	struct got *g = arg;
	const struct cspec *s = corpus_find(g->k, c->id);

	ck_assert_msg(s != NULL, "unknown case %s", c->id);
	ck_assert_int_eq(c->state, s->state);
	ck_assert_int_eq(c->category, s->category);
	ck_assert_str_eq(c->division, s->division);
	ck_assert_str_eq(c->title, s->title);
	ck_assert_str_eq(c->description, s->description);
	ck_assert_int_eq(c->classification->confidentiality, s->conf);
	ck_assert_uint_eq(c->n_assignees, s->nassignees);
	buf_printf(&g->ids, "%s,", c->id);
	snprintf(g->last, sizeof(g->last), "%s", c->id);
	g->n++;
	return 0;
}

/* Walks every page of `f` with page size `limit`, checking each page's
 * size and `more`; returns the concatenated ids in `g`. */
static void
list_walk(struct index *ix, const struct index_case_filter *f0, size_t limit,
          struct got *g)
{
	struct index_case_filter f = *f0;
	bool more = true;
	size_t pages = 0;

	buf_reset(&g->ids);
	g->n = 0;
	f.limit = limit;
	f.after_id = NULL;
	while (more) {
		size_t before = g->n;

		ck_assert_msg(index_cases_list(ix, &f, got_cb, g, &more) == 0,
		              "%s", csirt_error_msg());
		ck_assert_uint_le(g->n - before, limit);
		/* A page followed by another one is full. */
		if (more)
			ck_assert_uint_eq(g->n - before, limit);
		f.after_id = g->last;
		ck_assert_uint_lt(++pages, 2 * NCASES + 2);
	}
}

/* One filter, in one page and in pages of 1 and 7, against the expected
 * list; returns the number of matches. */
static size_t
check_filter(struct index *ix, const struct corpus *k,
             const struct index_case_filter *f, const char *label)
{
	static const size_t sizes[] = {INDEX_CASES_LIMIT_MAX, 7, 1};
	struct buf want = BUF_INIT;
	struct got g = {.k = k, .ids = BUF_INIT};
	size_t n = corpus_expect(&want, k, f);

	for (size_t i = 0; i < UTIL_ARRAY_LEN(sizes); i++) {
		list_walk(ix, f, sizes[i], &g);
		ck_assert_msg(strcmp(g.ids.data != NULL ? g.ids.data : "",
		                     want.data != NULL ? want.data : "") == 0,
		              "%s, pages of %zu:\n got  %s\n want %s", label,
		              sizes[i], g.ids.data, want.data);
		ck_assert_uint_eq(g.n, n);
	}
	buf_free(&want);
	buf_free(&g.ids);
	return n;
}

struct list_fx {
	struct fx f;
	struct corpus k;
};

static void
list_fx_open(struct list_fx *l)
{
	corpus_build(&l->k);
	fx_open(&l->f);
	corpus_apply(l->f.ix, &l->k);
	ck_assert_msg(index_sync_check(l->f.ix) == 0, "%s", csirt_error_msg());
}

static const int open_states[] = {
    CSIRT__V1__CASE_STATE__CASE_STATE_REPORTED,
    CSIRT__V1__CASE_STATE__CASE_STATE_ACKNOWLEDGED,
    CSIRT__V1__CASE_STATE__CASE_STATE_ESCALATED,
    CSIRT__V1__CASE_STATE__CASE_STATE_INVESTIGATING,
};
static const int one_state[] = {CSIRT__V1__CASE_STATE__CASE_STATE_CLOSED};
static const int some_categories[] = {
    CSIRT__V1__CATEGORY__CATEGORY_INFORMATION_LEAK,
    CSIRT__V1__CATEGORY__CATEGORY_LOST_EQUIPMENT,
};

/* Every filter member alone, then combined, each against the expected
 * list and paged by 500, 7 and 1. */
static void
check_all_filters(struct index *ix, const struct corpus *k)
{
	struct index_case_filter f = {0};
	size_t n;

	ck_assert_uint_eq(check_filter(ix, k, &f, "none"), NCASES);

	f = (struct index_case_filter){.states = open_states, .nstates = 4};
	n = check_filter(ix, k, &f, "open states");
	ck_assert(n > 0 && n < NCASES);
	f = (struct index_case_filter){.states = one_state, .nstates = 1};
	n = check_filter(ix, k, &f, "one state");
	ck_assert(n > 0 && n < NCASES);
	f = (struct index_case_filter){.categories = some_categories,
	                               .ncategories = 2};
	n = check_filter(ix, k, &f, "categories");
	ck_assert(n > 0 && n < NCASES);
	f = (struct index_case_filter){.division = "D002"};
	ck_assert_uint_eq(check_filter(ix, k, &f, "division"), NCASES / 2);
	f = (struct index_case_filter){.division = ""};
	ck_assert_uint_eq(check_filter(ix, k, &f, "division \"\""), NCASES);
	f = (struct index_case_filter){.division = "D999"};
	ck_assert_uint_eq(check_filter(ix, k, &f, "no such division"), 0);
	f = (struct index_case_filter){.assignee = "tanaka"};
	ck_assert_uint_eq(check_filter(ix, k, &f, "assignee"), NCASES / 2);
	f = (struct index_case_filter){.assignee = "suzuki"};
	ck_assert_uint_eq(check_filter(ix, k, &f, "assignee 2"), NCASES / 2);
	f = (struct index_case_filter){.assignee = "nobody"};
	ck_assert_uint_eq(check_filter(ix, k, &f, "no such assignee"), 0);
	f = (struct index_case_filter){
	    .min_confidentiality =
	        CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_MEDIUM};
	ck_assert_uint_eq(check_filter(ix, k, &f, "confidentiality >= 2"),
	                  NCASES * 2 / 3);
	f = (struct index_case_filter){
	    .min_confidentiality =
	        CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_HIGH};
	ck_assert_uint_eq(check_filter(ix, k, &f, "confidentiality >= 3"),
	                  NCASES / 3);
	f = (struct index_case_filter){.reported_after_ms =
	                                   LIST_BASE_MS + 10 * HOUR_MS};
	ck_assert_uint_eq(check_filter(ix, k, &f, "after (inclusive)"),
	                  NCASES - 10);
	f = (struct index_case_filter){.reported_before_ms =
	                                   LIST_BASE_MS + 10 * HOUR_MS};
	ck_assert_uint_eq(check_filter(ix, k, &f, "before (exclusive)"), 10);
	f = (struct index_case_filter){
	    .reported_after_ms = LIST_BASE_MS + 10 * HOUR_MS,
	    .reported_before_ms = LIST_BASE_MS + 20 * HOUR_MS};
	ck_assert_uint_eq(check_filter(ix, k, &f, "range"), 10);
	f = (struct index_case_filter){.text = "紛失"};
	/* Case 12's title was replaced. */
	ck_assert_uint_eq(check_filter(ix, k, &f, "text ja"), NCASES / 3 - 1);

	/* Combined. */
	f = (struct index_case_filter){
	    .states = open_states, .nstates = 4, .division = "D001"};
	n = check_filter(ix, k, &f, "open states in D001");
	ck_assert(n > 0);
	f = (struct index_case_filter){.states = open_states,
	                               .nstates = 4,
	                               .assignee = "tanaka",
	                               .min_confidentiality = 2};
	n = check_filter(ix, k, &f, "open, tanaka's, conf >= 2");
	ck_assert(n > 0);
	f = (struct index_case_filter){
	    .categories = some_categories,
	    .ncategories = 2,
	    .division = "D001",
	    .reported_after_ms = LIST_BASE_MS + 5 * HOUR_MS,
	    .reported_before_ms = LIST_BASE_MS + 50 * HOUR_MS};
	n = check_filter(ix, k, &f, "categories, D001, range");
	ck_assert(n > 0);
	f = (struct index_case_filter){
	    .text = "usb", .assignee = "suzuki", .division = "D002"};
	n = check_filter(ix, k, &f, "usb, suzuki, D002");
	ck_assert(n > 0);
	f = (struct index_case_filter){.states = one_state,
	                               .nstates = 1,
	                               .division = "D002",
	                               .assignee = "suzuki",
	                               .text = "incident",
	                               .min_confidentiality = 1,
	                               .reported_after_ms = LIST_BASE_MS,
	                               .reported_before_ms =
	                                   LIST_BASE_MS + 60 * HOUR_MS,
	                               .categories = some_categories,
	                               .ncategories = 2};
	check_filter(ix, k, &f, "everything");
}

START_TEST(test_index_cases_list_filters)
{
	struct list_fx l;

	list_fx_open(&l);
	check_all_filters(l.f.ix, &l.k);
	fx_close(&l.f);
}
END_TEST

/* The ids of one page, "id,id,...,". */
static const char *
list_page(struct got *g, struct index *ix, const struct index_case_filter *f,
          bool *more)
{
	buf_reset(&g->ids);
	g->n = 0;
	ck_assert_msg(index_cases_list(ix, f, got_cb, g, more) == 0, "%s",
	              csirt_error_msg());
	return g->ids.data != NULL ? g->ids.data : "";
}

START_TEST(test_index_cases_list_pagination)
{
	struct index_case_filter f = {.limit = 3};
	struct got g = {.ids = BUF_INIT};
	struct list_fx l;
	bool more = false;

	list_fx_open(&l);
	g.k = &l.k;

	/* Newest first by (year, counter): the seven-digit counter leads,
	 * the earlier year closes the list. */
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more),
	                 "2026-1000000,2026-000059,2026-000058,");
	ck_assert(more);
	f.after_id = "2026-000003";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more),
	                 "2026-000002,2025-000099,");
	ck_assert(!more);
	/* Exactly `limit` left: no further page. */
	f.after_id = "2026-000004";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more),
	                 "2026-000003,2026-000002,2025-000099,");
	ck_assert(!more);
	f.after_id = "2025-000099";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "");
	ck_assert(!more);

	/* The cursor need not exist nor match the filter: it is a position
	 * in the order.  2026-999999 sorts after 2026-000059 and before
	 * 2026-1000000. */
	f.after_id = "2026-999999";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more),
	                 "2026-000059,2026-000058,2026-000057,");
	ck_assert(more);
	f.after_id = "2026-000032"; /* D002 */
	f.division = "D001";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more),
	                 "2026-000031,2026-000029,2026-000027,");
	ck_assert(more);
	f.after_id = "3000-000001";
	f.division = NULL;
	f.limit = INDEX_CASES_LIMIT_MAX;
	list_page(&g, l.f.ix, &f, &more);
	ck_assert_uint_eq(g.n, NCASES);
	ck_assert(!more);

	buf_free(&g.ids);
	fx_close(&l.f);
}
END_TEST

static int
stop_case_cb(const Csirt__V1__Case *c, void *arg)
{
	(void)c;
	return ++*(int *)arg == 2 ? CSIRT_EDENIED : 0;
}

START_TEST(test_index_cases_list_text_is_literal)
{
	struct index_case_filter f = {.limit = INDEX_CASES_LIMIT_MAX};
	struct got g = {.ids = BUF_INIT};
	struct list_fx l;
	bool more = true;

	list_fx_open(&l);
	g.k = &l.k;

	f.text = "100%";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "2026-000011,");
	ck_assert(!more);
	f.text = "100";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more),
	                 "2026-000012,2026-000011,");
	/* Wildcards alone match only themselves, not everything. */
	f.text = "%";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "2026-000011,");
	f.text = "%%";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "");
	f.text = "_";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "2026-000013,");
	f.text = "a_b";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "2026-000013,");
	f.text = "a%b";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "");
	/* The escape character is literal too (found in a description). */
	f.text = "C:\\temp\\";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "2026-000014,");
	f.text = "\\";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "2026-000014,");
	f.text = "'";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "");

	/* ASCII letters case-insensitively, title or description. */
	f.text = "FOUND";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "2026-000015,");
	f.text = "routine REPORT number 4";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more),
	                 "2026-000050,2026-000049,2026-000048,2026-000047,"
	                 "2026-000045,2026-000044,2026-000043,2026-000042,"
	                 "2026-000005,");

	/* Japanese substrings, in the title and in the description. */
	f.text = "使用率";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "2026-000011,");
	f.text = "情報漏えい";
	ck_assert_uint_eq(check_filter(l.f.ix, &l.k, &f, "漏えい"), NCASES / 5);
	f.text = "（55）";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "2026-000056,");
	f.text = "漏洩";
	ck_assert_str_eq(list_page(&g, l.f.ix, &f, &more), "");

	buf_free(&g.ids);
	fx_close(&l.f);
}
END_TEST

START_TEST(test_index_cases_list_bad_input)
{
	static int many[INDEX_CASES_VALUES_MAX + 1];
	char long_text[INDEX_CASES_TEXT_MAX + 2];
	struct index_case_filter f = {.limit = 0};
	struct got g = {.ids = BUF_INIT};
	struct list_fx l;
	bool more = true;
	int calls = 0;

	list_fx_open(&l);
	g.k = &l.k;

	ck_assert_int_eq(index_cases_list(l.f.ix, &f, got_cb, &g, &more),
	                 CSIRT_EINVAL);
	ck_assert(!more);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "limit"));
	f.limit = INDEX_CASES_LIMIT_MAX + 1;
	ck_assert_int_eq(index_cases_list(l.f.ix, &f, got_cb, &g, NULL),
	                 CSIRT_EINVAL);
	f.limit = INDEX_CASES_LIMIT_MAX;
	f.after_id = "2026-1";
	ck_assert_int_eq(index_cases_list(l.f.ix, &f, got_cb, &g, NULL),
	                 CSIRT_EINVAL);
	f.after_id = "2026-000001' OR 1=1 --";
	ck_assert_int_eq(index_cases_list(l.f.ix, &f, got_cb, &g, NULL),
	                 CSIRT_EINVAL);
	f.after_id = NULL;
	f.states = many;
	f.nstates = UTIL_ARRAY_LEN(many);
	ck_assert_int_eq(index_cases_list(l.f.ix, &f, got_cb, &g, NULL),
	                 CSIRT_EINVAL);
	f.nstates = 0;
	f.min_confidentiality = -1;
	ck_assert_int_eq(index_cases_list(l.f.ix, &f, got_cb, &g, NULL),
	                 CSIRT_EINVAL);
	f.min_confidentiality = 0;
	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	f.text = long_text;
	ck_assert_int_eq(index_cases_list(l.f.ix, &f, got_cb, &g, NULL),
	                 CSIRT_EINVAL);
	long_text[INDEX_CASES_TEXT_MAX] = '\0';
	ck_assert_int_eq(index_cases_list(l.f.ix, &f, got_cb, &g, NULL), 0);
	ck_assert_uint_eq(g.n, 0);
	/* Values are bound, never SQL: a quote is just a character. */
	f.text = NULL;
	f.division = "D001' OR '1'='1";
	f.assignee = "x\" OR 1 --";
	ck_assert_int_eq(index_cases_list(l.f.ix, &f, got_cb, &g, NULL), 0);
	ck_assert_uint_eq(g.n, 0);
	f.division = NULL;
	f.assignee = NULL;

	/* The callback's error stops the walk and comes back. */
	more = true;
	ck_assert_int_eq(
	    index_cases_list(l.f.ix, &f, stop_case_cb, &calls, &more),
	    CSIRT_EDENIED);
	ck_assert_int_eq(calls, 2);
	ck_assert(!more);
	/* Nothing is left open: writing still works. */
	ck_assert_int_eq(index_begin(l.f.ix), 0);
	ck_assert_int_eq(index_rollback(l.f.ix), 0);

	buf_free(&g.ids);
	fx_close(&l.f);
}
END_TEST

static int
user_text_cb(const Csirt__V1__User *u, void *arg)
{
	buf_printf(arg, "%s/%d/%s,", u->login, u->role, u->division);
	return 0;
}

static int
division_text_cb(const Csirt__V1__Division *dv, void *arg)
{
	buf_printf(arg, "%s %s,", dv->code, dv->name);
	return 0;
}

static int
user_stop_cb(const Csirt__V1__User *u, void *arg)
{
	(void)u;
	return ++*(int *)arg == 3 ? 7 : 0;
}

/* The directory lists and the count, on `ix` (read-write or not). */
static void
check_directory_lists(struct index *ix)
{
	struct buf t = BUF_INIT;
	uint64_t n = 0;
	int calls = 0;

	ck_assert_int_eq(index_users_list(ix, NULL, 0, user_text_cb, &t), 0);
	ck_assert_str_eq(t.data, "abe/1/D002,ito/1/D001,kato/5/,lead/3/,"
	                         "sato/1/D001,suzuki/4/,tanaka/4/,"
	                         "yamada/2/,");
	buf_reset(&t);
	ck_assert_int_eq(index_users_list(ix, "", 0, user_text_cb, &t), 0);
	ck_assert_uint_eq(t.len, strlen("abe/1/D002,ito/1/D001,kato/5/,lead/3/,"
	                                "sato/1/D001,suzuki/4/,tanaka/4/,"
	                                "yamada/2/,"));
	buf_reset(&t);
	ck_assert_int_eq(index_users_list(ix, "D001", 0, user_text_cb, &t), 0);
	ck_assert_str_eq(t.data, "ito/1/D001,sato/1/D001,");
	buf_reset(&t);
	ck_assert_int_eq(index_users_list(ix, NULL,
	                                  CSIRT__V1__ROLE__ROLE_INVESTIGATOR,
	                                  user_text_cb, &t),
	                 0);
	ck_assert_str_eq(t.data, "suzuki/4/,tanaka/4/,");
	buf_reset(&t);
	ck_assert_int_eq(index_users_list(ix, "D002",
	                                  CSIRT__V1__ROLE__ROLE_REPORTER,
	                                  user_text_cb, &t),
	                 0);
	ck_assert_str_eq(t.data, "abe/1/D002,");
	buf_reset(&t);
	ck_assert_int_eq(index_users_list(ix, "D002",
	                                  CSIRT__V1__ROLE__ROLE_AUDITOR,
	                                  user_text_cb, &t),
	                 0);
	ck_assert_uint_eq(t.len, 0);
	ck_assert_int_eq(index_users_list(ix, NULL, -1, user_text_cb, &t),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(index_users_list(ix, NULL, 0, user_stop_cb, &calls),
	                 7);
	ck_assert_int_eq(calls, 3);
	/* The cached statement was reset: the next walk starts over. */
	ck_assert_int_eq(index_users_list(ix, "D001", 0, user_text_cb, &t), 0);
	ck_assert_str_eq(t.data, "ito/1/D001,sato/1/D001,");

	buf_reset(&t);
	ck_assert_int_eq(index_divisions_list(ix, division_text_cb, &t), 0);
	ck_assert_str_eq(t.data, "D001 刑事部,D002 生活安全部,");

	ck_assert_int_eq(index_case_count(ix, &n), 0);
	ck_assert_uint_eq(n, NCASES);
	buf_free(&t);
}

START_TEST(test_index_directory_lists_and_count)
{
	struct buf t = BUF_INIT;
	uint64_t n = 99;
	struct list_fx l;
	struct fx e;

	/* Empty index. */
	fx_open(&e);
	ck_assert_int_eq(index_case_count(e.ix, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(index_users_list(e.ix, NULL, 0, user_text_cb, &t), 0);
	ck_assert_int_eq(index_divisions_list(e.ix, division_text_cb, &t), 0);
	ck_assert_uint_eq(t.len, 0);
	fx_close(&e);

	list_fx_open(&l);
	check_directory_lists(l.f.ix);
	buf_free(&t);
	fx_close(&l.f);
}
END_TEST

START_TEST(test_index_lists_on_readonly_connection)
{
	struct index_case_filter f = {.limit = 5, .division = "D002"};
	struct got g = {.ids = BUF_INIT};
	struct index *ro = NULL;
	Csirt__V1__Event *ev;
	struct list_fx l;
	bool more = false;
	uint64_t n = 0;

	list_fx_open(&l);
	g.k = &l.k;
	ck_assert_msg(index_open_readonly(&ro, l.f.path) == 0, "%s",
	              csirt_error_msg());
	check_all_filters(ro, &l.k);
	check_directory_lists(ro);

	/* The reader sees only committed writes, and keeps paging while the
	 * writer works. */
	ck_assert_str_eq(list_page(&g, ro, &f, &more),
	                 "2026-1000000,2026-000058,2026-000056,2026-000054,"
	                 "2026-000052,");
	ck_assert(more);
	ck_assert_int_eq(index_begin(l.f.ix), 0);
	ev = ev_case_simple(l.k.seq + 1, "2026-000050", "case.acknowledged");
	/* 2026-000050 is corpus case 49. */
	l.k.c[49].state = CSIRT__V1__CASE_STATE__CASE_STATE_CLOSED;
	corpus_apply_one(
	    l.f.ix, ev,
	    corpus_case(&l.k.c[49], l.k.c[49].state, true, l.k.seq + 1));
	f.after_id = "2026-000052";
	f.states = one_state;
	f.nstates = 1;
	list_page(&g, ro, &f, &more);
	ck_assert_ptr_null(
	    strstr(g.ids.data != NULL ? g.ids.data : "", "2026-000050"));
	ck_assert_int_eq(index_commit(l.f.ix), 0);
	ck_assert_ptr_nonnull(
	    strstr(list_page(&g, ro, &f, &more), "2026-000050,"));
	ck_assert_int_eq(index_case_count(ro, &n), 0);
	ck_assert_uint_eq(n, NCASES);

	index_close(ro);
	buf_free(&g.ids);
	fx_close(&l.f);
}
END_TEST

/* ---- statistics ------------------------------------------------------ */

#define T0_MS INT64_C(1795737600000) /* 2026-11-27T00:00:00Z */
#define MIN_MS INT64_C(60000)
#define H_MS INT64_C(3600000)
#define NONE INT64_C(-1)

/* One case of the statistics fixture: times are ms after reported_at
 * (NONE: no such event); delay_s is recognized_at -> reported_at. */
struct stats_case {
	uint32_t counter;
	const char *division;
	Csirt__V1__Category category;
	Csirt__V1__CaseState state;
	int64_t reported_ms;
	int64_t delay_s; /* NONE: no recognized_at */
	int64_t ack, ack2, esc, close;
};

#define CAT(x) CSIRT__V1__CATEGORY__CATEGORY_##x
#define ST(x) CSIRT__V1__CASE_STATE__CASE_STATE_##x

static const struct stats_case stats_cases[] = {
    {1, "D001", CAT(LOST_EQUIPMENT), ST(CLOSED), T0_MS, 600, 300000, NONE,
     1000000, 86400000},
    {2, "D001", CAT(INFORMATION_LEAK), ST(ESCALATED), T0_MS + H_MS, 1200, 60000,
     NONE, 7200000, NONE},
    {3, "D002", CAT(LOST_EQUIPMENT), ST(ACKNOWLEDGED), T0_MS + 2 * H_MS, 2700,
     900000, NONE, NONE, NONE},
    /* A second acknowledgement (after a reopen) does not count. */
    {4, "D002", CAT(MALWARE_INTRUSION), ST(ACKNOWLEDGED), T0_MS + 3 * H_MS,
     10800, 120000, 50000000, NONE, NONE},
    /* 2026-10-31T23:00:00Z: another month; never acknowledged. */
    {5, "D001", CAT(LOST_EQUIPMENT), ST(REPORTED),
     T0_MS - 27 * 24 * H_MS + 23 * H_MS, 108000, NONE, NONE, NONE, NONE},
    {6, "D002", CAT(INFORMATION_LEAK), ST(CLOSED), T0_MS + 4 * H_MS, NONE,
     1500000, NONE, 1800000, 3600000},
    /* Exactly 15 minutes late: the first bucket (<=). */
    {7, "D001", CAT(SERIOUS_OUTAGE), ST(REPORTED), T0_MS + 5 * H_MS, 900, NONE,
     NONE, NONE, NONE},
    /* 1.5 s to acknowledge: whole seconds, truncated. */
    {8, "D002", CAT(LOST_EQUIPMENT), ST(ACKNOWLEDGED), T0_MS + 6 * H_MS, 86400,
     1500, NONE, NONE, NONE},
};

static void
set_time(char **field, int64_t ms)
{
	char t[UTIL_TIME_LEN];

	util_time_format_ms(t, sizeof(t), ms);
	free(*field);
	*field = S(t);
}

static void
stats_event(struct index *ix, uint64_t *seq, const struct stats_case *k,
            const char *type, int64_t after_ms)
{
	Csirt__V1__Case *c =
	    case_new(k->counter, "統計", k->division, k->state, *seq);
	Csirt__V1__Event *ev;

	c->category = k->category;
	set_time(&c->reported_at, k->reported_ms);
	if (k->delay_s == NONE) {
		free(c->recognized_at);
		c->recognized_at = S("");
	} else {
		set_time(&c->recognized_at, k->reported_ms - k->delay_s * 1000);
	}
	if (strcmp(type, "case.reported") == 0) {
		ev = ev_reported(*seq, k->counter, "統計", k->division);
	} else if (strcmp(type, "case.closed") == 0) {
		ev = ev_new(*seq, c->id, type, "lead",
		            CSIRT__V1__ROLE__ROLE_CSIRT_LEAD);
		ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_CASE_CLOSED;
		ev->case_closed = util_xmalloc(sizeof(*ev->case_closed));
		csirt__v1__case_closed__init(ev->case_closed);
		ev->case_closed->comment = S("終結");
	} else {
		ev = ev_case_simple(*seq, c->id, type);
	}
	set_time(&ev->time, k->reported_ms + after_ms);
	ck_assert_msg(apply_one(ix, ev, c) == 0, "%s seq %" PRIu64 ": %s", type,
	              *seq, csirt_error_msg());
	csirt__v1__event__free_unpacked(ev, NULL);
	csirt__v1__case__free_unpacked(c, NULL);
	(*seq)++;
}

/* Applies the fixture: divisions, then every case's events. */
static void
stats_fixture(struct index *ix)
{
	Csirt__V1__Event *ev;
	uint64_t seq = 1;

	ck_assert_int_eq(index_begin(ix), 0);
	ev = ev_division_created(seq++, "D001", "刑事部");
	ck_assert_int_eq(apply_one(ix, ev, NULL), 0);
	csirt__v1__event__free_unpacked(ev, NULL);
	ev = ev_division_created(seq++, "D002", "生活安全部");
	ck_assert_int_eq(apply_one(ix, ev, NULL), 0);
	csirt__v1__event__free_unpacked(ev, NULL);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(stats_cases); i++) {
		const struct stats_case *k = &stats_cases[i];

		stats_event(ix, &seq, k, "case.reported", 0);
		if (k->ack != NONE)
			stats_event(ix, &seq, k, "case.acknowledged", k->ack);
		if (k->esc != NONE)
			stats_event(ix, &seq, k, "case.escalated", k->esc);
		if (k->close != NONE)
			stats_event(ix, &seq, k, "case.closed", k->close);
		if (k->ack2 != NONE)
			stats_event(ix, &seq, k, "case.acknowledged", k->ack2);
	}
	ck_assert_int_eq(index_commit(ix), 0);
}

static void
assert_groups(const struct index_stats_count *g, size_t n, const char *want)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (g[i].key != NULL)
			buf_printf(&b, "%s=%" PRIu64 ",", g[i].key, g[i].count);
		else
			buf_printf(&b, "%d=%" PRIu64 ",", g[i].value,
			           g[i].count);
	}
	ck_assert_str_eq(b.data != NULL ? b.data : "", want);
	buf_free(&b);
}

static void
assert_duration(const struct index_stats_duration *d, uint64_t counted,
                uint64_t excluded, int64_t median_s, int64_t p90_s)
{
	ck_assert_uint_eq(d->counted, counted);
	ck_assert_uint_eq(d->excluded, excluded);
	ck_assert_int_eq(d->median_s, median_s);
	ck_assert_int_eq(d->p90_s, p90_s);
}

START_TEST(test_index_stats_hand_computed)
{
	struct index_stats *s = NULL;
	struct fx f;

	fx_open(&f);
	/* Empty: zeros, no groups. */
	ck_assert_int_eq(index_stats_get(&s, f.ix, NULL, 0, 0), 0);
	ck_assert_uint_eq(s->total, 0);
	ck_assert_uint_eq(s->n_by_category + s->n_by_month, 0);
	assert_duration(&s->to_ack, 0, 0, 0, 0);
	index_stats_free(s);

	stats_fixture(f.ix);
	ck_assert_int_eq(index_stats_get(&s, f.ix, "", 0, 0), 0);
	ck_assert_uint_eq(s->total, 8);
	/* Categories 1: cases 2, 6; 2: 7; 3: 4; 6: 1, 3, 5, 8. */
	assert_groups(s->by_category, s->n_by_category, "1=2,2=1,3=1,6=4,");
	assert_groups(s->by_division, s->n_by_division, "D001=4,D002=4,");
	/* States 1: 5, 7; 2: 3, 4, 8; 3: 2; 6: 1, 6. */
	assert_groups(s->by_state, s->n_by_state, "1=2,2=3,3=1,6=2,");
	assert_groups(s->by_month, s->n_by_month, "2026-10=1,2026-11=7,");
	/* To acknowledge, sorted ms: 1500, 60000, 120000, 300000, 900000,
	 * 1500000 (case 4's second ack ignored); n = 6: the median is rank
	 * ceil(3) = 3 -> 120 s, p90 rank ceil(5.4) = 6 -> 1500 s; cases 5
	 * and 7 have none. */
	assert_duration(&s->to_ack, 6, 2, 120, 1500);
	/* To escalate: 1000000, 1800000, 7200000: ranks 2 and ceil(2.7)=3. */
	assert_duration(&s->to_escalate, 3, 5, 1800, 7200);
	/* To close: 3600000, 86400000: ranks 1 and ceil(1.8) = 2. */
	assert_duration(&s->to_close, 2, 6, 3600, 86400);
	/* Delay, sorted s: 600, 900, 1200, 2700, 10800, 86400, 108000 (case
	 * 6 has no recognized_at): ranks ceil(3.5) = 4 and ceil(6.3) = 7. */
	assert_duration(&s->delay, 7, 1, 2700, 108000);
	ck_assert_uint_eq(s->delay_buckets[0], 2); /* 600, 900 */
	ck_assert_uint_eq(s->delay_buckets[1], 1); /* 1200 */
	ck_assert_uint_eq(s->delay_buckets[2], 1); /* 2700 */
	ck_assert_uint_eq(s->delay_buckets[3], 1); /* 10800 */
	ck_assert_uint_eq(s->delay_buckets[4], 1); /* 86400 */
	ck_assert_uint_eq(s->delay_buckets[5], 1); /* 108000 */
	index_stats_free(s);

	/* One division: cases 3, 4, 6, 8; ack 1500, 120000, 900000, 1500000:
	 * ranks 2 and ceil(3.6) = 4. */
	ck_assert_int_eq(index_stats_get(&s, f.ix, "D002", 0, 0), 0);
	ck_assert_uint_eq(s->total, 4);
	assert_groups(s->by_division, s->n_by_division, "D002=4,");
	assert_duration(&s->to_ack, 4, 0, 120, 1500);
	assert_duration(&s->to_close, 1, 3, 3600, 3600);
	index_stats_free(s);

	/* [T0, T0 + 3 h): cases 1, 2, 3 (after inclusive, before exclusive). */
	ck_assert_int_eq(
	    index_stats_get(&s, f.ix, NULL, T0_MS, T0_MS + 3 * H_MS), 0);
	ck_assert_uint_eq(s->total, 3);
	assert_groups(s->by_month, s->n_by_month, "2026-11=3,");
	/* 60000, 300000, 900000: ranks 2 and 3. */
	assert_duration(&s->to_ack, 3, 0, 300, 900);
	/* 600, 1200, 2700 s. */
	assert_duration(&s->delay, 3, 0, 1200, 2700);
	index_stats_free(s);

	/* Nothing matches: an unknown division, a quote is just a char. */
	ck_assert_int_eq(index_stats_get(&s, f.ix, "D001' OR '1'='1", 0, 0), 0);
	ck_assert_uint_eq(s->total, 0);
	assert_duration(&s->delay, 0, 0, 0, 0);
	index_stats_free(s);
	index_stats_free(NULL);
	fx_close(&f);
}
END_TEST

/* ---- tests: keystore -------------------------------------------------- */

#define HASH_A                                                                 \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B                                                                 \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HASH_C                                                                 \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct token_list {
	struct buf text;
};

static int
token_list_cb(const char *token_id, const char *login, int64_t created_ms,
              int64_t revoked_ms, void *arg)
{
	struct token_list *l = arg;

	buf_printf(&l->text, "%s %s %" PRId64 " %" PRId64 ";", token_id, login,
	           created_ms, revoked_ms);
	return 0;
}

START_TEST(test_keystore_tokens)
{
	char *dir = tu_tmpdir();
	char *path = util_path_join(dir, "keystore.sqlite");
	struct keystore *ks = NULL;
	struct token_list l = {BUF_INIT};
	char *login = NULL, *id = NULL;
	struct buf wal = BUF_INIT;
	struct stat st;

	ck_assert_msg(keystore_open(&ks, path) == 0, "%s", csirt_error_msg());
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_msg(keystore_check(ks) == 0, "%s", csirt_error_msg());

	ck_assert_int_eq(keystore_token_add(ks, "t1", "sato", HASH_A, 1000), 0);
	ck_assert_int_eq(keystore_token_add(ks, "t2", "sato", HASH_B, 2000), 0);
	ck_assert_int_eq(keystore_token_add(ks, "t3", "admin", HASH_C, 1500),
	                 0);
	buf_printf(&wal, "%s-wal", path);
	ck_assert_int_eq(stat(wal.data, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);

	ck_assert_int_eq(keystore_token_add(ks, "t1", "sato", HASH_C, 1),
	                 CSIRT_ECONFLICT);
	ck_assert_int_eq(keystore_token_add(ks, "t4", "sato", HASH_A, 1),
	                 CSIRT_ECONFLICT);
	ck_assert_int_eq(keystore_token_add(ks, "t5", "sato", "NOT-HEX", 1),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(keystore_token_add(ks, "", "sato", HASH_C "00", 1),
	                 CSIRT_EINVAL);

	ck_assert_int_eq(keystore_token_lookup(ks, HASH_B, &login, &id), 0);
	ck_assert_str_eq(login, "sato");
	ck_assert_str_eq(id, "t2");
	free(login);
	free(id);
	ck_assert_int_eq(keystore_token_lookup(ks, HASH_A "00", &login, &id),
	                 CSIRT_ENOTFOUND);
	ck_assert_ptr_null(login);
	ck_assert_ptr_null(id);

	ck_assert_int_eq(keystore_token_revoke(ks, "t2", 5000), 0);
	ck_assert_int_eq(keystore_token_lookup(ks, HASH_B, &login, NULL),
	                 CSIRT_ENOTFOUND);
	ck_assert_int_eq(keystore_token_revoke(ks, "t2", 9000), 0);
	ck_assert_int_eq(keystore_token_revoke(ks, "t9", 9000),
	                 CSIRT_ENOTFOUND);

	ck_assert_int_eq(keystore_tokens_list(ks, NULL, token_list_cb, &l), 0);
	ck_assert_str_eq(l.text.data, "t1 sato 1000 0;t3 admin 1500 0;"
	                              "t2 sato 2000 5000;");
	buf_reset(&l.text);
	ck_assert_int_eq(keystore_tokens_list(ks, "sato", token_list_cb, &l),
	                 0);
	ck_assert_str_eq(l.text.data, "t1 sato 1000 0;t2 sato 2000 5000;");

	/* Persisted, and still private, after reopening. */
	keystore_close(ks);
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(keystore_open(&ks, path), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(keystore_token_lookup(ks, HASH_A, &login, NULL), 0);
	ck_assert_str_eq(login, "sato");
	free(login);
	ck_assert_int_eq(keystore_token_lookup(ks, HASH_B, NULL, NULL),
	                 CSIRT_ENOTFOUND);
	ck_assert_int_eq(keystore_check(ks), 0);

	keystore_close(ks);
	keystore_close(NULL);
	buf_free(&l.text);
	buf_free(&wal);
	tu_rmrf(dir);
	free(path);
	free(dir);
}
END_TEST

/* Whether the keystore's files (main and -wal) hold `b` anywhere. */
static int
keystore_files_hold(const char *path, const unsigned char *b, size_t n)
{
	struct buf wal = BUF_INIT;
	int found;

	buf_printf(&wal, "%s-wal", path);
	found =
	    tu_file_contains(path, b, n) || tu_file_contains(wal.data, b, n);
	buf_free(&wal);
	return found;
}

START_TEST(test_keystore_item_keys_destroyed_for_good)
{
	char *dir = tu_tmpdir();
	char *path = util_path_join(dir, "keystore.sqlite");
	struct keystore *ks = NULL;
	unsigned char k1[73], k2[73], got[256];
	struct buf wal = BUF_INIT;
	struct stat st;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(k1); i++) {
		k1[i] = (unsigned char)(0xA5 ^ (i * 7));
		k2[i] = (unsigned char)(0x3C ^ (i * 13));
	}
	ck_assert_msg(keystore_open(&ks, path) == 0, "%s", csirt_error_msg());
	ck_assert_msg(keystore_check(ks) == 0, "%s", csirt_error_msg());
	ck_assert_int_eq(
	    keystore_key_put(ks, "e1.v1", "evidence", k1, sizeof(k1), 1000), 0);
	ck_assert_int_eq(keystore_key_put(ks, "2026-000001/n1", "note", k2,
	                                  sizeof(k2), 2000),
	                 0);
	/* Write-once; known kinds; a key of sane length. */
	ck_assert_int_eq(
	    keystore_key_put(ks, "e1.v1", "evidence", k2, sizeof(k2), 3000),
	    CSIRT_ECONFLICT);
	ck_assert_int_eq(
	    keystore_key_put(ks, "e2.v1", "token", k2, sizeof(k2), 3000),
	    CSIRT_EINVAL);
	ck_assert_int_eq(keystore_key_put(ks, "", "note", k2, sizeof(k2), 1),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(keystore_key_put(ks, "e3.v1", "note", k2, 0, 1),
	                 CSIRT_EINVAL);

	ck_assert_int_eq(keystore_key_get(ks, "e1.v1", got, sizeof(got), &len),
	                 0);
	ck_assert_uint_eq(len, sizeof(k1));
	ck_assert(memcmp(got, k1, sizeof(k1)) == 0);
	ck_assert(keystore_files_hold(path, k1, sizeof(k1)));

	/* Disposal: the row, its bytes in the file and the WAL are gone. */
	ck_assert_msg(keystore_key_destroy(ks, "e1.v1") == 0, "%s",
	              csirt_error_msg());
	ck_assert_int_eq(keystore_key_get(ks, "e1.v1", got, sizeof(got), &len),
	                 CSIRT_ENOTFOUND);
	ck_assert_int_eq(keystore_key_destroy(ks, "e1.v1"), CSIRT_ENOTFOUND);
	buf_printf(&wal, "%s-wal", path);
	ck_assert_int_eq(stat(wal.data, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert(!keystore_files_hold(path, k1, sizeof(k1)));
	/* The other item's key is untouched. */
	ck_assert(keystore_files_hold(path, k2, sizeof(k2)));
	ck_assert_int_eq(
	    keystore_key_get(ks, "2026-000001/n1", got, sizeof(got), &len), 0);
	ck_assert(memcmp(got, k2, sizeof(k2)) == 0);

	/* And after closing, still nowhere. */
	keystore_close(ks);
	ck_assert(!keystore_files_hold(path, k1, sizeof(k1)));
	buf_free(&wal);
	tu_rmrf(dir);
	free(path);
	free(dir);
}
END_TEST

Suite *
index_suite(void)
{
	Suite *s = suite_create("index");
	TCase *tc = tcase_create("index");
	TCase *ks = tcase_create("keystore");

	tcase_add_test(tc, test_index_migrations_fresh_and_reopen);
	tcase_add_test(tc, test_index_foreign_keys_enforced);
	tcase_add_test(tc, test_index_apply_script_roundtrip);
	tcase_add_test(tc, test_index_japanese_survives_reopen);
	tcase_add_test(tc, test_index_duplicate_seq_conflict);
	tcase_add_test(tc, test_index_rejects_inconsistent_events);
	tcase_add_test(tc, test_index_note_versions);
	tcase_add_test(tc, test_index_position);
	tcase_add_test(tc, test_index_dump_equality);
	tcase_add_test(tc, test_index_readonly_reader);
	tcase_add_test(tc, test_index_cases_list_filters);
	tcase_add_test(tc, test_index_cases_list_pagination);
	tcase_add_test(tc, test_index_cases_list_text_is_literal);
	tcase_add_test(tc, test_index_cases_list_bad_input);
	tcase_add_test(tc, test_index_directory_lists_and_count);
	tcase_add_test(tc, test_index_lists_on_readonly_connection);
	tcase_add_test(tc, test_index_stats_hand_computed);
	tcase_add_test(tc, test_index_checkpoint_thread);
	tcase_add_test(tc, test_index_wal_bounded);
	tcase_add_test(tc, test_index_flush_uncommitted);
	tcase_add_test(tc, test_index_wal_mapped);
	tcase_add_test(ks, test_keystore_tokens);
	tcase_add_test(ks, test_keystore_item_keys_destroyed_for_good);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, ks);
	return s;
}
