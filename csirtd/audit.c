/*
 * audit.c - the ledger verifier behind `csirt-audit verify` (see audit.h).
 *
 * Owns nothing on disk and must never write the ledger or the index it is
 * asked to compare: it reads the repository through ledger.c's read-only
 * functions, parses each raw commit itself (so that what is verified is
 * exactly the bytes git stores), and re-derives every case.json with the
 * same fold the writer uses.  The only state it keeps is the list of
 * commit ids and the fold of every case seen so far.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "checkpoint.h"
#include "codec.h"
#include "crypto.h"
#include "error.h"
#include "index.h"
#include "layout.h"
#include "ledger.h"
#include "lifecycle.h"
#include "pipeline.h"
#include "util.h"
#include "writer.h"

#define AUDIT_SIGNERS_MAX 64
#define AUDIT_FILE_MAX (1u << 20)

static const char *const rule_names[] = {
    "ok",   "refs",   "linear", "signature",  "files",  "event",
    "case", "anchor", "index",  "checkpoint", "pinned",
};

const char *
audit_rule_name(enum audit_rule rule)
{
	if ((size_t)rule >= UTIL_ARRAY_LEN(rule_names))
		return "unknown";
	return rule_names[rule];
}

/* Records the first broken rule; returns CSIRT_ETAMPER for the caller to
 * pass up. */
static int fail(struct audit_report *r, enum audit_rule rule,
                const char *commit, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int
fail(struct audit_report *r, enum audit_rule rule, const char *commit,
     const char *fmt, ...)
{
	va_list ap;

	r->rule = rule;
	snprintf(r->commit, sizeof(r->commit), "%s", commit ? commit : "");
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	return csirt_error_set(CSIRT_ETAMPER, "rule %d (%s): %s", rule,
	                       audit_rule_name(rule), r->message);
}

/* ---- allowed signers ------------------------------------------------ */

struct signers {
	char *keys[AUDIT_SIGNERS_MAX]; /* "ssh-ed25519 AAAA..." */
	size_t n;
};

static void
signers_free(struct signers *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->keys[i]);
	s->n = 0;
}

/*
 * git's allowed-signers format, one key a line: principals, optional
 * options, key type, base64 key.  A line whose namespaces= option does not
 * list "git" is not valid for commits and is skipped.
 */
static int
signers_load(struct signers *out, const char *path)
{
	char *text = NULL, *line, *save = NULL;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = util_read_file(&text, &len, path, AUDIT_FILE_MAX)) != 0)
		return csirt_error_wrap(rc, "allowed signers");
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *type = NULL, *ns = strstr(line, "namespaces=");
		const char *p;
		if (line[strspn(line, " \t")] == '#')
			continue;
		for (p = line; (p = strstr(p, "ssh-")) != NULL; p++)
			if (p == line || p[-1] == ' ' || p[-1] == '\t') {
				type = (char *)(uintptr_t)p;
				break;
			}
		if (type == NULL)
			continue;
		if (ns != NULL && ns < type) {
			char *end = strchr(ns + 12, '"');
			if (ns[11] != '"' || end == NULL || end > type)
				continue;
			*end = '\0';
			bool git = false;
			for (char *tok = ns + 12, *s2 = NULL;
			     (tok = strtok_r(tok, ",", &s2)) != NULL;
			     tok = NULL)
				git = git || strcmp(tok, "git") == 0;
			if (!git)
				continue;
		}
		if (out->n == AUDIT_SIGNERS_MAX)
			break;
		out->keys[out->n++] = util_strdup(type);
	}
	free(text);
	if (out->n == 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "%s lists no ssh key for namespace git",
		                       path);
	return 0;
}

/* ---- raw commits ---------------------------------------------------- */

struct rawcommit {
	char *raw;
	size_t len;
	size_t nparents;
	char parent[LEDGER_OID_HEX];
	char tree[LEDGER_OID_HEX];
	int nsigs;
	struct buf sig;     /* armoured SSHSIG, without the header's indent */
	struct buf payload; /* the commit without its gpgsig header */
	const char *message;
};

static void
rawcommit_free(struct rawcommit *c)
{
	free(c->raw);
	buf_free(&c->sig);
	buf_free(&c->payload);
	memset(c, 0, sizeof(*c));
}

/*
 * Reads and splits commit `id` as git does for `verify-commit`: the signed
 * payload is the object with the gpgsig header and its continuation lines
 * (those starting with one space) removed.
 */
