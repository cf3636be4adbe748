/*
 * index.h - the query index (index.sqlite), a pure function of the ledger.
 *
 * Every row is derived from ledger events by index_apply(); `csirtd rebuild`
 * replays refs/heads/ledger into a fresh index and index_dump() of the two
 * must be byte-equal (DESIGN.md §2).  Reads never walk git; they come from
 * here.  Secrets never enter the index (see keystore.h).
 *
 * A `struct index` is one SQLite connection used by one thread: the ledger
 * writer thread owns the read-write one (index_open), the loop thread opens
 * its own with index_open_readonly() and reads committed data concurrently
 * (WAL).  Statements are prepared once per connection, except the rare
 * whole-index walks and index_cases_list(), whose SQL follows its filter.
 *
 * Messages are the protoc-c generated csirt.v1 structs; callers include
 * "csirt/v1/domain.pb-c.h".  Messages returned here were unpacked by
 * protobuf_c and are freed with the matching csirt__v1__*__free_unpacked(m,
 * NULL).
 *
 * index.c is the only includer of the SQLite header in the project and also
 * implements keystore.h.
 */
#ifndef CSIRT_INDEX_H
#define CSIRT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct Csirt__V1__Case;
struct Csirt__V1__Classification;
struct Csirt__V1__Division;
struct Csirt__V1__Event;
struct Csirt__V1__InvestigationRequest;
struct Csirt__V1__User;

struct index;

/* Length of a commit id (SHA-1 hex) without the terminator. */
#define INDEX_COMMIT_ID_LEN 40

/*
 * Opens (creating if needed, mode 0600) and migrates the index at `path`:
 * WAL, synchronous=NORMAL, a busy timeout, foreign keys on and verified.
 * CSIRT_EFAIL if the file's schema is newer than this binary.
 * Caller frees with index_close().
 */
int index_open(struct index **out, const char *path);

/* index_open(), with synchronous=OFF: its commits and checkpoints fsync
 * nothing, and its checkpoint thread fsyncs both files every few seconds
 * (a write-back error stops the writer as a failed checkpoint does).  A
 * crash of the process loses nothing the page cache held; a crash of the
 * system can leave the file torn, so the caller must rebuild the index
 * after one (datadir.c). */
int index_open_unsynced(struct index **out, const char *path);

/*
 * Opens an existing, fully migrated index read-only (the loop thread's
 * reads; WAL readers see the last committed transaction).  Every write
 * through it fails.  CSIRT_ENOTFOUND if the file does not exist.
 */
int index_open_readonly(struct index **out, const char *path);

/* Finalises every statement and closes.  NULL is a no-op. */
void index_close(struct index *ix);

/*
 * Write transactions (BEGIN IMMEDIATE): the writer wraps one batch of
 * index_apply() calls and the final index_set_position() in one
 * transaction, committed only after the batch's git commits are durable.
 */
int index_begin(struct index *ix);
int index_commit(struct index *ix);
int index_rollback(struct index *ix);

/*
 * The write transaction's pages, written into the WAL on a thread of its
 * own while the caller does something else that does not touch `ix` (the
 * writer: the batch's durable write, mostly waits on fsyncs).  The frames
 * are not committed: readers do not see them, a rollback drops them, and
 * index_commit() then writes one frame and publishes.  Every
 * index_flush_start() must be followed by index_flush_wait() before any
 * other use of `ix`; it answers the flush's error (CSIRT_EUNAVAILABLE for
 * I/O), after which the transaction can only be rolled back.  Without the
 * thread (it could not start) both do nothing and the commit writes the
 * pages as before.  Stopped by index_close().
 */
void index_flush_start(struct index *ix);
int index_flush_wait(struct index *ix);

/* A read transaction on a read-only connection, around the reads of one
 * request: they see one snapshot, and SQLite locks and unlocks its WAL
 * once instead of per statement.  Must end before the caller waits for
 * anything (a checkpoint cannot pass an open reader).  No-ops for a NULL
 * index or when one is open already (begin) or none is (end). */
void index_read_begin(struct index *ix);
void index_read_end(struct index *ix);

/* Moves the WAL checkpoints of read-write connection `ix` from
 * index_commit() to a thread with a connection of its own (the writer's).
 * A checkpoint that fails is not retried; index_checkpointer_check()
 * answers CSIRT_EUNAVAILABLE from then on.  Stopped by index_close() or
 * index_checkpointer_stop(). */
