/*
 * datadir.c - creating, locking, opening and rebuilding $DATA.
 *
 * Owns the directory layout and the single-process lock.  Stale git lock
 * files are only removed while holding that lock, so they can only be
 * leftovers of a crashed csirtd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "codec.h"
#include "datadir.h"
#include "error.h"
#include "index.h"
#include "keystore.h"
#include "ledger.h"
#include "log.h"
#include "util.h"
#include "writer.h"

static char *
dpath(const char *dir, const char *name)
{
	return util_path_join(dir, name);
}

static int
lock_dir(const char *path, int *fd_out)
{
	char *p = dpath(path, "csirtd.lock");
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600), rc = 0;

	*fd_out = -1;
	if (fd < 0) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "open %s: %s", p,
		                     strerror(errno));
	} else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = csirt_error_set(CSIRT_ECONFLICT,
		                     "%s is in use by another csirtd (%s)",
		                     path, strerror(errno));
		close(fd);
	} else {
		*fd_out = fd;
	}
	free(p);
	return rc;
}

/*
 * The index is written unsynced (index_open_unsynced: no fsync at its
 * commits or checkpoints, only every few seconds) while UNSYNCED_FILE
 * holds the kernel's boot id.  A crash of the daemon leaves the page
 * cache, and the index in it, whole: the next start, same boot, uses it.
 * A crash of the system may leave the file torn: a start that finds
 * another boot's id (or cannot read the boot id) rebuilds the index from
 * the ledger first.  A clean close fsyncs the index and removes the file;
 * one that cannot, or after a write-back error, leaves "failed" in it, so
 * the next start rebuilds.  Without a boot id (no /proc) the index is
 * opened synced, as before.
 */
#define UNSYNCED_FILE "index.unsynced"
#define BOOT_ID_LEN 36 /* a UUID */

static int rebuild_index(const char *path, struct ledger *lg, uint64_t *events);

static int
boot_id(char out[BOOT_ID_LEN + 1])
{
	char *s = NULL;
	size_t n = 0;
	int rc = -1;

	if (util_read_file(&s, &n, "/proc/sys/kernel/random/boot_id", 64) != 0)
		return -1;
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	if (n == BOOT_ID_LEN && strspn(s, "0123456789abcdef-") == n) {
		memcpy(out, s, n + 1);
		rc = 0;
	}
	free(s);
	return rc;
}

/* 1 and its first line in `seen` if the file is there, 0 if not; an
 * error otherwise. */