static int
rawcommit_read(struct rawcommit *c, struct ledger *lg, const char *id)
{
	const char *p, *end;
	bool in_sig = false;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((rc = ledger_object_read(&c->raw, &c->len, lg, id, "commit")) != 0)
		return rc;
	if (strlen(c->raw) != c->len)
		return csirt_error_set(CSIRT_ETAMPER, "commit has a NUL byte");
	for (p = c->raw; *p != '\0' && *p != '\n'; p = end + 1) {
		end = strchr(p, '\n');
		if (end == NULL)
			return csirt_error_set(CSIRT_ETAMPER,
			                       "commit headers are truncated");
		if (*p == ' ' && in_sig) {
			buf_putc(&c->sig, '\n');
			buf_put(&c->sig, p + 1, (size_t)(end - p - 1));
			continue;
		}
		in_sig = false;
		if (strncmp(p, "gpgsig ", 7) == 0) {
			in_sig = true;
			c->nsigs++;
			buf_put(&c->sig, p + 7, (size_t)(end - p - 7));
			continue;
		}
		if (strncmp(p, "tree ", 5) == 0 && c->tree[0] == '\0')
			snprintf(c->tree, sizeof(c->tree), "%.*s",
			         (int)(end - p - 5), p + 5);
		if (strncmp(p, "parent ", 7) == 0) {
			if (c->nparents++ == 0)
				snprintf(c->parent, sizeof(c->parent), "%.*s",
				         (int)(end - p - 7), p + 7);
		}
		buf_put(&c->payload, p, (size_t)(end - p) + 1);
	}
	if (*p != '\n')
		return csirt_error_set(CSIRT_ETAMPER, "commit has no message");
	buf_puts(&c->payload, p);
	c->message = p + 1;
	return 0;
}

/* ---- folds by case id ----------------------------------------------- */

struct fold {
	char id[LAYOUT_CASE_ID_LEN];
	Csirt__V1__Case *c;
	uint64_t events; /* folded so far */
	struct fold *next;
};

struct folds {
	struct fold **slots;
	size_t nslots, n;
};

static size_t
fold_hash(const char *id, size_t nslots)
{
	uint64_t h = 1469598103934665603u;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211u;
	return (size_t)(h % nslots);
}

static struct fold *
fold_get(struct folds *f, const char *id)
{
	if (f->nslots == 0)
		return NULL;
	for (struct fold *x = f->slots[fold_hash(id, f->nslots)]; x != NULL;
	     x = x->next)
		if (strcmp(x->id, id) == 0)
			return x;
	return NULL;
}

/* Adds a case (takes ownership of `c`). */
static void
fold_put(struct folds *f, const char *id, Csirt__V1__Case *c)
{
	struct fold *x = util_xcalloc(1, sizeof(*x));

	if (f->n * 2 >= f->nslots) {
		size_t ns = f->nslots ? f->nslots * 2 : 1024;
		struct fold **slots = util_xcalloc(ns, sizeof(*slots));
		for (size_t i = 0; i < f->nslots; i++) {
			struct fold *y = f->slots[i], *next;
			for (; y != NULL; y = next) {
				size_t h = fold_hash(y->id, ns);
				next = y->next;
				y->next = slots[h];
				slots[h] = y;
			}
		}
		free(f->slots);
		f->slots = slots;
		f->nslots = ns;
	}
	snprintf(x->id, sizeof(x->id), "%s", id);
	x->c = c;
	size_t h = fold_hash(id, f->nslots);
	x->next = f->slots[h];
	f->slots[h] = x;
	f->n++;
}

static void
folds_free(struct folds *f)
{
	for (size_t i = 0; i < f->nslots; i++) {
		struct fold *x = f->slots[i], *next;
		for (; x != NULL; x = next) {
			next = x->next;
			case_free(x->c);
			free(x);
		}
	}
	free(f->slots);
	memset(f, 0, sizeof(*f));
}

/* ---- one commit's files (rule 4) ------------------------------------ */

struct files {
	struct audit_report *r;
	const char *commit;
	const char *scope;           /* "cases/.../<id>/" or "directory/" */
	const char *event_path;      /* the one event file it must add */
	const char *event_path_flat; /* or there, in an older ledger */
	const char *case_path;       /* its case.json, or NULL */
	char *event;                 /* content of the event file */
	size_t event_len;
	char *case_json; /* content of case.json when written */
	size_t case_len;
};

