/*
 * index.c - the SQLite stores: index.sqlite (index.h), the query index
 * derived from the ledger, and keystore.sqlite (keystore.h), the secrets.
 *
 * This file and the index's VFS (index_vfs.c: the WAL read and written
 * through a mapping) are the only ones that include SQLite.  It owns
 * connection set-up (pragmas that must be verified, embedded migrations),
 * the cached statements, and the translation of every SQLite failure into
 * a CSIRT_E* code with sqlite3_errmsg() as the message.  It must never
 * decide domain questions (who may see what, which transition is legal):
 * the writer has validated every event before index_apply() sees it, and
 * the index only records it, refusing what contradicts its own consistency
 * rules.
 *
 * Connection invariants, checked at open:
 *   - foreign_keys is ON.  SQLite keeps it per connection and silently
 *     ignores the pragma inside a transaction, so it is set right after
 *     open, before any migration, and read back;
 *   - read-write connections use WAL; readers rely on it to read the last
 *     committed snapshot while the writer works.  The keystore uses
 *     synchronous=FULL: its rows (wrapped keys) exist nowhere else, so an
 *     acknowledged write is on disk.  The index uses synchronous=NORMAL:
 *     a commit is not fsynced (the WAL is, at each checkpoint), because
 *     the index is derived: the writer commits it only after the ledger
 *     batch is durable, and start-up reconciliation (writer_reconcile)
 *     replays whatever tail of the ledger a crash took from it.  That
 *     saves one fsync per batch (measured 10 ms of a 70 ms batch under
 *     load).  The daemon opens it with synchronous=OFF instead
 *     (index_open_unsynced, datadir.c says when): no checkpoint fsyncs
 *     either, only one of both files every INDEX_SYNC_MS;
 *   - the schema version (PRAGMA user_version) equals the newest embedded
 *     migration of the store.
 * Hot-path statements are prepared once per connection (the writer applies
 * ~10,000 events/s); only the rare whole-database walks (dump, checks)
 * and index_cases_list(), whose SQL follows the filter, prepare their own.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "csirt/v1/domain.pb-c.h"
#include "error.h"
#include "index.h"
#include "index_vfs.h"
#include "keystore.h"
#include "log.h"
#include "util.h"

#define DB_BUSY_TIMEOUT_MS 5000

/* ---- shared connection plumbing ---------------------------------------- */

struct db {
	sqlite3 *conn;
	const char *store; /* "index" or "keystore": messages and migrations */
	const char *const *sql;
	sqlite3_stmt **stmts;
	size_t nstmts;
	int bind_rc; /* first failed sqlite3_bind_* since the last step */
	/* Called on every new connection before its migrations (SQL
	 * functions they use); NULL for none. */
	int (*setup)(struct db *d);
	bool unsynced; /* a derived store opened with synchronous=OFF */
};

/* A growable scratch area for packing messages without a malloc per call. */
struct pbuf {
	uint8_t *data;
	size_t cap;
};

static int
db_code(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return CSIRT_ECONFLICT;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return CSIRT_ETAMPER;
	default:
		break;
	}
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
	case SQLITE_MISMATCH:
		return CSIRT_EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		return CSIRT_EUNAVAILABLE;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return CSIRT_ETAMPER;
	default:
		return CSIRT_EFAIL;
	}
}

/* Sets the thread's error from SQLite's message for `rc`; returns the
 * mapped code. */
static int
db_fail(struct db *d, int rc, const char *what)
{
	const char *msg = sqlite3_errstr(rc);

	if (d->conn != NULL && sqlite3_errcode(d->conn) == rc)
		msg = sqlite3_errmsg(d->conn);
	return csirt_error_set(db_code(rc), "%s: %s: %s", d->store, what, msg);
}

static void
db_bind_note(struct db *d, int rc)
{
	if (rc != SQLITE_OK && d->bind_rc == SQLITE_OK)
		d->bind_rc = rc;
}

static void
db_bind_text(struct db *d, sqlite3_stmt *st, int i, const char *s)
{
	db_bind_note(
	    d, sqlite3_bind_text(st, i, s != NULL ? s : "", -1, SQLITE_STATIC));
}

/* Binds NULL for "" (an absent reference). */
static void
db_bind_text_or_null(struct db *d, sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL || s[0] == '\0')
		db_bind_note(d, sqlite3_bind_null(st, i));
	else
		db_bind_text(d, st, i, s);
}

static void
db_bind_int(struct db *d, sqlite3_stmt *st, int i, int64_t v)
{
	db_bind_note(d, sqlite3_bind_int64(st, i, v));
}

static void
db_bind_blob(struct db *d, sqlite3_stmt *st, int i, const void *p, size_t n)
{
	if (n == 0)
		db_bind_note(d, sqlite3_bind_zeroblob(st, i, 0));
	else
		db_bind_note(d, sqlite3_bind_blob64(st, i, p, (sqlite3_uint64)n,
		                                    SQLITE_STATIC));
}

/* Resets a cached statement so that it holds no lock and no borrowed
 * pointer.  Its result code was already reported by the step. */