int index_checkpointer_start(struct index *ix);
void index_checkpointer_stop(struct index *ix);
int index_checkpointer_check(struct index *ix);
/* Whether a stopped checkpoint thread had failed (a checkpoint or, when
 * unsynced, an fsync): the files on disk are not to be trusted. */
bool index_sync_failed(const struct index *ix);

/*
 * Records one ledger event and everything it changes, atomically (a
 * savepoint: on failure nothing of this event remains, and the enclosing
 * transaction is still usable):
 *   - an events row (seq, case, type, actor, role, time, commit, packed ev);
 *   - a case event (ev->case_id not empty) needs `case_after`, the fold of
 *     the case after this event (same id, last_seq == ev->seq): its cases
 *     row and case_assignees rows are replaced from it;
 *   - note_added / note_edited: a notes row (version 1 / the given one)
 *     with `note_text`, the text of that version, when the note is
 *     機密性低 (the index keeps it so that reads never walk git); NULL
 *     otherwise.  `note_text` must be NULL for every other event and for
 *     a note that is not 機密性低 (CSIRT_EINVAL: no secret enters the
 *     index), and must be the exact NUL-free text whose digest is the
 *     payload's text_sha256 (the caller checks it; see writer.c);
 *   - user_created / user_updated: the users row (insert / update);
 *   - division_created: the divisions row;
 *   - ledger_initialized and unknown payloads: nothing more.
 * A directory event (ev->case_id empty) takes case_after == NULL.
 * `ev`, `case_after` and `note_text` are borrowed; `commit_id` is 40
 * lowercase hex.
 *
 * Returns CSIRT_ECONFLICT if an event with ev->seq is already recorded (and
 * only then: replay may treat it as "already applied"); CSIRT_EINVAL for a
 * malformed event (bad case id, time, commit id, missing case_after);
 * CSIRT_ETAMPER when the event contradicts the index (unknown division or
 * case, duplicate user, duplicate note version, ...).
 */
int index_apply(struct index *ix, const struct Csirt__V1__Event *ev,
                const char *commit_id, const struct Csirt__V1__Case *case_after,
                const char *note_text);

/*
 * For a caller that rolls back its whole transaction whenever
 * index_apply() fails (the writer): index_apply() then skips the savepoint
 * that makes one event atomic and its early look-up of the seq (the events
 * key still refuses a duplicate).  Two and three statements fewer per
 * event.  Off by default; replay relies on both.
 */
void index_set_whole_batch(struct index *ix, bool on);

/* The last ledger event reflected in the index. */
int index_set_position(struct index *ix, uint64_t seq, const char *commit_id);
/* Sets the commit of event `seq`, applied in this transaction with
 * INDEX_COMMIT_PENDING as its commit (the writer learns commit ids only at
 * the end of a batch: commitq.h). */
#define INDEX_COMMIT_PENDING "0000000000000000000000000000000000000000"
int index_set_event_commit(struct index *ix, uint64_t seq,
                           const char *commit_id);
/* Sets 0 and "" on an empty index. */
int index_get_position(struct index *ix, uint64_t *seq,
                       char commit_id[INDEX_COMMIT_ID_LEN + 1]);

/* CSIRT_ENOTFOUND if absent.  Caller frees with
 * csirt__v1__case__free_unpacked(c, NULL). */
int index_case_get(struct Csirt__V1__Case **out, struct index *ix,
                   const char *id);
/* The same, and in *events how many events the case has so far (its next
 * event is number *events + 1: the "Case-Seq" trailer and the bucket of
 * its event file, layout.h). */
int index_case_get_counted(struct Csirt__V1__Case **out, uint64_t *events,
                           struct index *ix, const char *id);

/* The highest case counter used in `year`; 0 when none. */
int index_case_max_counter(struct index *ix, int year, uint32_t *out);

/* CSIRT_ENOTFOUND if absent.  Caller frees with
 * csirt__v1__user__free_unpacked(u, NULL). */
int index_user_get(struct Csirt__V1__User **out, struct index *ix,
                   const char *login);

int index_division_exists(struct index *ix, const char *code, bool *out);