static int
files_cb(const char *path, enum ledger_change change, unsigned mode,
         const char *data, size_t len, void *arg)
{
	struct files *f = arg;
	bool is_event = strncmp(path, "events/", 7) == 0 ||
	                strstr(path, "/events/") != NULL;

	if (is_event && change != LEDGER_ADDED)
		return fail(
		    f->r, AUDIT_FILES, f->commit, "%s an event file: %s",
		    change == LEDGER_DELETED ? "deletes" : "modifies", path);
	if (strncmp(path, f->scope, strlen(f->scope)) != 0)
		return fail(f->r, AUDIT_FILES, f->commit,
		            "touches %s outside %s", path, f->scope);
	/* data is NULL for a blob too large to load (evidence content,
	 * checked by its readers against its manifest and key). */
	if (change != LEDGER_DELETED &&
	    (mode != 0100644 || (data == NULL && len <= LEDGER_DIFF_BLOB_MAX)))
		return fail(f->r, AUDIT_FILES, f->commit,
		            "%s is not a regular file (mode %o)", path, mode);
	if (is_event) {
		/* Its bucket, or (a ledger from before the buckets) the flat
		 * path. */
		if ((strcmp(path, f->event_path) != 0 &&
		     strcmp(path, f->event_path_flat) != 0) ||
		    f->event != NULL)
			return fail(f->r, AUDIT_FILES, f->commit,
			            "adds event file %s besides its own %s",
			            path, f->event_path);
		if (strcmp(path, f->event_path) != 0)
			f->event_path = f->event_path_flat; /* as found */
		f->event = util_xmalloc(len + 1);
		memcpy(f->event, data, len);
		f->event[len] = '\0';
		f->event_len = len;
	} else if (f->case_path != NULL && strcmp(path, f->case_path) == 0) {
		if (change == LEDGER_DELETED)
			return fail(f->r, AUDIT_FILES, f->commit, "deletes %s",
			            path);
		f->case_json = util_xmalloc(len + 1);
		memcpy(f->case_json, data, len);
		f->case_json[len] = '\0';
		f->case_len = len;
	}
	return 0;
}

/* ---- the verifier --------------------------------------------------- */

struct audit {
	const struct audit_options *opt;
	struct audit_report *r;
	struct ledger *lg;
	struct signers signers;
	struct folds folds;
	char (*ids)[LEDGER_OID_HEX]; /* oldest first once collected */
	size_t nids;
	uint64_t *seqs; /* events up to and including commit i */
	uint64_t seq;
	struct merkle tree; /* of the events verified so far */
	uint64_t cp_size;   /* of the last checkpoint commit */
	struct checkpoint pinned;
	bool have_pinned;
};

static int
refs_cb(const char *name, void *arg)
{
	struct audit *a = arg;

	if (strcmp(name, LEDGER_REF) != 0)
		return fail(a->r, AUDIT_REFS, NULL,
		            "unexpected ref %s (only " LEDGER_REF " may exist)",
		            name);
	return 0;
}

/* Rules 1 and 2: the refs, then the first-parent chain from the head,
 * which must reach one root without a merge. */
static int
collect(struct audit *a)
{
	char bad[LEDGER_OID_HEX];
	int rc;

	if ((rc = ledger_refs(a->lg, refs_cb, a)) != 0)
		return rc;
	ledger_head(a->lg, a->r->head);
	if (a->r->head[0] == '\0')
		return fail(a->r, AUDIT_REFS, NULL,
		            LEDGER_REF " does not exist");
	if ((rc = ledger_first_parents(a->lg, "", &a->ids, &a->nids, bad)) !=
	    0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", csirt_error_msg());
		return fail(a->r, AUDIT_LINEAR, bad[0] != '\0' ? bad : NULL,
		            "%s", msg);
	}
	return 0;
}

static int
check_signature(struct audit_report *r, const struct signers *signers,
                const char *id, const struct rawcommit *c)
{
	if (c->nsigs != 1)
		return fail(r, AUDIT_SIGNATURE, id,
		            c->nsigs == 0 ? "is not signed"
		                          : "has more than one gpgsig header");
	for (size_t i = 0; i < signers->n; i++)
		if (crypto_sshsig_verify(c->sig.data, c->sig.len, "git",
		                         c->payload.data, c->payload.len,
		                         signers->keys[i]) == 0)
			return 0;
	return fail(r, AUDIT_SIGNATURE, id,
	            "has no valid \"git\" signature by an allowed key");
}

/* ---- checkpoints (rules 9 and 10) ------------------------------------ */

struct cpfile {
	struct audit_report *r;
	const char *commit;
	const char *path; /* the one file it must add */
	char *data;
	size_t len;
};

static int
cpfile_cb(const char *path, enum ledger_change change, unsigned mode,
          const char *data, size_t len, void *arg)
{
	struct cpfile *f = arg;

	if (strcmp(path, f->path) != 0 || change != LEDGER_ADDED)
		return fail(f->r, AUDIT_FILES, f->commit,
		            "checkpoint commit %s %s (it may only add %s)",
		            change == LEDGER_ADDED     ? "adds"
		            : change == LEDGER_DELETED ? "deletes"
		                                       : "modifies",
		            path, f->path);
	if (mode != 0100644 || data == NULL || len > CHECKPOINT_TEXT_MAX)
		return fail(f->r, AUDIT_CHECKPOINT, f->commit,
		            "%s is not a regular file of at most %d bytes",
		            path, CHECKPOINT_TEXT_MAX);
	f->data = util_xmalloc(len + 1);
	memcpy(f->data, data, len);
	f->data[len] = '\0';
	f->len = len;
	return 0;
}

