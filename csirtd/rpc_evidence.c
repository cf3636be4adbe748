/*
 * rpc_evidence.c - EvidenceService handlers (issue 6) and their state on
 * the loop thread: uploads being staged and download cursors.
 *
 * Upload: Begin checks the case, the caller and the classification and
 * creates a staging file; Append encrypts each chunk (at most 1 MiB) into
 * it as it arrives (evidence.c), at the offset the upload has reached, so
 * a dropped connection resumes where GetEvidenceUpload says; Commit checks
 * the SHA-256, stores the item key wrapped with the KEK in the keystore and
 * hands the event and the staging file to the writer, which streams the
 * ciphertext into the ledger.  Download decrypts chunk by chunk through a
 * per-caller cursor, so sequential reads cost O(n) in all.
 *
 * Disk work on the loop thread, and why it is acceptable: an append is one
 * write(2) of at most 1 MiB of ciphertext into the page cache (no fsync:
 * a staging file is worthless after a crash, since its key lived in
 * memory, and is removed at start-up); the keystore insert at commit is
 * one small SQLite transaction (as IssueToken does); a download chunk is
 * preads of one pack plus inflate and decryption of 1 MiB.  The ledger
 * writes (the pack of the content, fsynced) happen on the writer thread.
 *
 * It must never write plaintext to disk, never keep an item key outside
 * guarded memory longer than a call (the cursors hold only the decryptor
 * state, dropped at disposal), and never serve content to a role the
 * content-access table (classify.c) does not allow.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "codec.h"
#include "crypto.h"
#include "error.h"
#include "evidence.h"
#include "index.h"
#include "keystore.h"
#include "layout.h"
#include "lifecycle.h"
#include "log.h"
#include "rpc.h"
#include "util.h"

#define msg_new(d) ((void *)codec_new(d))

#define EVIDENCE_CURSORS_MAX 32
#define EVIDENCE_SWEEP_MS 60000
#define UPLOAD_ID_LEN 35 /* "up" + 32 hex + NUL */

struct upload {
	char id[UPLOAD_ID_LEN];
	char owner[CASE_NAME_MAX + 1];  /* login of the uploader */
	Csirt__V1__EvidenceManifest *m; /* what Begin decided; owned */
	uint64_t size;
	int64_t touched_ms; /* last call, for expiry */
	bool committing;    /* handed to the writer */
	struct evidence_stage *st;
	struct upload *next;
};

struct cursor {
	char owner[CASE_NAME_MAX + 1];
	char key_id[64];
	struct evidence_reader *r;
	int64_t used_ms;
	struct cursor *next;
};

struct rpc_evidence {
	const struct rpc_env *env;
	char *staging; /* $DATA/staging */
	char *repo;    /* $DATA/ledger.git */
	struct upload *uploads;
	size_t nuploads;
	struct cursor *cursors;
	size_t ncursors;
	struct server_timer *sweep;
	bool stopped; /* the server is going: no timer any more */
};

/* ---- state ------------------------------------------------------------ */

static void
upload_free(struct upload *u)
{
	if (u == NULL)
		return;
	evidence_stage_free(u->st, false);
	codec_free(u->m ? &u->m->base : NULL);
	free(u);
}

static void
cursor_free(struct cursor *c)
{
	if (c == NULL)
		return;
	evidence_reader_free(c->r);
	free(c);
}

/* A disposal whose keys outlived it (the daemon stopped between the
 * durable event and the destruction): destroy them now. */
static int
disposal_sweep_cb(const Csirt__V1__Event *e, const char *commit, void *arg)
{
	struct keystore *ks = arg;

	(void)commit;
	if (e->evidence_disposed == NULL)
		return 0;
	for (size_t i = 0; i < e->evidence_disposed->n_key_ids; i++) {
		int rc =
		    keystore_key_destroy(ks, e->evidence_disposed->key_ids[i]);
		if (rc == 0)
			log_warn("destroyed an evidence key left after its "
			         "disposal",
			         "key", e->evidence_disposed->key_ids[i]);
		else if (rc != CSIRT_ENOTFOUND)
			log_error("evidence key NOT destroyed after disposal",
			          "key", e->evidence_disposed->key_ids[i],
			          "error", csirt_error_msg());
	}
	return 0;
}