static void
db_reset(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/*
 * Steps a bound statement once.  Returns SQLITE_ROW, SQLITE_DONE, or a
 * negative CSIRT code with the message set (and the statement reset).
 * After SQLITE_ROW the caller reads columns and calls db_reset().
 */
static int
db_step(struct db *d, sqlite3_stmt *st, const char *what)
{
	int rc;

	if (d->bind_rc != SQLITE_OK) {
		rc = d->bind_rc;
		d->bind_rc = SQLITE_OK;
		db_reset(st);
		return csirt_error_set(db_code(rc), "%s: %s: binding: %s",
		                       d->store, what, sqlite3_errstr(rc));
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	rc = db_fail(d, sqlite3_extended_errcode(d->conn), what);
	db_reset(st);
	return rc;
}

/* Runs a statement that returns no rows. */
static int
db_run(struct db *d, sqlite3_stmt *st, const char *what)
{
	int rc = db_step(d, st, what);

	if (rc < 0)
		return rc;
	db_reset(st);
	if (rc != SQLITE_DONE)
		return csirt_error_set(CSIRT_EFAIL, "%s: %s: unexpected row",
		                       d->store, what);
	return 0;
}

/* Runs SQL text outside the cache (set-up, migrations, checks). */
static int
db_exec(struct db *d, const char *sql, const char *what)
{
	int rc = sqlite3_exec(d->conn, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_fail(d, sqlite3_extended_errcode(d->conn), what);
	return 0;
}

/* Reads the one-row, one-column result of `sql` (a PRAGMA) as integer or,
 * when `text` is not NULL, as text into it. */
static int
db_query_one(struct db *d, const char *sql, int64_t *num, char *text,
             size_t size)
{
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(d->conn, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = db_fail(d, sqlite3_extended_errcode(d->conn), sql);
		goto done;
	}
	rc = db_step(d, st, sql);
	if (rc < 0) {
		err = rc;
		goto done;
	}
	if (rc != SQLITE_ROW) {
		err = csirt_error_set(CSIRT_EFAIL, "%s: %s: no result",
		                      d->store, sql);
		goto done;
	}
	if (num != NULL)
		*num = sqlite3_column_int64(st, 0);
	if (text != NULL) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(text, size, "%s", t != NULL ? (const char *)t : "");
	}
done:
	sqlite3_finalize(st);
	return err;
}

static int
db_pragma_int(struct db *d, const char *sql, int64_t *out)
{
	return db_query_one(d, sql, out, NULL, 0);
}

/*
 * Creates the file with mode 0600 before SQLite does (SQLite would use
 * 0644 & ~umask), and tightens an existing file and its WAL companions:
 * SQLite gives -wal and -shm the main file's mode when it creates them.
 *
 * An existing file is never opened here: closing any descriptor of a file
 * drops every POSIX lock this process holds on it, and SQLite's connections
 * already open on it (the writer's, when the checkpoint thread opens its
 * own) hold theirs there.  Without their SHARED lock on the database, an
 * sqlite3 shell that an operator closed believed itself the last user and
 * deleted the WAL and the -shm from under the daemon (test_index_wal_mapped
 * found it).
 */
static int
db_create_private(struct db *d, const char *path)
{
	static const char *const suffixes[] = {"-wal", "-shm"};
	struct stat st;
	bool raced = false;
	int fd, err = 0;

again:
	if (lstat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return csirt_error_set(CSIRT_EUNAVAILABLE,
			                       "%s: %s is not a regular file",
			                       d->store, path);
		if ((st.st_mode & 07777) != 0600 && chmod(path, 0600) != 0)
			return csirt_error_set(CSIRT_EUNAVAILABLE,
			                       "%s: chmod %s: %s", d->store,
			                       path, strerror(errno));
	} else {
		fd = errno != ENOENT ? -1
		                     : open(path,
		                            O_RDWR | O_CREAT | O_EXCL |
		                                O_CLOEXEC | O_NOFOLLOW,
		                            0600);
		if (fd < 0 && errno == EEXIST && !raced) {
			raced = true; /* made meanwhile: check it as above */
			goto again;
		}
		if (fd < 0)
			return csirt_error_set(CSIRT_EUNAVAILABLE,
			                       "%s: creating %s: %s", d->store,
			                       path, strerror(errno));
		close(fd); /* new: no connection holds a lock on it yet */
	}
	for (size_t i = 0; err == 0 && i < UTIL_ARRAY_LEN(suffixes); i++) {
		struct buf p = BUF_INIT;

		buf_printf(&p, "%s%s", path, suffixes[i]);
		if (chmod(p.data, 0600) != 0 && errno != ENOENT)
			err = csirt_error_set(CSIRT_EUNAVAILABLE,
			                      "%s: chmod %s: %s", d->store,
			                      p.data, strerror(errno));
		buf_free(&p);
	}
	return err;
}

static int
db_latest_version(const char *store)
{
	int latest = 0;

	for (const struct index_migration *m = index_migrations;
	     m->store != NULL; m++) {
		if (strcmp(m->store, store) != 0)
			continue;
		/* The generator guarantees 1, 2, 3, ... in order. */
		if (m->version != latest + 1)
			abort();
		latest = m->version;
	}
	return latest;
}

/*
 * Applies every embedded migration of the store newer than the file, each
 * in its own IMMEDIATE transaction together with the user_version bump,
 * re-reading the version under the lock in case another process migrated
 * first.  Foreign keys are on while migrating; a future migration that must
 * rebuild a referenced table needs SQLite's 12-step procedure (foreign_keys
 * cannot be switched inside the transaction).
 */
static int
db_migrate(struct db *d)
{
	int64_t current;
	int latest = db_latest_version(d->store), err;

	if ((err = db_pragma_int(d, "PRAGMA user_version", &current)) != 0)
		return err;
	if (current > latest)
		return csirt_error_set(CSIRT_EFAIL,
		                       "%s: schema version %" PRId64
		                       " is newer than this csirtd (%d)",
		                       d->store, current, latest);
	for (const struct index_migration *m = index_migrations;
	     m->store != NULL; m++) {
		char bump[64];

		if (strcmp(m->store, d->store) != 0 || m->version <= current)
			continue;
		if ((err = db_exec(d, "BEGIN IMMEDIATE", "migration")) != 0)
			return err;
		err = db_pragma_int(d, "PRAGMA user_version", &current);
		if (err == 0 && current >= m->version) {
			err = db_exec(d, "COMMIT", "migration");
			if (err != 0)
				goto rollback;
			continue;
		}
		if (err == 0)
			err = db_exec(d, m->sql, m->name);
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d",
		         m->version);
		if (err == 0)
			err = db_exec(d, bump, m->name);
		if (err == 0)
			err = db_exec(d, "COMMIT", m->name);
		if (err != 0)
			goto rollback;
		current = m->version;
		log_info("schema migrated", "store", d->store, "migration",
		         m->name);
	}
	return 0;
rollback:
	if (!sqlite3_get_autocommit(d->conn))
		sqlite3_exec(d->conn, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

/*
 * Opens a connection with the invariants listed at the top of the file.
 * `secure_delete` is for the keystore; `derived` (the index) commits
 * without an fsync (see the top of the file).  On failure d->conn may be
 * set; the caller closes it with db_close().
 */
static int
db_open(struct db *d, const char *path, bool readonly, bool secure_delete,
        bool derived)
{
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	int64_t v;
	char mode[16];
	int rc, err;

	if (readonly) {
		if (!util_path_exists(path))
			return csirt_error_set(CSIRT_ENOTFOUND,
			                       "%s: %s: no such file", d->store,
			                       path);
		flags |= SQLITE_OPEN_READONLY;
	} else {
		if ((err = db_create_private(d, path)) != 0)
			return err;
		flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	}
	/* The index maps its WAL (index_vfs.c); the keystore, small and
	 * synced at every commit, keeps the default VFS. */
	rc = sqlite3_open_v2(path, &d->conn, flags,
	                     derived ? index_vfs_name() : NULL);
	if (rc != SQLITE_OK)
		return db_fail(d, rc, path);
	sqlite3_busy_timeout(d->conn, DB_BUSY_TIMEOUT_MS);
	/* Hardening: no writes to the schema by SQL, no double-quoted
	 * strings, no functions from the schema with side effects. */
	sqlite3_db_config(d->conn, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(d->conn, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	sqlite3_db_config(d->conn, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
	sqlite3_db_config(d->conn, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
	                  (int *)NULL);

	/* Outside any transaction, or SQLite ignores it silently. */
	if ((err = db_exec(d, "PRAGMA foreign_keys = ON", "foreign_keys")) != 0)
		return err;
	if ((err = db_pragma_int(d, "PRAGMA foreign_keys", &v)) != 0)
		return err;
	if (v != 1)
		return csirt_error_set(CSIRT_EFAIL,
		                       "%s: PRAGMA foreign_keys did not take",
		                       d->store);
	if (d->setup != NULL && (err = d->setup(d)) != 0)
		return err;
	if (secure_delete) {
		if ((err = db_exec(d, "PRAGMA secure_delete = ON",
		                   "secure_delete")) != 0)
			return err;
		if ((err = db_pragma_int(d, "PRAGMA secure_delete", &v)) != 0)
			return err;
		if (v != 1)
			return csirt_error_set(
			    CSIRT_EFAIL,
			    "%s: PRAGMA secure_delete did not take", d->store);
	}

	if (readonly) {
		int latest = db_latest_version(d->store);

		if ((err = db_query_one(d, "PRAGMA journal_mode", NULL, mode,
		                        sizeof(mode))) != 0)
			return err;
		if (strcmp(mode, "wal") != 0)
			return csirt_error_set(
			    CSIRT_EFAIL,
			    "%s: %s is not in WAL mode (%s); "
			    "open it read-write first",
			    d->store, path, mode);
		if ((err = db_pragma_int(d, "PRAGMA user_version", &v)) != 0)
			return err;
		if (v != latest)
			return csirt_error_set(
			    CSIRT_EFAIL,
			    "%s: %s has schema version %" PRId64
			    ", this csirtd needs %d",
			    d->store, path, v, latest);
		return 0;
	}

	if ((err = db_query_one(d, "PRAGMA journal_mode = WAL", NULL, mode,
	                        sizeof(mode))) != 0)
		return err;
	if (strcmp(mode, "wal") != 0)
		return csirt_error_set(CSIRT_EFAIL,
		                       "%s: cannot switch %s to WAL (%s)",
		                       d->store, path, mode);
	/* Statement journals (and other temporary files) in memory: a
	 * writer batch runs ~50 statements that rewrite the same pages in
	 * one transaction, and on disk each batch spilled a journal of
	 * ~1,600 pwrites to an unlinked /var/tmp/etilqs_* file (strace of
	 * ledger-bench).  Nothing in them outlives the transaction. */
	if ((err = db_exec(d, "PRAGMA temp_store = MEMORY", "temp_store")) != 0)
		return err;
	if ((err = db_exec(d,
	                   !derived      ? "PRAGMA synchronous = FULL"
	                   : d->unsynced ? "PRAGMA synchronous = OFF"
	                                 : "PRAGMA synchronous = NORMAL",
	                   "synchronous")) != 0)
		return err;
	if ((err = db_pragma_int(d, "PRAGMA synchronous", &v)) != 0)
		return err;
	if (v != (!derived ? 2 : d->unsynced ? 0 : 1))
		return csirt_error_set(CSIRT_EFAIL,
		                       "%s: PRAGMA synchronous did not take",
		                       d->store);
	return db_migrate(d);
}

/* Prepares the store's statement table once for the connection's life. */
static int
db_prepare_all(struct db *d, const char *const *sql, size_t n)
{
	d->sql = sql;
	d->nstmts = n;
	d->stmts = util_xcalloc(n, sizeof(*d->stmts));
	for (size_t i = 0; i < n; i++) {
		int rc = sqlite3_prepare_v3(d->conn, sql[i], -1,
		                            SQLITE_PREPARE_PERSISTENT,
		                            &d->stmts[i], NULL);
		if (rc != SQLITE_OK)
			return db_fail(d, sqlite3_extended_errcode(d->conn),
			               sql[i]);
	}
	return 0;
}

static void
db_close(struct db *d)
{
	int rc;

	for (size_t i = 0; i < d->nstmts; i++)
		sqlite3_finalize(d->stmts[i]);
	free(d->stmts);
	d->stmts = NULL;
	d->nstmts = 0;
	if (d->conn == NULL)
		return;
	rc = sqlite3_close(d->conn);
	if (rc != SQLITE_OK)
		log_error("closing database", "store", d->store, "error",
		          sqlite3_errstr(rc));
	d->conn = NULL;
}

static const uint8_t *
pbuf_pack(struct pbuf *b, const ProtobufCMessage *m, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	if (n > b->cap) {
		b->data = util_xrealloc(b->data, n);
		b->cap = n;
	}
	*len = n == 0 ? 0 : protobuf_c_message_pack(m, b->data);
	return b->data;
}

/* ---- index ----------------------------------------------------------- */

enum ix_stmt {
	IX_BEGIN,
	IX_BEGIN_READ,
	IX_COMMIT,
	IX_ROLLBACK,
	IX_SAVEPOINT,
	IX_RELEASE,
	IX_ROLLBACK_TO,
	IX_EVENT_EXISTS,
	IX_EVENT_INSERT,
	IX_EVENT_SET_COMMIT,
	IX_CASE_UPSERT,
	IX_CASE_UPDATE_BODY,
	IX_ASSIGNEES_DELETE,
	IX_ASSIGNEE_INSERT,
	IX_NOTE_INSERT,
	IX_NOTE_ORIGIN,
	IX_NOTE_VERSIONS,
	IX_USER_INSERT,
	IX_USER_UPDATE,
	IX_DIVISION_INSERT,
	IX_POSITION_SET,
	IX_POSITION_GET,
	IX_CASE_GET,
	IX_CASE_MAX_COUNTER,
	IX_USER_GET,
	IX_DIVISION_EXISTS,
	IX_EVENTS_FOR_CASE,
	IX_EVENTS_AFTER,
	IX_USERS_LIST,
	IX_DIVISIONS_LIST,
	IX_CASE_COUNT,
	IX_CASES_AWAITING_ACK,
	IX_REQUEST_UPSERT,
	IX_ITEM_UPSERT,
	IX_REQUESTS_DUE,
	IX_REQUESTS_LIST,
	IX__COUNT
};

static const char *const ix_sql[IX__COUNT] = {
    [IX_BEGIN] = "BEGIN IMMEDIATE",
    [IX_BEGIN_READ] = "BEGIN",
    [IX_COMMIT] = "COMMIT",
    [IX_ROLLBACK] = "ROLLBACK",
    [IX_SAVEPOINT] = "SAVEPOINT index_apply",
    [IX_RELEASE] = "RELEASE index_apply",
    [IX_ROLLBACK_TO] = "ROLLBACK TO index_apply",
    [IX_EVENT_EXISTS] = "SELECT 1 FROM events WHERE seq = ?1",
    [IX_EVENT_INSERT] =
        "INSERT INTO events (seq, case_id, type, actor, role, time_ms,"
        " commit_id, pb) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [IX_EVENT_SET_COMMIT] = "UPDATE events SET commit_id = ?2 WHERE seq = ?1",
    /* last_seq only moves forward: an older fold never overwrites a
     * newer one (changes() == 0 is reported as tampering). */
    [IX_CASE_UPSERT] =
        "INSERT INTO cases (id, year, counter, category, state, title,"
        " division, reporter, recognized_at_ms, reported_at_ms,"
        " updated_at_ms, confidentiality, integrity, availability,"
        " emergency, last_seq, pb, description, overdue, event_count)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?16, ?17, ?18, ?19, 1)"
        " ON CONFLICT (id) DO UPDATE SET category = excluded.category,"
        " state = excluded.state, title = excluded.title,"
        " description = excluded.description,"
        " division = excluded.division, reporter = excluded.reporter,"
        " recognized_at_ms = excluded.recognized_at_ms,"
        " reported_at_ms = excluded.reported_at_ms,"
        " updated_at_ms = excluded.updated_at_ms,"
        " confidentiality = excluded.confidentiality,"
        " integrity = excluded.integrity,"
        " availability = excluded.availability,"
        " emergency = excluded.emergency, last_seq = excluded.last_seq,"
        " overdue = excluded.overdue, pb = excluded.pb,"
        " event_count = cases.event_count + 1"
        " WHERE excluded.last_seq > cases.last_seq",
    /* The common case, a case whose indexed columns stay (a note, say):
     * only the others are set, so SQLite leaves the five indexes on cases
     * alone (the upsert sets them all, and deletes and reinserts every
     * index entry).  The indexed columns are in the WHERE: if any
     * changed, no row matches and the upsert runs instead.  Same
     * parameters as IX_CASE_UPSERT. */
    [IX_CASE_UPDATE_BODY] =
        "UPDATE cases SET title = ?6, reporter = ?8,"
        " recognized_at_ms = ?9, updated_at_ms = ?11,"
        " confidentiality = ?12, integrity = ?13, availability = ?14,"
        " emergency = ?15, last_seq = ?16, pb = ?17, description = ?18,"
        " event_count = event_count + 1 WHERE id = ?1 AND last_seq < ?16 AND "
        "category = ?4 AND state = ?5"
        " AND division = ?7 AND reported_at_ms IS ?10 AND overdue = ?19"
        " AND year = ?2 AND counter = ?3",
    [IX_ASSIGNEES_DELETE] = "DELETE FROM case_assignees WHERE case_id = ?1",
    [IX_ASSIGNEE_INSERT] =
        "INSERT INTO case_assignees (case_id, login) VALUES (?1, ?2)",
    [IX_NOTE_INSERT] =
        "INSERT INTO notes (case_id, note_id, version, author, path,"
        " text_sha256, time_ms, seq, text)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    /* Version 1 of a note (its author, time and note.added event, which
     * holds the classification) and the newest version: both by the
     * notes primary key. */
    [IX_NOTE_ORIGIN] =
        "SELECT n.author, n.time_ms, e.pb, (SELECT max(m.version)"
        " FROM notes AS m WHERE m.case_id = ?1 AND m.note_id = ?2)"
        " FROM notes AS n JOIN events AS e ON e.seq = n.seq"
        " WHERE n.case_id = ?1 AND n.note_id = ?2 AND n.version = 1",
    [IX_NOTE_VERSIONS] =
        "SELECT version, author, time_ms, seq, path, text_sha256, text"
        " FROM notes WHERE case_id = ?1 AND note_id = ?2 ORDER BY version",
    [IX_USER_INSERT] =
        "INSERT INTO users (login, display_name, role, division, disabled,"
        " created_at_ms, pb) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [IX_USER_UPDATE] =
        "UPDATE users SET display_name = ?2, role = ?3, division = ?4,"
        " disabled = ?5, created_at_ms = ?6, pb = ?7 WHERE login = ?1",
    [IX_DIVISION_INSERT] =
        "INSERT INTO divisions (code, name, created_at_ms, pb)"
        " VALUES (?1, ?2, ?3, ?4)",
    [IX_POSITION_SET] =
        "INSERT INTO ledger_position (id, seq, commit_id) VALUES (1, ?1, ?2)"
        " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq,"
        " commit_id = excluded.commit_id",
    [IX_POSITION_GET] =
        "SELECT seq, commit_id FROM ledger_position WHERE id = 1",
    [IX_CASE_GET] = "SELECT pb, event_count FROM cases WHERE id = ?1",
    [IX_CASE_MAX_COUNTER] =
        "SELECT coalesce(max(counter), 0) FROM cases WHERE year = ?1",
    [IX_USER_GET] = "SELECT pb FROM users WHERE login = ?1",
    [IX_DIVISION_EXISTS] = "SELECT 1 FROM divisions WHERE code = ?1",
    [IX_EVENTS_FOR_CASE] =
        "SELECT pb, commit_id FROM events WHERE case_id = ?1 ORDER BY seq",
    /* Walks the primary key from ?1; the division is the case's, for
     * the watchers' scoping (NULL for directory events). */
    [IX_EVENTS_AFTER] =
        "SELECT e.pb, e.commit_id, c.division FROM events e"
        " LEFT JOIN cases c ON c.id = e.case_id WHERE e.seq > ?1"
        " ORDER BY e.seq LIMIT ?2",
    /* The directory is small: both walk the primary key in order and
     * filter, no sort. */
    [IX_USERS_LIST] = "SELECT login, pb FROM users"
                      " WHERE (?1 IS NULL OR division = ?1)"
                      " AND (?2 = 0 OR role = ?2) ORDER BY login",
    [IX_DIVISIONS_LIST] = "SELECT code, pb FROM divisions ORDER BY code",
    [IX_CASE_COUNT] = "SELECT count(*) FROM cases",
    /* cases_overdue (0004): overdue 0, REPORTED, in report order. */
    [IX_CASES_AWAITING_ACK] =
        "SELECT id, reported_at_ms FROM cases WHERE overdue = 0"
        " AND state = 1 AND reported_at_ms IS NOT NULL"
        " ORDER BY reported_at_ms, id",
    /* 0005: 第13.2 requests and items, rewritten from the fold. */
    [IX_REQUEST_UPSERT] =
        "INSERT INTO requests (case_id, request_id, seq, kind, state,"
        " division, due_ms, overdue, pb) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
        " ?7, ?8, ?9) ON CONFLICT (case_id, request_id) DO UPDATE SET"
        " seq = excluded.seq, kind = excluded.kind, state = excluded.state,"
        " division = excluded.division, due_ms = excluded.due_ms,"
        " overdue = excluded.overdue, pb = excluded.pb",
    [IX_ITEM_UPSERT] =
        "INSERT INTO items (case_id, item_id, kind, state, serial,"
        " seal_number, request_id, pb) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
        " ?8) ON CONFLICT (case_id, item_id) DO UPDATE SET"
        " kind = excluded.kind, state = excluded.state,"
        " serial = excluded.serial, seal_number = excluded.seal_number,"
        " request_id = excluded.request_id, pb = excluded.pb",
    /* requests_due: open (OPEN, ACKNOWLEDGED, RESPONDED), not yet
     * overdue, of INVESTIGATING cases, earliest due first. */
    [IX_REQUESTS_DUE] =
        "SELECT r.case_id, r.request_id, r.due_ms FROM requests r"
        " JOIN cases c ON c.id = r.case_id WHERE r.overdue = 0"
        " AND r.state IN (1, 2, 3) AND c.state = 4"
        " ORDER BY r.due_ms, r.case_id, r.seq",
    /* ?4: a bit (1 << state) per wanted state, 0 for all; overdue means
     * overdue and still open. */
    [IX_REQUESTS_LIST] =
        "SELECT pb FROM requests WHERE (?1 IS NULL OR case_id = ?1)"
        " AND (?2 IS NULL OR division = ?2)"
        " AND (?3 = 0 OR (overdue = 1 AND state IN (1, 2, 3)))"
        " AND (?4 = 0 OR ((1 << state) & ?4) <> 0)"
        " AND (?6 IS NULL OR (case_id, seq) > (?6, ?7))"
        " ORDER BY case_id, seq LIMIT ?5",
};

struct ckpt;

struct index {
	struct db db;
	struct pbuf ev_pb;     /* packed event, bound while it is inserted */
	struct pbuf rec_pb;    /* packed case/user/division, likewise */
	int wal_frames;        /* frames in the WAL after the last commit */
	int ckpt_mark;         /* wal_frames when a checkpoint was last asked */
	struct ckpt *ckpt;     /* the checkpoint thread, when started */
	struct ixflush *flush; /* index_flush_start()'s thread, once used */
	bool whole_batch;      /* index_set_whole_batch() */
	bool sync_failed;      /* its checkpoint thread failed (a sync, say) */
	/* The checkpoint thread's descriptors of the database and its WAL,
	 * once it stopped: closed after this connection (closing one drops
	 * the process's POSIX locks on the file, db_create_private()). */
	int ckpt_fds[2];
	/* The secondary indexes index_bulk_begin() dropped, as "name\0sql\0"
	 * records for index_bulk_end() to recreate. */
	struct buf bulk_indexes;
};

/* The index checkpoints its WAL itself, in index_commit(), instead of
 * SQLite's automatic checkpoint, which ignores every error: with
 * synchronous=NORMAL the checkpoint's fsyncs are the only ones, and a
 * failed fsync must stop the writer (nothing on disk is trusted after
 * it), not be retried by the next checkpoint. */
#define INDEX_CHECKPOINT_FRAMES 1000

/*
 * The WAL starts over from its beginning only when a write transaction
 * begins with every frame checkpointed.  The checkpoint thread alone never
 * gets there under load: the writer appends while it copies.  So when the
 * WAL holds INDEX_WAL_RESTART_FRAMES and the thread has caught up (a few
 * frames left), the writer checkpoints the rest itself, between two
 * transactions, and its next one restarts the WAL.  Before, the WAL grew
 * for as long as the load lasted (268 MB in an 8 s csirt-bench note run,
 * over a 25 MB database) and the thread checkpointed after every commit.
 */
#define INDEX_WAL_RESTART_FRAMES 8000
#define INDEX_CATCHUP_FRAMES 256

static int
index_wal_hook_cb(void *arg, sqlite3 *conn, const char *db, int frames)
{
	(void)conn;
	(void)db;
	((struct index *)arg)->wal_frames = frames;
	return SQLITE_OK;
}

/*
 * csirt_case_description(pb): the description of a packed case.  Only
 * migration 0002 uses it, to fill the description column of rows indexed
 * before it existed; index_apply() binds the column itself.  Direct-only:
 * never callable from the schema (views, triggers, indexes).
 */
static void
index_sql_case_description(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const void *p = sqlite3_value_blob(argv[0]);
	size_t n = (size_t)sqlite3_value_bytes(argv[0]);
	Csirt__V1__Case *c;

	(void)argc;
	c = csirt__v1__case__unpack(NULL, n, p);
	if (c == NULL) {
		sqlite3_result_error(ctx, "stored case does not decode", -1);
		return;
	}
	sqlite3_result_text(ctx, c->description != NULL ? c->description : "",
	                    -1, SQLITE_TRANSIENT);
	csirt__v1__case__free_unpacked(c, NULL);
}

static int
index_setup(struct db *d)
{
	int rc = sqlite3_create_function_v2(
	    d->conn, "csirt_case_description", 1,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL,
	    index_sql_case_description, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_fail(d, rc, "registering SQL functions");
	return 0;
}

static int
index_open_mode(struct index **out, const char *path, bool readonly,
                bool unsynced)
{
	struct index *ix = util_xcalloc(1, sizeof(*ix));
	int err;

	*out = NULL;
	ix->ckpt_fds[0] = ix->ckpt_fds[1] = -1;
	ix->db.store = "index";
	ix->db.setup = index_setup;
	ix->db.unsynced = unsynced && !readonly;
	if ((err = db_open(&ix->db, path, readonly, false, true)) != 0)
		goto done;
	if (!readonly)
		sqlite3_wal_hook(ix->db.conn, index_wal_hook_cb, ix);
	/* The writer's page cache: 32 MiB instead of SQLite's 2.  A note
	 * touches its case's pages in three indexes and two tables, and with
	 * 1,024 cases under load those pages did not stay in 2 MiB: the
	 * writer re-read 2.1 pages a note (/proc/PID/task/TID/io, csirt-bench
	 * --cases 1024), 0.17 with 16 MiB over a short run.  Past 40 s of
	 * such a run (~300,000 events) 16 MiB re-read 19.7 KB a note, 32 MiB
	 * 1.7 KB and 64 MiB 0.9 KB (`rchar`); 64 MiB added 55 MB to the RSS of
	 * 146,000 reports, and each batch's COMMIT took longer with the
	 * larger cache (0.14, 0.24, 0.34 ms).  It fills only as pages are
	 * used. */
	if (!readonly && (err = db_exec(&ix->db, "PRAGMA cache_size = -32768",
	                                "cache_size")) != 0)
		goto done;
	err = db_prepare_all(&ix->db, ix_sql, IX__COUNT);
done:
	if (err != 0) {
		index_close(ix);
		return err;
	}
	*out = ix;
	return 0;
}

int
index_open(struct index **out, const char *path)
{
	return index_open_mode(out, path, false, false);
}

int
index_open_unsynced(struct index **out, const char *path)
{
	return index_open_mode(out, path, false, true);
}

int
index_open_readonly(struct index **out, const char *path)
{
	return index_open_mode(out, path, true, false);
}

/*
 * index_flush_start()'s thread.  A batch's COMMIT wrote its dirty pages
 * into the WAL (one frame each: with 64 cases ~170 pages, 0.5-1.3 ms of a
 * 6-7 ms batch) after the ledger's fsyncs, during which the writer only
 * waited.  sqlite3_db_cacheflush() writes them as uncommitted frames while
 * the writer makes the batch durable; the connection is the writer's
 * (SQLITE_OPEN_NOMUTEX), handed over by `mu`: the writer does not touch it
 * between index_flush_start() and index_flush_wait().
 */
struct ixflush {
	struct index *ix;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool due, stop;
	int rc;        /* the last flush's SQLite code */
	char err[256]; /* and its message */
};

static void *
flush_main(void *arg)
{
	struct ixflush *f = arg;

	util_thread_name("ix-flush");
	pthread_mutex_lock(&f->mu);
	for (;;) {
		sqlite3 *conn = f->ix->db.conn;
		int rc;

		while (!f->due && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		if (!f->due)
			break;
		pthread_mutex_unlock(&f->mu);
		rc = sqlite3_db_cacheflush(conn);
		pthread_mutex_lock(&f->mu);
		f->rc = rc;
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			snprintf(f->err, sizeof(f->err), "%s",
			         sqlite3_errmsg(conn));
		f->due = false;
		pthread_cond_broadcast(&f->cv);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void
flush_stop(struct index *ix)
{
	struct ixflush *f = ix->flush;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
	ix->flush = NULL;
}

void
index_flush_start(struct index *ix)
{
	struct ixflush *f = ix->flush;

	if (f == NULL) {
		f = util_xcalloc(1, sizeof(*f));
		f->ix = ix;
		pthread_mutex_init(&f->mu, NULL);
		pthread_cond_init(&f->cv, NULL);
		if (pthread_create(&f->thread, NULL, flush_main, f) != 0) {
			/* Nothing lost: the commit writes the pages. */
			pthread_mutex_destroy(&f->mu);
			pthread_cond_destroy(&f->cv);
			free(f);
			return;
		}
		ix->flush = f;
	}
	pthread_mutex_lock(&f->mu);
	f->due = true;
	f->rc = SQLITE_OK;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

int
index_flush_wait(struct index *ix)
{
	struct ixflush *f = ix->flush;
	int rc;

	if (f == NULL)
		return 0;
	pthread_mutex_lock(&f->mu);
	while (f->due)
		pthread_cond_wait(&f->cv, &f->mu);
	rc = f->rc;
	pthread_mutex_unlock(&f->mu);
	if (rc == SQLITE_OK || rc == SQLITE_BUSY)
		return 0;
	return csirt_error_set(db_code(rc), "index: writing the batch: %s",
	                       f->err);
}

void
index_close(struct index *ix)
{
	if (ix == NULL)
		return;
	index_checkpointer_stop(ix);
	flush_stop(ix);
	db_close(&ix->db);
	for (size_t i = 0; i < 2; i++)
		if (ix->ckpt_fds[i] >= 0)
			close(ix->ckpt_fds[i]);
	free(ix->ev_pb.data);
	free(ix->rec_pb.data);
	buf_free(&ix->bulk_indexes);
	free(ix);
}

int
index_begin(struct index *ix)
{
	int err;

	/* SQLite grants BEGIN IMMEDIATE to a read-only connection (only the
	 * writes fail); refuse it here so a reader never pins a snapshot
	 * by mistake. */
	if (sqlite3_db_readonly(ix->db.conn, "main") == 1)
		return csirt_error_set(CSIRT_EFAIL,
		                       "index: begin on a readonly connection");
	if ((err = db_run(&ix->db, ix->db.stmts[IX_BEGIN], "begin")) != 0)
		return err;
	/* The WAL's write lock is held: its size cannot shrink until the
	 * COMMIT or ROLLBACK (index_vfs.c). */
	index_vfs_wal_begin(ix->db.conn);
	return 0;
}

/* A PASSIVE checkpoint of `conn`'s WAL, its reads through the WAL's
 * mapping (index_vfs.c); the thread's, the writer's catch-up and
 * index_commit()'s all take this one. */
static int
wal_checkpoint(sqlite3 *conn, int *log, int *done)
{
	int rc;

	index_vfs_wal_begin(conn);
	rc = sqlite3_wal_checkpoint_v2(conn, "main", SQLITE_CHECKPOINT_PASSIVE,
	                               log, done);
	index_vfs_wal_end(conn);
	return rc;
}

/*
 * The checkpoint thread (index_checkpointer_start): the same PASSIVE
 * checkpoint as index_commit() runs inline, on a connection of its own, so
 * that the writer does not wait for the checkpoint's copying and fsyncs
 * (under load a batch's COMMIT took 0.5 ms at the median and 1.8 ms on
 * average, the checkpoints making the difference).  WAL mode lets a
 * checkpoint run beside a write transaction.  A failed checkpoint is never
 * retried: the thread stops and index_checkpointer_check() reports it from
 * then on, so the writer stops before its next batch.  Nothing is lost by
 * the delay: the index is derived from the ledger, and a commit is not
 * fsynced anyway (synchronous=NORMAL).
 *
 * Unsynced (synchronous=OFF), the checkpoints fsync nothing, and the thread
 * fsyncs the database and its WAL itself, at most every INDEX_SYNC_MS
 * after a round: so that a write-back error is still seen (Linux reports
 * it to the next fsync of any descriptor open when it happened) and stops
 * the writer, and the files on disk stay within seconds of the cache.
 * Synced at every checkpoint (every ~4 batches of 64 notes, a 4 MB WAL
 * fsync and a database fsync each), they held up the ledger's own fsyncs:
 * with 1,024 cases the durable write's p99 was 10 ms against 5-6 ms.
 */
#define INDEX_SYNC_MS 5000
#define INDEX_SYNC_CHUNK ((off_t)4 << 20)

struct ckpt {
	struct index *conn;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool due, stop, failed;
	bool running;   /* copying now */
	bool caught_up; /* its last round left few frames behind */
	char err[256];
	/* Unsynced: the files the thread fsyncs, opened when it starts (so
	 * that their fsync reports any write-back error from then on; -1
	 * for a WAL not there yet, tried again at each sync), and when it
	 * last did. */
	char *path;
	int fds[2];
	uint64_t synced_ms;
};

static const char *const ckpt_ext[2] = {"", "-wal"};

static void
ckpt_open_files(struct ckpt *c)
{
	for (size_t i = 0; i < 2; i++) {
		struct buf p = BUF_INIT;

		if (c->fds[i] >= 0)
			continue;
		buf_printf(&p, "%s%s", c->path, ckpt_ext[i]);
		c->fds[i] = open(p.data, O_RDONLY | O_CLOEXEC);
		buf_free(&p);
	}
}

/* Unsynced: fsyncs the database and its WAL if INDEX_SYNC_MS have passed.
 * Returns 0, or -1 with c->err set. */
static int
ckpt_sync(struct ckpt *c)
{
	uint64_t t = util_monotonic_ms();

	if (!c->conn->db.unsynced || t - c->synced_ms < INDEX_SYNC_MS)
		return 0;
	c->synced_ms = t;
	ckpt_open_files(c);
	for (size_t i = 0; i < 2; i++) {
		if (c->fds[i] < 0)
			continue; /* no WAL yet: nothing to sync */
		/* Tens of megabytes can be dirty by now (the checkpoints'
		 * pages, the WAL's frames): fsynced at once they were queued
		 * at the device together, and the ledger's fsyncs behind them
		 * took up to 0.7 s. */
		util_writeback_paced(c->fds[i], INDEX_SYNC_CHUNK);
		if (fsync(c->fds[i]) != 0) {
			snprintf(c->err, sizeof(c->err),
			         "index: fsync %s%s: %s", c->path, ckpt_ext[i],
			         strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Records a failed checkpoint on `conn` (under c->mu): never retried. */
static void
ckpt_failed(struct ckpt *c, sqlite3 *conn)
{
	snprintf(c->err, sizeof(c->err), "index: checkpoint: %s",
	         sqlite3_errmsg(conn));
	c->failed = true;
}

static void *
ckpt_main(void *arg)
{
	struct ckpt *c = arg;

	util_thread_name("ix-checkpoint");
	util_thread_background();

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		int rc = SQLITE_OK;

		if (!c->due) {
			pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		c->due = false;
		c->running = true;
		c->caught_up = false;
		pthread_mutex_unlock(&c->mu);
		/* Again while the writer added many frames meanwhile, a few
		 * times at most, and only while it gets anywhere (a reader
		 * can hold it back). */
		for (int round = 0, prev = -1; round < 4; round++) {
			int log = 0, done = 0;

			rc = wal_checkpoint(c->conn->db.conn, &log, &done);
			if (rc != SQLITE_OK ||
			    log - done <= INDEX_CATCHUP_FRAMES || done <= prev)
				break;
			prev = done;
		}
		if ((rc == SQLITE_OK || rc == SQLITE_BUSY) &&
		    ckpt_sync(c) != 0) {
			pthread_mutex_lock(&c->mu);
			c->failed = true;
			c->running = false;
			pthread_cond_broadcast(&c->cv);
			break;
		}
		pthread_mutex_lock(&c->mu);
		c->running = false;
		pthread_cond_broadcast(&c->cv); /* a writer may wait for it */
		if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
			ckpt_failed(c, c->conn->db.conn);
			break;
		}
		c->caught_up = rc == SQLITE_OK;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Everything index_checkpointer_start() made, its thread gone or never
 * started. */
static void
ckpt_free(struct ckpt *c)
{
	index_close(c->conn);
	for (size_t i = 0; i < 2; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->path);
	free(c);
}

int
index_checkpointer_start(struct index *ix)
{
	const char *path = sqlite3_db_filename(ix->db.conn, "main");
	struct ckpt *c;
	int err;

	if (ix->ckpt != NULL)
		return 0;
	if (path == NULL || *path == '\0')
		return csirt_error_set(CSIRT_EFAIL,
		                       "index: no file to checkpoint");
	c = util_xcalloc(1, sizeof(*c));
	if ((err = index_open_mode(&c->conn, path, false, ix->db.unsynced)) !=
	    0) {
		free(c);
		return err;
	}
	c->path = util_strdup(path);
	c->fds[0] = c->fds[1] = -1;
	if (c->conn->db.unsynced)
		ckpt_open_files(c);
	c->synced_ms = util_monotonic_ms();
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
		ckpt_free(c);
		return csirt_error_set(CSIRT_EFAIL,
		                       "index: cannot start the checkpoint "
		                       "thread");
	}
	ix->ckpt = c;
	return 0;
}

void
index_checkpointer_stop(struct index *ix)
{
	struct ckpt *c = ix->ckpt;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	if (c->failed) {
		log_error("index checkpoint failed", "error", c->err);
		ix->sync_failed = true;
	}
	for (size_t i = 0; i < 2; i++) {
		if (ix->ckpt_fds[i] < 0) {
			ix->ckpt_fds[i] = c->fds[i];
			c->fds[i] = -1;
		}
	}
	ckpt_free(c);
	ix->ckpt = NULL;
}

bool
index_sync_failed(const struct index *ix)
{
	return ix->sync_failed;
}

int
index_checkpointer_check(struct index *ix)
{
	struct ckpt *c = ix->ckpt;
	int rc = 0;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->mu);
	if (c->failed) {
		rc = csirt_error_set(CSIRT_EUNAVAILABLE, "%s", c->err);
	} else if (ix->wal_frames >= INDEX_WAL_RESTART_FRAMES &&
	           sqlite3_get_autocommit(ix->db.conn)) {
		/* The rest, so that the next transaction restarts the WAL
		 * (INDEX_WAL_RESTART_FRAMES): when the thread has caught up,
		 * or, at twice the limit, after waiting for its round to end
		 * (so the WAL stays bounded whatever the thread's pace).
		 * Busy (a reader, another checkpoint): next time. */
		bool force = ix->wal_frames >= 2 * INDEX_WAL_RESTART_FRAMES;
		int err;

		while (force && c->running)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->failed) {
			rc = csirt_error_set(CSIRT_EUNAVAILABLE, "%s", c->err);
		} else if (force || (c->caught_up && !c->running)) {
			c->caught_up = false;
			err = wal_checkpoint(ix->db.conn, NULL, NULL);
			if (err != SQLITE_OK && err != SQLITE_BUSY) {
				ckpt_failed(c, ix->db.conn);
				rc = csirt_error_set(CSIRT_EUNAVAILABLE, "%s",
				                     c->err);
			}
		}
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int
index_commit(struct index *ix)
{
	int err, rc;

	err = db_run(&ix->db, ix->db.stmts[IX_COMMIT], "commit");
	index_vfs_wal_end(ix->db.conn);
	if (err != 0)
		return err;
	if (ix->ckpt != NULL) {
		/* wal_frames counts from the WAL's start: it falls when the
		 * WAL restarts. */
		if (ix->wal_frames < ix->ckpt_mark)
			ix->ckpt_mark = 0;
		if (ix->wal_frames - ix->ckpt_mark < INDEX_CHECKPOINT_FRAMES)
			return 0;
		ix->ckpt_mark = ix->wal_frames;
		pthread_mutex_lock(&ix->ckpt->mu);
		ix->ckpt->due = true;
		pthread_cond_signal(&ix->ckpt->cv);
		pthread_mutex_unlock(&ix->ckpt->mu);
		return 0;
	}
	if (ix->wal_frames < INDEX_CHECKPOINT_FRAMES)
		return 0;
	/* PASSIVE: readers are never waited for; frames they still need
	 * stay in the WAL for the next checkpoint. */
	rc = wal_checkpoint(ix->db.conn, NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return csirt_error_set(CSIRT_EUNAVAILABLE,
		                       "index: checkpoint: %s",
		                       sqlite3_errmsg(ix->db.conn));
	ix->wal_frames = 0;
	return 0;
}

void
index_read_begin(struct index *ix)
{
	if (ix == NULL || !sqlite3_get_autocommit(ix->db.conn))
		return;
	/* Deferred: the snapshot is taken by the first read.  On failure
	 * every statement runs on its own, as without. */
	if (db_run(&ix->db, ix->db.stmts[IX_BEGIN_READ], "begin") != 0)
		log_warn("index: no read transaction", "error",
		         csirt_error_msg());
}

void
index_read_end(struct index *ix)
{
	if (ix == NULL || sqlite3_get_autocommit(ix->db.conn))
		return;
	if (db_run(&ix->db, ix->db.stmts[IX_COMMIT], "commit") != 0)
		log_warn("index: ending a read transaction", "error",
		         csirt_error_msg());
}

int
index_rollback(struct index *ix)
{
	int err = db_run(&ix->db, ix->db.stmts[IX_ROLLBACK], "rollback");

	index_vfs_wal_end(ix->db.conn);
	return err;
}

/* "2026-000123": year, '-', a counter of at least six digits with no
 * extra leading zero, so that id and (year, counter) map one to one. */
static int
index_case_id_parse(const char *id, int *year, uint32_t *counter)
{
	size_t n = strlen(id);
	uint32_t c = 0;
	int y = 0;

	if (n < 11 || n > 14 || id[4] != '-' || id[0] == '0' ||
	    (n > 11 && id[5] == '0'))
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (i == 4)
			continue;
		if (id[i] < '0' || id[i] > '9')
			goto bad;
		if (i < 4)
			y = y * 10 + (id[i] - '0');
		else
			c = c * 10 + (uint32_t)(id[i] - '0');
	}
	*year = y;
	*counter = c;
	return 0;
bad:
	return csirt_error_set(CSIRT_EINVAL, "index: bad case id \"%s\"", id);
}

/* Parses an RFC 3339 time; "" is absent (*present = false). */
static int
index_time_ms(int64_t *out, bool *present, const char *s, const char *what)
{
	*present = s != NULL && s[0] != '\0';
	*out = 0;
	if (!*present)
		return 0;
	if (util_time_parse(out, s) != 0)
		return csirt_error_wrap(CSIRT_EINVAL, "index: %s", what);
	return 0;
}

static void
index_bind_time(struct index *ix, sqlite3_stmt *st, int i, int64_t ms,
                bool present)
{
	if (present)
		db_bind_int(&ix->db, st, i, ms);
	else
		db_bind_note(&ix->db, sqlite3_bind_null(st, i));
}

static bool
index_commit_id_valid(const char *s)
{
	if (s == NULL || strlen(s) != INDEX_COMMIT_ID_LEN)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Replaces the cases row and its assignees with the fold `c`. */
static int
index_apply_case(struct index *ix, const Csirt__V1__Case *c,
                 bool assignees_changed)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st;
	const Csirt__V1__Classification *cl = c->classification;
	int64_t recognized, reported, updated;
	bool has_rec, has_rep, has_upd;
	const uint8_t *pb;
	uint32_t counter = 0;
	size_t len;
	int year = 0, err;

	if ((err = index_case_id_parse(c->id, &year, &counter)) != 0)
		return err;
	if ((err = index_time_ms(&recognized, &has_rec, c->recognized_at,
	                         "recognized_at")) != 0 ||
	    (err = index_time_ms(&reported, &has_rep, c->reported_at,
	                         "reported_at")) != 0 ||
	    (err = index_time_ms(&updated, &has_upd, c->updated_at,
	                         "updated_at")) != 0)
		return err;
	pb = pbuf_pack(&ix->rec_pb, &c->base, &len);

	for (int pass = 0; pass < 2; pass++) {
		st = d->stmts[pass == 0 ? IX_CASE_UPDATE_BODY : IX_CASE_UPSERT];
		db_bind_text(d, st, 1, c->id);
		db_bind_int(d, st, 2, year);
		db_bind_int(d, st, 3, counter);
		db_bind_int(d, st, 4, c->category);
		db_bind_int(d, st, 5, c->state);
		db_bind_text(d, st, 6, c->title);
		db_bind_text(d, st, 7, c->division);
		db_bind_text(d, st, 8, c->reporter);
		index_bind_time(ix, st, 9, recognized, has_rec);
		index_bind_time(ix, st, 10, reported, has_rep);
		index_bind_time(ix, st, 11, updated, has_upd);
		db_bind_int(d, st, 12, cl != NULL ? cl->confidentiality : 0);
		db_bind_int(d, st, 13, cl != NULL ? cl->integrity : 0);
		db_bind_int(d, st, 14, cl != NULL ? cl->availability : 0);
		db_bind_int(d, st, 15,
		            c->emergency != NULL && c->emergency->flag);
		db_bind_int(d, st, 16, (int64_t)c->last_seq);
		db_bind_blob(d, st, 17, pb, len);
		db_bind_text(d, st, 18, c->description);
		db_bind_int(d, st, 19, c->overdue ? 1 : 0);
		if ((err = db_run(d, st, "case")) != 0)
			return err;
		if (sqlite3_changes(d->conn) == 1)
			break;
		if (pass == 1)
			return csirt_error_set(CSIRT_ETAMPER,
			                       "index: case %s already has an "
			                       "event after seq %" PRIu64,
			                       c->id, c->last_seq);
	}

	/* The fold changes assignees only on assignment (and a report
	 * starts with none): skip two statements on every other event. */
	if (!assignees_changed)
		return 0;
	st = d->stmts[IX_ASSIGNEES_DELETE];
	db_bind_text(d, st, 1, c->id);
	if ((err = db_run(d, st, "assignees")) != 0)
		return err;
	st = d->stmts[IX_ASSIGNEE_INSERT];
	for (size_t i = 0; i < c->n_assignees; i++) {
		db_bind_text(d, st, 1, c->id);
		db_bind_text(d, st, 2, c->assignees[i]);
		if ((err = db_run(d, st, "assignee")) != 0)
			return err;
	}
	return 0;
}

/* What every version of a note shares, from its version 1. */
struct index_note_origin {
	char *author;            /* of version 1 */
	int64_t created_ms;      /* time of version 1 */
	Csirt__V1__Event *added; /* the note.added event (classification) */
	uint32_t last_version;   /* the newest version recorded */
};

static int index_note_origin_get(struct index_note_origin *out,
                                 struct index *ix, const char *case_id,
                                 const char *note_id);
static void index_note_origin_free(struct index_note_origin *o);

static bool
index_confidentiality_low(const Csirt__V1__Classification *cl)
{
	return cl != NULL &&
	       cl->confidentiality ==
	           CSIRT__V1__CONFIDENTIALITY__CONFIDENTIALITY_LOW;
}

/* One notes row.  `text` (NULL: not kept) is bound as is: the caller has
 * checked that it is the text of a 機密性低 note. */
static int
index_apply_note(struct index *ix, const Csirt__V1__Event *ev, int64_t time_ms,
                 const char *note_id, uint32_t version, const char *path,
                 const char *sha256, const char *text)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_NOTE_INSERT];

	db_bind_text(d, st, 1, ev->case_id);
	db_bind_text(d, st, 2, note_id);
	db_bind_int(d, st, 3, version);
	db_bind_text(d, st, 4, ev->actor);
	db_bind_text(d, st, 5, path);
	db_bind_text(d, st, 6, sha256);
	db_bind_int(d, st, 7, time_ms);
	db_bind_int(d, st, 8, (int64_t)ev->seq);
	if (text == NULL)
		db_bind_note(d, sqlite3_bind_null(st, 9));
	else
		db_bind_text(d, st, 9, text);
	return db_run(d, st, "note");
}

/* A note.edited row: the note exists, the version is the next one, and a
 * text is kept only for a 機密性低 note (the classification is version
 * 1's: an edit inherits it). */
static int
index_apply_note_edited(struct index *ix, const Csirt__V1__Event *ev,
                        int64_t time_ms, const char *note_text)
{
	const Csirt__V1__NoteEdited *n = ev->note_edited;
	struct index_note_origin o = {0};
	int err;

	err = index_note_origin_get(&o, ix, ev->case_id, n->note_id);
	if (err == CSIRT_ENOTFOUND) {
		err = csirt_error_set(CSIRT_ETAMPER,
		                      "index: note.edited of unknown note %s "
		                      "of case %s",
		                      n->note_id, ev->case_id);
		goto done;
	}
	if (err != 0)
		goto done;
	if (n->version != o.last_version + 1) {
		err = csirt_error_set(CSIRT_ETAMPER,
		                      "index: note %s of case %s: version "
		                      "%" PRIu32 " after %" PRIu32,
		                      n->note_id, ev->case_id, n->version,
		                      o.last_version);
		goto done;
	}
	if (note_text != NULL &&
	    !index_confidentiality_low(o.added->note_added->classification)) {
		err = csirt_error_set(
		    CSIRT_EINVAL,
		    "index: note %s of case %s is not 機密性低; "
		    "its text never enters the index",
		    n->note_id, ev->case_id);
		goto done;
	}
	err = index_apply_note(
	    ix, ev, time_ms, n->note_id, n->version, n->path,
	    n->text_mac[0] != '\0' ? n->text_mac : n->text_sha256, note_text);
done:
	index_note_origin_free(&o);
	return err;
}

static int
index_apply_user(struct index *ix, const Csirt__V1__User *u, bool create)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[create ? IX_USER_INSERT : IX_USER_UPDATE];
	const uint8_t *pb;
	int64_t created;
	bool has_created;
	size_t len;
	int err;

	if (u == NULL)
		return csirt_error_set(CSIRT_EINVAL, "index: user event "
		                                     "without a user");
	if ((err = index_time_ms(&created, &has_created, u->created_at,
	                         "user created_at")) != 0)
		return err;
	pb = pbuf_pack(&ix->rec_pb, &u->base, &len);
	db_bind_text(d, st, 1, u->login);
	db_bind_text(d, st, 2, u->display_name);
	db_bind_int(d, st, 3, u->role);
	db_bind_text_or_null(d, st, 4, u->division);
	db_bind_int(d, st, 5, u->disabled);
	index_bind_time(ix, st, 6, created, has_created);
	db_bind_blob(d, st, 7, pb, len);
	if ((err = db_run(d, st, "user")) != 0)
		return err;
	if (!create && sqlite3_changes(d->conn) != 1)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "index: user.updated for unknown user "
		                       "\"%s\"",
		                       u->login);
	return 0;
}

static int
index_apply_division(struct index *ix, const Csirt__V1__Division *dv)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_DIVISION_INSERT];
	const uint8_t *pb;
	int64_t created;
	bool has_created;
	size_t len;
	int err;

	if (dv == NULL)
		return csirt_error_set(CSIRT_EINVAL, "index: division event "
		                                     "without a division");
	if ((err = index_time_ms(&created, &has_created, dv->created_at,
	                         "division created_at")) != 0)
		return err;
	pb = pbuf_pack(&ix->rec_pb, &dv->base, &len);
	db_bind_text(d, st, 1, dv->code);
	db_bind_text(d, st, 2, dv->name);
	index_bind_time(ix, st, 3, created, has_created);
	db_bind_blob(d, st, 4, pb, len);
	return db_run(d, st, "division");
}

static int
index_apply_event_row(struct index *ix, const Csirt__V1__Event *ev,
                      int64_t time_ms, const char *commit_id)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_EVENT_INSERT];
	const uint8_t *pb;
	size_t len;
	int err;

	pb = pbuf_pack(&ix->ev_pb, &ev->base, &len);
	db_bind_int(d, st, 1, (int64_t)ev->seq);
	db_bind_text_or_null(d, st, 2, ev->case_id);
	db_bind_text(d, st, 3, ev->type);
	db_bind_text(d, st, 4, ev->actor);
	db_bind_int(d, st, 5, ev->role);
	db_bind_int(d, st, 6, time_ms);
	db_bind_text(d, st, 7, commit_id);
	db_bind_blob(d, st, 8, pb, len);
	err = db_run(d, st, "event");
	if (err == CSIRT_ECONFLICT)
		return csirt_error_set(CSIRT_ECONFLICT,
		                       "index: event seq %" PRIu64
		                       " is already recorded",
		                       ev->seq);
	return err;
}

/* Does event `ev` change item `id` (registered by a response, or named by
 * a registration or custody step)? */
static bool
index_event_item(const Csirt__V1__Event *ev, const char *id)
{
	const Csirt__V1__ItemCustody *ic = NULL;

	switch (ev->payload_case) {
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED:
		for (size_t i = 0; i < ev->request_responded->n_items; i++)
			if (ev->request_responded->items[i] != NULL &&
			    strcmp(ev->request_responded->items[i]->id, id) ==
			        0)
				return true;
		return false;
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_REGISTERED:
		return ev->item_registered->item != NULL &&
		       strcmp(ev->item_registered->item->id, id) == 0;
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_TRANSFERRED:
		ic = ev->item_transferred;
		break;
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_RETURNED:
		ic = ev->item_returned;
		break;
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_DISPOSED:
		ic = ev->item_disposed;
		break;
	default:
		return false;
	}
	return ic != NULL && strcmp(ic->item_id, id) == 0;
}

/* The request `ev` changes ("" for none). */
static const char *
index_event_request(const Csirt__V1__Event *ev)
{
	switch (ev->payload_case) {
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_CREATED:
		return ev->request_created->request != NULL
		           ? ev->request_created->request->id
		           : "";
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED:
		return ev->request_acknowledged->request_id;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED:
		return ev->request_responded->request_id;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_FULFILLED:
		return ev->request_fulfilled->request_id;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_CANCELLED:
		return ev->request_cancelled->request_id;
	case CSIRT__V1__EVENT__PAYLOAD_DEADLINE_MISSED:
		return ev->deadline_missed->request_id;
	default:
		return "";
	}
}

/* 第13.2: rewrites, from the fold `c`, the rows of the requests and items
 * that event `ev` changed (one request, the items it names or registers),
 * so a case with many requests costs no more per event. */
static int
index_apply_requests(struct index *ix, const Csirt__V1__Event *ev,
                     const Csirt__V1__Case *c)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_REQUEST_UPSERT];
	const char *rid = index_event_request(ev);
	const uint8_t *pb;
	size_t len;
	int64_t due;
	bool has_due;
	int err;

	for (size_t i = 0; i < c->n_requests && rid[0] != '\0'; i++) {
		const Csirt__V1__InvestigationRequest *r = c->requests[i];
		if (strcmp(r->id, rid) != 0)
			continue;
		if ((err = index_time_ms(&due, &has_due, r->due,
		                         "request due")) != 0)
			return err;
		pb = pbuf_pack(&ix->rec_pb, &r->base, &len);
		db_bind_text(d, st, 1, c->id);
		db_bind_text(d, st, 2, r->id);
		db_bind_int(d, st, 3, strtoll(r->id + 1, NULL, 10));
		db_bind_int(d, st, 4, r->kind);
		db_bind_int(d, st, 5, r->state);
		db_bind_text(d, st, 6, c->division);
		db_bind_int(d, st, 7, has_due ? due : 0);
		db_bind_int(d, st, 8, r->overdue ? 1 : 0);
		db_bind_blob(d, st, 9, pb, len);
		if ((err = db_run(d, st, "request")) != 0)
			return err;
	}
	st = d->stmts[IX_ITEM_UPSERT];
	for (size_t i = 0; i < c->n_items; i++) {
		const Csirt__V1__PhysicalItem *it = c->items[i];
		if (!index_event_item(ev, it->id))
			continue;
		pb = pbuf_pack(&ix->rec_pb, &it->base, &len);
		db_bind_text(d, st, 1, c->id);
		db_bind_text(d, st, 2, it->id);
		db_bind_int(d, st, 3, it->kind);
		db_bind_int(d, st, 4, it->state);
		db_bind_text(d, st, 5, it->serial);
		db_bind_text(d, st, 6, it->seal_number);
		db_bind_text_or_null(d, st, 7, it->request_id);
		db_bind_blob(d, st, 8, pb, len);
		if ((err = db_run(d, st, "item")) != 0)
			return err;
	}
	return 0;
}

/*
 * Everything index_apply() records, in an order the foreign keys accept:
 * the case row before the event that references it, the event before the
 * note that references it.  Only the event row's key clash is a conflict
 * (the seq is already recorded); any other clash with existing rows means
 * the event contradicts the index.
 */
static int
index_apply_all(struct index *ix, const Csirt__V1__Event *ev,
                const char *commit_id, const Csirt__V1__Case *case_after,
                const char *note_text, int64_t time_ms)
{
	int err = 0;

	if (case_after != NULL &&
	    (err = index_apply_case(
	         ix, case_after,
	         ev->payload_case ==
	                 CSIRT__V1__EVENT__PAYLOAD_INVESTIGATORS_ASSIGNED ||
	             ev->payload_case ==
	                 CSIRT__V1__EVENT__PAYLOAD_INCIDENT_REPORTED)) != 0)
		goto done;
	if ((err = index_apply_event_row(ix, ev, time_ms, commit_id)) != 0)
		return err;

	switch (ev->payload_case) {
	case CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED: {
		const Csirt__V1__NoteAdded *n = ev->note_added;
		if (note_text != NULL &&
		    !index_confidentiality_low(n->classification)) {
			err = csirt_error_set(
			    CSIRT_EINVAL,
			    "index: note %s of case %s is not 機密性低; its "
			    "text never enters the index",
			    n->note_id, ev->case_id);
			break;
		}
		err = index_apply_note(
		    ix, ev, time_ms, n->note_id,
		    n->version != 0 ? n->version : 1, n->path,
		    n->text_mac[0] != '\0' ? n->text_mac : n->text_sha256,
		    note_text);
		break;
	}
	case CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED:
		err = index_apply_note_edited(ix, ev, time_ms, note_text);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_USER_CREATED:
		err = index_apply_user(ix, ev->user_created->user, true);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_USER_UPDATED:
		err = index_apply_user(ix, ev->user_updated->user, false);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_DIVISION_CREATED:
		err = index_apply_division(ix, ev->division_created->division);
		break;
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_CREATED:
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_ACKNOWLEDGED:
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_RESPONDED:
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_FULFILLED:
	case CSIRT__V1__EVENT__PAYLOAD_REQUEST_CANCELLED:
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_REGISTERED:
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_TRANSFERRED:
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_RETURNED:
	case CSIRT__V1__EVENT__PAYLOAD_ITEM_DISPOSED:
	case CSIRT__V1__EVENT__PAYLOAD_DEADLINE_MISSED:
		err = index_apply_requests(ix, ev, case_after);
		break;
	default:
		/* ledger_initialized, the other case events (all in
		 * case_after), and payloads newer than this build. */
		break;
	}
done:
	if (err == CSIRT_ECONFLICT)
		err = csirt_error_wrap(CSIRT_ETAMPER, "index: event %" PRIu64,
		                       ev->seq);
	return err;
}

int
index_apply(struct index *ix, const Csirt__V1__Event *ev, const char *commit_id,
            const Csirt__V1__Case *case_after, const char *note_text)
{
	struct db *d = &ix->db;
	bool case_event = ev->case_id != NULL && ev->case_id[0] != '\0';
	int64_t time_ms;
	bool has_time;
	int rc, err;

	if (ev->seq == 0 || ev->seq > INT64_MAX)
		return csirt_error_set(
		    CSIRT_EINVAL, "index: bad event seq %" PRIu64, ev->seq);
	if (!index_commit_id_valid(commit_id))
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "index: event %" PRIu64 ": bad commit id \"%s\"", ev->seq,
		    commit_id ? commit_id : "(null)");
	if ((err = index_time_ms(&time_ms, &has_time, ev->time,
	                         "event time")) != 0)
		return err;
	if (!has_time)
		return csirt_error_set(CSIRT_EINVAL,
		                       "index: event %" PRIu64 " has no time",
		                       ev->seq);
	if (case_event != (case_after != NULL))
		return csirt_error_set(
		    CSIRT_EINVAL, "index: event %" PRIu64 " (%s): %s", ev->seq,
		    ev->type,
		    case_event ? "case event without the case"
		               : "directory event with a case");
	if (note_text != NULL &&
	    ev->payload_case != CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED &&
	    ev->payload_case != CSIRT__V1__EVENT__PAYLOAD_NOTE_EDITED)
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "index: event %" PRIu64
		    " (%s) is not a note but has a note text",
		    ev->seq, ev->type);
	if (case_event && (strcmp(case_after->id, ev->case_id) != 0 ||
	                   case_after->last_seq != ev->seq))
		return csirt_error_set(
		    CSIRT_EINVAL,
		    "index: event %" PRIu64
		    " of %s: case_after is %s at seq %" PRIu64,
		    ev->seq, ev->case_id, case_after->id, case_after->last_seq);

	if (ix->whole_batch)
		return index_apply_all(ix, ev, commit_id, case_after, note_text,
		                       time_ms);
	/* A recorded seq is a conflict before anything else is looked at
	 * (replay relies on it); the events primary key is the backstop. */
	db_bind_int(d, d->stmts[IX_EVENT_EXISTS], 1, (int64_t)ev->seq);
	if ((rc = db_step(d, d->stmts[IX_EVENT_EXISTS], "event")) < 0)
		return rc;
	db_reset(d->stmts[IX_EVENT_EXISTS]);
	if (rc == SQLITE_ROW)
		return csirt_error_set(CSIRT_ECONFLICT,
		                       "index: event seq %" PRIu64
		                       " is already recorded",
		                       ev->seq);

	/* A savepoint makes the event atomic even inside a larger batch:
	 * a refused event leaves nothing behind and the batch goes on. */
	if ((err = db_run(d, d->stmts[IX_SAVEPOINT], "savepoint")) != 0)
		return err;
	err =
	    index_apply_all(ix, ev, commit_id, case_after, note_text, time_ms);
	if (err == 0)
		return db_run(d, d->stmts[IX_RELEASE], "release");

	if (!sqlite3_get_autocommit(d->conn)) {
		/* Cleanup after the failure reported above; a failure here
		 * (the transaction already rolled back by SQLite) is logged,
		 * not allowed to replace the first error. */
		if (sqlite3_step(d->stmts[IX_ROLLBACK_TO]) != SQLITE_DONE ||
		    sqlite3_reset(d->stmts[IX_ROLLBACK_TO]) != SQLITE_OK ||
		    sqlite3_step(d->stmts[IX_RELEASE]) != SQLITE_DONE)
			log_error("index: undoing a refused event failed",
			          "error", sqlite3_errmsg(d->conn));
		sqlite3_reset(d->stmts[IX_ROLLBACK_TO]);
		sqlite3_reset(d->stmts[IX_RELEASE]);
	}
	return err;
}

int
index_set_position(struct index *ix, uint64_t seq, const char *commit_id)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_POSITION_SET];

	if (seq > INT64_MAX || !index_commit_id_valid(commit_id))
		return csirt_error_set(CSIRT_EINVAL,
		                       "index: bad position %" PRIu64 " \"%s\"",
		                       seq, commit_id ? commit_id : "(null)");
	db_bind_int(d, st, 1, (int64_t)seq);
	db_bind_text(d, st, 2, commit_id);
	return db_run(d, st, "position");
}

