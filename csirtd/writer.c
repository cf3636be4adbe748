/*
 * writer.c - the ledger writer thread, group commit, and replay.
 *
 * Owns the write side of the ledger and of the index: nothing else writes
 * either.  It must never acknowledge an event that is not durable in both
 * stores, and never let a rejected command touch the ledger.
 *
 * A batch:
 *   1. BEGIN IMMEDIATE on the index; open a ledger batch.
 *   2. For each command: validate against the current state (the index sees
 *      this batch's own earlier writes), assign seq/time/case id, fold the
 *      case, render its files, queue its ledger commit (commitq.h: built
 *      in memory on a thread of its own while this one goes on) and apply
 *      it to the index with its commit id pending.
 *   3. Drain the queued commits and give their index rows their ids.  Write
 *      the batch's objects as one pack, fsync, move the ref (fsync),
 *      then COMMIT the index (WAL, synchronous=NORMAL: not fsynced; the
 *      ledger is durable by then, and start-up reconciliation replays a
 *      tail the index lost in a crash).
 *   4. Complete every command.
 * A failure inside step 2 that is not a validation error aborts the batch
 * and runs it again without the command that caused it.  A failure in step
 * 3 means durability can no longer be trusted: the writer turns "broken",
 * fails everything with unavailable, and never retries (the daemon must be
 * restarted, and start-up reconciliation repairs the index from the ledger).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "checkpoint.h"
#include "clock.h"
#include "codec.h"
#include "commitq.h"
#include "crypto.h"
#include "error.h"
#include "evidence.h"
#include "index.h"
#include "layout.h"
#include "ledger.h"
#include "lifecycle.h"
#include "log.h"
#include "pipeline.h"
#include "request.h"
#include "util.h"
#include "writer.h"

#define WRITER_YEARS 8
#define REPLAY_CHUNK 2000
/* Longest wait for more commands to join a batch (see take_more()). */
#define WRITER_GATHER_MAX_US 8000
#define REPLAY_PROGRESS 100000 /* events between progress lines */
/* Events between saves of the checkpoint frontier (frontier_save()). */
#define WRITER_FRONTIER_EVERY 10000

struct writer {
	struct ledger *lg;
	struct index *ix;
	/* The batch's ledger commits run here (commitq.h); `cur` is the
	 * command being applied, `cq_failed` the one whose commit failed
	 * (SIZE_MAX: none), `last_commit` the newest commit id drained. */
	struct commitq *cq;
	size_t cur, cq_failed;
	char last_commit[LEDGER_OID_HEX];

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct writer_cmd *head, *tail;
	size_t qlen, qmax, batch_max;
	size_t last_n;   /* commands of the previous batch */
	int64_t last_us; /* and how long it took */
	bool stopping, broken, started;
	pthread_t thread;

	struct writer_policy policy;
	const struct clock *clock;
	void (*commit_hook)(void *arg);
	void *commit_hook_arg;
	bool moved_deadlines; /* writer_batch_moved_deadlines() */

	uint64_t last_seq; /* durable */
	struct writer_stats stats;
	/* Writer thread only: the end of its last phase (phase_end()) and
	 * the time of each since stats.phase_us were last updated. */
	struct timespec phase_mark;
	uint64_t phase_ns[WRITER_PHASES];
	struct {
		int year;
		uint32_t counter;
	} years[WRITER_YEARS];
	size_t nyears;

	/* Signed checkpoints (checkpoint.h); off until
	 * writer_set_checkpoints().  Writer thread only. */
	struct {
		const struct crypto_signer *signer;
		char origin[CHECKPOINT_ORIGIN_MAX];
		uint64_t every;      /* events between checkpoints; 0 none */
		int64_t interval_ms; /* time between checkpoints; 0 none */
		struct merkle tree;  /* every durable (or batched) event */
		struct merkle saved; /* the tree at the start of the batch */
		uint64_t last_size;  /* size of the newest checkpoint */
		int64_t last_ms;     /* when it was written (or start-up) */
		char *frontier_path; /* where the tree is saved, or NULL */
		char commit[LEDGER_OID_HEX]; /* of the batch's checkpoint */
		/* The tree at the newest checkpoint and its commit, and the
		 * size of the one last saved at frontier_path (frontier_save).
		 */
		struct merkle last_tree;
		char last_commit[LEDGER_OID_HEX];
		uint64_t saved_size;
	} cp;
};

void
writer_cmd_release(struct writer_cmd *cmd)
{
	if (cmd == NULL)
		return;
	codec_free(cmd->ev ? &cmd->ev->base : NULL);
	codec_free(cmd->case_after ? &cmd->case_after->base : NULL);
	cmd->ev = NULL;
	cmd->case_after = NULL;
}

int
writer_new(struct writer **out, struct ledger *lg, struct index *ix,
           size_t queue_depth, size_t batch_max)
{
	struct writer *w = util_xcalloc(1, sizeof(*w));
	char commit[LEDGER_OID_HEX];
	int rc;

	*out = NULL;
	w->lg = lg;
	w->ix = ix;
	w->qmax = queue_depth;
	w->batch_max = batch_max ? batch_max : 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	clock_gettime(CLOCK_MONOTONIC, &w->phase_mark);
	commitq_new(&w->cq, lg);
	/* A batch that fails anywhere is rolled back whole (batch_try()). */
	index_set_whole_batch(ix, true);
	if ((rc = index_get_position(ix, &w->last_seq, commit)) != 0) {
		writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

void
writer_set_policy(struct writer *w, const struct writer_policy *p)
{
	w->policy = *p;
}

void
writer_set_clock(struct writer *w, const struct clock *clk)
{
	w->clock = clk;
}

bool
writer_batch_moved_deadlines(const struct writer *w)
{
	return w->moved_deadlines;
}

void
writer_set_commit_hook(struct writer *w, void (*fn)(void *arg), void *arg)
{
	w->commit_hook = fn;
	w->commit_hook_arg = arg;
}

/* ---- case ids ----------------------------------------------------- */

/* The next case id of `year`; with `take`, the counter advances (call
 * again with take once the report was accepted). */
static int
next_case_id(struct writer *w, int year, char out[LAYOUT_CASE_ID_LEN],
             bool take)
{
	size_t i;
	int rc;

	for (i = 0; i < w->nyears; i++)
		if (w->years[i].year == year)
			break;
	if (i == w->nyears) {
		if (w->nyears == WRITER_YEARS)
			w->nyears = 0; /* forget old years; reload on demand */
		i = w->nyears++;
		w->years[i].year = year;
		if ((rc = index_case_max_counter(w->ix, year,
		                                 &w->years[i].counter)) != 0)
			return rc;
	}
	if (w->years[i].counter >= 999999)
		return csirt_error_set(CSIRT_EBUSY,
		                       "case counter for %d exhausted", year);
	layout_case_id_format(out, year, w->years[i].counter + 1);
	if (take)
		w->years[i].counter++;
	return 0;
}

/* ---- directory events --------------------------------------------- */

static int
validate_user(struct writer *w, const Csirt__V1__User *u, bool create)
{
	Csirt__V1__User *old = NULL;
	bool exists = false;
	int rc;

	if (u == NULL || !layout_name_valid(u->login))
		return csirt_error_set(
		    CSIRT_EINVAL, "user.login must be 1-64 of a-z 0-9 . _ -");
	if (u->role <= CSIRT__V1__ROLE__ROLE_UNSPECIFIED ||
	    u->role >= CSIRT__V1__ROLE__ROLE_SYSTEM)
		return csirt_error_set(CSIRT_EINVAL,
		                       "user.role must be a user role");
	if (strlen(u->display_name) > 200 ||
	    !util_utf8_valid(u->display_name, strlen(u->display_name)))
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "user.display_name must be UTF-8 of at most 200 bytes");
	if (u->role == CSIRT__V1__ROLE__ROLE_REPORTER && u->division[0] == '\0')
		return csirt_error_set(CSIRT_EINVAL,
		                       "a reporter (所属長) needs a division");
	if (u->division[0] != '\0') {
		if ((rc = index_division_exists(w->ix, u->division, &exists)) !=
		    0)
			return rc;
		if (!exists)
			return csirt_error_set(CSIRT_ENOTFOUND,
			                       "division \"%s\" does not exist",
			                       u->division);
	}
	rc = index_user_get(&old, w->ix, u->login);
	if (old != NULL)
		csirt__v1__user__free_unpacked(old, NULL);
	if (create && rc == 0)
		return csirt_error_set(CSIRT_ECONFLICT,
		                       "user \"%s\" already exists", u->login);
	if (!create && rc == CSIRT_ENOTFOUND)
		return csirt_error_set(CSIRT_ENOTFOUND,
		                       "user \"%s\" does not exist", u->login);
	if (rc != 0 && rc != CSIRT_ENOTFOUND)
		return rc;
	return 0;
}

static int
directory_file(struct writer *w, const Csirt__V1__Event *ev, struct buf *path,
               struct buf *json)
{
	const Csirt__V1__User *u = NULL;
	bool exists = false;
	int rc;

	switch (ev->payload_case) {
	case CSIRT__V1__EVENT__PAYLOAD_USER_CREATED:
	case CSIRT__V1__EVENT__PAYLOAD_USER_UPDATED: {
		bool create =
		    ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_USER_CREATED;
		u = create ? (ev->user_created ? ev->user_created->user : NULL)
		           : (ev->user_updated ? ev->user_updated->user : NULL);
		if ((rc = validate_user(w, u, create)) != 0)
			return rc;
		layout_user_path(path, u->login);
		return codec_to_json(json, &u->base, CODEC_PRETTY);
	}
	case CSIRT__V1__EVENT__PAYLOAD_DIVISION_CREATED: {
		const Csirt__V1__Division *d =
		    ev->division_created ? ev->division_created->division
		                         : NULL;
		if (d == NULL || !layout_name_valid(d->code))
			return csirt_error_set(
			    CSIRT_EINVAL,
			    "division.code must be 1-64 of a-z 0-9 . _ -");
		if (d->name[0] == '\0' || strlen(d->name) > 200 ||
		    !util_utf8_valid(d->name, strlen(d->name)))
			return csirt_error_set(
			    CSIRT_EINVAL,
			    "division.name must be 1-200 bytes of UTF-8");
		if ((rc = index_division_exists(w->ix, d->code, &exists)) != 0)
			return rc;
		if (exists)
			return csirt_error_set(CSIRT_ECONFLICT,
			                       "division \"%s\" already exists",
			                       d->code);
		layout_division_path(path, d->code);
		return codec_to_json(json, &d->base, CODEC_PRETTY);
	}
	default:
		return csirt_error_set(CSIRT_EINVAL,
		                       "event type not accepted from clients");
	}
}

/* ---- one command ---------------------------------------------------- */

#define NOTE_TEXT_MAX (64 * 1024)

/* The text rules of every note version (AddNote and EditNote alike). */
static int
note_text_check(const struct writer_cmd *cmd, const char **text, size_t *len)
{
	if (cmd->note_text == NULL)
		return csirt_error_set(CSIRT_EINVAL, "note text is required");
	*text = cmd->note_text;
	*len = strlen(cmd->note_text);
	if (*len == 0 || *len > NOTE_TEXT_MAX || !util_utf8_valid(*text, *len))
		return csirt_error_set(
		    CSIRT_EINVAL, "note text must be 1 to %d bytes of UTF-8",
		    NOTE_TEXT_MAX);
	return 0;
}

static bool
note_is_low(const Csirt__V1__Classification *cl)
{
	return cl != NULL &&
	       cl->confidentiality ==
	           CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
}

/*
 * A note's file: the text itself for 機密性低, the sealed text for 機密性高・中
 * (issue 6), whose git blob id is computed here for the payload so that
 * readers find it without walking trees.  The RPC layer seals; the writer
 * refuses a secret note that arrives unsealed and a sealed 機密性低 one.
 */
static int
note_sealed_check(const struct writer_cmd *cmd, bool low, char **blob_out)
{
	struct crypto_sha1_ctx *sha;
	unsigned char d[CRYPTO_SHA1_LEN];
	char hdr[40], hex[2 * CRYPTO_SHA1_LEN + 1];

	*blob_out = NULL;
	if (low)
		return cmd->note_cipher == NULL
		           ? 0
		           : csirt_error_set(CSIRT_EINVAL,
		                             "a 機密性低 note is stored as "
		                             "plain text, not sealed");
	if (cmd->note_cipher == NULL || cmd->note_key_id == NULL ||
	    cmd->note_text_mac == NULL || cmd->note_cipher_len == 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "a 機密性高・中 note must arrive sealed "
		                       "with its own key and keyed digest");
	snprintf(hdr, sizeof(hdr), "blob %zu", cmd->note_cipher_len);
	sha = crypto_sha1_new();
	crypto_sha1_update(sha, hdr, strlen(hdr) + 1);
	crypto_sha1_update(sha, cmd->note_cipher, cmd->note_cipher_len);
	crypto_sha1_final(sha, d);
	util_hex(hex, d, sizeof(d));
	*blob_out = util_strdup(hex);
	return 0;
}

/* Fills the writer-assigned fields of a note.added payload and renders its
 * file.  Called after the case is loaded and before validation. */
static int
prepare_note(const struct writer_cmd *cmd, const Csirt__V1__Case *current,
             struct buf *path, const char **text, size_t *len)
{
	Csirt__V1__NoteAdded *na = cmd->ev->note_added;
	char sha[CRYPTO_SHA256_HEX_LEN], id[16], *blob = NULL;
	int rc;

	if (na == NULL)
		return csirt_error_set(CSIRT_EINVAL, "note payload missing");
	if ((rc = note_text_check(cmd, text, len)) != 0)
		return rc;
	if ((rc = note_sealed_check(cmd, note_is_low(na->classification),
	                            &blob)) != 0)
		return rc;
	if (current == NULL) {
		free(blob);
		return csirt_error_set(CSIRT_ENOTFOUND, "case not found");
	}
	snprintf(id, sizeof(id), "n%u", current->note_count + 1);
	layout_note_path(path, current->id, current->note_count + 1,
	                 blob != NULL);
	codec_set_string(&na->note_id, id);
	codec_set_string(&na->path, path->data);
	if (blob != NULL) {
		codec_set_string(&na->text_mac, cmd->note_text_mac);
	} else {
		crypto_sha256_hex(sha, *text, *len);
		codec_set_string(&na->text_sha256, sha);
	}
	codec_set_string(&na->content_blob, blob);
	codec_set_string(&na->key_id, blob != NULL ? cmd->note_key_id : NULL);
	na->version = 1;
	free(blob);
	return 0;
}

/* What the writer needs to know of an existing note: its newest version
 * and who wrote it first.  Filled by note_info_cb from the index. */
struct note_info {
	uint32_t last_version;
	char last_sha256[CRYPTO_SHA256_HEX_LEN];
	char *path;   /* of the note file; owned */
	char *author; /* of version 1; owned */
	bool low;     /* 機密性低 (the classification of version 1) */
};

static int
note_info_cb(const struct index_note_version *v, void *arg)
{
	struct note_info *ni = arg;

	if (v->version == 1) {
		ni->author = util_strdup(v->note_author);
		ni->low = note_is_low(v->classification);
	}
	free(ni->path);
	ni->path = util_strdup(v->path);
	ni->last_version = v->version;
	snprintf(ni->last_sha256, sizeof(ni->last_sha256), "%s",
	         v->text_sha256);
	return 0;
}

static void
note_info_free(struct note_info *ni)
{
	free(ni->path);
	free(ni->author);
	memset(ni, 0, sizeof(*ni));
}

/* Looks the note up in the index (this batch's own writes included).
 * CSIRT_ENOTFOUND when the case has no such note. */
static int
note_info_get(struct note_info *out, struct index *ix, const char *case_id,
              const char *note_id)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = index_note_versions(ix, case_id, note_id, note_info_cb, out);
	if (rc == 0 && (out->author == NULL || out->path == NULL))
		rc = csirt_error_set(
		    CSIRT_ETAMPER, "index: note %s of case %s has no version 1",
		    note_id, case_id);
	if (rc != 0)
		note_info_free(out);
	return rc;
}