struct rpc_evidence *
rpc_evidence_new(const struct rpc_env *env)
{
	struct rpc_evidence *ev = util_xcalloc(1, sizeof(*ev));
	DIR *d;
	struct dirent *de;

	ev->env = env;
	if (env->data_dir == NULL)
		return ev; /* no evidence service (tools, tests) */
	ev->staging = util_path_join(env->data_dir, "staging");
	ev->repo = util_path_join(env->data_dir, "ledger.git");
	if (util_mkdir_p(ev->staging, 0700) != 0) {
		log_error("cannot create the staging directory", "error",
		          csirt_error_msg());
		return ev;
	}
	if (env->ix != NULL && env->ks != NULL &&
	    index_events_of_type(env->ix, "evidence.disposed",
	                         disposal_sweep_cb, env->ks) != 0)
		log_error("cannot sweep the keys of disposed evidence", "error",
		          csirt_error_msg());
	/* What an earlier run staged cannot be finished: its keys were in
	 * that process's memory.  The files hold only ciphertext. */
	if ((d = opendir(ev->staging)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char *p;
			if (de->d_name[0] == '.')
				continue;
			p = util_path_join(ev->staging, de->d_name);
			if (unlink(p) == 0)
				log_info("removed a stale evidence upload",
				         "file", de->d_name);
			free(p);
		}
		closedir(d);
	}
	return ev;
}

void
rpc_evidence_stop(struct rpc_evidence *ev)
{
	if (ev == NULL)
		return;
	ev->stopped = true;
	server_timer_free(ev->sweep);
	ev->sweep = NULL;
}

void
rpc_evidence_free(struct rpc_evidence *ev)
{
	if (ev == NULL)
		return;
	/* rpc_evidence_stop() came first, while the server lived: its
	 * timers die with its event base. */
	while (ev->uploads != NULL) {
		struct upload *u = ev->uploads;
		ev->uploads = u->next;
		upload_free(u);
	}
	while (ev->cursors != NULL) {
		struct cursor *c = ev->cursors;
		ev->cursors = c->next;
		cursor_free(c);
	}
	free(ev->staging);
	free(ev->repo);
	free(ev);
}

static void sweep_cb(void *arg);

static void
sweep_arm(struct rpc_evidence *ev)
{
	if (ev->sweep == NULL && !ev->stopped && ev->nuploads > 0 &&
	    ev->env->srv != NULL)
		ev->sweep = server_timer_new(ev->env->srv, EVIDENCE_SWEEP_MS,
		                             sweep_cb, ev);
}

void
rpc_evidence_sweep(struct rpc_evidence *ev)
{
	int64_t now = util_time_now_ms();
	int64_t ttl = (int64_t)ev->env->evidence_upload_ttl_s * 1000;
	struct upload **pp = &ev->uploads;

	while (*pp != NULL) {
		struct upload *u = *pp;
		if (!u->committing && now - u->touched_ms > ttl) {
			log_info("evidence upload expired", "upload", u->id,
			         "evidence", u->m->evidence_id);
			*pp = u->next;
			ev->nuploads--;
			upload_free(u);
			continue;
		}
		pp = &u->next;
	}
}

static void
sweep_cb(void *arg)
{
	struct rpc_evidence *ev = arg;

	server_timer_free(ev->sweep);
	ev->sweep = NULL;
	rpc_evidence_sweep(ev);
	sweep_arm(ev);
}

/* The caller's upload `id`; CSIRT_ENOTFOUND for another user's.  With
 * `idle`, CSIRT_ESTATE while it is being committed. */
static int
upload_find(struct upload **out, struct rpc_ctx *ctx, const char *id, bool idle)
{
	struct rpc_evidence *ev = rpc_evidence_of(ctx);

	*out = NULL;
	rpc_evidence_sweep(ev);
	for (struct upload *u = ev->uploads; u != NULL; u = u->next) {
		if (strcmp(u->id, id) == 0 &&
		    strcmp(u->owner, ctx->user->login) == 0) {
			if (idle && u->committing)
				return csirt_error_set(
				    CSIRT_ESTATE,
				    "the upload is being committed");
			*out = u;
			return 0;
		}
	}
	return csirt_error_set(CSIRT_ENOTFOUND,
	                       "no upload \"%.40s\" of yours (finished, "
	                       "cancelled, expired, or lost in a restart: "
	                       "begin again)",
	                       id);
}

static void
upload_remove(struct rpc_evidence *ev, struct upload *gone)
{
	for (struct upload **pp = &ev->uploads; *pp != NULL;
	     pp = &(*pp)->next) {
		if (*pp == gone) {
			*pp = gone->next;
			ev->nuploads--;
			upload_free(gone);
			return;
		}
	}
}

/* Drops the download cursors of one key (disposal) or, with NULL, the
 * least recently used one. */