void
index_set_whole_batch(struct index *ix, bool on)
{
	ix->whole_batch = on;
}

int
index_set_event_commit(struct index *ix, uint64_t seq, const char *commit_id)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_EVENT_SET_COMMIT];
	int err;

	if (seq == 0 || seq > INT64_MAX || !index_commit_id_valid(commit_id))
		return csirt_error_set(
		    CSIRT_EINVAL, "index: bad event commit %" PRIu64 " \"%s\"",
		    seq, commit_id ? commit_id : "(null)");
	db_bind_int(d, st, 1, (int64_t)seq);
	db_bind_text(d, st, 2, commit_id);
	if ((err = db_run(d, st, "event commit")) != 0)
		return err;
	if (sqlite3_changes(d->conn) != 1)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "index: no event %" PRIu64
		                       " to give commit %s",
		                       seq, commit_id);
	return 0;
}

int
index_get_position(struct index *ix, uint64_t *seq,
                   char commit_id[INDEX_COMMIT_ID_LEN + 1])
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_POSITION_GET];
	int rc;

	*seq = 0;
	commit_id[0] = '\0';
	if ((rc = db_step(d, st, "position")) < 0)
		return rc;
	if (rc == SQLITE_ROW) {
		const unsigned char *c = sqlite3_column_text(st, 1);

		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(commit_id, INDEX_COMMIT_ID_LEN + 1, "%s",
		         c != NULL ? (const char *)c : "");
	}
	db_reset(st);
	return 0;
}