/*
 * Fills the writer-assigned fields of a note.edited payload (version, path,
 * text_sha256) from the note as the index knows it, and hands back its
 * text.  Called after the case is loaded and before validation.
 *
 * The new version is written to the note's own path, so that `git log -p
 * -- <path>` shows every version.  The classification is not in the
 * payload: an edit inherits the note's (第4.4), and only 機密性低 notes
 * can be edited until note encryption exists.  Returns the original
 * author in *author (owned by the caller) for note_edit_check().
 */
static int
prepare_note_edit(struct writer *w, const struct writer_cmd *cmd,
                  const Csirt__V1__Case *current, struct buf *path,
                  const char **text, size_t *len, char **author)
{
	Csirt__V1__NoteEdited *ne = cmd->ev->note_edited;
	struct note_info ni = {0};
	char sha[CRYPTO_SHA256_HEX_LEN], *blob = NULL;
	int rc;

	if (ne == NULL)
		return csirt_error_set(CSIRT_EINVAL, "note payload missing");
	if ((rc = note_text_check(cmd, text, len)) != 0)
		return rc;
	if (current == NULL)
		return csirt_error_set(CSIRT_ENOTFOUND, "case not found");
	if (ne->note_id[0] == '\0' || strlen(ne->note_id) > CASE_NAME_MAX)
		return csirt_error_set(CSIRT_EINVAL,
		                       "note_id: give the id of a note of the "
		                       "case, like \"n1\"");
	rc = note_info_get(&ni, w->ix, current->id, ne->note_id);
	if (rc == CSIRT_ENOTFOUND)
		rc = csirt_error_set(CSIRT_ENOTFOUND,
		                     "case %s has no note \"%s\"", current->id,
		                     ne->note_id);
	if (rc != 0)
		goto done;
	/* An edit inherits the note's classification (第4.4): sealed
	 * exactly when version 1 was. */
	if ((rc = note_sealed_check(cmd, ni.low, &blob)) != 0)
		goto done;
	/* An unchanged text is refused where it can be told: a sealed
	 * version's digest is keyed by its own key, so two sealed versions
	 * never compare. */
	crypto_sha256_hex(sha, *text, *len);
	if (blob == NULL && strcmp(sha, ni.last_sha256) == 0) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "the text is that of version %" PRIu32
		                     " of note %s: nothing to edit",
		                     ni.last_version, ne->note_id);
		goto done;
	}
	buf_puts(path, ni.path);
	codec_set_string(&ne->path, ni.path);
	if (blob != NULL)
		codec_set_string(&ne->text_mac, cmd->note_text_mac);
	else
		codec_set_string(&ne->text_sha256, sha);
	codec_set_string(&ne->content_blob, blob);
	codec_set_string(&ne->key_id, blob != NULL ? cmd->note_key_id : NULL);
	ne->version = ni.last_version + 1;
	*author = ni.author;
	ni.author = NULL;
	rc = 0;
done:
	free(blob);
	note_info_free(&ni);
	return rc;
}

/*
 * Only the note's author or the CSIRT lead may edit a note (the issue's
 * rule).  lifecycle.c decides which roles may edit notes at all and in
 * which states, and that an investigator is assigned to the case; this
 * narrows it further to the person who wrote the note.  It lives here, not
 * in lifecycle.c (pure: it sees the case, not its notes) nor in the
 * handler (whose read-only snapshot may lag this batch, and which every
 * other way of submitting commands would bypass): the writer is the one
 * place that sees the note's first version at the moment the edit is
 * committed.  Called after case_validate(), so role and state errors come
 * first.
 */
static int
note_edit_check(const Csirt__V1__Event *ev, const char *author)
{
	if (ev->role == CSIRT__V1__ROLE__ROLE_CSIRT_LEAD ||
	    strcmp(ev->actor, author) == 0)
		return 0;
	return csirt_error_set(CSIRT_EDENIED,
	                       "only the author of note %s (%s) or the CSIRT "
	                       "lead may edit it",
	                       ev->note_edited->note_id, author);
}

/*
 * 第13.2: a 所属長 answers requests of their own division's cases only.
 * The event carries no division of its actor, so the writer looks the
 * actor up (the RPC layer already answers not_found for another
 * division's case; this holds for any other way in).
 */
static int
request_division_check(struct writer *w, const Csirt__V1__Event *ev,
                       const Csirt__V1__Case *current)
{
	Csirt__V1__User *u = NULL;
	int rc;

	if (ev->role != CSIRT__V1__ROLE__ROLE_REPORTER || current == NULL ||
	    (ev->payload_case !=
	         CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED &&
	     ev->payload_case != CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED))
		return 0;
	rc = index_user_get(&u, w->ix, ev->actor);
	if (rc == 0 && strcmp(u->division, current->division) != 0)
		rc = csirt_error_set(CSIRT_EDENIED,
		                     "%s is not the 所属長 of division %s",
		                     ev->actor, current->division);
	else if (rc == CSIRT_ENOTFOUND)
		rc = csirt_error_set(CSIRT_EDENIED, "%s is not a user",
		                     ev->actor);
	codec_free(u != NULL ? &u->base : NULL);
	return rc;
}