static void
cursors_drop(struct rpc_evidence *ev, const char *key_prefix)
{
	struct cursor **pp = &ev->cursors, **lru = NULL;

	while (*pp != NULL) {
		struct cursor *c = *pp;
		if (key_prefix != NULL &&
		    strncmp(c->key_id, key_prefix, strlen(key_prefix)) == 0) {
			*pp = c->next;
			ev->ncursors--;
			cursor_free(c);
			continue;
		}
		if (lru == NULL || c->used_ms < (*lru)->used_ms)
			lru = pp;
		pp = &c->next;
	}
	if (key_prefix == NULL && lru != NULL) {
		struct cursor *c = *lru;
		*lru = c->next;
		ev->ncursors--;
		cursor_free(c);
	}
}

/* ---- shared checks ---------------------------------------------------- */

int
rpc_content_readable(struct rpc_ctx *ctx, const Csirt__V1__Case *c,
                     const Csirt__V1__Classification *cl)
{
	const Csirt__V1__User *u = ctx->user;
	int level = cl != NULL ? (int)cl->confidentiality : 0;

	if (!classify_may_read((int)u->role, level))
		return csirt_error_set(
		    CSIRT_EDENIED, "%s may not read content classified %s",
		    codec_enum_name(&csirt__v1__role__descriptor, (int)u->role),
		    level ? codec_enum_name(
		                &csirt__v1__confidentiality__descriptor, level)
		          : "without a classification");
	if (u->role == CSIRT__V1__ROLE__ROLE_INVESTIGATOR) {
		for (size_t i = 0; i < c->n_assignees; i++)
			if (strcmp(c->assignees[i], u->login) == 0)
				return 0;
		return csirt_error_set(CSIRT_EDENIED,
		                       "investigator %s is not assigned to "
		                       "case %s",
		                       u->login, c->id);
	}
	return 0;
}

/* The case of an evidence id, if the caller may see it, and its items. */
static int
evidence_lookup(struct rpc_ctx *ctx, const char *evidence_id,
                Csirt__V1__Case **c, struct evidence_list *l,
                const Csirt__V1__EvidenceItem **it)
{
	char case_id[LAYOUT_CASE_ID_LEN];
	int rc;

	*c = NULL;
	*it = NULL;
	memset(l, 0, sizeof(*l));
	if ((rc = layout_evidence_id_parse(evidence_id, case_id)) != 0)
		return csirt_error_wrap(rc, "evidence_id");
	if ((rc = rpc_case_visible(ctx, case_id, c)) != 0)
		return rc == CSIRT_ENOTFOUND
		           ? csirt_error_set(CSIRT_ENOTFOUND,
		                             "evidence %s not found",
		                             evidence_id)
		           : rc;
	if ((rc = evidence_list_case(l, rpc_env(ctx)->ix, case_id)) != 0)
		goto fail;
	if ((*it = evidence_list_find(l, evidence_id)) == NULL) {
		rc = csirt_error_set(CSIRT_ENOTFOUND, "evidence %s not found",
		                     evidence_id);
		goto fail;
	}
	return 0;
fail:
	case_free(*c);
	*c = NULL;
	evidence_list_free(l);
	return rc;
}