/* Unpacks the pb column `col` of the current row; ETAMPER if it is not a
 * valid message. */
static int
index_row_unpack(ProtobufCMessage **out, sqlite3_stmt *st, int col,
                 const ProtobufCMessageDescriptor *desc, const char *what,
                 const char *key)
{
	const void *p = sqlite3_column_blob(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	*out = protobuf_c_message_unpack(desc, NULL, n, p);
	if (*out == NULL)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "index: %s %s: stored message does not "
		                       "decode",
		                       what, key);
	return 0;
}

/* Looks up one pb blob by text key and unpacks it. */
static int
index_get_pb(ProtobufCMessage **out, struct index *ix, enum ix_stmt which,
             const ProtobufCMessageDescriptor *desc, const char *what,
             const char *key, uint64_t *col1)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[which];
	int rc, err = 0;

	*out = NULL;
	db_bind_text(d, st, 1, key);
	if ((rc = db_step(d, st, what)) < 0)
		return rc;
	if (rc == SQLITE_DONE)
		err = csirt_error_set(CSIRT_ENOTFOUND, "%s %s not found", what,
		                      key);
	else
		err = index_row_unpack(out, st, 0, desc, what, key);
	if (err == 0 && col1 != NULL)
		*col1 = (uint64_t)sqlite3_column_int64(st, 1);
	db_reset(st);
	return err;
}