/*
 * Calls `cb` for each event of `case_id` in seq order (none for an unknown
 * case).  `ev` and `commit_id` are borrowed for the duration of the call.
 * A non-zero return from `cb` stops the walk and is returned.  `cb` must
 * not call index_events_for_case() on the same index.
 */
int index_events_for_case(struct index *ix, const char *case_id,
                          int (*cb)(const struct Csirt__V1__Event *ev,
                                    const char *commit_id, void *arg),
                          void *arg);

/*
 * Calls `cb` for every event of type `type` ("evidence.disposed", ...) in
 * seq order, through the events_type index; like index_events_for_case()
 * otherwise.  For start-up sweeps over rare events.
 */
int index_events_of_type(struct index *ix, const char *type,
                         int (*cb)(const struct Csirt__V1__Event *ev,
                                   const char *commit_id, void *arg),
                         void *arg);

/*
 * Calls `cb` for at most `limit` events with seq > after_seq, in seq order
 * (the long-poll of WatchEvents).  `division` is the division of the
 * event's case ("" for a directory event).  Everything passed is borrowed
 * for the duration of the call; a non-zero return from `cb` stops the walk
 * and is returned.  `cb` must not call index_events_after() on the same
 * index.
 */
int index_events_after(struct index *ix, uint64_t after_seq, size_t limit,
                       int (*cb)(const struct Csirt__V1__Event *ev,
                                 const char *commit_id, const char *division,
                                 void *arg),
                       void *arg);

/*
 * One version of a note, as index_note_versions() hands it out.  Every
 * member is borrowed for the duration of the callback.
 */
struct index_note_version {
	const char *case_id;
	const char *note_id;
	uint32_t version;   /* 1 = note.added; 2, 3, ... = note.edited */
	const char *author; /* login of whoever wrote this version */
	int64_t time_ms;    /* event time of this version (Unix ms, UTC) */
	uint64_t seq;       /* ledger event of this version */
	const char *path;   /* ledger path of the note file */
	/* The version's digest: text_sha256 of a 機密性低 note, text_mac
	 * of a sealed one (or its text_sha256, if written before text_mac). */
	const char *text_sha256;
	/* The text of this version; NULL when the index does not keep it
	 * (a note not 機密性低, or a row indexed before schema 3: see
	 * schema/0003_note_text.sql).  NUL-free, `text_len` bytes. */
	const char *text;
	size_t text_len;
	/* The note's classification, set at note.added and inherited by
	 * every version (第4.4). */
	const struct Csirt__V1__Classification *classification;
	/* Version 1's author and time: who wrote the note and when. */
	const char *note_author;
	int64_t created_ms;
};

typedef int (*index_note_cb)(const struct index_note_version *v, void *arg);

/*
 * Calls `cb` for every version of note `note_id` of case `case_id`, oldest
 * first (version 1, 2, ...), in one read snapshot.  CSIRT_ENOTFOUND when
 * the case has no such note.  A non-zero return from `cb` stops the walk
 * and is returned.  `cb` must not call index_note_versions() on the same
 * index.  Works on the writer's connection (which sees the open batch's
 * own writes) and on a read-only one.
 */
int index_note_versions(struct index *ix, const char *case_id,
                        const char *note_id, index_note_cb cb, void *arg);

/* ---- reads for the wire API (the loop thread's read-only connection;
 * they work as well on the writer's) ---------------------------------- */

/* Bounds of struct index_case_filter; beyond them CSIRT_EINVAL. */
#define INDEX_CASES_LIMIT_MAX 500 /* cases per page */
#define INDEX_CASES_VALUES_MAX 32 /* entries of states[], categories[] */
#define INDEX_CASES_TEXT_MAX 1024 /* bytes of the text filter */

/*
 * A ListCases query.  Every member left zero (or NULL) matches everything;
 * the members set must all match.  Everything is borrowed for the call.
 * The filter is data only: who may see what (a reporter's own division,
 * 機密性高) is decided by the caller, which narrows the filter.
 */