/*
 * Fills the writer-assigned fields of an evidence.added manifest (all but
 * the blob, which is written once the event is accepted) and checks the
 * item's history: a first version needs a fresh id, a new version must
 * follow the newest, and a disposed item takes nothing more.  The history
 * comes from the index on the writer's connection, so two uploads of a
 * version racing in one batch are told apart (the second gets
 * CSIRT_ECONFLICT).
 */
static int
prepare_evidence(struct writer *w, const struct writer_cmd *cmd,
                 const Csirt__V1__Case *current, struct buf *dir)
{
	Csirt__V1__EvidenceManifest *m =
	    cmd->ev->evidence_added ? cmd->ev->evidence_added->manifest : NULL;
	const Csirt__V1__EvidenceItem *it;
	struct evidence_list l;
	char key_id[64];
	struct buf p = BUF_INIT;
	uint32_t newest;
	int rc;

	if (m == NULL || cmd->content_file == NULL)
		return csirt_error_set(CSIRT_EINVAL,
		                       "evidence payload or content missing");
	if (current == NULL)
		return csirt_error_set(CSIRT_ENOTFOUND, "case not found");
	if ((rc = layout_evidence_id_parse(m->evidence_id, NULL)) != 0)
		return rc;
	if ((rc = evidence_list_case(&l, w->ix, current->id)) != 0)
		return rc;
	it = evidence_list_find(&l, m->evidence_id);
	newest = it != NULL ? (uint32_t)it->n_versions : 0;
	if (it != NULL && it->disposed)
		rc =
		    csirt_error_set(CSIRT_ESTATE,
		                    "evidence %s was disposed (廃棄) and takes "
		                    "no new version",
		                    m->evidence_id);
	else if (it != NULL && m->version == newest + 1 &&
	         it->classification != NULL)
		rc = classify_check_inherits(
		    "classification", m->classification, it->classification);
	else if (m->version != newest + 1)
		rc = csirt_error_set(
		    newest == 0 && m->version > 1 ? CSIRT_ENOTFOUND
		                                  : CSIRT_ECONFLICT,
		    newest == 0 && m->version > 1
		        ? "evidence %s does not exist"
		        : "evidence %s: version %u was added meanwhile; "
		          "upload again as a new version",
		    m->evidence_id, newest == 0 ? 0 : newest);
	evidence_list_free(&l);
	if (rc != 0)
		return rc;
	layout_evidence_dir(dir, m->evidence_id, m->version);
	buf_printf(&p, "%s/content.enc", dir->data);
	codec_set_string(&m->content_path, p.data);
	buf_free(&p);
	snprintf(key_id, sizeof(key_id), "%s.v%u", m->evidence_id, m->version);
	codec_set_string(&m->key_id, key_id);
	codec_set_string(&m->case_id, current->id);
	codec_set_string(&m->uploader, cmd->ev->actor);
	codec_set_string(&m->uploaded_at, cmd->ev->time);
	codec_set_string(&m->encryption, EVIDENCE_ENCRYPTION);
	m->supersedes = m->version > 1 ? m->version - 1 : 0;
	return 0;
}

/* The evidence item `id` of `current`, not disposed: *it points into *l,
 * which the caller frees with evidence_list_free() when this returns 0
 * (on an error nothing is left to free). */
static int
live_item(struct evidence_list *l, const Csirt__V1__EvidenceItem **it,
          struct writer *w, const Csirt__V1__Case *current, const char *id)
{
	int rc;

	if (current == NULL)
		return csirt_error_set(CSIRT_ENOTFOUND, "case not found");
	if ((rc = evidence_list_case(l, w->ix, current->id)) != 0)
		return rc;
	*it = evidence_list_find(l, id);
	if (*it == NULL || (*it)->n_versions == 0)
		rc = csirt_error_set(CSIRT_ENOTFOUND, "evidence %s not found",
		                     id);
	else if ((*it)->disposed)
		rc = csirt_error_set(CSIRT_ESTATE,
		                     "evidence %s was disposed (廃棄) on %s",
		                     id, (*it)->disposed_at);
	if (rc != 0)
		evidence_list_free(l);
	return rc;
}

/* Fills `before` of an evidence.reclassified payload: the item's
 * classification now.  A disposed item is not reviewed any more. */
static int
prepare_reclassify(struct writer *w, const struct writer_cmd *cmd,
                   const Csirt__V1__Case *current)
{
	Csirt__V1__EvidenceReclassified *er = cmd->ev->evidence_reclassified;
	const Csirt__V1__EvidenceItem *it = NULL;
	struct evidence_list l;
	int rc;

	if (er == NULL)
		return csirt_error_set(CSIRT_EINVAL,
		                       "reclassification payload missing");
	if ((rc = live_item(&l, &it, w, current, er->evidence_id)) != 0)
		return rc;
	if (it->classification != NULL) {
		codec_free(er->before ? &er->before->base : NULL);
		er->before = (Csirt__V1__Classification *)codec_clone(
		    &it->classification->base);
	}
	evidence_list_free(&l);
	return rc;
}

/* Fills key_ids of an evidence.disposed payload: every version's key. */
static int
prepare_disposal(struct writer *w, const struct writer_cmd *cmd,
                 const Csirt__V1__Case *current)
{
	Csirt__V1__EvidenceDisposed *ed = cmd->ev->evidence_disposed;
	const Csirt__V1__EvidenceItem *it = NULL;
	struct evidence_list l;
	int rc;

	if (ed == NULL)
		return csirt_error_set(CSIRT_EINVAL,
		                       "disposal payload missing");
	if ((rc = live_item(&l, &it, w, current, ed->evidence_id)) != 0)
		return rc;
	for (size_t i = 0; i < ed->n_key_ids; i++)
		free(ed->key_ids[i]);
	free(ed->key_ids);
	ed->key_ids = util_xcalloc(it->n_versions, sizeof(*ed->key_ids));
	ed->n_key_ids = it->n_versions;
	for (size_t i = 0; i < it->n_versions; i++)
		ed->key_ids[i] = util_strdup(it->versions[i]->key_id);
	evidence_list_free(&l);
	return rc;
}

static bool
note_event(const Csirt__V1__Event *ev)
{
	return ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED ||
	       ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED;
}

/* Is `rc` the command's fault (reply with it) or the batch's (abort)? */
static bool
is_command_error(int rc)
{
	return rc == CSIRT_EINVAL || rc == CSIRT_ENOTFOUND ||
	       rc == CSIRT_ECONFLICT || rc == CSIRT_EDENIED ||
	       rc == CSIRT_ESTATE || rc == CSIRT_EBUSY;
}

/* The drain's report of one commit: the event's index row gets its id. */
static int
commit_drained(void *arg, uint64_t seq, const char commit[LEDGER_OID_HEX])
{
	struct writer *w = arg;

	memcpy(w->last_commit, commit, LEDGER_OID_HEX);
	return seq != 0 ? index_set_event_commit(w->ix, seq, commit) : 0;
}

/* Waits for the batch's queued commits (the ledger is the writer's again
 * afterwards) and gives their index rows their ids.  Batch error on
 * failure, with the failed command in w->cq_failed. */
static int
commits_drain(struct writer *w)
{
	size_t failed;
	int rc = commitq_drain(w->cq, commit_drained, w, &failed);

	if (rc != 0)
		w->cq_failed = failed;
	return rc;
}

/* Validates and applies one command, queueing its ledger commit; the id
 * goes to `commit_out` (NULL: nowhere) when the batch drains.  Returns 0, a
 * command error (nothing was written), or a batch error (the batch must be
 * aborted). */