int
index_case_get(Csirt__V1__Case **out, struct index *ix, const char *id)
{
	return index_case_get_counted(out, NULL, ix, id);
}

int
index_case_get_counted(Csirt__V1__Case **out, uint64_t *events,
                       struct index *ix, const char *id)
{
	ProtobufCMessage *m = NULL;
	int err =
	    index_get_pb(&m, ix, IX_CASE_GET, &csirt__v1__case__descriptor,
	                 "case", id, events);

	*out = (Csirt__V1__Case *)m;
	return err;
}

int
index_user_get(Csirt__V1__User **out, struct index *ix, const char *login)
{
	ProtobufCMessage *m = NULL;
	int err =
	    index_get_pb(&m, ix, IX_USER_GET, &csirt__v1__user__descriptor,
	                 "user", login, NULL);

	*out = (Csirt__V1__User *)m;
	return err;
}

int
index_case_max_counter(struct index *ix, int year, uint32_t *out)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_CASE_MAX_COUNTER];
	int rc;

	*out = 0;
	db_bind_int(d, st, 1, year);
	if ((rc = db_step(d, st, "max counter")) < 0)
		return rc;
	if (rc == SQLITE_ROW)
		*out = (uint32_t)sqlite3_column_int64(st, 0);
	db_reset(st);
	return 0;
}

int
index_division_exists(struct index *ix, const char *code, bool *out)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_DIVISION_EXISTS];
	int rc;

	*out = false;
	db_bind_text(d, st, 1, code);
	if ((rc = db_step(d, st, "division")) < 0)
		return rc;
	*out = rc == SQLITE_ROW;
	db_reset(st);
	return 0;
}

int
index_events_for_case(struct index *ix, const char *case_id,
                      int (*cb)(const Csirt__V1__Event *ev,
                                const char *commit_id, void *arg),
                      void *arg)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_EVENTS_FOR_CASE];
	ProtobufCMessage *m = NULL;
	int rc, err = 0;

	db_bind_text(d, st, 1, case_id);
	while ((rc = db_step(d, st, "events")) == SQLITE_ROW) {
		const unsigned char *commit = sqlite3_column_text(st, 1);

		if ((err = index_row_unpack(&m, st, 0,
		                            &csirt__v1__event__descriptor,
		                            "event of", case_id)) != 0)
			break;
		err = cb((const Csirt__V1__Event *)m,
		         commit != NULL ? (const char *)commit : "", arg);
		protobuf_c_message_free_unpacked(m, NULL);
		m = NULL;
		if (err != 0)
			break;
	}
	if (rc < 0)
		return rc;
	db_reset(st);
	return err;
}

int
index_events_after(struct index *ix, uint64_t after_seq, size_t limit,
                   int (*cb)(const Csirt__V1__Event *ev, const char *commit_id,
                             const char *division, void *arg),
                   void *arg)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_EVENTS_AFTER];
	ProtobufCMessage *m = NULL;
	int rc, err = 0;

	if (after_seq > INT64_MAX)
		return 0; /* nothing can follow */
	if (limit > INT64_MAX)
		limit = INT64_MAX;
	db_bind_int(d, st, 1, (int64_t)after_seq);
	db_bind_int(d, st, 2, (int64_t)limit);
	while ((rc = db_step(d, st, "events")) == SQLITE_ROW) {
		const unsigned char *commit = sqlite3_column_text(st, 1);
		const unsigned char *div = sqlite3_column_text(st, 2);

		if ((err = index_row_unpack(&m, st, 0,
		                            &csirt__v1__event__descriptor,
		                            "event after", "a seq")) != 0)
			break;
		err = cb((const Csirt__V1__Event *)m,
		         commit != NULL ? (const char *)commit : "",
		         div != NULL ? (const char *)div : "", arg);
		protobuf_c_message_free_unpacked(m, NULL);
		m = NULL;
		if (err != 0)
			break;
	}
	if (rc < 0)
		return rc;
	db_reset(st);
	return err;
}

/* ---- index: note versions ------------------------------------------- */

static void
index_note_origin_free(struct index_note_origin *o)
{
	free(o->author);
	if (o->added != NULL)
		protobuf_c_message_free_unpacked(&o->added->base, NULL);
	memset(o, 0, sizeof(*o));
}

/* Version 1 of the note and the newest version number; CSIRT_ENOTFOUND
 * without a message when there is no version 1 (the callers word it).
 * Frees with index_note_origin_free(), also on failure. */
static int
index_note_origin_get(struct index_note_origin *out, struct index *ix,
                      const char *case_id, const char *note_id)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_NOTE_ORIGIN];
	ProtobufCMessage *m = NULL;
	const unsigned char *author;
	int rc, err = 0;

	memset(out, 0, sizeof(*out));
	db_bind_text(d, st, 1, case_id);
	db_bind_text(d, st, 2, note_id);
	if ((rc = db_step(d, st, "note")) < 0)
		return rc;
	if (rc == SQLITE_DONE) {
		db_reset(st);
		return CSIRT_ENOTFOUND;
	}
	author = sqlite3_column_text(st, 0);
	out->author = util_strdup(author != NULL ? (const char *)author : "");
	out->created_ms = sqlite3_column_int64(st, 1);
	out->last_version = (uint32_t)sqlite3_column_int64(st, 3);
	err = index_row_unpack(&m, st, 2, &csirt__v1__event__descriptor,
	                       "note.added event of", note_id);
	db_reset(st);
	if (err != 0)
		return err;
	out->added = (Csirt__V1__Event *)m;
	if (out->added->payload_case != CSIRT__V1__EVENT__PAYLOAD_NOTE_ADDED ||
	    out->added->note_added->classification == NULL)
		return csirt_error_set(CSIRT_ETAMPER,
		                       "index: version 1 of note %s of case %s "
		                       "is not a classified note.added event",
		                       note_id, case_id);
	return 0;
}