static bool
sha256_hex_valid(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The upload as the API shows it (an EvidenceUpload message). */
static ProtobufCMessage *
upload_status(const struct upload *u, const struct rpc_env *env)
{
	int64_t ttl_ms = (int64_t)env->evidence_upload_ttl_s * 1000;
	Csirt__V1__EvidenceUpload *r =
	    msg_new(&csirt__v1__evidence_upload__descriptor);
	char t[UTIL_TIME_LEN];

	codec_set_string(&r->upload_id, u->id);
	codec_set_string(&r->case_id, u->m->case_id);
	codec_set_string(&r->evidence_id, u->m->evidence_id);
	codec_set_string(&r->name, u->m->name);
	r->version = u->m->version;
	r->size = u->size;
	r->received = evidence_stage_received(u->st);
	util_time_format_ms(t, sizeof(t), u->touched_ms + ttl_ms);
	codec_set_string(&r->expires_at, t);
	return &r->base;
}

/* ---- upload ----------------------------------------------------------- */

RPC_HANDLER(rpc_evidence_begin)
{
	const Csirt__V1__BeginEvidenceUploadRequest *r = (const void *)in;
	struct rpc_evidence *ev = rpc_evidence_of(ctx);
	const struct rpc_env *env = rpc_env(ctx);
	Csirt__V1__Case *c = NULL;
	struct evidence_list l = {NULL, 0};
	const Csirt__V1__EvidenceItem *prev = NULL;
	Csirt__V1__EvidenceManifest *m = NULL;
	struct upload *u = NULL;
	unsigned char rnd[16];
	char hex[33], *path = NULL;
	int rc;

	if (ev->staging == NULL)
		return csirt_error_set(CSIRT_EUNIMPLEMENTED,
		                       "evidence is not served here");
	rpc_evidence_sweep(ev);
	if ((rc = rpc_case_visible(ctx, r->case_id, &c)) != 0)
		goto done;
	if (c->classification == NULL) {
		rc = csirt_error_set(CSIRT_EFAIL,
		                     "case %s has no "
		                     "classification",
		                     c->id);
		goto done;
	}
	/* Fail early what the writer would refuse at commit: the role in
	 * this state, an investigator not on the case. */
	if ((rc = lifecycle_check(NULL, (int)c->state, CASE_ACTION_EVIDENCE_ADD,
	                          (int)ctx->user->role)) != 0 ||
	    (ctx->user->role == CSIRT__V1__ROLE__ROLE_INVESTIGATOR &&
	     (rc = rpc_content_readable(ctx, c, c->classification)) != 0))
		goto done;
	if (r->size > env->evidence_max_bytes) {
		rc =
		    csirt_error_set(CSIRT_EINVAL,
		                    "size: %" PRIu64 " bytes is over the "
		                    "limit of %" PRIu64 " (evidence_max_bytes)",
		                    r->size, env->evidence_max_bytes);
		goto done;
	}
	if (!sha256_hex_valid(r->sha256)) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "sha256: 64 lowercase hex digits of the "
		                     "file's SHA-256 are required");
		goto done;
	}
	if (ev->nuploads >= env->evidence_uploads_max) {
		rc = csirt_error_set(CSIRT_EBUSY,
		                     "%zu evidence uploads are in progress "
		                     "(evidence_uploads_max); retry later",
		                     ev->nuploads);
		goto done;
	}
	if ((rc = evidence_list_case(&l, env->ix, c->id)) != 0)
		goto done;

	m = msg_new(&csirt__v1__evidence_manifest__descriptor);
	codec_set_string(&m->case_id, c->id);
	codec_set_string(&m->name, r->name);
	codec_set_string(&m->media_type, r->media_type[0] != '\0'
	                                     ? r->media_type
	                                     : "application/octet-stream");
	m->size = r->size;
	codec_set_string(&m->sha256, r->sha256);
	codec_set_string(&m->reason, r->reason);
	codec_set_string(&m->uploader, ctx->user->login);
	if (r->supersedes[0] != '\0') {
		prev = evidence_list_find(&l, r->supersedes);
		if (prev == NULL || prev->n_versions == 0) {
			rc = csirt_error_set(CSIRT_ENOTFOUND,
			                     "supersedes: no evidence %.40s in "
			                     "case %s",
			                     r->supersedes, c->id);
			goto done;
		}
		if (prev->disposed) {
			rc = csirt_error_set(
			    CSIRT_ESTATE,
			    "evidence %s was disposed (廃棄) on "
			    "%s and takes no new version",
			    prev->evidence_id, prev->disposed_at);
			goto done;
		}
		if (r->reason[0] == '\0') {
			rc = csirt_error_set(CSIRT_EINVAL,
			                     "reason: say why this version "
			                     "replaces the last one");
			goto done;
		}
		codec_set_string(&m->evidence_id, prev->evidence_id);
		m->version = (uint32_t)prev->n_versions + 1;
		m->supersedes = m->version - 1;
		if (m->name[0] == '\0')
			codec_set_string(
			    &m->name,
			    prev->versions[prev->n_versions - 1]->name);
	} else {
		char id[LAYOUT_EVIDENCE_ID_LEN + 40];
		do {
			crypto_random(rnd, 4);
			util_hex(hex, rnd, 4);
			snprintf(id, sizeof(id), "%.11s-ev%.8s", c->id, hex);
		} while (evidence_list_find(&l, id) != NULL);
		codec_set_string(&m->evidence_id, id);
		m->version = 1;
	}
	if (m->name[0] == '\0' || strlen(m->name) > 255 ||
	    strpbrk(m->name, "\n\r\t") != NULL) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "name: 1-255 bytes on one line");
		goto done;
	}
	/* 第4.4: the case's classification unless a stricter one is given;
	 * a new version keeps at least the item's, which a 第4.5 review may
	 * have set below the case's. */
	{
		const Csirt__V1__Classification *floor =
		    prev != NULL && prev->classification != NULL
		        ? prev->classification
		        : c->classification;
		m->classification = (Csirt__V1__Classification *)codec_clone(
		    r->classification != NULL ? &r->classification->base
		                              : &floor->base);
		if ((rc = classify_check_inherits(
		         "classification", m->classification, floor)) != 0)
			goto done;
	}

	u = util_xcalloc(1, sizeof(*u));
	crypto_random(rnd, sizeof(rnd));
	util_hex(hex, rnd, sizeof(rnd));
	snprintf(u->id, sizeof(u->id), "up%s", hex);
	snprintf(u->owner, sizeof(u->owner), "%s", ctx->user->login);
	u->size = r->size;
	u->touched_ms = util_time_now_ms();
	path = util_path_join(ev->staging, u->id);
	if ((rc = evidence_stage_new(&u->st, path, r->size)) != 0)
		goto done;
	u->m = m;
	m = NULL;
	u->next = ev->uploads;
	ev->uploads = u;
	ev->nuploads++;
	log_info("evidence upload begun", "upload", u->id, "evidence",
	         u->m->evidence_id, "actor", ctx->user->login);
	*out = upload_status(u, env);
	u = NULL;
	sweep_arm(ev);
	rc = 0;