static int
apply_one(struct writer *w, struct writer_cmd *cmd, uint64_t seq,
          char *commit_out)
{
	Csirt__V1__Event *ev = cmd->ev;
	Csirt__V1__Case *current = NULL;
	struct buf ev_path = BUF_INIT, ev_json = BUF_INIT, f_path = BUF_INIT,
	           f_json = BUF_INIT, msg = BUF_INIT, summary = BUF_INIT;
	struct buf n_path = BUF_INIT, e_dir = BUF_INIT, e_path = BUF_INIT,
	           e_json = BUF_INIT;
	struct ledger_file files[4];
	size_t nfiles = 2;
	const char *note = NULL;
	char *note_author = NULL;
	size_t note_len = 0;
	struct layout_trailers t = {0};
	char now[UTIL_TIME_LEN], case_id[LAYOUT_CASE_ID_LEN];
	const char *type = NULL, *role;
	int64_t now_ms = clock_now_ms(w->clock);
	uint64_t case_events = 0; /* the case's events before this one */
	bool is_case = false;
	int rc, year;

	if (ev == NULL)
		return csirt_error_set(CSIRT_EINVAL, "empty command");
	if ((rc = layout_event_type((int)ev->payload_case, &type, &is_case)) !=
	    0)
		goto done;
	if (!layout_name_valid(ev->actor)) {
		rc = csirt_error_set(CSIRT_EINVAL, "event actor is invalid");
		goto done;
	}
	role = codec_enum_name(&csirt__v1__role__descriptor, ev->role);
	if (role == NULL || ev->role == CSIRT__V1__ROLE__ROLE_UNSPECIFIED) {
		rc = csirt_error_set(CSIRT_EINVAL, "event role is invalid");
		goto done;
	}
	util_time_format_ms(now, sizeof(now), now_ms);
	{
		time_t secs = (time_t)(now_ms / 1000);
		struct tm tm;
		gmtime_r(&secs, &tm);
		year = tm.tm_year + 1900;
	}
	ev->seq = seq;
	codec_set_string(&ev->time, now);
	codec_set_string(&ev->type, type);

	if (is_case) {
		if (ev->payload_case ==
		    CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED) {
			if ((rc = next_case_id(w, year, case_id, false)) != 0)
				goto done;
			codec_set_string(&ev->case_id, case_id);
			if (ev->incident_reported != NULL)
				ev->incident_reported
				    ->report_delay_limit_seconds =
				    w->policy.report_delay_limit_s;
		} else if ((rc = layout_case_id_parse(ev->case_id, NULL,
		                                      NULL)) != 0 ||
		           (rc = index_case_get_counted(&current, &case_events,
		                                        w->ix, ev->case_id)) !=
		               0) {
			if (rc == CSIRT_ENOTFOUND)
				csirt_error_set(rc, "case %s not found",
				                ev->case_id);
			goto done;
		}
		if (ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED &&
		    (rc = prepare_note(cmd, current, &n_path, &note,
		                       &note_len)) != 0)
			goto done;
		if (ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED &&
		    (rc = prepare_note_edit(w, cmd, current, &n_path, &note,
		                            &note_len, &note_author)) != 0)
			goto done;
		if (ev->payload_case ==
		        CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_ADDED &&
		    (rc = prepare_evidence(w, cmd, current, &e_dir)) != 0)
			goto done;
		if (ev->payload_case ==
		        CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_DISPOSED &&
		    (rc = prepare_disposal(w, cmd, current)) != 0)
			goto done;
		if (ev->payload_case ==
		        CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_RECLASSIFIED &&
		    (rc = prepare_reclassify(w, cmd, current)) != 0)
			goto done;
		/* 第13.2: the request and item ids are the server's. */
		request_prepare(current, ev);
		if ((rc = case_validate(current, ev)) != 0 ||
		    (rc = request_division_check(w, ev, current)) != 0)
			goto done;
		if (note_author != NULL &&
		    (rc = note_edit_check(ev, note_author)) != 0)
			goto done;
		if (current == NULL) {
			if ((rc = next_case_id(w, year, case_id, true)) != 0)
				goto done;
			current = case_new();
		}
		if ((rc = case_apply(current, ev)) != 0) {
			rc = csirt_error_wrap(CSIRT_EFAIL, "fold");
			goto done;
		}
		layout_case_json(&f_path, ev->case_id);
		if ((rc = codec_to_json(&f_json, &current->base,
		                        CODEC_PRETTY)) != 0)
			goto done;
	} else {
		codec_set_string(&ev->case_id, NULL);
		if ((rc = directory_file(w, ev, &f_path, &f_json)) != 0)
			goto done;
	}

	/* From here on nothing is the command's fault: any failure is an
	 * I/O or internal error that aborts the batch. */
	if (e_dir.len > 0) {
		/* The content streams from the staging file into a pack of
		 * its own; the event and manifest name its blob. */
		Csirt__V1__EvidenceManifest *m = ev->evidence_added->manifest;
		char blob[LEDGER_OID_HEX];
		uint64_t csize = 0;

		/* The ledger is the commit thread's until drained. */
		if ((rc = commits_drain(w)) != 0 ||
		    (rc = ledger_blob_put_file(w->lg, m->content_path,
		                               cmd->content_file, blob,
		                               &csize)) != 0)
			goto done;
		codec_set_string(&m->content_blob, blob);
		m->content_size = csize;
		buf_printf(&e_path, "%s/manifest.json", e_dir.data);
		if ((rc = codec_to_json(&e_json, &m->base, CODEC_PRETTY)) != 0)
			goto done;
	}
	/* Its number in the case: Case-Seq, and its file's bucket. */
	t.case_seq = is_case ? case_events + 1 : 0;
	layout_event_path(&ev_path, ev->case_id, seq, t.case_seq);
	if ((rc = codec_to_json(&ev_json, &ev->base, CODEC_PRETTY)) != 0) {
		rc = csirt_error_wrap(CSIRT_EFAIL, "encoding event");
		goto done;
	}
	util_copy2(t.event, sizeof(t.event), type, NULL);
	util_copy2(t.case_id, sizeof(t.case_id), ev->case_id, NULL);
	t.seq = seq;
	util_copy2(t.actor, sizeof(t.actor), ev->actor, NULL);
	util_copy2(t.role, sizeof(t.role), role, NULL);
	crypto_sha256_hex(t.event_sha256, ev_json.data, ev_json.len);
	if (w->cp.signer != NULL &&
	    (rc = merkle_append_sha256_hex(&w->cp.tree, t.event_sha256)) != 0)
		goto done;
	/* "case.acknowledged 2026-000123 by sm", "user.created users/admin
	 * by csirtd": the subject without "directory/" and ".json". */
	if (is_case)
		buf_printf(&summary, "%s %s by %s", type, ev->case_id,
		           ev->actor);
	else
		buf_printf(
		    &summary, "%s %.*s by %s", type,
		    (int)(f_path.len - strlen("directory/") - strlen(".json")),
		    f_path.data + strlen("directory/"), ev->actor);
	layout_message(&msg, summary.data, &t);

	files[0] =
	    (struct ledger_file){ev_path.data, ev_json.data, ev_json.len};
	files[1] = (struct ledger_file){f_path.data, f_json.data, f_json.len};
	if (note != NULL && cmd->note_cipher != NULL)
		files[nfiles++] = (struct ledger_file){
		    n_path.data, cmd->note_cipher, cmd->note_cipher_len};
	else if (note != NULL)
		files[nfiles++] =
		    (struct ledger_file){n_path.data, note, note_len};
	if (e_json.len > 0)
		files[nfiles++] =
		    (struct ledger_file){e_path.data, e_json.data, e_json.len};
	{
		/* The files' own storage moves into the queue; a note's text
		 * and cipher are the command's, valid until it completes. */
		struct buf *const own[] = {&ev_path, &ev_json, &f_path, &f_json,
		                           &n_path,  &e_path,  &e_json};

		commitq_commit(w->cq, ev->actor, now_ms, &msg, files, nfiles,
		               own, UTIL_ARRAY_LEN(own), seq, w->cur,
		               commit_out);
	}
	if ((rc = index_apply(w->ix, ev, INDEX_COMMIT_PENDING, current,
	                      cmd->note_cipher != NULL ? NULL : note)) != 0) {
		if (is_command_error(rc))
			rc = csirt_error_wrap(CSIRT_EFAIL, "index");
		goto done;
	}
	cmd->seq = seq;
	cmd->case_after = current;
	current = NULL;
	rc = 0;
done:
	if (current != NULL)
		case_free(current);
	free(note_author);
	buf_free(&ev_path);
	buf_free(&ev_json);
	buf_free(&n_path);
	buf_free(&e_dir);
	buf_free(&e_path);
	buf_free(&e_json);
	buf_free(&f_path);
	buf_free(&f_json);
	buf_free(&msg);
	buf_free(&summary);
	return rc;
}

static void
cmd_fail(struct writer_cmd *cmd, int rc)
{
	cmd->rc = rc;
	snprintf(cmd->err, sizeof(cmd->err), "%s", csirt_error_msg());
}

/*
 * After an accepted report `cmd` (seq `seq`): when its category is in
 * policy.auto_escalate, applies a case.escalated event by the daemon as
 * event seq + 1 of the same batch, and hands the escalated case to `cmd`.
 * Sets *added to 1 when it did.  An escalation the lifecycle refuses is
 * logged and skipped (the report stands); a batch error is returned.
 */
static int
auto_escalate(struct writer *w, struct writer_cmd *cmd, uint64_t seq,
              int *added)
{
	struct writer_cmd sub;
	const Csirt__V1__Case *rc_case;
	Csirt__V1__Event *ev;
	char reason[160];
	int rc;

	*added = 0;
	if (cmd->ev->payload_case !=
	        CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED ||
	    cmd->case_after == NULL)
		return 0;
	rc_case = cmd->case_after;
	if (rc_case->category <= 0 || rc_case->category >= 32 ||
	    !(w->policy.auto_escalate & (1u << rc_case->category)))
		return 0;
	ev = util_xmalloc(sizeof(*ev));
	csirt__v1__event__init(ev);
	codec_set_string(&ev->case_id, rc_case->id);
	codec_set_string(&ev->actor, WRITER_SYSTEM_ACTOR);
	ev->role = CSIRT__V1__ROLE__ROLE_SYSTEM;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_CASE_ESCALATED;
	ev->case_escalated = util_xmalloc(sizeof(*ev->case_escalated));
	csirt__v1__case_escalated__init(ev->case_escalated);
	snprintf(reason, sizeof(reason),
	         "automatic: category %d is escalated on report "
	         "(auto_escalate_categories)",
	         (int)rc_case->category);
	codec_set_string(&ev->case_escalated->reason, reason);
	memset(&sub, 0, sizeof(sub));
	sub.ev = ev;
	rc = apply_one(w, &sub, seq + 1, NULL);
	if (rc == 0) {
		codec_free(&cmd->case_after->base);
		cmd->case_after = sub.case_after;
		sub.case_after = NULL;
		*added = 1;
	} else if (is_command_error(rc)) {
		log_error("automatic escalation refused", "case", rc_case->id,
		          "error", csirt_error_msg());
		rc = 0;
	}
	writer_cmd_release(&sub);
	return rc;
}

/* ---- checkpoints --------------------------------------------------- */

/* Whether a checkpoint is due at `now_ms`: enabled, events added since the
 * last one, and `every` events or `interval_ms` passed. */
static bool
checkpoint_due(const struct writer *w, int64_t now_ms)
{
	uint64_t added = w->cp.tree.size - w->cp.last_size;

	if (w->cp.signer == NULL || added == 0)
		return false;
	return (w->cp.every > 0 && added >= w->cp.every) ||
	       (w->cp.interval_ms > 0 &&
	        now_ms - w->cp.last_ms >= w->cp.interval_ms);
}

/*
 * Adds the checkpoint of the current tree to the open ledger batch, on top
 * of `commit` (the batch's last event commit, which the checkpoint names),
 * and replaces `commit` with the checkpoint's commit.  Batch error on
 * failure.
 */
static int
checkpoint_commit(struct writer *w, int64_t now_ms, char commit[LEDGER_OID_HEX])
{
	struct checkpoint cp;
	struct buf note = BUF_INIT, path = BUF_INIT, msg = BUF_INIT;
	struct ledger_file file;
	struct ledger_commit_info info;
	int rc;

	memset(&cp, 0, sizeof(cp));
	memcpy(cp.origin, w->cp.origin, sizeof(cp.origin));
	cp.size = w->cp.tree.size;
	merkle_root(&w->cp.tree, cp.root);
	memcpy(cp.head, commit, LEDGER_OID_HEX);
	if ((rc = checkpoint_sign(&note, &cp, w->cp.signer)) != 0)
		goto done;
	layout_checkpoint_path(&path, cp.size);
	layout_checkpoint_message(&msg, cp.size);
	file = (struct ledger_file){path.data, note.data, note.len};
	info =
	    (struct ledger_commit_info){WRITER_SYSTEM_ACTOR, now_ms, msg.data};
	rc = ledger_commit(w->lg, &info, &file, 1, commit);
	if (rc == 0)
		memcpy(w->cp.commit, commit, LEDGER_OID_HEX);
done:
	buf_free(&note);
	buf_free(&path);
	buf_free(&msg);
	return rc;
}