/* ---- the commit pipeline ---------------------------------------------
 *
 * What a commit can be checked for without the commits before it -- rules
 * 3 and 4, and the parts of rules 5 and 9 that read only the commit and
 * its parent's tree -- runs on worker threads (pipeline.h) ahead of the
 * main thread, each with its own repository handle.  The main thread takes
 * the results in history order and does what depends on history: Seq, the
 * fold of each case, the Merkle tree, the checkpoints' sizes and roots.  A
 * worker's finding is reported at the place its check has in the order of
 * check_commit(), so the first bad commit and the rule named are those of
 * a one-thread pass.
 */

#define AUDIT_THREADS_MAX 4
#define AUDIT_WINDOW 4096 /* commits checked ahead of the main thread */
#define AUDIT_BATCH 256   /* consecutive commits a worker claims */

enum commit_stage {
	STAGE_READ,    /* unreadable, signature, trailers: before any Seq */
	STAGE_CONTENT, /* files, event, checkpoint text: after the Seq */
};

/* A worker's result for one commit. */
struct commit_item {
	int rc; /* 0, or what the worker found */
	enum commit_stage stage;
	enum audit_rule rule; /* AUDIT_OK when rc is not a broken rule */
	char message[512];    /* the rule's message, or the error */
	bool checkpoint;
	uint64_t cp_size;
	struct checkpoint cp; /* opened and signature-checked */
	char *cp_text;
	size_t cp_len;
	struct layout_trailers t;
	Csirt__V1__Event *ev;
	bool is_case;
	char *case_json; /* as committed, when written */
	size_t case_len;
};

/* A worker's own handle is never reopened: in pass mode libgit2 keeps no
 * object cache (a full one, 256 MiB across handles, evicts a few entries
 * per insertion and leaves tombstones that slowed lookups down: 35 % of a
 * 1,000,000-commit verify in git_oid_equal). */
struct commit_worker {
	struct ledger *lg;
	size_t prev;                    /* the commit read last, + 1 */
	char prev_tree[LEDGER_OID_HEX]; /* and its tree */
	struct audit_report scratch;    /* fail() target on this thread */
};

static void
commit_item_free(void *res, void *arg)
{
	struct commit_item *it = res;

	(void)arg;
	codec_free(it->ev ? &it->ev->base : NULL);
	free(it->cp_text);
	free(it->case_json);
	free(it);
}

static void *
commit_worker_init(void *arg)
{
	struct audit *a = arg;
	struct commit_worker *w = util_xcalloc(1, sizeof(*w));

	if (ledger_open(&w->lg, a->opt->ledger, NULL) != 0)
		w->lg = NULL;
	return w;
}

static void
commit_worker_fini(void *state, void *arg)
{
	struct commit_worker *w = state;

	(void)arg;
	ledger_close(w->lg);
	free(w);
}

/* Rule 9's reading of checkpoint commit `i`: it adds exactly its file,
 * which is a checkpoint signed by an allowed key. */
static int
checkpoint_read(struct audit *a, struct commit_worker *w, size_t i,
                const char *old_tree, const char *new_tree,
                struct commit_item *it)
{
	struct audit_report *r = &w->scratch;
	const char *id = a->ids[i];
	struct cpfile f = {r, id, NULL, NULL, 0};
	struct buf path = BUF_INIT;
	int rc;

	if (i == 0) /* refused by the main thread before any content */
		return 0;
	layout_checkpoint_path(&path, it->cp_size);
	f.path = path.data;
	if ((rc = ledger_changes(w->lg, old_tree, new_tree, cpfile_cb, &f)) !=
	    0) {
		if (r->rule == AUDIT_OK)
			rc = fail(r, AUDIT_FILES, id, "%s", csirt_error_msg());
		goto done;
	}
	if (f.data == NULL) {
		rc = fail(r, AUDIT_FILES, id, "does not add %s", path.data);
		goto done;
	}
	if (checkpoint_open(&it->cp, f.data, f.len, a->signers.keys,
	                    a->signers.n) != 0) {
		rc = fail(r, AUDIT_CHECKPOINT, id, "%s: %s", path.data,
		          csirt_error_msg());
		goto done;
	}
	it->cp_text = f.data;
	it->cp_len = f.len;
	f.data = NULL;
	rc = 0;
done:
	free(f.data);
	buf_free(&path);
	return rc;
}

/* Rule 5's reading of an event file: its hash, its parse, and its
 * agreement with the trailers. */