struct index_case_filter {
	const int *states; /* any of these csirt.v1.CaseState; none = all */
	size_t nstates;
	const int *categories; /* any of these csirt.v1.Category */
	size_t ncategories;
	const char *division; /* NULL or "": any */
	const char *assignee; /* NULL or "": any; else assigned to this login */
	int min_confidentiality; /* 0: any; else confidentiality >= this */
	bool overdue;            /* only cases past a deadline (Case.overdue) */
	/* NULL or "": any; else a substring of the title or the description,
	 * taken literally (% and _ are not wildcards), ASCII letters
	 * case-insensitive, anything else (Japanese) byte for byte. */
	const char *text;
	/* Bounds on reported_at, in Unix ms; 0 is unbounded.  A bound
	 * excludes cases without a reported_at. */
	int64_t reported_after_ms;  /* inclusive */
	int64_t reported_before_ms; /* exclusive */
	/* The cursor: only cases strictly after this id in the list order;
	 * NULL or "" from the start.  Pass the last id of the previous page.
	 * It need not exist any more; a malformed id is CSIRT_EINVAL. */
	const char *after_id;
	size_t limit; /* 1..INDEX_CASES_LIMIT_MAX */
};

/* `c` is borrowed for the duration of the call. */
typedef int (*index_case_cb)(const struct Csirt__V1__Case *c, void *arg);

/*
 * Calls `cb` for up to f->limit cases matching `f`, newest first: by case
 * id descending, compared as (year, counter) so that the order stays the
 * report order past six-digit counters.  Sets *more (may be NULL) to
 * whether a further page exists.  All rows come from one read snapshot.
 * A non-zero return from `cb` stops the walk and is returned (*more is
 * then false).  `cb` may call any index function, this one included.
 * CSIRT_EINVAL for a filter out of the bounds above.
 */
int index_cases_list(struct index *ix, const struct index_case_filter *f,
                     index_case_cb cb, void *arg, bool *more);

/*
 * Calls `cb` for each user, ordered by login, of `division` (NULL or "":
 * any) with `role` (a csirt.v1.Role; 0: any).  `u` is borrowed for the
 * call.  A non-zero return from `cb` stops the walk and is returned; `cb`
 * must not call index_users_list() on the same index.
 */
int index_users_list(struct index *ix, const char *division, int role,
                     int (*cb)(const struct Csirt__V1__User *u, void *arg),
                     void *arg);

/* Likewise for every division, ordered by code; `cb` must not call
 * index_divisions_list() on the same index. */
int index_divisions_list(struct index *ix,
                         int (*cb)(const struct Csirt__V1__Division *d,
                                   void *arg),
                         void *arg);

/*
 * Calls `cb` for every case still awaiting acknowledgement and not yet
 * overdue (state REPORTED, overdue 0), oldest report first, with its id
 * (borrowed for the call) and reported_at in Unix ms: what the deadline
 * module needs.  A non-zero return from `cb` stops the walk and is
 * returned; `cb` must not call this function on the same index.
 */
int index_cases_awaiting_ack(struct index *ix,
                             int (*cb)(const char *case_id, int64_t reported_ms,
                                       void *arg),
                             void *arg);
/* 第13.2: the open requests of INVESTIGATING cases not yet overdue,
 * earliest due first (the deadline scheduler); ids borrowed for the call;
 * a non-zero return from `cb` stops the walk and is returned. */
int index_requests_due(struct index *ix,
                       int (*cb)(const char *case_id, const char *request_id,
                                 int64_t due_ms, void *arg),
                       void *arg);

/* ListRequests: NULL/0 fields do not filter.  state_mask has a bit
 * (1 << RequestState) per wanted state; overdue selects open requests
 * that missed their due time.  Rows come by case, then request number. */
struct index_request_filter {
	const char *case_id;
	const char *division;
	bool overdue;
	int64_t state_mask;
	int64_t limit;
	/* Paging: only rows after (after_case_id, request number after_seq);
	 * NULL: from the first. */
	const char *after_case_id;
	int64_t after_seq;
};
/* `r` is borrowed for the call; a non-zero return from `cb` stops. */
int index_requests_list(
    struct index *ix, const struct index_request_filter *f,
    int (*cb)(const struct Csirt__V1__InvestigationRequest *r, void *arg),
    void *arg);

/* ---- statistics (GetStatistics) -------------------------------------- */

/* Report-delay buckets: upper bounds in seconds (inclusive); a delay above
 * the last falls into the extra, open bucket INDEX_STATS_DELAY_N - 1. */
#define INDEX_STATS_DELAY_N 6
extern const int64_t index_stats_delay_le[INDEX_STATS_DELAY_N - 1];