/*
 * Saves the tree as of the newest checkpoint, so that a restart reads only
 * the commits after it.  Derived data: on failure the next start-up walks
 * the whole ledger instead.  An atomic write with its fsyncs, on the
 * writer (a create, a rename and two fsyncs: ~1.2 ms on this machine's
 * ext4), which was every checkpoint's (a thousand events by default) until
 * it was kept to one in WRITER_FRONTIER_EVERY events and the writer's
 * stop.  A restart after a crash then reads at most that many commits more
 * (ledger_walk: a start-up without the file read 35,289 commits in 0.28 s
 * more than one with it).
 */
static void
frontier_save(struct writer *w)
{
	struct buf b = BUF_INIT;

	if (w->cp.frontier_path == NULL ||
	    w->cp.last_tree.size == w->cp.saved_size)
		return;
	merkle_save(&b, &w->cp.last_tree, w->cp.last_commit);
	if (util_write_file_atomic(w->cp.frontier_path, b.data, b.len, 0600) !=
	    0)
		log_warn("cannot save the checkpoint tree", "error",
		         csirt_error_msg());
	else
		w->cp.saved_size = w->cp.last_tree.size;
	buf_free(&b);
}

/* After a durable batch that wrote a checkpoint. */
static void
checkpoint_done(struct writer *w, int64_t now_ms)
{
	char size[24];

	w->cp.last_size = w->cp.tree.size;
	w->cp.last_ms = now_ms;
	pthread_mutex_lock(&w->mu);
	w->stats.checkpoints++;
	w->stats.checkpoint_size = w->cp.last_size;
	pthread_mutex_unlock(&w->mu);
	snprintf(size, sizeof(size), "%" PRIu64, w->cp.last_size);
	log_debug("checkpoint written", "size", size);
	w->cp.last_tree = w->cp.tree;
	memcpy(w->cp.last_commit, w->cp.commit, LEDGER_OID_HEX);
	if (w->cp.saved_size == 0 ||
	    w->cp.last_tree.size - w->cp.saved_size >= WRITER_FRONTIER_EVERY)
		frontier_save(w);
}

/*
 * A batch of its own for a checkpoint that fell due by time while no
 * command came (writer thread, or writer_run_once()).  Failures are those
 * of any batch: past the durability point the writer turns broken.
 */
static int
checkpoint_idle(struct writer *w)
{
	int64_t now_ms = clock_now_ms(w->clock);
	char commit[LEDGER_OID_HEX];
	int rc;

	if (w->broken || !checkpoint_due(w, now_ms))
		return 0;
	/* The tree grew since the last checkpoint, so the head is the
	 * newest event's commit. */
	ledger_head(w->lg, commit);
	if ((rc = index_checkpointer_check(w->ix)) != 0) {
		w->broken = true;
		return rc;
	}
	if ((rc = index_begin(w->ix)) != 0)
		return rc;
	if ((rc = ledger_batch_begin(w->lg)) != 0) {
		index_rollback(w->ix);
		return rc;
	}
	if ((rc = checkpoint_commit(w, now_ms, commit)) != 0 ||
	    (rc = index_set_position(w->ix, w->last_seq, commit)) != 0) {
		ledger_batch_abort(w->lg);
		index_rollback(w->ix);
		return rc;
	}
	if ((rc = ledger_batch_finish(w->lg)) != 0) {
		index_rollback(w->ix);
		w->broken = true;
		return rc;
	}
	if ((rc = index_commit(w->ix)) != 0) {
		w->broken = true;
		return rc;
	}
	checkpoint_done(w, now_ms);
	w->moved_deadlines = false;
	if (w->commit_hook != NULL)
		w->commit_hook(w->commit_hook_arg);
	return 0;
}

/* How long the idle writer may wait before a checkpoint falls due by
 * time, or -1 when none is pending. */
static int64_t
checkpoint_wait_ms(const struct writer *w)
{
	int64_t left;

	if (w->cp.signer == NULL || w->cp.interval_ms == 0 || w->broken ||
	    w->cp.tree.size == w->cp.last_size)
		return -1;
	left = w->cp.last_ms + w->cp.interval_ms - clock_now_ms(w->clock);
	return left < 1 ? 1 : left;
}

/* Rebuilds the tree from the ledger (start-up). */
static int
checkpoint_walk_cb(const char *commit, const char *message, void *arg)
{
	struct writer *w = arg;
	struct layout_trailers t;
	uint64_t size;
	int rc;

	rc = layout_checkpoint_parse(&size, message);
	if (rc == 0) {
		if (size != w->cp.tree.size)
			return csirt_error_set(
			    CSIRT_ETAMPER,
			    "commit %.12s: checkpoint of %" PRIu64
			    " events after %" PRIu64 " events",
			    commit, size, w->cp.tree.size);
		w->cp.last_size = size;
		w->cp.last_tree = w->cp.tree;
		util_copy2(w->cp.last_commit, sizeof(w->cp.last_commit), commit,
		           NULL);
		return 0;
	}
	if (rc != CSIRT_ENOTFOUND)
		return csirt_error_wrap(rc, "commit %.12s", commit);
	if ((rc = layout_trailers_parse(&t, message)) != 0)
		return csirt_error_wrap(rc, "commit %.12s", commit);
	if (t.seq != w->cp.tree.size + 1)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "commit %.12s has Seq %" PRIu64
		                       ", expected %" PRIu64,
		                       commit, t.seq, w->cp.tree.size + 1);
	return merkle_append_sha256_hex(&w->cp.tree, t.event_sha256);
}

/*
 * Resumes the tree from the saved frontier: only if its root and size are
 * those of the signed checkpoint note committed at the commit it names,
 * and that commit is in the ledger's history; then reads the commits after
 * it.  Any failure leaves the tree for a full walk.
 */
static int
checkpoint_resume(struct writer *w, const char *pub)
{
	char *text = NULL, *note = NULL;
	size_t len = 0, nlen = 0;
	char commit[LEDGER_OID_HEX];
	unsigned char root[MERKLE_HASH_LEN];
	struct merkle m;
	struct checkpoint cp;
	struct buf path = BUF_INIT;
	char *keys[1];
	int rc;

	keys[0] = (char *)(uintptr_t)pub;
	if ((rc = util_read_file(&text, &len, w->cp.frontier_path, 8192)) !=
	        0 ||
	    (rc = merkle_load(&m, commit, text)) != 0)
		goto done;
	layout_checkpoint_path(&path, m.size);
	if ((rc = ledger_read_file(&note, &nlen, w->lg, commit, path.data)) !=
	        0 ||
	    (rc = checkpoint_open(&cp, note, nlen, keys, 1)) != 0)
		goto done;
	merkle_root(&m, root);
	if (cp.size != m.size || memcmp(cp.root, root, sizeof(root)) != 0) {
		rc = csirt_error_set(CSIRT_ETAMPER,
		                     "the saved tree does not match checkpoint "
		                     "%.12s",
		                     commit);
		goto done;
	}
	w->cp.tree = m;
	w->cp.last_size = m.size;
	w->cp.last_tree = m;
	memcpy(w->cp.last_commit, commit, LEDGER_OID_HEX);
	w->cp.saved_size = m.size;
	rc = ledger_walk(w->lg, commit, checkpoint_walk_cb, w);
done:
	free(text);
	free(note);
	buf_free(&path);
	return rc;
}

int
writer_set_checkpoints(struct writer *w, const struct crypto_signer *signer,
                       uint64_t every, uint64_t interval_s,
                       const char *frontier_path)
{
	char *pub;
	int rc;

	merkle_init(&w->cp.tree);
	merkle_init(&w->cp.last_tree);
	w->cp.last_size = w->cp.saved_size = 0;
	w->cp.signer = NULL;
	free(w->cp.frontier_path);
	w->cp.frontier_path = NULL;
	if (signer == NULL || (every == 0 && interval_s == 0))
		return 0;
	w->cp.signer = signer;
	if (frontier_path != NULL) {
		w->cp.frontier_path = util_strdup(frontier_path);
		pub = crypto_signer_public(signer);
		rc = util_path_exists(frontier_path) ? checkpoint_resume(w, pub)
		                                     : CSIRT_ENOTFOUND;
		free(pub);
		if (rc != 0 && rc != CSIRT_ENOTFOUND)
			log_warn("reading the whole ledger for the checkpoint "
			         "tree",
			         "reason", csirt_error_msg());
		if (rc != 0) {
			merkle_init(&w->cp.tree);
			merkle_init(&w->cp.last_tree);
			w->cp.last_size = w->cp.saved_size = 0;
		}
	} else {
		rc = -1;
	}
	if (rc != 0 &&
	    (rc = ledger_walk(w->lg, "", checkpoint_walk_cb, w)) != 0) {
		w->cp.signer = NULL;
		return rc;
	}
	if (w->cp.tree.size != w->last_seq) {
		w->cp.signer = NULL;
		return csirt_error_set(CSIRT_ETAMPER,
		                       "the ledger holds %" PRIu64
		                       " events, the index %" PRIu64,
		                       w->cp.tree.size, w->last_seq);
	}
	pub = crypto_signer_public(signer);
	checkpoint_origin(w->cp.origin, pub);
	free(pub);
	w->cp.every = every;
	w->cp.interval_ms = (int64_t)interval_s * 1000;
	w->cp.last_ms = clock_now_ms(w->clock);
	return 0;
}

const char *const writer_phase_names[WRITER_PHASES] = {
    "idle", "apply", "gather", "drain", "durable", "commit", "answer"};

/* The time since the last phase ended is phase `p`'s. */
static void
phase_end(struct writer *w, enum writer_phase p)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	w->phase_ns[p] +=
	    (uint64_t)((int64_t)(now.tv_sec - w->phase_mark.tv_sec) *
	                   1000000000 +
	               (now.tv_nsec - w->phase_mark.tv_nsec));
	w->phase_mark = now;
}

/* After a batch: `before` held phase_ns when it was taken.  Counts it
 * (w->mu held, before phases_publish()) and returns its length in
 * microseconds, waiting for its first command not counted; took_ns gets
 * each phase's nanoseconds. */