static int
event_read(struct audit_report *r, const char *id, struct commit_item *it,
           const struct files *f)
{
	const struct layout_trailers *t = &it->t;
	Csirt__V1__Event *ev = NULL;
	char sha[CRYPTO_SHA256_HEX_LEN];
	const char *type = NULL;
	bool known;

	crypto_sha256_hex(sha, f->event, f->event_len);
	if (strcmp(sha, t->event_sha256) != 0)
		return fail(r, AUDIT_EVENT, id,
		            "%s does not match its Event-SHA256",
		            f->event_path);
	if (codec_from_json((struct ProtobufCMessage **)&ev,
	                    &csirt__v1__event__descriptor, f->event,
	                    f->event_len, NULL) != 0)
		return fail(r, AUDIT_EVENT, id, "%s does not parse: %s",
		            f->event_path, csirt_error_msg());
	it->ev = ev;
	known = layout_event_type((int)ev->payload_case, &type, &it->is_case) ==
	            0 &&
	        strcmp(type, ev->type) == 0;
	if (!known || ev->seq != t->seq || strcmp(ev->case_id, t->case_id) ||
	    strcmp(ev->type, t->event) != 0 ||
	    it->is_case != (t->case_id[0] != '\0'))
		return fail(r, AUDIT_EVENT, id,
		            "%s (seq %" PRIu64 ", case \"%s\", type %s) "
		            "disagrees with its payload or trailers",
		            f->event_path, ev->seq, ev->case_id, ev->type);
	return 0;
}

/* Rules 3 and 4, and what rules 5 and 9 read, for commit `i`. */
static int
commit_read(struct audit *a, struct commit_worker *w, size_t i,
            struct commit_item *it)
{
	struct audit_report *r = &w->scratch;
	const char *id = a->ids[i];
	struct rawcommit c;
	struct buf scope = BUF_INIT, evp = BUF_INIT, evflat = BUF_INIT,
	           casep = BUF_INIT;
	char parent_tree[LEDGER_OID_HEX];
	struct files f;
	int rc;

	memset(&f, 0, sizeof(f));
	memset(&c, 0, sizeof(c));
	it->stage = STAGE_READ;
	if (w->lg == NULL) {
		rc = csirt_error_set(CSIRT_EFAIL, "opening %s: %s",
		                     a->opt->ledger, csirt_error_msg());
		goto done;
	}
	if ((rc = rawcommit_read(&c, w->lg, id)) != 0) {
		rc = fail(r, AUDIT_SIGNATURE, id, "unreadable: %s",
		          csirt_error_msg());
		goto done;
	}
	if ((rc = check_signature(r, &a->signers, id, &c)) != 0)
		goto done;
	if (i > 0 && w->prev != i) {
		/* The first of a batch: its parent's tree from the parent. */
		struct rawcommit pc;
		rc = rawcommit_read(&pc, w->lg, a->ids[i - 1]);
		snprintf(w->prev_tree, sizeof(w->prev_tree), "%s", pc.tree);
		rawcommit_free(&pc);
		if (rc != 0) {
			rc = fail(r, AUDIT_FILES, id, "parent unreadable: %s",
			          csirt_error_msg());
			goto done;
		}
	}
	snprintf(parent_tree, sizeof(parent_tree), "%s",
	         i > 0 ? w->prev_tree : "");
	snprintf(w->prev_tree, sizeof(w->prev_tree), "%s", c.tree);
	w->prev = i + 1;
	rc = layout_checkpoint_parse(&it->cp_size, c.message);
	if (rc == 0) {
		it->checkpoint = true;
		it->stage = STAGE_CONTENT;
		rc = checkpoint_read(a, w, i, parent_tree, c.tree, it);
		goto done;
	}
	if (rc != CSIRT_ENOTFOUND) {
		rc = fail(r, AUDIT_CHECKPOINT, id, "%s", csirt_error_msg());
		goto done;
	}
	if (layout_trailers_parse(&it->t, c.message) != 0) {
		rc = fail(r, AUDIT_EVENT, id,
		          "lacks well-formed csirtd trailers");
		goto done;
	}
	it->stage = STAGE_CONTENT;
	if (it->t.case_id[0] != '\0') {
		layout_case_dir(&scope, it->t.case_id);
		buf_putc(&scope, '/');
		layout_case_json(&casep, it->t.case_id);
		f.case_path = casep.data;
	} else {
		buf_puts(&scope, "directory/");
	}
	layout_event_path(&evp, it->t.case_id, it->t.seq, it->t.case_seq);
	/* Only a commit from before Case-Seq may use the flat path. */
	if (it->t.case_seq == 0)
		layout_event_path_flat(&evflat, it->t.case_id, it->t.seq);
	else
		buf_puts(&evflat, evp.data);
	f.r = r;
	f.commit = id;
	f.scope = scope.data;
	f.event_path = evp.data;
	f.event_path_flat = evflat.data;
	if ((rc = ledger_changes(w->lg, parent_tree, c.tree, files_cb, &f)) !=
	    0) {
		if (r->rule == AUDIT_OK)
			rc = fail(r, AUDIT_FILES, id, "%s", csirt_error_msg());
		goto done;
	}
	if (f.event == NULL) {
		rc = fail(r, AUDIT_FILES, id, "does not add its event file %s",
		          evp.data);
		goto done;
	}
	if ((rc = event_read(r, id, it, &f)) != 0)
		goto done;
	it->case_json = f.case_json;
	it->case_len = f.case_len;
	f.case_json = NULL;
	rc = 0;
done:
	rawcommit_free(&c);
	free(f.event);
	free(f.case_json);
	buf_free(&scope);
	buf_free(&evp);
	buf_free(&evflat);
	buf_free(&casep);
	return rc;
}