/* The walk itself, inside the caller's snapshot. */
static int
index_note_walk(struct index *ix, const char *case_id, const char *note_id,
                index_note_cb cb, void *arg)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_NOTE_VERSIONS];
	struct index_note_origin o = {0};
	struct index_note_version v;
	int rc, err;

	err = index_note_origin_get(&o, ix, case_id, note_id);
	if (err == CSIRT_ENOTFOUND)
		err = csirt_error_set(CSIRT_ENOTFOUND,
		                      "note %s of case %s not found", note_id,
		                      case_id);
	if (err != 0)
		goto done;
	db_bind_text(d, st, 1, case_id);
	db_bind_text(d, st, 2, note_id);
	while ((rc = db_step(d, st, "note versions")) == SQLITE_ROW) {
		const unsigned char *text = sqlite3_column_text(st, 6);

		memset(&v, 0, sizeof(v));
		v.case_id = case_id;
		v.note_id = note_id;
		v.version = (uint32_t)sqlite3_column_int64(st, 0);
		v.author = (const char *)sqlite3_column_text(st, 1);
		v.time_ms = sqlite3_column_int64(st, 2);
		v.seq = (uint64_t)sqlite3_column_int64(st, 3);
		v.path = (const char *)sqlite3_column_text(st, 4);
		v.text_sha256 = (const char *)sqlite3_column_text(st, 5);
		v.text = (const char *)text;
		v.text_len =
		    text != NULL ? (size_t)sqlite3_column_bytes(st, 6) : 0;
		v.classification = o.added->note_added->classification;
		v.note_author = o.author;
		v.created_ms = o.created_ms;
		if (v.author == NULL || v.path == NULL ||
		    v.text_sha256 == NULL) {
			db_reset(st);
			err = csirt_error_set(
			    CSIRT_EFAIL, "index: reading note %s of case %s",
			    note_id, case_id);
			goto done;
		}
		if ((err = cb(&v, arg)) != 0) {
			db_reset(st);
			goto done;
		}
	}
	if (rc < 0) {
		err = rc;
		goto done;
	}
	db_reset(st);
done:
	index_note_origin_free(&o);
	return err;
}

int
index_note_versions(struct index *ix, const char *case_id, const char *note_id,
                    index_note_cb cb, void *arg)
{
	struct db *d = &ix->db;
	bool own_txn = sqlite3_get_autocommit(d->conn);
	int err;

	assert(case_id != NULL && note_id != NULL && cb != NULL);
	/* Version 1 and the walk in one read snapshot (a reader outside a
	 * transaction would otherwise take one per statement). */
	if (own_txn && (err = db_exec(d, "BEGIN", "note versions")) != 0)
		return err;
	err = index_note_walk(ix, case_id, note_id, cb, arg);
	if (own_txn && !sqlite3_get_autocommit(d->conn)) {
		int rc2 = db_exec(d, err == 0 ? "COMMIT" : "ROLLBACK",
		                  "note versions");
		if (err == 0)
			err = rc2;
	}
	return err;
}

/* ---- index: list reads for the wire API ------------------------------ */

/*
 * The SQL of index_cases_list() follows the filter: a term, with its
 * parameters, per filter member set, and as many placeholders as values
 * in an IN list.  The statement is therefore prepared per call rather
 * than cached: the shapes multiply (2^8 combinations times list lengths),
 * preparing one is small next to reading and decoding the up to 501 rows
 * of a page (and this runs per request, not per event), and a per-call
 * statement lets the callback re-enter the index.  Values are only ever bound,
 * never written into the SQL.
 *
 * Plans (EXPLAIN QUERY PLAN; see schema/0002_case_list.sql): no filter
 * walks UNIQUE (year, counter) backwards from the cursor; one division,
 * state or category reads the page from cases_<column> (column, year,
 * counter) with no sort; an assignee drives the join from
 * case_assignees_login (CROSS JOIN fixes that order: an investigator's
 * cases are few, so their sort is cheap); a date range uses
 * cases_reported_at and sorts.  The text filter is a scan whatever the
 * indexes: LIKE '%...%' cannot seek.
 */

/* Prepares a statement outside the cache; the caller finalises it. */
static int
index_prepare(struct db *d, sqlite3_stmt **out, const char *sql)
{
	if (sqlite3_prepare_v2(d->conn, sql, -1, out, NULL) != SQLITE_OK)
		return db_fail(d, sqlite3_extended_errcode(d->conn), sql);
	return 0;
}

/* The same walk of the filter builds the SQL (st == NULL) and then binds
 * its parameters (st != NULL), so placeholders and values stay in step. */
struct index_listq {
	struct db *d;
	struct buf *sql;
	sqlite3_stmt *st;
	int param; /* last parameter bound */
	bool where;
};

static void
index_listq_sql(struct index_listq *q, const char *s)
{
	if (q->st == NULL)
		buf_puts(q->sql, s);
}

/* Starts a term of the WHERE clause. */
static void
index_listq_and(struct index_listq *q, const char *s)
{
	index_listq_sql(q, q->where ? " AND " : " WHERE ");
	index_listq_sql(q, s);
	q->where = true;
}

static void
index_listq_int(struct index_listq *q, int64_t v)
{
	if (q->st == NULL)
		buf_putc(q->sql, '?');
	else
		db_bind_int(q->d, q->st, ++q->param, v);
}

static void
index_listq_text(struct index_listq *q, const char *s)
{
	if (q->st == NULL)
		buf_putc(q->sql, '?');
	else
		db_bind_text(q->d, q->st, ++q->param, s);
}

/* "c.<col> IN (?, ?, ...)" */
static void
index_listq_in(struct index_listq *q, const char *col, const int *v, size_t n)
{
	index_listq_and(q, col);
	index_listq_sql(q, " IN (");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			index_listq_sql(q, ", ");
		index_listq_int(q, v[i]);
	}
	index_listq_sql(q, ")");
}

static bool
index_str_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* The whole query; `like` is the escaped text pattern, `year` and
 * `counter` the parsed cursor. */
static void
index_listq_cases(struct index_listq *q, const struct index_case_filter *f,
                  const char *like, int year, uint32_t counter)
{
	if (index_str_set(f->assignee)) {
		index_listq_sql(q,
		                "SELECT c.id, c.pb FROM case_assignees AS a"
		                " CROSS JOIN cases AS c ON c.id = a.case_id");
		index_listq_and(q, "a.login = ");
		index_listq_text(q, f->assignee);
	} else {
		index_listq_sql(q, "SELECT c.id, c.pb FROM cases AS c");
	}
	if (f->nstates > 0)
		index_listq_in(q, "c.state", f->states, f->nstates);
	if (f->ncategories > 0)
		index_listq_in(q, "c.category", f->categories, f->ncategories);
	if (index_str_set(f->division)) {
		index_listq_and(q, "c.division = ");
		index_listq_text(q, f->division);
	}
	if (f->overdue)
		index_listq_and(q, "c.overdue = 1");
	if (f->min_confidentiality != 0) {
		index_listq_and(q, "c.confidentiality >= ");
		index_listq_int(q, f->min_confidentiality);
	}
	if (like != NULL) {
		index_listq_and(q, "(c.title LIKE ");
		index_listq_text(q, like);
		index_listq_sql(q, " ESCAPE '\\' OR c.description LIKE ");
		index_listq_text(q, like);
		index_listq_sql(q, " ESCAPE '\\')");
	}
	if (f->reported_after_ms != 0) {
		index_listq_and(q, "c.reported_at_ms >= ");
		index_listq_int(q, f->reported_after_ms);
	}
	if (f->reported_before_ms != 0) {
		index_listq_and(q, "c.reported_at_ms < ");
		index_listq_int(q, f->reported_before_ms);
	}
	if (index_str_set(f->after_id)) {
		index_listq_and(q, "(c.year, c.counter) < (");
		index_listq_int(q, year);
		index_listq_sql(q, ", ");
		index_listq_int(q, counter);
		index_listq_sql(q, ")");
	}
	/* One more row than the page: its presence is *more. */
	index_listq_sql(q, " ORDER BY c.year DESC, c.counter DESC LIMIT ");
	index_listq_int(q, (int64_t)f->limit + 1);
}

/* "%<text>%" with the LIKE wildcards and the escape itself escaped, so
 * that the text matches literally. */
static void
index_like_pattern(struct buf *out, const char *text)
{
	buf_putc(out, '%');
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '%' || *p == '_' || *p == '\\')
			buf_putc(out, '\\');
		buf_putc(out, *p);
	}
	buf_putc(out, '%');
}

static int
index_case_filter_check(const struct index_case_filter *f)
{
	if (f->limit < 1 || f->limit > INDEX_CASES_LIMIT_MAX)
		return csirt_error_set(CSIRT_EINVAL,
		                       "index: list limit %zu is not in 1..%d",
		                       f->limit, INDEX_CASES_LIMIT_MAX);
	if (f->nstates > INDEX_CASES_VALUES_MAX ||
	    f->ncategories > INDEX_CASES_VALUES_MAX)
		return csirt_error_set(CSIRT_EINVAL,
		                       "index: more than %d states or "
		                       "categories in a list filter",
		                       INDEX_CASES_VALUES_MAX);
	if (f->min_confidentiality < 0)
		return csirt_error_set(CSIRT_EINVAL,
		                       "index: bad confidentiality %d",
		                       f->min_confidentiality);
	if (f->text != NULL && strlen(f->text) > INDEX_CASES_TEXT_MAX)
		return csirt_error_set(CSIRT_EINVAL,
		                       "index: list text longer than %d bytes",
		                       INDEX_CASES_TEXT_MAX);
	return 0;
}

int
index_cases_list(struct index *ix, const struct index_case_filter *f,
                 index_case_cb cb, void *arg, bool *more)
{
	struct db *d = &ix->db;
	struct buf sql = BUF_INIT, like = BUF_INIT;
	struct index_listq q = {.d = d, .sql = &sql};
	sqlite3_stmt *st = NULL;
	ProtobufCMessage *m = NULL;
	uint32_t counter = 0;
	size_t n = 0;
	int year = 0, rc, err;

	assert(f != NULL && cb != NULL);
	assert(f->nstates == 0 || f->states != NULL);
	assert(f->ncategories == 0 || f->categories != NULL);
	if (more != NULL)
		*more = false;
	if ((err = index_case_filter_check(f)) != 0)
		goto done;
	if (index_str_set(f->after_id) &&
	    (err = index_case_id_parse(f->after_id, &year, &counter)) != 0)
		goto done;
	if (index_str_set(f->text))
		index_like_pattern(&like, f->text);

	index_listq_cases(&q, f, like.data, year, counter);
	if ((err = index_prepare(d, &st, sql.data)) != 0)
		goto done;
	q = (struct index_listq){.d = d, .st = st};
	index_listq_cases(&q, f, like.data, year, counter);

	while ((rc = db_step(d, st, "listing cases")) == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(st, 0);

		if (n == f->limit) {
			if (more != NULL)
				*more = true;
			break;
		}
		if ((err = index_row_unpack(&m, st, 1,
		                            &csirt__v1__case__descriptor,
		                            "case", (const char *)id)) != 0)
			goto done;
		err = cb((const Csirt__V1__Case *)m, arg);
		protobuf_c_message_free_unpacked(m, NULL);
		m = NULL;
		if (err != 0)
			goto done;
		n++;
	}
	if (rc < 0)
		err = rc;
done:
	if (err != 0 && more != NULL)
		*more = false;
	sqlite3_finalize(st);
	buf_free(&sql);
	buf_free(&like);
	return err;
}

/* The typed callback of a directory walk: exactly one is set. */
struct index_walk {
	int (*user_cb)(const Csirt__V1__User *u, void *arg);
	int (*division_cb)(const Csirt__V1__Division *dv, void *arg);
	void *arg;
};

/* Walks a cached, bound statement whose rows are (key, pb). */
static int
index_walk_pb(struct index *ix, enum ix_stmt which, const char *what,
              const struct index_walk *w)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[which];
	const ProtobufCMessageDescriptor *desc =
	    w->user_cb != NULL ? &csirt__v1__user__descriptor
	                       : &csirt__v1__division__descriptor;
	ProtobufCMessage *m = NULL;
	int rc, err = 0;

	while ((rc = db_step(d, st, what)) == SQLITE_ROW) {
		if ((err = index_row_unpack(
		         &m, st, 1, desc, what,
		         (const char *)sqlite3_column_text(st, 0))) != 0)
			break;
		if (w->user_cb != NULL)
			err = w->user_cb((const Csirt__V1__User *)m, w->arg);
		else
			err = w->division_cb((const Csirt__V1__Division *)m,
			                     w->arg);
		protobuf_c_message_free_unpacked(m, NULL);
		m = NULL;
		if (err != 0)
			break;
	}
	if (rc < 0)
		return rc;
	db_reset(st);
	return err;
}

int
index_users_list(struct index *ix, const char *division, int role,
                 int (*cb)(const Csirt__V1__User *u, void *arg), void *arg)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_USERS_LIST];
	struct index_walk w = {.user_cb = cb, .arg = arg};

	assert(cb != NULL);
	if (role < 0)
		return csirt_error_set(CSIRT_EINVAL, "index: bad role %d",
		                       role);
	db_bind_text_or_null(d, st, 1, division);
	db_bind_int(d, st, 2, role);
	return index_walk_pb(ix, IX_USERS_LIST, "user", &w);
}

int
index_divisions_list(struct index *ix,
                     int (*cb)(const Csirt__V1__Division *dv, void *arg),
                     void *arg)
{
	struct index_walk w = {.division_cb = cb, .arg = arg};

	assert(cb != NULL);
	return index_walk_pb(ix, IX_DIVISIONS_LIST, "division", &w);
}

int
index_case_count(struct index *ix, uint64_t *out)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_CASE_COUNT];
	int rc;

	*out = 0;
	if ((rc = db_step(d, st, "counting cases")) < 0)
		return rc;
	if (rc == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(st, 0);
	db_reset(st);
	return 0;
}

int
index_cases_awaiting_ack(struct index *ix,
                         int (*cb)(const char *case_id, int64_t reported_ms,
                                   void *arg),
                         void *arg)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_CASES_AWAITING_ACK];
	int rc, err = 0;

	assert(cb != NULL);
	while ((rc = db_step(d, st, "listing unacknowledged cases")) ==
	       SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if ((err = cb(id != NULL ? id : "", sqlite3_column_int64(st, 1),
		              arg)) != 0)
			break;
	}
	if (rc < 0)
		err = rc;
	db_reset(st);
	return err;
}

int
index_requests_due(struct index *ix,
                   int (*cb)(const char *case_id, const char *request_id,
                             int64_t due_ms, void *arg),
                   void *arg)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_REQUESTS_DUE];
	int rc, err = 0;

	assert(cb != NULL);
	while ((rc = db_step(d, st, "listing open requests")) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *rid = (const char *)sqlite3_column_text(st, 1);
		if ((err = cb(id != NULL ? id : "", rid != NULL ? rid : "",
		              sqlite3_column_int64(st, 2), arg)) != 0)
			break;
	}
	if (rc < 0)
		err = rc;
	db_reset(st);
	return err;
}