static uint64_t
batch_account(struct writer *w, const uint64_t before[WRITER_PHASES],
              uint64_t took_ns[WRITER_PHASES])
{
	uint64_t total = 0;

	for (size_t i = 0; i < WRITER_PHASES; i++) {
		took_ns[i] = w->phase_ns[i] - before[i];
		if (i != WRITER_IDLE)
			total += took_ns[i];
	}
	total /= 1000;
	if (total > w->stats.longest_batch_us)
		w->stats.longest_batch_us = total;
	if (total >= (uint64_t)WRITER_SLOW_BATCH_MS * 1000)
		w->stats.slow_batches++;
	return total;
}

/* Logs a slow batch of `n` commands, `took_us` long, by phase. */
static void
batch_log_slow(const uint64_t took_ns[WRITER_PHASES], uint64_t took_us,
               size_t n)
{
	char ms[WRITER_PHASES][24], total[24], cmds[24];

	for (size_t i = 0; i < WRITER_PHASES; i++)
		snprintf(ms[i], sizeof(ms[i]), "%.1f",
		         (double)took_ns[i] / 1e6);
	snprintf(total, sizeof(total), "%.1f", (double)took_us / 1000);
	snprintf(cmds, sizeof(cmds), "%zu", n);
	log_warn("slow ledger batch", "ms", total, "commands", cmds, "apply_ms",
	         ms[WRITER_APPLY], "gather_ms", ms[WRITER_GATHER], "drain_ms",
	         ms[WRITER_DRAIN], "durable_ms", ms[WRITER_DURABLE],
	         "commit_ms", ms[WRITER_COMMIT], "answer_ms",
	         ms[WRITER_ANSWER]);
}

/* Moves the phases' whole microseconds into stats (w->mu held). */
static void
phases_publish(struct writer *w)
{
	for (size_t i = 0; i < WRITER_PHASES; i++) {
		w->stats.phase_us[i] += w->phase_ns[i] / 1000;
		w->phase_ns[i] %= 1000;
	}
}

static size_t take_more(struct writer *w, struct writer_cmd **cmds, size_t have,
                        const struct timespec *until);

/* Runs one batch; returns 0, or a batch error after which every command
 * not yet failed must be failed by the caller.  With `intake`, commands
 * queued meanwhile join the batch as its last one is applied (take_more(),
 * waiting until `until` when not NULL), and *np grows. */
static int
batch_try(struct writer *w, struct writer_cmd **cmds, size_t *np, bool intake,
          const struct timespec *until, size_t *culprit)
{
	uint64_t seq = w->last_seq;
	char commit[LEDGER_OID_HEX] = "";
	size_t accepted = 0;
	bool moved = false;
	int64_t now_ms;
	bool checkpointed = false;
	int rc, err;

	*culprit = SIZE_MAX;
	/* A failed background checkpoint stops the writer like any failed
	 * fsync: nothing after it is trusted. */
	if ((rc = index_checkpointer_check(w->ix)) != 0) {
		w->broken = true;
		return rc;
	}
	if ((rc = index_begin(w->ix)) != 0)
		return rc;
	if ((rc = ledger_batch_begin(w->lg)) != 0) {
		index_rollback(w->ix);
		return rc;
	}
	w->cp.saved = w->cp.tree;
	w->cq_failed = SIZE_MAX;
	for (size_t i = 0;; i++) {
		if (i == *np) {
			size_t got =
			    intake ? take_more(w, cmds, *np, until) : 0;
			if (got == 0)
				break;
			*np += got;
		}
		if (cmds[i]->rc != 0)
			continue; /* failed in an earlier attempt */
		w->cur = i;
		rc = apply_one(w, cmds[i], seq + 1, cmds[i]->commit);
		if (rc == 0) {
			int added = 0;
			seq++;
			accepted++;
			moved = moved || !note_event(cmds[i]->ev);
			if ((rc = auto_escalate(w, cmds[i], seq, &added)) !=
			    0) {
				*culprit = i;
				goto abort;
			}
			if (added) {
				seq++;
				accepted++;
				moved = true;
			}
		} else if (is_command_error(rc)) {
			cmd_fail(cmds[i], rc);
		} else {
			*culprit = i;
			goto abort;
		}
	}
	phase_end(w, WRITER_APPLY);
	if (accepted == 0) {
		commitq_discard(w->cq);
		ledger_batch_abort(w->lg);
		index_rollback(w->ix);
		return 0;
	}
	if ((rc = commits_drain(w)) != 0) {
		*culprit = w->cq_failed;
		goto abort;
	}
	memcpy(commit, w->last_commit, sizeof(commit));
	/* A checkpoint falls due at the end of a batch: its own commit on
	 * top of the batch's last event, durable with them. */
	now_ms = clock_now_ms(w->clock);
	if (checkpoint_due(w, now_ms)) {
		if ((rc = checkpoint_commit(w, now_ms, commit)) != 0) {
			*culprit = SIZE_MAX;
			goto abort;
		}
		checkpointed = true;
	}
	if ((rc = index_set_position(w->ix, seq, commit)) != 0) {
		*culprit = SIZE_MAX;
		goto abort;
	}
	phase_end(w, WRITER_DRAIN);
	/* Durability point: pack + ref, then the index.  No retry past here:
	 * after a failed fsync the state on disk is unknown.  Meanwhile the
	 * index's pages go into its WAL, uncommitted (index_flush_start()),
	 * so that the COMMIT after the durable write is one frame. */
	index_flush_start(w->ix);
	rc = ledger_batch_finish(w->lg);
	if ((err = index_flush_wait(w->ix)) != 0 && rc == 0) {
		/* Durable, but not indexed: as a failed COMMIT. */
		index_rollback(w->ix);
		w->broken = true;
		return err;
	}
	if (rc != 0) {
		index_rollback(w->ix);
		w->broken = true;
		return rc;
	}
	phase_end(w, WRITER_DURABLE);
	if ((rc = index_commit(w->ix)) != 0) {
		w->broken = true;
		return rc;
	}
	phase_end(w, WRITER_COMMIT);
	if (checkpointed)
		checkpoint_done(w, now_ms);
	pthread_mutex_lock(&w->mu);
	w->last_seq = seq;
	w->stats.batches++;
	w->stats.events += accepted;
	if (accepted > w->stats.max_batch)
		w->stats.max_batch = accepted;
	pthread_mutex_unlock(&w->mu);
	w->moved_deadlines = moved;
	if (w->commit_hook != NULL)
		w->commit_hook(w->commit_hook_arg);
	return 0;
abort:
	/* A command whose queued commit failed is the culprit, whoever
	 * noticed (the drain, or a later command that had to drain). */
	if (w->cq_failed != SIZE_MAX)
		*culprit = w->cq_failed;
	commitq_discard(w->cq);
	ledger_batch_abort(w->lg);
	index_rollback(w->ix);
	w->cp.tree = w->cp.saved;
	w->nyears = 0; /* counters may have advanced; reload */
	for (size_t i = 0; i < *np; i++) {
		if (cmds[i]->rc == 0 && cmds[i]->case_after != NULL) {
			codec_free(&cmds[i]->case_after->base);
			cmds[i]->case_after = NULL;
		}
	}
	return rc;
}

/* Runs a batch of the `*np` commands taken, and (`until`: see
 * batch_try()) those that join it; *np is the final count. */
static void
process_batch(struct writer *w, struct writer_cmd **cmds, size_t *np,
              const struct timespec *until)
{
	size_t culprit, n = *np;
	int rc;

	for (size_t i = 0; i < n; i++) {
		cmds[i]->rc = 0;
		cmds[i]->err[0] = '\0';
	}
	if (w->broken) {
		csirt_error_set(
		    CSIRT_EUNAVAILABLE,
		    "the ledger writer stopped after a storage failure; "
		    "restart csirtd");
		for (size_t i = 0; i < n; i++)
			cmd_fail(cmds[i], CSIRT_EUNAVAILABLE);
		return;
	}
	rc = batch_try(w, cmds, np, true, until, &culprit);
	n = *np;
	if (rc != 0 && !w->broken && culprit != SIZE_MAX) {
		/* One command broke the batch: fail it, run the rest again
		 * (no newcomers this time). */
		log_error("command aborted its batch", "error",
		          csirt_error_msg());
		cmd_fail(cmds[culprit], CSIRT_EFAIL);
		rc = batch_try(w, cmds, np, false, NULL, &culprit);
	}
	if (rc != 0) {
		log_error("ledger batch failed", "error", csirt_error_msg(),
		          "broken", w->broken ? "true" : "false");
		csirt_error_wrap(CSIRT_EUNAVAILABLE, "storage failure");
		for (size_t i = 0; i < n; i++)
			if (cmds[i]->rc == 0)
				cmd_fail(cmds[i], CSIRT_EUNAVAILABLE);
	}
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < n; i++) {
		if (cmds[i]->rc == CSIRT_EUNAVAILABLE ||
		    cmds[i]->rc == CSIRT_EFAIL)
			w->stats.failed++;
		else if (cmds[i]->rc != 0)
			w->stats.rejected++;
	}
	pthread_mutex_unlock(&w->mu);
}

/* ---- queue and thread ---------------------------------------------- */