done:
	upload_free(u);
	codec_free(m ? &m->base : NULL);
	evidence_list_free(&l);
	case_free(c);
	free(path);
	return rc;
}

RPC_HANDLER(rpc_evidence_append)
{
	const Csirt__V1__AppendEvidenceRequest *r = (const void *)in;
	struct upload *u;
	int rc;

	if ((rc = upload_find(&u, ctx, r->upload_id, true)) != 0)
		return rc;
	if (r->data.len == 0 || r->data.len > EVIDENCE_CHUNK_MAX)
		return csirt_error_set(CSIRT_EINVAL,
		                       "data: 1 to %u bytes per call",
		                       EVIDENCE_CHUNK_MAX);
	if ((rc = evidence_stage_append(u->st, r->offset, r->data.data,
	                                r->data.len)) != 0)
		return rc;
	u->touched_ms = util_time_now_ms();
	*out = upload_status(u, rpc_env(ctx));
	return 0;
}

RPC_HANDLER(rpc_evidence_status)
{
	const Csirt__V1__GetEvidenceUploadRequest *r = (const void *)in;
	struct upload *u;
	int rc;

	if ((rc = upload_find(&u, ctx, r->upload_id, false)) != 0)
		return rc;
	u->touched_ms = util_time_now_ms();
	*out = upload_status(u, rpc_env(ctx));
	return 0;
}

RPC_HANDLER(rpc_evidence_cancel)
{
	const Csirt__V1__CancelEvidenceUploadRequest *r = (const void *)in;
	struct upload *u;
	int rc;

	if ((rc = upload_find(&u, ctx, r->upload_id, true)) != 0)
		return rc;
	*out = upload_status(u, rpc_env(ctx));
	upload_remove(rpc_evidence_of(ctx), u);
	return 0;
}

/* What a commit hands to after_write: its upload, by id (the upload may
 * not be freed under it: `committing` keeps the sweep away); and the key
 * the storage thread stores (rpc_item_key_store()). */
struct commit_scratch {
	struct rpc_item_key key;
	char upload_id[UPLOAD_ID_LEN];
};

static void
commit_after_write(struct rpc_ctx *ctx, int rc)
{
	struct commit_scratch *s = ctx->scratch;
	struct rpc_evidence *ev = rpc_evidence_of(ctx);
	struct upload *u = NULL;

	for (struct upload *p = ev->uploads; p != NULL; p = p->next)
		if (strcmp(p->id, s->upload_id) == 0)
			u = p;
	if (rc == 0) {
		if (u != NULL)
			upload_remove(ev, u); /* the staging file goes too */
		return;
	}
	/* The upload stays (complete) so that the client may commit again. */
	if (u != NULL) {
		u->committing = false;
		u->touched_ms = util_time_now_ms();
	}
}

static int
finish_evidence(struct rpc_ctx *ctx, ProtobufCMessage **out)
{
	Csirt__V1__EvidenceResponse *r =
	    msg_new(&csirt__v1__evidence_response__descriptor);
	const Csirt__V1__Event *ev = ctx->cmd.ev;

	if (ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_ADDED)
		r->manifest = (Csirt__V1__EvidenceManifest *)codec_clone(
		    &ev->evidence_added->manifest->base);
	r->seq = ctx->cmd.seq;
	codec_set_string(&r->commit, ctx->cmd.commit);
	*out = &r->base;
	return 0;
}