static void *
commit_work(size_t i, void *state, void *arg)
{
	struct audit *a = arg;
	struct commit_worker *w = state;
	struct commit_item *it = util_xcalloc(1, sizeof(*it));

	w->scratch.rule = AUDIT_OK;
	it->rc = commit_read(a, w, i, it);
	if (it->rc != 0) {
		it->rule = w->scratch.rule;
		snprintf(it->message, sizeof(it->message), "%s",
		         it->rule != AUDIT_OK ? w->scratch.message
		                              : csirt_error_msg());
	}
	return it;
}

static const struct pipeline_ops commit_ops = {
    commit_worker_init,
    commit_worker_fini,
    commit_work,
    commit_item_free,
};

/* Reports the worker's finding for commit `id` as the main thread's. */
static int
item_report(struct audit *a, const char *id, const struct commit_item *it)
{
	if (it->rule != AUDIT_OK)
		return fail(a->r, it->rule, id, "%s", it->message);
	return csirt_error_set(it->rc, "%s", it->message);
}

/* Rule 9 for checkpoint commit `i` claiming `size` events. */
static int
check_checkpoint(struct audit *a, size_t i, const struct commit_item *it)
{
	const char *id = a->ids[i];
	uint64_t size = it->cp_size;
	unsigned char root[MERKLE_HASH_LEN];
	struct buf path = BUF_INIT;
	int rc;

	if (size != a->seq || size <= a->cp_size || i == 0)
		return fail(a->r, AUDIT_CHECKPOINT, id,
		            "checkpoint of %" PRIu64 " events after %" PRIu64
		            " events (the previous checkpoint covers %" PRIu64
		            ")",
		            size, a->seq, a->cp_size);
	if (it->rc != 0)
		return item_report(a, id, it);
	merkle_root(&a->tree, root);
	if (it->cp.size != size || strcmp(it->cp.head, a->ids[i - 1]) != 0 ||
	    memcmp(it->cp.root, root, sizeof(root)) != 0) {
		layout_checkpoint_path(&path, size);
		rc = fail(a->r, AUDIT_CHECKPOINT, id,
		          "%s does not match the ledger (size %" PRIu64
		          ", head %.12s, root %s the recomputed one)",
		          path.data, it->cp.size, it->cp.head,
		          memcmp(it->cp.root, root, sizeof(root))
		              ? "differs from"
		              : "equals");
		buf_free(&path);
		return rc;
	}
	a->cp_size = size;
	a->r->checkpoints++;
	memcpy(a->r->checkpoint, it->cp_text, it->cp_len + 1);
	return 0;
}

/* Rule 6 for a case event: the fold accepts it and case.json is the
 * fold. */
static int
check_fold(struct audit *a, const char *id, const struct commit_item *it)
{
	const Csirt__V1__Event *ev = it->ev;
	struct fold *fo;
	Csirt__V1__Case *fresh = NULL, *c;
	struct buf json = BUF_INIT, casep = BUF_INIT;
	int rc;

	if (!it->is_case)
		return 0;
	fo = fold_get(&a->folds, ev->case_id);
	if (ev->payload_case == CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED) {
		if (fo != NULL) {
			rc = fail(a->r, AUDIT_CASE, id,
			          "reports case %s a second time", ev->case_id);
			goto done;
		}
		c = fresh = case_new();
	} else if (fo == NULL) {
		rc = fail(a->r, AUDIT_CASE, id,
		          "event for case %s, which was never reported",
		          ev->case_id);
		goto done;
	} else {
		c = fo->c;
	}
	/* Case-Seq, where a commit has it, numbers the case's events from
	 * its report on, without a gap (the event file's bucket follows from
	 * it). */
	if (it->t.case_seq != 0 &&
	    it->t.case_seq != (fo != NULL ? fo->events : 0) + 1) {
		rc = fail(a->r, AUDIT_CASE, id,
		          "has Case-Seq %" PRIu64 " but is event %" PRIu64
		          " of case %s",
		          it->t.case_seq, (fo != NULL ? fo->events : 0) + 1,
		          ev->case_id);
		goto done;
	}
	if (case_apply(c, ev) != 0) {
		rc = fail(a->r, AUDIT_CASE, id, "the fold refuses it: %s",
		          csirt_error_msg());
		goto done;
	}
	if (fresh != NULL) {
		fold_put(&a->folds, ev->case_id, fresh);
		fresh = NULL;
		fo = fold_get(&a->folds, ev->case_id);
	}
	fo->events++;
	layout_case_json(&casep, ev->case_id);
	if (it->case_json == NULL) {
		rc =
		    fail(a->r, AUDIT_CASE, id, "does not write %s", casep.data);
		goto done;
	}
	if ((rc = codec_to_json(&json, &c->base, CODEC_PRETTY)) != 0)
		goto done;
	if (json.len != it->case_len ||
	    memcmp(json.data, it->case_json, json.len) != 0) {
		rc = fail(a->r, AUDIT_CASE, id,
		          "%s differs from the fold of the case's events",
		          casep.data);
		goto done;
	}
	rc = 0;
done:
	case_free(fresh);
	buf_free(&json);
	buf_free(&casep);
	return rc;
}