static int
unsynced_read(const char *mark, char seen[64])
{
	char *s = NULL;
	size_t n = 0;
	int rc;

	seen[0] = '\0';
	rc = util_read_file(&s, &n, mark, 4096);
	if (rc == CSIRT_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	snprintf(seen, 64, "%.*s", (int)strcspn(s, "\n"), s);
	free(s);
	return 1;
}

/* Opens the index of an open data directory: unsynced under the boot's
 * mark, after a rebuild if the last unsynced run's system went down. */
static int
open_index(struct datadir *dd, const char *ixp)
{
	char boot[BOOT_ID_LEN + 1] = "", seen[64];
	char *mark = dpath(dd->path, UNSYNCED_FILE);
	bool have_boot = boot_id(boot) == 0;
	int st, rc = 0;

	if ((st = unsynced_read(mark, seen)) < 0) {
		rc = st;
		goto done;
	}
	if (st == 1 && strcmp(seen, boot) != 0) {
		uint64_t n = 0;
		char nb[24];

		log_warn("the index was unsynced when its system went down; "
		         "rebuilding it from the ledger",
		         "mark", seen, "boot", have_boot ? boot : "unknown");
		if ((rc = rebuild_index(dd->path, dd->lg, &n)) != 0)
			goto done;
		snprintf(nb, sizeof(nb), "%llu", (unsigned long long)n);
		log_info("index rebuilt", "events", nb);
		st = 0;
		if (!have_boot) {
			if (unlink(mark) != 0) {
				rc = csirt_error_set(CSIRT_EUNAVAILABLE,
				                     "unlink %s: %s", mark,
				                     strerror(errno));
				goto done;
			}
			if ((rc = util_fsync_path(dd->path)) != 0)
				goto done;
		}
	}
	if (!have_boot) {
		rc = index_open(&dd->ix, ixp);
		goto done;
	}
	if (st == 0) {
		char line[BOOT_ID_LEN + 2];

		snprintf(line, sizeof(line), "%s\n", boot);
		if ((rc = util_write_file_atomic(mark, line, strlen(line),
		                                 0600)) != 0)
			goto done;
	}
	dd->unsynced = true;
	rc = index_open_unsynced(&dd->ix, ixp);
done:
	free(mark);
	return rc;
}

/* A clean close of an unsynced index (closed already): its files are
 * fsynced, then the mark goes.  After a write-back error, or when they
 * cannot be, the mark says "failed": the next start rebuilds. */
static void
close_unsynced(const char *path, bool failed)
{
	char *mark = dpath(path, UNSYNCED_FILE);
	char *ixp = dpath(path, "index.sqlite");
	struct buf wal = BUF_INIT;
	int rc = failed ? -1 : 0;

	buf_printf(&wal, "%s-wal", ixp);
	if (rc == 0)
		rc = util_fsync_path(ixp);
	if (rc == 0 && util_path_exists(wal.data))
		rc = util_fsync_path(wal.data);
	if (rc == 0 && unlink(mark) == 0)
		rc = util_fsync_path(path);
	if (rc != 0) {
		log_error("the index could not be made durable; the next start "
		          "rebuilds it",
		          "error",
		          failed ? "its checkpoint thread failed"
		                 : csirt_error_msg());
		(void)util_write_file_atomic(mark, "failed\n", 7, 0600);
	}
	buf_free(&wal);
	free(ixp);
	free(mark);
}

/* Creates keys/kek, the key-encryption key that wraps every item key
 * (issue 6).  Hands it to *out when `out` is not NULL. */
static int
write_kek(const char *path, struct crypto_kek **out)
{
	char *p = dpath(path, "keys/kek");
	struct crypto_kek *kek = NULL;
	int rc;

	if ((rc = crypto_kek_generate(&kek)) != 0 ||
	    (rc = crypto_kek_save(kek, p)) != 0)
		goto done;
	if (out != NULL) {
		*out = kek;
		kek = NULL;
	}
done:
	crypto_kek_free(kek);
	free(p);
	return rc;
}

/* Loads keys/kek; a data directory initialised before encryption at rest
 * has none, so one is created (nothing was encrypted without it). */
static int
load_kek(const char *path, struct crypto_kek **out)
{
	char *p = dpath(path, "keys/kek");
	int rc;

	rc = crypto_kek_load(out, p);
	if (rc == CSIRT_ENOTFOUND) {
		rc = write_kek(path, out);
		if (rc == 0)
			log_info("created the key-encryption key", "path", p);
	}
	free(p);
	return rc;
}

static int
write_keys(const char *path, struct crypto_signer **out)
{
	char *keys = dpath(path, "keys");
	char *priv = dpath(keys, "ledger_ed25519");
	char *allowed = dpath(keys, "allowed_signers");
	struct buf line = BUF_INIT;
	char *pub = NULL;
	int rc;

	*out = NULL;
	if ((rc = util_mkdir_p(keys, 0700)) != 0 ||
	    (rc = crypto_signer_generate(out)) != 0 ||
	    (rc = crypto_signer_save(*out, priv, "csirtd-ledger")) != 0)
		goto done;
	pub = crypto_signer_public(*out);
	/* The line auditors give to gpg.ssh.allowedSignersFile. */
	buf_printf(&line, "csirtd namespaces=\"git\" %s\n", pub);
	rc = util_write_file_atomic(allowed, line.data, line.len, 0644);
	if (rc == 0)
		rc = write_kek(path, NULL);
done:
	free(pub);
	buf_free(&line);
	free(allowed);
	free(priv);
	free(keys);
	return rc;
}

static void
init_done_cb(struct writer_cmd *cmd, void *arg)
{
	(void)cmd;
	(void)arg;
}

int
datadir_init(const char *path, const char *admin_login,
             char token_out[CRYPTO_TOKEN_LEN])
{
	struct datadir dd = {NULL, -1, NULL, NULL, NULL, NULL, NULL, false};
	struct writer *w = NULL;
	struct writer_cmd cmd;
	Csirt__V1__Event *ev = NULL;
	Csirt__V1__UserCreated *uc;
	Csirt__V1__User *u;
	char *repo = dpath(path, "ledger.git");
	char *ixp = dpath(path, "index.sqlite");
	char *ksp = dpath(path, "keystore.sqlite");
	char *keys = dpath(path, "keys");
	char hash[CRYPTO_SHA256_HEX_LEN], token_id[CRYPTO_TOKEN_ID_LEN];
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	token_out[0] = '\0';
	if ((rc = crypto_init()) != 0)
		goto done;
	if (util_path_exists(repo) || util_path_exists(keys) ||
	    util_path_exists(ixp) || util_path_exists(ksp)) {
		rc = csirt_error_set(
		    CSIRT_ECONFLICT,
		    "%s is already initialised; refusing to touch it", path);
		goto done;
	}
	if ((rc = util_mkdir_p(path, 0700)) != 0 ||
	    (rc = lock_dir(path, &dd.lock_fd)) != 0 ||
	    (rc = write_keys(path, &dd.signer)) != 0 ||
	    (rc = ledger_create(repo)) != 0 ||
	    (rc = ledger_open(&dd.lg, repo, dd.signer)) != 0 ||
	    (rc = index_open(&dd.ix, ixp)) != 0 ||
	    (rc = keystore_open(&dd.ks, ksp)) != 0 ||
	    (rc = writer_new(&w, dd.lg, dd.ix, 4, 4)) != 0)
		goto done;

	/* The ledger's first event: the first administrator, by the
	 * daemon itself. */
	ev = util_xcalloc(1, sizeof(*ev));
	csirt__v1__event__init(ev);
	uc = util_xcalloc(1, sizeof(*uc));
	csirt__v1__user_created__init(uc);
	u = util_xcalloc(1, sizeof(*u));
	csirt__v1__user__init(u);
	codec_set_string(&u->login, admin_login);
	codec_set_string(&u->display_name, "Administrator");
	u->role = CSIRT__V1__ROLE__ROLE_ADMIN;
	uc->user = u;
	ev->payload_case = CSIRT__V1__EVENT__PAYLOAD_USER_CREATED;
	ev->user_created = uc;
	codec_set_string(&ev->actor, "csirtd");
	ev->role = CSIRT__V1__ROLE__ROLE_SYSTEM;
	cmd.ev = ev;
	cmd.done = init_done_cb;
	if ((rc = writer_submit(w, &cmd)) != 0 ||
	    (rc = writer_run_once(w)) != 0)
		goto done;
	if (cmd.rc != 0) {
		rc = csirt_error_set(cmd.rc, "%s", cmd.err);
		goto done;
	}

	crypto_token_issue(token_out, hash, token_id);
	rc = keystore_token_add(dd.ks, token_id, admin_login, hash,
	                        util_time_now_ms());
done:
	if (rc != 0 && token_out[0] != '\0')
		crypto_wipe(token_out, CRYPTO_TOKEN_LEN);
	writer_free(w);
	writer_cmd_release(&cmd);
	keystore_close(dd.ks);
	index_close(dd.ix);
	ledger_close(dd.lg);
	crypto_signer_free(dd.signer);
	if (dd.lock_fd >= 0)
		close(dd.lock_fd);
	free(repo);
	free(ixp);
	free(ksp);
	free(keys);
	return rc;
}

int
datadir_open(struct datadir **out, const char *path)
{
	struct datadir *dd = util_xcalloc(1, sizeof(*dd));
	char *repo = dpath(path, "ledger.git");
	char *ixp = dpath(path, "index.sqlite");
	char *ksp = dpath(path, "keystore.sqlite");
	char *keyp = dpath(path, "keys/ledger_ed25519");
	uint64_t replayed = 0;
	int rc;

	*out = NULL;
	dd->lock_fd = -1;
	dd->path = util_strdup(path);
	if ((rc = crypto_init()) != 0)
		goto done;
	if (!util_path_exists(repo)) {
		rc = csirt_error_set(
		    CSIRT_ENOTFOUND,
		    "%s is not initialised (no ledger.git); run: csirtd "
		    "--data %s init",
		    path, path);
		goto done;
	}
	if ((rc = lock_dir(path, &dd->lock_fd)) != 0 ||
	    (rc = crypto_signer_load(&dd->signer, keyp)) != 0 ||
	    (rc = load_kek(path, &dd->kek)) != 0 ||
	    (rc = ledger_open(&dd->lg, repo, dd->signer)) != 0 ||
	    (rc = open_index(dd, ixp)) != 0 ||
	    (rc = keystore_open(&dd->ks, ksp)) != 0)
		goto done;
	if ((rc = writer_reconcile(dd->lg, dd->ix, &replayed)) != 0) {
		rc = csirt_error_wrap(
		    rc, "index and ledger disagree; refusing to start");
		goto done;
	}
	if (replayed > 0) {
		char n[24];
		snprintf(n, sizeof(n), "%llu", (unsigned long long)replayed);
		log_info("replayed ledger into index", "events", n);
	}
	*out = dd;
	dd = NULL;
done:
	datadir_close(dd);
	free(repo);
	free(ixp);
	free(ksp);
	free(keyp);
	return rc;
}

void
datadir_close(struct datadir *dd)
{
	bool failed = false;

	if (dd == NULL || dd->path == NULL)
		return;
	keystore_close(dd->ks);
	if (dd->ix != NULL) {
		index_checkpointer_stop(dd->ix);
		failed = index_sync_failed(dd->ix);
	}
	index_close(dd->ix);
	if (dd->unsynced)
		close_unsynced(dd->path, failed);
	ledger_close(dd->lg);
	crypto_signer_free(dd->signer);
	crypto_kek_free(dd->kek);
	if (dd->lock_fd >= 0)
		close(dd->lock_fd);
	free(dd->path);
	free(dd);
}

/* Replays the whole ledger `lg` into a fresh index.sqlite.rebuild, made
 * durable, and swaps it in for the index (with the directory's lock
 * held).  A rebuild that fails leaves the old index as it was. */
static int
rebuild_index(const char *path, struct ledger *lg, uint64_t *events)
{
	char *ixp = dpath(path, "index.sqlite");
	struct buf tmp = BUF_INIT;
	struct index *ix = NULL;
	int rc;

	*events = 0;
	buf_printf(&tmp, "%s.rebuild", ixp);
	/* The rebuild trusts the ledger (csirt-audit is what checks it): no
	 * object hash checks, no libgit2 cache. */
	ledger_pass_mode(true, false);
	unlink(tmp.data);
	if ((rc = index_open(&ix, tmp.data)) != 0 ||
	    (rc = writer_replay_bulk(lg, ix, events)) != 0)
		goto done;
	index_close(ix);
	ix = NULL;
	/* Bulk mode wrote without fsync: the file is made durable here,
	 * before it replaces the old index. */
	if ((rc = util_fsync_path(tmp.data)) != 0)
		goto done;
	/* Swap in the new index (its own WAL was checkpointed on close).
	 * The old index's WAL must go first, or SQLite would replay it into
	 * the new file. */
	{
		struct buf side = BUF_INIT;
		buf_printf(&side, "%s-wal", ixp);
		unlink(side.data);
		buf_reset(&side);
		buf_printf(&side, "%s-shm", ixp);
		unlink(side.data);
		buf_free(&side);
	}
	if (rename(tmp.data, ixp) < 0) {
		rc = csirt_error_set(CSIRT_EFAIL, "rename %s: %s", tmp.data,
		                     strerror(errno));
		goto done;
	}
	rc = util_fsync_path(path);
done:
	index_close(ix);
	/* Never leave a half-built index behind (ours: we hold the lock). */
	if (rc != 0)
		index_remove_files(tmp.data);
	ledger_pass_mode(false, true);
	buf_free(&tmp);
	free(ixp);
	return rc;
}

int
datadir_rebuild(const char *path, uint64_t *events)
{
	char *repo = dpath(path, "ledger.git");
	char *mark = dpath(path, UNSYNCED_FILE);
	struct ledger *lg = NULL;
	int lock_fd = -1, rc;

	*events = 0;
	if (!util_path_exists(repo)) {
		rc = csirt_error_set(CSIRT_ENOTFOUND,
		                     "%s is not initialised (no ledger.git)",
		                     path);
		goto done;
	}
	ledger_pass_mode(true, false);
	if ((rc = lock_dir(path, &lock_fd)) != 0 ||
	    (rc = ledger_open(&lg, repo, NULL)) != 0 ||
	    (rc = rebuild_index(path, lg, events)) != 0)
		goto done;
	/* The new index is durable: nothing unsynced is left. */
	if (unlink(mark) == 0)
		rc = util_fsync_path(path);
done:
	ledger_close(lg);
	ledger_pass_mode(false, true);
	if (lock_fd >= 0)
		close(lock_fd);
	free(mark);
	free(repo);
	return rc;
}

int
datadir_issue_token(const char *path, const char *login,
                    char token_out[CRYPTO_TOKEN_LEN],
                    char id_out[CRYPTO_TOKEN_ID_LEN])
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	struct datadir *dd = NULL;
	Csirt__V1__User *u = NULL;
	int rc;

	token_out[0] = '\0';
	if ((rc = datadir_open(&dd, path)) != 0)
		goto done;
	rc = index_user_get(&u, dd->ix, login);
	if (rc == CSIRT_ENOTFOUND) {
		rc = csirt_error_set(rc, "no user \"%.64s\"", login);
		goto done;
	}
	if (rc != 0)
		goto done;
	if (u->disabled || u->role != CSIRT__V1__ROLE__ROLE_ADMIN) {
		rc = csirt_error_set(
		    CSIRT_EDENIED,
		    "%.64s is %s: only an active administrator gets a token "
		    "here; everyone else gets theirs from an administrator "
		    "(IssueToken)",
		    login, u->disabled ? "disabled" : "not an administrator");
		goto done;
	}
	crypto_token_issue(token_out, hash, id_out);
	rc =
	    keystore_token_add(dd->ks, id_out, login, hash, util_time_now_ms());
	if (rc == 0)
		log_warn("token issued offline", "login", login, "token_id",
		         id_out);
done:
	if (rc != 0 && token_out[0] != '\0')
		crypto_wipe(token_out, CRYPTO_TOKEN_LEN);
	codec_free(u != NULL ? &u->base : NULL);
	datadir_close(dd);
	return rc;
}