int
writer_submit(struct writer *w, struct writer_cmd *cmd)
{
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	if (w->stopping || w->broken) {
		rc = csirt_error_set(
		    CSIRT_EUNAVAILABLE,
		    "the ledger writer is not accepting commands");
	} else if (w->qlen >= w->qmax) {
		rc = csirt_error_set(
		    CSIRT_EBUSY,
		    "the ledger writer queue is full (%zu); retry later",
		    w->qmax);
	} else {
		cmd->next = NULL;
		if (w->tail != NULL)
			w->tail->next = cmd;
		else
			w->head = cmd;
		w->tail = cmd;
		w->qlen++;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

static void
deadline_after_us(struct timespec *ts, int64_t us)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(us / 1000000);
	ts->tv_nsec += (long)(us % 1000000) * 1000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Takes up to batch_max commands; with `wait`, blocks until some arrive,
 * the writer stops, or a pending checkpoint falls due by time (then it
 * returns 0 without stopping).  Returns the count. */
static size_t
take(struct writer *w, struct writer_cmd **cmds, bool wait)
{
	int64_t wait_ms = wait ? checkpoint_wait_ms(w) : -1;
	size_t n = 0;

	pthread_mutex_lock(&w->mu);
	while (wait && w->head == NULL && !w->stopping) {
		struct timespec ts;
		if (wait_ms < 0) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		deadline_after_us(&ts, wait_ms * 1000);
		if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
			break; /* timed out: time for the checkpoint */
	}
	while (w->head != NULL && n < w->batch_max) {
		cmds[n++] = w->head;
		w->head = w->head->next;
		w->qlen--;
	}
	if (w->head == NULL)
		w->tail = NULL;
	pthread_mutex_unlock(&w->mu);
	return n;
}

/*
 * Commands that join the open batch (cmds[have...]), up to batch_max.
 *
 * Under load the clients acknowledged by one batch send their next
 * commands while the loop thread answers them, so when a batch starts
 * the queue holds only the first few of them: taken as they were,
 * batches alternated between large and small (csirt-bench note, 64
 * connections: 64, 1, 63, 1, ...).  Waiting for them before starting
 * (until as many were queued as the previous batch had, for at most a
 * quarter of its time) gave 47 events a batch, but left the writer and
 * the commit thread idle for 2.5 ms of a 16 ms batch.  Instead the batch
 * starts at once and takes the newcomers as it goes; only when it has
 * applied everything queued, has fewer than the previous batch, and
 * `until` (that same bound) has not passed does it wait for more.  A lone
 * client (previous batch of 1) never waits.
 */
static size_t
take_more(struct writer *w, struct writer_cmd **cmds, size_t have,
          const struct timespec *until)
{
	size_t n = 0;

	pthread_mutex_lock(&w->mu);
	if (until != NULL && w->head == NULL && have < w->last_n &&
	    !w->stopping) {
		phase_end(w, WRITER_APPLY);
		while (w->head == NULL && have < w->last_n && !w->stopping)
			if (pthread_cond_timedwait(&w->cv, &w->mu, until) != 0)
				break;
		phase_end(w, WRITER_GATHER);
	}
	while (w->head != NULL && have + n < w->batch_max) {
		cmds[have + n++] = w->head;
		w->head = w->head->next;
		w->qlen--;
	}
	if (w->head == NULL)
		w->tail = NULL;
	w->stats.joined += n;
	pthread_mutex_unlock(&w->mu);
	for (size_t i = have; i < have + n; i++) {
		cmds[i]->rc = 0;
		cmds[i]->err[0] = '\0';
	}
	return n;
}

static void
complete(struct writer_cmd **cmds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cmds[i]->done != NULL)
			cmds[i]->done(cmds[i], cmds[i]->arg);
}

int
writer_run_once(struct writer *w)
{
	struct writer_cmd **cmds = util_xcalloc(w->batch_max, sizeof(*cmds));
	size_t n;

	while ((n = take(w, cmds, false)) > 0) {
		process_batch(w, cmds, &n, NULL);
		complete(cmds, n);
	}
	free(cmds);
	if (checkpoint_idle(w) != 0)
		log_error("checkpoint failed", "error", csirt_error_msg());
	return w->broken
	           ? csirt_error_set(CSIRT_EUNAVAILABLE, "ledger writer broken")
	           : 0;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct writer_cmd **cmds = util_xcalloc(w->batch_max, sizeof(*cmds));
	size_t n;

	util_thread_name("writer");
	for (;;) {
		bool stopping;
		n = take(w, cmds, true);
		phase_end(w, WRITER_IDLE);
		pthread_mutex_lock(&w->mu);
		stopping = w->stopping;
		pthread_mutex_unlock(&w->mu);
		if (n == 0 && stopping)
			break; /* stopping and drained */
		if (n == 0) {
			if (checkpoint_idle(w) != 0)
				log_error("checkpoint failed", "error",
				          csirt_error_msg());
			continue;
		}
		{
			struct timespec t0, t1, until, *up = NULL;
			uint64_t before[WRITER_PHASES], took[WRITER_PHASES],
			    took_us;

			memcpy(before, w->phase_ns, sizeof(before));
			clock_gettime(CLOCK_MONOTONIC, &t0);
			pthread_mutex_lock(&w->mu);
			if (w->last_n > 1) {
				int64_t us = w->last_us / 4;
				deadline_after_us(&until,
				                  us < WRITER_GATHER_MAX_US
				                      ? us
				                      : WRITER_GATHER_MAX_US);
				up = &until;
			}
			pthread_mutex_unlock(&w->mu);
			process_batch(w, cmds, &n, up);
			complete(cmds, n);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			/* A WAL catch-up checkpoint that is due (index.c) runs
			 * now, while the clients just answered send their next
			 * commands, not at the start of the batch they form,
			 * which would wait for it (3-8 ms every ~30 batches
			 * under load). */
			if (!w->broken &&
			    index_checkpointer_check(w->ix) != 0) {
				log_error("index checkpoint failed", "error",
				          csirt_error_msg());
				pthread_mutex_lock(&w->mu);
				w->broken = true;
				pthread_mutex_unlock(&w->mu);
			}
			phase_end(w, WRITER_ANSWER);
			pthread_mutex_lock(&w->mu);
			took_us = batch_account(w, before, took);
			phases_publish(w);
			w->last_n = n;
			w->last_us =
			    (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
			    (t1.tv_nsec - t0.tv_nsec) / 1000;
			pthread_mutex_unlock(&w->mu);
			if (took_us >= (uint64_t)WRITER_SLOW_BATCH_MS * 1000)
				batch_log_slow(took, took_us, n);
		}
	}
	free(cmds);
	return NULL;
}

int
writer_start(struct writer *w)
{
	int rc;

	if ((rc = commitq_start(w->cq)) != 0 ||
	    (rc = index_checkpointer_start(w->ix)) != 0)
		return rc;
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0)
		return csirt_error_set(CSIRT_EFAIL,
		                       "cannot start the writer thread");
	w->started = true;
	return 0;
}

void
writer_stop(struct writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->started) {
		pthread_join(w->thread, NULL);
		w->started = false;
	}
	frontier_save(w);
	index_checkpointer_stop(w->ix);
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	writer_stop(w);
	commitq_free(w->cq);
	index_set_whole_batch(w->ix, false);
	free(w->cp.frontier_path);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

uint64_t
writer_last_seq(struct writer *w)
{
	uint64_t seq;

	pthread_mutex_lock(&w->mu);
	seq = w->last_seq;
	pthread_mutex_unlock(&w->mu);
	return seq;
}

void
writer_get_stats(struct writer *w, struct writer_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->stats;
	pthread_mutex_unlock(&w->mu);
}

size_t
writer_queue_len(struct writer *w)
{
	size_t n;

	pthread_mutex_lock(&w->mu);
	n = w->qlen;
	pthread_mutex_unlock(&w->mu);
	return n;
}

/* ---- replay ---------------------------------------------------------
 *
 * Replay reads the ledger on worker threads (pipeline.h), each with its own
 * repository handle: the commit, its event file (checked against the
 * Event-SHA256 trailer and parsed) and a note's text.  The calling thread
 * takes the results in history order and does everything that depends on
 * the index: the position, the fold of each case, the rows.  So the rows
 * are exactly those of a one-thread replay, and the first bad commit is
 * still the one reported.
 */

#define REPLAY_WINDOW 4096 /* commits read ahead of the index */
#define REPLAY_BATCH 256   /* consecutive commits a worker claims */
#define REPLAY_THREADS_MAX 4
#define REPLAY_REOPEN_EVERY 10000

struct replay {
	struct ledger *lg;
	struct index *ix;
	uint64_t seq;
	uint64_t count;
	bool in_tx;
	uint64_t chunk;              /* events per transaction */
	char (*ids)[LEDGER_OID_HEX]; /* the commits to replay, oldest first */
	size_t nids;
};

/* What a worker read for one commit. */
struct replay_item {
	int rc; /* 0, or the error to report at this commit */
	char err[512];
	bool checkpoint;
	uint64_t cp_size;
	struct layout_trailers t;
	Csirt__V1__Event *ev;
	bool is_case;
	/* A note's text as committed with the event (a later commit may
	 * hold a later version of the path), checked against its
	 * text_sha256: read for every 機密性低 note.added and for every
	 * note.edited (whose classification only the index knows). */
	char *note;
	int note_rc;
	char note_err[512];
};

struct replay_worker {
	struct ledger *lg;
	size_t done;
};

static void
replay_item_free(void *res, void *arg)
{
	struct replay_item *it = res;

	(void)arg;
	codec_free(it->ev ? &it->ev->base : NULL);
	free(it->note);
	free(it);
}

static void *
replay_worker_init(void *arg)
{
	struct replay *r = arg;
	struct replay_worker *w = util_xcalloc(1, sizeof(*w));

	if (ledger_open(&w->lg, ledger_path(r->lg), NULL) != 0)
		w->lg = NULL;
	return w;
}

static void
replay_worker_fini(void *state, void *arg)
{
	struct replay_worker *w = state;

	(void)arg;
	ledger_close(w->lg);
	free(w);
}

static int
replay_read_note(struct replay_item *it, struct ledger *lg, const char *raw,
                 size_t raw_len, const char *commit)
{
	const Csirt__V1__Event *ev = it->ev;
	const char *path, *sha256;
	char sha[CRYPTO_SHA256_HEX_LEN];
	char *text = NULL;
	size_t len = 0;

	if (ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED) {
		if (!note_is_low(ev->note_added->classification))
			return 0;
		path = ev->note_added->path;
		sha256 = ev->note_added->text_sha256;
	} else if (ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED) {
		path = ev->note_edited->path;
		sha256 = ev->note_edited->text_sha256;
	} else {
		return 0;
	}
	if (ledger_tree_read_file(&text, &len, lg, raw, raw_len, commit,
	                          path) != 0)
		return csirt_error_wrap(CSIRT_ETAMPER, "commit %.12s: note",
		                        commit);
	crypto_sha256_hex(sha, text, len);
	if (strcmp(sha, sha256) != 0 || strlen(text) != len) {
		free(text);
		return csirt_error_set(CSIRT_ETAMPER,
		                       "commit %.12s: %s does not match the "
		                       "event's text_sha256",
		                       commit, path);
	}
	it->note = text;
	return 0;
}

/* Replay: whether the last event file was found at the flat path (see
 * below); per thread, as replay reads on several. */
static _Thread_local bool replay_flat_first;

/* Everything about commit `commit` that needs no index. */
static int
replay_read(struct replay_item *it, struct ledger *lg, const char *commit)
{
	struct buf path = BUF_INIT;
	char *raw = NULL, *json = NULL, sha[CRYPTO_SHA256_HEX_LEN];
	const char *message, *type = NULL;
	size_t len, raw_len = 0;
	int rc;

	if ((rc = ledger_object_read(&raw, &raw_len, lg, commit, "commit")) !=
	        0 ||
	    (message = strstr(raw, "\n\n")) == NULL) {
		rc = csirt_error_set(
		    CSIRT_ETAMPER, "reading ledger commit %.12s: %s", commit,
		    rc != 0 ? csirt_error_msg() : "no message");
		goto done;
	}
	message += 2;
	/* A checkpoint is no event: only the position moves past it. */
	rc = layout_checkpoint_parse(&it->cp_size, message);
	if (rc == 0) {
		it->checkpoint = true;
		goto done;
	}
	if (rc != CSIRT_ENOTFOUND)
		goto done;
	if ((rc = layout_trailers_parse(&it->t, message)) != 0) {
		rc = csirt_error_wrap(rc, "commit %.12s", commit);
		goto done;
	}
	/* The event file is in its bucket, or (a ledger from before the
	 * buckets) at the flat path.  Which one was found last is tried
	 * first: a ledger changes layout once, and a miss walked the
	 * trees for nothing (an old 1,000,000-event ledger rebuilt in
	 * 43.8 s with a miss per event, against 37.7 s).  A commit with
	 * Case-Seq has its file in the case's bucket only. */
	for (int k = 0; k < (it->t.case_seq > 0 ? 1 : 2); k++) {
		bool flat =
		    it->t.case_seq == 0 && replay_flat_first != (k == 1);

		buf_reset(&path);
		if (flat)
			layout_event_path_flat(&path, it->t.case_id, it->t.seq);
		else
			layout_event_path(&path, it->t.case_id, it->t.seq,
			                  it->t.case_seq);
		rc = ledger_tree_read_file(&json, &len, lg, raw, raw_len,
		                           commit, path.data);
		if (rc != CSIRT_ENOTFOUND) {
			replay_flat_first = flat;
			break;
		}
	}
	if (rc != 0) {
		rc = csirt_error_wrap(CSIRT_ETAMPER, "commit %.12s", commit);
		goto done;
	}
	crypto_sha256_hex(sha, json, len);
	if (strcmp(sha, it->t.event_sha256) != 0) {
		rc = csirt_error_set(
		    CSIRT_ETAMPER,
		    "commit %.12s: %s does not match its Event-SHA256", commit,
		    path.data);
		goto done;
	}
	if ((rc = codec_from_json((struct ProtobufCMessage **)&it->ev,
	                          &csirt__v1__event__descriptor, json, len,
	                          NULL)) != 0) {
		rc = csirt_error_wrap(CSIRT_ETAMPER, "commit %.12s event",
		                      commit);
		goto done;
	}
	if (it->ev->seq != it->t.seq ||
	    strcmp(it->ev->case_id, it->t.case_id) != 0 ||
	    layout_event_type((int)it->ev->payload_case, &type, &it->is_case) !=
	        0 ||
	    strcmp(type, it->t.event) != 0) {
		rc = csirt_error_set(
		    CSIRT_ETAMPER,
		    "commit %.12s: event file disagrees with its trailers",
		    commit);
		goto done;
	}
	if ((it->note_rc = replay_read_note(it, lg, raw, raw_len, commit)) != 0)
		snprintf(it->note_err, sizeof(it->note_err), "%s",
		         csirt_error_msg());
	rc = 0;
done:
	free(raw);
	free(json);
	buf_free(&path);
	return rc;
}

static void *
replay_work(size_t i, void *state, void *arg)
{
	struct replay *r = arg;
	struct replay_worker *w = state;
	struct replay_item *it = util_xcalloc(1, sizeof(*it));

	/* With libgit2's object cache on (the daemon's start-up), a full
	 * cache slows every lookup down: a fresh handle starts empty. */
	if (w->lg != NULL && w->done > 0 && !ledger_pass_mode_active() &&
	    w->done % REPLAY_REOPEN_EVERY == 0) {
		ledger_close(w->lg);
		if (ledger_open(&w->lg, ledger_path(r->lg), NULL) != 0)
			w->lg = NULL;
	}
	w->done++;
	if (w->lg == NULL)
		it->rc = csirt_error_set(CSIRT_EFAIL, "replay: %s",
		                         csirt_error_msg());
	else
		it->rc = replay_read(it, w->lg, r->ids[i]);
	if (it->rc != 0)
		snprintf(it->err, sizeof(it->err), "%s", csirt_error_msg());
	return it;
}

static const struct pipeline_ops replay_ops = {
    replay_worker_init,
    replay_worker_fini,
    replay_work,
    replay_item_free,
};

static int
replay_begin(struct replay *r)
{
	int rc;

	if (r->in_tx)
		return 0;
	/* Replay relies on index_apply()'s per-event atomicity. */
	index_set_whole_batch(r->ix, false);
	if ((rc = index_begin(r->ix)) != 0)
		return rc;
	r->in_tx = true;
	return 0;
}

/* The note text the index keeps for `it` (NULL for none): the worker's,
 * for a 機密性低 note, the version 1 in the index deciding for an edit.
 * Caller frees *out. */
static int
replay_note_text(char **out, struct replay *r, struct replay_item *it,
                 const char *commit)
{
	const Csirt__V1__Event *ev = it->ev;
	int rc;

	*out = NULL;
	if (ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED) {
		struct note_info ni = {0};
		/* An edit inherits the note's classification (version 1 is
		 * already in the index, or the event is out of order). */
		rc = note_info_get(&ni, r->ix, ev->case_id,
		                   ev->note_edited->note_id);
		if (rc == CSIRT_ENOTFOUND)
			rc = csirt_error_set(
			    CSIRT_ETAMPER, "commit %.12s edits unknown note %s",
			    commit, ev->note_edited->note_id);
		if (rc != 0)
			return rc;
		bool low = ni.low;
		note_info_free(&ni);
		if (!low)
			return 0;
	} else if (ev->payload_case != CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED) {
		return 0;
	}
	if (it->note_rc != 0)
		return csirt_error_set(it->note_rc, "%s", it->note_err);
	*out = it->note;
	it->note = NULL;
	return 0;
}

/* Applies the event commit `commit` read into `it`. */
static int
replay_apply(struct replay *r, struct replay_item *it, const char *commit)
{
	Csirt__V1__Event *ev = it->ev;
	Csirt__V1__Case *c = NULL;
	char *note = NULL;
	int rc;

	if (it->t.seq != r->seq + 1) {
		rc = csirt_error_set(CSIRT_ETAMPER,
		                     "commit %.12s has Seq %" PRIu64
		                     ", expected %" PRIu64,
		                     commit, it->t.seq, r->seq + 1);
		goto done;
	}
	if ((rc = replay_begin(r)) != 0)
		goto done;
	if (it->is_case) {
		if (ev->payload_case ==
		    CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED)
			c = case_new();
		else if ((rc = index_case_get(&c, r->ix, ev->case_id)) != 0) {
			rc = csirt_error_wrap(CSIRT_ETAMPER, "commit %.12s",
			                      commit);
			goto done;
		}
		if ((rc = case_apply(c, ev)) != 0) {
			rc = csirt_error_wrap(CSIRT_ETAMPER, "commit %.12s",
			                      commit);
			goto done;
		}
	}
	if ((rc = replay_note_text(&note, r, it, commit)) != 0)
		goto done;
	if ((rc = index_apply(r->ix, ev, commit, c, note)) != 0) {
		rc = csirt_error_wrap(CSIRT_ETAMPER, "commit %.12s", commit);
		goto done;
	}
	r->seq = it->t.seq;
	r->count++;
	if ((rc = index_set_position(r->ix, r->seq, commit)) != 0)
		goto done;
	if (r->count % r->chunk == 0) {
		if ((rc = index_commit(r->ix)) != 0)
			goto done;
		r->in_tx = false;
	}
	if (r->count % REPLAY_PROGRESS == 0) {
		char n[24];
		snprintf(n, sizeof(n), "%" PRIu64, r->count);
		log_info("replaying ledger", "events", n);
	}
	rc = 0;
done:
	if (c != NULL)
		case_free(c);
	free(note);
	return rc;
}

static int
replay_step(struct replay *r, struct replay_item *it, const char *commit)
{
	int rc;

	if (it->rc != 0)
		return csirt_error_set(it->rc, "%s", it->err);
	if (!it->checkpoint)
		return replay_apply(r, it, commit);
	if (it->cp_size != r->seq)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "commit %.12s: checkpoint of %" PRIu64
		                       " events after %" PRIu64 " events",
		                       commit, it->cp_size, r->seq);
	if ((rc = replay_begin(r)) != 0)
		return rc;
	return index_set_position(r->ix, r->seq, commit);
}

