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
	snprintf(path, sizeof(path), "cases/2026/0000/%s/notes/%s.md.enc",
	         case_id, note_id);
	n->note_id = S(note_id);
	n->path = S(path);
	n->text_sha256 = S("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15"
	                   "d6c15b0f00a08");
	n->version = 1;
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
	n->path = S("cases/2026/0000/2026-000001/notes/n1.md.enc");
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
	return index_apply(ix, ev, commit, after);
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
	ck_assert_ptr_nonnull(strstr(a.data, "\nuser_version 1\n"));
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
	ck_assert_int_eq(index_apply(f.ix, ev, commit, NULL), CSIRT_EINVAL);
	ck_assert_int_eq(index_apply(f.ix, ev, "not-a-commit", after),
	                 CSIRT_EINVAL);
	ck_assert_int_eq(index_apply(f.ix, s.ev[0], commit, after),
	                 CSIRT_EINVAL);
	after->last_seq = 10;
	ck_assert_int_eq(index_apply(f.ix, ev, commit, after), CSIRT_EINVAL);
	after->last_seq = 11;
	free(after->id);
	after->id = S("2026-1");
	free(ev->case_id);
	ev->case_id = S("2026-1");
	ck_assert_int_eq(index_apply(f.ix, ev, commit, after), CSIRT_EINVAL);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "bad case id"));
	free(after->id);
	after->id = S(CASE1);
	free(ev->case_id);
	ev->case_id = S(CASE1);
	free(after->reported_at);
	after->reported_at = S("yesterday");
	ck_assert_int_eq(index_apply(f.ix, ev, commit, after), CSIRT_EINVAL);
	free(after->reported_at);
	after->reported_at = S("2026-11-27T00:30:00.000Z");

	/* Contradicting the index: ETAMPER, never ECONFLICT. */
	ck_assert_int_eq(index_apply(f.ix, uev, commit, NULL), CSIRT_ETAMPER);
	ck_assert_int_eq(index_apply(f.ix, dev, commit, NULL), CSIRT_ETAMPER);
	ck_assert_int_eq(index_apply(f.ix, upd, commit, NULL), CSIRT_ETAMPER);
	ck_assert_ptr_nonnull(strstr(csirt_error_msg(), "unknown user"));

	dump(&now, f.ix);
	ck_assert_str_eq(before.data, now.data);
	/* And a well-formed event still applies afterwards. */
	ck_assert_int_eq(index_apply(f.ix, ev, commit, after), 0);

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
	tcase_add_test(tc, test_index_position);
	tcase_add_test(tc, test_index_dump_equality);
	tcase_add_test(tc, test_index_readonly_reader);
	tcase_add_test(ks, test_keystore_tokens);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, ks);
	return s;
}