/* A duration distribution.  Nearest-rank percentiles on the sorted values:
 * the p-th is the value at 1-based rank ceil(p * n / 100), so the median
 * of an even count is the lower middle value; 0 and 0 when counted is 0.
 * Whole seconds, milliseconds truncated toward zero. */
struct index_stats_duration {
	uint64_t counted;  /* cases that have both ends */
	uint64_t excluded; /* selected cases that lack one */
	int64_t median_s;
	int64_t p90_s;
};

/* One group of a count: `key` (a division code, a month "2026-11") or
 * `value` (a csirt.v1.Category or CaseState number). */
struct index_stats_count {
	char *key; /* NULL for enum groups */
	int value;
	uint64_t count;
};

struct index_stats {
	uint64_t total;
	struct index_stats_count *by_category, *by_state; /* by number */
	struct index_stats_count *by_division;            /* by code */
	struct index_stats_count *by_month; /* UTC month of reported_at */
	size_t n_by_category, n_by_state, n_by_division, n_by_month;
	/* From reported_at to the first (lowest seq) case.acknowledged,
	 * case.escalated, case.closed event of each case. */
	struct index_stats_duration to_ack, to_escalate, to_close;
	/* recognized_at -> reported_at (a negative delay counts as <= 15
	 * min); cases without recognized_at are excluded. */
	struct index_stats_duration delay;
	uint64_t delay_buckets[INDEX_STATS_DELAY_N];
};

/*
 * Statistics of the cases of `division` (NULL or "": all) reported in
 * [after_ms, before_ms) (0: unbounded; a bound excludes cases without a
 * reported_at, as in index_cases_list()), in one read snapshot.  Who may
 * ask for which division is the caller's decision.  Caller frees with
 * index_stats_free().
 */
int index_stats_get(struct index_stats **out, struct index *ix,
                    const char *division, int64_t after_ms, int64_t before_ms);
/* NULL is a no-op. */
void index_stats_free(struct index_stats *s);

/* The number of cases (for /metrics). */
int index_case_count(struct index *ix, uint64_t *out);

/*
 * Appends a canonical text dump of the whole index to `out`: the schema
 * version, then every table in name order with its column names, rows in
 * primary-key order, values rendered deterministically (integers in
 * decimal, text as SQL literals, blobs as x'hex', NULL).  Two indexes with
 * the same content give byte-equal dumps.  Read in one snapshot.
 */
int index_dump(struct buf *out, struct index *ix);

/*
 * Consistency check for start-up and after rebuild: PRAGMA
 * integrity_check, PRAGMA foreign_key_check, the recorded position equals
 * the last event, and each case's last_seq is its last event.
 * CSIRT_ETAMPER with a message naming the first problem.
 */
int index_sync_check(struct index *ix);

/*
 * Internal: the embedded schema migrations, generated at build time from
 * schema/ by csirtd/CMakeLists.txt (index_migrations.c).  `store` is
 * "index" or "keystore"; versions run 1, 2, ... per store; the list ends
 * with a NULL store.
 */
struct index_migration {
	const char *store;
	int version;
	const char *name;
	const char *sql;
};
extern const struct index_migration index_migrations[];

/*
 * Bulk mode for a rebuild into a fresh, private file (`csirtd rebuild`,
 * csirt-audit's replay): no fsync and an in-memory rollback journal while
 * the rows go in, a large page cache, and the secondary indexes dropped
 * and recreated from their own SQL at the end (one sort each instead of a
 * b-tree insert per row).  Never for the live index: a crash in bulk mode
 * leaves a file that must be thrown away.  index_bulk_end() must follow
 * outside any transaction; it recreates the indexes and restores WAL and
 * synchronous=FULL, so the file is complete once the caller has closed
 * the index (which checkpoints) and fsynced it.
 */
int index_bulk_begin(struct index *ix);
int index_bulk_end(struct index *ix);

/* The bytes this process's read-write index connections have read from
 * and written to their WALs since it started: through the mapping
 * (index_vfs.c; inside a write transaction or a checkpoint, over the part
 * of the WAL written before) or through pread()/pwrite(). */
struct index_wal_io {
	uint64_t read_mapped, read_syscall;
	uint64_t written_mapped, written_syscall;
};

void index_wal_io(struct index_wal_io *out);

/* Removes an index file that is no longer wanted (a temporary or failed
 * rebuild) with its -wal, -shm and -journal companions.  Closed first. */
void index_remove_files(const char *path);

#endif