/* Rule 10: reads and opens the pinned checkpoint. */
static int
pinned_load(struct audit *a)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = util_read_file(&text, &len, a->opt->checkpoint,
	                         CHECKPOINT_TEXT_MAX)) != 0) {
		rc = fail(a->r, AUDIT_PINNED, NULL, "cannot read %s: %s",
		          a->opt->checkpoint, csirt_error_msg());
		goto done;
	}
	if (checkpoint_open(&a->pinned, text, len, a->signers.keys,
	                    a->signers.n) != 0) {
		rc = fail(a->r, AUDIT_PINNED, NULL, "%s: %s",
		          a->opt->checkpoint, csirt_error_msg());
		goto done;
	}
	a->have_pinned = true;
	rc = 0;
done:
	free(text);
	return rc;
}

/* Rule 10 after the event commit `id` that brought the tree to a->seq. */
static int
check_pinned_at(struct audit *a, const char *id)
{
	unsigned char root[MERKLE_HASH_LEN];

	if (!a->have_pinned || a->seq != a->pinned.size)
		return 0;
	merkle_root(&a->tree, root);
	if (memcmp(root, a->pinned.root, sizeof(root)) != 0)
		return fail(a->r, AUDIT_PINNED, id,
		            "the Merkle root of the first %" PRIu64
		            " events differs from the pinned checkpoint's: "
		            "events were changed, removed or reordered",
		            a->pinned.size);
	if (strcmp(id, a->pinned.head) != 0)
		return fail(a->r, AUDIT_PINNED, id,
		            "event %" PRIu64 " is this commit, not the pinned "
		            "head %s: the history was rewritten",
		            a->pinned.size, a->pinned.head);
	return 0;
}

/* Rules 3 to 6 and 9 for commit number `i` (0: the root), in the order a
 * one-thread pass checks them, from the worker's result `it`. */
static int
check_commit(struct audit *a, size_t i, const struct commit_item *it)
{
	const char *id = a->ids[i];
	int rc;

	if (it->rc != 0 && it->stage == STAGE_READ)
		return item_report(a, id, it);
	if (it->checkpoint)
		return check_checkpoint(a, i, it);
	if (it->t.seq != a->seq + 1)
		return fail(a->r, AUDIT_EVENT, id,
		            "has Seq %" PRIu64 ", expected %" PRIu64, it->t.seq,
		            a->seq + 1);
	if (it->rc != 0)
		return item_report(a, id, it);
	if ((rc = check_fold(a, id, it)) != 0)
		return rc;
	if ((rc = merkle_append_sha256_hex(&a->tree, it->t.event_sha256)) != 0)
		return fail(a->r, AUDIT_EVENT, id, "%s", csirt_error_msg());
	a->seq = it->t.seq;
	return check_pinned_at(a, id);
}

/* Rule 7: the anchor is one of the verified commits, with its Seq (a
 * checkpoint commit counts the events before it). */
static int
check_anchor(struct audit *a)
{
	const char *want = a->opt->anchor_commit;
	size_t n = strlen(want);

	if (n < 7 || n > 40 || strspn(want, "0123456789abcdef") != n)
		return fail(a->r, AUDIT_ANCHOR, NULL,
		            "anchor commit \"%.40s\" is not a hex commit id",
		            want);
	for (size_t i = 0; i < a->nids; i++) {
		if (strncmp(a->ids[i], want, n) != 0)
			continue;
		if (a->seqs[i] != a->opt->anchor_seq)
			return fail(a->r, AUDIT_ANCHOR, a->ids[i],
			            "anchor has Seq %" PRIu64 ", not %" PRIu64,
			            a->seqs[i], a->opt->anchor_seq);
		return 0;
	}
	return fail(a->r, AUDIT_ANCHOR, NULL,
	            "anchor %.40s (Seq %" PRIu64 ") is not in the history of "
	            "%s: the ledger was rewritten or replaced",
	            want, a->opt->anchor_seq, a->r->head);
}