RPC_HANDLER(rpc_evidence_commit)
{
	const Csirt__V1__CommitEvidenceUploadRequest *r = (const void *)in;
	const struct rpc_env *env = rpc_env(ctx);
	struct commit_scratch *s;
	Csirt__V1__Event *ev;
	struct upload *u;
	int rc;

	(void)out;
	if ((rc = upload_find(&u, ctx, r->upload_id, true)) != 0)
		return rc;
	rc = evidence_stage_finish(u->st, u->m->sha256);
	if (rc == CSIRT_EINVAL) {
		/* The bytes are not the file the client meant: useless. */
		log_warn("evidence upload failed its SHA-256", "upload", u->id,
		         "actor", ctx->user->login);
		upload_remove(rpc_evidence_of(ctx), u);
		return rc;
	}
	if (rc != 0)
		return rc;
	s = util_xcalloc(1, sizeof(*s));
	snprintf(s->upload_id, sizeof(s->upload_id), "%s", u->id);
	s->key.kind = "evidence";
	snprintf(s->key.key_id, sizeof(s->key.key_id), "%s.v%u",
	         u->m->evidence_id, u->m->version);
	crypto_item_key_wrap(s->key.wrapped, env->kek,
	                     evidence_stage_key(u->st), s->key.key_id);
	ctx->scratch = s;
	rpc_item_key_store(ctx, &s->key);
	ctx->after_write = commit_after_write;
	ev = msg_new(&csirt__v1__event__descriptor);
	codec_set_string(&ev->case_id, u->m->case_id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_ADDED;
	ev->evidence_added = msg_new(&csirt__v1__evidence_added__descriptor);
	ev->evidence_added->manifest =
	    (Csirt__V1__EvidenceManifest *)codec_clone(&u->m->base);
	ctx->cmd.content_file = evidence_stage_path(u->st);
	u->committing = true;
	/* With ctx->io set this always answers later, through io_after and
	 * after_write, whatever the writer says. */
	return rpc_submit(ctx, ev, NULL, finish_evidence);
}

/* ---- reading ---------------------------------------------------------- */

RPC_HANDLER(rpc_evidence_list)
{
	const Csirt__V1__ListEvidenceRequest *r = (const void *)in;
	Csirt__V1__ListEvidenceResponse *resp;
	struct evidence_list l;
	Csirt__V1__Case *c = NULL;
	int rc;

	if ((rc = rpc_case_visible(ctx, r->case_id, &c)) != 0)
		return rc;
	case_free(c);
	if ((rc = evidence_list_case(&l, rpc_env(ctx)->ix, r->case_id)) != 0)
		return rc;
	resp = msg_new(&csirt__v1__list_evidence_response__descriptor);
	resp->items = l.items; /* ownership moves */
	resp->n_items = l.n;
	*out = &resp->base;
	return 0;
}

RPC_HANDLER(rpc_evidence_history)
{
	const Csirt__V1__GetEvidenceHistoryRequest *r = (const void *)in;
	Csirt__V1__GetEvidenceHistoryResponse *resp;
	const Csirt__V1__EvidenceItem *it;
	struct evidence_list l;
	Csirt__V1__Case *c;
	int rc;

	if ((rc = evidence_lookup(ctx, r->evidence_id, &c, &l, &it)) != 0)
		return rc;
	resp = msg_new(&csirt__v1__get_evidence_history_response__descriptor);
	resp->item = (Csirt__V1__EvidenceItem *)codec_clone(&it->base);
	*out = &resp->base;
	case_free(c);
	evidence_list_free(&l);
	return 0;
}

/* A reader for `m` positioned at `offset`: the caller's cursor when it is
 * there, else a new one that skips (random access costs a re-read). */
static int
cursor_take(struct cursor **out, struct rpc_ctx *ctx,
            const Csirt__V1__EvidenceManifest *m, uint64_t offset)
{
	struct rpc_evidence *ev = rpc_evidence_of(ctx);
	const struct rpc_env *env = rpc_env(ctx);
	unsigned char wrapped[256];
	struct crypto_item_key *key = NULL;
	struct cursor *c = NULL;
	struct buf skip = BUF_INIT;
	size_t wlen = 0;
	int rc;

	*out = NULL;
	for (struct cursor **pp = &ev->cursors; *pp != NULL;
	     pp = &(*pp)->next) {
		c = *pp;
		if (strcmp(c->owner, ctx->user->login) == 0 &&
		    strcmp(c->key_id, m->key_id) == 0 &&
		    evidence_reader_offset(c->r) == offset) {
			*pp = c->next;
			ev->ncursors--;
			*out = c;
			return 0;
		}
	}
	rc = keystore_key_get(env->ks, m->key_id, wrapped, sizeof(wrapped),
	                      &wlen);
	if (rc == CSIRT_ENOTFOUND)
		return csirt_error_set(CSIRT_ESTATE,
		                       "the key of evidence %s version %u is "
		                       "gone: its content cannot be decrypted",
		                       m->evidence_id, m->version);
	if (rc != 0)
		return rc;
	rc = crypto_item_key_unwrap(&key, env->kek, m->key_id, wrapped, wlen);
	crypto_wipe(wrapped, sizeof(wrapped));
	if (rc != 0)
		return rc;
	c = util_xcalloc(1, sizeof(*c));
	snprintf(c->owner, sizeof(c->owner), "%s", ctx->user->login);
	snprintf(c->key_id, sizeof(c->key_id), "%s", m->key_id);
	rc = evidence_reader_open(&c->r, ev->repo, m, key);
	crypto_item_key_free(key);
	while (rc == 0 && evidence_reader_offset(c->r) < offset) {
		bool eof = false;
		uint64_t left = offset - evidence_reader_offset(c->r);
		buf_reset(&skip);
		rc = evidence_reader_read(c->r, &skip,
		                          left > EVIDENCE_CHUNK_MAX
		                              ? EVIDENCE_CHUNK_MAX
		                              : (size_t)left,
		                          &eof);
		crypto_wipe(skip.data, skip.len);
		if (rc == 0 && eof && evidence_reader_offset(c->r) < offset)
			rc = csirt_error_set(CSIRT_EINVAL,
			                     "offset is past the end");
	}
	buf_free(&skip);
	if (rc != 0) {
		cursor_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

RPC_HANDLER(rpc_evidence_download)
{
	const Csirt__V1__DownloadEvidenceRequest *r = (const void *)in;
	struct rpc_evidence *ev = rpc_evidence_of(ctx);
	Csirt__V1__DownloadEvidenceResponse *resp = NULL;
	const Csirt__V1__EvidenceManifest *m;
	const Csirt__V1__EvidenceItem *it;
	struct evidence_list l;
	struct cursor *cur = NULL;
	Csirt__V1__Case *c;
	struct buf data = BUF_INIT;
	size_t want;
	bool eof = false;
	int rc;

	if (ev->repo == NULL)
		return csirt_error_set(CSIRT_EUNIMPLEMENTED,
		                       "evidence is not served here");
	if ((rc = evidence_lookup(ctx, r->evidence_id, &c, &l, &it)) != 0)
		return rc;
	if (r->version > it->n_versions) {
		rc = csirt_error_set(CSIRT_ENOTFOUND,
		                     "evidence %s has %zu version(s)",
		                     it->evidence_id, it->n_versions);
		goto done;
	}
	m = it->versions[r->version == 0 ? it->n_versions - 1 : r->version - 1];
	/* The item's classification now (a 第4.5 review may have changed
	 * it since this version was added). */
	if ((rc = rpc_content_readable(ctx, c,
	                               it->classification != NULL
	                                   ? it->classification
	                                   : m->classification)) != 0)
		goto done;
	if (it->disposed) {
		rc = csirt_error_set(CSIRT_ESTATE,
		                     "evidence %s was disposed (廃棄) on %s by "
		                     "%s: its keys were destroyed and the "
		                     "content can never be decrypted",
		                     it->evidence_id, it->disposed_at,
		                     it->disposed_by);
		goto done;
	}
	if (r->offset > m->size) {
		rc = csirt_error_set(CSIRT_EINVAL,
		                     "offset: %" PRIu64
		                     " is past the end (%" PRIu64 " bytes)",
		                     r->offset, m->size);
		goto done;
	}
	want = r->length == 0 || r->length > EVIDENCE_CHUNK_MAX
	           ? EVIDENCE_CHUNK_MAX
	           : r->length;
	ctx->content_tamper = true;
	if ((rc = cursor_take(&cur, ctx, m, r->offset)) != 0)
		goto done;
	if (cur == NULL) {
		rc = csirt_error_set(CSIRT_EFAIL, "no download cursor");
		goto done;
	}
	if ((rc = evidence_reader_read(cur->r, &data, want, &eof)) != 0)
		goto done;
	resp = msg_new(&csirt__v1__download_evidence_response__descriptor);
	resp->offset = r->offset;
	resp->size = m->size;
	resp->eof = eof;
	resp->data.len = data.len;
	resp->data.data = (uint8_t *)buf_detach(&data);
	if (r->offset == 0)
		resp->manifest =
		    (Csirt__V1__EvidenceManifest *)codec_clone(&m->base);
	if (!eof) {
		/* Keep the cursor for the next chunk. */
		if (ev->ncursors >= EVIDENCE_CURSORS_MAX)
			cursors_drop(ev, NULL);
		cur->used_ms = util_time_now_ms();
		cur->next = ev->cursors;
		ev->cursors = cur;
		ev->ncursors++;
		cur = NULL;
	}
	*out = &resp->base;
done:
	cursor_free(cur);
	if (data.data != NULL)
		crypto_wipe(data.data, data.len);
	buf_free(&data);
	case_free(c);
	evidence_list_free(&l);
	return rc;
}

/* ---- disposal (廃棄, 別表第3) ------------------------------------------ */

/*
 * The event is durable: drop the cursors, whose decryptors hold
 * key-derived state (zeroed as they are freed), on the loop; then destroy
 * every version's key (delete under secure_delete, WAL checkpoint
 * TRUNCATE) on the storage thread, before the reply.  A key that cannot
 * be destroyed now is logged loudly; the event stands.
 */
static void
dispose_after_write(struct rpc_ctx *ctx, int rc)
{
	const Csirt__V1__EvidenceDisposed *ed = ctx->cmd.ev->evidence_disposed;
	char prefix[LAYOUT_EVIDENCE_ID_LEN + 2];

	if (rc != 0)
		return;
	snprintf(prefix, sizeof(prefix), "%s.", ed->evidence_id);
	cursors_drop(rpc_evidence_of(ctx), prefix);
}

static int
dispose_io_after(struct rpc_ctx *ctx, struct keystore *ks, int rc)
{
	const Csirt__V1__EvidenceDisposed *ed = ctx->cmd.ev->evidence_disposed;

	if (rc != 0)
		return 0;
	for (size_t i = 0; i < ed->n_key_ids; i++) {
		int err = keystore_key_destroy(ks, ed->key_ids[i]);
		if (err != 0 && err != CSIRT_ENOTFOUND)
			log_error("evidence key NOT destroyed after disposal",
			          "key", ed->key_ids[i], "error",
			          csirt_error_msg());
	}
	log_info("evidence disposed: keys destroyed", "evidence",
	         ed->evidence_id, "actor", ctx->user->login);
	return 0;
}

RPC_HANDLER(rpc_evidence_dispose)
{
	const Csirt__V1__DisposeEvidenceRequest *r = (const void *)in;
	const Csirt__V1__EvidenceItem *it;
	struct evidence_list l;
	Csirt__V1__Event *ev;
	Csirt__V1__Case *c;
	int rc;

	(void)out;
	if ((rc = evidence_lookup(ctx, r->evidence_id, &c, &l, &it)) != 0)
		return rc;
	ev = msg_new(&csirt__v1__event__descriptor);
	codec_set_string(&ev->case_id, c->id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_DISPOSED;
	ev->evidence_disposed =
	    msg_new(&csirt__v1__evidence_disposed__descriptor);
	codec_set_string(&ev->evidence_disposed->evidence_id, it->evidence_id);
	codec_set_string(&ev->evidence_disposed->reason, r->reason);
	case_free(c);
	evidence_list_free(&l);
	ctx->after_write = dispose_after_write;
	ctx->io_after = dispose_io_after;
	return rpc_submit(ctx, ev, NULL, finish_evidence);
}

/* ---- reclassification (第4.5) ----------------------------------------- */

RPC_HANDLER(rpc_evidence_reclassify)
{
	const Csirt__V1__ReclassifyEvidenceRequest *r = (const void *)in;
	const Csirt__V1__EvidenceItem *it;
	struct evidence_list l;
	Csirt__V1__Event *ev;
	Csirt__V1__Case *c;
	int rc;

	(void)out;
	if (r->classification == NULL)
		return csirt_error_set(CSIRT_EINVAL,
		                       "classification: the new 機密性/完全性/"
		                       "可用性 is required");
	if ((rc = evidence_lookup(ctx, r->evidence_id, &c, &l, &it)) != 0)
		return rc;
	ev = msg_new(&csirt__v1__event__descriptor);
	codec_set_string(&ev->case_id, c->id);
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_EVIDENCE_RECLASSIFIED;
	ev->evidence_reclassified =
	    msg_new(&csirt__v1__evidence_reclassified__descriptor);
	codec_set_string(&ev->evidence_reclassified->evidence_id,
	                 it->evidence_id);
	ev->evidence_reclassified->after =
	    (Csirt__V1__Classification *)codec_clone(&r->classification->base);
	codec_set_string(&ev->evidence_reclassified->reason, r->reason);
	case_free(c);
	evidence_list_free(&l);
	return rpc_submit(ctx, ev, NULL, finish_evidence);
}