static int
replay_run(struct ledger *lg, struct index *ix, uint64_t chunk,
           uint64_t *replayed)
{
	struct replay r = {lg, ix, 0, 0, false, chunk, NULL, 0};
	struct pipeline *p = NULL;
	char commit[LEDGER_OID_HEX], bad[LEDGER_OID_HEX];
	int rc;

	if (replayed != NULL)
		*replayed = 0;
	if ((rc = index_get_position(ix, &r.seq, commit)) != 0)
		return rc;
	if ((rc = ledger_first_parents(lg, commit, &r.ids, &r.nids, bad)) !=
	    0) {
		if (bad[0] != '\0') {
			char msg[512];
			snprintf(msg, sizeof(msg), "%s", csirt_error_msg());
			rc = csirt_error_set(rc, "ledger commit %.12s %s", bad,
			                     msg);
		}
		goto done;
	}
	if (r.nids > 0)
		pipeline_start(&p, r.nids, pipeline_threads(REPLAY_THREADS_MAX),
		               REPLAY_WINDOW, REPLAY_BATCH, &replay_ops, &r);
	for (size_t i = 0; i < r.nids && rc == 0; i++) {
		struct replay_item *it = pipeline_take(p, i);
		rc = replay_step(&r, it, r.ids[i]);
		replay_item_free(it, NULL);
	}
done:
	pipeline_stop(p);
	if (r.in_tx) {
		if (rc == 0)
			rc = index_commit(ix);
		else
			index_rollback(ix);
	}
	if (replayed != NULL)
		*replayed = r.count;
	free(r.ids);
	return rc;
}

int
writer_reconcile(struct ledger *lg, struct index *ix, uint64_t *replayed)
{
	return replay_run(lg, ix, REPLAY_CHUNK, replayed);
}

int
writer_replay_bulk(struct ledger *lg, struct index *ix, uint64_t *replayed)
{
	int rc;

	if ((rc = index_bulk_begin(ix)) != 0)
		return rc;
	rc = replay_run(lg, ix, UINT64_MAX, replayed);
	if (rc == 0)
		rc = index_bulk_end(ix);
	return rc;
}