int
index_requests_list(struct index *ix, const struct index_request_filter *f,
                    int (*cb)(const struct Csirt__V1__InvestigationRequest *r,
                              void *arg),
                    void *arg)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = d->stmts[IX_REQUESTS_LIST];
	Csirt__V1__InvestigationRequest *r;
	int rc, err = 0;

	db_bind_text_or_null(d, st, 1, f->case_id);
	db_bind_text_or_null(d, st, 2, f->division);
	db_bind_int(d, st, 3, f->overdue ? 1 : 0);
	db_bind_int(d, st, 4, f->state_mask);
	db_bind_int(d, st, 5, f->limit);
	db_bind_text_or_null(d, st, 6, f->after_case_id);
	db_bind_int(d, st, 7, f->after_seq);
	while ((rc = db_step(d, st, "listing requests")) == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		r = csirt__v1__investigation_request__unpack(
		    NULL, (size_t)sqlite3_column_bytes(st, 0), p);
		if (r == NULL) {
			err = csirt_error_set(
			    CSIRT_ETAMPER, "index: a stored request does not "
			                   "decode");
			break;
		}
		err = cb(r, arg);
		csirt__v1__investigation_request__free_unpacked(r, NULL);
		if (err != 0)
			break;
	}
	if (rc < 0)
		err = rc;
	db_reset(st);
	return err;
}

/* ---- index: statistics (GetStatistics) ------------------------------- */

/*
 * One statement reads every selected case with the times the statistics
 * need (one row per case, one read snapshot); the counting, sorting and
 * percentiles are plain C below it.  The first event of a type is the one
 * with the lowest seq, found through events_case (case_id, seq).  The
 * statement is prepared per call: statistics are a rare, whole-range read.
 */
static const char index_stats_sql[] =
    "SELECT c.category, c.state, c.division, c.reported_at_ms,"
    " c.recognized_at_ms,"
    " (SELECT e.time_ms FROM events e WHERE e.case_id = c.id"
    "  AND e.type = 'case.acknowledged' ORDER BY e.seq LIMIT 1),"
    " (SELECT e.time_ms FROM events e WHERE e.case_id = c.id"
    "  AND e.type = 'case.escalated' ORDER BY e.seq LIMIT 1),"
    " (SELECT e.time_ms FROM events e WHERE e.case_id = c.id"
    "  AND e.type = 'case.closed' ORDER BY e.seq LIMIT 1)"
    " FROM cases c"
    " WHERE (?1 IS NULL OR c.division = ?1)"
    " AND (?2 = 0 OR c.reported_at_ms >= ?2)"
    " AND (?3 = 0 OR c.reported_at_ms < ?3)";

const int64_t index_stats_delay_le[INDEX_STATS_DELAY_N - 1] = {
    15 * 60, 30 * 60, 60 * 60, 4 * 3600, 24 * 3600};

/* A growable list of durations in milliseconds. */
struct index_msvec {
	int64_t *v;
	size_t n, cap;
};

static void
index_msvec_push(struct index_msvec *m, int64_t ms)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->v = util_xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	m->v[m->n++] = ms;
}

static int
index_int64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the value at 1-based rank ceil(p * n / 100) of sorted v. */
static int64_t
index_percentile(const int64_t *v, size_t n, unsigned p)
{
	size_t rank = (p * n + 99) / 100;

	assert(n > 0 && p > 0 && p <= 100);
	return v[(rank == 0 ? 1 : rank) - 1];
}

/* Sorts `m` and fills `d` (whose `excluded` the caller has counted). */
static void
index_duration_fill(struct index_stats_duration *d, struct index_msvec *m)
{
	d->counted = m->n;
	if (m->n == 0)
		return;
	qsort(m->v, m->n, sizeof(*m->v), index_int64_cmp);
	d->median_s = index_percentile(m->v, m->n, 50) / 1000;
	d->p90_s = index_percentile(m->v, m->n, 90) / 1000;
}

/* Counts one more in the group `key` (text) or `value` (an enum). */
static void
index_stats_bump(struct index_stats_count **groups, size_t *n, const char *key,
                 int value)
{
	struct index_stats_count *g;

	for (size_t i = 0; i < *n; i++) {
		g = &(*groups)[i];
		if (key != NULL ? strcmp(g->key, key) == 0
		                : g->value == value) {
			g->count++;
			return;
		}
	}
	*groups = util_xrealloc(*groups, (*n + 1) * sizeof(**groups));
	g = &(*groups)[(*n)++];
	g->key = key != NULL ? util_strdup(key) : NULL;
	g->value = value;
	g->count = 1;
}

static int
index_count_cmp(const void *a, const void *b)
{
	const struct index_stats_count *x = a, *y = b;

	if (x->key != NULL && y->key != NULL)
		return strcmp(x->key, y->key);
	return (x->value > y->value) - (x->value < y->value);
}

/* qsort() wants a non-NULL base even for no elements. */
static void
index_counts_sort(struct index_stats_count *g, size_t n)
{
	if (n > 1)
		qsort(g, n, sizeof(*g), index_count_cmp);
}

/* Adds the duration from `from` (column) to `to` (column) of the row, or
 * counts the case as excluded when either is NULL. */
static void
index_stats_span(sqlite3_stmt *st, int from, int to,
                 struct index_stats_duration *d, struct index_msvec *m)
{
	if (sqlite3_column_type(st, from) == SQLITE_NULL ||
	    sqlite3_column_type(st, to) == SQLITE_NULL) {
		d->excluded++;
		return;
	}
	index_msvec_push(m, sqlite3_column_int64(st, to) -
	                        sqlite3_column_int64(st, from));
}

int
index_stats_get(struct index_stats **out, struct index *ix,
                const char *division, int64_t after_ms, int64_t before_ms)
{
	struct db *d = &ix->db;
	struct index_stats *s = util_xcalloc(1, sizeof(*s));
	struct index_msvec ack = {0}, esc = {0}, clo = {0}, delay = {0};
	sqlite3_stmt *st = NULL;
	int rc, err;

	*out = NULL;
	if ((err = index_prepare(d, &st, index_stats_sql)) != 0)
		goto done;
	db_bind_text_or_null(d, st, 1, division);
	db_bind_int(d, st, 2, after_ms);
	db_bind_int(d, st, 3, before_ms);
	while ((rc = db_step(d, st, "statistics")) == SQLITE_ROW) {
		const char *div = (const char *)sqlite3_column_text(st, 2);

		s->total++;
		index_stats_bump(&s->by_category, &s->n_by_category, NULL,
		                 sqlite3_column_int(st, 0));
		index_stats_bump(&s->by_state, &s->n_by_state, NULL,
		                 sqlite3_column_int(st, 1));
		index_stats_bump(&s->by_division, &s->n_by_division,
		                 div != NULL ? div : "", 0);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
			char t[UTIL_TIME_LEN];

			util_time_format_ms(t, sizeof(t),
			                    sqlite3_column_int64(st, 3));
			t[7] = '\0'; /* "2026-11" */
			index_stats_bump(&s->by_month, &s->n_by_month, t, 0);
		}
		index_stats_span(st, 3, 5, &s->to_ack, &ack);
		index_stats_span(st, 3, 6, &s->to_escalate, &esc);
		index_stats_span(st, 3, 7, &s->to_close, &clo);
		index_stats_span(st, 4, 3, &s->delay, &delay);
	}
	if (rc < 0) {
		err = rc;
		goto done;
	}
	index_counts_sort(s->by_category, s->n_by_category);
	index_counts_sort(s->by_state, s->n_by_state);
	index_counts_sort(s->by_division, s->n_by_division);
	index_counts_sort(s->by_month, s->n_by_month);
	for (size_t i = 0; i < delay.n; i++) {
		size_t b = 0;

		while (b < INDEX_STATS_DELAY_N - 1 &&
		       delay.v[i] > index_stats_delay_le[b] * 1000)
			b++;
		s->delay_buckets[b]++;
	}
	index_duration_fill(&s->to_ack, &ack);
	index_duration_fill(&s->to_escalate, &esc);
	index_duration_fill(&s->to_close, &clo);
	index_duration_fill(&s->delay, &delay);
	*out = s;
	s = NULL;
done:
	sqlite3_finalize(st);
	free(ack.v);
	free(esc.v);
	free(clo.v);
	free(delay.v);
	index_stats_free(s);
	return err;
}

static void
index_counts_free(struct index_stats_count *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(g[i].key);
	free(g);
}

void
index_stats_free(struct index_stats *s)
{
	if (s == NULL)
		return;
	index_counts_free(s->by_category, s->n_by_category);
	index_counts_free(s->by_state, s->n_by_state);
	index_counts_free(s->by_division, s->n_by_division);
	index_counts_free(s->by_month, s->n_by_month);
	free(s);
}

/* ---- index: canonical dump and checks (rare; own statements) ---------- */

/* Text as a double-quoted string: '"' and '\\' escaped, control bytes as
 * \n, \t or \xNN, everything else (UTF-8 included) as is.  One record per
 * line whatever the data holds. */
static void
index_dump_text(struct buf *out, const unsigned char *s, size_t n)
{
	buf_putc(out, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c == '\n')
			buf_puts(out, "\\n");
		else if (c == '\t')
			buf_puts(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(out, "\\x%02x", c);
		else
			buf_putc(out, (char)c);
	}
	buf_putc(out, '"');
}

static void
index_dump_value(struct buf *out, sqlite3_stmt *st, int col)
{
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		buf_puts(out, "NULL");
		break;
	case SQLITE_INTEGER:
		buf_printf(out, "%lld",
		           (long long)sqlite3_column_int64(st, col));
		break;
	case SQLITE_FLOAT:
		buf_printf(out, "%.17g", sqlite3_column_double(st, col));
		break;
	case SQLITE_TEXT:
		index_dump_text(out, sqlite3_column_text(st, col),
		                (size_t)sqlite3_column_bytes(st, col));
		break;
	default: {
		const unsigned char *p = sqlite3_column_blob(st, col);
		size_t n = (size_t)sqlite3_column_bytes(st, col);

		buf_puts(out, "x'");
		for (size_t i = 0; i < n; i++)
			buf_printf(out, "%02x", p[i]);
		buf_putc(out, '\'');
		break;
	}
	}
}

/* Appends `name` as an SQL identifier ("" quoted). */
static void
index_dump_ident(struct buf *out, const char *name)
{
	buf_putc(out, '"');
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '"')
			buf_putc(out, '"');
		buf_putc(out, *p);
	}
	buf_putc(out, '"');
}

/* One table: a header with the column names, then the rows in primary-key
 * order (all columns when there is no declared key). */
static int
index_dump_table(struct buf *out, struct db *d, const char *table)
{
	sqlite3_stmt *info = NULL, *rows = NULL;
	struct buf cols = BUF_INIT, order = BUF_INIT, q = BUF_INIT;
	int rc, err, ncols = 0;

	/* Columns in declaration order; key columns in key order. */
	if ((err = index_prepare(d, &info,
	                         "SELECT name, pk FROM pragma_table_info(?1)"
	                         " ORDER BY cid")) != 0)
		goto done;
	db_bind_text(d, info, 1, table);
	while ((rc = db_step(d, info, "table info")) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(info, 0);

		if (ncols++ > 0)
			buf_puts(&cols, ", ");
		index_dump_ident(&cols, c != NULL ? c : "");
	}
	if ((err = rc < 0 ? rc : 0) != 0)
		goto done;
	sqlite3_finalize(info);
	info = NULL;
	if ((err = index_prepare(d, &info,
	                         "SELECT name FROM pragma_table_info(?1)"
	                         " WHERE pk > 0 ORDER BY pk")) != 0)
		goto done;
	db_bind_text(d, info, 1, table);
	while ((rc = db_step(d, info, "table key")) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(info, 0);

		if (order.len > 0)
			buf_puts(&order, ", ");
		index_dump_ident(&order, c != NULL ? c : "");
	}
	if ((err = rc < 0 ? rc : 0) != 0)
		goto done;

	/* Without a declared key, every column: still a total order. */
	buf_puts(&q, "SELECT ");
	buf_puts(&q, cols.data);
	buf_puts(&q, " FROM ");
	index_dump_ident(&q, table);
	buf_puts(&q, " ORDER BY ");
	buf_puts(&q, order.len > 0 ? order.data : cols.data);
	if ((err = index_prepare(d, &rows, q.data)) != 0)
		goto done;

	buf_puts(out, "table ");
	buf_puts(out, table);
	buf_puts(out, " (");
	buf_puts(out, cols.data);
	buf_puts(out, ")\n");
	while ((rc = db_step(d, rows, table)) == SQLITE_ROW) {
		for (int i = 0; i < ncols; i++) {
			buf_puts(out, i == 0 ? "\t" : " | ");
			index_dump_value(out, rows, i);
		}
		buf_putc(out, '\n');
	}
	err = rc < 0 ? rc : 0;
done:
	sqlite3_finalize(info);
	sqlite3_finalize(rows);
	buf_free(&cols);
	buf_free(&order);
	buf_free(&q);
	return err;
}

int
index_dump(struct buf *out, struct index *ix)
{
	struct db *d = &ix->db;
	sqlite3_stmt *tables = NULL;
	bool own_txn = sqlite3_get_autocommit(d->conn);
	int64_t version;
	int rc, err;

	/* One read snapshot for the whole dump. */
	if (own_txn && (err = db_exec(d, "BEGIN", "dump")) != 0)
		return err;
	if ((err = db_pragma_int(d, "PRAGMA user_version", &version)) != 0)
		goto done;
	buf_printf(out, "csirtd index dump\nuser_version %" PRId64 "\n",
	           version);
	if ((err = index_prepare(d, &tables,
	                         "SELECT type, name, sql FROM sqlite_schema"
	                         " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
	                         " ORDER BY type, name")) != 0)
		goto done;
	while ((rc = db_step(d, tables, "schema")) == SQLITE_ROW) {
		buf_puts(out, "schema ");
		buf_puts(out, (const char *)sqlite3_column_text(tables, 0));
		buf_putc(out, ' ');
		buf_puts(out, (const char *)sqlite3_column_text(tables, 1));
		buf_putc(out, ' ');
		index_dump_value(out, tables, 2);
		buf_putc(out, '\n');
	}
	if ((err = rc < 0 ? rc : 0) != 0)
		goto done;
	sqlite3_finalize(tables);
	tables = NULL;

	if ((err = index_prepare(d, &tables,
	                         "SELECT name FROM sqlite_schema"
	                         " WHERE type = 'table'"
	                         " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
	                         " ORDER BY name")) != 0)
		goto done;
	while ((rc = db_step(d, tables, "tables")) == SQLITE_ROW) {
		char *name =
		    util_strdup((const char *)sqlite3_column_text(tables, 0));

		err = index_dump_table(out, d, name);
		free(name);
		if (err != 0) {
			db_reset(tables);
			goto done;
		}
	}
	err = rc < 0 ? rc : 0;
done:
	sqlite3_finalize(tables);
	if (own_txn && !sqlite3_get_autocommit(d->conn)) {
		int rc2 = db_exec(d, err == 0 ? "COMMIT" : "ROLLBACK", "dump");
		if (err == 0)
			err = rc2;
	}
	return err;
}

/* Runs a check query; its first row, if any, is the finding reported. */
static int
index_check_query(struct db *d, const char *sql, const char *what)
{
	sqlite3_stmt *st = NULL;
	struct buf row = BUF_INIT;
	int rc, err;

	if ((err = index_prepare(d, &st, sql)) != 0)
		return err;
	rc = db_step(d, st, what);
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			if (i > 0)
				buf_puts(&row, " ");
			index_dump_value(&row, st, i);
		}
		err = csirt_error_set(CSIRT_ETAMPER, "index: %s: %s", what,
		                      row.data);
	} else if (rc < 0) {
		err = rc;
	}
	sqlite3_finalize(st);
	buf_free(&row);
	return err;
}