/* The first line where two dumps differ, for the report. */
static void
first_diff(char *out, size_t size, const char *x, const char *y)
{
	size_t i = 0, start = 0;

	for (; x[i] != '\0' && x[i] == y[i]; i++)
		if (x[i] == '\n')
			start = i + 1;
	snprintf(out, size, "%.*s", (int)strcspn(x + start, "\n"), x + start);
}

/* Rule 8: the given index against one replayed into a temporary file. */
static int
check_index(struct audit *a)
{
	char tmpl[] = "/tmp/csirt-audit.XXXXXX";
	char *dir = NULL, *path = NULL, line[200];
	struct index *given = NULL, *fresh = NULL;
	struct buf want = BUF_INIT, got = BUF_INIT;
	int rc;

	if ((rc = index_open_readonly(&given, a->opt->index)) != 0 ||
	    (rc = index_dump(&got, given)) != 0) {
		rc = fail(a->r, AUDIT_INDEX, NULL, "cannot read %s: %s",
		          a->opt->index, csirt_error_msg());
		goto done;
	}
	if ((dir = mkdtemp(tmpl)) == NULL) {
		rc = csirt_error_set(CSIRT_EFAIL, "mkdtemp failed");
		goto done;
	}
	path = util_path_join(dir, "index.sqlite");
	if ((rc = index_open(&fresh, path)) != 0 ||
	    (rc = writer_replay_bulk(a->lg, fresh, NULL)) != 0 ||
	    (rc = index_dump(&want, fresh)) != 0) {
		rc = fail(a->r, AUDIT_INDEX, NULL,
		          "cannot replay the ledger: %s", csirt_error_msg());
		goto done;
	}
	if (strcmp(want.data, got.data) != 0) {
		first_diff(line, sizeof(line), got.data, want.data);
		rc = fail(a->r, AUDIT_INDEX, NULL,
		          "%s differs from the replayed ledger at: %s",
		          a->opt->index, line);
		goto done;
	}
	rc = 0;
done:
	index_close(given);
	index_close(fresh);
	if (path != NULL)
		index_remove_files(path);
	if (dir != NULL)
		rmdir(dir);
	free(path);
	buf_free(&want);
	buf_free(&got);
	return rc;
}

int
audit_verify(struct audit_report *out, const struct audit_options *opt)
{
	struct audit a;
	struct pipeline *pl = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	a.opt = opt;
	a.r = out;
	if ((rc = crypto_init()) != 0 ||
	    (rc = signers_load(&a.signers, opt->allowed_signers)) != 0)
		goto done;
	ledger_pass_mode(true, true);
	if ((rc = ledger_open(&a.lg, opt->ledger, NULL)) != 0) {
		if (rc == CSIRT_ETAMPER)
			rc = fail(out, AUDIT_REFS, NULL, "%s",
			          csirt_error_msg());
		goto done;
	}
	merkle_init(&a.tree);
	if (opt->checkpoint != NULL && (rc = pinned_load(&a)) != 0)
		goto done;
	if ((rc = collect(&a)) != 0)
		goto done;
	a.seqs = util_xcalloc(a.nids, sizeof(*a.seqs));
	pipeline_start(&pl, a.nids, pipeline_threads(AUDIT_THREADS_MAX),
	               AUDIT_WINDOW, AUDIT_BATCH, &commit_ops, &a);
	for (size_t i = 0; i < a.nids; i++) {
		struct commit_item *it = pipeline_take(pl, i);
		rc = check_commit(&a, i, it);
		commit_item_free(it, NULL);
		if (rc != 0)
			goto done;
		a.seqs[i] = a.seq;
		out->commits++;
		if (opt->progress != NULL && opt->progress_every > 0 &&
		    out->commits % opt->progress_every == 0)
			opt->progress(out->commits, a.nids, opt->progress_arg);
	}
	out->events = a.seq;
	if (a.have_pinned && a.seq < a.pinned.size) {
		rc = fail(out, AUDIT_PINNED, NULL,
		          "the ledger holds %" PRIu64 " events, fewer than the "
		          "%" PRIu64 " of the pinned checkpoint: it was rolled "
		          "back or replaced",
		          a.seq, a.pinned.size);
		goto done;
	}
	if (opt->anchor_commit != NULL && (rc = check_anchor(&a)) != 0)
		goto done;
	if (opt->index != NULL && (rc = check_index(&a)) != 0)
		goto done;
	rc = 0;
done:
	if (rc != 0 && out->rule == AUDIT_OK)
		snprintf(out->message, sizeof(out->message), "%s",
		         csirt_error_msg());
	pipeline_stop(pl);
	ledger_close(a.lg);
	ledger_pass_mode(false, true);
	folds_free(&a.folds);
	signers_free(&a.signers);
	free(a.ids);
	free(a.seqs);
	return rc;
}