int
index_sync_check(struct index *ix)
{
	struct db *d = &ix->db;
	int64_t fk = 0;
	int err;

	if ((err = db_pragma_int(d, "PRAGMA foreign_keys", &fk)) != 0)
		return err;
	if (fk != 1)
		return csirt_error_set(CSIRT_EFAIL,
		                       "index: foreign keys are off");
	if ((err = index_check_query(
	         d,
	         "SELECT integrity_check FROM pragma_integrity_check"
	         " WHERE integrity_check <> 'ok'",
	         "integrity_check")) != 0 ||
	    (err = index_check_query(d,
	                             "SELECT \"table\", rowid, parent"
	                             " FROM pragma_foreign_key_check",
	                             "foreign key violation")) != 0 ||
	    (err = index_check_query(
	         d,
	         "SELECT p.seq, e.seq FROM"
	         " (SELECT max(seq) AS seq FROM events) AS e"
	         " LEFT JOIN ledger_position AS p ON p.id = 1"
	         " WHERE coalesce(p.seq, 0) <> coalesce(e.seq, 0)",
	         "position is not the last event (position, last)")) != 0 ||
	    (err = index_check_query(
	         d,
	         "SELECT c.id, c.last_seq FROM cases AS c"
	         " WHERE c.last_seq IS NOT (SELECT max(seq) FROM events"
	         " WHERE case_id = c.id)",
	         "case last_seq is not its last event (case, last_seq)")) != 0)
		return err;
	return 0;
}

/* ---- keystore -------------------------------------------------------- */

enum ks_stmt {
	KS_TOKEN_ADD,
	KS_TOKEN_LOOKUP,
	KS_TOKEN_REVOKE,
	KS_TOKEN_EXISTS,
	KS_TOKENS_ALL,
	KS_TOKENS_OF,
	KS_KEY_PUT,
	KS_KEY_GET,
	KS_KEY_DELETE,
	KS__COUNT
};

static const char *const ks_sql[KS__COUNT] = {
    [KS_TOKEN_ADD] = "INSERT INTO tokens (token_id, login, hash_hex,"
                     " created_ms) VALUES (?1, ?2, ?3, ?4)",
    [KS_TOKEN_LOOKUP] = "SELECT login, token_id FROM tokens"
                        " WHERE hash_hex = ?1 AND revoked_ms IS NULL",
    [KS_TOKEN_REVOKE] = "UPDATE tokens SET revoked_ms = ?2"
                        " WHERE token_id = ?1 AND revoked_ms IS NULL",
    [KS_TOKEN_EXISTS] = "SELECT 1 FROM tokens WHERE token_id = ?1",
    [KS_TOKENS_ALL] = "SELECT token_id, login, created_ms,"
                      " coalesce(revoked_ms, 0) FROM tokens"
                      " ORDER BY created_ms, token_id",
    [KS_TOKENS_OF] = "SELECT token_id, login, created_ms,"
                     " coalesce(revoked_ms, 0) FROM tokens"
                     " WHERE login = ?1 ORDER BY created_ms, token_id",
    [KS_KEY_PUT] = "INSERT INTO item_keys (item_id, kind, wrapped,"
                   " created_ms) VALUES (?1, ?2, ?3, ?4)",
    [KS_KEY_GET] = "SELECT wrapped FROM item_keys WHERE item_id = ?1",
    [KS_KEY_DELETE] = "DELETE FROM item_keys WHERE item_id = ?1",
};

struct keystore {
	struct db db;
};

int
keystore_open(struct keystore **out, const char *path)
{
	struct keystore *ks = util_xcalloc(1, sizeof(*ks));
	int err;

	*out = NULL;
	ks->db.store = "keystore";
	if ((err = db_open(&ks->db, path, false, true, false)) != 0)
		goto done;
	err = db_prepare_all(&ks->db, ks_sql, KS__COUNT);
done:
	if (err != 0) {
		keystore_close(ks);
		return err;
	}
	*out = ks;
	return 0;
}

void
keystore_close(struct keystore *ks)
{
	if (ks == NULL)
		return;
	db_close(&ks->db);
	free(ks);
}

int
keystore_check(struct keystore *ks)
{
	struct db *d = &ks->db;
	int64_t v = 0;
	int err;

	if ((err = db_pragma_int(d, "PRAGMA secure_delete", &v)) != 0)
		return err;
	if (v != 1)
		return csirt_error_set(CSIRT_EFAIL,
		                       "keystore: secure_delete is off");
	if ((err = db_pragma_int(d, "PRAGMA foreign_keys", &v)) != 0)
		return err;
	if (v != 1)
		return csirt_error_set(CSIRT_EFAIL,
		                       "keystore: foreign keys are off");
	if ((err = db_pragma_int(d, "PRAGMA user_version", &v)) != 0)
		return err;
	if (v != db_latest_version(d->store))
		return csirt_error_set(CSIRT_EFAIL,
		                       "keystore: schema version %" PRId64, v);
	return 0;
}

int
keystore_token_add(struct keystore *ks, const char *token_id, const char *login,
                   const char *hash_hex, int64_t created_ms)
{
	struct db *d = &ks->db;
	sqlite3_stmt *st = d->stmts[KS_TOKEN_ADD];

	db_bind_text(d, st, 1, token_id);
	db_bind_text(d, st, 2, login);
	db_bind_text(d, st, 3, hash_hex);
	db_bind_int(d, st, 4, created_ms);
	return db_run(d, st, "adding token");
}

int
keystore_token_lookup(struct keystore *ks, const char *hash_hex,
                      char **login_out, char **token_id_out)
{
	struct db *d = &ks->db;
	sqlite3_stmt *st = d->stmts[KS_TOKEN_LOOKUP];
	int rc;

	if (login_out != NULL)
		*login_out = NULL;
	if (token_id_out != NULL)
		*token_id_out = NULL;
	db_bind_text(d, st, 1, hash_hex);
	if ((rc = db_step(d, st, "token lookup")) < 0)
		return rc;
	if (rc == SQLITE_DONE) {
		db_reset(st);
		/* The hash is a secret's digest: not in the message. */
		return csirt_error_set(CSIRT_ENOTFOUND,
		                       "keystore: no such valid token");
	}
	if (login_out != NULL)
		*login_out =
		    util_strdup((const char *)sqlite3_column_text(st, 0));
	if (token_id_out != NULL)
		*token_id_out =
		    util_strdup((const char *)sqlite3_column_text(st, 1));
	db_reset(st);
	return 0;
}

/* Bumped after every revocation, whichever connection made it. */
static atomic_uint_fast64_t token_generation;

uint64_t
keystore_token_generation(void)
{
	return atomic_load(&token_generation);
}

int
keystore_token_revoke(struct keystore *ks, const char *token_id,
                      int64_t when_ms)
{
	struct db *d = &ks->db;
	sqlite3_stmt *st = d->stmts[KS_TOKEN_REVOKE];
	int rc, err;

	db_bind_text(d, st, 1, token_id);
	db_bind_int(d, st, 2, when_ms);
	if ((err = db_run(d, st, "revoking token")) != 0)
		return err;
	if (sqlite3_changes(d->conn) == 1) {
		/* After the commit (autocommit): a lookup that sees the new
		 * generation sees the revocation. */
		atomic_fetch_add(&token_generation, 1);
		return 0;
	}
	/* Nothing changed: unknown, or revoked before (kept as is). */
	st = d->stmts[KS_TOKEN_EXISTS];
	db_bind_text(d, st, 1, token_id);
	if ((rc = db_step(d, st, "revoking token")) < 0)
		return rc;
	db_reset(st);
	if (rc == SQLITE_DONE)
		return csirt_error_set(CSIRT_ENOTFOUND,
		                       "keystore: no token \"%s\"", token_id);
	return 0;
}

int
keystore_tokens_list(struct keystore *ks, const char *login,
                     int (*cb)(const char *token_id, const char *login,
                               int64_t created_ms, int64_t revoked_ms,
                               void *arg),
                     void *arg)
{
	struct db *d = &ks->db;
	sqlite3_stmt *st =
	    d->stmts[login != NULL ? KS_TOKENS_OF : KS_TOKENS_ALL];
	int rc, err = 0;

	if (login != NULL)
		db_bind_text(d, st, 1, login);
	while ((rc = db_step(d, st, "listing tokens")) == SQLITE_ROW) {
		err = cb((const char *)sqlite3_column_text(st, 0),
		         (const char *)sqlite3_column_text(st, 1),
		         sqlite3_column_int64(st, 2),
		         sqlite3_column_int64(st, 3), arg);
		if (err != 0)
			break;
	}
	if (rc < 0)
		return rc;
	db_reset(st);
	return err;
}

int
keystore_key_put(struct keystore *ks, const char *item_id, const char *kind,
                 const void *wrapped, size_t len, int64_t created_ms)
{
	struct db *d = &ks->db;
	sqlite3_stmt *st = d->stmts[KS_KEY_PUT];

	db_bind_text(d, st, 1, item_id);
	db_bind_text(d, st, 2, kind);
	db_bind_blob(d, st, 3, wrapped, len);
	db_bind_int(d, st, 4, created_ms);
	return db_run(d, st, "storing a wrapped key");
}

int
keystore_key_get(struct keystore *ks, const char *item_id, unsigned char *out,
                 size_t size, size_t *len)
{
	struct db *d = &ks->db;
	sqlite3_stmt *st = d->stmts[KS_KEY_GET];
	const void *p;
	size_t n;
	int rc;

	*len = 0;
	db_bind_text(d, st, 1, item_id);
	if ((rc = db_step(d, st, "reading a wrapped key")) < 0)
		return rc;
	if (rc == SQLITE_DONE) {
		db_reset(st);
		return csirt_error_set(CSIRT_ENOTFOUND,
		                       "keystore: no key for %s (never stored, "
		                       "or destroyed by disposal)",
		                       item_id);
	}
	p = sqlite3_column_blob(st, 0);
	n = (size_t)sqlite3_column_bytes(st, 0);
	if (p == NULL || n > size) {
		db_reset(st);
		return csirt_error_set(
		    CSIRT_EFAIL, "keystore: wrapped key of %s has %zu bytes",
		    item_id, n);
	}
	memcpy(out, p, n);
	*len = n;
	db_reset(st);
	return 0;
}

int
keystore_key_destroy(struct keystore *ks, const char *item_id)
{
	struct db *d = &ks->db;
	sqlite3_stmt *st = d->stmts[KS_KEY_DELETE];
	int64_t busy = 0;
	int err;

	db_bind_text(d, st, 1, item_id);
	if ((err = db_run(d, st, "destroying a wrapped key")) != 0)
		return err;
	if (sqlite3_changes(d->conn) != 1)
		return csirt_error_set(CSIRT_ENOTFOUND,
		                       "keystore: no key for %s", item_id);
	/* The first column is 1 when a reader blocked the checkpoint: the
	 * WAL then still holds frames of the page the key lived on. */
	if ((err = db_pragma_int(d, "PRAGMA wal_checkpoint(TRUNCATE)",
	                         &busy)) != 0)
		return err;
	if (busy != 0)
		return csirt_error_set(CSIRT_EBUSY,
		                       "keystore: checkpoint after destroying "
		                       "the key of %s was blocked by a reader",
		                       item_id);
	return 0;
}

int
index_events_of_type(struct index *ix, const char *type,
                     int (*cb)(const Csirt__V1__Event *ev,
                               const char *commit_id, void *arg),
                     void *arg)
{
	static const char sql[] = "SELECT pb, commit_id FROM events"
	                          " WHERE type = ?1 ORDER BY time_ms, seq";
	struct db *d = &ix->db;
	sqlite3_stmt *st = NULL;
	ProtobufCMessage *m = NULL;
	int rc, err = 0;

	if (sqlite3_prepare_v2(d->conn, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(d, sqlite3_extended_errcode(d->conn),
		               "events of a type");
	db_bind_text(d, st, 1, type);
	while ((rc = db_step(d, st, "events of a type")) == SQLITE_ROW) {
		const unsigned char *commit = sqlite3_column_text(st, 1);

		if ((err = index_row_unpack(&m, st, 0,
		                            &csirt__v1__event__descriptor,
		                            "event of type", type)) != 0)
			break;
		err = cb((const Csirt__V1__Event *)m,
		         commit != NULL ? (const char *)commit : "", arg);
		protobuf_c_message_free_unpacked(m, NULL);
		m = NULL;
		if (err != 0)
			break;
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : err;
}

/* ---- bulk mode (rebuild into a fresh file) --------------------------- */

int
index_bulk_begin(struct index *ix)
{
	struct db *d = &ix->db;
	sqlite3_stmt *st = NULL;
	struct buf drop = BUF_INIT;
	char mode[16];
	int rc, err;

	if (ix->bulk_indexes.len != 0)
		return csirt_error_set(CSIRT_EFAIL,
		                       "index: bulk mode is already on");
	if ((err = db_query_one(d, "PRAGMA journal_mode = MEMORY", NULL, mode,
	                        sizeof(mode))) != 0)
		return err;
	if (strcmp(mode, "memory") != 0)
		return csirt_error_set(CSIRT_EFAIL,
		                       "index: cannot leave WAL for a bulk "
		                       "load (%s)",
		                       mode);
	if ((err = db_exec(d,
	                   "PRAGMA synchronous = OFF;"
	                   " PRAGMA cache_size = -262144;"
	                   " PRAGMA temp_store = MEMORY",
	                   "bulk pragmas")) != 0)
		return err;
	if ((err = index_prepare(d, &st,
	                         "SELECT name, sql FROM sqlite_schema"
	                         " WHERE type = 'index' AND sql IS NOT NULL"
	                         " ORDER BY name")) != 0)
		return err;
	while ((rc = db_step(d, st, "indexes")) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *sql = (const char *)sqlite3_column_text(st, 1);
		buf_put(&ix->bulk_indexes, name, strlen(name) + 1);
		buf_put(&ix->bulk_indexes, sql, strlen(sql) + 1);
		buf_printf(&drop, "DROP INDEX \"%s\";", name);
	}
	sqlite3_finalize(st);
	err = rc < 0 ? rc : 0;
	if (err == 0 && drop.len > 0)
		err = db_exec(d, drop.data, "dropping indexes");
	buf_free(&drop);
	return err;
}

int
index_bulk_end(struct index *ix)
{
	struct db *d = &ix->db;
	char mode[16];
	int err = 0;

	for (size_t off = 0; err == 0 && off < ix->bulk_indexes.len;) {
		const char *name = ix->bulk_indexes.data + off;
		const char *sql = name + strlen(name) + 1;
		err = db_exec(d, sql, name);
		off = (size_t)(sql - ix->bulk_indexes.data) + strlen(sql) + 1;
	}
	buf_free(&ix->bulk_indexes);
	if (err != 0)
		return err;
	if ((err = db_exec(d, "PRAGMA synchronous = FULL", "synchronous")) !=
	        0 ||
	    (err = db_query_one(d, "PRAGMA journal_mode = WAL", NULL, mode,
	                        sizeof(mode))) != 0)
		return err;
	if (strcmp(mode, "wal") != 0)
		return csirt_error_set(
		    CSIRT_EFAIL, "index: cannot return to WAL (%s)", mode);
	return 0;
}

void
index_remove_files(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(sfx); i++) {
		struct buf p = BUF_INIT;
		buf_printf(&p, "%s%s", path, sfx[i]);
		unlink(p.data);
		buf_free(&p);
	}
}
